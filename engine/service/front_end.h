// What every protocol a server speaks shares. gRPC (scan_server.cc) and the clamd protocol
// (clamd_listener.h) are front ends over one ScanHost: one rules snapshot, one concurrency limit, one
// way to scan, record and refuse, so a verdict and its audit record are the same whichever protocol
// asked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "metrics.h"
#include "tollgate/scanner.h"
#include "tollgate/status.h"

namespace tollgate::service {

// What one call is about, for its log line and audit record.
struct CallInfo {
  Protocol protocol = Protocol::kGrpc;
  std::string rpc;   // "Scan", "ScanStream", "INSTREAM", ...
  std::string peer;  // "ipv4:127.0.0.1:5555", "unix:/run/tollgate.sock"
  std::string tenant;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// Who and what an upload is, as the caller says.
struct UploadInfo {
  std::string filename;
  std::string claimed_type;
  std::string upload_id;
  std::string user_id;
};

// At most `max` scans receiving or scanning at once.
class ConcurrencyLimit {
 public:
  explicit ConcurrencyLimit(int max) : max_(max) {}
  int in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
  }
  // Callers waiting for a place now.
  int waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

 private:
  friend class ConcurrencySlot;
  bool Take(std::chrono::steady_clock::time_point wait_until) {
    std::unique_lock lock(mutex_);
    if (in_flight_ >= max_) {
      ++waiting_;
      const bool freed = freed_.wait_until(lock, wait_until, [&] { return in_flight_ < max_; });
      --waiting_;
      if (!freed) return false;
    }
    ++in_flight_;
    return true;
  }
  void Release() {
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    freed_.notify_one();
  }

  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int in_flight_ = 0;
  int waiting_ = 0;
  const int max_;
};

// One place under a ConcurrencyLimit, taken at once or as soon as one frees before `wait_until`.
class ConcurrencySlot {
 public:
  ConcurrencySlot(ConcurrencyLimit& limit, std::chrono::steady_clock::time_point wait_until)
      : limit_(limit), acquired_(limit.Take(wait_until)) {}
  ~ConcurrencySlot() {
    if (acquired_) limit_.Release();
  }
  ConcurrencySlot(const ConcurrencySlot&) = delete;
  ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;
  bool acquired() const { return acquired_; }

 private:
  ConcurrencyLimit& limit_;
  const bool acquired_;
};

// The scan calls running now, from their first step: shutdown waits until none is left.
class RunningCalls {
 public:
  // True once none runs, false if `deadline` came first.
  bool WaitUntilNone(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return ended_.wait_until(lock, deadline, [&] { return running_ == 0; });
  }

 private:
  friend class RunningCall;
  std::mutex mutex_;
  std::condition_variable ended_;
  int running_ = 0;
};

// Counts a scan call for as long as it runs.
class RunningCall {
 public:
  explicit RunningCall(RunningCalls& calls) : calls_(calls) {
    std::lock_guard lock(calls_.mutex_);
    ++calls_.running_;
  }
  ~RunningCall() {
    {
      std::lock_guard lock(calls_.mutex_);
      --calls_.running_;
    }
    calls_.ended_.notify_all();
  }
  RunningCall(const RunningCall&) = delete;
  RunningCall& operator=(const RunningCall&) = delete;

 private:
  RunningCalls& calls_;
};

class ScanHost {
 public:
  virtual ~ScanHost() = default;
  // The rules snapshot a new scan keeps to its end, waiting for a draining reload until
  // `wait_until`; refused (UNAVAILABLE, logged and counted) while none can scan.
  virtual StatusOr<std::shared_ptr<const ScanRunner>> AcquireRunner(const CallInfo& call,
                                                                    std::chrono::system_clock::time_point wait_until) = 0;
  // A place among the server's concurrent scans, held while receiving and scanning: at once, or
  // as soon as one frees within `wait`.
  virtual ConcurrencySlot TakeSlot(std::chrono::milliseconds wait) = 0;
  virtual RunningCalls& running_calls() = 0;
  // Scans, then records the verdict in the audit log (one it cannot hold is not returned:
  // UNAVAILABLE), the metrics and the decision log.
  virtual StatusOr<ScanReport> ScanUpload(const CallInfo& call, const ScanRunner& runner, const UploadInfo& upload,
                                          std::span<const uint8_t> content,
                                          std::chrono::steady_clock::time_point deadline) = 0;
  // Logs, counts and audits a refused call and why (`status`, what the caller is told).
  virtual void Refuse(const CallInfo& call, Rejection rejection, const Status& status) = 0;
  // Re-reads the rules store (as SIGHUP does); FAILED_PRECONDITION when the server has none.
  virtual Status ReloadRules() = 0;
  // Stops the server as SIGTERM does.
  virtual void RequestShutdown() = 0;
  virtual uint64_t max_upload_bytes() const = 0;
  virtual unsigned max_concurrent() const = 0;
  virtual int scans_in_flight() const = 0;
  virtual int scans_waiting() const = 0;
  // The rules version new scans use; empty while none is loaded.
  virtual std::string rules_version() = 0;
  virtual std::chrono::milliseconds receive_idle() const = 0;
  virtual std::chrono::milliseconds max_upload_time() const = 0;
  virtual bool shutting_down() const = 0;
};

}  // namespace tollgate::service
