#include "yara_detector.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstring>
#include <exception>
#include <new>
#include <optional>

#include "yara_compile.h"
#include "yara_externals.h"

namespace tollgate::yara {
namespace {

constexpr size_t kMaxDetailBytes = 200;

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

std::optional<Severity> SeverityFromText(std::string_view text) {
  if (EqualsIgnoringCase(text, "critical")) return Severity::kHigh;
  for (Severity severity : {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh}) {
    if (EqualsIgnoringCase(text, ToString(severity))) return severity;
  }
  return std::nullopt;
}

// THOR's score scale: 75 and more is an alert, 50 a warning, anything else a notice.
Severity SeverityFromScore(int64_t score) {
  if (score >= 75) return Severity::kHigh;
  if (score >= 50) return Severity::kMedium;
  return score > 0 ? Severity::kLow : Severity::kInfo;
}

Severity RuleSeverity(const YR_RULE* rule) {
  std::optional<Severity> from_score;
  const YR_META* meta;
  yr_rule_metas_foreach(rule, meta) {
    const std::string_view name = meta->identifier;
    if (meta->type == META_TYPE_STRING && name == "severity") {
      if (std::optional<Severity> severity = SeverityFromText(meta->string)) return *severity;
    } else if (meta->type == META_TYPE_INTEGER && name == "score" && !from_score) {
      from_score = SeverityFromScore(meta->integer);
    }
  }
  // Rules without a rating are detections (THOR's default score is 75).
  return from_score.value_or(Severity::kHigh);
}

// At most `max_bytes`, cut before a UTF-8 sequence rather than inside it.
std::string TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

std::string RuleDescription(const YR_RULE* rule) {
  const YR_META* meta;
  yr_rule_metas_foreach(rule, meta) {
    if (meta->type == META_TYPE_STRING && std::string_view(meta->identifier) == "description") {
      return TruncateUtf8(meta->string, kMaxDetailBytes);
    }
  }
  return "";
}

// libyara keeps each string's matches sorted by offset, so the heads are the candidates. libyara 4.2
// packs matches unaligned into its notebook (after the matched bytes), so they are copied out
// rather than dereferenced in place.
std::optional<uint64_t> EarliestMatchOffset(const YR_RULE* rule, const YR_SCAN_CONTEXT& context) {
  std::optional<uint64_t> earliest;
  const YR_STRING* string;
  yr_rule_strings_foreach(rule, string) {
    if (const YR_MATCH* head = context.matches[string->idx].head) {
      YR_MATCH match;
      std::memcpy(&match, head, sizeof match);
      const auto offset = static_cast<uint64_t>(match.base + match.offset);
      earliest = std::min(earliest.value_or(offset), offset);
    }
  }
  return earliest;
}

struct ScanState {
  std::string object_name;
  FindingSink& sink;
  Status failure;  // why the callback stopped the scan
  // Set when the scanned bytes are a batch of content streams: each match names the stream its
  // earliest string match lies in, with the offset inside that stream.
  const ContentBatch* batch = nullptr;
};

// The stream of `batch` that holds byte `offset` of the batch (streams lie back to back).
const ScanObject* StreamAt(const ContentBatch& batch, uint64_t offset) {
  const auto after = std::upper_bound(batch.streams.begin(), batch.streams.end(), offset,
                                      [&](uint64_t value, const ScanObject& stream) {
                                        return value < static_cast<uint64_t>(stream.bytes.data() - batch.bytes.data());
                                      });
  return after == batch.streams.begin() ? nullptr : &*std::prev(after);
}

// Called by libyara (C): must not throw.
int OnScanMessage(YR_SCAN_CONTEXT* context, int message, void* message_data, void* user_data) noexcept {
  if (message != CALLBACK_MSG_RULE_MATCHING) return CALLBACK_CONTINUE;
  auto& state = *static_cast<ScanState*>(user_data);
  const auto* rule = static_cast<const YR_RULE*>(message_data);
  try {
    Finding finding{
        .engine = "yara",
        .rule = rule->identifier,
        .severity = RuleSeverity(rule),
        .kind = FindingKind::kSignature,
        .object = state.object_name,
        .offset = EarliestMatchOffset(rule, *context),
        .reason = "",
        .detail = RuleDescription(rule),
    };
    if (state.batch != nullptr && finding.offset) {
      if (const ScanObject* stream = StreamAt(*state.batch, *finding.offset)) {
        finding.object = stream->path.ToString();
        *finding.offset -= static_cast<uint64_t>(stream->bytes.data() - state.batch->bytes.data());
      }
    }
    state.sink.Add(std::move(finding));
    return CALLBACK_CONTINUE;
  } catch (const std::bad_alloc&) {
    state.failure = ResourceExhausted("yara: out of memory while reporting a match");
  } catch (const std::exception& e) {
    state.failure = Internal(std::string("yara: reporting a match failed: ") + e.what());
  } catch (...) {
    state.failure = Internal("yara: reporting a match failed");
  }
  return CALLBACK_ERROR;
}

// libyara's timeout is whole seconds, and 0 would mean none.
int TimeoutSeconds(ScanContext::Clock::time_point deadline) {
  const auto remaining =
      std::chrono::duration_cast<std::chrono::seconds>(deadline - ScanContext::Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(remaining, 1, INT_MAX));
}

Status ScanWith(YR_SCANNER* scanner, const ScanObject& object, const ScanContext& ctx, ScanState& state) {
  try {
    for (const ExternalVariable& external : ExternalVariablesFor(object)) {
      const auto* text = std::get_if<std::string>(&external.value);
      const int code = text ? yr_scanner_define_string_variable(scanner, external.name, text->c_str())
                            : yr_scanner_define_boolean_variable(scanner, external.name, std::get<bool>(external.value));
      TOLLGATE_RETURN_IF_ERROR(ToStatus(code, "yr_scanner_define_*_variable"));
    }
    yr_scanner_set_timeout(scanner, TimeoutSeconds(ctx.deadline()));
    yr_scanner_set_callback(scanner, OnScanMessage, &state);
    // An empty span may have a null data pointer; libyara's modules get the block pointer as is.
    static constexpr uint8_t kNoBytes[1] = {};
    const uint8_t* data = object.bytes.empty() ? kNoBytes : object.bytes.data();
    const int code = yr_scanner_scan_mem(scanner, data, object.bytes.size());
    if (!state.failure.ok()) return state.failure;
    return ToStatus(code, "yr_scanner_scan_mem");
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("yara: out of memory");
  }
}

}  // namespace

YaraDetector::YaraDetector(LibraryRef library, RulesPtr rules, std::vector<std::string> compile_warnings)
    : library_(std::move(library)),
      rules_(std::move(rules)),
      compile_warnings_(std::move(compile_warnings)) {}

StatusOr<std::unique_ptr<YaraDetector>> YaraDetector::Create(const DetectorConfig& config) {
  StatusOr<LibraryRef> library = LibraryRef::Acquire();
  if (!library.ok()) return library.status();
  StatusOr<CompiledRules> compiled = CompileRuleFiles(config.files);
  if (!compiled.ok()) return compiled.status();
  return std::unique_ptr<YaraDetector>(
      new YaraDetector(std::move(*library), std::move(compiled->rules), std::move(compiled->warnings)));
}

StatusOr<YR_SCANNER*> YaraDetector::ThreadScanner() const {
  ScannerPtr& scanner = scanners_.local();
  if (!scanner) {
    YR_SCANNER* created = nullptr;
    TOLLGATE_RETURN_IF_ERROR(ToStatus(yr_scanner_create(rules_.get(), &created), "yr_scanner_create"));
    scanner.reset(created);
    yr_scanner_set_flags(created, SCAN_FLAGS_REPORT_RULES_MATCHING);
  }
  return scanner.get();
}

Status YaraDetector::Scan(const ScanObject& object, const ScanContext& ctx, FindingSink& out) const {
  if (RuleCount() == 0) return Status::Ok();
  ScanState state{object.path.ToString(), out, Status::Ok()};
  StatusOr<YR_SCANNER*> scanner = ThreadScanner();
  if (!scanner.ok()) return scanner.status();
  return ScanWith(*scanner, object, ctx, state);
}

Status YaraDetector::ScanContent(const ContentBatch& batch, const ScanContext& ctx, FindingSink& out) const {
  if (RuleCount() == 0) return Status::Ok();
  ScanState state{batch.container.ToString(), out, Status::Ok(), &batch};
  StatusOr<YR_SCANNER*> scanner = ThreadScanner();
  if (!scanner.ok()) return scanner.status();
  return ScanWith(*scanner,
                  ScanObject{batch.container, {}, batch.bytes, batch.container_depth + 1, {}, batch.kind, batch.prose},
                  ctx, state);
}

}  // namespace tollgate::yara

namespace tollgate {

DetectorFactory MakeDetectorFactory_yara() {
  return {
      .name = "yara",
      .create = [](const DetectorConfig& config) -> StatusOr<std::unique_ptr<Detector>> {
        try {
          StatusOr<std::unique_ptr<yara::YaraDetector>> detector = yara::YaraDetector::Create(config);
          if (!detector.ok()) return detector.status();
          return std::unique_ptr<Detector>(std::move(*detector));
        } catch (const std::bad_alloc&) {
          return ResourceExhausted("yara: out of memory while loading rules");
        }
      },
  };
}

}  // namespace tollgate
