// The audit records of Tollgate's security events, built from what the scanner and the service know.
// Field names are a contract with `tollgate audit report` and with anyone reading the log.
#pragma once

#include <string>
#include <string_view>

#include "tollgate/audit/record.h"
#include "tollgate/scanner.h"

namespace tollgate::audit {

// Who asked: for the service, the peer address and the tenant of its credentials; for the command
// line, the local user.
struct Caller {
  std::string source;  // "cli", or the RPC: "Scan", "ScanStream"
  std::string client;  // "ipv4:10.0.0.7:51234", "uid 1000 (alice)"
  std::string tenant;
  std::string upload_id, user_id;  // as the upload service sent them; empty when not given
};

// verdict: source, client, tenant, upload_id?, user_id?, filename, size, sha256, file_type (MIME), verdict,
// action, deciding [{engine, rule, severity, kind, object, reason?}], findings (count), policy,
// rules_version, cached (the verdict came from the verdict cache). Critical (synced under "blocks")
// when the action is block.
Event VerdictEvent(const Caller& caller, std::string_view filename, const ScanReport& report,
                   std::string_view policy);

// refused: source, client, tenant, reason ("bad_token", "locked_out", "busy", "too_large",
// "invalid_argument", ...), code (gRPC status code), message.
Event RefusedEvent(const Caller& caller, std::string_view reason, int code, std::string_view message);

// rules_update / rules_rollback / rules_refused: version (the bundle version now active; empty for a
// refusal that names none), previous_version, detail (source, store, rules_version or the reason).
Event RulesEvent(EventType type, std::string_view version, std::string_view previous_version,
                 std::string_view detail);

// The local user running this process: "uid 1000 (alice)".
std::string LocalUser();

}  // namespace tollgate::audit
