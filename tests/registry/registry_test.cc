// Unit tests of StandardsRegistry over the in-memory fake store: authorization, validation,
// the standard and maklumat lifecycles, optimistic concurrency, views and the completeness
// score. No server and no Redis.
#include "services/registry/registry.h"

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/validation.h"
#include "tests/testing/fake_registry_store.h"
#include "tests/testing/identities.h"
#include "tests/testing/registry_fixtures.h"

namespace simpul::registry {
namespace {

using ::simpul::testing::AgencyAdmin;
using ::simpul::testing::CompleteComponents;
using ::simpul::testing::FakeRegistryStore;
using ::simpul::testing::MakeAgency;
using ::simpul::testing::MakeDate;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

Identity Admin() { return simpul::testing::PlatformAdmin("ops"); }
Identity Operator(const std::string& agency) {
  return simpul::testing::AgencyMember(common::v1::ROLE_AGENCY_OPERATOR, agency, "op@" + agency);
}

std::vector<std::string> ViolatedFields(const absl::Status& status) {
  std::vector<std::string> fields;
  common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

class RegistryTest : public ::testing::Test {
 protected:
  // 2026-11-28 10:00 WIB.
  RegistryTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2026, 11, 28, 3, 0, 0), absl::UTCTimeZone())),
        registry_(store_, clock_, RegistryOptions{}) {}

  void SetUp() override {
    ASSERT_TRUE(
        registry_
            .CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(MakeAgency(
                                       "padang-pariaman", v1::AGENCY_KIND_REGENCY, "13.05")))
            .ok());
    ASSERT_TRUE(registry_
                    .CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(MakeAgency(
                                               "kota-bogor", v1::AGENCY_KIND_CITY, "32.71")))
                    .ok());
    v1::CreateServiceUnitRequest unit;
    unit.mutable_unit()->set_id("disdukcapil-pp");
    unit.mutable_unit()->set_agency_id("padang-pariaman");
    unit.mutable_unit()->set_name("Dinas Kependudukan dan Pencatatan Sipil");
    unit.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
    ASSERT_TRUE(registry_.CreateServiceUnit(AgencyAdmin("padang-pariaman"), unit).ok());
    v1::CreateServiceRequest service;
    service.mutable_service()->set_id("akta-kelahiran");
    service.mutable_service()->set_unit_id("disdukcapil-pp");
    service.mutable_service()->set_name("Akta Kelahiran");
    ASSERT_TRUE(registry_.CreateService(AgencyAdmin("padang-pariaman"), service).ok());
  }

  template <typename R>
  static R Req(const v1::Agency& agency) {
    R r;
    *r.mutable_agency() = agency;
    return r;
  }

  v1::StandardVersion Draft(const v1::StandardComponents& components = CompleteComponents()) {
    v1::CreateStandardVersionRequest req;
    req.set_service_id("akta-kelahiran");
    *req.mutable_components() = components;
    auto resp = registry_.CreateStandardVersion(Operator("padang-pariaman"), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp->version();
  }

  v1::StandardVersion Consult(const v1::StandardVersion& v, bool record = true) {
    v1::StartPublicConsultationRequest start;
    start.set_id(v.id());
    start.set_expected_revision(v.revision());
    auto started = registry_.StartPublicConsultation(Operator("padang-pariaman"), start);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!record) return started->version();
    v1::RecordConsultationRequest rec;
    rec.set_id(v.id());
    rec.set_expected_revision(started->version().revision());
    *rec.mutable_consultation()->mutable_date() = MakeDate(2026, 11, 20);
    rec.mutable_consultation()->set_participant_count(25);
    rec.mutable_consultation()->set_summary("Masyarakat meminta loket prioritas lansia");
    auto recorded = registry_.RecordConsultation(Operator("padang-pariaman"), rec);
    EXPECT_TRUE(recorded.ok()) << recorded.status();
    return recorded->version();
  }

  v1::AdoptStandardVersionRequest AdoptReq(const v1::StandardVersion& v) {
    v1::AdoptStandardVersionRequest req;
    req.set_id(v.id());
    req.set_expected_revision(v.revision());
    req.mutable_adoption()->set_decree_number("SK No. 470/123/2026");
    *req.mutable_adoption()->mutable_decree_date() = MakeDate(2026, 11, 25);
    *req.mutable_adoption()->mutable_effective_from() = MakeDate(2026, 12, 1);
    auto* pub = req.add_publications();
    pub->set_medium(v1::PUBLICATION_MEDIUM_WEBSITE);
    pub->set_location("https://disdukcapil.padangpariamankab.go.id/standar");
    return req;
  }

  v1::StandardVersion Adopted() {
    auto v = Consult(Draft());
    auto adopted = registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), AdoptReq(v));
    EXPECT_TRUE(adopted.ok()) << adopted.status();
    return adopted->version();
  }

  FakeRegistryStore store_;
  FakeClock clock_;
  StandardsRegistry registry_;
};

TEST_F(RegistryTest, CreateAgencyNeedsPlatformAdmin) {
  auto req = Req<v1::CreateAgencyRequest>(MakeAgency("kota-padang", v1::AGENCY_KIND_CITY, "13.71"));
  EXPECT_EQ(registry_.CreateAgency(Identity::Public(), req).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(registry_.CreateAgency(AgencyAdmin("kota-bogor"), req).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto created = registry_.CreateAgency(Admin(), req);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->agency().revision(), 1);
  EXPECT_EQ(registry_.CreateAgency(Admin(), req).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RegistryTest, CreateAgencyNamesEveryBadFieldAndWritesNothing) {
  size_t events = store_.events().size();
  v1::Agency bad;
  bad.set_id("Bad Id");
  bad.set_name("x");
  bad.set_region_code("3.71");
  bad.set_website("ftp://x");
  auto status = registry_.CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(bad)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolatedFields(status),
              UnorderedElementsAre("agency.id", "agency.name", "agency.kind", "agency.region_code",
                                   "agency.website"));
  EXPECT_EQ(store_.events().size(), events);
}

TEST_F(RegistryTest, RegionCodeMustFitAgencyKind) {
  auto regency = MakeAgency("kab-x", v1::AGENCY_KIND_REGENCY, "32.71");  // 71+ is a city
  EXPECT_THAT(ViolatedFields(
                  registry_.CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(regency)).status()),
              ElementsAre("agency.region_code"));
  auto city = MakeAgency("kota-x", v1::AGENCY_KIND_CITY, "32.05");
  EXPECT_THAT(
      ViolatedFields(registry_.CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(city)).status()),
      ElementsAre("agency.region_code"));
  auto province = MakeAgency("prov-x", v1::AGENCY_KIND_PROVINCE, "");
  EXPECT_THAT(ViolatedFields(
                  registry_.CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(province)).status()),
              ElementsAre("agency.region_code"));
  auto ministry = MakeAgency("kemenpanrb", v1::AGENCY_KIND_MINISTRY, "");
  EXPECT_TRUE(registry_.CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(ministry)).ok());
}

TEST_F(RegistryTest, UpdateAgencyWithStaleRevisionIsAbortedAndChangesNothing) {
  v1::UpdateAgencyRequest req;
  *req.mutable_agency() = MakeAgency("kota-bogor", v1::AGENCY_KIND_CITY, "32.71");
  req.mutable_agency()->set_name("Pemerintah Kota Bogor");
  req.set_expected_revision(1);
  auto updated = registry_.UpdateAgency(AgencyAdmin("kota-bogor"), req);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->agency().revision(), 2);
  req.mutable_agency()->set_name("Stale write");
  auto stale = registry_.UpdateAgency(AgencyAdmin("kota-bogor"), req);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.status().message(), HasSubstr("revision 2"));
  v1::GetAgencyRequest get;
  get.set_id("kota-bogor");
  EXPECT_EQ(registry_.GetAgency(Identity::Public(), get)->agency().name(), "Pemerintah Kota Bogor");
  EXPECT_EQ(registry_.UpdateAgency(AgencyAdmin("padang-pariaman"), req).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(RegistryTest, UnitInheritsRegionAndGetsGeneratedId) {
  v1::CreateServiceUnitRequest req;
  req.mutable_unit()->set_agency_id("kota-bogor");
  req.mutable_unit()->set_name("Mal Pelayanan Publik Kota Bogor");
  req.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
  EXPECT_EQ(registry_.CreateServiceUnit(Operator("kota-bogor"), req).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto created = registry_.CreateServiceUnit(AgencyAdmin("kota-bogor"), req);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->unit().region_code(), "32.71");
  EXPECT_TRUE(absl::StartsWith(created->unit().id(), "unit-"));
  EXPECT_TRUE(IsValidSlug(created->unit().id()));
}

TEST_F(RegistryTest, UnitOfUnknownAgencyIsNotFoundAndUnitsCannotMove) {
  v1::CreateServiceUnitRequest req;
  req.mutable_unit()->set_agency_id("nowhere");
  req.mutable_unit()->set_name("Unit");
  req.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIT);
  EXPECT_EQ(registry_.CreateServiceUnit(Admin(), req).status().code(), absl::StatusCode::kNotFound);
  v1::UpdateServiceUnitRequest update;
  update.mutable_unit()->set_id("disdukcapil-pp");
  update.mutable_unit()->set_agency_id("kota-bogor");
  update.mutable_unit()->set_name("Moved");
  update.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
  update.set_expected_revision(1);
  EXPECT_THAT(ViolatedFields(registry_.UpdateServiceUnit(Admin(), update).status()),
              ElementsAre("unit.agency_id"));
}

TEST_F(RegistryTest, ServiceCarriesUnitAgencyAndRegion) {
  v1::GetServiceRequest get;
  get.set_id("akta-kelahiran");
  auto service = registry_.GetService(Identity::Public(), get);
  ASSERT_TRUE(service.ok());
  EXPECT_EQ(service->service().agency_id(), "padang-pariaman");
  EXPECT_EQ(service->service().region_code(), "13.05");
  EXPECT_EQ(service->service().latest_version_number(), 0);
}

TEST_F(RegistryTest, FullLifecycleAdoptsAndSupersedesAtomically) {
  v1::StandardVersion v1 = Adopted();
  EXPECT_EQ(v1.id(), "akta-kelahiran.v1");
  EXPECT_EQ(v1.state(), v1::STANDARD_STATE_ADOPTED);
  EXPECT_EQ(v1.adoption().adopted_by(), "admin@padang-pariaman");
  // Review due 12 months after the effective date.
  EXPECT_EQ(v1.review_due_date().year(), 2027);
  EXPECT_EQ(v1.review_due_date().month(), 12);
  EXPECT_EQ(v1.review_due_date().day(), 1);

  auto v2 = Consult(Draft());
  size_t events_before = store_.events().size();
  auto adopted = registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), AdoptReq(v2));
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_EQ(adopted->version().id(), "akta-kelahiran.v2");
  EXPECT_EQ(adopted->superseded().id(), "akta-kelahiran.v1");
  EXPECT_EQ(adopted->superseded().state(), v1::STANDARD_STATE_SUPERSEDED);
  // One event holds the adopted version, the superseded one and the service.
  auto events = store_.events();
  ASSERT_EQ(events.size(), events_before + 1);
  EXPECT_EQ(events.back().action(), "AdoptStandardVersion");
  EXPECT_EQ(events.back().objects_size(), 3);

  v1::GetCurrentStandardRequest current;
  current.set_service_id("akta-kelahiran");
  EXPECT_EQ(registry_.GetCurrentStandard(Identity::Public(), current)->version().id(),
            "akta-kelahiran.v2");
}

TEST_F(RegistryTest, AdoptionNeedsAllFourteenComponents) {
  v1::StandardComponents partial = CompleteComponents();
  partial.clear_fee();
  partial.clear_staff_count();
  auto v = Consult(Draft(partial));
  auto status =
      registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), AdoptReq(v)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("missing: fee, staff_count"));
}

TEST_F(RegistryTest, IllegalTransitionsNameTheCurrentState) {
  auto draft = Draft();
  // Adopt straight from DRAFT.
  auto s = registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), AdoptReq(draft));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("is in state DRAFT"));
  // Record a consultation in DRAFT.
  v1::RecordConsultationRequest rec;
  rec.set_id(draft.id());
  rec.set_expected_revision(draft.revision());
  *rec.mutable_consultation()->mutable_date() = MakeDate(2026, 11, 20);
  rec.mutable_consultation()->set_participant_count(3);
  rec.mutable_consultation()->set_summary("ok");
  EXPECT_THAT(registry_.RecordConsultation(Operator("padang-pariaman"), rec).status().message(),
              HasSubstr("is in state DRAFT"));
  // Review a draft.
  v1::RecordStandardReviewRequest review;
  review.set_id(draft.id());
  review.set_expected_revision(draft.revision());
  *review.mutable_review()->mutable_date() = MakeDate(2026, 11, 27);
  review.mutable_review()->set_notes("no change");
  EXPECT_EQ(registry_.RecordStandardReview(Operator("padang-pariaman"), review).status().code(),
            absl::StatusCode::kFailedPrecondition);

  auto adopted = Adopted();  // v2
  // Edit an adopted version.
  v1::UpdateStandardDraftRequest edit;
  edit.set_id(adopted.id());
  edit.set_expected_revision(adopted.revision());
  *edit.mutable_components() = CompleteComponents();
  auto e = registry_.UpdateStandardDraft(Operator("padang-pariaman"), edit);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(e.status().message(), HasSubstr("is in state ADOPTED"));
  // Start consultation of an adopted version.
  v1::StartPublicConsultationRequest start;
  start.set_id(adopted.id());
  start.set_expected_revision(adopted.revision());
  EXPECT_THAT(
      registry_.StartPublicConsultation(Operator("padang-pariaman"), start).status().message(),
      HasSubstr("is in state ADOPTED"));
  // Withdraw twice.
  v1::WithdrawStandardVersionRequest withdraw;
  withdraw.set_id(draft.id());
  withdraw.set_expected_revision(draft.revision());
  withdraw.set_reason("diganti");
  auto w = registry_.WithdrawStandardVersion(Operator("padang-pariaman"), withdraw);
  ASSERT_TRUE(w.ok()) << w.status();
  withdraw.set_expected_revision(w->version().revision());
  EXPECT_THAT(
      registry_.WithdrawStandardVersion(Operator("padang-pariaman"), withdraw).status().message(),
      HasSubstr("is in state WITHDRAWN"));
}

TEST_F(RegistryTest, OlderVersionCannotBeAdoptedOverNewer) {
  auto older = Consult(Draft());
  Adopted();  // v2 adopted
  auto s = registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), AdoptReq(older));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("older than the adopted version"));
}

TEST_F(RegistryTest, OperatorCannotAdoptOrWithdrawAdopted) {
  auto v = Consult(Draft());
  EXPECT_EQ(
      registry_.AdoptStandardVersion(Operator("padang-pariaman"), AdoptReq(v)).status().code(),
      absl::StatusCode::kPermissionDenied);
  auto adopted = registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), AdoptReq(v));
  ASSERT_TRUE(adopted.ok());
  v1::WithdrawStandardVersionRequest withdraw;
  withdraw.set_id(adopted->version().id());
  withdraw.set_expected_revision(adopted->version().revision());
  withdraw.set_reason("layanan dihapus");
  EXPECT_EQ(
      registry_.WithdrawStandardVersion(Operator("padang-pariaman"), withdraw).status().code(),
      absl::StatusCode::kPermissionDenied);
  auto withdrawn = registry_.WithdrawStandardVersion(AgencyAdmin("padang-pariaman"), withdraw);
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.status();
  v1::GetCurrentStandardRequest current;
  current.set_service_id("akta-kelahiran");
  EXPECT_EQ(registry_.GetCurrentStandard(Identity::Public(), current).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, OtherAgenciesAndPublicNeverSeeDraftsOrManagementComponents) {
  auto draft = Draft();
  v1::GetStandardVersionRequest get;
  get.set_id(draft.id());
  EXPECT_EQ(registry_.GetStandardVersion(Identity::Public(), get).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_.GetStandardVersion(AgencyAdmin("kota-bogor"), get).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_.GetStandardVersion(Operator("padang-pariaman"), get)->version().view(),
            v1::STANDARD_VIEW_FULL);

  auto adopted = Adopted();
  get.set_id(adopted.id());
  auto pub = registry_.GetStandardVersion(AgencyAdmin("kota-bogor"), get);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->version().view(), v1::STANDARD_VIEW_PUBLIC);
  const auto& c = pub->version().components();
  EXPECT_EQ(c.requirements_size(), 2);
  EXPECT_EQ(c.procedure_size(), 3);
  EXPECT_TRUE(c.has_fee());
  EXPECT_TRUE(c.has_completion_time());
  EXPECT_EQ(c.products_size(), 1);
  EXPECT_TRUE(c.has_complaint_handling());
  EXPECT_EQ(c.legal_basis_size(), 0);
  EXPECT_EQ(c.facilities_size(), 0);
  EXPECT_EQ(c.staff_competences_size(), 0);
  EXPECT_EQ(c.internal_supervision(), "");
  EXPECT_EQ(c.staff_count(), 0);
  EXPECT_EQ(c.service_guarantee(), "");
  EXPECT_EQ(c.security_guarantee(), "");
  EXPECT_EQ(c.staff_evaluation(), "");
}

TEST_F(RegistryTest, ListVersionsHidesDraftsFromPublicAndPaginates) {
  Adopted();  // v1 adopted
  Draft();    // v2 draft
  Adopted();  // v3 adopted, v1 superseded
  v1::ListStandardVersionsRequest req;
  req.set_service_id("akta-kelahiran");
  req.mutable_page()->set_page_size(1);
  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = registry_.ListStandardVersions(Identity::Public(), req);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& v : page->versions()) seen.push_back(v.id());
    if (page->next_page_token().empty()) break;
    req.mutable_page()->set_page_token(page->next_page_token());
  }
  EXPECT_THAT(seen, ElementsAre("akta-kelahiran.v1", "akta-kelahiran.v3"));
  req.mutable_page()->clear_page_token();
  req.mutable_page()->set_page_size(10);
  EXPECT_EQ(registry_.ListStandardVersions(Operator("padang-pariaman"), req)->versions_size(), 3);
}

TEST_F(RegistryTest, SearchByKeywordRegionAndState) {
  Adopted();
  Draft();
  v1::SearchStandardsRequest req;
  req.set_keyword("Akta KELAHIRAN");
  req.set_region_code_prefix("13");
  auto found = registry_.SearchStandards(Identity::Public(), req);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->versions_size(), 1);
  EXPECT_EQ(found->versions(0).view(), v1::STANDARD_VIEW_PUBLIC);
  req.set_keyword("akta paspor");  // every word must match
  EXPECT_EQ(registry_.SearchStandards(Identity::Public(), req)->versions_size(), 0);
  req.set_keyword("");
  req.set_region_code_prefix("32");
  EXPECT_EQ(registry_.SearchStandards(Identity::Public(), req)->versions_size(), 0);

  v1::SearchStandardsRequest drafts;
  drafts.add_states(v1::STANDARD_STATE_DRAFT);
  EXPECT_EQ(registry_.SearchStandards(Identity::Public(), drafts).status().code(),
            absl::StatusCode::kPermissionDenied);
  drafts.set_agency_id("padang-pariaman");
  EXPECT_EQ(registry_.SearchStandards(AgencyAdmin("kota-bogor"), drafts).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(registry_.SearchStandards(Operator("padang-pariaman"), drafts)->versions_size(), 1);
}

TEST_F(RegistryTest, PageTokenIsBoundToItsQuery) {
  for (int i = 0; i < 3; ++i) Adopted();
  v1::SearchStandardsRequest req;
  req.add_states(v1::STANDARD_STATE_SUPERSEDED);
  req.mutable_page()->set_page_size(1);
  auto page = registry_.SearchStandards(Identity::Public(), req);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_page_token().empty());
  req.mutable_page()->set_page_token(page->next_page_token());
  req.set_keyword("akta");
  EXPECT_THAT(ViolatedFields(registry_.SearchStandards(Identity::Public(), req).status()),
              ElementsAre("page.page_token"));
  req.mutable_page()->set_page_token("garbage!");
  EXPECT_THAT(ViolatedFields(registry_.SearchStandards(Identity::Public(), req).status()),
              ElementsAre("page.page_token"));
}

TEST_F(RegistryTest, CompletenessScoreFollowsThePekpppScale) {
  v1::GetCompletenessRequest req;
  req.set_service_id("akta-kelahiran");
  auto score = [&] { return registry_.GetCompleteness(Identity::Public(), req)->score(); };
  EXPECT_EQ(score(), 0);
  v1::StandardComponents partial = CompleteComponents();
  partial.clear_procedure();
  auto draft = Draft(partial);
  EXPECT_EQ(score(), 1);
  EXPECT_THAT(registry_.GetCompleteness(Identity::Public(), req)->missing_components(),
              ElementsAre("procedure"));
  v1::UpdateStandardDraftRequest fill;
  fill.set_id(draft.id());
  fill.set_expected_revision(draft.revision());
  *fill.mutable_components() = CompleteComponents();
  ASSERT_TRUE(registry_.UpdateStandardDraft(Operator("padang-pariaman"), fill).ok());
  EXPECT_EQ(score(), 2);
  // Adopted without a recorded consultation: 3.
  auto unconsulted = Consult(Draft(), /*record=*/false);
  ASSERT_TRUE(
      registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), AdoptReq(unconsulted)).ok());
  EXPECT_EQ(score(), 3);
  // Adopted after consultation and published: 5.
  Adopted();
  EXPECT_EQ(score(), 5);
  // Review overdue 13 months later: 4, and the reason says why.
  clock_.Advance(absl::Hours(24 * 400));
  auto late = registry_.GetCompleteness(Identity::Public(), req);
  EXPECT_EQ(late->score(), 4);
  EXPECT_THAT(late->reasons(0), HasSubstr("review overdue since 2027-12-01"));
}

TEST_F(RegistryTest, ReviewOverdueListAndRecordedReview) {
  auto adopted = Adopted();
  v1::ListReviewOverdueRequest list;
  EXPECT_EQ(registry_.ListReviewOverdue(Identity::Public(), list)->versions_size(), 0);
  clock_.Advance(absl::Hours(24 * 400));  // 2028-01-02
  auto overdue = registry_.ListReviewOverdue(Identity::Public(), list);
  ASSERT_EQ(overdue->versions_size(), 1);
  EXPECT_EQ(overdue->versions(0).id(), adopted.id());

  v1::RecordStandardReviewRequest review;
  review.set_id(adopted.id());
  review.set_expected_revision(adopted.revision());
  *review.mutable_review()->mutable_date() = MakeDate(2028, 1, 2);
  review.mutable_review()->set_notes("Standar masih sesuai; tidak ada perubahan");
  auto reviewed = registry_.RecordStandardReview(Operator("padang-pariaman"), review);
  ASSERT_TRUE(reviewed.ok()) << reviewed.status();
  EXPECT_EQ(reviewed->version().review_due_date().year(), 2029);
  EXPECT_EQ(reviewed->version().reviews(0).reviewed_by(), "op@padang-pariaman");
  EXPECT_EQ(registry_.ListReviewOverdue(Identity::Public(), list)->versions_size(), 0);
}

TEST_F(RegistryTest, DatesAreCheckedAgainstTodayAndEachOther) {
  auto v = Consult(Draft());
  auto req = AdoptReq(v);
  *req.mutable_adoption()->mutable_decree_date() = MakeDate(2026, 12, 1);  // tomorrow
  EXPECT_THAT(
      ViolatedFields(registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), req).status()),
      ElementsAre("adoption.decree_date"));
  req = AdoptReq(v);
  *req.mutable_adoption()->mutable_effective_from() = MakeDate(2026, 11, 1);
  EXPECT_THAT(
      ViolatedFields(registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), req).status()),
      ElementsAre("adoption.effective_from"));
  req = AdoptReq(v);
  *req.mutable_adoption()->mutable_decree_date() = MakeDate(2026, 2, 30);
  req.mutable_adoption()->clear_decree_number();
  req.mutable_publications(0)->clear_medium();
  EXPECT_THAT(
      ViolatedFields(registry_.AdoptStandardVersion(AgencyAdmin("padang-pariaman"), req).status()),
      UnorderedElementsAre("adoption.decree_number", "adoption.decree_date",
                           "publications[0].medium"));
}

TEST_F(RegistryTest, ConcurrentEditsOfOneDraftExactlyOneWins) {
  auto draft = Draft();
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      v1::UpdateStandardDraftRequest req;
      req.set_id(draft.id());
      req.set_expected_revision(draft.revision());
      *req.mutable_components() = CompleteComponents();
      req.mutable_components()->set_staff_count(100 + i);
      auto r = registry_.UpdateStandardDraft(Operator("padang-pariaman"), req);
      if (r.ok()) ++ok;
      if (r.status().code() == absl::StatusCode::kAborted) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 7);
}

TEST_F(RegistryTest, StoreFailureIsReturnedAndNothingCommits) {
  size_t events = store_.events().size();
  store_.FailNextCommits(1);
  v1::CreateStandardVersionRequest req;
  req.set_service_id("akta-kelahiran");
  EXPECT_EQ(registry_.CreateStandardVersion(Operator("padang-pariaman"), req).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_.events().size(), events);
}

TEST_F(RegistryTest, MaklumatLifecycle) {
  v1::CreateMaklumatDraftRequest create;
  create.set_unit_id("disdukcapil-pp");
  create.set_text("Dengan ini kami menyatakan sanggup menyelenggarakan pelayanan sesuai standar.");
  auto draft = registry_.CreateMaklumatDraft(Operator("padang-pariaman"), create);
  ASSERT_TRUE(draft.ok()) << draft.status();
  EXPECT_EQ(draft->maklumat().id(), "disdukcapil-pp.m1");
  v1::GetMaklumatRequest get;
  get.set_id(draft->maklumat().id());
  EXPECT_EQ(registry_.GetMaklumat(Identity::Public(), get).status().code(),
            absl::StatusCode::kNotFound);

  v1::AdoptMaklumatRequest adopt;
  adopt.set_id(draft->maklumat().id());
  adopt.set_expected_revision(draft->maklumat().revision());
  adopt.set_signer_name("Fadhly");
  adopt.set_signer_position("Kepala Dinas");
  *adopt.mutable_signed_date() = MakeDate(2026, 11, 27);
  EXPECT_EQ(registry_.AdoptMaklumat(Operator("padang-pariaman"), adopt).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto adopted = registry_.AdoptMaklumat(AgencyAdmin("padang-pariaman"), adopt);
  ASSERT_TRUE(adopted.ok()) << adopted.status();

  v1::UpdateMaklumatDraftRequest edit;
  edit.set_id(adopted->maklumat().id());
  edit.set_expected_revision(adopted->maklumat().revision());
  edit.set_text("Teks baru yang cukup panjang untuk sebuah maklumat.");
  EXPECT_THAT(registry_.UpdateMaklumatDraft(Operator("padang-pariaman"), edit).status().message(),
              HasSubstr("is in state ADOPTED"));

  v1::PublishMaklumatRequest publish;
  publish.set_id(adopted->maklumat().id());
  publish.set_expected_revision(adopted->maklumat().revision());
  EXPECT_THAT(
      ViolatedFields(registry_.PublishMaklumat(Operator("padang-pariaman"), publish).status()),
      ElementsAre("publications"));
  auto* pub = publish.add_publications();
  pub->set_medium(v1::PUBLICATION_MEDIUM_NOTICE_BOARD);
  pub->set_location("Ruang tunggu kantor dinas");
  auto published = registry_.PublishMaklumat(Operator("padang-pariaman"), publish);
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->maklumat().state(), v1::MAKLUMAT_STATE_PUBLISHED);

  // A second pledge supersedes the first when adopted.
  auto second = registry_.CreateMaklumatDraft(Operator("padang-pariaman"), create);
  ASSERT_TRUE(second.ok());
  adopt.set_id(second->maklumat().id());
  adopt.set_expected_revision(second->maklumat().revision());
  ASSERT_TRUE(registry_.AdoptMaklumat(AgencyAdmin("padang-pariaman"), adopt).ok());
  v1::GetMaklumatRequest current;
  current.set_current_for_unit("disdukcapil-pp");
  EXPECT_EQ(registry_.GetMaklumat(Identity::Public(), current)->maklumat().id(),
            "disdukcapil-pp.m2");
  EXPECT_EQ(registry_.GetMaklumat(Identity::Public(), get)->maklumat().state(),
            v1::MAKLUMAT_STATE_SUPERSEDED);
  v1::ListMaklumatRequest list;
  list.set_unit_id("disdukcapil-pp");
  EXPECT_EQ(registry_.ListMaklumat(Identity::Public(), list)->maklumat_size(), 2);
}

TEST_F(RegistryTest, WatchViewFiltersAndHidesDrafts) {
  auto draft = Draft();
  auto event = store_.events().back();
  v1::WatchStandardsRequest all;
  // The draft's event also carries the service; the public sees only the service.
  auto shown = registry_.ViewForWatch(Identity::Public(), all, event);
  ASSERT_TRUE(shown.has_value());
  ASSERT_EQ(shown->objects_size(), 1);
  EXPECT_TRUE(shown->objects(0).has_service());
  EXPECT_EQ(shown->actor(), "");
  auto own = registry_.ViewForWatch(Operator("padang-pariaman"), all, event);
  EXPECT_EQ(own->objects_size(), 2);
  EXPECT_EQ(own->actor(), "op@padang-pariaman");

  v1::WatchStandardsRequest only_versions;
  only_versions.add_entity_types(v1::ENTITY_TYPE_STANDARD_VERSION);
  EXPECT_FALSE(registry_.ViewForWatch(Identity::Public(), only_versions, event).has_value());
  v1::WatchStandardsRequest other_agency;
  other_agency.set_agency_id("kota-bogor");
  EXPECT_FALSE(
      registry_.ViewForWatch(Operator("padang-pariaman"), other_agency, event).has_value());

  v1::WatchStandardsRequest bad;
  bad.set_cursor("yesterday");
  bad.add_entity_types(v1::ENTITY_TYPE_UNSPECIFIED);
  EXPECT_THAT(ViolatedFields(registry_.ValidateWatch(bad)),
              UnorderedElementsAre("cursor", "entity_types[0]"));
}

// An anonymous caller replays at most public_replay_window (1 h by default) of the feed, or
// a longer stretch holding at most public_replay_max_events changes; a caller with an
// identity replays everything retained.
TEST_F(RegistryTest, PublicReplayOfTheChangeFeedIsBounded) {
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  auto with_cursor = [](const std::string& cursor) {
    v1::WatchStandardsRequest req;
    req.set_cursor(cursor);
    return req;
  };
  // Start is the cursor a watch starts after, or the error ("OUT_OF_RANGE: ...").
  auto Start = [](const StandardsRegistry& r, const Identity& who,
                  const v1::WatchStandardsRequest& req) -> std::string {
    absl::StatusOr<std::string> start = r.ReplayFrom(who, req);
    return start.ok() ? *start : start.status().ToString();
  };
  const std::string recent = absl::StrCat(now_ms - 59 * 60 * 1000, "-3");
  const std::string window_start = absl::StrCat(now_ms - 60 * 60 * 1000, "-0");
  // The fake feed's cursors ("1-0", "2-0", ...) are from 1970: far outside the window. SetUp
  // made a few changes; at most one change after a cursor is a short enough replay here.
  auto feed = store_.ReadChanges("0", 1000, absl::ZeroDuration());
  ASSERT_TRUE(feed.ok());
  const int n = static_cast<int>(feed->size());
  ASSERT_GE(n, 3);
  const std::string oldest = (*feed)[0].cursor();
  const std::string one_before_last = (*feed)[n - 2].cursor();
  StandardsRegistry registry(store_, clock_, RegistryOptions{.public_replay_max_events = 1});

  // Anonymous: from now, a recent cursor, and "0" moved to the window's start.
  EXPECT_EQ(Start(registry, Identity::Public(), with_cursor("")), "");
  EXPECT_EQ(Start(registry, Identity::Public(), with_cursor("$")), "$");
  EXPECT_EQ(Start(registry, Identity::Public(), with_cursor(recent)), recent);
  EXPECT_EQ(Start(registry, Identity::Public(), with_cursor("0")), window_start);
  // An old cursor with one change after it (an idle watcher catching up) is fine ...
  EXPECT_EQ(Start(registry, Identity::Public(), with_cursor(one_before_last)), one_before_last);
  // ... with more it is out of range, saying what to do instead.
  EXPECT_THAT(Start(registry, Identity::Public(), with_cursor(oldest)),
              AllOf(StartsWith("OUT_OF_RANGE: "), HasSubstr("less than 1h old"),
                    HasSubstr("at most 1 changes"), HasSubstr("watch from now")));
  // The default allows 1000 changes: the same cursor is fine there.
  EXPECT_EQ(Start(registry_, Identity::Public(), with_cursor(oldest)), oldest);

  // With an identity (an agency system, a dashboard's key) the whole retained feed.
  for (const Identity& who : {Operator("padang-pariaman"), simpul::testing::DashboardCaller()}) {
    EXPECT_EQ(Start(registry, who, with_cursor("0")), "0");
    EXPECT_EQ(Start(registry, who, with_cursor(oldest)), oldest);
  }

  // No bound when the window is zero.
  StandardsRegistry unbounded(
      store_, clock_,
      RegistryOptions{.public_replay_window = absl::ZeroDuration(), .public_replay_max_events = 1});
  EXPECT_EQ(Start(unbounded, Identity::Public(), with_cursor("0")), "0");
  EXPECT_EQ(Start(unbounded, Identity::Public(), with_cursor(oldest)), oldest);
}

// ---------------------------------------------------------------------------------------
// Sandbox flag (issue #15): set and cleared by platform admins only, kept by other updates.

TEST_F(RegistryTest, PlatformAdminCreatesSandboxAgencyAndUnitAndTheFeedCarriesThem) {
  v1::Agency agency = MakeAgency("kab-uji", v1::AGENCY_KIND_REGENCY, "32.01");
  agency.set_sandbox(true);
  auto created = registry_.CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(agency));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->agency().sandbox());
  ASSERT_FALSE(store_.events().empty());
  EXPECT_TRUE(store_.events().back().objects(0).agency().sandbox());
  v1::GetAgencyRequest get;
  get.set_id("kab-uji");
  EXPECT_TRUE(registry_.GetAgency(Identity::Public(), get)->agency().sandbox());
  // An agency created without it is not in sandbox.
  get.set_id("kota-bogor");
  EXPECT_FALSE(registry_.GetAgency(Identity::Public(), get)->agency().sandbox());

  v1::CreateServiceUnitRequest unit;
  unit.mutable_unit()->set_id("mpp-uji");
  unit.mutable_unit()->set_agency_id("kota-bogor");
  unit.mutable_unit()->set_name("Mal Pelayanan Publik (uji coba)");
  unit.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
  unit.mutable_unit()->set_sandbox(true);
  auto made = registry_.CreateServiceUnit(Admin(), unit);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(made->unit().sandbox());
  EXPECT_TRUE(store_.events().back().objects(0).unit().sandbox());
  v1::GetServiceUnitRequest get_unit;
  get_unit.set_id("mpp-uji");
  EXPECT_TRUE(registry_.GetServiceUnit(Identity::Public(), get_unit)->unit().sandbox());
}

TEST_F(RegistryTest, AgencyAdminCannotSetOrClearSandboxAndNothingChanges) {
  // Set: creating a sandbox unit, flagging its agency, flagging a unit.
  const size_t events = store_.events().size();
  v1::CreateServiceUnitRequest unit;
  unit.mutable_unit()->set_id("mpp-uji");
  unit.mutable_unit()->set_agency_id("padang-pariaman");
  unit.mutable_unit()->set_name("Unit uji coba");
  unit.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
  unit.mutable_unit()->set_sandbox(true);
  auto denied = registry_.CreateServiceUnit(AgencyAdmin("padang-pariaman"), unit);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.status().message(), HasSubstr("unit.sandbox"));
  v1::GetServiceUnitRequest get_unit;
  get_unit.set_id("mpp-uji");
  EXPECT_EQ(registry_.GetServiceUnit(Identity::Public(), get_unit).status().code(),
            absl::StatusCode::kNotFound);

  v1::UpdateAgencyRequest agency;
  *agency.mutable_agency() = MakeAgency("padang-pariaman", v1::AGENCY_KIND_REGENCY, "13.05");
  agency.mutable_agency()->set_sandbox(true);
  agency.set_expected_revision(1);
  auto agency_denied = registry_.UpdateAgency(AgencyAdmin("padang-pariaman"), agency);
  EXPECT_EQ(agency_denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(agency_denied.status().message(), HasSubstr("agency.sandbox"));

  v1::UpdateServiceUnitRequest update;
  update.mutable_unit()->set_id("disdukcapil-pp");
  update.mutable_unit()->set_name("Disdukcapil");
  update.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
  update.mutable_unit()->set_sandbox(true);
  update.set_expected_revision(1);
  auto unit_denied = registry_.UpdateServiceUnit(AgencyAdmin("padang-pariaman"), update);
  EXPECT_EQ(unit_denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(unit_denied.status().message(), HasSubstr("unit.sandbox"));
  EXPECT_EQ(store_.events().size(), events);
  get_unit.set_id("disdukcapil-pp");
  auto stored_unit = registry_.GetServiceUnit(Identity::Public(), get_unit);
  EXPECT_FALSE(stored_unit->unit().sandbox());
  EXPECT_EQ(stored_unit->unit().revision(), 1);
  EXPECT_EQ(stored_unit->unit().name(), "Dinas Kependudukan dan Pencatatan Sipil");

  // Clear: a platform admin flags both; the agency admin cannot clear either.
  agency.mutable_agency()->set_sandbox(true);
  ASSERT_TRUE(registry_.UpdateAgency(Admin(), agency).ok());
  ASSERT_TRUE(registry_.UpdateServiceUnit(Admin(), update).ok());
  const size_t flagged_events = store_.events().size();
  agency.mutable_agency()->set_sandbox(false);
  agency.set_expected_revision(2);
  auto clear_agency = registry_.UpdateAgency(AgencyAdmin("padang-pariaman"), agency);
  EXPECT_EQ(clear_agency.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(clear_agency.status().message(),
              AllOf(HasSubstr("agency.sandbox"), HasSubstr("clear")));
  update.mutable_unit()->set_sandbox(false);
  update.set_expected_revision(2);
  auto clear_unit = registry_.UpdateServiceUnit(AgencyAdmin("padang-pariaman"), update);
  EXPECT_EQ(clear_unit.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(clear_unit.status().message(), AllOf(HasSubstr("unit.sandbox"), HasSubstr("clear")));
  EXPECT_EQ(store_.events().size(), flagged_events);
  v1::GetAgencyRequest get;
  get.set_id("padang-pariaman");
  EXPECT_TRUE(registry_.GetAgency(Identity::Public(), get)->agency().sandbox());
  EXPECT_TRUE(registry_.GetServiceUnit(Identity::Public(), get_unit)->unit().sandbox());
}

TEST_F(RegistryTest, UpdatesThatDoNotMentionSandboxKeepIt) {
  v1::Agency agency = MakeAgency("kab-uji", v1::AGENCY_KIND_REGENCY, "32.01");
  agency.set_sandbox(true);
  ASSERT_TRUE(registry_.CreateAgency(Admin(), Req<v1::CreateAgencyRequest>(agency)).ok());
  v1::CreateServiceUnitRequest unit;
  unit.mutable_unit()->set_id("unit-uji");
  unit.mutable_unit()->set_agency_id("kab-uji");
  unit.mutable_unit()->set_name("Unit uji coba");
  unit.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
  unit.mutable_unit()->set_sandbox(true);
  ASSERT_TRUE(registry_.CreateServiceUnit(Admin(), unit).ok());

  // The agency admin renames both without the flag, then sends it back unchanged (a
  // read-modify-write round trip): allowed, and the flag stays.
  v1::UpdateAgencyRequest rename;
  *rename.mutable_agency() = MakeAgency("kab-uji", v1::AGENCY_KIND_REGENCY, "32.01");
  rename.mutable_agency()->set_name("Kabupaten Uji Coba");
  rename.set_expected_revision(1);
  auto renamed = registry_.UpdateAgency(AgencyAdmin("kab-uji"), rename);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->agency().name(), "Kabupaten Uji Coba");
  EXPECT_TRUE(renamed->agency().sandbox());
  EXPECT_TRUE(store_.events().back().objects(0).agency().sandbox());
  rename.mutable_agency()->set_sandbox(true);
  rename.set_expected_revision(2);
  auto round_trip = registry_.UpdateAgency(AgencyAdmin("kab-uji"), rename);
  ASSERT_TRUE(round_trip.ok()) << round_trip.status();
  EXPECT_TRUE(round_trip->agency().sandbox());

  v1::UpdateServiceUnitRequest unit_rename;
  unit_rename.mutable_unit()->set_id("unit-uji");
  unit_rename.mutable_unit()->set_name("Unit uji coba 2");
  unit_rename.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIT);
  unit_rename.set_expected_revision(1);
  auto unit_renamed = registry_.UpdateServiceUnit(AgencyAdmin("kab-uji"), unit_rename);
  ASSERT_TRUE(unit_renamed.ok()) << unit_renamed.status();
  EXPECT_EQ(unit_renamed->unit().name(), "Unit uji coba 2");
  EXPECT_TRUE(unit_renamed->unit().sandbox());
  EXPECT_TRUE(store_.events().back().objects(0).unit().sandbox());

  // A platform admin's update without the flag keeps it too; with false it clears it.
  unit_rename.set_expected_revision(2);
  auto kept = registry_.UpdateServiceUnit(Admin(), unit_rename);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_TRUE(kept->unit().sandbox());
  unit_rename.mutable_unit()->set_sandbox(false);
  unit_rename.set_expected_revision(3);
  auto cleared = registry_.UpdateServiceUnit(Admin(), unit_rename);
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_FALSE(cleared->unit().sandbox());
  EXPECT_FALSE(store_.events().back().objects(0).unit().sandbox());
}

// ---------------------------------------------------------------------------------------
// Service attributes (intake questions, issue #16)

v1::ServiceAttribute Attr(const std::string& code, v1::AttributeDatatype type,
                          bool required = false) {
  v1::ServiceAttribute a;
  a.set_code(code);
  a.set_datatype(type);
  a.set_variable(true);
  a.set_required(required);
  a.set_description("Pertanyaan " + code);
  if (type == v1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST ||
      type == v1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST) {
    for (const char* key : {"a", "b", "c"}) {
      auto* value = a.add_values();
      value->set_key(key);
      value->set_name(std::string("Pilihan ") + key);
    }
  }
  return a;
}

TEST(ServiceAttributesTest, EveryRuleNamesItsFieldPath) {
  v1::Service s;
  // 0: fine. 1: duplicate code, no description. 2: list without values, duplicate key.
  *s.add_attributes() = Attr("application_number", v1::ATTRIBUTE_DATATYPE_STRING, true);
  v1::ServiceAttribute dup = Attr("application_number", v1::ATTRIBUTE_DATATYPE_NUMBER);
  dup.clear_description();
  *s.add_attributes() = dup;
  v1::ServiceAttribute list = Attr("channel", v1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST);
  list.mutable_values(1)->set_key("a");
  list.mutable_values(2)->clear_name();
  *s.add_attributes() = list;
  v1::ServiceAttribute empty_list = Attr("docs", v1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST);
  empty_list.clear_values();
  *s.add_attributes() = empty_list;
  // 4: bad code, no datatype while variable, order out of range, values on a string.
  v1::ServiceAttribute bad = Attr("-bad code", v1::ATTRIBUTE_DATATYPE_UNSPECIFIED);
  bad.set_order(1001);
  bad.add_values()->set_key("x");
  bad.mutable_values(0)->set_name("x");
  *s.add_attributes() = bad;
  // 5: informational yet required and a list; 6: max_length on a number and too long on text.
  v1::ServiceAttribute info = Attr("note", v1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST, true);
  info.set_variable(false);
  *s.add_attributes() = info;
  v1::ServiceAttribute number = Attr("age", v1::ATTRIBUTE_DATATYPE_NUMBER);
  number.set_max_length(10);
  *s.add_attributes() = number;
  v1::ServiceAttribute text = Attr("story", v1::ATTRIBUTE_DATATYPE_TEXT);
  text.set_max_length(4001);
  text.set_datatype_description(std::string(501, 'x'));
  *s.add_attributes() = text;
  FieldViolations v;
  ValidateServiceAttributes(v, "service.", s.attributes());
  EXPECT_THAT(
      ViolatedFields(v.ToStatus("x")),
      UnorderedElementsAre("service.attributes[1].code", "service.attributes[1].description",
                           "service.attributes[2].values[1].key",
                           "service.attributes[2].values[2].name", "service.attributes[3].values",
                           "service.attributes[4].code", "service.attributes[4].datatype",
                           "service.attributes[4].order", "service.attributes[4].values",
                           "service.attributes[5].required", "service.attributes[5].datatype",
                           "service.attributes[6].max_length", "service.attributes[7].max_length",
                           "service.attributes[7].datatype_description"));
}

TEST(ServiceAttributesTest, AtMostTwentyAttributesAndFiftyValues) {
  v1::Service s;
  for (int i = 0; i < 21; ++i) {
    *s.add_attributes() = Attr(absl::StrCat("q", i), v1::ATTRIBUTE_DATATYPE_STRING);
  }
  FieldViolations v;
  ValidateServiceAttributes(v, "service.", s.attributes());
  EXPECT_THAT(ViolatedFields(v.ToStatus("x")), ElementsAre("service.attributes"));

  v1::Service lists;
  v1::ServiceAttribute big = Attr("big", v1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST);
  for (int i = 3; i < 51; ++i) {
    auto* value = big.add_values();
    value->set_key(absl::StrCat("k", i));
    value->set_name(absl::StrCat("n", i));
  }
  *lists.add_attributes() = big;
  FieldViolations v2;
  ValidateServiceAttributes(v2, "service.", lists.attributes());
  EXPECT_THAT(ViolatedFields(v2.ToStatus("x")), ElementsAre("service.attributes[0].values"));
  // Fifty values and an informational attribute without a datatype are fine.
  lists.mutable_attributes(0)->mutable_values()->RemoveLast();
  v1::ServiceAttribute info;
  info.set_code("Catatan_1");
  info.set_description("Bawa KTP asli saat mengambil dokumen.");
  *lists.add_attributes() = info;
  FieldViolations v3;
  ValidateServiceAttributes(v3, "service.", lists.attributes());
  EXPECT_TRUE(v3.empty()) << v3.ToStatus("x");
}

TEST_F(RegistryTest, CreateAndUpdateServiceSetKeepAndClearAttributes) {
  v1::CreateServiceRequest create;
  create.mutable_service()->set_id("ktp-el");
  create.mutable_service()->set_unit_id("disdukcapil-pp");
  create.mutable_service()->set_name("KTP Elektronik");
  *create.mutable_service()->add_attributes() =
      Attr("application_number", v1::ATTRIBUTE_DATATYPE_STRING, true);
  // A bad attribute is refused naming its path, and nothing is created.
  v1::CreateServiceRequest bad = create;
  bad.mutable_service()->mutable_attributes(0)->set_code("no spaces");
  EXPECT_THAT(ViolatedFields(registry_.CreateService(AgencyAdmin("padang-pariaman"), bad).status()),
              ElementsAre("service.attributes[0].code"));
  v1::GetServiceRequest get;
  get.set_id("ktp-el");
  EXPECT_EQ(registry_.GetService(Identity::Public(), get).status().code(),
            absl::StatusCode::kNotFound);
  // Only who may edit the service sets them.
  EXPECT_EQ(registry_.CreateService(Operator("padang-pariaman"), create).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto created = registry_.CreateService(AgencyAdmin("padang-pariaman"), create);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->service().attributes_size(), 1);
  EXPECT_EQ(store_.events().back().objects(0).service().attributes(0).code(), "application_number");
  EXPECT_EQ(registry_.GetService(Identity::Public(), get)->service().attributes(0).code(),
            "application_number");

  // An update without attributes keeps them (and bumps the revision as any update).
  v1::UpdateServiceRequest rename;
  rename.mutable_service()->set_id("ktp-el");
  rename.mutable_service()->set_name("KTP-el");
  rename.set_expected_revision(created->service().revision());
  auto renamed = registry_.UpdateService(AgencyAdmin("padang-pariaman"), rename);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->service().revision(), created->service().revision() + 1);
  ASSERT_EQ(renamed->service().attributes_size(), 1);

  // Given attributes replace them; the feed carries the new ones.
  v1::UpdateServiceRequest change = rename;
  change.set_expected_revision(renamed->service().revision());
  *change.mutable_service()->add_attributes() =
      Attr("pickup", v1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST, true);
  // Invalid ones are refused with the path, nothing changes.
  v1::UpdateServiceRequest bad_change = change;
  bad_change.mutable_service()->mutable_attributes(0)->mutable_values(2)->set_key("a");
  EXPECT_THAT(
      ViolatedFields(registry_.UpdateService(AgencyAdmin("padang-pariaman"), bad_change).status()),
      ElementsAre("service.attributes[0].values[2].key"));
  v1::UpdateServiceRequest both = change;
  both.set_clear_attributes(true);
  EXPECT_THAT(
      ViolatedFields(registry_.UpdateService(AgencyAdmin("padang-pariaman"), both).status()),
      ElementsAre("clear_attributes"));
  EXPECT_EQ(registry_.GetService(Identity::Public(), get)->service().revision(),
            renamed->service().revision());
  auto changed = registry_.UpdateService(AgencyAdmin("padang-pariaman"), change);
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_EQ(changed->service().attributes_size(), 1);
  EXPECT_EQ(changed->service().attributes(0).code(), "pickup");
  const v1::ChangeEvent event = store_.events().back();
  EXPECT_EQ(event.action(), "UpdateService");
  ASSERT_EQ(event.objects(0).service().attributes_size(), 1);
  EXPECT_EQ(event.objects(0).service().attributes(0).values_size(), 3);

  // clear_attributes removes them.
  v1::UpdateServiceRequest clear = rename;
  clear.set_expected_revision(changed->service().revision());
  clear.set_clear_attributes(true);
  auto cleared = registry_.UpdateService(AgencyAdmin("padang-pariaman"), clear);
  ASSERT_TRUE(cleared.ok()) << cleared.status();
  EXPECT_EQ(cleared->service().attributes_size(), 0);
  EXPECT_EQ(store_.events().back().objects(0).service().attributes_size(), 0);
}

}  // namespace
}  // namespace simpul::registry
