#include "bundle.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "file_util.h"
#include "tollgate/sha256.h"
#include "yara_compile.h"

namespace tollgate::rules {
namespace fs = std::filesystem;
namespace {

constexpr std::array<std::string_view, 4> kBundleFolders = {"clamav", "hyperscan", "selftest", "yara"};
constexpr uint64_t kMaxManifestBytes = 64ull << 20;

bool IsBundleFolder(std::string_view name) {
  return std::find(kBundleFolders.begin(), kBundleFolders.end(), name) != kBundleFolders.end();
}

// A path a manifest may name: relative, '/'-separated, printable ASCII, no "." or ".." parts,
// below one of the bundle folders.
bool IsBundlePath(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  if (!std::all_of(path.begin(), path.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '\\'; })) return false;
  size_t start = 0;
  bool first = true;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (first && (!IsBundleFolder(part) || slash == path.size())) return false;
    first = false;
    start = slash + 1;
  }
  return true;
}

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string LowerExtension(std::string_view path) {
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

// A tar header's octal number: optional leading spaces, digits, then NUL or space.
std::optional<uint64_t> TarOctal(std::string_view field) {
  const size_t start = field.find_first_not_of(' ');
  if (start == std::string_view::npos) return std::nullopt;
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(field.data() + start, field.data() + field.size(), value, 8);
  if (error != std::errc() || (end != field.data() + field.size() && *end != '\0' && *end != ' ')) return std::nullopt;
  return value;
}

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};

// Names of the files inside a ClamAV container (.cvd/.cld/.cud): a 512-byte header, then a tar
// archive, gzip-compressed or not (as libclamav reads it).
OutcomeOr<std::vector<std::string>> ClamavContainerEntries(const fs::path& file, const std::string& name) {
  const auto unreadable = [&](std::string why) {
    return Outcome(Reason::kForbiddenContent, name + ": cannot inspect this ClamAV container (" + why + ")");
  };
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return unreadable(std::strerror(errno));
  std::array<char, 512> header{};
  if (::read(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()) ||
      std::string_view(header.data(), 11) != "ClamAV-VDB:") {
    ::close(fd);
    return unreadable("no ClamAV-VDB header");
  }
  std::unique_ptr<gzFile_s, GzCloser> in(gzdopen(fd, "rb"));
  if (!in) {
    ::close(fd);
    return unreadable("out of memory");
  }
  std::vector<std::string> entries;
  std::array<char, 512> block{};
  while (true) {
    const int n = gzread(in.get(), block.data(), block.size());
    if (n == 0) break;  // end without the closing zero blocks: libclamav accepts that too
    if (n != static_cast<int>(block.size())) return unreadable("truncated tar header");
    if (block[0] == '\0') break;
    std::string entry(block.data(), strnlen(block.data(), 100));
    const std::optional<uint64_t> size = TarOctal(std::string_view(block.data() + 124, 12));
    if (!size) return unreadable("bad size of " + entry);
    entries.push_back(std::move(entry));
    const uint64_t skip = (*size + 511) / 512 * 512;
    for (uint64_t done = 0; done < skip;) {
      const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(skip - done, 1 << 16));
      std::vector<char> sink(chunk);
      const int read = gzread(in.get(), sink.data(), chunk);
      if (read <= 0) return unreadable("truncated entry " + entries.back());
      done += static_cast<uint64_t>(read);
    }
  }
  return entries;
}

}  // namespace

std::string Manifest::ToJson() const {
  nlohmann::json json = {{"format", kManifestFormat},
                         {"version", version.text()},
                         {"created_at", created_at},
                         {"files", files}};
  return json.dump(2) + "\n";
}

OutcomeOr<Manifest> Manifest::Parse(std::string_view text) {
  const auto bad = [](std::string why) { return Outcome(Reason::kBadManifest, "manifest.json: " + why); };
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return bad("not a JSON object");
  const auto string_field = [&](const char* key) -> const std::string* {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* format = string_field("format");
  if (format == nullptr || *format != kManifestFormat) {
    return bad("\"format\" must be \"" + std::string(kManifestFormat) + "\"");
  }
  const std::string* version_text = string_field("version");
  if (version_text == nullptr) return bad("no \"version\"");
  std::optional<BundleVersion> version = BundleVersion::Parse(*version_text);
  if (!version) return bad("version \"" + *version_text + "\" is not dot-separated numbers (e.g. 2025.11.28.1)");
  const std::string* created_at = string_field("created_at");
  if (created_at == nullptr) return bad("no \"created_at\"");
  auto files = json.find("files");
  if (files == json.end() || !files->is_object()) return bad("no \"files\" object");
  Manifest manifest{*version, *created_at, {}};
  for (const auto& [path, hash] : files->items()) {
    if (!IsBundlePath(path)) return bad("\"" + path + "\" is not a file below clamav/, hyperscan/, yara/ or selftest/");
    if (!hash.is_string() || !IsSha256Hex(hash.get<std::string>())) return bad(path + ": not a SHA-256 in lower-case hex");
    manifest.files.emplace(path, hash.get<std::string>());
  }
  return manifest;
}

OutcomeOr<std::map<std::string, std::string>> HashBundleFiles(const fs::path& bundle_dir) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(bundle_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string path = it->path().lexically_relative(bundle_dir).generic_string();
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (it.depth() == 0 && fs::is_regular_file(status) && (path == kManifestFile || path == kSignatureFile)) continue;
    if (fs::is_symlink(status)) return Outcome(Reason::kIntegrity, path + ": a symbolic link (bundles hold files only)");
    if (fs::is_directory(status)) {
      if (it.depth() == 0 && !IsBundleFolder(path)) {
        return Outcome(Reason::kIntegrity, path + "/: not a bundle folder (clamav/, hyperscan/, yara/, selftest/)");
      }
      continue;
    }
    if (!fs::is_regular_file(status)) return Outcome(Reason::kIntegrity, path + ": not a regular file");
    if (!IsBundlePath(path)) {
      return Outcome(Reason::kIntegrity, path + ": not a file below clamav/, hyperscan/, yara/ or selftest/ "
                                                "(or a name outside printable ASCII)");
    }
    auto hash = Sha256OfFile(it->path());
    if (!hash.ok()) return Outcome::From(hash.status());
    files.emplace(path, std::move(*hash));
  }
  if (ec) return Outcome(Reason::kOperational, "cannot list " + bundle_dir.string() + ": " + ec.message());
  return files;
}

Outcome CheckSourcesOnly(const fs::path& bundle_dir, const std::map<std::string, std::string>& files) {
  for (const auto& [path, hash] : files) {
    const fs::path file = bundle_dir / path;
    if (path.starts_with("yara/")) {
      std::array<char, 4> magic{};
      std::ifstream(file, std::ios::binary).read(magic.data(), magic.size());
      if (std::string_view(magic.data(), magic.size()) == "YARA") {
        return Outcome(Reason::kForbiddenContent,
                       path + ": compiled YARA rules; bundles carry rule sources, which Tollgate compiles itself");
      }
      // YARA's `include` reads any file the process can: only files beside the rule, inside the bundle.
      auto include = yara::FirstEscapingInclude(file.string());
      if (!include.ok()) return Outcome::From(include.status());
      if (*include) {
        return Outcome(Reason::kForbiddenContent, path + ": includes \"" + **include + "\", outside the bundle");
      }
    } else if (path.starts_with("clamav/")) {
      const std::string extension = LowerExtension(path);
      if (extension == ".cbc") {
        return Outcome(Reason::kForbiddenContent, path + ": ClamAV bytecode is never accepted from a bundle");
      }
      if (extension == ".cvd" || extension == ".cld" || extension == ".cud") {
        auto entries = ClamavContainerEntries(file, path);
        if (!entries.ok()) return entries.outcome();
        for (const std::string& entry : *entries) {
          if (LowerExtension(entry) == ".cbc") {
            return Outcome(Reason::kForbiddenContent,
                           path + ": holds ClamAV bytecode (" + entry + "), which is never accepted from a bundle");
          }
        }
      }
    }
  }
  return Outcome::Ok();
}

OutcomeOr<Manifest> SignBundle(const fs::path& bundle_dir, const SigningKey& key, const BundleVersion& version) {
  std::error_code ec;
  if (!fs::is_directory(bundle_dir, ec)) return Outcome(Reason::kOperational, bundle_dir.string() + ": not a folder");
  auto files = HashBundleFiles(bundle_dir);
  if (!files.ok()) return files.outcome();
  TOLLGATE_RETURN_IF_REFUSED(CheckSourcesOnly(bundle_dir, *files));
  Manifest manifest{version, UtcTimestamp(), std::move(*files)};
  const std::string json = manifest.ToJson();
  auto signature = key.Sign(json);
  if (!signature.ok()) return signature.outcome();
  // Manifest and signature are each replaced atomically; a reader between the two renames sees a
  // signature that does not match and refuses the bundle, never a half-written file.
  TOLLGATE_RETURN_IF_REFUSED(Outcome::From(WriteFileAtomically(bundle_dir / kManifestFile, json)));
  TOLLGATE_RETURN_IF_REFUSED(Outcome::From(WriteFileAtomically(bundle_dir / kSignatureFile, *signature + "\n")));
  return manifest;
}

OutcomeOr<Manifest> VerifyBundle(const fs::path& bundle_dir, const VerifyKey& key) {
  std::error_code ec;
  if (!fs::is_directory(bundle_dir, ec)) return Outcome(Reason::kOperational, bundle_dir.string() + ": not a folder");
  std::string texts[2];
  for (int i = 0; i < 2; ++i) {
    const std::string_view name = i == 0 ? kManifestFile : kSignatureFile;
    const fs::path file = bundle_dir / name;
    if (!fs::is_regular_file(fs::symlink_status(file, ec))) {
      return Outcome(Reason::kBadSignature, "not a signed bundle: no " + std::string(name) + " (a regular file)");
    }
    auto text = ReadSmallFile(file, kMaxManifestBytes);
    if (!text.ok()) return Outcome::From(text.status());
    texts[i] = std::move(*text);
  }
  if (!key.Verify(texts[0], texts[1])) {
    return Outcome(Reason::kBadSignature, std::string(kSignatureFile) + " does not verify with key " + key.KeyId() +
                                              ": the manifest was changed after signing, or signed with another key");
  }
  auto manifest = Manifest::Parse(texts[0]);
  if (!manifest.ok()) return manifest.outcome();
  auto files = HashBundleFiles(bundle_dir);
  if (!files.ok()) return files.outcome();
  for (const auto& [path, hash] : *files) {
    auto listed = manifest->files.find(path);
    if (listed == manifest->files.end()) return Outcome(Reason::kIntegrity, path + ": not in the manifest");
    if (listed->second != hash) {
      return Outcome(Reason::kIntegrity, path + ": SHA-256 " + hash + " differs from the manifest's " + listed->second +
                                             " (changed after signing)");
    }
  }
  for (const auto& [path, hash] : manifest->files) {
    if (!files->contains(path)) return Outcome(Reason::kIntegrity, path + ": listed in the manifest but missing");
  }
  TOLLGATE_RETURN_IF_REFUSED(CheckSourcesOnly(bundle_dir, *files));
  return manifest;
}

std::string UtcTimestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

BundleVersion TimestampVersion() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  // Two numbers without leading zeros: the date, then the time of day.
  const std::string text = std::to_string((utc.tm_year + 1900) * 10000 + (utc.tm_mon + 1) * 100 + utc.tm_mday) + "." +
                           std::to_string(utc.tm_hour * 10000 + utc.tm_min * 100 + utc.tm_sec);
  return *BundleVersion::Parse(text);
}

}  // namespace tollgate::rules
