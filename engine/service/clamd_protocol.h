// The clamd socket protocol (clamd(8) "COMMANDS"), as bytes: taking commands off a connection's
// input and writing replies. No socket here, so the parser is fuzzed on its own
// (tests/fuzz/clamd_fuzzer.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/scanner.h"
#include "tollgate/status.h"

namespace tollgate::service::clamd {

// How a command is delimited, and so its reply: "zCMD\0" and "nCMD\n" (clamd 0.95+), or the bare
// legacy "CMD\n".
enum class Framing { kNul, kNewline, kLegacy };

enum class Verb {
  kPing,
  kVersion,
  kVersionCommands,
  kStats,
  kReload,
  kShutdown,
  kInstream,
  kFildes,
  kIdSession,
  kEnd,
  kScan,
  kContScan,
  kMultiScan,
  kAllMatchScan,
};

struct Command {
  Framing framing = Framing::kLegacy;
  Verb verb = Verb::kPing;
  std::string argument;  // the path of SCAN and its kin; empty for the others
};

// A command and its terminator take at most this many bytes (a path of PATH_MAX and the verb).
inline constexpr size_t kMaxCommandBytes = 4096 + 32;

struct Taken {
  Command command;
  size_t consumed = 0;  // bytes of the input the command and its terminator took
};

// Takes the command at the front of `input`: nullopt while `input` holds only part of a 'z' or 'n'
// command; an error (INVALID_ARGUMENT, with what clamd answers) for bytes that are not a command
// clamd knows, a command longer than kMaxCommandBytes, or an argument where none belongs. A legacy
// command is one packet, its newline optional (clients such as npm clamscan send "SCAN /path" bare),
// so all of `input` is taken when it has no newline.
StatusOr<std::optional<Taken>> TakeCommand(std::string_view input);

// How a reply to `input` is framed when no command could be taken from it.
Framing FramingOf(std::string_view input);

// The reply `text` as clamd frames it: in a session prefixed with the command's number ("3: PONG"),
// then ended by NUL ('z' commands) or a newline.
std::string Frame(std::string_view text, Framing framing, std::optional<uint64_t> session_id = std::nullopt);

// What a clamd client reads of a verdict, for the object `label` ("stream", a path, "fd[5]"): "LABEL:
// OK" when the policy allows the upload, else "LABEL: NAME FOUND" with the deciding finding's rule,
// so an incomplete verdict is FOUND too ("Tollgate.Incomplete.encrypted"). With `all_matches`, one
// line per deciding finding (ALLMATCHSCAN).
std::vector<std::string> VerdictLines(std::string_view label, const ScanReport& report, bool all_matches);

// "LABEL: MESSAGE. ERROR", as clamd reports what it could not scan.
std::string ErrorLine(std::string_view label, std::string_view message);

// The verbs this server answers, as VERSIONCOMMANDS lists them.
std::string_view CommandList();

}  // namespace tollgate::service::clamd
