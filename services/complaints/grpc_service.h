// ComplaintsGrpcService is the thin gRPC adapter of simpul-complaints: every RPC verifies the
// caller's identity token and runs the matching ComplaintDesk method on the executor.
#ifndef SIMPUL_SERVICES_COMPLAINTS_GRPC_SERVICE_H_
#define SIMPUL_SERVICES_COMPLAINTS_GRPC_SERVICE_H_

#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/unary_call.h"
#include "services/complaints/complaints.h"
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
  ComplaintsGrpcService(ComplaintDesk& desk, Executor& executor, const IdentitySigner* signer,
                        const Clock& clock)
      : desk_(desk), executor_(executor), signer_(signer), clock_(clock) {}

  SIMPUL_COMPLAINTS_UNARY(FileComplaint)
  SIMPUL_COMPLAINTS_UNARY(TrackComplaint)
  SIMPUL_COMPLAINTS_UNARY(ReplyToComplaint)
  SIMPUL_COMPLAINTS_UNARY(RateComplaint)
  SIMPUL_COMPLAINTS_UNARY(ReopenComplaint)
  SIMPUL_COMPLAINTS_UNARY(GetComplaint)
  SIMPUL_COMPLAINTS_UNARY(ListComplaints)
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

 private:
  ComplaintDesk& desk_;
  Executor& executor_;
  const IdentitySigner* signer_;
  const Clock& clock_;
};

#undef SIMPUL_COMPLAINTS_UNARY

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_GRPC_SERVICE_H_
