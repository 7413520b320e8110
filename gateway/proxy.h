// GrpcProxy forwards any gRPC call the gateway does not serve itself to the backend that owns
// its service, by full method name, as raw bytes (grpc::ByteBuffer: the message is never
// parsed or re-serialized). Unary and streaming calls both work. A unary method (known from
// the descriptors linked into the gateway) is read whole and sent as one unary backend call,
// or answered from the read cache (gateway/read_cache.h); any other call is a pair of
// callback reactors, the server side towards the caller and the client side towards the
// backend, that move one message at a time in each direction (flow control end to end).
//
// Per call, before any backend is reached (CallGate):
//   - a request id: the caller's x-request-id when well-formed, else a new one; returned in
//     the response's initial metadata and passed to the backend;
//   - authentication: "authorization: Bearer <token>" (or "x-api-key: <token>"), else a
//     verified TLS client certificate listed in the certificate file (mTLS); no credentials
//     make a public caller, bad credentials are UNAUTHENTICATED;
//   - authorization by the policy (deny by default): PERMISSION_DENIED;
//   - the rate limit of the caller (per API key, or per client address for public callers),
//     shared by the gateway replicas through Redis: RESOURCE_EXHAUSTED with "retry-after"
//     (whole seconds) in the trailing metadata;
//   - incoming x-simpul-identity headers are dropped: the backend gets the verified principal
//     in a token the gateway signs (common/identity.h), which a caller cannot forge.
// Every mutating call (a method not named Get*, List*, Search*, Watch*, Track* or Rank*) and
// every call refused as UNAUTHENTICATED or PERMISSION_DENIED, by the gateway or by the
// service, is written to the audit trail when it ends: who, which method, which
// resource (read from the request with the method's descriptor), the outcome and the SHA-256
// of the request message. A record the trail cannot take is logged in full as an error.
// The caller's deadline and cancellation reach the backend (ClientContext::
// FromCallbackServerContext). The backend's initial and trailing metadata and its status,
// details included (field violations), come back unchanged.
#ifndef SIMPUL_GATEWAY_PROXY_H_
#define SIMPUL_GATEWAY_PROXY_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/messages.h"
#include "common/metrics.h"
#include "common/tls.h"
#include "gateway/audit.h"
#include "gateway/call_bounds.h"
#include "gateway/client_certs.h"
#include "gateway/policy.h"
#include "gateway/rate_limit.h"
#include "gateway/read_cache.h"
#include "gateway/stream_limits.h"

namespace simpul::gateway {

// Metadata keys of the gateway.
inline constexpr char kRequestIdKey[] = "x-request-id";
inline constexpr char kApiKeyKey[] = "x-api-key";

// ChannelFor makes the channel to one backend: `target` is "host:port", a comma-separated
// list of them (replicas, balanced round-robin) or a gRPC target such as "dns:///name:port".
// `health_service` is the name each replica reports in grpc.health.v1: replicas that do not
// report SERVING get no calls. Reconnection backs off from 100 ms to at most `max_backoff`.
// With `tls` (null: plaintext) the channel is mutual TLS and every replica must present a
// certificate naming `tls_name` (e.g. "simpul-registry"; common/tls.h).
std::shared_ptr<grpc::Channel> ChannelFor(const std::string& target,
                                          const std::string& health_service,
                                          absl::Duration max_backoff = absl::Seconds(1),
                                          const InternalTls* tls = nullptr,
                                          const std::string& tls_name = "");

// Authenticator turns a presented token into a principal (UNAUTHENTICATED when it is not
// valid; UNAVAILABLE when it cannot be checked now).
using Authenticator = std::function<absl::StatusOr<common::v1::Principal>(std::string_view token)>;

// CallInfo describes an incoming call for the gate.
struct CallInfo {
  std::string method;  // "/package.Service/Method"
  std::string peer;    // "ipv4:127.0.0.1:5555"
  std::string request_id;
  common::v1::Principal principal;  // after authentication
};

// CallerLang is the language of the texts a caller reads (common/messages.h): the one it
// asked for, else Bahasa Indonesia for the public and complaint channels and English for
// everyone else (agency systems, dashboards, operators).
Lang CallerLang(const common::v1::Principal& principal, std::optional<Lang> asked);

// AskedLang is the language a gRPC caller asks for in its `accept-language` metadata.
std::optional<Lang> AskedLang(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

// LocalizeGrpcStatus is `status` with its message and field violations in `lang`.
grpc::Status LocalizeGrpcStatus(const grpc::Status& status, Lang lang);

struct ProxyOptions {
  // Backends by full service name, e.g. "simpul.registry.v1.Registry".
  std::map<std::string, std::shared_ptr<grpc::Channel>> backends;
  // Log one line per call when it ends (method, request id, caller, outcome, duration).
  bool access_log = true;
  // How long a minted identity token is valid (it only needs to outlive the call's start).
  absl::Duration identity_ttl = absl::Minutes(5);
  // Rate limits; no limit when either is null. Not owned.
  RateLimiter* rate_limiter = nullptr;
  const RateLimitConfig* rate_limits = nullptr;
  // Services the gateway serves itself (e.g. "simpul.gateway.v1.GatewayAdmin"): their calls
  // pass the same gate (Admit) without a backend.
  std::set<std::string> local_services;
  // Client certificates of agency systems (mTLS); none when null. Not owned.
  const ClientCertificates* client_certificates = nullptr;
  // Audit trail; none when null. Not owned.
  AuditTrail* audit = nullptr;
  // Authentication that never waits (e.g. ApiKeyStore::VerifyCached): nullopt when it would
  // have to. With it, and rate limits decided locally (leases, cached denials), the gate of
  // most calls runs at once on the gRPC thread instead of waiting for a worker.
  std::function<std::optional<absl::StatusOr<common::v1::Principal>>(std::string_view token)>
      authenticate_cached;
  // Cache of registry reads (gateway/read_cache.h); none when null. Not owned.
  ReadCache* read_cache = nullptr;
  // Caps on concurrent server streams per principal and per address (gateway/stream_limits.h);
  // none when null. Not owned.
  StreamLimits* stream_limits = nullptr;
  // Where the gate runs (it may wait for Redis: API keys not cached, rate limits), so that
  // gRPC's callback threads never block; inline when null. Not owned.
  Executor* executor = nullptr;
};

// kRetryAfterPayload is the status payload (decimal seconds) Admit attaches to a
// RESOURCE_EXHAUSTED refusal.
inline constexpr char kRetryAfterPayload[] = "retry-after";

class GrpcProxy final : public grpc::CallbackGenericService {
 public:
  // `signer` mints identities for the backends; `policy` and `authenticate` decide who may
  // call; all must outlive the proxy. `metrics` may be null.
  GrpcProxy(ProxyOptions options, const IdentitySigner* signer, const Policy* policy,
            Authenticator authenticate, Metrics* metrics);

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

  // Admit runs the gate of one call: request id, authentication, rate limit, authorization.
  // It fills *info as far as it got (request id, peer, principal) and returns the status to
  // fail the call with, OK to let it through. Exposed for the REST front and for tests.
  // `client_cert_pem` is the caller's verified TLS client certificate, if any: without an API
  // key it stands for the principal the certificate file maps it to.
  absl::Status Admit(std::string_view method, std::string_view peer,
                     const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                     CallInfo* info, std::string_view client_cert_pem = "");
  // TryAdmit is Admit when it can decide without waiting for Redis (see
  // ProxyOptions::authenticate_cached), nullopt otherwise (then nothing was spent).
  std::optional<absl::Status> TryAdmit(
      std::string_view method, std::string_view peer,
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, CallInfo* info,
      std::string_view client_cert_pem = "");

  // Audit writes the record of one ended call (on the executor when there is one). Callers
  // pass every mutating call and every call refused as UNAUTHENTICATED or PERMISSION_DENIED;
  // calls the gate refused for other reasons (rate limit, unknown method) are not recorded.
  void Audit(const CallInfo& info, absl::StatusCode outcome, bool reached_backend,
             std::string request_bytes);

  // IdentityToken is the signed identity the backend of `method` ("/pkg.Service/Method")
  // receives for `principal`: for that backend's audience, valid for identity_ttl, reused from
  // a cache until shortly before it expires ("" for a public caller).
  std::string IdentityToken(const common::v1::Principal& principal, std::string_view method) const;

  // The cache of registry reads (null when there is none): the REST front uses it too.
  ReadCache* read_cache() const { return options_.read_cache; }

 private:
  class Call;
  // AdmitImpl is Admit; with !may_wait it sets *would_block instead of waiting for Redis.
  absl::Status AdmitImpl(std::string_view method, std::string_view peer,
                         const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                         CallInfo* info, std::string_view client_cert_pem, bool may_wait,
                         bool* would_block);
  // StubFor returns the stub of the backend serving `method`, or nullptr.
  grpc::GenericStub* StubFor(std::string_view method) const;

  const ProxyOptions options_;
  const IdentitySigner* const signer_;
  const std::unique_ptr<TokenCache> identity_tokens_;  // null without a signer
  const Policy* const policy_;
  const Authenticator authenticate_;
  Metrics* const metrics_;
  // simpul_gateway_refused_total{code} per absl::StatusCode (0..16) and
  // simpul_gateway_audit_failures_total, resolved once (no-ops without metrics).
  std::array<Counter, 17> refused_;
  Counter audit_failures_;
  // Samples the access log lines of calls to unknown methods (gateway/call_bounds.h).
  LogSampler unknown_method_log_;
  std::map<std::string, std::unique_ptr<grpc::GenericStub>, std::less<>> stubs_;
  // Full names ("/pkg.Service/Method") of the backends' unary methods, from the descriptors
  // linked into the gateway: forwarded as one unary call each. Read-only after construction.
  absl::flat_hash_set<std::string> unary_methods_;
  // Full names of every method of the backends and of the local services, from the same
  // descriptors: the gate and the access log know them without a lookup in the pool.
  absl::flat_hash_set<std::string> known_methods_;
};

// ListedService makes a proxied service visible to gRPC's server reflection (which lists only
// the services registered on the server, and answers descriptor look-ups from the protos linked
// into the process): it registers one placeholder method of the service, so the service's
// name is listed, while its real methods stay unregistered and reach the proxy. Register one
// per backend service on the gateway's server.
class ListedService final : public grpc::Service {
 public:
  explicit ListedService(const std::string& service_name);

 private:
  const std::string method_;  // gRPC keeps a pointer to it
};

// ClientCertificatePem is the caller's verified client certificate (PEM) from a call's auth
// context, "" without one.
std::string ClientCertificatePem(const grpc::ServerContextBase& ctx);

// IsMutating: the method changes something (its name does not start with Get, List, Search,
// Watch, Track or Rank).
bool IsMutating(std::string_view method);
// ResourceOf names the resource a request is about: the first of its fields id,
// tracking_code, complaint_id, service_id, unit_id, agency_id that is set, looked for in the
// request and then in its message fields ("agency.id" → the value); "" when the method is
// unknown or nothing is set.
std::string ResourceOf(std::string_view method, std::string_view request_bytes);

// ValidRequestId: 1..128 characters of A-Z a-z 0-9 - _ . :
bool ValidRequestId(std::string_view id);
// NewRequestId: 32 lowercase hex characters from a CSPRNG.
std::string NewRequestId();

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_PROXY_H_
