// Hyperscan pattern files: one signature per line, `NAME SEVERITY /REGEX/FLAGS`.
//
// Users write these files, so the format is a contract:
//   - `#` (after optional whitespace) starts a comment line; blank lines are ignored; leading and
//     trailing whitespace of every line is ignored.
//   - NAME is [A-Za-z0-9_.:-]+; SEVERITY is `low`, `medium` or `high`; the three parts are separated
//     by whitespace.
//   - REGEX is everything between the first '/' after the severity and the LAST '/' on the line, so
//     it may contain '/' and spaces. FLAGS follow the last '/': zero or more of `i` (caseless),
//     `s` (dot matches newline), `m` (multi-line anchors), each at most once.
//   - Then, after whitespace, optional words: `not-prose` keeps the pattern off layers whose words
//     are read, not run (ScanObject::prose): a keyword that is an attack in a script is a topic
//     in an incident report.
// Any violation is an InvalidArgument "file:line: what is wrong". Names must be unique across all
// files; that check belongs to whoever combines the files (CompileHyperscanDetector).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/status.h"
#include "tollgate/verdict.h"

namespace tollgate::hyperscan {

struct Pattern {
  std::string name;
  Severity severity = Severity::kHigh;
  std::string regex;
  unsigned int flags = 0;  // HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE
  bool skip_prose = false;  // `not-prose`
  std::string file;        // where it was written, for error messages
  size_t line = 0;         // 1-based
};

// "file:line", the prefix of every message about a line of a pattern file.
std::string Location(std::string_view file, size_t line);

// Parses the text of one pattern file; `file` only names it in messages and in Pattern::file.
StatusOr<std::vector<Pattern>> ParsePatternFile(std::string_view file, std::string_view text);

}  // namespace tollgate::hyperscan
