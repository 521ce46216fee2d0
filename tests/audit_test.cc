// The audit log end to end on real files: writing (rotation, checkpoints, retention, modes, restart
// and recovery, concurrency), verifying (every kind of tampering is found and located), and the
// review report. Keys are real Ed25519 keys made with the openssl command.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "file_size_limit.h"
#include "test_support.h"
#include "tollgate/audit/checkpoint_key.h"
#include "tollgate/audit/events.h"
#include "tollgate/audit/log_report.h"
#include "tollgate/audit/log_verifier.h"
#include "tollgate/audit/log_writer.h"
#include "tollgate/audit/record.h"

namespace tollgate::audit {
namespace {

namespace fs = std::filesystem;
using tollgate::testing::FileSizeLimit;
using tollgate::testing::ReadFile;
using tollgate::testing::RunCommand;
using tollgate::testing::TempDir;
using tollgate::testing::WriteFile;

struct Keys {
  fs::path private_key, public_key;
};

// One key pair for the whole binary: openssl is slow under sanitizers.
const Keys& TestKeys() {
  static const TempDir* dir = new TempDir();
  static const Keys keys = [] {
    Keys made{dir->path() / "audit.key", dir->path() / "audit.pub"};
    EXPECT_EQ(RunCommand("openssl genpkey -algorithm ed25519 -out " + made.private_key.string() + " 2>&1").exit_code, 0);
    EXPECT_EQ(RunCommand("openssl pkey -in " + made.private_key.string() + " -pubout -out " +
                         made.public_key.string() + " 2>&1")
                  .exit_code,
              0);
    fs::permissions(made.private_key, fs::perms::owner_read);
    return made;
  }();
  return keys;
}

VerifyingKey PublicKey() {
  auto key = VerifyingKey::Load(TestKeys().public_key.string());
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(*key);
}

// A settable clock shared with the log.
struct TestClock {
  std::shared_ptr<std::atomic<int64_t>> micros = std::make_shared<std::atomic<int64_t>>(0);
  void Set(std::string_view rfc3339) {
    micros->store(std::chrono::duration_cast<std::chrono::microseconds>(ParseTime(rfc3339)->time_since_epoch()).count());
  }
  void Advance(std::chrono::microseconds step) { micros->fetch_add(step.count()); }
  std::function<Clock::time_point()> Source() const {
    return [micros = micros] { return Clock::time_point(std::chrono::microseconds(micros->load())); };
  }
};

LogOptions Options(const fs::path& dir, const TestClock& clock) {
  LogOptions options;
  options.dir = dir.string();
  options.key_file = TestKeys().private_key.string();
  options.fsync = FsyncPolicy::kNever;
  options.checkpoint_every = 5;
  options.checkpoint_interval = std::chrono::hours(1);
  options.clock = clock.Source();
  options.background = false;
  return options;
}

std::unique_ptr<AuditLog> OpenLog(const LogOptions& options) {
  auto log = AuditLog::Open(options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

Event TestVerdict(const std::string& name, bool block, const std::string& tenant = "acme") {
  ScanReport report;
  report.sha256 = std::string(64, 'a');
  report.size = 1234;
  report.type.mime = "application/pdf";
  report.rules_version = "rules-1";
  if (block) {
    report.verdict = Verdict::kMalicious;
    report.action = Action::kBlock;
    report.findings.push_back({"clamav", "Eicar-Signature", Severity::kHigh, FindingKind::kSignature, name, {}, {}, {}});
    report.deciding = {0};
  }
  return VerdictEvent({"Scan", "ipv4:127.0.0.1:5000", tenant, "upload-" + name, "user-7"}, name, report, "documents");
}

void AppendOk(AuditLog& log, const Event& event) {
  auto seq = log.Append(event);
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
}

std::vector<fs::path> LogFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> Lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::string text = ReadFile(file);
  size_t begin = 0;
  for (size_t newline; (newline = text.find('\n', begin)) != std::string::npos; begin = newline + 1) {
    lines.push_back(text.substr(begin, newline - begin));
  }
  return lines;
}

void WriteLines(const fs::path& file, const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  WriteFile(file, text);
}

// The 0-based index of the line whose record has `key` == `value`.
size_t IndexOf(const std::vector<std::string>& lines, const std::string& key, const std::string& value) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto record = nlohmann::json::parse(lines[i]);
    if (record.contains(key) && record[key] == value) return i;
  }
  ADD_FAILURE() << "no record with " << key << " = " << value;
  return 0;
}

uint64_t SeqOf(const std::string& line) { return nlohmann::json::parse(line)["seq"].get<uint64_t>(); }

VerifyResult Verify(const fs::path& dir) {
  auto result = VerifyLog(dir.string(), PublicKey());
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : VerifyResult{};
}

std::string Describe(const VerifyResult& result) {
  if (!result.problem) return "intact";
  return fmt::format("{} line {} seq {}: {}", result.problem->file, result.problem->line,
                     result.problem->seq ? std::to_string(*result.problem->seq) : "-", result.problem->message);
}

void ExpectProblem(const VerifyResult& result, const fs::path& file, uint64_t line, uint64_t seq,
                   const std::string& words) {
  ASSERT_TRUE(result.problem.has_value()) << "verify found nothing wrong";
  EXPECT_EQ(result.problem->file, file.filename().string()) << result.problem->message;
  EXPECT_EQ(result.problem->line, line) << result.problem->message;
  EXPECT_EQ(result.problem->seq, seq) << result.problem->message;
  EXPECT_NE(result.problem->message.find(words), std::string::npos) << result.problem->message;
}

// A log over three days, 12 verdicts a day (every third one a block), a checkpoint every 5 records.
class ThreeDayLog : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set("2025-03-01T10:00:00Z");
    auto log = OpenLog(Options(dir(), clock_));
    ASSERT_TRUE(log);
    for (int day = 1; day <= 3; ++day) {
      for (int i = 0; i < 12; ++i) {
        AppendOk(*log, TestVerdict(fmt::format("day{}-{}", day, i), i % 3 == 0));
        clock_.Advance(std::chrono::minutes(1));
      }
      clock_.Advance(std::chrono::hours(24));
    }
    ASSERT_TRUE(log->Close().ok());
    files_ = LogFiles(dir());
    ASSERT_EQ(files_.size(), 3u);
    const VerifyResult result = Verify(dir());
    ASSERT_FALSE(result.problem.has_value()) << Describe(result);
  }
  fs::path dir() const { return temp_.path() / "audit"; }

  TempDir temp_;
  TestClock clock_;
  std::vector<fs::path> files_;
};

TEST_F(ThreeDayLog, CleanLogVerifiesWithExactCounts) {
  const VerifyResult result = Verify(dir());
  ASSERT_FALSE(result.problem.has_value()) << result.problem->message;
  EXPECT_EQ(result.files, 3u);
  // Per file: file_start + its checkpoint; 12 verdicts; checkpoints after every 5 records.
  // Day 1: start(1) ckpt(2) v×5 ckpt v×5 ckpt v×2 = 18 records. Days 2-3 carry 2 waiting records over.
  uint64_t lines = 0, checkpoints = 0;
  for (const fs::path& file : files_) {
    for (const std::string& line : Lines(file)) {
      ++lines;
      checkpoints += nlohmann::json::parse(line)["type"] == "checkpoint";
    }
  }
  EXPECT_EQ(result.records, lines);
  EXPECT_EQ(result.checkpoints, checkpoints);
  EXPECT_EQ(result.first_seq, 1u);
  EXPECT_EQ(result.last_seq, lines);
  EXPECT_EQ(result.last_checkpoint_seq, lines);  // the shutdown checkpoint is last
  EXPECT_EQ(result.last_checkpoint_hash, RecordHash(Lines(files_.back()).back()));
  EXPECT_EQ(result.unsigned_records, 0u);
  EXPECT_EQ(fs::path(files_[0]).filename(), "audit-2025-03-01-000000000001.jsonl");
  EXPECT_EQ(fs::path(files_[1]).filename().string().substr(0, 17), "audit-2025-03-02-");
  EXPECT_EQ(fs::path(files_[2]).filename().string().substr(0, 17), "audit-2025-03-03-");
}

TEST_F(ThreeDayLog, EditedRecordIsLocated) {
  std::vector<std::string> lines = Lines(files_[1]);
  const size_t index = IndexOf(lines, "filename", "day2-4");
  const size_t at = lines[index].find("\"action\":\"allow\"");
  ASSERT_NE(at, std::string::npos);
  lines[index].replace(at, 16, "\"action\":\"block\"");
  WriteLines(files_[1], lines);
  ExpectProblem(Verify(dir()), files_[1], index + 1, SeqOf(lines[index]), "altered");
}

TEST_F(ThreeDayLog, EditedLastRecordOfRotatedFileIsLocated) {
  std::vector<std::string> lines = Lines(files_[0]);
  const size_t last = lines.size() - 1;
  const size_t at = lines[last].find("day1-11");
  ASSERT_NE(at, std::string::npos) << lines[last];
  lines[last].replace(at, 7, "day1-99");
  WriteLines(files_[0], lines);
  ExpectProblem(Verify(dir()), files_[0], last + 1, SeqOf(lines[last]), "altered");
}

TEST_F(ThreeDayLog, DeletedRecordIsLocated) {
  std::vector<std::string> lines = Lines(files_[1]);
  const size_t index = IndexOf(lines, "filename", "day2-4");
  const uint64_t seq = SeqOf(lines[index]);
  lines.erase(lines.begin() + static_cast<long>(index));
  WriteLines(files_[1], lines);
  ExpectProblem(Verify(dir()), files_[1], index + 1, seq + 1, "record " + std::to_string(seq) + " is missing");
}

TEST_F(ThreeDayLog, InsertedRecordIsLocated) {
  std::vector<std::string> lines = Lines(files_[1]);
  const size_t index = IndexOf(lines, "filename", "day2-4");
  const std::string copy = lines[IndexOf(lines, "filename", "day2-1")];
  lines.insert(lines.begin() + static_cast<long>(index) + 1, copy);
  WriteLines(files_[1], lines);
  ExpectProblem(Verify(dir()), files_[1], index + 2, SeqOf(copy), "inserted or moved");
}

TEST_F(ThreeDayLog, ForgedInsertionWithTheRightSeqAndPrevIsLocated) {
  // Without the key an attacker can still chain a record in; the record after it then breaks.
  std::vector<std::string> lines = Lines(files_[1]);
  const size_t index = IndexOf(lines, "filename", "day2-4");
  const uint64_t seq = SeqOf(lines[index]);
  auto forged = FormatRecord(seq, "2025-03-02T10:04:30.000000Z", EventType::kVerdict, TestVerdict("forged", false).fields,
                             RecordHash(lines[index - 1]));
  ASSERT_TRUE(forged.ok());
  lines.insert(lines.begin() + static_cast<long>(index), *forged);
  WriteLines(files_[1], lines);
  ExpectProblem(Verify(dir()), files_[1], index + 2, seq, "inserted or moved");
}

TEST_F(ThreeDayLog, ReorderedRecordsAreLocated) {
  std::vector<std::string> lines = Lines(files_[2]);
  const size_t index = IndexOf(lines, "filename", "day3-7");
  std::swap(lines[index], lines[index + 1]);
  WriteLines(files_[2], lines);
  ExpectProblem(Verify(dir()), files_[2], index + 1, SeqOf(lines[index]), "missing or out of order");
}

TEST_F(ThreeDayLog, AlteredCheckpointSignatureIsLocated) {
  std::vector<std::string> lines = Lines(files_[1]);
  size_t index = 2;
  while (nlohmann::json::parse(lines[index])["type"] != "checkpoint") ++index;
  const size_t at = lines[index].find("\"sig\":\"") + 7;
  lines[index][at] = lines[index][at] == '0' ? '1' : '0';
  WriteLines(files_[1], lines);
  ExpectProblem(Verify(dir()), files_[1], index + 1, SeqOf(lines[index]), "signature does not verify");
}

TEST_F(ThreeDayLog, ForeignKeyIsReported) {
  TempDir other;
  ASSERT_EQ(RunCommand("openssl genpkey -algorithm ed25519 -out " + (other.path() / "k").string() +
                       " && openssl pkey -in " + (other.path() / "k").string() + " -pubout -out " +
                       (other.path() / "k.pub").string())
                .exit_code,
            0);
  auto key = VerifyingKey::Load((other.path() / "k.pub").string());
  ASSERT_TRUE(key.ok());
  auto result = VerifyLog(dir().string(), *key);
  ASSERT_TRUE(result.ok());
  ExpectProblem(*result, files_[0], 2, 2, "not with the given public key");
}

TEST_F(ThreeDayLog, TruncatedRotatedFileIsLocated) {
  std::vector<std::string> lines = Lines(files_[0]);
  lines.resize(lines.size() - 2);
  WriteLines(files_[0], lines);
  ExpectProblem(Verify(dir()), files_[0], lines.size(), SeqOf(lines.back()), "truncated");
}

TEST_F(ThreeDayLog, RotatedFileCutInsideARecordIsLocated) {
  const std::string text = ReadFile(files_[0]);
  WriteFile(files_[0], text.substr(0, text.size() - 40));
  const std::vector<std::string> lines = Lines(files_[0]);
  ExpectProblem(Verify(dir()), files_[0], lines.size() + 1, SeqOf(lines.back()), "truncated");
}

TEST_F(ThreeDayLog, NewestFileCutInsideARecordIsLocated) {
  const std::string text = ReadFile(files_[2]);
  WriteFile(files_[2], text.substr(0, text.size() - 40));
  const std::vector<std::string> lines = Lines(files_[2]);
  ExpectProblem(Verify(dir()), files_[2], lines.size() + 1, SeqOf(lines.back()), "ends inside a record");
}

TEST_F(ThreeDayLog, DeletedMiddleFileIsLocated) {
  fs::remove(files_[1]);
  ExpectProblem(Verify(dir()), files_[2], 1, SeqOf(Lines(files_[2])[0]),
                files_[1].filename().string() + " is missing");
}

TEST_F(ThreeDayLog, DeletedOldestFileIsLocated) {
  fs::remove(files_[0]);
  ExpectProblem(Verify(dir()), files_[1], 1, SeqOf(Lines(files_[1])[0]), "files were deleted");
}

TEST_F(ThreeDayLog, RenamedFileIsLocated) {
  // A name that keeps the file's place in the chain, so only the header can tell.
  const uint64_t seq = SeqOf(Lines(files_[1])[0]);
  const fs::path renamed = dir() / fmt::format("audit-2025-03-02-{:012}.jsonl", seq + 1);
  fs::rename(files_[1], renamed);
  ExpectProblem(Verify(dir()), renamed, 1, seq, "renamed or copied");
}

TEST_F(ThreeDayLog, ForgedRetentionRecordDoesNotExcuseADeletedFile) {
  // An attacker deletes the oldest file and chains a retention record naming it onto the end, but
  // cannot sign a checkpoint after it.
  const std::vector<std::string> second = Lines(files_[1]);
  const auto header = nlohmann::json::parse(second[0]);
  std::vector<std::string> last = Lines(files_[2]);
  nlohmann::ordered_json removed = {{"file", files_[0].filename().string()},
                                    {"first_seq", 1},
                                    {"last_seq", header["seq"].get<uint64_t>() - 1},
                                    {"last_hash", header["prev"]},
                                    {"bytes", fs::file_size(files_[0])}};
  auto forged = FormatRecord(SeqOf(last.back()) + 1, "2025-03-03T12:00:00.000000Z", EventType::kRetention,
                             {{"retention_days", 1}, {"cutoff", "2025-03-02"}, {"removed", nlohmann::ordered_json::array({removed})}},
                             RecordHash(last.back()));
  ASSERT_TRUE(forged.ok());
  last.push_back(*forged);
  WriteLines(files_[2], last);
  fs::remove(files_[0]);
  ExpectProblem(Verify(dir()), files_[1], 1, header["seq"].get<uint64_t>(), "no checkpointed retention record");
}

TEST(AuditLogTest, OneHundredThousandRecordsVerify) {
  TempDir temp;
  TestClock clock;
  clock.Set("2025-06-01T08:00:00Z");
  LogOptions options = Options(temp.path() / "audit", clock);
  options.checkpoint_every = 1000;
  const auto started = std::chrono::steady_clock::now();
  {
    auto log = OpenLog(options);
    ASSERT_TRUE(log);
    // Two events, renamed per record: building a full verdict event each time would time the test.
    Event events[2] = {TestVerdict("", false, "acme"), TestVerdict("", true, "globex")};
    for (int i = 0; i < 100'000; ++i) {
      Event& event = events[i % 10 == 0];
      event.fields["filename"] = fmt::format("file-{}.pdf", i);
      auto seq = log->Append(event);
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
      clock.Advance(std::chrono::microseconds(100));
    }
    ASSERT_TRUE(log->Close().ok());
  }
  const auto written = std::chrono::steady_clock::now();
  const VerifyResult result = Verify(temp.path() / "audit");
  const auto verified = std::chrono::steady_clock::now();
  ASSERT_FALSE(result.problem.has_value()) << result.problem->message;
  // file_start, its checkpoint, 100,000 verdicts, 100 checkpoints by count, the shutdown checkpoint.
  EXPECT_EQ(result.files, 1u);
  EXPECT_EQ(result.records, 100'103u);
  EXPECT_EQ(result.checkpoints, 102u);
  EXPECT_EQ(result.unsigned_records, 0u);
  std::printf("100,000 appends: %.2f s; verify: %.2f s\n", std::chrono::duration<double>(written - started).count(),
              std::chrono::duration<double>(verified - written).count());
}

TEST(AuditLogTest, RotationLinksFilesAcrossDays) {
  TempDir temp;
  TestClock clock;
  clock.Set("2025-12-31T23:59:59.5Z");
  auto log = OpenLog(Options(temp.path() / "audit", clock));
  ASSERT_TRUE(log);
  AppendOk(*log, TestVerdict("before-midnight", false));
  clock.Set("2026-01-01T00:00:00.2Z");
  AppendOk(*log, TestVerdict("after-midnight", false));
  // No records on the next day: Tick() rotates anyway.
  clock.Set("2026-01-02T00:00:01Z");
  ASSERT_TRUE(log->Tick().ok());
  ASSERT_TRUE(log->Close().ok());

  const std::vector<fs::path> files = LogFiles(temp.path() / "audit");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "audit-2025-12-31-000000000001.jsonl");
  const std::vector<std::string> second = Lines(files[1]);
  EXPECT_EQ(files[1].filename(), fmt::format("audit-2026-01-01-{:012}.jsonl", SeqOf(second[0])));
  const auto header = nlohmann::json::parse(second[0]);
  EXPECT_EQ(header["type"], "file_start");
  EXPECT_EQ(header["reason"], "rotation");
  EXPECT_EQ(header["prev_file"], files[0].filename().string());
  EXPECT_EQ(header["prev_file_bytes"], fs::file_size(files[0]));
  EXPECT_EQ(header["prev"], RecordHash(Lines(files[0]).back()));
  EXPECT_EQ(nlohmann::json::parse(second[1])["type"], "checkpoint");
  EXPECT_EQ(nlohmann::json::parse(second[2])["filename"], "after-midnight");
  EXPECT_EQ(nlohmann::json::parse(Lines(files[2])[0])["time"], "2026-01-02T00:00:01.000000Z");
  const VerifyResult result = Verify(temp.path() / "audit");
  EXPECT_FALSE(result.problem.has_value()) << result.problem->message;
  EXPECT_EQ(result.files, 3u);
}

TEST(AuditLogTest, CheckpointsComeByCountAndByTime) {
  TempDir temp;
  TestClock clock;
  clock.Set("2025-05-05T12:00:00Z");
  LogOptions options = Options(temp.path() / "audit", clock);
  options.checkpoint_every = 3;
  options.checkpoint_interval = std::chrono::seconds(30);
  auto log = OpenLog(options);
  ASSERT_TRUE(log);
  for (int i = 0; i < 3; ++i) AppendOk(*log, TestVerdict(fmt::format("f{}", i), false));
  AppendOk(*log, TestVerdict("f3", false));
  clock.Advance(std::chrono::seconds(29));
  ASSERT_TRUE(log->Tick().ok());
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(log->Tick().ok());
  const std::vector<std::string> lines = Lines(LogFiles(temp.path() / "audit")[0]);
  std::vector<std::string> reasons;
  for (const std::string& line : lines) {
    const auto record = nlohmann::json::parse(line);
    reasons.push_back(record["type"] == "checkpoint" ? "ckpt:" + record["reason"].get<std::string>()
                                                     : record["type"].get<std::string>());
  }
  EXPECT_EQ(reasons, (std::vector<std::string>{"file_start", "ckpt:new_log", "verdict", "verdict", "verdict",
                                               "ckpt:records", "verdict", "ckpt:interval"}));
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(nlohmann::json::parse(Lines(LogFiles(temp.path() / "audit")[0]).back())["reason"], "shutdown");
}

TEST(AuditLogTest, RetentionRemovesOnlyExpiredFilesAfterASignedRetentionRecord) {
  TempDir temp;
  const fs::path dir = temp.path() / "audit";
  TestClock clock;
  clock.Set("2025-01-01T09:00:00Z");
  LogOptions options = Options(dir, clock);
  options.retention_days = 2;
  auto log = OpenLog(options);
  ASSERT_TRUE(log);
  std::vector<std::string> first_names;
  for (int day = 1; day <= 3; ++day) {
    AppendOk(*log, TestVerdict(fmt::format("day{}", day), day == 2));
    first_names.push_back(LogFiles(dir).back().filename().string());
    clock.Advance(std::chrono::hours(24));
  }
  // Day 4: cutoff 2025-01-02, so only day 1's file has expired.
  AppendOk(*log, TestVerdict("day4", false));
  std::vector<fs::path> files = LogFiles(dir);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), first_names[1]);
  EXPECT_EQ(log->stats().files_removed, 1u);

  // The retention record, then at once a checkpoint, both in the current file.
  const std::vector<std::string> current = Lines(files.back());
  const size_t index = IndexOf(current, "type", "retention");
  const auto retention = nlohmann::json::parse(current[index]);
  EXPECT_EQ(retention["cutoff"], "2025-01-02");
  EXPECT_EQ(retention["retention_days"], 2);
  ASSERT_EQ(retention["removed"].size(), 1u);
  EXPECT_EQ(retention["removed"][0]["file"], first_names[0]);
  EXPECT_EQ(retention["removed"][0]["first_seq"], 1);
  const auto oldest_header = nlohmann::json::parse(Lines(files[0])[0]);
  EXPECT_EQ(retention["removed"][0]["last_seq"], oldest_header["seq"].get<uint64_t>() - 1);
  EXPECT_EQ(retention["removed"][0]["last_hash"], oldest_header["prev"]);
  EXPECT_EQ(nlohmann::json::parse(current[index + 1])["type"], "checkpoint");
  EXPECT_EQ(nlohmann::json::parse(current[index + 1])["reason"], "retention");

  ASSERT_TRUE(log->Close().ok());
  const VerifyResult result = Verify(dir);
  ASSERT_FALSE(result.problem.has_value()) << result.problem->message;
  EXPECT_EQ(result.first_seq, oldest_header["seq"].get<uint64_t>());
  EXPECT_EQ(result.removed_by_retention, 1u);

  // Deleting the next file by hand is not retention: verify says so.
  fs::remove(files[0]);
  ExpectProblem(Verify(dir), files[1], 1, SeqOf(Lines(files[1])[0]), "files were deleted");
}

TEST(AuditLogTest, RetentionAtStartupKeepsUnexpiredFiles) {
  TempDir temp;
  const fs::path dir = temp.path() / "audit";
  TestClock clock;
  clock.Set("2025-01-01T09:00:00Z");
  LogOptions options = Options(dir, clock);
  for (int day = 0; day < 4; ++day) {
    auto log = OpenLog(options);
    ASSERT_TRUE(log);
    AppendOk(*log, TestVerdict(fmt::format("d{}", day), false));
    clock.Advance(std::chrono::hours(24));
  }
  ASSERT_EQ(LogFiles(dir).size(), 4u);
  // With the default 274 days, a start on 2025-10-03 has the cutoff 2025-01-02: only the first
  // file has expired.
  clock.Set("2025-10-03T09:00:00Z");
  auto log = OpenLog(options);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Close().ok());
  const std::vector<fs::path> files = LogFiles(dir);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].filename().string().substr(0, 17), "audit-2025-01-02-");
  EXPECT_EQ(files.back().filename().string().substr(0, 17), "audit-2025-10-03-");
  const VerifyResult result = Verify(dir);
  EXPECT_FALSE(result.problem.has_value()) << result.problem->message;
}

TEST(AuditLogTest, FilesAre0640AndTheFolder0750WhateverTheUmask) {
  for (mode_t mask : {mode_t{0}, mode_t{077}, mode_t{022}}) {
    TempDir temp;
    TestClock clock;
    clock.Set("2025-02-02T02:02:02Z");
    const mode_t previous = ::umask(mask);
    auto log = OpenLog(Options(temp.path() / "audit", clock));
    ::umask(previous);
    ASSERT_TRUE(log);
    AppendOk(*log, TestVerdict("x", false));
    struct stat info {};
    ASSERT_EQ(::stat((temp.path() / "audit").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0750u) << "umask " << mask;
    for (const fs::path& file : LogFiles(temp.path() / "audit")) {
      ASSERT_EQ(::stat(file.c_str(), &info), 0);
      EXPECT_EQ(info.st_mode & 07777, 0640u) << "umask " << mask;
    }
  }
}

TEST(AuditLogTest, RestartContinuesTodaysFileAndStartsANewOneTomorrow) {
  TempDir temp;
  const fs::path dir = temp.path() / "audit";
  TestClock clock;
  clock.Set("2025-04-04T08:00:00Z");
  for (int run = 0; run < 2; ++run) {
    auto log = OpenLog(Options(dir, clock));
    ASSERT_TRUE(log);
    AppendOk(*log, TestVerdict(fmt::format("run{}", run), false));
    clock.Advance(std::chrono::hours(1));
  }
  ASSERT_EQ(LogFiles(dir).size(), 1u);
  const std::vector<std::string> lines = Lines(LogFiles(dir)[0]);
  EXPECT_EQ(nlohmann::json::parse(lines[IndexOf(lines, "filename", "run0") + 2])["reason"], "start");

  clock.Advance(std::chrono::hours(24));
  {
    auto log = OpenLog(Options(dir, clock));
    ASSERT_TRUE(log);
    AppendOk(*log, TestVerdict("next-day", false));
  }
  const std::vector<fs::path> files = LogFiles(dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(Lines(files[1])[0])["reason"], "restart");
  const VerifyResult result = Verify(dir);
  EXPECT_FALSE(result.problem.has_value()) << result.problem->message;
}

TEST(AuditLogTest, TornRecordFromACrashIsAcknowledgedOnRestart) {
  TempDir temp;
  const fs::path dir = temp.path() / "audit";
  TestClock clock;
  clock.Set("2025-04-04T08:00:00Z");
  {
    auto log = OpenLog(Options(dir, clock));
    ASSERT_TRUE(log);
    AppendOk(*log, TestVerdict("before-crash", true));
  }
  const fs::path file = LogFiles(dir)[0];
  const std::string torn = "{\"seq\":9,\"time\":\"2025-04-04T08:00:01";
  WriteFile(file, ReadFile(file) + torn);
  ExpectProblem(Verify(dir), file, Lines(file).size() + 1, SeqOf(Lines(file).back()), "ends inside a record");

  {
    auto log = OpenLog(Options(dir, clock));
    ASSERT_TRUE(log);
    AppendOk(*log, TestVerdict("after-crash", false));
  }
  const std::vector<fs::path> files = LogFiles(dir);
  ASSERT_EQ(files.size(), 2u);
  const auto header = nlohmann::json::parse(Lines(files[1])[0]);
  EXPECT_EQ(header["reason"], "recovery");
  EXPECT_EQ(header["torn_bytes"], torn.size());
  EXPECT_EQ(header["prev_file_bytes"], fs::file_size(file) - torn.size());
  const VerifyResult result = Verify(dir);
  EXPECT_FALSE(result.problem.has_value()) << result.problem->message;
}

TEST(AuditLogTest, AFailedWriteFailsEveryLaterAppendAndTheNextStartRecovers) {
  TempDir temp;
  const fs::path dir = temp.path() / "audit";
  TestClock clock;
  clock.Set("2025-09-09T09:00:00Z");
  {
    auto log = OpenLog(Options(dir, clock));
    ASSERT_TRUE(log);
    AppendOk(*log, TestVerdict("kept", true));
    const fs::path file = LogFiles(dir)[0];
    {
      // The write is cut short 25 bytes into the record, as on a full disk.
      FileSizeLimit limit(fs::file_size(file) + 25);
      const auto cut = log->Append(TestVerdict("cut-short", true));
      EXPECT_FALSE(cut.ok());
      EXPECT_NE(cut.status().message().find("write failed"), std::string::npos) << cut.status().ToString();
    }
    // Room again, but the log does not go on after a record that may be torn.
    const auto after = log->Append(TestVerdict("after", true));
    EXPECT_FALSE(after.ok());
    EXPECT_FALSE(log->Close().ok());
    ExpectProblem(Verify(dir), file, Lines(file).size() + 1, SeqOf(Lines(file).back()), "ends inside a record");
  }
  auto log = OpenLog(Options(dir, clock));
  ASSERT_TRUE(log);
  AppendOk(*log, TestVerdict("recovered", false));
  ASSERT_TRUE(log->Close().ok());
  const std::vector<fs::path> files = LogFiles(dir);
  ASSERT_EQ(files.size(), 2u);
  const auto header = nlohmann::json::parse(Lines(files[1])[0]);
  EXPECT_EQ(header["reason"], "recovery");
  EXPECT_EQ(header["torn_bytes"], 25);
  const VerifyResult result = Verify(dir);
  EXPECT_FALSE(result.problem.has_value()) << Describe(result);
}

TEST(AuditLogTest, ConcurrentAppendersKeepOneChain) {
  TempDir temp;
  LogOptions options;
  options.dir = (temp.path() / "audit").string();
  options.key_file = TestKeys().private_key.string();
  options.fsync = FsyncPolicy::kBlocks;
  auto log = OpenLog(options);
  ASSERT_TRUE(log);
  constexpr int kThreads = 8, kEach = 1500;
  std::atomic<int> failures{0};
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!log->Append(TestVerdict(fmt::format("t{}-{}", t, i), i % 10 == 0)).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const LogStats stats = log->stats();
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(failures.load(), 0);
  const VerifyResult result = Verify(temp.path() / "audit");
  ASSERT_FALSE(result.problem.has_value()) << result.problem->message;
  uint64_t verdicts = 0;
  for (const std::string& line : Lines(LogFiles(temp.path() / "audit")[0])) {
    verdicts += nlohmann::json::parse(line)["type"] == "verdict";
  }
  EXPECT_EQ(verdicts, uint64_t{kThreads * kEach});
  // Group commit: far fewer syncs than the 1,200 blocks.
  EXPECT_LE(stats.syncs, 1200u + 20u);
  std::printf("%d threads: %d appends (10%% blocks, fsync on blocks) in %.2f s = %.0f/s, %llu fdatasync\n", kThreads,
              kThreads * kEach, seconds, kThreads * kEach / seconds, static_cast<unsigned long long>(stats.syncs));
}

TEST(AuditLogTest, ConcurrentAppendersAcrossMidnightRotateOnce) {
  TempDir temp;
  TestClock clock;
  clock.Set("2025-08-08T23:59:59Z");
  LogOptions options = Options(temp.path() / "audit", clock);
  options.fsync = FsyncPolicy::kAlways;  // syncs in flight while the day changes
  auto log = OpenLog(options);
  ASSERT_TRUE(log);
  std::atomic<int> appended{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        if (!log->Append(TestVerdict(fmt::format("t{}-{}", t, i), true)).ok()) ++failures;
        ++appended;
      }
    });
  }
  while (appended.load() < 300) std::this_thread::yield();
  clock.Set("2025-08-09T00:00:01Z");
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(failures.load(), 0);
  const std::vector<fs::path> files = LogFiles(temp.path() / "audit");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[1].filename().string().substr(0, 17), "audit-2025-08-09-");
  const VerifyResult result = Verify(temp.path() / "audit");
  EXPECT_FALSE(result.problem.has_value()) << Describe(result);
}

TEST(AuditLogTest, RefusesAnExposedKeyASecondWriterAndReservedFields) {
  TempDir temp;
  TestClock clock;
  clock.Set("2025-04-04T08:00:00Z");
  const fs::path exposed = temp.path() / "exposed.key";
  fs::copy_file(TestKeys().private_key, exposed);
  fs::permissions(exposed, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  LogOptions options = Options(temp.path() / "audit", clock);
  options.key_file = exposed.string();
  auto refused = AuditLog::Open(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("0400"), std::string::npos) << refused.status().message();

  auto log = OpenLog(Options(temp.path() / "audit", clock));
  ASSERT_TRUE(log);
  auto second = AuditLog::Open(Options(temp.path() / "audit", clock));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("another process"), std::string::npos) << second.status().message();

  EXPECT_EQ(log->Append({EventType::kVerdict, {{"prev", "x"}}, true}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Append({EventType::kCheckpoint, nlohmann::ordered_json::object(), true}).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(log->Append(TestVerdict("late", false)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Verify(temp.path() / "audit").problem.has_value());
}

TEST(AuditLogTest, ReportSummarizesBlocksRefusalsAndRuleChanges) {
  TempDir temp;
  const fs::path dir = temp.path() / "audit";
  TestClock clock;
  clock.Set("2025-07-01T10:00:00Z");
  auto log = OpenLog(Options(dir, clock));
  ASSERT_TRUE(log);
  AppendOk(*log, TestVerdict("old-block", true, "initech"));
  clock.Advance(std::chrono::hours(48));
  AppendOk(*log, {EventType::kServerStart, {{"address", "127.0.0.1:50051"}}, true});
  AppendOk(*log, TestVerdict("a", false, "acme"));
  AppendOk(*log, TestVerdict("b", true, "acme"));
  AppendOk(*log, TestVerdict("c", true, "globex"));
  AppendOk(*log, TestVerdict("d", true, "acme"));
  AppendOk(*log, RefusedEvent({"Scan", "ipv4:10.0.0.9:1", "", "", ""}, "bad_token", 16, "invalid token"));
  AppendOk(*log, RefusedEvent({"Scan", "ipv4:10.0.0.9:1", "", "", ""}, "bad_token", 16, "invalid token"));
  AppendOk(*log, RefusedEvent({"Scan", "ipv4:10.0.0.2:1", "acme", "", ""}, "too_large", 8, "too large"));
  AppendOk(*log, RulesEvent(EventType::kRulesUpdate, "rules-2", "rules-1", "bundle 2025-07-03"));
  AppendOk(*log, RulesEvent(EventType::kRulesRefused, "rules-3", "rules-2", "self-test failed"));
  AppendOk(*log, {EventType::kServerStop, nlohmann::ordered_json::object(), true});
  ASSERT_TRUE(log->Close().ok());

  auto summary = SummarizeLog(dir.string(), ParseTime("2025-07-02"));
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->files, 2u);
  EXPECT_EQ(summary->allowed, 1u);
  EXPECT_EQ(summary->blocked, 3u);
  EXPECT_EQ(summary->verdicts, (std::map<std::string, uint64_t>{{"clean", 1}, {"malicious", 3}}));
  EXPECT_EQ(summary->blocks_by_rule, (std::map<std::string, uint64_t>{{"Eicar-Signature", 3}}));
  EXPECT_EQ(summary->blocks_by_tenant, (std::map<std::string, uint64_t>{{"acme", 2}, {"globex", 1}}));
  EXPECT_EQ(summary->refused_by_reason, (std::map<std::string, uint64_t>{{"bad_token", 2}, {"too_large", 1}}));
  EXPECT_EQ(summary->refused_by_tenant, (std::map<std::string, uint64_t>{{"(none)", 2}, {"acme", 1}}));
  ASSERT_EQ(summary->rule_changes.size(), 2u);
  EXPECT_EQ(summary->rule_changes[0]["type"], "rules_update");
  EXPECT_EQ(summary->rule_changes[0]["version"], "rules-2");
  EXPECT_EQ(summary->rule_changes[1]["type"], "rules_refused");
  EXPECT_EQ(summary->server_starts, 1u);
  EXPECT_EQ(summary->server_stops, 1u);
  const std::string text = SummaryText(*summary);
  EXPECT_NE(text.find("Verdicts: 4 uploads, 1 allowed, 3 blocked"), std::string::npos) << text;
  EXPECT_NE(text.find("       3  Eicar-Signature"), std::string::npos) << text;
  EXPECT_EQ(SummaryJson(*summary)["blocks_by_tenant"].dump(), R"({"acme":2,"globex":1})");

  auto everything = SummarizeLog(dir.string(), std::nullopt);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->blocks_by_tenant, (std::map<std::string, uint64_t>{{"acme", 2}, {"globex", 1}, {"initech", 1}}));
}

TEST(AuditRecordTest, TimesRoundTripAndDatesParse) {
  const auto time = ParseTime("2025-11-28T18:45:01.123456Z");
  ASSERT_TRUE(time.has_value());
  EXPECT_EQ(FormatTime(*time), "2025-11-28T18:45:01.123456Z");
  EXPECT_EQ(FormatTime(*ParseTime("2025-11-28T20:45:01+02:00")), "2025-11-28T18:45:01.000000Z");
  EXPECT_EQ(FormatTime(*ParseTime("2025-11-28")), "2025-11-28T00:00:00.000000Z");
  EXPECT_FALSE(ParseTime("2025-13-01").has_value());
  EXPECT_FALSE(ParseTime("yesterday").has_value());
  EXPECT_FALSE(ParseTime("2025-11-28T18:45").has_value());
  // Beyond what the clock can count: refused, not overflowed (log records are input too).
  EXPECT_FALSE(ParseTime("2999-01-01").has_value());
}

}  // namespace
}  // namespace tollgate::audit
