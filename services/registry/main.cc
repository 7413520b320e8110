// simpul-registry: the standards registry service. Configuration: flags or SIMPUL_REGISTRY_*
// environment variables; run with --help for the list. The process skeleton (config, Redis,
// server host, drain) is common/service_main.h; this file says what is the registry's own.
#include "common/clock.h"
#include "common/service_main.h"
#include "common/service_setup.h"
#include "common/status.h"
#include "services/registry/calendar_service.h"
#include "services/registry/feed.h"
#include "services/registry/grpc_service.h"
#include "services/registry/redis_store.h"
#include "services/registry/registry.h"
#include "services/registry/snapshot.h"

extern char** environ;

namespace simpul::registry {
namespace {

ServiceSpec Spec() {
  ServiceSpec spec{.env_prefix = "REGISTRY",
                   .name = "simpul-registry",
                   .grpc_service = "simpul.registry.v1.Registry",
                   .default_listen = "127.0.0.1:7101",
                   .default_admin_listen = "127.0.0.1:9101"};
  spec.accepts_service_role = true;  // monitoring and the gateway's read cache read and watch
  spec.keys.push_back({.name = "review_interval_months",
                       .type = ConfigType::kInt,
                       .default_value = "12",
                       .help = "months between periodic reviews of an adopted standard",
                       .min_int = 1,
                       .max_int = 120});
  spec.keys.push_back({.name = "feed_max_len",
                       .type = ConfigType::kInt,
                       .default_value = "1000000",
                       .help = "change-feed events retained in Redis (older ones are trimmed)",
                       .min_int = 1000,
                       .max_int = 1000000000});
  spec.keys.push_back({.name = "public_replay_window",
                       .type = ConfigType::kDuration,
                       .default_value = "1h",
                       .help = "how far back an anonymous WatchStandards caller may resume the "
                               "change feed (older cursors are OUT_OF_RANGE, \"0\" starts this "
                               "long ago); 0s: no bound"});
  spec.keys.push_back({.name = "public_replay_max_events",
                       .type = ConfigType::kInt,
                       .default_value = "1000",
                       .help = "an anonymous caller may also resume from an older cursor with at "
                               "most this many changes after it (0: only the window)",
                       .min_int = 0,
                       .max_int = 100000});
  spec.keys.push_back({.name = "snapshot_max_staleness",
                       .type = ConfigType::kDuration,
                       .default_value = "2s",
                       .help = "GetCurrentStandard and SearchStandards (ADOPTED) are answered from "
                               "an in-memory snapshot kept by the change feed; it serves only "
                               "while synced with the feed within this bound (other replicas' "
                               "writes show within it), else the call reads Redis; 0s: no "
                               "snapshot"});
  spec.keys.push_back(HolidaysDirKey());
  spec.keys.push_back(
      {.name = "holidays_reload_interval",
       .type = ConfigType::kDuration,
       .default_value = "5m",
       .help = "how often the holiday files of the Calendar API are re-read (amendments need "
               "no restart; a bad file is refused and the previous calendar stays); 0s: never"});
  return spec;
}

// ---- The registry's own parts -----------------------------------------------------------
absl::Status SetUp(ServiceContext& ctx) {
  const Config& config = ctx.config();
  auto* store = ctx.Make<RedisRegistryStore>(
      &ctx.pool(), RedisRegistryStore::Options{.feed_max_len = config.GetInt("feed_max_len")});
  auto* clock = ctx.Make<SystemClock>();
  auto* domain = ctx.Make<StandardsRegistry>(
      *store, *clock,
      RegistryOptions{
          .review_interval_months = static_cast<int>(config.GetInt("review_interval_months")),
          .public_replay_window = config.GetDuration("public_replay_window"),
          .public_replay_max_events = static_cast<int>(config.GetInt("public_replay_max_events"))});
  auto* hub = ctx.Make<ChangeFeedHub>(*store);
  if (const absl::Duration staleness = config.GetDuration("snapshot_max_staleness");
      staleness > absl::ZeroDuration()) {
    auto* snapshot = ctx.Make<RegistrySnapshot>(
        *store, *clock,
        SnapshotOptions{.max_staleness = staleness,
                        .poll_block = std::min(absl::Milliseconds(500), staleness / 4)});
    domain->AttachSnapshot(snapshot);
    ctx.OnDrain([snapshot] { snapshot->Stop(); });
    ctx.OnStart([snapshot](ServiceHost&) {
      snapshot->Start();
      return absl::OkStatus();
    });
  }
  ctx.AddService(
      ctx.Make<RegistryGrpcService>(*domain, *store, *hub, ctx.executor(), ctx.signer(), *clock));
  // The Calendar API: the holiday files, re-read every holidays_reload_interval.
  SIMPUL_ASSIGN_OR_RETURN(std::unique_ptr<CalendarRegistry> calendars, LoadHolidays(config));
  CalendarRegistry* calendar = ctx.Keep(std::move(calendars));
  auto* calendar_queries = ctx.Make<CalendarQueries>(*calendar);
  ctx.AddService(ctx.Make<CalendarGrpcService>(*calendar_queries));
  if (const absl::Duration reload = config.GetDuration("holidays_reload_interval");
      reload > absl::ZeroDuration()) {
    ctx.RunInBackground([calendar, reload](const absl::Notification& stop) {
      while (!stop.WaitForNotificationWithTimeout(reload)) ReloadHolidays(*calendar);
    });
  }
  ctx.OnDrain([hub] { hub->Stop(); });  // ends watch streams: clients resume later
  ctx.OnStart([hub](ServiceHost&) {
    hub->Start();
    return absl::OkStatus();
  });
  return absl::OkStatus();
}
// ---- end of the registry's own parts -----------------------------------------------------

}  // namespace
}  // namespace simpul::registry

int main(int argc, char** argv) {
  return simpul::RunService(simpul::registry::Spec(), argc, argv, environ, simpul::registry::SetUp);
}
