// RegistrySnapshot over the real RedisRegistryStore: its answers equal the store's for random
// data and changes, two replicas converge through the Redis feed, and a cursor trimmed out of
// the feed, or an event Redis lost (a flush, a failover to a lagging replica) followed by newer
// ones, makes the snapshot load again instead of serving what it missed or what is gone.
#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/registry/redis_store.h"
#include "services/registry/registry.h"
#include "services/registry/snapshot.h"
#include "tests/registry/registry_snapshot_checks.h"
#include "tests/testing/redis_fixture.h"

namespace simpul::registry {
namespace {

using ::simpul::registry::testing::Describe;
using ::simpul::registry::testing::ExpectSnapshotAnswersEqualStore;
using ::simpul::registry::testing::RandomRegistry;

class SnapshotRedisTest : public simpul::testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    pool_ = std::make_unique<RedisPool>(ServerOptions());
    store_ = std::make_unique<RedisRegistryStore>(pool_.get(),
                                                  RedisRegistryStore::Options{.feed_max_len = 50});
  }

  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  std::unique_ptr<RedisRegistryStore> store_;
};

TEST_F(SnapshotRedisTest, AnswersEqualTheStoresAndReplicasConvergeThroughTheFeed) {
  RandomRegistry random(*store_, 42);
  random.Seed(30, 80);
  StandardsRegistry plain(*store_, clock_, RegistryOptions{});
  RegistrySnapshot snapshot_a(*store_, clock_, SnapshotOptions{.load_batch = 7});
  RegistrySnapshot snapshot_b(*store_, clock_, SnapshotOptions{.load_batch = 7});
  StandardsRegistry replica_a(*store_, clock_, RegistryOptions{});
  StandardsRegistry replica_b(*store_, clock_, RegistryOptions{});
  replica_a.AttachSnapshot(&snapshot_a);
  replica_b.AttachSnapshot(&snapshot_b);
  ASSERT_TRUE(snapshot_a.Poll(absl::ZeroDuration()).ok());
  ASSERT_TRUE(snapshot_b.Poll(absl::ZeroDuration()).ok());
  ExpectSnapshotAnswersEqualStore(plain, replica_a, snapshot_a, random, 200);

  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 15; ++i) random.ChangeVersion(absl::StrCat("std-", random.Uniform(0, 90)));
    // Fewer than feed_max_len changes: both replicas catch up through the feed.
    ASSERT_TRUE(snapshot_a.Poll(absl::Milliseconds(10)).ok());
    ASSERT_TRUE(snapshot_b.Poll(absl::Milliseconds(10)).ok());
    ExpectSnapshotAnswersEqualStore(plain, replica_a, snapshot_a, random, 60);
    ExpectSnapshotAnswersEqualStore(plain, replica_b, snapshot_b, random, 60);
  }
}

TEST_F(SnapshotRedisTest, CursorTrimmedOutOfTheFeedLoadsAgain) {
  RandomRegistry random(*store_, 9);
  random.Seed(10, 20);
  StandardsRegistry plain(*store_, clock_, RegistryOptions{});
  RegistrySnapshot snapshot(*store_, clock_, SnapshotOptions{});
  StandardsRegistry replica(*store_, clock_, RegistryOptions{});
  replica.AttachSnapshot(&snapshot);
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());
  ASSERT_TRUE(snapshot.Serving());
  // More changes than the feed keeps (feed_max_len 50): the snapshot's cursor is trimmed away.
  for (int i = 0; i < 80; ++i) random.ChangeVersion(absl::StrCat("std-", i % 20));
  EXPECT_EQ(snapshot.Poll(absl::ZeroDuration()).code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(snapshot.Serving());
  v1::GetCurrentStandardRequest get;
  get.set_service_id("svc-1");
  EXPECT_FALSE(replica.GetCurrentStandardFromSnapshot(Identity::Public(), get).has_value());
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());
  ExpectSnapshotAnswersEqualStore(plain, replica, snapshot, random, 100);
}

TEST_F(SnapshotRedisTest, EventsRedisLostLoadAgainEvenAfterNewerEvents) {
  RandomRegistry random(*store_, 11);
  random.Seed(10, 20);
  StandardsRegistry plain(*store_, clock_, RegistryOptions{});
  RegistrySnapshot snapshot(*store_, clock_, SnapshotOptions{});
  StandardsRegistry replica(*store_, clock_, RegistryOptions{});
  replica.AttachSnapshot(&snapshot);
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());
  for (int i = 0; i < 5; ++i) random.ChangeVersion(absl::StrCat("std-", i));
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());
  ASSERT_TRUE(snapshot.Serving());
  // Redis loses everything, then another registry is written: its feed events have ids past
  // the snapshot's cursor, and nothing was trimmed.
  ASSERT_TRUE(pool_->Command({"FLUSHALL"}).ok());
  absl::SleepFor(absl::Milliseconds(2));
  RandomRegistry other(*store_, 12);
  other.Seed(6, 9);
  for (int i = 0; i < 3; ++i) other.ChangeVersion(absl::StrCat("std-", i));
  EXPECT_EQ(snapshot.Poll(absl::ZeroDuration()).code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(snapshot.Serving());
  ASSERT_TRUE(snapshot.Poll(absl::ZeroDuration()).ok());
  ExpectSnapshotAnswersEqualStore(plain, replica, snapshot, other, 100);
}

}  // namespace
}  // namespace simpul::registry
