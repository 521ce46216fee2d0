// Prometheus metrics of the scanning service and the HTTP endpoint (`--metrics HOST:PORT`) that
// serves them at /metrics in the text exposition format. Label values come from fixed sets (verdicts,
// engines, rejection reasons), never from uploads or signature names, so the series count is bounded.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "address.h"
#include "tollgate/scanner.h"
#include "tollgate/verdict_cache.h"

namespace httplib {
class Server;
}

namespace tollgate::service {

// Why a call was refused; the `reason` label of tollgate_rejected_total.
enum class Rejection {
  kMissingToken,
  kBadToken,
  kLockedOut,
  kPermissionDenied,
  kBusy,
  kTooLarge,
  kInvalidArgument,
  kNotReady,
  kCancelled,
  kStalled,  // a stream upload that stopped, or took too long (ReceiveWatch)
};
inline constexpr size_t kRejectionCount = 10;
std::string_view ToString(Rejection rejection);

// The protocol a call came in by; the `protocol` label.
enum class Protocol { kGrpc, kClamd };
inline constexpr size_t kProtocolCount = 2;
std::string_view ToString(Protocol protocol);

class ServiceMetrics {
 public:
  ServiceMetrics();

  void SetRules(const std::string& version, double load_seconds, const std::vector<EngineInfo>& engines);
  void RecordScan(const ScanReport& report, Protocol protocol);
  void RecordRejection(Rejection rejection, Protocol protocol);
  // A hot reload of the rules: installed, or the version did not load.
  void RecordReload(bool installed);
  // The text exposition; `in_flight` is sampled by the caller, `cache` (may be null) is the
  // verdict cache the scans use, `sandbox` what the running rules' sandbox went through.
  std::string Render(int in_flight, const VerdictCache* cache, const SandboxStats& sandbox = {}) const;

  // Upper bounds of the scan duration histogram, seconds.
  static constexpr std::array<double, 14> kDurationBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                              1,     2.5,  5,     10,   30,  60,  120};

 private:
  mutable std::mutex mutex_;
  std::string rules_version_;
  double rules_load_seconds_ = 0;
  std::array<uint64_t, 4> scans_by_verdict_{};  // indexed by Verdict
  std::array<uint64_t, kDurationBuckets.size()> duration_buckets_{};  // non-cumulative
  uint64_t duration_count_ = 0;
  double duration_sum_ = 0;
  uint64_t scanned_bytes_ = 0;
  // Engines known when the rules loaded, plus "tollgate" (pipeline) and "other".
  std::vector<std::pair<std::string, uint64_t>> findings_by_engine_;
  std::array<uint64_t, kRejectionCount> rejections_{};
  std::array<uint64_t, kProtocolCount> scans_by_protocol_{};
  std::array<uint64_t, kProtocolCount> rejections_by_protocol_{};
  uint64_t reloads_installed_ = 0, reloads_failed_ = 0;
};

// A small HTTP server on its own threads answering GET /metrics; stops when destroyed.
class MetricsEndpoint {
 public:
  static StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const HostPort& address, std::function<std::string()> render);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tollgate::service
