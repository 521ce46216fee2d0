#include "tollgate/audit/checkpoint_key.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "tollgate/audit/record.h"

namespace tollgate::audit {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

constexpr size_t kSignatureBytes = 64;

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
  std::array<unsigned char, 32> raw{};
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1 || length != raw.size()) {
    return Internal("cannot read the Ed25519 public key: " + OpenSslError());
  }
  return RecordHash({reinterpret_cast<const char*>(raw.data()), length});
}

Status CheckEd25519(EVP_PKEY* key, const std::string& file) {
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return InvalidArgument(fmt::format("{}: not an Ed25519 key (make one with `openssl genpkey -algorithm ed25519`)", file));
  }
  return Status::Ok();
}

// The file's bytes; for a private key, only if no one but the owner may read it.
StatusOr<std::string> ReadKeyFile(const std::string& path, bool secret) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound(fmt::format("{}: cannot be read: {}", path, std::strerror(errno)));
  struct stat info {};
  std::string text;
  Status status;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    status = InvalidArgument(fmt::format("{}: not a regular file", path));
  } else if (secret && (info.st_mode & 077) != 0) {
    status = FailedPrecondition(fmt::format(
        "{}: the audit signing key is readable by group or others (mode {:04o}); make it root-owned 0400", path,
        info.st_mode & 07777));
  } else {
    std::array<char, 4096> buffer;
    ssize_t n;
    while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) text.append(buffer.data(), static_cast<size_t>(n));
    OPENSSL_cleanse(buffer.data(), buffer.size());
    if (n < 0) status = Internal(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
  }
  ::close(fd);
  if (!status.ok()) {
    OPENSSL_cleanse(text.data(), text.size());
    return status;
  }
  return text;
}

bool DecodeHex(std::string_view hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int high = nibble(hex[2 * i]), low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return true;
}

}  // namespace

void PkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

StatusOr<SigningKey> SigningKey::Load(const std::string& pem_file) {
  auto text = ReadKeyFile(pem_file, true);
  if (!text.ok()) return text.status();
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  // The PEM text is the secret itself: wipe it before the memory goes back to the allocator.
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) return InvalidArgument(fmt::format("{}: not a PEM private key: {}", pem_file, OpenSslError()));
  TOLLGATE_RETURN_IF_ERROR(CheckEd25519(key.get(), pem_file));
  auto fingerprint = Fingerprint(key.get());
  if (!fingerprint.ok()) return fingerprint.status();
  SigningKey result;
  result.key_ = std::move(key);
  result.fingerprint_ = std::move(*fingerprint);
  return result;
}

StatusOr<std::string> SigningKey::Sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<unsigned char, kSignatureBytes> signature{};
  size_t length = signature.size();
  // Ed25519 hashes internally: no digest is named.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      length != signature.size()) {
    return Internal("Ed25519 signing failed: " + OpenSslError());
  }
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned char byte : signature) hex += fmt::format("{:02x}", byte);
  return hex;
}

StatusOr<VerifyingKey> VerifyingKey::Load(const std::string& pem_file) {
  auto text = ReadKeyFile(pem_file, false);
  if (!text.ok()) return text.status();
  auto key = FromPem(*text);
  if (!key.ok()) return Status(key.status().code(), fmt::format("{}: {}", pem_file, key.status().message()));
  return key;
}

StatusOr<VerifyingKey> VerifyingKey::FromPem(std::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    return InvalidArgument("not a PEM public key (make it with `openssl pkey -in KEY -pubout`)");
  }
  TOLLGATE_RETURN_IF_ERROR(CheckEd25519(key.get(), "public key"));
  auto fingerprint = Fingerprint(key.get());
  if (!fingerprint.ok()) return fingerprint.status();
  VerifyingKey result;
  result.key_ = std::move(key);
  result.fingerprint_ = std::move(*fingerprint);
  return result;
}

bool VerifyingKey::Verify(std::string_view message, std::string_view signature_hex) const {
  std::vector<unsigned char> signature;
  if (!DecodeHex(signature_hex, signature) || signature.size() != kSignatureBytes) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                   reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace tollgate::audit
