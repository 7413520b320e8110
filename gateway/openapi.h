// The OpenAPI 3.1 document of the gateway's HTTP fronts (served as /openapi.json): written
// from the REST route table (gateway/rest/route_table.h) and the messages' descriptors, so
// that it describes exactly the routes the gateway serves, with the JSON mapping it renders
// (gateway/rest.h), the roles the policy lets call each operation (gateway/policy.h), the
// error body (gateway/rest/errors.h), the officer session (/web/session) and the Open311
// GeoReport v2 routes (gateway/open311_front.h). Built by simpul-openapi at build time.
#ifndef SIMPUL_GATEWAY_OPENAPI_H_
#define SIMPUL_GATEWAY_OPENAPI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/policy.h"
#include "gateway/rest/route_table.h"
#include "google/protobuf/descriptor.h"

namespace simpul::gateway {

struct OpenApiOptions {
  // Who may call what: each operation lists the roles the policy allows (x-simpul-roles)
  // and public operations get optional security. Null: roles are not documented.
  const Policy* policy = nullptr;
  // A pool built from a descriptor set with source info (protoc --include_source_info): the
  // descriptions are the proto comments found there by full name. Null or without comments:
  // the document is complete, without those descriptions.
  const google::protobuf::DescriptorPool* comments = nullptr;
  std::string version = "1";  // info.version
};

// RestServices are the services of the REST front: gateway/app.cc builds its route table from
// them, and the document describes them.
std::vector<std::string> RestServices();

// OpenApiDocument writes the document (JSON text, keys in a stable order).
absl::StatusOr<std::string> OpenApiDocument(const RouteTable& routes,
                                            const OpenApiOptions& options);

// RunOpenApiTool is simpul-openapi: --out FILE [--descriptor_set FILE] [--policy FILE]
// [--version V]. Returns the exit code; errors go to stderr.
int RunOpenApiTool(const std::vector<std::string>& args);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_OPENAPI_H_
