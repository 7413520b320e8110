#include "common/redis.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_fixture.h"
#include "tests/testing/redis_server.h"

namespace simpul {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Type = RedisReply::Type;

// RedisTest's pools use FastOptions (short timeouts) unless a test says otherwise.
class RedisTest : public testing::RedisServerTest {};

TEST_F(RedisTest, CommandsAndReplyTypes) {
  RedisPool pool(FastOptions());
  ASSERT_TRUE(pool.Ping().ok());

  auto set = pool.Command({"SET", "k", std::string("bin\0ary", 7)});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, Type::kStatus);
  EXPECT_EQ(set->str, "OK");

  auto get = pool.Command({"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->type, Type::kString);
  EXPECT_EQ(get->str, std::string("bin\0ary", 7));

  auto missing = pool.Command({"GET", "missing"});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_nil());

  auto incr = pool.Command({"INCRBY", "n", "41"});
  ASSERT_TRUE(incr.ok());
  EXPECT_EQ(incr->type, Type::kInteger);
  EXPECT_EQ(incr->integer, 41);

  ASSERT_TRUE(pool.Command({"RPUSH", "list", "a", "b", "c"}).ok());
  auto range = pool.Command({"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->type, Type::kArray);
  ASSERT_EQ(range->elements.size(), 3u);
  EXPECT_EQ(range->elements[2].str, "c");
}

TEST_F(RedisTest, ErrorReplyIsAReplyNotAStatus) {
  RedisPool pool(FastOptions());
  ASSERT_TRUE(pool.Command({"SET", "k", "v"}).ok());
  auto reply = pool.Command({"INCR", "k"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->is_error());
  EXPECT_THAT(reply->str, HasSubstr("not an integer"));

  absl::Status status = ErrorFromReply(*reply, "incrementing k");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("incrementing k"));
  EXPECT_TRUE(ErrorFromReply(RedisReply{}, "nil").ok());

  auto unknown = pool.Command({"NOSUCHCOMMAND"});
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->is_error());
  // The connection is still usable after an error reply.
  EXPECT_TRUE(pool.Ping().ok());
}

TEST_F(RedisTest, PipelineReturnsEveryReplyInOrder) {
  RedisPool pool(FastOptions());
  auto replies = pool.Pipeline(
      {{"SET", "a", "1"}, {"INCR", "a"}, {"HSET", "h", "f", "v"}, {"INCR", "h"}, {"GET", "a"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 5u);
  EXPECT_EQ((*replies)[0].str, "OK");
  EXPECT_EQ((*replies)[1].integer, 2);
  EXPECT_EQ((*replies)[2].integer, 1);
  EXPECT_TRUE((*replies)[3].is_error());  // WRONGTYPE does not stop the pipeline
  EXPECT_EQ((*replies)[4].str, "2");

  auto empty = pool.Pipeline({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(pool.Pipeline({{"PING"}, {}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RedisTest, ScriptSha1MatchesRedis) {
  RedisPool pool(FastOptions());
  RedisScript script("return 1");
  EXPECT_EQ(script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  auto loaded = pool.Command({"SCRIPT", "LOAD", script.source()});
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->str, script.sha1());
}

TEST_F(RedisTest, EvalLoadsScriptAndReloadsAfterFlush) {
  RedisPool pool(FastOptions());
  RedisScript script(
      "redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], redis.call('GET', KEYS[1])}");
  auto first = pool.Eval(script, {"key"}, {"v1"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->type, Type::kArray);
  ASSERT_EQ(first->elements.size(), 2u);
  EXPECT_EQ(first->elements[1].str, "v1");

  auto exists = pool.Command({"SCRIPT", "EXISTS", script.sha1()});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->elements.at(0).integer, 1);

  ASSERT_TRUE(pool.Command({"SCRIPT", "FLUSH"}).ok());
  auto again = pool.Eval(script, {"key"}, {"v2"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->elements.at(1).str, "v2");
  exists = pool.Command({"SCRIPT", "EXISTS", script.sha1()});
  EXPECT_EQ(exists->elements.at(0).integer, 1);

  RedisScript failing("return redis.error_reply('custom failure')");
  auto error = pool.Eval(failing, {}, {});
  ASSERT_TRUE(error.ok());
  EXPECT_TRUE(error->is_error());
  EXPECT_THAT(error->str, HasSubstr("custom failure"));
}

TEST_F(RedisTest, PoolBoundGivesResourceExhaustedAfterAcquireTimeout) {
  RedisOptions options = FastOptions();
  options.pool_size = 2;
  RedisPool pool(options);
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  absl::Time start = absl::Now();
  auto c = pool.Acquire();
  absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GE(waited, absl::Milliseconds(290));
  EXPECT_LT(waited, absl::Seconds(2));
}

TEST_F(RedisTest, WaiterGetsReleasedConnection) {
  RedisOptions options = FastOptions();
  options.pool_size = 1;
  options.acquire_timeout = absl::Seconds(5);
  RedisPool pool(options);
  auto held = std::make_unique<absl::StatusOr<RedisConnection>>(pool.Acquire());
  ASSERT_TRUE(held->ok());
  std::thread releaser([&held] {
    absl::SleepFor(absl::Milliseconds(100));
    held.reset();
  });
  absl::Time start = absl::Now();
  auto next = pool.Acquire();
  EXPECT_TRUE(next.ok()) << next.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  releaser.join();
}

TEST_F(RedisTest, ConcurrentUseStaysWithinPool) {
  RedisPool pool(FastOptions());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&pool, &failures] {
      for (int i = 0; i < 100; ++i) {
        auto r = pool.Command({"INCR", "shared"});
        if (!r.ok() || r->type != RedisReply::Type::kInteger) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  // Waiting for a connection may time out under load, but never corrupts a reply.
  auto total = pool.Command({"GET", "shared"});
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(std::stoi(total->str) + failures.load(), 800);
  auto clients = pool.Command({"CLIENT", "LIST"});
  ASSERT_TRUE(clients.ok());
  EXPECT_LE(std::count(clients->str.begin(), clients->str.end(), '\n'), 4);
}

TEST_F(RedisTest, CommandTimeoutIsDeadlineExceededAndIsRestoredInPool) {
  RedisOptions options = FastOptions();
  options.pool_size = 1;
  options.command_timeout = absl::Milliseconds(200);
  RedisPool pool(options);
  {
    auto conn = pool.Acquire();
    ASSERT_TRUE(conn.ok());
    absl::Time start = absl::Now();
    auto blocked = conn->Command({"BLPOP", "nothing", "5"});
    EXPECT_EQ(blocked.status().code(), absl::StatusCode::kDeadlineExceeded) << blocked.status();
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
    // The connection is broken now: it fails fast and is discarded on release.
    EXPECT_EQ(conn->Command({"PING"}).status().code(), absl::StatusCode::kUnavailable);
  }
  {
    auto conn = pool.Acquire();
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE(conn->SetCommandTimeout(absl::Seconds(3)).ok());
    auto popped = conn->Command({"BLPOP", "nothing", "0.5"});
    ASSERT_TRUE(popped.ok()) << popped.status();
    EXPECT_TRUE(popped->is_nil());
    EXPECT_EQ(conn->SetCommandTimeout(absl::ZeroDuration()).code(),
              absl::StatusCode::kInvalidArgument);
  }
  // Back in the pool, the connection has the default 200ms timeout again.
  auto blocked = pool.Command({"BLPOP", "nothing", "2"});
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(RedisTest, KilledRedisIsUnavailableQuicklyAndRecoversAfterRestart) {
  RedisPool pool(FastOptions());
  // Warm up several pooled connections.
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    auto c = pool.Acquire();
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  }
  ASSERT_TRUE(pool.Command({"SET", "durable", "yes"}).ok());

  server_->Kill();
  absl::Time start = absl::Now();
  auto failed = pool.Command({"GET", "durable"});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  // The stale idle connections were dropped, so the next calls fail at connect (backing off).
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(pool.Command({"GET", "durable"}).status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  absl::Status backing_off = pool.Ping();
  EXPECT_EQ(backing_off.code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE(server_->Restart().ok());
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  absl::Status ping = pool.Ping();
  while (!ping.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    ping = pool.Ping();
  }
  ASSERT_TRUE(ping.ok()) << ping;
  // appendfsync always: the write acknowledged before SIGKILL survived.
  auto value = pool.Command({"GET", "durable"});
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->str, "yes");
}

TEST_F(RedisTest, BackoffFailsFastWithoutConnecting) {
  RedisOptions options = FastOptions();
  options.max_backoff = absl::Seconds(2);
  server_->Kill();
  RedisPool pool(options);
  absl::Status first = pool.Ping();
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(first.message(), HasSubstr("connect"));
  absl::Status second = pool.Ping();
  EXPECT_EQ(second.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.message(), HasSubstr("next attempt in"));
  // After the 50ms backoff a new attempt is made (and fails again).
  absl::SleepFor(absl::Milliseconds(80));
  EXPECT_THAT(pool.Ping().message(), Not(HasSubstr("next attempt in")));
}

TEST(RedisUnreachableTest, ConnectFailureIsUnavailable) {
  RedisOptions options;
  options.port = testing::PickFreePort();  // nothing listens there
  RedisPool pool(options);
  EXPECT_EQ(pool.Command({"PING"}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(RedisServerFixtureTest, TempDirAndPort) {
  EXPECT_GT(testing::PickFreePort(), 0);
  std::string dir = testing::MakeTempDir("simpul-fixture-");
  ASSERT_FALSE(dir.empty());
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  std::filesystem::remove_all(dir);

  std::string data_dir;
  {
    auto server = testing::RedisServer::Start(/*append_only=*/false);
    ASSERT_TRUE(server.ok()) << server.status();
    data_dir = (*server)->data_dir();
    EXPECT_TRUE(std::filesystem::exists(data_dir + "/redis.log"));
  }
  EXPECT_FALSE(std::filesystem::exists(data_dir));
}

}  // namespace
}  // namespace simpul
