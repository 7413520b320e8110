// Redis ACL credentials of a Simpul process: the user name and the file holding its password
// (deploy/redis-users writes one per user under var/redis-auth/, mode 600). Services read them
// from the config keys redis_user and redis_password_file (CommonServiceConfigKeys); the
// command-line tools from the environment variables SIMPUL_REDIS_USER and
// SIMPUL_REDIS_PASSWORD_FILE, all through this one helper.
#ifndef SIMPUL_COMMON_REDIS_AUTH_H_
#define SIMPUL_COMMON_REDIS_AUTH_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

}  // namespace simpul

#endif  // SIMPUL_COMMON_REDIS_AUTH_H_
