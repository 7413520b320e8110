// PiiKeyring seals the personal data simpul-complaints keeps (the complainant's identity and
// contact details) before it reaches Redis: AES-256-GCM (OpenSSL EVP) under a key that lives
// in a file outside Redis, a fresh random 96-bit nonce per seal, and caller-chosen additional
// authenticated data (the store binds the case id, so a sealed identity cannot be moved to
// another case). Every sealed value names the id of the key that sealed it, so keys can be
// rotated: new seals use the active key, and values sealed under any key still in the ring
// open until a re-encryption (simpul-pii-rekey) has re-sealed them under the active key.
//
// Sealed value layout (all lengths in bytes):
//   1   format version, 0x01
//   1   n, the length of the key id (1..64)
//   n   key id (ASCII: A-Z a-z 0-9 . _ -)
//   12  nonce
//   *   ciphertext (as long as the plaintext)
//   16  GCM tag
//
// Key file (`pii_keys_file`), one key per line, '#' starts a comment, blank lines ignored:
//   <key id> <64 hex digits: the 32-byte key>
// Thread-safe (immutable once built).
#ifndef SIMPUL_SERVICES_COMPLAINTS_PII_CRYPTO_H_
#define SIMPUL_SERVICES_COMPLAINTS_PII_CRYPTO_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace simpul::complaints {

class PiiKeyring {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;
  static constexpr size_t kMaxKeyIdBytes = 64;
  static constexpr unsigned char kFormatVersion = 0x01;

  // Create builds a ring from `keys` (key id -> 32-byte key) whose active key is `active_id`;
  // an empty `active_id` picks the only key of a one-key ring. INVALID_ARGUMENT naming the key
  // id when a key is not 32 bytes, an id is empty, too long or not [A-Za-z0-9._-], the ring
  // is empty, or the active key is not in it (or not given while the ring holds several).
  static absl::StatusOr<PiiKeyring> Create(std::map<std::string, std::string> keys,
                                           std::string active_id);
  // FromFile reads a key file (format above; common/secret_file.h ReadSecretFile: NOT_FOUND
  // when it does not exist, PERMISSION_DENIED unless only its owner may access it). Errors
  // name the file and the line.
  static absl::StatusOr<PiiKeyring> FromFile(const std::string& path, std::string active_id);
  // ParseKeyFile parses the text of a key file; `source` names it in errors.
  static absl::StatusOr<std::map<std::string, std::string>> ParseKeyFile(std::string_view text,
                                                                         std::string_view source);

  const std::string& active_key_id() const { return active_id_; }
  bool HasKey(std::string_view key_id) const { return keys_.count(std::string(key_id)) > 0; }

  // Seal encrypts `plaintext` under the active key, authenticating `aad` with it.
  std::string Seal(std::string_view plaintext, std::string_view aad) const;

  // Open decrypts a sealed value with the `aad` it was sealed with. INVALID_ARGUMENT when the
  // value is not in the sealed layout, FAILED_PRECONDITION naming the key id when that key is
  // not in the ring, DATA_LOSS when authentication fails (wrong key, wrong aad, or any byte of
  // the id, nonce, ciphertext or tag changed). Errors never contain the value's bytes.
  absl::StatusOr<std::string> Open(std::string_view sealed, std::string_view aad) const;

  // KeyIdOf returns the key id a sealed value names (INVALID_ARGUMENT when malformed).
  static absl::StatusOr<std::string> KeyIdOf(std::string_view sealed);
  // LooksSealed: `value` starts like a sealed value (version byte and a well-formed key id)
  // and is long enough to hold a nonce and a tag.
  static bool LooksSealed(std::string_view value);

 private:
  PiiKeyring(std::map<std::string, std::string> keys, std::string active_id)
      : keys_(std::move(keys)), active_id_(std::move(active_id)) {}

  std::map<std::string, std::string> keys_;
  std::string active_id_;
};

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_PII_CRYPTO_H_
