// Errors of the REST front: the HTTP status of a gRPC code and the JSON error object (its
// shape is described in gateway/rest.h). The Open311 front maps codes the same way.
#ifndef SIMPUL_GATEWAY_REST_ERRORS_H_
#define SIMPUL_GATEWAY_REST_ERRORS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace simpul::gateway {

// ErrorHttpStatus maps a gRPC status code to its HTTP status (google.rpc.Code's mapping).
int ErrorHttpStatus(absl::StatusCode code);

// ErrorJson renders an error as the JSON error object of the REST front (see above).
std::string ErrorJson(const absl::Status& status, int http_status, std::string_view request_id);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_REST_ERRORS_H_
