// Who may scan: bearer tokens from a token file, each naming a tenant, and the lockout after
// repeated failures (the security policy's "5 attempts, then block").
//
// Token file: one `TOKEN TENANT` pair per line; blank lines and lines starting with `#` are
// ignored. Tokens are at least 16 characters; tenants are [A-Za-z0-9_.-]+. Only SHA-256 digests of
// the tokens are kept in memory, and a presented token is compared against every digest in
// constant time.
//
// Lockout: every failed attempt counts against the caller's address and, when it presented one,
// against the token; after `max_failures` consecutive failures that key is locked for `period`, and
// any call from a locked address or with a locked token is refused, even with a valid token. A
// success resets both counters. The table is bounded: past `capacity` keys the least recently used
// one is forgotten.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tollgate/status.h"

namespace tollgate::service {

class TokenTable {
 public:
  static StatusOr<TokenTable> Load(const std::string& path);
  static StatusOr<TokenTable> Parse(std::string_view text, std::string_view source);

  // The tenant of `token`, or nullopt. Takes the same time whichever entry matches.
  std::optional<std::string> FindTenant(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<uint8_t, 32> digest;
    std::string tenant;
  };
  std::vector<Entry> entries_;
};

class Lockout {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    uint32_t max_failures = 5;
    Clock::duration period = std::chrono::seconds(300);
    size_t capacity = 65'536;
  };
  explicit Lockout(Options options) : options_(options) {}

  bool IsLocked(const std::string& key, Clock::time_point now);
  void RecordFailure(const std::string& key, Clock::time_point now);
  void RecordSuccess(const std::string& key);
  size_t size() const;

 private:
  struct Entry {
    uint32_t failures = 0;
    Clock::time_point locked_until{};
    std::list<std::string>::iterator recency;
  };
  void Touch(Entry& entry);

  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> recency_;  // most recently used first
};

// The outcome of checking one call.
struct AuthResult {
  Status status;           // OK, or UNAUTHENTICATED with a message for the caller
  std::string reason;      // when refused: "missing_token", "bad_token" or "locked_out"
  std::string tenant;      // the token's tenant, else the client certificate's common name
};

class Authenticator {
 public:
  // Without tokens, every call is accepted (TLS client certificates may still be required).
  Authenticator(std::optional<TokenTable> tokens, Lockout::Options lockout);

  // `authorization` is the call's `authorization` metadata (nullopt when absent), `peer_host` the
  // caller's address without port, `certificate_name` the verified client certificate's common name.
  AuthResult Check(std::optional<std::string_view> authorization, const std::string& peer_host,
                   const std::string& certificate_name);

  bool requires_token() const { return tokens_.has_value(); }

 private:
  std::optional<TokenTable> tokens_;
  Lockout lockout_;
};

// Hex SHA-256 of a token: the token's lockout key and how logs may refer to it.
std::string TokenFingerprint(std::string_view token);

}  // namespace tollgate::service
