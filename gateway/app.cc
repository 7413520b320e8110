// The wiring and lifecycle of simpul-gateway (gateway/app.h).
#include "gateway/app.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/logging.h"
#include "gateway/admin_service.h"
#include "gateway/api_keys.h"
#include "gateway/audit.h"
#include "gateway/audit_checkpoint.h"
#include "gateway/audit_key.h"
#include "gateway/client_certs.h"
#include "gateway/config.h"
#include "gateway/open311_front.h"
#include "gateway/openapi.h"
#include "gateway/policy.h"
#include "gateway/proxy.h"
#include "gateway/rate_limit.h"
#include "gateway/read_cache.h"
#include "gateway/rest/route_table.h"
#include "gateway/rest/server.h"
#include "gateway/rest/web_front.h"
#include "gateway/web_sessions.h"
#include "simpul/calendar/v1/calendar.grpc.pb.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/complaints/v1/webhooks.grpc.pb.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::gateway {
namespace {

template <typename T>
absl::Status Prefixed(std::string_view what, const absl::StatusOr<T>& value) {
  if (value.ok()) return absl::OkStatus();
  return absl::Status(value.status().code(),
                      absl::StrCat(AbslView(what), ": ", value.status().message()));
}

// ServerCredentials returns the TLS credentials of the gRPC port (null: plaintext) and loads
// the client certificate file into *certificates (when configured).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const GatewayConfig& config, std::optional<ClientCertificates>* certificates) {
  const std::string& cert_file = config.tls_cert_file;
  const std::string& key_file = config.tls_key_file;
  const std::string& client_ca_file = config.tls_client_ca_file;
  const std::string& certificates_file = config.client_certificates;
  if (cert_file.empty() != key_file.empty() || (cert_file.empty() && !client_ca_file.empty()) ||
      client_ca_file.empty() != certificates_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS: tls_cert_file and tls_key_file go together; mTLS needs both of "
        "them and tls_client_ca_file and client_certificates");
  }
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (!cert_file.empty()) {
    auto tls = TlsServerCredentials(cert_file, key_file, client_ca_file);
    if (!tls.ok()) return Prefixed("TLS", tls);
    credentials = *tls;
  }
  if (!certificates_file.empty()) {
    auto parsed = ClientCertificates::FromFile(certificates_file);
    if (!parsed.ok()) return Prefixed("client_certificates", parsed);
    *certificates = *std::move(parsed);
  }
  return credentials;
}

}  // namespace

absl::Status SetUpGateway(ServiceContext& ctx) {
  const GatewayConfig config = ReadGatewayConfig(ctx.config());
  if (ctx.signer() == nullptr || !ctx.signer()->can_sign()) {
    return absl::FailedPreconditionError(
        "identity_private_key_file is required: the gateway signs the identity of "
        "every caller for the services with its Ed25519 private key");
  }
  absl::StatusOr<Policy> policy = Policy::FromFile(config.policy_file);
  if (!policy.ok()) return Prefixed("policy_file", policy);
  absl::StatusOr<RateLimitConfig> limits = RateLimitConfig::Parse(config.rate_limits);
  if (!limits.ok()) return Prefixed("rate_limits", limits);
  if (!ctx.config().GetString("internal_tls_allowed_peers").empty()) {
    return absl::InvalidArgumentError(
        "internal_tls_allowed_peers: the gateway's gRPC port is its public front, not an "
        "internal port (its callers are checked by API keys and tls_client_ca_file)");
  }
  auto* client_certificates = ctx.Make<std::optional<ClientCertificates>>();
  auto credentials = ServerCredentials(config, client_certificates);
  if (!credentials.ok()) return credentials.status();
  ctx.host_options().credentials = *credentials;

  Metrics* metrics = &ctx.metrics();
  auto api_keys = ApiKeyStore::Create(&ctx.pool(), config.api_keys);
  auto limiter = RateLimiter::Create(&ctx.pool(), RateLimiter::Options{.metrics = metrics});
  AuditLog::Options audit_options;
  if (!config.audit_key_file.empty()) {
    absl::StatusOr<AuditKeyring> ring = AuditKeyring::FromFile(config.audit_key_file);
    if (!ring.ok()) return Prefixed("audit_key_file", ring);
    audit_options.keyring = ctx.Make<AuditKeyring>(*std::move(ring));
  } else {
    Log(LogLevel::kWarn,
        "audit_key_file is not set: audit records are chained with unkeyed SHA-256 (encoding 1), "
        "which someone with write access to Redis can rewrite consistently");
  }
  if (!config.audit_checkpoint_file.empty() &&
      (audit_options.keyring == nullptr ||
       config.audit_checkpoint_interval <= absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        "audit_checkpoint_file needs audit_key_file (checkpoints are signed with the audit key) "
        "and a positive audit_checkpoint_interval");
  }
  auto audit = AuditLog::Create(&ctx.pool(), audit_options);
  for (const absl::Status& s : {api_keys.status(), limiter.status(), audit.status()}) {
    if (!s.ok()) return absl::Status(s.code(), "cannot set up the gateway: " + s.ToString());
  }
  ApiKeyStore* keys = ctx.Keep(*std::move(api_keys));
  RateLimiter* rate_limiter = ctx.Keep(*std::move(limiter));
  auto web_sessions = WebSessions::Create(&ctx.pool(), keys, rate_limiter, config.web_sessions);
  if (!web_sessions.ok()) return web_sessions.status();
  const WebFront* web_front = nullptr;
  if (!config.web_root.empty()) {
    // Refuses to start on a missing or oversized build, naming the directory or the file.
    auto loaded = WebFront::Load(config.web_root);
    if (!loaded.ok()) return loaded.status();
    Log(LogLevel::kInfo, "web front loaded",
        {{"web_root", config.web_root},
         {"files", absl::StrCat((*loaded)->files())},
         {"bytes", absl::StrCat((*loaded)->bytes())}});
    web_front = ctx.Keep(*std::move(loaded));
  }
  AuditLog* audit_log = ctx.Keep(*std::move(audit));
  if (!config.audit_checkpoint_file.empty()) {
    ctx.Make<AuditCheckpointWriter>(audit_log, audit_options.keyring, config.audit_checkpoint_file,
                                    config.audit_checkpoint_interval);
  }

  // The services' descriptors, linked in and registered with the generated pool: server
  // reflection answers from them, and the audit trail reads resources from requests.
  for (const auto* file :
       {registry::v1::Agency::descriptor()->file(), complaints::v1::Complaint::descriptor()->file(),
        monitoring::v1::Figures::descriptor()->file(),
        calendar::v1::GetDeadlineRequest::descriptor()->file(),
        complaints::v1::Webhook::descriptor()->file()}) {
    Log(LogLevel::kDebug, "proxying", {{"proto", file->name()}});
  }

  const std::string registry_service(registry::v1::Registry::service_full_name());
  // The Calendar API is served by simpul-registry: same backend, same channel.
  const std::string calendar_service(calendar::v1::Calendar::service_full_name());
  const std::string admin_service(v1::GatewayAdmin::service_full_name());
  ProxyOptions options;
  // The name each backend's certificate must carry under internal mTLS (common/tls.h).
  const std::map<std::string, std::string> tls_names = {
      {registry_service, kRegistryTlsName},
      {std::string(complaints::v1::Complaints::service_full_name()), kComplaintsTlsName},
      {std::string(monitoring::v1::Monitoring::service_full_name()), kMonitoringTlsName}};
  for (const auto& [service, address] : config.backends) {
    options.backends[service] =
        ChannelFor(address, service, absl::Seconds(1), ctx.internal_tls(), tls_names.at(service));
  }
  options.backends[calendar_service] = options.backends[registry_service];
  // The Webhooks API is served by simpul-complaints: same backend, same channel.
  const std::string webhooks_service(complaints::v1::Webhooks::service_full_name());
  options.backends[webhooks_service] =
      options.backends[std::string(complaints::v1::Complaints::service_full_name())];
  auto* rest_channels =
      ctx.Make<std::map<std::string, std::shared_ptr<grpc::Channel>>>(options.backends);
  options.local_services.insert(admin_service);
  RegistryFeedWatcher* feed_watcher = nullptr;
  if (config.read_cache) {
    auto* read_cache = ctx.Make<ReadCache>(config.read_cache_options, metrics);
    feed_watcher =
        ctx.Make<RegistryFeedWatcher>(options.backends[registry_service], ctx.signer(), read_cache);
    options.read_cache = read_cache;
  }
  options.authenticate_cached = [keys](std::string_view token) {
    return keys->VerifyCached(token);
  };
  options.rate_limiter = rate_limiter;
  options.rate_limits = ctx.Make<RateLimitConfig>(*std::move(limits));
  options.audit = audit_log;
  if (*client_certificates) options.client_certificates = &**client_certificates;
  options.executor = &ctx.executor();
  options.access_log = config.access_log;
  options.identity_ttl = config.identity_ttl;
  // One set of counts for gRPC and REST streams: a key's streams count together.
  auto* stream_limits = ctx.Make<StreamLimits>(config.stream_limits, metrics);
  options.stream_limits = stream_limits;
  const Policy* gate_policy = ctx.Make<Policy>(*std::move(policy));
  auto* proxy = ctx.Make<GrpcProxy>(
      std::move(options), ctx.signer(), gate_policy,
      [keys](std::string_view token) { return keys->Verify(token); }, metrics);
  auto* admin_desk = ctx.Make<AdminDesk>(*keys, *audit_log);
  ctx.AddService(ctx.Make<GatewayAdminService>(*admin_desk, *proxy, ctx.executor()));
  for (const auto& [service, address] : config.backends) {  // for server reflection
    ctx.AddService(ctx.Make<ListedService>(service));
  }
  ctx.AddService(ctx.Make<ListedService>(calendar_service));
  ctx.AddService(ctx.Make<ListedService>(webhooks_service));
  ctx.AddGenericService(proxy);

  // The REST/JSON and Open311 front: routes from the protos' options, calls through the same
  // gate; GatewayAdmin is reached in process (it runs the gate itself).
  // The same services as the OpenAPI document's (gateway/openapi.h: one list for both).
  auto routes = RouteTable::FromServices(RestServices());
  if (!routes.ok()) return Prefixed("REST routes", routes);
  const RouteTable* route_table = ctx.Make<RouteTable>(*std::move(routes));
  RestOptions rest_options = config.rest;
  rest_options.self_gated_services.insert(admin_service);
  rest_options.stream_limits = stream_limits;
  rest_options.web_front = web_front;
  rest_options.web_sessions = ctx.Keep(*std::move(web_sessions));
  // The REST/Open311 front serves HTTPS with the gRPC port's certificate, and client
  // certificates map to principals as there (GrpcProxy::Admit).
  rest_options.tls_cert_file = config.tls_cert_file;
  rest_options.tls_key_file = config.tls_key_file;
  rest_options.tls_client_ca_file = config.tls_client_ca_file;
  // Checked now: a key that is not the certificate's stops the start with the files named.
  if (absl::Status tls = RestServer::CheckTls(rest_options); !tls.ok()) return tls;
  Open311Front::Options open311_options{.timeout = rest_options.default_timeout,
                                        .max_list_pages = config.open311_max_list_pages};
  open311_options.discovery.base_url = config.open311_base_url;
  auto* open311 = ctx.Make<Open311Front>(
      proxy, (*rest_channels)[registry_service],
      (*rest_channels)[std::string(complaints::v1::Complaints::service_full_name())],
      open311_options);
  rest_options.open311 = open311;
  auto* rest = ctx.Make<std::unique_ptr<RestServer>>();

  // The REST front stops first, while the gRPC server (GatewayAdmin) still serves its calls.
  ctx.OnDrain([rest] {
    if (*rest) (*rest)->Stop();
  });
  ctx.OnStart([feed_watcher](ServiceHost&) {
    if (feed_watcher != nullptr) feed_watcher->Start();
    return absl::OkStatus();
  });
  ctx.OnStart(
      [rest, rest_options, route_table, proxy, rest_channels, admin_service](ServiceHost& host) {
        if (rest_options.listen.empty()) return absl::OkStatus();
        (*rest_channels)[admin_service] = host.InProcessChannel();
        *rest = std::make_unique<RestServer>(rest_options, route_table, proxy, *rest_channels);
        if (absl::Status started = (*rest)->Start(); !started.ok()) {
          Log(LogLevel::kError, "cannot start the REST front", {{"error", started.ToString()}});
          return started;
        }
        return absl::OkStatus();
      });
  ctx.AlsoLogPort("rest_port", [rest] { return *rest ? (*rest)->port() : 0; });
  ctx.OnStop([rest, feed_watcher] {
    rest->reset();
    if (feed_watcher != nullptr) feed_watcher->Stop();
  });
  return absl::OkStatus();
}

}  // namespace simpul::gateway
