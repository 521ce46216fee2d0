// OLE2 compound files (Word, Excel and PowerPoint 97-2003 documents, Outlook messages, installers,
// embedded objects, VBA projects) through libgsf. Every stream becomes a child named by its storage
// path ("Macros/VBA/dir"); so do the decompressed source of every VBA module (under its stream's path:
// "VBA/Module1" in a vbaProject.bin), the file inside a Packager object and the objects stored in a
// PowerPoint document. A password-protected OOXML package is decrypted with the user's passwords
// and becomes the child "EncryptedPackage" in place of its ciphertext.
#include "ole2_unpacker.h"

#include <fmt/format.h>
#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-input-proxy.h>
#include <gsf/gsf-input.h>
#include <gsf/gsf-utils.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "cfb_bounds.h"
#include "office_decryption.h"
#include "office_encryption.h"
#include "ole10native.h"
#include "ppt_objects.h"
#include "text_names.h"
#include "vba_project.h"

namespace tollgate {
namespace {

using ole2::PrintableName;

struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;
struct GErrorFree {
  void operator()(GError* error) const { g_error_free(error); }
};

constexpr std::string_view kVbaStorage = "vba";
constexpr std::string_view kVbaDirStream = "dir";
constexpr std::string_view kOle10NativeStream = "\x01ole10native";
constexpr std::string_view kPowerPointStream = "PowerPoint Document";
constexpr std::string_view kEncryptionInfoStream = "EncryptionInfo";
constexpr std::string_view kEncryptedPackageStream = "EncryptedPackage";
// An EncryptionInfo stream is a binary header or an XML descriptor of a few KiB.
constexpr uint64_t kMaxEncryptionInfoBytes = 1 << 20;
// A dir stream lists a project's modules and references in a few KiB.
constexpr uint64_t kMaxVbaDirBytes = 1 << 20;

void DropLogMessage(const gchar* /*domain*/, GLogLevelFlags /*level*/, const gchar* /*message*/, gpointer /*data*/) {}

// After this, libgsf may be used from several threads at once, each on its own files (no mutex):
// every libgsf object of one compound file (they share a non-atomic reference count) stays on the
// thread that unpacks it, and GObject's type system and class initialisation lock themselves.
// What does not lock is libgsf's own type registration (GSF_CLASS registers on the first
// get_type() call without a lock), so the types used here are registered once, up front.
void InitLibgsf() {
  static std::once_flag once;
  std::call_once(once, [] {
    gsf_init();
    g_type_ensure(GSF_INPUT_MEMORY_TYPE);
    g_type_ensure(GSF_INPUT_PROXY_TYPE);
    g_type_ensure(GSF_INFILE_MSOLE_TYPE);
    // Hostile files make libgsf log warnings and failed preconditions (g_return_if_fail). What they
    // mean reaches this unpacker through libgsf's return values, so the messages are dropped, and
    // they never abort the scan, as G_DEBUG=fatal-warnings or fatal-criticals would make them.
    const auto levels = static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_ERROR);
    // Some of libgsf's files log without a domain (nullptr).
    for (const char* domain : {static_cast<const char*>(nullptr), "libgsf", "libgsf:msole", "GLib", "GLib-GObject"}) {
      g_log_set_handler(domain, levels, DropLogMessage, nullptr);
    }
    g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_FATAL_MASK));
  });
}

// By its header: libmagic gives compound files a MIME type per application (application/msword,
// application/x-msi, application/encrypted for an encrypted OOXML package...), all from this header.
bool IsCompoundFile(std::span<const uint8_t> bytes) {
  static constexpr uint8_t kSignature[] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
  return bytes.size() >= sizeof kSignature && std::equal(std::begin(kSignature), std::end(kSignature), bytes.begin());
}

// Compound file names compare without case.
std::string Lowercase(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

std::string JoinPath(std::string_view storage, std::string_view name) {
  return storage.empty() ? std::string(name) : fmt::format("{}/{}", storage, name);
}

// At most `limit` bytes of a stream; nullopt when libgsf cannot read them.
std::optional<std::vector<uint8_t>> ReadStreamBytes(GsfInput* stream, uint64_t limit) {
  const auto size = std::min<uint64_t>(static_cast<uint64_t>(std::max<gsf_off_t>(gsf_input_size(stream), 0)), limit);
  std::vector<uint8_t> bytes(size);
  constexpr size_t kChunk = 1 << 16;
  for (size_t at = 0; at < size; at += kChunk) {
    if (gsf_input_read(stream, std::min<size_t>(kChunk, size - at), bytes.data() + at) == nullptr) {
      return std::nullopt;
    }
  }
  return bytes;
}

// One compound file being unpacked into its children.
class CompoundFileUnpacking {
 public:
  CompoundFileUnpacking(const ScanObject& parent, ChildSink& sink) : parent_(parent), sink_(sink) {}

  void Run(GsfInfile* root) {
    GObjectPtr<GsfInput> encryption_info(gsf_infile_child_by_name(root, kEncryptionInfoStream.data()));
    GObjectPtr<GsfInput> encrypted_package(gsf_infile_child_by_name(root, kEncryptedPackageStream.data()));
    // The ciphertext is no layer: its plaintext is, once a password opens it.
    encrypted_package_ = encryption_info && encrypted_package;
    ReadStorages(root);
    for (const auto& [storage, streams] : vba_storages_) {
      if (sink_.ShouldStop()) break;
      ExtractVbaProject(storage, streams);
    }
    if (encrypted_package_) DecryptPackage(encryption_info.get(), encrypted_package.get());
    if (const auto scheme = encryption_.Scheme()) {
      sink_.Report(IncompleteFinding("tollgate", "encrypted", parent_.path,
                                     fmt::format("{}; decrypting this format is not supported, so no password "
                                                 "was tried",
                                                 *scheme)));
    }
  }

 private:
  // The streams of one storage named VBA, kept until the walk ends: the dir stream says which of
  // them hold module source.
  using StreamsByName = std::map<std::string, std::vector<uint8_t>>;  // lowercase name -> bytes

  struct PendingStorage {
    GObjectPtr<GsfInfile> storage;
    std::string path;  // printable, "" for the root
    bool is_vba = false;
  };

  void ReadStorages(GsfInfile* root) {
    std::vector<PendingStorage> pending;
    pending.push_back({GObjectPtr<GsfInfile>(GSF_INFILE(g_object_ref(root))), "", false});
    while (!pending.empty() && !sink_.ShouldStop()) {
      PendingStorage current = std::move(pending.back());
      pending.pop_back();
      const int children = gsf_infile_num_children(current.storage.get());
      for (int i = 0; i < children && !sink_.ShouldStop(); ++i) {
        const char* raw_name = gsf_infile_name_by_index(current.storage.get(), i);
        const std::string name = raw_name ? raw_name : "";
        const std::string path = JoinPath(current.path, PrintableName(name));
        GObjectPtr<GsfInput> child(gsf_infile_child_by_index(current.storage.get(), i));
        if (!child) {
          sink_.Report(IncompleteFinding("tollgate", "parse_error", parent_.path.Child(path),
                                         "OLE2: libgsf cannot open this entry"));
        } else if (GSF_IS_INFILE(child.get()) && gsf_infile_num_children(GSF_INFILE(child.get())) >= 0) {
          pending.push_back({GObjectPtr<GsfInfile>(GSF_INFILE(child.release())), path, Lowercase(name) == kVbaStorage});
        } else {
          AddStream(current, name, path, child.get());
        }
      }
    }
  }

  void AddStream(const PendingStorage& storage, const std::string& name, const std::string& path, GsfInput* stream) {
    if (encrypted_package_ && storage.path.empty() && name == kEncryptedPackageStream) return;
    const auto size = static_cast<uint64_t>(std::max<gsf_off_t>(gsf_input_size(stream), 0));
    auto cap = sink_.Admit(path, size, size);
    std::optional<std::vector<uint8_t>> bytes;
    if (cap.ok()) {
      bytes = ReadStreamBytes(stream, *cap + 1);
      if (!bytes) {
        sink_.Report(IncompleteFinding("tollgate", "parse_error", parent_.path.Child(path),
                                       "OLE2: libgsf cannot read this stream"));
      }
    }
    std::span<const uint8_t> content = bytes ? std::span<const uint8_t>(*bytes) : std::span<const uint8_t>{};
    if (storage.path.empty()) encryption_.ObserveRootStream(name, content);
    if (!bytes) return;
    if (Lowercase(name) == kOle10NativeStream) ExtractPackagedFile(storage.path, content);
    if (storage.path.empty() && name == kPowerPointStream) ExtractPptObjects(path, content);
    if (storage.is_vba) vba_storages_[storage.path][Lowercase(name)] = *bytes;
    // A document's streams are its content; an OLE1 package stream is an embedded object, a file.
    // (Streams that hold whole files, such as an embedded object's CONTENTS, start like one.)
    ChildTraits traits;
    if (Lowercase(name) != kOle10NativeStream) traits.kind = LayerKind::kContentStream;
    // A refusal is recorded by the sink; the next stream may still fit.
    (void)sink_.Add(path, std::move(*bytes), traits);
  }

  // Adds `bytes` as child `name` if the sink admits it (they need no inflating).
  void AddSlice(const std::string& name, std::span<const uint8_t> bytes) {
    auto cap = sink_.Admit(name, bytes.size(), bytes.size());
    if (!cap.ok()) return;
    (void)sink_.Add(name,
                    std::vector<uint8_t>(bytes.begin(), bytes.begin() + std::min<uint64_t>(bytes.size(), *cap + 1)));
  }

  // The embedded file takes the stream's place in the path: "ObjectPool/_1234/clam.exe".
  void ExtractPackagedFile(const std::string& storage_path, std::span<const uint8_t> stream) {
    const auto packaged = ole2::ParsePackagerStream(stream);
    if (!packaged) return;
    const std::string label = packaged->label.empty() ? "Ole10Native payload" : PrintableName(packaged->label);
    AddSlice(JoinPath(storage_path, label), packaged->contents);
  }

  void ExtractPptObjects(const std::string& stream_path, std::span<const uint8_t> stream) {
    for (const ole2::PptStoredObject& object : ole2::FindPptStoredObjects(stream)) {
      if (sink_.ShouldStop()) return;
      const std::string name = fmt::format("{}/ExOleObjStg@{}", stream_path, object.offset);
      if (!object.compressed) {
        AddSlice(name, object.data);
        continue;
      }
      auto cap = sink_.Admit(name, object.declared_size, object.data.size());
      if (!cap.ok()) continue;
      std::vector<uint8_t> inflated;
      Status status = ole2::InflatePptObject(object.data, *cap, inflated);
      if (!status.ok()) {
        sink_.Report(IncompleteFinding("tollgate", "parse_error", parent_.path.Child(name), status.message()));
      }
      if (!inflated.empty()) (void)sink_.Add(name, std::move(inflated));
    }
  }

  void ExtractVbaProject(const std::string& storage_path, const StreamsByName& streams) {
    const auto dir_stream = streams.find(std::string(kVbaDirStream));
    if (dir_stream == streams.end()) return;
    const auto dir_fault = [&](const Status& status) {
      sink_.Report(IncompleteFinding("tollgate", "parse_error", parent_.path.Child(JoinPath(storage_path, "dir")),
                                     status.message()));
    };
    std::vector<uint8_t> dir;
    Status status = ole2::DecompressVba(dir_stream->second, kMaxVbaDirBytes, dir);
    if (status.ok() && dir.size() > kMaxVbaDirBytes) status = DataLoss("VBA dir stream larger than 1 MiB");
    if (!status.ok()) return dir_fault(status);
    auto modules = ole2::ParseVbaDirStream(dir);
    if (!modules.ok()) return dir_fault(modules.status());
    // A project at the root is a standalone vbaProject.bin (or PowerPoint's project storage): the
    // document holding it reports the macros. Below the root it is a 97-2003 document's own.
    if (Lowercase(storage_path) != kVbaStorage) {
      Finding finding;
      finding.engine = "tollgate";
      finding.rule = "Tollgate.OLE2.VBAProject";
      finding.severity = Severity::kMedium;
      finding.kind = FindingKind::kHeuristic;
      finding.detail =
          fmt::format("document with a VBA project (macros) of {} modules in {}", modules->size(), storage_path);
      sink_.Report(std::move(finding));  // on this layer
    }
    for (const ole2::VbaModule& module : *modules) {
      if (sink_.ShouldStop()) return;
      ExtractModuleSource(storage_path, module, streams);
    }
  }

  // The source is named after its module's stream ("VBA/Module1" in a vbaProject.bin,
  // "Macros/VBA/Module1" in a Word 97 document): findings in either are findings in the module.
  void ExtractModuleSource(const std::string& storage_path, const ole2::VbaModule& module,
                           const StreamsByName& streams) {
    const std::string name = JoinPath(storage_path, PrintableName(module.stream_name));
    const auto stream = streams.find(Lowercase(module.stream_name));
    if (stream == streams.end() || module.source_offset > stream->second.size()) {
      sink_.Report(
          IncompleteFinding("tollgate", "parse_error", parent_.path.Child(name),
                            fmt::format("VBA module {} has no source in its stream", PrintableName(module.name))));
      return;
    }
    const std::span<const uint8_t> compressed = std::span<const uint8_t>(stream->second).subspan(module.source_offset);
    auto cap = sink_.Admit(name, compressed.size(), compressed.size());
    if (!cap.ok()) return;
    std::vector<uint8_t> source;
    Status status = ole2::DecompressVba(compressed, *cap, source);
    if (!status.ok())
      sink_.Report(IncompleteFinding("tollgate", "parse_error", parent_.path.Child(name), status.message()));
    // Source text, a file of its own: macro rules are written for it. Its type is known.
    if (!source.empty()) {
      (void)sink_.Add(name, std::move(source), ChildTraits{LayerKind::kFile, {"text/plain", ""}, Words::kCode});
    }
  }

  // Tries the user's passwords in order on an encrypted OOXML package, recording each attempt; the
  // first that opens it makes the decrypted package the child "EncryptedPackage".
  void DecryptPackage(GsfInput* encryption_info, GsfInput* encrypted_package) {
    const auto encrypted = [&](std::string why) {
      sink_.Report(IncompleteFinding("tollgate", "encrypted", parent_.path, "an encrypted OOXML package: " + why));
    };
    const auto info = ReadStreamBytes(encryption_info, kMaxEncryptionInfoBytes);
    if (!info) return encrypted("libgsf cannot read EncryptionInfo");
    auto decryptor = ole2::PackageDecryptor::Create(*info);
    if (!decryptor.ok()) return encrypted(decryptor.status().message() + "; no password was tried");
    const std::vector<std::string>& passwords = sink_.Passwords();
    if (passwords.empty()) return encrypted("no password was given");

    const auto stored = static_cast<uint64_t>(std::max<gsf_off_t>(gsf_input_size(encrypted_package), 0));
    std::vector<uint8_t> head(8);
    if (stored < 8 || gsf_input_read(encrypted_package, head.size(), head.data()) == nullptr ||
        gsf_input_seek(encrypted_package, 0, G_SEEK_SET)) {
      return encrypted("EncryptedPackage is shorter than its size field");
    }
    auto cap = sink_.Admit(kEncryptedPackageStream, ole2::DeclaredPackageSize(head), stored);
    if (!cap.ok()) return;  // the sink recorded which limit
    // The size field, the bytes the cap allows, and the rest of the last segment they start.
    const auto ciphertext = ReadStreamBytes(encrypted_package, 8 + *cap + 1 + 4096);
    if (!ciphertext) return encrypted("libgsf cannot read EncryptedPackage");

    const auto should_stop = [this] { return sink_.ShouldStop(); };
    for (size_t i = 0; i < passwords.size(); ++i) {
      auto key = (*decryptor)->KeyFor(passwords[i], should_stop);
      if (!key.ok()) {
        // Past the deadline the pipeline records the timeout; anything else is a broken descriptor.
        if (key.status().code() != StatusCode::kDeadlineExceeded) encrypted(key.status().message());
        return;
      }
      sink_.Report(DecryptAttemptFinding(parent_.path, i + 1, passwords.size(), !key->empty()));
      if (key->empty()) continue;
      std::vector<uint8_t> package;
      Status status = (*decryptor)->Decrypt(*key, *ciphertext, *cap, package);
      if (!status.ok()) {
        return sink_.Report(IncompleteFinding("tollgate", "parse_error", parent_.path.Child(kEncryptedPackageStream),
                                              status.message()));
      }
      (void)sink_.Add(kEncryptedPackageStream, std::move(package));  // a refusal is recorded by the sink
      return;
    }
    encrypted("no given password opens it");
  }

  const ScanObject& parent_;
  ChildSink& sink_;
  bool encrypted_package_ = false;
  ole2::EncryptionEvidence encryption_;
  std::map<std::string, StreamsByName> vba_storages_;  // by storage path
};

class Ole2Unpacker final : public Unpacker {
 public:
  std::string_view Name() const override { return "ole2"; }
  bool Accepts(const ScanObject& object) const override { return IsCompoundFile(object.bytes); }

  Status Unpack(const ScanObject& parent, ChildSink& sink) const override {
    try {
      InitLibgsf();
      if (Status bounds = ole2::CheckCompoundFileBounds(parent.bytes); !bounds.ok()) {
        sink.Report(IncompleteFinding("tollgate", "parse_error", parent.path, bounds.message()));
        return Status::Ok();
      }
      GObjectPtr<GsfInput> input(
          gsf_input_memory_new(parent.bytes.data(), static_cast<gsf_off_t>(parent.bytes.size()), FALSE));
      if (!input) return ResourceExhausted("libgsf cannot wrap the layer in memory");
      GError* raw_error = nullptr;
      GObjectPtr<GsfInfile> root(gsf_infile_msole_new(input.get(), &raw_error));
      const std::unique_ptr<GError, GErrorFree> error(raw_error);
      if (!root) {
        sink.Report(IncompleteFinding("tollgate", "parse_error", parent.path,
                                      std::string("OLE2: ") + (error ? error->message : "not a compound file")));
        return Status::Ok();
      }
      CompoundFileUnpacking(parent, sink).Run(root.get());
      return Status::Ok();
    } catch (const std::bad_alloc&) {
      return ResourceExhausted("out of memory unpacking an OLE2 file");
    }
  }
};

}  // namespace

std::unique_ptr<Unpacker> MakeUnpacker_ole2() { return std::make_unique<Ole2Unpacker>(); }

}  // namespace tollgate
