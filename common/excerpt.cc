// Excerpts of caller input (common/excerpt.h).
#include "common/excerpt.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace simpul {
namespace {

// SequenceLength is the length of the valid UTF-8 sequence starting at text[i], or 0.
size_t SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t len;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  size_t end = 0;
  while (end < text.size()) {
    const size_t len = SequenceLength(text, end);
    const size_t step = len == 0 ? 1 : len;
    if (end + step > max_bytes) break;
    end += step;
  }
  return text.substr(0, end);
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t len = SequenceLength(text, i);
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
    const size_t len = SequenceLength(text, i);
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
    const size_t len = SequenceLength(text, i);
    const std::string_view piece = len == 0 ? std::string_view(kReplacement) : text.substr(i, len);
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += len == 0 ? 1 : len;
  }
  if (i < text.size()) absl::StrAppend(&out, "\xE2\x80\xA6(", text.size(), " bytes)");
  return out;
}

}  // namespace simpul
