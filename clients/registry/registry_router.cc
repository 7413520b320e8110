// RegistryRouter: complaint routes from the registry, cached while its change feed is watched.
#include "clients/registry/registry_router.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "common/logging.h"
#include "common/tsan_annotations.h"

namespace simpul::clients::registry {
namespace {

namespace v1 = ::simpul::registry::v1;

// Cache keys: one namespace per kind of object.
std::string ServiceKey(std::string_view id) { return absl::StrCat("s:", AbslView(id)); }
std::string UnitKey(std::string_view id) { return absl::StrCat("u:", AbslView(id)); }
std::string AgencyKey(std::string_view id) { return absl::StrCat("a:", AbslView(id)); }

// CallError turns a failed registry call into the Router contract: anything that means "the
// registry cannot answer right now" is UNAVAILABLE (or DEADLINE_EXCEEDED); other codes pass.
absl::Status CallError(std::string_view method, const grpc::Status& status) {
  auto code = static_cast<absl::StatusCode>(status.error_code());
  switch (status.error_code()) {
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      code = absl::StatusCode::kUnavailable;
      break;
    default:
      break;
  }
  return absl::Status(
      code, absl::StrCat("registry ", AbslView(method), ": ", AbslView(status.error_message())));
}

// Versions asked for per ListStandardVersions page (the registry's maximum page size).
constexpr int kVersionPageSize = 500;

// ZoneStart is 00:00 of `date` in the unit's zone (WIB when unspecified).
absl::Time ZoneStart(const common::v1::Date& date, common::v1::TimeZone zone) {
  int hours = 7;
  if (zone == common::v1::TIME_ZONE_WITA) hours = 8;
  if (zone == common::v1::TIME_ZONE_WIT) hours = 9;
  return absl::FromCivil(absl::CivilDay(date.year(), date.month(), date.day()),
                         absl::FixedTimeZone(hours * 3600));
}

bool IsCacheable(const absl::StatusOr<Route>& value) {
  return value.ok() || absl::IsNotFound(value.status());
}

}  // namespace

std::vector<StandardTerms> InForceHistory(const std::vector<v1::StandardVersion>& versions,
                                          common::v1::TimeZone zone) {
  std::vector<StandardTerms> history;
  int last_number = 0;  // the highest adopted version and its supersession time, if superseded
  std::optional<absl::Time> last_superseded;
  for (const v1::StandardVersion& v : versions) {
    const bool adopted_once =
        v.has_adoption() && v.adoption().has_effective_from() &&
        (v.state() == v1::STANDARD_STATE_ADOPTED || v.state() == v1::STANDARD_STATE_SUPERSEDED ||
         v.state() == v1::STANDARD_STATE_WITHDRAWN);
    if (!adopted_once) continue;
    StandardTerms terms;
    terms.version_id = v.id();
    terms.version_number = v.version_number();
    terms.in_force_from = ZoneStart(v.adoption().effective_from(), zone);
    if (v.state() == v1::STANDARD_STATE_WITHDRAWN && v.has_update_time()) {
      // Withdrawn versions are never changed again: their last update is the withdrawal.
      terms.in_force_until = absl::FromUnixSeconds(v.update_time().seconds());
    }
    const v1::ComplaintHandling& handling = v.components().complaint_handling();
    terms.response_working_days = handling.response_working_days();
    for (const v1::ResolutionClass& c : handling.resolution_classes()) {
      terms.resolution_classes.push_back({c.name(), c.working_days()});
    }
    terms.promised_amount = v.components().completion_time().amount();
    terms.promised_unit = static_cast<PromisedUnit>(v.components().completion_time().unit());
    if (terms.version_number > last_number) {
      last_number = terms.version_number;
      last_superseded.reset();
      if (v.state() == v1::STANDARD_STATE_SUPERSEDED && v.has_update_time()) {
        last_superseded = absl::FromUnixSeconds(v.update_time().seconds());
      }
    }
    history.push_back(std::move(terms));
  }
  std::sort(history.begin(), history.end(), [](const StandardTerms& a, const StandardTerms& b) {
    return a.version_number < b.version_number;
  });
  // A superseded version with no later version in the list was superseded by one the caller
  // may not see (adopted, then withdrawn): it is in force until it was superseded (its last
  // update), and nothing is in force after that as far as this caller can tell.
  if (!history.empty() && last_superseded) history.back().in_force_until = *last_superseded;
  return history;
}

RegistryRouter::RegistryRouter(std::shared_ptr<grpc::Channel> registry, Options options)
    : options_(options),
      stub_(v1::Registry::NewStub(registry)),
      own_watch_(std::make_unique<RegistryWatch>(
          registry, RegistryWatch::Options{.connect_timeout = options.call_timeout,
                                           .healthy_after = options.call_timeout,
                                           .backoff = {.initial = options.reconnect_min,
                                                       .max = options.reconnect_max,
                                                       .jitter = 0.2}})),
      watch_(*own_watch_) {
  (void)watch_.Subscribe(this, EntityTypes());  // cannot fail: not started
}

RegistryRouter::RegistryRouter(std::shared_ptr<grpc::Channel> registry, RegistryWatch& watch,
                               Options options)
    : options_(options), stub_(v1::Registry::NewStub(std::move(registry))), watch_(watch) {
  if (absl::Status subscribed = watch_.Subscribe(this, EntityTypes()); !subscribed.ok()) {
    Log(LogLevel::kError, "registry router: routing uncached", {{"error", subscribed.ToString()}});
  }
}

RegistryRouter::~RegistryRouter() { Stop(); }

std::vector<v1::EntityType> RegistryRouter::EntityTypes() {
  return {v1::ENTITY_TYPE_AGENCY, v1::ENTITY_TYPE_SERVICE_UNIT, v1::ENTITY_TYPE_SERVICE,
          v1::ENTITY_TYPE_STANDARD_VERSION};
}

void RegistryRouter::Start() {
  if (own_watch_ != nullptr) own_watch_->Start();
}

void RegistryRouter::Stop() {
  if (own_watch_ != nullptr) {
    own_watch_->Stop();
  } else {
    watch_.Unsubscribe(this);
  }
  absl::MutexLock lock(&mu_);
  stream_open_ = false;
  anchored_ = false;
  ClearLocked();
}

RegistryRouter::Stats RegistryRouter::stats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = stats_;
  stats.watching = LiveLocked(absl::Now());
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Resolution.

absl::StatusOr<Route> RegistryRouter::ResolveService(std::string_view service_id) {
  if (service_id.empty()) return absl::InvalidArgumentError("service_id is empty");
  const std::string key = ServiceKey(service_id);
  uint64_t epoch = 0;
  if (auto hit = Lookup(key, &epoch)) return *std::move(hit);
  absl::StatusOr<Route> route = FetchService(service_id, absl::Now() + options_.call_timeout);
  Store(key, route, epoch);
  return route;
}

absl::StatusOr<Route> RegistryRouter::ResolveUnit(std::string_view unit_id) {
  if (unit_id.empty()) return absl::InvalidArgumentError("unit_id is empty");
  const std::string key = UnitKey(unit_id);
  uint64_t epoch = 0;
  if (auto hit = Lookup(key, &epoch)) return *std::move(hit);
  absl::StatusOr<Route> route = FetchUnit(unit_id, absl::Now() + options_.call_timeout);
  Store(key, route, epoch);
  return route;
}

absl::StatusOr<bool> RegistryRouter::AgencyExists(std::string_view agency_id) {
  if (agency_id.empty()) return absl::InvalidArgumentError("agency_id is empty");
  absl::StatusOr<Route> answer = ResolveAgencyRoute(agency_id, absl::Now() + options_.call_timeout);
  if (answer.ok()) return true;
  if (absl::IsNotFound(answer.status())) return false;
  return answer.status();
}

absl::StatusOr<Route> RegistryRouter::ResolveAgency(std::string_view agency_id) {
  if (agency_id.empty()) return absl::InvalidArgumentError("agency_id is empty");
  return ResolveAgencyRoute(agency_id, absl::Now() + options_.call_timeout);
}

absl::StatusOr<Route> RegistryRouter::ResolveAgencyRoute(std::string_view agency_id,
                                                         absl::Time deadline) {
  const std::string key = AgencyKey(agency_id);
  uint64_t epoch = 0;
  if (auto hit = Lookup(key, &epoch)) return *std::move(hit);
  v1::GetAgencyRequest req;
  req.set_id(std::string(agency_id));
  v1::GetAgencyResponse resp;
  grpc::ClientContext ctx;
  PrepareCall(&ctx, deadline);
  grpc::Status status = stub_->GetAgency(&ctx, req, &resp);
  absl::StatusOr<Route> answer;
  if (status.ok()) {
    Route route;
    route.agency_id = resp.agency().id();
    route.sandbox = resp.agency().sandbox();
    answer = std::move(route);
  } else if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    answer = absl::NotFoundError(
        absl::StrCat("agency \"", AbslView(agency_id), "\" is not in the registry"));
  } else {
    return CallError("GetAgency", status);
  }
  Store(key, answer, epoch);
  return answer;
}

void RegistryRouter::PrepareCall(grpc::ClientContext* ctx, absl::Time deadline) {
  ctx->set_deadline(absl::ToChronoTime(deadline));
  if (options_.identity) options_.identity->Attach(*ctx);
  absl::MutexLock lock(&mu_);
  ++stats_.registry_calls;
}

absl::StatusOr<Route> RegistryRouter::FetchUnit(std::string_view unit_id, absl::Time deadline) {
  v1::GetServiceUnitRequest req;
  req.set_id(std::string(unit_id));
  v1::GetServiceUnitResponse resp;
  grpc::ClientContext ctx;
  PrepareCall(&ctx, deadline);
  grpc::Status status = stub_->GetServiceUnit(&ctx, req, &resp);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(
        absl::StrCat("service unit \"", AbslView(unit_id), "\" is not in the registry"));
  }
  if (!status.ok()) return CallError("GetServiceUnit", status);
  return UnitRoute(resp.unit(), deadline);
}

absl::StatusOr<Route> RegistryRouter::UnitRoute(const v1::ServiceUnit& unit, absl::Time deadline) {
  Route route;
  route.unit_id = unit.id();
  route.agency_id = unit.agency_id();
  route.time_zone = unit.time_zone();
  route.region_code = unit.region_code();
  route.sandbox = unit.sandbox();
  if (!route.sandbox && !route.agency_id.empty()) {
    absl::StatusOr<Route> agency = ResolveAgencyRoute(route.agency_id, deadline);
    // An agency the registry does not have (it never deletes one) flags nothing.
    if (!agency.ok() && !absl::IsNotFound(agency.status())) return agency.status();
    route.sandbox = agency.ok() && agency->sandbox;
  }
  return route;
}

absl::StatusOr<Route> RegistryRouter::FetchService(std::string_view service_id,
                                                   absl::Time deadline) {
  // One deadline for the whole resolution: GetService, then the unit and the adopted
  // standard side by side.
  v1::GetServiceResponse service_resp;
  {
    v1::GetServiceRequest req;
    req.set_id(std::string(service_id));
    grpc::ClientContext ctx;
    PrepareCall(&ctx, deadline);
    grpc::Status status = stub_->GetService(&ctx, req, &service_resp);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      return absl::NotFoundError(
          absl::StrCat("service \"", AbslView(service_id), "\" is not in the registry"));
    }
    if (!status.ok()) return CallError("GetService", status);
  }
  const v1::Service& service = service_resp.service();
  Route route;
  route.service_id = service.id();
  route.unit_id = service.unit_id();
  route.agency_id = service.agency_id();
  route.attributes.assign(service.attributes().begin(), service.attributes().end());

  // The unit's time zone, from the cache when it is in use. A unit entry is dropped together
  // with the service routes of its unit, so the two never disagree for long.
  const std::string unit_key = UnitKey(service.unit_id());
  uint64_t unit_epoch = 0;
  std::optional<absl::StatusOr<Route>> unit = Lookup(unit_key, &unit_epoch);
  if (unit && !unit->ok()) unit.reset();  // a unit cached as absent: ask again

  grpc::ClientContext unit_ctx;
  v1::GetServiceUnitRequest unit_req;
  v1::GetServiceUnitResponse unit_resp;
  grpc::Status unit_status;
  absl::Notification unit_done;
  if (!unit) {
    unit_req.set_id(service.unit_id());
    PrepareCall(&unit_ctx, deadline);
    HandOffToGrpc(&unit_status);
    stub_->async()->GetServiceUnit(&unit_ctx, &unit_req, &unit_resp,
                                   [&unit_status, &unit_done](grpc::Status status) {
                                     ResumedFromGrpc(&unit_status);
                                     unit_status = std::move(status);
                                     unit_done.Notify();
                                   });
  }
  // The service's version history (public: adopted and superseded versions with their delivery
  // components): its current terms and the terms in force at any past instant. A service that
  // never had a version has none to fetch.
  grpc::ClientContext standard_ctx;
  v1::ListStandardVersionsRequest standard_req;
  v1::ListStandardVersionsResponse standard_resp;
  grpc::Status standard_status;
  absl::Notification standard_done;
  const bool has_standard =
      !service.current_version_id().empty() || service.latest_version_number() > 0;
  if (has_standard) {
    standard_req.set_service_id(service.id());
    standard_req.mutable_page()->set_page_size(kVersionPageSize);
    PrepareCall(&standard_ctx, deadline);
    HandOffToGrpc(&standard_status);
    stub_->async()->ListStandardVersions(&standard_ctx, &standard_req, &standard_resp,
                                         [&standard_status, &standard_done](grpc::Status status) {
                                           ResumedFromGrpc(&standard_status);
                                           standard_status = std::move(status);
                                           standard_done.Notify();
                                         });
  }
  if (!unit) unit_done.WaitForNotification();
  if (has_standard) standard_done.WaitForNotification();

  if (!unit) {
    if (unit_status.error_code() == grpc::StatusCode::NOT_FOUND) {
      return absl::InternalError(absl::StrCat("registry: service \"", AbslView(service_id),
                                              "\" names unit \"", service.unit_id(),
                                              "\", which the registry does not have"));
    }
    if (!unit_status.ok()) return CallError("GetServiceUnit", unit_status);
    absl::StatusOr<Route> unit_route = UnitRoute(unit_resp.unit(), deadline);
    if (!unit_route.ok()) return unit_route.status();
    Store(unit_key, *unit_route, unit_epoch);
    unit = std::move(unit_route);
  }
  route.time_zone = (*unit)->time_zone;
  route.region_code = (*unit)->region_code;
  route.sandbox = (*unit)->sandbox;

  if (has_standard) {
    if (!standard_status.ok()) return CallError("ListStandardVersions", standard_status);
    std::vector<v1::StandardVersion> versions(standard_resp.versions().begin(),
                                              standard_resp.versions().end());
    // Further pages (a service with more than kVersionPageSize versions), one call each.
    std::string token = standard_resp.next_page_token();
    while (!token.empty()) {
      v1::ListStandardVersionsRequest req;
      req.set_service_id(service.id());
      req.mutable_page()->set_page_size(kVersionPageSize);
      req.mutable_page()->set_page_token(token);
      v1::ListStandardVersionsResponse resp;
      grpc::ClientContext ctx;
      PrepareCall(&ctx, deadline);
      grpc::Status status = stub_->ListStandardVersions(&ctx, req, &resp);
      if (!status.ok()) return CallError("ListStandardVersions", status);
      versions.insert(versions.end(), resp.versions().begin(), resp.versions().end());
      token = resp.next_page_token();
    }
    route.standards = InForceHistory(versions, route.time_zone);
    for (const StandardTerms& terms : route.standards) {
      // The current version (absent when it was withdrawn meanwhile: route without terms).
      if (terms.version_id != service.current_version_id()) continue;
      route.standard_version_id = terms.version_id;
      route.response_working_days = terms.response_working_days;
      route.resolution_classes = terms.resolution_classes;
      route.promised_amount = terms.promised_amount;
      route.promised_unit = terms.promised_unit;
    }
  }
  return route;
}

// ---------------------------------------------------------------------------------------------
// Cache.

bool RegistryRouter::LiveLocked(absl::Time now) const {
  return stream_open_ && (anchored_ || now - stream_start_ >= options_.call_timeout);
}

std::optional<absl::StatusOr<Route>> RegistryRouter::Lookup(const std::string& key,
                                                            uint64_t* epoch) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  *epoch = 0;
  if (options_.max_entries == 0 || !LiveLocked(now)) return std::nullopt;
  *epoch = epoch_;
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    EraseLocked(key);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++stats_.cache_hits;
  return it->second.value;
}

void RegistryRouter::Store(const std::string& key, const absl::StatusOr<Route>& value,
                           uint64_t epoch) {
  if (epoch == 0 || !IsCacheable(value)) return;
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  // A changed epoch means an event or a reconnect came in while the answer was on its way:
  // the answer may predate a change whose invalidation has already been applied.
  if (epoch != epoch_ || !LiveLocked(now)) return;
  const absl::Time expires = value.ok() ? absl::InfiniteFuture() : now + options_.negative_ttl;
  if (auto it = cache_.find(key); it != cache_.end()) {
    it->second.value = value;
    it->second.expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  while (cache_.size() >= options_.max_entries && !lru_.empty()) {
    std::string victim = lru_.back();
    EraseLocked(victim);
  }
  lru_.push_front(key);
  cache_.emplace(key, Entry{value, expires, lru_.begin()});
}

void RegistryRouter::EraseLocked(const std::string& key) {
  auto it = cache_.find(key);
  if (it == cache_.end()) return;
  lru_.erase(it->second.lru);
  cache_.erase(it);
}

template <typename Pred>
void RegistryRouter::InvalidateLocked(Pred pred) {
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (pred(it->first, it->second.value)) {
      lru_.erase(it->second.lru);
      it = cache_.erase(it);
      ++stats_.invalidations;
    } else {
      ++it;
    }
  }
}

void RegistryRouter::ApplyEventLocked(const v1::ChangeEvent& event) {
  ++epoch_;  // in-flight fetches may predate this change: they must not be stored
  auto drop_key = [this](const std::string& key) {
    auto it = cache_.find(key);
    if (it == cache_.end()) return;
    lru_.erase(it->second.lru);
    cache_.erase(it);
    ++stats_.invalidations;
  };
  for (const v1::ChangedObject& object : event.objects()) {
    switch (object.object_case()) {
      case v1::ChangedObject::kService:
        drop_key(ServiceKey(object.service().id()));
        break;
      case v1::ChangedObject::kStandardVersion:
        drop_key(ServiceKey(object.standard_version().service_id()));
        break;
      case v1::ChangedObject::kUnit: {
        // The unit and the routes of its services (they carry its time zone). Unit changes
        // are rare, so a scan is cheaper than keeping an index.
        const std::string& unit_id = object.unit().id();
        const std::string unit_key = UnitKey(unit_id);
        InvalidateLocked([&](const std::string& key, const absl::StatusOr<Route>& value) {
          return key == unit_key || (key[0] == 's' && value.ok() && value->unit_id == unit_id);
        });
        break;
      }
      case v1::ChangedObject::kAgency: {
        const std::string& agency_id = object.agency().id();
        const std::string agency_key = AgencyKey(agency_id);
        InvalidateLocked([&](const std::string& key, const absl::StatusOr<Route>& value) {
          return key == agency_key || (value.ok() && value->agency_id == agency_id);
        });
        break;
      }
      default:
        break;  // maklumat: not part of a route
    }
  }
}

void RegistryRouter::ClearLocked() {
  cache_.clear();
  lru_.clear();
  ++epoch_;
}

// ---------------------------------------------------------------------------------------------
// Change feed.

absl::Status RegistryRouter::OnStarted(const WatchStart& start) {
  absl::MutexLock lock(&mu_);
  stream_open_ = true;
  // Resuming from a cursor misses nothing (the registry replays every later event), nor does a
  // watch whose start the registry named; otherwise the time-based trust of LiveLocked applies.
  anchored_ = start.resumed || start.confirmed;
  stream_start_ = absl::Now();
  return absl::OkStatus();
}

absl::Status RegistryRouter::OnEvent(const v1::ChangeEvent& event) {
  absl::MutexLock lock(&mu_);
  ApplyEventLocked(event);
  anchored_ = true;
  return absl::OkStatus();
}

void RegistryRouter::OnEnded(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  stream_open_ = false;
  anchored_ = false;
  ClearLocked();  // events may be missed from now on
}

}  // namespace simpul::clients::registry
