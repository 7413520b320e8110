// End-to-end tests of simpul-registry: the real binary, a real redis-server, gRPC calls over
// loopback. Covers every RPC, errors with field violations, authorization, concurrency,
// pagination, the watch stream, health, graceful stop and durability across kill -9.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/identity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simpul/calendar/v1/calendar.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/local_identity.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::registry {
namespace {

namespace v1 = ::simpul::registry::v1;
using ::simpul::testing::Binary;
using ::simpul::testing::CompleteComponents;
using ::simpul::testing::IsOk;
using ::simpul::testing::MakeAgency;
using ::simpul::testing::MakeDate;
using ::simpul::testing::MakeWibUnit;
using ::simpul::testing::ServiceCluster;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class RegistryE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    auto registry = cluster_->Start(Binary::kRegistry, {.flags = {"--drain_timeout=3s"}});
    ASSERT_THAT(registry, IsOk());
    registry_ = *registry;
    stub_ = v1::Registry::NewStub(registry_->channel());
  }

  std::string Token(common::v1::Role role, const std::string& agency = "") {
    return cluster_->tokens().Token(role, agency);
  }

  // Ctx makes a client context with a deadline and, unless `token` is empty, an identity.
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "") {
    return simpul::testing::IdentityContext(token);
  }

  std::string AdminToken() { return Token(common::v1::ROLE_PLATFORM_ADMIN); }
  std::string PpAdmin() { return Token(common::v1::ROLE_AGENCY_ADMIN, "kab-padang-pariaman"); }
  std::string PpOperator() {
    return Token(common::v1::ROLE_AGENCY_OPERATOR, "kab-padang-pariaman");
  }

  // Seed creates an agency, a unit and a service, asserting success.
  void Seed() {
    v1::CreateAgencyRequest agency;
    *agency.mutable_agency() = MakeAgency("kab-padang-pariaman", v1::AGENCY_KIND_REGENCY, "13.05");
    v1::CreateAgencyResponse agency_resp;
    ASSERT_TRUE(stub_->CreateAgency(Ctx(AdminToken()).get(), agency, &agency_resp).ok());
    v1::CreateServiceUnitRequest unit;
    *unit.mutable_unit() = MakeWibUnit("disdukcapil-pp", "kab-padang-pariaman",
                                       "Dinas Kependudukan dan Pencatatan Sipil");
    v1::CreateServiceUnitResponse unit_resp;
    ASSERT_TRUE(stub_->CreateServiceUnit(Ctx(PpAdmin()).get(), unit, &unit_resp).ok());
    v1::CreateServiceRequest service;
    service.mutable_service()->set_id("akta-kelahiran");
    service.mutable_service()->set_unit_id("disdukcapil-pp");
    service.mutable_service()->set_name("Akta Kelahiran");
    v1::CreateServiceResponse service_resp;
    ASSERT_TRUE(stub_->CreateService(Ctx(PpAdmin()).get(), service, &service_resp).ok());
  }

  v1::StandardVersion NewDraft() {
    v1::CreateStandardVersionRequest req;
    req.set_service_id("akta-kelahiran");
    *req.mutable_components() = CompleteComponents();
    v1::CreateStandardVersionResponse resp;
    grpc::Status s = stub_->CreateStandardVersion(Ctx(PpOperator()).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.version();
  }

  std::unique_ptr<ServiceCluster> cluster_;
  simpul::testing::ServiceProcess* registry_ = nullptr;
  std::unique_ptr<v1::Registry::Stub> stub_;
};

TEST_F(RegistryE2ETest, EveryRpcThroughTheLifecycle) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  // Agencies.
  v1::GetAgencyRequest get_agency;
  get_agency.set_id("kab-padang-pariaman");
  v1::GetAgencyResponse agency;
  ASSERT_TRUE(stub_->GetAgency(Ctx().get(), get_agency, &agency).ok());
  v1::UpdateAgencyRequest update_agency;
  *update_agency.mutable_agency() = agency.agency();
  update_agency.mutable_agency()->set_name("Pemerintah Kabupaten Padang Pariaman");
  update_agency.set_expected_revision(agency.agency().revision());
  v1::UpdateAgencyResponse updated_agency;
  ASSERT_TRUE(stub_->UpdateAgency(Ctx(PpAdmin()).get(), update_agency, &updated_agency).ok());
  EXPECT_EQ(updated_agency.agency().revision(), 2);
  v1::ListAgenciesRequest list_agencies;
  list_agencies.set_region_code_prefix("13");
  v1::ListAgenciesResponse agencies;
  ASSERT_TRUE(stub_->ListAgencies(Ctx().get(), list_agencies, &agencies).ok());
  ASSERT_EQ(agencies.agencies_size(), 1);
  EXPECT_EQ(agencies.agencies(0).name(), "Pemerintah Kabupaten Padang Pariaman");

  // Units.
  v1::GetServiceUnitRequest get_unit;
  get_unit.set_id("disdukcapil-pp");
  v1::GetServiceUnitResponse unit;
  ASSERT_TRUE(stub_->GetServiceUnit(Ctx().get(), get_unit, &unit).ok());
  EXPECT_EQ(unit.unit().region_code(), "13.05");
  v1::UpdateServiceUnitRequest update_unit;
  *update_unit.mutable_unit() = unit.unit();
  update_unit.mutable_unit()->set_address("Jl. Padang Pariaman No. 1, Parit Malintang");
  update_unit.set_expected_revision(unit.unit().revision());
  v1::UpdateServiceUnitResponse updated_unit;
  ASSERT_TRUE(stub_->UpdateServiceUnit(Ctx(PpAdmin()).get(), update_unit, &updated_unit).ok());
  v1::ListServiceUnitsRequest list_units;
  list_units.set_agency_id("kab-padang-pariaman");
  v1::ListServiceUnitsResponse units;
  ASSERT_TRUE(stub_->ListServiceUnits(Ctx().get(), list_units, &units).ok());
  ASSERT_EQ(units.units_size(), 1);
  EXPECT_EQ(units.units(0).address(), "Jl. Padang Pariaman No. 1, Parit Malintang");

  // Services.
  v1::GetServiceRequest get_service;
  get_service.set_id("akta-kelahiran");
  v1::GetServiceResponse service;
  ASSERT_TRUE(stub_->GetService(Ctx().get(), get_service, &service).ok());
  v1::UpdateServiceRequest update_service;
  *update_service.mutable_service() = service.service();
  update_service.mutable_service()->set_description("Penerbitan kutipan akta kelahiran");
  update_service.set_expected_revision(service.service().revision());
  v1::UpdateServiceResponse updated_service;
  ASSERT_TRUE(stub_->UpdateService(Ctx(PpAdmin()).get(), update_service, &updated_service).ok());
  v1::ListServicesRequest list_services;
  list_services.set_unit_id("disdukcapil-pp");
  v1::ListServicesResponse services;
  ASSERT_TRUE(stub_->ListServices(Ctx().get(), list_services, &services).ok());
  ASSERT_EQ(services.services_size(), 1);

  // Standard lifecycle.
  v1::StandardVersion draft = NewDraft();
  v1::UpdateStandardDraftRequest edit;
  edit.set_id(draft.id());
  edit.set_expected_revision(draft.revision());
  *edit.mutable_components() = CompleteComponents();
  edit.mutable_components()->set_staff_count(15);
  v1::UpdateStandardDraftResponse edited;
  ASSERT_TRUE(stub_->UpdateStandardDraft(Ctx(PpOperator()).get(), edit, &edited).ok());
  v1::StartPublicConsultationRequest start;
  start.set_id(draft.id());
  start.set_expected_revision(edited.version().revision());
  v1::StartPublicConsultationResponse started;
  ASSERT_TRUE(stub_->StartPublicConsultation(Ctx(PpOperator()).get(), start, &started).ok());
  v1::RecordConsultationRequest consult;
  consult.set_id(draft.id());
  consult.set_expected_revision(started.version().revision());
  *consult.mutable_consultation()->mutable_date() = MakeDate(2026, 1, 10);
  consult.mutable_consultation()->set_participant_count(30);
  consult.mutable_consultation()->set_summary("Forum konsultasi publik di kantor camat");
  v1::RecordConsultationResponse consulted;
  ASSERT_TRUE(stub_->RecordConsultation(Ctx(PpOperator()).get(), consult, &consulted).ok());
  v1::AdoptStandardVersionRequest adopt;
  adopt.set_id(draft.id());
  adopt.set_expected_revision(consulted.version().revision());
  adopt.mutable_adoption()->set_decree_number("SK Kadis No. 470/12/2026");
  *adopt.mutable_adoption()->mutable_decree_date() = MakeDate(2026, 1, 20);
  *adopt.mutable_adoption()->mutable_effective_from() = MakeDate(2026, 2, 1);
  auto* pub = adopt.add_publications();
  pub->set_medium(v1::PUBLICATION_MEDIUM_WEBSITE);
  pub->set_location("https://disdukcapil.example.go.id/standar-pelayanan");
  v1::AdoptStandardVersionResponse adopted;
  ASSERT_TRUE(stub_->AdoptStandardVersion(Ctx(PpAdmin()).get(), adopt, &adopted).ok());
  EXPECT_EQ(adopted.version().state(), v1::STANDARD_STATE_ADOPTED);

  v1::GetStandardVersionRequest get_version;
  get_version.set_id(draft.id());
  v1::GetStandardVersionResponse public_version;
  ASSERT_TRUE(stub_->GetStandardVersion(Ctx().get(), get_version, &public_version).ok());
  EXPECT_EQ(public_version.version().view(), v1::STANDARD_VIEW_PUBLIC);
  EXPECT_EQ(public_version.version().components().staff_count(), 0);
  v1::GetCurrentStandardRequest current;
  current.set_service_id("akta-kelahiran");
  v1::GetCurrentStandardResponse current_resp;
  ASSERT_TRUE(stub_->GetCurrentStandard(Ctx().get(), current, &current_resp).ok());
  EXPECT_EQ(current_resp.version().id(), "akta-kelahiran.v1");
  v1::ListStandardVersionsRequest history;
  history.set_service_id("akta-kelahiran");
  v1::ListStandardVersionsResponse history_resp;
  ASSERT_TRUE(stub_->ListStandardVersions(Ctx().get(), history, &history_resp).ok());
  EXPECT_EQ(history_resp.versions_size(), 1);
  v1::SearchStandardsRequest search;
  search.set_keyword("kelahiran");
  search.set_region_code_prefix("13.05");
  v1::SearchStandardsResponse found;
  ASSERT_TRUE(stub_->SearchStandards(Ctx().get(), search, &found).ok());
  ASSERT_EQ(found.versions_size(), 1);
  v1::GetCompletenessRequest completeness;
  completeness.set_service_id("akta-kelahiran");
  v1::GetCompletenessResponse score;
  ASSERT_TRUE(stub_->GetCompleteness(Ctx().get(), completeness, &score).ok());
  EXPECT_EQ(score.score(), 5) << score.DebugString();
  v1::RecordStandardReviewRequest review;
  review.set_id(draft.id());
  review.set_expected_revision(adopted.version().revision());
  *review.mutable_review()->mutable_date() = MakeDate(2026, 6, 1);
  review.mutable_review()->set_notes("Masih sesuai");
  v1::RecordStandardReviewResponse reviewed;
  ASSERT_TRUE(stub_->RecordStandardReview(Ctx(PpOperator()).get(), review, &reviewed).ok());
  EXPECT_EQ(reviewed.version().review_due_date().year(), 2027);
  v1::ListReviewOverdueRequest overdue;
  v1::ListReviewOverdueResponse overdue_resp;
  ASSERT_TRUE(stub_->ListReviewOverdue(Ctx().get(), overdue, &overdue_resp).ok());
  EXPECT_EQ(overdue_resp.versions_size(), 0);
  v1::WithdrawStandardVersionRequest withdraw;
  withdraw.set_id(draft.id());
  withdraw.set_expected_revision(reviewed.version().revision());
  withdraw.set_reason("Layanan digabung");
  v1::WithdrawStandardVersionResponse withdrawn;
  ASSERT_TRUE(stub_->WithdrawStandardVersion(Ctx(PpAdmin()).get(), withdraw, &withdrawn).ok());
  EXPECT_EQ(withdrawn.version().state(), v1::STANDARD_STATE_WITHDRAWN);

  // Maklumat.
  v1::CreateMaklumatDraftRequest mk;
  mk.set_unit_id("disdukcapil-pp");
  mk.set_text("Kami sanggup menyelenggarakan pelayanan sesuai standar pelayanan.");
  v1::CreateMaklumatDraftResponse mk_draft;
  ASSERT_TRUE(stub_->CreateMaklumatDraft(Ctx(PpOperator()).get(), mk, &mk_draft).ok());
  v1::UpdateMaklumatDraftRequest mk_edit;
  mk_edit.set_id(mk_draft.maklumat().id());
  mk_edit.set_expected_revision(mk_draft.maklumat().revision());
  mk_edit.set_text(mk.text() + " Apabila tidak, kami siap menerima sanksi.");
  v1::UpdateMaklumatDraftResponse mk_edited;
  ASSERT_TRUE(stub_->UpdateMaklumatDraft(Ctx(PpOperator()).get(), mk_edit, &mk_edited).ok());
  v1::AdoptMaklumatRequest mk_adopt;
  mk_adopt.set_id(mk_draft.maklumat().id());
  mk_adopt.set_expected_revision(mk_edited.maklumat().revision());
  mk_adopt.set_signer_name("Fadhly");
  mk_adopt.set_signer_position("Kepala Dinas");
  *mk_adopt.mutable_signed_date() = MakeDate(2026, 2, 1);
  v1::AdoptMaklumatResponse mk_adopted;
  ASSERT_TRUE(stub_->AdoptMaklumat(Ctx(PpAdmin()).get(), mk_adopt, &mk_adopted).ok());
  v1::PublishMaklumatRequest mk_pub;
  mk_pub.set_id(mk_draft.maklumat().id());
  mk_pub.set_expected_revision(mk_adopted.maklumat().revision());
  auto* where = mk_pub.add_publications();
  where->set_medium(v1::PUBLICATION_MEDIUM_NOTICE_BOARD);
  where->set_location("Ruang pelayanan");
  v1::PublishMaklumatResponse mk_published;
  ASSERT_TRUE(stub_->PublishMaklumat(Ctx(PpOperator()).get(), mk_pub, &mk_published).ok());
  v1::GetMaklumatRequest mk_get;
  mk_get.set_current_for_unit("disdukcapil-pp");
  v1::GetMaklumatResponse mk_current;
  ASSERT_TRUE(stub_->GetMaklumat(Ctx().get(), mk_get, &mk_current).ok());
  EXPECT_EQ(mk_current.maklumat().state(), v1::MAKLUMAT_STATE_PUBLISHED);
  v1::ListMaklumatRequest mk_list;
  mk_list.set_unit_id("disdukcapil-pp");
  v1::ListMaklumatResponse mk_all;
  ASSERT_TRUE(stub_->ListMaklumat(Ctx().get(), mk_list, &mk_all).ok());
  EXPECT_EQ(mk_all.maklumat_size(), 1);
}

TEST_F(RegistryE2ETest, InvalidRequestReturnsFieldViolationsAndWritesNothing) {
  v1::CreateAgencyRequest req;
  req.mutable_agency()->set_id("X");
  req.mutable_agency()->set_kind(v1::AGENCY_KIND_CITY);
  req.mutable_agency()->set_region_code("32.7");
  v1::CreateAgencyResponse resp;
  grpc::Status status = stub_->CreateAgency(Ctx(AdminToken()).get(), req, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(simpul::testing::FieldViolations(status),
              UnorderedElementsAre("agency.id", "agency.name", "agency.region_code"));
  v1::ListAgenciesResponse all;
  ASSERT_TRUE(stub_->ListAgencies(Ctx().get(), v1::ListAgenciesRequest(), &all).ok());
  EXPECT_EQ(all.agencies_size(), 0);
}

TEST_F(RegistryE2ETest, CallersAreAuthenticatedAndConfinedToTheirAgency) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::CreateServiceRequest req;
  req.mutable_service()->set_unit_id("disdukcapil-pp");
  req.mutable_service()->set_name("KTP Elektronik");
  v1::CreateServiceResponse resp;
  EXPECT_EQ(stub_->CreateService(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(
      stub_
          ->CreateService(Ctx(Token(common::v1::ROLE_AGENCY_ADMIN, "kota-bogor")).get(), req, &resp)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // A token signed with another key is rejected, not downgraded to public.
  auto other = simpul::testing::LocalIdentityKeys("simpul-registry");
  common::v1::Principal p;
  p.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  p.set_subject("forger");
  EXPECT_EQ(
      stub_
          ->CreateService(Ctx(simpul::testing::LocalToken(*other, p, "simpul-registry")).get(), req,
                          &resp)
          .error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  // Other agencies never see drafts.
  v1::StandardVersion draft = NewDraft();
  v1::GetStandardVersionRequest get;
  get.set_id(draft.id());
  v1::GetStandardVersionResponse got;
  EXPECT_EQ(stub_
                ->GetStandardVersion(Ctx(Token(common::v1::ROLE_AGENCY_ADMIN, "kota-bogor")).get(),
                                     get, &got)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(RegistryE2ETest, IllegalTransitionIsFailedPreconditionNamingTheState) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::StandardVersion draft = NewDraft();
  v1::AdoptStandardVersionRequest adopt;
  adopt.set_id(draft.id());
  adopt.set_expected_revision(draft.revision());
  adopt.mutable_adoption()->set_decree_number("SK 1");
  *adopt.mutable_adoption()->mutable_decree_date() = MakeDate(2026, 1, 20);
  *adopt.mutable_adoption()->mutable_effective_from() = MakeDate(2026, 2, 1);
  v1::AdoptStandardVersionResponse resp;
  grpc::Status status = stub_->AdoptStandardVersion(Ctx(PpAdmin()).get(), adopt, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("is in state DRAFT"));
}

TEST_F(RegistryE2ETest, ConcurrentWritersOfOneStandardExactlyOneWins) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::StandardVersion draft = NewDraft();
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < 8; ++i) {
    writers.emplace_back([&, i] {
      v1::UpdateStandardDraftRequest req;
      req.set_id(draft.id());
      req.set_expected_revision(draft.revision());
      *req.mutable_components() = CompleteComponents();
      req.mutable_components()->set_staff_count(20 + i);
      v1::UpdateStandardDraftResponse resp;
      grpc::Status s = stub_->UpdateStandardDraft(Ctx(PpOperator()).get(), req, &resp);
      if (s.ok()) {
        ++ok;
      } else if (s.error_code() == grpc::StatusCode::ABORTED) {
        ++aborted;
      } else {
        ++other;
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 7);
  EXPECT_EQ(other.load(), 0);
  v1::GetStandardVersionRequest get;
  get.set_id(draft.id());
  v1::GetStandardVersionResponse got;
  ASSERT_TRUE(stub_->GetStandardVersion(Ctx(PpOperator()).get(), get, &got).ok());
  EXPECT_EQ(got.version().revision(), draft.revision() + 1);
}

TEST_F(RegistryE2ETest, PaginationIsStableWhileItemsAreAdded) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  auto create = [&](const std::string& id) {
    v1::CreateServiceRequest req;
    req.mutable_service()->set_id(id);
    req.mutable_service()->set_unit_id("disdukcapil-pp");
    req.mutable_service()->set_name("Layanan " + id);
    v1::CreateServiceResponse resp;
    ASSERT_TRUE(stub_->CreateService(Ctx(PpAdmin()).get(), req, &resp).ok());
  };
  for (int i = 10; i < 30; ++i) create(absl::StrCat("svc-", i));
  v1::ListServicesRequest req;
  req.set_unit_id("disdukcapil-pp");
  req.mutable_page()->set_page_size(7);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    v1::ListServicesResponse resp;
    ASSERT_TRUE(stub_->ListServices(Ctx().get(), req, &resp).ok());
    for (const auto& s : resp.services()) seen.push_back(s.id());
    if (page == 0) create("svc-00");  // before the cursor: not seen
    if (page == 0) create("svc-99");  // after the cursor: seen
    if (resp.next_page_token().empty()) break;
    req.mutable_page()->set_page_token(resp.next_page_token());
  }
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.size(), 22u);  // akta-kelahiran, svc-10..29, svc-99
  EXPECT_EQ(unique.count("svc-00"), 0u);
  EXPECT_EQ(unique.count("svc-99"), 1u);
}

// ReadEvents reads `n` events from a watch stream (or fewer if the stream ends).
std::vector<v1::ChangeEvent> ReadEvents(grpc::ClientReader<v1::WatchStandardsResponse>* reader,
                                        int n) {
  std::vector<v1::ChangeEvent> events;
  v1::WatchStandardsResponse resp;
  while (static_cast<int>(events.size()) < n && reader->Read(&resp)) {
    events.push_back(resp.event());
  }
  return events;
}

TEST_F(RegistryE2ETest, WatchStreamsChangesAndResumesFromACursor) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::WatchStandardsRequest watch;
  watch.add_entity_types(v1::ENTITY_TYPE_STANDARD_VERSION);
  auto ctx = Ctx(PpOperator());
  auto reader = stub_->WatchStandards(ctx.get(), watch);
  absl::SleepFor(absl::Milliseconds(300));  // let the stream subscribe from "now"
  v1::StandardVersion a = NewDraft();
  v1::StandardVersion b = NewDraft();
  auto events = ReadEvents(reader.get(), 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].objects(0).standard_version().id(), a.id());
  EXPECT_EQ(events[1].objects(0).standard_version().id(), b.id());
  EXPECT_EQ(events[0].action(), "CreateStandardVersion");
  EXPECT_LT(events[0].cursor(), events[1].cursor());
  ctx->TryCancel();
  reader->Finish();

  // Changes made while disconnected are delivered after resuming from the saved cursor.
  v1::StandardVersion c = NewDraft();
  v1::StandardVersion d = NewDraft();
  watch.set_cursor(events[1].cursor());
  auto ctx2 = Ctx(PpOperator());
  auto resumed = stub_->WatchStandards(ctx2.get(), watch);
  auto missed = ReadEvents(resumed.get(), 2);
  ASSERT_EQ(missed.size(), 2u);
  EXPECT_EQ(missed[0].objects(0).standard_version().id(), c.id());
  EXPECT_EQ(missed[1].objects(0).standard_version().id(), d.id());
  ctx2->TryCancel();
  resumed->Finish();

  // The public sees none of these drafts: its stream from the start has only the agency,
  // unit and service events.
  v1::WatchStandardsRequest everything;
  everything.set_cursor("0");
  auto ctx3 = Ctx();
  auto public_reader = stub_->WatchStandards(ctx3.get(), everything);
  auto seen = ReadEvents(public_reader.get(), 3);
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& e : seen) {
    for (const auto& o : e.objects()) EXPECT_FALSE(o.has_standard_version());
    EXPECT_EQ(e.actor(), "");
  }
  // Draft creations also touched the service; the public sees those service changes next.
  auto more = ReadEvents(public_reader.get(), 1);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_TRUE(more[0].objects(0).has_service());
  ctx3->TryCancel();
  public_reader->Finish();
}

TEST_F(RegistryE2ETest, InvalidWatchRequestFailsAtOnce) {
  v1::WatchStandardsRequest watch;
  watch.set_cursor("yesterday");
  auto ctx = Ctx();
  auto reader = stub_->WatchStandards(ctx.get(), watch);
  v1::WatchStandardsResponse resp;
  EXPECT_FALSE(reader->Read(&resp));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("cursor"));
}

TEST_F(RegistryE2ETest, HealthFollowsRedisAndCallsFailFastWhileItIsDown) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  cluster_->redis().Kill();
  EXPECT_TRUE(registry_->WaitForHealth(simpul::testing::kNotServing, absl::Seconds(10)));
  v1::GetAgencyRequest get;
  get.set_id("kab-padang-pariaman");
  v1::GetAgencyResponse resp;
  absl::Time start = absl::Now();
  grpc::Status down = stub_->GetAgency(Ctx().get(), get, &resp);
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_THAT(cluster_->redis().Restart(), IsOk());
  EXPECT_TRUE(registry_->WaitForHealth(simpul::testing::kServing));
  absl::Time until = absl::Now() + absl::Seconds(10);
  grpc::Status up;
  do {
    up = stub_->GetAgency(Ctx().get(), get, &resp);
  } while (!up.ok() && absl::Now() < until);
  EXPECT_TRUE(up.ok()) << up.error_message();
}

TEST_F(RegistryE2ETest, SigtermDrainsAndExitsCleanly) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  // A watcher reading its stream, as agency systems do, must not hold the shutdown hostage:
  // it is told UNAVAILABLE at once and resumes elsewhere from its cursor.
  auto ctx = Ctx();
  v1::WatchStandardsRequest watch;
  auto reader = stub_->WatchStandards(ctx.get(), watch);
  grpc::Status watch_status;
  std::thread watcher([&] {
    v1::WatchStandardsResponse resp;
    while (reader->Read(&resp)) {
    }
    watch_status = reader->Finish();
  });
  absl::SleepFor(absl::Milliseconds(300));
  absl::Time start = absl::Now();
  auto status = registry_->Stop(SIGTERM, absl::Seconds(15));
  ASSERT_TRUE(status.has_value()) << "registry did not stop";
  absl::Duration took = absl::Now() - start;
  watcher.join();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_LT(took, absl::Seconds(2)) << "the watch stream delayed shutdown: " << registry_->Log();
  EXPECT_EQ(watch_status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(watch_status.error_message(), HasSubstr("resume from your last cursor"));
}

TEST_F(RegistryE2ETest, AcknowledgedWritesSurviveKillNineAndRedisRestart) {
  ASSERT_NO_FATAL_FAILURE(Seed());
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    v1::CreateServiceRequest req;
    req.mutable_service()->set_id(absl::StrCat("layanan-", i));
    req.mutable_service()->set_unit_id("disdukcapil-pp");
    req.mutable_service()->set_name(absl::StrCat("Layanan nomor ", i));
    v1::CreateServiceResponse resp;
    ASSERT_TRUE(stub_->CreateService(Ctx(PpAdmin()).get(), req, &resp).ok());
    ids.push_back(resp.service().id());
  }
  v1::StandardVersion draft = NewDraft();
  ASSERT_TRUE(registry_->Stop(SIGKILL, absl::Seconds(5)).has_value());
  cluster_->redis().Kill();
  ASSERT_THAT(cluster_->redis().Restart(), IsOk());
  ASSERT_THAT(registry_->Restart(), IsOk());
  for (const auto& id : ids) {
    v1::GetServiceRequest get;
    get.set_id(id);
    v1::GetServiceResponse resp;
    grpc::Status s = stub_->GetService(Ctx().get(), get, &resp);
    ASSERT_TRUE(s.ok()) << id << ": " << s.error_message();
  }
  v1::GetStandardVersionRequest get;
  get.set_id(draft.id());
  v1::GetStandardVersionResponse got;
  ASSERT_TRUE(stub_->GetStandardVersion(Ctx(PpOperator()).get(), get, &got).ok());
  EXPECT_EQ(got.version().components().staff_count(), 12);
  // Indexes survived too.
  v1::ListServicesRequest list;
  list.set_unit_id("disdukcapil-pp");
  list.mutable_page()->set_page_size(500);
  v1::ListServicesResponse all;
  ASSERT_TRUE(stub_->ListServices(Ctx().get(), list, &all).ok());
  EXPECT_EQ(all.services_size(), 51);
}

TEST_F(RegistryE2ETest, WatchFromATrimmedCursorIsOutOfRange) {
  ASSERT_TRUE(registry_->Stop(SIGTERM, absl::Seconds(10)).has_value());
  ASSERT_THAT(registry_->Restart({"--feed_max_len=1000"}), IsOk());
  ASSERT_NO_FATAL_FAILURE(Seed());
  v1::WatchStandardsRequest first_req;
  first_req.set_cursor("0");
  auto ctx = Ctx();
  auto reader = stub_->WatchStandards(ctx.get(), first_req);
  auto first = ReadEvents(reader.get(), 1);
  ASSERT_EQ(first.size(), 1u);
  ctx->TryCancel();
  reader->Finish();
  for (int i = 0; i < 1300; ++i) {
    v1::CreateServiceRequest req;
    req.mutable_service()->set_id(absl::StrCat("s-", i));
    req.mutable_service()->set_unit_id("disdukcapil-pp");
    req.mutable_service()->set_name("Layanan");
    v1::CreateServiceResponse resp;
    ASSERT_TRUE(stub_->CreateService(Ctx(PpAdmin()).get(), req, &resp).ok());
  }
  v1::WatchStandardsRequest stale;
  stale.set_cursor(first[0].cursor());
  auto ctx2 = Ctx();
  auto stale_reader = stub_->WatchStandards(ctx2.get(), stale);
  v1::WatchStandardsResponse resp;
  EXPECT_FALSE(stale_reader->Read(&resp));
  EXPECT_EQ(stale_reader->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);
  // An anonymous "0" (the start of its replay window, trimmed here) starts at the oldest
  // event the feed retains.
  auto ctx3 = Ctx();
  auto from_oldest = stub_->WatchStandards(ctx3.get(), first_req);
  auto oldest = ReadEvents(from_oldest.get(), 1);
  ctx3->TryCancel();
  from_oldest->Finish();
  ASSERT_EQ(oldest.size(), 1u);
  EXPECT_NE(oldest[0].cursor(), first[0].cursor());
}

// The public replay bound on the real path: with --public_replay_window=1s and
// --public_replay_max_events=1 an anonymous caller's cursor older than a second with two
// changes after it is OUT_OF_RANGE, one with a single change after it is served, and its "0"
// starts a second ago, while an agency system replays the whole feed from any cursor.
TEST_F(RegistryE2ETest, AnonymousReplayOfTheFeedIsBoundedAndAgencySystemsReplayEverything) {
  ASSERT_THAT(registry_->Restart({"--public_replay_window=1s", "--public_replay_max_events=1"}),
              IsOk());
  ASSERT_NO_FATAL_FAILURE(Seed());  // three events: agency, unit, service
  v1::WatchStandardsRequest from_start;
  from_start.set_cursor("0");
  auto agency_ctx = Ctx(PpAdmin());
  auto agency_reader = stub_->WatchStandards(agency_ctx.get(), from_start);
  auto seeded = ReadEvents(agency_reader.get(), 3);
  agency_ctx->TryCancel();
  agency_reader->Finish();
  ASSERT_EQ(seeded.size(), 3u);
  const std::string first = seeded[0].cursor();
  absl::SleepFor(absl::Milliseconds(1500));  // the seeded events leave the window

  // Anonymous, from the first event's cursor: out of range, at once.
  v1::WatchStandardsRequest resume;
  resume.set_cursor(first);
  auto public_ctx = Ctx();
  auto public_reader = stub_->WatchStandards(public_ctx.get(), resume);
  v1::WatchStandardsResponse item;
  EXPECT_FALSE(public_reader->Read(&item));
  grpc::Status refused = public_reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::OUT_OF_RANGE) << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("less than 1s old"));

  // Anonymous, from the second: one change after it, a short catch-up, served.
  v1::WatchStandardsRequest catch_up;
  catch_up.set_cursor(seeded[1].cursor());
  auto public_ctx3 = Ctx();
  auto public_catch_up = stub_->WatchStandards(public_ctx3.get(), catch_up);
  auto caught = ReadEvents(public_catch_up.get(), 1);
  public_ctx3->TryCancel();
  public_catch_up->Finish();
  ASSERT_EQ(caught.size(), 1u);
  EXPECT_EQ(caught[0].cursor(), seeded[2].cursor());

  // An agency system, from the first cursor: the two later seeded events.
  auto agency_ctx2 = Ctx(PpAdmin());
  auto agency_resumed = stub_->WatchStandards(agency_ctx2.get(), resume);
  auto replayed = ReadEvents(agency_resumed.get(), 2);
  agency_ctx2->TryCancel();
  agency_resumed->Finish();
  ASSERT_EQ(replayed.size(), 2u);
  EXPECT_EQ(replayed[0].cursor(), seeded[1].cursor());

  // Anonymous "0": starts a second ago, so the first event it sees is a new one.
  auto public_ctx2 = Ctx();
  auto public_from_start = stub_->WatchStandards(public_ctx2.get(), from_start);
  public_from_start->WaitForInitialMetadata();
  const auto& md = public_ctx2->GetServerInitialMetadata();
  auto cursor = md.find("x-simpul-cursor");
  ASSERT_NE(cursor, md.end());
  EXPECT_NE(std::string(cursor->second.data(), cursor->second.size()), "0");
  v1::CreateAgencyRequest agency;
  *agency.mutable_agency() = MakeAgency("kota-bogor", v1::AGENCY_KIND_CITY, "32.71");
  v1::CreateAgencyResponse created;
  ASSERT_TRUE(stub_->CreateAgency(Ctx(AdminToken()).get(), agency, &created).ok());
  auto seen = ReadEvents(public_from_start.get(), 1);
  public_ctx2->TryCancel();
  public_from_start->Finish();
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_GT(seen[0].objects_size(), 0);
  EXPECT_EQ(seen[0].objects(0).agency().id(), "kota-bogor");
}

// The Calendar API of the registry process applies an amended holiday file without a restart
// (re-read every holidays_reload_interval) and keeps the calendar in force when the amended
// file is bad.
TEST_F(RegistryE2ETest, CalendarAmendmentAppliesWithoutARestartAndABadFileIsRefused) {
  namespace cal = ::simpul::calendar::v1;
  const std::string dir = cluster_->dir() + "/holidays";
  std::filesystem::create_directories(dir);
  std::ifstream in(std::string(SIMPUL_HOLIDAYS_DIR) + "/2026.json");
  std::ostringstream original;
  original << in.rdbuf();
  // Writes go to a temporary file renamed over the year file, as docs/operations.md says.
  auto write = [&](const std::string& content) {
    std::ofstream(dir + "/.2026.json.tmp") << content;
    std::filesystem::rename(dir + "/.2026.json.tmp", dir + "/2026.json");
  };
  write(original.str());
  auto registry = cluster_->Start(
      Binary::kRegistry, {.name = "registry-calendar",
                          .flags = {"--holidays_dir=" + dir, "--holidays_reload_interval=100ms"}});
  ASSERT_THAT(registry, IsOk());
  auto stub = cal::Calendar::NewStub((*registry)->channel());

  // Thu 2026-08-13 10:00 WIB (03:00Z) + 3 working days: Fri 14 1st, 15–16 weekend, Mon 17
  // Proklamasi (LN), Tue 18 2nd, Wed 19 3rd.
  cal::GetDeadlineRequest req;
  req.mutable_start_time()->set_seconds(1786590000);  // 2026-08-13T03:00:00Z
  req.set_amount(3);
  req.set_unit(cal::DEADLINE_UNIT_WORKING_DAY);
  req.set_zone(common::v1::TIME_ZONE_WIB);
  auto deadline = [&] {
    cal::GetDeadlineResponse resp;
    grpc::Status s = stub->GetDeadline(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  };
  EXPECT_EQ(deadline().deadline_local_time(), "2026-08-19T23:59:59+07:00");

  // The amendment (hypothetical) moves Maulid Nabi from Tue 25 to Tue 18 August and appends its
  // decree: Fri 14 1st, Mon 17 LN, Tue 18 now a holiday, Wed 19 2nd, Thu 20 3rd.
  const std::string decree = "SKB 3 Menteri No. 1497/2025, 2/2025, 5/2025";
  const std::string amendment = "SKB 3 Menteri No. 99/2026 (amendment: Maulid Nabi to 18 Aug)";
  const std::string decree_line = absl::StrCat("\"decree\": \"", decree, "\",");
  ASSERT_THAT(original.str(), HasSubstr(decree_line));
  const std::string amended = absl::StrReplaceAll(
      original.str(),
      {{decree_line, absl::StrCat(decree_line, "\n  \"amendments\": [\"", amendment, "\"],")},
       {"\"2026-08-25\", \"name\": \"Maulid", "\"2026-08-18\", \"name\": \"Maulid"}});
  ASSERT_NE(amended, original.str());
  write(amended);
  cal::GetDeadlineResponse after;
  ASSERT_TRUE(simpul::testing::PollUntil(
      [&] {
        after = deadline();
        return after.deadline_local_time() == "2026-08-20T23:59:59+07:00";
      },
      absl::Seconds(10)))
      << after.DebugString();
  EXPECT_THAT(after.decrees(), ::testing::ElementsAre(decree, amendment));
  cal::ListHolidayYearsResponse years;
  ASSERT_TRUE(stub->ListHolidayYears(Ctx().get(), cal::ListHolidayYearsRequest(), &years).ok());
  ASSERT_EQ(years.years_size(), 1);
  EXPECT_THAT(years.years(0).decrees(), ::testing::ElementsAre(decree, amendment));
  cal::GetWorkingDayRequest tue25;
  tue25.set_date("2026-08-25");
  tue25.set_zone(common::v1::TIME_ZONE_WIB);
  cal::GetWorkingDayResponse day;
  ASSERT_TRUE(stub->GetWorkingDay(Ctx().get(), tue25, &day).ok());
  EXPECT_TRUE(day.working_day());

  // A bad amended file (the amending decree listed twice) is refused and logged; the amended
  // calendar stays in force.
  write(
      absl::StrReplaceAll(amended, {{absl::StrCat("[\"", amendment, "\"]"),
                                     absl::StrCat("[\"", amendment, "\", \"", amendment, "\"]")}}));
  ASSERT_TRUE(simpul::testing::PollUntil(
      [&] { return absl::StrContains((*registry)->Log(), "holiday reload failed"); },
      absl::Seconds(10)));
  EXPECT_THAT((*registry)->Log(), HasSubstr("amendments[1]"));
  cal::GetDeadlineResponse kept = deadline();
  EXPECT_EQ(kept.deadline_local_time(), "2026-08-20T23:59:59+07:00");
  EXPECT_THAT(kept.decrees(), ::testing::ElementsAre(decree, amendment));
}

}  // namespace
}  // namespace simpul::registry
