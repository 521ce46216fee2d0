// Outcome: why a rule-update command did not do what was asked. Every reason has its own exit code,
// so a cron job or systemd unit can tell a bad bundle from a busy store or a network failure.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "tollgate/status.h"

namespace tollgate::rules {

enum class Reason {
  kOk,
  kOperational,        // bad option, unreadable key, store not writable, I/O error
  kBusy,               // another update or rollback holds the store's lock
  kSourceUnavailable,  // the source cannot be read, downloaded or unpacked
  kBadSignature,       // manifest.sig missing or not made by the key's owner over this manifest
  kBadManifest,        // manifest.json unreadable, or names a bad version, path or hash
  kIntegrity,          // a file missing, changed, not in the manifest, a link or a special file
  kForbiddenContent,   // compiled YARA rules or ClamAV bytecode
  kNotNewer,           // the version is older than or equal to the active one
  kWithdrawn,          // the version was rolled back before
  kCompileFailed,      // an engine refused the rules
  kSelfTestFailed,     // the bundle's selftest/ expectations are missing or not met
  kCorpusRegression,   // a corpus sample changed between clean and not clean
  kNoPrevious,         // rollback: no older version is kept
};

int ExitCode(Reason reason);
std::string_view ReasonName(Reason reason);

class [[nodiscard]] Outcome {
 public:
  Outcome() = default;
  Outcome(Reason reason, std::string message) : reason_(reason), message_(std::move(message)) {}
  static Outcome Ok() { return {}; }
  // Operational errors from the engine or the file system.
  static Outcome From(const Status& status, Reason reason = Reason::kOperational) {
    return status.ok() ? Outcome() : Outcome(reason, status.message());
  }

  bool ok() const { return reason_ == Reason::kOk; }
  Reason reason() const { return reason_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;  // "REASON: message"

 private:
  Reason reason_ = Reason::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] OutcomeOr {
 public:
  OutcomeOr(T value) : state_(std::move(value)) {}  // NOLINT: implicit, like StatusOr
  OutcomeOr(Outcome outcome) : state_(std::move(outcome)) { assert(!std::get<Outcome>(state_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  Outcome outcome() const { return ok() ? Outcome() : std::get<Outcome>(state_); }
  T& operator*() & { return std::get<T>(state_); }
  const T& operator*() const& { return std::get<T>(state_); }
  T&& operator*() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &std::get<T>(state_); }
  const T* operator->() const { return &std::get<T>(state_); }

 private:
  std::variant<Outcome, T> state_;
};

#define TOLLGATE_RETURN_IF_REFUSED(expr)     \
  do {                                       \
    ::tollgate::rules::Outcome outcome_ = (expr); \
    if (!outcome_.ok()) return outcome_;     \
  } while (false)

}  // namespace tollgate::rules
