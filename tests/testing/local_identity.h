// LocalIdentityKeys: identity keys for in-process tests, where the test both signs tokens and
// serves the service that verifies them.
#ifndef SIMPUL_TESTS_TESTING_LOCAL_IDENTITY_H_
#define SIMPUL_TESTS_TESTING_LOCAL_IDENTITY_H_

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/identity.h"

namespace simpul::testing {

// LocalIdentityKeys is an IdentitySigner with a fresh Ed25519 key pair that signs with the
// private key and verifies tokens for `audience` with the public one: for every role but
// ROLE_SERVICE, and for ROLE_SERVICE of each of `services` ("simpul-monitoring", ...).
inline std::unique_ptr<IdentitySigner> LocalIdentityKeys(
    const std::string& audience, const std::vector<std::string>& services = {}) {
  auto keys = std::make_unique<IdentitySigner>(
      IdentitySigner::Options{.audience = audience, .accept_service_role = !services.empty()});
  absl::StatusOr<std::string> pem = IdentitySigner::GeneratePrivateKeyPem();
  absl::StatusOr<std::string> pub = pem.ok() ? IdentitySigner::PublicKeyPemOf(*pem) : pem.status();
  absl::Status ok = pub.ok() ? keys->SetPrivateKeyPem(*pem) : pub.status();
  if (ok.ok()) ok = keys->TrustPem(*pub, IdentitySigner::kAnyPerson);
  for (const std::string& service : services) {
    if (ok.ok()) ok = keys->TrustPem(*pub, ServiceSubject(service));
  }
  if (!ok.ok()) {
    std::cerr << "LocalIdentityKeys: " << ok << "\n";
    std::abort();
  }
  return keys;
}

// LocalToken signs `principal` with `keys` for `audience`, valid for ten minutes.
inline std::string LocalToken(const IdentitySigner& keys, const common::v1::Principal& principal,
                              const std::string& audience) {
  absl::StatusOr<std::string> token =
      keys.Sign(principal, audience, absl::Now() + absl::Minutes(10));
  if (!token.ok()) {
    std::cerr << "LocalToken: " << token.status() << "\n";
    std::abort();
  }
  return *token;
}

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_LOCAL_IDENTITY_H_
