// RegistrySnapshot is the registry process's in-memory copy of its published data: every
// service's current-version pointer and every ADOPTED standard version, with the indexes a
// public search needs (keyword token, agency, unit, region level). It is loaded from the store
// and then kept exact by tailing the store's change feed on its own thread; a replica applies its
// own commits at once (Apply), so it reads its own writes. GetCurrentStandard and the default
// (ADOPTED) SearchStandards are answered from it without a Redis call.
//
// Staleness: the snapshot serves only while its last complete feed read started less than
// max_staleness ago; otherwise (Redis unreachable, feed thread stalled) and while it loads,
// Serving() is false and callers read the store. A trimmed-away cursor or a feed that went
// backwards (Redis failover to a replica that had not received the newest events, a flushed
// feed) makes it drop everything and load again.
#ifndef SIMPUL_SERVICES_REGISTRY_SNAPSHOT_H_
#define SIMPUL_SERVICES_REGISTRY_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/registry/store.h"

namespace simpul::registry {

struct SnapshotOptions {
  // A snapshot whose last complete feed read started longer ago than this does not serve.
  absl::Duration max_staleness = absl::Seconds(2);
  // How long one feed read waits for news (keep it well below max_staleness).
  absl::Duration poll_block = absl::Milliseconds(500);
  int feed_batch = 500;  // events per feed read
  int load_batch = 500;  // objects per listing call while loading
};

// PublishedStandard is one ADOPTED version as the snapshot keeps it: serialized in both
// views (answers are copied out as bytes, never re-encoded) and what search filters on.
struct PublishedStandard {
  std::string id;
  std::string agency_id;
  std::string unit_id;
  std::string full_bytes;            // the version with view FULL, serialized
  std::string public_bytes;          // with view PUBLIC: management components cleared
  std::vector<std::string> tokens;   // KeywordTokens(version)
  std::vector<std::string> regions;  // RegionPrefixes(version.region_code())
};

// PublicView returns `version` as a caller outside its agency sees it (view PUBLIC, the
// management components cleared).
v1::StandardVersion PublicView(v1::StandardVersion version);

class RegistrySnapshot {
 public:
  RegistrySnapshot(RegistryStore& store, const Clock& clock, SnapshotOptions options);
  ~RegistrySnapshot();  // stops and joins the feed thread
  RegistrySnapshot(const RegistrySnapshot&) = delete;
  RegistrySnapshot& operator=(const RegistrySnapshot&) = delete;

  // Start runs Poll in a loop on a thread of its own until Stop.
  void Start();
  // Stop ends the loop within one poll_block; the snapshot stops serving.
  void Stop();

  // Poll makes one step: (re)loads the snapshot when it has none, then reads the feed once
  // (waiting up to `block` for news) and applies what it read. OUT_OF_RANGE (the feed was
  // trimmed past the cursor or went backwards) drops the snapshot, and the next Poll loads it
  // again. Poll is called from one thread at a time.
  absl::Status Poll(absl::Duration block);

  // Apply brings the objects of one committed change into the snapshot (a replica's own
  // commit, before it answers). An object older than the snapshot's copy is ignored, so
  // applying a change twice or out of order is harmless.
  void Apply(const std::vector<v1::ChangedObject>& objects);

  // Serving: loaded, caught up with the feed, and synced within max_staleness.
  bool Serving() const;

  struct CurrentLookup {
    bool service_found = false;
    std::string current_version_id;  // empty: the service has no adopted standard
    std::shared_ptr<const PublishedStandard> standard;  // null if not in the snapshot
  };
  // Current looks up a service's current standard; nullopt when not Serving().
  std::optional<CurrentLookup> Current(std::string_view service_id) const;

  // SearchPublished answers StandardQuery over ADOPTED versions exactly as
  // RegistryStore::SearchStandards does (ascending id after `after_id`, at most `limit`);
  // nullopt when not Serving() or when the query asks for any state other than ADOPTED.
  std::optional<std::vector<std::shared_ptr<const PublishedStandard>>> SearchPublished(
      const StandardQuery& query, std::string_view after_id, int limit) const;

  struct Stats {
    size_t services = 0;
    size_t versions = 0;   // versions whose revision is tracked (every state)
    size_t published = 0;  // ADOPTED versions held in full
    size_t approx_bytes = 0;
  };
  Stats stats() const;

 private:
  struct ServiceEntry {
    int64_t revision = 0;
    std::string current_version_id;
  };
  // Postings: ids (views of State::published keys) in ascending id order.
  using Postings = std::set<std::string_view>;
  struct State {
    absl::flat_hash_map<std::string, ServiceEntry> services;
    absl::flat_hash_map<std::string, int64_t> version_revisions;
    std::map<std::string, std::shared_ptr<const PublishedStandard>, std::less<>> published;
    std::map<std::string, Postings, std::less<>> by_token, by_agency, by_unit, by_region;
  };
  // A version object prepared outside the lock.
  struct PreparedVersion {
    std::string id;
    int64_t revision = 0;
    std::shared_ptr<const PublishedStandard> published;  // null: not ADOPTED
  };
  // The objects of changes, prepared outside the lock (copies, tokens), in commit order.
  struct Prepared {
    std::vector<v1::Service> services;
    std::vector<PreparedVersion> versions;
  };
  static void Prepare(const v1::ChangedObject& object, Prepared& out);
  static std::shared_ptr<const PublishedStandard> Publish(const v1::StandardVersion& version);
  static void ApplyService(State& state, const v1::Service& service);
  static void ApplyVersion(State& state, PreparedVersion version);
  static void Unindex(State& state, std::string_view id, const PublishedStandard& standard);
  static void Index(State& state, std::string_view id, const PublishedStandard& standard);
  void ApplyLocked(Prepared prepared) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Load();
  bool ServingLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void Run();

  RegistryStore& store_;
  const Clock& clock_;
  const SnapshotOptions options_;

  mutable absl::Mutex mu_;
  std::unique_ptr<State> state_ ABSL_GUARDED_BY(mu_);  // null: not loaded
  absl::Time synced_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  std::string cursor_;  // the feed position applied up to; only Poll's thread uses it
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_SNAPSHOT_H_
