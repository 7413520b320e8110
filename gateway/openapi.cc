// The OpenAPI 3.1 document of the gateway (gateway/openapi.h).
#include "gateway/openapi.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/json.h"
#include "gateway/rest/field_path.h"
#include "google/protobuf/descriptor.pb.h"
#include "simpul/calendar/v1/calendar.grpc.pb.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/complaints/v1/webhooks.grpc.pb.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::gateway {

namespace rest {
bool CreatesResource(const Route& route);  // gateway/rest/http_session.h (201 or 200)
}  // namespace rest

namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::SourceLocation;

// Json is an ordered JSON value: objects keep their keys in insertion order, so that the
// document reads in a sensible order and is the same at every build.
class Json {
 public:
  Json() = default;
  Json(const char* s) : kind_(kString), string_(s) {}             // NOLINT: implicit on purpose
  Json(std::string s) : kind_(kString), string_(std::move(s)) {}  // NOLINT
  Json(std::string_view s) : kind_(kString), string_(s) {}        // NOLINT
  Json(bool b) : kind_(kBool), bool_(b) {}                        // NOLINT
  Json(int n) : kind_(kInt), int_(n) {}                           // NOLINT
  Json(int64_t n) : kind_(kInt), int_(n) {}                       // NOLINT
  Json(double d) : kind_(kDouble), double_(d) {}                  // NOLINT

  static Json Object() {
    Json j;
    j.kind_ = kObject;
    return j;
  }
  static Json Array() {
    Json j;
    j.kind_ = kArray;
    return j;
  }
  static Json Strings(const std::vector<std::string>& items) {
    Json j = Array();
    for (const std::string& s : items) j.Push(s);
    return j;
  }

  // operator[] finds or appends a member (a null value becomes an object).
  Json& operator[](const std::string& key) {
    if (kind_ == kNull) kind_ = kObject;
    for (auto& [k, v] : members_) {
      if (k == key) return v;
    }
    members_.emplace_back(key, Json());
    return members_.back().second;
  }
  bool Has(const std::string& key) const {
    for (const auto& [k, v] : members_) {
      if (k == key) return true;
    }
    return false;
  }
  Json& Push(Json v) {
    if (kind_ == kNull) kind_ = kArray;
    items_.push_back(std::move(v));
    return items_.back();
  }
  size_t size() const { return kind_ == kArray ? items_.size() : members_.size(); }

  void Write(std::string* out, int depth) const {
    auto newline = [&](int d) {
      out->push_back('\n');
      out->append(static_cast<size_t>(d) * 2, ' ');
    };
    switch (kind_) {
      case kNull:
        out->append("null");
        break;
      case kBool:
        out->append(bool_ ? "true" : "false");
        break;
      case kInt:
        absl::StrAppend(out, int_);
        break;
      case kDouble:
        absl::StrAppend(out, std::isfinite(double_) ? absl::StrCat(double_) : "null");
        break;
      case kString:
        AppendJsonEscaped(out, string_);
        break;
      case kArray:
        if (items_.empty()) {
          out->append("[]");
          break;
        }
        out->push_back('[');
        for (size_t i = 0; i < items_.size(); ++i) {
          if (i > 0) out->push_back(',');
          newline(depth + 1);
          items_[i].Write(out, depth + 1);
        }
        newline(depth);
        out->push_back(']');
        break;
      case kObject:
        if (members_.empty()) {
          out->append("{}");
          break;
        }
        out->push_back('{');
        for (size_t i = 0; i < members_.size(); ++i) {
          if (i > 0) out->push_back(',');
          newline(depth + 1);
          AppendJsonEscaped(out, members_[i].first);
          out->append(": ");
          members_[i].second.Write(out, depth + 1);
        }
        newline(depth);
        out->push_back('}');
        break;
    }
  }

 private:
  enum Kind { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  Kind kind_ = kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

Json Ref(std::string_view kind, std::string_view name) {
  Json j;
  j["$ref"] = absl::StrCat("#/components/", AbslView(kind), "/", AbslView(name));
  return j;
}

// The policy's roles, in the order the document lists them.
constexpr std::pair<const char*, common::v1::Role> kRoles[] = {
    {"public", common::v1::ROLE_UNSPECIFIED},
    {"agency_admin", common::v1::ROLE_AGENCY_ADMIN},
    {"agency_operator", common::v1::ROLE_AGENCY_OPERATOR},
    {"channel", common::v1::ROLE_CHANNEL},
    {"dashboard", common::v1::ROLE_DASHBOARD},
    {"platform_admin", common::v1::ROLE_PLATFORM_ADMIN}};
// The roles that may sign in to the officer console (/web/session).
const std::set<std::string> kOfficerRoles = {"agency_admin", "agency_operator", "platform_admin"};

// CleanComment turns a proto comment into text: lines trimmed, the lines of a paragraph
// joined with spaces, paragraphs separated by a blank line.
std::string CleanComment(const std::string& comment) {
  std::vector<std::string> paragraphs;
  std::string current;
  for (absl::string_view line : absl::StrSplit(comment, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) {
      if (!current.empty()) paragraphs.push_back(std::move(current));
      current.clear();
      continue;
    }
    if (!current.empty()) current.push_back(' ');
    absl::StrAppend(&current, line);
  }
  if (!current.empty()) paragraphs.push_back(std::move(current));
  return absl::StrJoin(paragraphs, "\n\n");
}

// Sentences joins two texts, ending the first with a period when it has no stop.
std::string Sentences(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  const char last = a.back();
  return absl::StrCat(a, last == '.' || last == '!' || last == '?' || last == ':' ? " " : ". ", b);
}

// Summary is the first sentence of a description (at most one line's worth).
std::string Summary(const std::string& description) {
  std::string first = description.substr(0, description.find("\n\n"));
  for (size_t i = 0; i + 1 < first.size(); ++i) {
    if (first[i] == '.' && first[i + 1] == ' ') {
      first.resize(i + 1);
      break;
    }
  }
  if (first.size() > 160) {
    size_t cut = first.rfind(' ', 157);
    first = absl::StrCat(first.substr(0, cut == std::string::npos ? 157 : cut), "…");
  }
  return first;
}

class Writer {
 public:
  explicit Writer(const OpenApiOptions& options) : options_(options) {}

  absl::StatusOr<std::string> Write(const RouteTable& routes) {
    Json doc;
    doc["openapi"] = "3.1.0";
    Info(doc["info"]);
    Json servers = Json::Array();
    Json server;
    server["url"] = "/";
    server["description"] = "The gateway that serves this document";
    servers.Push(std::move(server));
    doc["servers"] = std::move(servers);
    // Built apart and moved in: a reference into `doc` would not survive its next member.
    Json tags = Json::Array();
    std::set<std::string> tagged;
    Json paths = Json::Object();
    std::set<std::string> operation_ids;
    for (const Route& route : routes.routes()) {
      const std::string tag = route.method->service()->name();
      if (tagged.insert(tag).second) {
        Json t;
        t["name"] = tag;
        std::string about = Comment(route.method->service());
        t["description"] = about.empty()
                               ? absl::StrCat("The ", route.method->service()->full_name(),
                                              " service (gRPC), over REST/JSON.")
                               : about;
        tags.Push(std::move(t));
      }
      Json op = Operation(route);
      const std::string id = absl::StrCat(tag, "_", route.method->name());
      if (!operation_ids.insert(id).second) {
        return absl::InternalError(absl::StrCat("operationId ", id, " twice"));
      }
      Json& item = paths[route.pattern];
      item[absl::AsciiStrToLower(route.http_method)] = std::move(op);
    }
    SessionPaths(paths, tags);
    Open311Paths(paths, tags);
    doc["tags"] = std::move(tags);
    doc["paths"] = std::move(paths);
    Json components = Json::Object();
    Components(components);
    doc["components"] = std::move(components);
    std::string out;
    doc.Write(&out, 0);
    out.push_back('\n');
    return out;
  }

 private:
  // --- descriptions from the comments -------------------------------------------------
  template <typename D>
  std::string CommentOf(const D* found) const {
    if (found == nullptr) return "";
    SourceLocation loc;
    if (!found->GetSourceLocation(&loc)) return "";
    std::string text = CleanComment(loc.leading_comments);
    if (text.empty()) text = CleanComment(loc.trailing_comments);
    return text;
  }
  std::string Comment(const google::protobuf::ServiceDescriptor* d) const {
    return options_.comments ? CommentOf(options_.comments->FindServiceByName(d->full_name())) : "";
  }
  std::string Comment(const google::protobuf::MethodDescriptor* d) const {
    return options_.comments ? CommentOf(options_.comments->FindMethodByName(d->full_name())) : "";
  }
  std::string Comment(const Descriptor* d) const {
    return options_.comments ? CommentOf(options_.comments->FindMessageTypeByName(d->full_name()))
                             : "";
  }
  std::string Comment(const FieldDescriptor* d) const {
    if (options_.comments == nullptr) return "";
    return d->is_extension() ? "" : CommentOf(options_.comments->FindFieldByName(d->full_name()));
  }
  std::string Comment(const EnumDescriptor* d) const {
    return options_.comments ? CommentOf(options_.comments->FindEnumTypeByName(d->full_name()))
                             : "";
  }
  std::string Comment(const google::protobuf::EnumValueDescriptor* d) const {
    return options_.comments ? CommentOf(options_.comments->FindEnumValueByName(d->full_name()))
                             : "";
  }

  // --- schemas: the proto3 JSON mapping as the gateway renders it ----------------------
  // WellKnown is the inline schema of a well-known type, or null for other messages.
  static std::optional<Json> WellKnown(const Descriptor* d) {
    const std::string& n = d->full_name();
    Json j;
    if (n == "google.protobuf.Timestamp") {
      j["type"] = "string";
      j["format"] = "date-time";
      j["description"] = "RFC 3339 time, e.g. 2026-11-05T01:15:30Z or 2026-11-05T08:15:30+07:00";
    } else if (n == "google.protobuf.Duration") {
      j["type"] = "string";
      j["pattern"] = "^-?[0-9]+(\\.[0-9]{1,9})?s$";
      j["description"] = "A duration in seconds with the suffix \"s\", e.g. \"1.5s\"";
    } else if (n == "google.protobuf.FieldMask") {
      j["type"] = "string";
      j["description"] = "Field paths, comma-separated, in lowerCamelCase (e.g. \"name,unitId\")";
    } else if (n == "google.protobuf.Struct") {
      j["type"] = "object";
      j["additionalProperties"] = true;
      j["description"] = "Any JSON object";
    } else if (n == "google.protobuf.Value") {
      j["type"] = Json::Strings({"null", "boolean", "number", "string", "array", "object"});
      j["description"] = "Any JSON value";
    } else if (n == "google.protobuf.ListValue") {
      j["type"] = "array";
      j["items"]["type"] =
          Json::Strings({"null", "boolean", "number", "string", "array", "object"});
    } else if (n == "google.protobuf.Empty") {
      j["type"] = "object";
      j["additionalProperties"] = false;
      j["description"] = "An empty object, {}";
    } else if (n == "google.protobuf.Any") {
      j["type"] = "object";
      j["properties"]["@type"]["type"] = "string";
      j["required"] = Json::Strings({"@type"});
      j["additionalProperties"] = true;
      j["description"] = "A message of the type named by @type, its fields alongside";
    } else if (d->file()->name() == "google/protobuf/wrappers.proto") {
      Json inner = Scalar(d->FindFieldByName("value"));
      Json types = Json::Array();
      types.Push(ScalarType(d->FindFieldByName("value")));
      types.Push("null");
      inner["type"] = std::move(types);
      inner["description"] = absl::StrCat("The wrapped value (", d->name(), "), or null");
      return inner;
    } else {
      return std::nullopt;
    }
    return j;
  }

  static const char* ScalarType(const FieldDescriptor* f) {
    switch (f->type()) {
      case FieldDescriptor::TYPE_DOUBLE:
      case FieldDescriptor::TYPE_FLOAT:
        return "number";
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return "integer";
      case FieldDescriptor::TYPE_BOOL:
        return "boolean";
      default:
        return "string";  // 64-bit integers, strings, bytes
    }
  }

  // Scalar is the schema of a non-message, non-enum field's value.
  static Json Scalar(const FieldDescriptor* f) {
    Json j;
    j["type"] = ScalarType(f);
    switch (f->type()) {
      case FieldDescriptor::TYPE_DOUBLE:
        j["format"] = "double";
        break;
      case FieldDescriptor::TYPE_FLOAT:
        j["format"] = "float";
        break;
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        j["format"] = "int32";
        break;
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        j["format"] = "int64";
        j["minimum"] = 0;
        j["maximum"] = int64_t{4294967295};
        break;
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
        j["format"] = "int64";
        j["pattern"] = "^-?[0-9]+$";
        break;
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        j["format"] = "int64";
        j["pattern"] = "^[0-9]+$";
        break;
      case FieldDescriptor::TYPE_BYTES:
        j["contentEncoding"] = "base64";
        break;
      default:
        break;
    }
    return j;
  }

  // Value is the schema of one value of `f` (an element, for a repeated field).
  Json Value(const FieldDescriptor* f) {
    if (f->type() == FieldDescriptor::TYPE_ENUM) {
      if (f->enum_type()->full_name() == "google.protobuf.NullValue") {
        Json j;
        j["type"] = "null";
        return j;
      }
      return Use(f->enum_type());
    }
    if (f->type() == FieldDescriptor::TYPE_MESSAGE || f->type() == FieldDescriptor::TYPE_GROUP) {
      return Use(f->message_type());
    }
    return Scalar(f);
  }

  // Field is the schema of field `f` of a message, with its description.
  Json Field(const FieldDescriptor* f) {
    Json j;
    if (f->is_map()) {
      j["type"] = "object";
      j["additionalProperties"] = Value(f->message_type()->FindFieldByNumber(2));
      const FieldDescriptor* key = f->message_type()->FindFieldByNumber(1);
      if (key->type() != FieldDescriptor::TYPE_STRING) {
        j["propertyNames"]["pattern"] =
            key->type() == FieldDescriptor::TYPE_BOOL ? "^(true|false)$" : "^-?[0-9]+$";
      }
    } else if (f->is_repeated()) {
      j["type"] = "array";
      j["items"] = Value(f);
    } else {
      j = Value(f);
    }
    std::string description = Comment(f);
    if (const google::protobuf::OneofDescriptor* oneof = f->real_containing_oneof()) {
      std::vector<std::string> names;
      for (int i = 0; i < oneof->field_count(); ++i) names.push_back(oneof->field(i)->name());
      description =
          absl::StrCat(description, description.empty() ? "" : "\n\n", "One of `", oneof->name(),
                       "`: at most one of ", absl::StrJoin(names, ", "), " is set.");
    }
    if (!description.empty()) j["description"] = description;
    return j;
  }

  // Use is a $ref to the component of message or enum `d` (inline for well-known types).
  Json Use(const Descriptor* d) {
    if (std::optional<Json> known = WellKnown(d)) return *std::move(known);
    if (used_messages_.insert(d->full_name()).second) pending_.push_back(d);
    return Ref("schemas", d->full_name());
  }
  Json Use(const EnumDescriptor* e) {
    enums_.emplace(e->full_name(), e);
    return Ref("schemas", e->full_name());
  }

  // MessageSchema is the object schema of `d`, without the top-level fields in `omit`.
  Json MessageSchema(const Descriptor* d, const std::set<std::string>& omit = {}) {
    Json j;
    j["type"] = "object";
    j["title"] = d->name();
    std::string description = Comment(d);
    if (!description.empty()) j["description"] = description;
    Json properties = Json::Object();
    std::map<std::string, std::vector<std::string>> oneofs;
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (omit.count(f->name()) > 0) continue;
      properties[f->name()] = Field(f);
      if (const auto* oneof = f->real_containing_oneof()) {
        oneofs[oneof->name()].push_back(f->name());
      }
    }
    j["properties"] = std::move(properties);
    if (!oneofs.empty()) {
      Json x = Json::Object();
      for (const auto& [name, fields] : oneofs) x[name] = Json::Strings(fields);
      j["x-simpul-oneofs"] = std::move(x);
    }
    return j;
  }

  Json EnumSchema(const EnumDescriptor* e) {
    Json j;
    j["type"] = "string";
    j["title"] = e->name();
    Json names = Json::Array();
    std::vector<std::string> lines;
    for (int i = 0; i < e->value_count(); ++i) {
      const auto* v = e->value(i);
      names.Push(v->name());
      const std::string about = Comment(v);
      lines.push_back(absl::StrCat("- `", v->name(), "`", about.empty() ? "" : ": ", about));
    }
    j["enum"] = std::move(names);
    std::string description = Comment(e);
    j["description"] = absl::StrCat(description, description.empty() ? "" : "\n\n",
                                    "Written by name; input also accepts the number.\n\n",
                                    absl::StrJoin(lines, "\n"));
    return j;
  }

  // --- operations of the REST routes ----------------------------------------------------
  std::vector<std::string> RolesOf(const std::string& full_method) const {
    std::vector<std::string> roles;
    if (options_.policy == nullptr) return roles;
    for (const auto& [name, role] : kRoles) {
      if (options_.policy->Allows(role, full_method)) roles.push_back(name);
    }
    return roles;
  }

  static Json Requirement(std::initializer_list<const char*> schemes) {
    Json j = Json::Object();
    for (const char* s : schemes) j[s] = Json::Array();
    return j;
  }

  Json Security(const std::vector<std::string>& roles, bool writes, bool known) const {
    Json security = Json::Array();
    const bool is_public = std::find(roles.begin(), roles.end(), "public") != roles.end();
    if (is_public || !known) security.Push(Json::Object());  // anonymous
    security.Push(Requirement({"bearerAuth"}));
    security.Push(Requirement({"apiKeyHeader"}));
    security.Push(Requirement({"mutualTLS"}));
    bool officer = !known;
    for (const std::string& r : roles) officer |= kOfficerRoles.count(r) > 0;
    if (officer) {
      security.Push(writes ? Requirement({"officerSession", "csrfToken"})
                           : Requirement({"officerSession"}));
    }
    return security;
  }

  Json Parameter(const std::string& name, const char* in, bool required, Json schema,
                 const std::string& description) {
    Json p;
    p["name"] = name;
    p["in"] = in;
    p["required"] = required;
    if (!description.empty()) p["description"] = description;
    p["schema"] = std::move(schema);
    return p;
  }

  // QueryParameters adds a parameter per field of `d` (under `prefix`) that the query can
  // set: scalars, enums and well-known scalar messages, repeated ones as arrays, singular
  // messages by their fields (dotted names).
  void QueryParameters(const Descriptor* d, const std::string& prefix,
                       const std::set<std::string>& bound, std::vector<const Descriptor*>* stack,
                       Json* parameters) {
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const std::string name = prefix + f->name();
      if (bound.count(name) > 0 || name == "lang" || f->is_map()) continue;
      const bool message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
      if (message && !rest::WellKnownScalarMessage(f->message_type())) {
        if (f->is_repeated() || stack->size() >= 6 ||
            std::find(stack->begin(), stack->end(), f->message_type()) != stack->end()) {
          continue;
        }
        stack->push_back(f->message_type());
        QueryParameters(f->message_type(), name + ".", bound, stack, parameters);
        stack->pop_back();
        continue;
      }
      Json schema;
      if (f->is_repeated()) {
        schema["type"] = "array";
        schema["items"] = Value(f);
      } else {
        schema = Value(f);
      }
      std::string description = Comment(f);
      if (f->is_repeated()) {
        description = Sentences(description, "Repeat the parameter for each value.");
      }
      Json p = Parameter(name, "query", false, std::move(schema), description);
      if (f->is_repeated()) {
        p["style"] = "form";
        p["explode"] = true;
      }
      parameters->Push(std::move(p));
    }
  }

  Json Operation(const Route& route) {
    const google::protobuf::MethodDescriptor* method = route.method;
    const Descriptor* input = method->input_type();
    const std::string service = method->service()->name();
    const std::vector<std::string> roles = RolesOf(route.full_method);
    Json op;
    op["operationId"] = absl::StrCat(service, "_", method->name());
    op["tags"] = Json::Strings({service});
    std::string about = Comment(method);
    op["summary"] = about.empty() ? method->name() : Summary(about);
    std::string roles_text =
        options_.policy == nullptr ? ""
        : roles.empty() ? "Roles: none (the policy lets no caller reach it through the gateway)."
                        : absl::StrCat("Roles: ", absl::StrJoin(roles, ", "), ".");
    std::vector<std::string> parts;
    if (!about.empty()) parts.push_back(about);
    if (!roles_text.empty()) parts.push_back(roles_text);
    parts.push_back(absl::StrCat("gRPC: `", route.full_method, "`."));
    if (route.server_streaming) {
      parts.push_back(
          "A server stream: one JSON object per line (application/x-ndjson), or Server-Sent "
          "Events with `Accept: text/event-stream`; a failure after the first item ends the "
          "stream with an error item. The connection closes after the stream.");
    }
    op["description"] = absl::StrJoin(parts, "\n\n");
    if (options_.policy != nullptr) op["x-simpul-roles"] = Json::Strings(roles);
    op["x-simpul-grpc-method"] = route.full_method;
    if (route.server_streaming) op["x-simpul-server-streaming"] = true;
    const bool writes = route.http_method != "GET";
    op["security"] = Security(roles, writes, options_.policy != nullptr);

    // Parameters: the path variables, then the query, then the headers every route reads.
    Json parameters = Json::Array();
    std::set<std::string> bound;
    for (const Route::Segment& segment : route.segments) {
      if (!segment.variable) continue;
      bound.insert(segment.text);
      absl::StatusOr<std::vector<const FieldDescriptor*>> fields =
          rest::ResolvePath(input, segment.text);
      Json schema;
      std::string description;
      if (fields.ok()) {
        schema = Value(fields->back());
        description = Comment(fields->back());
      } else {
        schema["type"] = "string";
      }
      description = Sentences(
          description, absl::StrCat("Sets `", segment.text, "` of ", input->full_name(), "."));
      parameters.Push(Parameter(segment.text, "path", true, std::move(schema), description));
    }
    if (route.body.empty() || route.body != "*") {
      std::set<std::string> not_query = bound;
      if (!route.body.empty()) not_query.insert(route.body);
      std::vector<const Descriptor*> stack{input};
      QueryParameters(input, "", not_query, &stack, &parameters);
    }
    parameters.Push(Ref("parameters", "Lang"));
    parameters.Push(Ref("parameters", "AcceptLanguage"));
    parameters.Push(Ref("parameters", "GrpcTimeout"));
    parameters.Push(Ref("parameters", "RequestId"));
    op["parameters"] = std::move(parameters);

    // The body.
    if (!route.body.empty()) {
      Json schema;
      std::string description;
      if (route.body == "*") {
        std::set<std::string> top;
        std::vector<std::string> nested;
        for (const std::string& b : bound) {
          if (b.find('.') == std::string::npos) {
            top.insert(b);
          } else {
            nested.push_back(b);
          }
        }
        if (top.empty()) {
          schema = Use(input);
        } else {
          schema = MessageSchema(input, top);
          Use(input);  // its fields' types
        }
        description = absl::StrCat("The ", input->full_name(), " request as JSON");
        if (!top.empty()) {
          absl::StrAppend(&description, ", without ", absl::StrJoin(top, ", "),
                          " (set by the path)");
        }
        if (!nested.empty()) {
          absl::StrAppend(&description, "; set by the path: ", absl::StrJoin(nested, ", "),
                          " (the body may only repeat the same value)");
        }
      } else {
        const FieldDescriptor* f = input->FindFieldByName(route.body);
        schema = Use(f->message_type());
        description =
            absl::StrCat("The `", route.body, "` field of ", input->full_name(), " as JSON");
        std::vector<std::string> nested;
        for (const std::string& b : bound) {
          if (absl::StartsWith(b, route.body + ".")) nested.push_back(b);
        }
        if (!nested.empty()) {
          absl::StrAppend(&description, "; set by the path: ", absl::StrJoin(nested, ", "),
                          " (the body may only repeat the same value)");
        }
      }
      absl::StrAppend(&description,
                      ". Field names: proto names (snake_case) or lowerCamelCase. An empty body "
                      "is {}.");
      Json body;
      body["description"] = description;
      body["required"] = false;
      body["content"]["application/json"]["schema"] = std::move(schema);
      op["requestBody"] = std::move(body);
    }

    // The responses.
    Json responses = Json::Object();
    Json ok;
    const bool created = rest::CreatesResource(route);
    ok["description"] =
        route.server_streaming
            ? absl::StrCat("The stream of ", method->output_type()->full_name(), " items")
            : absl::StrCat(created ? "Created: " : "", "the ", method->output_type()->full_name(),
                           " response");
    ok["headers"]["x-request-id"] = Ref("headers", "RequestId");
    if (route.server_streaming && input->FindFieldByName("cursor") != nullptr) {
      // A resumable watch: its backend sends the cursor it starts after as initial metadata,
      // which the gateway passes on as a header.
      ok["headers"]["x-simpul-cursor"]["description"] =
          "The cursor the watch starts after (pass it as `cursor` to resume from here)";
      ok["headers"]["x-simpul-cursor"]["schema"]["type"] = "string";
    }
    if (route.server_streaming) {
      Json line;
      Json one_of = Json::Array();
      one_of.Push(Use(method->output_type()));
      one_of.Push(Ref("schemas", "StreamError"));
      line["oneOf"] = std::move(one_of);
      line["description"] =
          "Each line is one JSON object: an item, or (last, on failure) {\"error\": {...}}";
      ok["content"]["application/x-ndjson"]["schema"] = std::move(line);
      ok["content"]["application/x-ndjson"]["x-simpul-item"] = Use(method->output_type());
      Json sse;
      sse["type"] = "string";
      sse["description"] =
          absl::StrCat("Server-Sent Events: \"data: <item JSON>\" and a blank line per item (a ",
                       method->output_type()->full_name(),
                       "); on failure, a last event \"event: error\" whose data is the error body "
                       "(#/components/schemas/Error)");
      ok["content"]["text/event-stream"]["schema"] = std::move(sse);
      ok["content"]["text/event-stream"]["x-simpul-item"] = Use(method->output_type());
    } else {
      ok["content"]["application/json"]["schema"] = Use(method->output_type());
    }
    responses[created ? "201" : "200"] = std::move(ok);
    responses["400"] = Ref("responses", "BadRequest");
    responses["401"] = Ref("responses", "Unauthorized");
    responses["403"] = Ref("responses", "Forbidden");
    if (!bound.empty() || absl::StartsWith(method->name(), "Get") || writes) {
      responses["404"] = Ref("responses", "NotFound");
    }
    if (writes) responses["409"] = Ref("responses", "Conflict");
    if (!route.body.empty()) {
      responses["413"] = Ref("responses", "PayloadTooLarge");
      responses["415"] = Ref("responses", "UnsupportedMediaType");
    }
    responses["429"] = Ref("responses", "TooManyRequests");
    responses["503"] = Ref("responses", "Unavailable");
    responses["504"] = Ref("responses", "DeadlineExceeded");
    responses["default"] = Ref("responses", "Error");
    op["responses"] = std::move(responses);
    return op;
  }

  // --- the officer session ----------------------------------------------------------------
  void SessionPaths(Json& paths, Json& tags) {
    Json t;
    t["name"] = "Session";
    t["description"] =
        "The officer console's sign-in: an agency officer trades an API key for a session "
        "cookie (simpul_session; HttpOnly, SameSite=Strict, Secure over TLS). Any /v1 call "
        "with the cookie and no Authorization or x-api-key header then acts as that key (same "
        "policy, rate limits and audit); calls other than GET and HEAD must carry the session's "
        "CSRF token in X-CSRF-Token. Sessions end after 30 minutes idle, 8 hours at most, or "
        "when the key is revoked.";
    tags.Push(std::move(t));
    Json& item = paths["/web/session"];
    auto base = [&](const char* id, const char* summary, const char* description) {
      Json op;
      op["operationId"] = id;
      op["tags"] = Json::Strings({"Session"});
      op["summary"] = summary;
      op["description"] = description;
      op["x-simpul-roles"] = Json::Strings({"agency_admin", "agency_operator", "platform_admin"});
      op["parameters"] = Json::Array();
      op["parameters"].Push(Ref("parameters", "Lang"));
      op["parameters"].Push(Ref("parameters", "AcceptLanguage"));
      return op;
    };
    {
      Json op = base("Session_SignIn", "Sign in to the officer console with an API key",
                     "Roles that may sign in: agency_admin, agency_operator, platform_admin; "
                     "others get 403 (the console is for agency officers).");
      op["security"] = Json::Array();
      op["security"].Push(Json::Object());
      Json body;
      body["required"] = true;
      body["content"]["application/json"]["schema"] = Ref("schemas", "SessionSignIn");
      op["requestBody"] = std::move(body);
      Json created;
      created["description"] = "Signed in: the session, and its cookie";
      created["headers"]["Set-Cookie"]["description"] =
          "simpul_session=<random>; Path=/; HttpOnly; SameSite=Strict; Secure (over TLS)";
      created["headers"]["Set-Cookie"]["schema"]["type"] = "string";
      created["headers"]["x-request-id"] = Ref("headers", "RequestId");
      created["content"]["application/json"]["schema"] = Ref("schemas", "Session");
      op["responses"]["201"] = std::move(created);
      op["responses"]["400"] = Ref("responses", "BadRequest");
      op["responses"]["401"] = Ref("responses", "Unauthorized");
      op["responses"]["403"] = Ref("responses", "Forbidden");
      op["responses"]["429"] = Ref("responses", "TooManyRequests");
      op["responses"]["default"] = Ref("responses", "Error");
      item["post"] = std::move(op);
    }
    {
      Json op = base("Session_GetSession", "The signed-in officer's session",
                     "A fresh read of the session (the same CSRF token); 401 when not signed "
                     "in or expired.");
      op["security"] = Json::Array();
      op["security"].Push(Requirement({"officerSession"}));
      Json ok;
      ok["description"] = "The session";
      ok["headers"]["x-request-id"] = Ref("headers", "RequestId");
      ok["content"]["application/json"]["schema"] = Ref("schemas", "Session");
      op["responses"]["200"] = std::move(ok);
      op["responses"]["401"] = Ref("responses", "Unauthorized");
      op["responses"]["default"] = Ref("responses", "Error");
      item["get"] = std::move(op);
    }
    {
      Json op = base("Session_SignOut", "Sign out", "Ends the session and clears its cookie.");
      op["security"] = Json::Array();
      op["security"].Push(Requirement({"officerSession", "csrfToken"}));
      Json done;
      done["description"] = "Signed out; the cookie is cleared";
      done["headers"]["Set-Cookie"]["description"] = "simpul_session cleared (Max-Age=0)";
      done["headers"]["Set-Cookie"]["schema"]["type"] = "string";
      op["responses"]["204"] = std::move(done);
      op["responses"]["401"] = Ref("responses", "Unauthorized");
      op["responses"]["403"] = Ref("responses", "Forbidden");
      op["responses"]["default"] = Ref("responses", "Error");
      item["delete"] = std::move(op);
    }
  }

  // --- Open311 GeoReport v2 ---------------------------------------------------------------
  static Json StringSchema() {
    Json j;
    j["type"] = "string";
    return j;
  }

  Json Open311Op(const char* id, const char* summary, const std::string& description,
                 const std::vector<Json>& parameters, const char* item_schema, bool list,
                 const char* xml_root) {
    Json op;
    op["operationId"] = id;
    op["tags"] = Json::Strings({"Open311"});
    op["summary"] = summary;
    op["description"] = description;
    op["security"] = Json::Array();
    op["security"].Push(Json::Object());
    op["security"].Push(Requirement({"open311ApiKey"}));
    op["security"].Push(Requirement({"bearerAuth"}));
    op["security"].Push(Requirement({"apiKeyHeader"}));
    op["security"].Push(Requirement({"mutualTLS"}));
    Json ps = Json::Array();
    for (const Json& p : parameters) ps.Push(p);
    ps.Push(Ref("parameters", "Lang"));
    ps.Push(Ref("parameters", "AcceptLanguage"));
    op["parameters"] = std::move(ps);
    Json ok;
    ok["description"] = "The answer, in the format of the path's extension";
    ok["headers"]["x-request-id"] = Ref("headers", "RequestId");
    Json schema;
    if (list) {
      schema["type"] = "array";
      schema["items"] = Ref("schemas", item_schema);
    } else {
      schema = Ref("schemas", item_schema);
    }
    ok["content"]["application/json"]["schema"] = std::move(schema);
    Json xml = StringSchema();
    xml["description"] = absl::StrCat("XML; root element <", xml_root, ">");
    ok["content"]["text/xml"]["schema"] = std::move(xml);
    op["responses"]["200"] = std::move(ok);
    for (const char* code : {"400", "401", "403", "404", "429", "503"}) {
      op["responses"][code] = Ref("responses", "Open311Error");
    }
    op["responses"]["default"] = Ref("responses", "Open311Error");
    return op;
  }

  void Open311Paths(Json& paths, Json& tags) {
    Json t;
    t["name"] = "Open311";
    t["description"] =
        "Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): every resource as .json "
        "(application/json) or .xml (text/xml), errors included (an array of {code, "
        "description}, one per bad field). Reads take whatever credentials come (Authorization, "
        "x-api-key, a client certificate or the api_key parameter), anonymous otherwise; every "
        "call passes the same gate as the REST API. jurisdiction_id, where given, is an agency "
        "id.";
    tags.Push(std::move(t));
    auto query = [&](const char* name, const std::string& description, bool required = false) {
      return Parameter(name, "query", required, StringSchema(), description);
    };
    Json format;
    format["type"] = "string";
    format["enum"] = Json::Strings({"json", "xml"});
    const Json format_param =
        Parameter("format", "path", true, format, "The answer's format: json or xml");
    const Json api_key = query("api_key", "An API key (else the headers' credentials, if any)");
    const Json jurisdiction =
        query("jurisdiction_id", "An agency id: only its services and requests");
    const std::vector<Json> list_filters = {
        query("service_code", "Service codes, comma-separated"),
        query("start_date", "RFC 3339 with a zone; inclusive; default: 90 days before end_date"),
        query("end_date", "RFC 3339 with a zone; inclusive; default: now"),
        query("status", "open, closed, or both comma-separated"),
        query("lat", "Latitude of the center (with long and radius)"),
        query("long", "Longitude of the center"),
        query("radius", "Metres around lat/long"),
        query("bbox", "minlong,minlat,maxlong,maxlat in decimal degrees"),
        query("page_token", "Continue a list (X-Simpul-Next-Page-Token)"),
        jurisdiction,
        api_key};
    const char* list_about =
        "At most 1000 requests per answer, oldest first per service code; when the page "
        "budget runs out first the answer holds what was found and the header "
        "X-Simpul-Next-Page-Token, which page_token continues from.";

    for (const char* prefix : {"/open311/discovery", "/open311/v2/discovery"}) {
      const bool v2 = absl::StrContains(prefix, "/v2/");
      paths[absl::StrCat(prefix, ".{format}")]["get"] =
          Open311Op(v2 ? "Open311_GetDiscoveryV2" : "Open311_GetDiscovery",
                    "The discovery document", "Where the GeoReport v2 endpoint is, its formats.",
                    {format_param}, "Open311.Discovery", false, "discovery");
    }
    paths["/open311/v2/services.{format}"]["get"] =
        Open311Op("Open311_ListServices", "Services that take requests",
                  "The services with an adopted standard (Registry ListServices).",
                  {format_param, jurisdiction, api_key}, "Open311.Service", true, "services");
    paths["/open311/v2/services/{service_code}.{format}"]["get"] =
        Open311Op("Open311_GetServiceDefinition", "One service's definition (its attributes)",
                  "404 when the service has no adopted standard.",
                  {Parameter("service_code", "path", true, StringSchema(), "The service's code"),
                   format_param, jurisdiction, api_key},
                  "Open311.ServiceDefinition", false, "service_definition");
    {
      std::vector<Json> ps = list_filters;
      ps.insert(ps.begin(), format_param);
      ps.insert(ps.begin() + 1,
                query("service_request_id",
                      "Tracking codes, comma-separated (at most 100); unknown ones are left out; "
                      "the other filters are then ignored"));
      Json op =
          Open311Op("Open311_ListRequests", "Service requests",
                    absl::StrCat("The publicly listed cases (and a channel's own). ", list_about),
                    ps, "Open311.Request", true, "service_requests");
      op["responses"]["200"]["headers"]["X-Simpul-Next-Page-Token"]["description"] =
          "Present when the list was cut by the page budget: pass it as page_token";
      op["responses"]["200"]["headers"]["X-Simpul-Next-Page-Token"]["schema"]["type"] = "string";
      paths["/open311/v2/requests.{format}"]["get"] = std::move(op);
    }
    {
      Json op = Open311Op(
          "Open311_CreateRequest", "File a service request (a complaint)",
          "FileComplaint with the key's principal; the channel is partner_system unless "
          "attribute[channel] names another. api_key is required. The answer (200, as Open311 "
          "clients expect) holds the tracking code and, in service_notice, the secret.",
          {format_param}, "Open311.RequestCreated", true, "service_requests");
      op["security"] = Json::Array();
      op["security"].Push(Requirement({"open311ApiKey"}));
      Json form;
      form["type"] = "object";
      form["required"] = Json::Strings({"api_key", "service_code", "description"});
      auto prop = [&](const char* name, const char* description) {
        Json p = StringSchema();
        p["description"] = description;
        form["properties"][name] = std::move(p);
      };
      prop("api_key", "The channel's API key");
      prop("service_code", "A service_code from services.json");
      prop("description", "What went wrong");
      prop("lat", "Latitude, -90..90 (with long)");
      prop("long", "Longitude, -180..180 (with lat)");
      prop("address_string", "The address");
      prop("first_name", "The complainant's first name");
      prop("last_name", "The complainant's last name");
      prop("email", "The complainant's email");
      prop("phone", "The complainant's phone");
      prop("media_url", "A URL of a photo");
      prop("attribute[channel]",
           "web, sms, mobile_app, social_media, email, phone, walk_in, complaint_box or "
           "partner_system");
      prop("attribute[idempotency_key]", "Makes a retried filing return the first one");
      form["additionalProperties"]["type"] = "string";
      form["additionalProperties"]["description"] =
          "attribute[<code>] for the service's attributes (attribute[<code>][] once per value "
          "of a multivaluelist)";
      op["requestBody"]["required"] = true;
      op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"] = std::move(form);
      op["responses"]["415"] = Ref("responses", "Open311Error");
      paths["/open311/v2/requests.{format}"]["post"] = std::move(op);
    }
    const Json request_id = Parameter("service_request_id", "path", true, StringSchema(),
                                      "The request's tracking code, e.g. 7KQ2M-XW9DT");
    paths["/open311/v2/requests/{service_request_id}.{format}"]["get"] = Open311Op(
        "Open311_GetRequest", "One service request",
        "An array of one; a case not publicly listed shows the public only its status. 404 when "
        "no request has the id.",
        {request_id, format_param, api_key}, "Open311.Request", true, "service_requests");
    paths["/open311/v2/requests/{service_request_id}/updates.{format}"]["get"] =
        Open311Op("Open311_ListRequestUpdates", "A request's updates",
                  "Every change of status for those who may read its history (the handling agency, "
                  "coordinators), its current status otherwise.",
                  {request_id, format_param, api_key}, "Open311.RequestUpdate", true,
                  "service_request_updates");
    {
      std::vector<Json> ps = list_filters;
      ps.insert(ps.begin(), format_param);
      Json op = Open311Op("Open311_ListServiceRequestUpdates", "Latest updates",
                          absl::StrCat("The latest update of each case listed as by GET "
                                       "requests whose last change is within "
                                       "start_date..end_date (whenever filed). ",
                                       list_about),
                          ps, "Open311.RequestUpdate", true, "service_request_updates");
      op["responses"]["200"]["headers"]["X-Simpul-Next-Page-Token"]["description"] =
          "Present when the list was cut by the page budget: pass it as page_token";
      op["responses"]["200"]["headers"]["X-Simpul-Next-Page-Token"]["schema"]["type"] = "string";
      paths["/open311/v2/servicerequestupdates.{format}"]["get"] = std::move(op);
    }
    {
      Json op = Open311Op(
          "Open311_GetMedia", "An attachment's bytes",
          "GetAttachment with the call's credentials: the public gets the images the agency "
          "published. Served with its sniffed Content-Type and X-Content-Type-Options: nosniff; "
          "a PDF with Content-Disposition: attachment. A request's media_url points here.",
          {request_id,
           Parameter("attachment_id", "path", true, StringSchema(), "The attachment's id"),
           api_key},
          "Open311.Error", false, "");
      Json ok;
      ok["description"] = "The attachment";
      ok["headers"]["x-request-id"] = Ref("headers", "RequestId");
      Json binary;
      binary["type"] = "string";
      binary["contentMediaType"] = "application/octet-stream";
      ok["content"]["image/*"]["schema"] = binary;
      ok["content"]["application/pdf"]["schema"] = binary;
      op["responses"]["200"] = std::move(ok);
      paths["/open311/v2/media/{service_request_id}/{attachment_id}"]["get"] = std::move(op);
    }
  }

  // --- info and components ----------------------------------------------------------------
  void Info(Json& info) {
    info["title"] = "Simpul API";
    info["version"] = options_.version;
    info["description"] =
        "The REST/JSON and Open311 fronts of the Simpul gateway: public service standards "
        "(registry), complaints, monitoring figures and the calendar.\n\n"
        "**JSON**: the proto3 JSON mapping with the proto field names (snake_case); 64-bit "
        "integers are strings, enums their names, times RFC 3339; fields at their default "
        "value are left out of answers. Input also accepts lowerCamelCase names.\n\n"
        "**Requests**: path variables set the fields they name; a JSON body (Content-Type: "
        "application/json) sets the rest, or the query string does (nested fields as dotted "
        "names, repeated fields by repeating the parameter). An unknown parameter or field is "
        "400 naming it.\n\n"
        "**Credentials**: an API key as `Authorization: Bearer <key>` or `x-api-key`, a TLS "
        "client certificate, or (officers, in the browser) the session cookie of /web/session. "
        "Public operations need none.\n\n"
        "**Errors**: a JSON body with the HTTP status, the gRPC status name, a message in the "
        "caller's language (`lang` or Accept-Language), field violations and the request id "
        "(#/components/schemas/Error). 429 and 503 carry Retry-After.\n\n"
        "**Streams**: NDJSON (application/x-ndjson), or Server-Sent Events with `Accept: "
        "text/event-stream`.";
    info["contact"]["name"] = "The operator of this Simpul gateway";
  }

  static Json ErrorResponse(const std::string& description, bool retry_after) {
    Json r;
    r["description"] = description;
    r["headers"]["x-request-id"] = Ref("headers", "RequestId");
    if (retry_after) r["headers"]["Retry-After"] = Ref("headers", "RetryAfter");
    r["content"]["application/json"]["schema"] = Ref("schemas", "Error");
    return r;
  }

  void Components(Json& components) {
    Json& schemas = components["schemas"] = Json::Object();
    // The messages in use, and those their fields use, until none is left.
    std::map<std::string, Json> messages;
    while (!pending_.empty()) {
      const Descriptor* d = pending_.front();
      pending_.erase(pending_.begin());
      messages[d->full_name()] = MessageSchema(d);
    }
    for (auto& [name, schema] : messages) schemas[name] = std::move(schema);
    for (const auto& [name, e] : enums_) schemas[name] = EnumSchema(e);
    CommonSchemas(schemas);

    Json& responses = components["responses"] = Json::Object();
    responses["BadRequest"] = ErrorResponse(
        "INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE: field_violations name the bad "
        "fields; nothing was changed",
        false);
    responses["Unauthorized"] =
        ErrorResponse("UNAUTHENTICATED: missing, unknown, expired or revoked credentials", false);
    responses["Forbidden"] = ErrorResponse(
        "PERMISSION_DENIED: the caller's role may not call this (policy), the resource is "
        "another agency's, or a session call lacks X-CSRF-Token",
        false);
    responses["NotFound"] = ErrorResponse("NOT_FOUND: no such resource (or no such route)", false);
    responses["Conflict"] =
        ErrorResponse("ALREADY_EXISTS or ABORTED: a conflicting write; read and retry", false);
    responses["PayloadTooLarge"] = ErrorResponse("The body is larger than the limit", false);
    responses["UnsupportedMediaType"] =
        ErrorResponse("A body that is not Content-Type: application/json", false);
    responses["TooManyRequests"] =
        ErrorResponse("RESOURCE_EXHAUSTED: rate limited; retry after Retry-After seconds", true);
    responses["Unavailable"] =
        ErrorResponse("UNAVAILABLE: a backend is down or the gateway is overloaded; retry", true);
    responses["DeadlineExceeded"] = ErrorResponse("DEADLINE_EXCEEDED: the deadline passed", false);
    responses["Error"] = ErrorResponse("Any other error, in the same body", false);
    Json open311_error;
    open311_error["description"] = "An Open311 error: one item per bad field";
    open311_error["headers"]["x-request-id"] = Ref("headers", "RequestId");
    open311_error["content"]["application/json"]["schema"]["type"] = "array";
    open311_error["content"]["application/json"]["schema"]["items"] =
        Ref("schemas", "Open311.Error");
    open311_error["content"]["text/xml"]["schema"]["type"] = "string";
    open311_error["content"]["text/xml"]["schema"]["description"] = "XML; root element <errors>";
    responses["Open311Error"] = std::move(open311_error);

    Json& parameters = components["parameters"] = Json::Object();
    Json lang;
    lang["type"] = "string";
    lang["enum"] = Json::Strings({"id", "en"});
    parameters["Lang"] =
        Parameter("lang", "query", false, lang,
                  "The language of messages and texts: id (Bahasa Indonesia) or en; wins over "
                  "Accept-Language. Default: Indonesian, or English for calls with credentials.");
    Json accept_language = StringSchema();
    accept_language["examples"] = Json::Strings({"id", "en-US,en;q=0.8"});
    parameters["AcceptLanguage"] = Parameter("Accept-Language", "header", false, accept_language,
                                             "The preferred language when `lang` is not given");
    Json timeout = StringSchema();
    timeout["pattern"] = "^[0-9]{1,8}[HMSmun]$";
    timeout["examples"] = Json::Strings({"5S", "500m"});
    parameters["GrpcTimeout"] = Parameter(
        "grpc-timeout", "header", false, timeout,
        "The call's deadline in gRPC's syntax (digits and a unit: H, M, S, m, u, n), capped by "
        "the gateway's maximum; default: the gateway's (longer for streams)");
    Json request_id = StringSchema();
    request_id["maxLength"] = 128;
    parameters["RequestId"] =
        Parameter("x-request-id", "header", false, request_id,
                  "The caller's request id, echoed when well-formed (else one is made)");

    Json& headers = components["headers"] = Json::Object();
    headers["RequestId"]["description"] = "The request id (the caller's, or made by the gateway)";
    headers["RequestId"]["schema"]["type"] = "string";
    headers["RetryAfter"]["description"] = "Seconds to wait before retrying";
    headers["RetryAfter"]["schema"]["type"] = "integer";

    Json& security = components["securitySchemes"] = Json::Object();
    security["bearerAuth"]["type"] = "http";
    security["bearerAuth"]["scheme"] = "bearer";
    security["bearerAuth"]["description"] = "An API key: `Authorization: Bearer <key>`";
    security["apiKeyHeader"]["type"] = "apiKey";
    security["apiKeyHeader"]["in"] = "header";
    security["apiKeyHeader"]["name"] = "x-api-key";
    security["apiKeyHeader"]["description"] = "An API key in the x-api-key header";
    security["mutualTLS"]["type"] = "mutualTLS";
    security["mutualTLS"]["description"] =
        "A TLS client certificate registered with the gateway (client_certificates)";
    security["officerSession"]["type"] = "apiKey";
    security["officerSession"]["in"] = "cookie";
    security["officerSession"]["name"] = "simpul_session";
    security["officerSession"]["description"] =
        "The officer console's session cookie (POST /web/session); acts as the signed-in key "
        "when no Authorization or x-api-key header is sent";
    security["csrfToken"]["type"] = "apiKey";
    security["csrfToken"]["in"] = "header";
    security["csrfToken"]["name"] = "X-CSRF-Token";
    security["csrfToken"]["description"] =
        "The session's csrf_token: required with the session cookie on every call other than "
        "GET and HEAD (else 403 naming the header)";
    security["open311ApiKey"]["type"] = "apiKey";
    security["open311ApiKey"]["in"] = "query";
    security["open311ApiKey"]["name"] = "api_key";
    security["open311ApiKey"]["description"] =
        "Open311's api_key parameter (in the form body for POST requests)";
  }

  static Json Prop(const char* type, const char* description) {
    Json j;
    j["type"] = type;
    j["description"] = description;
    return j;
  }

  void CommonSchemas(Json& schemas) {
    Json& error = schemas["Error"];
    error["type"] = "object";
    error["title"] = "Error";
    error["description"] = "The body of every error of the REST front and of the officer session";
    error["required"] = Json::Strings({"code", "status", "message", "request_id"});
    error["properties"]["code"] = Prop("integer", "The HTTP status");
    Json status = Prop("string", "The gRPC status code's name");
    status["enum"] =
        Json::Strings({"CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                       "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                       "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                       "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"});
    error["properties"]["status"] = std::move(status);
    error["properties"]["message"] = Prop("string", "What went wrong, in the caller's language");
    Json violations = Prop("array", "The bad fields (at most 20, then one item counting the rest)");
    violations["items"] = Ref("schemas", "FieldViolation");
    error["properties"]["field_violations"] = std::move(violations);
    error["properties"]["request_id"] = Prop("string", "The request's id (x-request-id)");

    Json& violation = schemas["FieldViolation"];
    violation["type"] = "object";
    violation["title"] = "FieldViolation";
    violation["required"] = Json::Strings({"field", "description"});
    violation["properties"]["field"] =
        Prop("string", "The field's path (proto names, e.g. location.latitude)");
    violation["properties"]["description"] = Prop("string", "Why it is refused");

    Json& stream_error = schemas["StreamError"];
    stream_error["type"] = "object";
    stream_error["title"] = "StreamError";
    stream_error["description"] = "The last line of an NDJSON stream that failed";
    stream_error["required"] = Json::Strings({"error"});
    stream_error["properties"]["error"] = Ref("schemas", "Error");

    Json& sign_in = schemas["SessionSignIn"];
    sign_in["type"] = "object";
    sign_in["title"] = "SessionSignIn";
    sign_in["required"] = Json::Strings({"api_key"});
    sign_in["properties"]["api_key"] = Prop("string", "The officer's API key");

    Json& session = schemas["Session"];
    session["type"] = "object";
    session["title"] = "Session";
    session["required"] = Json::Strings({"principal", "csrf_token", "expire_time"});
    Json& principal = session["properties"]["principal"];
    principal["type"] = "object";
    principal["properties"]["subject"] = Prop("string", "The key's subject, e.g. key:k…");
    principal["properties"]["role"] = Ref("schemas", "simpul.common.v1.Role");
    principal["properties"]["agency_id"] = Prop("string", "The officer's agency (if any)");
    session["properties"]["csrf_token"] =
        Prop("string", "Send as X-CSRF-Token on calls other than GET and HEAD");
    Json expire = Prop("string", "When the session ends at the latest");
    expire["format"] = "date-time";
    session["properties"]["expire_time"] = std::move(expire);
    if (!schemas.Has("simpul.common.v1.Role")) {
      schemas["simpul.common.v1.Role"] = EnumSchema(common::v1::Role_descriptor());
    }

    // Open311 (gateway/open311.cc).
    auto object = [&](const char* name, const char* description,
                      std::vector<std::pair<const char*, Json>> properties) {
      Json& o = schemas[name];
      o["type"] = "object";
      o["title"] = name;
      o["description"] = description;
      for (auto& [k, v] : properties) o["properties"][k] = std::move(v);
    };
    auto s = [](const char* description) { return Prop("string", description); };
    Json open_closed = s("open or closed");
    open_closed["enum"] = Json::Strings({"open", "closed"});
    object("Open311.Error", "One Open311 error",
           {{"code", Prop("integer", "The HTTP status")},
            {"description", s("What went wrong (field name first)")}});
    object("Open311.Service", "A service that takes requests",
           {{"service_code", s("The service's id")},
            {"service_name", s("Its name")},
            {"description", s("Its description")},
            {"metadata", Prop("boolean", "Whether it has attributes (services/{code})")},
            {"type", s("Always realtime")},
            {"keywords", s("The agency id")},
            {"group", s("The unit id")}});
    Json value_list = Prop("array", "The values of a list attribute");
    value_list["items"]["type"] = "object";
    value_list["items"]["properties"]["key"] = s("The value's key");
    value_list["items"]["properties"]["name"] = s("Its label");
    Json datatype = s("The attribute's datatype");
    datatype["enum"] = Json::Strings(
        {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"});
    Json attribute;
    attribute["type"] = "object";
    attribute["properties"]["variable"] = Prop("boolean", "Whether the requester sets it");
    attribute["properties"]["code"] = s("Its code (attribute[<code>])");
    attribute["properties"]["datatype"] = std::move(datatype);
    attribute["properties"]["required"] = Prop("boolean", "Whether it is required");
    attribute["properties"]["datatype_description"] = s("How to fill it");
    attribute["properties"]["order"] = Prop("integer", "Its position");
    attribute["properties"]["description"] = s("The question");
    attribute["properties"]["values"] = std::move(value_list);
    Json attributes = Prop("array", "The attributes a request gives");
    attributes["items"] = std::move(attribute);
    object("Open311.ServiceDefinition", "A service's definition",
           {{"service_code", s("The service's id")}, {"attributes", std::move(attributes)}});
    Json lat = Prop("number", "Latitude (when located)");
    Json lon = Prop("number", "Longitude (when located)");
    object("Open311.Request", "A service request (a complaint, in its public view)",
           {{"service_request_id", s("The tracking code")},
            {"status", open_closed},
            {"status_notes", s("The state, in words")},
            {"service_name", s("Empty")},
            {"service_code", s("The service's id")},
            {"description", s("What went wrong")},
            {"agency_responsible", s("The agency id")},
            {"service_notice", s("Empty")},
            {"requested_datetime", s("When filed (RFC 3339)")},
            {"updated_datetime", s("Last change (RFC 3339)")},
            {"expected_datetime", s("The next deadline (RFC 3339), or empty")},
            {"address", s("The address")},
            {"address_id", s("Empty")},
            {"zipcode", s("Empty")},
            {"lat", std::move(lat)},
            {"long", std::move(lon)},
            {"media_url", s("Its first published image, or empty")}});
    object("Open311.RequestCreated", "A filed request",
           {{"service_request_id", s("The tracking code")},
            {"service_notice", s("How to follow it, with the secret (once)")}});
    object("Open311.RequestUpdate", "A change of a request's status",
           {{"update_id", s("<tracking code>/<sequence> or <tracking code>/current")},
            {"service_request_id", s("The tracking code")},
            {"status", open_closed},
            {"updated_datetime", s("When (RFC 3339)")},
            {"description", s("The state, in words")},
            {"media_url", s("Empty")}});
    Json endpoint;
    endpoint["type"] = "object";
    endpoint["properties"]["specification"] = s("http://wiki.open311.org/GeoReport_v2");
    endpoint["properties"]["url"] = s("The endpoint's base URL");
    endpoint["properties"]["changeset"] = s("When it last changed");
    endpoint["properties"]["type"] = s("production");
    endpoint["properties"]["formats"] = Prop("array", "Media types");
    endpoint["properties"]["formats"]["items"]["type"] = "string";
    Json endpoints = Prop("array", "The endpoints");
    endpoints["items"] = std::move(endpoint);
    object("Open311.Discovery", "The discovery document",
           {{"changeset", s("When it last changed")},
            {"contact", s("Who runs it")},
            {"key_service", s("How to get an API key")},
            {"endpoints", std::move(endpoints)}});
  }

  const OpenApiOptions& options_;
  std::set<std::string> used_messages_;
  std::vector<const Descriptor*> pending_;
  std::map<std::string, const EnumDescriptor*> enums_;
};

}  // namespace

std::vector<std::string> RestServices() {
  // The generated pool knows only the files linked in: the route table touches a message of
  // each service package but the webhooks' file (gateway/app.cc links it itself).
  static const void* const kLinked = complaints::v1::Webhook::descriptor();
  (void)kLinked;
  return {std::string(registry::v1::Registry::service_full_name()),
          std::string(complaints::v1::Complaints::service_full_name()),
          std::string(monitoring::v1::Monitoring::service_full_name()),
          std::string(calendar::v1::Calendar::service_full_name()),
          std::string(v1::GatewayAdmin::service_full_name()),
          std::string(complaints::v1::Webhooks::service_full_name())};
}

absl::StatusOr<std::string> OpenApiDocument(const RouteTable& routes,
                                            const OpenApiOptions& options) {
  Writer writer(options);
  return writer.Write(routes);
}

int RunOpenApiTool(const std::vector<std::string>& args) {
  std::string out, descriptor_set, policy_file, version = "1";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* into) {
      if (i + 1 >= args.size()) return false;
      *into = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "--out") {
      ok = value(&out);
    } else if (a == "--descriptor_set") {
      ok = value(&descriptor_set);
    } else if (a == "--policy") {
      ok = value(&policy_file);
    } else if (a == "--version") {
      ok = value(&version);
    } else {
      ok = false;
    }
    if (!ok) {
      std::cerr << "usage: simpul-openapi --out FILE [--descriptor_set FILE] [--policy FILE] "
                   "[--version V]\n(unknown or incomplete argument \""
                << a << "\")\n";
      return 2;
    }
  }
  if (out.empty()) {
    std::cerr << "simpul-openapi: --out FILE is required\n";
    return 2;
  }
  OpenApiOptions options;
  options.version = version;
  google::protobuf::DescriptorPool comments;
  if (!descriptor_set.empty()) {
    std::ifstream in(descriptor_set, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    google::protobuf::FileDescriptorSet set;
    if (!in || !set.ParseFromString(bytes.str())) {
      std::cerr << "simpul-openapi: cannot read the descriptor set " << descriptor_set << "\n";
      return 1;
    }
    for (const auto& file : set.file()) {
      if (comments.BuildFile(file) == nullptr) {
        std::cerr << "simpul-openapi: " << descriptor_set << ": cannot build " << file.name()
                  << "\n";
        return 1;
      }
    }
    options.comments = &comments;
  }
  std::optional<Policy> policy;
  if (!policy_file.empty()) {
    absl::StatusOr<Policy> read = Policy::FromFile(policy_file);
    if (!read.ok()) {
      std::cerr << "simpul-openapi: " << read.status() << "\n";
      return 1;
    }
    policy = *std::move(read);
    options.policy = &*policy;
  }
  absl::StatusOr<RouteTable> routes = RouteTable::FromServices(RestServices());
  if (!routes.ok()) {
    std::cerr << "simpul-openapi: " << routes.status() << "\n";
    return 1;
  }
  absl::StatusOr<std::string> doc = OpenApiDocument(*routes, options);
  if (!doc.ok()) {
    std::cerr << "simpul-openapi: " << doc.status() << "\n";
    return 1;
  }
  const std::string tmp = out + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file << *doc;
    if (!file.flush()) {
      std::cerr << "simpul-openapi: cannot write " << tmp << "\n";
      return 1;
    }
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::cerr << "simpul-openapi: cannot rename " << tmp << " to " << out << "\n";
    return 1;
  }
  return 0;
}

}  // namespace simpul::gateway
