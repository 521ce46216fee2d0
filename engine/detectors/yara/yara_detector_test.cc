#include "yara_detector.h"

#include <gtest/gtest.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "yara_compile.h"
#include "yara_externals.h"

namespace tollgate {
namespace {

namespace fs = std::filesystem;
using yara::YaraDetector;

class CollectingSink : public FindingSink {
 public:
  void Add(Finding finding) override {
    std::lock_guard lock(mutex_);
    findings_.push_back(std::move(finding));
  }
  // Sorted by rule so tests do not depend on libyara's reporting order.
  std::vector<Finding> Sorted() const {
    std::lock_guard lock(mutex_);
    std::vector<Finding> sorted = findings_;
    std::sort(sorted.begin(), sorted.end(),
              [](const Finding& a, const Finding& b) { return a.rule < b.rule; });
    return sorted;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Finding> findings_;
};

class ThrowingSink : public FindingSink {
 public:
  void Add(Finding) override { throw std::runtime_error("sink is closed"); }
};

ScanContext Context(std::chrono::seconds budget = std::chrono::seconds(60)) {
  return ScanContext(ScanContext::Clock::now() + budget, nullptr);
}

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

ScanObject Object(std::string_view content, ObjectPath path = ObjectPath("upload.bin"), FileType type = {}) {
  ScanObject object;
  object.path = std::move(path);
  object.type = std::move(type);
  object.bytes = Bytes(content);
  return object;
}

DetectorConfig Files(std::vector<std::string> files) {
  DetectorConfig config;
  config.files = std::move(files);
  return config;
}

Finding YaraFinding(std::string rule, Severity severity, std::string object, std::optional<uint64_t> offset,
                    std::string detail = "") {
  return Finding{.engine = "yara",
                 .rule = std::move(rule),
                 .severity = severity,
                 .kind = FindingKind::kSignature,
                 .object = std::move(object),
                 .offset = offset,
                 .reason = "",
                 .detail = std::move(detail)};
}

class YaraDetectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tollgate_yara_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string WriteRules(const std::string& name, std::string_view text) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  std::unique_ptr<Detector> MustCreate(std::vector<std::string> files) {
    StatusOr<std::unique_ptr<Detector>> detector = MakeDetectorFactory_yara().create(Files(std::move(files)));
    EXPECT_TRUE(detector.ok()) << detector.status().message();
    return detector.ok() ? std::move(*detector) : nullptr;
  }

  std::vector<Finding> MustScan(const Detector& detector, const ScanObject& object) {
    CollectingSink sink;
    const Status status = detector.Scan(object, Context(), sink);
    EXPECT_TRUE(status.ok()) << status.message();
    return sink.Sorted();
  }

  fs::path dir_;
};

TEST_F(YaraDetectorTest, FactoryIsNamedYara) {
  EXPECT_EQ(MakeDetectorFactory_yara().name, "yara");
  auto detector = MustCreate({});
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(detector->Name(), "yara");
}

TEST_F(YaraDetectorTest, MatchReportsRuleSeverityOffsetAndDescription) {
  const std::string long_description(250, 'd');
  const std::string rules = WriteRules("rules.yar", R"(
rule SeverityCritical { meta: severity = "CRITICAL" strings: $a = "EVIL" condition: $a }
rule SeverityMedium { meta: severity = "Medium" score = 90 strings: $a = "EVIL" condition: $a }
rule SeverityUnknownFallsBackToScore { meta: severity = "severe" score = 60 condition: true }
rule ScoreHigh { meta: score = 75 description = "Known bad marker" strings: $a = "EVIL" condition: $a }
rule ScoreMedium { meta: score = 50 condition: true }
rule ScoreLow { meta: score = 1 condition: true }
rule ScoreInfo { meta: score = 0 condition: true }
rule NoRating { meta: description = ")" + long_description +
                                                        R"(" condition: true }
rule EarliestOfSeveralStrings { strings: $late = "EVIL" $early = "head" condition: $late and $early }
rule NotMatching { strings: $a = "absent" condition: $a }
private rule PrivateHelper { strings: $a = "EVIL" condition: $a }
rule UsesPrivate { condition: PrivateHelper }
)");
  auto detector = MustCreate({rules});
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(detector->RuleCount(), 12u);

  const std::vector<Finding> findings =
      MustScan(*detector, Object("header..EVIL..EVIL", ObjectPath("mail.eml").Child("a.bin")));
  const std::string object = "mail.eml>a.bin";
  EXPECT_EQ(findings,
            (std::vector<Finding>{
                YaraFinding("EarliestOfSeveralStrings", Severity::kHigh, object, 0),
                YaraFinding("NoRating", Severity::kHigh, object, std::nullopt, std::string(200, 'd')),
                YaraFinding("ScoreHigh", Severity::kHigh, object, 8, "Known bad marker"),
                YaraFinding("ScoreInfo", Severity::kInfo, object, std::nullopt),
                YaraFinding("ScoreLow", Severity::kLow, object, std::nullopt),
                YaraFinding("ScoreMedium", Severity::kMedium, object, std::nullopt),
                YaraFinding("SeverityCritical", Severity::kHigh, object, 8),
                YaraFinding("SeverityMedium", Severity::kMedium, object, 8),
                YaraFinding("SeverityUnknownFallsBackToScore", Severity::kMedium, object, std::nullopt),
                YaraFinding("UsesPrivate", Severity::kHigh, object, std::nullopt),
            }));
}

TEST_F(YaraDetectorTest, DescriptionIsNotCutInsideAUtf8Character) {
  // 199 ASCII bytes then a two-byte character: byte 200 would split it.
  const std::string description = std::string(199, 'x') + "\xC3\xA9" + "tail";
  const std::string rules =
      WriteRules("rules.yar", "rule Accent { meta: description = \"" + description + "\" condition: true }");
  auto detector = MustCreate({rules});
  ASSERT_NE(detector, nullptr);
  const std::vector<Finding> findings = MustScan(*detector, Object("x"));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].detail, std::string(199, 'x'));
}

TEST_F(YaraDetectorTest, ExternalsComeFromTheLayer) {
  const std::string rules = WriteRules("thor.yar", R"(
rule PathIs { condition: filepath == "mail.zip>docs/Invoice.PDF.EXE" }
rule NameIs { condition: filename == "Invoice.PDF.EXE" }
rule ExtensionIs { condition: extension == ".exe" }
rule TypeIs { condition: filetype == "EXE" }
rule OwnerIsEmpty { condition: owner == "" }
)");
  auto detector = MustCreate({rules});
  ASSERT_NE(detector, nullptr);
  const FileType pe{.mime = "application/vnd.microsoft.portable-executable",
                    .description = "PE32 executable (GUI) Intel 80386, for MS Windows"};
  const std::string object = "mail.zip>docs/Invoice.PDF.EXE";
  EXPECT_EQ(MustScan(*detector, Object("MZ", ObjectPath("mail.zip").Child("docs/Invoice.PDF.EXE"), pe)),
            (std::vector<Finding>{
                YaraFinding("ExtensionIs", Severity::kHigh, object, std::nullopt),
                YaraFinding("NameIs", Severity::kHigh, object, std::nullopt),
                YaraFinding("OwnerIsEmpty", Severity::kHigh, object, std::nullopt),
                YaraFinding("PathIs", Severity::kHigh, object, std::nullopt),
                YaraFinding("TypeIs", Severity::kHigh, object, std::nullopt),
            }));
  // The same thread's scanner is reused: the next layer's values replace the previous ones.
  EXPECT_EQ(MustScan(*detector, Object("text", ObjectPath("notes.txt"), {"text/plain", "ASCII text"})),
            (std::vector<Finding>{YaraFinding("OwnerIsEmpty", Severity::kHigh, "notes.txt", std::nullopt)}));
}

TEST_F(YaraDetectorTest, KeywordRulesCanSkipProse) {
  const std::string rules = WriteRules("keywords.yar", R"(
rule Keyword { strings: $a = "URLDownloadToFile" condition: $a and not tollgate_prose }
rule Anywhere { strings: $a = "URLDownloadToFile" condition: $a }
)");
  auto detector = MustCreate({rules});
  ASSERT_NE(detector, nullptr);
  ScanObject layer = Object("URLDownloadToFile", ObjectPath("notes.txt"), {"text/plain", ""});
  EXPECT_EQ(MustScan(*detector, layer), (std::vector<Finding>{YaraFinding("Anywhere", Severity::kHigh, "notes.txt", 0),
                                                              YaraFinding("Keyword", Severity::kHigh, "notes.txt", 0)}));
  layer.prose = true;
  EXPECT_EQ(MustScan(*detector, layer),
            (std::vector<Finding>{YaraFinding("Anywhere", Severity::kHigh, "notes.txt", 0)}));
}

TEST(YaraExternalsTest, FilenameExtensionAndProse) {
  auto values = [](ObjectPath path, bool prose = false) {
    ScanObject object = Object("", std::move(path));
    object.prose = prose;
    std::vector<std::string> result;
    for (auto& external : yara::ExternalVariablesFor(object)) {
      const auto* text = std::get_if<std::string>(&external.value);
      result.push_back(std::string(external.name) + "=" +
                       (text ? *text : std::get<bool>(external.value) ? "true" : "false"));
    }
    return result;
  };
  EXPECT_EQ(values(ObjectPath("a.zip").Child("dir\\Payload.Tar.GZ")),
            (std::vector<std::string>{"filename=Payload.Tar.GZ", "filepath=a.zip>dir\\Payload.Tar.GZ",
                                      "extension=.gz", "filetype=", "owner=", "tollgate_prose=false"}));
  EXPECT_EQ(values(ObjectPath(".bashrc")), (std::vector<std::string>{"filename=.bashrc", "filepath=.bashrc", "extension=",
                                                                     "filetype=", "owner=", "tollgate_prose=false"}));
  EXPECT_EQ(values(ObjectPath("README"), true),
            (std::vector<std::string>{"filename=README", "filepath=README", "extension=", "filetype=", "owner=",
                                      "tollgate_prose=true"}));
  EXPECT_EQ(values(ObjectPath()), (std::vector<std::string>{"filename=", "filepath=", "extension=", "filetype=",
                                                            "owner=", "tollgate_prose=false"}));
}

TEST(YaraExternalsTest, ThorFileTypeFromLibmagic) {
  using yara::ThorFileType;
  EXPECT_EQ(ThorFileType({"application/x-dosexec", "MS-DOS executable"}), "EXE");
  EXPECT_EQ(ThorFileType({"application/vnd.microsoft.portable-executable", "PE32+ executable (DLL)"}), "EXE");
  EXPECT_EQ(ThorFileType({"application/x-pie-executable", "ELF 64-bit LSB pie executable, x86-64"}), "ELF");
  EXPECT_EQ(ThorFileType({"application/x-mach-binary", "Mach-O 64-bit x86_64 executable"}), "MACH-O");
  EXPECT_EQ(ThorFileType({"application/zip", "Zip archive data, at least v2.0 to extract"}), "ZIP");
  EXPECT_EQ(ThorFileType({"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                          "Microsoft Word 2007+"}),
            "DOCX");
  EXPECT_EQ(ThorFileType({"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ""}), "XLSX");
  EXPECT_EQ(ThorFileType({"application/octet-stream", "Microsoft PowerPoint 2007+"}), "PPTX");
  EXPECT_EQ(ThorFileType({"application/pdf", "PDF document, version 1.7"}), "PDF");
  EXPECT_EQ(ThorFileType({"application/CDFV2", "Composite Document File V2 Document"}), "DOC");
  EXPECT_EQ(ThorFileType({"application/vnd.ms-excel", "Composite Document File V2 Document"}), "DOC");
  EXPECT_EQ(ThorFileType({"text/rtf", "Rich Text Format data, version 1, ANSI"}), "RTF");
  EXPECT_EQ(ThorFileType({"image/jpeg", "JPEG image data, JFIF standard 1.01"}), "JPEG");
  EXPECT_EQ(ThorFileType({"image/png", "PNG image data, 1 x 1"}), "PNG");
  EXPECT_EQ(ThorFileType({"image/gif", "GIF image data, version 89a"}), "GIF");
  EXPECT_EQ(ThorFileType({"text/x-msdos-batch", "DOS batch file, ASCII text"}), "BATCH");
  EXPECT_EQ(ThorFileType({"text/x-php", "PHP script, ASCII text"}), "PHP");
  EXPECT_EQ(ThorFileType({"text/x-script.python", "Python script, ASCII text executable"}), "Python");
  EXPECT_EQ(ThorFileType({"text/plain", "a /usr/bin/pwsh -File script, ASCII text executable"}),
            "PowerShell");
  EXPECT_EQ(ThorFileType({"text/plain", "a pwsh script, ASCII text executable"}), "PowerShell");
  EXPECT_EQ(ThorFileType({"text/plain", "a /usr/bin/pwshell script, ASCII text executable"}), "");
  EXPECT_EQ(ThorFileType({"text/plain", "ASCII text"}), "");
  EXPECT_EQ(ThorFileType({"", ""}), "");
}

TEST_F(YaraDetectorTest, SameRuleNameInTwoFilesAndIncludesRelativeToTheFile) {
  const std::string first = WriteRules("one/a.yar",
                                       "include \"common/helper.yar\"\n"
                                       "rule Shared { condition: Helper }\n");
  WriteRules("one/common/helper.yar", "private rule Helper { strings: $a = \"marker\" condition: $a }\n");
  const std::string second = WriteRules("two/a.yar", "rule Shared { strings: $a = \"ker\" condition: $a }\n");
  auto detector = MustCreate({first, second});
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(MustScan(*detector, Object("a marker")),
            (std::vector<Finding>{YaraFinding("Shared", Severity::kHigh, "upload.bin", std::nullopt),
                                  YaraFinding("Shared", Severity::kHigh, "upload.bin", 5)}));
}

TEST_F(YaraDetectorTest, ModulesOfTheSystemLibraryAreAvailable) {
  const std::string rules = WriteRules("modules.yar", R"(
import "pe"
import "elf"
import "math"
import "hash"
import "dotnet"
import "macho"
import "dex"
import "time"
import "magic"
rule ModulesRun {
  condition:
    not pe.is_pe and not defined elf.type and not defined dotnet.is_dotnet and not defined macho.magic and
    not defined dex.header.magic and time.now() > 0 and magic.mime_type() == "text/plain" and
    hash.md5(0, filesize) == "5d41402abc4b2a76b9719d911017c592" and math.entropy(0, filesize) > 1.5
}
)");
  auto detector = MustCreate({rules});
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(MustScan(*detector, Object("hello")),
            (std::vector<Finding>{YaraFinding("ModulesRun", Severity::kHigh, "upload.bin", std::nullopt)}));
}

TEST_F(YaraDetectorTest, IncludesThatLeaveTheRuleFilesFolderAreRefusedWhereverTheyStand) {
  WriteRules("secret.yar", "rule Secret { condition: true }\n");
  const std::string nested = WriteRules("set/a.yar", "include \"common/helper.yar\"\nrule A { condition: Helper }\n");
  WriteRules("set/common/helper.yar", "/* shared */ private rule Helper { condition: true } include \"../../secret.yar\"\n");
  const std::string absolute = WriteRules("set/b.yar", "rule B { condition: true } /* x */ include \"" +
                                                         (dir_ / "secret.yar").string() + "\"\n");
  for (const std::string& file : {nested, absolute}) {
    StatusOr<std::unique_ptr<Detector>> detector = MakeDetectorFactory_yara().create(Files({file}));
    ASSERT_FALSE(detector.ok()) << file;
    EXPECT_EQ(detector.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(detector.status().message().find("\" leaves the folder of the rule file: refused"), std::string::npos)
        << detector.status().message();
  }
  EXPECT_EQ(yara::FirstEscapingInclude(nested).value(), std::optional<std::string>("../../secret.yar"));
  EXPECT_EQ(yara::FirstEscapingInclude(absolute).value(), std::optional<std::string>((dir_ / "secret.yar").string()));
  const std::string inside = WriteRules("set/c.yar", "include \"common/helper2.yar\"\n");
  WriteRules("set/common/helper2.yar", "rule Helper2 { condition: true }\n");
  EXPECT_EQ(yara::FirstEscapingInclude(inside).value(), std::nullopt);
  EXPECT_NE(MustCreate({inside}), nullptr);
}

TEST_F(YaraDetectorTest, CompileErrorsNameFileAndLineForEveryFile) {
  const std::string good = WriteRules("good.yar", "rule Good { condition: true }\n");
  const std::string syntax = WriteRules("syntax.yar", "rule A {\n  condition:\n    true and and\n}\n");
  const std::string undefined = WriteRules("undefined.yar", "\nrule B { condition: $missing }\n");
  StatusOr<std::unique_ptr<Detector>> detector =
      MakeDetectorFactory_yara().create(Files({good, syntax, undefined}));
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), StatusCode::kInvalidArgument);
  const std::string message = detector.status().message();
  EXPECT_EQ(message.find(syntax + ":3: syntax error"), 0u) << message;
  EXPECT_NE(message.find("\n" + undefined + ":2: undefined string \"$missing\""), std::string::npos)
      << message;
  EXPECT_EQ(message.find(good), std::string::npos) << message;
}

TEST_F(YaraDetectorTest, UndeclaredExternalIsACompileError) {
  const std::string rules = WriteRules("ext.yar", "rule A { condition: unknown_external == \"\" }\n");
  StatusOr<std::unique_ptr<Detector>> detector = MakeDetectorFactory_yara().create(Files({rules}));
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().message(), rules + ":1: undefined identifier \"unknown_external\"");
}

TEST_F(YaraDetectorTest, UnreadableFileIsNotFound) {
  const std::string missing = (dir_ / "missing.yar").string();
  StatusOr<std::unique_ptr<Detector>> detector = MakeDetectorFactory_yara().create(Files({missing}));
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), StatusCode::kNotFound);
  EXPECT_NE(detector.status().message().find(missing), std::string::npos) << detector.status().message();

  detector = MakeDetectorFactory_yara().create(Files({dir_.string()}));
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), StatusCode::kNotFound);
  EXPECT_NE(detector.status().message().find(dir_.string()), std::string::npos)
      << detector.status().message();
}

TEST_F(YaraDetectorTest, WarningsAreKept) {
  const std::string rules =
      WriteRules("slow.yar", "rule Slow {\n  strings:\n    $a = { 00 ?? }\n  condition: $a\n}\n");
  StatusOr<std::unique_ptr<YaraDetector>> detector = YaraDetector::Create(Files({rules}));
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_EQ((*detector)->compile_warnings(),
            (std::vector<std::string>{rules + ":3: string \"$a\" may slow down scanning"}));
}

TEST_F(YaraDetectorTest, EmptyFileListGivesADetectorWithoutRules) {
  auto detector = MustCreate({});
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(detector->RuleCount(), 0u);
  EXPECT_TRUE(MustScan(*detector, Object("anything")).empty());
}

TEST_F(YaraDetectorTest, SeveralDetectorsShareTheLibrary) {
  const std::string a = WriteRules("a.yar", "rule A { strings: $a = \"x\" condition: $a }\n");
  const std::string b = WriteRules("b.yar", "rule B { strings: $b = \"x\" condition: $b }\n");
  auto first = MustCreate({a});
  auto second = MustCreate({b});
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(MustScan(*first, Object("x")),
            (std::vector<Finding>{YaraFinding("A", Severity::kHigh, "upload.bin", 0)}));
  EXPECT_EQ(MustScan(*second, Object("x")),
            (std::vector<Finding>{YaraFinding("B", Severity::kHigh, "upload.bin", 0)}));
  // Destroying one detector must leave libyara initialized for the other.
  first.reset();
  EXPECT_EQ(MustScan(*second, Object("x")),
            (std::vector<Finding>{YaraFinding("B", Severity::kHigh, "upload.bin", 0)}));
  second.reset();
  // And libyara can be initialized again after the last one is gone.
  auto third = MustCreate({a});
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(MustScan(*third, Object("x")),
            (std::vector<Finding>{YaraFinding("A", Severity::kHigh, "upload.bin", 0)}));
}

TEST_F(YaraDetectorTest, ConcurrentScansFromManyThreads) {
  const std::string rules = WriteRules("rules.yar", R"(
rule Marker { strings: $a = "marker" condition: $a }
rule NamedTxt { condition: extension == ".txt" }
)");
  auto detector = MustCreate({rules});
  ASSERT_NE(detector, nullptr);
  constexpr int kLayers = 200;
  std::vector<std::string> contents(kLayers);
  for (int i = 0; i < kLayers; ++i) contents[i] = std::string(i, ' ') + (i % 2 == 0 ? "marker" : "plain");
  CollectingSink sink;
  std::atomic<int> failures = 0;
  tbb::parallel_for(0, kLayers, [&](int i) {
    const std::string name = std::to_string(i) + (i % 3 == 0 ? ".txt" : ".bin");
    if (!detector->Scan(Object(contents[i], ObjectPath(name)), Context(), sink).ok()) ++failures;
  });
  EXPECT_EQ(failures, 0);
  std::vector<Finding> expected;
  for (int i = 0; i < kLayers; ++i) {
    const std::string name = std::to_string(i) + (i % 3 == 0 ? ".txt" : ".bin");
    if (i % 2 == 0) expected.push_back(YaraFinding("Marker", Severity::kHigh, name, i));
    if (i % 3 == 0) expected.push_back(YaraFinding("NamedTxt", Severity::kHigh, name, std::nullopt));
  }
  auto by_rule_then_object = [](const Finding& a, const Finding& b) {
    return std::tie(a.rule, a.object) < std::tie(b.rule, b.object);
  };
  std::vector<Finding> found = sink.Sorted();
  std::sort(found.begin(), found.end(), by_rule_then_object);
  std::sort(expected.begin(), expected.end(), by_rule_then_object);
  EXPECT_EQ(found, expected);
}

TEST_F(YaraDetectorTest, TimeoutIsDeadlineExceeded) {
  // Quadratic in the file size: far longer than libyara's minimum timeout of one second.
  const std::string rules = WriteRules("slow.yar", R"(
rule Quadratic {
  condition: for all i in (0..filesize) : (for all j in (0..filesize) : (uint8(i) == uint8(j)))
}
)");
  auto detector = MustCreate({rules});
  ASSERT_NE(detector, nullptr);
  const std::string content(200'000, 'a');
  CollectingSink sink;
  const auto started = std::chrono::steady_clock::now();
  const Status status = detector->Scan(Object(content), Context(std::chrono::seconds(0)), sink);
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded) << status.message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_TRUE(sink.Sorted().empty());
}

TEST_F(YaraDetectorTest, FailingSinkIsAnErrorNotACrash) {
  const std::string rules = WriteRules("rules.yar", "rule A { condition: true }\n");
  auto detector = MustCreate({rules});
  ASSERT_NE(detector, nullptr);
  ThrowingSink sink;
  const Status status = detector->Scan(Object("x"), Context(), sink);
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(status.message(), "yara: reporting a match failed: sink is closed");
}

// Rule sets nobody on the project wrote must load unchanged (externals, modules, includes).
TEST(YaraWildRulesTest, SignatureBaseAndDitekshenCompileTogether) {
  const fs::path root = TOLLGATE_SHARED_RULESETS_DIR;
  // They are never copied into the project (see TOLLGATE_SHARED_RULESETS_DIR in CMakeLists.txt).
  if (!fs::is_directory(root)) GTEST_SKIP() << "no public rule sets at " << root;
  std::vector<std::string> files;
  for (const char* set : {"signature-base/yara", "ditekshen-detection/yara"}) {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root / set)) {
      const fs::path extension = entry.path().extension();
      if (entry.is_regular_file() && (extension == ".yar" || extension == ".yara"))
        files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 700u);
  StatusOr<std::unique_ptr<Detector>> detector = MakeDetectorFactory_yara().create(Files(files));
  ASSERT_TRUE(detector.ok()) << detector.status().message();
  EXPECT_GT((*detector)->RuleCount(), 7000u);
  CollectingSink sink;
  const Status status = (*detector)->Scan(
      Object("plain text", ObjectPath("notes.txt"), {"text/plain", "ASCII text"}), Context(), sink);
  EXPECT_TRUE(status.ok()) << status.message();
}

}  // namespace
}  // namespace tollgate
