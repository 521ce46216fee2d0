#include "hyperscan/hyperscan_detector.h"

#include <hs/hs.h>
#include <tbb/enumerable_thread_specific.h>

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iterator>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "tollgate/unique_file.h"

namespace tollgate {
namespace hyperscan {
namespace {

constexpr std::string_view kEngineName = "hyperscan";

struct DatabaseDeleter {
  void operator()(hs_database_t* database) const { hs_free_database(database); }
};
struct ScratchDeleter {
  void operator()(hs_scratch_t* scratch) const { hs_free_scratch(scratch); }
};
struct CompileErrorDeleter {
  void operator()(hs_compile_error_t* error) const { hs_free_compile_error(error); }
};
using DatabasePtr = std::unique_ptr<hs_database_t, DatabaseDeleter>;
using ScratchPtr = std::unique_ptr<hs_scratch_t, ScratchDeleter>;
using CompileErrorPtr = std::unique_ptr<hs_compile_error_t, CompileErrorDeleter>;

std::string_view HsErrorName(hs_error_t code) {
  switch (code) {
    case HS_INVALID: return "HS_INVALID";
    case HS_NOMEM: return "HS_NOMEM";
    case HS_SCAN_TERMINATED: return "HS_SCAN_TERMINATED";
    case HS_COMPILER_ERROR: return "HS_COMPILER_ERROR";
    case HS_DB_VERSION_ERROR: return "HS_DB_VERSION_ERROR";
    case HS_DB_PLATFORM_ERROR: return "HS_DB_PLATFORM_ERROR";
    case HS_DB_MODE_ERROR: return "HS_DB_MODE_ERROR";
    case HS_BAD_ALIGN: return "HS_BAD_ALIGN";
    case HS_BAD_ALLOC: return "HS_BAD_ALLOC";
    case HS_SCRATCH_IN_USE: return "HS_SCRATCH_IN_USE";
    case HS_ARCH_ERROR: return "HS_ARCH_ERROR";
    case HS_INSUFFICIENT_SPACE: return "HS_INSUFFICIENT_SPACE";
    default: return "HS_UNKNOWN_ERROR";
  }
}

// The one place an hs_error_t becomes a Status. A scan our callback stopped (HS_SCAN_TERMINATED)
// is handled by Scan, which knows why it stopped.
Status HsStatus(hs_error_t code, std::string_view operation) {
  if (code == HS_SUCCESS) return Status::Ok();
  std::string message = "hyperscan: " + std::string(operation) + " failed: " + std::string(HsErrorName(code));
  switch (code) {
    case HS_NOMEM: return ResourceExhausted(std::move(message));
    case HS_ARCH_ERROR: return FailedPrecondition(std::move(message));
    default: return Internal(std::move(message));
  }
}

// Allocation failures become a Status at the module boundary instead of an exception.
template <typename Fn>
auto CatchBadAlloc(std::string_view while_doing, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("hyperscan: out of memory while " + std::string(while_doing));
  }
}

// What the match callback needs, and why it stopped the scan if it did.
struct MatchContext {
  const std::vector<Pattern>& patterns;
  const ScanObject& object;
  const ScanContext& scan;
  FindingSink& out;
  Status stop_reason;
};

int OnMatch(unsigned int id, unsigned long long /*from*/, unsigned long long to, unsigned int /*flags*/,
            void* context) {
  MatchContext& match = *static_cast<MatchContext*>(context);
  // Nothing may unwind through Hyperscan's C frames.
  try {
    const Pattern& pattern = match.patterns[id];
    if (pattern.skip_prose && match.object.prose) return 0;
    Finding finding;
    finding.engine = kEngineName;
    finding.rule = pattern.name;
    finding.severity = pattern.severity;
    finding.kind = FindingKind::kSignature;
    finding.object = match.object.path.ToString();
    // Hyperscan reports where a match ends. Its start needs HS_FLAG_SOM_LEFTMOST, which slows every
    // scan, rejects some patterns and cannot be combined with HS_FLAG_SINGLEMATCH.
    finding.offset = to;
    match.out.Add(std::move(finding));
  } catch (const std::bad_alloc&) {
    match.stop_reason = ResourceExhausted("hyperscan: out of memory while reporting a match");
    return 1;
  } catch (const std::exception& e) {
    match.stop_reason = Internal(std::string("hyperscan: reporting a match failed: ") + e.what());
    return 1;
  }
  if (match.scan.Expired()) {
    match.stop_reason = DeadlineExceeded("hyperscan: scan deadline passed");
    return 1;
  }
  return 0;
}

class HyperscanDetector final : public Detector {
 public:
  // `database` and `prototype_scratch` are null when there are no patterns.
  HyperscanDetector(std::vector<Pattern> patterns, DatabasePtr database, ScratchPtr prototype_scratch)
      : patterns_(std::move(patterns)),
        database_(std::move(database)),
        prototype_scratch_(std::move(prototype_scratch)) {}

  std::string_view Name() const override { return kEngineName; }
  size_t RuleCount() const override { return patterns_.size(); }

  // Content streams are scanned one by one: Hyperscan's cost per call is negligible, and a match
  // then never spans two streams and always names its own.
  bool ScansContent(LayerKind) const override { return true; }
  Status ScanContent(const ContentBatch& batch, const ScanContext& ctx, FindingSink& out) const override {
    for (const ScanObject& stream : batch.streams) TOLLGATE_RETURN_IF_ERROR(Scan(stream, ctx, out));
    return Status::Ok();
  }

  // Block mode offers no way to interrupt a scan between matches, so the deadline is checked at
  // each match; Hyperscan scans in linear time and the pipeline caps layer sizes, which bounds the rest.
  Status Scan(const ScanObject& object, const ScanContext& ctx, FindingSink& out) const override {
    if (!database_) return Status::Ok();
    if (object.bytes.size() > std::numeric_limits<unsigned int>::max()) {
      return ResourceExhausted("layer too large for hyperscan block mode");
    }
    StatusOr<hs_scratch_t*> scratch = LocalScratch();
    if (!scratch.ok()) return scratch.status();

    // hs_scan rejects a null pointer even for zero bytes, and an empty span may hold one.
    static constexpr char kNoBytes[] = "";
    const char* data = object.bytes.empty() ? kNoBytes : reinterpret_cast<const char*>(object.bytes.data());
    MatchContext match{patterns_, object, ctx, out, Status::Ok()};
    const hs_error_t result = hs_scan(database_.get(), data, static_cast<unsigned int>(object.bytes.size()),
                                      0, *scratch, OnMatch, &match);
    if (result == HS_SCAN_TERMINATED) return match.stop_reason;
    return HsStatus(result, "hs_scan");
  }

 private:
  // This thread's scratch, cloned from the prototype on the thread's first scan.
  StatusOr<hs_scratch_t*> LocalScratch() const {
    return CatchBadAlloc("allocating scratch", [this]() -> StatusOr<hs_scratch_t*> {
      ScratchPtr& scratch = thread_scratch_.local();
      if (!scratch) {
        hs_scratch_t* clone = nullptr;
        TOLLGATE_RETURN_IF_ERROR(HsStatus(hs_clone_scratch(prototype_scratch_.get(), &clone), "hs_clone_scratch"));
        scratch.reset(clone);
      }
      return scratch.get();
    });
  }

  std::vector<Pattern> patterns_;  // index = Hyperscan pattern id
  DatabasePtr database_;
  ScratchPtr prototype_scratch_;
  mutable tbb::enumerable_thread_specific<ScratchPtr> thread_scratch_;
};

Status CheckUniqueNames(const std::vector<Pattern>& patterns) {
  std::unordered_map<std::string_view, const Pattern*> first_by_name;
  for (const Pattern& pattern : patterns) {
    const auto [first, inserted] = first_by_name.emplace(pattern.name, &pattern);
    if (!inserted) {
      return InvalidArgument(Location(pattern.file, pattern.line) + ": duplicate signature name \"" + pattern.name +
                             "\", first defined at " + Location(first->second->file, first->second->line));
    }
  }
  return Status::Ok();
}

Status PatternError(const Pattern& pattern, std::string_view reason) {
  return InvalidArgument(Location(pattern.file, pattern.line) + ": " + pattern.name + ": " + std::string(reason));
}

// The compiled database kept in DetectorConfig::compiled_cache_dir: a 50,000-pattern set takes half a
// minute and several hundred MiB to compile but a fraction of a second to load, which is what lets a
// server reload large rules quickly and within its memory budget. The file holds everything the
// database was compiled from (Hyperscan version, each expression and its flags) and is used only
// when that matches exactly; Hyperscan itself checks the bytecode's CRC and the platform on load.
class DatabaseCache {
 public:
  DatabaseCache(const std::string& dir, const std::vector<Pattern>& patterns) {
    if (dir.empty()) return;
    path_ = dir + "/hyperscan.db";
    key_ = std::string("tollgate hyperscan database 1\n") + hs_version() + '\n';
    for (const Pattern& pattern : patterns) key_ += pattern.regex + '\0' + std::to_string(pattern.flags) + '\n';
  }

  DatabasePtr Load() const {
    if (path_.empty()) return nullptr;
    const UniqueFile file(std::fopen(path_.c_str(), "rb"));
    uint64_t key_size = 0, database_size = 0;
    if (!file || std::fread(&key_size, sizeof key_size, 1, file.get()) != 1 || key_size != key_.size()) return nullptr;
    std::string key(key_size, '\0');
    if (std::fread(key.data(), 1, key.size(), file.get()) != key.size() || key != key_) return nullptr;
    if (std::fread(&database_size, sizeof database_size, 1, file.get()) != 1 || database_size > kMaxDatabaseBytes) {
      return nullptr;
    }
    std::string bytes(database_size, '\0');
    if (std::fread(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) return nullptr;
    hs_database_t* database = nullptr;
    if (hs_deserialize_database(bytes.data(), bytes.size(), &database) != HS_SUCCESS) return nullptr;
    return DatabasePtr(database);
  }

  // Best effort: a cache that cannot be written (a read-only store) only costs the next load a compile.
  void Store(const hs_database_t& database) const {
    if (path_.empty()) return;
    char* raw = nullptr;
    size_t size = 0;
    if (hs_serialize_database(&database, &raw, &size) != HS_SUCCESS) return;
    const std::unique_ptr<char, decltype(&std::free)> bytes(raw, &std::free);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    // Synced and renamed into place once complete, so a reader never sees half a file.
    const std::string temporary = path_ + ".tmp." + std::to_string(::getpid());
    bool written = false;
    if (const UniqueFile file(std::fopen(temporary.c_str(), "wb")); file) {
      const uint64_t key_size = key_.size(), database_size = size;
      written = std::fwrite(&key_size, sizeof key_size, 1, file.get()) == 1 &&
                std::fwrite(key_.data(), 1, key_.size(), file.get()) == key_.size() &&
                std::fwrite(&database_size, sizeof database_size, 1, file.get()) == 1 &&
                std::fwrite(bytes.get(), 1, size, file.get()) == size && std::fflush(file.get()) == 0 &&
                ::fsync(::fileno(file.get())) == 0;
    }
    if (!written || std::rename(temporary.c_str(), path_.c_str()) != 0) std::remove(temporary.c_str());
  }

 private:
  static constexpr uint64_t kMaxDatabaseBytes = uint64_t{4} << 30;
  std::string path_;
  std::string key_;
};

StatusOr<std::unique_ptr<Detector>> Compile(std::vector<Pattern> patterns, const std::string& cache_dir = "") {
  if (hs_valid_platform() != HS_SUCCESS) {
    return FailedPrecondition("hyperscan: this CPU is not supported by Hyperscan (it needs at least SSSE3)");
  }
  TOLLGATE_RETURN_IF_ERROR(CheckUniqueNames(patterns));
  if (patterns.empty()) {
    // hs_compile_multi cannot compile an empty set.
    return std::unique_ptr<Detector>(std::make_unique<HyperscanDetector>(std::move(patterns), nullptr, nullptr));
  }
  if (patterns.size() > std::numeric_limits<unsigned int>::max()) {
    return InvalidArgument("hyperscan: too many patterns");
  }

  std::vector<const char*> expressions;
  std::vector<unsigned int> flags;
  std::vector<unsigned int> ids;
  expressions.reserve(patterns.size());
  flags.reserve(patterns.size());
  ids.reserve(patterns.size());
  for (const Pattern& pattern : patterns) {
    // Hyperscan takes NUL-terminated expressions; a NUL byte would silently cut the regex short.
    if (pattern.regex.find('\0') != std::string::npos) {
      return PatternError(pattern, "regex contains a NUL byte (write \\x00)");
    }
    expressions.push_back(pattern.regex.c_str());
    // SINGLEMATCH: each signature reports once per layer, which is all a verdict needs.
    flags.push_back(pattern.flags | HS_FLAG_SINGLEMATCH);
    ids.push_back(static_cast<unsigned int>(ids.size()));
  }

  const DatabaseCache cache(cache_dir, patterns);
  DatabasePtr database = cache.Load();
  if (!database) {
    hs_database_t* raw_database = nullptr;
    hs_compile_error_t* raw_error = nullptr;
    const hs_error_t compiled =
        hs_compile_multi(expressions.data(), flags.data(), ids.data(), static_cast<unsigned int>(patterns.size()),
                         HS_MODE_BLOCK, nullptr, &raw_database, &raw_error);
    database.reset(raw_database);
    const CompileErrorPtr error(raw_error);
    if (compiled == HS_COMPILER_ERROR && error) {
      if (error->expression >= 0 && static_cast<size_t>(error->expression) < patterns.size()) {
        return PatternError(patterns[static_cast<size_t>(error->expression)], error->message);
      }
      return InvalidArgument("hyperscan: cannot compile the patterns: " + std::string(error->message));
    }
    TOLLGATE_RETURN_IF_ERROR(HsStatus(compiled, "hs_compile_multi"));
    cache.Store(*database);
  }

  hs_scratch_t* raw_scratch = nullptr;
  const hs_error_t allocated = hs_alloc_scratch(database.get(), &raw_scratch);
  ScratchPtr prototype_scratch(raw_scratch);
  TOLLGATE_RETURN_IF_ERROR(HsStatus(allocated, "hs_alloc_scratch"));

  return std::unique_ptr<Detector>(
      std::make_unique<HyperscanDetector>(std::move(patterns), std::move(database), std::move(prototype_scratch)));
}

StatusOr<std::string> ReadFile(const std::string& path) {
  const auto failure = [&path]() {
    return NotFound("cannot read hyperscan pattern file " + path + ": " +
                    std::error_code(errno, std::generic_category()).message());
  };
  const UniqueFile file(std::fopen(path.c_str(), "rb"));
  if (!file) return failure();
  std::string text;
  char buffer[1 << 16];
  size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, read);
  if (std::ferror(file.get())) return failure();
  return text;
}

StatusOr<std::unique_ptr<Detector>> Create(const DetectorConfig& config) {
  std::vector<Pattern> patterns;
  for (const std::string& path : config.files) {
    StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) return text.status();
    StatusOr<std::vector<Pattern>> parsed = ParsePatternFile(path, *text);
    if (!parsed.ok()) return parsed.status();
    patterns.insert(patterns.end(), std::make_move_iterator(parsed->begin()), std::make_move_iterator(parsed->end()));
  }
  return Compile(std::move(patterns), config.compiled_cache_dir);
}

}  // namespace

StatusOr<std::unique_ptr<Detector>> CompileHyperscanDetector(std::vector<Pattern> patterns) {
  return CatchBadAlloc("compiling patterns", [&patterns] { return Compile(std::move(patterns)); });
}

}  // namespace hyperscan

DetectorFactory MakeDetectorFactory_hyperscan() {
  return {hyperscan::kEngineName, [](const DetectorConfig& config) {
            return hyperscan::CatchBadAlloc("loading patterns", [&config] { return hyperscan::Create(config); });
          }};
}

}  // namespace tollgate
