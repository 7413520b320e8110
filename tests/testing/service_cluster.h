// ServiceCluster is the one harness of the end-to-end tests: a real redis-server and any of the
// Simpul binaries (simpul-registry, simpul-complaints, simpul-monitoring, simpul-gateway), each
// started on port 0 with the bound ports read from its "serving" log line, waited for until
// grpc.health.v1 reports SERVING, wired to the services started before it, and killed, paused
// or restarted on the same ports as a test needs. Identity tokens come from its TokenMinter,
// whose keys every binary of the cluster reads (the gateway and monitoring their private keys,
// the services their trusted-keys files). With Options::internal_tls every binary gets a
// certificate of a CA made by deploy/pki in the cluster's directory (mutual TLS between the
// components), and the channels of the services' ports present the "operator" certificate.
//
//     auto cluster = ServiceCluster::Create();
//     ASSERT_THAT(cluster, IsOk());
//     ASSERT_THAT((*cluster)->Start(Binary::kRegistry), IsOk());
//     auto stub = Registry::NewStub((*cluster)->registry().channel());
#ifndef SIMPUL_TESTS_TESTING_SERVICE_CLUSTER_H_
#define SIMPUL_TESTS_TESTING_SERVICE_CLUSTER_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.pb.h"
#include "tests/testing/identity_tokens.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_sentinel_set.h"
#include "tests/testing/redis_server.h"

namespace simpul::testing {

using ServingStatus = ::grpc::health::v1::HealthCheckResponse::ServingStatus;
inline constexpr ServingStatus kServing = ::grpc::health::v1::HealthCheckResponse::SERVING;
inline constexpr ServingStatus kNotServing = ::grpc::health::v1::HealthCheckResponse::NOT_SERVING;

// Binary is one of the programs a ServiceCluster runs.
enum class Binary { kRegistry, kComplaints, kMonitoring, kGateway };

// ServiceOptions are what one test changes about a binary it starts.
struct ServiceOptions {
  // name names the log file (<dir>/<name>.log); default: "registry", "complaints",
  // "monitoring", "gateway", with "-2", "-3" ... for further instances.
  std::string name;
  // flags are added to the defaults; a flag whose name ("--name=") a default has replaces it.
  // Defaults: --listen, --admin_listen (and the gateway's --rest_listen) on 127.0.0.1:0,
  // --redis_addr, the identity keys (--identity_trusted_keys for the services,
  // --identity_private_key_file for monitoring and the gateway), --holidays_dir (registry,
  // complaints, monitoring),
  // --policy_file (gateway), and the address of every service already started that the
  // binary calls (--registry_addr, --complaints_addr, --monitoring_addr).
  std::vector<std::string> flags;
  // env is added to the test's environment ("NAME=value" each).
  std::vector<std::string> env;
  // redis_port: the Redis of this binary; 0 is the cluster's.
  int redis_port = 0;
  // wait_serving: Start returns once grpc.health.v1 reports SERVING (else once it listens).
  bool wait_serving = true;
};

// ServiceProcess is one running (or stopped) binary of a cluster.
class ServiceProcess {
 public:
  ServiceProcess(Binary binary, std::string path, std::string log_path,
                 std::vector<std::string> argv_without_ports, std::vector<std::string> env,
                 bool wait_serving, const TokenMinter* tokens = nullptr);
  ~ServiceProcess();

  Binary binary() const { return binary_; }
  // health_service is the name the binary reports in grpc.health.v1.
  const std::string& health_service() const { return health_service_; }
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  int rest_port() const { return rest_port_; }  // the gateway's REST front (0 otherwise)
  std::string address() const;                  // "127.0.0.1:<port>"
  // channel is one channel to the gRPC port that reconnects within 250 ms, so it outlives
  // restarts (the port stays the same): plaintext, or mutual TLS after UseTls. It binds the
  // cluster's any-service tokens to this binary's audience
  // (TokenMinter::AudienceBindingInterceptors).
  std::shared_ptr<grpc::Channel> channel();
  // UseTls makes channel() (made after it) TLS with `credentials`, checking that the server's
  // certificate names `server_name`.
  void UseTls(std::shared_ptr<grpc::ChannelCredentials> credentials, std::string server_name) {
    credentials_ = std::move(credentials);
    tls_name_ = std::move(server_name);
  }

  pid_t pid() const;
  bool running();
  std::string Log() const;  // everything the binary wrote, over all its starts
  const std::string& log_path() const { return log_path_; }

  // Kill sends SIGKILL and waits for the exit.
  absl::Status Kill();
  // Stop sends `sig` and waits up to `timeout` for the exit; returns the status waitpid
  // reported, or nullopt if it did not exit in time.
  std::optional<int> Stop(int sig, absl::Duration timeout = absl::Seconds(10));
  // Pause (SIGSTOP) freezes the process; Resume (SIGCONT) lets it go on.
  absl::Status Pause();
  absl::Status Resume();
  // Restart starts the binary again on the same ports, with the same flags plus
  // `extra_flags` (replacing defaults and earlier flags of the same name), after killing it
  // if it still runs; it returns once the binary serves, as Start does. A port taken by
  // another process in between makes the start fail; it is retried for a few seconds.
  absl::Status Restart(const std::vector<std::string>& extra_flags = {});

  // HealthStatus asks grpc.health.v1 about `service` (default: health_service(); "" is the
  // server as a whole); nullopt when the call fails.
  std::optional<ServingStatus> HealthStatus(std::optional<std::string> service = std::nullopt);
  // WaitForHealth polls HealthStatus until it is `want`.
  bool WaitForHealth(ServingStatus want, absl::Duration timeout = absl::Seconds(20),
                     std::optional<std::string> service = std::nullopt);

  // AdminGet fetches `path` (e.g. "/metrics", "/readyz") from the admin HTTP port and returns
  // the body ("" when there is no answer); *status gets the HTTP status (0: no answer).
  std::string AdminGet(const std::string& path, int* status = nullptr);

  // Launch starts the process and waits for it (used by ServiceCluster::Start and Restart).
  absl::Status Launch();

 private:
  absl::Status LaunchOnce();
  std::vector<std::string> Argv() const;

  Binary binary_;
  std::string path_;
  std::string log_path_;
  std::string health_service_;
  std::vector<std::string> args_;  // without the listen flags
  std::vector<std::string> env_;
  bool wait_serving_;
  int port_ = 0, admin_port_ = 0, rest_port_ = 0;
  std::unique_ptr<ChildProcess> child_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;  // null: plaintext
  std::string tls_name_;
  const TokenMinter* tokens_;
  bool stopped_by_test_ = false;  // Kill or Stop ended the current run
};

// ServiceCluster owns a temporary directory, a Redis and the binaries a test starts.
class ServiceCluster {
 public:
  struct Options {
    bool redis_append_only = true;
    // redis_acl: Redis runs with the ACL users of deploy/redis-users.acl.in
    // (RedisServer::StartWithAcl) and each binary authenticates as its own user
    // (simpul-<name>: --redis_user, --redis_password_file) unless it has its own redis_port.
    bool redis_acl = false;
    // internal_tls: deploy/pki makes a CA and certificates in <dir>/pki (simpul-registry,
    // simpul-complaints, simpul-monitoring, simpul-gateway, operator); every binary gets its
    // internal_tls_* flags, and channel() of the services is TLS with the operator certificate
    // (the gateway's public port stays plaintext).
    bool internal_tls = false;
    // sentinel_set: Redis is a RedisSentinelSet (master, replicas, sentinels) instead of one
    // server, with the ACL users shared by its data servers when redis_acl is set. Every binary
    // gets --redis_sentinels, --redis_master_name and --redis_wait_replicas=1 (each
    // acknowledged write is on a replica too), and the flags naming its backends list every
    // started instance of each (comma-separated), not only the first. HaCluster
    // (tests/testing/ha_cluster.h) runs the whole replicated layout on it.
    std::optional<RedisSentinelSet::Options> sentinel_set;
  };
  static absl::StatusOr<std::unique_ptr<ServiceCluster>> Create(Options options);
  static absl::StatusOr<std::unique_ptr<ServiceCluster>> Create() { return Create(Options()); }
  ~ServiceCluster();  // kills the binaries (newest first) and Redis, removes the directory

  // redis is the cluster's Redis; with Options::sentinel_set the first data server of the set
  // (the master at the start, not necessarily later: see sentinel_set()).
  RedisServer& redis() { return redis_ != nullptr ? *redis_ : *sentinel_set_->servers().front(); }
  // sentinel_set is the Redis Sentinel deployment (Options::sentinel_set; null otherwise).
  RedisSentinelSet* sentinel_set() const { return sentinel_set_.get(); }
  // RedisPasswordFile is the password file of the ACL user `user` (Options::redis_acl).
  std::string RedisPasswordFile(const std::string& user) const;
  const std::string& dir() const { return dir_; }
  // keys_dir holds the identity keys and trusted-keys files (TokenMinter::WriteKeyFiles).
  const std::string& keys_dir() const { return keys_dir_; }
  // pii_keys_file is the key file of complainants' identities simpul-complaints gets.
  const std::string& pii_keys_file() const { return pii_keys_file_; }
  const TokenMinter& tokens() const { return tokens_; }
  // pki_dir holds ca.crt and <name>.crt/.key (Options::internal_tls; empty otherwise).
  const std::string& pki_dir() const { return pki_dir_; }
  // TlsCredentials are client credentials presenting <pki_dir>/<name>.crt (e.g. "operator").
  std::shared_ptr<grpc::ChannelCredentials> TlsCredentials(const std::string& name) const;

  // Start runs `binary` with the cluster's defaults and `options` and waits until it serves.
  absl::StatusOr<ServiceProcess*> Start(Binary binary, ServiceOptions options = {});

  // Get is the first started instance of `binary` (which must have been started).
  ServiceProcess& Get(Binary binary);
  ServiceProcess& registry() { return Get(Binary::kRegistry); }
  ServiceProcess& complaints() { return Get(Binary::kComplaints); }
  ServiceProcess& monitoring() { return Get(Binary::kMonitoring); }
  ServiceProcess& gateway() { return Get(Binary::kGateway); }
  // Instances are the started instances of `binary`, in start order.
  std::vector<ServiceProcess*> Instances(Binary binary) const;

 private:
  ServiceCluster() = default;

  std::string dir_;
  std::string keys_dir_;
  std::string pii_keys_file_;
  std::string pki_dir_;
  TokenMinter tokens_;
  std::unique_ptr<RedisServer> redis_;  // null with Options::sentinel_set
  std::unique_ptr<RedisSentinelSet> sentinel_set_;
  std::vector<std::unique_ptr<ServiceProcess>> processes_;
};

// ReplaceFlags appends `flags` to `argv`, removing first any flag of the same name.
void ReplaceFlags(std::vector<std::string>* argv, const std::vector<std::string>& flags);

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_SERVICE_CLUSTER_H_
