// The Open311 GeoReport v2 routes of the REST front.
#include "gateway/open311_front.h"

#include <chrono>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "clients/complaints/views.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/grpc_status.h"
#include "common/identity.h"
#include "common/status.h"
#include "gateway/open311.h"
#include "gateway/proxy.h"
#include "gateway/rest/errors.h"
#include "gateway/url.h"
#include "google/protobuf/util/time_util.h"

namespace simpul::gateway {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace rv1 = ::simpul::registry::v1;

constexpr char kPrefix[] = "/open311/v2/";
constexpr char kListServices[] = "/simpul.registry.v1.Registry/ListServices";
constexpr char kGetService[] = "/simpul.registry.v1.Registry/GetService";
constexpr char kFileComplaint[] = "/simpul.complaints.v1.Complaints/FileComplaint";
constexpr char kGetComplaint[] = "/simpul.complaints.v1.Complaints/GetComplaint";
constexpr char kListComplaints[] = "/simpul.complaints.v1.Complaints/ListComplaints";
constexpr int kPageSize = 500;  // the services' largest page

HttpReply Error(const absl::Status& status) {
  const int http = ErrorHttpStatus(status.code());
  HttpReply reply{http, Open311ErrorOf(status, http), {}};
  if (auto retry = status.GetPayload(kRetryAfterPayload)) {
    reply.headers.emplace_back("Retry-After", std::string(*retry));
  }
  return reply;
}

HttpReply Error(int http, std::string_view description) {
  return HttpReply{http, Open311Error(http, description), {}};
}

using Fields = std::map<std::string, std::string>;

// Tracking has a backend call cancelled when its HTTP client goes away (Open311Call::cancel),
// for as long as it lives: declare it right after the call's context.
class Tracking {
 public:
  Tracking(const Open311Call& call, grpc::ClientContext* ctx)
      : cancel_(call.cancel.get()), ctx_(ctx) {
    if (cancel_ != nullptr) cancel_->Track(ctx_);
  }
  ~Tracking() {
    if (cancel_ != nullptr) cancel_->Untrack(ctx_);
  }
  Tracking(const Tracking&) = delete;
  Tracking& operator=(const Tracking&) = delete;

 private:
  Open311Cancel* const cancel_;
  grpc::ClientContext* const ctx_;
};

constexpr char kNextPageHeader[] = "X-Simpul-Next-Page-Token";

std::string Field(const Fields& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? "" : std::string(absl::StripAsciiWhitespace(it->second));
}

std::string JsonArray(const std::vector<std::string>& items) {
  return absl::StrCat("[", absl::StrJoin(items, ","), "]");
}

// ParseDate reads an Open311 date (ISO 8601 with a time zone) into *out, or adds a violation.
void ParseDate(const std::string& field, const std::string& value, FieldViolations& v,
               google::protobuf::Timestamp* out) {
  if (!google::protobuf::util::TimeUtil::FromString(value, out)) {
    v.Add(field, absl::StrCat("expected an ISO 8601 date-time with a time zone, e.g. "
                              "2026-11-05T08:15:30+07:00; got \"",
                              value, "\""));
  }
}

}  // namespace

void Open311Cancel::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* ctx : calls_) ctx->TryCancel();
}

bool Open311Cancel::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void Open311Cancel::Track(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  calls_.insert(ctx);
  if (cancelled_) ctx->TryCancel();  // before the call starts: it fails at once
}

void Open311Cancel::Untrack(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  calls_.erase(ctx);
}

Open311Front::Open311Front(GrpcProxy* proxy, std::shared_ptr<grpc::Channel> registry,
                           std::shared_ptr<grpc::Channel> complaints, Options options)
    : proxy_(proxy),
      registry_(rv1::Registry::NewStub(std::move(registry))),
      complaints_(cv1::Complaints::NewStub(std::move(complaints))),
      options_(options) {}

bool Open311Front::Handles(std::string_view path) {
  return absl::StartsWith(AbslView(path), "/open311/");
}

HttpReply Open311Front::Serve(const Open311Call& call) const {
  if (const absl::Time latest = absl::Now() + options_.timeout; call.deadline > latest) {
    // One deadline for the whole request, however many backend calls it makes.
    Open311Call bounded = call;
    bounded.deadline = latest;
    return Serve(bounded);
  }
  std::string_view path = call.path;
  if (!absl::StartsWith(AbslView(path), kPrefix)) {
    return Error(404, "no such resource: the Open311 GeoReport v2 API is at /open311/v2/");
  }
  path.remove_prefix(sizeof kPrefix - 1);
  if (absl::EndsWith(AbslView(path), ".xml")) {
    return Error(404, "only the JSON format is served: use .json");
  }
  if (!absl::EndsWith(AbslView(path), ".json")) {
    return Error(404, absl::StrCat("no such resource: ", Excerpt(call.path)));
  }
  path.remove_suffix(5);
  std::optional<std::string> one = PercentDecode(path, /*plus_is_space=*/false);
  if (!one) return Error(400, "the path has a malformed % escape");
  const std::string resource = *std::move(one);
  absl::StatusOr<std::map<std::string, std::string>> query = FormFields(call.query);
  if (!query.ok()) return Error(400, StdView(query.status().message()));

  auto only = [&](std::initializer_list<const char*> methods) -> std::optional<HttpReply> {
    for (const char* m : methods) {
      if (call.method == m) return std::nullopt;
    }
    HttpReply reply =
        Error(405, absl::StrCat(Excerpt(call.path), " does not take ", Excerpt(call.method)));
    reply.headers.emplace_back("Allow", absl::StrJoin(methods, ", "));
    return reply;
  };
  if (resource == "services") {
    if (auto refused = only({"GET"})) return *refused;
    return Services(call, *query);
  }
  if (resource == "requests") {
    if (auto refused = only({"GET", "POST"})) return *refused;
    return call.method == "POST" ? File(call) : Requests(call, *query);
  }
  for (const char* collection : {"services/", "requests/"}) {
    if (absl::StartsWith(resource, collection)) {
      const std::string id = resource.substr(std::string_view(collection).size());
      if (id.empty() || absl::StrContains(id, "/")) break;
      if (auto refused = only({"GET"})) return *refused;
      return collection[0] == 's' ? ServiceDefinition(call, *query, id)
                                  : OneRequest(call, *query, id);
    }
  }
  return Error(404, absl::StrCat("no such resource: ", Excerpt(call.path)));
}

absl::Status Open311Front::Gate(const Open311Call& call, std::string_view method,
                                const std::string& api_key,
                                const google::protobuf::Message& request, CallInfo* info) const {
  std::multimap<grpc::string_ref, grpc::string_ref> metadata;
  for (const auto& [k, v] : call.headers) {
    if (!api_key.empty() && (k == "authorization" || k == kApiKeyKey)) continue;
    metadata.emplace(k, v);
  }
  if (!api_key.empty()) metadata.emplace(kApiKeyKey, api_key);
  metadata.emplace(kRequestIdKey, call.request_id);
  info->request_id = call.request_id;
  absl::Status admitted = proxy_->Admit(method, call.peer, metadata, info, call.client_cert_pem);
  if (!admitted.ok()) {
    proxy_->Audit(*info, admitted.code(), /*reached_backend=*/false, request.SerializeAsString());
  }
  return admitted;
}

void Open311Front::Prepare(const CallInfo& info, const Open311Call& call,
                           grpc::ClientContext* ctx) const {
  ctx->set_deadline(absl::ToChronoTime(call.deadline));
  ctx->AddMetadata(kRequestIdKey, info.request_id);
  const std::string identity = proxy_->IdentityToken(info.principal, info.method);
  if (!identity.empty()) ctx->AddMetadata(std::string(kIdentityMetadataKey), identity);
}

HttpReply Open311Front::Services(const Open311Call& call, const Fields& query) const {
  rv1::ListServicesRequest req;
  req.mutable_page()->set_page_size(kPageSize);
  if (const std::string j = Field(query, "jurisdiction_id"); !j.empty()) req.set_agency_id(j);
  CallInfo info;
  if (absl::Status s = Gate(call, kListServices, Field(query, "api_key"), req, &info); !s.ok()) {
    return Error(s);
  }
  if (absl::Status s = CheckFilters(call, info, "", req.agency_id()); !s.ok()) return Error(s);
  std::vector<rv1::Service> services;
  for (int listed = 0; listed < options_.max_services;) {
    grpc::ClientContext ctx;
    Prepare(info, call, &ctx);
    const Tracking tracking(call, &ctx);
    rv1::ListServicesResponse resp;
    if (grpc::Status s = registry_->ListServices(&ctx, req, &resp); !s.ok()) {
      return Error(FromGrpcStatus(s));
    }
    for (rv1::Service& service : *resp.mutable_services()) {
      ++listed;
      if (!service.current_version_id().empty()) services.push_back(std::move(service));
    }
    if (resp.next_page_token().empty()) break;
    req.mutable_page()->set_page_token(resp.next_page_token());
  }
  return HttpReply{200, Open311Services(services), {}};
}

HttpReply Open311Front::ServiceDefinition(const Open311Call& call, const Fields& query,
                                          const std::string& code) const {
  rv1::GetServiceRequest req;
  req.set_id(code);
  CallInfo info;
  if (absl::Status s = Gate(call, kGetService, Field(query, "api_key"), req, &info); !s.ok()) {
    return Error(s);
  }
  grpc::ClientContext ctx;
  Prepare(info, call, &ctx);
  const Tracking tracking(call, &ctx);
  rv1::GetServiceResponse resp;
  if (grpc::Status s = registry_->GetService(&ctx, req, &resp); !s.ok()) {
    return Error(FromGrpcStatus(s));
  }
  if (resp.service().current_version_id().empty()) {
    return Error(
        404, absl::StrCat("service ", code, " has no adopted standard yet and takes no requests"));
  }
  return HttpReply{200, Open311ServiceDefinition(resp.service()), {}};
}

HttpReply Open311Front::File(const Open311Call& call) const {
  const std::string content_type = absl::AsciiStrToLower(call.content_type);
  const std::string media(absl::StripAsciiWhitespace(
      absl::string_view(content_type).substr(0, content_type.find(';'))));
  if (media != "application/x-www-form-urlencoded") {
    return Error(415, absl::StrCat("the body must be form-encoded (Content-Type: "
                                   "application/x-www-form-urlencoded); got \"",
                                   Excerpt(call.content_type), "\""));
  }
  absl::StatusOr<std::map<std::string, std::string>> fields = FormFields(call.body);
  if (!fields.ok()) return Error(400, StdView(fields.status().message()));
  const std::string api_key = Field(*fields, "api_key");
  if (api_key.empty()) {
    return Error(400, "api_key: required; a complaint channel files with its own key");
  }
  cv1::Channel channel = cv1::CHANNEL_PARTNER_SYSTEM;
  if (const std::string named = Field(*fields, "attribute[channel]"); !named.empty()) {
    if (!cv1::Channel_Parse(absl::StrCat("CHANNEL_", absl::AsciiStrToUpper(named)), &channel) ||
        channel == cv1::CHANNEL_UNSPECIFIED) {
      return Error(400, absl::StrCat("attribute[channel]: unknown channel \"", Excerpt(named),
                                     "\"; one of web, sms, mobile_app, social_media, email, "
                                     "phone, walk_in, complaint_box, partner_system"));
    }
  }
  absl::StatusOr<cv1::FileComplaintRequest> req = Open311FileRequest(*fields, channel);
  CallInfo info;
  if (absl::Status s =
          Gate(call, kFileComplaint, api_key, req.ok() ? *req : cv1::FileComplaintRequest(), &info);
      !s.ok()) {
    return Error(s);
  }
  if (!req.ok()) return Error(req.status());
  grpc::ClientContext ctx;
  Prepare(info, call, &ctx);
  const Tracking tracking(call, &ctx);
  cv1::FileComplaintResponse resp;
  const grpc::Status s = complaints_->FileComplaint(&ctx, *req, &resp);
  proxy_->Audit(info, static_cast<absl::StatusCode>(s.error_code()), /*reached_backend=*/true,
                req->SerializeAsString());
  if (!s.ok()) return Error(FromGrpcStatus(s));
  return HttpReply{200, Open311Created(resp), {}};
}

HttpReply Open311Front::Requests(const Open311Call& call, const Fields& query) const {
  const std::string api_key = Field(query, "api_key");
  std::vector<std::string> items;

  // By tracking codes: each one the caller may see.
  if (const std::string ids = Field(query, "service_request_id"); !ids.empty()) {
    const std::vector<std::string> codes = absl::StrSplit(ids, ',', absl::SkipWhitespace());
    if (static_cast<int>(codes.size()) > options_.max_ids) {
      return Error(400, absl::StrCat("service_request_id: at most ", options_.max_ids,
                                     " ids at once; got ", codes.size()));
    }
    cv1::GetComplaintRequest req;
    CallInfo info;
    if (absl::Status s = Gate(call, kGetComplaint, api_key, req, &info); !s.ok()) {
      return Error(s);
    }
    for (const std::string& code : codes) {
      req.set_id(std::string(absl::StripAsciiWhitespace(code)));
      grpc::ClientContext ctx;
      Prepare(info, call, &ctx);
      const Tracking tracking(call, &ctx);
      cv1::GetComplaintResponse resp;
      const grpc::Status s = complaints_->GetComplaint(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
      if (!s.ok()) return Error(FromGrpcStatus(s));
      items.push_back(Open311RequestJson(
          resp.has_public_complaint() ? resp.public_complaint()
                                      : complaints::PublicView(resp.complaint(), absl::Now())));
    }
    return HttpReply{200, JsonArray(items), {}};
  }

  // The list, filtered.
  FieldViolations v;
  cv1::ListComplaintsRequest req;
  req.set_service_id(Field(query, "service_code"));
  req.set_agency_id(Field(query, "jurisdiction_id"));
  // Without end_date the period is open-ended (a clock between here and the complaint service
  // must not hide the newest cases); start_date defaults to default_window before the end.
  using google::protobuf::util::TimeUtil;
  google::protobuf::Timestamp end =
      TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
  const std::string end_date = Field(query, "end_date");
  if (!end_date.empty()) {
    ParseDate("end_date", end_date, v, &end);
    // end_date is inclusive in Open311; filed_before is exclusive.
    *req.mutable_filed_before() = end + TimeUtil::NanosecondsToDuration(1);
  }
  google::protobuf::Timestamp start =
      end - TimeUtil::SecondsToDuration(absl::ToInt64Seconds(options_.default_window));
  if (const std::string b = Field(query, "start_date"); !b.empty()) {
    ParseDate("start_date", b, v, &start);
  }
  *req.mutable_filed_after() = start;
  if (const std::string status = Field(query, "status"); !status.empty()) {
    std::set<std::string> wanted;
    for (absl::string_view w : absl::StrSplit(status, ',', absl::SkipWhitespace())) {
      wanted.insert(absl::AsciiStrToLower(absl::StripAsciiWhitespace(w)));
    }
    for (const std::string& w : wanted) {
      if (w != "open" && w != "closed") {
        v.Add("status", absl::StrCat("expected open, closed or both; got \"", Excerpt(w), "\""));
      }
    }
    if (wanted.size() == 1) {
      const bool closed = wanted.count("closed") > 0;
      for (int st = cv1::State_MIN; st <= cv1::State_MAX; ++st) {
        if (st == cv1::STATE_UNSPECIFIED || !cv1::State_IsValid(st)) continue;
        if ((Open311Status(static_cast<cv1::State>(st)) == "closed") == closed) {
          req.add_states(static_cast<cv1::State>(st));
        }
      }
    }
  }
  if (absl::Status s = v.ToStatus("Open311 requests query"); !s.ok()) return Error(s);
  CallInfo info;
  if (absl::Status s = Gate(call, kListComplaints, api_key, req, &info); !s.ok()) {
    return Error(s);
  }
  if (absl::Status s = CheckFilters(call, info, req.service_id(), req.agency_id()); !s.ok()) {
    return Error(s);
  }
  req.mutable_page()->set_page_size(std::min(kPageSize, options_.max_requests));
  if (const std::string token = Field(query, "page_token"); !token.empty()) {
    req.mutable_page()->set_page_token(token);
  }
  // At most max_list_pages pages (each a bounded scan of the complaint index), all within
  // the request's deadline: a filter that matches nothing cannot make this call scan the
  // whole index.
  std::string next;
  for (int pages = 0; static_cast<int>(items.size()) < options_.max_requests; ++pages) {
    if (pages == options_.max_list_pages) {
      next = req.page().page_token();
      break;
    }
    grpc::ClientContext ctx;
    Prepare(info, call, &ctx);
    const Tracking tracking(call, &ctx);
    cv1::ListComplaintsResponse resp;
    if (grpc::Status s = complaints_->ListComplaints(&ctx, req, &resp); !s.ok()) {
      return Error(FromGrpcStatus(s));
    }
    for (const auto& c : resp.public_complaints()) items.push_back(Open311RequestJson(c));
    for (const auto& c : resp.complaints()) {
      items.push_back(Open311RequestJson(complaints::PublicView(c, absl::Now())));
    }
    if (resp.next_page_token().empty()) break;
    req.mutable_page()->set_page_token(resp.next_page_token());
    next = resp.next_page_token();
  }
  HttpReply reply{200, "", {}};
  if (static_cast<int>(items.size()) > options_.max_requests) {
    items.resize(options_.max_requests);  // cut inside a page: no exact place to resume
  } else if (!next.empty()) {
    reply.headers.emplace_back(kNextPageHeader, next);
  }
  reply.body = JsonArray(items);
  return reply;
}

absl::Status Open311Front::CheckFilters(const Open311Call& call, const CallInfo& info,
                                        const std::string& service_code,
                                        const std::string& jurisdiction_id) const {
  FieldViolations v;
  // Look one id up with `rpc` (the registry's GetService or GetAgency). A missing object or a
  // malformed id: the field is wrong. Anything else (unavailable, deadline) is the backend's
  // error.
  auto check = [&](const std::string& id, auto rpc, auto request, auto response, const char* field,
                   const char* what) -> grpc::Status {
    if (id.empty()) return grpc::Status::OK;
    request.set_id(id);
    grpc::ClientContext ctx;
    Prepare(info, call, &ctx);
    const Tracking tracking(call, &ctx);
    const grpc::Status s = (registry_.get()->*rpc)(&ctx, request, &response);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND ||
        s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      v.Add(field, absl::StrCat("no ", what, " has this code; see services.json"));
      return grpc::Status::OK;
    }
    return s;
  };
  using Stub = rv1::Registry::StubInterface;
  if (grpc::Status s = check(service_code, &Stub::GetService, rv1::GetServiceRequest(),
                             rv1::GetServiceResponse(), "service_code", "service");
      !s.ok()) {
    return FromGrpcStatus(s);
  }
  if (grpc::Status s = check(jurisdiction_id, &Stub::GetAgency, rv1::GetAgencyRequest(),
                             rv1::GetAgencyResponse(), "jurisdiction_id", "jurisdiction (agency)");
      !s.ok()) {
    return FromGrpcStatus(s);
  }
  return v.ToStatus("Open311 query");
}

HttpReply Open311Front::OneRequest(const Open311Call& call, const Fields& query,
                                   const std::string& id) const {
  cv1::GetComplaintRequest req;
  req.set_id(id);
  CallInfo info;
  if (absl::Status s = Gate(call, kGetComplaint, Field(query, "api_key"), req, &info); !s.ok()) {
    return Error(s);
  }
  grpc::ClientContext ctx;
  Prepare(info, call, &ctx);
  const Tracking tracking(call, &ctx);
  cv1::GetComplaintResponse resp;
  if (grpc::Status s = complaints_->GetComplaint(&ctx, req, &resp); !s.ok()) {
    return Error(FromGrpcStatus(s));
  }
  return HttpReply{
      200,
      JsonArray({Open311RequestJson(resp.has_public_complaint()
                                        ? resp.public_complaint()
                                        : complaints::PublicView(resp.complaint(), absl::Now()))}),
      {}};
}

}  // namespace simpul::gateway
