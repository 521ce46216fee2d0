// The OLE2 unpacker on real compound files (the corpus's Office samples, ClamAV's test documents,
// LibreOffice's 97-2003 files) and on hostile ones built here.
#include "ole2_unpacker.h"

#include <gtest/gtest.h>
#include <tbb/task_group.h>
#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "office_decryption.h"
#include "recording_child_sink.h"

namespace tollgate::testing {
namespace {

const std::filesystem::path kCorpus = TOLLGATE_CORPUS_DIR;
const std::filesystem::path kClamTestFiles = "/usr/share/clamav-testfiles";
const std::string kEicar =
    std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$") + "EICAR-STANDARD-ANTIVIRUS-" + "TEST-FILE!$H+H*";
const FileType kCompoundFile{"application/x-ole-storage",
                             "Composite Document File V2 Document, Cannot read section info"};

std::vector<uint8_t> ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A member of a zip file (an OOXML package), read with libzip.
std::vector<uint8_t> ZipMember(const std::vector<uint8_t>& zip, const char* name) {
  zip_error_t error;
  zip_source_t* source = zip_source_buffer_create(zip.data(), zip.size(), 0, &error);
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY, &error);
  EXPECT_NE(archive, nullptr);
  std::vector<uint8_t> bytes;
  zip_stat_t stat;
  if (archive != nullptr && zip_stat(archive, name, 0, &stat) == 0) {
    bytes.resize(stat.size);
    zip_file_t* file = zip_fopen(archive, name, 0);
    EXPECT_EQ(zip_fread(file, bytes.data(), bytes.size()), static_cast<zip_int64_t>(bytes.size()));
    zip_fclose(file);
  }
  if (archive != nullptr) zip_discard(archive);
  return bytes;
}

RecordingChildSink Unpack(const std::string& name, const std::vector<uint8_t>& bytes,
                          std::vector<std::string> passwords = {}, uint64_t cap = 64ull << 20) {
  RecordingChildSink sink{ObjectPath(name), cap};
  sink.passwords = std::move(passwords);
  const ScanObject object{ObjectPath(name), kCompoundFile, bytes, 0, "ole2"};
  const Status status = MakeUnpacker_ole2()->Unpack(object, sink);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return sink;
}

std::vector<std::string> Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

// First in this binary, so libgsf's first use (its type registration) happens on several TBB
// workers at once, as in a scan of many uploads.
TEST(Ole2Unpacker, UnpacksOnManyThreadsFromLibgsfsFirstUse) {
  const std::vector<uint8_t> doc = ReadBytes(kCorpus / "benign/letter.doc");
  const std::vector<uint8_t> xls = ReadBytes(kCorpus / "benign/budget.xls");
  constexpr int kRuns = 32;
  std::vector<size_t> children(kRuns);
  tbb::task_group tasks;
  for (int i = 0; i < kRuns; ++i) {
    tasks.run([&, i] { children[i] = Unpack("sample", i % 2 ? xls : doc).children.size(); });
  }
  tasks.wait();
  const size_t doc_children = Unpack("letter.doc", doc).children.size();
  const size_t xls_children = Unpack("budget.xls", xls).children.size();
  for (int i = 0; i < kRuns; ++i) EXPECT_EQ(children[i], i % 2 ? xls_children : doc_children) << i;
}

TEST(Ole2Unpacker, AcceptsEveryCompoundFileByItsHeader) {
  auto unpacker = MakeUnpacker_ole2();
  EXPECT_EQ(unpacker->Name(), "ole2");
  const auto accepts = [&](const std::vector<uint8_t>& bytes, const char* mime) {
    return unpacker->Accepts(ScanObject{ObjectPath("sample"), {mime, ""}, bytes, 0, {}});
  };
  // Whatever MIME type libmagic gives each application's compound files.
  for (const char* sample : {"benign/letter.doc", "benign/budget.xls", "benign/slides.ppt", "threats/office/encrypted.docx"}) {
    EXPECT_TRUE(accepts(ReadBytes(kCorpus / sample), "application/octet-stream")) << sample;
  }
  // Word 2.0 shares .doc's MIME type but is no compound file.
  EXPECT_FALSE(accepts({0xDB, 0xA5, 0x2D, 0x00, 0x00, 0x00}, "application/msword"));
  EXPECT_FALSE(accepts(ReadBytes(kCorpus / "clean/photos.zip"), "application/zip"));
  EXPECT_FALSE(accepts({0xD0, 0xCF, 0x11, 0xE0}, "application/octet-stream"));
}

TEST(Ole2Unpacker, LegacyWordDocumentGivesEveryStreamAndEachModulesSource) {
  const RecordingChildSink sink = Unpack("legacy_macro.doc", ReadBytes(kCorpus / "threats/office/legacy_macro.doc"));
  // Each module stream is followed by its decompressed source, under the same path.
  EXPECT_EQ(Sorted(sink.ChildNames()),
            (std::vector<std::string>{"1Table", "Macros/PROJECT", "Macros/PROJECTwm", "Macros/VBA/NewMacros",
                                      "Macros/VBA/NewMacros", "Macros/VBA/ThisDocument", "Macros/VBA/ThisDocument",
                                      "Macros/VBA/_VBA_PROJECT", "Macros/VBA/dir", "WordDocument"}));
  const std::vector<std::string> new_macros = sink.ChildTexts("Macros/VBA/NewMacros");
  ASSERT_EQ(new_macros.size(), 2u);
  EXPECT_EQ(new_macros[0].substr(0, 3), std::string("\0\1\2", 3));  // the stream as stored: p-code first
  EXPECT_EQ(new_macros[1],
            "Attribute VB_Name = \"NewMacros\"\r\nSub AutoOpen()\r\n    Dim result\r\n"
            "    result = Shell(\"cmd.exe /c echo harmless\", 0)\r\nEnd Sub\r\n");
  ASSERT_EQ(sink.findings.size(), 1u);
  EXPECT_EQ(sink.FindingSummaries(), std::vector<std::string>{"Tollgate.OLE2.VBAProject medium legacy_macro.doc"});
  EXPECT_EQ(sink.findings[0].detail, "document with a VBA project (macros) of 2 modules in Macros/VBA");
}

TEST(Ole2Unpacker, StandaloneVbaProjectGivesModuleSourcesWithoutAFinding) {
  const auto docm = ReadBytes(kCorpus / "threats/office/invoice.docm");
  const RecordingChildSink sink = Unpack("vbaProject.bin", ZipMember(docm, "word/vbaProject.bin"));
  EXPECT_EQ(Sorted(sink.ChildNames()),
            (std::vector<std::string>{"PROJECT", "PROJECTwm", "VBA/Module1", "VBA/Module1", "VBA/ThisDocument",
                                      "VBA/ThisDocument", "VBA/_VBA_PROJECT", "VBA/dir"}));
  const std::vector<std::string> module1 = sink.ChildTexts("VBA/Module1");
  ASSERT_EQ(module1.size(), 2u);
  EXPECT_EQ(
      module1[1],
      "Attribute VB_Name = \"Module1\"\r\nSub AutoOpen()\r\n    Document_Open\r\nEnd Sub\r\n\r\n"
      "Sub Document_Open()\r\n    CreateObject(\"WScript.Shell\").Run \"cmd.exe /c echo harmless\"\r\nEnd Sub\r\n");
  EXPECT_TRUE(sink.findings.empty());
}

TEST(Ole2Unpacker, PackagerObjectGivesTheEmbeddedFileByItsLabel) {
  const auto docx = ReadBytes(kCorpus / "threats/office/ole_eicar.docx");
  const RecordingChildSink sink = Unpack("oleObject1.bin", ZipMember(docx, "word/embeddings/oleObject1.bin"));
  EXPECT_EQ(Sorted(sink.ChildNames()), (std::vector<std::string>{"\\x01CompObj", "\\x01Ole10Native", "eicar.com"}));
  EXPECT_EQ(sink.ChildText("eicar.com"), kEicar);
  EXPECT_TRUE(sink.findings.empty());
}

TEST(Ole2Unpacker, ClamavsWordDocumentGivesClamExeFromItsObjectPool) {
  const RecordingChildSink sink = Unpack("clam.ole.doc", ReadBytes(kClamTestFiles / "clam.ole.doc"));
  const std::string clam_exe = sink.ChildText("ObjectPool/_1279313719/Clam.exe");
  EXPECT_EQ(clam_exe.size(), 544u);
  EXPECT_TRUE(clam_exe.starts_with("MZ"));
  EXPECT_EQ(sink.ChildText("ObjectPool/_1279313719/\\x01Ole10Native").size(), 597u);
  EXPECT_TRUE(sink.findings.empty());
}

TEST(Ole2Unpacker, ClamavsPresentationGivesItsStoredObjectAsACompoundFile) {
  const RecordingChildSink sink = Unpack("clam.ppt", ReadBytes(kClamTestFiles / "clam.ppt"));
  const std::string object = sink.ChildText("PowerPoint Document/ExOleObjStg@4422");
  ASSERT_TRUE(object.starts_with("\xD0\xCF\x11\xE0")) << ::testing::PrintToString(sink.ChildNames());
  const RecordingChildSink inner = Unpack("ExOleObjStg@4422", std::vector<uint8_t>(object.begin(), object.end()));
  EXPECT_EQ(Sorted(inner.ChildNames()), (std::vector<std::string>{"\\x01CompObj", "\\x01Ole10Native", "clam.exe"}));
  EXPECT_EQ(inner.ChildText("clam.exe").size(), 544u);
  EXPECT_TRUE(sink.findings.empty());
}

TEST(Ole2Unpacker, LibreOfficesDocumentsGiveNoFindings) {
  for (const char* sample : {"benign/letter.doc", "benign/budget.xls", "benign/slides.ppt"}) {
    const RecordingChildSink sink = Unpack("sample", ReadBytes(kCorpus / sample));
    EXPECT_GE(sink.children.size(), 3u) << sample;
    EXPECT_EQ(sink.FindingSummaries(), std::vector<std::string>{}) << sample;
  }
}

TEST(Ole2Unpacker, EncryptedPackageWithoutAPasswordEncryptorIsIncompleteAndNoPasswordIsTried) {
  const RecordingChildSink sink =
      Unpack("encrypted.docx", ReadBytes(kCorpus / "threats/office/encrypted.docx"), {"tollgate-test"});
  EXPECT_EQ(sink.findings, std::vector<Finding>{IncompleteFinding(
                               "tollgate", "encrypted", ObjectPath("encrypted.docx"),
                               "an encrypted OOXML package: the document has no password key encryptor "
                               "(certificate only); no password was tried")});
}

const std::string kOfficePassword = "tollgate-test";  // corpus/office_samples.py

Finding Attempt(const std::string& object, size_t attempt, size_t attempts, bool accepted) {
  return DecryptAttemptFinding(ObjectPath(object), attempt, attempts, accepted);
}

TEST(Ole2Unpacker, EncryptedPackageWithoutPasswordsIsIncompleteAndItsCiphertextIsNoLayer) {
  const RecordingChildSink sink =
      Unpack("encrypted_macro.docm", ReadBytes(kCorpus / "threats/office/encrypted_macro.docm"));
  EXPECT_EQ(sink.findings, std::vector<Finding>{IncompleteFinding("tollgate", "encrypted",
                                                                  ObjectPath("encrypted_macro.docm"),
                                                                  "an encrypted OOXML package: no password was given")});
  EXPECT_EQ(Sorted(sink.ChildNames()), (std::vector<std::string>{"EncryptionInfo", "\\x06DataSpaces/Version"}));
}

TEST(Ole2Unpacker, AgileEncryptedPackageIsDecryptedWithTheFirstPasswordThatFits) {
  const RecordingChildSink sink = Unpack("encrypted_macro.docm",
                                         ReadBytes(kCorpus / "threats/office/encrypted_macro.docm"),
                                         {"wrong-one", kOfficePassword, "never-tried"});
  EXPECT_EQ(sink.findings, (std::vector<Finding>{Attempt("encrypted_macro.docm", 1, 3, false),
                                                 Attempt("encrypted_macro.docm", 2, 3, true)}));
  const std::string package = sink.ChildText("EncryptedPackage");
  const std::vector<uint8_t> package_bytes(package.begin(), package.end());
  ASSERT_TRUE(package.starts_with("PK\x03\x04"));
  const std::vector<uint8_t> vba = ZipMember(package_bytes, "word/vbaProject.bin");
  ASSERT_FALSE(vba.empty());
  // The decrypted macro project is a compound file like any other: the module's stream, then its source.
  const std::vector<std::string> module = Unpack("vbaProject.bin", vba).ChildTexts("VBA/Module1");
  ASSERT_EQ(module.size(), 2u);
  EXPECT_NE(module[1].find("Sub AutoOpen()"), std::string::npos);
}

TEST(Ole2Unpacker, StandardEncryptedPackageIsDecrypted) {
  const RecordingChildSink sink = Unpack(
      "encrypted_standard.docx", ReadBytes(kCorpus / "threats/office/encrypted_standard.docx"), {kOfficePassword});
  EXPECT_EQ(sink.findings, std::vector<Finding>{Attempt("encrypted_standard.docx", 1, 1, true)});
  const std::string package = sink.ChildText("EncryptedPackage");
  const std::string settings_rels = [&] {
    const auto bytes = ZipMember({package.begin(), package.end()}, "word/_rels/settings.xml.rels");
    return std::string(bytes.begin(), bytes.end());
  }();
  EXPECT_NE(settings_rels.find("attachedTemplate"), std::string::npos);
}

TEST(Ole2Unpacker, EncryptedPackageNoPasswordOpensIsIncompleteWithEveryAttemptRecorded) {
  for (const char* sample : {"encrypted_macro.docm", "encrypted_standard.docx"}) {
    const RecordingChildSink sink =
        Unpack(sample, ReadBytes(kCorpus / "threats/office" / sample), {"wrong-one", "Tollgate-Test"});
    EXPECT_EQ(sink.findings,
              (std::vector<Finding>{Attempt(sample, 1, 2, false), Attempt(sample, 2, 2, false),
                                    IncompleteFinding("tollgate", "encrypted", ObjectPath(sample),
                                                      "an encrypted OOXML package: no given password opens it")}))
        << sample;
    EXPECT_EQ(sink.ChildText("EncryptedPackage"), "") << sample;
  }
}

TEST(Ole2Unpacker, DecryptedPackageStaysWithinTheSinksCap) {
  const RecordingChildSink sink = Unpack(
      "encrypted_macro.docm", ReadBytes(kCorpus / "threats/office/encrypted_macro.docm"), {kOfficePassword}, 100);
  EXPECT_EQ(sink.ChildText("EncryptedPackage"), "");  // 101 bytes decrypted, refused by the sink
}

// EncryptionInfo of the agile sample, as the unpacker hands it on.
std::vector<uint8_t> AgileEncryptionInfo() {
  const std::string info =
      Unpack("encrypted_macro.docm", ReadBytes(kCorpus / "threats/office/encrypted_macro.docm"))
          .ChildText("EncryptionInfo");
  return {info.begin(), info.end()};
}

TEST(PackageDecryptor, RefusesHostileDescriptorsAndPackages) {
  std::vector<uint8_t> info = AgileEncryptionInfo();
  auto decryptor = ole2::PackageDecryptor::Create(info);
  ASSERT_TRUE(decryptor.ok()) << decryptor.status().ToString();
  auto key = (*decryptor)->KeyFor(kOfficePassword, {});
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(key->size(), 32u);

  // A package that declares more than it holds.
  std::vector<uint8_t> package = {0xFF, 0xFF, 0, 0, 0, 0, 0, 0};
  package.resize(8 + 4096);
  std::vector<uint8_t> out;
  EXPECT_EQ((*decryptor)->Decrypt(*key, package, 1 << 20, out).code(), StatusCode::kDataLoss);
  EXPECT_EQ((*decryptor)->Decrypt(*key, std::vector<uint8_t>(5), 1 << 20, out).code(), StatusCode::kDataLoss);
  // A limit below the declared size: one byte past it, for the caller's check.
  ASSERT_TRUE((*decryptor)->Decrypt(*key, std::vector<uint8_t>{40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                               11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                                                               25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
                                                               39, 40, 41, 42, 43, 44, 45, 46, 47, 48},
                                 9, out)
                  .ok());
  EXPECT_EQ(out.size(), 10u);

  // The derivation stops when asked to, and a spin count over the specification's maximum is refused.
  auto stopped = (*decryptor)->KeyFor(kOfficePassword, [] { return true; });
  EXPECT_EQ(stopped.status().code(), StatusCode::kDeadlineExceeded);
  std::string text(info.begin(), info.end());
  text.replace(text.find("spinCount=\"100000\""), 18, "spinCount=\"99999999\"");
  EXPECT_EQ(ole2::PackageDecryptor::Create(std::vector<uint8_t>(text.begin(), text.end())).status().code(),
            StatusCode::kDataLoss);
  text.replace(text.find("cipherAlgorithm=\"AES\""), 21, "cipherAlgorithm=\"RC2\"");
  EXPECT_EQ(ole2::PackageDecryptor::Create(std::vector<uint8_t>(text.begin(), text.end())).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(ole2::PackageDecryptor::Create(std::vector<uint8_t>(info.begin(), info.begin() + 40)).status().code(),
            StatusCode::kDataLoss);
  std::string with_dtd(info.begin(), info.end());
  with_dtd.insert(with_dtd.find("<encryption"), "<!DOCTYPE encryption [<!ENTITY a \"aaaa\">]>");
  EXPECT_EQ(ole2::PackageDecryptor::Create(std::vector<uint8_t>(with_dtd.begin(), with_dtd.end())).status().message(),
            "encryption descriptor: declares a DTD, which OOXML forbids");
  EXPECT_EQ(ole2::PackageDecryptor::Create(std::vector<uint8_t>{4, 0, 3, 0, 0, 0, 0, 0}).status().code(),
            StatusCode::kFailedPrecondition);
  // Truncated standard encryption headers never read past the stream.
  for (size_t size = 0; size < 120; ++size) {
    std::vector<uint8_t> standard = {4, 0, 2, 0, 0x24, 0, 0, 0, 0x60, 0, 0, 0};
    standard.resize(size, 0);
    EXPECT_FALSE(ole2::PackageDecryptor::Create(standard).ok()) << size;
  }
}

TEST(Ole2Unpacker, WordsEncryptionFlagMakesTheDocumentIncomplete) {
  std::vector<uint8_t> doc = ReadBytes(kCorpus / "threats/office/legacy_macro.doc");
  const std::vector<uint8_t> fib_start = {0xEC, 0xA5, 0xC1, 0x00};
  auto fib = std::search(doc.begin(), doc.end(), fib_start.begin(), fib_start.end());
  ASSERT_NE(fib, doc.end());
  fib[11] |= 0x01;  // FibBase.fEncrypted
  const RecordingChildSink sink = Unpack("locked.doc", doc);
  ASSERT_EQ(sink.findings.size(), 2u);
  EXPECT_EQ(sink.findings[1],
            IncompleteFinding("tollgate", "encrypted", ObjectPath("locked.doc"),
                              "Word document encryption (fEncrypted in the FIB); decrypting this format is not "
                              "supported, so no password was tried"));
}

// A compound file whose root holds `siblings` empty streams linked into one chain through their
// right-sibling pointers: the degenerate tree some writers produce, stretched.
std::vector<uint8_t> ChainedDirectory(uint32_t siblings, uint32_t declared_fat_sectors = 0) {
  constexpr uint32_t kSector = 512, kFree = 0xFFFFFFFF, kEnd = 0xFFFFFFFE, kFat = 0xFFFFFFFD;
  const uint32_t entries = siblings + 1;
  const uint32_t directory_sectors = (entries * 128 + kSector - 1) / kSector;
  uint32_t fat_sectors = 1;
  while (fat_sectors * (kSector / 4) < fat_sectors + directory_sectors) ++fat_sectors;
  std::vector<uint8_t> file(kSector * (1 + fat_sectors + directory_sectors));
  const auto put16 = [&](size_t at, uint16_t v) { file[at] = v & 0xFF, file[at + 1] = v >> 8; };
  const auto put32 = [&](size_t at, uint32_t v) { put16(at, v & 0xFFFF), put16(at + 2, v >> 16); };
  const uint8_t signature[] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
  std::copy(std::begin(signature), std::end(signature), file.begin());
  put16(0x18, 0x3E), put16(0x1A, 3), put16(0x1C, 0xFFFE), put16(0x1E, 9), put16(0x20, 6);
  put32(0x2C, declared_fat_sectors ? declared_fat_sectors : fat_sectors);
  put32(0x30, fat_sectors), put32(0x38, 4096), put32(0x3C, kEnd), put32(0x44, kEnd);
  for (uint32_t i = 0; i < 109; ++i) put32(0x4C + 4 * i, i < fat_sectors ? i : kFree);
  const size_t fat = kSector;
  for (uint32_t i = 0; i < fat_sectors * kSector / 4; ++i) put32(fat + 4 * i, kFree);
  for (uint32_t i = 0; i < fat_sectors; ++i) put32(fat + 4 * i, kFat);
  for (uint32_t i = 0; i < directory_sectors; ++i) {
    const uint32_t sector = fat_sectors + i;
    put32(fat + 4 * sector, i + 1 < directory_sectors ? sector + 1 : kEnd);
  }
  const size_t directory = kSector * (1 + fat_sectors);
  for (uint32_t i = 0; i < directory_sectors * kSector / 128; ++i) {
    const size_t entry = directory + 128 * i;
    put32(entry + 0x44, kFree), put32(entry + 0x48, kFree), put32(entry + 0x4C, kFree);
    if (i >= entries) continue;
    const std::string name = i == 0 ? "Root Entry" : "s" + std::to_string(i);
    for (size_t c = 0; c < name.size(); ++c) put16(entry + 2 * c, static_cast<uint8_t>(name[c]));
    put16(entry + 0x40, static_cast<uint16_t>(2 * (name.size() + 1)));
    file[entry + 0x42] = i == 0 ? 5 : 2;
    file[entry + 0x43] = 1;
    if (i == 0 && siblings > 0) put32(entry + 0x4C, 1);
    if (i > 0 && i < siblings) put32(entry + 0x48, i + 1);
    put32(entry + 0x74, kEnd);
  }
  return file;
}

TEST(Ole2Unpacker, RefusesDirectoriesThatWouldOverflowLibgsfsStack) {
  // 40,000 chained entries crash libgsf 1.14.50 on a 4 MiB stack; 3,000 already pass the bound.
  const RecordingChildSink sink = Unpack("deep.doc", ChainedDirectory(3000));
  EXPECT_TRUE(sink.children.empty());
  EXPECT_EQ(sink.findings, std::vector<Finding>{IncompleteFinding("tollgate", "parse_error", ObjectPath("deep.doc"),
                                                                  "OLE2: directory entries nested deeper than 2048")});
}

TEST(Ole2Unpacker, RefusesHugeDirectoriesAndTables) {
  EXPECT_EQ(Unpack("wide.doc", ChainedDirectory(20000)).findings,
            std::vector<Finding>{IncompleteFinding("tollgate", "parse_error", ObjectPath("wide.doc"),
                                                   "OLE2: a directory of more than 16384 entries")});
  EXPECT_EQ(Unpack("fat.doc", ChainedDirectory(1, 1u << 20)).findings,
            std::vector<Finding>{IncompleteFinding("tollgate", "parse_error", ObjectPath("fat.doc"),
                                                   "OLE2: a FAT of 1048576 sectors is larger than 2097152 entries")});
}

TEST(Ole2Unpacker, DeepestAcceptedDirectoryIsSafeOnATbbWorkerThread) {
  // Depth 2048: the root, then 2047 chained siblings. TBB workers have 4 MiB stacks.
  const std::vector<uint8_t> file = ChainedDirectory(2047);
  size_t children = 0;
  tbb::task_group tasks;
  tasks.run([&] { children = Unpack("deepest.doc", file).children.size(); });
  tasks.wait();
  EXPECT_EQ(children, 2047u);
}

TEST(Ole2Unpacker, SurvivesTruncatedAndCorruptedFiles) {
  const std::vector<uint8_t> doc = ReadBytes(kCorpus / "threats/office/legacy_macro.doc");
  const RecordingChildSink header_only = Unpack("cut.doc", std::vector<uint8_t>(doc.begin(), doc.begin() + 512));
  ASSERT_EQ(header_only.findings.size(), 1u);
  EXPECT_EQ(header_only.findings[0].rule, "Tollgate.Incomplete.parse_error");
  EXPECT_TRUE(header_only.findings[0].detail.starts_with("OLE2: ")) << header_only.findings[0].detail;
  // Every Unpack returns OK and stays within ASan's view of memory, whatever byte is broken.
  for (size_t length = 0; length < doc.size(); length += 97) {
    (void)Unpack("cut.doc", std::vector<uint8_t>(doc.begin(), doc.begin() + length));
  }
  for (size_t at = 0; at < doc.size(); at += 13) {
    std::vector<uint8_t> corrupt = doc;
    corrupt[at] ^= 0xA5;
    (void)Unpack("flipped.doc", corrupt);
  }
}

}  // namespace
}  // namespace tollgate::testing
