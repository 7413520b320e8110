// AggregateStore is the storage interface of simpul-monitoring. Figures are never computed by
// scanning raw records: every input (a survey response, a delivery event, a complaint event)
// becomes one Contribution — integer increments of named counters — applied atomically, once,
// to the aggregate of every (scope, period) bucket the input belongs to. A read of any scope
// is then one bucket read, whatever the number of units or responses behind it.
//
// Bucket names: "<scope>|<period>", scope "u:<unit>", "a:<agency>", "r:<region prefix>" or
// "n"; period "2026-M03" (simpul-monitoring stores month buckets only and reads a quarter,
// semester or year as the sum of its months: aggregates.h MONTH BUCKETS ONLY).
#ifndef SIMPUL_SERVICES_MONITORING_STORE_H_
#define SIMPUL_SERVICES_MONITORING_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace simpul::monitoring {

// Counters of one bucket, by field name (e.g. "s.n", "s.u3.sum", "d.done", "c.ch.SMS").
using Counters = std::map<std::string, int64_t, std::less<>>;

struct Increment {
  std::string field;
  int64_t delta = 0;
};

// RankUpdate sets a unit's value in the ranking of its parent scopes for one period and
// metric, e.g. the unit's IKM in hundredths within its agency and each region prefix.
struct RankUpdate {
  std::vector<std::string> rankings;  // ranking names: "<parent bucket>|<metric>"
  std::string unit_id;
  int64_t value = 0;    // hundredths
  bool remove = false;  // take the unit out of the rankings instead (it has no value any more)
};

// LedgerTag names the input a contribution belongs to, so that the input can be voided later
// (INPUT LEDGERS below). An empty key: the contribution is not kept in any ledger.
struct LedgerTag {
  std::string key;    // e.g. "survey:<unit>:<idempotency key>", "delivery:<unit>:<application>"
  std::string meta;   // opaque to the store; kept from the first contribution that carries it
  std::string batch;  // "" or the batch index that lists the input (BatchLedgers)
};

// Contribution is the effect of one input.
struct Contribution {
  // Applied at most once: a second Apply with the same key changes nothing. Namespaced by the
  // caller, e.g. "survey:<unit>:<idempotency key>", "complaint-event:<event id>".
  std::string dedup_key;
  std::vector<std::string> buckets;  // every bucket gets every increment
  std::vector<Increment> increments;
  LedgerTag ledger;
};

// INPUT LEDGERS. When a contribution carrying a LedgerTag is applied (by Apply, AddOpen,
// RemoveOpen or the overdue sweep), the store records it in that input's ledger IN THE SAME
// ATOMIC STEP: its dedup key, buckets and increments exactly as applied. A ledger lives as long
// as dedup keys (the store's dedup TTL, counted from its last change). Once voided
// (VoidLedger), a contribution carrying the ledger is never applied again (the store answers as
// for a repeat), so a late completion of a voided application changes nothing.
struct Ledger {
  std::string meta;
  std::vector<Contribution> applied;  // dedup key, buckets, increments; order not significant
  bool voided = false;
  std::string void_record;  // what VoidLedger stored, when voided
  int64_t version = 0;      // changes whenever a contribution is added (compare-and-void)
};

// State records hold the latest known state of one object of another service (a registry
// service or unit), so that a change of it is applied as the DIFFERENCE between its old and
// its new contribution. `version` orders the changes (the registry feed cursor that produced
// the record).
struct StateRecord {
  std::string version;
  std::string data;
};

// BucketDelta adds `delta` to one counter of one bucket.
struct BucketDelta {
  std::string bucket;
  std::string field;
  int64_t delta = 0;
};

// SetMembership puts `member` into the scored set `set` with `score`, or removes it (nullopt).
struct SetMembership {
  std::string set;
  std::string member;
  std::optional<int64_t> score;
};

// StateChange replaces a state record and applies the counter deltas and set memberships that
// the change implies, all or nothing, if the stored record is still the one it was computed
// from (optimistic concurrency).
struct StateChange {
  std::string key;
  std::optional<std::string> expected_version;  // nullopt: the record must not exist yet
  StateRecord next;
  std::vector<BucketDelta> deltas;
  std::vector<SetMembership> memberships;
  // expires: the record is a marker of one input (e.g. a delivery recorded as not applicable)
  // and is kept only as long as that input's dedup keys (the store's dedup TTL), not forever.
  bool expires = false;
};

// ScoreRange counts the members of a scored set with min <= score <= max, or, with `ranking`,
// the units of a ranking (SetRanks) whose value is within them.
struct ScoreRange {
  std::string set;
  int64_t min = 0;
  int64_t max = 0;
  bool ranking = false;  // `set` names a ranking, "<parent bucket>|<metric>"
};

class AggregateStore {
 public:
  virtual ~AggregateStore() = default;

  // Apply adds the increments to every bucket and records the dedup key, atomically; false
  // (and nothing changed) when the key was applied before.
  virtual absl::StatusOr<bool> Apply(const Contribution& contribution) = 0;
  // ApplyBatch applies contributions in order, each exactly as Apply would (a dedup key
  // repeated within the batch applies once, at its first occurrence), and returns for each
  // whether it was applied. A store may write a batch in a few atomic steps instead of one per
  // contribution; on an error, the contributions of the steps already written stay applied
  // (each once: repeating the batch applies the rest). The default applies one by one.
  virtual absl::StatusOr<std::vector<bool>> ApplyBatch(
      const std::vector<Contribution>& contributions);

  // Read returns the counters of one bucket (empty when nothing was applied to it).
  virtual absl::StatusOr<Counters> Read(std::string_view bucket) = 0;
  // ReadMany reads several buckets in one round trip, in order.
  virtual absl::StatusOr<std::vector<Counters>> ReadMany(
      const std::vector<std::string>& buckets) = 0;
  // ReadFields reads some counters of several buckets in one round trip: for each bucket, in
  // order, the value of each of `fields` (0 when absent). Cheaper than ReadMany when a caller
  // needs a few known counters of many buckets (the survey counters behind IKM rankings).
  virtual absl::StatusOr<std::vector<std::vector<int64_t>>> ReadFields(
      const std::vector<std::string>& buckets, const std::vector<std::string>& fields) = 0;

  // SetRanks applies rank updates (idempotent: a set, not an increment).
  virtual absl::Status SetRanks(const std::vector<RankUpdate>& updates) = 0;
  // TopRanks returns up to `limit` (unit, value) pairs of a ranking, highest first (or lowest
  // first when `ascending`), ties by unit id.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> TopRanks(
      std::string_view ranking, int limit, bool ascending) = 0;

  // ReadState returns a state record, nullopt when there is none.
  virtual absl::StatusOr<std::optional<StateRecord>> ReadState(std::string_view key) = 0;
  // ReplaceState applies `change` when the stored record's version equals
  // change.expected_version (or no record exists when that is nullopt) and returns true;
  // otherwise it changes nothing and returns false (re-read and recompute).
  virtual absl::StatusOr<bool> ReplaceState(const StateChange& change) = 0;
  // CountInRanges counts members per range, in order, in one round trip.
  virtual absl::StatusOr<std::vector<int64_t>> CountInRanges(
      const std::vector<ScoreRange>& ranges) = 0;
  // SetMembers lists the members of a scored set (SetMembership), lowest score first.
  virtual absl::StatusOr<std::vector<std::string>> SetMembers(std::string_view set) = 0;

  // Open deliveries: an application waiting past its promised time moves from "open" to
  // "open overdue". Each step is ONE atomic store operation, so a crash between steps never
  // leaves an application counted open with nothing to make it overdue, nor a completion
  // counted against the wrong open count.
  //
  // AddOpen applies `receipt` (like Apply) and, only when the receipt is new, queues the
  // application in the same step: its due instant and `when_overdue`, the contribution to
  // apply when the promise passes (e.g. d.open -1, d.overdue +1 on its buckets). Returns
  // whether the receipt was new. A later AddOpen with another (new) receipt replaces the
  // queued entry.
  virtual absl::StatusOr<bool> AddOpen(const Contribution& receipt,
                                       std::string_view application_key, absl::Time due,
                                       const Contribution& when_overdue) = 0;
  // RemoveOpen ends an application: in one step it dequeues it and applies `if_waiting` when
  // it was still queued (not yet overdue), else `if_overdue` (the sweep already applied its
  // overdue contribution, or it was never queued); each contribution once by its dedup key.
  struct Removed {
    bool was_waiting = false;
    bool applied = false;  // some chosen contribution was new
  };
  virtual absl::StatusOr<Removed> RemoveOpen(std::string_view application_key,
                                             const std::vector<Contribution>& if_waiting,
                                             const std::vector<Contribution>& if_overdue) = 0;
  // SweepOpen applies the overdue contribution of up to `limit` applications due by `at` and
  // forgets them, each atomically with respect to RemoveOpen, and returns how many it applied.
  virtual absl::StatusOr<int> SweepOpen(absl::Time at, int limit) = 0;

  // ReadLedgers reads input ledgers (see INPUT LEDGERS), nullopt for a key with none (never
  // recorded, or expired), in one round trip, in order.
  virtual absl::StatusOr<std::vector<std::optional<Ledger>>> ReadLedgers(
      const std::vector<std::string>& keys) = 0;
  // VoidLedger, in one atomic step, applies every contribution of `reversal` (each once by its
  // dedup key; they carry no ledger), dequeues the open application `application_key` (when
  // not empty) so the sweep never makes it overdue, and marks the ledger voided with `record`,
  // provided the ledger exists, is not voided and is still at `version`.
  enum class VoidOutcome { kVoided, kAlreadyVoided, kMissing, kChanged };
  virtual absl::StatusOr<VoidOutcome> VoidLedger(std::string_view key, int64_t version,
                                                 std::string_view application_key,
                                                 const std::vector<Contribution>& reversal,
                                                 std::string_view record) = 0;
  // BatchLedgers lists the ledger keys of a batch index (LedgerTag::batch), sorted.
  virtual absl::StatusOr<std::vector<std::string>> BatchLedgers(std::string_view batch) = 0;

  // Logs: append-only lists of opaque records (e.g. the void log of an agency), newest first.
  virtual absl::Status AppendLog(std::string_view log, std::string_view record) = 0;
  // ReadLog returns up to `limit` records starting `offset` records from the newest.
  virtual absl::StatusOr<std::vector<std::string>> ReadLog(std::string_view log, int64_t offset,
                                                           int limit) = 0;
};

// kMaxExactScore bounds the values of scored sets (rankings, memberships): Redis scores are
// doubles, so integers beyond 2^53 would be rounded.
inline constexpr int64_t kMaxExactScore = int64_t{1} << 53;

// ValidateContribution, ValidateRankUpdates and ValidateStateChange are the argument checks
// every AggregateStore makes before writing anything (INVALID_ARGUMENT naming the offending
// part; a contribution's messages start with `what`, e.g. "apply").
absl::Status ValidateContribution(const Contribution& c, std::string_view what);
absl::Status ValidateRankUpdates(const std::vector<RankUpdate>& updates);
absl::Status ValidateStateChange(const StateChange& change);

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_STORE_H_
