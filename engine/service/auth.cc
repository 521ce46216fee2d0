#include "auth.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "text_file.h"
#include "tollgate/sha256.h"

namespace tollgate::service {
namespace {

constexpr size_t kMinTokenLength = 16;

bool IsTenantName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

// "Bearer <token>", the scheme case-insensitive (RFC 6750); nullopt for anything else.
std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace

std::string TokenFingerprint(std::string_view token) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t byte : Sha256Digest(token)) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  auto text = ReadTextFile(path, "token file");
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

StatusOr<TokenTable> TokenTable::Parse(std::string_view text, std::string_view source) {
  TokenTable table;
  std::istringstream lines{std::string(text)};
  size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    const std::string where = std::string(source) + ":" + std::to_string(number) + ": ";
    std::istringstream fields(line);
    std::string token, tenant, extra;
    if (!(fields >> token) || token.front() == '#') continue;
    if (!(fields >> tenant) || (fields >> extra)) return InvalidArgument(where + "expected `TOKEN TENANT`");
    if (token.size() < kMinTokenLength) {
      return InvalidArgument(where + "token shorter than " + std::to_string(kMinTokenLength) + " characters");
    }
    if (!IsTenantName(tenant)) return InvalidArgument(where + "tenant must be [A-Za-z0-9_.-]+");
    Entry entry{Sha256Digest(token), tenant};
    for (const Entry& existing : table.entries_) {
      if (existing.digest == entry.digest) return InvalidArgument(where + "duplicate token");
    }
    table.entries_.push_back(std::move(entry));
  }
  if (table.entries_.empty()) return InvalidArgument(std::string(source) + ": no tokens");
  return table;
}

std::optional<std::string> TokenTable::FindTenant(std::string_view token) const {
  // Digests have a fixed size and every entry is compared, so the time taken says nothing about
  // how much of a guess was right or which entry matched.
  const std::array<uint8_t, 32> digest = Sha256Digest(token);
  const Entry* match = nullptr;
  for (const Entry& entry : entries_) {
    if (CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0) match = &entry;
  }
  if (match == nullptr) return std::nullopt;
  return match->tenant;
}

void Lockout::Touch(Entry& entry) { recency_.splice(recency_.begin(), recency_, entry.recency); }

bool Lockout::IsLocked(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  return it != entries_.end() && it->second.locked_until > now;
}

void Lockout::RecordFailure(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.capacity) {
      entries_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(key);
    it = entries_.emplace(key, Entry{0, {}, recency_.begin()}).first;
  }
  Entry& entry = it->second;
  Touch(entry);
  if (entry.locked_until > now) return;  // attempts while locked neither count nor extend the lock
  if (entry.locked_until != Clock::time_point{}) {
    // The previous lock has run out: a fresh start.
    entry.failures = 0;
    entry.locked_until = {};
  }
  if (++entry.failures >= options_.max_failures) entry.locked_until = now + options_.period;
}

void Lockout::RecordSuccess(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

size_t Lockout::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

Authenticator::Authenticator(std::optional<TokenTable> tokens, Lockout::Options lockout)
    : tokens_(std::move(tokens)), lockout_(lockout) {}

AuthResult Authenticator::Check(std::optional<std::string_view> authorization, const std::string& peer_host,
                                const std::string& certificate_name) {
  if (!tokens_) return {Status::Ok(), "", certificate_name};
  const auto now = Lockout::Clock::now();
  const std::optional<std::string_view> token = authorization ? BearerToken(*authorization) : std::nullopt;
  const std::string peer_key = "peer " + peer_host;
  const std::string token_key = token ? "token " + TokenFingerprint(*token) : "";
  if (lockout_.IsLocked(peer_key, now) || (token && lockout_.IsLocked(token_key, now))) {
    return {Status(StatusCode::kUnauthenticated, "too many failed attempts: locked out, retry later"), "locked_out", ""};
  }
  std::optional<std::string> tenant = token ? tokens_->FindTenant(*token) : std::nullopt;
  if (!tenant) {
    lockout_.RecordFailure(peer_key, now);
    if (token) lockout_.RecordFailure(token_key, now);
    if (!token) {
      return {Status(StatusCode::kUnauthenticated, "missing `authorization: Bearer <token>` metadata"),
              "missing_token", ""};
    }
    return {Status(StatusCode::kUnauthenticated, "invalid token"), "bad_token", ""};
  }
  lockout_.RecordSuccess(peer_key);
  lockout_.RecordSuccess(token_key);
  return {Status::Ok(), "", std::move(*tenant)};
}

}  // namespace tollgate::service
