// Identities for end-to-end tests: the identity keys of a test cluster (the gateway's Ed25519
// key pair, whose private half the tests sign with as the gateway and simpul-token do, and the
// monitoring service's own key pair), the callers tests make calls as, and the client contexts
// that carry them.
#ifndef SIMPUL_TESTS_TESTING_IDENTITY_TOKENS_H_
#define SIMPUL_TESTS_TESTING_IDENTITY_TOKENS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/identity.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::testing {

// kAnyServiceAudience is the audience of TokenMinter::Token: a token any service refuses as it
// is, which the channels of a ServiceCluster (AudienceBindingInterceptors) re-sign for the
// service each call goes to. So one Caller can call every service, as through the gateway.
inline constexpr char kAnyServiceAudience[] = "e2e-test:any-service";

// TokenMinter holds a cluster's identity keys and signs identity tokens for a role and an
// agency, as the gateway does for its callers; they expire in half an hour.
class TokenMinter {
 public:
  TokenMinter();  // fresh key pairs

  // The gateway's key (signs every role but ROLE_SERVICE) and the monitoring service's key
  // (signs ROLE_SERVICE "service:simpul-monitoring" only), as PEM.
  const std::string& gateway_private_pem() const { return gateway_private_pem_; }
  const std::string& gateway_public_pem() const { return gateway_public_pem_; }
  const std::string& monitoring_private_pem() const { return monitoring_private_pem_; }
  const std::string& monitoring_public_pem() const { return monitoring_public_pem_; }
  // signer signs with the gateway's key.
  const IdentitySigner& signer() const { return signer_; }
  // Verifier checks tokens for `audience` as a service of the cluster does (trusting the
  // gateway's key for people, and the two service keys for ROLE_SERVICE).
  IdentitySigner Verifier(const std::string& audience) const;

  // Token signs a principal for kAnyServiceAudience (see there). An empty `subject` becomes
  // "<ROLE_NAME>@<agency>". A channel's token acts for every agency (scope_all_agencies).
  std::string Token(common::v1::Role role, const std::string& agency = "",
                    const std::string& channel = "", const std::string& subject = "") const;
  // TokenFor signs `principal` for one `audience`, expiring at `expire`.
  std::string TokenFor(const common::v1::Principal& principal, const std::string& audience,
                       absl::Time expire) const;

  // UncheckedToken signs `body` exactly as given with the gateway's key (no audience or expiry
  // added): for tests of tokens the signing API refuses to make.
  std::string UncheckedToken(const common::v1::Principal& body) const;
  // MonitoringToken signs `principal` for `audience` with the monitoring service's own key.
  std::string MonitoringToken(const common::v1::Principal& principal, const std::string& audience,
                              absl::Time expire) const;

  // WriteKeyFiles writes into `dir`: gateway.key, gateway.pub, monitoring.key, monitoring.pub,
  // registry.trusted (gateway key for people and for "service:simpul-gateway", monitoring key
  // for "service:simpul-monitoring") and services.trusted (the gateway key for people).
  absl::Status WriteKeyFiles(const std::string& dir) const;

  // AudienceBindingInterceptors re-sign, on each call, a kAnyServiceAudience token of this
  // minter for the service the call goes to; every other token passes as it is.
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
  AudienceBindingInterceptors() const;

 private:
  std::string gateway_private_pem_, gateway_public_pem_;
  std::string monitoring_private_pem_, monitoring_public_pem_;
  IdentitySigner signer_;
  IdentitySigner monitoring_signer_;
  IdentitySigner any_audience_;  // verifies kAnyServiceAudience tokens
};

// Caller is who makes a call in a test: a tag for messages and a credential. The credential is
// an identity token (sent as x-simpul-identity, straight to a service) or, with api_key, an
// API key (sent as "authorization: Bearer", to the gateway). An empty token is the public.
struct Caller {
  std::string tag;
  std::string token;
  bool api_key = false;
};

// CallContext makes a client context with a deadline and the caller's credential, if any.
std::unique_ptr<grpc::ClientContext> CallContext(const Caller& who,
                                                 absl::Duration timeout = absl::Seconds(10));
// IdentityContext is CallContext for an identity token (empty: public).
std::unique_ptr<grpc::ClientContext> IdentityContext(const std::string& token,
                                                     absl::Duration timeout = absl::Seconds(10));

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_IDENTITY_TOKENS_H_
