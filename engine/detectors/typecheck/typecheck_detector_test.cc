#include "typecheck_detector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace tollgate {
namespace {

class Collect final : public FindingSink {
 public:
  void Add(Finding finding) override { rules.push_back(finding.rule + " " + finding.detail); }
  std::vector<std::string> rules;
};

// The smallest headers each loader accepts.
std::vector<uint8_t> PeHeader() {
  std::vector<uint8_t> bytes(0x84, 0);
  bytes[0] = 'M';
  bytes[1] = 'Z';
  bytes[0x3C] = 0x80;  // e_lfanew
  bytes[0x80] = 'P';
  bytes[0x81] = 'E';
  return bytes;
}
const std::vector<uint8_t> kElfHeader = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
const std::vector<uint8_t> kMachOHeader = {0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1};

std::vector<uint8_t> ValidHeaderFor(std::string_view mime) {
  if (mime == "application/vnd.microsoft.portable-executable" || mime == "application/x-dosexec") return PeHeader();
  if (mime == "application/x-pie-executable") return kElfHeader;
  if (mime == "application/x-mach-binary") return kMachOHeader;
  return {};
}

std::vector<std::string> Check(std::string name, std::string mime, std::optional<std::vector<uint8_t>> content = {}) {
  auto detector = MakeDetectorFactory_typecheck().create(DetectorConfig{});
  EXPECT_TRUE(detector.ok());
  const std::vector<uint8_t> bytes = content ? *content : ValidHeaderFor(mime);
  ScanObject object;
  object.path = ObjectPath("upload.zip").Child(name);
  object.type.mime = std::move(mime);
  object.bytes = bytes;
  Collect out;
  const ScanContext ctx(std::chrono::steady_clock::time_point::max(), nullptr);
  EXPECT_TRUE((*detector)->Scan(object, ctx, out).ok());
  return out.rules;
}

using Rules = std::vector<std::string>;

TEST(TypeCheck, MatchingTypesGiveNoFinding) {
  EXPECT_EQ(Check("docs/invoice.pdf", "application/pdf"), Rules{});
  EXPECT_EQ(Check("Report.DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), Rules{});
  EXPECT_EQ(Check("letter.doc", "text/rtf"), Rules{}) << "Word saves RTF under .doc";
  EXPECT_EQ(Check("notes.txt", "text/plain"), Rules{});
  EXPECT_EQ(Check("README", "text/plain"), Rules{});
  EXPECT_EQ(Check("eicar.com", "text/plain"), Rules{});
  EXPECT_EQ(Check("v1.2.release.zip", "application/zip"), Rules{});
}

TEST(TypeCheck, APeNamedLikeADocumentIsADisguisedExecutable) {
  EXPECT_EQ(Check("invoice.pdf", "application/vnd.microsoft.portable-executable"),
            (Rules{"Tollgate.Type.DisguisedExecutable PE executable named .pdf", "Tollgate.Type.Executable PE executable"}));
}

TEST(TypeCheck, OtherMismatchesAreLowSeverity) {
  EXPECT_EQ(Check("scan.jpg", "application/pdf"), Rules{"Tollgate.Type.ExtensionMismatch .jpg holds application/pdf"});
}

TEST(TypeCheck, DoubleExtensionHidingAnExecutable) {
  EXPECT_EQ(Check("invoice.pdf.exe", "application/vnd.microsoft.portable-executable"),
            (Rules{"Tollgate.Name.DoubleExtension .pdf followed by .exe", "Tollgate.Type.Executable PE executable"}));
  EXPECT_EQ(Check("photo.jpg.js", "text/plain"),
            (Rules{"Tollgate.Name.DoubleExtension .jpg followed by .js", "Tollgate.Type.Script .js script"}));
}

TEST(TypeCheck, ExecutablesAndScriptsAnywhere) {
  EXPECT_EQ(Check("bin/tool", "application/x-pie-executable"), Rules{"Tollgate.Type.Executable ELF executable"});
  EXPECT_EQ(Check("run.sh", "text/x-shellscript"), Rules{"Tollgate.Type.Executable shell script"});
  EXPECT_EQ(Check("update.ps1", "text/plain"), Rules{"Tollgate.Type.Script .ps1 script"});
  EXPECT_EQ(Check("x.mach", "application/x-mach-binary"), Rules{"Tollgate.Type.Executable Mach-O executable"});
}

// A PDF's page streams never come here (they are content streams, see LayerKind); a binary stored as
// a stream is a file, and so is a script attached to the PDF.
TEST(TypeCheck, ExecutablesInsideAPdfAreExecutables) {
  EXPECT_EQ(Check("objects/12.0", "application/x-dosexec"), Rules{"Tollgate.Type.Executable DOS/PE executable"});
  EXPECT_EQ(Check("attachments/setup.py", "text/x-script.python"), Rules{"Tollgate.Type.Executable Python script"});
}

// libmagic's "DOS executable (COM)" is any data starting with a jump opcode: media in a document.
TEST(TypeCheck, BinariesNeedAHeaderTheirLoaderAccepts) {
  std::vector<uint8_t> jump_first(4096, 0x42);
  jump_first[0] = 0xE9;
  EXPECT_EQ(Check("word/media/image1.bin", "application/x-dosexec", jump_first), Rules{});
  std::vector<uint8_t> mz_only = PeHeader();
  mz_only[0x80] = 'X';  // no PE signature, and no DOS header paragraphs either
  EXPECT_EQ(Check("objects/3.0", "application/x-dosexec", mz_only), Rules{});
  std::vector<uint8_t> dos_program = mz_only;
  dos_program[4] = 1;  // one page
  dos_program[8] = 4;  // a 64-byte header
  EXPECT_EQ(Check("old.exe", "application/x-dosexec", dos_program), Rules{"Tollgate.Type.Executable DOS/PE executable"});
  EXPECT_EQ(Check("lib.so", "application/x-sharedlib", std::vector<uint8_t>{0x7f, 'E', 'L', 'F', 9, 9, 9}), Rules{});
  EXPECT_EQ(Check("tool", "application/x-mach-binary", std::vector<uint8_t>{1, 2, 3, 4}), Rules{});
  // Named like a document, a jump-first blob is a mismatch, not a disguised executable.
  EXPECT_EQ(Check("scan.png", "application/x-dosexec", jump_first),
            Rules{"Tollgate.Type.ExtensionMismatch .png holds application/x-dosexec"});
}

TEST(TypeCheck, RightToLeftOverrideInTheName) {
  EXPECT_EQ(Check("invoice\xE2\x80\xAE" "fdp.exe", "application/vnd.microsoft.portable-executable"),
            (Rules{"Tollgate.Name.RightToLeftOverride the name contains a right-to-left override",
                   "Tollgate.Type.Executable PE executable"}));
}

}  // namespace
}  // namespace tollgate

namespace tollgate {
namespace {

TEST(TypeCheck, PasswordProtectedOfficeFilesKeepTheirExtension) {
  EXPECT_EQ(Check("contract.docx", "application/encrypted"), std::vector<std::string>{});
  EXPECT_EQ(Check("salaries.xlsx", "application/encrypted"), std::vector<std::string>{});
}

}  // namespace
}  // namespace tollgate
