// Open311 GeoReport v2 facade of the gateway, the transcoding part: the civic-complaint API
// existing complaint channels already speak, mapped onto Simpul. This file holds no HTTP; the
// HTTP server of the REST front serves these routes with it.
//
//   GET  /open311/v2/services.json         registry services with an adopted standard
//   GET  /open311/v2/services/{code}.json  one service's definition: its intake questions
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
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/messages.h"
#include "common/status.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::gateway {

// FormFields parses an application/x-www-form-urlencoded body or query string ('+' is a
// space, %XX escapes; a repeated name keeps its first value, except a name ending in "[]",
// which keeps every value, in order, joined by kFormListSeparator). INVALID_ARGUMENT for a
// malformed escape.
inline constexpr char kFormListSeparator = '\x1f';
absl::StatusOr<std::map<std::string, std::string>> FormFields(std::string_view encoded);

// The language of an Open311 answer's texts (error descriptions, status notes): the request's
// (`lang` parameter, else Accept-Language, else Bahasa Indonesia), set by Open311Front::Serve
// for the thread that serves the request from start to end (Open311LangScope) and read by the
// renderers below (Open311Lang). Outside a scope, English.
Lang Open311Lang();
class Open311LangScope {
 public:
  explicit Open311LangScope(Lang lang);
  ~Open311LangScope();
  Open311LangScope(const Open311LangScope&) = delete;
  Open311LangScope& operator=(const Open311LangScope&) = delete;

 private:
  std::optional<Lang> previous_;
};

// Open311Format is the answer's format, chosen by the path's extension (.json or .xml).
enum class Open311Format { kJson, kXml };
// Open311ContentType: "application/json; charset=utf-8" or "text/xml; charset=utf-8".
std::string_view Open311ContentType(Open311Format format);

// Open311Node is the one rendering model of every Open311 answer: a small neutral tree built
// once and rendered as JSON or as XML (Open311Render). In XML an object's members are child
// elements named by their key, a list's items elements named by its `item` name (a
// top-level list is the document element `name` holding `item` elements), a string, number or
// boolean the element's text; in JSON the tree maps onto objects, arrays and scalars, members
// in the order added.
struct Open311Node {
  enum class Kind { kString, kNumber, kBool, kObject, kList };
  Kind kind = Kind::kObject;
  std::string text;   // kString
  double number = 0;  // kNumber
  bool flag = false;  // kBool
  std::string item;   // kList: the XML element name of each item
  std::vector<std::pair<std::string, Open311Node>> members;  // kObject
  std::vector<Open311Node> items;                            // kList

  static Open311Node Object() { return Open311Node(); }
  static Open311Node List(std::string item_name);
  static Open311Node String(std::string_view value);
  // Add* append an object member (and return *this).
  Open311Node& Add(std::string key, std::string_view text);
  Open311Node& AddNumber(std::string key, double value);
  Open311Node& AddBool(std::string key, bool value);
  Open311Node& AddNode(std::string key, Open311Node node);
  // Push appends a list item.
  Open311Node& Push(Open311Node node);
};

// Open311Render renders `node` (the document element named `root` in XML) in `format`. Every
// text is made safe first (Open311Text), then escaped for the format.
std::string Open311Render(const Open311Node& node, std::string_view root, Open311Format format);

// Open311Text is `text` as valid UTF-8 holding only characters XML 1.0 allows: each byte of an
// invalid sequence, each control character but tab, newline and carriage return, and
// U+FFFE/U+FFFF become U+FFFD. Both formats show the same text.
std::string Open311Text(std::string_view text);

// Open311Doc is a built answer with the name of its XML document element.
struct Open311Doc {
  Open311Node node;
  std::string root;  // e.g. "service_requests"
  std::string Render(Open311Format format) const { return Open311Render(node, root, format); }
};

// Open311Error is the error body: [{"code": <http status>, "description": "..."}], in XML
// <errors><error><code/><description/></error></errors>.
Open311Doc Open311Error(int http_status, std::string_view description);

// Open311ErrorOf renders a failed call: one item per field violation of the status (the
// request's field names translated to Open311's: service_id → service_code,
// location.latitude → lat, ...), else one item with the status message.
Open311Doc Open311ErrorOf(const absl::Status& status, int http_status);

// Open311Services renders services (with their current standard when known) as the
// services list: service_code, service_name, description, metadata false, type
// "realtime", keywords, group (the unit id).
Open311Doc Open311Services(const std::vector<registry::v1::Service>& services);
// Open311ServiceDefinition renders services/{code}: {"service_code", "attributes": [...]}, the
// service's intake questions in display order, each {variable, code, datatype,
// required, datatype_description, order, description, values: [{key, name}] (lists only)}.
Open311Doc Open311ServiceDefinition(const registry::v1::Service& service);
// Open311Datatype is the Open311 name of a datatype: string, number, datetime, text,
// singlevaluelist, multivaluelist ("string" for an informational attribute without one).
std::string_view Open311Datatype(registry::v1::AttributeDatatype type);
// Open311Answers adds to `req` the answers of a POST requests form: attribute[<code>]=value
// and attribute[<code>][]=value (once per value of a multivaluelist), attribute[idempotency_key]
// aside; a malformed attribute field is a violation naming it. The values are checked by the
// complaint service against the service's questions.
void Open311Answers(const std::map<std::string, std::string>& fields, FieldViolations& v,
                    complaints::v1::FileComplaintRequest& req);

// Open311Discovery is the discovery document: changeset, contact, key_service and one
// endpoint (GeoReport v2 at `base_url`, production) in JSON and XML.
struct Open311DiscoveryInfo {
  std::string base_url;     // e.g. "https://simpul.example.go.id/open311/v2"
  std::string changeset;    // date-time of the last change of this document
  std::string contact;      // who runs the service
  std::string key_service;  // how to get an api_key
};
Open311Doc Open311Discovery(const Open311DiscoveryInfo& info);

// Open311FileRequest turns the fields of POST requests.json into a FileComplaintRequest for
// the caller's channel: service_code (required), description (required, 10..4000
// characters), lat/long or address_string (Open311 requires a location; Simpul accepts the
// report without one when neither is given), first_name/last_name/email/phone (the
// complainant; with any of them the case is filed SECRET, without them ANONYMOUS), media_url
// (an attachment), the answers to the service's questions (Open311Answers), and the
// idempotency key: attribute[idempotency_key] when given, else a
// digest of the channel and the request, so that a channel retrying the same report files it
// once. INVALID_ARGUMENT naming the Open311 field.
absl::StatusOr<complaints::v1::FileComplaintRequest> Open311FileRequest(
    const std::map<std::string, std::string>& fields, complaints::v1::Channel channel);

// Open311Status is "open" or "closed"; Open311StatusNotes says the state in words (for a case
// not publicly listed, read by the public: only that it exists and whether it is open).
std::string_view Open311Status(complaints::v1::State state);
std::string Open311StatusNotes(const complaints::v1::PublicComplaint& complaint);

// Open311Time is an Open311 date-time (W3C/RFC 3339, UTC, whole seconds); "" when unset.
std::string Open311Time(const google::protobuf::Timestamp& t);
// Open311ParseTime reads a W3C/RFC 3339 date-time with a time zone ("2026-11-05T08:15:30+07:00",
// "...Z"); INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<google::protobuf::Timestamp> Open311ParseTime(std::string_view field,
                                                             std::string_view value);

// Open311CommaList splits a comma-separated parameter, each item trimmed, blanks dropped.
std::vector<std::string> Open311CommaList(const std::string& value);

// Open311ListQuery is the filters of GET requests (and of servicerequestupdates' window).
struct Open311ListQuery {
  std::vector<std::string> service_codes;  // service_code, comma-separated
  std::string jurisdiction_id;
  google::protobuf::Timestamp start, end;     // both inclusive
  bool end_given = false;                     // else end is `now` and the list open-ended
  std::vector<complaints::v1::State> states;  // status: empty for both
  std::string page_token;
  // by_update: start is the last-change instant (ListComplaints updated_since; the cases in
  // update-time order), not the filing instant (servicerequestupdates); end is then applied
  // by the caller.
  bool by_update = false;
  // Where (lat, long, radius; bbox): ListComplaints near / within_box, at most one.
  std::optional<complaints::v1::GeoCircle> near;
  std::optional<complaints::v1::GeoBox> within_box;
};
// kOpen311DefaultRadius is the radius of lat/long given without one, in metres.
inline constexpr double kOpen311DefaultRadius = 1000;
// Open311ParseListQuery reads service_code (at most `max_codes`), jurisdiction_id,
// start_date/end_date (Open311ParseTime; start_date defaults to `default_window` before the
// end, end_date to `now`; start after end is refused), status (open, closed, or both,
// comma-separated), page_token, and where: lat and long (decimal degrees, both or neither)
// with radius (metres, default kOpen311DefaultRadius), or bbox=minlong,minlat,maxlong,maxlat
// (the common extension), not both. INVALID_ARGUMENT naming each bad parameter; the complaint
// service checks the ranges (its field names map back to these, Open311ErrorOf).
absl::StatusOr<Open311ListQuery> Open311ParseListQuery(
    const std::map<std::string, std::string>& query, absl::Time now, absl::Duration default_window,
    int max_codes);

// Open311Request is one request of the requests list: service_request_id, status,
// status_notes, service_name (""), service_code, description, agency_responsible,
// service_notice (""), requested_datetime (filing), updated_datetime (last change),
// expected_datetime (the earliest deadline of the current state, deadlines.next; "" when none
// applies), address, address_id (""), zipcode (""), lat/long (when known, coarsened as the
// public view is), media_url (Open311MediaUrl).
Open311Node Open311Request(const complaints::v1::PublicComplaint& complaint,
                           std::string_view media_base = "");
// Open311Requests is the list of requests (document element service_requests).
Open311Doc Open311Requests(const std::vector<complaints::v1::PublicComplaint>& complaints,
                           std::string_view media_base = "");
// Open311MediaUrl is "<media_base>/<request id>/<attachment id>" of the first image of the
// public view (the public view holds only the images the agency published), "" when there is
// none or `media_base` is empty. The Open311 front serves that URL (GET .../media/...).
std::string Open311MediaUrl(const complaints::v1::PublicComplaint& complaint,
                            std::string_view media_base);
// Open311Created renders the answer of POST requests:
// [{"service_request_id": "<tracking code>", "service_notice": "..."}].
Open311Doc Open311Created(const complaints::v1::FileComplaintResponse& filed);

// Open311Update is one item of an update feed (the servicerequestupdates extension):
// update_id ("<tracking code>/<sequence>"), service_request_id, status (open/closed after
// the change), updated_datetime, description (the public status note of the change) and
// media_url ("").
struct Open311Update {
  std::string update_id;
  std::string service_request_id;
  complaints::v1::State state = complaints::v1::STATE_UNSPECIFIED;
  google::protobuf::Timestamp time;
  std::string description;
};
// Open311UpdatesOf are the updates the public may see of a case's history: one per change of
// state (from_state != to_state), with the status note of the new state; never an actor, a
// reason or a message (internal notes and the complainant's words stay out).
std::vector<Open311Update> Open311UpdatesOf(
    const complaints::v1::PublicComplaint& complaint,
    const google::protobuf::RepeatedPtrField<complaints::v1::HistoryEntry>& history);
// Open311CurrentUpdate is the one update a reader who may not read the history gets: the
// current state at the case's last change (update_id "<tracking code>/current").
Open311Update Open311CurrentUpdate(const complaints::v1::PublicComplaint& complaint);
// Open311Updates is the feed (document element service_request_updates, items
// request_update).
Open311Doc Open311Updates(const std::vector<Open311Update>& updates);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_OPEN311_H_
