// PostWebhook sends one webhook delivery: an HTTP/1.1 POST over TCP (https through OpenSSL,
// the server's certificate verified against the system CAs or a configured CA file, its name
// checked), with one deadline for resolve, connect, handshake, request and response. The host
// is resolved once per attempt and every address is checked against the allow-list BEFORE
// connecting (CheckWebhookAddresses), and only checked addresses are connected to, so a name
// that re-resolves to a private address (DNS rebinding) is refused at that attempt. Redirects
// are never followed (a 3xx is a failed attempt). The response body is read up to 64 KiB and
// discarded.
#ifndef SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_HTTP_H_
#define SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_HTTP_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/complaints/webhook_policy.h"

namespace simpul::complaints {

// WebhookTls is the TLS client configuration of webhook deliveries (an OpenSSL context).
class WebhookTls {
 public:
  // Create verifies servers against `ca_file` (PEM) or, when empty, the system's CAs.
  static absl::StatusOr<std::shared_ptr<WebhookTls>> Create(const std::string& ca_file);
  ~WebhookTls();
  void* native() const { return ctx_; }  // the boost::asio::ssl::context

 private:
  WebhookTls() = default;
  void* ctx_ = nullptr;
};

// WebhookPostResult is the outcome of one attempt: `http_status` 0 when no HTTP answer came,
// `error` empty for a 2xx answer, else why the attempt failed ("timeout", "HTTP 500",
// "connection closed before the response", "address refused: ...").
struct WebhookPostResult {
  int http_status = 0;
  std::string error;
  bool delivered() const { return error.empty(); }
};

WebhookPostResult PostWebhook(const WebhookUrlPolicy& policy, const WebhookUrl& url,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& body, absl::Duration timeout,
                              const WebhookTls* tls);

// ResolveHost returns the numeric addresses `host` resolves to (a literal address: itself).
absl::StatusOr<std::vector<std::string>> ResolveHost(const std::string& host);

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_WEBHOOK_HTTP_H_
