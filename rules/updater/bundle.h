// Signed rule bundles: a folder with manifest.json, its detached Ed25519 signature manifest.sig,
// and the folders clamav/, hyperscan/, yara/ (rule sources for each engine) and selftest/ (samples
// with expected verdicts). The manifest names the bundle's version and the SHA-256 of every other
// file; the signature covers the manifest's exact bytes, so it covers every file.
//
//   {"format": "tollgate-rules/1", "version": "2025.11.28.1", "created_at": "2025-11-28T14:30:00Z",
//    "files": {"yara/acme.yar": "<sha256 hex>", "selftest/expected.json": "<sha256 hex>", ...}}
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outcome.h"
#include "signing.h"
#include "tollgate/bundle_version.h"

namespace tollgate::rules {

// The store, the updater and the CLI name it rules::BundleVersion.
using tollgate::BundleVersion;

inline constexpr std::string_view kManifestFile = "manifest.json";
inline constexpr std::string_view kSignatureFile = "manifest.sig";
inline constexpr std::string_view kManifestFormat = "tollgate-rules/1";

struct Manifest {
  BundleVersion version;
  std::string created_at;                     // ISO 8601, UTC
  std::map<std::string, std::string> files;  // bundle-relative path ('/'-separated) -> SHA-256 hex

  std::string ToJson() const;
  static OutcomeOr<Manifest> Parse(std::string_view json);
};

// Every file of a bundle folder except the manifest and its signature, with its SHA-256. Refuses
// links, special files and anything outside clamav/, hyperscan/, yara/ and selftest/ (kIntegrity).
OutcomeOr<std::map<std::string, std::string>> HashBundleFiles(const std::filesystem::path& bundle_dir);

// Refuses rules that would not be compiled here (kForbiddenContent): compiled YARA rules (files in
// yara/ starting with YARA's magic "YARA"), ClamAV bytecode (.cbc in clamav/, also inside a
// .cvd/.cld container). Also used when signing, so a bad bundle is caught before it is shipped.
Outcome CheckSourcesOnly(const std::filesystem::path& bundle_dir, const std::map<std::string, std::string>& files);

// Writes manifest.json (every file's hash) and manifest.sig into `bundle_dir`.
OutcomeOr<Manifest> SignBundle(const std::filesystem::path& bundle_dir, const SigningKey& key,
                               const BundleVersion& version);

// Checks, in this order: the signature over manifest.json (kBadSignature), the manifest
// (kBadManifest), that the files on disk are exactly those listed with their hashes (kIntegrity),
// and CheckSourcesOnly. Returns the verified manifest.
OutcomeOr<Manifest> VerifyBundle(const std::filesystem::path& bundle_dir, const VerifyKey& key);

// The current time as ISO 8601 UTC, and as a default version ("YYYY.MMDD.HHMMSS").
std::string UtcTimestamp();
BundleVersion TimestampVersion();

}  // namespace tollgate::rules
