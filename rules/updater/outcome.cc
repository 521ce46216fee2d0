#include "outcome.h"

namespace tollgate::rules {

int ExitCode(Reason reason) {
  switch (reason) {
    case Reason::kOk: return 0;
    case Reason::kOperational: return 2;
    case Reason::kBusy: return 3;
    case Reason::kSourceUnavailable: return 4;
    case Reason::kBadSignature: return 10;
    case Reason::kBadManifest: return 11;
    case Reason::kIntegrity: return 12;
    case Reason::kForbiddenContent: return 13;
    case Reason::kNotNewer: return 14;
    case Reason::kWithdrawn: return 15;
    case Reason::kCompileFailed: return 16;
    case Reason::kSelfTestFailed: return 17;
    case Reason::kCorpusRegression: return 18;
    case Reason::kNoPrevious: return 19;
  }
  return 2;
}

std::string_view ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kOk: return "ok";
    case Reason::kOperational: return "error";
    case Reason::kBusy: return "store busy";
    case Reason::kSourceUnavailable: return "source unavailable";
    case Reason::kBadSignature: return "bad signature";
    case Reason::kBadManifest: return "bad manifest";
    case Reason::kIntegrity: return "integrity";
    case Reason::kForbiddenContent: return "forbidden content";
    case Reason::kNotNewer: return "not newer";
    case Reason::kWithdrawn: return "withdrawn version";
    case Reason::kCompileFailed: return "compile failed";
    case Reason::kSelfTestFailed: return "self-test failed";
    case Reason::kCorpusRegression: return "corpus regression";
    case Reason::kNoPrevious: return "no previous version";
  }
  return "error";
}

std::string Outcome::ToString() const {
  return ok() ? "ok" : std::string(ReasonName(reason_)) + ": " + message_;
}

}  // namespace tollgate::rules
