// RegistryRouter resolves complaint routes by asking the standards registry over gRPC, with a
// cache that the registry's change feed (WatchStandards, through a RegistryWatch: its own, or
// one shared with other subscribers of the process) keeps fresh.
//
// A route's `sandbox` is the unit's flag or its agency's: an agency entry (AgencyExists') holds
// the agency's flag, and a change of either drops every route it is part of, the same way a
// change of a time zone or region does.
//
// Calls are public unless Options::identity is set (a shared watch carries its owner's
// identity): the public sees services, units, agencies and the delivery components of adopted
// and superseded standards, complaint handling included, but not withdrawn versions.
//
// The cache is used only while the watch is connected and caught up, so a missed invalidation
// can never leave a stale answer behind: when the stream breaks the whole cache is dropped
// and every call goes straight to the registry until the watch is back. A watch resumed from
// the last event's cursor is caught up at once (the registry replays what was missed); a
// watch from "now" (first start, or after OUT_OF_RANGE) is trusted once the registry's initial
// metadata names the cursor it starts after (x-simpul-cursor), or, from a registry that does
// not send it, after its first event or `call_timeout`. Entries fetched while an invalidation
// arrived are not stored (an epoch check), so a reply that raced with a change cannot be cached
// past that change's event.
//
// Give the channel keepalive settings if the network can silently drop connections: a
// half-open watch stream is only noticed by the transport.
#ifndef SIMPUL_CLIENTS_REGISTRY_REGISTRY_ROUTER_H_
#define SIMPUL_CLIENTS_REGISTRY_REGISTRY_ROUTER_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/internal_identity.h"
#include "clients/registry/router.h"
#include "clients/registry/watch.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::clients::registry {

// InForceHistory turns a service's versions (as ListStandardVersions returns them) into the
// StandardTerms of every version that was adopted, oldest first, with in_force_from at 00:00 of
// the effective date in `zone`. A withdrawn version ends at its withdrawal (its update_time). A
// caller without the agency's rights does not see withdrawn versions: when the newest version
// it sees is SUPERSEDED, its successor was withdrawn, and the history ends at the
// supersession (that version's update_time); the withdrawn successor's own span is unknown.
std::vector<StandardTerms> InForceHistory(
    const std::vector<::simpul::registry::v1::StandardVersion>& versions,
    common::v1::TimeZone zone);

class RegistryRouter final : public Router, private WatchSubscriber {
 public:
  struct Options {
    // Deadline of one Resolve*/AgencyExists, shared by every registry call it makes.
    absl::Duration call_timeout = absl::Seconds(2);
    // How long a NOT_FOUND answer is cached (the feed also drops it when the object appears).
    absl::Duration negative_ttl = absl::Seconds(30);
    // Cached services, units and agencies together; the least recently used go first.
    size_t max_entries = 100000;
    // Backoff between attempts to (re)open its own watch stream (unused with a shared watch).
    absl::Duration reconnect_min = absl::Milliseconds(100);
    absl::Duration reconnect_max = absl::Seconds(5);
    // Who its unary calls are made as; unset: the public. With the read-only service role
    // (monitoring's) withdrawn versions are visible, so the history has their exact spans.
    std::optional<InternalIdentity> identity;
  };

  struct Stats {
    int64_t registry_calls = 0;  // unary calls sent to the registry
    int64_t cache_hits = 0;      // lookups answered from the cache
    int64_t invalidations = 0;   // cache entries dropped because of change events
    bool watching = false;       // the watch is connected and caught up: the cache is in use
  };

  // RegistryRouter with a watch of its own (public, the entity types of a route).
  RegistryRouter(std::shared_ptr<grpc::Channel> registry, Options options);
  // RegistryRouter on `watch`, shared with other subscribers; it subscribes now, so `watch`
  // must not be started yet; its owner starts and stops it, and it must outlive the router.
  RegistryRouter(std::shared_ptr<grpc::Channel> registry, RegistryWatch& watch, Options options);
  ~RegistryRouter() override;  // Stop()
  RegistryRouter(const RegistryRouter&) = delete;
  RegistryRouter& operator=(const RegistryRouter&) = delete;

  // EntityTypes are the change events a route depends on.
  static std::vector<::simpul::registry::v1::EntityType> EntityTypes();

  // Start launches its own watch; without it the cache is never used. Only the first call has
  // an effect (a stopped router stays stopped). Nothing with a shared watch.
  void Start();
  // Stop ends its own watch (joining its thread), or leaves the shared one; the cache is off
  // from then on. Idempotent.
  void Stop();

  absl::StatusOr<Route> ResolveService(std::string_view service_id) override;
  absl::StatusOr<Route> ResolveUnit(std::string_view unit_id) override;
  absl::StatusOr<bool> AgencyExists(std::string_view agency_id) override;
  absl::StatusOr<Route> ResolveAgency(std::string_view agency_id) override;

  Stats stats() const;

 private:
  // A cached answer: a Route (for agencies only agency_id is set) or NOT_FOUND.
  struct Entry {
    absl::StatusOr<Route> value;
    absl::Time expires;  // InfiniteFuture() for found objects
    std::list<std::string>::iterator lru;
  };

  // Lookup returns the cached answer for `key` and sets *epoch to the epoch a fetch must
  // still see when it stores its answer (0: do not store, the cache is not in use).
  std::optional<absl::StatusOr<Route>> Lookup(const std::string& key, uint64_t* epoch);
  // Store caches `value` (OK or NOT_FOUND) unless the cache changed epoch since `epoch`.
  void Store(const std::string& key, const absl::StatusOr<Route>& value, uint64_t epoch);

  // WatchSubscriber: the watch's reports turn the cache on, invalidate it and turn it off.
  absl::Status OnStarted(const WatchStart& start) override;
  absl::Status OnEvent(const ::simpul::registry::v1::ChangeEvent& event) override;
  void OnEnded(const grpc::Status& status) override;

  absl::StatusOr<Route> FetchService(std::string_view service_id, absl::Time deadline);
  absl::StatusOr<Route> FetchUnit(std::string_view unit_id, absl::Time deadline);
  // UnitRoute is the route of `unit`, in sandbox when it or its agency is (the agency's answer
  // comes from the cache or GetAgency, and is cached like AgencyExists' answers).
  absl::StatusOr<Route> UnitRoute(const ::simpul::registry::v1::ServiceUnit& unit,
                                  absl::Time deadline);
  // ResolveAgencyRoute is the cached agency answer (agency_id and sandbox) or NOT_FOUND.
  absl::StatusOr<Route> ResolveAgencyRoute(std::string_view agency_id, absl::Time deadline);
  void PrepareCall(grpc::ClientContext* ctx, absl::Time deadline);

  bool LiveLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the entries `pred` selects, counting them as invalidations.
  template <typename Pred>
  void InvalidateLocked(Pred pred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyEventLocked(const ::simpul::registry::v1::ChangeEvent& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const std::unique_ptr<::simpul::registry::v1::Registry::Stub> stub_;
  const std::unique_ptr<RegistryWatch> own_watch_;  // null with a shared watch
  RegistryWatch& watch_;

  mutable absl::Mutex mu_;
  std::unordered_map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);  // most recently used first
  // Moves on every invalidation and clear; starts at 1 (0 means "not cacheable").
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 1;
  bool stream_open_ ABSL_GUARDED_BY(mu_) = false;
  bool anchored_ ABSL_GUARDED_BY(mu_) = false;  // the watch position is known: trusted
  absl::Time stream_start_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace simpul::clients::registry

#endif  // SIMPUL_CLIENTS_REGISTRY_REGISTRY_ROUTER_H_
