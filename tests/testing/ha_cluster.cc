#include "tests/testing/ha_cluster.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <fstream>
#include <utility>

#include "absl/strings/escaping.h"

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
  // One key for the complainants' secrets, as deploy/run makes it: a replay answered by the
  // other replica (or after a restart) derives the same secret.
  const std::string secret_key_file = ha->cluster_->dir() + "/complaint-secret.key";
  {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1) return absl::InternalError("RAND_bytes failed");
    std::ofstream out(secret_key_file);
    out << absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(raw), sizeof(raw)));
    out.close();
    if (!out) return absl::InternalError("cannot write " + secret_key_file);
    chmod(secret_key_file.c_str(), 0600);
  }
  for (Binary binary :
       {Binary::kRegistry, Binary::kComplaints, Binary::kMonitoring, Binary::kGateway}) {
    const int count = binary == Binary::kGateway ? options.gateways : options.replicas;
    std::vector<std::string> flags;
    if (binary == Binary::kMonitoring) flags.push_back("--consumer_min_idle=2s");
    if (binary == Binary::kComplaints) flags.push_back("--secret_key_file=" + secret_key_file);
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
