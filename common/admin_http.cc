#include "common/admin_http.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/logging.h"

namespace simpul {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kIdleTimeout = std::chrono::seconds(30);

struct Handlers {
  const Metrics* metrics;
  std::function<bool()> ready;
};

http::response<http::string_body> Respond(const Handlers& handlers,
                                          const http::request<http::string_body>& req) {
  std::string_view target(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  http::status status = http::status::ok;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  if (target != "/metrics" && target != "/healthz" && target != "/readyz") {
    status = http::status::not_found;
    body = "not found\n";
  } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
    status = http::status::method_not_allowed;
    body = "method not allowed\n";
  } else if (target == "/metrics") {
    content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (handlers.metrics != nullptr) body = handlers.metrics->Exposition();
  } else if (target == "/healthz") {
    body = "ok\n";
  } else if (handlers.ready && handlers.ready()) {
    body = "ready\n";
  } else {
    status = http::status::service_unavailable;
    body = "not ready\n";
  }
  http::response<http::string_body> res(status, req.version());
  res.set(http::field::content_type, content_type);
  if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

// Session serves the requests of one keep-alive connection in turn.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Handlers* handlers)
      : stream_(std::move(socket)), handlers_(handlers) {}

  void Read() {
    req_ = {};
    stream_.expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, req_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) {
      Close();
      return;
    }
    res_ = Respond(*handlers_, req_);
    const bool keep_alive = res_.keep_alive();
    http::async_write(stream_, res_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) {
                          self->Close();
                          return;
                        }
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  const Handlers* handlers_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

}  // namespace

// Members are destroyed in reverse order: the thread is joined and the acceptor closed before
// the io_context destroys the handlers of open sessions, which closes their sockets.
struct AdminHttpServer::Impl {
  Handlers handlers;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;

  void Accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(s), &handlers)->Read();
      Accept();
    });
  }
};

AdminHttpServer::AdminHttpServer(const Metrics* metrics, std::function<bool()> ready)
    : metrics_(metrics), ready_(std::move(ready)) {}

AdminHttpServer::~AdminHttpServer() { Stop(); }

absl::Status AdminHttpServer::Start(const std::string& address) {
  if (impl_ != nullptr) return absl::FailedPreconditionError("admin HTTP server already started");
  size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin address \"", address, "\": expected host:port"));
  }
  std::string host = address.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }

  auto impl = std::make_unique<Impl>();
  impl->handlers = Handlers{metrics_, ready_};
  beast::error_code ec;
  tcp::resolver resolver(impl->ioc);
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin address \"", address, "\": cannot resolve: ", ec.message()));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto fail = [&](std::string_view step) {
    return absl::UnavailableError(
        absl::StrCat("admin address \"", address, "\": ", AbslView(step), ": ", ec.message()));
  };
  if (impl->acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec)) {
    return fail("set SO_REUSEADDR");
  }
  if (impl->acceptor.bind(endpoint, ec)) return fail("bind");
  if (impl->acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
  port_ = impl->acceptor.local_endpoint(ec).port();
  if (ec) return fail("local address");

  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->ioc.run(); });
  impl_ = std::move(impl);
  Log(LogLevel::kInfo, "admin HTTP server listening", {{"address", address}, {"port", port_}});
  return absl::OkStatus();
}

void AdminHttpServer::Stop() {
  if (impl_ == nullptr) return;
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_.reset();
}

}  // namespace simpul
