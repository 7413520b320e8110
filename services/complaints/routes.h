// Routes on a case: applying what the registry answered (agency, unit, time zone, service
// standard) and turning the router's failures into errors a caller can act on.
#ifndef SIMPUL_SERVICES_COMPLAINTS_ROUTES_H_
#define SIMPUL_SERVICES_COMPLAINTS_ROUTES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/registry/router.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

// ApplyRoute sets where a case goes and on what terms: those of the standard version in force
// when the case was filed (`filed`; clients/registry/router.h StandardInForceAt), none when no
// version was in force then. The terms stay on the case: a later standard does not change them.
void ApplyRoute(v1::Complaint& c, const clients::registry::Route& route, absl::Time filed);

// ResolutionClassesOf are the resolution classes of standard version `version_id` of the
// route's service (the version recorded on a case), from the route's history; the current
// version's when the router reports no history.
std::vector<clients::registry::ResolutionClassTerm> ResolutionClassesOf(
    const clients::registry::Route& route, const std::string& version_id);

// RegistryUnreachable: the router failed because the registry did not answer in time.
bool RegistryUnreachable(const absl::Status& s);

// RouteError turns a router failure for a caller-given id in `field` into the caller's error.
absl::Status RouteError(const absl::Status& s, const std::string& field, absl::string_view id);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_ROUTES_H_
