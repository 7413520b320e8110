#include "common/server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/admin_http.h"
#include "common/executor.h"
#include "common/tsan_annotations.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "test_service.grpc.pb.h"

namespace simpul {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::simpul::testing::v1::CountRequest;
using ::simpul::testing::v1::CountResponse;
using ::simpul::testing::v1::SleepRequest;
using ::simpul::testing::v1::SleepResponse;
using ::simpul::testing::v1::TestService;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kServiceName[] = "simpul.testing.v1.TestService";

// TestServiceImpl sleeps on an executor (never on the callback thread) and streams counts.
class TestServiceImpl final : public TestService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Sleep(grpc::CallbackServerContext* ctx, const SleepRequest* request,
                                  SleepResponse* response) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    started_.fetch_add(1);
    bool queued = executor_.Submit([this, ctx, request, response, reactor] {
      absl::Time until = absl::Now() + absl::Seconds(request->delay().seconds()) +
                         absl::Nanoseconds(request->delay().nanos());
      while (absl::Now() < until && !ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
      response->set_cancelled(ctx->IsCancelled());
      if (ctx->IsCancelled()) cancelled_.fetch_add(1);
      HandOffToGrpc(reactor);
      reactor->Finish(request->fail_code() == 0
                          ? grpc::Status::OK
                          : grpc::Status(static_cast<grpc::StatusCode>(request->fail_code()),
                                         "failure requested"));
    });
    HandOffToGrpc(reactor);
    if (!queued) reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "busy"));
    return reactor;
  }

  grpc::ServerWriteReactor<CountResponse>* Count(grpc::CallbackServerContext* ctx,
                                                 const CountRequest* request) override {
    class Writer final : public grpc::ServerWriteReactor<CountResponse> {
     public:
      explicit Writer(int count) : count_(count) { Next(); }
      void OnWriteDone(bool ok) override {
        const GrpcCallback callback(this);
        if (!ok) {
          HandOffToGrpc(this);
          Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
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
        if (index_ == count_) {
          HandOffToGrpc(this);
          Finish(grpc::Status::OK);
          return;
        }
        response_.set_index(index_++);
        HandOffToGrpc(this);
        StartWrite(&response_);
      }
      const int count_;
      int index_ = 0;
      CountResponse response_;
    };
    return new Writer(request->count());
  }

  int started() const { return started_.load(); }
  int cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<int> started_{0};
  std::atomic<int> cancelled_{0};
  Executor executor_{4, 64};
};

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string body;
};

// HttpGetAll sends each target on one keep-alive connection and returns the responses.
std::vector<HttpResult> HttpGetAll(int port, const std::vector<std::string>& targets,
                                   http::verb verb = http::verb::get) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
  beast::flat_buffer buffer;
  std::vector<HttpResult> results;
  for (const std::string& target : targets) {
    http::request<http::empty_body> req(verb, target, 11);
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    results.push_back({static_cast<int>(res.result_int()),
                       std::string(res[http::field::content_type]), res.body()});
  }
  return results;
}

HttpResult HttpGet(int port, const std::string& target) { return HttpGetAll(port, {target})[0]; }

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

class ServiceHostTest : public ::testing::Test {
 protected:
  ServiceHostOptions Options() {
    ServiceHostOptions options;
    options.listen_address = "127.0.0.1:0";
    options.admin_address = "127.0.0.1:0";
    options.service_name = kServiceName;
    options.drain_timeout = absl::Seconds(10);
    options.readiness_interval = absl::Milliseconds(20);
    return options;
  }

  void StartHost(ServiceHostOptions options, bool with_check = true) {
    host_ = std::make_unique<ServiceHost>(std::move(options), &metrics_);
    host_->AddService(&service_);
    if (with_check) {
      host_->SetReadinessCheck([this] {
        return ready_.load() ? absl::OkStatus() : absl::UnavailableError("redis unreachable");
      });
    }
    absl::Status status = host_->Start();
    ASSERT_TRUE(status.ok()) << status;
    ASSERT_GT(host_->port(), 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  // HealthOf returns the serving status of `service`, or the failed call's code negated.
  int HealthOf(const std::string& service) {
    auto stub = Health::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = stub->Check(&ctx, request, &response);
    if (!status.ok()) return -static_cast<int>(status.error_code());
    ++health_ok_calls_;
    return response.status();
  }

  grpc::Status CallSleep(absl::Duration delay, int fail_code, SleepResponse* response,
                         size_t padding = 0) {
    auto stub = TestService::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    SleepRequest request;
    request.mutable_delay()->set_seconds(absl::ToInt64Seconds(delay));
    request.mutable_delay()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(delay % absl::Seconds(1))));
    request.set_fail_code(fail_code);
    request.set_padding(std::string(padding, 'p'));
    return stub->Sleep(&ctx, request, response);
  }

  Metrics metrics_;
  TestServiceImpl service_;
  std::atomic<bool> ready_{false};
  int health_ok_calls_ = 0;
  std::unique_ptr<ServiceHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ServiceHostTest, HealthAndReadyzFollowTheReadinessCheck) {
  StartHost(Options());
  EXPECT_EQ(HealthOf(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(kServiceName), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HttpGet(host_->admin_port(), "/readyz").status, 503);
  EXPECT_EQ(HealthOf("no.such.Service"), -static_cast<int>(grpc::StatusCode::NOT_FOUND));

  ready_ = true;
  EXPECT_TRUE(WaitFor([&] { return HealthOf(kServiceName) == HealthCheckResponse::SERVING; }));
  EXPECT_EQ(HealthOf(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(HttpGet(host_->admin_port(), "/readyz").status, 200);

  ready_ = false;
  EXPECT_TRUE(WaitFor([&] { return HealthOf(kServiceName) == HealthCheckResponse::NOT_SERVING; }));
  EXPECT_EQ(HealthOf(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HttpGet(host_->admin_port(), "/readyz").status, 503);
}

TEST_F(ServiceHostTest, WithoutReadinessCheckServesAtOnce) {
  StartHost(Options(), /*with_check=*/false);
  EXPECT_TRUE(WaitFor([&] { return HealthOf(kServiceName) == HealthCheckResponse::SERVING; }));
  EXPECT_EQ(HealthOf(""), HealthCheckResponse::SERVING);
}

TEST_F(ServiceHostTest, AdminEndpoints) {
  StartHost(Options());
  ASSERT_GT(host_->admin_port(), 0);
  EXPECT_NE(host_->admin_port(), host_->port());
  std::vector<HttpResult> results =
      HttpGetAll(host_->admin_port(), {"/healthz", "/nope", "/metrics", "/healthz?verbose=1"});
  ASSERT_EQ(results.size(), 4u);  // all four on one keep-alive connection
  EXPECT_EQ(results[0].status, 200);
  EXPECT_EQ(results[0].body, "ok\n");
  EXPECT_EQ(results[1].status, 404);
  EXPECT_EQ(results[2].status, 200);
  EXPECT_EQ(results[2].content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(results[3].status, 200);
  EXPECT_EQ(HttpGetAll(host_->admin_port(), {"/metrics"}, http::verb::post)[0].status, 405);
}

TEST_F(ServiceHostTest, MetricsCountCallsByMethodAndCode) {
  ready_ = true;
  StartHost(Options());
  ASSERT_TRUE(WaitFor([&] { return HealthOf("") == HealthCheckResponse::SERVING; }));
  EXPECT_EQ(HealthOf("no.such.Service"), -static_cast<int>(grpc::StatusCode::NOT_FOUND));
  SleepResponse response;
  EXPECT_TRUE(CallSleep(absl::Milliseconds(1), 0, &response).ok());
  EXPECT_EQ(
      CallSleep(absl::Milliseconds(1), static_cast<int>(grpc::StatusCode::NOT_FOUND), &response)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  {
    auto stub = TestService::NewStub(channel_);
    grpc::ClientContext ctx;
    CountRequest request;
    request.set_count(3);
    auto reader = stub->Count(&ctx, request);
    CountResponse item;
    int n = 0;
    while (reader->Read(&item)) EXPECT_EQ(item.index(), n++);
    EXPECT_EQ(n, 3);
    EXPECT_TRUE(reader->Finish().ok());
  }

  HttpResult metrics = HttpGet(host_->admin_port(), "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string& text = metrics.body;
  EXPECT_THAT(text, HasSubstr("# TYPE simpul_grpc_server_handled_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE simpul_grpc_server_handling_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("simpul_grpc_server_handled_total{method=\"/"
                                           "grpc.health.v1.Health/Check\",code=\"OK\"} ",
                                           health_ok_calls_, "\n")));
  EXPECT_THAT(text, HasSubstr("simpul_grpc_server_handled_total{method=\"/grpc.health.v1.Health/"
                              "Check\",code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("simpul_grpc_server_handled_total{method=\"/simpul.testing.v1."
                              "TestService/Sleep\",code=\"OK\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("simpul_grpc_server_handled_total{method=\"/simpul.testing.v1."
                              "TestService/Sleep\",code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("simpul_grpc_server_handled_total{method=\"/simpul.testing.v1."
                              "TestService/Count\",code=\"OK\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("simpul_grpc_server_handling_seconds_count{method=\"/"
                              "simpul.testing.v1.TestService/Sleep\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("simpul_grpc_server_handling_seconds_bucket{method=\"/"
                              "simpul.testing.v1.TestService/Count\",le=\"+Inf\"} 1\n"));
  // The series of the other status codes, resolved with the method's first call, are exported
  // only once a call ends with that code.
  EXPECT_THAT(text, Not(HasSubstr("TestService/Count\",code=\"CANCELLED\"}")));
  EXPECT_THAT(text, Not(HasSubstr("TestService/Sleep\",code=\"INTERNAL\"}")));
}

TEST_F(ServiceHostTest, RequestsOverFourMebibytesAreRejected) {
  StartHost(Options());
  SleepResponse response;
  EXPECT_TRUE(CallSleep(absl::ZeroDuration(), 0, &response, 4 * 1024 * 1024 - 64).ok());
  EXPECT_EQ(CallSleep(absl::ZeroDuration(), 0, &response, 4 * 1024 * 1024 + 1).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ServiceHostTest, ReflectionListsServices) {
  StartHost(Options());
  grpc::GenericStub stub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto expect_next = [&cq](intptr_t tag) {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(got), tag);
    return ok;
  };
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(expect_next(1));
  // A ServerReflectionRequest with list_services = "" (field 7, length-delimited).
  grpc::Slice request_slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&request_slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(expect_next(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(expect_next(3));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(4));
  ASSERT_TRUE(expect_next(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  expect_next(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  void* ignored_tag;
  bool ignored_ok;
  while (cq.Next(&ignored_tag, &ignored_ok)) {
  }

  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr(kServiceName));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));
}

TEST_F(ServiceHostTest, ShutdownWaitsForInFlightCall) {
  ready_ = true;
  StartHost(Options());
  ASSERT_TRUE(WaitFor([&] { return HealthOf("") == HealthCheckResponse::SERVING; }));
  const int admin_port = host_->admin_port();

  grpc::Status call_status;
  SleepResponse response;
  std::thread caller([&] { call_status = CallSleep(absl::Milliseconds(600), 0, &response); });
  ASSERT_TRUE(WaitFor([&] { return service_.started() == 1; }));
  absl::Time start = absl::Now();
  host_->Shutdown();
  absl::Duration took = absl::Now() - start;
  caller.join();

  EXPECT_TRUE(call_status.ok()) << call_status.error_message();
  EXPECT_FALSE(response.cancelled());
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(5));

  // The server no longer answers, and the admin port is closed.
  EXPECT_LT(HealthOf(""), 0);
  EXPECT_THROW(HttpGet(admin_port, "/healthz"), boost::system::system_error);
  host_->Shutdown();  // idempotent
}

TEST_F(ServiceHostTest, ShutdownCancelsCallsAfterDrainTimeout) {
  ServiceHostOptions options = Options();
  options.drain_timeout = absl::Milliseconds(200);
  StartHost(options);

  grpc::Status call_status;
  SleepResponse response;
  std::thread caller([&] { call_status = CallSleep(absl::Seconds(20), 0, &response); });
  ASSERT_TRUE(WaitFor([&] { return service_.started() == 1; }));
  absl::Time start = absl::Now();
  host_->Shutdown();
  absl::Duration took = absl::Now() - start;
  caller.join();

  EXPECT_GE(took, absl::Milliseconds(150));
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_FALSE(call_status.ok());
  EXPECT_EQ(service_.cancelled(), 1);

  // The cancelled call still counts, as CANCELLED.
  EXPECT_THAT(metrics_.Exposition(),
              HasSubstr("simpul_grpc_server_handled_total{method=\"/simpul.testing.v1."
                        "TestService/Sleep\",code=\"CANCELLED\"} 1\n"));
}

TEST_F(ServiceHostTest, BadAdminAddressFailsStart) {
  ServiceHostOptions options = Options();
  options.admin_address = "127.0.0.1:notaport";
  ServiceHost host(options, &metrics_);
  absl::Status status = host.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:notaport"));
}

TEST_F(ServiceHostTest, BadListenAddressFailsStart) {
  ServiceHostOptions options = Options();
  options.listen_address = "256.1.1.1:0";
  ServiceHost host(options, &metrics_);
  EXPECT_EQ(host.Start().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ServiceHostTest, NoAdminAddressMeansNoAdminPort) {
  ServiceHostOptions options = Options();
  options.admin_address.clear();
  StartHost(options);
  EXPECT_EQ(host_->admin_port(), 0);
}

TEST_F(ServiceHostTest, TerminationSignalShutsDown) {
  BlockTerminationSignals();
  StartHost(Options());
  absl::Notification returned;
  std::thread waiter([&] {
    host_->WaitForTerminationSignal();
    returned.Notify();
  });
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  pthread_kill(waiter.native_handle(), SIGTERM);
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(10)));
  waiter.join();
  EXPECT_LT(HealthOf(""), 0);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

TEST(AdminHttpServerTest, StandaloneStartStop) {
  Metrics metrics;
  metrics.Set("simpul_up", {}, 1);
  std::atomic<bool> ready{true};
  AdminHttpServer admin(&metrics, [&ready] { return ready.load(); });
  ASSERT_TRUE(admin.Start("localhost:0").ok());
  ASSERT_GT(admin.port(), 0);
  EXPECT_EQ(admin.Start("127.0.0.1:0").code(), absl::StatusCode::kFailedPrecondition);
  HttpResult metrics_page = HttpGet(admin.port(), "/metrics");
  EXPECT_THAT(metrics_page.body, HasSubstr("simpul_up 1\n"));
  EXPECT_EQ(HttpGet(admin.port(), "/readyz").status, 200);
  ready = false;
  EXPECT_EQ(HttpGet(admin.port(), "/readyz").status, 503);

  // An idle keep-alive connection does not hold up Stop.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket idle(ioc);
  idle.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(admin.port())});
  absl::Time start = absl::Now();
  admin.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  char byte;
  boost::system::error_code ec;
  idle.read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);  // closed by the server
  admin.Stop();
}

TEST(AdminHttpServerTest, PortInUseFails) {
  AdminHttpServer first(nullptr, [] { return true; });
  ASSERT_TRUE(first.Start("127.0.0.1:0").ok());
  AdminHttpServer second(nullptr, [] { return true; });
  absl::Status status = second.Start(absl::StrCat("127.0.0.1:", first.port()));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpGet(first.port(), "/metrics").body, "");
}

}  // namespace
}  // namespace simpul
