// The argument checks shared by every AggregateStore (the Redis store and the test fake).
#include "services/monitoring/store.h"

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"

namespace simpul::monitoring {

absl::Status ValidateContribution(const Contribution& c, std::string_view what) {
  if (c.dedup_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), ": dedup key is empty"));
  }
  if (c.buckets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), ": no bucket"));
  }
  for (size_t i = 0; i < c.buckets.size(); ++i) {
    if (c.buckets[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(AbslView(what), ": bucket #", i, " is empty"));
    }
  }
  for (size_t i = 0; i < c.increments.size(); ++i) {
    if (c.increments[i].field.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(AbslView(what), ": field of increment #", i, " is empty"));
    }
  }
  if (c.ledger.key.empty() && (!c.ledger.meta.empty() || !c.ledger.batch.empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), ": ledger meta or batch without a ledger key"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<bool>> AggregateStore::ApplyBatch(
    const std::vector<Contribution>& contributions) {
  std::vector<bool> applied;
  applied.reserve(contributions.size());
  for (const Contribution& c : contributions) {
    absl::StatusOr<bool> one = Apply(c);
    if (!one.ok()) return one.status();
    applied.push_back(*one);
  }
  return applied;
}

absl::Status ValidateRankUpdates(const std::vector<RankUpdate>& updates) {
  for (size_t i = 0; i < updates.size(); ++i) {
    const RankUpdate& u = updates[i];
    if (u.unit_id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("rank update #", i, ": unit id is empty"));
    }
    if (u.value > kMaxExactScore || u.value < -kMaxExactScore) {
      return absl::InvalidArgumentError(
          absl::StrCat("rank update #", i, ": value ", u.value, " is beyond +-2^53"));
    }
    for (const std::string& ranking : u.rankings) {
      if (ranking.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("rank update #", i, ": a ranking name is empty"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateStateChange(const StateChange& change) {
  if (change.key.empty()) return absl::InvalidArgumentError("state: key is empty");
  for (size_t i = 0; i < change.deltas.size(); ++i) {
    if (change.deltas[i].bucket.empty() || change.deltas[i].field.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("state: delta #", i, " has no bucket or field"));
    }
  }
  for (size_t i = 0; i < change.memberships.size(); ++i) {
    const SetMembership& m = change.memberships[i];
    if (m.set.empty() || m.member.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("state: membership #", i, " has no set or member"));
    }
    if (m.score && (*m.score > kMaxExactScore || *m.score < -kMaxExactScore)) {
      return absl::InvalidArgumentError(
          absl::StrCat("state: membership #", i, " has a score beyond +-2^53"));
    }
  }
  return absl::OkStatus();
}

}  // namespace simpul::monitoring
