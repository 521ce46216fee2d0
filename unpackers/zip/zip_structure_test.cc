#include "zip_structure.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace tollgate::zip {
namespace {

// Writes stored (uncompressed) ZIP archives field by field, so each test can break one field.
class ZipWriter {
 public:
  struct Member {
    Member(std::string name, std::string data, std::string local_name = "", uint32_t central_offset = ~0u)
        : name(std::move(name)), data(std::move(data)), local_name(std::move(local_name)),
          central_offset(central_offset) {}
    std::string name;
    std::string data;
    std::string local_name;   // empty: the same as name
    uint32_t central_offset;  // ~0u: where the local header was written
  };

  static std::vector<uint8_t> Build(std::vector<Member> members) {
    ZipWriter w;
    std::vector<uint32_t> offsets;
    for (Member& m : members) {
      if (m.local_name.empty()) m.local_name = m.name;
      offsets.push_back(static_cast<uint32_t>(w.out_.size()));
      w.U32(0x04034b50), w.U16(10), w.U16(0), w.U16(0), w.U32(0), w.U32(Crc(m.data));
      w.U32(m.data.size()), w.U32(m.data.size()), w.U16(m.local_name.size()), w.U16(0);
      w.Bytes(m.local_name), w.Bytes(m.data);
    }
    const uint32_t directory = w.out_.size();
    for (size_t i = 0; i < members.size(); ++i) {
      const Member& m = members[i];
      w.U32(0x02014b50), w.U16(20), w.U16(10), w.U16(0), w.U16(0), w.U32(0), w.U32(Crc(m.data));
      w.U32(m.data.size()), w.U32(m.data.size()), w.U16(m.name.size()), w.U16(0), w.U16(0), w.U16(0), w.U16(0);
      w.U32(0), w.U32(m.central_offset == ~0u ? offsets[i] : m.central_offset), w.Bytes(m.name);
    }
    const uint32_t directory_size = w.out_.size() - directory;
    w.U32(0x06054b50), w.U16(0), w.U16(0), w.U16(members.size()), w.U16(members.size());
    w.U32(directory_size), w.U32(directory), w.U16(0);
    return w.out_;
  }

 private:
  static uint32_t Crc(const std::string& data) {
    uint32_t crc = ~0u;
    for (unsigned char c : data) {
      crc ^= c;
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
  }
  void U16(uint32_t v) { out_.insert(out_.end(), {uint8_t(v), uint8_t(v >> 8)}); }
  void U32(uint32_t v) { U16(v & 0xffff), U16(v >> 16); }
  void Bytes(const std::string& s) { out_.insert(out_.end(), s.begin(), s.end()); }
  std::vector<uint8_t> out_;
};

TEST(ZipStructure, ASoundArchivePasses) {
  const auto zip = ZipWriter::Build({{"a.txt", "hello"}, {"b/c.txt", "world"}});
  EXPECT_EQ(CheckZipStructure(zip).reason, "");
}

TEST(ZipStructure, PrependedDataIsAllowed) {
  auto zip = ZipWriter::Build({{"a.txt", "hello"}});
  zip.insert(zip.begin(), 100, 'X');  // a self-extractor stub in front: offsets shift, no overlap
  EXPECT_EQ(CheckZipStructure(zip).reason, "");
}

TEST(ZipStructure, EntriesSharingBytesAreOverlapping) {
  const auto zip = ZipWriter::Build({{"a.txt", "kernel"}, {"b.txt", "other", "", 0}});
  const StructureProblem problem = CheckZipStructure(zip);
  EXPECT_EQ(problem.reason, "header_mismatch") << "b.txt's central entry points to a.txt's header";

  const auto same_header = ZipWriter::Build({{"a.txt", "kernel"}, {"a.txt", "kernel", "", 0}});
  EXPECT_EQ(CheckZipStructure(same_header).reason, "overlapping_entries");
}

TEST(ZipStructure, ANameThatDiffersBetweenHeadersIsAMismatch) {
  const auto zip = ZipWriter::Build({{"invoice.pdf", "data", "invoice.exe"}});
  const StructureProblem problem = CheckZipStructure(zip);
  EXPECT_EQ(problem.reason, "header_mismatch");
  EXPECT_EQ(problem.detail, "entry 0: central directory and local header disagree");
}

TEST(ZipStructure, CompressionMethodsAreTheCentralDirectorysEachOnce) {
  std::vector<uint8_t> zip = ZipWriter::Build({{"a.txt", "alpha"}, {"b.txt", "beta"}, {"c.txt", "gamma"}});
  EXPECT_EQ(CompressionMethods(zip), (std::vector<uint16_t>{0}));
  // The second central directory entry's method field: Deflate64 (9).
  const uint8_t signature[] = {0x50, 0x4b, 0x01, 0x02};
  auto central = std::search(zip.begin(), zip.end(), std::begin(signature), std::end(signature));
  central = std::search(central + 1, zip.end(), std::begin(signature), std::end(signature));
  ASSERT_NE(central, zip.end());
  central[10] = 9;
  EXPECT_EQ(CompressionMethods(zip), (std::vector<uint16_t>{0, 9}));
  EXPECT_EQ(CompressionMethods(std::vector<uint8_t>(100, 0x50)), std::vector<uint16_t>{});
  zip.resize(zip.size() - 30);
  EXPECT_EQ(CompressionMethods(zip), std::vector<uint16_t>{});
}

TEST(ZipStructure, TruncatedAndGarbageInputIsAParseErrorNeverACrash) {
  const auto zip = ZipWriter::Build({{"a.txt", "hello"}});
  for (size_t length = 0; length < zip.size(); ++length) {
    const StructureProblem problem = CheckZipStructure(std::span(zip).first(length));
    EXPECT_NE(problem.reason, "") << "truncated to " << length;
  }
  std::vector<uint8_t> garbage(4096, 0xFF);
  EXPECT_EQ(CheckZipStructure(garbage).reason, "parse_error");
}

}  // namespace
}  // namespace tollgate::zip
