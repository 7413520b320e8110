// Start-up steps every Simpul service process shares, driven by the common config keys
// (CommonServiceConfigKeys): logging, the identity key and the Redis pool options.
#ifndef SIMPUL_COMMON_SERVICE_SETUP_H_
#define SIMPUL_COMMON_SERVICE_SETUP_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/calendar.h"
#include "common/config.h"
#include "common/identity.h"
#include "common/redis.h"
#include "common/server.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"

namespace simpul {

// ConfigureLogging names the service in every log line and applies log_level.
void ConfigureLogging(const Config& config, std::string_view service_name);

// LoadIdentitySigner loads the identity keys: identity_private_key_file (the key this process
// signs with, if it signs), identity_trusted_keys (the public keys it verifies tokens with, for
// tokens whose audience is `audience`; ROLE_SERVICE tokens only if `accept_service_role`) and
// identity_max_ttl. Without either file it returns
// null and logs that every call will be public (writes refused). A missing, unreadable or
// wrong-type key, or the retired identity_key_file, is an error naming the key.
absl::StatusOr<std::unique_ptr<IdentitySigner>> LoadIdentitySigner(
    const Config& config, std::string_view audience, bool accept_service_role = false);

// RedisOptionsFromConfig reads redis_addr, redis_pool_size, redis_timeout, redis_user,
// redis_password_file, the Sentinel keys (redis_sentinels, redis_master_name,
// redis_sentinel_user, redis_sentinel_password_file) and the WAIT keys (redis_wait_replicas,
// redis_wait_timeout); the password files are read here; an error names the key.
absl::StatusOr<RedisOptions> RedisOptionsFromConfig(const Config& config);

// ServiceBasics is what every service process sets up first: its validated configuration,
// the identity keys (null without identity_private_key_file and identity_trusted_keys) and the
// internal TLS certificates (null without the internal_tls_* keys: plaintext).
struct ServiceBasics {
  Config config;
  std::unique_ptr<IdentitySigner> signer;
  std::unique_ptr<InternalTls> internal_tls;
};

// SetUpService parses flags and SIMPUL_<env_prefix>_* variables against `keys`, configures
// logging as `service_name`, loads the identity keys (audience `service_name`) and the internal
// TLS certificates (a warning when there are none). On failure (or
// --help) it prints why and returns nullopt with the process exit code in *exit_code (0 for --help,
// 2 otherwise).
std::optional<ServiceBasics> SetUpService(std::string_view env_prefix,
                                          std::string_view service_name,
                                          const std::vector<ConfigKey>& keys, int argc, char** argv,
                                          char** envp, int* exit_code,
                                          bool accept_service_role = false);

// HostOptionsFromConfig fills the listen and admin addresses and the drain timeout of a
// service host from the common keys.
ServiceHostOptions HostOptionsFromConfig(const Config& config, std::string service_name);

// KeepaliveChannel is a client channel to another Simpul service whose keepalive pings notice
// a silently dropped connection under long-lived streams (e.g. the registry's change feed).
// With `tls` (null: plaintext) it is mutual TLS and the server must present a certificate
// naming `server_name` (kRegistryTlsName, ...; common/tls.h). `address` is host:port, or a
// comma-separated list of replicas' IPv4 host:port, balanced round-robin over those connected.
std::shared_ptr<grpc::Channel> KeepaliveChannel(const std::string& address, const InternalTls* tls,
                                                const std::string& server_name);

// Config keys that more than one service declares, each with its one default.
// ValidateServiceAddresses accepts what KeepaliveChannel takes: host:port, or a comma-separated
// list of IPv4 host:port (each port 1..65535).
absl::Status ValidateServiceAddresses(std::string_view value);
// RegistryAddrKey: registry_addr, the address of simpul-registry (`help` says what for).
ConfigKey RegistryAddrKey(std::string help);
// RegistryTimeoutKey: registry_timeout, the deadline of one call to the registry.
ConfigKey RegistryTimeoutKey(std::string help);
// HolidaysDirKey: holidays_dir, the directory of the holiday files.
ConfigKey HolidaysDirKey();

// LoadHolidays reads the holiday calendars of holidays_dir; an error names the key.
absl::StatusOr<std::unique_ptr<CalendarRegistry>> LoadHolidays(const Config& config);
// ReloadHolidays re-reads the holiday files; on failure it logs a warning and the previous
// calendar stays in force.
void ReloadHolidays(CalendarRegistry& calendars);

}  // namespace simpul

#endif  // SIMPUL_COMMON_SERVICE_SETUP_H_
