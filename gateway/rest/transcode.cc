// JSON <-> proto transcoding of the REST front (gateway/rest/transcode.h).
#include "gateway/rest/transcode.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/json.h"
#include "common/status.h"
#include "gateway/rest/field_path.h"
#include "gateway/url.h"
#include "google/protobuf/util/json_util.h"

namespace simpul::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using rest::CanonicalPath;
using rest::ResolvePath;

// JsonLiteral renders one textual value for `leaf` in JSON: booleans and numbers bare when
// they look like one (protobuf's parser also takes quoted numbers), everything else quoted.
std::string JsonLiteral(const FieldDescriptor* leaf, const std::string& value) {
  if (leaf->cpp_type() == FieldDescriptor::CPPTYPE_BOOL && (value == "true" || value == "false")) {
    return value;
  }
  return JsonEscape(value);
}

// NestedJson wraps `inner` (a JSON value) in objects for the path `fields`.
std::string NestedJson(const std::vector<const FieldDescriptor*>& fields, std::string inner) {
  for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
    inner = absl::StrCat("{", JsonEscape((*it)->json_name()), ":", inner, "}");
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
  std::string description = BoundedText(error, 256);
  if (absl::StartsWith(error, "(")) {
    const size_t close = error.find(')');
    if (close != std::string::npos) {
      std::string path = Excerpt(std::string_view(error).substr(1, close - 1), 128);
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
          path, absl::StrCat("the path says \"", Excerpt(value), "\" but the body says \"",
                             Excerpt(in_body), "\""));
      continue;
    }
    std::unique_ptr<Message> scratch(request->New());
    const google::protobuf::util::Status parsed =
        parse_into(NestedJson(*fields, JsonLiteral(fields->back(), value)), scratch.get());
    if (!parsed.ok()) {
      violations.emplace_back(path, absl::StrCat("bad value \"", Excerpt(value), "\" in the path: ",
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
        violations.emplace_back(Excerpt(StdView(pair)), "malformed percent-encoding in the query");
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
      violations.emplace_back(Excerpt(name),
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
          name, absl::StrCat("bad value \"", Excerpt(absl::StrJoin(values, ",")), "\" for ",
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

std::string MessageJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

}  // namespace simpul::gateway
