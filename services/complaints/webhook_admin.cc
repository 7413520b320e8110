// The Webhooks API's domain logic (webhook_admin.h).
#include "services/complaints/webhook_admin.h"

#include <openssl/rand.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/field_rules.h"
#include "common/messages.h"
#include "common/status.h"
#include "services/complaints/feed.h"
#include "services/complaints/webhook_http.h"

namespace simpul::complaints {
namespace {

std::string RandomHex(int bytes) {
  std::vector<unsigned char> buf(bytes);
  RAND_bytes(buf.data(), bytes);
  std::string out;
  for (unsigned char b : buf) absl::StrAppend(&out, absl::Hex(b, absl::kZeroPad2));
  return out;
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ns = absl::ToUnixNanos(t);
  ts.set_seconds(ns / 1000000000);
  ts.set_nanos(static_cast<int32_t>(ns % 1000000000));
  return ts;
}

bool IsWebhookId(const std::string& id) {
  return id.size() == 23 && id.rfind("wh_", 0) == 0 &&
         std::all_of(id.begin() + 3, id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool MayManageWebhooks(const Identity& caller) {
  const auto role = caller.principal.role();
  return role == common::v1::ROLE_CHANNEL || role == common::v1::ROLE_AGENCY_ADMIN ||
         role == common::v1::ROLE_PLATFORM_ADMIN;
}

bool ManagesWebhook(const Identity& caller, const v1::WebhookRecord& record) {
  if (caller.is_platform_admin()) return true;
  if (!MayManageWebhooks(caller)) return false;
  const v1::Webhook& w = record.webhook();
  if (caller.principal.role() == common::v1::ROLE_AGENCY_ADMIN &&
      !caller.principal.agency_id().empty() &&
      w.owner_agency_id() == caller.principal.agency_id()) {
    return true;
  }
  return !caller.principal.subject().empty() && w.owner_subject() == caller.principal.subject() &&
         w.owner_role() == caller.principal.role();
}

WebhookAdmin::WebhookAdmin(WebhookStore& store, const PiiKeyring& keys, const Clock& clock,
                           WebhookAdminOptions options)
    : store_(store), keys_(keys), clock_(clock), options_(std::move(options)) {
  if (!options_.resolve) options_.resolve = ResolveHost;
}

absl::Status WebhookAdmin::CheckFields(const Identity& caller, const v1::Webhook& w,
                                       std::string_view what) {
  FieldViolations v;
  absl::StatusOr<WebhookUrl> url = ParseWebhookUrl(w.url(), options_.url_policy);
  if (!url.ok()) {
    v.Add("url", std::string(url.status().message()));
  } else {
    absl::StatusOr<std::vector<std::string>> addresses = options_.resolve(url->host);
    absl::Status allowed = addresses.ok()
                               ? CheckWebhookAddresses(options_.url_policy, url->host, *addresses)
                               : addresses.status();
    if (!allowed.ok()) v.Add("url", std::string(allowed.message()));
  }
  if (w.event_kinds_size() > options_.max_event_kinds) {
    v.Add("event_kinds", absl::StrCat("at most ", options_.max_event_kinds, " kinds"));
  }
  for (int i = 0; i < w.event_kinds_size(); ++i) {
    const std::string& a = w.event_kinds(i);
    const bool word =
        !a.empty() && a.size() <= 64 && absl::ascii_isupper(a[0]) &&
        std::all_of(a.begin(), a.end(), [](char ch) { return absl::ascii_isalpha(ch); });
    if (!word) {
      v.Add(absl::StrCat("event_kinds[", i, "]"),
            "expected an action name such as \"VerifyComplaint\" (letters only)");
    }
  }
  if (!w.agency_id().empty()) CheckSlug(v, "agency_id", w.agency_id());
  if (!w.unit_id().empty()) CheckSlug(v, "unit_id", w.unit_id());
  SIMPUL_RETURN_IF_ERROR(v.ToStatus(what));
  if (caller.principal.role() == common::v1::ROLE_AGENCY_ADMIN && !w.agency_id().empty() &&
      w.agency_id() != caller.principal.agency_id()) {
    return absl::PermissionDeniedError(absl::StrCat("agency_id: the caller acts for agency ",
                                                    caller.principal.agency_id(), ", not ",
                                                    w.agency_id()));
  }
  return absl::OkStatus();
}

// WebhookLang is the language tag of a webhook's texts: the one asked for ("id"/"en"), else
// Bahasa Indonesia for a channel's webhook and English for anyone else's.
absl::StatusOr<std::string> WebhookLang(const common::v1::Principal& owner,
                                        const std::string& asked) {
  if (asked.empty()) {
    return std::string(
        LangTag(owner.role() == common::v1::ROLE_CHANNEL ? Lang::kIndonesian : Lang::kEnglish));
  }
  SIMPUL_ASSIGN_OR_RETURN(const Lang lang, ParseLangParam(asked));
  return std::string(LangTag(lang));
}

absl::StatusOr<v1::Webhook> WebhookAdmin::WithCounts(v1::Webhook w) {
  SIMPUL_ASSIGN_OR_RETURN(auto counts, store_.Counts(w.id()));
  w.set_pending_count(counts.first);
  w.set_dead_count(counts.second);
  return w;
}

absl::StatusOr<v1::WebhookRecord> WebhookAdmin::Manageable(const Identity& caller,
                                                           const std::string& id) {
  if (!MayManageWebhooks(caller)) {
    return absl::PermissionDeniedError(
        "webhooks are managed by channels, agency admins and platform admins");
  }
  if (!IsWebhookId(id)) {
    return InvalidField("id", "expected a webhook id (\"wh_\" and 20 lowercase hex digits)");
  }
  SIMPUL_ASSIGN_OR_RETURN(std::optional<v1::WebhookRecord> record, store_.Get(id));
  if (!record || !ManagesWebhook(caller, *record)) {
    return absl::NotFoundError(absl::StrCat("no webhook ", id));
  }
  return *std::move(record);
}

absl::StatusOr<v1::CreateWebhookResponse> WebhookAdmin::Create(
    const Identity& caller, const v1::CreateWebhookRequest& req) {
  if (!MayManageWebhooks(caller)) {
    return absl::PermissionDeniedError(
        "webhooks are managed by channels, agency admins and platform admins");
  }
  v1::WebhookRecord record;
  v1::Webhook& w = *record.mutable_webhook();
  w.set_url(req.url());
  *w.mutable_event_kinds() = req.event_kinds();
  w.set_agency_id(req.agency_id());
  w.set_unit_id(req.unit_id());
  w.set_paused(req.paused());
  SIMPUL_ASSIGN_OR_RETURN(const std::string lang, WebhookLang(caller.principal, req.lang()));
  w.set_lang(lang);
  SIMPUL_RETURN_IF_ERROR(CheckFields(caller, w, req.GetDescriptor()->name()));
  SIMPUL_ASSIGN_OR_RETURN(std::vector<v1::WebhookRecord> all, store_.All());
  const int owned = static_cast<int>(std::count_if(all.begin(), all.end(), [&](const auto& r) {
    return r.webhook().owner_subject() == caller.principal.subject() &&
           r.webhook().owner_role() == caller.principal.role();
  }));
  if (owned >= options_.max_per_owner) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the caller already has ", owned, " webhooks; at most ", options_.max_per_owner));
  }
  const absl::Time now = clock_.Now();
  w.set_id(absl::StrCat("wh_", RandomHex(10)));
  w.set_owner_subject(caller.principal.subject());
  w.set_owner_role(caller.principal.role());
  w.set_owner_agency_id(caller.principal.agency_id());
  w.set_owner_channel(caller.principal.channel());
  *w.mutable_create_time() = ToProto(now);
  *w.mutable_update_time() = ToProto(now);
  *record.mutable_owner() = caller.principal;
  record.mutable_owner()->clear_expire_time();
  record.mutable_owner()->clear_audience();
  const std::string secret = absl::StrCat("whsec_", RandomHex(32));
  record.set_sealed_secret(keys_.Seal(secret, w.id()));
  SIMPUL_RETURN_IF_ERROR(store_.Put(record));
  v1::CreateWebhookResponse out;
  SIMPUL_ASSIGN_OR_RETURN(*out.mutable_webhook(), WithCounts(w));
  out.set_secret(secret);
  return out;
}

absl::StatusOr<v1::Webhook> WebhookAdmin::Get(const Identity& caller,
                                              const v1::GetWebhookRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(v1::WebhookRecord record, Manageable(caller, req.id()));
  return WithCounts(record.webhook());
}

absl::StatusOr<v1::ListWebhooksResponse> WebhookAdmin::List(const Identity& caller,
                                                            const v1::ListWebhooksRequest&) {
  if (!MayManageWebhooks(caller)) {
    return absl::PermissionDeniedError(
        "webhooks are managed by channels, agency admins and platform admins");
  }
  SIMPUL_ASSIGN_OR_RETURN(std::vector<v1::WebhookRecord> all, store_.All());
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.webhook().id() < b.webhook().id(); });
  v1::ListWebhooksResponse out;
  for (const v1::WebhookRecord& r : all) {
    if (!ManagesWebhook(caller, r)) continue;
    SIMPUL_ASSIGN_OR_RETURN(*out.add_webhooks(), WithCounts(r.webhook()));
  }
  return out;
}

absl::StatusOr<v1::Webhook> WebhookAdmin::Update(const Identity& caller,
                                                 const v1::UpdateWebhookRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(v1::WebhookRecord record, Manageable(caller, req.id()));
  v1::Webhook& w = *record.mutable_webhook();
  const bool was_paused = w.paused();
  std::vector<std::string> mask(req.update_mask().begin(), req.update_mask().end());
  if (mask.empty()) mask = {"url", "event_kinds", "agency_id", "unit_id", "paused", "lang"};
  for (size_t i = 0; i < mask.size(); ++i) {
    const std::string& f = mask[i];
    if (f == "url")
      w.set_url(req.url());
    else if (f == "event_kinds")
      *w.mutable_event_kinds() = req.event_kinds();
    else if (f == "agency_id")
      w.set_agency_id(req.agency_id());
    else if (f == "unit_id")
      w.set_unit_id(req.unit_id());
    else if (f == "paused")
      w.set_paused(req.paused());
    else if (f == "lang") {
      SIMPUL_ASSIGN_OR_RETURN(const std::string lang, WebhookLang(record.owner(), req.lang()));
      w.set_lang(lang);
    } else {
      return InvalidField(absl::StrCat("update_mask[", i, "]"),
                          "expected one of url, event_kinds, agency_id, unit_id, paused, lang");
    }
  }
  SIMPUL_RETURN_IF_ERROR(CheckFields(caller, w, req.GetDescriptor()->name()));
  *w.mutable_update_time() = ToProto(clock_.Now());
  SIMPUL_RETURN_IF_ERROR(store_.Put(record));
  if (was_paused && !w.paused() && options_.wake) options_.wake();
  return WithCounts(w);
}

absl::StatusOr<v1::DeleteWebhookResponse> WebhookAdmin::Delete(
    const Identity& caller, const v1::DeleteWebhookRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(v1::WebhookRecord record, Manageable(caller, req.id()));
  SIMPUL_RETURN_IF_ERROR(store_.Delete(record.webhook().id()).status());
  return v1::DeleteWebhookResponse();
}

absl::StatusOr<v1::RotateWebhookSecretResponse> WebhookAdmin::Rotate(
    const Identity& caller, const v1::RotateWebhookSecretRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(v1::WebhookRecord record, Manageable(caller, req.id()));
  if (req.grace_period_seconds() < 0 || req.grace_period_seconds() > 7 * 24 * 3600) {
    return InvalidField("grace_period_seconds", "expected 0 (24 h) to 604800 (7 days)");
  }
  const absl::Duration grace =
      req.grace_period_seconds() == 0 ? absl::Hours(24) : absl::Seconds(req.grace_period_seconds());
  const absl::Time now = clock_.Now();
  v1::Webhook& w = *record.mutable_webhook();
  record.set_sealed_previous_secret(record.sealed_secret());
  *w.mutable_previous_secret_expire_time() = ToProto(now + grace);
  const std::string secret = absl::StrCat("whsec_", RandomHex(32));
  record.set_sealed_secret(keys_.Seal(secret, w.id()));
  *w.mutable_update_time() = ToProto(now);
  SIMPUL_RETURN_IF_ERROR(store_.Put(record));
  v1::RotateWebhookSecretResponse out;
  SIMPUL_ASSIGN_OR_RETURN(*out.mutable_webhook(), WithCounts(w));
  out.set_secret(secret);
  return out;
}

absl::StatusOr<v1::ListWebhookDeliveriesResponse> WebhookAdmin::ListDeliveries(
    const Identity& caller, const v1::ListWebhookDeliveriesRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(v1::WebhookRecord record, Manageable(caller, req.id()));
  if (req.limit() < 0 || req.limit() > 1000) {
    return InvalidField("limit", "expected 0 (100) to 1000");
  }
  const int limit = req.limit() == 0 ? 100 : req.limit();
  const std::string& id = record.webhook().id();
  v1::ListWebhookDeliveriesResponse out;
  auto want = [&](v1::DeliveryState s) {
    return req.state() == v1::DELIVERY_STATE_UNSPECIFIED || req.state() == s;
  };
  if (want(v1::DELIVERY_STATE_DEAD)) {
    SIMPUL_ASSIGN_OR_RETURN(auto dead, store_.Dead(id, limit));
    for (auto it = dead.rbegin(); it != dead.rend(); ++it) *out.add_deliveries() = it->delivery();
  }
  if (want(v1::DELIVERY_STATE_PENDING)) {
    SIMPUL_ASSIGN_OR_RETURN(auto pending, store_.Pending(id, limit));
    for (const auto& q : pending) *out.add_deliveries() = q.delivery();
  }
  if (want(v1::DELIVERY_STATE_DELIVERED)) {
    SIMPUL_ASSIGN_OR_RETURN(auto done, store_.Delivered(id, limit));
    for (const auto& d : done) *out.add_deliveries() = d;
  }
  if (out.deliveries_size() > limit) {
    out.mutable_deliveries()->DeleteSubrange(limit, out.deliveries_size() - limit);
  }
  return out;
}

absl::StatusOr<v1::RedriveWebhookDeliveriesResponse> WebhookAdmin::Redrive(
    const Identity& caller, const v1::RedriveWebhookDeliveriesRequest& req) {
  SIMPUL_ASSIGN_OR_RETURN(v1::WebhookRecord record, Manageable(caller, req.id()));
  if (req.delivery_ids_size() > 1000) {
    return InvalidField("delivery_ids", "at most 1000 deliveries per call");
  }
  std::vector<std::string> ids(req.delivery_ids().begin(), req.delivery_ids().end());
  SIMPUL_ASSIGN_OR_RETURN(
      int moved,
      store_.Redrive(
          record.webhook().id(),
          [&](const v1::QueuedDelivery& q) {
            if (!req.complaint_id().empty() && q.delivery().complaint_id() != req.complaint_id()) {
              return false;
            }
            return ids.empty() ||
                   std::find(ids.begin(), ids.end(), q.delivery().delivery_id()) != ids.end();
          },
          [](const v1::QueuedDelivery& q) {
            v1::QueuedDelivery fresh = q;
            v1::WebhookDelivery& d = *fresh.mutable_delivery();
            d.set_state(v1::DELIVERY_STATE_PENDING);
            d.clear_first_attempt_time();
            d.clear_next_attempt_time();
            d.set_attempts(0);
            return fresh;
          }));
  if (moved > 0 && options_.wake) options_.wake();
  v1::RedriveWebhookDeliveriesResponse out;
  out.set_redriven(moved);
  return out;
}

}  // namespace simpul::complaints
