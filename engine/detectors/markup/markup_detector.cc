// The markup detector: web pages and SVG images that act when opened. A mail attachment opens from
// disk in the default browser, where its script runs with no warning. Three shapes from phishing
// campaigns, each one finding per layer (engine "tollgate"):
//  - Tollgate.HTML.Smuggling (high): script that builds a file in the browser and saves it: bytes
//    decoded from text (atob, fromCharCode, a Uint8Array) put in a Blob or a data: URL and saved
//    with a.download, msSaveOrOpenBlob or msSaveBlob. The file never crosses a mail filter as a file.
//  - Tollgate.SVG.Script (high): an SVG image with a <script> element or an on* event attribute.
//    Pictures need no script.
//  - Tollgate.HTML.AutoRedirect (medium): a meta refresh or an opening script that sends the browser
//    to a web site: the landing-page shape of credential phishing.
// Only script (<script> elements, on* attributes, javascript: URLs) is read for the first two, so a
// page whose text explains HTML smuggling is not one.
#include "markup_detector.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <vector>

#include "tollgate/file_names.h"
#include "tollgate/utf8.h"

namespace tollgate {
namespace {

constexpr std::string_view kName = "markup";
constexpr size_t kRules = 3;
// Pages worth reading are far smaller; the pipeline's layer limit bounds the rest.
constexpr size_t kMaxBytes = 32 << 20;

enum class Markup { kNone, kHtml, kSvg };

Markup MarkupOf(const ScanObject& object) {
  const std::string_view mime = object.type.mime;
  if (mime == "image/svg+xml") return Markup::kSvg;
  if (mime == "text/html" || mime == "application/xhtml+xml") return Markup::kHtml;
  const std::vector<std::string> extensions = Extensions(FileName(object.path.leaf()));
  if (extensions.empty() || !mime.starts_with("text/")) return Markup::kNone;
  const std::string& last = extensions.back();
  if (last == "svg") return Markup::kSvg;
  if (last == "html" || last == "htm" || last == "xhtml" || last == "hta" || last == "shtml") return Markup::kHtml;
  return Markup::kNone;
}


bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':'; }

// What a page runs and how it opens, read from its lower-cased text.
struct PageActs {
  std::string script;        // <script> contents, on* attribute values and javascript: URLs, joined
  bool has_script_element = false;
  std::string event_attribute;  // the first on* attribute, e.g. "onload"
  std::string refresh_target;   // the URL of a meta refresh
};

// The value of the attribute whose name ends at `name_end` in `tag`, and where it ends.
std::string_view AttributeValue(std::string_view tag, size_t name_end, size_t& value_end) {
  size_t i = tag.find_first_not_of(" \t\r\n", name_end);
  value_end = name_end;
  if (i == std::string_view::npos || tag[i] != '=') return {};
  i = tag.find_first_not_of(" \t\r\n", i + 1);
  if (i == std::string_view::npos) return {};
  const char quote = tag[i];
  if (quote == '"' || quote == '\'') {
    const size_t close = tag.find(quote, i + 1);
    value_end = close == std::string_view::npos ? tag.size() : close + 1;
    return tag.substr(i + 1, value_end - i - 2 + (close == std::string_view::npos ? 1 : 0));
  }
  value_end = std::min(tag.find_first_of(" \t\r\n>", i), tag.size());
  return tag.substr(i, value_end - i);
}

void ReadTag(std::string_view tag, PageActs& acts) {
  // Attributes: each name preceded by whitespace; on* values are script, javascript: URLs too.
  for (size_t i = 0; i < tag.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(tag[i])) || i + 1 >= tag.size() || !IsNameChar(tag[i + 1])) continue;
    size_t name_end = i + 1;
    while (name_end < tag.size() && IsNameChar(tag[name_end])) ++name_end;
    const std::string_view name = tag.substr(i + 1, name_end - i - 1);
    size_t value_end = name_end;
    const std::string_view value = AttributeValue(tag, name_end, value_end);
    if (name.size() > 2 && name.starts_with("on")) {
      if (acts.event_attribute.empty()) acts.event_attribute = name;
      acts.script.append(value).push_back('\n');
    } else if (value.starts_with("javascript:")) {
      acts.script.append(value).push_back('\n');
    } else if (name == "content" && tag.starts_with("<meta") && tag.find("refresh") != std::string_view::npos) {
      const size_t url = value.find("url=");
      if (url != std::string_view::npos) acts.refresh_target = value.substr(url + 4);
    }
    i = std::max(i, value_end - 1);
  }
}

PageActs ReadPage(std::string_view page) {
  PageActs acts;
  size_t at = 0;
  while ((at = page.find('<', at)) != std::string_view::npos) {
    const size_t end = std::min(page.find('>', at), page.size());
    const std::string_view tag = page.substr(at, end - at);
    ReadTag(tag, acts);
    at = end;
    if (tag.starts_with("<script") && (tag.size() == 7 || !IsNameChar(tag[7]))) {
      acts.has_script_element = true;
      const size_t close = std::min(page.find("</script", end), page.size());
      if (end < close) acts.script.append(page.substr(end + 1, close - end - 1)).push_back('\n');
      at = close;
    }
  }
  return acts;
}

bool ContainsAny(std::string_view text, std::initializer_list<std::string_view> needles, std::string& which) {
  for (std::string_view needle : needles) {
    if (text.find(needle) != std::string_view::npos) {
      which = needle;
      return true;
    }
  }
  return false;
}

// A script that sends the browser to a web site: location = 'http..., location.href = "http...,
// location.replace('http... or location.assign('http...
std::string RedirectTarget(std::string_view script) {
  for (size_t at = script.find("location"); at != std::string_view::npos; at = script.find("location", at + 1)) {
    std::string_view rest = script.substr(at + 8);
    for (std::string_view member : {".href", ".replace", ".assign"}) {
      if (rest.starts_with(member)) rest.remove_prefix(member.size());
    }
    rest.remove_prefix(std::min(rest.find_first_not_of(" \t\r\n"), rest.size()));
    if (rest.empty() || (rest.front() != '=' && rest.front() != '(')) continue;
    rest.remove_prefix(1);
    rest.remove_prefix(std::min(rest.find_first_not_of(" \t\r\n"), rest.size()));
    if (rest.empty() || (rest.front() != '\'' && rest.front() != '"' && rest.front() != '`')) continue;
    rest.remove_prefix(1);
    if (rest.starts_with("http://") || rest.starts_with("https://")) return std::string(rest.substr(0, rest.find_first_of("'\"`")));
  }
  return {};
}


std::string Bounded(std::string_view text) { return std::string(text.substr(0, 120)); }

class MarkupDetector final : public Detector {
 public:
  std::string_view Name() const override { return kName; }
  size_t RuleCount() const override { return kRules; }

  Status Scan(const ScanObject& object, const ScanContext&, FindingSink& out) const override {
    const Markup markup = MarkupOf(object);
    if (markup == Markup::kNone) return Status::Ok();
    const std::string page = AsciiLowercase(std::string_view(reinterpret_cast<const char*>(object.bytes.data()),
                                                           std::min(object.bytes.size(), kMaxBytes)));
    const PageActs acts = ReadPage(page);

    std::string decode, store, save;
    if (ContainsAny(acts.script, {"atob(", "fromcharcode", "uint8array", "base64,"}, decode) &&
        ContainsAny(acts.script, {"new blob", "createobjecturl", "data:application/"}, store) &&
        ContainsAny(acts.script, {"mssaveoropenblob", "mssaveblob", ".download"}, save)) {
      out.Add(HeuristicFinding("Tollgate.HTML.Smuggling", Severity::kHigh, object.path.ToString(),
                        "script builds a file in the browser and saves it (" + decode + ", " + store + ", " + save + ")"));
    }
    if (markup == Markup::kSvg && (acts.has_script_element || !acts.event_attribute.empty())) {
      out.Add(HeuristicFinding("Tollgate.SVG.Script", Severity::kHigh, object.path.ToString(),
                        acts.has_script_element ? "an image with a <script> element"
                                                : "an image with an " + acts.event_attribute + " event handler"));
    }
    std::string target = acts.refresh_target;
    if (!target.starts_with("http://") && !target.starts_with("https://")) target = RedirectTarget(acts.script);
    if (!target.empty()) {
      out.Add(HeuristicFinding("Tollgate.HTML.AutoRedirect", Severity::kMedium, object.path.ToString(),
                        "opens " + Bounded(target) + " by itself"));
    }
    return Status::Ok();
  }
};

}  // namespace

DetectorFactory MakeDetectorFactory_markup() {
  return {kName, [](const DetectorConfig&) -> StatusOr<std::unique_ptr<Detector>> {
            return std::unique_ptr<Detector>(std::make_unique<MarkupDetector>());
          }};
}

}  // namespace tollgate
