// Webhook dispatch and delivery (webhook_engine.h).
#include "services/complaints/webhook_engine.h"

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/complaints/views.h"
#include "common/absl_compat.h"
#include "common/backoff.h"
#include "common/json.h"
#include "common/logging.h"
#include "common/messages.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "openssl/rand.h"

namespace simpul::complaints {
namespace {

using google::protobuf::util::TimeUtil;

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}
google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ns = absl::ToUnixNanos(t);
  ts.set_seconds(ns / 1000000000);
  ts.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return ts;
}

std::string RandomToken() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  std::string out;
  for (unsigned char b : bytes) absl::StrAppend(&out, absl::Hex(b, absl::kZeroPad2));
  return out;
}

// Wakeup is shared with the hub's waiter callbacks, which may run after the engine is gone.
struct Wakeup {
  absl::Mutex mu;
  bool woken ABSL_GUARDED_BY(mu) = false;
};

}  // namespace

v1::WatchComplaintEventsRequest WebhookRequestOf(const v1::Webhook& webhook) {
  v1::WatchComplaintEventsRequest req;
  req.set_agency_id(webhook.agency_id());
  req.set_unit_id(webhook.unit_id());
  for (const std::string& kind : webhook.event_kinds()) req.add_actions(kind);
  return req;
}

std::string WebhookBody(const std::string& webhook_id, const std::string& delivery_id,
                        const v1::WatchComplaintEventsResponse& view, Lang lang) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(view, &json, options).ok() || json.size() < 2) {
    json = "{}";
  }
  // What the new state means to the complainant, in the webhook's language.
  const v1::State state =
      view.has_event() ? view.event().to_state() : view.public_event().to_state();
  const v1::ArchiveReason reason =
      view.has_event() ? view.event().archive_reason() : view.public_event().archive_reason();
  const std::string note = StateNote(state, reason, lang);
  std::string out = absl::StrCat("{\"webhook_id\":\"", webhook_id, "\",\"delivery_id\":\"",
                                 delivery_id, "\",\"lang\":\"", AbslView(LangTag(lang)),
                                 "\",\"status_note\":", JsonEscape(note));
  if (json.size() > 2)
    absl::StrAppend(&out, ",", json.substr(1));
  else
    absl::StrAppend(&out, "}");
  return out;
}

absl::StatusOr<std::vector<std::string>> WebhookSecrets(const PiiKeyring& keys,
                                                        const v1::WebhookRecord& record,
                                                        absl::Time now) {
  std::vector<std::string> out;
  SIMPUL_ASSIGN_OR_RETURN(std::string current,
                          keys.Open(record.sealed_secret(), record.webhook().id()));
  out.push_back(std::move(current));
  if (!record.sealed_previous_secret().empty() &&
      record.webhook().has_previous_secret_expire_time() &&
      ToTime(record.webhook().previous_secret_expire_time()) > now) {
    SIMPUL_ASSIGN_OR_RETURN(std::string previous,
                            keys.Open(record.sealed_previous_secret(), record.webhook().id()));
    out.push_back(std::move(previous));
  }
  return out;
}

WebhookEngine::WebhookEngine(WebhookStore& store, ComplaintEventSource& events, EventFeedHub& hub,
                             AudienceLookup lookup, const PiiKeyring& keys, const Clock& clock,
                             std::shared_ptr<WebhookTls> tls, WebhookEngineOptions options)
    : store_(store),
      events_(events),
      hub_(hub),
      lookup_(std::move(lookup)),
      keys_(keys),
      clock_(clock),
      tls_(std::move(tls)),
      options_(std::move(options)),
      token_(RandomToken()) {}

WebhookEngine::~WebhookEngine() { Stop(); }

void WebhookEngine::Start() {
  senders_ = std::make_unique<Executor>(std::max(1, options_.sender_threads), 100000);
  dispatcher_ = std::thread([this] { RunDispatcher(); });
  scheduler_ = std::thread([this] { RunScheduler(); });
}

void WebhookEngine::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  const bool started = dispatcher_.joinable();
  if (dispatcher_.joinable()) dispatcher_.join();
  if (scheduler_.joinable()) scheduler_.join();
  if (senders_) senders_->Shutdown();
  // Another replica's dispatcher takes over at once instead of after the lease's TTL (the
  // per-webhook sender leases expire on their own).
  if (started) (void)store_.ReleaseLease("dispatch", token_);
}

void WebhookEngine::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
  due_.clear();
}

absl::StatusOr<int> WebhookEngine::DispatchOnce() {
  SIMPUL_ASSIGN_OR_RETURN(std::optional<std::string> cursor, store_.Cursor());
  if (!cursor) {
    // The first run: deliveries start with the events from now on.
    SIMPUL_ASSIGN_OR_RETURN(std::string latest, events_.LatestEventCursor());
    SIMPUL_RETURN_IF_ERROR(store_.FanOut(std::nullopt, latest, {}).status());
    return 0;
  }
  absl::StatusOr<std::vector<FeedEvent>> events =
      events_.ReadEvents(*cursor, kFeedBatch, absl::ZeroDuration());
  if (!events.ok() && events.status().code() == absl::StatusCode::kOutOfRange) {
    // Trimmed past the cursor (the dispatcher was stopped longer than event_retention):
    // what was trimmed cannot be delivered; continue from the newest event.
    SIMPUL_ASSIGN_OR_RETURN(std::string latest, events_.LatestEventCursor());
    Log(LogLevel::kError, "webhook dispatch lost events: the stream was trimmed past its cursor",
        {{"cursor", *cursor}, {"resumed_at", latest}});
    SIMPUL_RETURN_IF_ERROR(store_.FanOut(cursor, latest, {}).status());
    return 0;
  }
  if (!events.ok()) return events.status();
  if (events->empty()) return 0;
  SIMPUL_ASSIGN_OR_RETURN(std::vector<v1::WebhookRecord> subs, store_.All());
  std::sort(subs.begin(), subs.end(),
            [](const auto& a, const auto& b) { return a.webhook().id() < b.webhook().id(); });
  const absl::Time now = clock_.Now();
  std::vector<WebhookStore::FanOutItem> items;
  for (const FeedEvent& fed : *events) {
    for (const v1::WebhookRecord& sub : subs) {
      const v1::Webhook& w = sub.webhook();
      if (ToTime(fed.event.time()) < ToTime(w.create_time())) continue;
      Identity owner;
      owner.principal = sub.owner();
      SIMPUL_ASSIGN_OR_RETURN(std::optional<v1::WatchComplaintEventsResponse> view,
                              EventForWatcher(owner, WebhookRequestOf(w), fed, lookup_));
      if (!view) continue;
      WebhookStore::FanOutItem item;
      item.webhook_id = w.id();
      v1::WebhookDelivery& d = *item.queued.mutable_delivery();
      d.set_delivery_id(absl::StrCat(w.id(), ":", fed.cursor));
      d.set_webhook_id(w.id());
      d.set_cursor(fed.cursor);
      d.set_complaint_id(fed.event.complaint_id());
      d.set_action(fed.event.action());
      d.set_state(v1::DELIVERY_STATE_PENDING);
      *d.mutable_enqueue_time() = ToProto(now);
      item.queued.set_body(WebhookBody(
          w.id(), d.delivery_id(), *view,
          w.lang() == "en" || (w.lang().empty() && sub.owner().role() != common::v1::ROLE_CHANNEL)
              ? Lang::kEnglish
              : Lang::kIndonesian));
      items.push_back(std::move(item));
    }
  }
  int64_t dropped = 0;
  SIMPUL_ASSIGN_OR_RETURN(bool advanced, store_.FanOut(cursor, events->back().cursor, items,
                                                       options_.max_backlog, &dropped));
  if (!advanced) return 0;  // another dispatcher moved the cursor: it fanned this batch out
  if (dropped > 0) {
    // One line per batch, however many webhooks are full: the count per webhook is in Redis.
    Log(LogLevel::kWarn, "webhook backlog full: deliveries not queued",
        {{"dropped", absl::StrCat(dropped)},
         {"max_backlog", absl::StrCat(options_.max_backlog)},
         {"effect", "the owners reconcile with ListComplaints updated_since"}});
  }
  if (!items.empty()) Wake();
  return static_cast<int>(events->size());
}

absl::StatusOr<absl::Time> WebhookEngine::AttemptHead(const std::string& id) {
  SIMPUL_ASSIGN_OR_RETURN(std::optional<v1::WebhookRecord> record, store_.Get(id));
  if (!record || record->webhook().paused()) return absl::InfiniteFuture();
  SIMPUL_ASSIGN_OR_RETURN(bool held,
                          store_.HoldLease(absl::StrCat("s:", id), token_, options_.lease_ttl));
  if (!held) return clock_.Now() + options_.poll_interval;  // another replica sends
  SIMPUL_ASSIGN_OR_RETURN(std::optional<WebhookStore::Head> head, store_.QueueHead(id));
  if (!head) return absl::InfiniteFuture();
  const absl::Time start = clock_.Now();
  const v1::WebhookDelivery& d = head->queued.delivery();
  if (d.has_next_attempt_time() && ToTime(d.next_attempt_time()) > start) {
    return ToTime(d.next_attempt_time());
  }

  WebhookPostResult result;
  absl::StatusOr<WebhookUrl> url = ParseWebhookUrl(record->webhook().url(), options_.url_policy);
  absl::StatusOr<std::vector<std::string>> secrets = WebhookSecrets(keys_, *record, start);
  if (!url.ok()) {
    result.error = absl::StrCat("URL refused: ", url.status().message());
  } else if (!secrets.ok()) {
    result.error = absl::StrCat("secret unavailable: ", secrets.status().message());
  } else {
    const std::string& body = head->queued.body();
    const int64_t t = absl::ToUnixSeconds(start);
    result =
        PostWebhook(options_.url_policy, *url,
                    {{"Content-Type", "application/json"},
                     {std::string(kSignatureHeader), WebhookSignatureHeader(*secrets, t, body)},
                     {"Simpul-Delivery", d.delivery_id()},
                     {"Simpul-Event", d.action()}},
                    body, options_.request_timeout, tls_.get());
  }
  const absl::Time end = clock_.Now();

  v1::QueuedDelivery updated = head->queued;
  v1::WebhookDelivery& u = *updated.mutable_delivery();
  u.set_attempts(u.attempts() + 1);
  u.set_last_http_status(result.http_status);
  u.set_last_error(result.error);
  if (!u.has_first_attempt_time()) *u.mutable_first_attempt_time() = ToProto(start);
  *u.mutable_last_attempt_time() = ToProto(end);
  u.clear_next_attempt_time();
  WebhookStore::HeadOutcome outcome;
  absl::Time again = end;
  if (result.delivered()) {
    u.set_state(v1::DELIVERY_STATE_DELIVERED);
    outcome = WebhookStore::HeadOutcome::kDelivered;
  } else {
    const uint64_t seed = std::hash<std::string>{}(u.delivery_id()) ^ u.attempts();
    std::optional<absl::Time> next =
        NextWebhookAttempt(options_.retry, ToTime(u.first_attempt_time()), u.attempts(), end, seed);
    if (next) {
      *u.mutable_next_attempt_time() = ToProto(*next);
      outcome = WebhookStore::HeadOutcome::kRetry;
      again = *next;
    } else {
      u.set_state(v1::DELIVERY_STATE_DEAD);
      outcome = WebhookStore::HeadOutcome::kDead;
      Log(LogLevel::kWarn, "webhook delivery dead-lettered",
          {{"webhook", id},
           {"delivery", u.delivery_id()},
           {"attempts", u.attempts()},
           {"error", u.last_error()}});
    }
  }
  SIMPUL_RETURN_IF_ERROR(store_.FinishHead(id, *head, outcome, updated).status());
  return again;
}

void WebhookEngine::RunDispatcher() {
  Backoff backoff(Backoff::Options{.initial = absl::Milliseconds(50), .max = absl::Seconds(5)});
  auto stopped = [this] {
    absl::MutexLock lock(&mu_);
    return stopped_;
  };
  while (!stopped()) {
    absl::StatusOr<bool> held = store_.HoldLease("dispatch", token_, options_.lease_ttl);
    if (!held.ok() || !*held) {
      if (!held.ok()) {
        Log(LogLevel::kWarn, "webhook dispatch lease", {{"error", held.status().ToString()}});
      }
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), options_.lease_ttl / 3);
      continue;
    }
    const uint64_t generation = hub_.generation();
    absl::StatusOr<int> read = DispatchOnce();
    if (!read.ok()) {
      Log(LogLevel::kWarn, "webhook dispatch failed", {{"error", read.status().ToString()}});
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), backoff.Next());
      continue;
    }
    backoff.Reset();
    if (*read == kFeedBatch) continue;
    if (hub_.stopped()) {  // the process is stopping: no more wake-ups will come
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), options_.poll_interval);
      continue;
    }
    auto wakeup = std::make_shared<Wakeup>();
    hub_.WaitAsync(generation, [wakeup] {
      absl::MutexLock lock(&wakeup->mu);
      wakeup->woken = true;
    });
    // Wait for news, but come back in time to renew the lease and to see stop.
    const absl::Time until = absl::Now() + std::min(options_.lease_ttl / 3, absl::Seconds(1));
    while (absl::Now() < until && !stopped()) {
      absl::MutexLock lock(&wakeup->mu);
      if (wakeup->mu.AwaitWithTimeout(absl::Condition(&wakeup->woken), absl::Milliseconds(50))) {
        break;
      }
    }
  }
}

void WebhookEngine::RunScheduler() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
    }
    absl::StatusOr<std::vector<v1::WebhookRecord>> subs = store_.All();
    absl::Time wake_at = absl::Now() + options_.poll_interval;
    if (!subs.ok()) {
      Log(LogLevel::kWarn, "webhook scheduler cannot read subscriptions",
          {{"error", subs.status().ToString()}});
    } else {
      const absl::Time now = absl::Now();
      std::vector<std::string> start;
      {
        absl::MutexLock lock(&mu_);
        std::map<std::string, absl::Time> kept;
        for (const v1::WebhookRecord& sub : *subs) {
          const std::string& id = sub.webhook().id();
          auto it = due_.find(id);
          const absl::Time due = it == due_.end() ? now : it->second;
          kept[id] = due;
          if (busy_.count(id) > 0) continue;
          if (due <= now) {
            busy_.insert(id);
            start.push_back(id);
          } else {
            wake_at = std::min(wake_at, due);
          }
        }
        due_.swap(kept);
        woken_ = false;
      }
      for (const std::string& id : start) {
        const bool queued = senders_->Submit([this, id] {
          absl::StatusOr<absl::Time> next = AttemptHead(id);
          if (!next.ok()) {
            Log(LogLevel::kWarn, "webhook delivery step failed",
                {{"webhook", id}, {"error", next.status().ToString()}});
          }
          const absl::Time now = absl::Now();
          absl::Time due = now + options_.poll_interval;
          if (next.ok()) due = std::min(*next, due);
          absl::MutexLock lock(&mu_);
          busy_.erase(id);
          due_[id] = due;
          woken_ = true;
        });
        if (!queued) {
          absl::MutexLock lock(&mu_);
          busy_.erase(id);
        }
      }
    }
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_ || woken_; };
    mu_.AwaitWithDeadline(absl::Condition(&ready), wake_at);
  }
}

}  // namespace simpul::complaints
