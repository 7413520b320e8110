// InternalIdentity: service principals signed for internal calls.
#include "clients/internal_identity.h"

#include <utility>

#include "absl/time/clock.h"
#include "common/logging.h"

namespace simpul::clients {

InternalIdentity::InternalIdentity(const IdentitySigner* signer, std::string service_name,
                                   std::string audience, absl::Duration ttl)
    : signer_(signer),
      subject_(ServiceSubject(service_name)),
      audience_(std::move(audience)),
      ttl_(ttl) {}

void InternalIdentity::Attach(grpc::ClientContext& ctx) const {
  if (signer_ == nullptr || !signer_->can_sign()) return;
  common::v1::Principal principal;
  principal.set_subject(subject_);
  principal.set_role(common::v1::ROLE_SERVICE);
  absl::StatusOr<std::string> token = signer_->Sign(principal, audience_, absl::Now() + ttl_);
  if (!token.ok()) {
    Log(LogLevel::kError, "cannot sign the internal identity",
        {{"error", token.status().ToString()}});
    return;
  }
  ctx.AddMetadata(std::string(kIdentityMetadataKey), *token);
}

}  // namespace simpul::clients
