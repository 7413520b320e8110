// Tests of the gateway's OpenAPI document (gateway/openapi.h): it lists every REST route
// with the JSON mapping, statuses, security and streams the gateway really serves.
#include "gateway/openapi.h"

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace simpul::gateway {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

// Doc is the parsed document, with a path lookup that fails the test when a key is missing.
class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Policy> policy = Policy::FromFile(SIMPUL_POLICY_FILE);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *std::move(policy);
    absl::StatusOr<RouteTable> routes = RouteTable::FromServices(RestServices());
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = *std::move(routes);
    Load(OpenApiOptions{.policy = &*policy_});
  }

  void Load(const OpenApiOptions& options) {
    absl::StatusOr<std::string> text = OpenApiDocument(*routes_, options);
    ASSERT_TRUE(text.ok()) << text.status();
    text_ = *text;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text_, &doc_).ok());
    *root_.mutable_struct_value() = doc_;
  }

  // At walks object keys (one path element each); null when one is missing.
  const Value* At(std::initializer_list<std::string> keys) const {
    const Value* v = &root();
    for (const std::string& k : keys) {
      if (!v->has_struct_value()) return nullptr;
      auto it = v->struct_value().fields().find(k);
      if (it == v->struct_value().fields().end()) return nullptr;
      v = &it->second;
    }
    return v;
  }
  std::string Str(std::initializer_list<std::string> keys) const {
    const Value* v = At(keys);
    return v == nullptr ? "<missing>" : v->string_value();
  }
  std::set<std::string> Keys(std::initializer_list<std::string> keys) const {
    std::set<std::string> out;
    const Value* v = At(keys);
    if (v != nullptr) {
      for (const auto& [k, unused] : v->struct_value().fields()) out.insert(k);
    }
    return out;
  }
  const Value& root() const { return root_; }
  // Schema follows a $ref into components/schemas.
  const Value* Schema(const std::string& name) const { return At({"components", "schemas", name}); }
  // Param finds an operation's parameter by name.
  const Value* Param(const std::string& path, const std::string& method,
                     const std::string& name) const {
    const Value* params = At({"paths", path, method, "parameters"});
    if (params == nullptr) return nullptr;
    for (const Value& p : params->list_value().values()) {
      const auto& f = p.struct_value().fields();
      if (f.count("name") && f.at("name").string_value() == name) return &p;
    }
    return nullptr;
  }
  // SecurityAlternatives are an operation's requirements, each as "a+b" ("" for anonymous).
  std::set<std::string> SecurityAlternatives(const std::string& path,
                                             const std::string& method) const {
    std::set<std::string> out;
    const Value* security = At({"paths", path, method, "security"});
    if (security == nullptr) return out;
    for (const Value& requirement : security->list_value().values()) {
      std::set<std::string> names;  // sorted: a Struct's fields are a map without order
      for (const auto& [k, unused] : requirement.struct_value().fields()) names.insert(k);
      out.insert(absl::StrJoin(names, "+"));
    }
    return out;
  }

  std::optional<Policy> policy_;
  std::optional<RouteTable> routes_;
  std::string text_;
  Struct doc_;
  Value root_;
};

TEST_F(OpenApiTest, EveryRouteIsAnOperationWithItsMethodAndOperationId) {
  EXPECT_EQ(Str({"openapi"}), "3.1.0");
  ASSERT_GT(routes_->routes().size(), 70u);
  std::set<std::string> ids;
  for (const Route& route : routes_->routes()) {
    const std::string method = absl::AsciiStrToLower(route.http_method);
    const Value* op = At({"paths", route.pattern, method});
    ASSERT_NE(op, nullptr) << route.http_method << " " << route.pattern;
    EXPECT_EQ(Str({"paths", route.pattern, method, "operationId"}),
              absl::StrCat(route.method->service()->name(), "_", route.method->name()));
    EXPECT_EQ(Str({"paths", route.pattern, method, "x-simpul-grpc-method"}), route.full_method);
    EXPECT_TRUE(ids.insert(Str({"paths", route.pattern, method, "operationId"})).second);
    // Every operation answers errors with the error body by default.
    EXPECT_EQ(Str({"paths", route.pattern, method, "responses", "default", "$ref"}),
              "#/components/responses/Error");
  }
}

TEST_F(OpenApiTest, EveryOperationIdIsUniqueAndEveryRefResolves) {
  std::set<std::string> ids;
  for (const auto& [path, item] : doc_.fields().at("paths").struct_value().fields()) {
    for (const auto& [method, op] : item.struct_value().fields()) {
      const std::string id = op.struct_value().fields().at("operationId").string_value();
      EXPECT_TRUE(ids.insert(id).second) << id << " twice";
    }
  }
  EXPECT_GT(ids.size(), routes_->routes().size());  // plus /web/session and Open311
  int refs = 0;
  std::function<void(const Value&)> walk = [&](const Value& v) {
    if (v.has_list_value()) {
      for (const Value& item : v.list_value().values()) walk(item);
    }
    if (!v.has_struct_value()) return;
    for (const auto& [k, child] : v.struct_value().fields()) {
      if (k == "$ref") {
        ++refs;
        const std::vector<std::string> parts =
            absl::StrSplit(absl::StripPrefix(child.string_value(), "#/"), '/');
        ASSERT_EQ(parts.size(), 3u) << child.string_value();
        EXPECT_NE(At({parts[0], parts[1], parts[2]}), nullptr)
            << child.string_value() << " does not resolve";
      }
      walk(child);
    }
  };
  walk(root());
  EXPECT_GT(refs, 500);
}

TEST_F(OpenApiTest, JsonMappingOfScalarsEnumsAndTimestamps) {
  // int64 is a string with format int64.
  EXPECT_EQ(
      Str({"components", "schemas", "simpul.registry.v1.Agency", "properties", "revision", "type"}),
      "string");
  EXPECT_EQ(Str({"components", "schemas", "simpul.registry.v1.Agency", "properties", "revision",
                 "format"}),
            "int64");
  // Timestamps are RFC 3339 strings.
  EXPECT_EQ(Str({"components", "schemas", "simpul.registry.v1.Agency", "properties", "create_time",
                 "type"}),
            "string");
  EXPECT_EQ(Str({"components", "schemas", "simpul.registry.v1.Agency", "properties", "create_time",
                 "format"}),
            "date-time");
  // An enum field refers to the enum's schema, a string of the value names.
  EXPECT_EQ(
      Str({"components", "schemas", "simpul.registry.v1.Agency", "properties", "kind", "$ref"}),
      "#/components/schemas/simpul.registry.v1.AgencyKind");
  const Value* state = At({"components", "schemas", "simpul.complaints.v1.State"});
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(Str({"components", "schemas", "simpul.complaints.v1.State", "type"}), "string");
  std::vector<std::string> names;
  for (const Value& v : state->struct_value().fields().at("enum").list_value().values()) {
    names.push_back(v.string_value());
  }
  EXPECT_THAT(names, IsSupersetOf({"STATE_RECEIVED", "STATE_VERIFIED", "STATE_COMPLETED"}));
  // Field names are the proto names (snake_case), as the gateway writes them.
  EXPECT_THAT(Keys({"components", "schemas", "simpul.registry.v1.Agency", "properties"}),
              IsSupersetOf({"region_code", "budget_code", "create_time"}));
  // Repeated fields are arrays of their element.
  EXPECT_EQ(Str({"components", "schemas", "simpul.registry.v1.ListAgenciesResponse", "properties",
                 "agencies", "type"}),
            "array");
  EXPECT_EQ(Str({"components", "schemas", "simpul.registry.v1.ListAgenciesResponse", "properties",
                 "agencies", "items", "$ref"}),
            "#/components/schemas/simpul.registry.v1.Agency");
}

TEST_F(OpenApiTest, CreatesAnswer201AndOthers200) {
  EXPECT_THAT(Keys({"paths", "/v1/agencies", "post", "responses"}), Contains("201"));
  EXPECT_THAT(Keys({"paths", "/v1/agencies", "post", "responses"}), Not(Contains("200")));
  EXPECT_EQ(Str({"paths", "/v1/agencies", "post", "responses", "201", "content", "application/json",
                 "schema", "$ref"}),
            "#/components/schemas/simpul.registry.v1.CreateAgencyResponse");
  // body: "agency" is the Agency message alone.
  EXPECT_EQ(Str({"paths", "/v1/agencies", "post", "requestBody", "content", "application/json",
                 "schema", "$ref"}),
            "#/components/schemas/simpul.registry.v1.Agency");
  EXPECT_THAT(Keys({"paths", "/v1/complaints", "post", "responses"}), Contains("201"));
  EXPECT_THAT(Keys({"paths", "/v1/agencies", "get", "responses"}), Contains("200"));
  EXPECT_THAT(Keys({"paths", "/v1/agencies", "get", "responses"}),
              IsSupersetOf({"400", "401", "403", "429", "503", "default"}));
  EXPECT_NE(At({"components", "responses", "TooManyRequests", "headers", "Retry-After"}), nullptr);
}

TEST_F(OpenApiTest, WatchesAreNdjsonAndServerSentEvents) {
  const std::string watch = "/v1/standards:watch";
  EXPECT_EQ(Str({"paths", watch, "get", "responses", "200", "content", "application/x-ndjson",
                 "schema", "oneOf"}),
            "");  // a list: checked below
  const Value* one_of = At({"paths", watch, "get", "responses", "200", "content",
                            "application/x-ndjson", "schema", "oneOf"});
  ASSERT_NE(one_of, nullptr);
  ASSERT_EQ(one_of->list_value().values_size(), 2);
  EXPECT_EQ(one_of->list_value().values(0).struct_value().fields().at("$ref").string_value(),
            "#/components/schemas/simpul.registry.v1.WatchStandardsResponse");
  EXPECT_EQ(one_of->list_value().values(1).struct_value().fields().at("$ref").string_value(),
            "#/components/schemas/StreamError");
  EXPECT_EQ(Str({"paths", watch, "get", "responses", "200", "content", "text/event-stream",
                 "schema", "type"}),
            "string");
  EXPECT_THAT(Str({"paths", watch, "get", "responses", "200", "content", "text/event-stream",
                   "schema", "description"}),
              HasSubstr("event: error"));
  EXPECT_TRUE(At({"paths", watch, "get", "x-simpul-server-streaming"})->bool_value());
  // A resumable watch says where it starts.
  EXPECT_NE(At({"paths", watch, "get", "responses", "200", "headers", "x-simpul-cursor"}), nullptr);
  // The stream deadline and language are parameters of every route.
  std::set<std::string> refs;
  for (const Value& p : At({"paths", watch, "get", "parameters"})->list_value().values()) {
    const auto& f = p.struct_value().fields();
    if (f.count("$ref")) refs.insert(f.at("$ref").string_value());
  }
  EXPECT_THAT(refs,
              IsSupersetOf({"#/components/parameters/GrpcTimeout", "#/components/parameters/Lang",
                            "#/components/parameters/AcceptLanguage"}));
  // A unary route has JSON only.
  EXPECT_THAT(Keys({"paths", "/v1/agencies", "get", "responses", "200", "content"}),
              ::testing::ElementsAre("application/json"));
}

TEST_F(OpenApiTest, PathQueryAndBodyParameters) {
  // {agency.id}: a required path parameter named as declared.
  const Value* id = Param("/v1/agencies/{agency.id}", "put", "agency.id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->struct_value().fields().at("in").string_value(), "path");
  EXPECT_TRUE(id->struct_value().fields().at("required").bool_value());
  // A body route takes no query parameters for the body's field.
  EXPECT_EQ(Param("/v1/agencies/{agency.id}", "put", "agency.name"), nullptr);
  // GET routes take the request's fields from the query: nested fields dotted, repeated
  // fields as arrays, enums by their schema.
  const Value* page_size = Param("/v1/agencies", "get", "page.page_size");
  ASSERT_NE(page_size, nullptr);
  EXPECT_EQ(page_size->struct_value().fields().at("in").string_value(), "query");
  EXPECT_EQ(Param("/v1/standards:search", "get", "lang"), nullptr);  // the gateway's own
  bool repeated_enum = false;
  for (const Value& p :
       At({"paths", "/v1/complaints", "get", "parameters"})->list_value().values()) {
    const auto& f = p.struct_value().fields();
    if (f.count("name") && f.at("name").string_value() == "states") {
      const auto& schema = f.at("schema").struct_value().fields();
      repeated_enum = schema.at("type").string_value() == "array" &&
                      schema.at("items").struct_value().fields().at("$ref").string_value() ==
                          "#/components/schemas/simpul.complaints.v1.State";
    }
  }
  EXPECT_TRUE(repeated_enum) << "GET /v1/complaints ?states=A&states=B";
  // body "*" on a route without path variables is the request message.
  EXPECT_EQ(Str({"paths", "/v1/complaints", "post", "requestBody", "content", "application/json",
                 "schema", "$ref"}),
            "#/components/schemas/simpul.complaints.v1.FileComplaintRequest");
}

TEST_F(OpenApiTest, TheErrorBody) {
  EXPECT_THAT(Keys({"components", "schemas", "Error", "properties"}),
              IsSupersetOf({"code", "status", "message", "field_violations", "request_id"}));
  EXPECT_EQ(Str({"components", "schemas", "Error", "properties", "code", "type"}), "integer");
  EXPECT_EQ(
      Str({"components", "schemas", "Error", "properties", "field_violations", "items", "$ref"}),
      "#/components/schemas/FieldViolation");
  EXPECT_THAT(Keys({"components", "schemas", "FieldViolation", "properties"}),
              IsSupersetOf({"field", "description"}));
  EXPECT_EQ(
      Str({"components", "responses", "Error", "content", "application/json", "schema", "$ref"}),
      "#/components/schemas/Error");
}

TEST_F(OpenApiTest, PublicOperationsHaveOptionalSecurityStaffOnlyDoNot) {
  // GetAgency is public: anonymous is one of the alternatives.
  EXPECT_THAT(SecurityAlternatives("/v1/agencies/{id}", "get"),
              IsSupersetOf({"", "bearerAuth", "apiKeyHeader", "mutualTLS", "officerSession"}));
  const Value* roles = At({"paths", "/v1/agencies/{id}", "get", "x-simpul-roles"});
  ASSERT_NE(roles, nullptr);
  EXPECT_EQ(roles->list_value().values(0).string_value(), "public");
  // CreateAgency is for platform admins: credentials required; a session write needs CSRF.
  const std::set<std::string> create = SecurityAlternatives("/v1/agencies", "post");
  EXPECT_THAT(create, Not(Contains("")));
  EXPECT_THAT(create, Contains("csrfToken+officerSession"));
  EXPECT_THAT(Str({"paths", "/v1/agencies", "post", "description"}), HasSubstr("Roles: "));
  EXPECT_THAT(Str({"paths", "/v1/agencies", "post", "description"}), Not(HasSubstr("public")));
  EXPECT_THAT(
      Keys({"components", "securitySchemes"}),
      IsSupersetOf({"bearerAuth", "apiKeyHeader", "mutualTLS", "officerSession", "csrfToken"}));
  EXPECT_EQ(Str({"components", "securitySchemes", "officerSession", "in"}), "cookie");
  EXPECT_EQ(Str({"components", "securitySchemes", "officerSession", "name"}), "simpul_session");
  EXPECT_EQ(Str({"components", "securitySchemes", "mutualTLS", "type"}), "mutualTLS");
  EXPECT_THAT(Keys({"paths", "/web/session"}), IsSupersetOf({"get", "post", "delete"}));
}

TEST_F(OpenApiTest, Open311Routes) {
  for (const char* path :
       {"/open311/discovery.{format}", "/open311/v2/discovery.{format}",
        "/open311/v2/services.{format}", "/open311/v2/services/{service_code}.{format}",
        "/open311/v2/requests.{format}", "/open311/v2/requests/{service_request_id}.{format}",
        "/open311/v2/requests/{service_request_id}/updates.{format}",
        "/open311/v2/servicerequestupdates.{format}",
        "/open311/v2/media/{service_request_id}/{attachment_id}"}) {
    EXPECT_NE(At({"paths", path, "get"}), nullptr) << path;
  }
  EXPECT_NE(At({"paths", "/open311/v2/requests.{format}", "post", "requestBody", "content",
                "application/x-www-form-urlencoded"}),
            nullptr);
  EXPECT_THAT(
      Keys({"paths", "/open311/v2/services.{format}", "get", "responses", "200", "content"}),
      IsSupersetOf({"application/json", "text/xml"}));
  const Value* format = Param("/open311/v2/services.{format}", "get", "format");
  ASSERT_NE(format, nullptr);
  EXPECT_EQ(format->struct_value()
                .fields()
                .at("schema")
                .struct_value()
                .fields()
                .at("enum")
                .list_value()
                .values_size(),
            2);
  EXPECT_NE(Param("/open311/v2/requests.{format}", "get", "service_request_id"), nullptr);
  EXPECT_NE(Param("/open311/v2/requests.{format}", "get", "page_token"), nullptr);
}

TEST_F(OpenApiTest, DescriptionsAreTheProtoComments) {
  // Without comments the document is complete (the summary is the method's name) ...
  EXPECT_EQ(Str({"paths", "/v1/agencies/{id}", "get", "summary"}), "GetAgency");
  // ... with the build's descriptor set, the summaries and descriptions are the comments.
  std::ifstream in(SIMPUL_API_DESCRIPTORS, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  google::protobuf::FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromString(bytes.str())) << SIMPUL_API_DESCRIPTORS;
  google::protobuf::DescriptorPool pool;
  for (const auto& file : set.file()) ASSERT_NE(pool.BuildFile(file), nullptr) << file.name();
  Load(OpenApiOptions{.policy = &*policy_, .comments = &pool});
  EXPECT_EQ(Str({"paths", "/v1/agencies/{id}", "get", "summary"}), "GetAgency returns one agency.");
  EXPECT_THAT(Str({"components", "schemas", "simpul.registry.v1.Agency", "properties", "revision",
                   "description"}),
              HasSubstr("1 after creation"));
  EXPECT_THAT(Str({"components", "schemas", "simpul.complaints.v1.State", "description"}),
              HasSubstr("STATE_RECEIVED`: filed; verify within 3 working days"));
}

}  // namespace
}  // namespace simpul::gateway
