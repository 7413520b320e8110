// InternalIdentity: the identity a service presents on the calls it makes to another service
// (the monitoring service watching the registry as a platform admin, the gateway's read cache
// watching the change feed). The one place that mints such tokens.
#ifndef SIMPUL_CLIENTS_INTERNAL_IDENTITY_H_
#define SIMPUL_CLIENTS_INTERNAL_IDENTITY_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/time/time.h"
#include "common/identity.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::clients {

// InternalIdentity signs the principal {subject, role} of a service with the shared identity key
// and attaches it to outgoing calls. A token is minted per call and valid for `ttl` (services
// check it when a call starts; a stream may then run for longer). Copyable; the signer must
// outlive every copy.
class InternalIdentity {
 public:
  // `signer` may be null: then Attach adds nothing and the calls are public.
  InternalIdentity(const IdentitySigner* signer, std::string subject,
                   common::v1::Role role = common::v1::ROLE_PLATFORM_ADMIN,
                   absl::Duration ttl = absl::Hours(1));

  // Attach adds a freshly signed token to `ctx` (kIdentityMetadataKey).
  void Attach(grpc::ClientContext& ctx) const;

  const std::string& subject() const { return subject_; }

 private:
  const IdentitySigner* signer_;
  std::string subject_;
  common::v1::Role role_;
  absl::Duration ttl_;
};

}  // namespace simpul::clients

#endif  // SIMPUL_CLIENTS_INTERNAL_IDENTITY_H_
