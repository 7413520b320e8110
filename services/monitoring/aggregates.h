// Aggregation rules of simpul-monitoring, pure (no Redis, no gRPC server): which buckets an
// input belongs to, the Contribution (counter increments, see store.h) of each input, and the
// figures of a bucket computed from its counters.
//
// SCOPES AND PERIODS
//   Scope keys: "u:<unit>", "a:<agency>", "r:<region prefix>" for every Kemendagri level of
//   the unit's region code ("32", "32.71", ...), and "n" (national). Period keys are the
//   calendar periods of an instant IN THE LOCAL TIME ZONE OF THE UNIT THE INPUT BELONGS TO
//   (UnitInfo::time_zone: WIB UTC+7, WITA UTC+8, WIT UTC+9; WIB when unspecified, e.g. an
//   agency-level complaint holder): "2026-M03", "2026-Q1", "2026-S1", "2026-Y". A bucket is
//   "<scope>|<period>"; an input counts in every scope × every period of its instant (stored
//   in the month buckets, see MONTH BUCKETS ONLY), with the
//   SAME period keys for every scope: a unit's month is its local month, and a region's or the
//   nation's "2026-M03" is the sum of its units' local Marches (a WIT unit's survey at
//   2026-03-31T15:30Z, 00:30 WIT on April 1, is April for the unit, its agency, its regions and
//   "n"; a WIB unit's at the same instant, 22:30 WIB on March 31, is March for all of them).
//   Buckets written before this rule (all in WIB periods) stay as they are: no migration.
//
// MONTH BUCKETS ONLY (issue #18)
//   Only month buckets are stored: Buckets(unit, t) is ScopeKeys(unit) × the month of t, one
//   bucket per scope (5 for a unit with a regency code such as "32.71") instead of four. A
//   quarter, semester or year bucket is READ as the sum of its months (ReadBuckets,
//   MonthKeysOf): every counter is additive (counts, sums, histogram counts, open counts), so
//   the sum is exactly what a bucket of the longer period would hold. Rankings are still kept
//   per month, quarter, semester and year (RankUpdatesFor): a unit's value for a longer period
//   is computed from the sum of its months whenever its figures change. Until December 2026
//   every input also went to quarter, semester and year buckets; those are no longer read, and
//   the months beside them always held the same inputs, so nothing needs migrating (they may be
//   deleted).
//
// SANDBOX (issue #15)
//   A unit IN SANDBOX (UnitInfo::sandbox: the registry flags it or its agency as created for
//   testing, clients/registry/router.h Route::sandbox) has only the scopes "u:<unit>" and
//   "a:<agency>": no "r:" scope and no "n", so its inputs never reach a region's or the
//   nation's figures, and RankUpdatesFor gives it no ranking at all (not even its agency's).
//   The flag is read when an input is recorded and applies to the inputs recorded while it is
//   set: inputs counted before a flip stay where they were counted, so a test agency or unit
//   should be flagged when it is created. Known limit: an application or complaint opened
//   before a flip and closed after it closes its open count (d.open, d.overdue, c.open) in the
//   scopes it has at the close only, so a region or the nation keeps an open count nobody
//   closes (flip into sandbox) or loses one it never had (flip out); a unit flipped into
//   sandbox keeps the ranking entries it already had, and one flipped out is ranked, from its
//   next input, by its unit figures, which include what it recorded in sandbox. Standards
//   records (standards.h) are state, not flows, and move exactly with a flip.
//
// READING "TODAY" (which periods exist yet; the standards' review-due day)
//   A unit scope uses its own zone. Agency, region and national scopes accept a period once it
//   has begun in WIT (UTC+9, the easternmost zone: its units' data may already be there) and
//   count standards' review-due days against today in WIB (the national convention).
//
// COUNTERS (field names in a bucket)
//   Survey    s.n (responses); s.u<i>.sum, s.u<i>.n (i = 1..9: sum of answers / respondents
//             answering element U<i>); skipped elements (answer 0) add nothing.
//   Voids     s.void (survey responses voided), d.void (applications voided); see VOIDS.
//   Delivery  d.recv, d.done, d.ontime, d.open, d.overdue, d.h.<k> (completion-time histogram,
//             bucket k of kDeliveryMinuteBounds); d.na.recv, d.na.done (of d.recv, d.done: not
//             applicable, no promise in force); unit buckets only: d.vd.<version id>,
//             d.vo.<version id> (completions and on-time completions judged by that version).
//   Complaint c.recv, c.ch.<CHANNEL>, c.type.<TYPE> (enum names without prefix, e.g. c.ch.SMS,
//             c.type.COMPLAINT), c.open, c.resolved, c.resolved_ontime, c.archived, c.esc,
//             c.reopened, c.rating.sum, c.rating.n, c.fr.h.<k>, c.done.h.<k> (working-day
//             histograms, bucket k of kWorkingDayBounds).
//
// VOIDS (MonitoringDesk::VoidInputs; store.h INPUT LEDGERS)
//   Every contribution of a survey response or a delivery carries the input's ledger, so the
//   store keeps exactly what it applied for that input. A void applies, for each of them, the
//   same increments negated on the same buckets (dedup "void:<its dedup key>"), whichever
//   rule, unit, region or zone produced them, and dequeues an open application; then marks
//   "voided:<ledger>": s.void +1 on the response's buckets, or d.void +1 on the application's
//   receipt (T1) buckets. Every other counter is back at its value before the input.
//
// WHICH PERIOD A COUNT BELONGS TO
//   Flow counts (received, completed, resolved, ratings, escalations, ...) go to the periods
//   of the instant they happened. Open counts (d.open, d.overdue, c.open) always go to the
//   periods of the instant the application was received / the complaint was filed, so that a
//   close always lands on the buckets its open landed on: "open in 2026-M03" means "received
//   in March and still open", never negative. An input whose two parts land on different
//   buckets yields two contributions (dedup keys differ by a suffix); each is idempotent.
//
// DELIVERY RULES (dedup keys use the application id, so a receipt or completion reported
// twice, even under different idempotency keys, counts once)
//   received   "delivery:<unit>:<app>:received"  on T1 buckets: d.recv +1, d.open +1.
//   overdue    "delivery:<unit>:<app>:overdue"   on T1 buckets: d.open -1, d.overdue +1
//              (the contribution the store's open sweep applies when the promise passes).
//   completed  "delivery:<unit>:<app>:completed" on T2 buckets: d.done +1, d.ontime +1 when
//              T2 is not after the promised time (second resolution, Deadline::Missed),
//              d.h.<k> +1 for the duration in minutes (rounded up);
//              "delivery:<unit>:<app>:closed" on T1 buckets: d.open -1, or d.overdue -1 when
//              the sweep had already moved it to overdue. The caller builds both variants
//              and the store's RemoveOpen applies the right one atomically.
//              When T1 and T2 buckets are equal the two are merged under the "completed" key.
//              "delivery:<unit>:<app>:judged" on the UNIT's T2 buckets only ("u:<unit>|..."):
//              d.vd.<version id> +1, d.vo.<version id> +1 when on time: which standard
//              version judged the completion (DeliveryFigures.judged_by). Kept out of the
//              agency, region and national buckets, which would hold one field per version.
//   judged by  the standard version in force at T1 (clients/registry/router.h StandardTerms,
//              StandardInForceAt): its promised completion time gives the promised time.
//   not applicable   no version with a promised completion time was in force at T1 (the
//              service has no adopted standard, its standard promises no time, or T1 is before
//              the first effective date): the application counts for volume only.
//              "received" on T1 buckets: d.recv +1, d.na.recv +1 (no d.open, never overdue);
//              "completed" on T2 buckets: d.done +1, d.na.done +1, d.h.<k> +1 (its duration is
//              a real service time, so the minutes figures include it); no d.ontime, nothing
//              closed. The on-time share is d.ontime / (d.done - d.na.done).
//
// COMPLAINT RULES (one ComplaintEvent per state change; dedup "complaint-event:<event id>")
//   The holder (UnitInfo of the event's agency/unit, as the caller resolves it) gets the counts.
//   FileComplaint       c.recv, c.ch.<CHANNEL>, c.type.<TYPE> +1 (event time); c.open +1.
//   PostFollowUp        first response: a separate contribution with dedup key
//                       "complaint-first-response:<complaint id>" on the event-time buckets:
//                       c.fr.h.<k> +1 for the working days from filing to this follow-up. The
//                       store applies a dedup key once, so only the case's first follow-up
//                       counts (events of one case arrive in sequence order).
//   CompleteComplaint / AutoComplete
//                       c.open -1. The first resolution of the case (dedup
//                       "complaint-resolved:<complaint id>", event-time buckets) adds
//                       c.resolved +1, c.resolved_ontime +1 unless deadline_missed, c.done.h.<k>
//                       +1 (working days from filing to completion). A completion after a
//                       reopening only closes the case again (c.open -1).
//   ReopenComplaint     c.open +1, c.reopened +1. c.resolved is NOT decremented: "resolved"
//                       counts cases resolved at least once, judged on their first resolution.
//                       (Decrementing would need to know whether the undone completion was on
//                       time, which the reopen event does not carry; shares could pass 100%.)
//   ArchiveComplaint / AutoArchive   c.open -1, c.archived +1.
//   Escalate / EscalateComplaint     c.esc +1.
//   RateComplaint       c.rating.sum += rating (1..5), c.rating.n +1.
//   Change of holder    when the caller passes `previous` (the holder before the event, e.g.
//                       from event.previous_agency_id() on ForwardComplaint, or an empty
//                       UnitInfo when RouteComplaint routes an unrouted case), the open count
//                       moves: c.open -1 on the previous holder's filing-time buckets, +1 on
//                       the new holder's (buckets both share, e.g. "n|2026-M03", are left
//                       untouched; holders in different zones may put a shared scope's
//                       filing time in different periods, and then that scope moves too).
//   Anything else (VerifyComplaint, DisposeComplaint, StartWork, ReplyToComplaint, ...) adds
//   nothing. Periods are the holder's local ones (SCOPES AND PERIODS: UnitInfo::time_zone),
//   so a case's close lands on the buckets its filing did while it stays with one holder.
//   Working days are counted in the event's time zone (else the holder's, else WIB)
//   with HolidayCalendar::WorkingDaysBetween. c.open increments use the filing-time buckets:
//   merged into the event's contribution when those equal the event-time buckets, else under
//   "complaint-event:<event id>:open"; moves use ":moved-from" / ":moved-to".
//
// FIGURES
//   Shares and averages are exact integer arithmetic rounded once, half up, to 2 decimals;
//   empty strings when the denominator is 0. Medians and p90 come from histograms and are
//   bucket ESTIMATES: the upper bound of the bucket holding the nearest-rank quantile (the
//   last bound for the open-ended overflow bucket, which is then a lower bound); 0 without data.
#ifndef SIMPUL_SERVICES_MONITORING_AGGREGATES_H_
#define SIMPUL_SERVICES_MONITORING_AGGREGATES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/calendar.h"
#include "common/status.h"
#include "services/monitoring/ikm.h"
#include "services/monitoring/store.h"
#include "simpul/common/v1/common.pb.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/monitoring/v1/monitoring.pb.h"

namespace simpul::monitoring {

// ---------------------------------------------------------------------------------------------
// Scopes and periods.

struct UnitInfo {
  std::string unit_id;      // empty: not known (e.g. an unrouted complaint); no "u:" scope
  std::string agency_id;    // empty: no "a:" scope
  std::string region_code;  // Kemendagri code; empty or invalid: no "r:" scopes
  common::v1::TimeZone time_zone = common::v1::TIME_ZONE_UNSPECIFIED;
  // In sandbox (see SANDBOX): only the unit and agency scopes, no ranking.
  bool sandbox = false;
};

// ScopeKeys: "u:<unit>", "a:<agency>", "r:<prefix>" per region level (shortest first), "n";
// only "u:<unit>" and "a:<agency>" for a unit in sandbox.
std::vector<std::string> ScopeKeys(const UnitInfo& unit);
// ScopeKey validates a requested scope: unit_id/agency_id must be slugs, region_code_prefix
// a valid region code, national true; INVALID_ARGUMENT naming "<field>.<member>" (or
// "<field>" when no member is set).
absl::StatusOr<std::string> ScopeKey(const v1::Scope& scope, std::string_view field = "scope");

// PeriodKeys: month, quarter, semester and year keys of the date of `t` in `zone` (WIB for
// UNSPECIFIED).
std::vector<std::string> PeriodKeys(absl::Time t, common::v1::TimeZone zone);
// ZoneName is "WIB", "WITA" or "WIT" (WIB for UNSPECIFIED), as PeriodKeys reads the zone.
std::string ZoneName(common::v1::TimeZone zone);
// PeriodKey validates a requested period (kind set, year 2000..9999, index in range, the
// period not starting after the date of `now` in `zone`) and returns its key. INVALID_ARGUMENT
// naming "<field>.kind", "<field>.year", "<field>.index" or "<field>" (future).
absl::StatusOr<std::string> PeriodKey(const v1::Period& period, absl::Time now,
                                      std::string_view field = "period",
                                      common::v1::TimeZone zone = common::v1::TIME_ZONE_WIB);
// NextPeriod is the period after a valid one, of the same kind (a year's index becomes 1).
v1::Period NextPeriod(const v1::Period& period);

// BucketKey is "<scope>|<period>".
std::string BucketKey(std::string_view scope, std::string_view period);
// Buckets is every ScopeKeys(unit) × the month key of `t` in unit.time_zone (the first of
// PeriodKeys), scope-major: the buckets an input at `t` is stored in (MONTH BUCKETS ONLY).
std::vector<std::string> Buckets(const UnitInfo& unit, absl::Time t);
// MonthKeysOf lists the month keys whose sum a period key reads as: "2026-Q1" is
// 2026-M01..M03, "2026-S2" M07..M12, "2026-Y" M01..M12; any other key (a month, "std") is
// read as itself.
std::vector<std::string> MonthKeysOf(std::string_view period_key);
// PeriodsOfMonth lists a month key with its quarter, semester and year keys ("2026-M05" →
// 2026-M05, 2026-Q2, 2026-S1, 2026-Y); any other key alone.
std::vector<std::string> PeriodsOfMonth(std::string_view month_key);
// ReadBuckets reads buckets "<scope>|<period>" of any period kind, in order, in one store
// round trip: a quarter, semester or year as the sum of its months' counters (each month read
// once however many of the buckets need it), any other bucket as stored.
absl::StatusOr<std::vector<Counters>> ReadBuckets(AggregateStore& store,
                                                  const std::vector<std::string>& buckets);
// ReadBucketFields is ReadBuckets of the named counters only (AggregateStore::ReadFields):
// each result holds those of `fields` that are not 0. For many buckets of which a few
// counters matter (the headline figures of every agency's year).
absl::StatusOr<std::vector<Counters>> ReadBucketFields(AggregateStore& store,
                                                       const std::vector<std::string>& buckets,
                                                       const std::vector<std::string>& fields);
// SurveyCounts are a bucket's survey counters: s.n, then s.u<i>.sum and s.u<i>.n for i = 1..9
// (SurveyCounterFields names them in that order).
inline constexpr int kSurveyCounters = 1 + 2 * kElementCount;
using SurveyCounts = std::array<int64_t, kSurveyCounters>;
const std::vector<std::string>& SurveyCounterFields();
SurveyCounts SurveyCountsOf(const Counters& counters);
// ReadSurveyCounts is ReadBuckets for the survey counters only, read with
// AggregateStore::ReadFields into arrays (no counter maps): what IKM rankings need.
absl::StatusOr<std::vector<SurveyCounts>> ReadSurveyCounts(AggregateStore& store,
                                                           const std::vector<std::string>& buckets);

// ---------------------------------------------------------------------------------------------
// Survey.

// SurveyResponseViolations adds every problem of `response` to `v`, each field prefixed with
// `prefix` (e.g. "responses[3]."): idempotency_key 8..128 of A-Z a-z 0-9 - _ : . ; unit_id
// required, and "unit_id: unknown unit" when `unit_known` is false; response_time required and
// not after `now`; answers exactly 9 values, each 0..4, at least one answered (ikm.h fields
// "answers.u1".."answers.u9").
void SurveyResponseViolations(const v1::SurveyResponse& response, bool unit_known, absl::Time now,
                              std::string_view prefix, FieldViolations& v);
// SurveyContribution validates (unit_known = unit != nullptr && unit->unit_id ==
// response.unit_id()) and returns dedup "survey:<unit>:<idempotency key>" on
// Buckets(*unit, response_time) with s.n +1 and s.u<i>.sum/.n per answered element.
absl::StatusOr<Contribution> SurveyContribution(const v1::SurveyResponse& response,
                                                const UnitInfo* unit, absl::Time now);

// ---------------------------------------------------------------------------------------------
// Delivery.

// PromiseUnit has the numbers of simpul.registry.v1.TimeUnit (convert with static_cast).
enum class PromiseUnit { kMinute = 1, kHour = 2, kWorkingDay = 3, kCalendarDay = 4 };
struct Promise {
  int64_t amount = 0;  // > 0
  PromiseUnit unit = PromiseUnit::kWorkingDay;
};
// PromisedTime is the last on-time instant of an application received at `received`:
// MINUTE/HOUR plain durations; WORKING_DAY HolidayCalendar::AddWorkingDays; CALENDAR_DAY
// AddCalendarDays (both end 23:59:59 local). INVALID_ARGUMENT for amount <= 0, an unknown
// unit, or what the calendar rejects (bad zone, too large).
absl::StatusOr<Deadline> PromisedTime(const HolidayCalendar& calendar, absl::Time received,
                                      const Promise& promise, common::v1::TimeZone zone);

// Completion-time histogram bounds in minutes (inclusive upper bounds; bucket k holds
// durations <= bound[k] and > bound[k-1]; k == size() is the overflow bucket).
inline constexpr std::array<int64_t, 20> kDeliveryMinuteBounds = {
    5,    15,    30,    60,    120,   240,   480,   1440,  2880,   4320,
    7200, 10080, 14400, 20160, 30240, 43200, 64800, 86400, 129600, 259200};
// Working-day histogram bounds for complaints (same convention).
inline constexpr std::array<int64_t, 22> kWorkingDayBounds = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 17, 20, 25, 30, 40, 50, 60, 90, 120};

// HistogramBucket is the index k of `value` for `bounds` (bounds.size() for overflow).
int HistogramBucket(std::span<const int64_t> bounds, int64_t value);
// HistogramQuantile reads counters "<prefix><k>" and returns the nearest-rank `percent`
// (1..100) quantile's bucket upper bound (see FIGURES); 0 when the histogram is empty.
int64_t HistogramQuantile(const Counters& counters, std::string_view prefix,
                          std::span<const int64_t> bounds, int percent);

// DeliveryViolations: idempotency_key as for surveys; application_id 1..128 characters
// without control characters; service_id required; received_time required and not after
// `now`; completed_time (when set) not after `now` and not before received_time.
void DeliveryViolations(const v1::Delivery& delivery, absl::Time now, std::string_view prefix,
                        FieldViolations& v);
// DeliveryOpenKey is the application's key for AggregateStore::AddOpen/RemoveOpen.
std::string DeliveryOpenKey(const UnitInfo& unit, std::string_view application_id);
// CheckKeyText adds a violation of `field` unless `text` is min..max characters of
// A-Z a-z 0-9 - _ : . (the idempotency-key alphabet; batch ids, keys named in a void).
void CheckKeyText(FieldViolations& v, const std::string& field, std::string_view text, size_t min,
                  size_t max);
// Input ledgers (VOIDS): "survey:<unit>:<idempotency key>" (also the response's dedup key) and
// "delivery:<unit>:<application>" (every contribution of the application).
std::string SurveyLedgerKey(std::string_view unit_id, std::string_view idempotency_key);
std::string DeliveryLedgerKey(const UnitInfo& unit, std::string_view application_id);
// DeliveryReceived: see DELIVERY RULES. Validates the delivery.
absl::StatusOr<Contribution> DeliveryReceived(const v1::Delivery& delivery, const UnitInfo& unit,
                                              absl::Time now);
// DeliveryReceivedNotApplicable / DeliveryCompletedNotApplicable: see DELIVERY RULES, "not
// applicable" (no open entry, no on-time judgement). Validate the delivery.
absl::StatusOr<Contribution> DeliveryReceivedNotApplicable(const v1::Delivery& delivery,
                                                           const UnitInfo& unit, absl::Time now);
absl::StatusOr<Contribution> DeliveryCompletedNotApplicable(const v1::Delivery& delivery,
                                                            const UnitInfo& unit, absl::Time now);
// DeliveryOverdue: see DELIVERY RULES (received_time required).
absl::StatusOr<Contribution> DeliveryOverdue(const v1::Delivery& delivery, const UnitInfo& unit);
// DeliveryCompleted: see DELIVERY RULES; completed_time required. One or two contributions,
// plus the "judged" one when `judged_by` (the id of the standard version whose promise gave
// `promised`) is not empty.
absl::StatusOr<std::vector<Contribution>> DeliveryCompleted(const v1::Delivery& delivery,
                                                            const UnitInfo& unit,
                                                            const Deadline& promised,
                                                            bool was_overdue, absl::Time now,
                                                            std::string_view judged_by = "");

// ---------------------------------------------------------------------------------------------
// Voids.

enum class InputKind { kSurvey, kDelivery };
// VoidReversal is what voiding an input applies (see VOIDS): per contribution of the ledger
// the same increments negated on the same buckets, dedup "void:<its dedup key>", then the
// marker. FAILED_PRECONDITION for a ledger with nothing applied, and for an application
// whose ledger has no receipt (received before input ledgers existed: not exactly voidable).
absl::StatusOr<std::vector<Contribution>> VoidReversal(const Ledger& ledger,
                                                       std::string_view ledger_key, InputKind kind);
// UnitPeriodsOf lists the period keys of the ledger's "u:<unit_id>|..." buckets, each month
// with its quarter, semester and year (PeriodsOfMonth): the rankings a void must refresh.
std::set<std::string> UnitPeriodsOf(const Ledger& ledger, std::string_view unit_id);

// ---------------------------------------------------------------------------------------------
// Complaints.

// ComplaintEventContributions: see COMPLAINT RULES. `holder` is the case's holder after the
// event; `previous` the holder before it when it changed (nullptr otherwise). Empty when the
// event counts nothing. INVALID_ARGUMENT without event_id, complaint_id, time or file_time,
// or for a rating outside 1..5 on RateComplaint.
absl::StatusOr<std::vector<Contribution>> ComplaintEventContributions(
    const complaints::v1::ComplaintEvent& event, const UnitInfo& holder, const UnitInfo* previous,
    const HolidayCalendar& calendar);

// ---------------------------------------------------------------------------------------------
// Figures.

// SurveyFiguresFrom: respondents, exact IKM and grade (ComputeIkm), elements, unanswered
// elements; population (pass d.done of the same bucket), Krejcie–Morgan minimum and the
// under-sampled flag. Without responses ikm/grade are empty. Errors: corrupt counters
// (SurveyTally::FromCounts), negative population.
absl::StatusOr<v1::SurveyFigures> SurveyFiguresFrom(
    const Counters& counters, int64_t population,
    const IkmRules& rules = IkmRules::PermenPanRb14Of2017());
v1::DeliveryFigures DeliveryFiguresFrom(const Counters& counters);
// by_channel / by_type are keyed by the enum name without prefix ("SMS", "COMPLAINT").
v1::ComplaintFigures ComplaintFiguresFrom(const Counters& counters);

// ShareHundredths is num/den as a percentage in hundredths, rounded half up (nullopt if
// den <= 0); AverageHundredths is num/den in hundredths, half up.
std::optional<int64_t> ShareHundredths(int64_t num, int64_t den);
std::optional<int64_t> AverageHundredths(int64_t num, int64_t den);

// MetricValue is a bucket's value of `metric` in hundredths (IKM 7917 = 79.17, shares in
// percent, received × 100, rating), nullopt without data or for METRIC_UNSPECIFIED.
std::optional<int64_t> MetricValue(v1::Metric metric, const Counters& counters);
// IkmValue is MetricValue(METRIC_IKM) of a bucket's survey counters.
std::optional<int64_t> IkmValue(const SurveyCounts& counts);
// RankingName is "<bucket>|<metric name without METRIC_>", e.g. "a:kota-bogor|2026-Q1|IKM".
std::string RankingName(std::string_view bucket, v1::Metric metric);
// RankUpdatesFor: for each period key and each (metric, value), the unit's value in the
// rankings of its agency, region-prefix and national scopes. Nothing for a unit without
// unit_id, nor for a unit in sandbox (it is ranked nowhere).
std::vector<RankUpdate> RankUpdatesFor(const UnitInfo& unit,
                                       const std::vector<std::string>& periods,
                                       const std::vector<std::pair<v1::Metric, int64_t>>& values);

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_AGGREGATES_H_
