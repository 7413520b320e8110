#include "services/monitoring/aggregates.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/absl_compat.h"
#include "common/field_rules.h"

namespace simpul::monitoring {
namespace {

namespace cv1 = ::simpul::complaints::v1;

// PeriodZone is the fixed-offset zone whose dates name the periods: WIB (UTC+7), WITA (UTC+8)
// or WIT (UTC+9); UNSPECIFIED and unknown values are WIB.
absl::TimeZone PeriodZone(common::v1::TimeZone zone) {
  switch (zone) {
    case common::v1::TIME_ZONE_WITA:
      return absl::FixedTimeZone(8 * 3600);
    case common::v1::TIME_ZONE_WIT:
      return absl::FixedTimeZone(9 * 3600);
    default:
      return absl::FixedTimeZone(7 * 3600);
  }
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string Field(std::string_view prefix, std::string_view name) {
  return absl::StrCat(AbslView(prefix), AbslView(name));
}

bool IsKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == ':' || c == '.';
}

void CheckIdempotencyKey(const std::string& key, std::string_view prefix, FieldViolations& v) {
  if (key.size() < 8 || key.size() > 128 || !std::all_of(key.begin(), key.end(), IsKeyChar)) {
    v.Add(Field(prefix, "idempotency_key"),
          absl::StrCat("must be 8..128 characters of A-Z a-z 0-9 - _ : . (got ", key.size(),
                       " characters)"));
  }
}

// CheckTime: required, and not after `now`.
void CheckTime(const google::protobuf::Timestamp* ts, bool present, absl::Time now,
               const std::string& field, FieldViolations& v) {
  if (!present) {
    v.Add(field, "required");
    return;
  }
  if (ts->nanos() < 0 || ts->nanos() > 999999999) {
    v.Add(field, "not a valid timestamp");
    return;
  }
  const absl::Time t = FromProto(*ts);
  if (t > now) {
    v.Add(field, absl::StrCat("must not be in the future (", absl::FormatTime(t), " is after ",
                              absl::FormatTime(now), ")"));
  }
}

std::string Pad2(int v) { return absl::StrFormat("%02d", v); }

// First day of a valid period (a civil date, in whichever zone the caller reads it).
absl::CivilDay PeriodStart(const v1::Period& p) {
  switch (p.kind()) {
    case v1::PERIOD_KIND_MONTH:
      return absl::CivilDay(p.year(), p.index(), 1);
    case v1::PERIOD_KIND_QUARTER:
      return absl::CivilDay(p.year(), (p.index() - 1) * 3 + 1, 1);
    case v1::PERIOD_KIND_SEMESTER:
      return absl::CivilDay(p.year(), (p.index() - 1) * 6 + 1, 1);
    default:
      return absl::CivilDay(p.year(), 1, 1);
  }
}

void AddInc(std::vector<Increment>& out, std::string field, int64_t delta) {
  out.push_back(Increment{std::move(field), delta});
}

int64_t Get(const Counters& c, std::string_view field) {
  auto it = c.find(field);
  return it == c.end() ? 0 : it->second;
}

std::string Hundredths(int64_t h) { return Decimal2{h}.ToString(); }

// EnumSuffix strips "<PREFIX>_" from an enum value name: "CHANNEL_SMS" → "SMS".
std::string EnumSuffix(const std::string& name, std::string_view prefix) {
  if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) {
    return name.substr(prefix.size());
  }
  return name.empty() ? "UNKNOWN" : name;
}

std::string MinutesBucket(absl::Duration d) {
  const int64_t minutes = absl::ToInt64Minutes(absl::Ceil(d, absl::Minutes(1)));
  return absl::StrCat("d.h.", HistogramBucket(kDeliveryMinuteBounds, minutes));
}

common::v1::TimeZone ZoneFor(const cv1::ComplaintEvent& e, const UnitInfo& holder) {
  if (e.time_zone() != common::v1::TIME_ZONE_UNSPECIFIED) return e.time_zone();
  if (holder.time_zone != common::v1::TIME_ZONE_UNSPECIFIED) return holder.time_zone;
  return common::v1::TIME_ZONE_WIB;
}

// Buckets of `unit` at `t` that are not among `except`'s buckets at `t`. Compared bucket by
// bucket, not scope by scope: two holders in different zones may share a scope (e.g. "n") but
// not its period at `t`, and then the shared scope's count moves between its periods too.
std::vector<std::string> BucketsExcept(const UnitInfo& unit, const UnitInfo* except, absl::Time t) {
  std::vector<std::string> out = Buckets(unit, t);
  if (except != nullptr) {
    const std::vector<std::string> other = Buckets(*except, t);
    std::erase_if(out, [&](const std::string& b) {
      return std::find(other.begin(), other.end(), b) != other.end();
    });
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Scopes and periods.

std::vector<std::string> ScopeKeys(const UnitInfo& unit) {
  std::vector<std::string> out;
  if (!unit.unit_id.empty()) out.push_back(absl::StrCat("u:", unit.unit_id));
  if (!unit.agency_id.empty()) out.push_back(absl::StrCat("a:", unit.agency_id));
  if (unit.sandbox) return out;  // a test unit: its own and its agency's figures only
  if (IsValidRegionCode(unit.region_code)) {
    size_t pos = 0;
    while (true) {
      pos = unit.region_code.find('.', pos);
      if (pos == std::string::npos) break;
      out.push_back(absl::StrCat("r:", unit.region_code.substr(0, pos)));
      ++pos;
    }
    out.push_back(absl::StrCat("r:", unit.region_code));
  }
  out.push_back("n");
  return out;
}

absl::StatusOr<std::string> ScopeKey(const v1::Scope& scope, std::string_view field) {
  FieldViolations v;
  std::string key;
  switch (scope.scope_case()) {
    case v1::Scope::kUnitId:
      CheckSlug(v, Field(field, ".unit_id"), scope.unit_id());
      key = absl::StrCat("u:", scope.unit_id());
      break;
    case v1::Scope::kAgencyId:
      CheckSlug(v, Field(field, ".agency_id"), scope.agency_id());
      key = absl::StrCat("a:", scope.agency_id());
      break;
    case v1::Scope::kRegionCodePrefix:
      if (!IsValidRegionCode(scope.region_code_prefix())) {
        v.Add(Field(field, ".region_code_prefix"),
              absl::StrCat("must be a Kemendagri region code such as \"32\" or \"32.71\", got \"",
                           scope.region_code_prefix(), "\""));
      }
      key = absl::StrCat("r:", scope.region_code_prefix());
      break;
    case v1::Scope::kNational:
      if (!scope.national()) v.Add(Field(field, ".national"), "must be true when set");
      key.push_back('n');  // (not `= "n"`: a GCC 12 -Wrestrict false positive)
      break;
    default:
      v.Add(std::string(field),
            "required: one of unit_id, agency_id, region_code_prefix or national");
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("scope"));
  return key;
}

std::string ZoneName(common::v1::TimeZone zone) {
  switch (zone) {
    case common::v1::TIME_ZONE_WITA:
      return "WITA";
    case common::v1::TIME_ZONE_WIT:
      return "WIT";
    default:
      return "WIB";
  }
}

std::vector<std::string> PeriodKeys(absl::Time t, common::v1::TimeZone zone) {
  const absl::CivilDay d = absl::ToCivilDay(t, PeriodZone(zone));
  const int64_t y = d.year();
  const int m = d.month();
  return {absl::StrCat(y, "-M", Pad2(m)), absl::StrCat(y, "-Q", (m - 1) / 3 + 1),
          absl::StrCat(y, "-S", (m - 1) / 6 + 1), absl::StrCat(y, "-Y")};
}

absl::StatusOr<std::string> PeriodKey(const v1::Period& period, absl::Time now,
                                      std::string_view field, common::v1::TimeZone zone) {
  FieldViolations v;
  int max_index = 0;
  int min_index = 1;
  std::string key;
  const std::string y = absl::StrCat(period.year());
  switch (period.kind()) {
    case v1::PERIOD_KIND_MONTH:
      max_index = 12;
      key = absl::StrCat(y, "-M", Pad2(period.index()));
      break;
    case v1::PERIOD_KIND_QUARTER:
      max_index = 4;
      key = absl::StrCat(y, "-Q", period.index());
      break;
    case v1::PERIOD_KIND_SEMESTER:
      max_index = 2;
      key = absl::StrCat(y, "-S", period.index());
      break;
    case v1::PERIOD_KIND_YEAR:
      min_index = 0;
      max_index = 1;
      key = absl::StrCat(y, "-Y");
      break;
    default:
      v.Add(Field(field, ".kind"), "required: MONTH, QUARTER, SEMESTER or YEAR");
  }
  if (period.year() < 2000 || period.year() > 9999) {
    v.Add(Field(field, ".year"), absl::StrCat("must be 2000..9999, got ", period.year()));
  }
  if (max_index > 0 && (period.index() < min_index || period.index() > max_index)) {
    v.Add(Field(field, ".index"),
          absl::StrCat("must be ", min_index, "..", max_index, " for ",
                       v1::PeriodKind_Name(period.kind()), ", got ", period.index()));
  }
  if (v.empty()) {
    const absl::CivilDay today = absl::ToCivilDay(now, PeriodZone(zone));
    if (PeriodStart(period) > today) {
      v.Add(std::string(field),
            absl::StrCat("the period ", key, " starts after today (", absl::FormatCivilTime(today),
                         " ", ZoneName(zone), ")"));
    }
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("period"));
  return key;
}

v1::Period NextPeriod(const v1::Period& period) {
  v1::Period next = period;
  int count = 0;
  switch (period.kind()) {
    case v1::PERIOD_KIND_MONTH:
      count = 12;
      break;
    case v1::PERIOD_KIND_QUARTER:
      count = 4;
      break;
    case v1::PERIOD_KIND_SEMESTER:
      count = 2;
      break;
    default:
      next.set_year(period.year() + 1);
      next.set_index(1);
      return next;
  }
  if (period.index() >= count) {
    next.set_year(period.year() + 1);
    next.set_index(1);
  } else {
    next.set_index(period.index() + 1);
  }
  return next;
}

std::string BucketKey(std::string_view scope, std::string_view period) {
  return absl::StrCat(AbslView(scope), "|", AbslView(period));
}

std::vector<std::string> Buckets(const UnitInfo& unit, absl::Time t) {
  std::vector<std::string> out;
  const std::string month = PeriodKeys(t, unit.time_zone).front();
  for (const std::string& s : ScopeKeys(unit)) out.push_back(BucketKey(s, month));
  return out;
}

namespace {

// ParseDerived splits a quarter, semester or year key: "2026-Q1" is year "2026", kind 'Q',
// index 1 ("2026-Y": 'Y', 0); nullopt for anything else (a month, "std", ...).
struct DerivedPeriod {
  std::string_view year;
  char kind = 0;
  int index = 0;
};
std::optional<DerivedPeriod> ParseDerived(std::string_view key) {
  const size_t dash = key.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 2 > key.size()) return std::nullopt;
  const std::string_view year = key.substr(0, dash);
  if (!std::all_of(year.begin(), year.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const std::string_view rest = key.substr(dash + 1);
  if (rest == "Y") return DerivedPeriod{year, 'Y', 0};
  if (rest.size() != 2 || (rest[0] != 'Q' && rest[0] != 'S')) return std::nullopt;
  const int index = rest[1] - '0';
  if (index < 1 || index > (rest[0] == 'Q' ? 4 : 2)) return std::nullopt;
  return DerivedPeriod{year, rest[0], index};
}

// ParseMonth splits "2026-M05" into "2026" and 5; nullopt for any other key.
std::optional<std::pair<std::string_view, int>> ParseMonth(std::string_view key) {
  const size_t dash = key.rfind("-M");
  if (dash == std::string_view::npos || dash == 0 || key.size() != dash + 4) return std::nullopt;
  const std::string_view year = key.substr(0, dash);
  if (!std::all_of(year.begin(), year.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const char tens = key[dash + 2];
  const char ones = key[dash + 3];
  if (tens < '0' || tens > '9' || ones < '0' || ones > '9') return std::nullopt;
  const int month = (tens - '0') * 10 + (ones - '0');
  if (month < 1 || month > 12) return std::nullopt;
  return std::make_pair(year, month);
}

}  // namespace

std::vector<std::string> MonthKeysOf(std::string_view period_key) {
  const std::optional<DerivedPeriod> p = ParseDerived(period_key);
  if (!p) return {std::string(period_key)};
  int first = 1;
  int count = 12;
  if (p->kind == 'Q') {
    first = (p->index - 1) * 3 + 1;
    count = 3;
  } else if (p->kind == 'S') {
    first = (p->index - 1) * 6 + 1;
    count = 6;
  }
  std::vector<std::string> out;
  out.reserve(count);
  for (int m = first; m < first + count; ++m) {
    out.push_back(absl::StrCat(AbslView(p->year), "-M", Pad2(m)));
  }
  return out;
}

std::vector<std::string> PeriodsOfMonth(std::string_view month_key) {
  const auto month = ParseMonth(month_key);
  if (!month) return {std::string(month_key)};
  const auto [year, m] = *month;
  return {std::string(month_key), absl::StrCat(AbslView(year), "-Q", (m - 1) / 3 + 1),
          absl::StrCat(AbslView(year), "-S", (m - 1) / 6 + 1), absl::StrCat(AbslView(year), "-Y")};
}

namespace {

// MonthPlan lists the stored buckets behind requested buckets (each once) and, per requested
// bucket, the positions of those it sums (ReadBuckets).
struct MonthPlan {
  std::vector<std::string> stored;
  std::vector<std::vector<size_t>> parts;
};

MonthPlan PlanMonths(const std::vector<std::string>& buckets) {
  MonthPlan plan;
  plan.parts.resize(buckets.size());
  absl::flat_hash_map<std::string, size_t> position;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const std::string& bucket = buckets[i];
    const size_t bar = bucket.rfind('|');
    std::vector<std::string> names;
    if (bar == std::string::npos) {
      names.push_back(bucket);
    } else {
      const std::string_view scope = std::string_view(bucket).substr(0, bar);
      for (const std::string& month : MonthKeysOf(std::string_view(bucket).substr(bar + 1))) {
        names.push_back(BucketKey(scope, month));
      }
    }
    for (std::string& name : names) {
      auto [it, inserted] = position.emplace(name, plan.stored.size());
      if (inserted) plan.stored.push_back(std::move(name));
      plan.parts[i].push_back(it->second);
    }
  }
  return plan;
}

}  // namespace

absl::StatusOr<std::vector<Counters>> ReadBuckets(AggregateStore& store,
                                                  const std::vector<std::string>& buckets) {
  const MonthPlan plan = PlanMonths(buckets);
  std::vector<Counters> out(buckets.size());
  if (plan.stored.empty()) return out;
  SIMPUL_ASSIGN_OR_RETURN(std::vector<Counters> read, store.ReadMany(plan.stored));
  if (read.size() != plan.stored.size()) {
    return absl::InternalError("read buckets: the store answered for another number of buckets");
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (plan.parts[i].size() == 1) {
      out[i] = read[plan.parts[i][0]];
      continue;
    }
    Counters& sum = out[i];
    for (size_t p : plan.parts[i]) {
      for (const auto& [field, value] : read[p]) {
        auto [it, inserted] = sum.try_emplace(field, value);
        if (!inserted) it->second += value;
      }
    }
  }
  return out;
}

absl::StatusOr<std::vector<Counters>> ReadBucketFields(AggregateStore& store,
                                                       const std::vector<std::string>& buckets,
                                                       const std::vector<std::string>& fields) {
  const MonthPlan plan = PlanMonths(buckets);
  std::vector<Counters> out(buckets.size());
  if (plan.stored.empty()) return out;
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::vector<int64_t>> read,
                          store.ReadFields(plan.stored, fields));
  if (read.size() != plan.stored.size()) {
    return absl::InternalError(
        "read bucket fields: the store answered for another number of buckets");
  }
  std::vector<int64_t> sum(fields.size());
  for (size_t i = 0; i < buckets.size(); ++i) {
    std::fill(sum.begin(), sum.end(), 0);
    for (size_t p : plan.parts[i]) {
      if (read[p].size() != fields.size()) {
        return absl::InternalError(
            "read bucket fields: the store answered for another number of counters");
      }
      for (size_t f = 0; f < fields.size(); ++f) sum[f] += read[p][f];
    }
    for (size_t f = 0; f < fields.size(); ++f) {
      if (sum[f] != 0) out[i].emplace(fields[f], sum[f]);
    }
  }
  return out;
}

const std::vector<std::string>& SurveyCounterFields() {
  static const auto* const fields = [] {
    auto* out = new std::vector<std::string>{"s.n"};
    for (int i = 1; i <= kElementCount; ++i) {
      out->push_back(absl::StrCat("s.u", i, ".sum"));
      out->push_back(absl::StrCat("s.u", i, ".n"));
    }
    return out;
  }();
  return *fields;
}

SurveyCounts SurveyCountsOf(const Counters& counters) {
  SurveyCounts out{};
  const std::vector<std::string>& fields = SurveyCounterFields();
  for (int f = 0; f < kSurveyCounters; ++f) out[f] = Get(counters, fields[f]);
  return out;
}

absl::StatusOr<std::vector<SurveyCounts>> ReadSurveyCounts(
    AggregateStore& store, const std::vector<std::string>& buckets) {
  const MonthPlan plan = PlanMonths(buckets);
  std::vector<SurveyCounts> out(buckets.size(), SurveyCounts{});
  if (plan.stored.empty()) return out;
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::vector<int64_t>> read,
                          store.ReadFields(plan.stored, SurveyCounterFields()));
  if (read.size() != plan.stored.size()) {
    return absl::InternalError(
        "read survey counts: the store answered for another number of buckets");
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    for (size_t p : plan.parts[i]) {
      if (read[p].size() != kSurveyCounters) {
        return absl::InternalError(
            "read survey counts: the store answered for another number of counters");
      }
      for (int f = 0; f < kSurveyCounters; ++f) out[i][f] += read[p][f];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Survey.

void SurveyResponseViolations(const v1::SurveyResponse& response, bool unit_known, absl::Time now,
                              std::string_view prefix, FieldViolations& v) {
  CheckIdempotencyKey(response.idempotency_key(), prefix, v);
  if (response.unit_id().empty()) {
    v.Add(Field(prefix, "unit_id"), "required");
  } else if (!unit_known) {
    v.Add(Field(prefix, "unit_id"), absl::StrCat("unknown unit \"", response.unit_id(), "\""));
  }
  CheckTime(&response.response_time(), response.has_response_time(), now,
            Field(prefix, "response_time"), v);
  if (response.answers_size() != kElementCount) {
    v.Add(Field(prefix, "answers"),
          absl::StrCat("must have exactly ", kElementCount, " values (U1..U9), got ",
                       response.answers_size()));
    return;
  }
  SurveyResponse r;
  for (int i = 0; i < kElementCount; ++i) r.answers[i] = response.answers(i);
  for (const FieldViolation& fv : ResponseViolations(r)) {
    v.Add(Field(prefix, fv.field), fv.description);
  }
}

absl::StatusOr<Contribution> SurveyContribution(const v1::SurveyResponse& response,
                                                const UnitInfo* unit, absl::Time now) {
  FieldViolations v;
  SurveyResponseViolations(response, unit != nullptr && unit->unit_id == response.unit_id(), now,
                           "", v);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("survey response"));
  Contribution c;
  c.dedup_key = SurveyLedgerKey(unit->unit_id, response.idempotency_key());
  c.buckets = Buckets(*unit, FromProto(response.response_time()));
  AddInc(c.increments, "s.n", 1);
  for (int i = 0; i < kElementCount; ++i) {
    const int32_t a = response.answers(i);
    if (a == kUnanswered) continue;
    AddInc(c.increments, absl::StrCat("s.u", i + 1, ".sum"), a);
    AddInc(c.increments, absl::StrCat("s.u", i + 1, ".n"), 1);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Delivery.

absl::StatusOr<Deadline> PromisedTime(const HolidayCalendar& calendar, absl::Time received,
                                      const Promise& promise, common::v1::TimeZone zone) {
  if (promise.amount <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("promised completion time must be > 0, got ", promise.amount));
  }
  switch (promise.unit) {
    case PromiseUnit::kMinute: {
      if (promise.amount > kMaxDeadlineHours * 60) {
        return absl::InvalidArgumentError(
            absl::StrCat("promised completion time too large: ", promise.amount, " minutes"));
      }
      SIMPUL_ASSIGN_OR_RETURN(Deadline d, calendar.AddHours(received, 0, zone));
      d.time = received + absl::Minutes(promise.amount);
      SIMPUL_ASSIGN_OR_RETURN(d.day, LocalDay(d.time, zone));
      return d;
    }
    case PromiseUnit::kHour:
      return calendar.AddHours(received, promise.amount, zone);
    case PromiseUnit::kWorkingDay:
      return calendar.AddWorkingDays(received, promise.amount, zone);
    case PromiseUnit::kCalendarDay:
      return calendar.AddCalendarDays(received, promise.amount, zone);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown completion time unit ", static_cast<int>(promise.unit)));
}

int HistogramBucket(std::span<const int64_t> bounds, int64_t value) {
  return static_cast<int>(std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin());
}

int64_t HistogramQuantile(const Counters& counters, std::string_view prefix,
                          std::span<const int64_t> bounds, int percent) {
  const int n = static_cast<int>(bounds.size());
  std::vector<int64_t> counts(n + 1);
  __int128 total = 0;
  for (int k = 0; k <= n; ++k) {
    counts[k] = std::max<int64_t>(0, Get(counters, absl::StrCat(AbslView(prefix), k)));
    total += counts[k];
  }
  if (total == 0 || bounds.empty()) return 0;
  percent = std::clamp(percent, 1, 100);
  const __int128 rank = (total * percent + 99) / 100;  // nearest rank, ceil(total·p/100)
  __int128 cumulative = 0;
  for (int k = 0; k <= n; ++k) {
    cumulative += counts[k];
    if (cumulative >= rank) return bounds[std::min(k, n - 1)];
  }
  return bounds[n - 1];
}

void DeliveryViolations(const v1::Delivery& delivery, absl::Time now, std::string_view prefix,
                        FieldViolations& v) {
  CheckIdempotencyKey(delivery.idempotency_key(), prefix, v);
  CheckText(v, Field(prefix, "application_id"), delivery.application_id(), 1, 128);
  if (delivery.service_id().empty()) v.Add(Field(prefix, "service_id"), "required");
  CheckTime(&delivery.received_time(), delivery.has_received_time(), now,
            Field(prefix, "received_time"), v);
  if (delivery.has_completed_time()) {
    CheckTime(&delivery.completed_time(), true, now, Field(prefix, "completed_time"), v);
    if (delivery.has_received_time() &&
        FromProto(delivery.completed_time()) < FromProto(delivery.received_time())) {
      v.Add(Field(prefix, "completed_time"), "must not be before received_time");
    }
  }
}

std::string DeliveryOpenKey(const UnitInfo& unit, std::string_view application_id) {
  return absl::StrCat(unit.unit_id, ":", AbslView(application_id));
}

void CheckKeyText(FieldViolations& v, const std::string& field, std::string_view text, size_t min,
                  size_t max) {
  if (text.size() < min || text.size() > max || !std::all_of(text.begin(), text.end(), IsKeyChar)) {
    v.Add(field,
          absl::StrCat("must be ", min, "..", max, " characters of A-Z a-z 0-9 - _ : . (got ",
                       text.size(), " characters)"));
  }
}

std::string SurveyLedgerKey(std::string_view unit_id, std::string_view idempotency_key) {
  return absl::StrCat("survey:", AbslView(unit_id), ":", AbslView(idempotency_key));
}

std::string DeliveryLedgerKey(const UnitInfo& unit, std::string_view application_id) {
  return absl::StrCat("delivery:", DeliveryOpenKey(unit, application_id));
}

namespace {
std::string DeliveryKey(const UnitInfo& unit, const v1::Delivery& d, std::string_view what) {
  return absl::StrCat("delivery:", DeliveryOpenKey(unit, d.application_id()), ":", AbslView(what));
}
}  // namespace

absl::StatusOr<Contribution> DeliveryReceived(const v1::Delivery& delivery, const UnitInfo& unit,
                                              absl::Time now) {
  FieldViolations v;
  DeliveryViolations(delivery, now, "", v);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("delivery"));
  Contribution c;
  c.dedup_key = DeliveryKey(unit, delivery, "received");
  c.buckets = Buckets(unit, FromProto(delivery.received_time()));
  AddInc(c.increments, "d.recv", 1);
  AddInc(c.increments, "d.open", 1);
  return c;
}

absl::StatusOr<Contribution> DeliveryReceivedNotApplicable(const v1::Delivery& delivery,
                                                           const UnitInfo& unit, absl::Time now) {
  SIMPUL_ASSIGN_OR_RETURN(Contribution c, DeliveryReceived(delivery, unit, now));
  c.increments.clear();
  AddInc(c.increments, "d.recv", 1);
  AddInc(c.increments, "d.na.recv", 1);
  return c;
}

namespace {

// CompletionDone is the "completed" contribution of a completed delivery, checked: d.done and
// its duration's bucket on the completion's buckets (the caller adds the judgement).
absl::StatusOr<Contribution> CompletionDone(const v1::Delivery& delivery, const UnitInfo& unit,
                                            absl::Time now) {
  FieldViolations v;
  DeliveryViolations(delivery, now, "", v);
  if (!delivery.has_completed_time()) v.Add("completed_time", "required");
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("delivery"));
  const absl::Time t1 = FromProto(delivery.received_time());
  const absl::Time t2 = FromProto(delivery.completed_time());
  Contribution done;
  done.dedup_key = DeliveryKey(unit, delivery, "completed");
  done.buckets = Buckets(unit, t2);
  AddInc(done.increments, "d.done", 1);
  AddInc(done.increments, MinutesBucket(t2 - t1), 1);
  return done;
}

}  // namespace

absl::StatusOr<Contribution> DeliveryCompletedNotApplicable(const v1::Delivery& delivery,
                                                            const UnitInfo& unit, absl::Time now) {
  SIMPUL_ASSIGN_OR_RETURN(Contribution done, CompletionDone(delivery, unit, now));
  AddInc(done.increments, "d.na.done", 1);
  return done;
}

absl::StatusOr<Contribution> DeliveryOverdue(const v1::Delivery& delivery, const UnitInfo& unit) {
  if (!delivery.has_received_time()) return InvalidField("received_time", "required");
  Contribution c;
  c.dedup_key = DeliveryKey(unit, delivery, "overdue");
  c.buckets = Buckets(unit, FromProto(delivery.received_time()));
  AddInc(c.increments, "d.open", -1);
  AddInc(c.increments, "d.overdue", 1);
  return c;
}

absl::StatusOr<std::vector<Contribution>> DeliveryCompleted(const v1::Delivery& delivery,
                                                            const UnitInfo& unit,
                                                            const Deadline& promised,
                                                            bool was_overdue, absl::Time now,
                                                            std::string_view judged_by) {
  SIMPUL_ASSIGN_OR_RETURN(Contribution done, CompletionDone(delivery, unit, now));
  const absl::Time t1 = FromProto(delivery.received_time());
  const absl::Time t2 = FromProto(delivery.completed_time());
  if (!promised.Missed(t2)) AddInc(done.increments, "d.ontime", 1);

  Contribution closed;
  closed.dedup_key = DeliveryKey(unit, delivery, "closed");
  closed.buckets = Buckets(unit, t1);
  AddInc(closed.increments, was_overdue ? "d.overdue" : "d.open", -1);

  std::vector<Contribution> out;
  if (!judged_by.empty() && !unit.unit_id.empty()) {
    Contribution judged;
    judged.dedup_key = DeliveryKey(unit, delivery, "judged");
    judged.buckets.push_back(
        BucketKey(absl::StrCat("u:", unit.unit_id), PeriodKeys(t2, unit.time_zone).front()));
    AddInc(judged.increments, absl::StrCat("d.vd.", AbslView(judged_by)), 1);
    if (!promised.Missed(t2))
      AddInc(judged.increments, absl::StrCat("d.vo.", AbslView(judged_by)), 1);
    out.push_back(std::move(judged));
  }
  if (closed.buckets == done.buckets) {
    for (Increment& i : closed.increments) done.increments.push_back(std::move(i));
    out.insert(out.begin(), std::move(done));
    return out;
  }
  out.insert(out.begin(), std::move(closed));
  out.insert(out.begin(), std::move(done));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Voids.

absl::StatusOr<std::vector<Contribution>> VoidReversal(const Ledger& ledger,
                                                       std::string_view ledger_key,
                                                       InputKind kind) {
  if (ledger.applied.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("input ", AbslView(ledger_key), " has nothing recorded to void"));
  }
  std::vector<Contribution> reversal;
  const Contribution* marked = nullptr;  // the survey response, or the application's receipt
  for (const Contribution& c : ledger.applied) {
    Contribution back;
    back.dedup_key = absl::StrCat("void:", c.dedup_key);
    back.buckets = c.buckets;
    for (const Increment& inc : c.increments) {
      if (inc.delta == INT64_MIN) {
        return absl::InternalError(absl::StrCat("input ", AbslView(ledger_key),
                                                " holds an increment that cannot be negated"));
      }
      back.increments.push_back(Increment{inc.field, -inc.delta});
    }
    reversal.push_back(std::move(back));
    if (kind == InputKind::kSurvey || absl::EndsWith(c.dedup_key, ":received")) marked = &c;
  }
  if (marked == nullptr) {
    // An application whose receipt was recorded before input ledgers existed (December 2026):
    // its ledger holds only later parts, so a void could not return its figures exactly.
    return absl::FailedPreconditionError(absl::StrCat(
        "input ", AbslView(ledger_key),
        " was received before voids existed; only its later parts are recorded, so it cannot "
        "be voided exactly"));
  }
  Contribution mark;
  mark.dedup_key = absl::StrCat("voided:", AbslView(ledger_key));
  mark.buckets = marked->buckets;
  AddInc(mark.increments, kind == InputKind::kSurvey ? "s.void" : "d.void", 1);
  reversal.push_back(std::move(mark));
  return reversal;
}

std::set<std::string> UnitPeriodsOf(const Ledger& ledger, std::string_view unit_id) {
  const std::string prefix = absl::StrCat("u:", AbslView(unit_id), "|");
  std::set<std::string> periods;
  for (const Contribution& c : ledger.applied) {
    for (const std::string& bucket : c.buckets) {
      if (!absl::StartsWith(bucket, prefix)) continue;
      for (std::string& period : PeriodsOfMonth(std::string_view(bucket).substr(prefix.size()))) {
        periods.insert(std::move(period));
      }
    }
  }
  return periods;
}

// ---------------------------------------------------------------------------------------------
// Complaints.

absl::StatusOr<std::vector<Contribution>> ComplaintEventContributions(
    const cv1::ComplaintEvent& event, const UnitInfo& holder, const UnitInfo* previous,
    const HolidayCalendar& calendar) {
  FieldViolations v;
  if (event.event_id().empty()) v.Add("event_id", "required");
  if (event.complaint_id().empty()) v.Add("complaint_id", "required");
  if (!event.has_time()) v.Add("time", "required");
  if (!event.has_file_time()) v.Add("file_time", "required");
  const std::string& action = event.action();
  const bool rate = action == "RateComplaint";
  if (rate && (event.rating() < 1 || event.rating() > 5)) {
    v.Add("rating", absl::StrCat("must be 1..5, got ", event.rating()));
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("complaint event"));

  const absl::Time at = FromProto(event.time());
  const absl::Time filed = FromProto(event.file_time());
  const common::v1::TimeZone zone = ZoneFor(event, holder);
  const std::string key = absl::StrCat("complaint-event:", event.event_id());

  std::vector<Increment> flow;  // on Buckets(holder, at)
  int64_t open_delta = 0;       // on Buckets(holder, filed)
  std::vector<Contribution> extra;

  auto working_days = [&]() -> absl::StatusOr<int64_t> {
    if (at < filed) return int64_t{0};
    SIMPUL_ASSIGN_OR_RETURN(WorkingDayCount n, calendar.WorkingDaysBetween(filed, at, zone));
    return n.days;
  };

  if (action == "FileComplaint") {
    AddInc(flow, "c.recv", 1);
    AddInc(flow, absl::StrCat("c.ch.", EnumSuffix(cv1::Channel_Name(event.channel()), "CHANNEL_")),
           1);
    AddInc(flow,
           absl::StrCat("c.type.",
                        EnumSuffix(cv1::ReportType_Name(event.report_type()), "REPORT_TYPE_")),
           1);
    open_delta += 1;
  } else if (action == "PostFollowUp") {
    SIMPUL_ASSIGN_OR_RETURN(int64_t days, working_days());
    Contribution first;
    first.dedup_key = absl::StrCat("complaint-first-response:", event.complaint_id());
    first.buckets = Buckets(holder, at);
    AddInc(first.increments, absl::StrCat("c.fr.h.", HistogramBucket(kWorkingDayBounds, days)), 1);
    extra.push_back(std::move(first));
  } else if (action == "CompleteComplaint" || action == "AutoComplete") {
    open_delta -= 1;
    SIMPUL_ASSIGN_OR_RETURN(int64_t days, working_days());
    Contribution resolved;
    resolved.dedup_key = absl::StrCat("complaint-resolved:", event.complaint_id());
    resolved.buckets = Buckets(holder, at);
    AddInc(resolved.increments, "c.resolved", 1);
    if (!event.deadline_missed()) AddInc(resolved.increments, "c.resolved_ontime", 1);
    AddInc(resolved.increments, absl::StrCat("c.done.h.", HistogramBucket(kWorkingDayBounds, days)),
           1);
    extra.push_back(std::move(resolved));
  } else if (action == "ReopenComplaint") {
    open_delta += 1;
    AddInc(flow, "c.reopened", 1);
  } else if (action == "ArchiveComplaint" || action == "AutoArchive") {
    open_delta -= 1;
    AddInc(flow, "c.archived", 1);
  } else if (action == "Escalate" || action == "EscalateComplaint") {
    AddInc(flow, "c.esc", 1);
  } else if (rate) {
    AddInc(flow, "c.rating.sum", event.rating());
    AddInc(flow, "c.rating.n", 1);
  }

  std::vector<Contribution> out;
  const std::vector<std::string> flow_buckets = Buckets(holder, at);
  const std::vector<std::string> open_buckets = Buckets(holder, filed);
  Contribution main{key, flow_buckets, std::move(flow)};
  if (open_delta != 0) {
    if (open_buckets == flow_buckets) {
      AddInc(main.increments, "c.open", open_delta);
    } else {
      out.push_back(Contribution{
          absl::StrCat(key, ":open"), open_buckets, {Increment{"c.open", open_delta}}});
    }
  }
  if (!main.increments.empty()) out.insert(out.begin(), std::move(main));
  if (previous != nullptr) {
    // The open count moves from the previous holder to the new one (shared scopes net zero).
    Contribution from{absl::StrCat(key, ":moved-from"),
                      BucketsExcept(*previous, &holder, filed),
                      {Increment{"c.open", -1}}};
    Contribution to{absl::StrCat(key, ":moved-to"),
                    BucketsExcept(holder, previous, filed),
                    {Increment{"c.open", 1}}};
    if (!from.buckets.empty()) out.push_back(std::move(from));
    if (!to.buckets.empty()) out.push_back(std::move(to));
  }
  for (Contribution& c : extra) out.push_back(std::move(c));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Figures.

std::optional<int64_t> ShareHundredths(int64_t num, int64_t den) {
  if (den <= 0) return std::nullopt;
  const __int128 scaled = static_cast<__int128>(num) * 10000;
  // half up for non-negative values
  return static_cast<int64_t>((2 * scaled + den) / (2 * static_cast<__int128>(den)));
}

std::optional<int64_t> AverageHundredths(int64_t num, int64_t den) {
  if (den <= 0) return std::nullopt;
  const __int128 scaled = static_cast<__int128>(num) * 100;
  return static_cast<int64_t>((2 * scaled + den) / (2 * static_cast<__int128>(den)));
}

namespace {

absl::StatusOr<SurveyTally> TallyFrom(const SurveyCounts& counts) {
  std::array<ElementTally, kElementCount> elements;
  for (int i = 0; i < kElementCount; ++i) {
    elements[i].sum = counts[1 + 2 * i];
    elements[i].answered = counts[2 + 2 * i];
  }
  return SurveyTally::FromCounts(counts[0], elements);
}

absl::StatusOr<SurveyTally> TallyFrom(const Counters& counters) {
  return TallyFrom(SurveyCountsOf(counters));
}

std::string OptionalHundredths(std::optional<int64_t> h) {
  return h.has_value() ? Hundredths(*h) : std::string();
}

}  // namespace

absl::StatusOr<v1::SurveyFigures> SurveyFiguresFrom(const Counters& counters, int64_t population,
                                                    const IkmRules& rules) {
  SIMPUL_ASSIGN_OR_RETURN(SurveyTally tally, TallyFrom(counters));
  SIMPUL_ASSIGN_OR_RETURN(SampleCheck sample, CheckSample(tally.responses(), population));
  v1::SurveyFigures f;
  f.set_respondents(tally.responses());
  f.set_population(sample.population);
  f.set_minimum_sample(sample.minimum);
  f.set_under_sampled(sample.under_sampled);
  f.set_voided(Get(counters, "s.void"));
  if (tally.responses() == 0) return f;
  SIMPUL_ASSIGN_OR_RETURN(IkmResult r, ComputeIkm(tally, rules));
  f.set_ikm(r.ikm_text);
  f.set_grade(std::string(GradeLetter(r.grade)));
  f.set_grade_label(r.grade_label);
  for (int i = 0; i < kElementCount; ++i) {
    v1::ElementFigure* e = f.add_elements();
    e->set_element(absl::StrCat("U", i + 1));
    e->set_respondents(r.elements[i].answered);
    if (r.elements[i].answered > 0) {
      e->set_nrr(r.elements[i].nrr.ToString());
      e->set_ikm(r.elements[i].ikm.ToString());
    }
  }
  for (int n : r.unanswered_elements) f.add_unanswered_elements(absl::StrCat("U", n));
  return f;
}

v1::DeliveryFigures DeliveryFiguresFrom(const Counters& counters) {
  v1::DeliveryFigures f;
  f.set_received(Get(counters, "d.recv"));
  f.set_completed(Get(counters, "d.done"));
  f.set_completed_on_time(Get(counters, "d.ontime"));
  f.set_received_not_applicable(Get(counters, "d.na.recv"));
  f.set_completed_not_applicable(Get(counters, "d.na.done"));
  f.set_on_time_share(OptionalHundredths(
      ShareHundredths(f.completed_on_time(), f.completed() - f.completed_not_applicable())));
  f.set_median_minutes(HistogramQuantile(counters, "d.h.", kDeliveryMinuteBounds, 50));
  f.set_p90_minutes(HistogramQuantile(counters, "d.h.", kDeliveryMinuteBounds, 90));
  f.set_open(Get(counters, "d.open"));
  f.set_open_overdue(Get(counters, "d.overdue"));
  f.set_voided(Get(counters, "d.void"));
  constexpr std::string_view kJudged = "d.vd.";
  for (auto it = counters.lower_bound(kJudged);
       it != counters.end() && it->first.compare(0, kJudged.size(), kJudged) == 0; ++it) {
    if (it->second == 0) continue;
    v1::JudgedBy* j = f.add_judged_by();
    j->set_standard_version_id(it->first.substr(kJudged.size()));
    j->set_completed(it->second);
    j->set_completed_on_time(Get(counters, absl::StrCat("d.vo.", j->standard_version_id())));
  }
  return f;
}

v1::ComplaintFigures ComplaintFiguresFrom(const Counters& counters) {
  v1::ComplaintFigures f;
  f.set_received(Get(counters, "c.recv"));
  auto fill = [&](std::string_view prefix, google::protobuf::Map<std::string, int64_t>& map) {
    for (auto it = counters.lower_bound(prefix);
         it != counters.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (it->second != 0) map[it->first.substr(prefix.size())] = it->second;
    }
  };
  fill("c.ch.", *f.mutable_by_channel());
  fill("c.type.", *f.mutable_by_type());
  f.set_resolved(Get(counters, "c.resolved"));
  f.set_resolved_on_time(Get(counters, "c.resolved_ontime"));
  f.set_resolved_on_time_share(
      OptionalHundredths(ShareHundredths(f.resolved_on_time(), f.resolved())));
  f.set_median_working_days_to_first_response(
      HistogramQuantile(counters, "c.fr.h.", kWorkingDayBounds, 50));
  f.set_median_working_days_to_completion(
      HistogramQuantile(counters, "c.done.h.", kWorkingDayBounds, 50));
  f.set_escalations(Get(counters, "c.esc"));
  f.set_ratings(Get(counters, "c.rating.n"));
  f.set_average_rating(
      OptionalHundredths(AverageHundredths(Get(counters, "c.rating.sum"), f.ratings())));
  f.set_open_backlog(Get(counters, "c.open"));
  return f;
}

std::optional<int64_t> MetricValue(v1::Metric metric, const Counters& counters) {
  switch (metric) {
    case v1::METRIC_IKM:
      return IkmValue(SurveyCountsOf(counters));
    case v1::METRIC_DELIVERY_ON_TIME_SHARE:
      return ShareHundredths(Get(counters, "d.ontime"),
                             Get(counters, "d.done") - Get(counters, "d.na.done"));
    case v1::METRIC_COMPLAINTS_RESOLVED_ON_TIME_SHARE:
      return ShareHundredths(Get(counters, "c.resolved_ontime"), Get(counters, "c.resolved"));
    case v1::METRIC_COMPLAINTS_RECEIVED: {
      const int64_t n = Get(counters, "c.recv");
      if (n == 0) return std::nullopt;
      return n * 100;
    }
    case v1::METRIC_AVERAGE_RATING:
      return AverageHundredths(Get(counters, "c.rating.sum"), Get(counters, "c.rating.n"));
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> IkmValue(const SurveyCounts& counts) {
  static const IkmRules* const rules = new IkmRules(IkmRules::PermenPanRb14Of2017());
  absl::StatusOr<SurveyTally> tally = TallyFrom(counts);
  if (!tally.ok() || tally->responses() == 0) return std::nullopt;
  absl::StatusOr<int64_t> ikm = IkmHundredths(*tally, *rules);
  if (!ikm.ok()) return std::nullopt;
  return *ikm;
}

std::string RankingName(std::string_view bucket, v1::Metric metric) {
  return absl::StrCat(AbslView(bucket), "|", EnumSuffix(v1::Metric_Name(metric), "METRIC_"));
}

std::vector<RankUpdate> RankUpdatesFor(const UnitInfo& unit,
                                       const std::vector<std::string>& periods,
                                       const std::vector<std::pair<v1::Metric, int64_t>>& values) {
  std::vector<RankUpdate> out;
  if (unit.unit_id.empty() || unit.sandbox) return out;
  std::vector<std::string> parents;
  for (const std::string& s : ScopeKeys(unit)) {
    if (s.rfind("u:", 0) != 0) parents.push_back(s);
  }
  for (const std::string& p : periods) {
    for (const auto& [metric, value] : values) {
      RankUpdate u;
      u.unit_id = unit.unit_id;
      u.value = value;
      for (const std::string& s : parents)
        u.rankings.push_back(RankingName(BucketKey(s, p), metric));
      out.push_back(std::move(u));
    }
  }
  return out;
}

}  // namespace simpul::monitoring
