#include "words.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

ScanObject Layer(std::string_view name, std::string mime) {
  ScanObject layer;
  layer.path = ObjectPath("upload.zip").Child(name);
  layer.type.mime = std::move(mime);
  layer.depth = 1;
  return layer;
}

TEST(WordsTest, PlainTextIsProseUnlessItsNameIsAScript) {
  EXPECT_TRUE(IsProse(Layer("incident.txt", "text/plain"), Words::kByType, false));
  EXPECT_TRUE(IsProse(Layer("README", "text/plain"), Words::kByType, false));
  EXPECT_TRUE(IsProse(Layer("notes.md", "text/markdown"), Words::kByType, false));
  EXPECT_TRUE(IsProse(Layer("notes.js.txt", "text/plain"), Words::kByType, false));
  EXPECT_FALSE(IsProse(Layer("invoice.js", "text/plain"), Words::kByType, false));
  EXPECT_FALSE(IsProse(Layer("setup.PS1", "text/plain"), Words::kByType, false));
  EXPECT_FALSE(IsProse(Layer("run.bat", "text/plain"), Words::kByType, false));
}

TEST(WordsTest, OtherTypesAreNotProse) {
  EXPECT_FALSE(IsProse(Layer("page.html", "text/html"), Words::kByType, false));
  EXPECT_FALSE(IsProse(Layer("install.sh", "text/x-shellscript"), Words::kByType, false));
  EXPECT_FALSE(IsProse(Layer("data.bin", "application/octet-stream"), Words::kByType, false));
  EXPECT_FALSE(IsProse(Layer("tool.exe", "application/vnd.microsoft.portable-executable"), Words::kByType, false));
}

TEST(WordsTest, AContainerWhoseWordsAreInItsChildrenIsProse) {
  EXPECT_TRUE(IsProse(Layer("report.pdf", "application/pdf"), Words::kByType, true));
  EXPECT_TRUE(IsProse(Layer("notes.zip", "application/zip"), Words::kByType, true));
  EXPECT_FALSE(IsProse(Layer("letter.rtf", "text/rtf"), Words::kByType, false));
  EXPECT_FALSE(IsProse(Layer("Module1", "text/plain"), Words::kCode, true));
}

TEST(WordsTest, TheUnpackersWordWins) {
  EXPECT_FALSE(IsProse(Layer("Module1", "text/plain"), Words::kCode, false));
  EXPECT_TRUE(IsProse(Layer("objects/12.0", "application/octet-stream"), Words::kProse, false));
}

}  // namespace
}  // namespace tollgate
