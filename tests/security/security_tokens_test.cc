// Issue #13, point 5 (identity tokens), end to end: every service binary, started as deploy/run
// starts it (ServiceCluster: Ed25519 keys, trusted-keys files), refuses as UNAUTHENTICATED a
// token signed with the old shared HMAC key, one without audience, one for another service and
// an expired one, and accepts a valid one; the monitoring service's own key gets the narrow
// service role at the registry only. One line per case is printed.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace mv1 = ::simpul::monitoring::v1;
namespace rv1 = ::simpul::registry::v1;
using ::grpc::StatusCode;
using ::simpul::testing::Binary;
using ::simpul::testing::IdentityContext;
using ::simpul::testing::IsOk;
using ::simpul::testing::ServiceCluster;

common::v1::Principal PlatformAdmin() {
  common::v1::Principal p;
  p.set_subject("security-test");
  p.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  return p;
}

// OldSharedKeyToken is a token of the retired format, base64(Principal).base64(HMAC-SHA256).
std::string OldSharedKeyToken(common::v1::Principal p, const std::string& audience) {
  const std::string key = "e2e-test-identity-key-0123456789abcdef0123456789abcdef";
  p.set_audience(audience);
  p.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Minutes(5)));
  const std::string body = p.SerializeAsString();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return absl::StrCat(absl::WebSafeBase64Escape(body), ".",
                      absl::WebSafeBase64Escape(std::string(reinterpret_cast<char*>(mac), len)));
}

class SecurityTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    for (Binary b : {Binary::kRegistry, Binary::kComplaints, Binary::kMonitoring}) {
      ASSERT_THAT(cluster_->Start(b), IsOk());
    }
    registry_ = rv1::Registry::NewStub(cluster_->registry().channel());
    complaints_ = cv1::Complaints::NewStub(cluster_->complaints().channel());
    monitoring_ = mv1::Monitoring::NewStub(cluster_->monitoring().channel());
  }

  // A call to each service that needs an authenticated caller to get past authentication:
  // "accepted" is any answer but UNAUTHENTICATED.
  grpc::Status CallRegistry(const std::string& token) {
    rv1::CreateAgencyRequest req;
    *req.mutable_agency() =
        simpul::testing::MakeAgency(absl::StrCat("kab-sec-", ++agencies_), rv1::AGENCY_KIND_REGENCY,
                                    absl::StrCat("13.", 10 + agencies_));
    rv1::CreateAgencyResponse resp;
    return registry_->CreateAgency(IdentityContext(token).get(), req, &resp);
  }
  grpc::Status CallComplaints(const std::string& token) {
    cv1::ListComplaintsRequest req;
    req.set_unrouted(true);
    cv1::ListComplaintsResponse resp;
    return complaints_->ListComplaints(IdentityContext(token).get(), req, &resp);
  }
  grpc::Status CallMonitoring(const std::string& token) {
    mv1::SubmitSurveyResponsesRequest req;  // empty: INVALID_ARGUMENT once authenticated
    mv1::SubmitSurveyResponsesResponse resp;
    return monitoring_->SubmitSurveyResponses(IdentityContext(token).get(), req, &resp);
  }

  std::unique_ptr<ServiceCluster> cluster_;
  std::unique_ptr<rv1::Registry::Stub> registry_;
  std::unique_ptr<cv1::Complaints::Stub> complaints_;
  std::unique_ptr<mv1::Monitoring::Stub> monitoring_;
  int agencies_ = 0;
};

TEST_F(SecurityTokensTest, EveryServiceRefusesBadTokensAndAcceptsAValidOne) {
  const auto& tokens = cluster_->tokens();
  struct Target {
    std::string audience;
    std::string other_audience;
    std::function<grpc::Status(const std::string&)> call;
  };
  const std::vector<Target> targets = {
      {"simpul-registry", "simpul-complaints", [this](auto& t) { return CallRegistry(t); }},
      {"simpul-complaints", "simpul-monitoring", [this](auto& t) { return CallComplaints(t); }},
      {"simpul-monitoring", "simpul-registry", [this](auto& t) { return CallMonitoring(t); }},
  };
  for (const Target& target : targets) {
    const absl::Time soon = absl::Now() + absl::Minutes(5);
    common::v1::Principal no_audience = PlatformAdmin();
    no_audience.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(soon));
    common::v1::Principal no_expiry = PlatformAdmin();
    no_expiry.set_audience(target.audience);
    struct Case {
      std::string name;
      std::string token;
      bool accepted;
    };
    const std::vector<Case> cases = {
        {"old shared HMAC key", OldSharedKeyToken(PlatformAdmin(), target.audience), false},
        {"no audience", tokens.UncheckedToken(no_audience), false},
        {"no expiry", tokens.UncheckedToken(no_expiry), false},
        {absl::StrCat("audience ", target.other_audience),
         tokens.TokenFor(PlatformAdmin(), target.other_audience, soon), false},
        {"expired 1s ago",
         tokens.TokenFor(PlatformAdmin(), target.audience, absl::Now() - absl::Seconds(1)), false},
        {"expires in 2h (max 1h)",
         tokens.TokenFor(PlatformAdmin(), target.audience, absl::Now() + absl::Hours(2)), false},
        {"monitoring's key claiming platform_admin",
         tokens.MonitoringToken(PlatformAdmin(), target.audience, soon), false},
        {"valid (gateway key, this audience, 5m)",
         tokens.TokenFor(PlatformAdmin(), target.audience, soon), true},
    };
    for (const Case& c : cases) {
      grpc::Status s = target.call(c.token);
      const bool accepted = s.error_code() != StatusCode::UNAUTHENTICATED;
      std::printf(
          "%-18s %-42s -> %s %s\n", target.audience.c_str(), c.name.c_str(),
          accepted ? "accepted" : "UNAUTHENTICATED",
          accepted ? absl::StrCat("(", s.error_code(), ")").c_str() : s.error_message().c_str());
      EXPECT_EQ(accepted, c.accepted) << target.audience << ", " << c.name << ": " << s.error_code()
                                      << " " << s.error_message();
      if (!c.accepted) {
        EXPECT_TRUE(absl::StrContains(s.error_message(), "identity token refused"))
            << s.error_message();
      }
    }
  }
}

TEST_F(SecurityTokensTest, MonitoringsOwnKeyOnlyReadsTheRegistry) {
  const auto& tokens = cluster_->tokens();
  common::v1::Principal service;
  service.set_subject("service:simpul-monitoring");
  service.set_role(common::v1::ROLE_SERVICE);
  auto as_monitoring = [&](const std::string& audience) {
    return tokens.MonitoringToken(service, audience, absl::Now() + absl::Minutes(5));
  };
  // Reads (and the change feed) at the registry: accepted.
  ASSERT_TRUE(CallRegistry(tokens.TokenFor(PlatformAdmin(), "simpul-registry",
                                           absl::Now() + absl::Minutes(5)))
                  .ok());
  rv1::ListAgenciesRequest list;
  rv1::ListAgenciesResponse agencies;
  grpc::Status read = registry_->ListAgencies(
      IdentityContext(as_monitoring("simpul-registry")).get(), list, &agencies);
  std::printf("monitoring key, service role: registry ListAgencies -> %d (%d agencies)\n",
              read.error_code(), agencies.agencies_size());
  EXPECT_TRUE(read.ok()) << read.error_message();
  EXPECT_GE(agencies.agencies_size(), 1);

  // Writes at the registry: refused (the role is no agency member and no platform admin).
  grpc::Status write = CallRegistry(as_monitoring("simpul-registry"));
  std::printf("monitoring key, service role: registry CreateAgency -> %d %s\n", write.error_code(),
              write.error_message().c_str());
  EXPECT_EQ(write.error_code(), StatusCode::PERMISSION_DENIED) << write.error_message();

  // Complaints (SECRET identities live there) and monitoring accept no service role at all.
  for (const auto& [audience, status] : std::vector<std::pair<std::string, grpc::Status>>{
           {"simpul-complaints", CallComplaints(as_monitoring("simpul-complaints"))},
           {"simpul-monitoring", CallMonitoring(as_monitoring("simpul-monitoring"))}}) {
    std::printf("monitoring key, service role: %s -> %d %s\n", audience.c_str(),
                status.error_code(), status.error_message().c_str());
    EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED) << audience;
  }
  // Nor can the gateway's key pose as the monitoring service.
  grpc::Status posed = registry_->ListAgencies(
      IdentityContext(tokens.TokenFor(service, "simpul-registry", absl::Now() + absl::Minutes(5)))
          .get(),
      list, &agencies);
  EXPECT_EQ(posed.error_code(), StatusCode::UNAUTHENTICATED) << posed.error_message();
}

TEST_F(SecurityTokensTest, MonitoringWatchesTheRegistryWithItsOwnKey) {
  // The standards feed of simpul-monitoring watches the registry as service:simpul-monitoring
  // (its own key, the service role): the registry confirms the watch, then the feed resyncs.
  // With the key untrusted or the role refused, the watch never starts.
  const bool resynced = simpul::testing::PollUntil(
      [&] { return absl::StrContains(cluster_->monitoring().Log(), "standards resync done"); },
      absl::Seconds(15));
  std::printf("monitoring's watch of the registry with its own key: %s\n",
              resynced ? "started, resynced" : "NOT started");
  EXPECT_TRUE(resynced) << cluster_->monitoring().Log();
}

}  // namespace
}  // namespace simpul
