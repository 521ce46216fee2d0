// The OOXML unpacker on the corpus: each threat's exact findings at the part that shows it, every
// part as a child, and no finding at all for benign documents (ours and LibreOffice's).
#include "ooxml_unpacker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "recording_child_sink.h"

namespace tollgate::testing {
namespace {

const std::filesystem::path kCorpus = TOLLGATE_CORPUS_DIR;
const FileType kWordType{"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                         "Microsoft Word 2007+"};

RecordingChildSink Unpack(const std::string& sample) {
  std::ifstream in(kCorpus / sample, std::ios::binary);
  EXPECT_TRUE(in.good()) << sample;
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const ObjectPath path(std::filesystem::path(sample).filename().string());
  RecordingChildSink sink{path};
  const Status status = MakeUnpacker_ooxml()->Unpack(ScanObject{path, kWordType, bytes, 0, "ooxml"}, sink);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return sink;
}

TEST(OoxmlUnpacker, AcceptsEveryOfficePackageType) {
  auto unpacker = MakeUnpacker_ooxml();
  EXPECT_EQ(unpacker->Name(), "ooxml");
  for (const char* mime :
       {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.ms-word.document.macroEnabled.12", "application/vnd.ms-excel.sheet.macroEnabled.12",
        "application/vnd.ms-powerpoint.slideshow.macroEnabled.12", "application/vnd.ms-visio.drawing.main+xml"}) {
    EXPECT_TRUE(unpacker->Accepts(ScanObject{ObjectPath("a"), {mime, ""}, {}, 0, {}})) << mime;
  }
  for (const char* mime : {"application/zip", "application/vnd.oasis.opendocument.text", "application/msword",
                           "application/vnd.ms-excel"}) {
    EXPECT_FALSE(unpacker->Accepts(ScanObject{ObjectPath("a"), {mime, ""}, {}, 0, {}})) << mime;
  }
}

TEST(OoxmlUnpacker, DocmReportsItsVbaProjectPartAndGivesEveryPart) {
  const RecordingChildSink sink = Unpack("threats/office/invoice.docm");
  EXPECT_EQ(sink.ChildNames(), (std::vector<std::string>{"[Content_Types].xml", "_rels/.rels", "word/document.xml",
                                                         "word/_rels/document.xml.rels", "word/vbaProject.bin"}));
  EXPECT_EQ(sink.FindingSummaries(),
            std::vector<std::string>{"Tollgate.OOXML.VBAProject medium invoice.docm>word/vbaProject.bin"});
}

TEST(OoxmlUnpacker, EachThreatIsFoundAtItsPart) {
  EXPECT_EQ(Unpack("threats/office/report.xlsm").FindingSummaries(),
            std::vector<std::string>{"Tollgate.OOXML.VBAProject medium report.xlsm>xl/vbaProject.bin"});
  EXPECT_EQ(Unpack("threats/office/remote_template.docx").FindingSummaries(),
            std::vector<std::string>{
                "Tollgate.OOXML.ExternalTemplate high remote_template.docx>word/_rels/settings.xml.rels"});
  EXPECT_EQ(Unpack("threats/office/dde.docx").FindingSummaries(),
            std::vector<std::string>{"Tollgate.OOXML.DDEField high dde.docx>word/document.xml"});
  EXPECT_EQ(Unpack("threats/office/activex.docx").FindingSummaries(),
            std::vector<std::string>{"Tollgate.OOXML.ActiveX medium activex.docx>word/activeX/activeX1.xml"});
  EXPECT_EQ(
      Unpack("threats/office/ole_eicar.docx").FindingSummaries(),
      std::vector<std::string>{"Tollgate.OOXML.EmbeddedOleObject low ole_eicar.docx>word/embeddings/oleObject1.bin"});
}

TEST(OoxmlUnpacker, BenignDocumentsGiveNoFinding) {
  for (const char* sample : {"threats/office/benign_hyperlink.docx", "threats/office/benign_hyperlink.xlsx",
                             "threats/office/benign_hyperlink.pptx", "clean/memo.docx", "benign/letter.docx",
                             "benign/budget.xlsx", "benign/slides.pptx"}) {
    const RecordingChildSink sink = Unpack(sample);
    EXPECT_GE(sink.children.size(), 3u) << sample;
    EXPECT_EQ(sink.FindingSummaries(), std::vector<std::string>{}) << sample;
  }
}

}  // namespace
}  // namespace tollgate::testing
