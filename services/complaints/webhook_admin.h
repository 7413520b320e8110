// WebhookAdmin is the domain side of the Webhooks API (webhooks.proto): who may manage which
// subscription, the checks of every field (URL allow-list at creation, kinds, filters,
// limits), secrets (generated here, returned once, stored only sealed with the service's PII
// key ring, the webhook id bound as data) and re-drives. The gRPC adapter only converts.
#ifndef SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_ADMIN_H_
#define SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_ADMIN_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/identity.h"
#include "services/complaints/pii_crypto.h"
#include "services/complaints/webhook_policy.h"
#include "services/complaints/webhook_store.h"

namespace simpul::complaints {

struct WebhookAdminOptions {
  WebhookUrlPolicy url_policy;
  int max_per_owner = 20;
  int max_event_kinds = 50;
  // Resolves a host to its addresses (default: the system resolver, ResolveHost).
  std::function<absl::StatusOr<std::vector<std::string>>(const std::string&)> resolve;
  // Called after a change that may make deliveries due (unpause, redrive).
  std::function<void()> wake;
};

class WebhookAdmin {
 public:
  WebhookAdmin(WebhookStore& store, const PiiKeyring& keys, const Clock& clock,
               WebhookAdminOptions options);

  absl::StatusOr<v1::CreateWebhookResponse> Create(const Identity& caller,
                                                   const v1::CreateWebhookRequest& req);
  absl::StatusOr<v1::Webhook> Get(const Identity& caller, const v1::GetWebhookRequest& req);
  absl::StatusOr<v1::ListWebhooksResponse> List(const Identity& caller,
                                                const v1::ListWebhooksRequest& req);
  absl::StatusOr<v1::Webhook> Update(const Identity& caller, const v1::UpdateWebhookRequest& req);
  absl::StatusOr<v1::DeleteWebhookResponse> Delete(const Identity& caller,
                                                   const v1::DeleteWebhookRequest& req);
  absl::StatusOr<v1::RotateWebhookSecretResponse> Rotate(const Identity& caller,
                                                         const v1::RotateWebhookSecretRequest& req);
  absl::StatusOr<v1::ListWebhookDeliveriesResponse> ListDeliveries(
      const Identity& caller, const v1::ListWebhookDeliveriesRequest& req);
  absl::StatusOr<v1::RedriveWebhookDeliveriesResponse> Redrive(
      const Identity& caller, const v1::RedriveWebhookDeliveriesRequest& req);

 private:
  // Manageable reads a subscription the caller may manage (NOT_FOUND otherwise).
  absl::StatusOr<v1::WebhookRecord> Manageable(const Identity& caller, const std::string& id);
  // CheckFields validates url, kinds and filters as `what` (a request message name).
  absl::Status CheckFields(const Identity& caller, const v1::Webhook& w, std::string_view what);
  absl::StatusOr<v1::Webhook> WithCounts(v1::Webhook w);

  WebhookStore& store_;
  const PiiKeyring& keys_;
  const Clock& clock_;
  WebhookAdminOptions options_;
};

// MayManageWebhooks: channels, agency admins and platform admins.
bool MayManageWebhooks(const Identity& caller);
// ManagesWebhook: `caller` may see and change `record` (its owner; an agency admin of the
// owner's agency; a platform admin).
bool ManagesWebhook(const Identity& caller, const v1::WebhookRecord& record);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_ADMIN_H_
