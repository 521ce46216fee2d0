#include "clamav_detector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "clamav_mapping.h"

namespace tollgate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const std::filesystem::path kTestFiles = "/usr/share/clamav-testfiles";
constexpr std::string_view kEicarRule = "Tollgate.Test.EICAR.UNOFFICIAL";
constexpr std::string_view kClamExeRule = "Tollgate.Test.ClamExe.UNOFFICIAL";

// Split so that no source file holds the test string whole (scanners would flag this file).
std::string EicarBody() { return std::string("EICAR-STANDARD-") + "ANTIVIRUS-TEST-FILE"; }
std::string Eicar() { return "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + EicarBody() + "!$H+H*"; }

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out) << path;
}

uint32_t Crc32(std::span<const uint8_t> bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void PutLe(std::vector<uint8_t>& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// A ZIP whose members are stored (not compressed). With `encrypted`, every member is flagged as
// ZipCrypto-encrypted and carries a 12-byte encryption header before its (unencrypted) bytes.
std::vector<uint8_t> StoredZip(const std::vector<std::pair<std::string, std::string>>& members,
                               bool encrypted = false) {
  std::vector<uint8_t> zip;
  std::vector<uint8_t> central;
  const uint16_t flags = encrypted ? 1 : 0;
  for (const auto& [name, content] : members) {
    const std::vector<uint8_t> plain = Bytes(content);
    std::vector<uint8_t> stored(encrypted ? 12 : 0, 0x5A);
    stored.insert(stored.end(), plain.begin(), plain.end());
    const uint32_t offset = static_cast<uint32_t>(zip.size());
    const auto header_fields = [&](std::vector<uint8_t>& out) {
      PutLe(out, 20, 2);  // version needed
      PutLe(out, flags, 2);
      PutLe(out, 0, 2);  // method: stored
      PutLe(out, 0, 4);  // time, date
      PutLe(out, Crc32(plain), 4);
      PutLe(out, static_cast<uint32_t>(stored.size()), 4);
      PutLe(out, static_cast<uint32_t>(plain.size()), 4);
      PutLe(out, static_cast<uint32_t>(name.size()), 2);
      PutLe(out, 0, 2);  // extra length
    };
    PutLe(zip, 0x04034b50, 4);
    header_fields(zip);
    zip.insert(zip.end(), name.begin(), name.end());
    zip.insert(zip.end(), stored.begin(), stored.end());
    PutLe(central, 0x02014b50, 4);
    PutLe(central, 20, 2);  // version made by
    header_fields(central);
    PutLe(central, 0, 2);  // comment length
    PutLe(central, 0, 4);  // disk, internal attributes
    PutLe(central, 0, 4);  // external attributes
    PutLe(central, offset, 4);
    central.insert(central.end(), name.begin(), name.end());
  }
  const uint32_t central_offset = static_cast<uint32_t>(zip.size());
  zip.insert(zip.end(), central.begin(), central.end());
  PutLe(zip, 0x06054b50, 4);
  PutLe(zip, 0, 4);  // disk numbers
  PutLe(zip, static_cast<uint32_t>(members.size()), 2);
  PutLe(zip, static_cast<uint32_t>(members.size()), 2);
  PutLe(zip, static_cast<uint32_t>(central.size()), 4);
  PutLe(zip, central_offset, 4);
  PutLe(zip, 0, 2);  // comment length
  return zip;
}

std::string Hex(std::string_view text) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : text) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "clamav_detector_test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class CollectingSink : public FindingSink {
 public:
  void Add(Finding finding) override {
    std::lock_guard lock(mutex_);
    findings_.push_back(std::move(finding));
  }
  std::vector<Finding> findings() const {
    std::lock_guard lock(mutex_);
    return findings_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Finding> findings_;
};

struct Visit {
  std::string path;
  std::vector<uint8_t> bytes;
  uint32_t depth = 0;
  bool operator==(const Visit&) const = default;
};

void PrintTo(const Visit& visit, std::ostream* out) {
  *out << "{" << visit.path << ", " << visit.bytes.size() << " bytes, depth " << visit.depth << "}";
}

struct ScanResult {
  Status status;
  std::vector<Finding> findings;
  std::vector<Visit> visits;

  std::vector<std::string> VisitedPaths() const {
    std::vector<std::string> paths;
    for (const Visit& visit : visits) paths.push_back(visit.path);
    return paths;
  }
};

struct ScanRequest {
  std::string name;
  std::vector<uint8_t> bytes;
  std::string_view unpacked_by{};
  uint32_t depth = 0;
  std::chrono::steady_clock::duration time_left = std::chrono::minutes(1);
};

ScanResult Scan(const Detector& detector, const ScanRequest& request) {
  ScanResult result;
  std::mutex visits_mutex;
  const ScanContext ctx(std::chrono::steady_clock::now() + request.time_left, [&](const ScanObject& layer) {
    EXPECT_TRUE(layer.type.mime.empty());
    EXPECT_TRUE(layer.unpacked_by.empty());
    std::lock_guard lock(visits_mutex);
    result.visits.push_back(
        Visit{layer.path.ToString(), {layer.bytes.begin(), layer.bytes.end()}, layer.depth});
    return true;
  });
  CollectingSink sink;
  const ScanObject object{.path = ObjectPath(request.name),
                          .type = {},
                          .bytes = request.bytes,
                          .depth = request.depth,
                          .unpacked_by = request.unpacked_by};
  result.status = detector.Scan(object, ctx, sink);
  result.findings = sink.findings();
  return result;
}

ScanResult ScanFile(const Detector& detector, const std::string& file, std::string_view unpacked_by = {}) {
  return Scan(detector,
              ScanRequest{.name = file, .bytes = ReadFile(kTestFiles / file), .unpacked_by = unpacked_by});
}

Finding ClamavFinding(std::string_view rule, std::string object) {
  return clamav::FindingForVirusName(rule, std::move(object));
}

// Spelled out field by field, to check FindingForVirusName itself.
Finding ExpectedFinding(std::string rule, FindingKind kind, Severity severity, std::string object,
                        std::string reason = {}) {
  Finding finding;
  finding.engine = "clamav";
  finding.rule = std::move(rule);
  finding.kind = kind;
  finding.severity = severity;
  finding.object = std::move(object);
  finding.reason = std::move(reason);
  return finding;
}

StatusOr<std::unique_ptr<Detector>> CreateDetector(const std::vector<std::string>& files,
                                                   ScanLimits limits = {}) {
  DetectorFactory factory = MakeDetectorFactory_clamav();
  EXPECT_EQ(factory.name, "clamav");
  return factory.create(DetectorConfig{files, limits, {}});
}

// A detector with an EICAR body signature (.ndb) and the MD5 of clam.exe (.hdb).
class ClamavDetectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rules_ = new TempDir();
    WriteFile(NdbPath(), "Tollgate.Test.EICAR:0:*:" + Hex(EicarBody()) + "\n");
    // clam.exe: 544 bytes, MD5 aa15bcf478d165efd2065190eb473bcb.
    WriteFile(HdbPath(), "aa15bcf478d165efd2065190eb473bcb:544:Tollgate.Test.ClamExe\n");
    auto detector = CreateDetector({NdbPath(), HdbPath()});
    ASSERT_TRUE(detector.ok()) << detector.status().ToString();
    detector_ = std::move(detector).value().release();
  }
  static void TearDownTestSuite() {
    delete detector_;
    delete rules_;
  }
  static std::string NdbPath() { return (rules_->path() / "test.ndb").string(); }
  static std::string HdbPath() { return (rules_->path() / "test.hdb").string(); }

  static TempDir* rules_;
  static Detector* detector_;
};
TempDir* ClamavDetectorTest::rules_ = nullptr;
Detector* ClamavDetectorTest::detector_ = nullptr;

TEST_F(ClamavDetectorTest, NameAndRuleCount) {
  EXPECT_EQ(detector_->Name(), "clamav");
  EXPECT_EQ(detector_->RuleCount(), 2u);
}

TEST_F(ClamavDetectorTest, BodySignatureReportsExactRuleName) {
  const ScanResult result = Scan(*detector_, {.name = "eicar.com", .bytes = Bytes(Eicar())});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings, ElementsAre(ExpectedFinding(std::string(kEicarRule), FindingKind::kSignature,
                                                           Severity::kHigh, "eicar.com")));
  EXPECT_THAT(result.visits, IsEmpty());
}

TEST_F(ClamavDetectorTest, RepeatedMatchesOfOneRuleOnOneLayerAreReportedOnce) {
  const ScanResult result =
      Scan(*detector_, {.name = "twice.txt", .bytes = Bytes(Eicar() + "\n" + Eicar() + "\n" + Eicar())});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings, ElementsAre(ClamavFinding(kEicarRule, "twice.txt")));
}

TEST_F(ClamavDetectorTest, HashSignatureInsideZipNamesTheMember) {
  const ScanResult result = ScanFile(*detector_, "clam.zip");
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings, ElementsAre(ClamavFinding(kClamExeRule, "clam.zip>clam.exe")));
  EXPECT_THAT(result.visits, ElementsAre(Visit{"clam.zip>clam.exe", ReadFile(kTestFiles / "clam.exe"), 1}));
}

TEST_F(ClamavDetectorTest, HashSignatureInside7zNamesTheMember) {
  const ScanResult result = ScanFile(*detector_, "clam.7z");
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings, ElementsAre(ClamavFinding(kClamExeRule, "clam.7z>clam.exe")));
}

TEST_F(ClamavDetectorTest, UnnamedLayersAreNamedByTheirType) {
  const ScanResult result = ScanFile(*detector_, "clam.tar.gz");
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings,
              ElementsAre(ClamavFinding(kClamExeRule, "clam.tar.gz>[CL_TYPE_POSIX_TAR]>clam.exe")));
  ASSERT_EQ(result.visits.size(), 2u);
  EXPECT_EQ(result.visits[0].path, "clam.tar.gz>[CL_TYPE_POSIX_TAR]");
  EXPECT_EQ(result.visits[0].depth, 1u);
  EXPECT_EQ(result.visits[0].bytes.size(), 10240u);
  EXPECT_EQ(result.visits[1],
            (Visit{"clam.tar.gz>[CL_TYPE_POSIX_TAR]>clam.exe", ReadFile(kTestFiles / "clam.exe"), 2}));
}

TEST_F(ClamavDetectorTest, TemporaryFileNamesAreReplacedByTheType) {
  const ScanResult result = ScanFile(*detector_, "clam.mail");
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.VisitedPaths(),
              ElementsAre("clam.mail>unknown", "clam.mail>clam.exe", "clam.mail>[CL_TYPE_TEXT_ASCII]"));
  EXPECT_THAT(result.findings, ElementsAre(ClamavFinding(kClamExeRule, "clam.mail>clam.exe")));
}

TEST_F(ClamavDetectorTest, LayersLibclamavDoesNotAnnounceGetAPlaceholder) {
  // clam.ppt holds an OLE2 document in which libclamav finds PE files at an offset; it recurses
  // into such an embedded PE without announcing it, then announces the PE's copy one level deeper.
  const ScanResult result = ScanFile(*detector_, "clam.ppt");
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(
      result.VisitedPaths(),
      ElementsAre(
          "clam.ppt>ppt00001152.doc", "clam.ppt>ppt00001152.doc>[CL_TYPE_MSEXE]",
          "clam.ppt>ppt00001152.doc>88144fbcb62650fa72c360688f4772c7_1",
          "clam.ppt>ppt00001152.doc>e74f5f7bbf0b77708bc591157d708d3d_1",
          "clam.ppt>ppt00001152.doc>e74f5f7bbf0b77708bc591157d708d3d_1>[?]>[CL_TYPE_MSEXE]",
          "clam.ppt>ppt00001152.doc>[?]>[CL_TYPE_MSEXE]", "clam.ppt>031e0a965ce78208b44b47340128ed45_1",
          "clam.ppt>c94e3926fdf7b9e624cba640b87b17a8_1", "clam.ppt>8f77ea59a4794f91b39913db2e55f3fc_1",
          "clam.ppt>87320d137f01f7b183eb533a1de6c62a_1", "clam.ppt>9ed98e5c3e9685aa3de82c99009a2ed3_1"));
  EXPECT_THAT(result.findings,
              ElementsAre(ClamavFinding(kClamExeRule, "clam.ppt>ppt00001152.doc>[CL_TYPE_MSEXE]")));
}

TEST_F(ClamavDetectorTest, RepeatedAnnouncementsOfALayerAreHandedOnOnce) {
  // libclamav walks clam.ole.doc's object pool once per ancestor directory: 22 announcements.
  const ScanResult result = ScanFile(*detector_, "clam.ole.doc");
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.VisitedPaths(),
              ElementsAre("clam.ole.doc>c94e3926fdf7b9e624cba640b87b17a8_1",
                          "clam.ole.doc>8d777f385d3dfec8815d20f7496026dc_1",
                          "clam.ole.doc>8f77ea59a4794f91b39913db2e55f3fc_1",
                          "clam.ole.doc>126ea3fd0ff7f18c9c5eec0c07398c49_1",
                          "clam.ole.doc>88144fbcb62650fa72c360688f4772c7_1",
                          "clam.ole.doc>4d5f109dc1c0609112df3a2e6f747fea_1",
                          "clam.ole.doc>b716b79df7921f86c7532913ba9e5562_1",
                          "clam.ole.doc>e74f5f7bbf0b77708bc591157d708d3d_1",
                          "clam.ole.doc>e74f5f7bbf0b77708bc591157d708d3d_1>[?]>[CL_TYPE_MSEXE]",
                          "clam.ole.doc>0e2af3cf7b22050354734d7eb56b80d3_1",
                          "clam.ole.doc>88144fbcb62650fa72c360688f4772c7_2", "clam.ole.doc>[CL_TYPE_MSEXE]"));
  EXPECT_THAT(result.findings, ElementsAre(ClamavFinding(kClamExeRule, "clam.ole.doc>[CL_TYPE_MSEXE]")));
}

TEST_F(ClamavDetectorTest, ContainerMatchesReportedAfterItsMembersStayOnTheContainer) {
  // The member is stored, so the EICAR string is also in the ZIP's own bytes; libclamav reports
  // that match after the member's.
  const ScanResult result = Scan(
      *detector_,
      {.name = "stored.zip", .bytes = StoredZip({{"readme.txt", "hello world"}, {"eicar.txt", Eicar()}})});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings, ElementsAre(ClamavFinding(kEicarRule, "stored.zip>eicar.txt"),
                                           ClamavFinding(kEicarRule, "stored.zip")));
  EXPECT_THAT(result.visits, ElementsAre(Visit{"stored.zip>readme.txt", Bytes("hello world"), 1},
                                         Visit{"stored.zip>eicar.txt", Bytes(Eicar()), 1}));
}

TEST_F(ClamavDetectorTest, NestedDepthCountsFromTheObject) {
  ScanRequest request{.name = "clam.tar.gz", .bytes = ReadFile(kTestFiles / "clam.tar.gz"), .depth = 3};
  const ScanResult result = Scan(*detector_, request);
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  ASSERT_EQ(result.visits.size(), 2u);
  EXPECT_EQ(result.visits[0].depth, 4u);
  EXPECT_EQ(result.visits[1].depth, 5u);
}

TEST_F(ClamavDetectorTest, EncryptedZipIsIncomplete) {
  const ScanResult result = Scan(
      *detector_, {.name = "secret.zip", .bytes = StoredZip({{"eicar.txt", Eicar()}}, /*encrypted=*/true)});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings,
              UnorderedElementsAre(ExpectedFinding("Heuristics.Encrypted.Zip", FindingKind::kIncomplete,
                                                   Severity::kHigh, "secret.zip", "encrypted"),
                                   // The "encrypted" bytes are plain text here, so the raw scan matches.
                                   ClamavFinding(kEicarRule, "secret.zip")));
  EXPECT_THAT(result.visits, IsEmpty());
}

TEST_F(ClamavDetectorTest, ZipUnpackedByTollgateIsNotUnpackedAgain) {
  const ScanResult result = ScanFile(*detector_, "clam.zip", "zip");
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.visits, IsEmpty());
  EXPECT_THAT(result.findings, IsEmpty());
  // Other formats are still unpacked when another unpacker owns the layer.
  EXPECT_THAT(ScanFile(*detector_, "clam.7z", "pdf").VisitedPaths(), ElementsAre("clam.7z>clam.exe"));
}

TEST_F(ClamavDetectorTest, PdfUnpackedByTollgateIsNotUnpackedAgain) {
  EXPECT_EQ(ScanFile(*detector_, "clam.pdf").visits.size(), 6u);
  EXPECT_THAT(ScanFile(*detector_, "clam.pdf", "pdf").visits, IsEmpty());
}

TEST_F(ClamavDetectorTest, OoxmlUnpackedByTollgateIsNotUnpackedAgain) {
  const std::vector<uint8_t> docx =
      StoredZip({{"[Content_Types].xml",
                  "<?xml version=\"1.0\"?><Types "
                  "xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
                  "<Override PartName=\"/word/document.xml\" ContentType=\"application/"
                  "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>"},
                 {"_rels/.rels", "<?xml version=\"1.0\"?><Relationships/>"},
                 {"word/document.xml", "<?xml version=\"1.0\"?><w:document/>"}});
  const ScanResult unpacked = Scan(*detector_, {.name = "t.docx", .bytes = docx});
  // libclamav also finds each later member's local header as an embedded ZIP and unzips from there.
  EXPECT_THAT(unpacked.VisitedPaths(),
              ElementsAre("t.docx>[Content_Types].xml", "t.docx>.rels", "t.docx>document.xml",
                          "t.docx>[?]>.rels", "t.docx>[?]>document.xml"));
  EXPECT_THAT(Scan(*detector_, {.name = "t.docx", .bytes = docx, .unpacked_by = "ooxml"}).visits, IsEmpty());
}

TEST_F(ClamavDetectorTest, EmptyObjectIsClean) {
  const ScanResult result = Scan(*detector_, {.name = "empty", .bytes = {}});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings, IsEmpty());
  EXPECT_THAT(result.visits, IsEmpty());
}

TEST_F(ClamavDetectorTest, PassedDeadlineStopsTheScan) {
  const ScanResult result = Scan(
      *detector_,
      {.name = "clam.7z", .bytes = ReadFile(kTestFiles / "clam.7z"), .time_left = -std::chrono::seconds(1)});
  EXPECT_EQ(result.status.code(), StatusCode::kDeadlineExceeded) << result.status.ToString();
  EXPECT_THAT(result.visits, IsEmpty());
  EXPECT_THAT(result.findings, IsEmpty());
}

TEST_F(ClamavDetectorTest, ConcurrentScansGiveIdenticalResults) {
  const std::vector<std::string> files = {"clam.zip",     "clam.7z",   "clam.tar.gz",
                                          "clam.ole.doc", "clam.mail", "clam.pdf"};
  const auto scan_all = [&] {
    std::vector<ScanResult> results;
    for (const std::string& file : files) results.push_back(ScanFile(*detector_, file));
    results.push_back(Scan(*detector_, {.name = "eicar.com", .bytes = Bytes(Eicar())}));
    return results;
  };
  const std::vector<ScanResult> expected = scan_all();
  constexpr int kRounds = 5;
  std::vector<std::vector<ScanResult>> per_thread[2];
  std::thread threads[2];
  for (int t = 0; t < 2; ++t) {
    threads[t] = std::thread([&, t] {
      for (int round = 0; round < kRounds; ++round) per_thread[t].push_back(scan_all());
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& rounds : per_thread) {
    ASSERT_EQ(rounds.size(), static_cast<size_t>(kRounds));
    for (const std::vector<ScanResult>& results : rounds) {
      ASSERT_EQ(results.size(), expected.size());
      for (size_t i = 0; i < results.size(); ++i) {
        EXPECT_TRUE(results[i].status.ok()) << results[i].status.ToString();
        EXPECT_EQ(results[i].findings, expected[i].findings) << i;
        EXPECT_EQ(results[i].visits, expected[i].visits) << i;
      }
    }
  }
  EXPECT_THAT(expected.back().findings, ElementsAre(ClamavFinding(kEicarRule, "eicar.com")));
}

TEST(ClamavDetectorWithoutSignatures, StillUnpacksForTheOtherDetectors) {
  auto detector = CreateDetector({});
  ASSERT_TRUE(detector.ok()) << detector.status().ToString();
  EXPECT_EQ((*detector)->RuleCount(), 0u);
  const ScanResult result = ScanFile(**detector, "clam.7z");
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  EXPECT_THAT(result.findings, IsEmpty());
  EXPECT_THAT(result.visits, ElementsAre(Visit{"clam.7z>clam.exe", ReadFile(kTestFiles / "clam.exe"), 1}));
}

TEST(ClamavDetectorWithoutSignatures, RepeatedScansUnpackEveryTime) {
  // libclamav's clean-file cache would skip the layers of an object it has seen clean before.
  TempDir rules;
  WriteFile(rules.path() / "test.ndb", "Tollgate.Test.EICAR:0:*:" + Hex(EicarBody()) + "\n");
  auto detector = CreateDetector({(rules.path() / "test.ndb").string()});
  ASSERT_TRUE(detector.ok()) << detector.status().ToString();
  for (int i = 0; i < 2; ++i)
    EXPECT_THAT(ScanFile(**detector, "clam.7z").VisitedPaths(), ElementsAre("clam.7z>clam.exe"));
}

TEST(ClamavDetectorScanTime, ExceedingMaxScanTimeIsIncomplete) {
  std::vector<std::pair<std::string, std::string>> members;
  for (int i = 0; i < 2000; ++i)
    members.emplace_back("member" + std::to_string(i) + ".txt", "content " + std::to_string(i));
  ScanLimits limits;
  limits.max_scan_time = std::chrono::milliseconds(1);
  auto detector = CreateDetector({}, limits);
  ASSERT_TRUE(detector.ok()) << detector.status().ToString();
  const ScanResult result = Scan(**detector, {.name = "many.zip", .bytes = StoredZip(members)});
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  ASSERT_EQ(result.findings.size(), 1u);
  EXPECT_EQ(result.findings[0].rule, "Heuristics.Limits.Exceeded.MaxScanTime");
  EXPECT_EQ(result.findings[0].kind, FindingKind::kIncomplete);
  EXPECT_EQ(result.findings[0].reason, "limit");
  EXPECT_LT(result.visits.size(), members.size());
}

TEST(ClamavDetectorCreate, BadDatabaseLineIsInvalidArgument) {
  TempDir rules;
  const std::string file = (rules.path() / "bad.ndb").string();
  WriteFile(file, "this is not a signature\n");
  auto detector = CreateDetector({file});
  ASSERT_EQ(detector.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(detector.status().message(), HasSubstr(file));
  EXPECT_THAT(detector.status().message(), HasSubstr("Malformed database"));
}

TEST(ClamavDetectorCreate, UnknownExtensionIsInvalidArgument) {
  TempDir rules;
  const std::string file = (rules.path() / "rules.yar").string();
  WriteFile(file, "rule x { condition: true }\n");
  auto detector = CreateDetector({file});
  ASSERT_EQ(detector.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(detector.status().message(), HasSubstr(file));
  EXPECT_THAT(detector.status().message(), HasSubstr(".ndb"));
  EXPECT_THAT(detector.status().message(), HasSubstr(".ign2"));
}

TEST(ClamavDetectorCreate, MissingFileIsNotFound) {
  TempDir rules;
  const std::string file = (rules.path() / "missing.hdb").string();
  auto detector = CreateDetector({file});
  ASSERT_EQ(detector.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(detector.status().message(), HasSubstr(file));
}

TEST(ClamavMapping, FindingKinds) {
  EXPECT_EQ(clamav::FindingForVirusName("Heuristics.Limits.Exceeded.MaxFileSize", "a>b"),
            ExpectedFinding("Heuristics.Limits.Exceeded.MaxFileSize", FindingKind::kIncomplete,
                            Severity::kHigh, "a>b", "limit"));
  EXPECT_EQ(clamav::FindingForVirusName("Heuristics.Encrypted.PDF", "a"),
            ExpectedFinding("Heuristics.Encrypted.PDF", FindingKind::kIncomplete, Severity::kHigh, "a",
                            "encrypted"));
  EXPECT_EQ(clamav::FindingForVirusName("Heuristics.Phishing.Email.SpoofedDomain", "a"),
            ExpectedFinding("Heuristics.Phishing.Email.SpoofedDomain", FindingKind::kHeuristic,
                            Severity::kMedium, "a"));
  EXPECT_EQ(clamav::FindingForVirusName("Win.Test.EICAR_HDB-1", "a"),
            ExpectedFinding("Win.Test.EICAR_HDB-1", FindingKind::kSignature, Severity::kHigh, "a"));
}

TEST(ClamavMapping, ScanResultStatuses) {
  EXPECT_TRUE(clamav::StatusForScanResult(CL_CLEAN, "x").ok());
  EXPECT_TRUE(clamav::StatusForScanResult(CL_VIRUS, "x").ok());
  EXPECT_TRUE(clamav::StatusForScanResult(CL_BREAK, "x").ok());
  EXPECT_EQ(clamav::StatusForScanResult(CL_ETIMEOUT, "x").code(), StatusCode::kDeadlineExceeded);
  for (cl_error_t code : {CL_EMAXREC, CL_EMAXSIZE, CL_EMAXFILES, CL_EMEM}) {
    EXPECT_EQ(clamav::StatusForScanResult(code, "x").code(), StatusCode::kResourceExhausted) << code;
  }
  for (cl_error_t code : {CL_EFORMAT, CL_EPARSE, CL_EUNPACK}) {
    EXPECT_EQ(clamav::StatusForScanResult(code, "x").code(), StatusCode::kDataLoss) << code;
  }
  for (cl_error_t code : {CL_EOPEN, CL_ETMPFILE, CL_EARG, CL_ERROR}) {
    EXPECT_EQ(clamav::StatusForScanResult(code, "x").code(), StatusCode::kInternal) << code;
  }
  EXPECT_EQ(clamav::StatusForScanResult(CL_EMAXFILES, "up.zip>a").message(),
            std::string("libclamav could not scan up.zip>a: ") + cl_strerror(CL_EMAXFILES));
}

TEST(ClamavMapping, LayerNames) {
  EXPECT_EQ(clamav::LayerName("clam.exe", "CL_TYPE_MSEXE"), "clam.exe");
  EXPECT_EQ(clamav::LayerName(nullptr, "CL_TYPE_HTML"), "[CL_TYPE_HTML]");
  EXPECT_EQ(clamav::LayerName("", "CL_TYPE_HTML"), "[CL_TYPE_HTML]");
  EXPECT_EQ(clamav::LayerName("clamav-4d0faeef55e6c4fc2b3658a55243b5c4.tmp", "CL_TYPE_TEXT_ASCII"),
            "[CL_TYPE_TEXT_ASCII]");
  EXPECT_EQ(clamav::LayerName("clamav-notes.tmp", "CL_TYPE_TEXT_ASCII"), "clamav-notes.tmp");
}

TEST(ClamavMapping, ScanOptions) {
  const cl_scan_options all = clamav::ScanOptionsFor("");
  EXPECT_EQ(all.general, static_cast<uint32_t>(CL_SCAN_GENERAL_ALLMATCHES | CL_SCAN_GENERAL_HEURISTICS));
  EXPECT_EQ(all.parse, 0x1FFFu);
  EXPECT_EQ(all.heuristic,
            static_cast<uint32_t>(CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE | CL_SCAN_HEURISTIC_ENCRYPTED_DOC |
                                  CL_SCAN_HEURISTIC_EXCEEDS_MAX));
  EXPECT_EQ(all.mail, 0u);
  EXPECT_EQ(all.dev, 0u);
  EXPECT_EQ(clamav::ScanOptionsFor("zip").parse, 0x1FFFu & ~static_cast<uint32_t>(CL_SCAN_PARSE_ARCHIVE));
  EXPECT_EQ(clamav::ScanOptionsFor("ooxml").parse, 0x1FFFu & ~static_cast<uint32_t>(CL_SCAN_PARSE_ARCHIVE));
  EXPECT_EQ(clamav::ScanOptionsFor("pdf").parse, 0x1FFFu & ~static_cast<uint32_t>(CL_SCAN_PARSE_PDF));
  EXPECT_EQ(clamav::ScanOptionsFor("rar").parse, 0x1FFFu);
}

}  // namespace
}  // namespace tollgate
