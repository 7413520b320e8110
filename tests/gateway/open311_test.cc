// Tests of the Open311 GeoReport v2 transcoding: form fields, services, filing, statuses.
#include "gateway/open311.h"

#include "clients/complaints/views.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace simpul::gateway {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace rv1 = ::simpul::registry::v1;
using ::testing::HasSubstr;

// SameJson compares two JSON texts as values (object members in any order).
::testing::AssertionResult SameJson(const std::string& got, const std::string& want) {
  google::protobuf::Value a, b;
  if (!google::protobuf::util::JsonStringToMessage(got, &a).ok()) {
    return ::testing::AssertionFailure() << "not JSON: " << got;
  }
  if (!google::protobuf::util::JsonStringToMessage(want, &b).ok()) {
    return ::testing::AssertionFailure() << "bad expectation: " << want;
  }
  if (google::protobuf::util::MessageDifferencer::Equals(a, b)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << got << "\n  want " << want;
}

TEST(Open311Test, FormFieldsDecodeEscapesAndPlus) {
  auto f = FormFields("api_key=k1.s&description=Jalan+rusak%2C+berlubang&lat=-6.59&x=&lat=1");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->at("description"), "Jalan rusak, berlubang");
  EXPECT_EQ(f->at("lat"), "-6.59");  // the first of a repeated name
  EXPECT_EQ(f->at("x"), "");
  EXPECT_EQ(FormFields("a=%zz").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FormFields("a=%2").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(FormFields("").ok());
}

TEST(Open311Test, ServicesAndErrors) {
  rv1::Service s;
  s.set_id("pbg-kota-bogor");
  s.set_name("Persetujuan Bangunan Gedung");
  s.set_unit_id("dpmptsp-bogor");
  s.set_agency_id("kota-bogor");
  EXPECT_TRUE(SameJson(Open311Services({s}),
                       R"([{"description":"","group":"dpmptsp-bogor","keywords":"kota-bogor",)"
                       R"("metadata":false,"service_code":"pbg-kota-bogor",)"
                       R"("service_name":"Persetujuan Bangunan Gedung","type":"realtime"}])"));
  EXPECT_TRUE(SameJson(Open311ServiceDefinition(s),
                       R"({"attributes":[],"service_code":"pbg-kota-bogor"})"));
  EXPECT_TRUE(SameJson(Open311Error(404, "no \"such\" service"),
                       R"([{"code":404,"description":"no \"such\" service"}])"));
}

TEST(Open311Test, FilingMapsFieldsAndDerivesAStableIdempotencyKey) {
  std::map<std::string, std::string> fields = {{"api_key", "k.s"},
                                               {"service_code", "ktp-el-padang-pariaman"},
                                               {"description", "Blanko habis"},
                                               {"lat", "-0.6"},
                                               {"long", "100.1"},
                                               {"first_name", "Siti"},
                                               {"last_name", "Rahma"},
                                               {"phone", "0812"},
                                               {"media_url", "https://example.id/a.jpg"}};
  auto req = Open311FileRequest(fields, cv1::CHANNEL_MOBILE_APP);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->service_id(), "ktp-el-padang-pariaman");
  EXPECT_EQ(req->channel(), cv1::CHANNEL_MOBILE_APP);
  EXPECT_EQ(req->complainant().name(), "Siti Rahma");
  EXPECT_EQ(req->confidentiality(), cv1::CONFIDENTIALITY_SECRET);
  EXPECT_DOUBLE_EQ(req->location().latitude(), -0.6);
  EXPECT_EQ(req->attachments(0).uri(), "https://example.id/a.jpg");
  EXPECT_EQ(req->idempotency_key().substr(0, 5), "o311:");
  EXPECT_EQ(req->idempotency_key().size(), 45u);
  // The same report again (another key of the same channel): the same key; another text: not.
  fields["api_key"] = "other";
  EXPECT_EQ(Open311FileRequest(fields, cv1::CHANNEL_MOBILE_APP)->idempotency_key(),
            req->idempotency_key());
  fields["description"] = "Blanko habis lagi";
  EXPECT_NE(Open311FileRequest(fields, cv1::CHANNEL_MOBILE_APP)->idempotency_key(),
            req->idempotency_key());
  // An explicit key wins; no identity means anonymous.
  auto anonymous = Open311FileRequest(
      {{"service_code", "x"}, {"description", "d"}, {"attribute[idempotency_key]", "key-123456"}},
      cv1::CHANNEL_WEB);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->idempotency_key(), "key-123456");
  EXPECT_EQ(anonymous->confidentiality(), cv1::CONFIDENTIALITY_ANONYMOUS);
  // Bad fields are named with their Open311 names.
  auto bad = Open311FileRequest({{"lat", "x"}, {"long", "200"}}, cv1::CHANNEL_WEB);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  for (const char* field : {"service_code", "description", "lat", "long"}) {
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(field));
  }
  // NaN is not a coordinate (found by tests/fuzz/open311_fuzz: SimpleAtod reads "nan").
  for (const char* nan : {"nan", "NaN", "-nan"}) {
    auto not_a_number = Open311FileRequest(
        {{"service_code", "x"}, {"description", "Jalan rusak parah"}, {"lat", nan}, {"long", nan}},
        cv1::CHANNEL_WEB);
    EXPECT_EQ(not_a_number.status().code(), absl::StatusCode::kInvalidArgument) << nan;
    EXPECT_THAT(std::string(not_a_number.status().message()), HasSubstr("lat")) << nan;
    EXPECT_THAT(std::string(not_a_number.status().message()), HasSubstr("long")) << nan;
  }
}

TEST(Open311Test, RequestsShowOpenOrClosedWithNotes) {
  cv1::PublicComplaint c;
  c.set_id("ZV6J8-Q4RXT");
  c.set_state(cv1::STATE_IN_PROGRESS);
  c.set_service_id("ktp-el");
  c.set_agency_id("kab-padang-pariaman");
  c.set_description("Antrean");
  *c.mutable_file_time() = google::protobuf::util::TimeUtil::SecondsToTimestamp(1772409600);
  EXPECT_TRUE(SameJson(
      Open311RequestJson(c),
      R"({"agency_responsible":"kab-padang-pariaman","description":"Antrean",)"
      R"("requested_datetime":"2026-03-02T00:00:00Z","service_code":"ktp-el",)"
      R"("service_request_id":"ZV6J8-Q4RXT","status":"open",)"
      R"("status_notes":"The responsible unit is working on it.","updated_datetime":""})"));
  for (auto [state, status] :
       {std::pair{cv1::STATE_RECEIVED, "open"}, std::pair{cv1::STATE_ESCALATED, "open"},
        std::pair{cv1::STATE_COMPLETED, "closed"}, std::pair{cv1::STATE_ARCHIVED, "closed"}}) {
    EXPECT_EQ(Open311Status(state), status);
  }
  c.set_state(cv1::STATE_ARCHIVED);
  c.set_archive_reason(cv1::ARCHIVE_REASON_DUPLICATE);
  EXPECT_EQ(Open311StatusNotes(c), "Closed without action (DUPLICATE).");
  cv1::FileComplaintResponse filed;
  filed.set_tracking_code("ZV6J8-Q4RXT");
  filed.set_secret("RAJA-AERE");
  EXPECT_THAT(Open311Created(filed), HasSubstr(R"("service_request_id":"ZV6J8-Q4RXT")"));
}

// A case the front reads in full (with an agency's or a coordinator's credentials) is shown
// in its public view (clients/complaints/views.h), the one the complaint service gives the
// public: deadlines, overdue and rating included, contact details left out.
TEST(Open311Test, ACaseReadInFullIsShownInItsPublicView) {
  using google::protobuf::util::TimeUtil;
  cv1::Complaint c;
  c.set_id("ZV6J8-Q4RXT");
  c.set_state(cv1::STATE_IN_PROGRESS);
  c.set_confidentiality(cv1::CONFIDENTIALITY_SECRET);
  c.set_service_id("ktp-el");
  c.set_agency_id("kab-padang-pariaman");
  c.set_description("Antrean");
  c.mutable_complainant()->set_name("Siti Rahma");
  c.mutable_complainant()->set_phone("0812 3456 789");
  c.set_rating(3);
  *c.mutable_file_time() = TimeUtil::SecondsToTimestamp(1772409600);
  *c.mutable_deadlines()->mutable_respond_by() = TimeUtil::SecondsToTimestamp(1772841600);
  *c.mutable_deadlines()->mutable_next() = TimeUtil::SecondsToTimestamp(1772841600);
  const cv1::PublicComplaint p =
      complaints::PublicView(c, absl::FromUnixSeconds(1772841600) + absl::Seconds(1));
  EXPECT_EQ(p.deadlines().respond_by().seconds(), 1772841600);
  EXPECT_TRUE(p.overdue());
  EXPECT_EQ(p.rating(), 3);
  EXPECT_EQ(p.complainant_name(), "");  // a SECRET case
  EXPECT_TRUE(SameJson(
      Open311RequestJson(p),
      R"({"agency_responsible":"kab-padang-pariaman","description":"Antrean",)"
      R"("requested_datetime":"2026-03-02T00:00:00Z","service_code":"ktp-el",)"
      R"("service_request_id":"ZV6J8-Q4RXT","status":"open",)"
      R"("status_notes":"The responsible unit is working on it.","updated_datetime":""})"));
}

}  // namespace
}  // namespace simpul::gateway
