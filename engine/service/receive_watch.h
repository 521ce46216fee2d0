// ReceiveWatch: ends stream calls whose upload stalls. A ScanStream holds a concurrency slot while
// its chunks arrive, and --scan-timeout-ms starts only once they have: without this, a client that
// stops sending (frozen, or behind a half-open connection) keeps its slot for as long as it likes.
// A call is cancelled (grpc::ServerContext::TryCancel) when no chunk came for `idle`, or when the
// whole upload took longer than `upload`. One thread looks at every call a few times per `idle`.
#pragma once

#include <grpcpp/server_context.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

namespace tollgate::service {

class ReceiveWatch {
 public:
  using Clock = std::chrono::steady_clock;

  ReceiveWatch(std::chrono::milliseconds idle, std::chrono::milliseconds upload);
  ~ReceiveWatch();
  ReceiveWatch(const ReceiveWatch&) = delete;
  ReceiveWatch& operator=(const ReceiveWatch&) = delete;

  // One call's upload, watched from construction to destruction.
  class Upload {
   public:
    Upload(ReceiveWatch& watch, grpc::ServerContext& context);
    ~Upload();
    Upload(const Upload&) = delete;
    Upload& operator=(const Upload&) = delete;

    // A chunk arrived.
    void Received() { last_.store(Clock::now().time_since_epoch().count()); }
    // Why the watch cancelled the call ("receive_idle", "upload_time"), empty if it did not.
    std::string_view cancelled_for() const { return cancelled_for_.load(); }

   private:
    friend class ReceiveWatch;
    ReceiveWatch& watch_;
    grpc::ServerContext& context_;
    const Clock::time_point started_;
    std::atomic<Clock::rep> last_;
    std::atomic<const char*> cancelled_for_{""};
  };

  std::chrono::milliseconds idle() const { return idle_; }
  std::chrono::milliseconds upload() const { return upload_; }

 private:
  void Run();

  const std::chrono::milliseconds idle_;
  const std::chrono::milliseconds upload_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<Upload*> uploads_;  // guarded by mutex_, like stop_
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tollgate::service
