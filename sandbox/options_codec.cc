#include "options_codec.h"

#include "tollgate/sandbox/v1/zygote.pb.h"

namespace tollgate::sandbox {

std::string EncodeZygoteRequest(const ScannerOptions& options, const WorkerLimits& worker) {
  v1::ZygoteRequest request;
  v1::ScannerOptions& scanner = *request.mutable_options();
  scanner.set_rules_dir(options.rules_dir);
  for (const auto& [engine, path] : options.extra_rule_files) {
    v1::RuleFile& file = *scanner.add_extra_rule_files();
    file.set_engine(engine);
    file.set_path(path);
  }
  v1::ScanLimits& limits = *scanner.mutable_limits();
  limits.set_max_depth(options.limits.max_depth);
  limits.set_max_files(options.limits.max_files);
  limits.set_max_layer_bytes(options.limits.max_layer_bytes);
  limits.set_max_total_bytes(options.limits.max_total_bytes);
  limits.set_max_expansion_ratio(options.limits.max_expansion_ratio);
  limits.set_ratio_exempt_bytes(options.limits.ratio_exempt_bytes);
  limits.set_max_scan_time_ms(options.limits.max_scan_time.count());
  for (const std::string& password : options.passwords) scanner.add_passwords(password);
  scanner.set_policy_file(options.policy_file);
  scanner.set_compiled_cache_dir(options.compiled_cache_dir);
  request.mutable_worker()->set_memory_limit_bytes(worker.memory_limit_bytes);
  request.mutable_worker()->set_cpu_seconds(worker.cpu_seconds);
  return request.SerializeAsString();
}

StatusOr<std::pair<ScannerOptions, WorkerLimits>> DecodeZygoteRequest(std::string_view bytes) {
  v1::ZygoteRequest request;
  // Both ends are this program: a request without its parts was cut short, not written so.
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !request.has_options() ||
      !request.options().has_limits() || !request.has_worker()) {
    return InvalidArgument("malformed zygote request");
  }
  const v1::ScannerOptions& scanner = request.options();
  ScannerOptions options;
  options.rules_dir = scanner.rules_dir();
  for (const v1::RuleFile& file : scanner.extra_rule_files()) options.extra_rule_files.emplace_back(file.engine(), file.path());
  const v1::ScanLimits& limits = scanner.limits();
  options.limits.max_depth = limits.max_depth();
  options.limits.max_files = limits.max_files();
  options.limits.max_layer_bytes = limits.max_layer_bytes();
  options.limits.max_total_bytes = limits.max_total_bytes();
  options.limits.max_expansion_ratio = limits.max_expansion_ratio();
  options.limits.ratio_exempt_bytes = limits.ratio_exempt_bytes();
  options.limits.max_scan_time = std::chrono::milliseconds(limits.max_scan_time_ms());
  options.passwords.assign(scanner.passwords().begin(), scanner.passwords().end());
  options.policy_file = scanner.policy_file();
  options.compiled_cache_dir = scanner.compiled_cache_dir();
  return std::pair{std::move(options), WorkerLimits{request.worker().memory_limit_bytes(), request.worker().cpu_seconds()}};
}

}  // namespace tollgate::sandbox
