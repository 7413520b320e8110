// The configuration of simpul-gateway (gateway/config.h).
#include "gateway/config.h"

#include <iterator>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/absl_compat.h"
#include "gateway/open311_front.h"
#include "gateway/proxy.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::gateway {
namespace {

// The backends' keys and the services they serve, in --help order.
struct Backend {
  const char* key;
  std::string_view service;
  const char* help;
};
const Backend kBackends[] = {
    {"registry_addr", registry::v1::Registry::service_full_name(),
     "simpul-registry: host:port, a comma-separated list of replicas, or dns:///name:port"},
    {"complaints_addr", complaints::v1::Complaints::service_full_name(),
     "simpul-complaints (same forms as registry_addr)"},
    {"monitoring_addr", monitoring::v1::Monitoring::service_full_name(),
     "simpul-monitoring (same forms as registry_addr)"},
};
// Default backend addresses, the services' default listen addresses.
const char* const kBackendDefaults[] = {"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"};

// DefaultText writes a default value as a config value.
std::string DefaultText(bool v) { return v ? "true" : "false"; }
std::string DefaultText(int64_t v) { return absl::StrCat(v); }
std::string DefaultText(absl::Duration d) {
  // Whole seconds as "Ns" (as written in the docs: "60s", not "1m").
  if (d % absl::Seconds(1) == absl::ZeroDuration()) {
    return absl::StrCat(absl::IDivDuration(d, absl::Seconds(1), &d), "s");
  }
  return absl::FormatDuration(d);
}

}  // namespace

std::vector<ConfigKey> GatewayConfigKeys() {
  const RestOptions rest;
  const ProxyOptions proxy;
  const ApiKeyStore::Options api_keys;
  const ReadCache::Options read_cache;
  const StreamLimitOptions streams;
  const Open311Front::Options open311;
  std::vector<ConfigKey> keys;
  for (size_t i = 0; i < std::size(kBackends); ++i) {
    keys.push_back({.name = kBackends[i].key,
                    .type = ConfigType::kString,
                    .default_value = kBackendDefaults[i],
                    .help = kBackends[i].help});
  }
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
                  .default_value = DefaultText(api_keys.cache_ttl),
                  .help = "how long a verified API key is trusted without asking Redis (a "
                          "revoked key stops working within this time)"});
  keys.push_back({.name = "identity_ttl",
                  .type = ConfigType::kDuration,
                  .default_value = DefaultText(proxy.identity_ttl),
                  .help = "how long an identity token the gateway signs for a service is valid "
                          "(reused until a fifth of it is left; at most the services' "
                          "identity_max_ttl)",
                  .validate = [](std::string_view v) -> absl::Status {
                    absl::Duration d;
                    if (absl::ParseDuration(AbslView(v), &d) && d >= absl::Seconds(10)) {
                      return absl::OkStatus();
                    }
                    return absl::InvalidArgumentError("expected a duration of at least 10s");
                  }});
  keys.push_back({.name = "access_log",
                  .type = ConfigType::kBool,
                  .default_value = DefaultText(proxy.access_log),
                  .help = "log one line per call (method, request id, caller, outcome, ms)"});
  keys.push_back({.name = "tls_cert_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "PEM certificate chain of the gRPC port and the REST front; with "
                          "tls_key_file they serve TLS and HTTPS only (plaintext when empty)"});
  keys.push_back({.name = "tls_key_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "PEM private key of tls_cert_file"});
  keys.push_back({.name = "tls_client_ca_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "CA (PEM) that signs agency systems' client certificates (mTLS, "
                          "gRPC and REST); callers are asked for one and any they present is "
                          "verified"});
  keys.push_back({.name = "client_certificates",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "JSON file mapping client certificate SHA-256 fingerprints to "
                          "principals (simpul.gateway.v1.ClientCertificateFile)"});
  // The binary listens on loopback next to its gRPC port (RestOptions' own default, all
  // interfaces on 8080, is for embedding).
  keys.push_back({.name = "rest_listen",
                  .type = ConfigType::kString,
                  .default_value = "127.0.0.1:8100",
                  .help = "host:port of the REST/JSON and Open311 front (HTTP/1.1); empty: "
                          "no REST front"});
  keys.push_back({.name = "rest_threads",
                  .type = ConfigType::kInt,
                  .default_value = DefaultText(int64_t{rest.threads}),
                  .help = "I/O threads of the REST front"});
  keys.push_back({.name = "rest_max_body_bytes",
                  .type = ConfigType::kInt,
                  .default_value = DefaultText(static_cast<int64_t>(rest.max_body_bytes)),
                  .help = "largest REST request body accepted (413 above it)"});
  keys.push_back({.name = "rest_max_connections",
                  .type = ConfigType::kInt,
                  .default_value = DefaultText(int64_t{rest.max_connections}),
                  .help = "REST connections served at once; more are closed on accept"});
  keys.push_back({.name = "rest_max_connections_per_address",
                  .type = ConfigType::kInt,
                  .default_value = DefaultText(int64_t{streams.max_connections_per_address}),
                  .help = "REST connections from one client IP at once; more are closed on "
                          "accept, unread (0: no cap)",
                  .min_int = 0});
  keys.push_back({.name = "max_streams_per_key",
                  .type = ConfigType::kInt,
                  .default_value = DefaultText(int64_t{streams.max_streams_per_principal}),
                  .help = "server streams (gRPC Watch* calls, REST NDJSON/SSE) one API key may "
                          "hold open at once; more are RESOURCE_EXHAUSTED / 429 (0: no cap)",
                  .min_int = 0});
  keys.push_back({.name = "max_public_streams",
                  .type = ConfigType::kInt,
                  .default_value = DefaultText(int64_t{streams.max_public_streams}),
                  .help = "server streams all anonymous callers together may hold open at "
                          "once (0: no cap)",
                  .min_int = 0});
  keys.push_back({.name = "max_streams_per_address",
                  .type = ConfigType::kInt,
                  .default_value = DefaultText(int64_t{streams.max_streams_per_address}),
                  .help = "server streams one client IP may hold open at once, whatever its "
                          "key (0: no cap)",
                  .min_int = 0});
  keys.push_back({.name = "rest_read_timeout",
                  .type = ConfigType::kDuration,
                  .default_value = DefaultText(rest.read_timeout),
                  .help = "a REST request must arrive within this time; idle keep-alive "
                          "connections close after it"});
  keys.push_back({.name = "rest_timeout",
                  .type = ConfigType::kDuration,
                  .default_value = DefaultText(rest.default_timeout),
                  .help = "deadline of a REST call to a backend when the client sends no "
                          "grpc-timeout header"});
  keys.push_back({.name = "open311_max_list_pages",
                  .type = ConfigType::kInt,
                  .default_value = DefaultText(int64_t{open311.max_list_pages}),
                  .help = "ListComplaints pages (bounded index scans) one Open311 GET "
                          "requests.json may read; the answer then carries "
                          "X-Simpul-Next-Page-Token",
                  .min_int = 1,
                  .max_int = 1000});
  keys.push_back({.name = "open311_base_url",
                  .type = ConfigType::kString,
                  .default_value = open311.discovery.base_url,
                  .help = "public URL of the Open311 GeoReport v2 API, shown in "
                          "/open311/discovery.json (never taken from a request's Host header)",
                  .validate = [](std::string_view v) -> absl::Status {
                    const bool scheme = absl::StartsWith(AbslView(v), "https://") ||
                                        absl::StartsWith(AbslView(v), "http://");
                    for (const char c : v) {
                      if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>') {
                        return absl::InvalidArgumentError(
                            "expected an absolute http(s) URL without spaces or quotes");
                      }
                    }
                    if (!scheme || v.size() > 512) {
                      return absl::InvalidArgumentError(
                          "expected an absolute http(s) URL of at most 512 characters");
                    }
                    return absl::OkStatus();
                  }});
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
                  .default_value = DefaultText(read_cache.max_age),
                  .help = "the longest a cached registry read is served (a backstop: changes "
                          "drop it at once)"});
  keys.push_back({.name = "read_cache_settle",
                  .type = ConfigType::kDuration,
                  .default_value = "2s",
                  .help = "after a registry change, answers fetched within this long are not "
                          "cached (registry replicas may trail the change feed by their "
                          "--snapshot_max_staleness)"});
  keys.push_back({.name = "audit_key_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "file of the audit keys (\"<key id> <64 hex digits> [active]\" per "
                          "line, mode 600, the same on every replica): audit records are "
                          "chained with HMAC-SHA256 under the active key (encoding 2), so "
                          "someone with Redis access cannot rewrite them; empty: unkeyed "
                          "SHA-256 (encoding 1) and a warning at start"});
  keys.push_back({.name = "audit_checkpoint_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "file the gateway appends a signed head of the audit chain to every "
                          "audit_checkpoint_interval (simpul-audit verify --checkpoints); "
                          "needs audit_key_file; empty: none"});
  keys.push_back({.name = "audit_checkpoint_interval",
                  .type = ConfigType::kDuration,
                  .default_value = "1m",
                  .help = "how often the gateway writes an audit checkpoint (only when it "
                          "appended records since the last one)"});
  const WebSessions::Options web;
  keys.push_back({.name = "web_root",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "directory of the web front's build (web/build.mjs --out), served by "
                          "the REST front on every path outside /v1/, /open311/ and "
                          "/web/session; loaded at start (at most 64 MiB); empty: no front"});
  keys.push_back({.name = "web_session_idle_timeout",
                  .type = ConfigType::kDuration,
                  .default_value = DefaultText(web.idle_timeout),
                  .help = "an officer's web session ends after this long without a request",
                  .validate = [](std::string_view v) -> absl::Status {
                    absl::Duration d;
                    if (absl::ParseDuration(AbslView(v), &d) && d >= absl::Seconds(1)) {
                      return absl::OkStatus();
                    }
                    return absl::InvalidArgumentError("expected a duration of at least 1s");
                  }});
  keys.push_back({.name = "web_session_max_age",
                  .type = ConfigType::kDuration,
                  .default_value = DefaultText(web.max_age),
                  .help = "an officer's web session ends this long after sign-in, however "
                          "active (at least web_session_idle_timeout)",
                  .validate = [](std::string_view v) -> absl::Status {
                    absl::Duration d;
                    if (absl::ParseDuration(AbslView(v), &d) && d >= absl::Seconds(1)) {
                      return absl::OkStatus();
                    }
                    return absl::InvalidArgumentError("expected a duration of at least 1s");
                  }});
  return keys;
}

ServiceSpec GatewaySpec() {
  return ServiceSpec{.env_prefix = "GATEWAY",
                     .name = "simpul-gateway",
                     .grpc_service = std::string(v1::GatewayAdmin::service_full_name()),
                     .default_listen = "127.0.0.1:7100",
                     .default_admin_listen = "127.0.0.1:9100",
                     .keys = GatewayConfigKeys()};
}

GatewayConfig ReadGatewayConfig(const Config& config) {
  GatewayConfig out;
  for (const Backend& backend : kBackends) {
    out.backends.emplace_back(std::string(backend.service), config.GetString(backend.key));
  }
  out.policy_file = config.GetString("policy_file");
  out.rate_limits = config.GetString("rate_limits");
  out.tls_cert_file = config.GetString("tls_cert_file");
  out.tls_key_file = config.GetString("tls_key_file");
  out.tls_client_ca_file = config.GetString("tls_client_ca_file");
  out.client_certificates = config.GetString("client_certificates");
  out.api_keys.cache_ttl = config.GetDuration("api_key_cache_ttl");
  out.access_log = config.GetBool("access_log");
  out.identity_ttl = config.GetDuration("identity_ttl");
  out.read_cache = config.GetBool("read_cache");
  out.read_cache_options.max_age = config.GetDuration("read_cache_max_age");
  out.read_cache_options.settle = config.GetDuration("read_cache_settle");
  out.audit_key_file = config.GetString("audit_key_file");
  out.audit_checkpoint_file = config.GetString("audit_checkpoint_file");
  out.audit_checkpoint_interval = config.GetDuration("audit_checkpoint_interval");
  out.rest.listen = config.GetString("rest_listen");
  out.rest.threads = static_cast<int>(config.GetInt("rest_threads"));
  out.rest.max_body_bytes = static_cast<size_t>(config.GetInt("rest_max_body_bytes"));
  out.rest.max_connections = static_cast<int>(config.GetInt("rest_max_connections"));
  out.stream_limits.max_connections_per_address =
      static_cast<int>(config.GetInt("rest_max_connections_per_address"));
  out.stream_limits.max_streams_per_principal =
      static_cast<int>(config.GetInt("max_streams_per_key"));
  out.stream_limits.max_public_streams = static_cast<int>(config.GetInt("max_public_streams"));
  out.stream_limits.max_streams_per_address =
      static_cast<int>(config.GetInt("max_streams_per_address"));
  out.open311_max_list_pages = static_cast<int>(config.GetInt("open311_max_list_pages"));
  out.open311_base_url = config.GetString("open311_base_url");
  out.rest.read_timeout = config.GetDuration("rest_read_timeout");
  out.rest.default_timeout = config.GetDuration("rest_timeout");
  out.web_root = config.GetString("web_root");
  out.web_sessions.key_prefix = out.api_keys.key_prefix;
  out.web_sessions.idle_timeout = config.GetDuration("web_session_idle_timeout");
  out.web_sessions.max_age = config.GetDuration("web_session_max_age");
  for (absl::string_view origin :
       absl::StrSplit(config.GetString("rest_cors_origins"), ',', absl::SkipWhitespace())) {
    out.rest.cors_allowed_origins.emplace_back(absl::StripAsciiWhitespace(origin));
  }
  return out;
}

}  // namespace simpul::gateway
