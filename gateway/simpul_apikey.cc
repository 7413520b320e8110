// simpul-apikey issues, lists and revokes simpul-gateway API keys by talking to Redis
// directly: to bootstrap the first platform-admin key, and for operators when the gateway's
// admin API is not at hand.
//   simpul-apikey --redis 127.0.0.1:6379 issue --role platform_admin --label "ops laptop"
//   simpul-apikey list [--agency ID] [--all]
//   simpul-apikey revoke k0123456789abcdef
// Exit codes: 0 done, 1 failed (Redis unreachable, key not found, ...), 2 usage error.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/absl_compat.h"
#include "common/redis.h"
#include "common/redis_auth.h"
#include "common/status.h"
#include "gateway/api_keys.h"

namespace simpul::gateway {
namespace {

namespace cv1 = common::v1;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] = R"(Usage: simpul-apikey [OPTIONS] COMMAND [ARGS]

Manage simpul-gateway API keys directly in Redis.

Commands:
  issue --role ROLE --label TEXT [--agency ID] [--channel NAME]
        [--scope-agency ID,...] [--scope-unit ID,...] [--all-agencies]
      Issue a key and print its id and token. The token is shown only this once:
      Redis keeps only a SHA-256 of its secret.
      ROLE is platform_admin, agency_admin, agency_operator, channel or dashboard;
      agency_admin and agency_operator need --agency, channel needs --channel and its
      scope: the agencies (--scope-agency) and/or service units (--scope-unit) it may file
      complaints and submit survey responses for, or --all-agencies for a national channel.
  list [--agency ID] [--all]
      List keys, oldest first: all of them or one agency's; --all includes revoked keys.
  revoke ID
      Revoke a key. Gateways stop accepting it within their key cache lifetime (5 s by
      default). Revoking a revoked key changes nothing.

Options:
  --redis HOST:PORT    Redis address (default 127.0.0.1:6379)
  --key-prefix PREFIX  key prefix of the gateway's API keys (default simpul:gw:{k}:)
  --timeout DURATION   Redis connect and command timeout (default 5s)
  --by SUBJECT         who is acting, recorded as created_by / revoked_by (default cli:$USER)
  -h, --help           print this help

Environment:
  SIMPUL_REDIS_USER, SIMPUL_REDIS_PASSWORD_FILE
                       the Redis ACL user and the file holding its password (mode 600),
                       e.g. simpul-admin and var/redis-auth/simpul-admin.password
  SIMPUL_REDIS_SENTINELS, SIMPUL_REDIS_MASTER_NAME, SIMPUL_REDIS_WAIT_REPLICAS, ...
                       find the master through Redis Sentinel (--redis is then ignored) and
                       wait for replicas after writes (docs/configuration.md)

Exit codes: 0 done, 1 failed, 2 usage error.
)";

const std::map<std::string, cv1::Role, std::less<>>& Roles() {
  static const auto* const roles = new std::map<std::string, cv1::Role, std::less<>>{
      {"agency_admin", cv1::ROLE_AGENCY_ADMIN},
      {"agency_operator", cv1::ROLE_AGENCY_OPERATOR},
      {"channel", cv1::ROLE_CHANNEL},
      {"dashboard", cv1::ROLE_DASHBOARD},
      {"platform_admin", cv1::ROLE_PLATFORM_ADMIN}};
  return *roles;
}

std::string RoleName(cv1::Role role) {
  for (const auto& [name, value] : Roles()) {
    if (value == role) return name;
  }
  return absl::StrCat("role_", static_cast<int>(role));
}

// UsageError prints `message` and a pointer to --help; it returns the usage exit code.
int UsageError(std::string_view message) {
  std::cerr << "simpul-apikey: " << message << "\nRun simpul-apikey --help for usage.\n";
  return kExitUsage;
}

// Args is the parsed command line: flags (with their values) and positional arguments.
struct Args {
  std::map<std::string, std::string, std::less<>> flags;
  std::vector<std::string> positional;
  bool help = false;
};

// ParseArgs accepts "--name value", "--name=value" and the value-less flags --all and
// --help/-h anywhere on the line; everything else is positional ("--" ends the flags).
std::optional<Args> ParseArgs(int argc, char** argv, std::string* error) {
  static const std::set<std::string, std::less<>> kValued = {
      "redis", "key-prefix", "timeout", "by",           "role",
      "label", "agency",     "channel", "scope-agency", "scope-unit"};
  Args args;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      args.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      args.help = true;
      continue;
    }
    if (arg.substr(0, 2) != "--") {
      *error = absl::StrCat("unknown option ", AbslView(arg));
      return std::nullopt;
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    if (name == "all" || name == "all-agencies") {
      if (value) {
        *error = absl::StrCat("--", AbslView(name), " takes no value");
        return std::nullopt;
      }
      args.flags[std::string(name)] = "";
      continue;
    }
    if (!kValued.contains(name)) {
      *error = absl::StrCat("unknown option --", AbslView(name));
      return std::nullopt;
    }
    if (!value) {
      if (i + 1 >= argc) {
        *error = absl::StrCat("--", AbslView(name), " needs a value");
        return std::nullopt;
      }
      value = argv[++i];
    }
    if (args.flags.contains(name)) {
      *error = absl::StrCat("--", AbslView(name), " given twice");
      return std::nullopt;
    }
    args.flags[std::string(name)] = std::move(*value);
  }
  return args;
}

std::string Flag(const Args& args, std::string_view name, std::string fallback = "") {
  auto it = args.flags.find(name);
  return it == args.flags.end() ? std::move(fallback) : it->second;
}

// UnexpectedFlag names the first flag given that is neither global nor in `allowed`.
std::optional<std::string> UnexpectedFlag(const Args& args,
                                          const std::set<std::string, std::less<>>& allowed) {
  static const std::set<std::string, std::less<>> kGlobal = {"redis", "key-prefix", "timeout",
                                                             "by"};
  for (const auto& [name, value] : args.flags) {
    if (!kGlobal.contains(name) && !allowed.contains(name)) return name;
  }
  return std::nullopt;
}

// ParseHostPort splits "host:port" or "[v6]:port".
bool ParseHostPort(std::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty() || !absl::SimpleAtoi(AbslView(address.substr(colon + 1)), port) || *port < 1 ||
      *port > 65535) {
    return false;
  }
  *host = std::string(h);
  return true;
}

std::string DefaultActor() {
  for (const char* name : {"USER", "LOGNAME"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return absl::StrCat("cli:", value);
  }
  return "cli";
}

// OneLine shows a label on one line (labels may hold newlines and tabs).
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

// Command is one parsed command line, ready to run against the store.
struct Command {
  ApiKeyStore& store;
  const Args& args;
  std::string address;  // of Redis, for error messages
  std::string by;       // who is acting
};

// ReportError prints a failed status. INVALID_ARGUMENT (bad flag values) is a usage error
// whose field violations are named by the flags that set them.
int ReportError(const Command& command, const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      break;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      std::cerr << "simpul-apikey: cannot reach Redis at " << command.address << ": "
                << status.message() << "\n";
      return kExitFailure;
    default:
      std::cerr << "simpul-apikey: " << absl::StatusCodeToString(status.code()) << ": "
                << status.message() << "\n";
      return kExitFailure;
  }
  static const std::map<std::string, std::string, std::less<>> kFlagOf = {
      {"principal.role", "--role"},
      {"principal.agency_id", "--agency"},
      {"principal.channel", "--channel"},
      {"principal.scope_agency_ids", "--scope-agency"},
      {"principal.scope_unit_ids", "--scope-unit"},
      {"principal.scope_all_agencies", "--all-agencies"},
      {"label", "--label"},
      {"created_by", "--by"},
      {"revoked_by", "--by"},
      {"agency_id", "--agency"},
      {"id", "ID"}};
  const cv1::BadRequest bad = BadRequestOf(status);
  if (bad.field_violations().empty()) return UsageError(StdView(status.message()));
  std::cerr << "simpul-apikey: invalid arguments:\n";
  for (const cv1::FieldViolation& v : bad.field_violations()) {
    auto it = kFlagOf.find(v.field());
    std::cerr << "  " << (it == kFlagOf.end() ? v.field() : it->second) << ": " << v.description()
              << "\n";
  }
  std::cerr << "Run simpul-apikey --help for usage.\n";
  return kExitUsage;
}

// UsageProblem checks the command line as far as it can without Redis: the command, its
// flags, its arguments and the role; nullopt when it is fine.
std::optional<std::string> UsageProblem(const Args& args) {
  static const std::map<std::string, std::set<std::string, std::less<>>, std::less<>>
      kCommandFlags = {
          {"issue",
           {"role", "label", "agency", "channel", "scope-agency", "scope-unit", "all-agencies"}},
          {"list", {"agency", "all"}},
          {"revoke", {}}};
  if (args.positional.empty()) return "missing command: issue, list or revoke";
  const std::string& command = args.positional[0];
  auto flags = kCommandFlags.find(command);
  if (flags == kCommandFlags.end()) {
    return absl::StrCat("unknown command \"", command, "\": expected issue, list or revoke");
  }
  if (auto bad = UnexpectedFlag(args, flags->second)) {
    return absl::StrCat(command, " does not take --", *bad);
  }
  if (command == "revoke") {
    if (args.positional.size() < 2) return "revoke needs the key id";
    if (args.positional.size() > 2) return "revoke takes one key id";
    return std::nullopt;
  }
  if (args.positional.size() > 1) {
    return absl::StrCat(command, " takes no arguments, got ", args.positional[1]);
  }
  if (command == "issue") {
    const std::string role = Flag(args, "role");
    if (role.empty()) return "issue needs --role";
    if (!Roles().contains(role)) {
      return absl::StrCat("unknown --role ", role,
                          ": expected platform_admin, agency_admin, agency_operator, channel "
                          "or dashboard");
    }
    if (!args.flags.contains("label")) return "issue needs --label";
  }
  return std::nullopt;
}

int Issue(const Command& command) {
  const Args& args = command.args;
  cv1::Principal principal;
  principal.set_role(Roles().find(Flag(args, "role"))->second);
  principal.set_agency_id(Flag(args, "agency"));
  principal.set_channel(Flag(args, "channel"));
  for (absl::string_view id : absl::StrSplit(Flag(args, "scope-agency"), ',', absl::SkipEmpty())) {
    principal.add_scope_agency_ids(std::string(id));
  }
  for (absl::string_view id : absl::StrSplit(Flag(args, "scope-unit"), ',', absl::SkipEmpty())) {
    principal.add_scope_unit_ids(std::string(id));
  }
  principal.set_scope_all_agencies(args.flags.contains("all-agencies"));
  absl::StatusOr<IssuedApiKey> issued =
      command.store.Issue(principal, Flag(args, "label"), command.by);
  if (!issued.ok()) return ReportError(command, issued.status());
  const cv1::Principal& p = issued->key.principal();
  std::cout << "id: " << issued->key.id() << "\n"
            << "role: " << RoleName(p.role()) << "\n";
  if (!p.agency_id().empty()) std::cout << "agency: " << p.agency_id() << "\n";
  if (!p.channel().empty()) std::cout << "channel: " << p.channel() << "\n";
  if (p.scope_all_agencies()) std::cout << "scope: every agency\n";
  if (!p.scope_agency_ids().empty()) {
    std::cout << "scope agencies: " << absl::StrJoin(p.scope_agency_ids(), ",") << "\n";
  }
  if (!p.scope_unit_ids().empty()) {
    std::cout << "scope units: " << absl::StrJoin(p.scope_unit_ids(), ",") << "\n";
  }
  std::cout << "token: " << issued->token << "\n";
  std::cerr << "Store the token now: it is shown only this once.\n";
  return kExitOk;
}

int List(const Command& command) {
  v1::ListApiKeysRequest request;
  request.set_agency_id(Flag(command.args, "agency"));
  request.set_include_revoked(command.args.flags.contains("all"));
  request.mutable_page()->set_page_size(500);
  std::vector<std::vector<std::string>> rows = {
      {"ID", "ROLE", "AGENCY/CHANNEL", "CREATED", "CREATED_BY", "REVOKED", "LABEL"}};
  do {
    absl::StatusOr<v1::ListApiKeysResponse> page = command.store.List(request);
    if (!page.ok()) return ReportError(command, page.status());
    for (const v1::ApiKey& key : page->keys()) {
      const cv1::Principal& p = key.principal();
      std::string scope = !p.agency_id().empty() ? p.agency_id() : p.channel();
      std::string revoked = "-";
      if (key.has_revoke_time()) {
        revoked = absl::StrCat(FormatTime(key.revoke_time()), " by ", key.revoked_by());
      }
      rows.push_back({key.id(), RoleName(p.role()), scope.empty() ? "-" : scope,
                      FormatTime(key.create_time()), key.created_by(), revoked,
                      OneLine(key.label())});
    }
    request.mutable_page()->set_page_token(page->next_page_token());
  } while (!request.page().page_token().empty());

  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c + 1 < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
  std::cerr << rows.size() - 1 << (rows.size() == 2 ? " key" : " keys") << "\n";
  return kExitOk;
}

int Revoke(const Command& command) {
  const std::string& id = command.args.positional[1];
  absl::StatusOr<v1::ApiKey> before = command.store.Get(id);
  if (!before.ok()) return ReportError(command, before.status());
  const bool was_revoked = before->has_revoke_time();
  absl::StatusOr<v1::ApiKey> key = command.store.Revoke(id, command.by);
  if (!key.ok()) return ReportError(command, key.status());
  std::cout << (was_revoked ? "already revoked: " : "revoked: ") << key->id() << " ("
            << RoleName(key->principal().role()) << ", \"" << OneLine(key->label()) << "\") at "
            << FormatTime(key->revoke_time()) << " by " << key->revoked_by() << "\n";
  return kExitOk;
}

int Run(int argc, char** argv) {
  std::string error;
  std::optional<Args> args = ParseArgs(argc, argv, &error);
  if (!args) return UsageError(error);
  if (args->help) {
    std::cout << kUsage;
    return kExitOk;
  }
  if (std::optional<std::string> problem = UsageProblem(*args)) return UsageError(*problem);

  RedisOptions redis;
  const std::string address = Flag(*args, "redis", "127.0.0.1:6379");
  if (!ParseHostPort(address, &redis.host, &redis.port)) {
    return UsageError(absl::StrCat("--redis ", address, ": expected HOST:PORT"));
  }
  if (absl::Status credentials = SetRedisOptionsFromEnv(&redis); !credentials.ok()) {
    return UsageError(std::string(credentials.message()));
  }
  absl::Duration timeout = absl::Seconds(5);
  if (args->flags.contains("timeout") &&
      (!absl::ParseDuration(Flag(*args, "timeout"), &timeout) || timeout <= absl::ZeroDuration())) {
    return UsageError(
        absl::StrCat("--timeout ", Flag(*args, "timeout"), ": expected a duration like 5s"));
  }
  redis.pool_size = 1;
  redis.connect_timeout = timeout;
  redis.command_timeout = timeout;
  redis.acquire_timeout = timeout;
  ApiKeyStore::Options options;
  options.key_prefix = Flag(*args, "key-prefix", options.key_prefix);
  options.cache_ttl = absl::ZeroDuration();
  // The pool connects on first use, after the store has validated the arguments: a bad flag
  // value is a usage error even while Redis is down.
  RedisPool pool(redis);
  absl::StatusOr<std::unique_ptr<ApiKeyStore>> store = ApiKeyStore::Create(&pool, options);
  if (!store.ok()) return UsageError(StdView(store.status().message()));

  const Command command{**store, *args, address, Flag(*args, "by", DefaultActor())};
  const std::string& name = args->positional[0];
  if (name == "issue") return Issue(command);
  if (name == "list") return List(command);
  return Revoke(command);
}

}  // namespace
}  // namespace simpul::gateway

int main(int argc, char** argv) { return simpul::gateway::Run(argc, argv); }
