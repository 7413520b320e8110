// RegistryStore is the storage interface of the registry: objects with revisions, the
// indexes behind listings and search, and the change feed. RedisRegistryStore implements it
// over Redis; tests use an in-memory fake. The domain logic (StandardsRegistry) never sees how
// objects are laid out.
#ifndef SIMPUL_SERVICES_REGISTRY_STORE_H_
#define SIMPUL_SERVICES_REGISTRY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "simpul/registry/v1/registry.pb.h"

namespace simpul::registry {

namespace v1 = ::simpul::registry::v1;

// ObjectWrite is the new state of one object in a commit.
struct ObjectWrite {
  v1::ChangedObject object;       // new state; its revision field is expected_revision + 1
  int64_t expected_revision = 0;  // 0 means the object must not exist yet
};

// CommitResult says whether a commit applied. On a revision conflict nothing was written.
struct CommitResult {
  bool committed = false;
  int conflict_index = -1;       // index in `writes` of the first mismatching object
  int64_t current_revision = 0;  // that object's stored revision (0 if absent)
  std::string cursor;            // feed position of the change event, when committed
};

struct AgencyFilter {
  std::string region_code_prefix;  // a whole region code level ("32", "32.71", ...) or empty
  v1::AgencyKind kind = v1::AGENCY_KIND_UNSPECIFIED;  // UNSPECIFIED: any
};

struct UnitFilter {
  std::string agency_id;           // empty: any
  std::string region_code_prefix;  // empty: any
};

struct ServiceFilter {
  std::string agency_id;  // empty: any
  std::string unit_id;    // empty: any
};

struct StandardQuery {
  std::string agency_id;
  std::string unit_id;
  std::string region_code_prefix;
  std::vector<v1::StandardState> states;    // non-empty: the version's state is one of these
  std::vector<std::string> keyword_tokens;  // every token must be among KeywordTokens(version)
};

// ReviewDueKey orders the review-overdue listing: due day (days since 1970-01-01), then id.
struct ReviewDueKey {
  int64_t due_day = 0;
  std::string id;
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  // Commit atomically checks every write's expected revision, stores every object, updates
  // every index the objects belong to (removing stale index entries of their previous state)
  // and appends `event` to the change feed with `event.objects` set to the written objects.
  // Either everything applies or nothing does. A revision mismatch is not an error: it comes
  // back as committed == false.
  virtual absl::StatusOr<CommitResult> Commit(const std::vector<ObjectWrite>& writes,
                                              v1::ChangeEvent event) = 0;

  // Point reads; nullopt when absent.
  virtual absl::StatusOr<std::optional<v1::Agency>> GetAgency(std::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::ServiceUnit>> GetUnit(std::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Service>> GetService(std::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::StandardVersion>> GetStandardVersion(
      std::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::Maklumat>> GetMaklumat(std::string_view id) = 0;

  // Listings in ascending id order, strictly after `after_id` (empty: from the start), at most
  // `limit` items.
  virtual absl::StatusOr<std::vector<v1::Agency>> ListAgencies(const AgencyFilter& filter,
                                                               std::string_view after_id,
                                                               int limit) = 0;
  virtual absl::StatusOr<std::vector<v1::ServiceUnit>> ListUnits(const UnitFilter& filter,
                                                                 std::string_view after_id,
                                                                 int limit) = 0;
  virtual absl::StatusOr<std::vector<v1::Service>> ListServices(const ServiceFilter& filter,
                                                                std::string_view after_id,
                                                                int limit) = 0;
  virtual absl::StatusOr<std::vector<v1::StandardVersion>> SearchStandards(
      const StandardQuery& query, std::string_view after_id, int limit) = 0;

  // The versions of one service by ascending version number, after `after_number`.
  virtual absl::StatusOr<std::vector<v1::StandardVersion>> ListServiceVersions(
      std::string_view service_id, int after_number, int limit) = 0;
  // The maklumat of one unit by ascending version number, after `after_number`.
  virtual absl::StatusOr<std::vector<v1::Maklumat>> ListUnitMaklumat(std::string_view unit_id,
                                                                     int after_number,
                                                                     int limit) = 0;

  // ADOPTED versions whose review due day is before `before_day`, ordered by (due day, id),
  // strictly after `after` when given; optionally of one agency.
  virtual absl::StatusOr<std::vector<v1::StandardVersion>> ListReviewDue(
      std::string_view agency_id, int64_t before_day, const std::optional<ReviewDueKey>& after,
      int limit) = 0;

  // ReadChanges returns up to `limit` feed events after `after_cursor` ("0": from the oldest
  // retained), each with its cursor set. When none is available it waits up to `block` for
  // one (zero: do not wait). OUT_OF_RANGE when events after `after_cursor` were trimmed away.
  virtual absl::StatusOr<std::vector<v1::ChangeEvent>> ReadChanges(std::string_view after_cursor,
                                                                   int limit,
                                                                   absl::Duration block) = 0;
  // LatestCursor is the cursor of the newest feed event ("0-0" when the feed is empty).
  virtual absl::StatusOr<std::string> LatestCursor() = 0;
};

// The region-code levels an object with `region_code` is indexed under, e.g. "32.71.04" gives
// {"32", "32.71", "32.71.04"}.
std::vector<std::string> RegionPrefixes(std::string_view region_code);

// KeywordTokens are the search tokens of a version: lower-cased words (letters and digits) of
// at least 2 characters from the service name and the public (delivery) text components,
// sorted and deduplicated. Management components are not searchable, so a public search never
// reveals internal text.
std::vector<std::string> KeywordTokens(const v1::StandardVersion& version);
// TokenizeQuery splits a keyword query the same way.
std::vector<std::string> TokenizeQuery(std::string_view text);

// DayNumber is the number of days since 1970-01-01 of a civil date (may be negative).
int64_t DayNumber(const simpul::common::v1::Date& date);

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_STORE_H_
