// AdminHttpServer is the small HTTP/1.1 port every Simpul process exposes for operators and
// Prometheus: GET /metrics (text exposition), /healthz (the process is up) and /readyz (the
// process can serve, e.g. Redis is reachable). It runs on one thread of its own.
#ifndef SIMPUL_COMMON_ADMIN_HTTP_H_
#define SIMPUL_COMMON_ADMIN_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/metrics.h"

namespace simpul {

class AdminHttpServer {
 public:
  // `metrics` may be null (then /metrics is empty); `ready` answers /readyz and is called on
  // the server's thread.
  AdminHttpServer(const Metrics* metrics, std::function<bool()> ready);
  ~AdminHttpServer();  // calls Stop()
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;

  // Start binds `address` ("host:port", port 0 picks a free port) and starts serving.
  absl::Status Start(const std::string& address);
  // port is the bound port after a successful Start.
  int port() const { return port_; }
  // Stop closes the listener and every open connection and joins the thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  const Metrics* metrics_;
  std::function<bool()> ready_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace simpul

#endif  // SIMPUL_COMMON_ADMIN_HTTP_H_
