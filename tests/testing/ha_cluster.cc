#include "tests/testing/ha_cluster.h"

#include <utility>

namespace simpul::testing {

absl::StatusOr<std::unique_ptr<HaCluster>> HaCluster::Start(Options options) {
  std::unique_ptr<HaCluster> ha(new HaCluster());
  ServiceCluster::Options cluster_options;
  cluster_options.redis_acl = true;
  cluster_options.internal_tls = options.internal_tls;
  cluster_options.sentinel_set = options.redis;
  absl::StatusOr<std::unique_ptr<ServiceCluster>> cluster = ServiceCluster::Create(cluster_options);
  if (!cluster.ok()) return cluster.status();
  ha->cluster_ = *std::move(cluster);
  for (Binary binary :
       {Binary::kRegistry, Binary::kComplaints, Binary::kMonitoring, Binary::kGateway}) {
    const int count = binary == Binary::kGateway ? options.gateways : options.replicas;
    std::vector<std::string> flags;
    if (binary == Binary::kMonitoring) flags.push_back("--consumer_min_idle=2s");
    flags.insert(flags.end(), options.flags.begin(), options.flags.end());
    if (binary == Binary::kGateway) {
      flags.insert(flags.end(), options.gateway_flags.begin(), options.gateway_flags.end());
    }
    for (int i = 0; i < count; ++i) {
      absl::StatusOr<ServiceProcess*> started = ha->cluster_->Start(binary, {.flags = flags});
      if (!started.ok()) return started.status();
    }
  }
  return ha;
}

std::vector<std::string> HaCluster::GatewayAddresses() const {
  std::vector<std::string> addresses;
  for (const ServiceProcess* gateway : gateways()) addresses.push_back(gateway->address());
  return addresses;
}

}  // namespace simpul::testing
