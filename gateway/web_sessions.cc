// Officer sessions of the web front in Redis (gateway/web_sessions.h).
#include "gateway/web_sessions.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/identity.h"
#include "common/status.h"
#include "gateway/policy.h"
#include "gateway/proxy.h"

namespace simpul::gateway {
namespace {

constexpr size_t kCookieBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr char kSealLabel[] = "simpul web session seal";
constexpr char kCsrfLabel[] = "simpul web session csrf";

constexpr char kNoSession[] =
    "not signed in: the session cookie is missing, unknown or expired; sign in again";

std::string Sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("the random generator (OpenSSL RAND_bytes) failed");
  }
  return out;
}

// WellFormedCookie: 43 base64url characters (32 bytes, unpadded).
bool WellFormedCookie(std::string_view cookie) {
  return cookie.size() == 43 && std::all_of(cookie.begin(), cookie.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
         });
}

std::string CsrfToken(std::string_view cookie) {
  return absl::WebSafeBase64Escape(AbslView(HmacSha256(cookie, kCsrfLabel)));
}

// Seal encrypts `plain` with AES-256-GCM under `key` (32 bytes), `aad` authenticated:
// nonce || ciphertext || tag.
absl::StatusOr<std::string> Seal(std::string_view key, std::string_view plain,
                                 std::string_view aad) {
  SIMPUL_ASSIGN_OR_RETURN(std::string nonce, RandomBytes(kNonceBytes));
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  std::string out = nonce;
  out.resize(kNonceBytes + plain.size() + kTagBytes);
  auto* p = reinterpret_cast<unsigned char*>(out.data()) + kNonceBytes;
  int len = 0;
  int total = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), p, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) == 1 &&
      (total = len, EVP_EncryptFinal_ex(ctx.get(), p + total, &len) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, p + plain.size()) == 1;
  if (!ok) return absl::InternalError("cannot seal the web session (AES-256-GCM)");
  return out;
}

// Unseal reverses Seal; nullopt when the data was not sealed under `key` with `aad`.
std::optional<std::string> Unseal(std::string_view key, std::string_view sealed,
                                  std::string_view aad) {
  if (sealed.size() < kNonceBytes + kTagBytes) return std::nullopt;
  const size_t n = sealed.size() - kNonceBytes - kTagBytes;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  std::string out(n, '\0');
  std::string tag(sealed.substr(kNonceBytes + n));
  int len = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()),
                         reinterpret_cast<const unsigned char*>(sealed.data())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                        reinterpret_cast<const unsigned char*>(sealed.data()) + kNonceBytes,
                        static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok) return std::nullopt;
  return out;
}

int64_t UnixMillis(absl::Time t) { return absl::ToUnixMillis(t); }

// Opening writes the fields and the first TTL in one step.
const RedisScript& OpenScript() {
  static const auto* script = new RedisScript(R"lua(
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'sealed', ARGV[1], 'principal', ARGV[2], 'csrf', ARGV[3],
           'created', ARGV[4], 'max_expire', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
)lua");
  return *script;
}

// Resuming reads the fields and renews the TTL to min(idle, max_expire - now); a session
// past its max age is deleted. ARGV: now (Unix ms), idle (ms).
const RedisScript& ResumeScript() {
  static const auto* script = new RedisScript(R"lua(
local v = redis.call('HMGET', KEYS[1], 'sealed', 'principal', 'csrf', 'created', 'max_expire')
if not v[1] or not v[5] then return false end
local left = tonumber(v[5]) - tonumber(ARGV[1])
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
local ttl = math.min(tonumber(ARGV[2]), left)
redis.call('PEXPIRE', KEYS[1], ttl)
return {v[1], v[2], v[3], v[4], tostring(tonumber(ARGV[1]) + ttl)}
)lua");
  return *script;
}

absl::Status Unreachable(const absl::Status& status) {
  return absl::UnavailableError(absl::StrCat("the session store (Redis) cannot be reached; retry (",
                                             absl::StatusCodeToString(status.code()), ")"));
}

}  // namespace

bool IsNoWebSession(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnauthenticated && status.message() == kNoSession;
}

absl::Status CanUseWebConsole(const common::v1::Principal& principal) {
  switch (principal.role()) {
    case common::v1::ROLE_AGENCY_ADMIN:
    case common::v1::ROLE_AGENCY_OPERATOR:
    case common::v1::ROLE_PLATFORM_ADMIN:
      return absl::OkStatus();
    default:
      return absl::PermissionDeniedError(absl::StrCat(
          "the console is for agency officers: the role ", AbslView(RoleName(principal.role())),
          " may not sign in (agency admins, agency operators and platform admins may)"));
  }
}

absl::StatusOr<std::unique_ptr<WebSessions>> WebSessions::Create(RedisPool* pool, ApiKeyStore* keys,
                                                                 RateLimiter* limiter,
                                                                 Options options) {
  if (pool == nullptr || keys == nullptr) {
    return absl::InvalidArgumentError("web sessions: no Redis pool or API key store");
  }
  const size_t open = options.key_prefix.find('{');
  const size_t close =
      open == std::string::npos ? std::string::npos : options.key_prefix.find('}', open + 1);
  if (close == std::string::npos || close == open + 1) {
    return absl::InvalidArgumentError(
        "web sessions: key_prefix has no non-empty hash tag \"{...}\" (e.g. \"simpul:gw:{k}:\")");
  }
  if (options.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("web_session_idle_timeout must be positive");
  }
  if (options.max_age < options.idle_timeout) {
    return absl::InvalidArgumentError(
        "web_session_max_age must be at least web_session_idle_timeout");
  }
  return std::unique_ptr<WebSessions>(new WebSessions(pool, keys, limiter, std::move(options)));
}

WebSessions::WebSessions(RedisPool* pool, ApiKeyStore* keys, RateLimiter* limiter, Options options)
    : pool_(pool), keys_(keys), limiter_(limiter), options_(std::move(options)) {}

absl::Time WebSessions::Now() const {
  return options_.clock != nullptr ? options_.clock->Now() : system_clock_.Now();
}

std::string WebSessions::RedisKey(std::string_view cookie) const {
  return absl::StrCat(options_.key_prefix, "ws:", absl::BytesToHexString(AbslView(Sha256(cookie))));
}

absl::StatusOr<NewWebSession> WebSessions::SignIn(std::string_view api_key, std::string_view peer) {
  if (limiter_ != nullptr) {
    const Decision decision =
        limiter_->Check(absl::StrCat("signin|", BucketKeyForPeer(peer)), options_.sign_in_limit);
    if (!decision.allowed) {
      const int64_t seconds = RetryAfterSeconds(decision.retry_after);
      absl::Status refused = absl::ResourceExhaustedError(
          absl::StrCat("rate limit of ", FormatLimit(options_.sign_in_limit),
                       " exceeded; retry after ", seconds, " s"));
      refused.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(seconds)));
      return refused;
    }
  }
  if (api_key.empty()) return InvalidField("api_key", "required");
  SIMPUL_ASSIGN_OR_RETURN(common::v1::Principal principal, keys_->Verify(api_key));
  SIMPUL_RETURN_IF_ERROR(CanUseWebConsole(principal));

  SIMPUL_ASSIGN_OR_RETURN(std::string random, RandomBytes(kCookieBytes));
  NewWebSession out;
  out.cookie = absl::WebSafeBase64Escape(AbslView(random));
  const std::string key = RedisKey(out.cookie);
  SIMPUL_ASSIGN_OR_RETURN(std::string sealed,
                          Seal(HmacSha256(out.cookie, kSealLabel), api_key, key));
  const absl::Time now = Now();
  WebSession& session = out.session;
  session.principal = principal;
  session.api_key = std::string(api_key);
  session.csrf_token = CsrfToken(out.cookie);
  session.create_time = now;
  session.expire_time = now + std::min(options_.idle_timeout, options_.max_age);
  const int64_t idle_ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.idle_timeout));
  absl::StatusOr<RedisReply> written =
      pool_->EvalWrite(OpenScript(), {key},
                       {sealed, principal.SerializeAsString(), Sha256(session.csrf_token),
                        absl::StrCat(UnixMillis(now)),
                        absl::StrCat(UnixMillis(now + options_.max_age)), absl::StrCat(idle_ms)});
  if (!written.ok()) return Unreachable(written.status());
  if (written->is_error()) return absl::InternalError("the session store refused the session");
  return out;
}

absl::StatusOr<WebSession> WebSessions::Resume(std::string_view cookie) {
  if (!WellFormedCookie(cookie)) return absl::UnauthenticatedError(kNoSession);
  const std::string key = RedisKey(cookie);
  const absl::Time now = Now();
  absl::StatusOr<RedisReply> reply = pool_->Eval(
      ResumeScript(), {key},
      {absl::StrCat(UnixMillis(now)),
       absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.idle_timeout)))});
  if (!reply.ok()) return Unreachable(reply.status());
  if (reply->is_error()) return absl::InternalError("the session store failed to read");
  if (reply->type != RedisReply::Type::kArray || reply->elements.size() != 5) {
    return absl::UnauthenticatedError(kNoSession);
  }
  const std::vector<RedisReply>& v = reply->elements;
  WebSession session;
  int64_t created = 0;
  int64_t expires = 0;
  std::optional<std::string> api_key = Unseal(HmacSha256(cookie, kSealLabel), v[0].str, key);
  if (!api_key || !session.principal.ParseFromString(v[1].str) ||
      !absl::SimpleAtoi(v[3].str, &created) || !absl::SimpleAtoi(v[4].str, &expires)) {
    (void)pool_->Command({"DEL", key});
    return absl::UnauthenticatedError(kNoSession);
  }
  session.csrf_token = CsrfToken(cookie);
  if (Sha256(session.csrf_token) != v[2].str) {
    (void)pool_->Command({"DEL", key});
    return absl::UnauthenticatedError(kNoSession);
  }
  session.api_key = *std::move(api_key);
  session.create_time = absl::FromUnixMillis(created);
  session.expire_time = absl::FromUnixMillis(expires);
  // The key as it is now: a revoked key ends the session.
  absl::StatusOr<common::v1::Principal> verified = keys_->Verify(session.api_key);
  if (!verified.ok()) {
    if (verified.status().code() == absl::StatusCode::kUnauthenticated) {
      (void)pool_->Command({"DEL", key});
    }
    return verified.status();
  }
  session.principal = *std::move(verified);
  return session;
}

absl::Status WebSessions::SignOut(std::string_view cookie) {
  if (!WellFormedCookie(cookie)) return absl::OkStatus();
  absl::StatusOr<RedisReply> reply = pool_->Command({"DEL", RedisKey(cookie)});
  if (!reply.ok()) return Unreachable(reply.status());
  return absl::OkStatus();
}

absl::Status WebSessions::CheckCsrf(const WebSession& session, std::string_view given) {
  if (given.empty()) {
    return absl::PermissionDeniedError(
        "the X-CSRF-Token header is required with the session cookie: send the csrf_token of "
        "/web/session");
  }
  const std::string want = Sha256(session.csrf_token);
  const std::string got = Sha256(given);
  if (CRYPTO_memcmp(want.data(), got.data(), want.size()) != 0) {
    return absl::PermissionDeniedError(
        "the X-CSRF-Token header does not match this session's csrf_token");
  }
  return absl::OkStatus();
}

}  // namespace simpul::gateway
