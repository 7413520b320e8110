// Fuzz target: holiday year files (common/calendar.h HolidayCalendar::FromYearFiles). The
// input is one file's content; it is named "<year>.json" after the first number following
// "year" in it (else "2026.json"), so that the fuzzer reaches the checks past the name.
// Invariants: a bad file is INVALID_ARGUMENT with a message naming the file (no other code, no
// crash); a loaded calendar has exactly that year, every holiday of it is in that year and is
// not a working day; and for a few events in that year, AddWorkingDays and WorkingDaysBetween
// are inverse, with the deadline's day a working day (n > 0) and the year reported as covered.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/calendar.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string FileName(std::string_view in) {
  const size_t at = in.find("\"year\"");
  if (at != std::string_view::npos) {
    size_t i = at + 6;
    while (i < in.size() && (in[i] == ' ' || in[i] == ':')) ++i;
    size_t end = i;
    while (end < in.size() && end - i < 6 && in[end] >= '0' && in[end] <= '9') ++end;
    if (end > i) return std::string(in.substr(i, end - i)) + ".json";
  }
  return "2026.json";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string name = FileName(in);
  absl::StatusOr<simpul::HolidayCalendar> calendar =
      simpul::HolidayCalendar::FromYearFiles({{name, std::string(in)}});
  if (!calendar.ok()) {
    FUZZ_CHECK(calendar.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(calendar.status().message().find(name) != std::string_view::npos);
    return 0;
  }
  FUZZ_CHECK(calendar->years().size() == 1);
  const int64_t year = calendar->years().begin()->first;
  FUZZ_CHECK(year >= 1900 && year <= 9999);
  FUZZ_CHECK(name == std::to_string(year) + ".json");
  const std::vector<simpul::Holiday> holidays = calendar->HolidaysInYear(year);
  FUZZ_CHECK(!holidays.empty());
  for (const simpul::Holiday& h : holidays) {
    FUZZ_CHECK(h.date.year() == year);
    FUZZ_CHECK(!calendar->IsWorkingDay(h.date));
    FUZZ_CHECK(calendar->FindHoliday(h.date) != nullptr);
  }

  // Deadlines from events inside the year (WIB), short enough to stay in it.
  const absl::TimeZone wib = absl::FixedTimeZone(7 * 3600);
  for (int month : {1, 6, 11}) {
    const absl::Time event = absl::FromCivil(absl::CivilSecond(year, month, 10, 10, 0, 0), wib);
    for (int64_t n : {0, 1, 3, 10}) {
      absl::StatusOr<simpul::Deadline> d =
          calendar->AddWorkingDays(event, n, simpul::common::v1::TIME_ZONE_WIB);
      FUZZ_CHECK(d.ok());
      FUZZ_CHECK(d->time >= event);
      if (n > 0) FUZZ_CHECK(calendar->IsWorkingDay(d->day));
      if (d->day.year() == year) FUZZ_CHECK(d->complete());
      absl::StatusOr<simpul::WorkingDayCount> count =
          calendar->WorkingDaysBetween(event, d->time, simpul::common::v1::TIME_ZONE_WIB);
      FUZZ_CHECK(count.ok());
      FUZZ_CHECK(count->days == n);
    }
  }
  return 0;
}
