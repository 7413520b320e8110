// Mutual TLS between Simpul's components (#13 point 5), end to end: a ServiceCluster whose
// binaries get certificates of a CA made by deploy/pki (Options::internal_tls). Through the
// plaintext public port of the real gateway a filing (gateway -> complaints -> registry), a
// registry read and a monitoring read work over mTLS; straight to each service, a plaintext
// channel, a TLS channel without a client certificate and one presenting a certificate of
// another CA are refused (and the service handles none of their calls), a client that expects
// simpul-registry refuses the certificate of simpul-monitoring, and a service with
// internal_tls_allowed_peers refuses a certificate of its CA that names another component. The
// suite prints how many calls were refused and accepted.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/security/whole_system.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/monitoring_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace mv1 = ::simpul::monitoring::v1;
namespace rv1 = ::simpul::registry::v1;
using ::simpul::testing::Binary;
using ::simpul::testing::CallAs;
using ::simpul::testing::Caller;
using ::simpul::testing::ServiceCluster;
using ::simpul::testing::ServiceProcess;

constexpr char kAgency[] = "kab-padang-pariaman";
constexpr char kUnit[] = "disdukcapil-kab-padang-pariaman";
constexpr char kService[] = "akta-kelahiran-kab-padang-pariaman";

// Probe asks grpc.health.v1 of `address` over a new channel with `credentials`, expecting a
// server certificate that names `tls_name` (when not empty).
grpc::Status Probe(const std::string& address,
                   const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                   const std::string& tls_name = "") {
  grpc::ChannelArguments args;
  if (!tls_name.empty()) args.SetSslTargetNameOverride(tls_name);
  auto stub =
      grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(address, credentials, args));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::health::v1::HealthCheckResponse resp;
  return stub->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
}

// HandledChecks is the part of a binary's /metrics that counts grpc.health.v1 Check calls.
std::string HandledChecks(ServiceProcess& process) {
  std::istringstream metrics(process.AdminGet("/metrics"));
  std::string out;
  for (std::string line; std::getline(metrics, line);) {
    if (absl::StrContains(line, "handled_total") && absl::StrContains(line, "Check")) {
      absl::StrAppend(&out, line, "\n");
    }
  }
  return out;
}

class MtlsTest : public simpul::testing::WholeSystemTest {
 protected:
  ServiceCluster::Options ClusterOptions() const override {
    ServiceCluster::Options options;
    options.internal_tls = true;
    return options;
  }

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(WholeSystemTest::SetUp()); }

  // Services are the three services behind the gateway, with the names in their certificates.
  std::vector<std::pair<ServiceProcess*, std::string>> Services() {
    return {{&cluster_->registry(), "simpul-registry"},
            {&cluster_->complaints(), "simpul-complaints"},
            {&cluster_->monitoring(), "simpul-monitoring"}};
  }

  // Refused expects `status` to be a refusal at the connection (UNAVAILABLE) and counts it.
  void Refused(const grpc::Status& status, const std::string& what) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << what << ": " << status.error_code() << " " << status.error_message();
    ++refused_;
  }

  int refused_ = 0;
  int accepted_ = 0;
};

TEST_F(MtlsTest, TheWholePathWorksThroughTheGatewayOverMutualTls) {
  SeedUnit(kAgency, rv1::AGENCY_KIND_REGENCY, "13.05", kUnit, kService);
  common::v1::Principal sms;
  sms.set_role(common::v1::ROLE_CHANNEL);
  sms.set_channel("sms-1708");
  sms.add_scope_agency_ids(kAgency);
  const Caller channel = Issue(sms, "sms");

  // A filing: gateway -> simpul-complaints, which routes it through simpul-registry.
  auto complaints = cv1::Complaints::NewStub(gateway_->channel());
  cv1::FileComplaintRequest file;
  file.set_idempotency_key("mtls-0001");
  file.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  file.set_channel(cv1::CHANNEL_SMS);
  file.set_service_id(kService);
  file.set_description("Akta kelahiran belum terbit setelah tiga minggu.");
  cv1::FileComplaintResponse filed;
  grpc::Status s =
      CallAs(complaints.get(), &cv1::Complaints::Stub::FileComplaint, channel, file, &filed);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_FALSE(filed.tracking_code().empty());
  ++accepted_;

  // A public registry read: gateway -> simpul-registry.
  rv1::GetCurrentStandardRequest get;
  get.set_service_id(kService);
  rv1::GetCurrentStandardResponse standard;
  s = CallAs(registry_.get(), &rv1::Registry::Stub::GetCurrentStandard, Caller{"public", ""}, get,
             &standard);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  ++accepted_;

  // A monitoring read: gateway -> simpul-monitoring (which reads the registry).
  auto monitoring = mv1::Monitoring::NewStub(gateway_->channel());
  mv1::GetFiguresRequest figures;
  *figures.mutable_scope() = simpul::testing::UnitScope(kUnit);
  *figures.mutable_period() = simpul::testing::MonthOf(absl::Now());
  mv1::GetFiguresResponse resp;
  s = CallAs(monitoring.get(), &mv1::Monitoring::Stub::GetFigures, root_, figures, &resp);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  ++accepted_;

  // Each service's log says it serves mTLS.
  for (auto& [process, name] : Services()) {
    EXPECT_THAT(process->Log(), ::testing::HasSubstr("internal mTLS on")) << name;
  }
  std::cout << "[figure] through the gateway over internal mTLS: " << accepted_
            << " calls accepted (filing, registry read, monitoring read)" << std::endl;
}

TEST_F(MtlsTest, ServicesRefuseEveryCallerWithoutAClientCertificateOfTheirCa) {
  // A second CA, with an "operator" certificate of its own.
  const std::string other_pki = cluster_->dir() + "/other-pki";
  ASSERT_EQ(std::system(
                absl::StrCat(SIMPUL_PKI_SCRIPT, " '", other_pki, "' operator >/dev/null").c_str()),
            0);
  grpc::SslCredentialsOptions no_cert;
  std::ifstream ca_in(cluster_->pki_dir() + "/ca.crt");
  no_cert.pem_root_certs.assign(std::istreambuf_iterator<char>(ca_in), {});
  ASSERT_FALSE(no_cert.pem_root_certs.empty());
  grpc::SslCredentialsOptions other_ca = no_cert;  // trusts the right CA, presents another's
  for (auto [file, field] : {std::pair{"/operator.crt", &other_ca.pem_cert_chain},
                             std::pair{"/operator.key", &other_ca.pem_private_key}}) {
    std::ifstream in(other_pki + file);
    field->assign(std::istreambuf_iterator<char>(in), {});
    ASSERT_FALSE(field->empty()) << file;
  }

  for (auto& [process, name] : Services()) {
    const std::string before = HandledChecks(*process);
    ASSERT_FALSE(before.empty()) << name << ": no Check series in /metrics";
    Refused(Probe(process->address(), grpc::InsecureChannelCredentials()), name + " plaintext");
    Refused(Probe(process->address(), grpc::SslCredentials(no_cert), name),
            name + " TLS without a client certificate");
    Refused(Probe(process->address(), grpc::SslCredentials(other_ca), name),
            name + " client certificate of another CA");
    // The service handled none of them.
    EXPECT_EQ(HandledChecks(*process), before) << name;
    // The operator's certificate of the right CA is accepted.
    grpc::Status ok = Probe(process->address(), cluster_->TlsCredentials("operator"), name);
    EXPECT_TRUE(ok.ok()) << name << ": " << ok.error_message();
    accepted_ += ok.ok();
  }
  std::cout << "[figure] straight to the 3 services: " << refused_
            << " calls refused (plaintext, TLS without a client certificate, a certificate of "
               "another CA), "
            << accepted_ << " accepted (operator certificate of the CA)" << std::endl;
}

TEST_F(MtlsTest, AClientRefusesTheCertificateOfAnotherComponent) {
  // simpul-monitoring's port presents its own certificate: a client that dials it as
  // simpul-registry (e.g. after a redirected address) refuses it.
  Refused(Probe(cluster_->monitoring().address(), cluster_->TlsCredentials("operator"),
                "simpul-registry"),
          "simpul-monitoring presented as simpul-registry");
  grpc::Status ok = Probe(cluster_->monitoring().address(), cluster_->TlsCredentials("operator"),
                          "simpul-monitoring");
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  accepted_ += ok.ok();
  std::cout << "[figure] server name check: " << refused_
            << " refused (monitoring's certificate for simpul-registry), " << accepted_
            << " accepted (monitoring's certificate for simpul-monitoring)" << std::endl;
}

TEST_F(MtlsTest, AllowedPeersRefuseOtherCertificatesOfTheCa) {
  simpul::testing::ServiceOptions options;
  options.name = "registry-peers";
  options.flags = {"--internal_tls_allowed_peers=simpul-gateway, simpul-complaints"};
  options.wait_serving = false;
  auto registry = cluster_->Start(Binary::kRegistry, options);
  ASSERT_THAT(registry, simpul::testing::IsOk());
  const std::string address = (*registry)->address();
  grpc::Status refused = Probe(address, cluster_->TlsCredentials("operator"), "simpul-registry");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << refused.error_message();
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("internal_tls_allowed_peers"));
  refused_ += !refused.ok();
  for (const char* peer : {"simpul-gateway", "simpul-complaints"}) {
    grpc::Status ok = Probe(address, cluster_->TlsCredentials(peer), "simpul-registry");
    EXPECT_TRUE(ok.ok()) << peer << ": " << ok.error_message();
    accepted_ += ok.ok();
  }
  std::cout << "[figure] internal_tls_allowed_peers: " << refused_ << " refused (operator), "
            << accepted_ << " accepted (gateway, complaints)" << std::endl;
}

}  // namespace
}  // namespace simpul
