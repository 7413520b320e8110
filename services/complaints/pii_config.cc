#include "services/complaints/pii_config.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace simpul::complaints {

std::vector<ConfigKey> PiiConfigKeys() {
  return {
      {.name = "pii_keys_file",
       .type = ConfigType::kString,
       .default_value = "",
       .help = "required: file of the keys complainants' identities are sealed with in Redis "
               "(AES-256-GCM), one \"<key id> <64 hex digits>\" per line; deploy/run makes "
               "var/pii.keys"},
      {.name = "pii_active_key_id",
       .type = ConfigType::kString,
       .default_value = "",
       .help = "id of the key in pii_keys_file new identities are sealed with; empty: the only "
               "key of a one-key file"},
  };
}

absl::StatusOr<PiiKeyring> PiiKeyringFromConfig(const Config& config) {
  const std::string& path = config.GetString("pii_keys_file");
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "pii_keys_file is required: complainants' identities are only stored encrypted (make "
        "one line \"k1 <64 hex digits>\", e.g. with `head -c 32 /dev/urandom | od -An -v -tx1 "
        "| tr -d ' \\n'`)");
  }
  absl::StatusOr<PiiKeyring> ring =
      PiiKeyring::FromFile(path, config.GetString("pii_active_key_id"));
  if (!ring.ok()) {
    return absl::Status(ring.status().code(),
                        absl::StrCat("pii_keys_file: ", ring.status().message()));
  }
  return ring;
}

}  // namespace simpul::complaints
