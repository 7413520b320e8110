// End-to-end tests of the REST front: a real redis-server and simpul-registry (with the shared
// identity key), the gateway's GrpcProxy (policy from deploy/policy.json, rate limits in
// Redis, a recording audit trail) and RestServer in-process, and HTTP/1.1 clients over
// loopback (Boost.Beast for whole exchanges, raw reads for streams and slow clients).
#include <signal.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/executor.h"
#include "common/messages.h"
#include "common/redis.h"
#include "gateway/open311_front.h"
#include "gateway/policy.h"
#include "gateway/proxy.h"
#include "gateway/rate_limit.h"
#include "gateway/rest.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"
#include "tests/testing/http_client.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ::simpul::testing::Binary;
using ::simpul::testing::IsOk;
using ::simpul::testing::ServiceCluster;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

using Response = ::simpul::testing::HttpResponse;
using Conn = ::simpul::testing::HttpConn;

// RawConn is a plain socket for streams and misbehaving clients.
class RawConn {
 public:
  explicit RawConn(int port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port)));
  }
  void Send(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }
  // ReadUntil reads until `pred(all bytes so far)` or the peer closes or `timeout` passes;
  // returns whether the peer closed.
  bool ReadUntil(const std::function<bool(const std::string&)>& pred, absl::Duration timeout) {
    const absl::Time until = absl::Now() + timeout;
    socket_.non_blocking(true);
    while (!pred(data_) && absl::Now() < until) {
      char buf[4096];
      beast::error_code ec;
      const size_t n = socket_.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block) {
        absl::SleepFor(absl::Milliseconds(10));
        continue;
      }
      if (ec) return true;
      data_.append(buf, n);
    }
    return false;
  }
  const std::string& data() const { return data_; }
  void Close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  std::string data_;
};

// Dechunk returns the body of a chunked response received so far (complete chunks only).
std::string Dechunk(const std::string& raw) {
  size_t pos = raw.find("\r\n\r\n");
  if (pos == std::string::npos) return "";
  pos += 4;
  std::string body;
  while (true) {
    const size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t size = 0;
    if (!absl::SimpleHexAtoi(raw.substr(pos, eol - pos), &size)) break;
    if (size == 0 || raw.size() < eol + 2 + size + 2) break;
    body += raw.substr(eol + 2, size);
    pos = eol + 2 + size + 2;
  }
  return body;
}

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

class RestE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    auto registry = cluster_->Start(Binary::kRegistry, {.flags = {"--drain_timeout=1s"}});
    ASSERT_THAT(registry, IsOk());
    registry_ = *registry;

    auto policy = Policy::FromFile(SIMPUL_POLICY_FILE);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::make_unique<Policy>(*std::move(policy));
    RedisOptions redis_options;
    redis_options.port = cluster_->redis().port();
    pool_ = std::make_unique<RedisPool>(redis_options);
    auto limiter = RateLimiter::Create(pool_.get(), {});
    ASSERT_TRUE(limiter.ok()) << limiter.status();
    limiter_ = *std::move(limiter);
    auto limits =
        RateLimitConfig::Parse("public=1000/s burst 1000; subject:key:limited=1/h burst 2");
    ASSERT_TRUE(limits.ok()) << limits.status();
    limits_ = std::make_unique<RateLimitConfig>(*std::move(limits));
    auto routes = RouteTable::FromServices(
        {"simpul.registry.v1.Registry", "simpul.complaints.v1.Complaints",
         "simpul.monitoring.v1.Monitoring", "simpul.gateway.v1.GatewayAdmin"});
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = std::make_unique<RouteTable>(*std::move(routes));
    // Complaints has no backend until a test starts one.
    ASSERT_NO_FATAL_FAILURE(StartFront(Nowhere("complaints")));
    // The registry reports SERVING once it has reached Redis; until then the gateway's
    // health-checked channel has nowhere to send calls.
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (Do("GET", "/v1/agencies").status != 200 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_EQ(Do("GET", "/v1/agencies").status, 200) << registry_->Log();
  }

  // Nowhere is an address nothing listens at.
  std::string Nowhere(const std::string& name) {
    return absl::StrCat("unix:", cluster_->dir(), "/", name, "-nothing-listens.sock");
  }

  // StartFront makes the proxy (the registry, monitoring with no backend, complaints at
  // `complaints_target`) and the REST front on it.
  void StartFront(const std::string& complaints_target) {
    ProxyOptions options;
    options.audit = &audit_;
    options.executor = &executor_;
    options.rate_limiter = limiter_.get();
    options.rate_limits = limits_.get();
    options.backends["simpul.registry.v1.Registry"] =
        ChannelFor(registry_->address(), "simpul.registry.v1.Registry", absl::Milliseconds(300));
    // Nothing listens here: calls to monitoring are UNAVAILABLE.
    options.backends["simpul.monitoring.v1.Monitoring"] = ChannelFor(
        Nowhere("monitoring"), "simpul.monitoring.v1.Monitoring", absl::Milliseconds(300));
    options.backends["simpul.complaints.v1.Complaints"] =
        ChannelFor(complaints_target, "simpul.complaints.v1.Complaints", absl::Milliseconds(300));
    channels_ = options.backends;
    // A replaced proxy stays alive: audit appends it queued may still run.
    if (proxy_ != nullptr) retired_proxies_.push_back(std::move(proxy_));
    proxy_ = std::make_unique<GrpcProxy>(
        std::move(options), &cluster_->tokens().signer(), policy_.get(),
        [](std::string_view token) -> absl::StatusOr<common::v1::Principal> {
          common::v1::Principal p;
          if (token == "admin-key") {
            p.set_subject("key:admin");
            p.set_role(common::v1::ROLE_PLATFORM_ADMIN);
          } else if (token == "bogor-admin-key") {
            p.set_subject("key:bogor-admin");
            p.set_role(common::v1::ROLE_AGENCY_ADMIN);
            p.set_agency_id("kota-bogor");
          } else if (token == "limited-key") {
            p.set_subject("key:limited");
            p.set_role(common::v1::ROLE_DASHBOARD);
          } else {
            return absl::UnauthenticatedError("unknown API key");
          }
          return p;
        },
        nullptr);
    if (rest_ != nullptr) rest_->Stop();
    StartRest();
  }

  void StartRest() {
    RestOptions options;
    options.listen = "127.0.0.1:0";
    options.max_body_bytes = 4096;
    options.read_timeout = absl::Seconds(1);
    options.default_timeout = absl::Seconds(5);
    options.cors_allowed_origins = {"https://dashboard.example.go.id"};
    options.drain_timeout = absl::Seconds(2);
    rest_ = std::make_unique<RestServer>(options, routes_.get(), proxy_.get(), channels_);
    ASSERT_TRUE(rest_->Start().ok());
    ASSERT_GT(rest_->port(), 0);
  }

  void TearDown() override {
    if (rest_) rest_->Stop();
    rest_.reset();
    executor_.Shutdown();  // the proxy's queued audit appends run before it goes
    proxy_.reset();
    retired_proxies_.clear();
    cluster_.reset();
  }

  // StartComplaints runs simpul-complaints (only the tests that need it) and puts the REST
  // front in front of it.
  void StartComplaints() {
    auto complaints = cluster_->Start(Binary::kComplaints,
                                      {.flags = {"--registry_timeout=2s", "--drain_timeout=1s"}});
    ASSERT_THAT(complaints, IsOk());
    StartFront((*complaints)->address());
  }

  Response Do(const std::string& method, const std::string& target, const std::string& body = "",
              std::map<std::string, std::string> headers = {}) {
    Conn conn(rest_->port());
    return conn.Do(method, target, body, std::move(headers));
  }
  static std::map<std::string, std::string> Admin() {
    return {{"authorization", "Bearer admin-key"}};
  }
  Response CreateAgency(const std::string& id) {
    return Do("POST", "/v1/agencies",
              absl::StrCat(R"({"id": ")", id,
                           R"(", "name": "Pemerintah Kota Bogor", "kind": "AGENCY_KIND_CITY",
                           "region_code": "32.71"})"),
              Admin());
  }

  std::unique_ptr<ServiceCluster> cluster_;
  simpul::testing::ServiceProcess* registry_ = nullptr;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<RateLimitConfig> limits_;
  FakeTrail audit_;
  Executor executor_{2, 100};
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  std::unique_ptr<StreamLimits> stream_limits_;  // outlives rest_
  std::unique_ptr<GrpcProxy> proxy_;
  std::vector<std::unique_ptr<GrpcProxy>> retired_proxies_;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<RestServer> rest_;
};

TEST_F(RestE2eTest, CreateThenPublicGetOfAnAgency) {
  Response created = CreateAgency("kota-bogor");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("content-type"), "application/json");
  EXPECT_EQ(created.Str("agency.id"), "kota-bogor");
  EXPECT_EQ(created.Str("agency.kind"), "AGENCY_KIND_CITY");
  EXPECT_EQ(created.Str("agency.region_code"), "32.71");  // proto field names
  EXPECT_FALSE(created.Header("x-request-id").empty());

  Response got = Do("GET", "/v1/agencies/kota-bogor", "", {{"x-request-id", "my-req-1"}});
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Str("agency.name"), "Pemerintah Kota Bogor");
  EXPECT_EQ(got.Str("agency.revision"), "1");  // int64 as a JSON string
  EXPECT_EQ(got.Header("x-request-id"), "my-req-1");

  Response list = Do("GET", "/v1/agencies?kind=AGENCY_KIND_CITY&page.page_size=10");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_THAT(list.body, HasSubstr("kota-bogor"));

  // The mutating call was audited like a gRPC one; the reads were not.
  std::vector<v1::AuditRecord> records;
  for (int i = 0; i < 100 && records.empty(); ++i) {
    records = audit_.Records();
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].method(), "/simpul.registry.v1.Registry/CreateAgency");
  EXPECT_EQ(records[0].resource(), "kota-bogor");
  EXPECT_EQ(records[0].outcome(), "OK");
  EXPECT_EQ(records[0].subject(), "key:admin");
  EXPECT_EQ(records[0].request_id(), created.Header("x-request-id"));
}

TEST_F(RestE2eTest, ErrorMappingsFromTheGateAndTheBackend) {
  ASSERT_EQ(CreateAgency("kota-bogor").status, 201);

  Response r = CreateAgency("kota-bogor");  // ALREADY_EXISTS
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.Str("status"), "ALREADY_EXISTS");
  EXPECT_EQ(r.Str("code"), "409");
  EXPECT_FALSE(r.Str("request_id").empty());
  EXPECT_EQ(r.Str("request_id"), r.Header("x-request-id"));

  r = Do("GET", "/v1/agencies/kota-nowhere");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.Str("status"), "NOT_FOUND");

  // No credentials for a method the public may not call; bad credentials; a wrong role.
  r = Do("POST", "/v1/agencies", R"({"id": "kota-depok"})");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.Str("status"), "UNAUTHENTICATED");
  r = Do("GET", "/v1/agencies/kota-bogor", "", {{"authorization", "Bearer nope"}});
  EXPECT_EQ(r.status, 401) << r.body;
  r = Do("POST", "/v1/agencies", R"({"id": "kota-depok"})",
         {{"authorization", "Bearer bogor-admin-key"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Str("status"), "PERMISSION_DENIED");
  r = Do("POST", "/v1/agencies", R"({"id": "kota-depok"})", {{"x-api-key", "bogor-admin-key"}});
  EXPECT_EQ(r.status, 403) << r.body;

  // The backend's field violations come through.
  r = Do("POST", "/v1/agencies", R"({"id": "Bad Id!", "kind": "AGENCY_KIND_CITY"})", Admin());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Str("status"), "INVALID_ARGUMENT");
  EXPECT_THAT(r.ViolationFields(), Contains(HasSubstr("id")));
  EXPECT_THAT(r.ViolationFields(), Contains(HasSubstr("name")));

  // Stale revision: ABORTED.
  r = Do("PUT", "/v1/agencies/kota-bogor",
         R"({"agency": {"name": "Kota Bogor", "kind": "AGENCY_KIND_CITY", "region_code": "32.71"},
             "expected_revision": "7"})",
         Admin());
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.Str("status"), "ABORTED");
  r = Do("PUT", "/v1/agencies/kota-bogor",
         R"({"agency": {"name": "Kota Bogor Baru", "kind": "AGENCY_KIND_CITY",
             "regionCode": "32.71"}, "expectedRevision": 1})",
         Admin());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Str("agency.name"), "Kota Bogor Baru");

  // Mapping errors name the field.
  r = Do("GET", "/v1/agencies?kind=AGENCY_KIND_NOPE&page.page_size=many&colour=red");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.ViolationFields(),
              ::testing::UnorderedElementsAre("kind", "page.page_size", "colour"));

  // Monitoring has no live backend: UNAVAILABLE.
  r = Do("GET", "/v1/figures?scope.national=true&period.kind=PERIOD_KIND_YEAR&period.year=2026");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.Str("status"), "UNAVAILABLE");
  // A service nothing serves behind this gateway: UNIMPLEMENTED.
  r = Do("GET", "/v1/apiKeys", "", Admin());
  EXPECT_EQ(r.status, 501) << r.body;
}

TEST_F(RestE2eTest, MalformedRequestsGetJsonErrors) {
  Response r = Do("POST", "/v1/agencies", R"({"id": "kota-bogor", )", Admin());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Str("status"), "INVALID_ARGUMENT");
  EXPECT_THAT(r.ViolationFields(), Contains("agency"));
  r = Do("POST", "/v1/agencies", R"({"id": "kota-bogor", "colour": "red"})", Admin());
  EXPECT_EQ(r.status, 400) << r.body;

  r = Do("POST", "/v1/agencies", R"({"id": "kota-bogor"})",
         {{"authorization", "Bearer admin-key"}, {"content-type", "text/plain"}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_THAT(r.Str("message"), HasSubstr("application/json"));
  r = Do(
      "POST", "/v1/agencies", R"({"id": "kota-bogor"})",
      {{"authorization", "Bearer admin-key"}, {"content-type", "application/json; charset=utf-8"}});
  EXPECT_NE(r.status, 415) << r.body;

  r = Do("POST", "/v1/agencies", std::string(5000, ' '), Admin());
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(r.Header("connection"), "close");

  r = Do("GET", "/v1/nothing/here");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.Str("status"), "NOT_FOUND");
  EXPECT_FALSE(r.Header("x-request-id").empty());

  r = Do("DELETE", "/v1/agencies");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(r.Header("allow"), "GET, POST, OPTIONS");
  r = Do("BREW", "/v1/agencies/kota-bogor");
  EXPECT_EQ(r.status, 405) << r.body;

  r = Do("GET", "/v1/agencies/kota-bogor", "", {{"grpc-timeout", "soon"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.ViolationFields(), Contains("grpc-timeout"));

  // Garbage instead of HTTP: 400 and the connection closes; the server still serves.
  RawConn raw(rest_->port());
  raw.Send("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_TRUE(raw.ReadUntil([](const std::string&) { return false; }, absl::Seconds(5)));
  EXPECT_THAT(raw.data(), HasSubstr("400"));
  EXPECT_EQ(Do("GET", "/v1/agencies").status, 200);
}

TEST_F(RestE2eTest, ExpectContinueIsAnsweredBeforeTheBody) {
  const std::string body =
      R"({"id": "kota-bogor", "name": "Pemerintah Kota Bogor", "kind": "AGENCY_KIND_CITY",
          "region_code": "32.71"})";
  RawConn conn(rest_->port());
  conn.Send(absl::StrCat("POST /v1/agencies HTTP/1.1\r\nHost: x\r\n",
                         "Authorization: Bearer admin-key\r\nContent-Type: application/json\r\n",
                         "Expect: 100-continue\r\nContent-Length: ", body.size(), "\r\n\r\n"));
  ASSERT_FALSE(
      conn.ReadUntil([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; },
                     absl::Seconds(5)));
  EXPECT_TRUE(absl::StartsWith(conn.data(), "HTTP/1.1 100 Continue\r\n\r\n")) << conn.data();
  conn.Send(body);
  conn.ReadUntil([](const std::string& d) { return d.find("\"agency\"") != std::string::npos; },
                 absl::Seconds(10));
  EXPECT_THAT(conn.data(), HasSubstr("HTTP/1.1 201 Created"));

  // Too large a body is refused before the client sends it.
  RawConn big(rest_->port());
  big.Send(
      "POST /v1/agencies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: 100000\r\n\r\n");
  big.ReadUntil([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; },
                absl::Seconds(5));
  EXPECT_TRUE(absl::StartsWith(big.data(), "HTTP/1.1 413")) << big.data();
}

// FakeAdmin stands for the gateway's own GatewayAdmin, which runs the gate itself: it answers
// with what it received (credentials, request id, identity) in the key's fields.
class FakeAdmin final : public v1::GatewayAdmin::CallbackService {
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::RevokeApiKeyRequest* req,
                                         v1::RevokeApiKeyResponse* resp) override {
    auto header = [&](const char* key) {
      auto it = ctx->client_metadata().find(key);
      return it == ctx->client_metadata().end() ? std::string("-")
                                                : std::string(it->second.data(), it->second.size());
    };
    resp->mutable_key()->set_id(req->id());
    resp->mutable_key()->set_label(header("authorization"));
    resp->mutable_key()->set_created_by(header("x-request-id"));
    resp->mutable_key()->set_revoked_by(header("x-simpul-identity"));
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

TEST_F(RestE2eTest, SelfGatedServiceGetsTheCallersCredentials) {
  FakeAdmin admin;
  grpc::ServerBuilder builder;
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  rest_->Stop();
  RestOptions options;
  options.listen = "127.0.0.1:0";
  options.self_gated_services = {"simpul.gateway.v1.GatewayAdmin"};
  auto channels = channels_;
  channels["simpul.gateway.v1.GatewayAdmin"] = server->InProcessChannel(grpc::ChannelArguments());
  rest_ = std::make_unique<RestServer>(options, routes_.get(), proxy_.get(), channels);
  ASSERT_TRUE(rest_->Start().ok());

  Response r = Do("POST", "/v1/apiKeys/k123:revoke", "",
                  {{"authorization", "Bearer whatever-the-admin-checks"}, {"x-request-id", "r-9"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Str("key.id"), "k123");
  EXPECT_EQ(r.Str("key.label"), "Bearer whatever-the-admin-checks");
  EXPECT_EQ(r.Str("key.created_by"), "r-9");
  EXPECT_EQ(r.Str("key.revoked_by"), "-");  // no minted identity
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(audit_.Records().empty());  // the service audits its own calls
  rest_->Stop();
  server->Shutdown();
}

TEST_F(RestE2eTest, PipelinedChunkedAndOversizedHeaderRequests) {
  // Two requests in one write are answered in order on the same connection.
  RawConn pipelined(rest_->port());
  pipelined.Send(
      "GET /v1/agencies/one HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n\r\n"
      "GET /v1/agencies HTTP/1.1\r\nHost: x\r\nX-Request-Id: second\r\n\r\n");
  pipelined.ReadUntil(
      [](const std::string& d) {
        const size_t second = d.find("x-request-id: second");
        return second != std::string::npos && d.find("\r\n\r\n", second) != std::string::npos &&
               absl::EndsWith(d, "}");
      },
      absl::Seconds(10));
  const std::string& data = pipelined.data();
  ASSERT_NE(data.find("x-request-id: first"), std::string::npos) << data;
  EXPECT_LT(data.find("x-request-id: first"), data.find("x-request-id: second"));
  EXPECT_TRUE(absl::StartsWith(data, "HTTP/1.1 404")) << data;

  // A chunked request body is read like any other.
  RawConn chunked(rest_->port());
  const std::string body = R"({"id": "kota-bogor", "name": "Pemerintah Kota Bogor",)"
                           R"( "kind": "AGENCY_KIND_CITY", "region_code": "32.71"})";
  chunked.Send(
      absl::StrCat("POST /v1/agencies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-key\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                   absl::StrFormat("%x\r\n", 10), body.substr(0, 10), "\r\n",
                   absl::StrFormat("%x\r\n", body.size() - 10), body.substr(10), "\r\n0\r\n\r\n"));
  chunked.ReadUntil([](const std::string& d) { return absl::EndsWith(d, "}}"); },
                    absl::Seconds(10));
  EXPECT_TRUE(absl::StartsWith(chunked.data(), "HTTP/1.1 201")) << chunked.data();

  // Headers over the limit: 431, and the server goes on.
  Response r = Do("GET", "/v1/agencies", "", {{"x-padding", std::string(20000, 'a')}});
  EXPECT_EQ(r.status, 431) << r.body;
  EXPECT_EQ(r.Str("code"), "431");
  // Binary garbage.
  RawConn garbage(rest_->port());
  garbage.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  EXPECT_TRUE(garbage.ReadUntil([](const std::string&) { return false; }, absl::Seconds(5)));
  EXPECT_EQ(Do("GET", "/v1/agencies").status, 200);
}

TEST_F(RestE2eTest, PublicFilingAndTrackingOfAComplaint) {
  ASSERT_NO_FATAL_FAILURE(StartComplaints());
  Response filed = Do("POST", "/v1/complaints",
                      R"({"idempotency_key": "web-form-000001",
                          "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_WEB",
                          "targetText": "Disdukcapil Kota Bogor",
                          "description": "Loket tutup sebelum jam layanan berakhir"})");
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string code = filed.Str("tracking_code");
  const std::string secret = filed.Str("secret");
  ASSERT_FALSE(code.empty());
  ASSERT_FALSE(secret.empty());

  // The secret travels in the body, never in the URL.
  Response tracked = Do("POST", absl::StrCat("/v1/complaints/", code, ":track"),
                        absl::StrCat(R"({"secret": ")", secret, R"("})"));
  ASSERT_EQ(tracked.status, 200) << tracked.body;
  EXPECT_THAT(tracked.body, HasSubstr(code));
  Response wrong = Do("POST", absl::StrCat("/v1/complaints/", code, ":track"),
                      R"({"secret": "not-the-secret"})");
  EXPECT_GE(wrong.status, 400) << wrong.body;
  EXPECT_LT(wrong.status, 500) << wrong.body;

  // The service's field violations reach the client by name.
  Response bad = Do("POST", "/v1/complaints", R"({"channel": "CHANNEL_WEB"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(bad.ViolationFields(), Contains("idempotency_key"));
  EXPECT_THAT(bad.ViolationFields(), Contains("report_type"));
  EXPECT_THAT(bad.ViolationFields(), Contains("description"));
  // The public list shows verified cases only (none yet); a case's history needs the
  // handling agency's credentials.
  Response listed = Do("GET", "/v1/complaints");
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.body, "{}");
  EXPECT_EQ(Do("GET", absl::StrCat("/v1/complaints/", code, "/history")).status, 401);
}

// Descriptions lists each field violation of an error body as "field: description".
std::vector<std::string> Descriptions(const Response& r) {
  std::vector<std::string> out;
  auto it = r.json.fields().find("field_violations");
  if (it == r.json.fields().end()) return out;
  for (const auto& v : it->second.list_value().values()) {
    const auto& f = v.struct_value().fields();
    out.push_back(
        absl::StrCat(f.at("field").string_value(), ": ", f.at("description").string_value()));
  }
  return out;
}

TEST_F(RestE2eTest, PublicCallersReadErrorsInIndonesianUnlessTheyAskForEnglish) {
  ASSERT_NO_FATAL_FAILURE(StartComplaints());
  // Every check of a public filing fails at once; the same request in both languages.
  const std::string bad_filing = absl::StrCat(
      R"({"idempotency_key": "x", "report_type": "REPORT_TYPE_UNSPECIFIED",
          "service_id": "Not A Slug", "title": ")",
      std::string(201, 't'), R"(", "description": "",
          "remedy_requested": "bell)",
      "\\u0007", R"(",
          "location": {"region_code": "99.XX", "latitude": 91, "longitude": 181},
          "attachments": [{"uri": "not a uri"}],
          "service_date": {"year": 2026, "month": 2, "day": 30},
          "complainant": {"phone": "12ab", "email": "nope"}})");
  Response id = Do("POST", "/v1/complaints", bad_filing);
  Response en = Do("POST", "/v1/complaints?lang=en", bad_filing);
  ASSERT_EQ(id.status, 400) << id.body;
  ASSERT_EQ(en.status, 400) << en.body;
  EXPECT_EQ(id.Header("content-language"), "id");
  EXPECT_EQ(en.Header("content-language"), "en");
  const std::vector<std::string> in_id = Descriptions(id);
  const std::vector<std::string> in_en = Descriptions(en);
  ASSERT_GE(in_en.size(), 12u) << en.body;
  ASSERT_EQ(in_id.size(), in_en.size());
  for (size_t i = 0; i < in_en.size(); ++i) {
    SCOPED_TRACE(in_en[i]);
    const std::string english = in_en[i].substr(in_en[i].find(": ") + 2);
    // Each English text is one of the catalogue's, and the Indonesian one is its translation.
    EXPECT_EQ(in_id[i], absl::StrCat(in_en[i].substr(0, in_en[i].find(": ")), ": ",
                                     Translate(english, Lang::kIndonesian).value_or("(none)")));
    EXPECT_NE(in_id[i], in_en[i]);
  }
  EXPECT_THAT(id.Str("message"),
              HasSubstr("pengaduan tidak valid: idempotency_key: 8..128 karakter"));
  EXPECT_THAT(en.Str("message"),
              HasSubstr("invalid FileComplaintRequest: idempotency_key: 8..128"));

  // Accept-Language is honoured; `lang` wins over it; anything else for `lang` is refused.
  Response accept =
      Do("POST", "/v1/complaints", bad_filing, {{"accept-language", "en-US,en;q=0.9"}});
  EXPECT_EQ(accept.Header("content-language"), "en");
  EXPECT_EQ(Descriptions(accept), in_en);
  Response both = Do("POST", "/v1/complaints?lang=id", bad_filing, {{"accept-language", "en-US"}});
  EXPECT_EQ(Descriptions(both), in_id);
  Response unknown = Do("POST", "/v1/complaints?lang=fr", bad_filing);
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_THAT(unknown.ViolationFields(), Contains("lang"));

  // A status without violations: tracking with a wrong secret.
  Response filed = Do("POST", "/v1/complaints",
                      R"({"idempotency_key": "web-form-lang-01",
                          "report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_WEB",
                          "targetText": "Disdukcapil Kota Bogor",
                          "description": "Loket tutup sebelum jam layanan berakhir"})");
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string code = filed.Str("tracking_code");
  Response wrong = Do("POST", absl::StrCat("/v1/complaints/", code, ":track"),
                      R"({"secret": "not-the-secret"})");
  EXPECT_EQ(wrong.Str("message"),
            absl::StrCat("tidak ada pengaduan dengan kode pelacakan ", code, " dan rahasia ini"))
      << wrong.body;
  Response rate = Do("POST", absl::StrCat("/v1/complaints/", code, ":rate"),
                     absl::StrCat(R"({"secret": ")", filed.Str("secret"), R"(", "rating": 5})"));
  EXPECT_EQ(rate.status, 400) << rate.body;
  EXPECT_THAT(rate.Str("message"),
              HasSubstr("hanya dapat dilakukan pada status COMPLETED; pengaduan"))
      << rate.body;

  // The gate's own refusals too: the public calling an agency method.
  Response history = Do("GET", absl::StrCat("/v1/complaints/", code, "/history"));
  EXPECT_EQ(history.status, 401);
  EXPECT_THAT(history.Str("message"), HasSubstr("memerlukan kredensial")) << history.body;

  // Agency systems and operators read English unless they ask for Indonesian.
  Response admin_bad = Do("POST", "/v1/agencies", R"({"id": "X"})", Admin());
  EXPECT_EQ(admin_bad.status, 400) << admin_bad.body;
  EXPECT_EQ(admin_bad.Header("content-language"), "en");
  EXPECT_THAT(admin_bad.body, HasSubstr("is not a valid id"));
  std::map<std::string, std::string> admin_id = Admin();
  admin_id["accept-language"] = "id-ID,id;q=0.9";
  Response admin_in_id = Do("POST", "/v1/agencies", R"({"id": "X"})", admin_id);
  EXPECT_EQ(admin_in_id.Header("content-language"), "id");
  EXPECT_THAT(admin_in_id.body, HasSubstr("bukan id yang sah"));
}

TEST_F(RestE2eTest, RateLimitedCallerGets429WithRetryAfter) {
  const std::map<std::string, std::string> limited = {{"authorization", "Bearer limited-key"}};
  EXPECT_EQ(Do("GET", "/v1/agencies", "", limited).status, 200);
  EXPECT_EQ(Do("GET", "/v1/agencies", "", limited).status, 200);
  Response r = Do("GET", "/v1/agencies", "", limited);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.Str("status"), "RESOURCE_EXHAUSTED");
  int64_t seconds = 0;
  EXPECT_TRUE(absl::SimpleAtoi(r.Header("retry-after"), &seconds)) << r.Header("retry-after");
  EXPECT_GT(seconds, 0);
}

TEST_F(RestE2eTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Conn conn(rest_->port());
  Response a = conn.Do("GET", "/v1/agencies");
  Response b = conn.Do("GET", "/v1/agencies/nope");
  Response c = conn.Do("GET", "/v1/nothing");
  Response d = conn.Do("GET", "/v1/agencies?kind=NOPE");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(b.status, 404);
  EXPECT_EQ(c.status, 404);
  EXPECT_EQ(d.status, 400);
  EXPECT_NE(a.Header("x-request-id"), b.Header("x-request-id"));
  EXPECT_NE(a.Header("connection"), "close");
}

TEST_F(RestE2eTest, SlowClientIsDroppedAfterTheReadTimeout) {
  RawConn slow(rest_->port());
  slow.Send("GET /v1/agencies HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  const absl::Time start = absl::Now();
  EXPECT_TRUE(slow.ReadUntil([](const std::string&) { return false; }, absl::Seconds(10)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // A silent client too, and an idle keep-alive connection.
  RawConn silent(rest_->port());
  EXPECT_TRUE(silent.ReadUntil([](const std::string&) { return false; }, absl::Seconds(10)));
  // Others are served meanwhile and after.
  EXPECT_EQ(Do("GET", "/v1/agencies").status, 200);
}

TEST_F(RestE2eTest, ConnectionsBeyondTheLimitAreClosed) {
  rest_->Stop();
  RestOptions options;
  options.listen = "127.0.0.1:0";
  options.max_connections = 2;
  rest_ = std::make_unique<RestServer>(options, routes_.get(), proxy_.get(), channels_);
  ASSERT_TRUE(rest_->Start().ok());
  Conn a(rest_->port());
  Conn b(rest_->port());
  EXPECT_EQ(a.Do("GET", "/v1/agencies").status, 200);
  EXPECT_EQ(b.Do("GET", "/v1/agencies").status, 200);
  RawConn c(rest_->port());
  EXPECT_TRUE(c.ReadUntil([](const std::string&) { return false; }, absl::Seconds(5)));
  EXPECT_EQ(c.data(), "");
  EXPECT_EQ(a.Do("GET", "/v1/agencies").status, 200);  // the others are still served
}

TEST_F(RestE2eTest, CorsPreflightAndHeaders) {
  Response r = Do("OPTIONS", "/v1/agencies", "",
                  {{"origin", "https://dashboard.example.go.id"},
                   {"access-control-request-method", "POST"},
                   {"access-control-request-headers", "authorization, content-type"}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.Header("access-control-allow-origin"), "https://dashboard.example.go.id");
  EXPECT_THAT(r.Header("access-control-allow-methods"), HasSubstr("POST"));
  EXPECT_THAT(r.Header("access-control-allow-headers"), HasSubstr("authorization"));

  r = Do("OPTIONS", "/v1/agencies", "",
         {{"origin", "https://evil.example"}, {"access-control-request-method", "POST"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Header("access-control-allow-origin"), "");

  r = Do("GET", "/v1/agencies", "", {{"origin", "https://dashboard.example.go.id"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("access-control-allow-origin"), "https://dashboard.example.go.id");
  EXPECT_THAT(r.Header("access-control-expose-headers"), HasSubstr("x-request-id"));
  r = Do("GET", "/v1/agencies", "", {{"origin", "https://evil.example"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("access-control-allow-origin"), "");

  r = Do("OPTIONS", "/v1/nothing", "",
         {{"origin", "https://dashboard.example.go.id"}, {"access-control-request-method", "GET"}});
  EXPECT_EQ(r.status, 404);
}

// Watch opens a WatchStandards stream, waits for its headers, creates an agency and returns
// what arrived once the event is there.
std::string WatchAfterChange(RestE2eTest* test, int port, const std::string& accept,
                             const std::function<Response(const std::string&)>& create,
                             std::string* raw_out) {
  RawConn conn(port);
  conn.Send(absl::StrCat("GET /v1/standards:watch?entity_types=ENTITY_TYPE_AGENCY HTTP/1.1\r\n",
                         "Host: x\r\n", accept.empty() ? "" : "Accept: " + accept + "\r\n",
                         "\r\n"));
  EXPECT_FALSE(
      conn.ReadUntil([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; },
                     absl::Seconds(10)));
  EXPECT_EQ(create("kota-bogor").status, 201);
  conn.ReadUntil(
      [](const std::string& d) { return Dechunk(d).find("kota-bogor") != std::string::npos; },
      absl::Seconds(10));
  *raw_out = conn.data();
  conn.Close();
  return Dechunk(conn.data());
}

TEST_F(RestE2eTest, WatchStandardsOverNdjson) {
  std::string raw;
  const std::string body = WatchAfterChange(
      this, rest_->port(), "", [this](const std::string& id) { return CreateAgency(id); }, &raw);
  EXPECT_THAT(raw, HasSubstr("HTTP/1.1 200"));
  EXPECT_THAT(absl::AsciiStrToLower(raw), HasSubstr("content-type: application/x-ndjson"));
  EXPECT_THAT(absl::AsciiStrToLower(raw), HasSubstr("transfer-encoding: chunked"));
  EXPECT_THAT(absl::AsciiStrToLower(raw), HasSubstr("x-simpul-cursor:"));
  ASSERT_THAT(body, HasSubstr("kota-bogor"));
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct item;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &item).ok()) << line;
    EXPECT_TRUE(item.fields().count("event")) << line;
  }
}

TEST_F(RestE2eTest, WatchStandardsOverServerSentEvents) {
  std::string raw;
  const std::string body = WatchAfterChange(
      this, rest_->port(), "text/event-stream",
      [this](const std::string& id) { return CreateAgency(id); }, &raw);
  EXPECT_THAT(absl::AsciiStrToLower(raw), HasSubstr("content-type: text/event-stream"));
  ASSERT_THAT(body, HasSubstr("data: {\"event\":"));
  for (absl::string_view item : absl::StrSplit(body, "\n\n", absl::SkipEmpty())) {
    ASSERT_TRUE(absl::StartsWith(item, "data: ")) << item;
    google::protobuf::Struct parsed;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(item.substr(6)), &parsed).ok())
        << item;
  }
}

TEST_F(RestE2eTest, StreamErrorsAreJsonItemsOrHttpErrors) {
  // A cursor the feed does not know fails before any event: an HTTP error.
  Response r = Do("GET", "/v1/standards:watch?cursor=garbage");
  EXPECT_GE(r.status, 400) << r.body;
  EXPECT_FALSE(r.Str("status").empty()) << r.body;

  // A stream cut by the backend after its headers: a final error item.
  RawConn conn(rest_->port());
  conn.Send("GET /v1/standards:watch HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  ASSERT_FALSE(
      conn.ReadUntil([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; },
                     absl::Seconds(10)));
  registry_->Stop(SIGKILL, absl::Seconds(5));
  EXPECT_TRUE(conn.ReadUntil([](const std::string& d) { return false; }, absl::Seconds(10)));
  const std::string body = Dechunk(conn.data());
  EXPECT_THAT(body, HasSubstr("event: error\ndata: {\"code\":503,\"status\":\"UNAVAILABLE\""));
  EXPECT_THAT(conn.data(), HasSubstr("\r\n0\r\n\r\n"));  // the last chunk

  // And a unary call to the stopped backend is 503.
  r = Do("GET", "/v1/agencies/kota-bogor");
  EXPECT_EQ(r.status, 503) << r.body;
}

TEST_F(RestE2eTest, ClientDisconnectEndsTheStreamAndStopDrains) {
  {
    RawConn conn(rest_->port());
    conn.Send("GET /v1/standards:watch HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_FALSE(
        conn.ReadUntil([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; },
                       absl::Seconds(10)));
    conn.Close();
  }
  // An open stream and an idle connection do not hold up Stop.
  RawConn open(rest_->port());
  open.Send("GET /v1/standards:watch HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(
      open.ReadUntil([](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; },
                     absl::Seconds(10)));
  Conn idle(rest_->port());
  EXPECT_EQ(idle.Do("GET", "/v1/agencies").status, 200);
  const absl::Time start = absl::Now();
  rest_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_TRUE(open.ReadUntil([](const std::string&) { return false; }, absl::Seconds(5)));
  EXPECT_THAT(open.data(), HasSubstr("\r\n0\r\n\r\n"));
}

// Waits until `count()` is `want` (the leases go back on other threads).
bool WaitCount(const std::function<int()>& count, int want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (count() != want && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  return count() == want;
}

TEST_F(RestE2eTest, StreamCapsAnswer429AndEveryEndGivesThePlaceBack) {
  rest_->Stop();
  stream_limits_ =
      std::make_unique<StreamLimits>(StreamLimitOptions{.max_streams_per_principal = 10,
                                                        .max_public_streams = 2,
                                                        .max_streams_per_address = 100,
                                                        .max_connections_per_address = 0});
  RestOptions options;
  options.listen = "127.0.0.1:0";
  options.drain_timeout = absl::Seconds(1);
  options.stream_limits = stream_limits_.get();
  rest_ = std::make_unique<RestServer>(options, routes_.get(), proxy_.get(), channels_);
  ASSERT_TRUE(rest_->Start().ok());
  auto headers_in = [](const std::string& d) { return d.find("\r\n\r\n") != std::string::npos; };
  auto open_stream = [&](const std::string& extra) {
    auto conn = std::make_unique<RawConn>(rest_->port());
    conn->Send(absl::StrCat("GET /v1/standards:watch HTTP/1.1\r\nHost: x\r\n", extra, "\r\n"));
    EXPECT_FALSE(conn->ReadUntil(headers_in, absl::Seconds(10)));
    return conn;
  };
  std::unique_ptr<RawConn> s1 = open_stream("");
  std::unique_ptr<RawConn> s2 = open_stream("");
  EXPECT_THAT(s1->data(), HasSubstr("HTTP/1.1 200"));
  EXPECT_EQ(stream_limits_->streams(), 2);
  // Over the cap of anonymous callers: 429, Retry-After, the JSON error.
  Response refused = Do("GET", "/v1/standards:watch");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.Header("retry-after"), "1");
  EXPECT_EQ(refused.Str("status"), "RESOURCE_EXHAUSTED");
  EXPECT_THAT(refused.Str("message"),  // in Bahasa Indonesia: an anonymous caller
              HasSubstr("serentak dari pemanggil anonim (batas 2)"));
  // A key is counted apart from the anonymous callers.
  std::unique_ptr<RawConn> keyed = open_stream("authorization: Bearer admin-key\r\n");
  EXPECT_THAT(keyed->data(), HasSubstr("HTTP/1.1 200"));
  EXPECT_EQ(stream_limits_->streams(), 3);

  // The client goes away: its place goes back.
  s1->Close();
  EXPECT_TRUE(WaitCount([&] { return stream_limits_->streams(); }, 2));
  // The deadline passes.
  std::unique_ptr<RawConn> short_lived = open_stream("grpc-timeout: 300m\r\n");
  EXPECT_THAT(short_lived->data(), HasSubstr("HTTP/1.1 200"));
  EXPECT_TRUE(short_lived->ReadUntil([](const std::string&) { return false; }, absl::Seconds(5)));
  EXPECT_TRUE(WaitCount([&] { return stream_limits_->streams(); }, 2));
  // The gateway drains: every place goes back, connections too.
  rest_->Stop();
  EXPECT_EQ(stream_limits_->streams(), 0);
  EXPECT_TRUE(WaitCount([&] { return stream_limits_->connections(); }, 0));

  // The backend ends the streams.
  rest_ = std::make_unique<RestServer>(options, routes_.get(), proxy_.get(), channels_);
  ASSERT_TRUE(rest_->Start().ok());
  std::unique_ptr<RawConn> s3 = open_stream("");
  std::unique_ptr<RawConn> s4 = open_stream("authorization: Bearer admin-key\r\n");
  EXPECT_EQ(stream_limits_->streams(), 2);
  registry_->Stop(SIGKILL, absl::Seconds(5));
  EXPECT_TRUE(WaitCount([&] { return stream_limits_->streams(); }, 0));
}

TEST_F(RestE2eTest, ConnectionsOverThePerAddressCapAreClosedUnread) {
  rest_->Stop();
  stream_limits_ =
      std::make_unique<StreamLimits>(StreamLimitOptions{.max_connections_per_address = 2});
  RestOptions options;
  options.listen = "127.0.0.1:0";
  options.stream_limits = stream_limits_.get();
  rest_ = std::make_unique<RestServer>(options, routes_.get(), proxy_.get(), channels_);
  ASSERT_TRUE(rest_->Start().ok());
  Conn a(rest_->port());
  Conn b(rest_->port());
  EXPECT_EQ(a.Do("GET", "/v1/agencies").status, 200);
  EXPECT_EQ(b.Do("GET", "/v1/agencies").status, 200);
  EXPECT_EQ(stream_limits_->connections_from("127.0.0.1"), 2);
  const absl::Time start = absl::Now();
  RawConn c(rest_->port());
  c.Send("GET /v1/agencies HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(c.ReadUntil([](const std::string&) { return false; }, absl::Seconds(5)));
  EXPECT_EQ(c.data(), "");  // closed without an answer
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(a.Do("GET", "/v1/agencies").status, 200);  // the others are still served
  a.stream().close();
  EXPECT_TRUE(WaitCount([&] { return stream_limits_->connections_from("127.0.0.1"); }, 1));
  Conn d(rest_->port());
  EXPECT_EQ(d.Do("GET", "/v1/agencies").status, 200);
}

// PagingComplaints stands for a complaint service whose every ListComplaints page spent its
// scan budget without a match: an empty page and a token to go on, after `delay`.
class PagingComplaints final : public complaints::v1::Complaints::CallbackService {
 public:
  ~PagingComplaints() {
    while (active > 0) absl::SleepFor(absl::Milliseconds(5));
  }
  grpc::ServerUnaryReactor* ListComplaints(grpc::CallbackServerContext* ctx,
                                           const complaints::v1::ListComplaintsRequest* req,
                                           complaints::v1::ListComplaintsResponse* resp) override {
    const int n = ++calls;
    {
      absl::MutexLock lock(&mu);
      last_token = req->page().page_token();
    }
    resp->set_next_page_token(absl::StrCat("page-", n));
    auto* reactor = ctx->DefaultReactor();
    ++active;
    std::thread([this, ctx, reactor] {
      const absl::Time end = absl::Now() + delay;
      while (absl::Now() < end && !ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
      if (ctx->IsCancelled()) ++cancelled;
      reactor->Finish(ctx->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK);
      --active;
    }).detach();
    return reactor;
  }
  std::string LastToken() {
    absl::MutexLock lock(&mu);
    return last_token;
  }

  absl::Duration delay = absl::ZeroDuration();
  std::atomic<int> calls{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> active{0};
  absl::Mutex mu;
  std::string last_token ABSL_GUARDED_BY(mu);
};

class Open311BoundsTest : public RestE2eTest {
 protected:
  // StartOpen311 serves Open311 with the registry and `complaints_` behind it.
  void StartOpen311(absl::Duration timeout) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&complaints_);
    complaints_server_ = builder.BuildAndStart();
    ASSERT_NE(complaints_server_, nullptr);
    front_ = std::make_unique<Open311Front>(
        proxy_.get(), channels_["simpul.registry.v1.Registry"],
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()),
        Open311Front::Options{.timeout = timeout, .max_list_pages = 3});
    rest_->Stop();
    RestOptions options;
    options.listen = "127.0.0.1:0";
    options.default_timeout = absl::Seconds(30);
    options.open311 = front_.get();
    rest_ = std::make_unique<RestServer>(options, routes_.get(), proxy_.get(), channels_);
    ASSERT_TRUE(rest_->Start().ok());
  }
  void TearDown() override {
    if (rest_) rest_->Stop();
    if (complaints_server_) complaints_server_->Shutdown(std::chrono::system_clock::now());
    RestE2eTest::TearDown();
  }

  PagingComplaints complaints_;
  std::unique_ptr<grpc::Server> complaints_server_;
  std::unique_ptr<Open311Front> front_;
};

TEST_F(Open311BoundsTest, AListReadsABoundedNumberOfPagesAndSaysWhereToGoOn) {
  ASSERT_NO_FATAL_FAILURE(StartOpen311(absl::Seconds(10)));
  Response r = Do("GET", "/open311/v2/requests.json?status=open");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "[]");
  EXPECT_EQ(complaints_.calls.load(), 3);  // max_list_pages, not the whole index
  EXPECT_EQ(r.Header("x-simpul-next-page-token"), "page-3");
  // page_token goes on from there.
  r = Do("GET", "/open311/v2/requests.json?status=open&page_token=page-3");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(complaints_.calls.load(), 6);
  EXPECT_EQ(r.Header("x-simpul-next-page-token"), "page-6");
}

TEST_F(Open311BoundsTest, UnknownServiceCodeOrJurisdictionIs400) {
  ASSERT_NO_FATAL_FAILURE(StartOpen311(absl::Seconds(10)));
  ASSERT_EQ(CreateAgency("kota-bogor").status, 201);
  Response r = Do("GET", "/open311/v2/requests.json?service_code=no-such-service");
  EXPECT_EQ(r.status, 400) << r.body;
  ASSERT_EQ(r.Items(), 1) << r.body;
  EXPECT_EQ(r.ItemStr(0, "code"), "400");
  // Open311 answers in Bahasa Indonesia unless asked otherwise.
  EXPECT_THAT(r.ItemStr(0, "description"),
              HasSubstr("service_code: tidak ada layanan dengan kode ini"));
  r = Do("GET", "/open311/v2/requests.json?jurisdiction_id=nowhere&lang=en");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("jurisdiction_id: no jurisdiction"));
  r = Do("GET", "/open311/v2/requests.json?jurisdiction_id=Not%20A%20Slug");
  EXPECT_EQ(r.status, 400) << r.body;
  r = Do("GET", "/open311/v2/services.json?jurisdiction_id=nowhere");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(complaints_.calls.load(), 0);  // refused before any scan
  // A known jurisdiction is listed.
  r = Do("GET", "/open311/v2/requests.json?jurisdiction_id=kota-bogor");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(complaints_.calls.load(), 3);
}

TEST_F(Open311BoundsTest, OneDeadlineForTheWholeHttpCall) {
  ASSERT_NO_FATAL_FAILURE(StartOpen311(absl::Seconds(1)));
  complaints_.delay = absl::Milliseconds(400);  // 3 pages would take 1.2 s
  const absl::Time start = absl::Now();
  Response r = Do("GET", "/open311/v2/requests.json");
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_LT(took, absl::Milliseconds(1500));
  EXPECT_LE(complaints_.calls.load(), 3);  // the last one cut by the deadline
}

TEST_F(Open311BoundsTest, AClientThatGoesAwayCancelsTheBackendCalls) {
  ASSERT_NO_FATAL_FAILURE(StartOpen311(absl::Seconds(20)));
  complaints_.delay = absl::Seconds(10);
  {
    RawConn conn(rest_->port());
    conn.Send("GET /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\n\r\n");
    const absl::Time until = absl::Now() + absl::Seconds(5);
    while (complaints_.calls.load() < 1 && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_EQ(complaints_.calls.load(), 1);
    conn.Close();
  }
  const absl::Time until = absl::Now() + absl::Seconds(3);
  while (complaints_.cancelled.load() < 1 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(complaints_.cancelled.load(), 1);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(complaints_.calls.load(), 1);  // no further page was read
}

}  // namespace
}  // namespace simpul::gateway
