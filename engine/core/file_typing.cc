#include "file_typing.h"

#include <magic.h>
#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <memory>

namespace tollgate {
namespace {

struct MagicCloser {
  void operator()(magic_set* handle) const { magic_close(handle); }
};
using MagicHandle = std::unique_ptr<magic_set, MagicCloser>;

// libmagic reads at most this much of a layer: enough for every container signature we rely on,
// and it bounds the cost of its text heuristics on large layers.
constexpr size_t kMagicBytesMax = 1 << 20;

MagicHandle OpenMagic(int flags) {
  MagicHandle handle(magic_open(flags | MAGIC_ERROR));
  if (!handle) return nullptr;
  size_t bytes_max = kMagicBytesMax;
  magic_setparam(handle.get(), MAGIC_PARAM_BYTES_MAX, &bytes_max);
  if (magic_load(handle.get(), nullptr) != 0) return nullptr;
  return handle;
}

struct ThreadMagic {
  MagicHandle mime = OpenMagic(MAGIC_MIME_TYPE);
  MagicHandle description = OpenMagic(MAGIC_NONE);
};

std::string Describe(magic_set* handle, std::span<const uint8_t> bytes) {
  if (handle == nullptr) return {};
  const char* text = magic_buffer(handle, bytes.data(), std::min(bytes.size(), kMagicBytesMax));
  return text ? text : "";
}

}  // namespace

struct FileTyper::Impl {
  tbb::enumerable_thread_specific<ThreadMagic> magic;
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
  ThreadMagic& magic = impl_->magic.local();
  FileType type{Describe(magic.mime.get(), bytes), Describe(magic.description.get(), bytes)};
  if (type.mime.empty()) type.mime = "application/octet-stream";
  return type;
}

}  // namespace tollgate
