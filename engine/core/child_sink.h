// The one place where scan limits are enforced on layers: unpacked children (LimitedChildSink) and
// layers a detector extracts itself (AdmitExtractedLayer) (see tollgate/limits.h).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "tollgate/detector.h"
#include "tollgate/limits.h"
#include "tollgate/unpacker.h"

namespace tollgate {

// Counters shared by every layer of one upload; unpackers of sibling layers run concurrently.
struct ScanBudget {
  std::atomic<uint64_t> extracted_bytes{0};
  std::atomic<uint32_t> layers{1};  // the root
  std::atomic<bool> exhausted{false};  // an upload-wide limit was hit: unpackers stop
};

class LimitedChildSink final : public ChildSink {
 public:
  using ChildHandler = std::function<void(ObjectPath path, std::vector<uint8_t> bytes, const ChildTraits& traits)>;

  // `on_child` receives every child that passed the limits; findings go to `findings`.
  LimitedChildSink(const ScanObject& parent, const ScanLimits& limits, ScanBudget& budget,
                   std::chrono::steady_clock::time_point deadline, FindingSink& findings, ChildHandler on_child,
                   const std::vector<std::string>& passwords);

  StatusOr<uint64_t> Admit(std::string_view name, uint64_t declared_size, uint64_t stored_size) override;
  // Checks the child's real size against the limits again: a container may lie about sizes.
  Status Add(std::string_view name, std::vector<uint8_t> bytes, const ChildTraits& traits) override;
  using ChildSink::Add;
  void Report(Finding finding) override;
  bool ShouldStop() const override;
  const std::vector<std::string>& Passwords() const override { return passwords_; }

 private:
  Status Refuse(std::string_view limit, std::string_view name, std::string detail);
  Status RefuseAll(std::string_view limit, std::string_view name, std::string detail);
  Status CheckSize(std::string_view name, uint64_t size, uint64_t stored_size);

  const ScanObject& parent_;
  const ScanLimits& limits_;
  ScanBudget& budget_;
  std::chrono::steady_clock::time_point deadline_;
  FindingSink& findings_;
  ChildHandler on_child_;
  const std::vector<std::string>& passwords_;
  uint64_t admitted_stored_size_ = 0;  // of the child most recently admitted (Add follows Admit)
};

// Counts a layer a detector extracted itself (libclamav's recursion), at `depth`, against the
// upload's limits, as LimitedChildSink counts an unpacker's child: past max_depth, max_layer_bytes,
// max_files or max_total_bytes it is refused, with an incomplete finding on `path` (the first
// refusal by an upload-wide limit only: the detector is told to skip every further layer).
Status AdmitExtractedLayer(const ObjectPath& path, uint32_t depth, uint64_t size, const ScanLimits& limits,
                           ScanBudget& budget, FindingSink& findings);

}  // namespace tollgate
