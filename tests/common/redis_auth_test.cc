// Redis ACL authentication of the pool (common/redis.h user/password) and the password files
// (common/redis_auth.h), against a redis-server running the users of deploy/redis-users.acl.in.
#include "common/redis_auth.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "common/stream_consumer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class RedisAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::RedisServer::StartWithAcl(/*append_only=*/false);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    admin_ = std::make_unique<RedisPool>(server_->PoolOptions());  // the test superuser
  }

  // Options are `user`'s pool options with short timeouts and backoff.
  RedisOptions Options(const std::string& user) {
    absl::StatusOr<RedisOptions> options = server_->PoolOptionsFor(user);
    EXPECT_THAT(options, IsOk());
    RedisOptions o = options.ok() ? *options : RedisOptions{};
    o.pool_size = 1;
    o.acquire_timeout = absl::Milliseconds(300);
    o.max_backoff = absl::Milliseconds(200);
    return o;
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisPool> admin_;
};

TEST_F(RedisAuthTest, RightPasswordAuthenticatesEveryConnection) {
  RedisPool pool(Options("simpul-monitoring"));
  ASSERT_THAT(pool.Ping(), IsOk());
  absl::StatusOr<RedisReply> set = pool.Command({"SET", "simpul:mon:{m}:probe", "1"});
  ASSERT_THAT(set, IsOk());
  EXPECT_FALSE(set->is_error()) << set->str;
  absl::StatusOr<RedisReply> clients = admin_->Command({"CLIENT", "LIST", "TYPE", "normal"});
  ASSERT_THAT(clients, IsOk());
  EXPECT_THAT(clients->str, HasSubstr("user=simpul-monitoring"));
}

// AuthAttempts is how many AUTH attempts as `user` the server refused (its ACL log merges
// repeated refusals of one user into one entry with a count).
long long AuthAttempts(RedisPool& admin, const std::string& user) {
  absl::StatusOr<RedisReply> log = admin.Command({"ACL", "LOG"});
  EXPECT_THAT(log, IsOk());
  if (!log.ok()) return -1;
  long long attempts = 0;
  for (const RedisReply& entry : log->elements) {
    long long count = 0;
    std::string reason, username;
    for (size_t i = 0; i + 1 < entry.elements.size(); i += 2) {
      const std::string& key = entry.elements[i].str;
      if (key == "count") count = entry.elements[i + 1].integer;
      if (key == "reason") reason = entry.elements[i + 1].str;
      if (key == "username") username = entry.elements[i + 1].str;
    }
    if (reason == "auth" && username == user) attempts += count;
  }
  return attempts;
}

TEST_F(RedisAuthTest, WrongPasswordIsAClearErrorNamingTheUserNotThePassword) {
  RedisOptions options = Options("simpul-monitoring");
  options.password = "not-the-password-Xq";
  RedisPool pool(options);
  absl::Status first = pool.Ping();
  EXPECT_THAT(first, StatusIs(absl::StatusCode::kUnavailable,
                              AllOf(HasSubstr("AUTH as user 'simpul-monitoring' refused"),
                                    HasSubstr("WRONGPASS"), Not(HasSubstr("not-the-password")))));
  // (The password has no digits: a duration in the message could hold any run of them.)
  // Not retried in a tight loop: calls made while the backoff runs fail at once with the same
  // clear error and when the next attempt is, and only a few of them reach the server. (How
  // many depends on how fast this loop runs, so the bound is loose on purpose.)
  constexpr int kCalls = 200;
  int waiting = 0;
  for (int i = 0; i < kCalls; ++i) {
    absl::Status status = pool.Ping();
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable,
                                 AllOf(HasSubstr("simpul-monitoring"),
                                       Not(HasSubstr("not-the-password")))));
    if (absl::StrContains(status.message(), "next attempt in")) ++waiting;
  }
  EXPECT_GT(waiting, 0);
  const long long attempts = AuthAttempts(*admin_, "simpul-monitoring");
  EXPECT_GE(attempts, 1);
  EXPECT_LT(attempts, kCalls / 2) << waiting << " calls were told to wait";
}

TEST_F(RedisAuthTest, UnknownUserAndNoCredentialsAreRefused) {
  RedisOptions unknown = Options("simpul-monitoring");
  unknown.user = "simpul-nobody";
  EXPECT_THAT(RedisPool(unknown).Ping(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("'simpul-nobody'")));

  RedisOptions anonymous = Options("simpul-monitoring");
  anonymous.user.clear();
  anonymous.password.clear();
  RedisPool pool(anonymous);
  absl::StatusOr<RedisReply> reply = pool.Command({"GET", "simpul:mon:{m}:probe"});
  ASSERT_THAT(reply, IsOk());
  ASSERT_TRUE(reply->is_error());
  EXPECT_THAT(reply->str, HasSubstr("NOAUTH"));
  EXPECT_THAT(pool.Ping(), Not(IsOk()));
}

TEST_F(RedisAuthTest, ReconnectAfterClientKillAuthenticatesAgain) {
  RedisPool pool(Options("simpul-monitoring"));
  ASSERT_THAT(pool.Ping(), IsOk());
  absl::StatusOr<RedisReply> killed =
      admin_->Command({"CLIENT", "KILL", "USER", "simpul-monitoring"});
  ASSERT_THAT(killed, IsOk());
  EXPECT_EQ(killed->integer, 1);
  // The killed connection fails once; a new one is made (AUTH first) once the backoff allows.
  bool written = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!written && absl::Now() < deadline) {
    absl::StatusOr<RedisReply> set = pool.Command({"SET", "simpul:mon:{m}:after-kill", "1"});
    written = set.ok() && !set->is_error();
    if (set.ok()) {
      EXPECT_FALSE(set->is_error()) << set->str;  // never a NOAUTH from an unauthenticated one
    }
    if (!written) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(written);
  absl::StatusOr<RedisReply> value = admin_->Command({"GET", "simpul:mon:{m}:after-kill"});
  ASSERT_THAT(value, IsOk());
  EXPECT_EQ(value->str, "1");
}

TEST_F(RedisAuthTest, NoPermReplyNamesTheUser) {
  RedisPool pool(Options("simpul-monitoring"));
  absl::StatusOr<RedisReply> reply = pool.Command({"SET", "simpul:cmp:{c}:probe", "1"});
  ASSERT_THAT(reply, IsOk());
  ASSERT_TRUE(reply->is_error());
  EXPECT_THAT(reply->str, AllOf(HasSubstr("NOPERM"), HasSubstr("'simpul-monitoring'")));
  // The same refusal inside a script.
  const RedisScript script("return redis.call('SET', 'simpul:cmp:{c}:probe', '1')");
  absl::StatusOr<RedisReply> scripted = pool.Eval(script, {}, {});
  ASSERT_THAT(scripted, IsOk());
  ASSERT_TRUE(scripted->is_error());
  EXPECT_THAT(scripted->str,
              AllOf(HasSubstr("can't"), HasSubstr("(redis user 'simpul-monitoring')")));
}

// Redis 7.0 replays the AOF as the default user and checks its permissions at each EXEC: the
// ACL file must leave them whole (the user stays off), or every transaction and script effect
// in the AOF is refused on the next start and lost.
TEST(RedisAclRestartTest, ScriptAndTransactionWritesSurviveARestart) {
  auto server = testing::RedisServer::StartWithAcl(/*append_only=*/true);
  ASSERT_THAT(server, IsOk());
  absl::StatusOr<RedisOptions> options = (*server)->PoolOptionsFor("simpul-monitoring");
  ASSERT_THAT(options, IsOk());
  {
    RedisPool pool(*options);
    const RedisScript script("redis.call('SET', KEYS[1], ARGV[1]) return 1");
    absl::StatusOr<RedisReply> scripted = pool.Eval(script, {"simpul:mon:{m}:scripted"}, {"s"});
    ASSERT_THAT(scripted, IsOk());
    EXPECT_FALSE(scripted->is_error()) << scripted->str;
    absl::StatusOr<std::vector<RedisReply>> exec =
        pool.Pipeline({{"MULTI"},
                       {"SET", "simpul:mon:{m}:multi", "m"},
                       {"SET", "simpul:mon:{m}:plain", "p"},
                       {"EXEC"}});
    ASSERT_THAT(exec, IsOk());
    EXPECT_FALSE(exec->back().is_error()) << exec->back().str;
  }
  (*server)->Kill();
  ASSERT_THAT((*server)->Restart(), IsOk());
  RedisPool pool(*options);
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"simpul:mon:{m}:scripted", "s"}, {"simpul:mon:{m}:multi", "m"}}) {
    absl::StatusOr<RedisReply> got = pool.Command({"GET", key});
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(got->str, value) << key << " was lost when Redis replayed its AOF";
  }
  // Still no access without a password.
  RedisOptions anonymous = *options;
  anonymous.user.clear();
  anonymous.password.clear();
  EXPECT_THAT(RedisPool(anonymous).Ping(), Not(IsOk()));
}

// The monitoring service's user runs the whole consumer-group cycle on the complaint event
// stream (create the group, read, acknowledge, reclaim, dead-letter, lag, leave) with the
// selectors of deploy/redis-users.acl.in, though it may not append to the stream.
TEST_F(RedisAuthTest, MonitoringUserConsumesAndDeadLettersComplaintEvents) {
  const std::string stream = "simpul:cmp:{c}:events";
  RedisPool complaints(Options("simpul-complaints"));
  for (const char* n : {"1", "2", "3"}) {
    absl::StatusOr<RedisReply> added = complaints.Command({"XADD", stream, "*", "n", n});
    ASSERT_THAT(added, IsOk());
    ASSERT_FALSE(added->is_error()) << added->str;
  }
  RedisOptions options = Options("simpul-monitoring");
  options.pool_size = 2;
  RedisPool monitoring(options);
  StreamConsumerOptions consumer_options;
  consumer_options.stream = stream;
  consumer_options.group = "simpul-monitoring";
  consumer_options.consumer = "acl-test";
  consumer_options.dead_letter_stream = stream + ":dead:simpul-monitoring";
  consumer_options.block = absl::ZeroDuration();
  consumer_options.min_idle = absl::Milliseconds(1);
  consumer_options.max_deliveries = 2;
  auto consumer = StreamConsumer::Create(&monitoring, consumer_options,
                                         [](const StreamEntry& entry) -> absl::Status {
                                           const std::string* n = entry.Field("n");
                                           if (n != nullptr && *n == "2")
                                             return absl::InternalError("entry 2 always fails");
                                           return absl::OkStatus();
                                         });
  ASSERT_THAT(consumer, IsOk());
  PollResult total;
  for (int i = 0; i < 10 && total.dead_lettered == 0; ++i) {
    absl::StatusOr<PollResult> polled = (*consumer)->PollOnce();
    ASSERT_THAT(polled, IsOk());
    total.handled += polled->handled;
    total.dead_lettered += polled->dead_lettered;
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(total.handled, 2);
  EXPECT_EQ(total.dead_lettered, 1);
  absl::StatusOr<StreamLag> lag = (*consumer)->Lag();
  ASSERT_THAT(lag, IsOk());
  EXPECT_EQ(lag->pending, 0);
  EXPECT_THAT((*consumer)->RemoveConsumerIfIdle(), IsOk());
  absl::StatusOr<RedisReply> dead = admin_->Command({"XLEN", consumer_options.dead_letter_stream});
  ASSERT_THAT(dead, IsOk());
  EXPECT_EQ(dead->integer, 1);
  // Appending to the complaint stream stays refused.
  absl::StatusOr<RedisReply> forged = monitoring.Command({"XADD", stream, "*", "n", "forged"});
  ASSERT_THAT(forged, IsOk());
  EXPECT_THAT(forged->str, HasSubstr("NOPERM"));
}

class PasswordFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("simpul-redis-auth-");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

TEST_F(PasswordFileTest, ReadsOneLineFromAPrivateFile) {
  for (mode_t mode : {0600, 0400}) {
    absl::StatusOr<std::string> read =
        ReadRedisPasswordFile(Write(absl::StrCat("ok", mode), "s3cret-value\n", mode));
    ASSERT_THAT(read, IsOk());
    EXPECT_EQ(*read, "s3cret-value");
  }
}

TEST_F(PasswordFileTest, RefusesGroupOrWorldAccessibleFiles) {
  for (mode_t mode : {0640, 0644, 0604, 0660}) {
    const std::string path = Write(absl::StrCat("open", mode), "s3cret-value\n", mode);
    absl::StatusOr<std::string> read = ReadRedisPasswordFile(path);
    EXPECT_THAT(read, StatusIs(absl::StatusCode::kPermissionDenied,
                               AllOf(HasSubstr(path), HasSubstr("group or others"),
                                     HasSubstr("chmod 600"), Not(HasSubstr("s3cret")))))
        << mode;
  }
}

TEST_F(PasswordFileTest, RefusesEmptyMissingAndMultiWordFiles) {
  EXPECT_THAT(ReadRedisPasswordFile(Write("empty", "\n", 0600)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is empty")));
  EXPECT_THAT(ReadRedisPasswordFile(dir_ + "/absent"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot open")));
  EXPECT_THAT(ReadRedisPasswordFile(Write("two", "one two\n", 0600)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("one line without spaces")));
  EXPECT_THAT(ReadRedisPasswordFile(dir_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
}

TEST_F(PasswordFileTest, CredentialsNameTheirSource) {
  RedisOptions options;
  EXPECT_THAT(
      SetRedisCredentials("simpul-gateway", "", "redis_user", "redis_password_file", &options),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("redis_user"), HasSubstr("redis_password_file"))));
  EXPECT_THAT(SetRedisCredentials("simpul-gateway", Write("wide", "pw\n", 0644), "redis_user",
                                  "redis_password_file", &options),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("redis_password_file: ")));
  ASSERT_THAT(SetRedisCredentials("simpul-gateway", Write("good", "pw-1\n", 0600), "redis_user",
                                  "redis_password_file", &options),
              IsOk());
  EXPECT_EQ(options.user, "simpul-gateway");
  EXPECT_EQ(options.password, "pw-1");
  ASSERT_THAT(SetRedisCredentials("", "", "redis_user", "redis_password_file", &options), IsOk());
  EXPECT_TRUE(options.password.empty());
}

}  // namespace
}  // namespace simpul
