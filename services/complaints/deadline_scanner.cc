// The deadline scanner: escalates missed deadlines, auto-completes silent RESPONDED cases and
// archives expired ON_HOLD ones, exactly once across replicas.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/complaints/views.h"
#include "common/logging.h"
#include "common/status.h"
#include "services/complaints/complaints.h"
#include "services/complaints/deadlines.h"

namespace simpul::complaints {

absl::StatusOr<bool> ComplaintDesk::ScanCase(const std::string& id, absl::Time now) {
  for (int attempt = 0; attempt < options_.max_commit_attempts; ++attempt) {
    SIMPUL_ASSIGN_OR_RETURN(auto current, store_.Get(id));
    if (!current) return false;
    const v1::Complaint& c = current->complaint();
    // Another replica may have acted meanwhile: act only if the deadline has really passed.
    if (!DeadlinePassed(c.deadlines().has_next(), c.deadlines().next(), now)) return false;
    std::string action;
    Mutation mutation;
    switch (c.state()) {
      case v1::STATE_RESPONDED:
        action = "AutoComplete";
        mutation = [this](const v1::ComplaintRecord& cur, Step& s) -> absl::Status {
          s.entry.set_reason(absl::StrCat("no reply within ", options_.auto_complete_working_days,
                                          " working days of the last follow-up"));
          SIMPUL_ASSIGN_OR_RETURN(
              Deadline reopen,
              WorkingDaysFrom(s.now, options_.reopen_working_days, ZoneOf(cur.complaint())));
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
          } else if (DeadlinePassed(d.has_respond_by(), d.respond_by(), s.now)) {
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
