// Standards figures of simpul-monitoring: the registry's services, standards and maklumat per
// scope, kept from the registry's change feed (standards_feed.h) and served with the other
// figures.
//
// STATE, NOT FLOWS. Standards are a state that changes, not events that add up, so the store
// keeps one StateRecord per registry service ("svc:<id>") and unit ("unit:<id>") holding what
// completeness needs (storage.proto), and each record contributes to the "<scope>|std" bucket
// of each of its scopes (unit, agency, region prefixes, national; aggregates.h ScopeKeys). A
// change replaces the record and applies the DIFFERENCE between the old and the new
// contribution, atomically and only if the record is still the one it was computed from
// (AggregateStore::ReplaceState), so the buckets always equal the sum over current records.
//
// ORDER AND REPLAYS. Each record carries the feed cursor of the newest change applied to it;
// a change at a cursor not after the record's is skipped, so the feed may be replayed from an
// older cursor (after a restart, or by several replicas at once) and applied effectively once.
//
// COUNTERS (in "<scope>|std")
//   std.services       services
//   std.adopted        services with an adopted standard
//   std.base           sum of the services' completeness scores without the 5th step (0..4)
//   std.consulted      services whose adopted standard records a community consultation
//   std.published      services whose adopted standard records a publication medium
//   std.units          service units
//   std.maklumat       units whose current maklumat is published
// SCORED SETS (member = service id, score = review due day, days since 1970-01-01)
//   "<scope>|std|review_due"  services with an adopted standard
//   "<scope>|std|five_due"    services at step 4 whose standard is published: they score 5
//                             while their review is not overdue (due day >= today)
// so that the time-dependent part (overdue reviews) is counted at read time.
//
// SANDBOX (issue #15). A unit in sandbox (its own ServiceUnit.sandbox or its agency's
// Agency.sandbox) and its services contribute to their "u:" and "a:" scopes only, like every
// other input of such a unit (aggregates.h SANDBOX). Agency records ("agency:<id>",
// StandardsAgencyRecord) hold the agency's flag; the scored set "agency-units:<id>" lists the
// units of an agency. A flip of either flag is a scope change of the unit and moves its
// contribution and its services' contributions exactly, as a change of its region does: a
// change of an agency's flag re-applies every unit of the agency (reading the agency record
// again), and a unit whose scopes changed re-places its services. Units whose records predate
// the set join it at their next change or resync (known limit: until then an agency flip
// does not reach them).
//
// COMPLETENESS (as the registry's GetCompleteness, PEKPPP 0..5): the evaluated version is the
// adopted one, else the newest draft or version in consultation. 0 no version; 1 fewer than 14
// components; 2 all 14, not adopted; 3 adopted by decree; 4 with a recorded community
// consultation; 5 also published and not overdue for review (due day >= today, WIB).
#ifndef SIMPUL_SERVICES_MONITORING_STANDARDS_H_
#define SIMPUL_SERVICES_MONITORING_STANDARDS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/monitoring/store.h"
#include "simpul/monitoring/v1/monitoring.pb.h"
#include "simpul/monitoring/v1/storage.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::monitoring {

// CursorLess orders registry feed cursors ("<ms>-<seq>"; "0" and "" come first).
bool CursorLess(std::string_view a, std::string_view b);

// SummaryOf is what completeness needs of a standard version.
v1::StandardSummary SummaryOf(const registry::v1::StandardVersion& version);

// Merging registry objects into records (a record starts empty; apply the service or unit
// object of an event before its versions or maklumat).
void MergeService(v1::StandardsServiceRecord& record, const registry::v1::Service& service);
void MergeVersion(v1::StandardsServiceRecord& record, const registry::v1::StandardVersion& version);
// MergeUnit copies the unit's own sandbox flag; StandardsBook sets agency_sandbox.
void MergeUnit(v1::StandardsUnitRecord& record, const registry::v1::ServiceUnit& unit);
void MergeMaklumat(v1::StandardsUnitRecord& record, const registry::v1::Maklumat& maklumat);

// BaseScore is the completeness score without its time-dependent 5th step (0..4).
int BaseScore(const v1::StandardsServiceRecord& record);

// StandardsContribution is what one record adds to its scopes.
struct StandardsContribution {
  std::vector<std::string> scopes;  // ScopeKeys
  Counters counters;
  std::optional<int64_t> review_due_day;  // member of "<scope>|std|review_due"
  std::optional<int64_t> five_due_day;    // member of "<scope>|std|five_due"
};
// PlaceService sets record.scopes: those of `unit` when known (its region or sandbox flags
// may have changed since the service was written), else of the service's own agency and
// region (not in sandbox).
void PlaceService(v1::StandardsServiceRecord& record, const v1::StandardsUnitRecord* unit);
// ServiceContribution is the contribution of a service to record.scopes.
StandardsContribution ServiceContribution(const v1::StandardsServiceRecord& record);
StandardsContribution UnitContribution(const v1::StandardsUnitRecord& record);
// UnitServicesSet is the scored set listing the services of a unit ("unit-services:<id>").
std::string UnitServicesSet(std::string_view unit_id);
// AgencyUnitsSet is the scored set listing the units of an agency ("agency-units:<id>").
std::string AgencyUnitsSet(std::string_view agency_id);

// Difference fills `change` with the deltas and set memberships that turn `before` into
// `after` for member `member` (either may be empty: nothing contributed).
void Difference(const StandardsContribution& before, const StandardsContribution& after,
                const std::string& member, StateChange& change);

// StandardsInputs are the numbers behind a scope's standards figures.
struct StandardsInputs {
  Counters counters;              // of "<scope>|std"
  int64_t review_overdue = 0;     // review_due members due before today
  int64_t five_not_overdue = 0;   // five_due members due today or later
  int64_t units_with_survey = 0;  // units of the scope with survey responses in the period
};
// StandardFiguresFrom computes the figures and the PEKPPP service-policy indicators.
v1::StandardFigures StandardFiguresFrom(const StandardsInputs& in);

// StandardsBook applies registry changes to the store and reads the figures.
class StandardsBook {
 public:
  explicit StandardsBook(AggregateStore& store) : store_(store) {}

  // ApplyChange applies one change-feed event: every agency, service and unit it touches is
  // updated once (records already at or after event.cursor() are left alone); when an
  // agency's sandbox flag changes, its units (and their services, whose scopes change with
  // them) are re-applied.
  absl::Status ApplyChange(const registry::v1::ChangeEvent& event);
  // PutService and PutUnit replace a record with a full listing (a resync) taken after feed
  // position `cursor`: versions are all the service's versions; maklumat the unit's current
  // one (nullptr without one).
  absl::Status PutService(std::string_view cursor, const registry::v1::Service& service,
                          const std::vector<registry::v1::StandardVersion>& versions);
  absl::Status PutUnit(std::string_view cursor, const registry::v1::ServiceUnit& unit,
                       const registry::v1::Maklumat* maklumat);
  // PutAgency replaces an agency record in a resync; put every agency before the units.
  absl::Status PutAgency(std::string_view cursor, const registry::v1::Agency& agency);

  // FeedCursor is the feed position applied so far ("" when none); SaveFeedCursor moves it
  // forward (never back).
  absl::StatusOr<std::string> FeedCursor();
  absl::Status SaveFeedCursor(std::string_view cursor);

  // Inputs reads what the figures of `scope_key` need; `period_bucket` is the scope's bucket
  // of the requested period (for "SKM done") and `period_counters` its counters; `today` is
  // the WIB day number. `standards_counters`, when given, are the counters of
  // CountersBucket(scope_key), read by the caller together with the period's (one round trip
  // fewer); the rest is one round trip.
  absl::StatusOr<StandardsInputs> Inputs(const std::string& scope_key,
                                         const std::string& period_bucket,
                                         const Counters& period_counters, int64_t today,
                                         std::optional<Counters> standards_counters = std::nullopt);
  // CountersBucket is the bucket holding the standards counters of a scope ("<scope>|std").
  static std::string CountersBucket(std::string_view scope_key);

 private:
  using ServiceEdit = std::function<void(v1::StandardsServiceRecord&)>;
  using UnitEdit = std::function<void(v1::StandardsUnitRecord&)>;
  // UpdateService/UpdateUnit read a record, edit it, and replace it with the difference of
  // its contributions, retrying when another writer got there first. `replace` starts from
  // an empty record instead of the stored one.
  absl::Status UpdateService(const std::string& service_id, std::string_view cursor, bool replace,
                             const ServiceEdit& edit);
  // UpdateUnit sets *moved when the unit's scopes changed (its services must be re-placed).
  absl::Status UpdateUnit(const std::string& unit_id, std::string_view cursor, bool replace,
                          const UnitEdit& edit, bool* moved);
  absl::StatusOr<std::optional<v1::StandardsUnitRecord>> LoadUnit(const std::string& unit_id);
  // UpdateAgency replaces the agency's record unless it is at or after `cursor`; true when its
  // units must be re-applied: the flag changed, or the record was already applied (a replay).
  absl::StatusOr<bool> UpdateAgency(const registry::v1::Agency& agency, std::string_view cursor);
  // AgencyInSandbox is the flag of the agency's record (false without one).
  absl::StatusOr<bool> AgencyInSandbox(const std::string& agency_id);

  AggregateStore& store_;
};

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_STANDARDS_H_
