// Redis access over hiredis: a reply value that owns its data, and a bounded pool of
// synchronous connections with timeouts, reconnection with backoff, pipelining and Lua
// scripts, reaching one address or the master that Redis Sentinel names (common/
// redis_sentinel.h), and optionally waiting for replicas after a write (WAIT). hiredis contexts are
// not thread-safe: each is used by one thread at a time, checked out of the pool. Callers must not
// run these calls on a gRPC callback thread (use Executor). hiredis writes with write(2), so
// creating a pool ignores SIGPIPE process-wide.
#ifndef SIMPUL_COMMON_REDIS_H_
#define SIMPUL_COMMON_REDIS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/backoff.h"

struct redisContext;

namespace simpul {

// RedisReply is an owned copy of one Redis reply.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray, kError };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;  // kString, kStatus and kError
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

// RedisAddress is a host and a TCP port.
struct RedisAddress {
  std::string host;
  int port = 0;
  bool operator==(const RedisAddress& o) const { return host == o.host && port == o.port; }
};

// RedisPoolEvents is told what a pool does that an operator watches (RunService counts them
// in /metrics). Its methods run on the pool's callers' threads, without the pool's locks held,
// and must be quick.
class RedisPoolEvents {
 public:
  virtual ~RedisPoolEvents() = default;
  // MasterResolved: the sentinels were asked for the master; `ok` is whether one answered.
  virtual void MasterResolved(bool ok) {}
  // MasterSwitched: a +switch-master announcement moved the pool to a new master.
  virtual void MasterSwitched() {}
  // WaitFellShort: a write's WAIT confirmed fewer replicas than asked (or failed), so the
  // write was answered UNAVAILABLE.
  virtual void WaitFellShort() {}
  // ReplicasInSync: the master's replicas found in sync (RedisOptions::wait_for_replicas_in_sync),
  // after each poll that could ask the master.
  virtual void ReplicasInSync(int count) {}
};

struct RedisOptions {
  // The Redis server, unless `sentinels` is set.
  std::string host = "127.0.0.1";
  int port = 6379;
  // Redis Sentinel: when not empty, the pool asks these sentinels (in turn) for the address
  // of the master named `master_name`, checks with ROLE that it is the master, and asks again
  // after a lost connection, a -READONLY or -LOADING reply, or a refused connection.
  std::vector<RedisAddress> sentinels;
  std::string master_name = "simpul";
  // Credentials the sentinels are asked with (none: no AUTH); the data connections keep
  // `user`/`password` below.
  std::string sentinel_user;
  std::string sentinel_password;
  absl::Duration sentinel_timeout = absl::Milliseconds(300);  // connect + reply, per sentinel
  // With sentinels: one thread per pool keeps a subscription on a sentinel (+switch-master,
  // and +failover-state-reconf-slaves, sent as soon as the promoted replica is master) and
  // moves the pool to the new master at once (connections to the old one are closed when
  // they come back), instead of writing to the old master until the sentinels demote it.
  bool follow_switch_master = true;
  // Acknowledged writes (RedisConnection::WaitForReplicas, RedisPool::EvalWrite): after a
  // write, WAIT until `wait_replicas` replicas have it, at most `wait_timeout`. 0: no WAIT.
  int wait_replicas = 0;
  absl::Duration wait_timeout = absl::Milliseconds(500);
  // With sentinels and wait_replicas > 0: WAIT for every replica in sync, not only
  // `wait_replicas`. A thread asks the master with ROLE every `replica_poll_interval` which
  // replicas are online and how far each has acknowledged; a replica is caught up at a poll
  // when it has acknowledged all the master had `replica_max_lag` earlier, and it is in sync
  // (counted) until polls have found it not caught up (behind, or gone from ROLE) for
  // `replica_grace`, counted from the first such poll: a master that stops answering (frozen)
  // stops the clock, so its replicas still count when it comes back. The sentinels
  // promote one of the replicas, not necessarily the one that confirmed first: a write that
  // every replica in sync holds survives whichever they pick. The grace keeps a replica the
  // sentinels are promoting in the count until the pool hears of the promotion (a failover
  // of a master that still answers, e.g. a second failover right after a first); it also means
  // a replica that stops or falls behind makes writes fail UNAVAILABLE for up to about
  // replica_max_lag + replica_grace. One that catches up (e.g. an old master rejoining) is
  // counted from the first poll that finds it online. The same thread asks the sentinels for the
  // master every second, in case a +switch-master announcement was missed.
  bool wait_for_replicas_in_sync = true;
  absl::Duration replica_poll_interval = absl::Milliseconds(250);
  absl::Duration replica_max_lag = absl::Seconds(1);
  absl::Duration replica_grace = absl::Seconds(3);
  int pool_size = 8;  // connections at most
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration command_timeout = absl::Seconds(2);  // per command (socket timeout)
  absl::Duration acquire_timeout = absl::Seconds(2);  // waiting for a free connection
  absl::Duration max_backoff = absl::Seconds(2);      // between reconnect attempts
  // Credentials of a Redis ACL user (common/redis_auth.h reads them from a file): every new
  // connection sends AUTH <user> <password> first, or AUTH <password> without a user. No
  // AUTH at all when the password is empty.
  std::string user;
  std::string password;
  // events (optional, not owned; must outlive the pool) is told of master resolutions,
  // switches and short WAITs.
  RedisPoolEvents* events = nullptr;
};

// RedisScript is a Lua script run with EVALSHA, loaded on first use or after NOSCRIPT.
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

class RedisPool;

// RedisConnection is one checked-out connection; it returns to the pool when destroyed. After
// a transport error it is discarded instead, and the pool reconnects later.
class RedisConnection {
 public:
  RedisConnection(RedisConnection&&) noexcept;
  RedisConnection& operator=(RedisConnection&&) = delete;
  ~RedisConnection();

  // Command runs one command. A Redis error reply is returned as a RedisReply of type kError
  // (not as a failed status); a failed status means a transport problem (UNAVAILABLE) or a
  // timeout (DEADLINE_EXCEEDED).
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& argv);
  // Pipeline sends all commands, then reads all replies, in one round trip.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);
  // Eval runs a script by its SHA1, loading it if Redis does not know it yet.
  absl::StatusOr<RedisReply> Eval(const RedisScript& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args);
  // SetCommandTimeout changes this connection's socket timeout (e.g. for XREAD BLOCK); the
  // pool's default is restored when the connection returns to the pool.
  absl::Status SetCommandTimeout(absl::Duration timeout);
  // WaitForReplicas makes a write on this connection acknowledged: it runs WAIT
  // <wait_replicas> <wait_timeout> right after it (OK at once when wait_replicas is 0). When
  // fewer replicas confirm in time the write stays on the master (nothing is rolled back) and
  // the status is UNAVAILABLE, naming `what` and how many confirmed: the caller answers
  // UNAVAILABLE and a retry must be an idempotent replay. Redis 7.0 waits for the master's
  // replication offset as of this connection's last command, so even a replay that wrote
  // nothing is confirmed only once the replicas have all the master had (the original write
  // included). With sentinels, the number of replicas waited for is
  // RedisPool::replicas_required(), and a write confirmed after the pool has moved to another
  // master (a failover while it was in flight: the old master may have answered it with a
  // replica that is about to be resynced) is UNAVAILABLE too.
  absl::Status WaitForReplicas(std::string_view what);

 private:
  friend class RedisPool;
  absl::Status WaitForReplicasUnobserved(std::string_view what);
  RedisConnection(RedisPool* pool, redisContext* ctx, uint64_t generation)
      : pool_(pool), ctx_(ctx), generation_(generation) {}
  absl::Status TransportError(std::string_view what);
  absl::StatusOr<RedisReply> ReadReply(std::string_view what);
  RedisPool* pool_;
  redisContext* ctx_;
  uint64_t generation_;  // the pool's master generation when the connection was opened
  bool broken_ = false;
  bool peer_lost_ = false;       // the failure was not a timeout: idle connections are suspect
  bool custom_timeout_ = false;  // SetCommandTimeout was called
};

class RedisPool {
 public:
  explicit RedisPool(RedisOptions options);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Acquire checks out a connection, connecting if needed. Fails with UNAVAILABLE while
  // Redis is unreachable (reconnect attempts back off up to max_backoff) and with
  // RESOURCE_EXHAUSTED when no connection frees up within acquire_timeout.
  absl::StatusOr<RedisConnection> Acquire();

  // Convenience wrappers: acquire, run, release.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& argv);
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);
  absl::StatusOr<RedisReply> Eval(const RedisScript& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args);
  // EvalWrite is Eval of a script that writes, followed on the same connection by
  // WaitForReplicas when the script did not answer an error (a script that refuses writes
  // nothing): the commit path of every store whose writes are acknowledged.
  absl::StatusOr<RedisReply> EvalWrite(const RedisScript& script,
                                       const std::vector<std::string>& keys,
                                       const std::vector<std::string>& args);
  // Ping is OK when Redis answers PONG.
  absl::Status Ping();

  const RedisOptions& options() const { return options_; }
  // master is the address the pool connects to now: host:port, or with sentinels the master
  // they named last (nullopt until asked, and after a failure made the pool forget it).
  std::optional<RedisAddress> master() const;
  // resolutions counts the times the sentinels were asked for the master (0 without them).
  int64_t resolutions() const;
  // switches counts the +switch-master announcements that moved the pool to a new master.
  int64_t switches() const;
  // replicas_in_sync is the number of the master's replicas found in sync at the last poll
  // (RedisOptions::wait_for_replicas_in_sync), -1 before the first one or without the poll.
  int replicas_in_sync() const { return replicas_in_sync_.load(std::memory_order_relaxed); }
  // replicas_required is how many replicas a write waits for: wait_replicas, or more when more
  // are in sync.
  int replicas_required() const { return std::max(options_.wait_replicas, replicas_in_sync()); }

 private:
  friend class RedisConnection;
  void Release(redisContext* ctx, uint64_t generation, bool broken, bool peer_lost);
  // Target is the address to connect to: host:port, or the master the sentinels name, and
  // the master generation it belongs to.
  absl::StatusOr<RedisAddress> Target(uint64_t* generation);
  // Connect opens a connection to Target(); *generation is its master generation.
  absl::StatusOr<redisContext*> Connect(uint64_t* generation);
  uint64_t generation() const;
  // WatchReplicas is the body of the replica poll thread (runs until stop_); PollReplicas is
  // one poll, which updates `watch` and replicas_in_sync_.
  void WatchReplicas();
  struct ReplicaWatch {
    struct OffsetSample {
      absl::Time at;
      int64_t offset;
    };
    uint64_t generation = 0;            // of the master the samples are from
    std::vector<OffsetSample> history;  // the master's replication offsets at earlier polls
    // The replicas seen, by "ip:port": nullopt while caught up, else the first poll that
    // found it not caught up (counted until replica_grace after that).
    std::map<std::string, std::optional<absl::Time>> replicas;
  };
  void PollReplicas(ReplicaWatch& watch);
  // CheckMaster sends ROLE on a new connection to a sentinel-named master: UNAVAILABLE unless
  // the server says it is the master.
  absl::Status CheckMaster(redisContext* ctx, std::string_view where);
  // FollowSwitchMaster is the body of the +switch-master thread (runs until stop_).
  void FollowSwitchMaster();
  // SwitchMaster moves the pool to `master` (named by the sentinels).
  void SwitchMaster(const RedisAddress& master);
  // Authenticate sends AUTH on a new connection when options_.password is set.
  absl::Status Authenticate(redisContext* ctx, std::string_view where);

  const RedisOptions options_;
  mutable absl::Mutex mu_;
  struct Idle {
    redisContext* ctx;
    uint64_t generation;
  };
  std::vector<Idle> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + checked out
  absl::Time next_connect_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Waits between failed connection attempts: 50 ms, doubling up to max_backoff.
  Backoff connect_backoff_ ABSL_GUARDED_BY(mu_);
  std::string last_connect_error_ ABSL_GUARDED_BY(mu_);
  // With sentinels: one resolution at a time; the master they named (nullopt: ask again).
  absl::Mutex resolve_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::optional<RedisAddress> master_ ABSL_GUARDED_BY(mu_);
  int64_t resolutions_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped when the pool moves to another master (announced by a sentinel, or named when it
  // asked them again): older connections are closed on release, and their writes are not
  // acknowledged. generation_master_ is the master of the current generation.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<RedisAddress> generation_master_ ABSL_GUARDED_BY(mu_);
  int64_t switches_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> replicas_in_sync_{-1};
  absl::Notification stop_;
  std::thread switch_thread_;   // with sentinels and follow_switch_master
  std::thread replica_thread_;  // with sentinels, wait_replicas and wait_for_replicas_in_sync
};

// kLuaBytewiseLess defines less(a, b) for Lua scripts: the bytewise string order of sorted-set
// members (Lua's `<` on strings follows the server's collation locale). Prepend it to a
// script that compares ids.
inline constexpr char kLuaBytewiseLess[] = R"lua(
local function less(a, b)
  if a == b then return false end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
)lua";

// kLuaRankAfter defines rank_after(key, score, id) for Lua scripts: the rank of the first
// member of the sorted set `key` strictly after (score, id) in the set's order (by score, then
// member bytewise), found by binary search over the ranks of the members scored `score` (O(log
// n) ZRANGE calls however many share it). It uses less(): prepend kLuaBytewiseLess first.
inline constexpr char kLuaRankAfter[] = R"lua(
local function rank_after(key, score, id)
  local lo = redis.call('ZCOUNT', key, '-inf', '(' .. score)
  local hi = redis.call('ZCOUNT', key, '-inf', score)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local m = redis.call('ZRANGE', key, mid, mid)[1]
    if less(id, m) then hi = mid else lo = mid + 1 end
  end
  return lo
end
)lua";

// kLuaKeyTypeError defines key_type_error(checks) for Lua scripts: the WRONGTYPE error reply
// for the first {key, type} pair of `checks` whose key holds another type (an absent key
// passes), or nil. Prepend it to a script that checks its keys before the first write (Redis
// does not roll a script back):
//   local err = key_type_error({{KEYS[1], 'hash'}, {KEYS[2], 'zset'}})
//   if err then return err end
inline constexpr char kLuaKeyTypeError[] = R"lua(
local function key_type_error(checks)
  for _, c in ipairs(checks) do
    local t = redis.call('TYPE', c[1])['ok']
    if t ~= 'none' and t ~= c[2] then
      return redis.error_reply('WRONGTYPE key ' .. c[1] .. ' holds a ' .. t .. ', not a ' .. c[2])
    end
  end
  return nil
end
)lua";

// LuaScript<kParts...>() is the process-wide RedisScript of the Lua sources `kParts`
// concatenated (helpers such as kLuaBytewiseLess first, then the script), made on first use
// and never destroyed. Each part is a constexpr char array:
//   constexpr char kCommitLua[] = R"lua(...)lua";
//   pool.Eval(LuaScript<kLuaKeyTypeError, kCommitLua>(), keys, args);
template <const char*... kParts>
const RedisScript& LuaScript() {
  static const RedisScript* const script = new RedisScript(absl::StrCat(kParts...));
  return *script;
}

// Reply accessors for parsing results; nullopt when the reply is not of the expected kind.
// ReplyString: the text of a string or status reply. ReplyInt: an integer reply or a decimal
// string. ReplyScore: a sorted-set score holding a whole number.
std::optional<std::string> ReplyString(const RedisReply& reply);
std::optional<int64_t> ReplyInt(const RedisReply& reply);
std::optional<int64_t> ReplyScore(const RedisReply& reply);
// PairsPage is the reply of a paging script, {flag, {a1, b1, a2, b2, ...}}: an integer (e.g. 1
// when the listing ends with this page) and values in pairs (e.g. an id and its score).
// ReplyPairsPage reads one; nullopt when the reply has another shape.
struct PairsPage {
  int64_t flag = 0;
  const std::vector<RedisReply>* items = nullptr;  // a1, b1, a2, b2, ...: owned by the reply
};
std::optional<PairsPage> ReplyPairsPage(const RedisReply& reply);
// MalformedReply is the INTERNAL error for a reply of an unexpected shape to `what`.
absl::Status MalformedReply(std::string_view what);
// CheckPositiveLimit is INVALID_ARGUMENT for a listing limit of zero or less.
absl::Status CheckPositiveLimit(int limit);

// ErrorFromReply turns a Redis error reply into a status naming `what`; any other reply gives
// OK. Errors that mean "try again later" (LOADING after a restart, BUSY script, MASTERDOWN,
// TRYAGAIN, CLUSTERDOWN, READONLY during failover, NOREPLICAS) are UNAVAILABLE like a lost
// connection, OOM is RESOURCE_EXHAUSTED, and the rest (wrong types, script bugs) INTERNAL.
absl::Status ErrorFromReply(const RedisReply& reply, std::string_view what);

}  // namespace simpul

#endif  // SIMPUL_COMMON_REDIS_H_
