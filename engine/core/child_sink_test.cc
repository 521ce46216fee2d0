#include "child_sink.h"

#include <gtest/gtest.h>

namespace tollgate {
namespace {

class Collect final : public FindingSink {
 public:
  void Add(Finding finding) override { findings.push_back(std::move(finding)); }
  std::vector<Finding> findings;
};

class ChildSinkTest : public ::testing::Test {
 protected:
  ChildSinkTest() {
    limits_.max_files = 3;
    limits_.max_layer_bytes = 1000;
    limits_.max_total_bytes = 1500;
    limits_.max_expansion_ratio = 10;
    limits_.ratio_exempt_bytes = 100;
    parent_.path = ObjectPath("a.zip");
  }

  LimitedChildSink MakeSink(std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max()) {
    return LimitedChildSink(parent_, limits_, budget_, deadline, findings_,
                            [this](ObjectPath path, std::vector<uint8_t> bytes, const ChildTraits&) {
                              children_.emplace_back(path.ToString(), bytes.size());
                            },
                            passwords_);
  }

  ScanLimits limits_;
  ScanObject parent_;
  ScanBudget budget_;
  std::vector<std::string> passwords_;
  Collect findings_;
  std::vector<std::pair<std::string, size_t>> children_;
};

TEST_F(ChildSinkTest, AdmitsAChildWithinTheLimitsAndCapsItsSize) {
  auto sink = MakeSink();
  auto cap = sink.Admit("a.txt", 50, 40);
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(*cap, 400u);  // the ratio allows 10 x 40 stored bytes
  ASSERT_TRUE(sink.Add("a.txt", std::vector<uint8_t>(50)).ok());
  EXPECT_EQ(children_, (std::vector<std::pair<std::string, size_t>>{{"a.zip>a.txt", 50}}));
  EXPECT_TRUE(findings_.findings.empty());
}

TEST_F(ChildSinkTest, RefusesADeclaredExpansionBombBeforeInflating) {
  auto sink = MakeSink();
  EXPECT_EQ(sink.Admit("bomb", 900, 10).status().code(), StatusCode::kResourceExhausted);
  ASSERT_EQ(findings_.findings.size(), 1u);
  EXPECT_EQ(findings_.findings[0].reason, "max_expansion_ratio");
  EXPECT_EQ(findings_.findings[0].object, "a.zip>bomb");
  EXPECT_EQ(findings_.findings[0].kind, FindingKind::kIncomplete);
  EXPECT_FALSE(sink.ShouldStop()) << "one refused child does not stop the container";
}

TEST_F(ChildSinkTest, RefusesAChildThatLiedAboutItsSize) {
  auto sink = MakeSink();
  ASSERT_TRUE(sink.Admit("liar", 10, 10).ok());
  EXPECT_FALSE(sink.Add("liar", std::vector<uint8_t>(1001)).ok());
  ASSERT_EQ(findings_.findings.size(), 1u);
  EXPECT_EQ(findings_.findings[0].reason, "max_layer_bytes");
  EXPECT_TRUE(children_.empty());
}

TEST_F(ChildSinkTest, StopsTheUploadAtTheTotalBytesLimit) {
  auto sink = MakeSink();
  ASSERT_TRUE(sink.Admit("one", 900, 900).ok());
  ASSERT_TRUE(sink.Add("one", std::vector<uint8_t>(900)).ok());
  EXPECT_FALSE(sink.Admit("two", 900, 900).ok());
  EXPECT_EQ(findings_.findings.at(0).reason, "max_total_bytes");
  EXPECT_TRUE(sink.ShouldStop());
}

TEST_F(ChildSinkTest, StopsTheUploadAtTheFileLimit) {
  auto sink = MakeSink();
  for (const char* name : {"one", "two"}) {
    ASSERT_TRUE(sink.Admit(name, 1, 1).ok());
    ASSERT_TRUE(sink.Add(name, std::vector<uint8_t>(1)).ok());
  }
  EXPECT_FALSE(sink.Admit("three", 1, 1).ok());
  EXPECT_EQ(findings_.findings.at(0).reason, "max_files");
  EXPECT_TRUE(sink.ShouldStop());
}

TEST_F(ChildSinkTest, StopsOnceTheDeadlinePassed) {
  auto sink = MakeSink(std::chrono::steady_clock::now() - std::chrono::seconds(1));
  EXPECT_TRUE(sink.ShouldStop());
}

TEST_F(ChildSinkTest, ReportFillsInTheParentObject) {
  auto sink = MakeSink();
  Finding f;
  f.rule = "Tollgate.Heuristic";
  sink.Report(f);
  ASSERT_EQ(findings_.findings.size(), 1u);
  EXPECT_EQ(findings_.findings[0].engine, "tollgate");
  EXPECT_EQ(findings_.findings[0].object, "a.zip");
}

}  // namespace
}  // namespace tollgate
