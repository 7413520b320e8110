// Tracking codes and secrets of complaints. A tracking code is ten Crockford base32
// characters (50 random bits) in two groups of five, e.g. "7KQ2M-XW9DT": short enough to read
// out over SMS, and with 2^50 possible codes a guess hits one of a million stored cases with
// probability below 1e-9. The secret is 16 characters (80 bits); Simpul stores only its
// SHA-256. Codes come from OpenSSL's cryptographic random generator; a filing's secret is
// derived by SecretMinter (an HMAC under a key Redis never sees), so that the filer's retry
// can be answered with the same secret without storing it anywhere.
#ifndef SIMPUL_SERVICES_COMPLAINTS_TRACKING_H_
#define SIMPUL_SERVICES_COMPLAINTS_TRACKING_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace simpul::complaints {

// NewTrackingCode returns a fresh random code in canonical form ("XXXXX-XXXXX").
std::string NewTrackingCode();
// NewSecret returns a random secret in canonical form ("XXXX-XXXX-XXXX-XXXX"), unrelated to
// any filing (filings get theirs from SecretMinter).
std::string NewSecret();

// NormalizeTrackingCode accepts what a person types or an SMS carries: any case, with or
// without the dash or spaces, and I/L read as 1, O as 0. Returns the canonical form, or
// nullopt when it cannot be a tracking code.
std::optional<std::string> NormalizeTrackingCode(std::string_view input);
// NormalizeSecret does the same for secrets (16 characters, dashes and spaces ignored).
std::optional<std::string> NormalizeSecret(std::string_view input);

// SecretHash is the SHA-256 of a canonical secret (32 raw bytes).
std::string SecretHash(std::string_view canonical_secret);
// SecretMatches compares a typed secret with a stored hash in constant time.
bool SecretMatches(std::string_view input, std::string_view stored_hash);

// Sha256 of arbitrary bytes (32 raw bytes).
std::string Sha256(std::string_view data);

// SecretMinter derives complainants' secrets: the first 80 bits of HMAC-SHA256, under a
// service key kept in a file outside Redis, of the filing's idempotency scope, idempotency key
// and tracking code, written as a canonical secret. Only the secret's SHA-256 is stored; the
// filer's retry with the same key recomputes the same secret, and nobody who can read Redis
// but not the key file can. Thread-safe (immutable).
class SecretMinter {
 public:
  static constexpr size_t kMinKeyBytes = 32;

  // Create uses `key` (at least kMinKeyBytes bytes).
  static absl::StatusOr<SecretMinter> Create(std::string key);
  // FromKeyFile reads a key file (its bytes, trailing whitespace trimmed), as written by
  // deploy/run (`openssl rand -hex 32`).
  static absl::StatusOr<SecretMinter> FromKeyFile(const std::string& path);
  // Ephemeral uses a fresh random key: secrets of filings made before a restart can then no
  // longer be recomputed (their retries get the tracking code only).
  static SecretMinter Ephemeral();

  // Secret is the canonical secret ("XXXX-XXXX-XXXX-XXXX") of the filing under
  // `idempotency_key` in `scope` that got `tracking_code`.
  std::string Secret(std::string_view scope, std::string_view idempotency_key,
                     std::string_view tracking_code) const;

 private:
  explicit SecretMinter(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_TRACKING_H_
