// The rules of signed webhooks (issue #16 point 2) that need no network and no Redis:
// - the signature of a delivery (Simpul-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//   "<t>.<body>" under the subscription's secret>, one v1= per valid secret);
// - which URLs and which resolved addresses a webhook may reach (no SSRF through Simpul:
//   loopback, private, link-local, CGNAT, multicast and reserved ranges are refused unless a
//   configured allow-list names the host or the address's network);
// - the retry schedule: exponential backoff with jitter, until a window after the first
//   attempt ends and the delivery becomes a dead letter.
#ifndef SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_POLICY_H_
#define SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace simpul::complaints {

// ---- Signatures ---------------------------------------------------------------------------

// kSignatureHeader names the header that carries WebhookSignatureHeader's value.
inline constexpr std::string_view kSignatureHeader = "Simpul-Signature";

// WebhookSignature is the lowercase hex HMAC-SHA256 of "<unix_seconds>.<body>" under `secret`.
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);

// WebhookSignatureHeader is "t=<unix_seconds>,v1=<sig>[,v1=<sig>...]", one signature per
// secret in `secrets` (the current one first, then one in its rotation grace period).
std::string WebhookSignatureHeader(const std::vector<std::string>& secrets, int64_t unix_seconds,
                                   std::string_view body);

// VerifyWebhookSignature is the receiver's check (the recipe of docs/complaints.md): the header
// parses, its t is within `tolerance` of `now`, and one of its v1 values equals the expected
// signature (constant-time compare). INVALID_ARGUMENT for a malformed header,
// DEADLINE_EXCEEDED outside the window, UNAUTHENTICATED when no signature matches.
absl::Status VerifyWebhookSignature(std::string_view header, std::string_view secret,
                                    std::string_view body, absl::Time now,
                                    absl::Duration tolerance = absl::Minutes(5));

// ---- URLs and addresses -------------------------------------------------------------------

// WebhookUrl is a parsed webhook URL: scheme://host[:port][/path[?query]].
struct WebhookUrl {
  bool https = true;
  std::string host;  // without brackets for an IPv6 literal, lowercased
  uint16_t port = 443;
  std::string target = "/";  // path and query, what the request line carries
};

// WebhookUrlPolicy is the allow-list configuration (webhook_allow_* keys).
struct WebhookUrlPolicy {
  bool allow_http = false;               // plain http:// URLs accepted
  std::vector<std::string> allow_hosts;  // host names (exact, lowercase) that skip the checks
  std::vector<std::string> allow_cidrs;  // networks ("127.0.0.1/32", "fd00::/8") allowed
  size_t max_url_bytes = 2048;
};

// ParseWebhookUrl parses and checks the form of `url` under `policy`: https (or http when
// allowed), a host, no user info, no fragment, a port in 1..65535, at most max_url_bytes.
// INVALID_ARGUMENT saying what is wrong (the field is the caller's to name).
absl::StatusOr<WebhookUrl> ParseWebhookUrl(std::string_view url, const WebhookUrlPolicy& policy);

// ForbiddenAddressReason is why the numeric address `ip` (IPv4 dotted or IPv6) may not be
// reached by a webhook ("loopback", "private (RFC 1918)", ...), or nullopt when it is a public
// address. An IPv4-mapped IPv6 address is judged by its IPv4 address. A string that is not an
// address is "not an IP address".
std::optional<std::string> ForbiddenAddressReason(std::string_view ip);

// AddressInCidrs: `ip` lies in one of `cidrs` ("a.b.c.d/n", "x::/n"; a bare address is /32 or
// /128). Malformed entries match nothing (ValidateWebhookUrlPolicy reports them at start).
bool AddressInCidrs(std::string_view ip, const std::vector<std::string>& cidrs);

// ValidateWebhookUrlPolicy checks the allow-list's entries (INVALID_ARGUMENT naming the entry).
absl::Status ValidateWebhookUrlPolicy(const WebhookUrlPolicy& policy);

// CheckWebhookAddresses decides whether a connection to `host`, which resolved to `addresses`,
// is allowed: the host is on allow_hosts, or EVERY address is public or inside allow_cidrs.
// Called at creation and before EVERY connection with the addresses the connection will use
// (so a name that re-resolves to a private address later is refused then: DNS rebinding).
// INVALID_ARGUMENT naming the address and why; also when `addresses` is empty.
absl::Status CheckWebhookAddresses(const WebhookUrlPolicy& policy, std::string_view host,
                                   const std::vector<std::string>& addresses);

// ---- Retries ------------------------------------------------------------------------------

// WebhookRetryPolicy: the wait after the n-th failed attempt is initial * factor^(n-1), capped
// at max, times a random factor in [1 - jitter, 1 + jitter]; no attempt is scheduled later
// than `window` after the first attempt: the delivery is then a dead letter.
struct WebhookRetryPolicy {
  absl::Duration initial = absl::Seconds(10);
  absl::Duration max = absl::Hours(1);
  double factor = 2.0;
  double jitter = 0.2;
  absl::Duration window = absl::Hours(24);
};

// NextWebhookAttempt is when to try again after `failed_attempts` (>= 1) failed attempts, the
// first at `first_attempt`, the last ending at `now`; nullopt: the window is over (dead
// letter). `seed` drives the jitter (a delivery's id hash, so the schedule is reproducible).
std::optional<absl::Time> NextWebhookAttempt(const WebhookRetryPolicy& policy,
                                             absl::Time first_attempt, int failed_attempts,
                                             absl::Time now, uint64_t seed);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_POLICY_H_
