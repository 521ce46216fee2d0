#include "hyperscan/pattern_file.h"

#include <gtest/gtest.h>
#include <hs/hs.h>

#include <string>
#include <vector>

namespace tollgate::hyperscan {
namespace {

std::vector<Pattern> ParseOk(std::string_view text) {
  StatusOr<std::vector<Pattern>> parsed = ParsePatternFile("sigs.txt", text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : std::vector<Pattern>{};
}

Status ParseError(std::string_view text) {
  StatusOr<std::vector<Pattern>> parsed = ParsePatternFile("sigs.txt", text);
  EXPECT_FALSE(parsed.ok()) << "parsed " << parsed->size() << " patterns";
  return parsed.status();
}

void ExpectPattern(const Pattern& p, std::string_view name, Severity severity, std::string_view regex,
                   unsigned int flags, size_t line) {
  EXPECT_EQ(p.name, name);
  EXPECT_EQ(p.severity, severity);
  EXPECT_EQ(p.regex, regex);
  EXPECT_EQ(p.flags, flags);
  EXPECT_EQ(p.file, "sigs.txt");
  EXPECT_EQ(p.line, line);
}

TEST(HyperscanPatternFile, ParsesValidLinesWithCommentsAndBlankLines) {
  const std::vector<Pattern> patterns = ParseOk(
      "# leading comment\n"
      "Doc.Macro:AutoOpen-1 high /AutoOpen/\n"
      "\n"
      "   \t\n"
      "  # indented comment\n"
      "\tPDF_JS   medium\t/\\/JavaScript\\s*\\(/i  \r\n"
      "weak_1 low /a.b/sm\n"
      "last high /x{3}/mi");  // no trailing newline
  ASSERT_EQ(patterns.size(), 4u);
  ExpectPattern(patterns[0], "Doc.Macro:AutoOpen-1", Severity::kHigh, "AutoOpen", 0, 2);
  ExpectPattern(patterns[1], "PDF_JS", Severity::kMedium, "\\/JavaScript\\s*\\(", HS_FLAG_CASELESS, 6);
  ExpectPattern(patterns[2], "weak_1", Severity::kLow, "a.b", HS_FLAG_DOTALL | HS_FLAG_MULTILINE, 7);
  ExpectPattern(patterns[3], "last", Severity::kHigh, "x{3}", HS_FLAG_MULTILINE | HS_FLAG_CASELESS, 8);
}

TEST(HyperscanPatternFile, RegexRunsToTheLastSlashAndKeepsSlashesAndSpaces) {
  const std::vector<Pattern> patterns = ParseOk(
      "url high /http://evil.example/x y/i\n"
      "path low /a/b/\n"
      "spaces medium / a  b /\n");
  ASSERT_EQ(patterns.size(), 3u);
  ExpectPattern(patterns[0], "url", Severity::kHigh, "http://evil.example/x y", HS_FLAG_CASELESS, 1);
  ExpectPattern(patterns[1], "path", Severity::kLow, "a/b", 0, 2);
  ExpectPattern(patterns[2], "spaces", Severity::kMedium, " a  b ", 0, 3);
}

TEST(HyperscanPatternFile, NotProseFollowsTheFlags) {
  const std::vector<Pattern> patterns = ParseOk(
      "cradle high /powershell/i not-prose\n"
      "bare medium /certutil/ not-prose\n"
      "slash low /a/b/\tnot-prose  \n"
      "everywhere high /eicar/i\n");
  ASSERT_EQ(patterns.size(), 4u);
  ExpectPattern(patterns[0], "cradle", Severity::kHigh, "powershell", HS_FLAG_CASELESS, 1);
  ExpectPattern(patterns[1], "bare", Severity::kMedium, "certutil", 0, 2);
  ExpectPattern(patterns[2], "slash", Severity::kLow, "a/b", 0, 3);
  ExpectPattern(patterns[3], "everywhere", Severity::kHigh, "eicar", HS_FLAG_CASELESS, 4);
  EXPECT_TRUE(patterns[0].skip_prose);
  EXPECT_TRUE(patterns[1].skip_prose);
  EXPECT_TRUE(patterns[2].skip_prose);
  EXPECT_FALSE(patterns[3].skip_prose);
}

TEST(HyperscanPatternFile, EmptyAndCommentOnlyFilesHaveNoPatterns) {
  EXPECT_TRUE(ParseOk("").empty());
  EXPECT_TRUE(ParseOk("\n\n# nothing here\n   \n").empty());
}

TEST(HyperscanPatternFile, ReportsEachErrorWithFileAndLine) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"ok high /a/\nbad!name high /a/", "sigs.txt:2: invalid signature name \"bad!name\": use only letters, digits, '_', '.', ':' and '-'"},
      {"/abc/", "sigs.txt:1: invalid signature name \"/abc/\": use only letters, digits, '_', '.', ':' and '-'"},
      {"# c\n\nlonely", "sigs.txt:3: missing severity after signature name \"lonely\""},
      {"name critical /a/", "sigs.txt:1: invalid severity \"critical\": expected low, medium or high"},
      {"name info /a/", "sigs.txt:1: invalid severity \"info\": expected low, medium or high"},
      {"name HIGH /a/", "sigs.txt:1: invalid severity \"HIGH\": expected low, medium or high"},
      {"name high/a/", "sigs.txt:1: invalid severity \"high/a/\": expected low, medium or high"},
      {"name high", "sigs.txt:1: missing /REGEX/ after the severity"},
      {"name high   ", "sigs.txt:1: missing /REGEX/ after the severity"},
      {"name high abc/", "sigs.txt:1: expected '/' to start the regex, found \"abc/\""},
      {"name high /abc", "sigs.txt:1: regex has no closing '/'"},
      {"name high //i", "sigs.txt:1: empty regex"},
      {"name high /a/x", "sigs.txt:1: unknown flag \"x\": expected i, s or m"},
      {"name high /a/ i", "sigs.txt:1: unknown option \"i\": expected not-prose"},
      {"name high /a/i prose", "sigs.txt:1: unknown option \"prose\": expected not-prose"},
      {"name high /a/ not-prose not-prose", "sigs.txt:1: option \"not-prose\" given twice"},
      {"name high /a/I", "sigs.txt:1: unknown flag \"I\": expected i, s or m"},
      {"name high /a/isi", "sigs.txt:1: flag \"i\" given twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const Status status = ParseError(c.text);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), c.message);
  }
}

TEST(HyperscanPatternFile, CountsLinesAcrossCrLfAndComments) {
  const Status status = ParseError("# one\r\na high /x/\r\n\r\nb high /y/q\r\n");
  EXPECT_EQ(status.message(), "sigs.txt:4: unknown flag \"q\": expected i, s or m");
}

}  // namespace
}  // namespace tollgate::hyperscan
