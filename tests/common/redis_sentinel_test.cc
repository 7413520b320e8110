// Redis Sentinel in the pool (common/redis_sentinel.h, RedisOptions::sentinels) and
// acknowledged writes (RedisConnection::WaitForReplicas, RedisPool::EvalWrite), against real
// masters, replicas and sentinels (tests/testing/redis_sentinel_set.h).
#include "common/redis_sentinel.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "common/redis_auth.h"
#include "common/stream_consumer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_sentinel_set.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::RedisSentinelSet;
using ::simpul::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RedisAddressListTest, ParsesHostPortLists) {
  auto list = ParseRedisAddressList(" 127.0.0.1:26379, sentinel-b:26380,[::1]:26381 ");
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(*list, ElementsAre(RedisAddress{"127.0.0.1", 26379},
                                 RedisAddress{"sentinel-b", 26380}, RedisAddress{"::1", 26381}));
  auto empty = ParseRedisAddressList("");
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->empty());
  EXPECT_THAT(ParseRedisAddressList("127.0.0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host:port")));
  EXPECT_THAT(ParseRedisAddressList("a:1,,b:2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty entry")));
  EXPECT_THAT(ParseRedisAddressList("a:0"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1..65535")));
  EXPECT_THAT(ParseRedisAddressList("::1:5"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("brackets")));
}

TEST(RedisSentinelSettingsTest, ErrorsNameTheKeyOrVariable) {
  RedisOptions options;
  EXPECT_THAT(
      SetRedisSentinels("127.0.0.1", "simpul", "", "", RedisSettingNames::kConfigKeys, &options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("redis_sentinels")));
  EXPECT_THAT(
      SetRedisSentinels("127.0.0.1:1", "", "", "", RedisSettingNames::kEnvironment, &options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("SIMPUL_REDIS_MASTER_NAME")));
  EXPECT_THAT(
      SetRedisSentinels("127.0.0.1:1", "simpul", "watcher", "", RedisSettingNames::kConfigKeys,
                        &options),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("redis_sentinel_user"), HasSubstr("redis_sentinel_password_file"))));
  EXPECT_THAT(SetRedisWait(-1, absl::Milliseconds(500), RedisSettingNames::kConfigKeys, &options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("redis_wait_replicas")));
  EXPECT_THAT(SetRedisWait(1, absl::ZeroDuration(), RedisSettingNames::kEnvironment, &options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("SIMPUL_REDIS_WAIT_TIMEOUT")));
  ASSERT_THAT(SetRedisSentinels("127.0.0.1:1, 127.0.0.1:2", "cache", "", "",
                                RedisSettingNames::kConfigKeys, &options),
              IsOk());
  EXPECT_EQ(options.sentinels.size(), 2u);
  EXPECT_EQ(options.master_name, "cache");
  // An empty list keeps the single address.
  ASSERT_THAT(SetRedisSentinels("", "simpul", "", "", RedisSettingNames::kConfigKeys, &options),
              IsOk());
  EXPECT_TRUE(options.sentinels.empty());
}

TEST(RedisSentinelSettingsTest, CommandLineToolsReadTheEnvironment) {
  setenv(kRedisSentinelsEnv, "127.0.0.1:26379,127.0.0.1:26380", 1);
  setenv(kRedisMasterNameEnv, "other", 1);
  setenv(kRedisWaitReplicasEnv, "2", 1);
  setenv(kRedisWaitTimeoutEnv, "250ms", 1);
  RedisOptions options;
  absl::Status set = SetRedisOptionsFromEnv(&options);
  setenv(kRedisWaitTimeoutEnv, "soon", 1);
  RedisOptions bad;
  absl::Status refused = SetRedisOptionsFromEnv(&bad);
  for (const char* name :
       {kRedisSentinelsEnv, kRedisMasterNameEnv, kRedisWaitReplicasEnv, kRedisWaitTimeoutEnv}) {
    unsetenv(name);
  }
  ASSERT_THAT(set, IsOk());
  EXPECT_THAT(options.sentinels,
              ElementsAre(RedisAddress{"127.0.0.1", 26379}, RedisAddress{"127.0.0.1", 26380}));
  EXPECT_EQ(options.master_name, "other");
  EXPECT_EQ(options.wait_replicas, 2);
  EXPECT_EQ(options.wait_timeout, absl::Milliseconds(250));
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(kRedisWaitTimeoutEnv)));
}

TEST(RedisSentinelPoolTest, SingleAddressNeedsNoSentinel) {
  auto server = testing::RedisServer::Start(/*append_only=*/false);
  ASSERT_THAT(server, IsOk());
  RedisPool pool((*server)->PoolOptions());
  ASSERT_THAT(pool.Command({"SET", "k", "v"}), IsOk());
  ASSERT_TRUE(pool.master().has_value());
  EXPECT_EQ(pool.master()->port, (*server)->port());
  EXPECT_EQ(pool.resolutions(), 0);
}

// Every Simpul ACL user (deploy/redis-users.acl.in) may run ROLE (the master check) and WAIT.
TEST(RedisSentinelAclTest, EveryUserMayCheckTheRoleAndWait) {
  auto server = testing::RedisServer::StartWithAcl(/*append_only=*/false);
  ASSERT_THAT(server, IsOk());
  for (const char* user : {"simpul-registry", "simpul-complaints", "simpul-monitoring",
                           "simpul-gateway", "simpul-admin"}) {
    absl::StatusOr<RedisOptions> options = (*server)->PoolOptionsFor(user);
    ASSERT_THAT(options, IsOk());
    options->wait_replicas = 1;
    options->wait_timeout = absl::Milliseconds(50);
    RedisPool pool(*options);
    absl::StatusOr<RedisReply> role = pool.Command({"ROLE"});
    ASSERT_THAT(role, IsOk());
    EXPECT_TRUE(ReplyIsMasterRole(*role)) << user << ": " << role->str;
    absl::StatusOr<RedisConnection> conn = pool.Acquire();
    ASSERT_THAT(conn, IsOk());
    // No replica: WAIT runs and falls short (not NOPERM).
    EXPECT_THAT(conn->WaitForReplicas("probe"),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("confirmed by 0 of 1")))
        << user;
  }
}

class SentinelTest : public ::testing::Test {
 protected:
  void StartSet(RedisSentinelSet::Options options = {}) {
    const absl::Time start = absl::Now();
    auto set = RedisSentinelSet::Start(options);
    ASSERT_THAT(set, IsOk());
    set_ = *std::move(set);
    std::printf("sentinel set of %d replicas and %d sentinels ready in %s\n", options.replicas,
                options.sentinels, absl::FormatDuration(absl::Now() - start).c_str());
  }

  // WriteUntilOk retries SET key value on `pool` (every 20 ms) until it succeeds; it returns
  // how long that took, or a test failure after `timeout`.
  absl::Duration WriteUntilOk(RedisPool& pool, const std::string& key, const std::string& value,
                              absl::Time since, absl::Duration timeout = absl::Seconds(20)) {
    std::string last;
    while (absl::Now() < since + timeout) {
      absl::StatusOr<RedisReply> reply = pool.Command({"SET", key, value});
      if (reply.ok() && !reply->is_error()) return absl::Now() - since;
      last = reply.ok() ? reply->str : reply.status().ToString();
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "no write within " << timeout << ": " << last;
    return timeout;
  }

  std::unique_ptr<RedisSentinelSet> set_;
};

TEST_F(SentinelTest, FindsTheMasterThroughTheSentinels) {
  ASSERT_NO_FATAL_FAILURE(StartSet());
  RedisOptions options = set_->PoolOptions();
  // An unreachable sentinel first in the list: the next one is asked.
  options.sentinels.insert(options.sentinels.begin(),
                           RedisAddress{"127.0.0.1", testing::PickFreePort()});
  RedisPool pool(options);
  ASSERT_THAT(pool.Command({"SET", "k", "v"}), IsOk());
  ASSERT_TRUE(pool.master().has_value());
  EXPECT_EQ(pool.master()->port, set_->servers().front()->port());
  EXPECT_EQ(pool.resolutions(), 1);
  // Later connections reuse the answer.
  ASSERT_THAT(pool.Command({"GET", "k"}), IsOk());
  EXPECT_EQ(pool.resolutions(), 1);
}

TEST_F(SentinelTest, SentinelsThatRequireAPassword) {
  ASSERT_NO_FATAL_FAILURE(StartSet(
      {.replicas = 0, .sentinels = 1, .quorum = 1, .sentinel_password = "sentinel-secret"}));
  RedisPool pool(set_->PoolOptions());
  ASSERT_THAT(pool.Command({"SET", "k", "v"}), IsOk());
  RedisOptions wrong = set_->PoolOptions();
  wrong.sentinel_password = "guess-1234";
  RedisPool refused(wrong);
  absl::Status status = refused.Ping();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("AUTH refused")));
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("guess-1234")));
  RedisOptions none = set_->PoolOptions();
  none.sentinel_password.clear();
  RedisPool anonymous(none);
  EXPECT_THAT(anonymous.Ping(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("NOAUTH")));
}

TEST_F(SentinelTest, UnknownMasterNameIsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(StartSet({.replicas = 0, .sentinels = 1, .quorum = 1}));
  RedisOptions options = set_->PoolOptions();
  options.master_name = "nosuch";
  RedisPool pool(options);
  EXPECT_THAT(pool.Ping(), StatusIs(absl::StatusCode::kUnavailable,
                                    AllOf(HasSubstr("'nosuch'"), HasSubstr("knows no master"))));
}

// FollowFailover runs SENTINEL FAILOVER and measures when `pool` writes to the new master.
void FollowFailover(RedisSentinelSet& set, RedisPool& pool, const char* label) {
  ASSERT_THAT(pool.Command({"SET", "before", "1"}), IsOk());
  const int old_port = set.servers().front()->port();
  const absl::Time start = absl::Now();
  absl::StatusOr<testing::RedisServer*> promoted = set.Failover();
  ASSERT_THAT(promoted, IsOk());
  const absl::Duration sentinel_time = absl::Now() - start;
  absl::Duration pool_time = absl::InfiniteDuration();
  while (absl::Now() < start + absl::Seconds(20)) {
    absl::StatusOr<RedisReply> reply = pool.Command({"SET", "after", "1"});
    if (reply.ok() && !reply->is_error() && pool.master() &&
        pool.master()->port == (*promoted)->port()) {
      pool_time = absl::Now() - start;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::printf("SENTINEL FAILOVER (%s): new master named after %s, pool writing to it after %s\n",
              label, absl::FormatDuration(sentinel_time).c_str(),
              absl::FormatDuration(pool_time).c_str());
  ASSERT_LT(pool_time, absl::Seconds(20));
  EXPECT_NE(pool.master()->port, old_port);
  absl::StatusOr<RedisReply> before = pool.Command({"GET", "before"});
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->str, "1");  // replicated before the failover
}

TEST_F(SentinelTest, SwitchMasterMovesThePoolAtOnce) {
  ASSERT_NO_FATAL_FAILURE(StartSet());
  RedisPool pool(set_->PoolOptions());
  ASSERT_THAT(pool.Ping(), IsOk());
  absl::SleepFor(absl::Milliseconds(300));  // the subscription is up
  const absl::Time start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(FollowFailover(*set_, pool, "+switch-master"));
  EXPECT_EQ(pool.switches(), 1);
  // Without the subscription the pool would keep writing to the old master until the
  // sentinels demote it (about 10 s, see FollowsASentinelFailoverWithoutSubscription).
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(SentinelTest, FollowsASentinelFailoverWithoutSubscription) {
  ASSERT_NO_FATAL_FAILURE(StartSet());
  RedisOptions options = set_->PoolOptions();
  options.follow_switch_master = false;
  RedisPool pool(options);
  ASSERT_NO_FATAL_FAILURE(FollowFailover(*set_, pool, "re-resolution only"));
  EXPECT_EQ(pool.switches(), 0);
  EXPECT_GE(pool.resolutions(), 2);
}

TEST_F(SentinelTest, FollowsTheKillOfTheMaster) {
  ASSERT_NO_FATAL_FAILURE(StartSet());
  RedisPool pool(set_->PoolOptions());
  ASSERT_THAT(pool.Command({"SET", "before", "1"}), IsOk());
  ASSERT_THAT(set_->WaitForReplicas(2, absl::Seconds(5)), IsOk());
  testing::RedisServer* old_master = set_->servers().front().get();
  const int old_port = old_master->port();

  const absl::Time start = absl::Now();
  old_master->Kill();
  // Writes fail while no master is named, then reach the promoted replica.
  const absl::Duration pool_time = WriteUntilOk(pool, "after", "1", start, absl::Seconds(30));
  std::printf(
      "kill -9 of the master: first write on the new master after %s "
      "(down-after-milliseconds 1000)\n",
      absl::FormatDuration(pool_time).c_str());
  ASSERT_TRUE(pool.master().has_value());
  EXPECT_NE(pool.master()->port, old_port);
  absl::StatusOr<RedisReply> before = pool.Command({"GET", "before"});
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->str, "1");
}

// A stream entry read from a master that a failover then discards (the promoted replica never
// received it) is not handled: the consumer looks each entry up on the new master first.
TEST_F(SentinelTest, StreamConsumerSkipsAnEntryTheFailoverDiscarded) {
  RedisSentinelSet::Options options;
  options.replicas = 1;
  ASSERT_NO_FATAL_FAILURE(StartSet(options));
  RedisPool pool(set_->PoolOptions());
  const std::string stream = "simpul:cmp:{c}:events";
  ASSERT_THAT(pool.Command({"XGROUP", "CREATE", stream, "g", "0", "MKSTREAM"}), IsOk());
  absl::StatusOr<RedisReply> kept = pool.Command({"XADD", stream, "*", "n", "kept"});
  ASSERT_THAT(kept, IsOk());
  ASSERT_THAT(set_->WaitForReplicas(1, absl::Seconds(5)), IsOk());
  absl::StatusOr<RedisReply> synced = pool.Command({"WAIT", "1", "5000"});
  ASSERT_THAT(synced, IsOk());
  ASSERT_EQ(synced->integer, 1);
  // The replica stops and the master drops its link (so nothing reaches the replica's socket
  // buffer): the next entry is on the master only.
  testing::RedisServer* old_master = set_->servers()[0].get();
  testing::RedisServer* replica = set_->servers()[1].get();
  const int old_port = old_master->port();
  replica->Pause();
  ASSERT_THAT(RedisSentinelSet::Command(old_port, {"CLIENT", "KILL", "TYPE", "replica"}), IsOk());
  absl::StatusOr<RedisReply> lost = pool.Command({"XADD", stream, "*", "n", "lost"});
  ASSERT_THAT(lost, IsOk());

  std::vector<std::string> handled;
  StreamConsumerOptions consumer_options;
  consumer_options.stream = stream;
  consumer_options.group = "g";
  consumer_options.consumer = "c1";
  consumer_options.dead_letter_stream = stream + ":dead:g";
  auto consumer = StreamConsumer::Create(
      &pool, consumer_options, [&](const StreamEntry& entry) -> absl::Status {
        handled.push_back(*entry.Field("n"));
        if (handled.size() == 1) {
          // While the first entry is handled, the master dies and the replica is promoted.
          old_master->Kill();
          replica->Resume();
          absl::StatusOr<testing::RedisServer*> promoted =
              set_->WaitForNewMaster(old_port, absl::Seconds(30));
          if (!promoted.ok()) return promoted.status();
          const absl::Time deadline = absl::Now() + absl::Seconds(15);
          while ((!pool.master() || pool.master()->port == old_port) && absl::Now() < deadline) {
            absl::SleepFor(absl::Milliseconds(20));
          }
        }
        return absl::OkStatus();
      });
  ASSERT_THAT(consumer, IsOk());
  absl::StatusOr<PollResult> result = (*consumer)->PollOnce();
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(handled, ::testing::ElementsAre("kept"));
  EXPECT_EQ(result->read, 2);
  EXPECT_EQ(result->handled, 1);
  EXPECT_EQ(result->discarded, 1);
  EXPECT_EQ((*consumer)->stats().discarded, 1);
  ASSERT_TRUE(pool.master().has_value());
  EXPECT_NE(pool.master()->port, old_port);
  // The new master holds the first entry only, and its delivery is acknowledged there.
  absl::StatusOr<RedisReply> length = pool.Command({"XLEN", stream});
  ASSERT_THAT(length, IsOk());
  EXPECT_EQ(length->integer, 1);
}

TEST_F(SentinelTest, ReadOnlyReplyMakesThePoolAskAgain) {
  // Long down-after: the sentinels do not react during the test.
  ASSERT_NO_FATAL_FAILURE(
      StartSet({.replicas = 1, .sentinels = 1, .quorum = 1, .down_after = absl::Seconds(30)}));
  RedisOptions options = set_->PoolOptions();
  options.pool_size = 1;
  RedisPool pool(options);
  ASSERT_THAT(pool.Command({"SET", "k", "1"}), IsOk());
  ASSERT_EQ(pool.resolutions(), 1);
  const int master_port = set_->servers().front()->port();

  // Demote the master behind the pool's back (to a master that does not exist): its idle
  // connection now talks to a read-only replica.
  ASSERT_THAT(RedisSentinelSet::Command(
                  master_port, {"REPLICAOF", "127.0.0.1", absl::StrCat(testing::PickFreePort())}),
              IsOk());
  absl::StatusOr<RedisReply> refused = pool.Command({"SET", "k", "2"});
  ASSERT_THAT(refused, IsOk());
  ASSERT_TRUE(refused->is_error());
  EXPECT_THAT(refused->str, HasSubstr("READONLY"));
  EXPECT_THAT(ErrorFromReply(*refused, "SET k"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(pool.master().has_value());  // forgotten: the sentinels are asked again

  // The sentinels still name it; ROLE on the new connection says it is a replica.
  EXPECT_THAT(pool.Command({"SET", "k", "3"}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("ROLE slave")));
  EXPECT_EQ(pool.resolutions(), 2);

  ASSERT_THAT(RedisSentinelSet::Command(master_port, {"REPLICAOF", "NO", "ONE"}), IsOk());
  const absl::Duration recovered = WriteUntilOk(pool, "k", "4", absl::Now(), absl::Seconds(5));
  std::printf("write after the master came back: %s\n", absl::FormatDuration(recovered).c_str());
  EXPECT_GE(pool.resolutions(), 3);
}

class WaitTest : public SentinelTest {};

constexpr char kSetScript[] = "redis.call('SET', KEYS[1], ARGV[1]) return 1";
constexpr char kRefuseScript[] = "return redis.error_reply('ERR refused')";

// EvalWriteRetried runs a write as a client does after UNAVAILABLE (a replica still catching
// up after a pause, on a loaded machine): again, every 100 ms, for at most 10 s.
absl::StatusOr<RedisReply> EvalWriteRetried(RedisPool& pool, const RedisScript& script,
                                            const std::vector<std::string>& keys,
                                            const std::vector<std::string>& args) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<RedisReply> reply = pool.EvalWrite(script, keys, args);
  while (absl::IsUnavailable(reply.status()) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    reply = pool.EvalWrite(script, keys, args);
  }
  return reply;
}

TEST_F(WaitTest, AWriteIsAnsweredOnceTheReplicasHaveIt) {
  ASSERT_NO_FATAL_FAILURE(
      StartSet({.replicas = 2, .sentinels = 1, .quorum = 1, .down_after = absl::Seconds(30)}));
  RedisOptions options = set_->PoolOptions();
  options.wait_replicas = 2;
  options.wait_timeout = absl::Milliseconds(500);
  RedisPool pool(options);
  ASSERT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"1"}), IsOk());
  // Both replicas have it at once.
  for (size_t i = 1; i < set_->servers().size(); ++i) {
    absl::StatusOr<RedisReply> got =
        RedisSentinelSet::Command(set_->servers()[i]->port(), {"GET", "k"});
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->str, "1") << "replica " << i;
  }

  // One replica stops: the write stays on the master, the caller gets UNAVAILABLE in about
  // wait_timeout.
  set_->servers()[2]->Pause();
  const absl::Time start = absl::Now();
  absl::StatusOr<RedisReply> short_of = pool.EvalWrite(LuaScript<kSetScript>(), {"k"}, {"2"});
  const absl::Duration took = absl::Now() - start;
  std::printf("WAIT 2 with one replica stopped: UNAVAILABLE after %s (wait_timeout 500ms)\n",
              absl::FormatDuration(took).c_str());
  EXPECT_THAT(short_of,
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(ContainsRegex("confirmed by [01] of 2 replicas within 500ms"),
                             HasSubstr("same idempotency key"))));
  EXPECT_GE(took, absl::Milliseconds(450));
  EXPECT_LT(took, absl::Milliseconds(1500));
  absl::StatusOr<RedisReply> on_master = pool.Command({"GET", "k"});
  ASSERT_THAT(on_master, IsOk());
  EXPECT_EQ(on_master->str, "2");  // not rolled back

  // A script that refuses writes nothing: no WAIT, the error reply comes back at once.
  const absl::Time refuse_start = absl::Now();
  absl::StatusOr<RedisReply> refused = pool.EvalWrite(LuaScript<kRefuseScript>(), {"k"}, {});
  ASSERT_THAT(refused, IsOk());
  EXPECT_TRUE(refused->is_error());
  EXPECT_LT(absl::Now() - refuse_start, absl::Milliseconds(300));

  set_->servers()[2]->Resume();
  ASSERT_THAT(set_->WaitForReplicas(2, absl::Seconds(10)), IsOk());
  EXPECT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"3"}), IsOk());
}

TEST_F(WaitTest, NoWaitWhenNoReplicasAreAsked) {
  ASSERT_NO_FATAL_FAILURE(
      StartSet({.replicas = 1, .sentinels = 1, .quorum = 1, .down_after = absl::Seconds(30)}));
  RedisPool pool(set_->PoolOptions());  // wait_replicas 0
  set_->servers()[1]->Pause();
  const absl::Time start = absl::Now();
  EXPECT_THAT(pool.EvalWrite(LuaScript<kSetScript>(), {"k"}, {"1"}), IsOk());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(300));
  set_->servers()[1]->Resume();
}

// WaitUntil polls `done` every 20 ms until it holds or `timeout` passes; it returns how long
// that took (or the timeout).
template <typename Done>
absl::Duration WaitUntil(Done done, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  while (!done() && absl::Now() - start < timeout) absl::SleepFor(absl::Milliseconds(20));
  return absl::Now() - start;
}

TEST_F(WaitTest, AWriteWaitsForEveryReplicaInSync) {
  ASSERT_NO_FATAL_FAILURE(
      StartSet({.replicas = 2, .sentinels = 1, .quorum = 1, .down_after = absl::Seconds(30)}));
  RedisOptions options = set_->PoolOptions();
  options.wait_replicas = 1;
  options.wait_timeout = absl::Milliseconds(300);
  RedisPool pool(options);
  ASSERT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"1"}), IsOk());
  WaitUntil([&] { return pool.replicas_in_sync() == 2; }, absl::Seconds(5));
  ASSERT_EQ(pool.replicas_in_sync(), 2);
  EXPECT_EQ(pool.replicas_required(), 2);

  // One replica stops: one confirmation is not enough while it still counts as in sync, as
  // the sentinels could promote either replica.
  set_->servers()[2]->Pause();
  const absl::Time paused = absl::Now();
  EXPECT_THAT(
      pool.EvalWrite(LuaScript<kSetScript>(), {"k"}, {"2"}),
      StatusIs(absl::StatusCode::kUnavailable, AllOf(HasSubstr("confirmed by 1 of 2 replicas"),
                                                     HasSubstr("every replica in sync"))));
  // Once it has not been caught up for replica_grace it no longer counts, and one
  // confirmation (the configured minimum) answers the write.
  ASSERT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"3"}), IsOk());
  const absl::Duration dropped = absl::Now() - paused;
  std::printf("a stopped replica left the count, writes answered again after %s\n",
              absl::FormatDuration(dropped).c_str());
  EXPECT_EQ(pool.replicas_in_sync(), 1);
  EXPECT_GE(dropped, options.replica_grace);
  EXPECT_LT(dropped, options.replica_max_lag + options.replica_grace + absl::Seconds(3));

  // Back and caught up: it counts again.
  set_->servers()[2]->Resume();
  const absl::Duration rejoined =
      WaitUntil([&] { return pool.replicas_in_sync() == 2; }, absl::Seconds(10));
  std::printf("the resumed replica counted again after %s\n",
              absl::FormatDuration(rejoined).c_str());
  EXPECT_EQ(pool.replicas_in_sync(), 2);
  ASSERT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"4"}), IsOk());
  absl::StatusOr<RedisReply> got =
      RedisSentinelSet::Command(set_->servers()[2]->port(), {"GET", "k"});
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->str, "4");  // answered, so the resumed replica has it too
}

TEST_F(WaitTest, AFrozenMastersReplicasStillCountWhenItComesBack) {
  ASSERT_NO_FATAL_FAILURE(
      StartSet({.replicas = 2, .sentinels = 1, .quorum = 1, .down_after = absl::Seconds(30)}));
  RedisOptions options = set_->PoolOptions();
  options.wait_replicas = 1;
  RedisPool pool(options);
  ASSERT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"1"}), IsOk());
  WaitUntil([&] { return pool.replicas_in_sync() == 2; }, absl::Seconds(5));
  ASSERT_EQ(pool.replicas_in_sync(), 2);

  // What a failover does while the master is frozen: one replica is promoted (it leaves the
  // master), and the frozen master comes back longer than replica_grace later, its other
  // replica still attached.
  testing::RedisServer& master = *set_->servers()[0];
  master.Pause();
  ASSERT_THAT(RedisSentinelSet::Command(set_->servers()[2]->port(), {"REPLICAOF", "NO", "ONE"}),
              IsOk());
  absl::SleepFor(options.replica_grace + absl::Seconds(1));
  master.Resume();
  absl::SleepFor(absl::Milliseconds(600));  // polls after the master came back

  // The promoted replica still counts (the grace runs from the first poll that missed it,
  // not from the last one before the freeze): one confirmation does not acknowledge a write.
  EXPECT_EQ(pool.replicas_in_sync(), 2);
  EXPECT_THAT(pool.EvalWrite(LuaScript<kSetScript>(), {"k"}, {"2"}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("confirmed by 1 of 2")));
  // It stops counting replica_grace after that.
  ASSERT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"3"}), IsOk());
  EXPECT_EQ(pool.replicas_in_sync(), 1);
}

TEST_F(WaitTest, OnlyTheConfiguredReplicasWithoutTheInSyncCount) {
  ASSERT_NO_FATAL_FAILURE(
      StartSet({.replicas = 2, .sentinels = 1, .quorum = 1, .down_after = absl::Seconds(30)}));
  RedisOptions options = set_->PoolOptions();
  options.wait_replicas = 1;
  options.wait_for_replicas_in_sync = false;
  RedisPool pool(options);
  ASSERT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"1"}), IsOk());
  set_->servers()[2]->Pause();
  // The other replica's confirmation is enough at once (a retry may be needed on a loaded
  // machine), not after replica_grace as with the in-sync count.
  const absl::Time paused = absl::Now();
  EXPECT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"2"}), IsOk());
  EXPECT_LT(absl::Now() - paused, options.replica_grace);
  EXPECT_EQ(pool.replicas_in_sync(), -1);
  set_->servers()[2]->Resume();
}

TEST_F(WaitTest, AWriteOnAMasterTheSentinelsNoLongerNameIsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(
      StartSet({.replicas = 2, .sentinels = 1, .quorum = 1, .down_after = absl::Seconds(30)}));
  RedisOptions options = set_->PoolOptions();
  options.wait_replicas = 1;
  RedisPool pool(options);
  ASSERT_THAT(EvalWriteRetried(pool, LuaScript<kSetScript>(), {"k"}, {"1"}), IsOk());
  const int old_port = pool.master()->port;

  // A write in flight on the old master when the sentinels name another one (here they are
  // simply told to, so that the old master stays a master with both replicas attached, as a
  // frozen master does for a moment after a failover).
  absl::StatusOr<RedisConnection> conn = pool.Acquire();
  ASSERT_THAT(conn, IsOk());
  absl::StatusOr<RedisReply> written = conn->Command({"SET", "k", "2"});
  ASSERT_THAT(written, IsOk());
  const int other_port = set_->servers()[1]->port();
  ASSERT_NE(other_port, old_port);
  ASSERT_THAT(set_->SentinelCommand(0, {"SENTINEL", "REMOVE", "simpul"}), IsOk());
  absl::StatusOr<RedisReply> monitored = set_->SentinelCommand(
      0, {"SENTINEL", "MONITOR", "simpul", "127.0.0.1", absl::StrCat(other_port), "1"});
  ASSERT_THAT(monitored, IsOk());
  ASSERT_FALSE(monitored->is_error()) << monitored->str;
  // The pool's own check of the sentinels (every second) moves it: no +switch-master is sent.
  // (Its next connection then finds a replica there, and it asks the sentinels again.)
  const absl::Duration moved = WaitUntil([&] { return pool.switches() == 1; }, absl::Seconds(5));
  std::printf("the pool saw the sentinels name another master after %s\n",
              absl::FormatDuration(moved).c_str());
  ASSERT_EQ(pool.switches(), 1);

  // Both replicas of the old master confirm the write, yet it is not acknowledged.
  EXPECT_THAT(conn->WaitForReplicas("write"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("sentinels no longer name"),
                             HasSubstr("retry with the same idempotency key"))));
}

}  // namespace
}  // namespace simpul
