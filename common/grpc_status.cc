#include "common/grpc_status.h"

#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/status.h"

namespace simpul {
namespace {

// kMaxDetailsBytes bounds the field violations a status carries to a gRPC caller.
constexpr size_t kMaxDetailsBytes = 4096;

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(static_cast<int>(status.code()));
  common::v1::ErrorStatus details;
  details.set_code(static_cast<int>(status.code()));
  // Both travel in the trailers, whose size gRPC limits (8 KB by default): bounded here.
  const std::string message = BoundedText(StdView(status.message()), kMaxMessageBytes);
  details.set_message(message);
  if (auto payload = status.GetPayload(AbslView(kBadRequestPayloadUrl))) {
    std::string value(*payload);
    if (value.size() > kMaxDetailsBytes) {
      common::v1::BadRequest bad = BadRequestOf(status);
      while (bad.field_violations_size() > 0 && bad.ByteSizeLong() > kMaxDetailsBytes) {
        bad.mutable_field_violations()->RemoveLast();
      }
      value = bad.SerializeAsString();
    }
    auto* any = details.add_details();
    any->set_type_url(std::string(kBadRequestPayloadUrl));
    any->set_value(std::move(value));
  }
  return grpc::Status(code, message, details.SerializeAsString());
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
