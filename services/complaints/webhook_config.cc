// Webhook configuration and wiring (webhook_config.h).
#include "services/complaints/webhook_config.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "services/complaints/store.h"
#include "services/complaints/webhook_admin.h"
#include "services/complaints/webhook_engine.h"
#include "services/complaints/webhook_grpc.h"

namespace simpul::complaints {
namespace {

std::vector<std::string> List(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

}  // namespace

std::vector<ConfigKey> WebhookConfigKeys() {
  std::vector<ConfigKey> keys;
  keys.push_back({.name = "webhook_allow_http",
                  .type = ConfigType::kBool,
                  .default_value = "false",
                  .help = "accept plain http:// webhook URLs (local demos and tests only)"});
  keys.push_back({.name = "webhook_allow_cidrs",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "comma-separated networks webhooks may reach although loopback, "
                          "private, link-local, CGNAT or multicast (e.g. 127.0.0.1/32)"});
  keys.push_back({.name = "webhook_allow_hosts",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "comma-separated host names webhooks may reach whatever they "
                          "resolve to"});
  keys.push_back({.name = "webhook_ca_file",
                  .type = ConfigType::kString,
                  .default_value = "",
                  .help = "PEM CA certificates https receivers are verified with; empty: the "
                          "system's CAs"});
  keys.push_back({.name = "webhook_request_timeout",
                  .type = ConfigType::kDuration,
                  .default_value = "10s",
                  .help = "deadline of one delivery attempt (connect, request and response)"});
  keys.push_back({.name = "webhook_retry_initial",
                  .type = ConfigType::kDuration,
                  .default_value = "10s",
                  .help = "wait after a delivery's first failed attempt (doubling after each)"});
  keys.push_back({.name = "webhook_retry_max",
                  .type = ConfigType::kDuration,
                  .default_value = "1h",
                  .help = "longest wait between two attempts of a delivery"});
  keys.push_back({.name = "webhook_retry_window",
                  .type = ConfigType::kDuration,
                  .default_value = "24h",
                  .help = "how long after its first attempt a failing delivery is retried "
                          "before it becomes a dead letter"});
  keys.push_back({.name = "webhook_sender_threads",
                  .type = ConfigType::kInt,
                  .default_value = "8",
                  .help = "deliveries in flight at once (one per subscription at most)",
                  .min_int = 1,
                  .max_int = 256});
  keys.push_back({.name = "webhook_poll_interval",
                  .type = ConfigType::kDuration,
                  .default_value = "1s",
                  .help = "how often idle webhook queues are looked at (new events wake them "
                          "at once)"});
  keys.push_back({.name = "webhook_max_backlog",
                  .type = ConfigType::kInt,
                  .default_value = "10000",
                  .help = "deliveries one webhook may hold, queued and dead letters together; "
                          "further events are not queued for it but counted (its receiver is "
                          "down or too slow: the owner reconciles with ListComplaints "
                          "updated_since); 0: no bound",
                  .min_int = 0,
                  .max_int = 10000000});
  keys.push_back({.name = "webhook_max_per_owner",
                  .type = ConfigType::kInt,
                  .default_value = "20",
                  .help = "webhook subscriptions one principal may own",
                  .min_int = 1,
                  .max_int = 1000});
  return keys;
}

absl::Status SetUpWebhooks(ServiceContext& ctx, RedisComplaintStore& store, EventFeedHub& hub,
                           const PiiKeyring& keys, const Clock& clock) {
  const Config& config = ctx.config();
  WebhookUrlPolicy policy;
  policy.allow_http = config.GetBool("webhook_allow_http");
  policy.allow_cidrs = List(config.GetString("webhook_allow_cidrs"));
  policy.allow_hosts = List(config.GetString("webhook_allow_hosts"));
  SIMPUL_RETURN_IF_ERROR(ValidateWebhookUrlPolicy(policy));
  SIMPUL_ASSIGN_OR_RETURN(std::shared_ptr<WebhookTls> tls,
                          WebhookTls::Create(config.GetString("webhook_ca_file")));

  WebhookEngineOptions engine_options;
  engine_options.url_policy = policy;
  engine_options.retry.initial = config.GetDuration("webhook_retry_initial");
  engine_options.retry.max = config.GetDuration("webhook_retry_max");
  engine_options.retry.window = config.GetDuration("webhook_retry_window");
  engine_options.request_timeout = config.GetDuration("webhook_request_timeout");
  engine_options.sender_threads = static_cast<int>(config.GetInt("webhook_sender_threads"));
  engine_options.poll_interval = config.GetDuration("webhook_poll_interval");
  engine_options.max_backlog = config.GetInt("webhook_max_backlog");
  if (engine_options.request_timeout <= absl::ZeroDuration() ||
      engine_options.retry.initial <= absl::ZeroDuration() ||
      engine_options.retry.max < engine_options.retry.initial ||
      engine_options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "webhook_request_timeout, webhook_retry_initial and webhook_poll_interval must be "
        "positive and webhook_retry_max at least webhook_retry_initial");
  }
  engine_options.lease_ttl = engine_options.request_timeout + absl::Seconds(5);

  auto* webhook_store = ctx.Make<WebhookStore>(&ctx.pool(), store.KeyPrefix());
  AudienceLookup lookup =
      [&store](const std::string& id) -> absl::StatusOr<std::optional<v1::EventAudience>> {
    auto record = store.Get(id);
    if (!record.ok()) return record.status();
    if (!record->has_value()) return std::optional<v1::EventAudience>();
    v1::EventAudience audience;
    audience.set_channel_name((*record)->complaint().channel_name());
    audience.set_publicly_listed(IsPubliclyListed((*record)->complaint()));
    return std::optional<v1::EventAudience>(std::move(audience));
  };
  auto* engine = ctx.Make<WebhookEngine>(*webhook_store, store, hub, std::move(lookup), keys, clock,
                                         tls, engine_options);
  WebhookAdminOptions admin_options;
  admin_options.url_policy = policy;
  admin_options.max_per_owner = static_cast<int>(config.GetInt("webhook_max_per_owner"));
  admin_options.wake = [engine] { engine->Wake(); };
  auto* admin = ctx.Make<WebhookAdmin>(*webhook_store, keys, clock, std::move(admin_options));
  ctx.AddService(ctx.Make<WebhooksGrpcService>(*admin, ctx.executor(), ctx.signer(), clock));
  ctx.OnStart([engine](ServiceHost&) {
    engine->Start();
    return absl::OkStatus();
  });
  ctx.OnStop([engine] { engine->Stop(); });
  return absl::OkStatus();
}

}  // namespace simpul::complaints
