// RestServer: the REST/JSON front's HTTP/1.1 server (Boost.Beast), serving a RouteTable
// through GrpcProxy's gate (gateway/rest.h describes what it serves).
#ifndef SIMPUL_GATEWAY_REST_SERVER_H_
#define SIMPUL_GATEWAY_REST_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gateway/rest/route_table.h"

namespace simpul::gateway {

class GrpcProxy;
class Open311Front;
class StreamLimits;
class WebFront;
class WebSessions;

// RestOptions configures a RestServer.
struct RestOptions {
  // Listen address "host:port"; port 0 picks a free port (see RestServer::port()).
  std::string listen = "0.0.0.0:8080";
  int threads = 2;
  // Largest request body accepted (413 above it).
  size_t max_body_bytes = 1 << 20;
  // Largest request header block accepted (431 above it).
  size_t max_header_bytes = 16 << 10;
  // A request (headers and body) must arrive within this time of its first byte, and an idle
  // keep-alive connection is closed after it: a slow or silent client cannot hold one.
  absl::Duration read_timeout = absl::Seconds(10);
  // Connections served at once; more are closed as soon as they are accepted.
  int max_connections = 10000;
  // A response write must complete within this time.
  absl::Duration write_timeout = absl::Seconds(30);
  // Deadline of a unary backend call when the client sends no grpc-timeout header, and the
  // longest a client may ask for.
  absl::Duration default_timeout = absl::Seconds(30);
  absl::Duration max_timeout = absl::Minutes(5);
  // Deadline of a server stream when the client sends none.
  absl::Duration stream_timeout = absl::Hours(1);
  // Origins allowed to call from a browser (CORS), e.g. "https://dashboard.example.go.id";
  // "*" allows any. None by default.
  std::vector<std::string> cors_allowed_origins;
  // Services whose server runs GrpcProxy's gate itself (the gateway's own GatewayAdmin): the
  // REST front neither admits nor audits their calls, and passes the caller's authorization,
  // x-api-key and x-request-id headers on instead of a minted identity.
  std::set<std::string> self_gated_services;
  // How long Stop waits for in-flight requests before closing their connections.
  absl::Duration drain_timeout = absl::Seconds(5);
  // Serves /open311/... (gateway/open311_front.h) when set; not owned, must outlive the server.
  const Open311Front* open311 = nullptr;
  // Caps on NDJSON/SSE streams per principal and address, and on connections per address
  // (gateway/stream_limits.h): a stream over a cap is 429 with Retry-After, a connection over
  // it is closed at once, unread. None when null; not owned, must outlive the server.
  StreamLimits* stream_limits = nullptr;
  // HTTPS only when both are set: the PEM certificate chain and private key (the gateway's
  // tls_cert_file and tls_key_file, as on its gRPC port). The TLS handshake must complete
  // within read_timeout. With tls_client_ca_file, a client certificate is asked for (not
  // required) and verified against that CA; GrpcProxy::Admit maps a verified one to its
  // principal as on the gRPC port. Answers carry Strict-Transport-Security.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // The web front's static files (gateway/rest/web_front.h), served on every path that is not
  // /v1/..., /open311/... or /web/session; none when null. Not owned.
  const WebFront* web_front = nullptr;
  // Officer sessions (gateway/web_sessions.h): /web/session, and /v1/ calls authenticated by
  // the session cookie; none when null. Not owned.
  WebSessions* web_sessions = nullptr;
};

// RestServer serves a RouteTable over HTTP/1.1 with keep-alive.
class RestServer {
 public:
  // `routes` and `proxy` must outlive the server. `channels` maps full service names (as in
  // the route table) to the channel of the backend that serves them: GrpcProxy's backends,
  // plus the gateway's own server (e.g. grpc::Server::InProcessChannel) for GatewayAdmin,
  // listed in RestOptions::self_gated_services. A route whose service has no channel is
  // UNIMPLEMENTED (501).
  RestServer(RestOptions options, const RouteTable* routes, GrpcProxy* proxy,
             std::map<std::string, std::shared_ptr<grpc::Channel>> channels);
  ~RestServer();  // Stop()
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  // Start binds and starts serving; fails (naming the address) when it cannot listen, and
  // (naming the key and file) when a TLS file is unreadable or unusable.
  absl::Status Start();
  // Stop stops accepting, lets in-flight requests finish (up to drain_timeout; streams are
  // ended at once), then closes every connection and joins the threads. Idempotent.
  void Stop();
  // CheckTls reads and checks the TLS files of `options` as Start would (OK without TLS), so
  // that a process can refuse to start before it serves anything.
  static absl::Status CheckTls(const RestOptions& options);
  // port is the bound port (after Start).
  int port() const { return port_.load(); }

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<int> port_{0};
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_REST_SERVER_H_
