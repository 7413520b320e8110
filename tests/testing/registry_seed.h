// Registry seeding for end-to-end tests: agencies, units, services and standards created
// through a real simpul-registry (directly or through the gateway), each call required to
// succeed (a non-fatal failure otherwise: check HasFailure() after seeding).
#ifndef SIMPUL_TESTS_TESTING_REGISTRY_SEED_H_
#define SIMPUL_TESTS_TESTING_REGISTRY_SEED_H_

#include <string>

#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/identity_tokens.h"

namespace simpul::testing {

namespace rv1 = ::simpul::registry::v1;

// RegistrySeeder makes the registry calls that set up a test.
class RegistrySeeder {
 public:
  explicit RegistrySeeder(rv1::Registry::Stub* stub) : stub_(stub) {}

  void CreateAgency(const Caller& who, const std::string& id, rv1::AgencyKind kind,
                    const std::string& region);
  // CreateUnit creates a service unit in WIB.
  void CreateUnit(const Caller& who, const std::string& id, const std::string& agency,
                  const std::string& name);
  void CreateService(const Caller& who, const std::string& id, const std::string& unit,
                     const std::string& name);
  // DraftInConsultation creates a standard version of `service` with `components` and takes it
  // through public consultation (held on 10 January of `year`).
  rv1::StandardVersion DraftInConsultation(const Caller& op, const std::string& service,
                                           const rv1::StandardComponents& components,
                                           int year = 2026);
  // AdoptStandard takes a new standard through consultation to adoption (decree of 20
  // January, effective 1 February of `year`) and returns the adopted version.
  rv1::StandardVersion AdoptStandard(const Caller& op, const Caller& admin,
                                     const std::string& service,
                                     const rv1::StandardComponents& components, int year = 2026);

 private:
  rv1::Registry::Stub* stub_;
};

// AdoptRequest adopts `version` (at its revision) by decree of 20 January, effective 1
// February of `year`, published on a website.
rv1::AdoptStandardVersionRequest AdoptRequest(const rv1::StandardVersion& version, int year = 2026);

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_REGISTRY_SEED_H_
