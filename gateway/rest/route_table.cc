// RouteTable (gateway/rest/route_table.h): building it from the protos' options, matching.
#include "gateway/rest/route_table.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "gateway/rest/field_path.h"
#include "gateway/url.h"
#include "simpul/calendar/v1/calendar.pb.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/gateway/v1/gateway.pb.h"
#include "simpul/monitoring/v1/monitoring.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::gateway {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using rest::CanonicalPath;
using rest::ResolvePath;

absl::StatusOr<RouteTable> RouteTable::FromServices(const std::vector<std::string>& services,
                                                    const google::protobuf::DescriptorPool* pool) {
  // The generated pool only knows the files linked into the binary: touching one message of
  // each service package makes the linker keep them (static libraries drop unused objects).
  static const void* const kLinked[] = {registry::v1::GetAgencyRequest::descriptor(),
                                        complaints::v1::GetComplaintRequest::descriptor(),
                                        monitoring::v1::GetFiguresRequest::descriptor(),
                                        gateway::v1::ListApiKeysRequest::descriptor(),
                                        calendar::v1::GetDeadlineRequest::descriptor()};
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

}  // namespace simpul::gateway
