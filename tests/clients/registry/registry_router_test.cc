// Tests of RegistryRouter against a real registry: a real redis-server and the registry's
// store, domain logic, change-feed hub and gRPC adapter served in-process on a loopback port,
// assembled as services/registry/main.cc does. Covers resolution, the cache, invalidation
// through the change feed, a registry outage and its restart on the same port.
#include "clients/registry/registry_router.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/logging.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/feed.h"
#include "services/registry/grpc_service.h"
#include "services/registry/redis_store.h"
#include "services/registry/registry.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/clients/registry/in_process_registry.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::clients::registry {
namespace {

namespace v1 = ::simpul::registry::v1;
using ::simpul::clients::InternalIdentity;
using ::simpul::testing::CompleteComponents;
using ::simpul::testing::InProcessRegistry;
using ::simpul::testing::InProcessRegistryTest;
using ::simpul::testing::MakeAgency;
using ::simpul::testing::MakeDate;
using ::simpul::testing::MakeWibUnit;
using ::testing::HasSubstr;

constexpr char kKey[] = "router-test-identity-key-0123456789abcdef0123456789";
constexpr absl::Duration kCallTimeout = absl::Milliseconds(300);
// Bounded waits: the feed hub wakes within ~500 ms, a reconnect takes a few backoff steps.
constexpr absl::Duration kFeedWait = absl::Seconds(5);
constexpr absl::Duration kPoll = absl::Milliseconds(20);

// Eventually polls `done` every 20 ms until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = kFeedWait) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(kPoll);
  }
}

// Yesterday-ish in Jakarta: adoption dates must not be in the future.
common::v1::Date DaysAgo(int days) {
  absl::CivilDay day = absl::ToCivilDay(absl::Now(), absl::FixedTimeZone(7 * 3600)) - days;
  return MakeDate(static_cast<int>(day.year()), day.month(), day.day());
}

class RegistryRouterTest : public InProcessRegistryTest {
 protected:
  RegistryRouterTest() : InProcessRegistryTest(kKey, "router-test-admin") {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(InProcessRegistryTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(Seed());
    MakeRouter(RouterOptions());
  }

  static RegistryRouter::Options RouterOptions() {
    return RegistryRouter::Options{.call_timeout = kCallTimeout,
                                   .reconnect_min = absl::Milliseconds(50),
                                   .reconnect_max = absl::Milliseconds(400)};
  }

  void MakeRouter(RegistryRouter::Options options) {
    router_.reset();
    router_ = std::make_unique<RegistryRouter>(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()),
        options);
  }

  void TearDown() override {
    router_.reset();  // stops the watch before the registry goes
    InProcessRegistryTest::TearDown();
  }

  // WhileRouterIsAway stops the registry the router talks to, runs `change` against a second
  // registry on the same Redis (so the router's watch cannot see it), then brings the first
  // registry back on its port.
  void WhileRouterIsAway(const std::function<void()>& change, int64_t feed_max_len = 1000000) {
    registry_->Shutdown();
    ASSERT_TRUE(Eventually([&] { return !router_->stats().watching; }));
    {
      InProcessRegistry side(redis_->port(), signer_.get(), feed_max_len);
      const int side_port = side.Start(0);
      ASSERT_NE(side_port, 0);
      std::unique_ptr<v1::Registry::Stub> main_admin = std::exchange(admin_, AdminStub(side_port));
      change();
      admin_ = std::move(main_admin);
    }
    const int port = port_;
    registry_.reset();
    ASSERT_NO_FATAL_FAILURE(StartRegistry(port));
    ASSERT_EQ(port_, port);
  }

  // AdoptWhileRouterIsAway adopts a new standard of akta-kelahiran (4 response days, no
  // resolution classes) into *id while the router is away, then waits until it watches again.
  void AdoptWhileRouterIsAway(std::string* id) {
    ASSERT_NO_FATAL_FAILURE(
        WhileRouterIsAway([&] { ASSERT_NO_FATAL_FAILURE(Adopt("akta-kelahiran", {}, 4, id)); }));
    ASSERT_TRUE(Eventually([&] { return router_->stats().watching; }, absl::Seconds(10)));
  }

  // Seed: one agency with one unit (WIB) and two services; akta-kelahiran has an adopted
  // standard, ktp-el has none.
  void Seed() {
    v1::CreateAgencyRequest agency;
    *agency.mutable_agency() = MakeAgency("kab-padang-pariaman", v1::AGENCY_KIND_REGENCY, "13.05");
    v1::CreateAgencyResponse agency_resp;
    grpc::Status s = admin_->CreateAgency(AdminCtx().get(), agency, &agency_resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::CreateServiceUnitRequest unit;
    *unit.mutable_unit() = MakeWibUnit("disdukcapil-pp", "kab-padang-pariaman",
                                       "Dinas Kependudukan dan Pencatatan Sipil");
    v1::CreateServiceUnitResponse unit_resp;
    s = admin_->CreateServiceUnit(AdminCtx().get(), unit, &unit_resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const char* id : {"akta-kelahiran", "ktp-el"}) {
      v1::CreateServiceRequest service;
      service.mutable_service()->set_id(id);
      service.mutable_service()->set_unit_id("disdukcapil-pp");
      service.mutable_service()->set_name(absl::StrCat("Layanan ", id));
      v1::CreateServiceResponse service_resp;
      s = admin_->CreateService(AdminCtx().get(), service, &service_resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    ASSERT_NO_FATAL_FAILURE(Adopt("akta-kelahiran", {{"ringan", 2}, {"berat", 14}}, 5));
  }

  // Adopt creates, consults on and adopts a new version of `service_id` with these complaint
  // terms, returning its id in *id.
  void Adopt(const std::string& service_id, const std::vector<std::pair<std::string, int>>& classes,
             int response_days, std::string* id = nullptr, int effective_days_ago = 5,
             int completion_working_days = 1, int64_t* revision = nullptr) {
    v1::CreateStandardVersionRequest create;
    create.set_service_id(service_id);
    *create.mutable_components() = CompleteComponents();
    create.mutable_components()->mutable_completion_time()->set_amount(completion_working_days);
    auto* handling = create.mutable_components()->mutable_complaint_handling();
    handling->set_response_working_days(response_days);
    handling->clear_resolution_classes();
    for (const auto& [name, days] : classes) {
      auto* c = handling->add_resolution_classes();
      c->set_name(name);
      c->set_working_days(days);
    }
    v1::CreateStandardVersionResponse created;
    grpc::Status s = admin_->CreateStandardVersion(AdminCtx().get(), create, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::StartPublicConsultationRequest start;
    start.set_id(created.version().id());
    start.set_expected_revision(created.version().revision());
    v1::StartPublicConsultationResponse started;
    s = admin_->StartPublicConsultation(AdminCtx().get(), start, &started);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::AdoptStandardVersionRequest adopt;
    adopt.set_id(created.version().id());
    adopt.set_expected_revision(started.version().revision());
    adopt.mutable_adoption()->set_decree_number("SK Kadis No. 470/12/2026");
    *adopt.mutable_adoption()->mutable_decree_date() = DaysAgo(10);
    *adopt.mutable_adoption()->mutable_effective_from() = DaysAgo(effective_days_ago);
    v1::AdoptStandardVersionResponse adopted;
    s = admin_->AdoptStandardVersion(AdminCtx().get(), adopt, &adopted);
    ASSERT_TRUE(s.ok()) << s.error_message();
    if (id != nullptr) *id = adopted.version().id();
    if (revision != nullptr) *revision = adopted.version().revision();
  }

  void SetUnitTimeZone(common::v1::TimeZone zone) {
    v1::GetServiceUnitRequest get;
    get.set_id("disdukcapil-pp");
    v1::GetServiceUnitResponse unit;
    grpc::Status s = admin_->GetServiceUnit(AdminCtx().get(), get, &unit);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::UpdateServiceUnitRequest update;
    *update.mutable_unit() = unit.unit();
    update.mutable_unit()->set_time_zone(zone);
    update.set_expected_revision(unit.unit().revision());
    v1::UpdateServiceUnitResponse updated;
    s = admin_->UpdateServiceUnit(AdminCtx().get(), update, &updated);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // StartWatching starts the router and waits until its cache is in use.
  void StartWatching() {
    router_->Start();
    ASSERT_TRUE(Eventually([&] { return router_->stats().watching; }))
        << "the router never caught up with the change feed";
  }

  std::unique_ptr<RegistryRouter> router_;
};

TEST_F(RegistryRouterTest, ResolvesAServiceWithAnAdoptedStandard) {
  absl::StatusOr<Route> route = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->service_id, "akta-kelahiran");
  EXPECT_EQ(route->unit_id, "disdukcapil-pp");
  EXPECT_EQ(route->agency_id, "kab-padang-pariaman");
  EXPECT_EQ(route->time_zone, common::v1::TIME_ZONE_WIB);
  EXPECT_EQ(route->standard_version_id, "akta-kelahiran.v1");
  EXPECT_EQ(route->response_working_days, 5);
  ASSERT_EQ(route->resolution_classes.size(), 2u);
  EXPECT_EQ(route->resolution_classes[0].name, "ringan");
  EXPECT_EQ(route->resolution_classes[0].working_days, 2);
  EXPECT_EQ(route->resolution_classes[1].name, "berat");
  EXPECT_EQ(route->resolution_classes[1].working_days, 14);
  EXPECT_EQ(route->region_code, "13.05");  // the unit's, defaulted from its agency
  EXPECT_EQ(route->promised_amount, 1);    // the standard's completion time: 1 working day
  EXPECT_EQ(route->promised_unit, PromisedUnit::kWorkingDay);

  absl::StatusOr<Route> unit = router_->ResolveUnit("disdukcapil-pp");
  ASSERT_TRUE(unit.ok()) << unit.status();
  EXPECT_EQ(unit->service_id, "");
  EXPECT_EQ(unit->unit_id, "disdukcapil-pp");
  EXPECT_EQ(unit->agency_id, "kab-padang-pariaman");
  EXPECT_EQ(unit->time_zone, common::v1::TIME_ZONE_WIB);
  EXPECT_EQ(unit->region_code, "13.05");
  EXPECT_EQ(unit->standard_version_id, "");
  EXPECT_EQ(unit->promised_unit, PromisedUnit::kNone);
}

TEST_F(RegistryRouterTest, TheRouteCarriesTheHistoryOfAdoptedVersionsInForce) {
  // v1 (seeded): 1 working day, effective 5 days ago. v2: 3 working days, effective 2 days ago.
  // Each is in force from 00:00 WIB (UTC+7) of its effective date.
  std::string v2;
  int64_t v2_revision = 0;
  ASSERT_NO_FATAL_FAILURE(Adopt("akta-kelahiran", {{"sedang", 7}}, 3, &v2, /*effective_days_ago=*/2,
                                /*completion_working_days=*/3, &v2_revision));
  absl::StatusOr<Route> route = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(route.ok()) << route.status();
  ASSERT_EQ(route->standards.size(), 2u);
  const absl::TimeZone wib = absl::FixedTimeZone(7 * 3600);
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), wib);
  const absl::Time v1_from = absl::FromCivil(today - 5, wib);
  const absl::Time v2_from = absl::FromCivil(today - 2, wib);
  EXPECT_EQ(route->standards[0].version_id, "akta-kelahiran.v1");
  EXPECT_EQ(route->standards[0].version_number, 1);
  EXPECT_EQ(route->standards[0].in_force_from, v1_from);
  EXPECT_EQ(route->standards[0].promised_amount, 1);
  EXPECT_EQ(route->standards[0].response_working_days, 5);
  EXPECT_EQ(route->standards[1].version_id, v2);
  EXPECT_EQ(route->standards[1].in_force_from, v2_from);
  EXPECT_EQ(route->standards[1].in_force_until, absl::InfiniteFuture());
  EXPECT_EQ(route->standards[1].promised_amount, 3);
  EXPECT_EQ(route->standard_version_id, v2);  // the current terms are v2's
  EXPECT_EQ(route->promised_amount, 3);

  auto in_force = [&](absl::Time t) {
    std::optional<StandardTerms> terms = StandardInForceAt(*route, t);
    return terms ? terms->version_id : std::string("none");
  };
  EXPECT_EQ(in_force(v1_from - absl::Seconds(1)), "none");  // before the first effective date
  EXPECT_EQ(in_force(v1_from), "akta-kelahiran.v1");
  EXPECT_EQ(in_force(v2_from - absl::Seconds(1)), "akta-kelahiran.v1");
  EXPECT_EQ(in_force(v2_from), v2);
  EXPECT_EQ(in_force(absl::Now()), v2);

  // v2 withdrawn: the public does not see withdrawn versions, so the history ends when v1 was
  // superseded (v1's last update, at v2's adoption) and nothing is in force now.
  v1::WithdrawStandardVersionRequest withdraw;
  withdraw.set_id(v2);
  withdraw.set_expected_revision(v2_revision);
  withdraw.set_reason("Keputusan dibatalkan");
  v1::WithdrawStandardVersionResponse withdrawn;
  grpc::Status s = admin_->WithdrawStandardVersion(AdminCtx().get(), withdraw, &withdrawn);
  ASSERT_TRUE(s.ok()) << s.error_message();
  route = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(route.ok()) << route.status();
  ASSERT_EQ(route->standards.size(), 1u);
  EXPECT_EQ(route->standards[0].version_id, "akta-kelahiran.v1");
  EXPECT_LT(route->standards[0].in_force_until, absl::Now());
  EXPECT_GT(route->standards[0].in_force_until, absl::Now() - absl::Minutes(1));
  EXPECT_EQ(route->standard_version_id, "");
  EXPECT_EQ(in_force(v1_from), "akta-kelahiran.v1");  // what v1 judged, it still judges
  EXPECT_EQ(in_force(absl::Now()), "none");
}

TEST_F(RegistryRouterTest, AsTheServiceRoleTheHistoryKeepsAWithdrawnVersionsSpan) {
  RegistryRouter::Options options = RouterOptions();
  options.identity = InternalIdentity(signer_.get(), "router-test", "simpul-registry");
  MakeRouter(options);
  std::string v2;
  int64_t v2_revision = 0;
  ASSERT_NO_FATAL_FAILURE(Adopt("akta-kelahiran", {}, 3, &v2, /*effective_days_ago=*/2,
                                /*completion_working_days=*/3, &v2_revision));
  v1::WithdrawStandardVersionRequest withdraw;
  withdraw.set_id(v2);
  withdraw.set_expected_revision(v2_revision);
  withdraw.set_reason("Keputusan dibatalkan");
  v1::WithdrawStandardVersionResponse withdrawn;
  grpc::Status s = admin_->WithdrawStandardVersion(AdminCtx().get(), withdraw, &withdrawn);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const absl::Time withdrawn_at =
      absl::FromUnixSeconds(withdrawn.version().update_time().seconds());

  absl::StatusOr<Route> route = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(route.ok()) << route.status();
  // v1 (superseded) and v2 (withdrawn) are both in the history: v2 judged from its effective
  // date (2 days ago, 00:00 WIB) until its withdrawal; nothing after.
  ASSERT_EQ(route->standards.size(), 2u);
  EXPECT_EQ(route->standards[0].in_force_until, absl::InfiniteFuture());
  EXPECT_EQ(route->standards[1].version_id, v2);
  EXPECT_EQ(route->standards[1].in_force_until, withdrawn_at);
  const absl::TimeZone wib = absl::FixedTimeZone(7 * 3600);
  const absl::Time v2_from = absl::FromCivil(absl::ToCivilDay(absl::Now(), wib) - 2, wib);
  std::optional<StandardTerms> at_v2 = StandardInForceAt(*route, v2_from);
  ASSERT_TRUE(at_v2.has_value());
  EXPECT_EQ(at_v2->version_id, v2);
  EXPECT_EQ(at_v2->promised_amount, 3);
  EXPECT_FALSE(StandardInForceAt(*route, withdrawn_at).has_value());
  EXPECT_EQ(route->standard_version_id, "");  // no current standard
}

TEST_F(RegistryRouterTest, AServiceWithoutAnAdoptedStandardRoutesWithoutTerms) {
  absl::StatusOr<Route> route = router_->ResolveService("ktp-el");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->unit_id, "disdukcapil-pp");
  EXPECT_EQ(route->agency_id, "kab-padang-pariaman");
  EXPECT_EQ(route->time_zone, common::v1::TIME_ZONE_WIB);
  EXPECT_EQ(route->standard_version_id, "");
  EXPECT_EQ(route->response_working_days, 0);
  EXPECT_TRUE(route->resolution_classes.empty());
}

TEST_F(RegistryRouterTest, UnknownServiceAndUnitAreNotFound) {
  absl::StatusOr<Route> route = router_->ResolveService("akta-kematian");
  EXPECT_EQ(route.status().code(), absl::StatusCode::kNotFound) << route.status();
  EXPECT_THAT(route.status().message(), HasSubstr("akta-kematian"));
  absl::StatusOr<Route> unit = router_->ResolveUnit("dinas-tidak-ada");
  EXPECT_EQ(unit.status().code(), absl::StatusCode::kNotFound) << unit.status();
  EXPECT_THAT(unit.status().message(), HasSubstr("dinas-tidak-ada"));
}

TEST_F(RegistryRouterTest, AgencyExists) {
  absl::StatusOr<bool> known = router_->AgencyExists("kab-padang-pariaman");
  ASSERT_TRUE(known.ok()) << known.status();
  EXPECT_TRUE(*known);
  absl::StatusOr<bool> unknown = router_->AgencyExists("kota-bogor");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_FALSE(*unknown);
}

TEST_F(RegistryRouterTest, WithoutTheWatchEveryCallGoesToTheRegistry) {
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  const RegistryRouter::Stats before = router_->stats();
  EXPECT_FALSE(before.watching);
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  const RegistryRouter::Stats after = router_->stats();
  // service, unit, the unit's agency (its sandbox flag), standard
  EXPECT_EQ(after.registry_calls, before.registry_calls + 4);
  EXPECT_EQ(after.cache_hits, 0);
}

TEST_F(RegistryRouterTest, ASecondResolveIsServedFromTheCache) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  absl::StatusOr<Route> first = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(first.ok()) << first.status();
  const RegistryRouter::Stats before = router_->stats();
  absl::StatusOr<Route> second = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(second.ok()) << second.status();
  const RegistryRouter::Stats after = router_->stats();
  EXPECT_EQ(after.registry_calls, before.registry_calls);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  EXPECT_EQ(second->standard_version_id, first->standard_version_id);
  EXPECT_EQ(second->resolution_classes.size(), first->resolution_classes.size());

  // The unit was cached on the way; NOT_FOUND and "no such agency" are cached too.
  ASSERT_TRUE(router_->ResolveUnit("disdukcapil-pp").ok());
  EXPECT_EQ(router_->ResolveService("akta-kematian").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(router_->AgencyExists("kota-bogor").ok());
  const RegistryRouter::Stats negatives = router_->stats();
  EXPECT_EQ(router_->ResolveService("akta-kematian").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<bool> bogor = router_->AgencyExists("kota-bogor");
  ASSERT_TRUE(bogor.ok()) << bogor.status();
  EXPECT_FALSE(*bogor);
  EXPECT_EQ(router_->stats().registry_calls, negatives.registry_calls);
  EXPECT_EQ(router_->stats().cache_hits, negatives.cache_hits + 2);
}

TEST_F(RegistryRouterTest, NotFoundAnswersExpireAfterTheNegativeTtl) {
  RegistryRouter::Options options = RouterOptions();
  options.negative_ttl = absl::Milliseconds(200);
  MakeRouter(options);
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  ASSERT_TRUE(router_->AgencyExists("kota-bogor").ok());
  const RegistryRouter::Stats cached = router_->stats();
  ASSERT_TRUE(router_->AgencyExists("kota-bogor").ok());
  EXPECT_EQ(router_->stats().registry_calls, cached.registry_calls);  // from the cache
  absl::SleepFor(absl::Milliseconds(300));                            // past the TTL
  absl::StatusOr<bool> exists = router_->AgencyExists("kota-bogor");
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_FALSE(*exists);
  EXPECT_EQ(router_->stats().registry_calls, cached.registry_calls + 1);
  EXPECT_EQ(router_->stats().cache_hits, cached.cache_hits + 1);
}

TEST_F(RegistryRouterTest, TheCacheIsBoundedByMaxEntries) {
  RegistryRouter::Options options = RouterOptions();
  options.max_entries = 2;
  MakeRouter(options);
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  ASSERT_TRUE(router_->ResolveUnit("disdukcapil-pp").ok());
  ASSERT_TRUE(router_->AgencyExists("kab-padang-pariaman").ok());
  ASSERT_TRUE(router_->ResolveUnit("disdukcapil-pp").ok());  // now the most recently used
  ASSERT_TRUE(router_->AgencyExists("kota-bogor").ok());     // evicts kab-padang-pariaman
  const RegistryRouter::Stats before = router_->stats();
  ASSERT_TRUE(router_->ResolveUnit("disdukcapil-pp").ok());
  ASSERT_TRUE(router_->AgencyExists("kota-bogor").ok());
  EXPECT_EQ(router_->stats().registry_calls, before.registry_calls);
  ASSERT_TRUE(router_->AgencyExists("kab-padang-pariaman").ok());
  EXPECT_EQ(router_->stats().registry_calls, before.registry_calls + 1);
}

TEST_F(RegistryRouterTest, ANewlyAdoptedVersionReplacesTheCachedTerms) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  absl::StatusOr<Route> cached = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->standard_version_id, "akta-kelahiran.v1");
  const int64_t invalidations = router_->stats().invalidations;

  std::string v2;
  ASSERT_NO_FATAL_FAILURE(Adopt("akta-kelahiran", {{"sedang", 7}}, 3, &v2));
  absl::StatusOr<Route> route;
  ASSERT_TRUE(Eventually([&] {
    route = router_->ResolveService("akta-kelahiran");
    return route.ok() && route->standard_version_id == v2;
  })) << "the adoption never reached the cache: "
      << route.status();
  EXPECT_EQ(route->response_working_days, 3);
  ASSERT_EQ(route->resolution_classes.size(), 1u);
  EXPECT_EQ(route->resolution_classes[0].name, "sedang");
  EXPECT_EQ(route->resolution_classes[0].working_days, 7);
  EXPECT_GT(router_->stats().invalidations, invalidations);
}

TEST_F(RegistryRouterTest, AUnitTimeZoneChangeReachesCachedServiceRoutes) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  ASSERT_TRUE(router_->ResolveService("ktp-el").ok());
  const RegistryRouter::Stats before = router_->stats();
  absl::StatusOr<Route> cached = router_->ResolveService("ktp-el");
  ASSERT_TRUE(cached.ok()) << cached.status();
  ASSERT_EQ(router_->stats().cache_hits, before.cache_hits + 1);  // really cached
  EXPECT_EQ(cached->time_zone, common::v1::TIME_ZONE_WIB);

  ASSERT_NO_FATAL_FAILURE(SetUnitTimeZone(common::v1::TIME_ZONE_WITA));
  for (const char* id : {"akta-kelahiran", "ktp-el"}) {
    absl::StatusOr<Route> route;
    EXPECT_TRUE(Eventually([&] {
      route = router_->ResolveService(id);
      return route.ok() && route->time_zone == common::v1::TIME_ZONE_WITA;
    })) << id
        << ": " << (route.ok() ? "still the old time zone" : route.status().ToString());
  }
  absl::StatusOr<Route> unit = router_->ResolveUnit("disdukcapil-pp");
  ASSERT_TRUE(unit.ok()) << unit.status();
  EXPECT_EQ(unit->time_zone, common::v1::TIME_ZONE_WITA);
  // Both service routes and the unit were dropped by the one event.
  EXPECT_GE(router_->stats().invalidations, before.invalidations + 3);
}

// Intake questions (issue #16) ride on the service's route: a change of them drops the
// cached route, so filing checks answers against the questions as they are now.
TEST_F(RegistryRouterTest, TheServicesQuestionsReachTheCachedRoute) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  absl::StatusOr<Route> cached = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_TRUE(cached->attributes.empty());
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());  // now from the cache

  v1::GetServiceRequest get;
  get.set_id("akta-kelahiran");
  v1::GetServiceResponse service;
  grpc::Status s = admin_->GetService(AdminCtx().get(), get, &service);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::UpdateServiceRequest update;
  *update.mutable_service() = service.service();
  update.set_expected_revision(service.service().revision());
  v1::ServiceAttribute* question = update.mutable_service()->add_attributes();
  question->set_code("application_number");
  question->set_variable(true);
  question->set_required(true);
  question->set_datatype(v1::ATTRIBUTE_DATATYPE_STRING);
  question->set_description("Nomor permohonan");
  v1::UpdateServiceResponse updated;
  s = admin_->UpdateService(AdminCtx().get(), update, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();

  absl::StatusOr<Route> route;
  ASSERT_TRUE(Eventually([&] {
    route = router_->ResolveService("akta-kelahiran");
    return route.ok() && route->attributes.size() == 1;
  })) << "the questions never reached the cache: "
      << route.status();
  EXPECT_EQ(route->attributes[0].code(), "application_number");
  EXPECT_TRUE(route->attributes[0].required());
}

TEST_F(RegistryRouterTest, ANewAgencyReplacesACachedAbsence) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  absl::StatusOr<bool> before = router_->AgencyExists("kota-bogor");
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_FALSE(*before);
  v1::CreateAgencyRequest agency;
  *agency.mutable_agency() = MakeAgency("kota-bogor", v1::AGENCY_KIND_CITY, "32.71");
  v1::CreateAgencyResponse created;
  grpc::Status s = admin_->CreateAgency(AdminCtx().get(), agency, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(Eventually([&] {
    absl::StatusOr<bool> exists = router_->AgencyExists("kota-bogor");
    return exists.ok() && *exists;
  }));
}

TEST_F(RegistryRouterTest, ARegistryOutageFailsFastAndStopsTheCache) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  registry_->Shutdown();

  // An uncached service goes to the registry and fails within about call_timeout.
  absl::Time start = absl::Now();
  absl::StatusOr<Route> route = router_->ResolveService("ktp-el");
  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(route.status().code() == absl::StatusCode::kUnavailable ||
              route.status().code() == absl::StatusCode::kDeadlineExceeded)
      << route.status();
  EXPECT_LT(took, kCallTimeout + absl::Milliseconds(500));

  // The watch notices, and the cached route is no longer served.
  EXPECT_TRUE(Eventually([&] { return !router_->stats().watching; }));
  start = absl::Now();
  route = router_->ResolveService("akta-kelahiran");
  took = absl::Now() - start;
  EXPECT_TRUE(route.status().code() == absl::StatusCode::kUnavailable ||
              route.status().code() == absl::StatusCode::kDeadlineExceeded)
      << route.status();
  EXPECT_LT(took, kCallTimeout + absl::Milliseconds(500));
  absl::StatusOr<bool> exists = router_->AgencyExists("kab-padang-pariaman");
  EXPECT_TRUE(exists.status().code() == absl::StatusCode::kUnavailable ||
              exists.status().code() == absl::StatusCode::kDeadlineExceeded)
      << exists.status();
}

TEST_F(RegistryRouterTest, AnUnresponsiveRegistryTimesOutWithinTheCallTimeout) {
  // A socket that completes TCP handshakes (the kernel does) but never speaks HTTP/2.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  RegistryRouter silent(grpc::CreateChannel(absl::StrCat("127.0.0.1:", ntohs(addr.sin_port)),
                                            grpc::InsecureChannelCredentials()),
                        RouterOptions());
  silent.Start();
  for (int i = 0; i < 2; ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<Route> route = silent.ResolveService("akta-kelahiran");
    const absl::Duration took = absl::Now() - start;
    EXPECT_TRUE(route.status().code() == absl::StatusCode::kDeadlineExceeded ||
                route.status().code() == absl::StatusCode::kUnavailable)
        << route.status();
    EXPECT_LT(took, kCallTimeout + absl::Milliseconds(500));
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<bool> exists = silent.AgencyExists("kab-padang-pariaman");
  EXPECT_FALSE(exists.ok());
  EXPECT_LT(absl::Now() - start, kCallTimeout + absl::Milliseconds(500));
  EXPECT_FALSE(silent.stats().watching);
  const absl::Time stop_start = absl::Now();
  silent.Stop();
  EXPECT_LT(absl::Now() - stop_start, absl::Seconds(1));
  close(fd);
}

TEST_F(RegistryRouterTest, RecoversWhenTheRegistryComesBackOnTheSamePort) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  registry_->Shutdown();
  ASSERT_TRUE(Eventually([&] { return !router_->stats().watching; }));
  EXPECT_FALSE(router_->ResolveService("akta-kelahiran").ok());

  const int port = port_;
  registry_.reset();
  ASSERT_NO_FATAL_FAILURE(StartRegistry(port));
  ASSERT_EQ(port_, port);
  EXPECT_TRUE(Eventually(
      [&] { return router_->stats().watching && router_->ResolveService("akta-kelahiran").ok(); },
      absl::Seconds(10)))
      << "the router did not recover";

  // Invalidation works again on the new stream.
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  std::string v2;
  ASSERT_NO_FATAL_FAILURE(Adopt("akta-kelahiran", {{"sedang", 7}}, 3, &v2));
  EXPECT_TRUE(Eventually([&] {
    absl::StatusOr<Route> route = router_->ResolveService("akta-kelahiran");
    return route.ok() && route->standard_version_id == v2;
  }));
}

TEST_F(RegistryRouterTest, AChangeMadeWhileDisconnectedIsNeverServedStale) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  const int64_t hits = router_->stats().cache_hits;
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  ASSERT_EQ(router_->stats().cache_hits, hits + 1);  // cached v1

  // The router has seen no event yet, so it comes back watching from "now": the adoption
  // made meanwhile produces no event for it, and only dropping the cache saves it.
  std::string v2;
  ASSERT_NO_FATAL_FAILURE(AdoptWhileRouterIsAway(&v2));
  absl::StatusOr<Route> route = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->standard_version_id, v2);
  EXPECT_EQ(route->response_working_days, 4);
  EXPECT_TRUE(route->resolution_classes.empty());
}

TEST_F(RegistryRouterTest, ResumesFromItsCursorAfterAnOutage) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  // An event gives the router a cursor.
  ASSERT_NO_FATAL_FAILURE(SetUnitTimeZone(common::v1::TIME_ZONE_WITA));
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<Route> unit = router_->ResolveUnit("disdukcapil-pp");
    return unit.ok() && unit->time_zone == common::v1::TIME_ZONE_WITA;
  }));
  std::string v2;
  // Resumed from the cursor of the time-zone event (the registry replays the adoption).
  ASSERT_NO_FATAL_FAILURE(AdoptWhileRouterIsAway(&v2));
  absl::StatusOr<Route> route = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->standard_version_id, v2);
  const std::vector<std::string> lines = LogLines();
  int resumed = 0;
  for (const std::string& line : lines) {
    if (absl::StrContains(line, "\"registry watch started\"") &&
        !absl::StrContains(line, "\"cursor\":\"now\"")) {
      ++resumed;
    }
  }
  EXPECT_EQ(resumed, 1) << absl::StrJoin(lines, "\n");
}

TEST_F(RegistryRouterTest, ACursorTrimmedFromTheFeedFallsBackToWatchingFromNow) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  ASSERT_NO_FATAL_FAILURE(SetUnitTimeZone(common::v1::TIME_ZONE_WITA));
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<Route> unit = router_->ResolveUnit("disdukcapil-pp");
    return unit.ok() && unit->time_zone == common::v1::TIME_ZONE_WITA;
  }));
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());

  // Meanwhile the feed keeps only the last two events: the router's cursor is gone.
  std::string v2;
  ASSERT_NO_FATAL_FAILURE(WhileRouterIsAway(
      [&] {
        ASSERT_NO_FATAL_FAILURE(Adopt("akta-kelahiran", {{"sedang", 7}}, 3, &v2));
      },
      /*feed_max_len=*/2));
  ASSERT_TRUE(Eventually([&] { return router_->stats().watching; }, absl::Seconds(10)))
      << "the router kept resuming from a trimmed cursor";
  absl::StatusOr<Route> route = router_->ResolveService("akta-kelahiran");
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->standard_version_id, v2);
  // And the cache works again. (Eventually: the shared watch may first try the trimmed cursor
  // once more, a stream that opens and then ends, clearing what was cached meanwhile.)
  EXPECT_TRUE(Eventually(
      [&] {
        if (!router_->ResolveService("akta-kelahiran").ok()) return false;
        const int64_t hits = router_->stats().cache_hits;
        return router_->ResolveService("akta-kelahiran").ok() &&
               router_->stats().cache_hits == hits + 1;
      },
      absl::Seconds(10)))
      << "the cache did not serve the route again";
}

TEST_F(RegistryRouterTest, StopIsIdempotentAndEndsTheWatch) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  const absl::Time start = absl::Now();
  router_->Stop();
  router_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(router_->stats().watching);
  EXPECT_TRUE(router_->ResolveService("akta-kelahiran").ok());  // uncached, still served
}

}  // namespace
}  // namespace simpul::clients::registry

namespace simpul::clients::registry {
namespace {

TEST_F(RegistryRouterTest, TrustsAWatchFromNowAsSoonAsTheRegistryNamesItsCursor) {
  // With a long call timeout the time-based fallback would take 30 s; the registry's initial
  // metadata (x-simpul-cursor) makes the watch trusted at once.
  RegistryRouter::Options options = RouterOptions();
  options.call_timeout = absl::Seconds(30);
  MakeRouter(options);
  const absl::Time start = absl::Now();
  router_->Start();
  ASSERT_TRUE(Eventually([&] { return router_->stats().watching; }, absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  const int64_t calls = router_->stats().registry_calls;
  ASSERT_TRUE(router_->ResolveService("akta-kelahiran").ok());
  EXPECT_EQ(router_->stats().registry_calls, calls);  // served from the cache
}

// Sandbox (issue #15): a route is in sandbox when its unit or the unit's agency is, and a flip
// of either reaches cached routes through the change feed.
TEST_F(RegistryRouterTest, RouteIsInSandboxWhenItsUnitOrItsAgencyIs) {
  ASSERT_NO_FATAL_FAILURE(StartWatching());
  // A normal agency with one sandbox unit and one normal unit, a service in each.
  v1::CreateAgencyRequest agency;
  *agency.mutable_agency() = MakeAgency("kota-bogor", v1::AGENCY_KIND_CITY, "32.71");
  v1::CreateAgencyResponse agency_resp;
  grpc::Status s = admin_->CreateAgency(AdminCtx().get(), agency, &agency_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(agency_resp.agency().sandbox());
  for (const auto& [unit_id, sandbox] : {std::pair<std::string, bool>{"mpp-uji", true},
                                         std::pair<std::string, bool>{"mpp-bogor", false}}) {
    v1::CreateServiceUnitRequest unit;
    *unit.mutable_unit() = MakeWibUnit(unit_id, "kota-bogor", "Mal Pelayanan Publik " + unit_id);
    if (sandbox) unit.mutable_unit()->set_sandbox(true);
    v1::CreateServiceUnitResponse unit_resp;
    s = admin_->CreateServiceUnit(AdminCtx().get(), unit, &unit_resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    v1::CreateServiceRequest service;
    service.mutable_service()->set_id("pbg-" + unit_id);
    service.mutable_service()->set_unit_id(unit_id);
    service.mutable_service()->set_name("Persetujuan Bangunan Gedung");
    v1::CreateServiceResponse service_resp;
    s = admin_->CreateService(AdminCtx().get(), service, &service_resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  auto sandbox_of_unit = [&](const std::string& id) {
    absl::StatusOr<Route> route = router_->ResolveUnit(id);
    EXPECT_TRUE(route.ok()) << route.status();
    return route.ok() && route->sandbox;
  };
  auto sandbox_of_service = [&](const std::string& id) {
    absl::StatusOr<Route> route = router_->ResolveService(id);
    EXPECT_TRUE(route.ok()) << route.status();
    return route.ok() && route->sandbox;
  };
  EXPECT_TRUE(Eventually([&] { return sandbox_of_unit("mpp-uji"); }));
  EXPECT_TRUE(sandbox_of_service("pbg-mpp-uji"));
  EXPECT_FALSE(sandbox_of_unit("mpp-bogor"));
  EXPECT_FALSE(sandbox_of_service("pbg-mpp-bogor"));

  // The seeded agency, its unit and services: not in sandbox, and cached. The feed may still
  // be delivering the creations above, and a fetch that overlaps an event is not cached (the
  // router's epoch): wait until a second read costs no registry call.
  EXPECT_TRUE(Eventually([&] {
    EXPECT_FALSE(sandbox_of_unit("disdukcapil-pp"));
    EXPECT_FALSE(sandbox_of_service("akta-kelahiran"));
    const int64_t before = router_->stats().registry_calls;
    EXPECT_FALSE(sandbox_of_unit("disdukcapil-pp"));
    EXPECT_FALSE(sandbox_of_service("akta-kelahiran"));
    return router_->stats().registry_calls == before;
  }));
  const RegistryRouter::Stats cached = router_->stats();
  EXPECT_FALSE(sandbox_of_unit("disdukcapil-pp"));
  EXPECT_FALSE(sandbox_of_service("akta-kelahiran"));
  ASSERT_EQ(router_->stats().registry_calls, cached.registry_calls);  // really cached

  // A platform admin flags the agency: its (unflagged) unit and services follow.
  auto set_agency_sandbox = [&](bool sandbox) {
    v1::GetAgencyRequest get;
    get.set_id("kab-padang-pariaman");
    v1::GetAgencyResponse current;
    grpc::Status st = admin_->GetAgency(AdminCtx().get(), get, &current);
    ASSERT_TRUE(st.ok()) << st.error_message();
    v1::UpdateAgencyRequest update;
    *update.mutable_agency() = current.agency();
    update.mutable_agency()->set_sandbox(sandbox);
    update.set_expected_revision(current.agency().revision());
    v1::UpdateAgencyResponse updated;
    st = admin_->UpdateAgency(AdminCtx().get(), update, &updated);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(updated.agency().sandbox(), sandbox);
  };
  ASSERT_NO_FATAL_FAILURE(set_agency_sandbox(true));
  EXPECT_TRUE(Eventually([&] { return sandbox_of_unit("disdukcapil-pp"); }));
  EXPECT_TRUE(Eventually([&] { return sandbox_of_service("akta-kelahiran"); }));
  EXPECT_TRUE(sandbox_of_service("ktp-el"));
  EXPECT_FALSE(sandbox_of_unit("mpp-bogor"));  // another agency's unit is untouched
  absl::StatusOr<Route> pp = router_->ResolveAgency("kab-padang-pariaman");
  ASSERT_TRUE(pp.ok()) << pp.status();
  EXPECT_TRUE(pp->sandbox);
  absl::StatusOr<Route> bogor = router_->ResolveAgency("kota-bogor");
  ASSERT_TRUE(bogor.ok()) << bogor.status();
  EXPECT_FALSE(bogor->sandbox);  // its sandbox unit does not flag the agency
  EXPECT_EQ(router_->ResolveAgency("kota-padang").status().code(), absl::StatusCode::kNotFound);
  // ... and back.
  ASSERT_NO_FATAL_FAILURE(set_agency_sandbox(false));
  EXPECT_TRUE(Eventually([&] { return !sandbox_of_unit("disdukcapil-pp"); }));
  EXPECT_TRUE(Eventually([&] { return !sandbox_of_service("akta-kelahiran"); }));
}

}  // namespace
}  // namespace simpul::clients::registry
