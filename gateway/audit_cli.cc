// RunAuditCli: argument parsing and output of simpul-audit.
#include "gateway/audit_cli.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/absl_compat.h"
#include "common/json.h"
#include "common/redis.h"
#include "common/redis_auth.h"
#include "gateway/audit.h"
#include "gateway/audit_archive.h"
#include "gateway/audit_checkpoint.h"
#include "gateway/audit_key.h"

namespace simpul::gateway {
namespace {

constexpr char kUsage[] =
    R"(usage: simpul-audit [--redis HOST:PORT] [--prefix PREFIX] [--timeout DURATION]
                    [--key-file FILE] COMMAND [OPTIONS]

Reads the gateway's hash-chained audit trail in Redis.

commands:
  verify [--from N] [--to N] [--expect-head SEQ:HEX] [--checkpoints FILE]
      Walks the chain (records --from..--to, default all), recomputing every hash (keyed
      records, encoding_version 2, need --key-file). Prints "ok: <records> records, head
      <hex>" and exits 0, or prints the first problem (altered, removed, reordered or
      inserted, and at which record) and exits 1. --expect-head checks the chain against a
      head noted earlier (see head); --checkpoints against every signed head of FILE (see
      checkpoint; needs --key-file): this detects a rewritten or truncated tail.
      --archive FILE[,FILE...] verifies the archived records too, as one chain from record 1
      through the archives into Redis (without it, the walk starts after the archived ones).
  checkpoint --out FILE
      Verifies the chain (against the checkpoints already in FILE, from the last of them)
      and appends its head to FILE as a line signed with the audit key (needs --key-file),
      fsynced. Prints the line. Keep FILE away from the Redis machine.
  archive (--before N | --older-than DURATION) --out FILE
      Moves the oldest records (those after the last archive, up to record N - 1, or older
      than DURATION, e.g. 2160h; never the head record) to a new archive FILE: verifies them,
      writes FILE durably, then removes them from Redis, which keeps an anchor (the last
      archived record) its chain links to. Rerunning after a crash finishes the same archive.
      Keyed records need --key-file.
  head
      Prints the chain head as SEQ:HEX, to note outside Redis for --expect-head.
  list [--agency ID] [--limit N]
      Prints records newest first, one JSON object per line (default limit 50), only the
      agency's own with --agency.

options:
  --redis HOST:PORT    Redis address (default 127.0.0.1:6379)
  --prefix PREFIX      key prefix of the gateway's audit keys (default simpul:gw:{a}:)
  --timeout DURATION   per Redis command, e.g. 10s (default 10s)
  --key-file FILE      the audit key file (the gateway's audit_key_file; mode 600)

environment:
  SIMPUL_REDIS_USER, SIMPUL_REDIS_PASSWORD_FILE
                       the Redis ACL user and the file holding its password (mode 600),
                       e.g. simpul-admin and var/redis-auth/simpul-admin.password
  SIMPUL_REDIS_SENTINELS, SIMPUL_REDIS_MASTER_NAME, SIMPUL_REDIS_WAIT_REPLICAS, ...
                       find the master through Redis Sentinel (--redis is then ignored) and
                       wait for replicas after writes (docs/configuration.md)

exit status: 0 ok, 1 verify found a problem (or checkpoint/archive refused a chain that does not
verify), 2 usage error, 3 Redis could not be read
)";

// Options each command accepts besides the global ones.
const std::map<std::string, std::set<std::string>, std::less<>>& CommandOptions() {
  static const auto* const options = new std::map<std::string, std::set<std::string>, std::less<>>{
      {"verify", {"from", "to", "expect-head", "checkpoints", "archive"}},
      {"head", {}},
      {"list", {"agency", "limit"}},
      {"checkpoint", {"out"}},
      {"archive", {"before", "older-than", "out"}}};
  return *options;
}
const std::set<std::string, std::less<>> kGlobalOptions = {"redis", "prefix", "timeout",
                                                           "key-file"};

struct Args {
  std::string command;
  std::map<std::string, std::string, std::less<>> options;
};

// Parse reads "--name value" and "--name=value" options anywhere and exactly one command.
// Returns an error message, or nullopt; sets *help for --help.
std::optional<std::string> Parse(const std::vector<std::string>& args, Args* out, bool* help) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "help") {
      *help = true;
      return std::nullopt;
    }
    if (arg.rfind("--", 0) == 0) {
      std::string name = arg.substr(2);
      std::string value;
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::StrCat("--", name, ": missing value");
      }
      if (out->options.count(name) != 0) return absl::StrCat("--", name, ": given twice");
      out->options[name] = value;
      continue;
    }
    if (!out->command.empty()) {
      return absl::StrCat("unexpected argument \"", arg, "\" after command ", out->command);
    }
    if (CommandOptions().count(arg) == 0) {
      return absl::StrCat("unknown command \"", arg,
                          "\" (expected verify, head, list, checkpoint or archive)");
    }
    out->command = arg;
  }
  if (out->command.empty()) {
    return "missing command (verify, head, list, checkpoint or archive)";
  }
  const std::set<std::string>& allowed = CommandOptions().find(out->command)->second;
  for (const auto& [name, value] : out->options) {
    if (kGlobalOptions.count(name) == 0 && allowed.count(name) == 0) {
      return absl::StrCat("--", name, ": not an option of ", out->command);
    }
  }
  return std::nullopt;
}

std::optional<std::string> ParsePositive(const Args& args, std::string_view name, int64_t* value) {
  auto it = args.options.find(name);
  if (it == args.options.end()) return std::nullopt;
  if (!absl::SimpleAtoi(it->second, value) || *value < 1) {
    return absl::StrCat("--", AbslView(name), ": expected a positive integer, got \"", it->second,
                        "\"");
  }
  return std::nullopt;
}

std::optional<std::string> ParseRedis(std::string_view address, RedisOptions* options) {
  const size_t colon = address.rfind(':');
  int port = 0;
  std::string_view host = colon == std::string_view::npos ? "" : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || !absl::SimpleAtoi(AbslView(address.substr(colon + 1)), &port) || port < 1 ||
      port > 65535) {
    return absl::StrCat("--redis: expected HOST:PORT, got \"", AbslView(address), "\"");
  }
  options->host = std::string(host);
  options->port = port;
  return std::nullopt;
}

void JsonField(std::string* out, std::string_view name, std::string_view value) {
  out->push_back(',');
  AppendJsonEscaped(out, name);
  out->push_back(':');
  AppendJsonEscaped(out, value);
}

}  // namespace

std::string AuditRecordJson(const v1::AuditRecord& record) {
  std::string out = absl::StrCat("{\"sequence\":", record.sequence());
  const absl::Time time =
      absl::FromUnixSeconds(record.time().seconds()) + absl::Nanoseconds(record.time().nanos());
  JsonField(&out, "time", absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone()));
  JsonField(&out, "request_id", record.request_id());
  JsonField(&out, "subject", record.subject());
  std::string role = common::v1::Role_Name(record.role());
  if (role.empty()) role = absl::StrCat(static_cast<int>(record.role()));
  JsonField(&out, "role", role);
  JsonField(&out, "agency_id", record.agency_id());
  JsonField(&out, "channel", record.channel());
  JsonField(&out, "client_address", record.client_address());
  JsonField(&out, "method", record.method());
  JsonField(&out, "resource", record.resource());
  JsonField(&out, "outcome", record.outcome());
  JsonField(&out, "request_sha256", absl::BytesToHexString(record.request_sha256()));
  JsonField(&out, "previous_hash", absl::BytesToHexString(record.previous_hash()));
  JsonField(&out, "hash", absl::BytesToHexString(record.hash()));
  absl::StrAppend(&out, ",\"encoding_version\":", record.encoding_version(), "}");
  return out;
}

int RunAuditCli(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  Args args;
  bool help = false;
  if (std::optional<std::string> bad = Parse(argv, &args, &help)) {
    err << "simpul-audit: " << *bad << "\n\n" << kUsage;
    return kAuditCliUsage;
  }
  if (help) {
    out << kUsage;
    return kAuditCliOk;
  }
  auto usage_error = [&err](const std::string& message) {
    err << "simpul-audit: " << message << "\n";
    return kAuditCliUsage;
  };

  RedisOptions redis;
  redis.pool_size = 1;
  redis.command_timeout = absl::Seconds(10);
  if (std::optional<std::string> bad = ParseRedis(
          args.options.count("redis") ? args.options["redis"] : "127.0.0.1:6379", &redis)) {
    return usage_error(*bad);
  }
  if (absl::Status credentials = SetRedisOptionsFromEnv(&redis); !credentials.ok()) {
    return usage_error(std::string(credentials.message()));
  }
  if (auto it = args.options.find("timeout"); it != args.options.end()) {
    absl::Duration timeout;
    if (!absl::ParseDuration(it->second, &timeout) || timeout <= absl::ZeroDuration()) {
      return usage_error(absl::StrCat("--timeout: expected a positive duration such as 10s, got \"",
                                      it->second, "\""));
    }
    redis.command_timeout = timeout;
    redis.acquire_timeout = std::max(redis.acquire_timeout, timeout);
  }
  AuditLog::Options log_options;
  if (auto it = args.options.find("prefix"); it != args.options.end()) {
    log_options.key_prefix = it->second;
  }
  std::optional<AuditKeyring> keyring;
  if (auto it = args.options.find("key-file"); it != args.options.end()) {
    absl::StatusOr<AuditKeyring> ring = AuditKeyring::FromFile(it->second);
    if (!ring.ok()) return usage_error(absl::StrCat("--key-file: ", ring.status().message()));
    keyring = *std::move(ring);
    log_options.keyring = &*keyring;
  }
  auto needs_key = [&](std::string_view what) -> std::optional<std::string> {
    if (keyring) return std::nullopt;
    return absl::StrCat(AbslView(what),
                        " needs --key-file (checkpoints are signed with the audit "
                        "key)");
  };
  std::vector<AuditCheckpoint> checkpoints;
  std::string checkpoint_out;
  std::vector<AuditArchive> archives;
  AuditArchiveRequest archive_request;

  AuditVerifyOptions verify;
  int64_t limit = 50;
  if (args.command == "verify") {
    if (std::optional<std::string> bad = ParsePositive(args, "from", &verify.from_sequence)) {
      return usage_error(*bad);
    }
    if (std::optional<std::string> bad = ParsePositive(args, "to", &verify.to_sequence)) {
      return usage_error(*bad);
    }
    if (verify.to_sequence != 0 && verify.to_sequence < verify.from_sequence) {
      return usage_error("--to: must not be below --from");
    }
    if (auto it = args.options.find("expect-head"); it != args.options.end()) {
      absl::StatusOr<AuditChainHead> head = ParseAuditChainHead(it->second);
      if (!head.ok()) return usage_error(absl::StrCat("--expect-head: ", head.status().message()));
      verify.expected_head = *head;
    }
    if (auto it = args.options.find("checkpoints"); it != args.options.end()) {
      if (auto bad = needs_key("--checkpoints")) return usage_error(*bad);
      absl::StatusOr<std::vector<AuditCheckpoint>> read =
          ReadAuditCheckpointFile(it->second, *keyring);
      if (!read.ok()) {
        if (read.status().code() == absl::StatusCode::kDataLoss) {
          out << "altered checkpoint file: " << read.status().message() << "\n";
          return kAuditCliProblem;
        }
        return usage_error(absl::StrCat("--checkpoints: ", read.status().message()));
      }
      checkpoints = *std::move(read);
      for (const AuditCheckpoint& c : checkpoints) verify.checkpoints.push_back(c.head);
    }
    if (auto it = args.options.find("archive"); it != args.options.end()) {
      if (args.options.count("from") || args.options.count("to")) {
        return usage_error(
            "--archive verifies the whole chain from record 1: not with --from/--to");
      }
      for (absl::string_view path : absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
        absl::StatusOr<AuditArchive> archive = ReadAuditArchive(std::string(path));
        if (!archive.ok())
          return usage_error(absl::StrCat("--archive: ", archive.status().message()));
        archives.push_back(*std::move(archive));
      }
      std::sort(archives.begin(), archives.end(),
                [](const AuditArchive& a, const AuditArchive& b) { return a.first < b.first; });
    }
  } else if (args.command == "checkpoint") {
    if (auto bad = needs_key("checkpoint")) return usage_error(*bad);
    auto it = args.options.find("out");
    if (it == args.options.end() || it->second.empty()) {
      return usage_error("checkpoint needs --out FILE");
    }
    checkpoint_out = it->second;
    absl::StatusOr<std::vector<AuditCheckpoint>> read =
        ReadAuditCheckpointFile(checkpoint_out, *keyring);
    if (read.ok()) {
      checkpoints = *std::move(read);
    } else if (read.status().code() == absl::StatusCode::kDataLoss) {
      out << "altered checkpoint file: " << read.status().message() << "\n";
      return kAuditCliProblem;
    } else if (read.status().code() != absl::StatusCode::kNotFound) {
      return usage_error(absl::StrCat("--out: ", read.status().message()));
    }
    for (const AuditCheckpoint& c : checkpoints) verify.checkpoints.push_back(c.head);
    if (!checkpoints.empty()) {
      verify.from_sequence = std::max<int64_t>(1, checkpoints.back().head.sequence);
    }
  } else if (args.command == "archive") {
    if (auto bad = ParsePositive(args, "before", &archive_request.before_sequence)) {
      return usage_error(*bad);
    }
    if (auto it = args.options.find("older-than"); it != args.options.end()) {
      if (!absl::ParseDuration(it->second, &archive_request.older_than) ||
          archive_request.older_than <= absl::ZeroDuration()) {
        return usage_error(absl::StrCat(
            "--older-than: expected a positive duration such as 2160h, got \"", it->second, "\""));
      }
    }
    if ((archive_request.before_sequence > 0) ==
        (archive_request.older_than > absl::ZeroDuration())) {
      return usage_error("archive needs exactly one of --before N and --older-than DURATION");
    }
    auto it = args.options.find("out");
    if (it == args.options.end() || it->second.empty())
      return usage_error("archive needs --out FILE");
    archive_request.out = it->second;
  } else if (args.command == "list") {
    if (std::optional<std::string> bad = ParsePositive(args, "limit", &limit)) {
      return usage_error(*bad);
    }
  }

  RedisPool pool(redis);
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Create(&pool, log_options);
  if (!log.ok()) return usage_error(std::string(log.status().message()));
  auto failed = [&err](const absl::Status& status) {
    err << "simpul-audit: " << status << "\n";
    return kAuditCliError;
  };

  if (args.command == "verify") {
    absl::StatusOr<std::optional<AuditArchiveAnchor>> anchor = (*log)->Anchor();
    if (!anchor.ok()) return failed(anchor.status());
    int64_t archived_checked = 0;
    if (!archives.empty()) {
      // The archives, as one chain from record 1, must end at Redis's archive anchor.
      std::set<int64_t> wanted;
      for (const AuditChainHead& c : verify.checkpoints) wanted.insert(c.sequence);
      if (verify.expected_head) wanted.insert(verify.expected_head->sequence);
      AuditChainHead at;
      int32_t version = kAuditEncodingVersion;
      for (const AuditArchive& archive : archives) {
        if (archive.first != at.sequence + 1) {
          out << (archive.first > at.sequence + 1 ? "removed" : "inserted") << " at record "
              << at.sequence + 1 << ": the archives hold records up to " << at.sequence
              << ", then an archive starting at record " << archive.first << "\n";
          return kAuditCliProblem;
        }
        absl::StatusOr<AuditVerifyReport> part =
            VerifyAuditRecords(archive.records, at, version, log_options.keyring);
        if (!part.ok()) return failed(part.status());
        if (!part->ok()) {
          out << FormatAuditVerifyReport(*part) << " (archived)\n";
          return kAuditCliProblem;
        }
        for (const v1::AuditRecord& r : archive.records) {
          if (wanted.count(r.sequence()) > 0) verify.archived_hashes[r.sequence()] = r.hash();
        }
        archived_checked += part->records_checked;
        at = part->head;
        version = archive.records.back().encoding_version();
      }
      if (!*anchor || (*anchor)->head != at) {
        out << "altered at record " << at.sequence << ": the archives end at record " << at.sequence
            << " with hash " << absl::BytesToHexString(at.hash) << " but Redis's archive anchor is "
            << (*anchor ? FormatAuditChainHead((*anchor)->head) : std::string("missing")) << "\n";
        return kAuditCliProblem;
      }
    }
    absl::StatusOr<AuditVerifyReport> report = (*log)->Verify(verify);
    if (!report.ok()) return failed(report.status());
    report->records_checked += archived_checked;
    out << FormatAuditVerifyReport(*report);
    if (report->ok() && *anchor && archives.empty()) {
      out << " (records 1.." << (*anchor)->head.sequence
          << " are archived: pass --archive to verify them)";
    } else if (report->ok() && archived_checked > 0) {
      out << " (" << archived_checked << " of them archived)";
    }
    out << "\n";
    return report->ok() ? kAuditCliOk : kAuditCliProblem;
  }
  if (args.command == "archive") {
    absl::StatusOr<AuditArchiveResult> result =
        ArchiveAuditSegment(**log, log_options.keyring, archive_request);
    if (!result.ok()) {
      if (result.status().code() == absl::StatusCode::kFailedPrecondition) {
        err << "simpul-audit: " << result.status().message() << "\n";
        return kAuditCliProblem;
      }
      return failed(result.status());
    }
    if (result->last < result->first) {
      out << "nothing to archive\n";
      return kAuditCliOk;
    }
    out << "archived records " << result->first << " to " << result->last << " to "
        << archive_request.out << (result->resumed ? " (finishing an interrupted archive)" : "")
        << "; Redis keeps the chain from record " << result->last + 1 << "\n";
    return kAuditCliOk;
  }
  if (args.command == "checkpoint") {
    // Sign only a head whose chain verifies (up to it, against the earlier checkpoints).
    absl::StatusOr<AuditVerifyReport> report = (*log)->Verify(verify);
    if (!report.ok() && report.status().code() == absl::StatusCode::kInvalidArgument &&
        !checkpoints.empty()) {
      // The last checkpoint lies beyond the chain head: the tail was removed.
      verify.from_sequence = 1;
      report = (*log)->Verify(verify);
    }
    if (!report.ok()) return failed(report.status());
    if (!report->ok()) {
      out << FormatAuditVerifyReport(*report) << "\n";
      err << "simpul-audit: the chain does not verify; no checkpoint written\n";
      return kAuditCliProblem;
    }
    if (report->head.sequence == 0) {
      err << "simpul-audit: the audit log is empty; no checkpoint written\n";
      return kAuditCliOk;
    }
    absl::StatusOr<AuditCheckpoint> checkpoint =
        SignAuditCheckpoint(*keyring, report->head, absl::Now());
    if (!checkpoint.ok()) return failed(checkpoint.status());
    if (absl::Status s = AppendAuditCheckpoint(checkpoint_out, *checkpoint); !s.ok()) {
      return failed(s);
    }
    out << FormatAuditCheckpoint(*checkpoint) << "\n";
    return kAuditCliOk;
  }
  if (args.command == "head") {
    absl::StatusOr<AuditChainHead> head = (*log)->Head();
    if (!head.ok()) return failed(head.status());
    out << FormatAuditChainHead(*head) << "\n";
    return kAuditCliOk;
  }
  // list
  const std::string agency = args.options.count("agency") ? args.options["agency"] : "";
  std::string token;
  int64_t printed = 0;
  do {
    const int page_size = static_cast<int>(std::min<int64_t>(500, limit - printed));
    absl::StatusOr<AuditPage> page = (*log)->List(agency, page_size, token);
    if (!page.ok()) return failed(page.status());
    for (const v1::AuditRecord& record : page->records) {
      out << AuditRecordJson(record) << "\n";
      ++printed;
    }
    token = std::move(page->next_page_token);
  } while (!token.empty() && printed < limit);
  return kAuditCliOk;
}

}  // namespace simpul::gateway
