// ServiceHost runs one gRPC server process the way every Simpul service needs: listen address,
// grpc.health.v1 (NOT_SERVING until the readiness check passes, e.g. Redis reachable),
// server reflection, per-RPC Prometheus metrics, an HTTP admin port (/metrics, /healthz,
// /readyz) and a graceful drain of in-flight calls on SIGTERM/SIGINT.
#ifndef SIMPUL_COMMON_SERVER_H_
#define SIMPUL_COMMON_SERVER_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/metrics.h"

namespace simpul {

class AdminHttpServer;

struct ServiceHostOptions {
  std::string listen_address = "127.0.0.1:0";  // port 0 picks a free port
  std::string admin_address;                   // empty: no admin HTTP port
  std::string service_name;                    // full gRPC service name reported by health, e.g.
                                               // "simpul.registry.v1.Registry"
  absl::Duration drain_timeout = absl::Seconds(10);
  absl::Duration readiness_interval = absl::Seconds(1);
  // Called by Shutdown right after health turns NOT_SERVING and before draining: the place to
  // end long-lived streams (e.g. watch streams) that would otherwise hold the drain open.
  std::function<void()> on_drain;
  // Credentials of the gRPC port; plaintext when null (the default: services sit behind the
  // gateway on a private network).
  std::shared_ptr<grpc::ServerCredentials> credentials;
};

class ServiceHost {
 public:
  ServiceHost(ServiceHostOptions options, Metrics* metrics);
  ~ServiceHost();

  // AddService registers a service before Start; the host does not own it.
  void AddService(grpc::Service* service);
  // AddGenericService registers the handler of every method no registered service has (the
  // gateway's proxy); at most one, before Start; the host does not own it.
  void AddGenericService(grpc::CallbackGenericService* service);
  // SetReadinessCheck sets the check polled every readiness_interval; while it fails, health
  // reports NOT_SERVING and /readyz answers 503.
  void SetReadinessCheck(std::function<absl::Status()> check);

  // Start binds and starts serving; port() and admin_port() are valid afterwards.
  absl::Status Start();
  int port() const { return port_; }
  int admin_port() const;
  // InProcessChannel reaches this server's services without a socket (after Start; null
  // before), e.g. for an HTTP front served by the same process.
  std::shared_ptr<grpc::Channel> InProcessChannel();

  // Shutdown reports NOT_SERVING, stops accepting calls, waits up to drain_timeout for
  // in-flight calls, then cancels the rest. Idempotent.
  void Shutdown();
  // WaitForTerminationSignal blocks until SIGTERM or SIGINT, then calls Shutdown(). Call
  // BlockTerminationSignals() first thing in main() so that every thread inherits the mask.
  void WaitForTerminationSignal();

 private:
  void ReadinessLoop();
  ServiceHostOptions options_;
  Metrics* metrics_;
  std::vector<grpc::Service*> services_;
  grpc::CallbackGenericService* generic_service_ = nullptr;
  std::function<absl::Status()> readiness_check_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AdminHttpServer> admin_;
  std::thread readiness_thread_;
  absl::Notification stop_;
  absl::Mutex mu_;
  bool ready_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  int port_ = 0;
  std::atomic<int64_t> in_flight_{0};  // calls started and not yet completely done
};

// BlockTerminationSignals blocks SIGTERM and SIGINT in the calling thread (and threads it
// starts later) so that WaitForTerminationSignal can receive them with sigwait.
void BlockTerminationSignals();

}  // namespace simpul

#endif  // SIMPUL_COMMON_SERVER_H_
