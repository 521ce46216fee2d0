// Rule sets from the wild (../shared/rulesets: signature-base and ditekshen, ~7,500 YARA rules and
// 179 ClamAV logical signatures) load as they are, and on every raw file of the corpus and of
// clamav-testfiles Tollgate's YARA findings include every match the `yara` CLI reports for the same
// rules, file and external variables.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "test_support.h"
#include "yara_externals.h"

namespace tollgate::testing {
namespace {

std::vector<std::string> FilesUnder(const std::filesystem::path& dir, const std::vector<std::string>& extensions) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && std::find(extensions.begin(), extensions.end(), ext) != extensions.end()) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

class WildRulesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::is_directory(kSharedRulesets)) return;
    yara_files_ = FilesUnder(kSharedRulesets, {".yar", ".yara"});
    ldb_files_ = FilesUnder(kSharedRulesets / "ditekshen-detection" / "clamav", {".ldb"});
    bundle_ = new TempDir();
    MakeBundle(bundle_->path(), {});
    ScannerOptions options;
    options.rules_dir = bundle_->path().string();
    for (const auto& f : yara_files_) options.extra_rule_files.emplace_back("yara", f);
    for (const auto& f : ldb_files_) options.extra_rule_files.emplace_back("clamav", f);
    auto scanner = Scanner::Create(options);
    create_status_ = scanner.status();
    if (scanner.ok()) scanner_ = std::move(*scanner).release();
  }
  static void TearDownTestSuite() {
    delete scanner_;
    delete bundle_;
  }
  void SetUp() override {
    if (!std::filesystem::is_directory(kSharedRulesets)) {
      // They are never copied into the project (see TOLLGATE_SHARED_RULESETS_DIR in CMakeLists.txt).
      GTEST_SKIP() << "no public rule sets at " << kSharedRulesets;
    }
    ASSERT_TRUE(create_status_.ok()) << create_status_.ToString();
  }

  static size_t RuleCount(const std::string& engine) {
    for (const EngineInfo& info : scanner_->engines()) {
      if (info.name == engine) return info.rule_count;
    }
    return 0;
  }

  static inline std::vector<std::string> yara_files_, ldb_files_;
  static inline TempDir* bundle_ = nullptr;
  static inline Scanner* scanner_ = nullptr;
  static inline Status create_status_;
};

TEST_F(WildRulesTest, EveryRuleLoads) {
  EXPECT_GE(yara_files_.size(), 740u);
  EXPECT_GT(RuleCount("yara"), 7000u);
  EXPECT_EQ(ldb_files_.size(), 2u);
  // libclamav counts the 179 logical signatures as 175 (clamscan says the same): compare with it.
  TempDir work;
  WriteFile(work.path() / "empty.txt", "");
  std::string clamscan = "clamscan";
  for (const auto& f : ldb_files_) clamscan += " -d " + ShellQuote(f);
  const CommandResult result = RunCommand(clamscan + " " + (work.path() / "empty.txt").string());
  const size_t at = result.output.find("Known viruses: ");
  ASSERT_NE(at, std::string::npos) << result.output;
  EXPECT_EQ(RuleCount("clamav"), std::stoul(result.output.substr(at + 15)));
  EXPECT_GE(RuleCount("clamav"), 175u);
}

TEST_F(WildRulesTest, YaraFindingsIncludeEveryMatchOfTheYaraCli) {
  TempDir work;
  const std::string compiled = (work.path() / "wild.yarc").string();
  std::string yarac = "yarac -w -d filename= -d filepath= -d extension= -d filetype= -d owner=";
  for (size_t i = 0; i < yara_files_.size(); ++i) yarac += " n" + std::to_string(i) + ":" + ShellQuote(yara_files_[i]);
  ASSERT_EQ(RunCommand(yarac + " " + compiled).exit_code, 0) << "yarac failed";

  std::vector<std::string> targets;
  for (const auto& dir : {kCorpus, kClamTestFiles}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (entry.is_regular_file() && !entry.path().filename().string().starts_with('.')) {
        targets.push_back(entry.path().string());
      }
    }
  }
  ASSERT_GE(targets.size(), 50u);

  size_t cli_matches = 0;
  for (const std::string& target : targets) {
    auto report = scanner_->ScanFile(target);
    ASSERT_TRUE(report.ok()) << target;
    ScanObject root;
    root.path = ObjectPath(std::filesystem::path(target).filename().string());
    root.type = report->type;
    std::string command = "yara -w -C";
    // The THOR variables the public rules use; Tollgate's own tollgate_prose is none of theirs.
    for (const auto& variable : yara::ExternalVariablesFor(root)) {
      if (const auto* value = std::get_if<std::string>(&variable.value)) {
        command += " -d " + ShellQuote(std::string(variable.name) + "=" + *value);
      }
    }
    const CommandResult cli = RunCommand(command + " " + compiled + " " + ShellQuote(target));
    ASSERT_EQ(cli.exit_code, 0) << command;

    std::set<std::string> tollgate_rules;
    for (const Finding& f : report->findings) {
      if (f.engine == "yara" && f.object == root.path.ToString()) tollgate_rules.insert(f.rule);
    }
    std::istringstream lines(cli.output);
    for (std::string rule, file; lines >> rule && std::getline(lines, file);) {
      ++cli_matches;
      EXPECT_TRUE(tollgate_rules.contains(rule)) << target << ": the yara CLI matched " << rule << ", Tollgate did not";
    }
  }
  // Some of these files do match public rules; zero would mean the comparison ran on nothing.
  EXPECT_GT(cli_matches, 0u);
}

}  // namespace
}  // namespace tollgate::testing
