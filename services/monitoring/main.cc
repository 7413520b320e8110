// simpul-monitoring: performance figures (IKM, delivery times, complaint KPIs). Configuration:
// flags or SIMPUL_MONITORING_* environment variables; run with --help for the list.
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "clients/registry/registry_router.h"
#include "clients/registry/watch.h"
#include "common/absl_compat.h"
#include "common/calendar.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/redis.h"
#include "common/server.h"
#include "common/service_setup.h"
#include "common/stream_consumer.h"
#include "services/monitoring/grpc_service.h"
#include "services/monitoring/monitoring.h"
#include "services/monitoring/redis_store.h"
#include "services/monitoring/standards_feed.h"

extern char** environ;

int main(int argc, char** argv) {
  using namespace simpul;
  BlockTerminationSignals();
  std::vector<ConfigKey> keys = CommonServiceConfigKeys("127.0.0.1:7103", "127.0.0.1:9103");
  keys.push_back({.name = "registry_addr",
                  .type = ConfigType::kHostPort,
                  .default_value = "127.0.0.1:7101",
                  .help = "address of simpul-registry (units, services, promised times)"});
  keys.push_back({.name = "registry_timeout",
                  .type = ConfigType::kDuration,
                  .default_value = "2s",
                  .help = "deadline of one registry lookup"});
  keys.push_back({.name = "holidays_dir",
                  .type = ConfigType::kString,
                  .default_value = "deploy/holidays",
                  .help = "directory of holiday files, one <year>.json per year"});
  keys.push_back({.name = "complaint_stream",
                  .type = ConfigType::kString,
                  .default_value = "simpul:cmp:{c}:events",
                  .help = "the complaint service's event stream"});
  keys.push_back({.name = "consumer_group",
                  .type = ConfigType::kString,
                  .default_value = "simpul-monitoring",
                  .help = "consumer group of this service on the complaint stream"});
  keys.push_back({.name = "consumer_min_idle",
                  .type = ConfigType::kDuration,
                  .default_value = "30s",
                  .help = "how long a complaint event may stay unacknowledged before any "
                          "instance takes it over: the delay before the events of a crashed "
                          "instance, or an event whose handling failed, are handled again (at "
                          "least 1ms; longer than handling a batch of 100 events)",
                  .validate = [](std::string_view value) -> absl::Status {
                    absl::Duration d;
                    if (absl::ParseDuration(AbslView(value), &d) && d < absl::Milliseconds(1)) {
                      return absl::InvalidArgumentError("expected a duration of at least 1ms");
                    }
                    return absl::OkStatus();
                  }});
  keys.push_back({.name = "sweep_interval",
                  .type = ConfigType::kDuration,
                  .default_value = "30s",
                  .help = "how often open applications past their promised time are counted "
                          "overdue"});
  int exit_code = 0;
  std::optional<ServiceBasics> basics =
      SetUpService("MONITORING", "simpul-monitoring", keys, argc, argv, environ, &exit_code);
  if (!basics) return exit_code;
  const Config* config = &basics->config;
  auto calendars = CalendarRegistry::Create(config->GetString("holidays_dir"));
  if (!calendars.ok()) {
    Log(LogLevel::kError, "holidays_dir: " + std::string(calendars.status().message()));
    return 2;
  }

  RedisPool pool(RedisOptionsFromConfig(*config));
  monitoring::RedisAggregateStore store(&pool, monitoring::RedisAggregateStore::Options{});
  // One watch of the registry's change feed, shared by the router (its cache) and the standards
  // feed (which subscribes first, resyncs and sets where the watch resumes).
  std::shared_ptr<grpc::Channel> registry_channel =
      KeepaliveChannel(config->GetAddress("registry_addr"));
  const absl::Duration registry_timeout = config->GetDuration("registry_timeout");
  clients::registry::RegistryWatch registry_watch(
      registry_channel, {.identity = monitoring::StandardsFeed::Identity(basics->signer.get()),
                         .connect_timeout = registry_timeout,
                         .healthy_after = registry_timeout});
  clients::registry::RegistryRouter router(registry_channel, registry_watch,
                                           {.call_timeout = registry_timeout});
  SystemClock clock;
  monitoring::MonitoringDesk desk(store, router, **calendars, clock, {});
  Executor executor(static_cast<int>(config->GetInt("workers")), 10000);
  // Declared before the server host so that it outlives it (streams are freed with the hub).
  monitoring::WatchHub hub(desk, absl::Milliseconds(250));
  monitoring::MonitoringGrpcService service(desk, hub, executor, basics->signer.get(), clock);

  Metrics metrics;
  // Complaint events: at-least-once from the consumer group, applied once by their event ids.
  StreamConsumerOptions consumer_options;
  consumer_options.stream = config->GetString("complaint_stream");
  consumer_options.group = config->GetString("consumer_group");
  consumer_options.consumer = DefaultConsumerName();
  consumer_options.dead_letter_stream = consumer_options.stream + ":dead:" + consumer_options.group;
  consumer_options.metrics = &metrics;
  consumer_options.min_idle = config->GetDuration("consumer_min_idle");
  // An event fails while the registry is unreachable (its unit cannot be placed); it is retried
  // every min_idle, so 120 deliveries tolerate about an hour of registry outage (with the
  // default 30s) before the event is moved to the dead-letter stream.
  consumer_options.max_deliveries = 120;
  auto consumer = StreamConsumer::Create(
      &pool, consumer_options, [&desk](const StreamEntry& entry) -> absl::Status {
        const std::string* payload = entry.Field("e");
        complaints::v1::ComplaintEvent event;
        if (payload == nullptr || !event.ParseFromString(*payload)) {
          return absl::InvalidArgumentError("not a ComplaintEvent");
        }
        return desk.ApplyComplaintEvent(event);
      });
  if (!consumer.ok()) {
    Log(LogLevel::kError, "complaint consumer: " + std::string(consumer.status().message()));
    return 2;
  }

  // Registry changes: services, standards and maklumat per scope (standards figures).
  monitoring::StandardsFeed standards_feed(registry_channel, basics->signer.get(), desk.standards(),
                                           registry_watch, {.call_timeout = registry_timeout});

  ServiceHostOptions host_options =
      HostOptionsFromConfig(*config, "simpul.monitoring.v1.Monitoring");
  host_options.on_drain = [&hub] { hub.Stop(); };  // ends Watch streams: clients watch again
  ServiceHost host(host_options, &metrics);
  host.AddService(&service);
  host.SetReadinessCheck([&pool] { return pool.Ping(); });
  if (absl::Status started = host.Start(); !started.ok()) {
    Log(LogLevel::kError, "cannot start", {{"error", started.ToString()}});
    return 1;
  }
  registry_watch.Start();  // the router's cache and the standards feed
  (*consumer)->Start();
  hub.Start();

  // Background: headline figures per agency for Prometheus, open applications past their
  // promised time, and the holiday reload.
  absl::Notification stop;
  const absl::Duration sweep_interval = config->GetDuration("sweep_interval");
  std::thread background([&] {
    if (absl::Status exported = desk.ExportHeadlines(metrics); !exported.ok()) {
      Log(LogLevel::kWarn, "headline export failed", {{"error", exported.ToString()}});
    }
    while (!stop.WaitForNotificationWithTimeout(sweep_interval)) {
      if (absl::Status exported = desk.ExportHeadlines(metrics); !exported.ok()) {
        Log(LogLevel::kWarn, "headline export failed", {{"error", exported.ToString()}});
      }
      if (absl::StatusOr<int> n = desk.SweepOverdue(); !n.ok()) {
        Log(LogLevel::kWarn, "overdue sweep failed", {{"error", n.status().ToString()}});
      }
      if (absl::Status reloaded = (*calendars)->Reload(); !reloaded.ok()) {
        Log(LogLevel::kWarn, "holiday reload failed; the previous calendar stays in force",
            {{"error", reloaded.ToString()}});
      }
    }
  });

  Log(LogLevel::kInfo, "simpul-monitoring serving",
      {{"port", host.port()}, {"admin_port", host.admin_port()}});
  host.WaitForTerminationSignal();
  stop.Notify();
  background.join();
  (*consumer)->Stop();
  registry_watch.Stop();
  executor.Shutdown();
  Log(LogLevel::kInfo, "simpul-monitoring stopped");
  return 0;
}
