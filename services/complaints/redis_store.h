// RedisComplaintStore is the Redis implementation of ComplaintStore: case records with their
// revision, append-only histories, sorted-set inbox indexes, the deadline queue, idempotency
// records with a TTL and the event stream the monitoring service consumes. Every commit is one
// Lua script that checks the revision (or, for a filing, the idempotency key and that the id is
// free) before writing anything, so a case, its history, its index entries, its deadline and
// its event are written together or not at all.
//
// Key layout. Every key starts with P = Options::key_prefix, which carries exactly one hash tag
// (default "simpul:cmp:{c}:"), so every key of the store lives in one Cluster slot and every
// multi-key script stays valid on Redis Cluster. Scripts touch only keys passed in KEYS.
// <id> is a complaint id (tracking code), <index> an index name of store.h (IndexesOf).
//
//   P c:<id>         string "<revision>:<identity><z>", one per case:
//                    <revision>  the case's revision in decimal, so the commit script checks
//                                it without decoding the rest;
//                    <identity>  the complainant: a varint n, then (n > 0) the n - 1 bytes of
//                                the serialized complaint.complainant (followed by a
//                                storage.proto SealedCaseData holding the case's attribute
//                                answers, when it has some) sealed with AES-256-GCM
//                                under the active key of Options::pii_keys, the case id bound
//                                as additional data (PiiKeyring's layout, which starts with
//                                the byte 0x01 and names the key id); n = 0: none. Values
//                                written before issue #13 hold the serialized complainant in
//                                clear (which never starts with 0x01: field number 0 is not
//                                valid protobuf); they are still read, the next commit of the
//                                case seals them, and RekeyIdentities (simpul-pii-rekey) seals
//                                them all. Kept out of the compressed part so that it can be
//                                re-sealed without decompressing the rest. Sealing costs 30
//                                bytes plus the key id's length per case (32 with "k1");
//                    <z>         the raw deflate stream (zlib, no header) of the case's
//                                v1.ComplaintRecord without its complainant, then its
//                                v1.HistoryEntry messages, oldest first, each message preceded
//                                by its size as a varint (protobuf's delimited framing).
//                    A change reads the value, appends its entry and writes the whole value
//                    back; the script's revision check makes sure nothing committed between.
//   P ix:<index>     for every stored index (IndexesOf; AgencyIndex and UnitIndex are not
//                    stored, Scan reads the union of their per-state indexes, IndexParts):
//                    sorted set, member = id, score = complaint.file_time in Unix milliseconds
//                    (rounded down); members sharing a score are ordered bytewise by id, so an
//                    index is ordered by (filing time, id) as Scan requires
//   P ix:upd         sorted set, member = id, score = complaint.update_time in Unix
//                    milliseconds (UpdatedIndex): every case, ordered by its last change, for
//                    ListComplaints updated_since; written by every commit, filled for cases
//                    of earlier versions by BackfillUpdatedIndex (at start, once)
//   P ix:geo:all, P ix:geo:a:<agency>, P ix:geo:pub
//                    geo sets (sorted sets scored by geohash), member = id, at the case's
//                    point: every case with a point (geo.h GeoIndexed), the cases an agency
//                    holds, the publicly listed ones (GeoIndexesOf); moved in every commit like
//                    the other indexes; filled for cases of earlier versions by
//                    BackfillGeoIndex (at start, once). ScanArea searches one of them
//                    (GEOSEARCH) and orders what it finds by P ix:all or P ix:upd
//   P due            sorted set, member = id, score = NextDeadline in Unix milliseconds (rounded
//                    up, so a case is never reported due before its deadline)
//   P filed:<n>:<scope>:<key>
//                    string with a PX TTL: serialized v1.IdempotencyRecord (the request's
//                    fingerprint and the tracking code, never the secret); <scope> is the
//                    filer's idempotency scope (IdempotencyClaim), <n> its length in bytes, so
//                    a scope or key containing ':' cannot collide. Records of the earlier
//                    layout, P idem:<n>:<channel>:<key>, held the secret in clear and were
//                    scoped by channel name: nothing reads them, and
//                    DropLegacyIdempotencyRecords removes them (once: it then sets
//                    P migrated:idem-v2 and later calls skip the SCAN)
//   P events         stream (EventStreamKey()); entries {v: "1" (payload version),
//                    e: serialized v1.ComplaintEvent}. Every commit trims the events that
//                    every consumer group has acknowledged (XTRIM MINID ~ at the oldest entry
//                    some group has pending or not yet delivered; nothing while the stream has
//                    no group) once they are older than Options::event_retention, and caps
//                    the stream at stream_max_len whatever was consumed; both trims are exact
//                    and record the newest removed id (XSETID MAXDELETEDID), so ReadEvents
//                    knows a cursor that missed events. So a group sees every event
//                    published after it was created and every older event no group had
//                    acknowledged yet, and a feed can resume from any cursor of the
//                    retention period.
//
// Memory (issue #6, bench/complaint_memory_bench): one compressed string per case instead of a
// record hash and a history list. A hash whose value exceeds hash-max-listpack-value (64
// bytes) is a hash table and a list a quicklist, each with a hundred bytes or more of
// bookkeeping, and a second key per case costs its own key entry; the description and the
// repeated ids and action names of the history compress to about two thirds. Reading a record
// (Get, listings) decompresses about a kilobyte. Data written by the earlier layout (hash
// records under c:<id>, list histories under h:<id>) must be migrated: the commit script
// reports a key of the old type as WRONGTYPE.
//
// Listings (Scan) find a page of (score, id) positions with a bounded read-only script (binary
// search for the position after the cursor inside a run of equal scores, then one ZRANGE by
// rank, in each part of a union index, merged), then fetch the records with a second script
// that re-checks each id's index entry, so a record that left the index or was deleted in
// between is skipped, never listed stale. A union of the ten per-state indexes costs up to ten
// such searches and ranges per page instead of one.
//
// The store never logs; error messages name keys, never complaint contents. It is thread-safe
// (all state is in Redis; the pool hands each call its own connection).
#ifndef SIMPUL_SERVICES_COMPLAINTS_REDIS_STORE_H_
#define SIMPUL_SERVICES_COMPLAINTS_REDIS_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "services/complaints/feed.h"
#include "services/complaints/pii_crypto.h"
#include "services/complaints/store.h"

namespace simpul::complaints {

class RedisComplaintStore final : public ComplaintStore, public ComplaintEventSource {
 public:
  struct Options {
    // Prefix of every key. It must contain a non-empty hash tag ("{...}") so all keys share
    // one Cluster slot: Redis hashes only the first "{...}" of a key, which is the prefix's,
    // so ids, channels and index names may contain any bytes (braces included).
    std::string key_prefix = "simpul:cmp:{c}:";
    // Approximate number of events kept in the stream (XADD MAXLEN ~). Zero or negative keeps
    // every event.
    int64_t stream_max_len = 1000000;
    // How long events are kept on the stream after every consumer group acknowledged them,
    // so that feed watchers (WatchComplaintEvents) can resume from a cursor that old. Zero or
    // negative: acknowledged events are trimmed at once (the stream is still capped by
    // stream_max_len).
    absl::Duration event_retention = absl::Hours(72);
    // The key ring the complainant's identity is sealed with (pii_crypto.h); it must outlive
    // the store. simpul-complaints always passes one. Null (tests and benchmarks only):
    // identities are written in clear, and a sealed one read is FAILED_PRECONDITION.
    const PiiKeyring* pii_keys = nullptr;
    // The most cases of a geo index one ScanArea search may find (each page reads them all):
    // a larger area is INVALID_ARGUMENT at once. Zero or negative: no bound.
    int64_t area_max_cases = 10000;
  };

  // RekeyStats counts what RekeyIdentities found, summed over the pages of one run.
  struct RekeyStats {
    int64_t scanned = 0;      // case keys looked at
    int64_t sealed = 0;       // identities found in clear (older versions), now sealed
    int64_t rotated = 0;      // identities sealed under another key, now under the active key
    int64_t current = 0;      // already sealed under the active key: left alone
    int64_t no_identity = 0;  // cases without a complainant (ANONYMOUS)
    int64_t raced = 0;        // changed by commits three times in a row: run again
    std::vector<std::string> failures;  // keys that could not be re-sealed, with the reason
  };

  // RedisComplaintStore uses `pool`, which must outlive it.
  RedisComplaintStore(RedisPool* pool, Options options);
  RedisComplaintStore(const RedisComplaintStore&) = delete;
  RedisComplaintStore& operator=(const RedisComplaintStore&) = delete;

  // Commit runs one script. INVALID_ARGUMENT (nothing written) when after has no id, before
  // names another id, after's revision is not before's + 1 (1 for a filing), an idempotency
  // claim comes with a change instead of a filing, or its key is empty or its TTL not
  // positive. A stored value of the wrong Redis type is INTERNAL, also with nothing written.
  absl::StatusOr<CommitResult> Commit(const CaseWrite& write) override;

  absl::StatusOr<std::optional<v1::ComplaintRecord>> Get(std::string_view id) override;
  absl::StatusOr<std::vector<v1::HistoryEntry>> History(std::string_view id) override;
  absl::StatusOr<std::optional<v1::IdempotencyRecord>> GetIdempotency(
      std::string_view scope, std::string_view key) override;

  // DropLegacyIdempotencyRecords deletes the idempotency records of the earlier key layout
  // (P idem:*, which held secrets in clear) and returns how many it deleted; after one
  // complete pass it sets P migrated:idem-v2 and later calls return 0 without scanning. Safe to
  // run at any time and in several replicas at once; the service runs it at start.
  absl::StatusOr<int64_t> DropLegacyIdempotencyRecords();

  // RekeyIdentities re-seals, under the active key, the identity of every case key one SCAN
  // step from `cursor` ("0": the start) returns (about `count` keys), adds what it found to
  // `*stats` and returns the next cursor ("0": done). Identities in clear and under an older
  // key are re-sealed; those under the active key are left alone, so a run is idempotent and
  // can be resumed from the last cursor it printed. Each value is replaced only if it is still
  // the one read (a concurrent commit wins and is read again). FAILED_PRECONDITION without a
  // key ring; a case whose identity does not open (a key missing from the ring) is listed in
  // stats->failures and left as it is.
  absl::StatusOr<std::string> RekeyIdentities(std::string_view cursor, int count,
                                              RekeyStats* stats);

  // Scan fails with INVALID_ARGUMENT when `limit` is not positive.
  absl::StatusOr<std::vector<IndexedRecord>> Scan(std::string_view index, int64_t from_ms,
                                                  int64_t to_ms,
                                                  const std::optional<IndexPosition>& after,
                                                  int limit) override;

  // ScanArea fails with INVALID_ARGUMENT when `limit` is not positive (key layout: P ix:geo:*).
  absl::StatusOr<std::vector<IndexedRecord>> ScanArea(std::string_view geo_index,
                                                      const GeoArea& area,
                                                      std::string_view order_index, int64_t from_ms,
                                                      int64_t to_ms,
                                                      const std::optional<IndexPosition>& after,
                                                      int limit) override;

  // Due fails with INVALID_ARGUMENT when `limit` is not positive.
  absl::StatusOr<std::vector<std::string>> Due(absl::Time at, int limit) override;

  // ReadEvents: ComplaintEventSource. One atomic step reads the events and the stream's
  // trimmed range (XINFO STREAM max-deleted-entry-id, which every commit's trimming sets), so
  // a cursor before a trimmed event is OUT_OF_RANGE, never a silent gap.
  absl::StatusOr<std::vector<FeedEvent>> ReadEvents(std::string_view after, int limit,
                                                    absl::Duration block) override;
  absl::StatusOr<std::string> LatestEventCursor() override;

  // BackfillUpdatedIndex enters every stored case into the updated index (P ix:upd) at its
  // update time, once: cases written before the index existed. ZADD GT never moves a case
  // back, so it is safe while commits run and in several replicas at once. After one complete
  // pass it sets P migrated:upd-index and later calls return 0 without scanning. Returns the
  // number of cases it looked at.
  absl::StatusOr<int64_t> BackfillUpdatedIndex();

  // BackfillGeoIndex enters every stored case with a point into its geo indexes (GeoIndexesOf),
  // once: cases written before the geo indexes existed. Each case is entered only if it is
  // still at the revision read (a commit in between entered it itself), so it is safe while
  // commits run and in several replicas at once. The same one-pass mechanism as
  // BackfillUpdatedIndex (marker P migrated:geo-index). Returns the number of cases entered.
  absl::StatusOr<int64_t> BackfillGeoIndex();

  // KeyPrefix is Options::key_prefix, the start of every key of the store.
  std::string KeyPrefix() const { return options_.key_prefix; }
  // EventStreamKey is the stream of complaint events (entries {v: "1", e: ComplaintEvent}).
  std::string EventStreamKey() const;

 private:
  // PositionedId is one index entry found by a scan.
  struct PositionedId {
    int64_t score = 0;
    std::string id;
  };

  // FindPositions returns up to `limit` entries of the union of `index_keys` with score in
  // [from_ms, to_ms), strictly after `after`, and sets `*exhausted` when the window has no
  // entries beyond them.
  absl::StatusOr<std::vector<PositionedId>> FindPositions(
      const std::vector<std::string>& index_keys, int64_t from_ms, int64_t to_ms,
      const std::optional<IndexPosition>& after, int limit, bool* exhausted);
  // ParsePositions reads a scan script's reply ({exhausted, id, score, ...}).
  static absl::StatusOr<std::vector<PositionedId>> ParsePositions(
      const RedisReply& reply, const std::vector<std::string>& index_keys, bool* exhausted);
  // FindFunction finds up to `limit` positions after a position (FindPositions, kAreaLua).
  using FindFunction = std::function<absl::StatusOr<std::vector<PositionedId>>(
      const std::optional<IndexPosition>& after, int limit, bool* exhausted)>;
  // FetchPages reads up to `limit` records of the positions `find` returns from `after` on,
  // each re-checked against `index_keys` (FetchIndexed), until the page is full or `find`
  // reports the window exhausted.
  absl::StatusOr<std::vector<IndexedRecord>> FetchPages(const std::vector<std::string>& index_keys,
                                                        const FindFunction& find,
                                                        const std::optional<IndexPosition>& after,
                                                        int limit);
  // FetchIndexed reads the records of `found` that are still in one of `index_keys` at their
  // score, in one atomic step; nullopt for those that left them or no longer exist.
  absl::StatusOr<std::vector<std::optional<v1::ComplaintRecord>>> FetchIndexed(
      const std::vector<std::string>& index_keys, const std::vector<PositionedId>& found);

  // BackfillOnce calls `each` with the key, revision and record (its identity not opened) of
  // every stored case, one SCAN page at a time, and `end_of_page` after each page; after one
  // complete pass it sets P migrated:<marker>, and later calls return 0 without scanning.
  // Returns the number of cases looked at.
  using BackfillEach = std::function<absl::Status(const std::string& case_key, int64_t revision,
                                                  const v1::ComplaintRecord& record)>;
  absl::StatusOr<int64_t> BackfillOnce(std::string_view marker, const BackfillEach& each,
                                       const std::function<absl::Status()>& end_of_page);

  std::string Key(std::string_view suffix) const;
  // ScanPattern is a SCAN MATCH pattern of the keys "<prefix><suffix>" (the prefix escaped).
  std::string ScanPattern(std::string_view suffix) const;
  // ScanPage runs one SCAN round from *cursor (updated to the next one) and returns its keys.
  absl::StatusOr<std::vector<std::string>> ScanPage(const std::string& pattern, int count,
                                                    std::string* cursor);
  std::string CaseKey(std::string_view id) const;
  std::string IndexKey(std::string_view index) const;
  std::string IdempotencyKey(std::string_view scope, std::string_view key) const;

  RedisPool* const pool_;
  const Options options_;
};

}  // namespace simpul::complaints

#endif  // SIMPUL_SERVICES_COMPLAINTS_REDIS_STORE_H_
