// End-to-end test of simpul-monitoring's complaint consumer across a crash: the real
// simpul-monitoring and simpul-registry binaries and a real redis-server, gRPC over loopback.
// Complaint events are appended straight to the complaint stream (as simpul-complaints does),
// some of them twice; simpul-monitoring is killed with SIGKILL in the middle of a batch (events
// applied but not yet acknowledged) and started again, and the new process takes the dead
// consumer's pending entries over after --consumer_min_idle. The complaint figures must count
// every event exactly once.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/registry_seed.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::monitoring {
namespace {

namespace v1 = ::simpul::monitoring::v1;
namespace cv1 = ::simpul::complaints::v1;
namespace rv1 = ::simpul::registry::v1;
using ::simpul::testing::Binary;
using ::simpul::testing::Caller;
using ::simpul::testing::IsOk;
using ::simpul::testing::PollUntil;
using ::simpul::testing::ServiceCluster;
using ::testing::HasSubstr;

constexpr char kAgency[] = "kab-agam";  // REGENCY 13.06
constexpr char kUnit[] = "dpmptsp-agam";
// simpul-monitoring's defaults: the complaint stream, its consumer group and dead-letter stream.
constexpr char kStream[] = "simpul:cmp:{c}:events";
constexpr char kGroup[] = "simpul-monitoring";
constexpr char kDeadLetter[] = "simpul:cmp:{c}:events:dead:simpul-monitoring";
// The monitoring store's dedup marker of an applied complaint event (see redis_store.h and
// ComplaintEventContributions): it tells the test which events a frozen process has applied.
constexpr char kAppliedMarkerPrefix[] = "simpul:mon:{m}:d:complaint-event:";
constexpr char kMinIdle[] = "300ms";

const absl::TimeZone& Wib() {
  static const absl::TimeZone* zone = new absl::TimeZone(absl::FixedTimeZone(7 * 3600));
  return *zone;
}

// ProcessState is the state letter of /proc/<pid>/stat ('T' when stopped), or '?'.
char ProcessState(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string stat = ss.str();
  const size_t paren = stat.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos || paren + 2 >= stat.size()) return '?';
  return stat[paren + 2];
}

// A complaint filed through `channel` at `t` for kUnit: what simpul-complaints publishes for a
// FileComplaint, reduced to the fields the monitoring service reads.
cv1::ComplaintEvent FiledEvent(const std::string& complaint_id, cv1::Channel channel,
                               absl::Time t) {
  cv1::ComplaintEvent e;
  e.set_event_id(absl::StrCat(complaint_id, "/1"));
  e.set_payload_version(1);
  e.set_complaint_id(complaint_id);
  e.set_sequence(1);
  e.set_action("FileComplaint");
  e.mutable_time()->set_seconds(absl::ToUnixSeconds(t));
  e.set_to_state(cv1::STATE_RECEIVED);
  e.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  e.set_channel(channel);
  e.set_agency_id(kAgency);
  e.set_unit_id(kUnit);
  *e.mutable_file_time() = e.time();
  e.set_time_zone(common::v1::TIME_ZONE_WIB);
  return e;
}

class ConsumerRestartE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    RedisOptions options = cluster_->redis().PoolOptions();
    options.pool_size = 2;
    pool_ = std::make_unique<RedisPool>(options);
    auto registry = cluster_->Start(Binary::kRegistry, {.flags = {"--drain_timeout=1s"}});
    ASSERT_THAT(registry, IsOk());
    ASSERT_NO_FATAL_FAILURE(SeedRegistry(**registry));
    auto monitoring = cluster_->Start(
        Binary::kMonitoring,
        {.flags = {"--drain_timeout=1s", absl::StrCat("--consumer_min_idle=", kMinIdle)}});
    ASSERT_THAT(monitoring, IsOk());
    monitoring_ = *monitoring;
    stub_ = v1::Monitoring::NewStub(monitoring_->channel());
    // The consumer creates its group on its first poll, which may come after the health check.
    ASSERT_TRUE(PollUntil(
        [&] {
          absl::StatusOr<RedisReply> groups = pool_->Command({"XINFO", "GROUPS", kStream});
          return groups.ok() && !groups->is_error() && !groups->elements.empty();
        },
        absl::Seconds(10)))
        << monitoring_->Log();
  }

  void TearDown() override {
    pool_.reset();
    cluster_.reset();
  }

  // SeedRegistry: the agency (13.06) and its unit, which the events name.
  void SeedRegistry(simpul::testing::ServiceProcess& registry) {
    auto stub = rv1::Registry::NewStub(registry.channel());
    simpul::testing::RegistrySeeder seed(stub.get());
    const auto& tokens = cluster_->tokens();
    seed.CreateAgency(Caller{"root", tokens.Token(common::v1::ROLE_PLATFORM_ADMIN)}, kAgency,
                      rv1::AGENCY_KIND_REGENCY, "13.06");
    seed.CreateUnit(Caller{"admin", tokens.Token(common::v1::ROLE_AGENCY_ADMIN, kAgency)}, kUnit,
                    kAgency, "Dinas Penanaman Modal dan PTSP");
    ASSERT_FALSE(HasFailure());
  }

  // ---- the complaint stream ----------------------------------------------------------

  RedisReply Raw(const std::vector<std::string>& argv) {
    absl::StatusOr<RedisReply> reply = pool_->Command(argv);
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) return RedisReply{};
    EXPECT_FALSE(reply->is_error()) << argv[0] << ": " << reply->str;
    return *std::move(reply);
  }

  // Append adds the events to the complaint stream in one round trip, the way the complaint
  // service writes them ({v: "1", e: serialized event}), and remembers them.
  void Append(const std::vector<cv1::ComplaintEvent>& events) {
    std::vector<std::vector<std::string>> commands;
    for (const cv1::ComplaintEvent& e : events) {
      commands.push_back({"XADD", kStream, "*", "v", "1", "e", e.SerializeAsString()});
    }
    absl::StatusOr<std::vector<RedisReply>> ids = pool_->Pipeline(commands);
    ASSERT_TRUE(ids.ok()) << ids.status();
    ASSERT_EQ(ids->size(), events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      ASSERT_FALSE((*ids)[i].is_error()) << (*ids)[i].str;
      const std::string& event_id = events[i].event_id();
      // Only the first entry of an event can show that applying it was not acknowledged: a
      // repeat finds the event applied by its first entry.
      if (events_.emplace(event_id, events[i]).second) first_entry_of_[(*ids)[i].str] = event_id;
      last_entry_id_ = (*ids)[i].str;
      ++entries_;
    }
  }

  // NewEvents makes `n` events never appended before; every third one is appended twice in
  // a row (a producer that retried its write).
  std::vector<cv1::ComplaintEvent> NewEvents(int n, absl::Time t) {
    static constexpr cv1::Channel kChannels[] = {cv1::CHANNEL_SMS, cv1::CHANNEL_WEB,
                                                 cv1::CHANNEL_MOBILE_APP};
    std::vector<cv1::ComplaintEvent> out;
    for (int i = 0; i < n; ++i, ++next_complaint_) {
      cv1::ComplaintEvent e =
          FiledEvent(absl::StrCat("ADU-RST-", next_complaint_), kChannels[next_complaint_ % 3], t);
      out.push_back(e);
      if (next_complaint_ % 3 == 0) out.push_back(e);
    }
    return out;
  }

  // Snapshot is what Redis holds about the consumer group at one instant.
  struct Snapshot {
    std::map<std::string, std::string> pending;  // entry id -> consumer
    // Pending first entries of their events (see Append): already applied by the monitoring
    // store, and not yet.
    int64_t applied_unacknowledged = 0;
    int64_t unapplied = 0;
    bool all_acknowledged = false;  // every appended entry delivered and acknowledged
  };

  Snapshot TakeSnapshot() {
    Snapshot s;
    for (const RedisReply& row : Raw({"XPENDING", kStream, kGroup, "-", "+", "10000"}).elements) {
      s.pending[row.elements.at(0).str] = row.elements.at(1).str;
    }
    std::vector<std::vector<std::string>> exists;
    for (const auto& [id, consumer] : s.pending) {
      auto first = first_entry_of_.find(id);
      if (first != first_entry_of_.end()) {
        exists.push_back({"EXISTS", absl::StrCat(kAppliedMarkerPrefix, first->second)});
      }
    }
    if (!exists.empty()) {
      absl::StatusOr<std::vector<RedisReply>> replies = pool_->Pipeline(exists);
      EXPECT_TRUE(replies.ok()) << replies.status();
      if (replies.ok()) {
        for (const RedisReply& r : *replies) s.applied_unacknowledged += r.integer;
        s.unapplied = static_cast<int64_t>(exists.size()) - s.applied_unacknowledged;
      }
    }
    std::string last_delivered;
    const RedisReply groups = Raw({"XINFO", "GROUPS", kStream});
    for (const RedisReply& group : groups.elements) {
      for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
        if (group.elements[i].str == "last-delivered-id") {
          last_delivered = group.elements[i + 1].str;
        }
      }
    }
    s.all_acknowledged = s.pending.empty() && last_delivered == last_entry_id_;
    return s;
  }

  // ---- figures -----------------------------------------------------------------------

  v1::Figures Figures(const v1::Scope& scope, const v1::Period& period) {
    v1::GetFiguresRequest req;
    *req.mutable_scope() = scope;
    *req.mutable_period() = period;
    v1::GetFiguresResponse resp;
    grpc::Status s = stub_->GetFigures(simpul::testing::IdentityContext("").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return resp.figures();
  }

  std::unique_ptr<ServiceCluster> cluster_;
  std::unique_ptr<RedisPool> pool_;
  simpul::testing::ServiceProcess* monitoring_ = nullptr;
  std::unique_ptr<v1::Monitoring::Stub> stub_;

  std::map<std::string, cv1::ComplaintEvent> events_;  // event id -> event, appended so far
  std::map<std::string, std::string> first_entry_of_;  // entry id -> event id, first entries
  std::string last_entry_id_;
  int64_t entries_ = 0;
  int next_complaint_ = 0;
};

TEST_F(ConsumerRestartE2ETest, KilledMidBatchAndRestartedCountsEveryEventOnce) {
  // Five minutes ago, so the events are in the past; the figures are read for its WIB month.
  const absl::Time t = absl::Now() - absl::Minutes(5);
  const absl::CivilDay day = absl::ToCivilDay(t, Wib());
  v1::Period month;
  month.set_kind(v1::PERIOD_KIND_MONTH);
  month.set_year(static_cast<int>(day.year()));
  month.set_index(day.month());

  // Append bursts of events until the process is caught with a batch half done: frozen with
  // SIGSTOP, it holds pending entries whose events it has applied and others it has not. It is
  // killed right there.
  const pid_t pid = monitoring_->pid();
  std::optional<Snapshot> caught;
  for (int burst = 0; burst < 10 && !caught; ++burst) {
    ASSERT_NO_FATAL_FAILURE(Append(NewEvents(200, t)));
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!caught && absl::Now() < deadline) {
      ASSERT_THAT(monitoring_->Pause(), IsOk());
      ASSERT_TRUE(PollUntil([&] { return ProcessState(pid) == 'T'; }, absl::Seconds(2)));
      Snapshot s = TakeSnapshot();
      if (s.applied_unacknowledged > 0 && s.unapplied > 0) {
        caught = std::move(s);
        break;
      }
      ASSERT_THAT(monitoring_->Resume(), IsOk());
      if (s.all_acknowledged) break;  // the burst was consumed before it was caught
      absl::SleepFor(absl::Milliseconds(2));
    }
  }
  ASSERT_TRUE(caught.has_value()) << "never caught the consumer in the middle of a batch";
  ASSERT_TRUE(monitoring_->Stop(SIGKILL, absl::Seconds(10)).has_value());
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  const std::string dead_consumer = absl::StrCat(host, "-", pid);
  for (const auto& [id, consumer] : caught->pending) EXPECT_EQ(consumer, dead_consumer) << id;
  EXPECT_GT(caught->applied_unacknowledged, 0);
  EXPECT_GT(caught->unapplied, 0);

  // While it is down: new events, and repeats of earlier ones, first of those whose entries
  // it left pending (applied or not).
  std::vector<cv1::ComplaintEvent> while_down = NewEvents(30, t);
  int repeats = 0;
  for (const auto& [id, event_id] : first_entry_of_) {
    if (caught->pending.count(id) > 0 && repeats < 10) {
      while_down.push_back(events_.at(event_id));
      ++repeats;
    }
  }
  for (const auto& [event_id, event] : events_) {
    if (repeats >= 20) break;
    while_down.push_back(event);
    ++repeats;
  }
  ASSERT_NO_FATAL_FAILURE(Append(while_down));

  ASSERT_THAT(monitoring_->Restart(), IsOk());
  const int64_t distinct = static_cast<int64_t>(events_.size());
  ASSERT_GT(entries_, distinct);  // repeats were appended
  v1::Scope national;
  national.set_national(true);
  v1::Figures f;
  EXPECT_TRUE(PollUntil(
      [&] {
        f = Figures(national, month);
        return f.complaints().received() >= distinct;
      },
      absl::Seconds(20)))
      << "received " << f.complaints().received() << " of " << distinct << "\n"
      << monitoring_->Log();
  // Everything is consumed and acknowledged: the dead consumer's entries were taken over.
  EXPECT_TRUE(PollUntil([&] { return TakeSnapshot().all_acknowledged; }, absl::Seconds(10)));

  std::map<std::string, int64_t> by_channel;
  for (const auto& [event_id, event] : events_) {
    ++by_channel[cv1::Channel_Name(event.channel()).substr(std::string("CHANNEL_").size())];
  }
  v1::Scope agency, unit, region;
  agency.set_agency_id(kAgency);
  unit.set_unit_id(kUnit);
  region.set_region_code_prefix("13");
  for (const v1::Scope& scope : {national, agency, unit, region}) {
    const v1::ComplaintFigures c = Figures(scope, month).complaints();
    EXPECT_EQ(c.received(), distinct) << scope.ShortDebugString();
    EXPECT_EQ(c.open_backlog(), distinct) << scope.ShortDebugString();
    const std::map<std::string, int64_t> types(c.by_type().begin(), c.by_type().end());
    EXPECT_EQ(types, (std::map<std::string, int64_t>{{"COMPLAINT", distinct}}))
        << scope.ShortDebugString();
    const std::map<std::string, int64_t> channels(c.by_channel().begin(), c.by_channel().end());
    EXPECT_EQ(channels, by_channel) << scope.ShortDebugString();
  }
  EXPECT_EQ(Raw({"EXISTS", kDeadLetter}).integer, 0) << "an event was dead-lettered";
  EXPECT_THAT(monitoring_->Log(), ::testing::Not(HasSubstr("\"level\":\"error\"")));
}

}  // namespace
}  // namespace simpul::monitoring
