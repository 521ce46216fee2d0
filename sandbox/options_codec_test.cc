// The zygote request: every option and limit crosses the sandbox, and the C++ structs and the
// protobuf messages keep the same fields.
#include "options_codec.h"

#include <gtest/gtest.h>

#include <cstddef>

#include "tollgate/sandbox/v1/zygote.pb.h"

namespace tollgate::sandbox {
namespace {

// Converts to any member type: counts an aggregate's fields by how many of these initialize it.
struct AnyField {
  template <typename T>
  operator T() const;
};

template <typename T, typename... Fields>
constexpr int FieldCount() {
  if constexpr (requires { T{Fields{}..., AnyField{}}; }) {
    return FieldCount<T, Fields..., AnyField>();
  } else {
    return sizeof...(Fields);
  }
}

TEST(OptionsCodecTest, EachStructHasAMessageWithAsManyFields) {
  EXPECT_EQ(FieldCount<ScanLimits>(), v1::ScanLimits::descriptor()->field_count());
  EXPECT_EQ(FieldCount<ScannerOptions>(), v1::ScannerOptions::descriptor()->field_count());
  EXPECT_EQ(FieldCount<WorkerLimits>(), v1::WorkerLimits::descriptor()->field_count());
}

TEST(OptionsCodecTest, EveryFieldCrossesWithItsValue) {
  ScannerOptions options;
  options.rules_dir = "/var/lib/tollgate/rules/v7";
  options.extra_rule_files = {{"yara", "/etc/tollgate/extra.yar"}, {"clamav", "/etc/tollgate/local.ndb"}};
  options.limits = ScanLimits{.max_depth = 3,
                              .max_files = 17,
                              .max_layer_bytes = 5ull << 30,
                              .max_total_bytes = 9ull << 30,
                              .max_expansion_ratio = 12.5,
                              .ratio_exempt_bytes = 4096,
                              .max_scan_time = std::chrono::milliseconds(1234)};
  options.passwords = {"infected", "", "päss"};
  options.policy_file = "/etc/tollgate/policy.toml";
  options.compiled_cache_dir = "/var/cache/tollgate";
  const WorkerLimits worker{.memory_limit_bytes = 3ull << 30, .cpu_seconds = 77};

  auto decoded = DecodeZygoteRequest(EncodeZygoteRequest(options, worker));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const auto& [got, got_worker] = *decoded;
  EXPECT_EQ(got.rules_dir, options.rules_dir);
  EXPECT_EQ(got.extra_rule_files, options.extra_rule_files);
  EXPECT_EQ(got.limits.max_depth, 3u);
  EXPECT_EQ(got.limits.max_files, 17u);
  EXPECT_EQ(got.limits.max_layer_bytes, 5ull << 30);
  EXPECT_EQ(got.limits.max_total_bytes, 9ull << 30);
  EXPECT_EQ(got.limits.max_expansion_ratio, 12.5);
  EXPECT_EQ(got.limits.ratio_exempt_bytes, 4096u);
  EXPECT_EQ(got.limits.max_scan_time, std::chrono::milliseconds(1234));
  EXPECT_EQ(got.passwords, options.passwords);
  EXPECT_EQ(got.policy_file, options.policy_file);
  EXPECT_EQ(got.compiled_cache_dir, options.compiled_cache_dir);
  EXPECT_EQ(got_worker.memory_limit_bytes, 3ull << 30);
  EXPECT_EQ(got_worker.cpu_seconds, 77u);
}

TEST(OptionsCodecTest, ARequestCutShortIsRefused) {
  const std::string request = EncodeZygoteRequest(ScannerOptions{}, WorkerLimits{1, 1});
  for (const std::string& bad : {std::string(), request.substr(0, request.size() / 2), std::string("\xff\xff\xff")}) {
    const auto decoded = DecodeZygoteRequest(bad);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace tollgate::sandbox
