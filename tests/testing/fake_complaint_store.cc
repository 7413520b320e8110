// FakeComplaintStore: the complaint store in ordered maps (see the header).
#include "tests/testing/fake_complaint_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace simpul::testing {

using complaints::CaseWrite;
using complaints::CommitResult;
using complaints::IndexedRecord;
using complaints::IndexesOf;
using complaints::IndexParts;
using complaints::IndexPosition;
using complaints::NextDeadline;
namespace v1 = complaints::v1;

namespace {

int64_t FileMillis(const v1::Complaint& c) {
  return c.file_time().seconds() * 1000 + c.file_time().nanos() / 1000000;
}

std::optional<int64_t> DueMillis(const v1::Complaint& c) {
  std::optional<absl::Time> next = NextDeadline(c);
  if (!next) return std::nullopt;
  return absl::ToUnixMillis(*next);
}

// InSearchShape: Redis' GEOSEARCH would find `l` with `shape` (BYRADIUS: the distance; BYBOX:
// the north-south distance and the distance along the point's latitude), so the fake returns
// the same superset of an area as the Redis store and the desk's exact filter is exercised.
bool InSearchShape(const complaints::GeoSearchShape& shape, const v1::Location& l) {
  using complaints::DistanceMeters;
  if (shape.radius_m > 0) {
    return DistanceMeters(shape.latitude, shape.longitude, l.latitude(), l.longitude()) <=
           shape.radius_m;
  }
  return DistanceMeters(l.latitude(), shape.longitude, shape.latitude, shape.longitude) <=
             shape.height_m / 2 &&
         DistanceMeters(l.latitude(), l.longitude(), l.latitude(), shape.longitude) <=
             shape.width_m / 2;
}

}  // namespace

absl::Status FakeComplaintStore::MaybeFail() {
  if (fail_next_ == 0) return absl::OkStatus();
  --fail_next_;
  return fail_status_;
}

void FakeComplaintStore::FailNext(int n, absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_next_ = n;
  fail_status_ = std::move(status);
}

absl::StatusOr<CommitResult> FakeComplaintStore::Commit(const CaseWrite& w) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = MaybeFail(); !s.ok()) return s;
  const v1::Complaint& after = w.after.complaint();
  const std::string& id = after.id();
  CommitResult result;
  std::string idem_key;
  if (w.idempotency) {
    idem_key = absl::StrCat(w.idempotency->scope, "\n", w.idempotency->key);
    auto it = idempotency_.find(idem_key);
    if (it != idempotency_.end()) {
      result.outcome = CommitResult::Outcome::kIdempotentReplay;
      result.replay = it->second;
      return result;
    }
  }
  auto existing = records_.find(id);
  const int64_t stored = existing == records_.end() ? 0 : existing->second.complaint().revision();
  const int64_t expected = w.before ? w.before->complaint().revision() : 0;
  if (stored != expected) {
    result.outcome = CommitResult::Outcome::kConflict;
    result.current_revision = stored;
    return result;
  }
  if (w.before) {
    for (const auto& index : IndexesOf(w.before->complaint())) {
      indexes_[index].erase({FileMillis(w.before->complaint()), id});
    }
    if (auto due = DueMillis(w.before->complaint())) due_.erase({*due, id});
  }
  for (const auto& index : IndexesOf(after)) indexes_[index].insert({FileMillis(after), id});
  if (auto due = DueMillis(after)) due_.insert({*due, id});
  records_[id] = w.after;
  history_[id].push_back(w.entry);
  events_.push_back(w.event);
  if (w.idempotency) idempotency_[idem_key] = w.idempotency->record;
  ++commits_;
  result.event_cursor = absl::StrCat(events_.size(), "-0");
  return result;
}

absl::StatusOr<std::optional<v1::ComplaintRecord>> FakeComplaintStore::Get(std::string_view id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = MaybeFail(); !s.ok()) return s;
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<v1::HistoryEntry>> FakeComplaintStore::History(std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = history_.find(id);
  if (it == history_.end()) return std::vector<v1::HistoryEntry>();
  return it->second;
}

absl::StatusOr<std::optional<v1::IdempotencyRecord>> FakeComplaintStore::GetIdempotency(
    std::string_view scope, std::string_view key) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = MaybeFail(); !s.ok()) return s;
  auto it = idempotency_.find(absl::StrCat(std::string(scope), "\n", std::string(key)));
  if (it == idempotency_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<IndexedRecord>> FakeComplaintStore::Scan(
    std::string_view index, int64_t from_ms, int64_t to_ms,
    const std::optional<IndexPosition>& after, int limit) {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = on_scan_;
  }
  if (hook) hook();
  absl::MutexLock lock(&mu_);
  std::vector<IndexedRecord> out;
  std::set<std::pair<int64_t, std::string>> entries;
  for (const std::string& part : IndexParts(index)) {
    auto it = indexes_.find(part);
    if (it != indexes_.end()) entries.insert(it->second.begin(), it->second.end());
  }
  for (const auto& [ms, id] : entries) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (ms < from_ms || ms >= to_ms) continue;
    if (after && std::make_pair(ms, id) <= std::make_pair(after->file_time_ms, after->id)) {
      continue;
    }
    out.push_back(IndexedRecord{IndexPosition{ms, id}, records_.at(id)});
  }
  scanned_ += static_cast<int64_t>(out.size());
  return out;
}

absl::StatusOr<std::vector<IndexedRecord>> FakeComplaintStore::ScanArea(
    std::string_view geo_index, const complaints::GeoArea& area, std::string_view order_index,
    int64_t from_ms, int64_t to_ms, const std::optional<IndexPosition>& after, int limit) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = MaybeFail(); !s.ok()) return s;
  std::set<std::pair<int64_t, std::string>> entries;
  for (const auto& [id, record] : records_) {
    const v1::Complaint& c = record.complaint();
    const std::vector<std::string> geo = complaints::GeoIndexesOf(c);
    if (std::find(geo.begin(), geo.end(), geo_index) == geo.end()) continue;
    if (!InSearchShape(complaints::SearchShapeOf(area), c.location())) continue;
    int64_t ms = FileMillis(c);
    if (order_index == complaints::UpdatedIndex()) {
      ms = c.update_time().seconds() * 1000 + c.update_time().nanos() / 1000000;
    } else if (order_index != complaints::AllIndex()) {
      continue;
    }
    entries.insert({ms, id});
  }
  std::vector<IndexedRecord> out;
  for (const auto& [ms, id] : entries) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (ms < from_ms || ms >= to_ms) continue;
    if (after && std::make_pair(ms, id) <= std::make_pair(after->file_time_ms, after->id)) {
      continue;
    }
    out.push_back(IndexedRecord{IndexPosition{ms, id}, records_.at(id)});
  }
  scanned_ += static_cast<int64_t>(out.size());
  return out;
}

absl::StatusOr<std::vector<std::string>> FakeComplaintStore::Due(absl::Time at, int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  const int64_t at_ms = absl::ToUnixMillis(at);
  for (const auto& [ms, id] : due_) {
    if (ms > at_ms || static_cast<int>(out.size()) >= limit) break;
    out.push_back(id);
  }
  return out;
}

std::vector<v1::ComplaintEvent> FakeComplaintStore::events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

int FakeComplaintStore::commits() const {
  absl::MutexLock lock(&mu_);
  return commits_;
}

std::map<std::string, v1::IdempotencyRecord> FakeComplaintStore::idempotency_records() const {
  absl::MutexLock lock(&mu_);
  return {idempotency_.begin(), idempotency_.end()};
}

int64_t FakeComplaintStore::scanned() const {
  absl::MutexLock lock(&mu_);
  return scanned_;
}

void FakeComplaintStore::OnScan(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  on_scan_ = std::move(hook);
}

}  // namespace simpul::testing
