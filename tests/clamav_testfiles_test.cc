// Debian's clamav-testfiles hold the harmless clam.exe in 40+ container formats. Every format that
// libclamav can open (proved by ClamAV alone finding clam.exe's exact hash inside) must also let
// YARA alone find clam.exe: libclamav's recursion hands every layer it extracts to YARA.
#include <gtest/gtest.h>

#include <set>

#include "test_support.h"

namespace tollgate::testing {
namespace {

constexpr char kClamExeHashSignature[] = "aa15bcf478d165efd2065190eb473bcb:544:ClamTest.Exe\n";
constexpr char kClamExeYaraRule[] = R"(
rule Clam_Test_Exe {
  strings:
    $import = "CLAMessageBoxA"
    $banner = "[CLAMAV]"
  condition:
    uint16(0) == 0x5A4D and $import and $banner
}
)";

// The objects (layer paths) in which `engine` reported `rule`.
std::set<std::string> ObjectsWith(const ScanReport& report, const std::string& rule) {
  std::set<std::string> objects;
  for (const Finding& f : report.findings) {
    if (f.rule == rule) objects.insert(f.object);
  }
  return objects;
}

std::unique_ptr<Scanner> ScannerWith(const TempDir& dir, const std::string& file, const std::string& content) {
  MakeBundle(dir.path(), {{file, content}});
  ScannerOptions options;
  options.rules_dir = dir.path().string();
  return MakeScanner(options);
}

TEST(ClamavTestfiles, YaraAloneFindsClamExeInEveryFormatLibclamavOpens) {
  ASSERT_TRUE(std::filesystem::is_directory(kClamTestFiles)) << "install the clamav-testfiles package";
  TempDir clamav_bundle, yara_bundle;
  auto clamav_only = ScannerWith(clamav_bundle, "clamav/clam.hdb", kClamExeHashSignature);
  auto yara_only = ScannerWith(yara_bundle, "yara/clam.yar", kClamExeYaraRule);
  ASSERT_NE(clamav_only, nullptr);
  ASSERT_NE(yara_only, nullptr);

  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kClamTestFiles)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());

  size_t formats_opened = 0;
  for (const auto& file : files) {
    auto by_clamav = clamav_only->ScanFile(file.string());
    auto by_yara = yara_only->ScanFile(file.string());
    ASSERT_TRUE(by_clamav.ok() && by_yara.ok()) << file;
    const std::set<std::string> clamav_objects = ObjectsWith(*by_clamav, "ClamTest.Exe.UNOFFICIAL");
    if (clamav_objects.empty()) continue;
    ++formats_opened;
    const std::set<std::string> yara_objects = ObjectsWith(*by_yara, "Clam_Test_Exe");
    EXPECT_FALSE(yara_objects.empty()) << file.filename() << ": libclamav found clam.exe in "
                                       << *clamav_objects.begin() << " but YARA did not";
    for (const std::string& object : clamav_objects) {
      EXPECT_TRUE(yara_objects.contains(object)) << file.filename() << ": YARA did not see the layer " << object;
    }
    EXPECT_EQ(by_yara->verdict, Verdict::kMalicious) << file.filename();
  }
  // The package ships clam.exe in 40+ formats; far fewer opened means the recursion is broken.
  EXPECT_GE(formats_opened, 30u);
}

// Zip members compressed with a method libzip does not decode are left to libclamav, which does:
// every engine alone still reaches clam.exe, none ends incomplete.
TEST(ClamavTestfiles, ZipMethodsLibzipLacksReachTheInnerFile) {
  TempDir clamav_bundle, yara_bundle;
  auto clamav_only = ScannerWith(clamav_bundle, "clamav/clam.hdb", kClamExeHashSignature);
  auto yara_only = ScannerWith(yara_bundle, "yara/clam.yar", kClamExeYaraRule);
  ASSERT_NE(clamav_only, nullptr);
  ASSERT_NE(yara_only, nullptr);
  for (const char* name : {"clam.d64.zip", "clam.impl.zip"}) {
    const std::string file = (kClamTestFiles / name).string();
    auto by_clamav = clamav_only->ScanFile(file);
    auto by_yara = yara_only->ScanFile(file);
    ASSERT_TRUE(by_clamav.ok() && by_yara.ok()) << name;
    EXPECT_EQ(by_clamav->verdict, Verdict::kMalicious) << name;
    EXPECT_EQ(by_yara->verdict, Verdict::kMalicious) << name;
    EXPECT_EQ(ObjectsWith(*by_clamav, "ClamTest.Exe.UNOFFICIAL").size(), 1u) << name;
    EXPECT_EQ(ObjectsWith(*by_yara, "Clam_Test_Exe").size(), 1u) << name;
  }
}

}  // namespace
}  // namespace tollgate::testing
