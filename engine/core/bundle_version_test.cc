// The one bundle-version grammar, and the scanner's manifest reader that uses it.
#include "tollgate/bundle_version.h"

#include <gtest/gtest.h>

#include "rule_bundle.h"
#include "test_support.h"

namespace tollgate {
namespace {

BundleVersion V(std::string_view text) { return *BundleVersion::Parse(text); }

TEST(BundleVersion, AcceptsDotSeparatedNumbersOnly) {
  for (const char* good : {"1", "0", "2025.11.28.1", "20251128.93000", "1.2.3.4.5.6.7.8"}) {
    EXPECT_TRUE(BundleVersion::Parse(good)) << good;
  }
  for (const char* bad : {"", ".", "1.", ".1", "1..2", "01", "1.02", "v1", "1.2-rc1", "1 2", "../1",
                          "1.2.3.4.5.6.7.8.9", "1234567890123456789"}) {
    EXPECT_FALSE(BundleVersion::Parse(bad)) << bad;
  }
}

TEST(BundleVersion, ComparesNumberByNumber) {
  EXPECT_LT(V("2.9"), V("2.10"));
  EXPECT_LT(V("2025.1.1"), V("2025.1.1.1"));
  EXPECT_GT(V("3"), V("2.99.99"));
  EXPECT_EQ(V("3.1"), V("3.1.0"));
}

// A scanner loads only a version the rules store could have published.
TEST(BundleVersion, TheScannerReadsAManifestsVersionAsTheStoreDoes) {
  testing::TempDir bundle;
  testing::WriteFile(bundle.path() / "yara" / "a.yar", "rule A { condition: true }\n");
  for (const char* bad : {"01..2", "1.02", "1.", "1.2.3.4.5.6.7.8.9"}) {
    testing::WriteFile(bundle.path() / "manifest.json", std::string(R"({"version": ")") + bad + "\"}");
    const StatusOr<RuleFiles> files = ResolveRuleFiles(bundle.path().string(), {}, {"yara"});
    ASSERT_FALSE(files.ok()) << bad;
    EXPECT_EQ(files.status().message(),
              (bundle.path() / "manifest.json").string() + ": no valid \"version\" (dot-separated numbers)");
  }
  testing::WriteFile(bundle.path() / "manifest.json", R"({"version": "2025.12.4"})");
  const StatusOr<RuleFiles> files = ResolveRuleFiles(bundle.path().string(), {}, {"yara"});
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_TRUE(files->version.starts_with("2025.12.4+sha256:")) << files->version;
}

}  // namespace
}  // namespace tollgate
