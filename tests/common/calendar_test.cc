#include "common/calendar.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace simpul {
namespace {

namespace fs = std::filesystem;
using common::v1::Holiday;
using common::v1::TIME_ZONE_UNSPECIFIED;
using common::v1::TIME_ZONE_WIB;
using common::v1::TIME_ZONE_WIT;
using common::v1::TIME_ZONE_WITA;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Time builds an instant from a local wall time at a fixed UTC offset in hours.
absl::Time Time(int y, int mo, int d, int h, int mi, int offset_hours, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::FixedTimeZone(offset_hours * 3600));
}
absl::Time Utc(int y, int mo, int d, int h, int mi, int s) { return Time(y, mo, d, h, mi, 0, s); }

const HolidayCalendar& Calendar2026() {
  static const HolidayCalendar* calendar = [] {
    auto loaded = HolidayCalendar::LoadFromDirectory(SIMPUL_HOLIDAYS_DIR);
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status();
      return new HolidayCalendar();
    }
    return new HolidayCalendar(*std::move(loaded));
  }();
  return *calendar;
}

Deadline MustAddWorkingDays(absl::Time event, int64_t n, common::v1::TimeZone zone) {
  auto deadline = Calendar2026().AddWorkingDays(event, n, zone);
  EXPECT_TRUE(deadline.ok()) << deadline.status();
  return deadline.ok() ? *deadline : Deadline{};
}

int64_t MustCount(absl::Time from, absl::Time to, common::v1::TimeZone zone) {
  auto count = Calendar2026().WorkingDaysBetween(from, to, zone);
  EXPECT_TRUE(count.ok()) << count.status();
  return count.ok() ? count->days : -1;
}

// A small valid year file for the parser and reload tests.
constexpr char kSmall2030[] = R"json({
  "year": 2030,
  "decree": "test decree",
  "days": [
    {"date": "2030-01-01", "name": "New Year", "type": "NATIONAL_HOLIDAY"},
    {"date": "2030-01-02", "name": "Leave", "type": "COLLECTIVE_LEAVE"}
  ]
})json";

absl::Status LoadOne(const std::string& name, const std::string& content) {
  return HolidayCalendar::FromYearFiles({{name, content}}).status();
}

using ::simpul::testing::TempDir;

// ---------------------------------------------------------------------------------------------
// The data file deploy/holidays/2026.json.

TEST(HolidayDataTest, File2026HasTheDecreeList) {
  const HolidayCalendar& calendar = Calendar2026();
  ASSERT_TRUE(calendar.HasYear(2026));
  EXPECT_EQ(calendar.years().at(2026).decree, "SKB 3 Menteri No. 1497/2025, 2/2025, 5/2025");
  std::vector<std::string> ln_dates, cb_dates;
  for (const simpul::Holiday& h : calendar.HolidaysInYear(2026)) {
    EXPECT_FALSE(h.name.empty());
    (h.type == Holiday::NATIONAL_HOLIDAY ? ln_dates : cb_dates)
        .push_back(absl::FormatCivilTime(h.date));
  }
  // domain.md §7.
  EXPECT_THAT(ln_dates,
              ElementsAre("2026-01-01", "2026-01-16", "2026-02-17", "2026-03-19", "2026-03-21",
                          "2026-03-22", "2026-04-03", "2026-04-05", "2026-05-01", "2026-05-14",
                          "2026-05-27", "2026-05-31", "2026-06-01", "2026-06-16", "2026-08-17",
                          "2026-08-25", "2026-12-25"));
  EXPECT_THAT(cb_dates, ElementsAre("2026-02-16", "2026-03-18", "2026-03-20", "2026-03-23",
                                    "2026-03-24", "2026-05-15", "2026-05-28", "2026-12-24"));
  EXPECT_EQ(ln_dates.size(), 17u);
  EXPECT_EQ(cb_dates.size(), 8u);
  const simpul::Holiday* nyepi = calendar.FindHoliday(absl::CivilDay(2026, 3, 19));
  ASSERT_NE(nyepi, nullptr);
  EXPECT_EQ(nyepi->name, "Hari Suci Nyepi (Tahun Baru Saka 1948)");
  EXPECT_EQ(calendar.FindHoliday(absl::CivilDay(2026, 3, 25)), nullptr);
}

TEST(HolidayCalendarTest, IsWorkingDay) {
  const HolidayCalendar& calendar = Calendar2026();
  EXPECT_TRUE(calendar.IsWorkingDay(absl::CivilDay(2026, 3, 25)));   // Wed
  EXPECT_FALSE(calendar.IsWorkingDay(absl::CivilDay(2026, 3, 28)));  // Sat
  EXPECT_FALSE(calendar.IsWorkingDay(absl::CivilDay(2026, 3, 29)));  // Sun
  EXPECT_FALSE(calendar.IsWorkingDay(absl::CivilDay(2026, 3, 19)));  // Thu, Nyepi (LN)
  EXPECT_FALSE(calendar.IsWorkingDay(absl::CivilDay(2026, 3, 23)));  // Mon, CB Idul Fitri
  EXPECT_FALSE(calendar.IsWorkingDay(absl::CivilDay(2026, 3, 21)));  // Sat and LN
  // 2027 has no file: only weekends are skipped. 2027-01-01 is a Friday.
  EXPECT_FALSE(calendar.HasYear(2027));
  EXPECT_TRUE(calendar.IsWorkingDay(absl::CivilDay(2027, 1, 1)));
  EXPECT_FALSE(calendar.IsWorkingDay(absl::CivilDay(2027, 1, 2)));
}

// ---------------------------------------------------------------------------------------------
// AddWorkingDays: the counting convention of domain.md §5.

TEST(AddWorkingDaysTest, NyepiAndIdulFitri) {
  // Event Thu 2026-03-19 10:00 WIB, +3 working days:
  //   19 Thu Nyepi (event day, not counted anyway), 20 Fri CB, 21–22 weekend (LN),
  //   23 Mon CB, 24 Tue CB, 25 Wed = 1st, 26 Thu = 2nd, 27 Fri = 3rd
  //   → 2026-03-27 23:59:59 WIB = 16:59:59 UTC.
  Deadline d = MustAddWorkingDays(Time(2026, 3, 19, 10, 0, 7), 3, TIME_ZONE_WIB);
  EXPECT_EQ(d.time, Utc(2026, 3, 27, 16, 59, 59));
  EXPECT_EQ(d.day, absl::CivilDay(2026, 3, 27));
  EXPECT_THAT(d.years_without_data, IsEmpty());
  EXPECT_TRUE(d.complete());
}

TEST(AddWorkingDaysTest, LateFridayEventCountsFromTheLocalDate) {
  // Fri 2026-01-09 23:30 WIB = 16:30 UTC = Sat 2026-01-10 01:30 WIT; +1 working day.
  absl::Time event = Time(2026, 1, 9, 23, 30, 7);
  ASSERT_EQ(event, Utc(2026, 1, 9, 16, 30, 0));
  // WIB: local date Fri 9; 10–11 weekend; Mon 12 = 1st → 2026-01-12 23:59:59 WIB = 16:59:59 UTC.
  Deadline wib = MustAddWorkingDays(event, 1, TIME_ZONE_WIB);
  EXPECT_EQ(wib.day, absl::CivilDay(2026, 1, 12));
  EXPECT_EQ(wib.time, Utc(2026, 1, 12, 16, 59, 59));
  // WIT: local date Sat 10 (the event's UTC date is still Fri 9); Sun 11; Mon 12 = 1st
  //   → 2026-01-12 23:59:59 WIT = 14:59:59 UTC.
  Deadline wit = MustAddWorkingDays(event, 1, TIME_ZONE_WIT);
  EXPECT_EQ(wit.day, absl::CivilDay(2026, 1, 12));
  EXPECT_EQ(wit.time, Utc(2026, 1, 12, 14, 59, 59));
  // N = 0 ends the event's own local day, which differs: Fri 9 WIB, Sat 10 WIT.
  EXPECT_EQ(MustAddWorkingDays(event, 0, TIME_ZONE_WIB).time, Utc(2026, 1, 9, 16, 59, 59));
  EXPECT_EQ(MustAddWorkingDays(event, 0, TIME_ZONE_WIT).time, Utc(2026, 1, 10, 14, 59, 59));
}

TEST(AddWorkingDaysTest, SameInstantDifferentZonesAcrossMidnight) {
  // Thu 2026-01-08 23:30 WIB = Fri 2026-01-09 00:30 WITA = Fri 01:30 WIT; +1 working day.
  absl::Time event = Time(2026, 1, 8, 23, 30, 7);
  // WIB: local Thu 8 → Fri 9 = 1st → 2026-01-09 23:59:59 WIB = 16:59:59 UTC.
  EXPECT_EQ(MustAddWorkingDays(event, 1, TIME_ZONE_WIB).time, Utc(2026, 1, 9, 16, 59, 59));
  // WITA: local Fri 9 → 10–11 weekend → Mon 12 = 1st → 23:59:59 WITA = 15:59:59 UTC.
  EXPECT_EQ(MustAddWorkingDays(event, 1, TIME_ZONE_WITA).time, Utc(2026, 1, 12, 15, 59, 59));
  // WIT: local Fri 9 → Mon 12 = 1st → 23:59:59 WIT = 14:59:59 UTC.
  EXPECT_EQ(MustAddWorkingDays(event, 1, TIME_ZONE_WIT).time, Utc(2026, 1, 12, 14, 59, 59));
  EXPECT_EQ(*LocalDay(event, TIME_ZONE_WIB), absl::CivilDay(2026, 1, 8));
  EXPECT_EQ(*LocalDay(event, TIME_ZONE_WIT), absl::CivilDay(2026, 1, 9));
}

TEST(AddWorkingDaysTest, FiveAcrossIdulAdha) {
  // Event Mon 2026-05-25 09:00 WITA, +5 working days:
  //   26 Tue = 1st, 27 Wed Idul Adha (LN), 28 Thu CB, 29 Fri = 2nd, 30 Sat, 31 Sun (Waisak),
  //   Jun 1 Mon Pancasila (LN), 2 Tue = 3rd, 3 Wed = 4th, 4 Thu = 5th
  //   → 2026-06-04 23:59:59 WITA = 15:59:59 UTC.
  Deadline d = MustAddWorkingDays(Time(2026, 5, 25, 9, 0, 8), 5, TIME_ZONE_WITA);
  EXPECT_EQ(d.day, absl::CivilDay(2026, 6, 4));
  EXPECT_EQ(d.time, Utc(2026, 6, 4, 15, 59, 59));
}

TEST(AddWorkingDaysTest, TenWorkingDays) {
  // Event Wed 2026-08-12 10:00 WIB, +10 working days:
  //   13 Thu = 1, 14 Fri = 2, 15–16 weekend, 17 Mon Proklamasi (LN), 18 Tue = 3, 19 = 4,
  //   20 = 5, 21 Fri = 6, 22–23 weekend, 24 Mon = 7, 25 Tue Maulid (LN), 26 Wed = 8,
  //   27 Thu = 9, 28 Fri = 10 → 2026-08-28 23:59:59 WIB = 16:59:59 UTC.
  Deadline d = MustAddWorkingDays(Time(2026, 8, 12, 10, 0, 7), 10, TIME_ZONE_WIB);
  EXPECT_EQ(d.time, Utc(2026, 8, 28, 16, 59, 59));
}

TEST(AddWorkingDaysTest, SixtyWorkingDays) {
  // Event Mon 2026-03-02 09:00 WIB, +60 working days:
  //   March after the 2nd: 21 weekdays (3–6, 9–13, 16–20, 23–27, 30–31) minus 18 CB, 19 LN,
  //     20 CB, 23 CB, 24 CB = 16 (total 16);
  //   April: 22 weekdays minus 3 Apr Good Friday = 21 (total 37);
  //   May: 21 weekdays minus 1 LN, 14 LN, 15 CB, 27 LN, 28 CB = 16 (total 53);
  //   June: 1 Mon LN, 2 = 54, 3 = 55, 4 = 56, 5 = 57, 8 = 58, 9 = 59, 10 Wed = 60
  //   → 2026-06-10 23:59:59 WIB = 16:59:59 UTC.
  Deadline d = MustAddWorkingDays(Time(2026, 3, 2, 9, 0, 7), 60, TIME_ZONE_WIB);
  EXPECT_EQ(d.time, Utc(2026, 6, 10, 16, 59, 59));
}

TEST(AddWorkingDaysTest, YearBoundary) {
  // Event Wed 2026-12-23 14:00 WIT, +3 working days:
  //   24 Thu CB, 25 Fri Christmas (LN), 26–27 weekend, 28 Mon = 1st, 29 Tue = 2nd,
  //   30 Wed = 3rd → 2026-12-30 23:59:59 WIT = 14:59:59 UTC. Every counted day is in 2026.
  absl::Time event = Time(2026, 12, 23, 14, 0, 9);
  Deadline d = MustAddWorkingDays(event, 3, TIME_ZONE_WIT);
  EXPECT_EQ(d.time, Utc(2026, 12, 30, 14, 59, 59));
  EXPECT_TRUE(d.complete());
  // +6: 31 Thu = 4th, then 2027 (no file, weekends only): Fri 2027-01-01 = 5th,
  //   2–3 weekend, Mon 4 = 6th → reported as incomplete for 2027.
  Deadline into_2027 = MustAddWorkingDays(event, 6, TIME_ZONE_WIT);
  EXPECT_EQ(into_2027.day, absl::CivilDay(2027, 1, 4));
  EXPECT_EQ(into_2027.time, Utc(2027, 1, 4, 14, 59, 59));
  EXPECT_THAT(into_2027.years_without_data, ElementsAre(2027));
  EXPECT_FALSE(into_2027.complete());
}

TEST(AddWorkingDaysTest, YearsWithoutDataBeforeAndAfter) {
  // An event in 2025 (no file) counting into 2026 reports 2025 only; one that crosses 2027
  // and 2028 reports both.
  Deadline from_2025 = MustAddWorkingDays(Time(2025, 12, 30, 9, 0, 7), 3, TIME_ZONE_WIB);
  // 31 Wed = 1st (2025), 2026-01-01 LN, 2 Fri = 2nd, 3–4 weekend, 5 Mon = 3rd.
  EXPECT_EQ(from_2025.day, absl::CivilDay(2026, 1, 5));
  EXPECT_THAT(from_2025.years_without_data, ElementsAre(2025));
  Deadline long_one = MustAddWorkingDays(Time(2026, 12, 1, 9, 0, 7), 300, TIME_ZONE_WIB);
  EXPECT_THAT(long_one.years_without_data, ElementsAre(2027, 2028));
}

TEST(AddWorkingDaysTest, ZeroIsTheEndOfTheEventsOwnDay) {
  // N = 0 ends the event's own local day even when that day is a holiday (Nyepi).
  Deadline d = MustAddWorkingDays(Time(2026, 3, 19, 10, 0, 7), 0, TIME_ZONE_WIB);
  EXPECT_EQ(d.day, absl::CivilDay(2026, 3, 19));
  EXPECT_EQ(d.time, Utc(2026, 3, 19, 16, 59, 59));
  EXPECT_THAT(d.years_without_data, IsEmpty());
}

TEST(AddWorkingDaysTest, RejectsBadArguments) {
  const HolidayCalendar& calendar = Calendar2026();
  absl::Time event = Time(2026, 3, 19, 10, 0, 7);
  auto negative = calendar.AddWorkingDays(event, -1, TIME_ZONE_WIB);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.status().message(), HasSubstr("got -1"));
  EXPECT_EQ(calendar.AddWorkingDays(event, kMaxDeadlineDays + 1, TIME_ZONE_WIB).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(calendar.AddWorkingDays(event, kMaxDeadlineDays, TIME_ZONE_WIB).ok());
  auto no_zone = calendar.AddWorkingDays(event, 1, TIME_ZONE_UNSPECIFIED);
  EXPECT_EQ(no_zone.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_zone.status().message(), HasSubstr("TIME_ZONE_UNSPECIFIED"));
  EXPECT_EQ(
      calendar.AddWorkingDays(event, 1, static_cast<common::v1::TimeZone>(42)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calendar.AddWorkingDays(absl::InfiniteFuture(), 1, TIME_ZONE_WIB).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calendar.AddCalendarDays(event, -1, TIME_ZONE_WIB).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calendar.AddHours(event, -1, TIME_ZONE_WIB).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AddWorkingDaysTest, DeadlineIsAWorkingDayAndInvertsWorkingDaysBetween) {
  // For every hour-of-day sample of 2026 and N = 0..15, in every zone: the deadline day is a
  // working day (N >= 1), it ends at 23:59:59 local, and counting back gives N.
  const HolidayCalendar& calendar = Calendar2026();
  for (auto zone : {TIME_ZONE_WIB, TIME_ZONE_WITA, TIME_ZONE_WIT}) {
    absl::TimeZone tz = *UnitTimeZone(zone);
    for (absl::CivilDay day(2026, 1, 1); day.year() == 2026; ++day) {
      absl::Time event = absl::FromCivil(absl::CivilSecond(day) + 17 * 3600 + 45 * 60, tz);
      for (int n = 0; n <= 15; ++n) {
        Deadline d = *calendar.AddWorkingDays(event, n, zone);
        ASSERT_EQ(absl::ToCivilSecond(d.time, tz), absl::CivilSecond(d.day) + 86399);
        ASSERT_EQ(calendar.WorkingDaysBetween(event, d.time, zone)->days, n) << day << " +" << n;
        if (n > 0) {
          ASSERT_TRUE(calendar.IsWorkingDay(d.day)) << day << " +" << n;
          // The day before the deadline day still counts fewer than n.
          ASSERT_EQ(calendar.WorkingDaysBetween(event, d.time - absl::Hours(24), zone)->days, n - 1)
              << day << " +" << n;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Calendar days, hours, Missed.

TEST(AddCalendarDaysTest, EndOfTheNthCalendarDay) {
  const HolidayCalendar& calendar = Calendar2026();
  // Thu 2026-03-19 10:00 WIB + 30 calendar days: March has 31 days, so 19 + 30 = April 18
  //   (holidays play no part) → 2026-04-18 23:59:59 WIB = 16:59:59 UTC.
  auto d = calendar.AddCalendarDays(Time(2026, 3, 19, 10, 0, 7), 30, TIME_ZONE_WIB);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->day, absl::CivilDay(2026, 4, 18));
  EXPECT_EQ(d->time, Utc(2026, 4, 18, 16, 59, 59));
  EXPECT_THAT(d->years_without_data, IsEmpty());
  // Fri 2026-01-09 23:30 WIB is Sat 01:30 WIT: +1 calendar day is Sat 10 WIB, Sun 11 WIT.
  absl::Time late = Time(2026, 1, 9, 23, 30, 7);
  EXPECT_EQ(calendar.AddCalendarDays(late, 1, TIME_ZONE_WIB)->time, Utc(2026, 1, 10, 16, 59, 59));
  EXPECT_EQ(calendar.AddCalendarDays(late, 1, TIME_ZONE_WIT)->time, Utc(2026, 1, 11, 14, 59, 59));
  // N = 0: the end of the event's own day.
  EXPECT_EQ(calendar.AddCalendarDays(late, 0, TIME_ZONE_WIB)->time, Utc(2026, 1, 9, 16, 59, 59));
  // 2027 has no file, but calendar days do not need one.
  EXPECT_TRUE(calendar.AddCalendarDays(late, 400, TIME_ZONE_WIB)->complete());
}

TEST(AddHoursTest, PlainDuration) {
  const HolidayCalendar& calendar = Calendar2026();
  // Fri 2026-01-09 23:30 WIB + 24 h = Sat 2026-01-10 23:30 WIB, no rounding, weekend or not.
  absl::Time event = Time(2026, 1, 9, 23, 30, 7) + absl::Milliseconds(250);
  auto d = calendar.AddHours(event, 24, TIME_ZONE_WIB);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->time, event + absl::Hours(24));
  EXPECT_EQ(d->day, absl::CivilDay(2026, 1, 10));
  EXPECT_EQ(calendar.AddHours(event, 24, TIME_ZONE_WIT)->day, absl::CivilDay(2026, 1, 11));
  EXPECT_EQ(calendar.AddHours(event, 0, TIME_ZONE_WIB)->time, event);
}

TEST(AddDeadlineTest, DispatchesByUnit) {
  const HolidayCalendar& calendar = Calendar2026();
  absl::Time event = Time(2026, 3, 19, 10, 0, 7);
  EXPECT_EQ(calendar.AddDeadline(event, 3, DeadlineUnit::kWorkingDay, TIME_ZONE_WIB)->time,
            Utc(2026, 3, 27, 16, 59, 59));
  EXPECT_EQ(calendar.AddDeadline(event, 3, DeadlineUnit::kCalendarDay, TIME_ZONE_WIB)->time,
            Utc(2026, 3, 22, 16, 59, 59));
  EXPECT_EQ(calendar.AddDeadline(event, 3, DeadlineUnit::kHour, TIME_ZONE_WIB)->time,
            event + absl::Hours(3));
}

TEST(DeadlineTest, MissedAtOneSecondResolution) {
  Deadline d = MustAddWorkingDays(Time(2026, 3, 19, 10, 0, 7), 3, TIME_ZONE_WIB);
  EXPECT_FALSE(d.Missed(d.time - absl::Hours(1)));
  EXPECT_FALSE(d.Missed(d.time));
  EXPECT_FALSE(d.Missed(d.time + absl::Milliseconds(999)));  // still within 23:59:59
  EXPECT_TRUE(d.Missed(d.time + absl::Seconds(1)));          // 00:00:00 the next day
  EXPECT_TRUE(d.Missed(absl::InfiniteFuture()));
}

// ---------------------------------------------------------------------------------------------
// WorkingDaysBetween.

TEST(WorkingDaysBetweenTest, Examples) {
  // Filed Thu 2026-03-19 10:00 WIB, first response Fri 2026-03-27 08:00 WIB: working days
  //   after the 19th up to the 27th are 25, 26, 27 → 3.
  EXPECT_EQ(MustCount(Time(2026, 3, 19, 10, 0, 7), Time(2026, 3, 27, 8, 0, 7), TIME_ZONE_WIB), 3);
  // Same local date → 0, also on a working day.
  EXPECT_EQ(MustCount(Time(2026, 3, 25, 8, 0, 7), Time(2026, 3, 25, 23, 0, 7), TIME_ZONE_WIB), 0);
  // Fri 2026-01-09 16:00 WIB → Mon 2026-01-12 09:00 WIB: only Mon 12 counts → 1.
  EXPECT_EQ(MustCount(Time(2026, 1, 9, 16, 0, 7), Time(2026, 1, 12, 9, 0, 7), TIME_ZONE_WIB), 1);
  // Thu 2026-01-08 23:30 WIB → Fri 2026-01-09 10:00 WIB: WIB counts Fri 9 → 1; in WIT both
  //   instants fall on Fri 9 (01:30 and 12:00) → 0.
  absl::Time from = Time(2026, 1, 8, 23, 30, 7), to = Time(2026, 1, 9, 10, 0, 7);
  EXPECT_EQ(MustCount(from, to, TIME_ZONE_WIB), 1);
  EXPECT_EQ(MustCount(from, to, TIME_ZONE_WIT), 0);
  // All of 2026 (from 2025-12-31 exclusive to 2026-12-31 inclusive): 2026 starts on a
  //   Thursday and has 365 days = 52 weeks + 1 Thursday → 261 weekdays. Of the 25 holidays,
  //   4 LN fall on a weekend (21 Mar Sat, 22 Mar Sun, 5 Apr Sun, 31 May Sun) and no CB does,
  //   so 21 fall on weekdays: 261 - 21 = 240.
  auto year = Calendar2026().WorkingDaysBetween(Time(2025, 12, 31, 12, 0, 7),
                                                Time(2026, 12, 31, 12, 0, 7), TIME_ZONE_WIB);
  ASSERT_TRUE(year.ok()) << year.status();
  EXPECT_EQ(year->days, 240);
  EXPECT_THAT(year->years_without_data, IsEmpty());
}

TEST(WorkingDaysBetweenTest, ReportsYearsWithoutData) {
  // 2026-12-30 → 2027-01-05 WIB: 31 Thu, 2027-01-01 Fri, 4 Mon, 5 Tue → 4, 2027 unknown.
  auto count = Calendar2026().WorkingDaysBetween(Time(2026, 12, 30, 12, 0, 7),
                                                 Time(2027, 1, 5, 12, 0, 7), TIME_ZONE_WIB);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->days, 4);
  EXPECT_THAT(count->years_without_data, ElementsAre(2027));
}

TEST(WorkingDaysBetweenTest, RejectsBadArguments) {
  const HolidayCalendar& calendar = Calendar2026();
  absl::Time t = Time(2026, 3, 25, 8, 0, 7);
  auto backwards = calendar.WorkingDaysBetween(t, t - absl::Seconds(1), TIME_ZONE_WIB);
  EXPECT_EQ(backwards.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(backwards.status().message(), HasSubstr("before"));
  EXPECT_EQ(
      calendar.WorkingDaysBetween(t, t + absl::Hours(24 * 40000), TIME_ZONE_WIB).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calendar.WorkingDaysBetween(t, t, TIME_ZONE_UNSPECIFIED).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Loading and validation.

TEST(HolidayCalendarLoadTest, FromYearFilesAcceptsAValidFile) {
  auto calendar = HolidayCalendar::FromYearFiles({{"2030.json", kSmall2030}});
  ASSERT_TRUE(calendar.ok()) << calendar.status();
  EXPECT_TRUE(calendar->HasYear(2030));
  EXPECT_EQ(calendar->HolidaysInYear(2030).size(), 2u);
  EXPECT_FALSE(calendar->IsWorkingDay(absl::CivilDay(2030, 1, 2)));  // Wed, CB
  EXPECT_TRUE(calendar->IsWorkingDay(absl::CivilDay(2030, 1, 3)));
}

TEST(HolidayCalendarLoadTest, AmendingDecreesAreKeptInOrderAndChecked) {
  auto with = [](const std::string& amendments) {
    return absl::StrCat(R"json({"year": 2030, "decree": "test decree", "amendments": )json",
                        amendments,
                        R"json(, "days": [{"date": "2030-01-01", "name": "New Year", )json",
                        R"json("type": "NATIONAL_HOLIDAY"}]})json");
  };
  auto calendar = HolidayCalendar::FromYearFiles({{"2030.json", with(R"(["first", "second"])")}});
  ASSERT_TRUE(calendar.ok()) << calendar.status();
  EXPECT_EQ(calendar->years().at(2030).decree, "test decree");
  EXPECT_THAT(calendar->years().at(2030).amendments, ElementsAre("first", "second"));
  // Without the key: no amendments.
  auto plain = HolidayCalendar::FromYearFiles({{"2030.json", kSmall2030}});
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->years().at(2030).amendments.empty());
  for (const auto& [amendments, why] :
       {std::pair<std::string, std::string>{R"(["first", " "])", "amendments[1]: a decree"},
        {R"(["first", "first"])", "amendments[1]: decree \"first\" is already listed"},
        {R"(["test decree"])", "amendments[0]: decree \"test decree\" is already listed"}}) {
    absl::Status bad = HolidayCalendar::FromYearFiles({{"2030.json", with(amendments)}}).status();
    EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << amendments;
    EXPECT_THAT(std::string(bad.message()), HasSubstr(why)) << amendments;
  }
}

TEST(HolidayCalendarLoadTest, EmptyCalendarIsWeekdaysOnly) {
  HolidayCalendar empty;
  EXPECT_TRUE(empty.IsWorkingDay(absl::CivilDay(2026, 3, 19)));
  auto d = empty.AddWorkingDays(Time(2026, 3, 19, 10, 0, 7), 3, TIME_ZONE_WIB);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->day, absl::CivilDay(2026, 3, 24));  // 20 Fri, 23 Mon, 24 Tue
  EXPECT_THAT(d->years_without_data, ElementsAre(2026));
}

struct BadFile {
  std::string label;
  std::string content;
  std::vector<std::string> expected;  // substrings of the error message besides the name
  std::string name = "2030.json";
};

TEST(HolidayCalendarLoadTest, RejectsMalformedFilesNamingFileAndEntry) {
  auto with = [](const std::string& from, const std::string& to) {
    return absl::StrReplaceAll(kSmall2030, {{from, to}});
  };
  // Every message names the file; the expected substrings name the entry and the problem.
  std::vector<BadFile> cases = {
      {"truncated", "{\"year\": 2030,", {"not valid JSON", "line 1"}},
      {"trailing comma", with("\"Leave\",", "\"Leave\",,"), {"not valid JSON", "line 6"}},
      {"trailing comma before brace",
       with("\"COLLECTIVE_LEAVE\"}", "\"COLLECTIVE_LEAVE\",}"),
       {"line 6", "expected a quoted key"}},
      {"duplicate key",
       with("\"name\": \"Leave\"", "\"date\": \"2030-01-03\""),
       {"line 6", "duplicate key \"date\""}},
      {"unquoted key", with("\"year\"", "year"), {"line 2", "expected a quoted key"}},
      {"trailing text", absl::StrCat(kSmall2030, "}"), {"after the JSON value"}},
      {"unknown field", with("\"name\": \"Leave\"", "\"nmae\": \"Leave\""), {"days[1]", "nmae"}},
      {"unknown top-level field", with("\"decree\"", "\"decre\""), {"decre"}},
      {"unknown type", with("COLLECTIVE_LEAVE", "CUTI_BERSAMA"), {"days[1]", "CUTI_BERSAMA"}},
      {"unknown numeric type",
       with("\"COLLECTIVE_LEAVE\"", "7"),
       {"days[1]", "2030-01-02", "type must be", "got 7"}},
      {"unspecified type",
       with("\"COLLECTIVE_LEAVE\"", "\"TYPE_UNSPECIFIED\""),
       {"days[1]", "2030-01-02", "Leave", "type must be"}},
      {"missing type",
       with(", \"type\": \"COLLECTIVE_LEAVE\"", ""),
       {"days[1]", "2030-01-02", "type must be"}},
      {"date outside year",
       with("2030-01-02", "2031-01-02"),
       {"days[1]", "2031-01-02", "outside the file's year 2030"}},
      {"duplicate date",
       with("2030-01-02", "2030-01-01"),
       {"days[1]", "duplicate date", "days[0]", "New Year"}},
      {"invalid date", with("2030-01-02", "2030-02-30"), {"days[1]", "2030-02-30", "valid date"}},
      {"unpadded date", with("2030-01-02", "2030-1-2"), {"days[1]", "2030-1-2", "valid date"}},
      {"blank name", with("\"Leave\"", "\" \""), {"days[1]", "name is required"}},
      {"missing decree", with("\"test decree\"", "\"\""), {"decree is required"}},
      {"no days", "{\"year\": 2030, \"decree\": \"d\", \"days\": []}", {"at least one day"}},
      {"year out of range", with("\"year\": 2030", "\"year\": 0"), {"year must be"}, "0.json"},
      {"file name mismatch", kSmall2030, {"named \"2030.json\""}, "2031.json"},
  };
  for (const BadFile& c : cases) {
    absl::Status status = LoadOne(c.name, c.content);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.label << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.name)) << c.label;
    for (const std::string& want : c.expected) {
      EXPECT_THAT(status.message(), HasSubstr(want)) << c.label;
    }
  }
}

TEST(HolidayCalendarLoadTest, LoadFromDirectory) {
  TempDir dir("calendar_test");
  EXPECT_EQ(HolidayCalendar::LoadFromDirectory(dir.path()).status().code(),
            absl::StatusCode::kFailedPrecondition);  // no *.json
  dir.Write("2030.json", kSmall2030);
  dir.Write("README.md", "not a year file");
  dir.Write(".2031.json.swp", "editor backup");
  auto calendar = HolidayCalendar::LoadFromDirectory(dir.path());
  ASSERT_TRUE(calendar.ok()) << calendar.status();
  EXPECT_THAT(calendar->years(), ::testing::SizeIs(1));
  EXPECT_THAT(calendar->years().at(2030).source, HasSubstr("2030.json"));

  dir.Write("2031.json", "{\"year\": 2031, \"decree\": \"d\", \"days\": [{\"date\": \"x\"}]}");
  absl::Status bad = HolidayCalendar::LoadFromDirectory(dir.path()).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), AllOf(HasSubstr(dir.path()), HasSubstr("2031.json"),
                                   HasSubstr("days[0]"), HasSubstr("\"x\"")));

  EXPECT_EQ(HolidayCalendar::LoadFromDirectory(dir.path() + "/missing").status().code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------
// CalendarRegistry.

TEST(CalendarRegistryTest, ReloadSwapsWhileOldSnapshotsStayValid) {
  TempDir dir("calendar_test");
  dir.Write("2030.json", kSmall2030);
  auto registry = CalendarRegistry::Create(dir.path());
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_EQ((*registry)->generation(), 1u);

  // Event Mon 2029-12-31 10:00 WIB + 2 working days: 1 LN, 2 CB, 3 Thu = 1st, 4 Fri = 2nd.
  absl::Time event = Time(2029, 12, 31, 10, 0, 7);
  std::shared_ptr<const HolidayCalendar> before = (*registry)->Current();
  Deadline planned = *before->AddWorkingDays(event, 2, TIME_ZONE_WIB);
  EXPECT_EQ(planned.day, absl::CivilDay(2030, 1, 4));

  // An amendment adds a collective leave day on Thu 3 January.
  dir.Write("2030.json",
            absl::StrReplaceAll(kSmall2030, {{"\"COLLECTIVE_LEAVE\"}",
                                              "\"COLLECTIVE_LEAVE\"},\n"
                                              "{\"date\": \"2030-01-03\", \"name\": \"Amended\", "
                                              "\"type\": \"COLLECTIVE_LEAVE\"}"}}));
  ASSERT_TRUE((*registry)->Reload().ok());
  EXPECT_EQ((*registry)->generation(), 2u);
  std::shared_ptr<const HolidayCalendar> after = (*registry)->Current();
  EXPECT_NE(after, before);
  // The new calendar moves a new computation: 3 CB, 4 Fri = 1st, 7 Mon = 2nd.
  EXPECT_EQ(after->AddWorkingDays(event, 2, TIME_ZONE_WIB)->day, absl::CivilDay(2030, 1, 7));
  // The old snapshot is untouched, and the stored deadline keeps its value.
  EXPECT_TRUE(before->IsWorkingDay(absl::CivilDay(2030, 1, 3)));
  EXPECT_EQ(before->AddWorkingDays(event, 2, TIME_ZONE_WIB)->time, planned.time);

  // A failed reload keeps the calendar in force.
  dir.Write("2030.json", "{broken");
  absl::Status failed = (*registry)->Reload();
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(failed.message(), HasSubstr("2030.json"));
  EXPECT_EQ((*registry)->Current(), after);
  EXPECT_EQ((*registry)->generation(), 2u);
}

TEST(CalendarRegistryTest, CreateFailsOnBadData) {
  TempDir dir("calendar_test");
  dir.Write("2030.json", "{}");
  auto registry = CalendarRegistry::Create(dir.path());
  EXPECT_EQ(registry.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CalendarRegistryTest, ReplaceAndReloadWithoutDirectory) {
  CalendarRegistry registry("", std::make_shared<const HolidayCalendar>());
  EXPECT_FALSE(registry.Current()->HasYear(2030));
  EXPECT_EQ(registry.Reload().code(), absl::StatusCode::kFailedPrecondition);
  registry.Replace(std::make_shared<const HolidayCalendar>(
      *HolidayCalendar::FromYearFiles({{"2030.json", kSmall2030}})));
  EXPECT_TRUE(registry.Current()->HasYear(2030));
  EXPECT_EQ(registry.generation(), 2u);
}

TEST(CalendarRegistryTest, ConcurrentReadersAndReloads) {
  TempDir dir("calendar_test");
  dir.Write("2030.json", kSmall2030);
  auto registry = CalendarRegistry::Create(dir.path());
  ASSERT_TRUE(registry.ok()) << registry.status();
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        std::shared_ptr<const HolidayCalendar> snapshot = (*registry)->Current();
        // Every snapshot is a complete calendar: 1 January is always a holiday.
        if (snapshot->IsWorkingDay(absl::CivilDay(2030, 1, 1))) bad.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 50; ++i) ASSERT_TRUE((*registry)->Reload().ok());
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ((*registry)->generation(), 51u);
}

}  // namespace
}  // namespace simpul
