// ComplaintsGrpcService is the thin gRPC adapter of simpul-complaints: every RPC verifies the
// caller's identity token and runs the matching ComplaintDesk method on the executor.
#ifndef SIMPUL_SERVICES_COMPLAINTS_GRPC_SERVICE_H_
#define SIMPUL_SERVICES_COMPLAINTS_GRPC_SERVICE_H_

#include <chrono>
#include <utility>

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/unary_call.h"
#include "services/complaints/complaints.h"
#include "services/complaints/watch_reactor.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"

namespace simpul::complaints {

// Declares one unary method that runs ComplaintDesk::Method on the executor.
#define SIMPUL_COMPLAINTS_UNARY(Method)                                                         \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,                            \
                                   const v1::Method##Request* req, v1::Method##Response* resp)  \
      override {                                                                                \
    return RunUnary(ctx, req, resp, executor_, signer_, clock_, desk_, &ComplaintDesk::Method); \
  }

class ComplaintsGrpcService final : public v1::Complaints::CallbackService {
 public:
  // `signer` may be null: then every call is public and identity tokens are rejected.
  // `feed` serves WatchComplaintEvents (without its parts the RPC is UNIMPLEMENTED).
  ComplaintsGrpcService(ComplaintDesk& desk, Executor& executor, const IdentitySigner* signer,
                        const Clock& clock, FeedDeps feed = {})
      : desk_(desk), executor_(executor), signer_(signer), clock_(clock), feed_(feed) {}

  SIMPUL_COMPLAINTS_UNARY(FileComplaint)
  SIMPUL_COMPLAINTS_UNARY(TrackComplaint)
  SIMPUL_COMPLAINTS_UNARY(ReplyToComplaint)
  SIMPUL_COMPLAINTS_UNARY(RateComplaint)
  SIMPUL_COMPLAINTS_UNARY(ReopenComplaint)
  SIMPUL_COMPLAINTS_UNARY(GetComplaint)
  // ListComplaints runs like the others (RunUnary), bounded by the call's deadline and
  // stopped when the caller goes away: ComplaintDesk::ListComplaints with the call's
  // CallBounds.
  grpc::ServerUnaryReactor* ListComplaints(grpc::CallbackServerContext* ctx,
                                           const v1::ListComplaintsRequest* req,
                                           v1::ListComplaintsResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::StatusOr<Identity> caller = AuthenticateCall(ctx, signer_, clock_);
    if (!caller.ok()) {
      reactor->Finish(ToGrpcStatus(caller.status()));
      return reactor;
    }
    bool queued = executor_.Submit([this, ctx, req, resp, reactor, caller = *std::move(caller)] {
      CallBounds bounds;
      bounds.deadline = DeadlineOf(*ctx);
      bounds.cancelled = [ctx] { return ctx->IsCancelled(); };
      if (bounds.cancelled()) {
        reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the caller"));
        return;
      }
      if (bounds.deadline < clock_.Now()) {
        reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                     "deadline passed before the call could start"));
        return;
      }
      absl::StatusOr<v1::ListComplaintsResponse> result =
          desk_.ListComplaints(caller, *req, bounds);
      if (result.ok()) {
        *resp = *std::move(result);
      } else if (result.status().code() == absl::StatusCode::kInternal ||
                 result.status().code() == absl::StatusCode::kUnavailable) {
        Log(LogLevel::kWarn, "call failed",
            {{"method", v1::ListComplaintsRequest::descriptor()->name()},
             {"request_id", RequestIdOf(*ctx)},
             {"error", result.status().ToString()}});
      }
      reactor->Finish(ToGrpcStatus(result.status()));
    });
    if (!queued) reactor->Finish(OverloadedStatus());
    return reactor;
  }
  SIMPUL_COMPLAINTS_UNARY(GetComplaintHistory)
  SIMPUL_COMPLAINTS_UNARY(RouteComplaint)
  SIMPUL_COMPLAINTS_UNARY(HoldComplaint)
  SIMPUL_COMPLAINTS_UNARY(VerifyComplaint)
  SIMPUL_COMPLAINTS_UNARY(DisposeComplaint)
  SIMPUL_COMPLAINTS_UNARY(ForwardComplaint)
  SIMPUL_COMPLAINTS_UNARY(StartWork)
  SIMPUL_COMPLAINTS_UNARY(PostFollowUp)
  SIMPUL_COMPLAINTS_UNARY(CompleteComplaint)
  SIMPUL_COMPLAINTS_UNARY(ArchiveComplaint)
  SIMPUL_COMPLAINTS_UNARY(EscalateComplaint)
  SIMPUL_COMPLAINTS_UNARY(ResumeComplaint)

  SIMPUL_COMPLAINTS_UNARY(UploadAttachment)
  SIMPUL_COMPLAINTS_UNARY(ListAttachments)
  SIMPUL_COMPLAINTS_UNARY(GetAttachment)
  SIMPUL_COMPLAINTS_UNARY(RedactAttachment)
  SIMPUL_COMPLAINTS_UNARY(PublishAttachment)

  grpc::ServerWriteReactor<v1::WatchComplaintEventsResponse>* WatchComplaintEvents(
      grpc::CallbackServerContext* ctx, const v1::WatchComplaintEventsRequest* req) override {
    return StartWatch(ctx, feed_, AuthenticateCall(ctx, signer_, clock_), *req);
  }

 private:
  // DeadlineOf is the call's deadline (InfiniteFuture when the caller set none).
  static absl::Time DeadlineOf(const grpc::CallbackServerContext& ctx) {
    const auto deadline = ctx.deadline();
    if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
    return absl::FromChrono(deadline);
  }

  ComplaintDesk& desk_;
  Executor& executor_;
  const IdentitySigner* signer_;
  const Clock& clock_;
  const FeedDeps feed_;
};

#undef SIMPUL_COMPLAINTS_UNARY

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_GRPC_SERVICE_H_
