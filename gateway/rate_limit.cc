// Rate limits: config parsing, bucket keys, the local GCRA limiter and the Redis-backed one
// (design in the header).
#include "gateway/rate_limit.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/logging.h"

namespace simpul::gateway {
namespace {

constexpr char kFallbackTotal[] = "simpul_gateway_rate_limit_fallback_total";

// Error replies are logged at most this often (they may come with every call on one key).
constexpr absl::Duration kErrorLogInterval = absl::Seconds(10);

constexpr double kMaxPerSecond = 1e6;
constexpr double kMinPerSecond = 1.0 / 3600;
constexpr int64_t kMaxBurst = 1000000;

// kRoleNames is indexed by common::v1::Role: the roles the gateway admits. ROLE_SERVICE, the
// last, is not one (no policy rule or API key names it; ForRole would give it the public limit).
constexpr std::array<const char*, 6> kRoleNames = {"public",  "agency_admin", "agency_operator",
                                                   "channel", "dashboard",    "platform_admin"};
static_assert(common::v1::Role_ARRAYSIZE == kRoleNames.size() + 1 &&
              common::v1::ROLE_SERVICE == kRoleNames.size());

constexpr char kSubjectPrefix[] = "subject:";

// kCheckLua decides up to `wanted` calls with GCRA: KEYS = [bucket]; ARGV = [emission
// interval T in microseconds (a decimal), burst, wanted (>= 1)]. Returns {granted, 0,
// remaining} when at least one call is allowed, granted = min(wanted, calls the bucket has
// room for) (and stores the new TAT, expiring when the bucket is full again), {0, retry
// after in microseconds (rounded up), 0} when denied (writing nothing). The TAT is kept as
// "%.17g" so that it reads back as the same double; a value that is not a number counts as an
// empty bucket.
constexpr char kCheckLua[] = R"lua(
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3]) or 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '')
if not tat or tat < now then tat = now end
local window = interval * burst
local allow_at = tat + interval - window
if allow_at > now then
  return {0, math.ceil(allow_at - now), 0}
end
local room = math.floor((now + window - tat) / interval + 0.001)
local granted = math.max(1, math.min(wanted, room))
local next_tat = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%.17g', next_tat), 'PX',
           string.format('%d', math.ceil((next_tat - now) / 1000)))
return {granted, 0, math.floor((window - (next_tat - now)) / interval + 0.001)}
)lua";

const RedisScript& CheckScript() {
  static const RedisScript* const script = new RedisScript(kCheckLua);
  return *script;
}

// MonotonicClock reads std::chrono::steady_clock as an absl::Time (only differences mean
// anything).
class MonotonicClock final : public Clock {
 public:
  absl::Time Now() const override {
    return absl::UnixEpoch() +
           absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch()));
  }
};

absl::Duration Interval(const Limit& limit) { return absl::Seconds(1.0 / limit.per_second); }

// Remaining is floor(x) for a count that floating point may leave a hair below a whole number.
int64_t Remaining(double x) { return std::max<int64_t>(0, static_cast<int64_t>(x + 0.001)); }

Decision Denied(absl::Duration retry_after, Decision::Source source) {
  return Decision{.allowed = false, .retry_after = retry_after, .remaining = 0, .source = source};
}

std::string_view Trim(std::string_view s) {
  return StdView(absl::StripAsciiWhitespace(AbslView(s)));
}

}  // namespace

bool Limit::valid() const { return std::isfinite(per_second) && per_second > 0 && burst >= 1; }

std::string FormatLimit(const Limit& limit) {
  const double v = limit.per_second;
  struct Unit {
    const char* name;
    double seconds;
  };
  for (const Unit& unit : {Unit{"s", 1}, Unit{"m", 60}, Unit{"h", 3600}}) {
    const double n = std::round(v * unit.seconds);
    if (n >= 1 && n / unit.seconds == v) {
      return absl::StrFormat("%.17g/%s burst %d", n, unit.name, limit.burst);
    }
  }
  return absl::StrFormat("%.17g/s burst %d", v, limit.burst);
}

absl::StatusOr<Limit> ParseLimit(std::string_view text) {
  std::vector<absl::string_view> tokens =
      absl::StrSplit(AbslView(text), absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
  if (tokens.empty()) {
    return absl::InvalidArgumentError("empty limit, expected \"<rate>/<s|m|h> [burst <n>]\"");
  }
  const absl::string_view rate_text = tokens[0];
  const size_t slash = rate_text.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rate '", rate_text, "' has no unit, expected \"<rate>/s\", \"<rate>/m\" or \"<rate>/h\""));
  }
  const absl::string_view number = rate_text.substr(0, slash);
  const absl::string_view unit = rate_text.substr(slash + 1);
  double rate = 0;
  if (number.empty() || !(absl::ascii_isdigit(number[0]) || number[0] == '.') ||
      !absl::SimpleAtod(number, &rate) || !std::isfinite(rate)) {
    return absl::InvalidArgumentError(absl::StrCat("rate '", number, "' is not a decimal number"));
  }
  if (rate <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("rate '", number, "' must be more than 0"));
  }
  double seconds = 0;
  if (unit == "s") {
    seconds = 1;
  } else if (unit == "m") {
    seconds = 60;
  } else if (unit == "h") {
    seconds = 3600;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unit '", unit, "' is not s, m or h (per second, minute, hour)"));
  }
  Limit limit;
  limit.per_second = rate / seconds;
  if (limit.per_second > kMaxPerSecond) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate '", rate_text, "' is more than 1000000/s"));
  }
  if (limit.per_second < kMinPerSecond * (1 - 1e-12)) {
    return absl::InvalidArgumentError(absl::StrCat("rate '", rate_text, "' is less than 1/h"));
  }
  if (tokens.size() == 1) {
    limit.burst = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(limit.per_second)));
    return limit;
  }
  if (tokens[1] != "burst") {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected '", tokens[1], "' after the rate, expected \"burst <n>\""));
  }
  if (tokens.size() == 2) {
    return absl::InvalidArgumentError("\"burst\" without a number");
  }
  int64_t burst = 0;
  if (!absl::ascii_isdigit(tokens[2][0]) || !absl::SimpleAtoi(tokens[2], &burst) || burst < 1 ||
      burst > kMaxBurst) {
    return absl::InvalidArgumentError(
        absl::StrCat("burst '", tokens[2], "' is not a whole number from 1 to 1000000"));
  }
  if (tokens.size() > 3) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected '", tokens[3], "' after the burst"));
  }
  limit.burst = burst;
  return limit;
}

int64_t RetryAfterSeconds(absl::Duration retry_after) {
  if (retry_after == absl::InfiniteDuration()) return int64_t{1} << 31;
  return std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1))));
}

// ---------------------------------------------------------------------------------------------
// RateLimitConfig

RateLimitConfig::RateLimitConfig() {
  roles_[common::v1::ROLE_UNSPECIFIED] = Limit{20, 40};
  roles_[common::v1::ROLE_AGENCY_ADMIN] = Limit{50, 100};
  roles_[common::v1::ROLE_AGENCY_OPERATOR] = Limit{50, 100};
  roles_[common::v1::ROLE_CHANNEL] = Limit{200, 400};
  roles_[common::v1::ROLE_DASHBOARD] = Limit{50, 100};
  roles_[common::v1::ROLE_PLATFORM_ADMIN] = Limit{100, 200};
}

absl::StatusOr<RateLimitConfig> RateLimitConfig::Parse(std::string_view text) {
  RateLimitConfig config;
  std::map<std::string, int, std::less<>> seen;  // target -> entry number
  int number = 0;
  for (absl::string_view piece : absl::StrSplit(AbslView(text), absl::ByAnyChar(";\n"))) {
    const std::string_view entry = Trim(StdView(piece));
    ++number;
    if (entry.empty()) continue;
    auto fail = [&](std::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("rate limit config entry ", number, " '",
                                                     AbslView(entry), "': ", AbslView(why)));
    };
    const size_t eq = entry.rfind('=');
    if (eq == std::string_view::npos) {
      return fail("expected \"<role or subject:<subject>>=<rate>/<s|m|h> [burst <n>]\"");
    }
    const std::string_view target = Trim(entry.substr(0, eq));
    absl::StatusOr<Limit> limit = ParseLimit(entry.substr(eq + 1));
    if (!limit.ok()) return fail(StdView(limit.status().message()));
    std::string key;
    if (absl::StartsWith(AbslView(target), kSubjectPrefix)) {
      const std::string_view subject = Trim(target.substr(std::strlen(kSubjectPrefix)));
      if (subject.empty()) return fail("empty subject after \"subject:\"");
      key = absl::StrCat(kSubjectPrefix, AbslView(subject));
      config.subjects_[std::string(subject)] = *limit;
    } else {
      auto role = std::find_if(kRoleNames.begin(), kRoleNames.end(),
                               [&](const char* name) { return target == name; });
      if (role == kRoleNames.end()) {
        return fail(absl::StrCat("unknown role '", AbslView(target), "', expected one of ",
                                 absl::StrJoin(kRoleNames, ", "), " or subject:<subject>"));
      }
      key = std::string(target);
      config.roles_[role - kRoleNames.begin()] = *limit;
    }
    auto [it, inserted] = seen.try_emplace(key, number);
    if (!inserted) {
      return fail(absl::StrCat(key, " is already set by entry ", it->second));
    }
  }
  return config;
}

const Limit& RateLimitConfig::ForRole(common::v1::Role role) const {
  const int i = static_cast<int>(role);
  if (i < 0 || i >= static_cast<int>(roles_.size())) return roles_[common::v1::ROLE_UNSPECIFIED];
  return roles_[i];
}

const Limit& RateLimitConfig::For(common::v1::Role role, std::string_view subject) const {
  auto it = subjects_.find(subject);
  return it != subjects_.end() ? it->second : ForRole(role);
}

const Limit& RateLimitConfig::ForIdentity(const Identity& identity) const {
  if (identity.is_public()) return ForRole(common::v1::ROLE_UNSPECIFIED);
  return For(identity.principal.role(), identity.principal.subject());
}

std::string RateLimitConfig::ToString() const {
  std::vector<std::string> entries;
  for (size_t i = 0; i < roles_.size(); ++i) {
    entries.push_back(absl::StrCat(kRoleNames[i], "=", FormatLimit(roles_[i])));
  }
  for (const auto& [subject, limit] : subjects_) {
    entries.push_back(absl::StrCat(kSubjectPrefix, subject, "=", FormatLimit(limit)));
  }
  return absl::StrJoin(entries, "; ");
}

// ---------------------------------------------------------------------------------------------
// Bucket keys

std::string BucketKeyForPeer(std::string_view peer) {
  std::string_view address = peer;
  bool v6_hint = false;
  if (absl::StartsWith(AbslView(address), "ipv4:")) {
    address.remove_prefix(5);
  } else if (absl::StartsWith(AbslView(address), "ipv6:")) {
    address.remove_prefix(5);
    v6_hint = true;
  }
  // "[addr]:port" or "%5Baddr%5D:port" (gRPC percent-encodes the brackets of its URIs).
  std::string unbracketed;
  if (absl::StartsWith(AbslView(address), "[")) {
    const size_t end = address.find(']');
    if (end != std::string_view::npos) address = address.substr(1, end - 1);
  } else if (absl::StartsWithIgnoreCase(AbslView(address), "%5B")) {
    std::string lower = absl::AsciiStrToLower(AbslView(address));
    const size_t end = lower.find("%5d");
    if (end != std::string::npos) address = address.substr(3, end - 3);
  } else if (!v6_hint && std::count(address.begin(), address.end(), ':') == 1) {
    address = address.substr(0, address.find(':'));  // "a.b.c.d:port"
  }
  // A zone ("fe80::1%eth0") names a local interface, not the caller.
  const size_t zone = address.find('%');
  if (zone != std::string_view::npos) address = address.substr(0, zone);

  const std::string text(address);
  char buf[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1 &&
      inet_ntop(AF_INET, &v4, buf, sizeof(buf)) != nullptr) {
    return absl::StrCat("ip:", buf);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6.s6_addr, kMapped, sizeof(kMapped)) == 0) {
      std::memcpy(&v4, v6.s6_addr + 12, 4);
      if (inet_ntop(AF_INET, &v4, buf, sizeof(buf)) != nullptr) return absl::StrCat("ip:", buf);
    }
    std::memset(v6.s6_addr + 8, 0, 8);
    if (inet_ntop(AF_INET6, &v6, buf, sizeof(buf)) != nullptr) {
      return absl::StrCat("ip:", buf, "/64");
    }
  }
  return absl::StrCat("peer:", AbslView(peer));
}

std::string BucketKeyFor(const Identity& identity, std::string_view peer) {
  if (identity.is_public()) return BucketKeyForPeer(peer);
  return absl::StrCat("sub:", identity.principal.subject());
}

// ---------------------------------------------------------------------------------------------
// LocalLimiter

Decision LocalLimiter::Check(std::string_view key, const Limit& limit, absl::Time now) {
  if (!limit.valid()) return Denied(absl::Seconds(1), Decision::Source::kFallback);
  const absl::Duration interval = Interval(limit);
  const absl::Duration window = interval * limit.burst;
  absl::MutexLock lock(&mu_);
  auto it = tats_.find(key);
  absl::Time tat = it == tats_.end() ? now : std::max(it->second, now);
  const absl::Time next_tat = tat + interval;
  const absl::Time allow_at = next_tat - window;
  if (allow_at > now) return Denied(allow_at - now, Decision::Source::kFallback);
  if (it != tats_.end()) {
    it->second = next_tat;
  } else {
    if (tats_.size() >= max_keys_) {
      std::erase_if(tats_, [now](const auto& kv) { return kv.second <= now; });
      if (tats_.size() >= max_keys_) tats_.clear();
    }
    tats_.emplace(std::string(key), next_tat);
  }
  return Decision{.allowed = true,
                  .retry_after = absl::ZeroDuration(),
                  .remaining = Remaining(absl::FDivDuration(window - (next_tat - now), interval)),
                  .source = Decision::Source::kFallback};
}

size_t LocalLimiter::size() const {
  absl::MutexLock lock(&mu_);
  return tats_.size();
}

// ---------------------------------------------------------------------------------------------
// RateLimiter

absl::StatusOr<std::unique_ptr<RateLimiter>> RateLimiter::Create(RedisPool* pool, Options options) {
  const std::string& prefix = options.key_prefix;
  const size_t open = prefix.find('{');
  const size_t close = open == std::string::npos ? std::string::npos : prefix.find('}', open);
  if (close == std::string::npos || close == open + 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rate limit key prefix '", prefix, "' must contain a non-empty hash tag, e.g. {r}"));
  }
  if (options.fallback_hold < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("rate limit fallback hold is negative: ",
                                                   absl::FormatDuration(options.fallback_hold)));
  }
  if (options.metrics != nullptr) {
    options.metrics->Describe(kFallbackTotal, Metrics::Type::kCounter,
                              "Rate limit checks decided by the gateway's local limiter because "
                              "Redis was unreachable (reason=unavailable) or failed "
                              "(reason=error).");
  }
  std::unique_ptr<Clock> own_clock;
  if (options.clock == nullptr) own_clock = std::make_unique<MonotonicClock>();
  return std::unique_ptr<RateLimiter>(
      new RateLimiter(pool, std::move(options), std::move(own_clock)));
}

RateLimiter::RateLimiter(RedisPool* pool, Options options, std::unique_ptr<Clock> own_clock)
    : pool_(pool),
      options_(std::move(options)),
      own_clock_(std::move(own_clock)),
      clock_(options_.clock != nullptr ? options_.clock : own_clock_.get()),
      local_(options_.local_max_keys),
      fallback_error_total_(options_.metrics != nullptr ? options_.metrics->GetCounter(
                                                              kFallbackTotal, {{"reason", "error"}})
                                                        : Counter()),
      fallback_unavailable_total_(
          options_.metrics != nullptr
              ? options_.metrics->GetCounter(kFallbackTotal, {{"reason", "unavailable"}})
              : Counter()),
      hold_until_ns_(std::numeric_limits<int64_t>::min()),
      next_error_log_ns_(std::numeric_limits<int64_t>::min()) {}

RateLimiter::~RateLimiter() = default;

std::string RateLimiter::RedisKey(std::string_view bucket_key) const {
  return absl::StrCat(options_.key_prefix, AbslView(bucket_key));
}

std::optional<Decision> RateLimiter::CheckLocal(std::string_view bucket_key, const Limit& limit) {
  if (!limit.valid()) return Denied(absl::Seconds(1), Decision::Source::kRedis);
  const absl::Time now = clock_->Now();
  if (options_.cache_denials) {
    absl::MutexLock lock(&denials_mu_);
    auto it = denials_.find(bucket_key);
    if (it != denials_.end() && it->second.limit == limit && now < it->second.until) {
      return Denied(it->second.until - now, Decision::Source::kCachedDenial);
    }
  }
  if (absl::ToUnixNanos(now) < hold_until_ns_.load(std::memory_order_relaxed)) {
    return Fallback(bucket_key, limit, now, absl::OkStatus());  // held: Redis was unreachable
  }
  if (LeaseSize(limit) > 1 && TakeLeased(bucket_key, limit, now)) {
    return Decision{.allowed = true,
                    .retry_after = absl::ZeroDuration(),
                    .remaining = 0,
                    .source = Decision::Source::kLease};
  }
  return std::nullopt;
}

Decision RateLimiter::Check(std::string_view bucket_key, const Limit& limit) {
  if (std::optional<Decision> local = CheckLocal(bucket_key, limit)) return *local;
  const absl::Time now = clock_->Now();
  const int64_t lease = LeaseSize(limit);

  absl::StatusOr<RedisReply> reply = pool_->Eval(CheckScript(), {RedisKey(bucket_key)},
                                                 {absl::StrFormat("%.17g", 1e6 / limit.per_second),
                                                  absl::StrCat(limit.burst), absl::StrCat(lease)});
  absl::Status error = reply.ok() ? ErrorFromReply(*reply, "rate limit script") : reply.status();
  std::optional<int64_t> allowed, retry_us, remaining;
  if (error.ok()) {
    if (reply->type == RedisReply::Type::kArray && reply->elements.size() == 3) {
      allowed = ReplyInt(reply->elements[0]);
      retry_us = ReplyInt(reply->elements[1]);
      remaining = ReplyInt(reply->elements[2]);
    }
    if (!allowed || !retry_us || !remaining) error = MalformedReply("rate limit script");
  }
  if (!error.ok()) return Fallback(bucket_key, limit, now, error);

  if (in_fallback_.exchange(false, std::memory_order_relaxed)) {
    Log(LogLevel::kInfo, "rate limits are shared through Redis again");
  }
  if (*allowed >= 1) {
    if (*allowed > 1) KeepLease(bucket_key, limit, *allowed - 1, now);
    return Decision{.allowed = true,
                    .retry_after = absl::ZeroDuration(),
                    .remaining = *remaining,
                    .source = Decision::Source::kRedis};
  }
  const absl::Duration retry_after = absl::Microseconds(*retry_us);
  // The wait counts from the reply's arrival (a little after Redis decided): a cached denial
  // may outlast the real one by the round trip, never end before it.
  if (options_.cache_denials) CacheDenial(bucket_key, limit, clock_->Now() + retry_after);
  return Denied(retry_after, Decision::Source::kRedis);
}

int64_t RateLimiter::LeaseSize(const Limit& limit) const {
  if (options_.lease_time <= absl::ZeroDuration() || !limit.valid()) return 1;
  const double by_rate = limit.per_second * absl::ToDoubleSeconds(options_.lease_time);
  const double by_burst = static_cast<double>(limit.burst) / 10;
  return std::clamp<int64_t>(static_cast<int64_t>(std::min({by_rate, by_burst, 100.0})), 1, 100);
}

bool RateLimiter::TakeLeased(std::string_view bucket_key, const Limit& limit, absl::Time now) {
  absl::MutexLock lock(&leases_mu_);
  auto it = leases_.find(bucket_key);
  if (it == leases_.end()) return false;
  Lease& lease = it->second;
  if (lease.calls <= 0 || now >= lease.until || !(lease.limit == limit)) {
    leases_.erase(it);
    return false;
  }
  --lease.calls;
  return true;
}

void RateLimiter::KeepLease(std::string_view bucket_key, const Limit& limit, int64_t calls,
                            absl::Time now) {
  absl::MutexLock lock(&leases_mu_);
  if (leases_.size() >= options_.local_max_keys) {
    // Spent and expired leases first; if still full, all of them (they only save round trips).
    for (auto it = leases_.begin(); it != leases_.end();) {
      it = (it->second.calls <= 0 || now >= it->second.until) ? leases_.erase(it) : std::next(it);
    }
    if (leases_.size() >= options_.local_max_keys) leases_.clear();
  }
  leases_.insert_or_assign(std::string(bucket_key), Lease{calls, now + options_.lease_time, limit});
}

Decision RateLimiter::Fallback(std::string_view bucket_key, const Limit& limit, absl::Time now,
                               const absl::Status& error) {
  // An error reply (e.g. a bucket key of the wrong type) concerns this call, and Redis did
  // answer: only an unreachable Redis makes the next calls skip it for a while.
  const bool is_error = error.code() == absl::StatusCode::kInternal;
  if (!error.ok()) {
    now = clock_->Now();  // the failure may have taken a timeout
    const int64_t now_ns = absl::ToUnixNanos(now);
    if (!is_error) {
      hold_until_ns_.store(absl::ToUnixNanos(now + options_.fallback_hold),
                           std::memory_order_relaxed);
      if (!in_fallback_.exchange(true, std::memory_order_relaxed)) {
        Log(LogLevel::kWarn, "rate limits fall back to this gateway's local limiter",
            {{"error", std::string(error.message())},
             {"code", absl::StatusCodeToString(error.code())}});
      }
    } else if (int64_t next = next_error_log_ns_.load(std::memory_order_relaxed);
               now_ns >= next && next_error_log_ns_.compare_exchange_strong(
                                     next, now_ns + absl::ToInt64Nanoseconds(kErrorLogInterval),
                                     std::memory_order_relaxed)) {
      Log(LogLevel::kWarn, "a rate limit check failed in Redis and was decided locally",
          {{"error", std::string(error.message())}});
    }
  }
  (is_error ? fallback_error_total_ : fallback_unavailable_total_).Increment();
  return local_.Check(bucket_key, limit, now);
}

void RateLimiter::CacheDenial(std::string_view bucket_key, const Limit& limit, absl::Time until) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&denials_mu_);
  auto it = denials_.find(bucket_key);
  if (it != denials_.end()) {
    it->second = CachedDenial{until, limit};
    return;
  }
  if (denials_.size() >= options_.local_max_keys) {
    // Full of live denials: skip caching rather than scan the map on every new one.
    if (now < next_denials_sweep_) return;
    std::erase_if(denials_, [now](const auto& kv) { return kv.second.until <= now; });
    next_denials_sweep_ = now + absl::Seconds(1);
    if (denials_.size() >= options_.local_max_keys) return;
  }
  denials_.emplace(std::string(bucket_key), CachedDenial{until, limit});
}

}  // namespace simpul::gateway
