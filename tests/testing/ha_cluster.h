// HaCluster is the replicated layout of Simpul on the one e2e harness (ServiceCluster with
// Options::sentinel_set): Redis as a master, 2 replicas and 3 sentinels sharing the ACL users of
// deploy/redis-users.acl.in, `replicas` instances of simpul-registry, simpul-complaints and
// simpul-monitoring, and `gateways` instances of simpul-gateway, each gateway given the comma
// list of every replica of each service. Every binary finds the Redis master through the
// sentinels and acknowledges a write once a replica has it (--redis_wait_replicas=1); with
// internal_tls the components talk mutual TLS. The chaos harness (tests/chaos/) kills, pauses
// and restarts any of them.
//
//     auto ha = HaCluster::Start({});
//     ASSERT_THAT(ha, IsOk());
//     auto stub = Registry::NewStub((*ha)->gateways()[0]->channel());
#ifndef SIMPUL_TESTS_TESTING_HA_CLUSTER_H_
#define SIMPUL_TESTS_TESTING_HA_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/redis_sentinel_set.h"
#include "tests/testing/service_cluster.h"

namespace simpul::testing {

class HaCluster {
 public:
  struct Options {
    int replicas = 2;  // of each service
    int gateways = 2;
    bool internal_tls = true;
    RedisSentinelSet::Options redis;  // the ACL users are always on
    // flags are added to every binary's (e.g. --drain_timeout=1s). The defaults already make
    // a crashed monitoring replica's pending events be taken over after 2 s
    // (--consumer_min_idle=2s) instead of 30 s, and give both complaints replicas one
    // --secret_key_file (so a replay on either derives the complainant's secret).
    std::vector<std::string> flags;
    std::vector<std::string> gateway_flags;  // added to the gateways' (e.g. LoadGatewayFlags())
  };
  // Start creates the cluster and starts, in order, the registries, complaints, monitoring
  // and gateways, each waited for until it serves.
  static absl::StatusOr<std::unique_ptr<HaCluster>> Start(Options options);

  ServiceCluster& cluster() { return *cluster_; }
  RedisSentinelSet& redis() { return *cluster_->sentinel_set(); }
  std::vector<ServiceProcess*> Instances(Binary binary) const {
    return cluster_->Instances(binary);
  }
  std::vector<ServiceProcess*> gateways() const { return Instances(Binary::kGateway); }
  // GatewayAddresses are "127.0.0.1:<port>" of the gateways' gRPC fronts.
  std::vector<std::string> GatewayAddresses() const;

 private:
  HaCluster() = default;
  std::unique_ptr<ServiceCluster> cluster_;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_TESTING_HA_CLUSTER_H_
