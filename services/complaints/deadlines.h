// Deadlines of a case: timestamp conversions, the time zone deadlines are counted in, the
// next deadline the scanner acts on, and the completion that opens the reopen window. The
// working-day arithmetic itself is ComplaintDesk::WorkingDaysFrom (deadlines.cc), over the
// holiday calendar.
#ifndef SIMPUL_SERVICES_COMPLAINTS_DEADLINES_H_
#define SIMPUL_SERVICES_COMPLAINTS_DEADLINES_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/calendar.h"
#include "common/timestamp.h"
#include "google/protobuf/timestamp.pb.h"
#include "simpul/common/v1/common.pb.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

// ToMillis is a protobuf timestamp in Unix milliseconds (ToProto and FromProto, between
// absl::Time and protobuf timestamps, are common/timestamp.h).
int64_t ToMillis(const google::protobuf::Timestamp& ts);

// ZoneOf is the time zone the case's deadlines are counted in (WIB when not set).
common::v1::TimeZone ZoneOf(const v1::Complaint& c);

// SetNextDeadline sets deadlines.next to the deadline the scanner acts on in the case's state.
void SetNextDeadline(v1::Complaint& c);

// MarkCompleted sets the completion fields shared by CompleteComplaint and the scanner's
// auto-completion: state COMPLETED, the completion time, the reopen window, no rating yet.
absl::Status MarkCompleted(v1::Complaint& next, absl::Time now, const Deadline& reopen_until);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_DEADLINES_H_
