// Redis ACL credentials of a Simpul process: the user name and the file holding its password
// (deploy/redis-users writes one per user under var/redis-auth/, mode 600). Services read them
// from the config keys redis_user and redis_password_file (CommonServiceConfigKeys); the
// command-line tools from the environment variables SIMPUL_REDIS_USER and
// SIMPUL_REDIS_PASSWORD_FILE, all through this one helper. The same goes for the Sentinel
// and WAIT settings: keys redis_sentinels, redis_master_name, redis_sentinel_user,
// redis_sentinel_password_file, redis_wait_replicas, redis_wait_timeout; variables
// SIMPUL_REDIS_SENTINELS, ... (SetRedisOptionsFromEnv).
#ifndef SIMPUL_COMMON_REDIS_AUTH_H_
#define SIMPUL_COMMON_REDIS_AUTH_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis.h"

namespace simpul {

// ReadRedisPasswordFile reads a password file: a regular file, not readable or writable by
// group or others (like ssh's private keys), holding one non-empty line without spaces (a
// trailing newline is dropped). Errors name the file and never show its content.
absl::StatusOr<std::string> ReadRedisPasswordFile(const std::string& path);

// SetRedisCredentials fills options->user and options->password from a user name and a
// password file (both may be empty: no AUTH). A user without a password file is an error;
// a password file without a user authenticates as Redis's default user. `user_source` and
// `file_source` name where the values came from (a config key or a variable) in errors.
absl::Status SetRedisCredentials(std::string_view user, const std::string& password_file,
                                 std::string_view user_source, std::string_view file_source,
                                 RedisOptions* options);

// The environment variables of the command-line tools.
inline constexpr char kRedisUserEnv[] = "SIMPUL_REDIS_USER";
inline constexpr char kRedisPasswordFileEnv[] = "SIMPUL_REDIS_PASSWORD_FILE";

// SetRedisCredentialsFromEnv is SetRedisCredentials with SIMPUL_REDIS_USER and
// SIMPUL_REDIS_PASSWORD_FILE (unset: no AUTH), for the command-line tools.
absl::Status SetRedisCredentialsFromEnv(RedisOptions* options);

// RedisSettingNames says how errors name a Sentinel or WAIT setting: as the config key
// ("redis_sentinels") or as the environment variable ("SIMPUL_REDIS_SENTINELS").
enum class RedisSettingNames { kConfigKeys, kEnvironment };

// SetRedisSentinels fills options->sentinels (a comma-separated host:port list; empty: no
// Sentinel, the pool connects to options->host:port), master_name (required with sentinels)
// and the sentinels' credentials (sentinel_user and the password in sentinel_password_file,
// both optional; a user needs a password file). Errors name the setting.
absl::Status SetRedisSentinels(std::string_view sentinels, std::string_view master_name,
                               std::string_view sentinel_user,
                               const std::string& sentinel_password_file, RedisSettingNames names,
                               RedisOptions* options);

// SetRedisWait fills options->wait_replicas (0..64; 0: no WAIT) and wait_timeout (positive).
absl::Status SetRedisWait(int64_t replicas, absl::Duration timeout, RedisSettingNames names,
                          RedisOptions* options);

// The environment variables of the command-line tools' Sentinel and WAIT settings.
inline constexpr char kRedisSentinelsEnv[] = "SIMPUL_REDIS_SENTINELS";
inline constexpr char kRedisMasterNameEnv[] = "SIMPUL_REDIS_MASTER_NAME";
inline constexpr char kRedisSentinelUserEnv[] = "SIMPUL_REDIS_SENTINEL_USER";
inline constexpr char kRedisSentinelPasswordFileEnv[] = "SIMPUL_REDIS_SENTINEL_PASSWORD_FILE";
inline constexpr char kRedisWaitReplicasEnv[] = "SIMPUL_REDIS_WAIT_REPLICAS";
inline constexpr char kRedisWaitTimeoutEnv[] = "SIMPUL_REDIS_WAIT_TIMEOUT";

// SetRedisOptionsFromEnv is what a command-line tool calls after filling host and port from
// its own flag: the credentials (SetRedisCredentialsFromEnv), then the Sentinel settings
// (SIMPUL_REDIS_SENTINELS set: its --redis address is ignored and the master is asked for
// SIMPUL_REDIS_MASTER_NAME, default "simpul") and WAIT (SIMPUL_REDIS_WAIT_REPLICAS,
// SIMPUL_REDIS_WAIT_TIMEOUT, default 500ms). Unset variables keep the defaults.
absl::Status SetRedisOptionsFromEnv(RedisOptions* options);

}  // namespace simpul

#endif  // SIMPUL_COMMON_REDIS_AUTH_H_
