// Unit tests of "where" (geo.h): validation of areas, distances and the ranking of possible
// duplicates, and the desk's area lists and duplicate suggestions over the in-memory store.
#include "services/complaints/geo.h"

#include <cmath>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/complaints/complaints.h"
#include "tests/testing/fake_complaint_store.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/identities.h"

namespace simpul::complaints {
namespace {

using ::simpul::testing::AgencyAdmin;
using ::simpul::testing::ChannelCaller;
using ::simpul::testing::FakeComplaintStore;
using ::simpul::testing::FakeRouter;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

struct Point {
  double lat, lon;
};
constexpr Point kMonas{-6.175392, 106.827153};
constexpr Point kNearMonas{-6.176800, 106.828600};  // ~220 m
constexpr Point kFarMonas{-6.178000, 106.830000};   // ~430 m
constexpr Point kBogor{-6.597600, 106.799600};      // Kebun Raya, ~47 km from Monas

std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  const common::v1::BadRequest bad = BadRequestOf(status);
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

v1::ListComplaintsRequest Near(Point p, double radius) {
  v1::ListComplaintsRequest req;
  req.mutable_near()->set_latitude(p.lat);
  req.mutable_near()->set_longitude(p.lon);
  req.mutable_near()->set_radius_meters(radius);
  return req;
}

v1::ListComplaintsRequest WithinBox(double min_lat, double min_lon, double max_lat,
                                    double max_lon) {
  v1::ListComplaintsRequest req;
  req.mutable_within_box()->set_min_latitude(min_lat);
  req.mutable_within_box()->set_min_longitude(min_lon);
  req.mutable_within_box()->set_max_latitude(max_lat);
  req.mutable_within_box()->set_max_longitude(max_lon);
  return req;
}

std::vector<std::string> Violations(const v1::ListComplaintsRequest& req) {
  FieldViolations v;
  ValidateArea(v, req);
  return Fields(v.ToStatus("ListComplaintsRequest"));
}

TEST(GeoValidationTest, BoxesAndCirclesAreChecked) {
  EXPECT_THAT(Violations(Near(kMonas, 300)), IsEmpty());
  EXPECT_THAT(Violations(WithinBox(-6.3, 106.7, -6.1, 106.9)), IsEmpty());
  EXPECT_THAT(Violations(Near(kMonas, 0.5)), ElementsAre("near.radius_meters"));
  EXPECT_THAT(Violations(Near(kMonas, 50001)), ElementsAre("near.radius_meters"));
  EXPECT_THAT(Violations(Near(kMonas, 50000)), IsEmpty());
  EXPECT_THAT(Violations(Near({86, 106}, 10)), ElementsAre("near.latitude"));
  EXPECT_THAT(Violations(Near({-6, 181}, 10)), ElementsAre("near.longitude"));
  EXPECT_THAT(Violations(Near({std::nan(""), 106}, 10)), ElementsAre("near.latitude"));
  EXPECT_THAT(Violations(WithinBox(-6.1, 106.7, -6.3, 106.9)),
              ElementsAre("within_box.max_latitude"));
  EXPECT_THAT(Violations(WithinBox(-6.3, 170, -6.1, -170)),  // across the antimeridian
              ElementsAre("within_box.max_longitude"));
  EXPECT_THAT(Violations(WithinBox(-91, 106.7, -6.1, 190)),
              UnorderedElementsAre("within_box.min_latitude", "within_box.max_longitude"));
  v1::ListComplaintsRequest both = Near(kMonas, 300);
  *both.mutable_within_box() = WithinBox(-6.3, 106.7, -6.1, 106.9).within_box();
  EXPECT_THAT(Violations(both), ElementsAre("near"));
}

TEST(GeoDistanceTest, HaversineOnRedisSphere) {
  EXPECT_NEAR(DistanceMeters(kMonas.lat, kMonas.lon, kBogor.lat, kBogor.lon), 46960, 300);
  EXPECT_NEAR(DistanceMeters(kMonas.lat, kMonas.lon, kNearMonas.lat, kNearMonas.lon), 224, 10);
  EXPECT_EQ(DistanceMeters(kMonas.lat, kMonas.lon, kMonas.lat, kMonas.lon), 0);
  // One degree of latitude on Redis' sphere.
  EXPECT_NEAR(DistanceMeters(0, 0, 1, 0), kEarthRadiusMeters * 3.14159265358979 / 180, 1e-6);
}

TEST(GeoSearchShapeTest, ABoxShapeHoldsEveryPointOfTheBox) {
  // Redis keeps a point when its latitude distance from the center is at most height/2 and its
  // distance along its own latitude from the center's meridian at most width/2.
  GeoArea area;
  area.kind = GeoArea::Kind::kBox;
  area.box = WithinBox(-6.7, 106.6, -6.1, 107.0).within_box();
  const GeoSearchShape s = SearchShapeOf(area);
  for (double lat : {-6.7, -6.4, -6.1}) {
    for (double lon : {106.6, 106.8, 107.0}) {
      EXPECT_LE(DistanceMeters(lat, s.longitude, s.latitude, s.longitude), s.height_m / 2);
      EXPECT_LE(DistanceMeters(lat, lon, lat, s.longitude), s.width_m / 2);
    }
  }
}

v1::Complaint Candidate(const std::string& id, Point p, const std::string& service,
                        absl::Time filed, v1::State state = v1::STATE_VERIFIED) {
  v1::Complaint c;
  c.set_id(id);
  c.set_service_id(service);
  c.set_state(state);
  c.mutable_location()->set_latitude(p.lat);
  c.mutable_location()->set_longitude(p.lon);
  c.mutable_file_time()->set_seconds(absl::ToUnixSeconds(filed));
  return c;
}

TEST(GeoDuplicatesTest, RankedNearestFirstSameServiceRecentNotArchived) {
  const absl::Time now = absl::FromUnixSeconds(1780000000);
  v1::Complaint filed = Candidate("NEW", kMonas, "jalan", now, v1::STATE_RECEIVED);
  std::vector<v1::Complaint> nearby = {
      Candidate("FAR", kFarMonas, "jalan", now - absl::Hours(1)),    // 430 m: out
      Candidate("NEAR", kNearMonas, "jalan", now - absl::Hours(2)),  // 220 m
      Candidate("SAME", kMonas, "jalan", now - absl::Hours(3)),      // 0 m
      Candidate("OTHER", kMonas, "parkir", now - absl::Hours(1)),    // another service
      Candidate("OLD", kMonas, "jalan", now - absl::Hours(24 * 8)),  // 8 days ago
      Candidate("ARCH", kMonas, "jalan", now, v1::STATE_ARCHIVED),   // archived
      Candidate("NEW", kMonas, "jalan", now, v1::STATE_RECEIVED),    // itself
  };
  std::vector<std::string> ids;
  for (const auto& d : RankDuplicates(filed, nearby, DuplicateOptions{})) {
    ids.push_back(d.complaint.id());
  }
  EXPECT_THAT(ids, ElementsAre("SAME", "NEAR"));

  // At most max_candidates, ties by id.
  std::vector<v1::Complaint> many;
  for (int i = 9; i >= 0; --i) {
    many.push_back(Candidate(absl::StrCat("C", i), kMonas, "jalan", now - absl::Minutes(i)));
  }
  ids.clear();
  for (const auto& d : RankDuplicates(filed, many, DuplicateOptions{})) {
    ids.push_back(d.complaint.id());
  }
  EXPECT_THAT(ids, ElementsAre("C0", "C1", "C2", "C3", "C4"));
  // Nothing without a service or a point.
  filed.clear_service_id();
  EXPECT_THAT(RankDuplicates(filed, nearby, DuplicateOptions{}), IsEmpty());
}

// The desk over the in-memory store.
class GeoDeskTest : public ::testing::Test {
 protected:
  GeoDeskTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2026, 4, 6, 9, 0, 0),
                               absl::FixedTimeZone(7 * 3600))) {}

  void SetUp() override {
    auto calendars = CalendarRegistry::Create(SIMPUL_HOLIDAYS_DIR);
    ASSERT_TRUE(calendars.ok()) << calendars.status();
    calendars_ = *std::move(calendars);
    for (const auto& [agency, unit, service] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"dki", "dinas-bina-marga-dki", "jalan-dki"},
             {"dki", "dinas-bina-marga-dki", "parkir-dki"},
             {"kota-bogor", "dpupr-kota-bogor", "jalan-kota-bogor"}}) {
      Route r;
      r.unit_id = unit;
      r.agency_id = agency;
      r.time_zone = common::v1::TIME_ZONE_WIB;
      router_.AddUnit(r);
      r.service_id = service;
      router_.AddService(r);
    }
    desk_ =
        std::make_unique<ComplaintDesk>(store_, router_, *calendars_, clock_, ComplaintOptions{});
  }

  v1::FileComplaintResponse File(const std::string& service, Point p,
                                 v1::Confidentiality conf = v1::CONFIDENTIALITY_PUBLIC) {
    v1::FileComplaintRequest r;
    r.set_idempotency_key(absl::StrCat("geo-test-key-", ++keys_));
    r.set_report_type(v1::REPORT_TYPE_COMPLAINT);
    r.set_channel(v1::CHANNEL_SMS);
    r.set_service_id(service);
    r.set_description("Jalan berlubang besar di depan halte, membahayakan pengendara motor.");
    r.mutable_location()->set_latitude(p.lat);
    r.mutable_location()->set_longitude(p.lon);
    r.mutable_complainant()->set_name("Budi Santoso");
    r.set_confidentiality(conf);
    auto resp = desk_->FileComplaint(ChannelCaller("sms-1708"), r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    clock_.Advance(absl::Minutes(1));
    return resp.ok() ? *resp : v1::FileComplaintResponse{};
  }

  void Verify(const std::string& id, const std::string& agency) {
    v1::VerifyComplaintRequest req;
    req.set_id(id);
    auto resp = desk_->VerifyComplaint(AgencyAdmin(agency), req);
    ASSERT_TRUE(resp.ok()) << resp.status();
  }

  std::vector<std::string> ListIds(const Identity& caller, v1::ListComplaintsRequest req,
                                   int page_size = 2) {
    std::vector<std::string> ids;
    req.mutable_page()->set_page_size(page_size);
    for (int round = 0; round < 50; ++round) {
      auto resp = desk_->ListComplaints(caller, req);
      EXPECT_TRUE(resp.ok()) << resp.status();
      if (!resp.ok()) break;
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
};

TEST_F(GeoDeskTest, ListsByRadiusAndBoxInTheCallersScope) {
  const std::string a = File("jalan-dki", kMonas).tracking_code();
  const std::string b = File("jalan-dki", kNearMonas).tracking_code();
  const std::string c = File("jalan-dki", kFarMonas, v1::CONFIDENTIALITY_SECRET).tracking_code();
  const std::string bogor = File("jalan-kota-bogor", kBogor).tracking_code();
  Verify(a, "dki");
  Verify(c, "dki");
  Verify(bogor, "kota-bogor");

  // The agency: its own cases in the circle, oldest first, over pages of 2.
  EXPECT_THAT(ListIds(AgencyAdmin("dki"), Near(kMonas, 300)), ElementsAre(a, b));
  EXPECT_THAT(ListIds(AgencyAdmin("dki"), Near(kMonas, 50000)), ElementsAre(a, b, c));
  EXPECT_THAT(ListIds(AgencyAdmin("dki"), WithinBox(-6.2, 106.8, -6.17, 106.84)),
              ElementsAre(a, b, c));
  EXPECT_THAT(ListIds(AgencyAdmin("kota-bogor"), Near(kMonas, 50000)), ElementsAre(bogor));
  // Just inside and just outside 300 m (the index search is a little wider: the desk keeps
  // only the cases inside the circle).
  const std::string inside =
      File("jalan-dki", {kMonas.lat + 0.0026963, kMonas.lon}).tracking_code();
  const std::string outside =
      File("jalan-dki", {kMonas.lat + 0.0026990, kMonas.lon}).tracking_code();
  EXPECT_THAT(ListIds(AgencyAdmin("dki"), Near(kMonas, 300)), ElementsAre(a, b, inside));
  EXPECT_THAT(ListIds(AgencyAdmin("dki"), Near(kMonas, 301)), ElementsAre(a, b, inside, outside));
  // Combined with the other filters.
  v1::ListComplaintsRequest verified = Near(kMonas, 50000);
  verified.add_states(v1::STATE_VERIFIED);
  EXPECT_THAT(ListIds(AgencyAdmin("dki"), verified), ElementsAre(a, c));
  // A box edge between two cases (latitude -6.176: a at -6.1754 in, b at -6.1768 out).
  EXPECT_THAT(ListIds(AgencyAdmin("dki"), WithinBox(-6.176, 106.82, -6.17, 106.84)),
              ElementsAre(a, inside, outside));
  // The public: listed cases only (b is not verified, c is SECRET), both cities in a box.
  const Identity public_caller;
  EXPECT_THAT(ListIds(public_caller, WithinBox(-6.7, 106.7, -6.1, 106.9)), ElementsAre(a, bogor));
  EXPECT_THAT(ListIds(public_caller, WithinBox(-6.3, 106.7, -6.1, 106.9)), ElementsAre(a));
  // Another agency may not ask for dki's.
  v1::ListComplaintsRequest other = Near(kMonas, 300);
  other.set_agency_id("dki");
  EXPECT_EQ(desk_->ListComplaints(AgencyAdmin("kota-bogor"), other).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Bad areas are refused naming the field.
  auto bad = desk_->ListComplaints(AgencyAdmin("dki"), Near(kMonas, 0));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(bad.status()), ElementsAre("near.radius_meters"));
}

TEST_F(GeoDeskTest, FilingSuggestsListedDuplicatesToTheChannelAndAllToTheOfficer) {
  const std::string listed = File("jalan-dki", kMonas).tracking_code();
  const std::string secret =
      File("jalan-dki", kNearMonas, v1::CONFIDENTIALITY_SECRET).tracking_code();
  const std::string unverified = File("jalan-dki", kMonas).tracking_code();
  File("parkir-dki", kMonas);    // another service
  File("jalan-dki", kFarMonas);  // 430 m away
  Verify(listed, "dki");
  Verify(secret, "dki");

  v1::FileComplaintResponse second = File("jalan-dki", {-6.1755, 106.8272});
  std::vector<std::string> shown;
  for (const auto& d : second.possible_duplicates()) shown.push_back(d.id());
  EXPECT_THAT(shown, ElementsAre(listed));  // never the SECRET or unverified one
  // The officer sees every candidate of its agency, nearest first.
  auto got = desk_->GetComplaint(AgencyAdmin("dki"), [&] {
    v1::GetComplaintRequest r;
    r.set_id(second.tracking_code());
    return r;
  }());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(got->complaint().possible_duplicate_ids(),
              UnorderedElementsAre(listed, unverified, secret));
  EXPECT_EQ(got->complaint().possible_duplicate_ids(2), secret);  // 220 m: the farthest

  // The officer archives it as a duplicate of the listed case.
  v1::ArchiveComplaintRequest archive;
  archive.set_id(second.tracking_code());
  archive.set_reason(v1::ARCHIVE_REASON_DUPLICATE);
  archive.set_duplicate_of(listed);
  auto archived = desk_->ArchiveComplaint(AgencyAdmin("dki"), archive);
  ASSERT_TRUE(archived.ok()) << archived.status();
  EXPECT_EQ(archived->complaint().state(), v1::STATE_ARCHIVED);

  // A case of another agency's service near Monas suggests none of dki's.
  EXPECT_THAT(File("jalan-kota-bogor", kMonas).possible_duplicates(), IsEmpty());
}

}  // namespace
}  // namespace simpul::complaints
