#include "tollgate/verdict_cache.h"

#include <algorithm>
#include <chrono>
#include <list>
#include <mutex>
#include <unordered_map>

#include "tollgate/sha256.h"

namespace tollgate {
namespace {

// Reasons an incomplete scan may give another time (see IsCacheable).
constexpr std::string_view kMomentaryReasons[] = {"timeout", "parser_crash", "memory_limit", "killed", "engine_error"};

// What an entry costs, roughly: the report's strings and the bookkeeping around them.
uint64_t EntryBytes(const std::string& key, const ScanReport& report) {
  uint64_t bytes = sizeof(ScanReport) + key.size() + report.name.size() + report.sha256.size() +
                   report.type.mime.size() + report.type.description.size() + report.rules_version.size() + 128;
  for (const Finding& finding : report.findings) {
    bytes += sizeof(Finding) + finding.engine.size() + finding.rule.size() + finding.object.size() +
             finding.reason.size() + finding.detail.size();
  }
  return bytes + report.deciding.size() * sizeof(size_t);
}

class LocalVerdictCache final : public VerdictCache {
 public:
  explicit LocalVerdictCache(uint64_t capacity) : capacity_(capacity) {}

  std::optional<ScanReport> Find(const std::string& key) override {
    std::lock_guard lock(mutex_);
    const auto found = index_.find(key);
    if (found == index_.end()) return std::nullopt;
    entries_.splice(entries_.begin(), entries_, found->second);  // now the most recently used
    return found->second->report;
  }

  void Store(const std::string& key, const ScanReport& report) override {
    const uint64_t bytes = EntryBytes(key, report);
    if (bytes > capacity_) return;
    std::lock_guard lock(mutex_);
    if (const auto found = index_.find(key); found != index_.end()) {
      used_ -= found->second->bytes;
      entries_.erase(found->second);
      index_.erase(found);
    }
    entries_.push_front({key, report, bytes});
    index_[key] = entries_.begin();
    used_ += bytes;
    while (used_ > capacity_) {
      used_ -= entries_.back().bytes;
      index_.erase(entries_.back().key);
      entries_.pop_back();
    }
  }

 private:
  struct Entry {
    std::string key;
    ScanReport report;
    uint64_t bytes;
  };

  const uint64_t capacity_;
  std::mutex mutex_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  uint64_t used_ = 0;
};

class Caching final : public ScanRunner {
 public:
  Caching(std::unique_ptr<ScanRunner> runner, std::shared_ptr<VerdictCache> cache)
      : runner_(std::move(runner)), cache_(std::move(cache)) {}

  const ScannerSetup& setup() const override { return runner_->setup(); }
  const std::vector<EngineInfo>& engines() const override { return runner_->engines(); }
  bool Ready() const override { return runner_->Ready(); }
  SandboxStats Sandbox() const override { return runner_->Sandbox(); }

  StatusOr<ScanReport> Run(std::string_view name, std::span<const uint8_t> bytes,
                           std::chrono::steady_clock::time_point deadline) const override {
    const auto started = std::chrono::steady_clock::now();
    // The root's name as the scan gives it: a path's base name.
    const std::string_view base = name.substr(name.find_last_of('/') + 1);
    const std::string key = VerdictCacheKey(Sha256Hex(bytes), base.empty() ? "upload" : base, setup());
    if (std::optional<ScanReport> cached = cache_->Find(key)) {
      cache_->hits.fetch_add(1);
      cached->cached = true;
      cached->stages.clear();
      cached->duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
      return *std::move(cached);
    }
    cache_->misses.fetch_add(1);
    StatusOr<ScanReport> report = runner_->Run(name, bytes, deadline);
    if (report.ok() && IsCacheable(*report)) cache_->Store(key, *report);
    return report;
  }

 private:
  std::unique_ptr<ScanRunner> runner_;
  std::shared_ptr<VerdictCache> cache_;
};

}  // namespace

std::shared_ptr<VerdictCache> NewLocalVerdictCache(uint64_t capacity_bytes) {
  return std::make_shared<LocalVerdictCache>(capacity_bytes);
}

std::string VerdictCacheKey(std::string_view sha256, std::string_view name, const ScannerSetup& setup) {
  Sha256 name_hash;
  name_hash.Update(name);
  return std::string(sha256) + ":" + name_hash.HexDigest() + ":" + setup.fingerprint();
}

bool IsCacheable(const ScanReport& report) {
  return std::none_of(report.findings.begin(), report.findings.end(), [](const Finding& finding) {
    return finding.kind == FindingKind::kIncomplete &&
           std::find(std::begin(kMomentaryReasons), std::end(kMomentaryReasons), finding.reason) !=
               std::end(kMomentaryReasons);
  });
}

std::unique_ptr<ScanRunner> CachingRunner(std::unique_ptr<ScanRunner> runner, std::shared_ptr<VerdictCache> cache) {
  return std::make_unique<Caching>(std::move(runner), std::move(cache));
}

}  // namespace tollgate
