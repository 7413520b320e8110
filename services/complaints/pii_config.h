// The configuration keys of the PII key ring (pii_crypto.h), shared by simpul-complaints and
// simpul-pii-rekey so both read the same key file the same way.
#ifndef SIMPUL_SERVICES_COMPLAINTS_PII_CONFIG_H_
#define SIMPUL_SERVICES_COMPLAINTS_PII_CONFIG_H_

#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "services/complaints/pii_crypto.h"

namespace simpul::complaints {

// PiiConfigKeys: pii_keys_file (required) and pii_active_key_id.
std::vector<ConfigKey> PiiConfigKeys();

// PiiKeyringFromConfig loads the key ring the keys name; the error names the config key.
absl::StatusOr<PiiKeyring> PiiKeyringFromConfig(const Config& config);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_PII_CONFIG_H_
