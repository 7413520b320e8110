// RestServer (gateway/rest/server.h): listening, accepting connections and the drain.
#include "gateway/rest/server.h"

#include <algorithm>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "gateway/rest/http_session.h"
#include "gateway/rest/server_impl.h"
#include "gateway/stream_limits.h"

namespace simpul::gateway {

using rest::Session;
namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// TlsFor is the TLS context `options` ask for (null: plaintext).
absl::StatusOr<std::unique_ptr<net::ssl::context>> TlsFor(const RestOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty() ||
      (options.tls_cert_file.empty() && !options.tls_client_ca_file.empty())) {
    return absl::InvalidArgumentError(
        "REST TLS: tls_cert_file and tls_key_file go together; tls_client_ca_file needs them");
  }
  if (options.tls_cert_file.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<net::ssl::context>> tls =
      rest::TlsContext(options.tls_cert_file, options.tls_key_file, options.tls_client_ca_file);
  if (!tls.ok()) {
    return absl::Status(tls.status().code(), absl::StrCat("REST TLS: ", tls.status().message()));
  }
  return tls;
}

}  // namespace

absl::Status RestServer::CheckTls(const RestOptions& options) { return TlsFor(options).status(); }

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
  absl::StatusOr<std::unique_ptr<net::ssl::context>> tls = TlsFor(options_);
  if (!tls.ok()) return tls.status();
  tls_ = *std::move(tls);
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
      {{"address", absl::StrCat(host, ":", acceptor_->local_endpoint().port())},
       {"scheme", tls_ ? "https" : "http"}});
  return absl::OkStatus();
}

void RestServer::Impl::DoAccept() {
  acceptor_->async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
    std::optional<StreamLimits::Lease> connection;
    if (!ec && options_.stream_limits != nullptr) {
      beast::error_code peer_ec;
      const tcp::endpoint remote = socket.remote_endpoint(peer_ec);
      absl::StatusOr<StreamLimits::Lease> lease =
          options_.stream_limits->AcquireConnection(remote.address().to_string());
      if (peer_ec || !lease.ok()) {
        // Over the per-address cap: closed at once, nothing read.
        socket.close(peer_ec);
        return DoAccept();
      }
      connection = *std::move(lease);
    }
    if (!ec) {
      auto session = std::make_shared<Session>(this, std::move(socket), tls_.get());
      if (connection) session->HoldConnection(*std::move(connection));
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
