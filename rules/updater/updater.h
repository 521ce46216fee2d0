// `tollgate rules update`: fetch, verify, compile, self-test, compare on the corpus, publish. Any
// refusal leaves the store exactly as it was: the active version stays active.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "bundle.h"
#include "outcome.h"
#include "source.h"
#include "tollgate/scanner.h"

namespace tollgate::rules {

struct UpdateOptions {
  std::string source;  // local folder, local .zip, or https:// URL of a .zip
  std::filesystem::path public_key;
  std::filesystem::path store;
  size_t keep = 3;  // versions kept, the active one included (rollback needs at least 2)
  std::optional<std::filesystem::path> corpus;  // nullopt: no corpus comparison
  ScannerOptions scanner;  // policy, limits, passwords as the servers use them; rules_dir is ignored
  FetchOptions fetch;
  std::function<void(std::string_view line)> progress = [](std::string_view) {};
};

struct UpdateResult {
  BundleVersion version;
  std::optional<BundleVersion> previous;
  std::string rules_version;    // what every verdict made with it reports (empty when already active)
  bool already_active = false;  // the same signed bundle is active already: nothing was done
};

OutcomeOr<UpdateResult> UpdateStore(const UpdateOptions& options);

// `tollgate rules verify`: a folder is verified in place, an archive or URL unpacked aside first.
OutcomeOr<Manifest> VerifySource(const std::string& source, const std::filesystem::path& public_key,
                                 const FetchOptions& fetch);

// The corpus generated into the build tree, when it exists.
std::optional<std::filesystem::path> DefaultCorpus();

}  // namespace tollgate::rules
