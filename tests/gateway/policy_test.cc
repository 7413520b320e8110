// Tests of the gateway's policy file: parsing, validation errors and matching.
#include "gateway/policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace simpul::gateway {
namespace {

using common::v1::ROLE_AGENCY_ADMIN;
using common::v1::ROLE_AGENCY_OPERATOR;
using common::v1::ROLE_CHANNEL;
using common::v1::ROLE_UNSPECIFIED;
using ::testing::HasSubstr;

constexpr char kPolicy[] = R"json({
  "rules": [
    {"description": "public reads",
     "methods": ["simpul.registry.v1.Registry/Get*", "simpul.registry.v1.Registry/SearchStandards"],
     "roles": ["public", "agency_admin", "agency_operator"]},
    {"description": "agency admins adopt",
     "methods": ["simpul.registry.v1.Registry/AdoptStandardVersion"],
     "roles": ["agency_admin"]},
    {"methods": ["simpul.monitoring.v1.Monitoring/*"], "roles": ["channel"]}
  ]
})json";

TEST(PolicyTest, DenyByDefaultAllowWhatARuleLists) {
  absl::StatusOr<Policy> policy = Policy::FromJson(kPolicy);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Allows(ROLE_UNSPECIFIED, "/simpul.registry.v1.Registry/GetAgency"));
  EXPECT_TRUE(policy->Allows(ROLE_UNSPECIFIED, "simpul.registry.v1.Registry/SearchStandards"));
  EXPECT_FALSE(policy->Allows(ROLE_UNSPECIFIED, "/simpul.registry.v1.Registry/CreateAgency"));
  EXPECT_FALSE(policy->Allows(ROLE_UNSPECIFIED, "/simpul.registry.v1.Registry/SearchStandardsX"));
  EXPECT_TRUE(
      policy->Allows(ROLE_AGENCY_ADMIN, "/simpul.registry.v1.Registry/AdoptStandardVersion"));
  EXPECT_FALSE(
      policy->Allows(ROLE_AGENCY_OPERATOR, "/simpul.registry.v1.Registry/AdoptStandardVersion"));
  EXPECT_TRUE(policy->Allows(ROLE_CHANNEL, "/simpul.monitoring.v1.Monitoring/GetFigures"));
  EXPECT_FALSE(policy->Allows(ROLE_CHANNEL, "/simpul.monitoring.v1.Monitoring/"));
  EXPECT_FALSE(policy->Allows(ROLE_CHANNEL, "/simpul.monitoring.v1.MonitoringX/GetFigures"));
  EXPECT_FALSE(policy->Allows(ROLE_CHANNEL, "/simpul.registry.v1.Registry/GetAgency"));
  EXPECT_EQ(RoleName(ROLE_UNSPECIFIED), "public");
  EXPECT_EQ(RoleName(ROLE_AGENCY_OPERATOR), "agency_operator");
}

TEST(PolicyTest, BadPoliciesNameTheEntry) {
  struct Case {
    const char* json;
    const char* expect;
  } cases[] = {
      {"{", "not a valid PolicyFile JSON"},
      {R"({"rules": [], "extra": 1})", "not a valid PolicyFile JSON"},
      {R"({"rules": []})", "rules"},
      {R"({"rules": [{"methods": ["a.B/C"], "roles": ["root"]}]})", "rules[0].roles[0]"},
      {R"({"rules": [{"methods": ["a.B/C"], "roles": []}]})", "rules[0].roles"},
      {R"({"rules": [{"methods": ["GetAgency"], "roles": ["public"]}]})", "rules[0].methods[0]"},
      {R"({"rules": [{"methods": ["a.B/C"], "roles": ["public"]},
                     {"methods": ["a.B/"], "roles": ["public"]}]})",
       "rules[1].methods[0]"},
      {R"({"rules": [{"methods": ["a.B/C*D"], "roles": ["public"]}]})", "rules[0].methods[0]"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Policy> policy = Policy::FromJson(c.json);
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(std::string(policy.status().message()), HasSubstr(c.expect)) << c.json;
  }
  EXPECT_EQ(Policy::FromFile("/nonexistent/policy.json").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(PolicyTest, TheDeployedPolicyParses) {
  absl::StatusOr<Policy> policy = Policy::FromFile(SIMPUL_POLICY_FILE);
  ASSERT_TRUE(policy.ok()) << policy.status();
}

}  // namespace
}  // namespace simpul::gateway
