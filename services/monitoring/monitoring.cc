#include "services/monitoring/monitoring.h"

#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/channel_scope.h"
#include "common/field_rules.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/timestamp.h"

namespace simpul::monitoring {
namespace {

using clients::registry::Route;

UnitInfo InfoOf(const Route& route) {
  return UnitInfo{route.unit_id, route.agency_id, route.region_code, route.time_zone,
                  route.sandbox};
}

// NotApplicableKey is the state record marking an application whose receipt was recorded as
// not applicable (no promise in force at its received time).
std::string NotApplicableKey(const std::string& open_key) {
  return absl::StrCat("delivery-na:", open_key);
}

bool RegistryUnreachable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

// RequireWriter allows platform admins, channels (survey kiosks, apps) when `channels_too`,
// and the admins and operators of `agency_id`.
absl::Status RequireWriter(const Identity& caller, const std::string& agency_id, bool channels_too,
                           const std::string& what) {
  if (caller.is_platform_admin() || caller.IsAgencyMember(agency_id) ||
      (channels_too && caller.principal.role() == common::v1::ROLE_CHANNEL)) {
    return absl::OkStatus();
  }
  if (caller.is_public()) {
    return absl::UnauthenticatedError(absl::StrCat(what, " needs credentials"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat(what, " of agency ", agency_id, " may be recorded only by that agency"));
}

constexpr v1::Metric kRankedMetrics[] = {v1::METRIC_IKM, v1::METRIC_DELIVERY_ON_TIME_SHARE,
                                         v1::METRIC_COMPLAINTS_RESOLVED_ON_TIME_SHARE,
                                         v1::METRIC_COMPLAINTS_RECEIVED, v1::METRIC_AVERAGE_RATING};

std::string Hundredths(int64_t value) { return Decimal2{value}.ToString(); }

// CheckBucket validates a scope and a period (named `period_field`, not after today in
// `zone`) into `v` and returns the bucket they name ("" when a field is bad); an error that is
// not about a field is returned.
absl::StatusOr<std::string> CheckBucket(FieldViolations& v, const v1::Scope& scope,
                                        const v1::Period& period, std::string_view period_field,
                                        absl::Time now, common::v1::TimeZone zone) {
  absl::StatusOr<std::string> scope_key = ScopeKey(scope, "scope");
  absl::StatusOr<std::string> period_key = PeriodKey(period, now, period_field, zone);
  for (const absl::Status& s : {scope_key.status(), period_key.status()}) {
    if (!v.AddFrom(s)) return s;
  }
  if (!scope_key.ok() || !period_key.ok()) return std::string();
  return BucketKey(*scope_key, *period_key);
}

}  // namespace

MonitoringDesk::MonitoringDesk(AggregateStore& store, clients::registry::Router& router,
                               const CalendarRegistry& calendars, const Clock& clock,
                               MonitoringOptions options)
    : store_(store),
      router_(router),
      calendars_(calendars),
      clock_(clock),
      options_(options),
      standards_(store) {}

MonitoringDesk::ReadZones MonitoringDesk::ZonesOf(const v1::Scope& scope) {
  // Agency, region and national scopes: periods begin with WIT's date (their WIT units' data
  // land there first); "today" for review-due days is WIB's.
  ReadZones zones{common::v1::TIME_ZONE_WIT, common::v1::TIME_ZONE_WIB};
  if (scope.scope_case() != v1::Scope::kUnitId) return zones;
  absl::StatusOr<Route> route = router_.ResolveUnit(scope.unit_id());
  if (route.ok()) {
    const common::v1::TimeZone zone = route->time_zone == common::v1::TIME_ZONE_UNSPECIFIED
                                          ? common::v1::TIME_ZONE_WIB
                                          : route->time_zone;
    return ReadZones{zone, zone};
  }
  // A unit the registry does not know (any more: its complaint events count in the zone they
  // carry), a malformed id (ScopeKey reports it), or a registry that cannot be reached (the
  // figures are public and stay readable; not logged, Watch rounds read several times a
  // second): read like the larger scopes, so that no period already holding data is refused.
  return zones;
}

absl::StatusOr<UnitInfo> MonitoringDesk::Unit(const std::string& unit_id) {
  SIMPUL_ASSIGN_OR_RETURN(Route route, router_.ResolveUnit(unit_id));
  return InfoOf(route);
}

// The directory of agencies with data: one counter per agency id in one bucket.
constexpr char kAgencyDirectory[] = "directory|agencies";

absl::Status MonitoringDesk::NoteAgency(const std::string& agency_id) {
  if (agency_id.empty()) return absl::OkStatus();
  Contribution c;
  c.dedup_key = absl::StrCat("directory:agency:", agency_id);
  c.buckets = {kAgencyDirectory};
  c.increments = {{agency_id, 1}};
  return store_.Apply(c).status();
}

absl::Status MonitoringDesk::ExportHeadlines(Metrics& metrics) {
  static const struct {
    const char* name;
    const char* help;
  } kGauges[] = {
      {"simpul_agency_ikm", "IKM of the agency's units this year (WIB)"},
      {"simpul_agency_survey_respondents", "survey respondents this year"},
      {"simpul_agency_delivery_on_time_share", "percent of applications completed on time"},
      {"simpul_agency_complaints_received", "complaints received this year"},
      {"simpul_agency_complaints_resolved_on_time_share",
       "percent of resolved complaints resolved within their deadline"},
      {"simpul_agency_complaints_open_backlog", "complaints filed this year still open"},
  };
  for (const auto& g : kGauges) metrics.Describe(g.name, Metrics::Type::kGauge, g.help);
  SIMPUL_ASSIGN_OR_RETURN(Counters directory, store_.Read(kAgencyDirectory));
  if (directory.empty()) return absl::OkStatus();
  // An agency spans zones: its "current year" is the WIB one.
  const std::string year = PeriodKeys(clock_.Now(), common::v1::TIME_ZONE_WIB).back();
  std::vector<std::string> agencies;
  std::vector<std::string> buckets;
  for (const auto& [agency, unused] : directory) {
    agencies.push_back(agency);
    buckets.push_back(BucketKey(absl::StrCat("a:", agency), year));
  }
  // Each agency's year is the sum of its 12 months: read the counters the gauges use only.
  static const std::vector<std::string>* const fields = [] {
    auto* out = new std::vector<std::string>(SurveyCounterFields());
    for (const char* f : {"d.done", "d.ontime", "d.na.done", "c.recv", "c.resolved",
                          "c.resolved_ontime", "c.open"}) {
      out->push_back(f);
    }
    return out;
  }();
  SIMPUL_ASSIGN_OR_RETURN(std::vector<Counters> counters,
                          ReadBucketFields(store_, buckets, *fields));
  for (size_t i = 0; i < agencies.size(); ++i) {
    const MetricLabels labels = {{"agency", agencies[i]}};
    const Counters& c = counters[i];
    auto counter = [&c](const char* field) -> double {
      auto it = c.find(field);
      return it == c.end() ? 0 : static_cast<double>(it->second);
    };
    auto set_metric = [&](const char* name, v1::Metric metric) {
      if (auto value = MetricValue(metric, c)) metrics.Set(name, labels, *value / 100.0);
    };
    set_metric("simpul_agency_ikm", v1::METRIC_IKM);
    set_metric("simpul_agency_delivery_on_time_share", v1::METRIC_DELIVERY_ON_TIME_SHARE);
    set_metric("simpul_agency_complaints_resolved_on_time_share",
               v1::METRIC_COMPLAINTS_RESOLVED_ON_TIME_SHARE);
    metrics.Set("simpul_agency_survey_respondents", labels, counter("s.n"));
    metrics.Set("simpul_agency_complaints_received", labels, counter("c.recv"));
    metrics.Set("simpul_agency_complaints_open_backlog", labels, counter("c.open"));
  }
  return absl::OkStatus();
}

absl::Status MonitoringDesk::RefreshRanks(const UnitInfo& unit,
                                          const std::set<std::string>& period_keys,
                                          bool remove_empty) {
  return RefreshRanksOf({{unit, period_keys}}, remove_empty);
}

absl::Status MonitoringDesk::RefreshRanksOf(
    const std::vector<std::pair<UnitInfo, std::set<std::string>>>& units, bool remove_empty,
    bool ikm_only) {
  // One read of every unit bucket involved, then one write of every ranking update.
  std::vector<std::pair<const UnitInfo*, std::string>> unit_periods;
  std::vector<std::string> buckets;
  for (const auto& [unit, period_keys] : units) {
    if (unit.unit_id.empty()) continue;
    for (const std::string& period : period_keys) {
      unit_periods.emplace_back(&unit, period);
      buckets.push_back(BucketKey(absl::StrCat("u:", unit.unit_id), period));
    }
  }
  if (buckets.empty()) return absl::OkStatus();
  // A quarter, semester or year from the sum of its months (each month read once); only the
  // survey counters when IKM is the one metric to refresh.
  std::vector<Counters> counters;
  std::vector<SurveyCounts> survey;
  if (ikm_only) {
    SIMPUL_ASSIGN_OR_RETURN(survey, ReadSurveyCounts(store_, buckets));
  } else {
    SIMPUL_ASSIGN_OR_RETURN(counters, ReadBuckets(store_, buckets));
  }
  std::vector<RankUpdate> updates;
  for (size_t i = 0; i < unit_periods.size(); ++i) {
    const UnitInfo& unit = *unit_periods[i].first;
    const std::string& period = unit_periods[i].second;
    std::vector<std::pair<v1::Metric, int64_t>> values;
    std::vector<std::pair<v1::Metric, int64_t>> gone;  // metrics without a value
    for (v1::Metric metric : kRankedMetrics) {
      if (ikm_only && metric != v1::METRIC_IKM) continue;
      if (auto value = ikm_only ? IkmValue(survey[i]) : MetricValue(metric, counters[i])) {
        values.emplace_back(metric, *value);
      } else {
        gone.emplace_back(metric, 0);
      }
    }
    for (RankUpdate& u : RankUpdatesFor(unit, {period}, values)) {
      updates.push_back(std::move(u));
    }
    if (!remove_empty) continue;
    for (RankUpdate& u : RankUpdatesFor(unit, {period}, gone)) {
      u.remove = true;
      updates.push_back(std::move(u));
    }
  }
  if (updates.empty()) return absl::OkStatus();
  return store_.SetRanks(updates);
}

// ---------------------------------------------------------------------------------------------
// Inputs

absl::StatusOr<v1::SubmitSurveyResponsesResponse> MonitoringDesk::SubmitSurveyResponses(
    const Identity& caller, const v1::SubmitSurveyResponsesRequest& req) {
  if (caller.is_public()) {
    return absl::UnauthenticatedError("submitting survey responses needs credentials");
  }
  if (req.responses().empty() || req.responses_size() > options_.max_batch) {
    return InvalidField(
        "responses",
        absl::StrCat("1..", options_.max_batch, " responses per call, got ", req.responses_size()));
  }
  const absl::Time now = clock_.Now();
  // Validate the whole batch (and resolve its units) before applying any of it.
  std::map<std::string, std::optional<UnitInfo>> units;
  for (const auto& r : req.responses()) {
    if (r.unit_id().empty() || units.count(r.unit_id()) > 0) continue;
    absl::StatusOr<UnitInfo> unit = Unit(r.unit_id());
    if (unit.ok()) {
      units[r.unit_id()] = *unit;
    } else if (unit.status().code() == absl::StatusCode::kNotFound ||
               unit.status().code() == absl::StatusCode::kInvalidArgument) {
      units[r.unit_id()] = std::nullopt;
    } else {
      return RegistryUnreachable(unit.status())
                 ? absl::UnavailableError(
                       "the registry cannot be reached to check the units; "
                       "retry the batch")
                 : unit.status();
    }
  }
  FieldViolations v;
  for (int i = 0; i < req.responses_size(); ++i) {
    const auto& r = req.responses(i);
    auto it = units.find(r.unit_id());
    SurveyResponseViolations(r, it != units.end() && it->second.has_value(), now,
                             absl::StrCat("responses[", i, "]."), v);
  }
  if (!req.batch_id().empty()) CheckKeyText(v, "batch_id", req.batch_id(), 1, 64);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  for (const auto& [id, unit] : units) {
    SIMPUL_RETURN_IF_ERROR(
        RequireWriter(caller, unit->agency_id, /*channels_too=*/true, "survey responses"));
    SIMPUL_RETURN_IF_ERROR(
        RequireChannelScope(caller.principal, unit->agency_id, id, "submitting survey responses"));
  }

  // The whole batch goes to the store at once (ApplyBatch: one script per chunk, increments
  // summed per bucket), each response still applied once by its dedup key.
  std::vector<Contribution> contributions;
  contributions.reserve(req.responses_size());
  for (const auto& r : req.responses()) {
    const UnitInfo& unit = *units[r.unit_id()];
    SIMPUL_ASSIGN_OR_RETURN(Contribution c, SurveyContribution(r, &unit, now));
    c.ledger = LedgerTagFor(caller, InputKind::kSurvey, unit, c.dedup_key, "", req.batch_id());
    contributions.push_back(std::move(c));
  }
  SIMPUL_ASSIGN_OR_RETURN(std::vector<bool> applied, store_.ApplyBatch(contributions));
  if (applied.size() != contributions.size()) {
    return absl::InternalError("survey batch: the store answered for another number of inputs");
  }
  v1::SubmitSurveyResponsesResponse response;
  std::map<std::string, std::set<std::string>> touched;  // unit -> period keys changed
  for (int i = 0; i < req.responses_size(); ++i) {
    const auto& r = req.responses(i);
    if (applied[i]) {
      response.set_applied(response.applied() + 1);
      for (std::string& key :
           PeriodKeys(FromProto(r.response_time()), units[r.unit_id()]->time_zone)) {
        touched[r.unit_id()].insert(std::move(key));
      }
    } else {
      response.set_repeated(response.repeated() + 1);
    }
  }
  std::vector<std::pair<UnitInfo, std::set<std::string>>> refresh;
  refresh.reserve(touched.size());
  for (auto& [unit_id, periods] : touched) {
    refresh.emplace_back(*units[unit_id], std::move(periods));
  }
  SIMPUL_RETURN_IF_ERROR(RefreshRanksOf(refresh, /*remove_empty=*/false, /*ikm_only=*/true));
  std::set<std::string> agencies;
  for (const auto& [unit_id, unit] : units) agencies.insert(unit->agency_id);
  for (const std::string& agency : agencies) SIMPUL_RETURN_IF_ERROR(NoteAgency(agency));
  return response;
}

absl::StatusOr<v1::RecordDeliveriesResponse> MonitoringDesk::RecordDeliveries(
    const Identity& caller, const v1::RecordDeliveriesRequest& req) {
  if (caller.is_public()) {
    return absl::UnauthenticatedError("recording deliveries needs credentials");
  }
  if (req.deliveries().empty() || req.deliveries_size() > options_.max_batch) {
    return InvalidField("deliveries",
                        absl::StrCat("1..", options_.max_batch, " deliveries per call, got ",
                                     req.deliveries_size()));
  }
  const absl::Time now = clock_.Now();
  FieldViolations v;
  std::map<std::string, std::optional<Route>> routes;
  for (int i = 0; i < req.deliveries_size(); ++i) {
    const auto& d = req.deliveries(i);
    DeliveryViolations(d, now, absl::StrCat("deliveries[", i, "]."), v);
    if (d.service_id().empty() || routes.count(d.service_id()) > 0) continue;
    absl::StatusOr<Route> route = router_.ResolveService(d.service_id());
    if (route.ok()) {
      routes[d.service_id()] = *route;
    } else if (route.status().code() == absl::StatusCode::kNotFound ||
               route.status().code() == absl::StatusCode::kInvalidArgument) {
      routes[d.service_id()] = std::nullopt;
    } else {
      return RegistryUnreachable(route.status())
                 ? absl::UnavailableError(
                       "the registry cannot be reached to check the "
                       "services; retry the batch")
                 : route.status();
    }
  }
  for (int i = 0; i < req.deliveries_size(); ++i) {
    const auto& d = req.deliveries(i);
    auto it = routes.find(d.service_id());
    if (it == routes.end()) continue;  // already reported as missing
    if (!it->second) {
      v.Add(absl::StrCat("deliveries[", i, "].service_id"),
            absl::StrCat("the registry has no service \"", d.service_id(), "\""));
    }
  }
  if (!req.batch_id().empty()) CheckKeyText(v, "batch_id", req.batch_id(), 1, 64);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  for (const auto& [id, route] : routes) {
    SIMPUL_RETURN_IF_ERROR(
        RequireWriter(caller, route->agency_id, /*channels_too=*/false, "service deliveries"));
  }

  auto calendar = calendars_.Current();
  v1::RecordDeliveriesResponse response;
  std::map<std::string, std::pair<UnitInfo, std::set<std::string>>> touched;
  for (const auto& d : req.deliveries()) {
    const Route& route = *routes[d.service_id()];
    const UnitInfo unit = InfoOf(route);
    const absl::Time received = FromProto(d.received_time());
    v1::DeliveryResult* result = response.add_results();
    result->set_application_id(d.application_id());
    // The standard version in force when the application was received judges it; without one
    // (or one promising no time) the delivery counts for volume only.
    std::optional<clients::registry::StandardTerms> terms =
        clients::registry::StandardInForceAt(route, received);
    if (terms && (terms->promised_unit == clients::registry::PromisedUnit::kNone ||
                  terms->promised_amount <= 0)) {
      terms.reset();
    }
    bool applied = false;
    const std::string open_key = DeliveryOpenKey(unit, d.application_id());
    // Every contribution of the application goes to its ledger, so that it can be voided.
    const LedgerTag tag =
        LedgerTagFor(caller, InputKind::kDelivery, unit,
                     DeliveryLedgerKey(unit, d.application_id()), open_key, req.batch_id());
    auto tagged = [&tag](Contribution c) {
      c.ledger = tag;
      return c;
    };
    auto all_tagged = [&tag](std::vector<Contribution> list) {
      for (Contribution& c : list) c.ledger = tag;
      return list;
    };
    bool not_applicable = !terms;
    if (terms) {
      const Promise promise{terms->promised_amount,
                            static_cast<PromiseUnit>(static_cast<int>(terms->promised_unit))};
      SIMPUL_ASSIGN_OR_RETURN(Deadline promised,
                              PromisedTime(*calendar, received, promise, route.time_zone));
      // Two atomic store steps, each safe to repeat: the receipt with its open entry, then the
      // completion with the closing of that entry (which of the open counts it decrements is
      // decided in the store, by whether the sweep already made the application overdue).
      SIMPUL_ASSIGN_OR_RETURN(Contribution receipt, DeliveryReceived(d, unit, now));
      SIMPUL_ASSIGN_OR_RETURN(Contribution overdue, DeliveryOverdue(d, unit));
      SIMPUL_ASSIGN_OR_RETURN(applied, store_.AddOpen(tagged(std::move(receipt)), open_key,
                                                      promised.time, tagged(std::move(overdue))));
      if (!applied) {
        // Recorded before: if as not applicable (no standard was in force then as far as the
        // registry said, e.g. before a decree with an earlier effective date was entered), it
        // stays so, so that its completion never closes an open entry it never had.
        SIMPUL_ASSIGN_OR_RETURN(std::optional<StateRecord> marker,
                                store_.ReadState(NotApplicableKey(open_key)));
        not_applicable = marker.has_value();
      }
      if (!not_applicable) {
        *result->mutable_deadline() = ToProto(promised.time);
        result->set_standard_version_id(terms->version_id);
        result->set_standard_version_number(terms->version_number);
        if (d.has_completed_time()) {
          SIMPUL_ASSIGN_OR_RETURN(
              std::vector<Contribution> if_waiting,
              DeliveryCompleted(d, unit, promised, /*was_overdue=*/false, now, terms->version_id));
          SIMPUL_ASSIGN_OR_RETURN(
              std::vector<Contribution> if_overdue,
              DeliveryCompleted(d, unit, promised, /*was_overdue=*/true, now, terms->version_id));
          SIMPUL_ASSIGN_OR_RETURN(AggregateStore::Removed removed,
                                  store_.RemoveOpen(open_key, all_tagged(std::move(if_waiting)),
                                                    all_tagged(std::move(if_overdue))));
          applied = applied || removed.applied;
          result->set_timeliness(promised.Missed(FromProto(d.completed_time()))
                                     ? v1::TIMELINESS_LATE
                                     : v1::TIMELINESS_ON_TIME);
        } else {
          result->set_timeliness(promised.Missed(now) ? v1::TIMELINESS_OVERDUE
                                                      : v1::TIMELINESS_OPEN);
        }
      }
    }
    if (not_applicable) {
      result->set_timeliness(v1::TIMELINESS_NOT_APPLICABLE);
      // The marker first: a receipt is never counted as not applicable without it.
      StateChange mark;
      mark.key = NotApplicableKey(open_key);
      mark.next.version = "1";
      mark.expires = true;  // as long as the delivery's dedup keys
      SIMPUL_RETURN_IF_ERROR(store_.ReplaceState(mark).status());  // false: marked before
      SIMPUL_ASSIGN_OR_RETURN(Contribution receipt, DeliveryReceivedNotApplicable(d, unit, now));
      SIMPUL_ASSIGN_OR_RETURN(bool receipt_applied, store_.Apply(tagged(std::move(receipt))));
      applied = applied || receipt_applied;
      if (d.has_completed_time()) {
        SIMPUL_ASSIGN_OR_RETURN(Contribution done, DeliveryCompletedNotApplicable(d, unit, now));
        SIMPUL_ASSIGN_OR_RETURN(bool done_applied, store_.Apply(tagged(std::move(done))));
        applied = applied || done_applied;
      }
    }
    result->set_applied(applied);
    if (applied) {
      response.set_applied(response.applied() + 1);
      auto& [info, periods] = touched[unit.unit_id];
      info = unit;
      for (std::string& key : PeriodKeys(received, unit.time_zone)) periods.insert(std::move(key));
      if (d.has_completed_time()) {
        for (std::string& key : PeriodKeys(FromProto(d.completed_time()), unit.time_zone)) {
          periods.insert(std::move(key));
        }
      }
    } else {
      response.set_repeated(response.repeated() + 1);
    }
  }
  for (const auto& [unit_id, touched_unit] : touched) {
    SIMPUL_RETURN_IF_ERROR(RefreshRanks(touched_unit.first, touched_unit.second));
  }
  std::set<std::string> agencies;
  for (const auto& [id, route] : routes) agencies.insert(route->agency_id);
  for (const std::string& agency : agencies) SIMPUL_RETURN_IF_ERROR(NoteAgency(agency));
  return response;
}

absl::StatusOr<int> MonitoringDesk::SweepOverdue() {
  const absl::Time now = clock_.Now();
  int total = 0;
  for (;;) {
    SIMPUL_ASSIGN_OR_RETURN(int n, store_.SweepOpen(now, options_.sweep_batch));
    total += n;
    if (n < options_.sweep_batch) break;
  }
  return total;
}

absl::Status MonitoringDesk::ApplyComplaintEvent(const complaints::v1::ComplaintEvent& event) {
  // `zone` is the unit's zone as the event knows it, used when the registry no longer does.
  auto info_of = [this](const std::string& unit_id, const std::string& agency_id,
                        common::v1::TimeZone zone) -> absl::StatusOr<UnitInfo> {
    if (unit_id.empty()) {  // an agency holds the case: its sandbox flag places it
      UnitInfo info{"", agency_id, "", common::v1::TIME_ZONE_UNSPECIFIED};
      if (agency_id.empty()) return info;
      absl::StatusOr<Route> agency = router_.ResolveAgency(agency_id);
      if (!agency.ok() && !absl::IsNotFound(agency.status())) return agency.status();
      info.sandbox = agency.ok() && agency->sandbox;
      return info;
    }
    absl::StatusOr<UnitInfo> unit = Unit(unit_id);
    if (unit.status().code() == absl::StatusCode::kNotFound) {
      // The unit left the registry: count the agency at least, in the unit's local periods.
      return UnitInfo{unit_id, agency_id, "", zone};
    }
    return unit;
  };
  SIMPUL_ASSIGN_OR_RETURN(UnitInfo holder,
                          info_of(event.unit_id(), event.agency_id(), event.time_zone()));
  std::optional<UnitInfo> previous;
  if (event.holder_changed()) {
    SIMPUL_ASSIGN_OR_RETURN(previous, info_of(event.previous_unit_id(), event.previous_agency_id(),
                                              common::v1::TIME_ZONE_UNSPECIFIED));
  }
  auto calendar = calendars_.Current();
  SIMPUL_ASSIGN_OR_RETURN(
      std::vector<Contribution> contributions,
      ComplaintEventContributions(event, holder, previous ? &*previous : nullptr, *calendar));
  for (const Contribution& c : contributions) {
    SIMPUL_RETURN_IF_ERROR(store_.Apply(c).status());
  }
  if (!contributions.empty()) {
    std::set<std::string> periods;
    for (std::string& key : PeriodKeys(FromProto(event.time()), holder.time_zone)) {
      periods.insert(std::move(key));
    }
    for (std::string& key : PeriodKeys(FromProto(event.file_time()), holder.time_zone)) {
      periods.insert(std::move(key));
    }
    SIMPUL_RETURN_IF_ERROR(RefreshRanks(holder, periods));
    SIMPUL_RETURN_IF_ERROR(NoteAgency(holder.agency_id));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Reads

absl::StatusOr<v1::Figures> MonitoringDesk::FiguresOf(const v1::Scope& scope,
                                                      const v1::Period& period,
                                                      const std::string& bucket) {
  return FiguresIn(scope, period, bucket, ZonesOf(scope).today);
}

absl::StatusOr<v1::Figures> MonitoringDesk::FiguresIn(const v1::Scope& scope,
                                                      const v1::Period& period,
                                                      const std::string& bucket,
                                                      common::v1::TimeZone today_zone) {
  SIMPUL_ASSIGN_OR_RETURN(std::string scope_key, ScopeKey(scope));
  // The period's counters and the scope's standards counters in one round trip.
  SIMPUL_ASSIGN_OR_RETURN(std::vector<Counters> read,
                          ReadBuckets(store_, {bucket, StandardsBook::CountersBucket(scope_key)}));
  const Counters& counters = read.at(0);
  v1::Figures figures;
  *figures.mutable_scope() = scope;
  *figures.mutable_period() = period;
  auto population = counters.find("d.done");
  SIMPUL_ASSIGN_OR_RETURN(
      *figures.mutable_survey(),
      SurveyFiguresFrom(counters, population == counters.end() ? 0 : population->second));
  *figures.mutable_delivery() = DeliveryFiguresFrom(counters);
  *figures.mutable_complaints() = ComplaintFiguresFrom(counters);
  const absl::Time now = clock_.Now();
  SIMPUL_ASSIGN_OR_RETURN(absl::CivilDay local_today, LocalDay(now, today_zone));
  const int64_t today = local_today - absl::CivilDay(1970, 1, 1);
  SIMPUL_ASSIGN_OR_RETURN(StandardsInputs inputs, standards_.Inputs(scope_key, bucket, counters,
                                                                    today, std::move(read.at(1))));
  *figures.mutable_standards() = StandardFiguresFrom(inputs);
  *figures.mutable_computed_time() = ToProto(now);
  return figures;
}

absl::StatusOr<v1::GetFiguresResponse> MonitoringDesk::GetFigures(
    const Identity& caller, const v1::GetFiguresRequest& req) {
  FieldViolations v;
  const ReadZones zones = ZonesOf(req.scope());
  SIMPUL_ASSIGN_OR_RETURN(std::string bucket, CheckBucket(v, req.scope(), req.period(), "period",
                                                          clock_.Now(), zones.periods));
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  v1::GetFiguresResponse response;
  SIMPUL_ASSIGN_OR_RETURN(*response.mutable_figures(),
                          FiguresIn(req.scope(), req.period(), bucket, zones.today));
  return response;
}

absl::StatusOr<std::string> MonitoringDesk::WatchBucket(const v1::WatchRequest& req) {
  FieldViolations v;
  SIMPUL_ASSIGN_OR_RETURN(std::string bucket,
                          CheckBucket(v, req.scope(), req.period(), "period", clock_.Now(),
                                      ZonesOf(req.scope()).periods));
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  return bucket;
}

absl::StatusOr<v1::RankUnitsResponse> MonitoringDesk::RankUnits(const Identity& caller,
                                                                const v1::RankUnitsRequest& req) {
  FieldViolations v;
  if (req.scope().scope_case() == v1::Scope::kUnitId) {
    v.Add("scope.unit_id",
          "rank the units of an agency (agency_id), a region (region_code_prefix) or the "
          "whole country (national)");
  }
  SIMPUL_ASSIGN_OR_RETURN(std::string bucket,
                          CheckBucket(v, req.scope(), req.period(), "period", clock_.Now(),
                                      ZonesOf(req.scope()).periods));
  if (req.metric() == v1::METRIC_UNSPECIFIED || !v1::Metric_IsValid(req.metric())) {
    v.Add("metric", absl::StrCat("name the metric to rank by, got ", req.metric()));
  }
  if (req.limit() < 1 || req.limit() > 100) {
    v.Add("limit", absl::StrCat("must be 1..100, got ", req.limit()));
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto ranked, store_.TopRanks(RankingName(bucket, req.metric()), req.limit(), req.bottom()));
  v1::RankUnitsResponse response;
  for (const auto& [unit, value] : ranked) {
    auto* r = response.add_units();
    r->set_unit_id(unit);
    r->set_value(Hundredths(value));
  }
  return response;
}

absl::StatusOr<v1::GetTimeSeriesResponse> MonitoringDesk::GetTimeSeries(
    const Identity& caller, const v1::GetTimeSeriesRequest& req) {
  FieldViolations v;
  absl::StatusOr<std::string> scope = ScopeKey(req.scope(), "scope");
  const common::v1::TimeZone zone = ZonesOf(req.scope()).periods;
  absl::StatusOr<std::string> first = PeriodKey(req.from(), clock_.Now(), "from", zone);
  for (const absl::Status& s : {scope.status(), first.status()}) {
    if (!v.AddFrom(s)) return s;
  }
  if (req.metric() == v1::METRIC_UNSPECIFIED || !v1::Metric_IsValid(req.metric())) {
    v.Add("metric", absl::StrCat("name the metric of the series, got ", req.metric()));
  }
  if (req.count() < 1 || req.count() > 120) {
    v.Add("count", absl::StrCat("must be 1..120, got ", req.count()));
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  std::vector<v1::Period> periods;
  std::vector<std::string> buckets;
  v1::Period p = req.from();
  for (int i = 0; i < req.count(); ++i) {
    absl::StatusOr<std::string> key = PeriodKey(p, clock_.Now(), "from", zone);
    if (!key.ok()) break;  // the series stops at the current period
    periods.push_back(p);
    buckets.push_back(BucketKey(*scope, *key));
    p = NextPeriod(p);
  }
  SIMPUL_ASSIGN_OR_RETURN(std::vector<Counters> counters, ReadBuckets(store_, buckets));
  v1::GetTimeSeriesResponse response;
  for (size_t i = 0; i < periods.size(); ++i) {
    auto* point = response.add_points();
    *point->mutable_period() = periods[i];
    if (auto value = MetricValue(req.metric(), counters[i])) point->set_value(Hundredths(*value));
  }
  return response;
}

}  // namespace simpul::monitoring
