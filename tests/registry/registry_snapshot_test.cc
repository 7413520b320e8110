// Tests of RegistrySnapshot: its answers equal the store's for random data and random
// changes, a replica reads its own writes at once and another replica's once the feed
// delivers them, a feed gap or a stalled feed stops it from serving until it has reloaded.
// Over the in-memory fake store; no server and no Redis.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/registry/registry.h"
#include "services/registry/snapshot.h"
#include "tests/registry/registry_snapshot_checks.h"
#include "tests/testing/fake_registry_store.h"
#include "tests/testing/identities.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::registry {
namespace {

using ::simpul::registry::testing::Describe;
using ::simpul::registry::testing::ExpectSnapshotAnswersEqualStore;
using ::simpul::registry::testing::Put;
using ::simpul::registry::testing::RandomRegistry;
using ::simpul::testing::CompleteComponents;
using ::simpul::testing::FakeRegistryStore;

// GapStore forwards to a store, except that ReadChanges fails with OUT_OF_RANGE while
// `gap` is set (a trimmed-away cursor, a feed that went backwards).
class GapStore final : public RegistryStore {
 public:
  explicit GapStore(RegistryStore& inner) : inner_(inner) {}
  bool gap = false;
  bool unavailable = false;

  absl::StatusOr<CommitResult> Commit(const std::vector<ObjectWrite>& writes,
                                      v1::ChangeEvent event) override {
    return inner_.Commit(writes, std::move(event));
  }
  absl::StatusOr<std::optional<v1::Agency>> GetAgency(std::string_view id) override {
    return inner_.GetAgency(id);
  }
  absl::StatusOr<std::optional<v1::ServiceUnit>> GetUnit(std::string_view id) override {
    return inner_.GetUnit(id);
  }
  absl::StatusOr<std::optional<v1::Service>> GetService(std::string_view id) override {
    return inner_.GetService(id);
  }
  absl::StatusOr<std::optional<v1::StandardVersion>> GetStandardVersion(
      std::string_view id) override {
    return inner_.GetStandardVersion(id);
  }
  absl::StatusOr<std::optional<v1::Maklumat>> GetMaklumat(std::string_view id) override {
    return inner_.GetMaklumat(id);
  }
  absl::StatusOr<std::vector<v1::Agency>> ListAgencies(const AgencyFilter& f, std::string_view a,
                                                       int n) override {
    return inner_.ListAgencies(f, a, n);
  }
  absl::StatusOr<std::vector<v1::ServiceUnit>> ListUnits(const UnitFilter& f, std::string_view a,
                                                         int n) override {
    return inner_.ListUnits(f, a, n);
  }
  absl::StatusOr<std::vector<v1::Service>> ListServices(const ServiceFilter& f, std::string_view a,
                                                        int n) override {
    return inner_.ListServices(f, a, n);
  }
  absl::StatusOr<std::vector<v1::StandardVersion>> SearchStandards(const StandardQuery& q,
                                                                   std::string_view a,
                                                                   int n) override {
    return inner_.SearchStandards(q, a, n);
  }
  absl::StatusOr<std::vector<v1::StandardVersion>> ListServiceVersions(std::string_view s, int a,
                                                                       int n) override {
    return inner_.ListServiceVersions(s, a, n);
  }
  absl::StatusOr<std::vector<v1::Maklumat>> ListUnitMaklumat(std::string_view u, int a,
                                                             int n) override {
    return inner_.ListUnitMaklumat(u, a, n);
  }
  absl::StatusOr<std::vector<v1::StandardVersion>> ListReviewDue(
      std::string_view agency, int64_t before, const std::optional<ReviewDueKey>& after,
      int n) override {
    return inner_.ListReviewDue(agency, before, after, n);
  }
  absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChanges(std::string_view after, int n,
                                                           absl::Duration block) override {
    if (gap) return absl::OutOfRangeError("events were trimmed");
    if (unavailable) return absl::UnavailableError("redis down");
    return inner_.ReadChanges(after, n, block);
  }
  absl::StatusOr<std::string> LatestCursor() override {
    if (unavailable) return absl::UnavailableError("redis down");
    return inner_.LatestCursor();
  }

 private:
  RegistryStore& inner_;
};

class SnapshotTest : public ::testing::Test {
 protected:
  SnapshotTest()
      : clock_(absl::FromUnixSeconds(1800000000)),
        plain_(store_, clock_, RegistryOptions{}),
        fast_(store_, clock_, RegistryOptions{}),
        snapshot_(store_, clock_, SnapshotOptions{.feed_batch = 7, .load_batch = 5}) {
    fast_.AttachSnapshot(&snapshot_);
  }

  void ExpectSameAnswers(RandomRegistry& random, int searches) {
    ExpectSnapshotAnswersEqualStore(plain_, fast_, snapshot_, random, searches);
  }

  FakeRegistryStore store_;
  FakeClock clock_;
  StandardsRegistry plain_;
  StandardsRegistry fast_;
  RegistrySnapshot snapshot_;
};

TEST_F(SnapshotTest, AnswersEqualTheStoresForRandomDataAndChanges) {
  RandomRegistry random(store_, 18);
  random.Seed(40, 120);
  EXPECT_FALSE(snapshot_.Serving());  // not loaded yet
  v1::GetCurrentStandardRequest req;
  req.set_service_id("svc-1");
  EXPECT_FALSE(fast_.GetCurrentStandardFromSnapshot(Identity::Public(), req).has_value());
  ASSERT_TRUE(snapshot_.Poll(absl::ZeroDuration()).ok());
  ExpectSameAnswers(random, 300);

  // Random changes after the load arrive through the feed (more than one batch of it).
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 30; ++i) random.ChangeVersion(absl::StrCat("std-", random.Uniform(0, 150)));
    for (int i = 0; i < 20 && !snapshot_.Serving(); ++i) {
      ASSERT_TRUE(snapshot_.Poll(absl::ZeroDuration()).ok());
    }
    // Catch up fully: a batch shorter than feed_batch marks the snapshot synced.
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(snapshot_.Poll(absl::ZeroDuration()).ok());
    ExpectSameAnswers(random, 100);
  }
  // A search for another state is the store's to answer.
  v1::SearchStandardsRequest drafts;
  drafts.add_states(v1::STANDARD_STATE_SUPERSEDED);
  EXPECT_FALSE(fast_.SearchStandardsFromSnapshot(Identity::Public(), drafts).has_value());
}

TEST_F(SnapshotTest, ReplicaReadsItsOwnWriteAtOnceAndAnothersAfterTheFeed) {
  RandomRegistry random(store_, 7);
  random.Seed(5, 0);
  v1::StandardVersion v;
  v.set_id("std-x");
  v.set_service_id("svc-0");
  v.set_state(v1::STANDARD_STATE_ADOPTED);
  v.set_service_name("akta kelahiran");
  v1::ChangedObject o;
  *o.mutable_standard_version() = v;
  Put(store_, o);
  auto service = store_.GetService("svc-0");
  ASSERT_TRUE(service.ok() && *service);
  v.set_agency_id((*service)->agency_id());
  o.mutable_standard_version()->set_agency_id(v.agency_id());
  Put(store_, o);
  v1::ChangedObject so;
  *so.mutable_service() = **service;
  so.mutable_service()->set_current_version_id("std-x");
  Put(store_, so);

  // Replica A is fast_ with snapshot_; replica B another registry with its own snapshot.
  RegistrySnapshot snapshot_b(store_, clock_, SnapshotOptions{});
  StandardsRegistry replica_b(store_, clock_, RegistryOptions{});
  replica_b.AttachSnapshot(&snapshot_b);
  ASSERT_TRUE(snapshot_.Poll(absl::ZeroDuration()).ok());
  ASSERT_TRUE(snapshot_b.Poll(absl::ZeroDuration()).ok());
  v1::GetCurrentStandardRequest get;
  get.set_service_id("svc-0");
  auto before = replica_b.GetCurrentStandardFromSnapshot(Identity::Public(), get);
  ASSERT_TRUE(before.has_value() && before->ok());
  EXPECT_EQ((*before)->version().id(), "std-x");

  v1::WithdrawStandardVersionRequest withdraw;
  withdraw.set_id("std-x");
  withdraw.set_expected_revision(2);
  withdraw.set_reason("diganti peraturan baru");
  ASSERT_TRUE(fast_.WithdrawStandardVersion(simpul::testing::PlatformAdmin(), withdraw).ok());

  // A, which wrote, answers from its snapshot with the change, without reading the feed.
  auto on_a = fast_.GetCurrentStandardFromSnapshot(Identity::Public(), get);
  ASSERT_TRUE(on_a.has_value());
  EXPECT_EQ(on_a->status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(on_a->status().message(), "service \"svc-0\" has no adopted standard");
  v1::SearchStandardsRequest search;
  search.set_keyword("akta");
  auto found_a = fast_.SearchStandardsFromSnapshot(Identity::Public(), search);
  ASSERT_TRUE(found_a.has_value() && found_a->ok());
  EXPECT_EQ((*found_a)->versions_size(), 0);

  // B has not read the feed yet; once it has, it answers the same.
  auto stale_b = replica_b.GetCurrentStandardFromSnapshot(Identity::Public(), get);
  ASSERT_TRUE(stale_b.has_value() && stale_b->ok());
  ASSERT_TRUE(snapshot_b.Poll(absl::ZeroDuration()).ok());
  auto on_b = replica_b.GetCurrentStandardFromSnapshot(Identity::Public(), get);
  ASSERT_TRUE(on_b.has_value());
  EXPECT_EQ(on_b->status().code(), absl::StatusCode::kNotFound);
  auto found_b = replica_b.SearchStandardsFromSnapshot(Identity::Public(), search);
  ASSERT_TRUE(found_b.has_value() && found_b->ok());
  EXPECT_EQ((*found_b)->versions_size(), 0);
}

TEST_F(SnapshotTest, FeedGapDropsTheSnapshotUntilItIsLoadedAgain) {
  RandomRegistry random(store_, 3);
  random.Seed(10, 30);
  GapStore gappy(store_);
  RegistrySnapshot snapshot(gappy, clock_, SnapshotOptions{});
  StandardsRegistry registry(store_, clock_, RegistryOptions{});
  registry.AttachSnapshot(&snapshot);
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());
  ASSERT_TRUE(snapshot.Serving());

  gappy.gap = true;
  for (int i = 0; i < 20; ++i) random.ChangeVersion(absl::StrCat("std-", i));
  EXPECT_EQ(snapshot.Poll(absl::ZeroDuration()).code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(snapshot.Serving());
  v1::GetCurrentStandardRequest get;
  get.set_service_id("svc-1");
  EXPECT_FALSE(registry.GetCurrentStandardFromSnapshot(Identity::Public(), get).has_value());
  // The registry still answers, from the store.
  EXPECT_EQ(Describe(registry.GetCurrentStandard(Identity::Public(), get)),
            Describe(plain_.GetCurrentStandard(Identity::Public(), get)));

  gappy.gap = false;
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());  // loads again, then reads the feed
  ASSERT_TRUE(snapshot.Serving());
  for (const std::string& id : random.service_ids()) {
    get.set_service_id(id);
    auto fast = registry.GetCurrentStandardFromSnapshot(Identity::Public(), get);
    ASSERT_TRUE(fast.has_value());
    EXPECT_EQ(Describe(*fast), Describe(plain_.GetCurrentStandard(Identity::Public(), get)));
  }
}

TEST_F(SnapshotTest, StopsServingWhenTheFeedIsNotReadWithinMaxStaleness) {
  RandomRegistry random(store_, 5);
  random.Seed(5, 10);
  GapStore flaky(store_);
  RegistrySnapshot snapshot(flaky, clock_, SnapshotOptions{.max_staleness = absl::Seconds(2)});
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());
  EXPECT_TRUE(snapshot.Serving());
  flaky.unavailable = true;
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(snapshot.Poll(absl::ZeroDuration()).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(snapshot.Serving());  // within the bound
  clock_.Advance(absl::Seconds(1) + absl::Milliseconds(1));
  EXPECT_FALSE(snapshot.Serving());
  flaky.unavailable = false;
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());
  EXPECT_TRUE(snapshot.Serving());
  snapshot.Stop();
  EXPECT_FALSE(snapshot.Serving());
}

TEST_F(SnapshotTest, MemoryPerPublishedStandardIsBounded) {
  for (int i = 0; i < 200; ++i) {
    v1::StandardVersion v;
    v.set_id(absl::StrCat("akta-kelahiran-kabupaten-", i, ".v1"));
    v.set_service_id(absl::StrCat("akta-kelahiran-kabupaten-", i));
    v.set_agency_id(absl::StrCat("kabupaten-", i));
    v.set_unit_id(absl::StrCat("disdukcapil-kabupaten-", i));
    v.set_region_code("13.05");
    v.set_service_name("Akta Kelahiran");
    v.set_state(v1::STANDARD_STATE_ADOPTED);
    *v.mutable_components() = CompleteComponents();
    v1::ChangedObject o;
    *o.mutable_standard_version() = v;
    Put(store_, o);
    v1::ChangedObject s;
    s.mutable_service()->set_id(v.service_id());
    s.mutable_service()->set_current_version_id(v.id());
    Put(store_, s);
  }
  ASSERT_TRUE(snapshot_.Poll(absl::ZeroDuration()).ok());
  RegistrySnapshot::Stats stats = snapshot_.stats();
  ASSERT_EQ(stats.published, 200u);
  const size_t per_standard = stats.approx_bytes / stats.published;
  std::printf("snapshot: %zu bytes per published standard (with its service)\n", per_standard);
  EXPECT_LT(per_standard, 16 * 1024u);
}

}  // namespace
}  // namespace simpul::registry
