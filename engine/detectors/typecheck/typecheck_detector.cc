#include "typecheck_detector.h"

#include "tollgate/file_names.h"
#include "tollgate/utf8.h"

#include <algorithm>
#include <array>
#include <string>
#include <tuple>
#include <utility>

namespace tollgate {
namespace typecheck {
namespace {


constexpr std::array<std::string_view, 15> kExecutableExtensions = {
    "exe", "scr", "pif", "com", "bat", "cmd", "js", "jse", "vbs", "vbe", "wsf", "hta", "ps1", "lnk", "msi"};

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
  const std::string lower = AsciiLowercase(mime);
  return std::any_of(rule.mime_prefixes.begin(), rule.mime_prefixes.end(),
                     [&](std::string_view prefix) { return lower.starts_with(prefix); });
}

// The structure each kind of binary executable starts with; scripts need none.
enum class Header { kNone, kMz, kElf, kMachO, kOle2, kShellLink };

uint32_t ReadLe(std::span<const uint8_t> bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint32_t>(bytes[offset + i]) << (8 * i);
  return value;
}

bool StartsWith(std::span<const uint8_t> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin(),
                                                      [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

// A PE: "MZ" and, at e_lfanew, "PE\0\0". A DOS program: "MZ" with a header that fits and pages to load.
bool HasMzHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < 0x40 || !StartsWith(bytes, "MZ")) return false;
  const uint32_t pe_offset = ReadLe(bytes, 0x3C, 4);
  if (pe_offset <= bytes.size() - 4 && StartsWith(bytes.subspan(pe_offset), std::string_view("PE\0\0", 4))) return true;
  const uint32_t pages = ReadLe(bytes, 4, 2);
  const uint32_t header_paragraphs = ReadLe(bytes, 8, 2);
  return pages > 0 && header_paragraphs >= 2 && header_paragraphs * 16u <= bytes.size();
}

bool HasHeader(Header header, std::span<const uint8_t> bytes) {
  switch (header) {
    case Header::kNone: return true;
    case Header::kMz: return HasMzHeader(bytes);
    case Header::kElf:  // class 32/64-bit, little/big endian, version 1
      return bytes.size() >= 7 && StartsWith(bytes, "\x7f" "ELF") && (bytes[4] == 1 || bytes[4] == 2) &&
             (bytes[5] == 1 || bytes[5] == 2) && bytes[6] == 1;
    case Header::kMachO: {
      if (bytes.size() < 4) return false;
      const uint32_t magic = ReadLe(bytes, 0, 4);
      return magic == 0xFEEDFACE || magic == 0xFEEDFACF || magic == 0xCEFAEDFE || magic == 0xCFFAEDFE ||
             magic == 0xBEBAFECA;
    }
    case Header::kOle2: return StartsWith(bytes, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    case Header::kShellLink:  // HeaderSize 0x4C and the ShellLink CLSID 00021401-0000-0000-C000-000000000046
      return StartsWith(bytes, std::string_view("\x4C\0\0\0\x01\x14\x02\0\0\0\0\0\xC0\0\0\0\0\0\0\x46", 20));
  }
  return false;
}


class TypeCheckDetector final : public Detector {
 public:
  std::string_view Name() const override { return "typecheck"; }
  size_t RuleCount() const override { return 0; }

  Status Scan(const ScanObject& object, const ScanContext&, FindingSink& out) const override {
    const std::string_view name = FileName(object.path.leaf());
    const std::vector<std::string> extensions = Extensions(name);
    const std::string_view executable = ExecutableKind(object.type.mime, object.bytes);
    if (!extensions.empty()) {
      const std::string& last = extensions.back();
      if (const ExtensionRule* rule = RuleFor(last); rule && !MimeMatches(*rule, object.type.mime)) {
        if (!executable.empty()) {
          out.Add(HeuristicFinding("Tollgate.Type.DisguisedExecutable", Severity::kHigh, object.path.ToString(),
                            std::string(executable) + " named ." + last));
        } else {
          out.Add(HeuristicFinding("Tollgate.Type.ExtensionMismatch", Severity::kLow, object.path.ToString(),
                            "." + last + " holds " + object.type.mime));
        }
      }
      if (extensions.size() >= 2 && Contains(kExecutableExtensions, last) &&
          RuleFor(extensions[extensions.size() - 2]) != nullptr) {
        out.Add(HeuristicFinding("Tollgate.Name.DoubleExtension", Severity::kHigh, object.path.ToString(),
                          "." + extensions[extensions.size() - 2] + " followed by ." + last));
      }
      if (executable.empty() && IsScriptExtension(last)) {
        out.Add(HeuristicFinding("Tollgate.Type.Script", Severity::kMedium, object.path.ToString(), "." + last + " script"));
      }
    }
    // U+202E RIGHT-TO-LEFT OVERRIDE makes "invoice" U+202E "fdp.exe" display as "invoiceexe.pdf".
    if (name.find("\xE2\x80\xAE") != std::string_view::npos) {
      out.Add(HeuristicFinding("Tollgate.Name.RightToLeftOverride", Severity::kHigh, object.path.ToString(),
                        "the name contains a right-to-left override"));
    }
    if (!executable.empty()) {
      out.Add(HeuristicFinding("Tollgate.Type.Executable", Severity::kMedium, object.path.ToString(), std::string(executable)));
    }
    return Status::Ok();
  }
};

}  // namespace

std::string_view ExecutableKind(std::string_view mime, std::span<const uint8_t> bytes) {
  static const std::vector<std::tuple<std::string_view, std::string_view, Header>> kKinds = {
      {"application/vnd.microsoft.portable-executable", "PE executable", Header::kMz},
      {"application/x-dosexec", "DOS/PE executable", Header::kMz},
      {"application/x-executable", "ELF executable", Header::kElf},
      {"application/x-pie-executable", "ELF executable", Header::kElf},
      {"application/x-sharedlib", "ELF shared library", Header::kElf},
      {"application/x-mach-binary", "Mach-O executable", Header::kMachO},
      {"application/x-msi", "Windows installer", Header::kOle2},
      {"application/x-ms-shortcut", "Windows shortcut", Header::kShellLink},
      {"text/x-shellscript", "shell script", Header::kNone},
      {"text/x-msdos-batch", "batch script", Header::kNone},
      {"text/x-script.python", "Python script", Header::kNone},
      {"text/x-perl", "Perl script", Header::kNone},
  };
  for (const auto& [type, kind, header] : kKinds) {
    if (mime == type) return HasHeader(header, bytes) ? kind : std::string_view{};
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
