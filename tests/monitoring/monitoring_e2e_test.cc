// End-to-end tests of simpul-monitoring: the real simpul-monitoring, simpul-complaints and
// simpul-registry binaries and a real redis-server (AOF, appendfsync always), gRPC over loopback
// with signed identity tokens. Covers survey figures against a hand-computed IKM in every
// scope and period, idempotent and all-or-nothing batches, who may write, delivery times
// against the standard's promised time (working days with the 2026 holidays, hours), the
// overdue sweep, complaint KPIs from the complaint service's events (forwarding included),
// rankings and time series with their argument errors, durability across kill -9 of the
// service and of Redis, health and the graceful stop.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/redis.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/monitoring_fixtures.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/registry_seed.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::monitoring {
namespace {

namespace v1 = ::simpul::monitoring::v1;
namespace cv1 = ::simpul::complaints::v1;
namespace rv1 = ::simpul::registry::v1;
using ::grpc::StatusCode;
using ::simpul::testing::AgencyScope;
using ::simpul::testing::Binary;
using ::simpul::testing::CallAs;
using ::simpul::testing::Caller;
using ::simpul::testing::CompleteComponents;
using ::simpul::testing::Delivery;
using ::simpul::testing::Describe;
using ::simpul::testing::Diff;
using ::simpul::testing::HourDeliveries;
using ::simpul::testing::IsOk;
using ::simpul::testing::kHandComputedSurvey;
using ::simpul::testing::kHourDeliveryFigures;
using ::simpul::testing::kMarchDeliveryFigures;
using ::simpul::testing::kSurveyAnswers;
using ::simpul::testing::MakeDate;
using ::simpul::testing::MarchDeliveries;
using ::simpul::testing::Month;
using ::simpul::testing::MonthOf;
using ::simpul::testing::MustCall;
using ::simpul::testing::National;
using ::simpul::testing::Parse;
using ::simpul::testing::PollUntil;
using ::simpul::testing::Quarter;
using ::simpul::testing::RegionScope;
using ::simpul::testing::Response;
using ::simpul::testing::Semester;
using ::simpul::testing::ServiceCluster;
using ::simpul::testing::Ts;
using ::simpul::testing::UnitScope;
using ::simpul::testing::Wib;
using ::simpul::testing::WibTime;
using ::simpul::testing::Year;
using ::simpul::testing::YearOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kPp[] = "kab-padang-pariaman";  // REGENCY 13.05
constexpr char kBogor[] = "kota-bogor";        // CITY 32.71
constexpr char kPpUnit[] = "disdukcapil-pp";
constexpr char kPpUnit2[] = "dinkes-pp";
constexpr char kBogorUnit[] = "dpmptsp-bogor";
constexpr char kPpService[] = "akta-kelahiran";  // adopted standard: 1 WORKING_DAY
constexpr char kBogorService[] = "pbg-bogor";    // adopted standard: 2 HOUR

using MonStub = v1::Monitoring::Stub;
using CmpStub = cv1::Complaints::Stub;

class MonitoringE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    pp_admin_ = {"pp_admin", Token(common::v1::ROLE_AGENCY_ADMIN, kPp, "", "admin@pp")};
    pp_op_ = {"pp_op", Token(common::v1::ROLE_AGENCY_OPERATOR, kPp, "", "operator@pp")};
    bogor_admin_ = {"bogor_admin", Token(common::v1::ROLE_AGENCY_ADMIN, kBogor, "", "admin@bg")};
    bogor_op_ = {"bogor_op", Token(common::v1::ROLE_AGENCY_OPERATOR, kBogor, "", "op@bg")};
    root_ = {"root", Token(common::v1::ROLE_PLATFORM_ADMIN, "", "", "root@kemenpan")};
    sms_ = {"sms", Token(common::v1::ROLE_CHANNEL, "", "sms-1708", "sms-gateway")};
    kiosk_ = {"kiosk", Token(common::v1::ROLE_CHANNEL, "", "skm-kiosk", "kiosk-1")};
    public_ = {"public", ""};

    const std::vector<std::string> flags = {"--drain_timeout=2s", "--log_level=debug"};
    auto registry = cluster_->Start(Binary::kRegistry, {.flags = flags});
    ASSERT_THAT(registry, IsOk());
    registry_stub_ = rv1::Registry::NewStub((*registry)->channel());
    ASSERT_NO_FATAL_FAILURE(SeedRegistry());
    auto complaints = cluster_->Start(Binary::kComplaints, {.flags = flags});
    ASSERT_THAT(complaints, IsOk());
    complaints_ = *complaints;
    complaints_stub_ = cv1::Complaints::NewStub(complaints_->channel());
    ASSERT_NO_FATAL_FAILURE(StartMonitoring());
  }

  // StartMonitoring starts simpul-monitoring, or starts it again on its ports, and waits
  // until it knows the registry's services. The first start lists the registry (a resync);
  // later ones resume its change feed.
  void StartMonitoring() {
    if (monitoring_ == nullptr) {
      auto monitoring = cluster_->Start(
          Binary::kMonitoring, {.flags = {"--drain_timeout=2s", "--log_level=debug",
                                          "--sweep_interval=1s", "--input_retention=72h"}});
      ASSERT_THAT(monitoring, IsOk());
      monitoring_ = *monitoring;
      stub_ = v1::Monitoring::NewStub(monitoring_->channel());
    } else {
      ASSERT_THAT(monitoring_->Restart(), IsOk());
    }
    ASSERT_TRUE(
        PollUntil([&] { return Figures(National(), Year(2026)).standards().services() >= 2; },
                  absl::Seconds(20)))
        << monitoring_->Log();
  }

  // ---- identities and calls ----------------------------------------------------------

  std::string Token(common::v1::Role role, const std::string& agency, const std::string& channel,
                    const std::string& subject) {
    return cluster_->tokens().Token(role, agency, channel, subject);
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    return simpul::testing::IdentityContext(token);
  }

  // ---- monitoring helpers ------------------------------------------------------------

  grpc::Status Submit(const Caller& who, const std::vector<v1::SurveyResponse>& responses,
                      v1::SubmitSurveyResponsesResponse* resp) {
    v1::SubmitSurveyResponsesRequest req;
    for (const auto& r : responses) *req.add_responses() = r;
    return CallAs(stub_.get(), &MonStub::SubmitSurveyResponses, who, req, resp);
  }

  v1::SubmitSurveyResponsesResponse MustSubmit(const Caller& who,
                                               const std::vector<v1::SurveyResponse>& responses) {
    v1::SubmitSurveyResponsesResponse resp;
    grpc::Status s = Submit(who, responses, &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return resp;
  }

  grpc::Status Record(const Caller& who, const std::vector<v1::Delivery>& deliveries,
                      v1::RecordDeliveriesResponse* resp) {
    v1::RecordDeliveriesRequest req;
    for (const auto& d : deliveries) *req.add_deliveries() = d;
    return CallAs(stub_.get(), &MonStub::RecordDeliveries, who, req, resp);
  }

  v1::RecordDeliveriesResponse MustRecord(const Caller& who,
                                          const std::vector<v1::Delivery>& deliveries) {
    v1::RecordDeliveriesResponse resp;
    grpc::Status s = Record(who, deliveries, &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return resp;
  }

  grpc::Status TryFigures(const v1::Scope& scope, const v1::Period& period, v1::Figures* out,
                          const Caller& who = {"public", ""}) {
    v1::GetFiguresRequest req;
    *req.mutable_scope() = scope;
    *req.mutable_period() = period;
    v1::GetFiguresResponse resp;
    grpc::Status s = CallAs(stub_.get(), &MonStub::GetFigures, who, req, &resp);
    *out = resp.figures();
    return s;
  }

  // Figures reads the figures of a scope and period (publicly), without computed_time.
  v1::Figures Figures(const v1::Scope& scope, const v1::Period& period) {
    v1::Figures f;
    grpc::Status s = TryFigures(scope, period, &f);
    EXPECT_TRUE(s.ok()) << Describe(scope, period) << ": " << s.error_code() << " "
                        << s.error_message();
    EXPECT_TRUE(f.has_computed_time()) << Describe(scope, period);
    f.clear_computed_time();
    return f;
  }

  std::vector<std::pair<std::string, std::string>> Rank(const v1::Scope& scope,
                                                        const v1::Period& period, int limit,
                                                        bool bottom = false) {
    v1::RankUnitsRequest req;
    *req.mutable_scope() = scope;
    *req.mutable_period() = period;
    req.set_metric(v1::METRIC_IKM);
    req.set_limit(limit);
    req.set_bottom(bottom);
    v1::RankUnitsResponse resp = MustCall(stub_.get(), &MonStub::RankUnits, public_, req);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& u : resp.units()) out.emplace_back(u.unit_id(), u.value());
    return out;
  }

  // ExpectNoErrorsLogged: the monitoring service logged no error (a consumer that dead-letters
  // an event or a failing sweep would).
  void ExpectNoErrorsLogged() {
    EXPECT_THAT(monitoring_->Log(), ::testing::Not(HasSubstr("\"level\":\"error\"")))
        << monitoring_->Log();
  }

  // ---- registry seeding --------------------------------------------------------------

  template <typename Req, typename Resp>
  void RegistryMust(grpc::Status (rv1::Registry::Stub::*method)(grpc::ClientContext*, const Req&,
                                                                Resp*),
                    const Caller& who, const Req& req, Resp* resp) {
    grpc::Status s = CallAs(registry_stub_.get(), method, who, req, resp);
    ASSERT_TRUE(s.ok()) << Req::descriptor()->name() << ": " << s.error_message();
  }

  // SeedRegistry: Kabupaten Padang Pariaman (13.05) with two units and a service promised in
  // 1 working day; Kota Bogor (32.71) with one unit and a service promised in 2 hours.
  void SeedRegistry() {
    simpul::testing::RegistrySeeder seed(registry_stub_.get());
    seed.CreateAgency(root_, kPp, rv1::AGENCY_KIND_REGENCY, "13.05");
    seed.CreateAgency(root_, kBogor, rv1::AGENCY_KIND_CITY, "32.71");
    seed.CreateUnit(pp_admin_, kPpUnit, kPp, "Dinas Kependudukan dan Pencatatan Sipil");
    seed.CreateUnit(pp_admin_, kPpUnit2, kPp, "Dinas Kesehatan");
    seed.CreateUnit(bogor_admin_, kBogorUnit, kBogor, "Dinas Penanaman Modal dan PTSP");
    seed.CreateService(pp_admin_, kPpService, kPpUnit, "Akta Kelahiran");
    seed.CreateService(bogor_admin_, kBogorService, kBogorUnit, "Persetujuan Bangunan Gedung");
    ASSERT_FALSE(HasFailure());
    ASSERT_NO_FATAL_FAILURE(Adopt(pp_op_, pp_admin_, kPpService, 1, rv1::TIME_UNIT_WORKING_DAY));
    ASSERT_NO_FATAL_FAILURE(Adopt(bogor_op_, bogor_admin_, kBogorService, 2, rv1::TIME_UNIT_HOUR));
  }

  // Adopt takes a standard for `service` with the given completion time through consultation
  // to adoption. The consultation, decree and effective dates are in `year` (the review falls
  // due a year after the effective date, so a standard of 2025 is overdue for review).
  void Adopt(const Caller& op, const Caller& admin, const std::string& service, int amount,
             rv1::TimeUnit unit, int year = 2026) {
    rv1::StandardComponents components = CompleteComponents();
    components.mutable_completion_time()->set_amount(amount);
    components.mutable_completion_time()->set_unit(unit);
    const rv1::StandardVersion adopted = simpul::testing::RegistrySeeder(registry_stub_.get())
                                             .AdoptStandard(op, admin, service, components, year);
    ASSERT_EQ(adopted.state(), rv1::STANDARD_STATE_ADOPTED) << service;
  }

  // ---- complaint helpers -------------------------------------------------------------

  struct Filed {
    std::string id;
    std::string secret;
  };

  Filed File(const Caller& who, const std::string& key, cv1::Channel channel, cv1::ReportType type,
             const std::string& service) {
    cv1::FileComplaintRequest req;
    req.set_idempotency_key(key);
    req.set_report_type(type);
    req.set_channel(channel);
    req.set_service_id(service);
    req.set_title("Pelayanan lambat");
    req.set_description("Berkas saya belum selesai melewati waktu yang dijanjikan");
    auto resp = MustCall(complaints_stub_.get(), &CmpStub::FileComplaint, who, req);
    EXPECT_FALSE(resp.tracking_code().empty());
    return {resp.tracking_code(), resp.secret()};
  }

  cv1::Complaint Work(const Caller& who, const std::string& id, const std::string& action,
                      const std::string& unit = "") {
    auto* s = complaints_stub_.get();
    if (action == "verify") {
      cv1::VerifyComplaintRequest req;
      req.set_id(id);
      req.set_note("Berkas lengkap");
      return MustCall(s, &CmpStub::VerifyComplaint, who, req).complaint();
    }
    if (action == "dispose") {
      cv1::DisposeComplaintRequest req;
      req.set_id(id);
      req.set_unit_id(unit);
      req.set_note("Diteruskan ke bidang pelayanan");
      return MustCall(s, &CmpStub::DisposeComplaint, who, req).complaint();
    }
    if (action == "start") {
      cv1::StartWorkRequest req;
      req.set_id(id);
      return MustCall(s, &CmpStub::StartWork, who, req).complaint();
    }
    if (action == "follow-up") {
      cv1::PostFollowUpRequest req;
      req.set_id(id);
      req.set_message("Berkas sudah dapat diambil di loket 3");
      return MustCall(s, &CmpStub::PostFollowUp, who, req).complaint();
    }
    if (action == "complete") {
      cv1::CompleteComplaintRequest req;
      req.set_id(id);
      req.set_note("Selesai");
      return MustCall(s, &CmpStub::CompleteComplaint, who, req).complaint();
    }
    if (action == "forward") {
      cv1::ForwardComplaintRequest req;
      req.set_id(id);
      req.set_to_agency_id(unit);
      req.set_reason("Bukan kewenangan kami: izin bangunan ada di kota");
      return MustCall(s, &CmpStub::ForwardComplaint, who, req).complaint();
    }
    if (action == "escalate") {
      cv1::EscalateComplaintRequest req;
      req.set_id(id);
      req.set_reason("Kepala dinas minta ditangani langsung");
      return MustCall(s, &CmpStub::EscalateComplaint, who, req).complaint();
    }
    ADD_FAILURE() << "unknown action " << action;
    return {};
  }

  void Rate(const Filed& f, int rating) {
    cv1::RateComplaintRequest req;
    req.set_tracking_code(f.id);
    req.set_secret(f.secret);
    req.set_rating(rating);
    req.set_comment("Terima kasih");
    MustCall(complaints_stub_.get(), &CmpStub::RateComplaint, public_, req);
  }

  // Resolve takes a complaint of Padang Pariaman from filing to completion and a rating.
  void Resolve(const Filed& f, int rating) {
    for (const char* action : {"verify", "dispose", "start", "follow-up"}) {
      Work(pp_op_, f.id, action);
    }
    EXPECT_EQ(Work(pp_admin_, f.id, "complete").state(), cv1::STATE_COMPLETED);
    Rate(f, rating);
  }

  // ---- state -------------------------------------------------------------------------

  std::unique_ptr<ServiceCluster> cluster_;
  simpul::testing::ServiceProcess* complaints_ = nullptr;
  simpul::testing::ServiceProcess* monitoring_ = nullptr;
  std::unique_ptr<rv1::Registry::Stub> registry_stub_;
  std::unique_ptr<cv1::Complaints::Stub> complaints_stub_;
  std::unique_ptr<MonStub> stub_;
  Caller pp_admin_, pp_op_, bogor_admin_, bogor_op_, root_, sms_, kiosk_, public_;
};

// ---------------------------------------------------------------------------------------
// 1. Survey figures

TEST_F(MonitoringE2ETest, SurveyFiguresMatchAHandComputedIkm) {
  // February 2026 in WIB; the last one is 00:30 WIB on 1 February, which is still 31 January
  // in UTC: it must count in February (HandComputedSurveyResponses).
  const std::vector<v1::SurveyResponse> batch =
      simpul::testing::HandComputedSurveyResponses(kPpUnit);
  v1::SubmitSurveyResponsesResponse first = MustSubmit(pp_admin_, batch);
  EXPECT_EQ(first.applied(), 4);
  EXPECT_EQ(first.repeated(), 0);

  const std::vector<v1::Scope> scopes = {UnitScope(kPpUnit), AgencyScope(kPp), RegionScope("13"),
                                         RegionScope("13.05"), National()};
  const std::vector<v1::Period> periods = {Month(2026, 2), Quarter(2026, 1), Semester(2026, 1),
                                           Year(2026)};
  const auto want = Parse<v1::SurveyFigures>(kHandComputedSurvey);
  auto expect_all = [&](const std::string& when) {
    for (const auto& scope : scopes) {
      for (const auto& period : periods) {
        v1::Figures f = Figures(scope, period);
        EXPECT_EQ(Diff(want, f.survey()), "") << when << ": " << Describe(scope, period);
        EXPECT_EQ(Diff(scope, f.scope()), "");
        EXPECT_EQ(Diff(period, f.period()), "");
      }
    }
  };
  expect_all("after the batch");
  // WIB periods: nothing in January (the 00:30 WIB response is not in the UTC month), nothing
  // for the other agency's scopes.
  for (const auto& [scope, period] :
       {std::pair{UnitScope(kPpUnit), Month(2026, 1)}, std::pair{National(), Month(2026, 1)},
        std::pair{National(), Quarter(2026, 2)}, std::pair{AgencyScope(kBogor), Year(2026)},
        std::pair{RegionScope("32"), Year(2026)}, std::pair{UnitScope(kPpUnit2), Year(2026)}}) {
    v1::Figures f = Figures(scope, period);
    EXPECT_EQ(f.survey().respondents(), 0) << Describe(scope, period);
    EXPECT_EQ(f.survey().ikm(), "") << Describe(scope, period);
    EXPECT_EQ(f.survey().grade(), "") << Describe(scope, period);
  }

  // The same batch again (another caller of the agency): every response is a repeat.
  v1::SubmitSurveyResponsesResponse again = MustSubmit(pp_op_, batch);
  EXPECT_EQ(again.applied(), 0);
  EXPECT_EQ(again.repeated(), 4);
  expect_all("after the repeat");
  // Each response's idempotency key and ledger are kept for --input_retention (72h here).
  {
    RedisPool pool(cluster_->redis().PoolOptions());
    for (const char* kind : {"d", "l"}) {
      const std::string key = absl::StrCat("simpul:mon:{m}:", kind, ":survey:", kPpUnit, ":",
                                           batch[0].idempotency_key());
      absl::StatusOr<RedisReply> ttl = pool.Command({"PTTL", key});
      ASSERT_TRUE(ttl.ok()) << ttl.status();
      EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(71))) << key;
      EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(72))) << key;
    }
  }

  // One batch, four bad responses and a good one: rejected whole, each bad field named.
  const v1::SurveyResponse good =
      Response("skm-pp-2026-06-good", kPpUnit, WibTime(2026, 6, 2, 10, 0), kSurveyAnswers[0]);
  std::vector<v1::SurveyResponse> bad = {good};
  const absl::Time feb10 = WibTime(2026, 2, 10, 9, 0);  // the time of batch[0]
  bad.push_back(Response("skm-bad-answer", kPpUnit, feb10, {4, 4, 5, 4, 4, 4, 4, 4, 4}));
  bad.push_back(Response("skm-bad-count", kPpUnit, feb10, {4, 4, 4, 4, 4, 4, 4, 4}));
  bad.push_back(Response("skm-bad-unit", "no-such-unit", feb10, kSurveyAnswers[0]));
  bad.push_back(Response("skm-bad-time", kPpUnit, absl::Now() + absl::Hours(2), kSurveyAnswers[0]));
  v1::SubmitSurveyResponsesResponse rejected;
  grpc::Status s = Submit(pp_admin_, bad, &rejected);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(simpul::testing::FieldViolations(s),
              UnorderedElementsAre("responses[1].answers.u3", "responses[2].answers",
                                   "responses[3].unit_id", "responses[4].response_time"))
      << s.error_message();
  expect_all("after the rejected batch");
  // Nothing of it was applied: the good response is new when sent alone (in June, so the
  // February, Q1 and S1 figures stay as computed).
  v1::SubmitSurveyResponsesResponse alone = MustSubmit(pp_admin_, {good});
  EXPECT_EQ(alone.applied(), 1);
  EXPECT_EQ(alone.repeated(), 0);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 6)).survey().respondents(), 1);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Year(2026)).survey().respondents(), 5);
  EXPECT_EQ(Diff(want, Figures(AgencyScope(kPp), Quarter(2026, 1)).survey()), "");

  // Who may submit: a public caller may not; another agency's admin may not; a survey kiosk
  // (channel) and a platform admin may.
  const v1::SurveyResponse july =
      Response("skm-pp-2026-07-a", kPpUnit, WibTime(2026, 7, 1, 9, 0), kSurveyAnswers[1]);
  v1::SubmitSurveyResponsesResponse denied;
  s = Submit(public_, {july}, &denied);
  EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << s.error_message();
  s = Submit(bogor_admin_, {july}, &denied);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 7)).survey().respondents(), 0);
  EXPECT_EQ(MustSubmit(kiosk_, {july}).applied(), 1);
  EXPECT_EQ(MustSubmit(root_, {Response("skm-pp-2026-07-b", kPpUnit, WibTime(2026, 7, 2, 9, 0),
                                        kSurveyAnswers[1])})
                .applied(),
            1);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 7)).survey().respondents(), 2);
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 7)).survey().ikm(), "75.00");
  ExpectNoErrorsLogged();
}

// ---------------------------------------------------------------------------------------
// 2. Delivery figures

TEST_F(MonitoringE2ETest, DeliveryFigures) {
  // Akta kelahiran promises 1 working day. Received Thu 19 March 2026 (Nyepi): 20 March is
  // collective leave, 21–22 the weekend (and Idul Fitri), 23–24 collective leave, so the first
  // working day after is Wed 25 March: promised by 2026-03-25 23:59:59 WIB.
  // Received Mon 2 March: promised by Tue 3 March 23:59:59 WIB (second resolution).
  //   app    received            completed               minutes        on time
  //   A1     19 Mar 10:00        25 Mar 15:00            8940           yes
  //   A2     19 Mar 11:00        26 Mar 09:00            9960           no
  //   A3      2 Mar 08:00         3 Mar 23:59:59         2399.98→2400   yes (the last second)
  //   A4      2 Mar 08:00         4 Mar 00:00:00         2400           no
  //   A5     10 Mar 09:00        open (promised 11 Mar 23:59:59: long past → overdue)
  // March: received 5, completed 4, on time 2 (50.00%); histogram buckets of 2400 (≤2880)
  // twice, 8940 and 9960 (≤10080): median (rank 2) 2880, p90 (rank 4) 10080.
  std::vector<v1::Delivery> march = MarchDeliveries(kPpService);
  v1::RecordDeliveriesResponse recorded = MustRecord(pp_op_, march);
  EXPECT_EQ(recorded.applied(), 5);
  EXPECT_EQ(recorded.repeated(), 0);

  const auto want_march = Parse<v1::DeliveryFigures>(kMarchDeliveryFigures);
  const std::vector<v1::Scope> pp_scopes = {UnitScope(kPpUnit), AgencyScope(kPp), RegionScope("13"),
                                            RegionScope("13.05"), National()};
  // A5's promise passed long ago: the sweep (every second) moves it to open_overdue.
  v1::Figures unit_march;
  EXPECT_TRUE(PollUntil(
      [&] {
        unit_march = Figures(UnitScope(kPpUnit), Month(2026, 3));
        return unit_march.delivery().open_overdue() == 1;
      },
      absl::Seconds(10)))
      << unit_march.delivery().DebugString() << monitoring_->Log();
  for (const auto& scope : pp_scopes) {
    for (const auto& period : {Month(2026, 3), Quarter(2026, 1), Semester(2026, 1), Year(2026)}) {
      v1::DeliveryFigures got = Figures(scope, period).delivery();
      if (scope.has_unit_id()) {  // the unit's figures name the version that judged them
        ASSERT_EQ(got.judged_by_size(), 1) << Describe(scope, period);
        EXPECT_EQ(got.judged_by(0).standard_version_id(), "akta-kelahiran.v1");
        EXPECT_EQ(got.judged_by(0).completed(), 4);
        EXPECT_EQ(got.judged_by(0).completed_on_time(), 2);
        got.clear_judged_by();
      }
      EXPECT_EQ(Diff(want_march, got), "") << Describe(scope, period);
    }
  }
  // Completed deliveries are the survey's population: 4 in March → minimum sample 4.
  EXPECT_EQ(unit_march.survey().population(), 4);
  EXPECT_EQ(unit_march.survey().minimum_sample(), 4);

  // Repeats: the same idempotency key, and the same application under another key.
  v1::RecordDeliveriesResponse again = MustRecord(pp_op_, march);
  EXPECT_EQ(again.applied(), 0);
  EXPECT_EQ(again.repeated(), 5);
  v1::Delivery a1_other_key = march[0];
  a1_other_key.set_idempotency_key("dlv-a1-resent");
  again = MustRecord(pp_admin_, {a1_other_key});
  EXPECT_EQ(again.applied(), 0);
  EXPECT_EQ(again.repeated(), 1);
  EXPECT_EQ(Diff(want_march, Figures(AgencyScope(kPp), Month(2026, 3)).delivery()), "");

  // Errors: T2 before T1, an unknown service; nothing of the batch is applied.
  v1::RecordDeliveriesResponse rejected;
  grpc::Status s = Record(pp_op_,
                          {Delivery("dlv-bad-0001", "AKL/2026/0099", kPpService,
                                    WibTime(2026, 3, 12, 10, 0), WibTime(2026, 3, 12, 9, 0)),
                           Delivery("dlv-bad-0002", "AKL/2026/0098", "no-such-service",
                                    WibTime(2026, 3, 12, 10, 0), std::nullopt)},
                          &rejected);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(simpul::testing::FieldViolations(s),
              UnorderedElementsAre("deliveries[0].completed_time", "deliveries[1].service_id"))
      << s.error_message();
  // Who may record: not the public, not another agency, not a channel.
  const v1::Delivery a6 = Delivery("dlv-a6-0001", "AKL/2026/0006", kPpService,
                                   WibTime(2026, 3, 12, 10, 0), WibTime(2026, 3, 12, 11, 0));
  EXPECT_EQ(Record(public_, {a6}, &rejected).error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Record(bogor_admin_, {a6}, &rejected).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Record(kiosk_, {a6}, &rejected).error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Diff(want_march, Figures(AgencyScope(kPp), Month(2026, 3)).delivery()), "");

  // A5 completed now: late; it leaves open_overdue of March and counts as completed now.
  const absl::Time now = absl::Now() - absl::Seconds(1);
  v1::Delivery a5_done = march[4];
  a5_done.set_idempotency_key("dlv-a5-0002");
  *a5_done.mutable_completed_time() = Ts(now);
  EXPECT_EQ(MustRecord(pp_op_, {a5_done}).applied(), 1);
  v1::DeliveryFigures march_after = want_march;
  march_after.set_open_overdue(0);
  EXPECT_EQ(Diff(march_after, Figures(AgencyScope(kPp), Month(2026, 3)).delivery()), "");
  v1::DeliveryFigures this_month = Figures(UnitScope(kPpUnit), MonthOf(now)).delivery();
  EXPECT_EQ(this_month.completed(), 1);
  EXPECT_EQ(this_month.completed_on_time(), 0);
  EXPECT_EQ(this_month.on_time_share(), "0.00");
  v1::DeliveryFigures pp_year = Figures(AgencyScope(kPp), Year(2026)).delivery();
  EXPECT_EQ(pp_year.received(), 5);
  EXPECT_EQ(pp_year.completed(), 5);
  EXPECT_EQ(pp_year.completed_on_time(), 2);
  EXPECT_EQ(pp_year.on_time_share(), "40.00");
  EXPECT_EQ(pp_year.open(), 0);
  EXPECT_EQ(pp_year.open_overdue(), 0);

  // Pbg Bogor promises 2 hours, exactly (no rounding to the end of a day):
  //   C1 received Mon 6 April 08:00, completed 10:00:00 → on time (120 min, bucket ≤120)
  //   C2 received Mon 6 April 09:00, completed 11:00:01 → late (120.02 → 121 min, ≤240)
  EXPECT_EQ(MustRecord(bogor_op_, HourDeliveries(kBogorService)).applied(), 2);
  EXPECT_EQ(Diff(Parse<v1::DeliveryFigures>(kHourDeliveryFigures),
                 Figures(RegionScope("32.71"), Month(2026, 4)).delivery()),
            "");

  // An open application whose promise passes during the test: received 2 h − 6 s ago. It is
  // open first, overdue once the promise has passed (bounded poll), and completing it later
  // takes it out of open_overdue. Another, received a minute ago, stays open.
  // (Whole seconds, as the timestamps sent carry no fraction.)
  const absl::Time b1_received =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(2) + absl::Seconds(6)));
  const v1::Delivery b1 = Delivery("dlv-b1-0001", "PBG-3", kBogorService, b1_received, {});
  const v1::Delivery b2 =
      Delivery("dlv-b2-0001", "PBG-4", kBogorService, absl::Now() - absl::Minutes(1), {});
  EXPECT_EQ(MustRecord(bogor_admin_, {b1, b2}).applied(), 2);
  const v1::Period year = YearOf(b1_received);
  v1::DeliveryFigures bogor = Figures(UnitScope(kBogorUnit), year).delivery();
  EXPECT_EQ(bogor.open(), 2) << bogor.DebugString();
  EXPECT_EQ(bogor.open_overdue(), 0) << bogor.DebugString();
  EXPECT_TRUE(PollUntil(
      [&] {
        bogor = Figures(UnitScope(kBogorUnit), year).delivery();
        return bogor.open_overdue() == 1;
      },
      absl::Seconds(15)))
      << bogor.DebugString();
  EXPECT_EQ(bogor.open(), 1);
  EXPECT_GE(absl::Now(), b1_received + absl::Hours(2)) << "moved to overdue before its promise";
  // Completed (whole seconds) clearly after the promise: late.
  EXPECT_TRUE(
      PollUntil([&] { return absl::Now() >= b1_received + absl::Hours(2) + absl::Seconds(2); },
                absl::Seconds(5)));
  v1::Delivery b1_done = b1;
  b1_done.set_idempotency_key("dlv-b1-0002");
  *b1_done.mutable_completed_time() = Ts(absl::Now());
  EXPECT_EQ(MustRecord(bogor_op_, {b1_done}).applied(), 1);
  bogor = Figures(UnitScope(kBogorUnit), year).delivery();
  EXPECT_EQ(
      Diff(Parse<v1::DeliveryFigures>(R"pb(
             received: 4
             completed: 3
             completed_on_time: 1
             on_time_share: "33.33"
             median_minutes: 240
             p90_minutes: 240
             open: 1
             open_overdue: 0
             judged_by { standard_version_id: "pbg-bogor.v1" completed: 3 completed_on_time: 1 }
           )pb"),
           bogor),
      "");
  ExpectNoErrorsLogged();
}

// ---------------------------------------------------------------------------------------
// 2b. The standard in force (issue #15, points 2 and 4), through the real registry: the
// service "legalisir-akta" of Padang Pariaman (WIB) gets v1 promising 5 working days (decree
// 20 January, effective 1 February 2026), then v2 promising 3 working days, effective
// 1 April 2026 (in force from 2026-04-01 00:00 WIB = 2026-03-31T17:00:00Z). Deadlines are
// counted by hand on the 2026 calendar (Fri 3 April Good Friday; weekends off), each ending
// 23:59:59 WIB of the last working day.
TEST_F(MonitoringE2ETest, DeliveriesAreJudgedByTheStandardInForceWhenReceived) {
  simpul::testing::RegistrySeeder seed(registry_stub_.get());
  seed.CreateService(pp_admin_, "legalisir-akta", kPpUnit, "Legalisir Akta");
  seed.CreateService(pp_admin_, "parkir-pp", kPpUnit, "Retribusi Parkir");  // no standard
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(
      Adopt(pp_op_, pp_admin_, "legalisir-akta", 5, rv1::TIME_UNIT_WORKING_DAY));
  rv1::StandardComponents components = CompleteComponents();
  components.mutable_completion_time()->set_amount(3);
  components.mutable_completion_time()->set_unit(rv1::TIME_UNIT_WORKING_DAY);
  rv1::StandardVersion draft = seed.DraftInConsultation(pp_op_, "legalisir-akta", components);
  ASSERT_FALSE(HasFailure());
  rv1::AdoptStandardVersionRequest adopt = simpul::testing::AdoptRequest(draft);
  *adopt.mutable_adoption()->mutable_effective_from() = simpul::testing::MakeDate(2026, 4, 1);
  rv1::AdoptStandardVersionResponse adopted;
  ASSERT_NO_FATAL_FAILURE(
      RegistryMust(&rv1::Registry::Stub::AdoptStandardVersion, pp_admin_, adopt, &adopted));
  ASSERT_EQ(adopted.version().id(), "legalisir-akta.v2");

  const std::vector<v1::Delivery> batch = {
      // A: received Mon 30 Mar 10:00 under v1: Tue 31 (1), Wed 1 Apr (2), Thu 2 (3), [Fri 3,
      // weekend], Mon 6 (4), Tue 7 (5) -> due Tue 7 Apr; completed Tue 7 Apr 15:00: on time
      // (v2's 3 days would have made it due Thu 2 Apr: late).
      Delivery("e2e-inforce-a", "LGA-A", "legalisir-akta", WibTime(2026, 3, 30, 10),
               WibTime(2026, 4, 7, 15)),
      // B: received Wed 1 Apr 00:00:00 WIB, v2's first second: Thu 2 (1), [Fri 3, weekend],
      // Mon 6 (2), Tue 7 (3) -> due Tue 7 Apr; completed Wed 8 Apr 09:00: late.
      Delivery("e2e-inforce-b", "LGA-B", "legalisir-akta", WibTime(2026, 4, 1, 0, 0, 0),
               WibTime(2026, 4, 8, 9)),
      // C: received Tue 31 Mar 23:59:59 WIB, v1's last second: Wed 1 (1), Thu 2 (2), [Fri 3,
      // weekend], Mon 6 (3), Tue 7 (4), Wed 8 (5) -> due Wed 8 Apr; completed 8 Apr 09:00: on
      // time.
      Delivery("e2e-inforce-c", "LGA-C", "legalisir-akta", WibTime(2026, 3, 31, 23, 59, 59),
               WibTime(2026, 4, 8, 9)),
      // D: received 15 Jan 2026, before v1's effective date: not applicable.
      Delivery("e2e-inforce-d", "LGA-D", "legalisir-akta", WibTime(2026, 1, 15, 10),
               WibTime(2026, 1, 20, 10)),
      // P: a service without a standard: not applicable, counted for volume.
      Delivery("e2e-inforce-p", "PRK-P", "parkir-pp", WibTime(2026, 4, 2, 10),
               WibTime(2026, 4, 2, 11)),
  };
  v1::RecordDeliveriesResponse resp = MustRecord(pp_op_, batch);
  EXPECT_EQ(resp.applied(), 5);
  struct Want {
    std::string app;
    v1::Timeliness timeliness;
    std::optional<absl::Time> deadline;
    std::string version;
  };
  auto expect_results = [&](const v1::RecordDeliveriesResponse& r, const std::vector<Want>& want,
                            bool applied) {
    ASSERT_EQ(r.results_size(), static_cast<int>(want.size())) << r.DebugString();
    for (size_t i = 0; i < want.size(); ++i) {
      const v1::DeliveryResult& got = r.results(static_cast<int>(i));
      SCOPED_TRACE(want[i].app);
      EXPECT_EQ(got.application_id(), want[i].app);
      EXPECT_EQ(got.applied(), applied);
      EXPECT_EQ(v1::Timeliness_Name(got.timeliness()), v1::Timeliness_Name(want[i].timeliness));
      EXPECT_EQ(got.has_deadline(), want[i].deadline.has_value());
      if (want[i].deadline)
        EXPECT_EQ(got.deadline().seconds(), absl::ToUnixSeconds(*want[i].deadline));
      EXPECT_EQ(got.standard_version_id(), want[i].version);
    }
  };
  const std::vector<Want> want = {
      {"LGA-A", v1::TIMELINESS_ON_TIME, WibTime(2026, 4, 7, 23, 59, 59), "legalisir-akta.v1"},
      {"LGA-B", v1::TIMELINESS_LATE, WibTime(2026, 4, 7, 23, 59, 59), "legalisir-akta.v2"},
      {"LGA-C", v1::TIMELINESS_ON_TIME, WibTime(2026, 4, 8, 23, 59, 59), "legalisir-akta.v1"},
      {"LGA-D", v1::TIMELINESS_NOT_APPLICABLE, std::nullopt, ""},
      {"PRK-P", v1::TIMELINESS_NOT_APPLICABLE, std::nullopt, ""},
  };
  ASSERT_NO_FATAL_FAILURE(expect_results(resp, want, /*applied=*/true));
  // The whole batch again: all repeats, the same answers in the same order.
  v1::RecordDeliveriesResponse again = MustRecord(pp_op_, batch);
  EXPECT_EQ(again.repeated(), 5);
  ASSERT_NO_FATAL_FAILURE(expect_results(again, want, /*applied=*/false));

  // The unit in April: completed A (on time, v1), B (late, v2), C (on time, v1) and P (not
  // applicable, 60 minutes): 4 completed, 1 not applicable, on-time share 2 of 3 = 66.67%.
  // Received in April: B and P (P not applicable).
  v1::DeliveryFigures april = Figures(UnitScope(kPpUnit), Month(2026, 4)).delivery();
  EXPECT_EQ(april.received(), 2);
  EXPECT_EQ(april.received_not_applicable(), 1);
  EXPECT_EQ(april.completed(), 4);
  EXPECT_EQ(april.completed_not_applicable(), 1);
  EXPECT_EQ(april.completed_on_time(), 2);
  EXPECT_EQ(april.on_time_share(), "66.67");
  EXPECT_EQ(april.open(), 0);
  ASSERT_EQ(april.judged_by_size(), 2) << april.DebugString();
  EXPECT_EQ(april.judged_by(0).standard_version_id(), "legalisir-akta.v1");
  EXPECT_EQ(april.judged_by(0).completed(), 2);
  EXPECT_EQ(april.judged_by(0).completed_on_time(), 2);
  EXPECT_EQ(april.judged_by(1).standard_version_id(), "legalisir-akta.v2");
  EXPECT_EQ(april.judged_by(1).completed(), 1);
  EXPECT_EQ(april.judged_by(1).completed_on_time(), 0);
  // The agency's share is the same, without the per-version counts.
  v1::DeliveryFigures agency = Figures(AgencyScope(kPp), Month(2026, 4)).delivery();
  EXPECT_EQ(agency.on_time_share(), "66.67");
  EXPECT_EQ(agency.judged_by_size(), 0);
  // January: D completed, volume only, no share.
  v1::DeliveryFigures january = Figures(UnitScope(kPpUnit), Month(2026, 1)).delivery();
  EXPECT_EQ(january.completed(), 1);
  EXPECT_EQ(january.completed_not_applicable(), 1);
  EXPECT_EQ(january.on_time_share(), "");
  ExpectNoErrorsLogged();
}

// 3. Complaint KPIs from the complaint service's events

TEST_F(MonitoringE2ETest, ComplaintKpisFromEvents) {
  const absl::Time start = absl::Now();
  // Padang Pariaman: c1 by SMS, resolved and rated 4; c2 on the web (an aspiration), resolved
  // and rated 5; c3 on the web, forwarded to Kota Bogor, which disposes it to its unit and
  // escalates it. Kota Bogor: c4 by SMS, open.
  Filed c1 = File(sms_, "sms-kpi-000001", cv1::CHANNEL_SMS, cv1::REPORT_TYPE_COMPLAINT, kPpService);
  Filed c2 =
      File(public_, "web-kpi-000002", cv1::CHANNEL_WEB, cv1::REPORT_TYPE_ASPIRATION, kPpService);
  Filed c3 =
      File(public_, "web-kpi-000003", cv1::CHANNEL_WEB, cv1::REPORT_TYPE_COMPLAINT, kPpService);
  Filed c4 =
      File(sms_, "sms-kpi-000004", cv1::CHANNEL_SMS, cv1::REPORT_TYPE_COMPLAINT, kBogorService);
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(Resolve(c1, 4));
  ASSERT_NO_FATAL_FAILURE(Resolve(c2, 5));
  Work(pp_op_, c3.id, "verify");
  EXPECT_EQ(Work(pp_admin_, c3.id, "forward", kBogor).agency_id(), kBogor);
  EXPECT_EQ(Work(bogor_op_, c3.id, "dispose", kBogorUnit).unit_id(), kBogorUnit);
  EXPECT_EQ(Work(bogor_admin_, c3.id, "escalate").state(), cv1::STATE_ESCALATED);
  ASSERT_FALSE(HasFailure());
  const absl::Time end = absl::Now();
  // Events go to the periods of when they happened (all within this test, normally one month).
  const v1::Period period = MonthOf(start);
  if (MonthOf(end).index() != period.index()) GTEST_SKIP() << "ran across a month boundary";

  // Everything was filed, resolved and rated today: 0 working days to the first response and
  // to completion, both on time.
  const std::string pp = R"pb(
    received: 3
    by_channel { key: "SMS" value: 1 }
    by_channel { key: "WEB" value: 2 }
    by_type { key: "COMPLAINT" value: 2 }
    by_type { key: "ASPIRATION" value: 1 }
    resolved: 2
    resolved_on_time: 2
    resolved_on_time_share: "100.00"
    median_working_days_to_first_response: 0
    median_working_days_to_completion: 0
    escalations: 0
    average_rating: "4.50"
    ratings: 2
    open_backlog: 0
  )pb";
  // Kota Bogor holds c4 and the forwarded c3 (disposed to its unit, so also in the unit's and
  // the region's backlog); c3's receipt stays with Padang Pariaman, where it was filed.
  const std::string bogor = R"pb(
    received: 1
    by_channel { key: "SMS" value: 1 }
    by_type { key: "COMPLAINT" value: 1 }
    resolved: 0
    resolved_on_time: 0
    resolved_on_time_share: ""
    escalations: 1
    average_rating: ""
    ratings: 0
    open_backlog: 2
  )pb";
  const std::string national = R"pb(
    received: 4
    by_channel { key: "SMS" value: 2 }
    by_channel { key: "WEB" value: 2 }
    by_type { key: "COMPLAINT" value: 3 }
    by_type { key: "ASPIRATION" value: 1 }
    resolved: 2
    resolved_on_time: 2
    resolved_on_time_share: "100.00"
    escalations: 1
    average_rating: "4.50"
    ratings: 2
    open_backlog: 2
  )pb";
  const std::vector<std::pair<v1::Scope, std::string>> want = {
      {National(), national},         {AgencyScope(kPp), pp},     {UnitScope(kPpUnit), pp},
      {RegionScope("13"), pp},        {RegionScope("13.05"), pp}, {AgencyScope(kBogor), bogor},
      {UnitScope(kBogorUnit), bogor}, {RegionScope("32"), bogor}, {RegionScope("32.71"), bogor},
  };
  // The consumer applies the events asynchronously: poll (bounded) until the national figures
  // match (every event but dispositions counts there), then until every scope matches.
  std::map<std::string, std::string> diffs;
  auto all_match = [&](size_t scopes) {
    diffs.clear();
    for (size_t i = 0; i < scopes; ++i) {
      const auto& [scope, text] = want[i];
      std::string d = Diff(Parse<v1::ComplaintFigures>(text), Figures(scope, period).complaints());
      if (!d.empty()) diffs[scope.ShortDebugString()] = d;
    }
    return diffs.empty();
  };
  EXPECT_TRUE(PollUntil([&] { return all_match(1); }, absl::Seconds(15))) << monitoring_->Log();
  const bool matched = PollUntil([&] { return all_match(want.size()); }, absl::Seconds(3));
  EXPECT_TRUE(matched);
  for (const auto& [scope, d] : diffs) ADD_FAILURE() << scope << ":\n" << d;
  // Nothing lands on the periods before.
  EXPECT_EQ(Figures(National(), Month(2026, 1)).complaints().received(), 0);
  (void)c4;
  ExpectNoErrorsLogged();
}

// ---------------------------------------------------------------------------------------
// 4. Rankings and time series

TEST_F(MonitoringE2ETest, RankingsAndTimeSeries) {
  // Disdukcapil: two all-4 questionnaires in January (100.00) and kSurveyAnswers in March (84.49),
  // one batch. Q1 over the six: U1 21/6, U2 20/6, U3 20/6, U4 19/5, U5..U9 22/6 each;
  // Σ = 3.5 + 40/6 + 3.8 + 110/6 = 32.3; IKM = 25 × 32.3 / 9 = 89.722… → 89.72.
  std::vector<v1::SurveyResponse> pp1 = {
      Response("rank-pp1-jan-1", kPpUnit, WibTime(2026, 1, 15, 10, 0), kSurveyAnswers[0]),
      Response("rank-pp1-jan-2", kPpUnit, WibTime(2026, 1, 16, 10, 0), kSurveyAnswers[0])};
  for (size_t i = 0; i < kSurveyAnswers.size(); ++i) {
    pp1.push_back(Response(absl::StrCat("rank-pp1-mar-", i), kPpUnit,
                           WibTime(2026, 3, 5 + static_cast<int>(i), 9, 0), kSurveyAnswers[i]));
  }
  EXPECT_EQ(MustSubmit(pp_op_, pp1).applied(), 6);
  // Dinkes: three all-2 questionnaires in February (kiosk): 50.00.
  std::vector<v1::SurveyResponse> pp2;
  for (int i = 0; i < 3; ++i) {
    pp2.push_back(Response(absl::StrCat("rank-pp2-feb-", i), kPpUnit2,
                           WibTime(2026, 2, 10 + i, 9, 0), std::vector<int>(9, 2)));
  }
  EXPECT_EQ(MustSubmit(kiosk_, pp2).applied(), 3);
  // DPMPTSP Bogor: one all-4 in March: 100.00.
  EXPECT_EQ(MustSubmit(bogor_admin_, {Response("rank-bogor-mar-0", kBogorUnit,
                                               WibTime(2026, 3, 10, 9, 0), kSurveyAnswers[0])})
                .applied(),
            1);

  using Ranked = std::vector<std::pair<std::string, std::string>>;
  const Ranked pp_q1 = {{kPpUnit, "89.72"}, {kPpUnit2, "50.00"}};
  const Ranked pp_q1_bottom = {{kPpUnit2, "50.00"}, {kPpUnit, "89.72"}};
  for (const auto& scope : {AgencyScope(kPp), RegionScope("13"), RegionScope("13.05")}) {
    for (const auto& period : {Quarter(2026, 1), Semester(2026, 1), Year(2026)}) {
      EXPECT_EQ(Rank(scope, period, 10), pp_q1) << Describe(scope, period);
      EXPECT_EQ(Rank(scope, period, 10, /*bottom=*/true), pp_q1_bottom) << Describe(scope, period);
      EXPECT_EQ(Rank(scope, period, 1), Ranked({{kPpUnit, "89.72"}})) << Describe(scope, period);
      EXPECT_EQ(Rank(scope, period, 1, true), Ranked({{kPpUnit2, "50.00"}}))
          << Describe(scope, period);
    }
  }
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 3), 10), Ranked({{kPpUnit, "84.49"}}));
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 2), 10), Ranked({{kPpUnit2, "50.00"}}));
  // The January responses came in the same batch as the March ones: January's ranking must
  // know the unit too.
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 1), 10), Ranked({{kPpUnit, "100.00"}}))
      << "the ranking of a month whose responses arrived in a batch with later months";
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 4), 10), Ranked());
  for (const auto& scope : {AgencyScope(kBogor), RegionScope("32"), RegionScope("32.71")}) {
    EXPECT_EQ(Rank(scope, Quarter(2026, 1), 10), Ranked({{kBogorUnit, "100.00"}}))
        << scope.ShortDebugString();
  }
  // Nationally: every unit with responses.
  EXPECT_EQ(Rank(National(), Quarter(2026, 1), 10),
            Ranked({{kBogorUnit, "100.00"}, {kPpUnit, "89.72"}, {kPpUnit2, "50.00"}}));
  // The agency's figures agree with the ranking's inputs: Q1 over nine respondents
  // (Σ = 3 + 26/9 + 26/9 + 25/8 + 5 × 28/9 = 1977/72; IKM = 25 × 1977/648 = 76.273… → 76.27).
  EXPECT_EQ(Figures(AgencyScope(kPp), Quarter(2026, 1)).survey().ikm(), "76.27");

  // Time series: values only in months with data.
  v1::GetTimeSeriesRequest series;
  *series.mutable_scope() = UnitScope(kPpUnit);
  series.set_metric(v1::METRIC_IKM);
  *series.mutable_from() = Month(2025, 12);
  series.set_count(6);
  v1::GetTimeSeriesResponse points =
      MustCall(stub_.get(), &MonStub::GetTimeSeries, public_, series);
  std::vector<std::string> got;
  for (const auto& p : points.points()) {
    got.push_back(absl::StrCat(p.period().year(), "-", p.period().index(), "=", p.value()));
  }
  EXPECT_THAT(got, ElementsAre("2025-12=", "2026-1=100.00", "2026-2=", "2026-3=84.49",
                               "2026-4=", "2026-5="));
  for (const auto& p : points.points()) EXPECT_EQ(p.period().kind(), v1::PERIOD_KIND_MONTH);
  // Quarterly for the agency, asking for more than exists: the series stops at the current
  // quarter.
  *series.mutable_scope() = AgencyScope(kPp);
  *series.mutable_from() = Quarter(2026, 1);
  series.set_count(8);
  points = MustCall(stub_.get(), &MonStub::GetTimeSeries, public_, series);
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), Wib());
  const int quarters_so_far =
      std::min<int>(8, static_cast<int>(today.year() - 2026) * 4 + (today.month() - 1) / 3 + 1);
  ASSERT_EQ(points.points_size(), quarters_so_far);
  EXPECT_EQ(points.points(0).value(), "76.27");
  for (int i = 1; i < points.points_size(); ++i) {
    EXPECT_EQ(points.points(i).value(), "") << points.points(i).ShortDebugString();
    EXPECT_EQ(points.points(i).period().kind(), v1::PERIOD_KIND_QUARTER);
  }

  // Bad arguments, each field named.
  auto rank_error = [&](const std::function<void(v1::RankUnitsRequest&)>& change) {
    v1::RankUnitsRequest req =
        simpul::testing::IkmRankRequest(AgencyScope(kPp), Quarter(2026, 1), 10);
    change(req);
    v1::RankUnitsResponse resp;
    grpc::Status s = CallAs(stub_.get(), &MonStub::RankUnits, public_, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << req.ShortDebugString();
    return simpul::testing::FieldViolations(s);
  };
  const int next_year = static_cast<int>(today.year()) + 1;
  EXPECT_THAT(rank_error([](auto& r) { r.set_metric(v1::METRIC_UNSPECIFIED); }),
              ElementsAre("metric"));
  EXPECT_THAT(rank_error([](auto& r) { r.set_limit(0); }), ElementsAre("limit"));
  EXPECT_THAT(rank_error([](auto& r) { r.set_limit(101); }), ElementsAre("limit"));
  EXPECT_THAT(rank_error([](auto& r) { *r.mutable_scope() = UnitScope(kPpUnit); }),
              ElementsAre("scope.unit_id"));
  EXPECT_THAT(rank_error([](auto& r) { *r.mutable_scope() = RegionScope("1"); }),
              ElementsAre("scope.region_code_prefix"));
  EXPECT_THAT(rank_error([&](auto& r) { *r.mutable_period() = Year(next_year); }),
              ElementsAre("period"));
  EXPECT_THAT(rank_error([](auto& r) { *r.mutable_period() = Month(2026, 13); }),
              ElementsAre("period.index"));
  EXPECT_THAT(rank_error([](auto& r) {
                r.set_limit(0);
                r.set_metric(v1::METRIC_UNSPECIFIED);
              }),
              UnorderedElementsAre("limit", "metric"));

  auto series_error = [&](const std::function<void(v1::GetTimeSeriesRequest&)>& change) {
    v1::GetTimeSeriesRequest req;
    *req.mutable_scope() = UnitScope(kPpUnit);
    req.set_metric(v1::METRIC_IKM);
    *req.mutable_from() = Month(2026, 1);
    req.set_count(3);
    change(req);
    v1::GetTimeSeriesResponse resp;
    grpc::Status s = CallAs(stub_.get(), &MonStub::GetTimeSeries, public_, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << req.ShortDebugString();
    return simpul::testing::FieldViolations(s);
  };
  EXPECT_THAT(series_error([](auto& r) { r.set_metric(v1::METRIC_UNSPECIFIED); }),
              ElementsAre("metric"));
  EXPECT_THAT(series_error([](auto& r) { r.set_count(0); }), ElementsAre("count"));
  EXPECT_THAT(series_error([](auto& r) { r.set_count(121); }), ElementsAre("count"));
  EXPECT_THAT(series_error([](auto& r) { r.clear_scope(); }), ElementsAre("scope"));
  EXPECT_THAT(series_error([&](auto& r) { *r.mutable_from() = Month(next_year, 1); }),
              ElementsAre("from"));
  EXPECT_THAT(
      series_error([](auto& r) { r.mutable_from()->set_kind(v1::PERIOD_KIND_UNSPECIFIED); }),
      ElementsAre("from.kind"));

  v1::Figures ignored;
  grpc::Status s = TryFigures(National(), Year(next_year), &ignored);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(simpul::testing::FieldViolations(s), ElementsAre("period")) << s.error_message();
  s = TryFigures(UnitScope("Not A Slug"), Year(2026), &ignored);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(simpul::testing::FieldViolations(s), ElementsAre("scope.unit_id"))
      << s.error_message();
  ExpectNoErrorsLogged();
}

// ---------------------------------------------------------------------------------------
// 5. Restarts

// ---------------------------------------------------------------------------------------
// Local periods: every input counts in the periods of its unit's own time zone, in every
// scope (aggregates.h SCOPES AND PERIODS).

TEST_F(MonitoringE2ETest, InputsCountInTheirUnitsLocalPeriods) {
  // Kota Jayapura (91.71) in WIT (UTC+9); Kota Balikpapan (64.71) in WITA (UTC+8) with a
  // service promised in 3 calendar days; Kota Bogor's unit is in WIB (UTC+7).
  const std::string jayapura = "kota-jayapura", jayapura_unit = "dpmptsp-jayapura";
  const std::string balikpapan = "kota-balikpapan", balikpapan_unit = "dpmptsp-balikpapan";
  const std::string balikpapan_service = "izin-usaha-balikpapan";
  const Caller jyp_admin{"jyp_admin",
                         Token(common::v1::ROLE_AGENCY_ADMIN, jayapura, "", "admin@jyp")};
  const Caller bpp_admin{"bpp_admin",
                         Token(common::v1::ROLE_AGENCY_ADMIN, balikpapan, "", "admin@bpp")};
  const Caller bpp_op{"bpp_op", Token(common::v1::ROLE_AGENCY_OPERATOR, balikpapan, "", "op@bpp")};
  simpul::testing::RegistrySeeder seed(registry_stub_.get());
  seed.CreateAgency(root_, jayapura, rv1::AGENCY_KIND_CITY, "91.71");
  seed.CreateAgency(root_, balikpapan, rv1::AGENCY_KIND_CITY, "64.71");
  for (const auto& [admin, unit, agency, zone] :
       {std::tuple{&jyp_admin, jayapura_unit, jayapura, common::v1::TIME_ZONE_WIT},
        std::tuple{&bpp_admin, balikpapan_unit, balikpapan, common::v1::TIME_ZONE_WITA}}) {
    rv1::CreateServiceUnitRequest req;
    req.mutable_unit()->set_id(unit);
    req.mutable_unit()->set_agency_id(agency);
    req.mutable_unit()->set_name("Dinas Penanaman Modal dan PTSP");
    req.mutable_unit()->set_time_zone(zone);
    rv1::CreateServiceUnitResponse created;
    ASSERT_NO_FATAL_FAILURE(
        RegistryMust(&rv1::Registry::Stub::CreateServiceUnit, *admin, req, &created));
  }
  seed.CreateService(bpp_admin, balikpapan_service, balikpapan_unit, "Izin Usaha");
  ASSERT_FALSE(HasFailure());
  ASSERT_NO_FATAL_FAILURE(
      Adopt(bpp_op, bpp_admin, balikpapan_service, 3, rv1::TIME_UNIT_CALENDAR_DAY));

  auto utc = [](int y, int mo, int d, int h, int mi, int sec = 0) {
    return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, sec), absl::UTCTimeZone());
  };
  // Surveys. 2026-03-31T15:30Z is 00:30 WIT on April 1 (Jayapura: April) and 22:30 WIB on
  // March 31 (Bogor: March). 2025-12-31T14:59:59Z is 23:59:59 WIT on December 31 (2025) and
  // 2025-12-31T15:00:00Z is 00:00 WIT on January 1 (2026). IKM: all 4 → 100.00, all 3 →
  // 75.00, all 2 → 50.00.
  EXPECT_EQ(MustSubmit(root_, {Response("zone-jyp-apr", jayapura_unit, utc(2026, 3, 31, 15, 30),
                                        std::vector<int>(9, 4)),
                               Response("zone-bgr-mar", kBogorUnit, utc(2026, 3, 31, 15, 30),
                                        std::vector<int>(9, 2)),
                               Response("zone-jyp-dec", jayapura_unit,
                                        utc(2025, 12, 31, 14, 59, 59), std::vector<int>(9, 4)),
                               Response("zone-jyp-jan", jayapura_unit, utc(2025, 12, 31, 15, 0),
                                        std::vector<int>(9, 3))})
                .applied(),
            4);
  auto survey = [&](const v1::Scope& scope, const v1::Period& period) {
    const v1::SurveyFigures f = Figures(scope, period).survey();
    return absl::StrCat(f.respondents(), ":", f.ikm());
  };
  // The WIT unit's April and its agency's, region's and nation's: the 00:30 WIT response.
  for (const auto& scope :
       {UnitScope(jayapura_unit), AgencyScope(jayapura), RegionScope("91"), RegionScope("91.71")}) {
    EXPECT_EQ(survey(scope, Month(2026, 4)), "1:100.00") << Describe(scope, Month(2026, 4));
    EXPECT_EQ(survey(scope, Quarter(2026, 2)), "1:100.00") << Describe(scope, Quarter(2026, 2));
    EXPECT_EQ(survey(scope, Month(2026, 3)), "0:") << Describe(scope, Month(2026, 3));
    EXPECT_EQ(survey(scope, Month(2026, 1)), "1:75.00") << Describe(scope, Month(2026, 1));
    EXPECT_EQ(survey(scope, Month(2025, 12)), "1:100.00") << Describe(scope, Month(2025, 12));
    // 2026: January's all-3 and April's all-4: (3 + 4) / 2 = 3.5 → 87.50.
    EXPECT_EQ(survey(scope, Year(2026)), "2:87.50") << Describe(scope, Year(2026));
  }
  // The WIB unit's March, at the same instant.
  EXPECT_EQ(survey(UnitScope(kBogorUnit), Month(2026, 3)), "1:50.00");
  EXPECT_EQ(survey(UnitScope(kBogorUnit), Month(2026, 4)), "0:");
  // The nation adds both units' local periods: March is Bogor's, April Jayapura's; 2026 holds
  // 3 responses (all 3, all 4, all 2: mean 3 → 75.00), 2025 the 23:59:59 WIT one.
  EXPECT_EQ(survey(National(), Month(2026, 3)), "1:50.00");
  EXPECT_EQ(survey(National(), Month(2026, 4)), "1:100.00");
  EXPECT_EQ(survey(National(), Quarter(2026, 1)), "2:62.50");  // all 3 and all 2: 2.5 → 62.50
  EXPECT_EQ(survey(National(), Year(2026)), "3:75.00");
  EXPECT_EQ(survey(National(), Year(2025)), "1:100.00");
  using Ranked = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(Rank(National(), Month(2026, 4), 10), Ranked({{jayapura_unit, "100.00"}}));
  EXPECT_EQ(Rank(National(), Month(2026, 3), 10), Ranked({{kBogorUnit, "50.00"}}));

  // A WITA delivery: received 2026-06-29T02:00Z (Mon 29 June 10:00 WITA: June, Q2, S1),
  // completed 2026-06-30T16:00:00Z (1 July 00:00:00 WITA: July, Q3, S2), 38 h = 2280 minutes
  // (histogram bound 2880), promised by 2 July 23:59:59 WITA: on time.
  EXPECT_EQ(MustRecord(bpp_admin, {Delivery("zone-bpp-0001", "IU/2026/0001", balikpapan_service,
                                            utc(2026, 6, 29, 2, 0), utc(2026, 6, 30, 16, 0))})
                .applied(),
            1);
  for (const auto& scope :
       {UnitScope(balikpapan_unit), AgencyScope(balikpapan), RegionScope("64"), National()}) {
    const v1::DeliveryFigures june = Figures(scope, Month(2026, 6)).delivery();
    EXPECT_EQ(june.received(), 1) << Describe(scope, Month(2026, 6));
    EXPECT_EQ(june.completed(), 0) << Describe(scope, Month(2026, 6));
    EXPECT_EQ(june.open(), 0) << Describe(scope, Month(2026, 6));
    for (const auto& period : {Month(2026, 7), Quarter(2026, 3), Semester(2026, 2)}) {
      const v1::DeliveryFigures done = Figures(scope, period).delivery();
      EXPECT_EQ(done.completed(), 1) << Describe(scope, period);
      EXPECT_EQ(done.on_time_share(), "100.00") << Describe(scope, period);
      EXPECT_EQ(done.median_minutes(), 2880) << Describe(scope, period);
    }
    EXPECT_EQ(Figures(scope, Semester(2026, 1)).delivery().completed(), 0);
  }
  ExpectNoErrorsLogged();
}

TEST_F(MonitoringE2ETest, RestartsLoseNothing) {
  std::vector<v1::SurveyResponse> batch;
  for (size_t i = 0; i < kSurveyAnswers.size(); ++i) {
    batch.push_back(Response(absl::StrCat("restart-skm-", i), kPpUnit,
                             WibTime(2026, 2, 3 + static_cast<int>(i), 9, 0), kSurveyAnswers[i]));
  }
  EXPECT_EQ(MustSubmit(pp_admin_, batch).applied(), 4);
  EXPECT_EQ(MustRecord(pp_op_, {Delivery("restart-dlv-1", "AKL/R/1", kPpService,
                                         WibTime(2026, 3, 19, 10, 0), WibTime(2026, 3, 25, 15, 0)),
                                Delivery("restart-dlv-2", "AKL/R/2", kPpService,
                                         WibTime(2026, 3, 2, 8, 0), std::nullopt)})
                .applied(),
            2);
  // One complaint while the service runs, counted before the crash.
  File(sms_, "sms-restart-0001", cv1::CHANNEL_SMS, cv1::REPORT_TYPE_COMPLAINT, kPpService);
  const v1::Period now_month = MonthOf(absl::Now());
  v1::Figures f;
  EXPECT_TRUE(PollUntil(
      [&] {
        f = Figures(National(), now_month);
        return f.complaints().received() == 1;
      },
      absl::Seconds(10)))
      << f.complaints().DebugString();
  // The open application becomes overdue.
  EXPECT_TRUE(
      PollUntil([&] { return Figures(National(), Month(2026, 3)).delivery().open_overdue() == 1; },
                absl::Seconds(10)));

  // Reads whose figures no complaint filed for Kota Bogor can change, and (from kMoving on)
  // reads whose complaint figures move once the events filed meanwhile are consumed.
  std::vector<std::pair<v1::Scope, v1::Period>> read = {{UnitScope(kPpUnit), Month(2026, 2)},
                                                        {AgencyScope(kPp), Quarter(2026, 1)},
                                                        {RegionScope("13"), Month(2026, 3)},
                                                        {AgencyScope(kPp), now_month},
                                                        {UnitScope(kPpUnit), Year(2026)},
                                                        {National(), Year(2026)},
                                                        {National(), now_month},
                                                        {AgencyScope(kBogor), Year(2026)}};
  constexpr size_t kMoving = 5;
  std::vector<v1::Figures> before;
  for (const auto& [scope, period] : read) before.push_back(Figures(scope, period));
  EXPECT_EQ(Diff(Parse<v1::SurveyFigures>(kHandComputedSurvey), before[0].survey()), "");

  // kill -9 monitoring and Redis; Redis returns first (AOF, appendfsync always).
  std::optional<int> killed = monitoring_->Stop(SIGKILL, absl::Seconds(10));
  ASSERT_TRUE(killed.has_value());
  cluster_->redis().Kill();
  ASSERT_THAT(cluster_->redis().Restart(), IsOk());
  // Complaints filed while monitoring is down (the complaint service reconnects to Redis).
  int filed_while_down = 0;
  EXPECT_TRUE(PollUntil(
      [&] {
        cv1::FileComplaintRequest req;
        req.set_idempotency_key(absl::StrCat("sms-restart-down-", filed_while_down));
        req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
        req.set_channel(cv1::CHANNEL_SMS);
        req.set_service_id(kBogorService);
        req.set_title("Pelayanan lambat");
        req.set_description("Izin belum terbit");
        cv1::FileComplaintResponse resp;
        if (CallAs(complaints_stub_.get(), &CmpStub::FileComplaint, sms_, req, &resp).ok()) {
          ++filed_while_down;
        }
        return filed_while_down == 2;
      },
      absl::Seconds(15)))
      << complaints_->Log();

  ASSERT_NO_FATAL_FAILURE(StartMonitoring());
  for (size_t i = 0; i < read.size(); ++i) {
    v1::Figures after = Figures(read[i].first, read[i].second);
    if (i >= kMoving) {
      EXPECT_EQ(Diff(before[i].survey(), after.survey()), "") << i;
      EXPECT_EQ(Diff(before[i].delivery(), after.delivery()), "") << i;
      continue;
    }
    EXPECT_EQ(Diff(before[i], after), "") << Describe(read[i].first, read[i].second);
  }
  // The events filed while monitoring was down are consumed after it returns, once each.
  EXPECT_TRUE(PollUntil(
      [&] {
        f = Figures(National(), now_month);
        return f.complaints().received() == 3;
      },
      absl::Seconds(15)))
      << f.complaints().DebugString() << monitoring_->Log();
  EXPECT_EQ(f.complaints().by_channel().at("SMS"), 3);
  EXPECT_EQ(f.complaints().open_backlog(), 3);
  EXPECT_EQ(Figures(AgencyScope(kBogor), now_month).complaints().received(), 2);
  EXPECT_EQ(Figures(AgencyScope(kPp), now_month).complaints().received(), 1);
  // A little later it is still 3: nothing is applied twice.
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(Figures(National(), now_month).complaints().received(), 3);
  // The restarted service still writes.
  EXPECT_EQ(MustSubmit(pp_admin_, batch).repeated(), 4);
}

// A mistaken import (survey responses for two units, a late and an open application), a crash
// of the service, then the void of the import's batch: every figure of every scope and
// period, and the rankings, are exactly as before the import; `voided` counts it, by hand.
TEST_F(MonitoringE2ETest, AVoidedImportLeavesEveryFigureAsBefore) {
  EXPECT_EQ(MustSubmit(pp_admin_, simpul::testing::HandComputedSurveyResponses(kPpUnit)).applied(),
            4);
  EXPECT_EQ(MustRecord(pp_op_, MarchDeliveries(kPpService)).applied(), 5);
  ASSERT_TRUE(
      PollUntil([&] { return Figures(National(), Month(2026, 3)).delivery().open_overdue() == 1; },
                absl::Seconds(10)));
  std::vector<std::pair<v1::Scope, v1::Period>> reads;
  for (const v1::Scope& scope : {UnitScope(kPpUnit), UnitScope(kPpUnit2), AgencyScope(kPp),
                                 RegionScope("13"), RegionScope("13.05"), National()}) {
    for (const v1::Period& period :
         {Month(2026, 2), Month(2026, 3), Quarter(2026, 1), Year(2026)}) {
      reads.emplace_back(scope, period);
    }
  }
  auto figures = [&] {
    std::vector<v1::Figures> out;
    for (const auto& [scope, period] : reads) {
      v1::Figures f = Figures(scope, period);
      f.mutable_survey()->clear_voided();
      f.mutable_delivery()->clear_voided();
      out.push_back(std::move(f));
    }
    return out;
  };
  auto ranks = [&] {
    return std::vector{Rank(AgencyScope(kPp), Month(2026, 2), 10),
                       Rank(National(), Year(2026), 10)};
  };
  const std::vector<v1::Figures> before = figures();
  const auto ranks_before = ranks();
  ASSERT_EQ(ranks_before[0].size(), 1u);

  v1::SubmitSurveyResponsesRequest survey;
  *survey.add_responses() =
      Response("impor-uji-01", kPpUnit, WibTime(2026, 2, 10, 9), {1, 1, 1, 1, 1, 1, 1, 1, 1});
  *survey.add_responses() =
      Response("impor-uji-02", kPpUnit2, WibTime(2026, 3, 10, 9), {4, 4, 4, 4, 4, 4, 4, 4, 0});
  survey.set_batch_id("impor-uji");
  MustCall(stub_.get(), &MonStub::SubmitSurveyResponses, kiosk_, survey);
  v1::RecordDeliveriesRequest deliveries;
  *deliveries.add_deliveries() = Delivery("impor-uji-d1", "UJI/1", kPpService,
                                          WibTime(2026, 3, 5, 9), WibTime(2026, 3, 12, 9));
  *deliveries.add_deliveries() =
      Delivery("impor-uji-d2", "UJI/2", kPpService, WibTime(2026, 3, 9, 9), std::nullopt);
  deliveries.set_batch_id("impor-uji");
  MustCall(stub_.get(), &MonStub::RecordDeliveries, pp_op_, deliveries);
  ASSERT_TRUE(
      PollUntil([&] { return Figures(National(), Month(2026, 3)).delivery().open_overdue() == 2; },
                absl::Seconds(10)));
  EXPECT_EQ(Rank(AgencyScope(kPp), Month(2026, 3), 10).size(), 1u);  // the second unit
  ASSERT_NE(Diff(before[0], Figures(UnitScope(kPpUnit), Month(2026, 2))), "");

  // A crash between the import and its void loses nothing the void needs.
  ASSERT_TRUE(monitoring_->Stop(SIGKILL, absl::Seconds(10)).has_value());
  ASSERT_NO_FATAL_FAILURE(StartMonitoring());

  v1::VoidInputsRequest void_req;
  void_req.set_reason("uji coba impor terkirim ke produksi");
  void_req.mutable_batch()->set_agency_id(kPp);
  void_req.mutable_batch()->set_batch_id("impor-uji");
  // Kota Bogor cannot; Padang Pariaman's admin can.
  v1::VoidInputsResponse denied;
  EXPECT_EQ(CallAs(stub_.get(), &MonStub::VoidInputs, bogor_admin_, void_req, &denied).error_code(),
            StatusCode::PERMISSION_DENIED);
  const auto voided = MustCall(stub_.get(), &MonStub::VoidInputs, pp_admin_, void_req);
  EXPECT_EQ(voided.voided(), 4);

  const std::vector<v1::Figures> after = figures();
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(Diff(before[i], after[i]), "") << Describe(reads[i].first, reads[i].second);
  }
  EXPECT_EQ(ranks(), ranks_before);
  EXPECT_TRUE(Rank(AgencyScope(kPp), Month(2026, 3), 10).empty());
  // By hand: 1 response of the unit in February, 1 of the second unit in March; both
  // applications were received in March.
  EXPECT_EQ(Figures(UnitScope(kPpUnit), Month(2026, 2)).survey().voided(), 1);
  EXPECT_EQ(Figures(UnitScope(kPpUnit2), Month(2026, 3)).survey().voided(), 1);
  EXPECT_EQ(Figures(AgencyScope(kPp), Quarter(2026, 1)).survey().voided(), 2);
  EXPECT_EQ(Figures(National(), Month(2026, 3)).delivery().voided(), 2);
  // Two sweeps later nothing has moved (the open application left the queue).
  absl::SleepFor(absl::Milliseconds(2500));
  const std::vector<v1::Figures> later = figures();
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(Diff(before[i], later[i]), "") << Describe(reads[i].first, reads[i].second);
  }
  v1::ListVoidsRequest log_req;
  log_req.set_agency_id(kPp);
  const auto log = MustCall(stub_.get(), &MonStub::ListVoids, pp_op_, log_req);
  ASSERT_EQ(log.voids_size(), 1);
  EXPECT_EQ(log.voids(0).void_id(), voided.void_id());
  EXPECT_EQ(log.voids(0).target(), "batch impor-uji");
  ExpectNoErrorsLogged();
}

// ---------------------------------------------------------------------------------------
// 6. Health and graceful stop

TEST_F(MonitoringE2ETest, Health) {
  EXPECT_TRUE(monitoring_->WaitForHealth(simpul::testing::kServing, absl::Seconds(1)));
  EXPECT_TRUE(monitoring_->WaitForHealth(simpul::testing::kServing, absl::Seconds(1), ""));
  // Readiness follows Redis.
  cluster_->redis().Kill();
  EXPECT_TRUE(monitoring_->WaitForHealth(simpul::testing::kNotServing, absl::Seconds(10)));
  ASSERT_THAT(cluster_->redis().Restart(), IsOk());
  EXPECT_TRUE(monitoring_->WaitForHealth(simpul::testing::kServing));

  const absl::Time start = absl::Now();
  std::optional<int> status = monitoring_->Stop(SIGTERM, absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << "did not stop";
  EXPECT_TRUE(WIFEXITED(*status)) << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0) << monitoring_->Log();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_THAT(monitoring_->Log(), HasSubstr("simpul-monitoring stopped"));
}

}  // namespace
}  // namespace simpul::monitoring

namespace simpul::monitoring {
namespace {

// Metrics fetches the admin port's Prometheus exposition with curl.
TEST_F(MonitoringE2ETest, HeadlineFiguresPerAgencyInPrometheus) {
  // Two questionnaires answered 4 everywhere, an hour ago: this year's agency IKM is 100.00.
  const absl::Time t = absl::Now() - absl::Hours(1);
  MustSubmit(pp_admin_, {Response("headline-1", kPpUnit, t, {4, 4, 4, 4, 4, 4, 4, 4, 4}),
                         Response("headline-2", kPpUnit, t, {4, 4, 4, 4, 4, 4, 4, 4, 4})});
  const std::string want_ikm = absl::StrCat("simpul_agency_ikm{agency=\"", kPp, "\"} 100\n");
  const std::string want_n =
      absl::StrCat("simpul_agency_survey_respondents{agency=\"", kPp, "\"} 2\n");
  std::string metrics;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    metrics = monitoring_->AdminGet("/metrics");
    if (absl::StrContains(metrics, want_ikm) && absl::StrContains(metrics, want_n)) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_THAT(metrics, ::testing::HasSubstr(want_ikm));
  EXPECT_THAT(metrics, ::testing::HasSubstr(want_n));
  // Labelled by agency only: no per-unit series.
  EXPECT_THAT(metrics, ::testing::Not(::testing::HasSubstr("unit=\"")));
}

}  // namespace
}  // namespace simpul::monitoring

namespace simpul::monitoring {
namespace {

TEST_F(MonitoringE2ETest, WatchPushesFiguresWhenTheyChange) {
  v1::WatchRequest req;
  req.mutable_scope()->set_agency_id(kPp);
  req.mutable_period()->set_kind(v1::PERIOD_KIND_YEAR);
  req.mutable_period()->set_year(2026);
  auto ctx = Ctx("");
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  auto reader = stub_->Watch(ctx.get(), req);
  v1::WatchResponse first;
  ASSERT_TRUE(reader->Read(&first));  // the current figures, at once
  const int64_t before = first.figures().survey().respondents();
  const absl::Time t = absl::Now() - absl::Hours(1);
  MustSubmit(pp_admin_, {Response("watch-test-1", kPpUnit, t, {4, 3, 4, 3, 4, 3, 4, 3, 4})});
  v1::WatchResponse next;
  ASSERT_TRUE(reader->Read(&next));  // pushed after the change (unchanged rounds send nothing)
  EXPECT_EQ(next.figures().survey().respondents(), before + 1);
  EXPECT_EQ(next.figures().scope().agency_id(), kPp);
  ctx->TryCancel();
  v1::WatchResponse ignored;
  while (reader->Read(&ignored)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // A future period is refused before the stream starts, naming the field.
  req.mutable_period()->set_year(2099);
  auto bad_ctx = Ctx("");
  auto bad = stub_->Watch(bad_ctx.get(), req);
  EXPECT_FALSE(bad->Read(&ignored));
  grpc::Status status = bad->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("period"));
}

// Standards figures follow the registry: the first start lists it (resync), later changes
// arrive over the change feed, and a restart resumes the feed where it stopped.
TEST_F(MonitoringE2ETest, StandardFiguresFollowTheRegistry) {
  // Indicator values by key, "-" for a missing indicator.
  auto indicators = [](const v1::StandardFigures& f) {
    std::map<std::string, std::string> out;
    for (const auto& i : f.indicators()) out[i.key()] = i.evidenced() ? i.value() : "-";
    return out;
  };
  auto summary = [](const v1::StandardFigures& f) {
    return absl::StrCat("services=", f.services(), " adopted=", f.services_with_adopted_standard(),
                        " avg=", f.average_completeness(), " overdue=", f.review_overdue(),
                        " units=", f.units());
  };
  const v1::Period year = Year(2026);
  auto pp = [&] { return Figures(AgencyScope(kPp), year).standards(); };

  // As seeded (listed at start): each agency has one service, adopted with a consultation
  // and a publication, its review due 2027-02-01: score 5.
  EXPECT_EQ(summary(Figures(UnitScope(kPpUnit), year).standards()),
            "services=1 adopted=1 avg=5.00 overdue=0 units=1");
  EXPECT_EQ(summary(pp()), "services=1 adopted=1 avg=5.00 overdue=0 units=2");
  EXPECT_EQ(summary(Figures(RegionScope("13.05"), year).standards()), summary(pp()));
  EXPECT_EQ(summary(Figures(National(), year).standards()),
            "services=2 adopted=2 avg=5.00 overdue=0 units=3");
  const std::map<std::string, std::string> seeded = {{"standard_available", "5.00"},
                                                     {"community_involved", "100.00"},
                                                     {"publication_media", "100.00"},
                                                     {"periodic_review", "100.00"},
                                                     {"maklumat", "0.00"},
                                                     {"skm_done", "0.00"},
                                                     {"skm_published", "-"},
                                                     {"skm_follow_up_share", "-"},
                                                     {"skm_follow_up_speed", "-"}};
  EXPECT_EQ(indicators(pp()), seeded);
  EXPECT_THAT(pp().missing_indicators(),
              ElementsAre("skm_published", "skm_follow_up_share", "skm_follow_up_speed"));
  EXPECT_EQ(pp().indicators(0).weight_percent(), 17);
  // A unit nobody registered: nothing to show, every indicator missing, the reason given.
  const v1::StandardFigures none = Figures(UnitScope("no-such-unit"), year).standards();
  EXPECT_EQ(summary(none), "services=0 adopted=0 avg= overdue=0 units=0");
  EXPECT_EQ(none.evidenced_indicators_size(), 0);
  EXPECT_THAT(none.indicators(0).evidence(), HasSubstr("no service"));

  // A new service of Dinkes with a partial draft (score 1): (5 + 1) / 2 = 3.00.
  {
    rv1::CreateServiceRequest req;
    req.mutable_service()->set_id("kia-pp");
    req.mutable_service()->set_unit_id(kPpUnit2);
    req.mutable_service()->set_name("Buku Kesehatan Ibu dan Anak");
    rv1::CreateServiceResponse resp;
    ASSERT_NO_FATAL_FAILURE(
        RegistryMust(&rv1::Registry::Stub::CreateService, pp_admin_, req, &resp));
  }
  EXPECT_TRUE(PollUntil([&] { return pp().services() == 2; }, absl::Seconds(10)));
  EXPECT_EQ(pp().average_completeness(), "2.50");  // 5 + 0 (no standard yet)
  rv1::CreateStandardVersionRequest draft;
  draft.set_service_id("kia-pp");
  *draft.mutable_components() = CompleteComponents();
  draft.mutable_components()->clear_fee();
  rv1::CreateStandardVersionResponse drafted;
  ASSERT_NO_FATAL_FAILURE(
      RegistryMust(&rv1::Registry::Stub::CreateStandardVersion, pp_op_, draft, &drafted));
  EXPECT_TRUE(PollUntil([&] { return pp().average_completeness() == "3.00"; }, absl::Seconds(10)))
      << summary(pp());
  // All 14 components filled (score 2): 3.50.
  rv1::UpdateStandardDraftRequest update;
  update.set_id(drafted.version().id());
  update.set_expected_revision(drafted.version().revision());
  *update.mutable_components() = CompleteComponents();
  rv1::UpdateStandardDraftResponse updated;
  ASSERT_NO_FATAL_FAILURE(
      RegistryMust(&rv1::Registry::Stub::UpdateStandardDraft, pp_op_, update, &updated));
  EXPECT_TRUE(PollUntil([&] { return pp().average_completeness() == "3.50"; }, absl::Seconds(10)))
      << summary(pp());
  EXPECT_EQ(pp().services_with_adopted_standard(), 1);

  // Another version of kia-pp adopted with 2025 dates: consulted and published, but its review
  // fell due on 2026-02-01, so it scores 4 and counts as review-overdue: (5 + 4) / 2 = 4.50.
  ASSERT_NO_FATAL_FAILURE(
      Adopt(pp_op_, pp_admin_, "kia-pp", 3, rv1::TIME_UNIT_WORKING_DAY, /*year=*/2025));
  EXPECT_TRUE(PollUntil([&] { return pp().average_completeness() == "4.50"; }, absl::Seconds(10)))
      << summary(pp());
  EXPECT_EQ(summary(pp()), "services=2 adopted=2 avg=4.50 overdue=1 units=2");
  EXPECT_EQ(indicators(pp())["periodic_review"], "50.00");
  EXPECT_EQ(summary(Figures(UnitScope(kPpUnit2), year).standards()),
            "services=1 adopted=1 avg=4.00 overdue=1 units=1");
  EXPECT_EQ(summary(Figures(National(), year).standards()),
            "services=3 adopted=3 avg=4.67 overdue=1 units=3");  // 14 / 3

  // A maklumat drafted, adopted and published for Disdukcapil: 1 of the agency's 2 units.
  rv1::CreateMaklumatDraftRequest mdraft;
  mdraft.set_unit_id(kPpUnit);
  mdraft.set_text("Kami sanggup menyelenggarakan pelayanan sesuai standar pelayanan.");
  rv1::CreateMaklumatDraftResponse mdrafted;
  ASSERT_NO_FATAL_FAILURE(
      RegistryMust(&rv1::Registry::Stub::CreateMaklumatDraft, pp_op_, mdraft, &mdrafted));
  rv1::AdoptMaklumatRequest madopt;
  madopt.set_id(mdrafted.maklumat().id());
  madopt.set_expected_revision(mdrafted.maklumat().revision());
  madopt.set_signer_name("Drs. Contoh Kepala");
  madopt.set_signer_position("Kepala Dinas");
  *madopt.mutable_signed_date() = MakeDate(2026, 3, 2);
  rv1::AdoptMaklumatResponse madopted;
  ASSERT_NO_FATAL_FAILURE(
      RegistryMust(&rv1::Registry::Stub::AdoptMaklumat, pp_admin_, madopt, &madopted));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(indicators(pp())["maklumat"], "0.00");  // adopted, not yet published
  rv1::PublishMaklumatRequest mpublish;
  mpublish.set_id(madopted.maklumat().id());
  mpublish.set_expected_revision(madopted.maklumat().revision());
  auto* medium = mpublish.add_publications();
  medium->set_medium(rv1::PUBLICATION_MEDIUM_NOTICE_BOARD);
  medium->set_location("Ruang tunggu kantor Disdukcapil");
  rv1::PublishMaklumatResponse mpublished;
  ASSERT_NO_FATAL_FAILURE(
      RegistryMust(&rv1::Registry::Stub::PublishMaklumat, pp_admin_, mpublish, &mpublished));
  EXPECT_TRUE(PollUntil([&] { return indicators(pp())["maklumat"] == "50.00"; }, absl::Seconds(10)))
      << pp().DebugString();
  EXPECT_EQ(indicators(Figures(UnitScope(kPpUnit), year).standards())["maklumat"], "100.00");

  // SKM done counts units with responses in the period: one of two in March.
  EXPECT_EQ(MustSubmit(pp_admin_, {Response("std-skm-1", kPpUnit, WibTime(2026, 3, 9, 9, 0),
                                            kSurveyAnswers[0])})
                .applied(),
            1);
  EXPECT_EQ(indicators(Figures(AgencyScope(kPp), Month(2026, 3)).standards())["skm_done"], "50.00");
  EXPECT_EQ(indicators(Figures(AgencyScope(kPp), Month(2026, 4)).standards())["skm_done"], "0.00");
  EXPECT_EQ(indicators(Figures(UnitScope(kPpUnit), Quarter(2026, 1)).standards())["skm_done"],
            "100.00");
  EXPECT_EQ(indicators(Figures(National(), Year(2026)).standards())["skm_done"], "33.33");

  // kill -9; a change made while monitoring is down is applied when it is back (the feed
  // resumes from the saved position; nothing is counted twice).
  const std::string before = summary(pp());
  std::optional<int> killed = monitoring_->Stop(SIGKILL, absl::Seconds(10));
  ASSERT_TRUE(killed.has_value());
  {
    rv1::CreateServiceRequest req;
    req.mutable_service()->set_id("imunisasi-pp");
    req.mutable_service()->set_unit_id(kPpUnit2);
    req.mutable_service()->set_name("Imunisasi Dasar");
    rv1::CreateServiceResponse resp;
    ASSERT_NO_FATAL_FAILURE(
        RegistryMust(&rv1::Registry::Stub::CreateService, pp_admin_, req, &resp));
  }
  ASSERT_NO_FATAL_FAILURE(StartMonitoring());
  EXPECT_TRUE(PollUntil([&] { return pp().services() == 3; }, absl::Seconds(10)))
      << before << " → " << summary(pp()) << "\n"
      << monitoring_->Log();
  EXPECT_EQ(summary(pp()), "services=3 adopted=2 avg=3.00 overdue=1 units=2");  // 9 / 3
  EXPECT_EQ(indicators(pp())["maklumat"], "50.00");
  // The log holds both runs: only the first listed the registry.
  const std::string log = monitoring_->Log();
  size_t resyncs = 0;
  for (size_t at = log.find("resyncing standards"); at != std::string::npos;
       at = log.find("resyncing standards", at + 1)) {
    ++resyncs;
  }
  EXPECT_EQ(resyncs, 1u) << "a restart resumes the feed; it does not list the registry again";
  ExpectNoErrorsLogged();
}

// ---------------------------------------------------------------------------------------
// Sandbox units (issue #15)

TEST_F(MonitoringE2ETest, ASandboxUnitCountsForItselfAndItsAgencyOnly) {
  // A platform admin creates a test unit of Padang Pariaman (13.05, like disdukcapil-pp).
  constexpr char kSandboxUnit[] = "mpp-uji-pp";
  {
    rv1::CreateServiceUnitRequest req;
    *req.mutable_unit() =
        simpul::testing::MakeWibUnit(kSandboxUnit, kPp, "Mal Pelayanan Publik (uji coba)");
    req.mutable_unit()->set_sandbox(true);
    rv1::CreateServiceUnitResponse resp;
    ASSERT_NO_FATAL_FAILURE(
        RegistryMust(&rv1::Registry::Stub::CreateServiceUnit, root_, req, &resp));
    ASSERT_TRUE(resp.unit().sandbox());
    ASSERT_EQ(resp.unit().region_code(), "13.05");
  }
  // Standards figures (from the registry's feed): the agency counts three units, its region
  // two and the nation three (two of Padang Pariaman, one of Bogor), as before.
  const v1::Period year = Year(2026);
  EXPECT_TRUE(PollUntil([&] { return Figures(AgencyScope(kPp), year).standards().units() == 3; },
                        absl::Seconds(10)))
      << monitoring_->Log();
  EXPECT_EQ(Figures(UnitScope(kSandboxUnit), year).standards().units(), 1);
  EXPECT_EQ(Figures(RegionScope("13.05"), year).standards().units(), 2);
  EXPECT_EQ(Figures(RegionScope("13"), year).standards().units(), 2);
  EXPECT_EQ(Figures(National(), year).standards().units(), 3);

  // March 2026: two all-4 questionnaires at the sandbox unit (IKM 100.00), one all-2 at
  // disdukcapil-pp (50.00). The agency: 3 respondents, NRR 10/3 per element, IKM 25 × 10/3 =
  // 83.333… → 83.33 (grade B); the region and the nation: disdukcapil-pp alone, 50.00 (D).
  const std::vector<int> fours(9, 4), twos(9, 2);
  EXPECT_EQ(MustSubmit(pp_admin_,
                       {Response("sandbox-mar-1", kSandboxUnit, WibTime(2026, 3, 10, 9, 0), fours),
                        Response("sandbox-mar-2", kSandboxUnit, WibTime(2026, 3, 11, 9, 0), fours),
                        Response("normal-mar-1", kPpUnit, WibTime(2026, 3, 12, 9, 0), twos)})
                .applied(),
            3);
  struct Want {
    v1::Scope scope;
    int64_t respondents;
    std::string ikm;
  };
  const std::vector<Want> wants = {
      {UnitScope(kSandboxUnit), 2, "100.00"}, {UnitScope(kPpUnit), 1, "50.00"},
      {AgencyScope(kPp), 3, "83.33"},         {RegionScope("13.05"), 1, "50.00"},
      {RegionScope("13"), 1, "50.00"},        {National(), 1, "50.00"}};
  for (const v1::Period& period : {Month(2026, 3), Quarter(2026, 1), Semester(2026, 1), year}) {
    for (const Want& want : wants) {
      const v1::Figures f = Figures(want.scope, period);
      EXPECT_EQ(f.survey().respondents(), want.respondents) << Describe(want.scope, period);
      EXPECT_EQ(f.survey().ikm(), want.ikm) << Describe(want.scope, period);
    }
  }
  EXPECT_EQ(Figures(AgencyScope(kPp), Month(2026, 3)).survey().grade(), "B");

  // Rankings: the sandbox unit is ranked nowhere, not even in its agency.
  using Ranked = std::vector<std::pair<std::string, std::string>>;
  for (const v1::Scope& scope :
       {AgencyScope(kPp), RegionScope("13"), RegionScope("13.05"), National()}) {
    for (const v1::Period& period : {Month(2026, 3), Quarter(2026, 1), year}) {
      EXPECT_EQ(Rank(scope, period, 10), Ranked({{kPpUnit, "50.00"}})) << Describe(scope, period);
    }
  }
  ExpectNoErrorsLogged();
}

}  // namespace
}  // namespace simpul::monitoring
