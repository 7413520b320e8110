// FakeComplaintStore is an in-memory ComplaintStore for unit tests: the same outcomes as the
// Redis store (revision checks, idempotency, indexes, deadline queue, events), under one mutex.
#ifndef SIMPUL_TESTS_TESTING_FAKE_COMPLAINT_STORE_H_
#define SIMPUL_TESTS_TESTING_FAKE_COMPLAINT_STORE_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/complaints/store.h"

namespace simpul::testing {

class FakeComplaintStore final : public complaints::ComplaintStore {
 public:
  absl::StatusOr<complaints::CommitResult> Commit(const complaints::CaseWrite& write) override;
  absl::StatusOr<std::optional<complaints::v1::ComplaintRecord>> Get(std::string_view id) override;
  absl::StatusOr<std::vector<complaints::v1::HistoryEntry>> History(std::string_view id) override;
  absl::StatusOr<std::optional<complaints::v1::IdempotencyRecord>> GetIdempotency(
      std::string_view scope, std::string_view key) override;
  absl::StatusOr<std::vector<complaints::IndexedRecord>> Scan(
      std::string_view index, int64_t from_ms, int64_t to_ms,
      const std::optional<complaints::IndexPosition>& after, int limit) override;
  // ScanArea finds the cases of the geo index inside the area's search shape (a superset of
  // the area, as Redis' GEOSEARCH does).
  absl::StatusOr<std::vector<complaints::IndexedRecord>> ScanArea(
      std::string_view geo_index, const complaints::GeoArea& area, std::string_view order_index,
      int64_t from_ms, int64_t to_ms, const std::optional<complaints::IndexPosition>& after,
      int limit) override;
  absl::StatusOr<std::vector<std::string>> Due(absl::Time at, int limit) override;

  // Test access.
  std::vector<complaints::v1::ComplaintEvent> events() const;
  int commits() const;
  // idempotency_records are the stored records, keyed "<scope>\n<key>".
  std::map<std::string, complaints::v1::IdempotencyRecord> idempotency_records() const;
  // scanned is the number of index entries Scan has returned so far.
  int64_t scanned() const;
  // OnScan runs `hook` at the start of every Scan (e.g. to advance a fake clock).
  void OnScan(std::function<void()> hook);
  // FailNext makes the next `n` calls fail with `status` (e.g. UNAVAILABLE).
  void FailNext(int n, absl::Status status);

 private:
  absl::Status MaybeFail() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, complaints::v1::ComplaintRecord, std::less<>> records_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<complaints::v1::HistoryEntry>, std::less<>> history_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, complaints::v1::IdempotencyRecord, std::less<>> idempotency_
      ABSL_GUARDED_BY(mu_);
  // index name -> (file time ms, id)
  std::map<std::string, std::set<std::pair<int64_t, std::string>>, std::less<>> indexes_
      ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, std::string>> due_ ABSL_GUARDED_BY(mu_);  // (ms, id)
  std::vector<complaints::v1::ComplaintEvent> events_ ABSL_GUARDED_BY(mu_);
  int commits_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t scanned_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> on_scan_ ABSL_GUARDED_BY(mu_);
  int fail_next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status fail_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_FAKE_COMPLAINT_STORE_H_
