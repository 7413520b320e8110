// StreamConsumer consumes a Redis Stream through a consumer group: it reads new entries with
// XREADGROUP, takes over the pending entries of crashed or slow consumers with XAUTOCLAIM,
// acknowledges what its handler applied with XACK and moves entries that keep failing to a
// dead-letter stream. It runs on its own thread (Start/Stop) or is stepped with PollOnce.
//
// Delivery is AT LEAST ONCE. An entry is acknowledged only after the handler returned OK for
// it, so a crash, a lost connection or a failed XACK after the handler's effect means the
// entry is delivered again (to this or another consumer of the group) after `min_idle`; the
// producer may also append the same event twice (a retried write). Effectively-once is the
// HANDLER's job: it must apply an entry idempotently, keyed by something stable: the event's
// own id (e.g. v1.ComplaintEvent.event_id) or, failing that, the entry id. With Redis, record
// that key in a SET in the same Lua script (or MULTI/EXEC) as the effect, and skip the effect
// when SADD returns 0:
//
//   -- KEYS = [applied set, counter]; ARGV = [event id]
//   if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end  -- already applied
//   redis.call('HINCRBY', KEYS[2], 'complaints_filed', 1)
//   return 1
//
// One poll (PollOnce):
//   1. XAUTOCLAIM stream group consumer min_idle <cursor> COUNT batch_size: takes over
//      entries pending longer than `min_idle` with ANY consumer of the group (this one
//      included: that is how an entry whose handler failed is retried). The cursor is kept
//      between polls so a long pending list is scanned piece by piece. Entries trimmed from
//      the stream since they were delivered are dropped from the pending list (by Redis 7;
//      for a Redis 6.2 nil entry the consumer sends XACK) and counted as `deleted`.
//      The delivery counter of each reclaimed entry is read with XPENDING.
//   2. XREADGROUP GROUP group consumer COUNT batch_size [BLOCK block] STREAMS stream >: new
//      entries (BLOCK only when step 1 found nothing, and not at all when `block` is zero).
//   3. The handler runs for each entry in stream order, reclaimed entries first. OK: the
//      entry's id joins one XACK sent after the batch. An error: the entry stays pending and
//      is retried after `min_idle`; the entries behind it are still handled, so order is
//      kept only while nothing fails (handlers that need per-key order must check versions).
//   4. Poison: a handler failure on the `max_deliveries`-th delivery, or an entry reclaimed
//      with more than `max_deliveries` deliveries (its consumers crashed or timed out on it
//      without returning), is moved to `dead_letter_stream`: one Lua script checks that the
//      entry is still pending with this consumer, XADDs it there with its original fields
//      plus the kDeadLetter* fields below, and XACKs it. Nothing is dropped silently.
// The group is created on the first poll (XGROUP CREATE ... MKSTREAM; an existing group is
// kept) and created again if it disappears (NOGROUP, e.g. the key was deleted).
//
// Choosing `min_idle`: an entry's idle time counts from its delivery and acknowledgements
// are sent once per batch, so `min_idle` must exceed the time to handle a whole batch, or
// another consumer takes over entries still being handled (harmless with an idempotent
// handler, but wasted work). The redelivery delay after a failure is about `min_idle`, so an
// entry whose handler keeps failing is dead-lettered after about max_deliveries x min_idle:
// make that longer than the downstream outages the handler should ride out (the dead-letter
// stream keeps everything needed to put such entries back: RedriveDeadLetters below, or the
// simpul-redrive tool).
//
// Failover (a pool that finds the master through Redis Sentinel): entries read from one master
// may be discarded with it when a replica that never received them is promoted. When the
// pool's master is not the one a batch was read from, each entry still to handle is first
// looked up on the current master (XRANGE id id); one that is not there is never handled
// (counted as `discarded`, logged), so no figure counts an event that no longer exists.
//
// Redis down: PollOnce fails fast with UNAVAILABLE (the pool's reconnect backoff) and loses
// nothing: unacknowledged entries stay pending in Redis (AOF) and are delivered again. The
// thread started by Start() logs the failure, backs off (initial_backoff doubling up to
// max_backoff) and resumes by itself.
//
// Metrics (when options.metrics is set), labelled {stream, group}:
//   simpul_stream_consumer_handled_total        handler returned OK (redeliveries count again)
//   simpul_stream_consumer_failed_total         handler returned an error
//   simpul_stream_consumer_dead_lettered_total  entries moved to the dead-letter stream
//   simpul_stream_consumer_reclaimed_total      entries taken over with XAUTOCLAIM
//   simpul_stream_consumer_poll_errors_total    polls that failed (Redis unreachable, ...)
//   simpul_stream_consumer_lag                  gauge: entries not yet delivered to the group
//   simpul_stream_consumer_pending              gauge: delivered, not yet acknowledged
// The gauges are refreshed by Lag(), which the thread calls every `lag_interval`.
//
// Cluster: the dead-letter script touches the stream and the dead-letter stream, so both keys
// must carry the same {hash tag} (e.g. "simpul:cmp:{c}:events" and
// "simpul:mon:{c}:dead:complaints").
//
// Thread safety: every method may be called from any thread; PollOnce calls are serialized
// (do not call it while the thread runs, it would only wait for the thread's poll). The
// handler runs on the polling thread, never on a gRPC thread, and must not call Stop().
#ifndef SIMPUL_COMMON_STREAM_CONSUMER_H_
#define SIMPUL_COMMON_STREAM_CONSUMER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/redis.h"

namespace simpul {

// Fields that a dead-letter entry carries before the original entry's fields (which follow
// unchanged, in their order).
inline constexpr char kDeadLetterIdField[] = "dead:id";                  // original entry id
inline constexpr char kDeadLetterStreamField[] = "dead:stream";          // original stream key
inline constexpr char kDeadLetterGroupField[] = "dead:group";            // consumer group
inline constexpr char kDeadLetterConsumerField[] = "dead:consumer";      // who gave up
inline constexpr char kDeadLetterDeliveriesField[] = "dead:deliveries";  // delivery count
inline constexpr char kDeadLetterErrorField[] = "dead:error";            // the last error

// StreamEntry is one stream entry as delivered to the handler.
struct StreamEntry {
  std::string id;                                           // "<ms>-<seq>"
  std::vector<std::pair<std::string, std::string>> fields;  // in the entry's order
  // How many times the group has delivered the entry, this delivery included (1 = first).
  int64_t deliveries = 1;

  // Field returns the value of the first field called `name`, or nullptr.
  const std::string* Field(std::string_view name) const;
};

// StreamHandler applies one entry. OK acknowledges it; any error leaves it pending for a
// retry (see the file comment). It must be idempotent.
using StreamHandler = std::function<absl::Status(const StreamEntry&)>;

struct StreamConsumerOptions {
  std::string stream;  // stream key, e.g. "simpul:cmp:{c}:events"
  std::string group;   // consumer group, e.g. "monitoring"
  // This consumer's name in the group, unique per process (DefaultConsumerName()).
  std::string consumer;
  // Where a group created by this consumer starts: "0" = every entry in the stream,
  // "$" = only entries added from now on, or an entry id. Ignored when the group exists.
  std::string start_id = "0";
  int batch_size = 100;  // entries per XAUTOCLAIM and per XREADGROUP
  // How long XREADGROUP waits for new entries; zero does not wait (BLOCK is not sent).
  // Bounds how long Stop() waits for the thread (plus the running batch's handlers).
  absl::Duration block = absl::Seconds(1);
  // Pending entries idle this long are taken over (XAUTOCLAIM); at least 1 ms.
  absl::Duration min_idle = absl::Seconds(30);
  // Deliveries after which a failing entry goes to the dead-letter stream; at least 1.
  int max_deliveries = 5;
  // Dead-letter stream key: required, not `stream`, same {hash tag} as `stream`.
  std::string dead_letter_stream;
  // Approximate length the dead-letter stream is trimmed to (XADD MAXLEN ~); 0 keeps all.
  int64_t dead_letter_max_len = 0;
  // Thread mode: backoff after a failed poll, doubling from initial_backoff to max_backoff.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Thread mode: how often Lag() refreshes the lag and pending gauges.
  absl::Duration lag_interval = absl::Seconds(10);
  // Thread mode: on Stop(), remove this consumer from the group if it has nothing pending
  // (a consumer with pending entries is kept, so no entry is lost; others reclaim them).
  bool remove_consumer_on_stop = true;
  Metrics* metrics = nullptr;  // optional; must outlive the consumer
};

// PollResult counts what one PollOnce did.
struct PollResult {
  int64_t read = 0;           // new entries read with XREADGROUP
  int64_t reclaimed = 0;      // pending entries taken over with XAUTOCLAIM
  int64_t deleted = 0;        // reclaimed ids whose entry was trimmed from the stream
  int64_t handled = 0;        // handler returned OK (acknowledged)
  int64_t failed = 0;         // handler returned an error
  int64_t dead_lettered = 0;  // moved to the dead-letter stream
  int64_t discarded = 0;      // read from a master since replaced, and absent on the new one
};

// StreamConsumerStats are the totals since the consumer was created.
struct StreamConsumerStats {
  int64_t polls = 0;        // successful polls
  int64_t poll_errors = 0;  // failed polls
  int64_t read = 0;
  int64_t reclaimed = 0;
  int64_t deleted = 0;
  int64_t handled = 0;
  int64_t failed = 0;
  int64_t dead_lettered = 0;
  int64_t discarded = 0;
};

// StreamLag is how far the group is behind the stream.
struct StreamLag {
  // Entries not yet delivered to the group (XINFO GROUPS "lag"). When Redis cannot tell
  // (entries deleted with XDEL after the group's position), they are counted up to a cap
  // and `exact` is false if the cap was reached.
  int64_t undelivered = 0;
  int64_t pending = 0;  // delivered to some consumer of the group, not yet acknowledged
  bool exact = true;
  std::string last_delivered_id;
};

// DefaultConsumerName returns "<hostname>-<pid>".
std::string DefaultConsumerName();

class StreamConsumer {
 public:
  // Create validates `options` (INVALID_ARGUMENT) without contacting Redis. `pool` must
  // outlive the consumer; the consumer needs at most one connection at a time besides what
  // the handler uses.
  static absl::StatusOr<std::unique_ptr<StreamConsumer>> Create(RedisPool* pool,
                                                                StreamConsumerOptions options,
                                                                StreamHandler handler);
  ~StreamConsumer();  // Stop()
  StreamConsumer(const StreamConsumer&) = delete;
  StreamConsumer& operator=(const StreamConsumer&) = delete;

  // EnsureGroup creates the group (and the stream) if missing; PollOnce calls it first.
  absl::Status EnsureGroup();

  // PollOnce runs one poll (see the file comment) and returns what it did. It fails with
  // UNAVAILABLE or DEADLINE_EXCEEDED when Redis cannot be reached; entries whose handler
  // already ran are then redelivered later. Handler errors are not PollOnce errors.
  absl::StatusOr<PollResult> PollOnce();

  // Lag reads the group's backlog and refreshes the gauges. NOT_FOUND when the stream or
  // the group does not exist.
  absl::StatusOr<StreamLag> Lag();

  // Start runs PollOnce in a loop on a thread of its own (no-op when already running).
  void Start();
  // Stop asks the thread to finish, waits for it and returns. The thread stops between
  // entries: the running handler finishes, entries already handled are acknowledged, the
  // rest of the batch stays pending (reclaimed after min_idle). Waits at most about `block`
  // plus the running handler plus one command timeout. Safe to call repeatedly.
  void Stop();

  // RemoveConsumerIfIdle deletes this consumer from the group when it has no pending entry,
  // atomically (XGROUP DELCONSUMER would drop pending entries). True when removed.
  absl::StatusOr<bool> RemoveConsumerIfIdle();

  StreamConsumerStats stats() const;
  const StreamConsumerOptions& options() const { return options_; }

 private:
  struct Batch;

  StreamConsumer(RedisPool* pool, StreamConsumerOptions options, StreamHandler handler);
  absl::StatusOr<PollResult> PollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_);
  absl::StatusOr<Batch> Fetch(PollResult* result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_);
  absl::Status Reclaim(RedisConnection& conn, Batch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(poll_mu_);
  absl::Status ReadNew(RedisConnection& conn, bool block, Batch* batch);
  // DeadLetter moves one entry aside; false when it is no longer pending with this consumer.
  absl::StatusOr<bool> DeadLetter(const StreamEntry& entry, std::string_view error);
  // Discarded is true when the pool's master is no longer `read_from` and the current master
  // has no entry `id` (lost in a failover).
  absl::StatusOr<bool> Discarded(const std::string& id,
                                 const std::optional<RedisAddress>& read_from);
  void Count(const PollResult& result);
  void Run();
  bool Stopping();

  RedisPool* const pool_;
  const StreamConsumerOptions options_;
  const StreamHandler handler_;
  const MetricLabels labels_;
  // The consumer's series, resolved once (no-op handles without options.metrics).
  Counter handled_total_, failed_total_, dead_lettered_total_, reclaimed_total_, poll_errors_total_;
  Gauge lag_gauge_, pending_gauge_;

  absl::Mutex poll_mu_;
  bool group_ready_ ABSL_GUARDED_BY(poll_mu_) = false;
  std::string claim_cursor_ ABSL_GUARDED_BY(poll_mu_) = "0-0";

  absl::Mutex mu_;  // thread state
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // touched only by Start/Stop, serialized by start_mu_
  absl::Mutex start_mu_;

  std::atomic<int64_t> polls_{0}, poll_errors_{0}, read_{0}, reclaimed_{0}, deleted_{0},
      handled_{0}, failed_{0}, dead_lettered_{0}, discarded_{0};
};

// ---------------------------------------------------------------------------------------------
// Dead letters: inspection and re-drive.
//
// A dead-letter entry is valid when it starts with kDeadLetter* fields (each at most once, in
// any order) that include a non-empty kDeadLetterStreamField naming another key, and at least
// one original field follows them. Anything else (an entry added by hand, a truncated one) is
// malformed: it is listed with the reason and never re-driven.

// DeadLetterEntry is one entry of a dead-letter stream, parsed.
struct DeadLetterEntry {
  std::string id;           // id in the dead-letter stream
  std::string original_id;  // kDeadLetterIdField
  std::string stream;       // kDeadLetterStreamField: where the entry came from
  std::string group;        // kDeadLetterGroupField
  std::string consumer;     // kDeadLetterConsumerField
  int64_t deliveries = 0;   // kDeadLetterDeliveriesField (0 when absent or not a number)
  std::string error;        // kDeadLetterErrorField
  // The original entry's fields, in their order, without the kDeadLetter* fields.
  std::vector<std::pair<std::string, std::string>> fields;
  // Why the entry cannot be re-driven; empty when it is valid.
  std::string problem;
};

// ListDeadLetters returns up to `max_entries` (at least 1) entries of `dead_letter_stream`
// from the oldest, valid or not. An absent stream has no entries.
absl::StatusOr<std::vector<DeadLetterEntry>> ListDeadLetters(RedisPool* pool,
                                                             std::string_view dead_letter_stream,
                                                             int64_t max_entries);

struct RedriveOptions {
  // Most entries re-driven by one call; 0 = no limit. Skipped entries do not count.
  int64_t max_entries = 0;
  // Check every entry as a re-drive would (the original stream's type included) but change
  // nothing; the result counts what would be re-driven.
  bool dry_run = false;
  // Only these dead-letter entry ids (handled in stream order); empty = every entry present
  // when the call starts. An id that is not in the stream is reported as skipped.
  std::vector<std::string> ids;
};

// RedrivenEntry is one entry put back into its original stream.
struct RedrivenEntry {
  std::string dead_letter_id;
  std::string stream;
  std::string original_id;
  std::string new_id;  // its id in `stream` (empty in a dry run)
};

// RedriveSkip is an entry left in the dead-letter stream, and why.
struct RedriveSkip {
  std::string id;
  std::string reason;
};

struct RedriveResult {
  std::vector<RedrivenEntry> redriven;  // in the order they were re-driven
  std::vector<RedriveSkip> skipped;     // malformed entries, unknown ids, ...
};

// RedriveDeadLetters puts dead-lettered entries back into the streams they came from, oldest
// first, so that the consumer group handles them again (as new entries: they get new ids).
// Each entry is moved by one Lua script that XADDs its original fields to its original stream
// and XDELs it from `dead_letter_stream`, so a crash or a lost connection never loses nor
// duplicates an entry, and an entry re-driven meanwhile by someone else is not put back
// twice. Entries dead-lettered after the call started are left for the next call (a handler
// that still fails would otherwise keep them going round). Malformed entries, and entries
// whose original stream holds another type, stay where they are and are reported in
// `skipped`. Fails with INVALID_ARGUMENT for bad options and with UNAVAILABLE (or another
// error) when Redis fails; the entries re-driven before the failure stay re-driven, and the
// message says how many there were.
// Cluster: the script touches both streams, so they must share a {hash tag}, as
// StreamConsumerOptions requires.
absl::StatusOr<RedriveResult> RedriveDeadLetters(RedisPool* pool,
                                                 std::string_view dead_letter_stream,
                                                 const RedriveOptions& options);

}  // namespace simpul

#endif  // SIMPUL_COMMON_STREAM_CONSUMER_H_
