#include "services/monitoring/grpc_service.h"

#include <string>

#include "common/grpc_status.h"
#include "common/tsan_annotations.h"

namespace simpul::monitoring {
namespace {

// FailedWatch answers a Watch that cannot start.
class FailedWatch final : public grpc::ServerWriteReactor<v1::WatchResponse> {
 public:
  explicit FailedWatch(const grpc::Status& status) {
    HandOffToGrpc(this);
    Finish(status);
  }
  void OnDone() override {
    ResumedFromGrpc(this);
    delete this;
  }
};

}  // namespace

grpc::ServerWriteReactor<v1::WatchResponse>* MonitoringGrpcService::Watch(
    grpc::CallbackServerContext* ctx, const v1::WatchRequest* req) {
  // Figures are public, but a bad token is still refused rather than ignored.
  absl::StatusOr<Identity> caller = AuthenticateCall(ctx, signer_, clock_);
  if (!caller.ok()) return new FailedWatch(ToGrpcStatus(caller.status()));
  absl::StatusOr<std::string> bucket = desk_.WatchBucket(*req);
  if (!bucket.ok()) return new FailedWatch(ToGrpcStatus(bucket.status()));
  return hub_.Watch(*req, *std::move(bucket));
}

}  // namespace simpul::monitoring
