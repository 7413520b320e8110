// What a complainant does with the tracking code and secret: reply to the agency, rate the
// completed case, reopen it.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/complaints/access.h"
#include "services/complaints/complaints.h"
#include "services/complaints/deadlines.h"
#include "services/complaints/validation.h"

namespace simpul::complaints {

absl::StatusOr<v1::ReplyToComplaintResponse> ComplaintDesk::ReplyToComplaint(
    const Identity& caller, const v1::ReplyToComplaintRequest& req) {
  FieldViolations v;
  CheckChars(v, "message", req.message(), 1, 4000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      ActAsComplainant(req.tracking_code(), req.secret(), "ReplyToComplaint",
                       [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
                         const v1::Complaint& c = current.complaint();
                         if (c.state() == v1::STATE_COMPLETED || c.state() == v1::STATE_ARCHIVED) {
                           return absl::FailedPreconditionError(absl::StrCat(
                               "complaint ", c.id(), " is ", StateName(c.state()),
                               "; a closed case takes no replies",
                               c.state() == v1::STATE_COMPLETED ? " (use ReopenComplaint)" : ""));
                         }
                         s.entry.set_message(req.message());
                         if (c.state() == v1::STATE_RESPONDED) {
                           s.next.set_state(v1::STATE_IN_PROGRESS);
                           SIMPUL_ASSIGN_OR_RETURN(
                               Deadline d, WorkingDaysFrom(s.now,
                                                           c.response_working_days() > 0
                                                               ? c.response_working_days()
                                                               : options_.response_working_days,
                                                           ZoneOf(c)));
                           *s.next.mutable_deadlines()->mutable_respond_by() = ToProto(d.time);
                           s.next.mutable_deadlines()->clear_auto_complete_at();
                         } else if (c.state() == v1::STATE_ON_HOLD) {
                           // The file is complete now: verification starts again.
                           s.next.set_state(v1::STATE_RECEIVED);
                           SIMPUL_ASSIGN_OR_RETURN(
                               Deadline d,
                               WorkingDaysFrom(s.now, options_.verify_working_days, ZoneOf(c)));
                           *s.next.mutable_deadlines()->mutable_verify_by() = ToProto(d.time);
                           s.next.mutable_deadlines()->clear_auto_archive_at();
                         }
                         return absl::OkStatus();
                       }));
  return PublicResponse<v1::ReplyToComplaintResponse>(record, clock_.Now());
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
      ActAsComplainant(
          req.tracking_code(), req.secret(), "RateComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireState(c, "RateComplaint", {v1::STATE_COMPLETED}));
            if (c.rating() != 0) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "complaint ", c.id(), " is already rated ", c.rating(), " for this completion"));
            }
            s.next.set_rating(req.rating());
            s.next.set_rating_comment(req.comment());
            s.entry.set_rating(req.rating());
            return absl::OkStatus();
          }));
  return PublicResponse<v1::RateComplaintResponse>(record, clock_.Now());
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
            if (DeadlinePassed(c.deadlines().has_reopen_until(), c.deadlines().reopen_until(),
                               s.now)) {
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
            if (DeadlinePassed(c.deadlines().has_resolve_by(), c.deadlines().resolve_by(), s.now)) {
              // The old resolution deadline is gone: the reopened case gets a new period.
              absl::StatusOr<Deadline> resolve =
                  c.resolution_working_days() > 0
                      ? WorkingDaysFrom(s.now, c.resolution_working_days(), ZoneOf(c))
                      : CalendarDaysFrom(s.now, options_.resolution_calendar_days, ZoneOf(c));
              if (!resolve.ok()) return resolve.status();
              *s.next.mutable_deadlines()->mutable_resolve_by() = ToProto(resolve->time);
            }
            SIMPUL_ASSIGN_OR_RETURN(
                Deadline d,
                WorkingDaysFrom(s.now,
                                c.response_working_days() > 0 ? c.response_working_days()
                                                              : options_.response_working_days,
                                ZoneOf(c)));
            *s.next.mutable_deadlines()->mutable_respond_by() = ToProto(d.time);
            return absl::OkStatus();
          }));
  return PublicResponse<v1::ReopenComplaintResponse>(record, clock_.Now());
}

}  // namespace simpul::complaints
