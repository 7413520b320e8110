// Internal to the REST front: RestServer::Impl, the state its connections (Session,
// gateway/rest/http_session.h) and backend calls share. Not for use outside gateway/rest/.
#ifndef SIMPUL_GATEWAY_REST_SERVER_IMPL_H_
#define SIMPUL_GATEWAY_REST_SERVER_IMPL_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/executor.h"
#include "gateway/rest/connection.h"
#include "gateway/rest/route_table.h"
#include "gateway/rest/server.h"

namespace simpul::gateway {
namespace rest {
class Session;
}  // namespace rest

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
  void Forget(rest::Session* session) {
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
  std::map<rest::Session*, std::weak_ptr<rest::Session>> sessions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ = false;
  bool stopped_ = false;

  // HTTPS when set; declared before the io_context, as the sessions use it.
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<Executor> executor_;  // runs the gate (it may wait for Redis)
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;

 private:
  void DoAccept();
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_REST_SERVER_IMPL_H_
