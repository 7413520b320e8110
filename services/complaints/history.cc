// History entries' actors and change events of the complaint desk.
#include "services/complaints/history.h"

#include "absl/strings/str_cat.h"
#include "services/complaints/deadlines.h"
#include "services/complaints/store.h"

namespace simpul::complaints {

void SetActor(const Identity& caller, v1::HistoryEntry& entry) {
  const auto& p = caller.principal;
  entry.set_actor(caller.subject());
  switch (p.role()) {
    case common::v1::ROLE_AGENCY_ADMIN:
    case common::v1::ROLE_AGENCY_OPERATOR:
      entry.set_actor_kind(v1::ACTOR_KIND_AGENCY);
      entry.set_actor_agency_id(p.agency_id());
      break;
    case common::v1::ROLE_PLATFORM_ADMIN:
      entry.set_actor_kind(v1::ACTOR_KIND_COORDINATOR);
      break;
    case common::v1::ROLE_CHANNEL:
      entry.set_actor_kind(v1::ACTOR_KIND_CHANNEL);
      break;
    default:
      entry.set_actor_kind(v1::ACTOR_KIND_COMPLAINANT);
      break;
  }
}

v1::ComplaintEvent MakeEvent(const v1::Complaint& c, const v1::HistoryEntry& entry,
                             bool deadline_missed, const std::string& previous_agency,
                             const std::string& previous_unit) {
  v1::ComplaintEvent e;
  e.set_event_id(absl::StrCat(c.id(), "/", entry.sequence()));
  e.set_payload_version(1);
  e.set_complaint_id(c.id());
  e.set_sequence(entry.sequence());
  e.set_action(entry.action());
  *e.mutable_time() = entry.time();
  e.set_from_state(entry.from_state());
  e.set_to_state(entry.to_state());
  e.set_report_type(c.report_type());
  e.set_channel(c.channel());
  e.set_agency_id(c.agency_id());
  e.set_unit_id(c.unit_id());
  e.set_service_id(c.service_id());
  e.set_region_code(c.location().region_code());
  *e.mutable_file_time() = c.file_time();
  *e.mutable_deadlines() = c.deadlines();
  e.set_rating(entry.rating());
  e.set_deadline_missed(deadline_missed);
  e.set_archive_reason(c.archive_reason());
  if (previous_agency != c.agency_id() || previous_unit != c.unit_id()) {
    e.set_holder_changed(true);
    e.set_previous_agency_id(previous_agency);
    e.set_previous_unit_id(previous_unit);
  }
  e.set_time_zone(ZoneOf(c));
  e.mutable_audience()->set_channel_name(c.channel_name());
  e.mutable_audience()->set_publicly_listed(IsPubliclyListed(c));
  return e;
}

}  // namespace simpul::complaints
