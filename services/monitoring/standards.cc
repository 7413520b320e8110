// Standards figures: records from the registry feed, their contributions and the figures.
#include "services/monitoring/standards.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/absl_compat.h"
#include "common/field_rules.h"
#include "common/status.h"
#include "services/monitoring/aggregates.h"
#include "services/monitoring/ikm.h"
#include "services/registry/validation.h"

namespace simpul::monitoring {
namespace {

namespace rv1 = ::simpul::registry::v1;

// Attempts of one optimistic update before giving up with ABORTED (each retry means another
// writer changed the record in between; a few suffice).
constexpr int kMaxAttempts = 16;
constexpr char kFeedKey[] = "feed:registry";

std::pair<uint64_t, uint64_t> CursorParts(std::string_view cursor) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(AbslView(cursor), absl::MaxSplits('-', 1));
  uint64_t ms = 0, seq = 0;
  if (!absl::SimpleAtoi(parts.first, &ms)) return {0, 0};
  if (!parts.second.empty() && !absl::SimpleAtoi(parts.second, &seq)) return {ms, 0};
  return {ms, seq};
}

bool IsOpenState(int state) {
  return state == rv1::STANDARD_STATE_DRAFT || state == rv1::STANDARD_STATE_PUBLIC_CONSULTATION;
}

std::string StdBucket(std::string_view scope) { return BucketKey(scope, "std"); }
std::string ReviewDueSet(std::string_view scope) {
  return absl::StrCat(AbslView(scope), "|std|review_due");
}
std::string FiveDueSet(std::string_view scope) {
  return absl::StrCat(AbslView(scope), "|std|five_due");
}

UnitInfo InfoOf(std::string unit_id, std::string agency_id, std::string region_code, bool sandbox) {
  UnitInfo info;
  info.unit_id = std::move(unit_id);
  info.agency_id = std::move(agency_id);
  info.region_code = std::move(region_code);
  info.sandbox = sandbox;
  return info;
}

bool InSandbox(const v1::StandardsUnitRecord& unit) {
  return unit.sandbox() || unit.agency_sandbox();
}

int64_t Counter(const Counters& c, const char* field) {
  auto it = c.find(field);
  return it == c.end() ? 0 : it->second;
}

template <typename Record>
absl::StatusOr<Record> ParseRecord(const std::optional<StateRecord>& stored, std::string_view key) {
  Record record;
  if (stored && !record.ParseFromString(stored->data)) {
    return absl::InternalError(
        absl::StrCat("monitoring state record ", AbslView(key), " does not parse"));
  }
  return record;
}

}  // namespace

bool CursorLess(std::string_view a, std::string_view b) { return CursorParts(a) < CursorParts(b); }

v1::StandardSummary SummaryOf(const rv1::StandardVersion& version) {
  v1::StandardSummary s;
  s.set_id(version.id());
  s.set_version_number(version.version_number());
  s.set_state(version.state());
  s.set_complete(registry::MissingComponents(version.components()).empty());
  s.set_consulted(version.consultations_size() > 0);
  s.set_published(version.publications_size() > 0);
  if (version.has_review_due_date()) {
    s.set_review_due_day(ToCivilDay(version.review_due_date()) - absl::CivilDay(1970, 1, 1));
  }
  return s;
}

void MergeService(v1::StandardsServiceRecord& record, const rv1::Service& service) {
  record.set_service_id(service.id());
  record.set_unit_id(service.unit_id());
  record.set_agency_id(service.agency_id());
  record.set_region_code(service.region_code());
  record.set_current_version_id(service.current_version_id());
  if (record.adopted().id() != service.current_version_id()) record.clear_adopted();
}

void MergeVersion(v1::StandardsServiceRecord& record, const rv1::StandardVersion& version) {
  const v1::StandardSummary summary = SummaryOf(version);
  auto* open = record.mutable_open_versions();
  open->erase(std::remove_if(open->begin(), open->end(),
                             [&](const v1::StandardSummary& s) { return s.id() == version.id(); }),
              open->end());
  if (IsOpenState(version.state())) *record.add_open_versions() = summary;
  if (version.state() == rv1::STANDARD_STATE_ADOPTED &&
      (record.current_version_id().empty() || record.current_version_id() == version.id())) {
    record.set_current_version_id(version.id());
    *record.mutable_adopted() = summary;
  } else if (record.adopted().id() == version.id() &&
             version.state() != rv1::STANDARD_STATE_ADOPTED) {
    // Withdrawn or superseded: the service object of the same change names the new current
    // version, if any.
    record.clear_adopted();
    if (record.current_version_id() == version.id()) record.clear_current_version_id();
  }
}

void MergeUnit(v1::StandardsUnitRecord& record, const rv1::ServiceUnit& unit) {
  record.set_unit_id(unit.id());
  record.set_agency_id(unit.agency_id());
  record.set_region_code(unit.region_code());
  record.set_sandbox(unit.sandbox());
  if (record.current_maklumat_id() != unit.current_maklumat_id()) {
    record.set_current_maklumat_id(unit.current_maklumat_id());
    record.set_maklumat_published(false);  // until its PUBLISHED state is seen
  }
}

void MergeMaklumat(v1::StandardsUnitRecord& record, const rv1::Maklumat& maklumat) {
  const bool signed_state = maklumat.state() == rv1::MAKLUMAT_STATE_ADOPTED ||
                            maklumat.state() == rv1::MAKLUMAT_STATE_PUBLISHED;
  if (record.current_maklumat_id().empty() && signed_state) {
    record.set_current_maklumat_id(maklumat.id());
  }
  if (record.current_maklumat_id() == maklumat.id()) {
    record.set_maklumat_published(maklumat.state() == rv1::MAKLUMAT_STATE_PUBLISHED);
  }
}

int BaseScore(const v1::StandardsServiceRecord& record) {
  const v1::StandardSummary* evaluated = nullptr;
  if (!record.current_version_id().empty() &&
      record.adopted().id() == record.current_version_id()) {
    evaluated = &record.adopted();
  } else {
    for (const v1::StandardSummary& s : record.open_versions()) {
      if (evaluated == nullptr || s.version_number() > evaluated->version_number()) evaluated = &s;
    }
  }
  if (evaluated == nullptr) return 0;
  if (!evaluated->complete()) return 1;
  if (evaluated->state() != rv1::STANDARD_STATE_ADOPTED) return 2;
  if (!evaluated->consulted()) return 3;
  return 4;
}

void PlaceService(v1::StandardsServiceRecord& record, const v1::StandardsUnitRecord* unit) {
  const UnitInfo info =
      unit != nullptr
          ? InfoOf(record.unit_id(), unit->agency_id(), unit->region_code(), InSandbox(*unit))
          : InfoOf(record.unit_id(), record.agency_id(), record.region_code(), false);
  record.clear_scopes();
  for (std::string& scope : ScopeKeys(info)) record.add_scopes(std::move(scope));
}

StandardsContribution ServiceContribution(const v1::StandardsServiceRecord& record) {
  StandardsContribution c;
  c.scopes.assign(record.scopes().begin(), record.scopes().end());
  const bool adopted = record.adopted().state() == rv1::STANDARD_STATE_ADOPTED &&
                       record.adopted().id() == record.current_version_id() &&
                       !record.current_version_id().empty();
  const int base = BaseScore(record);
  c.counters["std.services"] = 1;
  c.counters["std.adopted"] = adopted ? 1 : 0;
  c.counters["std.base"] = base;
  c.counters["std.consulted"] = adopted && record.adopted().consulted() ? 1 : 0;
  c.counters["std.published"] = adopted && record.adopted().published() ? 1 : 0;
  if (adopted) {
    c.review_due_day = record.adopted().review_due_day();
    if (base == 4 && record.adopted().published())
      c.five_due_day = record.adopted().review_due_day();
  }
  return c;
}

StandardsContribution UnitContribution(const v1::StandardsUnitRecord& record) {
  StandardsContribution c;
  for (std::string& scope : ScopeKeys(
           InfoOf(record.unit_id(), record.agency_id(), record.region_code(), InSandbox(record)))) {
    c.scopes.push_back(std::move(scope));
  }
  c.counters["std.units"] = 1;
  c.counters["std.maklumat"] = record.maklumat_published() ? 1 : 0;
  return c;
}

std::string UnitServicesSet(std::string_view unit_id) {
  return absl::StrCat("unit-services:", AbslView(unit_id));
}

std::string AgencyUnitsSet(std::string_view agency_id) {
  return absl::StrCat("agency-units:", AbslView(agency_id));
}

void Difference(const StandardsContribution& before, const StandardsContribution& after,
                const std::string& member, StateChange& change) {
  std::map<std::pair<std::string, std::string>, int64_t> deltas;
  for (const std::string& scope : before.scopes) {
    for (const auto& [field, value] : before.counters) deltas[{StdBucket(scope), field}] -= value;
  }
  for (const std::string& scope : after.scopes) {
    for (const auto& [field, value] : after.counters) deltas[{StdBucket(scope), field}] += value;
  }
  for (const auto& [where, delta] : deltas) {
    if (delta != 0) change.deltas.push_back(BucketDelta{where.first, where.second, delta});
  }
  // Set memberships: remove what is no longer there, (re)add what is.
  auto sets = [](const StandardsContribution& c) {
    std::map<std::string, int64_t> out;
    for (const std::string& scope : c.scopes) {
      if (c.review_due_day) out[ReviewDueSet(scope)] = *c.review_due_day;
      if (c.five_due_day) out[FiveDueSet(scope)] = *c.five_due_day;
    }
    return out;
  };
  const std::map<std::string, int64_t> old_sets = sets(before);
  const std::map<std::string, int64_t> new_sets = sets(after);
  for (const auto& [set, score] : old_sets) {
    if (new_sets.count(set) == 0) change.memberships.push_back({set, member, std::nullopt});
  }
  for (const auto& [set, score] : new_sets) {
    auto it = old_sets.find(set);
    if (it == old_sets.end() || it->second != score) {
      change.memberships.push_back({set, member, score});
    }
  }
}

v1::StandardFigures StandardFiguresFrom(const StandardsInputs& in) {
  const Counters& c = in.counters;
  const int64_t services = Counter(c, "std.services");
  const int64_t adopted = Counter(c, "std.adopted");
  const int64_t units = Counter(c, "std.units");
  v1::StandardFigures f;
  f.set_services(services);
  f.set_services_with_adopted_standard(adopted);
  f.set_units(units);
  f.set_review_overdue(in.review_overdue);
  auto average = AverageHundredths(Counter(c, "std.base") + in.five_not_overdue, services);
  if (average) f.set_average_completeness(Decimal2{*average}.ToString());

  const std::string no_services = "the registry lists no service in this scope";
  const std::string no_units = "the registry lists no service unit in this scope";
  auto add = [&f](const char* key, const char* name, int weight, std::optional<int64_t> value,
                  std::string evidence) {
    v1::PolicyIndicator* i = f.add_indicators();
    i->set_key(key);
    i->set_name(name);
    i->set_weight_percent(weight);
    i->set_evidenced(value.has_value());
    if (value) i->set_value(Decimal2{*value}.ToString());
    i->set_evidence(std::move(evidence));
    (value ? f.add_evidenced_indicators() : f.add_missing_indicators())->assign(key);
  };
  auto share = [](int64_t num, int64_t den) { return ShareHundredths(num, den); };
  add("standard_available", "Standard available", 17, average,
      services > 0 ? absl::StrCat("mean completeness score (0..5) of ", services, " services")
                   : no_services);
  add("community_involved", "Community involved", 14, share(Counter(c, "std.consulted"), services),
      services > 0 ? "percent of services whose adopted standard records a community "
                     "consultation"
                   : no_services);
  add("publication_media", "Publication media", 7, share(Counter(c, "std.published"), services),
      services > 0 ? "percent of services whose adopted standard records a publication medium"
                   : no_services);
  add("periodic_review", "Periodic review", 14, share(adopted - in.review_overdue, services),
      services > 0 ? "percent of services whose adopted standard is not overdue for review"
                   : no_services);
  add("maklumat", "Maklumat pelayanan", 10, share(Counter(c, "std.maklumat"), units),
      units > 0 ? "percent of service units whose current maklumat is published" : no_units);
  add("skm_done", "Satisfaction survey done", 17, share(in.units_with_survey, units),
      units > 0 ? "percent of service units with survey responses in the period" : no_units);
  add("skm_published", "Survey results published", 7, std::nullopt,
      "Simpul holds no record of survey results being published");
  add("skm_follow_up_share", "Survey follow-up share", 7, std::nullopt,
      "Simpul holds no record of follow-up actions on survey results");
  add("skm_follow_up_speed", "Survey follow-up speed", 7, std::nullopt,
      "Simpul holds no record of follow-up actions on survey results");
  return f;
}

// ---------------------------------------------------------------------------------------------
// StandardsBook

absl::StatusOr<std::optional<v1::StandardsUnitRecord>> StandardsBook::LoadUnit(
    const std::string& unit_id) {
  if (unit_id.empty()) return std::optional<v1::StandardsUnitRecord>();
  const std::string key = absl::StrCat("unit:", unit_id);
  SIMPUL_ASSIGN_OR_RETURN(std::optional<StateRecord> stored, store_.ReadState(key));
  if (!stored) return std::optional<v1::StandardsUnitRecord>();
  SIMPUL_ASSIGN_OR_RETURN(v1::StandardsUnitRecord record,
                          ParseRecord<v1::StandardsUnitRecord>(stored, key));
  return std::optional<v1::StandardsUnitRecord>(std::move(record));
}

absl::StatusOr<bool> StandardsBook::AgencyInSandbox(const std::string& agency_id) {
  if (agency_id.empty()) return false;
  const std::string key = absl::StrCat("agency:", agency_id);
  SIMPUL_ASSIGN_OR_RETURN(std::optional<StateRecord> stored, store_.ReadState(key));
  SIMPUL_ASSIGN_OR_RETURN(v1::StandardsAgencyRecord record,
                          ParseRecord<v1::StandardsAgencyRecord>(stored, key));
  return record.sandbox();
}

absl::StatusOr<bool> StandardsBook::UpdateAgency(const rv1::Agency& agency,
                                                 std::string_view cursor) {
  const std::string key = absl::StrCat("agency:", agency.id());
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(std::optional<StateRecord> stored, store_.ReadState(key));
    // Applied before: its units may not all have been (a crash in between), so say so.
    if (stored && !CursorLess(stored->version, cursor)) return true;
    SIMPUL_ASSIGN_OR_RETURN(v1::StandardsAgencyRecord old_record,
                            ParseRecord<v1::StandardsAgencyRecord>(stored, key));
    v1::StandardsAgencyRecord record;
    record.set_agency_id(agency.id());
    record.set_sandbox(agency.sandbox());
    StateChange change;
    change.key = key;
    if (stored) change.expected_version = stored->version;
    change.next.version = std::string(cursor);
    change.next.data = record.SerializeAsString();
    SIMPUL_ASSIGN_OR_RETURN(bool replaced, store_.ReplaceState(change));
    if (replaced) return old_record.sandbox() != record.sandbox();
  }
  return absl::AbortedError(absl::StrCat("standards record ", key, " kept changing; retry"));
}

absl::Status StandardsBook::UpdateService(const std::string& service_id, std::string_view cursor,
                                          bool replace, const ServiceEdit& edit) {
  const std::string key = absl::StrCat("svc:", service_id);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(std::optional<StateRecord> stored, store_.ReadState(key));
    if (stored && !CursorLess(stored->version, cursor)) return absl::OkStatus();  // applied
    SIMPUL_ASSIGN_OR_RETURN(v1::StandardsServiceRecord old_record,
                            ParseRecord<v1::StandardsServiceRecord>(stored, key));
    v1::StandardsServiceRecord record = replace ? v1::StandardsServiceRecord() : old_record;
    edit(record);
    if (record.service_id().empty()) record.set_service_id(service_id);
    SIMPUL_ASSIGN_OR_RETURN(std::optional<v1::StandardsUnitRecord> unit,
                            LoadUnit(record.unit_id()));
    PlaceService(record, unit ? &*unit : nullptr);

    StateChange change;
    change.key = key;
    if (stored) change.expected_version = stored->version;
    change.next.version = std::string(cursor);
    change.next.data = record.SerializeAsString();
    Difference(stored ? ServiceContribution(old_record) : StandardsContribution(),
               ServiceContribution(record), service_id, change);
    if (!record.unit_id().empty() && record.unit_id() != old_record.unit_id()) {
      if (!old_record.unit_id().empty()) {
        change.memberships.push_back({UnitServicesSet(old_record.unit_id()), service_id, {}});
      }
      change.memberships.push_back({UnitServicesSet(record.unit_id()), service_id, 0});
    }
    SIMPUL_ASSIGN_OR_RETURN(bool replaced, store_.ReplaceState(change));
    if (replaced) return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("standards record ", key, " kept changing; retry"));
}

absl::Status StandardsBook::UpdateUnit(const std::string& unit_id, std::string_view cursor,
                                       bool replace, const UnitEdit& edit, bool* moved) {
  const std::string key = absl::StrCat("unit:", unit_id);
  *moved = false;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(std::optional<StateRecord> stored, store_.ReadState(key));
    if (stored && !CursorLess(stored->version, cursor)) return absl::OkStatus();
    SIMPUL_ASSIGN_OR_RETURN(v1::StandardsUnitRecord old_record,
                            ParseRecord<v1::StandardsUnitRecord>(stored, key));
    v1::StandardsUnitRecord record = replace ? v1::StandardsUnitRecord() : old_record;
    edit(record);
    if (record.unit_id().empty()) record.set_unit_id(unit_id);
    // The agency's flag as the book has it now: a change of it re-applies every unit of the
    // agency (AgencyUnitsSet), so a unit never keeps an older one.
    SIMPUL_ASSIGN_OR_RETURN(bool agency_sandbox, AgencyInSandbox(record.agency_id()));
    record.set_agency_sandbox(agency_sandbox);
    StateChange change;
    change.key = key;
    if (stored) change.expected_version = stored->version;
    change.next.version = std::string(cursor);
    change.next.data = record.SerializeAsString();
    const StandardsContribution before =
        stored ? UnitContribution(old_record) : StandardsContribution();
    const StandardsContribution after = UnitContribution(record);
    Difference(before, after, unit_id, change);
    if (!record.agency_id().empty()) {  // (again: records older than the set have joined it)
      change.memberships.push_back({AgencyUnitsSet(record.agency_id()), unit_id, 0});
    }
    SIMPUL_ASSIGN_OR_RETURN(bool replaced, store_.ReplaceState(change));
    if (replaced) {
      *moved = stored && before.scopes != after.scopes;
      return absl::OkStatus();
    }
  }
  return absl::AbortedError(absl::StrCat("standards record ", key, " kept changing; retry"));
}

absl::Status StandardsBook::ApplyChange(const rv1::ChangeEvent& event) {
  const std::string& cursor = event.cursor();
  if (cursor.empty()) return absl::InvalidArgumentError("registry change without a cursor");
  // Group the objects: units first (services are placed in their unit's scopes), then one
  // update per service with all of its objects, services before their versions.
  std::map<std::string, std::vector<const rv1::ChangedObject*>> units;
  std::map<std::string, std::vector<const rv1::ChangedObject*>> services;
  // Agencies first: their sandbox flag places their units, which are all re-applied when it
  // changed (or when the agency record was applied before, so that a replay finishes what a
  // crash interrupted; units already applied are skipped by their cursor).
  for (const rv1::ChangedObject& object : event.objects()) {
    if (!object.has_agency() || object.agency().id().empty()) continue;
    SIMPUL_ASSIGN_OR_RETURN(bool flipped, UpdateAgency(object.agency(), cursor));
    if (!flipped) continue;
    SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                            store_.SetMembers(AgencyUnitsSet(object.agency().id())));
    for (std::string& id : ids) units[id];  // no objects: only re-placed
  }
  for (const rv1::ChangedObject& object : event.objects()) {
    switch (object.object_case()) {
      case rv1::ChangedObject::kUnit:
        units[object.unit().id()].push_back(&object);
        break;
      case rv1::ChangedObject::kMaklumat:
        units[object.maklumat().unit_id()].push_back(&object);
        break;
      case rv1::ChangedObject::kService:
        services[object.service().id()].push_back(&object);
        break;
      case rv1::ChangedObject::kStandardVersion:
        services[object.standard_version().service_id()].push_back(&object);
        break;
      default:
        break;  // agencies: applied above
    }
  }
  for (const auto& [unit_id, objects] : units) {
    if (unit_id.empty()) continue;
    bool moved = false;
    SIMPUL_RETURN_IF_ERROR(UpdateUnit(
        unit_id, cursor, /*replace=*/false,
        [&objects](v1::StandardsUnitRecord& record) {
          for (const rv1::ChangedObject* o : objects) {
            if (o->has_unit()) MergeUnit(record, o->unit());
          }
          for (const rv1::ChangedObject* o : objects) {
            if (o->has_maklumat()) MergeMaklumat(record, o->maklumat());
          }
        },
        &moved));
    if (moved) {  // its services follow it to its new scopes
      SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                              store_.SetMembers(UnitServicesSet(unit_id)));
      for (std::string& id : ids) services[id];  // no objects: only re-placed
    }
  }
  for (const auto& [service_id, objects] : services) {
    if (service_id.empty()) continue;
    SIMPUL_RETURN_IF_ERROR(UpdateService(service_id, cursor, /*replace=*/false,
                                         [&objects](v1::StandardsServiceRecord& record) {
                                           for (const rv1::ChangedObject* o : objects) {
                                             if (o->has_service())
                                               MergeService(record, o->service());
                                           }
                                           for (const rv1::ChangedObject* o : objects) {
                                             if (o->has_standard_version()) {
                                               MergeVersion(record, o->standard_version());
                                             }
                                           }
                                         }));
  }
  return absl::OkStatus();
}

absl::Status StandardsBook::PutService(std::string_view cursor, const rv1::Service& service,
                                       const std::vector<rv1::StandardVersion>& versions) {
  return UpdateService(service.id(), cursor, /*replace=*/true,
                       [&](v1::StandardsServiceRecord& record) {
                         MergeService(record, service);
                         for (const rv1::StandardVersion& v : versions) MergeVersion(record, v);
                       });
}

absl::Status StandardsBook::PutAgency(std::string_view cursor, const rv1::Agency& agency) {
  // A resync puts every agency before the units, which read its flag; the units are not
  // re-applied here (PutUnit follows at the same cursor, and would be skipped after them).
  return UpdateAgency(agency, cursor).status();
}

absl::Status StandardsBook::PutUnit(std::string_view cursor, const rv1::ServiceUnit& unit,
                                    const rv1::Maklumat* maklumat) {
  bool moved = false;
  SIMPUL_RETURN_IF_ERROR(UpdateUnit(
      unit.id(), cursor, /*replace=*/true,
      [&](v1::StandardsUnitRecord& record) {
        MergeUnit(record, unit);
        if (maklumat != nullptr) MergeMaklumat(record, *maklumat);
      },
      &moved));
  // A resync lists units before services, so services are placed after their unit anyway; a
  // unit that moved re-places the services it already has.
  if (!moved) return absl::OkStatus();
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                          store_.SetMembers(UnitServicesSet(unit.id())));
  for (const std::string& id : ids) {
    SIMPUL_RETURN_IF_ERROR(UpdateService(id, cursor, /*replace=*/false, [](auto&) {}));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StandardsBook::FeedCursor() {
  SIMPUL_ASSIGN_OR_RETURN(std::optional<StateRecord> stored, store_.ReadState(kFeedKey));
  return stored ? stored->version : std::string();
}

absl::Status StandardsBook::SaveFeedCursor(std::string_view cursor) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(std::optional<StateRecord> stored, store_.ReadState(kFeedKey));
    if (stored && !CursorLess(stored->version, cursor)) return absl::OkStatus();
    StateChange change;
    change.key = kFeedKey;
    if (stored) change.expected_version = stored->version;
    change.next.version = std::string(cursor);
    SIMPUL_ASSIGN_OR_RETURN(bool replaced, store_.ReplaceState(change));
    if (replaced) return absl::OkStatus();
  }
  return absl::AbortedError("the registry feed position kept changing; retry");
}

std::string StandardsBook::CountersBucket(std::string_view scope_key) {
  return StdBucket(scope_key);
}

absl::StatusOr<StandardsInputs> StandardsBook::Inputs(const std::string& scope_key,
                                                      const std::string& period_bucket,
                                                      const Counters& period_counters,
                                                      int64_t today,
                                                      std::optional<Counters> standards_counters) {
  StandardsInputs in;
  if (standards_counters.has_value()) {
    in.counters = std::move(*standards_counters);
  } else {
    SIMPUL_ASSIGN_OR_RETURN(in.counters, store_.Read(StdBucket(scope_key)));
  }
  const bool unit = scope_key.rfind("u:", 0) == 0;
  std::vector<ScoreRange> ranges = {{ReviewDueSet(scope_key), INT64_MIN, today - 1},
                                    {FiveDueSet(scope_key), today, INT64_MAX}};
  // A larger scope's units with survey responses in the period: its IKM ranking's size.
  if (!unit)
    ranges.push_back({RankingName(period_bucket, v1::METRIC_IKM), INT64_MIN, INT64_MAX, true});
  SIMPUL_ASSIGN_OR_RETURN(std::vector<int64_t> counts, store_.CountInRanges(ranges));
  if (counts.size() != ranges.size()) {
    return absl::InternalError("CountInRanges returned a wrong count");
  }
  in.review_overdue = counts[0];
  in.five_not_overdue = counts[1];
  in.units_with_survey = unit ? (Counter(period_counters, "s.n") > 0 ? 1 : 0) : counts[2];
  return in;
}

}  // namespace simpul::monitoring
