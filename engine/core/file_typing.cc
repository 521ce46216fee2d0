#include "file_typing.h"

#include <magic.h>
#include <tbb/enumerable_thread_specific.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate {
namespace {

struct MagicCloser {
  void operator()(magic_set* handle) const { magic_close(handle); }
};
using MagicHandle = std::unique_ptr<magic_set, MagicCloser>;

// libmagic reads at most this much of a layer: enough for every container signature we rely on,
// and it bounds the cost of its text heuristics on large layers.
constexpr size_t kMagicBytesMax = 1 << 20;

// The compiled database libmagic would load by default (the first "X.mgc" of its search path), read
// once: every thread's handles load from this copy, so typing never opens a file after start-up (a
// sandboxed worker may not) and the database is in memory once.
std::vector<char> ReadMagicDatabase() {
  const std::string path_list = magic_getpath(nullptr, 0);
  for (size_t start = 0; start <= path_list.size();) {
    const size_t end = std::min(path_list.find(':', start), path_list.size());
    std::ifstream file(path_list.substr(start, end - start) + ".mgc", std::ios::binary);
    if (file) return std::vector<char>(std::istreambuf_iterator<char>(file), {});
    start = end + 1;
  }
  return {};
}

MagicHandle OpenMagic(int flags, std::vector<char>& database) {
  MagicHandle handle(magic_open(flags | MAGIC_ERROR));
  if (!handle || database.empty()) return nullptr;
  size_t bytes_max = kMagicBytesMax;
  magic_setparam(handle.get(), MAGIC_PARAM_BYTES_MAX, &bytes_max);
  void* buffers[] = {database.data()};
  size_t sizes[] = {database.size()};
  if (magic_load_buffers(handle.get(), buffers, sizes, 1) != 0) return nullptr;
  return handle;
}

struct ThreadMagic {
  MagicHandle mime;
  MagicHandle description;
};

std::string Describe(magic_set* handle, std::span<const uint8_t> bytes) {
  if (handle == nullptr) return {};
  const char* text = magic_buffer(handle, bytes.data(), std::min(bytes.size(), kMagicBytesMax));
  return text ? text : "";
}

bool StartsWith(std::span<const uint8_t> bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin(),
                                                     [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; });
}

constexpr std::string_view kZipLocalHeader{"PK\x03\x04", 4};

struct FileSignature {
  size_t offset;
  std::string_view magic;
};
// Formats that some stage unpacks, or that are run or opened as files: what libclamav's and
// Tollgate's unpackers take apart, executables, shortcuts, web pages. Content streams (page
// content, fonts, XML, document records) start with none of these.
constexpr std::array<FileSignature, 25> kFileSignatures = {{
    {0, "MZ"},                                   // PE, DOS executables
    {0, "\x7f" "ELF"},                           // ELF
    {0, "\xfe\xed\xfa\xce"}, {0, "\xfe\xed\xfa\xcf"}, {0, "\xce\xfa\xed\xfe"}, {0, "\xcf\xfa\xed\xfe"},  // Mach-O
    {0, "\xca\xfe\xba\xbe"},                     // Mach-O universal, Java class
    {0, kZipLocalHeader},                        // ZIP, OOXML, OpenDocument, JAR
    {0, "%PDF"},
    {0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"},     // OLE2 compound file
    {0, "{\\rt"},                                // RTF
    {0, "7z\xbc\xaf\x27\x1c"},
    {0, "Rar!\x1a\x07"},
    {0, "MSCF"},                                 // CAB
    {0, "ITSF"},                                 // CHM
    {0, "\x1f\x8b"},                             // gzip
    {0, "BZh"},
    {0, "\xfd" "7zXZ"},
    {0, "\x60\xea"},                             // ARJ
    {257, "ustar"},                              // tar
    {0, "070707"}, {0, "070701"},                // cpio
    {0, std::string_view("\x4c\x00\x00\x00\x01\x14\x02\x00", 8)},  // Windows shortcut (LNK)
    {0, "<html"}, {0, "<!DOCTYPE html"},
}};

struct ZipDiscarder {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};

// The application an OOXML package belongs to, by the folder of its main part, with the type
// libmagic gives such a package when it recognises it.
struct OoxmlApplication {
  std::string_view folder;
  std::string_view mime;
  std::string_view description;
};
constexpr std::array<OoxmlApplication, 3> kOoxmlApplications = {{
    {"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Microsoft Word 2007+"},
    {"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Microsoft Excel 2007+"},
    {"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
     "Microsoft PowerPoint 2007+"},
}};

// libmagic recognises an OOXML package only from its first few zip entries; Office and every OPC
// reader accept [Content_Types].xml and _rels/.rels anywhere, so a package with its entries
// reordered would pass as a plain zip and miss the OOXML analysis. Only the central directory is
// read: nothing is inflated.
std::optional<FileType> OoxmlByContent(std::span<const uint8_t> bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  std::unique_ptr<zip_t, ZipDiscarder> archive(source ? zip_open_from_source(source, ZIP_RDONLY, &error) : nullptr);
  if (source != nullptr && !archive) zip_source_free(source);
  zip_error_fini(&error);
  if (!archive || zip_name_locate(archive.get(), "[Content_Types].xml", 0) < 0 ||
      zip_name_locate(archive.get(), "_rels/.rels", 0) < 0) {
    return std::nullopt;
  }
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* name = zip_get_name(archive.get(), static_cast<zip_uint64_t>(i), 0);
    if (name == nullptr) continue;
    for (const OoxmlApplication& application : kOoxmlApplications) {
      if (std::string_view(name).starts_with(application.folder)) {
        return FileType{std::string(application.mime), std::string(application.description)};
      }
    }
  }
  return std::nullopt;
}

}  // namespace

struct FileTyper::Impl {
  std::vector<char> database = ReadMagicDatabase();  // the handles point into it: declared first
  tbb::enumerable_thread_specific<ThreadMagic> magic{
      [this] { return ThreadMagic{OpenMagic(MAGIC_MIME_TYPE, database), OpenMagic(MAGIC_NONE, database)}; }};
};

FileTyper::FileTyper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileTyper::~FileTyper() = default;

StatusOr<std::unique_ptr<FileTyper>> FileTyper::Create() {
  auto impl = std::make_unique<Impl>();
  ThreadMagic& probe = impl->magic.local();
  if (!probe.mime || !probe.description) return Internal("cannot load the libmagic database");
  return std::unique_ptr<FileTyper>(new FileTyper(std::move(impl)));
}

FileType FileTyper::Identify(std::span<const uint8_t> bytes) const {
  FileType type{Describe(impl_->magic.local().mime.get(), bytes), ""};
  if (type.mime.empty()) type.mime = "application/octet-stream";
  // With the package parts a few entries in, libmagic still says "Microsoft OOXML" but gives no
  // MIME type for it: any zip may be one.
  if (type.mime == "application/zip" || (type.mime == "application/octet-stream" && StartsWith(bytes, kZipLocalHeader))) {
    if (auto ooxml = OoxmlByContent(bytes)) return *std::move(ooxml);
  }
  return type;
}

FileType FileTyper::IdentifyWithDescription(std::span<const uint8_t> bytes) const {
  FileType type = Identify(bytes);
  if (type.description.empty()) type.description = Describe(impl_->magic.local().description.get(), bytes);
  return type;
}

bool StartsLikeAFile(std::span<const uint8_t> bytes) {
  return std::any_of(kFileSignatures.begin(), kFileSignatures.end(),
                     [&](const FileSignature& signature) { return StartsWith(bytes.subspan(std::min(bytes.size(), signature.offset)), signature.magic); });
}

}  // namespace tollgate
