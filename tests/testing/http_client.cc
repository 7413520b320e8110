// A small HTTP/1.1 client for end-to-end tests.
#include "tests/testing/http_client.h"

#include <boost/beast/http.hpp>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

namespace simpul::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string ValueText(const google::protobuf::Value& v) {
  if (v.has_string_value()) return v.string_value();
  if (v.has_number_value()) return absl::StrCat(v.number_value());
  if (v.has_bool_value()) return v.bool_value() ? "true" : "false";
  return "";
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpResponse::Str(const std::string& path) const {
  const google::protobuf::Struct* s = &json;
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = s->fields().find(parts[i]);
    if (it == s->fields().end()) return "";
    if (i + 1 == parts.size()) return ValueText(it->second);
    s = &it->second.struct_value();
  }
  return "";
}

std::vector<std::string> HttpResponse::ViolationFields() const {
  std::vector<std::string> out;
  auto it = json.fields().find("field_violations");
  if (it == json.fields().end()) return out;
  for (const auto& v : it->second.list_value().values()) {
    out.push_back(v.struct_value().fields().at("field").string_value());
  }
  return out;
}

std::string HttpResponse::ItemStr(int i, const std::string& field) const {
  if (i < 0 || i >= array.values_size()) return "";
  const auto& fields = array.values(i).struct_value().fields();
  auto it = fields.find(field);
  return it == fields.end() ? "" : ValueText(it->second);
}

HttpConn::HttpConn(int port) : stream_(ioc_) {
  stream_.connect(tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port)));
}

HttpResponse HttpConn::Do(const std::string& method, const std::string& target,
                          const std::string& body, std::map<std::string, std::string> headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "localhost");
  if (!body.empty() && !headers.count("content-type")) {
    req.set(http::field::content_type, "application/json");
  }
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  stream_.expires_after(std::chrono::seconds(20));
  HttpResponse out;
  beast::error_code ec;
  http::write(stream_, req, ec);
  http::response<http::string_body> res;
  if (!ec) http::read(stream_, buffer_, res, ec);
  if (ec) {
    out.status = -1;
    out.body = ec.message();
    return out;
  }
  out.status = res.result_int();
  for (const auto& field : res) {
    out.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
  out.body = res.body();
  const std::string trimmed(absl::StripLeadingAsciiWhitespace(out.body));
  if (!trimmed.empty() && trimmed.front() == '[') {
    google::protobuf::Value value;
    if (google::protobuf::util::JsonStringToMessage(out.body, &value).ok()) {
      out.array = value.list_value();
    }
  } else {
    (void)google::protobuf::util::JsonStringToMessage(out.body, &out.json);
  }
  return out;
}

HttpResponse HttpDo(int port, const std::string& method, const std::string& target,
                    const std::string& body, std::map<std::string, std::string> headers) {
  HttpConn conn(port);
  return conn.Do(method, target, body, std::move(headers));
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  auto escape = [](const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else if (c == ' ') {
        out.push_back('+');
      } else {
        out += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
      }
    }
    return out;
  };
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += escape(k) + "=" + escape(v);
  }
  return out;
}

}  // namespace simpul::testing
