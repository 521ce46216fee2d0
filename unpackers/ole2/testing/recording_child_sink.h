// A ChildSink for unpacker unit tests: admits every child up to a cap and keeps what it is given,
// so a test can assert exact children and findings without the scanning pipeline.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tollgate/unpacker.h"

namespace tollgate::testing {

class RecordingChildSink final : public ChildSink {
 public:
  struct Child {
    std::string name;
    std::vector<uint8_t> bytes;
    ChildTraits traits;
  };

  explicit RecordingChildSink(ObjectPath parent, uint64_t cap = 64ull << 20) : parent_(std::move(parent)), cap_(cap) {}

  StatusOr<uint64_t> Admit(std::string_view /*name*/, uint64_t /*declared*/, uint64_t /*stored*/) override {
    return cap_;
  }
  Status Add(std::string_view name, std::vector<uint8_t> bytes, const ChildTraits& traits) override {
    if (bytes.size() > cap_) return ResourceExhausted("child over the test cap");
    children.push_back({std::string(name), std::move(bytes), traits});
    return Status::Ok();
  }
  using ChildSink::Add;
  void Report(Finding finding) override {
    if (finding.engine.empty()) finding.engine = "tollgate";
    if (finding.object.empty()) finding.object = parent_.ToString();
    findings.push_back(std::move(finding));
  }
  const std::vector<std::string>& Passwords() const override { return passwords; }
  bool ShouldStop() const override { return false; }

  std::vector<std::string> ChildNames() const {
    std::vector<std::string> names;
    for (const Child& child : children) names.push_back(child.name);
    return names;
  }
  // The bytes of each child named `name`, in the order they came.
  std::vector<std::string> ChildTexts(std::string_view name) const {
    std::vector<std::string> texts;
    for (const Child& child : children) {
      if (child.name == name) texts.emplace_back(child.bytes.begin(), child.bytes.end());
    }
    return texts;
  }
  // The bytes of the first child named `name`; empty if there is none.
  std::string ChildText(std::string_view name) const {
    const std::vector<std::string> texts = ChildTexts(name);
    return texts.empty() ? std::string() : texts.front();
  }
  // Every finding as "rule severity object".
  std::vector<std::string> FindingSummaries() const {
    std::vector<std::string> summaries;
    for (const Finding& f : findings)
      summaries.push_back(f.rule + " " + std::string(ToString(f.severity)) + " " + f.object);
    return summaries;
  }

  std::vector<Child> children;
  std::vector<Finding> findings;
  std::vector<std::string> passwords;  // what Passwords() offers the unpacker

 private:
  ObjectPath parent_;
  uint64_t cap_;
};

}  // namespace tollgate::testing
