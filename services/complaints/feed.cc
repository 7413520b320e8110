// The complaint event feed: views, request checks and the shared stream reader (feed.h).
#include "services/complaints/feed.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/backoff.h"
#include "common/field_rules.h"
#include "common/logging.h"
#include "services/complaints/access.h"

namespace simpul::complaints {

bool IsStreamId(std::string_view cursor) {
  const size_t dash = cursor.find('-');
  if (dash == std::string_view::npos) return false;
  auto digits = [](std::string_view part) {
    return !part.empty() && part.size() <= 20 &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(cursor.substr(0, dash)) && digits(cursor.substr(dash + 1));
}

absl::Status ValidateWatchRequest(const Identity& caller,
                                  const v1::WatchComplaintEventsRequest& req) {
  FieldViolations v;
  const std::string& c = req.cursor();
  if (!c.empty() && c != "$" && c != "0" && !IsStreamId(c)) {
    v.Add("cursor",
          "expected the cursor of an event (\"<ms>-<seq>\"), \"$\" or empty (from now) or \"0\" "
          "(every retained event)");
  }
  if (!req.agency_id().empty()) CheckSlug(v, "agency_id", req.agency_id());
  if (!req.unit_id().empty()) CheckSlug(v, "unit_id", req.unit_id());
  for (int i = 0; i < req.actions_size(); ++i) {
    const std::string& a = req.actions(i);
    const bool word =
        !a.empty() && a.size() <= 64 && absl::ascii_isupper(a[0]) &&
        std::all_of(a.begin(), a.end(), [](char ch) { return absl::ascii_isalpha(ch); });
    if (!word) {
      v.Add(absl::StrCat("actions[", i, "]"),
            "expected an action name such as \"VerifyComplaint\" (letters only)");
    }
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  const auto role = caller.principal.role();
  const bool member =
      role == common::v1::ROLE_AGENCY_ADMIN || role == common::v1::ROLE_AGENCY_OPERATOR;
  if (!req.agency_id().empty()) {
    if (member && req.agency_id() != caller.principal.agency_id()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the caller acts for agency ", caller.principal.agency_id(), ", not ", req.agency_id()));
    }
  }
  return absl::OkStatus();
}

std::string PublicReplayStart(const std::string& cursor, absl::Time now) {
  const int64_t window_start = absl::ToUnixMillis(now - kPublicReplayWindow);
  int64_t ms = 0;
  if (cursor != "0") {
    const size_t dash = cursor.find('-');
    if (!absl::SimpleAtoi(cursor.substr(0, dash), &ms)) ms = 0;
  }
  if (ms >= window_start) return cursor;
  return absl::StrCat(window_start, "-0");
}

v1::PublicComplaintEvent PublicEvent(const v1::ComplaintEvent& e) {
  v1::PublicComplaintEvent out;
  out.set_event_id(e.event_id());
  out.set_complaint_id(e.complaint_id());
  out.set_sequence(e.sequence());
  out.set_action(e.action());
  *out.mutable_time() = e.time();
  out.set_from_state(e.from_state());
  out.set_to_state(e.to_state());
  out.set_report_type(e.report_type());
  out.set_channel(e.channel());
  out.set_agency_id(e.agency_id());
  out.set_unit_id(e.unit_id());
  out.set_service_id(e.service_id());
  *out.mutable_deadlines() = e.deadlines();
  out.set_rating(e.rating());
  out.set_archive_reason(e.archive_reason());
  *out.mutable_file_time() = e.file_time();
  return out;
}

absl::StatusOr<std::optional<v1::WatchComplaintEventsResponse>> EventForWatcher(
    const Identity& caller, const v1::WatchComplaintEventsRequest& req, const FeedEvent& fed,
    const AudienceLookup& lookup) {
  using Out = std::optional<v1::WatchComplaintEventsResponse>;
  const v1::ComplaintEvent& e = fed.event;
  // The request's filters.
  if (!req.actions().empty() &&
      std::find(req.actions().begin(), req.actions().end(), e.action()) == req.actions().end()) {
    return Out();
  }
  if (!req.unit_id().empty() && e.unit_id() != req.unit_id() &&
      !(e.holder_changed() && e.previous_unit_id() == req.unit_id())) {
    return Out();
  }
  if (!req.agency_id().empty() && e.agency_id() != req.agency_id() &&
      !(e.holder_changed() && e.previous_agency_id() == req.agency_id())) {
    return Out();
  }

  v1::WatchComplaintEventsResponse out;
  out.set_cursor(fed.cursor);
  const auto role = caller.principal.role();
  if (IsCoordinator(caller)) {
    *out.mutable_event() = e;
    return Out(std::move(out));
  }
  if (role == common::v1::ROLE_AGENCY_ADMIN || role == common::v1::ROLE_AGENCY_OPERATOR) {
    const std::string& mine = caller.principal.agency_id();
    const bool holds = !e.agency_id().empty() && e.agency_id() == mine;
    const bool handed_away =
        e.holder_changed() && !e.previous_agency_id().empty() && e.previous_agency_id() == mine;
    if (mine.empty() || (!holds && !handed_away)) return Out();
    *out.mutable_event() = e;
    return Out(std::move(out));
  }
  if (!SeesPublicView(caller)) return Out();  // any other role sees nothing

  v1::EventAudience audience = e.audience();
  if (!e.has_audience()) {
    // An event from before issue #16: decide by the case as it is now.
    if (!lookup) return Out();
    absl::StatusOr<std::optional<v1::EventAudience>> found = lookup(e.complaint_id());
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Out();
    audience = **found;
  }
  bool visible = false;
  if (role == common::v1::ROLE_CHANNEL) {
    const auto& p = caller.principal;
    const std::string& channel = p.channel().empty() ? p.subject() : p.channel();
    visible = !channel.empty() && audience.channel_name() == channel;
  } else {
    visible = audience.publicly_listed();
  }
  if (!visible) return Out();
  *out.mutable_public_event() = PublicEvent(e);
  return Out(std::move(out));
}

// ---- EventFeedHub -----------------------------------------------------------------------

EventFeedHub::EventFeedHub(ComplaintEventSource& source, absl::Duration poll_block,
                           absl::Duration coalesce)
    : source_(source), poll_block_(poll_block), coalesce_(coalesce) {}

EventFeedHub::~EventFeedHub() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void EventFeedHub::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EventFeedHub::Stop() {
  std::vector<std::function<void()>> waiters;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w();
}

bool EventFeedHub::stopped() {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

uint64_t EventFeedHub::generation() {
  absl::MutexLock lock(&mu_);
  return generation_;
}

void EventFeedHub::WaitAsync(uint64_t seen_generation, std::function<void()> wake) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_ && generation_ == seen_generation) {
      waiters_.push_back(std::move(wake));
      return;
    }
  }
  wake();
}

void EventFeedHub::Run() {
  std::string cursor;
  Backoff backoff(Backoff::Options{.initial = absl::Milliseconds(50), .max = absl::Seconds(2)});
  while (!stopped()) {
    if (cursor.empty()) {
      auto latest = source_.LatestEventCursor();
      if (!latest.ok()) {
        Log(LogLevel::kWarn, "complaint event stream unavailable",
            {{"error", latest.status().ToString()}});
        absl::SleepFor(backoff.Next());
        continue;
      }
      cursor = *latest;
    }
    // The hub only needs to know that something arrived: one event is enough.
    auto events = source_.ReadEvents(cursor, 1, poll_block_);
    if (!events.ok()) {
      if (events.status().code() == absl::StatusCode::kOutOfRange) {
        cursor.clear();  // trimmed past us: continue from the newest event
      } else {
        Log(LogLevel::kWarn, "complaint event stream read failed",
            {{"error", events.status().ToString()}});
        absl::SleepFor(backoff.Next());
      }
      continue;
    }
    backoff.Reset();
    if (events->empty()) continue;
    // Skip to the newest event: the watchers read what they need themselves.
    auto latest = source_.LatestEventCursor();
    cursor = latest.ok() ? *latest : events->back().cursor;
    std::vector<std::function<void()>> waiters;
    {
      absl::MutexLock lock(&mu_);
      ++generation_;
      waiters.swap(waiters_);
    }
    for (auto& w : waiters) w();
    if (coalesce_ > absl::ZeroDuration()) {
      // Let more events arrive before the next look (Stop cuts the pause short).
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), coalesce_);
    }
  }
}

}  // namespace simpul::complaints
