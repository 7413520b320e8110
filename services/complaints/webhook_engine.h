// WebhookEngine moves complaint events to webhook receivers, inside simpul-complaints:
//
// Dispatch: ONE dispatcher (a Redis lease, so one across replicas) reads the event stream from
// the cursor stored in Redis (WebhookStore::Cursor), at most kFeedBatch events at a time, and
// fans each event out, in the view of each subscription's owner (EventForWatcher with the
// subscription's kinds and filter: exactly what a watch by the owner would see), into the
// subscriptions' queues; the queue appends and the cursor advance are one script. After a
// restart it resumes from the stored cursor (at-least-once). It waits on the EventFeedHub, so
// an idle stream costs no Redis call beyond the hub's.
//
// Delivery: a scheduler hands each subscription whose head is due to a bounded pool of sender
// threads; a subscription has at most one attempt in flight (and a lease across replicas), so
// its queue is delivered strictly in order: order per case holds, except across a dead letter
// (the queue moves on past it). A slow receiver holds one sender thread for at most
// request_timeout; other subscriptions proceed on the other threads. Filing never waits on
// any of this: it only appends to the event stream.
#ifndef SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_ENGINE_H_
#define SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_ENGINE_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/messages.h"
#include "services/complaints/feed.h"
#include "services/complaints/pii_crypto.h"
#include "services/complaints/webhook_http.h"
#include "services/complaints/webhook_policy.h"
#include "services/complaints/webhook_store.h"

namespace simpul::complaints {

struct WebhookEngineOptions {
  WebhookUrlPolicy url_policy;
  WebhookRetryPolicy retry;
  absl::Duration request_timeout = absl::Seconds(10);  // connect + request + response
  int sender_threads = 8;
  // How often the scheduler looks at idle queues (new events and redrives also wake it).
  absl::Duration poll_interval = absl::Seconds(1);
  absl::Duration lease_ttl = absl::Seconds(15);
  // Deliveries one webhook may hold, queued and dead together; beyond, events are not queued
  // for it but counted (WebhookStore::FanOut). 0: no bound.
  int64_t max_backlog = 10000;
};

// WebhookRequestOf is the watch request a subscription's deliveries are filtered with.
v1::WatchComplaintEventsRequest WebhookRequestOf(const v1::Webhook& webhook);

// WebhookBody is the JSON body of a delivery: webhook_id, delivery_id, lang, status_note (what
// the event's new state means to the complainant, in `lang`: common/messages.h StatusNote),
// then the owner's view of the event as the REST feed sends it (cursor, event or
// public_event; proto field names).
std::string WebhookBody(const std::string& webhook_id, const std::string& delivery_id,
                        const v1::WatchComplaintEventsResponse& view, Lang lang);

// WebhookSecrets opens the subscription's signing secrets valid at `now`: the current one
// first, then the previous one during its grace period.
absl::StatusOr<std::vector<std::string>> WebhookSecrets(const PiiKeyring& keys,
                                                        const v1::WebhookRecord& record,
                                                        absl::Time now);

class WebhookEngine {
 public:
  // All references must outlive the engine. `lookup` gives the audience of events from before
  // issue #16 (as the feed's).
  WebhookEngine(WebhookStore& store, ComplaintEventSource& events, EventFeedHub& hub,
                AudienceLookup lookup, const PiiKeyring& keys, const Clock& clock,
                std::shared_ptr<WebhookTls> tls, WebhookEngineOptions options);
  ~WebhookEngine();  // Stop()

  void Start();
  void Stop();
  // Wake makes the scheduler look at every queue now (a redrive, an unpause).
  void Wake();

  // DispatchOnce fans out one batch after the stored cursor (the dispatcher's step; tests call
  // it directly). Returns the number of events read.
  absl::StatusOr<int> DispatchOnce();
  // AttemptHead makes one attempt at the head of subscription `id` if it is due. Returns when
  // it should be looked at again (InfiniteFuture: empty queue or paused).
  absl::StatusOr<absl::Time> AttemptHead(const std::string& id);

  const WebhookEngineOptions& options() const { return options_; }

 private:
  void RunDispatcher();
  void RunScheduler();

  WebhookStore& store_;
  ComplaintEventSource& events_;
  EventFeedHub& hub_;
  const AudienceLookup lookup_;
  const PiiKeyring& keys_;
  const Clock& clock_;
  const std::shared_ptr<WebhookTls> tls_;
  const WebhookEngineOptions options_;
  const std::string token_;  // this replica's lease token

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::string> busy_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> due_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Executor> senders_;
  std::thread dispatcher_;
  std::thread scheduler_;
};

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_ENGINE_H_
