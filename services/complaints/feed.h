// The complaint event feed (WatchComplaintEvents, issue #16): who sees which event in which
// view, the request's checks, and EventFeedHub, the one reader per process that tails the
// event stream and wakes the watchers waiting for news (the registry's ChangeFeedHub is the
// model). Each watcher reads the stream itself from its own cursor, at most kFeedBatch events
// at a time and only once the previous batch was written to its client, so a slow reader holds
// at most one batch in memory however far it falls behind; it never makes the stream or other
// watchers wait.
#ifndef SIMPUL_SERVICES_COMPLAINTS_FEED_H_
#define SIMPUL_SERVICES_COMPLAINTS_FEED_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/identity.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

namespace v1 = ::simpul::complaints::v1;

// Events one watcher reads (and buffers) at most at a time.
inline constexpr int kFeedBatch = 100;

// FeedEvent is one event of the stream with the cursor after it (its stream id).
struct FeedEvent {
  std::string cursor;
  v1::ComplaintEvent event;
};

// ComplaintEventSource reads the complaint event stream (RedisComplaintStore implements it).
class ComplaintEventSource {
 public:
  virtual ~ComplaintEventSource() = default;
  // ReadEvents returns up to `limit` events after `after` ("0": from the oldest retained), in
  // stream order, waiting up to `block` when there is none yet (zero: not at all).
  // OUT_OF_RANGE when events after `after` were trimmed or `after` is ahead of the stream;
  // INVALID_ARGUMENT for a malformed cursor.
  virtual absl::StatusOr<std::vector<FeedEvent>> ReadEvents(std::string_view after, int limit,
                                                            absl::Duration block) = 0;
  // LatestEventCursor is the id of the newest event ever added ("0-0": none).
  virtual absl::StatusOr<std::string> LatestEventCursor() = 0;
};

// IsStreamId: `cursor` has the form "<ms>-<seq>" (decimal numbers).
bool IsStreamId(std::string_view cursor);

// ValidateWatchRequest checks a WatchComplaintEvents request and that the caller may watch
// what it asks: agency members only their own agency (agency_id empty or theirs), only
// coordinators and agency members may filter by agency. INVALID_ARGUMENT names the field.
absl::Status ValidateWatchRequest(const Identity& caller,
                                  const v1::WatchComplaintEventsRequest& req);

// kPublicReplayWindow is how far back an anonymous caller may start: PublicReplayStart is
// `cursor` ("0" or an event's "<ms>-<seq>") moved up to the start of the window when older.
inline constexpr absl::Duration kPublicReplayWindow = absl::Hours(1);
std::string PublicReplayStart(const std::string& cursor, absl::Time now);

// CaseFacts are what deciding on an event from before issue #16 (no audience) needs from its
// case: looked up (once per event) only for such events.
using AudienceLookup =
    std::function<absl::StatusOr<std::optional<v1::EventAudience>>(const std::string& id)>;

// EventForWatcher is the feed message for `event` as `caller` sees it, or nullopt when the
// caller may not see it or the request filters it out:
// - coordinators (platform admins): every event, the full event;
// - agency admins and operators: the events of cases their agency holds after the event, and
//   the event that moved a case away from it (forwarding), the full event;
// - channels: the events of the cases filed through them (EventAudience.channel_name), in the
//   public event;
// - the public and dashboards: the events after which the case is publicly listed, in the
//   public event.
// Events published before issue #16 carry no audience: `lookup` then reads it from the case as
// it is now (so an old event of a case that was public then but is secret now is not shown).
absl::StatusOr<std::optional<v1::WatchComplaintEventsResponse>> EventForWatcher(
    const Identity& caller, const v1::WatchComplaintEventsRequest& req, const FeedEvent& event,
    const AudienceLookup& lookup);

// PublicEvent is the public view of an event (PublicComplaintEvent).
v1::PublicComplaintEvent PublicEvent(const v1::ComplaintEvent& event);

// EventFeedHub tails the stream on one thread with XREAD BLOCK (`poll_block` at most) and
// wakes the watchers waiting for news, so an idle watcher costs no Redis call. After a wake it
// lets `coalesce` pass before it looks again, so under a stream of filings the watchers and the
// webhook dispatcher (each of which reads the stream itself) run once per batch of events
// instead of once per event: at 1,000 filings/s a wake per filing cost the complaint service
// and Redis some 6 round trips per filing. News reaches a watcher at most `coalesce` later.
class EventFeedHub {
 public:
  explicit EventFeedHub(ComplaintEventSource& source,
                        absl::Duration poll_block = absl::Milliseconds(500),
                        absl::Duration coalesce = absl::Milliseconds(5));
  ~EventFeedHub();  // stops and joins the tail thread

  void Start();
  // Stop wakes every waiter; the tail thread ends within one poll. stopped() is true after.
  void Stop();
  bool stopped();

  // generation counts the batches of new events seen so far. Read it before reading the
  // stream, then pass it to WaitAsync so that no event that arrives in between is missed.
  uint64_t generation();
  // WaitAsync calls `wake` once (on the hub's thread, or at once on the caller's thread) when
  // the generation has moved past `seen_generation` or the hub stops.
  void WaitAsync(uint64_t seen_generation, std::function<void()> wake);

 private:
  void Run();
  ComplaintEventSource& source_;
  const absl::Duration poll_block_;
  const absl::Duration coalesce_;
  absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> waiters_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_FEED_H_
