// RedisRegistryStore: objects, indexes and the change feed in Redis (key layout in the header).
#include "services/registry/redis_store.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/status.h"

namespace simpul::registry {
namespace {

// Ids examined per run of the search script, so one call never holds Redis for long; the
// C++ side runs the script again from where it stopped.
constexpr int kScanPerCall = 1000;
// Ids read per ZRANGEBYLEX inside the search script.
constexpr int kScanBatch = 100;

// kCommitLua commits: KEYS = [feed, object keys (n), index keys...];
// ARGV = [n, feed max len (0: no trimming), trim slack, event pb,
//         n x (expected revision, new revision, object pb),
//         op count, op count x ("a" ZADD | "r" ZREM, KEYS position, score, member)].
// Returns {0, conflict index (0-based), current revision} without writing anything, or
// {1, stream id} after writing.
// Trimming: Redis 7.0 does not advance the stream's max-deleted-entry-id when XADD MAXLEN or
// XTRIM remove entries (only XDEL does), so the script trims itself: once the feed exceeds
// max len + slack it removes the oldest entries down to max len with XTRIM MINID and records
// the newest removed id with XSETID ... MAXDELETEDID, which ReadChanges compares cursors with.
constexpr char kCommitLua[] = R"lua(
local n = tonumber(ARGV[1])
for i = 1, n do
  local cur = redis.call('HGET', KEYS[i + 1], 'rev') or '0'
  if cur ~= ARGV[3 * i + 2] then
    return {0, i - 1, cur}
  end
end
for i = 1, n do
  redis.call('HSET', KEYS[i + 1], 'rev', ARGV[3 * i + 3], 'pb', ARGV[3 * i + 4])
end
local base = 3 * n + 5
local nops = tonumber(ARGV[base])
for j = 0, nops - 1 do
  local o = base + 1 + 4 * j
  local key = KEYS[tonumber(ARGV[o + 1])]
  if ARGV[o] == 'a' then
    redis.call('ZADD', key, ARGV[o + 2], ARGV[o + 3])
  else
    redis.call('ZREM', key, ARGV[o + 3])
  end
end
local feed = KEYS[1]
local id = redis.call('XADD', feed, '*', 'v', '1', 'pb', ARGV[4])
local max_len = tonumber(ARGV[2])
if max_len > 0 then
  local len = redis.call('XLEN', feed)
  if len > max_len + tonumber(ARGV[3]) then
    local drop = len - max_len
    local head = redis.call('XRANGE', feed, '-', '+', 'COUNT', drop + 1)
    redis.call('XTRIM', feed, 'MINID', head[drop + 1][1])
    redis.call('XSETID', feed, id, 'MAXDELETEDID', head[drop][1])
  end
end
return {1, id}
)lua";

// kFetchLua reads objects: KEYS = object hashes. Returns one {rev, pb} pair (nil, nil when absent)
// per key, all read at one point in time.
constexpr char kFetchLua[] = R"lua(
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('HMGET', KEYS[i], 'rev', 'pb')
end
return out
)lua";

// kSearchLua finds ids: KEYS = the index keys of every group, group after group;
// ARGV = [after id ("" from the start), limit, max ids examined, batch, group count,
//         keys per group...].
// An id matches when, for every group, it is in at least one of the group's keys. The group
// with the smallest total ZCARD drives the walk: its keys are merged in id order from the
// after id and every id is checked against the other groups with ZSCORE. Returns
// {exhausted (1 when the driving index ended), last examined id, matching ids}.
// Lua's `<` on strings follows the server's collation locale, so ids are compared bytewise
// by hand, the order ZRANGEBYLEX uses.
constexpr char kSearchLua[] = R"lua(
local after = ARGV[1]
local limit = tonumber(ARGV[2])
local max_scan = tonumber(ARGV[3])
local batch = tonumber(ARGV[4])
local ngroups = tonumber(ARGV[5])
local groups, cards = {}, {}
local k = 1
for g = 1, ngroups do
  local keys, card = {}, 0
  for j = 1, tonumber(ARGV[5 + g]) do
    keys[j] = KEYS[k]
    k = k + 1
    card = card + redis.call('ZCARD', keys[j])
  end
  groups[g], cards[g] = keys, card
end
local driver = 1
for g = 2, ngroups do
  if cards[g] < cards[driver] then driver = g end
end
local dkeys = groups[driver]
local start = '-'
if after ~= '' then start = '(' .. after end
local buf, pos, more = {}, {}, {}
for i = 1, #dkeys do
  buf[i] = redis.call('ZRANGEBYLEX', dkeys[i], start, '+', 'LIMIT', 0, batch)
  pos[i] = 1
  more[i] = #buf[i] == batch
end
local out, scanned, last, exhausted = {}, 0, after, 0
while #out < limit and scanned < max_scan do
  local best = nil
  for i = 1, #dkeys do
    if pos[i] > #buf[i] and more[i] then
      buf[i] = redis.call('ZRANGEBYLEX', dkeys[i], '(' .. buf[i][#buf[i]], '+', 'LIMIT', 0, batch)
      pos[i] = 1
      more[i] = #buf[i] == batch
    end
    if pos[i] <= #buf[i] and (best == nil or less(buf[i][pos[i]], buf[best][pos[best]])) then
      best = i
    end
  end
  if best == nil then
    exhausted = 1
    break
  end
  local id = buf[best][pos[best]]
  for i = 1, #dkeys do
    if pos[i] <= #buf[i] and buf[i][pos[i]] == id then pos[i] = pos[i] + 1 end
  end
  scanned = scanned + 1
  last = id
  local ok = true
  for g = 1, ngroups do
    if g ~= driver then
      local found = false
      for _, key in ipairs(groups[g]) do
        if redis.call('ZSCORE', key, id) then
          found = true
          break
        end
      end
      if not found then
        ok = false
        break
      end
    end
  end
  if ok then out[#out + 1] = id end
end
return {exhausted, last, out}
)lua";

// kReviewDueLua lists review-due ids: KEYS = [review-due zset];
// ARGV = [before day (exclusive), limit, has after ("1"/"0"), after day, after id].
// Members are ordered by (score, id); the first position strictly after (after day, after id)
// is found by binary search over the ranks of the after day's members (rank_after, from
// kLuaRankAfter after kLuaBytewiseLess). Returns
// {exhausted, id, score, id, score...} with scores below the before day.
constexpr char kReviewDueLua[] = R"lua(
local key = KEYS[1]
local before = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local start = 0
if ARGV[3] == '1' then start = rank_after(key, ARGV[4], ARGV[5]) end
local items = redis.call('ZRANGE', key, start, start + limit - 1, 'WITHSCORES')
local out = {}
local exhausted = 0
if #items < 2 * limit then exhausted = 1 end
for i = 1, #items, 2 do
  if tonumber(items[i + 1]) >= before then
    exhausted = 1
    break
  end
  out[#out + 1] = items[i]
  out[#out + 1] = items[i + 1]
end
return {exhausted, out}
)lua";

// FeedTrimSlack is how far the feed may grow past its max length before the oldest events are
// removed in one batch (up to 1%, at most 100), so trimming is not paid on every commit.
int64_t FeedTrimSlack(int64_t max_len) { return std::min<int64_t>(100, max_len / 100); }

absl::Status CheckReply(const RedisReply& reply, std::string_view what) {
  if (reply.is_error()) return ErrorFromReply(reply, what);
  return absl::OkStatus();
}

std::string_view ObjectId(const v1::ChangedObject& object) {
  switch (object.object_case()) {
    case v1::ChangedObject::kAgency:
      return object.agency().id();
    case v1::ChangedObject::kUnit:
      return object.unit().id();
    case v1::ChangedObject::kService:
      return object.service().id();
    case v1::ChangedObject::kStandardVersion:
      return object.standard_version().id();
    case v1::ChangedObject::kMaklumat:
      return object.maklumat().id();
    case v1::ChangedObject::OBJECT_NOT_SET:
      break;
  }
  return {};
}

int64_t ObjectRevision(const v1::ChangedObject& object) {
  switch (object.object_case()) {
    case v1::ChangedObject::kAgency:
      return object.agency().revision();
    case v1::ChangedObject::kUnit:
      return object.unit().revision();
    case v1::ChangedObject::kService:
      return object.service().revision();
    case v1::ChangedObject::kStandardVersion:
      return object.standard_version().revision();
    case v1::ChangedObject::kMaklumat:
      return object.maklumat().revision();
    case v1::ChangedObject::OBJECT_NOT_SET:
      break;
  }
  return 0;
}

std::string SerializeObject(const v1::ChangedObject& object) {
  switch (object.object_case()) {
    case v1::ChangedObject::kAgency:
      return object.agency().SerializeAsString();
    case v1::ChangedObject::kUnit:
      return object.unit().SerializeAsString();
    case v1::ChangedObject::kService:
      return object.service().SerializeAsString();
    case v1::ChangedObject::kStandardVersion:
      return object.standard_version().SerializeAsString();
    case v1::ChangedObject::kMaklumat:
      return object.maklumat().SerializeAsString();
    case v1::ChangedObject::OBJECT_NOT_SET:
      break;
  }
  return {};
}

// ParseAs parses `pb` into the member of `out` named by `object_case`.
bool ParseAs(v1::ChangedObject::ObjectCase object_case, const std::string& pb,
             v1::ChangedObject* out) {
  switch (object_case) {
    case v1::ChangedObject::kAgency:
      return out->mutable_agency()->ParseFromString(pb);
    case v1::ChangedObject::kUnit:
      return out->mutable_unit()->ParseFromString(pb);
    case v1::ChangedObject::kService:
      return out->mutable_service()->ParseFromString(pb);
    case v1::ChangedObject::kStandardVersion:
      return out->mutable_standard_version()->ParseFromString(pb);
    case v1::ChangedObject::kMaklumat:
      return out->mutable_maklumat()->ParseFromString(pb);
    case v1::ChangedObject::OBJECT_NOT_SET:
      break;
  }
  return false;
}

bool HasRegionPrefix(std::string_view region_code, std::string_view prefix) {
  if (prefix.empty()) return true;
  for (const std::string& p : RegionPrefixes(region_code)) {
    if (p == prefix) return true;
  }
  return false;
}

template <typename T>
absl::StatusOr<T> ParseStored(const std::string& key, const std::string& pb) {
  T message;
  if (!message.ParseFromString(pb)) {
    return absl::InternalError(absl::StrCat("stored ", T::descriptor()->full_name(), " at key ",
                                            key, " cannot be parsed"));
  }
  return message;
}

// StreamId is a parsed stream entry id (milliseconds, sequence).
using StreamId = std::pair<uint64_t, uint64_t>;

std::optional<StreamId> ParseStreamId(std::string_view text) {
  if (text == "0") return StreamId{0, 0};
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view ms = text.substr(0, dash);
  std::string_view seq = text.substr(dash + 1);
  auto digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  StreamId id;
  if (!digits(ms) || !digits(seq) || !absl::SimpleAtoi(AbslView(ms), &id.first) ||
      !absl::SimpleAtoi(AbslView(seq), &id.second)) {
    return std::nullopt;
  }
  return id;
}

// FeedInfo is what ReadChanges needs from XINFO STREAM.
struct FeedInfo {
  StreamId last_generated{0, 0};
  StreamId max_deleted{0, 0};
};

// ParseFeedInfo reads an XINFO STREAM reply; an absent stream is an empty feed.
absl::StatusOr<FeedInfo> ParseFeedInfo(const RedisReply& reply, std::string_view key) {
  FeedInfo info;
  if (reply.is_error()) {
    if (reply.str.find("no such key") != std::string::npos) return info;
    return ErrorFromReply(reply, absl::StrCat("XINFO STREAM ", AbslView(key)));
  }
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("XINFO STREAM");
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    std::optional<std::string> name = ReplyString(reply.elements[i]);
    if (!name) continue;
    StreamId* target = nullptr;
    if (*name == "last-generated-id") target = &info.last_generated;
    if (*name == "max-deleted-entry-id") target = &info.max_deleted;
    if (target == nullptr) continue;
    std::optional<std::string> value = ReplyString(reply.elements[i + 1]);
    std::optional<StreamId> id = value ? ParseStreamId(*value) : std::nullopt;
    if (!id) return MalformedReply(absl::StrCat("XINFO STREAM ", AbslView(key), " (", *name, ")"));
    *target = *id;
  }
  return info;
}

std::string FormatStreamId(const StreamId& id) { return absl::StrCat(id.first, "-", id.second); }

// ParseEvents turns an XREAD reply into change events with their cursors.
absl::StatusOr<std::vector<v1::ChangeEvent>> ParseEvents(const RedisReply& reply,
                                                         const std::string& key) {
  std::vector<v1::ChangeEvent> events;
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
      const std::vector<RedisReply>& fields = entry.elements[1].elements;
      std::optional<std::string> version, pb;
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        std::optional<std::string> name = ReplyString(fields[i]);
        if (name == "v") version = ReplyString(fields[i + 1]);
        if (name == "pb") pb = ReplyString(fields[i + 1]);
      }
      if (version != "1" || !pb) {
        return absl::InternalError(
            absl::StrCat("feed entry ", *id, " at key ", key, " has no version 1 payload"));
      }
      v1::ChangeEvent event;
      if (!event.ParseFromString(*pb)) {
        return absl::InternalError(
            absl::StrCat("feed entry ", *id, " at key ", key, " cannot be parsed"));
      }
      event.set_cursor(*id);
      events.push_back(std::move(event));
    }
  }
  return events;
}

}  // namespace

RedisRegistryStore::RedisRegistryStore(RedisPool* pool, Options options)
    : pool_(pool),
      options_(std::move(options)),
      base_(absl::StrCat(options_.key_prefix, ":{r}:")),
      feed_key_(base_ + "feed") {}

std::string RedisRegistryStore::Key(std::string_view suffix) const {
  return absl::StrCat(base_, AbslView(suffix));
}

std::string RedisRegistryStore::ObjectKey(const v1::ChangedObject& object) const {
  std::string_view id = ObjectId(object);
  switch (object.object_case()) {
    case v1::ChangedObject::kAgency:
      return Key(absl::StrCat("agency:", AbslView(id)));
    case v1::ChangedObject::kUnit:
      return Key(absl::StrCat("unit:", AbslView(id)));
    case v1::ChangedObject::kService:
      return Key(absl::StrCat("service:", AbslView(id)));
    case v1::ChangedObject::kStandardVersion:
      return Key(absl::StrCat("version:", AbslView(id)));
    case v1::ChangedObject::kMaklumat:
      return Key(absl::StrCat("maklumat:", AbslView(id)));
    case v1::ChangedObject::OBJECT_NOT_SET:
      break;
  }
  return {};
}

namespace {

// IndexEntries maps every index key that `object` belongs to (under `base`) to its score
// there; the member is always the object's id.
std::map<std::string, int64_t> IndexEntries(const std::string& base,
                                            const v1::ChangedObject& object) {
  std::map<std::string, int64_t> entries;
  auto add = [&](std::string_view suffix, int64_t score = 0) {
    entries[absl::StrCat(base, AbslView(suffix))] = score;
  };
  switch (object.object_case()) {
    case v1::ChangedObject::kAgency: {
      const v1::Agency& a = object.agency();
      add("ix:agency:all");
      if (a.kind() != v1::AGENCY_KIND_UNSPECIFIED) {
        add(absl::StrCat("ix:agency:kind:", static_cast<int>(a.kind())));
      }
      for (const std::string& p : RegionPrefixes(a.region_code())) {
        add(absl::StrCat("ix:agency:region:", p));
      }
      break;
    }
    case v1::ChangedObject::kUnit: {
      const v1::ServiceUnit& u = object.unit();
      add("ix:unit:all");
      add(absl::StrCat("ix:unit:agency:", u.agency_id()));
      for (const std::string& p : RegionPrefixes(u.region_code())) {
        add(absl::StrCat("ix:unit:region:", p));
      }
      break;
    }
    case v1::ChangedObject::kService: {
      const v1::Service& s = object.service();
      add("ix:service:all");
      add(absl::StrCat("ix:service:agency:", s.agency_id()));
      add(absl::StrCat("ix:service:unit:", s.unit_id()));
      break;
    }
    case v1::ChangedObject::kStandardVersion: {
      const v1::StandardVersion& v = object.standard_version();
      add("ix:version:all");
      add(absl::StrCat("ix:version:agency:", v.agency_id()));
      add(absl::StrCat("ix:version:unit:", v.unit_id()));
      add(absl::StrCat("ix:version:state:", static_cast<int>(v.state())));
      for (const std::string& p : RegionPrefixes(v.region_code())) {
        add(absl::StrCat("ix:version:region:", p));
      }
      for (const std::string& t : KeywordTokens(v)) add(absl::StrCat("ix:version:kw:", t));
      add(absl::StrCat("ix:version:service:", v.service_id()), v.version_number());
      if (v.state() == v1::STANDARD_STATE_ADOPTED && v.has_review_due_date()) {
        int64_t day = DayNumber(v.review_due_date());
        add("ix:version:review_due", day);
        add(absl::StrCat("ix:version:review_due:agency:", v.agency_id()), day);
      }
      break;
    }
    case v1::ChangedObject::kMaklumat: {
      const v1::Maklumat& m = object.maklumat();
      add(absl::StrCat("ix:maklumat:unit:", m.unit_id()), m.version_number());
      break;
    }
    case v1::ChangedObject::OBJECT_NOT_SET:
      break;
  }
  return entries;
}

}  // namespace

absl::StatusOr<std::vector<RedisRegistryStore::FetchedObject>> RedisRegistryStore::FetchObjects(
    const std::vector<std::string>& keys) {
  std::vector<FetchedObject> out;
  if (keys.empty()) return out;
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Eval(LuaScript<kFetchLua>(), keys, {}));
  SIMPUL_RETURN_IF_ERROR(CheckReply(reply, "registry fetch script"));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != keys.size()) {
    return MalformedReply("registry fetch script");
  }
  out.resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const RedisReply& pair = reply.elements[i];
    if (pair.type != RedisReply::Type::kArray || pair.elements.size() != 2) {
      return MalformedReply("registry fetch script");
    }
    if (pair.elements[0].is_nil() && pair.elements[1].is_nil()) continue;
    std::optional<int64_t> rev = ReplyInt(pair.elements[0]);
    std::optional<std::string> pb = ReplyString(pair.elements[1]);
    if (!rev || !pb) {
      return absl::InternalError(
          absl::StrCat("stored object at key ", keys[i], " lacks a valid rev or pb field"));
    }
    out[i].revision = *rev;
    out[i].pb = std::move(pb);
  }
  return out;
}

absl::StatusOr<CommitResult> RedisRegistryStore::Commit(const std::vector<ObjectWrite>& writes,
                                                        v1::ChangeEvent event) {
  std::vector<std::string> object_keys;
  std::set<std::string> seen;
  for (size_t i = 0; i < writes.size(); ++i) {
    const ObjectWrite& w = writes[i];
    std::string where = absl::StrCat("writes[", i, "]");
    if (w.object.object_case() == v1::ChangedObject::OBJECT_NOT_SET) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": no object set"));
    }
    if (ObjectId(w.object).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": object has no id"));
    }
    if (w.expected_revision < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected_revision must be >= 0, got ", w.expected_revision));
    }
    if (ObjectRevision(w.object) != w.expected_revision + 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": object revision must be expected_revision + 1 = ", w.expected_revision + 1,
          ", got ", ObjectRevision(w.object)));
    }
    std::string key = ObjectKey(w.object);
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": object ", AbslView(ObjectId(w.object)), " is written twice"));
    }
    object_keys.push_back(std::move(key));
  }

  // The index entries to remove are those of the state read here; the script only writes if
  // every revision is still the expected one, i.e. the state read here is the one replaced.
  SIMPUL_ASSIGN_OR_RETURN(std::vector<FetchedObject> current, FetchObjects(object_keys));
  CommitResult result;
  for (size_t i = 0; i < writes.size(); ++i) {
    if (current[i].revision != writes[i].expected_revision) {
      result.conflict_index = static_cast<int>(i);
      result.current_revision = current[i].revision;
      return result;
    }
  }

  std::vector<std::string> keys = {feed_key_};
  keys.insert(keys.end(), object_keys.begin(), object_keys.end());
  std::map<std::string, int> key_position;  // index key -> 1-based position in KEYS
  auto position_of = [&](const std::string& key) {
    auto [it, inserted] = key_position.emplace(key, static_cast<int>(keys.size()) + 1);
    if (inserted) keys.push_back(key);
    return it->second;
  };
  std::vector<std::string> ops;  // 4 arguments per operation
  int op_count = 0;
  event.clear_cursor();
  event.clear_objects();
  const int64_t max_len = std::max<int64_t>(options_.feed_max_len, 0);
  std::vector<std::string> args = {absl::StrCat(writes.size()), absl::StrCat(max_len),
                                   absl::StrCat(FeedTrimSlack(max_len)), ""};
  for (size_t i = 0; i < writes.size(); ++i) {
    const ObjectWrite& w = writes[i];
    std::map<std::string, int64_t> before;
    if (current[i].pb) {
      v1::ChangedObject old;
      if (!ParseAs(w.object.object_case(), *current[i].pb, &old)) {
        return absl::InternalError(
            absl::StrCat("stored object at key ", object_keys[i], " cannot be parsed"));
      }
      before = IndexEntries(base_, old);
    }
    std::map<std::string, int64_t> after = IndexEntries(base_, w.object);
    std::string id(ObjectId(w.object));
    for (const auto& [key, score] : before) {
      if (after.contains(key)) continue;
      ops.insert(ops.end(), {"r", absl::StrCat(position_of(key)), "0", id});
      ++op_count;
    }
    for (const auto& [key, score] : after) {
      auto old = before.find(key);
      if (old != before.end() && old->second == score) continue;
      ops.insert(ops.end(), {"a", absl::StrCat(position_of(key)), absl::StrCat(score), id});
      ++op_count;
    }
    args.push_back(absl::StrCat(w.expected_revision));
    args.push_back(absl::StrCat(w.expected_revision + 1));
    args.push_back(SerializeObject(w.object));
    *event.add_objects() = w.object;
  }
  args[3] = event.SerializeAsString();
  args.push_back(absl::StrCat(op_count));
  args.insert(args.end(), std::make_move_iterator(ops.begin()), std::make_move_iterator(ops.end()));

  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->EvalWrite(LuaScript<kCommitLua>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(CheckReply(reply, "registry commit script"));
  if (reply.type != RedisReply::Type::kArray || reply.elements.empty()) {
    return MalformedReply("registry commit script");
  }
  std::optional<int64_t> committed = ReplyInt(reply.elements[0]);
  if (committed == 1 && reply.elements.size() == 2) {
    std::optional<std::string> cursor = ReplyString(reply.elements[1]);
    if (!cursor) return MalformedReply("registry commit script");
    result.committed = true;
    result.cursor = *cursor;
    return result;
  }
  if (committed == 0 && reply.elements.size() == 3) {
    std::optional<int64_t> index = ReplyInt(reply.elements[1]);
    std::optional<int64_t> revision = ReplyInt(reply.elements[2]);
    if (!index || !revision) return MalformedReply("registry commit script");
    result.conflict_index = static_cast<int>(*index);
    result.current_revision = *revision;
    return result;
  }
  return MalformedReply("registry commit script");
}

template <typename T>
absl::StatusOr<std::optional<T>> RedisRegistryStore::GetObject(const std::string& key) {
  SIMPUL_ASSIGN_OR_RETURN(std::vector<FetchedObject> fetched, FetchObjects({key}));
  if (!fetched[0].pb) return std::optional<T>();
  SIMPUL_ASSIGN_OR_RETURN(T message, ParseStored<T>(key, *fetched[0].pb));
  return std::optional<T>(std::move(message));
}

absl::StatusOr<std::optional<v1::Agency>> RedisRegistryStore::GetAgency(std::string_view id) {
  return GetObject<v1::Agency>(Key(absl::StrCat("agency:", AbslView(id))));
}

absl::StatusOr<std::optional<v1::ServiceUnit>> RedisRegistryStore::GetUnit(std::string_view id) {
  return GetObject<v1::ServiceUnit>(Key(absl::StrCat("unit:", AbslView(id))));
}

absl::StatusOr<std::optional<v1::Service>> RedisRegistryStore::GetService(std::string_view id) {
  return GetObject<v1::Service>(Key(absl::StrCat("service:", AbslView(id))));
}

absl::StatusOr<std::optional<v1::StandardVersion>> RedisRegistryStore::GetStandardVersion(
    std::string_view id) {
  return GetObject<v1::StandardVersion>(Key(absl::StrCat("version:", AbslView(id))));
}

absl::StatusOr<std::optional<v1::Maklumat>> RedisRegistryStore::GetMaklumat(std::string_view id) {
  return GetObject<v1::Maklumat>(Key(absl::StrCat("maklumat:", AbslView(id))));
}

absl::StatusOr<std::vector<std::string>> RedisRegistryStore::FindIds(
    const std::vector<IdGroup>& groups, const std::string& all_key, const std::string& after_id,
    int limit, bool* exhausted, std::string* last_seen) {
  std::vector<std::string> keys;
  std::vector<std::string> args = {after_id, absl::StrCat(limit), absl::StrCat(kScanPerCall),
                                   absl::StrCat(kScanBatch)};
  if (groups.empty()) {
    keys.push_back(all_key);
    args.insert(args.end(), {"1", "1"});
  } else {
    args.push_back(absl::StrCat(groups.size()));
    for (const IdGroup& group : groups) {
      args.push_back(absl::StrCat(group.size()));
      keys.insert(keys.end(), group.begin(), group.end());
    }
  }
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->Eval(LuaScript<kLuaBytewiseLess, kSearchLua>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(CheckReply(reply, "registry search script"));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 3 ||
      reply.elements[2].type != RedisReply::Type::kArray) {
    return MalformedReply("registry search script");
  }
  std::optional<int64_t> done = ReplyInt(reply.elements[0]);
  std::optional<std::string> last = ReplyString(reply.elements[1]);
  if (!done || !last) return MalformedReply("registry search script");
  *exhausted = *done == 1;
  *last_seen = std::move(*last);
  std::vector<std::string> ids;
  for (const RedisReply& element : reply.elements[2].elements) {
    std::optional<std::string> id = ReplyString(element);
    if (!id) return MalformedReply("registry search script");
    ids.push_back(std::move(*id));
  }
  return ids;
}

template <typename T, typename KeyFn, typename MatchFn>
absl::StatusOr<std::vector<T>> RedisRegistryStore::ListByIds(const std::vector<IdGroup>& groups,
                                                             const std::string& all_key,
                                                             std::string_view after_id, int limit,
                                                             KeyFn key_of, MatchFn matches) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  std::vector<T> out;
  std::string position(after_id);
  while (static_cast<int>(out.size()) < limit) {
    bool exhausted = false;
    std::string last_seen;
    SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                            FindIds(groups, all_key, position, limit - static_cast<int>(out.size()),
                                    &exhausted, &last_seen));
    std::vector<std::string> keys;
    for (const std::string& id : ids) keys.push_back(key_of(id));
    SIMPUL_ASSIGN_OR_RETURN(std::vector<FetchedObject> fetched, FetchObjects(keys));
    for (size_t i = 0; i < ids.size(); ++i) {
      // An id without its object or no longer matching changed after the index walk.
      if (!fetched[i].pb) continue;
      SIMPUL_ASSIGN_OR_RETURN(T message, ParseStored<T>(keys[i], *fetched[i].pb));
      if (message.id() != ids[i] || !matches(message)) continue;
      out.push_back(std::move(message));
    }
    if (exhausted) break;
    position = std::move(last_seen);
  }
  return out;
}

absl::StatusOr<std::vector<v1::Agency>> RedisRegistryStore::ListAgencies(const AgencyFilter& filter,
                                                                         std::string_view after_id,
                                                                         int limit) {
  std::vector<IdGroup> groups;
  if (!filter.region_code_prefix.empty()) {
    groups.push_back({Key(absl::StrCat("ix:agency:region:", filter.region_code_prefix))});
  }
  if (filter.kind != v1::AGENCY_KIND_UNSPECIFIED) {
    groups.push_back({Key(absl::StrCat("ix:agency:kind:", static_cast<int>(filter.kind)))});
  }
  return ListByIds<v1::Agency>(
      groups, Key("ix:agency:all"), after_id, limit,
      [&](const std::string& id) { return Key(absl::StrCat("agency:", AbslView(id))); },
      [&](const v1::Agency& a) {
        return (filter.kind == v1::AGENCY_KIND_UNSPECIFIED || a.kind() == filter.kind) &&
               HasRegionPrefix(a.region_code(), filter.region_code_prefix);
      });
}

absl::StatusOr<std::vector<v1::ServiceUnit>> RedisRegistryStore::ListUnits(
    const UnitFilter& filter, std::string_view after_id, int limit) {
  std::vector<IdGroup> groups;
  if (!filter.agency_id.empty()) {
    groups.push_back({Key(absl::StrCat("ix:unit:agency:", filter.agency_id))});
  }
  if (!filter.region_code_prefix.empty()) {
    groups.push_back({Key(absl::StrCat("ix:unit:region:", filter.region_code_prefix))});
  }
  return ListByIds<v1::ServiceUnit>(
      groups, Key("ix:unit:all"), after_id, limit,
      [&](const std::string& id) { return Key(absl::StrCat("unit:", AbslView(id))); },
      [&](const v1::ServiceUnit& u) {
        return (filter.agency_id.empty() || u.agency_id() == filter.agency_id) &&
               HasRegionPrefix(u.region_code(), filter.region_code_prefix);
      });
}

absl::StatusOr<std::vector<v1::Service>> RedisRegistryStore::ListServices(
    const ServiceFilter& filter, std::string_view after_id, int limit) {
  std::vector<IdGroup> groups;
  if (!filter.agency_id.empty()) {
    groups.push_back({Key(absl::StrCat("ix:service:agency:", filter.agency_id))});
  }
  if (!filter.unit_id.empty()) {
    groups.push_back({Key(absl::StrCat("ix:service:unit:", filter.unit_id))});
  }
  return ListByIds<v1::Service>(
      groups, Key("ix:service:all"), after_id, limit,
      [&](const std::string& id) { return Key(absl::StrCat("service:", AbslView(id))); },
      [&](const v1::Service& s) {
        return (filter.agency_id.empty() || s.agency_id() == filter.agency_id) &&
               (filter.unit_id.empty() || s.unit_id() == filter.unit_id);
      });
}

absl::StatusOr<std::vector<v1::StandardVersion>> RedisRegistryStore::SearchStandards(
    const StandardQuery& query, std::string_view after_id, int limit) {
  std::vector<IdGroup> groups;
  if (!query.agency_id.empty()) {
    groups.push_back({Key(absl::StrCat("ix:version:agency:", query.agency_id))});
  }
  if (!query.unit_id.empty()) {
    groups.push_back({Key(absl::StrCat("ix:version:unit:", query.unit_id))});
  }
  if (!query.region_code_prefix.empty()) {
    groups.push_back({Key(absl::StrCat("ix:version:region:", query.region_code_prefix))});
  }
  const std::set<int> states(query.states.begin(), query.states.end());
  if (!states.empty()) {
    IdGroup group;
    for (int state : states) group.push_back(Key(absl::StrCat("ix:version:state:", state)));
    groups.push_back(std::move(group));
  }
  const std::set<std::string> tokens(query.keyword_tokens.begin(), query.keyword_tokens.end());
  for (const std::string& token : tokens) {
    groups.push_back({Key(absl::StrCat("ix:version:kw:", token))});
  }
  return ListByIds<v1::StandardVersion>(
      groups, Key("ix:version:all"), after_id, limit,
      [&](const std::string& id) { return Key(absl::StrCat("version:", AbslView(id))); },
      [&](const v1::StandardVersion& v) {
        if (!query.agency_id.empty() && v.agency_id() != query.agency_id) return false;
        if (!query.unit_id.empty() && v.unit_id() != query.unit_id) return false;
        if (!HasRegionPrefix(v.region_code(), query.region_code_prefix)) return false;
        if (!states.empty() && !states.contains(static_cast<int>(v.state()))) return false;
        if (tokens.empty()) return true;
        std::vector<std::string> own = KeywordTokens(v);
        return std::includes(own.begin(), own.end(), tokens.begin(), tokens.end());
      });
}

template <typename T, typename KeyFn>
absl::StatusOr<std::vector<T>> RedisRegistryStore::ListByNumber(const std::string& index_key,
                                                                int after_number, int limit,
                                                                KeyFn key_of) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply, pool_->Command({"ZRANGEBYSCORE", index_key, absl::StrCat("(", after_number),
                                        "+inf", "LIMIT", "0", absl::StrCat(limit)}));
  SIMPUL_RETURN_IF_ERROR(CheckReply(reply, absl::StrCat("ZRANGEBYSCORE ", index_key)));
  if (reply.type != RedisReply::Type::kArray) return MalformedReply("ZRANGEBYSCORE");
  std::vector<std::string> keys;
  for (const RedisReply& element : reply.elements) {
    std::optional<std::string> id = ReplyString(element);
    if (!id) return MalformedReply("ZRANGEBYSCORE");
    keys.push_back(key_of(*id));
  }
  SIMPUL_ASSIGN_OR_RETURN(std::vector<FetchedObject> fetched, FetchObjects(keys));
  std::vector<T> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!fetched[i].pb) {
      return absl::InternalError(
          absl::StrCat("index ", index_key, " names missing object ", keys[i]));
    }
    SIMPUL_ASSIGN_OR_RETURN(T message, ParseStored<T>(keys[i], *fetched[i].pb));
    out.push_back(std::move(message));
  }
  return out;
}

absl::StatusOr<std::vector<v1::StandardVersion>> RedisRegistryStore::ListServiceVersions(
    std::string_view service_id, int after_number, int limit) {
  return ListByNumber<v1::StandardVersion>(
      Key(absl::StrCat("ix:version:service:", AbslView(service_id))), after_number, limit,
      [&](const std::string& id) { return Key(absl::StrCat("version:", AbslView(id))); });
}

absl::StatusOr<std::vector<v1::Maklumat>> RedisRegistryStore::ListUnitMaklumat(
    std::string_view unit_id, int after_number, int limit) {
  return ListByNumber<v1::Maklumat>(
      Key(absl::StrCat("ix:maklumat:unit:", AbslView(unit_id))), after_number, limit,
      [&](const std::string& id) { return Key(absl::StrCat("maklumat:", AbslView(id))); });
}

absl::StatusOr<std::vector<v1::StandardVersion>> RedisRegistryStore::ListReviewDue(
    std::string_view agency_id, int64_t before_day, const std::optional<ReviewDueKey>& after,
    int limit) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  const std::string index_key =
      agency_id.empty() ? Key("ix:version:review_due")
                        : Key(absl::StrCat("ix:version:review_due:agency:", AbslView(agency_id)));
  auto is_after = [](const ReviewDueKey& a, const ReviewDueKey& b) {
    return a.due_day > b.due_day || (a.due_day == b.due_day && a.id > b.id);
  };
  std::vector<v1::StandardVersion> out;
  std::optional<ReviewDueKey> position = after;
  while (static_cast<int>(out.size()) < limit) {
    std::vector<std::string> args = {absl::StrCat(before_day),
                                     absl::StrCat(limit - static_cast<int>(out.size()))};
    if (position) {
      args.insert(args.end(), {"1", absl::StrCat(position->due_day), position->id});
    } else {
      args.insert(args.end(), {"0", "0", ""});
    }
    SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                            pool_->Eval(LuaScript<kLuaBytewiseLess, kLuaRankAfter, kReviewDueLua>(),
                                        {index_key}, args));
    SIMPUL_RETURN_IF_ERROR(CheckReply(reply, "registry review-due script"));
    std::optional<PairsPage> page = ReplyPairsPage(reply);
    if (!page) return MalformedReply("registry review-due script");
    std::vector<ReviewDueKey> found;
    std::vector<std::string> keys;
    const std::vector<RedisReply>& items = *page->items;
    for (size_t i = 0; i < items.size(); i += 2) {
      std::optional<std::string> id = ReplyString(items[i]);
      std::optional<int64_t> day = ReplyScore(items[i + 1]);
      if (!id || !day) return MalformedReply("registry review-due script");
      keys.push_back(Key(absl::StrCat("version:", *id)));
      found.push_back({*day, std::move(*id)});
    }
    SIMPUL_ASSIGN_OR_RETURN(std::vector<FetchedObject> fetched, FetchObjects(keys));
    for (size_t i = 0; i < found.size(); ++i) {
      if (!fetched[i].pb) continue;
      SIMPUL_ASSIGN_OR_RETURN(v1::StandardVersion v,
                              ParseStored<v1::StandardVersion>(keys[i], *fetched[i].pb));
      // Skip a version that changed after the index read: it is listed at its new position.
      if (v.id() != found[i].id || v.state() != v1::STANDARD_STATE_ADOPTED ||
          !v.has_review_due_date() || DayNumber(v.review_due_date()) != found[i].due_day ||
          found[i].due_day >= before_day || (after && !is_after(found[i], *after)) ||
          (!agency_id.empty() && v.agency_id() != agency_id)) {
        continue;
      }
      out.push_back(std::move(v));
    }
    if (page->flag == 1 || found.empty()) break;
    position = found.back();
  }
  return out;
}

absl::StatusOr<std::vector<v1::ChangeEvent>> RedisRegistryStore::ReadChanges(
    std::string_view after_cursor, int limit, absl::Duration block) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  std::optional<StreamId> after = ParseStreamId(after_cursor);
  if (!after) {
    return absl::InvalidArgumentError(
        absl::StrCat("cursor must be \"0\" or a feed position \"<ms>-<seq>\", got \"",
                     AbslView(after_cursor), "\""));
  }
  const bool from_oldest = after_cursor == "0";
  const std::string cursor(after_cursor);
  SIMPUL_ASSIGN_OR_RETURN(RedisConnection conn, pool_->Acquire());

  // One atomic step reads the events and the feed's trimmed and generated range, so a
  // trimming that happens right after the read cannot be mistaken for a missed one.
  auto read_atomically = [&]() -> absl::StatusOr<std::vector<v1::ChangeEvent>> {
    SIMPUL_ASSIGN_OR_RETURN(
        std::vector<RedisReply> replies,
        conn.Pipeline({{"MULTI"},
                       {"XINFO", "STREAM", feed_key_},
                       {"XREAD", "COUNT", absl::StrCat(limit), "STREAMS", feed_key_, cursor},
                       {"XRANGE", feed_key_, cursor, cursor},
                       {"EXEC"}}));
    if (replies.size() != 5) return MalformedReply("MULTI/EXEC");
    for (size_t i = 0; i < 4; ++i) SIMPUL_RETURN_IF_ERROR(CheckReply(replies[i], "MULTI/EXEC"));
    const RedisReply& exec = replies[4];
    SIMPUL_RETURN_IF_ERROR(CheckReply(exec, "EXEC"));
    if (exec.type != RedisReply::Type::kArray || exec.elements.size() != 3) {
      return MalformedReply("EXEC");
    }
    SIMPUL_ASSIGN_OR_RETURN(FeedInfo info, ParseFeedInfo(exec.elements[0], feed_key_));
    if (!from_oldest) {
      if (*after < info.max_deleted) {
        return absl::OutOfRangeError(absl::StrCat(
            "events after cursor ", cursor, " were trimmed from the change feed (trimmed up to ",
            FormatStreamId(info.max_deleted),
            "); re-read the registry and resume from the "
            "latest cursor"));
      }
      if (info.last_generated < *after) {
        return absl::OutOfRangeError(absl::StrCat("cursor ", cursor,
                                                  " is ahead of the change feed (newest event ",
                                                  FormatStreamId(info.last_generated), ")"));
      }
      // Entries leave the feed only by trimming, which moves max_deleted past them. An event
      // at the cursor that is gone without that was lost with Redis's data (a flush, or a
      // failover to a replica that had not received it), even when newer events have been
      // written since: what the caller built from it may not exist any more.
      const StreamId origin{0, 0};
      const RedisReply& at_cursor = exec.elements[2];
      SIMPUL_RETURN_IF_ERROR(CheckReply(at_cursor, "XRANGE"));
      if (info.max_deleted < *after && origin < *after && at_cursor.elements.empty()) {
        return absl::OutOfRangeError(absl::StrCat(
            "the event at cursor ", cursor,
            " is not in the change feed any more, though nothing was trimmed after it: Redis "
            "lost data (a flush, or a failover to a replica without it); re-read the registry "
            "and resume from the latest cursor"));
      }
    }
    SIMPUL_RETURN_IF_ERROR(CheckReply(exec.elements[1], "XREAD"));
    return ParseEvents(exec.elements[1], feed_key_);
  };

  SIMPUL_ASSIGN_OR_RETURN(std::vector<v1::ChangeEvent> events, read_atomically());
  if (!events.empty() || block <= absl::ZeroDuration()) return events;

  // BLOCK 0 waits without limit, and so does the socket then.
  const bool forever = block == absl::InfiniteDuration();
  const int64_t block_ms =
      forever ? 0
              : std::max<int64_t>(
                    1, absl::ToInt64Milliseconds(absl::Ceil(block, absl::Milliseconds(1))));
  SIMPUL_RETURN_IF_ERROR(conn.SetCommandTimeout(forever ? absl::InfiniteDuration()
                                                        : absl::Milliseconds(block_ms) +
                                                              pool_->options().command_timeout));
  SIMPUL_ASSIGN_OR_RETURN(RedisReply waited,
                          conn.Command({"XREAD", "COUNT", "1", "BLOCK", absl::StrCat(block_ms),
                                        "STREAMS", feed_key_, cursor}));
  SIMPUL_RETURN_IF_ERROR(CheckReply(waited, "XREAD BLOCK"));
  if (waited.is_nil()) return events;
  return read_atomically();
}

absl::StatusOr<std::string> RedisRegistryStore::LatestCursor() {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"XINFO", "STREAM", feed_key_}));
  SIMPUL_ASSIGN_OR_RETURN(FeedInfo info, ParseFeedInfo(reply, feed_key_));
  return FormatStreamId(info.last_generated);
}

}  // namespace simpul::registry
