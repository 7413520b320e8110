// Excerpt: the one way an error message, log line or audit record quotes text a caller sent,
// so that nothing a caller sends is echoed or stored unbounded or as invalid UTF-8.
#ifndef SIMPUL_COMMON_EXCERPT_H_
#define SIMPUL_COMMON_EXCERPT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace simpul {

// kExcerptBytes is the default size of an excerpt of caller input in a message.
inline constexpr size_t kExcerptBytes = 64;

// Excerpt returns at most about `max_bytes` bytes of `text` as printable, valid UTF-8: each
// byte of an invalid UTF-8 sequence becomes U+FFFD, a control character (and DEL) becomes
// \n, \r, \t or \xHH, a backslash becomes \\. When `text` does not fit, it is cut at a
// character boundary and "…(N bytes)" is appended, N being the size of the whole `text`.
// The result is never longer than max_bytes + 20 bytes.
std::string Excerpt(std::string_view text, size_t max_bytes = kExcerptBytes);

// kMaxMessageBytes bounds a whole error message (or one description) that goes to a caller.
inline constexpr size_t kMaxMessageBytes = 1024;

// BoundedText is `text` as valid UTF-8 (each invalid byte becomes U+FFFD) of at most about
// `max_bytes` bytes: cut at a character boundary with "…(N bytes)" appended when it does not
// fit. Unlike Excerpt it escapes nothing: for a message that is already text (its quotes of
// input being excerpts), rendered by an escaping writer (JSON, logs).
std::string BoundedText(std::string_view text, size_t max_bytes = kMaxMessageBytes);

// Utf8Prefix is the longest prefix of `text`, at most `max_bytes` long, that does not end
// inside a UTF-8 sequence (a valid sequence is never cut; invalid bytes count as one each).
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);

// IsValidUtf8: `text` is well-formed UTF-8 (no overlong forms, surrogates or values beyond
// U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace simpul

#endif  // SIMPUL_COMMON_EXCERPT_H_
