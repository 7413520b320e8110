// Deadlines of a case, and the desk's working-day and calendar-day arithmetic.
#include "services/complaints/deadlines.h"

#include <optional>

#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status.h"
#include "services/complaints/complaints.h"

namespace simpul::complaints {

using common::v1::TimeZone;

int64_t ToMillis(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1000000;
}

TimeZone ZoneOf(const v1::Complaint& c) {
  return c.time_zone() == common::v1::TIME_ZONE_UNSPECIFIED ? common::v1::TIME_ZONE_WIB
                                                            : c.time_zone();
}

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

absl::Status MarkCompleted(v1::Complaint& next, absl::Time now, const Deadline& reopen_until) {
  next.set_state(v1::STATE_COMPLETED);
  *next.mutable_complete_time() = ToProto(now);
  *next.mutable_deadlines()->mutable_reopen_until() = ToProto(reopen_until.time);
  next.set_rating(0);
  next.clear_rating_comment();
  return absl::OkStatus();
}

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

}  // namespace simpul::complaints
