// The webhook configuration keys of simpul-complaints (docs/configuration.md, "Webhooks") and
// SetUpWebhooks, which builds the Webhooks API and the delivery engine into the process.
#ifndef SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_CONFIG_H_
#define SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_CONFIG_H_

#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/service_main.h"
#include "services/complaints/feed.h"
#include "services/complaints/pii_crypto.h"
#include "services/complaints/redis_store.h"

namespace simpul::complaints {

// WebhookConfigKeys are the webhook_* keys.
std::vector<ConfigKey> WebhookConfigKeys();

// SetUpWebhooks adds the Webhooks service to `ctx` and starts the dispatcher and senders with
// the host (stopping them before `hub`). Its keys share the complaint store's key prefix.
absl::Status SetUpWebhooks(ServiceContext& ctx, RedisComplaintStore& store, EventFeedHub& hub,
                           const PiiKeyring& keys, const Clock& clock);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_CONFIG_H_
