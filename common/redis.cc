#include "common/redis.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <mutex>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/redis_sentinel.h"

namespace simpul {
namespace {

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

void IgnoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  sha1_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

RedisConnection::RedisConnection(RedisConnection&& other) noexcept
    : pool_(other.pool_),
      ctx_(std::exchange(other.ctx_, nullptr)),
      generation_(other.generation_),
      broken_(other.broken_),
      peer_lost_(other.peer_lost_),
      custom_timeout_(other.custom_timeout_) {}

RedisConnection::~RedisConnection() {
  if (ctx_ == nullptr) return;
  if (custom_timeout_ && !broken_ &&
      redisSetTimeout(ctx_, absl::ToTimeval(pool_->options_.command_timeout)) != REDIS_OK) {
    broken_ = true;
  }
  pool_->Release(ctx_, generation_, broken_, peer_lost_);
}

absl::Status RedisConnection::TransportError(std::string_view what) {
  const int saved_errno = errno;
  broken_ = true;
  std::string detail = ctx_->err != 0 ? ctx_->errstr : "no reply";
  bool timed_out =
      ctx_->err == REDIS_ERR_IO &&
      (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT ||
       absl::StrContains(detail, "temporarily unavailable"));
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        "redis ", AbslView(what), ": no reply within the ", "command timeout (", detail, ")"));
  }
  peer_lost_ = true;
  return absl::UnavailableError(absl::StrCat("redis ", AbslView(what), ": ", detail));
}

absl::StatusOr<RedisReply> RedisConnection::ReadReply(std::string_view what) {
  void* raw = nullptr;
  if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) return TransportError(what);
  RedisReply reply = Convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  if (reply.is_error() && !pool_->options_.sentinels.empty() &&
      (absl::StartsWith(reply.str, "READONLY") || absl::StartsWith(reply.str, "LOADING") ||
       absl::StartsWith(reply.str, "MASTERDOWN"))) {
    // This server is no longer (or not yet) a usable master: a failover demoted it, or it is
    // loading its data. Drop this connection and the idle ones, and ask the sentinels again.
    broken_ = true;
    peer_lost_ = true;
  }
  if (reply.is_error() && !pool_->options_.user.empty() &&
      (absl::StartsWith(reply.str, "NOPERM") ||
       absl::StrContains(reply.str, "The user executing the script can't"))) {
    // An ACL refusal (of the command, or of one inside a script): Redis does not say whose
    // permissions were missing.
    absl::StrAppend(&reply.str, " (redis user '", pool_->options_.user, "')");
  }
  return reply;
}

namespace {

bool AppendCommand(redisContext* ctx, const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& arg : argv) {
    ptrs.push_back(arg.data());
    lens.push_back(arg.size());
  }
  return redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data()) ==
         REDIS_OK;
}

}  // namespace

absl::StatusOr<RedisReply> RedisConnection::Command(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty Redis command");
  if (broken_) return absl::UnavailableError("redis connection is broken");
  if (!AppendCommand(ctx_, argv)) return TransportError(argv[0]);
  return ReadReply(argv[0]);
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (broken_) return absl::UnavailableError("redis connection is broken");
  for (const auto& argv : commands) {
    if (argv.empty()) return absl::InvalidArgumentError("empty Redis command in pipeline");
  }
  for (const auto& argv : commands) {
    if (!AppendCommand(ctx_, argv)) return TransportError("pipeline");
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (const auto& argv : commands) {
    auto reply = ReadReply(absl::StrCat("pipeline ", argv[0]));
    if (!reply.ok()) return reply.status();
    replies.push_back(*std::move(reply));
  }
  return replies;
}

absl::StatusOr<RedisReply> RedisConnection::Eval(const RedisScript& script,
                                                 const std::vector<std::string>& keys,
                                                 const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(script.sha1());
  argv.push_back(absl::StrCat(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto reply = Command(argv);
  if (!reply.ok() || !reply->is_error() || !absl::StartsWith(reply->str, "NOSCRIPT")) {
    return reply;
  }
  // EVAL runs the script and also caches it, so the next EVALSHA finds it.
  argv[0] = "EVAL";
  argv[1] = script.source();
  return Command(argv);
}

absl::Status RedisConnection::SetCommandTimeout(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("redis command timeout must be positive");
  }
  if (broken_) return absl::UnavailableError("redis connection is broken");
  timeval tv = timeout == absl::InfiniteDuration() ? timeval{0, 0} : absl::ToTimeval(timeout);
  custom_timeout_ = true;
  if (redisSetTimeout(ctx_, tv) != REDIS_OK) return TransportError("set timeout");
  return absl::OkStatus();
}

absl::Status RedisConnection::WaitForReplicas(std::string_view what) {
  absl::Status waited = WaitForReplicasUnobserved(what);
  if (absl::IsUnavailable(waited) && pool_->options_.events != nullptr) {
    pool_->options_.events->WaitFellShort();
  }
  return waited;
}

absl::Status RedisConnection::WaitForReplicasUnobserved(std::string_view what) {
  const RedisOptions& options = pool_->options_;
  if (options.wait_replicas <= 0) return absl::OkStatus();
  const int required = pool_->replicas_required();
  const int64_t wait_ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options.wait_timeout));  // 0 = forever
  const std::string retry = "; retry with the same idempotency key";
  if (absl::Milliseconds(wait_ms) + absl::Milliseconds(200) > options.command_timeout) {
    absl::Status set = SetCommandTimeout(absl::Milliseconds(wait_ms) + options.command_timeout);
    if (!set.ok()) {
      return absl::UnavailableError(absl::StrCat(AbslView(what),
                                                 ": written on the Redis master, but WAIT could "
                                                 "not run: ",
                                                 set.message(), retry));
    }
  }
  absl::StatusOr<RedisReply> reply =
      Command({"WAIT", absl::StrCat(required), absl::StrCat(wait_ms)});
  if (!reply.ok()) {
    return absl::UnavailableError(absl::StrCat(AbslView(what),
                                               ": written on the Redis master, but its "
                                               "confirmation by replicas failed: ",
                                               reply.status().message(), retry));
  }
  if (reply->is_error()) {
    // NOPERM (the Redis user lacks +wait) is a configuration error: INTERNAL, not retried.
    return ErrorFromReply(*reply, absl::StrCat(AbslView(what), ": WAIT after the write"));
  }
  if (reply->type != RedisReply::Type::kInteger) return MalformedReply("WAIT");
  if (reply->integer < required) {
    return absl::UnavailableError(absl::StrCat(
        AbslView(what), ": written on the Redis master but confirmed by ", reply->integer, " of ",
        required, " replicas within ", absl::FormatDuration(absl::Milliseconds(wait_ms)),
        required > options.wait_replicas ? " (every replica in sync)" : "", retry));
  }
  if (pool_->generation() != generation_) {
    // A failover moved the pool while the write was in flight: the server it went to may be
    // an old master that is about to be demoted, and the replica that confirmed it about to
    // be resynced from the new one.
    return absl::UnavailableError(absl::StrCat(
        AbslView(what),
        ": written on a Redis master that the sentinels no longer name (a failover happened "
        "meanwhile), so it may be lost",
        retry));
  }
  return absl::OkStatus();
}

RedisPool::RedisPool(RedisOptions options)
    : options_(std::move(options)),
      connect_backoff_(
          Backoff::Options{.initial = absl::Milliseconds(50), .max = options_.max_backoff}) {
  IgnoreSigpipe();
  if (!options_.sentinels.empty() && options_.follow_switch_master) {
    switch_thread_ = std::thread([this] { FollowSwitchMaster(); });
  }
  if (!options_.sentinels.empty() && options_.wait_replicas > 0 &&
      options_.wait_for_replicas_in_sync) {
    replica_thread_ = std::thread([this] { WatchReplicas(); });
  }
}

RedisPool::~RedisPool() {
  stop_.Notify();
  if (switch_thread_.joinable()) switch_thread_.join();
  if (replica_thread_.joinable()) replica_thread_.join();
  absl::MutexLock lock(&mu_);
  for (const Idle& idle : idle_) redisFree(idle.ctx);
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
}

std::optional<RedisAddress> RedisPool::master() const {
  absl::MutexLock lock(&mu_);
  if (options_.sentinels.empty()) return RedisAddress{options_.host, options_.port};
  return master_;
}

int64_t RedisPool::resolutions() const {
  absl::MutexLock lock(&mu_);
  return resolutions_;
}

int64_t RedisPool::switches() const {
  absl::MutexLock lock(&mu_);
  return switches_;
}

uint64_t RedisPool::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

void RedisPool::SwitchMaster(const RedisAddress& master) {
  std::vector<Idle> to_free;
  {
    absl::MutexLock lock(&mu_);
    if (master_ == master) return;
    master_ = master;
    if (generation_master_ != master) {
      generation_master_ = master;
      ++generation_;
    }
    ++switches_;
    to_free.swap(idle_);
    open_ -= static_cast<int>(to_free.size());
    // Connect to the new master at once, whatever the backoff after failures said.
    next_connect_attempt_ = absl::InfinitePast();
    connect_backoff_.Reset();
  }
  for (const Idle& idle : to_free) redisFree(idle.ctx);
  if (options_.events != nullptr) options_.events->MasterSwitched();
}

namespace {

// SwitchMasterTarget parses the payload of a +switch-master message, "<name> <old-ip>
// <old-port> <new-ip> <new-port>", for the master `name`.
std::optional<RedisAddress> SwitchMasterTarget(const RedisReply& message, std::string_view name) {
  if (message.type != RedisReply::Type::kArray || message.elements.size() != 3 ||
      message.elements[0].str != "message" || message.elements[1].str != "+switch-master") {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(message.elements[2].str, ' ', absl::SkipEmpty());
  int port = 0;
  if (parts.size() != 5 || parts[0] != AbslView(name) || !absl::SimpleAtoi(parts[4], &port) ||
      port < 1 || port > 65535) {
    return std::nullopt;
  }
  return RedisAddress{std::string(parts[3]), port};
}

// IsPromotionOf is true for a +failover-state-reconf-slaves message about the master `name`
// ("master <name> <ip> <port>"): its failover has promoted a replica.
bool IsPromotionOf(const RedisReply& message, std::string_view name) {
  if (message.type != RedisReply::Type::kArray || message.elements.size() != 3 ||
      message.elements[0].str != "message" ||
      message.elements[1].str != "+failover-state-reconf-slaves") {
    return false;
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(message.elements[2].str, ' ', absl::SkipEmpty());
  return parts.size() >= 2 && parts[0] == "master" && parts[1] == AbslView(name);
}

}  // namespace

void RedisPool::FollowSwitchMaster() {
  size_t next = 0;
  while (!stop_.HasBeenNotified()) {
    const RedisAddress& sentinel = options_.sentinels[next++ % options_.sentinels.size()];
    redisContext* ctx = redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port,
                                                absl::ToTimeval(options_.sentinel_timeout));
    bool subscribed = ctx != nullptr && ctx->err == 0 &&
                      redisSetTimeout(ctx, absl::ToTimeval(options_.sentinel_timeout)) == REDIS_OK;
    auto command = [&](const std::vector<std::string>& argv) -> std::optional<RedisReply> {
      void* raw = nullptr;
      if (!AppendCommand(ctx, argv) || redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
        return std::nullopt;
      }
      RedisReply reply = Convert(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      return reply;
    };
    if (subscribed && !options_.sentinel_password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!options_.sentinel_user.empty()) auth.push_back(options_.sentinel_user);
      auth.push_back(options_.sentinel_password);
      std::optional<RedisReply> reply = command(auth);
      subscribed = reply && !reply->is_error();
    }
    if (subscribed) {
      std::optional<RedisReply> reply =
          command({"SUBSCRIBE", "+switch-master", "+failover-state-reconf-slaves"});
      subscribed = reply && !reply->is_error();
    }
    // While subscribed: wait for messages, waking every 200 ms to notice stop_.
    while (subscribed && !stop_.HasBeenNotified()) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(ctx, &raw) != REDIS_OK) break;
      if (raw != nullptr) {
        RedisReply message = Convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        if (std::optional<RedisAddress> master =
                SwitchMasterTarget(message, options_.master_name)) {
          SwitchMaster(*master);
        } else if (IsPromotionOf(message, options_.master_name)) {
          // The promoted replica is master now, before the failover ends (+switch-master
          // comes after the other replicas are reconfigured): the sentinels name it already.
          if (absl::StatusOr<RedisAddress> named = ResolveRedisMaster(options_); named.ok()) {
            SwitchMaster(*named);
          }
        }
        continue;
      }
      pollfd fd{ctx->fd, POLLIN, 0};
      const int ready = poll(&fd, 1, 200);
      if (ready < 0 && errno != EINTR) break;
      if (ready > 0 && redisBufferRead(ctx) != REDIS_OK) break;
    }
    if (ctx != nullptr) redisFree(ctx);
    // Lost or never had the subscription: try the next sentinel after a pause.
    stop_.WaitForNotificationWithTimeout(absl::Milliseconds(500));
  }
}

void RedisPool::WatchReplicas() {
  ReplicaWatch watch;
  absl::Time next_master_check = absl::Now() + absl::Seconds(1);
  while (!stop_.HasBeenNotified()) {
    if (absl::Now() >= next_master_check) {
      next_master_check = absl::Now() + absl::Seconds(1);
      // Without a master known, the next Acquire asks the sentinels anyway.
      if (std::optional<RedisAddress> known = master()) {
        absl::StatusOr<RedisAddress> named = ResolveRedisMaster(options_);
        if (named.ok() && !(*named == *known)) SwitchMaster(*named);
      }
    }
    PollReplicas(watch);
    stop_.WaitForNotificationWithTimeout(options_.replica_poll_interval);
  }
}

void RedisPool::PollReplicas(ReplicaWatch& watch) {
  absl::StatusOr<RedisConnection> conn = Acquire();
  if (!conn.ok()) return;
  // A master answers ROLE with "master", its replication offset, and {ip, port, offset
  // acknowledged} for each replica online (not those still loading a full resync).
  absl::StatusOr<RedisReply> role = conn->Command({"ROLE"});
  if (!role.ok() || !ReplyIsMasterRole(*role) || role->elements.size() < 3 ||
      role->elements[2].type != RedisReply::Type::kArray) {
    return;
  }
  const std::optional<int64_t> offset = ReplyInt(role->elements[1]);
  if (!offset) return;
  if (conn->generation_ != watch.generation) {
    // Another master: its offsets and replicas start afresh.
    watch = ReplicaWatch{};
    watch.generation = conn->generation_;
  }
  const absl::Time now = absl::Now();
  // Caught up: all the master had at the latest poll at least replica_max_lag ago (in the
  // first polls of a master, every online replica).
  std::optional<int64_t> floor;
  size_t floor_index = 0;
  for (size_t i = 0; i < watch.history.size(); ++i) {
    if (watch.history[i].at <= now - options_.replica_max_lag) {
      floor = watch.history[i].offset;
      floor_index = i;
    }
  }
  // Every replica online counts from the first poll that sees it (the sentinels may promote
  // one that has just finished its resync); one not caught up leaves after the grace.
  // A replica past its grace stays in the map (not counted) while ROLE still lists it, so that
  // a stopped replica the master has not yet dropped is not taken for a new one.
  std::set<std::string> online;
  std::set<std::string> caught_up;
  for (const RedisReply& replica : role->elements[2].elements) {
    if (replica.type != RedisReply::Type::kArray || replica.elements.size() < 3) continue;
    const std::string address = absl::StrCat(replica.elements[0].str, ":", replica.elements[1].str);
    online.insert(address);
    const std::optional<int64_t> acknowledged = ReplyInt(replica.elements[2]);
    if (acknowledged && (!floor || *acknowledged >= *floor)) {
      caught_up.insert(address);
      watch.replicas[address] = std::nullopt;
    } else if (watch.replicas.count(address) == 0) {
      watch.replicas[address] = now;
    }
  }
  int in_sync = 0;
  for (auto it = watch.replicas.begin(); it != watch.replicas.end();) {
    std::optional<absl::Time>& missed_since = it->second;
    if (caught_up.count(it->first) == 0 && !missed_since) missed_since = now;
    if (!missed_since || now - *missed_since <= options_.replica_grace) {
      ++in_sync;
      ++it;
    } else if (online.count(it->first) == 0) {
      it = watch.replicas.erase(it);
    } else {
      ++it;
    }
  }
  // Keep the floor and the newer samples: the next floor is one of them.
  watch.history.erase(watch.history.begin(),
                      watch.history.begin() + static_cast<std::ptrdiff_t>(floor_index));
  watch.history.push_back(ReplicaWatch::OffsetSample{now, *offset});
  replicas_in_sync_.store(in_sync, std::memory_order_relaxed);
  if (options_.events != nullptr) options_.events->ReplicasInSync(in_sync);
}

absl::StatusOr<RedisAddress> RedisPool::Target(uint64_t* generation) {
  if (options_.sentinels.empty()) {
    absl::MutexLock lock(&mu_);
    *generation = generation_;
    return RedisAddress{options_.host, options_.port};
  }
  absl::MutexLock resolving(&resolve_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (master_) {
      *generation = generation_;
      return *master_;
    }
  }
  absl::StatusOr<RedisAddress> master = ResolveRedisMaster(options_);
  {
    absl::MutexLock lock(&mu_);
    ++resolutions_;
    if (master.ok()) {
      master_ = *master;
      if (generation_master_ != *master) {
        // Another master than before (a failover the pool was not told of): connections
        // to the old one are of an older generation.
        generation_master_ = *master;
        ++generation_;
      }
    }
    *generation = generation_;
  }
  if (options_.events != nullptr) options_.events->MasterResolved(master.ok());
  return master;
}

absl::StatusOr<redisContext*> RedisPool::Connect(uint64_t* generation) {
  absl::StatusOr<RedisAddress> target = Target(generation);
  if (!target.ok()) return target.status();
  const std::string where = absl::StrCat(target->host, ":", target->port);
  redisContext* ctx = redisConnectWithTimeout(target->host.c_str(), target->port,
                                              absl::ToTimeval(options_.connect_timeout));
  if (ctx == nullptr) {
    return absl::UnavailableError(absl::StrCat("redis ", where, ": cannot allocate a context"));
  }
  if (ctx->err != 0) {
    absl::Status status =
        absl::UnavailableError(absl::StrCat("redis ", where, ": connect: ", ctx->errstr));
    redisFree(ctx);
    return status;
  }
  if (redisSetTimeout(ctx, absl::ToTimeval(options_.command_timeout)) != REDIS_OK) {
    absl::Status status =
        absl::UnavailableError(absl::StrCat("redis ", where, ": set timeout: ", ctx->errstr));
    redisFree(ctx);
    return status;
  }
  redisEnableKeepAlive(ctx);
  if (absl::Status authenticated = Authenticate(ctx, where); !authenticated.ok()) {
    redisFree(ctx);
    return authenticated;
  }
  if (!options_.sentinels.empty()) {
    if (absl::Status checked = CheckMaster(ctx, where); !checked.ok()) {
      redisFree(ctx);
      return checked;
    }
  }
  return ctx;
}

absl::Status RedisPool::CheckMaster(redisContext* ctx, std::string_view where) {
  void* raw = nullptr;
  if (!AppendCommand(ctx, {"ROLE"}) || redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "redis ", AbslView(where), ": ROLE: ", ctx->err != 0 ? ctx->errstr : "no reply"));
  }
  RedisReply reply = Convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  if (ReplyIsMasterRole(reply)) return absl::OkStatus();
  if (reply.is_error()) {
    return absl::UnavailableError(
        absl::StrCat("redis ", AbslView(where), ": ROLE refused: ", reply.str,
                     " (the Redis user needs +role to check the master the sentinels name)"));
  }
  std::string role = reply.type == RedisReply::Type::kArray && !reply.elements.empty()
                         ? reply.elements[0].str
                         : "unknown";
  return absl::UnavailableError(absl::StrCat(
      "redis ", AbslView(where), ": the sentinels named it master '", options_.master_name,
      "' but it answers ROLE ", role, " (a failover in progress?)"));
}

absl::Status RedisPool::Authenticate(redisContext* ctx, std::string_view where) {
  if (options_.password.empty()) return absl::OkStatus();
  std::vector<std::string> argv = {"AUTH"};
  if (!options_.user.empty()) argv.push_back(options_.user);
  argv.push_back(options_.password);
  const std::string who =
      options_.user.empty() ? "the default user" : absl::StrCat("user '", options_.user, "'");
  void* raw = nullptr;
  if (!AppendCommand(ctx, argv) || redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
    return absl::UnavailableError(absl::StrCat("redis ", AbslView(where), ": AUTH as ", who, ": ",
                                               ctx->err != 0 ? ctx->errstr : "no reply"));
  }
  RedisReply reply = Convert(static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  if (!reply.is_error()) return absl::OkStatus();
  // The reply never holds the password (WRONGPASS, NOPERM, or "ERR AUTH <password> called
  // without any password configured"); the password is not repeated here either.
  return absl::UnavailableError(
      absl::StrCat("redis ", AbslView(where), ": AUTH as ", who, " refused: ", reply.str,
                   " (check the Redis user and its password file; the password is not shown)"));
}

absl::StatusOr<RedisConnection> RedisPool::Acquire() {
  const absl::Time deadline = absl::Now() + options_.acquire_timeout;
  mu_.Lock();
  while (true) {
    if (!idle_.empty()) {
      const Idle idle = idle_.back();
      idle_.pop_back();
      mu_.Unlock();
      return RedisConnection(this, idle.ctx, idle.generation);
    }
    if (open_ < options_.pool_size) {
      const absl::Time now = absl::Now();
      if (now < next_connect_attempt_) {
        absl::Status status = absl::UnavailableError(
            absl::StrCat(last_connect_error_, " (next attempt in ",
                         absl::FormatDuration(next_connect_attempt_ - now), ")"));
        mu_.Unlock();
        return status;
      }
      ++open_;  // reserve the slot while connecting without the lock
      mu_.Unlock();
      uint64_t generation = 0;
      absl::StatusOr<redisContext*> ctx = Connect(&generation);
      mu_.Lock();
      if (ctx.ok()) {
        connect_backoff_.Reset();
        next_connect_attempt_ = absl::InfinitePast();
        mu_.Unlock();
        return RedisConnection(this, *ctx, generation);
      }
      --open_;
      master_.reset();  // with sentinels, ask them again at the next attempt
      next_connect_attempt_ = absl::Now() + connect_backoff_.Next();
      last_connect_error_ = std::string(ctx.status().message());
      mu_.Unlock();
      return ctx.status();
    }
    bool woken =
        mu_.AwaitWithDeadline(absl::Condition(
                                  +[](RedisPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
                                    return !p->idle_.empty() || p->open_ < p->options_.pool_size;
                                  },
                                  this),
                              deadline);
    if (!woken) {
      mu_.Unlock();
      return absl::ResourceExhaustedError(absl::StrCat(
          "no Redis connection free within ", absl::FormatDuration(options_.acquire_timeout),
          " (pool of ", options_.pool_size, ")"));
    }
  }
}

void RedisPool::Release(redisContext* ctx, uint64_t generation, bool broken, bool peer_lost) {
  std::vector<redisContext*> to_free;
  {
    absl::MutexLock lock(&mu_);
    if (!broken && generation == generation_) {
      idle_.push_back(Idle{ctx, generation});
      return;
    }
    to_free.push_back(ctx);
    if (peer_lost && generation == generation_) {
      // The server is likely gone (or, with sentinels, no longer the master): idle
      // connections would fail the same way one by one, and the sentinels may name another.
      for (const Idle& idle : idle_) to_free.push_back(idle.ctx);
      idle_.clear();
      master_.reset();
    }
    open_ -= static_cast<int>(to_free.size());
  }
  for (redisContext* c : to_free) redisFree(c);
}

absl::StatusOr<RedisReply> RedisPool::Command(const std::vector<std::string>& argv) {
  absl::StatusOr<RedisConnection> conn = Acquire();
  if (!conn.ok()) return conn.status();
  return conn->Command(argv);
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  absl::StatusOr<RedisConnection> conn = Acquire();
  if (!conn.ok()) return conn.status();
  return conn->Pipeline(commands);
}

absl::StatusOr<RedisReply> RedisPool::Eval(const RedisScript& script,
                                           const std::vector<std::string>& keys,
                                           const std::vector<std::string>& args) {
  absl::StatusOr<RedisConnection> conn = Acquire();
  if (!conn.ok()) return conn.status();
  return conn->Eval(script, keys, args);
}

absl::StatusOr<RedisReply> RedisPool::EvalWrite(const RedisScript& script,
                                                const std::vector<std::string>& keys,
                                                const std::vector<std::string>& args) {
  absl::StatusOr<RedisConnection> conn = Acquire();
  if (!conn.ok()) return conn.status();
  absl::StatusOr<RedisReply> reply = conn->Eval(script, keys, args);
  if (!reply.ok() || reply->is_error()) return reply;
  if (absl::Status waited = conn->WaitForReplicas("write"); !waited.ok()) return waited;
  return reply;
}

absl::Status RedisPool::Ping() {
  absl::StatusOr<RedisReply> reply = Command({"PING"});
  if (!reply.ok()) return reply.status();
  if (reply->type == RedisReply::Type::kStatus && reply->str == "PONG") return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("redis PING: ", reply->str));
}

std::optional<std::string> ReplyString(const RedisReply& reply) {
  if (reply.type == RedisReply::Type::kString || reply.type == RedisReply::Type::kStatus) {
    return reply.str;
  }
  return std::nullopt;
}

std::optional<int64_t> ReplyInt(const RedisReply& reply) {
  if (reply.type == RedisReply::Type::kInteger) return reply.integer;
  int64_t value = 0;
  if ((reply.type == RedisReply::Type::kString || reply.type == RedisReply::Type::kStatus) &&
      absl::SimpleAtoi(reply.str, &value)) {
    return value;
  }
  return std::nullopt;
}

std::optional<PairsPage> ReplyPairsPage(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2 ||
      reply.elements[1].type != RedisReply::Type::kArray ||
      reply.elements[1].elements.size() % 2 != 0) {
    return std::nullopt;
  }
  std::optional<int64_t> flag = ReplyInt(reply.elements[0]);
  if (!flag) return std::nullopt;
  return PairsPage{*flag, &reply.elements[1].elements};
}

std::optional<int64_t> ReplyScore(const RedisReply& reply) {
  double value = 0;
  if (reply.type != RedisReply::Type::kString || !absl::SimpleAtod(reply.str, &value) ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::llround(value));
}

absl::Status MalformedReply(std::string_view what) {
  return absl::InternalError(absl::StrCat("unexpected Redis reply to ", AbslView(what)));
}

absl::Status CheckPositiveLimit(int limit) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("limit must be positive, got ", limit));
  }
  return absl::OkStatus();
}

absl::Status ErrorFromReply(const RedisReply& reply, std::string_view what) {
  if (!reply.is_error()) return absl::OkStatus();
  for (const char* transient :
       {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "NOREPLICAS"}) {
    if (absl::StartsWith(reply.str, transient)) {
      return absl::UnavailableError(
          absl::StrCat(AbslView(what), ": redis unavailable: ", reply.str));
    }
  }
  if (absl::StartsWith(reply.str, "OOM")) {
    return absl::ResourceExhaustedError(absl::StrCat(AbslView(what), ": redis: ", reply.str));
  }
  return absl::InternalError(absl::StrCat(AbslView(what), ": redis error: ", reply.str));
}

}  // namespace simpul
