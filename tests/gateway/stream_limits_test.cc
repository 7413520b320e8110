// Unit tests of StreamLimits (gateway/stream_limits.h): the per-key, public, per-address and
// connection caps, their refusals (RESOURCE_EXHAUSTED naming the cap and limit, retry-after,
// the refusal metric), and leases going back when destroyed, moved or released.
#include "gateway/stream_limits.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

}  // namespace
}  // namespace simpul::gateway
