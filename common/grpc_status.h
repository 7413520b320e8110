// Conversion between absl::Status and grpc::Status at the gRPC edge. Field violations travel
// in the "grpc-status-details-bin" trailer as a simpul.common.v1.ErrorStatus (wire-compatible
// with google.rpc.Status) holding a BadRequest.
#ifndef SIMPUL_COMMON_GRPC_STATUS_H_
#define SIMPUL_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace simpul {

// ToGrpcStatus keeps the code; the message is bounded to valid UTF-8 of at most about
// kMaxMessageBytes (common/excerpt.h) and the field violations to about 4 KB (the last ones
// dropped), since both travel in the trailers, whose size gRPC limits.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace simpul

#endif  // SIMPUL_COMMON_GRPC_STATUS_H_
