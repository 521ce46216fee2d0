#include "office_decryption.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>

#include "little_endian.h"
#include "xml_nodes.h"

namespace tollgate::ole2 {
namespace {

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
struct DigestContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
struct EncodeContextFree {
  void operator()(EVP_ENCODE_CTX* context) const { EVP_ENCODE_CTX_free(context); }
};

using Bytes = std::vector<uint8_t>;

constexpr size_t kSegmentSize = 4096;  // agile: each segment has its own IV
constexpr size_t kAesBlock = 16;
constexpr uint32_t kMaxSpinCount = 10'000'000;  // [MS-OFFCRYPTO] 2.3.4.10: "MUST be ... at most 10,000,000"
constexpr uint32_t kStandardSpinCount = 50'000;
constexpr uint32_t kSpinsBetweenStopChecks = 4096;
constexpr size_t kMaxSaltSize = 65536;
// [MS-OFFCRYPTO] 2.3.4.11-13: the block keys the agile verifier and key are derived with.
constexpr std::array<uint8_t, 8> kVerifierInputBlock = {0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79};
constexpr std::array<uint8_t, 8> kVerifierValueBlock = {0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e};
constexpr std::array<uint8_t, 8> kKeyValueBlock = {0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6};
constexpr std::string_view kPasswordKeyEncryptorNs = "http://schemas.microsoft.com/office/2006/keyEncryptor/password";

Status FirstError(std::initializer_list<Status> statuses) {
  for (const Status& status : statuses) {
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

void Append(Bytes& out, std::span<const uint8_t> bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

std::array<uint8_t, 4> Le32Bytes(uint32_t value) {
  return {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value >> 16),
          static_cast<uint8_t>(value >> 24)};
}

// Office hashes the password as UTF-16LE. Bytes that are not valid UTF-8 count as Latin-1.
Bytes Utf16Le(std::string_view utf8) {
  Bytes out;
  auto unit = [&out](uint32_t u) {
    out.push_back(static_cast<uint8_t>(u));
    out.push_back(static_cast<uint8_t>(u >> 8));
  };
  for (size_t i = 0; i < utf8.size();) {
    const auto lead = static_cast<uint8_t>(utf8[i]);
    const size_t length = lead < 0x80           ? 1
                          : (lead >> 5) == 0x6  ? 2
                          : (lead >> 4) == 0xE  ? 3
                          : (lead >> 3) == 0x1E ? 4
                                                : 0;
    bool valid = length > 0 && i + length <= utf8.size();
    uint32_t code = length == 1 ? lead : length == 2 ? lead & 0x1F : length == 3 ? lead & 0x0F : lead & 0x07;
    for (size_t k = 1; valid && k < length; ++k) {
      const auto next = static_cast<uint8_t>(utf8[i + k]);
      valid = (next & 0xC0) == 0x80;
      code = code << 6 | (next & 0x3F);
    }
    if (!valid) {
      unit(lead);
      ++i;
      continue;
    }
    if (code >= 0x10000) {
      code -= 0x10000;
      unit(0xD800 | code >> 10);
      unit(0xDC00 | (code & 0x3FF));
    } else {
      unit(code);
    }
    i += length;
  }
  return out;
}

class Hasher {
 public:
  explicit Hasher(const EVP_MD* md) : md_(md), context_(EVP_MD_CTX_new()) {}
  size_t size() const { return static_cast<size_t>(EVP_MD_get_size(md_)); }

  // The digest of the concatenated parts.
  StatusOr<Bytes> Digest(std::initializer_list<std::span<const uint8_t>> parts) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), md_, nullptr) != 1)
      return Internal("OpenSSL digest init failed");
    for (std::span<const uint8_t> part : parts) {
      if (EVP_DigestUpdate(context_.get(), part.data(), part.size()) != 1) return Internal("OpenSSL digest failed");
    }
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_.get(), out.data(), &length) != 1) return Internal("OpenSSL digest failed");
    out.resize(length);
    return out;
  }

  // H0 = H(salt + password), Hn = H(LE32(n - 1) + Hn-1) for `spins` rounds ([MS-OFFCRYPTO] 2.3.4.7, 2.3.4.11).
  StatusOr<Bytes> Spin(std::span<const uint8_t> salt, std::span<const uint8_t> password, uint32_t spins,
                       const std::function<bool()>& should_stop) {
    auto digest = Digest({salt, password});
    for (uint32_t i = 0; digest.ok() && i < spins; ++i) {
      if (i % kSpinsBetweenStopChecks == 0 && should_stop && should_stop()) {
        return DeadlineExceeded("stopped while deriving an Office document key");
      }
      digest = Digest({Le32Bytes(i), *digest});
    }
    return digest;
  }

 private:
  const EVP_MD* md_;
  std::unique_ptr<EVP_MD_CTX, DigestContextFree> context_;
};

const EVP_CIPHER* AesCipher(size_t key_bytes, bool cbc) {
  switch (key_bytes) {
    case 16: return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
    case 24: return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb();
    case 32: return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
    default: return nullptr;
  }
}

// AES decryption without padding of whole blocks (`in` is a multiple of 16 bytes), appended to `out`.
Status AesDecrypt(std::span<const uint8_t> key, std::span<const uint8_t> iv, std::span<const uint8_t> in, Bytes& out) {
  const EVP_CIPHER* cipher = AesCipher(key.size(), !iv.empty());
  if (cipher == nullptr) return Internal("unsupported AES key size");
  if (in.size() % kAesBlock != 0) return DataLoss("encrypted data is not a whole number of AES blocks");
  std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree> context(EVP_CIPHER_CTX_new());
  if (!context ||
      EVP_DecryptInit_ex(context.get(), cipher, nullptr, key.data(), iv.empty() ? nullptr : iv.data()) != 1 ||
      EVP_CIPHER_CTX_set_padding(context.get(), 0) != 1) {
    return Internal("OpenSSL cipher init failed");
  }
  const size_t start = out.size();
  out.resize(start + in.size() + kAesBlock);
  int written = 0, final_written = 0;
  if (EVP_DecryptUpdate(context.get(), out.data() + start, &written, in.data(), static_cast<int>(in.size())) != 1 ||
      EVP_DecryptFinal_ex(context.get(), out.data() + start + written, &final_written) != 1) {
    return Internal("OpenSSL decryption failed");
  }
  out.resize(start + static_cast<size_t>(written + final_written));
  return Status::Ok();
}

// `bytes` cut or padded with 0x36 to `size` ([MS-OFFCRYPTO] 2.3.4.11-12).
Bytes FitTo(Bytes bytes, size_t size) {
  bytes.resize(size, 0x36);
  return bytes;
}

// The first `size` bytes `in` decrypts to; DataLoss when it holds fewer.
StatusOr<Bytes> Decrypted(std::span<const uint8_t> key, std::span<const uint8_t> iv, std::span<const uint8_t> in,
                          size_t size) {
  Bytes out;
  TOLLGATE_RETURN_IF_ERROR(AesDecrypt(key, iv, in, out));
  if (out.size() < size) return DataLoss("encrypted field is shorter than its declared size");
  out.resize(size);
  return out;
}

// How many bytes of the package to decrypt: what EncryptedPackage declares, but at most `limit` + 1;
// DataLoss when the stream holds fewer.
Status CheckPackageSize(std::span<const uint8_t> encrypted_package, uint64_t limit, size_t& count) {
  const uint64_t declared = DeclaredPackageSize(encrypted_package);
  if (encrypted_package.size() < 8) return DataLoss("EncryptedPackage is shorter than its size field");
  if (declared > encrypted_package.size() - 8) {
    return DataLoss(
        fmt::format("EncryptedPackage declares {} bytes but holds {}", declared, encrypted_package.size() - 8));
  }
  count = static_cast<size_t>(std::min(declared, limit + 1));
  return Status::Ok();
}

StatusOr<Bytes> Base64(std::string_view text) {
  std::unique_ptr<EVP_ENCODE_CTX, EncodeContextFree> context(EVP_ENCODE_CTX_new());
  if (!context) return Internal("OpenSSL base64 context failed");
  EVP_DecodeInit(context.get());
  Bytes out(text.size() / 4 * 3 + 3);
  int written = 0, final_written = 0;
  if (EVP_DecodeUpdate(context.get(), out.data(), &written, reinterpret_cast<const unsigned char*>(text.data()),
                       static_cast<int>(text.size())) < 0 ||
      EVP_DecodeFinal(context.get(), out.data() + written, &final_written) != 1) {
    return DataLoss("malformed base64 in the encryption descriptor");
  }
  out.resize(static_cast<size_t>(written + final_written));
  return out;
}

using Attributes = std::map<std::string, std::string, std::less<>>;

// One element of the agile descriptor: its attributes and their parsed forms.
class Parameters {
 public:
  explicit Parameters(Attributes attributes) : attributes_(std::move(attributes)) {}

  StatusOr<std::string_view> Text(std::string_view name) const {
    const auto found = attributes_.find(name);
    if (found == attributes_.end()) return DataLoss(fmt::format("encryption descriptor lacks {}", name));
    return std::string_view(found->second);
  }
  StatusOr<uint32_t> Number(std::string_view name) const {
    auto text = Text(name);
    if (!text.ok()) return text.status();
    uint32_t value = 0;
    if (text->empty() || text->size() > 9 ||
        !std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return DataLoss(fmt::format("encryption descriptor: {} is not a number", name));
    }
    for (char c : *text) value = value * 10 + static_cast<uint32_t>(c - '0');
    return value;
  }
  StatusOr<Bytes> Binary(std::string_view name) const {
    auto text = Text(name);
    if (!text.ok()) return text.status();
    return Base64(*text);
  }

 private:
  Attributes attributes_;
};

// What the agile descriptor says about one cipher: keyData (the package) or a password's encryptedKey.
struct CipherParameters {
  const EVP_MD* md = nullptr;
  size_t key_bytes = 0;
  size_t block_size = 0;
  size_t hash_size = 0;
  Bytes salt;
};

StatusOr<CipherParameters> ReadCipherParameters(const Parameters& element, std::string_view what) {
  auto cipher = element.Text("cipherAlgorithm");
  auto chaining = element.Text("cipherChaining");
  auto hash = element.Text("hashAlgorithm");
  auto key_bits = element.Number("keyBits");
  auto block_size = element.Number("blockSize");
  auto hash_size = element.Number("hashSize");
  auto salt = element.Binary("saltValue");
  TOLLGATE_RETURN_IF_ERROR(FirstError({cipher.status(), chaining.status(), hash.status(), key_bits.status(),
                                       block_size.status(), hash_size.status(), salt.status()}));
  if (*cipher != "AES" || *chaining != "ChainingModeCBC") {
    return FailedPrecondition(fmt::format("{} uses {} {}; only AES-CBC is supported", what, *cipher, *chaining));
  }
  CipherParameters parameters;
  static constexpr std::array<std::string_view, 5> kHashes = {"SHA1", "SHA256", "SHA384", "SHA512", "MD5"};
  if (std::find(kHashes.begin(), kHashes.end(), *hash) != kHashes.end()) {
    parameters.md = EVP_get_digestbyname(std::string(*hash).c_str());
  }
  if (parameters.md == nullptr) return FailedPrecondition(fmt::format("{} uses the unsupported hash {}", what, *hash));
  parameters.key_bytes = *key_bits / 8;
  parameters.block_size = *block_size;
  parameters.hash_size = *hash_size;
  parameters.salt = std::move(*salt);
  if (AesCipher(parameters.key_bytes, true) == nullptr || *key_bits % 8 != 0 || parameters.block_size != kAesBlock ||
      parameters.hash_size != static_cast<size_t>(EVP_MD_get_size(parameters.md)) || parameters.salt.empty() ||
      parameters.salt.size() > kMaxSaltSize) {
    return DataLoss(fmt::format("{}: inconsistent key, block, hash or salt size", what));
  }
  return parameters;
}

// Agile encryption ([MS-OFFCRYPTO] 2.3.4.10-15).
class AgileDecryptor final : public PackageDecryptor {
 public:
  static StatusOr<std::unique_ptr<PackageDecryptor>> Create(std::span<const uint8_t> descriptor) {
    std::optional<Attributes> key_data, encrypted_key;
    TOLLGATE_RETURN_IF_ERROR(ReadDescriptor(descriptor, key_data, encrypted_key));
    if (!key_data) return DataLoss("encryption descriptor has no keyData");
    if (!encrypted_key) return FailedPrecondition("the document has no password key encryptor (certificate only)");
    auto decryptor = std::make_unique<AgileDecryptor>();
    const Parameters key_element(std::move(*encrypted_key));
    auto package = ReadCipherParameters(Parameters(std::move(*key_data)), "keyData");
    auto password = ReadCipherParameters(key_element, "the password key encryptor");
    auto spin_count = key_element.Number("spinCount");
    auto verifier_input = key_element.Binary("encryptedVerifierHashInput");
    auto verifier_value = key_element.Binary("encryptedVerifierHashValue");
    auto key_value = key_element.Binary("encryptedKeyValue");
    TOLLGATE_RETURN_IF_ERROR(FirstError({package.status(), password.status(), spin_count.status(),
                                         verifier_input.status(), verifier_value.status(), key_value.status()}));
    if (*spin_count > kMaxSpinCount) return DataLoss(fmt::format("spin count {} is over the maximum", *spin_count));
    decryptor->package_ = std::move(*package);
    decryptor->password_ = std::move(*password);
    decryptor->spin_count_ = *spin_count;
    decryptor->verifier_input_ = std::move(*verifier_input);
    decryptor->verifier_value_ = std::move(*verifier_value);
    decryptor->key_value_ = std::move(*key_value);
    return std::unique_ptr<PackageDecryptor>(std::move(decryptor));
  }

  StatusOr<Bytes> KeyFor(std::string_view password, const std::function<bool()>& should_stop) const override {
    Hasher hasher(password_.md);
    auto spun = hasher.Spin(password_.salt, Utf16Le(password), spin_count_, should_stop);
    if (!spun.ok()) return spun.status();
    auto block_key = [&](std::span<const uint8_t> block) -> StatusOr<Bytes> {
      auto digest = hasher.Digest({*spun, block});
      if (!digest.ok()) return digest.status();
      return FitTo(std::move(*digest), password_.key_bytes);
    };
    const Bytes iv = FitTo(password_.salt, password_.block_size);
    auto input_key = block_key(kVerifierInputBlock);
    auto value_key = block_key(kVerifierValueBlock);
    auto package_key_key = block_key(kKeyValueBlock);
    TOLLGATE_RETURN_IF_ERROR(FirstError({input_key.status(), value_key.status(), package_key_key.status()}));
    auto input = Decrypted(*input_key, iv, verifier_input_, password_.salt.size());
    auto value = Decrypted(*value_key, iv, verifier_value_, password_.hash_size);
    if (!input.ok()) return input.status();
    if (!value.ok()) return value.status();
    auto expected = hasher.Digest({*input});
    if (!expected.ok()) return expected.status();
    if (CRYPTO_memcmp(expected->data(), value->data(), value->size()) != 0) return Bytes{};
    return Decrypted(*package_key_key, iv, key_value_, package_.key_bytes);
  }

  Status Decrypt(std::span<const uint8_t> key, std::span<const uint8_t> encrypted_package, uint64_t limit,
                 Bytes& out) const override {
    size_t count = 0;
    TOLLGATE_RETURN_IF_ERROR(CheckPackageSize(encrypted_package, limit, count));
    const std::span<const uint8_t> segments = encrypted_package.subspan(8);
    Hasher hasher(package_.md);
    out.clear();
    for (uint32_t index = 0; out.size() < count; ++index) {
      const size_t at = size_t{index} * kSegmentSize;
      // The last segment is the package's remainder, padded to whole blocks.
      const size_t wanted = std::min(kSegmentSize, (count - out.size() + kAesBlock - 1) / kAesBlock * kAesBlock);
      if (segments.size() - at < wanted) return DataLoss("EncryptedPackage ends inside a segment");
      auto iv = hasher.Digest({package_.salt, Le32Bytes(index)});
      if (!iv.ok()) return iv.status();
      TOLLGATE_RETURN_IF_ERROR(
          AesDecrypt(key, FitTo(std::move(*iv), package_.block_size), segments.subspan(at, wanted), out));
    }
    out.resize(count);
    return Status::Ok();
  }

 private:
  // Reads keyData and the password key encryptor's encryptedKey from the XML descriptor; only
  // the attributes of those two elements are collected.
  static Status ReadDescriptor(std::span<const uint8_t> descriptor, std::optional<Attributes>& key_data,
                               std::optional<Attributes>& encrypted_key) {
    const Status status = ooxml::ForEachXmlNode(descriptor, [&](xmlTextReader* reader) {
      if (xmlTextReaderNodeType(reader) != XML_READER_TYPE_ELEMENT) return;
      const auto* local = reinterpret_cast<const char*>(xmlTextReaderConstLocalName(reader));
      const auto* ns = reinterpret_cast<const char*>(xmlTextReaderConstNamespaceUri(reader));
      const std::string_view name = local ? local : "";
      std::optional<Attributes>* target = nullptr;
      if (name == "keyData" && !key_data) target = &key_data;
      if (name == "encryptedKey" && ns != nullptr && ns == kPasswordKeyEncryptorNs && !encrypted_key) {
        target = &encrypted_key;
      }
      if (target == nullptr) return;
      Attributes attributes;
      while (xmlTextReaderMoveToNextAttribute(reader) == 1) {
        const auto* attribute = reinterpret_cast<const char*>(xmlTextReaderConstLocalName(reader));
        const auto* value = reinterpret_cast<const char*>(xmlTextReaderConstValue(reader));
        if (attribute && value) attributes.emplace(attribute, value);
      }
      *target = std::move(attributes);
    });
    return status.ok() ? status : Status(status.code(), "encryption descriptor: " + status.message());
  }

  CipherParameters package_, password_;
  uint32_t spin_count_ = 0;
  Bytes verifier_input_, verifier_value_, key_value_;
};

// Standard encryption with AES ([MS-OFFCRYPTO] 2.3.4.5-9).
class StandardDecryptor final : public PackageDecryptor {
 public:
  static StatusOr<std::unique_ptr<PackageDecryptor>> Create(std::span<const uint8_t> info) {
    constexpr uint32_t kAesFlag = 0x20;
    constexpr uint32_t kSha1 = 0x8004;
    constexpr size_t kHeaderStart = 12;  // after version, flags and the header's size
    constexpr size_t kHeaderFixedSize = 32;
    constexpr size_t kVerifierSize = 4 + 16 + 16 + 4 + 32;
    if (info.size() < kHeaderStart) return DataLoss("EncryptionInfo is truncated");
    const uint32_t header_size = Le32(info, 8);
    if (header_size < kHeaderFixedSize || header_size > info.size() - kHeaderStart ||
        info.size() - kHeaderStart - header_size < kVerifierSize) {
      return DataLoss("EncryptionInfo is truncated");
    }
    const std::span<const uint8_t> header = info.subspan(kHeaderStart, header_size);
    const uint32_t flags = Le32(header, 0), algorithm = Le32(header, 8), hash = Le32(header, 12);
    const uint32_t key_bits = Le32(header, 16);
    const bool aes = (flags & kAesFlag) != 0 && (algorithm == 0 || (algorithm >= 0x660E && algorithm <= 0x6610));
    if (!aes)
      return FailedPrecondition(
          fmt::format("standard encryption with cipher 0x{:04x} (only AES is supported)", algorithm));
    if (hash != 0 && hash != kSha1)
      return FailedPrecondition(fmt::format("standard encryption with hash 0x{:04x}", hash));
    auto decryptor = std::make_unique<StandardDecryptor>();
    decryptor->key_bytes_ = key_bits / 8;
    if (AesCipher(decryptor->key_bytes_, false) == nullptr || key_bits % 8 != 0) {
      return DataLoss(fmt::format("standard encryption with a {}-bit AES key", key_bits));
    }
    const std::span<const uint8_t> verifier = info.subspan(kHeaderStart + header_size, kVerifierSize);
    if (Le32(verifier, 0) != 16 || Le32(verifier, 36) != 20) return DataLoss("unexpected salt or verifier hash size");
    decryptor->salt_.assign(verifier.begin() + 4, verifier.begin() + 20);
    decryptor->verifier_.assign(verifier.begin() + 20, verifier.begin() + 36);
    decryptor->verifier_hash_.assign(verifier.begin() + 40, verifier.end());
    return std::unique_ptr<PackageDecryptor>(std::move(decryptor));
  }

  StatusOr<Bytes> KeyFor(std::string_view password, const std::function<bool()>& should_stop) const override {
    Hasher sha1(EVP_sha1());
    auto spun = sha1.Spin(salt_, Utf16Le(password), kStandardSpinCount, should_stop);
    if (!spun.ok()) return spun.status();
    auto final_hash = sha1.Digest({*spun, Le32Bytes(0)});
    if (!final_hash.ok()) return final_hash.status();
    // 2.3.4.7: the key is the start of SHA1(0x36… ^ H) || SHA1(0x5C… ^ H).
    auto xored = [&](uint8_t pad) {
      Bytes buffer(64, pad);
      for (size_t i = 0; i < final_hash->size(); ++i) buffer[i] ^= (*final_hash)[i];
      return buffer;
    };
    auto first = sha1.Digest({xored(0x36)});
    auto second = sha1.Digest({xored(0x5C)});
    if (!first.ok()) return first.status();
    if (!second.ok()) return second.status();
    Bytes key = std::move(*first);
    Append(key, *second);
    key.resize(key_bytes_);

    auto verifier = Decrypted(key, {}, verifier_, verifier_.size());
    auto verifier_hash = Decrypted(key, {}, verifier_hash_, 20);
    if (!verifier.ok()) return verifier.status();
    if (!verifier_hash.ok()) return verifier_hash.status();
    auto expected = sha1.Digest({*verifier});
    if (!expected.ok()) return expected.status();
    if (CRYPTO_memcmp(expected->data(), verifier_hash->data(), verifier_hash->size()) != 0) return Bytes{};
    return key;
  }

  Status Decrypt(std::span<const uint8_t> key, std::span<const uint8_t> encrypted_package, uint64_t limit,
                 Bytes& out) const override {
    size_t count = 0;
    TOLLGATE_RETURN_IF_ERROR(CheckPackageSize(encrypted_package, limit, count));
    const size_t blocks = (count + kAesBlock - 1) / kAesBlock * kAesBlock;
    if (encrypted_package.size() - 8 < blocks) return DataLoss("EncryptedPackage ends inside an AES block");
    out.clear();
    TOLLGATE_RETURN_IF_ERROR(AesDecrypt(key, {}, encrypted_package.subspan(8, blocks), out));
    out.resize(count);
    return Status::Ok();
  }

 private:
  size_t key_bytes_ = 0;
  Bytes salt_, verifier_, verifier_hash_;
};

}  // namespace

uint64_t DeclaredPackageSize(std::span<const uint8_t> encrypted_package) {
  if (encrypted_package.size() < 8) return 0;
  return uint64_t{Le32(encrypted_package, 0)} | uint64_t{Le32(encrypted_package, 4)} << 32;
}

StatusOr<std::unique_ptr<PackageDecryptor>> PackageDecryptor::Create(std::span<const uint8_t> encryption_info) {
  if (encryption_info.size() < 8) return DataLoss("EncryptionInfo is truncated");
  const uint16_t major = Le16(encryption_info, 0), minor = Le16(encryption_info, 2);
  if (major == 4 && minor == 4) return AgileDecryptor::Create(encryption_info.subspan(8));
  if (major >= 2 && major <= 4 && minor == 2) return StandardDecryptor::Create(encryption_info);
  if ((major == 3 || major == 4) && minor == 3) {
    return FailedPrecondition("extensible encryption (a third-party cryptographic provider) is not supported");
  }
  return DataLoss(fmt::format("unknown EncryptionInfo version {}.{}", major, minor));
}

}  // namespace tollgate::ole2
