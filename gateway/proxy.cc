// GrpcProxy: the gate and the byte-level forwarding of proxied calls.
#include "gateway/proxy.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "common/byte_buffer.h"
#include "common/excerpt.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/tsan_annotations.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace simpul::gateway {
namespace {

std::string_view View(const grpc::string_ref& s) { return std::string_view(s.data(), s.size()); }

// Headers never passed from the caller to a backend: transport headers, the caller's
// credentials, and identity (only the gateway's own signed token reaches a backend).
bool Forwardable(std::string_view key) {
  if (key.empty() || key.front() == ':' || absl::StartsWith(AbslView(key), "grpc-")) return false;
  for (std::string_view k : {"authorization", "x-api-key", "x-simpul-identity", "content-type",
                             "te", "user-agent", "host", "accept-encoding", "x-request-id"}) {
    if (key == k) return false;
  }
  return true;
}

// Headers of a backend response that the gateway does not copy back (gRPC sets them itself).
bool Returnable(std::string_view key) {
  return !key.empty() && key.front() != ':' && !absl::StartsWith(AbslView(key), "grpc-") &&
         key != "content-type" && key != "x-request-id";
}

std::optional<std::string_view> Header(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, std::string_view key) {
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return View(it->second);
}

}  // namespace

ListedService::ListedService(const std::string& service_name)
    // The method name cannot clash with a real one (proto method names have no '.').
    : method_(absl::StrCat("/", service_name, "/simpul.gateway.listing")) {
  AddMethod(new grpc::internal::RpcServiceMethod(method_.c_str(),
                                                 grpc::internal::RpcMethod::NORMAL_RPC, nullptr));
  MarkMethodCallback(
      0, new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
             [](grpc::CallbackServerContext* ctx, const grpc::ByteBuffer*, grpc::ByteBuffer*) {
               auto* reactor = ctx->DefaultReactor();
               HandOffToGrpc(reactor);
               reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such method"));
               return reactor;
             }));
}

std::string ClientCertificatePem(const grpc::ServerContextBase& ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return "";
  std::vector<grpc::string_ref> pem = auth->FindPropertyValues("x509_pem_cert");
  return pem.empty() ? "" : std::string(pem.front().data(), pem.front().size());
}

bool IsMutating(std::string_view method) {
  const size_t slash = method.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? method : method.substr(slash + 1);
  for (std::string_view read : {"Get", "List", "Search", "Watch", "Track", "Rank"}) {
    if (absl::StartsWith(AbslView(name), AbslView(read))) return false;
  }
  return true;
}

std::string ResourceOf(std::string_view method, std::string_view request_bytes) {
  using google::protobuf::FieldDescriptor;
  using google::protobuf::Message;
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  const size_t slash = method.find('/');
  if (slash == std::string_view::npos) return "";
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  const auto* service = pool->FindServiceByName(std::string(method.substr(0, slash)));
  const auto* rpc = service == nullptr
                        ? nullptr
                        : service->FindMethodByName(std::string(method.substr(slash + 1)));
  if (rpc == nullptr) return "";
  const Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(rpc->input_type());
  if (prototype == nullptr) return "";
  std::unique_ptr<Message> request(prototype->New());
  if (!request->ParseFromArray(request_bytes.data(), static_cast<int>(request_bytes.size()))) {
    return "";
  }
  static constexpr const char* kNames[] = {"id",         "tracking_code", "complaint_id",
                                           "service_id", "unit_id",       "agency_id"};
  auto find = [](const Message& m) -> std::string {
    const auto* d = m.GetDescriptor();
    const auto* r = m.GetReflection();
    for (const char* name : kNames) {
      const FieldDescriptor* f = d->FindFieldByName(name);
      if (f != nullptr && f->type() == FieldDescriptor::TYPE_STRING && !f->is_repeated()) {
        std::string v = r->GetString(m, f);
        if (!v.empty()) return v;
      }
    }
    return "";
  };
  if (std::string direct = find(*request); !direct.empty()) return direct;
  const auto* d = request->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->type() != FieldDescriptor::TYPE_MESSAGE || f->is_repeated()) continue;
    if (!request->GetReflection()->HasField(*request, f)) continue;
    if (std::string nested = find(request->GetReflection()->GetMessage(*request, f));
        !nested.empty()) {
      return nested;
    }
  }
  return "";
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

std::string NewRequestId() {
  // CSPRNG bytes drawn 1 KiB at a time per thread: one RAND_bytes call (and its locks) per 64
  // request ids instead of one per id.
  struct RandomBytes {
    unsigned char bytes[1024];
    size_t used = sizeof bytes;
  };
  thread_local RandomBytes pool;
  if (pool.used + 16 > sizeof pool.bytes) {
    if (RAND_bytes(pool.bytes, sizeof pool.bytes) != 1) {
      // The CSPRNG cannot fail on Linux once seeded; a time-based id still keeps calls apart.
      return absl::StrCat("t", absl::ToUnixNanos(absl::Now()));
    }
    pool.used = 0;
  }
  const unsigned char* bytes = pool.bytes + pool.used;
  pool.used += 16;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (size_t i = 0; i < 16; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  OPENSSL_cleanse(pool.bytes + pool.used - 16, 16);  // an id's bytes do not stay behind
  return out;
}

std::shared_ptr<grpc::Channel> ChannelFor(const std::string& target,
                                          const std::string& health_service,
                                          absl::Duration max_backoff, const InternalTls* tls,
                                          const std::string& tls_name) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(absl::StrCat(
      R"({"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":")",
      health_service, R"("}})"));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // gRPC gives a connection attempt max(its backoff, this) to complete (the min connect
  // timeout): at 100 ms a TLS handshake on a loaded machine was cut short ("tcp handshaker
  // shutdown") again and again and the gateway answered 503 for a healthy backend. A refused
  // connection still fails at once and is retried after the 100 ms initial backoff.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(max_backoff)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::string uri = target;
  if (target.find(':') != std::string::npos && target.find("://") == std::string::npos &&
      !absl::StartsWith(target, "ipv4:") && !absl::StartsWith(target, "ipv6:") &&
      !absl::StartsWith(target, "dns:") && !absl::StartsWith(target, "unix:")) {
    // "host:port" or a list of them: a list of literal addresses is one static set of
    // replicas; a single name is resolved by DNS (and may name several replicas).
    uri = target.find(',') != std::string::npos ? absl::StrCat("ipv4:", target)
                                                : absl::StrCat("dns:///", target);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      InternalChannelCredentials(tls, tls_name, &args);
  return grpc::CreateCustomChannel(uri, credentials, args);
}

Lang CallerLang(const common::v1::Principal& principal, std::optional<Lang> asked) {
  if (asked) return *asked;
  const common::v1::Role role = principal.role();
  return role == common::v1::ROLE_UNSPECIFIED || role == common::v1::ROLE_CHANNEL
             ? Lang::kIndonesian
             : Lang::kEnglish;
}

std::optional<Lang> AskedLang(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  std::optional<Lang> asked;
  for (const auto& [key, value] : metadata) {
    if (View(key) == "accept-language") asked = PreferredLang(View(value));
  }
  return asked;
}

grpc::Status LocalizeGrpcStatus(const grpc::Status& status, Lang lang) {
  if (status.ok() || lang == Lang::kEnglish) return status;
  // Only the texts change: the details keep every other entry (and bytes the gateway cannot
  // read pass as they came).
  common::v1::ErrorStatus details;
  const bool ours = !status.error_details().empty() &&
                    details.ParseFromString(status.error_details()) &&
                    details.code() == static_cast<int>(status.error_code());
  absl::Status plain(static_cast<absl::StatusCode>(static_cast<int>(status.error_code())),
                     status.error_message());
  if (ours) {
    for (const auto& any : details.details()) {
      if (any.type_url() == kBadRequestPayloadUrl) {
        plain.SetPayload(AbslView(kBadRequestPayloadUrl), absl::Cord(any.value()));
      }
    }
  }
  const absl::Status localized = LocalizeStatus(plain, lang);
  if (localized == plain) return status;
  const std::string message(localized.message());
  if (!ours) return grpc::Status(status.error_code(), message, status.error_details());
  details.set_message(message);
  if (auto bad = localized.GetPayload(AbslView(kBadRequestPayloadUrl))) {
    for (auto& any : *details.mutable_details()) {
      if (any.type_url() == kBadRequestPayloadUrl) any.set_value(std::string(*bad));
    }
  }
  return grpc::Status(status.error_code(), message, details.SerializeAsString());
}

// ---------------------------------------------------------------------------------------------
// One proxied call: the server side towards the caller, the client side towards the backend.

class GrpcProxy::Call {
 public:
  Call(GrpcProxy* proxy, grpc::GenericCallbackServerContext* ctx)
      : proxy_(proxy), ctx_(ctx), server_(this), client_(this) {}

  // Start runs the gate (at once when it need not wait for Redis, else on the executor when
  // there is one) and then starts the call.
  grpc::ServerGenericBidiReactor* Start() {
    if (proxy_->options_.executor != nullptr) {
      if (std::optional<absl::Status> admitted = proxy_->TryAdmit(
              ctx_->method(), ctx_->peer(), ctx_->client_metadata(), &info_, ClientCertificate())) {
        Admitted(*admitted);
        return &server_;
      }
    }
    if (proxy_->options_.executor == nullptr ||
        !proxy_->options_.executor->Submit([this] { Gate(); })) {
      Gate();
    }
    return &server_;
  }

 private:
  void Gate() {
    Admitted(proxy_->Admit(ctx_->method(), ctx_->peer(), ctx_->client_metadata(), &info_,
                           ClientCertificate()));
  }

  // ClientCertificate is the caller's verified client certificate when the gateway maps
  // certificates to principals ("" otherwise: the gate would not look at it).
  std::string ClientCertificate() const {
    return proxy_->options_.client_certificates != nullptr ? ClientCertificatePem(*ctx_) : "";
  }

  // Admitted goes on with the gate's answer: a refusal, or the backend call.
  void Admitted(absl::Status admitted) {
    if (admitted.ok()) admitted = TakeStreamLease();
    lang_ = CallerLang(info_.principal, AskedLang(ctx_->client_metadata()));
    ctx_->AddInitialMetadata(kRequestIdKey, info_.request_id);
    if (!admitted.ok()) {
      sides_.store(1);  // no backend call: only the server side remains
      if (const size_t code = static_cast<size_t>(admitted.code());
          code < proxy_->refused_.size()) {
        proxy_->refused_[code].Increment();
      }
      if (auto retry = admitted.GetPayload(kRetryAfterPayload)) {
        ctx_->AddTrailingMetadata(kRetryAfterPayload, std::string(*retry));
      }
      refusal_ = ToGrpcStatus(LocalizeStatus(admitted, lang_));
      LogCall(admitted.code());
      // Read the request first, so that the audit record of a refused call has its digest.
      HandOffToGrpc(&server_);
      server_.StartRead(&request_);
      return;
    }
    grpc::GenericStub* stub = proxy_->StubFor(ctx_->method());
    if (stub == nullptr) {
      // A method of a service the gateway serves itself that it does not have (registered
      // methods never reach the proxy).
      sides_.store(1);
      LogCall(absl::StatusCode::kUnimplemented);
      HandOffToGrpc(&server_);
      server_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                  absl::StrCat("no method ", Excerpt(ctx_->method()))));
      return;
    }
    stub_ = stub;
    if (proxy_->unary_methods_.contains(AbslView(ctx_->method()))) {
      // A unary method: read the request, then one unary backend call (or the cache).
      if (proxy_->options_.read_cache != nullptr && ReadCache::Cacheable(ctx_->method()) &&
          proxy_->options_.read_cache->enabled()) {
        cache_generation_ = proxy_->options_.read_cache->generation();
        cacheable_ = true;
      }
      awaiting_request_ = true;
      HandOffToGrpc(&server_);
      server_.StartRead(&request_);
      return;
    }
    StartBackend();
  }

  // TakeStreamLease counts a proxied server stream against its caller's caps
  // (gateway/stream_limits.h); the lease goes back when the call is deleted.
  absl::Status TakeStreamLease() {
    StreamLimits* limits = proxy_->options_.stream_limits;
    if (limits == nullptr || proxy_->unary_methods_.contains(AbslView(ctx_->method())) ||
        proxy_->StubFor(ctx_->method()) == nullptr) {
      return absl::OkStatus();
    }
    absl::StatusOr<StreamLimits::Lease> lease = limits->AcquireStream(info_.principal, info_.peer);
    if (!lease.ok()) return lease.status();
    stream_lease_ = *std::move(lease);
    return absl::OkStatus();
  }

  // PrepareClientContext makes the backend call's context: a child of the caller's (deadline
  // and cancellation), the forwardable metadata, the request id and the minted identity.
  void PrepareClientContext() {
    client_ctx_ = grpc::ClientContext::FromCallbackServerContext(*ctx_);
    for (const auto& [key, value] : ctx_->client_metadata()) {
      if (Forwardable(View(key))) {
        client_ctx_->AddMetadata(std::string(key.data(), key.size()),
                                 std::string(value.data(), value.size()));
      }
    }
    client_ctx_->AddMetadata(kRequestIdKey, info_.request_id);
    const std::string identity = proxy_->IdentityToken(info_.principal, info_.method);
    if (!identity.empty()) client_ctx_->AddMetadata(std::string(kIdentityMetadataKey), identity);
  }

  // StartBackend starts a streaming backend call: both directions pumped one message at a time.
  void StartBackend() {
    PrepareClientContext();
    stub_->PrepareBidiStreamingCall(client_ctx_.get(), ctx_->method(), grpc::StubOptions(),
                                    &client_);
    // Holds: the client side's operations are started from the server side's callbacks, so
    // its OnDone must wait until neither direction can start one any more.
    client_.AddMultipleHolds(2);  // request direction, response direction
    HandOffToGrpc(&client_);
    client_.StartRead(&response_);
    HandOffToGrpc(&client_);
    client_.StartCall();
    HandOffToGrpc(&server_);
    server_.StartRead(&request_);
  }

  // UnaryRequest: a unary call's request arrived (or the caller went away). Answered from
  // the read cache when it can be, else by one unary backend call.
  void UnaryRequest(bool ok) {
    awaiting_request_ = false;
    if (!ok) {  // the caller went away before sending its request
      sides_.store(1);
      LogCall(absl::StatusCode::kCancelled);
      HandOffToGrpc(&server_);
      server_.Finish(grpc::Status(grpc::StatusCode::CANCELLED, "no request"));
      return;
    }
    first_request_ = request_;
    first_request_seen_ = true;
    if (cacheable_) {
      cache_key_ = ReadCache::Key(ctx_->method(), info_.principal, BufferBytes(request_));
      if (std::shared_ptr<const std::string> hit =
              proxy_->options_.read_cache->GetShared(cache_key_)) {
        sides_.store(1);  // no backend call
        // The slice refers to the cached bytes (kept alive by a reference it holds).
        response_ = ByteBufferOf(std::move(hit));
        LogCall(absl::StatusCode::kOk);
        HandOffToGrpc(&server_);
        server_.StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
        return;
      }
    }
    PrepareClientContext();
    HandOffToGrpc(this);  // the unary call's completion below
    stub_->UnaryCall(client_ctx_.get(), ctx_->method(), grpc::StubOptions(), &request_, &response_,
                     [this](grpc::Status status) {
                       ResumedFromGrpc(this);
                       UnaryDone(status);
                     });
  }

  // UnaryDone: the backend answered a unary call; pass its metadata, answer and status on.
  void UnaryDone(const grpc::Status& status) {
    for (const auto& [key, value] : client_ctx_->GetServerInitialMetadata()) {
      if (Returnable(View(key))) {
        ctx_->AddInitialMetadata(std::string(key.data(), key.size()),
                                 std::string(value.data(), value.size()));
      }
    }
    for (const auto& [key, value] : client_ctx_->GetServerTrailingMetadata()) {
      if (Returnable(View(key))) {
        ctx_->AddTrailingMetadata(std::string(key.data(), key.size()),
                                  std::string(value.data(), value.size()));
      }
    }
    if (ReadCache* cache = proxy_->options_.read_cache; cache != nullptr) {
      // Before the answer goes out: the writer reads its own write through this gateway.
      if (ReadCache::InvalidatedBy(ctx_->method())) cache->Invalidate();
      if (cacheable_ && status.ok()) {
        cache->Put(cache_key_, BufferBytes(response_), cache_generation_);
      }
    }
    const auto code = static_cast<absl::StatusCode>(status.error_code());
    LogCall(code);
    // Audited before the caller's side finishes: from then on the gateway may shut down and
    // destroy the proxy (proxy_) while this callback still runs.
    if (IsMutating(info_.method) || code == absl::StatusCode::kPermissionDenied ||
        code == absl::StatusCode::kUnauthenticated) {
      proxy_->Audit(info_, code, /*reached_backend=*/true, BufferBytes(first_request_));
    }
    if (status.ok()) {
      HandOffToGrpc(&server_);
      server_.StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      HandOffToGrpc(&server_);
      server_.Finish(LocalizeGrpcStatus(status, lang_));
    }
    SideDone();  // the backend side; the caller's side ends with OnDone
  }

  struct ServerSide final : grpc::ServerGenericBidiReactor {
    explicit ServerSide(Call* c) : call(c) {}
    void OnReadDone(bool ok) override {
      const GrpcCallback callback(this);
      call->CallerReadDone(ok);
    }
    void OnWriteDone(bool ok) override {
      const GrpcCallback callback(this);
      call->CallerWriteDone(ok);
    }
    void OnSendInitialMetadataDone(bool) override { const GrpcCallback callback(this); }
    void OnCancel() override {
      const GrpcCallback callback(this);
      call->CallerCancelled();
    }
    void OnDone() override {
      ResumedFromGrpc(this);
      call->CallerDone();
    }
    Call* call;
  };
  struct ClientSide final : grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
    explicit ClientSide(Call* c) : call(c) {}
    void OnReadInitialMetadataDone(bool ok) override {
      const GrpcCallback callback(this);
      call->BackendMetadataDone(ok);
    }
    void OnReadDone(bool ok) override {
      const GrpcCallback callback(this);
      call->BackendReadDone(ok);
    }
    void OnWriteDone(bool ok) override {
      const GrpcCallback callback(this);
      call->BackendWriteDone(ok);
    }
    void OnWritesDoneDone(bool) override {
      const GrpcCallback callback(this);
      HandOffToGrpc(this);
      RemoveHold();
    }
    void OnDone(const grpc::Status& status) override {
      ResumedFromGrpc(this);
      call->BackendDone(status);
    }
    Call* call;
  };

  // Request direction: caller → backend, one message at a time.
  void CallerReadDone(bool ok) {
    if (awaiting_request_) return UnaryRequest(ok);
    if (refusal_) {  // a refused call: audit it with its request, then fail it
      std::string bytes;
      if (ok) bytes = BufferBytes(request_);
      proxy_->Audit(info_, static_cast<absl::StatusCode>(refusal_->error_code()),
                    /*reached_backend=*/false, std::move(bytes));
      HandOffToGrpc(&server_);
      server_.Finish(*refusal_);
      return;
    }
    if (ok) {
      // Kept for the audit trail (a copy shares the buffer's slices; bytes are copied only
      // when the call is audited).
      if (!first_request_seen_) first_request_ = request_;
      first_request_seen_ = true;
      HandOffToGrpc(&client_);
      client_.StartWrite(&request_);
    } else {
      HandOffToGrpc(&client_);
      client_.StartWritesDone();  // the caller half-closed (or went away)
    }
  }
  void BackendWriteDone(bool ok) {
    if (ok) {
      HandOffToGrpc(&server_);
      server_.StartRead(&request_);
    } else {
      HandOffToGrpc(&client_);
      client_.RemoveHold();  // the backend call ended: no more writes
    }
  }

  // Response direction: backend → caller.
  void BackendMetadataDone(bool ok) {
    if (ok) {
      // No other thread touches the server side's metadata before metadata_done_ is set.
      for (const auto& [key, value] : client_ctx_->GetServerInitialMetadata()) {
        if (Returnable(View(key))) {
          ctx_->AddInitialMetadata(std::string(key.data(), key.size()),
                                   std::string(value.data(), value.size()));
        }
      }
      // Initial metadata goes out now, so that a stream's metadata (e.g. a watch cursor)
      // reaches the caller before its first message. It is started before metadata_done_ is
      // published, so no write can race it (a write would send initial metadata itself).
      HandOffToGrpc(&server_);
      server_.StartSendInitialMetadata();
    }
    bool write = false;
    {
      absl::MutexLock lock(&mu_);
      metadata_done_ = true;
      write = response_waiting_;
      response_waiting_ = false;
      if (write) caller_write_pending_ = true;
    }
    HandOffToGrpc(&server_);
    if (write) server_.StartWrite(&response_);
  }
  void BackendReadDone(bool ok) {
    if (!ok) {
      HandOffToGrpc(&client_);
      client_.RemoveHold();  // the backend sent its last message
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      if (!metadata_done_) {
        response_waiting_ = true;
        return;
      }
      caller_write_pending_ = true;
    }
    HandOffToGrpc(&server_);
    server_.StartWrite(&response_);
  }
  void CallerWriteDone(bool ok) {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      caller_write_pending_ = false;
      if (backend_status_ && !finished_) {
        finished_ = true;
        finish = *backend_status_;
      }
    }
    if (ok) {
      HandOffToGrpc(&client_);
      client_.StartRead(&response_);
    } else {
      client_ctx_->TryCancel();  // the caller is gone
      HandOffToGrpc(&client_);
      client_.RemoveHold();
    }
    HandOffToGrpc(&server_);
    if (finish) server_.Finish(*finish);
  }

  void BackendDone(const grpc::Status& status) {
    // Logged and audited before the caller's side can finish (here or in CallerWriteDone once
    // backend_status_ is set): from then on the gateway may destroy the proxy (proxy_).
    LogCall(static_cast<absl::StatusCode>(status.error_code()));
    const auto code = static_cast<absl::StatusCode>(status.error_code());
    if (IsMutating(info_.method) || code == absl::StatusCode::kPermissionDenied ||
        code == absl::StatusCode::kUnauthenticated) {
      proxy_->Audit(info_, code, /*reached_backend=*/true, BufferBytes(first_request_));
    }
    const grpc::Status localized = LocalizeGrpcStatus(status, lang_);
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [key, value] : client_ctx_->GetServerTrailingMetadata()) {
        if (Returnable(View(key))) {
          ctx_->AddTrailingMetadata(std::string(key.data(), key.size()),
                                    std::string(value.data(), value.size()));
        }
      }
      backend_status_ = localized;
      if (!caller_write_pending_ && !finished_) finished_ = finish = true;
    }
    HandOffToGrpc(&server_);
    if (finish) server_.Finish(localized);
    SideDone();
  }

  // The backend call is a child of the caller's (FromCallbackServerContext): gRPC cancels it
  // when the caller cancels or its deadline passes. (Cancelling here by hand could touch a
  // backend call that has already completed.)
  void CallerCancelled() {}
  void CallerDone() { SideDone(); }
  // SideDone: the call is deleted when both sides are done (the last one deletes it).
  void SideDone() {
    if (sides_.fetch_sub(1) == 1) delete this;
  }

  // LogCall writes the access log line of the call (sampled for unknown methods).
  void LogCall(absl::StatusCode code) {
    if (!proxy_->options_.access_log) return;
    WriteAccessLog(proxy_->unknown_method_log_, info_, code, absl::Now() - start_,
                   proxy_->known_methods_.contains(info_.method) || IsKnownRpcMethod(info_.method));
  }

  GrpcProxy* const proxy_;
  grpc::GenericCallbackServerContext* const ctx_;
  CallInfo info_;
  const absl::Time start_ = absl::Now();
  std::optional<grpc::Status> refusal_;  // set when the gate refused the call
  Lang lang_ = Lang::kEnglish;           // the caller's language, set by Admitted
  bool first_request_seen_ = false;
  grpc::ByteBuffer first_request_;  // the first request message, for the audit trail
  ServerSide server_;
  ClientSide client_;
  std::unique_ptr<grpc::ClientContext> client_ctx_;
  grpc::GenericStub* stub_ = nullptr;
  // A unary call waiting for its request; a cacheable read (gateway/read_cache.h), the key
  // it is stored under and the cache's generation when it started.
  bool awaiting_request_ = false;
  bool cacheable_ = false;
  std::string cache_key_;
  uint64_t cache_generation_ = 0;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  StreamLimits::Lease stream_lease_;  // a server stream's place under its caller's caps

  absl::Mutex mu_;
  bool metadata_done_ ABSL_GUARDED_BY(mu_) = false;
  bool response_waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool caller_write_pending_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> backend_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> sides_{2};  // server side and client side not yet done
};

// ---------------------------------------------------------------------------------------------

GrpcProxy::GrpcProxy(ProxyOptions options, const IdentitySigner* signer, const Policy* policy,
                     Authenticator authenticate, Metrics* metrics)
    : options_(std::move(options)),
      signer_(signer),
      identity_tokens_(signer == nullptr
                           ? nullptr
                           : std::make_unique<TokenCache>(signer, options_.identity_ttl)),
      policy_(policy),
      authenticate_(std::move(authenticate)),
      metrics_(metrics),
      unknown_method_log_(LogSampler::Options{
          .suppressed = metrics != nullptr
                            ? metrics->GetCounter("simpul_gateway_access_log_suppressed_total", {})
                            : Counter()}) {
  if (metrics_ != nullptr) {
    metrics_->Describe("simpul_gateway_access_log_suppressed_total", Metrics::Type::kCounter,
                       "access log lines of calls to unknown methods not written (sampled)");
    metrics_->Describe("simpul_gateway_refused_total", Metrics::Type::kCounter,
                       "calls refused by the gateway before reaching a backend, by status");
    metrics_->Describe("simpul_gateway_audit_failures_total", Metrics::Type::kCounter,
                       "audit records the trail could not take (logged in full instead)");
    // Resolved once: a series appears in /metrics only once it is written.
    for (size_t code = 0; code < refused_.size(); ++code) {
      refused_[code] = metrics_->GetCounter(
          "simpul_gateway_refused_total",
          {{"code", std::string(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)))}});
    }
    audit_failures_ = metrics_->GetCounter("simpul_gateway_audit_failures_total", {});
  }
  for (const auto& [service, channel] : options_.backends) {
    stubs_.emplace(service, std::make_unique<grpc::GenericStub>(channel));
  }
  // Read once here: the generated pool locks a mutex on every lookup.
  auto declared = [this](const std::string& service, bool backend) {
    const google::protobuf::ServiceDescriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    for (int i = 0; descriptor != nullptr && i < descriptor->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* m = descriptor->method(i);
      std::string path = absl::StrCat("/", service, "/", m->name());
      if (backend && !m->client_streaming() && !m->server_streaming()) unary_methods_.insert(path);
      known_methods_.insert(std::move(path));
    }
  };
  for (const auto& [service, channel] : options_.backends) declared(service, true);
  for (const std::string& service : options_.local_services) declared(service, false);
}

grpc::ServerGenericBidiReactor* GrpcProxy::CreateReactor(grpc::GenericCallbackServerContext* ctx) {
  return (new Call(this, ctx))->Start();
}

grpc::GenericStub* GrpcProxy::StubFor(std::string_view method) const {
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  const size_t slash = method.find('/');
  if (slash == std::string_view::npos) return nullptr;
  auto it = stubs_.find(method.substr(0, slash));
  return it == stubs_.end() ? nullptr : it->second.get();
}

absl::Status GrpcProxy::Admit(std::string_view method, std::string_view peer,
                              const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                              CallInfo* info, std::string_view client_cert_pem) {
  bool would_block = false;
  return AdmitImpl(method, peer, metadata, info, client_cert_pem, /*may_wait=*/true, &would_block);
}

std::optional<absl::Status> GrpcProxy::TryAdmit(
    std::string_view method, std::string_view peer,
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, CallInfo* info,
    std::string_view client_cert_pem) {
  bool would_block = false;
  absl::Status admitted = AdmitImpl(method, peer, metadata, info, client_cert_pem,
                                    /*may_wait=*/false, &would_block);
  if (would_block) return std::nullopt;
  return admitted;
}

absl::Status GrpcProxy::AdmitImpl(std::string_view method, std::string_view peer,
                                  const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                                  CallInfo* info, std::string_view client_cert_pem, bool may_wait,
                                  bool* would_block) {
  std::optional<std::string_view> given = Header(metadata, kRequestIdKey);
  info->request_id = given && ValidRequestId(*given) ? std::string(*given) : NewRequestId();
  info->method = std::string(method);
  info->peer = std::string(peer);
  info->principal.Clear();
  std::string_view service = method.substr(method.empty() || method.front() != '/' ? 0 : 1);
  service = service.substr(0, service.find('/'));
  if (StubFor(method) == nullptr && options_.local_services.count(std::string(service)) == 0) {
    return absl::UnimplementedError(
        absl::StrCat("no service behind this gateway serves ", Excerpt(method)));
  }
  if (!known_methods_.contains(AbslView(method)))
    SIMPUL_RETURN_IF_ERROR(CheckMethodDeclared(method));
  // Authentication. A refusal here is still rate limited (by address) below, so that a flood
  // of bad keys is throttled like anything else.
  absl::Status authenticated = absl::OkStatus();
  std::optional<std::string_view> token;
  if (std::optional<std::string_view> auth = Header(metadata, "authorization")) {
    if (auth->size() < 7 || !absl::EqualsIgnoreCase(AbslView(auth->substr(0, 7)), "bearer ")) {
      authenticated =
          absl::UnauthenticatedError("the authorization header must be \"Bearer <API key>\"");
    } else {
      token = auth->substr(7);
    }
  } else {
    token = Header(metadata, kApiKeyKey);
  }
  if (authenticated.ok() && token) {
    std::optional<absl::StatusOr<common::v1::Principal>> cached;
    if (!may_wait) {
      if (options_.authenticate_cached) cached = options_.authenticate_cached(*token);
      if (!cached) {
        *would_block = true;
        return absl::UnavailableError("authentication would wait");
      }
    }
    absl::StatusOr<common::v1::Principal> principal =
        cached ? *std::move(cached) : authenticate_(*token);
    if (principal.ok()) {
      info->principal = *std::move(principal);
    } else {
      authenticated = principal.status();
    }
  } else if (authenticated.ok() && !client_cert_pem.empty() &&
             options_.client_certificates != nullptr) {
    absl::StatusOr<common::v1::Principal> principal =
        options_.client_certificates->Lookup(client_cert_pem);
    if (principal.ok()) {
      info->principal = *std::move(principal);
    } else {
      authenticated = principal.status();
    }
  }
  if (options_.rate_limiter != nullptr && options_.rate_limits != nullptr) {
    const Identity identity{info->principal};
    const Limit& limit = options_.rate_limits->ForIdentity(identity);
    const std::string bucket = BucketKeyFor(identity, info->peer);
    std::optional<Decision> local;
    if (!may_wait) {
      local = options_.rate_limiter->CheckLocal(bucket, limit);
      if (!local) {
        *would_block = true;
        return absl::UnavailableError("the rate limit check would wait");
      }
    }
    const Decision decision = local ? *local : options_.rate_limiter->Check(bucket, limit);
    if (!decision.allowed) {
      const int64_t seconds = RetryAfterSeconds(decision.retry_after);
      absl::Status refused = absl::ResourceExhaustedError(absl::StrCat(
          "rate limit of ", FormatLimit(limit), " exceeded; retry after ", seconds, " s"));
      refused.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(seconds)));
      return refused;
    }
  }
  if (!authenticated.ok()) return authenticated;
  const common::v1::Role role = info->principal.role();
  if (!policy_->Allows(role, method)) {
    if (role == common::v1::ROLE_UNSPECIFIED) {
      return absl::UnauthenticatedError(absl::StrCat(Excerpt(method),
                                                     " needs credentials: send an API key as "
                                                     "\"authorization: Bearer <key>\""));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("the role ", AbslView(RoleName(role)), " may not call ", Excerpt(method)));
  }
  return absl::OkStatus();
}

void GrpcProxy::Audit(const CallInfo& info, absl::StatusCode outcome, bool reached_backend,
                      std::string request_bytes) {
  if (options_.audit == nullptr) return;
  if (!reached_backend && outcome != absl::StatusCode::kUnauthenticated &&
      outcome != absl::StatusCode::kPermissionDenied) {
    return;  // throttled or unknown methods are not audited
  }
  v1::AuditRecord record;
  *record.mutable_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
  record.set_request_id(info.request_id);
  record.set_subject(Identity{info.principal}.subject());
  record.set_role(info.principal.role());
  record.set_agency_id(info.principal.agency_id());
  record.set_channel(info.principal.channel());
  record.set_client_address(AuditClientAddress(info.method, info.peer));
  record.set_method(info.method);
  record.set_resource(ResourceOf(info.method, request_bytes));
  record.set_outcome(std::string(absl::StatusCodeToString(outcome)));
  record.set_request_sha256(AuditDigest(request_bytes));
  BoundAuditRecord(&record);  // bounded in the error log too
  auto append = [this, record = std::move(record)]() mutable {
    absl::StatusOr<v1::AuditRecord> stored = options_.audit->Append(record);
    if (!stored.ok()) {
      audit_failures_.Increment();
      // Not lost: the record goes to the log in full, for an operator to re-enter.
      std::string text;
      google::protobuf::util::MessageToJsonString(record, &text);
      Log(LogLevel::kError, "audit record not written",
          {{"error", stored.status().ToString()}, {"record", text}});
    }
  };
  if (options_.executor == nullptr || !options_.executor->Submit(append)) append();
}

std::string GrpcProxy::IdentityToken(const common::v1::Principal& principal,
                                     std::string_view method) const {
  if (principal.role() == common::v1::ROLE_UNSPECIFIED || identity_tokens_ == nullptr) return "";
  absl::StatusOr<std::string> token =
      identity_tokens_->Token(principal, ServiceAudience(method), absl::Now());
  if (!token.ok()) {
    // The backend then sees a public caller and refuses what needs an identity.
    Log(LogLevel::kError, "cannot sign the identity token", {{"error", token.status().ToString()}});
    return "";
  }
  return *std::move(token);
}

}  // namespace simpul::gateway
