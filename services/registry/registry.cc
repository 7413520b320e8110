#include "services/registry/registry.h"

#include <algorithm>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/page_token.h"
#include "common/status.h"
#include "services/registry/validation.h"

namespace simpul::registry {
namespace {

using common::v1::Date;

constexpr int kDefaultPageSize = 50;

bool IsInternalState(v1::StandardState s) {
  return s != v1::STANDARD_STATE_ADOPTED && s != v1::STANDARD_STATE_SUPERSEDED;
}

// DecodeNumberToken decodes a page token whose position is a version number (0: start).
absl::StatusOr<int> DecodeNumberToken(absl::string_view token, absl::string_view query) {
  SIMPUL_ASSIGN_OR_RETURN(std::string after, DecodePageToken("page.page_token", token, query));
  int number = 0;
  if (!after.empty() && !absl::SimpleAtoi(after, &number)) {
    return InvalidField("page.page_token", "not a page token returned by this API");
  }
  return number;
}

// ReadNumberedPage fills one page of a listing ordered by version number. `fetch(after, n)`
// reads up to n items after a number; `keep(item)` adds an item the caller may see and says
// whether it did, so hidden items are skipped and reading goes on until the page is full.
// Returns the number to continue after, or -1 when the listing is exhausted.
template <typename Fetch, typename Keep>
absl::StatusOr<int> ReadNumberedPage(int after_number, int size, const Fetch& fetch,
                                     const Keep& keep) {
  int kept = 0;
  while (kept < size) {
    SIMPUL_ASSIGN_OR_RETURN(auto items, fetch(after_number, size));
    for (auto& item : items) {
      after_number = item.version_number();
      if (keep(std::move(item)) && ++kept == size) break;
    }
    if (static_cast<int>(items.size()) < size) return -1;
  }
  return after_number;
}

// IdPage moves at most `size` of `items` (read with a limit of size + 1) into `out` and
// returns the next page token: empty on the last page.
template <typename T>
std::string IdPage(std::vector<T> items, int size, absl::string_view query,
                   google::protobuf::RepeatedPtrField<T>* out) {
  bool more = static_cast<int>(items.size()) > size;
  if (more) items.resize(size);
  std::string token = more ? EncodePageToken(query, items.back().id()) : "";
  for (auto& item : items) *out->Add() = std::move(item);
  return token;
}

int PageSize(const common::v1::PageRequest& page) {
  return page.page_size() == 0 ? kDefaultPageSize : page.page_size();
}

std::string GenerateId(absl::string_view prefix) {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  std::string id(prefix);
  id.push_back('-');
  for (int i = 0; i < 12; ++i) id.push_back(kAlphabet[absl::Uniform(*gen, 0, 32)]);
  return id;
}

void CheckExpectedRevision(FieldViolations& v, int64_t expected) {
  if (expected <= 0) {
    v.Add("expected_revision",
          absl::StrCat("required: the revision you last read (>= 1), got ", expected));
  }
}

absl::Status CheckRevision(absl::string_view what, int64_t current, int64_t expected) {
  if (current != expected) {
    return absl::AbortedError(absl::StrCat(what, " has revision ", current,
                                           ", not the expected_revision ", expected,
                                           ": it was changed since you read it; read it again "
                                           "and retry"));
  }
  return absl::OkStatus();
}

absl::Status WrongState(absl::string_view what, v1::StandardState state, absl::string_view need) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, " is in state ", StateName(state), "; ", need));
}

absl::Status WrongMaklumatState(absl::string_view what, v1::MaklumatState state,
                                absl::string_view need) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, " is in state ", MaklumatStateName(state), "; ", need));
}

absl::Status RequireId(absl::string_view field, absl::string_view id) {
  FieldViolations v;
  if (id.empty()) {
    v.Add(std::string(field), "required");
  } else if (id.size() > 200) {
    v.Add(std::string(field), "too long");
  }
  return v.ToStatus("request");
}

ObjectWrite Write(v1::ChangedObject object, int64_t expected) {
  return ObjectWrite{std::move(object), expected};
}
ObjectWrite WriteAgency(const v1::Agency& a, int64_t expected) {
  v1::ChangedObject o;
  *o.mutable_agency() = a;
  return Write(std::move(o), expected);
}
ObjectWrite WriteUnit(const v1::ServiceUnit& u, int64_t expected) {
  v1::ChangedObject o;
  *o.mutable_unit() = u;
  return Write(std::move(o), expected);
}
ObjectWrite WriteService(const v1::Service& s, int64_t expected) {
  v1::ChangedObject o;
  *o.mutable_service() = s;
  return Write(std::move(o), expected);
}
ObjectWrite WriteVersion(const v1::StandardVersion& s, int64_t expected) {
  v1::ChangedObject o;
  *o.mutable_standard_version() = s;
  return Write(std::move(o), expected);
}
ObjectWrite WriteMaklumat(const v1::Maklumat& m, int64_t expected) {
  v1::ChangedObject o;
  *o.mutable_maklumat() = m;
  return Write(std::move(o), expected);
}

// Bump prepares an existing object for writing: revision + 1 and a new update time.
template <typename T>
void Bump(T& object, const google::protobuf::Timestamp& now) {
  object.set_revision(object.revision() + 1);
  *object.mutable_update_time() = now;
}

template <typename T>
void Init(T& object, const google::protobuf::Timestamp& now) {
  object.set_revision(1);
  *object.mutable_create_time() = now;
  *object.mutable_update_time() = now;
}

// SandboxChange checks who may set the sandbox flag of an agency or unit: a platform admin
// may send any value; anyone else only the stored one (`stored`, false on create), so that a
// read-modify-write round trip passes. An absent flag never changes anything.
template <typename T>
absl::Status CheckSandbox(const Identity& caller, const T& requested, bool stored,
                          absl::string_view field) {
  if (!requested.has_sandbox() || requested.sandbox() == stored || caller.is_platform_admin()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": only a platform admin may ", requested.sandbox() ? "set" : "clear",
                   " the sandbox flag (it is ", stored ? "set" : "not set", ")"));
}

// ApplySandbox copies a requested sandbox flag onto the stored object (absent: unchanged);
// false is stored as absent, so every object without the flag looks the same.
template <typename T>
void ApplySandbox(T& stored, const T& requested) {
  if (!requested.has_sandbox()) return;
  if (requested.sandbox()) {
    stored.set_sandbox(true);
  } else {
    stored.clear_sandbox();
  }
}

}  // namespace

absl::Status RequireAgencyRole(const Identity& caller, absl::string_view agency_id, bool admin_only,
                               absl::string_view action) {
  if (caller.is_public()) {
    return absl::UnauthenticatedError(
        absl::StrCat(action, " needs an authenticated caller (x-simpul-identity)"));
  }
  if (caller.is_platform_admin()) return absl::OkStatus();
  bool ok = admin_only ? caller.IsAgencyAdmin(StdView(agency_id))
                       : caller.IsAgencyMember(StdView(agency_id));
  if (!ok) {
    return absl::PermissionDeniedError(absl::StrCat(
        action, " on agency ", agency_id, " needs ",
        admin_only ? "an agency admin" : "an agency admin or operator", " of that agency"));
  }
  return absl::OkStatus();
}

StandardsRegistry::StandardsRegistry(RegistryStore& store, const Clock& clock,
                                     RegistryOptions options)
    : store_(store), clock_(clock), options_(options) {}

absl::CivilDay StandardsRegistry::Today() const {
  static const absl::TimeZone kWib = absl::FixedTimeZone(7 * 3600);
  return absl::ToCivilDay(clock_.Now(), kWib);
}

google::protobuf::Timestamp StandardsRegistry::NowProto() const {
  absl::Time now = clock_.Now();
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(now));
  ts.set_nanos(
      static_cast<int32_t>((now - absl::FromUnixSeconds(ts.seconds())) / absl::Nanoseconds(1)));
  return ts;
}

Date StandardsRegistry::ReviewDue(const Date& from) const {
  absl::CivilMonth month(from.year(), from.month());
  month += options_.review_interval_months;
  absl::CivilDay day(month.year(), month.month(), from.day());
  if (day.month() != month.month()) {  // e.g. 31 Jan + 1 month: clamp to the month's end
    day = absl::CivilDay(absl::CivilMonth(month) + 1) - 1;
  }
  return ToDate(day);
}

absl::StatusOr<StandardsRegistry::Plan> StandardsRegistry::Commit(
    const Id& caller, const std::string& action,
    const std::function<absl::StatusOr<Plan>()>& plan) {
  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(Plan p, plan());
    v1::ChangeEvent event;
    *event.mutable_commit_time() = NowProto();
    event.set_action(action);
    event.set_actor(caller.subject());
    SIMPUL_ASSIGN_OR_RETURN(CommitResult result, store_.Commit(p.writes, std::move(event)));
    if (result.committed) {
      if (snapshot_ != nullptr) {
        std::vector<v1::ChangedObject> objects;
        objects.reserve(p.writes.size());
        for (const ObjectWrite& w : p.writes) objects.push_back(w.object);
        snapshot_->Apply(objects);
      }
      return p;
    }
    if (p.creates_named_object && result.conflict_index == 0) {
      return absl::AlreadyExistsError(absl::StrCat(p.caller_what, " already exists"));
    }
    if (result.conflict_index == p.caller_index) {
      return CheckRevision(p.caller_what, result.current_revision,
                           p.writes[p.caller_index].expected_revision);
    }
  }
  return absl::AbortedError(absl::StrCat(action, ": related objects kept changing during ",
                                         options_.max_commit_attempts, " attempts; retry"));
}

absl::StatusOr<v1::Agency> StandardsRegistry::LoadAgency(absl::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(auto found, store_.GetAgency(StdView(id)));
  if (!found) return absl::NotFoundError(absl::StrCat("agency \"", id, "\" not found"));
  return *std::move(found);
}

absl::StatusOr<v1::ServiceUnit> StandardsRegistry::LoadUnit(absl::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(auto found, store_.GetUnit(StdView(id)));
  if (!found) return absl::NotFoundError(absl::StrCat("service unit \"", id, "\" not found"));
  return *std::move(found);
}

absl::StatusOr<v1::Service> StandardsRegistry::LoadService(absl::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(auto found, store_.GetService(StdView(id)));
  if (!found) return absl::NotFoundError(absl::StrCat("service \"", id, "\" not found"));
  return *std::move(found);
}

absl::StatusOr<v1::StandardVersion> StandardsRegistry::LoadVersion(const Id& caller,
                                                                   absl::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(auto found, store_.GetStandardVersion(StdView(id)));
  if (!found || !VersionVisible(caller, *found)) {
    return absl::NotFoundError(absl::StrCat("standard version \"", id, "\" not found"));
  }
  return *std::move(found);
}

absl::StatusOr<v1::Maklumat> StandardsRegistry::LoadMaklumat(const Id& caller,
                                                             absl::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(auto found, store_.GetMaklumat(StdView(id)));
  if (!found || !MaklumatVisible(caller, *found)) {
    return absl::NotFoundError(absl::StrCat("maklumat \"", id, "\" not found"));
  }
  return *std::move(found);
}

bool StandardsRegistry::CanSeeInternal(const Id& caller, absl::string_view agency_id) const {
  // The service role (another Simpul service: monitoring, the gateway's read cache) reads
  // everything and may change nothing: every write checks for an agency role or a platform
  // admin, which it is not.
  return caller.is_platform_admin() || caller.is_service() ||
         caller.IsAgencyMember(StdView(agency_id));
}

bool StandardsRegistry::VersionVisible(const Id& caller, const v1::StandardVersion& version) const {
  return !IsInternalState(version.state()) || CanSeeInternal(caller, version.agency_id());
}

bool StandardsRegistry::MaklumatVisible(const Id& caller, const v1::Maklumat& maklumat) const {
  return maklumat.state() != v1::MAKLUMAT_STATE_DRAFT ||
         CanSeeInternal(caller, maklumat.agency_id());
}

v1::StandardVersion StandardsRegistry::Present(const Id& caller,
                                               v1::StandardVersion version) const {
  if (CanSeeInternal(caller, version.agency_id())) {
    version.set_view(v1::STANDARD_VIEW_FULL);
    return version;
  }
  return PublicView(std::move(version));
}

// ---------------------------------------------------------------------------------------
// Agencies

absl::StatusOr<v1::CreateAgencyResponse> StandardsRegistry::CreateAgency(
    const Id& caller, const v1::CreateAgencyRequest& req) {
  if (caller.is_public()) {
    return absl::UnauthenticatedError("CreateAgency needs an authenticated platform admin");
  }
  if (!caller.is_platform_admin()) {
    return absl::PermissionDeniedError("CreateAgency is for platform admins only");
  }
  FieldViolations v;
  ValidateAgency(v, "agency.", req.agency());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("CreateAgencyRequest"));
  SIMPUL_ASSIGN_OR_RETURN(Plan plan, Commit(caller, "CreateAgency", [&]() -> absl::StatusOr<Plan> {
                            v1::Agency agency = req.agency();
                            agency.clear_sandbox();
                            ApplySandbox(agency, req.agency());
                            Init(agency, NowProto());
                            Plan p;
                            p.writes.push_back(WriteAgency(agency, 0));
                            p.creates_named_object = true;
                            p.caller_what = absl::StrCat("agency \"", agency.id(), "\"");
                            return p;
                          }));
  v1::CreateAgencyResponse resp;
  *resp.mutable_agency() = plan.writes[0].object.agency();
  return resp;
}

absl::StatusOr<v1::GetAgencyResponse> StandardsRegistry::GetAgency(
    const Id& caller, const v1::GetAgencyRequest& req) {
  SIMPUL_RETURN_IF_ERROR(RequireId("id", req.id()));
  v1::GetAgencyResponse resp;
  SIMPUL_ASSIGN_OR_RETURN(*resp.mutable_agency(), LoadAgency(req.id()));
  return resp;
}

absl::StatusOr<v1::UpdateAgencyResponse> StandardsRegistry::UpdateAgency(
    const Id& caller, const v1::UpdateAgencyRequest& req) {
  FieldViolations v;
  ValidateAgency(v, "agency.", req.agency());
  CheckExpectedRevision(v, req.expected_revision());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("UpdateAgencyRequest"));
  SIMPUL_RETURN_IF_ERROR(
      RequireAgencyRole(caller, req.agency().id(), /*admin_only=*/true, "UpdateAgency"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, Commit(caller, "UpdateAgency", [&]() -> absl::StatusOr<Plan> {
        SIMPUL_ASSIGN_OR_RETURN(v1::Agency agency, LoadAgency(req.agency().id()));
        std::string what = absl::StrCat("agency \"", agency.id(), "\"");
        SIMPUL_RETURN_IF_ERROR(CheckRevision(what, agency.revision(), req.expected_revision()));
        SIMPUL_RETURN_IF_ERROR(
            CheckSandbox(caller, req.agency(), agency.sandbox(), "agency.sandbox"));
        ApplySandbox(agency, req.agency());
        agency.set_name(req.agency().name());
        agency.set_kind(req.agency().kind());
        agency.set_region_code(req.agency().region_code());
        agency.set_budget_code(req.agency().budget_code());
        agency.set_work_unit_code(req.agency().work_unit_code());
        agency.set_website(req.agency().website());
        int64_t expected = agency.revision();
        Bump(agency, NowProto());
        Plan p;
        p.writes.push_back(WriteAgency(agency, expected));
        p.caller_index = 0;
        p.caller_what = what;
        return p;
      }));
  v1::UpdateAgencyResponse resp;
  *resp.mutable_agency() = plan.writes[0].object.agency();
  return resp;
}

absl::StatusOr<v1::ListAgenciesResponse> StandardsRegistry::ListAgencies(
    const Id& caller, const v1::ListAgenciesRequest& req) {
  FieldViolations v;
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  if (!req.region_code_prefix().empty() && !IsValidRegionCode(req.region_code_prefix())) {
    v.Add("region_code_prefix",
          "not a whole Kemendagri region code level, e.g. \"32\" or "
          "\"32.71\"");
  }
  if (!v1::AgencyKind_IsValid(req.kind())) v.Add("kind", "unknown agency kind");
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("ListAgenciesRequest"));
  std::string query = absl::StrCat("agencies|", req.region_code_prefix(), "|", req.kind());
  SIMPUL_ASSIGN_OR_RETURN(std::string after,
                          DecodePageToken("page.page_token", req.page().page_token(), query));
  int size = PageSize(req.page());
  AgencyFilter filter{req.region_code_prefix(), req.kind()};
  SIMPUL_ASSIGN_OR_RETURN(auto items, store_.ListAgencies(filter, after, size + 1));
  v1::ListAgenciesResponse resp;
  resp.set_next_page_token(IdPage(std::move(items), size, query, resp.mutable_agencies()));
  return resp;
}

// ---------------------------------------------------------------------------------------
// Service units

absl::StatusOr<v1::CreateServiceUnitResponse> StandardsRegistry::CreateServiceUnit(
    const Id& caller, const v1::CreateServiceUnitRequest& req) {
  FieldViolations v;
  ValidateUnit(v, "unit.", req.unit());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("CreateServiceUnitRequest"));
  SIMPUL_RETURN_IF_ERROR(
      RequireAgencyRole(caller, req.unit().agency_id(), /*admin_only=*/true, "CreateServiceUnit"));
  SIMPUL_RETURN_IF_ERROR(CheckSandbox(caller, req.unit(), /*stored=*/false, "unit.sandbox"));
  SIMPUL_ASSIGN_OR_RETURN(v1::Agency agency, LoadAgency(req.unit().agency_id()));
  std::string id = req.unit().id().empty() ? GenerateId("unit") : req.unit().id();
  SIMPUL_ASSIGN_OR_RETURN(Plan plan,
                          Commit(caller, "CreateServiceUnit", [&]() -> absl::StatusOr<Plan> {
                            v1::ServiceUnit unit = req.unit();
                            unit.set_id(id);
                            if (unit.region_code().empty())
                              unit.set_region_code(agency.region_code());
                            unit.clear_latest_maklumat_number();
                            unit.clear_current_maklumat_id();
                            unit.clear_sandbox();
                            ApplySandbox(unit, req.unit());
                            Init(unit, NowProto());
                            Plan p;
                            p.writes.push_back(WriteUnit(unit, 0));
                            p.creates_named_object = true;
                            p.caller_what = absl::StrCat("service unit \"", id, "\"");
                            return p;
                          }));
  v1::CreateServiceUnitResponse resp;
  *resp.mutable_unit() = plan.writes[0].object.unit();
  return resp;
}

absl::StatusOr<v1::GetServiceUnitResponse> StandardsRegistry::GetServiceUnit(
    const Id& caller, const v1::GetServiceUnitRequest& req) {
  SIMPUL_RETURN_IF_ERROR(RequireId("id", req.id()));
  v1::GetServiceUnitResponse resp;
  SIMPUL_ASSIGN_OR_RETURN(*resp.mutable_unit(), LoadUnit(req.id()));
  return resp;
}

absl::StatusOr<v1::UpdateServiceUnitResponse> StandardsRegistry::UpdateServiceUnit(
    const Id& caller, const v1::UpdateServiceUnitRequest& req) {
  FieldViolations v;
  CheckSlug(v, "unit.id", req.unit().id());
  v1::ServiceUnit shape = req.unit();
  if (shape.agency_id().empty()) shape.set_agency_id("placeholder-for-validation");
  ValidateUnit(v, "unit.", shape);
  CheckExpectedRevision(v, req.expected_revision());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("UpdateServiceUnitRequest"));
  SIMPUL_ASSIGN_OR_RETURN(v1::ServiceUnit current, LoadUnit(req.unit().id()));
  if (!req.unit().agency_id().empty() && req.unit().agency_id() != current.agency_id()) {
    return InvalidField("unit.agency_id",
                        absl::StrCat("a unit cannot move to another agency (it belongs to \"",
                                     current.agency_id(), "\")"));
  }
  SIMPUL_RETURN_IF_ERROR(
      RequireAgencyRole(caller, current.agency_id(), /*admin_only=*/true, "UpdateServiceUnit"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, Commit(caller, "UpdateServiceUnit", [&]() -> absl::StatusOr<Plan> {
        SIMPUL_ASSIGN_OR_RETURN(v1::ServiceUnit unit, LoadUnit(req.unit().id()));
        std::string what = absl::StrCat("service unit \"", unit.id(), "\"");
        SIMPUL_RETURN_IF_ERROR(CheckRevision(what, unit.revision(), req.expected_revision()));
        SIMPUL_RETURN_IF_ERROR(CheckSandbox(caller, req.unit(), unit.sandbox(), "unit.sandbox"));
        ApplySandbox(unit, req.unit());
        unit.set_name(req.unit().name());
        unit.set_time_zone(req.unit().time_zone());
        if (!req.unit().region_code().empty()) {
          unit.set_region_code(req.unit().region_code());
        }
        unit.set_address(req.unit().address());
        int64_t expected = unit.revision();
        Bump(unit, NowProto());
        Plan p;
        p.writes.push_back(WriteUnit(unit, expected));
        p.caller_index = 0;
        p.caller_what = what;
        return p;
      }));
  v1::UpdateServiceUnitResponse resp;
  *resp.mutable_unit() = plan.writes[0].object.unit();
  return resp;
}

absl::StatusOr<v1::ListServiceUnitsResponse> StandardsRegistry::ListServiceUnits(
    const Id& caller, const v1::ListServiceUnitsRequest& req) {
  FieldViolations v;
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  if (!req.agency_id().empty()) CheckSlug(v, "agency_id", req.agency_id());
  if (!req.region_code_prefix().empty() && !IsValidRegionCode(req.region_code_prefix())) {
    v.Add("region_code_prefix", "not a whole Kemendagri region code level, e.g. \"32.71\"");
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("ListServiceUnitsRequest"));
  std::string query = absl::StrCat("units|", req.agency_id(), "|", req.region_code_prefix());
  SIMPUL_ASSIGN_OR_RETURN(std::string after,
                          DecodePageToken("page.page_token", req.page().page_token(), query));
  int size = PageSize(req.page());
  UnitFilter filter{req.agency_id(), req.region_code_prefix()};
  SIMPUL_ASSIGN_OR_RETURN(auto items, store_.ListUnits(filter, after, size + 1));
  v1::ListServiceUnitsResponse resp;
  resp.set_next_page_token(IdPage(std::move(items), size, query, resp.mutable_units()));
  return resp;
}

// ---------------------------------------------------------------------------------------
// Services

absl::StatusOr<v1::CreateServiceResponse> StandardsRegistry::CreateService(
    const Id& caller, const v1::CreateServiceRequest& req) {
  FieldViolations v;
  ValidateService(v, "service.", req.service());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("CreateServiceRequest"));
  SIMPUL_ASSIGN_OR_RETURN(v1::ServiceUnit unit, LoadUnit(req.service().unit_id()));
  SIMPUL_RETURN_IF_ERROR(
      RequireAgencyRole(caller, unit.agency_id(), /*admin_only=*/true, "CreateService"));
  std::string id = req.service().id().empty() ? GenerateId("svc") : req.service().id();
  SIMPUL_ASSIGN_OR_RETURN(Plan plan, Commit(caller, "CreateService", [&]() -> absl::StatusOr<Plan> {
                            v1::Service service;
                            service.set_id(id);
                            service.set_unit_id(unit.id());
                            service.set_agency_id(unit.agency_id());
                            service.set_region_code(unit.region_code());
                            service.set_name(req.service().name());
                            service.set_description(req.service().description());
                            *service.mutable_attributes() = req.service().attributes();
                            Init(service, NowProto());
                            Plan p;
                            p.writes.push_back(WriteService(service, 0));
                            p.creates_named_object = true;
                            p.caller_what = absl::StrCat("service \"", id, "\"");
                            return p;
                          }));
  v1::CreateServiceResponse resp;
  *resp.mutable_service() = plan.writes[0].object.service();
  return resp;
}

absl::StatusOr<v1::GetServiceResponse> StandardsRegistry::GetService(
    const Id& caller, const v1::GetServiceRequest& req) {
  SIMPUL_RETURN_IF_ERROR(RequireId("id", req.id()));
  v1::GetServiceResponse resp;
  SIMPUL_ASSIGN_OR_RETURN(*resp.mutable_service(), LoadService(req.id()));
  return resp;
}

absl::StatusOr<v1::UpdateServiceResponse> StandardsRegistry::UpdateService(
    const Id& caller, const v1::UpdateServiceRequest& req) {
  FieldViolations v;
  CheckSlug(v, "service.id", req.service().id());
  CheckText(v, "service.name", req.service().name(), 3, 200);
  CheckText(v, "service.description", req.service().description(), 0, 2000);
  ValidateServiceAttributes(v, "service.", req.service().attributes());
  if (req.clear_attributes() && !req.service().attributes().empty()) {
    v.Add("clear_attributes", "cannot clear the attributes and set new ones in one update");
  }
  CheckExpectedRevision(v, req.expected_revision());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("UpdateServiceRequest"));
  SIMPUL_ASSIGN_OR_RETURN(v1::Service current, LoadService(req.service().id()));
  if (!req.service().unit_id().empty() && req.service().unit_id() != current.unit_id()) {
    return InvalidField("service.unit_id",
                        absl::StrCat("a service cannot move to another unit (it belongs to \"",
                                     current.unit_id(), "\")"));
  }
  SIMPUL_RETURN_IF_ERROR(
      RequireAgencyRole(caller, current.agency_id(), /*admin_only=*/true, "UpdateService"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, Commit(caller, "UpdateService", [&]() -> absl::StatusOr<Plan> {
        SIMPUL_ASSIGN_OR_RETURN(v1::Service service, LoadService(req.service().id()));
        std::string what = absl::StrCat("service \"", service.id(), "\"");
        SIMPUL_RETURN_IF_ERROR(CheckRevision(what, service.revision(), req.expected_revision()));
        service.set_name(req.service().name());
        service.set_description(req.service().description());
        // Attributes: replaced when given, kept when not, removed on clear_attributes.
        if (req.clear_attributes() || !req.service().attributes().empty()) {
          *service.mutable_attributes() = req.service().attributes();
        }
        int64_t expected = service.revision();
        Bump(service, NowProto());
        Plan p;
        p.writes.push_back(WriteService(service, expected));
        p.caller_index = 0;
        p.caller_what = what;
        return p;
      }));
  v1::UpdateServiceResponse resp;
  *resp.mutable_service() = plan.writes[0].object.service();
  return resp;
}

absl::StatusOr<v1::ListServicesResponse> StandardsRegistry::ListServices(
    const Id& caller, const v1::ListServicesRequest& req) {
  FieldViolations v;
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  if (req.has_agency_id()) CheckSlug(v, "agency_id", req.agency_id());
  if (req.has_unit_id()) CheckSlug(v, "unit_id", req.unit_id());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("ListServicesRequest"));
  std::string query = absl::StrCat("services|", req.agency_id(), "|", req.unit_id());
  SIMPUL_ASSIGN_OR_RETURN(std::string after,
                          DecodePageToken("page.page_token", req.page().page_token(), query));
  int size = PageSize(req.page());
  ServiceFilter filter{req.agency_id(), req.unit_id()};
  SIMPUL_ASSIGN_OR_RETURN(auto items, store_.ListServices(filter, after, size + 1));
  v1::ListServicesResponse resp;
  resp.set_next_page_token(IdPage(std::move(items), size, query, resp.mutable_services()));
  return resp;
}

// ---------------------------------------------------------------------------------------
// Standard versions

absl::StatusOr<v1::CreateStandardVersionResponse> StandardsRegistry::CreateStandardVersion(
    const Id& caller, const v1::CreateStandardVersionRequest& req) {
  FieldViolations v;
  CheckSlug(v, "service_id", req.service_id());
  ValidateComponents(v, "components.", req.components());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("CreateStandardVersionRequest"));
  SIMPUL_ASSIGN_OR_RETURN(v1::Service first, LoadService(req.service_id()));
  SIMPUL_RETURN_IF_ERROR(
      RequireAgencyRole(caller, first.agency_id(), /*admin_only=*/false, "CreateStandardVersion"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, Commit(caller, "CreateStandardVersion", [&]() -> absl::StatusOr<Plan> {
        SIMPUL_ASSIGN_OR_RETURN(v1::Service service, LoadService(req.service_id()));
        auto now = NowProto();
        int number = service.latest_version_number() + 1;
        v1::StandardVersion version;
        version.set_id(absl::StrCat(service.id(), ".v", number));
        version.set_service_id(service.id());
        version.set_unit_id(service.unit_id());
        version.set_agency_id(service.agency_id());
        version.set_region_code(service.region_code());
        version.set_service_name(service.name());
        version.set_version_number(number);
        version.set_state(v1::STANDARD_STATE_DRAFT);
        *version.mutable_components() = req.components();
        Init(version, now);
        int64_t service_rev = service.revision();
        service.set_latest_version_number(number);
        Bump(service, now);
        Plan p;
        p.writes.push_back(WriteVersion(version, 0));
        p.writes.push_back(WriteService(service, service_rev));
        return p;
      }));
  v1::CreateStandardVersionResponse resp;
  *resp.mutable_version() = Present(caller, plan.writes[0].object.standard_version());
  return resp;
}

absl::StatusOr<v1::GetStandardVersionResponse> StandardsRegistry::GetStandardVersion(
    const Id& caller, const v1::GetStandardVersionRequest& req) {
  SIMPUL_RETURN_IF_ERROR(RequireId("id", req.id()));
  SIMPUL_ASSIGN_OR_RETURN(v1::StandardVersion version, LoadVersion(caller, req.id()));
  v1::GetStandardVersionResponse resp;
  *resp.mutable_version() = Present(caller, std::move(version));
  return resp;
}

absl::StatusOr<StandardsRegistry::Plan> StandardsRegistry::ChangeVersion(
    const Id& caller, const std::string& action, const std::string& id, int64_t expected_revision,
    Permission permission, const VersionChange& change) {
  SIMPUL_ASSIGN_OR_RETURN(v1::StandardVersion first, LoadVersion(caller, id));
  bool admin_only =
      permission == Permission::kAdmin ||
      (permission == Permission::kAdminIfAdopted && first.state() == v1::STANDARD_STATE_ADOPTED);
  SIMPUL_RETURN_IF_ERROR(RequireAgencyRole(caller, first.agency_id(), admin_only, action));
  return Commit(caller, action, [&]() -> absl::StatusOr<Plan> {
    SIMPUL_ASSIGN_OR_RETURN(v1::StandardVersion version, LoadVersion(caller, id));
    Plan p;
    p.caller_index = 0;
    p.caller_what = absl::StrCat("standard version \"", version.id(), "\"");
    SIMPUL_RETURN_IF_ERROR(CheckRevision(p.caller_what, version.revision(), expected_revision));
    auto now = NowProto();
    int64_t expected = version.revision();
    p.writes.emplace_back();  // the version itself, filled in below
    SIMPUL_RETURN_IF_ERROR(change(version, p, now));
    Bump(version, now);
    p.writes[0] = WriteVersion(version, expected);
    return p;
  });
}

absl::StatusOr<v1::UpdateStandardDraftResponse> StandardsRegistry::UpdateStandardDraft(
    const Id& caller, const v1::UpdateStandardDraftRequest& req) {
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  ValidateComponents(v, "components.", req.components());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("UpdateStandardDraftRequest"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan,
      ChangeVersion(caller, "UpdateStandardDraft", req.id(), req.expected_revision(),
                    Permission::kOperator, [&](v1::StandardVersion& version, Plan& p, const auto&) {
                      if (version.state() != v1::STANDARD_STATE_DRAFT &&
                          version.state() != v1::STANDARD_STATE_PUBLIC_CONSULTATION) {
                        return WrongState(p.caller_what, version.state(),
                                          "only DRAFT and PUBLIC_CONSULTATION versions can be "
                                          "edited; an adopted standard changes through a new "
                                          "version");
                      }
                      *version.mutable_components() = req.components();
                      return absl::OkStatus();
                    }));
  v1::UpdateStandardDraftResponse resp;
  *resp.mutable_version() = Present(caller, plan.writes[0].object.standard_version());
  return resp;
}

absl::StatusOr<v1::StartPublicConsultationResponse> StandardsRegistry::StartPublicConsultation(
    const Id& caller, const v1::StartPublicConsultationRequest& req) {
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("StartPublicConsultationRequest"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan,
      ChangeVersion(caller, "StartPublicConsultation", req.id(), req.expected_revision(),
                    Permission::kOperator, [&](v1::StandardVersion& version, Plan& p, const auto&) {
                      if (version.state() != v1::STANDARD_STATE_DRAFT) {
                        return WrongState(p.caller_what, version.state(),
                                          "public consultation starts from DRAFT only");
                      }
                      version.set_state(v1::STANDARD_STATE_PUBLIC_CONSULTATION);
                      return absl::OkStatus();
                    }));
  v1::StartPublicConsultationResponse resp;
  *resp.mutable_version() = Present(caller, plan.writes[0].object.standard_version());
  return resp;
}

absl::StatusOr<v1::RecordConsultationResponse> StandardsRegistry::RecordConsultation(
    const Id& caller, const v1::RecordConsultationRequest& req) {
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  ValidateConsultation(v, "consultation.", req.consultation(), Today());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("RecordConsultationRequest"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan,
      ChangeVersion(caller, "RecordConsultation", req.id(), req.expected_revision(),
                    Permission::kOperator, [&](v1::StandardVersion& version, Plan& p, const auto&) {
                      if (version.state() != v1::STANDARD_STATE_PUBLIC_CONSULTATION) {
                        return WrongState(p.caller_what, version.state(),
                                          "consultations are recorded during "
                                          "PUBLIC_CONSULTATION; call StartPublicConsultation "
                                          "first");
                      }
                      *version.add_consultations() = req.consultation();
                      return absl::OkStatus();
                    }));
  v1::RecordConsultationResponse resp;
  *resp.mutable_version() = Present(caller, plan.writes[0].object.standard_version());
  return resp;
}

absl::StatusOr<v1::AdoptStandardVersionResponse> StandardsRegistry::AdoptStandardVersion(
    const Id& caller, const v1::AdoptStandardVersionRequest& req) {
  absl::CivilDay today = Today();
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  CheckText(v, "adoption.decree_number", req.adoption().decree_number(), 1, 100);
  CheckDate(v, "adoption.decree_date", req.adoption().decree_date(), true, &today);
  CheckDate(v, "adoption.effective_from", req.adoption().effective_from(), true, nullptr);
  if (v.empty() &&
      ToCivilDay(req.adoption().effective_from()) < ToCivilDay(req.adoption().decree_date())) {
    v.Add("adoption.effective_from", "must not be before adoption.decree_date");
  }
  ValidatePublications(v, "publications", req.publications(), /*at_least_one=*/false);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("AdoptStandardVersionRequest"));
  auto adopt = [&](v1::StandardVersion& version, Plan& p,
                   const google::protobuf::Timestamp& now) -> absl::Status {
    if (version.state() != v1::STANDARD_STATE_PUBLIC_CONSULTATION) {
      return WrongState(p.caller_what, version.state(),
                        version.state() == v1::STANDARD_STATE_DRAFT
                            ? "a standard is adopted after public consultation; call "
                              "StartPublicConsultation first"
                            : "only a version in PUBLIC_CONSULTATION can be adopted");
    }
    std::vector<std::string> missing = MissingComponents(version.components());
    if (!missing.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(p.caller_what,
                       " cannot be adopted: all 14 components must be filled; "
                       "missing: ",
                       absl::StrJoin(missing, ", ")));
    }
    SIMPUL_ASSIGN_OR_RETURN(v1::Service service, LoadService(version.service_id()));
    version.set_state(v1::STANDARD_STATE_ADOPTED);
    *version.mutable_adoption() = req.adoption();
    version.mutable_adoption()->set_adopted_by(caller.subject());
    *version.mutable_adoption()->mutable_adopt_time() = now;
    *version.mutable_publications() = req.publications();
    *version.mutable_review_due_date() = ReviewDue(req.adoption().effective_from());
    if (!service.current_version_id().empty()) {
      SIMPUL_ASSIGN_OR_RETURN(auto previous,
                              store_.GetStandardVersion(service.current_version_id()));
      if (previous) {
        if (previous->version_number() > version.version_number()) {
          return absl::FailedPreconditionError(
              absl::StrCat(p.caller_what, " is older than the adopted version \"", previous->id(),
                           "\"; adopt a newer version instead"));
        }
        int64_t prev_rev = previous->revision();
        previous->set_state(v1::STANDARD_STATE_SUPERSEDED);
        Bump(*previous, now);
        p.writes.push_back(WriteVersion(*previous, prev_rev));
      }
    }
    int64_t service_rev = service.revision();
    service.set_current_version_id(version.id());
    Bump(service, now);
    p.writes.push_back(WriteService(service, service_rev));
    return absl::OkStatus();
  };
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, ChangeVersion(caller, "AdoptStandardVersion", req.id(), req.expected_revision(),
                               Permission::kAdmin, adopt));
  v1::AdoptStandardVersionResponse resp;
  *resp.mutable_version() = Present(caller, plan.writes[0].object.standard_version());
  if (plan.writes.size() == 3) {
    *resp.mutable_superseded() = Present(caller, plan.writes[1].object.standard_version());
  }
  return resp;
}

absl::StatusOr<v1::WithdrawStandardVersionResponse> StandardsRegistry::WithdrawStandardVersion(
    const Id& caller, const v1::WithdrawStandardVersionRequest& req) {
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  CheckText(v, "reason", req.reason(), 1, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("WithdrawStandardVersionRequest"));
  auto withdraw = [&](v1::StandardVersion& version, Plan& p,
                      const google::protobuf::Timestamp& now) -> absl::Status {
    if (version.state() != v1::STANDARD_STATE_DRAFT &&
        version.state() != v1::STANDARD_STATE_PUBLIC_CONSULTATION &&
        version.state() != v1::STANDARD_STATE_ADOPTED) {
      return WrongState(p.caller_what, version.state(),
                        "only DRAFT, PUBLIC_CONSULTATION or ADOPTED versions can be withdrawn");
    }
    bool was_adopted = version.state() == v1::STANDARD_STATE_ADOPTED;
    version.set_state(v1::STANDARD_STATE_WITHDRAWN);
    version.set_withdrawal_reason(req.reason());
    if (was_adopted) {
      SIMPUL_ASSIGN_OR_RETURN(v1::Service service, LoadService(version.service_id()));
      if (service.current_version_id() == version.id()) {
        int64_t service_rev = service.revision();
        service.clear_current_version_id();
        Bump(service, now);
        p.writes.push_back(WriteService(service, service_rev));
      }
    }
    return absl::OkStatus();
  };
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, ChangeVersion(caller, "WithdrawStandardVersion", req.id(), req.expected_revision(),
                               Permission::kAdminIfAdopted, withdraw));
  v1::WithdrawStandardVersionResponse resp;
  *resp.mutable_version() = Present(caller, plan.writes[0].object.standard_version());
  return resp;
}

absl::StatusOr<v1::RecordStandardReviewResponse> StandardsRegistry::RecordStandardReview(
    const Id& caller, const v1::RecordStandardReviewRequest& req) {
  absl::CivilDay today = Today();
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  CheckDate(v, "review.date", req.review().date(), true, &today);
  CheckText(v, "review.notes", req.review().notes(), 1, 4000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("RecordStandardReviewRequest"));
  auto review = [&](v1::StandardVersion& version, Plan& p, const auto&) -> absl::Status {
    if (version.state() != v1::STANDARD_STATE_ADOPTED) {
      return WrongState(p.caller_what, version.state(), "only an ADOPTED standard is reviewed");
    }
    if (ToCivilDay(req.review().date()) < ToCivilDay(version.adoption().decree_date())) {
      return InvalidField("review.date", "must not be before the adoption decree date");
    }
    v1::Review r = req.review();
    r.set_reviewed_by(caller.subject());
    *version.add_reviews() = r;
    *version.mutable_review_due_date() = ReviewDue(r.date());
    return absl::OkStatus();
  };
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, ChangeVersion(caller, "RecordStandardReview", req.id(), req.expected_revision(),
                               Permission::kOperator, review));
  v1::RecordStandardReviewResponse resp;
  *resp.mutable_version() = Present(caller, plan.writes[0].object.standard_version());
  return resp;
}

absl::StatusOr<v1::GetCurrentStandardResponse> StandardsRegistry::GetCurrentStandard(
    const Id& caller, const v1::GetCurrentStandardRequest& req) {
  if (auto answer = GetCurrentStandardFromSnapshot(caller, req)) return *std::move(answer);
  SIMPUL_RETURN_IF_ERROR(RequireId("service_id", req.service_id()));
  SIMPUL_ASSIGN_OR_RETURN(v1::Service service, LoadService(req.service_id()));
  if (service.current_version_id().empty()) {
    return absl::NotFoundError(
        absl::StrCat("service \"", service.id(), "\" has no adopted standard"));
  }
  SIMPUL_ASSIGN_OR_RETURN(v1::StandardVersion version,
                          LoadVersion(caller, service.current_version_id()));
  v1::GetCurrentStandardResponse resp;
  *resp.mutable_version() = Present(caller, std::move(version));
  return resp;
}

absl::StatusOr<v1::ListStandardVersionsResponse> StandardsRegistry::ListStandardVersions(
    const Id& caller, const v1::ListStandardVersionsRequest& req) {
  FieldViolations v;
  CheckSlug(v, "service_id", req.service_id());
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("ListStandardVersionsRequest"));
  std::string query = absl::StrCat("versions|", req.service_id());
  SIMPUL_ASSIGN_OR_RETURN(int after, DecodeNumberToken(req.page().page_token(), query));
  SIMPUL_ASSIGN_OR_RETURN(v1::Service service, LoadService(req.service_id()));
  v1::ListStandardVersionsResponse resp;
  SIMPUL_ASSIGN_OR_RETURN(int next, ReadNumberedPage(
                                        after, PageSize(req.page()),
                                        [&](int from, int n) {
                                          return store_.ListServiceVersions(service.id(), from, n);
                                        },
                                        [&](v1::StandardVersion item) {
                                          if (!VersionVisible(caller, item)) return false;
                                          *resp.add_versions() = Present(caller, std::move(item));
                                          return true;
                                        }));
  if (next >= 0 && next < service.latest_version_number()) {
    resp.set_next_page_token(EncodePageToken(query, absl::StrCat(next)));
  }
  return resp;
}

absl::StatusOr<StandardsRegistry::SearchPlan> StandardsRegistry::PlanSearch(
    const Id& caller, const v1::SearchStandardsRequest& req) const {
  FieldViolations v;
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  if (!req.agency_id().empty()) CheckSlug(v, "agency_id", req.agency_id());
  if (!req.unit_id().empty()) CheckSlug(v, "unit_id", req.unit_id());
  if (!req.region_code_prefix().empty() && !IsValidRegionCode(req.region_code_prefix())) {
    v.Add("region_code_prefix", "not a whole Kemendagri region code level, e.g. \"13.05\"");
  }
  CheckText(v, "keyword", req.keyword(), 0, 200);
  std::vector<std::string> tokens = TokenizeQuery(req.keyword());
  if (tokens.size() > 10) v.Add("keyword", "at most 10 words");
  std::set<int> states;
  bool wants_internal = false;
  for (int i = 0; i < req.states_size(); ++i) {
    auto s = static_cast<v1::StandardState>(req.states(i));
    if (s == v1::STANDARD_STATE_UNSPECIFIED || !v1::StandardState_IsValid(s)) {
      v.Add(absl::StrCat("states[", i, "]"), "unknown or unspecified state");
      continue;
    }
    states.insert(s);
    wants_internal |= IsInternalState(s);
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("SearchStandardsRequest"));
  if (wants_internal && !caller.is_platform_admin() && !caller.is_service() &&
      !caller.IsAgencyMember(req.agency_id())) {
    return absl::PermissionDeniedError(
        "searching DRAFT, PUBLIC_CONSULTATION or WITHDRAWN versions needs agency_id set to "
        "your own agency");
  }
  if (states.empty()) states.insert(v1::STANDARD_STATE_ADOPTED);
  SearchPlan plan;
  StandardQuery& query = plan.query;
  query.agency_id = req.agency_id();
  query.unit_id = req.unit_id();
  query.region_code_prefix = req.region_code_prefix();
  for (int s : states) query.states.push_back(static_cast<v1::StandardState>(s));
  query.keyword_tokens = tokens;
  plan.canonical =
      absl::StrCat("search|", query.agency_id, "|", query.unit_id, "|", query.region_code_prefix,
                   "|", absl::StrJoin(states, ","), "|", absl::StrJoin(tokens, " "));
  SIMPUL_ASSIGN_OR_RETURN(
      plan.after, DecodePageToken("page.page_token", req.page().page_token(), plan.canonical));
  plan.size = PageSize(req.page());
  return plan;
}

absl::StatusOr<v1::SearchStandardsResponse> StandardsRegistry::SearchStandards(
    const Id& caller, const v1::SearchStandardsRequest& req) {
  if (auto answer = SearchStandardsFromSnapshot(caller, req)) return *std::move(answer);
  SIMPUL_ASSIGN_OR_RETURN(SearchPlan plan, PlanSearch(caller, req));
  const int size = plan.size;
  SIMPUL_ASSIGN_OR_RETURN(auto items, store_.SearchStandards(plan.query, plan.after, size + 1));
  v1::SearchStandardsResponse resp;
  for (int i = 0; i < static_cast<int>(items.size()) && i < size; ++i) {
    *resp.add_versions() = Present(caller, std::move(items[i]));
  }
  if (static_cast<int>(items.size()) > size) {
    resp.set_next_page_token(EncodePageToken(plan.canonical, resp.versions(size - 1).id()));
  }
  return resp;
}

namespace {

// AppendLengthDelimited appends protobuf field `field` (wire type 2) holding `bytes`.
void AppendLengthDelimited(int field, std::string_view bytes, std::string& out) {
  out.push_back(static_cast<char>(field << 3 | 2));  // fields 1..15: a one-byte tag
  uint64_t n = bytes.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>(n | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out.append(bytes);
}

template <typename Resp>
std::optional<absl::StatusOr<Resp>> ParseAnswer(std::optional<absl::StatusOr<std::string>> bytes) {
  if (!bytes) return std::nullopt;
  if (!bytes->ok()) return bytes->status();
  Resp resp;
  if (!resp.ParseFromString(**bytes)) {
    return absl::InternalError(
        absl::StrCat("snapshot answer is not a ", Resp::descriptor()->full_name()));
  }
  return resp;
}

}  // namespace

std::optional<absl::StatusOr<std::string>> StandardsRegistry::GetCurrentStandardBytes(
    const Id& caller, const v1::GetCurrentStandardRequest& req) const {
  if (snapshot_ == nullptr) return std::nullopt;
  if (absl::Status valid = RequireId("service_id", req.service_id()); !valid.ok()) return valid;
  std::optional<RegistrySnapshot::CurrentLookup> found = snapshot_->Current(req.service_id());
  if (!found) return std::nullopt;
  if (!found->service_found) {
    return absl::NotFoundError(absl::StrCat("service \"", req.service_id(), "\" not found"));
  }
  if (found->current_version_id.empty()) {
    return absl::NotFoundError(
        absl::StrCat("service \"", req.service_id(), "\" has no adopted standard"));
  }
  if (found->standard == nullptr) return std::nullopt;  // not published here: ask the store
  const PublishedStandard& standard = *found->standard;
  const std::string& version =
      CanSeeInternal(caller, standard.agency_id) ? standard.full_bytes : standard.public_bytes;
  std::string out;
  out.reserve(version.size() + 6);
  AppendLengthDelimited(v1::GetCurrentStandardResponse::kVersionFieldNumber, version, out);
  return out;
}

std::optional<absl::StatusOr<std::string>> StandardsRegistry::SearchStandardsBytes(
    const Id& caller, const v1::SearchStandardsRequest& req) const {
  if (snapshot_ == nullptr) return std::nullopt;
  absl::StatusOr<SearchPlan> plan = PlanSearch(caller, req);
  if (!plan.ok()) return plan.status();
  const int size = plan->size;
  auto items = snapshot_->SearchPublished(plan->query, plan->after, size + 1);
  if (!items) return std::nullopt;
  const int shown = std::min(size, static_cast<int>(items->size()));
  std::vector<const std::string*> versions;
  size_t total = 0;
  for (int i = 0; i < shown; ++i) {
    const PublishedStandard& standard = *(*items)[i];
    versions.push_back(CanSeeInternal(caller, standard.agency_id) ? &standard.full_bytes
                                                                  : &standard.public_bytes);
    total += versions.back()->size() + 6;
  }
  std::string token;
  if (static_cast<int>(items->size()) > size) {
    token = EncodePageToken(plan->canonical, (*items)[size - 1]->id);
  }
  std::string out;
  out.reserve(total + token.size() + 6);
  for (const std::string* v : versions) {
    AppendLengthDelimited(v1::SearchStandardsResponse::kVersionsFieldNumber, *v, out);
  }
  if (!token.empty()) {
    AppendLengthDelimited(v1::SearchStandardsResponse::kNextPageTokenFieldNumber, token, out);
  }
  return out;
}

std::optional<absl::StatusOr<v1::GetCurrentStandardResponse>>
StandardsRegistry::GetCurrentStandardFromSnapshot(const Id& caller,
                                                  const v1::GetCurrentStandardRequest& req) const {
  return ParseAnswer<v1::GetCurrentStandardResponse>(GetCurrentStandardBytes(caller, req));
}

std::optional<absl::StatusOr<v1::SearchStandardsResponse>>
StandardsRegistry::SearchStandardsFromSnapshot(const Id& caller,
                                               const v1::SearchStandardsRequest& req) const {
  return ParseAnswer<v1::SearchStandardsResponse>(SearchStandardsBytes(caller, req));
}

absl::StatusOr<v1::ListReviewOverdueResponse> StandardsRegistry::ListReviewOverdue(
    const Id& caller, const v1::ListReviewOverdueRequest& req) {
  FieldViolations v;
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  if (!req.agency_id().empty()) CheckSlug(v, "agency_id", req.agency_id());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("ListReviewOverdueRequest"));
  std::string query = absl::StrCat("review|", req.agency_id());
  SIMPUL_ASSIGN_OR_RETURN(std::string after,
                          DecodePageToken("page.page_token", req.page().page_token(), query));
  std::optional<ReviewDueKey> after_key;
  if (!after.empty()) {
    std::pair<std::string, std::string> parts = absl::StrSplit(after, absl::MaxSplits(':', 1));
    ReviewDueKey key;
    if (!absl::SimpleAtoi(parts.first, &key.due_day)) {
      return InvalidField("page.page_token", "not a page token returned by this API");
    }
    key.id = parts.second;
    after_key = key;
  }
  absl::CivilDay today = Today();
  int64_t today_number = today - absl::CivilDay(1970, 1, 1);
  int size = PageSize(req.page());
  SIMPUL_ASSIGN_OR_RETURN(auto items,
                          store_.ListReviewDue(req.agency_id(), today_number, after_key, size + 1));
  v1::ListReviewOverdueResponse resp;
  for (int i = 0; i < static_cast<int>(items.size()) && i < size; ++i) {
    *resp.add_versions() = Present(caller, std::move(items[i]));
  }
  if (static_cast<int>(items.size()) > size) {
    const auto& last = resp.versions(size - 1);
    resp.set_next_page_token(
        EncodePageToken(query, absl::StrCat(DayNumber(last.review_due_date()), ":", last.id())));
  }
  return resp;
}

absl::StatusOr<v1::GetCompletenessResponse> StandardsRegistry::GetCompleteness(
    const Id& caller, const v1::GetCompletenessRequest& req) {
  SIMPUL_RETURN_IF_ERROR(RequireId("service_id", req.service_id()));
  SIMPUL_ASSIGN_OR_RETURN(v1::Service service, LoadService(req.service_id()));
  std::optional<v1::StandardVersion> evaluated;
  if (!service.current_version_id().empty()) {
    SIMPUL_ASSIGN_OR_RETURN(evaluated, store_.GetStandardVersion(service.current_version_id()));
  } else {
    // No adopted version: score the newest draft or version in consultation.
    int after = 0;
    while (true) {
      SIMPUL_ASSIGN_OR_RETURN(auto items, store_.ListServiceVersions(service.id(), after, 100));
      for (auto& item : items) {
        after = item.version_number();
        if (item.state() == v1::STANDARD_STATE_DRAFT ||
            item.state() == v1::STANDARD_STATE_PUBLIC_CONSULTATION) {
          evaluated = std::move(item);
        }
      }
      if (items.size() < 100) break;
    }
  }
  v1::GetCompletenessResponse resp;
  if (!evaluated) {
    resp.set_score(0);
    resp.add_reasons("the service has no standard (no adopted, draft or consulted version)");
    return resp;
  }
  resp.set_evaluated_version_id(evaluated->id());
  std::vector<std::string> missing = MissingComponents(evaluated->components());
  for (const auto& m : missing) resp.add_missing_components(m);
  bool adopted = evaluated->state() == v1::STANDARD_STATE_ADOPTED;
  if (!missing.empty()) {
    resp.set_score(1);
    resp.add_reasons(absl::StrCat(missing.size(), " of 14 components are not filled"));
    resp.add_reasons("not adopted by decree");
    return resp;
  }
  if (!adopted) {
    resp.set_score(2);
    resp.add_reasons("not adopted by decree");
    return resp;
  }
  if (evaluated->consultations().empty()) {
    resp.set_score(3);
    resp.add_reasons("no community consultation recorded");
    return resp;
  }
  bool published = !evaluated->publications().empty();
  bool overdue = ToCivilDay(evaluated->review_due_date()) < Today();
  if (!published) resp.add_reasons("no publication medium recorded");
  if (overdue) {
    resp.add_reasons(absl::StrCat("periodic review overdue since ",
                                  absl::FormatCivilTime(ToCivilDay(evaluated->review_due_date()))));
  }
  resp.set_score(published && !overdue ? 5 : 4);
  return resp;
}

// ---------------------------------------------------------------------------------------
// Maklumat pelayanan

absl::StatusOr<v1::CreateMaklumatDraftResponse> StandardsRegistry::CreateMaklumatDraft(
    const Id& caller, const v1::CreateMaklumatDraftRequest& req) {
  FieldViolations v;
  CheckSlug(v, "unit_id", req.unit_id());
  CheckText(v, "text", req.text(), 20, 4000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("CreateMaklumatDraftRequest"));
  SIMPUL_ASSIGN_OR_RETURN(v1::ServiceUnit first, LoadUnit(req.unit_id()));
  SIMPUL_RETURN_IF_ERROR(
      RequireAgencyRole(caller, first.agency_id(), false, "CreateMaklumatDraft"));
  SIMPUL_ASSIGN_OR_RETURN(Plan plan,
                          Commit(caller, "CreateMaklumatDraft", [&]() -> absl::StatusOr<Plan> {
                            SIMPUL_ASSIGN_OR_RETURN(v1::ServiceUnit unit, LoadUnit(req.unit_id()));
                            auto now = NowProto();
                            int number = unit.latest_maklumat_number() + 1;
                            v1::Maklumat m;
                            m.set_id(absl::StrCat(unit.id(), ".m", number));
                            m.set_unit_id(unit.id());
                            m.set_agency_id(unit.agency_id());
                            m.set_version_number(number);
                            m.set_state(v1::MAKLUMAT_STATE_DRAFT);
                            m.set_text(req.text());
                            Init(m, now);
                            int64_t unit_rev = unit.revision();
                            unit.set_latest_maklumat_number(number);
                            Bump(unit, now);
                            Plan p;
                            p.writes.push_back(WriteMaklumat(m, 0));
                            p.writes.push_back(WriteUnit(unit, unit_rev));
                            return p;
                          }));
  v1::CreateMaklumatDraftResponse resp;
  *resp.mutable_maklumat() = plan.writes[0].object.maklumat();
  return resp;
}

absl::StatusOr<StandardsRegistry::Plan> StandardsRegistry::ChangeMaklumat(
    const Id& caller, const std::string& action, const std::string& id, int64_t expected_revision,
    Permission permission, const MaklumatChange& change) {
  SIMPUL_ASSIGN_OR_RETURN(v1::Maklumat first, LoadMaklumat(caller, id));
  SIMPUL_RETURN_IF_ERROR(
      RequireAgencyRole(caller, first.agency_id(), permission == Permission::kAdmin, action));
  return Commit(caller, action, [&]() -> absl::StatusOr<Plan> {
    SIMPUL_ASSIGN_OR_RETURN(v1::Maklumat m, LoadMaklumat(caller, id));
    Plan p;
    p.caller_index = 0;
    p.caller_what = absl::StrCat("maklumat \"", m.id(), "\"");
    SIMPUL_RETURN_IF_ERROR(CheckRevision(p.caller_what, m.revision(), expected_revision));
    auto now = NowProto();
    int64_t expected = m.revision();
    p.writes.emplace_back();  // the maklumat itself, filled in below
    SIMPUL_RETURN_IF_ERROR(change(m, p, now));
    Bump(m, now);
    p.writes[0] = WriteMaklumat(m, expected);
    return p;
  });
}

absl::StatusOr<v1::UpdateMaklumatDraftResponse> StandardsRegistry::UpdateMaklumatDraft(
    const Id& caller, const v1::UpdateMaklumatDraftRequest& req) {
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  CheckText(v, "text", req.text(), 20, 4000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("UpdateMaklumatDraftRequest"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, ChangeMaklumat(caller, "UpdateMaklumatDraft", req.id(), req.expected_revision(),
                                Permission::kOperator, [&](v1::Maklumat& m, Plan& p, const auto&) {
                                  if (m.state() != v1::MAKLUMAT_STATE_DRAFT) {
                                    return WrongMaklumatState(
                                        p.caller_what, m.state(),
                                        "only a DRAFT can be edited; start a new draft instead");
                                  }
                                  m.set_text(req.text());
                                  return absl::OkStatus();
                                }));
  v1::UpdateMaklumatDraftResponse resp;
  *resp.mutable_maklumat() = plan.writes[0].object.maklumat();
  return resp;
}

absl::StatusOr<v1::AdoptMaklumatResponse> StandardsRegistry::AdoptMaklumat(
    const Id& caller, const v1::AdoptMaklumatRequest& req) {
  absl::CivilDay today = Today();
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  CheckText(v, "signer_name", req.signer_name(), 1, 200);
  CheckText(v, "signer_position", req.signer_position(), 1, 200);
  CheckDate(v, "signed_date", req.signed_date(), true, &today);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("AdoptMaklumatRequest"));
  auto adopt = [&](v1::Maklumat& m, Plan& p,
                   const google::protobuf::Timestamp& now) -> absl::Status {
    if (m.state() != v1::MAKLUMAT_STATE_DRAFT) {
      return WrongMaklumatState(p.caller_what, m.state(), "only a DRAFT can be adopted");
    }
    SIMPUL_ASSIGN_OR_RETURN(v1::ServiceUnit unit, LoadUnit(m.unit_id()));
    m.set_state(v1::MAKLUMAT_STATE_ADOPTED);
    m.set_signer_name(req.signer_name());
    m.set_signer_position(req.signer_position());
    *m.mutable_signed_date() = req.signed_date();
    if (!unit.current_maklumat_id().empty()) {
      SIMPUL_ASSIGN_OR_RETURN(auto previous, store_.GetMaklumat(unit.current_maklumat_id()));
      if (previous) {
        if (previous->version_number() > m.version_number()) {
          return absl::FailedPreconditionError(
              absl::StrCat(p.caller_what, " is older than the unit's current maklumat \"",
                           previous->id(), "\""));
        }
        int64_t prev_rev = previous->revision();
        previous->set_state(v1::MAKLUMAT_STATE_SUPERSEDED);
        Bump(*previous, now);
        p.writes.push_back(WriteMaklumat(*previous, prev_rev));
      }
    }
    int64_t unit_rev = unit.revision();
    unit.set_current_maklumat_id(m.id());
    Bump(unit, now);
    p.writes.push_back(WriteUnit(unit, unit_rev));
    return absl::OkStatus();
  };
  SIMPUL_ASSIGN_OR_RETURN(Plan plan,
                          ChangeMaklumat(caller, "AdoptMaklumat", req.id(), req.expected_revision(),
                                         Permission::kAdmin, adopt));
  v1::AdoptMaklumatResponse resp;
  *resp.mutable_maklumat() = plan.writes[0].object.maklumat();
  return resp;
}

absl::StatusOr<v1::PublishMaklumatResponse> StandardsRegistry::PublishMaklumat(
    const Id& caller, const v1::PublishMaklumatRequest& req) {
  FieldViolations v;
  if (req.id().empty()) v.Add("id", "required");
  CheckExpectedRevision(v, req.expected_revision());
  ValidatePublications(v, "publications", req.publications(), /*at_least_one=*/true);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("PublishMaklumatRequest"));
  SIMPUL_ASSIGN_OR_RETURN(
      Plan plan, ChangeMaklumat(caller, "PublishMaklumat", req.id(), req.expected_revision(),
                                Permission::kOperator, [&](v1::Maklumat& m, Plan& p, const auto&) {
                                  if (m.state() != v1::MAKLUMAT_STATE_ADOPTED &&
                                      m.state() != v1::MAKLUMAT_STATE_PUBLISHED) {
                                    return WrongMaklumatState(
                                        p.caller_what, m.state(),
                                        "only an ADOPTED (signed) maklumat can be published");
                                  }
                                  for (const auto& pub : req.publications())
                                    *m.add_publications() = pub;
                                  m.set_state(v1::MAKLUMAT_STATE_PUBLISHED);
                                  return absl::OkStatus();
                                }));
  v1::PublishMaklumatResponse resp;
  *resp.mutable_maklumat() = plan.writes[0].object.maklumat();
  return resp;
}

absl::StatusOr<v1::GetMaklumatResponse> StandardsRegistry::GetMaklumat(
    const Id& caller, const v1::GetMaklumatRequest& req) {
  v1::GetMaklumatResponse resp;
  switch (req.target_case()) {
    case v1::GetMaklumatRequest::kId: {
      SIMPUL_RETURN_IF_ERROR(RequireId("id", req.id()));
      SIMPUL_ASSIGN_OR_RETURN(*resp.mutable_maklumat(), LoadMaklumat(caller, req.id()));
      return resp;
    }
    case v1::GetMaklumatRequest::kCurrentForUnit: {
      SIMPUL_RETURN_IF_ERROR(RequireId("current_for_unit", req.current_for_unit()));
      SIMPUL_ASSIGN_OR_RETURN(v1::ServiceUnit unit, LoadUnit(req.current_for_unit()));
      if (unit.current_maklumat_id().empty()) {
        return absl::NotFoundError(
            absl::StrCat("service unit \"", unit.id(), "\" has no adopted maklumat"));
      }
      SIMPUL_ASSIGN_OR_RETURN(*resp.mutable_maklumat(),
                              LoadMaklumat(caller, unit.current_maklumat_id()));
      return resp;
    }
    default:
      return InvalidField("target", "set either id or current_for_unit");
  }
}

absl::StatusOr<v1::ListMaklumatResponse> StandardsRegistry::ListMaklumat(
    const Id& caller, const v1::ListMaklumatRequest& req) {
  FieldViolations v;
  CheckSlug(v, "unit_id", req.unit_id());
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("ListMaklumatRequest"));
  std::string query = absl::StrCat("maklumat|", req.unit_id());
  SIMPUL_ASSIGN_OR_RETURN(int after, DecodeNumberToken(req.page().page_token(), query));
  SIMPUL_ASSIGN_OR_RETURN(v1::ServiceUnit unit, LoadUnit(req.unit_id()));
  v1::ListMaklumatResponse resp;
  SIMPUL_ASSIGN_OR_RETURN(
      int next, ReadNumberedPage(
                    after, PageSize(req.page()),
                    [&](int from, int n) { return store_.ListUnitMaklumat(unit.id(), from, n); },
                    [&](v1::Maklumat item) {
                      if (!MaklumatVisible(caller, item)) return false;
                      *resp.add_maklumat() = std::move(item);
                      return true;
                    }));
  if (next >= 0 && next < unit.latest_maklumat_number()) {
    resp.set_next_page_token(EncodePageToken(query, absl::StrCat(next)));
  }
  return resp;
}

// ---------------------------------------------------------------------------------------
// Change feed

absl::Status StandardsRegistry::ValidateWatch(const v1::WatchStandardsRequest& req) const {
  FieldViolations v;
  const std::string& c = req.cursor();
  if (!c.empty() && c != "$" && c != "0") {
    // A stream id: <ms>-<seq>.
    std::pair<std::string, std::string> parts = absl::StrSplit(c, absl::MaxSplits('-', 1));
    uint64_t a, b;
    if (!absl::SimpleAtoi(parts.first, &a) || !absl::SimpleAtoi(parts.second, &b)) {
      v.Add("cursor", "expected a cursor from a previous event, \"$\" (from now) or \"0\"");
    }
  }
  if (!req.agency_id().empty()) CheckSlug(v, "agency_id", req.agency_id());
  if (!req.unit_id().empty()) CheckSlug(v, "unit_id", req.unit_id());
  if (!req.service_id().empty()) CheckSlug(v, "service_id", req.service_id());
  for (int i = 0; i < req.entity_types_size(); ++i) {
    auto t = static_cast<v1::EntityType>(req.entity_types(i));
    if (t == v1::ENTITY_TYPE_UNSPECIFIED || !v1::EntityType_IsValid(t)) {
      v.Add(absl::StrCat("entity_types[", i, "]"), "unknown or unspecified entity type");
    }
  }
  return v.ToStatus("WatchStandardsRequest");
}

absl::StatusOr<std::string> StandardsRegistry::ReplayFrom(
    const Id& caller, const v1::WatchStandardsRequest& req) const {
  const std::string& cursor = req.cursor();
  const absl::Duration window = options_.public_replay_window;
  if (!caller.is_public() || window <= absl::ZeroDuration() || cursor.empty() || cursor == "$") {
    return cursor;
  }
  const int64_t horizon_ms = absl::ToUnixMillis(clock_.Now() - window);
  if (cursor == "0") return absl::StrCat(std::max<int64_t>(horizon_ms, 0), "-0");
  // A validated stream id: <ms>-<seq>.
  uint64_t ms = 0;
  const std::string_view ms_part = std::string_view(cursor).substr(0, cursor.find('-'));
  if (!absl::SimpleAtoi(AbslView(ms_part), &ms) || static_cast<int64_t>(ms) >= horizon_ms) {
    return cursor;
  }
  // An older cursor: fine when few changes came since (one bounded read of the feed).
  const int max_events = options_.public_replay_max_events;
  if (max_events > 0) {
    absl::StatusOr<std::vector<v1::ChangeEvent>> since =
        store_.ReadChanges(cursor, max_events + 1, absl::ZeroDuration());
    if (since.ok() && static_cast<int>(since->size()) <= max_events) return cursor;
    if (!since.ok() && since.status().code() != absl::StatusCode::kOutOfRange) {
      return since.status();
    }
  }
  return absl::OutOfRangeError(absl::StrCat(
      "anonymous callers may resume the change feed only from a cursor less than ",
      absl::FormatDuration(window), " old or with at most ", max_events,
      " changes after it; cursor ", cursor, " is from ",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(static_cast<int64_t>(ms)),
                       absl::UTCTimeZone()),
      ": re-read the registry with the List RPCs and watch from now (no cursor), or watch "
      "with an API key"));
}

std::optional<v1::ChangeEvent> StandardsRegistry::ViewForWatch(const Id& caller,
                                                               const v1::WatchStandardsRequest& req,
                                                               const v1::ChangeEvent& event) const {
  std::set<int> types(req.entity_types().begin(), req.entity_types().end());
  v1::ChangeEvent out = event;
  out.clear_objects();
  for (const auto& object : event.objects()) {
    std::string agency, unit, service;
    v1::EntityType type = v1::ENTITY_TYPE_UNSPECIFIED;
    v1::ChangedObject shown = object;
    switch (object.object_case()) {
      case v1::ChangedObject::kAgency:
        type = v1::ENTITY_TYPE_AGENCY;
        agency = object.agency().id();
        break;
      case v1::ChangedObject::kUnit:
        type = v1::ENTITY_TYPE_SERVICE_UNIT;
        agency = object.unit().agency_id();
        unit = object.unit().id();
        break;
      case v1::ChangedObject::kService:
        type = v1::ENTITY_TYPE_SERVICE;
        agency = object.service().agency_id();
        unit = object.service().unit_id();
        service = object.service().id();
        break;
      case v1::ChangedObject::kStandardVersion: {
        type = v1::ENTITY_TYPE_STANDARD_VERSION;
        const auto& sv = object.standard_version();
        agency = sv.agency_id();
        unit = sv.unit_id();
        service = sv.service_id();
        if (!VersionVisible(caller, sv)) continue;
        *shown.mutable_standard_version() = Present(caller, sv);
        break;
      }
      case v1::ChangedObject::kMaklumat:
        type = v1::ENTITY_TYPE_MAKLUMAT;
        agency = object.maklumat().agency_id();
        unit = object.maklumat().unit_id();
        if (!MaklumatVisible(caller, object.maklumat())) continue;
        break;
      default:
        continue;
    }
    if (!types.empty() && types.count(type) == 0) continue;
    if (!req.agency_id().empty() && agency != req.agency_id()) continue;
    if (!req.unit_id().empty() && unit != req.unit_id()) continue;
    if (!req.service_id().empty() && service != req.service_id()) continue;
    *out.add_objects() = std::move(shown);
  }
  if (out.objects().empty()) return std::nullopt;
  // Who made a change is internal to the agency that made it.
  bool own = caller.is_platform_admin() || caller.is_service();
  for (const auto& o : out.objects()) {
    own |= o.has_agency() && caller.IsAgencyMember(o.agency().id());
    own |= o.has_unit() && caller.IsAgencyMember(o.unit().agency_id());
    own |= o.has_service() && caller.IsAgencyMember(o.service().agency_id());
    own |= o.has_standard_version() && caller.IsAgencyMember(o.standard_version().agency_id());
    own |= o.has_maklumat() && caller.IsAgencyMember(o.maklumat().agency_id());
  }
  if (!own) out.clear_actor();
  return out;
}

}  // namespace simpul::registry
