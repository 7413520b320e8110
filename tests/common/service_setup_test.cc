// Tests of common/service_setup: the registry address a service calls, a single host:port or a
// list of replicas (KeepaliveChannel spreads calls over the replicas that answer).
#include "common/service_setup.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"

namespace simpul {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

TEST(ValidateServiceAddressesTest, AcceptsOneAddressOrAListOfIpv4Replicas) {
  EXPECT_TRUE(ValidateServiceAddresses("127.0.0.1:7101").ok());
  EXPECT_TRUE(ValidateServiceAddresses("registry.internal:7101").ok());
  EXPECT_TRUE(ValidateServiceAddresses("[::1]:7101").ok());
  EXPECT_TRUE(ValidateServiceAddresses("127.0.0.1:7101,127.0.0.1:7201").ok());
}

TEST(ValidateServiceAddressesTest, RejectsMalformedAddressesNamingThePart) {
  for (const char* bad : {"", "7101", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000",
                          "127.0.0.1:71x", "127.0.0.1:7101,", "127.0.0.1:7101,,127.0.0.1:7201"}) {
    absl::Status s = ValidateServiceAddresses(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::Status names = ValidateServiceAddresses("127.0.0.1:7101,registry-2:7201");
  EXPECT_EQ(names.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(names.message(), ::testing::HasSubstr("\"registry-2\" is not one"));
}

// FixedHealth answers every Check with one status, so that a caller can tell which replica
// answered.
class FixedHealth final : public grpc::health::v1::Health::CallbackService {
 public:
  explicit FixedHealth(HealthCheckResponse::ServingStatus status) : status_(status) {}
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const HealthCheckRequest*,
                                  HealthCheckResponse* response) override {
    response->set_status(status_);
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const HealthCheckResponse::ServingStatus status_;
};

// Replica is a loopback server on a free port answering Check with `status`.
struct Replica {
  explicit Replica(HealthCheckResponse::ServingStatus status) : health(status) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&health);
    server = builder.BuildAndStart();
  }
  FixedHealth health;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

std::string Probe(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest request;
  request.set_service("probe");
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) return absl::StrCat("error ", status.error_code());
  return HealthCheckResponse::ServingStatus_Name(response.status());
}

TEST(KeepaliveChannelTest, AListOfReplicasSpreadsCallsOverThoseThatAnswer) {
  Replica a(HealthCheckResponse::SERVING);
  Replica b(HealthCheckResponse::NOT_SERVING);
  ASSERT_NE(a.port, 0);
  ASSERT_NE(b.port, 0);
  std::string list = absl::StrCat("127.0.0.1:", a.port, ",127.0.0.1:", b.port);
  ASSERT_TRUE(ValidateServiceAddresses(list).ok());
  std::shared_ptr<grpc::Channel> channel = KeepaliveChannel(list, nullptr, "");
  ASSERT_TRUE(
      channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5)));
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) seen.insert(Probe(channel));
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre("SERVING", "NOT_SERVING"));

  // One replica gone (its port closed): every call reaches the other one.
  b.server->Shutdown();
  b.server->Wait();
  absl::SleepFor(absl::Milliseconds(200));  // the client sees the connection close
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Probe(channel), "SERVING") << "call " << i;
  }
  a.server->Shutdown();
}

TEST(KeepaliveChannelTest, ADeadFirstReplicaIsSkipped) {
  Replica live(HealthCheckResponse::SERVING);
  std::string list = absl::StrCat("127.0.0.1:", testing::PickFreePort(), ",127.0.0.1:", live.port);
  std::shared_ptr<grpc::Channel> channel = KeepaliveChannel(list, nullptr, "");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Probe(channel), "SERVING") << "call " << i;
  }
  live.server->Shutdown();
}

}  // namespace
}  // namespace simpul
