// The public and full views of a complaint.
#include "clients/complaints/views.h"

#include <cmath>
#include <string>

namespace simpul::complaints {

bool DeadlinePassed(bool has, const google::protobuf::Timestamp& deadline, absl::Time now) {
  return has && absl::ToUnixSeconds(now) > deadline.seconds();
}

bool IsOverdue(const v1::Complaint& complaint, absl::Time now) {
  return DeadlinePassed(complaint.deadlines().has_next(), complaint.deadlines().next(), now);
}

bool HasIdentity(const v1::Complainant& complainant) {
  return !complainant.name().empty() || !complainant.phone().empty() ||
         !complainant.email().empty() || !complainant.address().empty();
}

v1::Location CoarseLocation(const v1::Location& location) {
  v1::Location coarse;
  // Kemendagri codes PP.KK.CC.DDDD: keep province, regency or city, and district.
  const std::string& region = location.region_code();
  size_t dots = 0, end = 0;
  while (end < region.size() && !(region[end] == '.' && ++dots == 3)) ++end;
  coarse.set_region_code(region.substr(0, end));
  if (location.latitude() != 0 || location.longitude() != 0) {
    // Dividing by the step count gives the double nearest the two-decimal value.
    auto round = [](double degrees) {
      return std::round(degrees * kCoarseStepsPerDegree) / kCoarseStepsPerDegree;
    };
    coarse.set_latitude(round(location.latitude()));
    coarse.set_longitude(round(location.longitude()));
  }
  return coarse;
}

bool PublishedToPublic(const v1::Complaint& c, const v1::Attachment& a) {
  return c.confidentiality() == v1::CONFIDENTIALITY_PUBLIC && a.published() && !a.redacted() &&
         a.media_type().rfind("image/", 0) == 0;
}

v1::PublicComplaint PublicView(const v1::Complaint& c, absl::Time now) {
  v1::PublicComplaint p;
  p.set_id(c.id());
  p.set_report_type(c.report_type());
  p.set_channel(c.channel());
  p.set_state(c.state());
  p.set_confidentiality(c.confidentiality());
  p.set_title(c.title());
  p.set_description(c.description());
  if (c.has_location()) {
    *p.mutable_location() = c.confidentiality() == v1::CONFIDENTIALITY_ANONYMOUS
                                ? CoarseLocation(c.location())
                                : c.location();
  }
  if (c.confidentiality() == v1::CONFIDENTIALITY_PUBLIC) {
    p.set_complainant_name(c.complainant().name());
  }
  p.set_agency_id(c.agency_id());
  p.set_unit_id(c.unit_id());
  p.set_service_id(c.service_id());
  *p.mutable_deadlines() = c.deadlines();
  p.set_overdue(IsOverdue(c, now));
  p.set_rating(c.rating());
  *p.mutable_file_time() = c.file_time();
  *p.mutable_update_time() = c.update_time();
  p.set_archive_reason(c.archive_reason());
  for (const v1::Attachment& a : c.uploaded_attachments()) {
    if (!PublishedToPublic(c, a)) continue;
    v1::Attachment* shown = p.add_uploaded_attachments();
    *shown = a;
    shown->clear_redaction();
  }
  return p;
}

v1::Complaint FullView(const v1::Complaint& c, bool show_identity, absl::Time now) {
  v1::Complaint out = c;
  if (!show_identity) {
    out.set_identity_withheld(HasIdentity(c.complainant()));
    out.clear_complainant();
  }
  out.set_overdue(IsOverdue(c, now));
  return out;
}

std::string StateNote(v1::State state, v1::ArchiveReason reason, Lang lang) {
  if (state == v1::STATE_UNSPECIFIED || !v1::State_IsValid(state)) return "";
  // The enum value names without their prefixes: "IN_PROGRESS", "OUT_OF_SCOPE".
  const std::string reason_name =
      v1::ArchiveReason_IsValid(reason) ? v1::ArchiveReason_Name(reason) : "";
  return StatusNote(v1::State_Name(state).substr(6),
                    reason_name.size() > 15 ? reason_name.substr(15) : "", lang);
}

}  // namespace simpul::complaints
