// Unit tests of the complaint event feed's views and request checks (services/complaints/feed.h).
#include "services/complaints/feed.h"

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/identities.h"
#include "tests/testing/status_matchers.h"

namespace simpul::complaints {
namespace {

using ::simpul::testing::IsOk;
using ::simpul::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kA[] = "kab-padang-pariaman";
constexpr char kB[] = "kota-bogor";

// Event is an event of case `id` held by `agency` after it, filed through `channel`.
FeedEvent Event(const std::string& id, const std::string& agency, const std::string& channel,
                bool listed, const std::string& action = "VerifyComplaint") {
  FeedEvent fed;
  fed.cursor = absl::StrCat("1717372800000-", id.size());
  v1::ComplaintEvent& e = fed.event;
  e.set_event_id(absl::StrCat(id, "/2"));
  e.set_payload_version(1);
  e.set_complaint_id(id);
  e.set_sequence(2);
  e.set_action(action);
  e.set_from_state(v1::STATE_RECEIVED);
  e.set_to_state(v1::STATE_VERIFIED);
  e.set_agency_id(agency);
  e.set_unit_id(agency.empty() ? "" : absl::StrCat(agency, "-dukcapil"));
  e.set_region_code("13.05.01.2001");
  e.set_deadline_missed(true);
  e.mutable_audience()->set_channel_name(channel);
  e.mutable_audience()->set_publicly_listed(listed);
  return fed;
}

// Shown: what `caller` gets of `fed` (nullopt: nothing), failing the test on an error.
std::optional<v1::WatchComplaintEventsResponse> Shown(
    const Identity& caller, const FeedEvent& fed, const v1::WatchComplaintEventsRequest& req = {},
    const AudienceLookup& lookup = nullptr) {
  auto shown = EventForWatcher(caller, req, fed, lookup);
  EXPECT_TRUE(shown.ok()) << shown.status();
  return shown.ok() ? *shown : std::nullopt;
}

TEST(FeedViewTest, AgencyMembersSeeOnlyTheirAgencysCasesInFull) {
  const Identity a = simpul::testing::AgencyOperator(kA);
  const Identity a_admin = simpul::testing::AgencyAdmin(kA);
  const FeedEvent of_a = Event("CASE-A", kA, "sms-1708", false);
  const FeedEvent of_b = Event("CASE-B", kB, "sms-1708", true);
  const FeedEvent unrouted = Event("CASE-U", "", "public", false);

  auto shown = Shown(a, of_a);
  ASSERT_TRUE(shown.has_value());
  EXPECT_EQ(shown->cursor(), of_a.cursor);
  EXPECT_EQ(shown->event().complaint_id(), "CASE-A");
  EXPECT_EQ(shown->event().region_code(), "13.05.01.2001");  // the full event
  EXPECT_FALSE(shown->has_public_event());
  EXPECT_TRUE(Shown(a_admin, of_a).has_value());
  EXPECT_FALSE(Shown(a, of_b).has_value());  // B's case, even publicly listed
  EXPECT_FALSE(Shown(a, unrouted).has_value());
  EXPECT_FALSE(Shown(simpul::testing::AgencyOperator(kB), of_a).has_value());
}

TEST(FeedViewTest, AForwardingAwaySeesTheForwardButNothingAfter) {
  FeedEvent forward = Event("CASE-F", kB, "sms-1708", false, "ForwardComplaint");
  forward.event.set_holder_changed(true);
  forward.event.set_previous_agency_id(kA);
  const Identity a = simpul::testing::AgencyOperator(kA);
  EXPECT_TRUE(Shown(a, forward).has_value());
  EXPECT_TRUE(Shown(simpul::testing::AgencyOperator(kB), forward).has_value());
  EXPECT_FALSE(Shown(a, Event("CASE-F", kB, "sms-1708", false, "DisposeComplaint")).has_value());
}

TEST(FeedViewTest, ChannelsSeeOnlyTheirOwnCasesInThePublicEvent) {
  const Identity sms = simpul::testing::ChannelCaller("sms-1708");
  const Identity app = simpul::testing::ChannelCaller("app-lapor");
  const FeedEvent secret_of_sms = Event("CASE-S", kA, "sms-1708", /*listed=*/false);
  const FeedEvent listed_of_app = Event("CASE-P", kA, "app-lapor", /*listed=*/true);

  auto shown = Shown(sms, secret_of_sms);
  ASSERT_TRUE(shown.has_value());
  EXPECT_FALSE(shown->has_event());
  ASSERT_TRUE(shown->has_public_event());
  const v1::PublicComplaintEvent& p = shown->public_event();
  EXPECT_EQ(p.complaint_id(), "CASE-S");
  EXPECT_EQ(p.to_state(), v1::STATE_VERIFIED);
  EXPECT_EQ(p.agency_id(), kA);
  // The public event has no field for the region, the previous holder or a missed deadline.
  EXPECT_EQ(v1::PublicComplaintEvent::descriptor()->FindFieldByName("region_code"), nullptr);
  EXPECT_EQ(v1::PublicComplaintEvent::descriptor()->FindFieldByName("previous_agency_id"), nullptr);
  EXPECT_EQ(v1::PublicComplaintEvent::descriptor()->FindFieldByName("deadline_missed"), nullptr);
  EXPECT_EQ(v1::PublicComplaintEvent::descriptor()->FindFieldByName("audience"), nullptr);

  EXPECT_FALSE(Shown(sms, listed_of_app).has_value());  // another channel's case, even listed
  EXPECT_FALSE(Shown(app, secret_of_sms).has_value());
  EXPECT_TRUE(Shown(app, listed_of_app).has_value());
}

TEST(FeedViewTest, ThePublicAndDashboardsSeeOnlyListedCases) {
  const FeedEvent listed = Event("CASE-P", kA, "app-lapor", true);
  const FeedEvent secret = Event("CASE-S", kA, "app-lapor", false);
  for (const Identity& caller : {Identity::Public(), simpul::testing::DashboardCaller()}) {
    auto shown = Shown(caller, listed);
    ASSERT_TRUE(shown.has_value());
    EXPECT_TRUE(shown->has_public_event());
    EXPECT_FALSE(shown->has_event());
    EXPECT_FALSE(Shown(caller, secret).has_value());
  }
}

TEST(FeedViewTest, CoordinatorsSeeEverythingInFull) {
  const Identity coordinator = simpul::testing::PlatformAdmin();
  for (const FeedEvent& fed :
       {Event("CASE-A", kA, "sms", false), Event("CASE-U", "", "p", false)}) {
    auto shown = Shown(coordinator, fed);
    ASSERT_TRUE(shown.has_value());
    EXPECT_TRUE(shown->has_event());
  }
}

TEST(FeedViewTest, OldEventsWithoutAudienceAreDecidedByTheCase) {
  FeedEvent old = Event("CASE-O", kA, "", false);
  old.event.clear_audience();
  int lookups = 0;
  AudienceLookup lookup =
      [&](const std::string& id) -> absl::StatusOr<std::optional<v1::EventAudience>> {
    ++lookups;
    EXPECT_EQ(id, "CASE-O");
    v1::EventAudience audience;
    audience.set_channel_name("sms-1708");
    audience.set_publicly_listed(false);
    return std::optional<v1::EventAudience>(audience);
  };
  EXPECT_TRUE(Shown(simpul::testing::ChannelCaller("sms-1708"), old, {}, lookup).has_value());
  EXPECT_FALSE(Shown(simpul::testing::ChannelCaller("app-lapor"), old, {}, lookup).has_value());
  EXPECT_FALSE(Shown(Identity::Public(), old, {}, lookup).has_value());
  EXPECT_EQ(lookups, 3);
  // Agency members and coordinators need no lookup.
  EXPECT_TRUE(Shown(simpul::testing::AgencyOperator(kA), old, {}, lookup).has_value());
  EXPECT_EQ(lookups, 3);
  // A failed lookup fails the stream rather than guessing.
  AudienceLookup failing =
      [](const std::string&) -> absl::StatusOr<std::optional<v1::EventAudience>> {
    return absl::UnavailableError("redis down");
  };
  EXPECT_THAT(EventForWatcher(Identity::Public(), {}, old, failing).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(FeedViewTest, FiltersNarrowTheFeed) {
  const Identity coordinator = simpul::testing::PlatformAdmin();
  v1::WatchComplaintEventsRequest req;
  req.set_agency_id(kB);
  EXPECT_FALSE(Shown(coordinator, Event("CASE-A", kA, "s", false), req).has_value());
  EXPECT_TRUE(Shown(coordinator, Event("CASE-B", kB, "s", false), req).has_value());
  req.Clear();
  req.add_actions("PostFollowUp");
  EXPECT_FALSE(Shown(coordinator, Event("CASE-A", kA, "s", false), req).has_value());
  EXPECT_TRUE(Shown(coordinator, Event("CASE-A", kA, "s", false, "PostFollowUp"), req).has_value());
  req.Clear();
  req.set_unit_id(absl::StrCat(kA, "-dukcapil"));
  EXPECT_TRUE(Shown(coordinator, Event("CASE-A", kA, "s", false), req).has_value());
  EXPECT_FALSE(Shown(coordinator, Event("CASE-B", kB, "s", false), req).has_value());
}

TEST(FeedRequestTest, CursorsAndFiltersAreChecked) {
  const Identity a = simpul::testing::AgencyOperator(kA);
  v1::WatchComplaintEventsRequest req;
  for (const char* good : {"", "$", "0", "1717372800000-0", "1717372800000-17"}) {
    req.set_cursor(good);
    EXPECT_THAT(ValidateWatchRequest(a, req), IsOk()) << good;
  }
  for (const char* bad : {"garbage", "17-", "-3", "1-2-3", "12a-0", "99999999999999999999999-0"}) {
    req.set_cursor(bad);
    EXPECT_THAT(ValidateWatchRequest(a, req),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cursor")))
        << bad;
  }
  req.Clear();
  req.add_actions("verify complaint");
  EXPECT_THAT(ValidateWatchRequest(a, req),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("actions[0]")));
  req.Clear();
  req.set_agency_id(kB);
  EXPECT_THAT(ValidateWatchRequest(a, req),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(kA)));
  EXPECT_THAT(ValidateWatchRequest(simpul::testing::PlatformAdmin(), req), IsOk());
  req.set_agency_id("Not A Slug");
  EXPECT_THAT(ValidateWatchRequest(simpul::testing::PlatformAdmin(), req),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("agency_id")));
}

// Anonymous callers replay at most the last hour: "0" and older cursors start an hour ago.
TEST(FeedRequestTest, AnonymousReplayStartsAtMostAnHourBack) {
  const absl::Time now = absl::FromUnixMillis(1796600000000);  // 2026-12-06T23:33:20Z
  const std::string hour_ago = "1796596400000-0";
  EXPECT_EQ(PublicReplayStart("0", now), hour_ago);
  EXPECT_EQ(PublicReplayStart("1796500000000-7", now), hour_ago);
  EXPECT_EQ(PublicReplayStart("1796596399999-9", now), hour_ago);
  EXPECT_EQ(PublicReplayStart("1796596400000-3", now), "1796596400000-3");
  EXPECT_EQ(PublicReplayStart("1796599999000-0", now), "1796599999000-0");
}

// EndlessEvents always has a new event, as a stream under a steady load of filings has.
class EndlessEvents final : public ComplaintEventSource {
 public:
  absl::StatusOr<std::vector<FeedEvent>> ReadEvents(std::string_view, int,
                                                    absl::Duration) override {
    const int n = ++reads;
    FeedEvent fed;
    fed.cursor = absl::StrCat("1717372800000-", n);
    return std::vector<FeedEvent>{fed};
  }
  absl::StatusOr<std::string> LatestEventCursor() override {
    return absl::StrCat("1717372800000-", reads.load());
  }
  std::atomic<int> reads{0};
};

TEST(EventFeedHubTest, PausesAfterAWakeAndStopEndsThePause) {
  // With news at every look, the hub wakes its waiters once and then pauses (an hour here) before
  // it reads again: the stream is read once per pause however many events arrive meanwhile.
  EndlessEvents events;
  {
    EventFeedHub hub(events, absl::Milliseconds(50), absl::Hours(1));
    absl::Notification woken;
    hub.WaitAsync(hub.generation(), [&woken] { woken.Notify(); });
    hub.Start();
    woken.WaitForNotification();
    EXPECT_EQ(hub.generation(), 1u);
    EXPECT_EQ(events.reads.load(), 1);
    hub.Stop();  // ends the pause: the destructor's join returns
    EXPECT_TRUE(hub.stopped());
  }
  EXPECT_EQ(events.reads.load(), 1);
}

}  // namespace
}  // namespace simpul::complaints
