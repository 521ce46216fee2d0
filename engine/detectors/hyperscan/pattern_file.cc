#include "hyperscan/pattern_file.h"

#include <hs/hs.h>

#include <algorithm>
#include <optional>

namespace tollgate::hyperscan {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n\v\f";

struct FlagLetter {
  char letter;
  unsigned int flag;
};
constexpr FlagLetter kFlagLetters[] = {
    {'i', HS_FLAG_CASELESS}, {'s', HS_FLAG_DOTALL}, {'m', HS_FLAG_MULTILINE}};

std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kWhitespace) - first + 1);
}

// Removes the leading run of non-whitespace from `rest` (returned) and the whitespace after it.
std::string_view TakeToken(std::string_view& rest) {
  const size_t end = std::min(rest.find_first_of(kWhitespace), rest.size());
  const std::string_view token = rest.substr(0, end);
  rest.remove_prefix(end);
  rest.remove_prefix(std::min(rest.find_first_not_of(kWhitespace), rest.size()));
  return token;
}

// Spelled out rather than std::isalnum: locale-independent and defined for every char value.
bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Parses one trimmed, non-empty, non-comment line. The error message lacks the "file:line: " prefix.
StatusOr<Pattern> ParseLine(std::string_view rest) {
  Pattern pattern;

  const std::string_view name = TakeToken(rest);
  if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
    return InvalidArgument("invalid signature name " + Quoted(name) +
                           ": use only letters, digits, '_', '.', ':' and '-'");
  }
  pattern.name = name;

  if (rest.empty()) return InvalidArgument("missing severity after signature name " + Quoted(name));
  const std::string_view severity_text = TakeToken(rest);
  const std::optional<Severity> severity = ParseSeverity(severity_text);
  if (!severity || *severity == Severity::kInfo) {
    return InvalidArgument("invalid severity " + Quoted(severity_text) + ": expected low, medium or high");
  }
  pattern.severity = *severity;

  if (rest.empty()) return InvalidArgument("missing /REGEX/ after the severity");
  if (rest.front() != '/') return InvalidArgument("expected '/' to start the regex, found " + Quoted(rest));
  const size_t closing = rest.rfind('/');
  if (closing == 0) return InvalidArgument("regex has no closing '/'");
  if (closing == 1) return InvalidArgument("empty regex");
  pattern.regex = rest.substr(1, closing - 1);

  std::string_view after = rest.substr(closing + 1);
  const std::string_view letters = TakeToken(after);
  for (const char letter : letters) {
    const auto* known = std::find_if(std::begin(kFlagLetters), std::end(kFlagLetters),
                                     [letter](const FlagLetter& f) { return f.letter == letter; });
    if (known == std::end(kFlagLetters)) {
      return InvalidArgument("unknown flag " + Quoted(std::string_view(&letter, 1)) + ": expected i, s or m");
    }
    if ((pattern.flags & known->flag) != 0) {
      return InvalidArgument("flag " + Quoted(std::string_view(&letter, 1)) + " given twice");
    }
    pattern.flags |= known->flag;
  }
  while (!after.empty()) {
    const std::string_view word = TakeToken(after);
    if (word != "not-prose") return InvalidArgument("unknown option " + Quoted(word) + ": expected not-prose");
    if (pattern.skip_prose) return InvalidArgument("option \"not-prose\" given twice");
    pattern.skip_prose = true;
  }
  return pattern;
}

}  // namespace

std::string Location(std::string_view file, size_t line) { return std::string(file) + ":" + std::to_string(line); }

StatusOr<std::vector<Pattern>> ParsePatternFile(std::string_view file, std::string_view text) {
  std::vector<Pattern> patterns;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t newline = std::min(text.find('\n'), text.size());
    const std::string_view line = Trim(text.substr(0, newline));
    text.remove_prefix(std::min(newline + 1, text.size()));
    if (line.empty() || line.front() == '#') continue;

    StatusOr<Pattern> pattern = ParseLine(line);
    if (!pattern.ok()) {
      return InvalidArgument(Location(file, line_number) + ": " + pattern.status().message());
    }
    pattern->file = file;
    pattern->line = line_number;
    patterns.push_back(std::move(pattern).value());
  }
  return patterns;
}

}  // namespace tollgate::hyperscan
