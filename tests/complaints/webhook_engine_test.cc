// Integration tests of webhook dispatch and delivery against a real redis-server and a real
// local HTTP receiver (tests/testing/webhook_receiver.h): the admin API's checks, the atomic
// fan-out, restart without loss, delivery through 500s, timeouts and early closes in order with
// valid signatures, isolation from a dead receiver, dead letters and re-drive.
#include "services/complaints/webhook_engine.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/complaints/feed.h"
#include "services/complaints/webhook_admin.h"
#include "services/complaints/webhook_store.h"
#include "tests/testing/identities.h"
#include "tests/testing/redis_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/webhook_receiver.h"

namespace simpul::complaints {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::simpul::testing::WebhookReceiver;
using ::testing::HasSubstr;
using ::testing::Not;
using Behaviour = WebhookReceiver::Behaviour;

constexpr char kPrefix[] = "simpul:cmp:{c}:";

// FakeEvents is an in-memory event stream with cursors "<n>-0".
class FakeEvents final : public ComplaintEventSource {
 public:
  // Add appends an event of case `id` (sequence `seq`) filed through `channel`.
  std::string Add(const std::string& id, int seq, const std::string& channel,
                  const std::string& action = "PostFollowUp") {
    absl::MutexLock lock(&mu_);
    FeedEvent fed;
    fed.cursor = absl::StrCat(++last_, "-0");
    v1::ComplaintEvent& e = fed.event;
    e.set_event_id(absl::StrCat(id, "/", seq));
    e.set_complaint_id(id);
    e.set_sequence(seq);
    e.set_action(action);
    e.set_agency_id("kota-bogor");
    e.set_region_code("32.71");
    const int64_t ns = absl::ToUnixNanos(absl::Now());
    e.mutable_time()->set_seconds(ns / 1000000000);
    e.mutable_time()->set_nanos(static_cast<int>(ns % 1000000000));
    e.mutable_audience()->set_channel_name(channel);
    events_.push_back(fed);
    return fed.cursor;
  }
  absl::StatusOr<std::vector<FeedEvent>> ReadEvents(std::string_view after, int limit,
                                                    absl::Duration block) override {
    int64_t n = 0;
    absl::SimpleAtoi(AbslView(after.substr(0, after.find('-'))), &n);
    std::vector<FeedEvent> out;
    {
      absl::MutexLock lock(&mu_);
      for (const FeedEvent& f : events_) {
        int64_t m = 0;
        absl::SimpleAtoi(f.cursor.substr(0, f.cursor.find('-')), &m);
        if (m > n && static_cast<int>(out.size()) < limit) out.push_back(f);
      }
    }
    if (out.empty() && block > absl::ZeroDuration()) absl::SleepFor(block);  // XREAD BLOCK
    return out;
  }
  absl::StatusOr<std::string> LatestEventCursor() override {
    absl::MutexLock lock(&mu_);
    return absl::StrCat(last_, "-0");
  }

 private:
  absl::Mutex mu_;
  int64_t last_ = 1000;
  std::vector<FeedEvent> events_;
};

PiiKeyring TestKeys() {
  auto ring = PiiKeyring::Create({{"k1", std::string(32, 'k')}}, "k1");
  EXPECT_TRUE(ring.ok());
  return *std::move(ring);
}

class WebhookEngineTest : public simpul::testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    pool_ = std::make_unique<RedisPool>(ServerOptions());
    store_ = std::make_unique<WebhookStore>(pool_.get(), kPrefix);
    hub_ = std::make_unique<EventFeedHub>(events_, absl::Milliseconds(50));
    policy_.allow_http = true;
    policy_.allow_cidrs = {"127.0.0.1/32"};
    admin_ = std::make_unique<WebhookAdmin>(*store_, keys_, clock_, AdminOptions());
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
    engine_.reset();
  }

  WebhookAdminOptions AdminOptions() {
    WebhookAdminOptions o;
    o.url_policy = policy_;
    o.wake = [this] {
      if (engine_) engine_->Wake();
    };
    return o;
  }
  WebhookEngineOptions FastOptions() {
    WebhookEngineOptions o;
    o.url_policy = policy_;
    o.request_timeout = absl::Milliseconds(400);
    o.retry = WebhookRetryPolicy{.initial = absl::Milliseconds(20),
                                 .max = absl::Milliseconds(100),
                                 .jitter = 0.2,
                                 .window = absl::Seconds(30)};
    o.poll_interval = absl::Milliseconds(20);
    o.sender_threads = 4;
    o.lease_ttl = absl::Seconds(2);
    return o;
  }
  std::unique_ptr<WebhookEngine> MakeEngine(WebhookEngineOptions options) {
    return std::make_unique<WebhookEngine>(*store_, events_, *hub_, nullptr, keys_, clock_, nullptr,
                                           options);
  }
  v1::CreateWebhookResponse Create(const Identity& caller, const std::string& url,
                                   std::vector<std::string> kinds = {}) {
    v1::CreateWebhookRequest req;
    req.set_url(url);
    for (auto& k : kinds) req.add_event_kinds(k);
    auto created = admin_->Create(caller, req);
    EXPECT_THAT(created.status(), IsOk());
    return created.ok() ? *created : v1::CreateWebhookResponse();
  }

  FakeEvents events_;
  PiiKeyring keys_ = TestKeys();
  SystemClock clock_;
  WebhookUrlPolicy policy_;
  std::unique_ptr<WebhookStore> store_;
  std::unique_ptr<EventFeedHub> hub_;
  std::unique_ptr<WebhookAdmin> admin_;
  std::unique_ptr<WebhookEngine> engine_;
};

TEST_F(WebhookEngineTest, CreationRefusesPrivateTargetsUnlessAllowListed) {
  WebhookAdminOptions strict;  // no allow-list, https only
  WebhookAdmin admin(*store_, keys_, clock_, strict);
  const Identity channel = simpul::testing::ChannelCaller("sms-1708");
  for (const char* url : {"https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data",
                          "https://localhost/hook", "https://127.0.0.1:8443/", "https://[::1]/hook",
                          "https://[fd00::1]/", "http://example.org/"}) {
    v1::CreateWebhookRequest req;
    req.set_url(url);
    EXPECT_THAT(admin.Create(channel, req),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("url")))
        << url;
  }
  // A name that resolves to a private address is refused like the address.
  WebhookAdminOptions faked = strict;
  faked.resolve = [](const std::string& host) -> absl::StatusOr<std::vector<std::string>> {
    if (host == "rebind.example") return std::vector<std::string>{"10.1.2.3"};
    return std::vector<std::string>{"93.184.216.34"};
  };
  WebhookAdmin resolving(*store_, keys_, clock_, faked);
  v1::CreateWebhookRequest req;
  req.set_url("https://rebind.example/hook");
  EXPECT_THAT(resolving.Create(channel, req),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("10.1.2.3")));
  req.set_url("https://hooks.example/in");
  EXPECT_THAT(resolving.Create(channel, req).status(), IsOk());
  // Nothing was stored for the refused ones.
  EXPECT_EQ(store_->All()->size(), 1u);
  // Allow-listed loopback (the local demo and these tests) is accepted.
  EXPECT_THAT(admin_
                  ->Create(channel,
                           [] {
                             v1::CreateWebhookRequest r;
                             r.set_url("http://127.0.0.1:9/hook");
                             return r;
                           }())
                  .status(),
              IsOk());
}

TEST_F(WebhookEngineTest, OwnersManageTheirOwnAndTheSecretIsStoredSealed) {
  const Identity sms = simpul::testing::ChannelCaller("sms-1708");
  const Identity app = simpul::testing::ChannelCaller("app-x");
  auto created = Create(sms, "http://127.0.0.1:9/hook");
  const std::string id = created.webhook().id();
  EXPECT_THAT(created.secret(), ::testing::StartsWith("whsec_"));
  v1::GetWebhookRequest get;
  get.set_id(id);
  EXPECT_THAT(admin_->Get(sms, get).status(), IsOk());
  EXPECT_THAT(admin_->Get(app, get), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(admin_->Get(simpul::testing::PlatformAdmin(), get).status(), IsOk());
  EXPECT_THAT(admin_->Get(simpul::testing::AgencyOperator("kota-bogor"), get),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // The secret is nowhere in Redis in clear.
  auto raw = pool_->Command({"HGET", store_->SubsKey(), id});
  ASSERT_THAT(raw.status(), IsOk());
  EXPECT_THAT(raw->str, Not(HasSubstr(created.secret())));
  EXPECT_THAT(raw->str, Not(HasSubstr(created.secret().substr(6))));
  // Bad fields name themselves and change nothing.
  v1::UpdateWebhookRequest upd;
  upd.set_id(id);
  upd.set_url("https://10.0.0.1/x");
  upd.add_update_mask("url");
  EXPECT_THAT(admin_->Update(sms, upd),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("url")));
  EXPECT_EQ(admin_->Get(sms, get)->url(), "http://127.0.0.1:9/hook");
  v1::CreateWebhookRequest bad;
  bad.set_url("http://127.0.0.1:9/hook");
  bad.add_event_kinds("verify complaint");
  EXPECT_THAT(admin_->Create(sms, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event_kinds[0]")));
}

TEST_F(WebhookEngineTest, DeliveriesSayTheStateInTheWebhooksLanguage) {
  const Identity sms = simpul::testing::ChannelCaller("sms-1708");
  const Identity bogor = simpul::testing::AgencyAdmin("kota-bogor");
  // Channels' webhooks speak Bahasa Indonesia, agencies' English, unless they choose.
  EXPECT_EQ(Create(sms, "http://127.0.0.1:9/a").webhook().lang(), "id");
  EXPECT_EQ(Create(bogor, "http://127.0.0.1:9/b").webhook().lang(), "en");
  v1::CreateWebhookRequest english;
  english.set_url("http://127.0.0.1:9/c");
  english.set_lang("EN");
  auto created = admin_->Create(sms, english);
  ASSERT_THAT(created.status(), IsOk());
  EXPECT_EQ(created->webhook().lang(), "en");
  v1::CreateWebhookRequest klingon = english;
  klingon.set_lang("tlh");
  EXPECT_THAT(admin_->Create(sms, klingon),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lang")));
  v1::UpdateWebhookRequest upd;
  upd.set_id(created->webhook().id());
  upd.set_lang("id");
  upd.add_update_mask("lang");
  auto updated = admin_->Update(sms, upd);
  ASSERT_THAT(updated.status(), IsOk());
  EXPECT_EQ(updated->lang(), "id");

  v1::WatchComplaintEventsResponse view;
  view.set_cursor("1-0");
  view.mutable_public_event()->set_to_state(v1::STATE_ARCHIVED);
  view.mutable_public_event()->set_archive_reason(v1::ARCHIVE_REASON_DUPLICATE);
  EXPECT_THAT(WebhookBody("wh_1", "wh_1:1-0", view, Lang::kIndonesian),
              HasSubstr(R"("lang":"id","status_note":"Ditutup tanpa tindak lanjut (duplikat )"
                        R"(laporan lain).")"));
  view.mutable_public_event()->set_to_state(v1::STATE_IN_PROGRESS);
  EXPECT_THAT(WebhookBody("wh_1", "wh_1:1-0", view, Lang::kEnglish),
              HasSubstr(R"("lang":"en","status_note":"The responsible unit is working on it.")"));
}

TEST_F(WebhookEngineTest, FanOutAndCursorAdvanceAreOneAtomicStep) {
  auto created = Create(simpul::testing::ChannelCaller("sms-1708"), "http://127.0.0.1:9/h");
  const std::string id = created.webhook().id();
  WebhookStore::FanOutItem item;
  item.webhook_id = id;
  item.queued.mutable_delivery()->set_delivery_id(id + ":5-0");
  ASSERT_THAT(store_->FanOut(std::nullopt, "4-0", {}).status(), IsOk());
  // A stale expected cursor (another dispatcher moved it) writes nothing at all.
  EXPECT_EQ(*store_->FanOut(std::string("3-0"), "5-0", {item}), false);
  EXPECT_EQ(store_->Pending(id, 10)->size(), 0u);
  EXPECT_EQ(**store_->Cursor(), "4-0");
  EXPECT_EQ(*store_->FanOut(std::string("4-0"), "5-0", {item}), true);
  EXPECT_EQ(store_->Pending(id, 10)->size(), 1u);
  EXPECT_EQ(**store_->Cursor(), "5-0");
  // The same batch again (a dispatcher that lost its lease) is refused: no duplicate.
  EXPECT_EQ(*store_->FanOut(std::string("4-0"), "5-0", {item}), false);
  EXPECT_EQ(store_->Pending(id, 10)->size(), 1u);
}

TEST_F(WebhookEngineTest, AWebhooksBacklogIsBoundedAndWhatDidNotFitIsCounted) {
  const std::string full =
      Create(simpul::testing::ChannelCaller("sms-1708"), "http://127.0.0.1:9/a").webhook().id();
  const std::string other =
      Create(simpul::testing::ChannelCaller("app-x"), "http://127.0.0.1:9/b").webhook().id();
  auto item = [](const std::string& id, int n) {
    WebhookStore::FanOutItem i;
    i.webhook_id = id;
    i.queued.mutable_delivery()->set_delivery_id(absl::StrCat(id, ":", n, "-0"));
    return i;
  };
  std::optional<std::string> cursor;
  int64_t dropped = -1;
  // A receiver that never answers: its queue stops at 3; another webhook is not affected.
  for (int n = 1; n <= 5; ++n) {
    const std::string next = absl::StrCat(n, "-0");
    std::vector<WebhookStore::FanOutItem> batch = {item(full, n)};
    if (n <= 2) batch.push_back(item(other, n));  // a webhook below its bound
    ASSERT_TRUE(*store_->FanOut(cursor, next, batch, 3, &dropped));
    EXPECT_EQ(dropped, n <= 3 ? 0 : 1) << n;
    cursor = next;
  }
  EXPECT_EQ(store_->Pending(full, 10)->size(), 3u);
  EXPECT_EQ(*store_->Overflow(full), 2);
  EXPECT_EQ(store_->Pending(other, 10)->size(), 2u);
  EXPECT_EQ(*store_->Overflow(other), 0);
  // Without a bound (0) everything queues; deleting a webhook removes its counter too.
  ASSERT_TRUE(*store_->FanOut(cursor, "6-0", {item(full, 6)}, 0, &dropped));
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ(store_->Pending(full, 10)->size(), 4u);
  ASSERT_TRUE(*store_->Delete(full));
  EXPECT_TRUE(pool_->Command({"EXISTS", store_->OverflowKey(full)})->integer == 0);
}

TEST_F(WebhookEngineTest, LeasesLetOneHolderRunAtATime) {
  EXPECT_TRUE(*store_->HoldLease("dispatch", "replica-a", absl::Milliseconds(300)));
  EXPECT_FALSE(*store_->HoldLease("dispatch", "replica-b", absl::Seconds(5)));
  EXPECT_TRUE(*store_->HoldLease("dispatch", "replica-a", absl::Milliseconds(300)));  // renewed
  absl::SleepFor(absl::Milliseconds(400));  // replica-a died: its lease runs out
  EXPECT_TRUE(*store_->HoldLease("dispatch", "replica-b", absl::Seconds(5)));
  EXPECT_FALSE(*store_->HoldLease("dispatch", "replica-a", absl::Seconds(5)));
  ASSERT_THAT(store_->ReleaseLease("dispatch", "replica-a"), IsOk());  // not its own: kept
  EXPECT_FALSE(*store_->HoldLease("dispatch", "replica-c", absl::Seconds(5)));
  ASSERT_THAT(store_->ReleaseLease("dispatch", "replica-b"), IsOk());
  EXPECT_TRUE(*store_->HoldLease("dispatch", "replica-c", absl::Seconds(5)));

  // Two running engines (two replicas) on one store: each event is queued once.
  const Identity sms = simpul::testing::ChannelCaller("sms-1708");
  auto created = Create(sms, "http://127.0.0.1:9/h");
  ASSERT_THAT(store_->ReleaseLease("dispatch", "replica-c"), IsOk());
  engine_ = MakeEngine(FastOptions());
  auto second = MakeEngine(FastOptions());
  hub_->Start();
  engine_->Start();
  second->Start();
  for (int i = 0; i < 100 && !store_->Cursor()->has_value(); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  for (int seq = 1; seq <= 20; ++seq) events_.Add("CASE-A", seq, "sms-1708");
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (**store_->Cursor() != *events_.LatestEventCursor() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  second->Stop();
  engine_->Stop();
  auto pending = store_->Pending(created.webhook().id(), 100);
  ASSERT_THAT(pending.status(), IsOk());
  std::set<std::string> ids;
  for (const auto& q : *pending) ids.insert(q.delivery().delivery_id());
  EXPECT_EQ(pending->size(), 20u);
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(WebhookEngineTest, ARestartResumesFromTheStoredCursorWithoutLossOrDuplicates) {
  const Identity sms = simpul::testing::ChannelCaller("sms-1708");
  auto created = Create(sms, "http://127.0.0.1:9/h");
  const std::string id = created.webhook().id();
  {
    auto engine = MakeEngine(FastOptions());
    ASSERT_THAT(engine->DispatchOnce().status(), IsOk());  // first run: sets the cursor
    events_.Add("CASE-A", 1, "sms-1708");
    events_.Add("CASE-A", 2, "sms-1708");
    events_.Add("CASE-B", 1, "other-channel");  // not the owner's: never queued
    EXPECT_EQ(*engine->DispatchOnce(), 3);
  }  // "crash": a new engine (another process) continues
  events_.Add("CASE-A", 3, "sms-1708");
  events_.Add("CASE-C", 1, "sms-1708");
  auto engine = MakeEngine(FastOptions());
  EXPECT_EQ(*engine->DispatchOnce(), 2);
  EXPECT_EQ(*engine->DispatchOnce(), 0);
  auto pending = store_->Pending(id, 100);
  ASSERT_THAT(pending.status(), IsOk());
  std::vector<std::string> ids;
  for (const auto& q : *pending)
    ids.push_back(q.delivery().complaint_id() + "/" + q.delivery().cursor());
  EXPECT_THAT(ids, ::testing::ElementsAre("CASE-A/1001-0", "CASE-A/1002-0", "CASE-A/1004-0",
                                          "CASE-C/1005-0"));
  // The body is the owner's view: a channel gets the public event, no internal fields.
  const std::string& body = (*pending)[0].body();
  EXPECT_THAT(body, HasSubstr("\"public_event\""));
  EXPECT_THAT(body, HasSubstr("\"delivery_id\":\"" + id + ":1001-0\""));
  EXPECT_THAT(body, Not(HasSubstr("region_code")));
  EXPECT_THAT(body, Not(HasSubstr("\"event\"")));
}

// Verified checks every accepted request's signature with `secret` and returns the parsed
// delivery ids in arrival order.
std::vector<std::string> VerifiedIds(const std::vector<WebhookReceiver::Request>& accepted,
                                     const std::string& secret) {
  std::vector<std::string> out;
  for (const auto& r : accepted) {
    EXPECT_THAT(
        VerifyWebhookSignature(r.headers.at("simpul-signature"), secret, r.body, absl::Now()),
        IsOk());
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    out.push_back(r.headers.at("simpul-delivery"));
  }
  return out;
}

TEST_F(WebhookEngineTest, EveryEventArrivesInOrderThrough500sTimeoutsAndEarlyCloses) {
  auto receiver = WebhookReceiver::Start();
  ASSERT_THAT(receiver.status(), IsOk());
  (*receiver)->SetSleep(absl::Seconds(1));  // past the 400 ms timeout
  (*receiver)->Script({Behaviour::kError500, Behaviour::kSleep, Behaviour::kCloseEarly,
                       Behaviour::kError500, Behaviour::kOk, Behaviour::kCloseEarly});
  auto created = Create(simpul::testing::ChannelCaller("sms-1708"), (*receiver)->url());
  engine_ = MakeEngine(FastOptions());
  hub_->Start();
  engine_->Start();
  // Wait for the dispatcher's first run (it starts at the newest event).
  for (int i = 0; i < 100 && !store_->Cursor()->has_value(); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::vector<std::string> expected;
  for (int seq = 1; seq <= 4; ++seq) {
    for (const char* id : {"CASE-A", "CASE-B"}) {
      const std::string cursor = events_.Add(id, seq, "sms-1708");
      expected.push_back(created.webhook().id() + ":" + cursor);
    }
  }
  events_.Add("CASE-X", 1, "another-channel");
  ASSERT_TRUE((*receiver)->WaitFor(
      [&](const auto&) {
        std::set<std::string> got;
        for (const auto& r : (*receiver)->accepted()) got.insert(r.headers.at("simpul-delivery"));
        return got.size() == expected.size();
      },
      absl::Seconds(20)));
  const std::vector<std::string> ids = VerifiedIds((*receiver)->accepted(), created.secret());
  // At least once, in order: deduplicated by delivery id, the arrival order is the event order.
  std::vector<std::string> deduped;
  for (const auto& id : ids) {
    if (std::find(deduped.begin(), deduped.end(), id) == deduped.end()) deduped.push_back(id);
  }
  EXPECT_EQ(deduped, expected);
  // The failures were real: the receiver saw the 500s, the timeout and the early closes.
  EXPECT_GE((*receiver)->requests().size(), expected.size() + 5);
  auto log = admin_->ListDeliveries(simpul::testing::ChannelCaller("sms-1708"), [&] {
    v1::ListWebhookDeliveriesRequest r;
    r.set_id(created.webhook().id());
    r.set_state(v1::DELIVERY_STATE_DELIVERED);
    return r;
  }());
  ASSERT_THAT(log.status(), IsOk());
  ASSERT_EQ(log->deliveries_size(), static_cast<int>(expected.size()));
  const v1::WebhookDelivery& first = log->deliveries(log->deliveries_size() - 1);
  EXPECT_EQ(first.delivery_id(), expected[0]);
  EXPECT_EQ(first.attempts(), 5);  // 500, timeout, close, 500, 200
  EXPECT_EQ(first.last_http_status(), 200);
}

TEST_F(WebhookEngineTest, ADeadReceiverNeitherDelaysAHealthyOneNorLosesItsEvents) {
  auto healthy = WebhookReceiver::Start();
  auto dead = WebhookReceiver::Start();
  ASSERT_THAT(healthy.status(), IsOk());
  ASSERT_THAT(dead.status(), IsOk());
  (*dead)->SetDefault(Behaviour::kSleep);
  (*dead)->SetSleep(absl::Seconds(2));
  const Identity sms = simpul::testing::ChannelCaller("sms-1708");
  auto good = Create(sms, (*healthy)->url());
  auto bad = Create(sms, (*dead)->url("/dead"));
  WebhookEngineOptions options = FastOptions();
  options.retry.window = absl::Seconds(2);  // the shortened 24 h
  engine_ = MakeEngine(options);
  hub_->Start();
  engine_->Start();
  for (int i = 0; i < 100 && !store_->Cursor()->has_value(); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::Duration worst;
  for (int seq = 1; seq <= 5; ++seq) {
    const size_t before = (*healthy)->accepted().size();
    const absl::Time sent = absl::Now();
    events_.Add("CASE-A", seq, "sms-1708");
    ASSERT_TRUE((*healthy)->WaitFor(
        [&](const auto&) { return (*healthy)->accepted().size() > before; }, absl::Seconds(5)));
    worst = std::max(worst, (*healthy)->accepted().back().received - sent);
  }
  // The dead receiver holds its sender for the 400 ms timeout per attempt; the healthy one is
  // served meanwhile (an event reaches it well within one timeout).
  EXPECT_LT(worst, absl::Milliseconds(350)) << worst;
  std::cout << "healthy receiver worst latency: " << worst << "\n";

  // After the window every delivery of the dead receiver is a dead letter, in order.
  v1::ListWebhookDeliveriesRequest dead_req;
  dead_req.set_id(bad.webhook().id());
  dead_req.set_state(v1::DELIVERY_STATE_DEAD);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline && admin_->ListDeliveries(sms, dead_req)->deliveries_size() < 5) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto dead_log = admin_->ListDeliveries(sms, dead_req);
  ASSERT_THAT(dead_log.status(), IsOk());
  ASSERT_EQ(dead_log->deliveries_size(), 5);
  EXPECT_EQ(dead_log->deliveries(0).state(), v1::DELIVERY_STATE_DEAD);
  EXPECT_EQ(dead_log->deliveries(0).last_error(), "timeout");

  // The receiver recovers; a re-drive delivers every dead letter, in order.
  (*dead)->SetDefault(Behaviour::kOk);
  const size_t before = (*dead)->accepted().size();
  v1::RedriveWebhookDeliveriesRequest redrive;
  redrive.set_id(bad.webhook().id());
  auto moved = admin_->Redrive(sms, redrive);
  ASSERT_THAT(moved.status(), IsOk());
  EXPECT_EQ(moved->redriven(), 5);
  ASSERT_TRUE((*dead)->WaitFor(
      [&](const auto&) { return (*dead)->accepted().size() >= before + 5; }, absl::Seconds(10)));
  const std::vector<WebhookReceiver::Request> all = (*dead)->accepted();
  const std::vector<WebhookReceiver::Request> after(all.begin() + before, all.end());
  const std::vector<std::string> ids = VerifiedIds(after, bad.secret());
  std::vector<std::string> expected;
  for (int i = dead_log->deliveries_size() - 1; i >= 0; --i) {
    expected.push_back(dead_log->deliveries(i).delivery_id());
  }
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(admin_->ListDeliveries(sms, dead_req)->deliveries_size(), 0);
}

TEST_F(WebhookEngineTest, RotationSignsWithBothSecretsDuringTheGracePeriod) {
  auto receiver = WebhookReceiver::Start();
  ASSERT_THAT(receiver.status(), IsOk());
  const Identity sms = simpul::testing::ChannelCaller("sms-1708");
  auto created = Create(sms, (*receiver)->url());
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_id(created.webhook().id());
  auto rotated = admin_->Rotate(sms, rotate);
  ASSERT_THAT(rotated.status(), IsOk());
  EXPECT_NE(rotated->secret(), created.secret());
  engine_ = MakeEngine(FastOptions());
  ASSERT_THAT(engine_->DispatchOnce().status(), IsOk());
  events_.Add("CASE-A", 1, "sms-1708");
  ASSERT_THAT(engine_->DispatchOnce().status(), IsOk());
  ASSERT_THAT(engine_->AttemptHead(created.webhook().id()).status(), IsOk());
  const std::vector<WebhookReceiver::Request> accepted = (*receiver)->accepted();
  ASSERT_EQ(accepted.size(), 1u);
  const WebhookReceiver::Request& r = accepted[0];
  const std::string& header = r.headers.at("simpul-signature");
  EXPECT_EQ(std::count(header.begin(), header.end(), 'v'), 2) << header;
  EXPECT_THAT(VerifyWebhookSignature(header, rotated->secret(), r.body, absl::Now()), IsOk());
  EXPECT_THAT(VerifyWebhookSignature(header, created.secret(), r.body, absl::Now()), IsOk());
}

TEST(WebhookHttpTest, RedirectsAreNotFollowedAndEveryConnectionIsCheckedAgain) {
  auto target = WebhookReceiver::Start();
  auto redirector = WebhookReceiver::Start();
  ASSERT_THAT(target.status(), IsOk());
  ASSERT_THAT(redirector.status(), IsOk());
  (*redirector)->SetDefault(Behaviour::kRedirect);
  (*redirector)->SetRedirect((*target)->url("/stolen"));
  WebhookUrlPolicy allowed;
  allowed.allow_http = true;
  allowed.allow_cidrs = {"127.0.0.1/32"};
  auto url = ParseWebhookUrl((*redirector)->url(), allowed);
  ASSERT_THAT(url.status(), IsOk());
  WebhookPostResult redirected =
      PostWebhook(allowed, *url, {}, "{}", absl::Seconds(2), /*tls=*/nullptr);
  EXPECT_FALSE(redirected.delivered());
  EXPECT_EQ(redirected.http_status, 302);
  EXPECT_THAT(redirected.error, HasSubstr("not followed"));
  EXPECT_EQ((*redirector)->requests().size(), 1u);
  EXPECT_TRUE((*target)->requests().empty());

  // The same URL under a policy without the allow-list (as if the name now resolved to
  // loopback: DNS rebinding) reaches nothing: the address is checked before connecting.
  WebhookUrlPolicy strict;
  strict.allow_http = true;
  auto by_name =
      ParseWebhookUrl(absl::StrCat("http://localhost:", (*target)->port(), "/x"), strict);
  ASSERT_THAT(by_name.status(), IsOk());
  WebhookPostResult refused = PostWebhook(strict, *by_name, {}, "{}", absl::Seconds(2), nullptr);
  EXPECT_THAT(refused.error, HasSubstr("address refused"));
  EXPECT_THAT(refused.error, HasSubstr("loopback"));
  EXPECT_TRUE((*target)->requests().empty());
  // Allowed, it arrives.
  auto direct = ParseWebhookUrl((*target)->url(), allowed);
  EXPECT_TRUE(
      PostWebhook(allowed, *direct, {{"Simpul-Event", "X"}}, "{}", absl::Seconds(2), nullptr)
          .delivered());
  EXPECT_EQ((*target)->accepted().size(), 1u);
}

}  // namespace
}  // namespace simpul::complaints
