// API keys of simpul-gateway: issuing, verifying (with an in-process cache, on the hot path of
// every call), listing and revoking keys stored in Redis, and the authorization rules of the
// admin API that manages them.
//
// A token is "<id>.<secret>": the id is "k" and 16 lowercase hex digits, the secret 32 random
// bytes (OpenSSL RAND_bytes) in unpadded base64url (43 characters). Only SHA-256 of the
// secret's bytes is stored, so a token is shown once, when it is issued, and cannot be
// recovered from Redis.
//
// Key layout. Every key starts with P = Options::key_prefix, which carries exactly one hash
// tag (default "simpul:gw:{k}:"), so all keys share one Cluster slot and the multi-key scripts
// stay valid on Redis Cluster. Scripts touch only keys passed in KEYS.
//
//   P key:<id>                    string: serialized v1.ApiKeyRecord (never deleted)
//   P ix:all                      sorted set of every key
//   P ix:active                   sorted set of the keys not revoked
//   P ix:agency:<agency>:all      sorted set of the agency's keys (agency admin and operator)
//   P ix:agency:<agency>:active   the same, not revoked
//
// Index members all have score 0 and read "<create time in Unix ms, 16 digits>:<id>", so a
// ZRANGEBYLEX lists keys oldest first, ties by id, and a page token holds the last member
// returned (stable paging: keys issued meanwhile sort after the ones already listed).
//
// The store never logs and never puts a secret, a token or a hash in an error message.
#ifndef SIMPUL_GATEWAY_API_KEYS_H_
#define SIMPUL_GATEWAY_API_KEYS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/redis.h"
#include "simpul/common/v1/common.pb.h"
#include "simpul/gateway/v1/gateway.pb.h"

namespace simpul::gateway {

// kApiKeySubjectPrefix starts the subject of every principal verified by an API key:
// "key:<id>".
inline constexpr std::string_view kApiKeySubjectPrefix = "key:";

// kInvalidApiKeyMessage is the UNAUTHENTICATED message of every token that is malformed,
// names no stored key or carries a wrong secret: one message for all, so a caller cannot
// learn whether an id exists.
inline constexpr std::string_view kInvalidApiKeyMessage =
    "invalid API key: expected a token \"<id>.<secret>\" as issued; this one is malformed, "
    "unknown or has a wrong secret";

// IsValidApiKeyId checks "k" followed by 16 lowercase hex digits.
bool IsValidApiKeyId(std::string_view id);

// IsValidChannelName checks 2..64 characters of a-z, 0-9, '-' and '_', starting and ending
// with a letter or digit (the channel of a ROLE_CHANNEL principal).
bool IsValidChannelName(std::string_view channel);

// IssuedApiKey is a new key and its token, which is shown once and never stored.
struct IssuedApiKey {
  v1::ApiKey key;
  std::string token;
};

// ApiKeyStore issues, verifies, lists and revokes API keys in Redis. It is thread-safe.
class ApiKeyStore {
 public:
  struct Options {
    // Prefix of every key; it must contain a non-empty hash tag ("{...}").
    std::string key_prefix = "simpul:gw:{k}:";
    // How long Verify trusts a key read from Redis: a revoked key keeps working at most this
    // long in a process that did not revoke it. Zero disables the cache.
    absl::Duration cache_ttl = absl::Seconds(5);
    // How long Verify remembers that an id names no key (at most cache_ttl).
    absl::Duration negative_cache_ttl = absl::Seconds(1);
    // Bounds of the two caches (entries); when full, expired entries go first, then arbitrary
    // ones.
    size_t cache_capacity = 10000;
    size_t negative_cache_capacity = 10000;
    // Clock for create, revoke and cache expiry times; the system clock when null. Not owned.
    const Clock* clock = nullptr;
  };

  // VerifyStats counts Verify outcomes since construction and sizes the caches now.
  struct VerifyStats {
    int64_t cache_hits = 0;     // answered from the cache (positive or negative)
    int64_t redis_lookups = 0;  // needed a Redis read
    size_t cached_keys = 0;     // entries of the key cache (expired ones included)
    size_t cached_unknown_ids = 0;
  };

  // ApiKeyStore uses `pool`, which must outlive it. INVALID_ARGUMENT from Create when the
  // prefix has no hash tag or a duration is negative.
  static absl::StatusOr<std::unique_ptr<ApiKeyStore>> Create(RedisPool* pool, Options options);
  ApiKeyStore(const ApiKeyStore&) = delete;
  ApiKeyStore& operator=(const ApiKeyStore&) = delete;

  // Issue creates a key acting as `principal` (its subject becomes "key:<id>") and returns it
  // with its token. INVALID_ARGUMENT naming every bad field ("principal.role",
  // "principal.agency_id", "principal.channel", "principal.subject", "principal.expire_time",
  // "label", "created_by"): the role must be set and known; agency admins and operators need
  // an agency id (a slug) and no channel; channels need a channel name and no agency;
  // dashboards and platform admins need neither; the subject and expire time must be empty
  // (the store sets the subject; keys do not expire); the label is 1..200 bytes of text.
  absl::StatusOr<IssuedApiKey> Issue(const common::v1::Principal& principal, std::string_view label,
                                     std::string_view created_by);

  // Verify returns the principal of a valid token, subject "key:<id>". UNAUTHENTICATED with
  // kInvalidApiKeyMessage for a malformed token, an unknown id or a wrong secret, and with
  // "API key <id> has been revoked" for a revoked key presented with its right secret.
  // UNAVAILABLE when Redis cannot be read and the key is not cached. Answers from the cache
  // for up to cache_ttl after a Redis read (unknown ids for up to negative_cache_ttl).
  absl::StatusOr<common::v1::Principal> Verify(std::string_view token);
  // VerifyCached is Verify when it can answer without Redis (a malformed token, or an id in
  // the caches), nullopt when it would have to read Redis.
  std::optional<absl::StatusOr<common::v1::Principal>> VerifyCached(std::string_view token);

  // Get returns a key (revoked or not). INVALID_ARGUMENT naming "id" for a malformed id,
  // NOT_FOUND for an unknown one.
  absl::StatusOr<v1::ApiKey> Get(std::string_view id);

  // List returns one page of keys, oldest first, optionally of one agency (agency_id) and
  // with the revoked ones (include_revoked). Page size 0 means 50, at most 500.
  // INVALID_ARGUMENT naming "page.page_size", "page.page_token" (malformed, or from a query
  // with another agency_id or include_revoked) or "agency_id" (not a slug).
  absl::StatusOr<v1::ListApiKeysResponse> List(const v1::ListApiKeysRequest& request);

  // Revoke revokes a key and returns it with revoke_time and revoked_by. Revoking a revoked
  // key changes nothing and returns it as it is. INVALID_ARGUMENT naming "id" or "revoked_by"
  // (empty), NOT_FOUND for an unknown id. This process stops accepting the key at once; other
  // processes within their cache_ttl.
  absl::StatusOr<v1::ApiKey> Revoke(std::string_view id, std::string_view revoked_by);

  VerifyStats stats() const;

 private:
  // CachedKey is what Verify needs of a stored key.
  struct CachedKey {
    std::string secret_sha256;
    common::v1::Principal principal;  // subject "key:<id>"
    bool revoked = false;
  };
  struct CacheEntry {
    absl::Time expires;
    std::shared_ptr<const CachedKey> key;
  };

  ApiKeyStore(RedisPool* pool, Options options);
  absl::Time Now() const;
  std::string Key(std::string_view suffix) const;
  std::string RecordKey(std::string_view id) const;
  // IndexKey names the index of every key ("" agency) or of one agency's keys, all of them or
  // only the active ones.
  std::string IndexKey(std::string_view agency_id, bool active_only) const;
  // Read fetches the stored record of `id` and its raw bytes; nullopt when there is none.
  absl::StatusOr<std::optional<std::pair<v1::ApiKeyRecord, std::string>>> Read(std::string_view id);
  absl::StatusOr<common::v1::Principal> Check(const CachedKey& key, std::string_view id,
                                              std::string_view secret_sha256) const;
  // CacheKey caches a key read at `now`, unless Forget ran since `epoch` (forget_epoch_ when
  // the read began): a revocation in this process is never undone by a read that raced it.
  void CacheKey(const std::string& id, std::shared_ptr<const CachedKey> key, absl::Time now,
                uint64_t epoch);
  void CacheUnknown(const std::string& id, absl::Time now);
  void Forget(std::string_view id);

  RedisPool* const pool_;
  const Options options_;
  const SystemClock system_clock_;

  mutable absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, CacheEntry> known_ ABSL_GUARDED_BY(cache_mu_);
  absl::flat_hash_map<std::string, absl::Time> unknown_ ABSL_GUARDED_BY(cache_mu_);
  uint64_t forget_epoch_ ABSL_GUARDED_BY(cache_mu_) = 0;  // Forget calls so far
  std::atomic<int64_t> cache_hits_{0};
  std::atomic<int64_t> redis_lookups_{0};
};

// Authorization rules of the admin API (GatewayAdmin), pure functions of the caller's
// principal. Only platform admins and agency admins manage keys; every other caller, public
// included, gets PERMISSION_DENIED.

// CanIssue: a platform admin issues any key; an agency admin issues agency admin and agency
// operator keys of its own agency only.
absl::Status CanIssue(const common::v1::Principal& caller, const common::v1::Principal& requested);
// CanSee: a platform admin sees every key; an agency admin the keys of its own agency.
absl::Status CanSee(const common::v1::Principal& caller, const v1::ApiKey& key);
// CanRevoke: the same keys as CanSee.
absl::Status CanRevoke(const common::v1::Principal& caller, const v1::ApiKey& key);
// ListScope returns the agency filter a listing must apply: for a platform admin the
// requested one ("" = all keys); for an agency admin its own agency, and PERMISSION_DENIED
// when it asks for another one.
absl::StatusOr<std::string> ListScope(const common::v1::Principal& caller,
                                      std::string_view requested_agency_id);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_API_KEYS_H_
