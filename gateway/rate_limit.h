// Rate limits of simpul-gateway: one budget per principal (per client address for anonymous
// calls), shared by every gateway replica through Redis. A denied call is answered with
// RESOURCE_EXHAUSTED (HTTP 429) and a Retry-After.
//
// Algorithm. A Limit is GCRA (the generic cell rate algorithm, a token bucket without a
// refill timer): with T = 1 / rate, a bucket stores one number, its theoretical arrival time
// (TAT). A call at `now` is allowed when max(TAT, now) + T - burst * T <= now, and then moves
// TAT to max(TAT, now) + T; so `burst` calls pass at once and then one per T.
//
// Redis. RateLimiter::Check is one EVALSHA of a script that reads the clock with TIME, so
// gateway replicas with skewed clocks still agree (Redis >= 5 replicates scripts by their
// effects, which makes TIME in a writing script safe). Key layout, P = Options::key_prefix
// (one hash tag, default "simpul:gw:{r}:rl:"):
//
//   P <bucket key>   string: the TAT in Unix microseconds (a decimal, possibly fractional),
//                    with a PX expiry at the TAT, when the bucket is full again: an idle
//                    bucket disappears by itself. Denied calls write nothing.
//
// Leases. A replica cannot know what the others spent since its last round trip, so it never
// allows a call Redis has not counted. For a fast bucket one round trip per call would cost
// more than the call, so the script may grant several calls at once (GCRA with a cost): a
// replica asks for a lease of LeaseSize(limit) calls, at most 1% of a second's rate and 10% of
// the burst (so only buckets of 200/s and more lease more than one), spends it locally and
// forgets what is left after Options::lease_time. Every allowed call was counted in Redis, so
// N replicas together stay within the budget; an unspent lease makes the budget smaller by at
// most its size, for at most lease_time. The opposite shortcut is safe too, and the limiter
// takes it: a denial says the bucket has no room before retry_after, and other replicas can
// only push the TAT further, so a replica repeats the denial locally until then
// (Options::cache_denials; only for the same Limit). It may outlast the real denial by one
// round trip, never end before it (unless the key was lost in Redis, a flush or a failover,
// and then by at most that retry_after). A client that hammers past its limit costs no Redis
// round trip.
//
// Redis down. The limiter fails open to a per-process LocalLimiter with the same limits:
// availability of public services matters more than exact limits while Redis is down. Each
// such decision counts in simpul_gateway_rate_limit_fallback_total{reason}, reason
// "unavailable" (no connection, timeout, pool exhausted, LOADING...) or "error" (an error
// reply or a malformed one, e.g. a key of the wrong type: that call only). After Redis is
// found unavailable the limiter stays local for Options::fallback_hold before trying again,
// so an outage costs one timeout per hold, not one per call. While local, each replica grants
// the whole budget by itself (N replicas: up to N budgets), and the local buckets are not
// carried over to Redis when it comes back.
//
// Check blocks for a Redis round trip: call it off gRPC callback threads (see common/redis.h),
// with a pool of short timeouts (tens of milliseconds), since every gateway call waits for it.
#ifndef SIMPUL_GATEWAY_RATE_LIMIT_H_
#define SIMPUL_GATEWAY_RATE_LIMIT_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/identity.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::gateway {

// Limit is a sustained rate and the number of calls allowed at once.
struct Limit {
  double per_second = 0;  // > 0
  int64_t burst = 0;      // >= 1

  bool valid() const;
  bool operator==(const Limit&) const = default;
};

// FormatLimit renders a limit in the config syntax, e.g. "20/s burst 40".
std::string FormatLimit(const Limit& limit);
// ParseLimit parses "<rate>/<unit> [burst <n>]" (see RateLimitConfig).
absl::StatusOr<Limit> ParseLimit(std::string_view text);

// Decision is the answer to one call.
struct Decision {
  enum class Source {
    kRedis,         // the shared bucket in Redis
    kCachedDenial,  // a denial repeated locally (see the file comment)
    kFallback,      // the local limiter, Redis being unreachable or failing
    kLease,         // a call of a lease granted by Redis earlier (see the file comment)
  };
  bool allowed = false;
  // retry_after is zero when allowed; otherwise the wait until the same call would pass.
  absl::Duration retry_after = absl::ZeroDuration();
  // remaining is how many more calls would pass right now (0 when denied).
  int64_t remaining = 0;
  Source source = Source::kRedis;
};

// RetryAfterSeconds is the value of an HTTP Retry-After header for `retry_after`: whole
// seconds, rounded up, at least 1.
int64_t RetryAfterSeconds(absl::Duration retry_after);

// RateLimitConfig holds the limit of each role and per-subject overrides.
//
// Syntax: entries separated by ';' or newlines, blank entries ignored, each
//   <target> = <rate>/<unit> [burst <n>]
// where <target> is a role name (public, agency_admin, agency_operator, channel, dashboard,
// platform_admin) or "subject:<subject>" (a principal's subject, which may hold ':' and '=',
// not ';'; the entry splits at its last '='), <rate> a decimal > 0, <unit> s, m or h (per
// second, minute or hour; at most 1000000/s and at least 1/h), and <n> a whole number from 1 to
// 1000000 (default: the rate per second rounded up, at least 1). Example:
//   public=20/s burst 40; channel=200/s burst 400; subject:key:k123=5/s burst 10
// Roles not named keep their default: public 20/s burst 40, agency_admin, agency_operator
// and dashboard 50/s burst 100, channel 200/s burst 400, platform_admin 100/s burst 200.
class RateLimitConfig {
 public:
  // The default config.
  RateLimitConfig();

  // Parse applies `text` to the defaults. INVALID_ARGUMENT naming the entry (its number and
  // text) for an unknown role, a malformed limit, a target set twice or an empty subject.
  static absl::StatusOr<RateLimitConfig> Parse(std::string_view text);

  // ForRole is the limit of a role (ROLE_UNSPECIFIED and unknown values: public).
  const Limit& ForRole(common::v1::Role role) const;
  // For is the subject's override if there is one, else the role's limit.
  const Limit& For(common::v1::Role role, std::string_view subject) const;
  // ForIdentity is For(role, subject) of an authenticated caller, the public limit otherwise.
  const Limit& ForIdentity(const Identity& identity) const;

  // ToString renders the whole config (every role, then the overrides) so that Parse reads
  // it back to an equal config.
  std::string ToString() const;
  bool operator==(const RateLimitConfig&) const = default;

 private:
  std::array<Limit, 6> roles_;  // indexed by common::v1::Role
  std::map<std::string, Limit, std::less<>> subjects_;
};

// BucketKeyForPeer is the bucket of an anonymous caller: "ip:<address>" from a gRPC peer
// ("ipv4:10.1.2.3:5555", "ipv6:[2001:db8::1]:443") or a bare address ("10.1.2.3",
// "2001:db8::1"). The port is dropped (every connection would get its own bucket otherwise),
// an IPv6 address counts as its /64 ("ip:2001:db8::/64": one subscriber's prefix), and an
// IPv4-mapped IPv6 address as the IPv4 address. Anything else (e.g. "unix:/run/gw.sock")
// is kept whole behind "peer:".
std::string BucketKeyForPeer(std::string_view peer);
// BucketKeyFor is "sub:<subject>" for an authenticated caller, BucketKeyForPeer(peer) for
// an anonymous one.
std::string BucketKeyFor(const Identity& identity, std::string_view peer);

namespace internal {
// StringHash lets a map keyed by std::string be searched with a std::string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace internal

// LocalLimiter is GCRA in process memory: the fallback of RateLimiter, usable alone. It is
// thread-safe. It holds at most `max_keys` buckets: when full it first forgets the buckets
// that are full again (which changes nothing), then, if still full, all of them (failing open
// for a moment rather than growing without bound).
class LocalLimiter {
 public:
  explicit LocalLimiter(size_t max_keys = 100000) : max_keys_(max_keys) {}

  // Check decides one call at `now` (any monotonic time line).
  Decision Check(std::string_view key, const Limit& limit, absl::Time now);
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  const size_t max_keys_;
  std::unordered_map<std::string, absl::Time, internal::StringHash, std::equal_to<>> tats_
      ABSL_GUARDED_BY(mu_);
};

// RateLimiter checks calls against buckets in Redis (see the file comment). Thread-safe.
class RateLimiter {
 public:
  struct Options {
    // Prefix of every key; it must contain a non-empty hash tag ("{...}").
    std::string key_prefix = "simpul:gw:{r}:rl:";
    // How long to stay on the local limiter after finding Redis unavailable (not after an
    // error reply) before trying it again.
    absl::Duration fallback_hold = absl::Seconds(1);
    // Repeat a denial locally until its retry_after instead of asking Redis again.
    bool cache_denials = true;
    // How long a lease of several calls may be spent (see the file comment); zero: no
    // leases, one round trip per call.
    absl::Duration lease_time = absl::Milliseconds(10);
    // Most buckets held in memory by the denial cache and by the fallback limiter (each).
    size_t local_max_keys = 100000;
    // Time line of the local parts (denial cache, fallback, hold); Redis keeps its own.
    // nullptr: a monotonic clock. Must outlive the limiter.
    const Clock* clock = nullptr;
    // Where simpul_gateway_rate_limit_fallback_total is counted; may be nullptr. Must outlive
    // the limiter.
    Metrics* metrics = nullptr;
  };

  // Create checks `options`; `pool` must outlive the limiter. INVALID_ARGUMENT for a key
  // prefix without a hash tag or a negative hold.
  static absl::StatusOr<std::unique_ptr<RateLimiter>> Create(RedisPool* pool, Options options);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;
  ~RateLimiter();

  // Check decides one call against the bucket `bucket_key` (e.g. "sub:key:k123" or
  // "ip:203.0.113.7") with `limit`; it never fails. An invalid limit denies (retry after 1 s)
  // without asking Redis. Blocks for one Redis round trip at most (none for a cached denial or
  // while in fallback).
  Decision Check(std::string_view bucket_key, const Limit& limit);
  // CheckLocal is Check when it can decide without Redis (a cached denial, a lease, the
  // fallback hold, an invalid limit), nullopt when it would ask Redis; then nothing is spent.
  std::optional<Decision> CheckLocal(std::string_view bucket_key, const Limit& limit);

  // RedisKey is the Redis key of a bucket.
  std::string RedisKey(std::string_view bucket_key) const;

  // LeaseSize is how many calls of `limit` one round trip asks for: the calls of lease_time at
  // the limit's rate, at most a tenth of its burst and 100, at least 1.
  int64_t LeaseSize(const Limit& limit) const;

 private:
  struct CachedDenial {
    absl::Time until;
    Limit limit;
  };
  RateLimiter(RedisPool* pool, Options options, std::unique_ptr<Clock> own_clock);
  // Fallback decides with local_. `error` is why Redis failed just now; OK while held.
  Decision Fallback(std::string_view bucket_key, const Limit& limit, absl::Time now,
                    const absl::Status& error);
  void CacheDenial(std::string_view bucket_key, const Limit& limit, absl::Time until);

  RedisPool* const pool_;
  const Options options_;
  const std::unique_ptr<Clock> own_clock_;
  const Clock* const clock_;
  LocalLimiter local_;
  // simpul_gateway_rate_limit_fallback_total{reason}, resolved once (no-ops without metrics).
  const Counter fallback_error_total_;
  const Counter fallback_unavailable_total_;
  // Redis is not asked before this instant (Unix ns on clock_'s time line).
  std::atomic<int64_t> hold_until_ns_;
  std::atomic<bool> in_fallback_{false};  // held since the last successful check
  std::atomic<int64_t> next_error_log_ns_;

  struct Lease {
    int64_t calls = 0;  // left to spend
    absl::Time until;
    Limit limit;
  };
  // TakeLeased spends one call of a lease of `bucket_key`, if one is left.
  bool TakeLeased(std::string_view bucket_key, const Limit& limit, absl::Time now);
  void KeepLease(std::string_view bucket_key, const Limit& limit, int64_t calls, absl::Time now);
  absl::Mutex leases_mu_;
  std::unordered_map<std::string, Lease, internal::StringHash, std::equal_to<>> leases_
      ABSL_GUARDED_BY(leases_mu_);

  absl::Mutex denials_mu_;
  std::unordered_map<std::string, CachedDenial, internal::StringHash, std::equal_to<>> denials_
      ABSL_GUARDED_BY(denials_mu_);
  absl::Time next_denials_sweep_ ABSL_GUARDED_BY(denials_mu_) = absl::InfinitePast();
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_RATE_LIMIT_H_
