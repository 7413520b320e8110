// Open311 GeoReport v2 transcoding.
#include "gateway/open311.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "clients/complaints/views.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/status.h"
#include "gateway/url.h"
#include "google/protobuf/util/time_util.h"

namespace simpul::gateway {
namespace {

namespace cv1 = ::simpul::complaints::v1;

// AppendUtf8 appends the code point `cp` in UTF-8.
void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

constexpr uint32_t kReplacement = 0xFFFD;

// XmlAllowed: XML 1.0's Char production.
bool XmlAllowed(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Number renders a double in the shortest of %.15g / %.17g that reads back exactly.
std::string Number(double value) {
  if (!std::isfinite(value)) return "0";
  std::string text = absl::StrFormat("%.15g", value);
  double back = 0;
  if (!absl::SimpleAtod(text, &back) || back != value) text = absl::StrFormat("%.17g", value);
  return text;
}

void JsonString(std::string_view safe, std::string& out) {
  out.push_back('"');
  for (const char ch : safe) {
    switch (ch) {
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
      case '<':  // so that a JSON answer can never close a <script> or open a comment
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      default:
        out.push_back(ch);  // Open311Text left no other control character
    }
  }
  out.push_back('"');
}

void XmlText(std::string_view safe, std::string& out) {
  for (const char ch : safe) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";  // a literal CR would be normalized away by the reader
        break;
      default:
        out.push_back(ch);
    }
  }
}

void RenderJson(const Open311Node& n, std::string& out) {
  switch (n.kind) {
    case Open311Node::Kind::kString:
      JsonString(Open311Text(n.text), out);
      return;
    case Open311Node::Kind::kNumber:
      out += Number(n.number);
      return;
    case Open311Node::Kind::kBool:
      out += n.flag ? "true" : "false";
      return;
    case Open311Node::Kind::kObject: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : n.members) {
        if (!first) out.push_back(',');
        first = false;
        JsonString(Open311Text(key), out);
        out.push_back(':');
        RenderJson(value, out);
      }
      out.push_back('}');
      return;
    }
    case Open311Node::Kind::kList: {
      out.push_back('[');
      for (size_t i = 0; i < n.items.size(); ++i) {
        if (i > 0) out.push_back(',');
        RenderJson(n.items[i], out);
      }
      out.push_back(']');
      return;
    }
  }
}

// RenderXml renders `n` as the element `name` (names are the renderers' own: plain ASCII).
void RenderXml(const Open311Node& n, std::string_view name, std::string& out) {
  absl::StrAppend(&out, "<", AbslView(name), ">");
  switch (n.kind) {
    case Open311Node::Kind::kString:
      XmlText(Open311Text(n.text), out);
      break;
    case Open311Node::Kind::kNumber:
      out += Number(n.number);
      break;
    case Open311Node::Kind::kBool:
      out += n.flag ? "true" : "false";
      break;
    case Open311Node::Kind::kObject:
      for (const auto& [key, value] : n.members) RenderXml(value, key, out);
      break;
    case Open311Node::Kind::kList:
      for (const Open311Node& item : n.items) RenderXml(item, n.item, out);
      break;
  }
  absl::StrAppend(&out, "</", AbslView(name), ">");
}

std::string Field(const std::map<std::string, std::string>& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? "" : std::string(absl::StripAsciiWhitespace(it->second));
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> FormFields(std::string_view encoded) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(AbslView(encoded), '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    std::optional<std::string> key = PercentDecode(StdView(kv.first), /*plus_is_space=*/true);
    std::optional<std::string> value = PercentDecode(StdView(kv.second), /*plus_is_space=*/true);
    if (!key || !value) {
      return absl::InvalidArgumentError(absl::StrCat("malformed form field \"",
                                                     Excerpt(StdView(kv.first)),
                                                     "\": a % escape is not two hex digits"));
    }
    auto [it, inserted] = out.emplace(*std::move(key), *value);
    if (!inserted && absl::EndsWith(it->first, "[]")) {
      // A list field (attribute[code][]=a&attribute[code][]=b) keeps every value.
      it->second.push_back(kFormListSeparator);
      it->second.append(*value);
    }
  }
  return out;
}

Open311Node Open311Node::List(std::string item_name) {
  Open311Node n;
  n.kind = Kind::kList;
  n.item = std::move(item_name);
  return n;
}

Open311Node& Open311Node::Add(std::string key, std::string_view value) {
  Open311Node n;
  n.kind = Kind::kString;
  n.text = std::string(value);
  return AddNode(std::move(key), std::move(n));
}

Open311Node& Open311Node::AddNumber(std::string key, double value) {
  Open311Node n;
  n.kind = Kind::kNumber;
  n.number = value;
  return AddNode(std::move(key), std::move(n));
}

Open311Node& Open311Node::AddBool(std::string key, bool value) {
  Open311Node n;
  n.kind = Kind::kBool;
  n.flag = value;
  return AddNode(std::move(key), std::move(n));
}

Open311Node& Open311Node::AddNode(std::string key, Open311Node node) {
  members.emplace_back(std::move(key), std::move(node));
  return *this;
}

Open311Node& Open311Node::Push(Open311Node node) {
  items.push_back(std::move(node));
  return *this;
}

Open311Node Open311Node::String(std::string_view value) {
  Open311Node n;
  n.kind = Kind::kString;
  n.text = std::string(value);
  return n;
}

std::string_view Open311ContentType(Open311Format format) {
  return format == Open311Format::kXml ? "text/xml; charset=utf-8"
                                       : "application/json; charset=utf-8";
}

std::string Open311Text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    const std::string_view seq = text.substr(i, len);
    if (seq.size() != len || !IsValidUtf8(seq)) {  // overlong, surrogate, cut short, ...
      AppendUtf8(out, kReplacement);
      ++i;  // one U+FFFD per invalid byte
      continue;
    }
    uint32_t cp = len == 1 ? lead : len == 2 ? lead & 0x1F : len == 3 ? lead & 0x0F : lead & 0x07;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(seq[k]) & 0x3F);
    if (XmlAllowed(cp)) {
      out.append(seq);
    } else {
      AppendUtf8(out, kReplacement);
    }
    i += len;
  }
  return out;
}

std::string Open311Render(const Open311Node& node, std::string_view root, Open311Format format) {
  std::string out;
  if (format == Open311Format::kJson) {
    RenderJson(node, out);
  } else {
    out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
    RenderXml(node, root, out);
  }
  return out;
}

namespace {
thread_local std::optional<Lang> current_lang;
}  // namespace

Lang Open311Lang() { return current_lang.value_or(Lang::kEnglish); }

Open311LangScope::Open311LangScope(Lang lang) : previous_(current_lang) { current_lang = lang; }

Open311LangScope::~Open311LangScope() { current_lang = previous_; }

Open311Doc Open311Error(int http_status, std::string_view description) {
  Open311Node list = Open311Node::List("error");
  list.Push(std::move(
      Open311Node::Object()
          .AddNumber("code", http_status)
          .Add("description", BoundedText(Localize(description, Open311Lang())))));  // bounded
  return {std::move(list), "errors"};
}

Open311Doc Open311ErrorOf(const absl::Status& status, int http_status) {
  // The filing's fields as Open311 names them (Open311FileRequest's mapping, reversed).
  static const auto* const kNames = new std::map<std::string, std::string, std::less<>>{
      {"service_id", "service_code"},
      {"location.latitude", "lat"},
      {"location.longitude", "long"},
      {"location.address", "address_string"},
      {"complainant.name", "first_name"},
      {"complainant.email", "email"},
      {"complainant.phone", "phone"},
      {"attachments[0].uri", "media_url"},
      {"idempotency_key", "attribute[idempotency_key]"},
      {"id", "service_request_id"},
      {"filed_after", "start_date"},
      {"filed_before", "end_date"},
      {"agency_id", "jurisdiction_id"},
      {"near", "bbox"},
      {"near.latitude", "lat"},
      {"near.longitude", "long"},
      {"near.radius_meters", "radius"},
      {"within_box.min_latitude", "bbox"},
      {"within_box.min_longitude", "bbox"},
      {"within_box.max_latitude", "bbox"},
      {"within_box.max_longitude", "bbox"}};
  const common::v1::BadRequest bad = BadRequestOf(status);
  if (bad.field_violations_size() == 0) {
    return Open311Error(http_status, status.message().empty()
                                         ? absl::StatusCodeToString(status.code())
                                         : std::string(status.message()));
  }
  Open311Node list = Open311Node::List("error");
  for (const auto& v : bad.field_violations()) {
    if (list.items.size() == 20) break;  // the first 20 are enough to act on
    auto it = kNames->find(v.field());
    std::string name = it == kNames->end() ? v.field() : it->second;
    // The answers to a service's questions: attributes[<code>] is Open311's attribute[<code>].
    if (absl::StartsWith(name, "attributes")) name.erase(9, 1);
    list.Push(std::move(
        Open311Node::Object()
            .AddNumber("code", http_status)
            .Add("description",
                 BoundedText(absl::StrCat(name, ": ", Localize(v.description(), Open311Lang()))))));
  }
  return {std::move(list), "errors"};
}

Open311Doc Open311Services(const std::vector<registry::v1::Service>& services) {
  Open311Node list = Open311Node::List("service");
  for (const registry::v1::Service& s : services) {
    list.Push(std::move(Open311Node::Object()
                            .Add("service_code", s.id())
                            .Add("service_name", s.name())
                            .Add("description", s.description())
                            .AddBool("metadata", !s.attributes().empty())
                            .Add("type", "realtime")
                            .Add("keywords", s.agency_id())
                            .Add("group", s.unit_id())));
  }
  return {std::move(list), "services"};
}

Open311Doc Open311ServiceDefinition(const registry::v1::Service& service) {
  std::vector<const registry::v1::ServiceAttribute*> ordered;
  for (const registry::v1::ServiceAttribute& a : service.attributes()) ordered.push_back(&a);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto* a, const auto* b) { return a->order() < b->order(); });
  Open311Node attributes = Open311Node::List("attribute");
  for (const registry::v1::ServiceAttribute* a : ordered) {
    Open311Node values = Open311Node::List("value");
    for (const registry::v1::AttributeValue& value : a->values()) {
      values.Push(
          std::move(Open311Node::Object().Add("key", value.key()).Add("name", value.name())));
    }
    Open311Node item = Open311Node::Object();
    item.AddBool("variable", a->variable())
        .Add("code", a->code())
        .Add("datatype", Open311Datatype(a->datatype()))
        .AddBool("required", a->required())
        .Add("datatype_description", a->datatype_description())
        .AddNumber("order", a->order())
        .Add("description", a->description());
    if (!a->values().empty()) item.AddNode("values", std::move(values));
    attributes.Push(std::move(item));
  }
  Open311Node o = Open311Node::Object();
  o.Add("service_code", service.id()).AddNode("attributes", std::move(attributes));
  return {std::move(o), "service_definition"};
}

std::string_view Open311Datatype(registry::v1::AttributeDatatype type) {
  switch (type) {
    case registry::v1::ATTRIBUTE_DATATYPE_NUMBER:
      return "number";
    case registry::v1::ATTRIBUTE_DATATYPE_DATETIME:
      return "datetime";
    case registry::v1::ATTRIBUTE_DATATYPE_TEXT:
      return "text";
    case registry::v1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST:
      return "singlevaluelist";
    case registry::v1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST:
      return "multivaluelist";
    default:
      return "string";  // STRING, and informational attributes without a datatype
  }
}

void Open311Answers(const std::map<std::string, std::string>& fields, FieldViolations& v,
                    cv1::FileComplaintRequest& req) {
  constexpr absl::string_view kPrefix = "attribute[";
  std::map<std::string, cv1::AttributeAnswer*> by_code;
  for (auto it = fields.lower_bound(std::string(kPrefix));
       it != fields.end() && absl::StartsWith(it->first, kPrefix); ++it) {
    const std::string& name = it->first;
    if (name == "attribute[idempotency_key]") continue;
    const bool list = absl::EndsWith(name, "[]");
    const size_t tail = list ? 3 : 1;  // "][]" or "]"
    const std::string_view inner =
        name.size() < kPrefix.size() + tail
            ? std::string_view()
            : std::string_view(name).substr(kPrefix.size(), name.size() - kPrefix.size() - tail);
    if (inner.empty() || name[name.size() - tail] != ']' ||
        inner.find_first_of("[]") != std::string_view::npos) {
      v.Add(Excerpt(name, 80),
            "not an attribute field: attribute[<code>]=value, or "
            "attribute[<code>][]=value once per value of a multivaluelist");
      continue;
    }
    cv1::AttributeAnswer*& answer = by_code[std::string(inner)];
    if (answer == nullptr) {
      answer = req.add_attributes();
      answer->set_code(std::string(inner));
    }
    if (list) {
      for (absl::string_view value : absl::StrSplit(it->second, kFormListSeparator)) {
        answer->add_values(std::string(value));
      }
    } else {
      answer->add_values(it->second);
    }
  }
}

Open311Doc Open311Discovery(const Open311DiscoveryInfo& info) {
  Open311Node formats = Open311Node::List("format");
  formats.Push(Open311Node::String("application/json")).Push(Open311Node::String("text/xml"));
  Open311Node endpoint = Open311Node::Object();
  endpoint.Add("specification", "http://wiki.open311.org/GeoReport_v2")
      .Add("url", info.base_url)
      .Add("changeset", info.changeset)
      .Add("type", "production")
      .AddNode("formats", std::move(formats));
  Open311Node endpoints = Open311Node::List("endpoint");
  endpoints.Push(std::move(endpoint));
  Open311Node o = Open311Node::Object();
  o.Add("changeset", info.changeset)
      .Add("contact", info.contact)
      .Add("key_service", info.key_service)
      .AddNode("endpoints", std::move(endpoints));
  return {std::move(o), "discovery"};
}

absl::StatusOr<cv1::FileComplaintRequest> Open311FileRequest(
    const std::map<std::string, std::string>& fields, cv1::Channel channel) {
  FieldViolations v;
  cv1::FileComplaintRequest req;
  req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  req.set_channel(channel);
  const std::string code = Field(fields, "service_code");
  if (code.empty()) v.Add("service_code", "required: a service_code from services.json");
  req.set_service_id(code);
  const std::string description = Field(fields, "description");
  if (description.empty()) v.Add("description", "required: what went wrong");
  req.set_description(description);
  const std::string lat = Field(fields, "lat");
  const std::string lon = Field(fields, "long");
  if (!lat.empty() || !lon.empty()) {
    double la = 0, lo = 0;
    // Written so that NaN (SimpleAtod reads "nan") fails the range check too.
    if (!absl::SimpleAtod(lat, &la) || !(la >= -90 && la <= 90)) {
      v.Add("lat", "expected a latitude in -90..90 with long");
    }
    if (!absl::SimpleAtod(lon, &lo) || !(lo >= -180 && lo <= 180)) {
      v.Add("long", "expected a longitude in -180..180 with lat");
    }
    req.mutable_location()->set_latitude(la);
    req.mutable_location()->set_longitude(lo);
  }
  if (const std::string address = Field(fields, "address_string"); !address.empty()) {
    req.mutable_location()->set_address(address);
  }
  const std::string name = std::string(absl::StripAsciiWhitespace(
      absl::StrCat(Field(fields, "first_name"), " ", Field(fields, "last_name"))));
  const std::string email = Field(fields, "email");
  const std::string phone = Field(fields, "phone");
  if (!name.empty() || !email.empty() || !phone.empty()) {
    req.mutable_complainant()->set_name(name);
    req.mutable_complainant()->set_email(email);
    req.mutable_complainant()->set_phone(phone);
    req.set_confidentiality(cv1::CONFIDENTIALITY_SECRET);
  } else {
    req.set_confidentiality(cv1::CONFIDENTIALITY_ANONYMOUS);
  }
  if (const std::string media = Field(fields, "media_url"); !media.empty()) {
    req.add_attachments()->set_uri(media);
  }
  std::string key = Field(fields, "attribute[idempotency_key]");
  if (key.empty()) {
    // A channel that retries the same report must not file it twice: the key is a digest of
    // everything the report says (the api_key excluded: it is the same channel anyway).
    std::string material = absl::StrCat("channel=", static_cast<int>(channel));
    for (const auto& [k, value] : fields) {
      if (k == "api_key") continue;
      absl::StrAppend(&material, "\n", k.size(), ":", k, "=", value.size(), ":", value);
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    key = "o311:";
    for (int i = 0; i < 20; ++i) {
      key.push_back(kHex[digest[i] >> 4]);
      key.push_back(kHex[digest[i] & 15]);
    }
  }
  req.set_idempotency_key(key);
  Open311Answers(fields, v, req);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("Open311 request"));
  return req;
}

std::string_view Open311Status(cv1::State state) {
  return state == cv1::STATE_COMPLETED || state == cv1::STATE_ARCHIVED ? "closed" : "open";
}

std::string Open311StatusNotes(const cv1::PublicComplaint& c) {
  const Lang lang = Open311Lang();
  if (c.unlisted()) {
    // The public reads a case it may not see in detail: that it exists, and whether it is open.
    if (Open311Status(c.state()) == "closed") return Text("status.unlisted_closed", lang);
    return c.state() == cv1::STATE_RECEIVED || c.state() == cv1::STATE_ON_HOLD
               ? Text("status.unlisted_waiting", lang)
               : Text("status.unlisted_open", lang);
  }
  return complaints::StateNote(c.state(), c.archive_reason(), lang);
}

std::string Open311Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  google::protobuf::Timestamp whole = t;
  whole.set_nanos(0);
  return google::protobuf::util::TimeUtil::ToString(whole);
}

absl::StatusOr<google::protobuf::Timestamp> Open311ParseTime(std::string_view field,
                                                             std::string_view value) {
  google::protobuf::Timestamp t;
  // RFC 3339: a 'T' between date and time, a zone (Z or ±hh:mm); protobuf reads exactly that.
  if (!google::protobuf::util::TimeUtil::FromString(std::string(value), &t)) {
    FieldViolations v;
    v.Add(std::string(field),
          absl::StrCat("expected a W3C / RFC 3339 date-time with a time zone, e.g. "
                       "2026-11-05T08:15:30+07:00 or 2026-11-05T01:15:30Z; got \"",
                       Excerpt(value), "\""));
    return v.ToStatus("Open311 query");
  }
  return t;
}

std::vector<std::string> Open311CommaList(const std::string& value) {
  std::vector<std::string> out;
  for (absl::string_view w : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(w));
  }
  return out;
}

namespace {

// ParseNumber reads a decimal number parameter; false when it is not one.
bool ParseNumber(const std::string& text, double* out) {
  return absl::SimpleAtod(text, out) && std::isfinite(*out);
}

// ParseArea reads lat/long/radius and bbox into `out` (Open311ParseListQuery).
void ParseArea(const std::map<std::string, std::string>& query, FieldViolations& v,
               Open311ListQuery* out) {
  const std::string lat = Field(query, "lat"), lon = Field(query, "long");
  const std::string radius = Field(query, "radius"), bbox = Field(query, "bbox");
  if (!lat.empty() || !lon.empty()) {
    complaints::v1::GeoCircle circle;
    double x = 0;
    if (lat.empty()) v.Add("lat", "required with long");
    if (lon.empty()) v.Add("long", "required with lat");
    if (!lat.empty() && !ParseNumber(lat, &x)) {
      v.Add("lat",
            absl::StrCat("must be decimal degrees, e.g. -6.1754; got \"", Excerpt(lat), "\""));
    }
    circle.set_latitude(x);
    x = 0;
    if (!lon.empty() && !ParseNumber(lon, &x)) {
      v.Add("long",
            absl::StrCat("must be decimal degrees, e.g. 106.8272; got \"", Excerpt(lon), "\""));
    }
    circle.set_longitude(x);
    x = kOpen311DefaultRadius;
    if (!radius.empty() && !ParseNumber(radius, &x)) {
      v.Add("radius", absl::StrCat("must be metres, e.g. 500; got \"", Excerpt(radius), "\""));
    }
    circle.set_radius_meters(x);
    out->near = circle;
  } else if (!radius.empty()) {
    v.Add("radius", "needs lat and long (the center)");
  }
  if (!bbox.empty()) {
    if (out->near) {
      v.Add("bbox", "give bbox or lat/long/radius, not both");
      return;
    }
    const std::vector<std::string> parts = absl::StrSplit(bbox, ',');
    double n[4] = {0, 0, 0, 0};
    bool ok = parts.size() == 4;
    for (size_t i = 0; ok && i < 4; ++i) {
      ok = ParseNumber(std::string(absl::StripAsciiWhitespace(parts[i])), &n[i]);
    }
    if (!ok) {
      v.Add("bbox", absl::StrCat("must be minlong,minlat,maxlong,maxlat in decimal degrees, "
                                 "e.g. 106.7,-6.3,106.9,-6.1; got \"",
                                 Excerpt(bbox), "\""));
      return;
    }
    complaints::v1::GeoBox box;
    box.set_min_longitude(n[0]);
    box.set_min_latitude(n[1]);
    box.set_max_longitude(n[2]);
    box.set_max_latitude(n[3]);
    out->within_box = box;
  }
}

}  // namespace

absl::StatusOr<Open311ListQuery> Open311ParseListQuery(
    const std::map<std::string, std::string>& query, absl::Time now, absl::Duration default_window,
    int max_codes) {
  Open311ListQuery result;
  Open311ListQuery* out = &result;
  FieldViolations v;
  out->service_codes = Open311CommaList(Field(query, "service_code"));
  if (static_cast<int>(out->service_codes.size()) > max_codes) {
    v.Add("service_code",
          absl::StrCat("at most ", max_codes, " codes at once; got ", out->service_codes.size()));
  }
  out->jurisdiction_id = Field(query, "jurisdiction_id");
  // Without end_date the period is open-ended (a clock between here and the complaint service
  // must not hide the newest cases); start_date defaults to default_window before the end.
  using google::protobuf::util::TimeUtil;
  out->end = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(now));
  out->end_given = false;
  if (const std::string end_date = Field(query, "end_date"); !end_date.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> end = Open311ParseTime("end_date", end_date);
    if (end.ok()) {
      out->end = *end;
      out->end_given = true;
    } else {
      v.AddFrom(end.status());
    }
  }
  out->start = out->end - TimeUtil::SecondsToDuration(absl::ToInt64Seconds(default_window));
  if (const std::string start_date = Field(query, "start_date"); !start_date.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> start = Open311ParseTime("start_date", start_date);
    if (start.ok()) {
      out->start = *start;
      if (out->end_given && out->start > out->end) {
        v.Add("start_date", "must not be after end_date");
      }
    } else {
      v.AddFrom(start.status());
    }
  }
  out->states.clear();
  if (const std::string status = Field(query, "status"); !status.empty()) {
    std::set<std::string> wanted;
    for (const std::string& w : Open311CommaList(status)) wanted.insert(absl::AsciiStrToLower(w));
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
          out->states.push_back(static_cast<cv1::State>(st));
        }
      }
    }
  }
  out->page_token = Field(query, "page_token");
  ParseArea(query, v, out);
  SIMPUL_RETURN_IF_ERROR(v.ToStatus("Open311 requests query"));
  return result;
}

std::string Open311MediaUrl(const cv1::PublicComplaint& c, std::string_view media_base) {
  if (media_base.empty()) return "";
  for (const cv1::Attachment& a : c.uploaded_attachments()) {
    if (!a.redacted() && absl::StartsWith(a.media_type(), "image/")) {
      return absl::StrCat(AbslView(media_base), "/", c.id(), "/", a.id());
    }
  }
  return "";
}

Open311Node Open311Request(const cv1::PublicComplaint& c, std::string_view media_base) {
  Open311Node o = Open311Node::Object();
  o.Add("service_request_id", c.id())
      .Add("status", Open311Status(c.state()))
      .Add("status_notes", Open311StatusNotes(c))
      .Add("service_name", "")
      .Add("service_code", c.service_id())
      .Add("description", c.description())
      .Add("agency_responsible", c.agency_id())
      .Add("service_notice", "")
      .Add("requested_datetime", Open311Time(c.file_time()))
      .Add("updated_datetime", Open311Time(c.update_time()))
      .Add("expected_datetime", Open311Time(c.deadlines().next()))
      .Add("address", c.location().address())
      .Add("address_id", "")
      .Add("zipcode", "");
  if (c.location().latitude() != 0 || c.location().longitude() != 0) {
    o.AddNumber("lat", c.location().latitude()).AddNumber("long", c.location().longitude());
  }
  o.Add("media_url", Open311MediaUrl(c, media_base));
  return o;
}

Open311Doc Open311Requests(const std::vector<cv1::PublicComplaint>& complaints,
                           std::string_view media_base) {
  Open311Node list = Open311Node::List("request");
  for (const cv1::PublicComplaint& c : complaints) list.Push(Open311Request(c, media_base));
  return {std::move(list), "service_requests"};
}

Open311Doc Open311Created(const cv1::FileComplaintResponse& filed) {
  Open311Node list = Open311Node::List("request");
  list.Push(
      std::move(Open311Node::Object()
                    .Add("service_request_id", filed.tracking_code())
                    .Add("service_notice",
                         filed.secret().empty()
                             ? Text("open311.notice_replay", Open311Lang(), {filed.tracking_code()})
                             : Text("open311.notice", Open311Lang(),
                                    {filed.tracking_code(), filed.secret()}))));
  return {std::move(list), "service_requests"};
}

std::vector<Open311Update> Open311UpdatesOf(
    const cv1::PublicComplaint& complaint,
    const google::protobuf::RepeatedPtrField<cv1::HistoryEntry>& history) {
  std::vector<Open311Update> out;
  for (const cv1::HistoryEntry& e : history) {
    // The filing (the first entry) and every change of state; nothing else of an entry.
    if (e.from_state() == e.to_state() && !out.empty()) continue;
    cv1::PublicComplaint at;
    at.set_state(e.to_state());
    if (e.to_state() == cv1::STATE_ARCHIVED) at.set_archive_reason(complaint.archive_reason());
    out.push_back(Open311Update{.update_id = absl::StrCat(complaint.id(), "/", e.sequence()),
                                .service_request_id = complaint.id(),
                                .state = e.to_state(),
                                .time = e.time(),
                                .description = Open311StatusNotes(at)});
  }
  return out;
}

Open311Update Open311CurrentUpdate(const cv1::PublicComplaint& complaint) {
  return Open311Update{.update_id = absl::StrCat(complaint.id(), "/current"),
                       .service_request_id = complaint.id(),
                       .state = complaint.state(),
                       .time = complaint.update_time().seconds() != 0 ? complaint.update_time()
                                                                      : complaint.file_time(),
                       .description = Open311StatusNotes(complaint)};
}

Open311Doc Open311Updates(const std::vector<Open311Update>& updates) {
  Open311Node list = Open311Node::List("request_update");
  for (const Open311Update& u : updates) {
    list.Push(std::move(Open311Node::Object()
                            .Add("update_id", u.update_id)
                            .Add("service_request_id", u.service_request_id)
                            .Add("status", Open311Status(u.state))
                            .Add("updated_datetime", Open311Time(u.time))
                            .Add("description", u.description)
                            .Add("media_url", "")));
  }
  return {std::move(list), "service_request_updates"};
}

}  // namespace simpul::gateway
