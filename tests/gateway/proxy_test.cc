// Tests of the gateway's gRPC proxy with in-process backends (simpul.testing.v1.TestService) on
// loopback: forwarding of unary and streaming calls as bytes, metadata in both directions,
// identity minted by the gateway, the gate (authentication, policy, request ids), error
// details, deadlines and cancellation, a backend stopped and restarted, and round-robin over
// replicas with health checking.
#include "gateway/proxy.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/redis.h"
#include "common/tsan_annotations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simpul/registry/v1/registry.pb.h"
#include "test_service.grpc.pb.h"
#include "tests/testing/local_identity.h"
#include "tests/testing/redis_server.h"

namespace simpul::gateway {
namespace {

namespace tv1 = ::simpul::testing::v1;
namespace rv1 = ::simpul::registry::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kService[] = "simpul.testing.v1.TestService";

constexpr char kPolicy[] = R"json({"rules": [
  {"methods": ["simpul.testing.v1.TestService/Count"], "roles": ["public", "channel"]},
  {"methods": ["simpul.testing.v1.TestService/*"], "roles": ["channel"]},
  {"methods": ["simpul.other.v1.Nowhere/*"], "roles": ["channel"]}
]})json";

// Backend is one replica of TestService: it records what it saw of each call.
class Backend final : public tv1::TestService::CallbackService {
 public:
  explicit Backend(std::string name) : name_(std::move(name)) {}

  grpc::ServerUnaryReactor* Sleep(grpc::CallbackServerContext* ctx, const tv1::SleepRequest* req,
                                  tv1::SleepResponse* resp) override {
    Record(ctx);
    ctx->AddInitialMetadata("x-backend", name_);
    ctx->AddTrailingMetadata("x-trailer", "t-" + name_);
    auto* reactor = ctx->DefaultReactor();
    const absl::Duration delay =
        absl::Seconds(req->delay().seconds()) + absl::Nanoseconds(req->delay().nanos());
    if (req->fail_code() != 0) {
      HandOffToGrpc(reactor);
      reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(req->fail_code()), "asked to fail",
                                   "details-bytes"));
      return reactor;
    }
    if (delay <= absl::ZeroDuration()) {
      HandOffToGrpc(reactor);
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
    ++sleepers;
    std::thread([this, ctx, reactor, resp, delay] {
      const absl::Time end = absl::Now() + delay;
      while (absl::Now() < end && !ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
      if (ctx->IsCancelled()) {
        resp->set_cancelled(true);
        HandOffToGrpc(reactor);
        reactor->Finish(grpc::Status::CANCELLED);
        ++cancelled;
      } else {
        HandOffToGrpc(reactor);
        reactor->Finish(grpc::Status::OK);
      }
      --sleepers;
    }).detach();
    return reactor;
  }

  grpc::ServerWriteReactor<tv1::CountResponse>* Count(grpc::CallbackServerContext* ctx,
                                                      const tv1::CountRequest* req) override {
    Record(ctx);
    class Writer final : public grpc::ServerWriteReactor<tv1::CountResponse> {
     public:
      Writer(grpc::CallbackServerContext* ctx, int count, const std::string& name) : count_(count) {
        ctx->AddInitialMetadata("x-cursor", "cursor-" + name);
        HandOffToGrpc(this);
        StartSendInitialMetadata();
        Next();
      }
      void OnWriteDone(bool ok) override {
        const GrpcCallback callback(this);
        if (!ok) {
          HandOffToGrpc(this);
          Finish(grpc::Status::CANCELLED);
          return;
        }
        Next();
      }
      void OnDone() override {
        ResumedFromGrpc(this);
        delete this;
      }

     private:
      void Next() {
        if (index_ >= count_) {
          HandOffToGrpc(this);
          Finish(grpc::Status::OK);
          return;
        }
        resp_.set_index(index_++);
        HandOffToGrpc(this);
        StartWrite(&resp_);
      }
      int count_;
      int index_ = 0;
      tv1::CountResponse resp_;
    };
    return new Writer(ctx, req->count(), name_);
  }

  struct Seen {
    std::multimap<std::string, std::string> metadata;
  };
  std::vector<Seen> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(seen_.size());
  }
  std::atomic<int> cancelled{0};
  std::atomic<int> sleepers{0};  // Sleep calls still waiting on their own thread

 private:
  void Record(grpc::CallbackServerContext* ctx) {
    Seen s;
    for (const auto& [k, v] : ctx->client_metadata()) {
      s.metadata.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
    absl::MutexLock lock(&mu_);
    seen_.push_back(std::move(s));
  }
  const std::string name_;
  absl::Mutex mu_;
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
};

// Replica runs a Backend on a fixed loopback port with grpc.health.v1.
struct Replica {
  Replica(std::string name, int port) : backend(std::move(name)), port(port) { Start(); }
  ~Replica() { Stop(); }
  void Start() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
    builder.RegisterService(&backend);
    server = builder.BuildAndStart();
    ASSERT_NE(server, nullptr);
    SetServing(true);
  }
  void SetServing(bool serving) {
    server->GetHealthCheckService()->SetServingStatus(kService, serving);
  }
  void Stop() {
    // Sleepers answer within their delay or at cancellation; wait for them (bounded).
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (backend.sleepers.load() > 0 && absl::Now() < until)
      absl::SleepFor(absl::Milliseconds(5));
    if (server) server->Shutdown(std::chrono::system_clock::now());
    server.reset();
  }
  Backend backend;
  int port;
  std::unique_ptr<grpc::Server> server;
};

// KeepAlive holds one callback server for the whole test binary. gRPC 1.51 runs callback
// reactors on a process-wide completion queue that it shuts down when the last server using it
// is destroyed; tests that create and destroy servers back to back raced that shutdown against
// the next test's start-up (an abort in grpc_cq_internal_unref). A server kept alive
// throughout keeps that queue up, as in a real process.
class KeepAlive final : public ::testing::Environment {
 public:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterCallbackGenericService(&generic_);
    server_ = builder.BuildAndStart();
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
  }

 private:
  grpc::CallbackGenericService generic_;
  std::unique_ptr<grpc::Server> server_;
};
const auto* const kKeepAlive = ::testing::AddGlobalTestEnvironment(new KeepAlive);

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Signs as the gateway, verifies as the test backend (its audience, from kService).
    signer_ = simpul::testing::LocalIdentityKeys(ServiceAudience(kService));
    auto policy = Policy::FromJson(kPolicy);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = std::make_unique<Policy>(*std::move(policy));
  }
  void TearDown() override {
    // The gateway first (its destructor waits for every call), then the tasks calls left on
    // the executor (audit appends), while the proxy they use still exists.
    if (gateway_) gateway_->Shutdown(std::chrono::system_clock::now());
    gateway_.reset();
    executor_.Shutdown();
  }

  // StartGateway proxies TestService to `target`.
  void StartGateway(const std::string& target, RateLimiter* limiter = nullptr,
                    const RateLimitConfig* limits = nullptr,
                    std::shared_ptr<grpc::ServerCredentials> credentials = nullptr,
                    const ClientCertificates* certificates = nullptr) {
    ProxyOptions options;
    options.client_certificates = certificates;
    options.audit = &audit_;
    options.rate_limiter = limiter;
    options.rate_limits = limits;
    options.executor = &executor_;
    options.backends[kService] = ChannelFor(target, kService, absl::Milliseconds(300));
    options.backends["simpul.other.v1.Nowhere"] =
        ChannelFor(absl::StrCat("127.0.0.1:", simpul::testing::PickFreePort()), "x");
    proxy_ = std::make_unique<GrpcProxy>(
        std::move(options), signer_.get(), policy_.get(),
        [](std::string_view token) -> absl::StatusOr<common::v1::Principal> {
          common::v1::Principal p;
          if (token == "channel-key") {
            p.set_subject("key:channel");
            p.set_role(common::v1::ROLE_CHANNEL);
            p.set_channel("sms-1708");
            return p;
          }
          if (token == "operator-key") {
            p.set_subject("key:operator");
            p.set_role(common::v1::ROLE_AGENCY_OPERATOR);
            p.set_agency_id("kota-bogor");
            return p;
          }
          if (token == "redis-down") return absl::UnavailableError("key store unreachable");
          return absl::UnauthenticatedError("unknown API key");
        },
        &metrics_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(
        "127.0.0.1:0", credentials != nullptr ? credentials : grpc::InsecureServerCredentials(),
        &port);
    builder.RegisterCallbackGenericService(proxy_.get());
    gateway_ = builder.BuildAndStart();
    ASSERT_NE(gateway_, nullptr);
    gateway_port_ = port;
    gateway_channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = tv1::TestService::NewStub(gateway_channel_);
  }

  grpc::Status Sleep(const std::string& token, const tv1::SleepRequest& req,
                     grpc::ClientContext* ctx = nullptr) {
    grpc::ClientContext local;
    if (ctx == nullptr) ctx = &local;
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    if (ctx == &local) ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    tv1::SleepResponse resp;
    return stub_->Sleep(ctx, req, &resp);
  }

  // FakeTrail keeps the records in memory.
  class FakeTrail final : public AuditTrail {
   public:
    absl::StatusOr<v1::AuditRecord> Append(v1::AuditRecord record) override {
      absl::MutexLock lock(&mu);
      record.set_sequence(static_cast<int64_t>(records.size()) + 1);
      records.push_back(record);
      return record;
    }
    absl::StatusOr<AuditPage> List(std::string_view, int, std::string_view) override {
      return absl::UnimplementedError("not in the fake");
    }
    std::vector<v1::AuditRecord> Records() {
      absl::MutexLock lock(&mu);
      return records;
    }
    absl::Mutex mu;
    std::vector<v1::AuditRecord> records ABSL_GUARDED_BY(mu);
  };

  // AuditRecords waits (bounded) until `n` records were appended (they are written on the
  // executor after the call ended).
  std::vector<v1::AuditRecord> AuditRecords(size_t n) {
    const absl::Time until = absl::Now() + absl::Seconds(5);
    while (audit_.Records().size() < n && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return audit_.Records();
  }

  Metrics metrics_;
  FakeTrail audit_;
  Executor executor_{4, 1000};
  std::unique_ptr<IdentitySigner> signer_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<GrpcProxy> proxy_;
  std::unique_ptr<grpc::Server> gateway_;
  std::shared_ptr<grpc::Channel> gateway_channel_;
  int gateway_port_ = 0;
  std::unique_ptr<tv1::TestService::Stub> stub_;
};

std::string Header(const std::multimap<grpc::string_ref, grpc::string_ref>& m,
                   const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "" : std::string(it->second.data(), it->second.size());
}

TEST_F(ProxyTest, UnaryCallsPassWithMetadataAndAMintedIdentity) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));

  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "req-123");
  ctx.AddMetadata("x-custom", "kept");
  ctx.AddMetadata("x-simpul-identity", "forged-token");
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status s = Sleep("channel-key", tv1::SleepRequest(), &ctx);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Header(ctx.GetServerInitialMetadata(), "x-request-id"), "req-123");
  EXPECT_EQ(Header(ctx.GetServerInitialMetadata(), "x-backend"), "a");
  EXPECT_EQ(Header(ctx.GetServerTrailingMetadata(), "x-trailer"), "t-a");

  ASSERT_EQ(replica.backend.calls(), 1);
  const auto seen = replica.backend.seen()[0].metadata;
  EXPECT_EQ(seen.count("authorization"), 0u) << "the caller's credentials stay at the gateway";
  EXPECT_EQ(seen.count("x-simpul-identity"), 1u) << "only the gateway's identity arrives";
  const std::string identity = seen.find("x-simpul-identity")->second;
  absl::StatusOr<common::v1::Principal> principal = signer_->Verify(identity, absl::Now());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->audience(), "simpul-testing") << "for the backend of the call only";
  EXPECT_EQ(principal->role(), common::v1::ROLE_CHANNEL);
  EXPECT_EQ(principal->channel(), "sms-1708");
  EXPECT_EQ(principal->subject(), "key:channel");
  EXPECT_EQ(seen.find("x-request-id")->second, "req-123");
  EXPECT_EQ(seen.find("x-custom")->second, "kept");

  // The same caller's next call carries the same token (TokenCache): no signing per call.
  grpc::ClientContext again;
  again.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ASSERT_TRUE(Sleep("channel-key", tv1::SleepRequest(), &again).ok());
  ASSERT_EQ(replica.backend.calls(), 2);
  const auto seen_again = replica.backend.seen()[1].metadata;
  ASSERT_EQ(seen_again.count("x-simpul-identity"), 1u);
  EXPECT_EQ(seen_again.find("x-simpul-identity")->second, identity);

  // The access log names the call with its request id.
  std::vector<std::string> lines;
  absl::Mutex lines_mu;
  SetLogSink([&](std::string_view line) {
    absl::MutexLock lock(&lines_mu);
    lines.emplace_back(line);
  });
  grpc::ClientContext logged;
  logged.AddMetadata("x-request-id", "req-logged");
  ASSERT_TRUE(Sleep("channel-key", tv1::SleepRequest(), &logged).ok());
  const absl::Time until = absl::Now() + absl::Seconds(5);
  bool found = false;
  while (!found && absl::Now() < until) {
    absl::MutexLock lock(&lines_mu);
    for (const std::string& line : lines) {
      found = found || (absl::StrContains(line, "\"request_id\":\"req-logged\"") &&
                        absl::StrContains(line, "\"code\":\"OK\"") &&
                        absl::StrContains(line, "\"subject\":\"key:channel\""));
    }
    if (!found) absl::SleepFor(absl::Milliseconds(5));
  }
  SetLogSink(nullptr);
  EXPECT_TRUE(found) << "no access log line for req-logged";

  // Without a request id (or with a malformed one) the gateway makes one.
  grpc::ClientContext ctx2;
  ctx2.AddMetadata("x-request-id", "bad id with spaces");
  ctx2.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ASSERT_TRUE(Sleep("channel-key", tv1::SleepRequest(), &ctx2).ok());
  const std::string generated = Header(ctx2.GetServerInitialMetadata(), "x-request-id");
  EXPECT_EQ(generated.size(), 32u);
  EXPECT_TRUE(ValidRequestId(generated));
  EXPECT_EQ(replica.backend.seen().back().metadata.find("x-request-id")->second, generated);
}

TEST(RequestIdTest, NewIdsAreDistinctHexFromManyThreads) {
  // Ids come from per-thread batches of CSPRNG bytes: across batches and threads none repeat.
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 500; ++i) ids.push_back(NewRequestId());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> seen;
  for (const auto& ids : per_thread) {
    for (const std::string& id : ids) {
      EXPECT_EQ(id.size(), 32u);
      EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
      EXPECT_TRUE(seen.insert(id).second) << "repeated id " << id;
    }
  }
}

TEST_F(ProxyTest, TheGateRefusesBeforeAnyBackendIsReached) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));
  // Public caller on a method that needs credentials.
  grpc::Status s = Sleep("", tv1::SleepRequest());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // The public reads Bahasa Indonesia (common/messages.h).
  EXPECT_THAT(s.error_message(), HasSubstr("memerlukan kredensial"));
  // A bad key is refused, not treated as public.
  EXPECT_EQ(Sleep("wrong-key", tv1::SleepRequest()).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext bad_scheme;
  bad_scheme.AddMetadata("authorization", "Basic abc");
  tv1::SleepResponse resp;
  EXPECT_EQ(stub_->Sleep(&bad_scheme, tv1::SleepRequest(), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A role the policy does not list.
  s = Sleep("operator-key", tv1::SleepRequest());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("agency_operator"));
  // The key store unreachable: UNAVAILABLE (retry), not a refusal.
  EXPECT_EQ(Sleep("redis-down", tv1::SleepRequest()).error_code(), grpc::StatusCode::UNAVAILABLE);
  // x-api-key works as well as a bearer token.
  grpc::ClientContext api_key;
  api_key.AddMetadata("x-api-key", "channel-key");
  EXPECT_TRUE(stub_->Sleep(&api_key, tv1::SleepRequest(), &resp).ok());
  EXPECT_EQ(replica.backend.calls(), 1) << "refused calls never reached the backend";
  // Each refusal is counted by its code; the key store's failure is a refusal too.
  const std::string text = metrics_.Exposition();
  EXPECT_THAT(text, HasSubstr("simpul_gateway_refused_total{code=\"UNAUTHENTICATED\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("simpul_gateway_refused_total{code=\"PERMISSION_DENIED\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("simpul_gateway_refused_total{code=\"UNAVAILABLE\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("simpul_gateway_refused_total{code=\"OK\"}")));

  // Public callers may stream Count (the policy says so).
  grpc::ClientContext count_ctx;
  tv1::CountRequest count;
  count.set_count(3);
  auto reader = stub_->Count(&count_ctx, count);
  tv1::CountResponse item;
  int n = 0;
  while (reader->Read(&item)) ++n;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(n, 3);
  EXPECT_EQ(replica.backend.seen().back().metadata.count("x-simpul-identity"), 0u)
      << "a public caller has no identity";
}

// CallGeneric calls `method` through the gateway with an empty request.
grpc::Status CallGeneric(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                         const std::string& token) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);  // an empty message
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

TEST_F(ProxyTest, UnknownServicesAreUnimplementedAndDownOnesUnavailable) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));
  grpc::Status s = CallGeneric(gateway_channel_, "/simpul.unknown.v1.X/Y", "channel-key");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(s.error_message(), HasSubstr("simpul.unknown.v1.X"));
  // A known service whose backend is not running.
  s = CallGeneric(gateway_channel_, "/simpul.other.v1.Nowhere/Do", "channel-key");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(replica.backend.calls(), 0);
}

TEST_F(ProxyTest, RefusalsAreInTheCallersLanguage) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));
  auto sleep_with = [&](const std::string& token, const std::string& accept_language) {
    grpc::ClientContext ctx;
    if (!accept_language.empty()) ctx.AddMetadata("accept-language", accept_language);
    return Sleep(token, tv1::SleepRequest(), &ctx);
  };
  // The public: Indonesian unless it asks for English.
  EXPECT_THAT(sleep_with("", "").error_message(),
              HasSubstr("memerlukan kredensial: kirim kunci API"));
  grpc::Status english = sleep_with("", "en-GB,en;q=0.8");
  EXPECT_THAT(english.error_message(), HasSubstr("needs credentials: send an API key"));
  // An agency operator: English unless it asks for Indonesian; the code never changes.
  grpc::Status operator_en = sleep_with("operator-key", "");
  EXPECT_EQ(operator_en.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(operator_en.error_message(), HasSubstr("the role agency_operator may not call"));
  grpc::Status operator_id = sleep_with("operator-key", "id");
  EXPECT_EQ(operator_id.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(operator_id.error_message(),
              HasSubstr("peran agency_operator tidak boleh memanggil"));
  // The refusal's details carry the same text as the message.
  common::v1::ErrorStatus details;
  ASSERT_TRUE(details.ParseFromString(operator_id.error_details()));
  EXPECT_EQ(details.message(), operator_id.error_message());
  EXPECT_EQ(replica.backend.calls(), 0);
}

TEST_F(ProxyTest, ErrorsKeepTheirCodeMessageAndDetails) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));
  tv1::SleepRequest req;
  req.set_fail_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer channel-key");
  tv1::SleepResponse resp;
  grpc::Status s = stub_->Sleep(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "asked to fail");
  EXPECT_EQ(s.error_details(), "details-bytes");
  EXPECT_EQ(Header(ctx.GetServerTrailingMetadata(), "x-trailer"), "t-a");
  EXPECT_FALSE(Header(ctx.GetServerInitialMetadata(), "x-request-id").empty());
}

TEST_F(ProxyTest, StreamsPassInOrderWithTheirInitialMetadataFirst) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer channel-key");
  tv1::CountRequest req;
  req.set_count(2000);
  auto reader = stub_->Count(&ctx, req);
  reader->WaitForInitialMetadata();
  EXPECT_EQ(Header(ctx.GetServerInitialMetadata(), "x-cursor"), "cursor-a");
  tv1::CountResponse item;
  int expected = 0;
  while (reader->Read(&item)) {
    ASSERT_EQ(item.index(), expected);
    ++expected;
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(expected, 2000);
}

TEST_F(ProxyTest, DeadlinesAndCancellationReachTheBackend) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));
  tv1::SleepRequest req;
  req.mutable_delay()->set_seconds(5);
  // The caller's deadline.
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(300)));
  const absl::Time start = absl::Now();
  grpc::Status s = Sleep("channel-key", req, &ctx);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(absl::Now() < start + absl::Seconds(3));
  // The backend saw its call end early (deadline propagated or cancelled).
  const absl::Time wait_until = absl::Now() + absl::Seconds(3);
  while (replica.backend.cancelled.load() < 1 && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(replica.backend.cancelled.load(), 1);

  // Cancellation by the caller.
  grpc::ClientContext cancel_ctx;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(200));
    cancel_ctx.TryCancel();
  });
  s = Sleep("channel-key", req, &cancel_ctx);
  canceller.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  const absl::Time wait2 = absl::Now() + absl::Seconds(3);
  while (replica.backend.cancelled.load() < 2 && absl::Now() < wait2) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(replica.backend.cancelled.load(), 2);
}

TEST_F(ProxyTest, ABackendDownIsUnavailableQuicklyAndTheGatewayRecovers) {
  const int port = simpul::testing::PickFreePort();
  auto replica = std::make_unique<Replica>("a", port);
  StartGateway(absl::StrCat("127.0.0.1:", port));
  ASSERT_TRUE(Sleep("channel-key", tv1::SleepRequest()).ok());
  replica->Stop();
  // Calls fail fast with UNAVAILABLE while it is down (after the channel notices).
  int unavailable = 0;
  absl::Duration slowest;
  for (int i = 0; i < 5; ++i) {
    const absl::Time start = absl::Now();
    grpc::Status s = Sleep("channel-key", tv1::SleepRequest());
    slowest = std::max(slowest, absl::Now() - start);
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) ++unavailable;
  }
  EXPECT_EQ(unavailable, 5);
  EXPECT_LT(slowest, absl::Seconds(2));
  // Back on the same port: the gateway finds it by itself.
  replica->Start();
  bool ok = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!ok && absl::Now() < deadline) {
    ok = Sleep("channel-key", tv1::SleepRequest()).ok();
    if (!ok) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(ok) << "the gateway did not recover within 10 s";
}

TEST_F(ProxyTest, ReplicasShareCallsAndAnUnhealthyOneGetsNone) {
  Replica a("a", simpul::testing::PickFreePort());
  Replica b("b", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", a.port, ",127.0.0.1:", b.port));
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Sleep("channel-key", tv1::SleepRequest()).ok());
  EXPECT_GE(a.backend.calls(), 10);
  EXPECT_GE(b.backend.calls(), 10);
  // b reports NOT_SERVING: after the health watch notices, every call goes to a.
  b.SetServing(false);
  absl::SleepFor(absl::Milliseconds(300));
  const int a_before = a.backend.calls();
  const int b_before = b.backend.calls();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Sleep("channel-key", tv1::SleepRequest()).ok());
  EXPECT_EQ(b.backend.calls(), b_before);
  EXPECT_EQ(a.backend.calls(), a_before + 20);
}

TEST_F(ProxyTest, MutatingAndRefusedCallsAreAudited) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));
  tv1::SleepRequest req;
  req.set_padding("request-bytes");
  grpc::ClientContext ok_ctx;
  ok_ctx.AddMetadata("x-request-id", "audit-1");
  ASSERT_TRUE(Sleep("channel-key", req, &ok_ctx).ok());
  EXPECT_EQ(Sleep("operator-key", req).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Sleep("", req).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Sleep("wrong-key", req).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  req.set_fail_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(Sleep("channel-key", req).error_code(), grpc::StatusCode::NOT_FOUND);

  std::vector<v1::AuditRecord> records = AuditRecords(5);
  ASSERT_EQ(records.size(), 5u);
  std::multiset<std::string> got;
  for (const auto& r : records) {
    got.insert(absl::StrCat(r.subject(), " ", r.outcome()));
    EXPECT_EQ(r.method(), "/simpul.testing.v1.TestService/Sleep");
    EXPECT_THAT(r.client_address(), HasSubstr("127.0.0.1"));
    EXPECT_EQ(r.request_sha256().size(), 32u);
    EXPECT_FALSE(r.request_id().empty());
  }
  EXPECT_EQ(got, (std::multiset<std::string>{"key:channel OK", "key:operator PERMISSION_DENIED",
                                             "public UNAUTHENTICATED", "public UNAUTHENTICATED",
                                             "key:channel NOT_FOUND"}));
  tv1::SleepRequest first;
  first.set_padding("request-bytes");
  for (const auto& r : records) {
    if (r.request_id() == "audit-1") {
      EXPECT_EQ(r.request_sha256(), AuditDigest(first.SerializeAsString()));
      EXPECT_EQ(r.role(), common::v1::ROLE_CHANNEL);
      EXPECT_EQ(r.channel(), "sms-1708");
    }
  }
  // Reads are not audited (by name: Get*, List*, Search*, Watch*, Track*, Rank*).
  EXPECT_FALSE(IsMutating("/simpul.registry.v1.Registry/GetAgency"));
  EXPECT_FALSE(IsMutating("/simpul.complaints.v1.Complaints/TrackComplaint"));
  EXPECT_FALSE(IsMutating("/simpul.monitoring.v1.Monitoring/Watch"));
  EXPECT_TRUE(IsMutating("/simpul.complaints.v1.Complaints/FileComplaint"));
  EXPECT_TRUE(IsMutating("/simpul.testing.v1.TestService/Sleep"));
}

TEST(ResourceOfTest, NamesTheResourceARequestIsAbout) {
  rv1::CreateAgencyRequest create;
  create.mutable_agency()->set_id("kota-bogor");
  EXPECT_EQ(ResourceOf("/simpul.registry.v1.Registry/CreateAgency", create.SerializeAsString()),
            "kota-bogor");
  rv1::UpdateStandardDraftRequest update;
  update.set_id("pbg-bogor.v2");
  update.set_expected_revision(3);
  EXPECT_EQ(
      ResourceOf("simpul.registry.v1.Registry/UpdateStandardDraft", update.SerializeAsString()),
      "pbg-bogor.v2");
  rv1::CreateServiceRequest service;
  service.mutable_service()->set_unit_id("dpmptsp-bogor");
  EXPECT_EQ(ResourceOf("/simpul.registry.v1.Registry/CreateService", service.SerializeAsString()),
            "dpmptsp-bogor");
  EXPECT_EQ(ResourceOf("/simpul.registry.v1.Registry/CreateService", "\xff\xff"), "");
  EXPECT_EQ(ResourceOf("/simpul.registry.v1.Registry/NoSuchMethod", ""), "");
  EXPECT_EQ(ResourceOf("/no.Such/Method", ""), "");
}

TEST_F(ProxyTest, RateLimitsPerKeyAndPerAddressWithRetryAfter) {
  auto redis = simpul::testing::RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  RedisOptions redis_options;
  redis_options.port = (*redis)->port();
  RedisPool pool(redis_options);
  auto limiter = RateLimiter::Create(&pool, {});
  ASSERT_TRUE(limiter.ok()) << limiter.status();
  auto limits = RateLimitConfig::Parse("channel=1/m burst 3; public=1/m burst 2");
  ASSERT_TRUE(limits.ok()) << limits.status();
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port), limiter->get(), &*limits);

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Sleep("channel-key", tv1::SleepRequest()).ok()) << i;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status s = Sleep("channel-key", tv1::SleepRequest(), &ctx);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("batas laju"));  // a channel reads Indonesian
  const std::string retry = Header(ctx.GetServerTrailingMetadata(), "retry-after");
  int retry_seconds = 0;
  ASSERT_TRUE(absl::SimpleAtoi(retry, &retry_seconds)) << retry;
  EXPECT_GE(retry_seconds, 19);  // one call per minute: the next in about 20 s
  EXPECT_LE(retry_seconds, 60);
  EXPECT_EQ(replica.backend.calls(), 3);

  // Public callers are limited per address, apart from the key's budget.
  auto count = [&] {
    grpc::ClientContext c;
    tv1::CountRequest req;
    req.set_count(1);
    auto reader = stub_->Count(&c, req);
    tv1::CountResponse item;
    while (reader->Read(&item)) {
    }
    return reader->Finish().error_code();
  };
  EXPECT_EQ(count(), grpc::StatusCode::OK);
  EXPECT_EQ(count(), grpc::StatusCode::OK);
  EXPECT_EQ(count(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ProxyTest, ManyConcurrentCallsAndLargeMessages) {
  Replica replica("a", simpul::testing::PickFreePort());
  StartGateway(absl::StrCat("127.0.0.1:", replica.port));
  // Until its health check first reports SERVING, the gateway's channel to the replica fails
  // calls at once (UNAVAILABLE): on a loaded machine that takes a few hundred milliseconds, so
  // wait for the first call to pass before the load.
  const absl::Time ready_by = absl::Now() + absl::Seconds(10);
  while (!Sleep("channel-key", tv1::SleepRequest()).ok() && absl::Now() < ready_by) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const int warm_up_calls = replica.backend.calls();
  ASSERT_EQ(warm_up_calls, 1) << "the replica never answered";
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        tv1::SleepRequest req;
        req.set_padding(std::string(i % 5 == 0 ? 1 << 20 : 100, 'x'));
        if (Sleep("channel-key", req).ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_EQ(replica.backend.calls(), 400 + warm_up_calls);
}

// Certificates made with the openssl command for the mTLS tests: a CA, the gateway's server
// certificate (127.0.0.1), a registered and an unregistered client certificate signed by the
// CA, and a self-signed one.
class Certificates {
 public:
  Certificates() : dir_(simpul::testing::MakeTempDir("gateway-certs")) {
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    Run(absl::StrCat("openssl req -x509 ", ec, " -keyout ca.key -out ca.pem -days 2 ",
                     "-subj '/CN=Simpul Test CA'"));
    Run("printf 'subjectAltName=IP:127.0.0.1' > san.ext");
    Run(absl::StrCat("openssl req ", ec, " -keyout server.key -out server.csr -subj '/CN=gw'"));
    Run("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext");
    for (const char* name : {"bogor", "stranger"}) {
      Run(absl::StrCat("openssl req ", ec, " -keyout ", name, ".key -out ", name,
                       ".csr -subj '/CN=", name, "'"));
      Run(absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ca.pem -CAkey ca.key ",
                       "-CAcreateserial -out ", name, ".pem -days 2"));
    }
    Run(absl::StrCat("openssl req -x509 ", ec, " -keyout rogue.key -out rogue.pem -days 2 ",
                     "-subj '/CN=rogue'"));
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Read(const std::string& name) const {
    std::ifstream in(Path(name));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // OpensslFingerprint is openssl's own SHA-256 fingerprint of a certificate ("AB:CD:...").
  std::string OpensslFingerprint(const std::string& name) const {
    const std::string out = Path(name + ".fp");
    Run(absl::StrCat("openssl x509 -noout -fingerprint -sha256 -in ", name, ".pem > ", out));
    std::string line = Read(name + ".fp");
    return line.substr(line.find('=') + 1, 95);
  }
  // Channel to the gateway presenting client certificate `name` ("" for none).
  std::shared_ptr<grpc::Channel> ChannelTo(int port, const std::string& name) const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read("ca.pem");
    if (!name.empty()) {
      options.pem_private_key = Read(name + ".key");
      options.pem_cert_chain = Read(name + ".pem");
    }
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(options));
  }

 private:
  void Run(const std::string& command) const {
    const std::string full = absl::StrCat("cd ", dir_, " && ", command, " 2>/dev/null");
    ASSERT_EQ(std::system(full.c_str()), 0) << full;
  }
  std::string dir_;
};

TEST(ClientCertificatesTest, FingerprintsAndTheMappingFile) {
  Certificates certs;
  absl::StatusOr<std::string> fp = CertificateFingerprint(certs.Read("bogor.pem"));
  ASSERT_TRUE(fp.ok()) << fp.status();
  EXPECT_EQ(*fp, absl::AsciiStrToLower(
                     absl::StrReplaceAll(certs.OpensslFingerprint("bogor"), {{":", ""}})));
  EXPECT_EQ(CertificateFingerprint("not a certificate").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string json = absl::StrCat(
      R"({"certificates": [{"sha256": ")", certs.OpensslFingerprint("bogor"),
      R"(", "label": "simbg-bogor", "principal": {"role": "ROLE_AGENCY_ADMIN", "agency_id": "kota-bogor"}}]})");
  absl::StatusOr<ClientCertificates> file = ClientCertificates::FromJson(json);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<common::v1::Principal> p = file->Lookup(certs.Read("bogor.pem"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->subject(), "cert:simbg-bogor");
  EXPECT_EQ(p->agency_id(), "kota-bogor");
  absl::StatusOr<common::v1::Principal> stranger = file->Lookup(certs.Read("stranger.pem"));
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(stranger.status().message()), HasSubstr("not registered"));
  // Bad entries are named.
  absl::StatusOr<ClientCertificates> bad = ClientCertificates::FromJson(
      R"({"certificates": [{"sha256": "abc", "principal": {"role": "ROLE_AGENCY_OPERATOR"}},
                            {"sha256": "00", "principal": {}},
                            {"sha256": "01", "principal": {"role": "ROLE_CHANNEL",
                                                           "channel": "sms"}}]})");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  for (const char* field :
       {"certificates[0].sha256", "certificates[0].principal.agency_id",
        "certificates[1].principal.role", "certificates[2].principal.scope_agency_ids"}) {
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(field));
  }
  EXPECT_EQ(TlsServerCredentials("/nonexistent.pem", "/nonexistent.key", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ProxyTest, MutualTlsMapsARegisteredClientCertificateToItsPrincipal) {
  Certificates certs;
  Replica replica("a", simpul::testing::PickFreePort());
  auto file = ClientCertificates::FromJson(absl::StrCat(
      R"({"certificates": [{"sha256": ")", certs.OpensslFingerprint("bogor"),
      R"(", "label": "sms-gw", "principal": {"role": "ROLE_CHANNEL", "channel": "sms-1708", )"
      R"("scopeAgencyIds": ["kota-bogor"]}}]})"));
  ASSERT_TRUE(file.ok()) << file.status();
  auto tls = TlsServerCredentials(certs.Path("server.pem"), certs.Path("server.key"),
                                  certs.Path("ca.pem"));
  ASSERT_TRUE(tls.ok()) << tls.status();
  StartGateway(absl::StrCat("127.0.0.1:", replica.port), nullptr, nullptr, *tls, &*file);

  auto sleep_via = [&](const std::shared_ptr<grpc::Channel>& channel, const std::string& key) {
    auto stub = tv1::TestService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + key);
    tv1::SleepResponse resp;
    return stub->Sleep(&ctx, tv1::SleepRequest(), &resp);
  };
  // The registered certificate acts as its channel, without any key.
  grpc::Status s = sleep_via(certs.ChannelTo(gateway_port_, "bogor"), "");
  ASSERT_TRUE(s.ok()) << s.error_message();
  const auto seen = replica.backend.seen().back().metadata;
  absl::StatusOr<common::v1::Principal> principal =
      signer_->Verify(seen.find("x-simpul-identity")->second, absl::Now());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->subject(), "cert:sms-gw");
  EXPECT_EQ(principal->role(), common::v1::ROLE_CHANNEL);
  EXPECT_THAT(principal->scope_agency_ids(), ElementsAre("kota-bogor"));
  // A certificate the CA signed but the file does not list.
  s = sleep_via(certs.ChannelTo(gateway_port_, "stranger"), "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("not registered"));
  // An API key still works over TLS, and takes precedence over the certificate.
  s = sleep_via(certs.ChannelTo(gateway_port_, "stranger"), "channel-key");
  EXPECT_TRUE(s.ok()) << s.error_message();
  // No certificate: a public caller.
  s = sleep_via(certs.ChannelTo(gateway_port_, ""), "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("memerlukan kredensial"));
  // A certificate the CA did not sign never gets through the handshake.
  s = sleep_via(certs.ChannelTo(gateway_port_, "rogue"), "channel-key");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  // Plaintext is refused on a TLS port.
  s = sleep_via(gateway_channel_, "channel-key");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(replica.backend.calls(), 2);
}

}  // namespace
}  // namespace simpul::gateway
