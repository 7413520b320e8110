// simpul-pii-rekey re-seals every complainant identity simpul-complaints keeps in Redis under
// the active PII key: identities still in clear (written before issue #13) and identities
// sealed under an older key. Idempotent (identities already under the active key are left
// alone) and resumable: it prints the SCAN cursor after every batch, and --cursor=C continues
// from there. Run it after adding a key and making it active (docs/operations.md):
//   simpul-pii-rekey --redis_addr=127.0.0.1:6379 --pii_keys_file=var/pii.keys
//                    --pii_active_key_id=k2
// Configuration: flags or SIMPUL_PII_REKEY_* environment variables (--help lists them); the
// Redis ACL user and its password file from SIMPUL_REDIS_USER and SIMPUL_REDIS_PASSWORD_FILE,
// Redis Sentinel and WAIT from SIMPUL_REDIS_SENTINELS, ... (docs/configuration.md).
// Exit status: 0 every identity is under the active key; 1 some could not be re-sealed (each
// is listed) or Redis failed; 2 bad usage or key file.
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/redis.h"
#include "common/redis_auth.h"
#include "services/complaints/pii_config.h"
#include "services/complaints/pii_crypto.h"
#include "services/complaints/redis_store.h"

extern char** environ;

namespace simpul::complaints {
namespace {

std::vector<ConfigKey> Keys() {
  std::vector<ConfigKey> keys = {
      {.name = "redis_addr",
       .type = ConfigType::kHostPort,
       .default_value = "127.0.0.1:6379",
       .help = "Redis of simpul-complaints"},
      {.name = "cursor",
       .type = ConfigType::kString,
       .default_value = "0",
       .help = "SCAN cursor to resume from (the last one a run printed); 0: the start"},
      {.name = "batch",
       .type = ConfigType::kInt,
       .default_value = "500",
       .help = "case keys per SCAN step",
       .min_int = 1,
       .max_int = 100000},
  };
  for (ConfigKey& key : PiiConfigKeys()) keys.push_back(std::move(key));
  return keys;
}

void PrintStats(const RedisComplaintStore::RekeyStats& s, const std::string& cursor) {
  std::cout << "cursor=" << cursor << " scanned=" << s.scanned << " sealed=" << s.sealed
            << " rotated=" << s.rotated << " current=" << s.current
            << " no_identity=" << s.no_identity << " raced=" << s.raced
            << " failed=" << s.failures.size() << std::endl;
}

int Run(int argc, char** argv) {
  const std::vector<ConfigKey> keys = Keys();
  absl::StatusOr<Config> config = Config::Parse("PII_REKEY", keys, argc, argv, environ);
  if (!config.ok()) {
    if (config.status().code() == absl::StatusCode::kFailedPrecondition) {  // --help
      std::cout << "usage: simpul-pii-rekey [--flag=value]...\n" << config.status().message();
      return 0;
    }
    std::cerr << "simpul-pii-rekey: " << config.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<PiiKeyring> ring = PiiKeyringFromConfig(*config);
  if (!ring.ok()) {
    std::cerr << "simpul-pii-rekey: " << ring.status().message() << "\n";
    return 2;
  }
  RedisOptions redis;
  std::tie(redis.host, redis.port) = config->GetHostPort("redis_addr");
  redis.pool_size = 1;
  redis.command_timeout = absl::Seconds(10);
  if (absl::Status credentials = SetRedisOptionsFromEnv(&redis); !credentials.ok()) {
    std::cerr << "simpul-pii-rekey: " << credentials.message() << "\n";
    return 2;
  }
  RedisPool pool(redis);
  RedisComplaintStore store(&pool, RedisComplaintStore::Options{.pii_keys = &*ring});

  std::cout << "re-sealing identities under PII key \"" << ring->active_key_id() << "\""
            << std::endl;
  RedisComplaintStore::RekeyStats stats;
  std::string cursor = config->GetString("cursor");
  const int batch = static_cast<int>(config->GetInt("batch"));
  size_t reported = 0;
  do {
    absl::StatusOr<std::string> next = store.RekeyIdentities(cursor, batch, &stats);
    if (!next.ok()) {
      std::cerr << "simpul-pii-rekey: " << next.status() << " (resume with --cursor=" << cursor
                << ")\n";
      PrintStats(stats, cursor);
      return 1;
    }
    for (; reported < stats.failures.size(); ++reported) {
      std::cerr << "not re-sealed: " << stats.failures[reported] << "\n";
    }
    cursor = *std::move(next);
    PrintStats(stats, cursor);
  } while (cursor != "0");
  std::cout << "done: " << stats.sealed + stats.rotated << " re-sealed, " << stats.current
            << " already current, " << stats.failures.size() << " failed";
  if (stats.raced > 0) std::cout << ", " << stats.raced << " changed meanwhile (run again)";
  std::cout << std::endl;
  return stats.failures.empty() && stats.raced == 0 ? 0 : 1;
}

}  // namespace
}  // namespace simpul::complaints

int main(int argc, char** argv) { return simpul::complaints::Run(argc, argv); }
