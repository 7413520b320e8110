#include "common/service_setup.h"

#include <iostream>
#include <string>
#include <tuple>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/redis_auth.h"
#include "common/status.h"

namespace simpul {

void ConfigureLogging(const Config& config, std::string_view service_name) {
  SetLogServiceName(std::string(service_name));
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(config.GetString("log_level"), &level);
  SetMinLogLevel(level);
}

absl::StatusOr<std::unique_ptr<IdentitySigner>> LoadIdentitySigner(const Config& config,
                                                                   std::string_view audience,
                                                                   bool accept_service_role) {
  if (!config.GetString("identity_key_file").empty()) {
    return absl::InvalidArgumentError(
        "identity_key_file: the shared HMAC identity key is no longer supported; give the "
        "service identity_trusted_keys (public keys it trusts) and, if it calls another "
        "service or signs for callers, identity_private_key_file (docs/operations.md, "
        "\"Identity keys\")");
  }
  IdentitySigner::Options options;
  options.audience = std::string(audience);
  options.max_ttl = config.GetDuration("identity_max_ttl");
  options.accept_service_role = accept_service_role;
  auto signer = std::make_unique<IdentitySigner>(options);
  const std::string private_key = config.GetString("identity_private_key_file");
  if (!private_key.empty()) {
    if (absl::Status loaded = signer->LoadPrivateKeyFile(private_key); !loaded.ok()) {
      return absl::InvalidArgumentError("identity_private_key_file: " +
                                        std::string(loaded.message()));
    }
  }
  const std::string trusted = config.GetString("identity_trusted_keys");
  if (!trusted.empty()) {
    if (absl::Status loaded = signer->LoadTrustedKeysFile(trusted); !loaded.ok()) {
      return absl::InvalidArgumentError("identity_trusted_keys: " + std::string(loaded.message()));
    }
  }
  if (private_key.empty() && trusted.empty()) {
    Log(LogLevel::kWarn,
        "no identity_trusted_keys: every call is public and identity tokens are refused");
    return nullptr;
  }
  if (trusted.empty()) {
    Log(LogLevel::kWarn,
        "no identity_trusted_keys: identity tokens sent to this process are "
        "refused");
  }
  return signer;
}

absl::StatusOr<RedisOptions> RedisOptionsFromConfig(const Config& config) {
  RedisOptions options;
  std::tie(options.host, options.port) = config.GetHostPort("redis_addr");
  options.pool_size = static_cast<int>(config.GetInt("redis_pool_size"));
  options.command_timeout = config.GetDuration("redis_timeout");
  SIMPUL_RETURN_IF_ERROR(SetRedisCredentials(config.GetString("redis_user"),
                                             config.GetString("redis_password_file"), "redis_user",
                                             "redis_password_file", &options));
  SIMPUL_RETURN_IF_ERROR(SetRedisSentinels(
      config.GetString("redis_sentinels"), config.GetString("redis_master_name"),
      config.GetString("redis_sentinel_user"), config.GetString("redis_sentinel_password_file"),
      RedisSettingNames::kConfigKeys, &options));
  SIMPUL_RETURN_IF_ERROR(SetRedisWait(config.GetInt("redis_wait_replicas"),
                                      config.GetDuration("redis_wait_timeout"),
                                      RedisSettingNames::kConfigKeys, &options));
  return options;
}

std::optional<ServiceBasics> SetUpService(std::string_view env_prefix,
                                          std::string_view service_name,
                                          const std::vector<ConfigKey>& keys, int argc, char** argv,
                                          char** envp, int* exit_code, bool accept_service_role) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles (a debugging aid
  // that costs a graph update per lock); the services run without it, tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto config = Config::Parse(env_prefix, keys, argc, argv, envp);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    *exit_code = config.status().code() == absl::StatusCode::kFailedPrecondition ? 0 : 2;
    return std::nullopt;
  }
  ConfigureLogging(*config, service_name);
  auto signer = LoadIdentitySigner(*config, service_name, accept_service_role);
  if (!signer.ok()) {
    Log(LogLevel::kError, std::string(signer.status().message()));
    *exit_code = 2;
    return std::nullopt;
  }
  auto tls = InternalTls::FromConfig(*config);
  if (!tls.ok()) {
    Log(LogLevel::kError, std::string(tls.status().message()));
    *exit_code = 2;
    return std::nullopt;
  }
  if (*tls == nullptr) {
    Log(LogLevel::kWarn,
        "no internal_tls_cert_file, internal_tls_key_file, internal_tls_ca_file: the gRPC "
        "port and calls to other components are plaintext");
  } else {
    Log(LogLevel::kInfo, "internal mTLS on",
        {{"cert", (*tls)->files().cert_file}, {"ca", (*tls)->files().ca_file}});
  }
  return ServiceBasics{*std::move(config), *std::move(signer), *std::move(tls)};
}

ServiceHostOptions HostOptionsFromConfig(const Config& config, std::string service_name) {
  ServiceHostOptions options;
  options.listen_address = config.GetAddress("listen");
  options.admin_address = config.GetAddress("admin_listen");
  options.service_name = std::move(service_name);
  options.drain_timeout = config.GetDuration("drain_timeout");
  return options;
}

std::shared_ptr<grpc::Channel> KeepaliveChannel(const std::string& address, const InternalTls* tls,
                                                const std::string& server_name) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      InternalChannelCredentials(tls, server_name, &args);
  return grpc::CreateCustomChannel(address, credentials, args);
}

ConfigKey RegistryAddrKey(std::string help) {
  return {.name = "registry_addr",
          .type = ConfigType::kHostPort,
          .default_value = "127.0.0.1:7101",
          .help = std::move(help)};
}

ConfigKey RegistryTimeoutKey(std::string help) {
  return {.name = "registry_timeout",
          .type = ConfigType::kDuration,
          .default_value = "2s",
          .help = std::move(help)};
}

ConfigKey HolidaysDirKey() {
  return {.name = "holidays_dir",
          .type = ConfigType::kString,
          .default_value = "deploy/holidays",
          .help = "directory of holiday files, one <year>.json per year"};
}

absl::StatusOr<std::unique_ptr<CalendarRegistry>> LoadHolidays(const Config& config) {
  auto calendars = CalendarRegistry::Create(config.GetString("holidays_dir"));
  if (!calendars.ok()) {
    return absl::InvalidArgumentError("holidays_dir: " + std::string(calendars.status().message()));
  }
  return calendars;
}

void ReloadHolidays(CalendarRegistry& calendars) {
  if (absl::Status reloaded = calendars.Reload(); !reloaded.ok()) {
    Log(LogLevel::kWarn, "holiday reload failed; the previous calendar stays in force",
        {{"error", reloaded.ToString()}});
  }
}

}  // namespace simpul
