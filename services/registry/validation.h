// Validation of registry requests. Each function adds one FieldViolation per bad field,
// prefixing field paths with `path` (e.g. "agency."), so a caller learns every problem at once.
#ifndef SIMPUL_SERVICES_REGISTRY_VALIDATION_H_
#define SIMPUL_SERVICES_REGISTRY_VALIDATION_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/field_rules.h"
#include "common/status.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::registry {

namespace v1 = ::simpul::registry::v1;

void ValidateAgency(FieldViolations& v, const std::string& path, const v1::Agency& agency);
void ValidateUnit(FieldViolations& v, const std::string& path, const v1::ServiceUnit& unit);
void ValidateService(FieldViolations& v, const std::string& path, const v1::Service& service);
// ValidateComponents checks every component that is present; an incomplete standard is
// valid (a draft may be partial). Completeness is MissingComponents.
void ValidateComponents(FieldViolations& v, const std::string& path,
                        const v1::StandardComponents& components);
void ValidateConsultation(FieldViolations& v, const std::string& path,
                          const v1::Consultation& consultation, absl::CivilDay today);
void ValidatePublications(FieldViolations& v, const std::string& path,
                          const google::protobuf::RepeatedPtrField<v1::Publication>& pubs,
                          bool at_least_one);

// MissingComponents lists the keys (as in domain.md, e.g. "legal_basis", "fee") of the
// components that are not filled in, in the order of the law.
std::vector<std::string> MissingComponents(const v1::StandardComponents& components);

// StateName is the enum name without its prefix, e.g. "PUBLIC_CONSULTATION".
std::string StateName(v1::StandardState state);
std::string MaklumatStateName(v1::MaklumatState state);

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_VALIDATION_H_
