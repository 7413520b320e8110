// FakeAggregateStore is an in-memory AggregateStore (services/monitoring/store.h) for unit tests
// of simpul-monitoring: the outcomes of RedisAggregateStore (redis_store.h) under one mutex.
//
// As in Redis, every call either fails before changing anything or is applied whole: a
// contribution is applied once per dedup key (a bucket listed twice is incremented once, an
// increment of 0 still creates its counter), rankings and scored sets hold one value per member,
// state records are replaced only at the expected version, and open applications are queued
// with their due instant in milliseconds rounded up and swept when that is not after the sweep's
// instant (in milliseconds rounded down), earliest first. The same arguments are rejected with
// INVALID_ARGUMENT. Unlike Redis, dedup keys and input ledgers are remembered forever (no TTL).
#ifndef SIMPUL_TESTS_TESTING_FAKE_AGGREGATE_STORE_H_
#define SIMPUL_TESTS_TESTING_FAKE_AGGREGATE_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/monitoring/store.h"

namespace simpul::testing {

class FakeAggregateStore final : public monitoring::AggregateStore {
 public:
  absl::StatusOr<bool> Apply(const monitoring::Contribution& contribution) override;
  absl::StatusOr<monitoring::Counters> Read(std::string_view bucket) override;
  absl::StatusOr<std::vector<std::vector<int64_t>>> ReadFields(
      const std::vector<std::string>& buckets, const std::vector<std::string>& fields) override;
  absl::StatusOr<std::vector<monitoring::Counters>> ReadMany(
      const std::vector<std::string>& buckets) override;
  absl::Status SetRanks(const std::vector<monitoring::RankUpdate>& updates) override;
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> TopRanks(std::string_view ranking,
                                                                        int limit,
                                                                        bool ascending) override;
  absl::StatusOr<std::optional<monitoring::StateRecord>> ReadState(std::string_view key) override;
  absl::StatusOr<bool> ReplaceState(const monitoring::StateChange& change) override;
  absl::StatusOr<std::vector<int64_t>> CountInRanges(
      const std::vector<monitoring::ScoreRange>& ranges) override;
  absl::StatusOr<std::vector<std::string>> SetMembers(std::string_view set) override;
  absl::StatusOr<bool> AddOpen(const monitoring::Contribution& receipt,
                               std::string_view application_key, absl::Time due,
                               const monitoring::Contribution& when_overdue) override;
  absl::StatusOr<Removed> RemoveOpen(
      std::string_view application_key, const std::vector<monitoring::Contribution>& if_waiting,
      const std::vector<monitoring::Contribution>& if_overdue) override;
  absl::StatusOr<int> SweepOpen(absl::Time at, int limit) override;
  absl::StatusOr<std::vector<std::optional<monitoring::Ledger>>> ReadLedgers(
      const std::vector<std::string>& keys) override;
  absl::StatusOr<VoidOutcome> VoidLedger(std::string_view key, int64_t version,
                                         std::string_view application_key,
                                         const std::vector<monitoring::Contribution>& reversal,
                                         std::string_view record) override;
  absl::StatusOr<std::vector<std::string>> BatchLedgers(std::string_view batch) override;
  absl::Status AppendLog(std::string_view log, std::string_view record) override;
  absl::StatusOr<std::vector<std::string>> ReadLog(std::string_view log, int64_t offset,
                                                   int limit) override;

  // Test access.
  // OpenDue is the due instant (milliseconds, rounded up) of a queued application, nullopt when
  // it is not queued.
  std::optional<absl::Time> OpenDue(std::string_view application_key) const;
  // Applied tells whether a contribution with `dedup_key` was applied.
  bool Applied(std::string_view dedup_key) const;
  // Buckets lists the names of every bucket holding a counter.
  std::vector<std::string> Buckets() const;
  // FailNext makes the next `n` calls of the interface fail with `status` (e.g. UNAVAILABLE),
  // changing nothing.
  void FailNext(int n, absl::Status status);

 private:
  struct Open {
    int64_t due_ms = 0;
    monitoring::Contribution when_overdue;
  };

  absl::Status MaybeFail() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ApplyLocked applies a validated contribution unless its dedup key was seen; true if applied.
  bool ApplyLocked(const monitoring::Contribution& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, monitoring::Counters, std::less<>> buckets_ ABSL_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> dedup_ ABSL_GUARDED_BY(mu_);
  // ranking name (or scored set name) -> member -> score
  std::map<std::string, std::map<std::string, int64_t>, std::less<>> rankings_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<std::string, int64_t>, std::less<>> sets_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, monitoring::StateRecord, std::less<>> states_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Open, std::less<>> open_ ABSL_GUARDED_BY(mu_);  // by application key
  std::map<std::string, monitoring::Ledger, std::less<>> ledgers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>, std::less<>> batches_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>, std::less<>> logs_ ABSL_GUARDED_BY(mu_);
  int fail_next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status fail_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_FAKE_AGGREGATE_STORE_H_
