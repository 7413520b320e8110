// ComplaintStore is the storage interface of simpul-complaints: case records with revisions,
// their append-only history, the inbox indexes, the deadline queue, the idempotency records of
// filings and the event stream. RedisComplaintStore implements it over Redis; unit tests use
// an in-memory fake. The domain logic (ComplaintDesk) never sees how records are laid out.
#ifndef SIMPUL_SERVICES_COMPLAINTS_STORE_H_
#define SIMPUL_SERVICES_COMPLAINTS_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/complaints/geo.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/complaints/v1/storage.pb.h"

namespace simpul::complaints {

namespace v1 = ::simpul::complaints::v1;

// IdempotencyClaim asks a filing commit to record its result under a key of the filer's
// scope, unless the key already holds a result.
struct IdempotencyClaim {
  // The namespace of the key: the filing caller's role, agency or channel and subject (an API
  // key's own "key:<id>"), or for a public caller "public/" and the request's fingerprint.
  std::string scope;
  std::string key;
  v1::IdempotencyRecord record;
  absl::Duration ttl = absl::Hours(24 * 7);
};

// CaseWrite is one atomic change of one case: its new record, the history entry describing
// the change and the event published for it.
struct CaseWrite {
  // The record the change was computed from; nullopt when filing a new case. Its revision is
  // the expected revision, and its index entries are the ones removed.
  std::optional<v1::ComplaintRecord> before;
  v1::ComplaintRecord after;  // after.complaint().revision() == before revision + 1 (or 1)
  v1::HistoryEntry entry;     // entry.sequence() == after.last_sequence()
  v1::ComplaintEvent event;
  std::optional<IdempotencyClaim> idempotency;  // filings only
};

struct CommitResult {
  enum class Outcome {
    kCommitted,
    kConflict,         // the stored revision is not before's (or the id exists on filing)
    kIdempotentReplay  // the key already holds a result: `replay`; nothing was written
  };
  Outcome outcome = Outcome::kCommitted;
  int64_t current_revision = 0;  // on kConflict: the stored revision (0: absent)
  v1::IdempotencyRecord replay;  // on kIdempotentReplay
  std::string event_cursor;      // on kCommitted: the stream id of the event
};

// IndexEntry is one position in an index: filing time in milliseconds, then id.
struct IndexPosition {
  int64_t file_time_ms = 0;
  std::string id;
};

struct IndexedRecord {
  IndexPosition position;
  v1::ComplaintRecord record;
};

// Index names. Listings scan one index in (filing time, id) order. A record is stored in every
// index IndexesOf returns. AgencyIndex and UnitIndex are not stored: a scan reads them as the
// union of the agency's (the unit's) per-state indexes (IndexParts), which saves two index
// entries, about 200 bytes of Redis memory, per case (issue #6).
std::string AllIndex();
std::string StateIndex(v1::State state);
std::string AgencyIndex(std::string_view agency_id);
std::string AgencyStateIndex(std::string_view agency_id, v1::State state);
std::string UnitIndex(std::string_view unit_id);
std::string UnitStateIndex(std::string_view unit_id, v1::State state);
std::string UnroutedIndex();  // RECEIVED cases with no agency
std::string PublicIndex();    // verified, not archived, not SECRET cases
// UpdatedIndex holds every case scored by its update time (not its filing time), for
// ListComplaints updated_since; it is not in IndexesOf: the store writes it with every commit.
std::string UpdatedIndex();
// IsPubliclyListed: the case is in PublicIndex (verified, not archived, not SECRET).
bool IsPubliclyListed(const v1::Complaint& complaint);
std::vector<std::string> IndexesOf(const v1::Complaint& complaint);
// IndexParts lists the stored indexes a scan of `index` reads: for AgencyIndex and UnitIndex,
// the per-state index of every state; for any other index, the index itself.
std::vector<std::string> IndexParts(std::string_view index);

// NextDeadline is the instant the deadline scanner must act on a case (deadlines.next), or
// nullopt when none applies.
std::optional<absl::Time> NextDeadline(const v1::Complaint& complaint);

class ComplaintStore {
 public:
  virtual ~ComplaintStore() = default;

  // Commit applies `write` atomically: it checks the revision (or, for a filing, that the id
  // is free and the idempotency key unused), stores the record, appends the history entry,
  // moves the record between indexes, sets or clears its place in the deadline queue
  // (NextDeadline), publishes the event and, for a filing, records the idempotency result.
  // Either all of it happens or none of it does. Conflicts and replays are outcomes, not
  // errors.
  virtual absl::StatusOr<CommitResult> Commit(const CaseWrite& write) = 0;

  virtual absl::StatusOr<std::optional<v1::ComplaintRecord>> Get(std::string_view id) = 0;
  // History returns the case's entries, oldest first (empty for an unknown id).
  virtual absl::StatusOr<std::vector<v1::HistoryEntry>> History(std::string_view id) = 0;
  virtual absl::StatusOr<std::optional<v1::IdempotencyRecord>> GetIdempotency(
      std::string_view scope, std::string_view key) = 0;

  // Scan returns up to `limit` records of `index` with filing time in [from_ms, to_ms), in
  // (filing time, id) order, strictly after `after` when given.
  virtual absl::StatusOr<std::vector<IndexedRecord>> Scan(std::string_view index, int64_t from_ms,
                                                          int64_t to_ms,
                                                          const std::optional<IndexPosition>& after,
                                                          int limit) = 0;

  // ScanArea is Scan over the cases of geo index `geo_index` (GeoIndexesOf) found by a search
  // for `area` (a superset: SearchShapeOf), ordered by their score in `order_index`
  // (AllIndex: filing time, UpdatedIndex: update time; cases not in it are skipped), with
  // that score in [from_ms, to_ms), strictly after `after` when given. The caller keeps the
  // points inside the area (Contains). Each call reads every indexed case of the search shape,
  // so its cost grows with the cases of `geo_index` in the area, not with the page.
  virtual absl::StatusOr<std::vector<IndexedRecord>> ScanArea(
      std::string_view geo_index, const GeoArea& area, std::string_view order_index,
      int64_t from_ms, int64_t to_ms, const std::optional<IndexPosition>& after, int limit) = 0;

  // Due returns the ids of up to `limit` cases whose next deadline is at or before `at`,
  // earliest first.
  virtual absl::StatusOr<std::vector<std::string>> Due(absl::Time at, int limit) = 0;
};

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_STORE_H_
