// RedisComplaintStore: cases, histories, indexes, deadlines, idempotency records and the event
// stream in Redis (key layout in the header).
#include "services/complaints/redis_store.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/absl_compat.h"
#include "common/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "zlib.h"

namespace simpul::complaints {
namespace {

// kCommitLua commits one case write:
//   KEYS = [case, due, events, updated index, removed index keys (nrem), added index keys
//           (nadd), geo index keys left (ngrem), geo index keys entered (ngadd), idempotency
//           key (only with a claim)]
//   ARGV = [expected revision ("0": filing), new case value ("<revision>:<compressed>"),
//           serialized event, id, index score, due score ("": not queued), stream max len
//           ("0": unbounded), nrem, nadd, claim ("1"/"0"), serialized idempotency record,
//           idempotency TTL in ms, update score (the updated index's), retention floor (a
//           stream id: acknowledged events at or after it are kept; "": none), ngrem, ngadd,
//           longitude, latitude (the case's point, for the geo indexes entered)]
// Returns {1, event stream id} after writing, or without writing anything {0, current revision}
// on a conflict or {2, stored idempotency record} on a replay.
// Redis does not roll a script back when a command fails halfway, so every check (key types
// included) comes before the first write. The revision is read from the value's prefix
// (GETRANGE), never by decompressing it.
// After the XADD, events every consumer group has acknowledged and that are older than the
// retention floor are trimmed (XTRIM MINID at the oldest entry some group still needs: its
// oldest pending entry, else its last delivered one; never past the floor); with no group,
// nothing is trimmed that way. The groups are only looked at when the stream's first entry is
// older than the floor (else nothing can be trimmed), and the newest entry before the trim
// point is only searched (XREVRANGE) when the first entry lies before it: Redis 7.0's
// XREVRANGE from an id older than every entry walks the whole stream backwards (O(length): 4 ms
// at 50,000 events), which made every filing's commit slower the longer the stream grew. Then the
// stream is capped at the max len. Both trims are exact, and the newest entry they removed is
// recorded with XSETID ... MAXDELETEDID, which ReadEvents compares cursors with (a cursor before it
// missed events). It starts with kLuaKeyTypeError (common/redis.h).
constexpr char kCommitLua[] = R"lua(
local nrem, nadd = tonumber(ARGV[8]), tonumber(ARGV[9])
local ngrem, ngadd = tonumber(ARGV[15]), tonumber(ARGV[16])
local claim = ARGV[10] == '1'
local idem = KEYS[5 + nrem + nadd + ngrem + ngadd]
local checks = {{KEYS[1], 'string'}, {KEYS[2], 'zset'}, {KEYS[3], 'stream'}, {KEYS[4], 'zset'}}
for i = 5, 4 + nrem + nadd + ngrem + ngadd do checks[#checks + 1] = {KEYS[i], 'zset'} end
if claim then checks[#checks + 1] = {idem, 'string'} end
local err = key_type_error(checks)
if err then return err end
local head = redis.call('GETRANGE', KEYS[1], 0, 20)
local current = '0'
if head ~= '' then current = string.match(head, '^(%d+):') or 'malformed' end
if ARGV[1] == '0' then
  if claim then
    local stored = redis.call('GET', idem)
    if stored then return {2, stored} end
  end
  if head ~= '' then return {0, current} end
elseif current ~= ARGV[1] then
  return {0, current}
end
local id = ARGV[4]
redis.call('SET', KEYS[1], ARGV[2])
for i = 5, 4 + nrem do redis.call('ZREM', KEYS[i], id) end
for i = 5 + nrem, 4 + nrem + nadd do redis.call('ZADD', KEYS[i], ARGV[5], id) end
local g = 5 + nrem + nadd
for i = g, g + ngrem - 1 do redis.call('ZREM', KEYS[i], id) end
for i = g + ngrem, g + ngrem + ngadd - 1 do redis.call('GEOADD', KEYS[i], ARGV[17], ARGV[18], id) end
redis.call('ZADD', KEYS[4], ARGV[13], id)
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[2], id)
else
  redis.call('ZADD', KEYS[2], ARGV[6], id)
end
local event_id = redis.call('XADD', KEYS[3], '*', 'v', '1', 'e', ARGV[3])
local function older(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, bms = tonumber(ams), tonumber(bms)
  if ams ~= bms then return ams < bms end
  return tonumber(aseq) < tonumber(bseq)
end
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)[1][1]
local keep
if ARGV[14] == '' or older(first, ARGV[14]) then
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[3])) do
    local name, needed
    for i = 1, #group, 2 do
      if group[i] == 'name' then name = group[i + 1] end
      if group[i] == 'last-delivered-id' then needed = group[i + 1] end
    end
    local pending = redis.call('XPENDING', KEYS[3], name)
    if pending[1] > 0 and older(pending[2], needed) then needed = pending[2] end
    if not keep or older(needed, keep) then keep = needed end
  end
  if keep and ARGV[14] ~= '' and older(ARGV[14], keep) then keep = ARGV[14] end
end
local dropped
if keep and older(first, keep) then
  dropped = redis.call('XREVRANGE', KEYS[3], '(' .. keep, '-', 'COUNT', 1)[1][1]
  redis.call('XTRIM', KEYS[3], 'MINID', keep)
end
local max_len = tonumber(ARGV[7])
if max_len > 0 then
  local len = redis.call('XLEN', KEYS[3])
  if len > max_len then
    local over = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', len - max_len)
    dropped = over[#over][1]
    redis.call('XTRIM', KEYS[3], 'MAXLEN', max_len)
  end
end
if dropped then redis.call('XSETID', KEYS[3], event_id, 'MAXDELETEDID', dropped) end
if claim then redis.call('SET', idem, ARGV[11], 'PX', ARGV[12]) end
return {1, event_id}
)lua";

// kFindLua finds one page of index entries:
//   KEYS = [index]; ARGV = [from ms (inclusive), to ms (exclusive), has after ("1"/"0"),
//                           after ms, after id, limit]
// Entries are ordered by (score, member), members of equal score bytewise. The first entry
// strictly after (after ms, after id) is found by binary search over the ranks of the entries
// scored after ms (O(log n) ZRANGE calls however many share the score), then one ZRANGE by rank
// reads the page. Returns {exhausted (1: nothing in the window beyond the page), id, score, ...}.
// Lua's `<` on strings follows the server's collation locale, so ids are compared bytewise by
// hand, the order of a sorted set.
// It starts with kLuaBytewiseLess and kLuaRankAfter (common/redis.h).
constexpr char kFindLua[] = R"lua(
local to = tonumber(ARGV[2])
local limit = tonumber(ARGV[6])
local found = {}
local exhausted = 1
for _, key in ipairs(KEYS) do
  local start = redis.call('ZCOUNT', key, '-inf', '(' .. ARGV[1])
  if ARGV[3] == '1' then
    local lo = rank_after(key, ARGV[4], ARGV[5])
    if lo > start then start = lo end
  end
  local items = redis.call('ZRANGE', key, start, start + limit - 1, 'WITHSCORES')
  local complete = #items < 2 * limit
  for i = 1, #items, 2 do
    local score = tonumber(items[i + 1])
    if score >= to then
      complete = true
      break
    end
    found[#found + 1] = {items[i], score, items[i + 1]}
  end
  if not complete then exhausted = 0 end
end
if #KEYS > 1 then
  table.sort(found, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    return less(a[1], b[1])
  end)
end
if #found > limit then exhausted = 0 end
local out = {}
for i = 1, math.min(#found, limit) do
  out[#out + 1] = found[i][1]
  out[#out + 1] = found[i][3]
end
return {exhausted, out}
)lua";

// kFetchLua reads the cases of index entries in one atomic step:
//   KEYS = [index parts (n), case key per entry]; ARGV = [n, id, score, id, score, ...]
// Returns per entry the stored case value, or nil when the id is in none of the parts at that
// score any more or the case is gone.
constexpr char kFetchLua[] = R"lua(
local n = tonumber(ARGV[1])
local out = {}
for i = n + 1, #KEYS do
  local j = i - n
  local id, score = ARGV[2 * j], tonumber(ARGV[2 * j + 1])
  local value = false
  for k = 1, n do
    local s = redis.call('ZSCORE', KEYS[k], id)
    if s and tonumber(s) == score then
      value = redis.call('GET', KEYS[i])
      break
    end
  end
  out[j] = value
end
return out
)lua";

// kAreaLua finds one page of the cases of a geo index inside a search shape, in the order of
// another index:
//   KEYS = [geo index, order index]; ARGV = [longitude, latitude, radius m ("": a box),
//           width m, height m, from (inclusive), to (exclusive), has after ("1"/"0"), after
//           score, after id, limit, most members read ("0": no bound)]
// Every member the GEOSEARCH finds is looked up in the order index (members not in it are
// skipped), kept when its score is in the window and after the position, then the kept ones
// are sorted by (score, id). Returns {exhausted (1: nothing beyond the page), id, score, ...},
// kFindLua's shape, or {-1, {}} when the search finds more members than the bound (then it
// stops at once: GEOSEARCH COUNT ... ANY). It starts with kLuaBytewiseLess (common/redis.h).
constexpr char kAreaLua[] = R"lua(
local search = {'GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2]}
if ARGV[3] ~= '' then
  for _, a in ipairs({'BYRADIUS', ARGV[3], 'm'}) do search[#search + 1] = a end
else
  for _, a in ipairs({'BYBOX', ARGV[4], ARGV[5], 'm'}) do search[#search + 1] = a end
end
local bound = tonumber(ARGV[12])
if bound > 0 then
  for _, a in ipairs({'COUNT', bound + 1, 'ANY'}) do search[#search + 1] = a end
end
local ids = redis.call(unpack(search))
if bound > 0 and #ids > bound then return {-1, {}} end
local from, to = tonumber(ARGV[6]), tonumber(ARGV[7])
local has_after, after_score, after_id = ARGV[8] == '1', tonumber(ARGV[9]), ARGV[10]
local limit = tonumber(ARGV[11])
local found = {}
for _, id in ipairs(ids) do
  local s = redis.call('ZSCORE', KEYS[2], id)
  if s then
    local score = tonumber(s)
    if score >= from and score < to and
        (not has_after or score > after_score or (score == after_score and less(after_id, id))) then
      found[#found + 1] = {id, score, s}
    end
  end
end
table.sort(found, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  return less(a[1], b[1])
end)
local exhausted = 1
if #found > limit then exhausted = 0 end
local out = {}
for i = 1, math.min(#found, limit) do
  out[#out + 1] = found[i][1]
  out[#out + 1] = found[i][3]
end
return {exhausted, out}
)lua";

// kGeoBackfillLua enters a case into geo indexes if it is still at the revision read:
//   KEYS = [case, geo indexes...]; ARGV = [revision, longitude, latitude, id]. A case changed
// in between was entered by its commit (which keeps the geo indexes), so it is left alone.
// Returns 1 when entered, 0 when the case changed or is gone.
constexpr char kGeoBackfillLua[] = R"lua(
local head = redis.call('GETRANGE', KEYS[1], 0, 20)
if string.match(head, '^(%d+):') ~= ARGV[1] then return 0 end
for i = 2, #KEYS do redis.call('GEOADD', KEYS[i], ARGV[2], ARGV[3], ARGV[4]) end
return 1
)lua";

// kReplaceLua replaces a value only if it is still the one read:
//   KEYS = [key]; ARGV = [value read, new value]. Returns 1 when replaced, 0 when it changed.
constexpr char kReplaceLua[] = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
)lua";

// ParseStored parses a stored message; a value that does not parse is INTERNAL naming the key
// (never the contents: they hold personal data).
template <typename T>
absl::StatusOr<T> ParseStored(const std::string& key, const std::string& bytes,
                              std::string_view where = "") {
  T message;
  if (!message.ParseFromString(bytes)) {
    return absl::InternalError(absl::StrCat("stored ", T::descriptor()->full_name(),
                                            AbslView(where), " at key ", key, " cannot be parsed"));
  }
  return message;
}

// Deflate compresses `in` as a raw deflate stream (no zlib header or checksum: the value is
// only ever read back by this store).
std::string Deflate(std::string_view in) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -12, 5, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();  // only on memory exhaustion
  }
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) std::abort();  // deflateBound guarantees room
  return out;
}

// Inflate reverses Deflate; nullopt when `in` is not a complete raw deflate stream.
std::optional<std::string> Inflate(std::string_view in) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return std::nullopt;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buffer[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - z.avail_out);
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;  // truncated
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.avail_in != 0) return std::nullopt;
  return out;
}

// Delimited is `message` preceded by its size as a varint (protobuf's delimited framing).
std::string Delimited(const google::protobuf::MessageLite& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::util::SerializeDelimitedToZeroCopyStream(message, &stream);
  return out;
}

// StoredCase is a decoded case value (layout in the header).
struct StoredCase {
  int64_t revision = 0;
  v1::ComplaintRecord record;
  std::string history;  // the delimited v1.HistoryEntry messages, oldest first
};

// Varint is `n` in protobuf's base-128 varint encoding.
std::string Varint(uint64_t n) {
  std::string out;
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out;
}

// IdentityAad is the additional authenticated data of a case's sealed identity: it binds the
// ciphertext to the case id, so a sealed identity copied to another case does not open.
std::string IdentityAad(std::string_view id) {
  return absl::StrCat("simpul-complaints/complainant/1\n", AbslView(id));
}

// EncodeIdentity is the identity segment of a case value (layout in the header): the
// complainant sealed under the active key of `pii` (in clear when `pii` is null: tests and
// benchmarks only), preceded by its tag.
std::string EncodeIdentity(const PiiKeyring* pii, std::string_view id,
                           const v1::Complaint& complaint) {
  std::string identity = complaint.complainant().SerializeAsString();
  if (!complaint.attributes().empty()) {
    // The answers to the service's questions are personal too (an application number): sealed
    // with the identity, after it (storage.proto SealedCaseData).
    v1::SealedCaseData extra;
    *extra.mutable_attributes() = complaint.attributes();
    extra.set_no_complainant(!complaint.has_complainant());
    identity += extra.SerializeAsString();
  }
  if (pii != nullptr) identity = pii->Seal(identity, IdentityAad(id));
  return absl::StrCat(Varint(identity.size() + 1), identity);
}

// CaseValue encodes a case (layout in the header): its revision, the identity (sealed), then
// the compressed record (without the identity) and history.
std::string CaseValue(const PiiKeyring* pii, const v1::ComplaintRecord& record,
                      std::string_view history) {
  v1::ComplaintRecord rest = record;
  std::string identity = Varint(0);  // no complainant
  if (rest.complaint().has_complainant() || !rest.complaint().attributes().empty()) {
    identity = EncodeIdentity(pii, record.complaint().id(), rest.complaint());
    rest.mutable_complaint()->clear_complainant();
    rest.mutable_complaint()->clear_attributes();
  }
  return absl::StrCat(record.complaint().revision(), ":", identity,
                      Deflate(absl::StrCat(Delimited(rest), AbslView(history))));
}

// CaseParts locates the parts of a stored case value without decoding them.
struct CaseParts {
  int64_t revision = 0;
  std::string_view head;      // "<revision>:"
  bool has_identity = false;  // the tag is not 0
  std::string_view identity;  // the identity bytes (sealed or, from older versions, in clear)
  std::string_view rest;      // the compressed record and history
};

absl::StatusOr<CaseParts> SplitCase(const std::string& key, std::string_view value) {
  auto malformed = [&key](std::string_view what) {
    return absl::InternalError(absl::StrCat("stored case at key ", key, " ", AbslView(what)));
  };
  CaseParts out;
  const size_t colon = value.find(':');
  if (colon == std::string::npos || colon > 20 ||
      !absl::SimpleAtoi(absl::string_view(value.data(), colon), &out.revision)) {
    return malformed("has no revision");
  }
  out.head = value.substr(0, colon + 1);
  const std::string_view rest = value.substr(colon + 1);
  google::protobuf::io::CodedInputStream head(reinterpret_cast<const uint8_t*>(rest.data()),
                                              static_cast<int>(rest.size()));
  uint64_t identity_tag = 0;
  if (!head.ReadVarint64(&identity_tag) ||
      identity_tag > rest.size() - static_cast<size_t>(head.CurrentPosition())) {
    return malformed("has no identity field");
  }
  const size_t identity_start = static_cast<size_t>(head.CurrentPosition());
  const size_t identity_size = identity_tag == 0 ? 0 : static_cast<size_t>(identity_tag - 1);
  out.has_identity = identity_tag != 0;
  out.identity = rest.substr(identity_start, identity_size);
  out.rest = rest.substr(identity_start + identity_size);
  return out;
}

// IsSealedIdentity tells a sealed identity from one an older version stored in clear: a
// sealed value starts with its format version byte 0x01, which no serialized v1.Complainant
// can start with (it would be a field number 0, which protobuf rejects).
bool IsSealedIdentity(std::string_view identity) {
  return !identity.empty() && static_cast<unsigned char>(identity[0]) == PiiKeyring::kFormatVersion;
}

// DecodeIdentity opens (or, for a value in clear, just parses) the identity of case `id` and
// puts the complainant and the sealed answers on `complaint`.
absl::Status DecodeIdentity(const PiiKeyring* pii, const std::string& key, std::string_view id,
                            std::string_view identity, v1::Complaint& complaint) {
  v1::Complainant complainant;
  std::string plain;
  if (IsSealedIdentity(identity)) {
    if (pii == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("stored case at key ", key,
                                                        " holds a sealed identity and no PII key "
                                                        "ring is configured"));
    }
    absl::StatusOr<std::string> opened = pii->Open(identity, IdentityAad(id));
    if (!opened.ok()) {
      return absl::Status(opened.status().code(), absl::StrCat("identity of the case at key ", key,
                                                               ": ", opened.status().message()));
    }
    plain = *std::move(opened);
    identity = plain;
  }
  v1::SealedCaseData extra;
  if (!complainant.ParseFromArray(identity.data(), static_cast<int>(identity.size())) ||
      !extra.ParseFromArray(identity.data(), static_cast<int>(identity.size()))) {
    return absl::InternalError(
        absl::StrCat("stored case at key ", key, " holds a v1.Complainant that cannot be parsed"));
  }
  complainant.DiscardUnknownFields();  // the SealedCaseData fields
  if (!extra.no_complainant()) *complaint.mutable_complainant() = std::move(complainant);
  *complaint.mutable_attributes() = std::move(*extra.mutable_attributes());
  return absl::OkStatus();
}

// DecodeCase parses a stored case value; INTERNAL naming the key when it is malformed (never
// its contents: they hold personal data), the key ring's error when its identity does not
// open.
absl::StatusOr<StoredCase> DecodeCase(const PiiKeyring* pii, const std::string& key,
                                      const std::string& value) {
  auto malformed = [&key](std::string_view what) {
    return absl::InternalError(absl::StrCat("stored case at key ", key, " ", AbslView(what)));
  };
  SIMPUL_ASSIGN_OR_RETURN(CaseParts parts, SplitCase(key, value));
  StoredCase out;
  out.revision = parts.revision;
  std::optional<std::string> plain = Inflate(parts.rest);
  if (!plain) return malformed("cannot be decompressed");
  google::protobuf::io::ArrayInputStream stream(plain->data(), static_cast<int>(plain->size()));
  if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&out.record, &stream, nullptr)) {
    return malformed("holds a v1.ComplaintRecord that cannot be parsed");
  }
  if (parts.has_identity) {
    const std::string id = out.record.complaint().id();
    SIMPUL_RETURN_IF_ERROR(
        DecodeIdentity(pii, key, id, parts.identity, *out.record.mutable_complaint()));
  }
  out.history = plain->substr(static_cast<size_t>(stream.ByteCount()));
  return out;
}

// ReadCase reads and decodes the case at `key`; nullopt when there is none.
absl::StatusOr<std::optional<StoredCase>> ReadCase(RedisPool& pool, const PiiKeyring* pii,
                                                   const std::string& key) {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool.Command({"GET", key}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("GET ", key)));
  if (reply.is_nil()) return std::optional<StoredCase>();
  std::optional<std::string> bytes = ReplyString(reply);
  if (!bytes) return MalformedReply(absl::StrCat("GET ", key));
  SIMPUL_ASSIGN_OR_RETURN(StoredCase stored, DecodeCase(pii, key, *bytes));
  return std::optional<StoredCase>(std::move(stored));
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// IndexScore is the filing time in Unix milliseconds, rounded down.
int64_t IndexScore(const v1::Complaint& complaint) {
  return absl::ToUnixMillis(ToTime(complaint.file_time()));
}

// UpdateScore is the score of a case in the updated index: its update time in Unix
// milliseconds (its filing time when it has none).
int64_t UpdateScore(const v1::Complaint& complaint) {
  if (!complaint.has_update_time()) return IndexScore(complaint);
  return absl::ToUnixMillis(ToTime(complaint.update_time()));
}

// RetentionFloor is the stream id before which acknowledged events may be trimmed: `retention`
// before now; "" (no floor) when retention is not positive.
std::string RetentionFloor(absl::Duration retention) {
  if (retention <= absl::ZeroDuration()) return "";
  return absl::StrCat(std::max<int64_t>(0, absl::ToUnixMillis(absl::Now() - retention)), "-0");
}

// Degrees writes a coordinate with every digit a double holds (StrCat would keep six).
std::string Degrees(double degrees) { return absl::StrFormat("%.17g", degrees); }

// DueScore is `deadline` in Unix milliseconds, rounded up: Due(at) never returns a case whose
// deadline is after `at` (it may return it up to a millisecond late).
int64_t DueScore(absl::Time deadline) {
  int64_t ms = absl::ToUnixMillis(deadline);
  if (absl::FromUnixMillis(ms) < deadline) ++ms;
  return ms;
}

}  // namespace

RedisComplaintStore::RedisComplaintStore(RedisPool* pool, Options options)
    : pool_(pool), options_(std::move(options)) {}

std::string RedisComplaintStore::Key(std::string_view suffix) const {
  return absl::StrCat(options_.key_prefix, AbslView(suffix));
}
std::string RedisComplaintStore::CaseKey(std::string_view id) const {
  return Key(absl::StrCat("c:", AbslView(id)));
}
std::string RedisComplaintStore::IndexKey(std::string_view index) const {
  return Key(absl::StrCat("ix:", AbslView(index)));
}
std::string RedisComplaintStore::IdempotencyKey(std::string_view scope,
                                                std::string_view key) const {
  return Key(absl::StrCat("filed:", scope.size(), ":", AbslView(scope), ":", AbslView(key)));
}
std::string RedisComplaintStore::EventStreamKey() const { return Key("events"); }

absl::StatusOr<CommitResult> RedisComplaintStore::Commit(const CaseWrite& write) {
  const v1::Complaint& after = write.after.complaint();
  const std::string& id = after.id();
  if (id.empty()) return absl::InvalidArgumentError("case write: after.complaint.id is empty");
  int64_t expected = 0;
  if (write.before) {
    const v1::Complaint& before = write.before->complaint();
    if (before.id() != id) {
      return absl::InvalidArgumentError(
          absl::StrCat("case write: before is case ", before.id(), " but after is case ", id));
    }
    expected = before.revision();
    if (expected <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "case write for ", id, ": before revision must be positive, got ", expected));
    }
  }
  if (after.revision() != expected + 1) {
    return absl::InvalidArgumentError(absl::StrCat("case write for ", id,
                                                   ": after revision must be ", expected + 1,
                                                   ", got ", after.revision()));
  }
  if (write.idempotency) {
    if (write.before) {
      return absl::InvalidArgumentError(
          absl::StrCat("case write for ", id, ": an idempotency claim is for filings only"));
    }
    if (write.idempotency->key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("case write for ", id, ": idempotency key is empty"));
    }
    if (write.idempotency->ttl <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("case write for ", id, ": idempotency TTL must be positive"));
    }
  }

  // Index changes: leave the indexes of `before` that `after` is not in, (re)enter every index
  // of `after` (ZADD of an existing member at the same score changes nothing).
  const std::vector<std::string> after_list = IndexesOf(after);
  const std::set<std::string> after_indexes(after_list.begin(), after_list.end());
  std::set<std::string> removed;
  if (write.before) {
    for (const std::string& index : IndexesOf(write.before->complaint())) {
      if (!after_indexes.contains(index)) removed.insert(index);
    }
  }

  // The new value carries the history so far: for a change, read it (the script's revision
  // check makes sure it is still the history of `before` when the value is replaced).
  const std::string case_key = CaseKey(id);
  std::string history;
  if (write.before) {
    SIMPUL_ASSIGN_OR_RETURN(RedisReply stored, pool_->Command({"GET", case_key}));
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(stored, absl::StrCat("GET ", case_key)));
    CommitResult conflict;
    conflict.outcome = CommitResult::Outcome::kConflict;
    if (stored.is_nil()) return conflict;  // current_revision 0: absent
    std::optional<std::string> bytes = ReplyString(stored);
    if (!bytes) return MalformedReply(absl::StrCat("GET ", case_key));
    SIMPUL_ASSIGN_OR_RETURN(StoredCase current, DecodeCase(options_.pii_keys, case_key, *bytes));
    if (current.revision != expected) {
      conflict.current_revision = current.revision;
      return conflict;
    }
    history = std::move(current.history);
  }
  absl::StrAppend(&history, Delimited(write.entry));

  std::vector<std::string> keys = {case_key, Key("due"), EventStreamKey(),
                                   IndexKey(UpdatedIndex())};
  for (const std::string& index : removed) keys.push_back(IndexKey(index));
  for (const std::string& index : after_indexes) keys.push_back(IndexKey(index));
  // Geo indexes (geo.h): the same moves, GEOADD at the case's point.
  const std::vector<std::string> geo_after = GeoIndexesOf(after);
  std::vector<std::string> geo_removed;
  if (write.before) {
    for (const std::string& index : GeoIndexesOf(write.before->complaint())) {
      if (std::find(geo_after.begin(), geo_after.end(), index) == geo_after.end()) {
        geo_removed.push_back(index);
      }
    }
  }
  for (const std::string& index : geo_removed) keys.push_back(IndexKey(index));
  for (const std::string& index : geo_after) keys.push_back(IndexKey(index));
  if (write.idempotency) {
    keys.push_back(IdempotencyKey(write.idempotency->scope, write.idempotency->key));
  }

  const std::optional<absl::Time> deadline = NextDeadline(after);
  int64_t ttl_ms = 0;
  if (write.idempotency) {
    ttl_ms = absl::ToInt64Milliseconds(absl::Ceil(write.idempotency->ttl, absl::Milliseconds(1)));
  }
  std::vector<std::string> args = {
      absl::StrCat(expected),
      CaseValue(options_.pii_keys, write.after, history),
      write.event.SerializeAsString(),
      id,
      absl::StrCat(IndexScore(after)),
      deadline ? absl::StrCat(DueScore(*deadline)) : std::string(),
      absl::StrCat(std::max<int64_t>(options_.stream_max_len, 0)),
      absl::StrCat(removed.size()),
      absl::StrCat(after_indexes.size()),
      write.idempotency ? "1" : "0",
      write.idempotency ? write.idempotency->record.SerializeAsString() : std::string(),
      absl::StrCat(ttl_ms),
      absl::StrCat(UpdateScore(after)),
      RetentionFloor(options_.event_retention),
      absl::StrCat(geo_removed.size()),
      absl::StrCat(geo_after.size()),
      Degrees(after.location().longitude()),
      Degrees(after.location().latitude()),
  };

  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->EvalWrite(LuaScript<kLuaKeyTypeError, kCommitLua>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("commit of case ", id)));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
    return MalformedReply("complaint commit script");
  }
  std::optional<int64_t> outcome = ReplyInt(reply.elements[0]);
  CommitResult result;
  if (outcome == 1) {
    std::optional<std::string> cursor = ReplyString(reply.elements[1]);
    if (!cursor) return MalformedReply("complaint commit script");
    result.outcome = CommitResult::Outcome::kCommitted;
    result.event_cursor = std::move(*cursor);
    return result;
  }
  if (outcome == 0) {
    std::optional<int64_t> current = ReplyInt(reply.elements[1]);
    if (!current) {
      return absl::InternalError(
          absl::StrCat("stored revision at key ", keys[0], " is not a number"));
    }
    result.outcome = CommitResult::Outcome::kConflict;
    result.current_revision = *current;
    return result;
  }
  if (outcome == 2) {
    std::optional<std::string> stored = ReplyString(reply.elements[1]);
    if (!stored) return MalformedReply("complaint commit script");
    SIMPUL_ASSIGN_OR_RETURN(result.replay,
                            ParseStored<v1::IdempotencyRecord>(keys.back(), *stored));
    result.outcome = CommitResult::Outcome::kIdempotentReplay;
    return result;
  }
  return MalformedReply("complaint commit script");
}

absl::StatusOr<std::optional<v1::ComplaintRecord>> RedisComplaintStore::Get(std::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(std::optional<StoredCase> stored,
                          ReadCase(*pool_, options_.pii_keys, CaseKey(id)));
  if (!stored) return std::optional<v1::ComplaintRecord>();
  return std::optional<v1::ComplaintRecord>(std::move(stored->record));
}

absl::StatusOr<std::vector<v1::HistoryEntry>> RedisComplaintStore::History(std::string_view id) {
  const std::string key = CaseKey(id);
  SIMPUL_ASSIGN_OR_RETURN(std::optional<StoredCase> stored,
                          ReadCase(*pool_, options_.pii_keys, key));
  std::vector<v1::HistoryEntry> entries;
  if (!stored) return entries;
  const std::string& bytes = stored->history;
  google::protobuf::io::ArrayInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
  while (stream.ByteCount() < static_cast<int64_t>(bytes.size())) {
    v1::HistoryEntry entry;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&entry, &stream, nullptr)) {
      return absl::InternalError(
          absl::StrCat("stored ", v1::HistoryEntry::descriptor()->full_name(), " #", entries.size(),
                       " at key ", key, " cannot be parsed"));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::optional<v1::IdempotencyRecord>> RedisComplaintStore::GetIdempotency(
    std::string_view scope, std::string_view key) {
  const std::string redis_key = IdempotencyKey(scope, key);
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"GET", redis_key}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("GET ", redis_key)));
  if (reply.is_nil()) return std::optional<v1::IdempotencyRecord>();
  std::optional<std::string> bytes = ReplyString(reply);
  if (!bytes) return MalformedReply(absl::StrCat("GET ", redis_key));
  SIMPUL_ASSIGN_OR_RETURN(v1::IdempotencyRecord record,
                          ParseStored<v1::IdempotencyRecord>(redis_key, *bytes));
  return std::optional<v1::IdempotencyRecord>(std::move(record));
}

std::string RedisComplaintStore::ScanPattern(std::string_view suffix) const {
  std::string pattern;
  for (char ch : options_.key_prefix) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') pattern.push_back('\\');
    pattern.push_back(ch);
  }
  absl::StrAppend(&pattern, AbslView(suffix));
  return pattern;
}

absl::StatusOr<std::vector<std::string>> RedisComplaintStore::ScanPage(const std::string& pattern,
                                                                       int count,
                                                                       std::string* cursor) {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"SCAN", *cursor, "MATCH", pattern,
                                                            "COUNT", absl::StrCat(count)}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("SCAN MATCH ", pattern)));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2 ||
      reply.elements[1].type != RedisReply::Type::kArray) {
    return MalformedReply("SCAN");
  }
  std::optional<std::string> next = ReplyString(reply.elements[0]);
  if (!next) return MalformedReply("SCAN");
  std::vector<std::string> keys;
  for (const RedisReply& element : reply.elements[1].elements) {
    std::optional<std::string> key = ReplyString(element);
    if (!key) return MalformedReply("SCAN");
    keys.push_back(std::move(*key));
  }
  *cursor = std::move(*next);
  return keys;
}

absl::StatusOr<int64_t> RedisComplaintStore::DropLegacyIdempotencyRecords() {
  // One complete pass is enough (nothing writes the old layout any more, and records an older
  // replica wrote during a rolling upgrade expire with their TTL): a marker spares every later
  // start a SCAN of the whole keyspace.
  const std::string done_key = absl::StrCat(options_.key_prefix, "migrated:idem-v2");
  SIMPUL_ASSIGN_OR_RETURN(RedisReply done, pool_->Command({"EXISTS", done_key}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(done, "EXISTS of the idempotency migration marker"));
  if (ReplyInt(done).value_or(0) == 1) return 0;
  const std::string pattern = ScanPattern("idem:*");
  int64_t dropped = 0;
  std::string cursor = "0";
  do {
    SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> keys, ScanPage(pattern, 1000, &cursor));
    std::vector<std::string> unlink = {"UNLINK"};
    for (std::string& key : keys) unlink.push_back(std::move(key));
    if (unlink.size() == 1) continue;
    SIMPUL_ASSIGN_OR_RETURN(RedisReply removed, pool_->Command(unlink));
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(removed, "UNLINK of legacy idempotency records"));
    dropped += ReplyInt(removed).value_or(0);
  } while (cursor != "0");
  SIMPUL_ASSIGN_OR_RETURN(RedisReply marked, pool_->Command({"SET", done_key, "1"}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(marked, "SET of the idempotency migration marker"));
  return dropped;
}

absl::StatusOr<std::string> RedisComplaintStore::RekeyIdentities(std::string_view cursor, int count,
                                                                 RekeyStats* stats) {
  const PiiKeyring* pii = options_.pii_keys;
  if (pii == nullptr) {
    return absl::FailedPreconditionError("re-encryption needs a PII key ring");
  }
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(count));
  std::string next(cursor);
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                          ScanPage(ScanPattern("c:*"), count, &next));
  for (const std::string& key : keys) {
    ++stats->scanned;
    // A value that changes between the read and the write is read again: a commit rewrote
    // it (under the active key), so the second look usually finds it current.
    bool done = false;
    for (int attempt = 0; attempt < 3 && !done; ++attempt) {
      SIMPUL_ASSIGN_OR_RETURN(RedisReply got, pool_->Command({"GET", key}));
      if (got.is_nil()) {  // deleted in between
        done = true;
        break;
      }
      std::optional<std::string> value = ReplyString(got);
      if (got.type == RedisReply::Type::kError || !value) {
        stats->failures.push_back(absl::StrCat(key, ": not a case value of this layout"));
        done = true;
        break;
      }
      absl::StatusOr<CaseParts> parts = SplitCase(key, *value);
      if (!parts.ok()) {
        stats->failures.push_back(std::string(parts.status().message()));
        done = true;
        break;
      }
      if (!parts->has_identity) {
        ++stats->no_identity;
        done = true;
        break;
      }
      const bool sealed = IsSealedIdentity(parts->identity);
      if (sealed) {
        absl::StatusOr<std::string> key_id = PiiKeyring::KeyIdOf(parts->identity);
        if (key_id.ok() && *key_id == pii->active_key_id()) {
          ++stats->current;
          done = true;
          break;
        }
      }
      // The id comes from the record itself: the identity's AAD is the id it was sealed for.
      absl::StatusOr<StoredCase> decoded = DecodeCase(pii, key, *value);
      if (!decoded.ok()) {
        stats->failures.push_back(std::string(decoded.status().message()));
        done = true;
        break;
      }
      const v1::Complaint& complaint = decoded->record.complaint();
      const std::string replaced =
          absl::StrCat(AbslView(parts->head), EncodeIdentity(pii, complaint.id(), complaint),
                       AbslView(parts->rest));
      SIMPUL_ASSIGN_OR_RETURN(RedisReply swapped,
                              pool_->Eval(LuaScript<kReplaceLua>(), {key}, {*value, replaced}));
      SIMPUL_RETURN_IF_ERROR(ErrorFromReply(swapped, absl::StrCat("re-encryption of ", key)));
      if (ReplyInt(swapped).value_or(0) == 1) {
        ++(sealed ? stats->rotated : stats->sealed);
        done = true;
      }
    }
    if (!done) ++stats->raced;
  }
  return next;
}

absl::StatusOr<std::vector<RedisComplaintStore::PositionedId>> RedisComplaintStore::FindPositions(
    const std::vector<std::string>& index_keys, int64_t from_ms, int64_t to_ms,
    const std::optional<IndexPosition>& after, int limit, bool* exhausted) {
  std::vector<std::string> args = {absl::StrCat(from_ms), absl::StrCat(to_ms)};
  if (after) {
    args.insert(args.end(), {"1", absl::StrCat(after->file_time_ms), after->id});
  } else {
    args.insert(args.end(), {"0", "0", ""});
  }
  args.push_back(absl::StrCat(limit));
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      pool_->Eval(LuaScript<kLuaBytewiseLess, kLuaRankAfter, kFindLua>(), index_keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("scan of ", index_keys.front())));
  return ParsePositions(reply, index_keys, exhausted);
}

absl::StatusOr<std::vector<RedisComplaintStore::PositionedId>> RedisComplaintStore::ParsePositions(
    const RedisReply& reply, const std::vector<std::string>& index_keys, bool* exhausted) {
  std::optional<PairsPage> page = ReplyPairsPage(reply);
  if (!page) return MalformedReply("complaint scan script");
  *exhausted = page->flag == 1;
  std::vector<PositionedId> found;
  const std::vector<RedisReply>& items = *page->items;
  for (size_t i = 0; i < items.size(); i += 2) {
    std::optional<std::string> id = ReplyString(items[i]);
    std::optional<int64_t> score = ReplyScore(items[i + 1]);
    if (!id || !score) {
      return absl::InternalError(
          absl::StrCat("index ", absl::StrJoin(index_keys, ", "), " holds a malformed entry"));
    }
    found.push_back({*score, std::move(*id)});
  }
  return found;
}

absl::StatusOr<std::vector<std::optional<v1::ComplaintRecord>>> RedisComplaintStore::FetchIndexed(
    const std::vector<std::string>& index_keys, const std::vector<PositionedId>& found) {
  std::vector<std::string> keys = index_keys;
  std::vector<std::string> args = {absl::StrCat(index_keys.size())};
  for (const PositionedId& p : found) {
    keys.push_back(CaseKey(p.id));
    args.push_back(p.id);
    args.push_back(absl::StrCat(p.score));
  }
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Eval(LuaScript<kFetchLua>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("fetch from ", index_keys.front())));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != found.size()) {
    return MalformedReply("complaint fetch script");
  }
  std::vector<std::optional<v1::ComplaintRecord>> records(found.size());
  for (size_t i = 0; i < found.size(); ++i) {
    const RedisReply& element = reply.elements[i];
    if (element.is_nil()) continue;
    std::optional<std::string> bytes = ReplyString(element);
    if (!bytes) return MalformedReply("complaint fetch script");
    const std::string& case_key = keys[index_keys.size() + i];
    SIMPUL_ASSIGN_OR_RETURN(StoredCase stored, DecodeCase(options_.pii_keys, case_key, *bytes));
    records[i] = std::move(stored.record);
    if (records[i]->complaint().id() != found[i].id) {
      return absl::InternalError(
          absl::StrCat("stored record at key ", case_key, " holds another case"));
    }
  }
  return records;
}

absl::StatusOr<std::vector<IndexedRecord>> RedisComplaintStore::FetchPages(
    const std::vector<std::string>& index_keys, const FindFunction& find,
    const std::optional<IndexPosition>& after, int limit) {
  std::vector<IndexedRecord> out;
  // Entries whose record changed between the two steps are skipped, so the page is topped up
  // from the last entry seen until it is full or the window ends. Every round moves forward.
  std::optional<IndexPosition> position = after;
  while (static_cast<int>(out.size()) < limit) {
    bool exhausted = false;
    SIMPUL_ASSIGN_OR_RETURN(std::vector<PositionedId> found,
                            find(position, limit - static_cast<int>(out.size()), &exhausted));
    if (found.empty()) break;
    SIMPUL_ASSIGN_OR_RETURN(std::vector<std::optional<v1::ComplaintRecord>> records,
                            FetchIndexed(index_keys, found));
    for (size_t i = 0; i < found.size(); ++i) {
      if (!records[i]) continue;
      out.push_back(IndexedRecord{IndexPosition{found[i].score, found[i].id}, *records[i]});
    }
    if (exhausted) break;
    position = IndexPosition{found.back().score, found.back().id};
  }
  return out;
}

absl::StatusOr<std::vector<IndexedRecord>> RedisComplaintStore::Scan(
    std::string_view index, int64_t from_ms, int64_t to_ms,
    const std::optional<IndexPosition>& after, int limit) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  if (from_ms >= to_ms) return std::vector<IndexedRecord>();
  std::vector<std::string> index_keys;
  for (const std::string& part : IndexParts(index)) index_keys.push_back(IndexKey(part));
  return FetchPages(
      index_keys,
      [&](const std::optional<IndexPosition>& position, int n, bool* exhausted) {
        return FindPositions(index_keys, from_ms, to_ms, position, n, exhausted);
      },
      after, limit);
}

absl::StatusOr<std::vector<IndexedRecord>> RedisComplaintStore::ScanArea(
    std::string_view geo_index, const GeoArea& area, std::string_view order_index, int64_t from_ms,
    int64_t to_ms, const std::optional<IndexPosition>& after, int limit) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  if (from_ms >= to_ms) return std::vector<IndexedRecord>();
  const std::vector<std::string> keys = {IndexKey(geo_index), IndexKey(order_index)};
  const GeoSearchShape shape = SearchShapeOf(area);
  auto find = [&](const std::optional<IndexPosition>& position, int n,
                  bool* exhausted) -> absl::StatusOr<std::vector<PositionedId>> {
    std::vector<std::string> args = {Degrees(shape.longitude),
                                     Degrees(shape.latitude),
                                     shape.radius_m > 0 ? Degrees(shape.radius_m) : std::string(),
                                     Degrees(shape.width_m),
                                     Degrees(shape.height_m),
                                     absl::StrCat(from_ms),
                                     absl::StrCat(to_ms)};
    if (position) {
      args.insert(args.end(), {"1", absl::StrCat(position->file_time_ms), position->id});
    } else {
      args.insert(args.end(), {"0", "0", ""});
    }
    args.push_back(absl::StrCat(n));
    args.push_back(absl::StrCat(std::max<int64_t>(0, options_.area_max_cases)));
    SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                            pool_->Eval(LuaScript<kLuaBytewiseLess, kAreaLua>(), keys, args));
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("area scan of ", keys[0])));
    if (reply.type == RedisReply::Type::kArray && !reply.elements.empty() &&
        ReplyInt(reply.elements[0]) == -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("the area holds more than ", options_.area_max_cases,
                       " located cases this list may see; narrow it (a smaller box or radius)"));
    }
    return ParsePositions(reply, {keys[0]}, exhausted);
  };
  // The records are fetched re-checked against the order index (a case that left it, or
  // whose score moved, in between is skipped).
  return FetchPages({keys[1]}, find, after, limit);
}

absl::StatusOr<std::vector<std::string>> RedisComplaintStore::Due(absl::Time at, int limit) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  std::string max;
  if (at == absl::InfiniteFuture()) {
    max = "+inf";
  } else if (at == absl::InfinitePast()) {
    max = "-inf";
  } else {
    max = absl::StrCat(absl::ToUnixMillis(at));
  }
  const std::string key = Key("due");
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"ZRANGEBYSCORE", key, "-inf", max,
                                                            "LIMIT", "0", absl::StrCat(limit)}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("ZRANGEBYSCORE ", key)));
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("ZRANGEBYSCORE");
  std::vector<std::string> ids;
  ids.reserve(reply.elements.size());
  for (const RedisReply& element : reply.elements) {
    std::optional<std::string> id = ReplyString(element);
    if (!id) return MalformedReply("ZRANGEBYSCORE");
    ids.push_back(std::move(*id));
  }
  return ids;
}

namespace {

// ParseEventId reads a stream id "<ms>-<seq>" ("0" is 0-0).
std::optional<std::pair<uint64_t, uint64_t>> ParseEventId(std::string_view text) {
  if (text == "0") return std::make_pair(uint64_t{0}, uint64_t{0});
  const size_t dash = text.find('-');
  auto digits = [](std::string_view part) {
    return !part.empty() && part.size() <= 20 &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (dash == std::string_view::npos || !digits(text.substr(0, dash)) ||
      !digits(text.substr(dash + 1))) {
    return std::nullopt;
  }
  std::pair<uint64_t, uint64_t> id;
  if (!absl::SimpleAtoi(AbslView(text.substr(0, dash)), &id.first) ||
      !absl::SimpleAtoi(AbslView(text.substr(dash + 1)), &id.second)) {
    return std::nullopt;
  }
  return id;
}

// StreamRange is what ReadEvents needs from XINFO STREAM (an absent stream is empty).
struct StreamRange {
  std::pair<uint64_t, uint64_t> last_generated{0, 0};
  std::pair<uint64_t, uint64_t> max_deleted{0, 0};
};

absl::StatusOr<StreamRange> ParseStreamRange(const RedisReply& reply, std::string_view key) {
  StreamRange range;
  if (reply.is_error()) {
    if (reply.str.find("no such key") != std::string::npos) return range;
    return ErrorFromReply(reply, absl::StrCat("XINFO STREAM ", AbslView(key)));
  }
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("XINFO STREAM");
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    std::optional<std::string> name = ReplyString(reply.elements[i]);
    if (!name) continue;
    std::pair<uint64_t, uint64_t>* target = nullptr;
    if (*name == "last-generated-id") target = &range.last_generated;
    if (*name == "max-deleted-entry-id") target = &range.max_deleted;
    if (target == nullptr) continue;
    std::optional<std::string> value = ReplyString(reply.elements[i + 1]);
    auto id = value ? ParseEventId(*value) : std::nullopt;
    if (!id) return MalformedReply(absl::StrCat("XINFO STREAM ", AbslView(key), " (", *name, ")"));
    *target = *id;
  }
  return range;
}

std::string FormatEventId(const std::pair<uint64_t, uint64_t>& id) {
  return absl::StrCat(id.first, "-", id.second);
}

// ParseStreamEvents turns an XREAD reply into events with their cursors.
absl::StatusOr<std::vector<FeedEvent>> ParseStreamEvents(const RedisReply& reply,
                                                         const std::string& key) {
  std::vector<FeedEvent> events;
  if (reply.is_nil()) return events;
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("XREAD");
  for (const RedisReply& stream : reply.elements) {
    if (stream.type != RedisReply::Type::kArray || stream.elements.size() != 2 ||
        stream.elements[1].type != RedisReply::Type::kArray) {
      return MalformedReply("XREAD");
    }
    for (const RedisReply& entry : stream.elements[1].elements) {
      if (entry.type != RedisReply::Type::kArray || entry.elements.size() != 2 ||
          entry.elements[1].type != RedisReply::Type::kArray) {
        return MalformedReply("XREAD");
      }
      std::optional<std::string> id = ReplyString(entry.elements[0]);
      if (!id) return MalformedReply("XREAD");
      const RedisReply& fields = entry.elements[1];
      std::optional<std::string> payload;
      for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        if (ReplyString(fields.elements[i]) == "e") payload = ReplyString(fields.elements[i + 1]);
      }
      if (!payload) return MalformedReply(absl::StrCat("XREAD ", key, " entry ", *id));
      FeedEvent event;
      event.cursor = *id;
      SIMPUL_ASSIGN_OR_RETURN(event.event, ParseStored<v1::ComplaintEvent>(
                                               key, *payload, absl::StrCat(" (entry ", *id, ")")));
      events.push_back(std::move(event));
    }
  }
  return events;
}

}  // namespace

absl::StatusOr<std::vector<FeedEvent>> RedisComplaintStore::ReadEvents(
    std::string_view after_cursor, int limit, absl::Duration block) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  const auto after = ParseEventId(after_cursor);
  if (!after) {
    return absl::InvalidArgumentError(
        absl::StrCat("cursor must be \"0\" or an event cursor \"<ms>-<seq>\", got \"",
                     AbslView(after_cursor), "\""));
  }
  const bool from_oldest = after_cursor == "0";
  const std::string cursor(after_cursor);
  const std::string key = EventStreamKey();
  SIMPUL_ASSIGN_OR_RETURN(RedisConnection conn, pool_->Acquire());

  // One atomic step reads the events and the stream's trimmed and generated range, so a
  // trimming right after the read cannot be mistaken for a missed one.
  auto read_atomically = [&]() -> absl::StatusOr<std::vector<FeedEvent>> {
    SIMPUL_ASSIGN_OR_RETURN(
        std::vector<RedisReply> replies,
        conn.Pipeline({{"MULTI"},
                       {"XINFO", "STREAM", key},
                       {"XREAD", "COUNT", absl::StrCat(limit), "STREAMS", key, cursor},
                       {"EXEC"}}));
    if (replies.size() != 4) return MalformedReply("MULTI/EXEC");
    for (size_t i = 0; i < 3; ++i) SIMPUL_RETURN_IF_ERROR(ErrorFromReply(replies[i], "MULTI/EXEC"));
    const RedisReply& exec = replies[3];
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(exec, "EXEC"));
    if (exec.type != RedisReply::Type::kArray || exec.elements.size() != 2) {
      return MalformedReply("EXEC");
    }
    SIMPUL_ASSIGN_OR_RETURN(StreamRange range, ParseStreamRange(exec.elements[0], key));
    if (!from_oldest) {
      if (*after < range.max_deleted) {
        return absl::OutOfRangeError(absl::StrCat(
            "events after cursor ", cursor,
            " were trimmed from the complaint event stream "
            "(trimmed up to ",
            FormatEventId(range.max_deleted),
            "); reconcile with ListComplaints updated_since and watch again from the cursor "
            "the new watch starts at"));
      }
      if (range.last_generated < *after) {
        return absl::OutOfRangeError(absl::StrCat(
            "cursor ", cursor, " is ahead of the complaint event stream (newest event ",
            FormatEventId(range.last_generated), ")"));
      }
    }
    const RedisReply& read = exec.elements[1];
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(read, "XREAD"));
    return ParseStreamEvents(read, key);
  };

  SIMPUL_ASSIGN_OR_RETURN(std::vector<FeedEvent> events, read_atomically());
  if (!events.empty() || block <= absl::ZeroDuration()) return events;

  const int64_t block_ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(block, absl::Milliseconds(1))));
  SIMPUL_RETURN_IF_ERROR(
      conn.SetCommandTimeout(absl::Milliseconds(block_ms) + pool_->options().command_timeout));
  SIMPUL_ASSIGN_OR_RETURN(RedisReply waited,
                          conn.Command({"XREAD", "COUNT", "1", "BLOCK", absl::StrCat(block_ms),
                                        "STREAMS", key, cursor}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(waited, "XREAD BLOCK"));
  if (waited.is_nil()) return events;
  return read_atomically();
}

absl::StatusOr<std::string> RedisComplaintStore::LatestEventCursor() {
  const std::string key = EventStreamKey();
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"XINFO", "STREAM", key}));
  SIMPUL_ASSIGN_OR_RETURN(StreamRange range, ParseStreamRange(reply, key));
  return FormatEventId(range.last_generated);
}

absl::StatusOr<int64_t> RedisComplaintStore::BackfillOnce(
    std::string_view marker, const BackfillEach& each,
    const std::function<absl::Status()>& end_of_page) {
  const std::string done_key = Key(absl::StrCat("migrated:", AbslView(marker)));
  SIMPUL_ASSIGN_OR_RETURN(RedisReply done, pool_->Command({"EXISTS", done_key}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(done, absl::StrCat("EXISTS ", done_key)));
  if (ReplyInt(done).value_or(0) == 1) return 0;
  const std::string pattern = ScanPattern("c:*");
  int64_t seen = 0;
  std::string cursor = "0";
  do {
    SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> keys, ScanPage(pattern, 500, &cursor));
    for (const std::string& key : keys) {
      SIMPUL_ASSIGN_OR_RETURN(RedisReply value, pool_->Command({"GET", key}));
      if (value.is_nil() || value.is_error()) continue;  // deleted, or not a case value
      std::optional<std::string> bytes = ReplyString(value);
      if (!bytes) continue;
      // Only the record is needed: the identity is not opened.
      SIMPUL_ASSIGN_OR_RETURN(CaseParts parts, SplitCase(key, *bytes));
      std::optional<std::string> plain = Inflate(parts.rest);
      if (!plain)
        return absl::InternalError(
            absl::StrCat("stored case at key ", key, " cannot be decompressed"));
      v1::ComplaintRecord record;
      google::protobuf::io::ArrayInputStream stream(plain->data(), static_cast<int>(plain->size()));
      if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&record, &stream, nullptr)) {
        return absl::InternalError(absl::StrCat(
            "stored case at key ", key, " holds a v1.ComplaintRecord that cannot be parsed"));
      }
      ++seen;
      SIMPUL_RETURN_IF_ERROR(each(key, parts.revision, record));
    }
    SIMPUL_RETURN_IF_ERROR(end_of_page());
  } while (cursor != "0");
  SIMPUL_ASSIGN_OR_RETURN(RedisReply marked, pool_->Command({"SET", done_key, "1"}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(marked, absl::StrCat("SET ", done_key)));
  return seen;
}

absl::StatusOr<int64_t> RedisComplaintStore::BackfillUpdatedIndex() {
  const std::string index_key = IndexKey(UpdatedIndex());
  std::vector<std::string> zadd = {"ZADD", index_key, "GT"};
  return BackfillOnce(
      "upd-index",
      [&](const std::string&, int64_t, const v1::ComplaintRecord& record) {
        zadd.push_back(absl::StrCat(UpdateScore(record.complaint())));
        zadd.push_back(record.complaint().id());
        return absl::OkStatus();
      },
      [&]() -> absl::Status {
        if (zadd.size() == 3) return absl::OkStatus();
        SIMPUL_ASSIGN_OR_RETURN(RedisReply added, pool_->Command(zadd));
        SIMPUL_RETURN_IF_ERROR(ErrorFromReply(added, absl::StrCat("ZADD ", index_key)));
        zadd.resize(3);
        return absl::OkStatus();
      });
}

absl::StatusOr<int64_t> RedisComplaintStore::BackfillGeoIndex() {
  int64_t entered = 0;
  SIMPUL_ASSIGN_OR_RETURN(
      int64_t seen,
      BackfillOnce(
          "geo-index",
          [&](const std::string& case_key, int64_t revision,
              const v1::ComplaintRecord& record) -> absl::Status {
            const v1::Complaint& c = record.complaint();
            const std::vector<std::string> indexes = GeoIndexesOf(c);
            if (indexes.empty()) return absl::OkStatus();
            std::vector<std::string> keys = {case_key};
            for (const std::string& index : indexes) keys.push_back(IndexKey(index));
            SIMPUL_ASSIGN_OR_RETURN(
                RedisReply reply,
                pool_->Eval(LuaScript<kGeoBackfillLua>(), keys,
                            {absl::StrCat(revision), Degrees(c.location().longitude()),
                             Degrees(c.location().latitude()), c.id()}));
            SIMPUL_RETURN_IF_ERROR(
                ErrorFromReply(reply, absl::StrCat("geo index backfill of ", case_key)));
            entered += ReplyInt(reply).value_or(0);
            return absl::OkStatus();
          },
          [] { return absl::OkStatus(); }));
  (void)seen;
  return entered;
}

}  // namespace simpul::complaints
