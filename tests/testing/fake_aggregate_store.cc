// FakeAggregateStore: aggregates in ordered maps (see the header for what matches Redis).
#include "tests/testing/fake_aggregate_store.h"

#include <algorithm>
#include <tuple>

#include "common/redis.h"
#include "common/status.h"

namespace simpul::testing {

using monitoring::Contribution;
using monitoring::Counters;
using monitoring::RankUpdate;
using monitoring::ScoreRange;
using monitoring::StateChange;
using monitoring::StateRecord;

namespace {

// DueMillis rounds up, AtMillis down, as the Redis store's scores.
int64_t DueMillis(absl::Time due) {
  if (due == absl::InfiniteFuture()) return INT64_MAX;
  if (due == absl::InfinitePast()) return INT64_MIN;
  int64_t ms = absl::ToUnixMillis(due);
  if (absl::FromUnixMillis(ms) < due) ++ms;
  return ms;
}
int64_t AtMillis(absl::Time at) {
  if (at == absl::InfiniteFuture()) return INT64_MAX;
  if (at == absl::InfinitePast()) return INT64_MIN;
  return absl::ToUnixMillis(at);
}

// Sorted orders (member, score) pairs by score, then member bytewise (Redis order).
std::vector<std::pair<std::string, int64_t>> Sorted(const std::map<std::string, int64_t>& set,
                                                    bool ascending) {
  std::vector<std::pair<std::string, int64_t>> out(set.begin(), set.end());
  std::sort(out.begin(), out.end(), [ascending](const auto& a, const auto& b) {
    if (a.second != b.second) return ascending ? a.second < b.second : a.second > b.second;
    return a.first < b.first;
  });
  return out;
}

}  // namespace

absl::Status FakeAggregateStore::MaybeFail() {
  if (fail_next_ == 0) return absl::OkStatus();
  --fail_next_;
  return fail_status_;
}

void FakeAggregateStore::FailNext(int n, absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_next_ = n;
  fail_status_ = std::move(status);
}

bool FakeAggregateStore::ApplyLocked(const Contribution& c) {
  if (dedup_.count(c.dedup_key) > 0) return false;
  monitoring::Ledger* ledger = nullptr;
  if (!c.ledger.key.empty()) {
    ledger = &ledgers_[c.ledger.key];
    if (ledger->voided) return false;
  }
  dedup_.insert(c.dedup_key);
  const std::set<std::string> buckets(c.buckets.begin(), c.buckets.end());
  for (const std::string& bucket : buckets) {
    if (c.increments.empty()) break;  // only the key is recorded
    Counters& counters = buckets_[bucket];
    for (const auto& inc : c.increments) counters[inc.field] += inc.delta;
  }
  if (ledger != nullptr) {
    monitoring::Contribution entry{
        c.dedup_key, std::vector<std::string>(buckets.begin(), buckets.end()), c.increments, {}};
    ledger->applied.push_back(std::move(entry));
    if (ledger->meta.empty()) ledger->meta = c.ledger.meta;
    ++ledger->version;
    if (!c.ledger.batch.empty()) batches_[c.ledger.batch].insert(c.ledger.key);
  }
  return true;
}

absl::StatusOr<bool> FakeAggregateStore::Apply(const Contribution& contribution) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  SIMPUL_RETURN_IF_ERROR(monitoring::ValidateContribution(contribution, "apply"));
  return ApplyLocked(contribution);
}

absl::StatusOr<Counters> FakeAggregateStore::Read(std::string_view bucket) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  auto it = buckets_.find(bucket);
  return it == buckets_.end() ? Counters() : it->second;
}

absl::StatusOr<std::vector<Counters>> FakeAggregateStore::ReadMany(
    const std::vector<std::string>& buckets) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  std::vector<Counters> out;
  out.reserve(buckets.size());
  for (const std::string& bucket : buckets) {
    auto it = buckets_.find(bucket);
    out.push_back(it == buckets_.end() ? Counters() : it->second);
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<int64_t>>> FakeAggregateStore::ReadFields(
    const std::vector<std::string>& buckets, const std::vector<std::string>& fields) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  std::vector<std::vector<int64_t>> out;
  if (buckets.empty()) return out;
  if (fields.empty()) return absl::InvalidArgumentError("read fields: no field named");
  for (const std::string& bucket : buckets) {
    std::vector<int64_t>& values = out.emplace_back(fields.size(), 0);
    auto it = buckets_.find(bucket);
    if (it == buckets_.end()) continue;
    for (size_t f = 0; f < fields.size(); ++f) {
      auto field = it->second.find(fields[f]);
      if (field != it->second.end()) values[f] = field->second;
    }
  }
  return out;
}

absl::Status FakeAggregateStore::SetRanks(const std::vector<RankUpdate>& updates) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  SIMPUL_RETURN_IF_ERROR(monitoring::ValidateRankUpdates(updates));
  for (const RankUpdate& u : updates) {
    for (const std::string& ranking : u.rankings) {
      if (!u.remove) {
        rankings_[ranking][u.unit_id] = u.value;
      } else if (auto it = rankings_.find(ranking); it != rankings_.end()) {
        it->second.erase(u.unit_id);
        if (it->second.empty()) rankings_.erase(it);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> FakeAggregateStore::TopRanks(
    std::string_view ranking, int limit, bool ascending) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  auto it = rankings_.find(ranking);
  if (it == rankings_.end()) return std::vector<std::pair<std::string, int64_t>>();
  std::vector<std::pair<std::string, int64_t>> out = Sorted(it->second, ascending);
  if (out.size() > static_cast<size_t>(limit)) out.resize(limit);
  return out;
}

absl::StatusOr<std::optional<StateRecord>> FakeAggregateStore::ReadState(std::string_view key) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  auto it = states_.find(key);
  if (it == states_.end()) return std::optional<StateRecord>();
  return std::optional<StateRecord>(it->second);
}

absl::StatusOr<bool> FakeAggregateStore::ReplaceState(const StateChange& change) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  SIMPUL_RETURN_IF_ERROR(monitoring::ValidateStateChange(change));
  auto it = states_.find(change.key);
  if (change.expected_version
          ? (it == states_.end() || it->second.version != *change.expected_version)
          : it != states_.end()) {
    return false;
  }
  for (const monitoring::BucketDelta& d : change.deltas) buckets_[d.bucket][d.field] += d.delta;
  for (const monitoring::SetMembership& m : change.memberships) {
    if (m.score) {
      sets_[m.set][m.member] = *m.score;
    } else if (auto set = sets_.find(m.set); set != sets_.end()) {
      set->second.erase(m.member);
      if (set->second.empty()) sets_.erase(set);
    }
  }
  states_[change.key] = change.next;
  return true;
}

absl::StatusOr<std::vector<int64_t>> FakeAggregateStore::CountInRanges(
    const std::vector<ScoreRange>& ranges) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  std::vector<int64_t> out;
  out.reserve(ranges.size());
  for (const ScoreRange& r : ranges) {
    // Bounds at or beyond +-2^53 are infinite, as in the Redis store.
    const int64_t min = r.min <= -monitoring::kMaxExactScore ? INT64_MIN : r.min;
    const int64_t max = r.max >= monitoring::kMaxExactScore ? INT64_MAX : r.max;
    int64_t n = 0;
    if (r.ranking) {
      if (auto ranking = rankings_.find(r.set); ranking != rankings_.end()) {
        for (const auto& [unit, value] : ranking->second) n += value >= min && value <= max;
      }
    } else if (auto set = sets_.find(r.set); set != sets_.end()) {
      for (const auto& [member, score] : set->second) n += score >= min && score <= max;
    }
    out.push_back(n);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> FakeAggregateStore::SetMembers(std::string_view set) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  std::vector<std::string> out;
  auto it = sets_.find(set);
  if (it == sets_.end()) return out;
  for (auto& [member, score] : Sorted(it->second, /*ascending=*/true)) out.push_back(member);
  return out;
}

absl::StatusOr<bool> FakeAggregateStore::AddOpen(const Contribution& receipt,
                                                 std::string_view application_key, absl::Time due,
                                                 const Contribution& when_overdue) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  if (application_key.empty()) return absl::InvalidArgumentError("open: application key is empty");
  SIMPUL_RETURN_IF_ERROR(monitoring::ValidateContribution(receipt, "receipt"));
  SIMPUL_RETURN_IF_ERROR(monitoring::ValidateContribution(when_overdue, "open"));
  if (!ApplyLocked(receipt)) return false;  // a repeat, or a voided application
  open_[std::string(application_key)] = Open{DueMillis(due), when_overdue};
  return true;
}

absl::StatusOr<FakeAggregateStore::Removed> FakeAggregateStore::RemoveOpen(
    std::string_view application_key, const std::vector<Contribution>& if_waiting,
    const std::vector<Contribution>& if_overdue) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  for (const auto* list : {&if_waiting, &if_overdue}) {
    for (const Contribution& c : *list)
      SIMPUL_RETURN_IF_ERROR(monitoring::ValidateContribution(c, "close"));
  }
  Removed removed;
  auto it = open_.find(application_key);
  removed.was_waiting = it != open_.end();
  if (removed.was_waiting) open_.erase(it);
  for (const Contribution& c : removed.was_waiting ? if_waiting : if_overdue) {
    if (ApplyLocked(c)) removed.applied = true;
  }
  return removed;
}

absl::StatusOr<int> FakeAggregateStore::SweepOpen(absl::Time at, int limit) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  const int64_t at_ms = AtMillis(at);
  std::vector<std::tuple<int64_t, std::string>> due;  // earliest first, then by key
  for (const auto& [key, open] : open_) {
    if (open.due_ms <= at_ms) due.emplace_back(open.due_ms, key);
  }
  std::sort(due.begin(), due.end());
  if (due.size() > static_cast<size_t>(limit)) due.resize(limit);
  for (const auto& [ms, key] : due) {
    auto it = open_.find(key);
    ApplyLocked(it->second.when_overdue);
    open_.erase(it);
  }
  return static_cast<int>(due.size());
}

absl::StatusOr<std::vector<std::optional<monitoring::Ledger>>> FakeAggregateStore::ReadLedgers(
    const std::vector<std::string>& keys) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  std::vector<std::optional<monitoring::Ledger>> out;
  for (const std::string& key : keys) {
    auto it = ledgers_.find(key);
    if (it == ledgers_.end()) {
      out.emplace_back();
    } else {
      out.emplace_back(it->second);
    }
  }
  return out;
}

absl::StatusOr<FakeAggregateStore::VoidOutcome> FakeAggregateStore::VoidLedger(
    std::string_view key, int64_t version, std::string_view application_key,
    const std::vector<Contribution>& reversal, std::string_view record) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  if (key.empty()) return absl::InvalidArgumentError("void: ledger key is empty");
  for (const Contribution& c : reversal) {
    SIMPUL_RETURN_IF_ERROR(monitoring::ValidateContribution(c, "void"));
    if (!c.ledger.key.empty()) {
      return absl::InvalidArgumentError("void: a reversal contribution carries a ledger");
    }
  }
  auto it = ledgers_.find(key);
  if (it == ledgers_.end()) return VoidOutcome::kMissing;
  if (it->second.voided) return VoidOutcome::kAlreadyVoided;
  if (it->second.version != version) return VoidOutcome::kChanged;
  if (!application_key.empty()) {
    if (auto open = open_.find(application_key); open != open_.end()) open_.erase(open);
  }
  for (const Contribution& c : reversal) ApplyLocked(c);
  it->second.voided = true;
  it->second.void_record = std::string(record);
  ++it->second.version;
  return VoidOutcome::kVoided;
}

absl::StatusOr<std::vector<std::string>> FakeAggregateStore::BatchLedgers(std::string_view batch) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  auto it = batches_.find(batch);
  if (it == batches_.end()) return std::vector<std::string>();
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

absl::Status FakeAggregateStore::AppendLog(std::string_view log, std::string_view record) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  if (log.empty()) return absl::InvalidArgumentError("log: name is empty");
  auto& list = logs_[std::string(log)];
  list.insert(list.begin(), std::string(record));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FakeAggregateStore::ReadLog(std::string_view log,
                                                                     int64_t offset, int limit) {
  absl::MutexLock lock(&mu_);
  SIMPUL_RETURN_IF_ERROR(MaybeFail());
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  if (offset < 0) return absl::InvalidArgumentError("log: offset is negative");
  std::vector<std::string> out;
  auto it = logs_.find(log);
  if (it == logs_.end()) return out;
  for (int64_t i = offset; i < static_cast<int64_t>(it->second.size()) && i < offset + limit; ++i) {
    out.push_back(it->second[i]);
  }
  return out;
}

std::optional<absl::Time> FakeAggregateStore::OpenDue(std::string_view application_key) const {
  absl::MutexLock lock(&mu_);
  auto it = open_.find(application_key);
  if (it == open_.end()) return std::nullopt;
  return absl::FromUnixMillis(it->second.due_ms);
}

bool FakeAggregateStore::Applied(std::string_view dedup_key) const {
  absl::MutexLock lock(&mu_);
  return dedup_.find(dedup_key) != dedup_.end();
}

std::vector<std::string> FakeAggregateStore::Buckets() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [bucket, counters] : buckets_) out.push_back(bucket);
  return out;
}

}  // namespace simpul::testing
