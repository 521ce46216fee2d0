// The shortcut detector: Windows shortcuts (.lnk) in an upload. Opening one runs its target with its
// arguments, and campaigns ship shortcuts whose target is cmd.exe, PowerShell or mshta behind a
// document's name and icon. Every shortcut is a finding naming target and command line
// (Tollgate.LNK.Shortcut, medium); one that starts a command interpreter or script host is
// Tollgate.LNK.Command (high).
#include "shortcut_detector.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "tollgate/utf8.h"

namespace tollgate {
namespace shortcut {
namespace {

constexpr size_t kHeaderSize = 0x4C;
// HeaderSize 0x4C, then LinkCLSID 00021401-0000-0000-C000-000000000046 as stored (little-endian).
constexpr std::array<uint8_t, 20> kMagic = {0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0,
                                            0,    0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46};

enum LinkFlags : uint32_t {
  kHasLinkTargetIdList = 0x1,
  kHasLinkInfo = 0x2,
  kHasName = 0x4,
  kHasRelativePath = 0x8,
  kHasWorkingDir = 0x10,
  kHasArguments = 0x20,
  kHasIconLocation = 0x40,
  kIsUnicode = 0x80,
};

// Reads little-endian integers and strings, never past the end: a read that would is empty.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint32_t At(size_t offset, size_t width) const {
    if (offset > bytes_.size() || width > bytes_.size() - offset) return 0;
    uint32_t value = 0;
    for (size_t i = 0; i < width; ++i) value |= static_cast<uint32_t>(bytes_[offset + i]) << (8 * i);
    return value;
  }
  std::span<const uint8_t> Slice(size_t offset, size_t size) const {
    if (offset > bytes_.size()) return {};
    return bytes_.subspan(offset, std::min(size, bytes_.size() - offset));
  }
  // A NUL-terminated code-page string at `offset`, read as Latin-1.
  std::string CString(size_t offset) const {
    std::string text;
    for (uint8_t byte : Slice(offset, kMaxString)) {
      if (byte == 0) break;
      AppendUtf8(byte, text);
    }
    return text;
  }
  static constexpr size_t kMaxString = 4096;

 private:
  std::span<const uint8_t> bytes_;
};

}  // namespace

std::optional<ShellLink> ReadShellLink(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize || !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) return std::nullopt;
  const Reader reader(bytes);
  const uint32_t flags = reader.At(0x14, 4);
  size_t offset = kHeaderSize;
  if (flags & kHasLinkTargetIdList) offset += 2 + reader.At(offset, 2);
  ShellLink link;
  if (flags & kHasLinkInfo) {
    const uint32_t size = reader.At(offset, 4);
    const uint32_t info_flags = reader.At(offset + 8, 4);
    const uint32_t base_path = reader.At(offset + 16, 4);
    if ((info_flags & 1) != 0 && base_path != 0 && base_path < size) link.target = reader.CString(offset + base_path);
    offset += size;
  }
  // StringData: each present string is a count of characters, then the characters.
  const size_t unit = (flags & kIsUnicode) ? 2 : 1;
  auto next_string = [&] {
    const size_t characters = reader.At(offset, 2);
    const std::span<const uint8_t> raw = reader.Slice(offset + 2, characters * unit);
    offset += 2 + characters * unit;
    if (unit == 2) return Utf16LeToUtf8(raw);
    std::string text;
    for (uint8_t byte : raw) AppendUtf8(byte, text);
    return text;
  };
  if (flags & kHasName) next_string();
  if (flags & kHasRelativePath) {
    std::string relative = next_string();
    if (link.target.empty()) link.target = std::move(relative);
  }
  if (flags & kHasWorkingDir) link.working_directory = next_string();
  if (flags & kHasArguments) link.arguments = next_string();
  return link;
}

}  // namespace shortcut

namespace {

// Programs that run whatever command line they are given.
bool StartsAnInterpreter(const shortcut::ShellLink& link) {
  const std::string text = AsciiLowercase(link.target + " " + link.arguments);
  static constexpr std::array<std::string_view, 12> kInterpreters = {
      "cmd.exe", "cmd ", "powershell", "pwsh", "mshta", "wscript", "cscript", "rundll32", "regsvr32", "certutil",
      "bitsadmin", "msiexec"};
  return std::any_of(kInterpreters.begin(), kInterpreters.end(),
                     [&](std::string_view name) { return text.find(name) != std::string::npos; });
}

class ShortcutDetector final : public Detector {
 public:
  std::string_view Name() const override { return "shortcut"; }
  size_t RuleCount() const override { return 2; }

  Status Scan(const ScanObject& object, const ScanContext&, FindingSink& out) const override {
    const std::optional<shortcut::ShellLink> link = shortcut::ReadShellLink(object.bytes);
    if (!link) return Status::Ok();
    const bool command = StartsAnInterpreter(*link);
    out.Add(HeuristicFinding(
        command ? "Tollgate.LNK.Command" : "Tollgate.LNK.Shortcut", command ? Severity::kHigh : Severity::kMedium,
        object.path.ToString(),
        "Windows shortcut to " + (link->target.empty() ? std::string("an unnamed target") : link->target) +
            (link->arguments.empty() ? "" : ", arguments: " + link->arguments.substr(0, 200))));
    return Status::Ok();
  }
};

}  // namespace

DetectorFactory MakeDetectorFactory_shortcut() {
  return {"shortcut", [](const DetectorConfig&) -> StatusOr<std::unique_ptr<Detector>> {
            return std::unique_ptr<Detector>(std::make_unique<ShortcutDetector>());
          }};
}

}  // namespace tollgate
