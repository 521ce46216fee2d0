// File typing on the corpus: libmagic's answer, and OOXML packages it misses recognised by content.
#include "file_typing.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace tollgate {
namespace {

const std::filesystem::path kCorpus = TOLLGATE_CORPUS_DIR;

FileType TypeOf(const std::string& sample) {
  std::ifstream in(kCorpus / sample, std::ios::binary);
  EXPECT_TRUE(in.good()) << sample;
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto typer = FileTyper::Create();
  EXPECT_TRUE(typer.ok());
  return (*typer)->Identify(bytes);
}

TEST(FileTyping, OoxmlPackageWithItsPackagePartsLastIsStillAWordDocument) {
  const FileType type = TypeOf("threats/office/remote_template_reordered.docx");
  EXPECT_EQ(type.mime, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(type.description, "Microsoft Word 2007+");
  EXPECT_EQ(TypeOf("threats/office/remote_template.docx").mime, type.mime);
}

TEST(FileTyping, OtherZipFilesKeepLibmagicsType) {
  EXPECT_EQ(TypeOf("clean/photos.zip").mime, "application/zip");
  EXPECT_EQ(TypeOf("benign/budget.ods").mime, "application/vnd.oasis.opendocument.spreadsheet");
  EXPECT_EQ(TypeOf("threats/bomb_overlap.zip").mime, "application/zip");
}

}  // namespace
}  // namespace tollgate
