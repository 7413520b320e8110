// The Open311 GeoReport v2 routes of the REST front.
#include "gateway/open311_front.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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
constexpr char kGetAttachment[] = "/simpul.complaints.v1.Complaints/GetAttachment";
constexpr char kMediaPrefix[] = "/open311/v2/media/";
constexpr char kGetComplaintHistory[] = "/simpul.complaints.v1.Complaints/GetComplaintHistory";
constexpr int kPageSize = 500;  // the services' largest page

HttpReply Reply(int http, const Open311Doc& doc, Open311Format format) {
  return HttpReply{
      http, doc.Render(format), {{"Content-Type", std::string(Open311ContentType(format))}}};
}

HttpReply Error(const absl::Status& status, Open311Format format) {
  const int http = ErrorHttpStatus(status.code());
  HttpReply reply = Reply(http, Open311ErrorOf(status, http), format);
  if (auto retry = status.GetPayload(kRetryAfterPayload)) {
    reply.headers.emplace_back("Retry-After", std::string(*retry));
  }
  return reply;
}

HttpReply Error(int http, std::string_view description, Open311Format format) {
  return Reply(http, Open311Error(http, description), format);
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
  // The language of the answer's texts (Open311Lang): `lang`, else Accept-Language, else
  // Bahasa Indonesia (Open311 serves public channels).
  std::string other_parameters = call.query;
  const std::optional<std::string> lang_param = TakeQueryParam(other_parameters, "lang");
  const absl::StatusOr<Lang> asked =
      lang_param ? ParseLangParam(*lang_param) : absl::StatusOr<Lang>(Lang::kIndonesian);
  const Open311LangScope lang(
      asked.ok() && lang_param ? *asked
                               : PreferredLang(call.accept_language).value_or(Lang::kIndonesian));
  std::string_view path = call.path;
  if (absl::StartsWith(AbslView(path), kMediaPrefix)) return Media(call);
  // The format is the extension's; a path without one is answered in JSON.
  Open311Format format = Open311Format::kJson;
  if (absl::EndsWith(AbslView(path), ".xml")) {
    format = Open311Format::kXml;
    path.remove_suffix(4);
  } else if (absl::EndsWith(AbslView(path), ".json")) {
    path.remove_suffix(5);
  } else {
    return Error(404,
                 absl::StrCat("no such resource: ", Excerpt(call.path),
                              "; Open311 resources end in .json or .xml"),
                 format);
  }
  auto only = [&](std::initializer_list<const char*> methods) -> std::optional<HttpReply> {
    for (const char* m : methods) {
      if (call.method == m) return std::nullopt;
    }
    HttpReply reply = Error(
        405, absl::StrCat(Excerpt(call.path), " does not take ", Excerpt(call.method)), format);
    reply.headers.emplace_back("Allow", absl::StrJoin(methods, ", "));
    return reply;
  };
  if (!asked.ok()) return Error(asked.status(), format);
  absl::StatusOr<std::map<std::string, std::string>> query = FormFields(call.query);
  if (!query.ok()) return Error(400, StdView(query.status().message()), format);
  if (path == "/open311/discovery" || path == "/open311/v2/discovery") {
    if (auto refused = only({"GET"})) return *refused;
    return Reply(200, Open311Discovery(options_.discovery), format);
  }
  if (!absl::StartsWith(AbslView(path), kPrefix)) {
    return Error(404,
                 absl::StrCat("no such resource: ", Excerpt(call.path),
                              "; the Open311 GeoReport v2 API is at /open311/v2/ and its "
                              "discovery document at /open311/discovery.json"),
                 format);
  }
  path.remove_prefix(sizeof kPrefix - 1);
  std::optional<std::string> one = PercentDecode(path, /*plus_is_space=*/false);
  if (!one) return Error(400, "the path has a malformed % escape", format);
  const std::string resource = *std::move(one);

  if (resource == "services") {
    if (auto refused = only({"GET"})) return *refused;
    return Services(call, *query, format);
  }
  if (resource == "requests") {
    if (auto refused = only({"GET", "POST"})) return *refused;
    return call.method == "POST" ? File(call, format) : Requests(call, *query, format);
  }
  if (resource == "servicerequestupdates") {
    if (auto refused = only({"GET"})) return *refused;
    return UpdatesFeed(call, *query, format);
  }
  const std::vector<std::string> parts = absl::StrSplit(resource, '/');
  if (parts.size() == 2 && parts[0] == "services" && !parts[1].empty()) {
    if (auto refused = only({"GET"})) return *refused;
    return ServiceDefinition(call, *query, parts[1], format);
  }
  if (parts.size() == 2 && parts[0] == "requests" && !parts[1].empty()) {
    if (auto refused = only({"GET"})) return *refused;
    return OneRequest(call, *query, parts[1], format);
  }
  if (parts.size() == 3 && parts[0] == "requests" && !parts[1].empty() && parts[2] == "updates") {
    if (auto refused = only({"GET"})) return *refused;
    return RequestUpdates(call, *query, parts[1], format);
  }
  return Error(404, absl::StrCat("no such resource: ", Excerpt(call.path)), format);
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

HttpReply Open311Front::Services(const Open311Call& call, const Fields& query,
                                 Open311Format format) const {
  rv1::ListServicesRequest req;
  req.mutable_page()->set_page_size(kPageSize);
  if (const std::string j = Field(query, "jurisdiction_id"); !j.empty()) req.set_agency_id(j);
  CallInfo info;
  if (absl::Status s = Gate(call, kListServices, Field(query, "api_key"), req, &info); !s.ok()) {
    return Error(s, format);
  }
  if (absl::Status s = CheckFilters(call, info, "", req.agency_id()); !s.ok())
    return Error(s, format);
  std::vector<rv1::Service> services;
  for (int listed = 0; listed < options_.max_services;) {
    grpc::ClientContext ctx;
    Prepare(info, call, &ctx);
    const Tracking tracking(call, &ctx);
    rv1::ListServicesResponse resp;
    if (grpc::Status s = registry_->ListServices(&ctx, req, &resp); !s.ok()) {
      return Error(FromGrpcStatus(s), format);
    }
    for (rv1::Service& service : *resp.mutable_services()) {
      ++listed;
      if (!service.current_version_id().empty()) services.push_back(std::move(service));
    }
    if (resp.next_page_token().empty()) break;
    req.mutable_page()->set_page_token(resp.next_page_token());
  }
  return Reply(200, Open311Services(services), format);
}

HttpReply Open311Front::ServiceDefinition(const Open311Call& call, const Fields& query,
                                          const std::string& code, Open311Format format) const {
  rv1::GetServiceRequest req;
  req.set_id(code);
  CallInfo info;
  if (absl::Status s = Gate(call, kGetService, Field(query, "api_key"), req, &info); !s.ok()) {
    return Error(s, format);
  }
  grpc::ClientContext ctx;
  Prepare(info, call, &ctx);
  const Tracking tracking(call, &ctx);
  rv1::GetServiceResponse resp;
  if (grpc::Status s = registry_->GetService(&ctx, req, &resp); !s.ok()) {
    return Error(FromGrpcStatus(s), format);
  }
  if (resp.service().current_version_id().empty()) {
    return Error(
        404, absl::StrCat("service ", code, " has no adopted standard yet and takes no requests"),
        format);
  }
  return Reply(200, Open311ServiceDefinition(resp.service()), format);
}

HttpReply Open311Front::File(const Open311Call& call, Open311Format format) const {
  const std::string content_type = absl::AsciiStrToLower(call.content_type);
  const std::string media(absl::StripAsciiWhitespace(
      absl::string_view(content_type).substr(0, content_type.find(';'))));
  if (media != "application/x-www-form-urlencoded") {
    return Error(415,
                 absl::StrCat("the body must be form-encoded (Content-Type: "
                              "application/x-www-form-urlencoded); got \"",
                              Excerpt(call.content_type), "\""),
                 format);
  }
  absl::StatusOr<std::map<std::string, std::string>> fields = FormFields(call.body);
  if (!fields.ok()) return Error(400, StdView(fields.status().message()), format);
  const std::string api_key = Field(*fields, "api_key");
  if (api_key.empty()) {
    return Error(400, "api_key: required; a complaint channel files with its own key", format);
  }
  cv1::Channel channel = cv1::CHANNEL_PARTNER_SYSTEM;
  if (const std::string named = Field(*fields, "attribute[channel]"); !named.empty()) {
    if (!cv1::Channel_Parse(absl::StrCat("CHANNEL_", absl::AsciiStrToUpper(named)), &channel) ||
        channel == cv1::CHANNEL_UNSPECIFIED) {
      return Error(400,
                   absl::StrCat("attribute[channel]: unknown channel \"", Excerpt(named),
                                "\"; one of web, sms, mobile_app, social_media, email, "
                                "phone, walk_in, complaint_box, partner_system"),
                   format);
    }
  }
  absl::StatusOr<cv1::FileComplaintRequest> req = Open311FileRequest(*fields, channel);
  CallInfo info;
  if (absl::Status s =
          Gate(call, kFileComplaint, api_key, req.ok() ? *req : cv1::FileComplaintRequest(), &info);
      !s.ok()) {
    return Error(s, format);
  }
  if (!req.ok()) return Error(req.status(), format);
  grpc::ClientContext ctx;
  Prepare(info, call, &ctx);
  const Tracking tracking(call, &ctx);
  cv1::FileComplaintResponse resp;
  const grpc::Status s = complaints_->FileComplaint(&ctx, *req, &resp);
  proxy_->Audit(info, static_cast<absl::StatusCode>(s.error_code()), /*reached_backend=*/true,
                req->SerializeAsString());
  if (!s.ok()) return Error(FromGrpcStatus(s), format);
  return Reply(200, Open311Created(resp), format);
}

namespace {

// ViewOf is the case of a GetComplaint answer in its public view.
cv1::PublicComplaint ViewOf(const cv1::GetComplaintResponse& resp) {
  return resp.has_public_complaint() ? resp.public_complaint()
                                     : complaints::PublicView(resp.complaint(), absl::Now());
}

// NotRead answers a failed read of request `id`: an id that names no request, unknown
// (NOT_FOUND) or malformed (INVALID_ARGUMENT), is a 404, as Open311 clients expect; any other
// failure keeps its own status.
HttpReply NotRead(const absl::Status& status, const std::string& id, Open311Format format) {
  if (status.code() != absl::StatusCode::kNotFound &&
      status.code() != absl::StatusCode::kInvalidArgument) {
    return Error(status, format);
  }
  return Error(404,
               absl::StrCat("service_request_id: no request has the id \"", Excerpt(id),
                            "\" (or it is not a tracking code, e.g. 7KQ2M-XW9DT)"),
               format);
}

}  // namespace

absl::Status Open311Front::List(const Open311Call& call, const CallInfo& info, const ListQuery& q,
                                std::vector<cv1::PublicComplaint>* out, std::string* next) const {
  cv1::ListComplaintsRequest req;
  req.set_agency_id(q.jurisdiction_id);
  for (cv1::State st : q.states) req.add_states(st);
  if (q.near) *req.mutable_near() = *q.near;
  if (q.within_box) *req.mutable_within_box() = *q.within_box;
  if (q.by_update) {
    *req.mutable_updated_since() = q.start;
  } else {
    *req.mutable_filed_after() = q.start;
  }
  if (q.end_given && !q.by_update) {
    // end_date is inclusive in Open311; filed_before is exclusive.
    *req.mutable_filed_before() =
        q.end + google::protobuf::util::TimeUtil::NanosecondsToDuration(1);
  }
  req.mutable_page()->set_page_size(std::min(kPageSize, options_.max_requests));
  // Several service codes are listed one after the other; the page token then says which
  // one a continuation is at ("<index>.<token>").
  const std::vector<std::string> targets =
      q.service_codes.empty() ? std::vector<std::string>{""} : q.service_codes;
  const bool several = targets.size() > 1;
  auto wrap = [&](size_t i, const std::string& token) {
    return several ? absl::StrCat(i, ".", token) : token;
  };
  size_t first = 0;
  std::string token = q.page_token;
  if (several && !token.empty()) {
    const size_t dot = token.find('.');
    int index = -1;
    if (dot == std::string::npos || !absl::SimpleAtoi(token.substr(0, dot), &index) || index < 0 ||
        index >= static_cast<int>(targets.size())) {
      FieldViolations v;
      v.Add("page_token", "not a token this list gave (X-Simpul-Next-Page-Token)");
      return v.ToStatus("Open311 requests query");
    }
    first = index;
    token = token.substr(dot + 1);
  }
  // At most max_list_pages pages (each a bounded scan of the complaint index), all within
  // the request's deadline: a filter that matches nothing cannot make this call scan the
  // whole index.
  int pages = 0;
  for (size_t i = first; i < targets.size(); ++i) {
    req.set_service_id(targets[i]);
    req.mutable_page()->set_page_token(i == first ? token : "");
    while (true) {
      if (pages == options_.max_list_pages) {
        *next = wrap(i, req.page().page_token());
        return absl::OkStatus();
      }
      ++pages;
      grpc::ClientContext ctx;
      Prepare(info, call, &ctx);
      const Tracking tracking(call, &ctx);
      cv1::ListComplaintsResponse resp;
      if (grpc::Status s = complaints_->ListComplaints(&ctx, req, &resp); !s.ok()) {
        return FromGrpcStatus(s);
      }
      for (auto& c : *resp.mutable_public_complaints()) out->push_back(std::move(c));
      for (const auto& c : resp.complaints()) {
        out->push_back(complaints::PublicView(c, absl::Now()));
      }
      if (resp.next_page_token().empty()) break;
      req.mutable_page()->set_page_token(resp.next_page_token());
      if (static_cast<int>(out->size()) >= options_.max_requests) {
        *next = wrap(i, resp.next_page_token());
        return absl::OkStatus();
      }
    }
    if (static_cast<int>(out->size()) >= options_.max_requests && i + 1 < targets.size()) {
      *next = wrap(i + 1, "");
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

HttpReply Open311Front::Requests(const Open311Call& call, const Fields& query,
                                 Open311Format format) const {
  const std::string api_key = Field(query, "api_key");
  std::vector<cv1::PublicComplaint> found;

  // By tracking codes: each one the caller may see; unknown ones left out.
  if (const std::string ids = Field(query, "service_request_id"); !ids.empty()) {
    const std::vector<std::string> codes = Open311CommaList(ids);
    if (static_cast<int>(codes.size()) > options_.max_ids) {
      return Error(400,
                   absl::StrCat("service_request_id: at most ", options_.max_ids,
                                " ids at once; got ", codes.size()),
                   format);
    }
    cv1::GetComplaintRequest req;
    CallInfo info;
    if (absl::Status s = Gate(call, kGetComplaint, api_key, req, &info); !s.ok()) {
      return Error(s, format);
    }
    for (const std::string& code : codes) {
      req.set_id(code);
      grpc::ClientContext ctx;
      Prepare(info, call, &ctx);
      const Tracking tracking(call, &ctx);
      cv1::GetComplaintResponse resp;
      const grpc::Status s = complaints_->GetComplaint(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
      if (!s.ok()) return Error(FromGrpcStatus(s), format);
      found.push_back(ViewOf(resp));
    }
    return Reply(200, Open311Requests(found, MediaBase()), format);
  }

  // The list, filtered.
  absl::StatusOr<ListQuery> parsed =
      Open311ParseListQuery(query, absl::Now(), options_.default_window, options_.max_ids);
  if (!parsed.ok()) return Error(parsed.status(), format);
  const ListQuery& q = *parsed;
  std::string next;
  if (absl::Status s = ListChecked(call, api_key, q, &found, &next); !s.ok()) {
    return Error(s, format);
  }
  HttpReply reply;
  if (static_cast<int>(found.size()) > options_.max_requests) {
    found.resize(options_.max_requests);  // cut inside a page: no exact place to resume
    next.clear();
  }
  reply = Reply(200, Open311Requests(found, MediaBase()), format);
  if (!next.empty()) reply.headers.emplace_back(kNextPageHeader, next);
  return reply;
}

absl::Status Open311Front::ListChecked(const Open311Call& call, const std::string& api_key,
                                       const ListQuery& q, std::vector<cv1::PublicComplaint>* found,
                                       std::string* next) const {
  cv1::ListComplaintsRequest gated;
  gated.set_agency_id(q.jurisdiction_id);
  if (!q.service_codes.empty()) gated.set_service_id(q.service_codes[0]);
  CallInfo info;
  SIMPUL_RETURN_IF_ERROR(Gate(call, kListComplaints, api_key, gated, &info));
  SIMPUL_RETURN_IF_ERROR(CheckFilters(call, info, "", q.jurisdiction_id));
  for (const std::string& code : q.service_codes) {
    SIMPUL_RETURN_IF_ERROR(CheckFilters(call, info, code, ""));
  }
  return List(call, info, q, found, next);
}

HttpReply Open311Front::UpdatesFeed(const Open311Call& call, const Fields& query,
                                    Open311Format format) const {
  // The cases changed in [start_date, end_date] (ListComplaints updated_since, whenever they
  // were filed): the latest update of each (its current status), oldest change first.
  absl::StatusOr<ListQuery> parsed =
      Open311ParseListQuery(query, absl::Now(), options_.default_window, options_.max_ids);
  if (!parsed.ok()) return Error(parsed.status(), format);
  const ListQuery& q = *parsed;
  ListQuery changed = q;
  changed.by_update = true;
  std::vector<cv1::PublicComplaint> found;
  std::string next;
  if (absl::Status s = ListChecked(call, Field(query, "api_key"), changed, &found, &next);
      !s.ok()) {
    return Error(s, format);
  }
  std::vector<Open311Update> updates;
  for (const cv1::PublicComplaint& c : found) {
    Open311Update u = Open311CurrentUpdate(c);
    if (u.time < q.start || (q.end_given && u.time > q.end)) continue;
    updates.push_back(std::move(u));
  }
  std::stable_sort(updates.begin(), updates.end(),
                   [](const Open311Update& a, const Open311Update& b) { return a.time < b.time; });
  if (static_cast<int>(updates.size()) > options_.max_requests) {
    updates.resize(options_.max_requests);
    next.clear();
  }
  HttpReply reply = Reply(200, Open311Updates(updates), format);
  if (!next.empty()) reply.headers.emplace_back(kNextPageHeader, next);
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

absl::StatusOr<cv1::GetComplaintResponse> Open311Front::Read(const Open311Call& call,
                                                             const Fields& query,
                                                             const std::string& id) const {
  cv1::GetComplaintRequest req;
  req.set_id(id);
  CallInfo info;
  SIMPUL_RETURN_IF_ERROR(Gate(call, kGetComplaint, Field(query, "api_key"), req, &info));
  grpc::ClientContext ctx;
  Prepare(info, call, &ctx);
  const Tracking tracking(call, &ctx);
  cv1::GetComplaintResponse resp;
  if (grpc::Status s = complaints_->GetComplaint(&ctx, req, &resp); !s.ok()) {
    return FromGrpcStatus(s);
  }
  return resp;
}

HttpReply Open311Front::OneRequest(const Open311Call& call, const Fields& query,
                                   const std::string& id, Open311Format format) const {
  absl::StatusOr<cv1::GetComplaintResponse> resp = Read(call, query, id);
  if (!resp.ok()) return NotRead(resp.status(), id, format);
  return Reply(200, Open311Requests({ViewOf(*resp)}, MediaBase()), format);
}

HttpReply Open311Front::RequestUpdates(const Open311Call& call, const Fields& query,
                                       const std::string& id, Open311Format format) const {
  absl::StatusOr<cv1::GetComplaintResponse> resp = Read(call, query, id);
  if (!resp.ok()) return NotRead(resp.status(), id, format);
  const cv1::PublicComplaint view = ViewOf(*resp);
  if (!resp->has_complaint()) {
    // The public and channels may not read a case's history: its current status only.
    return Reply(200, Open311Updates({Open311CurrentUpdate(view)}), format);
  }
  // Those who handle the case: every change of its status, in the public's words.
  cv1::GetComplaintHistoryRequest req;
  req.set_id(id);
  CallInfo info;
  if (absl::Status s = Gate(call, kGetComplaintHistory, Field(query, "api_key"), req, &info);
      !s.ok()) {
    return Error(s, format);
  }
  grpc::ClientContext ctx;
  Prepare(info, call, &ctx);
  const Tracking tracking(call, &ctx);
  cv1::GetComplaintHistoryResponse history;
  if (grpc::Status s = complaints_->GetComplaintHistory(&ctx, req, &history); !s.ok()) {
    return Error(FromGrpcStatus(s), format);
  }
  return Reply(200, Open311Updates(Open311UpdatesOf(view, history.entries())), format);
}

}  // namespace simpul::gateway

namespace simpul::gateway {

std::string Open311Front::MediaBase() const {
  return absl::StrCat(options_.discovery.base_url, "/media");
}

HttpReply Open311Front::Media(const Open311Call& call) const {
  // Errors are Open311 JSON (the media path has no format extension).
  constexpr Open311Format kFormat = Open311Format::kJson;
  if (call.method != "GET") {
    HttpReply reply = Error(
        405, absl::StrCat(Excerpt(call.path), " does not take ", Excerpt(call.method)), kFormat);
    reply.headers.emplace_back("Allow", "GET");
    return reply;
  }
  absl::StatusOr<std::map<std::string, std::string>> query = FormFields(call.query);
  if (!query.ok()) return Error(400, StdView(query.status().message()), kFormat);
  std::optional<std::string> rest =
      PercentDecode(std::string_view(call.path).substr(sizeof kMediaPrefix - 1), false);
  if (!rest) return Error(400, "the path has a malformed % escape", kFormat);
  const std::vector<std::string> parts = absl::StrSplit(*rest, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return Error(404,
                 absl::StrCat("no such resource: ", Excerpt(call.path),
                              "; media are at /open311/v2/media/<request id>/<attachment id>"),
                 kFormat);
  }
  cv1::GetAttachmentRequest req;
  req.set_id(parts[0]);
  req.set_attachment_id(parts[1]);
  CallInfo info;
  if (absl::Status s = Gate(call, kGetAttachment, Field(*query, "api_key"), req, &info); !s.ok()) {
    return Error(s, kFormat);
  }
  grpc::ClientContext ctx;
  Prepare(info, call, &ctx);
  const Tracking tracking(call, &ctx);
  cv1::GetAttachmentResponse resp;
  if (grpc::Status s = complaints_->GetAttachment(&ctx, req, &resp); !s.ok()) {
    absl::Status status = FromGrpcStatus(s);
    // A malformed id names no media either: 404, as for an unknown one.
    if (status.code() == absl::StatusCode::kInvalidArgument) {
      return Error(404, absl::StrCat("no media ", Excerpt(*rest)), kFormat);
    }
    return Error(status, kFormat);
  }
  HttpReply reply;
  reply.status = 200;
  reply.body = std::move(*resp.mutable_content());
  // The type the service sniffed from the content, never one a client declared; browsers must
  // not guess another, and a document is downloaded rather than shown.
  reply.headers.emplace_back("Content-Type", resp.attachment().media_type());
  reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
  reply.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  if (!absl::StartsWith(resp.attachment().media_type(), "image/")) {
    reply.headers.emplace_back("Content-Disposition", "attachment");
  }
  return reply;
}

}  // namespace simpul::gateway
