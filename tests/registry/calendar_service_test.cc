// CalendarQueries (services/registry/calendar_service.h): the Calendar API's answers on the
// real 2026 holiday file (deploy/holidays/2026.json, domain.md §7), its field errors, and an
// amendment applied by a reload. Every expected value is worked out by hand in the comments
// (2026-01-01 is a Thursday; March 1 and August 2 2026 are Sundays; December 1 is a Tuesday).
#include "services/registry/calendar_service.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace simpul::registry {
namespace {

namespace fs = std::filesystem;
using calendar::v1::DEADLINE_UNIT_CALENDAR_DAY;
using calendar::v1::DEADLINE_UNIT_HOUR;
using calendar::v1::DEADLINE_UNIT_UNSPECIFIED;
using calendar::v1::DEADLINE_UNIT_WORKING_DAY;
using common::v1::TIME_ZONE_UNSPECIFIED;
using common::v1::TIME_ZONE_WIB;
using common::v1::TIME_ZONE_WIT;
using common::v1::TIME_ZONE_WITA;
using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kDecree2026[] = "SKB 3 Menteri No. 1497/2025, 2/2025, 5/2025";
constexpr char kAmendment[] = "SKB 3 Menteri No. 99/2026 (test amendment: Maulid Nabi to 18 Aug)";

// Ts is a timestamp from RFC 3339 text with an offset.
google::protobuf::Timestamp Ts(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << rfc3339 << error;
  return ToProto(t);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Amended2026 is the real 2026 file with a (hypothetical) amending decree that moves Maulid
// Nabi from Tue 25 August to Tue 18 August.
std::string Amended2026() {
  std::string text = ReadFile(std::string(SIMPUL_HOLIDAYS_DIR) + "/2026.json");
  const std::string decree_line = absl::StrCat("\"decree\": \"", kDecree2026, "\",");
  const std::string moved_from = "{\"date\": \"2026-08-25\", \"name\": \"Maulid Nabi";
  EXPECT_NE(text.find(decree_line), std::string::npos);
  EXPECT_NE(text.find(moved_from), std::string::npos);
  return absl::StrReplaceAll(
      text,
      {{decree_line, absl::StrCat(decree_line, "\n  \"amendments\": [\"", kAmendment, "\"],")},
       {moved_from, "{\"date\": \"2026-08-18\", \"name\": \"Maulid Nabi"}});
}

// FieldsOf lists the fields named by the violations of `status`.
std::vector<std::string> FieldsOf(const absl::Status& status) {
  std::vector<std::string> fields;
  const common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

class CalendarQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto calendars = CalendarRegistry::Create(SIMPUL_HOLIDAYS_DIR);
    ASSERT_THAT(calendars, IsOk());
    calendars_ = *std::move(calendars);
    queries_ = std::make_unique<CalendarQueries>(*calendars_);
  }

  calendar::v1::GetDeadlineResponse Deadline(const std::string& start, int64_t amount,
                                             calendar::v1::DeadlineUnit unit,
                                             common::v1::TimeZone zone) {
    calendar::v1::GetDeadlineRequest req;
    *req.mutable_start_time() = Ts(start);
    req.set_amount(amount);
    req.set_unit(unit);
    req.set_zone(zone);
    auto resp = queries_->GetDeadline(caller_, req);
    EXPECT_THAT(resp, IsOk());
    return resp.ok() ? *resp : calendar::v1::GetDeadlineResponse();
  }

  calendar::v1::GetWorkingDayResponse Day(const std::string& date,
                                          common::v1::TimeZone zone = TIME_ZONE_WIB) {
    calendar::v1::GetWorkingDayRequest req;
    req.set_date(date);
    req.set_zone(zone);
    auto resp = queries_->GetWorkingDay(caller_, req);
    EXPECT_THAT(resp, IsOk());
    return resp.ok() ? *resp : calendar::v1::GetWorkingDayResponse();
  }

  Identity caller_;  // public
  std::unique_ptr<CalendarRegistry> calendars_;
  std::unique_ptr<CalendarQueries> queries_;
};

TEST_F(CalendarQueriesTest, ListsTheLoadedYearWithItsDecreeAndDays) {
  auto all = queries_->ListHolidayYears(caller_, {});
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->years_size(), 1);
  const calendar::v1::HolidayYearInfo& y = all->years(0);
  EXPECT_EQ(y.year(), 2026);
  EXPECT_THAT(y.decrees(), ElementsAre(kDecree2026));
  EXPECT_EQ(y.source(), "2026.json");
  // domain.md §7: 17 national holidays + 8 collective leave days = 25 entries.
  EXPECT_EQ(y.day_count(), 25);
  ASSERT_EQ(y.days_size(), 25);
  EXPECT_EQ(y.days(0).date(), "2026-01-01");
  EXPECT_EQ(y.days(0).name(), "Tahun Baru 2026 Masehi");
  EXPECT_EQ(y.days(24).date(), "2026-12-25");
  int collective = 0;
  for (const auto& d : y.days()) collective += d.type() == common::v1::Holiday::COLLECTIVE_LEAVE;
  EXPECT_EQ(collective, 8);
  EXPECT_EQ(all->calendar_generation(), 1u);

  calendar::v1::ListHolidayYearsRequest one;
  one.set_year(2026);
  EXPECT_THAT(queries_->ListHolidayYears(caller_, one), IsOk());
  one.set_year(2031);
  EXPECT_THAT(queries_->ListHolidayYears(caller_, one),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("year 2031 (loaded: 2026)")));
  one.set_year(1899);
  auto bad = queries_->ListHolidayYears(caller_, one);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(bad.status()), ElementsAre("year"));
}

TEST_F(CalendarQueriesTest, WorkingDaysOfTheNyepiAndIdulFitriWeek) {
  // Wed 2026-03-18: Cuti Bersama Hari Suci Nyepi (CB) — a weekday, not working.
  auto wed = Day("2026-03-18");
  EXPECT_FALSE(wed.working_day());
  EXPECT_FALSE(wed.weekend());
  EXPECT_EQ(wed.weekday(), "Wednesday");
  EXPECT_EQ(wed.holiday().name(), "Cuti Bersama Hari Suci Nyepi");
  EXPECT_EQ(wed.holiday().type(), common::v1::Holiday::COLLECTIVE_LEAVE);
  EXPECT_TRUE(wed.year_loaded());
  EXPECT_THAT(wed.decrees(), ElementsAre(kDecree2026));
  // Sun 2026-03-22: Idul Fitri (LN) on a weekend: both reasons given.
  auto sun = Day("2026-03-22", TIME_ZONE_WITA);
  EXPECT_FALSE(sun.working_day());
  EXPECT_TRUE(sun.weekend());
  EXPECT_EQ(sun.holiday().name(), "Idul Fitri 1447 H");
  EXPECT_EQ(sun.holiday().type(), common::v1::Holiday::NATIONAL_HOLIDAY);
  EXPECT_EQ(sun.zone(), TIME_ZONE_WITA);
  // Mon 2026-03-23, Tue 24: Cuti Bersama Idul Fitri; Wed 25: the first working day after.
  EXPECT_FALSE(Day("2026-03-23").working_day());
  EXPECT_EQ(Day("2026-03-24").holiday().name(), "Cuti Bersama Idul Fitri");
  auto wed25 = Day("2026-03-25");
  EXPECT_TRUE(wed25.working_day());
  EXPECT_FALSE(wed25.has_holiday());
  // A date before year 1000 is answered with a four-digit year, as asked.
  EXPECT_EQ(Day("0999-01-01").date(), "0999-01-01");
  // A year without a file: only weekends are known (Fri 2027-01-01 counts as working).
  auto y2027 = Day("2027-01-01");
  EXPECT_TRUE(y2027.working_day());
  EXPECT_FALSE(y2027.year_loaded());
  EXPECT_THAT(y2027.decrees(), IsEmpty());
}

TEST_F(CalendarQueriesTest, AnInstantIsAskedAboutInItsZone) {
  // 2026-03-27T15:30:00Z is Fri 22:30 WIB (UTC+7) but Sat 2026-03-28 00:30 WIT (UTC+9).
  calendar::v1::GetWorkingDayRequest req;
  *req.mutable_time() = Ts("2026-03-27T15:30:00Z");
  req.set_zone(TIME_ZONE_WIB);
  auto wib = queries_->GetWorkingDay(caller_, req);
  ASSERT_THAT(wib, IsOk());
  EXPECT_EQ(wib->date(), "2026-03-27");
  EXPECT_EQ(wib->weekday(), "Friday");
  EXPECT_TRUE(wib->working_day());
  req.set_zone(TIME_ZONE_WIT);
  auto wit = queries_->GetWorkingDay(caller_, req);
  ASSERT_THAT(wit, IsOk());
  EXPECT_EQ(wit->date(), "2026-03-28");
  EXPECT_EQ(wit->weekday(), "Saturday");
  EXPECT_TRUE(wit->weekend());
  EXPECT_FALSE(wit->working_day());
}

TEST_F(CalendarQueriesTest, WorkingDayDeadlineAcrossTheNyepiAndIdulFitriWeek) {
  // Event Thu 2026-03-19 10:00 WIB (Nyepi), 3 working days: 20 CB, 21–22 weekend (and LN),
  // 23–24 CB, Wed 25 1st, Thu 26 2nd, Fri 27 3rd → end of Fri 27 March, 23:59:59 WIB
  // = 16:59:59Z.
  auto d = Deadline("2026-03-19T10:00:00+07:00", 3, DEADLINE_UNIT_WORKING_DAY, TIME_ZONE_WIB);
  EXPECT_EQ(d.deadline_local_time(), "2026-03-27T23:59:59+07:00");
  EXPECT_EQ(d.deadline_date(), "2026-03-27");
  EXPECT_EQ(
      d.deadline_time().seconds(),
      ToProto(absl::FromCivil(absl::CivilSecond(2026, 3, 27, 16, 59, 59), absl::UTCTimeZone()))
          .seconds());
  EXPECT_EQ(d.start_local_time(), "2026-03-19T10:00:00+07:00");
  EXPECT_THAT(d.years_without_data(), IsEmpty());
  EXPECT_THAT(d.decrees(), ElementsAre(kDecree2026));
  EXPECT_EQ(d.calendar_generation(), 1u);
}

TEST_F(CalendarQueriesTest, TheZoneDecidesTheStartDay) {
  // 2026-03-26T16:30:00Z is Thu 23:30 WIB but Fri 27 01:30 WIT.
  // WIB, 1 working day after Thu 26: Fri 27 → 2026-03-27T23:59:59+07:00.
  EXPECT_EQ(Deadline("2026-03-26T16:30:00Z", 1, DEADLINE_UNIT_WORKING_DAY, TIME_ZONE_WIB)
                .deadline_local_time(),
            "2026-03-27T23:59:59+07:00");
  // WIT, 1 working day after Fri 27: Sat 28, Sun 29 skipped, Mon 30 →
  // 2026-03-30T23:59:59+09:00.
  auto wit = Deadline("2026-03-26T16:30:00Z", 1, DEADLINE_UNIT_WORKING_DAY, TIME_ZONE_WIT);
  EXPECT_EQ(wit.deadline_local_time(), "2026-03-30T23:59:59+09:00");
  EXPECT_EQ(wit.start_local_time(), "2026-03-27T01:30:00+09:00");
  // 0 working days: the end of the start's own local day, here a Saturday in WIT:
  // 2026-03-27T15:30:00Z = Sat 28 00:30 WIT → 2026-03-28T23:59:59+09:00.
  EXPECT_EQ(Deadline("2026-03-27T15:30:00Z", 0, DEADLINE_UNIT_WORKING_DAY, TIME_ZONE_WIT)
                .deadline_local_time(),
            "2026-03-28T23:59:59+09:00");
}

TEST_F(CalendarQueriesTest, CalendarDaysAndHoursIgnoreHolidays) {
  // 3 calendar days after Thu 19 March (WITA): Sun 22 → 2026-03-22T23:59:59+08:00.
  auto days = Deadline("2026-03-19T10:00:00+07:00", 3, DEADLINE_UNIT_CALENDAR_DAY, TIME_ZONE_WITA);
  EXPECT_EQ(days.deadline_local_time(), "2026-03-22T23:59:59+08:00");
  EXPECT_THAT(days.decrees(), IsEmpty());  // holidays play no part
  // 72 hours after 10:00 WIB on the 19th: 10:00 WIB on the 22nd, shown in WITA as 11:00+08:00.
  auto hours = Deadline("2026-03-19T10:00:00+07:00", 72, DEADLINE_UNIT_HOUR, TIME_ZONE_WITA);
  EXPECT_EQ(hours.deadline_local_time(), "2026-03-22T11:00:00+08:00");
  EXPECT_EQ(hours.deadline_date(), "2026-03-22");
}

TEST_F(CalendarQueriesTest, ADeadlineIntoAYearWithoutAFileWarns) {
  // Wed 2026-12-23 10:00 WIB, 5 working days: 24 CB, 25 LN, 26–27 weekend, Mon 28 1st,
  // 29 2nd, 30 3rd, Thu 31 4th, Fri 2027-01-01 5th (no 2027 file: counted as a weekday).
  auto d = Deadline("2026-12-23T10:00:00+07:00", 5, DEADLINE_UNIT_WORKING_DAY, TIME_ZONE_WIB);
  EXPECT_EQ(d.deadline_local_time(), "2027-01-01T23:59:59+07:00");
  EXPECT_THAT(d.years_without_data(), ElementsAre(2027));
  EXPECT_THAT(d.decrees(), ElementsAre(kDecree2026));
}

TEST_F(CalendarQueriesTest, CountsWorkingDays) {
  // After Tue 17 March up to Tue 31 March (WIB): 18 CB, 19 LN, 20 CB, 21–22 weekend, 23–24 CB,
  // 25, 26, 27 (3), 28–29 weekend, 30, 31 (2) → 5.
  calendar::v1::GetWorkingDayCountRequest req;
  *req.mutable_from_time() = Ts("2026-03-17T09:00:00+07:00");
  *req.mutable_to_time() = Ts("2026-03-31T09:00:00+07:00");
  req.set_zone(TIME_ZONE_WIB);
  auto count = queries_->GetWorkingDayCount(caller_, req);
  ASSERT_THAT(count, IsOk());
  EXPECT_EQ(count->working_days(), 5);
  EXPECT_EQ(count->from_date(), "2026-03-17");
  EXPECT_EQ(count->to_date(), "2026-03-31");
  EXPECT_THAT(count->decrees(), ElementsAre(kDecree2026));

  std::swap(*req.mutable_from_time(), *req.mutable_to_time());
  auto backwards = queries_->GetWorkingDayCount(caller_, req);
  EXPECT_THAT(backwards, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(backwards.status()), ElementsAre("to_time"));
}

TEST_F(CalendarQueriesTest, EveryBadFieldIsNamed) {
  calendar::v1::GetDeadlineRequest deadline;
  deadline.set_amount(-1);
  auto bad = queries_->GetDeadline(caller_, deadline);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FieldsOf(bad.status()), ElementsAre("start_time", "zone", "unit", "amount"));

  *deadline.mutable_start_time() = Ts("2026-03-19T10:00:00+07:00");
  deadline.set_zone(TIME_ZONE_WIB);
  deadline.set_unit(DEADLINE_UNIT_WORKING_DAY);
  deadline.set_amount(kMaxDeadlineDays + 1);
  bad = queries_->GetDeadline(caller_, deadline);
  EXPECT_THAT(FieldsOf(bad.status()), ElementsAre("amount"));
  EXPECT_THAT(bad.status().message(), HasSubstr("0..3660"));
  // The same amount is fine in hours (at most 87840).
  deadline.set_unit(DEADLINE_UNIT_HOUR);
  EXPECT_THAT(queries_->GetDeadline(caller_, deadline), IsOk());
  deadline.set_unit(static_cast<calendar::v1::DeadlineUnit>(9));
  EXPECT_THAT(FieldsOf(queries_->GetDeadline(caller_, deadline).status()), ElementsAre("unit"));
  // A deadline past the end of the Timestamp range.
  deadline.set_unit(DEADLINE_UNIT_CALENDAR_DAY);
  deadline.set_amount(10);
  *deadline.mutable_start_time() = Ts("9999-12-30T10:00:00Z");
  EXPECT_THAT(FieldsOf(queries_->GetDeadline(caller_, deadline).status()), ElementsAre("amount"));

  calendar::v1::GetWorkingDayRequest day;
  day.set_date("2026-02-30");
  day.set_zone(TIME_ZONE_UNSPECIFIED);
  auto bad_day = queries_->GetWorkingDay(caller_, day);
  EXPECT_THAT(FieldsOf(bad_day.status()), ElementsAre("zone", "date"));
  for (const char* date : {"2026-3-19", "19-03-2026", "2026-03-19T00:00", "0000-01-01", ""}) {
    day.set_date(date);
    day.set_zone(TIME_ZONE_WIB);
    EXPECT_THAT(FieldsOf(queries_->GetWorkingDay(caller_, day).status()), ElementsAre("date"))
        << date;
  }
  day.set_date("2026-03-19");
  *day.mutable_time() = Ts("2026-03-19T10:00:00Z");
  EXPECT_THAT(FieldsOf(queries_->GetWorkingDay(caller_, day).status()), ElementsAre("date"));

  calendar::v1::GetWorkingDayCountRequest count;
  auto bad_count = queries_->GetWorkingDayCount(caller_, count);
  EXPECT_THAT(FieldsOf(bad_count.status()), ElementsAre("from_time", "to_time", "zone"));
}

using ::simpul::testing::TempDir;

TEST(CalendarAmendmentTest, AReloadAppliesAnAmendmentAndRefusesABadFile) {
  TempDir dir("calendar_service_test");
  dir.Write("2026.json", ReadFile(std::string(SIMPUL_HOLIDAYS_DIR) + "/2026.json"));
  auto calendars = CalendarRegistry::Create(dir.path());
  ASSERT_THAT(calendars, IsOk());
  CalendarQueries queries(**calendars);
  calendar::v1::GetDeadlineRequest req;
  *req.mutable_start_time() = Ts("2026-08-13T10:00:00+07:00");
  req.set_amount(3);
  req.set_unit(DEADLINE_UNIT_WORKING_DAY);
  req.set_zone(TIME_ZONE_WIB);
  // Before: Thu 13 August, 3 working days: Fri 14 1st, 15–16 weekend, Mon 17 LN (Proklamasi),
  // Tue 18 2nd, Wed 19 3rd.
  auto before = queries.GetDeadline(Identity(), req);
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->deadline_local_time(), "2026-08-19T23:59:59+07:00");

  // The amendment moves Maulid Nabi from Tue 25 to Tue 18 August: Fri 14 1st, Mon 17 LN,
  // Tue 18 now a holiday, Wed 19 2nd, Thu 20 3rd.
  dir.Write("2026.json", Amended2026());
  ASSERT_THAT((*calendars)->Reload(), IsOk());
  auto after = queries.GetDeadline(Identity(), req);
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->deadline_local_time(), "2026-08-20T23:59:59+07:00");
  EXPECT_THAT(after->decrees(), ElementsAre(kDecree2026, kAmendment));
  EXPECT_EQ(after->calendar_generation(), 2u);
  calendar::v1::GetWorkingDayRequest day;
  day.set_date("2026-08-25");
  day.set_zone(TIME_ZONE_WIB);
  auto tue25 = queries.GetWorkingDay(Identity(), day);
  ASSERT_THAT(tue25, IsOk());
  EXPECT_TRUE(tue25->working_day());
  auto years = queries.ListHolidayYears(Identity(), {});
  ASSERT_THAT(years, IsOk());
  EXPECT_THAT(years->years(0).decrees(), ElementsAre(kDecree2026, kAmendment));

  // A bad amended file (the amendment listed twice) is refused: the amended calendar stays.
  dir.Write("2026.json",
            absl::StrReplaceAll(Amended2026(),
                                {{absl::StrCat("[\"", kAmendment, "\"]"),
                                  absl::StrCat("[\"", kAmendment, "\", \"", kAmendment, "\"]")}}));
  EXPECT_THAT((*calendars)->Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amendments[1]")));
  auto kept = queries.GetDeadline(Identity(), req);
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(kept->deadline_local_time(), "2026-08-20T23:59:59+07:00");
  EXPECT_EQ(kept->calendar_generation(), 2u);
  // An empty amendment is refused too.
  dir.Write("2026.json", absl::StrReplaceAll(Amended2026(),
                                             {{absl::StrCat("[\"", kAmendment, "\"]"), "[\"\"]"}}));
  EXPECT_THAT((*calendars)->Reload(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amendments[0]")));
}

}  // namespace
}  // namespace simpul::registry
