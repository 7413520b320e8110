// InternalIdentity: the identity a service presents on the calls it makes to another service
// (the monitoring service watching the registry, the gateway's read cache watching the change
// feed). The one place that mints such tokens.
#ifndef SIMPUL_CLIENTS_INTERNAL_IDENTITY_H_
#define SIMPUL_CLIENTS_INTERNAL_IDENTITY_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/time/time.h"
#include "common/identity.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::clients {

// InternalIdentity signs the principal {subject "service:<service_name>", ROLE_SERVICE} for
// `audience` (the called service, e.g. "simpul-registry") with the calling service's own
// private key, and attaches it to outgoing calls. The called service trusts that key for this
// one subject only (its identity_trusted_keys), and lets ROLE_SERVICE read, nothing more. A
// token is minted per call and valid for `ttl` (services check it when a call starts; a stream
// may then run for longer). Copyable; the signer must outlive every copy.
class InternalIdentity {
 public:
  // `signer` may be null or unable to sign: then Attach adds nothing and the calls are public.
  InternalIdentity(const IdentitySigner* signer, std::string service_name, std::string audience,
                   absl::Duration ttl = absl::Minutes(5));

  // Attach adds a freshly signed token to `ctx` (kIdentityMetadataKey).
  void Attach(grpc::ClientContext& ctx) const;

  const std::string& subject() const { return subject_; }
  const std::string& audience() const { return audience_; }

 private:
  const IdentitySigner* signer_;
  std::string subject_;
  std::string audience_;
  absl::Duration ttl_;
};

}  // namespace simpul::clients

#endif  // SIMPUL_CLIENTS_INTERNAL_IDENTITY_H_
