// The Open311 GeoReport v2 routes of the REST front (/open311/...): HTTP in, calls to the
// registry and the complaint service through GrpcProxy's gate, Open311 JSON or XML out (the
// transcoding itself is gateway/open311.h). Every resource is served as .json and as .xml
// (Content-Type application/json or text/xml, charset utf-8), errors included.
//
//   GET  /open311/discovery          the discovery document (also under /open311/v2/)
//   GET  services                    services with an adopted standard (ListServices)
//   GET  services/{code}             one service's definition (GetService)
//   POST requests                    form-encoded, api_key required: FileComplaint with the
//                                    key's principal; channel CHANNEL_PARTNER_SYSTEM unless
//                                    attribute[channel] names another (sms, web, ...)
//   GET  requests                    service_request_id (comma-separated tracking codes:
//                                    GetComplaint each, unknown ones left out), otherwise the
//                                    public list (ListComplaints) filtered by service_code
//                                    (comma-separated, listed one after the other),
//                                    start_date/end_date (RFC 3339 with a zone, both
//                                    inclusive, on the filing time; start_date defaults to
//                                    Options::default_window before end_date, itself default
//                                    now) and status (open, closed, or both comma-separated),
//                                    oldest first per service code, at most
//                                    Options::max_requests, from at most
//                                    Options::max_list_pages ListComplaints pages; when that
//                                    budget runs out first the answer holds what was found and
//                                    the header X-Simpul-Next-Page-Token, which page_token=
//                                    continues from. An unknown service_code or
//                                    jurisdiction_id is 400.
//   GET  requests/{id}               one request (GetComplaint), as an array of one; a case
//                                    not publicly listed shows the public only its status
//   GET  requests/{id}/updates       its updates: every change of status for those who may
//                                    read its history (GetComplaintHistory: the handling
//                                    agency, coordinators), its current status otherwise
//   GET  media/{id}/{attachment id}  the bytes of an uploaded attachment (GetAttachment with
//                                    the call's credentials: the public gets the images the
//                                    agency published), with the sniffed Content-Type,
//                                    X-Content-Type-Options: nosniff and, for a PDF,
//                                    Content-Disposition: attachment; a request's media_url
//                                    points here (its first published image)
//   GET  servicerequestupdates       the latest update of each case listed as by GET
//                                    requests whose last change is within start_date..end_date
//                                    (ListComplaints updated_since: whenever filed)
//
// An id that names no request, unknown or malformed, is a 404 with an Open311 error; so is an
// unknown route under /open311/.
// jurisdiction_id, where given, is an agency id and narrows services and requests to it.
// Every backend call of one HTTP request shares one deadline (Options::timeout from the start
// of Serve) and is cancelled when the HTTP client goes away (Open311Call::cancel).
// Reads are made with whatever credentials come (an Authorization or x-api-key header, or an
// api_key parameter), anonymous otherwise: the public sees publicly listed cases only, and a
// channel also the cases filed through it (so a channel follows its reports from filing on).
// Every call passes the same gate as a gRPC or REST call (authentication, rate limit, policy,
// audit). Errors are Open311's array of {code, description}, one item per bad field, with the
// HTTP status of the gRPC code (gateway/rest.h, ErrorHttpStatus); field names are Open311's.
#ifndef SIMPUL_GATEWAY_OPEN311_FRONT_H_
#define SIMPUL_GATEWAY_OPEN311_FRONT_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/open311.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::gateway {

class GrpcProxy;
struct CallInfo;

// HttpReply is an HTTP response made outside the proto routes.
struct HttpReply {
  int status = 200;
  std::string body;  // JSON or XML, as the Content-Type header says
  std::vector<std::pair<std::string, std::string>> headers;
};

// Open311Cancel cancels the backend calls of one Open311 request, those in flight and those
// not yet made, when its HTTP client goes away. Thread-safe.
class Open311Cancel {
 public:
  void Cancel();
  bool cancelled() const;
  // Track follows `ctx` until Untrack (a ctx tracked after Cancel is cancelled at once).
  void Track(grpc::ClientContext* ctx);
  void Untrack(grpc::ClientContext* ctx);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
};

// Open311Call is one HTTP request to the Open311 routes.
struct Open311Call {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the request target's path, percent-encoded, without the query
  std::string query;   // without '?'
  std::string content_type;
  std::string accept_language;  // the Accept-Language header, if any
  std::string body;
  // The credential headers (authorization, x-api-key) and x-request-id, lowercase names.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string peer;  // "ipv4:127.0.0.1:5555"
  // The caller's verified TLS client certificate (PEM), if any: it authenticates a call
  // without an API key as on the gRPC port (GrpcProxy::Admit).
  std::string client_cert_pem;
  std::string request_id;  // already accepted or generated by the front
  // When every backend call must have ended; Serve brings it to at most Options::timeout
  // from its start.
  absl::Time deadline = absl::InfiniteFuture();
  // Cancelled by the front when the client goes away; none when null.
  std::shared_ptr<Open311Cancel> cancel;
};

class Open311Front {
 public:
  struct Options {
    // Deadline of one HTTP request: every backend call it makes ends by then.
    absl::Duration timeout = absl::Seconds(30);
    // Most ListComplaints pages one GET requests.json reads (each a bounded scan of the
    // complaint index).
    int max_list_pages = 10;
    // Most requests GET requests.json returns, and most ids service_request_id may list.
    int max_requests = 1000;
    int max_ids = 100;
    // Most services services.json returns.
    int max_services = 10000;
    // Period GET requests.json covers when start_date is not given.
    absl::Duration default_window = absl::Hours(24 * 90);
    // The discovery document: its endpoint's url is configured (--open311_base_url), never
    // taken from a request's Host header.
    Open311DiscoveryInfo discovery = {
        .base_url = "https://127.0.0.1:8100/open311/v2",
        .changeset = "2026-12-06T00:00:00Z",
        .contact = "The operator of this Simpul gateway",
        .key_service =
            "API keys for complaint channels are issued by the platform "
            "administrators (simpul-apikey)"};
  };

  // `proxy` must outlive the front; the channels reach the registry and the complaint service.
  Open311Front(GrpcProxy* proxy, std::shared_ptr<grpc::Channel> registry,
               std::shared_ptr<grpc::Channel> complaints, Options options);

  // Handles: the path belongs to this front (it starts with "/open311/").
  static bool Handles(std::string_view path);

  // Serve answers one request; it blocks on the backend calls (run it off the I/O threads).
  HttpReply Serve(const Open311Call& call) const;

 private:
  using Fields = std::map<std::string, std::string>;  // the query parameters
  using ListQuery = Open311ListQuery;
  HttpReply Services(const Open311Call& call, const Fields& query, Open311Format format) const;
  HttpReply ServiceDefinition(const Open311Call& call, const Fields& query, const std::string& code,
                              Open311Format format) const;
  HttpReply File(const Open311Call& call, Open311Format format) const;
  HttpReply Requests(const Open311Call& call, const Fields& query, Open311Format format) const;
  HttpReply UpdatesFeed(const Open311Call& call, const Fields& query, Open311Format format) const;
  HttpReply OneRequest(const Open311Call& call, const Fields& query, const std::string& id,
                       Open311Format format) const;
  HttpReply RequestUpdates(const Open311Call& call, const Fields& query, const std::string& id,
                           Open311Format format) const;
  // ListChecked gates ListComplaints with the caller's credentials, checks the filters'
  // codes exist (CheckFilters) and lists (List).
  absl::Status ListChecked(const Open311Call& call, const std::string& api_key, const ListQuery& q,
                           std::vector<complaints::v1::PublicComplaint>* found,
                           std::string* next) const;
  // List appends the cases of `q` in their public view, within the page budget; *next is
  // where to continue when the budget ran out first.
  absl::Status List(const Open311Call& call, const CallInfo& info, const ListQuery& q,
                    std::vector<complaints::v1::PublicComplaint>* out, std::string* next) const;
  // Media serves GET media/{id}/{attachment id}; MediaBase is the URL media_url starts with.
  HttpReply Media(const Open311Call& call) const;
  std::string MediaBase() const;
  // Read is GetComplaint of `id` with the call's credentials.
  absl::StatusOr<complaints::v1::GetComplaintResponse> Read(const Open311Call& call,
                                                            const Fields& query,
                                                            const std::string& id) const;
  // CheckFilters: the service_code and jurisdiction_id a list names exist (registry reads
  // made as `info`'s principal); INVALID_ARGUMENT naming the field otherwise.
  absl::Status CheckFilters(const Open311Call& call, const CallInfo& info,
                            const std::string& service_code,
                            const std::string& jurisdiction_id) const;

  // Gate admits the call of `method` ("/pkg.Service/Method") with the call's credentials;
  // `api_key`, when not empty, is sent as x-api-key. A refusal is audited.
  absl::Status Gate(const Open311Call& call, std::string_view method, const std::string& api_key,
                    const google::protobuf::Message& request, CallInfo* info) const;
  // Prepare sets the request's deadline, the request id and the minted identity on a backend
  // call (Tracking, in the .cc, has it cancelled with the request).
  void Prepare(const CallInfo& info, const Open311Call& call, grpc::ClientContext* ctx) const;

  GrpcProxy* const proxy_;
  const std::unique_ptr<registry::v1::Registry::Stub> registry_;
  const std::unique_ptr<complaints::v1::Complaints::Stub> complaints_;
  const Options options_;
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_OPEN311_FRONT_H_
