#include "package_analysis.h"

#include <fmt/format.h>
#include <libxml/xmlreader.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <set>

#include "tollgate/status.h"
#include "xml_nodes.h"

namespace tollgate::ooxml {
namespace {

constexpr std::string_view kRelationshipsNamespace = "http://schemas.openxmlformats.org/package/2006/relationships";
constexpr std::array<std::string_view, 2> kWordNamespaces = {
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",  // transitional
    "http://purl.oclc.org/ooxml/wordprocessingml/main",              // strict
};
// What a part is to Office, from its name or from a relationship pointing to it.
enum PartRole : unsigned { kVbaProject = 1, kActiveX = 2, kEmbeddedOle = 4 };

// Only the field's name decides; an instruction's first characters hold it.
constexpr size_t kFieldNameChars = 64;
// Word's own documents nest fields a few levels deep; fields beyond this depth are counted, not
// read, so memory stays bounded whatever the part holds.
constexpr size_t kMaxOpenFields = 4096;

struct XmlFree {
  void operator()(xmlChar* text) const { xmlFree(text); }
};
using XmlText = std::unique_ptr<xmlChar, XmlFree>;

std::string Lowercase(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

constexpr std::string_view kAsciiSpace = " \t\r\n";

std::string_view TrimAsciiSpace(std::string_view text) {
  text.remove_prefix(std::min(text.size(), text.find_first_not_of(kAsciiSpace)));
  return text.substr(0, text.find_last_not_of(kAsciiSpace) + 1);
}

std::string_view AsView(const xmlChar* text) {
  return text == nullptr ? std::string_view{} : std::string_view(reinterpret_cast<const char*>(text));
}

std::string Attribute(xmlTextReader* reader, const char* name, std::string_view name_space = {}) {
  const XmlText value(name_space.empty() ? xmlTextReaderGetAttribute(reader, reinterpret_cast<const xmlChar*>(name))
                                         : xmlTextReaderGetAttributeNs(
                                               reader, reinterpret_cast<const xmlChar*>(name),
                                               reinterpret_cast<const xmlChar*>(std::string(name_space).c_str())));
  return std::string(AsView(value.get()));
}

// Attacker-chosen identifiers (relationship ids and types) as they may appear in a detail.
std::string ShortIdentifier(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) {
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ? c : '?';
  }
  return out;
}

bool Contains(std::span<const uint8_t> bytes, std::string_view needle) {
  return std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end()) != bytes.end();
}

// Word's field instructions and the DDE fields among them. A complex field's instruction is the
// text of every instrText run between its begin and separate (or end) marks; fields nest.
class FieldScanner {
 public:
  void Visit(xmlTextReader* reader) {
    const int type = xmlTextReaderNodeType(reader);
    const std::string_view name = AsView(xmlTextReaderConstLocalName(reader));
    const std::string_view name_space = AsView(xmlTextReaderConstNamespaceUri(reader));
    const bool word = std::find(kWordNamespaces.begin(), kWordNamespaces.end(), name_space) != kWordNamespaces.end();
    if (type == XML_READER_TYPE_ELEMENT && word) {
      if (name == "fldChar") OnFieldMark(Attribute(reader, "fldCharType", name_space));
      if (name == "instrText") in_instruction_ = !xmlTextReaderIsEmptyElement(reader);
      if (name == "fldSimple") Evaluate(Attribute(reader, "instr", name_space));
    } else if (type == XML_READER_TYPE_END_ELEMENT && word && name == "instrText") {
      in_instruction_ = false;
    } else if (in_instruction_ && untracked_fields_ == 0 && !open_fields_.empty() &&
               (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA || type == XML_READER_TYPE_WHITESPACE ||
                type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE)) {
      std::string& instruction = open_fields_.back().instruction;
      // Leading blanks are dropped as they come, so padding cannot push the name past the cap.
      std::string_view text = AsView(xmlTextReaderConstValue(reader));
      if (instruction.empty()) text.remove_prefix(std::min(text.size(), text.find_first_not_of(kAsciiSpace)));
      instruction.append(text.substr(0, kFieldNameChars - std::min(kFieldNameChars, instruction.size())));
    }
  }

  // "DDE" and/or "DDEAUTO", for the fields found.
  const std::set<std::string>& dde_fields() const { return dde_fields_; }

 private:
  struct OpenField {
    std::string instruction;
    bool evaluated = false;
  };

  void OnFieldMark(std::string_view mark) {
    if (mark == "begin") {
      if (open_fields_.size() < kMaxOpenFields) {
        open_fields_.push_back({});
      } else {
        ++untracked_fields_;
      }
    } else if (mark == "end" && untracked_fields_ > 0) {
      --untracked_fields_;
    } else if ((mark == "separate" || mark == "end") && untracked_fields_ == 0 && !open_fields_.empty()) {
      OpenField& field = open_fields_.back();
      if (!field.evaluated) Evaluate(field.instruction);
      field.evaluated = true;
      if (mark == "end") open_fields_.pop_back();
    }
  }

  void Evaluate(std::string_view instruction) {
    instruction = TrimAsciiSpace(instruction);
    const std::string field_name(instruction.substr(0, instruction.find_first_of(" \t\r\n\"\\")));
    std::string upper = field_name;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper == "DDE" || upper == "DDEAUTO") dde_fields_.insert(upper);
  }

  std::vector<OpenField> open_fields_;
  size_t untracked_fields_ = 0;  // open beyond kMaxOpenFields
  bool in_instruction_ = false;
  std::set<std::string> dde_fields_;
};

bool IsRelationshipElement(xmlTextReader* reader) {
  return xmlTextReaderNodeType(reader) == XML_READER_TYPE_ELEMENT &&
         AsView(xmlTextReaderConstLocalName(reader)) == "Relationship" &&
         AsView(xmlTextReaderConstNamespaceUri(reader)) == kRelationshipsNamespace;
}

// The last segment of a relationship's Type URI: "attachedTemplate", "hyperlink", ...
std::string RelationshipType(xmlTextReader* reader) {
  const std::string type = Attribute(reader, "Type");
  return type.substr(type.find_last_of('/') + 1);
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return segments;
}

// Roles a part's name alone gives it (the way Office itself names these parts).
unsigned RolesByName(std::string_view lower_name) {
  const std::vector<std::string_view> segments = Segments(lower_name);
  if (segments.empty()) return 0;
  const std::string_view leaf = segments.back();
  const auto in_folder = [&](std::string_view folder) {
    return std::find(segments.begin(), segments.end() - 1, folder) != segments.end() - 1;
  };
  unsigned roles = 0;
  if (leaf == "vbaproject.bin") roles |= kVbaProject;
  if (in_folder("activex") && !in_folder("_rels") && leaf.ends_with(".xml")) roles |= kActiveX;
  if (in_folder("embeddings") && leaf.starts_with("oleobject") && leaf.ends_with(".bin")) roles |= kEmbeddedOle;
  return roles;
}

std::string_view DescribeTarget(TargetKind kind) {
  switch (kind) {
    case TargetKind::kLocalFile: return "a local file";
    case TargetKind::kRemoteFile: return "a file on another host (UNC)";
    case TargetKind::kOtherScheme: return "a non-web URI scheme";
    case TargetKind::kWeb: return "a web address";
    case TargetKind::kMail: return "a mail address";
    case TargetKind::kRelative: return "a path relative to the document";
  }
  return "an unknown target";
}

// UTF-16 parts would hide the element names from a byte search; they are always parsed.
bool MayHoldFields(std::span<const uint8_t> bytes) {
  const bool utf16 = bytes.size() >= 2 && (bytes[0] == 0 || bytes[1] == 0 || (bytes[0] == 0xFF && bytes[1] == 0xFE) ||
                                           (bytes[0] == 0xFE && bytes[1] == 0xFF));
  return utf16 || Contains(bytes, "instrText") || Contains(bytes, "fldSimple");
}

}  // namespace

TargetKind ClassifyExternalTarget(std::string_view target) {
  target = TrimAsciiSpace(target);
  if (target.starts_with("\\\\") || target.starts_with("//")) return TargetKind::kRemoteFile;
  if (target.size() >= 2 && std::isalpha(static_cast<unsigned char>(target[0])) && target[1] == ':') {
    return TargetKind::kLocalFile;  // a drive letter
  }
  const size_t colon = target.find(':');
  const std::string scheme = Lowercase(target.substr(0, colon));
  const bool is_scheme =
      colon != std::string_view::npos && !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme[0])) &&
      std::all_of(scheme.begin(), scheme.end(),
                  [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; });
  if (!is_scheme) return TargetKind::kRelative;
  if (scheme == "http" || scheme == "https") return TargetKind::kWeb;
  if (scheme == "mailto") return TargetKind::kMail;
  if (scheme != "file") return TargetKind::kOtherScheme;
  // file://host/share and file:////host/share (Windows reads four or more slashes as UNC) name
  // another host; file:///C:/..., file:/C:/... and file://localhost/ this one.
  std::string_view rest = target.substr(colon + 1);
  size_t slashes = 0;
  while (slashes < rest.size() && (rest[slashes] == '/' || rest[slashes] == '\\')) ++slashes;
  if (slashes >= 4) return TargetKind::kRemoteFile;
  if (slashes != 2) return TargetKind::kLocalFile;
  rest.remove_prefix(slashes);
  const std::string host = Lowercase(rest.substr(0, rest.find_first_of("/\\")));
  const bool drive = host.size() == 2 && host[1] == ':';
  return host.empty() || host == "localhost" || drive ? TargetKind::kLocalFile : TargetKind::kRemoteFile;
}

std::string ResolveInternalTarget(std::string_view relationships_part, std::string_view target) {
  const size_t rels_folder = relationships_part.rfind("_rels/");
  const std::string_view source_folder =
      rels_folder == std::string_view::npos ? std::string_view{} : relationships_part.substr(0, rels_folder);
  target = target.substr(0, target.find('#'));
  const std::string path =
      target.starts_with('/') ? std::string(target.substr(1)) : std::string(source_folder) + std::string(target);
  std::vector<std::string_view> resolved;
  for (std::string_view segment : Segments(path)) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (resolved.empty()) return {};
      resolved.pop_back();
      continue;
    }
    resolved.push_back(segment);
  }
  std::string joined;
  for (std::string_view segment : resolved) joined += (joined.empty() ? "" : "/") + std::string(segment);
  return joined;
}

void PackageAnalysis::NotePart(std::string_view name) {
  const std::string lower = Lowercase(name);
  parts_.emplace(lower, std::string(name));
  if (const unsigned roles = RolesByName(lower)) roles_[lower] |= roles;
}

void PackageAnalysis::InspectPart(std::string_view name, std::span<const uint8_t> bytes) {
  const std::string lower = Lowercase(name);
  if (lower.ends_with(".rels")) {
    InspectRelationships(name, bytes);
  } else if (lower.ends_with(".xml") && MayHoldFields(bytes)) {
    InspectFields(name, bytes);
  }
}

void PackageAnalysis::InspectRelationships(std::string_view name, std::span<const uint8_t> bytes) {
  // One finding per rule and part: the first relationship that shows it, and how many more do.
  struct Occurrences {
    Severity severity = Severity::kInfo;
    std::string first;
    size_t count = 0;
  };
  std::map<std::string, Occurrences> by_rule;
  const auto note = [&](std::string rule, Severity severity, std::string detail) {
    Occurrences& occurrences = by_rule[std::move(rule)];
    if (++occurrences.count == 1) {
      occurrences.severity = severity;
      occurrences.first = std::move(detail);
    }
  };
  const Status status = ForEachXmlNode(bytes, [&](xmlTextReader* reader) {
    if (!IsRelationshipElement(reader)) return;
    const std::string type = RelationshipType(reader);
    const std::string target = Attribute(reader, "Target");
    if (Lowercase(Attribute(reader, "TargetMode")) != "external") {
      const std::string part = Lowercase(ResolveInternalTarget(name, target));
      if (part.empty()) return;
      if (type == "vbaProject") roles_[part] |= kVbaProject;
      if (type == "control") roles_[part] |= kActiveX;
      if (type == "oleObject") roles_[part] |= kEmbeddedOle;
      return;
    }
    const TargetKind kind = ClassifyExternalTarget(target);
    const std::string id = ShortIdentifier(Attribute(reader, "Id"));
    if (type == "attachedTemplate") {
      if (kind == TargetKind::kWeb || kind == TargetKind::kRemoteFile || kind == TargetKind::kOtherScheme) {
        note("Tollgate.OOXML.ExternalTemplate", Severity::kHigh,
             fmt::format("relationship {} loads the document's template from {} (remote template injection)", id,
                         DescribeTarget(kind)));
      }
    } else if (type == "oleObject") {
      note("Tollgate.OOXML.ExternalOleObject", Severity::kHigh,
           fmt::format("relationship {} links an OLE object from {}", id, DescribeTarget(kind)));
    } else if (type == "frame") {
      note("Tollgate.OOXML.ExternalFrame", Severity::kMedium,
           fmt::format("relationship {} loads a frame from {}", id, DescribeTarget(kind)));
    } else if (kind == TargetKind::kLocalFile || kind == TargetKind::kRemoteFile || kind == TargetKind::kOtherScheme) {
      note("Tollgate.OOXML.ExternalNonWebTarget", Severity::kMedium,
           fmt::format("{} relationship {} points to {}", ShortIdentifier(type), id, DescribeTarget(kind)));
    }
  });
  // What was read before a fault still counts.
  if (!status.ok()) {
    findings_.push_back(IncompleteFinding("tollgate", "parse_error", package_.Child(name),
                                          "OOXML relationships part: " + status.message()));
  }
  for (auto& [rule, occurrences] : by_rule) {
    Report(name, rule, occurrences.severity,
           occurrences.count == 1 ? std::move(occurrences.first)
                                  : fmt::format("{} (and {} more)", occurrences.first, occurrences.count - 1));
  }
}

void PackageAnalysis::InspectFields(std::string_view name, std::span<const uint8_t> bytes) {
  FieldScanner fields;
  Status status = ForEachXmlNode(bytes, [&](xmlTextReader* reader) { fields.Visit(reader); });
  if (!status.ok()) {
    findings_.push_back(
        IncompleteFinding("tollgate", "parse_error", package_.Child(name), "OOXML part: " + status.message()));
  }
  for (const std::string& field : fields.dde_fields()) {
    Report(name, "Tollgate.OOXML.DDEField", Severity::kHigh,
           fmt::format("{} field: the document starts another program through DDE", field));
  }
}

void PackageAnalysis::Report(std::string_view part, std::string rule, Severity severity, std::string detail) {
  Finding& finding = findings_.emplace_back();
  finding.engine = "tollgate";
  finding.rule = std::move(rule);
  finding.severity = severity;
  finding.kind = FindingKind::kHeuristic;
  finding.object = package_.Child(part).ToString();
  finding.detail = std::move(detail);
}

std::vector<Finding> PackageAnalysis::TakeFindings() {
  for (const auto& [lower, roles] : roles_) {
    const auto part = parts_.find(lower);
    if (part == parts_.end()) continue;  // a relationship to a part the package lacks loads nothing
    if (roles & kVbaProject) {
      Report(part->second, "Tollgate.OOXML.VBAProject", Severity::kMedium, "VBA project part: the document has macros");
    }
    if (roles & kActiveX) Report(part->second, "Tollgate.OOXML.ActiveX", Severity::kMedium, "ActiveX control part");
    if (roles & kEmbeddedOle) {
      Report(part->second, "Tollgate.OOXML.EmbeddedOleObject", Severity::kLow, "embedded OLE object part");
    }
  }
  roles_.clear();
  return std::move(findings_);
}

}  // namespace tollgate::ooxml
