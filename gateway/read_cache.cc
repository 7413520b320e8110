// The gateway's cache of registry reads and the feed watcher that keeps it fresh.
#include "gateway/read_cache.h"

#include <functional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "common/logging.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::gateway {
namespace {

constexpr std::string_view kRegistry = "/simpul.registry.v1.Registry/";

}  // namespace

ReadCache::ReadCache(Options options, Metrics* metrics) : options_(options) {
  if (metrics != nullptr) {
    constexpr char kName[] = "simpul_gateway_read_cache_total";
    metrics->Describe(kName, Metrics::Type::kCounter,
                      "registry reads by cache outcome (hit, miss, off)");
    hits_ = metrics->GetCounter(kName, {{"outcome", "hit"}});
    misses_ = metrics->GetCounter(kName, {{"outcome", "miss"}});
    off_ = metrics->GetCounter(kName, {{"outcome", "off"}});
  }
}

bool ReadCache::Cacheable(std::string_view method) {
  static const auto* const kMethods = new std::set<std::string, std::less<>>{
      "GetAgency",          "ListAgencies",       "GetServiceUnit",
      "ListServiceUnits",   "GetService",         "ListServices",
      "GetStandardVersion", "GetCurrentStandard", "ListStandardVersions",
      "SearchStandards",    "GetMaklumat",        "ListMaklumat"};
  if (!absl::StartsWith(AbslView(method), AbslView(kRegistry))) return false;
  return kMethods->count(method.substr(kRegistry.size())) > 0;
}

bool ReadCache::InvalidatedBy(std::string_view method) {
  if (!absl::StartsWith(AbslView(method), AbslView(kRegistry))) return false;
  const std::string_view name = method.substr(kRegistry.size());
  for (std::string_view read : {"Get", "List", "Search", "Watch"}) {
    if (absl::StartsWith(AbslView(name), AbslView(read))) return false;
  }
  return true;
}

std::string ReadCache::Key(std::string_view method, const common::v1::Principal& caller,
                           std::string_view request) {
  return absl::StrCat(AbslView(method), "|", static_cast<int>(caller.role()), "|",
                      caller.agency_id(), "|", AbslView(request));
}

ReadCache::Shard& ReadCache::ShardOf(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

std::optional<std::string> ReadCache::Get(const std::string& key) {
  std::shared_ptr<const std::string> response = GetShared(key);
  if (response == nullptr) return std::nullopt;
  return *response;
}

std::shared_ptr<const std::string> ReadCache::GetShared(const std::string& key) {
  if (!enabled()) {
    off_.Increment();
    return nullptr;
  }
  Shard& shard = ShardOf(key);
  std::shared_ptr<const std::string> response;
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) {
      if (absl::Now() - it->second.stored <= options_.max_age) {
        response = it->second.response;
      } else {
        shard.entries.erase(it);
      }
    }
  }
  if (response != nullptr) {
    hits_.Increment();
    return response;
  }
  misses_.Increment();
  return nullptr;
}

void ReadCache::Put(const std::string& key, std::string response, uint64_t generation) {
  if (!enabled()) return;
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  // Checked under the shard's lock: Invalidate bumps the generation before it empties the
  // shards, so a response fetched across an invalidation never lands after the emptying.
  if (generation_.load(std::memory_order_acquire) != generation) return;
  if (shard.entries.size() >= options_.max_entries / kShards) shard.entries.clear();
  shard.entries.insert_or_assign(
      key, Entry{std::make_shared<const std::string>(std::move(response)), absl::Now()});
}

uint64_t ReadCache::generation() const {
  if (options_.settle > absl::ZeroDuration() &&
      absl::GetCurrentTimeNanos() < settle_until_ns_.load(std::memory_order_acquire)) {
    return 0;
  }
  return generation_.load(std::memory_order_acquire);
}

void ReadCache::Invalidate() {
  if (options_.settle > absl::ZeroDuration()) {
    settle_until_ns_.store(absl::GetCurrentTimeNanos() + absl::ToInt64Nanoseconds(options_.settle),
                           std::memory_order_release);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    shard.entries.clear();
  }
}

void ReadCache::SetEnabled(bool enabled) {
  if (!enabled) enabled_.store(false, std::memory_order_release);
  Invalidate();
  if (enabled) enabled_.store(true, std::memory_order_release);
}

// ---------------------------------------------------------------------------------------------

RegistryFeedWatcher::RegistryFeedWatcher(std::shared_ptr<grpc::Channel> registry,
                                         const IdentitySigner* signer, ReadCache* cache)
    : own_watch_(std::make_unique<clients::registry::RegistryWatch>(
          std::move(registry),
          clients::registry::RegistryWatch::Options{
              .identity = clients::InternalIdentity(signer, "simpul-gateway", "simpul-registry"),
              .backoff = {.initial = absl::Milliseconds(100),
                          .max = absl::Seconds(2),
                          .jitter = 0.2}})),
      watch_(*own_watch_),
      cache_(cache) {
  (void)watch_.Subscribe(this, {});  // every change; cannot fail: not started
}

RegistryFeedWatcher::RegistryFeedWatcher(clients::registry::RegistryWatch& watch, ReadCache* cache)
    : watch_(watch), cache_(cache) {
  if (absl::Status subscribed = watch_.Subscribe(this, {}); !subscribed.ok()) {
    Log(LogLevel::kError, "read cache off for good: cannot watch the registry",
        {{"error", subscribed.ToString()}});
  }
}

RegistryFeedWatcher::~RegistryFeedWatcher() { Stop(); }

void RegistryFeedWatcher::Start() {
  if (own_watch_ != nullptr) own_watch_->Start();
}

void RegistryFeedWatcher::Stop() {
  if (own_watch_ != nullptr) {
    own_watch_->Stop();
  } else {
    watch_.Unsubscribe(this);
  }
  cache_->SetEnabled(false);
}

absl::Status RegistryFeedWatcher::OnStarted(const clients::registry::WatchStart& start) {
  // The registry named the cursor the stream starts after (it arrives before any event): from
  // here on no change can be missed, so the cache may serve.
  if (start.confirmed) {
    cache_->SetEnabled(true);
    Log(LogLevel::kInfo, "read cache on: watching the registry's change feed",
        {{"cursor", start.cursor}});
  }
  return absl::OkStatus();
}

absl::Status RegistryFeedWatcher::OnEvent(const registry::v1::ChangeEvent& event) {
  cache_->Invalidate();
  return absl::OkStatus();
}

void RegistryFeedWatcher::OnEnded(const grpc::Status& status) {
  if (!cache_->enabled()) return;
  cache_->SetEnabled(false);
  Log(LogLevel::kWarn, "read cache off: the registry's change feed is not watched",
      {{"code", static_cast<int>(status.error_code())}, {"error", status.error_message()}});
}

}  // namespace simpul::gateway
