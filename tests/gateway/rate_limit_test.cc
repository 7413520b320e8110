// Tests of the gateway's rate limits: config parsing and bucket keys (no server), the local
// GCRA limiter (explicit times), and RateLimiter against a real redis-server started per test.
//
// Timing. Checks against Redis run on Redis's clock, which the test cannot read at the moment
// of a check; it brackets each check between two readings of its own (same host, same
// realtime clock) and derives the range the answer must fall in. Limits are slow (a token per
// 500 ms or more) so that a loaded machine cannot refill a bucket between calls that the test
// expects to see one state.
#include "gateway/rate_limit.h"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"

namespace simpul::gateway {
namespace {

using ::testing::HasSubstr;
using Source = Decision::Source;

Identity Caller(common::v1::Role role, const std::string& subject) {
  Identity identity;
  identity.principal.set_role(role);
  identity.principal.set_subject(subject);
  return identity;
}

// ---------------------------------------------------------------------------------------------
// Limits and config

TEST(ParseLimitTest, AcceptsRatesUnitsAndBursts) {
  EXPECT_EQ(*ParseLimit("20/s burst 40"), (Limit{20, 40}));
  EXPECT_EQ(*ParseLimit("  600/m \t burst   5 "), (Limit{10, 5}));
  EXPECT_EQ(*ParseLimit("0.5/s burst 2"), (Limit{0.5, 2}));
  EXPECT_EQ(*ParseLimit("1/h burst 3"), (Limit{1.0 / 3600, 3}));
  EXPECT_EQ(*ParseLimit("1000000/s burst 1000000"), (Limit{1e6, 1000000}));
  // Without a burst: the rate per second rounded up, at least 1.
  EXPECT_EQ(*ParseLimit("20/s"), (Limit{20, 20}));
  EXPECT_EQ(*ParseLimit("2.5/s"), (Limit{2.5, 3}));
  EXPECT_EQ(*ParseLimit("30/m"), (Limit{0.5, 1}));
}

TEST(ParseLimitTest, RejectsMalformedLimitsSayingWhy) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {
           Case{"", "empty limit"},
           Case{"20", "has no unit"},
           Case{"20/x", "unit 'x' is not s, m or h"},
           Case{"20/sec", "unit 'sec'"},
           Case{"0/s", "must be more than 0"},
           Case{"-1/s", "rate '-1' is not a decimal number"},
           Case{"abc/s", "rate 'abc' is not a decimal number"},
           Case{"inf/s", "rate 'inf' is not a decimal number"},
           Case{"nan/s", "rate 'nan' is not a decimal number"},
           Case{"/s", "rate '' is not a decimal number"},
           Case{"2000000/s", "more than 1000000/s"},
           Case{"0.5/h", "less than 1/h"},
           Case{"20/s burst", "\"burst\" without a number"},
           Case{"20/s burst 0", "burst '0' is not a whole number from 1 to 1000000"},
           Case{"20/s burst -3", "burst '-3'"},
           Case{"20/s burst 1.5", "burst '1.5'"},
           Case{"20/s burst 1000001", "burst '1000001'"},
           Case{"20/s bursts 10", "unexpected 'bursts' after the rate"},
           Case{"20/s burst 10 please", "unexpected 'please' after the burst"},
       }) {
    absl::StatusOr<Limit> limit = ParseLimit(c.text);
    ASSERT_FALSE(limit.ok()) << c.text;
    EXPECT_EQ(limit.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(limit.status().message()), HasSubstr(c.why)) << c.text;
  }
}

TEST(ParseLimitTest, FormatLimitReadsBack) {
  for (const Limit& limit : {Limit{20, 40}, Limit{0.5, 1}, Limit{1.0 / 60, 2}, Limit{1.0 / 3600, 1},
                             Limit{2.5, 3}, Limit{1e6, 1000000}, Limit{1.0 / 7, 4}}) {
    const std::string text = FormatLimit(limit);
    absl::StatusOr<Limit> back = ParseLimit(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(*back, limit) << text;
  }
  EXPECT_EQ(FormatLimit(Limit{20, 40}), "20/s burst 40");
  EXPECT_EQ(FormatLimit(Limit{0.5, 1}), "30/m burst 1");
  EXPECT_EQ(FormatLimit(Limit{1.0 / 3600, 1}), "1/h burst 1");
}

TEST(RateLimitConfigTest, DefaultsPerRole) {
  RateLimitConfig config;
  EXPECT_EQ(config.ForRole(common::v1::ROLE_UNSPECIFIED), (Limit{20, 40}));
  EXPECT_EQ(config.ForRole(common::v1::ROLE_AGENCY_ADMIN), (Limit{50, 100}));
  EXPECT_EQ(config.ForRole(common::v1::ROLE_AGENCY_OPERATOR), (Limit{50, 100}));
  EXPECT_EQ(config.ForRole(common::v1::ROLE_CHANNEL), (Limit{200, 400}));
  EXPECT_EQ(config.ForRole(common::v1::ROLE_DASHBOARD), (Limit{50, 100}));
  EXPECT_EQ(config.ForRole(common::v1::ROLE_PLATFORM_ADMIN), (Limit{100, 200}));
  // A role this build does not know gets the public limit.
  EXPECT_EQ(config.ForRole(static_cast<common::v1::Role>(42)), (Limit{20, 40}));
  EXPECT_EQ(*RateLimitConfig::Parse(""), config);
  EXPECT_EQ(*RateLimitConfig::Parse(" ;\n; "), config);
}

TEST(RateLimitConfigTest, ParsesRolesAndSubjectOverrides) {
  absl::StatusOr<RateLimitConfig> config = RateLimitConfig::Parse(
      "public=5/s burst 10; channel = 200/s burst 400\n"
      "subject:key:k123=1/s burst 2;\n"
      "  subject: cn=sms-gw,o=kominfo = 30/m  ");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ForRole(common::v1::ROLE_UNSPECIFIED), (Limit{5, 10}));
  EXPECT_EQ(config->ForRole(common::v1::ROLE_CHANNEL), (Limit{200, 400}));
  EXPECT_EQ(config->ForRole(common::v1::ROLE_DASHBOARD), (Limit{50, 100}));  // default
  EXPECT_EQ(config->For(common::v1::ROLE_CHANNEL, "key:k123"), (Limit{1, 2}));
  EXPECT_EQ(config->For(common::v1::ROLE_CHANNEL, "key:k124"), (Limit{200, 400}));
  EXPECT_EQ(config->For(common::v1::ROLE_CHANNEL, "cn=sms-gw,o=kominfo"), (Limit{0.5, 1}));

  EXPECT_EQ(config->ForIdentity(Identity::Public()), (Limit{5, 10}));
  EXPECT_EQ(config->ForIdentity(Caller(common::v1::ROLE_DASHBOARD, "key:k9")), (Limit{50, 100}));
  EXPECT_EQ(config->ForIdentity(Caller(common::v1::ROLE_AGENCY_ADMIN, "key:k123")), (Limit{1, 2}));

  // ToString lists everything and reads back to the same config.
  const std::string text = config->ToString();
  EXPECT_THAT(text, HasSubstr("public=5/s burst 10; agency_admin=50/s burst 100"));
  EXPECT_THAT(text, HasSubstr("subject:cn=sms-gw,o=kominfo=30/m burst 1"));
  absl::StatusOr<RateLimitConfig> back = RateLimitConfig::Parse(text);
  ASSERT_TRUE(back.ok()) << text << ": " << back.status();
  EXPECT_EQ(*back, *config);
}

TEST(RateLimitConfigTest, ErrorsNameTheBadEntry) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"public=5/s; publik=5/s",
                "rate limit config entry 2 'publik=5/s': unknown role 'publik', expected one of "
                "public, agency_admin, agency_operator, channel, dashboard, platform_admin or "
                "subject:<subject>"},
           Case{"public 5/s", "entry 1 'public 5/s': expected \"<role or subject:<subject>>="},
           Case{"channel=200/s burst 400; dashboard=fast",
                "entry 2 'dashboard=fast': rate 'fast' has no unit"},
           Case{"public=5/s\n\nchannel=1/s;public=6/s",
                "entry 4 'public=6/s': public is already set by entry 1"},
           Case{"subject:k1=1/s; subject: k1 =2/s",
                "entry 2 'subject: k1 =2/s': subject:k1 is already set by entry 1"},
           Case{"subject: =1/s", "entry 1 'subject: =1/s': empty subject after \"subject:\""},
           Case{"=1/s", "entry 1 '=1/s': unknown role ''"},
           Case{"public=5/s burst 0", "entry 1 'public=5/s burst 0': burst '0' is not"},
       }) {
    absl::StatusOr<RateLimitConfig> config = RateLimitConfig::Parse(c.text);
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(c.message)) << c.text;
  }
}

TEST(RetryAfterSecondsTest, RoundsUpToWholeSecondsAtLeastOne) {
  EXPECT_EQ(RetryAfterSeconds(absl::ZeroDuration()), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(1)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1001)), 2);
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(90)), 90);
}

TEST(BucketKeyTest, AnonymousCallersByAddressWithoutPort) {
  EXPECT_EQ(BucketKeyForPeer("ipv4:203.0.113.7:55123"), "ip:203.0.113.7");
  EXPECT_EQ(BucketKeyForPeer("203.0.113.7"), "ip:203.0.113.7");
  EXPECT_EQ(BucketKeyForPeer("203.0.113.7:80"), "ip:203.0.113.7");
  // IPv6 counts per /64, whatever the notation.
  EXPECT_EQ(BucketKeyForPeer("ipv6:[2001:db8:1:2:aaaa::1]:443"), "ip:2001:db8:1:2::/64");
  EXPECT_EQ(BucketKeyForPeer("ipv6:%5B2001:db8:1:2:bbbb::9%5D:443"), "ip:2001:db8:1:2::/64");
  EXPECT_EQ(BucketKeyForPeer("2001:DB8:1:2:0:0:0:7"), "ip:2001:db8:1:2::/64");
  EXPECT_EQ(BucketKeyForPeer("[::1]:8080"), "ip:::/64");
  EXPECT_EQ(BucketKeyForPeer("ipv6:[fe80::1%25eth0]:80"), "ip:fe80::/64");
  // IPv4-mapped IPv6 is the IPv4 address.
  EXPECT_EQ(BucketKeyForPeer("ipv6:[::ffff:198.51.100.4]:1"), "ip:198.51.100.4");
  EXPECT_EQ(BucketKeyForPeer("unix:/run/simpul/gw.sock"), "peer:unix:/run/simpul/gw.sock");

  EXPECT_EQ(BucketKeyFor(Identity::Public(), "ipv4:10.0.0.5:1234"), "ip:10.0.0.5");
  EXPECT_EQ(BucketKeyFor(Caller(common::v1::ROLE_CHANNEL, "key:k123"), "ipv4:10.0.0.5:1234"),
            "sub:key:k123");
}

// ---------------------------------------------------------------------------------------------
// LocalLimiter (explicit times: exact answers)

const absl::Time kT0 = absl::FromUnixSeconds(1772409600);

TEST(LocalLimiterTest, BurstThenSteadyRateThenDenied) {
  LocalLimiter limiter;
  const Limit limit{10, 3};  // a token per 100 ms
  for (int64_t remaining : {2, 1, 0}) {
    Decision d = limiter.Check("k", limit, kT0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, remaining);
    EXPECT_EQ(d.source, Source::kFallback);
  }
  Decision d = limiter.Check("k", limit, kT0 + absl::Milliseconds(30));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, absl::Milliseconds(70));
  EXPECT_TRUE(limiter.Check("k", limit, kT0 + absl::Milliseconds(100)).allowed);
  EXPECT_FALSE(limiter.Check("k", limit, kT0 + absl::Milliseconds(150)).allowed);
  // Steady: one every 100 ms passes forever.
  for (int i = 2; i < 50; ++i) {
    d = limiter.Check("k", limit, kT0 + absl::Milliseconds(100 * i));
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 0) << i;
  }
  // Idle for long: the full burst again, never more.
  const absl::Time later = kT0 + absl::Minutes(5);
  EXPECT_EQ(limiter.Check("k", limit, later).remaining, 2);
  EXPECT_TRUE(limiter.Check("k", limit, later).allowed);
  EXPECT_TRUE(limiter.Check("k", limit, later).allowed);
  EXPECT_FALSE(limiter.Check("k", limit, later).allowed);
  // Another key has its own bucket.
  EXPECT_EQ(limiter.Check("other", limit, later).remaining, 2);
}

TEST(LocalLimiterTest, ConcurrentCallsAtOneInstantGetExactlyTheBurst) {
  LocalLimiter limiter;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) allowed += limiter.Check("k", Limit{1, 25}, kT0).allowed;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 25);
}

TEST(LocalLimiterTest, ForgetsFullBucketsThenEverythingWhenFull) {
  LocalLimiter limiter(/*max_keys=*/3);
  const Limit limit{10, 2};
  for (const char* key : {"a", "b", "c"}) ASSERT_TRUE(limiter.Check(key, limit, kT0).allowed);
  EXPECT_EQ(limiter.size(), 3u);
  // At kT0 + 1 s every bucket is full again: they are dropped to make room.
  EXPECT_TRUE(limiter.Check("d", limit, kT0 + absl::Seconds(1)).allowed);
  EXPECT_EQ(limiter.size(), 1u);
  ASSERT_TRUE(limiter.Check("e", limit, kT0 + absl::Seconds(1)).allowed);
  ASSERT_TRUE(limiter.Check("f", limit, kT0 + absl::Seconds(1)).allowed);
  // All live: the limiter starts over (fails open) rather than grow.
  EXPECT_TRUE(limiter.Check("g", limit, kT0 + absl::Seconds(1)).allowed);
  EXPECT_EQ(limiter.size(), 1u);
}

TEST(LocalLimiterTest, InvalidLimitDenies) {
  LocalLimiter limiter;
  EXPECT_FALSE(limiter.Check("k", Limit{0, 5}, kT0).allowed);
  EXPECT_FALSE(limiter.Check("k", Limit{5, 0}, kT0).allowed);
}

// ---------------------------------------------------------------------------------------------
// RateLimiter against Redis

constexpr char kPrefix[] = "simpul:gw:{r}:rl:";

// FallbackCount reads simpul_gateway_rate_limit_fallback_total{reason} from an exposition.
double FallbackCount(const Metrics& metrics, const std::string& reason) {
  const std::string series =
      absl::StrCat("simpul_gateway_rate_limit_fallback_total{reason=\"", reason, "\"} ");
  for (absl::string_view line : absl::StrSplit(metrics.Exposition(), '\n')) {
    double value = 0;
    if (absl::StartsWith(line, series) && absl::SimpleAtod(line.substr(series.size()), &value)) {
      return value;
    }
  }
  return 0;
}

// Bracket is the interval of realtime within which Redis ran one check.
struct Bracket {
  absl::Time before, after;
};

class RateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = simpul::testing::RedisServer::Start(/*append_only=*/false);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::unique_ptr<RedisPool> NewPool(int size = 8) {
    RedisOptions redis;
    redis.port = server_->port();
    redis.pool_size = size;
    redis.connect_timeout = absl::Milliseconds(300);
    redis.command_timeout = absl::Milliseconds(500);
    redis.max_backoff = absl::Milliseconds(100);
    return std::make_unique<RedisPool>(redis);
  }

  std::unique_ptr<RateLimiter> NewLimiter(RedisPool* pool, RateLimiter::Options options = {}) {
    absl::StatusOr<std::unique_ptr<RateLimiter>> limiter = RateLimiter::Create(pool, options);
    EXPECT_TRUE(limiter.ok()) << limiter.status();
    return limiter.ok() ? std::move(*limiter) : nullptr;
  }

  // Timed runs a check and records when it ran.
  static Decision Timed(RateLimiter& limiter, std::string_view key, const Limit& limit,
                        Bracket* bracket) {
    bracket->before = absl::Now();
    Decision d = limiter.Check(key, limit);
    bracket->after = absl::Now();
    return d;
  }

  RedisReply Raw(RedisPool& pool, const std::vector<std::string>& argv) {
    absl::StatusOr<RedisReply> reply = pool.Command(argv);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : RedisReply{};
  }

  // EvalshaCalls is how many EVALSHA commands Redis has run.
  int64_t EvalshaCalls(RedisPool& pool) {
    const std::string info = Raw(pool, {"INFO", "commandstats"}).str;
    const size_t at = info.find("cmdstat_evalsha:calls=");
    if (at == std::string::npos) return 0;
    int64_t calls = 0;
    const size_t start = at + std::strlen("cmdstat_evalsha:calls=");
    EXPECT_TRUE(absl::SimpleAtoi(info.substr(start, info.find(',', start) - start), &calls));
    return calls;
  }

  std::unique_ptr<simpul::testing::RedisServer> server_;
};

TEST_F(RateLimiterTest, RejectsAPrefixWithoutHashTag) {
  auto pool = NewPool();
  for (const char* prefix : {"simpul:gw:rl:", "simpul:gw:{}:rl:", "simpul:gw:{r:rl:"}) {
    RateLimiter::Options options;
    options.key_prefix = prefix;
    absl::StatusOr<std::unique_ptr<RateLimiter>> limiter = RateLimiter::Create(pool.get(), options);
    ASSERT_FALSE(limiter.ok()) << prefix;
    EXPECT_THAT(std::string(limiter.status().message()), HasSubstr("hash tag")) << prefix;
  }
  RateLimiter::Options options;
  options.fallback_hold = absl::Seconds(-1);
  EXPECT_FALSE(RateLimiter::Create(pool.get(), options).ok());
}

TEST_F(RateLimiterTest, BurstThenSteadyRateThenDeniedWithExactRetryAfter) {
  auto pool = NewPool();
  auto limiter = NewLimiter(pool.get());
  const Limit limit{2, 4};  // burst of 4, then a token per 500 ms
  const absl::Duration t = absl::Milliseconds(500);
  const std::string key = "ip:203.0.113.7";

  // The burst: four calls at once, counting down. Redis ran the first within `first`.
  Bracket first, b;
  for (int64_t remaining : {3, 2, 1, 0}) {
    Decision d = Timed(*limiter, key, limit, remaining == 3 ? &first : &b);
    ASSERT_TRUE(d.allowed) << remaining;
    EXPECT_EQ(d.remaining, remaining);
    EXPECT_EQ(d.retry_after, absl::ZeroDuration());
    EXPECT_EQ(d.source, Source::kRedis);
  }
  // Denied: the bucket frees one token T after the first call. Redis times lie in the
  // brackets, so retry_after = first + T - now is known to within the brackets' widths.
  Decision denied = Timed(*limiter, key, limit, &b);
  ASSERT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.source, Source::kRedis);
  const absl::Duration slack = absl::Milliseconds(1);
  EXPECT_GE(denied.retry_after, first.before + t - b.after - slack);
  EXPECT_LE(denied.retry_after, first.after + t - b.before + slack);
  std::printf("retry_after %s, bracket [%s, %s]\n",
              absl::FormatDuration(denied.retry_after).c_str(),
              absl::FormatDuration(first.before + t - b.after).c_str(),
              absl::FormatDuration(first.after + t - b.before).c_str());

  // After waiting that long, the call passes, and the next is due a full T after the first
  // freed token: first + 2T.
  absl::SleepFor(denied.retry_after);
  Decision again = limiter->Check(key, limit);
  EXPECT_TRUE(again.allowed);
  EXPECT_EQ(again.source, Source::kRedis);
  denied = Timed(*limiter, key, limit, &b);
  ASSERT_FALSE(denied.allowed);
  EXPECT_GE(denied.retry_after, first.before + 2 * t - b.after - slack);
  EXPECT_LE(denied.retry_after, first.after + 2 * t - b.before + slack);

  // The steady rate: a call every T passes, however late each one runs.
  absl::SleepFor(denied.retry_after);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(limiter->Check(key, limit).allowed) << i;
    absl::SleepFor(t);
  }
}

TEST_F(RateLimiterTest, TwoLimitersShareOneBudget) {
  // Two gateway replicas: own pools, own processes' worth of state, one Redis.
  auto pool_a = NewPool();
  auto pool_b = NewPool();
  auto a = NewLimiter(pool_a.get());
  auto b = NewLimiter(pool_b.get());
  const Limit limit{0.5, 6};  // a token per 2 s: none comes back during the test
  int allowed = 0;
  for (int i = 0; i < 12; ++i) {
    RateLimiter& limiter = i % 2 == 0 ? *a : *b;
    Decision d = limiter.Check("sub:key:k123", limit);
    if (i < 6) {
      EXPECT_TRUE(d.allowed) << i;
      EXPECT_EQ(d.remaining, 5 - i) << i;
    } else {
      EXPECT_FALSE(d.allowed) << i;
    }
    allowed += d.allowed;
  }
  EXPECT_EQ(allowed, 6);
  // Both see the same bucket: each is told to wait about the same time.
  Decision da = a->Check("sub:key:k123", limit);
  Decision db = b->Check("sub:key:k123", limit);
  EXPECT_FALSE(da.allowed);
  EXPECT_FALSE(db.allowed);
  EXPECT_LT(absl::AbsDuration(da.retry_after - db.retry_after), absl::Milliseconds(100));
  EXPECT_GT(da.retry_after, absl::Seconds(1));
}

TEST_F(RateLimiterTest, KeysAreIndependentAndIdleBucketsExpire) {
  auto pool = NewPool();
  auto limiter = NewLimiter(pool.get());
  const Limit slow{0.5, 3};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter->Check("ip:10.0.0.1", slow).allowed);
  EXPECT_FALSE(limiter->Check("ip:10.0.0.1", slow).allowed);
  for (int64_t remaining : {2, 1, 0}) {
    Decision d = limiter->Check("ip:10.0.0.2", slow);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, remaining);
  }
  EXPECT_EQ(limiter->RedisKey("ip:10.0.0.1"), "simpul:gw:{r}:rl:ip:10.0.0.1");
  // The key lives until the bucket is full again: at most burst * T.
  RedisReply pttl = Raw(*pool, {"PTTL", absl::StrCat(kPrefix, "ip:10.0.0.1")});
  EXPECT_GT(pttl.integer, 0);
  EXPECT_LE(pttl.integer, 6000);

  // A fast bucket: one call leaves a key for T = 100 ms, then nothing.
  ASSERT_TRUE(limiter->Check("ip:10.0.0.3", Limit{10, 5}).allowed);
  pttl = Raw(*pool, {"PTTL", absl::StrCat(kPrefix, "ip:10.0.0.3")});
  EXPECT_GT(pttl.integer, 0);
  EXPECT_LE(pttl.integer, 100);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Raw(*pool, {"EXISTS", absl::StrCat(kPrefix, "ip:10.0.0.3")}).integer, 0);
  EXPECT_EQ(limiter->Check("ip:10.0.0.3", Limit{10, 5}).remaining, 4);
}

TEST_F(RateLimiterTest, CustomPrefix) {
  auto pool = NewPool();
  RateLimiter::Options options;
  options.key_prefix = "test:{gw}:";
  auto limiter = NewLimiter(pool.get(), options);
  ASSERT_TRUE(limiter->Check("ip:10.0.0.1", Limit{1, 1}).allowed);
  EXPECT_EQ(Raw(*pool, {"EXISTS", "test:{gw}:ip:10.0.0.1"}).integer, 1);
}

TEST_F(RateLimiterTest, DenialsAreRepeatedLocallyUntilRetryAfter) {
  auto pool = NewPool();
  auto limiter = NewLimiter(pool.get());
  const Limit limit{0.5, 1};
  ASSERT_TRUE(limiter->Check("ip:10.9.9.9", limit).allowed);
  Decision first = limiter->Check("ip:10.9.9.9", limit);
  ASSERT_FALSE(first.allowed);
  EXPECT_EQ(first.source, Source::kRedis);
  const int64_t calls = EvalshaCalls(*pool);
  for (int i = 0; i < 20; ++i) {
    Decision d = limiter->Check("ip:10.9.9.9", limit);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.source, Source::kCachedDenial);
    EXPECT_LE(d.retry_after, first.retry_after + absl::Milliseconds(50));
    EXPECT_GT(d.retry_after, absl::ZeroDuration());
  }
  EXPECT_EQ(EvalshaCalls(*pool), calls);
  // A different limit for the same key is not answered from the cache.
  Decision looser = limiter->Check("ip:10.9.9.9", Limit{100, 1000});
  EXPECT_TRUE(looser.allowed);
  EXPECT_EQ(looser.source, Source::kRedis);

  // Without the cache every call asks Redis.
  RateLimiter::Options options;
  options.cache_denials = false;
  auto uncached = NewLimiter(pool.get(), options);
  ASSERT_TRUE(uncached->Check("ip:10.8.8.8", limit).allowed);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(uncached->Check("ip:10.8.8.8", limit).source, Source::kRedis);
}

TEST_F(RateLimiterTest, DenialCacheIsBounded) {
  auto pool = NewPool();
  RateLimiter::Options options;
  options.local_max_keys = 2;
  auto limiter = NewLimiter(pool.get(), options);
  const Limit limit{0.5, 1};
  for (const char* key : {"ip:10.0.0.1", "ip:10.0.0.2", "ip:10.0.0.3"}) {
    ASSERT_TRUE(limiter->Check(key, limit).allowed) << key;
    ASSERT_FALSE(limiter->Check(key, limit).allowed) << key;
  }
  EXPECT_EQ(limiter->Check("ip:10.0.0.1", limit).source, Source::kCachedDenial);
  EXPECT_EQ(limiter->Check("ip:10.0.0.2", limit).source, Source::kCachedDenial);
  Decision third = limiter->Check("ip:10.0.0.3", limit);  // no room: asked Redis again
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.source, Source::kRedis);
}

TEST_F(RateLimiterTest, RedisKilledFallsBackToALocalLimiterThatStillLimits) {
  auto pool = NewPool();
  Metrics metrics;
  RateLimiter::Options options;
  options.metrics = &metrics;
  options.fallback_hold = absl::Milliseconds(200);
  auto limiter = NewLimiter(pool.get(), options);
  ASSERT_EQ(limiter->Check("ip:10.0.0.1", Limit{100, 100}).source, Source::kRedis);

  server_->Kill();
  const Limit limit{0.5, 3};
  const absl::Time start = absl::Now();
  for (int64_t remaining : {2, 1, 0}) {
    Decision d = limiter->Check("ip:10.1.1.1", limit);
    EXPECT_TRUE(d.allowed) << remaining;
    EXPECT_EQ(d.remaining, remaining);
    EXPECT_EQ(d.source, Source::kFallback);
  }
  Decision denied = limiter->Check("ip:10.1.1.1", limit);
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.source, Source::kFallback);
  EXPECT_LE(denied.retry_after, absl::Seconds(2));
  EXPECT_GE(denied.retry_after, absl::Seconds(2) - elapsed);
  // Other keys keep their own local budget.
  EXPECT_TRUE(limiter->Check("ip:10.1.1.2", limit).allowed);
  EXPECT_EQ(FallbackCount(metrics, "unavailable"), 5);
  EXPECT_EQ(FallbackCount(metrics, "error"), 0);

  // Redis back: after the hold (and the pool's reconnect backoff) checks go to Redis again,
  // where this key's budget is untouched.
  ASSERT_TRUE(server_->Restart().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  Decision d;
  while (absl::Now() < deadline) {
    d = limiter->Check("ip:10.2.2.2", Limit{100, 100});
    if (d.source == Source::kRedis) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(d.source, Source::kRedis);
  Decision fresh = limiter->Check("ip:10.1.1.1", limit);
  EXPECT_TRUE(fresh.allowed);
  EXPECT_EQ(fresh.remaining, 2);
  EXPECT_EQ(fresh.source, Source::kRedis);
}

TEST_F(RateLimiterTest, ErrorReplyFallsBackForThatCallOnly) {
  auto pool = NewPool();
  Metrics metrics;
  RateLimiter::Options options;
  options.metrics = &metrics;
  auto limiter = NewLimiter(pool.get(), options);
  Raw(*pool, {"HSET", limiter->RedisKey("sub:odd"), "f", "v"});
  Decision d = limiter->Check("sub:odd", Limit{1, 2});
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.source, Source::kFallback);
  EXPECT_EQ(FallbackCount(metrics, "error"), 1);
  // Redis answered: the next call on another key goes there at once.
  EXPECT_EQ(limiter->Check("sub:even", Limit{1, 2}).source, Source::kRedis);
}

TEST_F(RateLimiterTest, InvalidLimitDenies) {
  auto pool = NewPool();
  auto limiter = NewLimiter(pool.get());
  EXPECT_FALSE(limiter->Check("k", Limit{}).allowed);
  EXPECT_FALSE(limiter->Check("k", Limit{-1, 3}).allowed);
}

// OnTwoReplicasForASecond runs 8 threads for one second, all starting together, each calling
// `check` in a loop on replica `a` (even threads) or `b` (odd ones). It returns the seconds
// from just before the start until every thread has ended.
double OnTwoReplicasForASecond(RateLimiter& a, RateLimiter& b,
                               const std::function<void(RateLimiter&)>& check) {
  std::latch ready(8);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(1);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      RateLimiter& limiter = t % 2 == 0 ? a : b;
      ready.arrive_and_wait();
      while (absl::Now() < end) check(limiter);
    });
  }
  for (std::thread& t : threads) t.join();
  return absl::ToDoubleSeconds(absl::Now() - start);
}

TEST_F(RateLimiterTest, EightThreadsOnTwoReplicasNeverExceedTheBudget) {
  // With the denial cache most denials stay local; without it every call races in Redis.
  for (bool cache_denials : {true, false}) {
    SCOPED_TRACE(cache_denials ? "denials cached" : "every call to Redis");
    RateLimiter::Options options;
    options.cache_denials = cache_denials;
    auto pool_a = NewPool(4);
    auto pool_b = NewPool(4);
    auto a = NewLimiter(pool_a.get(), options);
    auto b = NewLimiter(pool_b.get(), options);
    const Limit limit{20, 10};
    const std::string key = absl::StrCat("sub:key:hot-", cache_denials);
    std::atomic<int> allowed{0}, denied{0};
    const double seconds = OnTwoReplicasForASecond(*a, *b, [&](RateLimiter& limiter) {
      Decision d = limiter.Check(key, limit);
      (d.allowed ? allowed : denied) += 1;
    });
    // Every allowed call ran on Redis within those `seconds`: GCRA allows at most the burst
    // plus one token per T in that span.
    const int budget = 10 + static_cast<int>(limit.per_second * seconds) + 1;
    std::printf("8 threads, %s, %.2f s: %d allowed (budget %d), %d denied\n",
                cache_denials ? "denials cached" : "uncached", seconds, allowed.load(), budget,
                denied.load());
    EXPECT_LE(allowed.load(), budget);
    EXPECT_GE(allowed.load(), 10);
    EXPECT_GT(denied.load(), 0);
  }
}

TEST_F(RateLimiterTest, FastBucketsAreLeasedInBatchesWithinTheBudget) {
  auto pool_a = NewPool(4);
  auto pool_b = NewPool(4);
  auto a = NewLimiter(pool_a.get());
  auto b = NewLimiter(pool_b.get());
  // Slow buckets take no lease: one round trip per call, exactly as without leases.
  EXPECT_EQ(a->LeaseSize(Limit{20, 40}), 1);
  EXPECT_EQ(a->LeaseSize(Limit{100, 200}), 1);
  EXPECT_EQ(a->LeaseSize(Limit{200, 400}), 2);
  EXPECT_EQ(a->LeaseSize(Limit{5000, 20}), 2);  // a tenth of the burst at most
  EXPECT_EQ(a->LeaseSize(Limit{1e6, 1000000}), 100);
  RateLimiter::Options no_leases;
  no_leases.lease_time = absl::ZeroDuration();
  EXPECT_EQ(NewLimiter(pool_a.get(), no_leases)->LeaseSize(Limit{1e6, 1000000}), 1);

  // A fast bucket: far fewer round trips than calls.
  const Limit fast{1e6, 1000000};
  const int64_t before = EvalshaCalls(*pool_a);
  int allowed = 0, leased = 0;
  for (int i = 0; i < 1000; ++i) {
    Decision d = a->Check("sub:key:fast", fast);
    allowed += d.allowed;
    leased += d.source == Decision::Source::kLease;
  }
  const int64_t trips = EvalshaCalls(*pool_a) - before;
  EXPECT_EQ(allowed, 1000);
  EXPECT_GE(leased, 900);
  EXPECT_LE(trips, 20) << "about one round trip per lease of 100";

  // Two replicas leasing from one bucket never allow more than Redis granted: with a burst of
  // 400 and 200/s (leases of 2), 8 threads for 1 s stay within burst + rate x time.
  const Limit limit{200, 400};
  std::atomic<int> ok{0};
  const double seconds = OnTwoReplicasForASecond(*a, *b, [&](RateLimiter& limiter) {
    ok += limiter.Check("sub:key:shared-lease", limit).allowed;
  });
  EXPECT_LE(ok.load(), 400 + static_cast<int>(200 * seconds) + 1);
  EXPECT_GE(ok.load(), 400 - 2 * 2) << "at most one unspent lease per replica is lost";

  // CheckLocal decides only what needs no round trip: a lease, a cached denial.
  EXPECT_FALSE(a->CheckLocal("sub:key:fresh", fast).has_value());
  EXPECT_TRUE(a->Check("sub:key:fresh", fast).allowed);
  std::optional<Decision> local = a->CheckLocal("sub:key:fresh", fast);
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->source, Decision::Source::kLease);
  const Limit slow{1.0 / 3600, 1};
  EXPECT_FALSE(a->CheckLocal("sub:key:slow", slow).has_value());
  EXPECT_TRUE(a->Check("sub:key:slow", slow).allowed);
  EXPECT_FALSE(a->CheckLocal("sub:key:slow", slow).has_value()) << "no lease for slow buckets";
  EXPECT_FALSE(a->Check("sub:key:slow", slow).allowed);
  local = a->CheckLocal("sub:key:slow", slow);
  ASSERT_TRUE(local.has_value());
  EXPECT_FALSE(local->allowed);
  EXPECT_EQ(local->source, Decision::Source::kCachedDenial);

  // A lease is forgotten after lease_time: what is left of it is not spent later.
  RateLimiter::Options long_lease;
  long_lease.lease_time = absl::Milliseconds(50);
  auto c = NewLimiter(pool_a.get(), long_lease);
  const Limit tight{2000, 100};  // leases of 10 (a tenth of the burst), 50 ms
  ASSERT_EQ(c->LeaseSize(tight), 10);
  EXPECT_TRUE(c->Check("sub:key:expiring", tight).allowed);  // leases 10, spends 1
  EXPECT_EQ(c->Check("sub:key:expiring", tight).source, Decision::Source::kLease);
  absl::SleepFor(absl::Milliseconds(80));
  EXPECT_EQ(c->Check("sub:key:expiring", tight).source, Decision::Source::kRedis);
}

TEST_F(RateLimiterTest, ChecksPerSecondFromEightThreads) {
  // Prints figures, asserts none: wall-clock numbers depend on the machine.
  auto pool = NewPool(8);
  auto limiter = NewLimiter(pool.get());
  auto run = [&](const char* what, const Limit& limit, bool own_key) {
    std::atomic<int64_t> checks{0};
    std::latch ready(8);
    std::vector<std::thread> threads;
    absl::Time start, end;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        const std::string key = own_key ? absl::StrCat("sub:bench-", t) : "sub:bench-shared";
        ready.arrive_and_wait();
        int64_t n = 0;
        const absl::Time stop = absl::Now() + absl::Seconds(1);
        while (absl::Now() < stop) {
          limiter->Check(key, limit);
          ++n;
        }
        checks += n;
      });
    }
    start = absl::Now();
    for (std::thread& t : threads) t.join();
    end = absl::Now();
    std::printf("%s: %.0f checks/s\n", what,
                static_cast<double>(checks.load()) / absl::ToDoubleSeconds(end - start));
  };
  // Baseline: the cheapest command through the same pool.
  {
    std::atomic<int64_t> pings{0};
    std::vector<std::thread> threads;
    const absl::Time start = absl::Now();
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        int64_t n = 0;
        while (absl::Now() < start + absl::Seconds(1)) n += pool->Command({"PING"}).ok();
        pings += n;
      });
    }
    for (std::thread& t : threads) t.join();
    std::printf("baseline PING through the pool: %.0f/s\n",
                static_cast<double>(pings.load()) / absl::ToDoubleSeconds(absl::Now() - start));
  }
  run("allowed, leased (a round trip per 100 calls)", Limit{1e6, 1000000}, true);
  run("allowed (one Redis round trip each)", Limit{100, 1000000}, true);
  run("denied (repeated locally)", Limit{1.0 / 3600, 1}, false);
}

}  // namespace
}  // namespace simpul::gateway
