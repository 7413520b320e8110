// Officer sessions of the web front (gateway/web_sessions.h, /web/session on the REST front)
// against a real redis-server and simpul-registry: the gateway's GrpcProxy (policy from
// deploy/policy.json, API keys in Redis, a recording audit trail) and RestServer in-process,
// HTTP/1.1 clients over loopback. Sign-in and its cookie, /v1/ calls as the key, CSRF and
// Origin checks, revocation, idle expiry, max age, sign-out, refused roles and keys, what Redis
// holds, and two front instances sharing a session.
#include "gateway/web_sessions.h"

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "gateway/policy.h"
#include "gateway/proxy.h"
#include "gateway/rate_limit.h"
#include "gateway/rest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::gateway {
namespace {

using ::simpul::testing::Binary;
using ::simpul::testing::HttpConn;
using ::simpul::testing::HttpResponse;
using ::simpul::testing::IsOk;
using ::simpul::testing::ServiceCluster;
using ::testing::HasSubstr;
using ::testing::Not;

class FakeTrail final : public AuditTrail {
 public:
  absl::StatusOr<v1::AuditRecord> Append(v1::AuditRecord record) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(record);
    return record;
  }
  absl::StatusOr<AuditPage> List(std::string_view, int, std::string_view) override {
    return absl::UnimplementedError("not in tests");
  }
  std::vector<v1::AuditRecord> Records() {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::AuditRecord> records_;
};

// Front is one gateway's REST front with its own proxy and session store (two of them on one
// Redis are two replicas).
struct Front {
  std::unique_ptr<WebSessions> sessions;
  std::unique_ptr<GrpcProxy> proxy;
  std::unique_ptr<RestServer> rest;
};

class WebSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    auto registry = cluster_->Start(Binary::kRegistry, {.flags = {"--drain_timeout=1s"}});
    ASSERT_THAT(registry, IsOk());
    registry_address_ = (*registry)->address();
    auto policy = Policy::FromFile(SIMPUL_POLICY_FILE);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::make_unique<Policy>(*std::move(policy));
    pool_ = std::make_unique<RedisPool>(cluster_->redis().PoolOptions());
    auto keys =
        ApiKeyStore::Create(pool_.get(), ApiKeyStore::Options{.cache_ttl = absl::ZeroDuration()});
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
    auto limiter = RateLimiter::Create(pool_.get(), {});
    ASSERT_TRUE(limiter.ok()) << limiter.status();
    limiter_ = *std::move(limiter);
    auto limits =
        RateLimitConfig::Parse("public=1000/s burst 1000; agency_operator=100000/s burst 100000");
    ASSERT_TRUE(limits.ok());
    limits_ = std::make_unique<RateLimitConfig>(*std::move(limits));
    auto routes = RouteTable::FromServices({"simpul.registry.v1.Registry"});
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = std::make_unique<RouteTable>(*std::move(routes));

    platform_ = Issue(common::v1::ROLE_PLATFORM_ADMIN, "");
    operator_ = Issue(common::v1::ROLE_AGENCY_OPERATOR, "kota-bogor");
    dashboard_ = Issue(common::v1::ROLE_DASHBOARD, "");
    channel_ = Issue(common::v1::ROLE_CHANNEL, "");

    ASSERT_NO_FATAL_FAILURE(StartFront(&front_, {}));
    // The registry serves once it has reached Redis.
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (Do("GET", "/v1/agencies").status != 200 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_EQ(Do("GET", "/v1/agencies").status, 200);
  }

  void TearDown() override {
    for (Front* f : {&front_, &second_}) {
      if (f->rest) f->rest->Stop();
      f->rest.reset();
    }
    executor_.Shutdown();
    front_.proxy.reset();
    second_.proxy.reset();
    cluster_.reset();
  }

  std::pair<std::string, std::string> Issue(common::v1::Role role, const std::string& agency) {
    common::v1::Principal p;
    p.set_role(role);
    p.set_agency_id(agency);
    if (role == common::v1::ROLE_CHANNEL) {
      p.set_channel("web-portal");
      p.set_scope_all_agencies(true);
    }
    auto issued = keys_->Issue(p, "web sessions test", "test:web");
    EXPECT_TRUE(issued.ok()) << issued.status();
    return {issued->token, issued->key.id()};
  }

  void StartFront(Front* f, WebSessions::Options options) {
    auto sessions = WebSessions::Create(pool_.get(), keys_.get(), limiter_.get(), options);
    ASSERT_TRUE(sessions.ok()) << sessions.status();
    f->sessions = *std::move(sessions);
    ProxyOptions proxy_options;
    proxy_options.audit = &audit_;
    proxy_options.executor = &executor_;
    proxy_options.rate_limiter = limiter_.get();
    proxy_options.rate_limits = limits_.get();
    proxy_options.backends["simpul.registry.v1.Registry"] =
        ChannelFor(registry_address_, "simpul.registry.v1.Registry", absl::Milliseconds(300));
    auto channels = proxy_options.backends;
    ApiKeyStore* keys = keys_.get();
    f->proxy = std::make_unique<GrpcProxy>(
        std::move(proxy_options), &cluster_->tokens().signer(), policy_.get(),
        [keys](std::string_view token) { return keys->Verify(token); }, nullptr);
    RestOptions rest;
    rest.listen = "127.0.0.1:0";
    rest.web_sessions = f->sessions.get();
    f->rest = std::make_unique<RestServer>(rest, routes_.get(), f->proxy.get(), channels);
    ASSERT_TRUE(f->rest->Start().ok());
  }

  HttpResponse Do(const std::string& method, const std::string& target,
                  const std::string& body = "", std::map<std::string, std::string> headers = {},
                  Front* f = nullptr) {
    HttpConn conn((f ? f : &front_)->rest->port());
    headers.emplace("accept-language", "en");
    return conn.Do(method, target, body, std::move(headers));
  }

  // SignIn signs in with `token` and returns the answer; *cookie gets the cookie value.
  HttpResponse SignIn(const std::string& token, std::string* cookie = nullptr, Front* f = nullptr) {
    HttpResponse r =
        Do("POST", "/web/session", absl::StrCat(R"({"api_key": ")", token, R"("})"), {}, f);
    if (cookie != nullptr) {
      const std::string set = r.Header("set-cookie");
      const size_t eq = set.find('=');
      *cookie = set.substr(eq + 1, set.find(';') - eq - 1);
    }
    return r;
  }

  static std::map<std::string, std::string> WithCookie(const std::string& cookie,
                                                       const std::string& csrf = "") {
    std::map<std::string, std::string> h{{"cookie", "theme=dark; simpul_session=" + cookie}};
    if (!csrf.empty()) h["x-csrf-token"] = csrf;
    return h;
  }

  static std::string AgencyJson(const std::string& id) {
    return absl::StrCat(R"({"id": ")", id,
                        R"(", "name": "Pemerintah Kota", "kind": "AGENCY_KIND_CITY", )",
                        R"("region_code": "32.71"})");
  }

  std::unique_ptr<ServiceCluster> cluster_;
  std::string registry_address_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<ApiKeyStore> keys_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<RateLimitConfig> limits_;
  std::unique_ptr<RouteTable> routes_;
  FakeTrail audit_;
  Executor executor_{2, 100};
  Front front_;
  Front second_;
  std::pair<std::string, std::string> platform_, operator_, dashboard_, channel_;
};

TEST_F(WebSessionsTest, SignInSetsAStrictHttpOnlyCookieAndGetReadsTheSession) {
  std::string cookie;
  HttpResponse r = SignIn(operator_.first, &cookie);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Str("principal.subject"), "key:" + operator_.second);
  EXPECT_EQ(r.Str("principal.role"), "ROLE_AGENCY_OPERATOR");
  EXPECT_EQ(r.Str("principal.agency_id"), "kota-bogor");
  const std::string csrf = r.Str("csrf_token");
  EXPECT_EQ(csrf.size(), 43u);
  EXPECT_FALSE(r.Str("expire_time").empty());
  EXPECT_EQ(cookie.size(), 43u);
  EXPECT_EQ(r.Header("set-cookie"),
            absl::StrCat("simpul_session=", cookie,
                         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800"));  // no TLS here
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
  EXPECT_THAT(r.body, Not(HasSubstr(operator_.first)));

  HttpResponse got = Do("GET", "/web/session", "", WithCookie(cookie));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Str("principal.subject"), "key:" + operator_.second);
  EXPECT_EQ(got.Str("csrf_token"), csrf);

  EXPECT_EQ(Do("GET", "/web/session").status, 401);
  HttpResponse unknown = Do("GET", "/web/session", "", WithCookie(std::string(43, 'A')));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_THAT(unknown.Str("message"), HasSubstr("not signed in"));
  EXPECT_THAT(unknown.Header("set-cookie"), HasSubstr("Max-Age=0"));
}

TEST_F(WebSessionsTest, CookieActsAsTheKeyAndWritesNeedTheCsrfTokenAndOwnOrigin) {
  std::string cookie;
  HttpResponse r = SignIn(platform_.first, &cookie);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string csrf = r.Str("csrf_token");

  // Without the token, with a wrong one, or from another origin: refused, nothing created.
  HttpResponse none = Do("POST", "/v1/agencies", AgencyJson("kota-satu"), WithCookie(cookie));
  EXPECT_EQ(none.status, 403) << none.body;
  EXPECT_THAT(none.Str("message"), HasSubstr("X-CSRF-Token"));
  HttpResponse wrong =
      Do("POST", "/v1/agencies", AgencyJson("kota-satu"), WithCookie(cookie, std::string(43, 'x')));
  EXPECT_EQ(wrong.status, 403);
  EXPECT_THAT(wrong.Str("message"), HasSubstr("X-CSRF-Token"));
  auto cross = WithCookie(cookie, csrf);
  cross["origin"] = "https://evil.example";
  cross["host"] = absl::StrCat("127.0.0.1:", front_.rest->port());
  HttpResponse cross_site = Do("POST", "/v1/agencies", AgencyJson("kota-satu"), cross);
  EXPECT_EQ(cross_site.status, 403);
  EXPECT_THAT(cross_site.Str("message"), HasSubstr("Origin"));
  EXPECT_EQ(Do("GET", "/v1/agencies/kota-satu").status, 404);

  // With the token (and the gateway's own origin): the key's call.
  auto same = WithCookie(cookie, csrf);
  same["origin"] = absl::StrCat("http://127.0.0.1:", front_.rest->port());
  same["host"] = absl::StrCat("127.0.0.1:", front_.rest->port());
  HttpResponse created = Do("POST", "/v1/agencies", AgencyJson("kota-satu"), same);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Do("GET", "/v1/agencies/kota-satu").status, 200);
  // Reads need no token.
  EXPECT_EQ(Do("GET", "/v1/agencies/kota-satu", "", WithCookie(cookie)).status, 200);

  absl::SleepFor(absl::Milliseconds(200));  // the audit appends run on the executor
  int created_records = 0;
  int refused_records = 0;
  for (const v1::AuditRecord& rec : audit_.Records()) {
    if (rec.method() != "/simpul.registry.v1.Registry/CreateAgency") continue;
    EXPECT_EQ(rec.subject(), "key:" + platform_.second);
    EXPECT_EQ(rec.role(), common::v1::ROLE_PLATFORM_ADMIN);
    (rec.outcome() == "OK" ? created_records : refused_records)++;
  }
  EXPECT_EQ(created_records, 1);
  EXPECT_EQ(refused_records, 3);
  bool sign_in_audited = false;
  for (const v1::AuditRecord& rec : audit_.Records()) {
    if (rec.method() == "POST /web/session" && rec.outcome() == "OK") {
      sign_in_audited = rec.subject() == "key:" + platform_.second;
    }
  }
  EXPECT_TRUE(sign_in_audited);
}

TEST_F(WebSessionsTest, RevokedKeyEndsTheSession) {
  std::string cookie;
  ASSERT_EQ(SignIn(operator_.first, &cookie).status, 201);
  EXPECT_EQ(Do("GET", "/v1/agencies", "", WithCookie(cookie)).status, 200);
  ASSERT_TRUE(keys_->Revoke(operator_.second, "test:web").ok());
  HttpResponse r = Do("GET", "/v1/agencies", "", WithCookie(cookie));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_THAT(r.Str("message"), HasSubstr("revoked"));
  EXPECT_EQ(pool_->Command({"EXISTS", front_.sessions->RedisKey(cookie)})->integer, 0);
  EXPECT_EQ(Do("GET", "/web/session", "", WithCookie(cookie)).status, 401);
}

TEST_F(WebSessionsTest, IdleTimeoutAndMaxAgeEndSessions) {
  front_.rest->Stop();
  ASSERT_NO_FATAL_FAILURE(StartFront(
      &front_, {.idle_timeout = absl::Milliseconds(1000), .max_age = absl::Milliseconds(2500)}));
  std::string cookie;
  ASSERT_EQ(SignIn(operator_.first, &cookie).status, 201);
  // Used every 400 ms, it outlives its idle timeout, but not its max age.
  const absl::Time start = absl::Now();
  int ok = 0;
  while (absl::Now() - start < absl::Milliseconds(2000)) {
    ok += Do("GET", "/web/session", "", WithCookie(cookie)).status == 200;
    absl::SleepFor(absl::Milliseconds(400));
  }
  EXPECT_GE(ok, 4);
  absl::SleepFor(absl::Milliseconds(800));
  EXPECT_EQ(Do("GET", "/web/session", "", WithCookie(cookie)).status, 401);  // max age

  std::string idle;
  ASSERT_EQ(SignIn(operator_.first, &idle).status, 201);
  absl::SleepFor(absl::Milliseconds(1300));
  // Idle: the cookie is cleared; the call is a public caller's (public reads work, the rest
  // needs credentials).
  HttpResponse read = Do("GET", "/v1/agencies", "", WithCookie(idle));
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.Header("set-cookie"),
            "simpul_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  HttpResponse write = Do("POST", "/v1/agencies", AgencyJson("kota-dua"), WithCookie(idle, "x"));
  EXPECT_EQ(write.status, 401);
  EXPECT_THAT(write.Str("message"), HasSubstr("needs credentials"));
  EXPECT_TRUE(Do("GET", "/v1/agencies").Header("set-cookie").empty());
}

TEST_F(WebSessionsTest, SignOutNeedsTheCsrfTokenAndClearsTheCookie) {
  std::string cookie;
  HttpResponse r = SignIn(operator_.first, &cookie);
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(Do("DELETE", "/web/session", "", WithCookie(cookie)).status, 403);
  EXPECT_EQ(Do("GET", "/web/session", "", WithCookie(cookie)).status, 200);
  HttpResponse out = Do("DELETE", "/web/session", "", WithCookie(cookie, r.Str("csrf_token")));
  EXPECT_EQ(out.status, 204) << out.body;
  EXPECT_EQ(out.Header("set-cookie"),
            "simpul_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  EXPECT_EQ(Do("GET", "/web/session", "", WithCookie(cookie)).status, 401);
  EXPECT_EQ(Do("PUT", "/web/session").status, 405);
}

TEST_F(WebSessionsTest, OnlyOfficersSignInAndBadInputIsNamed) {
  for (const auto* who : {&dashboard_, &channel_}) {
    HttpResponse r = SignIn(who->first);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_THAT(r.Str("message"), HasSubstr("the console is for agency officers"));
    EXPECT_TRUE(r.Header("set-cookie").empty());
  }
  HttpResponse bad = SignIn("k0123456789abcdef.nottherightsecretnottherightsecretnottheri");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.Str("message"), std::string(kInvalidApiKeyMessage));
  HttpResponse missing = Do("POST", "/web/session", "{}");
  EXPECT_EQ(missing.status, 400);
  EXPECT_THAT(missing.ViolationFields(), ::testing::ElementsAre("api_key"));
  HttpResponse extra = Do("POST", "/web/session", R"({"api_key": "x", "password": "y"})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_THAT(extra.ViolationFields(), ::testing::ElementsAre("password"));
  EXPECT_EQ(Do("POST", "/web/session", "api_key=x", {{"content-type", "text/plain"}}).status, 415);
  // Indonesian by default.
  HttpConn conn(front_.rest->port());
  HttpResponse id = conn.Do("POST", "/web/session", R"({"api_key": ")" + dashboard_.first + "\"}");
  EXPECT_THAT(id.Str("message"), HasSubstr("konsol"));
}

TEST_F(WebSessionsTest, SignInIsRateLimitedPerAddress) {
  front_.rest->Stop();
  ASSERT_NO_FATAL_FAILURE(
      StartFront(&front_, {.sign_in_limit = Limit{.per_second = 1.0 / 60, .burst = 3}}));
  int limited = 0;
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = SignIn("k0123456789abcdef.x");
    if (r.status == 429) {
      ++limited;
      EXPECT_FALSE(r.Header("retry-after").empty());
    } else {
      EXPECT_EQ(r.status, 401);
    }
  }
  EXPECT_EQ(limited, 2);
}

TEST_F(WebSessionsTest, RedisHoldsNeitherTheKeyNorTheCookieAndReplicasShareSessions) {
  std::string cookie;
  HttpResponse r = SignIn(operator_.first, &cookie);
  ASSERT_EQ(r.status, 201);
  const std::string csrf = r.Str("csrf_token");
  const std::string secret = operator_.first.substr(operator_.first.find('.') + 1);
  auto keys = pool_->Command({"KEYS", "*"});
  ASSERT_TRUE(keys.ok());
  int sessions = 0;
  for (const RedisReply& key : keys->elements) {
    EXPECT_THAT(key.str, Not(HasSubstr(cookie)));
    if (absl::StrContains(key.str, "ws:")) ++sessions;
    auto type = pool_->Command({"TYPE", key.str});
    std::vector<std::string> values;
    if (type->str == "string") {
      values.push_back(pool_->Command({"GET", key.str})->str);
    } else if (type->str == "hash") {
      for (const RedisReply& v : pool_->Command({"HGETALL", key.str})->elements) {
        values.push_back(v.str);
      }
    } else if (type->str == "zset") {
      for (const RedisReply& v : pool_->Command({"ZRANGE", key.str, "0", "-1"})->elements) {
        values.push_back(v.str);
      }
    }
    for (const std::string& v : values) {
      EXPECT_THAT(v, Not(HasSubstr(secret))) << key.str;
      EXPECT_THAT(v, Not(HasSubstr(cookie))) << key.str;
      EXPECT_THAT(v, Not(HasSubstr(csrf))) << key.str;
    }
  }
  EXPECT_EQ(sessions, 1);

  // A second gateway on the same Redis serves the session.
  ASSERT_NO_FATAL_FAILURE(StartFront(&second_, {}));
  HttpResponse there = Do("GET", "/web/session", "", WithCookie(cookie), &second_);
  ASSERT_EQ(there.status, 200) << there.body;
  EXPECT_EQ(there.Str("csrf_token"), csrf);
  EXPECT_EQ(Do("GET", "/v1/agencies", "", WithCookie(cookie), &second_).status, 200);
  EXPECT_EQ(Do("DELETE", "/web/session", "", WithCookie(cookie, csrf), &second_).status, 204);
  EXPECT_EQ(Do("GET", "/web/session", "", WithCookie(cookie)).status, 401);
}

// A figure, not a bound: what the cookie costs per call (one Redis script and a cached key
// check before the gate) against the key itself, sequential calls on one connection.
TEST_F(WebSessionsTest, CostOfACookieCallAgainstABearerCall) {
  std::string cookie;
  ASSERT_EQ(SignIn(operator_.first, &cookie).status, 201);
  constexpr int kCalls = 300;
  HttpConn conn(front_.rest->port());
  auto run = [&](std::map<std::string, std::string> headers) {
    const absl::Time start = absl::Now();
    for (int i = 0; i < kCalls; ++i) {
      const HttpResponse r = conn.Do("GET", "/v1/agencies", "", headers);
      if (r.status != 200) {
        ADD_FAILURE() << r.status << " " << r.body;
        break;
      }
    }
    return absl::ToDoubleMicroseconds(absl::Now() - start) / kCalls;
  };
  run({{"authorization", "Bearer " + operator_.first}});  // warm up
  const double bearer = run({{"authorization", "Bearer " + operator_.first}});
  const double with_cookie = run(WithCookie(cookie));
  std::cout << "GET /v1/agencies, " << kCalls << " sequential calls: bearer " << bearer
            << " us/call, session cookie " << with_cookie << " us/call\n";
}

}  // namespace
}  // namespace simpul::gateway
