// simpul-monitoring: performance figures (IKM, delivery times, complaint KPIs). Configuration:
// flags or SIMPUL_MONITORING_* environment variables; run with --help for the list. The
// process skeleton (config, Redis, server host, drain) is common/service_main.h; this file
// says what is the monitoring service's own.
#include <memory>
#include <string_view>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "clients/registry/registry_router.h"
#include "clients/registry/watch.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/service_main.h"
#include "common/service_setup.h"
#include "common/status.h"
#include "common/stream_consumer.h"
#include "services/monitoring/grpc_service.h"
#include "services/monitoring/monitoring.h"
#include "services/monitoring/redis_store.h"
#include "services/monitoring/standards_feed.h"

extern char** environ;

namespace simpul::monitoring {
namespace {

ServiceSpec Spec() {
  ServiceSpec spec{.env_prefix = "MONITORING",
                   .name = "simpul-monitoring",
                   .grpc_service = "simpul.monitoring.v1.Monitoring",
                   .default_listen = "127.0.0.1:7103",
                   .default_admin_listen = "127.0.0.1:9103"};
  spec.keys.push_back(
      RegistryAddrKey("address of simpul-registry (units, services, promised times)"));
  spec.keys.push_back(RegistryTimeoutKey("deadline of one registry lookup"));
  spec.keys.push_back(HolidaysDirKey());
  spec.keys.push_back({.name = "complaint_stream",
                       .type = ConfigType::kString,
                       .default_value = "simpul:cmp:{c}:events",
                       .help = "the complaint service's event stream"});
  spec.keys.push_back({.name = "consumer_group",
                       .type = ConfigType::kString,
                       .default_value = "simpul-monitoring",
                       .help = "consumer group of this service on the complaint stream"});
  spec.keys.push_back({.name = "consumer_min_idle",
                       .type = ConfigType::kDuration,
                       .default_value = "30s",
                       .help = "how long a complaint event may stay unacknowledged before any "
                               "instance takes it over: the delay before the events of a crashed "
                               "instance, or an event whose handling failed, are handled again (at "
                               "least 1ms; longer than handling a batch of 100 events)",
                       .validate = DurationAtLeast(absl::Milliseconds(1))});
  spec.keys.push_back(
      {.name = "input_retention",
       .type = ConfigType::kDuration,
       .default_value = "9600h",
       .help = "how long the idempotency key and the ledger of each survey response and "
               "delivery are kept, from its last change: within it a repeat counts once and the "
               "input can be voided; after it neither holds. Memory grows by roughly 0.9 KB per "
               "survey response for this long (docs/capacity.md); default 400 days, at least 1h",
       .validate = DurationAtLeast(absl::Hours(1))});
  spec.keys.push_back({.name = "sweep_interval",
                       .type = ConfigType::kDuration,
                       .default_value = "30s",
                       .help = "how often open applications past their promised time are "
                               "counted overdue"});
  return spec;
}

// RunBackground exports the headline figures per agency for Prometheus, counts open
// applications past their promised time and reloads the holidays, every sweep_interval until
// `stop`.
void RunBackground(MonitoringDesk& desk, CalendarRegistry& calendars, Metrics& metrics,
                   absl::Duration sweep_interval, const absl::Notification& stop) {
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
    ReloadHolidays(calendars);
  }
}

// ---- The monitoring service's own parts --------------------------------------------------
absl::Status SetUp(ServiceContext& ctx) {
  const Config& config = ctx.config();
  SIMPUL_ASSIGN_OR_RETURN(std::unique_ptr<CalendarRegistry> calendars, LoadHolidays(config));
  CalendarRegistry* calendar = ctx.Keep(std::move(calendars));

  RedisAggregateStore::Options store_options;
  store_options.dedup_ttl = config.GetDuration("input_retention");
  auto* store = ctx.Make<RedisAggregateStore>(&ctx.pool(), store_options);
  // One watch of the registry's change feed, shared by the router (its cache) and the standards
  // feed (which subscribes first, resyncs and sets where the watch resumes).
  std::shared_ptr<grpc::Channel> registry_channel =
      KeepaliveChannel(config.GetString("registry_addr"), ctx.internal_tls(), kRegistryTlsName);
  const absl::Duration registry_timeout = config.GetDuration("registry_timeout");
  auto* registry_watch = ctx.Make<clients::registry::RegistryWatch>(
      registry_channel,
      clients::registry::RegistryWatch::Options{.identity = StandardsFeed::Identity(ctx.signer()),
                                                .connect_timeout = registry_timeout,
                                                .healthy_after = registry_timeout});
  auto* router = ctx.Make<clients::registry::RegistryRouter>(
      registry_channel, *registry_watch,
      clients::registry::RegistryRouter::Options{
          .call_timeout = registry_timeout,
          // As the service role: withdrawn standards stay in the in-force history.
          .identity = StandardsFeed::Identity(ctx.signer())});
  auto* clock = ctx.Make<SystemClock>();
  auto* desk = ctx.Make<MonitoringDesk>(*store, *router, *calendar, *clock, MonitoringOptions{});
  // Made before the service so that it outlives it (streams are freed with the hub).
  auto* hub = ctx.Make<WatchHub>(*desk, absl::Milliseconds(250));
  ctx.AddService(
      ctx.Make<MonitoringGrpcService>(*desk, *hub, ctx.executor(), ctx.signer(), *clock));

  // Complaint events: at-least-once from the consumer group, applied once by their event ids.
  StreamConsumerOptions consumer_options;
  consumer_options.stream = config.GetString("complaint_stream");
  consumer_options.group = config.GetString("consumer_group");
  consumer_options.consumer = DefaultConsumerName();
  consumer_options.dead_letter_stream = consumer_options.stream + ":dead:" + consumer_options.group;
  consumer_options.metrics = &ctx.metrics();
  consumer_options.min_idle = config.GetDuration("consumer_min_idle");
  // An event fails while the registry is unreachable (its unit cannot be placed); it is retried
  // every min_idle, so 120 deliveries tolerate about an hour of registry outage (with the
  // default 30s) before the event is moved to the dead-letter stream.
  consumer_options.max_deliveries = 120;
  auto consumer = StreamConsumer::Create(
      &ctx.pool(), consumer_options, [desk](const StreamEntry& entry) -> absl::Status {
        const std::string* payload = entry.Field("e");
        complaints::v1::ComplaintEvent event;
        if (payload == nullptr || !event.ParseFromString(*payload)) {
          return absl::InvalidArgumentError("not a ComplaintEvent");
        }
        return desk->ApplyComplaintEvent(event);
      });
  if (!consumer.ok()) {
    return absl::InvalidArgumentError("complaint consumer: " +
                                      std::string(consumer.status().message()));
  }
  StreamConsumer* events = ctx.Keep(*std::move(consumer));

  // Registry changes: services, standards and maklumat per scope (standards figures). It
  // subscribes to the shared watch, which starts and stops it.
  ctx.Make<StandardsFeed>(registry_channel, ctx.signer(), desk->standards(), *registry_watch,
                          StandardsFeed::Options{.call_timeout = registry_timeout});

  ctx.OnDrain([hub] { hub->Stop(); });  // ends Watch streams: clients watch again
  ctx.OnStart([registry_watch, events, hub](ServiceHost&) {
    registry_watch->Start();  // the router's cache and the standards feed
    events->Start();
    hub->Start();
    return absl::OkStatus();
  });
  ctx.RunInBackground(
      [desk, calendar, metrics = &ctx.metrics(),
       sweep_interval = config.GetDuration("sweep_interval")](const absl::Notification& stop) {
        RunBackground(*desk, *calendar, *metrics, sweep_interval, stop);
      });
  ctx.OnStop([registry_watch, events] {
    events->Stop();
    registry_watch->Stop();
  });
  return absl::OkStatus();
}
// ---- end of the monitoring service's own parts -------------------------------------------

}  // namespace
}  // namespace simpul::monitoring

int main(int argc, char** argv) {
  return simpul::RunService(simpul::monitoring::Spec(), argc, argv, environ,
                            simpul::monitoring::SetUp);
}
