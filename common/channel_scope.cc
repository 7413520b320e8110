#include "common/channel_scope.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/field_rules.h"

namespace simpul {
namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, std::string_view id) {
  return !id.empty() && std::find(list.begin(), list.end(), id) != list.end();
}

void CheckIds(const google::protobuf::RepeatedPtrField<std::string>& ids, const std::string& field,
              FieldViolations& v) {
  if (ids.size() > kMaxScopeEntries) {
    v.Add(field, absl::StrCat("at most ", kMaxScopeEntries, " entries, got ", ids.size()));
    return;
  }
  absl::flat_hash_set<std::string_view> seen;
  for (int i = 0; i < ids.size(); ++i) {
    const std::string at = absl::StrCat(field, "[", i, "]");
    if (!IsValidSlug(ids[i])) {
      v.Add(at, "expected an id: lowercase letters, digits and '-'");
    } else if (!seen.insert(ids[i]).second) {
      v.Add(at, "listed twice");
    }
  }
}

}  // namespace

void CheckChannelScope(const common::v1::Principal& p, std::string_view prefix,
                       FieldViolations& v) {
  const std::string agencies = std::string(prefix) + ".scope_agency_ids";
  const std::string units = std::string(prefix) + ".scope_unit_ids";
  const std::string all = std::string(prefix) + ".scope_all_agencies";
  const bool listed = !p.scope_agency_ids().empty() || !p.scope_unit_ids().empty();
  if (p.role() != common::v1::ROLE_CHANNEL) {
    if (listed || p.scope_all_agencies()) {
      v.Add(listed ? agencies : all, "only a channel (ROLE_CHANNEL) carries a scope");
    }
    return;
  }
  if (p.scope_all_agencies() && listed) {
    v.Add(all, "either every agency or a list of agencies and units, not both");
    return;
  }
  if (!p.scope_all_agencies() && !listed) {
    v.Add(agencies,
          "a channel must name the agencies or service units it files and submits surveys "
          "for (scope_agency_ids, scope_unit_ids), or set scope_all_agencies");
    return;
  }
  CheckIds(p.scope_agency_ids(), agencies, v);
  CheckIds(p.scope_unit_ids(), units, v);
}

bool ChannelMayActFor(const common::v1::Principal& p, std::string_view agency_id,
                      std::string_view unit_id) {
  if (p.scope_all_agencies()) return true;
  return Contains(p.scope_agency_ids(), agency_id) || Contains(p.scope_unit_ids(), unit_id);
}

absl::Status RequireChannelScope(const common::v1::Principal& p, std::string_view agency_id,
                                 std::string_view unit_id, std::string_view what) {
  if (p.role() != common::v1::ROLE_CHANNEL || ChannelMayActFor(p, agency_id, unit_id)) {
    return absl::OkStatus();
  }
  if (agency_id.empty() && unit_id.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "this channel's key is bound to named agencies and units; ", AbslView(what),
        " for a service no unit handles needs a key for every agency (scope_all_agencies)"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("this channel's key is not bound to unit ", AbslView(unit_id), " of agency ",
                   AbslView(agency_id), "; ", AbslView(what),
                   " there needs a key whose scope names that agency or unit"));
}

}  // namespace simpul
