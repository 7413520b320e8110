// RegistryGrpcService is the thin gRPC adapter of the registry: it verifies the caller's
// identity token, hands each call to the executor (no callback thread ever waits on Redis),
// converts absl::Status to grpc::Status, and runs WatchStandards streams over the change feed.
#ifndef SIMPUL_SERVICES_REGISTRY_GRPC_SERVICE_H_
#define SIMPUL_SERVICES_REGISTRY_GRPC_SERVICE_H_

#include "clients/registry/metadata.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "services/registry/feed.h"
#include "services/registry/registry.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::registry {

// Initial metadata of every WatchStandards stream: the cursor the watch starts after (defined
// with the registry's client library, which reads it).
using ::simpul::clients::registry::kWatchCursorMetadataKey;

// Declares one unary method that runs StandardsRegistry::Method on the executor.
#define SIMPUL_REGISTRY_UNARY(Method)                                                          \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,                           \
                                   const v1::Method##Request* req, v1::Method##Response* resp) \
      override {                                                                               \
    return Unary(ctx, req, resp, &StandardsRegistry::Method);                                  \
  }

// The two hot public reads are raw (bytes in, bytes out): their answers are copied out of the
// snapshot's serialized standards instead of being built and encoded message by message.
using RegistryCallbackBase = v1::Registry::WithRawCallbackMethod_GetCurrentStandard<
    v1::Registry::WithRawCallbackMethod_SearchStandards<v1::Registry::CallbackService>>;

class RegistryGrpcService final : public RegistryCallbackBase {
 public:
  // `signer` may be null: then every call is public and identity tokens are rejected.
  RegistryGrpcService(StandardsRegistry& registry, RegistryStore& store, ChangeFeedHub& hub,
                      Executor& executor, const IdentitySigner* signer, const Clock& clock);

  SIMPUL_REGISTRY_UNARY(CreateAgency)
  SIMPUL_REGISTRY_UNARY(GetAgency)
  SIMPUL_REGISTRY_UNARY(UpdateAgency)
  SIMPUL_REGISTRY_UNARY(ListAgencies)
  SIMPUL_REGISTRY_UNARY(CreateServiceUnit)
  SIMPUL_REGISTRY_UNARY(GetServiceUnit)
  SIMPUL_REGISTRY_UNARY(UpdateServiceUnit)
  SIMPUL_REGISTRY_UNARY(ListServiceUnits)
  SIMPUL_REGISTRY_UNARY(CreateService)
  SIMPUL_REGISTRY_UNARY(GetService)
  SIMPUL_REGISTRY_UNARY(UpdateService)
  SIMPUL_REGISTRY_UNARY(ListServices)
  SIMPUL_REGISTRY_UNARY(CreateStandardVersion)
  SIMPUL_REGISTRY_UNARY(GetStandardVersion)
  SIMPUL_REGISTRY_UNARY(UpdateStandardDraft)
  SIMPUL_REGISTRY_UNARY(StartPublicConsultation)
  SIMPUL_REGISTRY_UNARY(RecordConsultation)
  SIMPUL_REGISTRY_UNARY(AdoptStandardVersion)
  SIMPUL_REGISTRY_UNARY(WithdrawStandardVersion)
  SIMPUL_REGISTRY_UNARY(RecordStandardReview)
  SIMPUL_REGISTRY_UNARY(ListStandardVersions)
  SIMPUL_REGISTRY_UNARY(ListReviewOverdue)
  SIMPUL_REGISTRY_UNARY(GetCompleteness)
  SIMPUL_REGISTRY_UNARY(CreateMaklumatDraft)
  SIMPUL_REGISTRY_UNARY(UpdateMaklumatDraft)
  SIMPUL_REGISTRY_UNARY(AdoptMaklumat)
  SIMPUL_REGISTRY_UNARY(PublishMaklumat)
  SIMPUL_REGISTRY_UNARY(GetMaklumat)
  SIMPUL_REGISTRY_UNARY(ListMaklumat)

  // The hot public reads: answered on the callback thread from the registry's snapshot when
  // it can (no store call, no executor hand-off, no re-encoding), otherwise on the executor
  // like the rest.
  grpc::ServerUnaryReactor* GetCurrentStandard(grpc::CallbackServerContext* ctx,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* SearchStandards(grpc::CallbackServerContext* ctx,
                                            const grpc::ByteBuffer* request,
                                            grpc::ByteBuffer* response) override;

  grpc::ServerWriteReactor<v1::WatchStandardsResponse>* WatchStandards(
      grpc::CallbackServerContext* ctx, const v1::WatchStandardsRequest* req) override;

 private:
  template <typename Req, typename Resp>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const Req* req, Resp* resp,
                                  absl::StatusOr<Resp> (StandardsRegistry::*method)(const Identity&,
                                                                                    const Req&));
  // RawSnapshotOrUnary parses the request, answers with the bytes `fast` gives when it gives
  // an answer, else runs `method` on the executor and serializes its response.
  template <typename Req, typename Resp>
  grpc::ServerUnaryReactor* RawSnapshotOrUnary(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
      std::optional<absl::StatusOr<std::string>> (StandardsRegistry::*fast)(const Identity&,
                                                                            const Req&) const,
      absl::StatusOr<Resp> (StandardsRegistry::*method)(const Identity&, const Req&));
  absl::StatusOr<Identity> Authenticate(grpc::CallbackServerContext* ctx) const;

  StandardsRegistry& registry_;
  RegistryStore& store_;
  ChangeFeedHub& hub_;
  Executor& executor_;
  const IdentitySigner* signer_;
  const Clock& clock_;
};

#undef SIMPUL_REGISTRY_UNARY

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_GRPC_SERVICE_H_
