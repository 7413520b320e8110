// Fuzz target: URL decoding (gateway/url.h PercentDecode), as the REST front decodes path
// segments (plus_is_space false) and query strings and forms do (true).
// Invariants: the result is never longer than the input; an input without '%' (and without
// '+' in form mode) decodes to itself; re-encoding every byte of a result as %XX decodes back
// to the same bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/url.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void Check(std::string_view in, bool plus_is_space) {
  const std::optional<std::string> decoded = simpul::gateway::PercentDecode(in, plus_is_space);
  const bool plain = in.find('%') == std::string_view::npos &&
                     (!plus_is_space || in.find('+') == std::string_view::npos);
  if (plain) {
    FUZZ_CHECK(decoded.has_value());
    FUZZ_CHECK(*decoded == in);
  }
  if (!decoded) return;
  FUZZ_CHECK(decoded->size() <= in.size());
  const std::optional<std::string> again =
      simpul::gateway::PercentDecode(simpul::fuzz::PercentEncodeAll(*decoded), plus_is_space);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *decoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  Check(in, /*plus_is_space=*/false);
  Check(in, /*plus_is_space=*/true);
  return 0;
}
