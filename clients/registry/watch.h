// RegistryWatch: one reconnecting WatchStandards stream on the registry's change feed, shared by
// any number of subscribers in a process (one stream, many watchers).
//
// The watch connects (waiting at most `connect_timeout` for the channel), reads the initial
// metadata (kWatchCursorMetadataKey: the cursor the stream starts after), tells every
// subscriber where the stream starts, then hands each event to the subscribers that asked for
// one of its entity types. When the stream ends it tells them (changes may be missed from then
// on), waits a jittered exponential backoff (common/backoff.h; reset by a stream that delivered
// an event or lasted `healthy_after`) and reconnects from its cursor: the cursor of the last
// event every subscriber accepted, so the registry replays whatever was missed. A cursor the
// registry no longer holds (OUT_OF_RANGE, or INVALID_ARGUMENT for a cursor) is announced to
// every subscriber as "resync needed" and the watch reconnects at once from now.
//
// A subscriber that fails to take an event (or a start) returns an error: the stream is
// cancelled and resumed after backoff from the last cursor every subscriber accepted, so every
// subscriber may see that event again (they must apply events idempotently).
//
// Give the channel keepalive settings if the network can silently drop connections: a
// half-open watch stream is only noticed by the transport.
#ifndef SIMPUL_CLIENTS_REGISTRY_WATCH_H_
#define SIMPUL_CLIENTS_REGISTRY_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/internal_identity.h"
#include "common/backoff.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::clients::registry {

// WatchStart says where a stream of the watch starts.
struct WatchStart {
  // The cursor the stream starts after: the registry's initial metadata, else the cursor it
  // resumed from; empty when neither is known (a registry that does not name it, from now).
  std::string cursor;
  // The stream resumes from an earlier cursor: nothing since the last event was missed.
  // Otherwise it watches from now and changes before `cursor` may have been missed.
  bool resumed = false;
  // The registry named `cursor` in its initial metadata: it accepted the stream, and from here
  // on no change is missed.
  bool confirmed = false;
};

// WatchSubscriber receives what a RegistryWatch's stream reports. The calls come from the
// watch's thread, one at a time, in the order of subscription; they must not call Subscribe
// or Unsubscribe.
class WatchSubscriber {
 public:
  virtual ~WatchSubscriber() = default;
  // OnStarted: a stream is open and its start is known (see WatchStart). An error ends the
  // stream (retried after backoff).
  virtual absl::Status OnStarted(const WatchStart& start) { return absl::OkStatus(); }
  // OnEvent: one change holding an object of a type this subscriber asked for. An error ends
  // the stream; it resumes before this event.
  virtual absl::Status OnEvent(const ::simpul::registry::v1::ChangeEvent& event) = 0;
  // OnEnded: the stream ended or could not be opened; changes may be missed until the next
  // OnStarted.
  virtual void OnEnded(const grpc::Status& status) {}
  // OnResyncNeeded: the registry no longer holds the watch's cursor: changes were lost. The
  // watch goes on from now (the next OnStarted has resumed == false).
  virtual void OnResyncNeeded() {}
};

class RegistryWatch {
 public:
  struct Options {
    // Who watches (the registry shows drafts only to their agency, a platform admin or the
    // service role);
    // without one the watch is public.
    std::optional<InternalIdentity> identity;
    // How long one attempt waits for the channel to connect.
    absl::Duration connect_timeout = absl::Seconds(2);
    // A stream that lasted this long (or delivered an event) resets the backoff.
    absl::Duration healthy_after = absl::Seconds(2);
    // Waits between reconnections.
    Backoff::Options backoff = {
        .initial = absl::Milliseconds(100), .max = absl::Seconds(5), .jitter = 0.2};
    // Where the first stream starts: empty for now, or a cursor to resume after.
    std::string start_cursor;
  };

  RegistryWatch(std::shared_ptr<grpc::Channel> registry, Options options);
  ~RegistryWatch();  // Stop()
  RegistryWatch(const RegistryWatch&) = delete;
  RegistryWatch& operator=(const RegistryWatch&) = delete;

  // Subscribe adds `subscriber` for events of these entity types (empty: all); the stream asks
  // the registry for the union. Subscribers are called in the order they subscribed, except
  // that `first` puts this one before those already there: a subscriber whose OnStarted takes
  // long (a resync) goes first, so that the others learn of a start only once events flow
  // again. Only before Start (FAILED_PRECONDITION after). The subscriber must stay alive until
  // Unsubscribe or Stop returns.
  absl::Status Subscribe(WatchSubscriber* subscriber,
                         std::vector<::simpul::registry::v1::EntityType> types, bool first = false);
  // Unsubscribe removes `subscriber`, waiting for a call to it in progress. Idempotent.
  void Unsubscribe(WatchSubscriber* subscriber);
  // SetCursorSource makes every (re)connection resume from the cursor `source` returns (empty:
  // from now) instead of the watch's own, for a subscriber that persists its position. An
  // error counts as a failed attempt. Only before Start.
  void SetCursorSource(std::function<absl::StatusOr<std::string>()> source);

  // Start launches the watch thread. Only the first call has an effect (a stopped watch stays
  // stopped).
  void Start();
  // Stop cancels the stream, wakes the backoff and joins the thread. Idempotent.
  void Stop();

  // cursor is the cursor of the last event every subscriber accepted (or of the last start).
  std::string cursor() const;

 private:
  struct Subscription {
    WatchSubscriber* subscriber;
    std::vector<::simpul::registry::v1::EntityType> types;  // empty: all
  };

  void Run();
  // WatchOnce runs one stream from `cursor` until it ends; `*healthy` as in Options;
  // `*rejected`: a subscriber ended it (the status is the subscriber's).
  grpc::Status WatchOnce(const std::string& cursor, bool* healthy, bool* rejected);
  bool WaitForReady();
  bool Stopping();
  bool SleepUnlessStopped(absl::Duration d);
  ::simpul::registry::v1::WatchStandardsRequest Request(const std::string& cursor);
  // Deliver calls `fn` on every subscription (in order) until one fails.
  absl::Status Deliver(const std::function<absl::Status(const Subscription&)>& fn);

  const std::shared_ptr<grpc::Channel> channel_;
  const Options options_;
  const std::unique_ptr<::simpul::registry::v1::Registry::Stub> stub_;

  // Held while subscribers are called, so that Unsubscribe waits for a call in progress.
  absl::Mutex deliver_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::vector<Subscription> subscriptions_ ABSL_GUARDED_BY(mu_);
  std::function<absl::StatusOr<std::string>()> cursor_source_;  // set before Start
  std::string cursor_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;  // the open watch call
  absl::Mutex join_mu_;  // serializes joins of thread_ (set once, by Start, under mu_)
  std::thread thread_;
};

}  // namespace simpul::clients::registry

#endif  // SIMPUL_CLIENTS_REGISTRY_WATCH_H_
