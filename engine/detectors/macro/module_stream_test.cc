// Compressed module source found in a module stream without its project's dir stream.
#include "module_stream.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "ole2_unpacker.h"
#include "recording_child_sink.h"

namespace tollgate::testing {
namespace {

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

TEST(CompressedModuleSource, FindsTheSourceBehindThePcode) {
  // The corpus's Word 97 document: its OLE2 children hold each module stream, then its source.
  std::ifstream in(std::filesystem::path(TOLLGATE_CORPUS_DIR) / "threats/office/legacy_macro.doc", std::ios::binary);
  const std::vector<uint8_t> doc{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  RecordingChildSink sink{ObjectPath("legacy_macro.doc")};
  ASSERT_TRUE(MakeUnpacker_ole2()->Unpack({ObjectPath("legacy_macro.doc"), {}, doc, 0, "ole2"}, sink).ok());
  const std::vector<std::string> module = sink.ChildTexts("Macros/VBA/NewMacros");
  ASSERT_EQ(module.size(), 2u);
  const auto source = macro::CompressedModuleSource(Bytes(module[0]), 1 << 20);
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(std::string(source->begin(), source->end()), module[1]);
  EXPECT_FALSE(macro::CompressedModuleSource(doc, 1 << 20).has_value());  // the document itself
}

TEST(CompressedModuleSource, NeedsAContainerAndAChunkHeaderBeforeTheLiterals) {
  EXPECT_FALSE(macro::CompressedModuleSource(Bytes("Attribute VB_Name = \"Module1\""), 1 << 20).has_value());
  EXPECT_FALSE(macro::CompressedModuleSource(Bytes(std::string("\x02\x10\xB0\0Attribute", 13)), 1 << 20).has_value());
  EXPECT_FALSE(macro::CompressedModuleSource(Bytes(std::string("\x01\x10\x30\0Attribute", 13)), 1 << 20).has_value());
  const auto source = macro::CompressedModuleSource(Bytes(std::string("p-code\x01\x08\xB0\0Attribut", 18)), 1 << 20);
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(std::string(source->begin(), source->end()), "Attribut");
}

}  // namespace
}  // namespace tollgate::testing
