// The two views of a complaint that readers get: the public view (what anyone may see of a
// listed case) and the full view (what the handling agency and coordinators see). The
// complaint service answers with them, and the gateway's Open311 front renders the public view
// of a case it read in full, so both show the same fields. Depends on the complaints proto
// only: no store, no desk.
#ifndef SIMPUL_CLIENTS_COMPLAINTS_VIEWS_H_
#define SIMPUL_CLIENTS_COMPLAINTS_VIEWS_H_

#include <string>

#include "absl/time/time.h"
#include "common/messages.h"
#include "google/protobuf/timestamp.pb.h"
#include "simpul/complaints/v1/complaints.pb.h"

namespace simpul::complaints {

// DeadlinePassed: `has` (the deadline is set) and `now` is past it. A deadline is missed once
// the whole second after it has begun.
bool DeadlinePassed(bool has, const google::protobuf::Timestamp& deadline, absl::Time now);

// IsOverdue: the case's next deadline (deadlines.next) has passed at `now`.
bool IsOverdue(const v1::Complaint& complaint, absl::Time now);

// HasIdentity: the complainant gave a name, phone, e-mail or address.
bool HasIdentity(const v1::Complainant& complainant);

// kCoarseStepsPerDegree is the grid CoarseLocation rounds coordinates to: 0.01 degree, about
// 1.1 km of latitude (and of longitude near the equator, which crosses Indonesia).
inline constexpr double kCoarseStepsPerDegree = 100;

// CoarseLocation is `location` as the public may see it for an ANONYMOUS case, where a house
// could point at the complainant: no street address (free text), the region code cut to the
// district (PP.KK.CC), and coordinates rounded to 1 / kCoarseStepsPerDegree.
v1::Location CoarseLocation(const v1::Location& location);

// PublishedToPublic: uploaded attachment `a` of case `c` may be shown in the public view: the
// case is PUBLIC (never SECRET or ANONYMOUS: a photo may show who complained), the handling
// agency published it, it is an image (image/*) and not redacted. Its `redaction` is never
// shown.
bool PublishedToPublic(const v1::Complaint& c, const v1::Attachment& a);

// PublicView is the case as the public sees it at `now`: no contact details, the complainant's
// name only for a PUBLIC case, the location coarsened for an ANONYMOUS one (CoarseLocation),
// the deadlines, whether it is overdue, the rating and the published attachments
// (PublishedToPublic).
v1::PublicComplaint PublicView(const v1::Complaint& complaint, absl::Time now);

// FullView is the whole case at `now`, with `overdue` set. Without `show_identity` the
// complainant is cleared and `identity_withheld` says whether there was one to withhold; who
// may see it is the service's rule (services/complaints/access.h, CanSeeIdentity).
v1::Complaint FullView(const v1::Complaint& complaint, bool show_identity, absl::Time now);

// StateNote says what `state` (and, for an archived case, `reason`) means to the
// complainant, in `lang` (common/messages.h StatusNote); "" for an unspecified or unknown
// state, and an unknown reason is left blank. Webhook bodies and Open311's status_notes carry
// it.
std::string StateNote(v1::State state, v1::ArchiveReason reason, Lang lang);

}  // namespace simpul::complaints

#endif  // SIMPUL_CLIENTS_COMPLAINTS_VIEWS_H_
