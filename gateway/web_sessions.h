// Officer sessions of the web front (issue #17): a person signs in once with an API key and
// the browser then holds a cookie instead of the key; the REST front turns the cookie back
// into the key before its gate, so admission, policy, rate limits, revocation and audit are
// exactly those of the key.
//
// The cookie value is 32 random bytes in unpadded base64url (43 characters). Redis holds, at
//
//   P ws:<hex SHA-256 of the cookie value>      hash (P = Options::key_prefix, as ApiKeyStore)
//     sealed     the API key token, AES-256-GCM under HMAC-SHA256(cookie, "simpul web session
//                seal"): 12-byte nonce, ciphertext, 16-byte tag; the Redis key is the AAD
//     principal  serialized simpul.common.v1.Principal (the key's, at sign-in)
//     csrf       SHA-256 of the session's CSRF token
//     created    create time, Unix ms
//     max_expire created + max_age, Unix ms
//
// with a TTL of idle_timeout, renewed on each use but never beyond max_expire. Neither the
// token nor the cookie is ever in Redis in clear, so Redis alone never yields a key, and any
// gateway replica on the same Redis serves the session (no shared key material). The CSRF
// token is HMAC-SHA256(cookie, "simpul web session csrf") in base64url: GET /web/session can
// show it again without storing it.
//
// Nothing here logs or puts a token, a cookie or a hash in a message.
#ifndef SIMPUL_GATEWAY_WEB_SESSIONS_H_
#define SIMPUL_GATEWAY_WEB_SESSIONS_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "gateway/rate_limit.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::gateway {

// kWebSessionCookie is the cookie's name.
inline constexpr std::string_view kWebSessionCookie = "simpul_session";
// kCsrfHeader is the request header that carries the CSRF token.
inline constexpr std::string_view kCsrfHeader = "x-csrf-token";

// WebSession is a session as read for one request.
struct WebSession {
  common::v1::Principal principal;  // the key's, at sign-in (or as verified now by Resume)
  std::string api_key;              // the token, unsealed (never logged)
  std::string csrf_token;           // derived from the cookie
  absl::Time create_time;
  absl::Time expire_time;  // the idle expiry as renewed now, at most create + max_age
};

// NewWebSession is a session just opened: its cookie value is shown once, in Set-Cookie.
struct NewWebSession {
  std::string cookie;
  WebSession session;
};

// IsNoWebSession: `status` is Resume's refusal of a cookie that names no live session
// (malformed, unknown, expired or signed out), not a refusal of the session's key.
bool IsNoWebSession(const absl::Status& status);

// CanUseWebConsole: the roles that may sign in (agency admins and operators, platform
// admins); PERMISSION_DENIED naming the role otherwise.
absl::Status CanUseWebConsole(const common::v1::Principal& principal);

// WebSessions opens, resumes and closes sessions in Redis. Thread-safe.
class WebSessions {
 public:
  struct Options {
    // Prefix of every key; it must contain a non-empty hash tag (ApiKeyStore's prefix).
    std::string key_prefix = "simpul:gw:{k}:";
    absl::Duration idle_timeout = absl::Minutes(30);
    absl::Duration max_age = absl::Hours(8);
    // Sign-in attempts per client address (bucket "signin|<address>" of the rate limiter).
    Limit sign_in_limit{.per_second = 10.0 / 60, .burst = 10};
    // Clock for create and expiry times; the system clock when null. Not owned.
    const Clock* clock = nullptr;
  };

  // `pool` and `keys` must outlive the sessions; `limiter` may be null (no sign-in limit).
  // INVALID_ARGUMENT naming the option for a prefix without a hash tag or a bad duration.
  static absl::StatusOr<std::unique_ptr<WebSessions>> Create(RedisPool* pool, ApiKeyStore* keys,
                                                             RateLimiter* limiter, Options options);
  WebSessions(const WebSessions&) = delete;
  WebSessions& operator=(const WebSessions&) = delete;

  // SignIn verifies `api_key`, checks its role and opens a session; `peer` is the client's
  // address (the sign-in rate limit). INVALID_ARGUMENT naming "api_key" when empty;
  // UNAUTHENTICATED as ApiKeyStore::Verify; PERMISSION_DENIED for a role that may not sign
  // in; RESOURCE_EXHAUSTED (with the kRetryAfterPayload payload) when throttled;
  // UNAVAILABLE when Redis cannot be reached.
  absl::StatusOr<NewWebSession> SignIn(std::string_view api_key, std::string_view peer);

  // Resume reads the session of `cookie` and renews its idle expiry. UNAUTHENTICATED when
  // there is none (malformed, unknown, expired); when its key is no longer valid (revoked)
  // the session is deleted and the key's refusal returned. UNAVAILABLE when Redis fails.
  absl::StatusOr<WebSession> Resume(std::string_view cookie);

  // SignOut deletes the session of `cookie` (OK when there is none).
  absl::Status SignOut(std::string_view cookie);

  // CheckCsrf: `given` (the X-CSRF-Token header) is `session`'s token, compared in constant
  // time; PERMISSION_DENIED naming the header otherwise.
  static absl::Status CheckCsrf(const WebSession& session, std::string_view given);

  // RedisKey is the key of the session of `cookie` (for tests and tools).
  std::string RedisKey(std::string_view cookie) const;

  const Options& options() const { return options_; }

 private:
  WebSessions(RedisPool* pool, ApiKeyStore* keys, RateLimiter* limiter, Options options);
  absl::Time Now() const;

  RedisPool* const pool_;
  ApiKeyStore* const keys_;
  RateLimiter* const limiter_;
  const Options options_;
  const SystemClock system_clock_;
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_WEB_SESSIONS_H_
