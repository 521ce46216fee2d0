#include "tollgate/ed25519.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tollgate/sha256.h"
#include "tollgate/unique_fd.h"

namespace tollgate::ed25519 {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// The newest OpenSSL error, and the queue emptied so it cannot leak into a later message.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

StatusOr<std::string> Fingerprint(EVP_PKEY* key) {
  std::array<uint8_t, 32> raw{};
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1 || length != raw.size()) {
    return Internal("cannot read the Ed25519 public key: " + OpenSslError());
  }
  return Sha256Hex(std::span<const uint8_t>(raw.data(), length));
}

StatusOr<std::string> CheckedFingerprint(EVP_PKEY* key, std::string_view file) {
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return InvalidArgument(fmt::format("{}: not an Ed25519 key (make one with `openssl genpkey -algorithm ed25519`)", file));
  }
  return Fingerprint(key);
}

// The file's bytes; for a private key (`secret` names it), only if no one but the owner may read it.
StatusOr<std::string> ReadKeyFile(const std::string& path, std::string_view secret) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return NotFound(fmt::format("{}: cannot be read: {}", path, std::strerror(errno)));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return InvalidArgument(fmt::format("{}: not a regular file", path));
  }
  if (!secret.empty() && (info.st_mode & 077) != 0) {
    return FailedPrecondition(fmt::format("{}: {} is readable by group or others (mode {:04o}); make it 0600 or 0400",
                                          path, secret, info.st_mode & 07777));
  }
  std::string text;
  std::array<char, 4096> buffer;
  ssize_t n;
  while ((n = ::read(fd.get(), buffer.data(), buffer.size())) > 0) text.append(buffer.data(), static_cast<size_t>(n));
  OPENSSL_cleanse(buffer.data(), buffer.size());
  if (n < 0) {
    OPENSSL_cleanse(text.data(), text.size());
    return Internal(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
  }
  return text;
}

// O_EXCL: a key pair is never silently replaced.
Status WritePem(const std::string& path, mode_t mode, EVP_PKEY* key, bool secret) {
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return FailedPrecondition(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  const BioPtr bio(BIO_new_fd(fd.get(), BIO_NOCLOSE));
  const bool written = bio && (secret ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                                      : PEM_write_bio_PUBKEY(bio.get(), key)) == 1 &&
                       BIO_flush(bio.get()) == 1;
  if (!written) return Internal(fmt::format("cannot write {}: {}", path, OpenSslError()));
  return Status::Ok();
}

}  // namespace

void PkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

StatusOr<PrivateKey> PrivateKey::Load(const std::string& pem_file, std::string_view what) {
  auto text = ReadKeyFile(pem_file, what);
  if (!text.ok()) return text.status();
  BioPtr bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  // The PEM text is the secret itself: wipe it before the memory goes back to the allocator.
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) return InvalidArgument(fmt::format("{}: not a PEM private key: {}", pem_file, OpenSslError()));
  auto fingerprint = CheckedFingerprint(key.get(), pem_file);
  if (!fingerprint.ok()) return fingerprint.status();
  PrivateKey result;
  result.key_ = std::move(key);
  result.fingerprint_ = std::move(*fingerprint);
  return result;
}

StatusOr<Signature> PrivateKey::Sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  Signature signature{};
  size_t length = signature.size();
  // Ed25519 hashes internally: no digest is named, and signing is one-shot.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      length != signature.size()) {
    return Internal("Ed25519 signing failed: " + OpenSslError());
  }
  return signature;
}

StatusOr<PublicKey> PublicKey::Load(const std::string& pem_file) {
  auto text = ReadKeyFile(pem_file, {});
  if (!text.ok()) return text.status();
  auto key = FromPem(*text);
  if (!key.ok()) return Status(key.status().code(), fmt::format("{}: {}", pem_file, key.status().message()));
  return key;
}

StatusOr<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    return InvalidArgument("not a PEM public key (make it with `openssl pkey -in KEY -pubout`)");
  }
  auto fingerprint = CheckedFingerprint(key.get(), "public key");
  if (!fingerprint.ok()) return fingerprint.status();
  PublicKey result;
  result.key_ = std::move(key);
  result.fingerprint_ = std::move(*fingerprint);
  return result;
}

bool PublicKey::Verify(std::string_view message, std::span<const uint8_t> signature) const {
  if (signature.size() != kSignatureBytes) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                   reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

Status GenerateKeyPair(const std::string& private_file, const std::string& public_file) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return Internal("cannot generate an Ed25519 key: " + OpenSslError());
  }
  const PkeyPtr key(raw);
  if (::access(public_file.c_str(), F_OK) == 0) return FailedPrecondition(public_file + " exists already");
  TOLLGATE_RETURN_IF_ERROR(WritePem(private_file, 0600, key.get(), true));
  return WritePem(public_file, 0644, key.get(), false);
}

}  // namespace tollgate::ed25519
