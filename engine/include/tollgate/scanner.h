// Scanner: the one entry point for scanning an upload, used by the CLI and the gRPC service.
//
// Create() loads and compiles every engine's rules once (seconds for large rule sets); the result is
// an immutable snapshot shared by all scans. Scan() is thread-safe and may be called concurrently;
// it never fails: anything that prevents a full scan (limits, corrupt or encrypted content, engine
// errors, timeouts) becomes an `incomplete` verdict with findings saying why. Only reading a file
// from disk (ScanFile) can return an error Status.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/detector.h"
#include "tollgate/limits.h"
#include "tollgate/policy.h"
#include "tollgate/status.h"
#include "tollgate/unpacker.h"
#include "tollgate/verdict.h"

namespace tollgate {

struct ScannerOptions {
  // Rule bundle with yara/, hyperscan/ and clamav/ subfolders (any may be missing or empty).
  // Empty: the bundle shipped with Tollgate (rules/default).
  std::string rules_dir;
  // Extra rule files per engine name ("clamav", "yara", "hyperscan"), added to the bundle's.
  std::vector<std::pair<std::string, std::string>> extra_rule_files;
  ScanLimits limits;
  // Passwords to try, in order, on encrypted archives and documents.
  std::vector<std::string> passwords;
  // Policy file (TOML, see policy.h); empty: the shipped default for document uploads.
  std::string policy_file;
  // Where engines may keep compiled rules between loads (DetectorConfig::compiled_cache_dir).
  std::string compiled_cache_dir;
};

struct EngineInfo {
  std::string name;
  size_t rule_count = 0;
};

// Where one scan's time went, by stage: "typing" (libmagic), "unpack.<unpacker>", "detect.<engine>"
// (on files), "detect.<engine>.content" (on content streams), "policy", and "sandbox" (handing the
// upload to a worker and its report back). Time is each stage's own: a layer libclamav hands on
// while it scans counts for the stages that scan it, not for libclamav. Layers are scanned in
// parallel, so the stages may add up to more than the duration.
struct StageTime {
  std::string stage;
  std::chrono::microseconds time{0};
  uint64_t calls = 0;
  uint64_t bytes = 0;  // bytes handed to the stage

  bool operator==(const StageTime&) const = default;
};

struct ScanReport {
  std::string name;  // the name the upload claims (base name for files)
  std::string sha256;
  FileType type;
  uint64_t size = 0;
  Verdict verdict = Verdict::kClean;
  Action action = Action::kAllow;
  std::vector<Finding> findings;  // every finding, in a stable order
  std::vector<size_t> deciding;   // indices into `findings` that decided the verdict
  std::string rules_version;
  uint32_t layers = 0;            // layers scanned, root included
  std::chrono::microseconds duration{0};
  std::vector<StageTime> stages;  // the stages that ran, in a stable order
  bool cached = false;            // reused from a VerdictCache, not scanned again
};

using LayerObserver = std::function<void(const ObjectPath& layer)>;

// What a sandboxed runner's processes went through, for metrics (nothing for one that scans in its
// own process).
struct SandboxStats {
  bool sandboxed = false;
  bool ready = true;  // ScanRunner::Ready()
  uint64_t workers_alive = 0;
  uint64_t zygote_restarts = 0;  // zygotes built to replace a lost one
  // Workers replaced, by why: the incomplete reason of the scan they failed ("parser_crash",
  // "timeout", "memory_limit", "killed"), "recycled" after their jobs, "zygote_lost".
  std::map<std::string, uint64_t> worker_restarts;
};

// A scanner's configuration, resolved without compiling any rule: the options, the rules version (a
// hash of the rule files' names and contents), the policy. What a process that hands every scan to
// sandboxed workers keeps, while the workers compile the rules: each version is compiled once.
// Immutable and thread-safe.
class ScannerSetup {
 public:
  // Reads the rule folder's file list (hashing the files) and the policy file; errors name the file.
  static StatusOr<std::shared_ptr<const ScannerSetup>> Create(const ScannerOptions& options);
  ~ScannerSetup();
  ScannerSetup(const ScannerSetup&) = delete;
  ScannerSetup& operator=(const ScannerSetup&) = delete;

  const ScannerOptions& options() const;
  const ScanLimits& limits() const;
  const std::string& rules_version() const;
  const Policy& policy() const;
  std::string_view policy_name() const;
  // SHA-256 (hex) of everything besides the upload that decides a report: rules version, policy
  // (its file's content), passwords and limits. Equal fingerprints, equal reports.
  const std::string& fingerprint() const;
  // The report of an upload that could not be scanned at all (e.g. its sandboxed worker crashed):
  // name, size, SHA-256 and rules version as Scan() would give them, `why` as the only finding, and
  // the verdict and action the policy gives it (an empty `why.object` becomes the root layer's
  // name). The bytes are hashed, never parsed.
  ScanReport Unscanned(std::string_view name, std::span<const uint8_t> bytes, Finding why) const;

 private:
  friend class Scanner;
  struct Impl;
  explicit ScannerSetup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Scanner {
 public:
  // Resolves the setup and compiles every engine's rules (seconds for large rule sets).
  static StatusOr<std::unique_ptr<Scanner>> Create(const ScannerOptions& options);
  static StatusOr<std::unique_ptr<Scanner>> Create(std::shared_ptr<const ScannerSetup> setup);
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  ScanReport Scan(std::string_view name, std::span<const uint8_t> bytes) const;
  // As above, but the scan also stops at `deadline` (a caller's own deadline, e.g. a gRPC client's):
  // whatever is left unscanned then makes the verdict `incomplete` with reason "timeout".
  ScanReport Scan(std::string_view name, std::span<const uint8_t> bytes,
                  std::chrono::steady_clock::time_point deadline) const;
  // As above; `entering` is called on the scanning thread as each layer's detectors or unpacker
  // start on it (the sandbox's workers keep the last for the report of a parser that crashes).
  ScanReport Scan(std::string_view name, std::span<const uint8_t> bytes, std::chrono::steady_clock::time_point deadline,
                  const LayerObserver& entering) const;
  StatusOr<ScanReport> ScanFile(const std::string& path) const;

  const ScannerSetup& setup() const;
  const std::vector<EngineInfo>& engines() const;

 private:
  struct Impl;
  explicit Scanner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where scans run: in this process, or in sandboxed worker processes (sandbox/worker_pool.h). The
// gRPC server and the CLI hold a runner per rules snapshot. Thread-safe. Run() returns an error
// Status only when the scan could not be attempted (e.g. no file descriptor left for the upload);
// everything the upload itself causes, a crashed parser included, is a report.
class ScanRunner {
 public:
  virtual ~ScanRunner() = default;
  // The rules version, policy and limits the scans use, and the engines with their rule counts.
  virtual const ScannerSetup& setup() const = 0;
  virtual const std::vector<EngineInfo>& engines() const = 0;
  // Whether scans can run now: false while a sandbox replaces processes it lost; meanwhile Run()
  // fails UNAVAILABLE, and a server reports NOT_SERVING.
  virtual bool Ready() const { return true; }
  virtual SandboxStats Sandbox() const { return {}; }
  virtual StatusOr<ScanReport> Run(std::string_view name, std::span<const uint8_t> bytes,
                                   std::chrono::steady_clock::time_point deadline) const = 0;
  // Reads `path` (at most one byte past the layer limit) and runs it; the report names its base name.
  StatusOr<ScanReport> RunFile(const std::string& path) const;
};

// Scans in the calling process: for --no-sandbox and for tests of the engines themselves.
std::unique_ptr<ScanRunner> InProcessRunner(std::unique_ptr<Scanner> scanner);

}  // namespace tollgate
