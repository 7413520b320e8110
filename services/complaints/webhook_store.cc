// Redis storage of webhook subscriptions, queues and leases (webhook_store.h).
#include "services/complaints/webhook_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/status.h"

namespace simpul::complaints {
namespace {

// KEYS: cursor, subs hash, then one queue key per item. ARGV: expected cursor ("" = unset),
// new cursor, then per item its webhook id and its bytes.
// KEYS: cursor, subs hash, then per item its queue, dead letters and overflow counter.
// ARGV: expected cursor, new cursor, most deliveries a webhook may hold (queued and dead; 0: no
// bound), then per item its webhook id and bytes. Returns 0 when the cursor moved, else
// {1, deliveries not queued because their webhook's backlog was full}.
constexpr char kFanOutLua[] = R"lua(
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
local max = tonumber(ARGV[3])
local dropped = 0
for i = 0, (#KEYS - 2) / 3 - 1 do
  local queue, dead, overflow = KEYS[3 + 3 * i], KEYS[4 + 3 * i], KEYS[5 + 3 * i]
  local id, bytes = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    if max > 0 and redis.call('LLEN', queue) + redis.call('LLEN', dead) >= max then
      redis.call('INCR', overflow)
      dropped = dropped + 1
    else
      redis.call('RPUSH', queue, bytes)
    end
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return {1, dropped}
)lua";

// KEYS: queue, dead, done. ARGV: outcome (delivered/retry/dead), head bytes, updated bytes,
// log size.
constexpr char kFinishLua[] = R"lua(
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] then return 0 end
if ARGV[1] == 'retry' then
  redis.call('LSET', KEYS[1], 0, ARGV[3])
  return 1
end
redis.call('LPOP', KEYS[1])
if ARGV[1] == 'dead' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
else
  redis.call('LPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
end
return 1
)lua";

// KEYS: dead, queue. ARGV: pairs of (dead entry bytes, requeued bytes).
constexpr char kRedriveLua[] = R"lua(
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i + 1])
    n = n + 1
  end
end
return n
)lua";

// KEYS: subs hash. ARGV: webhook id, record bytes.
constexpr char kPutLua[] = R"lua(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua";

// KEYS: subs hash, queue, dead, done, overflow. ARGV: webhook id.
constexpr char kDeleteLua[] = R"lua(
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return n
)lua";

constexpr char kLeaseLua[] = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)lua";

constexpr char kReleaseLua[] = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
)lua";

absl::StatusOr<RedisReply> Checked(absl::StatusOr<RedisReply> reply, std::string_view what) {
  if (!reply.ok()) return reply.status();
  SIMPUL_RETURN_IF_ERROR(ErrorFromReply(*reply, what));
  return reply;
}

template <typename Message>
absl::StatusOr<Message> Parse(const std::string& bytes, std::string_view what) {
  Message m;
  if (!m.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("malformed ", AbslView(what), " in Redis"));
  }
  return m;
}

}  // namespace

WebhookStore::WebhookStore(RedisPool* pool, std::string key_prefix)
    : pool_(pool), prefix_(std::move(key_prefix)) {}

std::string WebhookStore::SubsKey() const { return absl::StrCat(prefix_, "wh:subs"); }
std::string WebhookStore::CursorKey() const { return absl::StrCat(prefix_, "wh:cursor"); }
std::string WebhookStore::QueueKey(std::string_view id) const {
  return absl::StrCat(prefix_, "wh:q:", AbslView(id));
}
std::string WebhookStore::DeadKey(std::string_view id) const {
  return absl::StrCat(prefix_, "wh:dead:", AbslView(id));
}
std::string WebhookStore::OverflowKey(std::string_view id) const {
  return absl::StrCat(prefix_, "wh:over:", AbslView(id));
}

std::string WebhookStore::DoneKey(std::string_view id) const {
  return absl::StrCat(prefix_, "wh:done:", AbslView(id));
}
std::string WebhookStore::LeaseKey(std::string_view name) const {
  return absl::StrCat(prefix_, "wh:lease:", AbslView(name));
}

absl::Status WebhookStore::Put(const v1::WebhookRecord& record) {
  return Checked(pool_->EvalWrite(LuaScript<kPutLua>(), {SubsKey()},
                                  {record.webhook().id(), record.SerializeAsString()}),
                 "webhook write")
      .status();
}

absl::StatusOr<std::optional<v1::WebhookRecord>> WebhookStore::Get(std::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          Checked(pool_->Command({"HGET", SubsKey(), std::string(id)}), "HGET"));
  if (reply.is_nil()) return std::optional<v1::WebhookRecord>();
  SIMPUL_ASSIGN_OR_RETURN(v1::WebhookRecord record,
                          Parse<v1::WebhookRecord>(reply.str, "webhook record"));
  return std::optional<v1::WebhookRecord>(std::move(record));
}

absl::StatusOr<std::vector<v1::WebhookRecord>> WebhookStore::All() {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          Checked(pool_->Command({"HGETALL", SubsKey()}), "HGETALL"));
  std::vector<v1::WebhookRecord> out;
  for (size_t i = 1; i < reply.elements.size(); i += 2) {
    SIMPUL_ASSIGN_OR_RETURN(v1::WebhookRecord record,
                            Parse<v1::WebhookRecord>(reply.elements[i].str, "webhook record"));
    out.push_back(std::move(record));
  }
  return out;
}

absl::StatusOr<bool> WebhookStore::Delete(std::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      Checked(pool_->EvalWrite(LuaScript<kDeleteLua>(),
                               {SubsKey(), QueueKey(id), DeadKey(id), DoneKey(id), OverflowKey(id)},
                               {std::string(id)}),
              "webhook delete"));
  return reply.integer == 1;
}

absl::StatusOr<std::pair<int64_t, int64_t>> WebhookStore::Counts(std::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies,
                          pool_->Pipeline({{"LLEN", QueueKey(id)}, {"LLEN", DeadKey(id)}}));
  return std::make_pair(static_cast<int64_t>(replies[0].integer),
                        static_cast<int64_t>(replies[1].integer));
}

absl::StatusOr<std::optional<std::string>> WebhookStore::Cursor() {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          Checked(pool_->Command({"GET", CursorKey()}), "GET cursor"));
  if (reply.is_nil()) return std::optional<std::string>();
  return std::optional<std::string>(reply.str);
}

absl::StatusOr<bool> WebhookStore::FanOut(const std::optional<std::string>& expected,
                                          const std::string& new_cursor,
                                          const std::vector<FanOutItem>& items, int64_t max_backlog,
                                          int64_t* dropped) {
  std::vector<std::string> keys = {CursorKey(), SubsKey()};
  std::vector<std::string> args = {expected.value_or(""), new_cursor,
                                   absl::StrCat(std::max<int64_t>(0, max_backlog))};
  for (const FanOutItem& item : items) {
    keys.push_back(QueueKey(item.webhook_id));
    keys.push_back(DeadKey(item.webhook_id));
    keys.push_back(OverflowKey(item.webhook_id));
    args.push_back(item.webhook_id);
    args.push_back(item.queued.SerializeAsString());
  }
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      Checked(pool_->Eval(LuaScript<kFanOutLua>(), keys, args), "webhook fan-out"));
  if (dropped != nullptr) *dropped = 0;
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) return false;
  if (dropped != nullptr) *dropped = reply.elements[1].integer;
  return true;
}

absl::StatusOr<int64_t> WebhookStore::Overflow(std::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          Checked(pool_->Command({"GET", OverflowKey(id)}), "GET overflow"));
  int64_t n = 0;
  if (!reply.is_nil() && !absl::SimpleAtoi(reply.str, &n)) n = 0;
  return n;
}

absl::StatusOr<std::optional<WebhookStore::Head>> WebhookStore::QueueHead(std::string_view id) {
  SIMPUL_ASSIGN_OR_RETURN(RedisReply reply,
                          Checked(pool_->Command({"LINDEX", QueueKey(id), "0"}), "LINDEX"));
  if (reply.is_nil()) return std::optional<Head>();
  Head head;
  head.bytes = reply.str;
  SIMPUL_ASSIGN_OR_RETURN(head.queued, Parse<v1::QueuedDelivery>(reply.str, "queued delivery"));
  return std::optional<Head>(std::move(head));
}

absl::StatusOr<bool> WebhookStore::FinishHead(std::string_view id, const Head& head,
                                              HeadOutcome outcome,
                                              const v1::QueuedDelivery& updated) {
  const char* op = outcome == HeadOutcome::kDelivered ? "delivered"
                   : outcome == HeadOutcome::kRetry   ? "retry"
                                                      : "dead";
  const std::string bytes = outcome == HeadOutcome::kDelivered
                                ? updated.delivery().SerializeAsString()
                                : updated.SerializeAsString();
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      Checked(pool_->Eval(LuaScript<kFinishLua>(), {QueueKey(id), DeadKey(id), DoneKey(id)},
                          {op, head.bytes, bytes, absl::StrCat(kDeliveredLogSize)}),
              "webhook delivery outcome"));
  return reply.integer == 1;
}

absl::StatusOr<std::vector<std::string>> WebhookStore::Range(const std::string& key, int limit) {
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      Checked(pool_->Command({"LRANGE", key, "0", absl::StrCat(limit - 1)}), "LRANGE"));
  std::vector<std::string> out;
  for (const RedisReply& e : reply.elements) out.push_back(e.str);
  return out;
}

absl::StatusOr<std::vector<v1::QueuedDelivery>> WebhookStore::Pending(std::string_view id,
                                                                      int limit) {
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> raw, Range(QueueKey(id), limit));
  std::vector<v1::QueuedDelivery> out;
  for (const std::string& b : raw) {
    SIMPUL_ASSIGN_OR_RETURN(v1::QueuedDelivery q, Parse<v1::QueuedDelivery>(b, "queued delivery"));
    out.push_back(std::move(q));
  }
  return out;
}

absl::StatusOr<std::vector<v1::QueuedDelivery>> WebhookStore::Dead(std::string_view id, int limit) {
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> raw, Range(DeadKey(id), limit));
  std::vector<v1::QueuedDelivery> out;
  for (const std::string& b : raw) {
    SIMPUL_ASSIGN_OR_RETURN(v1::QueuedDelivery q, Parse<v1::QueuedDelivery>(b, "dead letter"));
    out.push_back(std::move(q));
  }
  return out;
}

absl::StatusOr<std::vector<v1::WebhookDelivery>> WebhookStore::Delivered(std::string_view id,
                                                                         int limit) {
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> raw, Range(DoneKey(id), limit));
  std::vector<v1::WebhookDelivery> out;
  for (const std::string& b : raw) {
    SIMPUL_ASSIGN_OR_RETURN(v1::WebhookDelivery d, Parse<v1::WebhookDelivery>(b, "delivery log"));
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<int> WebhookStore::Redrive(
    std::string_view id, const std::function<bool(const v1::QueuedDelivery&)>& select,
    const std::function<v1::QueuedDelivery(const v1::QueuedDelivery&)>& reset) {
  SIMPUL_ASSIGN_OR_RETURN(std::vector<std::string> raw, Range(DeadKey(id), 0));
  std::vector<std::string> args;
  for (const std::string& b : raw) {
    SIMPUL_ASSIGN_OR_RETURN(v1::QueuedDelivery q, Parse<v1::QueuedDelivery>(b, "dead letter"));
    if (!select(q)) continue;
    args.push_back(b);
    args.push_back(reset(q).SerializeAsString());
  }
  if (args.empty()) return 0;
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      Checked(pool_->EvalWrite(LuaScript<kRedriveLua>(), {DeadKey(id), QueueKey(id)}, args),
              "webhook redrive"));
  return static_cast<int>(reply.integer);
}

absl::StatusOr<bool> WebhookStore::HoldLease(std::string_view name, std::string_view token,
                                             absl::Duration ttl) {
  SIMPUL_ASSIGN_OR_RETURN(
      RedisReply reply,
      Checked(pool_->Eval(LuaScript<kLeaseLua>(), {LeaseKey(name)},
                          {std::string(token), absl::StrCat(absl::ToInt64Milliseconds(ttl))}),
              "webhook lease"));
  return reply.integer == 1;
}

absl::Status WebhookStore::ReleaseLease(std::string_view name, std::string_view token) {
  return Checked(pool_->Eval(LuaScript<kReleaseLua>(), {LeaseKey(name)}, {std::string(token)}),
                 "webhook lease release")
      .status();
}

}  // namespace simpul::complaints
