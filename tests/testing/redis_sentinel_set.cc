#include "tests/testing/redis_sentinel_set.h"

#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/redis_auth.h"
#include "common/redis_sentinel.h"

namespace simpul::testing {
namespace {

// Field is the value of `name` in a flat reply [name, value, name, value, ...].
std::string Field(const RedisReply& reply, std::string_view name) {
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].str == name) return reply.elements[i + 1].str;
  }
  return "";
}

}  // namespace

absl::StatusOr<RedisReply> RedisSentinelSet::Command(int port, const std::vector<std::string>& argv,
                                                     const std::string& password,
                                                     const std::string& user) {
  RedisOptions options;
  options.port = port;
  options.user = user;
  options.password = password;
  options.pool_size = 1;
  options.connect_timeout = absl::Milliseconds(300);
  options.command_timeout = absl::Seconds(2);
  RedisPool pool(options);
  return pool.Command(argv);
}

absl::StatusOr<RedisReply> RedisSentinelSet::SentinelCommand(
    size_t index, const std::vector<std::string>& argv) const {
  return Command(sentinels_.at(index)->port(), argv, options_.sentinel_password);
}

absl::StatusOr<RedisReply> RedisSentinelSet::ServerCommand(
    int port, const std::vector<std::string>& argv) const {
  if (!options_.acl) return Command(port, argv);
  return Command(port, argv, acl_.superuser_password, RedisServer::kTestSuperuser);
}

RedisSentinelSet::~RedisSentinelSet() {
  sentinels_.clear();
  servers_.clear();
  if (!acl_.dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(acl_.dir).parent_path(), ec);
  }
}

std::string RedisSentinelSet::SentinelAddresses() const {
  std::vector<std::string> addresses;
  for (const auto& sentinel : sentinels_) {
    addresses.push_back(absl::StrCat("127.0.0.1:", sentinel->port()));
  }
  return absl::StrJoin(addresses, ",");
}

absl::StatusOr<std::unique_ptr<RedisSentinelSet>> RedisSentinelSet::Start(Options options) {
  std::unique_ptr<RedisSentinelSet> set(new RedisSentinelSet(options));
  // With ACL users every data server (the first master too: it may rejoin as a replica)
  // replicates as simpul-replica; the sentinels log in as simpul-sentinel.
  std::vector<std::string> replication_args;
  std::string sentinel_auth;
  if (options.acl) {
    const std::string dir = MakeTempDir("simpul-redis-acl-");
    if (dir.empty()) return absl::InternalError("no temporary directory");
    absl::StatusOr<RedisServer::AclUsers> acl = RedisServer::WriteAclUsers(dir + "/redis-auth");
    if (!acl.ok()) return acl.status();
    set->acl_ = *std::move(acl);
    auto password = [&](const std::string& user) {
      return ReadRedisPasswordFile(absl::StrCat(set->acl_.dir, "/", user, ".password"));
    };
    absl::StatusOr<std::string> replica_password = password("simpul-replica");
    if (!replica_password.ok()) return replica_password.status();
    absl::StatusOr<std::string> sentinel_password = password("simpul-sentinel");
    if (!sentinel_password.ok()) return sentinel_password.status();
    replication_args = {"--masteruser", "simpul-replica", "--masterauth", *replica_password};
    sentinel_auth = absl::StrCat("sentinel auth-user ", options.master_name,
                                 " simpul-sentinel\nsentinel auth-pass ", options.master_name, " ",
                                 *sentinel_password, "\n");
  }
  auto start_server = [&](std::vector<std::string> args) {
    // A replica that needs a full resync (an old master rejoining) gets it at once, not after
    // Redis's default 5 s wait for more replicas.
    args.insert(args.end(), {"--repl-diskless-sync-delay", "0"});
    args.insert(args.end(), replication_args.begin(), replication_args.end());
    return options.acl ? RedisServer::StartWithSharedAcl(set->acl_, std::move(args))
                       : RedisServer::StartWithArgs(std::move(args));
  };
  auto master = start_server({});
  if (!master.ok()) return master.status();
  const int master_port = (*master)->port();
  set->servers_.push_back(*std::move(master));
  for (int i = 0; i < options.replicas; ++i) {
    auto replica = start_server(
        {"--replicaof", "127.0.0.1", absl::StrCat(master_port), "--repl-ping-replica-period", "1"});
    if (!replica.ok()) return replica.status();
    set->servers_.push_back(*std::move(replica));
  }
  if (absl::Status synced = set->WaitForReplicas(options.replicas, absl::Seconds(15));
      !synced.ok()) {
    return synced;
  }
  const std::string name = options.master_name;
  std::string config = absl::StrCat("sentinel monitor ", name, " 127.0.0.1 ", master_port, " ",
                                    options.quorum, "\n", "sentinel down-after-milliseconds ", name,
                                    " ", absl::ToInt64Milliseconds(options.down_after), "\n",
                                    "sentinel failover-timeout ", name, " ",
                                    absl::ToInt64Milliseconds(options.failover_timeout), "\n",
                                    "sentinel parallel-syncs ", name, " 1\n", sentinel_auth);
  if (!options.sentinel_password.empty()) {
    // The sentinels require it from clients and send it to each other.
    absl::StrAppend(&config, "requirepass ", options.sentinel_password, "\n",
                    "sentinel sentinel-pass ", options.sentinel_password, "\n");
  }
  for (int i = 0; i < options.sentinels; ++i) {
    auto sentinel = RedisServer::StartSentinel(config);
    if (!sentinel.ok()) return sentinel.status();
    set->sentinels_.push_back(*std::move(sentinel));
  }
  if (absl::Status ready = set->WaitForSentinels(absl::Seconds(20)); !ready.ok()) return ready;
  return set;
}

RedisOptions RedisSentinelSet::PoolOptions() const {
  RedisOptions options;
  options.port = servers_.front()->port();  // without sentinels: the first master
  for (const auto& sentinel : sentinels_) {
    options.sentinels.push_back(RedisAddress{"127.0.0.1", sentinel->port()});
  }
  options.master_name = options_.master_name;
  options.sentinel_password = options_.sentinel_password;
  options.pool_size = 4;
  options.connect_timeout = absl::Milliseconds(500);
  options.command_timeout = absl::Seconds(2);
  options.acquire_timeout = absl::Seconds(1);
  options.max_backoff = absl::Milliseconds(200);
  if (options_.acl) {
    options.user = RedisServer::kTestSuperuser;
    options.password = acl_.superuser_password;
  }
  return options;
}

RedisServer* RedisSentinelSet::ServerOnPort(int port) const {
  for (const auto& server : servers_) {
    if (server->port() == port) return server.get();
  }
  return nullptr;
}

absl::StatusOr<int> RedisSentinelSet::MasterPort() const {
  RedisOptions options = PoolOptions();
  absl::StatusOr<RedisAddress> master = ResolveRedisMaster(options);
  if (!master.ok()) return master.status();
  return master->port;
}

absl::StatusOr<RedisServer*> RedisSentinelSet::Master() const {
  absl::StatusOr<int> port = MasterPort();
  if (!port.ok()) return port.status();
  RedisServer* server = ServerOnPort(*port);
  if (server == nullptr) {
    return absl::InternalError(absl::StrCat("the sentinels name port ", *port, " master"));
  }
  return server;
}

absl::StatusOr<RedisServer*> RedisSentinelSet::WaitForNewMaster(int old_port,
                                                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no answer yet";
  while (absl::Now() < deadline) {
    absl::StatusOr<int> port = MasterPort();
    if (!port.ok()) {
      last = std::string(port.status().message());
    } else if (*port == old_port) {
      last = "the sentinels still name the old master";
    } else {
      absl::StatusOr<RedisReply> role = ServerCommand(*port, {"ROLE"});
      if (role.ok() && ReplyIsMasterRole(*role) && ServerOnPort(*port) != nullptr) {
        return ServerOnPort(*port);
      }
      last = absl::StrCat("port ", *port, " is named but not yet master");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no new master within ", absl::FormatDuration(timeout), ": ", last));
}

absl::StatusOr<RedisServer*> RedisSentinelSet::Failover(absl::Duration timeout) {
  absl::StatusOr<int> old_port = MasterPort();
  if (!old_port.ok()) return old_port.status();
  absl::StatusOr<RedisReply> reply =
      SentinelCommand(0, {"SENTINEL", "FAILOVER", options_.master_name});
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return absl::InternalError("SENTINEL FAILOVER: " + reply->str);
  return WaitForNewMaster(*old_port, timeout);
}

absl::Status RedisSentinelSet::WaitForReplicas(int count, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (absl::Now() < deadline) {
    for (const auto& server : servers_) {
      absl::StatusOr<RedisReply> info = ServerCommand(server->port(), {"INFO", "replication"});
      if (!info.ok() || !absl::StrContains(info->str, "role:master")) continue;
      last = info->str;
      int online = 0;
      for (size_t at = info->str.find("state=online"); at != std::string::npos;
           at = info->str.find("state=online", at + 1)) {
        ++online;
      }
      if (online >= count) return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("fewer than ", count, " replicas online within ",
                                                  absl::FormatDuration(timeout), ": ", last));
}

absl::Status RedisSentinelSet::WaitForSentinels(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (absl::Now() < deadline) {
    bool ready = true;
    for (size_t i = 0; i < sentinels_.size(); ++i) {
      const auto& sentinel = sentinels_[i];
      absl::StatusOr<RedisReply> master =
          SentinelCommand(i, {"SENTINEL", "MASTER", options_.master_name});
      if (!master.ok() || master->type != RedisReply::Type::kArray) {
        ready = false;
        last = master.ok() ? master->str : std::string(master.status().message());
        break;
      }
      const std::string sentinels = Field(*master, "num-other-sentinels");
      const std::string replicas = Field(*master, "num-slaves");
      if (sentinels != absl::StrCat(options_.sentinels - 1) ||
          replicas != absl::StrCat(options_.replicas)) {
        ready = false;
        last = absl::StrCat("sentinel ", sentinel->port(), " sees ", sentinels,
                            " other sentinels and ", replicas, " replicas");
        break;
      }
    }
    if (ready) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("the sentinels did not find each other within ",
                                                  absl::FormatDuration(timeout), ": ", last));
}

}  // namespace simpul::testing
