// GatewayAdmin, the gateway's own API: API keys (issue, list, revoke) and the audit trail
// (list). AdminDesk is the plain logic; GatewayAdminService is its gRPC adapter, served by
// the gateway itself. Its calls pass the same gate as proxied ones (GrpcProxy::Admit: API key,
// rate limit, policy) and the mutating ones are audited; AdminDesk then applies the finer
// rules of api_keys.h (platform admins manage every key, agency admins their own agency's).
#ifndef SIMPUL_GATEWAY_ADMIN_SERVICE_H_
#define SIMPUL_GATEWAY_ADMIN_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/executor.h"
#include "gateway/api_keys.h"
#include "gateway/audit.h"
#include "gateway/proxy.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"

namespace simpul::gateway {

class AdminDesk {
 public:
  AdminDesk(ApiKeyStore& keys, AuditTrail& audit) : keys_(keys), audit_(audit) {}

  using Caller = common::v1::Principal;
  absl::StatusOr<v1::IssueApiKeyResponse> IssueApiKey(const Caller& caller,
                                                      const v1::IssueApiKeyRequest& req);
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys(const Caller& caller,
                                                      const v1::ListApiKeysRequest& req);
  absl::StatusOr<v1::RevokeApiKeyResponse> RevokeApiKey(const Caller& caller,
                                                        const v1::RevokeApiKeyRequest& req);
  // Agency admins read their own agency's records only (those of calls made with their
  // agency's keys); platform admins read all, or one agency's.
  absl::StatusOr<v1::ListAuditRecordsResponse> ListAuditRecords(
      const Caller& caller, const v1::ListAuditRecordsRequest& req);

 private:
  ApiKeyStore& keys_;
  AuditTrail& audit_;
};

class GatewayAdminService final : public v1::GatewayAdmin::CallbackService {
 public:
  // All must outlive the service.
  GatewayAdminService(AdminDesk& desk, GrpcProxy& gate, Executor& executor)
      : desk_(desk), gate_(gate), executor_(executor) {}

  grpc::ServerUnaryReactor* IssueApiKey(grpc::CallbackServerContext* ctx,
                                        const v1::IssueApiKeyRequest* req,
                                        v1::IssueApiKeyResponse* resp) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* ctx,
                                        const v1::ListApiKeysRequest* req,
                                        v1::ListApiKeysResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::RevokeApiKeyRequest* req,
                                         v1::RevokeApiKeyResponse* resp) override;
  grpc::ServerUnaryReactor* ListAuditRecords(grpc::CallbackServerContext* ctx,
                                             const v1::ListAuditRecordsRequest* req,
                                             v1::ListAuditRecordsResponse* resp) override;

 private:
  template <typename Req, typename Resp>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* ctx, const Req* req, Resp* resp,
                                const char* name,
                                absl::StatusOr<Resp> (AdminDesk::*method)(const AdminDesk::Caller&,
                                                                          const Req&));
  AdminDesk& desk_;
  GrpcProxy& gate_;
  Executor& executor_;
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_ADMIN_SERVICE_H_
