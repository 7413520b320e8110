// Fuzz target: identity tokens (common/identity.h IdentitySigner::Verify) under a fixed key.
// The first input byte picks the mode:
//   even: the rest is a token, verified as it is (arbitrary text must be refused cleanly);
//   odd:  the rest is a serialized Principal; when it parses, it is signed for the registry
//         with an expiry taken from the second byte, verified, and then verified again with one
//         character of the token changed.
// Invariants: Verify refuses with UNAUTHENTICATED and a bounded, valid UTF-8 message; a token
// Sign made verifies back to exactly the signed principal when its role may be verified, and
// a changed token never verifies to a different principal.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/identity.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// A fixed Ed25519 key made for this target only (openssl genpkey -algorithm ed25519).
constexpr std::string_view kPrivateKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIANCbCrRZxqwendVQTOCrO6GzMa0hwCsdMsvTg+zvVLo\n"
    "-----END PRIVATE KEY-----\n";

const absl::Time kNow = absl::FromUnixSeconds(1798000000);

const simpul::IdentitySigner& Signer() {
  static const simpul::IdentitySigner* const signer = [] {
    auto* s = new simpul::IdentitySigner(simpul::IdentitySigner::Options{
        .audience = "simpul-registry", .accept_service_role = true});
    FUZZ_CHECK(s->SetPrivateKeyPem(kPrivateKeyPem).ok());
    absl::StatusOr<std::string> pub = simpul::IdentitySigner::PublicKeyPemOf(kPrivateKeyPem);
    FUZZ_CHECK(pub.ok());
    FUZZ_CHECK(s->TrustPem(*pub, simpul::IdentitySigner::kAnyPerson).ok());
    FUZZ_CHECK(s->TrustPem(*pub, simpul::ServiceSubject("simpul-monitoring")).ok());
    return s;
  }();
  return *signer;
}

void CheckRefusal(const absl::Status& status) {
  simpul::fuzz::CheckCallerError(status);
  FUZZ_CHECK(status.code() == absl::StatusCode::kUnauthenticated);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const simpul::IdentitySigner& signer = Signer();
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);

  if (data[0] % 2 == 0) {
    absl::StatusOr<simpul::common::v1::Principal> p = signer.Verify(rest, kNow);
    // Only a token signed with the fixed key can verify; the fuzzer cannot forge one.
    if (!p.ok()) CheckRefusal(p.status());
    return 0;
  }

  simpul::common::v1::Principal principal;
  if (!principal.ParseFromString(std::string(rest))) return 0;
  const absl::Time expire = kNow + absl::Minutes(data[1] % 90) - absl::Minutes(5);
  absl::StatusOr<std::string> token = signer.Sign(principal, "simpul-registry", expire);
  if (!token.ok()) {
    FUZZ_CHECK(token.status().code() != absl::StatusCode::kFailedPrecondition);
    return 0;
  }
  absl::StatusOr<simpul::common::v1::Principal> verified = signer.Verify(*token, kNow);
  if (!verified.ok()) {
    CheckRefusal(verified.status());
  } else {
    simpul::common::v1::Principal signed_principal = principal;
    signed_principal.set_audience("simpul-registry");
    FUZZ_CHECK(verified->audience() == "simpul-registry");
    FUZZ_CHECK(verified->role() == principal.role());
    FUZZ_CHECK(verified->subject() == principal.subject());
    FUZZ_CHECK(expire > kNow);
  }

  // One character changed: refused, or (a base64 character whose dropped bits change) the
  // same principal.
  std::string changed = *token;
  const size_t at = (static_cast<size_t>(data[1]) * 7919) % changed.size();
  changed[at] = changed[at] == 'A' ? 'B' : 'A';
  absl::StatusOr<simpul::common::v1::Principal> tampered = signer.Verify(changed, kNow);
  if (tampered.ok()) {
    FUZZ_CHECK(verified.ok());
    FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*tampered, *verified));
  } else {
    CheckRefusal(tampered.status());
  }
  return 0;
}
