// WatchHub (services/monitoring/watch.h) over an in-process gRPC server: several streams
// watching one bucket share one computation (one store read) of its figures per round, and
// each still receives the figures under the scope and period it asked for. The store is the
// in-memory fake behind a wrapper that counts every call.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/executor.h"
#include "gtest/gtest.h"
#include "services/monitoring/grpc_service.h"
#include "services/monitoring/monitoring.h"
#include "services/monitoring/watch.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "tests/testing/fake_aggregate_store.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/monitoring_fixtures.h"

namespace simpul::monitoring {
namespace {

using ::simpul::testing::AgencyScope;
using ::simpul::testing::FakeAggregateStore;
using ::simpul::testing::FakeRouter;
using ::simpul::testing::National;
using ::simpul::testing::WibTime;
using ::simpul::testing::Year;

// CountingStore forwards to the fake and counts every call (each would be a Redis round trip).
class CountingStore final : public AggregateStore {
 public:
  std::atomic<int> calls{0};

  absl::StatusOr<bool> Apply(const Contribution& c) override { return (++calls, s_.Apply(c)); }
  absl::StatusOr<Counters> Read(std::string_view bucket) override {
    return (++calls, s_.Read(bucket));
  }
  absl::StatusOr<std::vector<Counters>> ReadMany(const std::vector<std::string>& b) override {
    return (++calls, s_.ReadMany(b));
  }
  absl::StatusOr<std::vector<std::vector<int64_t>>> ReadFields(
      const std::vector<std::string>& b, const std::vector<std::string>& f) override {
    return (++calls, s_.ReadFields(b, f));
  }
  absl::Status SetRanks(const std::vector<RankUpdate>& u) override {
    return (++calls, s_.SetRanks(u));
  }
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> TopRanks(std::string_view r,
                                                                        int limit,
                                                                        bool asc) override {
    return (++calls, s_.TopRanks(r, limit, asc));
  }
  absl::StatusOr<std::optional<StateRecord>> ReadState(std::string_view key) override {
    return (++calls, s_.ReadState(key));
  }
  absl::StatusOr<bool> ReplaceState(const StateChange& c) override {
    return (++calls, s_.ReplaceState(c));
  }
  absl::StatusOr<std::vector<int64_t>> CountInRanges(const std::vector<ScoreRange>& r) override {
    return (++calls, s_.CountInRanges(r));
  }
  absl::StatusOr<std::vector<std::string>> SetMembers(std::string_view set) override {
    return (++calls, s_.SetMembers(set));
  }
  absl::StatusOr<bool> AddOpen(const Contribution& receipt, std::string_view key, absl::Time due,
                               const Contribution& when_overdue) override {
    return (++calls, s_.AddOpen(receipt, key, due, when_overdue));
  }
  absl::StatusOr<Removed> RemoveOpen(std::string_view key, const std::vector<Contribution>& w,
                                     const std::vector<Contribution>& o) override {
    return (++calls, s_.RemoveOpen(key, w, o));
  }
  absl::StatusOr<int> SweepOpen(absl::Time at, int limit) override {
    return (++calls, s_.SweepOpen(at, limit));
  }
  absl::StatusOr<std::vector<std::optional<Ledger>>> ReadLedgers(
      const std::vector<std::string>& keys) override {
    return (++calls, s_.ReadLedgers(keys));
  }
  absl::StatusOr<VoidOutcome> VoidLedger(std::string_view key, int64_t version,
                                         std::string_view app,
                                         const std::vector<Contribution>& reversal,
                                         std::string_view record) override {
    return (++calls, s_.VoidLedger(key, version, app, reversal, record));
  }
  absl::StatusOr<std::vector<std::string>> BatchLedgers(std::string_view batch) override {
    return (++calls, s_.BatchLedgers(batch));
  }
  absl::Status AppendLog(std::string_view log, std::string_view record) override {
    return (++calls, s_.AppendLog(log, record));
  }
  absl::StatusOr<std::vector<std::string>> ReadLog(std::string_view log, int64_t offset,
                                                   int limit) override {
    return (++calls, s_.ReadLog(log, offset, limit));
  }

 private:
  FakeAggregateStore s_;
};

class WatchHubTest : public ::testing::Test {
 protected:
  WatchHubTest() : clock_(WibTime(2026, 6, 15, 10, 0, 0)) {}

  void SetUp() override {
    auto calendars = CalendarRegistry::Create(SIMPUL_HOLIDAYS_DIR);
    ASSERT_TRUE(calendars.ok()) << calendars.status();
    calendars_ = *std::move(calendars);
    desk_ =
        std::make_unique<MonitoringDesk>(store_, router_, *calendars_, clock_, MonitoringOptions{});
    // Never started: the test runs the rounds itself.
    hub_ = std::make_unique<WatchHub>(*desk_, absl::Hours(1));
    service_ = std::make_unique<MonitoringGrpcService>(*desk_, *hub_, executor_, nullptr, clock_);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Monitoring::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    hub_->Stop();  // ends the streams
    for (auto& s : streams_) {
      s.ctx->TryCancel();
      s.reader->Finish();
    }
    streams_.clear();
    server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
  }

  struct Stream {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
  };
  void Open(const v1::Scope& scope, const v1::Period& period) {
    v1::WatchRequest req;
    *req.mutable_scope() = scope;
    *req.mutable_period() = period;
    Stream s;
    s.ctx = std::make_unique<grpc::ClientContext>();
    s.reader = stub_->Watch(s.ctx.get(), req);
    streams_.push_back(std::move(s));
  }
  // WaitWatchers waits until the hub holds `n` streams.
  bool WaitWatchers(size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (hub_->watchers() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return hub_->watchers() == n;
  }

  FakeClock clock_;
  std::unique_ptr<CalendarRegistry> calendars_;
  FakeRouter router_;
  CountingStore store_;
  std::unique_ptr<MonitoringDesk> desk_;
  Executor executor_{2, 100};
  std::unique_ptr<WatchHub> hub_;
  std::unique_ptr<MonitoringGrpcService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Monitoring::Stub> stub_;
  std::vector<Stream> streams_;
};

TEST_F(WatchHubTest, FiguresOfAnyScopeAndPeriodCostTwoStoreCalls) {
  // The period's months with the standards counters, then the standards sets with the IKM
  // ranking's size: a year of the nation costs what a month of one unit does.
  for (const auto& [scope, period, bucket] :
       {std::tuple{::simpul::testing::UnitScope("dpmptsp-bogor"), ::simpul::testing::Month(2026, 3),
                   std::string("u:dpmptsp-bogor|2026-M03")},
        std::tuple{National(), Year(2026), std::string("n|2026-Y")},
        std::tuple{AgencyScope("kota-bogor"), ::simpul::testing::Quarter(2026, 1),
                   std::string("a:kota-bogor|2026-Q1")}}) {
    store_.calls = 0;
    ASSERT_TRUE(desk_->FiguresOf(scope, period, bucket).ok()) << bucket;
    EXPECT_EQ(store_.calls.load(), 2) << bucket;
  }
}

TEST_F(WatchHubTest, WatchersOfOneBucketShareOneReadPerRound) {
  // What computing one bucket's figures costs in store calls.
  store_.calls = 0;
  ASSERT_TRUE(desk_->FiguresOf(National(), Year(2026), "n|2026-Y").ok());
  const int per_bucket = store_.calls.load();
  ASSERT_GT(per_bucket, 0);

  // Five streams on the national figures of 2026, one on an agency's.
  for (int i = 0; i < 5; ++i) Open(National(), Year(2026));
  Open(AgencyScope("kota-bogor"), Year(2026));
  ASSERT_TRUE(WaitWatchers(6)) << hub_->watchers();

  store_.calls = 0;
  hub_->Round();
  const int calls = store_.calls.load();
  std::cout << "[watch] one round, 6 watchers on 2 buckets: " << calls
            << " store calls (one bucket costs " << per_bucket << ")\n";
  EXPECT_EQ(calls, 2 * per_bucket);  // not 6 * per_bucket

  // Every stream got its figures, under the scope it asked for.
  for (size_t i = 0; i < streams_.size(); ++i) {
    v1::WatchResponse resp;
    ASSERT_TRUE(streams_[i].reader->Read(&resp)) << i;
    EXPECT_EQ(resp.figures().scope().national(), i < 5) << i;
    EXPECT_EQ(resp.figures().scope().agency_id(), i < 5 ? "" : "kota-bogor") << i;
    EXPECT_EQ(resp.figures().period().year(), 2026);
  }

  // A second round costs the same, whatever the number of watchers.
  for (int i = 0; i < 20; ++i) Open(National(), Year(2026));
  ASSERT_TRUE(WaitWatchers(26));
  store_.calls = 0;
  hub_->Round();
  EXPECT_EQ(store_.calls.load(), 2 * per_bucket);
}

// Clients that leave while rounds run back to back: every stream is dropped by the hub only after
// gRPC is done with it (OnDone), never between its Finish and OnDone (the hub once dropped it at
// Finish: gRPC then called OnDone on a freed reactor, "pure virtual method called", and
// simpul-monitoring died while a dashboard closed its streams), and a cancel that comes while a
// write is in flight still finishes the stream, so that none is left behind.
TEST_F(WatchHubTest, ClientsLeavingWhileRoundsRunAreAllDroppedAfterGrpcIsDone) {
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::thread rounder([&] {
    while (!stop.load()) {
      hub_->Round();
      rounds.fetch_add(1);
    }
  });
  constexpr int kClients = 4;
  constexpr int kStreamsEach = 60;
  std::atomic<int> read{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kStreamsEach; ++i) {
        v1::WatchRequest req;
        *req.mutable_scope() = c % 2 == 0 ? National() : AgencyScope("kota-bogor");
        *req.mutable_period() = Year(2026);
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        auto reader = stub_->Watch(&ctx, req);
        v1::WatchResponse resp;
        if (i % 2 == 0 && reader->Read(&resp)) read.fetch_add(1);  // half leave at once
        ctx.TryCancel();
        reader->Finish();
      }
    });
  }
  for (auto& t : clients) t.join();
  // Every stream ends, and the hub lets go of each once gRPC has called OnDone.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool drained = false;  // the hub held no stream at some point after the clients left
  while (!drained && absl::Now() < deadline) {
    drained = hub_->watchers() == 0;
    if (!drained) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(drained) << hub_->watchers() << " streams still held";
  // A call its client already gave up on can still reach the server after that (the hub then
  // holds it until its OnDone). Shutting the server down waits until gRPC is done with every
  // call; the next round drops whatever arrived late.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  stop.store(true);
  rounder.join();
  hub_->Round();
  std::cout << "[watch] " << kClients * kStreamsEach << " streams opened and cancelled, " << read
            << " read figures first, over " << rounds << " rounds\n";
  EXPECT_EQ(hub_->watchers(), 0u);
  EXPECT_EQ(read.load(), kClients * kStreamsEach / 2);
}

}  // namespace
}  // namespace simpul::monitoring
