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
// ValidateServiceAttributes checks a service's intake questions (path e.g. "service."): at
// most kMaxServiceAttributes, codes unique, list values unique, each rule of
// v1::ServiceAttribute; violations name e.g. "service.attributes[2].values[0].key".
void ValidateServiceAttributes(
    FieldViolations& v, const std::string& path,
    const google::protobuf::RepeatedPtrField<v1::ServiceAttribute>& attributes);
inline constexpr int kMaxServiceAttributes = 20;
inline constexpr int kMaxAttributeValues = 50;
// Default and cap of an answer's length for STRING and TEXT attributes (max_length 0).
inline constexpr int kMaxStringAnswer = 500;
inline constexpr int kMaxTextAnswer = 4000;
// IsValidAttributeCode: 1..64 characters of A-Z a-z 0-9 _ -, starting with a letter or digit.
bool IsValidAttributeCode(absl::string_view code);
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
