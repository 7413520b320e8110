// The wiring and lifecycle of simpul-gateway: gRPC calls to the three services are proxied
// by full method name (gateway/proxy.h) behind authentication (API keys), rate limits, the
// policy and the audit trail; GatewayAdmin (API keys, audit records) is served here. The
// same calls are served as REST/JSON (gateway/rest.h) and the complaint ones as Open311
// GeoReport v2 (gateway/open311_front.h) on a second port, through the same gate.
//
// Lifecycle (common/service_main.h runs it): the gRPC server starts, then the registry feed
// watcher of the read cache, then the REST front. On SIGTERM the REST front stops first,
// while the gRPC server (GatewayAdmin, reached in process) still serves its calls; then the
// gRPC server drains, the feed watcher stops and the executor.
#ifndef SIMPUL_GATEWAY_APP_H_
#define SIMPUL_GATEWAY_APP_H_

#include "absl/status/status.h"
#include "common/service_main.h"

namespace simpul::gateway {

// SetUpGateway builds the gateway's parts in `ctx` from the gateway's configuration
// (gateway/config.h); a bad policy, rate limit, TLS or certificate file, or a missing
// identity key, is an error naming the key.
absl::Status SetUpGateway(ServiceContext& ctx);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_APP_H_
