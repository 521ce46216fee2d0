#include "child_sink.h"

#include <algorithm>
#include <fmt/format.h>

namespace tollgate {

LimitedChildSink::LimitedChildSink(const ScanObject& parent, const ScanLimits& limits, ScanBudget& budget,
                                   std::chrono::steady_clock::time_point deadline, FindingSink& findings,
                                   ChildHandler on_child, const std::vector<std::string>& passwords)
    : parent_(parent),
      limits_(limits),
      budget_(budget),
      deadline_(deadline),
      findings_(findings),
      on_child_(std::move(on_child)),
      passwords_(passwords) {}

Status LimitedChildSink::Refuse(std::string_view limit, std::string_view name, std::string detail) {
  findings_.Add(IncompleteFinding("tollgate", limit, parent_.path.Child(name), detail));
  return ResourceExhausted(std::string(limit) + ": " + detail);
}

Status LimitedChildSink::RefuseAll(std::string_view limit, std::string_view name, std::string detail) {
  budget_.exhausted.store(true);
  return Refuse(limit, name, std::move(detail));
}

Status LimitedChildSink::CheckSize(std::string_view name, uint64_t size, uint64_t stored_size) {
  if (size > limits_.max_layer_bytes) {
    return Refuse("max_layer_bytes", name, fmt::format("{} bytes > {}", size, limits_.max_layer_bytes));
  }
  if (size > limits_.ratio_exempt_bytes &&
      static_cast<double>(size) > limits_.max_expansion_ratio * static_cast<double>(stored_size)) {
    return Refuse("max_expansion_ratio", name,
                  fmt::format("{} bytes from {} stored > ratio {}", size, stored_size, limits_.max_expansion_ratio));
  }
  if (budget_.extracted_bytes.load() + size > limits_.max_total_bytes) {
    return RefuseAll("max_total_bytes", name,
                  fmt::format("extracting {} more bytes passes {}", size, limits_.max_total_bytes));
  }
  return Status::Ok();
}

StatusOr<uint64_t> LimitedChildSink::Admit(std::string_view name, uint64_t declared_size, uint64_t stored_size) {
  if (budget_.layers.load() + 1 > limits_.max_files) {
    return RefuseAll("max_files", name, fmt::format("more than {} layers", limits_.max_files));
  }
  TOLLGATE_RETURN_IF_ERROR(CheckSize(name, declared_size, stored_size));
  admitted_stored_size_ = stored_size;
  // The declaration may lie: the cap is what the limits allow, not what the container claims.
  const uint64_t ratio_cap = std::max<uint64_t>(
      limits_.ratio_exempt_bytes, static_cast<uint64_t>(limits_.max_expansion_ratio * static_cast<double>(stored_size)));
  const uint64_t total_left = limits_.max_total_bytes - std::min(limits_.max_total_bytes, budget_.extracted_bytes.load());
  return std::min({limits_.max_layer_bytes, ratio_cap, total_left});
}

Status LimitedChildSink::Add(std::string_view name, std::vector<uint8_t> bytes, const ChildTraits& traits) {
  TOLLGATE_RETURN_IF_ERROR(CheckSize(name, bytes.size(), admitted_stored_size_));
  if (budget_.layers.fetch_add(1) + 1 > limits_.max_files) {
    return RefuseAll("max_files", name, fmt::format("more than {} layers", limits_.max_files));
  }
  budget_.extracted_bytes.fetch_add(bytes.size());
  on_child_(parent_.path.Child(name), std::move(bytes), traits);
  return Status::Ok();
}

void LimitedChildSink::Report(Finding finding) {
  if (finding.engine.empty()) finding.engine = "tollgate";
  if (finding.object.empty()) finding.object = parent_.path.ToString();
  findings_.Add(std::move(finding));
}

bool LimitedChildSink::ShouldStop() const {
  return budget_.exhausted.load() || std::chrono::steady_clock::now() >= deadline_;
}

}  // namespace tollgate
