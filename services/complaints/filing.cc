// Filing a complaint: validate the request, find who files through which channel, answer a
// retry from its idempotency key, route the case, build it and commit it under a fresh
// tracking code with a secret derived from the filing (SecretMinter), never stored in clear.
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "clients/complaints/views.h"
#include "common/channel_scope.h"
#include "common/logging.h"
#include "common/status.h"
#include "services/complaints/complaints.h"
#include "services/complaints/deadlines.h"
#include "services/complaints/geo.h"
#include "services/complaints/history.h"
#include "services/complaints/intake.h"
#include "services/complaints/routes.h"
#include "services/complaints/tracking.h"
#include "services/complaints/validation.h"

namespace simpul::complaints {
namespace {

// kPublicSecretKeyLength is the shortest idempotency key with which a public caller's retry
// gets the secret again: a client-chosen random key (a UUID, 32 hex digits) that nobody else
// can guess. With a shorter key the retry gets the tracking code only.
constexpr size_t kPublicSecretKeyLength = 32;

// Filer is who files a case: the channel name the case records, the idempotency scope its
// keys belong to, whether a retry gets the secret again, and the kind of actor its first
// history entry names.
struct Filer {
  std::string channel_name;
  std::string scope;
  bool secret_on_replay = true;
  v1::ActorKind actor_kind = v1::ACTOR_KIND_COMPLAINANT;
};

// CallerScope is the idempotency scope of an authenticated caller: its role, agency or
// channel and subject (for an API key "key:<id>"), so two keys of one channel or agency never
// share keys.
std::string CallerScope(const common::v1::Principal& p) {
  const std::string& holder = p.role() == common::v1::ROLE_CHANNEL ? p.channel() : p.agency_id();
  return absl::StrCat(common::v1::Role_Name(p.role()), "/", holder.size(), ":", holder, "/",
                      p.subject());
}

// FilerOf: public callers file through WEB or MOBILE_APP only, dashboards do not file. Public
// callers cannot be told apart, so their scope is the request itself (its fingerprint, key
// included): only a byte-identical retry is a replay.
absl::StatusOr<Filer> FilerOf(const Identity& caller, const v1::FileComplaintRequest& req,
                              const std::string& fingerprint) {
  const auto& p = caller.principal;
  Filer filer;
  filer.scope = CallerScope(p);
  switch (p.role()) {
    case common::v1::ROLE_UNSPECIFIED:
      if (req.channel() != v1::CHANNEL_WEB && req.channel() != v1::CHANNEL_MOBILE_APP) {
        return absl::PermissionDeniedError(
            "public callers file through channel WEB or MOBILE_APP; other channels need the "
            "channel's credentials");
      }
      filer.channel_name = "public";
      filer.scope = absl::StrCat("public/", absl::BytesToHexString(fingerprint));
      filer.secret_on_replay = req.idempotency_key().size() >= kPublicSecretKeyLength;
      break;
    case common::v1::ROLE_CHANNEL:
      filer.channel_name = p.channel().empty() ? p.subject() : p.channel();
      filer.actor_kind = v1::ACTOR_KIND_CHANNEL;
      break;
    case common::v1::ROLE_AGENCY_ADMIN:
    case common::v1::ROLE_AGENCY_OPERATOR:
      filer.channel_name = absl::StrCat("agency:", p.agency_id());
      filer.actor_kind = v1::ACTOR_KIND_AGENCY;
      break;
    case common::v1::ROLE_PLATFORM_ADMIN:
      filer.channel_name = absl::StrCat("platform:", p.subject());
      filer.actor_kind = v1::ACTOR_KIND_COORDINATOR;
      break;
    default:
      return absl::PermissionDeniedError("dashboards cannot file complaints");
  }
  return filer;
}

// Replay answers a retry with the tracking code stored under its idempotency key and the
// case's current public view; the same key with a different request (another `fingerprint`)
// is refused. The secret is derived again, never read from the record (records written before
// secrets were derived may still hold one in clear: it is ignored), and only returned when it
// is the case's: a rotated key or a restart without a key file gives the tracking code only.
absl::StatusOr<v1::FileComplaintResponse> Replay(ComplaintStore& store, const Clock& clock,
                                                 const SecretMinter& secrets, const Filer& filer,
                                                 const std::string& key,
                                                 const v1::IdempotencyRecord& record,
                                                 const std::string& fingerprint) {
  if (record.request_sha256() != fingerprint) {
    return InvalidField("idempotency_key",
                        "already used by this caller for a different complaint; use a new key "
                        "for a new complaint and the same key only to retry");
  }
  v1::FileComplaintResponse response;
  response.set_tracking_code(record.response().tracking_code());
  response.set_replayed(true);
  // The stored result holds no case view (it could carry a name the verifier has since
  // withheld): the retry sees the case as it is now.
  SIMPUL_ASSIGN_OR_RETURN(auto current, store.Get(response.tracking_code()));
  if (!current) return response;
  *response.mutable_complaint() = PublicView(current->complaint(), clock.Now());
  if (filer.secret_on_replay) {
    std::string secret = secrets.Secret(filer.scope, key, response.tracking_code());
    if (SecretMatches(secret, current->secret_sha256())) response.set_secret(std::move(secret));
  }
  return response;
}

// RouteNewCase routes the case before it is built; a registry that cannot answer leaves it
// for a coordinator, as does a filing without a service id. `resolved` gets the service's route
// when the registry answered (its intake questions check the answers).
absl::Status RouteNewCase(Router& router, const v1::FileComplaintRequest& req, absl::Time now,
                          v1::Complaint& c, std::optional<Route>& resolved) {
  if (req.service_id().empty()) {
    c.set_routing_note("filed without a service id; route from target_text");
    return absl::OkStatus();
  }
  absl::StatusOr<Route> route = router.ResolveService(req.service_id());
  if (route.ok()) {
    ApplyRoute(c, *route, now);
    resolved = *std::move(route);
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
  return absl::OkStatus();
}

// CheckFilerScope refuses a channel filing for a unit outside its key's scope. A scoped channel
// whose case could not be routed because the registry was unreachable is told to retry (its
// scope cannot be checked yet), not accepted unchecked.
absl::Status CheckFilerScope(const Identity& caller, const v1::FileComplaintRequest& req,
                             const v1::Complaint& c) {
  const common::v1::Principal& p = caller.principal;
  if (p.role() != common::v1::ROLE_CHANNEL || p.scope_all_agencies()) return absl::OkStatus();
  if (c.agency_id().empty() && !req.service_id().empty()) {
    return absl::UnavailableError(
        "the registry cannot be reached to check that this channel may file for the service; "
        "retry");
  }
  return RequireChannelScope(p, c.agency_id(), c.unit_id(), "filing complaints");
}

// FillNewCase copies the request into a RECEIVED case filed at `now` through `channel_name`.
// Without a stated confidentiality a case with an identity is SECRET, one without ANONYMOUS;
// ANONYMOUS identities are not kept.
void FillNewCase(const v1::FileComplaintRequest& req, const std::string& channel_name,
                 absl::Time now, v1::Complaint& c) {
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
}

// FilingWrite is the commit of the new case `c` with its `secret`: the record, its first
// history entry and its event.
CaseWrite FilingWrite(const Identity& caller, const Filer& filer, const v1::Complaint& c,
                      const std::string& secret, absl::Time now) {
  CaseWrite w;
  *w.after.mutable_complaint() = c;
  w.after.set_secret_sha256(SecretHash(secret));
  w.after.set_last_sequence(1);
  w.entry.set_sequence(1);
  *w.entry.mutable_time() = ToProto(now);
  w.entry.set_action("FileComplaint");
  SetActor(caller, w.entry);
  w.entry.set_actor_kind(filer.actor_kind);
  if (caller.is_public()) w.entry.set_actor("public");
  w.entry.set_to_state(v1::STATE_RECEIVED);
  w.event = MakeEvent(c, w.entry, false, c.agency_id(), c.unit_id());
  return w;
}

// IdempotencyClaimOf records the filing's tracking code under the filer's key: no secret (a
// retry derives it again) and no case view (no identity in the stored result).
IdempotencyClaim IdempotencyClaimOf(const Filer& filer, const std::string& key, absl::Duration ttl,
                                    const std::string& fingerprint,
                                    const std::string& tracking_code) {
  IdempotencyClaim claim;
  claim.scope = filer.scope;
  claim.key = key;
  claim.ttl = ttl;
  claim.record.set_request_sha256(fingerprint);
  claim.record.mutable_response()->set_tracking_code(tracking_code);
  return claim;
}

}  // namespace

std::vector<v1::PublicComplaint> ComplaintDesk::NotePossibleDuplicates(v1::Complaint& c,
                                                                       absl::Time now) {
  std::vector<v1::PublicComplaint> for_filer;
  absl::StatusOr<std::vector<PossibleDuplicate>> found =
      FindPossibleDuplicates(store_, c, options_.duplicates);
  if (!found.ok()) {
    // A suggestion is never worth refusing or delaying a filing for.
    Log(LogLevel::kWarn, "possible duplicates not looked up",
        {{"error", found.status().ToString()}});
    return for_filer;
  }
  for (const PossibleDuplicate& d : *found) {
    // The verifier sees the candidates its own agency handles (it can open them); the filer
    // only publicly listed ones, in the public view.
    if (d.complaint.agency_id() == c.agency_id()) c.add_possible_duplicate_ids(d.complaint.id());
    if (IsPubliclyListed(d.complaint)) for_filer.push_back(PublicView(d.complaint, now));
  }
  return for_filer;
}

absl::StatusOr<v1::FileComplaintResponse> ComplaintDesk::FileComplaint(
    const Identity& caller, const v1::FileComplaintRequest& req) {
  const absl::Time now = clock_.Now();
  SIMPUL_RETURN_IF_ERROR(ValidateFiling(req, now, options_.filing_window_days));
  const std::string& key = req.idempotency_key();
  const std::string fingerprint = Sha256(DeterministicBytes(req));
  SIMPUL_ASSIGN_OR_RETURN(const Filer filer, FilerOf(caller, req, fingerprint));
  SIMPUL_ASSIGN_OR_RETURN(auto existing, store_.GetIdempotency(filer.scope, key));
  if (existing) return Replay(store_, clock_, secrets_, filer, key, *existing, fingerprint);

  v1::Complaint c;
  std::optional<Route> route;
  SIMPUL_RETURN_IF_ERROR(RouteNewCase(router_, req, now, c, route));
  SIMPUL_RETURN_IF_ERROR(CheckFilerScope(caller, req, c));
  FillNewCase(req, filer.channel_name, now, c);
  SIMPUL_RETURN_IF_ERROR(ApplyAnswers(req, route ? &*route : nullptr, c));
  SIMPUL_ASSIGN_OR_RETURN(Deadline verify,
                          WorkingDaysFrom(now, options_.verify_working_days, ZoneOf(c)));
  *c.mutable_deadlines()->mutable_verify_by() = ToProto(verify.time);
  SetNextDeadline(c);
  const std::vector<v1::PublicComplaint> possible_duplicates = NotePossibleDuplicates(c, now);

  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    c.set_id(NewTrackingCode());
    const std::string secret = secrets_.Secret(filer.scope, key, c.id());
    CaseWrite w = FilingWrite(caller, filer, c, secret, now);
    v1::FileComplaintResponse response;
    response.set_tracking_code(c.id());
    response.set_secret(secret);
    *response.mutable_complaint() = PublicView(c, now);
    for (const auto& d : possible_duplicates) *response.add_possible_duplicates() = d;
    w.idempotency = IdempotencyClaimOf(filer, key, options_.idempotency_ttl, fingerprint, c.id());

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
        return Replay(store_, clock_, secrets_, filer, key, result.replay, fingerprint);
      case CommitResult::Outcome::kConflict:
        continue;  // a tracking-code collision: draw another code
    }
  }
  return absl::InternalError("could not draw a free tracking code; retry");
}

}  // namespace simpul::complaints
