// How the desk acts on a case: read it, check and apply one step, commit it with the read
// revision (retrying a lost race), as the caller or as the complainant with code and secret.
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/status.h"
#include "services/complaints/complaints.h"
#include "services/complaints/deadlines.h"
#include "services/complaints/history.h"
#include "services/complaints/tracking.h"
#include "services/complaints/validation.h"

namespace simpul::complaints {

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

}  // namespace simpul::complaints
