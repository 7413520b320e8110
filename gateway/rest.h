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

// The pieces, one job each:
#include "gateway/rest/errors.h"       // ErrorHttpStatus, ErrorJson
#include "gateway/rest/route_table.h"  // Route, RouteMatch, RouteTable
#include "gateway/rest/server.h"       // RestOptions, RestServer
#include "gateway/rest/transcode.h"    // BuildRequest, MessageJson

#endif  // SIMPUL_GATEWAY_REST_H_
