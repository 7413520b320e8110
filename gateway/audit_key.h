// AuditKeyring: the secret keys the audit trail is keyed with (hash encoding version 2 and
// signed checkpoints, gateway/audit.h), read from a file that never goes to Redis. Someone who
// can write to Redis but does not hold the key cannot rehash a rewritten record so that it
// verifies.
//
// Key file (the gateway's `audit_key_file`, `simpul-audit --key-file`), one key per line, '#'
// starts a comment, blank lines are ignored:
//   <key id> <64 hex digits: the 32-byte key> [active]
// The key marked "active" (at most one) signs new records and checkpoints; without a mark the
// first key does. Every key listed verifies, so a key is rotated by adding the new key marked
// active, and the old one stays listed as long as records or checkpoints under it are
// verified. The file must not be readable or writable by group or others (mode 600 or 400):
// FromFile refuses it otherwise. Every gateway replica and the verifier read the same file.
// Thread-safe (immutable once built).
#ifndef SIMPUL_GATEWAY_AUDIT_KEY_H_
#define SIMPUL_GATEWAY_AUDIT_KEY_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace simpul::gateway {

class AuditKeyring {
 public:
  // Parse reads the text of a key file (common/secret_file.h ParseKeyFile, "active" marks
  // allowed); `source` names it in errors.
  static absl::StatusOr<AuditKeyring> Parse(std::string_view text, std::string_view source);
  // FromFile reads and parses the file at `path` (common/secret_file.h ReadSecretFile):
  // NOT_FOUND when it does not exist, PERMISSION_DENIED when group or others have any access to
  // it (the message says chmod 600).
  static absl::StatusOr<AuditKeyring> FromFile(const std::string& path);

  const std::string& active_key_id() const { return active_id_; }
  bool HasKey(std::string_view key_id) const { return keys_.count(std::string(key_id)) > 0; }
  size_t size() const { return keys_.size(); }

  // Mac is HMAC-SHA256(key `key_id`, bytes) (32 raw bytes); FAILED_PRECONDITION naming the id
  // when the ring does not hold that key.
  absl::StatusOr<std::string> Mac(std::string_view key_id, std::string_view bytes) const;

 private:
  AuditKeyring(std::map<std::string, std::string> keys, std::string active_id)
      : keys_(std::move(keys)), active_id_(std::move(active_id)) {}

  std::map<std::string, std::string> keys_;
  std::string active_id_;
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_AUDIT_KEY_H_
