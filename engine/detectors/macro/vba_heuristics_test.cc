// The VBA heuristics on module sources: what they find, the exact finding, and the look-alikes
// (comments, strings, longer identifiers, Application.Run, prose) they must leave alone.
#include "vba_heuristics.h"

#include <gtest/gtest.h>

#include <string_view>

namespace tollgate::macro {
namespace {

VbaAssessment Assess(std::string_view source) {
  return AssessVba({reinterpret_cast<const uint8_t*>(source.data()), source.size()});
}

// "rule severity: detail", or "" for no finding.
std::string FindingFor(std::string_view source) {
  auto finding = MacroFinding(Assess(source), "doc.docm>word/vbaProject.bin>VBA/Module1");
  if (!finding) return "";
  EXPECT_EQ(finding->engine, "tollgate");
  EXPECT_EQ(finding->kind, FindingKind::kHeuristic);
  EXPECT_EQ(finding->object, "doc.docm>word/vbaProject.bin>VBA/Module1");
  return finding->rule + " " + std::string(ToString(finding->severity)) + ": " + finding->detail;
}

TEST(VbaHeuristics, AutoExecWithADangerousCallIsHigh) {
  EXPECT_EQ(FindingFor("Attribute VB_Name = \"Module1\"\r\nSub AutoOpen()\r\n"
                       "    CreateObject(\"WScript.Shell\").Run \"cmd.exe /c echo harmless\"\r\nEnd Sub\r\n"),
            "Tollgate.VBA.AutoExecDangerousCall high: auto-exec macro AutoOpen with CreateObject, WScript.Shell, Run");
  EXPECT_EQ(FindingFor("Private Sub Workbook_Open()\n  Shell \"cmd.exe /c echo harmless\", vbHide\nEnd Sub\n"),
            "Tollgate.VBA.AutoExecDangerousCall high: auto-exec macro Workbook_Open with Shell");
}

// "rule severity object: detail" for each finding of a project.
std::vector<std::string> ProjectSummaries(std::vector<std::pair<std::string, std::string_view>> modules) {
  std::vector<ModuleAssessment> assessments;
  for (const auto& [object, source] : modules) assessments.push_back({object, Assess(source)});
  std::vector<std::string> summaries;
  for (const Finding& f : ProjectFindings(std::move(assessments))) {
    summaries.push_back(f.rule + " " + std::string(ToString(f.severity)) + " " + f.object + ": " + f.detail);
  }
  return summaries;
}

TEST(VbaHeuristics, AProjectWeighsEntryPointsAndCallsOfAllItsModules) {
  constexpr std::string_view kEntry = "Sub AutoOpen()\n  Helpers.Go\nEnd Sub\n";
  constexpr std::string_view kCall = "Sub Go()\n  Shell \"cmd.exe /c echo harmless\"\nEnd Sub\n";
  constexpr std::string_view kBoth = "Sub Document_Open()\n  Shell \"x\"\nEnd Sub\n";
  EXPECT_EQ(ProjectSummaries({{"d>VBA/Module1", kEntry}, {"d>VBA/Helpers", kCall}}),
            std::vector<std::string>{"Tollgate.VBA.AutoExecDangerousCall high d>VBA/Helpers: auto-exec macro AutoOpen "
                                     "with Shell (entry point in VBA/Module1, call in VBA/Helpers)"});
  // A module with both is the one named; the others add nothing.
  EXPECT_EQ(ProjectSummaries({{"d>VBA/A", kCall}, {"d>VBA/B", kBoth}, {"d>VBA/C", kEntry}}),
            std::vector<std::string>{
                "Tollgate.VBA.AutoExecDangerousCall high d>VBA/B: auto-exec macro Document_Open with Shell"});
  // Without both kinds anywhere, each module keeps its own finding.
  EXPECT_EQ(ProjectSummaries({{"d>VBA/B", kCall}, {"d>VBA/A", kCall}}),
            (std::vector<std::string>{"Tollgate.VBA.DangerousCall medium d>VBA/A: macro uses Shell",
                                      "Tollgate.VBA.DangerousCall medium d>VBA/B: macro uses Shell"}));
  EXPECT_EQ(ProjectSummaries({}), std::vector<std::string>{});
}

TEST(VbaHeuristics, EntryPointAloneOrCallAloneIsMedium) {
  EXPECT_EQ(FindingFor("Sub Document_Open()\n  MsgBox \"Welcome\"\nEnd Sub\n"),
            "Tollgate.VBA.AutoExec medium: auto-exec macro Document_Open");
  EXPECT_EQ(FindingFor("Function Fetch()\n  Set h = CreateObject(\"MSXML2.XMLHTTP\")\n"
                       "  Set s = CreateObject(\"ADODB.Stream\")\nEnd Function\n"),
            "Tollgate.VBA.DangerousCall medium: macro uses CreateObject, MSXML2.XMLHTTP, ADODB.Stream");
}

TEST(VbaHeuristics, MatchesWithoutCaseOnWholeIdentifiers) {
  EXPECT_EQ(FindingFor("SUB AUTO_OPEN()\n  x = CALLBYNAME(o, \"Run\", VbMethod)\nEND SUB\n"),
            "Tollgate.VBA.AutoExecDangerousCall high: auto-exec macro Auto_Open with CallByName");
  // AutoOpenHelper and MyShell are other identifiers; so is a procedure merely called AutoOpen.
  EXPECT_EQ(FindingFor("Sub AutoOpenHelper()\n  MyShell 1\n  AutoOpen\nEnd Sub\n"), "");
}

TEST(VbaHeuristics, SkipsCommentsAndOrdinaryWordsInStrings) {
  EXPECT_EQ(FindingFor("Sub Report()\n  ' Shell out to CreateObject later\n  Rem Shell too\n"
                       "  MsgBox \"Open a Shell window and Run it\"\nEnd Sub\n"),
            "");
  // Application.Run only runs another macro.
  EXPECT_EQ(FindingFor("Sub Workbook_Open()\n  Application.Run \"Init\"\nEnd Sub\n"),
            "Tollgate.VBA.AutoExec medium: auto-exec macro Workbook_Open");
}

TEST(VbaHeuristics, FindsProgIdsAndPowerShellInStrings) {
  EXPECT_EQ(FindingFor("Sub Document_Close()\n  Set o = GetObject(\"new:WScript.Shell\")\n"
                       "  o.Exec \"powershell -nop -c echo harmless\"\nEnd Sub\n"),
            "Tollgate.VBA.AutoExecDangerousCall high: auto-exec macro Document_Close with WScript.Shell, PowerShell");
  EXPECT_EQ(FindingFor("Private Declare PtrSafe Function URLDownloadToFileA Lib \"urlmon\" () As Long\n"
                       "Sub AutoNew()\nEnd Sub\n"),
            "Tollgate.VBA.AutoExecDangerousCall high: auto-exec macro AutoNew with URLDownloadToFile");
}

TEST(VbaHeuristics, EnvironWithManyChrCallsIsObfuscation) {
  const std::string obfuscated =
      "Sub AutoClose()\n  p = Environ(\"TEMP\") & Chr(92) & Chr(99) & ChrW(109) & Chr$(100) & ChrB(46)\nEnd Sub\n";
  EXPECT_EQ(FindingFor(obfuscated),
            "Tollgate.VBA.AutoExecDangerousCall high: auto-exec macro AutoClose with Environ+Chr");
  EXPECT_EQ(FindingFor("Sub Save()\n  p = Environ(\"TEMP\") & Chr(92) & \"out.txt\" & Chr(13) & Chr(10)\nEnd Sub\n"),
            "");
}

TEST(VbaHeuristics, ReadsLibclamavsNormalisedProjectDump) {
  // libclamav writes a whole project as one layer: REM headers, lower case, collapsed blanks.
  EXPECT_EQ(
      FindingFor("REM VBA project extracted from Microsoft Office document\n\nREM MODULENAME: Module1\n"
                 "attribute vb_name = \"Module1\"\nsub autoopen()\n document_open\nend sub\n\n"
                 "sub document_open()\n createobject(\"WScript.Shell\").run \"cmd.exe /c echo harmless\"\nend sub\n"),
      "Tollgate.VBA.AutoExecDangerousCall high: auto-exec macro AutoOpen, Document_Open with CreateObject, "
      "WScript.Shell, Run");
}

TEST(VbaHeuristics, OnlyVbaSourceCounts) {
  // Prose and other code that use the same words are not VBA.
  EXPECT_FALSE(Assess("Run AutoOpen from the Shell with CreateObject, said the manual.").is_vba);
  EXPECT_EQ(FindingFor("Run AutoOpen from the Shell with CreateObject, said the manual."), "");
  EXPECT_EQ(FindingFor("#!/bin/sh\nexec powershell -c 'CreateObject'\n"), "");
  constexpr char kBinary[] = "MZ\x90\0\3\0\0\0Shell\0CreateObject\0Sub\0AutoOpen\0";
  EXPECT_EQ(FindingFor(std::string_view(kBinary, sizeof kBinary - 1)), "");
  EXPECT_TRUE(Assess("Attribute VB_Name = \"Module2\"\r\n").is_vba);
  EXPECT_TRUE(Assess("Sub Main()\nEnd Sub\n").is_vba);
  EXPECT_EQ(FindingFor("Attribute VB_Name = \"Module2\"\r\nSub Tidy()\r\n  Range(\"A1\").Clear\r\nEnd Sub\r\n"), "");
}

TEST(VbaHeuristics, ListsAtMostFourNamesInTheDetail) {
  EXPECT_EQ(FindingFor("Sub AutoOpen()\nEnd Sub\nSub AutoExec()\nEnd Sub\nSub AutoNew()\nEnd Sub\n"
                       "Sub AutoClose()\nEnd Sub\nSub AutoExit()\nEnd Sub\nSub Auto_Close()\nEnd Sub\n"),
            "Tollgate.VBA.AutoExec medium: auto-exec macro AutoOpen, AutoExec, AutoNew, AutoClose and 2 more");
}

}  // namespace
}  // namespace tollgate::macro
