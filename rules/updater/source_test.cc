// Fetching bundles: folders are copied, .zip archives unpacked, and whatever could escape the work
// folder (links, "..", absolute names) or blow it up is refused.
#include "source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zip.h>

#include "test_support.h"

namespace tollgate::rules {
namespace {

namespace fs = std::filesystem;
using tollgate::testing::ReadFile;
using tollgate::testing::TempDir;
using tollgate::testing::WriteFile;

struct Member {
  std::string name;
  std::string content;
  mode_t mode = S_IFREG | 0644;
};

void WriteZip(const fs::path& path, const std::vector<Member>& members) {
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(archive, nullptr);
  for (const Member& member : members) {
    zip_source_t* source = zip_source_buffer(archive, member.content.data(), member.content.size(), 0);
    const zip_int64_t index = zip_file_add(archive, member.name.c_str(), source, ZIP_FL_ENC_UTF_8);
    ASSERT_GE(index, 0) << member.name;
    zip_file_set_external_attributes(archive, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX,
                                     static_cast<zip_uint32_t>(member.mode) << 16);
  }
  ASSERT_EQ(zip_close(archive), 0);
}

class FetchTest : public ::testing::Test {
 protected:
  OutcomeOr<fs::path> Fetch(const std::string& source, FetchOptions options = {}) {
    return FetchBundle(source, work_.path(), options);
  }
  TempDir work_, input_;
};

TEST_F(FetchTest, CopiesALocalFolder) {
  WriteFile(input_.path() / "yara/sub/a.yar", "rule A { condition: true }");
  WriteFile(input_.path() / "manifest.json", "{}");
  auto root = Fetch(input_.path().string());
  ASSERT_TRUE(root.ok()) << root.outcome().ToString();
  EXPECT_EQ(*root, work_.path() / "bundle");
  EXPECT_EQ(ReadFile(*root / "yara/sub/a.yar"), "rule A { condition: true }");
  EXPECT_EQ(ReadFile(*root / "manifest.json"), "{}");
}

TEST_F(FetchTest, RefusesALinkInALocalFolder) {
  WriteFile(input_.path() / "yara/a.yar", "x");
  fs::create_symlink("/etc/hostname", input_.path() / "yara/b.yar");
  auto root = Fetch(input_.path().string());
  EXPECT_EQ(root.outcome().reason(), Reason::kIntegrity);
  EXPECT_EQ(root.outcome().message(), "yara/b.yar: a symbolic link (bundles hold files only)");
}

TEST_F(FetchTest, UnpacksAZipWithTheBundleAtItsRootOrInOneFolder) {
  WriteZip(input_.path() / "flat.zip", {{"manifest.json", "{}"}, {"yara/", ""}, {"yara/a.yar", "rule"}});
  auto root = Fetch((input_.path() / "flat.zip").string());
  ASSERT_TRUE(root.ok()) << root.outcome().ToString();
  EXPECT_EQ(ReadFile(*root / "yara/a.yar"), "rule");

  TempDir work;
  WriteZip(input_.path() / "nested.zip", {{"bundle-7/manifest.json", "{}"}, {"bundle-7/yara/a.yar", "rule"}});
  root = FetchBundle((input_.path() / "nested.zip").string(), work.path(), {});
  ASSERT_TRUE(root.ok()) << root.outcome().ToString();
  EXPECT_EQ(*root, work.path() / "bundle" / "bundle-7");
  EXPECT_EQ(ReadFile(*root / "manifest.json"), "{}");
}

TEST_F(FetchTest, RefusesArchiveNamesThatLeaveTheFolder) {
  for (const char* name : {"../evil.yar", "yara/../../evil.yar", "/etc/evil.yar", "yara\\..\\evil.yar"}) {
    TempDir work;
    WriteZip(input_.path() / "bad.zip", {{"manifest.json", "{}"}, {name, "x"}});
    auto root = FetchBundle((input_.path() / "bad.zip").string(), work.path(), {});
    EXPECT_EQ(root.outcome().reason(), Reason::kIntegrity) << name;
    EXPECT_EQ(root.outcome().message(), "archive entry \"" + std::string(name) + "\": unsafe name");
    EXPECT_FALSE(fs::exists(work.path() / "evil.yar"));
  }
}

TEST_F(FetchTest, RefusesLinksAndDevicesInAnArchive) {
  WriteZip(input_.path() / "link.zip", {{"yara/a.yar", "/etc/passwd", S_IFLNK | 0777}});
  auto root = Fetch((input_.path() / "link.zip").string());
  EXPECT_EQ(root.outcome().reason(), Reason::kIntegrity);
  EXPECT_EQ(root.outcome().message(), "archive entry yara/a.yar: a symbolic link");
  TempDir work;
  WriteZip(input_.path() / "fifo.zip", {{"yara/a.yar", "", S_IFIFO | 0644}});
  root = FetchBundle((input_.path() / "fifo.zip").string(), work.path(), {});
  EXPECT_EQ(root.outcome().message(), "archive entry yara/a.yar: not a regular file");
}

TEST_F(FetchTest, RefusesArchivesLargerThanTheLimit) {
  WriteZip(input_.path() / "big.zip", {{"yara/a.yar", std::string(600, 'a')}, {"yara/b.yar", std::string(600, 'b')}});
  FetchOptions options;
  options.max_bytes = 1000;
  auto root = Fetch((input_.path() / "big.zip").string(), options);
  EXPECT_EQ(root.outcome().reason(), Reason::kSourceUnavailable);
  EXPECT_EQ(root.outcome().message(), (input_.path() / "big.zip").string() + ": unpacks to more than 1000 bytes");
}

TEST_F(FetchTest, SaysWhyASourceIsUnavailable) {
  WriteFile(input_.path() / "not.zip", "plain text");
  auto root = Fetch((input_.path() / "not.zip").string());
  EXPECT_EQ(root.outcome().reason(), Reason::kSourceUnavailable);
  EXPECT_TRUE(root.outcome().message().starts_with((input_.path() / "not.zip").string() + ": not a readable zip archive ("))
      << root.outcome().message();

  TempDir w1, w2, w3;
  root = FetchBundle("http://rules.example/bundle.zip", w1.path(), {});
  EXPECT_EQ(root.outcome().message(), "http://rules.example/bundle.zip: only local paths and https:// URLs are sources");
  root = FetchBundle((input_.path() / "missing").string(), w2.path(), {});
  EXPECT_EQ(root.outcome().message(), (input_.path() / "missing").string() + ": no such folder or .zip archive");
  // Nothing listens on port 1 of the loopback: a download error, not a crash or a hang.
  FetchOptions quick;
  quick.timeout = std::chrono::seconds(10);
  root = FetchBundle("https://127.0.0.1:1/bundle.zip", w3.path(), quick);
  EXPECT_EQ(root.outcome().reason(), Reason::kSourceUnavailable);
  EXPECT_TRUE(root.outcome().message().starts_with("https://127.0.0.1:1/bundle.zip: ")) << root.outcome().message();
}

}  // namespace
}  // namespace tollgate::rules
