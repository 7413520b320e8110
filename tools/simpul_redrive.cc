// simpul-redrive lists the entries of a dead-letter stream (what a StreamConsumer gave up on)
// and puts them back into the streams they came from once the cause is fixed:
//   simpul-redrive --dead-letter-stream='simpul:cmp:{c}:events:dead:simpul-monitoring' list
//   simpul-redrive --redis=10.0.0.5:6379 --dead-letter-stream=KEY redrive --dry-run
//   simpul-redrive --dead-letter-stream=KEY redrive --id=1712345678901-0 --id=1712345678950-0
// Exit status: 0 done, 1 Redis failed or some entries could not be re-driven (each is listed
// with the reason), 2 bad usage.
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/redis.h"
#include "common/redis_auth.h"
#include "common/stream_consumer.h"

namespace {

constexpr char kSynopsis[] =
    "usage: simpul-redrive [--redis=HOST:PORT] --dead-letter-stream=KEY list [--max=N]\n"
    "       simpul-redrive [--redis=HOST:PORT] --dead-letter-stream=KEY redrive [--max=N]\n"
    "                      [--dry-run] [--id=ID]...\n"
    "Run with --help for the details.\n";

constexpr char kUsage[] =
    R"(usage: simpul-redrive [--redis=HOST:PORT] --dead-letter-stream=KEY COMMAND

Commands:
  list [--max=N]
      Print the oldest N entries of the dead-letter stream (default 100): id, original entry
      id, original stream, deliveries and the last error, or why an entry is malformed.
  redrive [--max=N] [--dry-run] [--id=ID]...
      Put entries back into their original streams, oldest first, each moved atomically (XADD
      there, XDEL here), so the consumer group handles them again. --max: at most N entries
      (default: all present when the command starts). --dry-run: check and report, change
      nothing. --id (repeatable): only these dead-letter entry ids. Malformed entries stay.

Flags:
  --redis=HOST:PORT            Redis address (default 127.0.0.1:6379)
  --dead-letter-stream=KEY     the dead-letter stream, e.g. the monitoring service's
                               'simpul:cmp:{c}:events:dead:simpul-monitoring'
A flag's value may also follow it as the next argument (--max 10).

Environment: SIMPUL_REDIS_USER and SIMPUL_REDIS_PASSWORD_FILE, the Redis ACL user and the file
holding its password (mode 600), e.g. simpul-admin and var/redis-auth/simpul-admin.password.
SIMPUL_REDIS_SENTINELS, SIMPUL_REDIS_MASTER_NAME, ...: find the master through Redis Sentinel
(--redis is then ignored; docs/configuration.md).

Exit status: 0 done; 1 Redis failed, or some entries could not be re-driven; 2 bad usage.
)";

struct Args {
  std::string command;  // "list" or "redrive"
  std::string redis_host = "127.0.0.1";
  int redis_port = 6379;
  std::string dead_letter_stream;
  std::optional<int64_t> max;
  bool dry_run = false;
  std::vector<std::string> ids;
};

// ParseHostPort reads "host:port" or "[v6]:port" with a port of 1..65535.
bool ParseHostPort(std::string_view text, std::string* host, int* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = text.substr(0, colon);
  const std::string_view p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return false;  // an IPv6 host needs brackets
  }
  if (h.empty() || p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
  }
  int value = 0;
  if (!absl::SimpleAtoi(simpul::AbslView(p), &value) || value < 1 || value > 65535) return false;
  *host = std::string(h);
  *port = value;
  return true;
}

// ParseArgs fills `args` or returns what is wrong with the command line. Flags may come before
// or after the command; each but --id at most once.
std::optional<std::string> ParseArgs(int argc, char** argv, Args* args) {
  bool seen_redis = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() < 2 || arg.substr(0, 2) != "--") {
      if (!args->command.empty()) {
        return absl::StrCat("unexpected argument \"", simpul::AbslView(arg), "\" after the ",
                            args->command, " command");
      }
      if (arg != "list" && arg != "redrive") {
        return absl::StrCat("unknown command \"", simpul::AbslView(arg),
                            "\"; expected list or redrive");
      }
      args->command = std::string(arg);
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string name(arg.substr(2, eq == std::string_view::npos ? arg.npos : eq - 2));
    if (name == "dry-run") {
      if (eq != std::string_view::npos) return std::string("--dry-run takes no value");
      if (args->dry_run) return std::string("--dry-run given more than once");
      args->dry_run = true;
      continue;
    }
    if (name != "redis" && name != "dead-letter-stream" && name != "max" && name != "id") {
      return absl::StrCat("unknown flag --", name);
    }
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::StrCat("--", name, " needs a value");
    }
    if (name == "redis") {
      if (seen_redis) return std::string("--redis given more than once");
      seen_redis = true;
      if (!ParseHostPort(value, &args->redis_host, &args->redis_port)) {
        return absl::StrCat("--redis: expected HOST:PORT with a port of 1..65535, got \"", value,
                            "\"");
      }
    } else if (name == "dead-letter-stream") {
      if (!args->dead_letter_stream.empty()) {
        return std::string("--dead-letter-stream given more than once");
      }
      if (value.empty()) return std::string("--dead-letter-stream: expected a key, got \"\"");
      args->dead_letter_stream = std::move(value);
    } else if (name == "max") {
      if (args->max) return std::string("--max given more than once");
      int64_t n = 0;
      if (!absl::SimpleAtoi(value, &n) || n < 1) {
        return absl::StrCat("--max: expected a positive integer, got \"", value, "\"");
      }
      args->max = n;
    } else {  // id
      if (value.empty()) return std::string("--id: expected a dead-letter entry id, got \"\"");
      args->ids.push_back(std::move(value));
    }
  }
  if (args->command.empty()) return std::string("missing the command: list or redrive");
  if (args->dead_letter_stream.empty()) return std::string("--dead-letter-stream is required");
  if (args->command == "list" && (args->dry_run || !args->ids.empty())) {
    return std::string("--dry-run and --id go with the redrive command, not list");
  }
  return std::nullopt;
}

int List(simpul::RedisPool& pool, const Args& args) {
  const int64_t max = args.max.value_or(100);
  auto entries = simpul::ListDeadLetters(&pool, args.dead_letter_stream, max);
  if (!entries.ok()) {
    std::cerr << "list: " << entries.status() << "\n";
    return 1;
  }
  for (const simpul::DeadLetterEntry& e : *entries) {
    if (!e.problem.empty()) {
      std::cout << e.id << " malformed: " << e.problem << "\n";
      continue;
    }
    std::cout << e.id << " original=" << e.original_id << " stream=" << e.stream
              << " deliveries=" << e.deliveries << " error=\"" << absl::CEscape(e.error) << "\"\n";
  }
  absl::StatusOr<simpul::RedisReply> len = pool.Command({"XLEN", args.dead_letter_stream});
  std::optional<int64_t> total = len.ok() ? simpul::ReplyInt(*len) : std::nullopt;
  std::cout << entries->size() << " listed";
  if (total) std::cout << " of " << *total << " in " << args.dead_letter_stream;
  std::cout << "\n";
  return 0;
}

int Redrive(simpul::RedisPool& pool, const Args& args) {
  simpul::RedriveOptions options;
  options.max_entries = args.max.value_or(0);
  options.dry_run = args.dry_run;
  options.ids = args.ids;
  auto result = simpul::RedriveDeadLetters(&pool, args.dead_letter_stream, options);
  if (!result.ok()) {
    std::cerr << "redrive: " << result.status() << "\n";
    return 1;
  }
  for (const simpul::RedrivenEntry& e : result->redriven) {
    if (args.dry_run) {
      std::cout << "would redrive " << e.dead_letter_id << " -> " << e.stream << " (original "
                << e.original_id << ")\n";
    } else {
      std::cout << "redriven " << e.dead_letter_id << " -> " << e.stream << " " << e.new_id
                << " (original " << e.original_id << ")\n";
    }
  }
  for (const simpul::RedriveSkip& s : result->skipped) {
    std::cout << "skipped " << s.id << ": " << s.reason << "\n";
  }
  std::cout << (args.dry_run ? "dry run: would redrive " : "redriven ") << result->redriven.size()
            << ", skipped " << result->skipped.size() << "\n";
  return result->skipped.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      std::cout << kUsage;
      return 0;
    }
  }
  Args args;
  if (std::optional<std::string> error = ParseArgs(argc, argv, &args)) {
    std::cerr << "simpul-redrive: " << *error << "\n" << kSynopsis;
    return 2;
  }
  simpul::RedisOptions redis;
  redis.host = args.redis_host;
  redis.port = args.redis_port;
  redis.pool_size = 1;
  if (absl::Status credentials = simpul::SetRedisOptionsFromEnv(&redis); !credentials.ok()) {
    std::cerr << "simpul-redrive: " << credentials.message() << "\n";
    return 2;
  }
  simpul::RedisPool pool(redis);
  if (absl::Status ping = pool.Ping(); !ping.ok()) {
    std::cerr << "simpul-redrive: cannot reach Redis";
    if (redis.sentinels.empty()) std::cerr << " at " << args.redis_host << ":" << args.redis_port;
    std::cerr << ": " << ping << "\n";
    return 1;
  }
  return args.command == "list" ? List(pool, args) : Redrive(pool, args);
}
