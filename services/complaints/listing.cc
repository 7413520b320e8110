// The desk's reads: a complainant tracking a case, one case, its history, and the lists (an
// agency's inbox, the coordinators' views, the public list) with filters and page tokens.
#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/field_rules.h"
#include "common/page_token.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "services/complaints/access.h"
#include "services/complaints/complaints.h"
#include "services/complaints/deadlines.h"
#include "services/complaints/geo.h"
#include "services/complaints/validation.h"

namespace simpul::complaints {
namespace {

constexpr int kDefaultPageSize = 50;
// A list stops scanning this long before the caller's deadline (at most a quarter of the time
// the caller gave), so the page it found still reaches the caller in time.
constexpr absl::Duration kDeadlineMargin = absl::Milliseconds(250);

// ScanStopTime is when a list that started at `start` stops scanning to meet `deadline`.
absl::Time ScanStopTime(absl::Time start, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return deadline;
  return deadline - std::min(kDeadlineMargin, std::max(absl::ZeroDuration(), deadline - start) / 4);
}

// FiledRange is the filing-time range a list covers, in milliseconds, both ends open.
struct FiledRange {
  int64_t from_ms = std::numeric_limits<int64_t>::min();
  int64_t to_ms = std::numeric_limits<int64_t>::max();
};

FiledRange FiledRangeOf(const v1::ListComplaintsRequest& req) {
  FiledRange range;
  if (req.has_filed_after()) range.from_ms = ToMillis(req.filed_after());
  if (req.has_filed_before()) range.to_ms = ToMillis(req.filed_before());
  return range;
}

// ValidateList checks the page size and the filters of a list request.
absl::Status ValidateList(const v1::ListComplaintsRequest& req) {
  FieldViolations v;
  ValidatePageSize(v, "page.page_size", req.page().page_size());
  if (!req.agency_id().empty()) CheckSlug(v, "agency_id", req.agency_id());
  if (!req.unit_id().empty()) CheckSlug(v, "unit_id", req.unit_id());
  for (int i = 0; i < req.states_size(); ++i) {
    if (req.states(i) == v1::STATE_UNSPECIFIED || !v1::State_IsValid(req.states(i))) {
      v.Add(absl::StrCat("states[", i, "]"), absl::StrCat("unknown state ", req.states(i)));
    }
  }
  for (int i = 0; i < req.channels_size(); ++i) {
    if (req.channels(i) == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(req.channels(i))) {
      v.Add(absl::StrCat("channels[", i, "]"), absl::StrCat("unknown channel ", req.channels(i)));
    }
  }
  const FiledRange range = FiledRangeOf(req);
  if (req.has_filed_after() && req.has_filed_before() && range.from_ms >= range.to_ms) {
    v.Add("filed_before", "must be after filed_after");
  }
  if (!req.service_id().empty()) CheckSlug(v, "service_id", req.service_id());
  if (req.has_updated_since()) {
    const auto& t = req.updated_since();
    if (t.nanos() < 0 || t.nanos() > 999999999 || t.seconds() < 0 || t.seconds() > 253402300799) {
      v.Add("updated_since", "must be a valid instant after 1970-01-01T00:00:00Z");
    }
  }
  ValidateArea(v, req);
  if (req.unrouted() && (!req.agency_id().empty() || !req.unit_id().empty())) {
    v.Add("unrouted", "unrouted cases have no agency or unit; leave agency_id and unit_id empty");
  }
  return v.ToStatus(req.GetDescriptor()->name());
}

// ListedAgency checks that the caller may list what `req` asks (agency staff their own
// agency's cases, coordinators every case, public-view callers the public list; only
// coordinators the unrouted cases) and returns the agency the list is narrowed to (agency
// staff: their own by default).
absl::StatusOr<std::string> ListedAgency(const Identity& caller,
                                         const v1::ListComplaintsRequest& req, bool is_public) {
  const auto role = caller.principal.role();
  std::string agency = req.agency_id();
  if (role == common::v1::ROLE_AGENCY_ADMIN || role == common::v1::ROLE_AGENCY_OPERATOR) {
    if (agency.empty()) agency = caller.principal.agency_id();
    if (agency != caller.principal.agency_id()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the caller acts for agency ", caller.principal.agency_id(), ", not ", agency));
    }
    if (req.unrouted()) {
      return absl::PermissionDeniedError("only coordinators list unrouted complaints");
    }
  } else if (is_public && req.unrouted()) {
    return caller.is_public()
               ? absl::UnauthenticatedError("only coordinators list unrouted complaints")
               : absl::PermissionDeniedError("only coordinators list unrouted complaints");
  } else if (!is_public && !IsCoordinator(caller)) {
    return absl::PermissionDeniedError("this role may not list complaints");
  }
  return agency;
}

// ListIndex is the narrowest index that holds every case the list may return; with
// updated_since, the updated index (Matches then applies every other scope).
std::string ListIndex(const v1::ListComplaintsRequest& req, bool is_public,
                      const std::string& agency, v1::State single_state) {
  if (req.has_updated_since()) return UpdatedIndex();
  if (is_public) return PublicIndex();
  if (req.unrouted()) return UnroutedIndex();
  if (!req.unit_id().empty()) {
    return single_state ? UnitStateIndex(req.unit_id(), single_state) : UnitIndex(req.unit_id());
  }
  if (!agency.empty()) {
    return single_state ? AgencyStateIndex(agency, single_state) : AgencyIndex(agency);
  }
  return single_state ? StateIndex(single_state) : AllIndex();
}

// PagePosition is the index position the page token continues after (nullopt: the first
// page); the token must have been issued for `query`.
absl::StatusOr<std::optional<IndexPosition>> PagePosition(const v1::ListComplaintsRequest& req,
                                                          const std::string& query) {
  SIMPUL_ASSIGN_OR_RETURN(std::string after_raw,
                          DecodePageToken("page.page_token", req.page().page_token(), query));
  if (after_raw.empty()) return std::nullopt;
  size_t bar = after_raw.find('|');
  IndexPosition pos;
  if (bar == std::string::npos || !absl::SimpleAtoi(after_raw.substr(0, bar), &pos.file_time_ms)) {
    return InvalidField("page.page_token", "not a page token returned by this API");
  }
  pos.id = after_raw.substr(bar + 1);
  return pos;
}

// Matches: `c` passes every filter of the request at `now` (the index applies some of them).
bool Matches(const v1::ListComplaintsRequest& req, const std::string& agency,
             v1::State single_state, const v1::Complaint& c, absl::Time now, bool is_public,
             const std::optional<GeoArea>& area) {
  if (area && !Contains(*area, c.location())) return false;  // the index search is wider
  if (req.has_updated_since() || area) {
    // The updated index and the geo indexes are wider than the list's scope: apply the scope
    // the other indexes stand for.
    if (req.has_updated_since() && absl::ToUnixNanos(FromProto(c.update_time())) <
                                       absl::ToUnixNanos(FromProto(req.updated_since()))) {
      return false;  // same millisecond, earlier instant
    }
    if (is_public && !IsPubliclyListed(c)) return false;
    if (req.unrouted() && !(c.agency_id().empty() && c.state() == v1::STATE_RECEIVED)) {
      return false;
    }
    const int64_t filed_ms = ToMillis(c.file_time());
    if (req.has_filed_after() && filed_ms < ToMillis(req.filed_after())) return false;
    if (req.has_filed_before() && filed_ms >= ToMillis(req.filed_before())) return false;
  }
  if (req.states_size() > 1 &&
      std::find(req.states().begin(), req.states().end(), c.state()) == req.states().end()) {
    return false;
  }
  if (req.channels_size() > 0 && std::find(req.channels().begin(), req.channels().end(),
                                           c.channel()) == req.channels().end()) {
    return false;
  }
  if (single_state != v1::STATE_UNSPECIFIED && c.state() != single_state) return false;
  if (req.overdue_only() && !IsOverdue(c, now)) return false;
  if (!agency.empty() && c.agency_id() != agency) return false;
  if (!req.unit_id().empty() && c.unit_id() != req.unit_id()) return false;
  if (!req.service_id().empty() && c.service_id() != req.service_id()) return false;
  return true;
}

}  // namespace

absl::StatusOr<v1::TrackComplaintResponse> ComplaintDesk::TrackComplaint(
    const Identity& caller, const v1::TrackComplaintRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(v1::ComplaintRecord record,
                          LoadForComplainant(req.tracking_code(), req.secret()));
  SIMPUL_ASSIGN_OR_RETURN(auto history, store_.History(record.complaint().id()));
  v1::TrackComplaintResponse response;
  *response.mutable_complaint() = PublicView(record.complaint(), clock_.Now());
  for (auto& entry : history) {
    entry.clear_actor();  // internal key and account names stay internal
    *response.add_history() = std::move(entry);
  }
  return response;
}

absl::StatusOr<v1::GetComplaintResponse> ComplaintDesk::GetComplaint(
    const Identity& caller, const v1::GetComplaintRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(std::string id, ParseId("id", req.id()));
  SIMPUL_ASSIGN_OR_RETURN(auto record, store_.Get(id));
  if (!record) return absl::NotFoundError(absl::StrCat("no complaint with tracking code ", id));
  const v1::Complaint& c = record->complaint();
  v1::GetComplaintResponse response;
  if (SeesPublicView(caller)) {
    // What the public list shows, one case at a time (Open311's GET requests/{id}). Of a
    // case not publicly listed the public learns only that it exists and its state (who
    // holds the tracking code may know that much: "received, awaiting verification"); the
    // channel it was filed through sees its public view.
    if (!IsPubliclyListed(c) && !FiledThrough(caller, c)) {
      v1::PublicComplaint* minimal = response.mutable_public_complaint();
      minimal->set_id(c.id());
      minimal->set_state(c.state());
      minimal->set_unlisted(true);
      return response;
    }
    *response.mutable_public_complaint() = PublicView(c, clock_.Now());
    return response;
  }
  SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, /*coordinator_too=*/true));
  *response.mutable_complaint() = FullViewFor(caller, c, clock_.Now());
  return response;
}

absl::StatusOr<v1::GetComplaintHistoryResponse> ComplaintDesk::GetComplaintHistory(
    const Identity& caller, const v1::GetComplaintHistoryRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(std::string id, ParseId("id", req.id()));
  SIMPUL_ASSIGN_OR_RETURN(auto record, store_.Get(id));
  if (!record) return absl::NotFoundError(absl::StrCat("no complaint with tracking code ", id));
  SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, record->complaint(), /*coordinator_too=*/true));
  SIMPUL_ASSIGN_OR_RETURN(auto history, store_.History(id));
  v1::GetComplaintHistoryResponse response;
  for (auto& entry : history) *response.add_entries() = std::move(entry);
  return response;
}

absl::StatusOr<v1::ListComplaintsResponse> ComplaintDesk::ListComplaints(
    const Identity& caller, const v1::ListComplaintsRequest& req, const CallBounds& bounds) {
  SIMPUL_RETURN_IF_ERROR(ValidateList(req));
  const bool is_public = SeesPublicView(caller);
  SIMPUL_ASSIGN_OR_RETURN(const std::string agency, ListedAgency(caller, req, is_public));
  const v1::State single_state = req.states_size() == 1 ? req.states(0) : v1::STATE_UNSPECIFIED;
  // Where: the geo index of the caller's scope finds the cases in the area, ordered as the
  // list is (by filing or, with updated_since, update time); Matches applies the rest.
  const std::optional<GeoArea> area = AreaOf(req);
  const std::string index =
      area ? GeoListIndex(is_public, agency) : ListIndex(req, is_public, agency, single_state);
  const std::string order_index = req.has_updated_since() ? UpdatedIndex() : AllIndex();
  if (area && options_.geo_index_ready && !options_.geo_index_ready()) {
    return absl::UnavailableError(
        "the index of cases by location is being filled after an upgrade; retry in a few "
        "seconds");
  }
  if (req.has_updated_since() && options_.updated_index_ready && !options_.updated_index_ready()) {
    return absl::UnavailableError(
        "the index of cases by update time is being filled after an upgrade; retry in a few "
        "seconds");
  }

  v1::ListComplaintsRequest canonical = req;
  canonical.clear_page();
  const std::string query =
      absl::StrCat(caller.principal.agency_id(), "|", index, "|", DeterministicBytes(canonical));
  SIMPUL_ASSIGN_OR_RETURN(std::optional<IndexPosition> after, PagePosition(req, query));
  FiledRange range = FiledRangeOf(req);
  if (req.has_updated_since()) {
    // The updated index is scored by update time: from updated_since on (filed_* in Matches).
    range = FiledRange{};
    range.from_ms = ToMillis(req.updated_since());
  }
  const absl::Time now = clock_.Now();

  const int size = req.page().page_size() == 0 ? kDefaultPageSize : req.page().page_size();
  const int budget = std::max(1, options_.list_scan_budget);
  const absl::Time stop_at = ScanStopTime(now, bounds.deadline);
  std::vector<IndexedRecord> kept;
  std::optional<IndexPosition> scanned_to;
  bool exhausted = false;
  int scanned = 0;
  // Batches until the page is full, the index window ends, the budget is spent or the deadline
  // draws near; the first batch always runs, so every call moves forward.
  while (static_cast<int>(kept.size()) <= size && scanned < budget) {
    if (bounds.cancelled && bounds.cancelled()) {
      return absl::CancelledError("the caller cancelled the list");
    }
    if (scanned > 0 && clock_.Now() >= stop_at) break;
    const int batch = std::min(std::max(size + 1, 100), budget - scanned);
    SIMPUL_ASSIGN_OR_RETURN(
        auto items,
        area ? store_.ScanArea(index, *area, order_index, range.from_ms, range.to_ms, after, batch)
             : store_.Scan(index, range.from_ms, range.to_ms, after, batch));
    for (auto& item : items) {
      ++scanned;
      after = item.position;
      if (Matches(req, agency, single_state, item.record.complaint(), now, is_public, area)) {
        kept.push_back(std::move(item));
        if (static_cast<int>(kept.size()) > size) break;
      }
      scanned_to = after;
    }
    if (static_cast<int>(items.size()) < batch) {
      exhausted = true;
      break;
    }
  }

  v1::ListComplaintsResponse response;
  std::optional<IndexPosition> next_position;
  if (static_cast<int>(kept.size()) > size) {
    kept.resize(size);
    next_position = kept.back().position;
  } else if (!exhausted && scanned_to) {
    // The budget ran out or the deadline drew near: continue from where the scan stopped.
    next_position = scanned_to;
  }
  for (const auto& item : kept) {
    if (is_public) {
      *response.add_public_complaints() = PublicView(item.record.complaint(), now);
    } else {
      *response.add_complaints() = FullViewFor(caller, item.record.complaint(), now);
    }
  }
  if (next_position) {
    response.set_next_page_token(
        EncodePageToken(query, absl::StrCat(next_position->file_time_ms, "|", next_position->id)));
  }
  return response;
}

}  // namespace simpul::complaints
