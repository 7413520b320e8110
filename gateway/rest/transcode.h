// JSON <-> proto transcoding of the REST front: a request message from the path bindings,
// the JSON body and the query string; a response message as JSON. The rules are described
// in gateway/rest.h.
#ifndef SIMPUL_GATEWAY_REST_TRANSCODE_H_
#define SIMPUL_GATEWAY_REST_TRANSCODE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gateway/rest/route_table.h"
#include "google/protobuf/message.h"

namespace simpul::gateway {

// BuildRequest fills `request` (of the route's input type) from the path bindings, the body
// (JSON) and the query string (without '?'). Bad values, unknown fields and malformed JSON
// are INVALID_ARGUMENT with a BadRequest detail naming each field (common/status.h).
absl::Status BuildRequest(const RouteMatch& match, std::string_view query, std::string_view body,
                          google::protobuf::Message* request);

// MessageJson renders a response message as JSON (proto field names).
std::string MessageJson(const google::protobuf::Message& message);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_REST_TRANSCODE_H_
