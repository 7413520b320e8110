// MonitoringDesk is the domain logic of simpul-monitoring: it validates and authorizes inputs,
// resolves units and services through the registry, turns each input into contributions
// (aggregates.h) applied once to every (scope, period) bucket (store.h), keeps the unit
// rankings current, and answers reads from single bucket reads. It knows nothing of gRPC.
//
// Who may do what: figures are public (they are published by law), so anyone may read them.
// Survey responses may be submitted by a channel (survey kiosks, apps), a platform admin, or
// the admins and operators of the unit's agency; deliveries by the service's agency or a
// platform admin. Voids (VoidInputs) by a platform admin, the agency the input counted for,
// or the channel that submitted it.
#ifndef SIMPUL_SERVICES_MONITORING_MONITORING_H_
#define SIMPUL_SERVICES_MONITORING_MONITORING_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "clients/registry/router.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/identity.h"
#include "common/metrics.h"
#include "services/monitoring/aggregates.h"
#include "services/monitoring/standards.h"
#include "services/monitoring/store.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/monitoring/v1/monitoring.pb.h"

namespace simpul::monitoring {

struct MonitoringOptions {
  int max_batch = 5000;   // survey responses or deliveries per call
  int sweep_batch = 500;  // open applications made overdue per store call
};

class MonitoringDesk {
 public:
  MonitoringDesk(AggregateStore& store, clients::registry::Router& router,
                 const CalendarRegistry& calendars, const Clock& clock, MonitoringOptions options);

  using Id = Identity;
  absl::StatusOr<v1::SubmitSurveyResponsesResponse> SubmitSurveyResponses(
      const Id& caller, const v1::SubmitSurveyResponsesRequest& req);
  absl::StatusOr<v1::RecordDeliveriesResponse> RecordDeliveries(
      const Id& caller, const v1::RecordDeliveriesRequest& req);
  absl::StatusOr<v1::GetFiguresResponse> GetFigures(const Id& caller,
                                                    const v1::GetFiguresRequest& req);
  absl::StatusOr<v1::RankUnitsResponse> RankUnits(const Id& caller,
                                                  const v1::RankUnitsRequest& req);
  absl::StatusOr<v1::GetTimeSeriesResponse> GetTimeSeries(const Id& caller,
                                                          const v1::GetTimeSeriesRequest& req);
  // VoidInputs and ListVoids: see monitoring.proto and aggregates.h VOIDS (voids.cc).
  absl::StatusOr<v1::VoidInputsResponse> VoidInputs(const Id& caller,
                                                    const v1::VoidInputsRequest& req);
  absl::StatusOr<v1::ListVoidsResponse> ListVoids(const Id& caller,
                                                  const v1::ListVoidsRequest& req);
  // WatchBucket validates a Watch request and returns the bucket it watches.
  absl::StatusOr<std::string> WatchBucket(const v1::WatchRequest& req);
  // FiguresOf computes the figures of one bucket (GetFigures without the validation).
  absl::StatusOr<v1::Figures> FiguresOf(const v1::Scope& scope, const v1::Period& period,
                                        const std::string& bucket);

  // ApplyComplaintEvent applies one event of the complaint service's stream (the handler of
  // its consumer group). Applying the same event twice changes nothing.
  absl::Status ApplyComplaintEvent(const complaints::v1::ComplaintEvent& event);

  // standards is the book of registry services and units (fed by StandardsFeed).
  StandardsBook& standards() { return standards_; }

  // SweepOverdue moves open applications past their promised time to "open overdue"; returns
  // how many it moved.
  absl::StatusOr<int> SweepOverdue();

  // ExportHeadlines sets the headline figures of every agency with data for the current year
  // (WIB: an agency's units may span zones; the year buckets hold their local years) as Prometheus
  // gauges labelled by agency (not by unit, to bound the series): simpul_agency_ikm,
  // simpul_agency_survey_respondents, simpul_agency_delivery_on_time_share,
  // simpul_agency_complaints_received, simpul_agency_complaints_resolved_on_time_share,
  // simpul_agency_complaints_open_backlog.
  absl::Status ExportHeadlines(Metrics& metrics);

 private:
  // ReadZones are the zones a read of a scope uses (aggregates.h READING "TODAY"): `periods`
  // for which periods have begun, `today` for the standards' review-due day. A unit scope
  // uses its registry zone (one cached router lookup); other scopes WIT and WIB.
  struct ReadZones {
    common::v1::TimeZone periods;
    common::v1::TimeZone today;
  };
  ReadZones ZonesOf(const v1::Scope& scope);
  // FiguresIn is FiguresOf with the zone of "today" for the standards' review-due day.
  absl::StatusOr<v1::Figures> FiguresIn(const v1::Scope& scope, const v1::Period& period,
                                        const std::string& bucket, common::v1::TimeZone today_zone);
  absl::StatusOr<UnitInfo> Unit(const std::string& unit_id);
  // NoteAgency records once that `agency_id` has data (the directory ExportHeadlines reads).
  absl::Status NoteAgency(const std::string& agency_id);
  // RefreshRanks recomputes the unit's ranking values for the given period keys; with
  // `remove_empty` it also takes the unit out of the rankings of metrics it has no value for
  // any more (after a void).
  absl::Status RefreshRanks(const UnitInfo& unit, const std::set<std::string>& period_keys,
                            bool remove_empty = false);
  // RefreshRanksOf is RefreshRanks of several units: one bucket read, one ranking write. With
  // `ikm_only` (the inputs changed survey counters only: IKM is the one ranked metric they feed)
  // it leaves the other metrics' rankings as they are.
  absl::Status RefreshRanksOf(const std::vector<std::pair<UnitInfo, std::set<std::string>>>& units,
                              bool remove_empty = false, bool ikm_only = false);
  // LedgerTagFor is the ledger tag of every contribution of one input (aggregates.h VOIDS):
  // `key` its ledger key, `application_key` the open-application key of a delivery.
  LedgerTag LedgerTagFor(const Identity& caller, InputKind kind, const UnitInfo& unit,
                         std::string key, const std::string& application_key,
                         const std::string& batch_id);

  AggregateStore& store_;
  clients::registry::Router& router_;
  const CalendarRegistry& calendars_;
  const Clock& clock_;
  const MonitoringOptions options_;
  StandardsBook standards_;
};

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_MONITORING_H_
