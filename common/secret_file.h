// Files that hold secrets, read the one way every Simpul process reads them: the Redis
// password files (var/redis-auth), the complainant identity keys (var/pii.keys) and the audit
// key (var/keys/audit.key).
#ifndef SIMPUL_COMMON_SECRET_FILE_H_
#define SIMPUL_COMMON_SECRET_FILE_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace simpul {

// ReadSecretFile reads a regular file of at most `max_bytes` that neither group nor others
// may access (mode 600 or 400, as ssh wants of a private key). `what` names the file in every
// error ("the audit key file"), which never shows its content: NOT_FOUND when it does not
// exist, PERMISSION_DENIED (saying chmod 600) when group or others have access,
// INVALID_ARGUMENT otherwise (unreadable, not a regular file, too large).
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view what,
                                           size_t max_bytes = 64 * 1024);

// A key file: one named 32-byte key per line, "<key id> <64 hex digits>", where the file's
// kind allows it followed by "active" (at most one line); '#' starts a comment, blank lines
// are ignored. A key id is 1..64 characters of A-Z a-z 0-9 . _ -.
struct KeyFile {
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kMaxKeyIdBytes = 64;
  std::map<std::string, std::string> keys;  // key id -> the 32 raw bytes
  std::string first_id;                     // the id on the first key line
  std::string marked_active_id;             // the id marked "active"; "" when none is
};

// IsValidKeyId: 1..KeyFile::kMaxKeyIdBytes characters of A-Z a-z 0-9 . _ -.
bool IsValidKeyId(std::string_view id);

// ParseKeyFile parses the text of a key file; `source` names it in errors, which name the
// line too (INVALID_ARGUMENT: a malformed line, a bad id, an id given twice, an "active" mark
// where `allow_active_mark` is false or on a second line, no key at all).
absl::StatusOr<KeyFile> ParseKeyFile(std::string_view text, std::string_view source,
                                     bool allow_active_mark);

}  // namespace simpul

#endif  // SIMPUL_COMMON_SECRET_FILE_H_
