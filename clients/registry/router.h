// Router resolves where a complaint goes: a service id to its unit, agency, the unit's time
// zone and the complaint-handling terms of the service's adopted standard. The complaint and
// monitoring services use RegistryRouter (registry_router.h) in production and fakes in unit
// tests.
#ifndef SIMPUL_CLIENTS_REGISTRY_ROUTER_H_
#define SIMPUL_CLIENTS_REGISTRY_ROUTER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::clients::registry {

// ResolutionClassTerm is one resolution class a standard publishes ("minor": 2 working days).
struct ResolutionClassTerm {
  std::string name;
  int working_days = 0;
};

// PromisedUnit is the unit of a standard's promised completion time; the values are those of
// simpul.registry.v1.TimeUnit.
enum class PromisedUnit { kNone = 0, kMinute = 1, kHour = 2, kWorkingDay = 3, kCalendarDay = 4 };

// Route is where complaints about one service or unit go, and on what terms.
struct Route {
  std::string service_id;  // empty when routed to a unit directly
  std::string unit_id;
  std::string agency_id;
  common::v1::TimeZone time_zone = common::v1::TIME_ZONE_UNSPECIFIED;
  std::string region_code;  // the unit's Kemendagri region code
  // Terms of the service's ADOPTED standard; empty/0 when the service has none.
  std::string standard_version_id;
  int response_working_days = 0;  // first response promised within (0: the default of 5)
  std::vector<ResolutionClassTerm> resolution_classes;
  // The standard's promised completion time (jangka waktu penyelesaian); 0/kNone without one.
  int promised_amount = 0;
  PromisedUnit promised_unit = PromisedUnit::kNone;
};

// Router is the interface; its methods are thread-safe in every implementation.
class Router {
 public:
  virtual ~Router() = default;
  // ResolveService: NOT_FOUND when the registry has no such service; UNAVAILABLE or
  // DEADLINE_EXCEEDED when the registry cannot be asked right now.
  virtual absl::StatusOr<Route> ResolveService(std::string_view service_id) = 0;
  // ResolveUnit: the unit's agency and time zone (no standard terms); errors as above.
  virtual absl::StatusOr<Route> ResolveUnit(std::string_view unit_id) = 0;
  // AgencyExists: whether the registry knows the agency; errors as above.
  virtual absl::StatusOr<bool> AgencyExists(std::string_view agency_id) = 0;
};

}  // namespace simpul::clients::registry

#endif  // SIMPUL_CLIENTS_REGISTRY_ROUTER_H_
