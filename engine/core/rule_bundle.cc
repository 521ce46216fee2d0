#include "rule_bundle.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <system_error>

#include "tollgate/bundle_version.h"
#include "tollgate/sha256.h"

namespace tollgate {
namespace fs = std::filesystem;
namespace {

bool IsRuleFile(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  std::error_code ec;
  return entry.is_regular_file(ec) && !name.starts_with('.') && entry.path().extension() != ".md";
}

StatusOr<std::vector<std::string>> ListEngineFolder(const fs::path& folder) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::exists(folder, ec)) return files;
  for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (IsRuleFile(*it)) files.push_back(it->path().string());
  }
  if (ec) return InvalidArgument("cannot list rule folder " + folder.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

Status HashFile(const std::string& engine, const std::string& path, Sha256& hash) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read rule file " + path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return NotFound("cannot read rule file " + path);
  hash.Update(engine);
  hash.Update(std::string_view("\0", 1));
  hash.Update(fs::path(path).filename().string());
  hash.Update(std::string_view("\0", 1));
  hash.Update(content);
  return Status::Ok();
}

// The version a signed bundle's manifest.json names (rules/updater/bundle.h), "" without a manifest.
StatusOr<std::string> ManifestVersion(const fs::path& bundle_dir) {
  const fs::path path = bundle_dir / "manifest.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::string();
  std::ifstream in(path, std::ios::binary);
  const nlohmann::json manifest = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* version = manifest.is_object() && manifest.contains("version") ? &manifest["version"] : nullptr;
  const std::string* text = version != nullptr ? version->get_ptr<const std::string*>() : nullptr;
  if (text == nullptr || !BundleVersion::Parse(*text)) {
    return InvalidArgument(path.string() + ": no valid \"version\" (dot-separated numbers)");
  }
  return *text;
}

}  // namespace

StatusOr<RuleFiles> ResolveRuleFiles(const std::string& bundle_dir,
                                     const std::vector<std::pair<std::string, std::string>>& extra_files,
                                     const std::vector<std::string>& engines) {
  std::error_code ec;
  if (!fs::is_directory(bundle_dir, ec)) return NotFound("rule bundle folder not found: " + bundle_dir);
  auto manifest_version = ManifestVersion(bundle_dir);
  if (!manifest_version.ok()) return manifest_version.status();
  RuleFiles rules;
  for (const std::string& engine : engines) {
    auto files = ListEngineFolder(fs::path(bundle_dir) / engine);
    if (!files.ok()) return files.status();
    rules.files_by_engine[engine] = std::move(*files);
  }
  for (const auto& [engine, path] : extra_files) {
    auto it = rules.files_by_engine.find(engine);
    if (it == rules.files_by_engine.end()) return InvalidArgument("no engine named " + engine);
    if (!fs::is_regular_file(path, ec)) return NotFound("rule file not found: " + path);
    it->second.push_back(path);
  }
  Sha256 hash;
  for (const auto& [engine, files] : rules.files_by_engine) {
    for (const std::string& path : files) TOLLGATE_RETURN_IF_ERROR(HashFile(engine, path, hash));
  }
  // A signed bundle's own version leads, so every verdict names the bundle that produced it.
  rules.version = (manifest_version->empty() ? "" : *manifest_version + "+") + "sha256:" + hash.HexDigest().substr(0, 16);
  return rules;
}

}  // namespace tollgate
