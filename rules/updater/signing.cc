#include "signing.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tollgate/sha256.h"
#include "tollgate/unique_file.h"

namespace tollgate::rules {
namespace fs = std::filesystem;

void PkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

namespace {

constexpr size_t kSignatureBytes = 64;  // Ed25519

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// O_EXCL: a key pair is never silently replaced.
OutcomeOr<UniqueFile> CreateNewFile(const fs::path& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Outcome(Reason::kOperational, "cannot create " + path.string() + ": " + std::strerror(errno));
  std::FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    ::close(fd);
    return Outcome(Reason::kOperational, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  return UniqueFile(file);
}

Outcome CheckEd25519(const EVP_PKEY* key, const fs::path& path) {
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return Outcome(Reason::kOperational, path.string() + ": not an Ed25519 key");
  }
  return Outcome::Ok();
}

// SHA-256 of the raw public key: a short name to compare keys by in logs.
std::string KeyIdOf(const EVP_PKEY* key) {
  std::array<uint8_t, 32> raw{};
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1) return "unknown";
  return Sha256Hex(std::span<const uint8_t>(raw.data(), length)).substr(0, 16);
}

std::string Base64(std::span<const uint8_t> bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(), static_cast<int>(bytes.size()));
  text.resize(static_cast<size_t>(n));
  return text;
}

// Exactly one signature's worth of base64, or nothing.
std::vector<uint8_t> DecodeSignature(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (text.size() != 4 * ((kSignatureBytes + 2) / 3)) return {};
  std::vector<uint8_t> bytes(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return {};
  // EVP_DecodeBlock counts the padding's zero bytes too.
  const size_t padding = static_cast<size_t>(text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0);
  bytes.resize(static_cast<size_t>(n) - padding);
  if (bytes.size() != kSignatureBytes) return {};
  return bytes;
}

}  // namespace

Outcome GenerateKeyPair(const fs::path& private_file, const fs::path& public_file) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Outcome(Reason::kOperational, "cannot generate an Ed25519 key");
  }
  PkeyPtr key(raw);
  std::error_code ec;
  if (fs::exists(public_file, ec)) return Outcome(Reason::kOperational, public_file.string() + " exists already");
  auto private_out = CreateNewFile(private_file, 0600);
  if (!private_out.ok()) return private_out.outcome();
  const bool private_written = PEM_write_PrivateKey(private_out->get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
                               std::fflush(private_out->get()) == 0;
  private_out->reset();
  if (!private_written) return Outcome(Reason::kOperational, "cannot write " + private_file.string());
  auto public_out = CreateNewFile(public_file, 0644);
  if (!public_out.ok()) return public_out.outcome();
  const bool public_written = PEM_write_PUBKEY(public_out->get(), key.get()) == 1 && std::fflush(public_out->get()) == 0;
  public_out->reset();
  if (!public_written) return Outcome(Reason::kOperational, "cannot write " + public_file.string());
  return Outcome::Ok();
}

OutcomeOr<SigningKey> SigningKey::Load(const fs::path& private_file) {
  UniqueFile in(std::fopen(private_file.c_str(), "r"));
  if (!in) return Outcome(Reason::kOperational, "cannot read " + private_file.string() + ": " + std::strerror(errno));
  PkeyPtr key(PEM_read_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (!key) return Outcome(Reason::kOperational, private_file.string() + ": not a PEM private key");
  TOLLGATE_RETURN_IF_REFUSED(CheckEd25519(key.get(), private_file));
  return SigningKey(std::move(key));
}

OutcomeOr<std::string> SigningKey::Sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::array<uint8_t, kSignatureBytes> signature{};
  size_t length = signature.size();
  // Ed25519 hashes internally: no digest, one-shot signing.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      length != kSignatureBytes) {
    return Outcome(Reason::kOperational, "Ed25519 signing failed");
  }
  return Base64(signature);
}

std::string SigningKey::KeyId() const { return KeyIdOf(key_.get()); }

OutcomeOr<VerifyKey> VerifyKey::Load(const fs::path& public_file) {
  UniqueFile in(std::fopen(public_file.c_str(), "r"));
  if (!in) return Outcome(Reason::kOperational, "cannot read " + public_file.string() + ": " + std::strerror(errno));
  PkeyPtr key(PEM_read_PUBKEY(in.get(), nullptr, nullptr, nullptr));
  if (!key) return Outcome(Reason::kOperational, public_file.string() + ": not a PEM public key");
  TOLLGATE_RETURN_IF_REFUSED(CheckEd25519(key.get(), public_file));
  return VerifyKey(std::move(key));
}

bool VerifyKey::Verify(std::string_view message, std::string_view signature) const {
  const std::vector<uint8_t> bytes = DecodeSignature(signature);
  if (bytes.empty()) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), bytes.data(), bytes.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string VerifyKey::KeyId() const { return KeyIdOf(key_.get()); }

}  // namespace tollgate::rules
