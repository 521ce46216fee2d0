// The first unpacker in unpackers/unpacker_list that accepts a layer unpacks it. ZIP accepts Office
// and OpenDocument packages too, so the list's order decides that OOXML's analysis (macros,
// relationships, external links) runs on a .docx: these cases fail when the order changes.
#include "registry.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

namespace tollgate {
namespace {

std::string FirstAccepting(const std::string& mime, std::span<const uint8_t> bytes = {}) {
  ScanObject object;
  object.type.mime = mime;
  object.bytes = bytes;
  for (const std::unique_ptr<Unpacker>& unpacker : MakeUnpackers()) {
    if (unpacker->Accepts(object)) return std::string(unpacker->Name());
  }
  return "";
}

TEST(Registry, TheMostSpecificUnpackerOpensALayer) {
  for (const char* office : {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                             "application/vnd.ms-word.document.macroEnabled.12",
                             "application/vnd.ms-excel.sheet.macroEnabled.12"}) {
    EXPECT_EQ(FirstAccepting(office), "ooxml") << office;
  }
  EXPECT_EQ(FirstAccepting("application/zip"), "zip");
  EXPECT_EQ(FirstAccepting("application/java-archive"), "zip");
  EXPECT_EQ(FirstAccepting("application/vnd.oasis.opendocument.text"), "zip");
  EXPECT_EQ(FirstAccepting("application/pdf"), "pdf");
  // OLE2 goes by the compound file signature, whatever libmagic named it.
  std::vector<uint8_t> compound = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
  compound.resize(512);
  EXPECT_EQ(FirstAccepting("application/msword", compound), "ole2");
  EXPECT_EQ(FirstAccepting("image/png"), "");
}

}  // namespace
}  // namespace tollgate
