// WebhookStore keeps webhook subscriptions, their delivery queues, delivery logs and dead
// letters, the dispatcher's cursor on the complaint event stream and the leases that let one
// dispatcher and one sender per subscription run across replicas, in Redis.
//
// Key layout. P is the complaint store's key prefix (RedisComplaintStore::KeyPrefix(), one hash
// tag), so every key lives in the slot of the complaint keys and a script may touch them all:
//   P wh:subs        hash: webhook id -> serialized v1.WebhookRecord
//   P wh:cursor      string: the stream id of the last event fanned out
//   P wh:q:<id>      list: serialized v1.QueuedDelivery, head = the next to send
//   P wh:dead:<id>   list: dead letters (v1.QueuedDelivery), in the order they died
//   P wh:done:<id>   list: delivered v1.WebhookDelivery, newest first, the last 1000
//   P wh:lease:<n>   string with a PX TTL: the token of the holder of lease <n>
//
// FanOut appends one batch's deliveries to the queues and moves the cursor in ONE script that
// first checks the cursor is still the one the batch was read after: two dispatchers (a lost
// lease) cannot both append a batch, and a crash between read and commit re-reads the batch
// (at-least-once; the delivery id, "<webhook id>:<cursor>", is the same). A queue entry is
// changed only if it is still the head that was read (compare and set on its bytes).
//
// Replication: subscription writes (Put, Delete) and re-drives wait for the replicas like the
// complaint store's commits (EvalWrite). Fan-outs and delivery outcomes do not: a fan-out lost
// in a failover loses its cursor move with it (one script), so the batch is read and fanned out
// again; a lost outcome sends the delivery again (same id). Both stay at-least-once, and the
// dispatcher adds no replica wait to the write path of every event.
#ifndef SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_STORE_H_
#define SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "simpul/complaints/v1/webhooks.pb.h"

namespace simpul::complaints {

namespace v1 = ::simpul::complaints::v1;

// kDeliveredLogSize is how many delivered deliveries a subscription's log keeps.
inline constexpr int kDeliveredLogSize = 1000;

class WebhookStore {
 public:
  // WebhookStore uses `pool`, which must outlive it; `key_prefix` carries the hash tag.
  WebhookStore(RedisPool* pool, std::string key_prefix);

  // ---- Subscriptions
  // Put writes a subscription (create or update).
  absl::Status Put(const v1::WebhookRecord& record);
  absl::StatusOr<std::optional<v1::WebhookRecord>> Get(std::string_view id);
  // All returns every subscription (the dispatcher's and the sender's view).
  absl::StatusOr<std::vector<v1::WebhookRecord>> All();
  // Delete removes a subscription with its queue, dead letters and log; false when absent.
  absl::StatusOr<bool> Delete(std::string_view id);
  // Counts returns the queue's and the dead list's lengths.
  absl::StatusOr<std::pair<int64_t, int64_t>> Counts(std::string_view id);

  // ---- Dispatch
  // Cursor is the last event fanned out; nullopt before the first batch.
  absl::StatusOr<std::optional<std::string>> Cursor();
  // FanOutItem is one delivery for one subscription.
  struct FanOutItem {
    std::string webhook_id;
    v1::QueuedDelivery queued;
  };
  // FanOut appends `items` (in order) to their queues and sets the cursor to `new_cursor`, if
  // the cursor is still `expected` (nullopt: not set yet). Items of subscriptions deleted
  // meanwhile are dropped. Returns false (nothing written) when the cursor moved.
  // A subscription holding `max_backlog` deliveries (queued and dead together; 0: no bound)
  // takes no more: such items are counted in its overflow counter (Overflow) instead, and
  // their number is put in `*dropped`, so that a receiver that never answers cannot grow Redis
  // without bound.
  absl::StatusOr<bool> FanOut(const std::optional<std::string>& expected,
                              const std::string& new_cursor, const std::vector<FanOutItem>& items,
                              int64_t max_backlog = 0, int64_t* dropped = nullptr);
  // Overflow is how many deliveries a subscription missed because its backlog was full.
  absl::StatusOr<int64_t> Overflow(std::string_view id);

  // ---- Delivery
  // Head is the next queued delivery of a subscription with its stored bytes.
  struct Head {
    v1::QueuedDelivery queued;
    std::string bytes;
  };
  absl::StatusOr<std::optional<Head>> QueueHead(std::string_view id);
  // HeadOutcome is what an attempt did to the head.
  enum class HeadOutcome { kDelivered, kRetry, kDead };
  // FinishHead applies an attempt's outcome if `head` is still the head (else false, nothing
  // written): kDelivered pops it into the log, kRetry replaces it with `updated`, kDead moves
  // `updated` to the dead letters.
  absl::StatusOr<bool> FinishHead(std::string_view id, const Head& head, HeadOutcome outcome,
                                  const v1::QueuedDelivery& updated);
  // Pending, Dead and Delivered read a subscription's lists (at most `limit` each).
  absl::StatusOr<std::vector<v1::QueuedDelivery>> Pending(std::string_view id, int limit);
  absl::StatusOr<std::vector<v1::QueuedDelivery>> Dead(std::string_view id, int limit);
  absl::StatusOr<std::vector<v1::WebhookDelivery>> Delivered(std::string_view id, int limit);
  // Redrive moves the dead letters `select` picks back to the end of the queue, in their
  // order, each replaced by `reset(entry)`; returns how many moved.
  absl::StatusOr<int> Redrive(
      std::string_view id, const std::function<bool(const v1::QueuedDelivery&)>& select,
      const std::function<v1::QueuedDelivery(const v1::QueuedDelivery&)>& reset);

  // ---- Leases
  // HoldLease takes lease `name` for `token` or renews it when `token` holds it, for `ttl`;
  // false when another token holds it.
  absl::StatusOr<bool> HoldLease(std::string_view name, std::string_view token, absl::Duration ttl);
  // ReleaseLease drops lease `name` if `token` holds it.
  absl::Status ReleaseLease(std::string_view name, std::string_view token);

  std::string SubsKey() const;
  std::string CursorKey() const;
  std::string QueueKey(std::string_view id) const;
  std::string DeadKey(std::string_view id) const;
  std::string DoneKey(std::string_view id) const;
  std::string OverflowKey(std::string_view id) const;
  std::string LeaseKey(std::string_view name) const;

 private:
  absl::StatusOr<std::vector<std::string>> Range(const std::string& key, int limit);

  RedisPool* const pool_;
  const std::string prefix_;
};

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_STORE_H_
