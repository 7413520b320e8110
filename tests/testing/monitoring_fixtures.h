// Monitoring test data and builders shared by the unit and end-to-end tests of
// simpul-monitoring: WIB instants, scopes and periods, survey responses and deliveries, the four
// questionnaires whose IKM is computed by hand, and protobuf text parsing and comparison.
#ifndef SIMPUL_TESTS_TESTING_MONITORING_FIXTURES_H_
#define SIMPUL_TESTS_TESTING_MONITORING_FIXTURES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "simpul/monitoring/v1/monitoring.pb.h"

namespace simpul::testing {

namespace mv1 = ::simpul::monitoring::v1;

// Wib is the fixed UTC+7 zone of the monitoring periods.
inline const absl::TimeZone& Wib() {
  static const absl::TimeZone* zone = new absl::TimeZone(absl::FixedTimeZone(7 * 3600));
  return *zone;
}
// WibTime is a WIB wall-clock instant.
inline absl::Time WibTime(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), Wib());
}
// Ts is `t` in whole seconds.
inline google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

inline mv1::Period Period(mv1::PeriodKind kind, int year, int index) {
  mv1::Period p;
  p.set_kind(kind);
  p.set_year(year);
  p.set_index(index);
  return p;
}
inline mv1::Period Month(int y, int m) { return Period(mv1::PERIOD_KIND_MONTH, y, m); }
inline mv1::Period Quarter(int y, int q) { return Period(mv1::PERIOD_KIND_QUARTER, y, q); }
inline mv1::Period Semester(int y, int s) { return Period(mv1::PERIOD_KIND_SEMESTER, y, s); }
inline mv1::Period Year(int y) { return Period(mv1::PERIOD_KIND_YEAR, y, 1); }
// MonthOf / YearOf: the WIB month / year of an instant.
inline mv1::Period MonthOf(absl::Time t) {
  const absl::CivilDay d = absl::ToCivilDay(t, Wib());
  return Month(static_cast<int>(d.year()), d.month());
}
inline mv1::Period YearOf(absl::Time t) {
  return Year(static_cast<int>(absl::ToCivilDay(t, Wib()).year()));
}

inline mv1::Scope UnitScope(const std::string& id) {
  mv1::Scope s;
  s.set_unit_id(id);
  return s;
}
inline mv1::Scope AgencyScope(const std::string& id) {
  mv1::Scope s;
  s.set_agency_id(id);
  return s;
}
inline mv1::Scope RegionScope(const std::string& prefix) {
  mv1::Scope s;
  s.set_region_code_prefix(prefix);
  return s;
}
inline mv1::Scope National() {
  mv1::Scope s;
  s.set_national(true);
  return s;
}
// Describe names a scope and period in failure messages.
inline std::string Describe(const mv1::Scope& scope, const mv1::Period& period) {
  return absl::StrCat(scope.ShortDebugString(), " / ", period.ShortDebugString());
}

// Response is one questionnaire (U1..U9 answered 1..4; 0 = skipped).
inline mv1::SurveyResponse Response(const std::string& key, const std::string& unit, absl::Time t,
                                    const std::vector<int>& answers) {
  mv1::SurveyResponse r;
  r.set_idempotency_key(key);
  r.set_unit_id(unit);
  *r.mutable_response_time() = Ts(t);
  for (int a : answers) r.add_answers(a);
  return r;
}
// Delivery is an application received (and completed unless `completed` is nullopt).
inline mv1::Delivery Delivery(const std::string& key, const std::string& app,
                              const std::string& service, absl::Time received,
                              std::optional<absl::Time> completed) {
  mv1::Delivery d;
  d.set_idempotency_key(key);
  d.set_application_id(app);
  d.set_service_id(service);
  *d.mutable_received_time() = Ts(received);
  if (completed) *d.mutable_completed_time() = Ts(*completed);
  return d;
}

// Parse reads a message from protobuf text format (a test failure when it cannot).
template <typename M>
M Parse(const std::string& text) {
  M m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}
// Diff is empty when the messages are equal, else what differs.
inline std::string Diff(const google::protobuf::Message& want,
                        const google::protobuf::Message& got) {
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  if (d.Compare(want, got)) return "";
  return diff.empty() ? "differs" : diff;
}

// kSurveyAnswers are four questionnaires (U1..U9; 0 = skipped) whose figures are computed by
// hand in kHandComputedSurvey.
inline const std::vector<std::vector<int>> kSurveyAnswers = {
    {4, 4, 4, 4, 4, 4, 4, 4, 4},
    {3, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 3, 2, 0, 4, 3, 4, 3, 4},  // U4 (fee) skipped
    {2, 2, 3, 4, 3, 4, 3, 4, 3},
};

// kHandComputedSurvey is the SurveyFigures of kSurveyAnswers, by hand (PermenPANRB 14/2017,
// w = 1/9):
//   element  answers       sum / answering  NRR_i          NRR_i × 25
//   U1       4 3 4 2       13 / 4           3.25           81.25
//   U2       4 3 3 2       12 / 4           3.00           75.00
//   U3       4 3 2 3       12 / 4           3.00           75.00
//   U4       4 3 - 4       11 / 3           3.6666…→3.67   91.666…→91.67
//   U5..U9   (each)        14 / 4           3.50           87.50
//   Σ NRR_i = 3.25 + 3 + 3 + 11/3 + 5 × 3.5 = 26.75 + 11/3 = 365/12
//   NRR = (365/12) / 9 = 365/108;  IKM = 25 × 365/108 = 9125/108 = 84.4907… → 84.49
//   84.49 is in 76.61–88.30: grade B, "baik". Respondents 4 (U4 answered by 3).
//   No deliveries: population 0, minimum sample 0, not under-sampled.
inline constexpr char kHandComputedSurvey[] = R"pb(
  respondents: 4
  ikm: "84.49"
  grade: "B"
  grade_label: "baik"
  elements { element: "U1" respondents: 4 nrr: "3.25" ikm: "81.25" }
  elements { element: "U2" respondents: 4 nrr: "3.00" ikm: "75.00" }
  elements { element: "U3" respondents: 4 nrr: "3.00" ikm: "75.00" }
  elements { element: "U4" respondents: 3 nrr: "3.67" ikm: "91.67" }
  elements { element: "U5" respondents: 4 nrr: "3.50" ikm: "87.50" }
  elements { element: "U6" respondents: 4 nrr: "3.50" ikm: "87.50" }
  elements { element: "U7" respondents: 4 nrr: "3.50" ikm: "87.50" }
  elements { element: "U8" respondents: 4 nrr: "3.50" ikm: "87.50" }
  elements { element: "U9" respondents: 4 nrr: "3.50" ikm: "87.50" }
  population: 0
  minimum_sample: 0
  under_sampled: false
)pb";

// HandComputedSurveyResponses are kSurveyAnswers for `unit` in February 2026 WIB (keys
// "skm-pp-2026-02-<i>"); the last is 00:30 WIB on 1 February, still 31 January in UTC.
inline std::vector<mv1::SurveyResponse> HandComputedSurveyResponses(const std::string& unit) {
  const std::vector<absl::Time> times = {WibTime(2026, 2, 10, 9, 0), WibTime(2026, 2, 11, 10, 0),
                                         WibTime(2026, 2, 27, 15, 30), WibTime(2026, 2, 1, 0, 30)};
  std::vector<mv1::SurveyResponse> batch;
  for (size_t i = 0; i < kSurveyAnswers.size(); ++i) {
    batch.push_back(
        Response(absl::StrCat("skm-pp-2026-02-", i), unit, times[i], kSurveyAnswers[i]));
  }
  return batch;
}

// IkmRankRequest ranks the units of `scope` by IKM in `period`, at most `limit`.
inline mv1::RankUnitsRequest IkmRankRequest(const mv1::Scope& scope, const mv1::Period& period,
                                            int limit) {
  mv1::RankUnitsRequest req;
  *req.mutable_scope() = scope;
  *req.mutable_period() = period;
  req.set_metric(mv1::METRIC_IKM);
  req.set_limit(limit);
  return req;
}

// MarchDeliveries are five applications of a service promised in 1 working day, in March 2026
// (2026 holidays). Received Thu 19 March (Nyepi): 20 March is collective leave, 21–22 the
// weekend, 23–24 collective leave, so the first working day after is Wed 25 March: promised by
// 2026-03-25 23:59:59 WIB. Received Mon 2 March: promised by Tue 3 March 23:59:59 WIB.
//   app    received            completed               minutes        on time
//   A1     19 Mar 10:00        25 Mar 15:00            8940           yes
//   A2     19 Mar 11:00        26 Mar 09:00            9960           no
//   A3      2 Mar 08:00         3 Mar 23:59:59         2399.98→2400   yes (the last second)
//   A4      2 Mar 08:00         4 Mar 00:00:00         2400           no
//   A5     10 Mar 09:00        open (promised 11 Mar 23:59:59)
inline std::vector<mv1::Delivery> MarchDeliveries(const std::string& service) {
  return {
      Delivery("dlv-a1-0001", "AKL/2026/0001", service, WibTime(2026, 3, 19, 10),
               WibTime(2026, 3, 25, 15)),
      Delivery("dlv-a2-0001", "AKL/2026/0002", service, WibTime(2026, 3, 19, 11),
               WibTime(2026, 3, 26, 9)),
      Delivery("dlv-a3-0001", "AKL/2026/0003", service, WibTime(2026, 3, 2, 8),
               WibTime(2026, 3, 3, 23, 59, 59)),
      Delivery("dlv-a4-0001", "AKL/2026/0004", service, WibTime(2026, 3, 2, 8),
               WibTime(2026, 3, 4)),
      Delivery("dlv-a5-0001", "AKL/2026/0005", service, WibTime(2026, 3, 10, 9), std::nullopt),
  };
}
// kMarchDeliveryFigures are the DeliveryFigures of MarchDeliveries once A5 was swept overdue:
// received 5, completed 4, on time 2 (50.00%); histogram buckets of 2400 (≤2880) twice, 8940
// and 9960 (≤10080): median (rank 2) 2880, p90 (rank 4) 10080.
inline constexpr char kMarchDeliveryFigures[] = R"pb(
  received: 5
  completed: 4
  completed_on_time: 2
  on_time_share: "50.00"
  median_minutes: 2880
  p90_minutes: 10080
  open: 0
  open_overdue: 1
)pb";

// HourDeliveries are two applications of a service promised in 2 hours, exactly:
//   C1 received Mon 6 April 2026 08:00, completed 10:00:00: on time (120 min, bucket ≤120)
//   C2 received Mon 6 April 2026 09:00, completed 11:00:01: late (120.02 → 121 min, ≤240)
inline std::vector<mv1::Delivery> HourDeliveries(const std::string& service) {
  return {
      Delivery("dlv-c1-0001", "PBG-1", service, WibTime(2026, 4, 6, 8), WibTime(2026, 4, 6, 10)),
      Delivery("dlv-c2-0001", "PBG-2", service, WibTime(2026, 4, 6, 9),
               WibTime(2026, 4, 6, 11, 0, 1))};
}
// kHourDeliveryFigures are the DeliveryFigures of HourDeliveries.
inline constexpr char kHourDeliveryFigures[] = R"pb(
  received: 2
  completed: 2
  completed_on_time: 1
  on_time_share: "50.00"
  median_minutes: 120
  p90_minutes: 240
)pb";

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_MONITORING_FIXTURES_H_
