// Start-up steps every Simpul service process shares, driven by the common config keys
// (CommonServiceConfigKeys): logging, the identity key and the Redis pool options.
#ifndef SIMPUL_COMMON_SERVICE_SETUP_H_
#define SIMPUL_COMMON_SERVICE_SETUP_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/identity.h"
#include "common/redis.h"

namespace simpul {

// ConfigureLogging names the service in every log line and applies log_level.
void ConfigureLogging(const Config& config, std::string_view service_name);

// LoadIdentitySigner loads identity_key_file. Without one it returns null and logs that every
// call will be public (writes refused); a bad file is an error.
absl::StatusOr<std::unique_ptr<IdentitySigner>> LoadIdentitySigner(const Config& config);

// RedisOptionsFromConfig reads redis_addr, redis_pool_size and redis_timeout.
RedisOptions RedisOptionsFromConfig(const Config& config);

}  // namespace simpul

#endif  // SIMPUL_COMMON_SERVICE_SETUP_H_
