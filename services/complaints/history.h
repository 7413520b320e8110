// What an action leaves behind besides the changed case: who acted (the history entry's
// actor) and the change event other services consume.
#ifndef SIMPUL_SERVICES_COMPLAINTS_HISTORY_H_
#define SIMPUL_SERVICES_COMPLAINTS_HISTORY_H_

#include <string>

#include "common/identity.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

// SetActor names the caller in the history entry: subject, kind and, for agency staff, the
// agency.
void SetActor(const Identity& caller, v1::HistoryEntry& entry);

// MakeEvent is the change event of `entry` on case `c` (as it is after the action). A
// different previous agency or unit marks the holder as changed.
v1::ComplaintEvent MakeEvent(const v1::Complaint& c, const v1::HistoryEntry& entry,
                             bool deadline_missed, const std::string& previous_agency,
                             const std::string& previous_unit);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_HISTORY_H_
