// Excerpts of caller input (common/excerpt.h).
#include "common/excerpt.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/json.h"

namespace simpul {

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  size_t end = 0;
  while (end < text.size()) {
    const size_t len = Utf8SequenceLength(text, end);
    const size_t step = len == 0 ? 1 : len;
    if (end + step > max_bytes) break;
    end += step;
  }
  return text.substr(0, end);
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t len = Utf8SequenceLength(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string Excerpt(std::string_view text, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t len = Utf8SequenceLength(text, i);
    std::string_view piece;
    char escaped[4];
    if (len == 0) {
      piece = kReplacement;
    } else if (c == '\\') {
      piece = "\\\\";
    } else if (c == '\n') {
      piece = "\\n";
    } else if (c == '\r') {
      piece = "\\r";
    } else if (c == '\t') {
      piece = "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      escaped[0] = '\\';
      escaped[1] = 'x';
      escaped[2] = kHex[c >> 4];
      escaped[3] = kHex[c & 0xF];
      piece = std::string_view(escaped, 4);
    } else {
      piece = text.substr(i, len);
    }
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += len == 0 ? 1 : len;
  }
  if (i < text.size()) absl::StrAppend(&out, "\xE2\x80\xA6(", text.size(), " bytes)");
  return out;
}

std::string BoundedText(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes && IsValidUtf8(text)) return std::string(text);
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t len = Utf8SequenceLength(text, i);
    const std::string_view piece = len == 0 ? std::string_view(kReplacement) : text.substr(i, len);
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += len == 0 ? 1 : len;
  }
  if (i < text.size()) absl::StrAppend(&out, "\xE2\x80\xA6(", text.size(), " bytes)");
  return out;
}

}  // namespace simpul
