// Hot reload: a new active version is built and handed over; a broken one is reported and skipped
// (or, after a drain, the running version is rebuilt); rollback is a change like any other.
#include "reloader.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "store.h"
#include "test_support.h"

namespace tollgate::rules {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tollgate::testing::TempDir;
using tollgate::testing::WriteFile;

class ReloaderTest : public ::testing::Test {
 protected:
  // Publishes a bundle whose one YARA rule is `rule`; its manifest names `version`.
  void Publish(const std::string& version, const std::string& rule) {
    auto store = Store::Open(store_.path());
    ASSERT_TRUE(store.ok()) << store.outcome().ToString();
    auto staging = store->NewStagingDir();
    ASSERT_TRUE(staging.ok());
    WriteFile(*staging / "bundle/yara/rule.yar", rule);
    WriteFile(*staging / "bundle/manifest.json", R"({"version": ")" + version + R"("})");
    ASSERT_TRUE(store->Publish(*staging / "bundle", *BundleVersion::Parse(version)).ok());
  }

  void Record(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    changed_.notify_all();
  }

  // Starts a reloader on the store, serving its active version; returns that version's rules_version.
  std::string Start(ReloadMode mode, double budget = 1.5) {
    ReloadOptions reload;
    reload.mode = mode;
    reload.memory_budget = budget;
    reload.hooks.build = [](const ScannerOptions& options) -> StatusOr<std::unique_ptr<ScanRunner>> {
      auto scanner = Scanner::Create(options);
      if (!scanner.ok()) return scanner.status();
      return InProcessRunner(std::move(*scanner));
    };
    reload.hooks.install = [this](std::unique_ptr<ScanRunner> runner, std::chrono::duration<double>) {
      const std::string& version = runner->setup().rules_version();
      Record("installed " + version.substr(0, version.find('+')));
    };
    reload.hooks.failed = [this](const fs::path& bundle, const Status& error) {
      Record("failed " + bundle.filename().string() + ": " + error.message().substr(0, 6));
    };
    reload.hooks.drain = [this] { Record("drain"); };
    reload.hooks.built = [this](const ReloadStats& stats) { stats_.push_back(stats); };
    reloader_ = std::make_unique<RulesReloader>(store_.path(), ScannerOptions{}, std::move(reload));
    auto initial = reloader_->BuildInitial();
    EXPECT_TRUE(initial.ok()) << initial.status().ToString();
    EXPECT_TRUE(reloader_->Start().ok());
    return initial.ok() ? (*initial)->setup().rules_version() : "";
  }

  // Waits until `count` events were reported (at most 30 s: compiling under ASan is slow).
  std::vector<std::string> Events(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 30s, [&] { return events_.size() >= count; });
    return events_;
  }

  TempDir store_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
  std::vector<ReloadStats> stats_;
  std::unique_ptr<RulesReloader> reloader_;
};

TEST_F(ReloaderTest, InstallsEachNewActiveVersionAndSkipsABrokenOne) {
  Publish("1", "rule One { condition: false }");
  EXPECT_TRUE(Start(ReloadMode::kOverlap).starts_with("1+sha256:"));
  Publish("2", "rule Two { condition: false }");
  EXPECT_EQ(Events(1), std::vector<std::string>{"installed 2"});
  Publish("3", "rule Broken { condition: $undefined }");
  EXPECT_EQ(Events(2), (std::vector<std::string>{"installed 2", "failed 3: yara: "}));
  // Back to 2, which still serves: nothing to build.
  ASSERT_TRUE(Store::Open(store_.path())->Rollback().ok());
  Publish("4", "rule Four { condition: false }");
  EXPECT_EQ(Events(3), (std::vector<std::string>{"installed 2", "failed 3: yara: ", "installed 4"}));
  ASSERT_TRUE(Store::Open(store_.path())->Rollback().ok());
  EXPECT_EQ(Events(4), (std::vector<std::string>{"installed 2", "failed 3: yara: ", "installed 4", "installed 2"}));
}

TEST_F(ReloaderTest, ReloadWithoutAChangeBuildsNothing) {
  Publish("1", "rule One { condition: false }");
  Start(ReloadMode::kOverlap);
  reloader_->Reload();
  reloader_->Reload();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(Events(0).empty());
  Publish("2", "rule Two { condition: false }");
  EXPECT_EQ(Events(1), std::vector<std::string>{"installed 2"});
}

TEST_F(ReloaderTest, DrainModeReleasesFirstAndRebuildsTheRunningVersionWhenTheNewOneFails) {
  Publish("1", "rule One { condition: false }");
  Start(ReloadMode::kDrain);
  Publish("2", "rule Broken { condition: $undefined }");
  EXPECT_EQ(Events(3), (std::vector<std::string>{"drain", "failed 2: yara: ", "installed 1"}));
  Publish("3", "rule Three { condition: false }");
  EXPECT_EQ(Events(5), (std::vector<std::string>{"drain", "failed 2: yara: ", "installed 1", "drain", "installed 3"}));
}

TEST_F(ReloaderTest, AutoModeDrainsWhenTheNextBuildWouldExceedTheBudget) {
  Publish("1", "rule One { condition: false }");
  Start(ReloadMode::kAuto, /*budget=*/1000);
  Publish("2", "rule Two { condition: false }");
  EXPECT_EQ(Events(1), std::vector<std::string>{"installed 2"}) << "a build never costs 999 times the process";
  ASSERT_EQ(stats_.size(), 2u);
  EXPECT_FALSE(stats_[1].drained);
  EXPECT_GT(stats_[0].rss_before, 0u);
  EXPECT_GE(stats_[0].peak_rss, stats_[0].rss_before);
  EXPECT_TRUE(stats_[1].rules_version.starts_with("2+sha256:"));
  reloader_.reset();

  events_.clear();
  stats_.clear();
  Start(ReloadMode::kAuto, /*budget=*/0.5);
  Publish("3", "rule Three { condition: false }");
  EXPECT_EQ(Events(2), (std::vector<std::string>{"drain", "installed 3"})) << "any build exceeds half the process";
}

}  // namespace
}  // namespace tollgate::rules
