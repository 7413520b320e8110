// Issue #13, point 1, end to end through the real gateway binary: nothing a caller sends is
// stored or labelled unbounded. Each test prints the figure it asserts.
//   - 1,000 refused anonymous ReplyToComplaint calls with a 1 MB tracking code grow Redis
//     (the audit trail) by less than 1 MB;
//   - 10,000 calls to invented method names grow /metrics by less than 10 KB and the
//     gateway's resident memory by less than 5 MB;
//   - REST requests with invalid UTF-8 or a 1 MB bad field get a 400 with a short body of
//     valid JSON and valid UTF-8.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/excerpt.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "tests/testing/http_client.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

using ::simpul::testing::Binary;
using ::simpul::testing::HttpDo;
using ::simpul::testing::HttpResponse;
using ::simpul::testing::IsOk;
using ::simpul::testing::ServiceCluster;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kThreads = 8;
constexpr char kLooseLimits[] =
    "public=100000/s burst 100000; agency_admin=1000/s burst 1000; agency_operator=1000/s "
    "burst 1000; channel=1000/s burst 1000; dashboard=1000/s burst 1000; platform_admin=1000/s "
    "burst 1000";
constexpr char kAuditLogKey[] = "simpul:gw:{a}:log";

// A channel of its own (no shared subchannel), so that the threads' calls spread over
// several connections.
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address, int i) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("simpul.test.channel", i);
  args.SetMaxSendMessageSize(8 << 20);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// InParallel runs body(thread, index) for index in [0, n) over kThreads threads.
void InParallel(int n, const std::function<void(int thread, int index)>& body) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = next++; i < n; i = next++) body(t, i);
    });
  }
  for (std::thread& t : threads) t.join();
}

class SecurityBoundsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = cluster->release();
    ASSERT_THAT(cluster_->Start(Binary::kRegistry), IsOk());
    ASSERT_THAT(cluster_->Start(Binary::kComplaints), IsOk());
    ASSERT_THAT(
        cluster_->Start(Binary::kGateway, {.flags = {std::string("--rate_limits=") + kLooseLimits,
                                                     "--rest_max_body_bytes=4194304"}}),
        IsOk());
    RedisOptions options;
    options.port = cluster_->redis().port();
    pool_ = new RedisPool(options);
  }
  static void TearDownTestSuite() {
    delete pool_;
    delete cluster_;
  }

  static int64_t RedisUsedMemory() {
    absl::StatusOr<RedisReply> info = pool_->Command({"INFO", "memory"});
    EXPECT_TRUE(info.ok()) << info.status();
    if (!info.ok()) return 0;
    for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
      int64_t v = 0;
      if (absl::ConsumePrefix(&line, "used_memory:") && absl::SimpleAtoi(line, &v)) return v;
    }
    ADD_FAILURE() << "no used_memory in INFO memory";
    return 0;
  }
  static int64_t AuditLength() {
    absl::StatusOr<RedisReply> len = pool_->Command({"XLEN", kAuditLogKey});
    return len.ok() ? len->integer : -1;
  }
  static int64_t AuditMemoryUsage() {
    absl::StatusOr<RedisReply> usage = pool_->Command({"MEMORY", "USAGE", kAuditLogKey});
    return usage.ok() ? usage->integer : -1;
  }
  // WaitForAudit waits until the audit log holds `n` records (appends run after the answer).
  static void WaitForAudit(int64_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (AuditLength() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(AuditLength(), n);
  }
  static int64_t GatewayRssKb() {
    std::ifstream status(absl::StrCat("/proc/", cluster_->gateway().pid(), "/status"));
    std::string line;
    while (std::getline(status, line)) {
      absl::string_view rest = line;
      int64_t kb = 0;
      if (absl::ConsumePrefix(&rest, "VmRSS:") &&
          absl::SimpleAtoi(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"), &kb)) {
        return kb;
      }
    }
    ADD_FAILURE() << "no VmRSS for the gateway";
    return 0;
  }

  static ServiceCluster* cluster_;
  static RedisPool* pool_;
};

ServiceCluster* SecurityBoundsTest::cluster_ = nullptr;
RedisPool* SecurityBoundsTest::pool_ = nullptr;

// Sends `n` anonymous ReplyToComplaint calls with a 1 MB tracking code, checking each is
// refused as INVALID_ARGUMENT with a short message.
void SendHugeReplies(const std::string& address, int n) {
  std::vector<std::unique_ptr<complaints::v1::Complaints::Stub>> stubs;
  for (int t = 0; t < kThreads; ++t) {
    stubs.push_back(complaints::v1::Complaints::NewStub(OwnChannel(address, t)));
  }
  std::atomic<int> refused{0};
  std::atomic<size_t> longest_message{0};
  InParallel(n, [&](int t, int i) {
    complaints::v1::ReplyToComplaintRequest req;
    req.set_tracking_code(std::string(1 << 20, static_cast<char>('A' + i % 26)));
    req.set_secret("not-the-secret");
    req.set_message("hello");
    complaints::v1::ReplyToComplaintResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    const grpc::Status s = stubs[t]->ReplyToComplaint(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) ++refused;
    size_t len = s.error_message().size() + s.error_details().size();
    size_t seen = longest_message.load();
    while (len > seen && !longest_message.compare_exchange_weak(seen, len)) {
    }
  });
  EXPECT_EQ(refused.load(), n);
  EXPECT_LT(longest_message.load(), 8192u);
}

TEST_F(SecurityBoundsTest, RefusedHugeRequestsDoNotGrowRedis) {
  const std::string address = cluster_->gateway().address();
  const int64_t audited_before = std::max<int64_t>(AuditLength(), 0);
  SendHugeReplies(address, 20);  // warm up: the log, its scripts, connections
  WaitForAudit(audited_before + 20);
  const int64_t memory_before = RedisUsedMemory();
  const int64_t stream_before = AuditMemoryUsage();
  const absl::Time start = absl::Now();
  constexpr int kCalls = 1000;
  SendHugeReplies(address, kCalls);
  WaitForAudit(audited_before + 20 + kCalls);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const int64_t grown = RedisUsedMemory() - memory_before;
  const int64_t stream_grown = AuditMemoryUsage() - stream_before;
  std::printf(
      "[bounds] %d refused anonymous ReplyToComplaint calls with a 1 MB tracking_code in "
      "%.1f s: Redis used_memory grew by %lld bytes (%.0f per call), the audit stream by %lld "
      "bytes\n",
      kCalls, seconds, static_cast<long long>(grown), static_cast<double>(grown) / kCalls,
      static_cast<long long>(stream_grown));
  EXPECT_LT(grown, 1 << 20);
  EXPECT_LT(stream_grown, 1 << 20);

  // The records are there, bounded, and keep no client address next to the tracking code.
  absl::StatusOr<RedisReply> last =
      pool_->Command({"XREVRANGE", kAuditLogKey, "+", "-", "COUNT", "1"});
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->elements.size(), 1u);
  const std::string& bytes = last->elements[0].elements[1].elements[1].str;
  EXPECT_LT(bytes.size(), 1024u);
  EXPECT_THAT(bytes, HasSubstr("ReplyToComplaint"));
  EXPECT_THAT(bytes, HasSubstr("sha256:"));
  EXPECT_THAT(bytes, Not(HasSubstr("127.0.0.1")));
}

TEST_F(SecurityBoundsTest, InventedMethodNamesDoNotGrowMetricsOrMemory) {
  const std::string address = cluster_->gateway().address();
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (int t = 0; t < kThreads; ++t) {
    stubs.push_back(std::make_unique<grpc::GenericStub>(OwnChannel(address, 100 + t)));
  }
  std::atomic<int> unimplemented{0};
  auto call = [&](int t, const std::string& method) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::ByteBuffer request, response;
    grpc::Slice empty("");
    request = grpc::ByteBuffer(&empty, 1);
    absl::Notification done;
    grpc::Status status;
    stubs[t]->UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                        [&](grpc::Status s) {
                          status = std::move(s);
                          done.Notify();
                        });
    done.WaitForNotification();
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) ++unimplemented;
  };
  // Made-up services, made-up methods of real services, and garbage paths.
  auto invented = [](int round, int i) {
    switch (i % 3) {
      case 0:
        return absl::StrCat("/simpul.invented", round, "_", i, ".v1.Service/Method", i);
      case 1:
        return absl::StrCat("/simpul.complaints.v1.Complaints/Invented", round, "_", i);
      default:
        return absl::StrCat("/simpul.registry.v1.Registry/", std::string(200, 'x'), round, "_", i);
    }
  };
  InParallel(1000, [&](int t, int i) { call(t, invented(0, i)); });  // warm up
  const int metrics_before = static_cast<int>(cluster_->gateway().AdminGet("/metrics").size());
  const int64_t rss_before = GatewayRssKb();
  const absl::Time start = absl::Now();
  constexpr int kCalls = 10000;
  unimplemented = 0;
  InParallel(kCalls, [&](int t, int i) { call(t, invented(1, i)); });
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const std::string metrics = cluster_->gateway().AdminGet("/metrics");
  const int64_t rss_after = GatewayRssKb();
  std::printf(
      "[bounds] %d calls to invented method names in %.1f s: /metrics %d -> %zu bytes (%+lld), "
      "gateway VmRSS %lld -> %lld kB (%+lld kB)\n",
      kCalls, seconds, metrics_before, metrics.size(),
      static_cast<long long>(metrics.size()) - metrics_before, static_cast<long long>(rss_before),
      static_cast<long long>(rss_after), static_cast<long long>(rss_after - rss_before));
  EXPECT_EQ(unimplemented.load(), kCalls);
  EXPECT_LT(static_cast<int64_t>(metrics.size()) - metrics_before, 10 * 1024);
  EXPECT_LT(rss_after - rss_before, 5 * 1024);
  EXPECT_THAT(metrics, HasSubstr("method=\"unknown\""));
  EXPECT_THAT(metrics, Not(HasSubstr("Invented")));
  EXPECT_THAT(metrics, Not(HasSubstr("simpul.invented")));
}

// ExpectShortJsonError: a 400 whose body is valid UTF-8, valid JSON and short.
void ExpectShortJsonError(const HttpResponse& r, const std::string& what) {
  EXPECT_EQ(r.status, 400) << what << ": " << Excerpt(r.body, 300);
  EXPECT_TRUE(IsValidUtf8(r.body)) << what;
  google::protobuf::Value parsed;  // an object (REST) or an array (Open311)
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &parsed).ok())
      << what << ": " << Excerpt(r.body, 300);
  EXPECT_LT(r.body.size(), 4096u) << what;
  std::printf("[bounds] %s: HTTP %d, %zu bytes of valid JSON\n", what.c_str(), r.status,
              r.body.size());
}

TEST_F(SecurityBoundsTest, RestErrorsAreShortValidJsonWhateverTheInput) {
  const int port = cluster_->gateway().rest_port();
  ASSERT_GT(port, 0);
  const std::string huge(1 << 20, '7');
  ExpectShortJsonError(
      HttpDo(port, "POST", "/v1/complaints/SP-1:reply", "{\"message\":\"bad \xff\xfe\xc3( bytes"),
      "REST POST with invalid UTF-8 in the JSON body");
  ExpectShortJsonError(
      HttpDo(port, "POST", "/v1/complaints/SP-1:reply", "{\"message\xff\xfe\":\"x\"}"),
      "REST POST with invalid UTF-8 in a field name");
  ExpectShortJsonError(
      HttpDo(port, "POST", "/v1/complaints/SP-1:reply", "{\"message\":" + huge + "}"),
      "REST POST with a 1 MB number for a string field");
  ExpectShortJsonError(
      HttpDo(port, "POST", "/v1/complaints/SP-1:reply", "{\"" + huge + "\":\"x\"}"),
      "REST POST with a 1 MB unknown field name");
  // (A path beyond the header limit is refused as 431 before anything reads it.)
  ExpectShortJsonError(HttpDo(port, "POST", "/v1/complaints/" + std::string(8000, 'Q') + ":reply",
                              "{\"secret\":\"s\",\"message\":\"m\"}"),
                       "REST POST with an 8 KB tracking code in the path");
  ExpectShortJsonError(HttpDo(port, "POST", "/v1/complaints/SP-1:reply",
                              "{\"tracking_code\":\"" + std::string(1 << 20, 'T') + "\xff\"}"),
                       "REST POST whose 1 MB body field (with invalid UTF-8) contradicts the path");
  ExpectShortJsonError(
      HttpDo(port, "POST", "/open311/v2/requests.json",
             "api_key=k&attribute%5Bchannel%5D=%FF%FE" + huge + "&description=" + huge,
             {{"content-type", "application/x-www-form-urlencoded"}}),
      "Open311 POST with a 1 MB channel name of invalid UTF-8");
}

}  // namespace
}  // namespace simpul
