// Integration tests of RedisAggregateStore against a real redis-server started per test.
#include "services/monitoring/redis_store.h"

#include <algorithm>
#include <atomic>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_fixture.h"
#include "tests/testing/status_matchers.h"

namespace simpul::monitoring {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using Ranked = std::vector<std::pair<std::string, int64_t>>;

constexpr char kPrefix[] = "simpul:mon:{m}:";
// 2026-03-02 00:00:00 UTC.
const absl::Time kT0 = absl::FromUnixSeconds(1772409600);

Contribution Make(std::string dedup, std::vector<std::string> buckets,
                  std::vector<Increment> increments) {
  return Contribution{std::move(dedup), std::move(buckets), std::move(increments)};
}

// Overdue is the contribution of an application passing its promised time.
Contribution Overdue(const std::string& app, const std::string& bucket = "u:unit-1|2026-M03") {
  return Make(absl::StrCat("overdue:", app), {bucket, "n|2026-M03"},
              {{"d.open", -1}, {"d.overdue", 1}, {absl::StrCat("app.", app), 1}});
}

class RedisAggregateStoreTest : public simpul::testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    Connect();
  }

  void Connect(RedisAggregateStore::Options options = {}) {
    store_.reset();
    RedisOptions redis = ServerOptions();
    redis.pool_size = 20;
    pool_ = std::make_unique<RedisPool>(redis);
    store_ = std::make_unique<RedisAggregateStore>(pool_.get(), std::move(options));
  }

  bool MustApply(const Contribution& c) {
    absl::StatusOr<bool> applied = store_->Apply(c);
    EXPECT_TRUE(applied.ok()) << applied.status();
    return applied.ok() && *applied;
  }

  Counters MustRead(const std::string& bucket) {
    absl::StatusOr<Counters> counters = store_->Read(bucket);
    EXPECT_TRUE(counters.ok()) << counters.status();
    return counters.ok() ? *counters : Counters{};
  }

  Ranked MustTop(const std::string& ranking, int limit, bool ascending = false) {
    absl::StatusOr<Ranked> top = store_->TopRanks(ranking, limit, ascending);
    EXPECT_TRUE(top.ok()) << top.status();
    return top.ok() ? *top : Ranked{};
  }

  // Receipt is a new receipt each call (its own dedup key), counted in bucket "receipts".
  Contribution Receipt() {
    return Make(absl::StrCat("receipt-", ++receipts_), {"receipts"}, {{"r", 1}});
  }

  void MustAddOpen(const std::string& app, absl::Time due, const Contribution& c) {
    absl::StatusOr<bool> added = store_->AddOpen(Receipt(), app, due, c);
    ASSERT_TRUE(added.ok()) << added.status();
    EXPECT_TRUE(*added);
  }

  bool MustRemoveOpen(const std::string& app) {
    absl::StatusOr<AggregateStore::Removed> removed = store_->RemoveOpen(app, {}, {});
    EXPECT_TRUE(removed.ok()) << removed.status();
    return removed.ok() && removed->was_waiting;
  }

  int MustSweep(absl::Time at, int limit = 100) {
    absl::StatusOr<int> swept = store_->SweepOpen(at, limit);
    EXPECT_TRUE(swept.ok()) << swept.status();
    return swept.ok() ? *swept : -1;
  }

  // Snapshot renders every key's type and contents canonically, to show nothing was written.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> out;
    for (const RedisReply& k : Raw({"KEYS", "*"}).elements) {
      const std::string& key = k.str;
      const std::string type = Raw({"TYPE", key}).str;
      std::string rendered = type;
      if (type == "string") {
        absl::StrAppend(&rendered, "|", Raw({"GET", key}).str);
      } else if (type == "hash") {
        std::map<std::string, std::string> fields;
        const std::vector<RedisReply> flat = Raw({"HGETALL", key}).elements;
        for (size_t i = 0; i + 1 < flat.size(); i += 2) fields[flat[i].str] = flat[i + 1].str;
        for (const auto& [f, v] : fields) absl::StrAppend(&rendered, "|", f, "=", v);
      } else if (type == "zset") {
        for (const RedisReply& e : Raw({"ZRANGE", key, "0", "-1", "WITHSCORES"}).elements) {
          absl::StrAppend(&rendered, "|", e.str);
        }
      }
      out[key] = rendered;
    }
    return out;
  }

  std::unique_ptr<RedisAggregateStore> store_;
  int receipts_ = 0;
};

TEST_F(RedisAggregateStoreTest, ApplyAddsEveryIncrementToEveryBucket) {
  const Contribution c =
      Make("survey:unit-1:k1", {"u:unit-1|2026-M03", "a:kota-bogor|2026-Q1", "n|2026-Y"},
           {{"s.n", 1}, {"s.u3.sum", 4}, {"d.open", -2}});
  EXPECT_TRUE(MustApply(c));
  EXPECT_TRUE(
      MustApply(Make("survey:unit-1:k2", {"u:unit-1|2026-M03"}, {{"s.n", 1}, {"s.u3.sum", 3}})));
  EXPECT_THAT(MustRead("u:unit-1|2026-M03"),
              ElementsAre(Pair("d.open", -2), Pair("s.n", 2), Pair("s.u3.sum", 7)));
  for (const std::string bucket : {"a:kota-bogor|2026-Q1", "n|2026-Y"}) {
    EXPECT_THAT(MustRead(bucket),
                ElementsAre(Pair("d.open", -2), Pair("s.n", 1), Pair("s.u3.sum", 4)))
        << bucket;
  }
  EXPECT_THAT(MustRead("u:other|2026-M03"), IsEmpty());
  // The documented layout: a hash per bucket, a dedup marker with a TTL.
  EXPECT_EQ(Raw({"HGET", absl::StrCat(kPrefix, "b:n|2026-Y"), "s.u3.sum"}).str, "4");
  const long long ttl_ms = Raw({"PTTL", absl::StrCat(kPrefix, "d:survey:unit-1:k1")}).integer;
  EXPECT_GT(ttl_ms, absl::ToInt64Milliseconds(absl::Hours(24 * 399)));
  EXPECT_LE(ttl_ms, absl::ToInt64Milliseconds(absl::Hours(24 * 400)));
}

TEST_F(RedisAggregateStoreTest, RepeatedDedupKeyChangesNothing) {
  const Contribution c =
      Make("complaint-event:e1", {"u:unit-1|2026-M03", "n|2026-M03"}, {{"c.n", 1}});
  EXPECT_TRUE(MustApply(c));
  const auto before = Snapshot();
  absl::StatusOr<bool> again = store_->Apply(c);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  // Even with other buckets and increments, the key decides.
  again = store_->Apply(Make("complaint-event:e1", {"n|2026-Y"}, {{"c.n", 5}}));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_THAT(MustRead("n|2026-M03"), ElementsAre(Pair("c.n", 1)));
}

TEST_F(RedisAggregateStoreTest, DuplicateBucketIsIncrementedOnce) {
  EXPECT_TRUE(MustApply(Make("k", {"n|2026-Y", "n|2026-Y"}, {{"x", 2}, {"x", 3}})));
  EXPECT_THAT(MustRead("n|2026-Y"), ElementsAre(Pair("x", 5)));
}

TEST_F(RedisAggregateStoreTest, DedupKeyIsForgottenAfterItsTtl) {
  Connect({.dedup_ttl = absl::Milliseconds(200)});
  const Contribution c = Make("late", {"n|2026-Y"}, {{"x", 1}});
  EXPECT_TRUE(MustApply(c));
  EXPECT_FALSE(MustApply(c));
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_TRUE(MustApply(c));
  EXPECT_THAT(MustRead("n|2026-Y"), ElementsAre(Pair("x", 2)));

  Connect({.dedup_ttl = absl::ZeroDuration()});
  EXPECT_TRUE(MustApply(Make("forever", {"n|2026-Y"}, {{"x", 1}})));
  EXPECT_EQ(Raw({"PTTL", absl::StrCat(kPrefix, "d:forever")}).integer, -1);
}

TEST_F(RedisAggregateStoreTest, AMarkerStateRecordExpiresWithTheDedupKeys) {
  Connect({.dedup_ttl = absl::Milliseconds(300)});
  StateChange marker;
  marker.key = "delivery-na:u1:app-1";
  marker.next.version = "1";
  marker.expires = true;
  absl::StatusOr<bool> marked = store_->ReplaceState(marker);
  ASSERT_TRUE(marked.ok()) << marked.status();
  EXPECT_TRUE(*marked);
  const int64_t ttl = Raw({"PTTL", absl::StrCat(kPrefix, "s:delivery-na:u1:app-1")}).integer;
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 300);
  absl::SleepFor(absl::Milliseconds(500));
  absl::StatusOr<std::optional<StateRecord>> gone = store_->ReadState("delivery-na:u1:app-1");
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->has_value());

  // A record of the registry's state (svc:, unit:) is kept for good.
  StateChange kept;
  kept.key = "svc:s1";
  kept.next.version = "1";
  absl::StatusOr<bool> stored = store_->ReplaceState(kept);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(*stored);
  EXPECT_EQ(Raw({"PTTL", absl::StrCat(kPrefix, "s:svc:s1")}).integer, -1);
}

TEST_F(RedisAggregateStoreTest, ConcurrentAppliesOfOneKeyApplyOnce) {
  constexpr int kThreads = 16;
  for (int round = 0; round < 5; ++round) {
    const Contribution c =
        Make(absl::StrCat("same-", round), {"n|2026-Y", "u:a|2026-Y"}, {{"x", 1}});
    std::atomic<int> applied{0};
    std::atomic<int> failed{0};
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        absl::StatusOr<bool> r = store_->Apply(c);
        if (!r.ok()) {
          ++failed;
        } else if (*r) {
          ++applied;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(applied.load(), 1);
  }
  EXPECT_THAT(MustRead("n|2026-Y"), ElementsAre(Pair("x", 5)));
  EXPECT_THAT(MustRead("u:a|2026-Y"), ElementsAre(Pair("x", 5)));
}

TEST_F(RedisAggregateStoreTest, ConcurrentAppliesOfDistinctKeysSumExactly) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;
  std::atomic<int> not_applied{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<bool> r =
            store_->Apply(Make(absl::StrCat("k-", t, "-", i), {"n|2026-M03", "n|2026-Y"},
                               {{"n", 1}, {"sum", t + 1}, {"neg", -i}}));
        if (!r.ok() || !*r) ++not_applied;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(not_applied.load(), 0);
  const int64_t n = kThreads * kPerThread;
  const int64_t sum = kPerThread * (kThreads * (kThreads + 1) / 2);
  const int64_t neg = -int64_t{kThreads} * (kPerThread * (kPerThread - 1) / 2);
  for (const std::string bucket : {"n|2026-M03", "n|2026-Y"}) {
    EXPECT_THAT(MustRead(bucket), ElementsAre(Pair("n", n), Pair("neg", neg), Pair("sum", sum)));
  }
}

TEST_F(RedisAggregateStoreTest, ReadManyKeepsOrderAndEmptyBuckets) {
  MustApply(Make("a", {"b1"}, {{"x", 1}}));
  MustApply(Make("b", {"b3"}, {{"y", 3}, {"z", -4}}));
  absl::StatusOr<std::vector<Counters>> many = store_->ReadMany({"b3", "missing", "b1", "b3"});
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->size(), 4u);
  EXPECT_THAT((*many)[0], ElementsAre(Pair("y", 3), Pair("z", -4)));
  EXPECT_THAT((*many)[1], IsEmpty());
  EXPECT_THAT((*many)[2], ElementsAre(Pair("x", 1)));
  EXPECT_THAT((*many)[3], ElementsAre(Pair("y", 3), Pair("z", -4)));
  absl::StatusOr<std::vector<Counters>> none = store_->ReadMany({});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
}

TEST_F(RedisAggregateStoreTest, ReadFieldsReadsTheNamedCountersOfEachBucket) {
  MustApply(Make("a", {"u:x|2026-M03"}, {{"s.n", 2}, {"s.u1.sum", 7}, {"d.done", 5}}));
  MustApply(Make("b", {"u:y|2026-M03"}, {{"s.u1.sum", -3}}));
  absl::StatusOr<std::vector<std::vector<int64_t>>> read =
      store_->ReadFields({"u:x|2026-M03", "u:none|2026-M03", "u:y|2026-M03", "u:x|2026-M03"},
                         {"s.u1.sum", "s.n", "absent"});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(*read, ElementsAre(ElementsAre(7, 2, 0), ElementsAre(0, 0, 0), ElementsAre(-3, 0, 0),
                                 ElementsAre(7, 2, 0)));
  EXPECT_THAT(*store_->ReadFields({}, {"s.n"}), IsEmpty());
  EXPECT_EQ(store_->ReadFields({"u:x|2026-M03"}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A named counter that is not an integer: INTERNAL naming the key; others are not looked at.
  Raw({"HSET", absl::StrCat(kPrefix, "b:u:x|2026-M03"), "note", "text"});
  EXPECT_TRUE(store_->ReadFields({"u:x|2026-M03"}, {"s.n"}).ok());
  absl::Status bad = store_->ReadFields({"u:x|2026-M03"}, {"s.n", "note"}).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(bad.message(), HasSubstr("u:x|2026-M03"));
}

TEST_F(RedisAggregateStoreTest, RangesCountRankingsAndScoredSetsOfTheSameName) {
  ASSERT_TRUE(store_
                  ->SetRanks({{{"a:x|2026-Q1|IKM"}, "u1", 7917},
                              {{"a:x|2026-Q1|IKM"}, "u2", 5000},
                              {{"a:x|2026-Q1|IKM"}, "u3", 9000}})
                  .ok());
  StateChange member;
  member.key = "svc:z";
  member.next = {"1-0", "r"};
  member.memberships = {{"a:x|2026-Q1|IKM", "only-a-set-member", 1}};
  ASSERT_TRUE(*store_->ReplaceState(member));
  absl::StatusOr<std::vector<int64_t>> counts =
      store_->CountInRanges({{"a:x|2026-Q1|IKM", INT64_MIN, INT64_MAX, /*ranking=*/true},
                             {"a:x|2026-Q1|IKM", 6000, 8000, /*ranking=*/true},
                             {"a:x|2026-Q1|IKM", INT64_MIN, INT64_MAX},
                             {"a:x|2026-Q2|IKM", INT64_MIN, INT64_MAX, /*ranking=*/true}});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_THAT(*counts, ElementsAre(3, 1, 1, 0));
}

TEST_F(RedisAggregateStoreTest, InvalidContributionsWriteNothing) {
  MustApply(Make("seed", {"n|2026-Y"}, {{"x", 1}}));
  const auto before = Snapshot();
  const std::vector<Contribution> bad = {
      Make("", {"n|2026-Y"}, {{"x", 1}}),
      Make("k", {}, {{"x", 1}}),
      Make("k", {"n|2026-Y", ""}, {{"x", 1}}),
      Make("k", {"n|2026-Y"}, {{"x", 1}, {"", 1}}),
  };
  for (const Contribution& c : bad) {
    absl::StatusOr<bool> r = store_->Apply(c);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    absl::Status open = store_->AddOpen(Receipt(), "app", kT0, c).status();
    EXPECT_EQ(open.code(), absl::StatusCode::kInvalidArgument) << open;
    open = store_->AddOpen(c, "app", kT0, Overdue("x")).status();
    EXPECT_EQ(open.code(), absl::StatusCode::kInvalidArgument) << open;
    absl::Status close = store_->RemoveOpen("app", {Overdue("x")}, {c}).status();
    EXPECT_EQ(close.code(), absl::StatusCode::kInvalidArgument) << close;
  }
  absl::Status open = store_->AddOpen(Receipt(), "", kT0, Overdue("x")).status();
  EXPECT_EQ(open.code(), absl::StatusCode::kInvalidArgument) << open;
  EXPECT_EQ(store_->SetRanks({{{"r"}, "", 1}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SetRanks({{{"r"}, "u", 1}, {{""}, "u", 1}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SetRanks({{{"r"}, "u", (int64_t{1} << 53) + 1}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->TopRanks("r", 0, false).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->SweepOpen(kT0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(RedisAggregateStoreTest, ContributionWithNoIncrementOnlyRecordsItsKey) {
  EXPECT_TRUE(MustApply(Make("empty", {"n|2026-Y"}, {})));
  EXPECT_FALSE(MustApply(Make("empty", {"n|2026-Y"}, {{"x", 1}})));
  EXPECT_THAT(MustRead("n|2026-Y"), IsEmpty());
}

TEST_F(RedisAggregateStoreTest, CorruptCounterIsInternalNamingTheKey) {
  MustApply(Make("a", {"good", "bad"}, {{"x", 1}, {"y", 1}}));
  const std::string bad_key = absl::StrCat(kPrefix, "b:bad");
  Raw({"HSET", bad_key, "y", "1.5"});
  absl::StatusOr<Counters> read = store_->Read("bad");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(read.status().message(), HasSubstr(bad_key));
  absl::StatusOr<std::vector<Counters>> many = store_->ReadMany({"good", "bad"});
  EXPECT_EQ(many.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(many.status().message(), HasSubstr(bad_key));

  // An Apply that would increment the corrupt counter fails before writing anything.
  const auto before = Snapshot();
  absl::StatusOr<bool> applied = store_->Apply(Make("b", {"good", "bad"}, {{"x", 1}, {"y", 1}}));
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal) << applied.status();
  EXPECT_THAT(applied.status().message(), HasSubstr(bad_key));
  EXPECT_EQ(Snapshot(), before);
  // So does a sweep whose due contribution would: the application stays queued.
  MustAddOpen("app-1", kT0, Make("o", {"good", "bad"}, {{"x", 1}, {"y", 1}}));
  const auto queued = Snapshot();
  absl::StatusOr<int> swept = store_->SweepOpen(kT0, 10);
  EXPECT_EQ(swept.status().code(), absl::StatusCode::kInternal) << swept.status();
  EXPECT_THAT(swept.status().message(), HasSubstr(bad_key));
  EXPECT_EQ(Snapshot(), queued);
  // One that does not touch it applies.
  EXPECT_TRUE(MustApply(Make("c", {"good", "bad"}, {{"x", 1}})));
}

TEST_F(RedisAggregateStoreTest, KeyOfTheWrongTypeFailsBeforeWriting) {
  const std::string clobbered = absl::StrCat(kPrefix, "b:n|2026-Y");
  Raw({"SET", clobbered, "not a hash"});
  const auto before = Snapshot();
  absl::StatusOr<bool> applied = store_->Apply(Make("k", {"n|2026-M03", "n|2026-Y"}, {{"x", 1}}));
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInternal) << applied.status();
  EXPECT_THAT(applied.status().message(), HasSubstr(clobbered));
  absl::StatusOr<Counters> read = store_->Read("n|2026-Y");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInternal) << read.status();
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(RedisAggregateStoreTest, LargeContributionAppliesInOneCall) {
  std::vector<std::string> buckets;
  for (const char* period : {"2026-M03", "2026-Q1", "2026-S1", "2026-Y"}) {
    buckets.push_back(absl::StrCat("u:unit-1|", period));
  }
  buckets.insert(buckets.end(), {"a:kota-bogor|2026-M03", "r:32|2026-M03", "n|2026-M03"});
  std::vector<Increment> increments;
  for (int i = 0; i < 40; ++i) increments.push_back({absl::StrCat("f.", i), i - 20});
  const Contribution c = Make("big", buckets, increments);
  EXPECT_TRUE(MustApply(c));
  EXPECT_FALSE(MustApply(c));
  for (const std::string& bucket : buckets) {
    const Counters counters = MustRead(bucket);
    ASSERT_EQ(counters.size(), 40u) << bucket;
    for (int i = 0; i < 40; ++i) EXPECT_EQ(counters.at(absl::StrCat("f.", i)), i - 20);
  }
  // The same contribution through the open queue.
  Contribution overdue = c;
  overdue.dedup_key = "big-overdue";
  MustAddOpen("app-big", kT0, overdue);
  EXPECT_EQ(MustSweep(kT0), 1);
  for (const std::string& bucket : buckets) EXPECT_EQ(MustRead(bucket).at("f.39"), 38);
}

TEST_F(RedisAggregateStoreTest, TopRanksOrdersByValueThenUnitId) {
  const std::string r = "a:kota-bogor|2026-M03|ikm";
  ASSERT_TRUE(store_
                  ->SetRanks({{{r, "n|2026-M03|ikm"}, "u-d", 8000},
                              {{r}, "u-b", 9000},
                              {{r}, "u-c", 8000},
                              {{r}, "u-a", 8000},
                              {{r}, "u-e", 7000},
                              {{r}, "u-f", 9500}})
                  .ok());
  EXPECT_THAT(MustTop(r, 10), ElementsAre(Pair("u-f", 9500), Pair("u-b", 9000), Pair("u-a", 8000),
                                          Pair("u-c", 8000), Pair("u-d", 8000), Pair("u-e", 7000)));
  EXPECT_THAT(MustTop(r, 10, true),
              ElementsAre(Pair("u-e", 7000), Pair("u-a", 8000), Pair("u-c", 8000),
                          Pair("u-d", 8000), Pair("u-b", 9000), Pair("u-f", 9500)));
  // A limit that cuts the tie run keeps its smallest unit ids, in both directions.
  EXPECT_THAT(MustTop(r, 3), ElementsAre(Pair("u-f", 9500), Pair("u-b", 9000), Pair("u-a", 8000)));
  EXPECT_THAT(MustTop(r, 4), ElementsAre(Pair("u-f", 9500), Pair("u-b", 9000), Pair("u-a", 8000),
                                         Pair("u-c", 8000)));
  EXPECT_THAT(MustTop(r, 2, true), ElementsAre(Pair("u-e", 7000), Pair("u-a", 8000)));
  EXPECT_THAT(MustTop(r, 1), ElementsAre(Pair("u-f", 9500)));
  EXPECT_THAT(MustTop("n|2026-M03|ikm", 5), ElementsAre(Pair("u-d", 8000)));
  EXPECT_THAT(MustTop("nothing", 5), IsEmpty());

  // Setting is idempotent and moves the unit; negative values work.
  ASSERT_TRUE(store_->SetRanks({{{r}, "u-e", 9800}, {{r}, "u-e", 9800}, {{r}, "u-x", -5}}).ok());
  EXPECT_THAT(MustTop(r, 2), ElementsAre(Pair("u-e", 9800), Pair("u-f", 9500)));
  EXPECT_THAT(MustTop(r, 1, true), ElementsAre(Pair("u-x", -5)));
  EXPECT_EQ(Raw({"ZCARD", absl::StrCat(kPrefix, "rank:", r)}).integer, 7);
  EXPECT_TRUE(store_->SetRanks({}).ok());
}

TEST_F(RedisAggregateStoreTest, TopRanksTieRunLongerThanTheLimit) {
  std::vector<RankUpdate> updates;
  for (int i = 0; i < 30; ++i) updates.push_back({{"r"}, absl::StrCat("u", 100 + i), 5000});
  updates.push_back({{"r"}, "u999", 6000});
  ASSERT_TRUE(store_->SetRanks(updates).ok());
  EXPECT_THAT(MustTop("r", 4), ElementsAre(Pair("u999", 6000), Pair("u100", 5000),
                                           Pair("u101", 5000), Pair("u102", 5000)));
  EXPECT_THAT(MustTop("r", 3, true),
              ElementsAre(Pair("u100", 5000), Pair("u101", 5000), Pair("u102", 5000)));
}

TEST_F(RedisAggregateStoreTest, RemoveOpenBeforeDueNeverAppliesTheOverdueContribution) {
  MustAddOpen("app-1", kT0 + absl::Hours(1), Overdue("app-1"));
  EXPECT_EQ(Raw({"ZCARD", absl::StrCat(kPrefix, "open")}).integer, 1);
  EXPECT_EQ(Raw({"HLEN", absl::StrCat(kPrefix, "open:c")}).integer, 1);
  EXPECT_EQ(MustSweep(kT0), 0);
  EXPECT_TRUE(MustRemoveOpen("app-1"));
  EXPECT_FALSE(MustRemoveOpen("app-1"));
  EXPECT_FALSE(MustRemoveOpen("never-added"));
  EXPECT_EQ(MustSweep(absl::InfiniteFuture()), 0);
  EXPECT_THAT(MustRead("n|2026-M03"), IsEmpty());
  EXPECT_EQ(Raw({"EXISTS", absl::StrCat(kPrefix, "open"), absl::StrCat(kPrefix, "open:c")}).integer,
            0);
}

TEST_F(RedisAggregateStoreTest, SweepAppliesOnceAndThenRemoveOpenIsFalse) {
  MustAddOpen("app-1", kT0, Overdue("app-1"));
  EXPECT_EQ(MustSweep(kT0), 1);
  EXPECT_EQ(MustSweep(kT0 + absl::Hours(1)), 0);
  EXPECT_FALSE(MustRemoveOpen("app-1"));
  EXPECT_THAT(MustRead("n|2026-M03"),
              ElementsAre(Pair("app.app-1", 1), Pair("d.open", -1), Pair("d.overdue", 1)));
  // The overdue contribution is deduplicated like Apply's.
  EXPECT_FALSE(MustApply(Overdue("app-1")));
  MustAddOpen("app-1", kT0, Overdue("app-1"));
  EXPECT_EQ(MustSweep(kT0), 1);  // dequeued, applied before
  EXPECT_THAT(MustRead("n|2026-M03"),
              ElementsAre(Pair("app.app-1", 1), Pair("d.open", -1), Pair("d.overdue", 1)));
  EXPECT_FALSE(MustRemoveOpen("app-1"));
}

TEST_F(RedisAggregateStoreTest, SweepHonoursAtAndLimit) {
  // Due times 1 ms apart, and one with sub-millisecond precision.
  for (int i = 0; i < 10; ++i) {
    MustAddOpen(absl::StrCat("app-", i), kT0 + absl::Milliseconds(i),
                Overdue(absl::StrCat("app-", i)));
  }
  MustAddOpen("app-frac", kT0 + absl::Microseconds(20500), Overdue("app-frac"));
  EXPECT_EQ(MustSweep(kT0 - absl::Milliseconds(1)), 0);
  EXPECT_EQ(MustSweep(kT0 + absl::Microseconds(2999)), 3);  // app-0 .. app-2
  EXPECT_EQ(MustSweep(kT0 + absl::Milliseconds(9), 4), 4);  // app-3 .. app-6
  EXPECT_EQ(MustSweep(kT0 + absl::Milliseconds(9), 4), 3);  // app-7 .. app-9
  EXPECT_EQ(MustSweep(kT0 + absl::Milliseconds(20)), 0);    // app-frac is due at 20.5 ms
  EXPECT_EQ(MustSweep(kT0 + absl::Milliseconds(21)), 1);
  const Counters counters = MustRead("n|2026-M03");
  EXPECT_EQ(counters.at("d.overdue"), 11);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(counters.at(absl::StrCat("app.app-", i)), 1);
  EXPECT_EQ(MustSweep(absl::InfiniteFuture()), 0);
}

TEST_F(RedisAggregateStoreTest, AddOpenReplacesAnEarlierEntry) {
  MustAddOpen("app-1", kT0, Overdue("app-1", "u:old|2026-M03"));
  MustAddOpen("app-1", kT0 + absl::Hours(2), Overdue("app-1", "u:new|2026-M03"));
  EXPECT_EQ(MustSweep(kT0 + absl::Hours(1)), 0);
  EXPECT_EQ(MustSweep(kT0 + absl::Hours(2)), 1);
  EXPECT_THAT(MustRead("u:old|2026-M03"), IsEmpty());
  EXPECT_EQ(MustRead("u:new|2026-M03").at("d.overdue"), 1);
  EXPECT_EQ(Raw({"HLEN", absl::StrCat(kPrefix, "open:c")}).integer, 0);
}

TEST_F(RedisAggregateStoreTest, RemoveOpenRacingSweepEndsEachApplicationOnce) {
  constexpr int kApps = 400;
  constexpr int kRemovers = 8;
  for (int i = 0; i < kApps; ++i) {
    MustAddOpen(absl::StrCat("app-", i), kT0 + absl::Milliseconds(i % 7),
                Overdue(absl::StrCat("app-", i)));
  }
  std::vector<int> removed(kApps, 0);
  std::atomic<int> errors{0};
  std::atomic<int> swept_total{0};
  std::atomic<bool> removers_done{false};
  std::latch start(kRemovers + 2);
  std::vector<std::thread> threads;
  for (int t = 0; t < kRemovers; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      // Removers walk the applications in different orders.
      for (int n = 0; n < kApps; ++n) {
        const int i = (t % 2 == 0) ? n : kApps - 1 - n;
        if (i % kRemovers != t && i % 3 != 0) continue;  // some apps get several removers
        absl::StatusOr<AggregateStore::Removed> r =
            store_->RemoveOpen(absl::StrCat("app-", i), {}, {});
        if (!r.ok()) {
          ++errors;
        } else if (r->was_waiting) {
          __atomic_add_fetch(&removed[i], 1, __ATOMIC_RELAXED);
        }
      }
    });
  }
  for (int s = 0; s < 2; ++s) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      while (true) {
        const bool last = removers_done.load();
        absl::StatusOr<int> n = store_->SweepOpen(kT0 + absl::Seconds(1), 5);
        if (!n.ok()) {
          ++errors;
          return;
        }
        swept_total += *n;
        if (last && *n == 0) return;
      }
    });
  }
  for (int t = 0; t < kRemovers; ++t) threads[t].join();
  removers_done = true;
  for (size_t t = kRemovers; t < threads.size(); ++t) threads[t].join();
  ASSERT_EQ(errors.load(), 0);

  const Counters counters = MustRead("n|2026-M03");
  int removed_count = 0;
  int applied_count = 0;
  for (int i = 0; i < kApps; ++i) {
    auto it = counters.find(absl::StrCat("app.app-", i));
    const int64_t applied = it == counters.end() ? 0 : it->second;
    EXPECT_LE(removed[i], 1) << i;
    EXPECT_EQ(removed[i] + applied, 1) << "app-" << i;
    removed_count += removed[i];
    applied_count += static_cast<int>(applied);
  }
  EXPECT_EQ(applied_count, swept_total.load());
  EXPECT_EQ(counters.count("d.overdue") ? counters.at("d.overdue") : 0, applied_count);
  EXPECT_EQ(removed_count + applied_count, kApps);
  // The race was a race: both outcomes happened (the sweepers start with the removers).
  EXPECT_GT(applied_count, 0);
  EXPECT_GT(removed_count, 0);
  EXPECT_EQ(Raw({"EXISTS", absl::StrCat(kPrefix, "open"), absl::StrCat(kPrefix, "open:c")}).integer,
            0);
}

TEST_F(RedisAggregateStoreTest, CorruptOpenContributionIsInternalNamingTheKey) {
  // A stored contribution that does not parse stops the sweep with INTERNAL naming the key.
  MustAddOpen("app-1", kT0, Overdue("app-1"));
  const std::string contrib_key = absl::StrCat(kPrefix, "open:c");
  Raw({"HSET", contrib_key, "app-1", "garbage"});
  absl::StatusOr<int> swept = store_->SweepOpen(kT0, 10);
  EXPECT_EQ(swept.status().code(), absl::StatusCode::kInternal) << swept.status();
  EXPECT_THAT(swept.status().message(), HasSubstr(contrib_key));
  EXPECT_TRUE(MustRemoveOpen("app-1"));
  EXPECT_THAT(MustRead("n|2026-M03"), IsEmpty());
}

TEST_F(RedisAggregateStoreTest, ContributionSerializationRoundTripsAnyBytes) {
  const std::string weird = std::string("a:1:\0b{}|\n\xff", 11);
  const Contribution c =
      Make(weird, {weird, "12:", ""}, {{weird, INT64_MIN}, {"x", INT64_MAX}, {"0", 0}});
  std::optional<Contribution> back =
      RedisAggregateStore::ParseContribution(RedisAggregateStore::SerializeContribution(c));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->dedup_key, c.dedup_key);
  EXPECT_EQ(back->buckets, c.buckets);
  ASSERT_EQ(back->increments.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->increments[i].field, c.increments[i].field);
    EXPECT_EQ(back->increments[i].delta, c.increments[i].delta);
  }
  const std::string good = RedisAggregateStore::SerializeContribution(c);
  for (const std::string& bad :
       {std::string(), std::string("garbage"), good.substr(0, good.size() - 1),
        good + "0:", std::string("2:m1"), std::string("2:m21:k1:0")}) {
    EXPECT_FALSE(RedisAggregateStore::ParseContribution(bad).has_value()) << bad;
  }
  // And through Redis: an open application whose keys hold any bytes.
  const Contribution stored = Make(weird, {weird}, {{weird, 7}});
  MustAddOpen(weird, kT0, stored);
  EXPECT_EQ(MustSweep(kT0), 1);
  EXPECT_THAT(MustRead(weird), ElementsAre(Pair(weird, 7)));
  EXPECT_FALSE(MustApply(stored));
}

TEST_F(RedisAggregateStoreTest, EverythingSurvivesARedisRestart) {
  MustApply(Make("k1", {"n|2026-M03", "n|2026-Y"}, {{"x", 3}, {"y", -1}}));
  ASSERT_TRUE(store_->SetRanks({{{"r"}, "u-a", 100}, {{"r"}, "u-b", 200}}).ok());
  MustAddOpen("app-1", kT0, Overdue("app-1"));
  MustAddOpen("app-2", kT0 + absl::Hours(1), Overdue("app-2"));
  const auto before = Snapshot();

  server_->Kill();
  ASSERT_TRUE(server_->Restart().ok());
  Connect();

  EXPECT_EQ(Snapshot(), before);
  EXPECT_THAT(MustRead("n|2026-Y"), ElementsAre(Pair("x", 3), Pair("y", -1)));
  EXPECT_FALSE(MustApply(Make("k1", {"n|2026-Y"}, {{"x", 3}})));
  EXPECT_THAT(MustTop("r", 5), ElementsAre(Pair("u-b", 200), Pair("u-a", 100)));
  EXPECT_EQ(MustSweep(kT0), 1);
  EXPECT_TRUE(MustRemoveOpen("app-2"));
  EXPECT_FALSE(MustRemoveOpen("app-1"));
  EXPECT_EQ(MustRead("n|2026-M03").at("d.overdue"), 1);
  EXPECT_GT(Raw({"PTTL", absl::StrCat(kPrefix, "d:k1")}).integer, 0);
}

TEST_F(RedisAggregateStoreTest, RedisDownIsUnavailable) {
  MustApply(Make("k1", {"n|2026-Y"}, {{"x", 1}}));
  server_->Kill();
  EXPECT_EQ(store_->Apply(Make("k2", {"n|2026-Y"}, {{"x", 1}})).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Read("n|2026-Y").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->ReadMany({"n|2026-Y"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->SetRanks({{{"r"}, "u", 1}}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->TopRanks("r", 1, false).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->AddOpen(Receipt(), "a", kT0, Overdue("a")).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->RemoveOpen("a", {}, {}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->SweepOpen(kT0, 1).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RedisAggregateStoreTest, KeyPrefixSeparatesStores) {
  RedisAggregateStore other(pool_.get(), {.key_prefix = "other:{o}:"});
  MustApply(Make("k", {"n|2026-Y"}, {{"x", 1}}));
  absl::StatusOr<bool> applied = other.Apply(Make("k", {"n|2026-Y"}, {{"x", 5}}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(*applied);
  EXPECT_THAT(MustRead("n|2026-Y"), ElementsAre(Pair("x", 1)));
  EXPECT_EQ(other.Read("n|2026-Y")->at("x"), 5);
  for (const auto& [key, value] : Snapshot()) {
    EXPECT_TRUE(absl::StartsWith(key, kPrefix) || absl::StartsWith(key, "other:{o}:")) << key;
  }
}

TEST_F(RedisAggregateStoreTest, AddOpenQueuesOnlyWithANewReceipt) {
  const Contribution receipt = Make("recv:app-1", {"n|2026-M03"}, {{"d.recv", 1}, {"d.open", 1}});
  absl::StatusOr<bool> first = store_->AddOpen(receipt, "app-1", kT0, Overdue("app-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  EXPECT_TRUE(MustRemoveOpen("app-1"));
  // The same receipt again (a retried call) neither counts nor queues the application again.
  absl::StatusOr<bool> again = store_->AddOpen(receipt, "app-1", kT0, Overdue("app-1"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  EXPECT_EQ(Raw({"EXISTS", absl::StrCat(kPrefix, "open")}).integer, 0);
  EXPECT_EQ(MustSweep(absl::InfiniteFuture()), 0);
  EXPECT_THAT(MustRead("n|2026-M03"), ElementsAre(Pair("d.open", 1), Pair("d.recv", 1)));
}

TEST_F(RedisAggregateStoreTest, AddOpenIsAllOrNothing) {
  // A corrupt counter in a receipt bucket: nothing is counted and nothing is queued.
  Raw({"HSET", absl::StrCat(kPrefix, "b:n|2026-M03"), "d.open", "x"});
  const auto before = Snapshot();
  const Contribution receipt = Make("recv:app-1", {"u:a|2026-M03", "n|2026-M03"}, {{"d.open", 1}});
  absl::StatusOr<bool> added = store_->AddOpen(receipt, "app-1", kT0, Overdue("app-1"));
  EXPECT_EQ(added.status().code(), absl::StatusCode::kInternal) << added.status();
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(RedisAggregateStoreTest, RemoveOpenAppliesTheListOfTheApplicationsState) {
  const Contribution closed_waiting = Make("closed:app", {"n|2026-M03"}, {{"d.open", -1}});
  const Contribution closed_overdue = Make("closed:app", {"n|2026-M03"}, {{"d.overdue", -1}});
  const Contribution done = Make("done:app", {"n|2026-M04"}, {{"d.done", 1}});

  // Still waiting: the waiting list applies, once.
  MustAddOpen("app-w", kT0 + absl::Hours(1), Overdue("app-w"));
  absl::StatusOr<AggregateStore::Removed> r =
      store_->RemoveOpen("app-w", {closed_waiting, done}, {closed_overdue, done});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->was_waiting);
  EXPECT_TRUE(r->applied);
  r = store_->RemoveOpen("app-w", {closed_waiting, done}, {closed_overdue, done});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->was_waiting);
  EXPECT_FALSE(r->applied);  // same dedup keys: nothing new
  EXPECT_EQ(MustRead("n|2026-M03").at("d.open"), -1);
  EXPECT_EQ(MustRead("n|2026-M03").count("d.overdue"), 0u);
  EXPECT_EQ(MustRead("n|2026-M04").at("d.done"), 1);

  // Swept to overdue first: the overdue list applies.
  const Contribution closed_overdue2 = Make("closed:app2", {"n|2026-M05"}, {{"d.overdue", -1}});
  const Contribution closed_waiting2 = Make("closed:app2", {"n|2026-M05"}, {{"d.open", -1}});
  MustAddOpen("app-o", kT0, Overdue("app-o", "u:unit-1|2026-M05"));
  EXPECT_EQ(MustSweep(kT0), 1);
  r = store_->RemoveOpen("app-o", {closed_waiting2}, {closed_overdue2});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->was_waiting);
  EXPECT_TRUE(r->applied);
  EXPECT_THAT(MustRead("n|2026-M05"), ElementsAre(Pair("d.overdue", -1)));
}

TEST_F(RedisAggregateStoreTest, RemoveOpenIsAllOrNothing) {
  MustAddOpen("app-1", kT0 + absl::Hours(1), Overdue("app-1"));
  Raw({"HSET", absl::StrCat(kPrefix, "b:bad"), "d.done", "1.5"});
  const auto before = Snapshot();
  absl::StatusOr<AggregateStore::Removed> r = store_->RemoveOpen(
      "app-1", {Make("c1", {"n|2026-M03"}, {{"d.open", -1}}), Make("c2", {"bad"}, {{"d.done", 1}})},
      {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
  EXPECT_EQ(Snapshot(), before);  // still queued, nothing counted
  EXPECT_TRUE(MustRemoveOpen("app-1"));
}

TEST_F(RedisAggregateStoreTest, ReplaceStateIsConditionalAndAllOrNothing) {
  StateChange first;
  first.key = "svc:a";
  first.next = {"10-0", "record-1"};
  first.deltas = {{"n|std", "std.services", 1}, {"u:x|std", "std.services", 1}};
  first.memberships = {{"n|std|review_due", "a", 20500}};
  absl::StatusOr<bool> replaced = store_->ReplaceState(first);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_TRUE(*replaced);
  // Must-not-exist again, or a stale expected version: nothing changes.
  const auto after_first = Snapshot();
  replaced = store_->ReplaceState(first);
  ASSERT_TRUE(replaced.ok());
  EXPECT_FALSE(*replaced);
  StateChange stale = first;
  stale.expected_version = "9-0";
  stale.next.version = "11-0";
  replaced = store_->ReplaceState(stale);
  ASSERT_TRUE(replaced.ok());
  EXPECT_FALSE(*replaced);
  EXPECT_EQ(Snapshot(), after_first);
  absl::StatusOr<std::optional<StateRecord>> read = store_->ReadState("svc:a");
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->version, "10-0");
  EXPECT_EQ((*read)->data, "record-1");
  EXPECT_FALSE(store_->ReadState("svc:none")->has_value());

  // The right version: the record, the counters and the memberships move together.
  StateChange second;
  second.key = "svc:a";
  second.expected_version = "10-0";
  second.next = {"11-0", "record-2"};
  second.deltas = {{"u:x|std", "std.services", -1}, {"u:y|std", "std.services", 1}};
  second.memberships = {{"n|std|review_due", "a", std::nullopt}, {"n|std|five_due", "a", 20600}};
  replaced = store_->ReplaceState(second);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_TRUE(*replaced);
  EXPECT_THAT(MustRead("u:x|std"), ElementsAre(Pair("std.services", 0)));
  EXPECT_THAT(MustRead("u:y|std"), ElementsAre(Pair("std.services", 1)));
  absl::StatusOr<std::vector<int64_t>> counts =
      store_->CountInRanges({{"n|std|review_due", INT64_MIN, INT64_MAX},
                             {"n|std|five_due", 20600, 20600},
                             {"n|std|five_due", 20601, INT64_MAX}});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_THAT(*counts, ElementsAre(0, 1, 0));
  EXPECT_THAT(*store_->SetMembers("n|std|five_due"), ElementsAre("a"));

  // A corrupt counter or a key of the wrong type: INTERNAL, nothing written.
  Raw({"HSET", absl::StrCat(kPrefix, "b:u:y|std"), "std.base", "x"});
  Raw({"SET", absl::StrCat(kPrefix, "z:wrong"), "1"});
  const auto before = Snapshot();
  StateChange bad = second;
  bad.expected_version = "11-0";
  bad.next = {"12-0", "record-3"};
  bad.deltas = {{"n|std", "std.services", 1}, {"u:y|std", "std.base", 1}};
  EXPECT_EQ(store_->ReplaceState(bad).status().code(), absl::StatusCode::kInternal);
  bad.deltas = {{"n|std", "std.services", 1}};
  bad.memberships = {{"wrong", "a", 1}};
  EXPECT_EQ(store_->ReplaceState(bad).status().code(), absl::StatusCode::kInternal);
  // Bad arguments: INVALID_ARGUMENT.
  for (StateChange c : {StateChange{.key = ""}, StateChange{.key = "k", .deltas = {{"", "f", 1}}},
                        StateChange{.key = "k", .memberships = {{"s", "", 1}}},
                        StateChange{.key = "k", .memberships = {{"s", "m", int64_t{1} << 54}}}}) {
    EXPECT_EQ(store_->ReplaceState(c).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Snapshot(), before);
}

// ---------------------------------------------------------------------------------------------
// Input ledgers and voids.

Contribution Tagged(Contribution c, const std::string& ledger, const std::string& batch = "") {
  c.ledger = LedgerTag{ledger, "meta-of-" + ledger, batch};
  return c;
}

// Negated is what a void applies for one recorded contribution.
Contribution Negated(const Contribution& c) {
  Contribution back = Make("void:" + c.dedup_key, c.buckets, {});
  for (const Increment& inc : c.increments) back.increments.push_back({inc.field, -inc.delta});
  return back;
}

// NonZero drops counters at 0: a void leaves a counter it created at 0, which every figure
// reads as absent.
Counters NonZero(Counters c) {
  for (auto it = c.begin(); it != c.end();) it = it->second == 0 ? c.erase(it) : std::next(it);
  return c;
}

TEST_F(RedisAggregateStoreTest, ALedgerKeepsWhatWasAppliedAndAVoidTakesBackExactlyThat) {
  const std::vector<std::string> buckets = {"u:u1|2026-M03", "u:u1|2026-Y", "n|2026-M03",
                                            "n|2026-Y"};
  // Figures before the input: other data in the same buckets.
  MustApply(Make("earlier", buckets, {{"d.recv", 5}, {"d.open", 2}, {"s.n", 4}}));
  std::vector<Counters> before;
  for (const std::string& b : buckets) before.push_back(MustRead(b));

  // The input: a receipt queued as open, swept overdue, so three parts reach its ledger by
  // three different paths (AddOpen, the sweep, Apply).
  const Contribution receipt =
      Tagged(Make("delivery:u1:A:received", buckets, {{"d.recv", 1}, {"d.open", 1}}),
             "delivery:u1:A", "agency-1|batch-7");
  const Contribution overdue = Tagged(
      Make("delivery:u1:A:overdue", buckets, {{"d.open", -1}, {"d.overdue", 1}}), "delivery:u1:A");
  const Contribution judged =
      Tagged(Make("delivery:u1:A:judged", {"u:u1|2026-M03"}, {{"d.vd.svc.v1", 1}}), "delivery:u1:A",
             "agency-1|batch-8");
  absl::StatusOr<bool> added = store_->AddOpen(receipt, "u1:A", kT0, overdue);
  ASSERT_THAT(added, simpul::testing::IsOk());
  ASSERT_TRUE(*added);
  EXPECT_EQ(MustSweep(kT0), 1);
  EXPECT_TRUE(MustApply(judged));
  EXPECT_EQ(MustRead("n|2026-M03").at("d.overdue"), 1);

  auto ledgers = store_->ReadLedgers({"delivery:u1:A", "delivery:u1:none"});
  ASSERT_THAT(ledgers, simpul::testing::IsOk());
  ASSERT_EQ(ledgers->size(), 2u);
  EXPECT_FALSE((*ledgers)[1].has_value());
  ASSERT_TRUE((*ledgers)[0].has_value());
  const Ledger& ledger = *(*ledgers)[0];
  EXPECT_EQ(ledger.meta, "meta-of-delivery:u1:A");
  EXPECT_FALSE(ledger.voided);
  ASSERT_EQ(ledger.applied.size(), 3u);
  std::map<std::string, Contribution> by_key;
  for (const Contribution& c : ledger.applied) by_key[c.dedup_key] = c;
  for (const Contribution* want : {&receipt, &overdue, &judged}) {
    ASSERT_EQ(by_key.count(want->dedup_key), 1u) << want->dedup_key;
    const Contribution& got = by_key[want->dedup_key];
    EXPECT_EQ(got.buckets, want->buckets);
    ASSERT_EQ(got.increments.size(), want->increments.size());
    for (size_t i = 0; i < got.increments.size(); ++i) {
      EXPECT_EQ(got.increments[i].field, want->increments[i].field);
      EXPECT_EQ(got.increments[i].delta, want->increments[i].delta);
    }
  }
  absl::StatusOr<std::vector<std::string>> batch7 = store_->BatchLedgers("agency-1|batch-7");
  ASSERT_THAT(batch7, simpul::testing::IsOk());
  EXPECT_THAT(*batch7, ElementsAre("delivery:u1:A"));
  EXPECT_THAT(*store_->BatchLedgers("agency-1|batch-8"), ElementsAre("delivery:u1:A"));

  std::vector<Contribution> reversal;
  for (const Contribution& c : ledger.applied) reversal.push_back(Negated(c));
  reversal.push_back(Make("voided:delivery:u1:A", buckets, {{"d.void", 1}}));
  auto outcome = store_->VoidLedger("delivery:u1:A", ledger.version, "u1:A", reversal, "void-1");
  ASSERT_THAT(outcome, simpul::testing::IsOk());
  EXPECT_EQ(*outcome, AggregateStore::VoidOutcome::kVoided);
  for (size_t i = 0; i < buckets.size(); ++i) {
    Counters got = NonZero(MustRead(buckets[i]));
    EXPECT_EQ(got["d.void"], 1) << buckets[i];
    got.erase("d.void");
    EXPECT_EQ(got, before[i]) << buckets[i];
  }
  auto read_again = store_->ReadLedgers({"delivery:u1:A"});
  ASSERT_THAT(read_again, simpul::testing::IsOk());
  EXPECT_TRUE((*read_again)[0]->voided);
  EXPECT_EQ((*read_again)[0]->void_record, "void-1");
}

TEST_F(RedisAggregateStoreTest, AVoidedLedgerTakesNoMoreContributionsAndNothingQueues) {
  const Contribution first = Tagged(Make("survey:u1:k1", {"b"}, {{"s.n", 1}}), "survey:u1:k1");
  ASSERT_TRUE(MustApply(first));
  auto ledger = store_->ReadLedgers({"survey:u1:k1"});
  ASSERT_THAT(ledger, simpul::testing::IsOk());
  ASSERT_THAT(store_->VoidLedger("survey:u1:k1", (*ledger)[0]->version, "", {Negated(first)}, "v"),
              simpul::testing::IsOk());
  const auto before = Snapshot();
  // Another part of the same input (a new dedup key) is not applied...
  EXPECT_FALSE(MustApply(Tagged(Make("survey:u1:k1:late", {"b"}, {{"s.n", 1}}), "survey:u1:k1")));
  // ... nor queued as open.
  absl::StatusOr<bool> added =
      store_->AddOpen(Tagged(Make("late-receipt", {"b"}, {{"d.open", 1}}), "survey:u1:k1"), "u1:k1",
                      kT0, Overdue("k1"));
  ASSERT_THAT(added, simpul::testing::IsOk());
  EXPECT_FALSE(*added);
  EXPECT_EQ(MustSweep(kT0 + absl::Hours(1)), 0);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(RedisAggregateStoreTest, VoidLedgerIsConditionalOnTheVersionItWasComputedFrom) {
  auto missing = store_->VoidLedger("survey:none", 1, "", {}, "v");
  ASSERT_THAT(missing, simpul::testing::IsOk());
  EXPECT_EQ(*missing, AggregateStore::VoidOutcome::kMissing);

  const Contribution a = Tagged(Make("part-a", {"b"}, {{"x", 2}}), "input");
  ASSERT_TRUE(MustApply(a));
  const int64_t version = (*store_->ReadLedgers({"input"}))[0]->version;
  // A part recorded after the ledger was read: the void would miss it, so it is refused.
  const Contribution b = Tagged(Make("part-b", {"b"}, {{"x", 3}}), "input");
  ASSERT_TRUE(MustApply(b));
  const auto before = Snapshot();
  auto stale = store_->VoidLedger("input", version, "", {Negated(a)}, "v");
  ASSERT_THAT(stale, simpul::testing::IsOk());
  EXPECT_EQ(*stale, AggregateStore::VoidOutcome::kChanged);
  EXPECT_EQ(Snapshot(), before);

  const int64_t current = (*store_->ReadLedgers({"input"}))[0]->version;
  auto done = store_->VoidLedger("input", current, "", {Negated(a), Negated(b)}, "v");
  ASSERT_THAT(done, simpul::testing::IsOk());
  EXPECT_EQ(*done, AggregateStore::VoidOutcome::kVoided);
  EXPECT_EQ(MustRead("b").at("x"), 0);
  auto again = store_->VoidLedger("input", current, "", {Negated(a), Negated(b)}, "v");
  ASSERT_THAT(again, simpul::testing::IsOk());
  EXPECT_EQ(*again, AggregateStore::VoidOutcome::kAlreadyVoided);
  EXPECT_EQ(MustRead("b").at("x"), 0);
  // A reversal must not carry a ledger itself.
  EXPECT_THAT(store_->VoidLedger("input", current, "", {Tagged(Negated(a), "x")}, "v"),
              simpul::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RedisAggregateStoreTest, LedgerEntriesKeepAScopePeriodProductAsItsFactors) {
  const std::vector<std::string> product = {"u:a|2026-M03", "u:a|2026-Y", "r:32|2026-M03",
                                            "r:32|2026-Y",  "n|2026-M03", "n|2026-Y"};
  const std::vector<std::string> odd = {"u:a|2026-M03", "n|2026-Y", "directory|agencies"};
  for (const auto* buckets : {&product, &odd}) {
    const Contribution c = Make("k", *buckets, {{"s.n", 1}, {"s.u1.sum", -4}});
    const std::string bytes = RedisAggregateStore::SerializeLedgerEntry(c);
    std::optional<Contribution> back = RedisAggregateStore::ParseLedgerEntry("k", bytes);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->buckets, *buckets);
    ASSERT_EQ(back->increments.size(), 2u);
    EXPECT_EQ(back->increments[1].delta, -4);
    EXPECT_FALSE(RedisAggregateStore::ParseLedgerEntry("k", bytes.substr(1)).has_value());
  }
  // The product is smaller than the list of its buckets.
  EXPECT_LT(RedisAggregateStore::SerializeLedgerEntry(Make("k", product, {})).size(),
            RedisAggregateStore::SerializeContribution(Make("k", product, {})).size() - 40);
  // An open application queued before ledgers existed ("m1") is still read.
  const std::string m1 = "2:m11:k1:11:b1:11:x1:5";
  std::optional<Contribution> old = RedisAggregateStore::ParseContribution(m1);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->buckets, std::vector<std::string>{"b"});
  EXPECT_TRUE(old->ledger.key.empty());
  // And the ledger tag travels with a queued contribution.
  Contribution tagged = Tagged(Make("k", {"b"}, {{"x", 1}}), "L", "B");
  std::optional<Contribution> round =
      RedisAggregateStore::ParseContribution(RedisAggregateStore::SerializeContribution(tagged));
  ASSERT_TRUE(round.has_value());
  EXPECT_EQ(round->ledger.key, "L");
  EXPECT_EQ(round->ledger.meta, "meta-of-L");
  EXPECT_EQ(round->ledger.batch, "B");
}

TEST_F(RedisAggregateStoreTest, LogsAreNewestFirstAndRankingsDropRemovedUnits) {
  ASSERT_THAT(store_->AppendLog("voids:a", "one"), simpul::testing::IsOk());
  ASSERT_THAT(store_->AppendLog("voids:a", "two"), simpul::testing::IsOk());
  ASSERT_THAT(store_->AppendLog("voids:a", "three"), simpul::testing::IsOk());
  EXPECT_THAT(*store_->ReadLog("voids:a", 0, 2), ElementsAre("three", "two"));
  EXPECT_THAT(*store_->ReadLog("voids:a", 2, 2), ElementsAre("one"));
  EXPECT_THAT(*store_->ReadLog("voids:b", 0, 2), IsEmpty());
  EXPECT_THAT(store_->ReadLog("voids:a", -1, 2),
              simpul::testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->ReadLog("voids:a", 0, 0),
              simpul::testing::StatusIs(absl::StatusCode::kInvalidArgument));

  ASSERT_TRUE(store_->SetRanks({{{"r"}, "u-a", 100}, {{"r"}, "u-b", 200}}).ok());
  RankUpdate gone{{"r"}, "u-b", 0};
  gone.remove = true;
  ASSERT_TRUE(store_->SetRanks({gone}).ok());
  EXPECT_THAT(MustTop("r", 10), ElementsAre(Pair("u-a", 100)));
}

// ---------------------------------------------------------------------------------------------
// ApplyBatch (one script per chunk, increments summed per bucket and field).

// SnapshotOf renders the keys of one store (by prefix, stripped) as Snapshot does, sets too.
std::map<std::string, std::string> SnapshotOf(const std::map<std::string, std::string>& all,
                                              const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (const auto& [key, rendered] : all) {
    if (absl::StartsWith(key, prefix)) out[key.substr(prefix.size())] = rendered;
  }
  return out;
}

class ApplyBatchTest : public RedisAggregateStoreTest {
 protected:
  // Stores over the same Redis with their own prefixes: one by one, in one batch, in chunks.
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisAggregateStoreTest::SetUp());
    one_ = std::make_unique<RedisAggregateStore>(pool_.get(), Opts("simpul:mon:{one}:", 1000));
    batch_ = std::make_unique<RedisAggregateStore>(pool_.get(), Opts("simpul:mon:{bat}:", 1000));
    chunked_ = std::make_unique<RedisAggregateStore>(pool_.get(), Opts("simpul:mon:{chk}:", 2));
  }
  static RedisAggregateStore::Options Opts(std::string prefix, int per_script) {
    RedisAggregateStore::Options o;
    o.key_prefix = std::move(prefix);
    o.max_batch_script = per_script;
    return o;
  }
  std::vector<RedisAggregateStore*> Stores() { return {one_.get(), batch_.get(), chunked_.get()}; }
  // Sets renders every set of the snapshot's keys (Snapshot shows only their type).
  std::map<std::string, std::string> Full() {
    std::map<std::string, std::string> all = Snapshot();
    for (auto& [key, rendered] : all) {
      if (rendered != "set") continue;
      std::vector<std::string> members;
      for (const RedisReply& m : Raw({"SMEMBERS", key}).elements) members.push_back(m.str);
      std::sort(members.begin(), members.end());
      for (const std::string& m : members) absl::StrAppend(&rendered, "|", m);
    }
    return all;
  }

  std::unique_ptr<RedisAggregateStore> one_, batch_, chunked_;
};

TEST_F(ApplyBatchTest, ABatchWritesExactlyWhatApplyingEachInTurnWrites) {
  const std::vector<std::string> unit = {"u:u1|2026-M03", "u:u1|2026-Q1", "a:ag|2026-M03",
                                         "n|2026-M03", "n|2026-Y"};
  const std::vector<std::string> other = {"u:u2|2026-M03", "a:ag|2026-M03", "n|2026-M03"};
  // Earlier data, a response applied before and a ledger voided before, in every store.
  for (RedisAggregateStore* store : Stores()) {
    ASSERT_THAT(store->Apply(Make("earlier", unit, {{"s.n", 3}, {"s.u1.sum", 9}})),
                simpul::testing::IsOk());
    ASSERT_THAT(store->Apply(Tagged(Make("survey:u1:seen", unit, {{"s.n", 1}}), "survey:u1:seen")),
                simpul::testing::IsOk());
    ASSERT_THAT(store->Apply(Tagged(Make("survey:u2:gone", other, {{"s.n", 1}}), "survey:u2:gone")),
                simpul::testing::IsOk());
    auto ledger = store->ReadLedgers({"survey:u2:gone"});
    ASSERT_THAT(ledger, simpul::testing::IsOk());
    auto voided = store->VoidLedger("survey:u2:gone", (*ledger)[0]->version, "",
                                    {Negated((*ledger)[0]->applied[0])}, "void");
    ASSERT_THAT(voided, simpul::testing::IsOk());
  }
  const std::vector<Contribution> inputs = {
      Tagged(Make("survey:u1:a", unit, {{"s.n", 1}, {"s.u1.sum", 4}, {"s.u1.n", 1}}), "survey:u1:a",
             "ag|b1"),
      Tagged(Make("survey:u1:seen", unit, {{"s.n", 1}}), "survey:u1:seen", "ag|b1"),  // repeat
      Make("dup-buckets", {"n|2026-Y", "n|2026-Y", "x|1"}, {{"x", 2}, {"x", 3}, {"s.n", 1}}),
      Tagged(Make("survey:u1:a", unit, {{"s.n", 7}}), "survey:u1:a", "ag|b1"),  // repeat in batch
      Tagged(Make("survey:u2:gone:late", other, {{"s.n", 1}}), "survey:u2:gone"),  // voided
      Make("nothing", {"n|2026-Y"}, {}),
      Tagged(Make("survey:u2:b", other, {{"s.n", 1}, {"s.u2.sum", 3}, {"s.u2.n", 1}}),
             "survey:u2:b", "ag|b1"),
      Make("cancels", {"n|2026-M03", "z|1"}, {{"zero", 5}, {"zero", -5}, {"neg", -2}}),
      Make("twice", {"t|1"}, {{"once", 1}}),
      Make("twice", {"t|1"}, {{"once", 1}}),
      Make("earlier", {"lonely|1"}, {{"never", 1}}),  // a repeat alone on its bucket
  };
  const std::vector<bool> want = {true, false, true, false, false, true,
                                  true, true,  true, false, false};
  std::vector<bool> one_by_one;
  for (const Contribution& c : inputs) {
    absl::StatusOr<bool> applied = one_->Apply(c);
    ASSERT_THAT(applied, simpul::testing::IsOk());
    one_by_one.push_back(*applied);
  }
  EXPECT_EQ(one_by_one, want);
  absl::StatusOr<std::vector<bool>> batched = batch_->ApplyBatch(inputs);
  ASSERT_THAT(batched, simpul::testing::IsOk());
  EXPECT_EQ(*batched, want);
  absl::StatusOr<std::vector<bool>> chunked = chunked_->ApplyBatch(inputs);
  ASSERT_THAT(chunked, simpul::testing::IsOk());
  EXPECT_EQ(*chunked, want);

  const auto all = Full();
  const auto reference = SnapshotOf(all, "simpul:mon:{one}:");
  EXPECT_EQ(SnapshotOf(all, "simpul:mon:{bat}:"), reference);
  EXPECT_EQ(SnapshotOf(all, "simpul:mon:{chk}:"), reference);
  EXPECT_THAT(*batch_->Read("n|2026-M03"),
              ElementsAre(Pair("neg", -2), Pair("s.n", 6), Pair("s.u1.n", 1), Pair("s.u1.sum", 13),
                          Pair("s.u2.n", 1), Pair("s.u2.sum", 3), Pair("zero", 0)));
  EXPECT_THAT(*batch_->BatchLedgers("ag|b1"), ElementsAre("survey:u1:a", "survey:u2:b"));
  EXPECT_THAT(*batch_->Read("t|1"), ElementsAre(Pair("once", 1)));
  EXPECT_EQ(Raw({"EXISTS", "simpul:mon:{bat}:b:lonely|1"}).integer, 0);
  // The dedup markers keep their TTL, as Apply's.
  const long long ttl_ms = Raw({"PTTL", "simpul:mon:{bat}:d:survey:u1:a"}).integer;
  EXPECT_GT(ttl_ms, absl::ToInt64Milliseconds(absl::Hours(24 * 399)));

  // The same batch again changes nothing anywhere.
  absl::StatusOr<std::vector<bool>> again = batch_->ApplyBatch(inputs);
  ASSERT_THAT(again, simpul::testing::IsOk());
  EXPECT_EQ(*again, std::vector<bool>(inputs.size(), false));
  EXPECT_EQ(Full(), all);
}

TEST_F(ApplyBatchTest, ABatchChecksEverythingBeforeItsFirstWrite) {
  ASSERT_THAT(batch_->Apply(Make("seed", {"good", "bad"}, {{"x", 1}, {"y", 1}})),
              simpul::testing::IsOk());
  const std::string bad_key = "simpul:mon:{bat}:b:bad";
  Raw({"HSET", bad_key, "y", "1.5"});
  const std::string clobbered = "simpul:mon:{bat}:b:clobbered";
  Raw({"SET", clobbered, "not a hash"});
  const std::string ledger = "simpul:mon:{bat}:l:survey:u1:k";
  Raw({"SET", ledger, "not a hash"});
  const std::string batch_index = "simpul:mon:{bat}:batch:ag|b";
  Raw({"SET", batch_index, "not a set"});
  const auto before = Full();
  const Contribution fine = Make("fine", {"good"}, {{"x", 1}});
  struct Case {
    Contribution bad;
    std::string names;
  };
  const std::vector<Case> cases = {
      {Make("c1", {"good", "bad"}, {{"y", 1}}), bad_key},
      {Make("c2", {"clobbered"}, {{"x", 1}}), clobbered},
      {Tagged(Make("c3", {"good"}, {{"x", 1}}), "survey:u1:k"), ledger},
      {Tagged(Make("c4", {"good"}, {{"x", 1}}), "survey:u1:other", "ag|b"), batch_index},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<bool>> r = batch_->ApplyBatch({fine, c.bad});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(c.names));
    EXPECT_EQ(Full(), before) << c.names;
  }
  absl::StatusOr<std::vector<bool>> invalid =
      batch_->ApplyBatch({fine, Make("k", {"good", ""}, {{"x", 1}})});
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument) << invalid.status();
  EXPECT_THAT(invalid.status().message(), HasSubstr("apply #1"));
  EXPECT_EQ(Full(), before);
  // A repeat of the corrupt counter's contribution is not applied, so nothing blocks the rest.
  absl::StatusOr<std::vector<bool>> ok = batch_->ApplyBatch({fine, Make("seed", {"bad"}, {})});
  ASSERT_THAT(ok, simpul::testing::IsOk());
  EXPECT_THAT(*ok, ElementsAre(true, false));
}

TEST_F(ApplyBatchTest, CountersBeyondTheExactRangeOfADoubleStayExact) {
  // 2^53 + 1 is not a double: the script must not round it.
  const std::string key = "simpul:mon:{bat}:b:big";
  Raw({"HSET", key, "x", "9007199254740993", "y", "-9007199254740993"});
  absl::StatusOr<std::vector<bool>> r = batch_->ApplyBatch(
      {Make("k1", {"big"}, {{"x", 1}, {"y", -1}}), Make("k2", {"big"}, {{"x", 1}})});
  ASSERT_THAT(r, simpul::testing::IsOk());
  EXPECT_THAT(*batch_->Read("big"),
              ElementsAre(Pair("x", 9007199254740995), Pair("y", -9007199254740994)));
  // Deltas that large are applied exactly too.
  r = batch_->ApplyBatch({Make("k3", {"big2"}, {{"x", 4'600'000'000'000'001}}),
                          Make("k4", {"big2"}, {{"x", 4'600'000'000'000'001}})});
  ASSERT_THAT(r, simpul::testing::IsOk());
  EXPECT_THAT(*r, ElementsAre(true, true));
  EXPECT_THAT(*batch_->Read("big2"), ElementsAre(Pair("x", 9'200'000'000'000'002)));
}

TEST_F(ApplyBatchTest, RankingsOfManyUnitsAreSetInOneCallInTheOrderGiven) {
  ASSERT_THAT(batch_->SetRanks({{{"r1", "r2"}, "u1", 10},
                                {{"r1"}, "u2", 20},
                                {{"r1"}, "u1", 30},
                                {{"r2"}, "u1", 0, /*remove=*/true},
                                {{"r2"}, "u3", 5}}),
              simpul::testing::IsOk());
  EXPECT_THAT(*batch_->TopRanks("r1", 10, false), ElementsAre(Pair("u1", 30), Pair("u2", 20)));
  EXPECT_THAT(*batch_->TopRanks("r2", 10, false), ElementsAre(Pair("u3", 5)));
}

}  // namespace
}  // namespace simpul::monitoring
