// GrpcProxy: the gate and the byte-level forwarding of proxied calls.
#include "gateway/proxy.h"

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
#include "common/grpc_status.h"
#include "common/logging.h"

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

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

std::string NewRequestId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // The CSPRNG cannot fail on Linux once seeded; a time-based id still keeps calls apart.
    return absl::StrCat("t", absl::ToUnixNanos(absl::Now()));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::shared_ptr<grpc::Channel> ChannelFor(const std::string& target,
                                          const std::string& health_service,
                                          absl::Duration max_backoff) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(absl::StrCat(
      R"({"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":")",
      health_service, R"("}})"));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
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
  return grpc::CreateCustomChannel(uri, grpc::InsecureChannelCredentials(), args);
}

// ---------------------------------------------------------------------------------------------
// One proxied call: the server side towards the caller, the client side towards the backend.

class GrpcProxy::Call {
 public:
  Call(GrpcProxy* proxy, grpc::GenericCallbackServerContext* ctx)
      : proxy_(proxy), ctx_(ctx), server_(this), client_(this) {}

  // Start runs the gate (on the executor when there is one) and then starts the call.
  grpc::ServerGenericBidiReactor* Start() {
    if (proxy_->options_.executor == nullptr ||
        !proxy_->options_.executor->Submit([this] { Gate(); })) {
      Gate();
    }
    return &server_;
  }

 private:
  void Gate() {
    std::string request_id;
    absl::StatusOr<CallInfo> info =
        proxy_->Admit(ctx_->method(), ctx_->peer(), ctx_->client_metadata(), &request_id);
    ctx_->AddInitialMetadata(kRequestIdKey, request_id);
    if (!info.ok()) {
      Log(LogLevel::kDebug, "call refused",
          {{"method", ctx_->method()},
           {"request_id", request_id},
           {"code", static_cast<int>(info.status().code())}});
      sides_.store(1);  // no backend call: only the server side remains
      if (proxy_->metrics_ != nullptr) {
        proxy_->metrics_->Increment(
            "simpul_gateway_refused_total",
            {{"code", std::string(absl::StatusCodeToString(info.status().code()))}});
      }
      if (auto retry = info.status().GetPayload(kRetryAfterPayload)) {
        ctx_->AddTrailingMetadata(kRetryAfterPayload, std::string(*retry));
      }
      server_.Finish(ToGrpcStatus(info.status()));
      return;
    }
    grpc::GenericStub* stub = proxy_->StubFor(ctx_->method());
    client_ctx_ = grpc::ClientContext::FromCallbackServerContext(*ctx_);
    for (const auto& [key, value] : ctx_->client_metadata()) {
      if (Forwardable(View(key))) {
        client_ctx_->AddMetadata(std::string(key.data(), key.size()),
                                 std::string(value.data(), value.size()));
      }
    }
    client_ctx_->AddMetadata(kRequestIdKey, request_id);
    const std::string identity = proxy_->IdentityToken(info->principal);
    if (!identity.empty()) client_ctx_->AddMetadata(std::string(kIdentityMetadataKey), identity);

    stub->PrepareBidiStreamingCall(client_ctx_.get(), ctx_->method(), grpc::StubOptions(),
                                   &client_);
    // Holds: the client side's operations are started from the server side's callbacks, so
    // its OnDone must wait until neither direction can start one any more.
    client_.AddMultipleHolds(2);  // request direction, response direction
    client_.StartRead(&response_);
    client_.StartCall();
    server_.StartRead(&request_);
  }

  struct ServerSide final : grpc::ServerGenericBidiReactor {
    explicit ServerSide(Call* c) : call(c) {}
    void OnReadDone(bool ok) override { call->CallerReadDone(ok); }
    void OnWriteDone(bool ok) override { call->CallerWriteDone(ok); }
    void OnSendInitialMetadataDone(bool) override {}
    void OnCancel() override { call->CallerCancelled(); }
    void OnDone() override { call->CallerDone(); }
    Call* call;
  };
  struct ClientSide final : grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
    explicit ClientSide(Call* c) : call(c) {}
    void OnReadInitialMetadataDone(bool ok) override { call->BackendMetadataDone(ok); }
    void OnReadDone(bool ok) override { call->BackendReadDone(ok); }
    void OnWriteDone(bool ok) override { call->BackendWriteDone(ok); }
    void OnWritesDoneDone(bool) override { RemoveHold(); }
    void OnDone(const grpc::Status& status) override { call->BackendDone(status); }
    Call* call;
  };

  // Request direction: caller → backend, one message at a time.
  void CallerReadDone(bool ok) {
    if (ok) {
      client_.StartWrite(&request_);
    } else {
      client_.StartWritesDone();  // the caller half-closed (or went away)
    }
  }
  void BackendWriteDone(bool ok) {
    if (ok) {
      server_.StartRead(&request_);
    } else {
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
    if (write) server_.StartWrite(&response_);
  }
  void BackendReadDone(bool ok) {
    if (!ok) {
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
      client_.StartRead(&response_);
    } else {
      client_ctx_->TryCancel();  // the caller is gone
      client_.RemoveHold();
    }
    if (finish) server_.Finish(*finish);
  }

  void BackendDone(const grpc::Status& status) {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [key, value] : client_ctx_->GetServerTrailingMetadata()) {
        if (Returnable(View(key))) {
          ctx_->AddTrailingMetadata(std::string(key.data(), key.size()),
                                    std::string(value.data(), value.size()));
        }
      }
      backend_status_ = status;
      if (!caller_write_pending_ && !finished_) finished_ = finish = true;
    }
    if (finish) server_.Finish(status);
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

  GrpcProxy* const proxy_;
  grpc::GenericCallbackServerContext* const ctx_;
  ServerSide server_;
  ClientSide client_;
  std::unique_ptr<grpc::ClientContext> client_ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;

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
      policy_(policy),
      authenticate_(std::move(authenticate)),
      metrics_(metrics) {
  if (metrics_ != nullptr) {
    metrics_->Describe("simpul_gateway_refused_total", Metrics::Type::kCounter,
                       "calls refused by the gateway before reaching a backend, by status");
  }
  for (const auto& [service, channel] : options_.backends) {
    stubs_.emplace(service, std::make_unique<grpc::GenericStub>(channel));
  }
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

absl::StatusOr<CallInfo> GrpcProxy::Admit(
    std::string_view method, std::string_view peer,
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, std::string* request_id) {
  std::optional<std::string_view> given = Header(metadata, kRequestIdKey);
  *request_id = given && ValidRequestId(*given) ? std::string(*given) : NewRequestId();
  CallInfo info;
  info.method = std::string(method);
  info.peer = std::string(peer);
  info.request_id = *request_id;
  if (StubFor(method) == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("no service behind this gateway serves ", AbslView(method)));
  }
  std::optional<std::string_view> token;
  if (std::optional<std::string_view> auth = Header(metadata, "authorization")) {
    if (auth->size() < 7 || !absl::EqualsIgnoreCase(AbslView(auth->substr(0, 7)), "bearer ")) {
      return absl::UnauthenticatedError("the authorization header must be \"Bearer <API key>\"");
    }
    token = auth->substr(7);
  } else {
    token = Header(metadata, kApiKeyKey);
  }
  if (token) {
    absl::StatusOr<common::v1::Principal> principal = authenticate_(*token);
    if (!principal.ok()) return principal.status();
    info.principal = *std::move(principal);
  }
  const common::v1::Role role = info.principal.role();
  if (!policy_->Allows(role, method)) {
    if (role == common::v1::ROLE_UNSPECIFIED) {
      return absl::UnauthenticatedError(absl::StrCat(AbslView(method),
                                                     " needs credentials: send an API key as "
                                                     "\"authorization: Bearer <key>\""));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("the role ", AbslView(RoleName(role)), " may not call ", AbslView(method)));
  }
  if (options_.rate_limiter != nullptr && options_.rate_limits != nullptr) {
    const Identity identity{info.principal};
    const Limit& limit = options_.rate_limits->ForIdentity(identity);
    const Decision decision =
        options_.rate_limiter->Check(BucketKeyFor(identity, info.peer), limit);
    if (!decision.allowed) {
      const int64_t seconds = RetryAfterSeconds(decision.retry_after);
      absl::Status refused = absl::ResourceExhaustedError(absl::StrCat(
          "rate limit of ", FormatLimit(limit), " exceeded; retry after ", seconds, " s"));
      refused.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(seconds)));
      return refused;
    }
  }
  return info;
}

std::string GrpcProxy::IdentityToken(const common::v1::Principal& principal) const {
  if (principal.role() == common::v1::ROLE_UNSPECIFIED || signer_ == nullptr) return "";
  common::v1::Principal p = principal;
  p.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + options_.identity_ttl));
  p.mutable_expire_time()->set_nanos(0);
  return signer_->Sign(p);
}

}  // namespace simpul::gateway
