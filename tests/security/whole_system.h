// WholeSystemTest: the fixture of the security suites that go through the real gateway with
// every service behind it: a ServiceCluster running simpul-registry, simpul-complaints,
// simpul-monitoring and simpul-gateway, a Redis pool on the cluster's Redis, API keys issued
// straight into it, and a platform-admin key (root_) that seeds agencies, units and services
// with adopted standards.
#ifndef SIMPUL_TESTS_SECURITY_WHOLE_SYSTEM_H_
#define SIMPUL_TESTS_SECURITY_WHOLE_SYSTEM_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/identity_tokens.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/registry_seed.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::testing {

class WholeSystemTest : public ::testing::Test {
 protected:
  // ClusterOptions are the options of the cluster SetUp starts (a suite may change them, e.g.
  // redis_acl or internal_tls).
  virtual ServiceCluster::Options ClusterOptions() const { return {}; }

  void SetUp() override {
    auto cluster = ServiceCluster::Create(ClusterOptions());
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    RedisOptions redis = cluster_->redis().PoolOptions();
    redis.command_timeout = absl::Seconds(10);
    pool_ = std::make_unique<RedisPool>(redis);
    auto keys = gateway::ApiKeyStore::Create(
        pool_.get(), gateway::ApiKeyStore::Options{.cache_ttl = absl::ZeroDuration()});
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
    const std::vector<std::string> flags = {"--drain_timeout=1s"};
    for (Binary binary : {Binary::kRegistry, Binary::kComplaints, Binary::kMonitoring}) {
      ASSERT_THAT(cluster_->Start(binary, {.flags = flags}), IsOk());
    }
    auto gateway = cluster_->Start(Binary::kGateway, {.flags = flags});
    ASSERT_THAT(gateway, IsOk());
    gateway_ = *gateway;
    registry_ = registry::v1::Registry::NewStub(gateway_->channel());
    common::v1::Principal root;
    root.set_role(common::v1::ROLE_PLATFORM_ADMIN);
    root_ = Issue(root, "root");
  }

  // Issue stores an API key acting as `p` and returns it as a caller tagged `tag`.
  Caller Issue(const common::v1::Principal& p, const std::string& tag) {
    auto issued = keys_->Issue(p, "security test " + tag, "test:security");
    EXPECT_TRUE(issued.ok()) << issued.status();
    return Caller{tag, issued.ok() ? issued->token : "", /*api_key=*/true};
  }

  // SeedUnit creates `agency` (of `kind`, in `region`), its unit `unit` and the service
  // `service` of that unit with an adopted standard, through the gateway.
  void SeedUnit(const std::string& agency, registry::v1::AgencyKind kind, const std::string& region,
                const std::string& unit, const std::string& service) {
    RegistrySeeder seed(registry_.get());
    seed.CreateAgency(root_, agency, kind, region);
    seed.CreateUnit(root_, unit, agency, "Dinas Pelayanan Terpadu");
    seed.CreateService(root_, service, unit, "Layanan Dasar");
    seed.AdoptStandard(root_, root_, service, CompleteComponents());
  }

  std::unique_ptr<ServiceCluster> cluster_;
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<gateway::ApiKeyStore> keys_;
  ServiceProcess* gateway_ = nullptr;
  std::unique_ptr<registry::v1::Registry::Stub> registry_;
  Caller root_;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_SECURITY_WHOLE_SYSTEM_H_
