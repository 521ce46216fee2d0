#include "auth.h"

#include <gtest/gtest.h>

namespace tollgate::service {
namespace {

using namespace std::chrono_literals;

const char kTokens[] =
    "# token tenant\n"
    "\n"
    "aaaaaaaaaaaaaaaaaaaaaaaa acme\n"
    "   bbbbbbbbbbbbbbbbbbbbbbbb   globex  \n";

TEST(TokenTable, FindsTheTenantOfEachToken) {
  auto table = TokenTable::Parse(kTokens, "tokens");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->size(), 2u);
  EXPECT_EQ(table->FindTenant("aaaaaaaaaaaaaaaaaaaaaaaa"), "acme");
  EXPECT_EQ(table->FindTenant("bbbbbbbbbbbbbbbbbbbbbbbb"), "globex");
  EXPECT_EQ(table->FindTenant("aaaaaaaaaaaaaaaaaaaaaaa"), std::nullopt);
  EXPECT_EQ(table->FindTenant(""), std::nullopt);
}

TEST(TokenTable, ErrorsNameTheLine) {
  EXPECT_EQ(TokenTable::Parse("aaaaaaaaaaaaaaaaaaaaaaaa\n", "t").status().message(), "t:1: expected `TOKEN TENANT`");
  EXPECT_EQ(TokenTable::Parse("#\naaaaaaaaaaaaaaaaaaaaaaaa x y\n", "t").status().message(), "t:2: expected `TOKEN TENANT`");
  EXPECT_EQ(TokenTable::Parse("short acme\n", "t").status().message(), "t:1: token shorter than 16 characters");
  EXPECT_EQ(TokenTable::Parse("aaaaaaaaaaaaaaaaaaaaaaaa ac/me\n", "t").status().message(),
            "t:1: tenant must be [A-Za-z0-9_.-]+");
  EXPECT_EQ(TokenTable::Parse("aaaaaaaaaaaaaaaaaaaaaaaa a\naaaaaaaaaaaaaaaaaaaaaaaa b\n", "t").status().message(),
            "t:2: duplicate token");
  EXPECT_EQ(TokenTable::Parse("# nothing\n", "t").status().message(), "t: no tokens");
}

TEST(Lockout, LocksAfterMaxFailuresForThePeriod) {
  Lockout lockout({3, 10s, 100});
  const auto t0 = Lockout::Clock::now();
  lockout.RecordFailure("k", t0);
  lockout.RecordFailure("k", t0);
  EXPECT_FALSE(lockout.IsLocked("k", t0));
  lockout.RecordFailure("k", t0);
  EXPECT_TRUE(lockout.IsLocked("k", t0));
  EXPECT_TRUE(lockout.IsLocked("k", t0 + 9s));
  EXPECT_FALSE(lockout.IsLocked("other", t0));
  // Attempts while locked do not extend the lock.
  lockout.RecordFailure("k", t0 + 9s);
  EXPECT_FALSE(lockout.IsLocked("k", t0 + 10s));
  // After the lock, counting starts again from zero.
  lockout.RecordFailure("k", t0 + 11s);
  EXPECT_FALSE(lockout.IsLocked("k", t0 + 11s));
}

TEST(Lockout, SuccessResetsTheCount) {
  Lockout lockout({3, 10s, 100});
  const auto t0 = Lockout::Clock::now();
  lockout.RecordFailure("k", t0);
  lockout.RecordFailure("k", t0);
  lockout.RecordSuccess("k");
  lockout.RecordFailure("k", t0);
  lockout.RecordFailure("k", t0);
  EXPECT_FALSE(lockout.IsLocked("k", t0));
  EXPECT_EQ(lockout.size(), 1u);
}

TEST(Lockout, TableIsBoundedAndForgetsTheLeastRecentlyUsed) {
  Lockout lockout({2, 10s, 3});
  const auto t0 = Lockout::Clock::now();
  lockout.RecordFailure("a", t0);
  lockout.RecordFailure("a", t0);  // locked
  lockout.RecordFailure("b", t0);
  lockout.RecordFailure("c", t0);
  lockout.RecordFailure("a", t0);  // touched: now the most recent
  lockout.RecordFailure("d", t0);  // evicts b
  EXPECT_EQ(lockout.size(), 3u);
  EXPECT_TRUE(lockout.IsLocked("a", t0));
  lockout.RecordFailure("b", t0);  // b starts over (evicts c)
  EXPECT_FALSE(lockout.IsLocked("b", t0));
}

TEST(Authenticator, WithoutTokensEveryCallPassesWithTheCertificateName) {
  Authenticator auth(std::nullopt, {});
  const AuthResult result = auth.Check(std::nullopt, "ipv4:127.0.0.1", "upload-service");
  EXPECT_TRUE(result.status.ok());
  EXPECT_EQ(result.tenant, "upload-service");
}

TEST(Authenticator, BearerTokensNameTheTenant) {
  Authenticator auth(*TokenTable::Parse(kTokens, "t"), {5, 60s, 100});
  const AuthResult good = auth.Check("Bearer aaaaaaaaaaaaaaaaaaaaaaaa", "p", "");
  EXPECT_TRUE(good.status.ok());
  EXPECT_EQ(good.tenant, "acme");
  EXPECT_EQ(auth.Check("bearer   bbbbbbbbbbbbbbbbbbbbbbbb", "p", "").tenant, "globex");

  const AuthResult missing = auth.Check(std::nullopt, "p", "");
  EXPECT_EQ(missing.status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(missing.reason, "missing_token");
  const AuthResult wrong_scheme = auth.Check("Basic aaaaaaaaaaaaaaaaaaaaaaaa", "p", "");
  EXPECT_EQ(wrong_scheme.reason, "missing_token");
  const AuthResult bad = auth.Check("Bearer nope-nope-nope-nope", "p", "");
  EXPECT_EQ(bad.status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(bad.reason, "bad_token");
  EXPECT_EQ(bad.status.message(), "invalid token");
}

TEST(Authenticator, FiveFailuresLockThePeerOutEvenWithAGoodToken) {
  Authenticator auth(*TokenTable::Parse(kTokens, "t"), {5, 60s, 100});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(auth.Check("Bearer wrong-token-number-" + std::to_string(i), "attacker", "").reason, "bad_token");
  EXPECT_TRUE(auth.Check("Bearer aaaaaaaaaaaaaaaaaaaaaaaa", "other-peer", "").status.ok());
  EXPECT_EQ(auth.Check(std::nullopt, "attacker", "").reason, "missing_token");  // the fifth failure
  const AuthResult locked = auth.Check("Bearer aaaaaaaaaaaaaaaaaaaaaaaa", "attacker", "");
  EXPECT_EQ(locked.status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(locked.reason, "locked_out");
  EXPECT_TRUE(auth.Check("Bearer aaaaaaaaaaaaaaaaaaaaaaaa", "other-peer", "").status.ok());
}

TEST(Authenticator, AWrongTokenTriedFromManyAddressesIsLockedToo) {
  Authenticator auth(*TokenTable::Parse(kTokens, "t"), {5, 60s, 100});
  for (int i = 0; i < 5; ++i) auth.Check("Bearer guessed-token-xxxxxxxx", "peer" + std::to_string(i), "");
  EXPECT_EQ(auth.Check("Bearer guessed-token-xxxxxxxx", "fresh-peer", "").reason, "locked_out");
}

TEST(Authenticator, SuccessResetsThePeersCount) {
  Authenticator auth(*TokenTable::Parse(kTokens, "t"), {5, 60s, 100});
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) auth.Check("Bearer typo-typo-typo-typo-typo", "p", "");
    EXPECT_TRUE(auth.Check("Bearer aaaaaaaaaaaaaaaaaaaaaaaa", "p", "").status.ok()) << round;
  }
}

}  // namespace
}  // namespace tollgate::service
