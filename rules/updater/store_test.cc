// The rules store: publishing switches `current` atomically, old versions are pruned, rollback
// withdraws, and one process at a time holds the lock.
#include "store.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace tollgate::rules {
namespace {

namespace fs = std::filesystem;
using tollgate::testing::ReadFile;
using tollgate::testing::TempDir;
using tollgate::testing::WriteFile;

BundleVersion V(std::string_view text) { return *BundleVersion::Parse(text); }

std::vector<std::string> Texts(const std::vector<BundleVersion>& versions) {
  std::vector<std::string> texts;
  for (const BundleVersion& version : versions) texts.push_back(version.text());
  return texts;
}

class StoreTest : public ::testing::Test {
 protected:
  void Publish(Store& store, std::string_view version) {
    auto staging = store.NewStagingDir();
    ASSERT_TRUE(staging.ok());
    WriteFile(*staging / "bundle/yara/v.yar", std::string(version));
    ASSERT_TRUE(store.Publish(*staging / "bundle", V(version)).ok());
  }
  TempDir dir_;
};

TEST_F(StoreTest, PublishingSwitchesTheActiveVersion) {
  auto store = Store::Open(dir_.path() / "store");
  ASSERT_TRUE(store.ok()) << store.outcome().ToString();
  EXPECT_FALSE(store->active());
  EXPECT_EQ(ActiveBundleDir(dir_.path() / "store").status().code(), StatusCode::kNotFound);
  Publish(*store, "1");
  Publish(*store, "2");
  EXPECT_EQ(store->active(), V("2"));
  EXPECT_EQ(fs::read_symlink(dir_.path() / "store/current"), fs::path("versions/2"));
  auto active = ActiveBundleDir(dir_.path() / "store");
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(*active, fs::absolute(dir_.path() / "store/versions/2"));
  EXPECT_EQ(ReadFile(*active / "yara/v.yar"), "2");
  EXPECT_EQ(Texts(store->installed()), (std::vector<std::string>{"1", "2"}));
}

TEST_F(StoreTest, PruneKeepsTheActiveAndTheNewestOlderVersions) {
  auto store = Store::Open(dir_.path());
  for (const char* version : {"1", "2", "3", "10", "11"}) Publish(*store, version);
  ASSERT_TRUE(store->Prune(3).ok());
  EXPECT_EQ(Texts(store->installed()), (std::vector<std::string>{"3", "10", "11"}));
  ASSERT_TRUE(store->Prune(1).ok());
  EXPECT_EQ(Texts(store->installed()), (std::vector<std::string>{"11"}));
}

TEST_F(StoreTest, RollbackReturnsToThePreviousVersionAndWithdrawsTheCurrentOne) {
  auto store = Store::Open(dir_.path());
  for (const char* version : {"1", "2", "3"}) Publish(*store, version);
  auto now = store->Rollback();
  ASSERT_TRUE(now.ok()) << now.outcome().ToString();
  EXPECT_EQ(*now, V("2"));
  EXPECT_EQ(store->active(), V("2"));
  EXPECT_TRUE(store->IsWithdrawn(V("3")));
  EXPECT_FALSE(store->IsWithdrawn(V("2")));
  EXPECT_FALSE(fs::exists(dir_.path() / "versions/3"));
  EXPECT_EQ(ReadFile(dir_.path() / "withdrawn"), "3\n");
  ASSERT_TRUE(store->Rollback().ok());
  EXPECT_EQ(ReadFile(dir_.path() / "withdrawn"), "3\n2\n");
  auto none = store->Rollback();
  EXPECT_EQ(none.outcome().reason(), Reason::kNoPrevious);
  EXPECT_EQ(none.outcome().message(), "no version older than 1 is kept in " + dir_.path().string());
  EXPECT_EQ(store->active(), V("1"));
}

TEST_F(StoreTest, OneProcessAtATimeHoldsTheLock) {
  auto first = Store::Open(dir_.path());
  ASSERT_TRUE(first.ok());
  // flock() locks belong to the open file description: a second open conflicts like another process.
  auto second = Store::Open(dir_.path());
  EXPECT_EQ(second.outcome().reason(), Reason::kBusy);
  EXPECT_EQ(second.outcome().message(), "rules store " + dir_.path().string() +
                                            " is locked by another update or rollback (pid " + std::to_string(::getpid()) + ")");
  { Store released = std::move(*first); }
  EXPECT_TRUE(Store::Open(dir_.path()).ok());
}

TEST_F(StoreTest, AStagingFolderLeftByADeadUpdateIsRemoved) {
  auto store = Store::Open(dir_.path());
  auto dead = store->NewStagingDir();
  WriteFile(*dead / "bundle/yara/x.yar", "x");
  auto next = store->NewStagingDir();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(fs::exists(*dead));
  EXPECT_TRUE(fs::is_directory(*next));
}

}  // namespace
}  // namespace tollgate::rules
