#include "common/grpc_status.h"

#include "common/absl_compat.h"
#include "common/status.h"

namespace simpul {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(static_cast<int>(status.code()));
  common::v1::ErrorStatus details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  if (auto payload = status.GetPayload(AbslView(kBadRequestPayloadUrl))) {
    auto* any = details.add_details();
    any->set_type_url(std::string(kBadRequestPayloadUrl));
    any->set_value(std::string(*payload));
  }
  return grpc::Status(code, std::string(status.message()), details.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(static_cast<int>(status.error_code())),
                   status.error_message());
  common::v1::ErrorStatus details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      if (any.type_url() == kBadRequestPayloadUrl) {
        out.SetPayload(AbslView(kBadRequestPayloadUrl), absl::Cord(any.value()));
      }
    }
  }
  return out;
}

}  // namespace simpul
