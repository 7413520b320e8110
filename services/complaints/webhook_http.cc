// One webhook POST with Boost.Beast (webhook_http.h).
#include "services/complaints/webhook_http.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"

namespace simpul::complaints {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kMaxResponseBody = 64 * 1024;

std::chrono::steady_clock::time_point Deadline(absl::Duration timeout) {
  return std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
}

// Step runs `ioc` until `done` or the deadline; on the deadline `cancel` closes the stream so
// the pending handler runs (with an error) and the context drains.
template <typename Cancel>
bool Step(asio::io_context& ioc, const bool& done, std::chrono::steady_clock::time_point deadline,
          Cancel cancel) {
  ioc.restart();
  while (!done && std::chrono::steady_clock::now() < deadline) {
    if (ioc.run_one_until(deadline) == 0 && ioc.stopped()) break;
  }
  if (done) return true;
  cancel();
  ioc.restart();
  ioc.run();
  return false;
}

std::string Describe(const beast::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == http::error::partial_message || ec == asio::error::connection_reset ||
      ec == asio::ssl::error::stream_truncated) {
    return "connection closed before the response";
  }
  return ec.message();
}

template <typename Stream, typename Close>
WebhookPostResult Exchange(asio::io_context& ioc, Stream& stream, const WebhookUrl& url,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body, std::chrono::steady_clock::time_point deadline,
                           Close close) {
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host,
          url.port == (url.https ? 443 : 80) ? url.host : absl::StrCat(url.host, ":", url.port));
  req.set(http::field::user_agent, "Simpul-Webhooks/1");
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();

  bool done = false;
  beast::error_code ec;
  http::async_write(stream, req, [&](beast::error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!Step(ioc, done, deadline, close)) return {0, "timeout"};
  if (ec) return {0, Describe(ec)};

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  done = false;
  http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!Step(ioc, done, deadline, close)) return {0, "timeout"};
  if (ec == http::error::body_limit && parser.is_header_done()) {
    ec = {};  // a large answer: its status is what counts
  }
  if (ec) return {0, Describe(ec)};
  const int status = static_cast<int>(parser.get().result_int());
  if (status >= 200 && status < 300) return {status, ""};
  if (status >= 300 && status < 400)
    return {status, absl::StrCat("HTTP ", status, " (redirects are not followed)")};
  return {status, absl::StrCat("HTTP ", status)};
}

}  // namespace

absl::StatusOr<std::shared_ptr<WebhookTls>> WebhookTls::Create(const std::string& ca_file) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  beast::error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(ca_file, ec);
  }
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "webhook_ca_file: cannot load the CA certificates ", ca_file, ": ", ec.message()));
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  std::shared_ptr<WebhookTls> tls(new WebhookTls());
  tls->ctx_ = ctx.release();
  return tls;
}

WebhookTls::~WebhookTls() { delete static_cast<asio::ssl::context*>(ctx_); }

absl::StatusOr<std::vector<std::string>> ResolveHost(const std::string& host) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto results = resolver.resolve(host, "0", ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("the host ", host, " does not resolve: ", ec.message()));
  }
  std::vector<std::string> out;
  for (const auto& entry : results) out.push_back(entry.endpoint().address().to_string());
  return out;
}

WebhookPostResult PostWebhook(const WebhookUrlPolicy& policy, const WebhookUrl& url,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& body, absl::Duration timeout,
                              const WebhookTls* tls) {
  const auto deadline = Deadline(timeout);
  absl::StatusOr<std::vector<std::string>> addresses = ResolveHost(url.host);
  if (!addresses.ok()) return {0, std::string(addresses.status().message())};
  if (absl::Status allowed = CheckWebhookAddresses(policy, url.host, *addresses); !allowed.ok()) {
    return {0, absl::StrCat("address refused: ", allowed.message())};
  }
  std::vector<tcp::endpoint> endpoints;
  for (const std::string& a : *addresses) {
    beast::error_code ec;
    auto address = asio::ip::make_address(a, ec);
    if (!ec) endpoints.emplace_back(address, url.port);
  }
  if (endpoints.empty()) return {0, "the host has no usable address"};

  asio::io_context ioc;
  beast::tcp_stream tcp_stream(ioc);
  bool done = false;
  beast::error_code ec;
  auto close_tcp = [&] { tcp_stream.socket().close(ec); };
  tcp_stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!Step(ioc, done, deadline, close_tcp)) return {0, "timeout"};
  if (ec) return {0, absl::StrCat("connect: ", ec.message())};

  if (!url.https) return Exchange(ioc, tcp_stream, url, headers, body, deadline, close_tcp);

  if (tls == nullptr) return {0, "https is not configured"};
  auto* ctx = static_cast<asio::ssl::context*>(tls->native());
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *ctx);
  auto close_tls = [&] {
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  };
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    return {0, "TLS: cannot set the server name"};
  }
  stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
  done = false;
  stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  if (!Step(ioc, done, deadline, close_tls)) return {0, "timeout"};
  if (ec) return {0, absl::StrCat("TLS handshake: ", ec.message())};
  return Exchange(ioc, stream, url, headers, body, deadline, close_tls);
}

}  // namespace simpul::complaints
