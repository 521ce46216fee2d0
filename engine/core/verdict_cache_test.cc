#include "tollgate/verdict_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace tollgate {
namespace {

const std::string kEicar = std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$") + "EICAR-STANDARD-ANTIVIRUS-" + "TEST-FILE!$H+H*";

std::span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::shared_ptr<const ScannerSetup> SetupOf(const ScannerOptions& options) {
  auto setup = ScannerSetup::Create(options);
  EXPECT_TRUE(setup.ok()) << setup.status().ToString();
  return setup.ok() ? *setup : nullptr;
}

ScanReport ReportNamed(std::string name, std::vector<Finding> findings = {}) {
  ScanReport report;
  report.name = std::move(name);
  report.findings = std::move(findings);
  return report;
}

TEST(VerdictCacheKey, NamesEverythingThatDecidesAReport) {
  const auto shipped = SetupOf({});
  const std::string key = VerdictCacheKey("ab12", "invoice.pdf", *shipped);
  EXPECT_EQ(key, VerdictCacheKey("ab12", "invoice.pdf", *SetupOf({})));
  EXPECT_NE(key, VerdictCacheKey("ab13", "invoice.pdf", *shipped));
  EXPECT_NE(key, VerdictCacheKey("ab12", "invoice.pdf.exe", *shipped)) << "names decide type checks and YARA";

  ScannerOptions with_password;
  with_password.passwords = {"secret"};
  EXPECT_NE(key, VerdictCacheKey("ab12", "invoice.pdf", *SetupOf(with_password)));
  ScannerOptions smaller;
  smaller.limits.max_files = 10;
  EXPECT_NE(key, VerdictCacheKey("ab12", "invoice.pdf", *SetupOf(smaller)));
  ScannerOptions no_rules;
  const std::filesystem::path empty = std::filesystem::temp_directory_path() / "tollgate-cache-test-empty-bundle";
  std::filesystem::create_directories(empty);
  no_rules.rules_dir = empty.string();
  EXPECT_NE(key, VerdictCacheKey("ab12", "invoice.pdf", *SetupOf(no_rules))) << "another rules version";
  // The shipped policy under another file: the content decides, not the name.
  ScannerOptions other_policy;
  other_policy.policy_file = (std::filesystem::temp_directory_path() / "tollgate-cache-test-policy.toml").string();
  std::ifstream shipped_policy(std::filesystem::path(TOLLGATE_SOURCE_DIR) / "rules/policies/documents.toml");
  std::string policy((std::istreambuf_iterator<char>(shipped_policy)), {});
  policy.replace(policy.find("encrypted = \"block\""), 19, "encrypted = \"allow\"");
  std::ofstream(other_policy.policy_file) << policy;
  EXPECT_NE(key, VerdictCacheKey("ab12", "invoice.pdf", *SetupOf(other_policy)));
}

TEST(VerdictCache, ForgetsTheLeastRecentlyUsedFirst) {
  // Reports of about 10 KB each (their names): room for three.
  const auto report = [](char name) { return ReportNamed(std::string(10'000, name)); };
  auto cache = NewLocalVerdictCache(33'000);
  cache->Store("a", report('a'));
  cache->Store("b", report('b'));
  cache->Store("c", report('c'));
  ASSERT_TRUE(cache->Find("a"));  // a is now the most recently used
  cache->Store("d", report('d'));
  cache->Store("e", report('e'));
  EXPECT_TRUE(cache->Find("a"));
  EXPECT_FALSE(cache->Find("b"));
  EXPECT_FALSE(cache->Find("c"));
  ASSERT_TRUE(cache->Find("e"));
  EXPECT_EQ(cache->Find("e")->name, std::string(10'000, 'e'));
}

TEST(VerdictCache, KeepsNothingLargerThanItself) {
  auto cache = NewLocalVerdictCache(100);
  cache->Store("big", ReportNamed(std::string(1000, 'x')));
  EXPECT_FALSE(cache->Find("big"));
}

TEST(VerdictCache, ReportsOfScansCutShortForAReasonOfTheMomentAreNotKept) {
  for (const char* reason : {"timeout", "parser_crash", "memory_limit", "killed", "engine_error"}) {
    EXPECT_FALSE(IsCacheable(ReportNamed("x", {IncompleteFinding("tollgate", reason, ObjectPath("x"), "")}))) << reason;
  }
  for (const char* reason : {"encrypted", "limit", "max_files", "parse_error"}) {
    EXPECT_TRUE(IsCacheable(ReportNamed("x", {IncompleteFinding("tollgate", reason, ObjectPath("x"), "")}))) << reason;
  }
}

TEST(CachingRunner, TheSecondScanOfTheSameUploadIsALookupWithTheSameReport) {
  auto scanner = Scanner::Create(ScannerOptions{});
  ASSERT_TRUE(scanner.ok()) << scanner.status().ToString();
  auto cache = NewLocalVerdictCache(1 << 20);
  const auto runner = CachingRunner(InProcessRunner(std::move(*scanner)), cache);
  const auto never = std::chrono::steady_clock::time_point::max();

  auto first = runner->Run("uploads/eicar.com", Bytes(kEicar), never);
  auto second = runner->Run("again/eicar.com", Bytes(kEicar), never);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(first->cached);
  EXPECT_TRUE(second->cached);
  EXPECT_EQ(second->verdict, Verdict::kMalicious);
  EXPECT_EQ(second->findings, first->findings);
  EXPECT_EQ(second->deciding, first->deciding);
  EXPECT_EQ(second->sha256, first->sha256);
  EXPECT_TRUE(second->stages.empty());
  EXPECT_EQ(cache->hits.load(), 1u);
  EXPECT_EQ(cache->misses.load(), 1u);

  auto renamed = runner->Run("eicar.txt", Bytes(kEicar), never);
  ASSERT_TRUE(renamed.ok());
  EXPECT_FALSE(renamed->cached) << "another name";
}

TEST(CachingRunner, AScanThatRanOutOfTimeIsNotKept) {
  auto scanner = Scanner::Create(ScannerOptions{});
  ASSERT_TRUE(scanner.ok());
  auto cache = NewLocalVerdictCache(1 << 20);
  const auto runner = CachingRunner(InProcessRunner(std::move(*scanner)), cache);
  const std::string letter = "Dear customer, please find the invoice attached.\n";
  auto late = runner->Run("letter.txt", Bytes(letter), std::chrono::steady_clock::now() - std::chrono::seconds(1));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->verdict, Verdict::kIncomplete);
  auto again = runner->Run("letter.txt", Bytes(letter), std::chrono::steady_clock::time_point::max());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->cached);
  EXPECT_EQ(again->verdict, Verdict::kClean);
}

}  // namespace
}  // namespace tollgate
