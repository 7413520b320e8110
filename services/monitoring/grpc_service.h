// MonitoringGrpcService is the thin gRPC adapter of simpul-monitoring: every unary RPC
// verifies the caller's identity token and runs the matching MonitoringDesk method on the
// executor; Watch streams are served by the WatchHub.
#ifndef SIMPUL_SERVICES_MONITORING_GRPC_SERVICE_H_
#define SIMPUL_SERVICES_MONITORING_GRPC_SERVICE_H_

#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/unary_call.h"
#include "services/monitoring/monitoring.h"
#include "services/monitoring/watch.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"

namespace simpul::monitoring {

#define SIMPUL_MONITORING_UNARY(Method)                                                          \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,                             \
                                   const v1::Method##Request* req, v1::Method##Response* resp)   \
      override {                                                                                 \
    return RunUnary(ctx, req, resp, executor_, signer_, clock_, desk_, &MonitoringDesk::Method); \
  }

class MonitoringGrpcService final : public v1::Monitoring::CallbackService {
 public:
  // `signer` may be null: then every call is public and identity tokens are rejected.
  MonitoringGrpcService(MonitoringDesk& desk, WatchHub& hub, Executor& executor,
                        const IdentitySigner* signer, const Clock& clock)
      : desk_(desk), hub_(hub), executor_(executor), signer_(signer), clock_(clock) {}

  SIMPUL_MONITORING_UNARY(SubmitSurveyResponses)
  SIMPUL_MONITORING_UNARY(RecordDeliveries)
  SIMPUL_MONITORING_UNARY(GetFigures)
  SIMPUL_MONITORING_UNARY(RankUnits)
  SIMPUL_MONITORING_UNARY(GetTimeSeries)
  SIMPUL_MONITORING_UNARY(VoidInputs)
  SIMPUL_MONITORING_UNARY(ListVoids)

  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(grpc::CallbackServerContext* ctx,
                                                     const v1::WatchRequest* req) override;

 private:
  MonitoringDesk& desk_;
  WatchHub& hub_;
  Executor& executor_;
  const IdentitySigner* signer_;
  const Clock& clock_;
};

#undef SIMPUL_MONITORING_UNARY

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_GRPC_SERVICE_H_
