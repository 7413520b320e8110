// The shared edge of every Simpul gRPC service: verifying the caller's identity token and
// running a unary call of the domain logic on the executor, so that no gRPC callback thread
// ever waits on Redis, and turning its absl::Status into a grpc::Status.
#ifndef SIMPUL_COMMON_UNARY_CALL_H_
#define SIMPUL_COMMON_UNARY_CALL_H_

#include <chrono>
#include <utility>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/grpc_status.h"
#include "common/identity.h"
#include "common/logging.h"
#include "common/tsan_annotations.h"
#include "grpcpp/grpcpp.h"

namespace simpul {

// AuthenticateCall returns the caller of `ctx`: public without an `x-simpul-identity` token,
// the verified principal with one; UNAUTHENTICATED for a bad or expired token, or for any
// token when `signer` is null (a server without an identity key accepts public calls only).
absl::StatusOr<Identity> AuthenticateCall(const grpc::CallbackServerContext* ctx,
                                          const IdentitySigner* signer, const Clock& clock);

// RequestIdOf is the call's x-request-id (set by the gateway), "" without one.
std::string RequestIdOf(const grpc::CallbackServerContext& ctx);

// OverloadedStatus is the answer when the executor's queue is full.
grpc::Status OverloadedStatus();

// FinishIfUnwanted finishes `reactor` with CANCELLED or DEADLINE_EXCEEDED when the call was
// cancelled, or its deadline passed, before its work could start; true when it did.
inline bool FinishIfUnwanted(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor) {
  if (ctx->IsCancelled()) {
    HandOffToGrpc(reactor);
    reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the caller"));
    return true;
  }
  if (ctx->deadline() < std::chrono::system_clock::now()) {
    HandOffToGrpc(reactor);
    reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                 "deadline passed before the call could start"));
    return true;
  }
  return false;
}

// LogIfServerFailure logs `status` with the method's name and the call's request id when it is
// a server-side failure (INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED).
inline void LogIfServerFailure(const absl::Status& status, const std::string& method,
                               const grpc::CallbackServerContext& ctx) {
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kUnavailable ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    Log(LogLevel::kWarn, "call failed",
        {{"method", method}, {"request_id", RequestIdOf(ctx)}, {"error", status.ToString()}});
  }
}

// RunUnary runs `(domain.*method)(caller, *req)` on `executor` and finishes the call with its
// result. Calls cancelled or past their deadline before they start are not run. Server-side
// failures (INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED) are logged with the method name.
template <typename Domain, typename Req, typename Resp>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, const Req* req, Resp* resp,
                                   Executor& executor, const IdentitySigner* signer,
                                   const Clock& clock, Domain& domain,
                                   absl::StatusOr<Resp> (Domain::*method)(const Identity&,
                                                                          const Req&)) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<Identity> caller = AuthenticateCall(ctx, signer, clock);
  if (!caller.ok()) {
    HandOffToGrpc(reactor);
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  bool queued =
      executor.Submit([ctx, req, resp, reactor, method, &domain, caller = *std::move(caller)] {
        if (FinishIfUnwanted(ctx, reactor)) return;
        absl::StatusOr<Resp> result = (domain.*method)(caller, *req);
        if (result.ok()) {
          *resp = *std::move(result);
        } else {
          LogIfServerFailure(result.status(), Req::descriptor()->name(), *ctx);
        }
        HandOffToGrpc(reactor);
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  HandOffToGrpc(reactor);
  if (!queued) reactor->Finish(OverloadedStatus());
  return reactor;
}

}  // namespace simpul

#endif  // SIMPUL_COMMON_UNARY_CALL_H_
