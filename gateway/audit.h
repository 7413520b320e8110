// The gateway's audit trail: every mutating and every denied call becomes one
// simpul.gateway.v1.AuditRecord in an append-only, hash-chained log in Redis. Verification
// walks the chain and names the first altered, removed, reordered or inserted record; agencies
// list their own records with one range read.
//
// Hash encoding, version 1. record.hash = SHA-256(E) where E is the concatenation of these
// items, in this order, each written as an 8-byte big-endian length followed by its bytes:
//    1. the ASCII text "simpul.gateway.v1.AuditRecord/1"   (domain and encoding version)
//    2. sequence                 8-byte big-endian two's complement
//    3. time.seconds             8-byte big-endian two's complement
//    4. time.nanos               8-byte big-endian two's complement
//    5. request_id               UTF-8 bytes
//    6. subject                  UTF-8 bytes
//    7. role                     enum number, 8-byte big-endian two's complement
//    8. agency_id                UTF-8 bytes
//    9. channel                  UTF-8 bytes
//   10. client_address           UTF-8 bytes
//   11. method                   UTF-8 bytes
//   12. resource                 UTF-8 bytes
//   13. outcome                  UTF-8 bytes
//   14. request_sha256           raw bytes (32, or none)
//   15. previous_hash            raw bytes (32)
// Every field of the record except `hash` and `key_id` (empty in version 1) is covered;
// encoding_version selects the layout and is bound by item 1.
//
// Hash encoding, version 2 (written when the gateway has an audit key, gateway/audit_key.h).
// record.hash = HMAC-SHA256(the audit key named by record.key_id, E2) where E2 is items 2..15
// above preceded by "simpul.gateway.v1.AuditRecord/2" instead of item 1 and followed by
//   16. key_id                   ASCII bytes (the id of the key the HMAC is computed with)
// Someone who can write to Redis but has not the key cannot recompute a version-2 hash, so a
// rewritten record no longer verifies. A chain may switch from version 1 to version 2 once,
// never back: a version-1 record after a version-2 one is reported as altered (else a forger
// would rewrite the tail as unkeyed version-1 records), and Append refuses to write one
// (FAILED_PRECONDITION) when the head is a version-2 record. A version-1 record carrying a
// key_id does not verify. The encoding does not depend on protobuf's
// serializer, so a record verifies with any protobuf version or language. A stored record that
// carries fields this encoding does not know (unknown fields) fails verification, so nothing
// can ride along uncovered.
//
// Storage layout. Every key starts with P = Options::key_prefix, which carries exactly one hash
// tag (default "simpul:gw:{a}:"), so every key lives in one Cluster slot and the scripts stay
// valid on Redis Cluster.
//
//   P log            stream, one entry per record with the explicit id "<sequence>-0" and the
//                    single field r = serialized v1.AuditRecord (including its hash)
//   P head           hash {s: decimal sequence of the last record, h: its 32-byte hash, v: its
//                    encoding_version}; absent while the log is empty (v absent: version 1)
//   P ag:<agency>    sorted set of the sequences of records whose agency_id is <agency>
//                    (member = score = sequence), for listing one agency's records
//   P turn           string with a PX TTL (100 ms): the id of the AuditLog instance that has
//                    the right of way after losing the race for the head repeatedly
//   P anchor         hash {s, h, v} like the head: the last record archived to a file and
//                    removed from Redis (gateway/audit_archive.h); absent until the first
//                    archive. The chain in Redis starts after it and links to its hash.
//
// Appending. The chain must stay linear while several gateway replicas append at once, but
// Redis scripts cannot compute SHA-256. So Append computes the hashes in C++ against the head
// it last saw and runs one script that appends only if the head is still that one
// (compare-and-set on sequence and hash), else returns the current head so the batch is
// rehashed and retried at once. An instance that loses twice in a row claims the right of way
// (P turn) in its losing script; the others' scripts then refuse to append until it has
// appended or its claim expired, so no replica starves. Within one AuditLog, concurrent Append
// calls are group-committed: one
// caller at a time flushes everything queued so far as one chained batch in one script (one
// round trip and one AOF fsync for the whole batch), so throughput grows with concurrency
// instead of collapsing into compare-and-set conflicts. The script also refuses to append
// (DATA_LOSS) when the log's last entry is not the head's record, e.g. after the tail was
// deleted, rather than building on a damaged chain.
//
// Durability: an append is acknowledged only after its script ran, so with Redis AOF and
// appendfsync always (CheckDurability) an acknowledged record survives a crash of Redis.
//
// Trust: a version-1 chain is keyed by nothing secret, so someone who can write to Redis can
// rewrite the log from some record onwards and rehash every later record consistently. A
// version-2 chain cannot be rehashed without the audit key, but it can still be truncated, or
// its tail replaced by genuine records replayed from elsewhere. Both are detected against
// heads kept outside Redis: signed checkpoints (gateway/audit_checkpoint.h,
// VerifyOptions::checkpoints) or a head noted by hand (VerifyOptions::expected_head).
#ifndef SIMPUL_GATEWAY_AUDIT_H_
#define SIMPUL_GATEWAY_AUDIT_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/redis.h"
#include "gateway/audit_key.h"
#include "simpul/gateway/v1/gateway.pb.h"

namespace simpul::gateway {

// kAuditEncodingVersion is the hash encoding Append writes without a key (described above);
// kAuditKeyedEncodingVersion the one it writes with a key.
inline constexpr int kAuditEncodingVersion = 1;
inline constexpr int kAuditKeyedEncodingVersion = 2;
// kAuditHashSize is the size of a SHA-256 hash in bytes.
inline constexpr size_t kAuditHashSize = 32;

// AuditDigest is the SHA-256 of `bytes` (32 raw bytes), e.g. for request_sha256.
std::string AuditDigest(std::string_view bytes);

// kAuditFieldBytes is the most a text field of a stored record keeps of the caller's text.
inline constexpr size_t kAuditFieldBytes = 128;

// AuditCapped is `text` when it is valid UTF-8 of at most kAuditFieldBytes bytes; otherwise
// its first bytes (at most kAuditFieldBytes, cut at a character boundary, each invalid byte
// replaced by U+FFFD) followed by "…sha256:" and the SHA-256 of the whole text in lowercase
// hex. A record thus stays bounded (at most 202 bytes a field) and searchable: the prefix
// for a person, the digest to match a known value exactly.
std::string AuditCapped(std::string_view text);

// BoundAuditRecord applies AuditCapped to every text field of `record` (request_id, subject,
// agency_id, channel, client_address, method, resource, outcome). AuditLog::Append does it
// before hashing, so a stored record verifies as stored.
void BoundAuditRecord(v1::AuditRecord* record);

// AuthenticatedBySecret: `method` ("/pkg.Service/Method") is one a complainant calls with the
// tracking code and secret of a case (TrackComplaint, ReplyToComplaint, RateComplaint,
// ReopenComplaint of simpul.complaints.v1.Complaints): its audit record keeps no client
// address, so the trail never links a person's network address to a tracking code.
bool AuthenticatedBySecret(std::string_view method);

// AuditClientAddress is what a record keeps as client_address of a call of `method` from
// `peer`: "" for AuthenticatedBySecret methods, else `peer`.
std::string AuditClientAddress(std::string_view method, std::string_view peer);

// AppendAuditItem appends `bytes` as one item of the encoding above (8-byte big-endian length,
// then the bytes); AppendAuditInt appends an integer item (8 bytes, big-endian two's
// complement). Checkpoints (gateway/audit_checkpoint.h) are signed over the same kind of items.
void AppendAuditItem(std::string* out, std::string_view bytes);
void AppendAuditInt(std::string* out, int64_t value);

// AuditCanonicalEncoding is the encoding of `record` under its encoding_version: version 2
// when encoding_version is 2, else version 1 (its `hash` is ignored).
std::string AuditCanonicalEncoding(const v1::AuditRecord& record);

// AuditRecordHash is the hash `record` must carry under its encoding_version; INVALID_ARGUMENT
// for a version this build does not know or a version-1 record with a key_id;
// FAILED_PRECONDITION for a version-2 record when `keyring` is null or lacks its key_id.
absl::StatusOr<std::string> AuditRecordHash(const v1::AuditRecord& record,
                                            const AuditKeyring* keyring = nullptr);

// AuditChainHead names the last record of the chain: its sequence and hash (sequence 0 and 32
// zero bytes for an empty chain).
struct AuditChainHead {
  int64_t sequence = 0;
  std::string hash = std::string(kAuditHashSize, '\0');

  bool operator==(const AuditChainHead&) const = default;
};

// AuditArchiveAnchor is the last archived record (P anchor): the chain in Redis continues
// from it. encoding_version lets Verify apply the no-downgrade rule across the cut.
struct AuditArchiveAnchor {
  AuditChainHead head;
  int32_t encoding_version = 1;
};

// FormatAuditChainHead writes a head as "<sequence>:<hash in lowercase hex>".
std::string FormatAuditChainHead(const AuditChainHead& head);
// ParseAuditChainHead reads what FormatAuditChainHead writes; INVALID_ARGUMENT otherwise.
absl::StatusOr<AuditChainHead> ParseAuditChainHead(std::string_view text);

// AuditVerifyOptions selects what Verify walks.
struct AuditVerifyOptions {
  // First record to check (1 = the whole chain). Its link to the record before is checked too.
  int64_t from_sequence = 1;
  // Last record to check; 0 walks to the chain head (and checks that nothing lies beyond it).
  int64_t to_sequence = 0;
  // A head noted earlier outside Redis. The chain must still contain that record with that
  // hash: this detects a truncated tail (together with a rewritten head) and a rewrite of the
  // chain up to that record, which the chain alone cannot show.
  std::optional<AuditChainHead> expected_head;
  // Heads exported earlier outside Redis (signed checkpoints, already checked): each must
  // still be in the chain with its hash, and the chain must reach the last one. The first that
  // does not match is reported, with the range the rewrite lies in.
  std::vector<AuditChainHead> checkpoints;
  // Hashes of archived records (sequence -> hash, read from verified archive files), for
  // checkpoints at records before the archive anchor, which are no longer in Redis.
  std::map<int64_t, std::string> archived_hashes;
};

// AuditVerifyReport is the outcome of Verify: either no problem, or the first one found.
struct AuditVerifyReport {
  enum class Problem {
    kNone,
    // The record's stored bytes no longer match its hash (or cannot be parsed), or the record
    // was altered and rehashed so that the next record (or the head) no longer links to it.
    kAltered,
    // The record is missing: a gap in the sequence, or a tail shorter than the stored or
    // anchored head.
    kRemoved,
    // The record is intact but stored out of its place in the chain.
    kReordered,
    // An entry that is not part of the chain: a forged or copied record, or one beyond the
    // head.
    kInserted,
  };

  bool ok() const { return problem == Problem::kNone; }

  Problem problem = Problem::kNone;
  // sequence is where the problem is: the record altered, the first record removed, the first
  // record out of place, or the sequence the inserted entry claims or occupies.
  int64_t sequence = 0;
  // detail says what was found, naming stream ids and hashes (hex) where that helps.
  std::string detail;
  // records_checked counts the records of [from_sequence, to_sequence] found intact and
  // linked, in chain order, before the problem (all of them when ok()).
  int64_t records_checked = 0;
  // head is the last record found intact and linked: after a full successful walk, the chain
  // head to note outside Redis.
  AuditChainHead head;
  // checkpoints_matched counts the checkpoints found in the chain with their hash;
  // checkpoints_unchecked those at archived records (before the archive anchor) that
  // AuditVerifyOptions::archived_hashes did not cover.
  int64_t checkpoints_matched = 0;
  int64_t checkpoints_unchecked = 0;
};

// AuditProblemName is "ok", "altered", "removed", "reordered" or "inserted".
std::string_view AuditProblemName(AuditVerifyReport::Problem problem);
// FormatAuditVerifyReport is one line: "ok: N records, head <hex>" (followed by
// ", C checkpoints match" when checkpoints were given) or
// "<problem> at record <sequence>: <detail>".
std::string FormatAuditVerifyReport(const AuditVerifyReport& report);

// AuditPage is one page of a listing, newest record first.
struct AuditPage {
  std::vector<v1::AuditRecord> records;
  std::string next_page_token;  // empty on the last page
  // Records 1..archived_through were archived (simpul-audit archive) and removed from Redis:
  // they are never listed. 0: nothing archived.
  int64_t archived_through = 0;
};

// AuditTrail is what the gateway needs of the audit trail (AuditLog in production, a fake in
// unit tests of the gateway).
class AuditTrail {
 public:
  virtual ~AuditTrail() = default;
  // Append records one call. The caller fills who, what, when and the outcome; the trail
  // assigns sequence, previous_hash, hash and encoding_version. Returns the record as stored.
  virtual absl::StatusOr<v1::AuditRecord> Append(v1::AuditRecord record) = 0;
  // List returns records newest first, only those whose agency_id is `agency_id` unless it is
  // empty. page_size 0 means 50, at most 500. Pages are stable: records appended meanwhile
  // never shift or repeat a later page. Archived records (before the archive anchor) are not
  // listed; AuditPage::archived_through says up to which record.
  virtual absl::StatusOr<AuditPage> List(std::string_view agency_id, int page_size,
                                         std::string_view page_token) = 0;
};

// AuditLog is the audit trail in Redis (layout and algorithms above). Thread-safe; several
// AuditLog instances (gateway replicas) may append to the same log at once. Every call blocks
// on Redis: run it on an Executor thread, never on a gRPC callback thread.
class AuditLog final : public AuditTrail {
 public:
  struct Options {
    // Prefix of every key; must contain exactly one non-empty hash tag "{...}".
    std::string key_prefix = "simpul:gw:{a}:";
    // Records appended by one script at most (group commit).
    int max_batch = 256;
    // Compare-and-set conflicts of one batch before Append gives up with ABORTED (each
    // conflict means another replica appended meanwhile; after two this instance has the
    // right of way, so more are rare).
    int max_attempts = 100;
    // Fills the time of records appended without one; nullptr means the system clock.
    const Clock* clock = nullptr;
    // The audit key: records are appended with hash encoding version 2 under its active key,
    // and Verify checks version-2 records with it. nullptr: version 1 is appended, and Verify
    // fails (FAILED_PRECONDITION) on reaching a version-2 record. Must outlive the log.
    const AuditKeyring* keyring = nullptr;
  };

  // Create checks `options` (INVALID_ARGUMENT naming the option) and returns a log over
  // `pool`, which must outlive it. Nothing is read from Redis yet.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Create(RedisPool* pool, Options options);
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Append adds one record at the end of the chain and returns it as stored, its text fields
  // bounded by BoundAuditRecord. INVALID_ARGUMENT
  // (nothing written) when subject, method or outcome is empty, request_sha256 is neither
  // empty nor 32 bytes, or time is out of range. A record without time gets the clock's now.
  // An error from Redis is returned as is (UNAVAILABLE, DEADLINE_EXCEEDED: the record may or
  // may not have been written; it is never written twice), FAILED_PRECONDITION when this log
  // has no keyring and the chain head is a version-2 record, DATA_LOSS when the stored log
  // does not end at the stored head, ABORTED after max_attempts conflicts (or 2 s of
  // waiting for other replicas' right of way). An OK result means the
  // record is in Redis, linked to its predecessor.
  absl::StatusOr<v1::AuditRecord> Append(v1::AuditRecord record) override;

  // List: see AuditTrail. INVALID_ARGUMENT naming "page.page_size" or "page.page_token" for
  // a size outside 0..500 or a token that does not belong to this query. A record whose entry
  // vanished from the log (tampering) is skipped; Verify reports it.
  absl::StatusOr<AuditPage> List(std::string_view agency_id, int page_size,
                                 std::string_view page_token) override;

  // Head reads the stored chain head (sequence 0 for an empty log).
  absl::StatusOr<AuditChainHead> Head();
  // Anchor reads the archive anchor (nullopt: nothing archived).
  absl::StatusOr<std::optional<AuditArchiveAnchor>> Anchor();
  // ReadRecords reads the entries of stream ids from-0 up to (to+1)-0 (exclusive) as stored,
  // in order, unchecked (VerifyAuditRecords checks them); DATA_LOSS when one of them is not a
  // parsable record.
  absl::StatusOr<std::vector<v1::AuditRecord>> ReadRecords(int64_t from, int64_t to);
  // RemoveArchived removes records expected_anchor.sequence + 1 .. last.sequence (already in a
  // durably written archive) from the log and the agency indexes `agencies`, and makes `last`
  // the anchor, in one script. FAILED_PRECONDITION (nothing removed) when the anchor is no
  // longer `expected_anchor` (another archive ran) or `last` is the chain head or beyond (the
  // head record always stays, so appends can check the log's end).
  absl::Status RemoveArchived(const AuditChainHead& expected_anchor, const v1::AuditRecord& last,
                              const std::vector<std::string>& agencies);
  // LastAppended is the head after this instance's last successful append (a head it
  // computed itself), or nullopt before its first append or after a failed one.
  std::optional<AuditChainHead> LastAppended();

  // Verify walks the chain as `options` says: it parses each record, recomputes its hash,
  // checks its sequence, its stream id and its link to the record before, then that the log
  // ends at the stored head and contains the expected head, and reports the first problem.
  // Reading is done in batches, so it may run while replicas append. A failed status means
  // Verify could not read (Redis errors), INVALID_ARGUMENT for a bad range, or
  // FAILED_PRECONDITION when it reaches a version-2 record without a keyring; problems of the
  // chain are in the report.
  absl::StatusOr<AuditVerifyReport> Verify(const AuditVerifyOptions& options);

  // CheckDurability is FAILED_PRECONDITION unless Redis runs with appendonly yes and
  // appendfsync always, the setting under which an acknowledged record survives a crash.
  absl::Status CheckDurability();

  // Keys of the layout above.
  std::string LogKey() const;
  std::string HeadKey() const;
  std::string TurnKey() const;
  std::string AnchorKey() const;
  std::string AgencyKey(std::string_view agency_id) const;

 private:
  struct Pending {
    v1::AuditRecord record;
    absl::StatusOr<v1::AuditRecord> result = absl::UnknownError("not flushed");
    bool done = false;
  };

  AuditLog(RedisPool* pool, Options options);
  // Flush appends `batch` as one chained run after `head` (read from Redis when unknown),
  // filling each result; returns the new head, or the error every result carries.
  absl::StatusOr<AuditChainHead> Flush(const std::vector<Pending*>& batch,
                                       std::optional<AuditChainHead> head);

  RedisPool* const pool_;
  const Options options_;
  const Clock& clock_;
  const std::string replica_id_;  // random; names this instance in P turn

  absl::Mutex mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;
  // The head after this log's last successful flush; a guess that the compare-and-set checks.
  std::optional<AuditChainHead> head_ ABSL_GUARDED_BY(mu_);
};

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_AUDIT_H_
