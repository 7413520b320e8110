// Field rules every Simpul service validates with: texts, slugs, region codes, civil dates
// and page sizes. Each Check* adds one FieldViolation per bad field, so a caller learns every
// problem of a request at once.
#ifndef SIMPUL_COMMON_FIELD_RULES_H_
#define SIMPUL_COMMON_FIELD_RULES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "common/status.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul {

// IsValidRegionCode checks the Kemendagri pattern ^[1-9]\d(\.\d{2}(\.\d{2}(\.[123]\d{3})?)?)?$.
bool IsValidRegionCode(absl::string_view code);
// RegionLevel is 1 (province) .. 4 (village) for a valid code.
int RegionLevel(absl::string_view code);
// IsValidSlug checks 3..64 characters of a-z, 0-9 and '-', starting and ending with a letter
// or digit.
bool IsValidSlug(absl::string_view id);

// CheckText requires min..max bytes (min 0 allows empty) and no control characters other
// than newline, carriage return and tab.
void CheckText(FieldViolations& v, const std::string& field, absl::string_view text, size_t min,
               size_t max);
void CheckSlug(FieldViolations& v, const std::string& field, absl::string_view id);
// CheckDate requires a valid civil date; with `not_after` set, not later than that day.
void CheckDate(FieldViolations& v, const std::string& field, const common::v1::Date& date,
               bool required, const absl::CivilDay* not_after);
absl::CivilDay ToCivilDay(const common::v1::Date& date);
common::v1::Date ToDate(absl::CivilDay day);
// ValidatePageSize accepts 0 (the default) and 1..500.
void ValidatePageSize(FieldViolations& v, const std::string& path, int32_t page_size);

}  // namespace simpul

#endif  // SIMPUL_COMMON_FIELD_RULES_H_
