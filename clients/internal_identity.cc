// InternalIdentity: service principals signed for internal calls.
#include "clients/internal_identity.h"

#include <utility>

#include "absl/time/clock.h"

namespace simpul::clients {

InternalIdentity::InternalIdentity(const IdentitySigner* signer, std::string subject,
                                   common::v1::Role role, absl::Duration ttl)
    : signer_(signer), subject_(std::move(subject)), role_(role), ttl_(ttl) {}

void InternalIdentity::Attach(grpc::ClientContext& ctx) const {
  if (signer_ == nullptr) return;
  common::v1::Principal principal;
  principal.set_subject(subject_);
  principal.set_role(role_);
  principal.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + ttl_));
  ctx.AddMetadata(std::string(kIdentityMetadataKey), signer_->Sign(principal));
}

}  // namespace simpul::clients
