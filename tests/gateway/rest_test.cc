// Unit tests of the REST front's route table and request mapping (no server).
#include "gateway/rest.h"

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/excerpt.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/gateway/v1/gateway.pb.h"
#include "simpul/monitoring/v1/monitoring.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

const std::vector<std::string> kServices = {
    "simpul.registry.v1.Registry", "simpul.complaints.v1.Complaints",
    "simpul.monitoring.v1.Monitoring", "simpul.gateway.v1.GatewayAdmin"};

const RouteTable& Table() {
  static const RouteTable* const table = [] {
    absl::StatusOr<RouteTable> t = RouteTable::FromServices(kServices);
    EXPECT_TRUE(t.ok()) << t.status();
    return new RouteTable(*std::move(t));
  }();
  return *table;
}

std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> out;
  const common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) out.push_back(v.field());
  return out;
}

// Build matches `method path?query` and maps it with `body` into `request`.
absl::Status Build(std::string_view method, std::string_view target, std::string_view body,
                   google::protobuf::Message* request) {
  const size_t q = target.find('?');
  RouteMatch match = Table().Match(method, target.substr(0, q));
  if (match.kind != RouteMatch::Kind::kFound) return absl::NotFoundError("no route");
  EXPECT_EQ(match.route->method->input_type(), request->GetDescriptor());
  return BuildRequest(match, q == std::string_view::npos ? "" : target.substr(q + 1), body,
                      request);
}

TEST(RouteTableTest, EveryRpcOfTheFourServicesHasARoute) {
  size_t rpcs = 0;
  for (const std::string& s : kServices) {
    rpcs +=
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(s)->method_count();
  }
  EXPECT_EQ(Table().routes().size(), rpcs);
}

TEST(RouteTableTest, MatchesLiteralsVariablesAndVerbs) {
  RouteMatch m = Table().Match("GET", "/v1/agencies/kota-bogor");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->full_method, "/simpul.registry.v1.Registry/GetAgency");
  EXPECT_THAT(m.bindings, ElementsAre(Pair("id", "kota-bogor")));

  m = Table().Match("GET", "/v1/standards:watch");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->method->name(), "WatchStandards");
  EXPECT_TRUE(m.route->server_streaming);

  m = Table().Match("POST", "/v1/standards/akta-kelahiran.v2:adopt");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->method->name(), "AdoptStandardVersion");
  EXPECT_THAT(m.bindings, ElementsAre(Pair("id", "akta-kelahiran.v2")));

  m = Table().Match("GET", "/v1/services/akta-kelahiran/standard");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->method->name(), "GetCurrentStandard");
  EXPECT_THAT(m.bindings, ElementsAre(Pair("service_id", "akta-kelahiran")));

  m = Table().Match("PUT", "/v1/agencies/kota-bogor");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_THAT(m.bindings, ElementsAre(Pair("agency.id", "kota-bogor")));

  // Percent-encoded variables are decoded.
  m = Table().Match("POST", "/v1/complaints/SP%2D123:track");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_THAT(m.bindings, ElementsAre(Pair("tracking_code", "SP-123")));
}

TEST(RouteTableTest, UnknownPathsAndWrongMethods) {
  EXPECT_EQ(Table().Match("GET", "/v1/nothing").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(Table().Match("GET", "/v1/agencies/").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(Table().Match("GET", "/v1/agencies/a/b").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(Table().Match("GET", "").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(Table().Match("POST", "/v1/standards/x:nosuchverb").kind, RouteMatch::Kind::kNotFound);

  RouteMatch m = Table().Match("DELETE", "/v1/agencies");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_THAT(m.allowed, ElementsAre("GET", "POST"));
  m = Table().Match("GET", "/v1/standards/x.v1:adopt");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_THAT(m.allowed, ElementsAre("POST"));
}

TEST(RouteTableTest, ConflictsAndBadTemplatesAreRefused) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  const auto* registry = pool->FindServiceByName("simpul.registry.v1.Registry");
  const auto* get_agency = registry->FindMethodByName("GetAgency");
  const auto* get_unit = registry->FindMethodByName("GetServiceUnit");
  const auto* create = registry->FindMethodByName("CreateAgency");
  RouteTable table;
  api::v1::HttpRule rule;
  rule.set_get("/v1/things/{id}");
  ASSERT_TRUE(table.Add(get_agency, rule).ok());
  rule.set_get("/v1/things/{id}");
  absl::Status conflict = table.Add(get_unit, rule);
  EXPECT_EQ(conflict.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(conflict.message(), HasSubstr("conflicts with /v1/things/{id}"));
  // A literal is more specific than a variable: no conflict, and it wins.
  rule.set_get("/v1/things/special");
  EXPECT_TRUE(table.Add(get_unit, rule).ok());
  EXPECT_EQ(table.Match("GET", "/v1/things/special").route->method, get_unit);
  EXPECT_EQ(table.Match("GET", "/v1/things/other").route->method, get_agency);
  // Same path, other verb or method: no conflict.
  rule.set_post("/v1/things/{id}");
  EXPECT_TRUE(table.Add(get_unit, rule).ok());

  for (const char* bad :
       {"v1/x", "/v1//x", "/v1/{nosuch}", "/v1/{id", "/v1/x:", "/v1/{id=**}", "/v1/{id}/{id}"}) {
    rule.set_get(bad);
    EXPECT_EQ(RouteTable().Add(get_agency, rule).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  rule.set_post("/v1/x/{agency}");  // a message, not a scalar
  EXPECT_FALSE(RouteTable().Add(create, rule).ok());
  rule.set_post("/v1/x");
  rule.set_body("nosuch");
  EXPECT_THAT(RouteTable().Add(create, rule).message(), HasSubstr("body \"nosuch\""));
  rule.Clear();
  EXPECT_FALSE(RouteTable().Add(create, rule).ok());  // no method
  EXPECT_FALSE(RouteTable::FromServices({"simpul.nosuch.v1.Service"}).ok());
}

TEST(BuildRequestTest, PathVariableAndQueryWithNestedFieldsAndEnums) {
  monitoring::v1::GetFiguresRequest request;
  ASSERT_TRUE(Build("GET",
                    "/v1/figures?scope.unit_id=disdukcapil-pp&period.kind=PERIOD_KIND_YEAR&"
                    "period.year=2026",
                    "", &request)
                  .ok());
  EXPECT_EQ(request.scope().unit_id(), "disdukcapil-pp");
  EXPECT_EQ(request.period().kind(), monitoring::v1::PERIOD_KIND_YEAR);
  EXPECT_EQ(request.period().year(), 2026);

  registry::v1::GetAgencyRequest get;
  ASSERT_TRUE(Build("GET", "/v1/agencies/kota-bogor", "", &get).ok());
  EXPECT_EQ(get.id(), "kota-bogor");
}

TEST(BuildRequestTest, RepeatedFieldsByRepetitionCamelCaseAndPercentEncoding) {
  registry::v1::SearchStandardsRequest request;
  absl::Status s = Build("GET",
                         "/v1/standards?states=STANDARD_STATE_DRAFT&states=STANDARD_STATE_ADOPTED&"
                         "page.pageSize=5&keyword=akta+kelahiran%21&regionCodePrefix=13.05",
                         "", &request);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(request.states(), ElementsAre(registry::v1::STANDARD_STATE_DRAFT,
                                            registry::v1::STANDARD_STATE_ADOPTED));
  EXPECT_EQ(request.page().page_size(), 5);
  EXPECT_EQ(request.keyword(), "akta kelahiran!");
  EXPECT_EQ(request.region_code_prefix(), "13.05");
}

TEST(BuildRequestTest, BoolsAndTimestampsInTheQuery) {
  complaints::v1::ListComplaintsRequest request;
  absl::Status s =
      Build("GET", "/v1/complaints?overdue_only=true&filed_after=2026-01-02T03:04:05Z&agency_id=a",
            "", &request);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(request.overdue_only());
  EXPECT_EQ(request.filed_after().seconds(),
            google::protobuf::util::TimeUtil::TimestampToSeconds(*[] {
              static google::protobuf::Timestamp t;
              google::protobuf::util::TimeUtil::FromString("2026-01-02T03:04:05Z", &t);
              return &t;
            }()));
}

TEST(BuildRequestTest, BadValuesNameTheirFields) {
  registry::v1::ListAgenciesRequest request;
  absl::Status s =
      Build("GET", "/v1/agencies?kind=NOPE&page.page_size=abc&nosuch=1&kind2", "", &request);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(s), UnorderedElementsAre("kind", "page.page_size", "nosuch", "kind2"));
  EXPECT_THAT(s.message(), HasSubstr("kind"));

  // A non-repeated field given twice; a message named as a whole.
  request.Clear();
  s = Build("GET", "/v1/agencies?region_code_prefix=1&region_code_prefix=2&page=3", "", &request);
  EXPECT_THAT(Fields(s), UnorderedElementsAre("region_code_prefix", "page"));
}

TEST(BuildRequestTest, WholeBodyWithPathVariable) {
  complaints::v1::TrackComplaintRequest request;
  absl::Status s = Build("POST", "/v1/complaints/SP-1:track", R"({"secret": "s3cret"})", &request);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(request.tracking_code(), "SP-1");
  EXPECT_EQ(request.secret(), "s3cret");

  // The body may repeat the path's value, not contradict it.
  registry::v1::UpdateAgencyRequest update;
  s = Build("PUT", "/v1/agencies/kota-bogor",
            R"({"agency": {"id": "kota-bogor", "name": "Kota Bogor"}, "expectedRevision": "3"})",
            &update);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(update.agency().name(), "Kota Bogor");
  EXPECT_EQ(update.expected_revision(), 3);
  update.Clear();
  s = Build("PUT", "/v1/agencies/kota-bogor", R"({"agency": {"id": "kota-depok"}})", &update);
  EXPECT_THAT(Fields(s), ElementsAre("agency.id"));

  // Query parameters are refused where the body takes every field.
  request.Clear();
  s = Build("POST", "/v1/complaints/SP-1:track?secret=x", "", &request);
  EXPECT_THAT(Fields(s), ElementsAre("secret"));
}

TEST(BuildRequestTest, BodyFieldAndItsErrors) {
  registry::v1::CreateAgencyRequest request;
  absl::Status s = Build(
      "POST", "/v1/agencies",
      R"({"id": "kota-bogor", "name": "Kota Bogor", "kind": "AGENCY_KIND_CITY", "region_code": "32.71"})",
      &request);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(request.agency().id(), "kota-bogor");
  EXPECT_EQ(request.agency().kind(), registry::v1::AGENCY_KIND_CITY);
  EXPECT_EQ(request.agency().region_code(), "32.71");

  for (const char* bad : {R"({"id": )", "[1, 2]", R"({"nosuch": 1})", R"({"kind": "NOPE"})",
                          R"("just a string")", R"({"id": "a"} trailing)"}) {
    request.Clear();
    s = Build("POST", "/v1/agencies", bad, &request);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(BadRequestOf(s).field_violations_size(), 1) << bad;
  }
  // The fields of the body field cannot come from the query as well.
  request.Clear();
  s = Build("POST", "/v1/agencies?agency.name=x", "{}", &request);
  EXPECT_THAT(Fields(s), ElementsAre("agency.name"));
  // A route without body refuses one.
  registry::v1::GetAgencyRequest get;
  s = Build("GET", "/v1/agencies/x", R"({"id": "y"})", &get);
  EXPECT_THAT(Fields(s), ElementsAre("body"));
}

TEST(ErrorsTest, HttpStatusOfEveryCode) {
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kOutOfRange), 400);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kAborted), 409);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kCancelled), 499);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kUnknown), 500);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kDataLoss), 500);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kUnimplemented), 501);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(ErrorHttpStatus(absl::StatusCode::kDeadlineExceeded), 504);
}

TEST(ErrorsTest, ErrorJsonCarriesFieldViolations) {
  const std::string json =
      ErrorJson(InvalidField("agency.name", "must not be \"empty\""), 400, "rid-1");
  EXPECT_THAT(json, HasSubstr(R"("code":400,"status":"INVALID_ARGUMENT")"));
  EXPECT_THAT(
      json,
      HasSubstr(
          R"("field_violations":[{"field":"agency.name","description":"must not be \"empty\""}])"));
  EXPECT_THAT(json, HasSubstr(R"("request_id":"rid-1")"));
  registry::v1::GetAgencyRequest parsed;  // the output is JSON a parser takes
  EXPECT_THAT(MessageJson(parsed), "{}");
}

// ExpectShortValidJson: `body` is valid UTF-8, parses as JSON, and has at most `max_bytes`.
void ExpectShortValidJson(const std::string& body, size_t max_bytes) {
  EXPECT_TRUE(IsValidUtf8(body)) << Excerpt(body, 400);
  google::protobuf::Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &parsed).ok())
      << Excerpt(body, 400);
  EXPECT_LE(body.size(), max_bytes) << Excerpt(body, 400);
}

TEST(ErrorsTest, InvalidUtf8AndHugeInputGiveShortValidJson) {
  const std::string huge(1 << 20, 'A');
  const std::vector<std::pair<std::string, std::string>> cases = {
      // invalid UTF-8 in a JSON string of the body
      {"/v1/complaints/SP-1:reply", "{\"message\":\"bad \xff\xfe\xc3( bytes\"}"},
      // invalid UTF-8 outside a string
      {"/v1/complaints/SP-1:reply", "{\"message\xff\":1}"},
      // a 1 MB value of the wrong type
      {"/v1/complaints/SP-1:reply", "{\"message\":" + huge + "}"},
      // a 1 MB unknown field name
      {"/v1/complaints/SP-1:reply", "{\"" + huge + "\":\"x\"}"},
      // the path and the body disagree, both 1 MB
      {"/v1/complaints/" + huge + ":reply", "{\"tracking_code\":\"" + huge + "x\"}"},
  };
  for (const auto& [target, body] : cases) {
    complaints::v1::ReplyToComplaintRequest request;
    const absl::Status built = Build("POST", target, body, &request);
    ASSERT_EQ(built.code(), absl::StatusCode::kInvalidArgument) << Excerpt(body);
    ExpectShortValidJson(ErrorJson(built, 400, "rid"), 4096);
  }
  // Query parameters: a 1 MB unknown name, and a 1 MB bad value with invalid UTF-8.
  for (const std::string& target :
       {"/v1/agencies?" + huge + "=1", "/v1/agencies?page.page_size=" + huge + "%FF"}) {
    registry::v1::ListAgenciesRequest request;
    const absl::Status built = Build("GET", target, "", &request);
    ASSERT_EQ(built.code(), absl::StatusCode::kInvalidArgument);
    ExpectShortValidJson(ErrorJson(built, 400, "rid"), 4096);
  }
  // Any status, however long its message and however many its violations.
  FieldViolations many;
  for (int i = 0; i < 1000; ++i) many.Add(huge.substr(0, 1000), "bad \xff" + huge.substr(0, 5000));
  ExpectShortValidJson(ErrorJson(many.ToStatus("request"), 400, "rid"), 64 * 1024);
  ExpectShortValidJson(ErrorJson(absl::InvalidArgumentError("\xc0\xaf" + huge), 400, "rid\xff"),
                       4096);
}

// The REST front's TLS files are checked before it serves; each error names the key and file.
TEST(RestTlsOptionsTest, MissingOrUnusableFilesAreNamed) {
  RestOptions options;
  EXPECT_TRUE(RestServer::CheckTls(options).ok());  // plaintext
  options.tls_client_ca_file = "/etc/hostname";
  absl::Status s = RestServer::CheckTls(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("tls_client_ca_file needs them"));
  options = RestOptions();
  options.tls_cert_file = "/nonexistent/gateway.pem";
  s = RestServer::CheckTls(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("go together"));
  options.tls_key_file = "/nonexistent/gateway.key";
  s = RestServer::CheckTls(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("REST TLS: cannot read tls_cert_file \"/nonexistent/gateway.pem\""));
  const std::string garbage = ::testing::TempDir() + "/rest_tls_not_a_certificate.pem";
  std::ofstream(garbage) << "not a certificate\n";
  options.tls_cert_file = garbage;
  s = RestServer::CheckTls(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("tls_cert_file \"", garbage, "\" is not usable")));
}

}  // namespace
}  // namespace simpul::gateway
