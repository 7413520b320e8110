// RedisRegistryStore is the Redis implementation of RegistryStore: objects as serialized
// protobuf with their revision, sorted-set indexes for the listings and search, and a Redis
// Stream as the change feed. Every commit is one Lua script, so objects, indexes and the change
// event are written together or not at all. Listings walk the most selective index in id order
// with a bounded read-only script, fetch the objects atomically and re-check each against the
// filter, so an object changed between the two steps is never listed under a stale filter.
//
// Key layout. Every key starts with B = "<key_prefix>:{r}:"; the shared hash tag "{r}" puts all
// of them in one Cluster slot, so every multi-key script stays valid on Redis Cluster (the key
// prefix itself must not contain braces). <k> is a StandardState or AgencyKind enum number,
// <p> each level of a region code (RegionPrefixes()), <t> a keyword token (KeywordTokens()).
//
//   Objects (hashes {rev: decimal revision, pb: serialized message}):
//     B agency:<id>     v1.Agency
//     B unit:<id>       v1.ServiceUnit
//     B service:<id>    v1.Service
//     B version:<id>    v1.StandardVersion
//     B maklumat:<id>   v1.Maklumat
//   Change feed (stream; entries {v: "1", pb: serialized v1.ChangeEvent with an empty cursor};
//   its max-deleted-entry-id is the newest trimmed entry, set by the commit script):
//     B feed
//   Id indexes (sorted sets, score 0, member = object id, walked with ZRANGEBYLEX):
//     B ix:agency:all            every agency
//     B ix:agency:kind:<k>       agencies of a kind (not for AGENCY_KIND_UNSPECIFIED)
//     B ix:agency:region:<p>     agencies under a region level
//     B ix:unit:all              every unit
//     B ix:unit:agency:<id>      units of an agency
//     B ix:unit:region:<p>       units under a region level
//     B ix:service:all           every service
//     B ix:service:agency:<id>   services of an agency
//     B ix:service:unit:<id>     services of a unit
//     B ix:version:all           every standard version
//     B ix:version:agency:<id>   versions of an agency
//     B ix:version:unit:<id>     versions of a unit
//     B ix:version:state:<k>     versions in a state
//     B ix:version:region:<p>    versions under a region level
//     B ix:version:kw:<t>        versions whose KeywordTokens() contain <t>
//   Numeric indexes (sorted sets, member = object id):
//     B ix:version:service:<id>          versions of a service, score = version_number
//     B ix:maklumat:unit:<id>            maklumat of a unit, score = version_number
//     B ix:version:review_due            ADOPTED versions with a review due date,
//                                        score = DayNumber(review_due_date)
//     B ix:version:review_due:agency:<id>  the same, per agency
#ifndef SIMPUL_SERVICES_REGISTRY_REDIS_STORE_H_
#define SIMPUL_SERVICES_REGISTRY_REDIS_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "services/registry/store.h"

namespace simpul::registry {

class RedisRegistryStore final : public RegistryStore {
 public:
  struct Options {
    std::string key_prefix = "simpul:reg";
    // Number of feed events kept. The commit that takes the feed past feed_max_len + slack
    // (1% of feed_max_len, at most 100; 0 below 100 events) trims it back to exactly
    // feed_max_len events. Zero or negative keeps every event.
    int64_t feed_max_len = 1000000;
  };

  // RedisRegistryStore uses `pool`, which must outlive it.
  RedisRegistryStore(RedisPool* pool, Options options);
  RedisRegistryStore(const RedisRegistryStore&) = delete;
  RedisRegistryStore& operator=(const RedisRegistryStore&) = delete;

  // Commit reads the current state of the written objects (to compute which index entries
  // to remove), then runs one script that re-checks every revision and writes objects,
  // index changes and the change event. INVALID_ARGUMENT when a write has no object, no id,
  // a revision other than expected_revision + 1, or names an object twice.
  absl::StatusOr<CommitResult> Commit(const std::vector<ObjectWrite>& writes,
                                      v1::ChangeEvent event) override;

  absl::StatusOr<std::optional<v1::Agency>> GetAgency(std::string_view id) override;
  absl::StatusOr<std::optional<v1::ServiceUnit>> GetUnit(std::string_view id) override;
  absl::StatusOr<std::optional<v1::Service>> GetService(std::string_view id) override;
  absl::StatusOr<std::optional<v1::StandardVersion>> GetStandardVersion(
      std::string_view id) override;
  absl::StatusOr<std::optional<v1::Maklumat>> GetMaklumat(std::string_view id) override;

  // ListAgencies, ListUnits, ListServices, SearchStandards, ListServiceVersions,
  // ListUnitMaklumat and ListReviewDue fail with INVALID_ARGUMENT when `limit` is not positive.
  absl::StatusOr<std::vector<v1::Agency>> ListAgencies(const AgencyFilter& filter,
                                                       std::string_view after_id,
                                                       int limit) override;
  absl::StatusOr<std::vector<v1::ServiceUnit>> ListUnits(const UnitFilter& filter,
                                                         std::string_view after_id,
                                                         int limit) override;
  absl::StatusOr<std::vector<v1::Service>> ListServices(const ServiceFilter& filter,
                                                        std::string_view after_id,
                                                        int limit) override;
  absl::StatusOr<std::vector<v1::StandardVersion>> SearchStandards(const StandardQuery& query,
                                                                   std::string_view after_id,
                                                                   int limit) override;
  absl::StatusOr<std::vector<v1::StandardVersion>> ListServiceVersions(std::string_view service_id,
                                                                       int after_number,
                                                                       int limit) override;
  absl::StatusOr<std::vector<v1::Maklumat>> ListUnitMaklumat(std::string_view unit_id,
                                                             int after_number, int limit) override;
  absl::StatusOr<std::vector<v1::StandardVersion>> ListReviewDue(
      std::string_view agency_id, int64_t before_day, const std::optional<ReviewDueKey>& after,
      int limit) override;

  // ReadChanges accepts "0" (from the oldest retained event) or a stream id "<ms>-<seq>";
  // anything else is INVALID_ARGUMENT. OUT_OF_RANGE when events after `after_cursor` were
  // trimmed, or when `after_cursor` is newer than the newest event the feed ever had (the feed
  // was reset).
  absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChanges(std::string_view after_cursor, int limit,
                                                           absl::Duration block) override;
  absl::StatusOr<std::string> LatestCursor() override;

 private:
  // IdGroup is one filter of an id listing: an object matches when it is in any of `keys`.
  using IdGroup = std::vector<std::string>;
  // FetchedObject is one object hash read by FetchObjects; pb is nullopt when absent.
  struct FetchedObject {
    int64_t revision = 0;
    std::optional<std::string> pb;
  };

  // FindIds walks the smallest group in id order from `after_id` and returns up to `limit`
  // ids that are in every group (in `all_key` when there are no groups). It sets `*exhausted`
  // when the index ended and `*last_seen` to the last examined id.
  absl::StatusOr<std::vector<std::string>> FindIds(const std::vector<IdGroup>& groups,
                                                   const std::string& all_key,
                                                   const std::string& after_id, int limit,
                                                   bool* exhausted, std::string* last_seen);
  // FetchObjects reads the hashes at `keys` in one atomic step.
  absl::StatusOr<std::vector<FetchedObject>> FetchObjects(const std::vector<std::string>& keys);
  // ListByIds runs FindIds from `after_id` until `limit` objects that still satisfy
  // `matches` (re-checked after the fetch) are found or the index ends.
  template <typename T, typename KeyFn, typename MatchFn>
  absl::StatusOr<std::vector<T>> ListByIds(const std::vector<IdGroup>& groups,
                                           const std::string& all_key, std::string_view after_id,
                                           int limit, KeyFn key_of, MatchFn matches);
  // ListByNumber reads the objects of a numeric index with a score above `after_number`.
  template <typename T, typename KeyFn>
  absl::StatusOr<std::vector<T>> ListByNumber(const std::string& index_key, int after_number,
                                              int limit, KeyFn key_of);
  template <typename T>
  absl::StatusOr<std::optional<T>> GetObject(const std::string& key);

  std::string Key(std::string_view suffix) const;
  std::string ObjectKey(const v1::ChangedObject& object) const;

  RedisPool* const pool_;
  const Options options_;
  const std::string base_;  // "<key_prefix>:{r}:"
  const std::string feed_key_;
};

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_REDIS_STORE_H_
