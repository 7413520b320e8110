// The mixed load driver (tests/testing/mixed_load.h) against one of each binary and a gateway:
// a 5-second run at 20 calls/s acknowledges every kind of call with 0 errors, its actions take
// cases through their lifecycle with the right revisions, and its windows hold the calls.
#include "tests/testing/mixed_load.h"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::testing {
namespace {

using ::testing::Contains;
using ::testing::Ge;

class MixedLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create({.redis_acl = true});
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    for (Binary binary : {Binary::kRegistry, Binary::kComplaints, Binary::kMonitoring}) {
      ASSERT_THAT(cluster_->Start(binary, {.flags = {"--drain_timeout=1s"}}), IsOk());
    }
    std::vector<std::string> flags = LoadGatewayFlags();
    flags.push_back("--drain_timeout=1s");
    ASSERT_THAT(cluster_->Start(Binary::kGateway, {.flags = flags}), IsOk());
    auto setup = PrepareLoad(*cluster_);
    ASSERT_THAT(setup, IsOk());
    setup_ = *std::move(setup);
  }

  MixedLoadOptions Options() const {
    MixedLoadOptions o;
    o.gateways = {cluster_->gateway().address()};
    o.callers = setup_.callers;
    o.seed = setup_.seed;
    o.calls_per_second = 20;
    o.window = absl::Seconds(1);
    o.watch_streams = 2;
    o.registry_writes = 0.05;  // 1 a second: events for the watch streams
    o.reads = 0.15;
    return o;
  }

  std::unique_ptr<ServiceCluster> cluster_;
  LoadSetup setup_;
};

TEST_F(MixedLoadTest, FiveSecondsAt20PerSecondAcknowledgeEveryKindWithoutErrors) {
  const absl::Time before = absl::Now();
  auto load = MixedLoad::Start(Options());
  ASSERT_THAT(load, IsOk());
  absl::SleepFor(absl::Seconds(5));
  (*load)->Stop();

  const LoadErrors errors = (*load)->Errors();
  EXPECT_EQ(errors.total(), 0) << ::testing::PrintToString(errors.samples);
  EXPECT_EQ(errors.shed, 0);
  EXPECT_TRUE(errors.attempt_errors.empty());
  const LoadTotals totals = (*load)->Totals();
  EXPECT_THAT(totals.due, Ge(95));  // 5 s at 20/s
  EXPECT_EQ(totals.acked_total() + totals.abandoned, totals.due);
  EXPECT_EQ(totals.watch_opens, 2);
  EXPECT_GE(totals.acked[Ack::kRegistryWrite], 3);
  // Each stream saw every registry write (in order: else wrong_data) but maybe the last.
  EXPECT_GE(totals.watch_events, 2 * (totals.acked[Ack::kRegistryWrite] - 1));

  const std::vector<Ack> acks = (*load)->Acks();
  std::map<Ack::Kind, int> by_kind;
  std::set<std::string> keys;
  std::map<std::string, int64_t> revision;  // of each case, from its acks in order
  std::set<std::string> actions;
  for (const Ack& a : acks) {
    ++by_kind[a.kind];
    EXPECT_GE(a.sent, before);
    EXPECT_GE(a.acked, a.sent);
    EXPECT_EQ(a.attempts, 1) << a.key;
    if (a.kind == Ack::kFiling || a.kind == Ack::kSurvey) {
      EXPECT_TRUE(keys.insert(a.key).second) << "idempotency key used twice: " << a.key;
    }
    if (a.kind == Ack::kFiling) {
      EXPECT_EQ(a.state_after, "STATE_RECEIVED");
      revision[a.tracking_code] = 1;
    }
    if (a.kind == Ack::kAction) {
      ASSERT_TRUE(revision.count(a.tracking_code)) << "action on a case the load did not file";
      EXPECT_EQ(a.revision_after, revision[a.tracking_code] + 1) << a.key;
      revision[a.tracking_code] = a.revision_after;
      actions.insert(a.key.substr(a.key.find('/') + 1));
    }
  }
  // 30% filings, 30% actions, 20% surveys, 20% reads (an action with no case waiting: a read).
  EXPECT_GE(by_kind[Ack::kFiling], 25);
  EXPECT_GE(by_kind[Ack::kAction], 15);
  EXPECT_GE(by_kind[Ack::kSurvey], 15);
  EXPECT_GE(by_kind[Ack::kRead], 15);
  for (const char* action :
       {"VerifyComplaint", "DisposeComplaint", "StartWork", "PostFollowUp", "CompleteComplaint"}) {
    EXPECT_THAT(actions, Contains(action));
  }

  const std::vector<WindowStats> windows = (*load)->Windows();
  ASSERT_GE(windows.size(), 4u);
  int64_t calls = 0;
  for (const WindowStats& w : windows) {
    calls += w.calls;
    EXPECT_EQ(w.errors, 0);
    EXPECT_EQ(w.shed, 0);
    if (w.calls > 0) {
      EXPECT_GT(w.p50_ms, 0);
      EXPECT_GE(w.p99_ms, w.p50_ms);
    }
  }
  EXPECT_GE(calls, 80);
  const std::optional<absl::Time> first = (*load)->FirstWriteAckAfter(before + absl::Seconds(2));
  ASSERT_TRUE(first.has_value());
  EXPECT_GT(*first, before + absl::Seconds(2));
}

TEST_F(MixedLoadTest, RetriesAcrossAGatewayRestartLoseNoCall) {
  MixedLoadOptions options = Options();
  options.watch_streams = 1;
  options.max_in_flight = 256;  // calls wait for the gateway: none is shed
  auto load = MixedLoad::Start(options);
  ASSERT_THAT(load, IsOk());
  absl::SleepFor(absl::Seconds(1));
  ASSERT_THAT(cluster_->gateway().Kill(), IsOk());
  absl::SleepFor(absl::Milliseconds(500));
  const absl::Time restarted_at = absl::Now();
  ASSERT_THAT(cluster_->gateway().Restart(), IsOk());
  // Wait for a write due after the restart to be acknowledged, then 1 s more.
  EXPECT_TRUE(PollUntil([&] { return (*load)->FirstWriteAckAfter(restarted_at).has_value(); },
                        absl::Seconds(15)));
  const absl::Duration recovery =
      (*load)->FirstWriteAckAfter(restarted_at).value_or(restarted_at) - restarted_at;
  std::cout << "first write acknowledged " << recovery << " after the restart began\n";
  // Retries wait for the channel to connect, which drives the reconnection (0.3-0.7 s here);
  // failing fast, only gRPC's backup poller (every 5 s) would finish the handshake.
  EXPECT_LT(recovery, absl::Seconds(5));
  absl::SleepFor(absl::Seconds(1));
  (*load)->Stop();

  const LoadErrors errors = (*load)->Errors();
  EXPECT_EQ(errors.total(), 0) << ::testing::PrintToString(errors.samples);
  EXPECT_EQ(errors.shed, 0);
  EXPECT_GT(errors.attempt_errors.count(grpc::StatusCode::UNAVAILABLE), 0u);
  int retried = 0;
  for (const Ack& a : (*load)->Acks()) retried += a.attempts > 1;
  EXPECT_GT(retried, 0);
  EXPECT_GE((*load)->Totals().watch_opens, 2);  // the watch stream was reopened
}

}  // namespace
}  // namespace simpul::testing
