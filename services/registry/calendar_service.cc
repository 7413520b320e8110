#include "services/registry/calendar_service.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "common/tsan_annotations.h"

namespace simpul::registry {
namespace {

using calendar::v1::DeadlineUnit;
using common::v1::TimeZone;

// The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// DateText is "YYYY-MM-DD", the year zero-padded (absl::FormatCivilTime does not pad it).
std::string DateText(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

// LocalText is `t` in RFC 3339 with the offset of `tz`, fractional seconds only when present.
std::string LocalText(absl::Time t, absl::TimeZone tz) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*S%Ez", t, tz);
}

const char* WeekdayName(absl::Weekday w) {
  switch (w) {
    case absl::Weekday::monday:
      return "Monday";
    case absl::Weekday::tuesday:
      return "Tuesday";
    case absl::Weekday::wednesday:
      return "Wednesday";
    case absl::Weekday::thursday:
      return "Thursday";
    case absl::Weekday::friday:
      return "Friday";
    case absl::Weekday::saturday:
      return "Saturday";
    case absl::Weekday::sunday:
      return "Sunday";
  }
  return "";
}

// ParseDate accepts exactly "YYYY-MM-DD" naming a real date of year 0001..9999.
bool ParseDate(const std::string& s, absl::CivilDay* out) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  int year = 0, month = 0, day = 0;
  if (!absl::SimpleAtoi(s.substr(0, 4), &year) || !absl::SimpleAtoi(s.substr(5, 2), &month) ||
      !absl::SimpleAtoi(s.substr(8, 2), &day) || year < 1) {
    return false;
  }
  absl::CivilDay d(year, month, day);
  if (d.year() != year || d.month() != month || d.day() != day) return false;
  *out = d;
  return true;
}

// CheckZone adds a violation unless `zone` is WIB, WITA or WIT.
void CheckZone(FieldViolations& v, TimeZone zone) {
  if (!UnitTimeZone(zone).ok()) {
    v.Add("zone",
          absl::StrCat("required: TIME_ZONE_WIB, TIME_ZONE_WITA or TIME_ZONE_WIT; got ",
                       common::v1::TimeZone_IsValid(zone) ? common::v1::TimeZone_Name(zone)
                                                          : absl::StrCat(static_cast<int>(zone))));
  }
}

// CheckInstant adds a violation unless `field` is set and a valid Timestamp.
void CheckInstant(FieldViolations& v, const std::string& field, bool has,
                  const google::protobuf::Timestamp& ts) {
  if (!has) {
    v.Add(field, "required: an instant (RFC 3339 in JSON, e.g. \"2026-03-19T10:00:00+07:00\")");
  } else if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds ||
             ts.nanos() < 0 || ts.nanos() > 999999999) {
    v.Add(field, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z");
  }
}

// AddDecrees appends the decrees of every loaded year first..last (the file's decree, then its
// amendments).
void AddDecrees(const HolidayCalendar& calendar, int64_t first, int64_t last,
                google::protobuf::RepeatedPtrField<std::string>* out) {
  const auto& years = calendar.years();
  for (auto it = years.lower_bound(first); it != years.end() && it->first <= last; ++it) {
    out->Add(std::string(it->second.decree));
    for (const std::string& amendment : it->second.amendments) out->Add(std::string(amendment));
  }
}

common::v1::Holiday HolidayProto(const Holiday& h) {
  common::v1::Holiday out;
  out.set_date(DateText(h.date));
  out.set_name(h.name);
  out.set_type(h.type);
  return out;
}

}  // namespace

absl::StatusOr<calendar::v1::ListHolidayYearsResponse> CalendarQueries::ListHolidayYears(
    const Identity&, const calendar::v1::ListHolidayYearsRequest& req) {
  if (req.year() != 0 && (req.year() < 1900 || req.year() > 9999)) {
    return InvalidField("year",
                        absl::StrCat("must be 1900..9999, or 0 for every year; got ", req.year()));
  }
  auto [calendar, generation] = calendars_.CurrentWithGeneration();
  calendar::v1::ListHolidayYearsResponse resp;
  resp.set_calendar_generation(generation);
  for (const auto& [year, info] : calendar->years()) {
    if (req.year() != 0 && year != req.year()) continue;
    calendar::v1::HolidayYearInfo* out = resp.add_years();
    out->set_year(static_cast<int32_t>(year));
    out->add_decrees(info.decree);
    for (const std::string& amendment : info.amendments) out->add_decrees(amendment);
    out->set_source(std::filesystem::path(info.source).filename().string());
    for (const Holiday& h : calendar->HolidaysInYear(year)) *out->add_days() = HolidayProto(h);
    out->set_day_count(out->days_size());
  }
  if (req.year() != 0 && resp.years().empty()) {
    std::string loaded;
    for (const auto& [year, info] : calendar->years()) {
      absl::StrAppend(&loaded, loaded.empty() ? "" : ", ", year);
    }
    return absl::NotFoundError(absl::StrCat("no holiday file is loaded for year ", req.year(),
                                            " (loaded: ", loaded.empty() ? "none" : loaded, ")"));
  }
  return resp;
}

absl::StatusOr<calendar::v1::GetWorkingDayResponse> CalendarQueries::GetWorkingDay(
    const Identity&, const calendar::v1::GetWorkingDayRequest& req) {
  FieldViolations v;
  CheckZone(v, req.zone());
  absl::CivilDay day;
  if (!req.date().empty() && req.has_time()) {
    v.Add("date", "give either date or time, not both");
  } else if (req.has_time()) {
    CheckInstant(v, "time", true, req.time());
  } else if (req.date().empty()) {
    v.Add("date", "required (or time): a date \"YYYY-MM-DD\"");
  } else if (!ParseDate(req.date(), &day)) {
    v.Add("date", absl::StrCat("must be a valid date \"YYYY-MM-DD\" (year 0001..9999); got \"",
                               req.date(), "\""));
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("GetWorkingDay"));
  if (req.has_time()) {
    SIMPUL_ASSIGN_OR_RETURN(day, LocalDay(FromProto(req.time()), req.zone()));
  }
  auto [calendar, generation] = calendars_.CurrentWithGeneration();
  calendar::v1::GetWorkingDayResponse resp;
  resp.set_date(DateText(day));
  resp.set_zone(req.zone());
  resp.set_working_day(calendar->IsWorkingDay(day));
  const absl::Weekday weekday = absl::GetWeekday(day);
  resp.set_weekend(weekday == absl::Weekday::saturday || weekday == absl::Weekday::sunday);
  resp.set_weekday(WeekdayName(weekday));
  if (const Holiday* h = calendar->FindHoliday(day); h != nullptr) {
    *resp.mutable_holiday() = HolidayProto(*h);
  }
  resp.set_year_loaded(calendar->HasYear(day.year()));
  AddDecrees(*calendar, day.year(), day.year(), resp.mutable_decrees());
  resp.set_calendar_generation(generation);
  return resp;
}

absl::StatusOr<calendar::v1::GetDeadlineResponse> CalendarQueries::GetDeadline(
    const Identity&, const calendar::v1::GetDeadlineRequest& req) {
  FieldViolations v;
  CheckInstant(v, "start_time", req.has_start_time(), req.start_time());
  CheckZone(v, req.zone());
  const DeadlineUnit unit = req.unit();
  DeadlineUnit resolved = calendar::v1::DEADLINE_UNIT_UNSPECIFIED;
  int64_t max_amount = kMaxDeadlineDays;
  for (DeadlineUnit known :
       {calendar::v1::DEADLINE_UNIT_WORKING_DAY, calendar::v1::DEADLINE_UNIT_CALENDAR_DAY,
        calendar::v1::DEADLINE_UNIT_HOUR}) {
    if (unit == known) resolved = known;
  }
  if (resolved == calendar::v1::DEADLINE_UNIT_UNSPECIFIED) {
    max_amount = kMaxDeadlineHours;  // the widest bound: the unit is what is wrong
    v.Add("unit", absl::StrCat("required: DEADLINE_UNIT_WORKING_DAY, DEADLINE_UNIT_CALENDAR_DAY "
                               "or DEADLINE_UNIT_HOUR; got ",
                               calendar::v1::DeadlineUnit_IsValid(unit)
                                   ? calendar::v1::DeadlineUnit_Name(unit)
                                   : absl::StrCat(static_cast<int>(unit))));
  } else if (resolved == calendar::v1::DEADLINE_UNIT_HOUR) {
    max_amount = kMaxDeadlineHours;
  }
  if (req.amount() < 0 || req.amount() > max_amount) {
    const char* unit_name = resolved == calendar::v1::DEADLINE_UNIT_HOUR          ? " hours"
                            : resolved == calendar::v1::DEADLINE_UNIT_UNSPECIFIED ? ""
                                                                                  : " days";
    v.Add("amount",
          absl::StrFormat("must be 0..%d%s; got %d", max_amount, unit_name, req.amount()));
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("GetDeadline"));

  simpul::DeadlineUnit kind = simpul::DeadlineUnit::kWorkingDay;
  if (resolved == calendar::v1::DEADLINE_UNIT_CALENDAR_DAY) {
    kind = simpul::DeadlineUnit::kCalendarDay;
  } else if (resolved == calendar::v1::DEADLINE_UNIT_HOUR) {
    kind = simpul::DeadlineUnit::kHour;
  }
  auto [calendar, generation] = calendars_.CurrentWithGeneration();
  const absl::Time start = FromProto(req.start_time());
  SIMPUL_ASSIGN_OR_RETURN(Deadline deadline,
                          calendar->AddDeadline(start, req.amount(), kind, req.zone()));
  if (absl::ToUnixSeconds(deadline.time) > kMaxTimestampSeconds) {
    return InvalidField("amount", "the deadline would fall after 9999-12-31T23:59:59Z");
  }
  SIMPUL_ASSIGN_OR_RETURN(absl::TimeZone tz, UnitTimeZone(req.zone()));
  calendar::v1::GetDeadlineResponse resp;
  *resp.mutable_deadline_time() = simpul::ToProto(deadline.time);
  resp.set_deadline_local_time(LocalText(deadline.time, tz));
  resp.set_deadline_date(DateText(deadline.day));
  resp.set_start_local_time(LocalText(start, tz));
  for (int64_t year : deadline.years_without_data) {
    resp.add_years_without_data(static_cast<int32_t>(year));
  }
  resp.set_calendar_generation(generation);
  if (kind == simpul::DeadlineUnit::kWorkingDay) {
    AddDecrees(*calendar, absl::ToCivilDay(start, tz).year(), deadline.day.year(),
               resp.mutable_decrees());
  }
  return resp;
}

absl::StatusOr<calendar::v1::GetWorkingDayCountResponse> CalendarQueries::GetWorkingDayCount(
    const Identity&, const calendar::v1::GetWorkingDayCountRequest& req) {
  FieldViolations v;
  CheckInstant(v, "from_time", req.has_from_time(), req.from_time());
  CheckInstant(v, "to_time", req.has_to_time(), req.to_time());
  CheckZone(v, req.zone());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("GetWorkingDayCount"));
  const absl::Time from = FromProto(req.from_time());
  const absl::Time to = FromProto(req.to_time());
  SIMPUL_ASSIGN_OR_RETURN(absl::TimeZone tz, UnitTimeZone(req.zone()));
  const absl::CivilDay from_day = absl::ToCivilDay(from, tz);
  const absl::CivilDay to_day = absl::ToCivilDay(to, tz);
  if (to < from) {
    return InvalidField("to_time", absl::StrCat("must not be before from_time (", LocalText(to, tz),
                                                " is before ", LocalText(from, tz), ")"));
  }
  if (to_day - from_day > kMaxCountedSpanDays) {
    return InvalidField("to_time", absl::StrFormat("at most %d days after from_time; got %d days",
                                                   kMaxCountedSpanDays, to_day - from_day));
  }
  auto [calendar, generation] = calendars_.CurrentWithGeneration();
  SIMPUL_ASSIGN_OR_RETURN(WorkingDayCount count,
                          calendar->WorkingDaysBetween(from, to, req.zone()));
  calendar::v1::GetWorkingDayCountResponse resp;
  resp.set_working_days(count.days);
  resp.set_from_date(DateText(from_day));
  resp.set_to_date(DateText(to_day));
  for (int64_t year : count.years_without_data) {
    resp.add_years_without_data(static_cast<int32_t>(year));
  }
  resp.set_calendar_generation(generation);
  AddDecrees(*calendar, from_day.year(), to_day.year(), resp.mutable_decrees());
  return resp;
}

namespace {

// Answer finishes a unary call with `(queries.*method)(public caller, *req)`.
template <typename Req, typename Resp>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, const Req* req, Resp* resp,
                                 CalendarQueries& queries,
                                 absl::StatusOr<Resp> (CalendarQueries::*method)(const Identity&,
                                                                                 const Req&)) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<Resp> result = (queries.*method)(Identity(), *req);
  if (result.ok()) *resp = *std::move(result);
  HandOffToGrpc(reactor);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* CalendarGrpcService::ListHolidayYears(
    grpc::CallbackServerContext* ctx, const calendar::v1::ListHolidayYearsRequest* req,
    calendar::v1::ListHolidayYearsResponse* resp) {
  return Answer(ctx, req, resp, queries_, &CalendarQueries::ListHolidayYears);
}

grpc::ServerUnaryReactor* CalendarGrpcService::GetWorkingDay(
    grpc::CallbackServerContext* ctx, const calendar::v1::GetWorkingDayRequest* req,
    calendar::v1::GetWorkingDayResponse* resp) {
  return Answer(ctx, req, resp, queries_, &CalendarQueries::GetWorkingDay);
}

grpc::ServerUnaryReactor* CalendarGrpcService::GetDeadline(
    grpc::CallbackServerContext* ctx, const calendar::v1::GetDeadlineRequest* req,
    calendar::v1::GetDeadlineResponse* resp) {
  return Answer(ctx, req, resp, queries_, &CalendarQueries::GetDeadline);
}

grpc::ServerUnaryReactor* CalendarGrpcService::GetWorkingDayCount(
    grpc::CallbackServerContext* ctx, const calendar::v1::GetWorkingDayCountRequest* req,
    calendar::v1::GetWorkingDayCountResponse* resp) {
  return Answer(ctx, req, resp, queries_, &CalendarQueries::GetWorkingDayCount);
}

}  // namespace simpul::registry
