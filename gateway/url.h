// URL text helpers shared by the REST front and the Open311 facade.
#ifndef SIMPUL_GATEWAY_URL_H_
#define SIMPUL_GATEWAY_URL_H_

#include <optional>
#include <string>
#include <string_view>

namespace simpul::gateway {

// PercentDecode decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query
// strings and form bodies); nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// TakeQueryParam removes every `name=value` pair from `query` (a query string without '?')
// and returns the last value, percent-decoded; nullopt when there is none. A malformed escape
// in the value gives the raw value (the caller's check of it then fails, naming it).
std::optional<std::string> TakeQueryParam(std::string& query, std::string_view name);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_URL_H_
