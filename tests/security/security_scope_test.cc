// Least privilege for channels (#13 point 7), end to end through the real gateway: a channel
// key names the agencies and service units it may file complaints and submit survey responses
// for; the gateway carries that scope in the identity it signs and the services refuse the
// rest. Before, any channel key could push survey responses for any unit and move its IKM.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "tests/security/whole_system.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/monitoring_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace simpul {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace gv1 = ::simpul::gateway::v1;
namespace mv1 = ::simpul::monitoring::v1;
using ::simpul::testing::CallAs;
using ::simpul::testing::Caller;
using ::testing::HasSubstr;

constexpr char kA[] = "kab-padang-pariaman";
constexpr char kAUnit[] = "disdukcapil-kab-padang-pariaman";
constexpr char kAService[] = "akta-kelahiran-kab-padang-pariaman";
constexpr char kB[] = "kota-bogor";
constexpr char kBUnit[] = "dpmptsp-kota-bogor";
constexpr char kBService[] = "pbg-kota-bogor";

class ChannelScopeTest : public simpul::testing::WholeSystemTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(WholeSystemTest::SetUp());
    complaints_ = cv1::Complaints::NewStub(gateway_->channel());
    monitoring_ = mv1::Monitoring::NewStub(gateway_->channel());
    admin_ = gv1::GatewayAdmin::NewStub(gateway_->channel());
    SeedUnit(kA, registry::v1::AGENCY_KIND_REGENCY, "13.05", kAUnit, kAService);
    SeedUnit(kB, registry::v1::AGENCY_KIND_CITY, "32.71", kBUnit, kBService);
    ASSERT_FALSE(HasFailure());
  }

  static common::v1::Principal Channel(std::vector<std::string> agencies,
                                       std::vector<std::string> units = {}) {
    common::v1::Principal p;
    p.set_role(common::v1::ROLE_CHANNEL);
    p.set_channel("sms-1708");
    for (auto& a : agencies) p.add_scope_agency_ids(std::move(a));
    for (auto& u : units) p.add_scope_unit_ids(std::move(u));
    return p;
  }

  grpc::Status File(const Caller& who, const std::string& service, int n) {
    cv1::FileComplaintRequest req;
    req.set_idempotency_key(absl::StrCat("scope-", who.tag, "-", n));
    req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
    req.set_channel(cv1::CHANNEL_SMS);
    req.set_service_id(service);
    req.set_description("Antrean tidak bergerak sejak pagi dan petugas tidak ada di loket.");
    cv1::FileComplaintResponse resp;
    return CallAs(complaints_.get(), &cv1::Complaints::Stub::FileComplaint, who, req, &resp);
  }

  grpc::Status Surveys(const Caller& who, const std::string& unit, int count) {
    mv1::SubmitSurveyResponsesRequest req;
    const absl::Time at = absl::Now() - absl::Hours(1);
    for (int i = 0; i < count; ++i) {
      *req.add_responses() = simpul::testing::Response(
          absl::StrCat("scope-", who.tag, "-", i), unit, at, simpul::testing::kSurveyAnswers[0]);
    }
    mv1::SubmitSurveyResponsesResponse resp;
    return CallAs(monitoring_.get(), &mv1::Monitoring::Stub::SubmitSurveyResponses, who, req,
                  &resp);
  }

  int64_t Respondents(const std::string& unit) {
    mv1::GetFiguresRequest req;
    *req.mutable_scope() = simpul::testing::UnitScope(unit);
    *req.mutable_period() = simpul::testing::MonthOf(absl::Now() - absl::Hours(1));
    mv1::GetFiguresResponse resp;
    grpc::Status s =
        CallAs(monitoring_.get(), &mv1::Monitoring::Stub::GetFigures, root_, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.figures().survey().respondents();
  }

  std::unique_ptr<cv1::Complaints::Stub> complaints_;
  std::unique_ptr<mv1::Monitoring::Stub> monitoring_;
  std::unique_ptr<gv1::GatewayAdmin::Stub> admin_;
};

TEST_F(ChannelScopeTest, AChannelKeyActsOnlyForTheAgenciesAndUnitsItNames) {
  // A channel key that names nothing is not issued.
  gv1::IssueApiKeyRequest unscoped;
  *unscoped.mutable_principal() = Channel({});
  unscoped.set_label("an SMS gateway for everyone");
  gv1::IssueApiKeyResponse issued;
  grpc::Status s =
      CallAs(admin_.get(), &gv1::GatewayAdmin::Stub::IssueApiKey, root_, unscoped, &issued);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("principal.scope_agency_ids"));

  const Caller a_sms = Issue(Channel({kA}), "a-sms");
  const Caller b_kiosk = Issue(Channel({}, {kBUnit}), "b-kiosk");

  // Filing: its own agency's service, yes; the other agency's, no.
  EXPECT_TRUE(File(a_sms, kAService, 1).ok());
  s = File(a_sms, kBService, 2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("tidak terikat pada unit"));  // a channel: Indonesian
  EXPECT_TRUE(File(b_kiosk, kBService, 3).ok());
  EXPECT_EQ(File(b_kiosk, kAService, 4).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Surveys: 5,000 responses for another agency's unit are refused whole and move nothing.
  s = Surveys(a_sms, kBUnit, 5000);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  s = Surveys(b_kiosk, kAUnit, 5000);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(Respondents(kAUnit), 0);
  EXPECT_EQ(Respondents(kBUnit), 0);
  // Its own unit's are taken.
  EXPECT_TRUE(Surveys(b_kiosk, kBUnit, 3).ok());
  EXPECT_EQ(Respondents(kBUnit), 3);
  std::cout << "channel scope: 2 of 2 cross-agency filings and 10,000 of 10,000 cross-agency "
               "survey responses refused; in-scope calls taken"
            << std::endl;
}

}  // namespace
}  // namespace simpul
