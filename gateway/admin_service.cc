// GatewayAdmin: API keys and the audit trail.
#include "gateway/admin_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/identity.h"
#include "common/status.h"
#include "common/tsan_annotations.h"
#include "common/unary_call.h"

namespace simpul::gateway {

absl::StatusOr<v1::IssueApiKeyResponse> AdminDesk::IssueApiKey(const Caller& caller,
                                                               const v1::IssueApiKeyRequest& req) {
  SIMPUL_RETURN_IF_ERROR(CanIssue(caller, req.principal()));
  SIMPUL_ASSIGN_OR_RETURN(IssuedApiKey issued,
                          keys_.Issue(req.principal(), req.label(), Identity{caller}.subject()));
  v1::IssueApiKeyResponse resp;
  *resp.mutable_key() = std::move(issued.key);
  resp.set_token(std::move(issued.token));
  return resp;
}

absl::StatusOr<v1::ListApiKeysResponse> AdminDesk::ListApiKeys(const Caller& caller,
                                                               const v1::ListApiKeysRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(std::string agency, ListScope(caller, req.agency_id()));
  v1::ListApiKeysRequest scoped = req;
  scoped.set_agency_id(agency);
  return keys_.List(scoped);
}

absl::StatusOr<v1::RevokeApiKeyResponse> AdminDesk::RevokeApiKey(
    const Caller& caller, const v1::RevokeApiKeyRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(v1::ApiKey key, keys_.Get(req.id()));
  SIMPUL_RETURN_IF_ERROR(CanRevoke(caller, key));
  SIMPUL_ASSIGN_OR_RETURN(v1::ApiKey revoked, keys_.Revoke(req.id(), Identity{caller}.subject()));
  v1::RevokeApiKeyResponse resp;
  *resp.mutable_key() = std::move(revoked);
  return resp;
}

absl::StatusOr<v1::ListAuditRecordsResponse> AdminDesk::ListAuditRecords(
    const Caller& caller, const v1::ListAuditRecordsRequest& req) {
  std::string agency = req.agency_id();
  if (caller.role() == common::v1::ROLE_AGENCY_ADMIN) {
    if (!agency.empty() && agency != caller.agency_id()) {
      return absl::PermissionDeniedError(
          "an agency admin reads the audit records of its own agency only");
    }
    agency = caller.agency_id();
  } else if (caller.role() != common::v1::ROLE_PLATFORM_ADMIN) {
    return absl::PermissionDeniedError("only admins read the audit trail");
  }
  const int size = req.page().page_size();
  if (size < 0 || size > 500) {
    return InvalidField("page.page_size", absl::StrCat("must be 0..500, got ", size));
  }
  SIMPUL_ASSIGN_OR_RETURN(AuditPage page, audit_.List(agency, size, req.page().page_token()));
  v1::ListAuditRecordsResponse resp;
  for (v1::AuditRecord& r : page.records) *resp.add_records() = std::move(r);
  resp.set_next_page_token(std::move(page.next_page_token));
  resp.set_archived_through(page.archived_through);
  return resp;
}

template <typename Req, typename Resp>
grpc::ServerUnaryReactor* GatewayAdminService::Run(
    grpc::CallbackServerContext* ctx, const Req* req, Resp* resp, const char* name,
    absl::StatusOr<Resp> (AdminDesk::*method)(const AdminDesk::Caller&, const Req&)) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // The task captures the desk and the gate, not `this`: GCC 12's UndefinedBehaviorSanitizer
  // (vptr check) misreads a captured `this` of this class in the executor's thread and aborts
  // the ASan build's gateway on every GatewayAdmin call (checked with gdb: the captured
  // pointer is a live GatewayAdminService).
  AdminDesk& desk = desk_;
  GrpcProxy& gate = gate_;
  const bool queued = executor_.Submit([&desk, &gate, ctx, req, resp, reactor, method, name] {
    CallInfo info;
    const std::string full_method =
        absl::StrCat("/", v1::GatewayAdmin::service_full_name(), "/", name);
    absl::Status admitted = gate.Admit(full_method, ctx->peer(), ctx->client_metadata(), &info,
                                       ClientCertificatePem(*ctx));
    ctx->AddInitialMetadata(kRequestIdKey, info.request_id);
    const Lang lang = CallerLang(info.principal, AskedLang(ctx->client_metadata()));
    if (!admitted.ok()) {
      if (auto retry = admitted.GetPayload(kRetryAfterPayload)) {
        ctx->AddTrailingMetadata(kRetryAfterPayload, std::string(*retry));
      }
      gate.Audit(info, admitted.code(), /*reached_backend=*/false, req->SerializeAsString());
      HandOffToGrpc(reactor);
      reactor->Finish(ToGrpcStatus(LocalizeStatus(admitted, lang)));
      return;
    }
    absl::StatusOr<Resp> result = (desk.*method)(info.principal, *req);
    if (result.ok()) *resp = *std::move(result);
    if (IsMutating(full_method) || result.status().code() == absl::StatusCode::kPermissionDenied ||
        result.status().code() == absl::StatusCode::kUnauthenticated) {
      gate.Audit(info, result.status().code(), /*reached_backend=*/true, req->SerializeAsString());
    }
    HandOffToGrpc(reactor);
    reactor->Finish(ToGrpcStatus(LocalizeStatus(result.status(), lang)));
  });
  HandOffToGrpc(reactor);
  if (!queued) reactor->Finish(OverloadedStatus());
  return reactor;
}

grpc::ServerUnaryReactor* GatewayAdminService::IssueApiKey(grpc::CallbackServerContext* ctx,
                                                           const v1::IssueApiKeyRequest* req,
                                                           v1::IssueApiKeyResponse* resp) {
  return Run(ctx, req, resp, "IssueApiKey", &AdminDesk::IssueApiKey);
}
grpc::ServerUnaryReactor* GatewayAdminService::ListApiKeys(grpc::CallbackServerContext* ctx,
                                                           const v1::ListApiKeysRequest* req,
                                                           v1::ListApiKeysResponse* resp) {
  return Run(ctx, req, resp, "ListApiKeys", &AdminDesk::ListApiKeys);
}
grpc::ServerUnaryReactor* GatewayAdminService::RevokeApiKey(grpc::CallbackServerContext* ctx,
                                                            const v1::RevokeApiKeyRequest* req,
                                                            v1::RevokeApiKeyResponse* resp) {
  return Run(ctx, req, resp, "RevokeApiKey", &AdminDesk::RevokeApiKey);
}
grpc::ServerUnaryReactor* GatewayAdminService::ListAuditRecords(
    grpc::CallbackServerContext* ctx, const v1::ListAuditRecordsRequest* req,
    v1::ListAuditRecordsResponse* resp) {
  return Run(ctx, req, resp, "ListAuditRecords", &AdminDesk::ListAuditRecords);
}

}  // namespace simpul::gateway
