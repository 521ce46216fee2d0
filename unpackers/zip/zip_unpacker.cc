// ZIP containers (plain zip, jar, OOXML and OpenDocument packages) through libzip, from memory.
#include <zip.h>

#include <algorithm>
#include <memory>
#include <string>

#include "tollgate/unpacker.h"
#include "zip_structure.h"

namespace tollgate {
namespace {

struct ZipDiscarder {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipArchive = std::unique_ptr<zip_t, ZipDiscarder>;
using ZipFile = std::unique_ptr<zip_file_t, ZipFileCloser>;

// An OpenDocument package's own parts (its text, styles, metadata, settings, manifest) are its
// content streams (LayerKind); pictures, embedded objects and macros (Basic/, Scripts/) are files.
bool IsOpenDocumentContent(std::string_view package_mime, std::string_view name) {
  static constexpr std::string_view kContent[] = {"content.xml",           "styles.xml",         "meta.xml", "settings.xml",
                                                  "META-INF/manifest.xml", "manifest.rdf", "mimetype"};
  return package_mime.starts_with("application/vnd.oasis.opendocument.") &&
         std::find(std::begin(kContent), std::end(kContent), name) != std::end(kContent);
}

// WinZip AES entries name method 99 and keep the real method in an extra field; libzip reads them.
constexpr uint16_t kWinZipAes = 99;

bool IsZipMime(std::string_view mime) {
  return mime == "application/zip" || mime == "application/java-archive" ||
         mime.starts_with("application/vnd.openxmlformats-officedocument.") ||
         mime.starts_with("application/vnd.oasis.opendocument.") ||
         (mime.starts_with("application/vnd.ms-") && mime.ends_with(".macroEnabled.12"));
}

Status OpenArchive(std::span<const uint8_t> bytes, ZipArchive& archive, std::string& error) {
  zip_error_t zip_error;
  zip_error_init(&zip_error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &zip_error);
  if (source == nullptr) {
    zip_error_fini(&zip_error);
    return ResourceExhausted("libzip cannot create a source");
  }
  archive.reset(zip_open_from_source(source, ZIP_RDONLY, &zip_error));
  if (!archive) {
    zip_source_free(source);
    error = zip_error_strerror(&zip_error);
  }
  zip_error_fini(&zip_error);
  return Status::Ok();
}

// Reads at most `cap + 1` bytes: one past the cap lets the sink see that a size declaration lied.
bool ReadEntry(zip_file_t* file, uint64_t cap, std::vector<uint8_t>& out, std::string& error) {
  uint8_t chunk[1 << 16];
  while (out.size() <= cap) {
    const zip_int64_t n = zip_fread(file, chunk, std::min<uint64_t>(sizeof chunk, cap + 1 - out.size()));
    if (n < 0) {
      error = zip_file_strerror(file);
      return false;
    }
    if (n == 0) break;
    out.insert(out.end(), chunk, chunk + n);
  }
  return true;
}

// Tries the user's passwords in order, recording each attempt. ZipCrypto checks a password with
// a single byte, so one that opens the entry but fails the CRC while reading was wrong too.
bool ReadEncryptedEntry(zip_t* archive, zip_uint64_t index, uint64_t cap, const ObjectPath& child, ChildSink& sink,
                        std::vector<uint8_t>& out) {
  const std::vector<std::string>& passwords = sink.Passwords();
  for (size_t i = 0; i < passwords.size(); ++i) {
    ZipFile file(zip_fopen_index_encrypted(archive, index, 0, passwords[i].c_str()));
    std::string error;
    out.clear();
    const bool accepted = file && ReadEntry(file.get(), cap, out, error);
    sink.Report(DecryptAttemptFinding(child, i + 1, passwords.size(), accepted));
    if (accepted) return true;
  }
  sink.Report(IncompleteFinding("tollgate", "encrypted", child,
                                passwords.empty() ? "zip entry is encrypted and no password was given"
                                                  : "zip entry is encrypted and no given password opens it"));
  return false;
}

class ZipUnpacker final : public Unpacker {
 public:
  std::string_view Name() const override { return "zip"; }
  // A zip with a member libzip cannot decode (Deflate64, Implode...) is left to libclamav, which
  // decodes those methods and hands every member on to the other engines.
  bool Accepts(const ScanObject& object) const override {
    if (!IsZipMime(object.type.mime)) return false;
    const std::vector<uint16_t> methods = zip::CompressionMethods(object.bytes);
    return std::all_of(methods.begin(), methods.end(), [](uint16_t method) {
      return method == kWinZipAes || zip_compression_method_supported(method, /*compress=*/0) != 0;
    });
  }

  Status Unpack(const ScanObject& parent, ChildSink& sink) const override {
    const zip::StructureProblem problem = zip::CheckZipStructure(parent.bytes);
    if (!problem.reason.empty()) {
      sink.Report(IncompleteFinding("tollgate", problem.reason, parent.path, "zip: " + problem.detail));
      return Status::Ok();
    }
    ZipArchive archive;
    std::string open_error;
    TOLLGATE_RETURN_IF_ERROR(OpenArchive(parent.bytes, archive, open_error));
    if (!archive) {
      sink.Report(IncompleteFinding("tollgate", "parse_error", parent.path, "zip: " + open_error));
      return Status::Ok();
    }
    const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
    for (zip_int64_t i = 0; i < entries && !sink.ShouldStop(); ++i) {
      zip_stat_t stat;
      if (zip_stat_index(archive.get(), i, 0, &stat) != 0) {
        sink.Report(IncompleteFinding("tollgate", "parse_error", parent.path,
                                      "zip entry #" + std::to_string(i) + ": " + zip_strerror(archive.get())));
        continue;
      }
      const std::string name = (stat.valid & ZIP_STAT_NAME) && stat.name[0] ? stat.name : "#" + std::to_string(i);
      if (name.ends_with('/')) continue;  // a directory has no content
      auto cap = sink.Admit(name, stat.size, stat.comp_size);
      if (!cap.ok()) continue;  // the sink recorded why
      std::vector<uint8_t> bytes;
      const bool encrypted = (stat.valid & ZIP_STAT_ENCRYPTION_METHOD) && stat.encryption_method != ZIP_EM_NONE;
      if (encrypted) {
        if (!ReadEncryptedEntry(archive.get(), i, *cap, parent.path.Child(name), sink, bytes)) continue;
      } else {
        ZipFile file(zip_fopen_index(archive.get(), i, 0));
        std::string read_error = file ? "" : zip_strerror(archive.get());
        if (!file || !ReadEntry(file.get(), *cap, bytes, read_error)) {
          sink.Report(IncompleteFinding("tollgate", "parse_error", parent.path.Child(name), "zip: " + read_error));
          continue;
        }
      }
      ChildTraits traits;
      if (IsOpenDocumentContent(parent.type.mime, name)) {
        traits.kind = LayerKind::kContentStream;
        traits.words = Words::kProse;  // the document's text, styles and settings
      }
      // A refusal here is recorded by the sink; the next entry may still fit.
      (void)sink.Add(name, std::move(bytes), traits);
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Unpacker> MakeUnpacker_zip() { return std::make_unique<ZipUnpacker>(); }

}  // namespace tollgate
