// Unit tests of StreamLimits (gateway/stream_limits.h): the per-key, public, per-address and
// connection caps, their refusals (RESOURCE_EXHAUSTED naming the cap and limit, retry-after,
// the refusal metric), and leases going back when destroyed, moved or released.
#include "gateway/stream_limits.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "common/identity.h"
#include "common/metrics.h"
#include "gateway/policy.h"
#include "gateway/proxy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_service.grpc.pb.h"
#include "tests/testing/local_identity.h"
#include "tests/testing/status_matchers.h"

namespace simpul::gateway {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::HasSubstr;

common::v1::Principal Key(const std::string& subject) {
  common::v1::Principal p;
  p.set_role(common::v1::ROLE_DASHBOARD);
  p.set_subject(subject);
  return p;
}
common::v1::Principal Public() { return common::v1::Principal(); }

TEST(StreamLimitsTest, AddressOfPeers) {
  EXPECT_EQ(StreamLimits::AddressOf("ipv4:10.1.2.3:5555"), "10.1.2.3");
  EXPECT_EQ(StreamLimits::AddressOf("ipv6:[::1]:5555"), "::1");
  EXPECT_EQ(StreamLimits::AddressOf("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(StreamLimits::AddressOf("unix:/tmp/s"), "unix:/tmp/s");
}

TEST(StreamLimitsTest, PerKeyCapRefusesThenAdmitsAfterRelease) {
  Metrics metrics;
  StreamLimits limits(
      StreamLimitOptions{
          .max_streams_per_principal = 3, .max_public_streams = 0, .max_streams_per_address = 0},
      &metrics);
  std::vector<StreamLimits::Lease> held;
  for (int i = 0; i < 3; ++i) {
    auto lease = limits.AcquireStream(Key("key:a"), "ipv4:10.0.0.1:1000");
    ASSERT_THAT(lease, IsOk());
    held.push_back(*std::move(lease));
  }
  auto refused = limits.AcquireStream(Key("key:a"), "ipv4:10.0.0.2:1000");
  EXPECT_THAT(refused.status(), StatusIs(absl::StatusCode::kResourceExhausted,
                                         HasSubstr("streams for this API key (limit 3)")));
  EXPECT_EQ(refused.status().GetPayload("retry-after").value_or(absl::Cord()), "1");
  // Another key is not affected.
  auto other = limits.AcquireStream(Key("key:b"), "ipv4:10.0.0.1:1000");
  EXPECT_THAT(other, IsOk());
  EXPECT_EQ(limits.streams_of(Key("key:a")), 3);
  EXPECT_EQ(limits.streams(), 4);
  held.pop_back();  // one stream ends
  EXPECT_EQ(limits.streams_of(Key("key:a")), 2);
  EXPECT_THAT(limits.AcquireStream(Key("key:a"), "ipv4:10.0.0.1:1000"), IsOk());
  // (that lease was a temporary: back at once)
  EXPECT_EQ(limits.streams_of(Key("key:a")), 2);
  held.clear();
  other->Release();
  other->Release();  // idempotent
  EXPECT_EQ(limits.streams(), 0);
  EXPECT_EQ(limits.streams_from("10.0.0.1"), 0);
  EXPECT_THAT(metrics.Exposition(),
              HasSubstr("simpul_gateway_stream_refusals_total{cap=\"principal\"} 1"));
}

TEST(StreamLimitsTest, PublicAndAddressCaps) {
  StreamLimits limits(StreamLimitOptions{
      .max_streams_per_principal = 100, .max_public_streams = 3, .max_streams_per_address = 2});
  auto a1 = limits.AcquireStream(Public(), "ipv4:10.0.0.1:1");
  auto a2 = limits.AcquireStream(Public(), "ipv4:10.0.0.1:2");
  ASSERT_THAT(a1, IsOk());
  ASSERT_THAT(a2, IsOk());
  EXPECT_THAT(limits.AcquireStream(Public(), "ipv4:10.0.0.1:3").status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("streams from the address 10.0.0.1 (limit 2)")));
  // A key from the same address is held to the address cap too.
  EXPECT_THAT(limits.AcquireStream(Key("key:a"), "ipv4:10.0.0.1:4").status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  auto b1 = limits.AcquireStream(Public(), "ipv6:[fd00::1]:1");
  ASSERT_THAT(b1, IsOk());
  EXPECT_THAT(limits.AcquireStream(Public(), "ipv4:10.0.0.9:1").status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("streams from anonymous callers (limit 3)")));
  EXPECT_EQ(limits.streams_of(Public()), 3);
  // A moved lease is counted once and given back once.
  StreamLimits::Lease moved = *std::move(a1);
  StreamLimits::Lease again = std::move(moved);
  EXPECT_EQ(limits.streams(), 3);
  again = StreamLimits::Lease();
  EXPECT_EQ(limits.streams(), 2);
  a2->Release();
  b1->Release();
  EXPECT_EQ(limits.streams(), 0);
}

TEST(StreamLimitsTest, ConnectionsPerAddress) {
  StreamLimits limits(StreamLimitOptions{.max_connections_per_address = 2});
  auto c1 = limits.AcquireConnection("127.0.0.1");
  auto c2 = limits.AcquireConnection("127.0.0.1");
  ASSERT_THAT(c1, IsOk());
  ASSERT_THAT(c2, IsOk());
  EXPECT_THAT(limits.AcquireConnection("127.0.0.1").status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("connections from the address 127.0.0.1 (limit 2)")));
  EXPECT_THAT(limits.AcquireConnection("127.0.0.2"), IsOk());
  EXPECT_EQ(limits.connections_from("127.0.0.1"), 2);
  c1->Release();
  EXPECT_THAT(limits.AcquireConnection("127.0.0.1"), IsOk());
  c2->Release();
  EXPECT_EQ(limits.connections(), 0);
}

TEST(StreamLimitsTest, ZeroMeansNoCap) {
  StreamLimits limits(StreamLimitOptions{.max_streams_per_principal = 0,
                                         .max_public_streams = 0,
                                         .max_streams_per_address = 0,
                                         .max_connections_per_address = 0});
  std::vector<StreamLimits::Lease> held;
  for (int i = 0; i < 1000; ++i) {
    auto lease = limits.AcquireStream(Public(), "ipv4:10.0.0.1:1");
    ASSERT_THAT(lease, IsOk());
    held.push_back(*std::move(lease));
  }
  EXPECT_EQ(limits.streams(), 1000);
  held.clear();
  EXPECT_EQ(limits.streams(), 0);
}

// Through GrpcProxy: a server stream over the cap is RESOURCE_EXHAUSTED before the backend is
// reached, and when the gateway drains (its server shuts down) every place goes back.
namespace tv1 = ::simpul::testing::v1;

// Holder is a backend whose Count streams stay open (initial metadata only) until cancelled.
class Holder final : public tv1::TestService::CallbackService {
 public:
  std::atomic<int> started{0};
  grpc::ServerWriteReactor<tv1::CountResponse>* Count(grpc::CallbackServerContext*,
                                                      const tv1::CountRequest*) override {
    ++started;
    class Open final : public grpc::ServerWriteReactor<tv1::CountResponse> {
     public:
      Open() { StartSendInitialMetadata(); }
      void OnCancel() override { Finish(grpc::Status::CANCELLED); }
      void OnDone() override { delete this; }
    };
    return new Open();
  }
};

TEST(StreamLimitsProxyTest, StreamsOverTheCapAreRefusedAndADrainGivesEveryPlaceBack) {
  Holder backend;
  grpc::ServerBuilder backend_builder;
  int backend_port = 0;
  backend_builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &backend_port);
  backend_builder.RegisterService(&backend);
  std::unique_ptr<grpc::Server> backend_server = backend_builder.BuildAndStart();
  ASSERT_NE(backend_server, nullptr);

  std::unique_ptr<IdentitySigner> signer = simpul::testing::LocalIdentityKeys("simpul-testing");
  auto policy = Policy::FromJson(
      R"json({"rules": [{"methods": ["simpul.testing.v1.TestService/*"], "roles": ["public"]}]})json");
  ASSERT_THAT(policy, IsOk());
  StreamLimits limits(StreamLimitOptions{.max_public_streams = 2});
  ProxyOptions options;
  options.access_log = false;
  options.stream_limits = &limits;
  options.backends["simpul.testing.v1.TestService"] = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", backend_port), grpc::InsecureChannelCredentials());
  GrpcProxy proxy(
      std::move(options), signer.get(), &*policy,
      [](std::string_view) -> absl::StatusOr<common::v1::Principal> {
        return absl::UnauthenticatedError("no keys here");
      },
      nullptr);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&proxy);
  std::unique_ptr<grpc::Server> gateway = builder.BuildAndStart();
  ASSERT_NE(gateway, nullptr);
  auto stub = tv1::TestService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  struct Open {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<tv1::CountResponse>> reader;
  };
  std::vector<std::unique_ptr<Open>> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(std::make_unique<Open>());
    open.back()->reader = stub->Count(&open.back()->ctx, tv1::CountRequest());
    open.back()->reader->WaitForInitialMetadata();
  }
  EXPECT_EQ(limits.streams(), 2);
  EXPECT_EQ(backend.started.load(), 2);
  grpc::ClientContext third;
  auto refused = stub->Count(&third, tv1::CountRequest());
  tv1::CountResponse item;
  EXPECT_FALSE(refused->Read(&item));
  const grpc::Status status = refused->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // An anonymous caller reads it in Bahasa Indonesia (common/messages.h).
  EXPECT_THAT(status.error_message(), HasSubstr("pemanggil anonim (batas 2)"));
  EXPECT_EQ(backend.started.load(), 2);  // never reached the backend

  // The gateway drains: its calls are cancelled and every lease goes back.
  gateway->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  EXPECT_EQ(limits.streams(), 0);
  for (auto& o : open) o->reader->Finish();
  backend_server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace simpul::gateway
