// simpul-complaints: the complaint handling service. Configuration: flags or
// SIMPUL_COMPLAINTS_* environment variables; run with --help for the list.
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "clients/registry/registry_router.h"
#include "common/calendar.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/redis.h"
#include "common/server.h"
#include "common/service_setup.h"
#include "services/complaints/complaints.h"
#include "services/complaints/grpc_service.h"
#include "services/complaints/redis_store.h"

extern char** environ;

int main(int argc, char** argv) {
  using namespace simpul;
  BlockTerminationSignals();
  std::vector<ConfigKey> keys = CommonServiceConfigKeys("127.0.0.1:7102", "127.0.0.1:9102");
  keys.push_back({.name = "registry_addr",
                  .type = ConfigType::kHostPort,
                  .default_value = "127.0.0.1:7101",
                  .help = "address of simpul-registry, which routes complaints"});
  keys.push_back({.name = "registry_timeout",
                  .type = ConfigType::kDuration,
                  .default_value = "2s",
                  .help = "deadline of one routing lookup in the registry"});
  keys.push_back({.name = "holidays_dir",
                  .type = ConfigType::kString,
                  .default_value = "deploy/holidays",
                  .help = "directory of holiday files, one <year>.json per year"});
  keys.push_back({.name = "holidays_reload_interval",
                  .type = ConfigType::kDuration,
                  .default_value = "5m",
                  .help = "how often the holiday files are re-read (amendments need no restart)"});
  keys.push_back({.name = "scan_interval",
                  .type = ConfigType::kDuration,
                  .default_value = "5s",
                  .help = "how often the deadline scanner runs; 0 turns it off in this replica"});
  keys.push_back({.name = "idempotency_ttl",
                  .type = ConfigType::kDuration,
                  .default_value = "168h",
                  .help = "how long a filing's idempotency key returns its first result"});
  keys.push_back({.name = "reopen_working_days",
                  .type = ConfigType::kInt,
                  .default_value = "10",
                  .help = "working days after completion in which the complainant may reopen",
                  .min_int = 1,
                  .max_int = 60});
  keys.push_back({.name = "stream_max_len",
                  .type = ConfigType::kInt,
                  .default_value = "1000000",
                  .help = "complaint events retained on the stream (older ones are trimmed)",
                  .min_int = 1000,
                  .max_int = 1000000000});
  int exit_code = 0;
  std::optional<ServiceBasics> basics =
      SetUpService("COMPLAINTS", "simpul-complaints", keys, argc, argv, environ, &exit_code);
  if (!basics) return exit_code;
  const Config* config = &basics->config;
  auto calendars = CalendarRegistry::Create(config->GetString("holidays_dir"));
  if (!calendars.ok()) {
    Log(LogLevel::kError, "holidays_dir: " + std::string(calendars.status().message()));
    return 2;
  }

  RedisPool pool(RedisOptionsFromConfig(*config));
  complaints::RedisComplaintStore store(
      &pool,
      complaints::RedisComplaintStore::Options{.stream_max_len = config->GetInt("stream_max_len")});

  clients::registry::RegistryRouter router(
      KeepaliveChannel(config->GetAddress("registry_addr")),
      clients::registry::RegistryRouter::Options{.call_timeout =
                                                     config->GetDuration("registry_timeout")});

  SystemClock clock;
  complaints::ComplaintOptions options;
  options.reopen_working_days = static_cast<int>(config->GetInt("reopen_working_days"));
  options.idempotency_ttl = config->GetDuration("idempotency_ttl");
  complaints::ComplaintDesk desk(store, router, **calendars, clock, options);
  Executor executor(static_cast<int>(config->GetInt("workers")), 10000);
  complaints::ComplaintsGrpcService service(desk, executor, basics->signer.get(), clock);

  Metrics metrics;
  ServiceHostOptions host_options =
      HostOptionsFromConfig(*config, "simpul.complaints.v1.Complaints");
  ServiceHost host(host_options, &metrics);
  host.AddService(&service);
  host.SetReadinessCheck([&pool] { return pool.Ping(); });
  if (absl::Status started = host.Start(); !started.ok()) {
    Log(LogLevel::kError, "cannot start", {{"error", started.ToString()}});
    return 1;
  }
  router.Start();

  // The background loop: the deadline scanner and the holiday reload. Every replica runs it;
  // the scanner's revision-checked commits make concurrent scans safe.
  absl::Notification stop;
  const absl::Duration scan_interval = config->GetDuration("scan_interval");
  const absl::Duration reload_interval = config->GetDuration("holidays_reload_interval");
  std::thread background([&] {
    absl::Time next_reload = absl::Now() + reload_interval;
    while (!stop.HasBeenNotified()) {
      if (scan_interval > absl::ZeroDuration()) {
        absl::StatusOr<int> acted = desk.ScanOnce();
        if (!acted.ok()) {
          Log(LogLevel::kWarn, "deadline scan failed", {{"error", acted.status().ToString()}});
        } else if (*acted > 0) {
          Log(LogLevel::kInfo, "deadline scan", {{"acted", *acted}});
        }
      }
      if (reload_interval > absl::ZeroDuration() && absl::Now() >= next_reload) {
        next_reload = absl::Now() + reload_interval;
        if (absl::Status reloaded = (*calendars)->Reload(); !reloaded.ok()) {
          Log(LogLevel::kWarn, "holiday reload failed; the previous calendar stays in force",
              {{"error", reloaded.ToString()}});
        }
      }
      absl::Duration wait = scan_interval > absl::ZeroDuration() ? scan_interval : absl::Seconds(5);
      stop.WaitForNotificationWithTimeout(wait);
    }
  });

  Log(LogLevel::kInfo, "simpul-complaints serving",
      {{"port", host.port()}, {"admin_port", host.admin_port()}});
  host.WaitForTerminationSignal();
  stop.Notify();
  background.join();
  router.Stop();
  executor.Shutdown();
  Log(LogLevel::kInfo, "simpul-complaints stopped");
  return 0;
}
