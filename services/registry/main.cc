// simpul-registry: the standards registry service. Configuration: flags or SIMPUL_REGISTRY_*
// environment variables; run with --help for the list.
#include <iostream>
#include <memory>
#include <optional>

#include "common/config.h"
#include "common/logging.h"
#include "common/redis.h"
#include "common/server.h"
#include "common/service_setup.h"
#include "services/registry/feed.h"
#include "services/registry/grpc_service.h"
#include "services/registry/redis_store.h"
#include "services/registry/registry.h"

extern char** environ;

int main(int argc, char** argv) {
  using namespace simpul;
  BlockTerminationSignals();
  std::vector<ConfigKey> keys = CommonServiceConfigKeys("127.0.0.1:7101", "127.0.0.1:9101");
  keys.push_back({.name = "review_interval_months",
                  .type = ConfigType::kInt,
                  .default_value = "12",
                  .help = "months between periodic reviews of an adopted standard",
                  .min_int = 1,
                  .max_int = 120});
  keys.push_back({.name = "feed_max_len",
                  .type = ConfigType::kInt,
                  .default_value = "1000000",
                  .help = "change-feed events retained in Redis (older ones are trimmed)",
                  .min_int = 1000,
                  .max_int = 1000000000});
  int exit_code = 0;
  std::optional<ServiceBasics> basics =
      SetUpService("REGISTRY", "simpul-registry", keys, argc, argv, environ, &exit_code);
  if (!basics) return exit_code;
  const Config* config = &basics->config;
  RedisPool pool(RedisOptionsFromConfig(*config));

  registry::RedisRegistryStore store(
      &pool, registry::RedisRegistryStore::Options{.feed_max_len = config->GetInt("feed_max_len")});
  SystemClock clock;
  registry::StandardsRegistry domain(
      store, clock,
      registry::RegistryOptions{.review_interval_months =
                                    static_cast<int>(config->GetInt("review_interval_months"))});
  registry::ChangeFeedHub hub(store);
  Executor executor(static_cast<int>(config->GetInt("workers")), 10000);
  registry::RegistryGrpcService service(domain, store, hub, executor, basics->signer.get(), clock);

  Metrics metrics;
  ServiceHostOptions host_options = HostOptionsFromConfig(*config, "simpul.registry.v1.Registry");
  host_options.on_drain = [&hub] { hub.Stop(); };  // ends watch streams: clients resume later
  ServiceHost host(host_options, &metrics);
  host.AddService(&service);
  host.SetReadinessCheck([&pool] { return pool.Ping(); });
  if (absl::Status started = host.Start(); !started.ok()) {
    Log(LogLevel::kError, "cannot start", {{"error", started.ToString()}});
    return 1;
  }
  hub.Start();
  Log(LogLevel::kInfo, "simpul-registry serving",
      {{"port", host.port()}, {"admin_port", host.admin_port()}});
  host.WaitForTerminationSignal();
  executor.Shutdown();
  Log(LogLevel::kInfo, "simpul-registry stopped");
  return 0;
}
