#include "tollgate/policy.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

namespace tollgate {

extern const std::string_view kDefaultPolicyToml;

namespace {

constexpr std::array<Verdict, 4> kVerdicts = {Verdict::kClean, Verdict::kSuspicious, Verdict::kMalicious,
                                              Verdict::kIncomplete};
constexpr std::array<Severity, 4> kSeverities = {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh};

int Rank(Verdict verdict) {
  switch (verdict) {
    case Verdict::kClean: return 0;
    case Verdict::kSuspicious: return 1;
    case Verdict::kIncomplete: return 2;  // not fully scanned outweighs a weak signal
    case Verdict::kMalicious: return 3;
  }
  return 3;
}

// '*' matches any run of characters; everything else matches itself.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern.front() == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (GlobMatch(pattern.substr(1), text.substr(skip))) return true;
    }
    return false;
  }
  return !text.empty() && pattern.front() == text.front() && GlobMatch(pattern.substr(1), text.substr(1));
}

struct Override {
  std::optional<std::string> engine, rule, reason;
  std::optional<Severity> severity;
  std::optional<FindingKind> category;
  Verdict verdict = Verdict::kClean;

  bool Matches(const Finding& f) const {
    return (!engine || *engine == f.engine) && (!rule || GlobMatch(*rule, f.rule)) &&
           (!reason || *reason == f.reason) && (!severity || *severity == f.severity) &&
           (!category || *category == f.kind);
  }
};

struct PolicySettings {
  std::string name;
  std::array<Verdict, 4> by_severity{Verdict::kClean, Verdict::kSuspicious, Verdict::kSuspicious, Verdict::kMalicious};
  std::array<Action, 4> action{Action::kAllow, Action::kBlock, Action::kBlock, Action::kBlock};
  std::set<std::string, std::less<>> allowed_incomplete_reasons;
  std::vector<Override> overrides;
};

class ConfiguredPolicy final : public Policy {
 public:
  explicit ConfiguredPolicy(PolicySettings settings) : settings_(std::move(settings)) {}
  std::string_view name() const override { return settings_.name; }

  Decision Decide(const std::vector<Finding>& findings) const override {
    std::vector<Verdict> asked;
    asked.reserve(findings.size());
    Decision decision;
    for (const Finding& finding : findings) {
      asked.push_back(VerdictFor(finding));
      if (Rank(asked.back()) > Rank(decision.verdict)) decision.verdict = asked.back();
    }
    for (size_t i = 0; i < findings.size(); ++i) {
      if (decision.verdict != Verdict::kClean && asked[i] == decision.verdict) decision.deciding.push_back(i);
    }
    decision.action = settings_.action[static_cast<size_t>(decision.verdict)];
    if (decision.verdict == Verdict::kIncomplete) {
      const bool all_allowed = std::all_of(decision.deciding.begin(), decision.deciding.end(), [&](size_t i) {
        return settings_.allowed_incomplete_reasons.contains(findings[i].reason);
      });
      if (all_allowed) decision.action = Action::kAllow;
    }
    return decision;
  }


 private:
  Verdict VerdictFor(const Finding& finding) const {
    for (const Override& o : settings_.overrides) {
      if (o.Matches(finding)) return o.verdict;
    }
    if (finding.kind == FindingKind::kIncomplete) return Verdict::kIncomplete;
    return settings_.by_severity[static_cast<size_t>(finding.severity)];
  }

  PolicySettings settings_;
};

// Reads TOML values into a policy, naming the offending key in every error.
class PolicyReader {
 public:
  explicit PolicyReader(std::string_view source) : source_(source) {}

  Status Error(std::string_view key, std::string_view what) const {
    return InvalidArgument(std::string(source_) + ": " + std::string(key) + ": " + std::string(what));
  }

  template <typename Enum, size_t N>
  StatusOr<Enum> ReadEnum(const toml::node& node, std::string_view key, const std::array<Enum, N>& values) const {
    const std::optional<std::string_view> text = node.value<std::string_view>();
    if (text) {
      for (Enum value : values) {
        if (ToString(value) == *text) return value;
      }
    }
    std::string allowed;
    for (Enum value : values) allowed += (allowed.empty() ? "" : "|") + std::string(ToString(value));
    return Error(key, "expected one of " + allowed);
  }

  Status CheckKeys(const toml::table& table, std::string_view where, std::initializer_list<std::string_view> keys) const {
    for (const auto& [key, node] : table) {
      if (std::find(keys.begin(), keys.end(), std::string_view(key.str())) == keys.end()) {
        return Error(std::string(where) + std::string(where.empty() ? "" : ".") + std::string(key.str()), "unknown key");
      }
    }
    return Status::Ok();
  }

  StatusOr<Override> ReadOverride(const toml::table& table, std::string_view where) const {
    TOLLGATE_RETURN_IF_ERROR(CheckKeys(table, where, {"engine", "rule", "reason", "severity", "category", "verdict"}));
    Override o;
    for (auto [key, field] : {std::pair{"engine", &o.engine}, {"rule", &o.rule}, {"reason", &o.reason}}) {
      if (const toml::node* node = table.get(key)) {
        if (!node->is_string()) return Error(std::string(where) + "." + key, "expected a string");
        *field = node->value<std::string>().value();
      }
    }
    if (const toml::node* node = table.get("severity")) {
      auto severity = ReadEnum(*node, std::string(where) + ".severity", kSeverities);
      if (!severity.ok()) return severity.status();
      o.severity = *severity;
    }
    if (const toml::node* node = table.get("category")) {
      auto category = ReadEnum(*node, std::string(where) + ".category",
                               std::array{FindingKind::kSignature, FindingKind::kHeuristic, FindingKind::kIncomplete});
      if (!category.ok()) return category.status();
      o.category = *category;
    }
    const toml::node* verdict = table.get("verdict");
    if (verdict == nullptr) return Error(std::string(where) + ".verdict", "missing");
    auto parsed = ReadEnum(*verdict, std::string(where) + ".verdict", kVerdicts);
    if (!parsed.ok()) return parsed.status();
    o.verdict = *parsed;
    return o;
  }

  StatusOr<std::unique_ptr<Policy>> Read(const toml::table& root) const {
    TOLLGATE_RETURN_IF_ERROR(CheckKeys(root, "", {"name", "severity", "action", "incomplete", "override"}));
    PolicySettings policy;
    const std::optional<std::string> name = root["name"].value<std::string>();
    if (!name || name->empty()) return Error("name", "missing: a policy needs a name");
    policy.name = *name;
    if (const toml::table* table = root["severity"].as_table()) {
      TOLLGATE_RETURN_IF_ERROR(CheckKeys(*table, "severity", {"info", "low", "medium", "high"}));
      for (Severity severity : kSeverities) {
        if (const toml::node* node = table->get(ToString(severity))) {
          auto verdict = ReadEnum(*node, "severity." + std::string(ToString(severity)), kVerdicts);
          if (!verdict.ok()) return verdict.status();
          policy.by_severity[static_cast<size_t>(severity)] = *verdict;
        }
      }
    }
    if (const toml::table* table = root["action"].as_table()) {
      TOLLGATE_RETURN_IF_ERROR(CheckKeys(*table, "action", {"clean", "suspicious", "malicious", "incomplete"}));
      for (Verdict verdict : kVerdicts) {
        if (const toml::node* node = table->get(ToString(verdict))) {
          auto action = ReadEnum(*node, "action." + std::string(ToString(verdict)), std::array{Action::kAllow, Action::kBlock});
          if (!action.ok()) return action.status();
          policy.action[static_cast<size_t>(verdict)] = *action;
        }
      }
    }
    if (const toml::table* table = root["incomplete"].as_table()) {
      for (const auto& [reason, node] : *table) {
        auto action = ReadEnum(node, "incomplete." + std::string(reason.str()), std::array{Action::kAllow, Action::kBlock});
        if (!action.ok()) return action.status();
        if (*action == Action::kAllow) policy.allowed_incomplete_reasons.insert(std::string(reason.str()));
      }
    }
    if (const toml::node* overrides = root.get("override")) {
      const toml::array* list = overrides->as_array();
      if (list == nullptr) return Error("override", "expected [[override]] tables");
      for (size_t i = 0; i < list->size(); ++i) {
        const std::string where = "override[" + std::to_string(i) + "]";
        const toml::table* table = (*list)[i].as_table();
        if (table == nullptr) return Error(where, "expected a table");
        auto o = ReadOverride(*table, where);
        if (!o.ok()) return o.status();
        policy.overrides.push_back(std::move(*o));
      }
    }
    return std::unique_ptr<Policy>(std::make_unique<ConfiguredPolicy>(std::move(policy)));
  }

 private:
  std::string_view source_;
};

}  // namespace

StatusOr<std::unique_ptr<Policy>> ParsePolicy(std::string_view toml_text, std::string_view source) {
  try {
    const toml::table root = toml::parse(toml_text, source);
    return PolicyReader(source).Read(root);
  } catch (const toml::parse_error& error) {
    std::ostringstream message;
    message << source << ":" << error.source().begin.line << ": " << error.description();
    return InvalidArgument(message.str());
  }
}

StatusOr<std::unique_ptr<Policy>> LoadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read policy file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return ParsePolicy(text.str(), path);
}

const Policy& DefaultPolicy() {
  static const std::unique_ptr<Policy> policy = [] {
    auto parsed = ParsePolicy(kDefaultPolicyToml, "rules/policies/documents.toml");
    // The file is compiled in and tested; failing here is a build defect, not a user error.
    if (!parsed.ok()) std::abort();
    return std::move(*parsed);
  }();
  return *policy;
}

}  // namespace tollgate
