// Unit tests of the registry's validation rules and search tokenisation.
#include "services/registry/validation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/store.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::registry {
namespace {

using ::simpul::testing::CompleteComponents;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Fields(const FieldViolations& v) {
  std::vector<std::string> out;
  for (const auto& f : v.proto().field_violations()) out.push_back(f.field());
  return out;
}

TEST(RegionCodeTest, AcceptsEveryLevel) {
  for (const char* code : {"13", "13.05", "33.73.04", "33.73.04.1001", "32.71.01.2005", "99"}) {
    EXPECT_TRUE(IsValidRegionCode(code)) << code;
  }
  EXPECT_EQ(RegionLevel("13"), 1);
  EXPECT_EQ(RegionLevel("33.73.04.1001"), 4);
}

TEST(RegionCodeTest, RejectsMalformedCodes) {
  for (const char* code :
       {"", "0", "01", "1", "13.", "13.5", "13.055", "33.73.04.4001", "33.73.04.101",
        "33.73.04.10011", "a3", "13-05", "33.73.04.1001.1", "13.05 "}) {
    EXPECT_FALSE(IsValidRegionCode(code)) << code;
  }
}

TEST(RegionCodeTest, PrefixesListEveryLevel) {
  EXPECT_THAT(RegionPrefixes("33.73.04.1001"),
              ElementsAre("33", "33.73", "33.73.04", "33.73.04.1001"));
  EXPECT_THAT(RegionPrefixes(""), IsEmpty());
}

TEST(SlugTest, Rules) {
  EXPECT_TRUE(IsValidSlug("disdukcapil-padang-pariaman"));
  EXPECT_TRUE(IsValidSlug("a1b"));
  EXPECT_FALSE(IsValidSlug("ab"));
  EXPECT_FALSE(IsValidSlug("-abc"));
  EXPECT_FALSE(IsValidSlug("abc-"));
  EXPECT_FALSE(IsValidSlug("ABC"));
  EXPECT_FALSE(IsValidSlug("a_b_c"));
  EXPECT_FALSE(IsValidSlug(std::string(65, 'a')));
}

TEST(ComponentsTest, CompleteStandardHasNothingMissingOrInvalid) {
  FieldViolations v;
  ValidateComponents(v, "components.", CompleteComponents());
  EXPECT_TRUE(v.empty()) << v.ToStatus("x");
  EXPECT_THAT(MissingComponents(CompleteComponents()), IsEmpty());
}

TEST(ComponentsTest, MissingComponentsNamesEachKeyInLawOrder) {
  EXPECT_THAT(
      MissingComponents(v1::StandardComponents()),
      ElementsAre("legal_basis", "requirements", "procedure", "completion_time", "fee", "product",
                  "facilities", "staff_competence", "internal_supervision", "complaint_handling",
                  "staff_count", "service_guarantee", "security_guarantee", "staff_evaluation"));
  auto c = CompleteComponents();
  c.mutable_complaint_handling()->clear_channels();
  EXPECT_THAT(MissingComponents(c), ElementsAre("complaint_handling"));
}

TEST(ComponentsTest, FreeServiceIsFilledButAFeeNeedsItsLegalBasis) {
  auto c = CompleteComponents();
  ASSERT_EQ(c.fee().amount_idr(), 0);
  EXPECT_THAT(MissingComponents(c), IsEmpty());
  c.mutable_fee()->set_amount_idr(50000);
  FieldViolations v;
  ValidateComponents(v, "c.", c);
  EXPECT_THAT(Fields(v), ElementsAre("c.fee.legal_basis"));
}

TEST(ComponentsTest, EveryBadFieldIsNamed) {
  auto c = CompleteComponents();
  c.mutable_fee()->set_amount_idr(-1);
  c.mutable_completion_time()->set_amount(0);
  c.mutable_completion_time()->set_unit(v1::TIME_UNIT_UNSPECIFIED);
  c.set_staff_count(-3);
  c.mutable_requirements(1)->set_kind(v1::REQUIREMENT_KIND_UNSPECIFIED);
  c.add_procedure("");
  auto* dup = c.mutable_complaint_handling()->add_resolution_classes();
  dup->set_name("ringan");
  dup->set_working_days(61);
  c.mutable_complaint_handling()->set_response_working_days(-1);
  FieldViolations v;
  ValidateComponents(v, "", c);
  EXPECT_THAT(
      Fields(v),
      UnorderedElementsAre("requirements[1].kind", "procedure[3]", "completion_time.amount",
                           "completion_time.unit", "fee.amount_idr",
                           "complaint_handling.response_working_days",
                           "complaint_handling.resolution_classes[1].name",
                           "complaint_handling.resolution_classes[1].working_days", "staff_count"));
}

TEST(ComponentsTest, ControlCharactersAndOversizedTextAreRejected) {
  auto c = CompleteComponents();
  c.set_internal_supervision(std::string("a\x01b"));
  c.set_staff_evaluation(std::string(4001, 'x'));
  FieldViolations v;
  ValidateComponents(v, "", c);
  EXPECT_THAT(Fields(v), UnorderedElementsAre("internal_supervision", "staff_evaluation"));
}

TEST(DateTest, InvalidAndFutureDates) {
  absl::CivilDay today(2026, 11, 28);
  FieldViolations v;
  CheckDate(v, "a", ::simpul::testing::MakeDate(2026, 2, 29), true, nullptr);  // not a leap year
  CheckDate(v, "b", ::simpul::testing::MakeDate(2026, 11, 29), true, &today);
  CheckDate(v, "c", common::v1::Date(), true, nullptr);
  CheckDate(v, "d", common::v1::Date(), false, nullptr);
  CheckDate(v, "e", ::simpul::testing::MakeDate(2026, 11, 28), true, &today);
  EXPECT_THAT(Fields(v), ElementsAre("a", "b", "c"));
  EXPECT_EQ(DayNumber(::simpul::testing::MakeDate(1970, 1, 2)), 1);
}

TEST(KeywordTest, TokensComeFromNameAndPublicComponentsOnly) {
  v1::StandardVersion version;
  version.set_service_name("Akta Kelahiran");
  *version.mutable_components() = CompleteComponents();
  version.mutable_components()->set_internal_supervision("rahasia-internal");
  auto tokens = KeywordTokens(version);
  EXPECT_TRUE(std::binary_search(tokens.begin(), tokens.end(), "akta"));
  EXPECT_TRUE(std::binary_search(tokens.begin(), tokens.end(), "kelahiran"));
  EXPECT_TRUE(std::binary_search(tokens.begin(), tokens.end(), "1708"));
  EXPECT_FALSE(std::binary_search(tokens.begin(), tokens.end(), "rahasia"));
  EXPECT_TRUE(std::is_sorted(tokens.begin(), tokens.end()));
  EXPECT_THAT(TokenizeQuery("  Akta, KELAHIRAN! a "), ElementsAre("akta", "kelahiran"));
}

}  // namespace
}  // namespace simpul::registry
