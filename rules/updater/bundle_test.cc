// Bundle versions, manifests, signing and verification, on real files and real Ed25519 keys.
#include "bundle.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "test_support.h"

namespace tollgate::rules {
namespace {

namespace fs = std::filesystem;
using tollgate::testing::ReadFile;
using tollgate::testing::TempDir;
using tollgate::testing::WriteFile;

BundleVersion V(std::string_view text) { return *BundleVersion::Parse(text); }

TEST(BundleVersion, TheTimestampVersionIsNow) {
  EXPECT_LT(TimestampVersion(), V("99990101"));
  EXPECT_GT(TimestampVersion(), V("20250101"));
}

TEST(Manifest, RoundTripsThroughJson) {
  Manifest manifest{V("7.1"), "2025-11-28T14:30:00Z", {{"yara/a.yar", std::string(64, 'a')}}};
  auto parsed = Manifest::Parse(manifest.ToJson());
  ASSERT_TRUE(parsed.ok()) << parsed.outcome().ToString();
  EXPECT_EQ(parsed->version.text(), "7.1");
  EXPECT_EQ(parsed->created_at, "2025-11-28T14:30:00Z");
  EXPECT_EQ(parsed->files, manifest.files);
}

TEST(Manifest, RefusesBadFieldsWithTheReason) {
  const std::string hash(64, 'b');
  const auto refusal = [](const std::string& json) {
    auto manifest = Manifest::Parse(json);
    EXPECT_FALSE(manifest.ok()) << json;
    EXPECT_EQ(manifest.outcome().reason(), Reason::kBadManifest) << json;
    return manifest.outcome().message();
  };
  const auto with = [&](const std::string& version, const std::string& path, const std::string& file_hash) {
    return R"({"format": "tollgate-rules/1", "version": ")" + version + R"(", "created_at": "x", "files": {")" + path +
           R"(": ")" + file_hash + R"("}})";
  };
  EXPECT_EQ(refusal("[1]"), "manifest.json: not a JSON object");
  EXPECT_EQ(refusal(R"({"format": "other/1"})"), "manifest.json: \"format\" must be \"tollgate-rules/1\"");
  EXPECT_EQ(refusal(with("1.x", "yara/a.yar", hash)),
            "manifest.json: version \"1.x\" is not dot-separated numbers (e.g. 2025.11.28.1)");
  for (const char* path : {"../yara/a.yar", "/yara/a.yar", "yara/../../etc/passwd", "yara", "docs/a.md", "yara//a",
                           "manifest.json", "yara/./a"}) {
    EXPECT_EQ(refusal(with("1", path, hash)),
              "manifest.json: \"" + std::string(path) + "\" is not a file below clamav/, hyperscan/, yara/ or selftest/");
  }
  EXPECT_EQ(refusal(with("1", "yara/a.yar", std::string(64, 'B'))),
            "manifest.json: yara/a.yar: not a SHA-256 in lower-case hex");
}

class SignedBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(GenerateKeyPair(keys_.path() / "private.pem", keys_.path() / "public.pem").ok());
    WriteFile(bundle() / "yara/acme.yar", "rule Acme { strings: $a = \"acme-threat\" condition: $a }\n");
    WriteFile(bundle() / "hyperscan/acme.pat", "Acme.Pattern high /acme-pattern/\n");
    WriteFile(bundle() / "selftest/expected.json", "{}\n");
  }
  fs::path bundle() const { return dir_.path(); }
  SigningKey Signer() const { return *SigningKey::Load(keys_.path() / "private.pem"); }
  VerifyKey Verifier() const { return *VerifyKey::Load(keys_.path() / "public.pem"); }
  Outcome Sign(std::string_view version = "1.0") {
    auto manifest = SignBundle(bundle(), Signer(), V(version));
    return manifest.ok() ? Outcome::Ok() : manifest.outcome();
  }
  Outcome Verify() {
    auto manifest = VerifyBundle(bundle(), Verifier());
    return manifest.ok() ? Outcome::Ok() : manifest.outcome();
  }

  TempDir keys_, dir_;
};

TEST_F(SignedBundleTest, AVerifiedBundleListsEveryFileWithItsHash) {
  ASSERT_TRUE(Sign("3.2").ok());
  auto manifest = VerifyBundle(bundle(), Verifier());
  ASSERT_TRUE(manifest.ok()) << manifest.outcome().ToString();
  EXPECT_EQ(manifest->version.text(), "3.2");
  ASSERT_EQ(manifest->files.size(), 3u);
  EXPECT_EQ(manifest->files.at("selftest/expected.json"),
            "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356");  // sha256 of "{}\n"
}

TEST_F(SignedBundleTest, KeyFilesAreNeverOverwrittenAndThePrivateOneIsPrivate) {
  EXPECT_EQ(fs::status(keys_.path() / "private.pem").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  const Outcome again = GenerateKeyPair(keys_.path() / "private.pem", keys_.path() / "other.pem");
  EXPECT_EQ(again.reason(), Reason::kOperational);
  EXPECT_FALSE(fs::exists(keys_.path() / "other.pem"));
  EXPECT_EQ(Signer().KeyId(), Verifier().KeyId());
}

TEST_F(SignedBundleTest, RefusesAnUnsignedBundle) {
  const Outcome outcome = Verify();
  EXPECT_EQ(outcome.reason(), Reason::kBadSignature);
  EXPECT_EQ(outcome.message(), "not a signed bundle: no manifest.json (a regular file)");
}

TEST_F(SignedBundleTest, RefusesAManifestChangedAfterSigning) {
  ASSERT_TRUE(Sign("1.0").ok());
  std::string manifest = ReadFile(bundle() / "manifest.json");
  manifest.replace(manifest.find("\"1.0\""), 5, "\"9.0\"");
  WriteFile(bundle() / "manifest.json", manifest);
  const Outcome outcome = Verify();
  EXPECT_EQ(outcome.reason(), Reason::kBadSignature);
  EXPECT_EQ(outcome.message(), "manifest.sig does not verify with key " + Verifier().KeyId() +
                                   ": the manifest was changed after signing, or signed with another key");
}

TEST_F(SignedBundleTest, RefusesASignatureByAnotherKey) {
  TempDir other;
  ASSERT_TRUE(GenerateKeyPair(other.path() / "private.pem", other.path() / "public.pem").ok());
  ASSERT_TRUE(SignBundle(bundle(), *SigningKey::Load(other.path() / "private.pem"), V("1")).ok());
  EXPECT_EQ(Verify().reason(), Reason::kBadSignature);
  WriteFile(bundle() / "manifest.sig", "not base64 at all\n");
  EXPECT_EQ(Verify().reason(), Reason::kBadSignature);
}

TEST_F(SignedBundleTest, RefusesAChangedFileNamingIt) {
  ASSERT_TRUE(Sign().ok());
  WriteFile(bundle() / "yara/acme.yar", "rule Acme { condition: true }\n");
  const Outcome outcome = Verify();
  EXPECT_EQ(outcome.reason(), Reason::kIntegrity);
  EXPECT_TRUE(outcome.message().starts_with("yara/acme.yar: SHA-256 ")) << outcome.message();
  EXPECT_TRUE(outcome.message().ends_with(" (changed after signing)")) << outcome.message();
}

TEST_F(SignedBundleTest, RefusesFilesAddedOrRemovedAfterSigning) {
  ASSERT_TRUE(Sign().ok());
  WriteFile(bundle() / "clamav/extra.ndb", "Extra:0:*:6578747261\n");
  EXPECT_EQ(Verify().message(), "clamav/extra.ndb: not in the manifest");
  fs::remove(bundle() / "clamav/extra.ndb");
  fs::remove(bundle() / "hyperscan/acme.pat");
  EXPECT_EQ(Verify().message(), "hyperscan/acme.pat: listed in the manifest but missing");
  EXPECT_EQ(Verify().reason(), Reason::kIntegrity);
}

TEST_F(SignedBundleTest, RefusesLinksAndFilesOutsideTheBundleFolders) {
  fs::create_symlink("/etc/passwd", bundle() / "yara/passwd.yar");
  Outcome outcome = Sign();
  EXPECT_EQ(outcome.reason(), Reason::kIntegrity);
  EXPECT_EQ(outcome.message(), "yara/passwd.yar: a symbolic link (bundles hold files only)");
  fs::remove(bundle() / "yara/passwd.yar");
  WriteFile(bundle() / "README.md", "notes");
  EXPECT_EQ(Sign().message(),
            "README.md: not a file below clamav/, hyperscan/, yara/ or selftest/ (or a name outside printable ASCII)");
  fs::remove(bundle() / "README.md");
  fs::create_directory(bundle() / "docs");
  EXPECT_EQ(Sign().message(), "docs/: not a bundle folder (clamav/, hyperscan/, yara/, selftest/)");
}

TEST_F(SignedBundleTest, RefusesCompiledYaraRulesEvenWhenSigned) {
  WriteFile(bundle() / "yara/compiled.yarc", std::string("YARA\x0b\x00\x00\x00", 8) + "binary");
  EXPECT_EQ(Sign().reason(), Reason::kForbiddenContent);
  // Signed by someone who bypassed `rules sign`: verification refuses it as well.
  const std::map<std::string, std::string> files = *HashBundleFiles(bundle());
  const Outcome outcome = CheckSourcesOnly(bundle(), files);
  EXPECT_EQ(outcome.reason(), Reason::kForbiddenContent);
  EXPECT_EQ(outcome.message(), "yara/compiled.yarc: compiled YARA rules; bundles carry rule sources, which Tollgate compiles itself");
}

TEST_F(SignedBundleTest, RefusesYaraIncludesThatLeaveTheBundle) {
  WriteFile(bundle() / "yara/inc.yar", "include \"../../../../etc/rules.yar\"\nrule X { condition: true }\n");
  const Outcome outcome = Sign();
  EXPECT_EQ(outcome.reason(), Reason::kForbiddenContent);
  EXPECT_EQ(outcome.message(), "yara/inc.yar: includes \"../../../../etc/rules.yar\", outside the bundle");
  WriteFile(bundle() / "yara/inc.yar", "include \"acme.yar\"\n");
  EXPECT_TRUE(Sign().ok());
}

TEST_F(SignedBundleTest, RefusesYaraIncludesHiddenAfterACommentARuleOrAnotherInclude) {
  // libyara's own lexer finds the include, wherever it stands on its line.
  WriteFile(bundle() / "yara/inc.yar", "/* vendor notes */ include \"/etc/passwd\"\n");
  Outcome outcome = Sign();
  EXPECT_EQ(outcome.reason(), Reason::kForbiddenContent);
  EXPECT_EQ(outcome.message(), "yara/inc.yar: includes \"/etc/passwd\", outside the bundle");
  WriteFile(bundle() / "yara/inc.yar", "rule Y { condition: true } include \"../../outside.yar\"\n");
  outcome = Sign();
  EXPECT_EQ(outcome.reason(), Reason::kForbiddenContent);
  EXPECT_EQ(outcome.message(), "yara/inc.yar: includes \"../../outside.yar\", outside the bundle");
  WriteFile(bundle() / "yara/inc.yar", "include \"common/helper.yar\"\n");
  WriteFile(bundle() / "yara/common/helper.yar", "include \"../../../outside.yar\"\n");
  outcome = Sign();
  EXPECT_EQ(outcome.reason(), Reason::kForbiddenContent);
  EXPECT_EQ(outcome.message(), "yara/common/helper.yar: includes \"../../../outside.yar\", outside the bundle");
}

TEST_F(SignedBundleTest, RefusesClamavBytecode) {
  WriteFile(bundle() / "clamav/logic.CBC", "ClamBC");
  const Outcome outcome = Sign();
  EXPECT_EQ(outcome.reason(), Reason::kForbiddenContent);
  EXPECT_EQ(outcome.message(), "clamav/logic.CBC: ClamAV bytecode is never accepted from a bundle");
}

// A ClamAV container as freshclam writes it: a 512-byte header, then a gzip-compressed tar.
void WriteCvd(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string header = "ClamAV-VDB:28 Nov 2025 10-00 +0000:1:1:90:X:X:test:0";
  header.resize(512, ' ');
  WriteFile(path, header);
  gzFile out = gzopen(path.c_str(), "ab");
  ASSERT_NE(out, nullptr);
  for (const auto& [name, content] : entries) {
    std::array<char, 512> block{};
    std::snprintf(block.data(), 100, "%s", name.c_str());
    std::snprintf(block.data() + 124, 12, "%011o", static_cast<unsigned>(content.size()));
    block[156] = '0';
    gzwrite(out, block.data(), block.size());
    std::string data = content;
    data.resize((content.size() + 511) / 512 * 512, '\0');
    gzwrite(out, data.data(), static_cast<unsigned>(data.size()));
  }
  const std::array<char, 1024> end{};
  gzwrite(out, end.data(), end.size());
  gzclose(out);
}

TEST_F(SignedBundleTest, LooksInsideClamavContainersForBytecode) {
  WriteCvd(bundle() / "clamav/daily.cvd", {{"daily.info", "info"}, {"daily.hdb", std::string(700, 'h')}});
  EXPECT_TRUE(Sign().ok()) << Sign().ToString();
  WriteCvd(bundle() / "clamav/bytecode.cld", {{"bytecode.info", "info"}, {"evil.cbc", "ClamBC..."}});
  const Outcome outcome = Sign();
  EXPECT_EQ(outcome.reason(), Reason::kForbiddenContent);
  EXPECT_EQ(outcome.message(),
            "clamav/bytecode.cld: holds ClamAV bytecode (evil.cbc), which is never accepted from a bundle");
  WriteFile(bundle() / "clamav/bytecode.cld", "ClamAV-VDB: too short");
  EXPECT_EQ(Sign().message(), "clamav/bytecode.cld: cannot inspect this ClamAV container (no ClamAV-VDB header)");
}

}  // namespace
}  // namespace tollgate::rules
