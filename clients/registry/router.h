// Router resolves where a complaint goes: a service id to its unit, agency, the unit's time
// zone and the complaint-handling terms of the service's adopted standard. The complaint and
// monitoring services use RegistryRouter (registry_router.h) in production and fakes in unit
// tests.
#ifndef SIMPUL_CLIENTS_REGISTRY_ROUTER_H_
#define SIMPUL_CLIENTS_REGISTRY_ROUTER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "simpul/common/v1/common.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::clients::registry {

// ResolutionClassTerm is one resolution class a standard publishes ("minor": 2 working days).
struct ResolutionClassTerm {
  std::string name;
  int working_days = 0;
};

// PromisedUnit is the unit of a standard's promised completion time; the values are those of
// simpul.registry.v1.TimeUnit.
enum class PromisedUnit { kNone = 0, kMinute = 1, kHour = 2, kWorkingDay = 3, kCalendarDay = 4 };

// StandardTerms are the terms of one adopted standard version and the span in which it was in
// force (the registry's version history).
//
// IN FORCE AT T: a version is in force from 00:00 of its adoption's effective_from date in the
// unit's time zone (the decree, not the moment it was entered into Simpul). The version in force
// at T is the one with the highest version number whose in_force_from <= T, unless it stopped
// being in force at or before T (in_force_until <= T: it was withdrawn); then none is. Adopting
// a new version supersedes the previous one from the new one's effective date: a version adopted
// with a future effective date leaves the previous one in force until then.
struct StandardTerms {
  std::string version_id;  // "<service_id>.v<N>"
  int version_number = 0;
  absl::Time in_force_from = absl::InfinitePast();
  // When it was withdrawn (no version is in force after it); InfiniteFuture() otherwise.
  absl::Time in_force_until = absl::InfiniteFuture();
  int response_working_days = 0;
  std::vector<ResolutionClassTerm> resolution_classes;
  int promised_amount = 0;  // 0/kNone: the version promises no completion time
  PromisedUnit promised_unit = PromisedUnit::kNone;
};

// Route is where complaints about one service or unit go, and on what terms.
struct Route {
  std::string service_id;  // empty when routed to a unit directly
  std::string unit_id;
  std::string agency_id;
  common::v1::TimeZone time_zone = common::v1::TIME_ZONE_UNSPECIFIED;
  std::string region_code;  // the unit's Kemendagri region code
  // The unit is IN SANDBOX: it or its agency carries the registry's sandbox flag (a unit or
  // agency created for testing; monitoring keeps it out of region, national and ranking
  // figures). A routed agency (AgencyExists' cache entry) carries the agency's own flag.
  bool sandbox = false;
  // Terms of the service's ADOPTED standard; empty/0 when the service has none.
  std::string standard_version_id;
  int response_working_days = 0;  // first response promised within (0: the default of 5)
  std::vector<ResolutionClassTerm> resolution_classes;
  // The standard's promised completion time (jangka waktu penyelesaian); 0/kNone without one.
  int promised_amount = 0;
  PromisedUnit promised_unit = PromisedUnit::kNone;
  // Every version of the service that was ever adopted (adopted, superseded, or withdrawn after
  // adoption when the caller may see it), oldest first. Empty from a router that does not
  // report the history: then the current terms above count as in force at every instant.
  std::vector<StandardTerms> standards;
  // The service's intake questions (registry Service.attributes); empty for a unit's route.
  std::vector<::simpul::registry::v1::ServiceAttribute> attributes;
};

// StandardInForceAt is the version of route.standards in force at `t` (see StandardTerms), or
// nullopt when none was (before the first effective date, after a withdrawal, or no standard).
inline std::optional<StandardTerms> StandardInForceAt(const Route& route, absl::Time t) {
  if (route.standards.empty()) {
    if (route.standard_version_id.empty()) return std::nullopt;
    StandardTerms current;
    current.version_id = route.standard_version_id;
    current.response_working_days = route.response_working_days;
    current.resolution_classes = route.resolution_classes;
    current.promised_amount = route.promised_amount;
    current.promised_unit = route.promised_unit;
    return current;
  }
  const StandardTerms* best = nullptr;
  for (const StandardTerms& v : route.standards) {
    if (v.in_force_from <= t && (best == nullptr || v.version_number > best->version_number)) {
      best = &v;
    }
  }
  if (best == nullptr || best->in_force_until <= t) return std::nullopt;
  return *best;
}

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
  // ResolveAgency: the agency's id and its own sandbox flag (only agency_id and sandbox are
  // set), for a holder that is an agency rather than a unit; NOT_FOUND for an agency the
  // registry does not have; other errors as above.
  virtual absl::StatusOr<Route> ResolveAgency(std::string_view agency_id) = 0;
};

}  // namespace simpul::clients::registry

#endif  // SIMPUL_CLIENTS_REGISTRY_ROUTER_H_
