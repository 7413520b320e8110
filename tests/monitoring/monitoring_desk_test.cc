// Unit tests of MonitoringDesk over the in-memory aggregate store, a fake router, the real 2026
// holiday calendar and a fake clock: survey responses (hand-computed IKM in every scope and
// period, idempotent and all-or-nothing batches, who may submit), deliveries (promised times
// over holidays and in hours, repeats, the overdue sweep, who may record), complaint events,
// rankings, time series and the argument errors of every read. No server and no Redis. The
// expected figures are computed by hand in the comments, never by the code under test.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/identity.h"
#include "common/metrics.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/monitoring/monitoring.h"
#include "tests/testing/fake_aggregate_store.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/identities.h"
#include "tests/testing/monitoring_fixtures.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace simpul::monitoring {
namespace {

namespace cv1 = ::simpul::complaints::v1;
using ::simpul::clients::registry::PromisedUnit;
using ::simpul::clients::registry::Route;
using ::simpul::testing::AgencyScope;
using ::simpul::testing::Delivery;
using ::simpul::testing::Describe;
using ::simpul::testing::Diff;
using ::simpul::testing::FakeAggregateStore;
using ::simpul::testing::FakeRouter;
using ::simpul::testing::HandComputedSurveyResponses;
using ::simpul::testing::HourDeliveries;
using ::simpul::testing::IkmRankRequest;
using ::simpul::testing::IsOk;
using ::simpul::testing::kHandComputedSurvey;
using ::simpul::testing::kHourDeliveryFigures;
using ::simpul::testing::kMarchDeliveryFigures;
using ::simpul::testing::kSurveyAnswers;
using ::simpul::testing::MarchDeliveries;
using ::simpul::testing::Month;
using ::simpul::testing::National;
using ::simpul::testing::Parse;
using ::simpul::testing::Period;
using ::simpul::testing::Quarter;
using ::simpul::testing::RegionScope;
using ::simpul::testing::Response;
using ::simpul::testing::Semester;
using ::simpul::testing::StatusIs;
using ::simpul::testing::Ts;
using ::simpul::testing::UnitScope;
using ::simpul::testing::WibTime;
using ::simpul::testing::Year;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kPp[] = "kab-padang-pariaman";  // REGENCY 13.05
constexpr char kPpUnit[] = "disdukcapil-kab-padang-pariaman";
constexpr char kPpUnit2[] = "dinkes-kab-padang-pariaman";
constexpr char kPpService[] = "akta-kelahiran";  // promised in 1 working day
constexpr char kBogor[] = "kota-bogor";          // CITY 32.71
constexpr char kBogorUnit[] = "dpmptsp-kota-bogor";
constexpr char kBogorService[] = "pbg-bogor";  // promised in 2 hours
constexpr char kParkir[] = "parkir-bogor";     // no adopted standard

Identity Public() { return Identity::Public(); }
Identity Root() { return simpul::testing::PlatformAdmin(); }
Identity Admin(const std::string& agency) { return simpul::testing::AgencyAdmin(agency); }
Identity Operator(const std::string& agency) { return simpul::testing::AgencyOperator(agency); }
Identity Kiosk() { return simpul::testing::ChannelCaller("skm-kiosk"); }
Identity Dashboard() { return simpul::testing::DashboardCaller(); }

v1::SubmitSurveyResponsesRequest Batch(const std::vector<v1::SurveyResponse>& responses) {
  v1::SubmitSurveyResponsesRequest req;
  for (const auto& r : responses) *req.add_responses() = r;
  return req;
}

v1::RecordDeliveriesRequest Deliveries(const std::vector<v1::Delivery>& deliveries) {
  v1::RecordDeliveriesRequest req;
  for (const auto& d : deliveries) *req.add_deliveries() = d;
  return req;
}

std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  const common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

class MonitoringDeskTest : public ::testing::Test {
 protected:
  // Monday 15 June 2026, 10:00 WIB.
  MonitoringDeskTest() : clock_(WibTime(2026, 6, 15, 10, 0, 0)) {}

  void SetUp() override {
    auto calendars = CalendarRegistry::Create(SIMPUL_HOLIDAYS_DIR);
    ASSERT_TRUE(calendars.ok()) << calendars.status();
    calendars_ = *std::move(calendars);

    Route pp = UnitRoute(kPpUnit, kPp, "13.05");
    router_.AddUnit(pp);
    router_.AddUnit(UnitRoute(kPpUnit2, kPp, "13.05"));
    router_.AddService(ServiceRoute(kPpService, pp, 1, PromisedUnit::kWorkingDay));
    Route bogor = UnitRoute(kBogorUnit, kBogor, "32.71");
    router_.AddUnit(bogor);
    router_.AddService(ServiceRoute(kBogorService, bogor, 2, PromisedUnit::kHour));
    router_.AddService(ServiceRoute(kParkir, bogor, 0, PromisedUnit::kNone));

    desk_ = NewDesk(MonitoringOptions{});
  }

  static Route UnitRoute(const std::string& unit, const std::string& agency,
                         const std::string& region) {
    Route r;
    r.unit_id = unit;
    r.agency_id = agency;
    r.region_code = region;
    r.time_zone = common::v1::TIME_ZONE_WIB;
    return r;
  }
  static Route ServiceRoute(const std::string& service, const Route& unit, int amount,
                            PromisedUnit promised) {
    Route r = unit;
    r.service_id = service;
    r.standard_version_id = absl::StrCat(service, ".v1");
    r.promised_amount = amount;
    r.promised_unit = promised;
    return r;
  }

  std::unique_ptr<MonitoringDesk> NewDesk(MonitoringOptions options) {
    return std::make_unique<MonitoringDesk>(store_, router_, *calendars_, clock_, options);
  }

  v1::SubmitSurveyResponsesResponse MustSubmit(const Identity& caller,
                                               const std::vector<v1::SurveyResponse>& responses) {
    auto resp = desk_->SubmitSurveyResponses(caller, Batch(responses));
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : v1::SubmitSurveyResponsesResponse{};
  }
  v1::RecordDeliveriesResponse MustRecord(const Identity& caller,
                                          const std::vector<v1::Delivery>& deliveries) {
    auto resp = desk_->RecordDeliveries(caller, Deliveries(deliveries));
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : v1::RecordDeliveriesResponse{};
  }
  // Figures reads the figures of a scope and period as the public.
  v1::Figures Figures(const v1::Scope& scope, const v1::Period& period) {
    v1::GetFiguresRequest req;
    *req.mutable_scope() = scope;
    *req.mutable_period() = period;
    auto resp = desk_->GetFigures(Public(), req);
    EXPECT_TRUE(resp.ok()) << resp.status() << " " << Describe(scope, period);
    return resp.ok() ? resp->figures() : v1::Figures{};
  }

  using Ranked = std::vector<std::pair<std::string, std::string>>;
  Ranked Rank(const v1::Scope& scope, const v1::Period& period, int limit, bool bottom = false,
              v1::Metric metric = v1::METRIC_IKM) {
    v1::RankUnitsRequest req;
    *req.mutable_scope() = scope;
    *req.mutable_period() = period;
    req.set_metric(metric);
    req.set_limit(limit);
    req.set_bottom(bottom);
    auto resp = desk_->RankUnits(Public(), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    Ranked out;
    if (resp.ok()) {
      for (const auto& u : resp->units()) out.emplace_back(u.unit_id(), u.value());
    }
    return out;
  }

  // Event builds a complaint event of case `id` held by `unit` of `agency`.
  static cv1::ComplaintEvent Event(const std::string& id, int sequence, const std::string& action,
                                   absl::Time at, absl::Time filed, const std::string& agency,
                                   const std::string& unit) {
    cv1::ComplaintEvent e;
    e.set_event_id(absl::StrCat(id, "/", sequence));
    e.set_complaint_id(id);
    e.set_sequence(sequence);
    e.set_action(action);
    *e.mutable_time() = Ts(at);
    *e.mutable_file_time() = Ts(filed);
    e.set_agency_id(agency);
    e.set_unit_id(unit);
    e.set_channel(cv1::CHANNEL_SMS);
    e.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
    e.set_time_zone(common::v1::TIME_ZONE_WIB);
    return e;
  }

  FakeAggregateStore store_;
  FakeRouter router_;
  std::unique_ptr<CalendarRegistry> calendars_;
  FakeClock clock_;
  std::unique_ptr<MonitoringDesk> desk_;
};

// ---------------------------------------------------------------------------------------------
// Survey responses

TEST_F(MonitoringDeskTest, SurveyFiguresMatchAHandComputedIkmInEveryScopeAndPeriod) {
  // February 2026 in WIB; the last one is 00:30 WIB on 1 February, still 31 January in UTC.
  const std::vector<v1::SurveyResponse> batch = HandComputedSurveyResponses(kPpUnit);
  v1::SubmitSurveyResponsesResponse first = MustSubmit(Admin(kPp), batch);
  EXPECT_EQ(first.applied(), 4);
  EXPECT_EQ(first.repeated(), 0);

  const auto want = Parse<v1::SurveyFigures>(kHandComputedSurvey);
  for (const auto& scope : {UnitScope(kPpUnit), AgencyScope(kPp), RegionScope("13"),
                            RegionScope("13.05"), National()}) {
    for (const auto& period : {Month(2026, 2), Quarter(2026, 1), Semester(2026, 1), Year(2026)}) {
      v1::Figures f = Figures(scope, period);
      EXPECT_EQ(Diff(want, f.survey()), "") << Describe(scope, period);
      EXPECT_EQ(Diff(scope, f.scope()), "");
      EXPECT_EQ(Diff(period, f.period()), "");
    }
  }
  // Nothing in January (WIB), nor in the other unit, agency or region.
  for (const auto& [scope, period] :
       {std::pair{UnitScope(kPpUnit), Month(2026, 1)}, std::pair{National(), Quarter(2026, 2)},
        std::pair{AgencyScope(kBogor), Year(2026)}, std::pair{RegionScope("32"), Year(2026)},
        std::pair{UnitScope(kPpUnit2), Year(2026)}}) {
    v1::SurveyFigures s = Figures(scope, period).survey();
    EXPECT_EQ(s.respondents(), 0) << Describe(scope, period);
    EXPECT_EQ(s.ikm(), "") << Describe(scope, period);
    EXPECT_EQ(s.grade(), "") << Describe(scope, period);
  }
}

TEST_F(MonitoringDeskTest, ASubmittedBatchAgainIsAllRepeatsAndChangesNothing) {
  std::vector<v1::SurveyResponse> batch;
  for (size_t i = 0; i < kSurveyAnswers.size(); ++i) {
    batch.push_back(Response(absl::StrCat("skm-repeat-", i), kPpUnit,
                             WibTime(2026, 3, 2 + static_cast<int>(i), 9), kSurveyAnswers[i]));
  }
  EXPECT_EQ(MustSubmit(Admin(kPp), batch).applied(), 4);
  // Another caller of the agency, and a kiosk: still the same responses.
  for (const Identity& caller : {Operator(kPp), Kiosk()}) {
    v1::SubmitSurveyResponsesResponse again = MustSubmit(caller, batch);
    EXPECT_EQ(again.applied(), 0);
    EXPECT_EQ(again.repeated(), 4);
  }
  EXPECT_EQ(Diff(Parse<v1::SurveyFigures>(kHandComputedSurvey),
                 Figures(AgencyScope(kPp), Month(2026, 3)).survey()),
            "");
}

TEST_F(MonitoringDeskTest, IdempotencyKeysAreScopedToTheUnit) {
  // The same key at two units is two responses; repeated within one batch, it counts once.
  const absl::Time at = WibTime(2026, 4, 7, 9);
  v1::SubmitSurveyResponsesResponse resp =
      MustSubmit(Admin(kPp), {Response("skm-shared-key", kPpUnit, at, kSurveyAnswers[0]),
                              Response("skm-shared-key", kPpUnit2, at, kSurveyAnswers[1]),
                              Response("skm-shared-key", kPpUnit, at, kSurveyAnswers[0])});
  EXPECT_EQ(resp.applied(), 2);
  EXPECT_EQ(resp.repeated(), 1);
  EXPECT_EQ(Figures(AgencyScope(kPp), Month(2026, 4)).survey().respondents(), 2);
  // All 4s and all 3s: U_i = 7/2 = 3.50 each, IKM 87.50.
  EXPECT_EQ(Figures(AgencyScope(kPp), Month(2026, 4)).survey().ikm(), "87.50");
  EXPECT_EQ(Figures(UnitScope(kPpUnit2), Month(2026, 4)).survey().ikm(), "75.00");
}

TEST_F(MonitoringDeskTest, ABadBatchIsRejectedWholeWithEveryBadFieldNamed) {
  const absl::Time at = WibTime(2026, 2, 10, 9);
  std::vector<v1::SurveyResponse> bad = {
      Response("skm-pp-good-one", kPpUnit, WibTime(2026, 6, 2, 10), kSurveyAnswers[0]),
      Response("skm-bad-answer", kPpUnit, at, {4, 4, 5, 4, 4, 4, 4, 4, 4}),
      Response("skm-bad-count", kPpUnit, at, {4, 4, 4, 4, 4, 4, 4, 4}),
      Response("skm-bad-unit", "no-such-unit", at, kSurveyAnswers[0]),
      Response("skm-bad-time", kPpUnit, clock_.Now() + absl::Hours(2), kSurveyAnswers[0]),
      Response("short", kPpUnit, at, kSurveyAnswers[0]),
      Response("skm-no-answer", kPpUnit, at, std::vector<int>(9, 0)),
  };
  absl::Status s = desk_->SubmitSurveyResponses(Admin(kPp), Batch(bad)).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(s),
              UnorderedElementsAre("responses[1].answers.u3", "responses[2].answers",
                                   "responses[3].unit_id", "responses[4].response_time",
                                   "responses[5].idempotency_key", "responses[6].answers"))
      << s;
  EXPECT_THAT(store_.Buckets(), IsEmpty());
  // The good response alone is new.
  EXPECT_EQ(MustSubmit(Admin(kPp), {bad[0]}).applied(), 1);
}

TEST_F(MonitoringDeskTest, BatchSizeIsBounded) {
  desk_ = NewDesk(MonitoringOptions{.max_batch = 2});
  const absl::Time at = WibTime(2026, 2, 10, 9);
  EXPECT_THAT(Fields(desk_->SubmitSurveyResponses(Admin(kPp), Batch({})).status()),
              ElementsAre("responses"));
  std::vector<v1::SurveyResponse> three;
  for (int i = 0; i < 3; ++i) {
    three.push_back(Response(absl::StrCat("skm-size-", i, "-key"), kPpUnit, at, kSurveyAnswers[0]));
  }
  absl::Status s = desk_->SubmitSurveyResponses(Admin(kPp), Batch(three)).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got 3")));
  EXPECT_THAT(Fields(s), ElementsAre("responses"));
  three.pop_back();
  EXPECT_EQ(MustSubmit(Admin(kPp), three).applied(), 2);
}

TEST_F(MonitoringDeskTest, WhoMaySubmitSurveyResponses) {
  auto submit = [&](const Identity& caller, const std::string& key) {
    v1::SurveyResponse r = Response(key, kPpUnit, WibTime(2026, 6, 1, 9), kSurveyAnswers[1]);
    return desk_->SubmitSurveyResponses(caller, Batch({r})).status();
  };
  EXPECT_THAT(submit(Public(), "skm-who-public"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(submit(Admin(kBogor), "skm-who-bogor"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(kPp)));
  EXPECT_THAT(submit(Operator(kBogor), "skm-who-bogor-op"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(submit(Dashboard(), "skm-who-dashboard"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 6)).survey().respondents(), 0);
  EXPECT_THAT(submit(Kiosk(), "skm-who-kiosk"), IsOk());
  EXPECT_THAT(submit(Root(), "skm-who-root"), IsOk());
  EXPECT_THAT(submit(Admin(kPp), "skm-who-admin"), IsOk());
  EXPECT_THAT(submit(Operator(kPp), "skm-who-operator"), IsOk());
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 6)).survey().respondents(), 4);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 6)).survey().ikm(), "75.00");
}

TEST_F(MonitoringDeskTest, ABatchReachingAnotherAgencysUnitIsDeniedWhole) {
  const absl::Time at = WibTime(2026, 5, 4, 9);
  absl::Status s =
      desk_
          ->SubmitSurveyResponses(
              Admin(kPp), Batch({Response("skm-mixed-pp", kPpUnit, at, kSurveyAnswers[0]),
                                 Response("skm-mixed-bogor", kBogorUnit, at, kSurveyAnswers[0])}))
          .status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(kBogor)));
  EXPECT_THAT(store_.Buckets(), IsEmpty());
}

TEST_F(MonitoringDeskTest, AChannelSubmitsSurveysOnlyForTheAgenciesAndUnitsItIsBoundTo) {
  using ::simpul::testing::ScopedChannelCaller;
  const absl::Time at = WibTime(2026, 5, 4, 9);
  const Identity pp_kiosk = ScopedChannelCaller("skm-kiosk-pp", {kPp});
  const Identity unit_kiosk = ScopedChannelCaller("skm-kiosk-dukcapil", {}, {kPpUnit});
  auto submit = [&](const Identity& caller, const std::string& key, const std::string& unit) {
    return desk_->SubmitSurveyResponses(caller, Batch({Response(key, unit, at, kSurveyAnswers[0])}))
        .status();
  };
  // Another agency's unit, or another unit of its agency for a unit-bound key: refused, and
  // a batch reaching one such unit is refused whole.
  EXPECT_THAT(submit(pp_kiosk, "skm-scope-1", kBogorUnit),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not bound to unit")));
  EXPECT_THAT(submit(unit_kiosk, "skm-scope-2", kPpUnit2),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(kPpUnit2)));
  EXPECT_THAT(desk_
                  ->SubmitSurveyResponses(
                      pp_kiosk, Batch({Response("skm-scope-3", kPpUnit, at, kSurveyAnswers[0]),
                                       Response("skm-scope-4", kBogorUnit, at, kSurveyAnswers[0])}))
                  .status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(store_.Buckets(), IsEmpty());
  // Within its scope it is fine.
  EXPECT_THAT(submit(pp_kiosk, "skm-scope-5", kPpUnit2), IsOk());
  EXPECT_THAT(submit(unit_kiosk, "skm-scope-6", kPpUnit), IsOk());
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 5)).survey().respondents(), 1);
  EXPECT_EQ(Figures(UnitScope(kPpUnit2), Month(2026, 5)).survey().respondents(), 1);
}

TEST_F(MonitoringDeskTest, AnUnreachableRegistryFailsTheBatchUnavailableAndAppliesNothing) {
  router_.SetUnavailable(true);
  absl::Status s =
      desk_
          ->SubmitSurveyResponses(
              Admin(kPp),
              Batch({Response("skm-down-0001", kPpUnit, WibTime(2026, 5, 4), kSurveyAnswers[0])}))
          .status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("retry")));
  EXPECT_THAT(store_.Buckets(), IsEmpty());
  router_.SetUnavailable(false);
  EXPECT_EQ(MustSubmit(Admin(kPp),
                       {Response("skm-down-0001", kPpUnit, WibTime(2026, 5, 4), kSurveyAnswers[0])})
                .applied(),
            1);
}

TEST_F(MonitoringDeskTest, AStoreFailureIsReturned) {
  store_.FailNext(1, absl::UnavailableError("redis down"));
  EXPECT_THAT(
      desk_
          ->SubmitSurveyResponses(
              Admin(kPp),
              Batch({Response("skm-store-down", kPpUnit, WibTime(2026, 5, 4), kSurveyAnswers[0])}))
          .status(),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("redis down")));
  v1::GetFiguresRequest req;
  *req.mutable_scope() = National();
  *req.mutable_period() = Year(2026);
  store_.FailNext(1, absl::UnavailableError("redis down"));
  EXPECT_THAT(desk_->GetFigures(Public(), req), StatusIs(absl::StatusCode::kUnavailable));
}

// ---------------------------------------------------------------------------------------------
// Deliveries

TEST_F(MonitoringDeskTest, DeliveryFiguresAgainstThePromisedTimeOverHolidays) {
  // The deliveries and their figures are worked out by hand in monitoring_fixtures.h.
  v1::RecordDeliveriesResponse recorded = MustRecord(Operator(kPp), MarchDeliveries(kPpService));
  EXPECT_EQ(recorded.applied(), 5);
  EXPECT_EQ(recorded.repeated(), 0);
  // A5 waits for its promise; the sweep makes it overdue.
  EXPECT_EQ(store_.OpenDue(absl::StrCat(kPpUnit, ":AKL/2026/0005")),
            WibTime(2026, 3, 11, 23, 59, 59));
  EXPECT_EQ(store_.OpenDue(absl::StrCat(kPpUnit, ":AKL/2026/0001")), std::nullopt);
  v1::DeliveryFigures before = Figures(UnitScope(kPpUnit), Month(2026, 3)).delivery();
  EXPECT_EQ(before.open(), 1);
  EXPECT_EQ(before.open_overdue(), 0);
  absl::StatusOr<int> swept = desk_->SweepOverdue();
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(*swept, 1);

  const auto want = Parse<v1::DeliveryFigures>(kMarchDeliveryFigures);
  for (const auto& scope : {UnitScope(kPpUnit), AgencyScope(kPp), RegionScope("13"),
                            RegionScope("13.05"), National()}) {
    for (const auto& period : {Month(2026, 3), Quarter(2026, 1), Semester(2026, 1), Year(2026)}) {
      v1::DeliveryFigures got = Figures(scope, period).delivery();
      // The unit's figures name the version that judged its 4 completions (2 on time); the
      // router reports no history, so its current standard judged them.
      if (scope.has_unit_id()) {
        ASSERT_EQ(got.judged_by_size(), 1) << Describe(scope, period);
        EXPECT_EQ(got.judged_by(0).standard_version_id(), "akta-kelahiran.v1");
        EXPECT_EQ(got.judged_by(0).completed(), 4);
        EXPECT_EQ(got.judged_by(0).completed_on_time(), 2);
        got.clear_judged_by();
      }
      EXPECT_EQ(got.judged_by_size(), 0) << Describe(scope, period);
      EXPECT_EQ(Diff(want, got), "") << Describe(scope, period);
    }
  }
  // Completed deliveries are the survey's population: 4 in March, minimum sample 4.
  v1::SurveyFigures survey = Figures(UnitScope(kPpUnit), Month(2026, 3)).survey();
  EXPECT_EQ(survey.population(), 4);
  EXPECT_EQ(survey.minimum_sample(), 4);
  // The unit is ranked by its on-time share.
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 3), 10, false, v1::METRIC_DELIVERY_ON_TIME_SHARE),
            Ranked({{kPpUnit, "50.00"}}));
}

TEST_F(MonitoringDeskTest, ADeliveryReportedAgainCountsOnce) {
  EXPECT_EQ(MustRecord(Operator(kPp), MarchDeliveries(kPpService)).applied(), 5);
  v1::RecordDeliveriesResponse again = MustRecord(Operator(kPp), MarchDeliveries(kPpService));
  EXPECT_EQ(again.applied(), 0);
  EXPECT_EQ(again.repeated(), 5);
  // The same application under another idempotency key is the same application.
  v1::Delivery a1 = MarchDeliveries(kPpService)[0];
  a1.set_idempotency_key("dlv-a1-resent");
  again = MustRecord(Admin(kPp), {a1});
  EXPECT_EQ(again.applied(), 0);
  EXPECT_EQ(again.repeated(), 1);
  v1::DeliveryFigures march = Figures(AgencyScope(kPp), Month(2026, 3)).delivery();
  EXPECT_EQ(march.received(), 5);
  EXPECT_EQ(march.completed(), 4);
  EXPECT_EQ(march.open(), 1);
}

TEST_F(MonitoringDeskTest, CompletingAnOverdueApplicationTakesItOutOfOpenOverdue) {
  EXPECT_EQ(MustRecord(Operator(kPp), MarchDeliveries(kPpService)).applied(), 5);
  ASSERT_THAT(desk_->SweepOverdue(), IsOk());
  // A5 completed a second ago (15 June): late; it leaves March's open_overdue and counts as
  // completed in June.
  v1::Delivery a5 = MarchDeliveries(kPpService)[4];
  a5.set_idempotency_key("dlv-a5-0002");
  *a5.mutable_completed_time() = Ts(clock_.Now() - absl::Seconds(1));
  EXPECT_EQ(MustRecord(Operator(kPp), {a5}).applied(), 1);
  v1::DeliveryFigures want_march = Parse<v1::DeliveryFigures>(kMarchDeliveryFigures);
  want_march.set_open_overdue(0);
  EXPECT_EQ(Diff(want_march, Figures(AgencyScope(kPp), Month(2026, 3)).delivery()), "");
  v1::DeliveryFigures june = Figures(UnitScope(kPpUnit), Month(2026, 6)).delivery();
  EXPECT_EQ(june.received(), 0);
  EXPECT_EQ(june.completed(), 1);
  EXPECT_EQ(june.completed_on_time(), 0);
  EXPECT_EQ(june.on_time_share(), "0.00");
  // The year: 5 received, 5 completed, 2 on time = 40.00%.
  v1::DeliveryFigures year = Figures(AgencyScope(kPp), Year(2026)).delivery();
  EXPECT_EQ(year.received(), 5);
  EXPECT_EQ(year.completed(), 5);
  EXPECT_EQ(year.completed_on_time(), 2);
  EXPECT_EQ(year.on_time_share(), "40.00");
  EXPECT_EQ(year.open(), 0);
  EXPECT_EQ(year.open_overdue(), 0);
}

TEST_F(MonitoringDeskTest, HoursArePromisedExactlyAndSweptOnlyOnceDue) {
  EXPECT_EQ(MustRecord(Operator(kBogor), HourDeliveries(kBogorService)).applied(), 2);
  EXPECT_EQ(Diff(Parse<v1::DeliveryFigures>(kHourDeliveryFigures),
                 Figures(RegionScope("32.71"), Month(2026, 4)).delivery()),
            "");

  // B1 received today 08:30 is promised by 10:30:00; B2 received 09:59 by 11:59.
  EXPECT_EQ(MustRecord(Admin(kBogor), {Delivery("dlv-b1-0001", "PBG-3", kBogorService,
                                                WibTime(2026, 6, 15, 8, 30), std::nullopt),
                                       Delivery("dlv-b2-0001", "PBG-4", kBogorService,
                                                WibTime(2026, 6, 15, 9, 59), std::nullopt)})
                .applied(),
            2);
  EXPECT_EQ(store_.OpenDue(absl::StrCat(kBogorUnit, ":PBG-3")), WibTime(2026, 6, 15, 10, 30));
  clock_.Set(WibTime(2026, 6, 15, 10, 29, 59));
  EXPECT_EQ(*desk_->SweepOverdue(), 0);
  clock_.Set(WibTime(2026, 6, 15, 10, 30, 0));
  EXPECT_EQ(*desk_->SweepOverdue(), 1);
  EXPECT_EQ(*desk_->SweepOverdue(), 0);
  v1::DeliveryFigures june = Figures(UnitScope(kBogorUnit), Month(2026, 6)).delivery();
  EXPECT_EQ(june.open(), 1);
  EXPECT_EQ(june.open_overdue(), 1);
  // B2 completed in time: it leaves open, and the sweep has nothing left to do for it.
  v1::Delivery b2 = Delivery("dlv-b2-0002", "PBG-4", kBogorService, WibTime(2026, 6, 15, 9, 59),
                             WibTime(2026, 6, 15, 10, 30));
  EXPECT_EQ(MustRecord(Operator(kBogor), {b2}).applied(), 1);
  clock_.Set(WibTime(2026, 6, 15, 13));
  EXPECT_EQ(*desk_->SweepOverdue(), 0);
  june = Figures(UnitScope(kBogorUnit), Month(2026, 6)).delivery();
  EXPECT_EQ(june.open(), 0);
  EXPECT_EQ(june.open_overdue(), 1);
  EXPECT_EQ(june.completed(), 1);
  EXPECT_EQ(june.completed_on_time(), 1);
}

TEST_F(MonitoringDeskTest, TheSweepWorksThroughEveryDueApplicationInBatches) {
  desk_ = NewDesk(MonitoringOptions{.sweep_batch = 2});
  std::vector<v1::Delivery> open;
  for (int i = 0; i < 5; ++i) {
    open.push_back(Delivery(absl::StrCat("dlv-sweep-", i, "-key"), absl::StrCat("AKL/SWEEP/", i),
                            kPpService, WibTime(2026, 5, 4, 9 + i), std::nullopt));
  }
  EXPECT_EQ(MustRecord(Operator(kPp), open).applied(), 5);
  absl::StatusOr<int> swept = desk_->SweepOverdue();
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(*swept, 5);
  v1::DeliveryFigures may = Figures(AgencyScope(kPp), Month(2026, 5)).delivery();
  EXPECT_EQ(may.open(), 0);
  EXPECT_EQ(may.open_overdue(), 5);
}

TEST_F(MonitoringDeskTest, BadDeliveriesAreRejectedWholeWithEveryBadFieldNamed) {
  absl::Status s = desk_
                       ->RecordDeliveries(
                           Operator(kBogor),
                           Deliveries({Delivery("dlv-bad-0001", "PBG/0099", kBogorService,
                                                WibTime(2026, 3, 12, 10), WibTime(2026, 3, 12, 9)),
                                       Delivery("dlv-bad-0002", "PBG/0098", "no-such-service",
                                                WibTime(2026, 3, 12, 10), std::nullopt),
                                       Delivery("dlv-bad-0003", "PRK/0001", kParkir,
                                                WibTime(2026, 3, 12, 10), std::nullopt),
                                       Delivery("dlv-bad-0004", "", kBogorService,
                                                clock_.Now() + absl::Minutes(5), std::nullopt),
                                       Delivery("dlv-good-0005", "PBG/0097", kBogorService,
                                                WibTime(2026, 3, 12, 10), std::nullopt)}))
                       .status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  // deliveries[2] (a service without a standard) is valid: it is recorded for volume only.
  EXPECT_THAT(Fields(s),
              UnorderedElementsAre("deliveries[0].completed_time", "deliveries[1].service_id",
                                   "deliveries[3].application_id", "deliveries[3].received_time"))
      << s;
  EXPECT_THAT(s.message(), HasSubstr("the registry has no service \"no-such-service\""));
  EXPECT_THAT(store_.Buckets(), IsEmpty());
  EXPECT_THAT(Fields(desk_->RecordDeliveries(Operator(kBogor), Deliveries({})).status()),
              ElementsAre("deliveries"));
}

// The standard in force (issue #15, points 2 and 4). The service "legalisir-akta" of the
// Padang Pariaman unit (WIB) had v1 promising 5 working days, in force from 1 January 2026,
// then v2 promising 3 working days, in force from 1 April 2026 00:00 WIB. Every deadline below
// is counted by hand on the 2026 calendar (deploy/holidays/2026.json: Fri 3 April Good Friday,
// Tue 16 June 1 Muharam; weekends off); the last on-time instant is 23:59:59 WIB of the last
// working day.
constexpr char kLegalisir[] = "legalisir-akta";

Route LegalisirRoute() {
  Route r;
  r.service_id = kLegalisir;
  r.unit_id = kPpUnit;
  r.agency_id = kPp;
  r.region_code = "13.05";
  r.time_zone = common::v1::TIME_ZONE_WIB;
  // The current terms are v2's (what the router reports as current).
  r.standard_version_id = "legalisir-akta.v2";
  r.promised_amount = 3;
  r.promised_unit = PromisedUnit::kWorkingDay;
  clients::registry::StandardTerms v1;
  v1.version_id = "legalisir-akta.v1";
  v1.version_number = 1;
  v1.in_force_from = WibTime(2026, 1, 1);
  v1.promised_amount = 5;
  v1.promised_unit = PromisedUnit::kWorkingDay;
  clients::registry::StandardTerms v2 = v1;
  v2.version_id = "legalisir-akta.v2";
  v2.version_number = 2;
  v2.in_force_from = WibTime(2026, 4, 1);  // 2026-03-31T17:00:00Z
  v2.promised_amount = 3;
  r.standards = {v1, v2};
  return r;
}

struct Judged {
  std::string application_id;
  bool applied;
  v1::Timeliness timeliness;
  std::optional<absl::Time> deadline;
  std::string version_id;
  int version_number;
};
std::vector<Judged> JudgedOf(const v1::RecordDeliveriesResponse& resp) {
  std::vector<Judged> out;
  for (const v1::DeliveryResult& r : resp.results()) {
    out.push_back({r.application_id(), r.applied(), r.timeliness(),
                   r.has_deadline()
                       ? std::optional<absl::Time>(absl::FromUnixSeconds(r.deadline().seconds()))
                       : std::nullopt,
                   r.standard_version_id(), r.standard_version_number()});
  }
  return out;
}
void ExpectJudged(const v1::RecordDeliveriesResponse& resp, const std::vector<Judged>& want) {
  std::vector<Judged> got = JudgedOf(resp);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("results[", i, "] ", want[i].application_id));
    EXPECT_EQ(got[i].application_id, want[i].application_id);
    EXPECT_EQ(got[i].applied, want[i].applied);
    EXPECT_EQ(v1::Timeliness_Name(got[i].timeliness), v1::Timeliness_Name(want[i].timeliness));
    EXPECT_EQ(got[i].deadline, want[i].deadline);
    EXPECT_EQ(got[i].version_id, want[i].version_id);
    EXPECT_EQ(got[i].version_number, want[i].version_number);
  }
}

TEST_F(MonitoringDeskTest, EachDeliveryIsJudgedByTheStandardInForceWhenItWasReceived) {
  router_.AddService(LegalisirRoute());
  const std::string v1_id = "legalisir-akta.v1", v2_id = "legalisir-akta.v2";
  // A platform admin records for both agencies.
  v1::RecordDeliveriesResponse resp = MustRecord(
      Root(),
      {// A: received Mon 30 Mar 10:00, v1 in force (5 WD): Tue 31 (1), Wed 1 Apr (2), Thu 2 (3),
       // [Fri 3 Good Friday, Sat 4, Sun 5], Mon 6 (4), Tue 7 (5) -> Tue 7 Apr 23:59:59.
       // Completed Tue 7 Apr 15:00: on time (by v2's 3 days it would be Thu 2 Apr: late).
       Delivery("inforce-a-0001", "LGA-A", kLegalisir, WibTime(2026, 3, 30, 10),
                WibTime(2026, 4, 7, 15)),
       // B: received Wed 1 Apr 00:00:00 WIB (= 31 Mar 17:00 UTC), the first instant of v2
       // (3 WD): Thu 2 (1), [Fri 3 holiday, weekend], Mon 6 (2), Tue 7 (3) -> Tue 7 Apr
       // 23:59:59. Completed Wed 8 Apr 09:00: late (by v1 it would be Thu 9 Apr: on time).
       Delivery("inforce-b-0001", "LGA-B", kLegalisir, WibTime(2026, 4, 1, 0, 0, 0),
                WibTime(2026, 4, 8, 9)),
       // C: received Tue 31 Mar 23:59:59 WIB, one second before v2: v1 (5 WD): Wed 1 (1),
       // Thu 2 (2), [Fri 3, weekend], Mon 6 (3), Tue 7 (4), Wed 8 (5) -> Wed 8 Apr 23:59:59.
       // Completed Wed 8 Apr 09:00: on time.
       Delivery("inforce-c-0001", "LGA-C", kLegalisir, WibTime(2026, 3, 31, 23, 59, 59),
                WibTime(2026, 4, 8, 9)),
       // D: received Wed 31 Dec 2025 10:00, before v1's first day: not applicable.
       Delivery("inforce-d-0001", "LGA-D", kLegalisir, WibTime(2025, 12, 31, 10),
                WibTime(2026, 1, 5, 10)),
       // E: received Mon 8 Jun 10:00 (v2): Tue 9 (1), Wed 10 (2), Thu 11 (3) -> Thu 11 Jun
       // 23:59:59; still open on Mon 15 Jun 10:00 (now): overdue.
       Delivery("inforce-e-0001", "LGA-E", kLegalisir, WibTime(2026, 6, 8, 10), std::nullopt),
       // F: received Mon 15 Jun 09:00 (v2): [Tue 16 1 Muharam], Wed 17 (1), Thu 18 (2),
       // Fri 19 (3) -> Fri 19 Jun 23:59:59: open.
       Delivery("inforce-f-0001", "LGA-F", kLegalisir, WibTime(2026, 6, 15, 9), std::nullopt),
       // G: a service without an adopted standard: not applicable, counted for volume.
       Delivery("inforce-g-0001", "PRK-G", kParkir, WibTime(2026, 4, 2, 10),
                WibTime(2026, 4, 2, 11))});
  EXPECT_EQ(resp.applied(), 7);
  EXPECT_EQ(resp.repeated(), 0);
  ExpectJudged(
      resp, {
                {"LGA-A", true, v1::TIMELINESS_ON_TIME, WibTime(2026, 4, 7, 23, 59, 59), v1_id, 1},
                {"LGA-B", true, v1::TIMELINESS_LATE, WibTime(2026, 4, 7, 23, 59, 59), v2_id, 2},
                {"LGA-C", true, v1::TIMELINESS_ON_TIME, WibTime(2026, 4, 8, 23, 59, 59), v1_id, 1},
                {"LGA-D", true, v1::TIMELINESS_NOT_APPLICABLE, std::nullopt, "", 0},
                {"LGA-E", true, v1::TIMELINESS_OVERDUE, WibTime(2026, 6, 11, 23, 59, 59), v2_id, 2},
                {"LGA-F", true, v1::TIMELINESS_OPEN, WibTime(2026, 6, 19, 23, 59, 59), v2_id, 2},
                {"PRK-G", true, v1::TIMELINESS_NOT_APPLICABLE, std::nullopt, "", 0},
            });

  // April, unit: completions A (on time, v1), B (late, v2), C (on time, v1): 2 of 3 on time
  // = 66.67%, judged by v1 (2, both on time) and v2 (1, late). Received in April: only B.
  v1::DeliveryFigures april = Figures(UnitScope(kPpUnit), Month(2026, 4)).delivery();
  EXPECT_EQ(april.received(), 1);
  EXPECT_EQ(april.completed(), 3);
  EXPECT_EQ(april.completed_on_time(), 2);
  EXPECT_EQ(april.on_time_share(), "66.67");
  EXPECT_EQ(april.received_not_applicable(), 0);
  EXPECT_EQ(april.completed_not_applicable(), 0);
  ASSERT_EQ(april.judged_by_size(), 2);
  EXPECT_EQ(april.judged_by(0).standard_version_id(), v1_id);
  EXPECT_EQ(april.judged_by(0).completed(), 2);
  EXPECT_EQ(april.judged_by(0).completed_on_time(), 2);
  EXPECT_EQ(april.judged_by(1).standard_version_id(), v2_id);
  EXPECT_EQ(april.judged_by(1).completed(), 1);
  EXPECT_EQ(april.judged_by(1).completed_on_time(), 0);
  // The agency's April adds G (Bogor is another agency: not here). Agency buckets carry no
  // per-version counts.
  EXPECT_EQ(Figures(AgencyScope(kPp), Month(2026, 4)).delivery().judged_by_size(), 0);

  // G, Bogor's unit in April: received 1 and completed 1, both not applicable; 60 minutes
  // (histogram bucket "<= 60"); no on-time share (0 judged completions), nothing open.
  v1::DeliveryFigures parkir = Figures(UnitScope(kBogorUnit), Month(2026, 4)).delivery();
  EXPECT_EQ(parkir.received(), 1);
  EXPECT_EQ(parkir.received_not_applicable(), 1);
  EXPECT_EQ(parkir.completed(), 1);
  EXPECT_EQ(parkir.completed_not_applicable(), 1);
  EXPECT_EQ(parkir.completed_on_time(), 0);
  EXPECT_EQ(parkir.on_time_share(), "");
  EXPECT_EQ(parkir.median_minutes(), 60);
  EXPECT_EQ(parkir.open(), 0);
  EXPECT_EQ(parkir.open_overdue(), 0);
  EXPECT_EQ(parkir.judged_by_size(), 0);

  // D: received in December 2025, completed Mon 5 Jan 2026 (volume only): January counts one
  // completion, not applicable, and no share.
  v1::DeliveryFigures january = Figures(UnitScope(kPpUnit), Month(2026, 1)).delivery();
  EXPECT_EQ(january.completed(), 1);
  EXPECT_EQ(january.completed_not_applicable(), 1);
  EXPECT_EQ(january.on_time_share(), "");
  v1::DeliveryFigures december = Figures(UnitScope(kPpUnit), Month(2025, 12)).delivery();
  EXPECT_EQ(december.received(), 1);
  EXPECT_EQ(december.received_not_applicable(), 1);
  EXPECT_EQ(december.open(), 0);

  // June: E and F received under v2, both open; the sweep moves E (due 11 June) to overdue
  // and leaves F (due 19 June).
  absl::StatusOr<int> swept = desk_->SweepOverdue();
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(*swept, 1);
  v1::DeliveryFigures june = Figures(UnitScope(kPpUnit), Month(2026, 6)).delivery();
  EXPECT_EQ(june.received(), 2);
  EXPECT_EQ(june.open(), 1);
  EXPECT_EQ(june.open_overdue(), 1);
}

TEST_F(MonitoringDeskTest, PerDeliveryAnswersComeInRequestOrderAndARepeatGetsTheSameJudgement) {
  router_.AddService(LegalisirRoute());
  // A as above: v1, due Tue 7 Apr 23:59:59, completed Tue 7 Apr 15:00: on time.
  const v1::Delivery a = Delivery("inforce-a-0001", "LGA-A", kLegalisir, WibTime(2026, 3, 30, 10),
                                  WibTime(2026, 4, 7, 15));
  MustRecord(Operator(kPp), {a});
  // The second batch: a new one first, then A again under another idempotency key, then a
  // service without a standard.
  v1::Delivery again = a;
  again.set_idempotency_key("inforce-a-0002");
  v1::RecordDeliveriesResponse resp = MustRecord(
      Root(),
      {// H: received Thu 2 Apr 08:00 (v2, 3 WD): [Fri 3 holiday, weekend] Mon 6 (1), Tue 7 (2),
       // Wed 8 (3) -> Wed 8 Apr 23:59:59; completed Thu 9 Apr 08:00: late.
       Delivery("inforce-h-0001", "LGA-H", kLegalisir, WibTime(2026, 4, 2, 8),
                WibTime(2026, 4, 9, 8)),
       again, Delivery("inforce-p-0001", "PRK-P", kParkir, WibTime(2026, 4, 2, 10), std::nullopt)});
  EXPECT_EQ(resp.applied(), 2);
  EXPECT_EQ(resp.repeated(), 1);
  ExpectJudged(resp, {
                         {"LGA-H", true, v1::TIMELINESS_LATE, WibTime(2026, 4, 8, 23, 59, 59),
                          "legalisir-akta.v2", 2},
                         {"LGA-A", false, v1::TIMELINESS_ON_TIME, WibTime(2026, 4, 7, 23, 59, 59),
                          "legalisir-akta.v1", 1},
                         {"PRK-P", true, v1::TIMELINESS_NOT_APPLICABLE, std::nullopt, "", 0},
                     });
  // A counted once: April has A and H completed, one on time.
  v1::DeliveryFigures april = Figures(UnitScope(kPpUnit), Month(2026, 4)).delivery();
  EXPECT_EQ(april.completed(), 2);
  EXPECT_EQ(april.completed_on_time(), 1);
}

TEST_F(MonitoringDeskTest, AWithdrawnStandardJudgesOnlyWhatWasReceivedWhileItWasInForce) {
  Route r = LegalisirRoute();
  // v2 withdrawn on Fri 10 Apr 12:00 WIB: nothing is in force after that.
  r.standards[1].in_force_until = WibTime(2026, 4, 10, 12);
  r.standard_version_id.clear();
  r.promised_amount = 0;
  r.promised_unit = PromisedUnit::kNone;
  router_.AddService(r);
  v1::RecordDeliveriesResponse resp = MustRecord(
      Operator(kPp),
      {// Received Fri 10 Apr 11:59:59 (v2): Mon 13 (1), Tue 14 (2), Wed 15 (3) -> 15 Apr.
       Delivery("inforce-w-0001", "LGA-W1", kLegalisir, WibTime(2026, 4, 10, 11, 59, 59),
                WibTime(2026, 4, 15, 10)),
       // Received at the withdrawal instant: no standard in force.
       Delivery("inforce-w-0002", "LGA-W2", kLegalisir, WibTime(2026, 4, 10, 12),
                WibTime(2026, 4, 15, 10))});
  ExpectJudged(resp, {
                         {"LGA-W1", true, v1::TIMELINESS_ON_TIME, WibTime(2026, 4, 15, 23, 59, 59),
                          "legalisir-akta.v2", 2},
                         {"LGA-W2", true, v1::TIMELINESS_NOT_APPLICABLE, std::nullopt, "", 0},
                     });
  v1::DeliveryFigures april = Figures(UnitScope(kPpUnit), Month(2026, 4)).delivery();
  EXPECT_EQ(april.completed(), 2);
  EXPECT_EQ(april.completed_not_applicable(), 1);
  EXPECT_EQ(april.on_time_share(), "100.00");  // 1 of the 1 judged completion
}

TEST_F(MonitoringDeskTest, AReceiptRecordedAsNotApplicableStaysSoWhenADecreeIsEnteredLater) {
  // Received Tue 10 Mar 09:00 while the registry had no standard for the service: not
  // applicable, nothing open.
  Route none = LegalisirRoute();
  none.standards.clear();
  none.standard_version_id.clear();
  none.promised_amount = 0;
  none.promised_unit = PromisedUnit::kNone;
  router_.AddService(none);
  const v1::Delivery received =
      Delivery("inforce-r-0001", "LGA-R", kLegalisir, WibTime(2026, 3, 10, 9), std::nullopt);
  ExpectJudged(MustRecord(Operator(kPp), {received}),
               {{"LGA-R", true, v1::TIMELINESS_NOT_APPLICABLE, std::nullopt, "", 0}});
  // Then the decree of v1 (5 WD, effective 1 January) is entered: the history now says v1
  // was in force on 10 March. The completion (Thu 12 Mar) of that receipt stays not
  // applicable: its receipt opened nothing, so its completion closes nothing.
  router_.AddService(LegalisirRoute());
  v1::Delivery completed = received;
  completed.set_idempotency_key("inforce-r-0002");
  *completed.mutable_completed_time() = Ts(WibTime(2026, 3, 12, 9));
  ExpectJudged(MustRecord(Operator(kPp), {completed}),
               {{"LGA-R", true, v1::TIMELINESS_NOT_APPLICABLE, std::nullopt, "", 0}});
  ASSERT_THAT(desk_->SweepOverdue(), IsOk());
  v1::DeliveryFigures march = Figures(UnitScope(kPpUnit), Month(2026, 3)).delivery();
  EXPECT_EQ(march.received(), 1);
  EXPECT_EQ(march.received_not_applicable(), 1);
  EXPECT_EQ(march.completed(), 1);
  EXPECT_EQ(march.completed_not_applicable(), 1);
  EXPECT_EQ(march.open(), 0);
  EXPECT_EQ(march.open_overdue(), 0);
  EXPECT_EQ(march.on_time_share(), "");
  // A new application received on 10 March after the decree was entered is judged by v1:
  // Wed 11 (1), Thu 12 (2), Fri 13 (3), Mon 16 (4), Tue 17 (5) -> Tue 17 Mar 23:59:59.
  ExpectJudged(
      MustRecord(Operator(kPp), {Delivery("inforce-s-0001", "LGA-S", kLegalisir,
                                          WibTime(2026, 3, 10, 9), WibTime(2026, 3, 12, 9))}),
      {{"LGA-S", true, v1::TIMELINESS_ON_TIME, WibTime(2026, 3, 17, 23, 59, 59),
        "legalisir-akta.v1", 1}});
}

TEST_F(MonitoringDeskTest, WhoMayRecordDeliveries) {
  auto record = [&](const Identity& caller, const std::string& app) {
    return desk_
        ->RecordDeliveries(
            caller, Deliveries({Delivery(absl::StrCat("dlv-who-", app), app, kPpService,
                                         WibTime(2026, 3, 12, 10), WibTime(2026, 3, 12, 11))}))
        .status();
  };
  EXPECT_THAT(record(Public(), "AKL-W1"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(record(Admin(kBogor), "AKL-W2"), StatusIs(absl::StatusCode::kPermissionDenied));
  // Unlike survey responses, deliveries are not taken from channels.
  EXPECT_THAT(record(Kiosk(), "AKL-W3"), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(store_.Buckets(), IsEmpty());
  EXPECT_THAT(record(Operator(kPp), "AKL-W4"), IsOk());
  EXPECT_THAT(record(Admin(kPp), "AKL-W5"), IsOk());
  EXPECT_THAT(record(Root(), "AKL-W6"), IsOk());
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 3)).delivery().completed(), 3);
}

TEST_F(MonitoringDeskTest, AnUnreachableRegistryFailsDeliveriesUnavailable) {
  router_.SetUnavailable(true);
  EXPECT_THAT(desk_->RecordDeliveries(Operator(kPp), Deliveries({MarchDeliveries(kPpService)[0]})),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("retry")));
  EXPECT_THAT(store_.Buckets(), IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Complaint events

TEST_F(MonitoringDeskTest, ComplaintEventsCountOnceAndByHolder) {
  // Filed Mon 8 June 09:00, first follow-up Tue 9 June (1 working day), completed on time Wed
  // 10 June (2 working days), rated 4. Another case, filed the same day, stays open.
  const absl::Time filed = WibTime(2026, 6, 8, 9);
  std::vector<cv1::ComplaintEvent> events = {
      Event("C1", 1, "FileComplaint", filed, filed, kPp, kPpUnit),
      Event("C1", 2, "PostFollowUp", WibTime(2026, 6, 9, 10), filed, kPp, kPpUnit),
      Event("C1", 3, "PostFollowUp", WibTime(2026, 6, 12, 10), filed, kPp, kPpUnit),
      Event("C1", 4, "CompleteComplaint", WibTime(2026, 6, 10, 15), filed, kPp, kPpUnit),
      Event("C1", 5, "RateComplaint", WibTime(2026, 6, 11, 8), filed, kPp, kPpUnit),
      Event("C2", 1, "FileComplaint", filed, filed, kPp, kPpUnit),
  };
  events[4].set_rating(4);
  events[5].set_channel(cv1::CHANNEL_WEB);
  events[5].set_report_type(cv1::REPORT_TYPE_ASPIRATION);
  // Everything twice: the consumer may redeliver.
  for (int round = 0; round < 2; ++round) {
    for (const auto& e : events) EXPECT_THAT(desk_->ApplyComplaintEvent(e), IsOk());
  }
  const auto want = Parse<v1::ComplaintFigures>(R"pb(
    received: 2
    by_channel { key: "SMS" value: 1 }
    by_channel { key: "WEB" value: 1 }
    by_type { key: "COMPLAINT" value: 1 }
    by_type { key: "ASPIRATION" value: 1 }
    resolved: 1
    resolved_on_time: 1
    resolved_on_time_share: "100.00"
    median_working_days_to_first_response: 1
    median_working_days_to_completion: 2
    escalations: 0
    average_rating: "4.00"
    ratings: 1
    open_backlog: 1
  )pb");
  for (const auto& scope :
       {UnitScope(kPpUnit), AgencyScope(kPp), RegionScope("13.05"), National()}) {
    EXPECT_EQ(Diff(want, Figures(scope, Month(2026, 6)).complaints()), "")
        << scope.ShortDebugString();
  }
  EXPECT_EQ(Figures(AgencyScope(kBogor), Month(2026, 6)).complaints().received(), 0);
  EXPECT_EQ(Figures(National(), Month(2026, 5)).complaints().received(), 0);
}

TEST_F(MonitoringDeskTest, AForwardedComplaintMovesItsOpenCountToTheNewHolder) {
  const absl::Time filed = WibTime(2026, 6, 8, 9);
  ASSERT_THAT(desk_->ApplyComplaintEvent(Event("C3", 1, "FileComplaint", filed, filed, kPp, "")),
              IsOk());
  cv1::ComplaintEvent forward =
      Event("C3", 2, "ForwardComplaint", WibTime(2026, 6, 9, 9), filed, kBogor, "");
  forward.set_holder_changed(true);
  forward.set_previous_agency_id(kPp);
  ASSERT_THAT(desk_->ApplyComplaintEvent(forward), IsOk());
  cv1::ComplaintEvent escalate =
      Event("C3", 3, "EscalateComplaint", WibTime(2026, 6, 10, 9), filed, kBogor, kBogorUnit);
  ASSERT_THAT(desk_->ApplyComplaintEvent(escalate), IsOk());

  v1::ComplaintFigures pp = Figures(AgencyScope(kPp), Month(2026, 6)).complaints();
  EXPECT_EQ(pp.received(), 1);  // the receipt stays where it was filed
  EXPECT_EQ(pp.open_backlog(), 0);
  v1::ComplaintFigures bogor = Figures(AgencyScope(kBogor), Month(2026, 6)).complaints();
  EXPECT_EQ(bogor.received(), 0);
  EXPECT_EQ(bogor.open_backlog(), 1);
  EXPECT_EQ(bogor.escalations(), 1);
  v1::ComplaintFigures national = Figures(National(), Month(2026, 6)).complaints();
  EXPECT_EQ(national.received(), 1);
  EXPECT_EQ(national.open_backlog(), 1);
  EXPECT_EQ(national.escalations(), 1);
}

TEST_F(MonitoringDeskTest, AComplaintOfAUnitThatLeftTheRegistryStillCountsForItsAgency) {
  const absl::Time filed = WibTime(2026, 6, 8, 9);
  ASSERT_THAT(desk_->ApplyComplaintEvent(
                  Event("C4", 1, "FileComplaint", filed, filed, kPp, "closed-unit-pp")),
              IsOk());
  EXPECT_EQ(Figures(AgencyScope(kPp), Month(2026, 6)).complaints().received(), 1);
  EXPECT_EQ(Figures(UnitScope("closed-unit-pp"), Month(2026, 6)).complaints().received(), 1);
  // Its region is not known any more.
  EXPECT_EQ(Figures(RegionScope("13"), Month(2026, 6)).complaints().received(), 0);
}

TEST_F(MonitoringDeskTest, AComplaintEventIsNotAppliedWhileTheRegistryIsUnreachable) {
  const absl::Time filed = WibTime(2026, 6, 8, 9);
  const cv1::ComplaintEvent e = Event("C5", 1, "FileComplaint", filed, filed, kPp, kPpUnit);
  router_.SetUnavailable(true);
  EXPECT_THAT(desk_->ApplyComplaintEvent(e), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store_.Buckets(), IsEmpty());
  router_.SetUnavailable(false);
  ASSERT_THAT(desk_->ApplyComplaintEvent(e), IsOk());
  EXPECT_EQ(Figures(RegionScope("13"), Month(2026, 6)).complaints().received(), 1);
}

// ---------------------------------------------------------------------------------------------
// Reads

TEST_F(MonitoringDeskTest, FiguresCarryTheirScopePeriodAndComputedTime) {
  v1::Figures f = Figures(RegionScope("32.71"), Quarter(2026, 2));
  EXPECT_EQ(Diff(RegionScope("32.71"), f.scope()), "");
  EXPECT_EQ(Diff(Quarter(2026, 2), f.period()), "");
  EXPECT_EQ(f.computed_time().seconds(), absl::ToUnixSeconds(clock_.Now()));
  EXPECT_EQ(f.survey().respondents(), 0);
  EXPECT_EQ(f.delivery().on_time_share(), "");
  EXPECT_EQ(f.complaints().resolved_on_time_share(), "");
}

TEST_F(MonitoringDeskTest, BadFigureRequestsNameTheirFields) {
  auto fields = [&](const v1::Scope& scope, const v1::Period& period) {
    v1::GetFiguresRequest req;
    *req.mutable_scope() = scope;
    *req.mutable_period() = period;
    absl::Status s = desk_->GetFigures(Public(), req).status();
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << Describe(scope, period);
    return Fields(s);
  };
  EXPECT_THAT(fields(National(), Year(2027)), ElementsAre("period"));      // the future
  EXPECT_THAT(fields(National(), Month(2026, 7)), ElementsAre("period"));  // next month
  EXPECT_THAT(fields(National(), Month(2026, 13)), ElementsAre("period.index"));
  EXPECT_THAT(fields(National(), Period(v1::PERIOD_KIND_UNSPECIFIED, 2026, 1)),
              ElementsAre("period.kind"));
  EXPECT_THAT(fields(UnitScope("Not A Slug"), Year(2026)), ElementsAre("scope.unit_id"));
  EXPECT_THAT(fields(RegionScope("1"), Year(2026)), ElementsAre("scope.region_code_prefix"));
  EXPECT_THAT(fields(v1::Scope(), Year(2026)), ElementsAre("scope"));
  EXPECT_THAT(fields(UnitScope("Not A Slug"), Month(2026, 13)),
              UnorderedElementsAre("scope.unit_id", "period.index"));
  // The current period may be read.
  EXPECT_EQ(Figures(National(), Month(2026, 6)).survey().respondents(), 0);

  v1::WatchRequest watch;
  *watch.mutable_scope() = National();
  *watch.mutable_period() = Year(2027);
  EXPECT_THAT(Fields(desk_->WatchBucket(watch).status()), ElementsAre("period"));
}

TEST_F(MonitoringDeskTest, RankingsOrderTheUnitsOfAScope) {
  // March 2026: PP disdukcapil all 4 (100.00), PP dinkes all 2 (50.00), Bogor all 3 (75.00).
  EXPECT_EQ(
      MustSubmit(
          Root(),
          {Response("rank-pp1-0001", kPpUnit, WibTime(2026, 3, 5, 9), kSurveyAnswers[0]),
           Response("rank-pp2-0001", kPpUnit2, WibTime(2026, 3, 6, 9), std::vector<int>(9, 2)),
           Response("rank-bgr-0001", kBogorUnit, WibTime(2026, 3, 7, 9), kSurveyAnswers[1])})
          .applied(),
      3);
  const Ranked pp = {{kPpUnit, "100.00"}, {kPpUnit2, "50.00"}};
  const Ranked pp_bottom = {{kPpUnit2, "50.00"}, {kPpUnit, "100.00"}};
  for (const auto& scope : {AgencyScope(kPp), RegionScope("13"), RegionScope("13.05")}) {
    for (const auto& period : {Month(2026, 3), Quarter(2026, 1), Year(2026)}) {
      EXPECT_EQ(Rank(scope, period, 10), pp) << Describe(scope, period);
      EXPECT_EQ(Rank(scope, period, 10, /*bottom=*/true), pp_bottom) << Describe(scope, period);
      EXPECT_EQ(Rank(scope, period, 1), Ranked({{kPpUnit, "100.00"}}));
    }
  }
  EXPECT_EQ(Rank(National(), Quarter(2026, 1), 10),
            Ranked({{kPpUnit, "100.00"}, {kBogorUnit, "75.00"}, {kPpUnit2, "50.00"}}));
  EXPECT_EQ(Rank(RegionScope("32"), Quarter(2026, 1), 10), Ranked({{kBogorUnit, "75.00"}}));
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 4), 10), Ranked());
  // A later response moves the unit: PP dinkes in Q1 becomes (2 + 4) / 2 = 3.00 → 75.00.
  EXPECT_EQ(MustSubmit(Kiosk(), {Response("rank-pp2-0002", kPpUnit2, WibTime(2026, 2, 6, 9),
                                          kSurveyAnswers[0])})
                .applied(),
            1);
  EXPECT_EQ(Rank(AgencyScope(kPp), Quarter(2026, 1), 10, /*bottom=*/true),
            Ranked({{kPpUnit2, "75.00"}, {kPpUnit, "100.00"}}));
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 2), 10), Ranked({{kPpUnit2, "100.00"}}));
}

TEST_F(MonitoringDeskTest, BadRankRequestsNameTheirFields) {
  auto fields = [&](const std::function<void(v1::RankUnitsRequest&)>& change) {
    v1::RankUnitsRequest req = IkmRankRequest(AgencyScope(kPp), Quarter(2026, 1), 10);
    change(req);
    absl::Status s = desk_->RankUnits(Public(), req).status();
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << req.ShortDebugString();
    return Fields(s);
  };
  EXPECT_THAT(fields([](auto& r) { r.set_metric(v1::METRIC_UNSPECIFIED); }), ElementsAre("metric"));
  EXPECT_THAT(fields([](auto& r) { r.set_limit(0); }), ElementsAre("limit"));
  EXPECT_THAT(fields([](auto& r) { r.set_limit(101); }), ElementsAre("limit"));
  EXPECT_THAT(fields([](auto& r) { *r.mutable_scope() = UnitScope(kPpUnit); }),
              ElementsAre("scope.unit_id"));
  EXPECT_THAT(fields([](auto& r) { *r.mutable_period() = Year(2027); }), ElementsAre("period"));
  EXPECT_THAT(fields([](auto& r) {
                r.set_limit(0);
                r.set_metric(v1::METRIC_UNSPECIFIED);
              }),
              UnorderedElementsAre("limit", "metric"));
  EXPECT_EQ(Rank(AgencyScope(kPp), Quarter(2026, 1), 100), Ranked());
}

TEST_F(MonitoringDeskTest, TimeSeriesHaveValuesOnlyWhereThereIsDataAndStopAtThisPeriod) {
  // January: all 4 (100.00); March: all 2 (50.00).
  EXPECT_EQ(
      MustSubmit(
          Admin(kPp),
          {Response("series-jan-01", kPpUnit, WibTime(2026, 1, 15, 9), kSurveyAnswers[0]),
           Response("series-mar-01", kPpUnit, WibTime(2026, 3, 15, 9), std::vector<int>(9, 2))})
          .applied(),
      2);
  v1::GetTimeSeriesRequest req;
  *req.mutable_scope() = UnitScope(kPpUnit);
  req.set_metric(v1::METRIC_IKM);
  *req.mutable_from() = Month(2025, 12);
  req.set_count(12);
  auto resp = desk_->GetTimeSeries(Public(), req);
  ASSERT_THAT(resp, IsOk());
  std::vector<std::string> got;
  for (const auto& p : resp->points()) {
    EXPECT_EQ(p.period().kind(), v1::PERIOD_KIND_MONTH);
    got.push_back(absl::StrCat(p.period().year(), "-", p.period().index(), "=", p.value()));
  }
  // Up to June 2026, the current month.
  EXPECT_THAT(got, ElementsAre("2025-12=", "2026-1=100.00", "2026-2=", "2026-3=50.00",
                               "2026-4=", "2026-5=", "2026-6="));

  // Quarterly, the agency: Q1 (4 + 2) / 2 = 3 → 75.00, Q2 nothing; Q3 is in the future.
  *req.mutable_scope() = AgencyScope(kPp);
  *req.mutable_from() = Quarter(2026, 1);
  req.set_count(8);
  resp = desk_->GetTimeSeries(Public(), req);
  ASSERT_THAT(resp, IsOk());
  ASSERT_EQ(resp->points_size(), 2);
  EXPECT_EQ(resp->points(0).value(), "75.00");
  EXPECT_EQ(resp->points(1).value(), "");

  auto fields = [&](const std::function<void(v1::GetTimeSeriesRequest&)>& change) {
    v1::GetTimeSeriesRequest bad;
    *bad.mutable_scope() = UnitScope(kPpUnit);
    bad.set_metric(v1::METRIC_IKM);
    *bad.mutable_from() = Month(2026, 1);
    bad.set_count(3);
    change(bad);
    absl::Status s = desk_->GetTimeSeries(Public(), bad).status();
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument)) << bad.ShortDebugString();
    return Fields(s);
  };
  EXPECT_THAT(fields([](auto& r) { r.set_metric(v1::METRIC_UNSPECIFIED); }), ElementsAre("metric"));
  EXPECT_THAT(fields([](auto& r) { r.set_count(0); }), ElementsAre("count"));
  EXPECT_THAT(fields([](auto& r) { r.set_count(121); }), ElementsAre("count"));
  EXPECT_THAT(fields([](auto& r) { r.clear_scope(); }), ElementsAre("scope"));
  EXPECT_THAT(fields([](auto& r) { *r.mutable_from() = Month(2027, 1); }), ElementsAre("from"));
  EXPECT_THAT(fields([](auto& r) { r.mutable_from()->set_kind(v1::PERIOD_KIND_UNSPECIFIED); }),
              ElementsAre("from.kind"));
}

// ---------------------------------------------------------------------------------------------
// Local periods (aggregates.h SCOPES AND PERIODS, READING "TODAY")

TEST_F(MonitoringDeskTest, InputsCountInTheirUnitsLocalPeriodsInEveryScopeAndReadsAgree) {
  // A WIT unit (Kota Jayapura, 91.71) and the WIB unit of Kota Bogor (32.71).
  Route jayapura = UnitRoute("dpmptsp-kota-jayapura", "kota-jayapura", "91.71");
  jayapura.time_zone = common::v1::TIME_ZONE_WIT;
  router_.AddUnit(jayapura);
  router_.AddService(ServiceRoute("izin-jayapura", jayapura, 2, PromisedUnit::kHour));
  const absl::Time at = absl::FromUnixSeconds(1774971000);  // 2026-03-31T15:30:00Z
  // Now 2026-03-31T15:45Z: 00:45 WIT on April 1, 22:45 WIB on March 31.
  clock_.Set(at + absl::Minutes(15));
  // At 15:30Z: 00:30 WIT on April 1 (April) for Jayapura, 22:30 WIB on March 31 (March) for
  // Bogor. IKM all 4 → 100.00, all 2 → 50.00.
  EXPECT_EQ(MustSubmit(Root(), {Response("zone-wit-0001", "dpmptsp-kota-jayapura", at,
                                         std::vector<int>(9, 4)),
                                Response("zone-wib-0001", kBogorUnit, at, std::vector<int>(9, 2))})
                .applied(),
            2);
  // A Jayapura application received at 15:05Z (00:05 WIT April 1), completed at 15:35Z.
  EXPECT_EQ(MustRecord(Root(), {Delivery("zone-dlv-0001", "IZN/2026/0001", "izin-jayapura",
                                         at - absl::Minutes(25), at + absl::Minutes(5))})
                .applied(),
            1);
  // The unit's own zone decides which periods have begun: April has for Jayapura (WIT) ...
  v1::Figures wit_april = Figures(UnitScope("dpmptsp-kota-jayapura"), Month(2026, 4));
  EXPECT_EQ(wit_april.survey().respondents(), 1);
  EXPECT_EQ(wit_april.survey().ikm(), "100.00");
  EXPECT_EQ(wit_april.delivery().received(), 1);
  EXPECT_EQ(wit_april.delivery().completed(), 1);
  EXPECT_EQ(Figures(UnitScope("dpmptsp-kota-jayapura"), Month(2026, 3)).survey().respondents(), 0);
  // ... not for Bogor (WIB), where it is still March 31.
  v1::GetFiguresRequest bogor_april;
  *bogor_april.mutable_scope() = UnitScope(kBogorUnit);
  *bogor_april.mutable_period() = Month(2026, 4);
  absl::Status early = desk_->GetFigures(Public(), bogor_april).status();
  EXPECT_THAT(early, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(early.message(), HasSubstr("starts after today (2026-03-31 WIB)"));
  EXPECT_EQ(Figures(UnitScope(kBogorUnit), Month(2026, 3)).survey().ikm(), "50.00");
  // Larger scopes add the units' local periods and accept a period begun in WIT: national
  // March = Bogor's 1, April = Jayapura's 1; Q1 and Q2 likewise; the year both (IKM
  // (4 + 2) / 2 = 3 → 75.00).
  EXPECT_EQ(Figures(National(), Month(2026, 3)).survey().ikm(), "50.00");
  EXPECT_EQ(Figures(National(), Month(2026, 4)).survey().ikm(), "100.00");
  EXPECT_EQ(Figures(National(), Month(2026, 4)).delivery().completed(), 1);
  EXPECT_EQ(Figures(National(), Month(2026, 3)).delivery().received(), 0);
  EXPECT_EQ(Figures(National(), Quarter(2026, 2)).survey().respondents(), 1);
  EXPECT_EQ(Figures(National(), Year(2026)).survey().ikm(), "75.00");
  EXPECT_EQ(Figures(RegionScope("91"), Month(2026, 4)).survey().respondents(), 1);
  EXPECT_EQ(Figures(AgencyScope("kota-jayapura"), Month(2026, 3)).survey().respondents(), 0);
  // Rankings of a period hold the units whose local period it is.
  EXPECT_EQ(Rank(National(), Month(2026, 4), 10), Ranked({{"dpmptsp-kota-jayapura", "100.00"}}));
  EXPECT_EQ(Rank(National(), Month(2026, 3), 10), Ranked({{kBogorUnit, "50.00"}}));
  // Time series stop at the current period of the scope: April for the nation, March for
  // Bogor.
  auto series = [&](const v1::Scope& scope) {
    v1::GetTimeSeriesRequest req;
    *req.mutable_scope() = scope;
    req.set_metric(v1::METRIC_IKM);
    *req.mutable_from() = Month(2026, 3);
    req.set_count(6);
    std::vector<std::string> got;
    auto resp = desk_->GetTimeSeries(Public(), req);
    EXPECT_THAT(resp, IsOk());
    if (resp.ok()) {
      for (const auto& p : resp->points()) {
        got.push_back(absl::StrCat(p.period().index(), "=", p.value()));
      }
    }
    return got;
  };
  EXPECT_THAT(series(National()), ElementsAre("3=50.00", "4=100.00"));
  EXPECT_THAT(series(UnitScope(kBogorUnit)), ElementsAre("3=50.00"));
  EXPECT_THAT(series(UnitScope("dpmptsp-kota-jayapura")), ElementsAre("3=", "4=100.00"));
  // Watch follows GetFigures.
  v1::WatchRequest watch;
  *watch.mutable_scope() = UnitScope("dpmptsp-kota-jayapura");
  *watch.mutable_period() = Month(2026, 4);
  EXPECT_THAT(desk_->WatchBucket(watch), IsOk());
  *watch.mutable_scope() = UnitScope(kBogorUnit);
  EXPECT_THAT(desk_->WatchBucket(watch).status(), StatusIs(absl::StatusCode::kInvalidArgument));

  // A WIT unit that left the registry: its complaint counts in the local periods its event
  // carries (00:30 WIT on April 1 → April), for the agency as well.
  cv1::ComplaintEvent e = Event("CZ1", 1, "FileComplaint", at, at, "kota-jayapura", "closed-wit");
  e.set_time_zone(common::v1::TIME_ZONE_WIT);
  ASSERT_THAT(desk_->ApplyComplaintEvent(e), IsOk());
  EXPECT_EQ(Figures(AgencyScope("kota-jayapura"), Month(2026, 4)).complaints().received(), 1);
  EXPECT_EQ(Figures(National(), Month(2026, 4)).complaints().received(), 1);
  EXPECT_EQ(Figures(National(), Month(2026, 3)).complaints().received(), 0);
}

TEST_F(MonitoringDeskTest, AReviewIsOverdueFromTheUnitsLocalMidnightForTheUnitAndWibsForTheRest) {
  namespace rv1 = ::simpul::registry::v1;
  Route jayapura = UnitRoute("dpmptsp-kota-jayapura", "kota-jayapura", "91.71");
  jayapura.time_zone = common::v1::TIME_ZONE_WIT;
  router_.AddUnit(jayapura);
  rv1::ServiceUnit unit;
  unit.set_id("dpmptsp-kota-jayapura");
  unit.set_agency_id("kota-jayapura");
  unit.set_region_code("91.71");
  unit.set_time_zone(common::v1::TIME_ZONE_WIT);
  ASSERT_THAT(desk_->standards().PutUnit("1-0", unit, nullptr), IsOk());
  rv1::Service service;
  service.set_id("izin-jayapura");
  service.set_unit_id("dpmptsp-kota-jayapura");
  service.set_agency_id("kota-jayapura");
  service.set_region_code("91.71");
  service.set_current_version_id("izin-jayapura.v1");
  rv1::StandardVersion adopted;
  adopted.set_id("izin-jayapura.v1");
  adopted.set_service_id("izin-jayapura");
  adopted.set_version_number(1);
  adopted.set_state(rv1::STANDARD_STATE_ADOPTED);
  *adopted.mutable_components() = simpul::testing::CompleteComponents();
  *adopted.mutable_review_due_date() = simpul::testing::MakeDate(2026, 3, 31);
  ASSERT_THAT(desk_->standards().PutService("1-0", service, {adopted}), IsOk());
  // The review falls due on 31 March: overdue from 1 April. At 2026-03-31T15:45Z it is
  // 00:45 WIT on 1 April (overdue for the WIT unit) and 22:45 WIB on 31 March (not yet for
  // the agency, region and nation, read in WIB).
  clock_.Set(absl::FromUnixSeconds(1774971900));  // 2026-03-31T15:45:00Z
  EXPECT_EQ(Figures(UnitScope("dpmptsp-kota-jayapura"), Year(2026)).standards().review_overdue(),
            1);
  for (const auto& scope : {AgencyScope("kota-jayapura"), RegionScope("91"), National()}) {
    EXPECT_EQ(Figures(scope, Year(2026)).standards().review_overdue(), 0)
        << Describe(scope, Year(2026));
  }
  // 2026-03-31T17:00Z is 00:00 WIB on 1 April: overdue everywhere.
  clock_.Set(absl::FromUnixSeconds(1774976400));
  EXPECT_EQ(Figures(National(), Year(2026)).standards().review_overdue(), 1);
  EXPECT_EQ(Figures(AgencyScope("kota-jayapura"), Year(2026)).standards().review_overdue(), 1);
}

TEST_F(MonitoringDeskTest, HeadlinesAreExportedPerAgencyWithData) {
  // March and June: the year's headline is the sum of its months.
  EXPECT_EQ(
      MustSubmit(Admin(kPp),
                 {Response("headline-0001", kPpUnit, WibTime(2026, 3, 5, 9), kSurveyAnswers[1]),
                  Response("headline-0002", kPpUnit, WibTime(2026, 6, 1, 9), kSurveyAnswers[1])})
          .applied(),
      2);
  Metrics metrics;
  ASSERT_THAT(desk_->ExportHeadlines(metrics), IsOk());
  const std::string text = metrics.Exposition();
  EXPECT_THAT(text, HasSubstr(absl::StrCat("simpul_agency_ikm{agency=\"", kPp, "\"} 75\n")));
  EXPECT_THAT(
      text, HasSubstr(absl::StrCat("simpul_agency_survey_respondents{agency=\"", kPp, "\"} 2\n")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr(kBogor)));
}

// ---------------------------------------------------------------------------------------------
// Voids.

constexpr char kReason[] = "test batch sent to production by mistake";

v1::VoidInputsRequest VoidBatch(const std::string& agency, const std::string& batch) {
  v1::VoidInputsRequest req;
  req.set_reason(kReason);
  req.mutable_batch()->set_agency_id(agency);
  req.mutable_batch()->set_batch_id(batch);
  return req;
}
v1::VoidInputsRequest VoidSurveys(const std::string& unit, const std::vector<std::string>& keys) {
  v1::VoidInputsRequest req;
  req.set_reason(kReason);
  req.mutable_survey_responses()->set_unit_id(unit);
  for (const auto& k : keys) req.mutable_survey_responses()->add_idempotency_keys(k);
  return req;
}
v1::VoidInputsRequest VoidApplications(const std::string& service,
                                       const std::vector<std::string>& ids) {
  v1::VoidInputsRequest req;
  req.set_reason(kReason);
  req.mutable_deliveries()->set_service_id(service);
  for (const auto& id : ids) req.mutable_deliveries()->add_application_ids(id);
  return req;
}

// Without `voided` and the computing time, which a void changes by design.
v1::Figures WithoutVoided(v1::Figures f) {
  f.mutable_survey()->clear_voided();
  f.mutable_delivery()->clear_voided();
  f.clear_computed_time();
  return f;
}

class VoidTest : public MonitoringDeskTest {
 protected:
  struct Snapshot {
    std::vector<v1::Figures> figures;
    std::vector<Ranked> ranks;
  };
  // Every scope of Padang Pariaman's units and every period the test data touch.
  Snapshot Take() {
    Snapshot s;
    for (const v1::Scope& scope : {UnitScope(kPpUnit), UnitScope(kPpUnit2), AgencyScope(kPp),
                                   RegionScope("13"), RegionScope("13.05"), National()}) {
      for (const v1::Period& period :
           {Month(2026, 2), Month(2026, 3), Quarter(2026, 1), Semester(2026, 1), Year(2026)}) {
        s.figures.push_back(WithoutVoided(Figures(scope, period)));
      }
    }
    for (const v1::Scope& scope : {AgencyScope(kPp), RegionScope("13"), National()}) {
      for (v1::Metric metric : {v1::METRIC_IKM, v1::METRIC_DELIVERY_ON_TIME_SHARE}) {
        s.ranks.push_back(Rank(scope, Month(2026, 2), 10, false, metric));
        s.ranks.push_back(Rank(scope, Month(2026, 3), 10, false, metric));
        s.ranks.push_back(Rank(scope, Year(2026), 10, false, metric));
      }
    }
    return s;
  }
  void ExpectSame(const Snapshot& want, const Snapshot& got) {
    ASSERT_EQ(want.figures.size(), got.figures.size());
    for (size_t i = 0; i < want.figures.size(); ++i) {
      EXPECT_EQ(Diff(want.figures[i], got.figures[i]), "")
          << Describe(want.figures[i].scope(), want.figures[i].period());
    }
    EXPECT_EQ(want.ranks, got.ranks);
  }
};

// The Done-when case: real data, then a mistaken import (survey responses to two units, one of
// which had none, and two deliveries: one completed late, one left open and swept overdue),
// then the void of that batch. Every figure of every scope and period, and every ranking, is
// back to its exact value before the import; only `voided` counts what was taken back.
TEST_F(VoidTest, AVoidReturnsEveryFigureToItsExactPriorValue) {
  MustSubmit(Admin(kPp), HandComputedSurveyResponses(kPpUnit));
  MustRecord(Admin(kPp), MarchDeliveries(kPpService));
  ASSERT_THAT(desk_->SweepOverdue(), IsOk());
  const Snapshot before = Take();
  ASSERT_EQ(before.figures[0].survey().ikm(), "84.49");  // the hand-computed February IKM

  auto survey = Batch(
      {Response("uji-coba-0001", kPpUnit, WibTime(2026, 2, 10, 9), {1, 1, 1, 1, 1, 1, 1, 1, 1}),
       Response("uji-coba-0002", kPpUnit, WibTime(2026, 3, 1, 0, 30), {1, 2, 1, 2, 1, 2, 1, 2, 0}),
       Response("uji-coba-0003", kPpUnit2, WibTime(2026, 2, 11, 9), {4, 4, 4, 4, 4, 4, 4, 4, 4})});
  survey.set_batch_id("uji-coba-1");
  ASSERT_THAT(desk_->SubmitSurveyResponses(Kiosk(), survey), IsOk());
  auto deliveries = Deliveries(
      {Delivery("uji-dlv-0001", "UJI/0001", kPpService, WibTime(2026, 3, 5, 9),
                WibTime(2026, 3, 12, 9)),  // late
       Delivery("uji-dlv-0002", "UJI/0002", kPpService, WibTime(2026, 3, 9, 9), std::nullopt)});
  deliveries.set_batch_id("uji-coba-1");
  ASSERT_THAT(desk_->RecordDeliveries(Operator(kPp), deliveries), IsOk());
  ASSERT_THAT(desk_->SweepOverdue(), IsOk());  // UJI/0002 is overdue now
  // The import did change the figures: February has 4 + 2 responses for the unit (the 1 March
  // 00:30 WIB response is March), March 5 + 2 applications received.
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 2)).survey().respondents(), 5);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 3)).delivery().received(), 7);
  EXPECT_EQ(Figures(AgencyScope(kPp), Month(2026, 3)).delivery().open_overdue(), 2);
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 2), 10).size(), 2u);

  auto voided = desk_->VoidInputs(Admin(kPp), VoidBatch(kPp, "uji-coba-1"));
  ASSERT_THAT(voided, IsOk());
  EXPECT_EQ(voided->voided(), 5);
  EXPECT_EQ(voided->already_voided(), 0);
  EXPECT_EQ(voided->remaining(), 0);
  EXPECT_FALSE(voided->void_id().empty());

  ExpectSame(before, Take());
  // What was voided, by hand: the unit's February 1 response (the other is March), the second
  // unit's 1; both March applications (received in March) in every scope.
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 2)).survey().voided(), 1);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 3)).survey().voided(), 1);
  EXPECT_EQ(Figures(UnitScope(kPpUnit2), Month(2026, 2)).survey().voided(), 1);
  EXPECT_EQ(Figures(AgencyScope(kPp), Quarter(2026, 1)).survey().voided(), 3);
  EXPECT_EQ(Figures(National(), Month(2026, 3)).delivery().voided(), 2);
  EXPECT_EQ(Figures(RegionScope("13.05"), Year(2026)).delivery().voided(), 2);
  // The overdue application left the open queue: a later sweep changes nothing.
  clock_.Advance(absl::Hours(24 * 30));
  absl::StatusOr<int> swept = desk_->SweepOverdue();
  ASSERT_THAT(swept, IsOk());
  EXPECT_EQ(*swept, 0);
  // Voiding the batch again voids nothing more.
  auto again = desk_->VoidInputs(Admin(kPp), VoidBatch(kPp, "uji-coba-1"));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->voided(), 0);
}

TEST_F(VoidTest, AVoidedInputIsNeverAppliedAgain) {
  MustSubmit(Admin(kPp), HandComputedSurveyResponses(kPpUnit));
  const Snapshot before = Take();
  MustSubmit(Admin(kPp), {Response("dobel-0001", kPpUnit, WibTime(2026, 2, 3, 9),
                                   {2, 2, 2, 2, 2, 2, 2, 2, 2})});
  MustRecord(Admin(kPp),
             {Delivery("dobel-dlv-1", "DBL/1", kPpService, WibTime(2026, 3, 2, 8), std::nullopt)});
  auto v1s = desk_->VoidInputs(Admin(kPp), VoidSurveys(kPpUnit, {"dobel-0001"}));
  ASSERT_THAT(v1s, IsOk());
  EXPECT_EQ(v1s->voided(), 1);
  auto v1d = desk_->VoidInputs(Operator(kPp), VoidApplications(kPpService, {"DBL/1"}));
  ASSERT_THAT(v1d, IsOk());
  EXPECT_EQ(v1d->voided(), 1);
  ExpectSame(before, Take());

  // The same key again is a repeat; the application's completion arriving later is too.
  auto resubmitted = MustSubmit(Admin(kPp), {Response("dobel-0001", kPpUnit, WibTime(2026, 2, 3, 9),
                                                      {2, 2, 2, 2, 2, 2, 2, 2, 2})});
  EXPECT_EQ(resubmitted.repeated(), 1);
  auto completed =
      MustRecord(Admin(kPp), {Delivery("dobel-dlv-2", "DBL/1", kPpService, WibTime(2026, 3, 2, 8),
                                       WibTime(2026, 3, 3, 9))});
  EXPECT_FALSE(completed.results(0).applied());
  ExpectSame(before, Take());

  auto twice = desk_->VoidInputs(Admin(kPp), VoidSurveys(kPpUnit, {"dobel-0001"}));
  ASSERT_THAT(twice, IsOk());
  EXPECT_EQ(twice->voided(), 0);
  EXPECT_EQ(twice->already_voided(), 1);
}

TEST_F(VoidTest, OnlyTheInputsAgencyItsChannelOrThePlatformMayVoidIt) {
  auto batch =
      Batch({Response("kiosk-0001", kPpUnit, WibTime(2026, 2, 3, 9), {3, 3, 3, 3, 3, 3, 3, 3, 3})});
  batch.set_batch_id("kiosk-feb");
  ASSERT_THAT(desk_->SubmitSurveyResponses(Kiosk(), batch), IsOk());
  const Snapshot before = Take();

  // Another agency, another channel, a dashboard, the public: refused, nothing changed.
  EXPECT_THAT(desk_->VoidInputs(Admin(kBogor), VoidSurveys(kPpUnit, {"kiosk-0001"})),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(kPp)));
  EXPECT_THAT(desk_->VoidInputs(Admin(kBogor), VoidBatch(kPp, "kiosk-feb")),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(desk_->VoidInputs(simpul::testing::ChannelCaller("other-kiosk"),
                                VoidSurveys(kPpUnit, {"kiosk-0001"})),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(desk_->VoidInputs(Dashboard(), VoidSurveys(kPpUnit, {"kiosk-0001"})),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(desk_->VoidInputs(Public(), VoidSurveys(kPpUnit, {"kiosk-0001"})),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Agency B's batch of the same name is another batch: B has none.
  EXPECT_THAT(desk_->VoidInputs(Admin(kBogor), VoidBatch(kBogor, "kiosk-feb")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("batch.batch_id")));
  // A key that names nothing fails the whole call, naming it.
  EXPECT_THAT(
      desk_->VoidInputs(Admin(kPp), VoidSurveys(kPpUnit, {"kiosk-0001", "kiosk-9999"})),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("survey_responses.idempotency_keys[1]")));
  auto bad = desk_->VoidInputs(Admin(kPp), [] {
    v1::VoidInputsRequest req = VoidSurveys(kPpUnit, {"kiosk-0001", "kiosk-0001", "x"});
    req.set_reason("oops");
    return req;
  }());
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Fields(bad.status()),
              UnorderedElementsAre("reason", "survey_responses.idempotency_keys[1]",
                                   "survey_responses.idempotency_keys[2]"));
  EXPECT_THAT(desk_->VoidInputs(Admin(kPp), v1::VoidInputsRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ExpectSame(before, Take());
  auto log = desk_->ListVoids(Admin(kPp), [] {
    v1::ListVoidsRequest req;
    req.set_agency_id(kPp);
    return req;
  }());
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(log->voids_size(), 0);  // refused calls are not logged

  // The channel that submitted it may.
  auto by_kiosk = desk_->VoidInputs(Kiosk(), VoidBatch(kPp, "kiosk-feb"));
  ASSERT_THAT(by_kiosk, IsOk());
  EXPECT_EQ(by_kiosk->voided(), 1);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 2)).survey().respondents(), 0);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 2)).survey().voided(), 1);
}

TEST_F(VoidTest, TheVoidLogRecordsWhoWhenAndWhyNewestFirst) {
  MustSubmit(Admin(kPp),
             {Response("log-0001", kPpUnit, WibTime(2026, 2, 3, 9), {3, 3, 3, 3, 3, 3, 3, 3, 3}),
              Response("log-0002", kPpUnit, WibTime(2026, 2, 3, 9), {3, 3, 3, 3, 3, 3, 3, 3, 3})});
  auto first = desk_->VoidInputs(Operator(kPp), VoidSurveys(kPpUnit, {"log-0001"}));
  ASSERT_THAT(first, IsOk());
  clock_.Advance(absl::Minutes(5));
  v1::VoidInputsRequest second_req = VoidSurveys(kPpUnit, {"log-0002"});
  second_req.set_reason("duplicated import of the kiosk file");
  auto second = desk_->VoidInputs(Root(), second_req);
  ASSERT_THAT(second, IsOk());

  v1::ListVoidsRequest req;
  req.set_agency_id(kPp);
  req.set_page_size(1);
  auto page1 = desk_->ListVoids(Admin(kPp), req);
  ASSERT_THAT(page1, IsOk());
  ASSERT_EQ(page1->voids_size(), 1);
  EXPECT_EQ(page1->voids(0).void_id(), second->void_id());
  EXPECT_EQ(page1->voids(0).reason(), "duplicated import of the kiosk file");
  EXPECT_EQ(page1->voids(0).role(), common::v1::ROLE_PLATFORM_ADMIN);
  EXPECT_EQ(page1->voids(0).target(), "survey_responses disdukcapil-kab-padang-pariaman 1");
  EXPECT_EQ(page1->voids(0).time().seconds(), absl::ToUnixSeconds(WibTime(2026, 6, 15, 10, 5, 0)));
  ASSERT_FALSE(page1->next_page_token().empty());
  req.set_page_token(page1->next_page_token());
  auto page2 = desk_->ListVoids(Admin(kPp), req);
  ASSERT_THAT(page2, IsOk());
  ASSERT_EQ(page2->voids_size(), 1);
  EXPECT_EQ(page2->voids(0).void_id(), first->void_id());
  EXPECT_EQ(page2->voids(0).subject(), "operator@" + std::string(kPp));
  EXPECT_EQ(page2->voids(0).reason(), kReason);
  EXPECT_TRUE(page2->next_page_token().empty());

  EXPECT_THAT(desk_->ListVoids(Admin(kBogor), req), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(desk_->ListVoids(Public(), req), StatusIs(absl::StatusCode::kUnauthenticated));
  req.set_page_token("garbage");
  EXPECT_THAT(desk_->ListVoids(Admin(kPp), req), StatusIs(absl::StatusCode::kInvalidArgument));
}

// A batch larger than one call voids (max_batch) is voided over several calls, each reading a
// bounded number of ledgers; `remaining` counts down to 0.
TEST_F(VoidTest, ALargeBatchIsVoidedOverSeveralBoundedCalls) {
  desk_ = NewDesk(MonitoringOptions{.max_batch = 2});
  const Snapshot before = Take();
  for (int call = 0; call < 3; ++call) {
    std::vector<v1::SurveyResponse> part;
    for (int i = 2 * call; i < std::min(5, 2 * call + 2); ++i) {
      part.push_back(Response(absl::StrCat("besar-000", i), kPpUnit, WibTime(2026, 2, 3, 9),
                              {2, 2, 2, 2, 2, 2, 2, 2, 2}));
    }
    auto batch = Batch(part);
    batch.set_batch_id("besar");
    ASSERT_THAT(desk_->SubmitSurveyResponses(Admin(kPp), batch), IsOk());
  }
  ASSERT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 2)).survey().respondents(), 5);
  // By hand: 5 inputs, 2 per call: 2 voided (3 left), 2 (1 left), 1 (0 left).
  std::vector<std::pair<int, int>> calls;
  for (int call = 0; call < 4; ++call) {
    auto voided = desk_->VoidInputs(Admin(kPp), VoidBatch(kPp, "besar"));
    ASSERT_THAT(voided, IsOk());
    calls.emplace_back(voided->voided(), voided->remaining());
    if (voided->remaining() == 0) break;
  }
  EXPECT_EQ(calls, (std::vector<std::pair<int, int>>{{2, 3}, {2, 1}, {1, 0}}));
  ExpectSame(before, Take());
}

// An application received before input ledgers existed has only its later parts in a ledger:
// voiding it would leave its receipt counted, so the void is refused and nothing changes.
TEST_F(VoidTest, AnApplicationReceivedBeforeLedgersIsNotVoidedHalfway) {
  const UnitInfo unit{kPpUnit, kPp, "13.05", common::v1::TIME_ZONE_WIB};
  const v1::Delivery received =
      Delivery("old-dlv-1", "OLD/1", kPpService, WibTime(2026, 3, 2, 8), std::nullopt);
  auto receipt = DeliveryReceived(received, unit, clock_.Now());
  auto overdue = DeliveryOverdue(received, unit);
  ASSERT_THAT(receipt, IsOk());
  ASSERT_THAT(overdue, IsOk());
  // As the previous version recorded it: no ledger tag.
  ASSERT_THAT(store_.AddOpen(*receipt, DeliveryOpenKey(unit, "OLD/1"),
                             WibTime(2026, 3, 3, 23, 59, 59), *overdue),
              IsOk());
  MustRecord(Admin(kPp), {Delivery("old-dlv-2", "OLD/1", kPpService, WibTime(2026, 3, 2, 8),
                                   WibTime(2026, 3, 3, 9))});
  const Snapshot before = Take();
  EXPECT_THAT(
      desk_->VoidInputs(Admin(kPp), VoidApplications(kPpService, {"OLD/1"})),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("deliveries.application_ids[0]")));
  ExpectSame(before, Take());
  auto log = desk_->ListVoids(Admin(kPp), [] {
    v1::ListVoidsRequest req;
    req.set_agency_id(kPp);
    return req;
  }());
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(log->voids_size(), 0);
}

// Sandbox (issue #15): a complaint held by a sandbox unit, or by a sandbox agency itself,
// counts for that unit and agency only.
TEST_F(MonitoringDeskTest, ComplaintsHeldInSandboxCountForTheirUnitAndAgencyOnly) {
  Route sandbox_unit = UnitRoute("mpp-uji", kBogor, "32.71");
  sandbox_unit.sandbox = true;
  router_.AddUnit(sandbox_unit);
  router_.AddAgency("kab-uji", /*sandbox=*/true);
  const absl::Time filed = WibTime(2026, 6, 8, 9);
  ASSERT_THAT(desk_->ApplyComplaintEvent(
                  Event("C-uji-1", 1, "FileComplaint", filed, filed, kBogor, "mpp-uji")),
              IsOk());
  ASSERT_THAT(
      desk_->ApplyComplaintEvent(Event("C-uji-2", 1, "FileComplaint", filed, filed, "kab-uji", "")),
      IsOk());
  // And one of Bogor's normal unit, which counts everywhere.
  ASSERT_THAT(desk_->ApplyComplaintEvent(
                  Event("C-bogor", 1, "FileComplaint", filed, filed, kBogor, kBogorUnit)),
              IsOk());
  const v1::Period june = Month(2026, 6);
  EXPECT_EQ(Figures(UnitScope("mpp-uji"), june).complaints().received(), 1);
  EXPECT_EQ(Figures(AgencyScope(kBogor), june).complaints().received(), 2);
  EXPECT_EQ(Figures(AgencyScope("kab-uji"), june).complaints().received(), 1);
  EXPECT_EQ(Figures(RegionScope("32.71"), june).complaints().received(), 1);
  EXPECT_EQ(Figures(National(), june).complaints().received(), 1);
  // The agency's flag is read from the registry: unreachable, the event waits.
  router_.SetUnavailable(true);
  EXPECT_THAT(
      desk_->ApplyComplaintEvent(Event("C-uji-3", 1, "FileComplaint", filed, filed, "kab-uji", "")),
      StatusIs(absl::StatusCode::kUnavailable));
  router_.SetUnavailable(false);
  EXPECT_EQ(Figures(AgencyScope("kab-uji"), june).complaints().received(), 1);
}

}  // namespace
}  // namespace simpul::monitoring
