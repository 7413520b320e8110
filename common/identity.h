// Caller identity. The gateway (or the operator tool simpul-token) mints an identity token for
// one service: a simpul.common.v1.Principal with that service as its audience and a short
// expiry, signed with the gateway's Ed25519 private key. Services hold public keys only, so a
// compromised service cannot mint tokens for anyone but itself (its own service key, trusted by
// the services it calls for the narrow ROLE_SERVICE only). A call without a token is public.
//
// Token (ASCII):  v2.<key id>.<base64url(Principal)>.<base64url(Ed25519 signature)>
// The signature covers kIdentityTokenDomain, the key id and the encoded body, so a signature
// made for anything else (another format, another key id) never verifies as a token.
#ifndef SIMPUL_COMMON_IDENTITY_H_
#define SIMPUL_COMMON_IDENTITY_H_

#include <openssl/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul {

// Metadata key that carries the signed identity token on gRPC calls to the services.
inline constexpr std::string_view kIdentityMetadataKey = "x-simpul-identity";
// What every token signature starts with (domain separation, with the format version).
inline constexpr std::string_view kIdentityTokenDomain = "simpul identity token v2";

// Identity is the verified caller of one request.
struct Identity {
  common::v1::Principal principal;  // role UNSPECIFIED means public (anonymous)

  bool is_public() const { return principal.role() == common::v1::ROLE_UNSPECIFIED; }
  bool is_platform_admin() const { return principal.role() == common::v1::ROLE_PLATFORM_ADMIN; }
  // is_service: another Simpul service calling for its own work (ROLE_SERVICE).
  bool is_service() const { return principal.role() == common::v1::ROLE_SERVICE; }
  // IsAgencyMember is true for an agency admin or operator of `agency_id`.
  bool IsAgencyMember(std::string_view agency_id) const;
  bool IsAgencyAdmin(std::string_view agency_id) const;
  // Subject for audit and history records ("public" for anonymous callers).
  std::string subject() const;

  static Identity Public() { return Identity{}; }
};

// ServiceAudience is the audience of a service's tokens, from its gRPC service or method name:
// "simpul.registry.v1.Registry" and "/simpul.registry.v1.Registry/GetAgency" give
// "simpul-registry" (the process name). Any other name is returned as it is.
std::string ServiceAudience(std::string_view grpc_service_or_method);

// ServiceSubject is the subject of a service's own principal: "service:<name>".
std::string ServiceSubject(std::string_view service_name);

// IdentitySigner holds a process's identity keys: its own Ed25519 private key, if it signs
// tokens (the gateway, simpul-token, a service that calls another), and the public keys it
// trusts, each for a scope, if it verifies tokens (the services). Immutable once set up;
// thread-safe to use.
class IdentitySigner {
 public:
  // A trusted public key signs for one scope: kAnyPerson is every role but ROLE_SERVICE (the
  // gateway's key, used by simpul-token too); "service:<name>" is ROLE_SERVICE with exactly
  // that subject (the key of one calling service).
  static constexpr std::string_view kAnyPerson = "any";

  struct Options {
    // The audience this process accepts tokens for (its name, e.g. "simpul-registry").
    std::string audience;
    // Tokens that expire further ahead than this (plus max_clock_skew) are refused.
    absl::Duration max_ttl = absl::Hours(1);
    absl::Duration max_clock_skew = absl::Seconds(30);
    // Whether ROLE_SERVICE tokens are accepted at all (the registry: other services read and
    // watch it). Elsewhere a service-role token is refused whoever signed it.
    bool accept_service_role = false;
  };

  IdentitySigner() : IdentitySigner(Options{}) {}
  explicit IdentitySigner(Options options);

  // GeneratePrivateKeyPem makes a new Ed25519 private key (PKCS#8 PEM), as
  // `openssl genpkey -algorithm ed25519` does.
  static absl::StatusOr<std::string> GeneratePrivateKeyPem();
  // PublicKeyPemOf is the public key (SubjectPublicKeyInfo PEM) of a private key PEM.
  static absl::StatusOr<std::string> PublicKeyPemOf(std::string_view private_key_pem);
  // KeyIdOfPublicKeyPem is the key id the tokens of that key carry.
  static absl::StatusOr<std::string> KeyIdOfPublicKeyPem(std::string_view public_key_pem);

  // SetPrivateKeyPem / LoadPrivateKeyFile set the key this process signs with. An error says
  // why (unreadable, not PEM, not an Ed25519 private key).
  absl::Status SetPrivateKeyPem(std::string_view pem);
  absl::Status LoadPrivateKeyFile(const std::string& path);
  // TrustPem adds a trusted public key for `scope` (kAnyPerson or "service:<name>").
  // One key may be trusted for several scopes (one call each).
  absl::Status TrustPem(std::string_view public_key_pem, std::string_view scope);
  // LoadTrustedKeysFile reads a trusted-keys file: one key a line, "<scope> <public key PEM
  // file>" (a relative path is relative to the file's directory); '#' starts a comment.
  absl::Status LoadTrustedKeysFile(const std::string& path);

  bool can_sign() const { return private_key_ != nullptr; }
  bool verifies() const { return !trusted_.empty(); }
  const std::string& key_id() const { return key_id_; }  // of the private key ("" without)
  const Options& options() const { return options_; }

  // Sign mints a token of `principal` for `audience` valid until `expire` (both required).
  // FAILED_PRECONDITION without a private key.
  absl::StatusOr<std::string> Sign(common::v1::Principal principal, std::string_view audience,
                                   absl::Time expire) const;
  // Verify returns the principal of a valid token for options().audience, signed by a key
  // trusted for the principal's role, not expired and not expiring further ahead than
  // max_ttl; UNAUTHENTICATED (saying why) otherwise. A token verified once is remembered (up
  // to 10,000, byte for byte) until it expires: the gateway reuses its tokens for minutes, so
  // most calls skip the signature check.
  absl::StatusOr<common::v1::Principal> Verify(std::string_view token, absl::Time now) const;

 private:
  struct Trusted {
    std::shared_ptr<EVP_PKEY> key;
    std::vector<std::string> scopes;
  };
  struct VerifiedTokens {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, common::v1::Principal> by_token ABSL_GUARDED_BY(mu);
  };
  absl::StatusOr<common::v1::Principal> VerifyUncached(std::string_view token,
                                                       absl::Time now) const;

  Options options_;
  std::shared_ptr<EVP_PKEY> private_key_;  // shared: a signer can be copied
  std::string key_id_;
  std::map<std::string, Trusted, std::less<>> trusted_;  // by key id
  // Shared by copies (which trust the same keys until one of them trusts another: see TrustPem).
  std::shared_ptr<VerifiedTokens> verified_;
};

// TokenCache hands out the signed token of a (principal, audience) and signs again only when the
// cached one has less than a fifth of its time to live left, so a busy gateway does not sign
// every call. Bounded (cleared when full); thread-safe.
class TokenCache {
 public:
  // `signer` must outlive the cache and be able to sign.
  TokenCache(const IdentitySigner* signer, absl::Duration ttl, size_t max_entries = 10000);

  absl::StatusOr<std::string> Token(const common::v1::Principal& principal,
                                    std::string_view audience, absl::Time now);

 private:
  struct Entry {
    std::string token;
    absl::Time refresh_after;
  };
  const IdentitySigner* const signer_;
  const absl::Duration ttl_;
  const size_t max_entries_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace simpul

#endif  // SIMPUL_COMMON_IDENTITY_H_
