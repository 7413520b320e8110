// RouteTable, the request mapping and RestServer (Boost.Beast).
#include "gateway/rest.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/absl_compat.h"
#include "common/executor.h"
#include "common/grpc_status.h"
#include "common/identity.h"
#include "common/logging.h"
#include "common/status.h"
#include "gateway/open311_front.h"
#include "gateway/proxy.h"
#include "gateway/url.h"
#include "google/protobuf/util/json_util.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/gateway/v1/gateway.pb.h"
#include "simpul/monitoring/v1/monitoring.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

// ---------------------------------------------------------------------------------------------
// Small text helpers.

// JsonQuote renders `s` as a JSON string literal.
std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 15]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

// FieldByName finds a field by its proto name or its JSON (lowerCamelCase) name.
const FieldDescriptor* FieldByName(const Descriptor* d, std::string_view name) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->name() == name || f->json_name() == name) return f;
  }
  return nullptr;
}

// WellKnownStringType: a message type whose JSON form is a string or a number (it may stand
// as a single path or query value).
bool WellKnownScalarMessage(const Descriptor* d) {
  static const std::set<std::string>* const kNames = new std::set<std::string>{
      "google.protobuf.Timestamp",   "google.protobuf.Duration",    "google.protobuf.FieldMask",
      "google.protobuf.StringValue", "google.protobuf.Int32Value",  "google.protobuf.Int64Value",
      "google.protobuf.UInt32Value", "google.protobuf.UInt64Value", "google.protobuf.BoolValue",
      "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.BytesValue"};
  return kNames->count(d->full_name()) > 0;
}

// ResolvePath resolves a dotted field path in `d` (each part a proto or JSON name) to its
// fields; the last may be a scalar, an enum or a well-known scalar message; the others
// singular messages. Returns an explanation on failure.
absl::StatusOr<std::vector<const FieldDescriptor*>> ResolvePath(const Descriptor* d,
                                                                std::string_view path) {
  std::vector<const FieldDescriptor*> fields;
  const std::vector<absl::string_view> parts = absl::StrSplit(AbslView(path), '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* f = FieldByName(d, StdView(parts[i]));
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(d->full_name(), " has no field \"", parts[i], "\""));
    }
    fields.push_back(f);
    const bool last = i + 1 == parts.size();
    if (f->type() == FieldDescriptor::TYPE_MESSAGE || f->type() == FieldDescriptor::TYPE_GROUP) {
      if (last) {
        if (WellKnownScalarMessage(f->message_type())) break;
        return absl::InvalidArgumentError(absl::StrCat(
            "\"", AbslView(path), "\" is a message: name one of its fields, e.g. \"",
            AbslView(path), ".",
            f->message_type()->field_count() > 0 ? f->message_type()->field(0)->name() : "x",
            "\""));
      }
      if (f->is_repeated()) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", parts[i], "\" is a repeated message: not settable here"));
      }
      d = f->message_type();
    } else if (!last) {
      return absl::InvalidArgumentError(absl::StrCat("\"", parts[i], "\" is not a message: \"",
                                                     AbslView(path), "\" names nothing"));
    }
  }
  return fields;
}

// CanonicalPath is the path with proto names ("scope.unit_id").
std::string CanonicalPath(const std::vector<const FieldDescriptor*>& fields) {
  std::vector<std::string> names;
  for (const FieldDescriptor* f : fields) names.push_back(f->name());
  return absl::StrJoin(names, ".");
}

// JsonLiteral renders one textual value for `leaf` in JSON: booleans and numbers bare when
// they look like one (protobuf's parser also takes quoted numbers), everything else quoted.
std::string JsonLiteral(const FieldDescriptor* leaf, const std::string& value) {
  if (leaf->cpp_type() == FieldDescriptor::CPPTYPE_BOOL && (value == "true" || value == "false")) {
    return value;
  }
  return JsonQuote(value);
}

// NestedJson wraps `inner` (a JSON value) in objects for the path `fields`.
std::string NestedJson(const std::vector<const FieldDescriptor*>& fields, std::string inner) {
  for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
    inner = absl::StrCat("{", JsonQuote((*it)->json_name()), ":", inner, "}");
  }
  return inner;
}

std::string ToStd(const google::protobuf::util::Status& s) {
  return std::string(s.message().data(), s.message().size());
}

google::protobuf::util::JsonParseOptions ParseOptions() {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  return options;
}

// ParseError turns a protobuf JSON parse error into a field violation description. The
// parser prefixes the path of the bad value in parentheses when it knows it.
std::pair<std::string, std::string> ParseErrorField(const std::string& error,
                                                    const std::string& prefix) {
  std::string field = prefix;
  std::string description = error;
  if (absl::StartsWith(error, "(")) {
    const size_t close = error.find(')');
    if (close != std::string::npos) {
      std::string path = error.substr(1, close - 1);
      if (!path.empty()) field = prefix.empty() ? path : absl::StrCat(prefix, ".", path);
    }
  }
  return {field, description};
}

// FieldValueText reads a singular string-like field at `fields` from `m` ("" when unset).
std::string FieldValueText(const Message& m, const std::vector<const FieldDescriptor*>& fields) {
  const Message* cur = &m;
  for (size_t i = 0; i + 1 < fields.size(); ++i) {
    if (!cur->GetReflection()->HasField(*cur, fields[i])) return "";
    cur = &cur->GetReflection()->GetMessage(*cur, fields[i]);
  }
  const FieldDescriptor* leaf = fields.back();
  if (leaf->cpp_type() != FieldDescriptor::CPPTYPE_STRING || leaf->is_repeated()) return "";
  return cur->GetReflection()->GetString(*cur, leaf);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RouteTable

absl::StatusOr<RouteTable> RouteTable::FromServices(const std::vector<std::string>& services,
                                                    const google::protobuf::DescriptorPool* pool) {
  // The generated pool only knows the files linked into the binary: touching one message of
  // each service package makes the linker keep them (static libraries drop unused objects).
  static const void* const kLinked[] = {registry::v1::GetAgencyRequest::descriptor(),
                                        complaints::v1::GetComplaintRequest::descriptor(),
                                        monitoring::v1::GetFiguresRequest::descriptor(),
                                        gateway::v1::ListApiKeysRequest::descriptor()};
  (void)kLinked;
  RouteTable table;
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown service ", name));
    }
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      if (!method->options().HasExtension(api::v1::http)) {
        return absl::InvalidArgumentError(
            absl::StrCat(method->full_name(), " has no (simpul.api.v1.http) route"));
      }
      absl::Status added = table.Add(method, method->options().GetExtension(api::v1::http));
      if (!added.ok()) return added;
    }
  }
  return table;
}

absl::Status RouteTable::Add(const MethodDescriptor* method, const api::v1::HttpRule& rule) {
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("route of ", method->full_name(), ": ", AbslView(why)));
  };
  Route route;
  route.method = method;
  route.full_method = absl::StrCat("/", method->service()->full_name(), "/", method->name());
  route.server_streaming = method->server_streaming();
  if (method->client_streaming()) return fail("client-streaming RPCs have no REST route");
  switch (rule.pattern_case()) {
    case api::v1::HttpRule::kGet:
      route.http_method = "GET";
      route.pattern = rule.get();
      break;
    case api::v1::HttpRule::kPut:
      route.http_method = "PUT";
      route.pattern = rule.put();
      break;
    case api::v1::HttpRule::kPost:
      route.http_method = "POST";
      route.pattern = rule.post();
      break;
    case api::v1::HttpRule::kDelete:
      route.http_method = "DELETE";
      route.pattern = rule.delete_();
      break;
    case api::v1::HttpRule::kPatch:
      route.http_method = "PATCH";
      route.pattern = rule.patch();
      break;
    default:
      return fail("no HTTP method");
  }
  std::string_view path = route.pattern;
  if (path.size() < 2 || path.front() != '/') return fail("the path must start with '/'");
  path.remove_prefix(1);
  // The verb: after the last ':' that is outside a variable.
  const size_t last_close = path.rfind('}');
  const size_t colon = path.rfind(':');
  if (colon != std::string_view::npos &&
      (last_close == std::string_view::npos || colon > last_close)) {
    route.verb = std::string(path.substr(colon + 1));
    path = path.substr(0, colon);
    if (route.verb.empty()) return fail("empty verb after ':'");
  }
  const Descriptor* input = method->input_type();
  std::set<std::string> bound;
  for (absl::string_view part : absl::StrSplit(AbslView(path), '/')) {
    Route::Segment segment;
    if (part.empty()) return fail("empty path segment");
    if (absl::StartsWith(part, "{")) {
      if (!absl::EndsWith(part, "}") || part.size() < 3) return fail("bad variable");
      segment.variable = true;
      const std::string_view field(part.data() + 1, part.size() - 2);
      if (field.find('=') != std::string_view::npos || field.find('*') != std::string_view::npos) {
        return fail("only {field} and {a.b} variables are supported");
      }
      absl::StatusOr<std::vector<const FieldDescriptor*>> fields = ResolvePath(input, field);
      if (!fields.ok()) return fail(StdView(fields.status().message()));
      if (fields->back()->is_repeated() ||
          fields->back()->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        return fail(absl::StrCat("{", AbslView(field), "} must name a singular scalar field"));
      }
      segment.text = CanonicalPath(*fields);
      if (!bound.insert(segment.text).second) {
        return fail(absl::StrCat("field ", segment.text, " bound twice"));
      }
    } else {
      if (part.find_first_of("{}:*") != absl::string_view::npos) {
        return fail(absl::StrCat("bad literal segment \"", part, "\""));
      }
      segment.text = std::string(part);
    }
    route.segments.push_back(std::move(segment));
  }
  route.body = rule.body();
  if (!route.body.empty() && route.body != "*") {
    const FieldDescriptor* f = input->FindFieldByName(route.body);
    if (f == nullptr || f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return fail(absl::StrCat("body \"", route.body, "\" must name a singular message field of ",
                               input->full_name()));
    }
  }
  if (route.server_streaming && route.http_method != "GET" && route.http_method != "POST") {
    return fail("server streams are served on GET or POST");
  }
  // Conflicts: same method, verb and segment shape (variables match anything).
  for (const Route& other : routes_) {
    if (other.http_method != route.http_method || other.verb != route.verb ||
        other.segments.size() != route.segments.size()) {
      continue;
    }
    bool same = true;
    for (size_t i = 0; i < route.segments.size() && same; ++i) {
      const Route::Segment& a = route.segments[i];
      const Route::Segment& b = other.segments[i];
      same = a.variable == b.variable && (a.variable || a.text == b.text);
    }
    if (same) {
      return fail(absl::StrCat(route.http_method, " ", route.pattern, " conflicts with ",
                               other.pattern, " of ", other.method->full_name()));
    }
  }
  routes_.push_back(std::move(route));
  return absl::OkStatus();
}

RouteMatch RouteTable::Match(std::string_view http_method, std::string_view path) const {
  RouteMatch result;
  if (path.empty() || path.front() != '/') return result;
  path.remove_prefix(1);
  std::vector<std::string_view> parts;
  for (absl::string_view p : absl::StrSplit(AbslView(path), '/')) parts.push_back(StdView(p));
  // Specificity of a match: literal positions, earlier ones first (a bit per segment).
  std::vector<bool> best_rank;
  for (const Route& route : routes_) {
    if (parts.size() != route.segments.size()) continue;
    std::string_view last = parts.back();
    if (!route.verb.empty()) {
      const std::string suffix = absl::StrCat(":", route.verb);
      if (!absl::EndsWith(AbslView(last), suffix) || last.size() == suffix.size()) continue;
      last.remove_suffix(suffix.size());
    }
    std::vector<std::pair<std::string, std::string>> bindings;
    std::vector<bool> rank;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string_view part = i + 1 == parts.size() ? last : parts[i];
      const Route::Segment& segment = route.segments[i];
      rank.push_back(!segment.variable);
      if (segment.variable) {
        // In the last segment of a route without a verb, a ':' marks a verb of another
        // route: "GET /v1/standards/x:adopt" is not GetStandardVersion of "x:adopt".
        if (route.verb.empty() && i + 1 == parts.size() &&
            part.find(':') != std::string_view::npos) {
          ok = false;
          break;
        }
        std::optional<std::string> value = PercentDecode(part, /*plus_is_space=*/false);
        ok = value.has_value() && !value->empty();
        if (ok) bindings.emplace_back(segment.text, *std::move(value));
      } else {
        ok = part == segment.text;
      }
    }
    if (!ok) continue;
    if (route.http_method != http_method) {
      if (std::find(result.allowed.begin(), result.allowed.end(), route.http_method) ==
          result.allowed.end()) {
        result.allowed.push_back(route.http_method);
      }
      continue;
    }
    if (result.route == nullptr || rank > best_rank) {
      result.route = &route;
      result.bindings = std::move(bindings);
      best_rank = std::move(rank);
    }
  }
  if (result.route != nullptr) {
    result.kind = RouteMatch::Kind::kFound;
    if (std::find(result.allowed.begin(), result.allowed.end(), result.route->http_method) ==
        result.allowed.end()) {
      result.allowed.push_back(result.route->http_method);
    }
  } else if (!result.allowed.empty()) {
    result.kind = RouteMatch::Kind::kMethodNotAllowed;
  }
  std::sort(result.allowed.begin(), result.allowed.end());
  return result;
}

// ---------------------------------------------------------------------------------------------
// Request mapping

absl::Status BuildRequest(const RouteMatch& match, std::string_view query, std::string_view body,
                          Message* request) {
  const Route& route = *match.route;
  const Descriptor* input = request->GetDescriptor();
  std::vector<std::pair<std::string, std::string>> violations;
  auto parse_into = [&](const std::string& json, Message* target) {
    return google::protobuf::util::JsonStringToMessage(json, target, ParseOptions());
  };

  // The body.
  const bool has_body = !absl::StripAsciiWhitespace(AbslView(body)).empty();
  if (!route.body.empty()) {
    const std::string json = has_body ? std::string(body) : "{}";
    Message* target = request;
    std::string prefix;
    if (route.body != "*") {
      const FieldDescriptor* f = input->FindFieldByName(route.body);
      target = request->GetReflection()->MutableMessage(request, f);
      prefix = f->name();
    }
    const google::protobuf::util::Status parsed = parse_into(json, target);
    if (!parsed.ok()) {
      auto [field, description] = ParseErrorField(ToStd(parsed), prefix);
      if (field.empty()) field = "body";
      violations.emplace_back(
          field, absl::StrCat("the JSON body is not a valid ", target->GetDescriptor()->full_name(),
                              ": ", description));
    }
  } else if (has_body) {
    violations.emplace_back("body", absl::StrCat(route.http_method, " ", route.pattern,
                                                 " takes no body; send the fields as query "
                                                 "parameters"));
  }

  // Path variables (after the body, so that they win; a different value in the body is an
  // error rather than silently ignored).
  for (const auto& [path, value] : match.bindings) {
    absl::StatusOr<std::vector<const FieldDescriptor*>> fields = ResolvePath(input, path);
    if (!fields.ok()) {
      violations.emplace_back(path, std::string(fields.status().message()));
      continue;
    }
    const std::string in_body = FieldValueText(*request, *fields);
    if (!in_body.empty() && in_body != value) {
      violations.emplace_back(
          path, absl::StrCat("the path says \"", value, "\" but the body says \"", in_body, "\""));
      continue;
    }
    std::unique_ptr<Message> scratch(request->New());
    const google::protobuf::util::Status parsed =
        parse_into(NestedJson(*fields, JsonLiteral(fields->back(), value)), scratch.get());
    if (!parsed.ok()) {
      violations.emplace_back(path, absl::StrCat("bad value \"", value, "\" in the path: ",
                                                 ParseErrorField(ToStd(parsed), "").second));
      continue;
    }
    request->MergeFrom(*scratch);
  }

  // The query string: every other field.
  std::vector<std::pair<std::string, std::vector<std::string>>> params;  // in order, grouped
  if (!query.empty()) {
    for (absl::string_view pair : absl::StrSplit(AbslView(query), '&', absl::SkipEmpty())) {
      const size_t eq = pair.find('=');
      std::optional<std::string> key =
          PercentDecode(StdView(pair.substr(0, eq)), /*plus_is_space=*/true);
      std::optional<std::string> value =
          eq == absl::string_view::npos
              ? std::optional<std::string>("")
              : PercentDecode(StdView(pair.substr(eq + 1)), /*plus_is_space=*/true);
      if (!key || !value) {
        violations.emplace_back(std::string(pair), "malformed percent-encoding in the query");
        continue;
      }
      auto it = std::find_if(params.begin(), params.end(),
                             [&](const auto& p) { return p.first == *key; });
      if (it == params.end()) {
        params.emplace_back(*key, std::vector<std::string>{*value});
      } else {
        it->second.push_back(*value);
      }
    }
  }
  for (const auto& [name, values] : params) {
    absl::StatusOr<std::vector<const FieldDescriptor*>> fields = ResolvePath(input, name);
    if (!fields.ok()) {
      violations.emplace_back(name,
                              absl::StrCat("unknown query parameter: ", fields.status().message()));
      continue;
    }
    const std::string canonical = CanonicalPath(*fields);
    if (route.body == "*") {
      violations.emplace_back(name, "this route takes every field from the JSON body");
      continue;
    }
    if (!route.body.empty() &&
        (canonical == route.body || absl::StartsWith(canonical, route.body + "."))) {
      violations.emplace_back(name, absl::StrCat("set in the JSON body (", route.body, ")"));
      continue;
    }
    bool in_path = false;
    for (const auto& [path, value] : match.bindings) in_path |= path == canonical;
    if (in_path) {
      violations.emplace_back(name, "already set by the path");
      continue;
    }
    const FieldDescriptor* leaf = fields->back();
    if (!leaf->is_repeated() && values.size() > 1) {
      violations.emplace_back(name, "given more than once for a field that is not repeated");
      continue;
    }
    std::string literal;
    if (leaf->is_repeated()) {
      std::vector<std::string> items;
      for (const std::string& v : values) items.push_back(JsonLiteral(leaf, v));
      literal = absl::StrCat("[", absl::StrJoin(items, ","), "]");
    } else {
      literal = JsonLiteral(leaf, values.front());
    }
    std::unique_ptr<Message> scratch(request->New());
    const google::protobuf::util::Status parsed =
        parse_into(NestedJson(*fields, literal), scratch.get());
    if (!parsed.ok()) {
      violations.emplace_back(
          name, absl::StrCat("bad value \"", absl::StrJoin(values, ","), "\" for ",
                             FieldDescriptor::TypeName(leaf->type()), " field ", canonical,
                             leaf->enum_type() != nullptr
                                 ? absl::StrCat(" (an ", leaf->enum_type()->name(), " name)")
                                 : "",
                             ": ", ParseErrorField(ToStd(parsed), "").second));
      continue;
    }
    request->MergeFrom(*scratch);
  }

  FieldViolations out;
  for (auto& [field, description] : violations) out.Add(field, description);
  return out.ToStatus("request");
}

// ---------------------------------------------------------------------------------------------
// Errors and JSON

int ErrorHttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    default:
      return 500;
  }
}

std::string ErrorJson(const absl::Status& status, int http_status, std::string_view request_id) {
  std::string out =
      absl::StrCat("{\"code\":", http_status,
                   ",\"status\":", JsonQuote(StdView(absl::StatusCodeToString(status.code()))),
                   ",\"message\":", JsonQuote(StdView(status.message())));
  const common::v1::BadRequest bad = BadRequestOf(status);
  if (bad.field_violations_size() > 0) {
    std::vector<std::string> items;
    for (const auto& v : bad.field_violations()) {
      items.push_back(absl::StrCat("{\"field\":", JsonQuote(v.field()),
                                   ",\"description\":", JsonQuote(v.description()), "}"));
    }
    absl::StrAppend(&out, ",\"field_violations\":[", absl::StrJoin(items, ","), "]");
  }
  absl::StrAppend(&out, ",\"request_id\":", JsonQuote(request_id), "}");
  return out;
}

std::string MessageJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

// ---------------------------------------------------------------------------------------------
// RestServer

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

// ParseTimeout reads a grpc-timeout value: up to 8 digits and a unit (H, M, S, m, u, n).
std::optional<absl::Duration> ParseTimeout(std::string_view v) {
  if (v.size() < 2 || v.size() > 9) return std::nullopt;
  int64_t n = 0;
  if (!absl::SimpleAtoi(AbslView(v.substr(0, v.size() - 1)), &n) || n < 0) return std::nullopt;
  switch (v.back()) {
    case 'H':
      return absl::Hours(n);
    case 'M':
      return absl::Minutes(n);
    case 'S':
      return absl::Seconds(n);
    case 'm':
      return absl::Milliseconds(n);
    case 'u':
      return absl::Microseconds(n);
    case 'n':
      return absl::Nanoseconds(n);
    default:
      return std::nullopt;
  }
}

// CreatesResource: a POST that makes a new resource answers 201.
bool CreatesResource(const Route& route) {
  if (route.http_method != "POST") return false;
  const std::string& name = route.method->name();
  return absl::StartsWith(name, "Create") || absl::StartsWith(name, "File") ||
         absl::StartsWith(name, "Issue");
}

std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

// ReturnedHeaders: backend metadata copied to the HTTP response (text headers that are not
// gRPC's own).
void CopyMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                  std::vector<std::pair<std::string, std::string>>* out) {
  for (const auto& [key, value] : metadata) {
    const std::string_view k(key.data(), key.size());
    if (k.empty() || k.front() == ':' || absl::StartsWith(AbslView(k), "grpc-") ||
        absl::EndsWith(AbslView(k), "-bin") || k == "content-type" || k == kRequestIdKey) {
      continue;
    }
    out->emplace_back(std::string(k), std::string(value.data(), value.size()));
  }
}

std::string Chunk(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return absl::StrCat(size, AbslView(data), "\r\n");
}

}  // namespace

class Session;

class RestServer::Impl {
 public:
  Impl(RestOptions options, const RouteTable* routes, GrpcProxy* proxy,
       std::map<std::string, std::shared_ptr<grpc::Channel>> channels)
      : options_(std::move(options)), routes_(routes), proxy_(proxy) {
    for (const auto& [service, channel] : channels) {
      stubs_.emplace(service, std::make_unique<grpc::GenericStub>(channel));
    }
  }

  absl::Status Start(std::atomic<int>* port);
  void Stop();

  grpc::GenericStub* StubFor(std::string_view method) const {
    if (!method.empty() && method.front() == '/') method.remove_prefix(1);
    auto it = stubs_.find(method.substr(0, method.find('/')));
    return it == stubs_.end() ? nullptr : it->second.get();
  }
  // Register records an outgoing call (so that Stop can cancel it and wait for it); false
  // when stopping.
  bool Register(grpc::ClientContext* ctx) {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    calls_.insert(ctx);
    ++outstanding_;
    return true;
  }
  // Unregister: the call is complete (its context may go away).
  void Unregister(grpc::ClientContext* ctx) {
    absl::MutexLock lock(&mu_);
    calls_.erase(ctx);
  }
  // Release: the call's last callback has posted what it had to post.
  void Release() {
    absl::MutexLock lock(&mu_);
    --outstanding_;
  }
  void Forget(Session* session) {
    absl::MutexLock lock(&mu_);
    sessions_.erase(session);
  }
  bool stopping() {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }
  // OriginAllowed: `origin` may call from a browser.
  bool OriginAllowed(std::string_view origin) const {
    if (origin.empty()) return false;
    for (const std::string& o : options_.cors_allowed_origins) {
      if (o == "*" || o == origin) return true;
    }
    return false;
  }

  const RestOptions options_;
  const RouteTable* const routes_;
  GrpcProxy* const proxy_;
  std::map<std::string, std::unique_ptr<grpc::GenericStub>, std::less<>> stubs_;

  // Declared before the io_context: sessions destroyed with it still find them.
  absl::Mutex mu_;
  std::map<Session*, std::weak_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ = false;
  bool stopped_ = false;

  std::unique_ptr<Executor> executor_;  // runs the gate (it may wait for Redis)
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;

 private:
  void DoAccept();
};

// StreamCall is the backend side of one server stream served to an HTTP client.
class StreamCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamCall(RestServer::Impl* server, std::shared_ptr<Session> session, const Route* route)
      : server_(server), session_(std::move(session)), route_(route) {}
  void Start(grpc::GenericStub* stub, const std::string& request_bytes) {
    grpc::Slice slice(request_bytes);
    request_ = grpc::ByteBuffer(&slice, 1);
    stub->PrepareBidiStreamingCall(&ctx_, route_->full_method, grpc::StubOptions(), this);
    // The hold keeps the call from finishing while an item is on its way to the client and
    // no read is started: it is released when reading ends (NextRead(false) or the last read).
    AddHold();
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  // NextRead follows every item handed to the session: read the next one, or stop reading
  // (the client is gone).
  void NextRead(bool more) {
    if (more) {
      StartRead(&response_);
    } else {
      ctx_.TryCancel();
      RemoveHold();
    }
  }
  void Cancel() { ctx_.TryCancel(); }
  grpc::ClientContext* context() { return &ctx_; }

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  RestServer::Impl* const server_;
  std::shared_ptr<Session> session_;  // until OnDone
  const Route* const route_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  // Items must not overtake the headers (the two callbacks may run on different threads).
  absl::Mutex mu_;
  bool metadata_done_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<std::string> pending_item_ ABSL_GUARDED_BY(mu_);
};

// Session is one HTTP connection; every member runs on its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(RestServer::Impl* server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      peer_ = remote.address().is_v6()
                  ? absl::StrCat("ipv6:[", remote.address().to_string(), "]:", remote.port())
                  : absl::StrCat("ipv4:", remote.address().to_string(), ":", remote.port());
    }
  }
  ~Session() { server_->Forget(this); }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }
  // Drain: idle connections close now, streams end now, busy ones after their response.
  void Drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->draining_ = true;
      if (self->state_ == State::kReading) {
        self->Close();
      } else if (self->state_ == State::kStreaming && self->stream_call_) {
        self->stream_call_->Cancel();
      }
    });
  }
  void ForceClose() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
  }

  // From the gate and the backend calls (any thread): post onto the strand.
  void PostError(absl::Status status, std::vector<std::pair<std::string, std::string>> headers) {
    net::post(stream_.get_executor(), [self = shared_from_this(), status = std::move(status),
                                       headers = std::move(headers)]() mutable {
      self->SendError(status, /*close=*/false, std::move(headers));
    });
  }
  void PostResponse(int code, std::string json,
                    std::vector<std::pair<std::string, std::string>> headers) {
    net::post(stream_.get_executor(), [self = shared_from_this(), code, json = std::move(json),
                                       headers = std::move(headers)]() mutable {
      self->SendJson(code, std::move(json), /*close=*/false, std::move(headers));
    });
  }
  void PostStreamHeaders(std::vector<std::pair<std::string, std::string>> headers) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), headers = std::move(headers)]() mutable {
                self->StreamHeaders(std::move(headers));
              });
  }
  void PostStreamItem(std::string json) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), json = std::move(json)] { self->StreamItem(json); });
  }
  void PostStreamDone(absl::Status status,
                      std::vector<std::pair<std::string, std::string>> headers) {
    net::post(stream_.get_executor(), [self = shared_from_this(), status = std::move(status),
                                       headers = std::move(headers)]() mutable {
      self->StreamDone(status, std::move(headers));
    });
  }

  // Gate runs on the executor: admission, the request mapping, then the backend call.
  void Gate(const RouteMatch& match, std::string query, std::string body,
            std::vector<std::pair<std::string, std::string>> credentials, absl::Duration timeout);

 private:
  enum class State { kReading, kBusy, kStreaming, kClosed };
  using Headers = std::vector<std::pair<std::string, std::string>>;

  void DoRead() {
    state_ = State::kReading;
    if (draining_) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_->options_.max_header_bytes));
    stream_.expires_after(absl::ToChronoMilliseconds(server_->options_.read_timeout));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // OnHeader: the header is in (the body limit is already checked against Content-Length);
  // a client that waits for "100 Continue" gets it, then the body is read.
  void OnHeader(beast::error_code ec) {
    if (ec || parser_->is_done()) return OnRead(ec);
    auto read_body = [self = shared_from_this()] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, size_t) { self->OnRead(ec); });
    };
    if (absl::EqualsIgnoreCase(AbslView(Sv(parser_->get()[http::field::expect])), "100-continue")) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                       [self = shared_from_this(), read_body](beast::error_code ec, size_t) {
                         if (ec) return self->OnRead(ec);
                         read_body();
                       });
      return;
    }
    read_body();
  }

  void OnRead(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    stream_.expires_never();
    if (ec) {
      request_id_ = NewRequestId();
      keep_alive_ = false;
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == net::error::operation_aborted || ec == net::error::connection_reset ||
          ec == net::error::eof) {
        return Close();
      }
      state_ = State::kBusy;
      if (ec == http::error::body_limit) {
        return SendHttpError(413, absl::InvalidArgumentError(
                                      absl::StrCat("the body is larger than the limit of ",
                                                   server_->options_.max_body_bytes, " bytes")));
      }
      if (ec == http::error::header_limit) {
        return SendHttpError(431, absl::InvalidArgumentError(absl::StrCat(
                                      "the request headers are larger than the limit of ",
                                      server_->options_.max_header_bytes, " bytes")));
      }
      return SendHttpError(
          400, absl::InvalidArgumentError(absl::StrCat("malformed HTTP request: ", ec.message())));
    }
    state_ = State::kBusy;
    Handle(parser_->release());
  }

  void Handle(http::request<http::string_body> req) {
    const std::string_view given = Sv(req[kRequestIdKey]);
    request_id_ = ValidRequestId(given) ? std::string(given) : NewRequestId();
    origin_ = std::string(Sv(req[http::field::origin]));
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    const std::string_view target = Sv(req.target());
    const size_t q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string query(q == std::string_view::npos ? "" : target.substr(q + 1));
    const std::string_view method = Sv(req.method_string());

    if (method == "OPTIONS") return Preflight(req, path);
    if (server_->options_.open311 != nullptr && Open311Front::Handles(path)) {
      return ServeOpen311(req, method, path, query);
    }
    RouteMatch match = server_->routes_->Match(method, path);
    if (match.kind == RouteMatch::Kind::kNotFound) {
      return SendError(
          absl::NotFoundError(absl::StrCat("no route for ", AbslView(method), " ", AbslView(path))),
          false, {});
    }
    if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
      match.allowed.push_back("OPTIONS");
      return SendHttpError(
          405,
          absl::UnimplementedError(absl::StrCat(AbslView(path), " does not take ", AbslView(method),
                                                "; it takes ", absl::StrJoin(match.allowed, ", "))),
          {{"Allow", absl::StrJoin(match.allowed, ", ")}});
    }
    const Route& route = *match.route;
    if (!absl::StripAsciiWhitespace(AbslView(req.body())).empty()) {
      const std::string content_type =
          absl::AsciiStrToLower(AbslView(Sv(req[http::field::content_type])));
      const absl::string_view media = absl::StripAsciiWhitespace(
          absl::string_view(content_type).substr(0, content_type.find(';')));
      if (media != "application/json") {
        return SendHttpError(
            415, absl::InvalidArgumentError(absl::StrCat(
                     "the body must be JSON with \"Content-Type: application/json\"; got \"",
                     content_type, "\"")));
      }
    }
    absl::Duration timeout = route.server_streaming ? server_->options_.stream_timeout
                                                    : server_->options_.default_timeout;
    if (const std::string_view t = Sv(req["grpc-timeout"]); !t.empty()) {
      std::optional<absl::Duration> parsed = ParseTimeout(t);
      if (!parsed) {
        return SendError(
            InvalidField("grpc-timeout", absl::StrCat("expected digits and a unit (H, M, S, m, u, "
                                                      "n), e.g. \"5S\"; got \"",
                                                      AbslView(t), "\"")),
            false, {});
      }
      timeout = std::min(
          *parsed, route.server_streaming
                       ? std::max(server_->options_.max_timeout, server_->options_.stream_timeout)
                       : server_->options_.max_timeout);
    }
    sse_ = absl::StrContains(AbslView(Sv(req[http::field::accept])), "text/event-stream");
    Headers credentials{{kRequestIdKey, request_id_}};
    for (const char* key : {"authorization", kApiKeyKey}) {
      if (auto it = req.find(key); it != req.end()) {
        credentials.emplace_back(key, std::string(Sv(it->value())));
      }
    }
    std::string body = std::move(req.body());
    auto self = shared_from_this();
    const bool queued =
        server_->executor_->Submit([self, match = std::move(match), query, body = std::move(body),
                                    credentials = std::move(credentials), timeout]() mutable {
          self->Gate(match, std::move(query), std::move(body), std::move(credentials), timeout);
        });
    if (!queued) {
      SendError(absl::UnavailableError("the gateway is overloaded or stopping; retry"), false,
                {{"Retry-After", "1"}});
    }
  }

  // ServeOpen311 hands the request to the Open311 front on the executor (it blocks on the
  // backends) and sends its answer.
  void ServeOpen311(http::request<http::string_body>& req, std::string_view method,
                    std::string_view path, const std::string& query) {
    Open311Call call;
    call.method = std::string(method);
    call.path = std::string(path);
    call.query = query;
    call.content_type = std::string(Sv(req[http::field::content_type]));
    call.body = std::move(req.body());
    for (const char* key : {"authorization", kApiKeyKey}) {
      if (auto it = req.find(key); it != req.end()) {
        call.headers.emplace_back(key, std::string(Sv(it->value())));
      }
    }
    call.peer = peer_;
    call.request_id = request_id_;
    const Open311Front* front = server_->options_.open311;
    const bool queued =
        server_->executor_->Submit([self = shared_from_this(), front, call = std::move(call)] {
          HttpReply reply = front->Serve(call);
          self->PostResponse(reply.status, std::move(reply.body), std::move(reply.headers));
        });
    if (!queued) {
      SendHttpError(503, absl::UnavailableError("the gateway is overloaded or stopping; retry"),
                    {{"Retry-After", "1"}});
    }
  }

  void Preflight(const http::request<http::string_body>& req, std::string_view path) {
    const std::string_view wanted = Sv(req[http::field::access_control_request_method]);
    RouteMatch match = server_->routes_->Match(wanted.empty() ? "OPTIONS" : wanted, path);
    if (match.kind == RouteMatch::Kind::kNotFound && match.allowed.empty()) {
      return SendError(absl::NotFoundError(absl::StrCat("no route for ", AbslView(path))), false,
                       {});
    }
    match.allowed.push_back("OPTIONS");
    const std::string allow = absl::StrJoin(match.allowed, ", ");
    Headers headers{{"Allow", allow}};
    if (!origin_.empty() && !wanted.empty()) {
      if (!server_->OriginAllowed(origin_)) {
        return SendHttpError(403, absl::PermissionDeniedError(absl::StrCat(
                                      "the origin ", origin_, " may not call this API")));
      }
      headers.emplace_back("Access-Control-Allow-Methods", allow);
      headers.emplace_back("Access-Control-Allow-Headers",
                           "authorization, content-type, x-api-key, x-request-id, grpc-timeout");
      headers.emplace_back("Access-Control-Max-Age", "600");
    }
    auto res =
        std::make_shared<http::response<http::string_body>>(http::status::no_content, version_);
    for (auto& [k, v] : headers) res->set(k, v);
    Send(std::move(res), false);
  }

  void Decorate(http::response_header<>& h) {
    h.set(http::field::server, "simpul-gateway");
    h.set(kRequestIdKey, request_id_);
    if (server_->OriginAllowed(origin_)) {
      h.set(http::field::access_control_allow_origin, origin_);
      h.set(http::field::vary, "Origin");
      h.set(http::field::access_control_expose_headers,
            "x-request-id, retry-after, x-simpul-cursor");
    }
  }

  void SendError(const absl::Status& status, bool close, Headers headers) {
    SendHttpError(ErrorHttpStatus(status.code()), status, std::move(headers), close);
  }
  void SendHttpError(int code, const absl::Status& status, Headers headers = {},
                     bool close = false) {
    SendJson(code, ErrorJson(status, code, request_id_),
             close || code == 413 || code == 431 || (code == 400 && !parser_done()),
             std::move(headers));
  }
  // parser_done: the request was read whole (the connection can take another one).
  bool parser_done() const { return !parser_ || parser_->is_done(); }

  void SendJson(int code, std::string json, bool close, Headers headers) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(code),
                                                                   version_ == 0 ? 11 : version_);
    res->set(http::field::content_type, "application/json");
    res->set(http::field::cache_control, "no-store");
    for (auto& [k, v] : headers) res->set(k, v);
    res->body() = std::move(json);
    Send(std::move(res), close);
  }

  void Send(std::shared_ptr<http::response<http::string_body>> res, bool close) {
    if (state_ == State::kClosed) return;
    Decorate(res->base());
    close = close || !keep_alive_ || draining_;
    res->keep_alive(!close);
    res->prepare_payload();
    stream_.expires_after(absl::ToChronoMilliseconds(server_->options_.write_timeout));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
                        self->stream_.expires_never();
                        if (ec || close) return self->Close();
                        self->DoRead();
                      });
  }

  // Streams: headers when the backend's initial metadata (or the first item, or the end)
  // arrives; items as chunks; the connection closes after the last chunk.
  void StartStream(std::shared_ptr<StreamCall> call) {
    state_ = State::kStreaming;
    stream_call_ = std::move(call);
    if (draining_) stream_call_->Cancel();
  }
  void StreamHeaders(Headers headers) {
    if (header_sent_ || state_ == State::kClosed) return;
    header_sent_ = true;
    http::response_header<> h;
    h.result(http::status::ok);
    h.version(11);
    h.set(http::field::content_type, sse_ ? "text/event-stream" : "application/x-ndjson");
    h.set(http::field::cache_control, "no-store");
    h.set(http::field::connection, "close");
    h.set(http::field::transfer_encoding, "chunked");
    for (auto& [k, v] : headers) h.set(k, v);
    Decorate(h);
    std::ostringstream os;
    os << h;
    Enqueue(os.str(), false, false);
    // Watch the connection: a read that ends means the client went away.
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this()](beast::error_code ec) { self->ClientReadable(ec); });
  }
  void ClientReadable(beast::error_code ec) {
    if (state_ != State::kStreaming) return;
    if (!ec) {
      // Readable: data (ignored: the connection closes after the stream) or end of file.
      char scratch[512];
      beast::error_code read_ec;
      const size_t n = stream_.socket().read_some(net::buffer(scratch), read_ec);
      if (!read_ec && n > 0) {
        stream_.socket().async_wait(
            tcp::socket::wait_read,
            [self = shared_from_this()](beast::error_code e) { self->ClientReadable(e); });
        return;
      }
    }
    ClientGone();
  }
  void ClientGone() {
    if (client_gone_) return;
    client_gone_ = true;
    if (stream_call_) stream_call_->Cancel();
  }
  void StreamItem(const std::string& json) {
    if (!header_sent_) StreamHeaders({});
    Enqueue(Chunk(sse_ ? absl::StrCat("data: ", json, "\n\n") : absl::StrCat(json, "\n")),
            /*item=*/true, false);
  }
  void StreamDone(const absl::Status& status, Headers headers) {
    if (!header_sent_) {
      stream_call_.reset();
      state_ = State::kBusy;
      keep_alive_ = false;
      if (!status.ok()) return SendError(status, true, std::move(headers));
      StreamHeaders(std::move(headers));
    }
    if (!status.ok() && !client_gone_) {
      const std::string error = ErrorJson(status, ErrorHttpStatus(status.code()), request_id_);
      Enqueue(Chunk(sse_ ? absl::StrCat("event: error\ndata: ", error, "\n\n")
                         : absl::StrCat("{\"error\":", error, "}\n")),
              false, false);
    }
    Enqueue("0\r\n\r\n", false, /*last=*/true);
  }
  struct Out {
    std::string bytes;
    bool item = false;
    bool last = false;
  };
  void Enqueue(std::string bytes, bool item, bool last) {
    if (client_gone_ || state_ == State::kClosed) {
      if (item && stream_call_) stream_call_->NextRead(false);
      if (last) Finish();
      return;
    }
    out_.push_back(Out{std::move(bytes), item, last});
    if (!writing_) WriteNext();
  }
  void WriteNext() {
    writing_ = true;
    stream_.expires_after(absl::ToChronoMilliseconds(server_->options_.write_timeout));
    net::async_write(stream_, net::buffer(out_.front().bytes),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->stream_.expires_never();
                       self->writing_ = false;
                       Out done = std::move(self->out_.front());
                       self->out_.pop_front();
                       if (ec) {
                         self->ClientGone();
                         bool last = done.last;
                         self->out_.push_front(std::move(done));
                         for (const Out& dropped : self->out_) {
                           if (dropped.item && self->stream_call_) {
                             self->stream_call_->NextRead(false);
                           }
                           last |= dropped.last;
                         }
                         self->out_.clear();
                         if (last) self->Finish();
                         return;
                       }
                       if (done.item && self->stream_call_) {
                         self->stream_call_->NextRead(!self->client_gone_);
                       }
                       if (done.last) return self->Finish();
                       if (!self->out_.empty()) self->WriteNext();
                     });
  }
  void Finish() {
    stream_call_.reset();
    Close();
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    if (stream_call_) stream_call_->Cancel();
  }

  friend class StreamCall;
  RestServer::Impl* const server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_;
  State state_ = State::kReading;
  bool draining_ = false;
  // The current request.
  std::string request_id_;
  std::string origin_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool sse_ = false;
  // The current stream.
  std::shared_ptr<StreamCall> stream_call_;
  bool header_sent_ = false;
  bool client_gone_ = false;
  bool writing_ = false;
  std::deque<Out> out_;
};

void StreamCall::OnReadInitialMetadataDone(bool ok) {
  if (ok) {
    std::vector<std::pair<std::string, std::string>> headers;
    CopyMetadata(ctx_.GetServerInitialMetadata(), &headers);
    session_->PostStreamHeaders(std::move(headers));
  }
  std::optional<std::string> pending;
  {
    absl::MutexLock lock(&mu_);
    metadata_done_ = true;
    pending = std::move(pending_item_);
  }
  if (pending) session_->PostStreamItem(*std::move(pending));
}

void StreamCall::OnReadDone(bool ok) {
  if (!ok) {
    RemoveHold();  // the last message was read; OnDone follows
    return;
  }
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          route_->method->output_type());
  std::unique_ptr<google::protobuf::Message> item(prototype->New());
  if (!item->ParseFromString(BufferBytes(response_))) {
    NextRead(false);
    return;
  }
  std::string json = MessageJson(*item);
  {
    absl::MutexLock lock(&mu_);
    if (!metadata_done_) {
      pending_item_ = std::move(json);
      return;
    }
  }
  session_->PostStreamItem(std::move(json));
}

void StreamCall::OnDone(const grpc::Status& status) {
  RestServer::Impl* server = server_;
  server->Unregister(&ctx_);
  std::vector<std::pair<std::string, std::string>> headers;
  CopyMetadata(ctx_.GetServerTrailingMetadata(), &headers);
  std::shared_ptr<Session> session = std::move(session_);
  session->PostStreamDone(FromGrpcStatus(status), std::move(headers));
  session.reset();
  server->Release();
}

void Session::Gate(const RouteMatch& match, std::string query, std::string body,
                   std::vector<std::pair<std::string, std::string>> credentials,
                   absl::Duration timeout) {
  const Route& route = *match.route;
  const std::string_view service =
      std::string_view(route.full_method).substr(1, route.full_method.find('/', 1) - 1);
  // A service that runs the gate itself gets the caller's credentials instead of an identity,
  // and audits its own calls.
  const bool self_gated = server_->options_.self_gated_services.count(std::string(service)) > 0;
  std::multimap<grpc::string_ref, grpc::string_ref> metadata;
  for (const auto& [k, v] : credentials) metadata.emplace(k, v);
  CallInfo info;
  info.request_id = request_id_;
  const absl::Status admitted =
      self_gated ? absl::OkStatus()
                 : server_->proxy_->Admit(route.full_method, peer_, metadata, &info);
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          route.method->input_type());
  std::unique_ptr<google::protobuf::Message> request(prototype->New());
  const absl::Status built = BuildRequest(match, query, body, request.get());
  std::string bytes = built.ok() ? request->SerializeAsString() : "";
  if (!admitted.ok()) {
    server_->proxy_->Audit(info, admitted.code(), /*reached_backend=*/false, std::move(bytes));
    Headers headers;
    if (auto retry = admitted.GetPayload(kRetryAfterPayload)) {
      headers.emplace_back("Retry-After", std::string(*retry));
    }
    return PostError(admitted, std::move(headers));
  }
  if (!built.ok()) return PostError(built, {});
  grpc::GenericStub* stub = server_->StubFor(route.full_method);
  if (stub == nullptr) {
    return PostError(
        absl::UnimplementedError(absl::StrCat("no backend serves ", route.full_method)), {});
  }
  Headers outgoing;
  if (self_gated) {
    outgoing = std::move(credentials);
  } else {
    outgoing.emplace_back(kRequestIdKey, info.request_id);
    const std::string identity = server_->proxy_->IdentityToken(info.principal);
    if (!identity.empty()) outgoing.emplace_back(std::string(kIdentityMetadataKey), identity);
  }
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout);

  if (route.server_streaming) {
    auto call = std::make_shared<StreamCall>(server_, shared_from_this(), &route);
    call->context()->set_deadline(deadline);
    for (const auto& [k, v] : outgoing) call->context()->AddMetadata(k, v);
    if (!server_->Register(call->context())) {
      return PostError(absl::UnavailableError("the gateway is stopping"), {});
    }
    // The session owns the call from now; it starts once the session knows it.
    net::post(stream_.get_executor(),
              [self = shared_from_this(), call, stub, bytes = std::move(bytes)] {
                self->StartStream(call);
                call->Start(stub, bytes);
              });
    return;
  }

  struct Unary {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  // A cached registry read is answered here (gateway/read_cache.h).
  ReadCache* const cache = self_gated ? nullptr : server_->proxy_->read_cache();
  const bool cacheable =
      cache != nullptr && cache->enabled() && ReadCache::Cacheable(route.full_method);
  std::string cache_key;
  uint64_t cache_generation = 0;
  if (cacheable) {
    cache_generation = cache->generation();
    cache_key = ReadCache::Key(route.full_method, info.principal, bytes);
    // The JSON rendering is kept too, under its own key: a hit costs no transcoding.
    const std::string json_key = absl::StrCat("json|", cache_key);
    if (std::optional<std::string> json = cache->Get(json_key)) {
      return PostResponse(200, *std::move(json), {});
    }
    if (std::optional<std::string> hit = cache->Get(cache_key)) {
      const google::protobuf::Message* prototype =
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(
              route.method->output_type());
      std::unique_ptr<google::protobuf::Message> response(prototype->New());
      if (response->ParseFromString(*hit)) {
        std::string rendered = MessageJson(*response);
        cache->Put(json_key, rendered, cache_generation);
        return PostResponse(200, std::move(rendered), {});
      }
    }
  }

  auto call = std::make_shared<Unary>();
  call->ctx.set_deadline(deadline);
  for (const auto& [k, v] : outgoing) call->ctx.AddMetadata(k, v);
  grpc::Slice slice(bytes);
  call->request = grpc::ByteBuffer(&slice, 1);
  if (!server_->Register(&call->ctx)) {
    return PostError(absl::UnavailableError("the gateway is stopping"), {});
  }
  const bool audited = !self_gated && IsMutating(route.full_method);
  RestServer::Impl* server = server_;
  stub->UnaryCall(
      &call->ctx, route.full_method, grpc::StubOptions(), &call->request, &call->response,
      [self = shared_from_this(), server, call, &route, audited, info = std::move(info),
       bytes = audited ? std::move(bytes) : std::string(), cache, cacheable,
       cache_key = std::move(cache_key), cache_generation](grpc::Status status) mutable {
        Headers headers;
        CopyMetadata(call->ctx.GetServerInitialMetadata(), &headers);
        std::optional<std::string> json;
        if (status.ok()) {
          const google::protobuf::Message* prototype =
              google::protobuf::MessageFactory::generated_factory()->GetPrototype(
                  route.method->output_type());
          std::unique_ptr<google::protobuf::Message> response(prototype->New());
          std::string response_bytes = BufferBytes(call->response);
          if (response->ParseFromString(response_bytes)) {
            json = MessageJson(*response);
            if (cacheable) {
              cache->Put(cache_key, std::move(response_bytes), cache_generation);
              cache->Put(absl::StrCat("json|", cache_key), *json, cache_generation);
            }
          } else {
            status =
                grpc::Status(grpc::StatusCode::INTERNAL, "the backend's response is malformed");
          }
        } else {
          CopyMetadata(call->ctx.GetServerTrailingMetadata(), &headers);
        }
        server->Unregister(&call->ctx);
        if (cache != nullptr && ReadCache::InvalidatedBy(route.full_method)) cache->Invalidate();
        if (audited) {
          server->proxy_->Audit(info, static_cast<absl::StatusCode>(status.error_code()),
                                /*reached_backend=*/true, std::move(bytes));
        }
        if (json) {
          self->PostResponse(CreatesResource(route) ? 201 : 200, *std::move(json),
                             std::move(headers));
        } else {
          self->PostError(FromGrpcStatus(status), std::move(headers));
        }
        self.reset();
        server->Release();
      });
}

absl::Status RestServer::Impl::Start(std::atomic<int>* port) {
  const size_t colon = options_.listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", options_.listen, "\" is not host:port"));
  }
  std::string host = options_.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port_number = 0;
  if (!absl::SimpleAtoi(options_.listen.substr(colon + 1), &port_number) || port_number < 0 ||
      port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", options_.listen, "\" has a bad port"));
  }
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", options_.listen, "\": ", ec.message()));
  }
  acceptor_.emplace(net::make_strand(ioc_));
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(port_number));
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen, ": ", ec.message()));
  }
  port->store(acceptor_->local_endpoint().port());
  executor_ = std::make_unique<Executor>(std::max(4, 2 * options_.threads), 1024);
  work_.emplace(ioc_.get_executor());
  started_ = true;
  DoAccept();
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
  Log(LogLevel::kInfo, "REST front listening",
      {{"address", absl::StrCat(host, ":", acceptor_->local_endpoint().port())}});
  return absl::OkStatus();
}

void RestServer::Impl::DoAccept() {
  acceptor_->async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
    if (!ec) {
      auto session = std::make_shared<Session>(this, std::move(socket));
      bool refuse = false;
      {
        absl::MutexLock lock(&mu_);
        refuse = stopping_ || sessions_.size() >= static_cast<size_t>(options_.max_connections);
        if (!refuse) sessions_.emplace(session.get(), session);
      }
      if (!refuse) {
        session->Run();
      } else {
        session->ForceClose();
      }
    }
    DoAccept();
  });
}

void RestServer::Impl::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  std::vector<std::shared_ptr<Session>> sessions;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  net::post(acceptor_->get_executor(), [this] {
    beast::error_code ec;
    acceptor_->close(ec);
  });
  for (auto& s : sessions) s->Drain();
  sessions.clear();
  auto no_sessions = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return sessions_.empty(); };
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&no_sessions), options_.drain_timeout);
    for (grpc::ClientContext* ctx : calls_) ctx->TryCancel();
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (auto& s : sessions) s->ForceClose();
  sessions.clear();
  executor_->Shutdown();
  auto no_calls = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&no_calls), absl::Seconds(10))) {
      Log(LogLevel::kError, "REST front stopped with backend calls outstanding", {});
    }
    mu_.AwaitWithTimeout(absl::Condition(&no_sessions), absl::Seconds(1));
  }
  work_.reset();
  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

RestServer::RestServer(RestOptions options, const RouteTable* routes, GrpcProxy* proxy,
                       std::map<std::string, std::shared_ptr<grpc::Channel>> channels)
    : impl_(std::make_unique<Impl>(std::move(options), routes, proxy, std::move(channels))) {}

RestServer::~RestServer() { Stop(); }

absl::Status RestServer::Start() { return impl_->Start(&port_); }

void RestServer::Stop() { impl_->Stop(); }

}  // namespace simpul::gateway
