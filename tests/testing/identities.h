// Callers for unit tests of the domain logic: the Identity a verified token of each role
// carries, with the subjects the tests use unless they name another.
#ifndef SIMPUL_TESTS_TESTING_IDENTITIES_H_
#define SIMPUL_TESTS_TESTING_IDENTITIES_H_

#include <string>

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
// ChannelCaller is an intake channel (an SMS gateway, a survey kiosk) named `channel`.
inline Identity ChannelCaller(const std::string& channel) {
  Identity id;
  id.principal.set_role(common::v1::ROLE_CHANNEL);
  id.principal.set_channel(channel);
  id.principal.set_subject(channel + "-gateway-key");
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
