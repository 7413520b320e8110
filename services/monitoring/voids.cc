// MonitoringDesk::VoidInputs and ListVoids: corrections of survey responses and deliveries
// recorded by mistake (aggregates.h VOIDS, store.h INPUT LEDGERS).
#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/field_rules.h"
#include "common/page_token.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "services/monitoring/monitoring.h"
#include "simpul/monitoring/v1/storage.pb.h"

namespace simpul::monitoring {
namespace {

constexpr int kMaxNamedInputs = 1000;
constexpr int kVoidAttempts = 5;  // re-reads of a ledger that changed while being voided

std::string VoidLogName(const std::string& agency_id) { return absl::StrCat("voids:", agency_id); }

std::string NewVoidId(absl::Time now) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("v%d-%08x", absl::ToUnixMillis(now),
                         static_cast<uint32_t>(random() & 0xffffffffu));
}

// One input a void names: its ledger key and the request field that named it.
struct Named {
  std::string key;
  std::string field;
  std::string description;  // for NOT_FOUND
};

UnitInfo UnitOf(const v1::LedgerMeta& meta) {
  UnitInfo unit{meta.unit_id(), meta.agency_id(), meta.region_code(),
                static_cast<common::v1::TimeZone>(meta.time_zone())};
  unit.sandbox = meta.sandbox();
  return unit;
}

InputKind KindOf(const v1::LedgerMeta& meta) {
  return meta.kind() == "delivery" ? InputKind::kDelivery : InputKind::kSurvey;
}

// MayVoid: platform admins; the members of the agency the input's unit belonged to; the
// channel that submitted it.
bool MayVoid(const Identity& caller, const v1::LedgerMeta& meta) {
  if (caller.is_platform_admin() || caller.IsAgencyMember(meta.agency_id())) return true;
  return caller.principal.role() == common::v1::ROLE_CHANNEL &&
         !caller.principal.subject().empty() && caller.principal.subject() == meta.submitter();
}

// Distinct adds a violation for a value named twice.
void CheckDistinct(FieldViolations& v, const google::protobuf::RepeatedPtrField<std::string>& list,
                   const std::string& field) {
  std::set<std::string_view> seen;
  for (int i = 0; i < list.size(); ++i) {
    if (!seen.insert(list[i]).second) {
      v.Add(absl::StrCat(field, "[", i, "]"), absl::StrCat("\"", list[i], "\" is named twice"));
    }
  }
}

}  // namespace

LedgerTag MonitoringDesk::LedgerTagFor(const Identity& caller, InputKind kind, const UnitInfo& unit,
                                       std::string key, const std::string& application_key,
                                       const std::string& batch_id) {
  v1::LedgerMeta meta;
  meta.set_kind(kind == InputKind::kSurvey ? "survey" : "delivery");
  meta.set_unit_id(unit.unit_id);
  meta.set_agency_id(unit.agency_id);
  meta.set_region_code(unit.region_code);
  meta.set_time_zone(unit.time_zone);
  meta.set_submitter(caller.principal.subject());
  meta.set_submitter_role(caller.principal.role());
  meta.set_application_key(application_key);
  meta.set_sandbox(unit.sandbox);
  LedgerTag tag;
  tag.key = std::move(key);
  tag.meta = meta.SerializeAsString();
  if (!batch_id.empty()) tag.batch = absl::StrCat(unit.agency_id, "|", batch_id);
  return tag;
}

absl::StatusOr<v1::VoidInputsResponse> MonitoringDesk::VoidInputs(
    const Identity& caller, const v1::VoidInputsRequest& req) {
  if (caller.is_public()) return absl::UnauthenticatedError("voiding inputs needs credentials");
  FieldViolations v;
  CheckText(v, "reason", req.reason(), 10, 500);
  switch (req.target_case()) {
    case v1::VoidInputsRequest::kSurveyResponses: {
      const auto& t = req.survey_responses();
      CheckSlug(v, "survey_responses.unit_id", t.unit_id());
      if (t.idempotency_keys().empty() || t.idempotency_keys_size() > kMaxNamedInputs) {
        v.Add("survey_responses.idempotency_keys",
              absl::StrCat("name 1..", kMaxNamedInputs, " keys, got ", t.idempotency_keys_size()));
      }
      for (int i = 0; i < t.idempotency_keys_size(); ++i) {
        CheckKeyText(v, absl::StrCat("survey_responses.idempotency_keys[", i, "]"),
                     t.idempotency_keys(i), 8, 128);
      }
      CheckDistinct(v, t.idempotency_keys(), "survey_responses.idempotency_keys");
      break;
    }
    case v1::VoidInputsRequest::kDeliveries: {
      const auto& t = req.deliveries();
      if (t.service_id().empty()) v.Add("deliveries.service_id", "required");
      if (t.application_ids().empty() || t.application_ids_size() > kMaxNamedInputs) {
        v.Add("deliveries.application_ids",
              absl::StrCat("name 1..", kMaxNamedInputs, " ids, got ", t.application_ids_size()));
      }
      for (int i = 0; i < t.application_ids_size(); ++i) {
        CheckText(v, absl::StrCat("deliveries.application_ids[", i, "]"), t.application_ids(i), 1,
                  128);
      }
      CheckDistinct(v, t.application_ids(), "deliveries.application_ids");
      break;
    }
    case v1::VoidInputsRequest::kBatch:
      CheckSlug(v, "batch.agency_id", req.batch().agency_id());
      CheckKeyText(v, "batch.batch_id", req.batch().batch_id(), 1, 64);
      break;
    default:
      v.Add("target", "name survey_responses, deliveries or batch");
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));

  // The inputs named, and the agency whose void log records the call.
  std::vector<Named> named;
  std::string agency_id;
  std::string target;
  int remaining = 0;
  if (req.has_survey_responses()) {
    const auto& t = req.survey_responses();
    for (int i = 0; i < t.idempotency_keys_size(); ++i) {
      named.push_back(
          {SurveyLedgerKey(t.unit_id(), t.idempotency_keys(i)),
           absl::StrCat("survey_responses.idempotency_keys[", i, "]"),
           absl::StrCat("survey response \"", t.idempotency_keys(i), "\" of unit ", t.unit_id())});
    }
    target = absl::StrCat("survey_responses ", t.unit_id(), " ", t.idempotency_keys_size());
  } else if (req.has_deliveries()) {
    const auto& t = req.deliveries();
    absl::StatusOr<clients::registry::Route> route = router_.ResolveService(t.service_id());
    if (route.status().code() == absl::StatusCode::kNotFound ||
        route.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::NotFoundError(absl::StrCat(
          "deliveries.service_id: the registry has no service \"", t.service_id(), "\""));
    }
    SIMPUL_RETURN_IF_ERROR(route.status());
    const UnitInfo unit{route->unit_id, route->agency_id, route->region_code, route->time_zone};
    for (int i = 0; i < t.application_ids_size(); ++i) {
      named.push_back(
          {DeliveryLedgerKey(unit, t.application_ids(i)),
           absl::StrCat("deliveries.application_ids[", i, "]"),
           absl::StrCat("application \"", t.application_ids(i), "\" of service ", t.service_id())});
    }
    agency_id = route->agency_id;
    target = absl::StrCat("deliveries ", t.service_id(), " ", t.application_ids_size());
  } else {
    agency_id = req.batch().agency_id();
    target = absl::StrCat("batch ", req.batch().batch_id());
    if (!caller.is_platform_admin() && !caller.IsAgencyMember(agency_id) &&
        caller.principal.role() != common::v1::ROLE_CHANNEL) {
      return absl::PermissionDeniedError(
          absl::StrCat("inputs of agency ", agency_id,
                       " may be voided only by that agency or a platform admin"));
    }
    SIMPUL_ASSIGN_OR_RETURN(
        std::vector<std::string> keys,
        store_.BatchLedgers(absl::StrCat(agency_id, "|", req.batch().batch_id())));
    if (keys.empty()) {
      return absl::NotFoundError(absl::StrCat("batch.batch_id: agency ", agency_id,
                                              " has no input recorded with batch \"",
                                              req.batch().batch_id(), "\""));
    }
    for (std::string& key : keys) {
      named.push_back({std::move(key), "batch", ""});
    }
  }

  // Ledgers are read max_batch at a time, and a batch's only until a call's worth of inputs
  // not yet voided is found: however large a batch grows, one call reads a bounded amount.
  std::vector<std::optional<Ledger>> ledgers;
  size_t unread = 0;
  for (size_t from = 0, open = 0; from < named.size();) {
    if (req.has_batch() && open >= static_cast<size_t>(options_.max_batch)) {
      unread = named.size() - from;
      named.resize(from);
      break;
    }
    const size_t to = std::min(named.size(), from + static_cast<size_t>(options_.max_batch));
    std::vector<std::string> keys;
    for (size_t i = from; i < to; ++i) keys.push_back(named[i].key);
    SIMPUL_ASSIGN_OR_RETURN(std::vector<std::optional<Ledger>> chunk, store_.ReadLedgers(keys));
    if (chunk.size() != keys.size()) return absl::InternalError("void: ledger count mismatch");
    for (std::optional<Ledger>& l : chunk) {
      open += l && !l->voided;
      ledgers.push_back(std::move(l));
    }
    from = to;
  }
  // Every named input must exist and be the caller's to void, before anything changes.
  std::vector<std::string> missing;
  std::vector<v1::LedgerMeta> metas(named.size());
  for (size_t i = 0; i < named.size(); ++i) {
    if (!ledgers[i]) {
      if (!req.has_batch())
        missing.push_back(absl::StrCat(named[i].field, ": ", named[i].description));
      continue;
    }
    if (!metas[i].ParseFromString(ledgers[i]->meta) || metas[i].unit_id().empty()) {
      return absl::InternalError(absl::StrCat("input ", named[i].key, " has no readable record"));
    }
    if (!MayVoid(caller, metas[i])) {
      return absl::PermissionDeniedError(absl::StrCat(
          named[i].field, ": the input belongs to agency ", metas[i].agency_id(),
          req.has_batch() ? " and was submitted by another caller" : "",
          "; only that agency, the channel that submitted it or a platform admin may void it"));
    }
    if (agency_id.empty()) agency_id = metas[i].agency_id();
    // An input that cannot be taken back exactly fails the call before anything changes.
    if (!ledgers[i]->voided) {
      absl::Status exact = VoidReversal(*ledgers[i], named[i].key, KindOf(metas[i])).status();
      if (!exact.ok()) {
        return absl::Status(exact.code(), absl::StrCat(named[i].field, ": ", exact.message()));
      }
    }
  }
  if (!missing.empty()) {
    const size_t shown = std::min<size_t>(missing.size(), 5);
    std::string message = absl::StrCat(missing.size(),
                                       " named input(s) are not recorded (or were "
                                       "recorded longer ago than inputs are kept): ");
    for (size_t i = 0; i < shown; ++i) absl::StrAppend(&message, i ? "; " : "", missing[i]);
    if (shown < missing.size()) absl::StrAppend(&message, "; ...");
    return absl::NotFoundError(message);
  }

  v1::VoidInputsResponse response;
  // A batch voids at most max_batch inputs per call; the rest wait for the next call.
  std::vector<size_t> todo;
  for (size_t i = 0; i < named.size(); ++i) {
    if (!ledgers[i]) continue;
    if (ledgers[i]->voided) {
      if (!req.has_batch()) response.set_already_voided(response.already_voided() + 1);
      continue;
    }
    if (req.has_batch() && static_cast<int>(todo.size()) >= options_.max_batch) {
      ++remaining;
      continue;
    }
    todo.push_back(i);
  }

  // The log entry first: every void is covered by an entry written before it.
  const absl::Time now = clock_.Now();
  v1::VoidRecord record;
  record.set_void_id(NewVoidId(now));
  *record.mutable_time() = ToProto(now);
  record.set_agency_id(agency_id);
  record.set_subject(caller.principal.subject());
  record.set_role(caller.principal.role());
  record.set_reason(req.reason());
  record.set_target(target);
  SIMPUL_RETURN_IF_ERROR(store_.AppendLog(VoidLogName(agency_id), record.SerializeAsString()));
  response.set_void_id(record.void_id());

  std::map<std::string, std::pair<UnitInfo, std::set<std::string>>> touched;
  for (size_t i : todo) {
    std::optional<Ledger> ledger = std::move(ledgers[i]);
    const v1::LedgerMeta& meta = metas[i];
    const InputKind input_kind = KindOf(meta);
    for (int attempt = 0;; ++attempt) {
      if (!ledger) break;  // expired meanwhile: nothing left to take back
      if (ledger->voided) {
        response.set_already_voided(response.already_voided() + 1);
        break;
      }
      SIMPUL_ASSIGN_OR_RETURN(std::vector<Contribution> reversal,
                              VoidReversal(*ledger, named[i].key, input_kind));
      SIMPUL_ASSIGN_OR_RETURN(
          AggregateStore::VoidOutcome outcome,
          store_.VoidLedger(named[i].key, ledger->version, meta.application_key(), reversal,
                            record.void_id()));
      if (outcome == AggregateStore::VoidOutcome::kVoided) {
        response.set_voided(response.voided() + 1);
        auto& [unit, periods] = touched[meta.unit_id()];
        unit = UnitOf(meta);
        periods.merge(UnitPeriodsOf(*ledger, meta.unit_id()));
        break;
      }
      if (outcome == AggregateStore::VoidOutcome::kAlreadyVoided) {
        response.set_already_voided(response.already_voided() + 1);
        break;
      }
      if (outcome == AggregateStore::VoidOutcome::kMissing) break;
      if (attempt + 1 >= kVoidAttempts) {
        return absl::AbortedError(absl::StrCat(named[i].field, ": the input kept changing while ",
                                               "being voided; retry the call"));
      }
      SIMPUL_ASSIGN_OR_RETURN(std::vector<std::optional<Ledger>> again,
                              store_.ReadLedgers({named[i].key}));
      ledger = std::move(again.front());
    }
  }
  for (const auto& [unit_id, touched_unit] : touched) {
    SIMPUL_RETURN_IF_ERROR(
        RefreshRanks(touched_unit.first, touched_unit.second, /*remove_empty=*/true));
  }
  response.set_remaining(remaining + static_cast<int>(unread));
  return response;
}

absl::StatusOr<v1::ListVoidsResponse> MonitoringDesk::ListVoids(const Identity& caller,
                                                                const v1::ListVoidsRequest& req) {
  if (caller.is_public()) return absl::UnauthenticatedError("the void log needs credentials");
  FieldViolations v;
  CheckSlug(v, "agency_id", req.agency_id());
  if (req.page_size() < 0 || req.page_size() > 100) {
    v.Add("page_size", absl::StrCat("must be 1..100 (0: 50), got ", req.page_size()));
  }
  const std::string query = absl::StrCat("voids|", req.agency_id());
  absl::StatusOr<std::string> after = DecodePageToken("page_token", req.page_token(), query);
  int64_t offset = 0;
  if (!v.AddFrom(after.status())) return after.status();
  if (after.ok() && !after->empty() && (!absl::SimpleAtoi(*after, &offset) || offset < 0)) {
    v.Add("page_token", "malformed");
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  if (!caller.is_platform_admin() && !caller.IsAgencyMember(req.agency_id())) {
    return absl::PermissionDeniedError(absl::StrCat("the void log of agency ", req.agency_id(),
                                                    " is readable only by that agency"));
  }
  const int size = req.page_size() == 0 ? 50 : req.page_size();
  // One more than the page tells whether there is a next one.
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> records,
                          store_.ReadLog(VoidLogName(req.agency_id()), offset, size + 1));
  v1::ListVoidsResponse response;
  for (int i = 0; i < static_cast<int>(records.size()) && i < size; ++i) {
    if (!response.add_voids()->ParseFromString(records[i])) {
      return absl::InternalError(
          absl::StrCat("the void log of agency ", req.agency_id(), " holds a malformed record"));
    }
  }
  if (static_cast<int>(records.size()) > size) {
    response.set_next_page_token(EncodePageToken(query, absl::StrCat(offset + size)));
  }
  return response;
}

}  // namespace simpul::monitoring
