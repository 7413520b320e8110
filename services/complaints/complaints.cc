#include "services/complaints/complaints.h"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "common/field_rules.h"
#include "common/logging.h"
#include "common/page_token.h"
#include "common/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/complaints/tracking.h"

namespace simpul::complaints {
namespace {

using common::v1::TimeZone;

constexpr int kDefaultPageSize = 50;
// A listing reads at most this many index entries per call; a sparse filter may then return
// a short page with a token to continue.
constexpr int kMaxScannedPerList = 5000;
constexpr size_t kMaxAttachments = 10;

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return ts;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

int64_t ToMillis(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1000000;
}

TimeZone ZoneOf(const v1::Complaint& c) {
  return c.time_zone() == common::v1::TIME_ZONE_UNSPECIFIED ? common::v1::TIME_ZONE_WIB
                                                            : c.time_zone();
}

size_t Utf8Length(absl::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// CheckChars is CheckText counting characters (UTF-8 code points) instead of bytes.
void CheckChars(FieldViolations& v, const std::string& field, absl::string_view text, size_t min,
                size_t max) {
  size_t n = Utf8Length(text);
  if (n < min) {
    v.Add(field, min == 1 ? "required" : absl::StrCat("at least ", min, " characters"));
  } else if (n > max) {
    v.Add(field, absl::StrCat("at most ", max, " characters, got ", n));
  } else {
    CheckText(v, field, text, 0, text.size());
  }
}

bool IsIdempotencyKeyChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
         c == '.';
}

void CheckPhone(FieldViolations& v, const std::string& field, absl::string_view phone) {
  if (phone.empty()) return;
  if (phone.size() > 32) {
    v.Add(field, absl::StrCat("at most 32 characters, got ", phone.size()));
    return;
  }
  int digits = 0;
  for (char c : phone) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')') {
      v.Add(field, "only digits, spaces and + - ( ) are allowed");
      return;
    }
  }
  if (digits < 5) v.Add(field, "needs at least 5 digits");
}

void CheckEmail(FieldViolations& v, const std::string& field, absl::string_view email) {
  if (email.empty()) return;
  size_t at = email.find('@');
  if (email.size() > 254 || at == absl::string_view::npos || at == 0 || at + 1 == email.size() ||
      email.find(' ') != absl::string_view::npos) {
    v.Add(field, "not an e-mail address");
  }
}

void CheckLocation(FieldViolations& v, const v1::Location& loc) {
  CheckText(v, "location.address", loc.address(), 0, 500);
  if (!loc.region_code().empty() && !IsValidRegionCode(loc.region_code())) {
    v.Add(
        "location.region_code",
        absl::StrCat("\"", loc.region_code().substr(0, 40),
                     "\" is not a Kemendagri region code (PP, PP.KK, PP.KK.CC or PP.KK.CC.DDDD)"));
  }
  if (!(loc.latitude() >= -90 && loc.latitude() <= 90)) {
    v.Add("location.latitude", "must be within -90..90");
  }
  if (!(loc.longitude() >= -180 && loc.longitude() <= 180)) {
    v.Add("location.longitude", "must be within -180..180");
  }
}

void CheckAttachments(FieldViolations& v,
                      const google::protobuf::RepeatedPtrField<v1::Attachment>& attachments) {
  if (static_cast<size_t>(attachments.size()) > kMaxAttachments) {
    v.Add("attachments", absl::StrCat("at most ", kMaxAttachments, ", got ", attachments.size()));
    return;
  }
  for (int i = 0; i < attachments.size(); ++i) {
    const auto& a = attachments[i];
    std::string path = absl::StrCat("attachments[", i, "].");
    CheckText(v, path + "uri", a.uri(), 1, 1000);
    size_t colon = a.uri().find(':');
    if (!a.uri().empty() && (colon == std::string::npos || colon == 0)) {
      v.Add(path + "uri", "must be an absolute URI such as https://...");
    }
    CheckText(v, path + "media_type", a.media_type(), 0, 100);
    CheckText(v, path + "description", a.description(), 0, 200);
  }
}

bool HasIdentity(const v1::Complainant& c) {
  return !c.name().empty() || !c.phone().empty() || !c.email().empty() || !c.address().empty();
}

// Tighter is the order PUBLIC < SECRET < ANONYMOUS.
int Strictness(v1::Confidentiality c) {
  switch (c) {
    case v1::CONFIDENTIALITY_PUBLIC:
      return 1;
    case v1::CONFIDENTIALITY_SECRET:
      return 2;
    case v1::CONFIDENTIALITY_ANONYMOUS:
      return 3;
    default:
      return 0;
  }
}

bool IsCoordinator(const Identity& caller) { return caller.is_platform_admin(); }

// SeesPublicView: callers that read cases as the public does (the public list and the public
// view of a listed case): anonymous callers, complaint channels and dashboards.
bool SeesPublicView(const Identity& caller) {
  return caller.is_public() || caller.principal.role() == common::v1::ROLE_CHANNEL ||
         caller.principal.role() == common::v1::ROLE_DASHBOARD;
}

// FiledThrough: `caller` is the complaint channel the case was filed through (it may follow
// the case in the public view before the case is publicly listed).
bool FiledThrough(const Identity& caller, const v1::Complaint& c) {
  const auto& p = caller.principal;
  if (p.role() != common::v1::ROLE_CHANNEL) return false;
  return c.channel_name() == (p.channel().empty() ? p.subject() : p.channel());
}

bool IsHandler(const Identity& caller, const v1::Complaint& c) {
  return !c.agency_id().empty() && caller.IsAgencyMember(c.agency_id());
}

bool CanSeeIdentity(const Identity& caller, const v1::Complaint& c) {
  switch (c.confidentiality()) {
    case v1::CONFIDENTIALITY_PUBLIC:
      return IsHandler(caller, c) || IsCoordinator(caller);
    case v1::CONFIDENTIALITY_SECRET:
      return IsHandler(caller, c);
    default:
      return false;
  }
}

absl::Status NotHandler(const Identity& caller, const v1::Complaint& c) {
  if (caller.is_public()) {
    return absl::UnauthenticatedError(
        "this action needs the handling agency's credentials; complainants use the tracking "
        "code and secret");
  }
  if (c.agency_id().empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "complaint ", c.id(), " is not routed to an agency yet; only a coordinator may act"));
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "complaint ", c.id(), " is handled by agency ", c.agency_id(), "; the caller acts for ",
      caller.principal.agency_id().empty() ? "no agency" : caller.principal.agency_id()));
}

// RequireHandler allows the handling agency, and coordinators when `coordinator_too`.
absl::Status RequireHandler(const Identity& caller, const v1::Complaint& c, bool coordinator_too) {
  if (IsHandler(caller, c) || (coordinator_too && IsCoordinator(caller))) return absl::OkStatus();
  return NotHandler(caller, c);
}

// RequireHandlerOrCoordinatorIfUnrouted: the handling agency; a coordinator while no agency
// handles the case.
absl::Status RequireHandlerOrUnroutedCoordinator(const Identity& caller, const v1::Complaint& c) {
  return RequireHandler(caller, c, c.agency_id().empty());
}

absl::Status RequireState(const v1::Complaint& c, std::string_view action,
                          std::initializer_list<v1::State> allowed) {
  if (std::find(allowed.begin(), allowed.end(), c.state()) != allowed.end()) {
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (v1::State s : allowed) names.push_back(StateName(s));
  return absl::FailedPreconditionError(absl::StrCat(AbslView(action), " is allowed in state ",
                                                    absl::StrJoin(names, " or "), "; complaint ",
                                                    c.id(), " is ", StateName(c.state())));
}

absl::StatusOr<std::string> ParseId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return InvalidField(std::string(field), "required");
  std::optional<std::string> code = NormalizeTrackingCode(StdView(id));
  if (!code) {
    return InvalidField(std::string(field),
                        "not a tracking code: expected 10 letters and digits such as 7KQ2M-XW9DT");
  }
  return *code;
}

std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

// NextDue sets deadlines.next to the deadline the scanner acts on in the case's state.
void SetNextDeadline(v1::Complaint& c) {
  auto* d = c.mutable_deadlines();
  d->clear_next();
  std::optional<google::protobuf::Timestamp> next;
  auto consider = [&next](bool has, const google::protobuf::Timestamp& t) {
    if (has && (!next || ToMillis(t) < ToMillis(*next))) next = t;
  };
  switch (c.state()) {
    case v1::STATE_RECEIVED:
      consider(d->has_verify_by(), d->verify_by());
      break;
    case v1::STATE_ON_HOLD:
      consider(d->has_auto_archive_at(), d->auto_archive_at());
      break;
    case v1::STATE_VERIFIED:
    case v1::STATE_FORWARDED:
      consider(d->has_dispose_by(), d->dispose_by());
      break;
    case v1::STATE_DISPOSED:
    case v1::STATE_IN_PROGRESS:
      consider(d->has_respond_by(), d->respond_by());
      consider(d->has_resolve_by(), d->resolve_by());
      break;
    case v1::STATE_RESPONDED:
      consider(d->has_auto_complete_at(), d->auto_complete_at());
      break;
    default:
      break;
  }
  if (next) *d->mutable_next() = *next;
}

bool Passed(bool has, const google::protobuf::Timestamp& deadline, absl::Time now) {
  return has && absl::ToUnixSeconds(now) > deadline.seconds();
}

void SetActor(const Identity& caller, v1::HistoryEntry& entry) {
  const auto& p = caller.principal;
  entry.set_actor(caller.subject());
  switch (p.role()) {
    case common::v1::ROLE_AGENCY_ADMIN:
    case common::v1::ROLE_AGENCY_OPERATOR:
      entry.set_actor_kind(v1::ACTOR_KIND_AGENCY);
      entry.set_actor_agency_id(p.agency_id());
      break;
    case common::v1::ROLE_PLATFORM_ADMIN:
      entry.set_actor_kind(v1::ACTOR_KIND_COORDINATOR);
      break;
    case common::v1::ROLE_CHANNEL:
      entry.set_actor_kind(v1::ACTOR_KIND_CHANNEL);
      break;
    default:
      entry.set_actor_kind(v1::ACTOR_KIND_COMPLAINANT);
      break;
  }
}

v1::ComplaintEvent MakeEvent(const v1::Complaint& c, const v1::HistoryEntry& entry,
                             bool deadline_missed, const std::string& previous_agency,
                             const std::string& previous_unit) {
  v1::ComplaintEvent e;
  e.set_event_id(absl::StrCat(c.id(), "/", entry.sequence()));
  e.set_payload_version(1);
  e.set_complaint_id(c.id());
  e.set_sequence(entry.sequence());
  e.set_action(entry.action());
  *e.mutable_time() = entry.time();
  e.set_from_state(entry.from_state());
  e.set_to_state(entry.to_state());
  e.set_report_type(c.report_type());
  e.set_channel(c.channel());
  e.set_agency_id(c.agency_id());
  e.set_unit_id(c.unit_id());
  e.set_service_id(c.service_id());
  e.set_region_code(c.location().region_code());
  *e.mutable_file_time() = c.file_time();
  *e.mutable_deadlines() = c.deadlines();
  e.set_rating(entry.rating());
  e.set_deadline_missed(deadline_missed);
  e.set_archive_reason(c.archive_reason());
  if (previous_agency != c.agency_id() || previous_unit != c.unit_id()) {
    e.set_holder_changed(true);
    e.set_previous_agency_id(previous_agency);
    e.set_previous_unit_id(previous_unit);
  }
  e.set_time_zone(ZoneOf(c));
  return e;
}

// ApplyRoute sets where a case goes and on what terms.
void ApplyRoute(v1::Complaint& c, const Route& route) {
  c.set_agency_id(route.agency_id);
  c.set_unit_id(route.unit_id);
  c.set_time_zone(route.time_zone);
  if (!route.service_id.empty()) c.set_service_id(route.service_id);
  c.set_standard_version_id(route.standard_version_id);
  c.set_response_working_days(route.response_working_days);
  c.clear_routing_note();
}

bool RegistryUnreachable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

// RouteError turns a router failure for a caller-given id into the caller's error.
absl::Status RouteError(const absl::Status& s, const std::string& field, absl::string_view id) {
  if (s.code() == absl::StatusCode::kNotFound) {
    return InvalidField(
        field, absl::StrCat("the registry has no such ",
                            field == "unit_id" || field == "to_unit_id" ? "unit" : "service", " \"",
                            id, "\""));
  }
  if (RegistryUnreachable(s)) {
    return absl::UnavailableError(
        absl::StrCat("the registry cannot be reached to resolve ", field, "; retry shortly"));
  }
  return s;
}

}  // namespace

std::string StateName(v1::State state) {
  const std::string& name = v1::State_Name(state);
  return name.empty() ? absl::StrCat(static_cast<int>(state)) : name.substr(6);
}

ComplaintDesk::ComplaintDesk(ComplaintStore& store, Router& router,
                             const CalendarRegistry& calendars, const Clock& clock,
                             ComplaintOptions options)
    : store_(store), router_(router), calendars_(calendars), clock_(clock), options_(options) {}

absl::StatusOr<Deadline> ComplaintDesk::WorkingDaysFrom(absl::Time from, int days,
                                                        TimeZone zone) const {
  auto calendar = calendars_.Current();
  SIMPUL_ASSIGN_OR_RETURN(Deadline d, calendar->AddWorkingDays(from, days, zone));
  if (!d.complete()) {
    Log(LogLevel::kWarn, "deadline computed without holiday data for some years",
        {{"years", absl::StrJoin(d.years_without_data, ",")}});
  }
  return d;
}

absl::StatusOr<Deadline> ComplaintDesk::CalendarDaysFrom(absl::Time from, int days,
                                                         TimeZone zone) const {
  return calendars_.Current()->AddCalendarDays(from, days, zone);
}

v1::Complaint ComplaintDesk::FullView(const Identity& caller, const v1::Complaint& c,
                                      absl::Time now) const {
  v1::Complaint out = c;
  if (!CanSeeIdentity(caller, c)) {
    out.set_identity_withheld(HasIdentity(c.complainant()));
    out.clear_complainant();
  }
  out.set_overdue(Passed(c.deadlines().has_next(), c.deadlines().next(), now));
  return out;
}

v1::PublicComplaint ComplaintDesk::PublicView(const v1::Complaint& c, absl::Time now) const {
  v1::PublicComplaint p;
  p.set_id(c.id());
  p.set_report_type(c.report_type());
  p.set_channel(c.channel());
  p.set_state(c.state());
  p.set_confidentiality(c.confidentiality());
  p.set_title(c.title());
  p.set_description(c.description());
  if (c.has_location()) *p.mutable_location() = c.location();
  if (c.confidentiality() == v1::CONFIDENTIALITY_PUBLIC) {
    p.set_complainant_name(c.complainant().name());
  }
  p.set_agency_id(c.agency_id());
  p.set_unit_id(c.unit_id());
  p.set_service_id(c.service_id());
  *p.mutable_deadlines() = c.deadlines();
  p.set_overdue(Passed(c.deadlines().has_next(), c.deadlines().next(), now));
  p.set_rating(c.rating());
  *p.mutable_file_time() = c.file_time();
  *p.mutable_update_time() = c.update_time();
  p.set_archive_reason(c.archive_reason());
  return p;
}

// ---------------------------------------------------------------------------------------
// Filing

absl::StatusOr<v1::FileComplaintResponse> ComplaintDesk::FileComplaint(
    const Identity& caller, const v1::FileComplaintRequest& req) {
  const absl::Time now = clock_.Now();
  FieldViolations v;
  const std::string& key = req.idempotency_key();
  if (key.size() < 8 || key.size() > 128 ||
      !std::all_of(key.begin(), key.end(), IsIdempotencyKeyChar)) {
    v.Add("idempotency_key",
          key.empty() ? "required: a channel-chosen key, the same on every retry of one filing"
                      : "8..128 characters of A-Z a-z 0-9 - _ : .");
  }
  if (req.report_type() == v1::REPORT_TYPE_UNSPECIFIED ||
      !v1::ReportType_IsValid(req.report_type())) {
    v.Add("report_type", absl::StrCat("must be COMPLAINT, ASPIRATION or INFORMATION_REQUEST, got ",
                                      req.report_type()));
  }
  if (req.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(req.channel())) {
    v.Add("channel",
          absl::StrCat("must name the channel the complaint arrived through, got ", req.channel()));
  }
  if (req.service_id().empty() && req.target_text().empty()) {
    v.Add("service_id", "either service_id or target_text is required");
  }
  if (!req.service_id().empty()) CheckSlug(v, "service_id", req.service_id());
  CheckChars(v, "target_text", req.target_text(), 0, 500);
  CheckChars(v, "title", req.title(), 0, 200);
  CheckChars(v, "description", req.description(), 1, 4000);
  CheckChars(v, "remedy_requested", req.remedy_requested(), 0, 1000);
  CheckLocation(v, req.location());
  CheckAttachments(v, req.attachments());
  CheckChars(v, "complainant.name", req.complainant().name(), 0, 200);
  CheckPhone(v, "complainant.phone", req.complainant().phone());
  CheckEmail(v, "complainant.email", req.complainant().email());
  CheckChars(v, "complainant.address", req.complainant().address(), 0, 500);
  if (!v1::Confidentiality_IsValid(req.confidentiality())) {
    v.Add("confidentiality", absl::StrCat("unknown value ", req.confidentiality()));
  }
  if (req.has_service_date()) {
    // The complainant's local date is not known before routing: judge leniently, with the
    // latest date in Indonesia (WIT) for "not in the future" and the earliest (WIB) for the
    // filing window, so that no complainant is refused for their time zone.
    const absl::CivilDay latest_today = absl::ToCivilDay(now, absl::FixedTimeZone(9 * 3600));
    const absl::CivilDay earliest_today = absl::ToCivilDay(now, absl::FixedTimeZone(7 * 3600));
    const int before = v.proto().field_violations_size();
    CheckDate(v, "service_date", req.service_date(), false, &latest_today);
    if (v.proto().field_violations_size() == before) {  // a valid date, not in the future
      absl::CivilDay day = ToCivilDay(req.service_date());
      if (earliest_today - day > options_.filing_window_days) {
        v.Add("service_date",
              absl::StrCat("a complaint must be filed within ", options_.filing_window_days,
                           " days of receiving the service; it was received on ",
                           absl::FormatCivilTime(day)));
      }
    }
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));

  const auto& p = caller.principal;
  std::string channel_name;
  v1::ActorKind actor_kind = v1::ACTOR_KIND_COMPLAINANT;
  switch (p.role()) {
    case common::v1::ROLE_UNSPECIFIED:
      if (req.channel() != v1::CHANNEL_WEB && req.channel() != v1::CHANNEL_MOBILE_APP) {
        return absl::PermissionDeniedError(
            "public callers file through channel WEB or MOBILE_APP; other channels need the "
            "channel's credentials");
      }
      channel_name = "public";
      break;
    case common::v1::ROLE_CHANNEL:
      channel_name = p.channel().empty() ? p.subject() : p.channel();
      actor_kind = v1::ACTOR_KIND_CHANNEL;
      break;
    case common::v1::ROLE_AGENCY_ADMIN:
    case common::v1::ROLE_AGENCY_OPERATOR:
      channel_name = absl::StrCat("agency:", p.agency_id());
      actor_kind = v1::ACTOR_KIND_AGENCY;
      break;
    case common::v1::ROLE_PLATFORM_ADMIN:
      channel_name = absl::StrCat("platform:", p.subject());
      actor_kind = v1::ACTOR_KIND_COORDINATOR;
      break;
    default:
      return absl::PermissionDeniedError("dashboards cannot file complaints");
  }

  const std::string fingerprint = Sha256(DeterministicBytes(req));
  auto replay =
      [&](const v1::IdempotencyRecord& record) -> absl::StatusOr<v1::FileComplaintResponse> {
    if (record.request_sha256() != fingerprint) {
      return InvalidField("idempotency_key",
                          "already used for a different complaint from this channel; use a new "
                          "key for a new complaint and the same key only to retry");
    }
    v1::FileComplaintResponse response = record.response();
    response.set_replayed(true);
    // The stored result holds no case view (it could carry a name the verifier has since
    // withheld): the retry sees the case as it is now.
    SIMPUL_ASSIGN_OR_RETURN(auto current, store_.Get(response.tracking_code()));
    if (current) *response.mutable_complaint() = PublicView(current->complaint(), clock_.Now());
    return response;
  };
  SIMPUL_ASSIGN_OR_RETURN(auto existing, store_.GetIdempotency(channel_name, key));
  if (existing) return replay(*existing);

  // Route before building the case; a registry that cannot answer leaves it for a coordinator.
  v1::Complaint c;
  if (!req.service_id().empty()) {
    absl::StatusOr<Route> route = router_.ResolveService(req.service_id());
    if (route.ok()) {
      ApplyRoute(c, *route);
    } else if (route.status().code() == absl::StatusCode::kNotFound) {
      return InvalidField("service_id",
                          absl::StrCat("the registry has no service \"", req.service_id(),
                                       "\"; check the id or file "
                                       "with target_text instead"));
    } else if (RegistryUnreachable(route.status())) {
      c.set_service_id(req.service_id());
      c.set_routing_note("the registry could not be reached at filing; route by hand");
    } else {
      return route.status();
    }
  } else {
    c.set_routing_note("filed without a service id; route from target_text");
  }

  c.set_report_type(req.report_type());
  c.set_channel(req.channel());
  c.set_channel_name(channel_name);
  c.set_state(v1::STATE_RECEIVED);
  c.set_title(req.title());
  c.set_description(req.description());
  c.set_remedy_requested(req.remedy_requested());
  if (req.has_location()) *c.mutable_location() = req.location();
  *c.mutable_attachments() = req.attachments();
  if (req.has_service_date()) *c.mutable_service_date() = req.service_date();
  c.set_target_text(req.target_text());
  v1::Confidentiality conf = req.confidentiality();
  if (conf == v1::CONFIDENTIALITY_UNSPECIFIED) {
    conf =
        HasIdentity(req.complainant()) ? v1::CONFIDENTIALITY_SECRET : v1::CONFIDENTIALITY_ANONYMOUS;
  }
  c.set_confidentiality(conf);
  if (conf != v1::CONFIDENTIALITY_ANONYMOUS) *c.mutable_complainant() = req.complainant();
  *c.mutable_file_time() = ToProto(now);
  *c.mutable_update_time() = ToProto(now);
  c.set_revision(1);
  SIMPUL_ASSIGN_OR_RETURN(Deadline verify, WorkingDaysFrom(now, options_.verify_working_days, ZoneOf(c)));
  *c.mutable_deadlines()->mutable_verify_by() = ToProto(verify.time);
  SetNextDeadline(c);

  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    const std::string secret = NewSecret();
    c.set_id(NewTrackingCode());
    CaseWrite w;
    *w.after.mutable_complaint() = c;
    w.after.set_secret_sha256(SecretHash(secret));
    w.after.set_last_sequence(1);
    w.entry.set_sequence(1);
    *w.entry.mutable_time() = ToProto(now);
    w.entry.set_action("FileComplaint");
    SetActor(caller, w.entry);
    w.entry.set_actor_kind(actor_kind);
    if (caller.is_public()) w.entry.set_actor("public");
    w.entry.set_to_state(v1::STATE_RECEIVED);
    w.event = MakeEvent(c, w.entry, false, c.agency_id(), c.unit_id());

    v1::FileComplaintResponse response;
    response.set_tracking_code(c.id());
    response.set_secret(secret);
    *response.mutable_complaint() = PublicView(c, now);
    IdempotencyClaim claim;
    claim.channel = channel_name;
    claim.key = key;
    claim.ttl = options_.idempotency_ttl;
    claim.record.set_request_sha256(fingerprint);
    *claim.record.mutable_response() = response;
    claim.record.mutable_response()->clear_complaint();  // no identity in the stored result
    w.idempotency = std::move(claim);

    SIMPUL_ASSIGN_OR_RETURN(CommitResult result, store_.Commit(w));
    switch (result.outcome) {
      case CommitResult::Outcome::kCommitted:
        Log(LogLevel::kInfo, "complaint filed",
            {{"id", c.id()},
             {"channel", v1::Channel_Name(c.channel())},
             {"agency", c.agency_id()},
             {"routed", !c.agency_id().empty()}});
        return response;
      case CommitResult::Outcome::kIdempotentReplay:
        return replay(result.replay);
      case CommitResult::Outcome::kConflict:
        continue;  // a tracking-code collision: draw another code
    }
  }
  return absl::InternalError("could not draw a free tracking code; retry");
}

// ---------------------------------------------------------------------------------------
// Acting on a case

absl::StatusOr<std::optional<v1::ComplaintRecord>> ComplaintDesk::Apply(
    const Identity& caller, const v1::ComplaintRecord& current, std::string_view action,
    const Mutation& mutation) {
  const absl::Time now = clock_.Now();
  CaseWrite w;
  w.before = current;
  w.after = current;
  v1::Complaint& next = *w.after.mutable_complaint();
  v1::HistoryEntry& entry = w.entry;
  *entry.mutable_time() = ToProto(now);
  entry.set_action(std::string(action));
  SetActor(caller, entry);
  entry.set_from_state(current.complaint().state());
  Step step{next, entry, false, now};
  SIMPUL_RETURN_IF_ERROR(mutation(current, step));

  const std::string previous_agency = current.complaint().agency_id();
  const std::string previous_unit = current.complaint().unit_id();
  next.set_revision(current.complaint().revision() + 1);
  *next.mutable_update_time() = ToProto(now);
  SetNextDeadline(next);
  const int sequence = current.last_sequence() + 1;
  w.after.set_last_sequence(sequence);
  entry.set_sequence(sequence);
  entry.set_to_state(next.state());
  w.event = MakeEvent(next, entry, step.deadline_missed, previous_agency, previous_unit);

  SIMPUL_ASSIGN_OR_RETURN(CommitResult result, store_.Commit(w));
  if (result.outcome != CommitResult::Outcome::kCommitted) return std::nullopt;
  return std::move(w.after);
}

absl::StatusOr<v1::ComplaintRecord> ComplaintDesk::Act(
    const Identity& caller, std::string_view id_field, std::string_view id,
    int64_t expected_revision, std::string_view action, const Mutation& mutation) {
  SIMPUL_ASSIGN_OR_RETURN(std::string code, ParseId(AbslView(id_field), AbslView(id)));
  if (expected_revision < 0) {
    return InvalidField("expected_revision", "must be 0 (no check) or a revision you read");
  }
  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(auto current, store_.Get(code));
    if (!current) {
      return absl::NotFoundError(absl::StrCat("no complaint with tracking code ", code));
    }
    if (expected_revision != 0 && current->complaint().revision() != expected_revision) {
      // Check the caller's right first, so a stranger learns nothing from the revision.
      v1::ComplaintRecord scratch = *current;
      v1::HistoryEntry scratch_entry;
      Step probe{*scratch.mutable_complaint(), scratch_entry, false, clock_.Now()};
      absl::Status allowed = mutation(*current, probe);
      if (allowed.code() == absl::StatusCode::kPermissionDenied ||
          allowed.code() == absl::StatusCode::kUnauthenticated) {
        return allowed;
      }
      return absl::AbortedError(absl::StrCat("complaint ", code, " is at revision ",
                                             current->complaint().revision(), ", not ",
                                             expected_revision, "; re-read it and retry"));
    }
    SIMPUL_ASSIGN_OR_RETURN(auto applied, Apply(caller, *current, action, mutation));
    if (applied) return *std::move(applied);
    if (expected_revision != 0) {
      return absl::AbortedError(absl::StrCat("complaint ", code, " changed at revision ",
                                             expected_revision, "; re-read it and retry"));
    }
  }
  return absl::AbortedError(
      absl::StrCat("complaint ", code, " is changing too often right now; retry shortly"));
}

absl::StatusOr<v1::ComplaintRecord> ComplaintDesk::LoadForComplainant(std::string_view code,
                                                                      std::string_view secret) {
  SIMPUL_ASSIGN_OR_RETURN(std::string id, ParseId("tracking_code", AbslView(code)));
  if (secret.empty()) return InvalidField("secret", "required");
  SIMPUL_ASSIGN_OR_RETURN(auto record, store_.Get(id));
  // A wrong secret looks exactly like an unknown code, so codes cannot be probed.
  if (!record || !SecretMatches(secret, record->secret_sha256())) {
    return absl::NotFoundError(
        absl::StrCat("no complaint with tracking code ", id, " and this secret"));
  }
  return *record;
}

absl::StatusOr<v1::ComplaintRecord> ComplaintDesk::ActAsComplainant(std::string_view code,
                                                                    std::string_view secret,
                                                                    std::string_view action,
                                                                    const Mutation& mutation) {
  SIMPUL_ASSIGN_OR_RETURN(v1::ComplaintRecord record, LoadForComplainant(code, secret));
  const Identity complainant = Identity::Public();
  auto as_complainant = [&mutation](const v1::ComplaintRecord& current, Step& step) {
    step.entry.set_actor_kind(v1::ACTOR_KIND_COMPLAINANT);
    step.entry.set_actor("complainant");
    return mutation(current, step);
  };
  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(auto applied, Apply(complainant, record, action, as_complainant));
    if (applied) return *std::move(applied);
    SIMPUL_ASSIGN_OR_RETURN(record, LoadForComplainant(code, secret));
  }
  return absl::AbortedError("the complaint is changing too often right now; retry shortly");
}

// ---------------------------------------------------------------------------------------
// Complainant actions

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

absl::StatusOr<v1::ReplyToComplaintResponse> ComplaintDesk::ReplyToComplaint(
    const Identity& caller, const v1::ReplyToComplaintRequest& req) {
  FieldViolations v;
  CheckChars(v, "message", req.message(), 1, 4000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      ActAsComplainant(
          req.tracking_code(), req.secret(), "ReplyToComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            if (c.state() == v1::STATE_COMPLETED || c.state() == v1::STATE_ARCHIVED) {
              return absl::FailedPreconditionError(
                  absl::StrCat("complaint ", c.id(), " is ", StateName(c.state()),
                               "; a closed case takes no replies",
                               c.state() == v1::STATE_COMPLETED ? " (use ReopenComplaint)" : ""));
            }
            s.entry.set_message(req.message());
            if (c.state() == v1::STATE_RESPONDED) {
              s.next.set_state(v1::STATE_IN_PROGRESS);
              SIMPUL_ASSIGN_OR_RETURN(Deadline d, WorkingDaysFrom(s.now,
                                                           c.response_working_days() > 0
                                                               ? c.response_working_days()
                                                               : options_.response_working_days,
                                                           ZoneOf(c)));
              *s.next.mutable_deadlines()->mutable_respond_by() = ToProto(d.time);
              s.next.mutable_deadlines()->clear_auto_complete_at();
            } else if (c.state() == v1::STATE_ON_HOLD) {
              // The file is complete now: verification starts again.
              s.next.set_state(v1::STATE_RECEIVED);
              SIMPUL_ASSIGN_OR_RETURN(Deadline d,
                               WorkingDaysFrom(s.now, options_.verify_working_days, ZoneOf(c)));
              *s.next.mutable_deadlines()->mutable_verify_by() = ToProto(d.time);
              s.next.mutable_deadlines()->clear_auto_archive_at();
            }
            return absl::OkStatus();
          }));
  return PublicResponse<v1::ReplyToComplaintResponse>(record);
}

absl::StatusOr<v1::RateComplaintResponse> ComplaintDesk::RateComplaint(
    const Identity& caller, const v1::RateComplaintRequest& req) {
  FieldViolations v;
  if (req.rating() < 1 || req.rating() > 5) {
    v.Add("rating", absl::StrCat("must be 1..5, got ", req.rating()));
  }
  CheckChars(v, "comment", req.comment(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      ActAsComplainant(req.tracking_code(), req.secret(), "RateComplaint",
                       [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
                         const v1::Complaint& c = current.complaint();
                         SIMPUL_RETURN_IF_ERROR(RequireState(c, "RateComplaint", {v1::STATE_COMPLETED}));
                         if (c.rating() != 0) {
                           return absl::FailedPreconditionError(
                               absl::StrCat("complaint ", c.id(), " is already rated ", c.rating(),
                                            " for this completion"));
                         }
                         s.next.set_rating(req.rating());
                         s.next.set_rating_comment(req.comment());
                         s.entry.set_rating(req.rating());
                         return absl::OkStatus();
                       }));
  return PublicResponse<v1::RateComplaintResponse>(record);
}

absl::StatusOr<v1::ReopenComplaintResponse> ComplaintDesk::ReopenComplaint(
    const Identity& caller, const v1::ReopenComplaintRequest& req) {
  FieldViolations v;
  CheckChars(v, "reason", req.reason(), 1, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      ActAsComplainant(
          req.tracking_code(), req.secret(), "ReopenComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireState(c, "ReopenComplaint", {v1::STATE_COMPLETED}));
            if (Passed(c.deadlines().has_reopen_until(), c.deadlines().reopen_until(), s.now)) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "the reopen window of complaint ", c.id(), " ended at ",
                  absl::FormatTime(absl::RFC3339_sec, FromProto(c.deadlines().reopen_until()),
                                   absl::UTCTimeZone())));
            }
            s.entry.set_reason(req.reason());
            s.next.set_state(v1::STATE_IN_PROGRESS);
            s.next.set_reopen_count(c.reopen_count() + 1);
            s.next.set_rating(0);
            s.next.clear_rating_comment();
            s.next.clear_complete_time();
            s.next.mutable_deadlines()->clear_reopen_until();
            s.next.mutable_deadlines()->clear_auto_complete_at();
            if (Passed(c.deadlines().has_resolve_by(), c.deadlines().resolve_by(), s.now)) {
              // The old resolution deadline is gone: the reopened case gets a new period.
              absl::StatusOr<Deadline> resolve =
                  c.resolution_working_days() > 0
                      ? WorkingDaysFrom(s.now, c.resolution_working_days(), ZoneOf(c))
                      : CalendarDaysFrom(s.now, options_.resolution_calendar_days, ZoneOf(c));
              if (!resolve.ok()) return resolve.status();
              *s.next.mutable_deadlines()->mutable_resolve_by() = ToProto(resolve->time);
            }
            SIMPUL_ASSIGN_OR_RETURN(Deadline d, WorkingDaysFrom(s.now,
                                                         c.response_working_days() > 0
                                                             ? c.response_working_days()
                                                             : options_.response_working_days,
                                                         ZoneOf(c)));
            *s.next.mutable_deadlines()->mutable_respond_by() = ToProto(d.time);
            return absl::OkStatus();
          }));
  return PublicResponse<v1::ReopenComplaintResponse>(record);
}

// ---------------------------------------------------------------------------------------
// Reads

absl::StatusOr<v1::GetComplaintResponse> ComplaintDesk::GetComplaint(
    const Identity& caller, const v1::GetComplaintRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(std::string id, ParseId("id", req.id()));
  SIMPUL_ASSIGN_OR_RETURN(auto record, store_.Get(id));
  if (!record) return absl::NotFoundError(absl::StrCat("no complaint with tracking code ", id));
  const v1::Complaint& c = record->complaint();
  v1::GetComplaintResponse response;
  if (SeesPublicView(caller)) {
    // What the public list shows, one case at a time (Open311's GET requests/{id}); a case
    // not publicly listed looks exactly like an unknown code, except to the channel it was
    // filed through.
    if (!IsPubliclyListed(c) && !FiledThrough(caller, c)) {
      return absl::NotFoundError(absl::StrCat("no complaint with tracking code ", id));
    }
    *response.mutable_public_complaint() = PublicView(c, clock_.Now());
    return response;
  }
  SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, /*coordinator_too=*/true));
  *response.mutable_complaint() = FullView(caller, c, clock_.Now());
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
    const Identity& caller, const v1::ListComplaintsRequest& req) {
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
  int64_t from_ms = std::numeric_limits<int64_t>::min();
  int64_t to_ms = std::numeric_limits<int64_t>::max();
  if (req.has_filed_after()) from_ms = ToMillis(req.filed_after());
  if (req.has_filed_before()) to_ms = ToMillis(req.filed_before());
  if (req.has_filed_after() && req.has_filed_before() && from_ms >= to_ms) {
    v.Add("filed_before", "must be after filed_after");
  }
  if (!req.service_id().empty()) CheckSlug(v, "service_id", req.service_id());
  if (req.unrouted() && (!req.agency_id().empty() || !req.unit_id().empty())) {
    v.Add("unrouted", "unrouted cases have no agency or unit; leave agency_id and unit_id empty");
  }
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));

  const auto role = caller.principal.role();
  const bool is_public = SeesPublicView(caller);
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

  const v1::State single_state = req.states_size() == 1 ? req.states(0) : v1::STATE_UNSPECIFIED;
  std::string index;
  if (is_public) {
    index = PublicIndex();
  } else if (req.unrouted()) {
    index = UnroutedIndex();
  } else if (!req.unit_id().empty()) {
    index = single_state ? UnitStateIndex(req.unit_id(), single_state) : UnitIndex(req.unit_id());
  } else if (!agency.empty()) {
    index = single_state ? AgencyStateIndex(agency, single_state) : AgencyIndex(agency);
  } else {
    index = single_state ? StateIndex(single_state) : AllIndex();
  }

  v1::ListComplaintsRequest canonical = req;
  canonical.clear_page();
  const std::string query =
      absl::StrCat(caller.principal.agency_id(), "|", index, "|", DeterministicBytes(canonical));
  SIMPUL_ASSIGN_OR_RETURN(std::string after_raw,
                   DecodePageToken("page.page_token", req.page().page_token(), query));
  std::optional<IndexPosition> after;
  if (!after_raw.empty()) {
    size_t bar = after_raw.find('|');
    IndexPosition pos;
    if (bar == std::string::npos ||
        !absl::SimpleAtoi(after_raw.substr(0, bar), &pos.file_time_ms)) {
      return InvalidField("page.page_token", "not a page token returned by this API");
    }
    pos.id = after_raw.substr(bar + 1);
    after = pos;
  }

  const absl::Time now = clock_.Now();
  auto keep = [&](const v1::Complaint& c) {
    if (req.states_size() > 1 &&
        std::find(req.states().begin(), req.states().end(), c.state()) == req.states().end()) {
      return false;
    }
    if (req.channels_size() > 0 && std::find(req.channels().begin(), req.channels().end(),
                                             c.channel()) == req.channels().end()) {
      return false;
    }
    if (single_state != v1::STATE_UNSPECIFIED && c.state() != single_state) return false;
    if (req.overdue_only() && !Passed(c.deadlines().has_next(), c.deadlines().next(), now)) {
      return false;
    }
    if (!agency.empty() && c.agency_id() != agency) return false;
    if (!req.unit_id().empty() && c.unit_id() != req.unit_id()) return false;
    if (!req.service_id().empty() && c.service_id() != req.service_id()) return false;
    return true;
  };

  const int size = req.page().page_size() == 0 ? kDefaultPageSize : req.page().page_size();
  std::vector<IndexedRecord> kept;
  std::optional<IndexPosition> scanned_to;
  bool exhausted = false;
  int scanned = 0;
  while (static_cast<int>(kept.size()) <= size && scanned < kMaxScannedPerList) {
    const int batch = std::max(size + 1, 100);
    SIMPUL_ASSIGN_OR_RETURN(auto items, store_.Scan(index, from_ms, to_ms, after, batch));
    for (auto& item : items) {
      ++scanned;
      after = item.position;
      if (keep(item.record.complaint())) {
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
    next_position = scanned_to;  // the scan budget ran out: continue from where it stopped
  }
  for (const auto& item : kept) {
    if (is_public) {
      *response.add_public_complaints() = PublicView(item.record.complaint(), now);
    } else {
      *response.add_complaints() = FullView(caller, item.record.complaint(), now);
    }
  }
  if (next_position) {
    response.set_next_page_token(
        EncodePageToken(query, absl::StrCat(next_position->file_time_ms, "|", next_position->id)));
  }
  return response;
}

// ---------------------------------------------------------------------------------------
// Handling actions

absl::StatusOr<v1::RouteComplaintResponse> ComplaintDesk::RouteComplaint(
    const Identity& caller, const v1::RouteComplaintRequest& req) {
  FieldViolations v;
  if (req.service_id().empty() == req.unit_id().empty()) {
    v.Add("service_id", "give exactly one of service_id and unit_id");
  } else if (!req.service_id().empty()) {
    CheckSlug(v, "service_id", req.service_id());
  } else {
    CheckSlug(v, "unit_id", req.unit_id());
  }
  CheckChars(v, "reason", req.reason(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  if (!IsCoordinator(caller)) {
    return caller.is_public()
               ? absl::UnauthenticatedError("routing needs a coordinator's credentials")
               : absl::PermissionDeniedError("only coordinators route complaints");
  }
  absl::StatusOr<Route> route = req.service_id().empty() ? router_.ResolveUnit(req.unit_id())
                                                         : router_.ResolveService(req.service_id());
  if (!route.ok()) {
    return req.service_id().empty() ? RouteError(route.status(), "unit_id", req.unit_id())
                                    : RouteError(route.status(), "service_id", req.service_id());
  }
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "RouteComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            // ESCALATED too: the scanner escalates a case nobody routed in
            // time, and only routing gives it an agency to handle it.
            SIMPUL_RETURN_IF_ERROR(
                RequireState(c, "RouteComplaint", {v1::STATE_RECEIVED, v1::STATE_ESCALATED}));
            if (!c.agency_id().empty()) {
              return absl::FailedPreconditionError(
                  absl::StrCat("complaint ", c.id(), " is already routed to agency ", c.agency_id(),
                               "; the agency forwards it if it is not theirs"));
            }
            ApplyRoute(s.next, *route);
            // Routing by hand re-plans verification: the agency gets its working
            // days from when the case reaches it, in its unit's time zone.
            SIMPUL_ASSIGN_OR_RETURN(Deadline d,
                             WorkingDaysFrom(s.now, options_.verify_working_days, ZoneOf(s.next)));
            *s.next.mutable_deadlines()->mutable_verify_by() = ToProto(d.time);
            s.entry.set_reason(req.reason());
            s.entry.set_to_agency_id(route->agency_id);
            s.entry.set_to_unit_id(route->unit_id);
            return absl::OkStatus();
          }));
  return FullResponse<v1::RouteComplaintResponse>(caller, record);
}

absl::StatusOr<v1::HoldComplaintResponse> ComplaintDesk::HoldComplaint(
    const Identity& caller, const v1::HoldComplaintRequest& req) {
  FieldViolations v;
  CheckChars(v, "message", req.message(), 1, 4000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(auto record,
                   Act(caller, "id", req.id(), req.expected_revision(), "HoldComplaint",
                       [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
                         const v1::Complaint& c = current.complaint();
                         SIMPUL_RETURN_IF_ERROR(RequireHandlerOrUnroutedCoordinator(caller, c));
                         SIMPUL_RETURN_IF_ERROR(RequireState(c, "HoldComplaint", {v1::STATE_RECEIVED}));
                         s.next.set_state(v1::STATE_ON_HOLD);
                         s.entry.set_message(req.message());
                         SIMPUL_ASSIGN_OR_RETURN(
                             Deadline d,
                             CalendarDaysFrom(s.now, options_.hold_calendar_days, ZoneOf(c)));
                         *s.next.mutable_deadlines()->mutable_auto_archive_at() = ToProto(d.time);
                         return absl::OkStatus();
                       }));
  return FullResponse<v1::HoldComplaintResponse>(caller, record);
}

absl::StatusOr<v1::VerifyComplaintResponse> ComplaintDesk::VerifyComplaint(
    const Identity& caller, const v1::VerifyComplaintRequest& req) {
  FieldViolations v;
  if (!v1::Confidentiality_IsValid(req.confidentiality())) {
    v.Add("confidentiality", absl::StrCat("unknown value ", req.confidentiality()));
  }
  CheckChars(v, "resolution_class", req.resolution_class(), 0, 200);
  CheckChars(v, "note", req.note(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "VerifyComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, /*coordinator_too=*/false));
            SIMPUL_RETURN_IF_ERROR(RequireState(c, "VerifyComplaint", {v1::STATE_RECEIVED}));
            if (req.confidentiality() != v1::CONFIDENTIALITY_UNSPECIFIED &&
                req.confidentiality() != c.confidentiality()) {
              if (Strictness(req.confidentiality()) < Strictness(c.confidentiality())) {
                return InvalidField("confidentiality",
                                    absl::StrCat("a verifier may only tighten confidentiality "
                                                 "(PUBLIC < SECRET < ANONYMOUS); the case is ",
                                                 v1::Confidentiality_Name(c.confidentiality())));
              }
              s.next.set_confidentiality(req.confidentiality());
              if (req.confidentiality() == v1::CONFIDENTIALITY_ANONYMOUS) {
                s.next.clear_complainant();  // anonymous identities are not kept
              }
            }
            int resolution_days = 0;
            if (!req.resolution_class().empty()) {
              if (c.service_id().empty() || c.standard_version_id().empty()) {
                return InvalidField("resolution_class",
                                    "the case has no service standard that defines classes");
              }
              absl::StatusOr<Route> route = router_.ResolveService(c.service_id());
              if (!route.ok()) return RouteError(route.status(), "service_id", c.service_id());
              for (const auto& term : route->resolution_classes) {
                if (term.name == req.resolution_class()) resolution_days = term.working_days;
              }
              if (resolution_days <= 0) {
                std::vector<std::string> names;
                for (const auto& term : route->resolution_classes) names.push_back(term.name);
                return InvalidField(
                    "resolution_class",
                    absl::StrCat("the standard of service ", c.service_id(), " has no class \"",
                                 req.resolution_class(), "\"; it defines: ",
                                 names.empty() ? "none" : absl::StrJoin(names, ", ")));
              }
              s.next.set_resolution_class(req.resolution_class());
              s.next.set_resolution_working_days(resolution_days);
            }
            s.deadline_missed =
                Passed(c.deadlines().has_verify_by(), c.deadlines().verify_by(), s.now);
            s.next.set_state(v1::STATE_VERIFIED);
            s.entry.set_reason(req.note());
            // Disposition is due 3 working days after filing, counted like verification from
            // the complete file: a case completed after a hold, or routed late by hand, has its
            // verify_by re-planned and is not late for disposition on arrival.
            SIMPUL_ASSIGN_OR_RETURN(Deadline dispose,
                             WorkingDaysFrom(FromProto(c.file_time()),
                                             options_.dispose_working_days, ZoneOf(c)));
            google::protobuf::Timestamp dispose_by = ToProto(dispose.time);
            if (c.deadlines().has_verify_by() &&
                ToMillis(c.deadlines().verify_by()) > ToMillis(dispose_by)) {
              dispose_by = c.deadlines().verify_by();
            }
            *s.next.mutable_deadlines()->mutable_dispose_by() = dispose_by;
            // Resolution runs from the complete, verified file.
            absl::StatusOr<Deadline> resolve =
                resolution_days > 0
                    ? WorkingDaysFrom(s.now, resolution_days, ZoneOf(c))
                    : CalendarDaysFrom(s.now, options_.resolution_calendar_days, ZoneOf(c));
            if (!resolve.ok()) return resolve.status();
            *s.next.mutable_deadlines()->mutable_resolve_by() = ToProto(resolve->time);
            return absl::OkStatus();
          }));
  return FullResponse<v1::VerifyComplaintResponse>(caller, record);
}

absl::StatusOr<v1::DisposeComplaintResponse> ComplaintDesk::DisposeComplaint(
    const Identity& caller, const v1::DisposeComplaintRequest& req) {
  FieldViolations v;
  if (!req.unit_id().empty()) CheckSlug(v, "unit_id", req.unit_id());
  CheckChars(v, "note", req.note(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  std::optional<Route> unit_route;
  if (!req.unit_id().empty()) {
    absl::StatusOr<Route> route = router_.ResolveUnit(req.unit_id());
    if (!route.ok()) return RouteError(route.status(), "unit_id", req.unit_id());
    unit_route = *route;
  }
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "DisposeComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, c.state() == v1::STATE_ESCALATED));
            SIMPUL_RETURN_IF_ERROR(
                RequireState(c, "DisposeComplaint",
                             {v1::STATE_VERIFIED, v1::STATE_FORWARDED, v1::STATE_ESCALATED}));
            if (unit_route) {
              if (unit_route->agency_id != c.agency_id()) {
                return InvalidField(
                    "unit_id", absl::StrCat("unit ", req.unit_id(), " belongs to agency ",
                                            unit_route->agency_id, ", not to the handling agency ",
                                            c.agency_id()));
              }
              s.next.set_unit_id(unit_route->unit_id);
              s.next.set_time_zone(unit_route->time_zone);
            } else if (c.unit_id().empty()) {
              return InvalidField("unit_id",
                                  "required: the case has no unit yet; name the unit that acts");
            }
            s.deadline_missed =
                Passed(c.deadlines().has_dispose_by(), c.deadlines().dispose_by(), s.now);
            s.next.set_state(v1::STATE_DISPOSED);
            s.entry.set_reason(req.note());
            s.entry.set_to_agency_id(c.agency_id());
            s.entry.set_to_unit_id(s.next.unit_id());
            if (!s.next.deadlines().has_resolve_by()) {  // forwarded before verification
              SIMPUL_ASSIGN_OR_RETURN(
                  Deadline d,
                  CalendarDaysFrom(s.now, options_.resolution_calendar_days, ZoneOf(s.next)));
              *s.next.mutable_deadlines()->mutable_resolve_by() = ToProto(d.time);
            }
            SIMPUL_ASSIGN_OR_RETURN(Deadline d, WorkingDaysFrom(s.now,
                                                         c.response_working_days() > 0
                                                             ? c.response_working_days()
                                                             : options_.response_working_days,
                                                         ZoneOf(s.next)));
            *s.next.mutable_deadlines()->mutable_respond_by() = ToProto(d.time);
            return absl::OkStatus();
          }));
  return FullResponse<v1::DisposeComplaintResponse>(caller, record);
}

absl::StatusOr<v1::ForwardComplaintResponse> ComplaintDesk::ForwardComplaint(
    const Identity& caller, const v1::ForwardComplaintRequest& req) {
  FieldViolations v;
  CheckSlug(v, "to_agency_id", req.to_agency_id());
  if (!req.to_unit_id().empty()) CheckSlug(v, "to_unit_id", req.to_unit_id());
  CheckChars(v, "reason", req.reason(), 1, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  Route target;
  target.agency_id = req.to_agency_id();
  target.time_zone = common::v1::TIME_ZONE_WIB;  // until a unit of the new agency takes it
  if (!req.to_unit_id().empty()) {
    absl::StatusOr<Route> unit = router_.ResolveUnit(req.to_unit_id());
    if (!unit.ok()) return RouteError(unit.status(), "to_unit_id", req.to_unit_id());
    if (unit->agency_id != req.to_agency_id()) {
      return InvalidField("to_unit_id",
                          absl::StrCat("unit ", req.to_unit_id(), " belongs to agency ",
                                       unit->agency_id, ", not to ", req.to_agency_id()));
    }
    target = *unit;
  } else {
    absl::StatusOr<bool> exists = router_.AgencyExists(req.to_agency_id());
    if (!exists.ok()) {
      return RegistryUnreachable(exists.status())
                 ? absl::UnavailableError("the registry cannot be reached; retry shortly")
                 : exists.status();
    }
    if (!*exists) {
      return InvalidField("to_agency_id",
                          absl::StrCat("the registry has no agency \"", req.to_agency_id(), "\""));
    }
  }
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "ForwardComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, /*coordinator_too=*/true));
            SIMPUL_RETURN_IF_ERROR(
                RequireState(c, "ForwardComplaint",
                             {v1::STATE_RECEIVED, v1::STATE_VERIFIED, v1::STATE_DISPOSED,
                              v1::STATE_FORWARDED, v1::STATE_ESCALATED}));
            if (c.agency_id().empty()) {
              return absl::FailedPreconditionError(
                  absl::StrCat("complaint ", c.id(), " is unrouted; use RouteComplaint"));
            }
            if (req.to_agency_id() == c.agency_id()) {
              return InvalidField("to_agency_id",
                                  "the case is already with this agency; use "
                                  "DisposeComplaint to pass it to another unit");
            }
            s.next.add_previous_agency_ids(c.agency_id());
            s.next.set_agency_id(target.agency_id);
            s.next.set_unit_id(target.unit_id);
            s.next.set_time_zone(target.time_zone);
            // The old standard's terms belonged to the old agency's service.
            s.next.clear_standard_version_id();
            s.next.clear_resolution_class();
            s.next.set_resolution_working_days(0);
            s.next.set_response_working_days(0);
            // The new agency's resolution period starts when it disposes the case.
            s.next.mutable_deadlines()->clear_resolve_by();
            s.next.mutable_deadlines()->clear_respond_by();
            s.next.set_state(v1::STATE_FORWARDED);
            s.entry.set_reason(req.reason());
            s.entry.set_to_agency_id(target.agency_id);
            s.entry.set_to_unit_id(target.unit_id);
            SIMPUL_ASSIGN_OR_RETURN(Deadline d,
                             WorkingDaysFrom(s.now, options_.dispose_working_days, ZoneOf(s.next)));
            *s.next.mutable_deadlines()->mutable_dispose_by() = ToProto(d.time);
            return absl::OkStatus();
          }));
  v1::ForwardComplaintResponse response;
  // The forwarding agency no longer handles the case: it gets the view of a non-handler.
  *response.mutable_complaint() = FullView(caller, record.complaint(), clock_.Now());
  return response;
}

absl::StatusOr<v1::StartWorkResponse> ComplaintDesk::StartWork(const Identity& caller,
                                                               const v1::StartWorkRequest& req) {
  FieldViolations v;
  CheckChars(v, "note", req.note(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(auto record,
                   Act(caller, "id", req.id(), req.expected_revision(), "StartWork",
                       [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
                         const v1::Complaint& c = current.complaint();
                         SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, false));
                         SIMPUL_RETURN_IF_ERROR(RequireState(c, "StartWork", {v1::STATE_DISPOSED}));
                         s.next.set_state(v1::STATE_IN_PROGRESS);
                         s.entry.set_reason(req.note());
                         return absl::OkStatus();
                       }));
  return FullResponse<v1::StartWorkResponse>(caller, record);
}

absl::StatusOr<v1::PostFollowUpResponse> ComplaintDesk::PostFollowUp(
    const Identity& caller, const v1::PostFollowUpRequest& req) {
  FieldViolations v;
  CheckChars(v, "message", req.message(), 1, 4000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "PostFollowUp",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, false));
            SIMPUL_RETURN_IF_ERROR(
                RequireState(c, "PostFollowUp",
                             {v1::STATE_IN_PROGRESS, v1::STATE_RESPONDED, v1::STATE_ESCALATED}));
            if (c.state() == v1::STATE_IN_PROGRESS) {
              s.deadline_missed =
                  Passed(c.deadlines().has_respond_by(), c.deadlines().respond_by(), s.now);
            }
            s.next.set_state(v1::STATE_RESPONDED);
            s.next.set_follow_up_count(c.follow_up_count() + 1);
            if (!c.has_first_response_time())
              *s.next.mutable_first_response_time() = ToProto(s.now);
            s.entry.set_message(req.message());
            SIMPUL_ASSIGN_OR_RETURN(
                Deadline d, WorkingDaysFrom(s.now, options_.auto_complete_working_days, ZoneOf(c)));
            *s.next.mutable_deadlines()->mutable_auto_complete_at() = ToProto(d.time);
            return absl::OkStatus();
          }));
  return FullResponse<v1::PostFollowUpResponse>(caller, record);
}

namespace {

// Completion fields shared by CompleteComplaint and the scanner's auto-completion.
absl::Status MarkCompleted(v1::Complaint& next, absl::Time now, const Deadline& reopen_until) {
  next.set_state(v1::STATE_COMPLETED);
  *next.mutable_complete_time() = ToProto(now);
  *next.mutable_deadlines()->mutable_reopen_until() = ToProto(reopen_until.time);
  next.set_rating(0);
  next.clear_rating_comment();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::CompleteComplaintResponse> ComplaintDesk::CompleteComplaint(
    const Identity& caller, const v1::CompleteComplaintRequest& req) {
  FieldViolations v;
  CheckChars(v, "note", req.note(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "CompleteComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, false));
            SIMPUL_RETURN_IF_ERROR(RequireState(c, "CompleteComplaint", {v1::STATE_RESPONDED}));
            s.deadline_missed =
                Passed(c.deadlines().has_resolve_by(), c.deadlines().resolve_by(), s.now);
            s.entry.set_reason(req.note());
            SIMPUL_ASSIGN_OR_RETURN(Deadline reopen,
                             WorkingDaysFrom(s.now, options_.reopen_working_days, ZoneOf(c)));
            return MarkCompleted(s.next, s.now, reopen);
          }));
  return FullResponse<v1::CompleteComplaintResponse>(caller, record);
}

absl::StatusOr<v1::ArchiveComplaintResponse> ComplaintDesk::ArchiveComplaint(
    const Identity& caller, const v1::ArchiveComplaintRequest& req) {
  FieldViolations v;
  std::string duplicate_of;
  switch (req.reason()) {
    case v1::ARCHIVE_REASON_UNCLEAR:
    case v1::ARCHIVE_REASON_OUT_OF_SCOPE:
      if (!req.duplicate_of().empty()) {
        v.Add("duplicate_of", "only for reason ARCHIVE_REASON_DUPLICATE");
      }
      break;
    case v1::ARCHIVE_REASON_DUPLICATE: {
      auto parsed = ParseId("duplicate_of", req.duplicate_of());
      if (!parsed.ok()) {
        // Hold the BadRequest: ranging over a member of the temporary would dangle.
        const common::v1::BadRequest bad = BadRequestOf(parsed.status());
        for (const auto& fv : bad.field_violations()) v.Add(fv.field(), fv.description());
      } else {
        duplicate_of = *parsed;
      }
      break;
    }
    default:
      v.Add("reason", absl::StrCat("must be UNCLEAR, OUT_OF_SCOPE or DUPLICATE, got ",
                                   v1::ArchiveReason_IsValid(req.reason())
                                       ? v1::ArchiveReason_Name(req.reason())
                                       : absl::StrCat(req.reason())));
  }
  CheckChars(v, "note", req.note(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  if (!duplicate_of.empty()) {
    SIMPUL_ASSIGN_OR_RETURN(auto original, store_.Get(duplicate_of));
    if (!original) {
      return InvalidField("duplicate_of",
                          absl::StrCat("no complaint with tracking code ", duplicate_of));
    }
  }
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "ArchiveComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireHandlerOrUnroutedCoordinator(caller, c));
            SIMPUL_RETURN_IF_ERROR(RequireState(
                c, "ArchiveComplaint",
                {v1::STATE_RECEIVED, v1::STATE_ON_HOLD, v1::STATE_VERIFIED, v1::STATE_FORWARDED}));
            if (duplicate_of == c.id()) {
              return InvalidField("duplicate_of", "a complaint cannot duplicate itself");
            }
            s.next.set_state(v1::STATE_ARCHIVED);
            s.next.set_archive_reason(req.reason());
            s.next.set_duplicate_of(duplicate_of);
            s.entry.set_reason(req.note().empty() ? v1::ArchiveReason_Name(req.reason())
                                                  : req.note());
            return absl::OkStatus();
          }));
  return FullResponse<v1::ArchiveComplaintResponse>(caller, record);
}

absl::StatusOr<v1::EscalateComplaintResponse> ComplaintDesk::EscalateComplaint(
    const Identity& caller, const v1::EscalateComplaintRequest& req) {
  FieldViolations v;
  CheckChars(v, "reason", req.reason(), 1, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(auto record,
                   Act(caller, "id", req.id(), req.expected_revision(), "EscalateComplaint",
                       [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
                         const v1::Complaint& c = current.complaint();
                         SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, /*coordinator_too=*/true));
                         SIMPUL_RETURN_IF_ERROR(RequireState(
                             c, "EscalateComplaint",
                             {v1::STATE_RECEIVED, v1::STATE_VERIFIED, v1::STATE_DISPOSED,
                              v1::STATE_FORWARDED, v1::STATE_IN_PROGRESS}));
                         s.next.set_state(v1::STATE_ESCALATED);
                         s.entry.set_reason(req.reason());
                         return absl::OkStatus();
                       }));
  return FullResponse<v1::EscalateComplaintResponse>(caller, record);
}

absl::StatusOr<v1::ResumeComplaintResponse> ComplaintDesk::ResumeComplaint(
    const Identity& caller, const v1::ResumeComplaintRequest& req) {
  FieldViolations v;
  if (req.resolve_within_working_days() < 1 || req.resolve_within_working_days() > 60) {
    v.Add("resolve_within_working_days",
          absl::StrCat("must be 1..60, got ", req.resolve_within_working_days()));
  }
  CheckChars(v, "note", req.note(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "ResumeComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            if (!IsCoordinator(caller) && !caller.IsAgencyAdmin(c.agency_id())) {
              return caller.is_public()
                         ? absl::UnauthenticatedError("resuming needs a coordinator's credentials")
                         : absl::PermissionDeniedError(
                               absl::StrCat("only coordinators and admins of agency ",
                                            c.agency_id(), " resume escalated complaints"));
            }
            SIMPUL_RETURN_IF_ERROR(RequireState(c, "ResumeComplaint", {v1::STATE_ESCALATED}));
            if (c.unit_id().empty()) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "complaint ", c.id(), " has no unit to work on it; route or dispose it first"));
            }
            s.next.set_state(v1::STATE_IN_PROGRESS);
            s.entry.set_reason(req.note());
            SIMPUL_ASSIGN_OR_RETURN(Deadline resolve,
                             WorkingDaysFrom(s.now, req.resolve_within_working_days(), ZoneOf(c)));
            SIMPUL_ASSIGN_OR_RETURN(Deadline respond,
                             WorkingDaysFrom(s.now,
                                             std::min(req.resolve_within_working_days(),
                                                      c.response_working_days() > 0
                                                          ? c.response_working_days()
                                                          : options_.response_working_days),
                                             ZoneOf(c)));
            *s.next.mutable_deadlines()->mutable_resolve_by() = ToProto(resolve.time);
            *s.next.mutable_deadlines()->mutable_respond_by() = ToProto(respond.time);
            return absl::OkStatus();
          }));
  return FullResponse<v1::ResumeComplaintResponse>(caller, record);
}

// ---------------------------------------------------------------------------------------
// Deadline scanner

absl::StatusOr<bool> ComplaintDesk::ScanCase(const std::string& id, absl::Time now) {
  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(auto current, store_.Get(id));
    if (!current) return false;
    const v1::Complaint& c = current->complaint();
    // Another replica may have acted meanwhile: act only if the deadline has really passed.
    if (!Passed(c.deadlines().has_next(), c.deadlines().next(), now)) return false;
    std::string action;
    Mutation mutation;
    switch (c.state()) {
      case v1::STATE_RESPONDED:
        action = "AutoComplete";
        mutation = [this](const v1::ComplaintRecord& cur, Step& s) -> absl::Status {
          s.entry.set_reason(absl::StrCat("no reply within ", options_.auto_complete_working_days,
                                          " working days of the last follow-up"));
          SIMPUL_ASSIGN_OR_RETURN(Deadline reopen, WorkingDaysFrom(s.now, options_.reopen_working_days,
                                                            ZoneOf(cur.complaint())));
          return MarkCompleted(s.next, s.now, reopen);
        };
        break;
      case v1::STATE_ON_HOLD:
        action = "AutoArchive";
        mutation = [this](const v1::ComplaintRecord&, Step& s) -> absl::Status {
          s.next.set_state(v1::STATE_ARCHIVED);
          s.next.set_archive_reason(v1::ARCHIVE_REASON_NO_RESPONSE);
          s.entry.set_reason(absl::StrCat("no answer from the complainant within ",
                                          options_.hold_calendar_days, " days"));
          return absl::OkStatus();
        };
        break;
      default:
        action = "Escalate";
        mutation = [](const v1::ComplaintRecord& cur, Step& s) -> absl::Status {
          const auto& d = cur.complaint().deadlines();
          std::string missed = "deadline";
          if (cur.complaint().state() == v1::STATE_RECEIVED) {
            missed = "verification deadline";
          } else if (cur.complaint().state() == v1::STATE_VERIFIED ||
                     cur.complaint().state() == v1::STATE_FORWARDED) {
            missed = "disposition deadline";
          } else if (Passed(d.has_respond_by(), d.respond_by(), s.now)) {
            missed = "follow-up deadline";
          } else {
            missed = "resolution deadline";
          }
          s.next.set_state(v1::STATE_ESCALATED);
          s.deadline_missed = true;
          s.entry.set_reason(absl::StrCat("the ", missed, " passed"));
          return absl::OkStatus();
        };
        break;
    }
    auto as_scanner = [&mutation](const v1::ComplaintRecord& cur, Step& s) {
      s.entry.set_actor_kind(v1::ACTOR_KIND_SYSTEM);
      s.entry.set_actor("scanner");
      s.entry.clear_actor_agency_id();
      return mutation(cur, s);
    };
    SIMPUL_ASSIGN_OR_RETURN(auto applied, Apply(Identity::Public(), *current, action, as_scanner));
    if (applied) return true;
  }
  return absl::AbortedError(absl::StrCat("complaint ", id, " kept changing during the scan"));
}

absl::StatusOr<int> ComplaintDesk::ScanOnce() {
  const absl::Time now = clock_.Now();
  int applied = 0;
  // A deadline is missed once the whole second after it has begun (Deadline::Missed).
  const absl::Time missed_before = now - absl::Seconds(1);
  // Cases that fail this round stay due; they are skipped (and read past) so that they never
  // hold back the cases behind them. They are retried on the next round.
  std::set<std::string> failed;
  constexpr size_t kMaxFailuresPerRound = 10000;
  for (;;) {
    const int want = options_.scan_batch + static_cast<int>(failed.size());
    SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> ids, store_.Due(missed_before, want));
    int considered = 0;
    int progressed = 0;
    for (const std::string& id : ids) {
      if (failed.count(id) > 0) continue;
      ++considered;
      absl::StatusOr<bool> acted = ScanCase(id, now);
      if (!acted.ok()) {
        Log(LogLevel::kWarn, "scanner could not act on a complaint",
            {{"id", id}, {"error", acted.status().ToString()}});
        failed.insert(id);
        continue;
      }
      progressed += *acted;
    }
    applied += progressed;
    if (static_cast<int>(ids.size()) < want || considered == 0 ||
        failed.size() > kMaxFailuresPerRound) {
      break;
    }
  }
  return applied;
}

}  // namespace simpul::complaints
