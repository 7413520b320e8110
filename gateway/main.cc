// simpul-gateway: the one entry point. gRPC calls to the three services are proxied by full
// method name (gateway/proxy.h) behind authentication (API keys), rate limits, the policy and
// the audit trail; GatewayAdmin (API keys, audit records) is served here. The same calls are
// served as REST/JSON (gateway/rest.h) and the complaint ones as Open311 GeoReport v2
// (gateway/open311_front.h) on a second port, through the same gate.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/config.h"
#include "common/executor.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "common/server.h"
#include "common/service_setup.h"
#include "gateway/admin_service.h"
#include "gateway/api_keys.h"
#include "gateway/audit.h"
#include "gateway/client_certs.h"
#include "gateway/open311_front.h"
#include "gateway/policy.h"
#include "gateway/proxy.h"
#include "gateway/rate_limit.h"
#include "gateway/read_cache.h"
#include "gateway/rest.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

extern char** environ;

int main(int argc, char** argv) {
  using namespace simpul;
  BlockTerminationSignals();
  std::vector<ConfigKey> keys = CommonServiceConfigKeys("127.0.0.1:7100", "127.0.0.1:9100");
  keys.push_back({.name = "registry_addr",
                  .type = ConfigType::kString,
                  .default_value = "127.0.0.1:7101",
                  .help = "simpul-registry: host:port, a comma-separated list of replicas, or "
                          "dns:///name:port"});
  keys.push_back({.name = "complaints_addr",
                  .type = ConfigType::kString,
                  .default_value = "127.0.0.1:7102",
                  .help = "simpul-complaints (same forms as registry_addr)"});
  keys.push_back({.name = "monitoring_addr",
                  .type = ConfigType::kString,
                  .default_value = "127.0.0.1:7103",
                  .help = "simpul-monitoring (same forms as registry_addr)"});
  keys.push_back({.name = "policy_file",
                  .type = ConfigType::kString,
                  .default_value = "deploy/policy.json",
                  .help = "which roles may call which methods (deny by default)"});
  keys.push_back({.name = "rate_limits",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "rate limits per role or subject, e.g. \"public=20/s burst 40; "
                          "channel=200/s\" (roles not named keep their defaults)"});
  keys.push_back({.name = "api_key_cache_ttl",
                  .type = ConfigType::kDuration,
                  .default_value = "5s",
                  .help = "how long a verified API key is trusted without asking Redis (a "
                          "revoked key stops working within this time)"});
  keys.push_back({.name = "access_log",
                  .type = ConfigType::kBool,
                  .default_value = "true",
                  .help = "log one line per call (method, request id, caller, outcome, ms)"});
  keys.push_back({.name = "tls_cert_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "PEM certificate chain of the gRPC port; with tls_key_file it serves "
                          "TLS (plaintext when empty)"});
  keys.push_back({.name = "tls_key_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "PEM private key of tls_cert_file"});
  keys.push_back({.name = "tls_client_ca_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "CA (PEM) that signs agency systems' client certificates (mTLS); "
                          "callers are asked for one and any they present is verified"});
  keys.push_back({.name = "client_certificates",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "JSON file mapping client certificate SHA-256 fingerprints to "
                          "principals (simpul.gateway.v1.ClientCertificateFile)"});
  keys.push_back({.name = "rest_listen",
                  .type = ConfigType::kString,
                  .default_value = "127.0.0.1:8100",
                  .help = "host:port of the REST/JSON and Open311 front (HTTP/1.1); empty: "
                          "no REST front"});
  keys.push_back({.name = "rest_threads",
                  .type = ConfigType::kInt,
                  .default_value = "2",
                  .help = "I/O threads of the REST front"});
  keys.push_back({.name = "rest_max_body_bytes",
                  .type = ConfigType::kInt,
                  .default_value = "1048576",
                  .help = "largest REST request body accepted (413 above it)"});
  keys.push_back({.name = "rest_max_connections",
                  .type = ConfigType::kInt,
                  .default_value = "10000",
                  .help = "REST connections served at once; more are closed on accept"});
  keys.push_back({.name = "rest_read_timeout",
                  .type = ConfigType::kDuration,
                  .default_value = "10s",
                  .help = "a REST request must arrive within this time; idle keep-alive "
                          "connections close after it"});
  keys.push_back({.name = "rest_timeout",
                  .type = ConfigType::kDuration,
                  .default_value = "30s",
                  .help = "deadline of a REST call to a backend when the client sends no "
                          "grpc-timeout header"});
  keys.push_back({.name = "rest_cors_origins",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "comma-separated origins browsers may call the REST front from "
                          "(CORS), e.g. https://dashboard.example.go.id; \"*\" for any"});
  keys.push_back({.name = "read_cache",
                  .type = ConfigType::kBool,
                  .default_value = "true",
                  .help = "answer repeated registry reads from memory, dropped on every "
                          "registry change (the gateway watches the registry's change feed)"});
  keys.push_back({.name = "read_cache_max_age",
                  .type = ConfigType::kDuration,
                  .default_value = "60s",
                  .help = "the longest a cached registry read is served (a backstop: changes "
                          "drop it at once)"});
  int exit_code = 0;
  std::optional<ServiceBasics> basics =
      SetUpService("GATEWAY", "simpul-gateway", keys, argc, argv, environ, &exit_code);
  if (!basics) return exit_code;
  const Config* config = &basics->config;
  if (basics->signer == nullptr) {
    Log(LogLevel::kError,
        "identity_key_file is required: the gateway signs the identity of "
        "every caller for the services");
    return 2;
  }
  absl::StatusOr<gateway::Policy> policy =
      gateway::Policy::FromFile(config->GetString("policy_file"));
  if (!policy.ok()) {
    Log(LogLevel::kError, "policy_file: " + std::string(policy.status().message()));
    return 2;
  }
  absl::StatusOr<gateway::RateLimitConfig> limits =
      gateway::RateLimitConfig::Parse(config->GetString("rate_limits"));
  if (!limits.ok()) {
    Log(LogLevel::kError, "rate_limits: " + std::string(limits.status().message()));
    return 2;
  }

  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::optional<gateway::ClientCertificates> client_certificates;
  const std::string cert_file = config->GetString("tls_cert_file");
  const std::string key_file = config->GetString("tls_key_file");
  const std::string client_ca_file = config->GetString("tls_client_ca_file");
  const std::string certificates_file = config->GetString("client_certificates");
  if (cert_file.empty() != key_file.empty() || (cert_file.empty() && !client_ca_file.empty()) ||
      client_ca_file.empty() != certificates_file.empty()) {
    Log(LogLevel::kError,
        "TLS: tls_cert_file and tls_key_file go together; mTLS needs both of "
        "them and tls_client_ca_file and client_certificates");
    return 2;
  }
  if (!cert_file.empty()) {
    auto tls = gateway::TlsServerCredentials(cert_file, key_file, client_ca_file);
    if (!tls.ok()) {
      Log(LogLevel::kError, "TLS: " + std::string(tls.status().message()));
      return 2;
    }
    credentials = *tls;
  }
  if (!certificates_file.empty()) {
    auto parsed = gateway::ClientCertificates::FromFile(certificates_file);
    if (!parsed.ok()) {
      Log(LogLevel::kError, "client_certificates: " + std::string(parsed.status().message()));
      return 2;
    }
    client_certificates = *std::move(parsed);
  }

  Metrics metrics;
  RedisPool pool(RedisOptionsFromConfig(*config));
  auto api_keys = gateway::ApiKeyStore::Create(
      &pool, gateway::ApiKeyStore::Options{.cache_ttl = config->GetDuration("api_key_cache_ttl")});
  auto limiter =
      gateway::RateLimiter::Create(&pool, gateway::RateLimiter::Options{.metrics = &metrics});
  auto audit = gateway::AuditLog::Create(&pool, gateway::AuditLog::Options{});
  for (const absl::Status& s : {api_keys.status(), limiter.status(), audit.status()}) {
    if (!s.ok()) {
      Log(LogLevel::kError, "cannot set up the gateway", {{"error", s.ToString()}});
      return 2;
    }
  }
  Executor executor(static_cast<int>(config->GetInt("workers")), 10000);

  // The services' descriptors, linked in and registered with the generated pool: server
  // reflection answers from them, and the audit trail reads resources from requests.
  for (const auto* file :
       {registry::v1::Agency::descriptor()->file(), complaints::v1::Complaint::descriptor()->file(),
        monitoring::v1::Figures::descriptor()->file()}) {
    Log(LogLevel::kDebug, "proxying", {{"proto", file->name()}});
  }

  gateway::ProxyOptions options;
  const std::pair<const char*, std::string> backends[] = {
      {"registry_addr", std::string(registry::v1::Registry::service_full_name())},
      {"complaints_addr", std::string(complaints::v1::Complaints::service_full_name())},
      {"monitoring_addr", std::string(monitoring::v1::Monitoring::service_full_name())},
  };
  for (const auto& [key, service] : backends) {
    options.backends[service] = gateway::ChannelFor(config->GetString(key), service);
  }
  std::map<std::string, std::shared_ptr<grpc::Channel>> rest_channels = options.backends;
  options.local_services.insert(gateway::v1::GatewayAdmin::service_full_name());
  std::unique_ptr<gateway::ReadCache> read_cache;
  std::unique_ptr<gateway::RegistryFeedWatcher> feed_watcher;
  if (config->GetBool("read_cache")) {
    read_cache = std::make_unique<gateway::ReadCache>(
        gateway::ReadCache::Options{.max_age = config->GetDuration("read_cache_max_age")},
        &metrics);
    feed_watcher = std::make_unique<gateway::RegistryFeedWatcher>(
        options.backends[std::string(registry::v1::Registry::service_full_name())],
        basics->signer.get(), read_cache.get());
    options.read_cache = read_cache.get();
  }
  options.authenticate_cached = [store = api_keys->get()](std::string_view token) {
    return store->VerifyCached(token);
  };
  options.rate_limiter = limiter->get();
  options.rate_limits = &*limits;
  options.audit = audit->get();
  if (client_certificates) options.client_certificates = &*client_certificates;
  options.executor = &executor;
  options.access_log = config->GetBool("access_log");
  gateway::GrpcProxy proxy(
      std::move(options), basics->signer.get(), &*policy,
      [store = api_keys->get()](std::string_view token) { return store->Verify(token); }, &metrics);
  gateway::AdminDesk admin_desk(**api_keys, **audit);
  gateway::GatewayAdminService admin(admin_desk, proxy, executor);

  ServiceHostOptions host_options =
      HostOptionsFromConfig(*config, "simpul.gateway.v1.GatewayAdmin");
  host_options.credentials = credentials;

  // The REST/JSON and Open311 front: routes from the protos' options, calls through the same
  // gate; GatewayAdmin is reached in process (it runs the gate itself).
  const std::string rest_listen = config->GetString("rest_listen");
  auto routes = gateway::RouteTable::FromServices(
      {std::string(registry::v1::Registry::service_full_name()),
       std::string(complaints::v1::Complaints::service_full_name()),
       std::string(monitoring::v1::Monitoring::service_full_name()),
       std::string(gateway::v1::GatewayAdmin::service_full_name())});
  if (!routes.ok()) {
    Log(LogLevel::kError, "REST routes: " + std::string(routes.status().message()));
    return 2;
  }
  gateway::RestOptions rest_options;
  rest_options.listen = rest_listen;
  rest_options.threads = static_cast<int>(config->GetInt("rest_threads"));
  rest_options.max_body_bytes = static_cast<size_t>(config->GetInt("rest_max_body_bytes"));
  rest_options.max_connections = static_cast<int>(config->GetInt("rest_max_connections"));
  rest_options.read_timeout = config->GetDuration("rest_read_timeout");
  rest_options.default_timeout = config->GetDuration("rest_timeout");
  for (absl::string_view origin :
       absl::StrSplit(config->GetString("rest_cors_origins"), ',', absl::SkipWhitespace())) {
    rest_options.cors_allowed_origins.emplace_back(absl::StripAsciiWhitespace(origin));
  }
  rest_options.self_gated_services.insert(
      std::string(gateway::v1::GatewayAdmin::service_full_name()));
  gateway::Open311Front open311(
      &proxy, rest_channels[std::string(registry::v1::Registry::service_full_name())],
      rest_channels[std::string(complaints::v1::Complaints::service_full_name())],
      gateway::Open311Front::Options{.timeout = rest_options.default_timeout});
  rest_options.open311 = &open311;
  std::unique_ptr<gateway::RestServer> rest;
  // The REST front stops first, while the gRPC server (GatewayAdmin) still serves its calls.
  host_options.on_drain = [&rest] {
    if (rest) rest->Stop();
  };

  ServiceHost host(host_options, &metrics);
  host.AddService(&admin);
  std::vector<std::unique_ptr<gateway::ListedService>> listed;  // for server reflection
  for (const auto& [key, service] : backends) {
    listed.push_back(std::make_unique<gateway::ListedService>(service));
    host.AddService(listed.back().get());
  }
  host.AddGenericService(&proxy);
  host.SetReadinessCheck([&pool] { return pool.Ping(); });
  if (absl::Status started = host.Start(); !started.ok()) {
    Log(LogLevel::kError, "cannot start", {{"error", started.ToString()}});
    return 1;
  }
  if (feed_watcher) feed_watcher->Start();
  if (!rest_listen.empty()) {
    rest_channels[std::string(gateway::v1::GatewayAdmin::service_full_name())] =
        host.InProcessChannel();
    rest = std::make_unique<gateway::RestServer>(rest_options, &*routes, &proxy, rest_channels);
    if (absl::Status started = rest->Start(); !started.ok()) {
      Log(LogLevel::kError, "cannot start the REST front", {{"error", started.ToString()}});
      host.Shutdown();
      if (feed_watcher) feed_watcher->Stop();
      executor.Shutdown();
      return 1;
    }
  }
  Log(LogLevel::kInfo, "simpul-gateway serving",
      {{"port", host.port()},
       {"admin_port", host.admin_port()},
       {"rest_port", rest ? rest->port() : 0}});
  host.WaitForTerminationSignal();
  rest.reset();
  if (feed_watcher) feed_watcher->Stop();
  executor.Shutdown();
  Log(LogLevel::kInfo, "simpul-gateway stopped");
  return 0;
}
