#include "services/registry/validation.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/excerpt.h"

namespace simpul::registry {
namespace {

constexpr size_t kMaxListItems = 100;

template <typename List>
void CheckListSize(FieldViolations& v, const std::string& field, const List& list) {
  if (static_cast<size_t>(list.size()) > kMaxListItems) {
    v.Add(field, absl::StrCat("at most ", kMaxListItems, " items, got ", list.size()));
  }
}

}  // namespace

void ValidateAgency(FieldViolations& v, const std::string& path, const v1::Agency& agency) {
  CheckSlug(v, path + "id", agency.id());
  CheckText(v, path + "name", agency.name(), 3, 200);
  if (agency.kind() == v1::AGENCY_KIND_UNSPECIFIED || !v1::AgencyKind_IsValid(agency.kind())) {
    v.Add(path + "kind", "required: one of MINISTRY, AGENCY, PROVINCE, REGENCY, CITY, OTHER");
  }
  const std::string& region = agency.region_code();
  bool regional = agency.kind() == v1::AGENCY_KIND_PROVINCE ||
                  agency.kind() == v1::AGENCY_KIND_REGENCY || agency.kind() == v1::AGENCY_KIND_CITY;
  if (region.empty()) {
    if (regional) v.Add(path + "region_code", "required for a regional government");
  } else if (!IsValidRegionCode(region)) {
    v.Add(path + "region_code",
          absl::StrCat("\"", Excerpt(region, 40),
                       "\" is not a Kemendagri region code (PP, PP.KK, PP.KK.CC or "
                       "PP.KK.CC.DDDD, e.g. 33.73.04.1001)"));
  } else if (agency.kind() == v1::AGENCY_KIND_PROVINCE && RegionLevel(region) != 1) {
    v.Add(path + "region_code", "a province's code has one level, e.g. \"13\"");
  } else if (agency.kind() == v1::AGENCY_KIND_REGENCY || agency.kind() == v1::AGENCY_KIND_CITY) {
    if (RegionLevel(region) != 2) {
      v.Add(path + "region_code", "a regency's or city's code has two levels, e.g. \"13.05\"");
    } else {
      int kk = (region[3] - '0') * 10 + (region[4] - '0');
      if (agency.kind() == v1::AGENCY_KIND_REGENCY && (kk < 1 || kk > 69)) {
        v.Add(path + "region_code", "a regency's code is PP.01 .. PP.69");
      }
      if (agency.kind() == v1::AGENCY_KIND_CITY && kk < 71) {
        v.Add(path + "region_code", "a city's code is PP.71 .. PP.99");
      }
    }
  }
  CheckText(v, path + "budget_code", agency.budget_code(), 0, 64);
  CheckText(v, path + "work_unit_code", agency.work_unit_code(), 0, 64);
  CheckText(v, path + "website", agency.website(), 0, 300);
  if (!agency.website().empty() && !absl::StartsWith(agency.website(), "https://") &&
      !absl::StartsWith(agency.website(), "http://")) {
    v.Add(path + "website", "must start with http:// or https://");
  }
}

void ValidateUnit(FieldViolations& v, const std::string& path, const v1::ServiceUnit& unit) {
  if (!unit.id().empty()) CheckSlug(v, path + "id", unit.id());
  CheckSlug(v, path + "agency_id", unit.agency_id());
  CheckText(v, path + "name", unit.name(), 3, 200);
  if (unit.time_zone() == common::v1::TIME_ZONE_UNSPECIFIED ||
      !common::v1::TimeZone_IsValid(unit.time_zone())) {
    v.Add(path + "time_zone", "required: one of WIB, WITA, WIT");
  }
  if (!unit.region_code().empty() && !IsValidRegionCode(unit.region_code())) {
    v.Add(path + "region_code",
          absl::StrCat("\"", Excerpt(unit.region_code(), 40),
                       "\" is not a Kemendagri region code (e.g. 33.73.04.1001)"));
  }
  CheckText(v, path + "address", unit.address(), 0, 500);
}

void ValidateService(FieldViolations& v, const std::string& path, const v1::Service& service) {
  if (!service.id().empty()) CheckSlug(v, path + "id", service.id());
  CheckSlug(v, path + "unit_id", service.unit_id());
  CheckText(v, path + "name", service.name(), 3, 200);
  CheckText(v, path + "description", service.description(), 0, 2000);
  ValidateServiceAttributes(v, path, service.attributes());
}

bool IsValidAttributeCode(absl::string_view code) {
  if (code.empty() || code.size() > 64 || !absl::ascii_isalnum(code[0])) return false;
  for (char ch : code) {
    if (!absl::ascii_isalnum(ch) && ch != '_' && ch != '-') return false;
  }
  return true;
}

void ValidateServiceAttributes(
    FieldViolations& v, const std::string& path,
    const google::protobuf::RepeatedPtrField<v1::ServiceAttribute>& attributes) {
  if (attributes.size() > kMaxServiceAttributes) {
    v.Add(path + "attributes",
          absl::StrCat("at most ", kMaxServiceAttributes, " attributes, got ", attributes.size()));
    return;
  }
  std::set<std::string> codes;
  for (int i = 0; i < attributes.size(); ++i) {
    const v1::ServiceAttribute& a = attributes[i];
    const std::string p = absl::StrCat(path, "attributes[", i, "].");
    if (!IsValidAttributeCode(a.code())) {
      v.Add(p + "code", absl::StrCat("\"", Excerpt(a.code(), 40),
                                     "\" is not a code: 1..64 characters of A-Z a-z 0-9 _ -, "
                                     "starting with a letter or digit"));
    } else if (a.code() == "idempotency_key") {
      // Open311 channels send their retry key as attribute[idempotency_key].
      v.Add(p + "code", "\"idempotency_key\" is reserved for Open311 filings' retry key");
    } else if (!codes.insert(a.code()).second) {
      v.Add(p + "code", absl::StrCat("duplicate code \"", a.code(), "\""));
    }
    CheckText(v, p + "description", a.description(), 1, 500);
    CheckText(v, p + "datatype_description", a.datatype_description(), 0, 500);
    if (a.order() < 0 || a.order() > 1000) {
      v.Add(p + "order", absl::StrCat("must be 0..1000, got ", a.order()));
    }
    const v1::AttributeDatatype type = a.datatype();
    if (!v1::AttributeDatatype_IsValid(type) ||
        (a.variable() && type == v1::ATTRIBUTE_DATATYPE_UNSPECIFIED)) {
      v.Add(p + "datatype",
            "required for a variable attribute: STRING, NUMBER, DATETIME, TEXT, "
            "SINGLE_VALUE_LIST or MULTI_VALUE_LIST");
    }
    const bool list = type == v1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST ||
                      type == v1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST;
    if (!a.variable()) {
      if (a.required())
        v.Add(p + "required",
              "an informational attribute (variable false) takes no answer, so it cannot be "
              "required");
      if (list) v.Add(p + "datatype", "an informational attribute (variable false) is not a list");
    }
    if (list) {
      if (a.values().empty() || a.values_size() > kMaxAttributeValues) {
        v.Add(p + "values", absl::StrCat("a list attribute has 1..", kMaxAttributeValues,
                                         " values, got ", a.values_size()));
      }
    } else if (!a.values().empty()) {
      v.Add(p + "values", "only SINGLE_VALUE_LIST and MULTI_VALUE_LIST attributes have values");
    }
    std::set<std::string> keys;
    for (int j = 0; j < a.values_size() && j < kMaxAttributeValues; ++j) {
      const std::string q = absl::StrCat(p, "values[", j, "].");
      CheckText(v, q + "key", a.values(j).key(), 1, 100);
      if (!a.values(j).key().empty() && !keys.insert(a.values(j).key()).second) {
        v.Add(q + "key", absl::StrCat("duplicate key \"", Excerpt(a.values(j).key(), 40), "\""));
      }
      CheckText(v, q + "name", a.values(j).name(), 1, 200);
    }
    if (a.max_length() != 0) {
      const int cap = type == v1::ATTRIBUTE_DATATYPE_STRING ? kMaxStringAnswer
                      : type == v1::ATTRIBUTE_DATATYPE_TEXT ? kMaxTextAnswer
                                                            : 0;
      if (cap == 0) {
        v.Add(p + "max_length", "only STRING and TEXT attributes have a max_length");
      } else if (a.max_length() < 1 || a.max_length() > cap) {
        v.Add(p + "max_length",
              absl::StrCat("must be 1..", cap, " (0: ", cap, "), got ", a.max_length()));
      }
    }
  }
}

void ValidateComponents(FieldViolations& v, const std::string& path,
                        const v1::StandardComponents& c) {
  CheckListSize(v, path + "legal_basis", c.legal_basis());
  for (int i = 0; i < c.legal_basis_size(); ++i) {
    std::string p = absl::StrCat(path, "legal_basis[", i, "].");
    CheckText(v, p + "citation", c.legal_basis(i).citation(), 1, 300);
    CheckText(v, p + "title", c.legal_basis(i).title(), 0, 500);
  }
  CheckListSize(v, path + "requirements", c.requirements());
  for (int i = 0; i < c.requirements_size(); ++i) {
    std::string p = absl::StrCat(path, "requirements[", i, "].");
    CheckText(v, p + "description", c.requirements(i).description(), 1, 1000);
    auto kind = c.requirements(i).kind();
    if (kind == v1::REQUIREMENT_KIND_UNSPECIFIED || !v1::RequirementKind_IsValid(kind)) {
      v.Add(p + "kind", "required: ADMINISTRATIVE or TECHNICAL");
    }
  }
  CheckListSize(v, path + "procedure", c.procedure());
  for (int i = 0; i < c.procedure_size(); ++i) {
    CheckText(v, absl::StrCat(path, "procedure[", i, "]"), c.procedure(i), 1, 2000);
  }
  if (c.has_completion_time()) {
    const auto& t = c.completion_time();
    if (t.amount() <= 0 || t.amount() > 100000) {
      v.Add(path + "completion_time.amount", absl::StrCat("must be 1..100000, got ", t.amount()));
    }
    if (t.unit() == v1::TIME_UNIT_UNSPECIFIED || !v1::TimeUnit_IsValid(t.unit())) {
      v.Add(path + "completion_time.unit", "required: MINUTE, HOUR, WORKING_DAY or CALENDAR_DAY");
    }
  }
  if (c.has_fee()) {
    const auto& f = c.fee();
    if (f.amount_idr() < 0) {
      v.Add(path + "fee.amount_idr", absl::StrCat("must not be negative, got ", f.amount_idr()));
    } else if (f.amount_idr() > 0 && f.legal_basis().empty()) {
      v.Add(path + "fee.legal_basis", "required when the fee is not zero");
    }
    CheckText(v, path + "fee.legal_basis", f.legal_basis(), 0, 500);
    CheckText(v, path + "fee.note", f.note(), 0, 1000);
  }
  CheckListSize(v, path + "products", c.products());
  for (int i = 0; i < c.products_size(); ++i) {
    CheckText(v, absl::StrCat(path, "products[", i, "]"), c.products(i), 1, 500);
  }
  CheckListSize(v, path + "facilities", c.facilities());
  for (int i = 0; i < c.facilities_size(); ++i) {
    CheckText(v, absl::StrCat(path, "facilities[", i, "].description"),
              c.facilities(i).description(), 1, 500);
  }
  CheckListSize(v, path + "staff_competences", c.staff_competences());
  for (int i = 0; i < c.staff_competences_size(); ++i) {
    CheckText(v, absl::StrCat(path, "staff_competences[", i, "]"), c.staff_competences(i), 1, 500);
  }
  CheckText(v, path + "internal_supervision", c.internal_supervision(), 0, 4000);
  if (c.has_complaint_handling()) {
    const auto& h = c.complaint_handling();
    std::string p = path + "complaint_handling.";
    CheckListSize(v, p + "channels", h.channels());
    for (int i = 0; i < h.channels_size(); ++i) {
      CheckText(v, absl::StrCat(p, "channels[", i, "]"), h.channels(i), 1, 200);
    }
    CheckText(v, p + "procedure", h.procedure(), 0, 4000);
    if (h.response_working_days() < 0 || h.response_working_days() > 60) {
      v.Add(p + "response_working_days",
            absl::StrCat("must be 1..60 (0 = not set), got ", h.response_working_days()));
    }
    std::set<std::string> names;
    for (int i = 0; i < h.resolution_classes_size(); ++i) {
      const auto& rc = h.resolution_classes(i);
      std::string q = absl::StrCat(p, "resolution_classes[", i, "].");
      CheckText(v, q + "name", rc.name(), 1, 100);
      if (!rc.name().empty() && !names.insert(rc.name()).second) {
        v.Add(q + "name", absl::StrCat("duplicate class \"", Excerpt(rc.name()), "\""));
      }
      if (rc.working_days() < 1 || rc.working_days() > 60) {
        v.Add(q + "working_days", absl::StrCat("must be 1..60, got ", rc.working_days()));
      }
    }
  }
  if (c.staff_count() < 0 || c.staff_count() > 1000000) {
    v.Add(path + "staff_count", absl::StrCat("must be 0..1000000, got ", c.staff_count()));
  }
  CheckText(v, path + "service_guarantee", c.service_guarantee(), 0, 4000);
  CheckText(v, path + "security_guarantee", c.security_guarantee(), 0, 4000);
  CheckText(v, path + "staff_evaluation", c.staff_evaluation(), 0, 4000);
}

void ValidateConsultation(FieldViolations& v, const std::string& path,
                          const v1::Consultation& consultation, absl::CivilDay today) {
  CheckDate(v, path + "date", consultation.date(), /*required=*/true, &today);
  if (consultation.participant_count() < 1) {
    v.Add(path + "participant_count",
          absl::StrCat("must be at least 1, got ", consultation.participant_count()));
  }
  CheckText(v, path + "participants", consultation.participants(), 0, 1000);
  CheckText(v, path + "summary", consultation.summary(), 1, 4000);
}

void ValidatePublications(FieldViolations& v, const std::string& path,
                          const google::protobuf::RepeatedPtrField<v1::Publication>& pubs,
                          bool at_least_one) {
  if (at_least_one && pubs.empty()) v.Add(path, "at least one publication is required");
  CheckListSize(v, path, pubs);
  for (int i = 0; i < pubs.size(); ++i) {
    std::string p = absl::StrCat(path, "[", i, "].");
    if (pubs[i].medium() == v1::PUBLICATION_MEDIUM_UNSPECIFIED ||
        !v1::PublicationMedium_IsValid(pubs[i].medium())) {
      v.Add(p + "medium",
            "required: WEBSITE, NOTICE_BOARD, PRINTED, SOCIAL_MEDIA, MOBILE_APP or OTHER");
    }
    CheckText(v, p + "location", pubs[i].location(), 1, 500);
  }
}

std::vector<std::string> MissingComponents(const v1::StandardComponents& c) {
  std::vector<std::string> missing;
  if (c.legal_basis().empty()) missing.push_back("legal_basis");
  if (c.requirements().empty()) missing.push_back("requirements");
  if (c.procedure().empty()) missing.push_back("procedure");
  if (!c.has_completion_time() || c.completion_time().amount() <= 0) {
    missing.push_back("completion_time");
  }
  if (!c.has_fee()) missing.push_back("fee");
  if (c.products().empty()) missing.push_back("product");
  if (c.facilities().empty()) missing.push_back("facilities");
  if (c.staff_competences().empty()) missing.push_back("staff_competence");
  if (c.internal_supervision().empty()) missing.push_back("internal_supervision");
  if (!c.has_complaint_handling() || c.complaint_handling().channels().empty() ||
      c.complaint_handling().response_working_days() <= 0) {
    missing.push_back("complaint_handling");
  }
  if (c.staff_count() <= 0) missing.push_back("staff_count");
  if (c.service_guarantee().empty()) missing.push_back("service_guarantee");
  if (c.security_guarantee().empty()) missing.push_back("security_guarantee");
  if (c.staff_evaluation().empty()) missing.push_back("staff_evaluation");
  return missing;
}

std::string StateName(v1::StandardState state) {
  std::string name = v1::StandardState_Name(state);
  constexpr absl::string_view kPrefix = "STANDARD_STATE_";
  return absl::StartsWith(name, kPrefix) ? name.substr(kPrefix.size()) : name;
}

std::string MaklumatStateName(v1::MaklumatState state) {
  std::string name = v1::MaklumatState_Name(state);
  constexpr absl::string_view kPrefix = "MAKLUMAT_STATE_";
  return absl::StartsWith(name, kPrefix) ? name.substr(kPrefix.size()) : name;
}

}  // namespace simpul::registry
