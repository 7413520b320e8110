// Open311 GeoReport v2 facade of the gateway, the transcoding part: the civic-complaint API
// existing complaint channels already speak, mapped onto Simpul. This file holds no HTTP; the
// HTTP server of the REST front serves these routes with it.
//
//   GET  /open311/v2/services.json         registry services with an adopted standard
//   GET  /open311/v2/services/{code}.json  one service's definition (no extra attributes)
//   POST /open311/v2/requests.json         form-encoded; api_key required; files a complaint
//                                          with the channel of that key
//   GET  /open311/v2/requests.json         filters service_request_id, service_code,
//                                          start_date, end_date, status
//   GET  /open311/v2/requests/{id}.json    one request
//
// Mapping: service_code is the registry's service id; service_request_id is the complaint's
// tracking code; status is "open" for every state but COMPLETED and ARCHIVED ("closed"), with
// status_notes saying the Simpul state in words; agency_responsible is the handling agency.
// Errors are Open311's array of {code, description} with the HTTP status as code.
#ifndef SIMPUL_GATEWAY_OPEN311_H_
#define SIMPUL_GATEWAY_OPEN311_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::gateway {

// FormFields parses an application/x-www-form-urlencoded body or query string ('+' is a
// space, %XX escapes; a repeated name keeps its first value). INVALID_ARGUMENT for a
// malformed escape.
absl::StatusOr<std::map<std::string, std::string>> FormFields(std::string_view encoded);

// Open311Error is the error body: [{"code": <http status>, "description": "..."}].
std::string Open311Error(int http_status, std::string_view description);

// Open311ErrorOf renders a failed call: one item per field violation of the status (the
// request's field names translated to Open311's: service_id → service_code,
// location.latitude → lat, ...), else one item with the status message.
std::string Open311ErrorOf(const absl::Status& status, int http_status);

// Open311Services renders services (with their current standard when known) as the
// services.json array: service_code, service_name, description, metadata false, type
// "realtime", keywords, group (the unit id).
std::string Open311Services(const std::vector<registry::v1::Service>& services);
// Open311ServiceDefinition renders services/{code}.json: {"service_code", "attributes": []}.
std::string Open311ServiceDefinition(const registry::v1::Service& service);

// Open311FileRequest turns the fields of POST requests.json into a FileComplaintRequest for
// the caller's channel: service_code (required), description (required, 10..4000
// characters), lat/long or address_string (Open311 requires a location; Simpul accepts the
// report without one when neither is given), first_name/last_name/email/phone (the
// complainant; with any of them the case is filed SECRET, without them ANONYMOUS), media_url
// (an attachment), and the idempotency key: attribute[idempotency_key] when given, else a
// digest of the channel and the request, so that a channel retrying the same report files it
// once. INVALID_ARGUMENT naming the Open311 field.
absl::StatusOr<complaints::v1::FileComplaintRequest> Open311FileRequest(
    const std::map<std::string, std::string>& fields, complaints::v1::Channel channel);

// Open311Status is "open" or "closed"; Open311StatusNotes says the state in words.
std::string_view Open311Status(complaints::v1::State state);
std::string Open311StatusNotes(const complaints::v1::PublicComplaint& complaint);

// Open311RequestJson renders one request of requests.json (an object, without the array).
std::string Open311RequestJson(const complaints::v1::PublicComplaint& complaint);
// Open311Created renders the answer of POST requests.json:
// [{"service_request_id": "<tracking code>", "service_notice": "..."}].
std::string Open311Created(const complaints::v1::FileComplaintResponse& filed);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_OPEN311_H_
