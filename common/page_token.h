// Page tokens for keyset pagination. A token carries the position to continue after and a
// fingerprint of the query it came from, so it is never silently applied to a different query.
// Tokens are opaque to callers (web-safe base64).
#ifndef SIMPUL_COMMON_PAGE_TOKEN_H_
#define SIMPUL_COMMON_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace simpul {

// EncodePageToken returns a token for continuing `canonical_query` after `after`.
std::string EncodePageToken(absl::string_view canonical_query, absl::string_view after);

// DecodePageToken returns the position of `token` ("" for an empty token, i.e. the first
// page). INVALID_ARGUMENT naming `field` when the token is malformed or belongs to another
// query.
absl::StatusOr<std::string> DecodePageToken(absl::string_view field, absl::string_view token,
                                            absl::string_view canonical_query);

}  // namespace simpul

#endif  // SIMPUL_COMMON_PAGE_TOKEN_H_
