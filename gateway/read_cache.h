// ReadCache: the gateway's cache of registry reads. Agency systems read the registry far more
// often than it changes, so the gateway answers a repeated read (same method, same request
// bytes, same caller role and agency) from memory instead of calling simpul-registry, and
// drops everything it holds whenever the registry changes:
//   - RegistryFeedWatcher watches the registry's change feed (a RegistryWatch of
//     clients/registry/watch.h, as the service role (ROLE_SERVICE) so that it sees every change:
//     from now, then resuming from its last cursor after a break) and invalidates the cache on each
//     event; the cache is on once the registry has named the cursor the stream starts after,
//     and off while the feed is not being watched (not yet started, stream broken, registry
//     down): every read then goes to the registry;
//   - a registry write through this gateway invalidates the cache before its answer is sent,
//     so a caller reads its own writes through the same gateway;
//   - a response is stored only if no invalidation happened while it was being fetched (a
//     generation counter), so a read that raced a change is never kept;
//   - nor if its fetch started less than `settle` after the latest invalidation: registry
//     replicas answer reads from in-memory snapshots that may trail the feed by up to their
//     --snapshot_max_staleness (2 s), so a replica other than the one that wrote can still
//     answer the old version for that long after the gateway saw the change (those reads go
//     to the registry, uncached);
//   - entries also expire after max_age (a backstop), and reads whose answer depends on the
//     time of the read (ListReviewOverdue, GetCompleteness) are never cached.
// Through another gateway replica a change shows within the feed's delay (milliseconds).
#ifndef SIMPUL_GATEWAY_READ_CACHE_H_
#define SIMPUL_GATEWAY_READ_CACHE_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "clients/registry/watch.h"
#include "common/identity.h"
#include "common/metrics.h"
#include "simpul/common/v1/common.pb.h"

namespace simpul::gateway {

class ReadCache {
 public:
  struct Options {
    // Entries kept at most (over all shards); a full shard is emptied before it takes more.
    size_t max_entries = 100000;
    absl::Duration max_age = absl::Seconds(60);
    // After an invalidation, answers fetched within `settle` of it are not stored (above).
    // The gateway sets it to --read_cache_settle (2 s, the registry's snapshot staleness
    // bound); zero here so that a cache used alone stores at once.
    absl::Duration settle = absl::ZeroDuration();
  };
  explicit ReadCache(Options options, Metrics* metrics = nullptr);

  // Cacheable: `method` ("/simpul.registry.v1.Registry/GetService") is a cached read.
  static bool Cacheable(std::string_view method);
  // InvalidatedBy: a call of `method` changes what cached reads return (a registry write).
  static bool InvalidatedBy(std::string_view method);

  // Key of one read: the method, who asks (role, agency) and the request's bytes.
  static std::string Key(std::string_view method, const common::v1::Principal& caller,
                         std::string_view request);

  // Generation to pass to Put: take it before the backend call starts. Within `settle` of
  // the latest invalidation it is one no Put accepts.
  uint64_t generation() const;
  // Get returns the stored response bytes of `key` (nullopt on a miss or while off).
  std::optional<std::string> Get(const std::string& key);
  // GetShared is Get without the copy: the stored bytes, shared (null on a miss or while off).
  std::shared_ptr<const std::string> GetShared(const std::string& key);
  // Put stores a response fetched since `generation` (dropped if the cache was invalidated
  // meanwhile, or is off).
  void Put(const std::string& key, std::string response, uint64_t generation);
  // Invalidate drops every entry.
  void Invalidate();
  // SetEnabled turns the cache on (the feed is watched) or off (dropping every entry).
  void SetEnabled(bool enabled);
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }

 private:
  struct Entry {
    std::shared_ptr<const std::string> response;
    absl::Time stored;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Entry> entries ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;
  Shard& ShardOf(const std::string& key);

  const Options options_;
  // simpul_gateway_read_cache_total{outcome}, resolved once (no-ops without metrics).
  Counter hits_;
  Counter misses_;
  Counter off_;
  std::atomic<uint64_t> generation_{1};  // never 0: generation() answers 0 to refuse a Put
  // Until when (Unix nanoseconds) answers are not stored: the latest invalidation + settle.
  std::atomic<int64_t> settle_until_ns_{0};
  std::atomic<bool> enabled_{false};
  std::array<Shard, kShards> shards_;
};

// RegistryFeedWatcher keeps a ReadCache in step with the registry's change feed (see above).
class RegistryFeedWatcher final : private clients::registry::WatchSubscriber {
 public:
  // With a watch of its own, as {subject "service:simpul-gateway", role SERVICE}. `signer`
  // and `cache` must outlive the watcher.
  RegistryFeedWatcher(std::shared_ptr<grpc::Channel> registry, const IdentitySigner* signer,
                      ReadCache* cache);
  // On `watch`, shared with other subscribers (opened as the service role, not started yet;
  // its owner starts and stops it, and it must outlive the watcher).
  RegistryFeedWatcher(clients::registry::RegistryWatch& watch, ReadCache* cache);
  ~RegistryFeedWatcher() override;  // Stop()
  RegistryFeedWatcher(const RegistryFeedWatcher&) = delete;
  RegistryFeedWatcher& operator=(const RegistryFeedWatcher&) = delete;

  // Start starts its own watch (nothing with a shared one).
  void Start();
  // Stop ends its own watch or leaves the shared one, and turns the cache off. Idempotent.
  void Stop();

  // cursor is where the watch resumes after a break (empty: from now).
  std::string cursor() const { return watch_.cursor(); }

 private:
  absl::Status OnStarted(const clients::registry::WatchStart& start) override;
  absl::Status OnEvent(const registry::v1::ChangeEvent& event) override;
  void OnEnded(const grpc::Status& status) override;

  const std::unique_ptr<clients::registry::RegistryWatch> own_watch_;  // null when shared
  clients::registry::RegistryWatch& watch_;
  ReadCache* const cache_;
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_READ_CACHE_H_
