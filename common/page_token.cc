#include "common/page_token.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace simpul {
namespace {

// PageToken binds a keyset position to the query it came from, so that a token is never
// silently applied to a different query.
std::string Fingerprint(absl::string_view canonical_query) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  for (unsigned char c : canonical_query) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

}  // namespace

std::string EncodePageToken(absl::string_view canonical_query, absl::string_view after) {
  return absl::WebSafeBase64Escape(absl::StrCat(Fingerprint(canonical_query), "|", after));
}

// DecodePageToken returns the keyset position ("" for the first page).
absl::StatusOr<std::string> DecodePageToken(absl::string_view field, absl::string_view token,
                                            absl::string_view canonical_query) {
  if (token.empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return InvalidField(std::string(field), "not a page token returned by this API");
  }
  size_t bar = raw.find('|');
  if (bar == std::string::npos) {
    return InvalidField(std::string(field), "not a page token returned by this API");
  }
  if (raw.substr(0, bar) != Fingerprint(canonical_query)) {
    return InvalidField(std::string(field),
                        "the page token belongs to a different query; repeat the query's other "
                        "fields unchanged or start again without a token");
  }
  return raw.substr(bar + 1);
}

}  // namespace simpul
