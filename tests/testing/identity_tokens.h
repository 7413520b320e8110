// Identities for end-to-end tests: a signer of identity tokens (the tokens the gateway mints
// for the services), the callers tests make calls as, and the client contexts that carry them.
#ifndef SIMPUL_TESTS_TESTING_IDENTITY_TOKENS_H_
#define SIMPUL_TESTS_TESTING_IDENTITY_TOKENS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/identity.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::testing {

// kTestIdentityKey is the identity key of every end-to-end test (ServiceCluster writes it to
// the key file its services read).
inline constexpr char kTestIdentityKey[] = "e2e-test-identity-key-0123456789abcdef0123456789abcdef";

// TokenMinter signs identity tokens for a role and an agency, as the gateway does for its
// callers; they expire in an hour.
class TokenMinter {
 public:
  explicit TokenMinter(const std::string& key = kTestIdentityKey);

  const std::string& key() const { return key_; }
  const IdentitySigner& signer() const { return signer_; }
  // Token signs a principal. An empty `subject` becomes "<ROLE_NAME>@<agency>". A channel's
  // token acts for every agency (scope_all_agencies).
  std::string Token(common::v1::Role role, const std::string& agency = "",
                    const std::string& channel = "", const std::string& subject = "") const;

 private:
  std::string key_;
  IdentitySigner signer_;
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
