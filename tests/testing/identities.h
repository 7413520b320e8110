// Callers for unit tests of the domain logic: the Identity a verified token of each role
// carries, with the subjects the tests use unless they name another.
#ifndef SIMPUL_TESTS_TESTING_IDENTITIES_H_
#define SIMPUL_TESTS_TESTING_IDENTITIES_H_

#include <string>
#include <vector>

#include "common/identity.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::testing {

// PlatformAdmin is a platform administrator (a coordinator of the whole platform).
inline Identity PlatformAdmin(const std::string& subject = "coordinator@lapor") {
  Identity id;
  id.principal.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  id.principal.set_subject(subject);
  return id;
}
// AgencyMember is an agency administrator or operator of `agency`.
inline Identity AgencyMember(common::v1::Role role, const std::string& agency,
                             const std::string& subject) {
  Identity id;
  id.principal.set_role(role);
  id.principal.set_agency_id(agency);
  id.principal.set_subject(subject);
  return id;
}
// AgencyAdmin is an administrator of `agency`.
inline Identity AgencyAdmin(const std::string& agency) {
  return AgencyMember(common::v1::ROLE_AGENCY_ADMIN, agency, "admin@" + agency);
}
// AgencyOperator is an operator of `agency`.
inline Identity AgencyOperator(const std::string& agency) {
  return AgencyMember(common::v1::ROLE_AGENCY_OPERATOR, agency, "operator@" + agency);
}
// ChannelCaller is an intake channel (an SMS gateway, a survey kiosk) named `channel`, whose
// key may act for every agency (scope_all_agencies).
inline Identity ChannelCaller(const std::string& channel) {
  Identity id;
  id.principal.set_role(common::v1::ROLE_CHANNEL);
  id.principal.set_channel(channel);
  id.principal.set_subject(channel + "-gateway-key");
  id.principal.set_scope_all_agencies(true);
  return id;
}
// ScopedChannelCaller is a channel whose key acts only for `agencies` and `units`.
inline Identity ScopedChannelCaller(const std::string& channel,
                                    const std::vector<std::string>& agencies,
                                    const std::vector<std::string>& units = {}) {
  Identity id = ChannelCaller(channel);
  id.principal.set_scope_all_agencies(false);
  for (const std::string& a : agencies) id.principal.add_scope_agency_ids(a);
  for (const std::string& u : units) id.principal.add_scope_unit_ids(u);
  return id;
}
// DashboardCaller is a read-only dashboard.
inline Identity DashboardCaller() {
  Identity id;
  id.principal.set_role(common::v1::ROLE_DASHBOARD);
  id.principal.set_subject("dashboard-ikm");
  return id;
}

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_IDENTITIES_H_
