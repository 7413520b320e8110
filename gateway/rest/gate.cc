// The gate of the REST front (Session::Gate, gateway/rest/http_session.h): admission by
// GrpcProxy (authentication, policy, rate limits), the request mapping, the read cache, then
// the backend call, its audit record and the answer.
#include <chrono>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/grpc_status.h"
#include "common/identity.h"
#include "gateway/proxy.h"
#include "gateway/read_cache.h"
#include "gateway/rest/http_session.h"
#include "gateway/rest/transcode.h"
#include "gateway/stream_limits.h"

namespace simpul::gateway::rest {

void Session::Gate(const RouteMatch& match, std::string query, std::string body,
                   std::vector<std::pair<std::string, std::string>> credentials,
                   absl::Duration timeout) {
  const Route& route = *match.route;
  const std::string_view service =
      std::string_view(route.full_method).substr(1, route.full_method.find('/', 1) - 1);
  // A service that runs the gate itself gets the caller's credentials instead of an identity,
  // and audits its own calls.
  const bool self_gated = server_->options_.self_gated_services.count(std::string(service)) > 0;
  std::multimap<grpc::string_ref, grpc::string_ref> metadata;
  for (const auto& [k, v] : credentials) metadata.emplace(k, v);
  CallInfo info;
  info.request_id = request_id_;
  const absl::Status admitted =
      self_gated
          ? absl::OkStatus()
          : server_->proxy_->Admit(route.full_method, peer_, metadata, &info, client_cert_pem_);
  // The session reads lang_ only after this call posts its answer to the session's strand.
  if (!asked_lang_ && !self_gated) lang_ = CallerLang(info.principal, std::nullopt);
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          route.method->input_type());
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  const absl::Status built = BuildRequest(match, query, body, request.get());
  std::string bytes = built.ok() ? request->SerializeAsString() : "";
  if (!admitted.ok()) {
    server_->proxy_->Audit(info, admitted.code(), /*reached_backend=*/false, std::move(bytes));
    Headers headers;
    if (auto retry = admitted.GetPayload(kRetryAfterPayload)) {
      headers.emplace_back("Retry-After", std::string(*retry));
    }
    return PostError(admitted, std::move(headers));
  }
  if (!built.ok()) return PostError(built, {});
  grpc::GenericStub* stub = server_->StubFor(route.full_method);
  if (stub == nullptr) {
    return PostError(
        absl::UnimplementedError(absl::StrCat("no backend serves ", route.full_method)), {});
  }
  Headers outgoing;
  if (self_gated) {
    outgoing = std::move(credentials);
  } else {
    outgoing.emplace_back(kRequestIdKey, info.request_id);
    const std::string identity = server_->proxy_->IdentityToken(info.principal, route.full_method);
    if (!identity.empty()) outgoing.emplace_back(std::string(kIdentityMetadataKey), identity);
  }
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout);

  if (route.server_streaming) {
    std::optional<StreamLimits::Lease> lease;
    if (server_->options_.stream_limits != nullptr && !self_gated) {
      absl::StatusOr<StreamLimits::Lease> taken =
          server_->options_.stream_limits->AcquireStream(info.principal, peer_);
      if (!taken.ok()) return PostError(taken.status(), {{"Retry-After", "1"}});
      lease = *std::move(taken);
    }
    auto call = std::make_shared<StreamCall>(server_, shared_from_this(), &route);
    if (lease) call->HoldStream(*std::move(lease));
    call->context()->set_deadline(deadline);
    for (const auto& [k, v] : outgoing) call->context()->AddMetadata(k, v);
    if (!server_->Register(call->context())) {
      return PostError(absl::UnavailableError("the gateway is stopping"), {});
    }
    // The session owns the call from now; it starts once the session knows it.
    net::post(stream_.get_executor(),
              [self = shared_from_this(), call, stub, bytes = std::move(bytes)] {
                self->StartStream(call);
                call->Start(stub, bytes);
              });
    return;
  }

  struct Unary {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  // A cached registry read is answered here (gateway/read_cache.h).
  ReadCache* const cache = self_gated ? nullptr : server_->proxy_->read_cache();
  const bool cacheable =
      cache != nullptr && cache->enabled() && ReadCache::Cacheable(route.full_method);
  std::string cache_key;
  uint64_t cache_generation = 0;
  if (cacheable) {
    cache_generation = cache->generation();
    cache_key = ReadCache::Key(route.full_method, info.principal, bytes);
    // The JSON rendering is kept too, under its own key: a hit costs no transcoding.
    const std::string json_key = absl::StrCat("json|", cache_key);
    if (std::optional<std::string> json = cache->Get(json_key)) {
      return PostResponse(200, *std::move(json), {});
    }
    if (std::optional<std::string> hit = cache->Get(cache_key)) {
      const google::protobuf::Message* prototype =
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(
              route.method->output_type());
      std::unique_ptr<google::protobuf::Message> response(prototype->New());
      if (response->ParseFromString(*hit)) {
        std::string rendered = MessageJson(*response);
        cache->Put(json_key, rendered, cache_generation);
        return PostResponse(200, std::move(rendered), {});
      }
    }
  }

  auto call = std::make_shared<Unary>();
  call->ctx.set_deadline(deadline);
  for (const auto& [k, v] : outgoing) call->ctx.AddMetadata(k, v);
  grpc::Slice slice(bytes);
  call->request = grpc::ByteBuffer(&slice, 1);
  if (!server_->Register(&call->ctx)) {
    return PostError(absl::UnavailableError("the gateway is stopping"), {});
  }
  const bool audited = !self_gated && IsMutating(route.full_method);
  RestServer::Impl* server = server_;
  stub->UnaryCall(
      &call->ctx, route.full_method, grpc::StubOptions(), &call->request, &call->response,
      [self = shared_from_this(), server, call, &route, audited, info = std::move(info),
       bytes = audited ? std::move(bytes) : std::string(), cache, cacheable,
       cache_key = std::move(cache_key), cache_generation](grpc::Status status) mutable {
        Headers headers;
        CopyMetadata(call->ctx.GetServerInitialMetadata(), &headers);
        std::optional<std::string> json;
        if (status.ok()) {
          const google::protobuf::Message* prototype =
              google::protobuf::MessageFactory::generated_factory()->GetPrototype(
                  route.method->output_type());
          std::unique_ptr<google::protobuf::Message> response(prototype->New());
          std::string response_bytes = BufferBytes(call->response);
          if (response->ParseFromString(response_bytes)) {
            json = MessageJson(*response);
            if (cacheable) {
              cache->Put(cache_key, std::move(response_bytes), cache_generation);
              cache->Put(absl::StrCat("json|", cache_key), *json, cache_generation);
            }
          } else {
            status =
                grpc::Status(grpc::StatusCode::INTERNAL, "the backend's response is malformed");
          }
        } else {
          CopyMetadata(call->ctx.GetServerTrailingMetadata(), &headers);
        }
        server->Unregister(&call->ctx);
        if (cache != nullptr && ReadCache::InvalidatedBy(route.full_method)) cache->Invalidate();
        if (audited) {
          server->proxy_->Audit(info, static_cast<absl::StatusCode>(status.error_code()),
                                /*reached_backend=*/true, std::move(bytes));
        }
        if (json) {
          self->PostResponse(CreatesResource(route) ? 201 : 200, *std::move(json),
                             std::move(headers));
        } else {
          self->PostError(FromGrpcStatus(status), std::move(headers));
        }
        self.reset();
        server->Release();
      });
}

}  // namespace simpul::gateway::rest
