// Tests of what calls to unknown methods cost the gateway (gateway/call_bounds.h).
#include "gateway/call_bounds.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "gateway/proxy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CheckMethodDeclaredTest, MethodsOfKnownServicesMustBeDeclared) {
  ASSERT_NE(registry::v1::Agency::descriptor(), nullptr);  // links the registry's descriptors
  EXPECT_TRUE(CheckMethodDeclared("/simpul.registry.v1.Registry/GetAgency").ok());
  const absl::Status made_up =
      CheckMethodDeclared("/simpul.registry.v1.Registry/" + std::string(100000, 'X'));
  EXPECT_EQ(made_up.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(made_up.message(), HasSubstr("simpul.registry.v1.Registry has no method XXX"));
  EXPECT_LT(made_up.message().size(), 200u);
  // A service without a descriptor in the gateway: it cannot tell.
  EXPECT_TRUE(CheckMethodDeclared("/opaque.v1.Service/Anything").ok());
  for (std::string_view bad : {"", "/", "nothing", "/a/b/c", "/svc/", "//m"}) {
    EXPECT_EQ(CheckMethodDeclared(bad).code(), absl::StatusCode::kUnimplemented) << bad;
  }
}

TEST(LogSamplerTest, FirstLinesOfEachMinuteThenOneInM) {
  FakeClock clock(absl::FromUnixSeconds(1717372800));
  Metrics metrics;
  LogSampler sampler({.first_per_minute = 3,
                      .then_one_in = 10,
                      .clock = &clock,
                      .suppressed = metrics.GetCounter("suppressed_total", {})});
  std::vector<int64_t> written_with;
  for (int i = 0; i < 33; ++i) {
    int64_t before = -1;
    if (sampler.Sample(&before)) written_with.push_back(before);
  }
  // Lines 1-3, then the 13th, 23rd and 33rd (each after 9 suppressed ones).
  EXPECT_EQ(written_with, (std::vector<int64_t>{0, 0, 0, 9, 9, 9}));
  EXPECT_THAT(metrics.Exposition(), HasSubstr("suppressed_total 27\n"));
  // A new minute starts over (reporting what was suppressed since the last line).
  clock.Advance(absl::Minutes(1));
  int64_t before = -1;
  EXPECT_TRUE(sampler.Sample(&before));
  EXPECT_EQ(before, 0);
  int64_t unused = 0;
  EXPECT_TRUE(sampler.Sample(&unused));
  EXPECT_TRUE(sampler.Sample(&unused));
  EXPECT_FALSE(sampler.Sample(&unused));
}

TEST(WriteAccessLogTest, UnknownMethodsAreSampledAndNeverEchoedWhole) {
  std::vector<std::string> lines;
  absl::Mutex mu;
  SetLogSink([&](std::string_view line) {
    absl::MutexLock lock(&mu);
    lines.emplace_back(line);
  });
  LogSampler sampler({.first_per_minute = 5, .then_one_in = 1000});
  CallInfo known;
  known.method = "/simpul.registry.v1.Registry/GetAgency";
  for (int i = 0; i < 100; ++i) {
    WriteAccessLog(sampler, known, absl::StatusCode::kOk, absl::Milliseconds(1));
  }
  CallInfo unknown;
  for (int i = 0; i < 1000; ++i) {
    unknown.method = "/made.up.Service" + std::to_string(i) + "/" + std::string(5000, 'x');
    WriteAccessLog(sampler, unknown, absl::StatusCode::kUnimplemented, absl::Milliseconds(1));
  }
  SetLogSink(nullptr);
  ASSERT_EQ(lines.size(), 100u + 5u);  // every known call, the first 5 unknown ones
  EXPECT_THAT(lines[100], HasSubstr("\"method\":\"unknown\""));
  EXPECT_THAT(lines[100], HasSubstr("\"path\":\"/made.up.Service0/xxx"));
  for (size_t i = 100; i < lines.size(); ++i) {
    EXPECT_LT(lines[i].size(), 600u) << lines[i];
    EXPECT_THAT(lines[i], Not(HasSubstr(std::string(100, 'x'))));
  }
}

}  // namespace
}  // namespace simpul::gateway
