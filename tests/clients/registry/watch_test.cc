// Tests of RegistryWatch (clients/registry/watch.h) against a real registry served in-process
// on a real redis-server: one stream for many subscribers, resumption from the last cursor
// after the registry restarts, OUT_OF_RANGE signalled as "resync needed", and a subscriber that
// refuses an event getting it again.
#include "clients/registry/watch.h"

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/identity.h"
#include "common/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/clients/registry/in_process_registry.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::clients::registry {
namespace {

namespace v1 = ::simpul::registry::v1;
using ::simpul::testing::InProcessRegistry;
using ::simpul::testing::InProcessRegistryTest;
using ::simpul::testing::MakeAgency;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kKey[] = "watch-test-identity-key-0123456789abcdef0123456789ab";
constexpr absl::Duration kWait = absl::Seconds(10);

bool Eventually(const std::function<bool()>& done, absl::Duration timeout = kWait) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// Recorder writes down what a watch reports to it: "started <cursor> resumed|now",
// "event <cursor>", "ended", "resync".
class Recorder : public WatchSubscriber {
 public:
  absl::Status OnStarted(const WatchStart& start) override {
    Add(absl::StrCat("started ", start.cursor, start.resumed ? " resumed" : " now"));
    return absl::OkStatus();
  }
  absl::Status OnEvent(const v1::ChangeEvent& event) override {
    absl::MutexLock lock(&mu_);
    if (refuse_next_ > 0) {
      --refuse_next_;
      reports_.push_back(absl::StrCat("refused ", event.cursor()));
      return absl::UnavailableError("cannot apply now");
    }
    reports_.push_back(absl::StrCat("event ", event.cursor()));
    return absl::OkStatus();
  }
  void OnEnded(const grpc::Status& status) override { Add("ended"); }
  void OnResyncNeeded() override { Add("resync"); }

  void RefuseNext(int n) {
    absl::MutexLock lock(&mu_);
    refuse_next_ = n;
  }
  std::vector<std::string> reports() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }
  // Only the reports that start with `prefix`.
  std::vector<std::string> Reports(const std::string& prefix) {
    std::vector<std::string> out;
    for (std::string& r : reports()) {
      if (absl::StartsWith(r, prefix)) out.push_back(std::move(r));
    }
    return out;
  }
  bool Has(const std::string& report) {
    for (const std::string& r : reports()) {
      if (r == report) return true;
    }
    return false;
  }

 private:
  void Add(std::string report) {
    absl::MutexLock lock(&mu_);
    reports_.push_back(std::move(report));
  }
  absl::Mutex mu_;
  std::vector<std::string> reports_ ABSL_GUARDED_BY(mu_);
  int refuse_next_ ABSL_GUARDED_BY(mu_) = 0;
};

class RegistryWatchTest : public InProcessRegistryTest {
 protected:
  RegistryWatchTest() : InProcessRegistryTest(kKey, "watch-test-admin") {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(InProcessRegistryTest::SetUp());
    v1::CreateAgencyRequest agency;
    *agency.mutable_agency() = MakeAgency("kab-agam", v1::AGENCY_KIND_REGENCY, "13.06");
    v1::CreateAgencyResponse created;
    grpc::Status s = admin_->CreateAgency(AdminCtx().get(), agency, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void TearDown() override {
    watch_.reset();
    InProcessRegistryTest::TearDown();
  }

  void MakeWatch() {
    watch_ = std::make_unique<RegistryWatch>(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()),
        RegistryWatch::Options{
            .identity = InternalIdentity(signer_.get(), "watch-test", "simpul-registry"),
            .connect_timeout = absl::Milliseconds(300),
            .healthy_after = absl::Milliseconds(300),
            .backoff = {.initial = absl::Milliseconds(50), .max = absl::Milliseconds(400)}});
  }

  // AddUnit creates a unit (one change event) through `admin`.
  void AddUnit(v1::Registry::Stub& admin, const std::string& id) {
    v1::CreateServiceUnitRequest unit;
    unit.mutable_unit()->set_id(id);
    unit.mutable_unit()->set_agency_id("kab-agam");
    unit.mutable_unit()->set_name(absl::StrCat("Unit ", id));
    unit.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
    v1::CreateServiceUnitResponse created;
    grpc::Status s = admin.CreateServiceUnit(AdminCtx().get(), unit, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // WhileAway stops the registry, runs `change` through a second registry on the same Redis
  // (the watch cannot see it), then brings the first back on its port.
  void WhileAway(const std::function<void(v1::Registry::Stub&)>& change,
                 int64_t feed_max_len = 1000000) {
    registry_->Shutdown();
    {
      InProcessRegistry side(redis_->port(), signer_.get(), feed_max_len);
      const int side_port = side.Start(0);
      ASSERT_NE(side_port, 0);
      std::unique_ptr<v1::Registry::Stub> side_admin = AdminStub(side_port);
      change(*side_admin);
    }
    const int port = port_;
    registry_.reset();
    registry_ = std::make_unique<InProcessRegistry>(redis_->port(), signer_.get());
    ASSERT_EQ(registry_->Start(port), port);
  }

  int StartedLines() {
    absl::MutexLock lock(&log_mu_);
    int n = 0;
    for (const std::string& line : log_) n += absl::StrContains(line, "\"registry watch started\"");
    return n;
  }

  Recorder a_, b_;  // subscribers outlive the watch
  std::unique_ptr<RegistryWatch> watch_;
};

TEST_F(RegistryWatchTest, TwoSubscribersGetTheSameEventsFromOneStream) {
  MakeWatch();
  ASSERT_TRUE(watch_->Subscribe(&a_, {}).ok());
  ASSERT_TRUE(watch_->Subscribe(&b_, {v1::ENTITY_TYPE_SERVICE_UNIT}).ok());
  watch_->Start();
  ASSERT_TRUE(Eventually([&] { return !a_.Reports("started").empty(); }));
  ASSERT_NO_FATAL_FAILURE(AddUnit(*admin_, "unit-1"));
  ASSERT_NO_FATAL_FAILURE(AddUnit(*admin_, "unit-2"));
  ASSERT_TRUE(Eventually([&] { return b_.Reports("event").size() == 2; }));
  EXPECT_EQ(a_.reports(), b_.reports());
  ASSERT_EQ(a_.Reports("started").size(), 1u);
  EXPECT_TRUE(absl::EndsWith(a_.Reports("started")[0], " now"));
  EXPECT_EQ(StartedLines(), 1) << "one stream for both subscribers";
  EXPECT_EQ(watch_->cursor(), a_.Reports("event")[1].substr(6));
  EXPECT_FALSE(watch_->Subscribe(&a_, {}).ok()) << "subscriptions close when the watch starts";
  watch_->Stop();
  EXPECT_EQ(a_.reports().back(), "ended");
}

TEST_F(RegistryWatchTest, SubscribersGetOnlyTheEntityTypesTheyAskedFor) {
  MakeWatch();
  Recorder& units = a_;
  Recorder& agencies = b_;
  ASSERT_TRUE(watch_->Subscribe(&units, {v1::ENTITY_TYPE_SERVICE_UNIT}).ok());
  ASSERT_TRUE(watch_->Subscribe(&agencies, {v1::ENTITY_TYPE_AGENCY}).ok());
  watch_->Start();
  ASSERT_TRUE(Eventually([&] { return !units.Reports("started").empty(); }));
  v1::CreateAgencyRequest agency;
  *agency.mutable_agency() = MakeAgency("kab-solok", v1::AGENCY_KIND_REGENCY, "13.02");
  v1::CreateAgencyResponse created;
  ASSERT_TRUE(admin_->CreateAgency(AdminCtx().get(), agency, &created).ok());
  ASSERT_NO_FATAL_FAILURE(AddUnit(*admin_, "unit-1"));
  ASSERT_TRUE(Eventually([&] { return units.Reports("event").size() == 1; }));
  ASSERT_TRUE(Eventually([&] { return agencies.Reports("event").size() == 1; }));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(units.Reports("event").size(), 1u);
  EXPECT_EQ(agencies.Reports("event").size(), 1u);
  EXPECT_NE(units.Reports("event")[0], agencies.Reports("event")[0]);
}

TEST_F(RegistryWatchTest, ResumesFromTheLastCursorAfterTheRegistryRestarts) {
  MakeWatch();
  ASSERT_TRUE(watch_->Subscribe(&a_, {}).ok());
  ASSERT_TRUE(watch_->Subscribe(&b_, {}).ok());
  watch_->Start();
  ASSERT_TRUE(Eventually([&] { return !a_.Reports("started").empty(); }));
  ASSERT_NO_FATAL_FAILURE(AddUnit(*admin_, "unit-1"));
  ASSERT_TRUE(Eventually([&] { return a_.Reports("event").size() == 1; }));
  const std::string first = a_.Reports("event")[0].substr(6);

  // Made while the registry is away: the resumed stream replays it.
  ASSERT_NO_FATAL_FAILURE(WhileAway(
      [&](v1::Registry::Stub& admin) { ASSERT_NO_FATAL_FAILURE(AddUnit(admin, "unit-2")); }));
  ASSERT_TRUE(Eventually([&] { return a_.Reports("event").size() == 2; }))
      << absl::StrJoin(a_.reports(), "\n");
  EXPECT_TRUE(a_.Has("ended"));
  EXPECT_TRUE(a_.Has(absl::StrCat("started ", first, " resumed")))
      << absl::StrJoin(a_.reports(), "\n");
  EXPECT_THAT(a_.Reports("resync"), IsEmpty());
  ASSERT_TRUE(Eventually([&] { return b_.Reports("event").size() == 2; }));
  EXPECT_EQ(a_.Reports("event"), b_.Reports("event"));
  EXPECT_EQ(watch_->cursor(), a_.Reports("event")[1].substr(6));
}

TEST_F(RegistryWatchTest, ACursorTrimmedFromTheFeedIsSignalledAndTheWatchGoesOnFromNow) {
  MakeWatch();
  ASSERT_TRUE(watch_->Subscribe(&a_, {}).ok());
  watch_->Start();
  ASSERT_TRUE(Eventually([&] { return !a_.Reports("started").empty(); }));
  ASSERT_NO_FATAL_FAILURE(AddUnit(*admin_, "unit-1"));
  ASSERT_TRUE(Eventually([&] { return a_.Reports("event").size() == 1; }));

  // The feed keeps only the last two events meanwhile: the watch's cursor is gone.
  ASSERT_NO_FATAL_FAILURE(WhileAway(
      [&](v1::Registry::Stub& admin) {
        for (int i = 2; i <= 4; ++i)
          ASSERT_NO_FATAL_FAILURE(AddUnit(admin, absl::StrCat("unit-", i)));
      },
      /*feed_max_len=*/2));
  ASSERT_TRUE(Eventually([&] { return a_.Has("resync"); })) << absl::StrJoin(a_.reports(), "\n");
  ASSERT_TRUE(Eventually([&] {
    std::vector<std::string> started = a_.Reports("started");
    return started.size() >= 2 && absl::EndsWith(started.back(), " now");
  })) << absl::StrJoin(a_.reports(), "\n");
  // And it is live again.
  ASSERT_NO_FATAL_FAILURE(AddUnit(*admin_, "unit-5"));
  EXPECT_TRUE(Eventually([&] { return a_.Reports("event").size() == 2; }))
      << absl::StrJoin(a_.reports(), "\n");
}

TEST_F(RegistryWatchTest, AnEventASubscriberRefusesIsDeliveredAgain) {
  MakeWatch();
  ASSERT_TRUE(watch_->Subscribe(&a_, {}).ok());
  ASSERT_TRUE(watch_->Subscribe(&b_, {}).ok());
  b_.RefuseNext(1);
  watch_->Start();
  ASSERT_TRUE(Eventually([&] { return !a_.Reports("started").empty(); }));
  ASSERT_NO_FATAL_FAILURE(AddUnit(*admin_, "unit-1"));
  ASSERT_TRUE(Eventually([&] { return b_.Reports("event").size() == 1; }))
      << absl::StrJoin(b_.reports(), "\n");
  const std::string cursor = b_.Reports("event")[0].substr(6);
  EXPECT_THAT(b_.Reports("refused"), ElementsAre(absl::StrCat("refused ", cursor)));
  // The stream was resumed before the refused event: `a` saw it twice.
  EXPECT_THAT(a_.Reports("event"),
              ElementsAre(absl::StrCat("event ", cursor), absl::StrCat("event ", cursor)));
  EXPECT_EQ(watch_->cursor(), cursor);
}

TEST_F(RegistryWatchTest, StopEndsTheStreamPromptlyAndIsIdempotent) {
  MakeWatch();
  ASSERT_TRUE(watch_->Subscribe(&a_, {}).ok());
  watch_->Start();
  ASSERT_TRUE(Eventually([&] { return !a_.Reports("started").empty(); }));
  const absl::Time start = absl::Now();
  watch_->Stop();
  watch_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(a_.reports().back(), "ended");
}

}  // namespace
}  // namespace simpul::clients::registry
