// The PDF unpacker through the real Scanner: the generated corpus (corpus/pdf_samples.py), hostile
// documents built here (bombs, reference cycles), and real documents from Debian packages.
//
// Most tests scan with a probe bundle: YARA rules of severity info that report every layer (so the
// exact object paths show) and the decoded content the unpacker must hand out.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "test_support.h"

namespace tollgate::testing {
namespace {

// Probes that show every layer and what it holds: Hyperscan sees files and content streams alike
// (YARA only files, where it also sees an empty layer). The policy makes them informational.
constexpr char kProbeLayerRule[] = R"(rule Probe_Layer { meta: severity = "info" condition: true })";
constexpr char kProbePatterns[] = R"(Probe_Layer low /^./s
Probe_Alert low /app\.alert\('Tollgate/
Probe_Eicar low /EICAR-STANDARD-ANTIVIRUS-TEST-FILE!/
Probe_Text low /Probe text/
)";
constexpr char kProbePolicy[] = R"(name = "probes"
[severity]
high = "malicious"
medium = "suspicious"
low = "suspicious"
info = "clean"
[action]
clean = "allow"
suspicious = "block"
malicious = "block"
incomplete = "block"
[[override]]
rule = "Probe_*"
verdict = "clean"
)";
constexpr char kUserPassword[] = "tollgate-corpus";  // corpus/pdf_samples.py USER_PASSWORD

const std::filesystem::path kPdfCorpus = kCorpus / "threats" / "pdf";

std::span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// ---- Building PDFs ----

std::string Stream(const std::string& entries, const std::string& data) {
  return "<< " + entries + " /Length " + std::to_string(data.size()) + " >>\nstream\n" + data + "\nendstream";
}

// Objects 1..n with a correct xref table; the catalog is object 1.
std::string Pdf(const std::vector<std::string>& bodies) {
  std::string out = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < bodies.size(); ++i) {
    offsets.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + bodies[i] + "\nendobj\n";
  }
  const size_t xref = out.size();
  out += "xref\n0 " + std::to_string(bodies.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char entry[21];
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
    out += entry;
  }
  out += "trailer\n<< /Size " + std::to_string(bodies.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return out;
}

// A one-page document: catalog (1, with `catalog_extra`), pages (2), page (3, with `page_extra`),
// content stream (4), then `extra` as objects 5, 6, ...
std::string OnePagePdf(const std::string& catalog_extra, const std::string& page_extra,
                       const std::vector<std::string>& extra) {
  std::vector<std::string> bodies = {
      "<< /Type /Catalog /Pages 2 0 R " + catalog_extra + " >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R " + page_extra + " >>",
      Stream("", "BT /F1 12 Tf 72 720 Td (Hello) Tj ET"),
  };
  bodies.insert(bodies.end(), extra.begin(), extra.end());
  return Pdf(bodies);
}

std::string Zlib(const std::string& data, int level = 9) {
  uLongf size = compressBound(data.size());
  std::string out(size, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(data.data()), data.size(),
            level);
  out.resize(size);
  return out;
}

// PDF 1.5: `compressed` (objects 1..n, the catalog first) inside one Flate object stream (n + 1),
// indexed by an xref stream (n + 2), so none of their bytes show in the file.
std::string PdfWithObjectStream(const std::vector<std::string>& compressed) {
  const size_t n = compressed.size();
  std::string index, objects;
  for (size_t i = 0; i < n; ++i) {
    index += std::to_string(i + 1) + " " + std::to_string(objects.size()) + " ";
    objects += compressed[i] + "\n";
  }
  std::string out = "%PDF-1.5\n";
  const size_t object_stream = out.size();
  out += std::to_string(n + 1) + " 0 obj\n" +
         Stream("/Type /ObjStm /N " + std::to_string(n) + " /First " + std::to_string(index.size()) +
                    " /Filter /FlateDecode",
                Zlib(index + objects)) +
         "\nendobj\n";
  const size_t xref = out.size();
  std::string rows;
  auto row = [&rows](uint8_t type, uint32_t field, uint16_t number) {
    rows += static_cast<char>(type);
    for (int shift : {24, 16, 8, 0}) rows += static_cast<char>(field >> shift);
    for (int shift : {8, 0}) rows += static_cast<char>(number >> shift);
  };
  row(0, 0, 65535);
  for (size_t i = 0; i < n; ++i) row(2, n + 1, i);
  row(1, object_stream, 0);
  row(1, xref, 0);
  out += std::to_string(n + 2) + " 0 obj\n" +
         Stream("/Type /XRef /Size " + std::to_string(n + 3) + " /W [1 4 2] /Root 1 0 R", rows) +
         "\nendobj\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return out;
}

// zlib data that inflates to `mebibytes` MiB of zeros, built without compressing them all: after a
// full flush, every further MiB of zeros deflates to the same bytes.
std::string ZerosDeflated(size_t mebibytes) {
  z_stream z{};
  deflateInit(&z, 9);
  const std::string zeros(1 << 20, '\0');
  auto deflate_some = [&](const std::string& in, int flush) {
    std::string out(deflateBound(&z, in.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = in.size();
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = out.size();
    deflate(&z, flush);
    out.resize(out.size() - z.avail_out);
    return out;
  };
  std::string out = deflate_some(zeros, Z_FULL_FLUSH);  // zlib header + the first MiB
  const std::string next_mebibyte = deflate_some(zeros, Z_FULL_FLUSH);
  for (size_t i = 1; i < mebibytes; ++i) out += next_mebibyte;
  std::string end = deflate_some("", Z_FINISH);
  deflateEnd(&z);
  // The trailer's Adler-32 must cover every zero: a = 1, b = count mod 65521.
  const uint32_t adler = ((static_cast<uint64_t>(mebibytes) << 20) % 65521) << 16 | 1;
  for (int i = 0; i < 4; ++i) end[end.size() - 4 + i] = static_cast<char>(adler >> (24 - 8 * i));
  return out + end;
}

// ---- Scanning ----

struct Result {
  Verdict verdict = Verdict::kClean;
  std::set<std::string> layers;   // every layer's object path
  std::vector<std::string> pdf;   // the unpacker's findings: "rule severity object"
  std::set<std::string> probes;   // "Probe_X object" for content probes
  std::vector<Finding> findings;  // everything
  std::chrono::microseconds duration{0};
};

bool IsPdfUnpackerRule(const std::string& rule) {
  return rule.starts_with("Tollgate.PDF.") || rule.starts_with("Tollgate.Incomplete.") ||
         rule.starts_with("Tollgate.Decrypt.");
}

Result Summarize(const ScanReport& report) {
  Result result;
  result.verdict = report.verdict;
  result.duration = report.duration;
  result.findings = report.findings;
  for (const Finding& f : report.findings) {
    if (f.rule == "Probe_Layer") {
      result.layers.insert(f.object);
    } else if (f.rule.starts_with("Probe_")) {
      result.probes.insert(f.rule + " " + f.object);
    } else if (IsPdfUnpackerRule(f.rule)) {
      result.pdf.push_back(f.rule + " " + std::string(ToString(f.severity)) + " " + f.object);
    }
  }
  return result;
}

std::string DetailOf(const Result& result, const std::string& rule) {
  for (const Finding& f : result.findings) {
    if (f.rule == rule) return f.detail;
  }
  return "(no " + rule + ")";
}

class PdfUnpackerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    probe_bundle_ = std::make_unique<TempDir>();
    MakeBundle(probe_bundle_->path() / "rules", {{"yara/probes.yar", kProbeLayerRule}, {"hyperscan/probes.pat", kProbePatterns}});
    WriteFile(probe_bundle_->path() / "policy.toml", kProbePolicy);
    probe_scanner_ = ProbeScanner({});
    default_scanner_ = ScannerWith("", {});
  }
  static void TearDownTestSuite() {
    probe_scanner_.reset();
    default_scanner_.reset();
    probe_bundle_.reset();
  }

  // The probes, with these passwords.
  static std::unique_ptr<Scanner> ProbeScanner(std::vector<std::string> passwords) {
    return ScannerWith((probe_bundle_->path() / "rules").string(), std::move(passwords),
                       (probe_bundle_->path() / "policy.toml").string());
  }

  static std::unique_ptr<Scanner> ScannerWith(const std::string& rules_dir, std::vector<std::string> passwords,
                                              const std::string& policy_file = "") {
    ScannerOptions options;
    options.rules_dir = rules_dir;
    options.passwords = std::move(passwords);
    options.policy_file = policy_file;
    return MakeScanner(options);
  }

  static Result Probe(const std::string& name, const std::string& bytes) {
    return Summarize(probe_scanner_->Scan(name, Bytes(bytes)));
  }
  static Result ProbeSample(const std::string& sample) { return Probe(sample, ReadFile(kPdfCorpus / sample)); }

  static inline std::unique_ptr<TempDir> probe_bundle_;
  static inline std::unique_ptr<Scanner> probe_scanner_;    // the probe rules only
  static inline std::unique_ptr<Scanner> default_scanner_;  // the shipped rule bundle
};

using Strings = std::vector<std::string>;
using StringSet = std::set<std::string>;

// ---- The corpus ----

TEST_F(PdfUnpackerTest, OpenActionJavaScriptIsAutoRunAndItsScriptIsALayer) {
  const Result r = ProbeSample("openaction_javascript.pdf");
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.JavaScript medium openaction_javascript.pdf",
                            "Tollgate.PDF.OpenActionJavaScript high openaction_javascript.pdf"}));
  EXPECT_EQ(r.layers, (StringSet{"openaction_javascript.pdf", "openaction_javascript.pdf>javascript/1.js",
                                 "openaction_javascript.pdf>objects/4.0"}));
  // The layer holds the decoded script: the file itself only has the escaped "app.alert\(".
  EXPECT_EQ(r.probes, (StringSet{"Probe_Alert openaction_javascript.pdf>javascript/1.js"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.OpenActionJavaScript"),
            "OpenAction runs JavaScript when the document opens: first in object 1 0");
  EXPECT_EQ(r.verdict, Verdict::kMalicious);
}

TEST_F(PdfUnpackerTest, PageOpenAdditionalActionJavaScriptIsAutoRun) {
  const Result r = ProbeSample("page_open_javascript.pdf");
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.AdditionalActionJavaScript high page_open_javascript.pdf",
                            "Tollgate.PDF.JavaScript medium page_open_javascript.pdf"}));
  EXPECT_EQ(r.layers, (StringSet{"page_open_javascript.pdf", "page_open_javascript.pdf>javascript/1.js",
                                 "page_open_javascript.pdf>objects/4.0"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.AdditionalActionJavaScript"),
            "additional action (/AA) runs JavaScript without user interaction: first in object 3 0");
  EXPECT_EQ(r.verdict, Verdict::kMalicious);
}

TEST_F(PdfUnpackerTest, LaunchActionIsMalicious) {
  const Result r = ProbeSample("launch_cmd.pdf");
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.AutomaticAction high launch_cmd.pdf", "Tollgate.PDF.Launch high launch_cmd.pdf"}));
  EXPECT_EQ(r.layers, (StringSet{"launch_cmd.pdf", "launch_cmd.pdf>objects/4.0"}));
  EXPECT_EQ(r.verdict, Verdict::kMalicious);
}

TEST_F(PdfUnpackerTest, EmbeddedEicarIsAnAttachmentLayerNamedByItsFileName) {
  const Result r = ProbeSample("eicar_attachment.pdf");
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.EmbeddedFile info eicar_attachment.pdf"}));
  EXPECT_EQ(r.layers, (StringSet{"eicar_attachment.pdf", "eicar_attachment.pdf>attachments/eicar.com",
                                 "eicar_attachment.pdf>objects/4.0"}));
  // Flate-compressed in the file: only the decoded layer holds the EICAR string.
  EXPECT_EQ(r.probes, (StringSet{"Probe_Eicar eicar_attachment.pdf>attachments/eicar.com"}));

  const ScanReport report =
      default_scanner_->Scan("eicar_attachment.pdf", Bytes(ReadFile(kPdfCorpus / "eicar_attachment.pdf")));
  EXPECT_EQ(report.verdict, Verdict::kMalicious);
}

TEST_F(PdfUnpackerTest, JavaScriptInsideACompressedObjectStreamIsFound) {
  const std::string bytes = ReadFile(kPdfCorpus / "javascript_in_object_stream.pdf");
  ASSERT_EQ(bytes.find("/OpenAction"), std::string::npos) << "the sample must hide its catalog";
  const Result r = Probe("objstm.pdf", bytes);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.JavaScript medium objstm.pdf",
                            "Tollgate.PDF.OpenActionJavaScript high objstm.pdf"}));
  // Object 6 is the object stream (decoded: engines see its objects), 7 the xref stream (skipped).
  EXPECT_EQ(r.layers, (StringSet{"objstm.pdf", "objstm.pdf>javascript/1.js", "objstm.pdf>objects/4.0",
                                 "objstm.pdf>objects/6.0"}));
  EXPECT_EQ(r.probes, (StringSet{"Probe_Alert objstm.pdf>javascript/1.js"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.JavaScript"), "JavaScript: first in object 5 0");
  EXPECT_EQ(r.verdict, Verdict::kMalicious);
}

TEST_F(PdfUnpackerTest, HexEscapedNamesAreObfuscation) {
  const Result r = ProbeSample("obfuscated_names.pdf");
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.JavaScript medium obfuscated_names.pdf",
                            "Tollgate.PDF.NameObfuscation high obfuscated_names.pdf",
                            "Tollgate.PDF.OpenActionJavaScript high obfuscated_names.pdf"}));
  const std::string bytes = ReadFile(kPdfCorpus / "obfuscated_names.pdf");
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.NameObfuscation"),
            "hex-escaped name spells a key viewers act on: first in offset " +
                std::to_string(bytes.find("/Java#53cript")) + " (/Java#53cript), 2 places in all");
  EXPECT_EQ(r.probes, (StringSet{"Probe_Alert obfuscated_names.pdf>javascript/1.js"}));
  EXPECT_EQ(r.verdict, Verdict::kMalicious);
}

TEST_F(PdfUnpackerTest, UserPasswordWithoutThePasswordIsIncompleteEncrypted) {
  const Result r = ProbeSample("user_password.pdf");
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.Incomplete.encrypted high user_password.pdf"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.Incomplete.encrypted"), "pdf: needs a password to open and none was given");
  EXPECT_EQ(r.layers, (StringSet{"user_password.pdf"}));
  EXPECT_EQ(r.verdict, Verdict::kIncomplete);
}

TEST_F(PdfUnpackerTest, UserPasswordWithWrongPasswordsRecordsEachAttempt) {
  auto scanner = ProbeScanner({"wrong", "also wrong"});
  const Result r = Summarize(scanner->Scan("user_password.pdf", Bytes(ReadFile(kPdfCorpus / "user_password.pdf"))));
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.Decrypt.Attempt info user_password.pdf",
                            "Tollgate.Decrypt.Attempt info user_password.pdf",
                            "Tollgate.Incomplete.encrypted high user_password.pdf"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.Incomplete.encrypted"),
            "pdf: needs a password to open and no given password opens it");
  EXPECT_EQ(r.verdict, Verdict::kIncomplete);
}

TEST_F(PdfUnpackerTest, UserPasswordWithTheRightPasswordIsDecryptedAndScanned) {
  auto probe = ProbeScanner({"wrong", kUserPassword});
  const std::string bytes = ReadFile(kPdfCorpus / "user_password.pdf");
  const Result r = Summarize(probe->Scan("user_password.pdf", Bytes(bytes)));
  EXPECT_EQ(
      r.pdf,
      (Strings{"Tollgate.Decrypt.Attempt info user_password.pdf", "Tollgate.Decrypt.Attempt info user_password.pdf",
               "Tollgate.PDF.EmbeddedFile info user_password.pdf", "Tollgate.PDF.Encrypted info user_password.pdf"}));
  std::vector<std::string> attempts;
  for (const Finding& f : r.findings) {
    if (f.rule == "Tollgate.Decrypt.Attempt") attempts.push_back(f.detail);
  }
  EXPECT_EQ(attempts, (Strings{"password 1 of 2: rejected", "password 2 of 2: accepted"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.Encrypted"), "encrypted with RC4, 128-bit key; opened with password 2");
  EXPECT_EQ(r.layers, (StringSet{"user_password.pdf", "user_password.pdf>attachments/eicar.com",
                                 "user_password.pdf>objects/4.0"}));
  EXPECT_EQ(r.probes, (StringSet{"Probe_Eicar user_password.pdf>attachments/eicar.com"}));

  // With the shipped rules, the decrypted attachment makes the upload malicious.
  ScannerOptions options;
  options.passwords = {kUserPassword};
  auto scanner = MakeScanner(options);
  const ScanReport report = scanner->Scan("user_password.pdf", Bytes(bytes));
  EXPECT_EQ(report.verdict, Verdict::kMalicious);
  std::set<std::string> eicar_engines;
  for (const Finding& f : report.findings) {
    if (f.object == "user_password.pdf>attachments/eicar.com" && f.severity == Severity::kHigh)
      eicar_engines.insert(f.engine);
  }
  EXPECT_EQ(eicar_engines, (StringSet{"clamav", "hyperscan", "yara"}));
}

TEST_F(PdfUnpackerTest, OwnerPasswordOnlyOpensAndIsOnlyRecorded) {
  const Result r = ProbeSample("benign_owner_password_only.pdf");
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.Encrypted info benign_owner_password_only.pdf"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.Encrypted"), "encrypted with RC4, 128-bit key; opens without a password");
  EXPECT_EQ(r.layers, (StringSet{"benign_owner_password_only.pdf", "benign_owner_password_only.pdf>objects/4.0"}));
  EXPECT_EQ(r.verdict, Verdict::kClean);
}

TEST_F(PdfUnpackerTest, UriLinkGivesNoFindingAtAll) {
  const ScanReport report = default_scanner_->Scan("uri.pdf", Bytes(ReadFile(kPdfCorpus / "benign_uri_link.pdf")));
  EXPECT_TRUE(report.findings.empty());
  EXPECT_EQ(report.verdict, Verdict::kClean);
  EXPECT_EQ(report.layers, 2u);
}

TEST_F(PdfUnpackerTest, BrokenXrefIsRebuiltAndOnlyRecorded) {
  const Result r = ProbeSample("benign_broken_xref.pdf");
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.XrefReconstructed info benign_broken_xref.pdf"}));
  EXPECT_EQ(r.layers, (StringSet{"benign_broken_xref.pdf", "benign_broken_xref.pdf>objects/4.0"}));
  EXPECT_EQ(r.verdict, Verdict::kClean);
}

// ---- Real documents ----

TEST_F(PdfUnpackerTest, RealDocumentsFromDebianPackagesGiveNoFinding) {
  // Both packages are in tools/install-deps.sh for the benign corpus.
  for (const char* path :
       {"/usr/share/doc/libtasn1-doc/libtasn1.pdf", "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"}) {
    const std::string bytes = ReadFile(path);
    ASSERT_FALSE(bytes.empty()) << path;
    const ScanReport report = default_scanner_->Scan("real.pdf", Bytes(bytes));
    EXPECT_TRUE(report.findings.empty()) << path << ": " << report.findings.front().rule;
    EXPECT_EQ(report.verdict, Verdict::kClean) << path;
    EXPECT_GT(report.layers, 10u) << path << ": its streams should be layers";
  }
}

TEST_F(PdfUnpackerTest, ClamExeInClamavsDamagedTestPdfKeepsItsExactBytes) {
  // clam.pdf's xref is off by two bytes: Poppler rebuilds it and would end the unfiltered
  // attachment at `endstream`, end-of-line included, breaking its hash for ClamAV.
  TempDir bundle;
  MakeBundle(bundle.path(), {{"clamav/clam.hdb", "aa15bcf478d165efd2065190eb473bcb:544:ClamTest.Exe\n"},
                             {"yara/clam.yar",
                              "import \"hash\"\nrule Clam_Exe_Md5 { condition: filesize == 544 and "
                              "hash.md5(0, filesize) == \"aa15bcf478d165efd2065190eb473bcb\" }\n"}});
  auto scanner = ScannerWith(bundle.path().string(), {});
  auto report = scanner->ScanFile((kClamTestFiles / "clam.pdf").string());
  ASSERT_TRUE(report.ok()) << "install the clamav-testfiles package";
  std::set<std::string> found;
  for (const Finding& f : report->findings) {
    if (f.engine == "clamav" || f.engine == "yara") found.insert(f.rule + " " + f.object);
  }
  EXPECT_EQ(found, (StringSet{"ClamTest.Exe.UNOFFICIAL clam.pdf>attachments/clam.exe",
                              "Clam_Exe_Md5 clam.pdf>attachments/clam.exe"}));
}

// ---- Documents built here ----

TEST_F(PdfUnpackerTest, UnpacksNothingButAParseErrorFromGarbage) {
  const Result r = Probe("junk.pdf", "%PDF-1.7\n" + std::string(4096, 'x'));
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.Incomplete.parse_error high junk.pdf"}));
  EXPECT_EQ(r.layers, (StringSet{"junk.pdf"}));
  EXPECT_EQ(r.verdict, Verdict::kIncomplete);
}

TEST_F(PdfUnpackerTest, DeclaredFlateBombIsRefusedBeforeInflating) {
  const std::string pdf = OnePagePdf("", "", {Stream("/Filter /FlateDecode /DL 1073741824", ZerosDeflated(1024))});
  const Result r = Probe("bomb.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.Incomplete.max_layer_bytes high bomb.pdf>objects/5.0"}));
  EXPECT_EQ(r.layers, (StringSet{"bomb.pdf", "bomb.pdf>objects/4.0"}));
  EXPECT_EQ(r.verdict, Verdict::kIncomplete);
  EXPECT_LT(r.duration, std::chrono::seconds(2));
}

TEST_F(PdfUnpackerTest, UndeclaredFlateBombStopsAtTheExpansionCap) {
  // Flate inside Flate: a few KiB inflate to 1 GiB; the decoder stops one byte past what the
  // ratio allows (1 MiB here), whatever the stream would still produce.
  const std::string pdf =
      OnePagePdf("", "", {Stream("/Filter [/FlateDecode /FlateDecode]", Zlib(ZerosDeflated(1024)))});
  const Result r = Probe("bomb.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.Incomplete.max_expansion_ratio high bomb.pdf>objects/5.0"}));
  EXPECT_EQ(r.layers, (StringSet{"bomb.pdf", "bomb.pdf>objects/4.0"}));
  EXPECT_EQ(r.verdict, Verdict::kIncomplete);
  EXPECT_LT(r.duration, std::chrono::seconds(2));
}

TEST_F(PdfUnpackerTest, UndeclaredFlateBombIsMeasuredNotHeld) {
  // 1 GiB of zeros in ~1 MiB: the ratio allows ~260 MB, which the decoder counts without keeping.
  const std::string pdf = OnePagePdf("", "", {Stream("/Filter /FlateDecode", ZerosDeflated(1024))});
  const Result r = Probe("bomb.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.Incomplete.max_expansion_ratio high bomb.pdf>objects/5.0"}));
  EXPECT_EQ(r.layers, (StringSet{"bomb.pdf", "bomb.pdf>objects/4.0"}));
  EXPECT_EQ(r.verdict, Verdict::kIncomplete);
  EXPECT_LT(r.duration, std::chrono::seconds(20));  // ~1 s alone; generous for a loaded machine
}

TEST_F(PdfUnpackerTest, ADeadlineInsideALongDecodeStopsTheUnpackerAndSaysSo) {
  // The bomb is the only stream (no other layer could report the deadline); measuring it takes
  // far longer than the deadline.
  const std::string pdf = Pdf({"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>",
                               Stream("/Filter /FlateDecode", ZerosDeflated(1024))});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  const Result r = Summarize(probe_scanner_->Scan("slow.pdf", Bytes(pdf), deadline));
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.Incomplete.timeout high slow.pdf"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.Incomplete.timeout"), "scan deadline reached before this layer was done");
  EXPECT_EQ(r.layers, (StringSet{"slow.pdf"}));
  EXPECT_EQ(r.verdict, Verdict::kIncomplete);
}

TEST_F(PdfUnpackerTest, ALargeStreamWithinTheLimitsIsDecodedWhole) {
  // 9 MiB, past what the first pass keeps in memory: the layer comes from a second, exact pass.
  std::string data(9 << 20, '\0');
  uint32_t state = 1;
  for (char& c : data) c = "0123456789abcdef"[(state = state * 1103515245 + 12345) >> 28];
  data += "Probe text";
  const Result r = Probe("large.pdf", OnePagePdf("", "", {Stream("/Filter /FlateDecode", Zlib(data, 1))}));
  EXPECT_EQ(r.pdf, Strings{});
  EXPECT_EQ(r.layers, (StringSet{"large.pdf", "large.pdf>objects/4.0", "large.pdf>objects/5.0"}));
  EXPECT_EQ(r.probes, (StringSet{"Probe_Text large.pdf>objects/5.0"}));
}

TEST_F(PdfUnpackerTest, ReferenceCyclesTerminate) {
  // Actions chained in a loop, a page tree that contains itself, objects that are references to each other.
  const std::string pdf = Pdf({
      "<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R /AA << /WC 5 0 R /WS 6 0 R >> >>",
      "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /AA 6 0 R >>",
      "<< /S /GoTo /D [3 0 R /Fit] /Next 5 0 R >>",
      "<< /S /GoTo /D [3 0 R /Fit] /Next [4 0 R 5 0 R] >>",
      "7 0 R",
      "6 0 R",
      std::string(2000, '[') + std::string(2000, ']'),
  });
  const auto started = std::chrono::steady_clock::now();
  const Result r = Probe("cycles.pdf", pdf);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(r.pdf, Strings{});
  EXPECT_EQ(r.layers, (StringSet{"cycles.pdf"}));
  EXPECT_EQ(r.verdict, Verdict::kClean);
}

TEST_F(PdfUnpackerTest, JavaScriptAtTheEndOfACycleIsStillFound) {
  const std::string pdf = OnePagePdf("/OpenAction 5 0 R", "",
                                     {
                                         "<< /S /GoTo /D [3 0 R /Fit] /Next 6 0 R >>",
                                         "<< /S /GoTo /D [3 0 R /Fit] /Next [5 0 R 7 0 R] >>",
                                         "<< /S /JavaScript /JS (app.alert\\('Tollgate cycle'\\)) /Next 5 0 R >>",
                                     });
  const Result r = Probe("cycle_js.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.JavaScript medium cycle_js.pdf",
                            "Tollgate.PDF.OpenActionJavaScript high cycle_js.pdf"}));
  EXPECT_EQ(r.verdict, Verdict::kMalicious);
}

// Opening a web page or a file by itself is the shape of a phishing PDF: each such action type is
// named where it was seen; the same action behind a click (a link annotation) is not automatic.
TEST_F(PdfUnpackerTest, ActionsThatReachOutWithoutAClickAreAutomatic) {
  const Result uri = Probe("uri.pdf", OnePagePdf("/OpenAction << /S /URI /URI (https://login.example.invalid/) >>", "", {}));
  EXPECT_EQ(uri.pdf, (Strings{"Tollgate.PDF.AutomaticAction high uri.pdf"}));
  EXPECT_EQ(DetailOf(uri, "Tollgate.PDF.AutomaticAction"),
            "opens the web or a file when the document or a page opens, without a click: first in object 1 0 (/URI)");
  EXPECT_EQ(uri.verdict, Verdict::kMalicious);

  const Result chained = Probe("chained.pdf", OnePagePdf("/OpenAction 5 0 R", "",
                                                         {
                                                             "<< /S /GoTo /D [3 0 R /Fit] /Next 6 0 R >>",
                                                             "<< /S /GoToR /F (remote.pdf) /D [0 /Fit] >>",
                                                         }));
  EXPECT_EQ(chained.pdf, (Strings{"Tollgate.PDF.AutomaticAction high chained.pdf"}));
  EXPECT_EQ(DetailOf(chained, "Tollgate.PDF.AutomaticAction"),
            "opens the web or a file when the document or a page opens, without a click: first in object 1 0 (/GoToR)");

  const Result link = Probe("link.pdf", OnePagePdf("", "/Annots [5 0 R]",
                                                   {"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] "
                                                    "/A << /S /URI /URI (https://example.com/terms) >> >>"}));
  EXPECT_EQ(link.pdf, Strings{});
  EXPECT_EQ(link.verdict, Verdict::kClean);
}

TEST_F(PdfUnpackerTest, EscapedNamesInsideACompressedObjectStreamAreFound) {
  const std::string pdf = PdfWithObjectStream({
      "<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>",
      "<< /Type /Pages /Kids [] /Count 0 >>",
      "<< /S /L#61unch /F (calc.exe) >>",
  });
  ASSERT_EQ(pdf.find("#61"), std::string::npos);
  const Result r = Probe("objstm.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.AutomaticAction high objstm.pdf", "Tollgate.PDF.Launch high objstm.pdf",
                            "Tollgate.PDF.NameObfuscation high objstm.pdf"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.NameObfuscation"),
            "hex-escaped name spells a key viewers act on: first in object stream 4 0 at offset 109 (/L#61unch)");
  EXPECT_EQ(r.layers, (StringSet{"objstm.pdf", "objstm.pdf>objects/4.0"}));
  EXPECT_EQ(r.verdict, Verdict::kMalicious);
}

// Packed objects without an entry the walk acts on are not kept for it (object 4: only a trigger
// name; object 7: a bare name); what points to them must still be followed.
TEST_F(PdfUnpackerTest, ActionsReachedThroughPackedObjectsTheWalkDoesNotKeepAreFound) {
  const std::string pdf = PdfWithObjectStream({
      "<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /AA 4 0 R >>",
      "<< /O 5 0 R >>",
      "<< /S /JavaScript /JS (app.alert\\('Tollgate packed'\\)) >>",
      "<< /S 7 0 R >>",
      "/Launch",
  });
  ASSERT_EQ(pdf.find("/AA"), std::string::npos);
  const Result r = Probe("packed_actions.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.AdditionalActionJavaScript high packed_actions.pdf",
                            "Tollgate.PDF.AutomaticAction high packed_actions.pdf",
                            "Tollgate.PDF.JavaScript medium packed_actions.pdf",
                            "Tollgate.PDF.Launch high packed_actions.pdf"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.AdditionalActionJavaScript"),
            "additional action (/AA) runs JavaScript without user interaction: first in object 3 0");
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.Launch"), "Launch action starts a program or opens a file: first in object 6 0");
  EXPECT_EQ(r.probes, (StringSet{"Probe_Alert packed_actions.pdf>javascript/1.js"}));
  EXPECT_EQ(r.verdict, Verdict::kMalicious);
}

TEST_F(PdfUnpackerTest, AScriptAtTheEndOfADeeplyNestedActionChainIsFound) {
  std::string chain = "<< /S /JavaScript /JS (app.alert\\('Tollgate deep'\\)) >>";
  for (int i = 0; i < 300; ++i) chain = "<< /S /GoTo /D [3 0 R /Fit] /Next " + chain + " >>";
  const Result r = Probe("deep.pdf", OnePagePdf("/OpenAction " + chain, "", {}));
  EXPECT_EQ(r.pdf,
            (Strings{"Tollgate.PDF.JavaScript medium deep.pdf", "Tollgate.PDF.OpenActionJavaScript high deep.pdf"}));
  EXPECT_EQ(r.probes, (StringSet{"Probe_Alert deep.pdf>javascript/1.js"}));
}

TEST_F(PdfUnpackerTest, ScriptsAreLayersInObjectOrderWhateverTheirForm) {
  // Object 5 points to a Flate stream (object 7), object 6 holds a UTF-16 string.
  std::string utf16 = "\xfe\xff";
  for (char c : std::string("app.alert('Tollgate utf16')")) utf16 += std::string(1, '\0') + c;
  std::string hex;
  for (unsigned char c : utf16) hex += "0123456789ABCDEF"[c >> 4], hex += "0123456789ABCDEF"[c & 15];
  const std::string pdf =
      OnePagePdf("/Names << /JavaScript << /Names [(a) 5 0 R (b) 6 0 R] >> >>", "",
                 {
                     "<< /S /JavaScript /JS 7 0 R >>",
                     "<< /S /JavaScript /JS <" + hex + "> >>",
                     Stream("/Filter /FlateDecode", Zlib("app.alert('Tollgate stream'); // Probe text")),
                 });
  const Result r = Probe("scripts.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.JavaScript medium scripts.pdf"}));
  EXPECT_EQ(r.layers, (StringSet{"scripts.pdf", "scripts.pdf>javascript/1.js", "scripts.pdf>javascript/2.js",
                                 "scripts.pdf>objects/4.0"}));
  // The stream is script 1 (and not also an objects/ layer); the UTF-16 string became UTF-8.
  EXPECT_EQ(r.probes, (StringSet{"Probe_Alert scripts.pdf>javascript/1.js", "Probe_Text scripts.pdf>javascript/1.js",
                                 "Probe_Alert scripts.pdf>javascript/2.js"}));
}

TEST_F(PdfUnpackerTest, FieldScriptsRunOnUserInputAreNotAutoRun) {
  // Keystroke, format, validate and calculate scripts of form fields, as form designers write them
  // (a field's /C is its calculation, not a page's close); the same script twice is one layer.
  const std::string script = "(AFNumber_Keystroke\\(2, 0, 0, 0, \"\", true\\);)";
  const Result forms = Probe(
      "form.pdf", OnePagePdf("/AcroForm << /Fields [5 0 R] >>", "",
                             {"<< /FT /Tx /T (amount) /AA << /K 6 0 R /F 7 0 R /V 6 0 R /C 7 0 R /Fo 6 0 R >> >>",
                              "<< /S /JavaScript /JS " + script + " >>", "<< /S /JavaScript /JS " + script + " >>"}));
  EXPECT_EQ(forms.pdf, (Strings{"Tollgate.PDF.JavaScript medium form.pdf"}));
  EXPECT_EQ(forms.layers, (StringSet{"form.pdf", "form.pdf>objects/4.0", "form.pdf>javascript/1.js"}));
  EXPECT_EQ(forms.verdict, Verdict::kSuspicious);

  // An annotation's page-visible event runs by itself.
  const Result annotation =
      Probe("annotation.pdf", OnePagePdf("", "/Annots [5 0 R]",
                                         {"<< /Type /Annot /Subtype /Square /Rect [0 0 1 1] /AA << /PV 6 0 R >> >>",
                                          "<< /S /JavaScript /JS (1) >>"}));
  EXPECT_EQ(annotation.pdf, (Strings{"Tollgate.PDF.AdditionalActionJavaScript high annotation.pdf",
                                     "Tollgate.PDF.JavaScript medium annotation.pdf"}));
  EXPECT_EQ(DetailOf(annotation, "Tollgate.PDF.AdditionalActionJavaScript"),
            "additional action (/AA) runs JavaScript without user interaction: first in object 5 0");
}

TEST_F(PdfUnpackerTest, FormsRichMediaAndXfaAreReported) {
  const std::string pdf =
      OnePagePdf("/AcroForm << /Fields [] /XFA [(template) 8 0 R (datasets) 9 0 R] >>", "/Annots [5 0 R 6 0 R 7 0 R]",
                 {
                     "<< /Type /Annot /Subtype /Widget /A << /S /SubmitForm /F (http://example.invalid/submit) >> >>",
                     "<< /Type /Annot /Subtype /Widget /A << /S /ImportData /F (data.fdf) >> >>",
                     "<< /Type /Annot /Subtype /RichMedia /RichMediaContent << /Assets << >> >> >>",
                     Stream("/Filter /FlateDecode", Zlib("<template>Probe text</template>")),
                     Stream("", "<datasets/>"),
                 });
  const Result r = Probe("forms.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.ImportData medium forms.pdf", "Tollgate.PDF.RichMedia medium forms.pdf",
                            "Tollgate.PDF.SubmitForm low forms.pdf", "Tollgate.PDF.XFA low forms.pdf"}));
  // The XFA packets are one layer; they are not repeated as objects/.
  EXPECT_EQ(r.layers, (StringSet{"forms.pdf", "forms.pdf>objects/4.0", "forms.pdf>xfa/1.xml"}));
  EXPECT_EQ(r.probes, (StringSet{"Probe_Text forms.pdf>xfa/1.xml"}));
  EXPECT_EQ(r.verdict, Verdict::kSuspicious);
}

TEST_F(PdfUnpackerTest, AttachmentNamesAreDecodedStrippedOfFoldersAndKeptApart) {
  // /UF in UTF-16 ("résumé.txt"), a name with folders, and two attachments with the same name.
  const std::string resume_utf16 = "<FEFF0072 00E9 0073 0075 006D 00E9 002E 0074 0078 0074>";
  const std::string pdf =
      OnePagePdf("", "",
                 {
                     "<< /Type /Filespec /F (resume.txt) /UF " + resume_utf16 + " /EF << /F 9 0 R /UF 9 0 R >> >>",
                     "<< /Type /Filespec /F (..\\\\..\\\\Start Menu/evil.exe) /EF << /F 10 0 R >> >>",
                     "<< /Type /Filespec /F (same.txt) /EF << /F 11 0 R >> >>",
                     "<< /Type /Filespec /F (same.txt) /EF << /F 12 0 R >> >>",
                     Stream("/Type /EmbeddedFile", "one"),
                     Stream("/Type /EmbeddedFile", "two"),
                     Stream("/Type /EmbeddedFile", "three"),
                     Stream("/Type /EmbeddedFile", "four"),
                 });
  const Result r = Probe("files.pdf", pdf);
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.EmbeddedFile info files.pdf"}));
  EXPECT_EQ(DetailOf(r, "Tollgate.PDF.EmbeddedFile"), "embedded file: first in object 9 0, 4 places in all");
  EXPECT_EQ(r.layers, (StringSet{"files.pdf", "files.pdf>objects/4.0", "files.pdf>attachments/r\xc3\xa9sum\xc3\xa9.txt",
                                 "files.pdf>attachments/evil.exe", "files.pdf>attachments/same.txt",
                                 "files.pdf>attachments/12.0/same.txt"}));
}

TEST_F(PdfUnpackerTest, ImageStreamsAreNeverDecoded) {
  // Garbage behind image codecs: a decoder would complain; the unpacker never starts one.
  const std::string pdf = OnePagePdf(
      "", "",
      {
          Stream("/Type /XObject /Subtype /Image /Width 8 /Height 8 /Filter /DCTDecode", "not a jpeg"),
          Stream("/Filter /JBIG2Decode", "not jbig2"),
          Stream("/Filter [/FlateDecode /CCITTFaxDecode]", Zlib("not fax")),
          Stream("/Type /XObject /Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8 /ColorSpace /DeviceGray", "x"),
          "<< /Type /Filespec /F (photo.jpg) /EF << /F 11 0 R >> >>",
          "<< /S /JavaScript /JS 12 0 R >>",
          Stream("/Type /EmbeddedFile /Filter /JPXDecode", "not jpx"),
          Stream("/Filter /DCTDecode", "not a jpeg either"),
      });
  const Result r = Probe("images.pdf", pdf);
  EXPECT_EQ(r.layers, (StringSet{"images.pdf", "images.pdf>objects/4.0"}));
  EXPECT_EQ(r.pdf, (Strings{"Tollgate.PDF.EmbeddedFile info images.pdf", "Tollgate.PDF.JavaScript medium images.pdf"}));
}

}  // namespace
}  // namespace tollgate::testing
