// RedisServer starts a real redis-server for a test on a free loopback port with a temporary
// data directory (AOF on by default) and stops it afterwards. Tests that use it carry the
// ctest label "redis".
#ifndef SIMPUL_TESTS_TESTING_REDIS_SERVER_H_
#define SIMPUL_TESTS_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis.h"

namespace simpul::testing {

// PickFreePort returns a loopback TCP port that was free a moment ago.
int PickFreePort();

// MakeTempDir creates a fresh directory under $TMPDIR (or /tmp).
std::string MakeTempDir(const std::string& prefix);

class RedisServer {
 public:
  // Start launches redis-server (from PATH) bound to 127.0.0.1 and waits until it answers
  // PING (or fails after 10 s).
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(bool append_only = true);
  // StartWithConfig launches redis-server with the directives of `config_file` (e.g.
  // deploy/redis.conf, to measure under production settings: persistence, encodings); only
  // the port, bind address, data directory, log file and foreground mode are the test's.
  static absl::StatusOr<std::unique_ptr<RedisServer>> StartWithConfig(
      const std::string& config_file);
  // StartWithAcl launches redis-server with the ACL users of deploy/redis-users.acl.in: it
  // runs deploy/redis-users into acl_dir() (the users' password files and users.acl) and adds
  // one more user, kTestSuperuser (every key and command), whose credentials PoolOptions()
  // carries, so a test's own pools may still inspect and break everything. The default user
  // is off: unauthenticated connections are refused.
  static absl::StatusOr<std::unique_ptr<RedisServer>> StartWithAcl(bool append_only = true);
  static constexpr char kTestSuperuser[] = "simpul-test";
  // StartWithArgs is Start (AOF on) with more redis-server arguments, e.g. {"--replicaof",
  // "127.0.0.1", "6379"}; Restart keeps them.
  static absl::StatusOr<std::unique_ptr<RedisServer>> StartWithArgs(
      std::vector<std::string> extra_args);
  // AclUsers are the ACL users of deploy/redis-users.acl.in plus kTestSuperuser, written once
  // into `dir` (WriteAclUsers), so that several servers (a master and its replicas) share them.
  struct AclUsers {
    std::string dir;                 // <user>.password files and users.acl
    std::string superuser_password;  // kTestSuperuser's
  };
  static absl::StatusOr<AclUsers> WriteAclUsers(const std::string& dir);
  // StartWithSharedAcl is StartWithArgs with the users of `acl` (as StartWithAcl, whose
  // acl_dir(), PasswordFile() and PoolOptions() it gives); Restart keeps them.
  static absl::StatusOr<std::unique_ptr<RedisServer>> StartWithSharedAcl(
      const AclUsers& acl, std::vector<std::string> extra_args);
  // StartSentinel launches redis-server --sentinel with a config file holding
  // `sentinel_config` (e.g. "sentinel monitor simpul 127.0.0.1 6379 2"), written once into the
  // data directory (Sentinel rewrites it; Restart keeps what it learnt).
  static absl::StatusOr<std::unique_ptr<RedisServer>> StartSentinel(
      const std::string& sentinel_config);
  ~RedisServer();  // kills the server and removes the data directory

  int port() const { return port_; }
  // PoolOptions are the options of a RedisPool on this server (the defaults otherwise), as
  // kTestSuperuser when the server runs with ACL users.
  RedisOptions PoolOptions() const {
    RedisOptions options;
    options.port = port_;
    if (!acl_dir_.empty()) {
      options.user = kTestSuperuser;
      options.password = superuser_password_;
    }
    return options;
  }
  // acl_dir is the directory of the ACL users' password files (StartWithAcl; "" otherwise).
  const std::string& acl_dir() const { return acl_dir_; }
  // PasswordFile is the password file of an ACL user of deploy/redis-users.acl.in.
  std::string PasswordFile(const std::string& user) const {
    return acl_dir_ + "/" + user + ".password";
  }
  // PoolOptionsFor are PoolOptions authenticating as `user` (read from its password file).
  absl::StatusOr<RedisOptions> PoolOptionsFor(const std::string& user) const;
  const std::string& data_dir() const { return dir_; }

  // Kill sends SIGKILL and waits for the process to exit: nothing is flushed beyond what
  // appendfsync already wrote.
  void Kill();
  // Restart starts the server again on the same port and data directory (after Kill) and
  // waits until it answers PING with the data loaded.
  absl::Status Restart();
  // Pause stops the process (SIGSTOP) without closing its connections: it neither answers
  // nor acknowledges replication until Resume (SIGCONT). The destructor resumes it first.
  void Pause();
  void Resume();
  pid_t pid() const { return pid_; }

 private:
  RedisServer(int port, std::string dir, bool append_only, std::string config_file)
      : port_(port),
        dir_(std::move(dir)),
        append_only_(append_only),
        config_file_(std::move(config_file)) {}
  static absl::StatusOr<std::unique_ptr<RedisServer>> StartImpl(
      bool append_only, const std::string& config_file, bool acl = false,
      std::vector<std::string> extra_args = {}, const std::string& sentinel_config = "",
      const AclUsers* shared_acl = nullptr);
  absl::Status Launch();
  int port_;
  std::string dir_;
  bool append_only_;
  std::string config_file_;  // empty: the test defaults (no config file)
  std::string acl_dir_;      // empty: no ACL users (the default user, no password)
  std::string superuser_password_;
  std::vector<std::string> extra_args_;  // StartWithArgs
  bool sentinel_ = false;                // StartSentinel: config_file_ is the sentinel's
  bool paused_ = false;
  pid_t pid_ = -1;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_REDIS_SERVER_H_
