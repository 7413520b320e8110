#include "common/status.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"

namespace simpul {

void FieldViolations::Add(std::string field, std::string description) {
  if (violations_.field_violations_size() >= kMaxViolations) {
    ++omitted_;
    return;
  }
  auto* v = violations_.add_field_violations();
  v->set_field(BoundedText(field, kMaxViolationFieldBytes));
  v->set_description(BoundedText(description, kMaxViolationDescriptionBytes));
}

bool FieldViolations::AddFrom(const absl::Status& status) {
  if (status.ok()) return true;
  const common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) Add(v.field(), v.description());
  return !bad.field_violations().empty();
}

absl::Status FieldViolations::ToStatus(std::string_view what) const {
  if (empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  for (const auto& v : violations_.field_violations()) {
    parts.push_back(absl::StrCat(v.field(), ": ", v.description()));
  }
  if (omitted_ > 0) parts.push_back(absl::StrCat("and ", omitted_, " more"));
  absl::Status status = absl::InvalidArgumentError(
      BoundedText(absl::StrCat("invalid ", AbslView(what), ": ", absl::StrJoin(parts, "; "))));
  status.SetPayload(AbslView(kBadRequestPayloadUrl), absl::Cord(violations_.SerializeAsString()));
  return status;
}

absl::Status InvalidField(std::string field, std::string description) {
  FieldViolations v;
  v.Add(std::move(field), std::move(description));
  return v.ToStatus("request");
}

common::v1::BadRequest BadRequestOf(const absl::Status& status) {
  common::v1::BadRequest out;
  if (auto payload = status.GetPayload(AbslView(kBadRequestPayloadUrl))) {
    out.ParseFromString(std::string(*payload));
  }
  return out;
}

}  // namespace simpul
