#include "bench_inputs.h"

#include <fmt/format.h>
#include <hs/hs.h>
#include <unistd.h>
#include <zip.h>

#include <array>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

namespace tollgate::bench {
namespace {

constexpr std::array<const char*, 24> kWords = {
    "invoice", "quarterly", "report", "payment", "due",      "customer", "order",   "shipment",
    "total",   "net",       "tax",    "account", "delivery", "contract", "terms",   "signed",
    "regards", "meeting",   "agenda", "the",     "and",      "for",      "of",      "budget"};

std::string RandomToken(std::mt19937& random, size_t length) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string token;
  for (size_t i = 0; i < length; ++i) token += kAlphabet[random() % kAlphabet.size()];
  return token;
}

std::string RandomLetters(std::mt19937& random, size_t length) {
  std::string token;
  for (size_t i = 0; i < length; ++i) token += static_cast<char>('a' + random() % 26);
  return token;
}

hyperscan::Pattern MakePattern(std::string name, std::string regex, unsigned int flags) {
  hyperscan::Pattern pattern;
  pattern.name = std::move(name);
  pattern.regex = std::move(regex);
  pattern.flags = flags;
  pattern.file = "generated";
  return pattern;
}

}  // namespace

std::string DocumentText(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string text;
  text.reserve(size + 256);
  while (text.size() < size) {
    text += "<w:p><w:r><w:t xml:space=\"preserve\">";
    for (int words = 4 + static_cast<int>(random() % 20); words > 0; --words) {
      text += kWords[random() % kWords.size()];
      text += random() % 6 == 0 ? fmt::format(" {} ", random() % 100000) : " ";
    }
    text += "</w:t></w:r></w:p>\n";
  }
  text.resize(size);
  return text;
}

std::vector<hyperscan::Pattern> LiteralPatterns(size_t count) {
  std::mt19937 random(7001);
  std::vector<hyperscan::Pattern> patterns;
  for (size_t i = 0; i < count; ++i) {
    const std::string literal = i % 3 == 0 ? std::string(kWords[random() % kWords.size()]) + "-" + RandomToken(random, 6)
                                           : RandomToken(random, 10 + random() % 7);
    patterns.push_back(MakePattern(fmt::format("Lit.{:05}", i), literal, i % 5 == 0 ? HS_FLAG_CASELESS : 0));
  }
  return patterns;
}

std::vector<hyperscan::Pattern> RegexPatterns(size_t count) {
  std::mt19937 random(7002);
  std::vector<hyperscan::Pattern> patterns;
  for (size_t i = 0; i < count; ++i) {
    const std::string token = RandomLetters(random, 5);
    const std::string suffix = RandomLetters(random, 4);
    std::string regex;
    unsigned int flags = 0;
    switch (i % 6) {
      case 0: regex = token + R"([0-9a-f]{4,8}\.(exe|dll|scr))"; break;
      case 1: regex = token + R"(\s*=\s*"[^"\n]{2,20}")"; flags = HS_FLAG_CASELESS; break;
      case 2: regex = token + R"([_-]?\d{2,6}[a-z]+)" + suffix; break;
      case 3: regex = R"(\b)" + token + R"(\w{0,10})" + suffix; break;
      case 4: regex = token + R"([^\n]{0,32})" + suffix; break;
      default: regex = "(" + token + "|" + suffix + "xy)" + R"(\d{3}[A-Z]{2})"; break;
    }
    patterns.push_back(MakePattern(fmt::format("Re.{:05}", i), regex, flags));
  }
  return patterns;
}

std::string GeneratedYaraRules(size_t count) {
  std::mt19937 random(7003);
  std::string source;
  for (size_t i = 0; i < count; ++i) {
    source += fmt::format("rule Gen_{:05} {{ meta: severity = \"high\" strings: $a = \"gen-{}-{}\" $b = {{ ", i,
                          RandomToken(random, 6), RandomToken(random, 8));
    for (int b = 0; b < 8; ++b) source += fmt::format("{:02X} ", random() % 256);
    source += "}";
    if (i % 8 == 0) source += fmt::format(" $c = \"{}\" nocase wide", RandomLetters(random, 10));
    source += " condition: any of them }\n";
  }
  return source;
}

std::vector<uint8_t> MakeZip(const std::vector<ZipMember>& members) {
  // libzip writes archives to files; a private temporary file is read back and removed.
  std::string path = (std::filesystem::temp_directory_path() / "tollgate-bench-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  int error = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_TRUNCATE, &error);
  if (archive == nullptr) throw std::runtime_error("zip_open failed");
  for (const ZipMember& member : members) {
    zip_source_t* source = zip_source_buffer(archive, member.bytes.data(), member.bytes.size(), 0);
    const zip_int64_t index = source ? zip_file_add(archive, member.name.c_str(), source, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      zip_source_free(source);
      zip_discard(archive);
      throw std::runtime_error("zip_file_add failed");
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), member.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) {
    zip_discard(archive);
    throw std::runtime_error("zip_close failed");
  }
  std::vector<uint8_t> bytes = ReadFileBytes(path);
  std::filesystem::remove(path);
  return bytes;
}

std::vector<uint8_t> MakeDocx(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  // A PNG signature and header chunk, so the layer is typed as the image its name says it is (a
  // mismatch would make the verdict suspicious and the benchmark measure a different path).
  std::string image("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x04\0\0\0\x03\0\x08\x02\0\0\0", 29);
  while (image.size() < size * 3 / 4) image += static_cast<char>(random());
  return MakeZip({
      {"[Content_Types].xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"
       "content-types\"><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/word/"
       "document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+"
       "xml\"/></Types>"},
      {"_rels/.rels",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/"
       "2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
       "relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>"},
      {"word/document.xml", "<w:document><w:body>" + DocumentText(size, seed) + "</w:body></w:document>"},
      {"word/media/image1.png", std::move(image), false},
  });
}

std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace tollgate::bench
