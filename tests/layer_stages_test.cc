// Which stages each kind of layer goes through (LayerKind in unpacker.h): files get every stage, one
// call each; content streams are batched per container for Hyperscan and ClamAV body signatures and
// are neither typed nor given to YARA; package parts (Office relationship parts) get YARA too. Real
// engines, the shipped or a test's own rules, corpus samples and PDFs written here.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "test_support.h"

namespace tollgate::testing {
namespace {

// Hex digits, as the ASCIIHexDecode filter reads them.
std::string Hex(const std::string& bytes) {
  std::string hex;
  for (unsigned char c : bytes) hex += fmt::format("{:02x}", c);
  return hex + ">";
}

// A classic PDF whose one page draws `contents`, each a content stream of its own, and that holds
// `other_streams` (objects no page uses) after them. Streams are hex-encoded (ASCIIHexDecode), so the
// file's own bytes never show what they hold: only their decoded layers do.
std::string Pdf(const std::vector<std::string>& contents, const std::vector<std::string>& other_streams = {}) {
  std::string references;
  for (size_t i = 0; i < contents.size(); ++i) references += fmt::format("{} 0 R ", 4 + i);
  std::vector<std::string> bodies = {
      "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [" + references + "] >>"};
  for (const auto* streams : {&contents, &other_streams}) {
    for (const std::string& data : *streams) {
      const std::string hex = Hex(data);
      bodies.push_back(fmt::format("<< /Filter /ASCIIHexDecode /Length {} >>\nstream\n{}\nendstream", hex.size(), hex));
    }
  }
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < bodies.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += fmt::format("{} 0 obj\n{}\nendobj\n", i + 1, bodies[i]);
  }
  const size_t xref = pdf.size();
  pdf += fmt::format("xref\n0 {}\n0000000000 65535 f \n", bodies.size() + 1);
  for (size_t offset : offsets) pdf += fmt::format("{:010} 00000 n \n", offset);
  pdf += fmt::format("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{}\n%%EOF\n", bodies.size() + 1, xref);
  return pdf;
}

std::span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// "engine rule object" of each finding.
std::vector<std::string> Findings(const ScanReport& report) {
  std::vector<std::string> findings;
  for (const Finding& f : report.findings) findings.push_back(f.engine + " " + f.rule + " " + f.object);
  return findings;
}

// How often each stage ran.
std::map<std::string, uint64_t> Calls(const ScanReport& report) {
  std::map<std::string, uint64_t> calls;
  for (const StageTime& stage : report.stages) calls[stage.stage] = stage.calls;
  return calls;
}

class LayerStagesTest : public ::testing::Test {
 protected:
  std::unique_ptr<Scanner> ScannerWith(const std::vector<std::pair<std::string, std::string>>& rules) {
    MakeBundle(bundle_.path(), rules);
    ScannerOptions options;
    options.rules_dir = bundle_.path().string();
    return MakeScanner(options);
  }
  std::unique_ptr<Scanner> ShippedScanner() { return MakeScanner(ScannerOptions{}); }

  TempDir bundle_;
};

TEST_F(LayerStagesTest, ContentStreamsAreBatchedAndNeitherTypedNorGivenToYara) {
  auto scanner = ShippedScanner();
  ASSERT_NE(scanner, nullptr);
  auto report = scanner->ScanFile((kCorpus / "threats/pdf/eicar_in_page_content.pdf").string());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verdict, Verdict::kMalicious);
  // The stream is named; YARA, which would match EICAR in a file, never saw the content stream.
  EXPECT_EQ(Findings(*report), (std::vector<std::string>{
                                   "clamav Tollgate.Test.EICAR.UNOFFICIAL eicar_in_page_content.pdf>objects/4.0",
                                   "hyperscan Tollgate.EICAR eicar_in_page_content.pdf>objects/4.0"}));
  const std::map<std::string, uint64_t> calls = Calls(*report);
  EXPECT_EQ(calls.at("typing"), 1u) << "the root only";
  EXPECT_EQ(calls.at("detect.yara"), 1u) << "the root only";
  EXPECT_FALSE(calls.contains("detect.yara.content"));
  EXPECT_FALSE(calls.contains("detect.typecheck.content"));
  EXPECT_EQ(calls.at("detect.clamav.content"), 1u);
  EXPECT_EQ(calls.at("detect.hyperscan.content"), 1u);
  EXPECT_EQ(report->layers, 2u);
}

TEST_F(LayerStagesTest, ManyContentStreamsOfOneDocumentCostOneCallPerEngine) {
  auto scanner = ShippedScanner();
  ASSERT_NE(scanner, nullptr);
  std::vector<std::string> pages;
  for (int i = 0; i < 40; ++i) pages.push_back(fmt::format("BT /F1 12 Tf 72 720 Td (page {}) Tj ET", i));
  const ScanReport report = scanner->Scan("pages.pdf", Bytes(Pdf(pages)));
  EXPECT_EQ(report.verdict, Verdict::kClean);
  EXPECT_EQ(report.layers, 41u);
  const std::map<std::string, uint64_t> calls = Calls(report);
  EXPECT_EQ(calls.at("typing"), 1u);
  EXPECT_EQ(calls.at("detect.yara"), 1u);
  EXPECT_EQ(calls.at("detect.clamav"), 1u);
  EXPECT_EQ(calls.at("detect.clamav.content"), 1u);
}

TEST_F(LayerStagesTest, ClamavNamesTheStreamOfAMatchAndTheContainerForOneAcrossStreams) {
  // Hex of "tollgate-split-marker" and of "tollgate-whole-marker".
  auto scanner = ScannerWith({{"clamav/test.ndb",
                               "Test.Split:0:*:746f6c6c676174652d73706c69742d6d61726b6572\n"
                               "Test.Whole:0:*:746f6c6c676174652d77686f6c652d6d61726b6572\n"}});
  ASSERT_NE(scanner, nullptr);
  const ScanReport report = scanner->Scan(
      "split.pdf", Bytes(Pdf({"% first page\n", "% tollgate-whole-marker\n", "% ends with tollgate-sp", "lit-marker\n"})));
  EXPECT_EQ(Findings(report), (std::vector<std::string>{"clamav Test.Split.UNOFFICIAL split.pdf",
                                                        "clamav Test.Whole.UNOFFICIAL split.pdf>objects/5.0"}));
  const auto across = std::find_if(report.findings.begin(), report.findings.end(),
                                   [](const Finding& f) { return f.rule == "Test.Split.UNOFFICIAL"; });
  ASSERT_NE(across, report.findings.end());
  EXPECT_EQ(across->detail, "matched the container's content streams together, not one of them");
}

TEST_F(LayerStagesTest, AContentStreamThatStartsLikeAFileIsAFile) {
  auto scanner = ShippedScanner();
  ASSERT_NE(scanner, nullptr);
  // A zip stored as a stream no page uses: typed, unpacked and scanned by every engine.
  const std::string zip = ReadFile(kCorpus / "malicious/eicar.zip");
  const ScanReport report = scanner->Scan("carrier.pdf", Bytes(Pdf({"BT ET"}, {zip})));
  EXPECT_EQ(report.verdict, Verdict::kMalicious);
  EXPECT_EQ(Findings(report), (std::vector<std::string>{
                                  "clamav Tollgate.Test.EICAR.UNOFFICIAL carrier.pdf>objects/5.0>eicar.com",
                                  "hyperscan Tollgate.EICAR carrier.pdf>objects/5.0>eicar.com",
                                  "yara Tollgate_EICAR carrier.pdf>objects/5.0>eicar.com"}));
}

TEST_F(LayerStagesTest, YaraScansPackagePartsButNotTheDocumentsContentStreams) {
  auto scanner = ScannerWith({{"yara/parts.yar",
                               "rule Test_Template { strings: $a = \"attachedTemplate\" condition: $a }\n"
                               "rule Test_Text { strings: $a = \"Shipping update\" condition: $a }\n"},
                              {"hyperscan/text.pat", "Test.Text high /Shipping update/\n"}});
  ASSERT_NE(scanner, nullptr);
  auto remote = scanner->ScanFile((kCorpus / "threats/office/remote_template.docx").string());
  ASSERT_TRUE(remote.ok());
  EXPECT_EQ(Findings(*remote), (std::vector<std::string>{
                                   "tollgate Tollgate.OOXML.ExternalTemplate remote_template.docx>word/_rels/settings.xml.rels",
                                   "yara Test_Template remote_template.docx>word/_rels/settings.xml.rels"}));
  auto dde = scanner->ScanFile((kCorpus / "threats/office/dde.docx").string());
  ASSERT_TRUE(dde.ok());
  // The document's text is a content stream: Hyperscan sees it, YARA does not.
  EXPECT_EQ(Findings(*dde), (std::vector<std::string>{"hyperscan Test.Text dde.docx>word/document.xml",
                                                      "tollgate Tollgate.OOXML.DDEField dde.docx>word/document.xml"}));
}

}  // namespace
}  // namespace tollgate::testing
