// Access rules of the complaint desk.
#include "services/complaints/access.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "services/complaints/complaints.h"

namespace simpul::complaints {
namespace {

// NotHandler refuses a caller that does not handle the case. The message is the same whoever
// handles it, or whether anyone does: another agency learns nothing about where a case went.
absl::Status NotHandler(const Identity& caller, const v1::Complaint& c) {
  if (caller.is_public()) {
    return absl::UnauthenticatedError(
        "this action needs the handling agency's credentials; complainants use the tracking "
        "code and secret");
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "complaint ", c.id(), " is not handled by ",
      caller.principal.agency_id().empty() ? "the caller"
                                           : absl::StrCat("agency ", caller.principal.agency_id()),
      "; only its handling agency (or a coordinator, where allowed) may do this"));
}

}  // namespace

bool IsCoordinator(const Identity& caller) { return caller.is_platform_admin(); }

bool SeesPublicView(const Identity& caller) {
  return caller.is_public() || caller.principal.role() == common::v1::ROLE_CHANNEL ||
         caller.principal.role() == common::v1::ROLE_DASHBOARD;
}

bool FiledThrough(const Identity& caller, const v1::Complaint& c) {
  const auto& p = caller.principal;
  if (p.role() != common::v1::ROLE_CHANNEL) return false;
  return c.channel_name() == (p.channel().empty() ? p.subject() : p.channel());
}

bool IsHandler(const Identity& caller, const v1::Complaint& c) {
  return !c.agency_id().empty() && caller.IsAgencyMember(c.agency_id());
}

bool CanSeeIdentity(const Identity& caller, const v1::Complaint& c) {
  switch (c.confidentiality()) {
    case v1::CONFIDENTIALITY_PUBLIC:
      return IsHandler(caller, c) || IsCoordinator(caller);
    case v1::CONFIDENTIALITY_SECRET:
      return IsHandler(caller, c);
    default:
      return false;
  }
}

absl::Status RequireHandler(const Identity& caller, const v1::Complaint& c, bool coordinator_too) {
  if (IsHandler(caller, c) || (coordinator_too && IsCoordinator(caller))) return absl::OkStatus();
  return NotHandler(caller, c);
}

absl::Status RequireHandlerOrUnroutedCoordinator(const Identity& caller, const v1::Complaint& c) {
  return RequireHandler(caller, c, c.agency_id().empty());
}

absl::Status RequireState(const v1::Complaint& c, std::string_view action,
                          std::initializer_list<v1::State> allowed) {
  if (std::find(allowed.begin(), allowed.end(), c.state()) != allowed.end()) {
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (v1::State s : allowed) names.push_back(StateName(s));
  return absl::FailedPreconditionError(absl::StrCat(AbslView(action), " is allowed in state ",
                                                    absl::StrJoin(names, " or "), "; complaint ",
                                                    c.id(), " is ", StateName(c.state())));
}

v1::Complaint FullViewFor(const Identity& caller, const v1::Complaint& c, absl::Time now) {
  return FullView(c, CanSeeIdentity(caller, c), now);
}

}  // namespace simpul::complaints
