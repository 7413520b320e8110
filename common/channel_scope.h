// Channel scope: the agencies and service units a ROLE_CHANNEL principal may act for (file
// complaints, submit survey responses). Checked where a principal is made (API keys, client
// certificates) and where it acts (the complaint and monitoring services), so a channel key
// bound to one agency cannot file for, or move the figures of, another.
#ifndef SIMPUL_COMMON_CHANNEL_SCOPE_H_
#define SIMPUL_COMMON_CHANNEL_SCOPE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/status.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul {

// kMaxScopeEntries bounds scope_agency_ids and scope_unit_ids (each).
inline constexpr int kMaxScopeEntries = 200;

// CheckChannelScope adds to `v` (fields under `prefix`, e.g. "principal") what is wrong with
// the scope of `p`: a channel must name at least one agency or unit, or set
// scope_all_agencies (then no list); each id is a slug, listed once, at most kMaxScopeEntries
// per list; other roles carry no scope.
void CheckChannelScope(const common::v1::Principal& p, std::string_view prefix, FieldViolations& v);

// ChannelMayActFor is true when the channel principal `p` may act for the unit `unit_id` of
// agency `agency_id` (either may be empty when not known: an unrouted complaint).
bool ChannelMayActFor(const common::v1::Principal& p, std::string_view agency_id,
                      std::string_view unit_id);

// RequireChannelScope is OK for a principal that is not a channel or a channel that may act
// for the unit; otherwise PERMISSION_DENIED saying what (`what`, e.g. "filing complaints")
// the key is not bound to.
absl::Status RequireChannelScope(const common::v1::Principal& p, std::string_view agency_id,
                                 std::string_view unit_id, std::string_view what);

}  // namespace simpul

#endif  // SIMPUL_COMMON_CHANNEL_SCOPE_H_
