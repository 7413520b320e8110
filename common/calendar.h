// Working-day calendar for deadlines (domain.md §2, §5, §7): which local dates are working
// days for a service unit, and when "within N working days / calendar days / hours" of an
// event ends. Holidays and collective leave are data, loaded from one JSON file per year
// (deploy/holidays/<year>.json, message simpul.common.v1.HolidayYear) and reloadable without
// a restart through CalendarRegistry.
//
// Counting convention (the API contract every deadline in Simpul follows):
//   "within N working days of an event" means by the end (23:59:59 local time of the unit) of
//   the N-th working day after the local date of the event; the event's own day is not
//   counted, whether or not it is a working day.
// A working day is Monday to Friday in the unit's time zone that is neither a national
// holiday (LN) nor a collective leave day (CB). Time zones are fixed offsets (Indonesia has no
// daylight saving time): WIB = UTC+7, WITA = UTC+8, WIT = UTC+9.
//
// A computed deadline is a value: callers store Deadline::time, not the rule, so a deadline
// computed before a holiday amendment keeps its value until a case is re-planned explicitly.
#ifndef SIMPUL_COMMON_CALENDAR_H_
#define SIMPUL_COMMON_CALENDAR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "simpul/common/v1/calendar.pb.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul {

// kMaxDeadlineDays bounds N of AddWorkingDays and AddCalendarDays (about ten years); a larger
// N is rejected as INVALID_ARGUMENT rather than looping over decades.
inline constexpr int64_t kMaxDeadlineDays = 3660;
// kMaxDeadlineHours bounds N of AddHours (the same ten years in hours).
inline constexpr int64_t kMaxDeadlineHours = kMaxDeadlineDays * 24;
// kMaxCountedSpanDays bounds the span of WorkingDaysBetween (about a century).
inline constexpr int64_t kMaxCountedSpanDays = 36525;

// UnitTimeZone returns the fixed-offset zone of a service unit's time zone: WIB UTC+7,
// WITA UTC+8, WIT UTC+9. TIME_ZONE_UNSPECIFIED and unknown values are INVALID_ARGUMENT.
absl::StatusOr<absl::TimeZone> UnitTimeZone(common::v1::TimeZone zone);

// LocalDay returns the civil date of `instant` in `zone` (INVALID_ARGUMENT as UnitTimeZone,
// or for an infinite instant).
absl::StatusOr<absl::CivilDay> LocalDay(absl::Time instant, common::v1::TimeZone zone);

// DeadlineUnit is the unit a deadline rule is expressed in (domain.md §5).
enum class DeadlineUnit {
  kHour,         // plain duration: the event instant plus N hours
  kWorkingDay,   // end of the N-th working day after the event's local date
  kCalendarDay,  // end of the N-th calendar day after the event's local date
};

// Holiday is one entry of a loaded year file (it may fall on a weekend).
struct Holiday {
  absl::CivilDay date;
  std::string name;
  common::v1::Holiday::Type type = common::v1::Holiday::TYPE_UNSPECIFIED;
};

// HolidayYearInfo describes one loaded year file.
struct HolidayYearInfo {
  int64_t year = 0;
  std::string decree;
  // amendments: the decrees amending the year's list after `decree`, oldest first.
  std::vector<std::string> amendments;
  std::string source;  // file name (or the name given to FromYearFiles), for messages
};

// Deadline is the result of a deadline computation.
struct Deadline {
  // time is the last instant that is still on time: 23:59:59 local time of `day` for the day
  // units, the event plus N hours for kHour. Compare with Missed(), which works at one-second
  // resolution so that an action at 23:59:59.7 is still on time.
  absl::Time time;
  // day is the local date of `time` in the unit's zone.
  absl::CivilDay day;
  // years_without_data lists, ascending, the years of the counted days (the days after the
  // event's local date up to `day`) for which no holiday file is loaded. Only kWorkingDay
  // fills it: for those years only weekends were skipped, so `time` may be earlier than the
  // real deadline. Callers should warn (log, metric) when it is not empty.
  std::vector<int64_t> years_without_data;

  // Missed reports whether an action at `at` is late: true iff `at`, truncated to the whole
  // second, is after `time`.
  bool Missed(absl::Time at) const;
  // complete reports whether every counted day was covered by a holiday file.
  bool complete() const { return years_without_data.empty(); }
};

// WorkingDayCount is the result of HolidayCalendar::WorkingDaysBetween.
struct WorkingDayCount {
  int64_t days = 0;
  // years_without_data: as in Deadline, for the counted days.
  std::vector<int64_t> years_without_data;
};

// HolidayCalendar is an immutable set of holiday year files. It is cheap to query and safe to
// share between threads; obtain the current one from a CalendarRegistry.
class HolidayCalendar {
 public:
  // HolidayCalendar() is an empty calendar: every Monday–Friday is a working day and every
  // year is reported in years_without_data.
  HolidayCalendar() = default;

  // LoadFromDirectory parses every regular file named "*.json" in `dir` (dot files, such as
  // editor backups, are skipped; subdirectories are not searched). Errors:
  //   NOT_FOUND         `dir` does not exist or is not a directory;
  //   FAILED_PRECONDITION  it holds no *.json file, or a file cannot be read;
  //   INVALID_ARGUMENT  a file is not a valid HolidayYear (see FromYearFiles); the message
  //                     names the file and, for a bad entry, its index, date and name.
  static absl::StatusOr<HolidayCalendar> LoadFromDirectory(absl::string_view dir);

  // FromYearFiles builds a calendar from file contents keyed by file name (the base name
  // must be "<year>.json"). Each file must be strict JSON (RFC 8259: no trailing comma, no
  // unquoted or duplicate key; the message gives line and column) holding a
  // simpul.common.v1.HolidayYear with no unknown field or enum value; year 1900..9999, one
  // file per year; decree non-empty; amendments (optional) each non-empty and distinct from
  // the decree and one another; days non-empty; every entry with a date "YYYY-MM-DD"
  // that is a valid date in the file's year and not listed before in the file, a non-empty
  // name, and a type NATIONAL_HOLIDAY or COLLECTIVE_LEAVE. Otherwise INVALID_ARGUMENT naming
  // the file and the entry ("days[3] (date ..., name ...)"; protobuf's own errors name the
  // entry as "(days[3])").
  static absl::StatusOr<HolidayCalendar> FromYearFiles(
      const std::map<std::string, std::string>& files_by_name);

  // IsWorkingDay reports whether `day` is Monday–Friday and neither a national holiday nor a
  // collective leave day. Days of years without a file are working days iff Monday–Friday.
  bool IsWorkingDay(absl::CivilDay day) const;

  // FindHoliday returns the holiday on `day`, or nullptr. The pointer lives as long as this
  // calendar.
  const Holiday* FindHoliday(absl::CivilDay day) const;

  // HasYear reports whether a holiday file for `year` is loaded.
  bool HasYear(int64_t year) const { return years_.count(year) > 0; }

  // years returns the loaded year files, keyed by year.
  const std::map<int64_t, HolidayYearInfo>& years() const { return years_; }

  // HolidaysInYear returns the holidays of `year` in date order (empty without a file).
  std::vector<Holiday> HolidaysInYear(int64_t year) const;

  // AddWorkingDays returns the end (23:59:59 local) of the n-th working day after the local
  // date of `event` in `zone`; the event's own day is not counted. n == 0 means the end of
  // the event's own local day, whether or not that day is a working day. INVALID_ARGUMENT
  // for n < 0, n > kMaxDeadlineDays, an infinite `event` or a zone UnitTimeZone rejects.
  // Example: event Thu 2026-03-19 10:00 WIB (Nyepi), n = 3 → 20 CB, 21–22 weekend, 23–24 CB,
  // 25 Wed 1st, 26 Thu 2nd, 27 Fri 3rd → 2026-03-27 23:59:59 WIB.
  absl::StatusOr<Deadline> AddWorkingDays(absl::Time event, int64_t n,
                                          common::v1::TimeZone zone) const;

  // AddCalendarDays returns the end (23:59:59 local) of the n-th calendar day after the local
  // date of `event` in `zone` (n == 0: the end of the event's own day). Holidays play no part,
  // so years_without_data is always empty. Errors as AddWorkingDays.
  absl::StatusOr<Deadline> AddCalendarDays(absl::Time event, int64_t n,
                                           common::v1::TimeZone zone) const;

  // AddHours returns `event` plus n hours exactly, with no rounding to the end of a day;
  // `zone` only sets Deadline::day. Errors: n outside 0..kMaxDeadlineHours, and as
  // AddWorkingDays.
  absl::StatusOr<Deadline> AddHours(absl::Time event, int64_t n, common::v1::TimeZone zone) const;

  // AddDeadline dispatches to AddHours, AddWorkingDays or AddCalendarDays by `unit`.
  absl::StatusOr<Deadline> AddDeadline(absl::Time event, int64_t n, DeadlineUnit unit,
                                       common::v1::TimeZone zone) const;

  // WorkingDaysBetween counts the working days strictly after the local date of `from` up to
  // and including the local date of `to` (both in `zone`); 0 when both fall on the same local
  // date. It is the inverse of AddWorkingDays: for n >= 0,
  // WorkingDaysBetween(e, AddWorkingDays(e, n).time) == n. INVALID_ARGUMENT when `to` is
  // before `from`, the local dates are more than kMaxCountedSpanDays apart, either instant is
  // infinite, or the zone is rejected by UnitTimeZone.
  absl::StatusOr<WorkingDayCount> WorkingDaysBetween(absl::Time from, absl::Time to,
                                                     common::v1::TimeZone zone) const;

 private:
  std::map<absl::CivilDay, Holiday> holidays_;
  std::map<int64_t, HolidayYearInfo> years_;
};

// CalendarRegistry holds the current HolidayCalendar of a process and replaces it on Reload()
// without a restart. Current() returns an immutable snapshot: a caller that took one keeps
// using it unchanged however many reloads follow, and a snapshot stays valid for as long as
// the caller holds it. Thread-safe.
class CalendarRegistry {
 public:
  // Create loads `dir` with HolidayCalendar::LoadFromDirectory and fails like it, so that a
  // process with bad holiday data fails at start.
  static absl::StatusOr<std::unique_ptr<CalendarRegistry>> Create(std::string dir);

  // CalendarRegistry serves `initial` and reloads from `dir` (which may be empty if Reload
  // is never called; Reload then fails with FAILED_PRECONDITION).
  CalendarRegistry(std::string dir, std::shared_ptr<const HolidayCalendar> initial);

  CalendarRegistry(const CalendarRegistry&) = delete;
  CalendarRegistry& operator=(const CalendarRegistry&) = delete;

  // Current returns the calendar in force; never null.
  std::shared_ptr<const HolidayCalendar> Current() const ABSL_LOCKS_EXCLUDED(mu_);
  // CurrentWithGeneration returns the calendar in force and its generation, read together.
  std::pair<std::shared_ptr<const HolidayCalendar>, uint64_t> CurrentWithGeneration() const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Reload re-reads the directory. On success the new calendar replaces the current one
  // atomically (readers see either the old or the new one, never a mix); on failure the
  // current calendar stays in force and the load error is returned. Concurrent calls are
  // serialized; readers are never blocked by the file I/O.
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(reload_mu_, mu_);

  // Replace installs `calendar` (e.g. one built by FromYearFiles); it must not be null.
  void Replace(std::shared_ptr<const HolidayCalendar> calendar) ABSL_LOCKS_EXCLUDED(mu_);

  // generation counts the calendars installed so far: 1 after construction, +1 per
  // successful Reload or Replace. Useful in logs and metrics.
  uint64_t generation() const ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& dir() const { return dir_; }

 private:
  const std::string dir_;
  absl::Mutex reload_mu_;  // serializes Reload
  mutable absl::Mutex mu_;
  std::shared_ptr<const HolidayCalendar> current_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace simpul

#endif  // SIMPUL_COMMON_CALENDAR_H_
