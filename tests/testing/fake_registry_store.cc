// FakeRegistryStore: registry objects in ordered maps and the whole change feed (see the
// header).
#include "tests/testing/fake_registry_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace simpul::testing {

using registry::AgencyFilter;
using registry::CommitResult;
using registry::DayNumber;
using registry::KeywordTokens;
using registry::ObjectWrite;
using registry::RegionPrefixes;
using registry::ReviewDueKey;
using registry::ServiceFilter;
using registry::StandardQuery;
using registry::UnitFilter;
namespace v1 = registry::v1;

namespace {

bool HasPrefixLevel(std::string_view code, std::string_view prefix) {
  if (prefix.empty()) return true;
  auto levels = RegionPrefixes(code);
  return std::find(levels.begin(), levels.end(), prefix) != levels.end();
}

template <typename T>
std::optional<T> Find(const std::map<std::string, T, std::less<>>& map, std::string_view id) {
  auto it = map.find(id);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

template <typename T, typename Pred>
std::vector<T> Scan(const std::map<std::string, T, std::less<>>& map, std::string_view after,
                    int limit, Pred pred) {
  std::vector<T> out;
  for (auto it = map.upper_bound(after); it != map.end() && static_cast<int>(out.size()) < limit;
       ++it) {
    if (pred(it->second)) out.push_back(it->second);
  }
  return out;
}

int64_t CursorNumber(std::string_view cursor) {
  int64_t n = 0;
  absl::SimpleAtoi(std::string(cursor.substr(0, cursor.find('-'))), &n);
  return n;
}

}  // namespace

absl::StatusOr<CommitResult> FakeRegistryStore::Commit(const std::vector<ObjectWrite>& writes,
                                                       v1::ChangeEvent event) {
  absl::MutexLock lock(&mu_);
  if (fail_commits_ > 0) {
    --fail_commits_;
    return absl::UnavailableError("injected commit failure");
  }
  auto current = [&](const v1::ChangedObject& o) -> int64_t {
    switch (o.object_case()) {
      case v1::ChangedObject::kAgency: {
        auto f = Find(agencies_, o.agency().id());
        return f ? f->revision() : 0;
      }
      case v1::ChangedObject::kUnit: {
        auto f = Find(units_, o.unit().id());
        return f ? f->revision() : 0;
      }
      case v1::ChangedObject::kService: {
        auto f = Find(services_, o.service().id());
        return f ? f->revision() : 0;
      }
      case v1::ChangedObject::kStandardVersion: {
        auto f = Find(versions_, o.standard_version().id());
        return f ? f->revision() : 0;
      }
      case v1::ChangedObject::kMaklumat: {
        auto f = Find(maklumat_, o.maklumat().id());
        return f ? f->revision() : 0;
      }
      default:
        return -1;
    }
  };
  for (size_t i = 0; i < writes.size(); ++i) {
    int64_t rev = current(writes[i].object);
    if (rev != writes[i].expected_revision) {
      return CommitResult{
          .committed = false, .conflict_index = static_cast<int>(i), .current_revision = rev};
    }
  }
  event.clear_objects();
  for (const auto& w : writes) {
    const auto& o = w.object;
    switch (o.object_case()) {
      case v1::ChangedObject::kAgency:
        agencies_[o.agency().id()] = o.agency();
        break;
      case v1::ChangedObject::kUnit:
        units_[o.unit().id()] = o.unit();
        break;
      case v1::ChangedObject::kService:
        services_[o.service().id()] = o.service();
        break;
      case v1::ChangedObject::kStandardVersion:
        versions_[o.standard_version().id()] = o.standard_version();
        break;
      case v1::ChangedObject::kMaklumat:
        maklumat_[o.maklumat().id()] = o.maklumat();
        break;
      default:
        break;
    }
    *event.add_objects() = o;
  }
  event.set_cursor(absl::StrCat(feed_.size() + 1, "-0"));
  feed_.push_back(event);
  return CommitResult{.committed = true, .cursor = event.cursor()};
}

absl::StatusOr<std::optional<v1::Agency>> FakeRegistryStore::GetAgency(std::string_view id) {
  absl::MutexLock lock(&mu_);
  return Find(agencies_, id);
}
absl::StatusOr<std::optional<v1::ServiceUnit>> FakeRegistryStore::GetUnit(std::string_view id) {
  absl::MutexLock lock(&mu_);
  return Find(units_, id);
}
absl::StatusOr<std::optional<v1::Service>> FakeRegistryStore::GetService(std::string_view id) {
  absl::MutexLock lock(&mu_);
  return Find(services_, id);
}
absl::StatusOr<std::optional<v1::StandardVersion>> FakeRegistryStore::GetStandardVersion(
    std::string_view id) {
  absl::MutexLock lock(&mu_);
  return Find(versions_, id);
}
absl::StatusOr<std::optional<v1::Maklumat>> FakeRegistryStore::GetMaklumat(std::string_view id) {
  absl::MutexLock lock(&mu_);
  return Find(maklumat_, id);
}

absl::StatusOr<std::vector<v1::Agency>> FakeRegistryStore::ListAgencies(const AgencyFilter& filter,
                                                                        std::string_view after_id,
                                                                        int limit) {
  absl::MutexLock lock(&mu_);
  return Scan(agencies_, after_id, limit, [&](const v1::Agency& a) {
    return (filter.kind == v1::AGENCY_KIND_UNSPECIFIED || a.kind() == filter.kind) &&
           (filter.region_code_prefix.empty() ||
            HasPrefixLevel(a.region_code(), filter.region_code_prefix));
  });
}

absl::StatusOr<std::vector<v1::ServiceUnit>> FakeRegistryStore::ListUnits(const UnitFilter& filter,
                                                                          std::string_view after_id,
                                                                          int limit) {
  absl::MutexLock lock(&mu_);
  return Scan(units_, after_id, limit, [&](const v1::ServiceUnit& u) {
    return (filter.agency_id.empty() || u.agency_id() == filter.agency_id) &&
           (filter.region_code_prefix.empty() ||
            HasPrefixLevel(u.region_code(), filter.region_code_prefix));
  });
}

absl::StatusOr<std::vector<v1::Service>> FakeRegistryStore::ListServices(
    const ServiceFilter& filter, std::string_view after_id, int limit) {
  absl::MutexLock lock(&mu_);
  return Scan(services_, after_id, limit, [&](const v1::Service& s) {
    return (filter.agency_id.empty() || s.agency_id() == filter.agency_id) &&
           (filter.unit_id.empty() || s.unit_id() == filter.unit_id);
  });
}

absl::StatusOr<std::vector<v1::StandardVersion>> FakeRegistryStore::SearchStandards(
    const StandardQuery& q, std::string_view after_id, int limit) {
  absl::MutexLock lock(&mu_);
  return Scan(versions_, after_id, limit, [&](const v1::StandardVersion& v) {
    if (!q.agency_id.empty() && v.agency_id() != q.agency_id) return false;
    if (!q.unit_id.empty() && v.unit_id() != q.unit_id) return false;
    if (!HasPrefixLevel(v.region_code(), q.region_code_prefix)) return false;
    if (!q.states.empty() &&
        std::find(q.states.begin(), q.states.end(), v.state()) == q.states.end()) {
      return false;
    }
    auto tokens = KeywordTokens(v);
    for (const auto& t : q.keyword_tokens) {
      if (!std::binary_search(tokens.begin(), tokens.end(), t)) return false;
    }
    return true;
  });
}

absl::StatusOr<std::vector<v1::StandardVersion>> FakeRegistryStore::ListServiceVersions(
    std::string_view service_id, int after_number, int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::StandardVersion> out;
  for (const auto& [id, v] : versions_) {
    if (v.service_id() == service_id && v.version_number() > after_number) out.push_back(v);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.version_number() < b.version_number(); });
  if (static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<v1::Maklumat>> FakeRegistryStore::ListUnitMaklumat(
    std::string_view unit_id, int after_number, int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Maklumat> out;
  for (const auto& [id, m] : maklumat_) {
    if (m.unit_id() == unit_id && m.version_number() > after_number) out.push_back(m);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.version_number() < b.version_number(); });
  if (static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<v1::StandardVersion>> FakeRegistryStore::ListReviewDue(
    std::string_view agency_id, int64_t before_day, const std::optional<ReviewDueKey>& after,
    int limit) {
  absl::MutexLock lock(&mu_);
  std::vector<v1::StandardVersion> out;
  for (const auto& [id, v] : versions_) {
    if (v.state() != v1::STANDARD_STATE_ADOPTED) continue;
    if (!agency_id.empty() && v.agency_id() != agency_id) continue;
    int64_t day = DayNumber(v.review_due_date());
    if (day >= before_day) continue;
    if (after && std::make_pair(day, v.id()) <= std::make_pair(after->due_day, after->id)) {
      continue;
    }
    out.push_back(v);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::make_pair(DayNumber(a.review_due_date()), a.id()) <
           std::make_pair(DayNumber(b.review_due_date()), b.id());
  });
  if (static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<v1::ChangeEvent>> FakeRegistryStore::ReadChanges(
    std::string_view after_cursor, int limit, absl::Duration block) {
  absl::MutexLock lock(&mu_);
  int64_t after = CursorNumber(after_cursor);
  std::vector<v1::ChangeEvent> out;
  for (size_t i = after; i < feed_.size() && static_cast<int>(out.size()) < limit; ++i) {
    out.push_back(feed_[i]);
  }
  return out;
}

absl::StatusOr<std::string> FakeRegistryStore::LatestCursor() {
  absl::MutexLock lock(&mu_);
  return absl::StrCat(feed_.size(), "-0");
}

std::vector<v1::ChangeEvent> FakeRegistryStore::events() {
  absl::MutexLock lock(&mu_);
  return feed_;
}

void FakeRegistryStore::FailNextCommits(int n) {
  absl::MutexLock lock(&mu_);
  fail_commits_ = n;
}

}  // namespace simpul::testing
