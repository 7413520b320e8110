// Caller identity. The gateway (or an operator tool) mints a signed token holding a
// simpul.common.v1.Principal; services verify it with the shared identity key and treat a call
// without a token as public. A caller cannot forge a token without the key.
#ifndef SIMPUL_COMMON_IDENTITY_H_
#define SIMPUL_COMMON_IDENTITY_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul {

// Metadata key that carries the signed identity token on gRPC calls to the services.
inline constexpr std::string_view kIdentityMetadataKey = "x-simpul-identity";

// Identity is the verified caller of one request.
struct Identity {
  common::v1::Principal principal;  // role UNSPECIFIED means public (anonymous)

  bool is_public() const { return principal.role() == common::v1::ROLE_UNSPECIFIED; }
  bool is_platform_admin() const { return principal.role() == common::v1::ROLE_PLATFORM_ADMIN; }
  // IsAgencyMember is true for an agency admin or operator of `agency_id`.
  bool IsAgencyMember(std::string_view agency_id) const;
  bool IsAgencyAdmin(std::string_view agency_id) const;
  // Subject for audit and history records ("public" for anonymous callers).
  std::string subject() const;

  static Identity Public() { return Identity{}; }
};

// IdentitySigner mints and verifies identity tokens with an HMAC-SHA256 key.
class IdentitySigner {
 public:
  // `key` must be at least 32 bytes.
  static absl::StatusOr<IdentitySigner> Create(std::string key);
  // LoadKeyFile reads a key file (its bytes, trailing whitespace trimmed).
  static absl::StatusOr<IdentitySigner> FromKeyFile(const std::string& path);

  std::string Sign(const common::v1::Principal& principal) const;
  // Verify returns the principal of a valid, unexpired token; UNAUTHENTICATED otherwise.
  absl::StatusOr<common::v1::Principal> Verify(std::string_view token, absl::Time now) const;

 private:
  explicit IdentitySigner(std::string key) : key_(std::move(key)) {}
  std::string Mac(std::string_view data) const;
  std::string key_;
};

}  // namespace simpul

#endif  // SIMPUL_COMMON_IDENTITY_H_
