// RedisSentinelSet runs a small Redis Sentinel deployment for a test, all on free loopback
// ports: one master, its replicas and a few sentinels monitoring it, each a RedisServer (AOF
// on), so a test can kill, pause or restart any of them. Tests that use it carry the ctest
// label "redis".
#ifndef SIMPUL_TESTS_TESTING_REDIS_SENTINEL_SET_H_
#define SIMPUL_TESTS_TESTING_REDIS_SENTINEL_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "tests/testing/redis_server.h"

namespace simpul::testing {

class RedisSentinelSet {
 public:
  struct Options {
    int replicas = 2;
    int sentinels = 3;
    int quorum = 2;
    std::string master_name = "simpul";
    // Sentinel's down-after-milliseconds and failover-timeout: short, for tests.
    absl::Duration down_after = absl::Milliseconds(1000);
    absl::Duration failover_timeout = absl::Seconds(3);
    // sentinel_password: the sentinels require it (requirepass); PoolOptions carries it.
    std::string sentinel_password;
    // acl: the data servers share the ACL users of deploy/redis-users.acl.in
    // (RedisServer::StartWithSharedAcl; acl_users()): every server replicates as
    // simpul-replica (masteruser/masterauth, also on the first master so that it can rejoin as
    // a replica after a failover), the sentinels log in as simpul-sentinel (sentinel
    // auth-user/auth-pass), and PoolOptions and the set's own commands act as
    // RedisServer::kTestSuperuser.
    bool acl = false;
  };

  // Start launches the master, then the replicas (REPLICAOF the master; waits until they are
  // in sync), then the sentinels, and waits until every sentinel sees all replicas and the
  // other sentinels (so a failover can reach its quorum).
  static absl::StatusOr<std::unique_ptr<RedisSentinelSet>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<RedisSentinelSet>> Start() { return Start(Options()); }
  ~RedisSentinelSet();  // kills the sentinels, then the data servers; removes the ACL files

  const Options& options() const { return options_; }
  // acl_users are the shared ACL users (Options::acl; an empty dir otherwise): e.g.
  // acl_users().dir + "/simpul-registry.password".
  const RedisServer::AclUsers& acl_users() const { return acl_; }
  // SentinelAddresses is "127.0.0.1:<port>,..." of every sentinel (for --redis_sentinels).
  std::string SentinelAddresses() const;

  // PoolOptions are RedisOptions that find the master through the sentinels (with no
  // sentinels: the first master's port), with short
  // timeouts (500 ms to connect, 2 s a command, 1 s to acquire, 200 ms at most between
  // reconnect attempts).
  RedisOptions PoolOptions() const;

  // servers are the data servers: the first one started as the master.
  const std::vector<std::unique_ptr<RedisServer>>& servers() const { return servers_; }
  const std::vector<std::unique_ptr<RedisServer>>& sentinels() const { return sentinels_; }
  // ServerOnPort is the data server on `port` (null if none).
  RedisServer* ServerOnPort(int port) const;

  // MasterPort asks the sentinels (the first that answers) for the master's port.
  absl::StatusOr<int> MasterPort() const;
  // Master is the data server the sentinels name master.
  absl::StatusOr<RedisServer*> Master() const;
  // Failover runs SENTINEL FAILOVER on a sentinel and waits (at most `timeout`) until the
  // sentinels name another master and it answers ROLE master; it returns the new master.
  absl::StatusOr<RedisServer*> Failover(absl::Duration timeout = absl::Seconds(15));
  // WaitForNewMaster waits until the sentinels name a master other than the server on
  // `old_port` and it answers ROLE master.
  absl::StatusOr<RedisServer*> WaitForNewMaster(int old_port, absl::Duration timeout);
  // WaitForReplicas waits until the master reports `count` replicas online.
  absl::Status WaitForReplicas(int count, absl::Duration timeout) const;

  // Command runs one command on the process listening on `port` (a data server or a
  // sentinel), with a short timeout.
  // `password` authenticates as the default user first (e.g. a sentinel's).
  // `password` authenticates as the default user first (or as `user` when given).
  static absl::StatusOr<RedisReply> Command(int port, const std::vector<std::string>& argv,
                                            const std::string& password = "",
                                            const std::string& user = "");
  // ServerCommand runs one command on the data server on `port`, as kTestSuperuser with
  // Options::acl.
  absl::StatusOr<RedisReply> ServerCommand(int port, const std::vector<std::string>& argv) const;
  // SentinelCommand runs one command on sentinel `index`, with the sentinels' password.
  absl::StatusOr<RedisReply> SentinelCommand(size_t index,
                                             const std::vector<std::string>& argv) const;

 private:
  explicit RedisSentinelSet(Options options) : options_(std::move(options)) {}
  absl::Status WaitForSentinels(absl::Duration timeout) const;
  Options options_;
  RedisServer::AclUsers acl_;
  std::vector<std::unique_ptr<RedisServer>> servers_;
  // Destroyed first (declared last): no sentinel reconfigures a server being killed.
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_REDIS_SENTINEL_SET_H_
