// The handling of a case by its agency and the coordinators (domain.md section 2): route,
// hold, verify, dispose, forward, start work, follow up, complete, archive, escalate, resume.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/field_rules.h"
#include "common/status.h"
#include "services/complaints/access.h"
#include "services/complaints/complaints.h"
#include "services/complaints/deadlines.h"
#include "services/complaints/routes.h"
#include "services/complaints/validation.h"

namespace simpul::complaints {
namespace {

// Strictness orders confidentiality: PUBLIC < SECRET < ANONYMOUS.
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

}  // namespace

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
            ApplyRoute(s.next, *route, FromProto(c.file_time()));
            // Routing by hand re-plans verification: the agency gets its working
            // days from when the case reaches it, in its unit's time zone.
            SIMPUL_ASSIGN_OR_RETURN(
                Deadline d, WorkingDaysFrom(s.now, options_.verify_working_days, ZoneOf(s.next)));
            *s.next.mutable_deadlines()->mutable_verify_by() = ToProto(d.time);
            s.entry.set_reason(req.reason());
            s.entry.set_to_agency_id(route->agency_id);
            s.entry.set_to_unit_id(route->unit_id);
            return absl::OkStatus();
          }));
  return FullResponse<v1::RouteComplaintResponse>(caller, record, clock_.Now());
}

absl::StatusOr<v1::HoldComplaintResponse> ComplaintDesk::HoldComplaint(
    const Identity& caller, const v1::HoldComplaintRequest& req) {
  FieldViolations v;
  CheckChars(v, "message", req.message(), 1, 4000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "HoldComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireHandlerOrUnroutedCoordinator(caller, c));
            SIMPUL_RETURN_IF_ERROR(RequireState(c, "HoldComplaint", {v1::STATE_RECEIVED}));
            s.next.set_state(v1::STATE_ON_HOLD);
            s.entry.set_message(req.message());
            SIMPUL_ASSIGN_OR_RETURN(
                Deadline d, CalendarDaysFrom(s.now, options_.hold_calendar_days, ZoneOf(c)));
            *s.next.mutable_deadlines()->mutable_auto_archive_at() = ToProto(d.time);
            return absl::OkStatus();
          }));
  return FullResponse<v1::HoldComplaintResponse>(caller, record, clock_.Now());
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
              // The classes of the version recorded at filing (in force then), not of a
              // standard adopted since.
              const std::vector<clients::registry::ResolutionClassTerm> classes =
                  ResolutionClassesOf(*route, c.standard_version_id());
              for (const auto& term : classes) {
                if (term.name == req.resolution_class()) resolution_days = term.working_days;
              }
              if (resolution_days <= 0) {
                std::vector<std::string> names;
                for (const auto& term : classes) names.push_back(term.name);
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
                DeadlinePassed(c.deadlines().has_verify_by(), c.deadlines().verify_by(), s.now);
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
  return FullResponse<v1::VerifyComplaintResponse>(caller, record, clock_.Now());
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
                DeadlinePassed(c.deadlines().has_dispose_by(), c.deadlines().dispose_by(), s.now);
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
            SIMPUL_ASSIGN_OR_RETURN(
                Deadline d,
                WorkingDaysFrom(s.now,
                                c.response_working_days() > 0 ? c.response_working_days()
                                                              : options_.response_working_days,
                                ZoneOf(s.next)));
            *s.next.mutable_deadlines()->mutable_respond_by() = ToProto(d.time);
            return absl::OkStatus();
          }));
  return FullResponse<v1::DisposeComplaintResponse>(caller, record, clock_.Now());
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
            SIMPUL_ASSIGN_OR_RETURN(
                Deadline d, WorkingDaysFrom(s.now, options_.dispose_working_days, ZoneOf(s.next)));
            *s.next.mutable_deadlines()->mutable_dispose_by() = ToProto(d.time);
            return absl::OkStatus();
          }));
  v1::ForwardComplaintResponse response;
  // The forwarding agency no longer handles the case: it gets the view of a non-handler.
  *response.mutable_complaint() = FullViewFor(caller, record.complaint(), clock_.Now());
  return response;
}

absl::StatusOr<v1::StartWorkResponse> ComplaintDesk::StartWork(const Identity& caller,
                                                               const v1::StartWorkRequest& req) {
  FieldViolations v;
  CheckChars(v, "note", req.note(), 0, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record, Act(caller, "id", req.id(), req.expected_revision(), "StartWork",
                       [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
                         const v1::Complaint& c = current.complaint();
                         SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, false));
                         SIMPUL_RETURN_IF_ERROR(RequireState(c, "StartWork", {v1::STATE_DISPOSED}));
                         s.next.set_state(v1::STATE_IN_PROGRESS);
                         s.entry.set_reason(req.note());
                         return absl::OkStatus();
                       }));
  return FullResponse<v1::StartWorkResponse>(caller, record, clock_.Now());
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
                  DeadlinePassed(c.deadlines().has_respond_by(), c.deadlines().respond_by(), s.now);
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
  return FullResponse<v1::PostFollowUpResponse>(caller, record, clock_.Now());
}

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
                DeadlinePassed(c.deadlines().has_resolve_by(), c.deadlines().resolve_by(), s.now);
            s.entry.set_reason(req.note());
            SIMPUL_ASSIGN_OR_RETURN(
                Deadline reopen, WorkingDaysFrom(s.now, options_.reopen_working_days, ZoneOf(c)));
            return MarkCompleted(s.next, s.now, reopen);
          }));
  return FullResponse<v1::CompleteComplaintResponse>(caller, record, clock_.Now());
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
  return FullResponse<v1::ArchiveComplaintResponse>(caller, record, clock_.Now());
}

absl::StatusOr<v1::EscalateComplaintResponse> ComplaintDesk::EscalateComplaint(
    const Identity& caller, const v1::EscalateComplaintRequest& req) {
  FieldViolations v;
  CheckChars(v, "reason", req.reason(), 1, 1000);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(
      auto record,
      Act(caller, "id", req.id(), req.expected_revision(), "EscalateComplaint",
          [&](const v1::ComplaintRecord& current, Step& s) -> absl::Status {
            const v1::Complaint& c = current.complaint();
            SIMPUL_RETURN_IF_ERROR(RequireHandler(caller, c, /*coordinator_too=*/true));
            SIMPUL_RETURN_IF_ERROR(
                RequireState(c, "EscalateComplaint",
                             {v1::STATE_RECEIVED, v1::STATE_VERIFIED, v1::STATE_DISPOSED,
                              v1::STATE_FORWARDED, v1::STATE_IN_PROGRESS}));
            s.next.set_state(v1::STATE_ESCALATED);
            s.entry.set_reason(req.reason());
            return absl::OkStatus();
          }));
  return FullResponse<v1::EscalateComplaintResponse>(caller, record, clock_.Now());
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
                               "only coordinators and admins of the handling agency resume "
                               "escalated complaints");
            }
            SIMPUL_RETURN_IF_ERROR(RequireState(c, "ResumeComplaint", {v1::STATE_ESCALATED}));
            if (c.unit_id().empty()) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "complaint ", c.id(), " has no unit to work on it; route or dispose it first"));
            }
            s.next.set_state(v1::STATE_IN_PROGRESS);
            s.entry.set_reason(req.note());
            SIMPUL_ASSIGN_OR_RETURN(
                Deadline resolve,
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
  return FullResponse<v1::ResumeComplaintResponse>(caller, record, clock_.Now());
}

}  // namespace simpul::complaints
