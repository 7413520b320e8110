// Tests of the standards book: completeness of a service from registry objects, the
// PEKPPP service-policy indicators, and the book applying registry changes to a real Redis
// (replays, out-of-order changes, a unit moving region, concurrent replicas).
#include "services/monitoring/standards.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/monitoring/redis_store.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::monitoring {
namespace {

namespace rv1 = ::simpul::registry::v1;
using ::simpul::testing::CompleteComponents;
using ::simpul::testing::MakeDate;
using ::testing::ElementsAre;
using ::testing::Pair;

// Day numbers (days since 1970-01-01).
int64_t Day(int y, int m, int d) { return absl::CivilDay(y, m, d) - absl::CivilDay(1970, 1, 1); }

rv1::Service Service(const std::string& id, const std::string& unit, const std::string& agency,
                     const std::string& region, const std::string& current = "") {
  rv1::Service s;
  s.set_id(id);
  s.set_unit_id(unit);
  s.set_agency_id(agency);
  s.set_region_code(region);
  s.set_current_version_id(current);
  return s;
}

// Version: complete components unless `complete` is false; consultation, publication and a
// review due date when asked.
rv1::StandardVersion Version(const std::string& service, int number, rv1::StandardState state,
                             bool complete = true, bool consulted = false, bool published = false,
                             std::optional<common::v1::Date> review_due = std::nullopt) {
  rv1::StandardVersion v;
  v.set_id(absl::StrCat(service, ".v", number));
  v.set_service_id(service);
  v.set_version_number(number);
  v.set_state(state);
  *v.mutable_components() = CompleteComponents();
  if (!complete) v.mutable_components()->clear_fee();
  if (consulted) v.add_consultations()->set_summary("forum");
  if (published) v.add_publications()->set_location("https://example.go.id");
  if (review_due) *v.mutable_review_due_date() = *review_due;
  return v;
}

rv1::ServiceUnit Unit(const std::string& id, const std::string& agency, const std::string& region) {
  rv1::ServiceUnit u;
  u.set_id(id);
  u.set_agency_id(agency);
  u.set_region_code(region);
  return u;
}

TEST(CursorTest, OrdersStreamIds) {
  EXPECT_TRUE(CursorLess("", "1-0"));
  EXPECT_TRUE(CursorLess("0", "0-1"));
  EXPECT_TRUE(CursorLess("9-5", "10-0"));  // numerically, not bytewise
  EXPECT_TRUE(CursorLess("10-2", "10-11"));
  EXPECT_FALSE(CursorLess("10-11", "10-11"));
  EXPECT_FALSE(CursorLess("11-0", "10-99"));
}

TEST(CompletenessTest, ScoresFollowTheRegistryRules) {
  v1::StandardsServiceRecord r;
  MergeService(r, Service("s", "u", "a", "13.05"));
  EXPECT_EQ(BaseScore(r), 0);  // no version
  MergeVersion(r, Version("s", 1, rv1::STANDARD_STATE_DRAFT, /*complete=*/false));
  EXPECT_EQ(BaseScore(r), 1);
  // The newest open version is evaluated: v2 complete (2), then withdrawn: v1 again (1).
  MergeVersion(r, Version("s", 2, rv1::STANDARD_STATE_PUBLIC_CONSULTATION));
  EXPECT_EQ(BaseScore(r), 2);
  MergeVersion(r, Version("s", 2, rv1::STANDARD_STATE_WITHDRAWN));
  EXPECT_EQ(BaseScore(r), 1);
  // v3 adopted without a consultation (3); the service names it current in the same change.
  MergeService(r, Service("s", "u", "a", "13.05", "s.v3"));
  MergeVersion(r, Version("s", 3, rv1::STANDARD_STATE_ADOPTED));
  EXPECT_EQ(BaseScore(r), 3);
  // An open draft does not lower an adopted standard's score.
  MergeVersion(r, Version("s", 4, rv1::STANDARD_STATE_DRAFT, /*complete=*/false));
  EXPECT_EQ(BaseScore(r), 3);
  // v4 adopted with a consultation, superseding v3 (objects: v4, v3, service).
  MergeVersion(r, Version("s", 4, rv1::STANDARD_STATE_ADOPTED, true, /*consulted=*/true, true,
                          MakeDate(2027, 2, 1)));
  MergeVersion(r, Version("s", 3, rv1::STANDARD_STATE_SUPERSEDED));
  MergeService(r, Service("s", "u", "a", "13.05", "s.v4"));
  MergeVersion(
      r, Version("s", 4, rv1::STANDARD_STATE_ADOPTED, true, true, true, MakeDate(2027, 2, 1)));
  EXPECT_EQ(BaseScore(r), 4);
  PlaceService(r, nullptr);
  const StandardsContribution c = ServiceContribution(r);
  EXPECT_THAT(c.scopes, ElementsAre("u:u", "a:a", "r:13", "r:13.05", "n"));
  EXPECT_THAT(c.counters,
              ElementsAre(Pair("std.adopted", 1), Pair("std.base", 4), Pair("std.consulted", 1),
                          Pair("std.published", 1), Pair("std.services", 1)));
  EXPECT_EQ(c.review_due_day, Day(2027, 2, 1));
  EXPECT_EQ(c.five_due_day, Day(2027, 2, 1));
  // Withdrawn: no adopted standard; the partial draft v1, still open, is evaluated again.
  MergeVersion(r, Version("s", 4, rv1::STANDARD_STATE_WITHDRAWN));
  MergeService(r, Service("s", "u", "a", "13.05", ""));
  EXPECT_EQ(BaseScore(r), 1);
  EXPECT_EQ(ServiceContribution(r).counters.at("std.adopted"), 0);
  EXPECT_FALSE(ServiceContribution(r).review_due_day.has_value());
}

TEST(CompletenessTest, DifferenceMovesCountsAndMemberships) {
  StandardsContribution before;
  before.scopes = {"u:x", "a:a", "r:13", "n"};
  before.counters = {{"std.services", 1}, {"std.base", 3}};
  before.review_due_day = 100;
  StandardsContribution after = before;
  after.scopes = {"u:x", "a:a", "r:32", "n"};  // the unit moved from province 13 to 32
  after.counters["std.base"] = 4;
  after.five_due_day = 100;
  StateChange change;
  Difference(before, after, "svc-1", change);
  std::vector<std::string> deltas;
  for (const BucketDelta& d : change.deltas) {
    deltas.push_back(absl::StrCat(d.bucket, " ", d.field, " ", d.delta));
  }
  EXPECT_THAT(deltas, ElementsAre("a:a|std std.base 1", "n|std std.base 1", "r:13|std std.base -3",
                                  "r:13|std std.services -1", "r:32|std std.base 4",
                                  "r:32|std std.services 1", "u:x|std std.base 1"));
  std::vector<std::string> sets;
  for (const SetMembership& m : change.memberships) {
    sets.push_back(absl::StrCat(m.set, " ", m.member, " ", m.score ? absl::StrCat(*m.score) : "-"));
  }
  EXPECT_THAT(sets, ElementsAre("r:13|std|review_due svc-1 -", "a:a|std|five_due svc-1 100",
                                "n|std|five_due svc-1 100", "r:32|std|five_due svc-1 100",
                                "r:32|std|review_due svc-1 100", "u:x|std|five_due svc-1 100"));
}

TEST(StandardFiguresTest, IndicatorsFromCounters) {
  // Four services: scores 5 (published, not overdue), 4 (published, overdue), 2, 0; three units,
  // one with a published maklumat, two with survey responses.
  StandardsInputs in;
  in.counters = {{"std.services", 4},  {"std.adopted", 2},   {"std.base", 4 + 4 + 2 + 0},
                 {"std.consulted", 2}, {"std.published", 2}, {"std.units", 3},
                 {"std.maklumat", 1}};
  in.review_overdue = 1;
  in.five_not_overdue = 1;
  in.units_with_survey = 2;
  const v1::StandardFigures f = StandardFiguresFrom(in);
  EXPECT_EQ(f.services(), 4);
  EXPECT_EQ(f.average_completeness(), "2.75");  // (5 + 4 + 2 + 0) / 4
  EXPECT_EQ(f.review_overdue(), 1);
  std::vector<std::string> got;
  int weights = 0;
  for (const auto& i : f.indicators()) {
    got.push_back(absl::StrCat(i.key(), "=", i.evidenced() ? i.value() : "-"));
    weights += i.weight_percent();
  }
  EXPECT_THAT(got, ElementsAre("standard_available=2.75", "community_involved=50.00",
                               "publication_media=50.00", "periodic_review=25.00", "maklumat=33.33",
                               "skm_done=66.67", "skm_published=-", "skm_follow_up_share=-",
                               "skm_follow_up_speed=-"));
  EXPECT_EQ(weights, 100);  // the nine indicators of the service-policy aspect
  EXPECT_EQ(f.evidenced_indicators_size(), 6);
  EXPECT_THAT(f.missing_indicators(),
              ElementsAre("skm_published", "skm_follow_up_share", "skm_follow_up_speed"));
}

class StandardsBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = simpul::testing::RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    RedisOptions redis;
    redis.port = server_->port();
    redis.pool_size = 8;
    pool_ = std::make_unique<RedisPool>(redis);
    store_ = std::make_unique<RedisAggregateStore>(pool_.get(), RedisAggregateStore::Options{});
    book_ = std::make_unique<StandardsBook>(*store_);
  }

  Counters Std(const std::string& scope) {
    absl::StatusOr<Counters> c = store_->Read(absl::StrCat(scope, "|std"));
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : Counters{};
  }

  StandardsInputs Inputs(const std::string& scope, int64_t today) {
    absl::StatusOr<StandardsInputs> in = book_->Inputs(scope, scope + "|2026-Y", {}, today);
    EXPECT_TRUE(in.ok()) << in.status();
    return in.ok() ? *in : StandardsInputs{};
  }

  void MustApply(const rv1::ChangeEvent& e) {
    absl::Status s = book_->ApplyChange(e);
    ASSERT_TRUE(s.ok()) << s;
  }

  std::unique_ptr<simpul::testing::RedisServer> server_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<RedisAggregateStore> store_;
  std::unique_ptr<StandardsBook> book_;
};

rv1::ChangeEvent Event(const std::string& cursor) {
  rv1::ChangeEvent e;
  e.set_cursor(cursor);
  return e;
}

// The feed of one unit with two services, as the registry would write it.
std::vector<rv1::ChangeEvent> Feed() {
  std::vector<rv1::ChangeEvent> feed;
  rv1::ChangeEvent e = Event("100-0");
  *e.add_objects()->mutable_unit() = Unit("dukcapil", "kab-a", "13.05");
  feed.push_back(e);
  e = Event("101-0");
  *e.add_objects()->mutable_service() = Service("akta", "dukcapil", "kab-a", "13.05");
  feed.push_back(e);
  e = Event("101-1");
  *e.add_objects()->mutable_service() = Service("ktp", "dukcapil", "kab-a", "13.05");
  feed.push_back(e);
  e = Event("102-0");  // a complete draft of akta
  *e.add_objects()->mutable_standard_version() = Version("akta", 1, rv1::STANDARD_STATE_DRAFT);
  *e.add_objects()->mutable_service() = Service("akta", "dukcapil", "kab-a", "13.05");
  feed.push_back(e);
  e = Event("103-0");  // akta adopted, consulted and published, review due 2027-02-01
  *e.add_objects()->mutable_standard_version() =
      Version("akta", 1, rv1::STANDARD_STATE_ADOPTED, true, true, true, MakeDate(2027, 2, 1));
  *e.add_objects()->mutable_service() = Service("akta", "dukcapil", "kab-a", "13.05", "akta.v1");
  feed.push_back(e);
  e = Event("104-0");  // ktp: partial draft
  *e.add_objects()->mutable_standard_version() =
      Version("ktp", 1, rv1::STANDARD_STATE_DRAFT, /*complete=*/false);
  feed.push_back(e);
  return feed;
}

TEST_F(StandardsBookTest, FeedReplaysAndOutOfOrderChangesApplyOnce) {
  const std::vector<rv1::ChangeEvent> feed = Feed();
  for (const auto& e : feed) MustApply(e);
  const Counters once = Std("a:kab-a");
  EXPECT_THAT(once,
              ElementsAre(Pair("std.adopted", 1), Pair("std.base", 4 + 1), Pair("std.consulted", 1),
                          Pair("std.published", 1), Pair("std.services", 2), Pair("std.units", 1)));
  // The whole feed again (a restart from an older position), and an old change alone.
  for (const auto& e : feed) MustApply(e);
  MustApply(feed[3]);
  EXPECT_EQ(Std("a:kab-a"), once);
  EXPECT_EQ(Std("n"), once);
  EXPECT_EQ(Std("u:dukcapil"), once);
  // The time-dependent 5th step: akta is 5 until its review falls due.
  StandardsInputs before_due = Inputs("r:13", Day(2027, 2, 1));
  EXPECT_EQ(before_due.five_not_overdue, 1);
  EXPECT_EQ(before_due.review_overdue, 0);
  EXPECT_EQ(StandardFiguresFrom(before_due).average_completeness(), "3.00");  // (5 + 1) / 2
  StandardsInputs after_due = Inputs("r:13", Day(2027, 2, 2));
  EXPECT_EQ(after_due.five_not_overdue, 0);
  EXPECT_EQ(after_due.review_overdue, 1);
  EXPECT_EQ(StandardFiguresFrom(after_due).average_completeness(), "2.50");  // (4 + 1) / 2
}

TEST_F(StandardsBookTest, AUnitMovingRegionTakesItsServicesAlong) {
  for (const auto& e : Feed()) MustApply(e);
  rv1::ChangeEvent move = Event("200-0");
  *move.add_objects()->mutable_unit() = Unit("dukcapil", "kab-a", "13.06");
  MustApply(move);
  EXPECT_EQ(Std("r:13.05").at("std.services"), 0);
  EXPECT_EQ(Std("r:13.05").at("std.units"), 0);
  EXPECT_EQ(Std("r:13.06").at("std.services"), 2);
  EXPECT_EQ(Std("r:13.06").at("std.base"), 5);
  EXPECT_EQ(Std("r:13").at("std.services"), 2);  // same province
  EXPECT_EQ(Inputs("r:13.05", 0).five_not_overdue, 0);
  EXPECT_EQ(Inputs("r:13.06", 0).five_not_overdue, 1);
  // A later service change keeps it in the new region (the unit's, not the stale copy in
  // the service object).
  rv1::ChangeEvent edit = Event("201-0");
  *edit.add_objects()->mutable_service() = Service("ktp", "dukcapil", "kab-a", "13.05");
  MustApply(edit);
  EXPECT_EQ(Std("r:13.06").at("std.services"), 2);
  EXPECT_EQ(Std("r:13.05").at("std.services"), 0);
}

TEST_F(StandardsBookTest, ConcurrentReplicasApplyTheFeedOnce) {
  // Four replicas apply the same feed at once, each in order; the result is one application.
  std::vector<rv1::ChangeEvent> feed = Feed();
  for (int i = 0; i < 30; ++i) {  // ktp's draft edited back and forth
    rv1::ChangeEvent e = Event(absl::StrCat(300 + i, "-0"));
    *e.add_objects()->mutable_standard_version() =
        Version("ktp", 1, rv1::STANDARD_STATE_DRAFT, /*complete=*/i % 2 == 1);
    feed.push_back(e);
  }
  std::vector<std::thread> replicas;
  std::atomic<int> errors{0};
  for (int r = 0; r < 4; ++r) {
    replicas.emplace_back([&] {
      for (const auto& e : feed) {
        if (!book_->ApplyChange(e).ok()) ++errors;
      }
    });
  }
  for (auto& t : replicas) t.join();
  EXPECT_EQ(errors.load(), 0);
  // The last edit (i = 29) left ktp complete: 5 + 2... without the time step: 4 + 2.
  EXPECT_EQ(Std("a:kab-a").at("std.base"), 6);
  EXPECT_EQ(Std("a:kab-a").at("std.services"), 2);
  EXPECT_EQ(Std("n").at("std.units"), 1);
}

TEST_F(StandardsBookTest, ResyncListingAndFeedPosition) {
  absl::StatusOr<std::string> cursor = book_->FeedCursor();
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ(*cursor, "");
  // A listing taken at 500-0 replaces what the feed had built.
  for (const auto& e : Feed()) MustApply(e);
  rv1::Maklumat m;
  m.set_id("dukcapil.m1");
  m.set_unit_id("dukcapil");
  m.set_state(rv1::MAKLUMAT_STATE_PUBLISHED);
  rv1::ServiceUnit unit = Unit("dukcapil", "kab-a", "13.05");
  unit.set_current_maklumat_id("dukcapil.m1");
  ASSERT_TRUE(book_->PutUnit("500-0", unit, &m).ok());
  ASSERT_TRUE(book_
                  ->PutService("500-0", Service("ktp", "dukcapil", "kab-a", "13.05", "ktp.v2"),
                               {Version("ktp", 1, rv1::STANDARD_STATE_SUPERSEDED),
                                Version("ktp", 2, rv1::STANDARD_STATE_ADOPTED)})
                  .ok());
  EXPECT_EQ(Std("a:kab-a").at("std.maklumat"), 1);
  EXPECT_EQ(Std("a:kab-a").at("std.base"), 4 + 3);
  EXPECT_EQ(Std("a:kab-a").at("std.adopted"), 2);
  // An older change of the feed arriving after the listing is ignored.
  MustApply(Feed()[5]);
  EXPECT_EQ(Std("a:kab-a").at("std.base"), 7);
  ASSERT_TRUE(book_->SaveFeedCursor("500-0").ok());
  ASSERT_TRUE(book_->SaveFeedCursor("400-0").ok());  // never moves back
  cursor = book_->FeedCursor();
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, "500-0");
}

// NonZero drops the counters at 0 (a hash keeps a field moved back to 0).
Counters NonZero(Counters c) {
  for (auto it = c.begin(); it != c.end();) {
    it = it->second == 0 ? c.erase(it) : std::next(it);
  }
  return c;
}

// Sandbox (issue #15): a unit in sandbox, by its own flag or its agency's, and its services
// count in the unit's and the agency's standards figures only; a flip moves them exactly.
TEST_F(StandardsBookTest, SandboxFlipsOfAUnitOrItsAgencyMoveItsContributionsExactly) {
  std::vector<rv1::ChangeEvent> feed = Feed();
  for (const auto& e : feed) MustApply(e);
  const Counters all = NonZero(Std("n"));
  ASSERT_EQ(all.at("std.services"), 2);
  ASSERT_EQ(all.at("std.units"), 1);
  const int64_t due = Day(2027, 2, 1);  // akta scores 5 until then
  ASSERT_EQ(Inputs("n", due).five_not_overdue, 1);
  auto only_unit_and_agency = [&](const std::string& when) {
    for (const char* scope : {"n", "r:13", "r:13.05"}) {
      EXPECT_THAT(NonZero(Std(scope)), ::testing::IsEmpty()) << when << ": " << scope;
      EXPECT_EQ(Inputs(scope, due).five_not_overdue, 0) << when << ": " << scope;
    }
    EXPECT_EQ(NonZero(Std("a:kab-a")), all) << when;
    EXPECT_EQ(NonZero(Std("u:dukcapil")), all) << when;
    EXPECT_EQ(Inputs("a:kab-a", due).five_not_overdue, 1) << when;
  };
  auto everywhere = [&](const std::string& when) {
    for (const char* scope : {"n", "r:13", "r:13.05", "a:kab-a", "u:dukcapil"}) {
      EXPECT_EQ(NonZero(Std(scope)), all) << when << ": " << scope;
      EXPECT_EQ(Inputs(scope, due).five_not_overdue, 1) << when << ": " << scope;
    }
  };

  // The unit flips into sandbox, and back.
  rv1::ServiceUnit unit = Unit("dukcapil", "kab-a", "13.05");
  unit.set_sandbox(true);
  rv1::ChangeEvent e = Event("200-0");
  *e.add_objects()->mutable_unit() = unit;
  feed.push_back(e);
  MustApply(e);
  only_unit_and_agency("unit in sandbox");
  unit.clear_sandbox();
  e = Event("201-0");
  *e.add_objects()->mutable_unit() = unit;
  feed.push_back(e);
  MustApply(e);
  everywhere("unit out of sandbox");

  // Its agency flips into sandbox: the unit (not flagged itself) and its services follow.
  rv1::Agency agency = simpul::testing::MakeAgency("kab-a", rv1::AGENCY_KIND_REGENCY, "13.05");
  agency.set_sandbox(true);
  e = Event("202-0");
  *e.add_objects()->mutable_agency() = agency;
  feed.push_back(e);
  MustApply(e);
  only_unit_and_agency("agency in sandbox");
  // A service edited meanwhile stays out of the region and the nation.
  e = Event("203-0");
  *e.add_objects()->mutable_service() = Service("ktp", "dukcapil", "kab-a", "13.05");
  feed.push_back(e);
  MustApply(e);
  only_unit_and_agency("service edited in a sandbox agency");
  // A unit created in the sandbox agency is in sandbox too.
  e = Event("204-0");
  *e.add_objects()->mutable_unit() = Unit("capil-2", "kab-a", "13.05");
  feed.push_back(e);
  MustApply(e);
  EXPECT_EQ(Std("a:kab-a").at("std.units"), 2);
  EXPECT_THAT(NonZero(Std("n")), ::testing::IsEmpty());
  // Back out: both units and both services count everywhere.
  agency.clear_sandbox();
  e = Event("205-0");
  *e.add_objects()->mutable_agency() = agency;
  feed.push_back(e);
  MustApply(e);
  Counters two_units = all;
  two_units["std.units"] = 2;
  for (const char* scope : {"n", "r:13.05", "a:kab-a"}) {
    EXPECT_EQ(NonZero(Std(scope)), two_units) << scope;
  }
  EXPECT_EQ(Inputs("n", due).five_not_overdue, 1);

  // The whole feed again (a restart from an older position): nothing moves.
  for (const auto& ev : feed) MustApply(ev);
  for (const char* scope : {"n", "r:13.05", "a:kab-a"}) {
    EXPECT_EQ(NonZero(Std(scope)), two_units) << "replayed: " << scope;
  }
  EXPECT_EQ(Inputs("n", due).five_not_overdue, 1);
}

}  // namespace
}  // namespace simpul::monitoring
