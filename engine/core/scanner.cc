#include "tollgate/scanner.h"

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "pipeline.h"
#include "registry.h"
#include "rule_bundle.h"
#include "tollgate/sha256.h"

namespace tollgate {

struct ScannerSetup::Impl {
  ScannerOptions options;
  std::unique_ptr<Policy> loaded_policy;
  const Policy* policy = &DefaultPolicy();
  RuleFiles rule_files;
  std::string fingerprint;
};

namespace {

// What ScannerSetup::fingerprint covers, each value length-prefixed so that no two setups run
// together into the same bytes. `policy_text` is the policy file's content ("" for the built-in one).
std::string Fingerprint(const ScannerOptions& options, const std::string& rules_version, const std::string& policy_text) {
  Sha256 hash;
  const auto add = [&hash](std::string_view label, std::string_view value) {
    hash.Update(fmt::format("{}:{}:", label, value.size()));
    hash.Update(value);
  };
  add("tollgate", TOLLGATE_VERSION);
  add("rules", rules_version);
  add("policy", policy_text);
  for (const std::string& password : options.passwords) add("password", password);
  const ScanLimits& limits = options.limits;
  add("limits", fmt::format("{} {} {} {} {} {} {}", limits.max_depth, limits.max_files, limits.max_layer_bytes,
                            limits.max_total_bytes, limits.max_expansion_ratio, limits.ratio_exempt_bytes,
                            limits.max_scan_time.count()));
  return hash.HexDigest();
}

}  // namespace

ScannerSetup::ScannerSetup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScannerSetup::~ScannerSetup() = default;

StatusOr<std::shared_ptr<const ScannerSetup>> ScannerSetup::Create(const ScannerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.policy_file.empty()) {
    auto policy = LoadPolicyFile(options.policy_file);
    if (!policy.ok()) return policy.status();
    impl->loaded_policy = std::move(*policy);
    impl->policy = impl->loaded_policy.get();
  }
  std::vector<std::string> engine_names;
  for (const DetectorFactory& factory : DetectorFactories()) engine_names.emplace_back(factory.name);
  const std::string bundle = options.rules_dir.empty() ? TOLLGATE_DEFAULT_RULES_DIR : options.rules_dir;
  auto files = ResolveRuleFiles(bundle, options.extra_rule_files, engine_names);
  if (!files.ok()) return files.status();
  impl->rule_files = std::move(*files);
  std::string policy_text;
  if (!options.policy_file.empty()) {
    std::ifstream in(options.policy_file, std::ios::binary);
    policy_text.assign(std::istreambuf_iterator<char>(in), {});
  }
  impl->fingerprint = Fingerprint(options, impl->rule_files.version, policy_text);
  return std::shared_ptr<const ScannerSetup>(new ScannerSetup(std::move(impl)));
}

const ScannerOptions& ScannerSetup::options() const { return impl_->options; }
const ScanLimits& ScannerSetup::limits() const { return impl_->options.limits; }
const std::string& ScannerSetup::rules_version() const { return impl_->rule_files.version; }
const Policy& ScannerSetup::policy() const { return *impl_->policy; }
std::string_view ScannerSetup::policy_name() const { return impl_->policy->name(); }
const std::string& ScannerSetup::fingerprint() const { return impl_->fingerprint; }

struct Scanner::Impl {
  std::shared_ptr<const ScannerSetup> setup;
  RuleSet rules;
  std::vector<std::unique_ptr<Unpacker>> unpackers;
  std::unique_ptr<FileTyper> typer;
  std::unique_ptr<Pipeline> pipeline;
};

Scanner::Scanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scanner::~Scanner() = default;

namespace {

// Builds every engine at once: YARA compilation and ClamAV loading each take seconds on large sets.
StatusOr<RuleSet> BuildRuleSet(const RuleFiles& files, const ScanLimits& limits, const std::string& cache_dir) {
  const std::vector<DetectorFactory> factories = DetectorFactories();
  std::vector<StatusOr<std::unique_ptr<Detector>>> built;
  for (size_t i = 0; i < factories.size(); ++i) built.emplace_back(Internal("not built"));
  tbb::parallel_for(size_t{0}, factories.size(), [&](size_t i) {
    DetectorConfig config{files.files_by_engine.at(std::string(factories[i].name)), limits, cache_dir};
    built[i] = factories[i].create(config);
  });
  RuleSet rules;
  rules.version = files.version;
  for (size_t i = 0; i < factories.size(); ++i) {
    if (!built[i].ok()) {
      const Status& error = built[i].status();
      return Status(error.code(), std::string(factories[i].name) + ": " + error.message());
    }
    rules.engines.push_back({std::string(factories[i].name), (*built[i])->RuleCount()});
    rules.detectors.push_back(std::move(*built[i]));
  }
  return rules;
}

std::string BaseName(std::string_view name) {
  const size_t slash = name.find_last_of('/');
  std::string base(slash == std::string_view::npos ? name : name.substr(slash + 1));
  return base.empty() ? "upload" : base;
}

}  // namespace

StatusOr<std::unique_ptr<Scanner>> Scanner::Create(const ScannerOptions& options) {
  auto setup = ScannerSetup::Create(options);
  if (!setup.ok()) return setup.status();
  return Create(std::move(*setup));
}

StatusOr<std::unique_ptr<Scanner>> Scanner::Create(std::shared_ptr<const ScannerSetup> setup) {
  auto impl = std::make_unique<Impl>();
  impl->setup = std::move(setup);
  const ScannerSetup& configured = *impl->setup;
  auto rules = BuildRuleSet(configured.impl_->rule_files, configured.limits(), configured.options().compiled_cache_dir);
  if (!rules.ok()) return rules.status();
  impl->rules = std::move(*rules);
  auto typer = FileTyper::Create();
  if (!typer.ok()) return typer.status();
  impl->typer = std::move(*typer);
  impl->unpackers = MakeUnpackers();
  impl->pipeline = std::make_unique<Pipeline>(impl->rules, impl->unpackers, *impl->typer, configured.limits(),
                                              configured.options().passwords);
  return std::unique_ptr<Scanner>(new Scanner(std::move(impl)));
}

ScanReport Scanner::Scan(std::string_view name, std::span<const uint8_t> bytes) const {
  return Scan(name, bytes, std::chrono::steady_clock::time_point::max());
}

ScanReport Scanner::Scan(std::string_view name, std::span<const uint8_t> bytes,
                         std::chrono::steady_clock::time_point deadline) const {
  return impl_->pipeline->Run(BaseName(name), bytes, impl_->setup->policy(), deadline, nullptr);
}

ScanReport Scanner::Scan(std::string_view name, std::span<const uint8_t> bytes,
                         std::chrono::steady_clock::time_point deadline, const LayerObserver& entering) const {
  return impl_->pipeline->Run(BaseName(name), bytes, impl_->setup->policy(), deadline, &entering);
}

namespace {

// read(), not mmap: a file truncated while mapped would kill the process with SIGBUS. One byte past
// `cap` is enough to know a limit is exceeded.
StatusOr<std::vector<uint8_t>> ReadCapped(const std::string& path, uint64_t cap) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NotFound(path + ": " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  Status error;
  while (bytes.size() < cap) {
    const ssize_t n = ::read(fd, chunk, std::min<uint64_t>(sizeof chunk, cap - bytes.size()));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      error = DataLoss(path + ": " + std::strerror(errno));
      break;
    }
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  ::close(fd);
  if (!error.ok()) return error;
  return bytes;
}

// Only a prefix was read when the file reached the cap: its hash would name a different file.
void FixTruncated(const std::string& path, size_t read, uint64_t cap, ScanReport& report) {
  if (read != cap) return;
  std::error_code ec;
  report.size = std::filesystem::file_size(path, ec);
  report.sha256.clear();
}

class InProcess final : public ScanRunner {
 public:
  explicit InProcess(std::unique_ptr<Scanner> scanner) : scanner_(std::move(scanner)) {}
  const ScannerSetup& setup() const override { return scanner_->setup(); }
  const std::vector<EngineInfo>& engines() const override { return scanner_->engines(); }
  StatusOr<ScanReport> Run(std::string_view name, std::span<const uint8_t> bytes,
                           std::chrono::steady_clock::time_point deadline) const override {
    return scanner_->Scan(name, bytes, deadline);
  }

 private:
  std::unique_ptr<Scanner> scanner_;
};

}  // namespace

namespace {

// Reads `path` up to one byte past the layer limit and scans it with `scan`; a file cut there is
// reported as too large rather than scanned in part.
template <typename Scan>
StatusOr<ScanReport> ScanCappedFile(const std::string& path, const ScannerSetup& setup, const Scan& scan) {
  const uint64_t cap = setup.limits().max_layer_bytes + 1;
  auto bytes = ReadCapped(path, cap);
  if (!bytes.ok()) return bytes.status();
  StatusOr<ScanReport> report = scan(std::span<const uint8_t>(*bytes));
  if (report.ok()) FixTruncated(path, bytes->size(), cap, *report);
  return report;
}

}  // namespace

StatusOr<ScanReport> Scanner::ScanFile(const std::string& path) const {
  return ScanCappedFile(path, setup(), [&](std::span<const uint8_t> bytes) { return StatusOr<ScanReport>(Scan(path, bytes)); });
}

StatusOr<ScanReport> ScanRunner::RunFile(const std::string& path) const {
  return ScanCappedFile(path, setup(), [&](std::span<const uint8_t> bytes) {
    return Run(path, bytes, std::chrono::steady_clock::time_point::max());
  });
}

std::unique_ptr<ScanRunner> InProcessRunner(std::unique_ptr<Scanner> scanner) {
  return std::make_unique<InProcess>(std::move(scanner));
}

ScanReport ScannerSetup::Unscanned(std::string_view name, std::span<const uint8_t> bytes, Finding why) const {
  ScanReport report;
  report.name = BaseName(name);
  report.sha256 = Sha256Hex(bytes);
  report.size = bytes.size();
  report.rules_version = rules_version();
  if (why.object.empty()) why.object = report.name;
  report.findings.push_back(std::move(why));
  const Decision decision = policy().Decide(report.findings);
  report.verdict = decision.verdict;
  report.action = decision.action;
  report.deciding = decision.deciding;
  return report;
}

const ScannerSetup& Scanner::setup() const { return *impl_->setup; }
const std::vector<EngineInfo>& Scanner::engines() const { return impl_->rules.engines; }

}  // namespace tollgate
