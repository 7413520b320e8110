// RedisAggregateStore: bucket counters, dedup markers, rankings and open deliveries in Redis
// (key layout in the header).
#include "services/monitoring/redis_store.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/status.h"

namespace simpul::monitoring {
namespace {

// kApplyLib holds the Lua helpers shared by the apply scripts. A contribution is passed as
//   KEYS[k] = dedup key, KEYS[k + 1 .. k + nb] = bucket keys, then nl (0..2) ledger keys:
//             the ledger, then the batch index
//   ARGV[a] = nb, ARGV[a + 1] = ninc, then field and delta per increment, then nl, and when
//             nl > 0: the dedup key as given (the ledger's field "c:<dedup key>"), the ledger
//             entry, the ledger meta ('' none), the ledger's name (the batch index member)
// span returns where the next contribution starts. check returns an error message when
// applying would fail halfway (a key of another type, a counter that is not an integer);
// Redis does not roll a script back, so every check comes before the first write. apply
// writes, unless the dedup key is already set or the ledger is voided, and returns 1 if it did.
constexpr char kApplyLib[] = R"lua(
local function num(s)
  if s == 'inf' or s == '+inf' then return math.huge end
  if s == '-inf' then return -math.huge end
  return tonumber(s)
end
local function span(k, a)
  local nb, ninc = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local nl = tonumber(ARGV[a + 2 + 2 * ninc])
  if nl == 0 then return k + 1 + nb, a + 3 + 2 * ninc end
  return k + 1 + nb + nl, a + 7 + 2 * ninc
end
local function check(k, a)
  local nb, ninc = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  for i = k + 1, k + nb do
    local key = KEYS[i]
    local t = redis.call('TYPE', key)['ok']
    if t == 'hash' then
      for j = 0, ninc - 1 do
        local v = redis.call('HGET', key, ARGV[a + 2 + 2 * j])
        if v and not (#v <= 20 and string.match(v, '^%-?%d+$')) then
          return 'counter at key ' .. key .. ' is not an integer'
        end
      end
    elseif t ~= 'none' then
      return 'WRONGTYPE key ' .. key .. ' holds a ' .. t .. ', not a hash'
    end
  end
  local want = {'hash', 'set'}
  for i = 1, tonumber(ARGV[a + 2 + 2 * ninc]) do
    local key = KEYS[k + nb + i]
    local t = redis.call('TYPE', key)['ok']
    if t ~= 'none' and t ~= want[i] then
      return 'WRONGTYPE key ' .. key .. ' holds a ' .. t .. ', not a ' .. want[i]
    end
  end
  return nil
end
local function apply(k, a, ttl)
  if redis.call('EXISTS', KEYS[k]) == 1 then return 0 end
  local nb, ninc = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local l = a + 2 + 2 * ninc
  local nl = tonumber(ARGV[l])
  local ledger = KEYS[k + nb + 1]
  if nl > 0 and redis.call('HEXISTS', ledger, 'void') == 1 then return 0 end
  for i = k + 1, k + nb do
    for j = 0, ninc - 1 do
      redis.call('HINCRBY', KEYS[i], ARGV[a + 2 + 2 * j], ARGV[a + 3 + 2 * j])
    end
  end
  if ttl == '0' then
    redis.call('SET', KEYS[k], '1')
  else
    redis.call('SET', KEYS[k], '1', 'PX', ttl)
  end
  if nl > 0 then
    redis.call('HSET', ledger, 'c:' .. ARGV[l + 1], ARGV[l + 2])
    if ARGV[l + 3] ~= '' then redis.call('HSETNX', ledger, 'meta', ARGV[l + 3]) end
    if ttl ~= '0' then redis.call('PEXPIRE', ledger, ttl) end
    if nl > 1 then
      redis.call('SADD', KEYS[k + nb + 2], ARGV[l + 4])
      if ttl ~= '0' then redis.call('PEXPIRE', KEYS[k + nb + 2], ttl) end
    end
  end
  return 1
end
)lua";

// kApplyBody applies one contribution: KEYS = [contribution keys]; ARGV = [dedup TTL in ms ("0":
// none), contribution args]. Returns 1 when applied, 0 when the dedup key was already set.
constexpr char kApplyBody[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local err = check(1, 2)
if err then return redis.error_reply(err) end
return apply(1, 2, ARGV[1])
)lua";

// kApplyBatchBody applies a batch of contributions in one script, each as kApplyBody would,
// with one HMGET and one HSET per distinct bucket instead of a HINCRBY per bucket and field of
// every contribution. The caller sums the increments per bucket and field as if every
// contribution were new; when the script skips some (dedup key already set or repeated earlier
// in the batch, ledger voided), it sums again, from the contributions it applies, the buckets
// the skipped ones touch.
//   KEYS = [bucket keys (nb), then the dedup, ledger and batch-index keys named by index below]
//   ARGV = [dedup TTL in ms, np, per profile: m, then m pairs (field, total delta),
//           nb, per bucket: its profile (1..np),
//           nc, per contribution: dedup key index, ledger key index (0: none), batch key index
//           (0: none), dedup key as given, ledger entry, ledger meta, ledger name,
//           its bucket indexes ("1 4 7"), its increments ("<field> <delta> ...")]
// Returns {1 if applied else 0, ...} per contribution. Every check comes before the first write.
constexpr char kApplyBatchBody[] = R"lua(
local ttl, np = ARGV[1], tonumber(ARGV[2])
local pnames, pdeltas = {}, {}  -- per profile: its fields and total deltas
local a = 3
for p = 1, np do
  local names, deltas = {}, {}
  for j = 1, tonumber(ARGV[a]) do
    names[j], deltas[j] = ARGV[a + 2 * j - 1], ARGV[a + 2 * j]
  end
  pnames[p], pdeltas[p] = names, deltas
  a = a + 1 + 2 * #names
end
local nb = tonumber(ARGV[a])
local profile = {}
for b = 1, nb do profile[b] = tonumber(ARGV[a + b]) end
a = a + 1 + nb
local nc = tonumber(ARGV[a])
a = a + 1
local out, items, skipped, taken = {}, {}, {}, {}
local function type_error(key, want)
  return 'WRONGTYPE key ' .. key .. ' holds a ' .. redis.call('TYPE', key)['ok'] ..
         ', not a ' .. want
end
for i = 1, nc do
  local dk, lk = KEYS[tonumber(ARGV[a])], tonumber(ARGV[a + 1])
  local ok = not taken[dk] and redis.call('EXISTS', dk) == 0
  if ok and lk > 0 then
    local v = redis.pcall('HEXISTS', KEYS[lk], 'void')
    if type(v) == 'table' and v.err then return redis.error_reply(type_error(KEYS[lk], 'hash')) end
    ok = v == 0
  end
  if ok then
    taken[dk] = true
    items[#items + 1] = a
    out[i] = 1
  else
    skipped[#skipped + 1] = a
    out[i] = 0
  end
  a = a + 9
end
-- Buckets a skipped contribution touches: their fields and totals from the applied ones only.
local resummed = {}
if #skipped > 0 then
  for _, s in ipairs(skipped) do
    for b in string.gmatch(ARGV[s + 7], '%d+') do resummed[tonumber(b)] = {} end
  end
  for _, it in ipairs(items) do
    for b in string.gmatch(ARGV[it + 7], '%d+') do
      local t = resummed[tonumber(b)]
      if t then
        for f, d in string.gmatch(ARGV[it + 8], '(%S+) (%S+)') do t[f] = (t[f] or 0) + tonumber(d) end
      end
    end
  end
end
local batches = {}
for _, it in ipairs(items) do
  local bk = tonumber(ARGV[it + 2])
  if bk > 0 then
    if not batches[bk] then
      local t = redis.call('TYPE', KEYS[bk])['ok']
      if t ~= 'none' and t ~= 'set' then
        return redis.error_reply('WRONGTYPE key ' .. KEYS[bk] .. ' holds a ' .. t .. ', not a set')
      end
      batches[bk] = {}
    end
    local list = batches[bk]
    list[#list + 1] = ARGV[it + 6]
  end
end
local writes = {}
for b = 1, nb do
  local names, deltas = pnames[profile[b]], pdeltas[profile[b]]
  local t = resummed[b]
  if t then
    names, deltas = {}, {}
    for f, d in pairs(t) do
      names[#names + 1] = f
      deltas[#deltas + 1] = string.format('%.0f', d)
    end
  end
  if #names > 0 then
    local key = KEYS[b]
    local cur = redis.pcall('HMGET', key, unpack(names))
    if cur.err then return redis.error_reply(type_error(key, 'hash')) end
    local set, incr = {}, {}
    for j, name in ipairs(names) do
      local v, d = cur[j], deltas[j]
      if not v then
        set[#set + 1] = name
        set[#set + 1] = d
      elseif not (#v <= 20 and string.match(v, '^%-?%d+$')) then
        return redis.error_reply('counter at key ' .. key .. ' is not an integer')
      elseif #v <= 15 then
        -- |v| < 10^15 and |d| < 2^51 (the caller's bound): the sum is exact in a double
        local text = string.format('%.0f', tonumber(v) + tonumber(d))
        set[#set + 1] = name
        set[#set + 1] = text == '-0' and '0' or text
      else
        incr[#incr + 1] = name
        incr[#incr + 1] = d
      end
    end
    writes[#writes + 1] = {key, set, incr}
  end
end
for _, it in ipairs(items) do
  local dk = KEYS[tonumber(ARGV[it])]
  if ttl == '0' then
    redis.call('SET', dk, '1')
  else
    redis.call('SET', dk, '1', 'PX', ttl)
  end
  local lk = tonumber(ARGV[it + 1])
  if lk > 0 then
    redis.call('HSET', KEYS[lk], 'c:' .. ARGV[it + 3], ARGV[it + 4])
    if ARGV[it + 5] ~= '' then redis.call('HSETNX', KEYS[lk], 'meta', ARGV[it + 5]) end
    if ttl ~= '0' then redis.call('PEXPIRE', KEYS[lk], ttl) end
  end
end
for bk, members in pairs(batches) do
  redis.call('SADD', KEYS[bk], unpack(members))
  if ttl ~= '0' then redis.call('PEXPIRE', KEYS[bk], ttl) end
end
for _, w in ipairs(writes) do
  if #w[2] > 0 then redis.call('HSET', w[1], unpack(w[2])) end
  for j = 1, #w[3], 2 do redis.call('HINCRBY', w[1], w[3][j], w[3][j + 1]) end
end
return out
)lua";

// kSweepReadLua lists up to ARGV[2] applications due by ARGV[1] with their contributions:
// KEYS = [open, open:c]. Returns {key, contribution or nil, key, ...}.
constexpr char kSweepReadLua[] = R"lua(
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0,
                       tonumber(ARGV[2]))
local out = {}
for i, id in ipairs(ids) do
  out[2 * i - 1] = id
  out[2 * i] = redis.call('HGET', KEYS[2], id)
end
return out
)lua";

// kSweepBody sweeps applications read by kSweepReadLua:
//   KEYS = [open, open:c, contribution keys per item (kApplyLib)]
//   ARGV = [at score, dedup TTL in ms, item count, per item: application key, serialized
//           contribution, contribution args]
// An item is swept only if it is still queued, due by `at` and holds the same contribution
// (RemoveOpen or AddOpen may have run since the read). Returns the number swept.
constexpr char kSweepBody[] = R"lua(
local at, ttl, n = num(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local live = {}
local k, a = 3, 4
for i = 1, n do
  local app, blob = ARGV[a], ARGV[a + 1]
  local s = redis.call('ZSCORE', KEYS[1], app)
  if s and num(s) <= at and redis.call('HGET', KEYS[2], app) == blob then
    if redis.call('EXISTS', KEYS[k]) == 0 then
      local err = check(k, a + 2)
      if err then return redis.error_reply(err) end
    end
    live[#live + 1] = {app, k, a + 2}
  end
  k, a = span(k, a + 2)
end
for _, it in ipairs(live) do
  redis.call('ZREM', KEYS[1], it[1])
  redis.call('HDEL', KEYS[2], it[1])
  apply(it[2], it[3], ttl)
end
return #live
)lua";

// kTypesLib: check_types(types) returns an error message unless each KEYS[i] is absent or of
// type types[i].
constexpr char kTypesLib[] = R"lua(
local function check_types(types)
  for i, want in ipairs(types) do
    local t = redis.call('TYPE', KEYS[i])['ok']
    if t ~= 'none' and t ~= want then
      return 'WRONGTYPE key ' .. KEYS[i] .. ' holds a ' .. t .. ', not a ' .. want
    end
  end
  return nil
end
)lua";

// kAddOpenBody applies a receipt and queues its application when the receipt is new:
// KEYS = [open, open:c, receipt keys]; ARGV = [dedup TTL, due score, application key,
// serialized overdue contribution, receipt args]. Returns 1 when the receipt was new.
constexpr char kAddOpenBody[] = R"lua(
local err = check_types({'zset', 'hash'})
if err then return redis.error_reply(err) end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
err = check(3, 5)
if err then return redis.error_reply(err) end
if apply(3, 5, ARGV[1]) == 0 then return 0 end  -- a voided application is not queued again
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return 1
)lua";

// kRemoveOpenBody dequeues an application and applies one of two lists of contributions:
//   KEYS = [open, open:c, keys of each contribution, waiting list first]
//   ARGV = [dedup TTL, application key, waiting count, overdue count, args per contribution]
// The waiting list applies when the application was queued, the overdue list otherwise.
// Returns {1 if it was queued else 0, number of contributions applied}.
constexpr char kRemoveOpenBody[] = R"lua(
local err = check_types({'zset', 'hash'})
if err then return redis.error_reply(err) end
local waiting = redis.call('ZSCORE', KEYS[1], ARGV[2]) ~= false
local nw, no = tonumber(ARGV[3]), tonumber(ARGV[4])
local chosen = {}
local k, a = 3, 5
for i = 1, nw + no do
  if (i <= nw) == waiting then chosen[#chosen + 1] = {k, a} end
  k, a = span(k, a)
end
for _, c in ipairs(chosen) do
  if redis.call('EXISTS', KEYS[c[1]]) == 0 then
    err = check(c[1], c[2])
    if err then return redis.error_reply(err) end
  end
end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
local applied = 0
for _, c in ipairs(chosen) do applied = applied + apply(c[1], c[2], ARGV[1]) end
return {waiting and 1 or 0, applied}
)lua";

// kReplaceStateBody replaces a state record (see AggregateStore::ReplaceState):
//   KEYS = [state key, then the bucket and set keys referenced below]
//   ARGV = [expect ('0': no record, '1': version must equal ARGV[2]), expected version,
//           next version, next data, delta count, per delta: key index, field, delta,
//           membership count, per membership: key index, member, score ('' removes),
//           PX TTL of the state key ('0': none)]
// Returns 1 when replaced, 0 on a version mismatch.
constexpr char kReplaceStateBody[] = R"lua(
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'none' and t ~= 'hash' then
  return redis.error_reply('WRONGTYPE key ' .. KEYS[1] .. ' holds a ' .. t .. ', not a hash')
end
local stored = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '0' then
  if stored then return 0 end
elseif stored ~= ARGV[2] then
  return 0
end
local nd = tonumber(ARGV[5])
local a = 6
for i = 1, nd do
  local key = KEYS[tonumber(ARGV[a])]
  local kt = redis.call('TYPE', key)['ok']
  if kt ~= 'none' and kt ~= 'hash' then
    return redis.error_reply('WRONGTYPE key ' .. key .. ' holds a ' .. kt .. ', not a hash')
  end
  local v = redis.call('HGET', key, ARGV[a + 1])
  if v and not (#v <= 20 and string.match(v, '^%-?%d+$')) then
    return redis.error_reply('counter at key ' .. key .. ' is not an integer')
  end
  a = a + 3
end
local nm = tonumber(ARGV[a])
local m = a + 1
for i = 1, nm do
  local key = KEYS[tonumber(ARGV[m])]
  local kt = redis.call('TYPE', key)['ok']
  if kt ~= 'none' and kt ~= 'zset' then
    return redis.error_reply('WRONGTYPE key ' .. key .. ' holds a ' .. kt .. ', not a zset')
  end
  m = m + 3
end
a = 6
for i = 1, nd do
  redis.call('HINCRBY', KEYS[tonumber(ARGV[a])], ARGV[a + 1], ARGV[a + 2])
  a = a + 3
end
m = a + 1
for i = 1, nm do
  local key = KEYS[tonumber(ARGV[m])]
  if ARGV[m + 2] == '' then
    redis.call('ZREM', key, ARGV[m + 1])
  else
    redis.call('ZADD', key, ARGV[m + 2], ARGV[m + 1])
  end
  m = m + 3
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'd', ARGV[4])
if ARGV[m] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[m]) end
return 1
)lua";

// kSetRanksBody sets scores: KEYS = [distinct ranking keys]; ARGV = per key: the number of
// updates n, then n pairs (score ('' removes the unit), unit), in the order given. Runs of
// additions (and of removals) to one key go to Redis as one ZADD (ZREM).
constexpr char kSetRanksBody[] = R"lua(
local types = {}
for i = 1, #KEYS do types[i] = 'zset' end
local err = check_types(types)
if err then return redis.error_reply(err) end
local a = 1
for i = 1, #KEYS do
  local n = tonumber(ARGV[a])
  a = a + 1
  local run, removing = {}, false
  local function flush()
    if #run == 0 then return end
    if removing then
      redis.call('ZREM', KEYS[i], unpack(run))
    else
      redis.call('ZADD', KEYS[i], unpack(run))
    end
    run = {}
  end
  for j = 1, n do
    local score, unit = ARGV[a], ARGV[a + 1]
    if (score == '') ~= removing or #run >= 1000 then
      flush()
      removing = score == ''
    end
    if removing then
      run[#run + 1] = unit
    else
      run[#run + 1] = score
      run[#run + 1] = unit
    end
    a = a + 2
  end
  flush()
end
return #KEYS
)lua";

// kVoidBody voids an input ledger (AggregateStore::VoidLedger):
//   KEYS = [ledger, open, open:c, keys of each reversal contribution (kApplyLib)]
//   ARGV = [dedup TTL, expected version (the ledger's field count), application key ('' none),
//           void record, reversal count, args per reversal contribution]
// Returns 0 voided, 1 already voided, 2 no ledger, 3 the ledger changed since it was read.
constexpr char kVoidBody[] = R"lua(
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return 2 end
local err = check_types({'hash', 'zset', 'hash'})
if err then return redis.error_reply(err) end
if redis.call('HEXISTS', KEYS[1], 'void') == 1 then return 1 end
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[2]) then return 3 end
local items = {}
local k, a = 4, 6
for i = 1, tonumber(ARGV[5]) do
  if redis.call('EXISTS', KEYS[k]) == 0 then
    err = check(k, a)
    if err then return redis.error_reply(err) end
  end
  items[#items + 1] = {k, a}
  k, a = span(k, a)
end
if ARGV[3] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('HDEL', KEYS[3], ARGV[3])
end
for _, it in ipairs(items) do apply(it[1], it[2], ARGV[1]) end
redis.call('HSET', KEYS[1], 'void', ARGV[4])
if ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 0
)lua";

// kTopRanksLua reads the first ARGV[1] entries of KEYS[1] as {member, score, ...}: ascending
// (ARGV[2] == '1') in Redis order, which breaks ties by member bytewise; or descending, where
// the tie run cut by the limit is completed with its bytewise-smallest members (ZRANGE REV
// would give the largest), so the caller only has to re-sort the page.
constexpr char kTopRanksLua[] = R"lua(
local key, limit = KEYS[1], tonumber(ARGV[1])
if ARGV[2] == '1' then return redis.call('ZRANGE', key, 0, limit - 1, 'WITHSCORES') end
local top = redis.call('ZRANGE', key, 0, limit - 1, 'REV', 'WITHSCORES')
if #top < 2 * limit then return top end
local last = top[#top]
local above = redis.call('ZCOUNT', key, '(' .. last, '+inf')
local out = {}
for i = 1, 2 * above do out[i] = top[i] end
local tail = redis.call('ZRANGE', key, last, last, 'BYSCORE', 'LIMIT', 0, limit - above,
                        'WITHSCORES')
for _, v in ipairs(tail) do out[#out + 1] = v end
return out
)lua";

// kAppendLogBody pushes ARGV[1] onto the list KEYS[1] (newest first).
constexpr char kAppendLogBody[] = R"lua(
local err = check_types({'list'})
if err then return redis.error_reply(err) end
return redis.call('LPUSH', KEYS[1], ARGV[1])
)lua";

// DueScore is `due` in Unix milliseconds, rounded up.
std::string DueScore(absl::Time due) {
  if (due == absl::InfiniteFuture()) return "+inf";
  if (due == absl::InfinitePast()) return "-inf";
  int64_t ms = absl::ToUnixMillis(due);
  if (absl::FromUnixMillis(ms) < due) ++ms;
  return absl::StrCat(ms);
}

// AtScore is `at` in Unix milliseconds, rounded down.
std::string AtScore(absl::Time at) {
  if (at == absl::InfiniteFuture()) return "+inf";
  if (at == absl::InfinitePast()) return "-inf";
  return absl::StrCat(absl::ToUnixMillis(at));
}

void PutString(std::string* out, std::string_view s) {
  absl::StrAppend(out, s.size(), ":", AbslView(s));
}

// Reader takes netstrings off the front of a buffer.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool empty() const { return rest_.empty(); }
  size_t remaining() const { return rest_.size(); }

  std::optional<std::string_view> String() {
    const size_t colon = rest_.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 10) return std::nullopt;
    uint64_t n = 0;
    for (char ch : rest_.substr(0, colon)) {
      if (ch < '0' || ch > '9') return std::nullopt;
      n = n * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (n > rest_.size() - colon - 1) return std::nullopt;
    std::string_view s = rest_.substr(colon + 1, n);
    rest_.remove_prefix(colon + 1 + n);
    return s;
  }

  std::optional<int64_t> Int() {
    std::optional<std::string_view> s = String();
    int64_t v = 0;
    if (!s || !absl::SimpleAtoi(AbslView(*s), &v)) return std::nullopt;
    return v;
  }

 private:
  std::string_view rest_;
};

}  // namespace

RedisAggregateStore::RedisAggregateStore(RedisPool* pool, Options options)
    : pool_(pool), options_(std::move(options)) {}

std::string RedisAggregateStore::Key(std::string_view suffix) const {
  return absl::StrCat(options_.key_prefix, AbslView(suffix));
}
std::string RedisAggregateStore::BucketKey(std::string_view bucket) const {
  return Key(absl::StrCat("b:", AbslView(bucket)));
}
std::string RedisAggregateStore::DedupKey(std::string_view dedup_key) const {
  return Key(absl::StrCat("d:", AbslView(dedup_key)));
}
std::string RedisAggregateStore::RankKey(std::string_view ranking) const {
  return Key(absl::StrCat("rank:", AbslView(ranking)));
}
std::string RedisAggregateStore::LedgerKey(std::string_view ledger) const {
  return Key(absl::StrCat("l:", AbslView(ledger)));
}
std::string RedisAggregateStore::BatchKey(std::string_view batch) const {
  return Key(absl::StrCat("batch:", AbslView(batch)));
}

std::string RedisAggregateStore::DedupTtlMs() const {
  if (options_.dedup_ttl <= absl::ZeroDuration() ||
      options_.dedup_ttl == absl::InfiniteDuration()) {
    return "0";
  }
  return absl::StrCat(
      absl::ToInt64Milliseconds(absl::Ceil(options_.dedup_ttl, absl::Milliseconds(1))));
}

void RedisAggregateStore::AppendContribution(const Contribution& c, std::vector<std::string>* keys,
                                             std::vector<std::string>* args) const {
  keys->push_back(DedupKey(c.dedup_key));
  std::set<std::string_view> seen;
  size_t nb = 0;
  for (const std::string& bucket : c.buckets) {
    if (!seen.insert(bucket).second) continue;
    keys->push_back(BucketKey(bucket));
    ++nb;
  }
  args->push_back(absl::StrCat(nb));
  args->push_back(absl::StrCat(c.increments.size()));
  for (const Increment& inc : c.increments) {
    args->push_back(inc.field);
    args->push_back(absl::StrCat(inc.delta));
  }
  if (c.ledger.key.empty()) {
    args->push_back("0");
    return;
  }
  keys->push_back(LedgerKey(c.ledger.key));
  if (!c.ledger.batch.empty()) keys->push_back(BatchKey(c.ledger.batch));
  args->push_back(c.ledger.batch.empty() ? "1" : "2");
  args->push_back(c.dedup_key);
  args->push_back(SerializeLedgerEntry(c));
  args->push_back(c.ledger.meta);
  args->push_back(c.ledger.key);
}

namespace {

void PutIncrements(std::string* out, const std::vector<Increment>& increments) {
  PutString(out, absl::StrCat(increments.size()));
  for (const Increment& inc : increments) {
    PutString(out, inc.field);
    PutString(out, absl::StrCat(inc.delta));
  }
}

bool ReadIncrements(Reader& r, std::vector<Increment>* out) {
  // Every element takes at least two bytes ("0:"), which bounds the counts.
  std::optional<int64_t> ninc = r.Int();
  if (!ninc || *ninc < 0 || static_cast<uint64_t>(*ninc) > r.remaining() / 4) return false;
  for (int64_t i = 0; i < *ninc; ++i) {
    std::optional<std::string_view> field = r.String();
    std::optional<int64_t> delta = r.Int();
    if (!field || !delta) return false;
    out->push_back(Increment{std::string(*field), *delta});
  }
  return true;
}

bool ReadStrings(Reader& r, std::vector<std::string>* out) {
  std::optional<int64_t> n = r.Int();
  if (!n || *n < 0 || static_cast<uint64_t>(*n) > r.remaining() / 2) return false;
  for (int64_t i = 0; i < *n; ++i) {
    std::optional<std::string_view> s = r.String();
    if (!s) return false;
    out->emplace_back(*s);
  }
  return true;
}

// CrossFactors splits distinct buckets "<scope>|<period>" into scopes × periods (scope-major,
// as aggregates.h Buckets lists them) when they are exactly that product.
std::optional<std::pair<std::vector<std::string>, std::vector<std::string>>> CrossFactors(
    const std::vector<std::string>& buckets) {
  std::vector<std::string> scopes;
  std::vector<std::string> periods;
  for (const std::string& b : buckets) {
    const size_t bar = b.rfind('|');
    if (bar == std::string::npos) return std::nullopt;
    std::string scope = b.substr(0, bar);
    std::string period = b.substr(bar + 1);
    if (scopes.empty() || scopes.back() != scope) scopes.push_back(std::move(scope));
    if (scopes.size() == 1) periods.push_back(std::move(period));
  }
  if (scopes.size() * periods.size() != buckets.size()) return std::nullopt;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] != absl::StrCat(scopes[i / periods.size()], "|", periods[i % periods.size()])) {
      return std::nullopt;
    }
  }
  return std::make_pair(std::move(scopes), std::move(periods));
}

}  // namespace

std::string RedisAggregateStore::SerializeContribution(const Contribution& c) {
  std::string out;
  PutString(&out, "m2");
  PutString(&out, c.dedup_key);
  PutString(&out, absl::StrCat(c.buckets.size()));
  for (const std::string& bucket : c.buckets) PutString(&out, bucket);
  PutIncrements(&out, c.increments);
  PutString(&out, c.ledger.key);
  PutString(&out, c.ledger.meta);
  PutString(&out, c.ledger.batch);
  return out;
}

std::optional<Contribution> RedisAggregateStore::ParseContribution(std::string_view bytes) {
  Reader r(bytes);
  std::optional<std::string_view> version = r.String();
  // m1 (before input ledgers) has no ledger tag.
  if (!version || (*version != "m1" && *version != "m2")) return std::nullopt;
  Contribution c;
  std::optional<std::string_view> dedup = r.String();
  if (!dedup) return std::nullopt;
  c.dedup_key = std::string(*dedup);
  if (!ReadStrings(r, &c.buckets) || !ReadIncrements(r, &c.increments)) return std::nullopt;
  if (*version == "m2") {
    std::optional<std::string_view> key = r.String();
    std::optional<std::string_view> meta = r.String();
    std::optional<std::string_view> batch = r.String();
    if (!key || !meta || !batch) return std::nullopt;
    c.ledger = LedgerTag{std::string(*key), std::string(*meta), std::string(*batch)};
  }
  if (!r.empty()) return std::nullopt;
  return c;
}

std::string RedisAggregateStore::SerializeLedgerEntry(const Contribution& c) {
  // Distinct buckets in order, as applied; a scope × period product is kept as its two factors
  // (a survey response's 7 scopes × 4 periods: 11 names instead of 28).
  std::vector<std::string> buckets;
  std::set<std::string_view> seen;
  for (const std::string& b : c.buckets) {
    if (seen.insert(b).second) buckets.push_back(b);
  }
  std::string out;
  PutString(&out, "e1");
  if (auto factors = CrossFactors(buckets); factors && buckets.size() > 1) {
    PutString(&out, "x");
    for (const auto* list : {&factors->first, &factors->second}) {
      PutString(&out, absl::StrCat(list->size()));
      for (const std::string& s : *list) PutString(&out, s);
    }
  } else {
    PutString(&out, "l");
    PutString(&out, absl::StrCat(buckets.size()));
    for (const std::string& b : buckets) PutString(&out, b);
  }
  PutIncrements(&out, c.increments);
  return out;
}

std::optional<Contribution> RedisAggregateStore::ParseLedgerEntry(std::string_view dedup_key,
                                                                  std::string_view bytes) {
  Reader r(bytes);
  std::optional<std::string_view> version = r.String();
  std::optional<std::string_view> form = r.String();
  if (!version || *version != "e1" || !form) return std::nullopt;
  Contribution c;
  c.dedup_key = std::string(dedup_key);
  if (*form == "x") {
    std::vector<std::string> scopes;
    std::vector<std::string> periods;
    if (!ReadStrings(r, &scopes) || !ReadStrings(r, &periods)) return std::nullopt;
    for (const std::string& scope : scopes) {
      for (const std::string& period : periods)
        c.buckets.push_back(absl::StrCat(scope, "|", period));
    }
  } else if (*form != "l" || !ReadStrings(r, &c.buckets)) {
    return std::nullopt;
  }
  if (!ReadIncrements(r, &c.increments) || !r.empty()) return std::nullopt;
  return c;
}

absl::StatusOr<bool> RedisAggregateStore::Apply(const Contribution& contribution) {
  SIMPUL_RETURN_IF_ERROR(ValidateContribution(contribution, "apply"));
  std::vector<std::string> keys;
  std::vector<std::string> args = {DedupTtlMs()};
  AppendContribution(contribution, &keys, &args);
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->EvalWrite(LuaScript<kApplyLib, kApplyBody>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("apply to ", keys[0])));
  std::optional<int64_t> applied = ReplyInt(reply);
  if (!applied || (*applied != 0 && *applied != 1)) return MalformedReply("apply script");
  return *applied == 1;
}

namespace {

// kDeltaBound bounds the deltas a batch script sums in Lua doubles: with at most
// kMaxIncrements increments in a script, any sum of them stays below 2^51, exact in a double
// (as does its sum with a stored counter of at most 15 digits).
constexpr int64_t kDeltaBound = int64_t{1} << 31;
constexpr size_t kMaxIncrements = size_t{1} << 20;

}  // namespace

absl::StatusOr<std::vector<bool>> RedisAggregateStore::ApplyBatch(
    const std::vector<Contribution>& contributions) {
  for (size_t i = 0; i < contributions.size(); ++i) {
    SIMPUL_RETURN_IF_ERROR(ValidateContribution(contributions[i], absl::StrCat("apply #", i)));
  }
  std::vector<bool> applied;
  applied.reserve(contributions.size());
  const size_t step = static_cast<size_t>(std::max(1, options_.max_batch_script));
  for (size_t begin = 0; begin < contributions.size(); begin += step) {
    const size_t end = std::min(contributions.size(), begin + step);
    SIMPUL_ASSIGN_OR_RETURN(std::vector<bool> part, ApplyChunk(contributions, begin, end));
    applied.insert(applied.end(), part.begin(), part.end());
  }
  return applied;
}

absl::StatusOr<std::vector<bool>> RedisAggregateStore::ApplyChunk(
    const std::vector<Contribution>& contributions, size_t begin, size_t end) {
  // Totals per distinct bucket and field as if every contribution were new. Fields and
  // buckets are numbered in order of appearance (hash maps: a batch has thousands of both).
  absl::flat_hash_map<std::string_view, size_t> field_index;
  std::vector<std::string_view> fields;
  absl::flat_hash_map<std::string_view, size_t> bucket_index;  // bucket -> 0-based position
  std::vector<std::string_view> buckets;
  struct Totals {
    std::vector<int64_t> delta;  // by field number
    std::vector<bool> present;
  };
  std::vector<Totals> totals;
  std::vector<std::string> contribution_buckets(end - begin);     // "1 4 7" (1-based)
  std::vector<std::string> contribution_increments(end - begin);  // "<field> <delta> ..."
  // The script sums in doubles and splits the increments at spaces: anything else goes one
  // contribution per script.
  bool simple = true;
  size_t increments = 0;
  std::vector<std::pair<size_t, int64_t>> resolved;  // field number, delta
  std::vector<size_t> seen;                          // bucket numbers of one contribution
  for (size_t i = begin; i < end && simple; ++i) {
    const Contribution& c = contributions[i];
    increments += c.increments.size();
    if (increments > kMaxIncrements) simple = false;
    std::string& incs = contribution_increments[i - begin];
    resolved.clear();
    for (const Increment& inc : c.increments) {
      if (inc.delta >= kDeltaBound || inc.delta <= -kDeltaBound ||
          inc.field.find_first_of(" \t\n\r\f\v") != std::string::npos) {
        simple = false;
      }
      absl::StrAppend(&incs, incs.empty() ? "" : " ", inc.field, " ", inc.delta);
      auto [it, inserted] = field_index.emplace(inc.field, fields.size());
      if (inserted) fields.push_back(inc.field);
      resolved.emplace_back(it->second, inc.delta);
    }
    seen.clear();
    std::string& list = contribution_buckets[i - begin];
    for (const std::string& bucket : c.buckets) {
      auto [it, inserted] = bucket_index.emplace(bucket, buckets.size());
      if (inserted) {
        buckets.push_back(bucket);
        totals.emplace_back();
      }
      const size_t b = it->second;
      if (std::find(seen.begin(), seen.end(), b) != seen.end()) continue;  // listed twice
      seen.push_back(b);
      absl::StrAppend(&list, list.empty() ? "" : " ", b + 1);
      Totals& t = totals[b];
      if (t.delta.size() < fields.size()) {
        t.delta.resize(fields.size(), 0);
        t.present.resize(fields.size(), false);
      }
      for (const auto& [f, delta] : resolved) {
        t.delta[f] += delta;
        t.present[f] = true;
      }
    }
  }
  if (!simple) {
    std::vector<bool> applied;
    for (size_t i = begin; i < end; ++i) {
      SIMPUL_ASSIGN_OR_RETURN(bool one, Apply(contributions[i]));
      applied.push_back(one);
    }
    return applied;
  }

  std::vector<std::string> keys;
  keys.reserve(buckets.size() + 2 * (end - begin) + 1);
  for (std::string_view bucket : buckets) keys.push_back(BucketKey(bucket));
  absl::flat_hash_map<std::string, size_t>
      other_keys;  // dedup, ledger, batch keys -> KEYS position
  auto key_index = [&](std::string key) {
    auto [it, inserted] = other_keys.emplace(std::move(key), keys.size() + 1);
    if (inserted) keys.push_back(it->first);
    return absl::StrCat(it->second);
  };
  // Buckets with the same totals share them (a unit's month, quarter, semester and year get the
  // same increments from a batch; so do units whose responses were answered alike).
  absl::flat_hash_map<std::string, size_t> profile_index;  // "<field> <delta> ..." -> 1-based
  std::vector<std::string> bucket_profiles;
  bucket_profiles.reserve(totals.size());
  std::vector<std::string> profile_args;
  for (const Totals& t : totals) {
    std::string profile;
    size_t m = 0;
    for (size_t f = 0; f < t.present.size(); ++f) {
      if (!t.present[f]) continue;
      absl::StrAppend(&profile, profile.empty() ? "" : " ", f, " ", t.delta[f]);
      ++m;
    }
    auto [it, inserted] = profile_index.emplace(std::move(profile), profile_index.size() + 1);
    if (inserted) {
      profile_args.push_back(absl::StrCat(m));
      for (size_t f = 0; f < t.present.size(); ++f) {
        if (!t.present[f]) continue;
        profile_args.emplace_back(fields[f]);
        profile_args.push_back(absl::StrCat(t.delta[f]));
      }
    }
    bucket_profiles.push_back(absl::StrCat(it->second));
  }
  std::vector<std::string> args = {DedupTtlMs(), absl::StrCat(profile_index.size())};
  args.reserve(3 + profile_args.size() + bucket_profiles.size() + 9 * (end - begin));
  for (std::string& a : profile_args) args.push_back(std::move(a));
  args.push_back(absl::StrCat(buckets.size()));
  for (std::string& a : bucket_profiles) args.push_back(std::move(a));
  args.push_back(absl::StrCat(end - begin));
  for (size_t i = begin; i < end; ++i) {
    const Contribution& c = contributions[i];
    args.push_back(key_index(DedupKey(c.dedup_key)));
    const bool ledger = !c.ledger.key.empty();
    args.push_back(ledger ? key_index(LedgerKey(c.ledger.key)) : "0");
    args.push_back(ledger && !c.ledger.batch.empty() ? key_index(BatchKey(c.ledger.batch)) : "0");
    args.push_back(c.dedup_key);
    args.push_back(ledger ? SerializeLedgerEntry(c) : std::string());
    args.push_back(c.ledger.meta);
    args.push_back(c.ledger.key);
    args.push_back(std::move(contribution_buckets[i - begin]));
    args.push_back(std::move(contribution_increments[i - begin]));
  }
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->EvalWrite(LuaScript<kApplyBatchBody>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "apply batch"));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != end - begin) {
    return MalformedReply("apply batch script");
  }
  std::vector<bool> applied;
  applied.reserve(end - begin);
  for (const RedisReply& e : reply.elements) {
    std::optional<int64_t> one = ReplyInt(e);
    if (!one || (*one != 0 && *one != 1)) return MalformedReply("apply batch script");
    applied.push_back(*one == 1);
  }
  return applied;
}

namespace {

// CheckHashReply checks that an HGETALL reply of `key` is a list of field and value pairs.
absl::Status CheckHashReply(const std::string& key, const RedisReply& reply) {
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("HGETALL ", key)));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() % 2 != 0) {
    return MalformedReply(absl::StrCat("HGETALL ", key));
  }
  return absl::OkStatus();
}

// ParseCounters parses an HGETALL reply of `key`.
absl::StatusOr<Counters> ParseCounters(const std::string& key, const RedisReply& reply) {
  SIMPUL_RETURN_IF_ERROR(CheckHashReply(key, reply));
  Counters counters;
  for (size_t i = 0; i < reply.elements.size(); i += 2) {
    std::optional<std::string> field = ReplyString(reply.elements[i]);
    std::optional<std::string> text = ReplyString(reply.elements[i + 1]);
    int64_t value = 0;
    if (!field || !text || !absl::SimpleAtoi(*text, &value)) {
      return absl::InternalError(absl::StrCat("counter at key ", key, " is not an integer"));
    }
    counters.emplace(std::move(*field), value);
  }
  return counters;
}

}  // namespace

absl::StatusOr<Counters> RedisAggregateStore::Read(std::string_view bucket) {
  const std::string key = BucketKey(bucket);
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"HGETALL", key}));
  return ParseCounters(key, reply);
}

absl::StatusOr<std::vector<RedisReply>> RedisAggregateStore::GetAll(
    const std::vector<std::string>& buckets, std::vector<std::string>* keys) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(buckets.size());
  for (const std::string& bucket : buckets) commands.push_back({"HGETALL", BucketKey(bucket)});
  SIMPUL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, pool_->Pipeline(commands));
  if (replies.size() != commands.size()) return MalformedReply("HGETALL pipeline");
  keys->clear();
  for (std::vector<std::string>& command : commands) keys->push_back(std::move(command[1]));
  return replies;
}

absl::StatusOr<std::vector<Counters>> RedisAggregateStore::ReadMany(
    const std::vector<std::string>& buckets) {
  std::vector<Counters> out;
  if (buckets.empty()) return out;
  std::vector<std::string> keys;
  SIMPUL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, GetAll(buckets, &keys));
  out.reserve(buckets.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    SIMPUL_ASSIGN_OR_RETURN(Counters counters, ParseCounters(keys[i], replies[i]));
    out.push_back(std::move(counters));
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<int64_t>>> RedisAggregateStore::ReadFields(
    const std::vector<std::string>& buckets, const std::vector<std::string>& fields) {
  std::vector<std::vector<int64_t>> out;
  if (buckets.empty()) return out;
  if (fields.empty()) return absl::InvalidArgumentError("read fields: no field named");
  // HGETALL, keeping the named fields only: cheaper in Redis than an HMGET naming them (a
  // bucket holds a few dozen counters), and nothing is stored for the others.
  absl::flat_hash_map<std::string_view, size_t> index;
  for (size_t f = 0; f < fields.size(); ++f) index.emplace(fields[f], f);
  std::vector<std::string> keys;
  SIMPUL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, GetAll(buckets, &keys));
  out.reserve(buckets.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    const std::string& key = keys[i];
    const RedisReply& reply = replies[i];
    SIMPUL_RETURN_IF_ERROR(CheckHashReply(key, reply));
    std::vector<int64_t>& values = out.emplace_back(fields.size(), 0);
    for (size_t e = 0; e < reply.elements.size(); e += 2) {
      auto it = index.find(reply.elements[e].str);
      if (it == index.end()) continue;
      if (!absl::SimpleAtoi(reply.elements[e + 1].str, &values[it->second])) {
        return absl::InternalError(absl::StrCat("counter at key ", key, " is not an integer"));
      }
    }
  }
  return out;
}

absl::Status RedisAggregateStore::SetRanks(const std::vector<RankUpdate>& updates) {
  SIMPUL_RETURN_IF_ERROR(ValidateRankUpdates(updates));
  // Grouped by ranking, each ranking's updates in the order given.
  std::map<std::string_view, size_t> index;
  std::vector<std::vector<const RankUpdate*>> per_key;
  std::vector<std::string> keys;
  for (const RankUpdate& u : updates) {
    for (const std::string& ranking : u.rankings) {
      auto [it, inserted] = index.emplace(ranking, keys.size());
      if (inserted) {
        keys.push_back(RankKey(ranking));
        per_key.emplace_back();
      }
      per_key[it->second].push_back(&u);
    }
  }
  if (keys.empty()) return absl::OkStatus();
  std::vector<std::string> args;
  for (const auto& list : per_key) {
    args.push_back(absl::StrCat(list.size()));
    for (const RankUpdate* u : list) {
      args.push_back(u->remove ? std::string() : absl::StrCat(u->value));
      args.push_back(u->unit_id);
    }
  }
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->EvalWrite(LuaScript<kTypesLib, kSetRanksBody>(), keys, args));
  return ErrorFromReply(reply, "set ranks");
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> RedisAggregateStore::TopRanks(
    std::string_view ranking, int limit, bool ascending) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  const std::string key = RankKey(ranking);
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      pool_->Eval(LuaScript<kTopRanksLua>(), {key}, {absl::StrCat(limit), ascending ? "1" : "0"}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("top ranks of ", key)));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() % 2 != 0 ||
      reply.elements.size() > 2 * static_cast<size_t>(limit)) {
    return MalformedReply("top ranks script");
  }
  std::vector<std::pair<std::string, int64_t>> out;
  out.reserve(reply.elements.size() / 2);
  for (size_t i = 0; i < reply.elements.size(); i += 2) {
    std::optional<std::string> unit = ReplyString(reply.elements[i]);
    std::optional<int64_t> value = ReplyScore(reply.elements[i + 1]);
    if (!unit || !value) {
      return absl::InternalError(absl::StrCat("ranking ", key, " holds a malformed entry"));
    }
    out.emplace_back(std::move(*unit), *value);
  }
  // std::string compares bytes as unsigned char, as Redis compares members.
  std::sort(out.begin(), out.end(), [ascending](const auto& a, const auto& b) {
    if (a.second != b.second) return ascending ? a.second < b.second : a.second > b.second;
    return a.first < b.first;
  });
  return out;
}

absl::StatusOr<std::optional<StateRecord>> RedisAggregateStore::ReadState(std::string_view key) {
  const std::string state_key = Key(absl::StrCat("s:", AbslView(key)));
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"HMGET", state_key, "v", "d"}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("HMGET ", state_key)));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
    return MalformedReply(absl::StrCat("HMGET ", state_key));
  }
  std::optional<std::string> version = ReplyString(reply.elements[0]);
  std::optional<std::string> data = ReplyString(reply.elements[1]);
  if (!version && !data) return std::optional<StateRecord>();
  if (!version || !data) {
    return absl::InternalError(absl::StrCat("state record ", state_key, " is incomplete"));
  }
  return std::optional<StateRecord>(StateRecord{std::move(*version), std::move(*data)});
}

absl::StatusOr<bool> RedisAggregateStore::ReplaceState(const StateChange& change) {
  SIMPUL_RETURN_IF_ERROR(ValidateStateChange(change));
  std::vector<std::string> keys = {Key(absl::StrCat("s:", change.key))};
  std::map<std::string, size_t> index;  // Redis key -> position in KEYS (1-based)
  auto key_index = [&](std::string key) {
    auto [it, inserted] = index.emplace(std::move(key), keys.size() + 1);
    if (inserted) keys.push_back(it->first);
    return absl::StrCat(it->second);
  };
  std::vector<std::string> args = {change.expected_version ? "1" : "0",
                                   change.expected_version.value_or(""), change.next.version,
                                   change.next.data, absl::StrCat(change.deltas.size())};
  for (const BucketDelta& d : change.deltas) {
    args.push_back(key_index(BucketKey(d.bucket)));
    args.push_back(d.field);
    args.push_back(absl::StrCat(d.delta));
  }
  args.push_back(absl::StrCat(change.memberships.size()));
  for (const SetMembership& m : change.memberships) {
    args.push_back(key_index(Key(absl::StrCat("z:", m.set))));
    args.push_back(m.member);
    args.push_back(m.score ? absl::StrCat(*m.score) : std::string());
  }
  args.push_back(change.expires ? DedupTtlMs() : "0");
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->EvalWrite(LuaScript<kReplaceStateBody>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("replace state ", keys[0])));
  std::optional<int64_t> replaced = ReplyInt(reply);
  if (!replaced || (*replaced != 0 && *replaced != 1)) return MalformedReply("replace state");
  return *replaced == 1;
}

absl::StatusOr<std::vector<int64_t>> RedisAggregateStore::CountInRanges(
    const std::vector<ScoreRange>& ranges) {
  std::vector<int64_t> out;
  if (ranges.empty()) return out;
  auto bound = [](int64_t v) -> std::string {
    if (v >= kMaxExactScore) return "+inf";
    if (v <= -kMaxExactScore) return "-inf";
    return absl::StrCat(v);
  };
  std::vector<std::vector<std::string>> commands;
  for (const ScoreRange& r : ranges) {
    commands.push_back({"ZCOUNT", r.ranking ? RankKey(r.set) : Key(absl::StrCat("z:", r.set)),
                        bound(r.min), bound(r.max)});
  }
  SIMPUL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, pool_->Pipeline(commands));
  if (replies.size() != commands.size()) return MalformedReply("ZCOUNT pipeline");
  for (size_t i = 0; i < replies.size(); ++i) {
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(replies[i], absl::StrCat("ZCOUNT ", commands[i][1])));
    std::optional<int64_t> n = ReplyInt(replies[i]);
    if (!n) return MalformedReply(absl::StrCat("ZCOUNT ", commands[i][1]));
    out.push_back(*n);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisAggregateStore::SetMembers(std::string_view set) {
  const std::string key = Key(absl::StrCat("z:", AbslView(set)));
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"ZRANGE", key, "0", "-1"}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("ZRANGE ", key)));
  if (reply.type != RedisReply::Type::kArray) return MalformedReply(absl::StrCat("ZRANGE ", key));
  std::vector<std::string> out;
  for (const RedisReply& e : reply.elements) {
    std::optional<std::string> member = ReplyString(e);
    if (!member) return MalformedReply(absl::StrCat("ZRANGE ", key));
    out.push_back(std::move(*member));
  }
  return out;
}

absl::StatusOr<bool> RedisAggregateStore::AddOpen(const Contribution& receipt,
                                                  std::string_view application_key, absl::Time due,
                                                  const Contribution& when_overdue) {
  if (application_key.empty()) return absl::InvalidArgumentError("open: application key is empty");
  SIMPUL_RETURN_IF_ERROR(ValidateContribution(receipt, "receipt"));
  SIMPUL_RETURN_IF_ERROR(ValidateContribution(when_overdue, "open"));
  std::vector<std::string> keys = {Key("open"), Key("open:c")};
  std::vector<std::string> args = {DedupTtlMs(), DueScore(due), std::string(application_key),
                                   SerializeContribution(when_overdue)};
  AppendContribution(receipt, &keys, &args);
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      pool_->EvalWrite(LuaScript<kApplyLib, kTypesLib, kAddOpenBody>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "add open"));
  std::optional<int64_t> added = ReplyInt(reply);
  if (!added || (*added != 0 && *added != 1)) return MalformedReply("add open script");
  return *added == 1;
}

absl::StatusOr<AggregateStore::Removed> RedisAggregateStore::RemoveOpen(
    std::string_view application_key, const std::vector<Contribution>& if_waiting,
    const std::vector<Contribution>& if_overdue) {
  std::vector<std::string> keys = {Key("open"), Key("open:c")};
  std::vector<std::string> args = {DedupTtlMs(), std::string(application_key),
                                   absl::StrCat(if_waiting.size()),
                                   absl::StrCat(if_overdue.size())};
  for (const auto* list : {&if_waiting, &if_overdue}) {
    for (const Contribution& c : *list) {
      SIMPUL_RETURN_IF_ERROR(ValidateContribution(c, "close"));
      AppendContribution(c, &keys, &args);
    }
  }
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      pool_->EvalWrite(LuaScript<kApplyLib, kTypesLib, kRemoveOpenBody>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "remove open"));
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
    return MalformedReply("remove open script");
  }
  std::optional<int64_t> waiting = ReplyInt(reply.elements[0]);
  std::optional<int64_t> applied = ReplyInt(reply.elements[1]);
  if (!waiting || !applied) return MalformedReply("remove open script");
  return Removed{.was_waiting = *waiting == 1, .applied = *applied > 0};
}

absl::StatusOr<int> RedisAggregateStore::SweepOpen(absl::Time at, int limit) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  const std::string open_key = Key("open");
  const std::string contrib_key = Key("open:c");
  const std::string at_score = AtScore(at);
  SIMPUL_ASSIGN_OR_RETURN(RedisReply due,
                          pool_->Eval(LuaScript<kSweepReadLua>(), {open_key, contrib_key},
                                      {at_score, absl::StrCat(limit)}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(due, "sweep read"));
  if (due.type != RedisReply::Type::kArray || due.elements.size() % 2 != 0) {
    return MalformedReply("sweep read script");
  }
  if (due.elements.empty()) return 0;

  std::vector<std::string> keys = {open_key, contrib_key};
  std::vector<std::string> args = {at_score, DedupTtlMs(), absl::StrCat(due.elements.size() / 2)};
  for (size_t i = 0; i < due.elements.size(); i += 2) {
    std::optional<std::string> app = ReplyString(due.elements[i]);
    std::optional<std::string> blob = ReplyString(due.elements[i + 1]);
    if (!app) return MalformedReply("sweep read script");
    std::optional<Contribution> c;
    if (blob) c = ParseContribution(*blob);
    if (!c || !ValidateContribution(*c, "").ok()) {
      return absl::InternalError(
          absl::StrCat("open contribution in ", contrib_key, " is missing or malformed"));
    }
    args.push_back(std::move(*app));
    args.push_back(std::move(*blob));
    AppendContribution(*c, &keys, &args);
  }
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          pool_->EvalWrite(LuaScript<kApplyLib, kSweepBody>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, "sweep"));
  std::optional<int64_t> swept = ReplyInt(reply);
  if (!swept || *swept < 0) return MalformedReply("sweep script");
  return static_cast<int>(*swept);
}

absl::StatusOr<std::vector<std::optional<Ledger>>> RedisAggregateStore::ReadLedgers(
    const std::vector<std::string>& keys) {
  std::vector<std::optional<Ledger>> out;
  if (keys.empty()) return out;
  std::vector<std::vector<std::string>> commands;
  commands.reserve(keys.size());
  for (const std::string& key : keys) commands.push_back({"HGETALL", LedgerKey(key)});
  SIMPUL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, pool_->Pipeline(commands));
  if (replies.size() != commands.size()) return MalformedReply("HGETALL pipeline");
  for (size_t i = 0; i < replies.size(); ++i) {
    const std::string& redis_key = commands[i][1];
    const RedisReply& reply = replies[i];
    SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("HGETALL ", redis_key)));
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() % 2 != 0) {
      return MalformedReply(absl::StrCat("HGETALL ", redis_key));
    }
    if (reply.elements.empty()) {
      out.emplace_back();
      continue;
    }
    Ledger ledger;
    ledger.version = static_cast<int64_t>(reply.elements.size() / 2);
    for (size_t j = 0; j < reply.elements.size(); j += 2) {
      std::optional<std::string> field = ReplyString(reply.elements[j]);
      std::optional<std::string> value = ReplyString(reply.elements[j + 1]);
      if (!field || !value) return MalformedReply(absl::StrCat("HGETALL ", redis_key));
      if (*field == "meta") {
        ledger.meta = std::move(*value);
      } else if (*field == "void") {
        ledger.voided = true;
        ledger.void_record = std::move(*value);
      } else if (absl::StartsWith(*field, "c:")) {
        std::optional<Contribution> c =
            ParseLedgerEntry(std::string_view(*field).substr(2), *value);
        if (!c) {
          return absl::InternalError(
              absl::StrCat("ledger ", redis_key, " holds a malformed entry"));
        }
        ledger.applied.push_back(std::move(*c));
      }
    }
    out.push_back(std::move(ledger));
  }
  return out;
}

absl::StatusOr<AggregateStore::VoidOutcome> RedisAggregateStore::VoidLedger(
    std::string_view key, int64_t version, std::string_view application_key,
    const std::vector<Contribution>& reversal, std::string_view record) {
  if (key.empty()) return absl::InvalidArgumentError("void: ledger key is empty");
  std::vector<std::string> keys = {LedgerKey(key), Key("open"), Key("open:c")};
  std::vector<std::string> args = {DedupTtlMs(), absl::StrCat(version),
                                   std::string(application_key), std::string(record),
                                   absl::StrCat(reversal.size())};
  for (const Contribution& c : reversal) {
    SIMPUL_RETURN_IF_ERROR(ValidateContribution(c, "void"));
    if (!c.ledger.key.empty()) {
      return absl::InvalidArgumentError("void: a reversal contribution carries a ledger");
    }
    AppendContribution(c, &keys, &args);
  }
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply, pool_->EvalWrite(LuaScript<kApplyLib, kTypesLib, kVoidBody>(), keys, args));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("void ", keys[0])));
  std::optional<int64_t> outcome = ReplyInt(reply);
  if (!outcome || *outcome < 0 || *outcome > 3) return MalformedReply("void script");
  static constexpr VoidOutcome kOutcomes[] = {VoidOutcome::kVoided, VoidOutcome::kAlreadyVoided,
                                              VoidOutcome::kMissing, VoidOutcome::kChanged};
  return kOutcomes[*outcome];
}

absl::StatusOr<std::vector<std::string>> RedisAggregateStore::BatchLedgers(std::string_view batch) {
  const std::string key = BatchKey(batch);
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"SMEMBERS", key}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("SMEMBERS ", key)));
  if (reply.type != RedisReply::Type::kArray) {
    return MalformedReply(absl::StrCat("SMEMBERS ", key));
  }
  std::vector<std::string> out;
  for (const RedisReply& e : reply.elements) {
    std::optional<std::string> member = ReplyString(e);
    if (!member) return MalformedReply(absl::StrCat("SMEMBERS ", key));
    out.push_back(std::move(*member));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status RedisAggregateStore::AppendLog(std::string_view log, std::string_view record) {
  if (log.empty()) return absl::InvalidArgumentError("log: name is empty");
  const std::string key = Key(absl::StrCat("log:", AbslView(log)));
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->EvalWrite(LuaScript<kTypesLib, kAppendLogBody>(),
                                                             {key}, {std::string(record)}));
  return ErrorFromReply(reply, absl::StrCat("LPUSH ", key));
}

absl::StatusOr<std::vector<std::string>> RedisAggregateStore::ReadLog(std::string_view log,
                                                                      int64_t offset, int limit) {
  SIMPUL_RETURN_IF_ERROR(CheckPositiveLimit(limit));
  if (offset < 0) return absl::InvalidArgumentError("log: offset is negative");
  const std::string key = Key(absl::StrCat("log:", AbslView(log)));
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply, pool_->Command({"LRANGE", key, absl::StrCat(offset),
                                                            absl::StrCat(offset + limit - 1)}));
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(reply, absl::StrCat("LRANGE ", key)));
  if (reply.type != RedisReply::Type::kArray) return MalformedReply(absl::StrCat("LRANGE ", key));
  std::vector<std::string> out;
  for (const RedisReply& e : reply.elements) {
    std::optional<std::string> record = ReplyString(e);
    if (!record) return MalformedReply(absl::StrCat("LRANGE ", key));
    out.push_back(std::move(*record));
  }
  return out;
}

}  // namespace simpul::monitoring
