// Unit tests of ComplaintDesk over the in-memory fake store, a fake router, the real 2026
// holiday calendar and a fake clock: filing and idempotency, validation, routing,
// confidentiality, the lifecycle and its history, authorization, forwarding, archiving,
// optimistic concurrency, the deadline scanner and listings. No server and no Redis.
#include "services/complaints/complaints.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "common/absl_compat.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/field_rules.h"
#include "common/logging.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/complaints/tracking.h"
#include "services/complaints/validation.h"
#include "tests/testing/complaint_history.h"
#include "tests/testing/fake_complaint_store.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/identities.h"

namespace simpul::complaints {
namespace {

using ::simpul::testing::AgencyAdmin;
using ::simpul::testing::FakeComplaintStore;
using ::simpul::testing::FakeRouter;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

constexpr char kBogor[] = "kota-bogor";
constexpr char kBogorUnit[] = "dpmptsp-kota-bogor";
constexpr char kBogorUnit2[] = "dinkes-kota-bogor";
constexpr char kPbg[] = "pbg-kota-bogor";        // adopted standard with classes
constexpr char kParkir[] = "parkir-kota-bogor";  // no adopted standard
constexpr char kPadang[] = "padang-pariaman";
constexpr char kPadangUnit[] = "disdukcapil-padang-pariaman";
constexpr char kAkta[] = "akta-kelahiran-padang-pariaman";
constexpr char kMakassar[] = "kota-makassar";  // WITA
constexpr char kMakassarUnit[] = "disdukcapil-kota-makassar";
constexpr char kKtpMakassar[] = "ktp-el-kota-makassar";
constexpr char kJayapura[] = "kota-jayapura";  // WIT
constexpr char kJayapuraUnit[] = "disdukcapil-kota-jayapura";
constexpr char kKkJayapura[] = "kartu-keluarga-kota-jayapura";
constexpr char kDepok[] = "kota-depok";  // an agency with no units

// The planted identity: none of these bytes may appear where identity must not go.
constexpr char kName[] = "Siti Nurhaliza Plantedname";
constexpr char kPhone[] = "+62 812-9876-5432";
constexpr char kEmail[] = "siti.planted@example.id";
constexpr char kAddress[] = "Jalan Kenari Rahasia No. 17";

absl::Time At(int zone_hours, int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::FixedTimeZone(zone_hours * 3600));
}
absl::Time Wib(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return At(7, y, mo, d, h, mi, s);
}
absl::Time Wita(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return At(8, y, mo, d, h, mi, s);
}
absl::Time Wit(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return At(9, y, mo, d, h, mi, s);
}
// EndWib is 23:59:59 WIB of a day: the end of a deadline day.
absl::Time EndWib(int y, int mo, int d) { return Wib(y, mo, d, 23, 59, 59); }

absl::Time T(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}
google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

Identity Channel(const std::string& channel) { return simpul::testing::ChannelCaller(channel); }
Identity Sms() { return Channel("sms-1708"); }
Identity Operator(const std::string& agency) { return simpul::testing::AgencyOperator(agency); }
Identity Coordinator() { return simpul::testing::PlatformAdmin(); }
Identity Dashboard() { return simpul::testing::DashboardCaller(); }

std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  // Keep the BadRequest alive: ranging over a member of a temporary would dangle.
  const common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

// ExpectNoIdentity fails when `bytes` carries any part of the planted identity.
void ExpectNoIdentity(const std::string& bytes, const std::string& where) {
  for (const char* planted : {kName, "Plantedname", kPhone, "9876-5432", kEmail, "siti.planted",
                              kAddress, "Kenari Rahasia"}) {
    EXPECT_FALSE(absl::StrContains(bytes, planted)) << where << " carries \"" << planted << "\"";
  }
}

Route UnitRoute(const std::string& unit, const std::string& agency, common::v1::TimeZone zone) {
  Route r;
  r.unit_id = unit;
  r.agency_id = agency;
  r.time_zone = zone;
  return r;
}
Route ServiceRoute(const std::string& service, const Route& unit, const std::string& standard,
                   int response_days, std::vector<ResolutionClassTerm> classes = {}) {
  Route r = unit;
  r.service_id = service;
  r.standard_version_id = standard;
  r.response_working_days = response_days;
  r.resolution_classes = std::move(classes);
  return r;
}

struct Filed {
  std::string id;
  std::string secret;
};

class ComplaintsTest : public ::testing::Test {
 protected:
  // Monday 2026-04-06 09:00 WIB, the first working day after Easter.
  ComplaintsTest() : clock_(Wib(2026, 4, 6, 9, 0, 0)) {}

  void SetUp() override {
    auto calendars = CalendarRegistry::Create(SIMPUL_HOLIDAYS_DIR);
    ASSERT_TRUE(calendars.ok()) << calendars.status();
    calendars_ = *std::move(calendars);

    Route bogor = UnitRoute(kBogorUnit, kBogor, common::v1::TIME_ZONE_WIB);
    router_.AddUnit(bogor);
    router_.AddUnit(UnitRoute(kBogorUnit2, kBogor, common::v1::TIME_ZONE_WIB));
    router_.AddService(ServiceRoute(kPbg, bogor, "pbg-kota-bogor.v1", 3,
                                    {{"minor", 2},
                                     {"normative", 5},
                                     {"not-requiring-investigation", 14},
                                     {"requiring-investigation", 60}}));
    router_.AddService(ServiceRoute(kParkir, bogor, "", 0));
    Route padang = UnitRoute(kPadangUnit, kPadang, common::v1::TIME_ZONE_WIB);
    router_.AddUnit(padang);
    router_.AddService(ServiceRoute(kAkta, padang, "akta-kelahiran-padang-pariaman.v2", 0));
    Route makassar = UnitRoute(kMakassarUnit, kMakassar, common::v1::TIME_ZONE_WITA);
    router_.AddUnit(makassar);
    router_.AddService(ServiceRoute(kKtpMakassar, makassar, "ktp-el-kota-makassar.v1", 0));
    Route jayapura = UnitRoute(kJayapuraUnit, kJayapura, common::v1::TIME_ZONE_WIT);
    router_.AddUnit(jayapura);
    router_.AddService(ServiceRoute(kKkJayapura, jayapura, "kartu-keluarga-kota-jayapura.v1", 0));
    router_.AddAgency(kDepok);

    desk_ = NewDesk(ComplaintOptions{});
    SetLogSink([this](std::string_view line) {
      absl::MutexLock lock(&log_mu_);
      logs_.emplace_back(line);
    });
  }

  void TearDown() override { SetLogSink(nullptr); }

  std::unique_ptr<ComplaintDesk> NewDesk(ComplaintOptions options) {
    return std::make_unique<ComplaintDesk>(store_, router_, *calendars_, clock_, options);
  }

  std::vector<std::string> Logs() {
    absl::MutexLock lock(&log_mu_);
    return logs_;
  }

  // Filing returns a valid request with a fresh idempotency key and the planted identity.
  v1::FileComplaintRequest Filing(const std::string& service = kPbg,
                                  v1::Confidentiality conf = v1::CONFIDENTIALITY_UNSPECIFIED) {
    v1::FileComplaintRequest r;
    r.set_idempotency_key(absl::StrCat("sms-msg-", ++keys_, "-20260406"));
    r.set_report_type(v1::REPORT_TYPE_COMPLAINT);
    r.set_channel(v1::CHANNEL_SMS);
    r.set_service_id(service);
    r.set_title("Permohonan tidak diproses");
    r.set_description("Permohonan saya sudah tiga bulan tidak diproses tanpa kabar dari petugas.");
    r.set_remedy_requested("Permohonan diproses sesuai standar pelayanan");
    r.mutable_location()->set_address("Jl. Ir. H. Juanda No. 10");
    r.mutable_location()->set_region_code("32.71.01");
    r.mutable_complainant()->set_name(kName);
    r.mutable_complainant()->set_phone(kPhone);
    r.mutable_complainant()->set_email(kEmail);
    r.mutable_complainant()->set_address(kAddress);
    r.set_confidentiality(conf);
    return r;
  }

  Filed File(const v1::FileComplaintRequest& req, const Identity& caller = Sms()) {
    auto resp = desk_->FileComplaint(caller, req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    if (!resp.ok()) return {};
    return {resp->tracking_code(), resp->secret()};
  }
  Filed FileCase(v1::Confidentiality conf = v1::CONFIDENTIALITY_UNSPECIFIED,
                 const std::string& service = kPbg) {
    return File(Filing(service, conf));
  }

  v1::ComplaintRecord Stored(const std::string& id) {
    auto record = store_.Get(id);
    EXPECT_TRUE(record.ok() && record->has_value()) << id;
    if (!record.ok() || !record->has_value()) return {};
    return **record;
  }
  v1::Complaint Case(const std::string& id) { return Stored(id).complaint(); }
  std::vector<v1::HistoryEntry> History(const std::string& id) {
    auto history = store_.History(id);
    EXPECT_TRUE(history.ok()) << history.status();
    return history.ok() ? *history : std::vector<v1::HistoryEntry>{};
  }
  std::vector<v1::ComplaintEvent> EventsOf(const std::string& id) {
    std::vector<v1::ComplaintEvent> out;
    for (auto& e : store_.events()) {
      if (e.complaint_id() == id) out.push_back(e);
    }
    return out;
  }
  std::vector<std::string> AllIds() {
    auto all = store_.Scan(AllIndex(), std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max(), std::nullopt, 100000);
    EXPECT_TRUE(all.ok());
    std::vector<std::string> ids;
    if (all.ok()) {
      for (const auto& item : *all) ids.push_back(item.position.id);
    }
    return ids;
  }
  std::string HandlerOf(const std::string& id) { return Case(id).agency_id(); }

  // Lifecycle steps by the handling agency; each expects success and returns the new view.
  v1::Complaint Verify(const std::string& id, const std::string& resolution_class = "") {
    v1::VerifyComplaintRequest req;
    req.set_id(id);
    req.set_resolution_class(resolution_class);
    req.set_note("Berkas lengkap");
    auto resp = desk_->VerifyComplaint(AgencyAdmin(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }
  v1::Complaint Dispose(const std::string& id, const std::string& unit = "") {
    v1::DisposeComplaintRequest req;
    req.set_id(id);
    req.set_unit_id(unit);
    auto resp = desk_->DisposeComplaint(AgencyAdmin(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }
  v1::Complaint Start(const std::string& id) {
    v1::StartWorkRequest req;
    req.set_id(id);
    auto resp = desk_->StartWork(Operator(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }
  v1::Complaint FollowUp(const std::string& id, const std::string& message = "Sedang diproses") {
    v1::PostFollowUpRequest req;
    req.set_id(id);
    req.set_message(message);
    auto resp = desk_->PostFollowUp(Operator(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }
  v1::Complaint Complete(const std::string& id) {
    v1::CompleteComplaintRequest req;
    req.set_id(id);
    req.set_note("Selesai");
    auto resp = desk_->CompleteComplaint(Operator(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }
  v1::Complaint Hold(const std::string& id) {
    v1::HoldComplaintRequest req;
    req.set_id(id);
    req.set_message("Mohon lampirkan nomor permohonan");
    auto resp = desk_->HoldComplaint(Operator(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }
  v1::Complaint Escalate(const std::string& id) {
    v1::EscalateComplaintRequest req;
    req.set_id(id);
    req.set_reason("Unit tidak menanggapi");
    auto resp = desk_->EscalateComplaint(AgencyAdmin(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }
  v1::Complaint Forward(const std::string& id, const std::string& to_agency,
                        const std::string& to_unit = "") {
    v1::ForwardComplaintRequest req;
    req.set_id(id);
    req.set_to_agency_id(to_agency);
    req.set_to_unit_id(to_unit);
    req.set_reason("Bukan kewenangan kami");
    auto resp = desk_->ForwardComplaint(AgencyAdmin(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }
  v1::Complaint Archive(const std::string& id) {
    v1::ArchiveComplaintRequest req;
    req.set_id(id);
    req.set_reason(v1::ARCHIVE_REASON_UNCLEAR);
    auto resp = desk_->ArchiveComplaint(AgencyAdmin(HandlerOf(id)), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->complaint() : v1::Complaint{};
  }

  // CaseIn files a kota-bogor case and drives it to `state`.
  Filed CaseIn(v1::State state, v1::Confidentiality conf = v1::CONFIDENTIALITY_UNSPECIFIED) {
    Filed f = FileCase(conf);
    switch (state) {
      case v1::STATE_RECEIVED:
        break;
      case v1::STATE_ON_HOLD:
        Hold(f.id);
        break;
      case v1::STATE_ARCHIVED:
        Archive(f.id);
        break;
      case v1::STATE_FORWARDED:
        Verify(f.id);
        Forward(f.id, kPadang);
        break;
      default:
        Verify(f.id);
        if (state == v1::STATE_VERIFIED) break;
        Dispose(f.id);
        if (state == v1::STATE_DISPOSED) break;
        Start(f.id);
        if (state == v1::STATE_IN_PROGRESS) break;
        if (state == v1::STATE_ESCALATED) {
          Escalate(f.id);
          break;
        }
        FollowUp(f.id);
        if (state == v1::STATE_RESPONDED) break;
        Complete(f.id);
        EXPECT_EQ(state, v1::STATE_COMPLETED);
        break;
    }
    EXPECT_EQ(Case(f.id).state(), state) << StateName(state);
    return f;
  }

  // ListAll follows page tokens to the end and returns the ids in order.
  std::vector<std::string> ListAll(const Identity& caller, v1::ListComplaintsRequest req,
                                   int page_size) {
    std::vector<std::string> ids;
    req.mutable_page()->set_page_size(page_size);
    for (int page = 0; page < 1000; ++page) {
      auto resp = desk_->ListComplaints(caller, req);
      EXPECT_TRUE(resp.ok()) << resp.status();
      if (!resp.ok()) break;
      EXPECT_LE(resp->complaints_size() + resp->public_complaints_size(), page_size);
      for (const auto& c : resp->complaints()) ids.push_back(c.id());
      for (const auto& c : resp->public_complaints()) ids.push_back(c.id());
      if (resp->next_page_token().empty()) break;
      req.mutable_page()->set_page_token(resp->next_page_token());
    }
    return ids;
  }

  FakeComplaintStore store_;
  FakeRouter router_;
  std::unique_ptr<CalendarRegistry> calendars_;
  FakeClock clock_;
  std::unique_ptr<ComplaintDesk> desk_;
  int keys_ = 0;
  absl::Mutex log_mu_;
  std::vector<std::string> logs_ ABSL_GUARDED_BY(log_mu_);
};

// ---------------------------------------------------------------------------------------
// 1. Filing

TEST_F(ComplaintsTest, FilingIssuesCrockfordCodeAndSecretAndStoresOnlyTheSecretHash) {
  auto resp = desk_->FileComplaint(Sms(), Filing());
  ASSERT_TRUE(resp.ok()) << resp.status();
  const std::regex code("^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$");
  EXPECT_TRUE(std::regex_match(resp->tracking_code(), code)) << resp->tracking_code();
  EXPECT_TRUE(std::regex_match(resp->secret(),
                               std::regex("^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")))
      << resp->secret();
  EXPECT_FALSE(resp->replayed());
  EXPECT_EQ(resp->complaint().id(), resp->tracking_code());
  EXPECT_EQ(resp->complaint().state(), v1::STATE_RECEIVED);
  EXPECT_EQ(resp->complaint().confidentiality(), v1::CONFIDENTIALITY_SECRET);
  EXPECT_EQ(resp->complaint().complainant_name(), "");

  v1::ComplaintRecord record = Stored(resp->tracking_code());
  EXPECT_EQ(record.secret_sha256(), SecretHash(resp->secret()));
  EXPECT_EQ(record.secret_sha256(), Sha256(resp->secret()));
  EXPECT_EQ(record.secret_sha256().size(), 32u);
  const std::string bytes = record.SerializeAsString();
  EXPECT_FALSE(absl::StrContains(bytes, resp->secret()));
  EXPECT_FALSE(absl::StrContains(bytes, absl::StrReplaceAll(resp->secret(), {{"-", ""}})));
  EXPECT_EQ(record.last_sequence(), 1);

  const v1::Complaint& c = record.complaint();
  EXPECT_EQ(c.id(), resp->tracking_code());
  EXPECT_EQ(c.state(), v1::STATE_RECEIVED);
  EXPECT_EQ(c.revision(), 1);
  EXPECT_EQ(c.report_type(), v1::REPORT_TYPE_COMPLAINT);
  EXPECT_EQ(c.channel(), v1::CHANNEL_SMS);
  EXPECT_EQ(c.channel_name(), "sms-1708");
  EXPECT_EQ(c.service_id(), kPbg);
  EXPECT_EQ(c.agency_id(), kBogor);
  EXPECT_EQ(c.unit_id(), kBogorUnit);
  EXPECT_EQ(c.time_zone(), common::v1::TIME_ZONE_WIB);
  EXPECT_EQ(c.standard_version_id(), "pbg-kota-bogor.v1");
  EXPECT_EQ(c.response_working_days(), 3);
  EXPECT_EQ(c.routing_note(), "");
  EXPECT_EQ(c.complainant().name(), kName);  // SECRET: kept for the handling agency
  EXPECT_EQ(c.complainant().phone(), kPhone);
  EXPECT_EQ(T(c.file_time()), Wib(2026, 4, 6, 9, 0, 0));
  EXPECT_EQ(T(c.update_time()), Wib(2026, 4, 6, 9, 0, 0));
  // Mon 6 April: Tue 7, Wed 8, Thu 9.
  EXPECT_EQ(T(c.deadlines().verify_by()), EndWib(2026, 4, 9));
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 4, 9));
  EXPECT_FALSE(c.deadlines().has_dispose_by());
  EXPECT_FALSE(c.deadlines().has_respond_by());
  EXPECT_FALSE(c.deadlines().has_resolve_by());

  std::set<std::string> codes = {resp->tracking_code()};
  for (int i = 0; i < 50; ++i) codes.insert(FileCase().id);
  EXPECT_EQ(codes.size(), 51u);
}

TEST_F(ComplaintsTest, VerifyByIsThreeWorkingDaysInTheUnitsTimeZoneWith2026Holidays) {
  // Thu 19 March 2026 (Nyepi): 20 CB, 21-22 weekend, 23-24 CB, then 25, 26, 27.
  clock_.Set(Wib(2026, 3, 19, 10, 0, 0));
  Filed wib = FileCase(v1::CONFIDENTIALITY_UNSPECIFIED, kPbg);
  Filed wita = FileCase(v1::CONFIDENTIALITY_UNSPECIFIED, kKtpMakassar);
  Filed wit = FileCase(v1::CONFIDENTIALITY_UNSPECIFIED, kKkJayapura);
  EXPECT_EQ(T(Case(wib.id).deadlines().verify_by()), Wib(2026, 3, 27, 23, 59, 59));
  EXPECT_EQ(T(Case(wita.id).deadlines().verify_by()), Wita(2026, 3, 27, 23, 59, 59));
  EXPECT_EQ(T(Case(wit.id).deadlines().verify_by()), Wit(2026, 3, 27, 23, 59, 59));
  EXPECT_EQ(Case(wita.id).time_zone(), common::v1::TIME_ZONE_WITA);
  EXPECT_EQ(Case(wit.id).time_zone(), common::v1::TIME_ZONE_WIT);
  EXPECT_EQ(Case(wita.id).agency_id(), kMakassar);

  // Mon 30 March 23:30 WIB is already Tue 31 March in WITA; Fri 3 April is Good Friday.
  clock_.Set(Wib(2026, 3, 30, 23, 30, 0));
  Filed late_wib = FileCase(v1::CONFIDENTIALITY_UNSPECIFIED, kPbg);
  Filed late_wita = FileCase(v1::CONFIDENTIALITY_UNSPECIFIED, kKtpMakassar);
  EXPECT_EQ(T(Case(late_wib.id).deadlines().verify_by()), Wib(2026, 4, 2, 23, 59, 59));
  EXPECT_EQ(T(Case(late_wita.id).deadlines().verify_by()), Wita(2026, 4, 6, 23, 59, 59));
}

TEST_F(ComplaintsTest, FilingPublishesOneEventAndHistoryEntryWithoutIdentity) {
  auto req = Filing(kPbg, v1::CONFIDENTIALITY_PUBLIC);
  Filed f = File(req);
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  const v1::ComplaintEvent& e = events[0];
  EXPECT_EQ(e.event_id(), f.id + "/1");
  EXPECT_EQ(e.payload_version(), 1);
  EXPECT_EQ(e.complaint_id(), f.id);
  EXPECT_EQ(e.sequence(), 1);
  EXPECT_EQ(e.action(), "FileComplaint");
  EXPECT_EQ(e.from_state(), v1::STATE_UNSPECIFIED);
  EXPECT_EQ(e.to_state(), v1::STATE_RECEIVED);
  EXPECT_EQ(e.report_type(), v1::REPORT_TYPE_COMPLAINT);
  EXPECT_EQ(e.channel(), v1::CHANNEL_SMS);
  EXPECT_EQ(e.agency_id(), kBogor);
  EXPECT_EQ(e.unit_id(), kBogorUnit);
  EXPECT_EQ(e.service_id(), kPbg);
  EXPECT_EQ(e.region_code(), "32.71.01");
  EXPECT_EQ(e.time_zone(), common::v1::TIME_ZONE_WIB);
  EXPECT_FALSE(e.deadline_missed());
  EXPECT_EQ(e.previous_agency_id(), "");
  EXPECT_EQ(T(e.deadlines().verify_by()), EndWib(2026, 4, 9));
  EXPECT_EQ(T(e.file_time()), Wib(2026, 4, 6, 9, 0, 0));
  ExpectNoIdentity(e.SerializeAsString(), "the filing event");

  auto history = History(f.id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].sequence(), 1);
  EXPECT_EQ(history[0].action(), "FileComplaint");
  EXPECT_EQ(history[0].actor_kind(), v1::ACTOR_KIND_CHANNEL);
  EXPECT_EQ(history[0].actor(), "sms-1708-gateway-key");
  EXPECT_EQ(history[0].to_state(), v1::STATE_RECEIVED);
  ExpectNoIdentity(history[0].SerializeAsString(), "the filing history entry");

  auto logs = Logs();
  EXPECT_TRUE(std::any_of(logs.begin(), logs.end(), [&](const std::string& line) {
    return absl::StrContains(line, "complaint filed") && absl::StrContains(line, f.id);
  })) << "the log sink saw no filing line";
  for (const auto& line : logs) ExpectNoIdentity(line, "a log line");
}

// ---------------------------------------------------------------------------------------
// 2. Idempotency

TEST_F(ComplaintsTest, SameKeyAndRequestReplaysTheFirstResult) {
  auto req = Filing();
  auto first = desk_->FileComplaint(Sms(), req);
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Hours(2));
  auto second = desk_->FileComplaint(Sms(), req);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(first->replayed());
  EXPECT_TRUE(second->replayed());
  EXPECT_EQ(second->tracking_code(), first->tracking_code());
  EXPECT_EQ(second->secret(), first->secret());
  EXPECT_EQ(second->complaint().id(), first->tracking_code());
  EXPECT_EQ(AllIds().size(), 1u);
  EXPECT_EQ(store_.commits(), 1);
  EXPECT_EQ(store_.events().size(), 1u);
}

TEST_F(ComplaintsTest, SameKeyWithDifferentRequestIsRejectedAndWritesNothing) {
  auto req = Filing();
  Filed f = File(req);
  auto changed = req;
  changed.set_description("Keluhan lain yang sama sekali berbeda.");
  auto status = desk_->FileComplaint(Sms(), changed).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), ElementsAre("idempotency_key"));
  EXPECT_THAT(AllIds(), ElementsAre(f.id));
  EXPECT_EQ(store_.commits(), 1);
  EXPECT_EQ(store_.events().size(), 1u);
}

TEST_F(ComplaintsTest, SameKeyFromAnotherChannelFilesASecondComplaint) {
  auto req = Filing();
  Filed sms = File(req, Sms());
  Filed partner = File(req, Channel("lapor-partner-jabar"));
  EXPECT_NE(sms.id, partner.id);
  EXPECT_EQ(AllIds().size(), 2u);
  EXPECT_EQ(Case(partner.id).channel_name(), "lapor-partner-jabar");
  // Each channel still replays its own.
  auto again = desk_->FileComplaint(Channel("lapor-partner-jabar"), req);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed());
  EXPECT_EQ(again->tracking_code(), partner.id);
  EXPECT_EQ(AllIds().size(), 2u);
}

TEST_F(ComplaintsTest, SixteenConcurrentFilingsWithOneKeyFileOneComplaint) {
  const auto req = Filing();
  constexpr int kThreads = 16;
  std::vector<absl::StatusOr<v1::FileComplaintResponse>> results(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      results[i] = desk_->FileComplaint(Sms(), req);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  std::set<std::string> codes, secrets;
  int fresh = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    codes.insert(r->tracking_code());
    secrets.insert(r->secret());
    fresh += r->replayed() ? 0 : 1;
  }
  EXPECT_EQ(codes.size(), 1u);
  EXPECT_EQ(secrets.size(), 1u);
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(AllIds().size(), 1u);
  EXPECT_EQ(store_.commits(), 1);
  EXPECT_EQ(store_.events().size(), 1u);
}

// A channel identity with an API key's subject, as the gateway signs it.
Identity ChannelKey(const std::string& channel, const std::string& key_id) {
  Identity id = simpul::testing::ChannelCaller(channel);
  id.principal.set_subject(absl::StrCat("key:", key_id));
  return id;
}

// ExpectNoSecretStored fails when any stored idempotency record carries `secret`.
void ExpectNoSecretStored(const FakeComplaintStore& store, const std::string& secret) {
  const std::string bare = absl::StrReplaceAll(secret, {{"-", ""}});
  for (const auto& [key, record] : store.idempotency_records()) {
    EXPECT_EQ(record.response().secret(), "") << key;
    const std::string bytes = record.SerializeAsString();
    EXPECT_FALSE(absl::StrContains(bytes, secret)) << key;
    EXPECT_FALSE(absl::StrContains(bytes, bare)) << key;
  }
}

TEST_F(ComplaintsTest, TheSecretIsNeverStoredAndTheRetryDerivesItAgain) {
  ComplaintOptions options;
  options.secret_minter = *SecretMinter::Create(std::string(32, 'k'));
  desk_ = NewDesk(options);
  auto req = Filing();
  auto first = desk_->FileComplaint(Sms(), req);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(store_.idempotency_records().size(), 1u);
  EXPECT_EQ(store_.idempotency_records().begin()->second.response().tracking_code(),
            first->tracking_code());
  ExpectNoSecretStored(store_, first->secret());
  EXPECT_EQ(Stored(first->tracking_code()).secret_sha256(), SecretHash(first->secret()));

  // The same key file after a restart: the retry gets the same secret, which still works.
  desk_ = NewDesk(options);
  auto again = desk_->FileComplaint(Sms(), req);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed());
  EXPECT_EQ(again->tracking_code(), first->tracking_code());
  EXPECT_EQ(again->secret(), first->secret());
  v1::TrackComplaintRequest track;
  track.set_tracking_code(again->tracking_code());
  track.set_secret(again->secret());
  EXPECT_TRUE(desk_->TrackComplaint(Identity::Public(), track).ok());

  // Another key (rotated, or none configured): the retry gets the tracking code and the case,
  // never a secret that does not open it.
  ComplaintOptions rotated;
  rotated.secret_minter = *SecretMinter::Create(std::string(32, 'r'));
  desk_ = NewDesk(rotated);
  auto after_rotation = desk_->FileComplaint(Sms(), req);
  ASSERT_TRUE(after_rotation.ok()) << after_rotation.status();
  EXPECT_TRUE(after_rotation->replayed());
  EXPECT_EQ(after_rotation->tracking_code(), first->tracking_code());
  EXPECT_EQ(after_rotation->complaint().id(), first->tracking_code());
  EXPECT_EQ(after_rotation->secret(), "");
  EXPECT_EQ(AllIds().size(), 1u);
  EXPECT_EQ(store_.commits(), 1);
}

TEST_F(ComplaintsTest, SecretMinterNeedsALongKeyAndDerivesCanonicalSecrets) {
  EXPECT_EQ(SecretMinter::Create(std::string(31, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto minter = SecretMinter::Create(std::string(32, 'k'));
  ASSERT_TRUE(minter.ok()) << minter.status();
  const std::string secret = minter->Secret("scope", "key-0001", "ZV6J8-Q4RXT");
  EXPECT_TRUE(
      std::regex_match(secret, std::regex("^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")))
      << secret;
  EXPECT_EQ(minter->Secret("scope", "key-0001", "ZV6J8-Q4RXT"), secret);
  EXPECT_NE(minter->Secret("scope", "key-0001", "ZV6J8-Q4RXU"), secret);
  EXPECT_NE(minter->Secret("scope", "key-0002", "ZV6J8-Q4RXT"), secret);
  EXPECT_NE(minter->Secret("scope2", "key-0001", "ZV6J8-Q4RXT"), secret);
  EXPECT_NE(SecretMinter::Create(std::string(32, 'j'))->Secret("scope", "key-0001", "ZV6J8-Q4RXT"),
            secret);
  EXPECT_EQ(SecretMinter::FromKeyFile("/nonexistent/secret.key").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ComplaintsTest, AnotherKeyOfTheSameChannelIsNotAReplay) {
  const Identity key_a = ChannelKey("sms-1708", "k00000000000000a1");
  const Identity key_b = ChannelKey("sms-1708", "k00000000000000b2");
  auto req = Filing();
  auto first = desk_->FileComplaint(key_a, req);
  ASSERT_TRUE(first.ok()) << first.status();
  // Key B sends the very same request: a fresh filing of its own, not A's case or secret.
  auto other = desk_->FileComplaint(key_b, req);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->replayed());
  EXPECT_NE(other->tracking_code(), first->tracking_code());
  EXPECT_NE(other->secret(), first->secret());
  EXPECT_NE(other->secret(), "");
  EXPECT_EQ(Case(other->tracking_code()).channel_name(), "sms-1708");  // the same channel
  // Each key replays its own filing.
  auto again_a = desk_->FileComplaint(key_a, req);
  auto again_b = desk_->FileComplaint(key_b, req);
  ASSERT_TRUE(again_a.ok() && again_b.ok());
  EXPECT_EQ(again_a->tracking_code(), first->tracking_code());
  EXPECT_EQ(again_a->secret(), first->secret());
  EXPECT_EQ(again_b->tracking_code(), other->tracking_code());
  EXPECT_EQ(again_b->secret(), other->secret());
  // A different request under B's key is refused only within B's own scope.
  auto changed = req;
  changed.set_description("Keluhan lain yang sama sekali berbeda.");
  EXPECT_EQ(desk_->FileComplaint(key_b, changed).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Two operators of one agency do not share keys either.
  auto op1 = desk_->FileComplaint(
      simpul::testing::AgencyMember(common::v1::ROLE_AGENCY_OPERATOR, kBogor, "key:op1"), req);
  auto op2 = desk_->FileComplaint(
      simpul::testing::AgencyMember(common::v1::ROLE_AGENCY_OPERATOR, kBogor, "key:op2"), req);
  ASSERT_TRUE(op1.ok() && op2.ok());
  EXPECT_FALSE(op2->replayed());
  EXPECT_NE(op1->tracking_code(), op2->tracking_code());
  EXPECT_EQ(AllIds().size(), 4u);
  for (const auto& secret : {first->secret(), other->secret(), op1->secret(), op2->secret()}) {
    ExpectNoSecretStored(store_, secret);
  }
}

TEST_F(ComplaintsTest, PublicRetriesGetTheSecretOnlyWithAnUnguessableKey) {
  auto req = Filing(kPbg, v1::CONFIDENTIALITY_ANONYMOUS);
  req.set_channel(v1::CHANNEL_WEB);
  req.clear_complainant();
  req.set_idempotency_key("web-form-0001");  // short: anyone could send it again
  auto first = desk_->FileComplaint(Identity::Public(), req);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_NE(first->secret(), "");
  auto replay = desk_->FileComplaint(Identity::Public(), req);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed());
  EXPECT_EQ(replay->tracking_code(), first->tracking_code());
  EXPECT_EQ(replay->secret(), "");
  // Public callers share no key namespace: another report under the same key is filed on its
  // own, not refused and not mistaken for the first.
  auto other = req;
  other.set_description("Laporan warga lain dengan kunci yang kebetulan sama persis.");
  auto second = desk_->FileComplaint(Identity::Public(), other);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->replayed());
  EXPECT_NE(second->tracking_code(), first->tracking_code());

  // A random key of 32+ characters (a UUID): the byte-identical retry gets the secret again.
  req.set_idempotency_key("0f8b6a52-3c1d-4e8f-9a7b-5d2c1e0f4a93");
  auto uuid = desk_->FileComplaint(Identity::Public(), req);
  ASSERT_TRUE(uuid.ok()) << uuid.status();
  auto uuid_again = desk_->FileComplaint(Identity::Public(), req);
  ASSERT_TRUE(uuid_again.ok()) << uuid_again.status();
  EXPECT_TRUE(uuid_again->replayed());
  EXPECT_EQ(uuid_again->tracking_code(), uuid->tracking_code());
  EXPECT_EQ(uuid_again->secret(), uuid->secret());
  EXPECT_NE(uuid->secret(), "");
  EXPECT_EQ(AllIds().size(), 3u);
  for (const auto& secret : {first->secret(), second->secret(), uuid->secret()}) {
    ExpectNoSecretStored(store_, secret);
  }
}

TEST_F(ComplaintsTest, ARecordHoldingASecretInClearIsNeverHandedOut) {
  // A record as older versions wrote it: the secret in clear next to the tracking code.
  auto req = Filing();
  const std::string old_secret = NewSecret();
  CaseWrite w;
  v1::Complaint& c = *w.after.mutable_complaint();
  c.set_id(NewTrackingCode());
  c.set_revision(1);
  c.set_state(v1::STATE_RECEIVED);
  *c.mutable_file_time() = Ts(clock_.Now());
  w.after.set_secret_sha256(SecretHash(old_secret));
  w.after.set_last_sequence(1);
  w.entry.set_sequence(1);
  IdempotencyClaim claim;
  claim.scope = "ROLE_CHANNEL/8:sms-1708/sms-1708-gateway-key";
  claim.key = req.idempotency_key();
  claim.record.set_request_sha256(Sha256(DeterministicBytes(req)));
  claim.record.mutable_response()->set_tracking_code(c.id());
  claim.record.mutable_response()->set_secret(old_secret);
  w.idempotency = claim;
  auto committed = store_.Commit(w);
  ASSERT_TRUE(committed.ok() && committed->outcome == CommitResult::Outcome::kCommitted);

  auto replay = desk_->FileComplaint(Sms(), req);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed());
  EXPECT_EQ(replay->tracking_code(), c.id());
  EXPECT_EQ(replay->secret(), "");  // the stored one is ignored; a derived one would not open it
  EXPECT_FALSE(absl::StrContains(replay->SerializeAsString(), old_secret));
}

// ---------------------------------------------------------------------------------------
// 3. Validation

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST_F(ComplaintsTest, BadFilingsNameTheFieldAndWriteNothing) {
  // Today is 2026-04-06 (WIB): 31 days ago is 2026-03-06.
  auto date = [](int y, int m, int d) { return ToDate(absl::CivilDay(y, m, d)); };
  struct Bad {
    std::string name;
    std::function<void(v1::FileComplaintRequest&)> mutate;
    std::vector<std::string> fields;
  };
  const std::vector<Bad> cases = {
      {"empty description", [](auto& r) { r.set_description(""); }, {"description"}},
      {"4,001 characters",
       [](auto& r) { r.set_description(std::string(4001, 'a')); },
       {"description"}},
      {"4,001 multi-byte characters",
       [](auto& r) { r.set_description(Repeat("\xC3\xA9", 4001)); },
       {"description"}},
      {"control character",
       [](auto& r) { r.set_description(std::string("ada\x01kontrol")); },
       {"description"}},
      {"report type unspecified",
       [](auto& r) { r.set_report_type(v1::REPORT_TYPE_UNSPECIFIED); },
       {"report_type"}},
      {"report type 99",
       [](auto& r) { r.set_report_type(static_cast<v1::ReportType>(99)); },
       {"report_type"}},
      {"channel unspecified", [](auto& r) { r.set_channel(v1::CHANNEL_UNSPECIFIED); }, {"channel"}},
      {"channel 99", [](auto& r) { r.set_channel(static_cast<v1::Channel>(99)); }, {"channel"}},
      {"confidentiality 99",
       [](auto& r) { r.set_confidentiality(static_cast<v1::Confidentiality>(99)); },
       {"confidentiality"}},
      {"neither service_id nor target_text",
       [](auto& r) {
         r.clear_service_id();
         r.clear_target_text();
       },
       {"service_id"}},
      {"service_id not a slug", [](auto& r) { r.set_service_id("PBG Bogor!"); }, {"service_id"}},
      {"target_text too long",
       [](auto& r) {
         r.clear_service_id();
         r.set_target_text(std::string(501, 't'));
       },
       {"target_text"}},
      {"title too long", [](auto& r) { r.set_title(std::string(201, 'j')); }, {"title"}},
      {"remedy too long",
       [](auto& r) { r.set_remedy_requested(std::string(1001, 'r')); },
       {"remedy_requested"}},
      {"region code",
       [](auto& r) { r.mutable_location()->set_region_code("32.7"); },
       {"location.region_code"}},
      {"village digit",
       [](auto& r) { r.mutable_location()->set_region_code("33.73.04.4001"); },
       {"location.region_code"}},
      {"latitude 91",
       [](auto& r) { r.mutable_location()->set_latitude(91); },
       {"location.latitude"}},
      {"latitude NaN",
       [](auto& r) { r.mutable_location()->set_latitude(std::nan("")); },
       {"location.latitude"}},
      {"longitude -181",
       [](auto& r) { r.mutable_location()->set_longitude(-181); },
       {"location.longitude"}},
      {"phone with letters",
       [](auto& r) { r.mutable_complainant()->set_phone("0812-CALL-ME"); },
       {"complainant.phone"}},
      {"phone too short",
       [](auto& r) { r.mutable_complainant()->set_phone("12-34"); },
       {"complainant.phone"}},
      {"email without @",
       [](auto& r) { r.mutable_complainant()->set_email("siti.example.id"); },
       {"complainant.email"}},
      {"email without local part",
       [](auto& r) { r.mutable_complainant()->set_email("@example.id"); },
       {"complainant.email"}},
      {"name too long",
       [](auto& r) { r.mutable_complainant()->set_name(std::string(201, 'n')); },
       {"complainant.name"}},
      {"11 attachments",
       [](auto& r) {
         for (int i = 0; i < 11; ++i) r.add_attachments()->set_uri("https://foto.example/1.jpg");
       },
       {"attachments"}},
      {"attachment without scheme",
       [](auto& r) { r.add_attachments()->set_uri("foto.jpg"); },
       {"attachments[0].uri"}},
      {"service date 31 days ago",
       [&](auto& r) { *r.mutable_service_date() = date(2026, 3, 6); },
       {"service_date"}},
      {"service date tomorrow",
       [&](auto& r) { *r.mutable_service_date() = date(2026, 4, 7); },
       {"service_date"}},
      {"service date 30 February",
       [&](auto& r) {
         r.mutable_service_date()->set_year(2026);
         r.mutable_service_date()->set_month(2);
         r.mutable_service_date()->set_day(30);
       },
       {"service_date"}},
      {"empty idempotency key", [](auto& r) { r.clear_idempotency_key(); }, {"idempotency_key"}},
      {"short idempotency key", [](auto& r) { r.set_idempotency_key("k-1"); }, {"idempotency_key"}},
      {"idempotency key with spaces",
       [](auto& r) { r.set_idempotency_key("sms msg 12345"); },
       {"idempotency_key"}},
      {"idempotency key of 129",
       [](auto& r) { r.set_idempotency_key(std::string(129, 'k')); },
       {"idempotency_key"}},
      {"several at once",
       [&](auto& r) {
         r.set_description("");
         r.mutable_location()->set_latitude(91);
         r.mutable_complainant()->set_email("bukan-email");
         for (int i = 0; i < 11; ++i) r.add_attachments()->set_uri("https://foto.example/1.jpg");
         *r.mutable_service_date() = date(2026, 3, 6);
         r.set_idempotency_key("x");
       },
       {"description", "location.latitude", "complainant.email", "attachments", "service_date",
        "idempotency_key"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto req = Filing();
    c.mutate(req);
    auto status = desk_->FileComplaint(Sms(), req).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(Fields(status), UnorderedElementsAreArray(c.fields)) << status;
    for (const auto& field : c.fields) EXPECT_THAT(std::string(status.message()), HasSubstr(field));
  }
  EXPECT_EQ(store_.commits(), 0);
  EXPECT_THAT(AllIds(), IsEmpty());
  EXPECT_THAT(store_.events(), IsEmpty());
}

TEST_F(ComplaintsTest, ServiceDateIsJudgedByTheComplainantsLocalDate) {
  // Tue 7 April 00:30 WIT is still Mon 6 April in WIB: a service received "today" in Papua
  // is not in the future.
  clock_.Set(Wit(2026, 4, 7, 0, 30, 0));
  auto req = Filing(kKkJayapura);
  *req.mutable_service_date() = ToDate(absl::CivilDay(2026, 4, 7));
  auto resp = desk_->FileComplaint(Sms(), req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  // The day after is in the future everywhere.
  req = Filing(kKkJayapura);
  *req.mutable_service_date() = ToDate(absl::CivilDay(2026, 4, 8));
  EXPECT_THAT(Fields(desk_->FileComplaint(Sms(), req).status()), ElementsAre("service_date"));
}

TEST_F(ComplaintsTest, EdgeValuesAreAccepted) {
  struct Edge {
    std::string name;
    std::function<void(v1::FileComplaintRequest&)> mutate;
  };
  const std::vector<Edge> cases = {
      {"4,000 two-byte characters", [](auto& r) { r.set_description(Repeat("\xC3\xA9", 4000)); }},
      {"4,000 three-byte characters",
       [](auto& r) { r.set_description(Repeat("\xE6\xBC\xA2", 4000)); }},
      {"4,000 ASCII characters", [](auto& r) { r.set_description(std::string(4000, 'a')); }},
      {"service date 30 days ago",
       [](auto& r) { *r.mutable_service_date() = ToDate(absl::CivilDay(2026, 3, 7)); }},
      {"service date today",
       [](auto& r) { *r.mutable_service_date() = ToDate(absl::CivilDay(2026, 4, 6)); }},
      {"10 attachments",
       [](auto& r) {
         for (int i = 0; i < 10; ++i) r.add_attachments()->set_uri("https://foto.example/1.jpg");
       }},
      {"corner coordinates",
       [](auto& r) {
         r.mutable_location()->set_latitude(-90);
         r.mutable_location()->set_longitude(180);
       }},
      {"village region code",
       [](auto& r) { r.mutable_location()->set_region_code("33.73.04.1001"); }},
      {"phone with punctuation",
       [](auto& r) { r.mutable_complainant()->set_phone("+62 (21) 555-1234"); }},
      {"key of 8", [](auto& r) { r.set_idempotency_key("a_b:c.d-"); }},
      {"key of 128", [](auto& r) { r.set_idempotency_key(std::string(128, 'K')); }},
      {"target_text only",
       [](auto& r) {
         r.clear_service_id();
         r.set_target_text("Kantor kelurahan Tegallega");
       }},
      {"ASPIRATION", [](auto& r) { r.set_report_type(v1::REPORT_TYPE_ASPIRATION); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto req = Filing();
    c.mutate(req);
    auto resp = desk_->FileComplaint(Sms(), req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_EQ(Case(resp->tracking_code()).description(), req.description());
  }
  EXPECT_EQ(AllIds().size(), cases.size());
}

// ---------------------------------------------------------------------------------------
// 4. Routing

TEST_F(ComplaintsTest, UnknownServiceIsInvalidAndWritesNothing) {
  auto status = desk_->FileComplaint(Sms(), Filing("tidak-ada-layanan")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), ElementsAre("service_id"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("tidak-ada-layanan"));
  EXPECT_EQ(store_.commits(), 0);
}

TEST_F(ComplaintsTest, AChannelFilesOnlyForTheAgenciesAndUnitsItsKeyIsBoundTo) {
  using ::simpul::testing::ScopedChannelCaller;
  const Identity bogor_sms = ScopedChannelCaller("sms-bogor", {kBogor});
  const Identity padang_unit_sms = ScopedChannelCaller("sms-padang", {}, {kPadangUnit});
  // Its own agency and its own unit are fine.
  EXPECT_TRUE(desk_->FileComplaint(bogor_sms, Filing(kPbg)).ok());
  EXPECT_TRUE(desk_->FileComplaint(padang_unit_sms, Filing(kAkta)).ok());
  EXPECT_EQ(store_.commits(), 2);
  // Another agency's service is refused, naming what the key is not bound to; nothing is
  // written.
  for (const auto& [caller, service] :
       {std::pair{bogor_sms, kAkta}, std::pair{padang_unit_sms, kPbg},
        std::pair{bogor_sms, kKtpMakassar}}) {
    SCOPED_TRACE(absl::StrCat(caller.principal.channel(), " files for ", service));
    absl::Status refused = desk_->FileComplaint(caller, Filing(service)).status();
    EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
    EXPECT_THAT(std::string(refused.message()), HasSubstr("not bound to unit"));
  }
  // A filing no unit handles (target text only) needs a key for every agency.
  v1::FileComplaintRequest untargeted = Filing("");
  untargeted.set_target_text("Kantor kelurahan di Bogor Tengah");
  EXPECT_EQ(desk_->FileComplaint(bogor_sms, untargeted).status().code(),
            absl::StatusCode::kPermissionDenied);
  // While the registry cannot say whose service it is, a bound channel is told to retry.
  router_.SetUnavailable(true);
  EXPECT_EQ(desk_->FileComplaint(bogor_sms, Filing(kPbg)).status().code(),
            absl::StatusCode::kUnavailable);
  router_.SetUnavailable(false);
  EXPECT_EQ(store_.commits(), 2);
  // A national channel files anywhere, and for nobody in particular.
  EXPECT_TRUE(desk_->FileComplaint(Sms(), Filing(kAkta)).ok());
  EXPECT_TRUE(desk_->FileComplaint(Sms(), untargeted).ok());
}

TEST_F(ComplaintsTest, RegistryDownFilesUnroutedForTheCoordinatorWhoRoutesIt) {
  router_.SetUnavailable(true);
  Filed f = FileCase();
  v1::Complaint c = Case(f.id);
  EXPECT_EQ(c.state(), v1::STATE_RECEIVED);
  EXPECT_EQ(c.agency_id(), "");
  EXPECT_EQ(c.unit_id(), "");
  EXPECT_EQ(c.service_id(), kPbg);
  EXPECT_NE(c.routing_note(), "");
  EXPECT_EQ(T(c.deadlines().verify_by()), EndWib(2026, 4, 9));  // counted in WIB meanwhile

  v1::ListComplaintsRequest unrouted;
  unrouted.set_unrouted(true);
  EXPECT_THAT(ListAll(Coordinator(), unrouted, 10), ElementsAre(f.id));
  v1::ListComplaintsRequest bogor;
  bogor.set_agency_id(kBogor);
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), bogor, 10), IsEmpty());
  EXPECT_EQ(desk_->ListComplaints(AgencyAdmin(kBogor), unrouted).status().code(),
            absl::StatusCode::kPermissionDenied);

  v1::RouteComplaintRequest route;
  route.set_id(f.id);
  route.set_service_id(kPbg);
  route.set_reason("Registri kembali tersedia");
  // Still down: the coordinator is told to retry.
  EXPECT_EQ(desk_->RouteComplaint(Coordinator(), route).status().code(),
            absl::StatusCode::kUnavailable);
  router_.SetUnavailable(false);

  // Nobody handles it yet: the agency cannot verify, and only coordinators route.
  v1::VerifyComplaintRequest verify;
  verify.set_id(f.id);
  EXPECT_EQ(desk_->VerifyComplaint(AgencyAdmin(kBogor), verify).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->RouteComplaint(AgencyAdmin(kBogor), route).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->RouteComplaint(Identity::Public(), route).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(desk_->RouteComplaint(Channel("sms-1708"), route).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Case(f.id).revision(), 1);

  auto routed = desk_->RouteComplaint(Coordinator(), route);
  ASSERT_TRUE(routed.ok()) << routed.status();
  EXPECT_EQ(routed->complaint().agency_id(), kBogor);
  EXPECT_EQ(routed->complaint().unit_id(), kBogorUnit);
  EXPECT_EQ(routed->complaint().standard_version_id(), "pbg-kota-bogor.v1");
  EXPECT_EQ(routed->complaint().time_zone(), common::v1::TIME_ZONE_WIB);
  EXPECT_EQ(routed->complaint().routing_note(), "");
  EXPECT_EQ(routed->complaint().revision(), 2);
  // SECRET: the coordinator never sees the identity.
  EXPECT_TRUE(routed->complaint().identity_withheld());
  EXPECT_FALSE(routed->complaint().has_complainant());
  auto history = History(f.id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].action(), "RouteComplaint");
  EXPECT_EQ(history[1].actor_kind(), v1::ACTOR_KIND_COORDINATOR);
  EXPECT_EQ(history[1].to_agency_id(), kBogor);
  EXPECT_EQ(history[1].to_unit_id(), kBogorUnit);
  EXPECT_EQ(history[1].from_state(), v1::STATE_RECEIVED);
  EXPECT_EQ(history[1].to_state(), v1::STATE_RECEIVED);

  EXPECT_THAT(ListAll(Coordinator(), unrouted, 10), IsEmpty());
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), bogor, 10), ElementsAre(f.id));
  // Routing twice is refused.
  EXPECT_EQ(desk_->RouteComplaint(Coordinator(), route).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Now the agency acts.
  EXPECT_EQ(Verify(f.id).state(), v1::STATE_VERIFIED);
}

TEST_F(ComplaintsTest, TargetTextFilingIsRoutedToAUnitByTheCoordinator) {
  auto req = Filing();
  req.clear_service_id();
  req.set_target_text("Pemerintah Kota Makassar, Disdukcapil");
  Filed f = File(req);
  EXPECT_EQ(Case(f.id).agency_id(), "");
  EXPECT_NE(Case(f.id).routing_note(), "");

  v1::RouteComplaintRequest route;
  route.set_id(f.id);
  route.set_unit_id("unit-yang-tidak-ada");
  auto status = desk_->RouteComplaint(Coordinator(), route).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), ElementsAre("unit_id"));
  route.set_service_id(kPbg);
  EXPECT_THAT(Fields(desk_->RouteComplaint(Coordinator(), route).status()),
              ElementsAre("service_id"));  // exactly one of them
  route.clear_service_id();
  route.set_unit_id(kMakassarUnit);
  auto routed = desk_->RouteComplaint(Coordinator(), route);
  ASSERT_TRUE(routed.ok()) << routed.status();
  EXPECT_EQ(routed->complaint().agency_id(), kMakassar);
  EXPECT_EQ(routed->complaint().unit_id(), kMakassarUnit);
  EXPECT_EQ(routed->complaint().time_zone(), common::v1::TIME_ZONE_WITA);
  // Verification re-planned in the unit's zone from the filing time.
  EXPECT_EQ(T(routed->complaint().deadlines().verify_by()), Wita(2026, 4, 9, 23, 59, 59));
  EXPECT_EQ(T(routed->complaint().deadlines().next()), Wita(2026, 4, 9, 23, 59, 59));
}

TEST_F(ComplaintsTest, CoordinatorHandlesUnroutedCasesOnlyWhileUnrouted) {
  router_.SetUnavailable(true);
  Filed unrouted = FileCase();
  router_.SetUnavailable(false);
  Filed routed = FileCase();
  v1::HoldComplaintRequest hold;
  hold.set_message("Sebutkan instansi yang dimaksud");
  hold.set_id(routed.id);
  EXPECT_EQ(desk_->HoldComplaint(Coordinator(), hold).status().code(),
            absl::StatusCode::kPermissionDenied);
  hold.set_id(unrouted.id);
  auto held = desk_->HoldComplaint(Coordinator(), hold);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->complaint().state(), v1::STATE_ON_HOLD);
  v1::ArchiveComplaintRequest archive;
  archive.set_id(unrouted.id);
  archive.set_reason(v1::ARCHIVE_REASON_OUT_OF_SCOPE);
  auto archived = desk_->ArchiveComplaint(Coordinator(), archive);
  ASSERT_TRUE(archived.ok()) << archived.status();
  EXPECT_EQ(archived->complaint().state(), v1::STATE_ARCHIVED);
  archive.set_id(routed.id);
  EXPECT_EQ(desk_->ArchiveComplaint(Coordinator(), archive).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Case(routed.id).revision(), 1);
}

TEST_F(ComplaintsTest, UnroutedCaseEscalatedByTheScannerCanStillBeRoutedAndHandled) {
  router_.SetUnavailable(true);
  Filed f = FileCase();
  router_.SetUnavailable(false);
  clock_.Set(Wib(2026, 4, 10, 0, 0, 0));  // nobody routed it by Thu 9 April
  EXPECT_EQ(*desk_->ScanOnce(), 1);
  ASSERT_EQ(Case(f.id).state(), v1::STATE_ESCALATED);
  EXPECT_EQ(Case(f.id).agency_id(), "");

  v1::RouteComplaintRequest route;
  route.set_id(f.id);
  route.set_service_id(kPbg);
  auto routed = desk_->RouteComplaint(Coordinator(), route);
  ASSERT_TRUE(routed.ok()) << routed.status();
  EXPECT_EQ(routed->complaint().state(), v1::STATE_ESCALATED);
  EXPECT_EQ(routed->complaint().agency_id(), kBogor);
  EXPECT_EQ(routed->complaint().unit_id(), kBogorUnit);
  // Routed once, it is the agency's: routing again is refused, and the agency acts.
  EXPECT_EQ(desk_->RouteComplaint(Coordinator(), route).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::Complaint c = Dispose(f.id);
  EXPECT_EQ(c.state(), v1::STATE_DISPOSED);
  EXPECT_EQ(c.unit_id(), kBogorUnit);
}

// ---------------------------------------------------------------------------------------
// 5. Who may file

TEST_F(ComplaintsTest, PublicCallersFileOnlyThroughWebOrAppAndDashboardsNever) {
  auto sms = Filing();
  sms.set_channel(v1::CHANNEL_SMS);
  EXPECT_EQ(desk_->FileComplaint(Identity::Public(), sms).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto email = Filing();
  email.set_channel(v1::CHANNEL_EMAIL);
  EXPECT_EQ(desk_->FileComplaint(Identity::Public(), email).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto web = Filing();
  web.set_channel(v1::CHANNEL_WEB);
  EXPECT_EQ(desk_->FileComplaint(Dashboard(), web).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_.commits(), 0);

  Filed from_web = File(web, Identity::Public());
  auto app = Filing();
  app.set_channel(v1::CHANNEL_MOBILE_APP);
  Filed from_app = File(app, Identity::Public());
  EXPECT_EQ(Case(from_web.id).channel(), v1::CHANNEL_WEB);
  EXPECT_EQ(Case(from_web.id).channel_name(), "public");
  EXPECT_EQ(Case(from_app.id).channel(), v1::CHANNEL_MOBILE_APP);
  auto history = History(from_web.id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].actor_kind(), v1::ACTOR_KIND_COMPLAINANT);
  EXPECT_EQ(history[0].actor(), "public");

  auto walk_in = Filing();
  walk_in.set_channel(v1::CHANNEL_WALK_IN);
  Filed at_desk = File(walk_in, Operator(kBogor));
  EXPECT_EQ(Case(at_desk.id).channel_name(), "agency:kota-bogor");
  EXPECT_EQ(History(at_desk.id)[0].actor_kind(), v1::ACTOR_KIND_AGENCY);
  EXPECT_EQ(AllIds().size(), 3u);
}

// ---------------------------------------------------------------------------------------
// 6. Confidentiality

TEST_F(ComplaintsTest, AnonymousKeepsNoIdentityAtAll) {
  auto req = Filing(kPbg, v1::CONFIDENTIALITY_ANONYMOUS);
  Filed f = File(req);
  v1::ComplaintRecord record = Stored(f.id);
  EXPECT_EQ(record.complaint().confidentiality(), v1::CONFIDENTIALITY_ANONYMOUS);
  EXPECT_FALSE(record.complaint().has_complainant());
  ExpectNoIdentity(record.SerializeAsString(), "the stored record");
  const auto idem = store_.idempotency_records();
  ASSERT_EQ(idem.size(), 1u);
  ExpectNoIdentity(idem.begin()->second.SerializeAsString(), "the idempotency record");

  v1::GetComplaintRequest get;
  get.set_id(f.id);
  auto handler = desk_->GetComplaint(AgencyAdmin(kBogor), get);
  ASSERT_TRUE(handler.ok()) << handler.status();
  EXPECT_FALSE(handler->complaint().has_complainant());
  EXPECT_FALSE(handler->complaint().identity_withheld());  // nothing exists to withhold
}

TEST_F(ComplaintsTest, ThePublicReadsOnePubliclyListedCaseAndNothingElse) {
  v1::GetComplaintRequest get;
  // Public and verified: the public view, without contact details or internal notes.
  Filed open = CaseIn(v1::STATE_IN_PROGRESS, v1::CONFIDENTIALITY_PUBLIC);
  get.set_id(open.id);
  auto view = desk_->GetComplaint(Identity::Public(), get);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_FALSE(view->has_complaint());
  EXPECT_EQ(view->public_complaint().id(), open.id);
  EXPECT_EQ(view->public_complaint().state(), v1::STATE_IN_PROGRESS);
  // The name of a PUBLIC case is shown; its contact details never are.
  const std::string bytes = view->public_complaint().SerializeAsString();
  for (const char* contact : {kPhone, kEmail, kAddress}) {
    EXPECT_FALSE(absl::StrContains(bytes, contact)) << contact;
  }
  // SECRET or not yet verified: only that the case exists and its state (Open311's "open,
  // awaiting verification"), nothing else of it: no text, place, agency or dates.
  for (const v1::State state : {v1::STATE_IN_PROGRESS, v1::STATE_RECEIVED}) {
    const Filed hidden = CaseIn(state, state == v1::STATE_RECEIVED ? v1::CONFIDENTIALITY_PUBLIC
                                                                   : v1::CONFIDENTIALITY_SECRET);
    get.set_id(hidden.id);
    // ... the same to the public, a dashboard and another channel; the channel the case was
    // filed through follows it in the public view, contact details withheld.
    for (const Identity& reader : {Identity::Public(), Dashboard(), Channel("email-gw")}) {
      auto minimal = desk_->GetComplaint(reader, get);
      ASSERT_TRUE(minimal.ok()) << minimal.status();
      EXPECT_FALSE(minimal->has_complaint());
      v1::PublicComplaint want;
      want.set_id(hidden.id);
      want.set_state(state);
      want.set_unlisted(true);
      EXPECT_EQ(minimal->public_complaint().SerializeAsString(), want.SerializeAsString())
          << minimal->public_complaint().DebugString();
    }
    auto own = desk_->GetComplaint(Sms(), get);
    ASSERT_TRUE(own.ok()) << own.status();
    EXPECT_FALSE(own->has_complaint());
    EXPECT_EQ(own->public_complaint().id(), hidden.id);
    EXPECT_FALSE(own->public_complaint().unlisted());
    const std::string own_bytes = own->public_complaint().SerializeAsString();
    for (const char* contact : {kPhone, kEmail, kAddress}) {
      EXPECT_FALSE(absl::StrContains(own_bytes, contact)) << contact;
    }
  }
}

TEST_F(ComplaintsTest, UnspecifiedConfidentialityIsSecretWithContactAndAnonymousWithout) {
  Filed with_contact = FileCase(v1::CONFIDENTIALITY_UNSPECIFIED);
  EXPECT_EQ(Case(with_contact.id).confidentiality(), v1::CONFIDENTIALITY_SECRET);
  EXPECT_EQ(Case(with_contact.id).complainant().email(), kEmail);

  auto name_only = Filing();
  name_only.clear_complainant();
  name_only.mutable_complainant()->set_phone(kPhone);
  Filed phone = File(name_only);
  EXPECT_EQ(Case(phone.id).confidentiality(), v1::CONFIDENTIALITY_SECRET);

  auto nothing = Filing();
  nothing.clear_complainant();
  Filed anonymous = File(nothing);
  EXPECT_EQ(Case(anonymous.id).confidentiality(), v1::CONFIDENTIALITY_ANONYMOUS);
  EXPECT_FALSE(Case(anonymous.id).has_complainant());
}

TEST_F(ComplaintsTest, SecretIdentityIsSeenOnlyByTheHandlingAgency) {
  Filed f = FileCase(v1::CONFIDENTIALITY_SECRET);
  Verify(f.id);
  v1::GetComplaintRequest get;
  get.set_id(f.id);

  auto handler = desk_->GetComplaint(Operator(kBogor), get);
  ASSERT_TRUE(handler.ok()) << handler.status();
  EXPECT_EQ(handler->complaint().complainant().name(), kName);
  EXPECT_EQ(handler->complaint().complainant().phone(), kPhone);
  EXPECT_EQ(handler->complaint().complainant().email(), kEmail);
  EXPECT_EQ(handler->complaint().complainant().address(), kAddress);
  EXPECT_FALSE(handler->complaint().identity_withheld());

  auto coordinator = desk_->GetComplaint(Coordinator(), get);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  EXPECT_TRUE(coordinator->complaint().identity_withheld());
  EXPECT_FALSE(coordinator->complaint().has_complainant());
  ExpectNoIdentity(coordinator->SerializeAsString(), "the coordinator's view");

  v1::ListComplaintsRequest all;
  auto coordinator_list = desk_->ListComplaints(Coordinator(), all);
  ASSERT_TRUE(coordinator_list.ok());
  ASSERT_EQ(coordinator_list->complaints_size(), 1);
  EXPECT_TRUE(coordinator_list->complaints(0).identity_withheld());
  ExpectNoIdentity(coordinator_list->SerializeAsString(), "the coordinator's listing");

  auto public_list = desk_->ListComplaints(Identity::Public(), all);
  ASSERT_TRUE(public_list.ok());
  EXPECT_EQ(public_list->public_complaints_size(), 0);
  EXPECT_EQ(public_list->complaints_size(), 0);
  ExpectNoIdentity(public_list->SerializeAsString(), "the public listing");

  v1::TrackComplaintRequest track;
  track.set_tracking_code(f.id);
  track.set_secret(f.secret);
  auto tracked = desk_->TrackComplaint(Identity::Public(), track);
  ASSERT_TRUE(tracked.ok()) << tracked.status();
  EXPECT_EQ(tracked->complaint().complainant_name(), "");
  ExpectNoIdentity(tracked->SerializeAsString(), "the complainant's view");
}

TEST_F(ComplaintsTest, PublicCaseShowsTheNameButNeverTheContact) {
  Filed f = FileCase(v1::CONFIDENTIALITY_PUBLIC);
  Filed anonymous = FileCase(v1::CONFIDENTIALITY_ANONYMOUS);
  // Not listed before verification.
  auto before = desk_->ListComplaints(Identity::Public(), {});
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->public_complaints_size(), 0);
  Verify(f.id);
  Verify(anonymous.id);

  auto list = desk_->ListComplaints(Identity::Public(), {});
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->complaints_size(), 0);
  ASSERT_EQ(list->public_complaints_size(), 2);
  std::map<std::string, v1::PublicComplaint> by_id;
  for (const auto& p : list->public_complaints()) by_id[p.id()] = p;
  EXPECT_EQ(by_id[f.id].complainant_name(), kName);
  EXPECT_EQ(by_id[f.id].confidentiality(), v1::CONFIDENTIALITY_PUBLIC);
  EXPECT_EQ(by_id[anonymous.id].complainant_name(), "");
  const std::string bytes = list->SerializeAsString();
  for (const char* contact : {kPhone, "9876-5432", kEmail, kAddress}) {
    EXPECT_FALSE(absl::StrContains(bytes, contact)) << contact;
  }

  // Coordinators see PUBLIC identities; other agencies cannot read the case at all.
  v1::GetComplaintRequest get;
  get.set_id(f.id);
  auto coordinator = desk_->GetComplaint(Coordinator(), get);
  ASSERT_TRUE(coordinator.ok());
  EXPECT_EQ(coordinator->complaint().complainant().phone(), kPhone);
  EXPECT_EQ(desk_->GetComplaint(AgencyAdmin(kPadang), get).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(ComplaintsTest, VerifierMayOnlyTightenConfidentiality) {
  // PUBLIC -> SECRET: allowed; the case leaves the public listing.
  Filed pub = FileCase(v1::CONFIDENTIALITY_PUBLIC);
  v1::VerifyComplaintRequest tighten;
  tighten.set_id(pub.id);
  tighten.set_confidentiality(v1::CONFIDENTIALITY_SECRET);
  auto tightened = desk_->VerifyComplaint(AgencyAdmin(kBogor), tighten);
  ASSERT_TRUE(tightened.ok()) << tightened.status();
  EXPECT_EQ(tightened->complaint().confidentiality(), v1::CONFIDENTIALITY_SECRET);
  EXPECT_EQ(tightened->complaint().complainant().name(), kName);
  EXPECT_EQ(desk_->ListComplaints(Identity::Public(), {})->public_complaints_size(), 0);

  // SECRET -> PUBLIC: refused, nothing changes.
  Filed secret = FileCase(v1::CONFIDENTIALITY_SECRET);
  v1::VerifyComplaintRequest loosen;
  loosen.set_id(secret.id);
  loosen.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
  auto status = desk_->VerifyComplaint(AgencyAdmin(kBogor), loosen).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), ElementsAre("confidentiality"));
  EXPECT_EQ(Case(secret.id).state(), v1::STATE_RECEIVED);
  EXPECT_EQ(Case(secret.id).revision(), 1);
  EXPECT_EQ(EventsOf(secret.id).size(), 1u);

  // -> ANONYMOUS erases the stored identity.
  loosen.set_confidentiality(v1::CONFIDENTIALITY_ANONYMOUS);
  auto anonymized = desk_->VerifyComplaint(AgencyAdmin(kBogor), loosen);
  ASSERT_TRUE(anonymized.ok()) << anonymized.status();
  EXPECT_EQ(anonymized->complaint().confidentiality(), v1::CONFIDENTIALITY_ANONYMOUS);
  EXPECT_FALSE(anonymized->complaint().has_complainant());
  EXPECT_FALSE(anonymized->complaint().identity_withheld());
  v1::ComplaintRecord record = Stored(secret.id);
  EXPECT_FALSE(record.complaint().has_complainant());
  ExpectNoIdentity(record.SerializeAsString(), "the anonymized record");
  // Now publicly listed, without a name.
  auto list = desk_->ListComplaints(Identity::Public(), {});
  ASSERT_EQ(list->public_complaints_size(), 1);
  EXPECT_EQ(list->public_complaints(0).id(), secret.id);
  EXPECT_EQ(list->public_complaints(0).complainant_name(), "");
}

// ---------------------------------------------------------------------------------------
// 7. The lifecycle

TEST_F(ComplaintsTest, WholeLifecycleWithHistoryAndTrackingView) {
  Filed f = FileCase(v1::CONFIDENTIALITY_PUBLIC);  // Mon 6 April 09:00 WIB
  const std::string id = f.id;

  // Verify on Tue 7 April with a class of the standard.
  clock_.Set(Wib(2026, 4, 7, 10, 0, 0));
  v1::VerifyComplaintRequest verify;
  verify.set_id(id);
  verify.set_resolution_class("urgent");
  auto bad_class = desk_->VerifyComplaint(AgencyAdmin(kBogor), verify).status();
  EXPECT_EQ(bad_class.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(bad_class), ElementsAre("resolution_class"));
  EXPECT_THAT(std::string(bad_class.message()),
              HasSubstr("minor, normative, not-requiring-investigation, requiring-investigation"));
  EXPECT_EQ(Case(id).revision(), 1);

  v1::Complaint c = Verify(id, "normative");
  EXPECT_EQ(c.state(), v1::STATE_VERIFIED);
  EXPECT_EQ(c.resolution_class(), "normative");
  EXPECT_EQ(c.resolution_working_days(), 5);
  EXPECT_EQ(T(c.deadlines().dispose_by()), EndWib(2026, 4, 9));   // 3 wd of filing
  EXPECT_EQ(T(c.deadlines().resolve_by()), EndWib(2026, 4, 14));  // 8, 9, 10, 13, 14
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 4, 9));
  EXPECT_EQ(c.revision(), 2);

  clock_.Set(Wib(2026, 4, 7, 11, 0, 0));
  c = Dispose(id);
  EXPECT_EQ(c.state(), v1::STATE_DISPOSED);
  EXPECT_EQ(c.unit_id(), kBogorUnit);
  EXPECT_EQ(T(c.deadlines().respond_by()), EndWib(2026, 4, 10));  // standard: 3 wd
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 4, 10));

  c = Start(id);
  EXPECT_EQ(c.state(), v1::STATE_IN_PROGRESS);

  clock_.Set(Wib(2026, 4, 8, 9, 0, 0));
  c = FollowUp(id, "Berkas sedang diperiksa tim teknis");
  EXPECT_EQ(c.state(), v1::STATE_RESPONDED);
  EXPECT_EQ(c.follow_up_count(), 1);
  EXPECT_EQ(T(c.first_response_time()), Wib(2026, 4, 8, 9, 0, 0));
  EXPECT_EQ(T(c.deadlines().auto_complete_at()), EndWib(2026, 4, 22));  // 10 wd
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 4, 22));

  clock_.Set(Wib(2026, 4, 9, 9, 0, 0));
  v1::ReplyToComplaintRequest reply;
  reply.set_tracking_code(f.id);
  reply.set_secret(f.secret);
  reply.set_message("Mohon dipercepat, izin dibutuhkan bulan ini");
  auto replied = desk_->ReplyToComplaint(Identity::Public(), reply);
  ASSERT_TRUE(replied.ok()) << replied.status();
  EXPECT_EQ(replied->complaint().state(), v1::STATE_IN_PROGRESS);
  c = Case(id);
  EXPECT_EQ(T(c.deadlines().respond_by()), EndWib(2026, 4, 14));  // 10, 13, 14
  EXPECT_FALSE(c.deadlines().has_auto_complete_at());
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 4, 14));

  clock_.Set(Wib(2026, 4, 10, 9, 0, 0));
  c = FollowUp(id, "Izin akan terbit Senin");
  EXPECT_EQ(c.state(), v1::STATE_RESPONDED);
  EXPECT_EQ(c.follow_up_count(), 2);
  EXPECT_EQ(T(c.first_response_time()), Wib(2026, 4, 8, 9, 0, 0));
  EXPECT_EQ(T(c.deadlines().auto_complete_at()), EndWib(2026, 4, 24));

  clock_.Set(Wib(2026, 4, 13, 10, 0, 0));
  c = Complete(id);
  EXPECT_EQ(c.state(), v1::STATE_COMPLETED);
  EXPECT_EQ(T(c.complete_time()), Wib(2026, 4, 13, 10, 0, 0));
  EXPECT_EQ(T(c.deadlines().reopen_until()), EndWib(2026, 4, 27));
  EXPECT_FALSE(c.deadlines().has_next());

  v1::RateComplaintRequest rate;
  rate.set_tracking_code(f.id);
  rate.set_secret(f.secret);
  rate.set_rating(0);
  EXPECT_THAT(Fields(desk_->RateComplaint(Identity::Public(), rate).status()),
              ElementsAre("rating"));
  rate.set_rating(4);
  rate.set_comment("Cepat dan jelas");
  auto rated = desk_->RateComplaint(Identity::Public(), rate);
  ASSERT_TRUE(rated.ok()) << rated.status();
  EXPECT_EQ(rated->complaint().rating(), 4);
  EXPECT_EQ(Case(id).rating_comment(), "Cepat dan jelas");
  rate.set_rating(5);
  auto again = desk_->RateComplaint(Identity::Public(), rate).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Case(id).rating(), 4);

  clock_.Set(Wib(2026, 4, 14, 10, 0, 0));
  v1::ReopenComplaintRequest reopen;
  reopen.set_tracking_code(f.id);
  reopen.set_secret(f.secret);
  reopen.set_reason("Izin belum juga terbit");
  auto reopened = desk_->ReopenComplaint(Identity::Public(), reopen);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->complaint().state(), v1::STATE_IN_PROGRESS);
  EXPECT_EQ(reopened->complaint().rating(), 0);
  c = Case(id);
  EXPECT_EQ(c.rating(), 0);
  EXPECT_EQ(c.rating_comment(), "");
  EXPECT_EQ(c.reopen_count(), 1);
  EXPECT_FALSE(c.has_complete_time());
  EXPECT_FALSE(c.deadlines().has_reopen_until());
  EXPECT_EQ(T(c.deadlines().respond_by()), EndWib(2026, 4, 17));

  FollowUp(id, "Izin sudah terbit");
  c = Complete(id);
  EXPECT_EQ(T(c.deadlines().reopen_until()), EndWib(2026, 4, 28));
  // Each completion may be rated once.
  rate.set_rating(2);
  rate.set_comment("Lambat");
  ASSERT_TRUE(desk_->RateComplaint(Identity::Public(), rate).ok());
  EXPECT_EQ(Case(id).rating(), 2);
  c = Case(id);
  const int64_t revision = c.revision();
  clock_.Set(Wib(2026, 4, 29, 0, 0, 0));
  auto late = desk_->ReopenComplaint(Identity::Public(), reopen).status();
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(late.message()), HasSubstr("reopen window"));
  EXPECT_EQ(Case(id).state(), v1::STATE_COMPLETED);
  EXPECT_EQ(Case(id).revision(), revision);

  // History: one entry per change, 1..N, failed calls left no trace. The reopened case's
  // history, then answered, completed and rated again.
  std::vector<simpul::testing::HistoryStep> want = simpul::testing::ReopenedCaseHistory();
  want.push_back(
      {"PostFollowUp", v1::STATE_IN_PROGRESS, v1::STATE_RESPONDED, v1::ACTOR_KIND_AGENCY});
  want.push_back(
      {"CompleteComplaint", v1::STATE_RESPONDED, v1::STATE_COMPLETED, v1::ACTOR_KIND_AGENCY});
  want.push_back(
      {"RateComplaint", v1::STATE_COMPLETED, v1::STATE_COMPLETED, v1::ACTOR_KIND_COMPLAINANT});
  v1::GetComplaintHistoryRequest hreq;
  hreq.set_id(id);
  auto history = desk_->GetComplaintHistory(AgencyAdmin(kBogor), hreq);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->entries_size(), static_cast<int>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& e = history->entries(static_cast<int>(i));
    EXPECT_EQ(e.sequence(), static_cast<int>(i) + 1);
    EXPECT_EQ(e.action(), want[i].action);
    EXPECT_EQ(e.from_state(), want[i].from);
    EXPECT_EQ(e.to_state(), want[i].to);
    EXPECT_EQ(e.actor_kind(), want[i].actor);
    EXPECT_NE(e.actor(), "");
    if (want[i].actor == v1::ACTOR_KIND_AGENCY) {
      EXPECT_EQ(e.actor_agency_id(), kBogor);
    }
    if (want[i].actor == v1::ACTOR_KIND_COMPLAINANT) {
      EXPECT_EQ(e.actor(), "complainant");
    }
    ExpectNoIdentity(e.SerializeAsString(), "a history entry");
  }
  EXPECT_EQ(history->entries(1).reason(), "Berkas lengkap");
  EXPECT_EQ(history->entries(2).to_unit_id(), kBogorUnit);
  EXPECT_EQ(history->entries(4).message(), "Berkas sedang diperiksa tim teknis");
  EXPECT_EQ(history->entries(5).message(), "Mohon dipercepat, izin dibutuhkan bulan ini");
  EXPECT_EQ(history->entries(8).rating(), 4);
  EXPECT_EQ(history->entries(9).reason(), "Izin belum juga terbit");
  EXPECT_EQ(T(history->entries(4).time()), Wib(2026, 4, 8, 9, 0, 0));

  auto events = EventsOf(id);
  ASSERT_EQ(events.size(), want.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), static_cast<int>(i) + 1);
    EXPECT_EQ(events[i].event_id(), absl::StrCat(id, "/", i + 1));
    EXPECT_EQ(events[i].action(), want[i].action);
    EXPECT_EQ(events[i].to_state(), want[i].to);
    ExpectNoIdentity(events[i].SerializeAsString(), "an event");
  }
  EXPECT_EQ(events[8].rating(), 4);
  for (const auto& line : Logs()) ExpectNoIdentity(line, "a log line");

  // The complainant's view: the conversation without internal actors.
  v1::TrackComplaintRequest track;
  track.set_tracking_code(f.id);
  track.set_secret(f.secret);
  auto tracked = desk_->TrackComplaint(Identity::Public(), track);
  ASSERT_TRUE(tracked.ok()) << tracked.status();
  EXPECT_EQ(tracked->complaint().state(), v1::STATE_COMPLETED);
  EXPECT_EQ(tracked->complaint().complainant_name(), kName);  // PUBLIC
  ASSERT_EQ(tracked->history_size(), static_cast<int>(want.size()));
  for (const auto& e : tracked->history()) EXPECT_EQ(e.actor(), "") << e.action();
  EXPECT_EQ(tracked->history(4).message(), "Berkas sedang diperiksa tim teknis");
  EXPECT_EQ(tracked->history(5).message(), "Mohon dipercepat, izin dibutuhkan bulan ini");
  EXPECT_EQ(tracked->history(6).message(), "Izin akan terbit Senin");
}

TEST_F(ComplaintsTest, HoldThenReplyRestartsVerification) {
  Filed f = FileCase();
  clock_.Set(Wib(2026, 4, 6, 10, 0, 0));
  v1::Complaint c = Hold(f.id);
  EXPECT_EQ(c.state(), v1::STATE_ON_HOLD);
  EXPECT_EQ(T(c.deadlines().auto_archive_at()), EndWib(2026, 5, 6));  // 30 calendar days
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 5, 6));

  clock_.Set(Wib(2026, 4, 10, 9, 0, 0));
  v1::ReplyToComplaintRequest reply;
  reply.set_tracking_code(f.id);
  reply.set_secret(f.secret);
  reply.set_message("Nomor permohonan PBG-2026-0042");
  auto replied = desk_->ReplyToComplaint(Identity::Public(), reply);
  ASSERT_TRUE(replied.ok()) << replied.status();
  EXPECT_EQ(replied->complaint().state(), v1::STATE_RECEIVED);
  c = Case(f.id);
  EXPECT_EQ(T(c.deadlines().verify_by()), EndWib(2026, 4, 15));  // Fri 10: 13, 14, 15
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 4, 15));
  EXPECT_FALSE(c.deadlines().has_auto_archive_at());
  auto history = History(f.id);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].action(), "HoldComplaint");
  EXPECT_EQ(history[1].to_state(), v1::STATE_ON_HOLD);
  EXPECT_EQ(history[1].message(), "Mohon lampirkan nomor permohonan");
  EXPECT_EQ(history[2].action(), "ReplyToComplaint");
  EXPECT_EQ(history[2].from_state(), v1::STATE_ON_HOLD);
  EXPECT_EQ(history[2].to_state(), v1::STATE_RECEIVED);
  EXPECT_EQ(history[2].actor_kind(), v1::ACTOR_KIND_COMPLAINANT);

  // Disposition counts from the completed file too: verified the next day, the case is not
  // already late for disposition (3 working days of filing ended long before).
  clock_.Set(Wib(2026, 4, 13, 9, 0, 0));
  c = Verify(f.id);
  EXPECT_EQ(T(c.deadlines().dispose_by()), EndWib(2026, 4, 15));
  EXPECT_FALSE(c.overdue());
}

TEST_F(ComplaintsTest, ReopeningAfterTheResolutionDeadlineGivesANewPeriod) {
  Filed f = FileCase();
  Verify(f.id);
  Dispose(f.id);
  Start(f.id);
  FollowUp(f.id);
  Complete(f.id);
  const absl::Time old_resolve = T(Case(f.id).deadlines().resolve_by());
  // Reopened within the window but after the old resolution deadline: without a new period
  // the scanner would escalate it at once.
  clock_.Set(old_resolve + absl::Hours(1));
  v1::ComplaintRecord stored = Stored(f.id);
  stored.mutable_complaint()->mutable_deadlines()->set_allocated_reopen_until(
      new google::protobuf::Timestamp(Ts(old_resolve + absl::Hours(48))));
  // (The window is moved by hand here: by default it would have ended before the resolution
  // deadline of this case.)
  CaseWrite w;
  w.before = Stored(f.id);
  stored.mutable_complaint()->set_revision(w.before->complaint().revision() + 1);
  stored.set_last_sequence(w.before->last_sequence() + 1);
  w.after = stored;
  w.entry.set_sequence(stored.last_sequence());
  ASSERT_EQ(store_.Commit(w)->outcome, CommitResult::Outcome::kCommitted);

  v1::ReopenComplaintRequest reopen;
  reopen.set_tracking_code(f.id);
  reopen.set_secret(f.secret);
  reopen.set_reason("Masalah belum selesai");
  auto reopened = desk_->ReopenComplaint(Identity::Public(), reopen);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  v1::Complaint c = Case(f.id);
  EXPECT_EQ(c.state(), v1::STATE_IN_PROGRESS);
  EXPECT_GT(T(c.deadlines().resolve_by()), clock_.Now() + absl::Hours(24 * 30));
  EXPECT_FALSE(c.deadlines().has_auto_complete_at());
  EXPECT_FALSE(c.overdue());
  EXPECT_EQ(*desk_->ScanOnce(), 0);  // nothing to escalate
}

// The standard in force at filing (issue #15, point 5): "pbg-riwayat" had v1 (first response
// within 3 working days; class "normative" 5 working days) in force from 1 January 2026, and
// v2 (1 day; "normative" 10 days), adopted with effective date Tue 7 April 2026 (in force from
// 00:00 WIB). The router already names v2 as current on Mon 6 April.
TEST_F(ComplaintsTest, ACaseKeepsTheTermsOfTheStandardInForceWhenItWasFiled) {
  Route bogor = UnitRoute(kBogorUnit, kBogor, common::v1::TIME_ZONE_WIB);
  Route route = ServiceRoute("pbg-riwayat", bogor, "pbg-riwayat.v2", 1, {{"normative", 10}});
  clients::registry::StandardTerms v1_terms;
  v1_terms.version_id = "pbg-riwayat.v1";
  v1_terms.version_number = 1;
  v1_terms.in_force_from = Wib(2026, 1, 1, 0, 0, 0);
  v1_terms.response_working_days = 3;
  v1_terms.resolution_classes = {{"minor", 2}, {"normative", 5}};
  clients::registry::StandardTerms v2_terms;
  v2_terms.version_id = "pbg-riwayat.v2";
  v2_terms.version_number = 2;
  v2_terms.in_force_from = Wib(2026, 4, 7, 0, 0, 0);
  v2_terms.response_working_days = 1;
  v2_terms.resolution_classes = {{"normative", 10}};
  route.standards = {v1_terms, v2_terms};
  router_.AddService(route);

  // Filed Mon 6 April 09:00 WIB: v1 is in force (v2 only from tomorrow).
  const std::string old_case = FileCase(v1::CONFIDENTIALITY_PUBLIC, "pbg-riwayat").id;
  EXPECT_EQ(Case(old_case).standard_version_id(), "pbg-riwayat.v1");
  EXPECT_EQ(Case(old_case).response_working_days(), 3);
  // Filed Tue 7 April 10:00 WIB: v2.
  clock_.Set(Wib(2026, 4, 7, 10, 0, 0));
  const std::string new_case = FileCase(v1::CONFIDENTIALITY_PUBLIC, "pbg-riwayat").id;
  EXPECT_EQ(Case(new_case).standard_version_id(), "pbg-riwayat.v2");
  EXPECT_EQ(Case(new_case).response_working_days(), 1);

  // Both verified Tue 7 April 10:00 as "normative". The old case keeps v1's 5 working days:
  // Wed 8, Thu 9, Fri 10, Mon 13, Tue 14 -> resolve by Tue 14 April 23:59:59 WIB. The new one
  // has v2's 10: 8, 9, 10, 13, 14, 15, 16, 17, 20, 21 -> Tue 21 April.
  v1::Complaint old_verified = Verify(old_case, "normative");
  EXPECT_EQ(old_verified.resolution_working_days(), 5);
  EXPECT_EQ(T(old_verified.deadlines().resolve_by()), EndWib(2026, 4, 14));
  v1::Complaint new_verified = Verify(new_case, "normative");
  EXPECT_EQ(new_verified.resolution_working_days(), 10);
  EXPECT_EQ(T(new_verified.deadlines().resolve_by()), EndWib(2026, 4, 21));
}

TEST_F(ComplaintsTest, ResolutionClassNeedsAStandard) {
  Filed f = FileCase(v1::CONFIDENTIALITY_UNSPECIFIED, kParkir);
  v1::VerifyComplaintRequest verify;
  verify.set_id(f.id);
  verify.set_resolution_class("minor");
  auto status = desk_->VerifyComplaint(AgencyAdmin(kBogor), verify).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), ElementsAre("resolution_class"));
  // Without a class the law's 60 calendar days apply.
  v1::Complaint c = Verify(f.id);
  EXPECT_EQ(c.resolution_working_days(), 0);
  EXPECT_EQ(T(c.deadlines().resolve_by()), EndWib(2026, 6, 5));
}

// ---------------------------------------------------------------------------------------
// 8. Illegal transitions

class Actions {
 public:
  Actions(ComplaintDesk& desk, const v1::Complaint& c, const Filed& f)
      : desk_(desk), c_(c), f_(f), handler_(AgencyAdmin(c.agency_id())) {}

  absl::Status Do(const std::string& action) {
    const std::string& id = f_.id;
    if (action == "VerifyComplaint") {
      v1::VerifyComplaintRequest r;
      r.set_id(id);
      return desk_.VerifyComplaint(handler_, r).status();
    }
    if (action == "HoldComplaint") {
      v1::HoldComplaintRequest r;
      r.set_id(id);
      r.set_message("Kurang lengkap");
      return desk_.HoldComplaint(handler_, r).status();
    }
    if (action == "DisposeComplaint") {
      v1::DisposeComplaintRequest r;
      r.set_id(id);
      return desk_.DisposeComplaint(handler_, r).status();
    }
    if (action == "StartWork") {
      v1::StartWorkRequest r;
      r.set_id(id);
      return desk_.StartWork(handler_, r).status();
    }
    if (action == "PostFollowUp") {
      v1::PostFollowUpRequest r;
      r.set_id(id);
      r.set_message("Tindak lanjut");
      return desk_.PostFollowUp(handler_, r).status();
    }
    if (action == "CompleteComplaint") {
      v1::CompleteComplaintRequest r;
      r.set_id(id);
      return desk_.CompleteComplaint(handler_, r).status();
    }
    if (action == "ArchiveComplaint") {
      v1::ArchiveComplaintRequest r;
      r.set_id(id);
      r.set_reason(v1::ARCHIVE_REASON_OUT_OF_SCOPE);
      return desk_.ArchiveComplaint(handler_, r).status();
    }
    if (action == "EscalateComplaint") {
      v1::EscalateComplaintRequest r;
      r.set_id(id);
      r.set_reason("Terlambat");
      return desk_.EscalateComplaint(handler_, r).status();
    }
    if (action == "ResumeComplaint") {
      v1::ResumeComplaintRequest r;
      r.set_id(id);
      r.set_resolve_within_working_days(10);
      return desk_.ResumeComplaint(handler_, r).status();
    }
    if (action == "ForwardComplaint") {
      v1::ForwardComplaintRequest r;
      r.set_id(id);
      r.set_to_agency_id(c_.agency_id() == kMakassar ? kPadang : kMakassar);
      r.set_reason("Bukan kewenangan");
      return desk_.ForwardComplaint(handler_, r).status();
    }
    if (action == "RouteComplaint") {
      v1::RouteComplaintRequest r;
      r.set_id(id);
      r.set_unit_id(kBogorUnit2);
      return desk_.RouteComplaint(Coordinator(), r).status();
    }
    if (action == "ReplyToComplaint") {
      v1::ReplyToComplaintRequest r;
      r.set_tracking_code(id);
      r.set_secret(f_.secret);
      r.set_message("Tambahan");
      return desk_.ReplyToComplaint(Identity::Public(), r).status();
    }
    if (action == "RateComplaint") {
      v1::RateComplaintRequest r;
      r.set_tracking_code(id);
      r.set_secret(f_.secret);
      r.set_rating(5);
      return desk_.RateComplaint(Identity::Public(), r).status();
    }
    if (action == "ReopenComplaint") {
      v1::ReopenComplaintRequest r;
      r.set_tracking_code(id);
      r.set_secret(f_.secret);
      r.set_reason("Belum selesai");
      return desk_.ReopenComplaint(Identity::Public(), r).status();
    }
    return absl::InternalError("unknown action " + action);
  }

 private:
  ComplaintDesk& desk_;
  v1::Complaint c_;
  Filed f_;
  Identity handler_;
};

TEST_F(ComplaintsTest, IllegalTransitionsFailNamingTheStateAndChangeNothing) {
  const std::vector<std::pair<v1::State, std::vector<std::string>>> table = {
      {v1::STATE_RECEIVED,
       {"StartWork", "PostFollowUp", "CompleteComplaint", "DisposeComplaint", "ResumeComplaint",
        "RateComplaint", "ReopenComplaint"}},
      {v1::STATE_ON_HOLD,
       {"VerifyComplaint", "HoldComplaint", "EscalateComplaint", "DisposeComplaint",
        "ForwardComplaint", "StartWork"}},
      {v1::STATE_VERIFIED,
       {"VerifyComplaint", "HoldComplaint", "StartWork", "RouteComplaint", "PostFollowUp",
        "ResumeComplaint"}},
      {v1::STATE_DISPOSED,
       {"PostFollowUp", "CompleteComplaint", "ArchiveComplaint", "DisposeComplaint",
        "VerifyComplaint"}},
      {v1::STATE_FORWARDED, {"VerifyComplaint", "StartWork", "PostFollowUp", "HoldComplaint"}},
      {v1::STATE_IN_PROGRESS,
       {"StartWork", "CompleteComplaint", "VerifyComplaint", "ForwardComplaint", "ArchiveComplaint",
        "RateComplaint"}},
      {v1::STATE_RESPONDED,
       {"StartWork", "EscalateComplaint", "ReopenComplaint", "RateComplaint", "DisposeComplaint"}},
      {v1::STATE_COMPLETED,
       {"PostFollowUp", "ReplyToComplaint", "ForwardComplaint", "EscalateComplaint",
        "ArchiveComplaint", "CompleteComplaint", "StartWork"}},
      {v1::STATE_ARCHIVED,
       {"VerifyComplaint", "ReplyToComplaint", "ForwardComplaint", "ReopenComplaint",
        "ResumeComplaint", "ArchiveComplaint", "EscalateComplaint"}},
      {v1::STATE_ESCALATED,
       {"StartWork", "VerifyComplaint", "CompleteComplaint", "EscalateComplaint",
        "ArchiveComplaint", "HoldComplaint"}},
  };
  for (const auto& [state, actions] : table) {
    Filed f = CaseIn(state);
    for (const auto& action : actions) {
      SCOPED_TRACE(absl::StrCat(StateName(state), " / ", action));
      const v1::ComplaintRecord before = Stored(f.id);
      const size_t events = store_.events().size();
      Actions actor(*desk_, before.complaint(), f);
      absl::Status status = actor.Do(action);
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
      EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("is ", StateName(state))));
      const v1::ComplaintRecord after = Stored(f.id);
      EXPECT_EQ(after.complaint().revision(), before.complaint().revision());
      EXPECT_EQ(after.complaint().state(), state);
      EXPECT_EQ(after.last_sequence(), before.last_sequence());
      EXPECT_EQ(store_.events().size(), events);
      EXPECT_EQ(History(f.id).size(), static_cast<size_t>(before.last_sequence()));
    }
  }
}

// ---------------------------------------------------------------------------------------
// 9. Authorization

TEST_F(ComplaintsTest, StrangersCannotActOrRead) {
  Filed f = FileCase();
  v1::VerifyComplaintRequest verify;
  verify.set_id(f.id);
  auto other = desk_->VerifyComplaint(AgencyAdmin(kPadang), verify).status();
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->VerifyComplaint(Operator(kPadang), verify).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->VerifyComplaint(Dashboard(), verify).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->VerifyComplaint(Sms(), verify).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Coordinators do not verify a case an agency handles.
  EXPECT_EQ(desk_->VerifyComplaint(Coordinator(), verify).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->VerifyComplaint(Identity::Public(), verify).status().code(),
            absl::StatusCode::kUnauthenticated);
  v1::HoldComplaintRequest hold;
  hold.set_id(f.id);
  hold.set_message("x");
  EXPECT_EQ(desk_->HoldComplaint(Identity::Public(), hold).status().code(),
            absl::StatusCode::kUnauthenticated);
  // A stale revision does not tell a stranger anything either.
  verify.set_expected_revision(7);
  EXPECT_EQ(desk_->VerifyComplaint(AgencyAdmin(kPadang), verify).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->VerifyComplaint(Identity::Public(), verify).status().code(),
            absl::StatusCode::kUnauthenticated);

  v1::GetComplaintRequest get;
  get.set_id(f.id);
  EXPECT_EQ(desk_->GetComplaint(AgencyAdmin(kPadang), get).status().code(),
            absl::StatusCode::kPermissionDenied);
  // A refusal never names the agency that handles the case (issue #13, point 8).
  for (const absl::Status& refused :
       {other, desk_->GetComplaint(AgencyAdmin(kPadang), get).status(),
        desk_->VerifyComplaint(Coordinator(), verify).status()}) {
    EXPECT_THAT(refused.message(), Not(HasSubstr(kBogor))) << refused;
  }
  EXPECT_THAT(other.message(), HasSubstr("not handled by agency padang-pariaman")) << other;
  // A case not yet verified is not public: the public learns only that it exists, RECEIVED.
  for (const Identity& reader : {Identity::Public(), Dashboard()}) {
    auto minimal = desk_->GetComplaint(reader, get);
    ASSERT_TRUE(minimal.ok()) << minimal.status();
    EXPECT_TRUE(minimal->public_complaint().unlisted());
    EXPECT_EQ(minimal->public_complaint().state(), v1::STATE_RECEIVED);
    EXPECT_EQ(minimal->public_complaint().service_id(), "");
    EXPECT_EQ(minimal->public_complaint().description(), "");
  }
  v1::GetComplaintHistoryRequest history;
  history.set_id(f.id);
  EXPECT_EQ(desk_->GetComplaintHistory(Operator(kPadang), history).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->GetComplaintHistory(Identity::Public(), history).status().code(),
            absl::StatusCode::kUnauthenticated);

  EXPECT_EQ(Case(f.id).revision(), 1);
  EXPECT_EQ(Case(f.id).state(), v1::STATE_RECEIVED);
  EXPECT_EQ(store_.events().size(), 1u);
  EXPECT_EQ(History(f.id).size(), 1u);

  // Ids are normalized: lower case, no dash.
  std::string typed = absl::AsciiStrToLower(absl::StrReplaceAll(f.id, {{"-", ""}}));
  get.set_id(typed);
  auto own = desk_->GetComplaint(Operator(kBogor), get);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->complaint().id(), f.id);
  get.set_id("not-a-code");
  EXPECT_THAT(Fields(desk_->GetComplaint(Operator(kBogor), get).status()), ElementsAre("id"));
  get.set_id(NewTrackingCode());
  EXPECT_EQ(desk_->GetComplaint(Operator(kBogor), get).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ComplaintsTest, WrongSecretAndUnknownCodeLookTheSame) {
  Filed f = CaseIn(v1::STATE_RESPONDED);
  const v1::ComplaintRecord before = Stored(f.id);
  const size_t events = store_.events().size();

  v1::TrackComplaintRequest wrong_secret;
  wrong_secret.set_tracking_code(f.id);
  wrong_secret.set_secret(NewSecret());
  auto a = desk_->TrackComplaint(Identity::Public(), wrong_secret).status();
  const std::string unknown = NewTrackingCode();
  v1::TrackComplaintRequest unknown_code;
  unknown_code.set_tracking_code(unknown);
  unknown_code.set_secret(f.secret);
  auto b = desk_->TrackComplaint(Identity::Public(), unknown_code).status();
  EXPECT_EQ(a.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(absl::StrReplaceAll(a.message(), {{f.id, "<code>"}}),
            absl::StrReplaceAll(b.message(), {{unknown, "<code>"}}));
  wrong_secret.set_secret("garbage");
  EXPECT_EQ(desk_->TrackComplaint(Identity::Public(), wrong_secret).status().code(),
            absl::StatusCode::kNotFound);

  v1::ReplyToComplaintRequest reply;
  reply.set_tracking_code(f.id);
  reply.set_secret(NewSecret());
  reply.set_message("Coba-coba");
  EXPECT_EQ(desk_->ReplyToComplaint(Identity::Public(), reply).status().code(),
            absl::StatusCode::kNotFound);
  v1::RateComplaintRequest rate;
  rate.set_tracking_code(unknown);
  rate.set_secret(f.secret);
  rate.set_rating(1);
  EXPECT_EQ(desk_->RateComplaint(Identity::Public(), rate).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Stored(f.id).SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(store_.events().size(), events);

  // The right secret as typed by a person: lower case, without dashes.
  v1::TrackComplaintRequest typed;
  typed.set_tracking_code(absl::AsciiStrToLower(f.id));
  typed.set_secret(absl::AsciiStrToLower(absl::StrReplaceAll(f.secret, {{"-", ""}})));
  auto tracked = desk_->TrackComplaint(Identity::Public(), typed);
  ASSERT_TRUE(tracked.ok()) << tracked.status();
  EXPECT_EQ(tracked->complaint().id(), f.id);
}

// ---------------------------------------------------------------------------------------
// 10. Forwarding

TEST_F(ComplaintsTest, ForwardingHandsTheCaseToAnotherAgency) {
  Filed f = CaseIn(v1::STATE_VERIFIED, v1::CONFIDENTIALITY_SECRET);
  clock_.Set(Wib(2026, 4, 7, 10, 0, 0));

  v1::ForwardComplaintRequest same;
  same.set_id(f.id);
  same.set_to_agency_id(kBogor);
  same.set_reason("Salah unit");
  auto status = desk_->ForwardComplaint(AgencyAdmin(kBogor), same).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), ElementsAre("to_agency_id"));
  same.set_to_agency_id("kota-tidak-ada");
  EXPECT_THAT(Fields(desk_->ForwardComplaint(AgencyAdmin(kBogor), same).status()),
              ElementsAre("to_agency_id"));
  same.set_to_agency_id(kPadang);
  same.set_to_unit_id(kMakassarUnit);  // not a unit of padang-pariaman
  EXPECT_THAT(Fields(desk_->ForwardComplaint(AgencyAdmin(kBogor), same).status()),
              ElementsAre("to_unit_id"));
  same.clear_to_unit_id();
  same.clear_reason();
  EXPECT_THAT(Fields(desk_->ForwardComplaint(AgencyAdmin(kBogor), same).status()),
              ElementsAre("reason"));
  EXPECT_EQ(Case(f.id).revision(), 2);

  v1::ForwardComplaintRequest forward;
  forward.set_id(f.id);
  forward.set_to_agency_id(kPadang);
  forward.set_reason("Akta kelahiran kewenangan Disdukcapil Padang Pariaman");
  auto forwarded = desk_->ForwardComplaint(AgencyAdmin(kBogor), forward);
  ASSERT_TRUE(forwarded.ok()) << forwarded.status();
  // The forwarding agency gets a non-handler's view.
  EXPECT_TRUE(forwarded->complaint().identity_withheld());
  EXPECT_FALSE(forwarded->complaint().has_complainant());
  v1::Complaint c = Case(f.id);
  EXPECT_EQ(c.id(), f.id);
  EXPECT_EQ(c.state(), v1::STATE_FORWARDED);
  EXPECT_EQ(c.agency_id(), kPadang);
  EXPECT_EQ(c.unit_id(), "");
  EXPECT_THAT(c.previous_agency_ids(), ElementsAre(kBogor));
  EXPECT_EQ(c.standard_version_id(), "");
  EXPECT_EQ(T(c.deadlines().dispose_by()), EndWib(2026, 4, 10));  // 3 wd of forwarding
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 4, 10));
  auto events = EventsOf(f.id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].action(), "ForwardComplaint");
  EXPECT_EQ(events[2].agency_id(), kPadang);
  EXPECT_EQ(events[2].previous_agency_id(), kBogor);
  auto history = History(f.id);
  EXPECT_EQ(history.back().to_agency_id(), kPadang);
  EXPECT_EQ(history.back().actor_agency_id(), kBogor);

  v1::GetComplaintRequest get;
  get.set_id(f.id);
  EXPECT_EQ(desk_->GetComplaint(AgencyAdmin(kBogor), get).status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::DisposeComplaintRequest dispose;
  dispose.set_id(f.id);
  dispose.set_unit_id(kPadangUnit);
  EXPECT_EQ(desk_->DisposeComplaint(AgencyAdmin(kBogor), dispose).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto padang_view = desk_->GetComplaint(Operator(kPadang), get);
  ASSERT_TRUE(padang_view.ok()) << padang_view.status();
  EXPECT_EQ(padang_view->complaint().complainant().name(), kName);  // the new handler

  v1::ListComplaintsRequest bogor_inbox;
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), bogor_inbox, 10), IsEmpty());
  EXPECT_THAT(ListAll(AgencyAdmin(kPadang), bogor_inbox, 10), ElementsAre(f.id));

  // The new agency disposes to one of its own units.
  dispose.clear_unit_id();
  EXPECT_THAT(Fields(desk_->DisposeComplaint(AgencyAdmin(kPadang), dispose).status()),
              ElementsAre("unit_id"));  // no unit yet
  dispose.set_unit_id(kBogorUnit);
  auto wrong_unit = desk_->DisposeComplaint(AgencyAdmin(kPadang), dispose).status();
  EXPECT_EQ(wrong_unit.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(wrong_unit), ElementsAre("unit_id"));
  dispose.set_unit_id(kPadangUnit);
  auto disposed = desk_->DisposeComplaint(AgencyAdmin(kPadang), dispose);
  ASSERT_TRUE(disposed.ok()) << disposed.status();
  EXPECT_EQ(disposed->complaint().state(), v1::STATE_DISPOSED);
  EXPECT_EQ(disposed->complaint().unit_id(), kPadangUnit);
  EXPECT_EQ(disposed->complaint().agency_id(), kPadang);
  // Default response time (5 wd) since the new agency's unit published none for this case.
  EXPECT_EQ(T(disposed->complaint().deadlines().respond_by()), EndWib(2026, 4, 14));
  // Forwarding dropped the old agency's resolution deadline: the new one runs 60 calendar
  // days from the new agency's disposition (Tue 7 April + 60 days).
  EXPECT_EQ(T(disposed->complaint().deadlines().resolve_by()), EndWib(2026, 6, 6));
}

TEST_F(ComplaintsTest, ForwardingToAUnitPlansInThatUnitsZone) {
  Filed f = FileCase();
  clock_.Set(Wib(2026, 4, 7, 10, 0, 0));
  v1::Complaint c = Forward(f.id, kMakassar, kMakassarUnit);
  EXPECT_EQ(Case(f.id).state(), v1::STATE_FORWARDED);
  EXPECT_EQ(Case(f.id).unit_id(), kMakassarUnit);
  EXPECT_EQ(Case(f.id).time_zone(), common::v1::TIME_ZONE_WITA);
  EXPECT_EQ(T(Case(f.id).deadlines().dispose_by()), Wita(2026, 4, 10, 23, 59, 59));
  // Its routed unit is the default for disposition.
  v1::DisposeComplaintRequest dispose;
  dispose.set_id(f.id);
  auto disposed = desk_->DisposeComplaint(Operator(kMakassar), dispose);
  ASSERT_TRUE(disposed.ok()) << disposed.status();
  EXPECT_EQ(disposed->complaint().unit_id(), kMakassarUnit);
  EXPECT_EQ(T(disposed->complaint().deadlines().respond_by()), Wita(2026, 4, 14, 23, 59, 59));
}

// ---------------------------------------------------------------------------------------
// 11. Archive

TEST_F(ComplaintsTest, ArchiveAsDuplicateLinksTheOriginal) {
  Filed original = FileCase();
  Filed duplicate = FileCase();
  v1::ArchiveComplaintRequest req;
  req.set_id(duplicate.id);
  req.set_reason(v1::ARCHIVE_REASON_DUPLICATE);
  auto missing = desk_->ArchiveComplaint(AgencyAdmin(kBogor), req).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(missing), ElementsAre("duplicate_of"));
  req.set_duplicate_of("bukan-kode");
  auto malformed = desk_->ArchiveComplaint(AgencyAdmin(kBogor), req).status();
  EXPECT_EQ(malformed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(malformed), ElementsAre("duplicate_of"));
  req.set_duplicate_of(NewTrackingCode());
  auto unknown = desk_->ArchiveComplaint(AgencyAdmin(kBogor), req).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(unknown), ElementsAre("duplicate_of"));
  req.set_duplicate_of(duplicate.id);
  EXPECT_THAT(Fields(desk_->ArchiveComplaint(AgencyAdmin(kBogor), req).status()),
              ElementsAre("duplicate_of"));  // itself
  req.set_reason(v1::ARCHIVE_REASON_NO_RESPONSE);
  req.clear_duplicate_of();
  auto by_hand = desk_->ArchiveComplaint(AgencyAdmin(kBogor), req).status();
  EXPECT_EQ(by_hand.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(by_hand), ElementsAre("reason"));
  req.set_reason(v1::ARCHIVE_REASON_UNSPECIFIED);
  EXPECT_THAT(Fields(desk_->ArchiveComplaint(AgencyAdmin(kBogor), req).status()),
              ElementsAre("reason"));
  req.set_reason(v1::ARCHIVE_REASON_UNCLEAR);
  req.set_duplicate_of(original.id);
  EXPECT_THAT(Fields(desk_->ArchiveComplaint(AgencyAdmin(kBogor), req).status()),
              ElementsAre("duplicate_of"));
  EXPECT_EQ(Case(duplicate.id).revision(), 1);
  EXPECT_EQ(store_.events().size(), 2u);

  req.set_reason(v1::ARCHIVE_REASON_DUPLICATE);
  req.set_duplicate_of(absl::AsciiStrToLower(original.id));
  req.set_note("Sama dengan laporan sebelumnya");
  auto archived = desk_->ArchiveComplaint(Operator(kBogor), req);
  ASSERT_TRUE(archived.ok()) << archived.status();
  EXPECT_EQ(archived->complaint().state(), v1::STATE_ARCHIVED);
  EXPECT_EQ(archived->complaint().archive_reason(), v1::ARCHIVE_REASON_DUPLICATE);
  EXPECT_EQ(archived->complaint().duplicate_of(), original.id);
  EXPECT_FALSE(archived->complaint().deadlines().has_next());
  auto events = EventsOf(duplicate.id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].archive_reason(), v1::ARCHIVE_REASON_DUPLICATE);
  EXPECT_EQ(History(duplicate.id).back().reason(), "Sama dengan laporan sebelumnya");
  EXPECT_EQ(Case(original.id).state(), v1::STATE_RECEIVED);
}

// ---------------------------------------------------------------------------------------
// 12. Concurrency

TEST_F(ComplaintsTest, StaleExpectedRevisionIsAbortedAndWritesNothing) {
  Filed f = FileCase();
  v1::VerifyComplaintRequest verify;
  verify.set_id(f.id);
  verify.set_expected_revision(1);
  ASSERT_TRUE(desk_->VerifyComplaint(AgencyAdmin(kBogor), verify).ok());
  v1::DisposeComplaintRequest dispose;
  dispose.set_id(f.id);
  dispose.set_expected_revision(1);
  auto stale = desk_->DisposeComplaint(AgencyAdmin(kBogor), dispose).status();
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Case(f.id).revision(), 2);
  EXPECT_EQ(Case(f.id).state(), v1::STATE_VERIFIED);
  EXPECT_EQ(store_.events().size(), 2u);
  dispose.set_expected_revision(-1);
  EXPECT_THAT(Fields(desk_->DisposeComplaint(AgencyAdmin(kBogor), dispose).status()),
              ElementsAre("expected_revision"));
  dispose.set_expected_revision(2);
  auto fresh = desk_->DisposeComplaint(AgencyAdmin(kBogor), dispose);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->complaint().revision(), 3);
}

template <typename Fn>
std::vector<absl::Status> RunConcurrently(int n, Fn fn) {
  std::vector<absl::Status> results(n);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      results[i] = fn(i);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  return results;
}

int CountCode(const std::vector<absl::Status>& results, absl::StatusCode code) {
  return static_cast<int>(std::count_if(results.begin(), results.end(),
                                        [&](const absl::Status& s) { return s.code() == code; }));
}

TEST_F(ComplaintsTest, ConcurrentFollowUpsWithoutRevisionAreAllApplied) {
  Filed f = CaseIn(v1::STATE_IN_PROGRESS);
  const v1::ComplaintRecord before = Stored(f.id);
  auto results = RunConcurrently(8, [&](int i) {
    v1::PostFollowUpRequest req;
    req.set_id(f.id);
    req.set_message(absl::StrCat("Tindak lanjut ", i));
    return desk_->PostFollowUp(Operator(kBogor), req).status();
  });
  EXPECT_EQ(CountCode(results, absl::StatusCode::kOk), 8);
  const v1::ComplaintRecord after = Stored(f.id);
  EXPECT_EQ(after.complaint().follow_up_count(), 8);
  EXPECT_EQ(after.complaint().revision(), before.complaint().revision() + 8);
  EXPECT_EQ(after.last_sequence(), before.last_sequence() + 8);
  auto history = History(f.id);
  ASSERT_EQ(history.size(), static_cast<size_t>(before.last_sequence() + 8));
  std::set<std::string> messages;
  for (size_t i = 0; i < history.size(); ++i) {
    EXPECT_EQ(history[i].sequence(), static_cast<int>(i) + 1);
    if (i >= static_cast<size_t>(before.last_sequence())) {
      EXPECT_EQ(history[i].action(), "PostFollowUp");
      messages.insert(history[i].message());
    }
  }
  EXPECT_EQ(messages.size(), 8u);
  EXPECT_EQ(EventsOf(f.id).size(), history.size());
}

TEST_F(ComplaintsTest, ConcurrentVerificationsSucceedOnce) {
  Filed f = FileCase();
  auto results = RunConcurrently(8, [&](int) {
    v1::VerifyComplaintRequest req;
    req.set_id(f.id);
    return desk_->VerifyComplaint(AgencyAdmin(kBogor), req).status();
  });
  EXPECT_EQ(CountCode(results, absl::StatusCode::kOk), 1);
  EXPECT_EQ(CountCode(results, absl::StatusCode::kFailedPrecondition), 7);
  EXPECT_EQ(Case(f.id).revision(), 2);
  EXPECT_EQ(History(f.id).size(), 2u);
  EXPECT_EQ(EventsOf(f.id).size(), 2u);
}

TEST_F(ComplaintsTest, ConcurrentWritesWithOneExpectedRevisionSucceedOnce) {
  Filed f = CaseIn(v1::STATE_IN_PROGRESS);
  const int64_t revision = Case(f.id).revision();
  auto results = RunConcurrently(8, [&](int i) {
    v1::PostFollowUpRequest req;
    req.set_id(f.id);
    req.set_expected_revision(revision);
    req.set_message(absl::StrCat("Tindak lanjut ", i));
    return desk_->PostFollowUp(Operator(kBogor), req).status();
  });
  EXPECT_EQ(CountCode(results, absl::StatusCode::kOk), 1);
  EXPECT_EQ(CountCode(results, absl::StatusCode::kAborted), 7);
  EXPECT_EQ(Case(f.id).revision(), revision + 1);
  EXPECT_EQ(Case(f.id).follow_up_count(), 1);
}

// ---------------------------------------------------------------------------------------
// 13. The deadline scanner

TEST_F(ComplaintsTest, ScannerEscalatesOneSecondAfterTheDeadline) {
  Filed f = FileCase();  // verify by Thu 9 April 23:59:59 WIB
  clock_.Set(EndWib(2026, 4, 9));
  auto none = desk_->ScanOnce();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0);
  clock_.Set(EndWib(2026, 4, 9) + absl::Milliseconds(999));
  EXPECT_EQ(*desk_->ScanOnce(), 0);
  EXPECT_EQ(Case(f.id).state(), v1::STATE_RECEIVED);
  EXPECT_EQ(EventsOf(f.id).size(), 1u);

  clock_.Set(Wib(2026, 4, 10, 0, 0, 0));
  auto one = desk_->ScanOnce();
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, 1);
  v1::Complaint c = Case(f.id);
  EXPECT_EQ(c.state(), v1::STATE_ESCALATED);
  EXPECT_FALSE(c.deadlines().has_next());
  auto history = History(f.id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].action(), "Escalate");
  EXPECT_EQ(history[1].actor_kind(), v1::ACTOR_KIND_SYSTEM);
  EXPECT_EQ(history[1].actor(), "scanner");
  EXPECT_EQ(history[1].actor_agency_id(), "");
  EXPECT_EQ(history[1].from_state(), v1::STATE_RECEIVED);
  EXPECT_EQ(history[1].to_state(), v1::STATE_ESCALATED);
  EXPECT_THAT(history[1].reason(), HasSubstr("verification deadline"));
  auto events = EventsOf(f.id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[1].deadline_missed());
  EXPECT_EQ(events[1].to_state(), v1::STATE_ESCALATED);
  EXPECT_EQ(*desk_->ScanOnce(), 0);
  EXPECT_EQ(History(f.id).size(), 2u);
}

TEST_F(ComplaintsTest, ScannerAutoCompletesAfterTenSilentWorkingDays) {
  Filed f = CaseIn(v1::STATE_RESPONDED);       // follow-up Mon 6 April
  const absl::Time due = EndWib(2026, 4, 20);  // 7, 8, 9, 10, 13, 14, 15, 16, 17, 20
  EXPECT_EQ(T(Case(f.id).deadlines().auto_complete_at()), due);
  clock_.Set(due);
  EXPECT_EQ(*desk_->ScanOnce(), 0);
  EXPECT_EQ(Case(f.id).state(), v1::STATE_RESPONDED);
  clock_.Set(due + absl::Seconds(1));
  EXPECT_EQ(*desk_->ScanOnce(), 1);
  v1::Complaint c = Case(f.id);
  EXPECT_EQ(c.state(), v1::STATE_COMPLETED);
  EXPECT_EQ(T(c.complete_time()), due + absl::Seconds(1));
  // Reopen window: 10 working days of Tue 21 April -> 6 May (1 May is a holiday).
  EXPECT_EQ(T(c.deadlines().reopen_until()), EndWib(2026, 5, 6));
  auto history = History(f.id);
  EXPECT_EQ(history.back().action(), "AutoComplete");
  EXPECT_EQ(history.back().actor_kind(), v1::ACTOR_KIND_SYSTEM);
  EXPECT_EQ(history.back().from_state(), v1::STATE_RESPONDED);
  auto events = EventsOf(f.id);
  EXPECT_EQ(events.back().action(), "AutoComplete");
  EXPECT_EQ(events.back().to_state(), v1::STATE_COMPLETED);
  // The complainant may still rate it.
  v1::RateComplaintRequest rate;
  rate.set_tracking_code(f.id);
  rate.set_secret(f.secret);
  rate.set_rating(3);
  EXPECT_TRUE(desk_->RateComplaint(Identity::Public(), rate).ok());
}

TEST_F(ComplaintsTest, ScannerArchivesOnHoldAfterThirtyDays) {
  Filed f = CaseIn(v1::STATE_ON_HOLD);  // held Mon 6 April
  clock_.Set(EndWib(2026, 5, 6));
  EXPECT_EQ(*desk_->ScanOnce(), 0);
  clock_.Set(Wib(2026, 5, 7, 0, 0, 0));
  EXPECT_EQ(*desk_->ScanOnce(), 1);
  v1::Complaint c = Case(f.id);
  EXPECT_EQ(c.state(), v1::STATE_ARCHIVED);
  EXPECT_EQ(c.archive_reason(), v1::ARCHIVE_REASON_NO_RESPONSE);
  auto history = History(f.id);
  EXPECT_EQ(history.back().action(), "AutoArchive");
  EXPECT_EQ(history.back().actor_kind(), v1::ACTOR_KIND_SYSTEM);
  EXPECT_EQ(EventsOf(f.id).back().archive_reason(), v1::ARCHIVE_REASON_NO_RESPONSE);
}

class ScannerTest : public ComplaintsTest {
 protected:
  // Mixed files n kota-bogor cases in rotating states and returns them with the state the
  // scanner must leave each in once every deadline has passed.
  std::vector<std::pair<Filed, v1::State>> Mixed(int n) {
    const v1::State states[] = {v1::STATE_RECEIVED, v1::STATE_ON_HOLD,     v1::STATE_VERIFIED,
                                v1::STATE_DISPOSED, v1::STATE_IN_PROGRESS, v1::STATE_RESPONDED,
                                v1::STATE_FORWARDED};
    std::vector<std::pair<Filed, v1::State>> out;
    for (int i = 0; i < n; ++i) {
      v1::State s = states[i % 7];
      v1::State expect = s == v1::STATE_ON_HOLD     ? v1::STATE_ARCHIVED
                         : s == v1::STATE_RESPONDED ? v1::STATE_COMPLETED
                                                    : v1::STATE_ESCALATED;
      out.emplace_back(CaseIn(s), expect);
      clock_.Advance(absl::Minutes(1));
    }
    return out;
  }
};

TEST_F(ScannerTest, OneScanCatchesUpAfterNinetyDaysDown) {
  auto cases = Mixed(50);
  std::map<std::string, size_t> history_before;
  for (const auto& [f, expect] : cases) history_before[f.id] = History(f.id).size();
  clock_.Advance(absl::Hours(24 * 90));
  ComplaintOptions options;
  options.scan_batch = 7;  // several rounds of the deadline queue
  auto desk = NewDesk(options);
  auto applied = desk->ScanOnce();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 50);
  for (const auto& [f, expect] : cases) {
    EXPECT_EQ(Case(f.id).state(), expect) << f.id;
    EXPECT_EQ(History(f.id).size(), history_before[f.id] + 1) << f.id;
    EXPECT_EQ(History(f.id).back().actor_kind(), v1::ACTOR_KIND_SYSTEM);
  }
  EXPECT_EQ(*desk->ScanOnce(), 0);
  EXPECT_EQ(*desk_->ScanOnce(), 0);
}

TEST_F(ScannerTest, CasesThatFailDoNotHoldBackTheOnesBehindThem) {
  // Nine RESPONDED cases fall due first; their stored time zone is corrupt, so the scanner
  // cannot compute their reopen window and fails on each. With a batch of 4 they fill the
  // head of the deadline queue for three rounds; the cases behind them must still be handled.
  std::vector<std::string> broken;
  for (int i = 0; i < 9; ++i) {
    Filed f = CaseIn(v1::STATE_RESPONDED);
    v1::ComplaintRecord stored = Stored(f.id);
    CaseWrite w;
    w.before = stored;
    stored.mutable_complaint()->set_time_zone(static_cast<common::v1::TimeZone>(99));
    stored.mutable_complaint()->set_revision(w.before->complaint().revision() + 1);
    stored.set_last_sequence(w.before->last_sequence() + 1);
    w.after = stored;
    w.entry.set_sequence(stored.last_sequence());
    ASSERT_EQ(store_.Commit(w)->outcome, CommitResult::Outcome::kCommitted);
    broken.push_back(f.id);
    clock_.Advance(absl::Minutes(1));
  }
  auto cases = Mixed(10);
  clock_.Advance(absl::Hours(24 * 90));
  ComplaintOptions options;
  options.scan_batch = 4;
  auto desk = NewDesk(options);
  auto applied = desk->ScanOnce();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 10);
  for (const auto& [f, expect] : cases) EXPECT_EQ(Case(f.id).state(), expect) << f.id;
  for (const auto& id : broken) EXPECT_EQ(Case(id).state(), v1::STATE_RESPONDED) << id;
}

TEST_F(ScannerTest, TwoReplicasScanningTogetherActOnEveryCaseOnce) {
  auto cases = Mixed(70);
  std::map<std::string, size_t> events_before;
  for (const auto& [f, expect] : cases) events_before[f.id] = EventsOf(f.id).size();
  clock_.Advance(absl::Hours(24 * 90));
  ComplaintOptions options;
  options.scan_batch = 5;
  auto replica_a = NewDesk(options);
  auto replica_b = NewDesk(options);
  std::atomic<int> applied{0};
  auto results = RunConcurrently(2, [&](int i) -> absl::Status {
    auto n = (i == 0 ? replica_a : replica_b)->ScanOnce();
    if (!n.ok()) return n.status();
    applied += *n;
    return absl::OkStatus();
  });
  EXPECT_EQ(CountCode(results, absl::StatusCode::kOk), 2);
  EXPECT_EQ(applied.load(), 70);
  for (const auto& [f, expect] : cases) {
    EXPECT_EQ(Case(f.id).state(), expect) << f.id;
    auto events = EventsOf(f.id);
    EXPECT_EQ(events.size(), events_before[f.id] + 1) << f.id;
    int scanner_entries = 0;
    for (const auto& e : History(f.id)) scanner_entries += e.actor_kind() == v1::ACTOR_KIND_SYSTEM;
    EXPECT_EQ(scanner_entries, 1) << f.id;
  }
}

TEST_F(ComplaintsTest, ResumeBringsAnEscalatedCaseBackWithNewDeadlines) {
  Filed f = CaseIn(v1::STATE_IN_PROGRESS);  // disposed Mon 6 April: respond by Thu 9 April
  EXPECT_EQ(T(Case(f.id).deadlines().respond_by()), EndWib(2026, 4, 9));
  clock_.Set(Wib(2026, 4, 10, 0, 0, 0));
  EXPECT_EQ(*desk_->ScanOnce(), 1);
  ASSERT_EQ(Case(f.id).state(), v1::STATE_ESCALATED);
  EXPECT_THAT(History(f.id).back().reason(), HasSubstr("follow-up deadline"));
  EXPECT_TRUE(EventsOf(f.id).back().deadline_missed());

  clock_.Set(Wib(2026, 4, 10, 10, 0, 0));
  v1::ResumeComplaintRequest resume;
  resume.set_id(f.id);
  resume.set_resolve_within_working_days(0);
  EXPECT_THAT(Fields(desk_->ResumeComplaint(Coordinator(), resume).status()),
              ElementsAre("resolve_within_working_days"));
  resume.set_resolve_within_working_days(10);
  EXPECT_EQ(desk_->ResumeComplaint(Operator(kBogor), resume).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->ResumeComplaint(AgencyAdmin(kPadang), resume).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(desk_->ResumeComplaint(Identity::Public(), resume).status().code(),
            absl::StatusCode::kUnauthenticated);
  resume.set_note("Koordinator meminta penyelesaian dalam 10 hari kerja");
  auto resumed = desk_->ResumeComplaint(Coordinator(), resume);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  v1::Complaint c = resumed->complaint();
  EXPECT_EQ(c.state(), v1::STATE_IN_PROGRESS);
  EXPECT_EQ(T(c.deadlines().resolve_by()), EndWib(2026, 4, 24));  // 10 wd of Fri 10 April
  EXPECT_EQ(T(c.deadlines().respond_by()), EndWib(2026, 4, 15));  // the standard's 3 wd
  EXPECT_EQ(T(c.deadlines().next()), EndWib(2026, 4, 15));
  EXPECT_FALSE(c.overdue());
  auto history = History(f.id);
  EXPECT_EQ(history.back().action(), "ResumeComplaint");
  EXPECT_EQ(history.back().from_state(), v1::STATE_ESCALATED);
  EXPECT_EQ(history.back().to_state(), v1::STATE_IN_PROGRESS);
  EXPECT_EQ(history.back().actor_kind(), v1::ACTOR_KIND_COORDINATOR);
  EXPECT_EQ(*desk_->ScanOnce(), 0);
  // The handling agency's admin may resume too.
  Escalate(f.id);
  EXPECT_TRUE(desk_->ResumeComplaint(AgencyAdmin(kBogor), resume).ok());
}

TEST_F(ComplaintsTest, CoordinatorMayDisposeAnEscalatedCaseToAnotherUnit) {
  Filed f = CaseIn(v1::STATE_IN_PROGRESS);
  v1::Complaint c = Escalate(f.id);  // by hand: no deadline was missed
  EXPECT_EQ(c.state(), v1::STATE_ESCALATED);
  EXPECT_FALSE(EventsOf(f.id).back().deadline_missed());
  EXPECT_EQ(History(f.id).back().reason(), "Unit tidak menanggapi");
  v1::DisposeComplaintRequest dispose;
  dispose.set_id(f.id);
  dispose.set_unit_id(kPadangUnit);
  EXPECT_THAT(Fields(desk_->DisposeComplaint(Coordinator(), dispose).status()),
              ElementsAre("unit_id"));
  dispose.set_unit_id(kBogorUnit2);
  auto disposed = desk_->DisposeComplaint(Coordinator(), dispose);
  ASSERT_TRUE(disposed.ok()) << disposed.status();
  EXPECT_EQ(disposed->complaint().state(), v1::STATE_DISPOSED);
  EXPECT_EQ(disposed->complaint().unit_id(), kBogorUnit2);
  EXPECT_EQ(History(f.id).back().actor_kind(), v1::ACTOR_KIND_COORDINATOR);
  // Outside an escalation the coordinator does not dispose.
  EXPECT_EQ(desk_->DisposeComplaint(Coordinator(), dispose).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Start(f.id).state(), v1::STATE_IN_PROGRESS);
}

TEST_F(ComplaintsTest, OverdueIsReportedAsOfTheRead) {
  Filed f = FileCase(v1::CONFIDENTIALITY_PUBLIC);
  v1::GetComplaintRequest get;
  get.set_id(f.id);
  EXPECT_FALSE(desk_->GetComplaint(Operator(kBogor), get)->complaint().overdue());
  clock_.Set(EndWib(2026, 4, 9) + absl::Milliseconds(500));
  EXPECT_FALSE(desk_->GetComplaint(Operator(kBogor), get)->complaint().overdue());
  clock_.Set(Wib(2026, 4, 10));
  EXPECT_TRUE(desk_->GetComplaint(Operator(kBogor), get)->complaint().overdue());
  v1::TrackComplaintRequest track;
  track.set_tracking_code(f.id);
  track.set_secret(f.secret);
  EXPECT_TRUE(desk_->TrackComplaint(Identity::Public(), track)->complaint().overdue());
  // A late verification is recorded as such on its event.
  Verify(f.id);
  EXPECT_TRUE(EventsOf(f.id).back().deadline_missed());
}

// ---------------------------------------------------------------------------------------
// 14. Listings

class ListingTest : public ComplaintsTest {
 protected:
  static constexpr int kCases = 120;
  void SetUp() override {
    ComplaintsTest::SetUp();
    const absl::Time t0 = clock_.Now();
    for (int i = 0; i < kCases; ++i) {
      clock_.Set(t0 + absl::Minutes(i));
      auto req = Filing(kPbg, Conf(i));
      req.set_channel(IsSms(i) ? v1::CHANNEL_SMS : v1::CHANNEL_WEB);
      Filed f = File(req, IsSms(i) ? Sms() : Identity::Public());
      ids_.push_back(f.id);
      switch (StateOf(i)) {
        case v1::STATE_VERIFIED:
          Verify(f.id);
          break;
        case v1::STATE_IN_PROGRESS:
          Verify(f.id);
          Dispose(f.id);
          Start(f.id);
          break;
        case v1::STATE_ON_HOLD:
          Hold(f.id);
          break;
        default:
          break;
      }
    }
    ASSERT_EQ(ids_.size(), static_cast<size_t>(kCases));
  }
  static v1::State StateOf(int i) {
    const v1::State states[] = {v1::STATE_RECEIVED, v1::STATE_VERIFIED, v1::STATE_IN_PROGRESS,
                                v1::STATE_ON_HOLD};
    return states[i % 4];
  }
  static bool IsSms(int i) { return i % 2 == 0; }
  static v1::Confidentiality Conf(int i) {
    const v1::Confidentiality confs[] = {v1::CONFIDENTIALITY_PUBLIC, v1::CONFIDENTIALITY_SECRET,
                                         v1::CONFIDENTIALITY_ANONYMOUS};
    return confs[i % 3];
  }
  std::vector<std::string> Where(const std::function<bool(int)>& pred) {
    std::vector<std::string> out;
    for (int i = 0; i < kCases; ++i) {
      if (pred(i)) out.push_back(ids_[i]);
    }
    return out;
  }
  std::vector<std::string> ids_;
};

TEST_F(ListingTest, PagesReturnEveryCaseOnceInFilingOrder) {
  v1::ListComplaintsRequest req;
  auto agency = ListAll(AgencyAdmin(kBogor), req, 7);
  EXPECT_THAT(agency, ElementsAreArray(ids_));
  auto coordinator = ListAll(Coordinator(), req, 7);
  EXPECT_THAT(coordinator, ElementsAreArray(ids_));
  req.set_unit_id(kBogorUnit);
  EXPECT_THAT(ListAll(Operator(kBogor), req, 500), ElementsAreArray(ids_));
  // 17 full pages of 7 and a last one of 1 without a token: no empty page is offered.
  v1::ListComplaintsRequest page;
  page.mutable_page()->set_page_size(7);
  int pages = 0;
  for (;;) {
    auto resp = desk_->ListComplaints(AgencyAdmin(kBogor), page);
    ASSERT_TRUE(resp.ok()) << resp.status();
    ++pages;
    if (resp->next_page_token().empty()) {
      EXPECT_EQ(resp->complaints_size(), kCases % 7);
      break;
    }
    EXPECT_EQ(resp->complaints_size(), 7);
    page.mutable_page()->set_page_token(resp->next_page_token());
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(pages, kCases / 7 + 1);
}

TEST_F(ListingTest, FiltersSelectTheRightCases) {
  v1::ListComplaintsRequest req;
  req.add_states(v1::STATE_RECEIVED);
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), req, 7),
              ElementsAreArray(Where([](int i) { return StateOf(i) == v1::STATE_RECEIVED; })));
  EXPECT_THAT(ListAll(Coordinator(), req, 7),
              ElementsAreArray(Where([](int i) { return StateOf(i) == v1::STATE_RECEIVED; })));

  req.clear_states();
  req.add_states(v1::STATE_VERIFIED);
  req.add_states(v1::STATE_IN_PROGRESS);
  auto two_states = [](int i) {
    return StateOf(i) == v1::STATE_VERIFIED || StateOf(i) == v1::STATE_IN_PROGRESS;
  };
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), req, 7), ElementsAreArray(Where(two_states)));

  req.add_channels(v1::CHANNEL_WEB);
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), req, 7),
              ElementsAreArray(Where([&](int i) { return two_states(i) && !IsSms(i); })));

  v1::ListComplaintsRequest sms;
  sms.add_channels(v1::CHANNEL_SMS);
  sms.add_channels(v1::CHANNEL_EMAIL);
  EXPECT_THAT(ListAll(Operator(kBogor), sms, 7), ElementsAreArray(Where(IsSms)));

  v1::ListComplaintsRequest period;
  *period.mutable_filed_after() = Ts(Wib(2026, 4, 6, 9, 10, 0));
  *period.mutable_filed_before() = Ts(Wib(2026, 4, 6, 9, 20, 0));
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), period, 3),
              ElementsAreArray(Where([](int i) { return i >= 10 && i < 20; })));

  v1::ListComplaintsRequest by_service;
  by_service.set_service_id(kPbg);
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), by_service, 7), ElementsAreArray(ids_));
  by_service.set_service_id("layanan-lain");
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), by_service, 7), IsEmpty());
  EXPECT_THAT(ListAll(Identity::Public(), by_service, 7), IsEmpty());
  by_service.set_service_id("Bukan Slug!");
  EXPECT_THAT(Fields(desk_->ListComplaints(AgencyAdmin(kBogor), by_service).status()),
              ElementsAre("service_id"));

  v1::ListComplaintsRequest overdue;
  overdue.set_overdue_only(true);
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), overdue, 7), IsEmpty());
  // Fri 10 April: verification, disposition and follow-up deadlines (Thu 9) have passed; the
  // ON_HOLD cases have until 6 May.
  clock_.Set(Wib(2026, 4, 10, 0, 0, 1));
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), overdue, 7),
              ElementsAreArray(Where([](int i) { return StateOf(i) != v1::STATE_ON_HOLD; })));
  auto one = desk_->ListComplaints(AgencyAdmin(kBogor), overdue);
  ASSERT_TRUE(one.ok());
  ASSERT_GT(one->complaints_size(), 0);
  EXPECT_TRUE(one->complaints(0).overdue());
}

TEST_F(ListingTest, CallersSeeOnlyWhatTheyMay) {
  v1::ListComplaintsRequest other;
  other.set_agency_id(kPadang);
  EXPECT_EQ(desk_->ListComplaints(AgencyAdmin(kBogor), other).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(ListAll(AgencyAdmin(kPadang), {}, 50), IsEmpty());
  v1::ListComplaintsRequest unrouted;
  unrouted.set_unrouted(true);
  EXPECT_EQ(desk_->ListComplaints(Identity::Public(), unrouted).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(desk_->ListComplaints(Sms(), unrouted).status().code(),
            absl::StatusCode::kPermissionDenied);

  // Public: verified, non-SECRET cases only, in the public view.
  auto visible = [](int i) {
    return (StateOf(i) == v1::STATE_VERIFIED || StateOf(i) == v1::STATE_IN_PROGRESS) &&
           Conf(i) != v1::CONFIDENTIALITY_SECRET;
  };
  EXPECT_THAT(ListAll(Identity::Public(), {}, 7), ElementsAreArray(Where(visible)));
  // Channels and dashboards see what the public sees, never the full view.
  EXPECT_THAT(ListAll(Sms(), {}, 7), ElementsAreArray(Where(visible)));
  EXPECT_THAT(ListAll(Dashboard(), {}, 50), ElementsAreArray(Where(visible)));
  auto dashboard = desk_->ListComplaints(Dashboard(), {});
  ASSERT_TRUE(dashboard.ok());
  EXPECT_EQ(dashboard->complaints_size(), 0);
  EXPECT_GT(dashboard->public_complaints_size(), 0);
  v1::ListComplaintsRequest page;
  page.mutable_page()->set_page_size(500);
  auto all = desk_->ListComplaints(Identity::Public(), page);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->complaints_size(), 0);
  for (const auto& p : all->public_complaints()) {
    EXPECT_NE(p.confidentiality(), v1::CONFIDENTIALITY_SECRET);
    EXPECT_EQ(p.complainant_name(), p.confidentiality() == v1::CONFIDENTIALITY_PUBLIC ? kName : "");
  }
  const std::string bytes = all->SerializeAsString();
  for (const char* contact : {kPhone, kEmail, kAddress}) {
    EXPECT_FALSE(absl::StrContains(bytes, contact)) << contact;
  }
}

TEST_F(ListingTest, PageTokenBelongsToItsQuery) {
  v1::ListComplaintsRequest req;
  req.add_states(v1::STATE_RECEIVED);
  req.mutable_page()->set_page_size(7);
  auto first = desk_->ListComplaints(AgencyAdmin(kBogor), req);
  ASSERT_TRUE(first.ok());
  ASSERT_NE(first->next_page_token(), "");

  v1::ListComplaintsRequest changed = req;
  changed.clear_states();
  changed.add_states(v1::STATE_VERIFIED);
  changed.mutable_page()->set_page_token(first->next_page_token());
  auto status = desk_->ListComplaints(AgencyAdmin(kBogor), changed).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), ElementsAre("page.page_token"));

  v1::ListComplaintsRequest overdue = req;
  overdue.set_overdue_only(true);
  overdue.mutable_page()->set_page_token(first->next_page_token());
  EXPECT_THAT(Fields(desk_->ListComplaints(AgencyAdmin(kBogor), overdue).status()),
              ElementsAre("page.page_token"));
  v1::ListComplaintsRequest same = req;
  same.mutable_page()->set_page_token(first->next_page_token());
  same.mutable_page()->set_page_size(3);  // the page size may change
  EXPECT_TRUE(desk_->ListComplaints(AgencyAdmin(kBogor), same).ok());
  // Nor does another caller's token work.
  EXPECT_THAT(Fields(desk_->ListComplaints(Coordinator(), same).status()),
              ElementsAre("page.page_token"));
  same.mutable_page()->set_page_token("not-a-token");
  EXPECT_THAT(Fields(desk_->ListComplaints(AgencyAdmin(kBogor), same).status()),
              ElementsAre("page.page_token"));
}

TEST_F(ComplaintsTest, SparseFilterContinuesPastTheScanBudget) {
  // More cases than one listing call scans: the rare EMAIL ones are still all found, once.
  std::vector<std::string> email;
  auto file_email = [&] {
    auto req = Filing();
    req.set_channel(v1::CHANNEL_EMAIL);
    email.push_back(File(req, Channel("email-gateway")).id);
  };
  file_email();
  for (int i = 0; i < 5200; ++i) {
    clock_.Advance(absl::Seconds(1));
    if (i == 2600) file_email();
    FileCase();
  }
  file_email();
  v1::ListComplaintsRequest req;
  req.add_channels(v1::CHANNEL_EMAIL);
  EXPECT_THAT(ListAll(Coordinator(), req, 2), ElementsAreArray(email));
  EXPECT_THAT(ListAll(AgencyAdmin(kBogor), req, 50), ElementsAreArray(email));
}

// Issue #16: every event names who may follow it (the feed's audience), and a list by update
// time waits until the updated index holds every case.
TEST_F(ComplaintsTest, EventsCarryTheirAudienceAndUpdatedSinceWaitsForTheIndex) {
  auto filed = desk_->FileComplaint(Sms(), Filing(kPbg, v1::CONFIDENTIALITY_PUBLIC));
  ASSERT_TRUE(filed.ok()) << filed.status();
  const std::string id = filed->tracking_code();
  ASSERT_FALSE(store_.events().empty());
  EXPECT_EQ(store_.events().back().audience().channel_name(), "sms-1708");
  EXPECT_FALSE(store_.events().back().audience().publicly_listed());  // not verified yet
  Verify(id);
  EXPECT_EQ(store_.events().back().complaint_id(), id);
  EXPECT_EQ(store_.events().back().audience().channel_name(), "sms-1708");
  EXPECT_TRUE(store_.events().back().audience().publicly_listed());

  v1::ListComplaintsRequest req;
  req.mutable_updated_since()->set_seconds(1775000000);
  bool ready = false;
  ComplaintOptions options;
  options.updated_index_ready = [&ready] { return ready; };
  std::unique_ptr<ComplaintDesk> desk = NewDesk(options);
  EXPECT_EQ(desk->ListComplaints(Coordinator(), req).status().code(),
            absl::StatusCode::kUnavailable);
  ready = true;
  EXPECT_TRUE(desk->ListComplaints(Coordinator(), req).ok());
  req.mutable_updated_since()->set_nanos(-1);
  auto bad = desk->ListComplaints(Coordinator(), req);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("updated_since"));
}

TEST_F(ComplaintsTest, AListReadsAtMostItsBudgetAndContinuesWithAToken) {
  ComplaintOptions options;
  options.list_scan_budget = 100;
  desk_ = NewDesk(options);
  std::vector<std::string> ids;
  for (int i = 0; i < 430; ++i) {
    clock_.Advance(absl::Seconds(1));
    ids.push_back(FileCase().id);
  }
  // A filter matching nothing: every call reads at most 100 entries and hands on a token;
  // five calls cover the 430 cases and the last one says there is nothing more.
  v1::ListComplaintsRequest none;
  none.add_channels(v1::CHANNEL_COMPLAINT_BOX);
  int calls = 0;
  for (;;) {
    const int64_t before = store_.scanned();
    auto resp = desk_->ListComplaints(Coordinator(), none);
    ASSERT_TRUE(resp.ok()) << resp.status();
    ++calls;
    EXPECT_LE(store_.scanned() - before, 100);
    EXPECT_EQ(resp->complaints_size(), 0);
    if (resp->next_page_token().empty()) break;
    none.mutable_page()->set_page_token(resp->next_page_token());
    ASSERT_LT(calls, 20);
  }
  EXPECT_EQ(calls, 5);
  // Large pages stay within the budget too, and following the tokens lists every case once.
  EXPECT_THAT(ListAll(Coordinator(), {}, 500), ElementsAreArray(ids));
  v1::ListComplaintsRequest big;
  big.mutable_page()->set_page_size(500);
  const int64_t before = store_.scanned();
  auto page = desk_->ListComplaints(Coordinator(), big);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->complaints_size(), 100);
  EXPECT_LE(store_.scanned() - before, 100);
  EXPECT_NE(page->next_page_token(), "");
}

TEST_F(ComplaintsTest, AListStopsBeforeTheCallersDeadlineAndWhenTheCallerLeaves) {
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    clock_.Advance(absl::Seconds(1));
    ids.push_back(FileCase().id);
  }
  // Every batch read takes 300 ms of the fake clock; the caller gives the call 1 s. The list
  // stops 250 ms before the deadline: after three batches, with a token to go on.
  store_.OnScan([this] { clock_.Advance(absl::Milliseconds(300)); });
  v1::ListComplaintsRequest none;
  none.add_channels(v1::CHANNEL_COMPLAINT_BOX);
  CallBounds bounds;
  bounds.deadline = clock_.Now() + absl::Seconds(1);
  const int64_t before = store_.scanned();
  auto resp = desk_->ListComplaints(Coordinator(), none, bounds);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_LE(clock_.Now(), bounds.deadline);
  EXPECT_EQ(store_.scanned() - before, 300);
  EXPECT_EQ(resp->complaints_size(), 0);
  ASSERT_NE(resp->next_page_token(), "");
  // A deadline already at hand still reads one batch, so every call moves forward.
  bounds.deadline = clock_.Now();
  none.mutable_page()->set_page_token(resp->next_page_token());
  const int64_t before_second = store_.scanned();
  auto second = desk_->ListComplaints(Coordinator(), none, bounds);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(store_.scanned() - before_second, 100);
  EXPECT_NE(second->next_page_token(), "");
  // Pages cut by the deadline still add up to every case, once.
  v1::ListComplaintsRequest all;
  all.mutable_page()->set_page_size(70);
  std::vector<std::string> listed;
  for (int i = 0; i < 100; ++i) {
    bounds.deadline = clock_.Now() + absl::Seconds(1);
    auto page = desk_->ListComplaints(Coordinator(), all, bounds);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& c : page->complaints()) listed.push_back(c.id());
    if (page->next_page_token().empty()) break;
    all.mutable_page()->set_page_token(page->next_page_token());
  }
  EXPECT_THAT(listed, ElementsAreArray(ids));

  // The caller went away: the list stops at once with CANCELLED.
  std::atomic<int> asked{0};
  CallBounds gone;
  gone.cancelled = [&asked] { return ++asked > 1; };
  const int64_t before_cancel = store_.scanned();
  EXPECT_EQ(desk_->ListComplaints(Coordinator(), none, gone).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(store_.scanned() - before_cancel, 100);  // one batch, then it noticed
}

TEST_F(ComplaintsTest, ListingRejectsBadFilters) {
  v1::ListComplaintsRequest req;
  req.add_states(static_cast<v1::State>(42));
  req.add_channels(v1::CHANNEL_UNSPECIFIED);
  req.mutable_page()->set_page_size(501);
  *req.mutable_filed_after() = Ts(Wib(2026, 4, 6));
  *req.mutable_filed_before() = Ts(Wib(2026, 4, 5));
  auto status = desk_->ListComplaints(Coordinator(), req).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), UnorderedElementsAreArray(std::vector<std::string>{
                                  "states[0]", "channels[0]", "page.page_size", "filed_before"}));
}

}  // namespace
}  // namespace simpul::complaints
