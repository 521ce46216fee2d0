#include "updater.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <chrono>

#include "file_util.h"
#include "selftest.h"
#include "store.h"

namespace tollgate::rules {
namespace fs = std::filesystem;
namespace {

// Removes a work folder when the update ends, however it ends.
class RemoveOnExit {
 public:
  explicit RemoveOnExit(fs::path path) : path_(std::move(path)) {}
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;

 private:
  fs::path path_;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string EngineSummary(const Scanner& scanner) {
  std::string text;
  for (const EngineInfo& engine : scanner.engines()) {
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", engine.name, engine.rule_count);
  }
  return text;
}

// Refuses what may not replace the active version; sets `already_active` for the identical bundle.
Outcome CheckNewer(const Store& store, const Manifest& manifest, const fs::path& bundle, bool& already_active) {
  const BundleVersion& version = manifest.version;
  if (store.IsWithdrawn(version)) {
    return Outcome(Reason::kWithdrawn,
                   "version " + version.text() + " was rolled back on this store; publish it under a newer version");
  }
  const std::optional<BundleVersion> active = store.active();
  if (!active || version > *active) return Outcome::Ok();
  if (version < *active) {
    return Outcome(Reason::kNotNewer, "version " + version.text() + " is older than the active version " + active->text());
  }
  // Same version: a timer re-running the same source is fine, a different bundle is not.
  auto installed = ReadSmallFile(store.VersionDir(*active) / kManifestFile, 64 << 20);
  auto offered = ReadSmallFile(bundle / kManifestFile, 64 << 20);
  if (installed.ok() && offered.ok() && *installed == *offered) {
    already_active = true;
    return Outcome::Ok();
  }
  return Outcome(Reason::kNotNewer, "version " + version.text() +
                                        " is the active version already, with different content; give the new bundle a newer version");
}

OutcomeOr<std::unique_ptr<Scanner>> Compile(const ScannerOptions& base, const fs::path& bundle,
                                            const fs::path& compiled_dir) {
  ScannerOptions options = base;
  options.rules_dir = bundle.string();
  options.compiled_cache_dir = compiled_dir.string();
  auto scanner = Scanner::Create(options);
  if (!scanner.ok()) return Outcome(Reason::kCompileFailed, scanner.status().message());
  return std::move(*scanner);
}

// Compares the candidate's corpus verdicts with the active version's (the shipped rules when the
// store has none). One scanner at a time, so the update job never holds two rule sets in memory.
Outcome CheckCorpus(const UpdateOptions& options, const Store& store, std::unique_ptr<Scanner> candidate) {
  const fs::path& corpus = *options.corpus;
  auto start = std::chrono::steady_clock::now();
  auto after = ScanCorpus(*candidate, corpus);
  if (!after.ok()) return Outcome::From(after.status());
  candidate.reset();
  const std::optional<BundleVersion> active = store.active();
  const std::string baseline_name = active ? "the active version " + active->text() : "the shipped rules";
  ScannerOptions baseline_options = options.scanner;
  baseline_options.rules_dir = active ? store.VersionDir(*active).string() : "";
  baseline_options.compiled_cache_dir = active ? store.CompiledDir(*active).string() : "";
  auto baseline = Scanner::Create(baseline_options);
  if (!baseline.ok()) {
    // A store whose active rules no longer load must still accept a fix.
    options.progress(fmt::format("warning: corpus comparison skipped: {} does not load: {}", baseline_name,
                                 baseline.status().message()));
    return Outcome::Ok();
  }
  auto before = ScanCorpus(**baseline, corpus);
  if (!before.ok()) return Outcome::From(before.status());
  TOLLGATE_RETURN_IF_REFUSED(CompareCorpus(*before, baseline_name, *after));
  options.progress(fmt::format("corpus: {} samples, none changed between clean and not clean against {} ({:.1f} s)",
                               after->size(), baseline_name, SecondsSince(start)));
  return Outcome::Ok();
}

}  // namespace

OutcomeOr<UpdateResult> UpdateStore(const UpdateOptions& options) {
  auto key = VerifyKey::Load(options.public_key);
  if (!key.ok()) return key.outcome();
  if (options.keep < 1) return Outcome(Reason::kOperational, "--keep must be at least 1");
  if (options.corpus && !fs::is_directory(*options.corpus)) {
    return Outcome(Reason::kOperational, "corpus folder not found: " + options.corpus->string());
  }
  auto store = Store::Open(options.store);
  if (!store.ok()) return store.outcome();
  auto staging = store->NewStagingDir();
  if (!staging.ok()) return staging.outcome();
  RemoveOnExit cleanup(*staging);

  auto bundle = FetchBundle(options.source, *staging, options.fetch);
  if (!bundle.ok()) return bundle.outcome();
  auto manifest = VerifyBundle(*bundle, *key);
  if (!manifest.ok()) return manifest.outcome();
  options.progress(fmt::format("verified {}: version {}, {} files, signed by key {}", options.source,
                               manifest->version.text(), manifest->files.size(), key->KeyId()));
  UpdateResult result{manifest->version, store->active(), "", false};
  TOLLGATE_RETURN_IF_REFUSED(CheckNewer(*store, *manifest, *bundle, result.already_active));
  if (result.already_active) return result;

  auto start = std::chrono::steady_clock::now();
  auto candidate = Compile(options.scanner, *bundle, store->CompiledDir(manifest->version));
  if (!candidate.ok()) return candidate.outcome();
  result.rules_version = (*candidate)->setup().rules_version();
  options.progress(fmt::format("compiled in {:.1f} s: {}", SecondsSince(start), EngineSummary(**candidate)));
  auto passed = RunSelfTest(**candidate, *bundle);
  if (!passed.ok()) return passed.outcome();
  options.progress(fmt::format("self-test passed: {} sample{}", *passed, *passed == 1 ? "" : "s"));
  if (options.corpus) {
    TOLLGATE_RETURN_IF_REFUSED(CheckCorpus(options, *store, std::move(*candidate)));
  } else {
    options.progress("corpus comparison skipped: no corpus");
  }

  TOLLGATE_RETURN_IF_REFUSED(store->Publish(*bundle, manifest->version));
  TOLLGATE_RETURN_IF_REFUSED(store->Prune(options.keep));
  return result;
}

OutcomeOr<Manifest> VerifySource(const std::string& source, const fs::path& public_key, const FetchOptions& fetch) {
  auto key = VerifyKey::Load(public_key);
  if (!key.ok()) return key.outcome();
  std::error_code ec;
  if (fs::is_directory(source, ec)) return VerifyBundle(source, *key);
  std::string pattern = (fs::temp_directory_path(ec) / "tollgate-verify-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return Outcome(Reason::kOperational, "cannot create a temporary folder");
  RemoveOnExit cleanup(pattern);
  auto bundle = FetchBundle(source, pattern, fetch);
  if (!bundle.ok()) return bundle.outcome();
  return VerifyBundle(*bundle, *key);
}

std::optional<fs::path> DefaultCorpus() {
  std::error_code ec;
  if (fs::is_directory(TOLLGATE_BUILD_CORPUS_DIR, ec)) return fs::path(TOLLGATE_BUILD_CORPUS_DIR);
  return std::nullopt;
}

}  // namespace tollgate::rules
