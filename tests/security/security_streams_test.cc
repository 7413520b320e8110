// End-to-end check of issue #13 point 2 (streams and connections): a real simpul-registry and
// simpul-gateway (ServiceCluster), WatchStandards streams opened through the gateway's gRPC port
// and its REST front, raw TCP connections to the REST front. Shows, with the numbers printed:
// 10,000 stream opens from one API key are capped at the key's limit (the rest refused at once
// with RESOURCE_EXHAUSTED), another key is still admitted, the REST front refuses that key's
// stream with 429 while the cap is full, the count goes back to zero when the streams end
// (client cancel, deadline), new streams are admitted again, and REST connections over the
// per-address cap are closed without an answer.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/http_client.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

namespace rv1 = ::simpul::registry::v1;
using ::simpul::gateway::ApiKeyStore;
using ::simpul::testing::Binary;
using ::simpul::testing::HttpDo;
using ::simpul::testing::IsOk;
using ::simpul::testing::ServiceCluster;
using ::simpul::testing::ServiceProcess;

constexpr int kPerKey = 50;
constexpr int kPerAddress = 400;
constexpr int kConnectionsPerAddress = 20;
constexpr int kOpens = 10000;

// Tally counts the streams of a batch by how they went.
struct Tally {
  absl::Mutex mu;
  int admitted ABSL_GUARDED_BY(mu) = 0;  // the registry's initial metadata arrived
  int refused ABSL_GUARDED_BY(mu) = 0;   // ended RESOURCE_EXHAUSTED
  int other ABSL_GUARDED_BY(mu) = 0;     // ended otherwise before any metadata
  int done ABSL_GUARDED_BY(mu) = 0;
  std::string first_refusal ABSL_GUARDED_BY(mu);

  // WaitSettled waits until every one of `n` streams is either admitted or over.
  bool WaitSettled(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto settled = [this, n]()
                       ABSL_SHARED_LOCKS_REQUIRED(mu) { return admitted + refused + other >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&settled), timeout);
  }
  bool WaitDone(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto all_done = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return done >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&all_done), timeout);
  }
};

// Watch is one WatchStandards stream through the gateway (a callback reactor).
class Watch final : public grpc::ClientReadReactor<rv1::WatchStandardsResponse> {
 public:
  Watch(rv1::Registry::Stub* stub, const std::string& key, Tally* tally,
        absl::Duration timeout = absl::Minutes(2))
      : tally_(tally) {
    ctx_.AddMetadata("authorization", "Bearer " + key);
    ctx_.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
    stub->async()->WatchStandards(&ctx_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }

  void OnReadInitialMetadataDone(bool ok) override {
    if (!ok) return;
    const auto& md = ctx_.GetServerInitialMetadata();
    if (md.find("x-simpul-cursor") == md.end()) return;  // a refusal's metadata
    absl::MutexLock lock(&tally_->mu);
    admitted_ = true;
    ++tally_->admitted;
  }
  void OnReadDone(bool ok) override {
    if (ok) StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&tally_->mu);
    ++tally_->done;
    if (admitted_) return;
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      if (tally_->first_refusal.empty()) tally_->first_refusal = status.error_message();
      ++tally_->refused;
    } else {
      ++tally_->other;
    }
  }

 private:
  Tally* const tally_;
  grpc::ClientContext ctx_;
  rv1::WatchStandardsRequest request_;
  rv1::WatchStandardsResponse response_;
  bool admitted_ = false;  // under tally_->mu
};

// Gauge reads one unlabelled series from the gateway's /metrics (-1 when absent).
double Gauge(ServiceProcess& gateway, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(gateway.AdminGet("/metrics"), '\n')) {
    if (absl::ConsumePrefix(&line, name) && absl::ConsumePrefix(&line, " ")) {
      double v = 0;
      if (absl::SimpleAtod(line, &v)) return v;
    }
  }
  return -1;
}

bool WaitGauge(ServiceProcess& gateway, const std::string& name, double want,
               absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Gauge(gateway, name) == want) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

class SecurityStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    pool_ = std::make_unique<RedisPool>(cluster_->redis().PoolOptions());
    auto keys = ApiKeyStore::Create(pool_.get(), ApiKeyStore::Options{});
    ASSERT_THAT(keys, IsOk());
    key_a_ = Issue(**keys, "a");
    key_b_ = Issue(**keys, "b");
    ASSERT_THAT(cluster_->Start(Binary::kRegistry), IsOk());
    auto gateway = cluster_->Start(
        Binary::kGateway,
        {.flags = {"--rate_limits=dashboard=100000/s burst 100000; public=100000/s burst 100000",
                   absl::StrCat("--max_streams_per_key=", kPerKey),
                   absl::StrCat("--max_streams_per_address=", kPerAddress),
                   absl::StrCat("--rest_max_connections_per_address=", kConnectionsPerAddress),
                   "--access_log=false", "--read_cache=false"}});
    ASSERT_THAT(gateway, IsOk());
    gateway_ = *gateway;
    stub_ = rv1::Registry::NewStub(gateway_->channel());
  }

  std::string Issue(ApiKeyStore& keys, const std::string& tag) {
    common::v1::Principal p;
    p.set_role(common::v1::ROLE_DASHBOARD);
    auto issued = keys.Issue(p, "security streams " + tag, "test:security-streams");
    EXPECT_THAT(issued, IsOk());
    return issued.ok() ? issued->token : "";
  }

  std::unique_ptr<ServiceCluster> cluster_;
  std::unique_ptr<RedisPool> pool_;
  std::string key_a_, key_b_;
  ServiceProcess* gateway_ = nullptr;
  std::unique_ptr<rv1::Registry::Stub> stub_;
};

TEST_F(SecurityStreamsTest, TenThousandOpensFromOneKeyAreCapped) {
  const absl::Time start = absl::Now();
  Tally a;
  std::vector<std::unique_ptr<Watch>> a_streams;
  a_streams.reserve(kOpens);
  for (int i = 0; i < kOpens; ++i) {
    a_streams.push_back(std::make_unique<Watch>(stub_.get(), key_a_, &a));
  }
  ASSERT_TRUE(a.WaitSettled(kOpens, absl::Seconds(40)));
  const absl::Duration opening = absl::Now() - start;
  {
    absl::MutexLock lock(&a.mu);
    std::cout << "[security] " << kOpens << " WatchStandards opens from one key in "
              << absl::FormatDuration(opening) << ": " << a.admitted << " admitted concurrently, "
              << a.refused << " refused RESOURCE_EXHAUSTED, " << a.other << " other; refusal: \""
              << a.first_refusal << "\"\n";
    EXPECT_EQ(a.admitted, kPerKey);
    EXPECT_EQ(a.refused, kOpens - kPerKey);
    EXPECT_EQ(a.other, 0);
    EXPECT_THAT(a.first_refusal, ::testing::HasSubstr(absl::StrCat("(limit ", kPerKey, ")")));
  }
  EXPECT_EQ(Gauge(*gateway_, "simpul_gateway_streams_open"), kPerKey);

  // Another key is still admitted.
  Tally b;
  std::vector<std::unique_ptr<Watch>> b_streams;
  for (int i = 0; i < 10; ++i)
    b_streams.push_back(std::make_unique<Watch>(stub_.get(), key_b_, &b));
  ASSERT_TRUE(b.WaitSettled(10, absl::Seconds(20)));
  {
    absl::MutexLock lock(&b.mu);
    std::cout << "[security] another key while the first is capped: " << b.admitted
              << " of 10 admitted\n";
    EXPECT_EQ(b.admitted, 10);
  }

  // The REST front shares the counts: key A's NDJSON stream is 429 with Retry-After.
  testing::HttpResponse rest = HttpDo(gateway_->rest_port(), "GET", "/v1/standards:watch", "",
                                      {{"authorization", "Bearer " + key_a_}});
  std::cout << "[security] REST stream of the capped key: " << rest.status
            << " Retry-After: " << rest.Header("retry-after") << "\n";
  EXPECT_EQ(rest.status, 429) << rest.body;
  EXPECT_EQ(rest.Header("retry-after"), "1");
  EXPECT_THAT(rest.Str("message"), ::testing::HasSubstr("streams for this API key"));

  // When key A's streams end (client cancel), the count goes back and A is admitted again.
  for (auto& w : a_streams) w->Cancel();
  ASSERT_TRUE(a.WaitDone(kOpens, absl::Seconds(30)));
  ASSERT_TRUE(WaitGauge(*gateway_, "simpul_gateway_streams_open", 10));
  Tally again;
  std::vector<std::unique_ptr<Watch>> again_streams;
  for (int i = 0; i < kPerKey; ++i) {
    again_streams.push_back(std::make_unique<Watch>(stub_.get(), key_a_, &again));
  }
  ASSERT_TRUE(again.WaitSettled(kPerKey, absl::Seconds(20)));
  {
    absl::MutexLock lock(&again.mu);
    std::cout << "[security] after they closed: " << again.admitted << " of " << kPerKey
              << " new streams of the key admitted\n";
    EXPECT_EQ(again.admitted, kPerKey);
  }
  for (auto& w : again_streams) w->Cancel();
  for (auto& w : b_streams) w->Cancel();
  ASSERT_TRUE(again.WaitDone(kPerKey, absl::Seconds(20)));
  ASSERT_TRUE(b.WaitDone(10, absl::Seconds(20)));
  EXPECT_TRUE(WaitGauge(*gateway_, "simpul_gateway_streams_open", 0));

  // A stream whose deadline passes gives its place back too.
  Tally short_lived;
  std::vector<std::unique_ptr<Watch>> short_streams;
  for (int i = 0; i < 5; ++i) {
    short_streams.push_back(
        std::make_unique<Watch>(stub_.get(), key_a_, &short_lived, absl::Milliseconds(700)));
  }
  ASSERT_TRUE(short_lived.WaitDone(5, absl::Seconds(20)));
  EXPECT_TRUE(WaitGauge(*gateway_, "simpul_gateway_streams_open", 0));
  // And so does a stream the backend ends (the registry goes away).
  Tally cut;
  std::vector<std::unique_ptr<Watch>> cut_streams;
  for (int i = 0; i < 5; ++i)
    cut_streams.push_back(std::make_unique<Watch>(stub_.get(), key_b_, &cut));
  ASSERT_TRUE(cut.WaitSettled(5, absl::Seconds(20)));
  EXPECT_EQ(Gauge(*gateway_, "simpul_gateway_streams_open"), 5);
  ASSERT_THAT(cluster_->registry().Kill(), IsOk());
  ASSERT_TRUE(cut.WaitDone(5, absl::Seconds(20)));
  EXPECT_TRUE(WaitGauge(*gateway_, "simpul_gateway_streams_open", 0));
  std::cout << "[security] streams open after every stream ended: "
            << Gauge(*gateway_, "simpul_gateway_streams_open") << "; whole test "
            << absl::FormatDuration(absl::Now() - start) << "\n";
}

TEST_F(SecurityStreamsTest, RestConnectionsPerAddressAreCapped) {
  namespace net = boost::asio;
  using tcp = net::ip::tcp;
  net::io_context ioc;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"),
                               static_cast<uint16_t>(gateway_->rest_port()));
  // A connection the gateway keeps answers a request; one over the cap is closed unanswered.
  auto answers = [&](tcp::socket& s) {
    const std::string req = "GET /v1/standards HTTP/1.1\r\nHost: x\r\n\r\n";
    boost::system::error_code ec;
    net::write(s, net::buffer(req), ec);
    if (ec) return false;
    char buf[16] = {};
    size_t n = s.read_some(net::buffer(buf), ec);
    return !ec && n >= 9 && std::string(buf, 9) == "HTTP/1.1 ";
  };
  std::vector<std::unique_ptr<tcp::socket>> held;
  for (int i = 0; i < kConnectionsPerAddress; ++i) {
    held.push_back(std::make_unique<tcp::socket>(ioc));
    held.back()->connect(endpoint);
    ASSERT_TRUE(answers(*held.back())) << "connection " << i;
  }
  int closed = 0;
  for (int i = 0; i < 30; ++i) {
    tcp::socket extra(ioc);
    extra.connect(endpoint);
    if (!answers(extra)) ++closed;
  }
  std::cout << "[security] REST connections from one address with " << kConnectionsPerAddress
            << " open: 30 more tried, " << closed << " closed without an answer\n";
  EXPECT_EQ(closed, 30);
  EXPECT_EQ(Gauge(*gateway_, "simpul_gateway_rest_connections_open"), kConnectionsPerAddress);
  // Once they close, connections are served again.
  held.clear();
  ASSERT_TRUE(WaitGauge(*gateway_, "simpul_gateway_rest_connections_open", 0));
  tcp::socket after(ioc);
  after.connect(endpoint);
  EXPECT_TRUE(answers(after));
}

}  // namespace
}  // namespace simpul
