// Tests of the Open311 GeoReport v2 transcoding: form fields, services, filing, statuses.
#include "gateway/open311.h"

#include "clients/complaints/views.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/gateway/open311_xml.h"

namespace simpul::gateway {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace rv1 = ::simpul::registry::v1;
using ::simpul::gateway::testing::ParseXml;
using ::simpul::gateway::testing::XmlElement;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Json(const Open311Doc& doc) { return doc.Render(Open311Format::kJson); }

// Xml renders `doc` as XML and parses it with expat (failing the test if it is not
// well-formed).
XmlElement Xml(const Open311Doc& doc) {
  const std::string body = doc.Render(Open311Format::kXml);
  XmlElement root;
  std::string error;
  EXPECT_TRUE(ParseXml(body, &root, &error)) << error << "\n" << body;
  return root;
}

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
  EXPECT_TRUE(SameJson(Json(Open311Services({s})),
                       R"([{"description":"","group":"dpmptsp-bogor","keywords":"kota-bogor",)"
                       R"("metadata":false,"service_code":"pbg-kota-bogor",)"
                       R"("service_name":"Persetujuan Bangunan Gedung","type":"realtime"}])"));
  EXPECT_TRUE(SameJson(Json(Open311ServiceDefinition(s)),
                       R"({"attributes":[],"service_code":"pbg-kota-bogor"})"));
  EXPECT_TRUE(SameJson(Json(Open311Error(404, "no \"such\" service")),
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
      Json(Open311Requests({c})),
      R"([{"agency_responsible":"kab-padang-pariaman","description":"Antrean",)"
      R"("requested_datetime":"2026-03-02T00:00:00Z","service_code":"ktp-el",)"
      R"("service_request_id":"ZV6J8-Q4RXT","status":"open","service_name":"",)"
      R"("service_notice":"","expected_datetime":"","address":"","address_id":"",)"
      R"("zipcode":"","media_url":"",)"
      R"("status_notes":"The responsible unit is working on it.","updated_datetime":""}])"));
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
  EXPECT_THAT(Json(Open311Created(filed)), HasSubstr(R"("service_request_id":"ZV6J8-Q4RXT")"));
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
      Json(Open311Requests({p})),
      R"([{"agency_responsible":"kab-padang-pariaman","description":"Antrean",)"
      R"("requested_datetime":"2026-03-02T00:00:00Z","service_code":"ktp-el",)"
      R"("service_request_id":"ZV6J8-Q4RXT","status":"open","service_name":"",)"
      R"("service_notice":"","expected_datetime":"2026-03-07T00:00:00Z","address":"",)"
      R"("address_id":"","zipcode":"","media_url":"",)"
      R"("status_notes":"The responsible unit is working on it.","updated_datetime":""}])"));
}

// Every answer is built once and rendered in both formats: the same values in JSON and XML,
// with the spec's element names.
TEST(Open311Test, OneModelRenderedAsJsonAndXml) {
  rv1::Service s;
  s.set_id("pbg-kota-bogor");
  s.set_name("Persetujuan Bangunan Gedung");
  const XmlElement services = Xml(Open311Services({s, s}));
  EXPECT_EQ(services.name, "services");
  ASSERT_EQ(services.children.size(), 2u);
  EXPECT_EQ(services.children[0].name, "service");
  EXPECT_EQ(services.children[0].ChildText("service_code"), "pbg-kota-bogor");
  EXPECT_EQ(services.children[0].ChildText("metadata"), "false");
  const XmlElement definition = Xml(Open311ServiceDefinition(s));
  EXPECT_EQ(definition.name, "service_definition");
  ASSERT_NE(definition.Child("attributes"), nullptr);
  EXPECT_TRUE(definition.Child("attributes")->children.empty());
  const XmlElement errors = Xml(Open311Error(400, "status: expected open or closed"));
  EXPECT_EQ(errors.name, "errors");
  ASSERT_EQ(errors.children.size(), 1u);
  EXPECT_EQ(errors.children[0].name, "error");
  EXPECT_EQ(errors.children[0].ChildText("code"), "400");
  EXPECT_EQ(errors.children[0].ChildText("description"), "status: expected open or closed");
  EXPECT_EQ(Open311ContentType(Open311Format::kXml), "text/xml; charset=utf-8");

  cv1::PublicComplaint c;
  c.set_id("ZV6J8-Q4RXT");
  c.set_state(cv1::STATE_COMPLETED);
  c.mutable_location()->set_latitude(-0.62);
  c.mutable_location()->set_longitude(100.12);
  *c.mutable_update_time() = google::protobuf::util::TimeUtil::SecondsToTimestamp(1772409600);
  const XmlElement requests = Xml(Open311Requests({c}));
  EXPECT_EQ(requests.name, "service_requests");
  ASSERT_EQ(requests.children.size(), 1u);
  const XmlElement& r = requests.children[0];
  EXPECT_EQ(r.name, "request");
  EXPECT_EQ(r.ChildText("status"), "closed");
  EXPECT_EQ(r.ChildText("lat"), "-0.62");
  EXPECT_EQ(r.ChildText("long"), "100.12");
  EXPECT_EQ(r.ChildText("updated_datetime"), "2026-03-02T00:00:00Z");
  ASSERT_NE(r.Child("media_url"), nullptr);
  EXPECT_THAT(Json(Open311Requests({c})), HasSubstr(R"("lat":-0.62,"long":100.12)"));

  Open311DiscoveryInfo info{.base_url = "https://simpul.example.go.id/open311/v2",
                            .changeset = "2026-12-06T00:00:00Z",
                            .contact = "ops@example.go.id",
                            .key_service = "ask the operator"};
  const XmlElement discovery = Xml(Open311Discovery(info));
  EXPECT_EQ(discovery.name, "discovery");
  EXPECT_EQ(discovery.ChildText("contact"), "ops@example.go.id");
  const XmlElement* endpoint = discovery.Child("endpoints")->Child("endpoint");
  ASSERT_NE(endpoint, nullptr);
  EXPECT_EQ(endpoint->ChildText("specification"), "http://wiki.open311.org/GeoReport_v2");
  EXPECT_EQ(endpoint->ChildText("url"), "https://simpul.example.go.id/open311/v2");
  ASSERT_EQ(endpoint->Child("formats")->children.size(), 2u);
  EXPECT_EQ(endpoint->Child("formats")->children[1].text, "text/xml");
  EXPECT_TRUE(SameJson(
      Json(Open311Discovery(info)),
      R"({"changeset":"2026-12-06T00:00:00Z","contact":"ops@example.go.id",)"
      R"("key_service":"ask the operator","endpoints":[{"specification":)"
      R"("http://wiki.open311.org/GeoReport_v2","url":"https://simpul.example.go.id/open311/v2",)"
      R"("changeset":"2026-12-06T00:00:00Z","type":"production",)"
      R"("formats":["application/json","text/xml"]}]})"));
}

// Hostile text (markup, a CDATA end, control characters, invalid UTF-8) comes out as text in
// both formats: the XML stays well-formed and reads back as the same (cleaned) text as JSON.
TEST(Open311Test, HostileTextIsEscapedInBothFormats) {
  const std::string hostile = std::string("<b>A & B</b> ]]> \"q\" 'a' \x01\x1f\x7f ok\t\r\n") +
                              "\xff\xc3(" + "\xed\xa0\x80" + "\xef\xbf\xbe" + " \xc3\xa9";
  const std::string clean = Open311Text(hostile);
  // Each character XML 1.0 forbids and each invalid byte is U+FFFD; the rest is kept.
  EXPECT_EQ(clean,
            "<b>A & B</b> ]]> \"q\" 'a' \uFFFD\uFFFD\x7f ok\t\r\n\uFFFD\uFFFD(\uFFFD\uFFFD\uFFFD"
            "\uFFFD \u00e9");
  cv1::PublicComplaint c;
  c.set_id("ZV6J8-Q4RXT");
  c.set_description(hostile);
  const std::string xml = Open311Requests({c}).Render(Open311Format::kXml);
  EXPECT_THAT(xml, Not(HasSubstr("<b>")));
  EXPECT_THAT(xml, Not(HasSubstr("]]>")));
  const XmlElement parsed = Xml(Open311Requests({c}));
  ASSERT_EQ(parsed.children.size(), 1u);
  EXPECT_EQ(parsed.children[0].ChildText("description"), clean);
  google::protobuf::Value json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(Json(Open311Requests({c})), &json).ok());
  EXPECT_EQ(json.list_value().values(0).struct_value().fields().at("description").string_value(),
            clean);
  // An error description too (it quotes caller input).
  const XmlElement error = Xml(Open311Error(400, hostile));
  EXPECT_EQ(error.children[0].ChildText("description"), clean);
}

TEST(Open311Test, DatesAreRfc3339WithAZoneAndBadOnesNameTheParameter) {
  auto t = Open311ParseTime("start_date", "2026-11-05T08:15:30+07:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Open311Time(*t), "2026-11-05T01:15:30Z");
  EXPECT_TRUE(Open311ParseTime("end_date", "2026-11-05T01:15:30Z").ok());
  for (const char* bad : {"kemarin", "2026-11-05", "2026-11-05T08:15:30", "2026-13-05T00:00:00Z",
                          "2026-11-05 08:15:30Z", ""}) {
    auto refused = Open311ParseTime("end_date", bad);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    const common::v1::BadRequest v = BadRequestOf(refused.status());
    ASSERT_EQ(v.field_violations_size(), 1) << bad;
    EXPECT_EQ(v.field_violations(0).field(), "end_date") << bad;
    EXPECT_THAT(Json(Open311ErrorOf(refused.status(), 400)), HasSubstr("end_date: expected"));
  }
}

// The filters of GET requests: comma lists, RFC 3339 dates with defaults, and an error
// naming each bad parameter.
TEST(Open311Test, WhereParametersParseAndNameEachBadOne) {
  const absl::Time now = absl::FromUnixSeconds(1772409600);
  auto fields_of = [](const absl::Status& status) {
    std::vector<std::string> fields;
    const common::v1::BadRequest violations = BadRequestOf(status);
    for (const auto& v : violations.field_violations()) fields.push_back(v.field());
    return fields;
  };
  auto circle = Open311ParseListQuery({{"lat", "-6.5976"}, {"long", "106.7996"}, {"radius", "250"}},
                                      now, absl::Hours(24), 3);
  ASSERT_TRUE(circle.ok()) << circle.status();
  ASSERT_TRUE(circle->near.has_value());
  EXPECT_DOUBLE_EQ(circle->near->latitude(), -6.5976);
  EXPECT_DOUBLE_EQ(circle->near->longitude(), 106.7996);
  EXPECT_DOUBLE_EQ(circle->near->radius_meters(), 250);
  EXPECT_FALSE(circle->within_box.has_value());
  auto default_radius =
      Open311ParseListQuery({{"lat", "-6.5976"}, {"long", "106.7996"}}, now, absl::Hours(24), 3);
  ASSERT_TRUE(default_radius.ok()) << default_radius.status();
  EXPECT_DOUBLE_EQ(default_radius->near->radius_meters(), kOpen311DefaultRadius);
  auto box = Open311ParseListQuery({{"bbox", "106.7, -6.7,106.9,-6.1"}}, now, absl::Hours(24), 3);
  ASSERT_TRUE(box.ok()) << box.status();
  ASSERT_TRUE(box->within_box.has_value());
  EXPECT_DOUBLE_EQ(box->within_box->min_longitude(), 106.7);
  EXPECT_DOUBLE_EQ(box->within_box->min_latitude(), -6.7);
  EXPECT_DOUBLE_EQ(box->within_box->max_longitude(), 106.9);
  EXPECT_DOUBLE_EQ(box->within_box->max_latitude(), -6.1);
  auto none = Open311ParseListQuery({}, now, absl::Hours(24), 3);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->near.has_value() || none->within_box.has_value());
  for (const auto& [query, field] :
       std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
           {{{"lat", "x"}, {"long", "106.8"}}, "lat"},
           {{{"lat", "-6.1"}}, "long"},
           {{{"long", "106.8"}}, "lat"},
           {{{"lat", "-6.1"}, {"long", "106.8"}, {"radius", "1km"}}, "radius"},
           {{{"radius", "100"}}, "radius"},
           {{{"bbox", "1,2,3"}}, "bbox"},
           {{{"bbox", "1,2,3,nan"}}, "bbox"},
           {{{"lat", "-6.1"}, {"long", "106.8"}, {"bbox", "1,2,3,4"}}, "bbox"}}) {
    auto bad = Open311ParseListQuery(query, now, absl::Hours(24), 3);
    ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(fields_of(bad.status()), ::testing::ElementsAre(field));
  }
  // The complaint service's names for the ranges it checks come back as the parameters.
  FieldViolations v;
  v.Add("near.radius_meters", "must be 1..50,000 metres");
  v.Add("within_box.max_longitude", "must be greater than min_longitude");
  const std::string rendered = Open311ErrorOf(v.ToStatus("x"), 400).Render(Open311Format::kJson);
  EXPECT_THAT(rendered, HasSubstr("radius: must be"));
  EXPECT_THAT(rendered, HasSubstr("bbox: must be greater"));
}

TEST(Open311Test, ListFiltersParseAndNameEachBadParameter) {
  const absl::Time now = absl::FromUnixSeconds(1772409600);  // 2026-03-02T00:00:00Z
  auto q = Open311ParseListQuery({{"service_code", " ktp-el , akta,, "},
                                  {"status", "Closed"},
                                  {"start_date", "2026-03-01T07:00:00+07:00"},
                                  {"end_date", "2026-03-01T23:59:59Z"},
                                  {"jurisdiction_id", "kota-bogor"},
                                  {"page_token", "t1"}},
                                 now, absl::Hours(24 * 90), 3);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_THAT(q->service_codes, ::testing::ElementsAre("ktp-el", "akta"));
  EXPECT_THAT(q->states,
              ::testing::UnorderedElementsAre(cv1::STATE_COMPLETED, cv1::STATE_ARCHIVED));
  EXPECT_EQ(Open311Time(q->start), "2026-03-01T00:00:00Z");
  EXPECT_EQ(Open311Time(q->end), "2026-03-01T23:59:59Z");
  EXPECT_TRUE(q->end_given);
  EXPECT_EQ(q->jurisdiction_id, "kota-bogor");
  EXPECT_EQ(q->page_token, "t1");
  // Defaults: up to now, open-ended, the window before it; both statuses.
  auto defaults = Open311ParseListQuery({{"status", "open, closed"}}, now, absl::Hours(24), 3);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_FALSE(defaults->end_given);
  EXPECT_EQ(Open311Time(defaults->start), "2026-03-01T00:00:00Z");
  EXPECT_TRUE(defaults->states.empty());
  // Each bad parameter named, all at once.
  auto bad = Open311ParseListQuery({{"service_code", "a,b,c,d"},
                                    {"status", "open,pending"},
                                    {"start_date", "2026-03-01"},
                                    {"end_date", "besok"}},
                                   now, absl::Hours(24), 3);
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  const common::v1::BadRequest violations = BadRequestOf(bad.status());
  for (const auto& v : violations.field_violations()) fields.push_back(v.field());
  EXPECT_THAT(fields,
              ::testing::UnorderedElementsAre("service_code", "status", "start_date", "end_date"));
  auto reversed = Open311ParseListQuery(
      {{"start_date", "2026-03-02T00:00:00Z"}, {"end_date", "2026-03-01T00:00:00Z"}}, now,
      absl::Hours(24), 3);
  EXPECT_THAT(std::string(reversed.status().message()),
              HasSubstr("start_date: must not be after end_date"));
}

// The public reading a case not publicly listed learns that it exists and whether it is open.
TEST(Open311Test, AnUnlistedCaseShowsOnlyItsStatus) {
  cv1::PublicComplaint c;
  c.set_id("ZV6J8-Q4RXT");
  c.set_state(cv1::STATE_RECEIVED);
  c.set_unlisted(true);
  EXPECT_EQ(Open311StatusNotes(c), "Received; awaiting verification.");
  c.set_state(cv1::STATE_IN_PROGRESS);
  EXPECT_EQ(Open311StatusNotes(c), "Open; the case is not publicly listed.");
  c.set_state(cv1::STATE_ARCHIVED);
  c.set_archive_reason(cv1::ARCHIVE_REASON_DUPLICATE);
  EXPECT_EQ(Open311StatusNotes(c), "Closed.");
}

// The updates of a case: its filing and each change of state, in the public's words; never an
// actor, a reason or a message of the history.
TEST(Open311Test, UpdatesAreTheChangesOfStateWithoutInternalText) {
  using google::protobuf::util::TimeUtil;
  cv1::PublicComplaint c;
  c.set_id("ZV6J8-Q4RXT");
  c.set_state(cv1::STATE_RESPONDED);
  google::protobuf::RepeatedPtrField<cv1::HistoryEntry> history;
  auto add = [&](int seq, cv1::State from, cv1::State to, const char* action) {
    cv1::HistoryEntry* e = history.Add();
    e->set_sequence(seq);
    *e->mutable_time() = TimeUtil::SecondsToTimestamp(1772409600 + seq * 60);
    e->set_action(action);
    e->set_from_state(from);
    e->set_to_state(to);
    e->set_actor("operator-bogor-7");
    e->set_reason("catatan internal rahasia");
    e->set_message("Pesan untuk pelapor");
  };
  add(1, cv1::STATE_UNSPECIFIED, cv1::STATE_RECEIVED, "FileComplaint");
  add(2, cv1::STATE_RECEIVED, cv1::STATE_VERIFIED, "VerifyComplaint");
  add(3, cv1::STATE_VERIFIED, cv1::STATE_VERIFIED, "AddNote");
  add(4, cv1::STATE_VERIFIED, cv1::STATE_IN_PROGRESS, "DisposeComplaint");
  add(5, cv1::STATE_IN_PROGRESS, cv1::STATE_RESPONDED, "FollowUpComplaint");
  const std::vector<Open311Update> updates = Open311UpdatesOf(c, history);
  ASSERT_EQ(updates.size(), 4u);
  EXPECT_EQ(updates[0].update_id, "ZV6J8-Q4RXT/1");
  EXPECT_EQ(updates[1].update_id, "ZV6J8-Q4RXT/2");
  EXPECT_EQ(updates[3].update_id, "ZV6J8-Q4RXT/5");
  EXPECT_EQ(updates[3].description, "The unit has responded; the complainant may reply.");
  const std::string json = Json(Open311Updates(updates));
  for (const char* secret : {"operator-bogor-7", "rahasia", "Pesan"}) {
    EXPECT_THAT(json, Not(HasSubstr(secret))) << secret;
  }
  const XmlElement xml = Xml(Open311Updates(updates));
  EXPECT_EQ(xml.name, "service_request_updates");
  ASSERT_EQ(xml.children.size(), 4u);
  EXPECT_EQ(xml.children[1].name, "request_update");
  EXPECT_EQ(xml.children[1].ChildText("service_request_id"), "ZV6J8-Q4RXT");
  EXPECT_EQ(xml.children[1].ChildText("status"), "open");
  EXPECT_EQ(xml.children[1].ChildText("updated_datetime"), "2026-03-02T00:02:00Z");
  const Open311Update current = Open311CurrentUpdate(c);
  EXPECT_EQ(current.update_id, "ZV6J8-Q4RXT/current");
  EXPECT_EQ(current.state, cv1::STATE_RESPONDED);
}

// ---------------------------------------------------------------------------------------
// Service definitions with attributes (issue #16)

rv1::Service AktaWithQuestions() {
  rv1::Service s;
  s.set_id("akta-kelahiran");
  s.set_name("Akta Kelahiran");
  rv1::ServiceAttribute* via = s.add_attributes();
  via->set_code("submitted_via");
  via->set_variable(true);
  via->set_datatype(rv1::ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST);
  via->set_required(true);
  via->set_order(2);
  via->set_description("Bagaimana permohonan diajukan?");
  for (const auto& [key, name] :
       {std::pair<const char*, const char*>{"loket", "Di loket"}, {"online", "Daring"}}) {
    rv1::AttributeValue* v = via->add_values();
    v->set_key(key);
    v->set_name(name);
  }
  rv1::ServiceAttribute* app = s.add_attributes();
  app->set_code("application_number");
  app->set_variable(true);
  app->set_datatype(rv1::ATTRIBUTE_DATATYPE_STRING);
  app->set_required(true);
  app->set_order(1);
  app->set_description("Nomor permohonan");
  app->set_datatype_description("Tertera di tanda terima, mis. 1305-AK-0001");
  return s;
}

TEST(Open311AttributesTest, ServiceDefinitionListsTheQuestionsInOrderInBothFormats) {
  const rv1::Service s = AktaWithQuestions();
  EXPECT_TRUE(SameJson(
      Json(Open311ServiceDefinition(s)),
      R"({"service_code":"akta-kelahiran","attributes":[)"
      R"({"variable":true,"code":"application_number","datatype":"string","required":true,)"
      R"("datatype_description":"Tertera di tanda terima, mis. 1305-AK-0001","order":1,)"
      R"("description":"Nomor permohonan"},)"
      R"({"variable":true,"code":"submitted_via","datatype":"singlevaluelist","required":true,)"
      R"("datatype_description":"","order":2,"description":"Bagaimana permohonan diajukan?",)"
      R"("values":[{"key":"loket","name":"Di loket"},{"key":"online","name":"Daring"}]}]})"));
  const XmlElement definition = Xml(Open311ServiceDefinition(s));
  const XmlElement* attributes = definition.Child("attributes");
  ASSERT_NE(attributes, nullptr);
  ASSERT_EQ(attributes->children.size(), 2u);
  EXPECT_EQ(attributes->children[0].name, "attribute");
  EXPECT_EQ(attributes->children[0].ChildText("code"), "application_number");
  EXPECT_EQ(attributes->children[0].ChildText("variable"), "true");
  const XmlElement& list = attributes->children[1];
  EXPECT_EQ(list.ChildText("datatype"), "singlevaluelist");
  EXPECT_EQ(list.ChildText("order"), "2");
  ASSERT_NE(list.Child("values"), nullptr);
  ASSERT_EQ(list.Child("values")->children.size(), 2u);
  EXPECT_EQ(list.Child("values")->children[1].name, "value");
  EXPECT_EQ(list.Child("values")->children[1].ChildText("key"), "online");
  EXPECT_EQ(list.Child("values")->children[1].ChildText("name"), "Daring");
  // The list marks services with questions.
  rv1::Service plain;
  plain.set_id("parkir");
  EXPECT_THAT(Json(Open311Services({s, plain})),
              AllOf(HasSubstr(R"("metadata":true,"type")"), HasSubstr(R"("metadata":false)")));
  EXPECT_EQ(Open311Datatype(rv1::ATTRIBUTE_DATATYPE_MULTI_VALUE_LIST), "multivaluelist");
  EXPECT_EQ(Open311Datatype(rv1::ATTRIBUTE_DATATYPE_DATETIME), "datetime");
  EXPECT_EQ(Open311Datatype(rv1::ATTRIBUTE_DATATYPE_NUMBER), "number");
  EXPECT_EQ(Open311Datatype(rv1::ATTRIBUTE_DATATYPE_TEXT), "text");
}

TEST(Open311AttributesTest, FilingCarriesSingleAndMultiValueAnswers) {
  auto fields = FormFields(
      "service_code=akta-kelahiran&description=Belum+terbit+dua+bulan&"
      "attribute[application_number]=1305-AK-0001&attribute%5Bdocs%5D%5B%5D=ktp&"
      "attribute[docs][]=kk&attribute[idempotency_key]=retry-key-0001&attribute[docs][]=akta");
  ASSERT_TRUE(fields.ok()) << fields.status();
  auto req = Open311FileRequest(*fields, cv1::CHANNEL_MOBILE_APP);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->idempotency_key(), "retry-key-0001");
  ASSERT_EQ(req->attributes_size(), 2);
  EXPECT_EQ(req->attributes(0).code(), "application_number");
  EXPECT_THAT(req->attributes(0).values(), ::testing::ElementsAre("1305-AK-0001"));
  EXPECT_EQ(req->attributes(1).code(), "docs");
  EXPECT_THAT(req->attributes(1).values(), ::testing::ElementsAre("ktp", "kk", "akta"));

  // A malformed attribute field is named.
  auto bad = Open311FileRequest({{"service_code", "akta-kelahiran"},
                                 {"description", "Belum terbit dua bulan"},
                                 {"attribute[]", "x"},
                                 {"attribute[a][b]", "y"}},
                                cv1::CHANNEL_MOBILE_APP);
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  const common::v1::BadRequest violations = BadRequestOf(bad.status());
  ASSERT_EQ(violations.field_violations_size(), 2);
  EXPECT_EQ(violations.field_violations(0).field(), "attribute[]");
  EXPECT_EQ(violations.field_violations(1).field(), "attribute[a][b]");
}

TEST(Open311AttributesTest, AnswerErrorsNameTheOpen311Attribute) {
  FieldViolations v;
  v.Add("attributes[application_number]", "required: Nomor permohonan");
  v.Add("attributes", "answers are only taken with a service_id");
  const std::string json = Json(Open311ErrorOf(v.ToStatus("FileComplaintRequest"), 400));
  EXPECT_THAT(json, HasSubstr("attribute[application_number]: required: Nomor permohonan"));
  EXPECT_THAT(json, HasSubstr("\"attribute: answers are only taken"));
}

}  // namespace
TEST(Open311Test, TheFilingNoticeIsInTheRequestsLanguageAndNeverShowsAnEmptySecret) {
  cv1::FileComplaintResponse filed;
  filed.set_tracking_code("7KQ2M-XW9DT");
  filed.set_secret("RAJA-AERE-CB1W-N8GA");
  EXPECT_THAT(Open311Created(filed).Render(Open311Format::kJson),
              ::testing::HasSubstr("Tracking code 7KQ2M-XW9DT. Keep it to follow the report; the "
                                   "complainant's secret is RAJA-AERE-CB1W-N8GA."));
  {
    const Open311LangScope indonesian(Lang::kIndonesian);
    EXPECT_THAT(Open311Created(filed).Render(Open311Format::kJson),
                ::testing::HasSubstr("Kode pelacakan 7KQ2M-XW9DT. Simpan untuk mengikuti laporan; "
                                     "rahasia pelapor adalah RAJA-AERE-CB1W-N8GA."));
    filed.clear_secret();  // a replay that may not have it
    const std::string replay = Open311Created(filed).Render(Open311Format::kJson);
    EXPECT_THAT(replay, ::testing::HasSubstr("pengajuan berulang"));
    EXPECT_THAT(replay, ::testing::Not(::testing::HasSubstr("rahasia pelapor adalah .")));
  }
}

}  // namespace simpul::gateway
