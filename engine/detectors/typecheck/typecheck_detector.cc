#include "typecheck_detector.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace tollgate {
namespace typecheck {
namespace {

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower;
}

// The leaf's file name: after the last '/' or '\' (archive members written on Windows use '\').
std::string_view FileName(std::string_view leaf) {
  const size_t slash = leaf.find_last_of("/\\");
  return slash == std::string_view::npos ? leaf : leaf.substr(slash + 1);
}

// Lower-case extensions of a file name, last one last: "Invoice.PDF.exe" → {"pdf", "exe"}.
std::vector<std::string> Extensions(std::string_view name) {
  std::vector<std::string> extensions;
  size_t start = name.find('.', 1);  // a leading dot is a hidden file, not an extension
  while (start != std::string_view::npos) {
    const size_t next = name.find('.', start + 1);
    extensions.push_back(Lower(name.substr(start + 1, next == std::string_view::npos ? next : next - start - 1)));
    start = next;
  }
  return extensions;
}

constexpr std::array<std::string_view, 15> kExecutableExtensions = {
    "exe", "scr", "pif", "com", "bat", "cmd", "js", "jse", "vbs", "vbe", "wsf", "hta", "ps1", "lnk", "msi"};
constexpr std::array<std::string_view, 13> kScriptExtensions = {"js",  "jse", "vbs", "vbe", "wsf", "wsh", "hta",
                                                                "ps1", "psm1", "bat", "cmd", "sct", "lnk"};

bool Contains(std::span<const std::string_view> list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// What content each document or image extension may legitimately hold. Word and Excel happily
// open RTF, OLE2 and OOXML under each other's extensions, so those families are broad; a
// password-protected Office file of any kind is an OLE2 file libmagic calls "encrypted".
struct ExtensionRule {
  std::string_view extension;
  std::vector<std::string_view> mime_prefixes;
};

const std::vector<ExtensionRule>& ExtensionRules() {
  static const std::vector<std::string_view> kWord = {
      "application/msword", "application/x-ole-storage", "application/cdfv2", "text/rtf",
      "application/vnd.openxmlformats-officedocument.wordprocessingml", "application/vnd.ms-word", "application/zip", "application/encrypted"};
  static const std::vector<std::string_view> kExcel = {
      "application/vnd.ms-excel", "application/x-ole-storage", "application/cdfv2",
      "application/vnd.openxmlformats-officedocument.spreadsheetml", "application/zip", "application/encrypted"};
  static const std::vector<std::string_view> kPowerPoint = {
      "application/vnd.ms-powerpoint", "application/x-ole-storage", "application/cdfv2",
      "application/vnd.openxmlformats-officedocument.presentationml", "application/zip", "application/encrypted"};
  static const std::vector<std::string_view> kOpenDocument = {"application/vnd.oasis.opendocument", "application/zip"};
  static const std::vector<ExtensionRule> rules = {
      {"pdf", {"application/pdf"}},
      {"doc", kWord},  {"docx", kWord}, {"docm", kWord}, {"dot", kWord}, {"dotx", kWord}, {"dotm", kWord},
      {"rtf", {"text/rtf"}},
      {"xls", kExcel}, {"xlsx", kExcel}, {"xlsm", kExcel}, {"xlt", kExcel}, {"xltx", kExcel},
      {"ppt", kPowerPoint}, {"pptx", kPowerPoint}, {"pptm", kPowerPoint},
      {"odt", kOpenDocument}, {"ods", kOpenDocument}, {"odp", kOpenDocument},
      {"zip", {"application/zip"}},
      {"png", {"image/png"}}, {"jpg", {"image/jpeg"}}, {"jpeg", {"image/jpeg"}}, {"gif", {"image/gif"}},
      {"tif", {"image/tiff"}}, {"tiff", {"image/tiff"}}, {"bmp", {"image/bmp", "image/x-ms-bmp"}},
      {"txt", {"text/", "inode/x-empty", "application/csv"}}, {"csv", {"text/", "inode/x-empty", "application/csv"}},
  };
  return rules;
}

const ExtensionRule* RuleFor(std::string_view extension) {
  for (const ExtensionRule& rule : ExtensionRules()) {
    if (rule.extension == extension) return &rule;
  }
  return nullptr;
}

bool MimeMatches(const ExtensionRule& rule, std::string_view mime) {
  const std::string lower = Lower(mime);
  return std::any_of(rule.mime_prefixes.begin(), rule.mime_prefixes.end(),
                     [&](std::string_view prefix) { return lower.starts_with(prefix); });
}

Finding Heuristic(std::string rule, Severity severity, const ScanObject& object, std::string detail) {
  Finding finding;
  finding.engine = "tollgate";
  finding.rule = std::move(rule);
  finding.severity = severity;
  finding.kind = FindingKind::kHeuristic;
  finding.object = object.path.ToString();
  finding.detail = std::move(detail);
  return finding;
}

class TypeCheckDetector final : public Detector {
 public:
  std::string_view Name() const override { return "typecheck"; }
  size_t RuleCount() const override { return 0; }

  Status Scan(const ScanObject& object, const ScanContext&, FindingSink& out) const override {
    const std::string_view name = FileName(object.path.leaf());
    const std::vector<std::string> extensions = Extensions(name);
    const std::string_view executable = ExecutableKind(object.type.mime);
    if (!extensions.empty()) {
      const std::string& last = extensions.back();
      if (const ExtensionRule* rule = RuleFor(last); rule && !MimeMatches(*rule, object.type.mime)) {
        if (!executable.empty()) {
          out.Add(Heuristic("Tollgate.Type.DisguisedExecutable", Severity::kHigh, object,
                            std::string(executable) + " named ." + last));
        } else {
          out.Add(Heuristic("Tollgate.Type.ExtensionMismatch", Severity::kLow, object,
                            "." + last + " holds " + object.type.mime));
        }
      }
      if (extensions.size() >= 2 && Contains(kExecutableExtensions, last) &&
          RuleFor(extensions[extensions.size() - 2]) != nullptr) {
        out.Add(Heuristic("Tollgate.Name.DoubleExtension", Severity::kHigh, object,
                          "." + extensions[extensions.size() - 2] + " followed by ." + last));
      }
      if (executable.empty() && Contains(kScriptExtensions, last)) {
        out.Add(Heuristic("Tollgate.Type.Script", Severity::kMedium, object, "." + last + " script"));
      }
    }
    // U+202E RIGHT-TO-LEFT OVERRIDE makes "invoice" U+202E "fdp.exe" display as "invoiceexe.pdf".
    if (name.find("\xE2\x80\xAE") != std::string_view::npos) {
      out.Add(Heuristic("Tollgate.Name.RightToLeftOverride", Severity::kHigh, object,
                        "the name contains a right-to-left override"));
    }
    if (!executable.empty()) {
      out.Add(Heuristic("Tollgate.Type.Executable", Severity::kMedium, object, std::string(executable)));
    }
    return Status::Ok();
  }
};

}  // namespace

std::string_view ExecutableKind(std::string_view mime) {
  static const std::vector<std::pair<std::string_view, std::string_view>> kKinds = {
      {"application/vnd.microsoft.portable-executable", "PE executable"},
      {"application/x-dosexec", "DOS/PE executable"},
      {"application/x-executable", "ELF executable"},
      {"application/x-pie-executable", "ELF executable"},
      {"application/x-sharedlib", "ELF shared library"},
      {"application/x-mach-binary", "Mach-O executable"},
      {"application/x-msi", "Windows installer"},
      {"application/x-ms-shortcut", "Windows shortcut"},
      {"text/x-shellscript", "shell script"},
      {"text/x-msdos-batch", "batch script"},
      {"text/x-script.python", "Python script"},
      {"text/x-perl", "Perl script"},
  };
  for (const auto& [type, kind] : kKinds) {
    if (mime == type) return kind;
  }
  return {};
}

}  // namespace typecheck

DetectorFactory MakeDetectorFactory_typecheck() {
  return {"typecheck", [](const DetectorConfig&) -> StatusOr<std::unique_ptr<Detector>> {
            return std::unique_ptr<Detector>(std::make_unique<typecheck::TypeCheckDetector>());
          }};
}

}  // namespace tollgate
