// Access rules of the complaint desk: who reads a case in which view, who may act on it, in
// which states an action is allowed (the "who may do what" of complaints.h).
#ifndef SIMPUL_SERVICES_COMPLAINTS_ACCESS_H_
#define SIMPUL_SERVICES_COMPLAINTS_ACCESS_H_

#include <initializer_list>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clients/complaints/views.h"
#include "common/identity.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/complaints/v1/storage.pb.h"

namespace simpul::complaints {

// IsCoordinator: the caller is a platform admin.
bool IsCoordinator(const Identity& caller);

// SeesPublicView: callers that read cases as the public does (the public list and the public
// view of a listed case): anonymous callers, complaint channels and dashboards.
bool SeesPublicView(const Identity& caller);

// FiledThrough: `caller` is the complaint channel the case was filed through (it may follow
// the case in the public view before the case is publicly listed).
bool FiledThrough(const Identity& caller, const v1::Complaint& c);

// IsHandler: the caller acts for the agency handling the case.
bool IsHandler(const Identity& caller, const v1::Complaint& c);

// CanSeeIdentity: the caller may see the complainant's identity. PUBLIC identities are visible
// to the handling agency and coordinators, SECRET ones to the handling agency only.
bool CanSeeIdentity(const Identity& caller, const v1::Complaint& c);

// RequireHandler allows the handling agency, and coordinators when `coordinator_too`.
absl::Status RequireHandler(const Identity& caller, const v1::Complaint& c, bool coordinator_too);

// RequireHandlerOrUnroutedCoordinator: the handling agency; a coordinator while no agency
// handles the case.
absl::Status RequireHandlerOrUnroutedCoordinator(const Identity& caller, const v1::Complaint& c);

// RequireState: FAILED_PRECONDITION unless the case is in one of the `allowed` states.
absl::Status RequireState(const v1::Complaint& c, std::string_view action,
                          std::initializer_list<v1::State> allowed);

// FullViewFor is the full view of `c` as `caller` sees it at `now` (FullView, with the
// identity where CanSeeIdentity allows it).
v1::Complaint FullViewFor(const Identity& caller, const v1::Complaint& c, absl::Time now);

// FullResponse is a response holding the case in the caller's full view; PublicResponse one
// holding it in the public view.
template <typename Resp>
Resp FullResponse(const Identity& caller, const v1::ComplaintRecord& record, absl::Time now) {
  Resp response;
  *response.mutable_complaint() = FullViewFor(caller, record.complaint(), now);
  return response;
}
template <typename Resp>
Resp PublicResponse(const v1::ComplaintRecord& record, absl::Time now) {
  Resp response;
  *response.mutable_complaint() = PublicView(record.complaint(), now);
  return response;
}

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_ACCESS_H_
