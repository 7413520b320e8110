// Typed process configuration from command-line flags and environment variables, validated
// at start. Each key "foo_bar" of a process with prefix "REGISTRY" is read from the flag
// --foo_bar=VALUE, else the environment variable SIMPUL_REGISTRY_FOO_BAR, else its default.
// Unknown flags, unknown SIMPUL_REGISTRY_* variables and malformed values are rejected with a
// message naming the key, so a typo never silently falls back to a default.
#ifndef SIMPUL_COMMON_CONFIG_H_
#define SIMPUL_COMMON_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace simpul {

enum class ConfigType {
  kString,
  kInt,       // decimal integer
  kBool,      // true/false/1/0
  kDuration,  // absl duration syntax: "500ms", "2s", "1m"
  kHostPort,  // "host:port" with port 0..65535 (0 = pick a free port)
};

struct ConfigKey {
  std::string name;  // lower_snake_case
  ConfigType type = ConfigType::kString;
  std::string default_value;  // must itself be valid
  std::string help;
  // Optional extra check of the (already type-checked) value; return an error explaining
  // what is expected.
  std::function<absl::Status(std::string_view value)> validate;
  int64_t min_int = INT64_MIN;  // bounds for kInt
  int64_t max_int = INT64_MAX;
};

// DurationAtLeast is a ConfigKey::validate for a kDuration key that must be at least `min`
// ("expected a duration of at least 1h").
std::function<absl::Status(std::string_view value)> DurationAtLeast(absl::Duration min);

class Config {
 public:
  // Parse validates every key. `env` is the process environment ("NAME=VALUE" strings);
  // argv[0] is skipped. "--help" yields a FAILED_PRECONDITION whose message is the usage text.
  static absl::StatusOr<Config> Parse(std::string_view env_prefix,
                                      const std::vector<ConfigKey>& keys, int argc,
                                      const char* const* argv, const char* const* env);

  // Getters abort (programming error) if the key was not declared or has another type.
  const std::string& GetString(std::string_view name) const;
  int64_t GetInt(std::string_view name) const;
  bool GetBool(std::string_view name) const;
  absl::Duration GetDuration(std::string_view name) const;
  // GetHostPort returns the host and port of a kHostPort key.
  std::pair<std::string, int> GetHostPort(std::string_view name) const;
  // GetAddress returns a kHostPort key as written ("host:port" or "[v6]:port"), ready for a
  // listen or connect call.
  const std::string& GetAddress(std::string_view name) const;

  // Usage text listing every key with its variable, default and help.
  static std::string Usage(std::string_view env_prefix, const std::vector<ConfigKey>& keys);

 private:
  struct Value {
    ConfigType type;
    std::string raw;
  };
  const Value& Find(std::string_view name, ConfigType type) const;
  std::map<std::string, Value, std::less<>> values_;
};

// Keys every Simpul service process shares: listen, admin_listen, redis_addr,
// redis_pool_size, redis_timeout, identity_trusted_keys, identity_private_key_file,
// identity_max_ttl, identity_key_file (retired), drain_timeout, log_level, workers,
// redis_user, redis_password_file, redis_sentinels, redis_master_name, redis_sentinel_user,
// redis_sentinel_password_file, redis_wait_replicas, redis_wait_timeout, internal_tls_cert_file,
// internal_tls_key_file, internal_tls_ca_file, internal_tls_allowed_peers (common/tls.h).
std::vector<ConfigKey> CommonServiceConfigKeys(std::string_view default_listen,
                                               std::string_view default_admin_listen);

}  // namespace simpul

#endif  // SIMPUL_COMMON_CONFIG_H_
