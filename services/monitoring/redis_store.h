// RedisAggregateStore is the Redis implementation of AggregateStore: bucket counters in hashes,
// dedup markers with a TTL, rankings in sorted sets and the queue of open deliveries. Every
// write is one Lua script that checks key types (and that the counters it increments hold
// integers) before its first write, so a contribution is applied whole or not at all.
//
// Key layout. Every key starts with P = Options::key_prefix, which carries exactly one hash tag
// (default "simpul:mon:{m}:"), so every key lives in one Cluster slot. Scripts touch only keys
// passed in KEYS.
//
//   P b:<bucket>     hash, field = counter name, value = decimal int64 (HINCRBY)
//   P d:<dedup key>  string "1" with a PX TTL of Options::dedup_ttl: the contribution with
//                    this dedup key was applied. A repeat arriving after the marker expired
//                    is applied again.
//   P rank:<name>    sorted set, member = unit id, score = value (hundredths; exact, since
//                    values are limited to +-2^53)
//   P open           sorted set, member = application key, score = due instant in Unix
//                    milliseconds rounded up (so an application is never swept before it is
//                    due; it may be swept up to a millisecond late)
//   P open:c         hash, field = application key, value = its overdue Contribution,
//                    serialized as netstrings "<length>:<bytes>": "m2", dedup key, bucket
//                    count, buckets, increment count, then field and decimal delta per
//                    increment, then the ledger tag's key, meta and batch ("m1", written
//                    before input ledgers, ends after the increments)
//
//   P l:<ledger>     hash: an input ledger (store.h INPUT LEDGERS), PX TTL of Options::dedup_ttl
//                    renewed on every change. Fields: "c:<dedup key>" = the applied
//                    contribution (SerializeLedgerEntry), "meta" = LedgerTag::meta, "void" =
//                    the void record once voided. Its version is its field count.
//   P batch:<batch>  set of ledger names (LedgerTag::batch), same TTL
//   P log:<log>      list of records, newest first (AppendLog, ReadLog)
//   P s:<key>        hash {v: version, d: data}: a state record (ReadState, ReplaceState)
//   P z:<set>        sorted set of a SetMembership, score = the membership's score
//
// The store never logs; error messages name keys, never counter values.
// It is thread-safe (all state is in Redis; the pool hands each call its own connection).
#ifndef SIMPUL_SERVICES_MONITORING_REDIS_STORE_H_
#define SIMPUL_SERVICES_MONITORING_REDIS_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "services/monitoring/store.h"

namespace simpul::monitoring {

class RedisAggregateStore final : public AggregateStore {
 public:
  struct Options {
    // Prefix of every key; it must contain a non-empty hash tag ("{...}").
    std::string key_prefix = "simpul:mon:{m}:";
    // How long a dedup key is remembered; zero or negative remembers it forever.
    absl::Duration dedup_ttl = absl::Hours(24 * 400);
    // Contributions per script of ApplyBatch (a script blocks Redis while it runs).
    int max_batch_script = 100;
  };

  // RedisAggregateStore uses `pool`, which must outlive it.
  RedisAggregateStore(RedisPool* pool, Options options);
  RedisAggregateStore(const RedisAggregateStore&) = delete;
  RedisAggregateStore& operator=(const RedisAggregateStore&) = delete;

  // Apply runs one script. INVALID_ARGUMENT (nothing written) when the dedup key is empty,
  // there is no bucket, or a bucket or field name is empty. A bucket listed twice is
  // incremented once. A bucket key of the wrong type or a non-integer counter it would
  // increment is INTERNAL, with nothing written.
  absl::StatusOr<bool> Apply(const Contribution& contribution) override;
  // ApplyBatch runs one script per Options::max_batch_script contributions, each script all
  // or nothing, with the checks and errors of Apply (INVALID_ARGUMENT before any script for an
  // invalid contribution, named "apply #<index>"). Within a script the increments are summed
  // per bucket and field: one HMGET and one HSET per distinct bucket, plus the dedup marker and
  // ledger entry of each contribution applied.
  absl::StatusOr<std::vector<bool>> ApplyBatch(
      const std::vector<Contribution>& contributions) override;

  // Read and ReadMany fail with INTERNAL naming the key when a counter is not an integer.
  absl::StatusOr<Counters> Read(std::string_view bucket) override;
  absl::StatusOr<std::vector<Counters>> ReadMany(const std::vector<std::string>& buckets) override;
  absl::StatusOr<std::vector<std::vector<int64_t>>> ReadFields(
      const std::vector<std::string>& buckets, const std::vector<std::string>& fields) override;

  // SetRanks writes all updates in one script. INVALID_ARGUMENT (nothing written) for an empty
  // unit id or ranking name, or a value beyond +-2^53.
  absl::Status SetRanks(const std::vector<RankUpdate>& updates) override;
  // TopRanks orders by value (descending, or ascending when `ascending`), then by ascending
  // unit id (bytewise) in both directions. INVALID_ARGUMENT when `limit` is not positive.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> TopRanks(std::string_view ranking,
                                                                        int limit,
                                                                        bool ascending) override;

  absl::StatusOr<std::optional<StateRecord>> ReadState(std::string_view key) override;
  // ReplaceState runs one script. INVALID_ARGUMENT (nothing written) for an empty key, bucket,
  // field, set or member, or a score beyond +-2^53; INTERNAL (nothing written) for keys of the
  // wrong type or a counter that is not an integer.
  absl::StatusOr<bool> ReplaceState(const StateChange& change) override;
  absl::StatusOr<std::vector<int64_t>> CountInRanges(
      const std::vector<ScoreRange>& ranges) override;
  absl::StatusOr<std::vector<std::string>> SetMembers(std::string_view set) override;

  // AddOpen: INVALID_ARGUMENT for an empty application key or a contribution Apply would
  // reject; INTERNAL (nothing written) as for Apply.
  absl::StatusOr<bool> AddOpen(const Contribution& receipt, std::string_view application_key,
                               absl::Time due, const Contribution& when_overdue) override;
  // RemoveOpen: INVALID_ARGUMENT for a contribution Apply would reject (in either list).
  absl::StatusOr<Removed> RemoveOpen(std::string_view application_key,
                                     const std::vector<Contribution>& if_waiting,
                                     const std::vector<Contribution>& if_overdue) override;
  // SweepOpen reads up to `limit` due applications, then in one script re-checks that each is
  // still queued, due and holds the same contribution, and for each such one applies it like
  // Apply (nothing when its dedup key was seen before) and dequeues it. Returns how many it
  // dequeued that way. INVALID_ARGUMENT when `limit` is not positive; INTERNAL naming the key
  // when a stored contribution cannot be parsed.
  absl::StatusOr<int> SweepOpen(absl::Time at, int limit) override;

  // ReadLedgers: INTERNAL naming the key when an entry cannot be parsed.
  absl::StatusOr<std::vector<std::optional<Ledger>>> ReadLedgers(
      const std::vector<std::string>& keys) override;
  // VoidLedger runs one script. INVALID_ARGUMENT (nothing written) for an empty key, a
  // contribution Apply would reject or one carrying a ledger; INTERNAL as for Apply.
  absl::StatusOr<VoidOutcome> VoidLedger(std::string_view key, int64_t version,
                                         std::string_view application_key,
                                         const std::vector<Contribution>& reversal,
                                         std::string_view record) override;
  absl::StatusOr<std::vector<std::string>> BatchLedgers(std::string_view batch) override;
  absl::Status AppendLog(std::string_view log, std::string_view record) override;
  // ReadLog: INVALID_ARGUMENT for a limit below 1 or a negative offset.
  absl::StatusOr<std::vector<std::string>> ReadLog(std::string_view log, int64_t offset,
                                                   int limit) override;

  // KeyPrefix is Options::key_prefix, the start of every key of the store.
  const std::string& KeyPrefix() const { return options_.key_prefix; }

  // SerializeContribution and ParseContribution are the open:c value format (exposed for
  // tests); ParseContribution is nullopt for malformed bytes.
  static std::string SerializeContribution(const Contribution& contribution);
  static std::optional<Contribution> ParseContribution(std::string_view bytes);
  // SerializeLedgerEntry and ParseLedgerEntry are the format of a ledger's "c:" fields:
  // netstrings "e1", then "x", the scope count, scopes, the period count and periods when the
  // distinct buckets are a scope × period product (as aggregates.h Buckets lists them), else
  // "l", the bucket count and buckets; then the increments as in SerializeContribution.
  static std::string SerializeLedgerEntry(const Contribution& contribution);
  static std::optional<Contribution> ParseLedgerEntry(std::string_view dedup_key,
                                                      std::string_view bytes);

 private:
  std::string Key(std::string_view suffix) const;
  std::string BucketKey(std::string_view bucket) const;
  // GetAll runs one HGETALL per bucket in one pipeline: the replies in order, and the keys
  // read into `keys`.
  absl::StatusOr<std::vector<RedisReply>> GetAll(const std::vector<std::string>& buckets,
                                                 std::vector<std::string>* keys);
  std::string DedupKey(std::string_view dedup_key) const;
  std::string RankKey(std::string_view ranking) const;
  std::string LedgerKey(std::string_view ledger) const;
  std::string BatchKey(std::string_view batch) const;
  // DedupTtlMs is the PX argument ("0": no expiry).
  std::string DedupTtlMs() const;
  // AppendContribution adds the KEYS (dedup key, distinct bucket keys, ledger and batch keys)
  // and ARGV (bucket count, increment count, field and delta per increment, the ledger's
  // arguments) of `c` for the apply scripts (kApplyLib in the .cc).
  void AppendContribution(const Contribution& c, std::vector<std::string>* keys,
                          std::vector<std::string>* args) const;
  // ApplyChunk applies contributions[begin, end) in one script (ApplyBatch).
  absl::StatusOr<std::vector<bool>> ApplyChunk(const std::vector<Contribution>& contributions,
                                               size_t begin, size_t end);

  RedisPool* const pool_;
  const Options options_;
};

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_REDIS_STORE_H_
