#include "services/complaints/store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"

namespace simpul::complaints {
namespace {

std::string StateName(v1::State state) { return v1::State_Name(state).substr(6); }  // "STATE_"

}  // namespace

bool IsPubliclyListed(const v1::Complaint& c) {
  if (c.confidentiality() == v1::CONFIDENTIALITY_SECRET) return false;
  switch (c.state()) {
    case v1::STATE_VERIFIED:
    case v1::STATE_DISPOSED:
    case v1::STATE_FORWARDED:
    case v1::STATE_IN_PROGRESS:
    case v1::STATE_RESPONDED:
    case v1::STATE_COMPLETED:
    case v1::STATE_ESCALATED:
      return true;
    default:
      return false;
  }
}

std::string AllIndex() { return "all"; }
std::string StateIndex(v1::State state) { return absl::StrCat("s:", StateName(state)); }
std::string AgencyIndex(std::string_view agency_id) {
  return absl::StrCat("a:", AbslView(agency_id));
}
std::string AgencyStateIndex(std::string_view agency_id, v1::State state) {
  return absl::StrCat("a:", AbslView(agency_id), ":", StateName(state));
}
std::string UnitIndex(std::string_view unit_id) { return absl::StrCat("u:", AbslView(unit_id)); }
std::string UnitStateIndex(std::string_view unit_id, v1::State state) {
  return absl::StrCat("u:", AbslView(unit_id), ":", StateName(state));
}
std::string UnroutedIndex() { return "unrouted"; }
std::string PublicIndex() { return "public"; }
std::string UpdatedIndex() { return "upd"; }

std::vector<std::string> IndexesOf(const v1::Complaint& c) {
  std::vector<std::string> out = {AllIndex(), StateIndex(c.state())};
  if (!c.agency_id().empty()) {
    out.push_back(AgencyStateIndex(c.agency_id(), c.state()));
  } else if (c.state() == v1::STATE_RECEIVED) {
    out.push_back(UnroutedIndex());
  }
  if (!c.unit_id().empty()) {
    out.push_back(UnitStateIndex(c.unit_id(), c.state()));
  }
  if (IsPubliclyListed(c)) out.push_back(PublicIndex());
  return out;
}

std::vector<std::string> IndexParts(std::string_view index) {
  // "a:<agency>" and "u:<unit>" hold no further ':' (agency and unit ids are slugs); their
  // per-state indexes are "a:<agency>:<STATE>" and "u:<unit>:<STATE>".
  const bool union_index =
      (absl::StartsWith(AbslView(index), "a:") || absl::StartsWith(AbslView(index), "u:")) &&
      index.find(':', 2) == std::string_view::npos;
  if (!union_index) return {std::string(index)};
  std::vector<std::string> parts;
  for (int s = v1::State_MIN; s <= v1::State_MAX; ++s) {
    if (!v1::State_IsValid(s) || s == v1::STATE_UNSPECIFIED) continue;
    parts.push_back(absl::StrCat(AbslView(index), ":", StateName(static_cast<v1::State>(s))));
  }
  return parts;
}

std::optional<absl::Time> NextDeadline(const v1::Complaint& c) {
  if (!c.deadlines().has_next()) return std::nullopt;
  const auto& t = c.deadlines().next();
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace simpul::complaints
