#include "metrics.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <map>

namespace tollgate::service {
namespace {

constexpr Verdict kVerdicts[] = {Verdict::kClean, Verdict::kSuspicious, Verdict::kMalicious, Verdict::kIncomplete};

// Label values here are our own fixed names, but the rules version comes from a hash and engine
// names from code; escaping keeps the exposition valid whatever they hold.
std::string Escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string_view ToString(Rejection rejection) {
  switch (rejection) {
    case Rejection::kMissingToken: return "missing_token";
    case Rejection::kBadToken: return "bad_token";
    case Rejection::kLockedOut: return "locked_out";
    case Rejection::kPermissionDenied: return "permission_denied";
    case Rejection::kBusy: return "busy";
    case Rejection::kTooLarge: return "too_large";
    case Rejection::kInvalidArgument: return "invalid_argument";
    case Rejection::kNotReady: return "not_ready";
    case Rejection::kCancelled: return "cancelled";
    case Rejection::kStalled: return "stalled";
  }
  return "invalid_argument";
}

std::string_view ToString(Protocol protocol) { return protocol == Protocol::kClamd ? "clamd" : "grpc"; }

ServiceMetrics::ServiceMetrics() { findings_by_engine_ = {{"tollgate", 0}, {"other", 0}}; }

void ServiceMetrics::SetRules(const std::string& version, double load_seconds, const std::vector<EngineInfo>& engines) {
  std::lock_guard lock(mutex_);
  rules_version_ = version;
  rules_load_seconds_ = load_seconds;
  for (const EngineInfo& engine : engines) {
    const bool known = std::any_of(findings_by_engine_.begin(), findings_by_engine_.end(),
                                   [&](const auto& entry) { return entry.first == engine.name; });
    if (!known) findings_by_engine_.emplace_back(engine.name, 0);
  }
}

void ServiceMetrics::RecordScan(const ScanReport& report, Protocol protocol) {
  const double seconds = std::chrono::duration<double>(report.duration).count();
  std::lock_guard lock(mutex_);
  ++scans_by_verdict_[static_cast<size_t>(report.verdict)];
  ++scans_by_protocol_[static_cast<size_t>(protocol)];
  const auto bucket = std::lower_bound(kDurationBuckets.begin(), kDurationBuckets.end(), seconds);
  if (bucket != kDurationBuckets.end()) ++duration_buckets_[bucket - kDurationBuckets.begin()];
  ++duration_count_;
  duration_sum_ += seconds;
  scanned_bytes_ += report.size;
  for (const Finding& finding : report.findings) {
    auto it = std::find_if(findings_by_engine_.begin(), findings_by_engine_.end(),
                           [&](const auto& entry) { return entry.first == finding.engine; });
    if (it == findings_by_engine_.end()) it = findings_by_engine_.begin() + 1;  // "other"
    ++it->second;
  }
}

void ServiceMetrics::RecordRejection(Rejection rejection, Protocol protocol) {
  std::lock_guard lock(mutex_);
  ++rejections_[static_cast<size_t>(rejection)];
  ++rejections_by_protocol_[static_cast<size_t>(protocol)];
}

void ServiceMetrics::RecordReload(bool installed) {
  std::lock_guard lock(mutex_);
  ++(installed ? reloads_installed_ : reloads_failed_);
}

std::string ServiceMetrics::Render(int in_flight, const VerdictCache* cache, const SandboxStats& sandbox) const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto header = [&out](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  header("tollgate_scans_total", "counter", "Scans completed, by verdict.");
  for (Verdict verdict : kVerdicts) {
    out += fmt::format("tollgate_scans_total{{verdict=\"{}\"}} {}\n", ToString(verdict),
                       scans_by_verdict_[static_cast<size_t>(verdict)]);
  }
  header("tollgate_scans_by_protocol_total", "counter", "Scans completed, by the protocol that asked (grpc, clamd).");
  for (size_t i = 0; i < kProtocolCount; ++i) {
    out += fmt::format("tollgate_scans_by_protocol_total{{protocol=\"{}\"}} {}\n", ToString(static_cast<Protocol>(i)),
                       scans_by_protocol_[i]);
  }
  header("tollgate_scan_duration_seconds", "histogram", "Time spent scanning one upload (receiving excluded).");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    cumulative += duration_buckets_[i];
    out += fmt::format("tollgate_scan_duration_seconds_bucket{{le=\"{}\"}} {}\n", kDurationBuckets[i], cumulative);
  }
  out += fmt::format("tollgate_scan_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", duration_count_);
  out += fmt::format("tollgate_scan_duration_seconds_sum {}\n", duration_sum_);
  out += fmt::format("tollgate_scan_duration_seconds_count {}\n", duration_count_);
  header("tollgate_scanned_bytes_total", "counter", "Bytes of uploads scanned.");
  out += fmt::format("tollgate_scanned_bytes_total {}\n", scanned_bytes_);
  header("tollgate_findings_total", "counter", "Findings reported, by engine.");
  for (const auto& [engine, count] : findings_by_engine_) {
    out += fmt::format("tollgate_findings_total{{engine=\"{}\"}} {}\n", Escape(engine), count);
  }
  header("tollgate_rules_info", "gauge", "The loaded rules version.");
  if (!rules_version_.empty()) out += fmt::format("tollgate_rules_info{{version=\"{}\"}} 1\n", Escape(rules_version_));
  header("tollgate_rules_load_seconds", "gauge", "Time taken to load and compile the rules.");
  out += fmt::format("tollgate_rules_load_seconds {}\n", rules_load_seconds_);
  header("tollgate_rules_reloads_total", "counter", "Hot reloads of the rules, by result.");
  out += fmt::format("tollgate_rules_reloads_total{{result=\"installed\"}} {}\n", reloads_installed_);
  out += fmt::format("tollgate_rules_reloads_total{{result=\"failed\"}} {}\n", reloads_failed_);
  header("tollgate_scans_in_flight", "gauge", "Scans being received or scanned now.");
  out += fmt::format("tollgate_scans_in_flight {}\n", in_flight);
  header("tollgate_rejected_total", "counter", "Calls refused, by reason.");
  for (size_t i = 0; i < kRejectionCount; ++i) {
    out += fmt::format("tollgate_rejected_total{{reason=\"{}\"}} {}\n", ToString(static_cast<Rejection>(i)),
                       rejections_[i]);
  }
  header("tollgate_rejected_by_protocol_total", "counter", "Calls refused, by the protocol they came in by.");
  for (size_t i = 0; i < kProtocolCount; ++i) {
    out += fmt::format("tollgate_rejected_by_protocol_total{{protocol=\"{}\"}} {}\n",
                       ToString(static_cast<Protocol>(i)), rejections_by_protocol_[i]);
  }
  if (cache != nullptr) {
    header("tollgate_verdict_cache_hits_total", "counter", "Uploads whose report came from the verdict cache.");
    out += fmt::format("tollgate_verdict_cache_hits_total {}\n", cache->hits.load());
    header("tollgate_verdict_cache_misses_total", "counter", "Uploads looked up in the verdict cache and scanned.");
    out += fmt::format("tollgate_verdict_cache_misses_total {}\n", cache->misses.load());
  }
  if (sandbox.sandboxed) {
    header("tollgate_sandbox_ready", "gauge", "1 while the sandbox can scan, 0 while it replaces processes it lost.");
    out += fmt::format("tollgate_sandbox_ready {}\n", sandbox.ready ? 1 : 0);
    header("tollgate_sandbox_workers_alive", "gauge", "Sandboxed worker processes alive, idle or busy.");
    out += fmt::format("tollgate_sandbox_workers_alive {}\n", sandbox.workers_alive);
    header("tollgate_sandbox_restarts_total", "counter", "Zygotes built to replace a lost one (with the rules' sandbox).");
    out += fmt::format("tollgate_sandbox_restarts_total {}\n", sandbox.zygote_restarts);
    header("tollgate_sandbox_worker_restarts_total", "counter", "Workers replaced, by reason (with the rules' sandbox).");
    std::map<std::string, uint64_t> restarts = {{"parser_crash", 0}, {"timeout", 0}, {"memory_limit", 0},
                                                {"killed", 0},       {"recycled", 0}, {"zygote_lost", 0}};
    for (const auto& [reason, count] : sandbox.worker_restarts) restarts[reason] = count;
    for (const auto& [reason, count] : restarts) {
      out += fmt::format("tollgate_sandbox_worker_restarts_total{{reason=\"{}\"}} {}\n", Escape(reason), count);
    }
  }
  return out;
}

StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const HostPort& address,
                                                                  std::function<std::string()> render) {
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint());
  try {
    endpoint->server_ = std::make_unique<httplib::Server>();
    endpoint->server_->Get("/metrics", [render = std::move(render)](const httplib::Request&, httplib::Response& response) {
      response.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    const int port = address.port == 0 ? endpoint->server_->bind_to_any_port(address.host)
                                       : (endpoint->server_->bind_to_port(address.host, address.port) ? address.port : -1);
    if (port < 0) {
      return Unavailable(fmt::format("metrics endpoint: cannot listen on {}:{}", address.host, address.port));
    }
    endpoint->port_ = port;
    endpoint->thread_ = std::thread([server = endpoint->server_.get()] { server->listen_after_bind(); });
    // stop() is a no-op until the accept loop runs; waiting here makes destruction always stop it.
    for (int waited_ms = 0; !endpoint->server_->is_running() && waited_ms < 5000; ++waited_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  } catch (const std::exception& error) {
    return Internal(std::string("metrics endpoint: ") + error.what());
  }
  return endpoint;
}

MetricsEndpoint::~MetricsEndpoint() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tollgate::service
