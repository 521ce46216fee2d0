#include "address.h"

#include <gtest/gtest.h>

namespace tollgate::service {
namespace {

TEST(ParseHostPort, SplitsHostAndPort) {
  auto v4 = ParseHostPort("127.0.0.1:50051");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 50051);
  auto v6 = ParseHostPort("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
}

TEST(ParseHostPort, RejectsWhatIsNotHostPort) {
  for (const char* bad : {"localhost", ":80", "host:", "host:65536", "host:-1", "host:8x", "::1:80", "[::1:80"}) {
    EXPECT_EQ(ParseHostPort(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(IsLoopbackHost, OnlyThisMachine) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.com", "localhost.example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(PeerHost, DropsThePort) {
  EXPECT_EQ(PeerHost("ipv4:127.0.0.1:43210"), "ipv4:127.0.0.1");
  EXPECT_EQ(PeerHost("ipv6:[::1]:43210"), "ipv6:[::1]");
  EXPECT_EQ(PeerHost("unix:/run/tollgate.sock"), "unix:/run/tollgate.sock");
}

}  // namespace
}  // namespace tollgate::service
