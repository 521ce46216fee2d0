#include "hyperscan/hyperscan_detector.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace tollgate::hyperscan {
namespace {

class VectorSink : public FindingSink {
 public:
  void Add(Finding finding) override {
    const std::lock_guard lock(mutex_);
    findings_.push_back(std::move(finding));
  }
  // Sorted by rule: the order of callbacks is Hyperscan's business, not the contract.
  std::vector<Finding> Sorted() const {
    const std::lock_guard lock(mutex_);
    std::vector<Finding> sorted = findings_;
    std::sort(sorted.begin(), sorted.end(), [](const Finding& a, const Finding& b) { return a.rule < b.rule; });
    return sorted;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Finding> findings_;
};

ScanContext NoDeadline() { return ScanContext(ScanContext::Clock::now() + std::chrono::hours(1), nullptr); }

std::unique_ptr<Detector> CompileOk(std::string_view text) {
  StatusOr<std::vector<Pattern>> patterns = ParsePatternFile("sigs.txt", text);
  EXPECT_TRUE(patterns.ok()) << patterns.status().ToString();
  if (!patterns.ok()) return nullptr;
  StatusOr<std::unique_ptr<Detector>> detector = CompileHyperscanDetector(std::move(patterns).value());
  EXPECT_TRUE(detector.ok()) << detector.status().ToString();
  return detector.ok() ? std::move(detector).value() : nullptr;
}

Status CompileError(std::string_view text) {
  StatusOr<std::vector<Pattern>> patterns = ParsePatternFile("sigs.txt", text);
  EXPECT_TRUE(patterns.ok()) << patterns.status().ToString();
  if (!patterns.ok()) return patterns.status();
  StatusOr<std::unique_ptr<Detector>> detector = CompileHyperscanDetector(std::move(patterns).value());
  EXPECT_FALSE(detector.ok());
  return detector.status();
}

ScanObject Layer(std::string_view bytes) {
  ScanObject object;
  object.path = ObjectPath("upload.zip").Child("doc.txt");
  object.bytes = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return object;
}

Finding Expected(std::string rule, Severity severity, uint64_t offset) {
  Finding finding;
  finding.engine = "hyperscan";
  finding.rule = std::move(rule);
  finding.severity = severity;
  finding.kind = FindingKind::kSignature;
  finding.object = "upload.zip>doc.txt";
  finding.offset = offset;
  return finding;
}

std::vector<Finding> ScanOk(const Detector& detector, std::string_view bytes) {
  VectorSink sink;
  const Status status = detector.Scan(Layer(bytes), NoDeadline(), sink);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return sink.Sorted();
}

// A file under the test's own temporary directory, so tests never share files.
std::string WriteFile(const std::string& name, std::string_view text) {
  const std::string path = testing::TempDir() + "hyperscan_" +
                           testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

StatusOr<std::unique_ptr<Detector>> CreateFromFiles(std::vector<std::string> files) {
  DetectorConfig config;
  config.files = std::move(files);
  return MakeDetectorFactory_hyperscan().create(config);
}

TEST(HyperscanDetector, FindsTwoSignaturesWithMatchEndOffsets) {
  const auto detector = CompileOk(
      "ALPHA high /evil/\n"
      "BETA medium /b[0-9]+c/\n"
      "GAMMA low /absent/\n");
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(detector->Name(), "hyperscan");
  EXPECT_EQ(detector->RuleCount(), 3u);
  // "evil" occupies bytes 2..5 and "b123c" bytes 8..12: Hyperscan reports one past the last byte.
  EXPECT_EQ(ScanOk(*detector, "xxevilyyb123czz"),
            (std::vector<Finding>{Expected("ALPHA", Severity::kHigh, 6), Expected("BETA", Severity::kMedium, 13)}));
  EXPECT_EQ(ScanOk(*detector, "nothing to see"), std::vector<Finding>{});
}

TEST(HyperscanDetector, ReportsEachSignatureOncePerLayer) {
  const auto detector = CompileOk("REPEAT high /abc/\n");
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(ScanOk(*detector, "abc-abc-abc"), std::vector<Finding>{Expected("REPEAT", Severity::kHigh, 3)});
}

TEST(HyperscanDetector, HonoursFlags) {
  const auto detector = CompileOk(
      "CASELESS high /evil/i\n"
      "CASED high /evil/\n"
      "DOTALL low /a.b/s\n"
      "NODOT low /a.c/\n"
      "MULTILINE medium /^start/m\n"
      "SINGLELINE medium /^line/\n");
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(ScanOk(*detector, "EvIl a\nb a\nc\nstart\nline"),
            (std::vector<Finding>{Expected("CASELESS", Severity::kHigh, 4), Expected("DOTALL", Severity::kLow, 8),
                                  Expected("MULTILINE", Severity::kMedium, 18)}));
}

TEST(HyperscanDetector, NotProsePatternsSkipProseLayersOnly) {
  const auto detector = CompileOk(
      "KEYWORD high /URLDownloadToFile/ not-prose\n"
      "EVERYWHERE high /URLDownload/\n");
  ASSERT_NE(detector, nullptr);
  const std::string_view text = "URLDownloadToFile";
  EXPECT_EQ(ScanOk(*detector, text), (std::vector<Finding>{Expected("EVERYWHERE", Severity::kHigh, 11),
                                                           Expected("KEYWORD", Severity::kHigh, 17)}));
  ScanObject prose = Layer(text);
  prose.prose = true;
  VectorSink sink;
  ASSERT_TRUE(detector->Scan(prose, NoDeadline(), sink).ok());
  EXPECT_EQ(sink.Sorted(), std::vector<Finding>{Expected("EVERYWHERE", Severity::kHigh, 11)});
}

TEST(HyperscanDetector, ReportsTheRejectedPatternWithFileLineAndName) {
  const Status status = CompileError(
      "good high /a/\n"
      "# comment\n"
      "broken high /a(b/\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "sigs.txt:3: broken: Missing close parenthesis for group started at index 1.");
}

TEST(HyperscanDetector, RejectsPatternsThatMatchEmptyInput) {
  const Status status = CompileError("first low /x/\nanything low /.*/\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "sigs.txt:2: anything: Pattern matches empty buffer; use HS_FLAG_ALLOWEMPTY to enable support.");
}

TEST(HyperscanDetector, RejectsNulInsideRegex) {
  Pattern pattern;
  pattern.name = "nul";
  pattern.regex = std::string("a\0b", 3);
  pattern.file = "gen";
  pattern.line = 7;
  const StatusOr<std::unique_ptr<Detector>> detector = CompileHyperscanDetector({pattern});
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(detector.status().message(), "gen:7: nul: regex contains a NUL byte (write \\x00)");
}

TEST(HyperscanDetector, EmptySetScansNothing) {
  const StatusOr<std::unique_ptr<Detector>> detector = CompileHyperscanDetector({});
  ASSERT_TRUE(detector.ok()) << detector.status().ToString();
  EXPECT_EQ((*detector)->RuleCount(), 0u);
  EXPECT_EQ(ScanOk(**detector, "evil evil evil"), std::vector<Finding>{});
}

TEST(HyperscanDetector, ScansEmptyAndBinaryLayers) {
  const auto detector = CompileOk("NUL_RUN high /\\x00\\xff\\x00/\n");
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(ScanOk(*detector, ""), std::vector<Finding>{});
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  every_byte += std::string("\x00\xff\x00", 3);
  EXPECT_EQ(ScanOk(*detector, every_byte), std::vector<Finding>{Expected("NUL_RUN", Severity::kHigh, 259)});
}

TEST(HyperscanDetector, StopsAtTheDeadline) {
  const auto detector = CompileOk("FIRST high /one/\nSECOND high /two/\n");
  ASSERT_NE(detector, nullptr);
  VectorSink sink;
  const ScanContext expired(ScanContext::Clock::now() - std::chrono::seconds(1), nullptr);
  const Status status = detector->Scan(Layer("one two"), expired, sink);
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(), "hyperscan: scan deadline passed");
  // The match found before noticing the deadline is still reported; the scan then stops.
  EXPECT_EQ(sink.Sorted(), std::vector<Finding>{Expected("FIRST", Severity::kHigh, 3)});
}

TEST(HyperscanDetector, RefusesLayersBeyondBlockModeLength) {
  const auto detector = CompileOk("ANY high /x/\n");
  ASSERT_NE(detector, nullptr);
  // Address space only: never touched, so nothing is committed.
  const size_t size = size_t{std::numeric_limits<unsigned int>::max()} + 1;
  void* memory = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  ScanObject object;
  object.path = ObjectPath("huge");
  object.bytes = std::span(static_cast<const uint8_t*>(memory), size);
  VectorSink sink;
  const Status status = detector->Scan(object, NoDeadline(), sink);
  munmap(memory, size);
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "layer too large for hyperscan block mode");
  EXPECT_EQ(sink.Sorted(), std::vector<Finding>{});
}

TEST(HyperscanDetector, ConcurrentScansGiveIdenticalResults) {
  const auto detector = CompileOk(
      "ALPHA high /evil/\n"
      "BETA medium /b[0-9]+c/i\n"
      "GAMMA low /absent/\n");
  ASSERT_NE(detector, nullptr);
  std::string layer(64 * 1024, 'z');
  layer.replace(1000, 4, "evil");
  layer.replace(50000, 5, "B77C");
  const std::vector<Finding> expected = {Expected("ALPHA", Severity::kHigh, 1004),
                                         Expected("BETA", Severity::kMedium, 50004)};

  constexpr int kScans = 256;
  std::vector<std::vector<Finding>> results(kScans);
  std::vector<Status> statuses(kScans);
  tbb::parallel_for(0, kScans, [&](int i) {
    VectorSink sink;
    statuses[i] = detector->Scan(Layer(layer), NoDeadline(), sink);
    results[i] = sink.Sorted();
  });
  for (int i = 0; i < kScans; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].ToString();
    ASSERT_EQ(results[i], expected) << "scan " << i;
  }
}

TEST(HyperscanFactory, CompilesAllFilesIntoOneDetector) {
  const auto factory = MakeDetectorFactory_hyperscan();
  EXPECT_EQ(factory.name, "hyperscan");
  const std::string first = WriteFile("a.txt", "# office\nMACRO high /AutoOpen/\n");
  const std::string second = WriteFile("b.txt", "JS medium /javascript/i\nEMPTYISH low /zzz/\n");
  const StatusOr<std::unique_ptr<Detector>> detector = CreateFromFiles({first, second});
  ASSERT_TRUE(detector.ok()) << detector.status().ToString();
  EXPECT_EQ((*detector)->RuleCount(), 3u);
  EXPECT_EQ(ScanOk(**detector, "Sub AutoOpen() ' JavaScript"),
            (std::vector<Finding>{Expected("JS", Severity::kMedium, 27), Expected("MACRO", Severity::kHigh, 12)}));
}

TEST(HyperscanFactory, NoFilesOrOnlyCommentsGiveAnEmptyDetector) {
  const std::string comments = WriteFile("c.txt", "# nothing yet\n\n");
  for (const std::vector<std::string>& files : {std::vector<std::string>{}, std::vector<std::string>{comments}}) {
    const StatusOr<std::unique_ptr<Detector>> detector = CreateFromFiles(files);
    ASSERT_TRUE(detector.ok()) << detector.status().ToString();
    EXPECT_EQ((*detector)->RuleCount(), 0u);
    EXPECT_EQ(ScanOk(**detector, "AutoOpen"), std::vector<Finding>{});
  }
}

TEST(HyperscanFactory, UnreadableFileIsNotFound) {
  const std::string missing = testing::TempDir() + "hyperscan_does_not_exist.txt";
  const StatusOr<std::unique_ptr<Detector>> detector = CreateFromFiles({missing});
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(detector.status().message(),
            "cannot read hyperscan pattern file " + missing + ": No such file or directory");

  const StatusOr<std::unique_ptr<Detector>> directory = CreateFromFiles({testing::TempDir()});
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(directory.status().message(),
            "cannot read hyperscan pattern file " + testing::TempDir() + ": Is a directory");
}

TEST(HyperscanFactory, ParseErrorNamesTheFile) {
  const std::string bad = WriteFile("bad.txt", "ok high /a/\nnope\n");
  const StatusOr<std::unique_ptr<Detector>> detector = CreateFromFiles({bad});
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(detector.status().message(), bad + ":2: missing severity after signature name \"nope\"");
}

TEST(HyperscanFactory, DuplicateNameAcrossFilesNamesBothPlaces) {
  const std::string first = WriteFile("a.txt", "ONE high /a/\nSHARED low /b/\n");
  const std::string second = WriteFile("b.txt", "\nTWO high /c/\nSHARED high /d/\n");
  const StatusOr<std::unique_ptr<Detector>> detector = CreateFromFiles({first, second});
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(detector.status().message(),
            second + ":3: duplicate signature name \"SHARED\", first defined at " + first + ":2");
}

// The compiled database kept in the cache folder serves exactly the patterns it was compiled from:
// other patterns, or a damaged file, are compiled afresh (and the file replaced).
TEST(HyperscanFactory, CachedDatabaseServesOnlyTheSamePatterns) {
  const std::filesystem::path cache = testing::TempDir() + "hyperscan_cache";
  std::filesystem::remove_all(cache);
  auto create = [&cache](const std::string& file) {
    DetectorConfig config;
    config.files = {file};
    config.compiled_cache_dir = cache.string();
    return MakeDetectorFactory_hyperscan().create(config);
  };
  const std::string old_patterns = WriteFile("old.txt", "OLD high /old-threat/\n");
  ASSERT_TRUE(create(old_patterns).ok());
  const std::filesystem::path database = cache / "hyperscan.db";
  ASSERT_TRUE(std::filesystem::exists(database));
  const auto loaded = create(old_patterns);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(ScanOk(**loaded, "an old-threat here"), std::vector<Finding>{Expected("OLD", Severity::kHigh, 13)});

  const std::string new_patterns = WriteFile("new.txt", "NEW high /new-threat/\n");
  const auto other = create(new_patterns);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(ScanOk(**other, "old-threat new-threat"), std::vector<Finding>{Expected("NEW", Severity::kHigh, 21)});

  // Flip bytes inside the serialized database: Hyperscan's CRC refuses it, so it is compiled again.
  std::string bytes;
  {
    std::ifstream in(database, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 64u);
  for (size_t i = bytes.size() - 32; i < bytes.size(); ++i) bytes[i] = static_cast<char>(~bytes[i]);
  std::ofstream(database, std::ios::binary | std::ios::trunc) << bytes;
  const auto repaired = create(new_patterns);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_EQ(ScanOk(**repaired, "old-threat new-threat"), std::vector<Finding>{Expected("NEW", Severity::kHigh, 21)});
}

}  // namespace
}  // namespace tollgate::hyperscan
