// Fuzz target: page tokens (common/page_token.h). The input is "<canonical query>\n<token>"
// (without a newline: the whole input is the token of the query "q").
// Invariants: DecodePageToken either returns a position or INVALID_ARGUMENT naming the field
// (one BadRequest violation, bounded valid UTF-8 message); a position it returns encodes back
// to a token that decodes to the same position; and a token made for any position of the
// query decodes to exactly that position, while the same token is refused for another query.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/absl_compat.h"
#include "common/page_token.h"
#include "common/status.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  absl::string_view query = "q";
  absl::string_view token = simpul::AbslView(in);
  if (const size_t nl = in.find('\n'); nl != std::string_view::npos) {
    query = simpul::AbslView(in.substr(0, nl));
    token = simpul::AbslView(in.substr(nl + 1));
  }

  absl::StatusOr<std::string> after = simpul::DecodePageToken("page_token", token, query);
  if (after.ok()) {
    FUZZ_CHECK(!token.empty() || after->empty());
    const std::string again = simpul::EncodePageToken(query, *after);
    absl::StatusOr<std::string> round = simpul::DecodePageToken("page_token", again, query);
    FUZZ_CHECK(round.ok());
    FUZZ_CHECK(*round == *after);
  } else {
    simpul::fuzz::CheckCallerError(after.status());
    FUZZ_CHECK(after.status().code() == absl::StatusCode::kInvalidArgument);
    const simpul::common::v1::BadRequest bad = simpul::BadRequestOf(after.status());
    FUZZ_CHECK(bad.field_violations_size() == 1);
    FUZZ_CHECK(bad.field_violations(0).field() == "page_token");
  }

  // The token as a position: round trip through a fresh token of this query.
  const std::string made = simpul::EncodePageToken(query, token);
  absl::StatusOr<std::string> position = simpul::DecodePageToken("page_token", made, query);
  FUZZ_CHECK(position.ok());
  FUZZ_CHECK(*position == token);
  const std::string other = std::string(query) + "x";
  FUZZ_CHECK(!simpul::DecodePageToken("page_token", made, other).ok());
  return 0;
}
