#include "common/calendar.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"

namespace simpul {
namespace {

namespace fs = std::filesystem;
using common::v1::HolidayYear;

constexpr int64_t kMinYear = 1900;
constexpr int64_t kMaxYear = 9999;

bool IsWeekend(absl::CivilDay day) {
  absl::Weekday w = absl::GetWeekday(day);
  return w == absl::Weekday::saturday || w == absl::Weekday::sunday;
}

absl::Time EndOfDay(absl::CivilDay day, absl::TimeZone tz) {
  return absl::FromCivil(absl::CivilSecond(day) + (24 * 60 * 60 - 1), tz);
}

// WeekdaysBefore counts the Mondays–Fridays in [reference Monday, day) for any day, with a
// floor division so that it is monotonic before the reference too.
int64_t WeekdaysBefore(absl::CivilDay day) {
  static const absl::CivilDay kMonday(2001, 1, 1);  // a Monday
  int64_t k = day - kMonday;
  int64_t weeks = k >= 0 ? k / 7 : -((-k + 6) / 7);
  int64_t rest = k - weeks * 7;  // 0..6, 0 = Monday
  return weeks * 5 + std::min<int64_t>(rest, 5);
}

// ParseIsoDate accepts exactly "YYYY-MM-DD" naming a real date.
bool ParseIsoDate(const std::string& s, absl::CivilDay* out) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  int year = std::stoi(s.substr(0, 4));
  int month = std::stoi(s.substr(5, 2));
  int day = std::stoi(s.substr(8, 2));
  absl::CivilDay d(year, month, day);
  if (d.year() != year || d.month() != month || d.day() != day) return false;
  *out = d;
  return true;
}

std::string EntryLabel(int index, const common::v1::Holiday& entry) {
  return absl::StrFormat("days[%d] (date \"%s\", name \"%s\")", index, entry.date(), entry.name());
}

absl::Status FileError(absl::string_view file, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("holiday file ", file, ": ", what));
}

// StrictJson checks that a text is exactly one RFC 8259 JSON value with no duplicate key in
// any object. protobuf's JSON parser is lenient (trailing commas, unquoted keys, a repeated
// key silently overriding the first), which would let a hand-edited file lose an entry.
class StrictJson {
 public:
  explicit StrictJson(absl::string_view text) : text_(text) {}

  absl::Status Check() {
    SkipSpace();
    SIMPUL_RETURN_IF_ERROR(Value(0));
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the JSON value");
    return absl::OkStatus();
  }

 private:
  static constexpr int kMaxDepth = 32;

  absl::Status Error(absl::string_view what) const {
    int line = 1, column = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrFormat("line %d, column %d: %s", line, column, what));
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }
  bool Consume(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  absl::Status Value(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    switch (Peek()) {
      case '{':
        return Object(depth);
      case '[':
        return Array(depth);
      case '"': {
        std::string ignored;
        return String(&ignored);
      }
      case 't':
        return Consume("true") ? absl::OkStatus() : Error("expected a value");
      case 'f':
        return Consume("false") ? absl::OkStatus() : Error("expected a value");
      case 'n':
        return Consume("null") ? absl::OkStatus() : Error("expected a value");
      default:
        return Number();
    }
  }
  absl::Status Object(int depth) {
    ++pos_;  // '{'
    std::vector<std::string> keys;
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      if (Peek() != '"') return Error("expected a quoted key");
      size_t key_pos = pos_;
      std::string key;
      SIMPUL_RETURN_IF_ERROR(String(&key));
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        pos_ = key_pos;
        return Error(absl::StrCat("duplicate key \"", key, "\""));
      }
      keys.push_back(key);
      SkipSpace();
      if (!Consume(":")) return Error("expected ':' after a key");
      SkipSpace();
      SIMPUL_RETURN_IF_ERROR(Value(depth + 1));
      SkipSpace();
      if (Consume("}")) return absl::OkStatus();
      if (!Consume(",")) return Error("expected ',' or '}'");
    }
  }
  absl::Status Array(int depth) {
    ++pos_;  // '['
    SkipSpace();
    if (Consume("]")) return absl::OkStatus();
    while (true) {
      SkipSpace();
      SIMPUL_RETURN_IF_ERROR(Value(depth + 1));
      SkipSpace();
      if (Consume("]")) return absl::OkStatus();
      if (!Consume(",")) return Error("expected ',' or ']'");
    }
  }
  // String reads a quoted string; `raw` receives its text between the quotes, escapes kept.
  absl::Status String(std::string* raw) {
    size_t start = ++pos_;  // '"'
    while (!AtEnd() && Peek() != '"') {
      unsigned char c = static_cast<unsigned char>(Peek());
      if (c < 0x20) return Error("control character in a string");
      if (c == '\\') {
        ++pos_;
        if (AtEnd()) break;
        char e = Peek();
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= text_.size() ||
                !absl::ascii_isxdigit(static_cast<unsigned char>(text_[pos_ + i]))) {
              return Error("bad \\u escape");
            }
          }
          pos_ += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return Error("bad escape in a string");
        }
      }
      ++pos_;
    }
    if (AtEnd()) return Error("unterminated string");
    *raw = std::string(text_.substr(start, pos_ - start));
    ++pos_;  // '"'
    return absl::OkStatus();
  }
  absl::Status Number() {
    size_t start = pos_;
    Consume("-");
    if (Consume("0")) {
    } else if (!AtEnd() && Peek() >= '1' && Peek() <= '9') {
      SkipDigits();
    } else {
      pos_ = start;
      return Error("expected a value");
    }
    if (Consume(".")) {
      if (!SkipDigits()) return Error("expected digits after '.'");
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!SkipDigits()) return Error("expected digits in the exponent");
    }
    return absl::OkStatus();
  }
  bool SkipDigits() {
    size_t start = pos_;
    while (!AtEnd() && absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) ++pos_;
    return pos_ > start;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

// ParseYearFile parses and validates one file into `holidays` and `info`.
absl::Status ParseYearFile(const std::string& name, const std::string& content,
                           std::vector<Holiday>* holidays, HolidayYearInfo* info) {
  HolidayYear year;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (absl::Status syntax = StrictJson(content).Check(); !syntax.ok()) {
    return FileError(name, absl::StrCat("not valid JSON: ", syntax.message()));
  }
  auto parsed = google::protobuf::util::JsonStringToMessage(content, &year, options);
  if (!parsed.ok()) {
    // The parser's message may continue with an excerpt and a caret on further lines.
    auto message = parsed.message();
    absl::string_view first_line(message.data(), message.size());
    first_line = first_line.substr(0, first_line.find('\n'));
    return FileError(name, absl::StrCat("not a valid simpul.common.v1.HolidayYear: ",
                                        absl::StripAsciiWhitespace(first_line)));
  }
  if (year.year() < kMinYear || year.year() > kMaxYear) {
    return FileError(
        name, absl::StrFormat("year must be %d..%d, got %d", kMinYear, kMaxYear, year.year()));
  }
  std::string expected_name = absl::StrCat(year.year(), ".json");
  if (fs::path(name).filename().string() != expected_name) {
    return FileError(name, absl::StrFormat("a file for year %d must be named \"%s\"", year.year(),
                                           expected_name));
  }
  if (year.decree().empty()) return FileError(name, "decree is required");
  for (int i = 0; i < year.amendments_size(); ++i) {
    const std::string& amendment = year.amendments(i);
    if (absl::StripAsciiWhitespace(amendment).empty()) {
      return FileError(name, absl::StrFormat("amendments[%d]: a decree is required", i));
    }
    if (amendment == year.decree() ||
        std::find(year.amendments().begin(), year.amendments().begin() + i, amendment) !=
            year.amendments().begin() + i) {
      return FileError(
          name, absl::StrFormat("amendments[%d]: decree \"%s\" is already listed", i, amendment));
    }
  }
  if (year.days().empty()) return FileError(name, "days must list at least one day");
  std::map<absl::CivilDay, int> seen;
  holidays->clear();
  for (int i = 0; i < year.days_size(); ++i) {
    const common::v1::Holiday& entry = year.days(i);
    std::string label = EntryLabel(i, entry);
    absl::CivilDay day;
    if (!ParseIsoDate(entry.date(), &day)) {
      return FileError(name, absl::StrCat(label, ": date must be a valid date \"YYYY-MM-DD\""));
    }
    if (day.year() != year.year()) {
      return FileError(
          name, absl::StrFormat("%s: date is outside the file's year %d", label, year.year()));
    }
    if (auto [it, inserted] = seen.emplace(day, i); !inserted) {
      return FileError(
          name, absl::StrFormat("%s: duplicate date, already listed as days[%d] (\"%s\")", label,
                                it->second, year.days(it->second).name()));
    }
    if (absl::StripAsciiWhitespace(entry.name()).empty()) {
      return FileError(name, absl::StrCat(label, ": name is required"));
    }
    if (entry.type() != common::v1::Holiday::NATIONAL_HOLIDAY &&
        entry.type() != common::v1::Holiday::COLLECTIVE_LEAVE) {
      std::string got = common::v1::Holiday_Type_Name(entry.type());
      if (got.empty()) got = absl::StrCat(static_cast<int>(entry.type()));
      return FileError(name, absl::StrCat(label, ": type must be NATIONAL_HOLIDAY or ",
                                          "COLLECTIVE_LEAVE, got ", got));
    }
    holidays->push_back(Holiday{day, entry.name(), entry.type()});
  }
  info->year = year.year();
  info->decree = year.decree();
  info->amendments.assign(year.amendments().begin(), year.amendments().end());
  info->source = name;
  return absl::OkStatus();
}

// ZoneAndDay validates the common arguments of the deadline functions.
absl::StatusOr<std::pair<absl::TimeZone, absl::CivilDay>> ZoneAndDay(absl::Time instant,
                                                                     common::v1::TimeZone zone,
                                                                     absl::string_view what) {
  if (instant == absl::InfiniteFuture() || instant == absl::InfinitePast()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be a finite time"));
  }
  SIMPUL_ASSIGN_OR_RETURN(absl::TimeZone tz, UnitTimeZone(zone));
  return std::make_pair(tz, absl::ToCivilDay(instant, tz));
}

absl::Status CheckCount(int64_t n, int64_t max, absl::string_view unit) {
  if (n < 0 || n > max) {
    return absl::InvalidArgumentError(
        absl::StrFormat("number of %s must be 0..%d, got %d", unit, max, n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::TimeZone> UnitTimeZone(common::v1::TimeZone zone) {
  switch (zone) {
    case common::v1::TIME_ZONE_WIB:
      return absl::FixedTimeZone(7 * 60 * 60);
    case common::v1::TIME_ZONE_WITA:
      return absl::FixedTimeZone(8 * 60 * 60);
    case common::v1::TIME_ZONE_WIT:
      return absl::FixedTimeZone(9 * 60 * 60);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("time zone must be TIME_ZONE_WIB, TIME_ZONE_WITA or TIME_ZONE_WIT, got ",
                       common::v1::TimeZone_IsValid(zone) ? common::v1::TimeZone_Name(zone)
                                                          : absl::StrCat(static_cast<int>(zone))));
  }
}

absl::StatusOr<absl::CivilDay> LocalDay(absl::Time instant, common::v1::TimeZone zone) {
  SIMPUL_ASSIGN_OR_RETURN(auto zone_and_day, ZoneAndDay(instant, zone, "instant"));
  return zone_and_day.second;
}

bool Deadline::Missed(absl::Time at) const {
  absl::Time whole_second =
      absl::UnixEpoch() + absl::Floor(at - absl::UnixEpoch(), absl::Seconds(1));
  return whole_second > time;
}

absl::StatusOr<HolidayCalendar> HolidayCalendar::LoadFromDirectory(absl::string_view dir) {
  const fs::path root{std::string(dir)};
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(
        absl::StrCat("holiday directory ", dir, " does not exist or is not a directory"));
  }
  std::map<std::string, std::string> files;
  fs::directory_iterator it(root, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot list holiday directory ", dir, ": ", ec.message()));
  }
  for (const fs::directory_entry& entry : it) {
    const std::string file_name = entry.path().filename().string();
    if (file_name.empty() || file_name[0] == '.' || entry.path().extension() != ".json") continue;
    if (!entry.is_regular_file(ec)) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    if (in.is_open()) content << in.rdbuf();
    if (!in.is_open() || in.bad()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read holiday file ", entry.path().string()));
    }
    files.emplace(entry.path().string(), content.str());
  }
  if (files.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("holiday directory ", dir, " holds no *.json year file"));
  }
  return FromYearFiles(files);
}

absl::StatusOr<HolidayCalendar> HolidayCalendar::FromYearFiles(
    const std::map<std::string, std::string>& files_by_name) {
  HolidayCalendar calendar;
  std::vector<Holiday> holidays;
  for (const auto& [name, content] : files_by_name) {
    HolidayYearInfo info;
    SIMPUL_RETURN_IF_ERROR(ParseYearFile(name, content, &holidays, &info));
    if (auto existing = calendar.years_.find(info.year); existing != calendar.years_.end()) {
      return FileError(name, absl::StrFormat("year %d is already defined by %s", info.year,
                                             existing->second.source));
    }
    for (Holiday& h : holidays) calendar.holidays_.emplace(h.date, std::move(h));
    calendar.years_.emplace(info.year, std::move(info));
  }
  return calendar;
}

bool HolidayCalendar::IsWorkingDay(absl::CivilDay day) const {
  return !IsWeekend(day) && holidays_.count(day) == 0;
}

const Holiday* HolidayCalendar::FindHoliday(absl::CivilDay day) const {
  auto it = holidays_.find(day);
  return it == holidays_.end() ? nullptr : &it->second;
}

std::vector<Holiday> HolidayCalendar::HolidaysInYear(int64_t year) const {
  std::vector<Holiday> result;
  if (year < kMinYear || year > kMaxYear) return result;
  auto first = holidays_.lower_bound(absl::CivilDay(year, 1, 1));
  auto last = holidays_.lower_bound(absl::CivilDay(year + 1, 1, 1));
  for (auto it = first; it != last; ++it) result.push_back(it->second);
  return result;
}

absl::StatusOr<Deadline> HolidayCalendar::AddWorkingDays(absl::Time event, int64_t n,
                                                         common::v1::TimeZone zone) const {
  SIMPUL_RETURN_IF_ERROR(CheckCount(n, kMaxDeadlineDays, "working days"));
  SIMPUL_ASSIGN_OR_RETURN(auto zone_and_day, ZoneAndDay(event, zone, "event time"));
  auto [tz, day] = zone_and_day;
  Deadline deadline;
  for (int64_t counted = 0; counted < n;) {
    ++day;
    if (!HasYear(day.year()) &&
        (deadline.years_without_data.empty() || deadline.years_without_data.back() != day.year())) {
      deadline.years_without_data.push_back(day.year());
    }
    if (IsWorkingDay(day)) ++counted;
  }
  deadline.day = day;
  deadline.time = EndOfDay(day, tz);
  return deadline;
}

absl::StatusOr<Deadline> HolidayCalendar::AddCalendarDays(absl::Time event, int64_t n,
                                                          common::v1::TimeZone zone) const {
  SIMPUL_RETURN_IF_ERROR(CheckCount(n, kMaxDeadlineDays, "calendar days"));
  SIMPUL_ASSIGN_OR_RETURN(auto zone_and_day, ZoneAndDay(event, zone, "event time"));
  auto [tz, day] = zone_and_day;
  Deadline deadline;
  deadline.day = day + n;
  deadline.time = EndOfDay(deadline.day, tz);
  return deadline;
}

absl::StatusOr<Deadline> HolidayCalendar::AddHours(absl::Time event, int64_t n,
                                                   common::v1::TimeZone zone) const {
  SIMPUL_RETURN_IF_ERROR(CheckCount(n, kMaxDeadlineHours, "hours"));
  SIMPUL_ASSIGN_OR_RETURN(auto zone_and_day, ZoneAndDay(event, zone, "event time"));
  Deadline deadline;
  deadline.time = event + absl::Hours(n);
  deadline.day = absl::ToCivilDay(deadline.time, zone_and_day.first);
  return deadline;
}

absl::StatusOr<Deadline> HolidayCalendar::AddDeadline(absl::Time event, int64_t n,
                                                      DeadlineUnit unit,
                                                      common::v1::TimeZone zone) const {
  switch (unit) {
    case DeadlineUnit::kHour:
      return AddHours(event, n, zone);
    case DeadlineUnit::kWorkingDay:
      return AddWorkingDays(event, n, zone);
    case DeadlineUnit::kCalendarDay:
      return AddCalendarDays(event, n, zone);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown deadline unit ", static_cast<int>(unit)));
}

absl::StatusOr<WorkingDayCount> HolidayCalendar::WorkingDaysBetween(
    absl::Time from, absl::Time to, common::v1::TimeZone zone) const {
  SIMPUL_ASSIGN_OR_RETURN(auto from_zone_and_day, ZoneAndDay(from, zone, "from"));
  SIMPUL_ASSIGN_OR_RETURN(auto to_zone_and_day, ZoneAndDay(to, zone, "to"));
  if (to < from) {
    return absl::InvalidArgumentError(absl::StrCat(
        "to (", absl::FormatTime(to), ") is before from (", absl::FormatTime(from), ")"));
  }
  const absl::CivilDay first = from_zone_and_day.second;  // exclusive
  const absl::CivilDay last = to_zone_and_day.second;     // inclusive
  if (last - first > kMaxCountedSpanDays) {
    return absl::InvalidArgumentError(absl::StrFormat("from and to are %d days apart, more than %d",
                                                      last - first, kMaxCountedSpanDays));
  }
  WorkingDayCount count;
  if (last == first) return count;
  count.days = WeekdaysBefore(last + 1) - WeekdaysBefore(first + 1);
  for (auto it = holidays_.upper_bound(first); it != holidays_.end() && it->first <= last; ++it) {
    if (!IsWeekend(it->first)) --count.days;
  }
  for (int64_t year = (first + 1).year(); year <= last.year(); ++year) {
    if (!HasYear(year)) count.years_without_data.push_back(year);
  }
  return count;
}

CalendarRegistry::CalendarRegistry(std::string dir, std::shared_ptr<const HolidayCalendar> initial)
    : dir_(std::move(dir)), current_(std::move(initial)) {
  if (current_ == nullptr) {
    std::fprintf(stderr, "simpul::CalendarRegistry: constructed with a null calendar\n");
    std::abort();
  }
}

absl::StatusOr<std::unique_ptr<CalendarRegistry>> CalendarRegistry::Create(std::string dir) {
  SIMPUL_ASSIGN_OR_RETURN(HolidayCalendar calendar, HolidayCalendar::LoadFromDirectory(dir));
  return std::make_unique<CalendarRegistry>(
      std::move(dir), std::make_shared<const HolidayCalendar>(std::move(calendar)));
}

std::shared_ptr<const HolidayCalendar> CalendarRegistry::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

std::pair<std::shared_ptr<const HolidayCalendar>, uint64_t>
CalendarRegistry::CurrentWithGeneration() const {
  absl::MutexLock lock(&mu_);
  return {current_, generation_};
}

absl::Status CalendarRegistry::Reload() {
  if (dir_.empty()) {
    return absl::FailedPreconditionError("calendar registry has no holiday directory to reload");
  }
  absl::MutexLock reload_lock(&reload_mu_);
  SIMPUL_ASSIGN_OR_RETURN(HolidayCalendar calendar, HolidayCalendar::LoadFromDirectory(dir_));
  Replace(std::make_shared<const HolidayCalendar>(std::move(calendar)));
  return absl::OkStatus();
}

void CalendarRegistry::Replace(std::shared_ptr<const HolidayCalendar> calendar) {
  if (calendar == nullptr) {
    std::fprintf(stderr, "simpul::CalendarRegistry: Replace called with a null calendar\n");
    std::abort();
  }
  std::shared_ptr<const HolidayCalendar> previous;
  absl::MutexLock lock(&mu_);
  previous = std::exchange(current_, std::move(calendar));
  ++generation_;
}

uint64_t CalendarRegistry::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

}  // namespace simpul
