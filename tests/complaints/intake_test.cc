// Unit tests of intake answers (services/complaints/intake.h) and their hook in filing: each
// datatype, required and unknown questions, filings with target_text only, what is stored and
// in which view it is shown, and idempotent replays. Fake store, fake router, no server.
#include "services/complaints/intake.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/messages.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/complaints/complaints.h"
#include "tests/testing/fake_complaint_store.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/identities.h"

namespace simpul::complaints {
namespace {

namespace rv1 = ::simpul::registry::v1;
using ::simpul::testing::AgencyAdmin;
using ::simpul::testing::FakeComplaintStore;
using ::simpul::testing::FakeRouter;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kAgency[] = "padang-pariaman";
constexpr char kUnit[] = "disdukcapil-padang-pariaman";
constexpr char kAkta[] = "akta-kelahiran";   // asks questions
constexpr char kPlain[] = "kartu-keluarga";  // asks none
constexpr char kApplication[] = "APP-2026-000731-PLANTED";

std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  const common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

rv1::ServiceAttribute Question(const std::string& code, rv1::AttributeDatatype type, bool required,
                               int order) {
  rv1::ServiceAttribute q;
  q.set_code(code);
  q.set_datatype(type);
  q.set_variable(true);
  q.set_required(required);
  q.set_order(order);
  q.set_description("Pertanyaan " + code);
  if (type == rv1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST ||
      type == rv1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST) {
    for (const char* key : {"loket", "online", "pos"}) {
      rv1::AttributeValue* v = q.add_values();
      v->set_key(key);
      v->set_name(key);
    }
  }
  return q;
}

std::vector<rv1::ServiceAttribute> AktaQuestions() {
  rv1::ServiceAttribute app =
      Question("application_number", rv1::ATTRIBUTE_DATATYPE_STRING, true, 1);
  app.set_max_length(40);
  rv1::ServiceAttribute info;
  info.set_code("info");
  info.set_description("Siapkan nomor permohonan dari tanda terima.");
  info.set_order(0);
  return {Question("submitted_via", rv1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST, true, 2),
          app,
          Question("documents", rv1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST, false, 3),
          Question("children", rv1::ATTRIBUTE_DATATYPE_NUMBER, false, 4),
          Question("visited_at", rv1::ATTRIBUTE_DATATYPE_DATETIME, false, 5),
          Question("story", rv1::ATTRIBUTE_DATATYPE_TEXT, false, 6),
          info};
}

void Answer(v1::FileComplaintRequest& req, const std::string& code,
            std::vector<std::string> values) {
  v1::AttributeAnswer* a = req.add_attributes();
  a->set_code(code);
  for (auto& v : values) a->add_values(std::move(v));
}

class IntakeTest : public ::testing::Test {
 protected:
  IntakeTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2026, 4, 6, 2, 0, 0), absl::UTCTimeZone())) {}

  void SetUp() override {
    auto calendars = CalendarRegistry::Create(SIMPUL_HOLIDAYS_DIR);
    ASSERT_TRUE(calendars.ok()) << calendars.status();
    calendars_ = *std::move(calendars);
    Route unit;
    unit.unit_id = kUnit;
    unit.agency_id = kAgency;
    unit.time_zone = common::v1::TIME_ZONE_WIB;
    router_.AddUnit(unit);
    Route akta = unit;
    akta.service_id = kAkta;
    akta.attributes = AktaQuestions();
    router_.AddService(akta);
    Route plain = unit;
    plain.service_id = kPlain;
    router_.AddService(plain);
    desk_ =
        std::make_unique<ComplaintDesk>(store_, router_, *calendars_, clock_, ComplaintOptions{});
  }

  v1::FileComplaintRequest Filing(const std::string& service = kAkta) {
    v1::FileComplaintRequest r;
    r.set_idempotency_key(absl::StrCat("intake-", ++keys_, "-20260406"));
    r.set_report_type(v1::REPORT_TYPE_COMPLAINT);
    r.set_channel(v1::CHANNEL_SMS);
    r.set_service_id(service);
    r.set_description("Akta kelahiran anak saya belum terbit setelah dua bulan.");
    r.mutable_complainant()->set_name("Rina");
    return r;
  }
  // Answered is a filing answering both required questions.
  v1::FileComplaintRequest Answered() {
    v1::FileComplaintRequest r = Filing();
    Answer(r, "application_number", {kApplication});
    Answer(r, "submitted_via", {"loket"});
    return r;
  }

  absl::StatusOr<v1::FileComplaintResponse> File(const v1::FileComplaintRequest& req) {
    return desk_->FileComplaint(simpul::testing::ChannelCaller("sms-1708"), req);
  }

  // ExpectRefused files `req`, expects INVALID_ARGUMENT naming `field` and nothing stored.
  void ExpectRefused(const v1::FileComplaintRequest& req, const std::string& field) {
    const size_t before = store_.events().size();
    auto resp = File(req);
    EXPECT_EQ(resp.status().code(), absl::StatusCode::kInvalidArgument) << resp.status();
    EXPECT_THAT(Fields(resp.status()), ElementsAre(field)) << resp.status();
    EXPECT_EQ(store_.events().size(), before);
    // Channels read it in Bahasa Indonesia: the text is one of the catalogue's.
    const common::v1::BadRequest bad = BadRequestOf(resp.status());
    for (const auto& v : bad.field_violations()) {
      EXPECT_TRUE(Translate(v.description(), Lang::kIndonesian).has_value()) << v.description();
    }
  }

  FakeComplaintStore store_;
  FakeRouter router_;
  std::unique_ptr<CalendarRegistry> calendars_;
  FakeClock clock_;
  std::unique_ptr<ComplaintDesk> desk_;
  int keys_ = 0;
};

TEST_F(IntakeTest, EveryDatatypeIsCheckedAndNamesTheCode) {
  auto with = [&](const std::string& code, std::vector<std::string> values) {
    v1::FileComplaintRequest r = Answered();
    Answer(r, code, std::move(values));
    return r;
  };
  ExpectRefused(with("children", {"two"}), "attributes[children]");
  ExpectRefused(with("children", {"1e3"}), "attributes[children]");
  ExpectRefused(with("children", {"1", "2"}), "attributes[children]");
  ExpectRefused(with("visited_at", {"2026-04-01 09:00"}), "attributes[visited_at]");
  ExpectRefused(with("visited_at", {"2026-04-01T09:00:00"}), "attributes[visited_at]");
  ExpectRefused(with("documents", {"loket", "fax"}), "attributes[documents]");
  ExpectRefused(with("documents", {"pos", "pos"}), "attributes[documents]");
  ExpectRefused(with("story", {std::string(4001, 'x')}), "attributes[story]");
  v1::FileComplaintRequest long_number = Filing();
  Answer(long_number, "application_number", {std::string(41, '7')});
  Answer(long_number, "submitted_via", {"loket"});
  ExpectRefused(long_number, "attributes[application_number]");
  v1::FileComplaintRequest two_lines = Filing();
  Answer(two_lines, "application_number", {"APP-1\nAPP-2"});
  Answer(two_lines, "submitted_via", {"loket"});
  ExpectRefused(two_lines, "attributes[application_number]");
  v1::FileComplaintRequest not_a_key = Filing();
  Answer(not_a_key, "application_number", {"APP-1"});
  Answer(not_a_key, "submitted_via", {"kantor"});
  ExpectRefused(not_a_key, "attributes[submitted_via]");
  v1::FileComplaintRequest two_choices = Filing();
  Answer(two_choices, "application_number", {"APP-1"});
  Answer(two_choices, "submitted_via", {"loket", "pos"});
  ExpectRefused(two_choices, "attributes[submitted_via]");

  // Valid answers of every kind are accepted.
  v1::FileComplaintRequest all = Answered();
  Answer(all, "documents", {"pos", "loket", "online"});
  Answer(all, "children", {"-2.50"});
  Answer(all, "visited_at", {"2026-04-01T09:30:00+07:00"});
  Answer(all, "story", {"Sudah dua kali datang.\nPetugas minta kembali minggu depan."});
  auto filed = File(all);
  ASSERT_TRUE(filed.ok()) << filed.status();
  v1::FileComplaintRequest utc = Answered();
  Answer(utc, "visited_at", {"2026-04-01T02:30:00.5Z"});
  EXPECT_TRUE(File(utc).ok());
}

TEST_F(IntakeTest, RequiredUnknownAndInformationalQuestions) {
  v1::FileComplaintRequest missing = Filing();
  Answer(missing, "submitted_via", {"online"});
  ExpectRefused(missing, "attributes[application_number]");
  // An empty value is no answer.
  v1::FileComplaintRequest blank = Filing();
  Answer(blank, "application_number", {""});
  Answer(blank, "submitted_via", {"online"});
  ExpectRefused(blank, "attributes[application_number]");
  auto none = File(Filing());
  EXPECT_THAT(Fields(none.status()),
              UnorderedElementsAre("attributes[application_number]", "attributes[submitted_via]"));
  EXPECT_THAT(none.status().message(), HasSubstr("Pertanyaan application_number"));

  v1::FileComplaintRequest unknown = Answered();
  Answer(unknown, "nik", {"3205012345678901"});
  ExpectRefused(unknown, "attributes[nik]");
  v1::FileComplaintRequest info = Answered();
  Answer(info, "info", {"ok"});
  ExpectRefused(info, "attributes[info]");
  v1::FileComplaintRequest twice = Answered();
  Answer(twice, "submitted_via", {"pos"});
  ExpectRefused(twice, "attributes[submitted_via]");
  v1::FileComplaintRequest bad_code = Answered();
  Answer(bad_code, "attr[x]", {"1"});
  ExpectRefused(bad_code, "attributes[2].code");

  // A service without questions takes no answers.
  v1::FileComplaintRequest plain = Filing(kPlain);
  Answer(plain, "application_number", {"APP-1"});
  ExpectRefused(plain, "attributes[application_number]");
  EXPECT_TRUE(File(Filing(kPlain)).ok());
}

TEST_F(IntakeTest, TargetTextOnlyFilingTakesNoAnswers) {
  v1::FileComplaintRequest r = Answered();
  r.clear_service_id();
  r.set_target_text("Disdukcapil Padang Pariaman");
  ExpectRefused(r, "attributes");
  r.clear_attributes();
  EXPECT_TRUE(File(r).ok());
}

TEST_F(IntakeTest, AnswersAreStoredInQuestionOrderAndShownInTheFullViewOnly) {
  v1::FileComplaintRequest r = Answered();
  Answer(r, "documents", {"online"});
  Answer(r, "children", {""});  // optional and blank: not kept
  r.set_confidentiality(v1::CONFIDENTIALITY_PUBLIC);
  auto filed = File(r);
  ASSERT_TRUE(filed.ok()) << filed.status();
  // Not in the filing's (public) response.
  EXPECT_FALSE(absl::StrContains(filed->SerializeAsString(), kApplication));

  auto stored = store_.Get(filed->tracking_code());
  ASSERT_TRUE(stored.ok() && stored->has_value());
  const v1::Complaint& c = (*stored)->complaint();
  ASSERT_EQ(c.attributes_size(), 3);
  EXPECT_EQ(c.attributes(0).code(), "application_number");  // order 1
  EXPECT_THAT(c.attributes(0).values(), ElementsAre(kApplication));
  EXPECT_EQ(c.attributes(1).code(), "submitted_via");  // order 2
  EXPECT_EQ(c.attributes(2).code(), "documents");
  // Never on an event.
  for (const v1::ComplaintEvent& e : store_.events()) {
    EXPECT_FALSE(absl::StrContains(e.SerializeAsString(), kApplication));
  }

  v1::GetComplaintRequest get;
  get.set_id(filed->tracking_code());
  auto agency = desk_->GetComplaint(AgencyAdmin(kAgency), get);
  ASSERT_TRUE(agency.ok()) << agency.status();
  ASSERT_EQ(agency->complaint().attributes_size(), 3);
  EXPECT_THAT(agency->complaint().attributes(0).values(), ElementsAre(kApplication));
  auto coordinator = desk_->GetComplaint(simpul::testing::PlatformAdmin(), get);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  EXPECT_EQ(coordinator->complaint().attributes_size(), 3);
  // The channel and the public read the public view, which has no answers.
  for (const Identity& reader : {simpul::testing::ChannelCaller("sms-1708"), Identity::Public()}) {
    auto view = desk_->GetComplaint(reader, get);
    if (!view.ok()) continue;  // not listed yet for the public
    EXPECT_FALSE(view->has_complaint());
    EXPECT_FALSE(absl::StrContains(view->SerializeAsString(), kApplication));
  }
  v1::ListComplaintsRequest list;
  list.set_agency_id(kAgency);
  auto listed = desk_->ListComplaints(AgencyAdmin(kAgency), list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->complaints_size(), 1);
  EXPECT_EQ(listed->complaints(0).attributes_size(), 3);
}

TEST_F(IntakeTest, ReplayReturnsTheStoredCaseEvenAfterTheQuestionsChanged) {
  v1::FileComplaintRequest r = Answered();
  auto first = File(r);
  ASSERT_TRUE(first.ok()) << first.status();
  // The service gains a required question; the retry is still the same filing.
  Route akta;
  akta.service_id = kAkta;
  akta.unit_id = kUnit;
  akta.agency_id = kAgency;
  akta.time_zone = common::v1::TIME_ZONE_WIB;
  akta.attributes = AktaQuestions();
  akta.attributes.push_back(Question("nik", rv1::ATTRIBUTE_DATATYPE_STRING, true, 9));
  router_.AddService(akta);
  auto again = File(r);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed());
  EXPECT_EQ(again->tracking_code(), first->tracking_code());
  auto stored = store_.Get(first->tracking_code());
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->complaint().attributes(0).values(0), kApplication);
  // The same key with other answers is another filing: refused.
  v1::FileComplaintRequest changed = r;
  changed.mutable_attributes(0)->set_values(0, "APP-OTHER");
  EXPECT_THAT(Fields(File(changed).status()), ElementsAre("idempotency_key"));
  // A new filing must answer the new question.
  v1::FileComplaintRequest fresh = Answered();
  EXPECT_THAT(Fields(File(fresh).status()), ElementsAre("attributes[nik]"));
}

TEST_F(IntakeTest, AnswersCannotBeCheckedWithoutTheRegistry) {
  router_.SetUnavailable(true);
  EXPECT_EQ(File(Answered()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store_.events(), IsEmpty());
  // Without answers the case is kept for a coordinator to route, as before.
  auto filed = File(Filing());
  EXPECT_TRUE(filed.ok()) << filed.status();
}

TEST(CheckAnswersTest, ShapeLimits) {
  v1::FileComplaintRequest r;
  r.set_service_id("akta-kelahiran");
  for (int i = 0; i < kMaxAnswers + 1; ++i) Answer(r, absl::StrCat("q", i), {"1"});
  FieldViolations v;
  CheckAnswerShape(v, r);
  EXPECT_THAT(Fields(v.ToStatus("x")), ElementsAre("attributes"));
  v1::FileComplaintRequest many;
  many.set_service_id("akta-kelahiran");
  Answer(many, "docs", std::vector<std::string>(kMaxAnswerValues + 1, "a"));
  Answer(many, "big", {std::string(kMaxAnswerValueBytes + 1, 'a')});
  FieldViolations v2;
  CheckAnswerShape(v2, many);
  EXPECT_THAT(Fields(v2.ToStatus("x")), ElementsAre("attributes[docs]", "attributes[big]"));
}

}  // namespace
}  // namespace simpul::complaints
