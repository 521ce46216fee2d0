#include "receive_watch.h"

#include <algorithm>

namespace tollgate::service {

ReceiveWatch::ReceiveWatch(std::chrono::milliseconds idle, std::chrono::milliseconds upload)
    : idle_(idle), upload_(upload), thread_([this] { Run(); }) {}

ReceiveWatch::~ReceiveWatch() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

ReceiveWatch::Upload::Upload(ReceiveWatch& watch, grpc::ServerContext& context)
    : watch_(watch), context_(context), started_(Clock::now()), last_(started_.time_since_epoch().count()) {
  std::lock_guard lock(watch_.mutex_);
  watch_.uploads_.insert(this);
}

ReceiveWatch::Upload::~Upload() {
  std::lock_guard lock(watch_.mutex_);
  watch_.uploads_.erase(this);
}

void ReceiveWatch::Run() {
  // Late by a quarter of the shorter limit at most, and never busy.
  const auto period = std::max(std::chrono::milliseconds(10), std::min(idle_, upload_) / 4);
  std::unique_lock lock(mutex_);
  while (!changed_.wait_for(lock, period, [this] { return stop_; })) {
    const Clock::time_point now = Clock::now();
    for (Upload* upload : uploads_) {
      if (*upload->cancelled_for_.load() != '\0') continue;
      const Clock::time_point last{Clock::duration(upload->last_.load())};
      const char* why = now - last >= idle_ ? "receive_idle" : now - upload->started_ >= upload_ ? "upload_time" : "";
      if (*why == '\0') continue;
      upload->cancelled_for_.store(why);
      upload->context_.TryCancel();
    }
  }
}

}  // namespace tollgate::service
