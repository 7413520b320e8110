// The REST front's route table: one HTTP route per RPC, read from the (simpul.api.v1.http)
// options of the services' protos (protos/simpul/api/v1/http.proto) and matched against
// request lines. The mapping rules are described in gateway/rest.h.
#ifndef SIMPUL_GATEWAY_REST_ROUTE_TABLE_H_
#define SIMPUL_GATEWAY_REST_ROUTE_TABLE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "simpul/api/v1/http.pb.h"

namespace simpul::gateway {

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

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_REST_ROUTE_TABLE_H_
