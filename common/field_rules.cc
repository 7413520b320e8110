#include "common/field_rules.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"

namespace simpul {
namespace {

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

bool IsValidRegionCode(absl::string_view code) {
  // Segments: "PP" (first digit 1-9), then ".KK", ".CC", ".DDDD" (first digit 1-3).
  if (code.size() < 2 || code[0] < '1' || code[0] > '9' || !AllDigits(code.substr(0, 2))) {
    return false;
  }
  size_t pos = 2;
  const size_t widths[] = {2, 2, 4};
  for (size_t width : widths) {
    if (pos == code.size()) return true;
    if (code[pos] != '.' || code.size() < pos + 1 + width) return false;
    absl::string_view seg = code.substr(pos + 1, width);
    if (!AllDigits(seg)) return false;
    if (width == 4 && (seg[0] < '1' || seg[0] > '3')) return false;
    pos += 1 + width;
  }
  return pos == code.size();
}

int RegionLevel(absl::string_view code) {
  int level = 1;
  for (char c : code) level += c == '.';
  return level;
}

bool IsValidSlug(absl::string_view id) {
  if (id.size() < 3 || id.size() > 64) return false;
  for (char c : id) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return id.front() != '-' && id.back() != '-';
}

void CheckText(FieldViolations& v, const std::string& field, absl::string_view text, size_t min,
               size_t max) {
  if (text.size() < min) {
    v.Add(field,
          min == 1 ? "required" : absl::StrCat("at least ", min, " characters, got ", text.size()));
    return;
  }
  if (text.size() > max) {
    v.Add(field, absl::StrCat("at most ", max, " bytes, got ", text.size()));
    return;
  }
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      v.Add(field, "must not contain control characters");
      return;
    }
  }
}

void CheckSlug(FieldViolations& v, const std::string& field, absl::string_view id) {
  if (id.empty()) {
    v.Add(field, "required");
  } else if (!IsValidSlug(id)) {
    v.Add(field, absl::StrCat("\"", Excerpt(StdView(id), 80),
                              "\" is not a valid id: expected 3..64 characters of a-z, 0-9 and "
                              "'-', starting and ending with a letter or digit"));
  }
}

absl::CivilDay ToCivilDay(const common::v1::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

common::v1::Date ToDate(absl::CivilDay day) {
  common::v1::Date d;
  d.set_year(static_cast<int32_t>(day.year()));
  d.set_month(day.month());
  d.set_day(day.day());
  return d;
}

void CheckDate(FieldViolations& v, const std::string& field, const common::v1::Date& date,
               bool required, const absl::CivilDay* not_after) {
  bool empty = date.year() == 0 && date.month() == 0 && date.day() == 0;
  if (empty) {
    if (required) v.Add(field, "required");
    return;
  }
  absl::CivilDay day(date.year(), date.month(), date.day());
  if (date.year() < 1900 || date.year() > 9999 || day.year() != date.year() ||
      day.month() != date.month() || day.day() != date.day()) {
    v.Add(field,
          absl::StrCat("not a valid date: ", date.year(), "-", date.month(), "-", date.day()));
    return;
  }
  if (not_after != nullptr && day > *not_after) {
    v.Add(field, absl::StrCat("must not be in the future (", absl::FormatCivilTime(day),
                              " is after ", absl::FormatCivilTime(*not_after), ")"));
  }
}

void ValidatePageSize(FieldViolations& v, const std::string& path, int32_t page_size) {
  if (page_size < 0 || page_size > 500) {
    v.Add(path, absl::StrCat("must be 1..500 (0 = default 50), got ", page_size));
  }
}

}  // namespace simpul
