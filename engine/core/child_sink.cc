#include "child_sink.h"

#include <algorithm>
#include <fmt/format.h>
#include <optional>

namespace tollgate {
namespace {

struct Refusal {
  std::string_view limit;
  std::string detail;
};

// Counts one more layer of `size` bytes; each counter is checked and counted in one step, so
// siblings unpacked in parallel cannot pass a limit together. A refused layer is not counted.
std::optional<Refusal> ChargeLayer(ScanBudget& budget, const ScanLimits& limits, uint64_t size) {
  if (budget.layers.fetch_add(1) + 1 > limits.max_files) {
    budget.layers.fetch_sub(1);
    return Refusal{"max_files", fmt::format("more than {} layers", limits.max_files)};
  }
  if (budget.extracted_bytes.fetch_add(size) + size > limits.max_total_bytes) {
    budget.extracted_bytes.fetch_sub(size);
    budget.layers.fetch_sub(1);
    return Refusal{"max_total_bytes", fmt::format("extracting {} more bytes passes {}", size, limits.max_total_bytes)};
  }
  return std::nullopt;
}

}  // namespace

Status AdmitExtractedLayer(const ObjectPath& path, uint32_t depth, uint64_t size, const ScanLimits& limits,
                           ScanBudget& budget, FindingSink& findings) {
  std::optional<Refusal> refusal;
  if (depth > limits.max_depth) {
    refusal = Refusal{"max_depth", fmt::format("depth {} > {}", depth, limits.max_depth)};
  } else if (size > limits.max_layer_bytes) {
    refusal = Refusal{"max_layer_bytes", fmt::format("{} bytes > {}", size, limits.max_layer_bytes)};
  } else {
    refusal = ChargeLayer(budget, limits, size);
    // The first upload-wide refusal is recorded; the layers refused after it go unsaid.
    if (refusal && budget.exhausted.exchange(true)) return ResourceExhausted(std::string(refusal->limit));
  }
  if (!refusal) return Status::Ok();
  findings.Add(IncompleteFinding("tollgate", refusal->limit, path, refusal->detail));
  return ResourceExhausted(std::string(refusal->limit) + ": " + refusal->detail);
}

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
  if (std::optional<Refusal> refusal = ChargeLayer(budget_, limits_, bytes.size())) {
    return RefuseAll(refusal->limit, name, std::move(refusal->detail));
  }
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
