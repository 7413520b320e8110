// A small HTTP/1.1 client for end-to-end tests.
#include "tests/testing/http_client.h"

#include <boost/beast/http.hpp>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"

namespace simpul::testing {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

http::request<http::string_body> MakeRequest(const std::string& method, const std::string& target,
                                             const std::string& body,
                                             const std::map<std::string, std::string>& headers) {
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
  return req;
}

HttpResponse ToResponse(const http::response<http::string_body>& res);

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
  http::request<http::string_body> req = MakeRequest(method, target, body, headers);
  stream_.expires_after(std::chrono::seconds(20));
  beast::error_code ec;
  http::write(stream_, req, ec);
  http::response<http::string_body> res;
  if (!ec) http::read(stream_, buffer_, res, ec);
  if (ec) {
    HttpResponse out;
    out.status = -1;
    out.body = ec.message();
    return out;
  }
  return ToResponse(res);
}

namespace {

HttpResponse ToResponse(const http::response<http::string_body>& res) {
  HttpResponse out;
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

}  // namespace

namespace {

// ClientContext: the CA to trust and the client certificate, loaded before any stream is
// made (a stream copies its context's certificate when it is created).
net::ssl::context ClientContext(const TlsClientOptions& options, beast::error_code* ec) {
  net::ssl::context ssl(net::ssl::context::tls_client);
  ssl.load_verify_file(options.ca_file, *ec);
  if (!*ec && !options.cert_file.empty()) {
    ssl.use_certificate_chain_file(options.cert_file, *ec);
    if (!*ec) ssl.use_private_key_file(options.key_file, net::ssl::context::pem, *ec);
  }
  return ssl;
}

}  // namespace

HttpsConn::HttpsConn(int port, const TlsClientOptions& options)
    : ssl_(ClientContext(options, &handshake_)), stream_(ioc_, ssl_) {
  if (handshake_) return;
  stream_.set_verify_mode(net::ssl::verify_peer);
  stream_.set_verify_callback(net::ssl::host_name_verification("127.0.0.1"));
  const tcp::endpoint endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port));
  beast::get_lowest_layer(stream_).async_connect(endpoint, [this](beast::error_code ec) {
    if (ec) {
      handshake_ = ec;
      return;
    }
    stream_.async_handshake(net::ssl::stream_base::client,
                            [this](beast::error_code ec) { handshake_ = ec; });
  });
  Run(absl::Seconds(20));
}

void HttpsConn::Run(absl::Duration timeout) {
  beast::get_lowest_layer(stream_).expires_after(absl::ToChronoMilliseconds(timeout));
  ioc_.restart();
  ioc_.run();
  beast::get_lowest_layer(stream_).expires_never();
}

HttpResponse HttpsConn::Do(const std::string& method, const std::string& target,
                           const std::string& body, std::map<std::string, std::string> headers) {
  HttpResponse out;
  out.status = -1;
  if (handshake_) {
    out.body = handshake_.message();
    return out;
  }
  http::request<http::string_body> req = MakeRequest(method, target, body, headers);
  http::response<http::string_body> res;
  beast::error_code result;
  http::async_write(stream_, req, [&](beast::error_code ec, size_t) {
    if (ec) {
      result = ec;
      return;
    }
    http::async_read(stream_, buffer_, res, [&](beast::error_code ec, size_t) { result = ec; });
  });
  Run(absl::Seconds(20));
  if (result) {
    out.body = result.message();
    return out;
  }
  return ToResponse(res);
}

bool HttpsConn::Send(const std::string& bytes) {
  if (handshake_) return false;
  beast::error_code result;
  net::async_write(stream_, net::buffer(bytes), [&](beast::error_code ec, size_t) { result = ec; });
  Run(absl::Seconds(20));
  return !result;
}

bool HttpsConn::ReadUntil(const std::function<bool(const std::string&)>& pred,
                          absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (!pred(data_)) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    char buf[4096];
    beast::error_code result;
    size_t n = 0;
    stream_.async_read_some(net::buffer(buf), [&](beast::error_code ec, size_t got) {
      result = ec;
      n = got;
    });
    Run(left);
    if (result == beast::error::timeout) return false;
    if (result) return true;
    data_.append(buf, n);
  }
  return false;
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
