// The gateway's REST/JSON front. Routes are declared once, as (simpul.api.v1.http) options on
// the RPCs of the protos (protos/simpul/api/v1/http.proto); RouteTable reads them from the
// descriptors at start and RestServer serves them over HTTP/1.1 (Boost.Beast), transcoding
// with protobuf's own JSON mapping and calling the owning backend through GrpcProxy's gate.
//
// Request mapping (the google.api.http rules):
//   - path variables ({id}, {agency.id}) set the fields they name;
//   - then the body: "*" is the whole request message as JSON (every field not bound by the
//     path), a field name is that (message) field alone, "" means the route takes no body;
//   - every other field comes from the query string: `scope.unit_id=x` for nested fields,
//     repetition for repeated fields (`states=A&states=B`), enums by name, Timestamps as
//     RFC 3339. A query parameter that names no field, or a field already bound by the path
//     or the body, is INVALID_ARGUMENT naming it.
// Input JSON accepts proto field names and lowerCamelCase names alike; output JSON uses the
// proto field names (snake_case, as the query parameters and path variables do), omits
// fields at their default value (protobuf's canonical mapping) and writes enums by name.
//
// Responses: 200 with the response message (201 for a POST to a Create*, File* or Issue*
// method); errors map the gRPC code to HTTP (ErrorHttpStatus) with a JSON body
//   {"code": 400, "status": "INVALID_ARGUMENT", "message": "...",
//    "field_violations": [{"field": "...", "description": "..."}], "request_id": "..."}
// and RESOURCE_EXHAUSTED carries "Retry-After". Server streams are Server-Sent Events when
// the client sends "Accept: text/event-stream" ("data: {json}" per item, a final
// "event: error" item on failure), NDJSON otherwise (application/x-ndjson, one object per
// line, a final {"error": {...}} line on failure), chunked; the backend call is cancelled
// when the client goes away, and the connection closes after a stream. Transport errors are
// JSON errors too: 404 (no route), 405 (a known path, another method; with Allow), 413 (body
// over the limit), 415 (a body that is not application/json), 431 (headers over the limit),
// 400 (malformed HTTP, then the connection closes). A deadline comes from the "grpc-timeout"
// request header (gRPC's syntax, e.g. "5S"), else RestOptions' defaults. Every response
// carries x-request-id (the caller's when well-formed).
#ifndef SIMPUL_GATEWAY_REST_H_
#define SIMPUL_GATEWAY_REST_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "simpul/api/v1/http.pb.h"

namespace simpul::gateway {

class GrpcProxy;
class Open311Front;

// Route is one HTTP route of one RPC.
struct Route {
  // Segment of a path template: a literal, or a variable binding a field path.
  struct Segment {
    bool variable = false;
    std::string text;  // the literal, or the field path ("agency.id")
  };
  std::string http_method;  // "GET", "POST", ...
  std::string pattern;      // the template as declared, e.g. "/v1/standards/{id}:adopt"
  std::vector<Segment> segments;
  std::string verb;  // "adopt", or ""
  std::string body;  // "", "*" or a top-level field name
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string full_method;  // "/simpul.registry.v1.Registry/GetAgency"
  bool server_streaming = false;
};

// RouteMatch is the result of matching one request line against the table.
struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed };
  Kind kind = Kind::kNotFound;
  const Route* route = nullptr;  // when found
  // Path variables, field path → decoded value, in template order (when found).
  std::vector<std::pair<std::string, std::string>> bindings;
  // The HTTP methods of the routes whose path matches (for 405's Allow, CORS preflight).
  std::vector<std::string> allowed;
};

// RouteTable holds the routes of a set of services, checked when built.
class RouteTable {
 public:
  // FromServices reads the (simpul.api.v1.http) option of every RPC of the named services
  // (full names, e.g. "simpul.registry.v1.Registry") in `pool`. An unknown service, an RPC
  // without a route, a bad template (syntax, a variable naming no singular scalar field, a
  // field bound twice), a bad body field (not a singular message field), client streaming,
  // or two routes that match the same requests are INVALID_ARGUMENT naming the RPC.
  static absl::StatusOr<RouteTable> FromServices(
      const std::vector<std::string>& services,
      const google::protobuf::DescriptorPool* pool =
          google::protobuf::DescriptorPool::generated_pool());

  // Add checks and adds one route (FromServices calls it for every RPC).
  absl::Status Add(const google::protobuf::MethodDescriptor* method, const api::v1::HttpRule& rule);

  // Match finds the route of `http_method` and `path` (the request target without its query
  // string, percent-encoded). Literal segments win over variables when two routes match.
  RouteMatch Match(std::string_view http_method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// BuildRequest fills `request` (of the route's input type) from the path bindings, the body
// (JSON) and the query string (without '?'). Bad values, unknown fields and malformed JSON
// are INVALID_ARGUMENT with a BadRequest detail naming each field (common/status.h).
absl::Status BuildRequest(const RouteMatch& match, std::string_view query, std::string_view body,
                          google::protobuf::Message* request);

// ErrorHttpStatus maps a gRPC status code to its HTTP status (google.rpc.Code's mapping).
int ErrorHttpStatus(absl::StatusCode code);

// ErrorJson renders an error as the JSON error object of the REST front (see above).
std::string ErrorJson(const absl::Status& status, int http_status, std::string_view request_id);

// MessageJson renders a response message as JSON (proto field names).
std::string MessageJson(const google::protobuf::Message& message);

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

  // Start binds and starts serving; fails (naming the address) when it cannot listen.
  absl::Status Start();
  // Stop stops accepting, lets in-flight requests finish (up to drain_timeout; streams are
  // ended at once), then closes every connection and joins the threads. Idempotent.
  void Stop();
  // port is the bound port (after Start).
  int port() const { return port_.load(); }

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<int> port_{0};
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_REST_H_
