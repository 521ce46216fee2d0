#include "vba_heuristics.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace tollgate::macro {
namespace {

// Procedures Word, Excel and PowerPoint run without the user asking.
constexpr std::array<std::string_view, 16> kAutoExecProcedures = {
    "AutoOpen", "Auto_Open", "AutoExec", "AutoNew", "AutoClose", "Auto_Close", "AutoExit",
    "Document_Open", "Document_New", "Document_Close", "Document_BeforeClose", "DocumentOpen", "DocumentBeforeClose",
    "Workbook_Open", "Workbook_Activate", "Workbook_BeforeClose"};

// An identifier that is a dangerous call on its own. Some count only in code: "Shell" is an
// ordinary word in a message string, "powershell" is what a command line in a string runs.
struct LoneName {
  std::string_view token;  // lower case
  std::string_view name;
  bool in_strings;
};
constexpr std::array<LoneName, 7> kLoneNames = {{
    {"shell", "Shell", false},
    {"createobject", "CreateObject", false},
    {"callbyname", "CallByName", false},
    {"powershell", "PowerShell", true},
    {"urldownloadtofile", "URLDownloadToFile", true},
    {"urldownloadtofilea", "URLDownloadToFile", true},
    {"urldownloadtofilew", "URLDownloadToFile", true},
}};

// ProgIDs of the COM objects droppers use, "Receiver.Member", in code or in strings.
struct DottedName {
  std::string_view receiver;  // lower case
  std::string_view member;    // lower case
  std::string_view name;
};
constexpr std::array<DottedName, 6> kDottedNames = {{
    {"wscript", "shell", "WScript.Shell"},
    {"shell", "application", "Shell.Application"},
    {"msxml2", "xmlhttp", "MSXML2.XMLHTTP"},
    {"msxml2", "serverxmlhttp", "MSXML2.ServerXMLHTTP"},
    {"microsoft", "xmlhttp", "Microsoft.XMLHTTP"},
    {"adodb", "stream", "ADODB.Stream"},
}};

// Environ() together with this many Chr() calls: strings built character by character, the usual
// way to hide a command line from signatures.
constexpr int kObfuscationChrCalls = 5;
// No keyword here is longer; longer identifiers are compared as "no keyword".
constexpr size_t kMaxKeywordLength = 32;

bool IsWordByte(uint8_t c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

std::string Lowercase(std::span<const uint8_t> token) {
  if (token.size() > kMaxKeywordLength) return {};
  std::string lower(token.begin(), token.end());
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

// `lower` is lower case already.
bool EqualsIgnoringCase(std::string_view text, std::string_view lower) {
  return std::equal(text.begin(), text.end(), lower.begin(), lower.end(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

bool IsOneOf(std::string_view token, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), token) != words.end();
}

void AddOnce(std::vector<std::string>& names, std::string_view name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
}

std::string Join(const std::vector<std::string>& names) {
  constexpr size_t kShown = 4;
  std::string text;
  for (size_t i = 0; i < std::min(names.size(), kShown); ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += fmt::format(" and {} more", names.size() - kShown);
  return text;
}

// "VBA/Module1" of "invoice.docm>word/vbaProject.bin>VBA/Module1".
std::string_view LeafLayer(std::string_view object) {
  const size_t separator = object.rfind('>');
  return separator == std::string_view::npos ? object : object.substr(separator + 1);
}

// One pass over the text: statements, identifiers, strings and comments.
class VbaReader {
 public:
  explicit VbaReader(std::span<const uint8_t> text) : text_(text) {}

  VbaAssessment Read() {
    size_t i = 0;
    while (i < text_.size()) {
      const uint8_t c = text_[i];
      if (IsWordByte(c)) {
        const size_t start = i;
        while (i < text_.size() && IsWordByte(text_[i])) ++i;
        if (OnIdentifier(start, i)) i = EndOfLine(i);  // Rem: a comment
      } else if (c == '\r' || c == '\n') {
        in_string_ = false;  // strings end with their line
        if (!continued_) expect_ = Expect::kStatement;
        continued_ = false;
        ++i;
      } else if (in_string_) {
        in_string_ = c != '"';
        ++i;
      } else if (c == '\'') {
        i = EndOfLine(i);
      } else {
        if (c == ':') {
          expect_ = Expect::kStatement;
        } else if (c != ' ' && c != '\t') {
          expect_ = Expect::kNothing;
          in_string_ = c == '"';
        }
        ++i;
      }
    }
    if (environ_calls_ > 0 && chr_calls_ >= kObfuscationChrCalls) AddOnce(result_.dangerous_calls, "Environ+Chr");
    result_.is_vba = result_.is_vba || (defines_procedure_ && ends_procedure_);
    return std::move(result_);
  }

 private:
  // What the current statement's next identifier means.
  enum class Expect { kStatement, kProcedureName, kEndWhat, kAttributeName, kNothing };

  size_t EndOfLine(size_t i) const {
    while (i < text_.size() && text_[i] != '\n' && text_[i] != '\r') ++i;
    return i;
  }

  // Returns true when the identifier starts a Rem comment.
  bool OnIdentifier(size_t start, size_t end) {
    const std::string token = Lowercase(text_.subspan(start, end - start));
    const bool after_dot = start > 0 && text_[start - 1] == '.';
    const std::string receiver = after_dot && last_end_ == start - 1 ? last_token_ : "";
    last_token_ = token;
    last_end_ = end;
    continued_ = token == "_";  // a line continuation, if the line ends here
    if (in_string_) {
      MatchCalls(token, receiver, after_dot);
      return false;
    }
    if (OnStatementWord(token)) return true;
    MatchCalls(token, receiver, after_dot);
    if (token == "environ") ++environ_calls_;
    if (IsOneOf(token, {"chr", "chrw", "chrb"})) ++chr_calls_;
    return false;
  }

  // Sub/Function definitions, End Sub/Function and Attribute VB_Name; true for Rem.
  bool OnStatementWord(const std::string& token) {
    switch (expect_) {
      case Expect::kStatement:
        if (token == "rem") return true;
        if (IsOneOf(token, {"private", "public", "friend", "static"})) break;
        expect_ = IsOneOf(token, {"sub", "function"}) ? Expect::kProcedureName
                  : token == "end"                    ? Expect::kEndWhat
                  : token == "attribute"              ? Expect::kAttributeName
                                                      : Expect::kNothing;
        break;
      case Expect::kProcedureName:
        defines_procedure_ = true;
        for (std::string_view procedure : kAutoExecProcedures) {
          if (EqualsIgnoringCase(procedure, token)) {
            AddOnce(result_.entry_points, procedure);
          }
        }
        expect_ = Expect::kNothing;
        break;
      case Expect::kEndWhat:
        ends_procedure_ = ends_procedure_ || IsOneOf(token, {"sub", "function"});
        expect_ = Expect::kNothing;
        break;
      case Expect::kAttributeName:
        result_.is_vba = result_.is_vba || token == "vb_name";
        expect_ = Expect::kNothing;
        break;
      case Expect::kNothing: break;
    }
    return false;
  }

  void MatchCalls(const std::string& token, const std::string& receiver, bool after_dot) {
    bool dotted = false;
    for (const DottedName& name : kDottedNames) {
      if (receiver == name.receiver && token == name.member) {
        AddOnce(result_.dangerous_calls, name.name);
        dotted = true;
      }
    }
    if (dotted) return;
    for (const LoneName& name : kLoneNames) {
      if (token == name.token && (name.in_strings || !in_string_)) AddOnce(result_.dangerous_calls, name.name);
    }
    // obj.Run starts a program (WScript.Shell) or a macro; Application.Run only runs a macro.
    if (!in_string_ && token == "run" && after_dot && receiver != "application") {
      AddOnce(result_.dangerous_calls, "Run");
    }
  }

  std::span<const uint8_t> text_;
  VbaAssessment result_;
  Expect expect_ = Expect::kStatement;
  bool in_string_ = false;
  bool continued_ = false;
  bool defines_procedure_ = false;
  bool ends_procedure_ = false;
  std::string last_token_;
  size_t last_end_ = 0;
  int environ_calls_ = 0;
  int chr_calls_ = 0;
};

}  // namespace

VbaAssessment AssessVba(std::span<const uint8_t> text) { return VbaReader(text).Read(); }

std::optional<Finding> MacroFinding(const VbaAssessment& assessment, std::string object) {
  const bool auto_exec = !assessment.entry_points.empty();
  const bool dangerous = !assessment.dangerous_calls.empty();
  if (!assessment.is_vba || (!auto_exec && !dangerous)) return std::nullopt;
  Finding finding;
  finding.engine = "tollgate";
  finding.kind = FindingKind::kHeuristic;
  finding.object = std::move(object);
  if (auto_exec && dangerous) {
    finding.rule = "Tollgate.VBA.AutoExecDangerousCall";
    finding.severity = Severity::kHigh;
    finding.detail =
        fmt::format("auto-exec macro {} with {}", Join(assessment.entry_points), Join(assessment.dangerous_calls));
  } else if (auto_exec) {
    finding.rule = "Tollgate.VBA.AutoExec";
    finding.severity = Severity::kMedium;
    finding.detail = fmt::format("auto-exec macro {}", Join(assessment.entry_points));
  } else {
    finding.rule = "Tollgate.VBA.DangerousCall";
    finding.severity = Severity::kMedium;
    finding.detail = fmt::format("macro uses {}", Join(assessment.dangerous_calls));
  }
  return finding;
}

std::vector<Finding> ProjectFindings(std::vector<ModuleAssessment> modules) {
  std::sort(modules.begin(), modules.end(),
            [](const ModuleAssessment& a, const ModuleAssessment& b) { return a.object < b.object; });
  const auto has_entry = [](const ModuleAssessment& m) {
    return m.assessment.is_vba && !m.assessment.entry_points.empty();
  };
  const auto has_call = [](const ModuleAssessment& m) {
    return m.assessment.is_vba && !m.assessment.dangerous_calls.empty();
  };
  const auto entry = std::find_if(modules.begin(), modules.end(), has_entry);
  const auto call = std::find_if(modules.begin(), modules.end(), has_call);
  std::vector<Finding> findings;
  if (entry != modules.end() && call != modules.end()) {
    const auto both = std::find_if(modules.begin(), modules.end(),
                                   [&](const ModuleAssessment& m) { return has_entry(m) && has_call(m); });
    if (both != modules.end()) {
      findings.push_back(*MacroFinding(both->assessment, both->object));
      return findings;
    }
    VbaAssessment project;
    project.is_vba = true;
    for (const ModuleAssessment& module : modules) {
      for (const std::string& name : module.assessment.entry_points) AddOnce(project.entry_points, name);
      for (const std::string& name : module.assessment.dangerous_calls) AddOnce(project.dangerous_calls, name);
    }
    Finding finding = *MacroFinding(project, call->object);
    finding.detail +=
        fmt::format(" (entry point in {}, call in {})", LeafLayer(entry->object), LeafLayer(call->object));
    findings.push_back(std::move(finding));
    return findings;
  }
  for (const ModuleAssessment& module : modules) {
    if (auto finding = MacroFinding(module.assessment, module.object)) findings.push_back(std::move(*finding));
  }
  return findings;
}

}  // namespace tollgate::macro
