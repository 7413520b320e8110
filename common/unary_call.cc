#include "common/unary_call.h"

#include <string>
#include <string_view>

#include "common/status.h"

namespace simpul {

absl::StatusOr<Identity> AuthenticateCall(const grpc::CallbackServerContext* ctx,
                                          const IdentitySigner* signer, const Clock& clock) {
  const auto& metadata = ctx->client_metadata();
  auto it = metadata.find(std::string(kIdentityMetadataKey));
  if (it == metadata.end()) return Identity::Public();
  if (signer == nullptr) {
    return absl::UnauthenticatedError(
        "this server has no identity_trusted_keys configured and accepts only public calls");
  }
  std::string_view token(it->second.data(), it->second.size());
  SIMPUL_ASSIGN_OR_RETURN(auto principal, signer->Verify(token, clock.Now()));
  return Identity{std::move(principal)};
}

std::string RequestIdOf(const grpc::CallbackServerContext& ctx) {
  auto it = ctx.client_metadata().find("x-request-id");
  if (it == ctx.client_metadata().end()) return "";
  return std::string(it->second.data(), std::min<size_t>(it->second.size(), 128));
}

grpc::Status OverloadedStatus() {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "the service is overloaded; retry with backoff");
}

}  // namespace simpul
