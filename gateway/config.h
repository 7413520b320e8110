// The configuration of simpul-gateway: its keys (after the keys every service shares,
// CommonServiceConfigKeys), whose defaults are those of the components' Options structs
// (RestOptions, ProxyOptions, ApiKeyStore::Options, ReadCache::Options), and GatewayConfig,
// the typed values read from a validated Config.
#ifndef SIMPUL_GATEWAY_CONFIG_H_
#define SIMPUL_GATEWAY_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/service_main.h"
#include "gateway/api_keys.h"
#include "gateway/read_cache.h"
#include "gateway/rest/server.h"
#include "gateway/stream_limits.h"
#include "gateway/web_sessions.h"

namespace simpul::gateway {

// GatewaySpec names the gateway process (SIMPUL_GATEWAY_*, simpul-gateway, GatewayAdmin) and
// lists its keys.
ServiceSpec GatewaySpec();

// GatewayConfigKeys lists the gateway's own keys, in --help order.
std::vector<ConfigKey> GatewayConfigKeys();

// GatewayConfig is the gateway's own configuration.
struct GatewayConfig {
  // The proxied services: full service name and backend address (registry_addr, ...).
  std::vector<std::pair<std::string, std::string>> backends;
  std::string policy_file;
  std::string rate_limits;  // RateLimitConfig::Parse syntax
  // TLS of the gRPC port and mTLS of agency systems; empty: plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  std::string client_certificates;
  ApiKeyStore::Options api_keys;
  bool access_log = true;
  // Validity of the identity tokens the gateway signs for the services (ProxyOptions).
  absl::Duration identity_ttl = absl::Minutes(5);
  bool read_cache = true;
  ReadCache::Options read_cache_options;
  // Caps on concurrent streams and REST connections (gateway/stream_limits.h).
  StreamLimitOptions stream_limits;
  // ListComplaints pages one Open311 list reads (Open311Front::Options::max_list_pages).
  int open311_max_list_pages = 10;
  // The Open311 API's public URL in the discovery document (--open311_base_url).
  std::string open311_base_url = "https://127.0.0.1:8100/open311/v2";
  // The REST/JSON and Open311 front; no front when rest.listen is empty.
  RestOptions rest;
  // The audit key file (gateway/audit_key.h; empty: unkeyed encoding 1) and the periodic
  // signed checkpoints (gateway/audit_checkpoint.h; empty file: none).
  std::string audit_key_file;
  std::string audit_checkpoint_file;
  absl::Duration audit_checkpoint_interval = absl::Minutes(1);
  // The web front's build directory (gateway/rest/web_front.h; empty: no front) and the
  // officer sessions (gateway/web_sessions.h).
  std::string web_root;
  WebSessions::Options web_sessions;
};

// ReadGatewayConfig reads GatewayConfig from a Config parsed against GatewaySpec's keys.
GatewayConfig ReadGatewayConfig(const Config& config);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_CONFIG_H_
