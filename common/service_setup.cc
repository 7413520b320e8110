#include "common/service_setup.h"

#include <string>
#include <tuple>

#include "common/logging.h"

namespace simpul {

void ConfigureLogging(const Config& config, std::string_view service_name) {
  SetLogServiceName(std::string(service_name));
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(config.GetString("log_level"), &level);
  SetMinLogLevel(level);
}

absl::StatusOr<std::unique_ptr<IdentitySigner>> LoadIdentitySigner(const Config& config) {
  const std::string path = config.GetString("identity_key_file");
  if (path.empty()) {
    Log(LogLevel::kWarn, "no identity_key_file: every call is public and writes are refused");
    return nullptr;
  }
  auto loaded = IdentitySigner::FromKeyFile(path);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(std::string("identity_key_file: ") +
                                      std::string(loaded.status().message()));
  }
  return std::make_unique<IdentitySigner>(*std::move(loaded));
}

RedisOptions RedisOptionsFromConfig(const Config& config) {
  RedisOptions options;
  std::tie(options.host, options.port) = config.GetHostPort("redis_addr");
  options.pool_size = static_cast<int>(config.GetInt("redis_pool_size"));
  options.command_timeout = config.GetDuration("redis_timeout");
  return options;
}

}  // namespace simpul
