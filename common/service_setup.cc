#include "common/service_setup.h"

#include <arpa/inet.h>

#include <iostream>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
  std::string target = address;
  if (absl::StrContains(address, ',')) {
    // Replicas: one static set of literal addresses, calls spread round-robin over those
    // connected (a dead replica's connection fails and is skipped until it reconnects).
    target = absl::StrCat("ipv4:", address);
    args.SetServiceConfigJSON(R"({"loadBalancingConfig":[{"round_robin":{}}]})");
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    // The min connect timeout (a connection attempt gets max(backoff, this)): 100 ms cut TLS
    // handshakes short on a loaded machine (gateway/proxy.cc, ChannelFor, says more).
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      InternalChannelCredentials(tls, server_name, &args);
  return grpc::CreateCustomChannel(target, credentials, args);
}

absl::Status ValidateServiceAddresses(std::string_view value) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(value.data(), value.size()), ',');
  for (absl::string_view part : parts) {
    size_t colon = part.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(part.substr(colon + 1), &port) || port < 1 || port > 65535 ||
        !absl::ascii_isdigit(static_cast<unsigned char>(part.back()))) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected host:port or a comma-separated list of IPv4 host:port; \"", part,
                       "\" is not host:port with port 1..65535"));
    }
    if (parts.size() > 1) {
      std::string host(part.substr(0, colon));
      in_addr ignored;
      if (inet_pton(AF_INET, host.c_str(), &ignored) != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "a list of replicas takes IPv4 addresses (e.g. 127.0.0.1:7101,127.0.0.1:7201); \"",
            host, "\" is not one"));
      }
    }
  }
  return absl::OkStatus();
}

ConfigKey RegistryAddrKey(std::string help) {
  return {.name = "registry_addr",
          .type = ConfigType::kString,
          .default_value = "127.0.0.1:7101",
          .help = absl::StrCat(help,
                               "; host:port, or a comma-separated list of replicas' IPv4 "
                               "host:port (round-robin over those that answer)"),
          .validate = ValidateServiceAddresses};
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
