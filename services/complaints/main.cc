// simpul-complaints: the complaint handling service. Configuration: flags or
// SIMPUL_COMPLAINTS_* environment variables; run with --help for the list. The process
// skeleton (config, Redis, server host, drain) is common/service_main.h; this file says what
// is the complaint service's own.
#include <atomic>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "clients/registry/registry_router.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/service_main.h"
#include "common/service_setup.h"
#include "common/status.h"
#include "services/complaints/complaints.h"
#include "services/complaints/grpc_service.h"
#include "services/complaints/object_store.h"
#include "services/complaints/pii_config.h"
#include "services/complaints/redis_store.h"
#include "services/complaints/webhook_config.h"

extern char** environ;

namespace simpul::complaints {
namespace {

ServiceSpec Spec() {
  ServiceSpec spec{.env_prefix = "COMPLAINTS",
                   .name = "simpul-complaints",
                   .grpc_service = "simpul.complaints.v1.Complaints",
                   .default_listen = "127.0.0.1:7102",
                   .default_admin_listen = "127.0.0.1:9102"};
  spec.keys.push_back(RegistryAddrKey("address of simpul-registry, which routes complaints"));
  spec.keys.push_back(RegistryTimeoutKey("deadline of one routing lookup in the registry"));
  spec.keys.push_back(HolidaysDirKey());
  spec.keys.push_back(
      {.name = "holidays_reload_interval",
       .type = ConfigType::kDuration,
       .default_value = "5m",
       .help = "how often the holiday files are re-read (amendments need no restart)"});
  spec.keys.push_back(
      {.name = "scan_interval",
       .type = ConfigType::kDuration,
       .default_value = "5s",
       .help = "how often the deadline scanner runs; 0 turns it off in this replica"});
  spec.keys.push_back({.name = "idempotency_ttl",
                       .type = ConfigType::kDuration,
                       .default_value = "168h",
                       .help = "how long a filing's idempotency key returns its first result"});
  spec.keys.push_back({.name = "reopen_working_days",
                       .type = ConfigType::kInt,
                       .default_value = "10",
                       .help = "working days after completion in which the complainant may reopen",
                       .min_int = 1,
                       .max_int = 60});
  spec.keys.push_back(
      {.name = "secret_key_file",
       .type = ConfigType::kString,
       .default_value = "",
       .help = "file holding the key (at least 32 bytes) complainants' secrets are derived "
               "with; empty: a random key per process, so a retry after a restart gets the "
               "tracking code without the secret"});
  for (ConfigKey& key : PiiConfigKeys()) spec.keys.push_back(std::move(key));
  spec.keys.push_back({.name = "list_scan_budget",
                       .type = ConfigType::kInt,
                       .default_value = "5000",
                       .help = "index entries one ListComplaints call reads at most (a sparse "
                               "filter returns a short page with a token to continue)",
                       .min_int = 100,
                       .max_int = 1000000});
  spec.keys.push_back({.name = "area_max_cases",
                       .type = ConfigType::kInt,
                       .default_value = "10000",
                       .help = "located cases of the caller's scope a ListComplaints area "
                               "(within_box, near) may hold; every page reads them all",
                       .min_int = 100,
                       .max_int = 1000000});
  spec.keys.push_back({.name = "duplicate_radius_m",
                       .type = ConfigType::kInt,
                       .default_value = "300",
                       .help = "a filing suggests as possible duplicates the cases of the same "
                               "service within this many metres (0: none)",
                       .min_int = 0,
                       .max_int = 5000});
  spec.keys.push_back(
      {.name = "duplicate_window_days",
       .type = ConfigType::kInt,
       .default_value = "7",
       .help = "possible duplicates are cases filed in this many days before the new one",
       .min_int = 1,
       .max_int = 90});
  spec.keys.push_back({.name = "stream_max_len",
                       .type = ConfigType::kInt,
                       .default_value = "1000000",
                       .help = "complaint events retained on the stream (older ones are trimmed)",
                       .min_int = 1000,
                       .max_int = 1000000000});
  spec.keys.push_back(
      {.name = "event_retention",
       .type = ConfigType::kDuration,
       .default_value = "72h",
       .help = "how long events stay on the stream after every consumer acknowledged them, so "
               "WatchComplaintEvents can resume from a cursor that old; 0: trimmed at once"});
  spec.keys.push_back(
      {.name = "feed_poll_block",
       .type = ConfigType::kDuration,
       .default_value = "500ms",
       .help = "longest XREAD BLOCK of the one stream reader that wakes the event feed's "
               "watchers (it also bounds how long a stop waits for it)"});
  for (ConfigKey& key : WebhookConfigKeys()) spec.keys.push_back(std::move(key));
  spec.keys.push_back(
      {.name = "objects_dir",
       .type = ConfigType::kString,
       .default_value = "",
       .help = "directory the bytes of uploaded attachments are kept in (created mode 0700; "
               "every replica must see the same one); empty: the attachment RPCs are "
               "UNIMPLEMENTED"});
  spec.keys.push_back({.name = "attachment_max_bytes",
                       .type = ConfigType::kInt,
                       .default_value = "3145728",
                       .help = "largest attachment accepted, in bytes of content (gRPC's 4 MiB "
                               "message limit bounds it)",
                       .min_int = 1024,
                       .max_int = 4000000});
  spec.keys.push_back({.name = "attachment_max_per_case",
                       .type = ConfigType::kInt,
                       .default_value = "10",
                       .help = "uploaded attachments one case takes at most, redacted ones "
                               "included",
                       .min_int = 1,
                       .max_int = 100});
  return spec;
}

// RunBackground runs the deadline scanner and the holiday reload until `stop`. Every replica
// runs it; the scanner's revision-checked commits make concurrent scans safe.
void RunBackground(ComplaintDesk& desk, CalendarRegistry& calendars, absl::Duration scan_interval,
                   absl::Duration reload_interval, const absl::Notification& stop) {
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
      ReloadHolidays(calendars);
    }
    absl::Duration wait = scan_interval > absl::ZeroDuration() ? scan_interval : absl::Seconds(5);
    stop.WaitForNotificationWithTimeout(wait);
  }
}

// DropLegacyIdempotencyRecords removes the idempotency records of the earlier layout, which
// held secrets in clear (docs/operations.md); a failure is logged and retried at the next
// start.
void DropLegacyIdempotencyRecords(RedisComplaintStore& store) {
  absl::StatusOr<int64_t> dropped = store.DropLegacyIdempotencyRecords();
  if (!dropped.ok()) {
    Log(LogLevel::kWarn, "legacy idempotency records not removed",
        {{"error", dropped.status().ToString()}});
  } else if (*dropped > 0) {
    Log(LogLevel::kInfo, "legacy idempotency records removed", {{"count", *dropped}});
  }
}

// ---- The complaint service's own parts ---------------------------------------------------
absl::Status SetUp(ServiceContext& ctx) {
  const Config& config = ctx.config();
  SIMPUL_ASSIGN_OR_RETURN(std::unique_ptr<CalendarRegistry> calendars, LoadHolidays(config));
  CalendarRegistry* calendar = ctx.Keep(std::move(calendars));
  SIMPUL_ASSIGN_OR_RETURN(PiiKeyring pii_keys, PiiKeyringFromConfig(config));
  auto* keyring = ctx.Make<PiiKeyring>(std::move(pii_keys));
  auto* store = ctx.Make<RedisComplaintStore>(
      &ctx.pool(),
      RedisComplaintStore::Options{.stream_max_len = config.GetInt("stream_max_len"),
                                   .event_retention = config.GetDuration("event_retention"),
                                   .pii_keys = keyring,
                                   .area_max_cases = config.GetInt("area_max_cases")});
  auto* hub = ctx.Make<EventFeedHub>(*store, config.GetDuration("feed_poll_block"));

  auto* router = ctx.Make<clients::registry::RegistryRouter>(
      KeepaliveChannel(config.GetString("registry_addr"), ctx.internal_tls(), kRegistryTlsName),
      clients::registry::RegistryRouter::Options{.call_timeout =
                                                     config.GetDuration("registry_timeout")});

  auto* clock = ctx.Make<SystemClock>();
  ComplaintOptions options;
  options.reopen_working_days = static_cast<int>(config.GetInt("reopen_working_days"));
  options.idempotency_ttl = config.GetDuration("idempotency_ttl");
  options.list_scan_budget = static_cast<int>(config.GetInt("list_scan_budget"));
  options.duplicates.radius_m = static_cast<double>(config.GetInt("duplicate_radius_m"));
  options.duplicates.window_days = static_cast<int>(config.GetInt("duplicate_window_days"));
  if (const std::string& path = config.GetString("secret_key_file"); !path.empty()) {
    absl::StatusOr<SecretMinter> minter = SecretMinter::FromKeyFile(path);
    if (!minter.ok()) {
      return absl::Status(minter.status().code(),
                          absl::StrCat("secret_key_file: ", minter.status().message()));
    }
    options.secret_minter = *std::move(minter);
  } else {
    Log(LogLevel::kWarn, "no secret_key_file: complainants' secrets use a key of this process",
        {{"effect", "a retry after a restart gets the tracking code without the secret"}});
  }
  options.attachments.max_bytes = config.GetInt("attachment_max_bytes");
  options.attachments.max_per_case = static_cast<int>(config.GetInt("attachment_max_per_case"));
  if (const std::string& dir = config.GetString("objects_dir"); !dir.empty()) {
    absl::StatusOr<std::unique_ptr<LocalDiskObjectStore>> objects =
        LocalDiskObjectStore::Create(dir);
    if (!objects.ok()) {
      return absl::Status(objects.status().code(),
                          absl::StrCat("objects_dir: ", objects.status().message()));
    }
    options.attachments.objects = ctx.Keep(*std::move(objects));
  }
  auto* updated_index_ready = ctx.Make<std::atomic<bool>>(false);
  options.updated_index_ready = [updated_index_ready] { return updated_index_ready->load(); };
  auto* geo_index_ready = ctx.Make<std::atomic<bool>>(false);
  options.geo_index_ready = [geo_index_ready] { return geo_index_ready->load(); };
  auto* desk = ctx.Make<ComplaintDesk>(*store, *router, *calendar, *clock, options);
  ctx.AddService(ctx.Make<ComplaintsGrpcService>(
      *desk, ctx.executor(), ctx.signer(), *clock,
      FeedDeps{.events = store, .store = store, .hub = hub, .executor = &ctx.executor()}));
  // Webhooks (webhook_config.h): added before the hub's stop below, so they stop first.
  SIMPUL_RETURN_IF_ERROR(SetUpWebhooks(ctx, *store, *hub, *keyring, *clock));

  ctx.OnStart([router, hub, store, updated_index_ready, geo_index_ready](ServiceHost&) {
    // Cases written before the updated index existed enter it before the first list.
    absl::StatusOr<int64_t> backfilled = store->BackfillUpdatedIndex();
    if (!backfilled.ok()) {
      return absl::Status(backfilled.status().code(),
                          absl::StrCat("filling the updated index (ListComplaints "
                                       "updated_since): ",
                                       backfilled.status().message()));
    }
    if (*backfilled > 0) Log(LogLevel::kInfo, "updated index filled", {{"cases", *backfilled}});
    updated_index_ready->store(true);
    // The same for the geo indexes (ListComplaints within_box / near, possible duplicates).
    absl::StatusOr<int64_t> located = store->BackfillGeoIndex();
    if (!located.ok()) {
      return absl::Status(located.status().code(),
                          absl::StrCat("filling the geo indexes (ListComplaints within_box, "
                                       "near): ",
                                       located.status().message()));
    }
    if (*located > 0) Log(LogLevel::kInfo, "geo indexes filled", {{"cases", *located}});
    geo_index_ready->store(true);
    router->Start();
    hub->Start();
    return absl::OkStatus();
  });
  ctx.RunInBackground([store, desk, calendar, scan_interval = config.GetDuration("scan_interval"),
                       reload_interval = config.GetDuration("holidays_reload_interval")](
                          const absl::Notification& stop) {
    DropLegacyIdempotencyRecords(*store);
    RunBackground(*desk, *calendar, scan_interval, reload_interval, stop);
  });
  ctx.OnStop([router, hub] {
    hub->Stop();
    router->Stop();
  });
  return absl::OkStatus();
}
// ---- end of the complaint service's own parts --------------------------------------------

}  // namespace
}  // namespace simpul::complaints

int main(int argc, char** argv) {
  return simpul::RunService(simpul::complaints::Spec(), argc, argv, environ,
                            simpul::complaints::SetUp);
}
