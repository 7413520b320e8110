// The service process skeleton (common/service_main.h).
#include "common/service_main.h"

#include <iostream>
#include <optional>
#include <thread>
#include <utility>

#include "common/logging.h"
#include "common/service_setup.h"

namespace simpul {
namespace {

// RedisMetrics counts in /metrics what the process's Redis pool does that an operator watches
// during a failover.
class RedisMetrics : public RedisPoolEvents {
 public:
  explicit RedisMetrics(Metrics& metrics) {
    metrics.Describe("simpul_redis_master_resolutions_total", Metrics::Type::kCounter,
                     "times the Redis sentinels were asked for the master, by result");
    metrics.Describe("simpul_redis_master_switches_total", Metrics::Type::kCounter,
                     "moves to a new Redis master named by the sentinels (+switch-master, or "
                     "asked)");
    metrics.Describe("simpul_redis_wait_short_total", Metrics::Type::kCounter,
                     "writes answered UNAVAILABLE because WAIT confirmed fewer replicas than "
                     "redis_wait_replicas");
    metrics.Describe("simpul_redis_replicas_in_sync", Metrics::Type::kGauge,
                     "replicas of the Redis master in sync at the last poll; a write waits for "
                     "all of them (at least redis_wait_replicas)");
    resolved_ = metrics.GetCounter("simpul_redis_master_resolutions_total", {{"result", "ok"}});
    unresolved_ =
        metrics.GetCounter("simpul_redis_master_resolutions_total", {{"result", "error"}});
    switched_ = metrics.GetCounter("simpul_redis_master_switches_total", {});
    wait_short_ = metrics.GetCounter("simpul_redis_wait_short_total", {});
    in_sync_ = metrics.GetGauge("simpul_redis_replicas_in_sync", {});
  }
  void MasterResolved(bool ok) override { (ok ? resolved_ : unresolved_).Increment(); }
  void MasterSwitched() override { switched_.Increment(); }
  void WaitFellShort() override { wait_short_.Increment(); }
  void ReplicasInSync(int count) override { in_sync_.Set(count); }

 private:
  Counter resolved_, unresolved_, switched_, wait_short_;
  Gauge in_sync_;
};

}  // namespace

ServiceContext::~ServiceContext() {
  while (!owned_.empty()) owned_.pop_back();
}

void ServiceContext::RunInBackground(std::function<void(const absl::Notification& stop)> body) {
  struct Background {
    std::function<void(const absl::Notification&)> body;
    absl::Notification stop;
    std::thread thread;
  };
  Background* background = Make<Background>();
  background->body = std::move(body);
  OnStart([background](ServiceHost&) {
    background->thread = std::thread([background] { background->body(background->stop); });
    return absl::OkStatus();
  });
  OnStop([background] {
    background->stop.Notify();
    if (background->thread.joinable()) background->thread.join();
  });
}

int RunService(const ServiceSpec& spec, int argc, char** argv, char** envp,
               const std::function<absl::Status(ServiceContext&)>& set_up) {
  BlockTerminationSignals();
  std::vector<ConfigKey> keys =
      CommonServiceConfigKeys(spec.default_listen, spec.default_admin_listen);
  keys.insert(keys.end(), spec.keys.begin(), spec.keys.end());
  int exit_code = 0;
  std::optional<ServiceBasics> basics = SetUpService(spec.env_prefix, spec.name, keys, argc, argv,
                                                     envp, &exit_code, spec.accepts_service_role);
  if (!basics) {
    // --help (exit 0): also name the grpc.health.v1 services the gRPC port reports, which
    // probes may check (tests/deploy/manifests_test.py reads this line).
    if (exit_code == 0) {
      std::cerr << "\ngRPC health (grpc.health.v1) services: \"\" and \"" << spec.grpc_service
                << "\"\n";
    }
    return exit_code;
  }
  const Config& config = basics->config;

  absl::StatusOr<RedisOptions> redis_options = RedisOptionsFromConfig(config);
  if (!redis_options.ok()) {
    Log(LogLevel::kError, std::string(redis_options.status().message()));
    return 2;
  }
  if (!redis_options->sentinels.empty()) {
    Log(LogLevel::kInfo, "redis master from sentinels",
        {{"sentinels", config.GetString("redis_sentinels")},
         {"master_name", redis_options->master_name}});
  }
  if (redis_options->wait_replicas > 0) {
    Log(LogLevel::kInfo, "redis writes acknowledged by replicas",
        {{"wait_replicas", redis_options->wait_replicas},
         {"wait_timeout", absl::FormatDuration(redis_options->wait_timeout)}});
  }
  Metrics metrics;
  RedisMetrics redis_metrics(metrics);
  redis_options->events = &redis_metrics;
  RedisPool pool(*std::move(redis_options));
  Executor executor(static_cast<int>(config.GetInt("workers")), 10000);
  ServiceHostOptions host_options = HostOptionsFromConfig(config, spec.grpc_service);
  if (basics->internal_tls != nullptr) {
    host_options.credentials = basics->internal_tls->ServerCredentials();
  }
  ServiceContext ctx(config, basics->signer.get(), pool, metrics, executor, host_options);
  ctx.internal_tls_ = basics->internal_tls.get();
  if (absl::Status built = set_up(ctx); !built.ok()) {
    Log(LogLevel::kError, std::string(built.message()));
    executor.Shutdown();
    return 2;
  }
  if (!ctx.drain_steps_.empty()) {
    host_options.on_drain = [&ctx] {
      for (const auto& step : ctx.drain_steps_) step();
    };
  }

  ServiceHost host(host_options, &metrics);
  for (grpc::Service* service : ctx.services_) host.AddService(service);
  if (ctx.generic_service_ != nullptr) host.AddGenericService(ctx.generic_service_);
  host.SetReadinessCheck([&pool] { return pool.Ping(); });
  if (absl::Status started = host.Start(); !started.ok()) {
    Log(LogLevel::kError, "cannot start", {{"error", started.ToString()}});
    executor.Shutdown();
    return 1;
  }
  for (const auto& step : ctx.start_steps_) {
    if (absl::Status started = step(host); !started.ok()) {
      Log(LogLevel::kError, "cannot start", {{"error", started.ToString()}});
      host.Shutdown();
      for (const auto& stop : ctx.stop_steps_) stop();
      executor.Shutdown();
      return 1;
    }
  }
  const std::string serving = spec.name + " serving";
  if (ctx.extra_port_) {
    Log(LogLevel::kInfo, serving,
        {{"port", host.port()},
         {"admin_port", host.admin_port()},
         {ctx.extra_port_field_, ctx.extra_port_()}});
  } else {
    Log(LogLevel::kInfo, serving, {{"port", host.port()}, {"admin_port", host.admin_port()}});
  }
  host.WaitForTerminationSignal();
  for (const auto& step : ctx.stop_steps_) step();
  executor.Shutdown();
  Log(LogLevel::kInfo, spec.name + " stopped");
  return 0;
}

}  // namespace simpul
