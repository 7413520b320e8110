// ComplaintDesk is the domain logic of simpul-complaints: filing with idempotency, routing
// through the registry, the lifecycle of domain.md section 2, deadlines in working days,
// confidentiality on every read path, optimistic concurrency and the deadline scanner. It
// knows nothing of gRPC; the adapter in grpc_service.h calls it with the caller's verified
// identity.
//
// Who may do what:
// - anyone: file (public callers through WEB or MOBILE_APP only), follow a case with its
//   tracking code and secret (track, reply, rate, reopen), list verified non-SECRET cases in
//   the public view;
// - the handling agency (admins and operators of the case's agency): read the full case and
//   its history, list its inbox, and act on the case;
// - coordinators (platform admins): read and list every case, route unrouted cases, act on
//   cases nobody handles yet, and resume escalated ones. They never see SECRET identities.
// Identities: PUBLIC ones are visible to the handling agency and coordinators (and the name to
// the public); SECRET ones to the handling agency only; ANONYMOUS ones are never stored.
#ifndef SIMPUL_SERVICES_COMPLAINTS_COMPLAINTS_H_
#define SIMPUL_SERVICES_COMPLAINTS_COMPLAINTS_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/registry/router.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/identity.h"
#include "services/complaints/attachments.h"
#include "services/complaints/store.h"
#include "services/complaints/tracking.h"

namespace simpul::complaints {

// The routing interface lives with the registry's client library (clients/registry/router.h);
// these names keep the complaint code and its fakes short.
using ::simpul::clients::registry::PromisedUnit;
using ::simpul::clients::registry::ResolutionClassTerm;
using ::simpul::clients::registry::Route;
using ::simpul::clients::registry::Router;

// ComplaintOptions are the lifecycle's numbers (domain.md section 2); the defaults are the law's
// and SP4N-LAPOR!'s.
struct ComplaintOptions {
  int verify_working_days = 3;          // RECEIVED: verify within, of filing
  int dispose_working_days = 3;         // VERIFIED: of filing; FORWARDED: of forwarding
  int response_working_days = 5;        // follow-up within, when the standard sets none
  int resolution_calendar_days = 60;    // of verification, when no resolution class applies
  int auto_complete_working_days = 10;  // RESPONDED without a reply
  int hold_calendar_days = 30;          // ON_HOLD without the complainant's answer
  int reopen_working_days = 10;         // COMPLETED: reopen window
  int filing_window_days = 30;          // a complaint is filed within 30 days of the service
  absl::Duration idempotency_ttl = absl::Hours(24 * 7);
  int max_commit_attempts = 8;  // retries of an action that raced another writer
  int scan_batch = 200;         // cases the scanner reads per round
  // Index entries one ListComplaints call reads at most; a sparse filter then returns a short
  // (or empty) page with a token to continue.
  int list_scan_budget = 5000;
  // Whether the updated index holds every case yet (false while the start-up backfill of
  // cases from earlier versions runs: ListComplaints updated_since is then UNAVAILABLE).
  // Empty: always.
  std::function<bool()> updated_index_ready;
  // The same for the geo indexes (ListComplaints within_box / near). Empty: always.
  std::function<bool()> geo_index_ready;
  // What the filing suggests as possible duplicates (geo.h; duplicate_radius_m,
  // duplicate_window_days).
  DuplicateOptions duplicates;
  // Derives the complainants' secrets (tracking.h); unset: a random key for this desk, so
  // retries after a restart get the tracking code without the secret.
  std::optional<SecretMinter> secret_minter;
  // Uploaded attachments: the object store and the limits (attachments.h).
  AttachmentOptions attachments;
};

// CallBounds are what bounds one call besides its request: the caller's deadline and whether
// the caller has gone away (the gRPC adapter fills them from the server context).
struct CallBounds {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;  // empty: never cancelled
};

class ComplaintDesk {
 public:
  ComplaintDesk(ComplaintStore& store, Router& router, const CalendarRegistry& calendars,
                const Clock& clock, ComplaintOptions options);

  using Id = Identity;
  // Complainant-facing.
  absl::StatusOr<v1::FileComplaintResponse> FileComplaint(const Id& caller,
                                                          const v1::FileComplaintRequest& req);
  absl::StatusOr<v1::TrackComplaintResponse> TrackComplaint(const Id& caller,
                                                            const v1::TrackComplaintRequest& req);
  absl::StatusOr<v1::ReplyToComplaintResponse> ReplyToComplaint(
      const Id& caller, const v1::ReplyToComplaintRequest& req);
  absl::StatusOr<v1::RateComplaintResponse> RateComplaint(const Id& caller,
                                                          const v1::RateComplaintRequest& req);
  absl::StatusOr<v1::ReopenComplaintResponse> ReopenComplaint(
      const Id& caller, const v1::ReopenComplaintRequest& req);

  // Reads.
  absl::StatusOr<v1::GetComplaintResponse> GetComplaint(const Id& caller,
                                                        const v1::GetComplaintRequest& req);
  // ListComplaints reads at most options().list_scan_budget index entries and stops early,
  // with a page token, when the caller's deadline draws near; CANCELLED when the caller went
  // away. A page may then be short or empty and still carry a token.
  absl::StatusOr<v1::ListComplaintsResponse> ListComplaints(const Id& caller,
                                                            const v1::ListComplaintsRequest& req,
                                                            const CallBounds& bounds);
  absl::StatusOr<v1::ListComplaintsResponse> ListComplaints(const Id& caller,
                                                            const v1::ListComplaintsRequest& req) {
    return ListComplaints(caller, req, CallBounds{});
  }
  absl::StatusOr<v1::GetComplaintHistoryResponse> GetComplaintHistory(
      const Id& caller, const v1::GetComplaintHistoryRequest& req);

  // Handling.
  absl::StatusOr<v1::RouteComplaintResponse> RouteComplaint(const Id& caller,
                                                            const v1::RouteComplaintRequest& req);
  absl::StatusOr<v1::HoldComplaintResponse> HoldComplaint(const Id& caller,
                                                          const v1::HoldComplaintRequest& req);
  absl::StatusOr<v1::VerifyComplaintResponse> VerifyComplaint(
      const Id& caller, const v1::VerifyComplaintRequest& req);
  absl::StatusOr<v1::DisposeComplaintResponse> DisposeComplaint(
      const Id& caller, const v1::DisposeComplaintRequest& req);
  absl::StatusOr<v1::ForwardComplaintResponse> ForwardComplaint(
      const Id& caller, const v1::ForwardComplaintRequest& req);
  absl::StatusOr<v1::StartWorkResponse> StartWork(const Id& caller,
                                                  const v1::StartWorkRequest& req);
  absl::StatusOr<v1::PostFollowUpResponse> PostFollowUp(const Id& caller,
                                                        const v1::PostFollowUpRequest& req);
  absl::StatusOr<v1::CompleteComplaintResponse> CompleteComplaint(
      const Id& caller, const v1::CompleteComplaintRequest& req);
  absl::StatusOr<v1::ArchiveComplaintResponse> ArchiveComplaint(
      const Id& caller, const v1::ArchiveComplaintRequest& req);
  absl::StatusOr<v1::EscalateComplaintResponse> EscalateComplaint(
      const Id& caller, const v1::EscalateComplaintRequest& req);
  absl::StatusOr<v1::ResumeComplaintResponse> ResumeComplaint(
      const Id& caller, const v1::ResumeComplaintRequest& req);

  // Attachments (attachments.cc; who may do what: complaints.proto and attachments.h).
  absl::StatusOr<v1::UploadAttachmentResponse> UploadAttachment(
      const Id& caller, const v1::UploadAttachmentRequest& req);
  absl::StatusOr<v1::ListAttachmentsResponse> ListAttachments(
      const Id& caller, const v1::ListAttachmentsRequest& req);
  absl::StatusOr<v1::GetAttachmentResponse> GetAttachment(const Id& caller,
                                                          const v1::GetAttachmentRequest& req);
  absl::StatusOr<v1::RedactAttachmentResponse> RedactAttachment(
      const Id& caller, const v1::RedactAttachmentRequest& req);
  absl::StatusOr<v1::PublishAttachmentResponse> PublishAttachment(
      const Id& caller, const v1::PublishAttachmentRequest& req);

  // ScanOnce applies every scanner action that is due at the clock's now: escalation of
  // missed deadlines, auto-completion of silent RESPONDED cases, archiving of expired ON_HOLD
  // cases. It reads the deadline queue until nothing due is left, so it catches up after
  // downtime. Several replicas may scan at once: every action is a revision-checked commit of
  // a freshly read case, so each is applied exactly once. Returns the number applied.
  absl::StatusOr<int> ScanOnce();

  const ComplaintOptions& options() const { return options_; }

 private:
  // Step is one action on a case: it checks who may act and in which state, then changes
  // `next` (a copy of the current complaint) and fills the history entry's details.
  struct Step {
    v1::Complaint& next;
    v1::HistoryEntry& entry;
    bool deadline_missed = false;
    absl::Time now;
  };
  using Mutation = std::function<absl::Status(const v1::ComplaintRecord& current, Step& step)>;
  // NotePossibleDuplicates looks up the possible duplicates of the new case `c` (geo.h),
  // records the ids of those its agency handles on `c` and returns the publicly listed ones in
  // the public view, for the filer. A failed lookup is logged and suggests nothing.
  std::vector<v1::PublicComplaint> NotePossibleDuplicates(v1::Complaint& c, absl::Time now);

  // Act reads the case, applies `mutation` and commits with the read revision, retrying on a
  // race unless the caller gave `expected_revision` (then a stale revision is ABORTED).
  absl::StatusOr<v1::ComplaintRecord> Act(const Id& caller, std::string_view id_field,
                                          std::string_view id, int64_t expected_revision,
                                          std::string_view action, const Mutation& mutation);
  // ActAsComplainant authenticates with the tracking code and secret, then acts.
  absl::StatusOr<v1::ComplaintRecord> ActAsComplainant(std::string_view code,
                                                       std::string_view secret,
                                                       std::string_view action,
                                                       const Mutation& mutation);
  absl::StatusOr<v1::ComplaintRecord> LoadForComplainant(std::string_view code,
                                                         std::string_view secret);
  // Apply commits one step on `current`; nullopt when another writer won the race.
  absl::StatusOr<std::optional<v1::ComplaintRecord>> Apply(const Id& caller,
                                                           const v1::ComplaintRecord& current,
                                                           std::string_view action,
                                                           const Mutation& mutation);
  // ScanCase applies the due scanner action to one case; false when nothing was due any more.
  absl::StatusOr<bool> ScanCase(const std::string& id, absl::Time now);
  // ReadForAttachments loads a case for an attachment read or upload: with `secret` as its
  // complainant, else as `caller`. Sets `party` when the reader is the complainant or the
  // filing channel, `agency` when it handles the case or is a coordinator.
  struct AttachmentReader {
    v1::ComplaintRecord record;
    bool complainant = false;
    bool party = false;
    bool agency = false;
  };
  absl::StatusOr<AttachmentReader> ReadForAttachments(const Id& caller, std::string_view id,
                                                      std::string_view secret);

  absl::StatusOr<Deadline> WorkingDaysFrom(absl::Time from, int days,
                                           common::v1::TimeZone zone) const;
  absl::StatusOr<Deadline> CalendarDaysFrom(absl::Time from, int days,
                                            common::v1::TimeZone zone) const;

  ComplaintStore& store_;
  Router& router_;
  const CalendarRegistry& calendars_;
  const Clock& clock_;
  const ComplaintOptions options_;
  const SecretMinter secrets_;
};

// StateName is the enum name without its prefix, e.g. "IN_PROGRESS".
std::string StateName(v1::State state);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_COMPLAINTS_H_
