#include "clamd_protocol.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace tollgate::service::clamd {
namespace {

struct VerbName {
  std::string_view name;
  Verb verb;
  bool takes_path;
};

constexpr std::array<VerbName, 14> kVerbs = {{
    {"PING", Verb::kPing, false},
    {"VERSION", Verb::kVersion, false},
    {"VERSIONCOMMANDS", Verb::kVersionCommands, false},
    {"STATS", Verb::kStats, false},
    {"RELOAD", Verb::kReload, false},
    {"SHUTDOWN", Verb::kShutdown, false},
    {"INSTREAM", Verb::kInstream, false},
    {"FILDES", Verb::kFildes, false},
    {"IDSESSION", Verb::kIdSession, false},
    {"END", Verb::kEnd, false},
    {"SCAN", Verb::kScan, true},
    {"CONTSCAN", Verb::kContScan, true},
    {"MULTISCAN", Verb::kMultiScan, true},
    {"ALLMATCHSCAN", Verb::kAllMatchScan, true},
}};

// Rule names come from rule files; a newline or NUL in one would forge a reply line.
std::string Printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  }
  return out;
}

}  // namespace

Framing FramingOf(std::string_view input) {
  if (input.starts_with('z')) return Framing::kNul;
  return input.starts_with('n') ? Framing::kNewline : Framing::kLegacy;
}

StatusOr<std::optional<Taken>> TakeCommand(std::string_view input) {
  if (input.empty()) return std::optional<Taken>();
  const Framing framing = FramingOf(input);
  const size_t start = framing == Framing::kLegacy ? 0 : 1;
  const char terminator = framing == Framing::kNul ? '\0' : '\n';
  size_t end = input.find(terminator, start);
  if (end == std::string_view::npos) {
    if (input.size() >= kMaxCommandBytes) return InvalidArgument("COMMAND READ TIMED OUT");
    if (framing != Framing::kLegacy) return std::optional<Taken>();
    end = input.size();
  }
  if (end > kMaxCommandBytes) return InvalidArgument("COMMAND READ TIMED OUT");
  const size_t consumed = std::min(end + 1, input.size());
  std::string_view line = input.substr(start, end - start);
  // Legacy clients may end a line with CRLF, or a NUL.
  while (framing == Framing::kLegacy && (line.ends_with('\r') || line.ends_with('\0'))) line.remove_suffix(1);
  if (framing == Framing::kNewline && line.ends_with('\r')) line.remove_suffix(1);
  const size_t space = line.find(' ');
  const std::string_view name = line.substr(0, space);
  const std::string_view argument = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  for (const VerbName& known : kVerbs) {
    if (known.name != name) continue;
    if (known.takes_path) {
      if (argument.empty()) return InvalidArgument("UNKNOWN COMMAND");
      if (argument.find('\0') != std::string_view::npos) return InvalidArgument("UNKNOWN COMMAND");
    } else if (space != std::string_view::npos) {
      return InvalidArgument("UNKNOWN COMMAND");
    }
    return std::optional<Taken>(Taken{{framing, known.verb, std::string(argument)}, consumed});
  }
  return InvalidArgument("UNKNOWN COMMAND");
}

std::string Frame(std::string_view text, Framing framing, std::optional<uint64_t> session_id) {
  std::string out = session_id ? fmt::format("{}: {}", *session_id, text) : std::string(text);
  out += framing == Framing::kNul ? '\0' : '\n';
  return out;
}

std::vector<std::string> VerdictLines(std::string_view label, const ScanReport& report, bool all_matches) {
  if (report.action == Action::kAllow) return {fmt::format("{}: OK", label)};
  std::vector<std::string> lines;
  for (size_t index : report.deciding) {
    lines.push_back(fmt::format("{}: {} FOUND", label, Printable(report.findings[index].rule)));
    if (!all_matches) break;
  }
  // Blocked with no deciding finding named: still FOUND, never OK.
  if (lines.empty()) lines.push_back(fmt::format("{}: Tollgate.Blocked.{} FOUND", label, ToString(report.verdict)));
  return lines;
}

std::string ErrorLine(std::string_view label, std::string_view message) {
  return fmt::format("{}: {}{} ERROR", label, Printable(message), message.ends_with('.') ? "" : ".");
}

std::string_view CommandList() {
  return "COMMANDS: SCAN RELOAD PING CONTSCAN VERSIONCOMMANDS VERSION END SHUTDOWN MULTISCAN FILDES STATS "
         "IDSESSION INSTREAM ALLMATCHSCAN";
}

}  // namespace tollgate::service::clamd
