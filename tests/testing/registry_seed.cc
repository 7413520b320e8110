#include "tests/testing/registry_seed.h"

#include "gtest/gtest.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::testing {

using Stub = rv1::Registry::Stub;

void RegistrySeeder::CreateAgency(const Caller& who, const std::string& id, rv1::AgencyKind kind,
                                  const std::string& region) {
  rv1::CreateAgencyRequest req;
  *req.mutable_agency() = MakeAgency(id, kind, region);
  MustCall(stub_, &Stub::CreateAgency, who, req);
}

void RegistrySeeder::CreateUnit(const Caller& who, const std::string& id, const std::string& agency,
                                const std::string& name) {
  rv1::CreateServiceUnitRequest req;
  req.mutable_unit()->set_id(id);
  req.mutable_unit()->set_agency_id(agency);
  req.mutable_unit()->set_name(name);
  req.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
  MustCall(stub_, &Stub::CreateServiceUnit, who, req);
}

void RegistrySeeder::CreateService(const Caller& who, const std::string& id,
                                   const std::string& unit, const std::string& name) {
  rv1::CreateServiceRequest req;
  req.mutable_service()->set_id(id);
  req.mutable_service()->set_unit_id(unit);
  req.mutable_service()->set_name(name);
  MustCall(stub_, &Stub::CreateService, who, req);
}

rv1::StandardVersion RegistrySeeder::DraftInConsultation(const Caller& op,
                                                         const std::string& service,
                                                         const rv1::StandardComponents& components,
                                                         int year) {
  rv1::CreateStandardVersionRequest create;
  create.set_service_id(service);
  *create.mutable_components() = components;
  auto created = MustCall(stub_, &Stub::CreateStandardVersion, op, create);
  rv1::StartPublicConsultationRequest start;
  start.set_id(created.version().id());
  start.set_expected_revision(created.version().revision());
  auto started = MustCall(stub_, &Stub::StartPublicConsultation, op, start);
  rv1::RecordConsultationRequest consult;
  consult.set_id(created.version().id());
  consult.set_expected_revision(started.version().revision());
  *consult.mutable_consultation()->mutable_date() = MakeDate(year, 1, 10);
  consult.mutable_consultation()->set_participant_count(30);
  consult.mutable_consultation()->set_summary("Forum konsultasi publik di kantor camat");
  return MustCall(stub_, &Stub::RecordConsultation, op, consult).version();
}

rv1::StandardVersion RegistrySeeder::AdoptStandard(const Caller& op, const Caller& admin,
                                                   const std::string& service,
                                                   const rv1::StandardComponents& components,
                                                   int year) {
  rv1::StandardVersion draft = DraftInConsultation(op, service, components, year);
  rv1::StandardVersion adopted =
      MustCall(stub_, &Stub::AdoptStandardVersion, admin, AdoptRequest(draft, year)).version();
  EXPECT_EQ(adopted.state(), rv1::STANDARD_STATE_ADOPTED) << service;
  return adopted;
}

rv1::AdoptStandardVersionRequest AdoptRequest(const rv1::StandardVersion& version, int year) {
  rv1::AdoptStandardVersionRequest adopt;
  adopt.set_id(version.id());
  adopt.set_expected_revision(version.revision());
  adopt.mutable_adoption()->set_decree_number("SK No. 470/12/2026");
  *adopt.mutable_adoption()->mutable_decree_date() = MakeDate(year, 1, 20);
  *adopt.mutable_adoption()->mutable_effective_from() = MakeDate(year, 2, 1);
  auto* pub = adopt.add_publications();
  pub->set_medium(rv1::PUBLICATION_MEDIUM_WEBSITE);
  pub->set_location("https://layanan.example.go.id/standar-pelayanan");
  return adopt;
}

}  // namespace simpul::testing
