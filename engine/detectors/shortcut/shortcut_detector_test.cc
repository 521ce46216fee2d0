#include "shortcut_detector.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tollgate {
namespace {

void Put16(std::vector<uint8_t>& out, uint32_t value) {
  out.push_back(static_cast<uint8_t>(value));
  out.push_back(static_cast<uint8_t>(value >> 8));
}

// A Shell Link with StringData NAME, RELATIVE_PATH and COMMAND_LINE_ARGUMENTS in UTF-16LE.
std::vector<uint8_t> Link(std::u16string_view relative_path, std::u16string_view arguments) {
  std::vector<uint8_t> link = {0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46};
  const uint32_t flags = 0x4 | 0x8 | 0x20 | 0x80;
  for (int i = 0; i < 4; ++i) link.push_back(static_cast<uint8_t>(flags >> (8 * i)));
  link.resize(0x4C, 0);
  for (std::u16string_view text : {std::u16string_view(u"Invoice"), relative_path, arguments}) {
    Put16(link, static_cast<uint32_t>(text.size()));
    for (char16_t c : text) Put16(link, c);
  }
  link.insert(link.end(), 4, 0);  // TerminalBlock
  return link;
}

class Collect final : public FindingSink {
 public:
  void Add(Finding finding) override { found.push_back(finding.rule + " " + finding.detail); }
  std::vector<std::string> found;
};

std::vector<std::string> Scan(std::span<const uint8_t> bytes) {
  auto detector = MakeDetectorFactory_shortcut().create(DetectorConfig{});
  EXPECT_TRUE(detector.ok());
  ScanObject object;
  object.path = ObjectPath("mail.zip").Child("invoice.pdf.lnk");
  object.type.mime = "application/x-ms-shortcut";
  object.bytes = bytes;
  Collect out;
  EXPECT_TRUE((*detector)->Scan(object, ScanContext(std::chrono::steady_clock::time_point::max(), nullptr), out).ok());
  return out.found;
}

using Found = std::vector<std::string>;

TEST(ShortcutDetector, AShortcutToAnInterpreterIsACommand) {
  EXPECT_EQ(Scan(Link(u"..\\..\\Windows\\System32\\cmd.exe", u"/c calc")),
            Found{"Tollgate.LNK.Command Windows shortcut to ..\\..\\Windows\\System32\\cmd.exe, arguments: /c calc"});
}

TEST(ShortcutDetector, AnyOtherShortcutIsNamed) {
  EXPECT_EQ(Scan(Link(u"Reports\\Q3 \u00e9t\u00e9.pdf", u"")),
            Found{"Tollgate.LNK.Shortcut Windows shortcut to Reports\\Q3 \xC3\xA9t\xC3\xA9.pdf"});
}

TEST(ShortcutDetector, TruncatedAndForeignDataIsSafe) {
  const std::vector<uint8_t> link = Link(u"..\\cmd.exe", u"/c calc");
  for (size_t size = 0; size < link.size(); ++size) Scan(std::span(link).first(size));
  EXPECT_EQ(Scan(std::span(link).first(0x4C)), Found{"Tollgate.LNK.Shortcut Windows shortcut to an unnamed target"});
  const std::vector<uint8_t> other(200, 0x4C);
  EXPECT_EQ(Scan(other), Found{});
}

TEST(ShortcutDetector, ReadsTheLocalBasePathOfLinkInfo) {
  std::vector<uint8_t> link = {0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46};
  link.push_back(0x2);  // HasLinkInfo, code-page strings
  link.resize(0x4C, 0);
  const std::string path = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
  const uint32_t header = 0x1C;
  const uint32_t size = header + static_cast<uint32_t>(path.size()) + 1;
  for (uint32_t value : {size, header, 1u, 0u, header, 0u, 0u}) {
    for (int i = 0; i < 4; ++i) link.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
  link.insert(link.end(), path.begin(), path.end());
  link.push_back(0);
  const auto read = shortcut::ReadShellLink(link);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->target, path);
  EXPECT_EQ(Scan(link), Found{"Tollgate.LNK.Command Windows shortcut to " + path});
}

}  // namespace
}  // namespace tollgate
