// The one skeleton of every Simpul service process (the three services and the gateway):
// config (the common keys plus the service's own), logging, the identity key, the Redis
// pool, metrics, the worker executor, the server host (health, reflection, admin port) and
// the lifecycle: start, then on SIGTERM/SIGINT drain the host, stop the service's own
// background work and the executor. A service's main says only what is specific to it:
//
//   int main(int argc, char** argv) {
//     return simpul::RunService(kSpec, argc, argv, environ, [](simpul::ServiceContext& ctx) {
//       auto* store = ctx.Make<MyStore>(&ctx.pool());
//       ctx.AddService(ctx.Make<MyGrpcService>(*store, ctx.executor()));
//       return absl::OkStatus();
//     });
//   }
#ifndef SIMPUL_COMMON_SERVICE_MAIN_H_
#define SIMPUL_COMMON_SERVICE_MAIN_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "common/config.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "common/server.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"

namespace simpul {

// ServiceSpec names one service process.
struct ServiceSpec {
  // Prefix of its environment variables: "REGISTRY" reads SIMPUL_REGISTRY_*.
  std::string env_prefix;
  // Process name in every log line, e.g. "simpul-registry".
  std::string name;
  // Full gRPC service name reported by health, e.g. "simpul.registry.v1.Registry".
  std::string grpc_service;
  // Defaults of the common listen and admin_listen keys.
  std::string default_listen;
  std::string default_admin_listen;
  // The service's own keys, listed after the common ones (CommonServiceConfigKeys).
  std::vector<ConfigKey> keys;
  // Whether other services may call it with their own keys as ROLE_SERVICE (the registry).
  bool accepts_service_role = false;
};

// ServiceContext is what RunService hands the service-specific set-up: the shared pieces,
// and the place to register the service's own objects, gRPC services and lifecycle steps.
class ServiceContext {
 public:
  ServiceContext(const Config& config, const IdentitySigner* signer, RedisPool& pool,
                 Metrics& metrics, Executor& executor, ServiceHostOptions& host_options)
      : config_(config),
        signer_(signer),
        pool_(pool),
        metrics_(metrics),
        executor_(executor),
        host_options_(host_options) {}
  ServiceContext(const ServiceContext&) = delete;
  ServiceContext& operator=(const ServiceContext&) = delete;
  ~ServiceContext();  // destroys the objects made by Make, the last made first

  const Config& config() const { return config_; }
  // signer holds the identity keys: null without identity_private_key_file and
  // identity_trusted_keys (common/service_setup.h).
  const IdentitySigner* signer() const { return signer_; }
  // internal_tls holds the certificates of mutual TLS with the other components: null without
  // the internal_tls_* keys (plaintext). Channels to other components take it
  // (KeepaliveChannel); the host's credentials are already set from it.
  const InternalTls* internal_tls() const { return internal_tls_; }
  RedisPool& pool() { return pool_; }
  Metrics& metrics() { return metrics_; }
  Executor& executor() { return executor_; }
  // host_options can be adjusted before the host is built (e.g. its credentials: the
  // gateway's public port replaces the internal TLS credentials with its own).
  ServiceHostOptions& host_options() { return host_options_; }

  // Make constructs an object the process keeps until it exits (after the host is gone).
  template <typename T, typename... Args>
  T* Make(Args&&... args) {
    auto owned = std::make_shared<T>(std::forward<Args>(args)...);
    T* raw = owned.get();
    owned_.push_back(std::move(owned));
    return raw;
  }
  // Keep takes `object` (made elsewhere, e.g. by a factory) and keeps it as Make does.
  template <typename T>
  T* Keep(std::unique_ptr<T> object) {
    T* raw = object.get();
    owned_.push_back(std::shared_ptr<T>(std::move(object)));
    return raw;
  }

  // AddService and AddGenericService register with the host (ServiceHost's methods).
  void AddService(grpc::Service* service) { services_.push_back(service); }
  void AddGenericService(grpc::CallbackGenericService* service) { generic_service_ = service; }
  // OnDrain runs when the host starts draining, before in-flight calls end (ServiceHostOptions
  // ::on_drain): ends long-lived streams.
  void OnDrain(std::function<void()> step) { drain_steps_.push_back(std::move(step)); }
  // OnStart runs once the host serves, in the order added. A step that fails logs why and
  // returns the error: the process then stops what started and exits with 1.
  void OnStart(std::function<absl::Status(ServiceHost& host)> step) {
    start_steps_.push_back(std::move(step));
  }
  // OnStop runs after the drain and before the executor stops, in the order added.
  void OnStop(std::function<void()> step) { stop_steps_.push_back(std::move(step)); }
  // RunInBackground adds an OnStart step that runs `body` on a thread of its own and an OnStop
  // step that notifies `stop` and joins the thread: add it between the steps of what the
  // background work uses. `body` returns soon after `stop` is notified.
  void RunInBackground(std::function<void(const absl::Notification& stop)> body);
  // AlsoLogPort adds a port to the "serving" log line (e.g. the gateway's REST port).
  void AlsoLogPort(std::string field, std::function<int()> port) {
    extra_port_field_ = std::move(field);
    extra_port_ = std::move(port);
  }

 private:
  friend int RunService(const ServiceSpec&, int, char**, char**,
                        const std::function<absl::Status(ServiceContext&)>&);
  const Config& config_;
  const IdentitySigner* const signer_;
  const InternalTls* internal_tls_ = nullptr;
  RedisPool& pool_;
  Metrics& metrics_;
  Executor& executor_;
  ServiceHostOptions& host_options_;
  std::vector<std::shared_ptr<void>> owned_;
  std::vector<grpc::Service*> services_;
  grpc::CallbackGenericService* generic_service_ = nullptr;
  std::vector<std::function<void()>> drain_steps_;
  std::vector<std::function<absl::Status(ServiceHost&)>> start_steps_;
  std::vector<std::function<void()>> stop_steps_;
  std::string extra_port_field_;
  std::function<int()> extra_port_;
};

// RunService runs a service process and returns its exit code: 0 after --help or a drain,
// 2 when the configuration or the set-up fails (`set_up`'s error message is logged), 1 when
// the server cannot start. Call it from main() before any thread starts. Steps, in order:
// block SIGTERM/SIGINT; parse flags and SIMPUL_<env_prefix>_* variables; configure logging;
// load the identity key and the internal TLS certificates (the host serves mTLS with them); make
// the Redis pool, metrics and executor (`workers` threads); run
// `set_up`; start the host (readiness: Redis answers PING) and the OnStart steps; log
// "<name> serving"; wait for SIGTERM/SIGINT; drain (OnDrain steps first); run the OnStop steps;
// stop the executor; log "<name> stopped".
int RunService(const ServiceSpec& spec, int argc, char** argv, char** envp,
               const std::function<absl::Status(ServiceContext&)>& set_up);

}  // namespace simpul

#endif  // SIMPUL_COMMON_SERVICE_MAIN_H_
