// The formula detector: formula injection in CSV, TSV and SYLK uploads. Excel and LibreOffice run a
// cell that starts with = + - or @ as a formula when the file is opened, and a formula can start a
// program (DDE: cmd|' /C calc'!A0), fetch from the web (WEBSERVICE, IMPORTXML...) or call into
// Windows (CALL, REGISTER, EXEC). One finding per layer, Tollgate.Formula.Injection (high, engine
// "tollgate"), naming the first such cell and how many there are. Ordinary formulas (=SUM(B2:B5)),
// negative numbers and phone numbers (+44 20 ...) are data.
#include "formula_detector.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tollgate/file_names.h"
#include "tollgate/utf8.h"

namespace tollgate {
namespace {

constexpr std::string_view kName = "formula";
constexpr size_t kRules = 1;
// Cells beyond this many bytes of a file are not read: spreadsheets that large are data dumps, and
// the finding needs one cell.
constexpr size_t kMaxBytes = 64 << 20;

enum class Sheet { kNone, kDelimited, kSylk };

Sheet SheetOf(const ScanObject& object) {
  const std::string_view mime = object.type.mime;
  if (mime == "application/x-sylk") return Sheet::kSylk;
  if (mime == "text/csv" || mime == "application/csv" || mime == "text/tab-separated-values") return Sheet::kDelimited;
  const std::vector<std::string> extensions = Extensions(FileName(object.path.leaf()));
  if (extensions.empty() || !mime.starts_with("text/")) return Sheet::kNone;
  const std::string& last = extensions.back();
  if (last == "slk" || last == "sylk") return Sheet::kSylk;
  if (last == "csv" || last == "tsv" || last == "tab") return Sheet::kDelimited;
  return Sheet::kNone;
}


// What makes a formula act beyond the sheet, or nullopt. DDE is APPLICATION|TOPIC!ITEM.
std::optional<std::string> DangerousPart(std::string_view formula) {
  const std::string lower = AsciiLowercase(formula);
  const size_t pipe = lower.find('|');
  if (pipe != std::string::npos && lower.find('!', pipe) != std::string::npos) return "DDE " + std::string(formula.substr(0, pipe + 1));
  static constexpr std::array<std::string_view, 11> kFunctions = {
      "ddeauto", "dde(", "webservice(", "importxml(", "importdata(", "importhtml(", "importfeed(", "importrange(",
      "call(", "register(", "exec("};
  for (std::string_view function : kFunctions) {
    const size_t at = lower.find(function);
    // A whole function name: not the tail of a longer one (RECALL( is not CALL().
    if (at != std::string::npos && (at == 0 || !std::isalnum(static_cast<unsigned char>(lower[at - 1])))) {
      return std::string(function.substr(0, function.find('(')));
    }
  }
  // A link is a formula's business only when it points at a program or a script.
  const size_t link = lower.find("hyperlink(");
  if (link != std::string::npos) {
    const std::string_view target = std::string_view(lower).substr(link, lower.find(')', link) - link);
    for (std::string_view runs : {".exe", ".scr", ".js\"", ".hta", ".bat", ".cmd", ".ps1", ".vbs", ".lnk", "file:", "\\\\"}) {
      if (target.find(runs) != std::string_view::npos) return "hyperlink to " + std::string(runs);
    }
  }
  return std::nullopt;
}

bool StartsFormula(std::string_view cell) {
  const size_t start = cell.find_first_not_of(" \t");
  return start != std::string_view::npos && std::string_view("=+-@").find(cell[start]) != std::string_view::npos;
}

struct Hit {
  size_t row = 0;
  size_t column = 0;
  std::string cell;
  std::string why;
};

// The delimiter of a CSV or TSV file: whichever of tab, `;` and `,` its first line uses most (ties
// in that order): Excel writes `;` where the decimal separator is a comma.
char Delimiter(std::string_view text) {
  const std::string_view first_line = text.substr(0, std::min(text.find('\n'), size_t{4096}));
  char best = ',';
  size_t most = 0;
  for (const char candidate : {'\t', ';', ','}) {
    const auto count = static_cast<size_t>(std::count(first_line.begin(), first_line.end(), candidate));
    if (count > most) {
      best = candidate;
      most = count;
    }
  }
  return best;
}

// Splits delimited text into cells: double quotes enclose, `""` is a quote, and text ends an
// unclosed quote. Calls `on_cell(row, column, text)` for each cell.
template <typename OnCell>
void ForEachDelimitedCell(std::string_view text, const OnCell& on_cell) {
  const char delimiter = Delimiter(text);
  size_t row = 1;
  size_t column = 1;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        cell += c;
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"' && cell.find_first_not_of(" \t") == std::string::npos) {
      quoted = true;
    } else if (c == delimiter || c == '\n') {
      on_cell(row, column, cell);
      cell.clear();
      if (c == '\n') {
        ++row;
        column = 1;
      } else {
        ++column;
      }
    } else if (c != '\r') {
      cell += c;
    }
  }
  if (!cell.empty()) on_cell(row, column, cell);
}

// SYLK cell records: C;X<col>;Y<row>;...;E<expression>. Rows and columns may be left out and then
// continue from the record before.
template <typename OnCell>
void ForEachSylkFormula(std::string_view text, const OnCell& on_cell) {
  size_t row = 1;
  size_t column = 1;
  while (!text.empty()) {
    const size_t newline = std::min(text.find('\n'), text.size());
    std::string_view record = text.substr(0, newline);
    text.remove_prefix(std::min(newline + 1, text.size()));
    if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
    if (!record.starts_with("C;")) continue;
    record.remove_prefix(2);
    while (!record.empty()) {
      const size_t semicolon = std::min(record.find(';'), record.size());
      const std::string_view field = record.substr(0, semicolon);
      record.remove_prefix(std::min(semicolon + 1, record.size()));
      if (field.empty()) continue;
      if (field[0] == 'X' || field[0] == 'Y') {
        size_t value = 0;
        for (char digit : field.substr(1)) {
          if (!std::isdigit(static_cast<unsigned char>(digit))) break;
          value = std::min<size_t>(value * 10 + static_cast<size_t>(digit - '0'), 1u << 24);
        }
        (field[0] == 'X' ? column : row) = value;
      } else if (field[0] == 'E') {
        // The expression runs to the end of the record: it may hold ';' in strings.
        on_cell(row, column, "=" + std::string(field.substr(1)) + (record.empty() ? "" : ";" + std::string(record)));
        break;
      }
    }
  }
}

class FormulaDetector final : public Detector {
 public:
  std::string_view Name() const override { return kName; }
  size_t RuleCount() const override { return kRules; }

  Status Scan(const ScanObject& object, const ScanContext&, FindingSink& out) const override {
    const Sheet sheet = SheetOf(object);
    if (sheet == Sheet::kNone) return Status::Ok();
    const std::string_view text(reinterpret_cast<const char*>(object.bytes.data()),
                                std::min(object.bytes.size(), kMaxBytes));
    std::optional<Hit> first;
    size_t count = 0;
    auto on_cell = [&](size_t row, size_t column, std::string_view cell) {
      if (!StartsFormula(cell)) return;
      std::optional<std::string> why = DangerousPart(cell);
      if (!why) return;
      ++count;
      if (!first) first = Hit{row, column, std::string(cell.substr(0, 120)), std::move(*why)};
    };
    if (sheet == Sheet::kSylk) {
      ForEachSylkFormula(text, on_cell);
    } else {
      ForEachDelimitedCell(text, on_cell);
    }
    if (!first) return Status::Ok();
    out.Add(HeuristicFinding("Tollgate.Formula.Injection", Severity::kHigh, object.path.ToString(),
                             fmt::format("row {}, column {}: {} ({}){}", first->row, first->column, first->cell,
                                         first->why, count > 1 ? fmt::format("; {} such cells", count) : "")));
    return Status::Ok();
  }
};

}  // namespace

DetectorFactory MakeDetectorFactory_formula() {
  return {kName, [](const DetectorConfig&) -> StatusOr<std::unique_ptr<Detector>> {
            return std::unique_ptr<Detector>(std::make_unique<FormulaDetector>());
          }};
}

}  // namespace tollgate
