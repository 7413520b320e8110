// The simpul-audit command line (gateway/simpul_audit.cc is only its main): verify the audit
// chain, print its head for noting outside Redis, export signed checkpoints, and list records
// as JSON lines.
//
//   simpul-audit [--redis HOST:PORT] [--prefix PREFIX] [--timeout DURATION] [--key-file FILE]
//                COMMAND [OPTIONS]
//     verify [--from N] [--to N] [--expect-head SEQ:HEX] [--checkpoints FILE]
//     head
//     list [--agency ID] [--limit N]
//     checkpoint --out FILE
//     archive (--before N | --older-than DURATION) --out FILE
//
// Exit status: 0 ok, 1 verify found a problem (or checkpoint/archive refused a chain that does
// not verify), 2 usage error, 3 Redis could not be read.
#ifndef SIMPUL_GATEWAY_AUDIT_CLI_H_
#define SIMPUL_GATEWAY_AUDIT_CLI_H_

#include <ostream>
#include <string>
#include <vector>

#include "simpul/gateway/v1/gateway.pb.h"

namespace simpul::gateway {

// Exit codes of RunAuditCli.
inline constexpr int kAuditCliOk = 0;
inline constexpr int kAuditCliProblem = 1;
inline constexpr int kAuditCliUsage = 2;
inline constexpr int kAuditCliError = 3;

// RunAuditCli runs one simpul-audit command. `args` excludes the program name; results go to
// `out`, errors and usage to `err` (usage to `out` when asked for with --help). Returns the
// exit status.
int RunAuditCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// AuditRecordJson is `record` as one line of JSON: the proto field names, time in RFC 3339
// (UTC), role by enum name, hashes and request_sha256 in lowercase hex.
std::string AuditRecordJson(const v1::AuditRecord& record);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_AUDIT_CLI_H_
