// FakeRouter: routes from maps filled by the test (see the header).
#include "tests/testing/fake_router.h"

#include <utility>

#include "absl/status/status.h"

namespace simpul::testing {

using clients::registry::Route;

void FakeRouter::AddService(Route route) {
  absl::MutexLock lock(&mu_);
  std::string id = route.service_id;
  services_[std::move(id)] = std::move(route);
}

void FakeRouter::AddUnit(Route route) {
  absl::MutexLock lock(&mu_);
  agencies_.insert(route.agency_id);
  std::string id = route.unit_id;
  units_[std::move(id)] = std::move(route);
}

void FakeRouter::AddAgency(std::string agency_id, bool sandbox) {
  absl::MutexLock lock(&mu_);
  if (sandbox) sandbox_agencies_.insert(agency_id);
  agencies_.insert(std::move(agency_id));
}

void FakeRouter::SetUnavailable(bool unavailable) {
  absl::MutexLock lock(&mu_);
  unavailable_ = unavailable;
}

absl::StatusOr<Route> FakeRouter::ResolveService(std::string_view service_id) {
  absl::MutexLock lock(&mu_);
  if (unavailable_) return absl::UnavailableError("registry unreachable");
  auto it = services_.find(service_id);
  if (it == services_.end()) return absl::NotFoundError("no such service");
  return it->second;
}

absl::StatusOr<Route> FakeRouter::ResolveUnit(std::string_view unit_id) {
  absl::MutexLock lock(&mu_);
  if (unavailable_) return absl::UnavailableError("registry unreachable");
  auto it = units_.find(unit_id);
  if (it == units_.end()) return absl::NotFoundError("no such unit");
  return it->second;
}

absl::StatusOr<bool> FakeRouter::AgencyExists(std::string_view agency_id) {
  absl::MutexLock lock(&mu_);
  if (unavailable_) return absl::UnavailableError("registry unreachable");
  return agencies_.find(agency_id) != agencies_.end();
}

absl::StatusOr<Route> FakeRouter::ResolveAgency(std::string_view agency_id) {
  absl::MutexLock lock(&mu_);
  if (unavailable_) return absl::UnavailableError("registry unreachable");
  if (agencies_.find(agency_id) == agencies_.end()) return absl::NotFoundError("no such agency");
  Route route;
  route.agency_id = std::string(agency_id);
  route.sandbox = sandbox_agencies_.find(agency_id) != sandbox_agencies_.end();
  return route;
}

}  // namespace simpul::testing
