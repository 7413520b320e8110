// AuditLog: the hash-chained audit trail in Redis (encoding, key layout and algorithms in the
// header).
#include "gateway/audit.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "common/page_token.h"
#include "common/status.h"
#include "google/protobuf/unknown_field_set.h"

namespace simpul::gateway {
namespace {

constexpr char kEncodingDomainV1[] = "simpul.gateway.v1.AuditRecord/1";
constexpr char kEncodingDomainV2[] = "simpul.gateway.v1.AuditRecord/2";
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
// Entries read per XRANGE while verifying.
constexpr int kVerifyBatch = 1000;
// Times Verify follows a head that moved on while it walked (concurrent appends) before it
// settles for the chain up to the last head it read.
constexpr int kMaxHeadRounds = 8;
// How long a replica that lost the race for the head twice keeps the right of way (unless it
// appends sooner), and how long another replica waits for such right of way at most.
constexpr absl::Duration kTurnTtl = absl::Milliseconds(100);
constexpr absl::Duration kMaxYield = absl::Seconds(2);
// Bounds of google.protobuf.Timestamp: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// kAppendLua appends a chained run of records if the head is still the one they were hashed
// against:
//   KEYS = [head, log, turn, agency index keys...]
//   ARGV = [expected head sequence, expected head hash, new head sequence, new head hash, n,
//           replica id, claim ("1": take the right of way on a conflict), claim TTL in ms,
//           encoding version of the run, then per record: sequence, serialized record, agency
//           key number (0: none, k: KEYS[3 + k])]
// Returns {1} after appending; without appending anything {0, head sequence, head hash} when
// the head moved on (taking the right of way if asked and free), {4, head sequence, head hash}
// when another replica has the right of way, {2, head sequence, last entry id} when the log
// does not end at the head's record, or {3, error} when the stream refuses the first id
// (entries were deleted at its end), or {5, head sequence} when the run is version 1 but the
// head is a version-2 record (never downgrade the chain). Every check comes before the first write
// (a failing script is not rolled back), and only the first XADD can fail: the ids of one run
// increase. It starts with kLuaKeyTypeError (common/redis.h).
constexpr char kAppendLua[] = R"lua(
local head, log, turn = KEYS[1], KEYS[2], KEYS[3]
local checks = {{head, 'hash'}, {log, 'stream'}, {turn, 'string'}}
for i = 4, #KEYS do checks[#checks + 1] = {KEYS[i], 'zset'} end
local err = key_type_error(checks)
if err then return err end
local s = redis.call('HGET', head, 's')
local h = redis.call('HGET', head, 'h')
if not s then
  s = '0'
  h = string.rep('\0', 32)
end
local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)[1]
local last_id = ''
if last then last_id = last[1] end
local want = ''
if s ~= '0' then want = s .. '-0' end
if last_id ~= want then return {2, s, last_id} end
if ARGV[9] == '1' and redis.call('HGET', head, 'v') == '2' then return {5, s} end
local holder = redis.call('GET', turn)
if holder and holder ~= ARGV[6] then return {4, s, h} end
if s ~= ARGV[1] or h ~= ARGV[2] then
  if ARGV[7] == '1' and not holder then redis.call('SET', turn, ARGV[6], 'PX', ARGV[8]) end
  return {0, s, h}
end
local n = tonumber(ARGV[5])
for i = 0, n - 1 do
  local seq, rec, k = ARGV[10 + 3 * i], ARGV[11 + 3 * i], tonumber(ARGV[12 + 3 * i])
  if i == 0 then
    local added = redis.pcall('XADD', log, seq .. '-0', 'r', rec)
    if type(added) == 'table' and added.err then return {3, added.err} end
  else
    redis.call('XADD', log, seq .. '-0', 'r', rec)
  end
  if k > 0 then redis.call('ZADD', KEYS[3 + k], seq, seq) end
end
redis.call('HSET', head, 's', ARGV[3], 'h', ARGV[4], 'v', ARGV[9])
if holder then redis.call('DEL', turn) end
return {1}
)lua";

// kListLua reads one page of records, newest first:
//   KEYS = [log] for every record, [log, agency index] for one agency's
//   ARGV = [position to continue below ("": from the newest), count]
// The position is a stream id for the whole log, a sequence for an agency. Returns
// {id, serialized record or false, ...}, `count` pairs at most; an indexed record whose entry
// is gone (or has no record field) comes back as false.
constexpr char kListLua[] = R"lua(
local log = KEYS[1]
local below, count = ARGV[1], tonumber(ARGV[2])
local function record_of(fields)
  for i = 1, #fields, 2 do
    if fields[i] == 'r' then return fields[i + 1] end
  end
  return false
end
local out = {}
if #KEYS == 1 then
  local top = '+'
  if below ~= '' then top = '(' .. below end
  for _, e in ipairs(redis.call('XREVRANGE', log, top, '-', 'COUNT', count)) do
    out[#out + 1] = e[1]
    out[#out + 1] = record_of(e[2])
  end
else
  local top = '+inf'
  if below ~= '' then top = '(' .. below end
  for _, s in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[2], top, '-inf', 'LIMIT', 0, count)) do
    local e = redis.call('XRANGE', log, s .. '-0', s .. '-0')[1]
    out[#out + 1] = s
    if e then out[#out + 1] = record_of(e[2]) else out[#out + 1] = false end
  end
end
return out
)lua";

// kRemoveArchivedLua removes an archived run of records and moves the anchor:
//   KEYS = [anchor, head, log, agency index keys...]
//   ARGV = [expected anchor sequence ("0": none), expected anchor hash, new anchor sequence,
//           new anchor hash, new anchor encoding_version]
// Returns {0} after removing; without removing anything {1, anchor sequence} when the anchor
// moved, {2, head sequence} when the new anchor would be the head or beyond it.
constexpr char kRemoveArchivedLua[] = R"lua(
local anchor, head, log = KEYS[1], KEYS[2], KEYS[3]
local checks = {{anchor, 'hash'}, {head, 'hash'}, {log, 'stream'}}
for i = 4, #KEYS do checks[#checks + 1] = {KEYS[i], 'zset'} end
local err = key_type_error(checks)
if err then return err end
local s = redis.call('HGET', anchor, 's') or '0'
local h = redis.call('HGET', anchor, 'h') or string.rep('\0', 32)
if s ~= ARGV[1] or h ~= ARGV[2] then return {1, s} end
local top = redis.call('HGET', head, 's') or '0'
if tonumber(ARGV[3]) >= tonumber(top) then return {2, top} end
redis.call('XTRIM', log, 'MINID', (tonumber(ARGV[3]) + 1) .. '-0')
for i = 4, #KEYS do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[3]) end
redis.call('HSET', anchor, 's', ARGV[3], 'h', ARGV[4], 'v', ARGV[5])
return {0}
)lua";

const Clock& SystemClockInstance() {
  static const SystemClock* const clock = new SystemClock();
  return *clock;
}

// DropUnknownFields clears the unknown fields of `message` itself (not of its message fields):
// what DiscardUnknownFields does for a message without message fields, without its walk over
// every field by reflection.
void DropUnknownFields(google::protobuf::Message* message) {
  const google::protobuf::Reflection* reflection = message->GetReflection();
  if (!reflection->GetUnknownFields(*message).empty()) {
    reflection->MutableUnknownFields(message)->Clear();
  }
}

std::string Hex(std::string_view bytes) { return absl::BytesToHexString(AbslView(bytes)); }

void PutItem(std::string* out, std::string_view bytes) { AppendAuditItem(out, bytes); }
void PutInt(std::string* out, int64_t value) { AppendAuditInt(out, value); }

// ParseStreamId splits "<ms>-<seq>" into its two numbers.
bool ParseStreamId(std::string_view id, uint64_t* ms, uint64_t* seq) {
  const size_t dash = id.find('-');
  if (dash == std::string_view::npos) return false;
  return absl::SimpleAtoi(AbslView(id.substr(0, dash)), ms) &&
         absl::SimpleAtoi(AbslView(id.substr(dash + 1)), seq);
}

// SequenceOfId is N for the stream id "N-0" (the id Append gives record N), else -1.
int64_t SequenceOfId(std::string_view id) {
  uint64_t ms = 0, seq = 0;
  if (!ParseStreamId(id, &ms, &seq) || seq != 0 || ms == 0 || ms > INT64_MAX) return -1;
  return static_cast<int64_t>(ms);
}

std::string IdOf(int64_t sequence) { return absl::StrCat(sequence, "-0"); }

// Entry is one stream entry as Verify sees it.
struct Entry {
  std::string id;
  int64_t id_sequence = -1;  // N when the id is "N-0"
  v1::AuditRecord record;
  bool parsed = false;
  bool intact = false;     // parsed, fully covered by a known encoding, hash recomputes
  bool needs_key = false;  // a version-2 record, and no keyring to check it with
  std::string problem;     // why not intact
};

bool HasUnknownFields(const v1::AuditRecord& record) {
  return !record.GetReflection()->GetUnknownFields(record).empty() ||
         !record.time().GetReflection()->GetUnknownFields(record.time()).empty();
}

Entry MakeEntry(std::string id, const std::optional<std::string>& bytes,
                const AuditKeyring* keyring) {
  Entry entry;
  entry.id = std::move(id);
  entry.id_sequence = SequenceOfId(entry.id);
  if (!bytes) {
    entry.problem = "has no record field";
    return entry;
  }
  if (!entry.record.ParseFromString(*bytes)) {
    entry.problem = "cannot be parsed";
    return entry;
  }
  entry.parsed = true;
  if (HasUnknownFields(entry.record)) {
    entry.problem = "carries fields its hash encoding does not cover";
    return entry;
  }
  if (entry.record.encoding_version() == kAuditKeyedEncodingVersion && keyring == nullptr) {
    entry.needs_key = true;
    entry.problem = "has a keyed hash (encoding_version 2) and no audit key was given";
    return entry;
  }
  absl::StatusOr<std::string> hash = AuditRecordHash(entry.record, keyring);
  if (!hash.ok()) {
    entry.problem = absl::StrCat("cannot be hashed: ", hash.status().message());
    return entry;
  }
  if (*hash != entry.record.hash()) {
    entry.problem = absl::StrCat("does not match its hash (stored ", Hex(entry.record.hash()),
                                 ", recomputed ", Hex(*hash), ")");
    return entry;
  }
  entry.intact = true;
  return entry;
}

// Describe names an entry in a report: "record 5 (stream id 5-0)".
std::string Describe(const Entry& entry) {
  if (entry.parsed) {
    return absl::StrCat("record ", entry.record.sequence(), " (stream id ", entry.id, ")");
  }
  return absl::StrCat("the entry at stream id ", entry.id);
}

// ParseEntries turns an XRANGE reply into entries.
absl::StatusOr<std::vector<Entry>> ParseEntries(const RedisReply& reply, std::string_view what,
                                                const AuditKeyring* keyring) {
  if (reply.type != RedisReply::Type::kArray) return MalformedReply(what);
  std::vector<Entry> entries;
  entries.reserve(reply.elements.size());
  for (const RedisReply& e : reply.elements) {
    if (e.type != RedisReply::Type::kArray || e.elements.size() != 2 ||
        e.elements[1].type != RedisReply::Type::kArray) {
      return MalformedReply(what);
    }
    std::optional<std::string> id = ReplyString(e.elements[0]);
    if (!id) return MalformedReply(what);
    std::optional<std::string> bytes;
    const std::vector<RedisReply>& fields = e.elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (ReplyString(fields[i]) == "r") bytes = ReplyString(fields[i + 1]);
    }
    entries.push_back(MakeEntry(std::move(*id), bytes, keyring));
  }
  return entries;
}

// LogReader reads the log stream forward in batches from a position (an XRANGE start:
// "-", "N-0" inclusive or "(N-0" exclusive).
class LogReader {
 public:
  LogReader(RedisPool* pool, std::string key, std::string start, const AuditKeyring* keyring)
      : pool_(pool), key_(std::move(key)), next_start_(std::move(start)), keyring_(keyring) {}

  // At returns the entry `i` places after the current one (0: the current one), or nullptr
  // past the end of the log. The end is read again each time: the log may have grown.
  absl::StatusOr<const Entry*> At(size_t i) {
    while (buffer_.size() <= i) {
      SIMPUL_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) break;
    }
    if (i < buffer_.size()) return &buffer_[i];
    return nullptr;
  }
  // Pop moves past the current entry.
  void Pop() { buffer_.pop_front(); }

 private:
  // Fill reads the next batch; false when there was nothing more.
  absl::StatusOr<bool> Fill() {
    SIMPUL_ASSIGN_OR_RETURN(
        RedisReply reply,
        pool_->Command({"XRANGE", key_, next_start_, "+", "COUNT", absl::StrCat(kVerifyBatch)}));
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("XRANGE ", key_)));
    SIMPUL_ASSIGN_OR_RETURN(std::vector<Entry> entries,
                            ParseEntries(reply, absl::StrCat("XRANGE ", key_), keyring_));
    if (entries.empty()) return false;
    next_start_ = absl::StrCat("(", entries.back().id);
    for (Entry& e : entries) buffer_.push_back(std::move(e));
    return true;
  }

  RedisPool* pool_;
  std::string key_;
  std::string next_start_;
  const AuditKeyring* keyring_;
  std::deque<Entry> buffer_;
};

// Link is what Verify remembers of the last record it accepted.
struct Link {
  int64_t sequence = 0;
  std::string hash = std::string(kAuditHashSize, '\0');
  std::string previous_hash;
  std::string id;
  int32_t version = kAuditEncodingVersion;
};

// HeadState is the stored head together with what the stream itself knows about how many
// entries it ever held, read in one transaction.
struct HeadState {
  std::optional<AuditChainHead> head;  // nullopt: no head key
  int64_t entries_added = 0;           // XINFO STREAM entries-added (0: no stream)
};

struct Problem {
  AuditVerifyReport::Problem kind;
  int64_t sequence;
  std::string detail;
};

}  // namespace

std::string AuditDigest(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

void AppendAuditItem(std::string* out, std::string_view bytes) {
  const uint64_t n = bytes.size();
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(n >> shift));
  out->append(bytes.data(), bytes.size());
}

void AppendAuditInt(std::string* out, int64_t value) {
  const uint64_t u = static_cast<uint64_t>(value);
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(u >> (56 - 8 * i));
  AppendAuditItem(out, std::string_view(bytes, sizeof(bytes)));
}

std::string AuditCapped(std::string_view text) {
  if (text.size() <= kAuditFieldBytes && IsValidUtf8(text)) return std::string(text);
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  // The longest prefix that fits, each invalid byte replaced.
  for (size_t i = 0; i < text.size();) {
    size_t len = 0;
    for (size_t n = 1; n <= 4 && i + n <= text.size(); ++n) {
      if (IsValidUtf8(text.substr(i, n))) {
        len = n;
        break;
      }
    }
    const std::string_view piece = len == 0 ? std::string_view(kReplacement) : text.substr(i, len);
    if (out.size() + piece.size() > kAuditFieldBytes) break;
    out.append(piece);
    i += len == 0 ? 1 : len;
  }
  absl::StrAppend(&out, "\xE2\x80\xA6sha256:", Hex(AuditDigest(text)));
  return out;
}

void BoundAuditRecord(v1::AuditRecord* record) {
  for (std::string* field :
       {record->mutable_request_id(), record->mutable_subject(), record->mutable_agency_id(),
        record->mutable_channel(), record->mutable_client_address(), record->mutable_method(),
        record->mutable_resource(), record->mutable_outcome()}) {
    if (field->size() > kAuditFieldBytes || !IsValidUtf8(*field)) *field = AuditCapped(*field);
  }
}

bool AuthenticatedBySecret(std::string_view method) {
  for (std::string_view m : {"/simpul.complaints.v1.Complaints/TrackComplaint",
                             "/simpul.complaints.v1.Complaints/ReplyToComplaint",
                             "/simpul.complaints.v1.Complaints/RateComplaint",
                             "/simpul.complaints.v1.Complaints/ReopenComplaint"}) {
    if (method == m) return true;
  }
  return false;
}

std::string AuditClientAddress(std::string_view method, std::string_view peer) {
  return AuthenticatedBySecret(method) ? "" : std::string(peer);
}

std::string AuditCanonicalEncoding(const v1::AuditRecord& record) {
  std::string out;
  out.reserve(256 + record.ByteSizeLong());
  const bool v2 = record.encoding_version() == kAuditKeyedEncodingVersion;
  PutItem(&out, v2 ? kEncodingDomainV2 : kEncodingDomainV1);
  PutInt(&out, record.sequence());
  PutInt(&out, record.time().seconds());
  PutInt(&out, record.time().nanos());
  PutItem(&out, record.request_id());
  PutItem(&out, record.subject());
  PutInt(&out, record.role());
  PutItem(&out, record.agency_id());
  PutItem(&out, record.channel());
  PutItem(&out, record.client_address());
  PutItem(&out, record.method());
  PutItem(&out, record.resource());
  PutItem(&out, record.outcome());
  PutItem(&out, record.request_sha256());
  PutItem(&out, record.previous_hash());
  if (v2) PutItem(&out, record.key_id());
  return out;
}

absl::StatusOr<std::string> AuditRecordHash(const v1::AuditRecord& record,
                                            const AuditKeyring* keyring) {
  if (record.encoding_version() == kAuditEncodingVersion) {
    if (!record.key_id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "audit record ", record.sequence(), ": a version-1 (unkeyed) record carries key_id \"",
          absl::CEscape(record.key_id()), "\", which its hash does not cover"));
    }
    return AuditDigest(AuditCanonicalEncoding(record));
  }
  if (record.encoding_version() == kAuditKeyedEncodingVersion) {
    if (keyring == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit record ", record.sequence(),
                       " has a keyed hash (encoding_version 2): the audit key file is needed"));
    }
    absl::StatusOr<std::string> mac = keyring->Mac(record.key_id(), AuditCanonicalEncoding(record));
    if (!mac.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit record ", record.sequence(), ": ", mac.status().message()));
    }
    return mac;
  }
  return absl::InvalidArgumentError(absl::StrCat("audit record ", record.sequence(),
                                                 ": unknown hash encoding_version ",
                                                 record.encoding_version(), " (expected 1 or 2)"));
}

std::string FormatAuditChainHead(const AuditChainHead& head) {
  return absl::StrCat(head.sequence, ":", Hex(head.hash));
}

absl::StatusOr<AuditChainHead> ParseAuditChainHead(std::string_view text) {
  const size_t colon = text.find(':');
  AuditChainHead head;
  const std::string_view hex =
      colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (colon == std::string_view::npos ||
      !absl::SimpleAtoi(AbslView(text.substr(0, colon)), &head.sequence) || head.sequence < 0 ||
      hex.size() != 2 * kAuditHashSize || !std::all_of(hex.begin(), hex.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat("chain head \"", AbslView(text),
                     "\": expected <sequence>:<64 hex digits>, e.g. 42:", std::string(64, '0')));
  }
  head.hash = absl::HexStringToBytes(AbslView(hex));
  return head;
}

std::string_view AuditProblemName(AuditVerifyReport::Problem problem) {
  switch (problem) {
    case AuditVerifyReport::Problem::kNone:
      return "ok";
    case AuditVerifyReport::Problem::kAltered:
      return "altered";
    case AuditVerifyReport::Problem::kRemoved:
      return "removed";
    case AuditVerifyReport::Problem::kReordered:
      return "reordered";
    case AuditVerifyReport::Problem::kInserted:
      return "inserted";
  }
  return "unknown";
}

std::string FormatAuditVerifyReport(const AuditVerifyReport& report) {
  if (report.ok()) {
    std::string out =
        absl::StrCat("ok: ", report.records_checked, " records, head ", Hex(report.head.hash));
    if (report.checkpoints_matched > 0) {
      absl::StrAppend(&out, ", ", report.checkpoints_matched, " checkpoints match");
    }
    if (report.checkpoints_unchecked > 0) {
      absl::StrAppend(&out, ", ", report.checkpoints_unchecked,
                      " checkpoints at archived records not checked (pass the archives)");
    }
    return out;
  }
  return absl::StrCat(AbslView(AuditProblemName(report.problem)), " at record ", report.sequence,
                      ": ", report.detail);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(RedisPool* pool, Options options) {
  FieldViolations violations;
  const size_t open = options.key_prefix.find('{');
  const size_t close =
      open == std::string::npos ? std::string::npos : options.key_prefix.find('}', open);
  if (close == std::string::npos || close == open + 1 ||
      options.key_prefix.find_first_of("{}", close + 1) != std::string::npos) {
    violations.Add("key_prefix",
                   absl::StrCat("must contain exactly one non-empty hash tag \"{...}\", e.g. "
                                "\"simpul:gw:{a}:\"; got \"",
                                options.key_prefix, "\""));
  }
  if (options.max_batch < 1) {
    violations.Add("max_batch", absl::StrCat("must be positive, got ", options.max_batch));
  }
  if (options.max_attempts < 1) {
    violations.Add("max_attempts", absl::StrCat("must be positive, got ", options.max_attempts));
  }
  if (pool == nullptr) violations.Add("pool", "required");
  SIMPUL_RETURN_IF_ERROR(violations.ToStatus("audit log options"));
  return std::unique_ptr<AuditLog>(new AuditLog(pool, std::move(options)));
}

AuditLog::AuditLog(RedisPool* pool, Options options)
    : pool_(pool),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClockInstance()),
      replica_id_([] {
        std::random_device random;
        return absl::StrCat(absl::Hex(random(), absl::kZeroPad8),
                            absl::Hex(random(), absl::kZeroPad8));
      }()) {}

std::string AuditLog::LogKey() const { return absl::StrCat(options_.key_prefix, "log"); }
std::string AuditLog::HeadKey() const { return absl::StrCat(options_.key_prefix, "head"); }
std::string AuditLog::TurnKey() const { return absl::StrCat(options_.key_prefix, "turn"); }
std::string AuditLog::AnchorKey() const { return absl::StrCat(options_.key_prefix, "anchor"); }
std::string AuditLog::AgencyKey(std::string_view agency_id) const {
  return absl::StrCat(options_.key_prefix, "ag:", AbslView(agency_id));
}

namespace {

// ReadHeadState reads the head and the stream's entries-added counter in one transaction.
absl::StatusOr<HeadState> ReadHeadState(RedisPool* pool, const std::string& head_key,
                                        const std::string& log_key) {
  SIMPUL_ASSIGN_OR_RETURN(
      std::vector<RedisReply> replies,
      pool->Pipeline(
          {{"MULTI"}, {"HMGET", head_key, "s", "h"}, {"XINFO", "STREAM", log_key}, {"EXEC"}}));
  const std::string what = absl::StrCat("read of ", head_key);
  if (replies.size() != 4) return MalformedReply(what);
  for (const RedisReply& r : replies) SIMPUL_RETURN_IF_ERROR(ErrorFromReply(r, what));
  const RedisReply& exec = replies[3];
  if (exec.type != RedisReply::Type::kArray || exec.elements.size() != 2) {
    return MalformedReply(what);
  }
  HeadState state;
  const RedisReply& head = exec.elements[0];
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(head, what));
  if (head.type != RedisReply::Type::kArray || head.elements.size() != 2) {
    return MalformedReply(what);
  }
  if (!head.elements[0].is_nil() || !head.elements[1].is_nil()) {
    std::optional<int64_t> sequence = ReplyInt(head.elements[0]);
    std::optional<std::string> hash = ReplyString(head.elements[1]);
    if (!sequence || *sequence < 1 || !hash || hash->size() != kAuditHashSize) {
      return absl::InternalError(
          absl::StrCat("audit chain head ", head_key, " is malformed (expected s and h)"));
    }
    state.head = AuditChainHead{*sequence, std::move(*hash)};
  }
  const RedisReply& info = exec.elements[1];
  if (info.is_error()) {
    // XINFO on a missing key fails; anything else is a real error.
    if (!absl::StrContains(info.str, "no such key"))
      SIMPUL_RETURN_IF_ERROR(ErrorFromReply(info, what));
    return state;
  }
  if (info.type != RedisReply::Type::kArray) return MalformedReply(what);
  for (size_t i = 0; i + 1 < info.elements.size(); i += 2) {
    if (ReplyString(info.elements[i]) == "entries-added") {
      std::optional<int64_t> added = ReplyInt(info.elements[i + 1]);
      if (!added) return MalformedReply(what);
      state.entries_added = *added;
    }
  }
  return state;
}

// ReadEntry reads the entry with stream id "sequence-0", or nullopt.
absl::StatusOr<std::optional<Entry>> ReadEntry(RedisPool* pool, const std::string& log_key,
                                               int64_t sequence, const AuditKeyring* keyring) {
  const std::string id = IdOf(sequence);
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool->Command({"XRANGE", log_key, id, id}));
  const std::string what = absl::StrCat("XRANGE ", log_key);
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, what));
  SIMPUL_ASSIGN_OR_RETURN(std::vector<Entry> entries, ParseEntries(reply, what, keyring));
  if (entries.empty()) return std::optional<Entry>();
  return std::optional<Entry>(std::move(entries[0]));
}

// FindLater returns the stream id of the first entry after `after_id` that parses as record
// `sequence`, scanning to the end of the log.
absl::StatusOr<std::optional<std::string>> FindLater(RedisPool* pool, const std::string& log_key,
                                                     const std::string& after_id, int64_t sequence,
                                                     const AuditKeyring* keyring) {
  LogReader reader(pool, log_key, absl::StrCat("(", after_id), keyring);
  for (;;) {
    SIMPUL_ASSIGN_OR_RETURN(const Entry* e, reader.At(0));
    if (e == nullptr) return std::optional<std::string>();
    if (e->parsed && e->record.sequence() == sequence) return std::optional<std::string>(e->id);
    reader.Pop();
  }
}

bool Continues(const Entry* e, int64_t sequence, const std::string& previous_hash) {
  return e != nullptr && e->intact && e->record.sequence() == sequence &&
         e->record.previous_hash() == previous_hash;
}

// Classify names the problem of `r`, the entry found where record `e` belongs, after `prev`
// (nullopt when the walk starts there without checking the link). `next` is the entry after
// `r`, if any; `head` the stored head.
absl::StatusOr<Problem> Classify(RedisPool* pool, const std::string& log_key, const Entry& r,
                                 const Entry* next, int64_t e, const std::optional<Link>& prev,
                                 const std::optional<AuditChainHead>& head,
                                 const AuditKeyring* keyring) {
  using P = AuditVerifyReport::Problem;
  const v1::AuditRecord& rec = r.record;

  // Two records claim the sequence just accepted and link to the same predecessor: one of
  // them is not part of the chain. The genuine one is the one the chain continues from.
  if (prev && prev->sequence >= 1 && r.intact && rec.sequence() == e - 1 &&
      rec.previous_hash() == prev->previous_hash) {
    const int64_t s = e - 1;
    const bool next_follows_r = Continues(next, e, rec.hash()) ||
                                (next == nullptr && head && *head == AuditChainHead{s, rec.hash()});
    const bool next_follows_prev =
        Continues(next, e, prev->hash) ||
        (next == nullptr && head && *head == AuditChainHead{s, prev->hash});
    if (next_follows_r) {
      return Problem{P::kInserted, s,
                     absl::StrCat("two records claim sequence ", s, "; the chain continues from ",
                                  "the one at stream id ", r.id, ", so the one at stream id ",
                                  prev->id, " was inserted")};
    }
    if (next_follows_prev) {
      return Problem{P::kInserted, s,
                     absl::StrCat("two records claim sequence ", s, "; the chain continues from ",
                                  "the one at stream id ", prev->id, ", so the one at stream id ",
                                  r.id, " was inserted")};
    }
    return Problem{P::kInserted, s,
                   absl::StrCat("two records claim sequence ", s, " (stream ids ", prev->id,
                                " and ", r.id, ")")};
  }

  // The next entry carries on from the last accepted record: `r` sits in between. Either
  // records e and e + 1 were swapped (r is e + 1 and links to the next entry) or r was
  // inserted.
  if (prev && Continues(next, e, prev->hash)) {
    if (r.intact && rec.sequence() == e + 1 && rec.previous_hash() == next->record.hash()) {
      return Problem{
          P::kReordered, e,
          absl::StrCat("records ", e, " and ", e + 1, " were swapped: record ", e + 1,
                       " is at stream id ", r.id, ", record ", e, " at stream id ", next->id)};
    }
    return Problem{P::kInserted, e,
                   absl::StrCat(Describe(r), " was inserted before record ", e, " (stream id ",
                                next->id, "), which links to record ", e - 1)};
  }
  if (prev && next == nullptr && head && *head == AuditChainHead{e - 1, prev->hash}) {
    return Problem{P::kInserted, e,
                   absl::StrCat(Describe(r), " lies beyond the chain head, record ", e - 1)};
  }

  if (r.intact && rec.sequence() > e) {
    SIMPUL_ASSIGN_OR_RETURN(std::optional<std::string> where,
                            FindLater(pool, log_key, r.id, e, keyring));
    if (where) {
      return Problem{P::kReordered, e,
                     absl::StrCat("record ", e, " is stored at stream id ", *where,
                                  ", after record ", rec.sequence(), " (stream id ", r.id, ")")};
    }
    if (rec.sequence() == e + 1) {
      return Problem{
          P::kRemoved, e,
          absl::StrCat("record ", e, " is missing: ", Describe(r), " follows record ", e - 1)};
    }
    return Problem{P::kRemoved, e,
                   absl::StrCat("records ", e, " to ", rec.sequence() - 1,
                                " are missing: ", Describe(r), " follows record ", e - 1)};
  }
  if (r.intact && rec.sequence() < e) {
    return Problem{P::kInserted, e,
                   absl::StrCat("the entry at stream id ", r.id, " repeats record ", rec.sequence(),
                                " where record ", e, " belongs")};
  }
  if (!r.intact) {
    return Problem{
        P::kAltered, e,
        absl::StrCat("the entry at stream id ", r.id, " where record ", e, " belongs ", r.problem)};
  }
  if (prev && rec.previous_hash() != prev->hash) {
    const int64_t s = std::max<int64_t>(e - 1, 1);
    return Problem{
        P::kAltered, s,
        absl::StrCat("record ", e, " (stream id ", r.id, ") links to hash ",
                     Hex(rec.previous_hash()), " but record ", e - 1, " has hash ", Hex(prev->hash),
                     ": record ", e - 1, " was altered and rehashed (or record ", e, " replaced)")};
  }
  return Problem{
      P::kReordered, e,
      absl::StrCat("record ", e, " is stored at stream id ", r.id, " instead of ", IdOf(e))};
}

}  // namespace

absl::StatusOr<AuditChainHead> AuditLog::Head() {
  SIMPUL_ASSIGN_OR_RETURN(HeadState state, ReadHeadState(pool_, HeadKey(), LogKey()));
  return state.head.value_or(AuditChainHead{});
}

absl::StatusOr<std::optional<AuditArchiveAnchor>> AuditLog::Anchor() {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"HMGET", AnchorKey(), "s", "h", "v"}));
  const std::string what = absl::StrCat("read of ", AnchorKey());
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, what));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 3) {
    return MalformedReply(what);
  }
  if (reply.elements[0].is_nil() && reply.elements[1].is_nil()) {
    return std::optional<AuditArchiveAnchor>();
  }
  std::optional<int64_t> sequence = ReplyInt(reply.elements[0]);
  std::optional<std::string> hash = ReplyString(reply.elements[1]);
  std::optional<int64_t> version =
      reply.elements[2].is_nil() ? std::optional<int64_t>(1) : ReplyInt(reply.elements[2]);
  if (!sequence || *sequence < 1 || !hash || hash->size() != kAuditHashSize || !version) {
    return absl::InternalError(
        absl::StrCat("audit archive anchor ", AnchorKey(), " is malformed (expected s, h, v)"));
  }
  return std::optional<AuditArchiveAnchor>(
      AuditArchiveAnchor{{*sequence, *std::move(hash)}, static_cast<int32_t>(*version)});
}

absl::StatusOr<std::vector<v1::AuditRecord>> AuditLog::ReadRecords(int64_t from, int64_t to) {
  std::vector<v1::AuditRecord> out;
  LogReader reader(pool_, LogKey(), IdOf(from), nullptr);
  for (;;) {
    SIMPUL_ASSIGN_OR_RETURN(const Entry* e, reader.At(0));
    uint64_t ms = 0, seq = 0;
    if (e == nullptr) break;
    if (!ParseStreamId(e->id, &ms, &seq)) return MalformedReply(absl::StrCat("XRANGE ", LogKey()));
    if (ms > static_cast<uint64_t>(to)) break;
    if (!e->parsed) {
      return absl::DataLossError(absl::StrCat(Describe(*e), " ", e->problem,
                                              ": not an audit record; run simpul-audit verify"));
    }
    out.push_back(e->record);
    reader.Pop();
  }
  return out;
}

absl::Status AuditLog::RemoveArchived(const AuditChainHead& expected_anchor,
                                      const v1::AuditRecord& last,
                                      const std::vector<std::string>& agencies) {
  std::vector<std::string> keys = {AnchorKey(), HeadKey(), LogKey()};
  for (const std::string& agency : agencies) keys.push_back(AgencyKey(agency));
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->Eval(LuaScript<kLuaKeyTypeError, kRemoveArchivedLua>(), keys,
                                      {absl::StrCat(expected_anchor.sequence), expected_anchor.hash,
                                       absl::StrCat(last.sequence()), last.hash(),
                                       absl::StrCat(last.encoding_version())}));
  const std::string what = absl::StrCat("removal of archived records from ", LogKey());
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, what));
  if (reply.type != RedisReply::Type::kArray || reply.elements.empty()) {
    return MalformedReply(what);
  }
  const std::optional<int64_t> outcome = ReplyInt(reply.elements[0]);
  if (outcome == 0) return absl::OkStatus();
  const std::string found =
      reply.elements.size() > 1 ? ReplyString(reply.elements[1]).value_or("?") : "?";
  if (outcome == 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the archive anchor ", AnchorKey(), " is now record ", found, ", not record ",
        expected_anchor.sequence, " (another archive ran meanwhile); nothing removed"));
  }
  if (outcome == 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("record ", last.sequence(), " is not before the chain head (record ", found,
                     "): the head record always stays in Redis; nothing removed"));
  }
  return MalformedReply(what);
}

std::optional<AuditChainHead> AuditLog::LastAppended() {
  absl::MutexLock lock(&mu_);
  return head_;
}

absl::StatusOr<v1::AuditRecord> AuditLog::Append(v1::AuditRecord record) {
  FieldViolations violations;
  if (record.subject().empty()) {
    violations.Add("subject", "required (\"public\" for an anonymous caller)");
  }
  if (record.method().empty()) violations.Add("method", "required: the full gRPC method");
  if (record.outcome().empty()) violations.Add("outcome", "required: the status code name");
  if (!record.request_sha256().empty() && record.request_sha256().size() != kAuditHashSize) {
    violations.Add("request_sha256", absl::StrCat("must be empty or 32 bytes (SHA-256), got ",
                                                  record.request_sha256().size()));
  }
  if (record.has_time()) {
    if (record.time().seconds() < kMinTimestampSeconds ||
        record.time().seconds() > kMaxTimestampSeconds) {
      violations.Add("time.seconds",
                     absl::StrCat("must be within years 1..9999, got ", record.time().seconds()));
    }
    if (record.time().nanos() < 0 || record.time().nanos() > 999999999) {
      violations.Add("time.nanos",
                     absl::StrCat("must be 0..999999999, got ", record.time().nanos()));
    }
  }
  SIMPUL_RETURN_IF_ERROR(violations.ToStatus("audit record"));
  record.clear_sequence();
  record.clear_previous_hash();
  record.clear_hash();
  record.clear_key_id();
  record.set_encoding_version(options_.keyring != nullptr ? kAuditKeyedEncodingVersion
                                                          : kAuditEncodingVersion);
  DropUnknownFields(&record);
  if (record.has_time()) DropUnknownFields(record.mutable_time());
  BoundAuditRecord(&record);
  if (!record.has_time()) {
    const absl::Time now = clock_.Now();
    const int64_t seconds = absl::ToUnixSeconds(now);  // rounded down
    record.mutable_time()->set_seconds(seconds);
    record.mutable_time()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(now - absl::FromUnixSeconds(seconds))));
  }

  // Group commit: whoever finds no flush running flushes everything queued (its own record
  // included, unless the queue is longer than a batch); the others wait for their result.
  Pending pending;
  pending.record = std::move(record);
  struct Wait {
    const Pending* pending;
    const bool* flushing;
  } wait{&pending, &flushing_};
  const absl::Condition ready(
      +[](Wait* w) { return w->pending->done || !*w->flushing; }, &wait);
  absl::MutexLock lock(&mu_);
  queue_.push_back(&pending);
  while (!pending.done) {
    if (flushing_) {
      mu_.Await(ready);
      continue;
    }
    flushing_ = true;
    std::vector<Pending*> batch;
    while (!queue_.empty() && batch.size() < static_cast<size_t>(options_.max_batch)) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    std::optional<AuditChainHead> head = head_;
    mu_.Unlock();
    absl::StatusOr<AuditChainHead> new_head = Flush(batch, std::move(head));
    mu_.Lock();
    head_ = new_head.ok() ? std::optional<AuditChainHead>(*std::move(new_head)) : std::nullopt;
    for (Pending* p : batch) p->done = true;
    flushing_ = false;
  }
  return std::move(pending.result);
}

absl::StatusOr<AuditChainHead> AuditLog::Flush(const std::vector<Pending*>& batch,
                                               std::optional<AuditChainHead> head) {
  auto fail = [&batch](absl::Status status) {
    for (Pending* p : batch) p->result = status;
    return status;
  };
  if (!head) {
    absl::StatusOr<HeadState> state = ReadHeadState(pool_, HeadKey(), LogKey());
    if (!state.ok()) return fail(state.status());
    head = state->head.value_or(AuditChainHead{});
  }

  std::vector<std::string> keys = {HeadKey(), LogKey(), TurnKey()};
  std::map<std::string, int, std::less<>> agency_numbers;
  std::vector<int> key_numbers;
  key_numbers.reserve(batch.size());
  for (const Pending* p : batch) {
    const std::string& agency = p->record.agency_id();
    if (agency.empty()) {
      key_numbers.push_back(0);
      continue;
    }
    auto [it, inserted] = agency_numbers.emplace(agency, static_cast<int>(keys.size()) - 2);
    if (inserted) keys.push_back(AgencyKey(agency));
    key_numbers.push_back(it->second);
  }

  const std::string what = absl::StrCat("append to ", LogKey());
  thread_local std::minstd_rand jitter(std::random_device{}());
  int conflicts = 0;
  std::optional<absl::Time> yield_deadline;
  for (;;) {
    std::vector<v1::AuditRecord> records;
    records.reserve(batch.size());
    std::string previous = head->hash;
    for (size_t i = 0; i < batch.size(); ++i) {
      v1::AuditRecord record = batch[i]->record;
      record.set_sequence(head->sequence + 1 + static_cast<int64_t>(i));
      record.set_previous_hash(previous);
      if (options_.keyring != nullptr) record.set_key_id(options_.keyring->active_key_id());
      absl::StatusOr<std::string> hash = AuditRecordHash(record, options_.keyring);
      if (!hash.ok()) return fail(hash.status());
      record.set_hash(*std::move(hash));
      previous = record.hash();
      records.push_back(std::move(record));
    }
    std::vector<std::string> args = {
        absl::StrCat(head->sequence),
        head->hash,
        absl::StrCat(records.back().sequence()),
        records.back().hash(),
        absl::StrCat(records.size()),
        replica_id_,
        conflicts > 0 ? "1" : "0",
        absl::StrCat(absl::ToInt64Milliseconds(kTurnTtl)),
        absl::StrCat(options_.keyring != nullptr ? kAuditKeyedEncodingVersion
                                                 : kAuditEncodingVersion)};
    args.reserve(args.size() + 3 * records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      args.push_back(absl::StrCat(records[i].sequence()));
      args.push_back(records[i].SerializeAsString());
      args.push_back(absl::StrCat(key_numbers[i]));
    }

    absl::StatusOr<RedisReply> reply =
        pool_->EvalWrite(LuaScript<kLuaKeyTypeError, kAppendLua>(), keys, args);
    if (!reply.ok()) return fail(reply.status());
    if (absl::Status s = ErrorFromReply(*reply, what); !s.ok()) return fail(s);
    if (reply->type != RedisReply::Type::kArray || reply->elements.empty()) {
      return fail(MalformedReply("audit append script"));
    }
    const std::optional<int64_t> outcome = ReplyInt(reply->elements[0]);
    if (outcome == 1) {
      AuditChainHead new_head{records.back().sequence(), records.back().hash()};
      for (size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(records[i]);
      return new_head;
    }
    if ((outcome == 0 || outcome == 4) && reply->elements.size() == 3) {
      std::optional<int64_t> sequence = ReplyInt(reply->elements[1]);
      std::optional<std::string> hash = ReplyString(reply->elements[2]);
      if (!sequence || *sequence < 0 || !hash || hash->size() != kAuditHashSize) {
        return fail(absl::InternalError(
            absl::StrCat("audit chain head ", HeadKey(), " is malformed (expected s and h)")));
      }
      head = AuditChainHead{*sequence, std::move(*hash)};
      if (outcome == 0) {
        // Another replica appended first: rehash against its head and try again at once (with
        // a claim on the right of way from the second conflict on).
        if (++conflicts >= options_.max_attempts) {
          return fail(absl::AbortedError(
              absl::StrCat("audit append to ", LogKey(), " lost the race for the chain head ",
                           conflicts, " times in a row (other replicas kept appending)")));
        }
        continue;
      }
      // Another replica that kept losing has the right of way: let it append first.
      const absl::Time now = absl::Now();
      if (!yield_deadline) yield_deadline = now + kMaxYield;
      if (now > *yield_deadline) {
        return fail(absl::AbortedError(
            absl::StrCat("audit append to ", LogKey(), " waited ", absl::FormatDuration(kMaxYield),
                         " for other replicas holding the right of way (", TurnKey(), ")")));
      }
      std::uniform_int_distribution<int> micros(20, 200);
      absl::SleepFor(absl::Microseconds(micros(jitter)));
      continue;
    }
    if (outcome == 2 && reply->elements.size() == 3) {
      const std::string last = ReplyString(reply->elements[2]).value_or("");
      return fail(absl::DataLossError(
          absl::StrCat("audit log ", LogKey(), " does not end at its head ", HeadKey(),
                       " (the head names record ", ReplyString(reply->elements[1]).value_or("?"),
                       ", the log's last entry is ",
                       last.empty() ? std::string("none") : absl::StrCat("stream id ", last),
                       "); refusing to append to a damaged chain: run simpul-audit verify")));
    }
    if (outcome == 5 && reply->elements.size() == 2) {
      return fail(absl::FailedPreconditionError(absl::StrCat(
          "audit log ", LogKey(), " is keyed (its head, record ",
          ReplyString(reply->elements[1]).value_or("?"),
          ", has hash encoding_version 2): this gateway has no audit key (audit_key_file) and "
          "must not append unkeyed records after keyed ones")));
    }
    if (outcome == 3 && reply->elements.size() == 2) {
      return fail(absl::DataLossError(
          absl::StrCat("audit log ", LogKey(), " refused record ", records.front().sequence(), " (",
                       ReplyString(reply->elements[1]).value_or("?"),
                       "): entries were deleted from its end; run simpul-audit verify")));
    }
    return fail(MalformedReply("audit append script"));
  }
}

absl::StatusOr<AuditPage> AuditLog::List(std::string_view agency_id, int page_size,
                                         std::string_view page_token) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return InvalidField("page.page_size", absl::StrCat("must be 0..", kMaxPageSize, " (0 means ",
                                                       kDefaultPageSize, "), got ", page_size));
  }
  const int limit = page_size == 0 ? kDefaultPageSize : page_size;
  const bool all = agency_id.empty();
  const std::string query =
      all ? std::string("audit:all") : absl::StrCat("audit:agency:", AbslView(agency_id));
  SIMPUL_ASSIGN_OR_RETURN(std::string below,
                          DecodePageToken("page.page_token", AbslView(page_token), query));
  uint64_t ms = 0, seq = 0;
  int64_t number = 0;
  if (!below.empty() &&
      (all ? !ParseStreamId(below, &ms, &seq) : !absl::SimpleAtoi(below, &number))) {
    return InvalidField("page.page_token", "not a page token returned by this API");
  }

  std::vector<std::string> keys = {LogKey()};
  if (!all) keys.push_back(AgencyKey(agency_id));
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply, pool_->Eval(LuaScript<kListLua>(), keys, {below, absl::StrCat(limit + 1)}));
  const std::string what = absl::StrCat("listing of ", all ? LogKey() : keys[1]);
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, what));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() % 2 != 0) {
    return MalformedReply(what);
  }
  const size_t found = reply.elements.size() / 2;
  AuditPage page;
  std::string last_position;
  for (size_t i = 0; i < std::min<size_t>(found, limit); ++i) {
    std::optional<std::string> position = ReplyString(reply.elements[2 * i]);
    if (!position) return MalformedReply(what);
    last_position = std::move(*position);
    std::optional<std::string> bytes = ReplyString(reply.elements[2 * i + 1]);
    v1::AuditRecord record;
    if (!bytes || !record.ParseFromString(*bytes)) continue;  // Verify reports it
    page.records.push_back(std::move(record));
  }
  if (found > static_cast<size_t>(limit)) {
    page.next_page_token = EncodePageToken(query, last_position);
  }
  SIMPUL_ASSIGN_OR_RETURN(std::optional<AuditArchiveAnchor> archived, Anchor());
  if (archived) page.archived_through = archived->head.sequence;
  return page;
}

absl::StatusOr<AuditVerifyReport> AuditLog::Verify(const AuditVerifyOptions& options) {
  using P = AuditVerifyReport::Problem;
  const int64_t from = options.from_sequence;
  const int64_t to = options.to_sequence;
  FieldViolations violations;
  if (from < 1) violations.Add("from_sequence", absl::StrCat("must be at least 1, got ", from));
  if (to < 0 || (to != 0 && to < from)) {
    violations.Add("to_sequence", absl::StrCat("must be 0 (to the head) or at least "
                                               "from_sequence ",
                                               from, ", got ", to));
  }
  if (options.expected_head && (options.expected_head->sequence < 0 ||
                                options.expected_head->hash.size() != kAuditHashSize)) {
    violations.Add("expected_head", "needs a sequence of at least 0 and a 32-byte hash");
  }
  for (size_t i = 0; i < options.checkpoints.size(); ++i) {
    if (options.checkpoints[i].sequence < 0 ||
        options.checkpoints[i].hash.size() != kAuditHashSize) {
      violations.Add(absl::StrCat("checkpoints[", i, "]"),
                     "needs a sequence of at least 0 and a 32-byte hash");
    }
  }
  SIMPUL_RETURN_IF_ERROR(violations.ToStatus("audit verification"));

  SIMPUL_ASSIGN_OR_RETURN(HeadState state, ReadHeadState(pool_, HeadKey(), LogKey()));
  if (to == 0 && state.head && from > state.head->sequence) {
    return InvalidField("from_sequence", absl::StrCat("must not be beyond the chain head, record ",
                                                      state.head->sequence, "; got ", from));
  }

  AuditVerifyReport report;
  std::optional<Link> prev;  // the last record accepted; nullopt: link not checked yet
  int64_t e = from;          // the sequence the next entry must have
  std::string start = "-";
  SIMPUL_ASSIGN_OR_RETURN(std::optional<AuditArchiveAnchor> archived, Anchor());
  if (archived && to != 0 && to <= archived->head.sequence) {
    return InvalidField("to_sequence",
                        absl::StrCat("records 1..", archived->head.sequence,
                                     " are archived (no longer in Redis); got ", to));
  }
  if (archived && from - 1 <= archived->head.sequence) {
    // Records up to the anchor are archived: the chain in Redis starts after it, linked to it.
    e = archived->head.sequence + 1;
    start = IdOf(e);
    prev = Link{archived->head.sequence, archived->head.hash, "", "the archive anchor",
                archived->encoding_version};
    report.head = archived->head;
  } else if (from == 1) {
    prev = Link{};
  } else {
    e = from - 1;  // start at the record before, to check the link into the range
    start = IdOf(from - 1);
  }
  // Heads kept outside Redis, in chain order: the anchored head and the checkpoints.
  struct Expected {
    AuditChainHead head;
    bool checkpoint;
  };
  std::vector<Expected> anchors;
  if (options.expected_head) anchors.push_back({*options.expected_head, false});
  for (const AuditChainHead& c : options.checkpoints) anchors.push_back({c, true});
  std::stable_sort(anchors.begin(), anchors.end(), [](const Expected& a, const Expected& b) {
    return a.head.sequence < b.head.sequence;
  });
  // The hashes of the anchors' records, as walked.
  std::map<int64_t, std::string> walked;
  std::set<int64_t> anchor_sequences;
  for (const Expected& a : anchors) anchor_sequences.insert(a.head.sequence);
  if (anchor_sequences.count(0) > 0) walked[0] = std::string(kAuditHashSize, '\0');
  if (archived) walked[archived->head.sequence] = archived->head.hash;

  auto finish = [&](Problem problem) {
    report.problem = problem.kind;
    report.sequence = problem.sequence;
    report.detail = std::move(problem.detail);
    return report;
  };
  auto accept = [&](const Entry& r) {
    prev = Link{r.record.sequence(), r.record.hash(), r.record.previous_hash(), r.id,
                r.record.encoding_version()};
    if (e >= from) ++report.records_checked;
    if (anchor_sequences.count(e) > 0) walked[e] = r.record.hash();
    report.head = AuditChainHead{e, r.record.hash()};
    ++e;
  };

  const AuditKeyring* const keyring = options_.keyring;
  LogReader reader(pool_, LogKey(), start, keyring);
  int64_t limit = to != 0 ? to : (state.head ? state.head->sequence : INT64_MAX);
  for (int round = 1;; ++round) {
    while (e <= limit) {
      SIMPUL_ASSIGN_OR_RETURN(const Entry* r, reader.At(0));
      if (r == nullptr) break;
      if (r->needs_key) {
        return absl::FailedPreconditionError(
            absl::StrCat(Describe(*r), " has a keyed hash (encoding_version 2, key \"",
                         absl::CEscape(r->record.key_id()),
                         "\"): verifying it needs the audit key file (simpul-audit --key-file)"));
      }
      if (r->intact && prev && prev->version == kAuditKeyedEncodingVersion &&
          r->record.encoding_version() != kAuditKeyedEncodingVersion && r->record.sequence() == e &&
          r->id_sequence == e) {
        return finish({P::kAltered, e,
                       absl::StrCat("record ", e, " has hash encoding_version ",
                                    r->record.encoding_version(), " after record ", e - 1,
                                    ", which is keyed (version 2): a keyed chain never goes back "
                                    "to unkeyed records, so the tail was rewritten from record ",
                                    e, " on")});
      }
      const bool good = r->intact && r->record.sequence() == e && r->id_sequence == e &&
                        (!prev || r->record.previous_hash() == prev->hash);
      if (!good) {
        SIMPUL_ASSIGN_OR_RETURN(const Entry* next, reader.At(1));
        SIMPUL_ASSIGN_OR_RETURN(Problem problem,
                                Classify(pool_, LogKey(), *r, next, e, prev, state.head, keyring));
        return finish(std::move(problem));
      }
      accept(*r);
      reader.Pop();
    }
    if (e <= limit && limit != INT64_MAX) {
      if (to != 0 && (!state.head || to > state.head->sequence)) {
        return finish(
            {P::kRemoved, e,
             absl::StrCat("the log ends after record ", e - 1, ", before to_sequence ", to)});
      }
      return finish({P::kRemoved, e,
                     absl::StrCat("the stored head names record ", state.head->sequence,
                                  " but the log ends after record ", e - 1,
                                  ": the records after it were removed")});
    }
    if (to != 0) break;  // a range: the head is not its business

    // At the end of the chain as the stored head describes it.
    const int64_t last = e - 1;
    if (!state.head) {
      if (last == 0) break;  // an empty log
      return finish({P::kAltered, last,
                     absl::StrCat("the stored head ", HeadKey(),
                                  " is missing; it should name record ", last)});
    }
    if (prev && prev->hash != state.head->hash) {
      return finish({P::kAltered, last,
                     absl::StrCat("record ", last, " has hash ", Hex(prev->hash),
                                  " but the stored head says ", Hex(state.head->hash), ": record ",
                                  last, " was altered and rehashed")});
    }
    SIMPUL_ASSIGN_OR_RETURN(const Entry* beyond, reader.At(0));
    if (beyond != nullptr && round < kMaxHeadRounds) {
      // Entries beyond the head: appended while we walked, or inserted.
      SIMPUL_ASSIGN_OR_RETURN(state, ReadHeadState(pool_, HeadKey(), LogKey()));
      if (!state.head || state.head->sequence <= last) {
        return finish(
            {P::kInserted, last + 1,
             absl::StrCat(Describe(*beyond), " lies beyond the chain head, record ", last)});
      }
      limit = state.head->sequence;
      continue;
    }
    // Appends only ever add one stream entry per record, so a stream that had more entries
    // added than the chain holds lost its tail, even if the head was rewritten to match.
    if (state.entries_added > last) {
      return finish({P::kRemoved, last + 1,
                     absl::StrCat("the log stream has had ", state.entries_added,
                                  " entries added but the chain ends at record ", last,
                                  ": records ", last + 1, " to ", state.entries_added,
                                  " were removed from the tail (and the head rewritten)")});
    }
    break;
  }

  // Every anchor must still be in the chain with its hash.
  int64_t last_matched = 0;
  for (const Expected& a : anchors) {
    const AuditChainHead& expected = a.head;
    const std::string name = a.checkpoint ? "the checkpoint" : "the anchored head";
    std::string actual;
    if (auto it = walked.find(expected.sequence); it != walked.end()) {
      actual = it->second;
    } else if (archived && expected.sequence < archived->head.sequence) {
      auto in_archive = options.archived_hashes.find(expected.sequence);
      if (in_archive == options.archived_hashes.end()) {
        if (a.checkpoint) ++report.checkpoints_unchecked;
        continue;  // archived: checked only against the archive
      }
      actual = in_archive->second;
    } else if (to == 0 && expected.sequence >= e) {
      return finish({P::kRemoved, e,
                     absl::StrCat(name, " is record ", expected.sequence,
                                  " but the chain ends at record ", e - 1, ": records ", e, " to ",
                                  expected.sequence, " were removed from the tail")});
    } else {
      SIMPUL_ASSIGN_OR_RETURN(std::optional<Entry> entry,
                              ReadEntry(pool_, LogKey(), expected.sequence, keyring));
      if (!entry) {
        return finish({P::kRemoved, expected.sequence,
                       absl::StrCat(name, ", record ", expected.sequence, ", is not in the log")});
      }
      if (entry->needs_key) {
        return absl::FailedPreconditionError(
            absl::StrCat(Describe(*entry), " ", entry->problem, " (simpul-audit --key-file)"));
      }
      if (!entry->intact) {
        return finish({P::kAltered, expected.sequence,
                       absl::StrCat(name, ", ", Describe(*entry), ", ", entry->problem)});
      }
      actual = entry->record.hash();
    }
    if (actual != expected.hash) {
      std::string range =
          absl::StrCat("the chain was rewritten at or before record ", expected.sequence);
      if (last_matched > 0) {
        absl::StrAppend(&range, " and after record ", last_matched,
                        " (the last checkpoint that matches)");
      }
      return finish({P::kAltered, expected.sequence,
                     absl::StrCat("record ", expected.sequence, " has hash ", Hex(actual), " but ",
                                  name, " says ", Hex(expected.hash), ": ", range)});
    }
    last_matched = expected.sequence;
    if (a.checkpoint) ++report.checkpoints_matched;
  }
  return report;
}

absl::Status AuditLog::CheckDurability() {
  SIMPUL_ASSIGN_OR_RETURN(
      std::vector<RedisReply> replies,
      pool_->Pipeline({{"CONFIG", "GET", "appendonly"}, {"CONFIG", "GET", "appendfsync"}}));
  const char* const names[] = {"appendonly", "appendfsync"};
  const char* const wanted[] = {"yes", "always"};
  if (replies.size() != 2) return MalformedReply("CONFIG GET");
  for (int i = 0; i < 2; ++i) {
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(replies[i], absl::StrCat("CONFIG GET ", names[i])));
    std::optional<std::string> value;
    if (replies[i].type == RedisReply::Type::kArray && replies[i].elements.size() == 2) {
      value = ReplyString(replies[i].elements[1]);
    }
    if (!value) return MalformedReply(absl::StrCat("CONFIG GET ", names[i]));
    if (*value != wanted[i]) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Redis runs with ", names[i], " ", *value, "; the audit trail needs ", names[i], " ",
          wanted[i], " so that an acknowledged record survives a crash"));
    }
  }
  return absl::OkStatus();
}

}  // namespace simpul::gateway
