// `tollgate scan` as an operator runs it: real binary, real corpus, exact verdicts and findings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "test_support.h"

namespace tollgate::testing {
namespace {

const std::string kTollgate = TOLLGATE_EXECUTABLE;

using FindingKey = std::tuple<std::string, std::string, std::string>;  // engine, rule, object

std::multiset<FindingKey> FindingKeys(const nlohmann::json& findings) {
  std::multiset<FindingKey> keys;
  for (const auto& f : findings) {
    if (f.is_array()) {
      keys.emplace(f[0], f[1], f[2]);
    } else {
      keys.emplace(f["engine"], f["rule"], f["object"]);
    }
  }
  return keys;
}

TEST(CliScan, CorpusVerdictsAndFindingsMatchTheExpectationsExactly) {
  const nlohmann::json expectations =
      nlohmann::json::parse(ReadFile(std::filesystem::path(TOLLGATE_SOURCE_DIR) / "corpus" / "expectations.json"));
  const CommandResult result = RunCommand(kTollgate + " scan --json --jobs 2 " + kCorpus.string());
  EXPECT_EQ(result.exit_code, 1) << "the corpus holds blocked samples";
  const std::vector<nlohmann::json> lines = JsonLines(result.output);
  ASSERT_EQ(lines.size(), expectations.size() + 1) << result.output;

  size_t blocked = 0;
  std::set<std::string> seen;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    const nlohmann::json& line = lines[i];
    const std::string sample = std::filesystem::relative(line.at("path").get<std::string>(), kCorpus).string();
    ASSERT_TRUE(expectations.contains(sample)) << "unexpected sample " << sample;
    seen.insert(sample);
    const nlohmann::json& expected = expectations[sample];
    EXPECT_EQ(line.at("verdict"), expected.at("verdict")) << sample;
    EXPECT_EQ(line.at("action"), expected.at("verdict") == "clean" ? "allow" : "block") << sample;
    EXPECT_EQ(FindingKeys(line.at("findings")), FindingKeys(expected.at("findings"))) << sample;
    for (const char* key : {"sha256", "type", "size", "rules_version", "duration_ms", "layers"}) {
      EXPECT_TRUE(line.contains(key)) << key;
    }
    for (const auto& finding : line.at("findings")) {
      for (const char* key : {"engine", "rule", "severity", "object", "deciding"}) EXPECT_TRUE(finding.contains(key));
    }
    blocked += line.at("action") == "block";
  }
  EXPECT_EQ(seen.size(), expectations.size());

  const nlohmann::json& summary = lines.back().at("summary");
  EXPECT_EQ(summary.at("files"), expectations.size());
  EXPECT_EQ(summary.at("blocked"), blocked);
  EXPECT_EQ(summary.at("errors"), 0);
}

TEST(CliScan, ReportsTheSha256SizeAndTypeOfTheFile) {
  const CommandResult result = RunCommand(kTollgate + " scan --json " + (kCorpus / "malicious/eicar.com").string());
  const auto lines = JsonLines(result.output);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["sha256"], "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
  EXPECT_EQ(lines[0]["size"], 68);
  EXPECT_EQ(lines[0]["type"], "text/plain");
}

TEST(CliScan, HumanOutputIsClamscanStyle) {
  const CommandResult clean = RunCommand(kTollgate + " scan " + (kCorpus / "clean").string());
  EXPECT_EQ(clean.exit_code, 0);
  EXPECT_NE(clean.output.find((kCorpus / "clean/letter.txt").string() + ": OK\n"), std::string::npos) << clean.output;
  EXPECT_NE(clean.output.find("----------- SCAN SUMMARY -----------"), std::string::npos);
  EXPECT_NE(clean.output.find("Scanned files: 5\n"), std::string::npos);
  EXPECT_NE(clean.output.find("Blocked files: 0\n"), std::string::npos);

  const CommandResult found = RunCommand(kTollgate + " scan " + (kCorpus / "malicious/nested.zip").string());
  EXPECT_EQ(found.exit_code, 1);
  EXPECT_NE(found.output.find((kCorpus / "malicious/nested.zip").string() + ": Tollgate.Test.EICAR.UNOFFICIAL FOUND\n"),
            std::string::npos)
      << found.output;
  EXPECT_NE(found.output.find("yara Tollgate_EICAR [high] in nested.zip>docs/inner.zip>eicar.com"), std::string::npos)
      << found.output;
}

TEST(CliScan, AnEmptyRuleBundleIsValid) {
  TempDir empty;
  const CommandResult result = RunCommand(kTollgate + " scan --rules " + empty.path().string() + " " +
                                          (kCorpus / "malicious/eicar.com").string());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("eicar.com: OK"), std::string::npos);
}

TEST(CliScan, ExtraRuleFilesAddToTheBundle) {
  TempDir empty, extra;
  WriteFile(extra.path() / "x.pat", "Extra.Letter low /invoice for november/i\n");
  WriteFile(extra.path() / "x.yar", "rule Extra_Csv { strings: $a = \"toner\" condition: $a }\n");
  WriteFile(extra.path() / "x.hdb", "44d88612fea8a8f36de82e1278abb02f:68:Extra.Eicar.Hash\n");
  const std::string options = " --rules " + empty.path().string() + " --patterns " + (extra.path() / "x.pat").string() +
                              " --yara " + (extra.path() / "x.yar").string() + " --clamav-db " +
                              (extra.path() / "x.hdb").string();
  const CommandResult result = RunCommand(kTollgate + " scan --json" + options + " " + (kCorpus / "clean").string() +
                                          " " + (kCorpus / "malicious/eicar.com").string());
  EXPECT_EQ(result.exit_code, 1);
  std::map<std::string, std::multiset<FindingKey>> by_file;
  for (const auto& line : JsonLines(result.output)) {
    if (line.contains("path")) by_file[std::filesystem::path(line["path"].get<std::string>()).filename()] = FindingKeys(line["findings"]);
  }
  EXPECT_EQ(by_file["letter.txt"], (std::multiset<FindingKey>{{"hyperscan", "Extra.Letter", "letter.txt"}}));
  EXPECT_EQ(by_file["invoice.csv"], (std::multiset<FindingKey>{{"yara", "Extra_Csv", "invoice.csv"}}));
  EXPECT_EQ(by_file["eicar.com"], (std::multiset<FindingKey>{{"clamav", "Extra.Eicar.Hash.UNOFFICIAL", "eicar.com"}}));
}

TEST(CliScan, OperationalErrorsExitWithTwoAndSayWhy) {
  EXPECT_EQ(RunCommand(kTollgate + " scan --no-such-option x 2>/dev/null").exit_code, 2);
  EXPECT_EQ(RunCommand(kTollgate + " 2>/dev/null").exit_code, 2);

  TempDir bundle;
  WriteFile(bundle.path() / "yara/broken.yar", "rule Broken {\n condition: nonsense_identifier\n}\n");
  const CommandResult broken =
      RunCommand(kTollgate + " scan --rules " + bundle.path().string() + " " + kCorpus.string() + " 2>&1");
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.output.find("cannot start the scanner: INVALID_ARGUMENT: yara: "), std::string::npos) << broken.output;
  EXPECT_NE(broken.output.find("broken.yar:2"), std::string::npos) << broken.output;

  const CommandResult missing = RunCommand(kTollgate + " scan " + kCorpus.string() + "/no-such-file");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("no-such-file: No such file or directory ERROR"), std::string::npos) << missing.output;
}

TEST(CliScan, APolicyFileChangesVerdictsAndActions) {
  TempDir dir;
  WriteFile(dir.path() / "policy.toml", R"(name = "cradles-allowed"
[[override]]
engine = "hyperscan"
rule = "Tollgate.Doc.PowerShell*"
verdict = "clean"
[[override]]
engine = "tollgate"
rule = "Tollgate.Type.Script"
verdict = "clean"
)");
  const std::string sample = (kCorpus / "malicious/cradle.zip").string();
  const CommandResult allowed = RunCommand(kTollgate + " scan --policy " + (dir.path() / "policy.toml").string() + " " + sample);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
  EXPECT_NE(allowed.output.find("Policy: cradles-allowed\n"), std::string::npos) << allowed.output;
  EXPECT_EQ(RunCommand(kTollgate + " scan " + sample).exit_code, 1);

  WriteFile(dir.path() / "broken.toml", "name = \"x\"\n[severity]\nhigh = \"bad\"\n");
  const CommandResult broken =
      RunCommand(kTollgate + " scan --policy " + (dir.path() / "broken.toml").string() + " " + sample + " 2>&1");
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.output.find("severity.high: expected one of"), std::string::npos) << broken.output;
}

// The report of `tollgate scan --json --password P…` on a sample every password test expects blocked.
nlohmann::json ScanWithPasswords(const std::string& sample, const std::vector<std::string>& passwords) {
  std::string command = kTollgate + " scan --json";
  for (const std::string& password : passwords) command += " --password " + password;
  const CommandResult result = RunCommand(command + " " + sample);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(result.output.find("tollgate-test"), std::string::npos) << "a password must never be printed";
  const auto lines = JsonLines(result.output);
  EXPECT_EQ(lines.size(), 2u) << result.output;
  return lines.empty() ? nlohmann::json::object() : lines[0];
}

TEST(CliScan, PasswordsAreTriedInOrderAndEveryAttemptIsRecorded) {
  const std::string sample = (kCorpus / "threats/encrypted_eicar.zip").string();
  const nlohmann::json report = ScanWithPasswords(sample, {"wrong-one", "tollgate-test"});
  EXPECT_EQ(report["verdict"], "malicious");
  std::vector<std::string> attempts;
  std::set<std::string> engines;
  for (const auto& f : report["findings"]) {
    if (f["rule"] == "Tollgate.Decrypt.Attempt") attempts.push_back(f["detail"]);
    if (f["object"] == "encrypted_eicar.zip>eicar.com" && f["kind"] == "signature") engines.insert(f["engine"]);
  }
  EXPECT_EQ(attempts, (std::vector<std::string>{"password 1 of 2: rejected", "password 2 of 2: accepted"}));
  EXPECT_EQ(engines, (std::set<std::string>{"clamav", "hyperscan", "yara"}));
  EXPECT_EQ(ScanWithPasswords(sample, {"wrong-one"})["verdict"], "incomplete");
}

TEST(CliScan, EncryptedOfficeDocumentIsDecryptedAndItsMacroFoundThroughTheDecryptedLayer) {
  const std::string sample = (kCorpus / "threats/office/encrypted_macro.docm").string();
  const nlohmann::json report = ScanWithPasswords(sample, {"wrong-one", "tollgate-test"});
  EXPECT_EQ(report["verdict"], "malicious");
  std::vector<std::string> findings, attempts;
  for (const auto& f : report["findings"]) {
    findings.push_back(f["engine"].get<std::string>() + " " + f["rule"].get<std::string>() + " " +
                       f["object"].get<std::string>());
    if (f["rule"] == "Tollgate.Decrypt.Attempt") attempts.push_back(f["detail"]);
  }
  EXPECT_EQ(findings,
            (std::vector<std::string>{
                "tollgate Tollgate.Decrypt.Attempt encrypted_macro.docm",
                "tollgate Tollgate.Decrypt.Attempt encrypted_macro.docm",
                "tollgate Tollgate.OOXML.VBAProject encrypted_macro.docm>EncryptedPackage>word/vbaProject.bin",
                "tollgate Tollgate.VBA.AutoExecDangerousCall "
                "encrypted_macro.docm>EncryptedPackage>word/vbaProject.bin>VBA/Module1",
                "yara Tollgate_VBA_AutoExec_Dangerous_Call "
                "encrypted_macro.docm>EncryptedPackage>word/vbaProject.bin>VBA/Module1"}));
  EXPECT_EQ(attempts, (std::vector<std::string>{"password 1 of 2: rejected", "password 2 of 2: accepted"}));

  const nlohmann::json wrong = ScanWithPasswords(sample, {"wrong-one"});
  EXPECT_EQ(wrong["verdict"], "incomplete");
  std::vector<std::string> wrong_findings;
  for (const auto& f : wrong["findings"]) {
    wrong_findings.push_back(f["rule"].get<std::string>() + ": " + f["detail"].get<std::string>());
  }
  EXPECT_EQ(wrong_findings,
            (std::vector<std::string>{
                "Tollgate.Decrypt.Attempt: password 1 of 1: rejected",
                "Tollgate.Incomplete.encrypted: an encrypted OOXML package: no given password opens it"}));
}

TEST(CliScan, DoesNotFollowSymbolicLinks) {
  TempDir dir;
  std::filesystem::create_directory_symlink(kCorpus / "malicious", dir.path() / "linked-folder");
  std::filesystem::create_symlink(kCorpus / "malicious/eicar.com", dir.path() / "linked-file");
  WriteFile(dir.path() / "plain.txt", "hello\n");
  const CommandResult result = RunCommand(kTollgate + " scan --json " + dir.path().string());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  const auto lines = JsonLines(result.output);
  ASSERT_EQ(lines.size(), 2u) << result.output;
  EXPECT_EQ(lines[0]["path"], (dir.path() / "plain.txt").string());
}

}  // namespace
}  // namespace tollgate::testing
