// Tracking codes and secrets of complaints. A tracking code is ten Crockford base32
// characters (50 random bits) in two groups of five, e.g. "7KQ2M-XW9DT": short enough to read
// out over SMS, and with 2^50 possible codes a guess hits one of a million stored cases with
// probability below 1e-9. The secret is 16 characters (80 random bits); Simpul stores only its
// SHA-256. Both come from OpenSSL's cryptographic random generator.
#ifndef SIMPUL_SERVICES_COMPLAINTS_TRACKING_H_
#define SIMPUL_SERVICES_COMPLAINTS_TRACKING_H_

#include <optional>
#include <string>
#include <string_view>

namespace simpul::complaints {

// NewTrackingCode returns a fresh random code in canonical form ("XXXXX-XXXXX").
std::string NewTrackingCode();
// NewSecret returns a fresh random secret in canonical form ("XXXX-XXXX-XXXX-XXXX").
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

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_TRACKING_H_
