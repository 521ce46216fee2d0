// `tollgate rules …` as an operator runs it: real binary, real keys, real engines. Every refused
// bundle leaves the previous version active, and `tollgate scan --rules-store` keeps using it.
#include <gtest/gtest.h>
#include <sys/file.h>

#include <fcntl.h>
#include <fmt/format.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "convert.h"
#include "scan_client.h"
#include "service_test_support.h"

namespace tollgate::testing {
namespace {

namespace fs = std::filesystem;
const std::string kTollgate = TOLLGATE_EXECUTABLE;

// Runs `tollgate ARGS` with standard error folded into the output (refusals are written there).
CommandResult Tollgate(const std::string& args) { return RunCommand(kTollgate + " " + args + " 2>&1"); }

// A YARA rule that detects the text "tollgate-marker-NAME", and a sample of it: a signature that a
// new bundle version adds.
std::string MarkerRule(const std::string& name) {
  return "rule Marker_" + name + " { meta: severity = \"high\" strings: $a = \"tollgate-marker-" + name +
         "\" condition: $a }\n";
}
std::string MarkerSample(const std::string& name) { return "payload: tollgate-marker-" + name + "\n"; }

class RulesUpdateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new TempDir();
    ASSERT_EQ(Tollgate("rules keygen --private " + Key("private.pem") + " --public " + Key("public.pem")).exit_code, 0);
    ASSERT_EQ(Tollgate("rules keygen --private " + Key("other.pem") + " --public " + Key("other.pub")).exit_code, 0);
  }
  static void TearDownTestSuite() { delete keys_; }
  static std::string Key(const std::string& name) { return (keys_->path() / name).string(); }

  void SetUp() override {
    // A small corpus keeps each update fast; one test below runs the generated corpus in full.
    for (const char* sample : {"malicious/eicar.com", "clean/letter.txt", "clean/invoice.csv", "malicious/cradle.zip"}) {
      fs::create_directories((corpus() / sample).parent_path());
      fs::copy_file(kCorpus / sample, corpus() / sample);
    }
  }

  fs::path store() const { return work_.path() / "store"; }
  fs::path corpus() const { return work_.path() / "corpus"; }

  // The shipped rules plus a rule per marker and `extra` files, with a self-test: EICAR is
  // malicious, a letter is clean, each marker's sample is malicious by its rule.
  fs::path MakeBundle(const std::string& name, const std::vector<std::string>& markers = {},
                      const std::vector<std::pair<std::string, std::string>>& extra = {},
                      const std::string& expectations = "") {
    const fs::path dir = work_.path() / name;
    fs::copy(TOLLGATE_DEFAULT_RULES_DIR, dir, fs::copy_options::recursive);
    WriteFile(dir / "selftest/samples/eicar.com", kEicar);
    WriteFile(dir / "selftest/samples/letter.txt", "Dear team, the meeting moves to Tuesday.\n");
    nlohmann::json expected = {
        {"samples/eicar.com", {{"verdict", "malicious"}, {"rules", {"Tollgate_EICAR", "Tollgate.Test.EICAR.UNOFFICIAL"}}}},
        {"samples/letter.txt", {{"verdict", "clean"}}}};
    for (const std::string& marker : markers) {
      WriteFile(dir / ("yara/marker_" + marker + ".yar"), MarkerRule(marker));
      WriteFile(dir / ("selftest/samples/marker-" + marker + ".txt"), MarkerSample(marker));
      expected["samples/marker-" + marker + ".txt"] = {{"verdict", "malicious"}, {"rules", {"Marker_" + marker}}};
    }
    for (const auto& [path, content] : extra) WriteFile(dir / path, content);
    WriteFile(dir / "selftest/expected.json", expectations.empty() ? expected.dump(2) : expectations);
    return dir;
  }

  CommandResult Sign(const fs::path& bundle, const std::string& version, const std::string& key = "private.pem") {
    return Tollgate("rules sign " + bundle.string() + " --key " + Key(key) + " --version " + version);
  }

  CommandResult Update(const fs::path& source, const std::string& corpus_flag = "") {
    return Tollgate("rules update --from " + source.string() + " --pubkey " + Key("public.pem") + " --store " +
                    store().string() + " " + (corpus_flag.empty() ? "--corpus " + corpus().string() : corpus_flag));
  }

  // Publishes version `version`: the shipped rules plus the markers' rules. Returns the
  // rules_version its verdicts report.
  std::string Install(const std::string& version, const std::vector<std::string>& markers = {}) {
    const fs::path bundle = MakeBundle("bundle-" + version, markers);
    EXPECT_EQ(Sign(bundle, version).exit_code, 0);
    const CommandResult result = Update(bundle);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    const std::string marker = "verdicts now report rules_version ";
    const size_t at = result.output.find(marker);
    return at == std::string::npos ? "" : result.output.substr(at + marker.size(), result.output.find('\n', at) - at - marker.size());
  }

  // The rules_version `tollgate scan --rules-store` reports, and the verdict of `sample`.
  std::pair<std::string, std::string> ScanWithStore(const std::string& content) {
    const fs::path sample = work_.path() / "sample.txt";
    WriteFile(sample, content);
    const CommandResult result = RunCommand(kTollgate + " scan --json --rules-store " + store().string() + " " + sample.string());
    std::istringstream lines(result.output);
    std::string first;
    std::getline(lines, first);
    const nlohmann::json report = nlohmann::json::parse(first, nullptr, false);
    if (report.is_discarded() || !report.contains("verdict")) return {"(no report) " + result.output, ""};
    return {report["rules_version"], report["verdict"]};
  }

  std::string ActiveVersion() {
    const CommandResult status = Tollgate("rules status --store " + store().string());
    return status.output.substr(0, status.output.find('\n'));
  }

  // The refused update left version 1 active, and scanning still uses it.
  void ExpectVersionOneStillServes() {
    EXPECT_EQ(ActiveVersion(), "active: 1");
    const auto [version, verdict] = ScanWithStore(kEicar);
    EXPECT_TRUE(version.starts_with("1+sha256:")) << version;
    EXPECT_EQ(verdict, "malicious");
    EXPECT_FALSE(fs::exists(store() / "versions/2"));
  }

  void HotReloadUnderContinuousScans(const std::string& mode);

  static TempDir* keys_;
  TempDir work_;
};

TempDir* RulesUpdateTest::keys_ = nullptr;

TEST_F(RulesUpdateTest, SignedBundleVerifiesWithItsKeyOnly) {
  const fs::path bundle = MakeBundle("b");
  const CommandResult signed_ = Sign(bundle, "2025.11.28.1");
  ASSERT_EQ(signed_.exit_code, 0) << signed_.output;
  EXPECT_TRUE(signed_.output.starts_with("tollgate rules sign: " + bundle.string() + " signed as version 2025.11.28.1 (9 files, key id "))
      << signed_.output;
  const CommandResult verified = Tollgate("rules verify " + bundle.string() + " --pubkey " + Key("public.pem"));
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verified.output.find(": version 2025.11.28.1, created "), std::string::npos) << verified.output;
  const CommandResult other = Tollgate("rules verify " + bundle.string() + " --pubkey " + Key("other.pub"));
  EXPECT_EQ(other.exit_code, 10);
  EXPECT_TRUE(other.output.starts_with("tollgate rules verify: refused: bad signature: manifest.sig does not verify with key "))
      << other.output;
}

TEST_F(RulesUpdateTest, UpdatePublishesAndScanUsesTheActiveVersion) {
  EXPECT_EQ(RunCommand(kTollgate + " scan --rules-store " + store().string() + " /dev/null 2>&1").exit_code, 2)
      << "a store without an active version is an operational error";
  const fs::path bundle = MakeBundle("b1");
  ASSERT_EQ(Sign(bundle, "1").exit_code, 0);
  const CommandResult first = Update(bundle);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("tollgate rules update: self-test passed: 2 samples\n"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("tollgate rules update: corpus: 4 samples, none changed between clean and not clean "
                              "against the shipped rules"),
            std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("tollgate rules update: published 1 (previous: none); verdicts now report rules_version 1+sha256:"),
            std::string::npos)
      << first.output;
  EXPECT_EQ(ScanWithStore(MarkerSample("A")).second, "clean");

  const fs::path next = MakeBundle("b2", {"A"});
  ASSERT_EQ(Sign(next, "2").exit_code, 0);
  const CommandResult second = Update(next);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("self-test passed: 3 samples"), std::string::npos);
  EXPECT_NE(second.output.find("against the active version 1 ("), std::string::npos) << second.output;
  const auto [version, verdict] = ScanWithStore(MarkerSample("A"));
  EXPECT_TRUE(version.starts_with("2+sha256:")) << version;
  EXPECT_EQ(verdict, "malicious");
  EXPECT_EQ(Tollgate("rules status --store " + store().string()).output, "active: 2\ninstalled: 1\ninstalled: 2 (active)\n");
}

TEST_F(RulesUpdateTest, RunningTheSameUpdateAgainDoesNothing) {
  Install("1");
  const CommandResult again = Update(work_.path() / "bundle-1");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("tollgate rules update: version 1 is active already; nothing to do\n"), std::string::npos)
      << again.output;
}

TEST_F(RulesUpdateTest, RefusesATamperedFile) {
  Install("1");
  const fs::path bundle = MakeBundle("b2");
  ASSERT_EQ(Sign(bundle, "2").exit_code, 0);
  WriteFile(bundle / "yara/eicar.yar", "rule Tampered { condition: true }\n");
  const CommandResult result = Update(bundle);
  EXPECT_EQ(result.exit_code, 12) << result.output;
  EXPECT_NE(result.output.find("tollgate rules update: refused: integrity: yara/eicar.yar: SHA-256 "), std::string::npos)
      << result.output;
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, RefusesAFileNotInTheManifest) {
  Install("1");
  const fs::path bundle = MakeBundle("b2");
  ASSERT_EQ(Sign(bundle, "2").exit_code, 0);
  WriteFile(bundle / "clamav/smuggled.ndb", "Smuggled:0:*:41414141\n");
  const CommandResult result = Update(bundle);
  EXPECT_EQ(result.exit_code, 12) << result.output;
  EXPECT_NE(result.output.find("refused: integrity: clamav/smuggled.ndb: not in the manifest"), std::string::npos)
      << result.output;
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, RefusesABadSignature) {
  Install("1");
  const fs::path bundle = MakeBundle("b2");
  ASSERT_EQ(Sign(bundle, "2", "other.pem").exit_code, 0);
  const CommandResult result = Update(bundle);
  EXPECT_EQ(result.exit_code, 10) << result.output;
  EXPECT_NE(result.output.find("refused: bad signature: manifest.sig does not verify with key "), std::string::npos)
      << result.output;
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, RefusesADowngradeAndAChangedBundleUnderTheActiveVersion) {
  Install("2");
  const fs::path older = MakeBundle("older");
  ASSERT_EQ(Sign(older, "1.9").exit_code, 0);
  CommandResult result = Update(older);
  EXPECT_EQ(result.exit_code, 14) << result.output;
  EXPECT_NE(result.output.find("refused: not newer: version 1.9 is older than the active version 2\n"), std::string::npos)
      << result.output;
  const fs::path same = MakeBundle("same", {"A"});
  ASSERT_EQ(Sign(same, "2.0").exit_code, 0);
  result = Update(same);
  EXPECT_EQ(result.exit_code, 14) << result.output;
  EXPECT_NE(result.output.find("refused: not newer: version 2.0 is the active version already, with different content"),
            std::string::npos)
      << result.output;
  EXPECT_EQ(ActiveVersion(), "active: 2");
  EXPECT_TRUE(ScanWithStore(kEicar).first.starts_with("2+sha256:"));
}

TEST_F(RulesUpdateTest, RefusesARuleThatDoesNotCompile) {
  Install("1");
  const fs::path bundle = MakeBundle("b2", {}, {{"yara/broken.yar", "rule Broken { strings: $a = \"x\" condition: $b }\n"}});
  ASSERT_EQ(Sign(bundle, "2").exit_code, 0);
  const CommandResult result = Update(bundle);
  EXPECT_EQ(result.exit_code, 16) << result.output;
  EXPECT_NE(result.output.find("refused: compile failed: yara: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("broken.yar"), std::string::npos) << result.output;
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, RefusesABundleWhoseSelfTestFails) {
  Install("1");
  // The expectation names a rule the bundle does not have.
  const std::string expectations = R"({"samples/eicar.com": {"verdict": "malicious", "rules": ["Acme_Missing"]},
                                       "samples/letter.txt": {"verdict": "clean"}})";
  const fs::path bundle = MakeBundle("b2", {}, {}, expectations);
  ASSERT_EQ(Sign(bundle, "2").exit_code, 0);
  CommandResult result = Update(bundle);
  EXPECT_EQ(result.exit_code, 17) << result.output;
  EXPECT_NE(result.output.find("refused: self-test failed: selftest/samples/eicar.com: malicious as expected, but rule "
                               "Acme_Missing did not match (got malicious ("),
            std::string::npos)
      << result.output;
  ExpectVersionOneStillServes();

  // A sample the rules miss.
  const fs::path missing = MakeBundle("b3", {}, {}, R"({"samples/letter.txt": {"verdict": "malicious"}, "samples/eicar.com": {"verdict": "malicious"}})");
  ASSERT_EQ(Sign(missing, "2").exit_code, 0);
  result = Update(missing);
  EXPECT_EQ(result.exit_code, 17) << result.output;
  EXPECT_NE(result.output.find("refused: self-test failed: selftest/samples/letter.txt: expected malicious, got clean\n"),
            std::string::npos)
      << result.output;
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, RefusesABundleWithoutASelfTest) {
  Install("1");
  const fs::path bundle = MakeBundle("b2");
  fs::remove_all(bundle / "selftest");
  ASSERT_EQ(Sign(bundle, "2").exit_code, 0);
  const CommandResult result = Update(bundle);
  EXPECT_EQ(result.exit_code, 17) << result.output;
  EXPECT_NE(result.output.find("refused: self-test failed: the bundle has no readable selftest/expected.json"),
            std::string::npos)
      << result.output;
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, RefusesARuleThatBlocksACleanCorpusSample) {
  Install("1");
  // The corpus letter says this: a rule that blocks a known-good file.
  const fs::path bundle = MakeBundle("b2", {}, {{"hyperscan/greedy.pat", "Acme.Greedy high /find the invoice/i\n"}});
  ASSERT_EQ(Sign(bundle, "2").exit_code, 0);
  const CommandResult result = Update(bundle);
  EXPECT_EQ(result.exit_code, 18) << result.output;
  EXPECT_NE(result.output.find("refused: corpus regression: 1 corpus sample(s) changed between clean and not clean: "
                               "clean/letter.txt: clean with the active version 1, malicious (Acme.Greedy) with the new bundle"),
            std::string::npos)
      << result.output;
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, RefusesCompiledYaraRulesEvenWhenSigned) {
  Install("1");
  const fs::path bundle = MakeBundle("b2");
  const CommandResult compiled = RunCommand("yarac " + (bundle / "yara/eicar.yar").string() + " " +
                                            (bundle / "yara/eicar.yarc").string() + " 2>&1");
  ASSERT_EQ(compiled.exit_code, 0) << compiled.output;
  const CommandResult sign = Sign(bundle, "2");
  EXPECT_EQ(sign.exit_code, 13) << sign.output;
  EXPECT_EQ(sign.output, "tollgate rules sign: refused: forbidden content: yara/eicar.yarc: compiled YARA rules; bundles "
                         "carry rule sources, which Tollgate compiles itself\n");

  // Whoever holds the key can sign without `rules sign`: the manifest and signature made by hand.
  fs::rename(bundle / "yara/eicar.yarc", work_.path() / "eicar.yarc");
  ASSERT_EQ(Sign(bundle, "2").exit_code, 0);
  fs::rename(work_.path() / "eicar.yarc", bundle / "yara/eicar.yarc");
  nlohmann::json manifest = nlohmann::json::parse(ReadFile(bundle / "manifest.json"));
  const std::string hash = RunCommand("sha256sum " + (bundle / "yara/eicar.yarc").string()).output.substr(0, 64);
  manifest["files"]["yara/eicar.yarc"] = hash;
  WriteFile(bundle / "manifest.json", manifest.dump(2));
  const std::string sig = (work_.path() / "manifest.sig.bin").string();
  ASSERT_EQ(RunCommand("openssl pkeyutl -sign -rawin -inkey " + Key("private.pem") + " -in " + (bundle / "manifest.json").string() +
                       " -out " + sig + " && base64 -w0 " + sig + " > " + (bundle / "manifest.sig").string())
                .exit_code,
            0);
  ASSERT_EQ(Tollgate("rules verify " + bundle.string() + " --pubkey " + Key("public.pem")).exit_code, 13);
  const CommandResult result = Update(bundle);
  EXPECT_EQ(result.exit_code, 13) << result.output;
  EXPECT_NE(result.output.find("refused: forbidden content: yara/eicar.yarc: compiled YARA rules"), std::string::npos)
      << result.output;
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, RollbackReturnsToThePreviousVersionAndWithdrawsTheCurrentOne) {
  Install("1");
  Install("2", {"A"});
  EXPECT_EQ(ScanWithStore(MarkerSample("A")).second, "malicious");
  const CommandResult rollback = Tollgate("rules rollback --store " + store().string());
  EXPECT_EQ(rollback.exit_code, 0) << rollback.output;
  EXPECT_EQ(rollback.output, "tollgate rules rollback: 1 is active again; 2 is withdrawn and will not be installed again\n");
  EXPECT_FALSE(fs::exists(store() / "compiled/2"));
  EXPECT_TRUE(fs::exists(store() / "compiled/1/hyperscan.db"));
  EXPECT_EQ(ScanWithStore(MarkerSample("A")).second, "clean");
  // A timer re-running the same source must not bring the withdrawn version back.
  const CommandResult again = Update(work_.path() / "bundle-2");
  EXPECT_EQ(again.exit_code, 15) << again.output;
  EXPECT_NE(again.output.find("refused: withdrawn version: version 2 was rolled back on this store; publish it under a "
                              "newer version"),
            std::string::npos)
      << again.output;
  const CommandResult none = Tollgate("rules rollback --store " + store().string());
  EXPECT_EQ(none.exit_code, 19) << none.output;
  EXPECT_EQ(none.output, "tollgate rules rollback: refused: no previous version: no version older than 1 is kept in " +
                             store().string() + "\n");
  ExpectVersionOneStillServes();
}

TEST_F(RulesUpdateTest, UpdatesRollbacksAndRefusalsGoToTheAuditLog) {
  const fs::path audit_key = work_.path() / "audit.key";
  ASSERT_TRUE(MakeAuditKeyPair(audit_key, work_.path() / "audit.pub"));
  const fs::path audit_dir = work_.path() / "audit";
  const std::string audit = " --audit-dir " + audit_dir.string() + " --audit-key " + audit_key.string();
  for (const std::string version : {"1", "2"}) {
    const fs::path bundle = MakeBundle("bundle-" + version);
    ASSERT_EQ(Sign(bundle, version).exit_code, 0);
    const CommandResult update = Tollgate("rules update --from " + bundle.string() + " --pubkey " + Key("public.pem") +
                                          " --store " + store().string() + " --corpus " + corpus().string() + audit);
    ASSERT_EQ(update.exit_code, 0) << update.output;
  }
  const CommandResult downgrade = Tollgate("rules update --from " + (work_.path() / "bundle-1").string() + " --pubkey " +
                                           Key("public.pem") + " --store " + store().string() + " --no-corpus" + audit);
  EXPECT_EQ(downgrade.exit_code, 14) << downgrade.output;
  const CommandResult rollback = Tollgate("rules rollback --store " + store().string() + audit);
  EXPECT_EQ(rollback.exit_code, 0) << rollback.output;

  const CommandResult report = RunCommand(kTollgate + " audit report --json " + audit_dir.string());
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const nlohmann::json changes = nlohmann::json::parse(report.output)["rule_changes"];
  ASSERT_EQ(changes.size(), 4u) << changes.dump();
  EXPECT_EQ(changes[0]["type"], "rules_update");
  EXPECT_EQ(changes[0]["version"], "1");
  EXPECT_EQ(changes[0]["previous_version"], "none");
  EXPECT_EQ(changes[1]["type"], "rules_update");
  EXPECT_EQ(changes[1]["version"], "2");
  EXPECT_EQ(changes[1]["previous_version"], "1");
  EXPECT_EQ(changes[2]["type"], "rules_refused");
  EXPECT_NE(changes[2]["detail"].get<std::string>().find("not newer: version 1 is older than the active version 2"),
            std::string::npos)
      << changes[2].dump();
  EXPECT_EQ(changes[3]["type"], "rules_rollback");
  EXPECT_EQ(changes[3]["version"], "1");
  EXPECT_EQ(changes[3]["previous_version"], "2");

  // An audit log that cannot be opened stops the update before it changes anything.
  fs::permissions(audit_key, fs::perms::owner_read | fs::perms::others_read);
  const fs::path bundle = MakeBundle("bundle-3");
  ASSERT_EQ(Sign(bundle, "3").exit_code, 0);
  const CommandResult refused = Tollgate("rules update --from " + bundle.string() + " --pubkey " + Key("public.pem") +
                                         " --store " + store().string() + " --no-corpus" + audit);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_EQ(ActiveVersion(), "active: 1");
}

TEST_F(RulesUpdateTest, KeepsTheLastNVersions) {
  for (const char* version : {"1", "2", "3", "4"}) Install(version);
  EXPECT_EQ(Tollgate("rules status --store " + store().string()).output,
            "active: 4\ninstalled: 2\ninstalled: 3\ninstalled: 4 (active)\n");
  // Each kept version's compiled Hyperscan database goes with it; the pruned one's is deleted.
  std::vector<std::string> compiled;
  for (const auto& entry : fs::directory_iterator(store() / "compiled")) {
    if (fs::exists(entry.path() / "hyperscan.db")) compiled.push_back(entry.path().filename().string());
  }
  std::sort(compiled.begin(), compiled.end());
  EXPECT_EQ(compiled, (std::vector<std::string>{"2", "3", "4"}));
}

TEST_F(RulesUpdateTest, AnUpdateWhileAnotherHoldsTheLockIsRefusedAsBusy) {
  Install("1");
  fs::create_directories(store());
  const int fd = ::open((store() / "lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  const fs::path bundle = MakeBundle("b2");
  ASSERT_EQ(Sign(bundle, "2").exit_code, 0);
  const CommandResult busy = Update(bundle);
  ::close(fd);
  EXPECT_EQ(busy.exit_code, 3) << busy.output;
  EXPECT_NE(busy.output.find("tollgate rules update: store busy: rules store " + store().string() +
                             " is locked by another update or rollback"),
            std::string::npos)
      << busy.output;
  EXPECT_EQ(Update(bundle).exit_code, 0);
}

TEST_F(RulesUpdateTest, AcceptsAZipArchiveHoldingTheBundleInOneFolder) {
  const fs::path bundle = MakeBundle("bundle-7");
  ASSERT_EQ(Sign(bundle, "7").exit_code, 0);
  const fs::path archive = work_.path() / "bundle-7.zip";
  ASSERT_EQ(RunCommand("cd " + work_.path().string() + " && zip -qr " + archive.string() + " bundle-7").exit_code, 0);
  const CommandResult result = Update(archive);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(ActiveVersion(), "active: 7");
}

TEST_F(RulesUpdateTest, TheGeneratedCorpusDoesNotRegressWithTheShippedRulesSigned) {
  const fs::path bundle = MakeBundle("b1", {"A"});
  ASSERT_EQ(Sign(bundle, "1").exit_code, 0);
  const CommandResult result = Update(bundle, "--corpus " + kCorpus.string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("none changed between clean and not clean against the shipped rules"), std::string::npos)
      << result.output;
}

TEST_F(RulesUpdateTest, ServeSwapsRulesUnderContinuousScansWithoutFailingACall) {
  HotReloadUnderContinuousScans("overlap");
}

// The same with the running rules released before the next are built: scans wait instead of failing.
TEST_F(RulesUpdateTest, ServeDrainsForAReloadWithoutFailingACall) { HotReloadUnderContinuousScans("drain"); }

// The store and the server stay in step when the sandbox is lost: after kill -9 of the fork server
// (its zygote and workers die with it), the server heals, and the next update goes live as usual.
TEST_F(RulesUpdateTest, ServeFollowsTheStoreAfterItsForkServerIsKilled) {
  Install("1");
  ServeProcess serve({"--listen", "127.0.0.1:0", "--rules-store", store().string(), "--workers", "2", "--no-cache"});
  ASSERT_GT(serve.port(), 0) << serve.Log();
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
  service::ClientOptions client_options;
  client_options.target = fmt::format("127.0.0.1:{}", serve.port());
  auto client = service::ScanClient::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  // The report of `content` once the server scans it, whole, with rules whose version starts with
  // `version` (tried for 10 s at most).
  auto scan_until_served = [&](const std::string& content, const std::string& version) {
    const auto since = std::chrono::steady_clock::now();
    ScanReport report;
    while (std::chrono::steady_clock::now() - since < std::chrono::seconds(10)) {
      auto response = (*client)->Scan("sample.txt", content);
      if (response.ok()) {
        report = service::FromProto(*response);
        if (report.rules_version.starts_with(version) && report.verdict != Verdict::kIncomplete) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return report;
  };

  const std::set<pid_t> fork_servers = DescendantsNamed(serve.pid(), "tollgate-forks");
  ASSERT_EQ(fork_servers.size(), 1u);
  ::kill(*fork_servers.begin(), SIGKILL);
  const ScanReport healed = scan_until_served(kEicar, "1+sha256:");
  EXPECT_EQ(healed.verdict, Verdict::kMalicious) << serve.Log();
  EXPECT_TRUE(healed.rules_version.starts_with("1+sha256:")) << healed.rules_version;
  EXPECT_EQ(ActiveVersion(), "active: 1");

  const std::string second = Install("2", {"A"});
  ASSERT_FALSE(second.empty());
  const ScanReport marker = scan_until_served(MarkerSample("A"), second);
  EXPECT_EQ(marker.rules_version, second) << serve.Log();
  EXPECT_EQ(marker.verdict, Verdict::kMalicious);
  EXPECT_EQ(ActiveVersion(), "active: 2");
  // The replacement fork server was started from version 1's pool, which has ended by now: the
  // fork server, and version 2's zygote with it, must outlive that pool (time for its supervisor
  // to notice a loss, were there one).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto after = (*client)->Scan("sample.txt", MarkerSample("A"));
  ASSERT_TRUE(after.ok()) << after.status().ToString() << serve.Log();
  EXPECT_EQ(after->rules_version(), second);
  const std::string log = serve.Log();
  EXPECT_EQ(log.find("rules_reload_failed"), std::string::npos) << log;
  EXPECT_NE(log.find("\"event\":\"sandbox_restored\""), std::string::npos) << log;
  const std::string lost = "\"event\":\"sandbox_lost\"";
  EXPECT_EQ(log.find(lost), log.rfind(lost)) << "the sandbox was lost again after the kill: " << log;
  EXPECT_EQ(DescendantsNamed(serve.pid(), "tollgate-forks").size(), 1u);
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.WaitExit(std::chrono::seconds(60)), 0) << serve.Log();
}

// A running `tollgate serve --rules-store --reload-mode MODE` follows the store while clients scan
// without pause: three updates, two refused bundles and one rollback. No call fails, every verdict
// matches exactly the rules of the one version it reports, and a new rule detects its sample within
// 5 s of `update` returning.
void RulesUpdateTest::HotReloadUnderContinuousScans(const std::string& mode) {
  std::map<std::string, std::set<std::string>> markers_of;  // rules_version -> markers it detects
  markers_of[Install("1")] = {};
  ServeProcess serve({"--listen", "127.0.0.1:0", "--rules-store", store().string(), "--max-concurrent", "16",
                      "--reload-mode", mode});
  const int port = serve.port();
  ASSERT_GT(port, 0) << serve.Log();
  ASSERT_TRUE(serve.WaitForEvent("serving")) << serve.Log();
  // The sandboxed workers of the first version: every update replaces them all.
  const std::set<pid_t> first_workers = WorkersOf(serve.pid());
  EXPECT_EQ(first_workers.size(), 16u);
  service::ClientOptions client_options;
  client_options.target = fmt::format("127.0.0.1:{}", port);
  auto connected = service::ScanClient::Connect(client_options);
  ASSERT_TRUE(connected.ok()) << connected.status().ToString();
  const service::ScanClient& client = **connected;

  struct Result {
    std::string sample, rules_version, verdict;
    std::set<std::string> rules;
  };
  const std::vector<std::string> samples = {"A", "B", "C", "letter", "eicar"};
  auto content_of = [](const std::string& sample) {
    return sample == "letter" ? std::string("Dear team, the meeting moves to Tuesday.\n")
           : sample == "eicar" ? std::string(kEicar)
                               : MarkerSample(sample);
  };
  auto scan = [&](const std::string& sample) -> std::optional<Result> {
    auto response = client.Scan(sample + ".txt", content_of(sample));
    if (!response.ok()) return std::nullopt;
    const ScanReport report = service::FromProto(*response);
    Result result{sample, report.rules_version, std::string(ToString(report.verdict)), {}};
    for (const Finding& finding : report.findings) result.rules.insert(finding.rule);
    return result;
  };

  std::mutex mutex;
  std::vector<Result> results;
  std::vector<std::string> failures;
  std::atomic<bool> stop{false};
  std::vector<std::thread> scanners;
  for (int t = 0; t < 3; ++t) {
    scanners.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); !stop.load(); ++i) {
        const std::string& sample = samples[i % samples.size()];
        auto result = scan(sample);
        std::lock_guard lock(mutex);
        if (result) {
          results.push_back(std::move(*result));
        } else {
          failures.push_back(sample);
        }
      }
    });
  }

  // Scans `sample` until the server answers with `rules_version`; how long that took after `since`.
  auto seconds_until = [&](const std::string& sample, const std::string& rules_version, auto since) {
    while (std::chrono::steady_clock::now() - since < std::chrono::seconds(20)) {
      if (auto result = scan(sample); result && result->rules_version == rules_version) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
  };

  std::set<std::string> markers;
  std::string active;
  for (const std::string marker : {"A", "B", "C"}) {
    markers.insert(marker);
    active = Install(std::to_string(markers.size() + 1), {markers.begin(), markers.end()});
    markers_of[active] = markers;
    const double latency = seconds_until(marker, active, std::chrono::steady_clock::now());
    EXPECT_LT(latency, 5.0) << "rule Marker_" << marker;
    std::printf("%s: update %zu: the new rule detected its sample %.3f s after update returned\n", mode.c_str(),
                markers.size() + 1, latency);
  }

  // Refused bundles change nothing for the running server.
  const fs::path tampered = MakeBundle("tampered", {"D"});
  ASSERT_EQ(Sign(tampered, "5").exit_code, 0);
  WriteFile(tampered / "yara/marker_D.yar", "rule Tampered { condition: true }\n");
  EXPECT_EQ(Update(tampered).exit_code, 12);
  const fs::path broken = MakeBundle("broken", {"D"}, {{"yara/broken.yar", "rule Broken { condition: $b }\n"}});
  ASSERT_EQ(Sign(broken, "5").exit_code, 0);
  EXPECT_NE(Update(broken).exit_code, 0);
  const auto still = scan("C");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->rules_version, active);
  EXPECT_EQ(still->verdict, "malicious");

  // Rollback: version 3 again, so C's sample is clean once more.
  const CommandResult rollback = Tollgate("rules rollback --store " + store().string());
  ASSERT_EQ(rollback.exit_code, 0) << rollback.output;
  std::string previous;
  for (const auto& [version, detected] : markers_of) {
    if (detected == std::set<std::string>{"A", "B"}) previous = version;
  }
  EXPECT_LT(seconds_until("C", previous, std::chrono::steady_clock::now()), 5.0);
  // SIGHUP checks the store at once; with nothing new it changes nothing (and does not stop the server).
  serve.Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop.store(true);
  for (std::thread& thread : scanners) thread.join();

  EXPECT_TRUE(failures.empty()) << failures.size() << " calls failed, the first for sample " << failures.front()
                                << "\n" << serve.Log();
  ASSERT_GT(results.size(), 50u);
  std::map<std::string, size_t> per_version;
  for (const Result& result : results) {
    const auto version = markers_of.find(result.rules_version);
    ASSERT_NE(version, markers_of.end()) << "verdict from an unknown rules_version " << result.rules_version;
    ++per_version[result.rules_version];
    const bool marker = result.sample.size() == 1;
    const bool detected = marker ? version->second.contains(result.sample) : result.sample == "eicar";
    EXPECT_EQ(result.verdict, detected ? "malicious" : "clean") << result.sample << " under " << result.rules_version;
    if (marker) {
      EXPECT_EQ(result.rules.contains("Marker_" + result.sample), detected) << result.rules_version;
    }
  }
  EXPECT_EQ(per_version.size(), 4u) << "every version served some of the continuous scans";
  size_t reloads = 0, drains = 0;
  for (const nlohmann::json& line : JsonLines(serve.Log())) {
    reloads += line.value("event", "") == "rules_reloaded";
    drains += line.value("event", "") == "rules_draining";
  }
  EXPECT_EQ(reloads, 4u) << serve.Log();
  EXPECT_EQ(drains, mode == "drain" ? 4u : 0u) << serve.Log();
  // Once the scans are done, only the last version's workers are left, and none of the first's.
  const std::set<pid_t> last_workers = WorkersOf(serve.pid());
  EXPECT_EQ(last_workers.size(), 16u) << serve.Log();
  for (pid_t pid : first_workers) EXPECT_FALSE(last_workers.contains(pid)) << "worker " << pid << " outlived its rules";
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.WaitExit(std::chrono::seconds(60)), 0) << serve.Log();
}

}  // namespace
}  // namespace tollgate::testing
