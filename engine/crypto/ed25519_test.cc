// Ed25519 keys made by GenerateKeyPair and by the openssl command, signatures, and the refusals.
#include "tollgate/ed25519.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_support.h"

namespace tollgate::ed25519 {
namespace {

using testing::TempDir;

TEST(Ed25519, SignsAndVerifiesWithAGeneratedPair) {
  TempDir dir;
  const std::string secret = (dir.path() / "key.pem").string(), public_file = (dir.path() / "key.pub").string();
  ASSERT_TRUE(GenerateKeyPair(secret, public_file).ok());
  struct stat info {};
  ASSERT_EQ(::stat(secret.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(GenerateKeyPair(secret, public_file).code(), StatusCode::kFailedPrecondition);

  auto key = PrivateKey::Load(secret, "the test key");
  auto verifier = PublicKey::Load(public_file);
  ASSERT_TRUE(key.ok()) << key.status().message();
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  EXPECT_EQ(key->fingerprint(), verifier->fingerprint());
  EXPECT_EQ(key->fingerprint().size(), 64u);
  auto signature = key->Sign("manifest");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(verifier->Verify("manifest", *signature));
  EXPECT_FALSE(verifier->Verify("manifesT", *signature));
  Signature flipped = *signature;
  flipped[10] ^= 1;
  EXPECT_FALSE(verifier->Verify("manifest", flipped));
  EXPECT_FALSE(verifier->Verify("manifest", std::span(signature->data(), 63)));
}

TEST(Ed25519, KeysFromTheOpensslCommandSignAndVerify) {
  TempDir dir;
  ASSERT_TRUE(testing::MakeAuditKeyPair(dir.path() / "key.pem", dir.path() / "key.pub"));
  auto key = PrivateKey::Load((dir.path() / "key.pem").string(), "the test key");
  auto verifier = PublicKey::Load((dir.path() / "key.pub").string());
  ASSERT_TRUE(key.ok()) << key.status().message();
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  EXPECT_TRUE(verifier->Verify("checkpoint", *key->Sign("checkpoint")));
}

TEST(Ed25519, RefusesAPrivateKeyOthersMayReadAndKeysOfOtherKinds) {
  TempDir dir;
  const std::string secret = (dir.path() / "key.pem").string();
  ASSERT_TRUE(GenerateKeyPair(secret, (dir.path() / "key.pub").string()).ok());
  ASSERT_EQ(::chmod(secret.c_str(), 0640), 0);
  auto exposed = PrivateKey::Load(secret, "the test key");
  ASSERT_FALSE(exposed.ok());
  EXPECT_EQ(exposed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(exposed.status().message(),
            secret + ": the test key is readable by group or others (mode 0640); make it 0600 or 0400");

  const std::string rsa = (dir.path() / "rsa.pem").string();
  ASSERT_EQ(testing::RunCommand("openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out " + rsa +
                                " 2>/dev/null")
                .exit_code,
            0);
  ASSERT_EQ(::chmod(rsa.c_str(), 0600), 0);
  auto wrong = PrivateKey::Load(rsa, "the test key");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(),
            rsa + ": not an Ed25519 key (make one with `openssl genpkey -algorithm ed25519`)");
  EXPECT_EQ(PublicKey::FromPem("not pem").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PrivateKey::Load((dir.path() / "missing.pem").string(), "the test key").status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace tollgate::ed25519
