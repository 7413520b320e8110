// WebhooksGrpcService is the thin gRPC adapter of the Webhooks API (webhooks.proto): every RPC
// verifies the caller's identity token and runs the matching WebhookAdmin method on the
// executor.
#ifndef SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_GRPC_H_
#define SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_GRPC_H_

#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/unary_call.h"
#include "services/complaints/webhook_admin.h"
#include "simpul/complaints/v1/webhooks.grpc.pb.h"

namespace simpul::complaints {

class WebhooksGrpcService final : public v1::Webhooks::CallbackService {
 public:
  WebhooksGrpcService(WebhookAdmin& admin, Executor& executor, const IdentitySigner* signer,
                      const Clock& clock)
      : admin_(admin), executor_(executor), signer_(signer), clock_(clock) {}

#define SIMPUL_WEBHOOKS_UNARY(Method, Req, Resp, Domain)                                        \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, const v1::Req* req,        \
                                   v1::Resp* resp) override {                                   \
    return RunUnary(ctx, req, resp, executor_, signer_, clock_, admin_, &WebhookAdmin::Domain); \
  }
  SIMPUL_WEBHOOKS_UNARY(CreateWebhook, CreateWebhookRequest, CreateWebhookResponse, Create)
  SIMPUL_WEBHOOKS_UNARY(GetWebhook, GetWebhookRequest, Webhook, Get)
  SIMPUL_WEBHOOKS_UNARY(ListWebhooks, ListWebhooksRequest, ListWebhooksResponse, List)
  SIMPUL_WEBHOOKS_UNARY(UpdateWebhook, UpdateWebhookRequest, Webhook, Update)
  SIMPUL_WEBHOOKS_UNARY(DeleteWebhook, DeleteWebhookRequest, DeleteWebhookResponse, Delete)
  SIMPUL_WEBHOOKS_UNARY(RotateWebhookSecret, RotateWebhookSecretRequest,
                        RotateWebhookSecretResponse, Rotate)
  SIMPUL_WEBHOOKS_UNARY(ListWebhookDeliveries, ListWebhookDeliveriesRequest,
                        ListWebhookDeliveriesResponse, ListDeliveries)
  SIMPUL_WEBHOOKS_UNARY(RedriveWebhookDeliveries, RedriveWebhookDeliveriesRequest,
                        RedriveWebhookDeliveriesResponse, Redrive)
#undef SIMPUL_WEBHOOKS_UNARY

 private:
  WebhookAdmin& admin_;
  Executor& executor_;
  const IdentitySigner* signer_;
  const Clock& clock_;
};

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_GRPC_H_
