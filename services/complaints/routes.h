// Routes on a case: applying what the registry answered (agency, unit, time zone, service
// standard) and turning the router's failures into errors a caller can act on.
#ifndef SIMPUL_SERVICES_COMPLAINTS_ROUTES_H_
#define SIMPUL_SERVICES_COMPLAINTS_ROUTES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "clients/registry/router.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

// ApplyRoute sets where a case goes and on what terms.
void ApplyRoute(v1::Complaint& c, const clients::registry::Route& route);

// RegistryUnreachable: the router failed because the registry did not answer in time.
bool RegistryUnreachable(const absl::Status& s);

// RouteError turns a router failure for a caller-given id in `field` into the caller's error.
absl::Status RouteError(const absl::Status& s, const std::string& field, absl::string_view id);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_ROUTES_H_
