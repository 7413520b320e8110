// RedisServerTest, the GoogleTest fixture base of the tests that run against a real
// redis-server: one server per test, a pool on it, and raw commands to inspect the keys.
#ifndef SIMPUL_TESTS_TESTING_REDIS_FIXTURE_H_
#define SIMPUL_TESTS_TESTING_REDIS_FIXTURE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"

namespace simpul::testing {

// RedisServerTest starts a redis-server (AOF on) for each test in SetUp; a derived fixture
// makes pool_ on it. A derived SetUp calls ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp())
// first. Members are destroyed before the base's: pool_, then server_.
class RedisServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // ServerOptions are the RedisOptions defaults, on server_'s port.
  RedisOptions ServerOptions() const {
    RedisOptions options;
    options.port = server_->port();
    return options;
  }
  // FastOptions are for tests that wait on timeouts: 4 connections, 500 ms to connect, 2 s
  // a command, 300 ms to acquire a connection, at most 200 ms between reconnect attempts.
  RedisOptions FastOptions() const {
    RedisOptions options = ServerOptions();
    options.pool_size = 4;
    options.connect_timeout = absl::Milliseconds(500);
    options.command_timeout = absl::Seconds(2);
    options.acquire_timeout = absl::Milliseconds(300);
    options.max_backoff = absl::Milliseconds(200);
    return options;
  }

  // Raw runs a command on pool_ (a test failure when it cannot; an empty reply then).
  RedisReply Raw(const std::vector<std::string>& argv) {
    absl::StatusOr<RedisReply> reply = pool_->Command(argv);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : RedisReply{};
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisPool> pool_;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_REDIS_FIXTURE_H_
