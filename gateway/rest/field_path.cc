// Field paths of the REST front (gateway/rest/field_path.h).
#include "gateway/rest/field_path.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"

namespace simpul::gateway::rest {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

const FieldDescriptor* FieldByName(const Descriptor* d, std::string_view name) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->name() == name || f->json_name() == name) return f;
  }
  return nullptr;
}

bool WellKnownScalarMessage(const Descriptor* d) {
  static const std::set<std::string>* const kNames = new std::set<std::string>{
      "google.protobuf.Timestamp",   "google.protobuf.Duration",    "google.protobuf.FieldMask",
      "google.protobuf.StringValue", "google.protobuf.Int32Value",  "google.protobuf.Int64Value",
      "google.protobuf.UInt32Value", "google.protobuf.UInt64Value", "google.protobuf.BoolValue",
      "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.BytesValue"};
  return kNames->count(d->full_name()) > 0;
}

absl::StatusOr<std::vector<const FieldDescriptor*>> ResolvePath(const Descriptor* d,
                                                                std::string_view path) {
  std::vector<const FieldDescriptor*> fields;
  const std::vector<absl::string_view> parts = absl::StrSplit(AbslView(path), '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* f = FieldByName(d, StdView(parts[i]));
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(d->full_name(), " has no field \"", Excerpt(StdView(parts[i])), "\""));
    }
    fields.push_back(f);
    const bool last = i + 1 == parts.size();
    if (f->type() == FieldDescriptor::TYPE_MESSAGE || f->type() == FieldDescriptor::TYPE_GROUP) {
      if (last) {
        if (WellKnownScalarMessage(f->message_type())) break;
        return absl::InvalidArgumentError(absl::StrCat(
            "\"", AbslView(path), "\" is a message: name one of its fields, e.g. \"",
            AbslView(path), ".",
            f->message_type()->field_count() > 0 ? f->message_type()->field(0)->name() : "x",
            "\""));
      }
      if (f->is_repeated()) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", parts[i], "\" is a repeated message: not settable here"));
      }
      d = f->message_type();
    } else if (!last) {
      return absl::InvalidArgumentError(absl::StrCat("\"", parts[i], "\" is not a message: \"",
                                                     Excerpt(path), "\" names nothing"));
    }
  }
  return fields;
}

std::string CanonicalPath(const std::vector<const FieldDescriptor*>& fields) {
  std::vector<std::string> names;
  for (const FieldDescriptor* f : fields) names.push_back(f->name());
  return absl::StrJoin(names, ".");
}

}  // namespace simpul::gateway::rest
