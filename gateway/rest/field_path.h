// Field paths of the REST front: "scope.unit_id" in a path template, a path variable or a
// query parameter, resolved against a request message's descriptor.
#ifndef SIMPUL_GATEWAY_REST_FIELD_PATH_H_
#define SIMPUL_GATEWAY_REST_FIELD_PATH_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"

namespace simpul::gateway::rest {

// FieldByName finds a field by its proto name or its JSON (lowerCamelCase) name.
const google::protobuf::FieldDescriptor* FieldByName(const google::protobuf::Descriptor* d,
                                                     std::string_view name);

// WellKnownScalarMessage: a message type whose JSON form is a string or a number (it may
// stand as a single path or query value).
bool WellKnownScalarMessage(const google::protobuf::Descriptor* d);

// ResolvePath resolves a dotted field path in `d` (each part a proto or JSON name) to its
// fields; the last may be a scalar, an enum or a well-known scalar message; the others
// singular messages. Returns an explanation on failure.
absl::StatusOr<std::vector<const google::protobuf::FieldDescriptor*>> ResolvePath(
    const google::protobuf::Descriptor* d, std::string_view path);

// CanonicalPath is the path with proto names ("scope.unit_id").
std::string CanonicalPath(const std::vector<const google::protobuf::FieldDescriptor*>& fields);

}  // namespace simpul::gateway::rest

#endif  // SIMPUL_GATEWAY_REST_FIELD_PATH_H_
