// JSON text helpers every process shares: the one JSON string escaper (logs, REST errors,
// reports). Messages are rendered by protobuf's JSON mapping, not here.
#ifndef SIMPUL_COMMON_JSON_H_
#define SIMPUL_COMMON_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace simpul {

// JsonEscape returns `s` as a quoted JSON string literal (RFC 8259): '"' and '\' are
// backslash-escaped, \b \f \n \r \t use their short forms, every other control character
// (and DEL) is written \u00XX, valid UTF-8 is kept as is and each byte of an invalid UTF-8
// sequence (including encoded surrogates) becomes \ufffd, so the result is always valid JSON.
std::string JsonEscape(std::string_view s);

// AppendJsonEscaped appends JsonEscape(s) to `out`.
void AppendJsonEscaped(std::string* out, std::string_view s);

// Utf8SequenceLength is the length of the valid UTF-8 sequence starting at s[i] (1 to 4), or 0
// when the bytes there are not one (truncated, overlong, a surrogate or beyond U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace simpul

#endif  // SIMPUL_COMMON_JSON_H_
