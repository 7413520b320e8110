// Fuzz target: tracking codes and secrets as people type them
// (services/complaints/tracking.h NormalizeTrackingCode, NormalizeSecret, SecretMatches).
// Invariants: a normalized code is canonical ("XXXXX-XXXXX", Crockford base32 upper case) and
// normalizes to itself; the same for secrets ("XXXX-XXXX-XXXX-XXXX"); the input matches the
// hash of its normalized secret and never the hash of a secret it does not normalize to.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "services/complaints/tracking.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void CheckCanonical(const std::string& s, size_t symbols, size_t group) {
  const size_t groups = symbols / group;
  FUZZ_CHECK(s.size() == symbols + groups - 1);
  for (size_t i = 0; i < s.size(); ++i) {
    if ((i + 1) % (group + 1) == 0) {
      FUZZ_CHECK(s[i] == '-');
    } else {
      FUZZ_CHECK(kCrockford.find(s[i]) != std::string_view::npos);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace simpul::complaints;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (std::optional<std::string> code = NormalizeTrackingCode(in)) {
    CheckCanonical(*code, 10, 5);
    FUZZ_CHECK(NormalizeTrackingCode(*code) == code);
  }
  const std::optional<std::string> secret = NormalizeSecret(in);
  if (secret) {
    CheckCanonical(*secret, 16, 4);
    FUZZ_CHECK(NormalizeSecret(*secret) == secret);
    FUZZ_CHECK(SecretMatches(in, SecretHash(*secret)));
  }
  FUZZ_CHECK(!SecretMatches(in, SecretHash("0000-0000-0000-000Z")) ||
             secret == "0000-0000-0000-000Z");
  return 0;
}
