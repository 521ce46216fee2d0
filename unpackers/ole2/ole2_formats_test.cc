// The formats inside OLE2 files, one function at a time: MS-OVBA compression and dir streams,
// Packager streams, PowerPoint's stored objects, Office encryption evidence and names.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "office_encryption.h"
#include "ole10native.h"
#include "ppt_objects.h"
#include "text_names.h"
#include "vba_project.h"

namespace tollgate::ole2 {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> values) {
  std::vector<uint8_t> bytes;
  for (int value : values) bytes.push_back(static_cast<uint8_t>(value));
  return bytes;
}

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::string Text(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

void PutLe16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(value & 0xFF);
  out.push_back(value >> 8);
}

void PutLe32(std::vector<uint8_t>& out, uint32_t value) {
  PutLe16(out, value & 0xFFFF);
  PutLe16(out, value >> 16);
}

// [MS-OVBA] 3.2.1: a chunk of literals only.
TEST(DecompressVba, DecodesTheSpecificationsLiteralExample) {
  const auto compressed =
      Bytes({0x01, 0x19, 0xB0, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x00, 0x69, 0x6A,
             0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70, 0x00, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x2E});
  std::vector<uint8_t> out;
  ASSERT_TRUE(DecompressVba(compressed, 1 << 20, out).ok());
  EXPECT_EQ(Text(out), "abcdefghijklmnopqrstuv.");
}

// [MS-OVBA] 3.2.2: copy tokens, including ones that overlap what they produce.
TEST(DecompressVba, DecodesTheSpecificationsCopyTokenExample) {
  const auto compressed =
      Bytes({0x01, 0x2F, 0xB0, 0x00, 0x23, 0x61, 0x61, 0x61, 0x62, 0x63, 0x64, 0x65, 0x82, 0x66, 0x00, 0x70, 0x61,
             0x67, 0x68, 0x69, 0x6A, 0x01, 0x38, 0x08, 0x61, 0x6B, 0x6C, 0x00, 0x30, 0x6D, 0x6E, 0x6F, 0x70, 0x06,
             0x71, 0x02, 0x70, 0x04, 0x10, 0x72, 0x73, 0x74, 0x75, 0x76, 0x10, 0x77, 0x78, 0x79, 0x7A, 0x00, 0x3C});
  std::vector<uint8_t> out;
  ASSERT_TRUE(DecompressVba(compressed, 1 << 20, out).ok());
  EXPECT_EQ(Text(out), "#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa");
}

TEST(DecompressVba, CopiesAnUncompressedChunkAsIs) {
  std::vector<uint8_t> compressed = {0x01};
  PutLe16(compressed, 0x3FFF);  // 4096 raw bytes follow
  const std::string raw(4096, 'x');
  compressed.insert(compressed.end(), raw.begin(), raw.end());
  std::vector<uint8_t> out;
  ASSERT_TRUE(DecompressVba(compressed, 1 << 20, out).ok());
  EXPECT_EQ(Text(out), raw);
}

TEST(DecompressVba, StopsOnceOverTheCap) {
  // One literal, then copy tokens repeating it: each 18-byte chunk yields 4159 bytes.
  std::vector<uint8_t> chunk = {0xFE, 'a'};
  for (int i = 0; i < 7; ++i) PutLe16(chunk, 0x0FFF);  // offset 1 (then 512), length 4098 (then 10)
  std::vector<uint8_t> compressed = {0x01};
  for (int i = 0; i < 10; ++i) {
    PutLe16(compressed, static_cast<uint16_t>(0xB000 | (chunk.size() + 2 - 3)));
    compressed.insert(compressed.end(), chunk.begin(), chunk.end());
  }
  std::vector<uint8_t> all;
  ASSERT_TRUE(DecompressVba(compressed, 1 << 20, all).ok());
  EXPECT_EQ(all.size(), 10u * 4159u);
  std::vector<uint8_t> capped;
  ASSERT_TRUE(DecompressVba(compressed, 100, capped).ok());
  EXPECT_EQ(capped.size(), 4159u);  // the first chunk passes the cap; the next ones are never read
}

TEST(DecompressVba, RejectsCorruptData) {
  std::vector<uint8_t> out;
  EXPECT_EQ(DecompressVba(Bytes({0x02, 0x00, 0xB0}), 100, out).message(), "VBA compression: no signature byte");
  EXPECT_EQ(DecompressVba(Bytes({0x01, 0x00, 0x00, 0x00}), 100, out).message(), "VBA compression: bad chunk signature");
  // A copy token as the chunk's first token has nothing to copy.
  EXPECT_EQ(DecompressVba(Bytes({0x01, 0x02, 0xB0, 0x01, 0x00, 0x00}), 100, out).message(),
            "VBA compression: copy token before any literal");
  // Offset 2 after one literal reaches before the chunk.
  EXPECT_EQ(DecompressVba(Bytes({0x01, 0x03, 0xB0, 0x02, 0x61, 0x00, 0x10}), 100, out).message(),
            "VBA compression: copy token reaches before the chunk");
  EXPECT_EQ(DecompressVba(Bytes({0x01, 0x02}), 100, out).message(), "VBA compression: truncated chunk header");
}

std::vector<uint8_t> Record(uint16_t id, std::string_view data) {
  std::vector<uint8_t> out;
  PutLe16(out, id);
  PutLe32(out, static_cast<uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void Append(std::vector<uint8_t>& out, const std::vector<uint8_t>& more) {
  out.insert(out.end(), more.begin(), more.end());
}

TEST(ParseVbaDirStream, ListsModulesWithUnicodeNamesAndOffsets) {
  std::vector<uint8_t> dir = Record(0x0001, std::string("\x01\0\0\0", 4));
  const auto version = Bytes({0x09, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00});
  Append(dir, version);  // PROJECTVERSION: its size says 4, 6 bytes follow
  Append(dir, Record(0x0019, "Modul\xE9"));
  Append(dir, Record(0x0047, std::string("M\0o\0d\0u\0l\0\xE9\0", 12)));
  Append(dir, Record(0x001A, "Modul\xE9"));
  Append(dir, Record(0x0032, std::string("M\0o\0d\0u\0l\0\xE9\0", 12)));
  Append(dir, Record(0x0031, std::string("\x30\x01\0\0", 4)));
  Append(dir, Record(0x002B, ""));
  Append(dir, Record(0x0019, "Sheet1"));
  Append(dir, Record(0x001A, "Sheet1"));
  Append(dir, Record(0x0031, std::string("\0\0\0\0", 4)));
  Append(dir, Record(0x0010, ""));
  auto modules = ParseVbaDirStream(dir);
  ASSERT_TRUE(modules.ok()) << modules.status().ToString();
  ASSERT_EQ(modules->size(), 2u);
  EXPECT_EQ((*modules)[0].name, "Modul\xC3\xA9");
  EXPECT_EQ((*modules)[0].stream_name, "Modul\xC3\xA9");
  EXPECT_EQ((*modules)[0].source_offset, 0x130u);
  EXPECT_EQ((*modules)[1].name, "Sheet1");
  EXPECT_EQ((*modules)[1].source_offset, 0u);
}

TEST(ParseVbaDirStream, RejectsTruncatedStreams) {
  std::vector<uint8_t> dir = Record(0x0019, "Module1");
  EXPECT_EQ(ParseVbaDirStream(dir).status().message(), "VBA dir stream ends without its terminator record");
  dir.resize(dir.size() - 2);
  EXPECT_EQ(ParseVbaDirStream(dir).status().message(), "VBA dir stream: record 0x0019 runs past the stream");
}

std::vector<uint8_t> PackagerStream(std::string_view label, std::string_view source_path, std::string_view contents) {
  std::vector<uint8_t> native;
  PutLe16(native, 2);
  native.insert(native.end(), label.begin(), label.end());
  native.push_back(0);
  native.insert(native.end(), source_path.begin(), source_path.end());
  native.push_back(0);
  PutLe16(native, 0);
  PutLe16(native, 3);
  PutLe32(native, static_cast<uint32_t>(source_path.size() + 1));
  native.insert(native.end(), source_path.begin(), source_path.end());
  native.push_back(0);
  PutLe32(native, static_cast<uint32_t>(contents.size()));
  native.insert(native.end(), contents.begin(), contents.end());
  std::vector<uint8_t> stream;
  PutLe32(stream, static_cast<uint32_t>(native.size()));
  Append(stream, native);
  return stream;
}

TEST(ParsePackagerStream, FindsTheEmbeddedFileAndItsLabel) {
  const auto stream = PackagerStream("invoice.exe", "C:\\temp\\invoice.exe", "MZ payload");
  const auto packaged = ParsePackagerStream(stream);
  ASSERT_TRUE(packaged.has_value());
  EXPECT_EQ(packaged->label, "invoice.exe");
  EXPECT_EQ(std::string(packaged->contents.begin(), packaged->contents.end()), "MZ payload");
}

TEST(ParsePackagerStream, FallsBackToTheSourceFileName) {
  const auto packaged = ParsePackagerStream(PackagerStream("", "C:\\temp\\run.bat", "echo"));
  ASSERT_TRUE(packaged.has_value());
  EXPECT_EQ(packaged->label, "run.bat");
}

TEST(ParsePackagerStream, RejectsWhatIsNotAPackagerStream) {
  EXPECT_FALSE(ParsePackagerStream(Bytes({0x10, 0x00})).has_value());
  std::vector<uint8_t> truncated = PackagerStream("a.exe", "C:\\a.exe", "0123456789");
  truncated.resize(truncated.size() - 1);  // the contents run past the stream
  EXPECT_FALSE(ParsePackagerStream(truncated).has_value());
  constexpr char kNoTerminator[] = "\x20\0\0\0\x02\0no terminator anywhere";
  EXPECT_FALSE(ParsePackagerStream(Bytes(std::string_view(kNoTerminator, sizeof kNoTerminator - 1))).has_value());
}

std::vector<uint8_t> PptRecord(uint16_t instance, uint16_t type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out;
  PutLe16(out, static_cast<uint16_t>(instance << 4));
  PutLe16(out, type);
  PutLe32(out, static_cast<uint32_t>(body.size()));
  Append(out, body);
  return out;
}

TEST(PptStoredObjects, FindsAndInflatesExOleObjStgRecords) {
  const std::string object(3000, 'o');
  std::vector<uint8_t> deflated(compressBound(object.size()));
  uLongf deflated_size = deflated.size();
  ASSERT_EQ(compress(deflated.data(), &deflated_size, reinterpret_cast<const Bytef*>(object.data()), object.size()),
            Z_OK);
  deflated.resize(deflated_size);
  std::vector<uint8_t> compressed_body;
  PutLe32(compressed_body, static_cast<uint32_t>(object.size()));
  Append(compressed_body, deflated);

  std::vector<uint8_t> stream = PptRecord(0, 0x03E8, Bytes("document container"));
  const size_t compressed_offset = stream.size();
  Append(stream, PptRecord(1, 0x1011, compressed_body));
  const size_t plain_offset = stream.size();
  Append(stream, PptRecord(0, 0x1011, Bytes("plain object")));
  Append(stream, PptRecord(0, 0x1011, Bytes("cut short")));
  stream.resize(stream.size() - 1);  // the last record runs past the stream: not a record

  const auto objects = FindPptStoredObjects(stream);
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].offset, compressed_offset);
  EXPECT_TRUE(objects[0].compressed);
  EXPECT_EQ(objects[0].declared_size, object.size());
  EXPECT_EQ(objects[1].offset, plain_offset);
  EXPECT_FALSE(objects[1].compressed);
  EXPECT_EQ(std::string(objects[1].data.begin(), objects[1].data.end()), "plain object");

  std::vector<uint8_t> inflated;
  ASSERT_TRUE(InflatePptObject(objects[0].data, 1 << 20, inflated).ok());
  EXPECT_EQ(Text(inflated), object);

  std::vector<uint8_t> capped;
  ASSERT_TRUE(InflatePptObject(objects[0].data, 100, capped).ok());
  EXPECT_EQ(capped.size(), 101u);  // one past the cap: the sink sees the overflow

  std::vector<uint8_t> truncated;
  EXPECT_EQ(InflatePptObject(objects[0].data.first(objects[0].data.size() / 2), 1 << 20, truncated).message(),
            "zlib: the compressed object ends early");
  std::vector<uint8_t> corrupt;
  EXPECT_FALSE(InflatePptObject(Bytes("not zlib at all"), 1 << 20, corrupt).ok());
}

TEST(EncryptionEvidence, RecognisesEachOfficeScheme) {
  EncryptionEvidence none;
  none.ObserveRootStream("WordDocument", Bytes({0xEC, 0xA5, 0xC1, 0x00, 0, 0, 0x09, 0x04, 0, 0, 0x00, 0x02}));
  // An encrypted OOXML package is no legacy encryption: office_decryption.h reads it.
  none.ObserveRootStream("EncryptionInfo", {});
  none.ObserveRootStream("EncryptedPackage", {});
  EXPECT_FALSE(none.Scheme().has_value());

  EncryptionEvidence word;
  word.ObserveRootStream("WordDocument", Bytes({0xEC, 0xA5, 0xC1, 0x00, 0, 0, 0x09, 0x04, 0, 0, 0x00, 0x03}));
  EXPECT_EQ(word.Scheme(), "Word document encryption (fEncrypted in the FIB)");

  EncryptionEvidence excel;
  excel.ObserveRootStream("Workbook", Bytes({0x09, 0x08, 0x02, 0x00, 0x00, 0x06, 0x2F, 0x00, 0x00, 0x00}));
  EXPECT_EQ(excel.Scheme(), "Excel workbook encryption (a FILEPASS record)");

  EncryptionEvidence plain_excel;  // FILEPASS after the globals' EOF belongs to nothing
  plain_excel.ObserveRootStream("Workbook", Bytes({0x09, 0x08, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x2F, 0x00, 0, 0}));
  EXPECT_FALSE(plain_excel.Scheme().has_value());

  EncryptionEvidence powerpoint;
  powerpoint.ObserveRootStream("EncryptedSummary", {});
  EXPECT_EQ(powerpoint.Scheme(), "PowerPoint document encryption (an EncryptedSummary stream)");
}

TEST(TextNames, ConvertAndEscape) {
  EXPECT_EQ(Utf16LeToUtf8(Bytes({'A', 0, 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE, 0x00, 0xD8, 'B'})),
            "A\xC3\xA9\xF0\x9F\x98\x80\xEF\xBF\xBD");
  EXPECT_EQ(Latin1ToUtf8(Bytes({'c', 0xE9})), "c\xC3\xA9");
  EXPECT_EQ(PrintableName("\x01Ole10Native"), "\\x01Ole10Native");
  EXPECT_EQ(PrintableName("\x05SummaryInformation"), "\\x05SummaryInformation");
  EXPECT_EQ(PrintableName("caf\xC3\xA9\x7F\xFF"), "caf\xC3\xA9\\x7F\\xFF");
}

}  // namespace
}  // namespace tollgate::ole2
