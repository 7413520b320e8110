// Routes on a case.
#include "services/complaints/routes.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace simpul::complaints {

void ApplyRoute(v1::Complaint& c, const clients::registry::Route& route, absl::Time filed) {
  c.set_agency_id(route.agency_id);
  c.set_unit_id(route.unit_id);
  c.set_time_zone(route.time_zone);
  if (!route.service_id.empty()) c.set_service_id(route.service_id);
  const std::optional<clients::registry::StandardTerms> terms =
      route.service_id.empty() ? std::nullopt : clients::registry::StandardInForceAt(route, filed);
  c.set_standard_version_id(terms ? terms->version_id : "");
  c.set_response_working_days(terms ? terms->response_working_days : 0);
  c.clear_routing_note();
}

std::vector<clients::registry::ResolutionClassTerm> ResolutionClassesOf(
    const clients::registry::Route& route, const std::string& version_id) {
  if (route.standards.empty()) return route.resolution_classes;
  for (const clients::registry::StandardTerms& terms : route.standards) {
    if (terms.version_id == version_id) return terms.resolution_classes;
  }
  return {};
}

bool RegistryUnreachable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

absl::Status RouteError(const absl::Status& s, const std::string& field, absl::string_view id) {
  if (s.code() == absl::StatusCode::kNotFound) {
    return InvalidField(
        field, absl::StrCat("the registry has no such ",
                            field == "unit_id" || field == "to_unit_id" ? "unit" : "service", " \"",
                            id, "\""));
  }
  if (RegistryUnreachable(s)) {
    return absl::UnavailableError(
        absl::StrCat("the registry cannot be reached to resolve ", field, "; retry shortly"));
  }
  return s;
}

}  // namespace simpul::complaints
