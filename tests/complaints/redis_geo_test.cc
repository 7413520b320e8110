// Integration tests of the geo indexes of RedisComplaintStore (geo.h) against a real
// redis-server: kept by every commit, filled for old cases by the backfill, searched by box and
// circle with paging in the caller's scope.
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/redis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/complaints/geo.h"
#include "services/complaints/redis_store.h"
#include "tests/testing/redis_fixture.h"

namespace simpul::complaints {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kPrefix[] = "simpul:cmp:{c}:";
constexpr int64_t kT0 = 1717372800000;  // 2024-06-03 00:00:00 UTC

google::protobuf::Timestamp Ts(int64_t ms) {
  google::protobuf::Timestamp t;
  t.set_seconds(ms / 1000);
  t.set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
  return t;
}

// Points around Jakarta (Monas) and Bogor (Kebun Raya).
struct Point {
  double lat, lon;
};
constexpr Point kMonas{-6.175392, 106.827153};
constexpr Point kNearMonas{-6.176800, 106.828600};  // about 220 m away
constexpr Point kKotaTua{-6.135200, 106.813300};    // about 4.7 km north
constexpr Point kBogor{-6.597600, 106.799600};      // about 47 km south

v1::ComplaintRecord Case(const std::string& id, int64_t file_ms, std::optional<Point> at,
                         const std::string& agency, v1::State state,
                         v1::Confidentiality conf = v1::CONFIDENTIALITY_PUBLIC) {
  v1::ComplaintRecord record;
  v1::Complaint* c = record.mutable_complaint();
  c->set_id(id);
  c->set_report_type(v1::REPORT_TYPE_COMPLAINT);
  c->set_channel(v1::CHANNEL_WEB);
  c->set_state(state);
  c->set_confidentiality(conf);
  c->set_agency_id(agency);
  c->set_service_id("svc");
  c->set_description("Jalan berlubang.");
  if (at) {
    c->mutable_location()->set_latitude(at->lat);
    c->mutable_location()->set_longitude(at->lon);
  }
  *c->mutable_file_time() = Ts(file_ms);
  *c->mutable_update_time() = Ts(file_ms);
  c->set_revision(1);
  record.set_last_sequence(1);
  return record;
}

CaseWrite Write(const v1::ComplaintRecord& after,
                const std::optional<v1::ComplaintRecord>& before = std::nullopt) {
  CaseWrite w;
  w.before = before;
  w.after = after;
  w.entry.set_sequence(after.last_sequence());
  w.entry.set_action(before ? "VerifyComplaint" : "FileComplaint");
  w.event.set_complaint_id(after.complaint().id());
  w.event.set_sequence(after.last_sequence());
  return w;
}

GeoArea Circle(Point center, double radius_m) {
  GeoArea area;
  area.kind = GeoArea::Kind::kCircle;
  area.circle.set_latitude(center.lat);
  area.circle.set_longitude(center.lon);
  area.circle.set_radius_meters(radius_m);
  return area;
}

GeoArea Box(double min_lat, double min_lon, double max_lat, double max_lon) {
  GeoArea area;
  area.kind = GeoArea::Kind::kBox;
  area.box.set_min_latitude(min_lat);
  area.box.set_min_longitude(min_lon);
  area.box.set_max_latitude(max_lat);
  area.box.set_max_longitude(max_lon);
  return area;
}

class RedisGeoTest : public simpul::testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    RedisOptions options = ServerOptions();
    pool_ = std::make_unique<RedisPool>(options);
    store_ = std::make_unique<RedisComplaintStore>(pool_.get(), RedisComplaintStore::Options{});
  }

  void MustCommit(const CaseWrite& w) {
    absl::StatusOr<CommitResult> r = store_->Commit(w);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->outcome, CommitResult::Outcome::kCommitted);
  }

  std::vector<std::string> GeoMembers(const std::string& index) {
    std::vector<std::string> out;
    for (const RedisReply& r :
         Raw({"ZRANGE", absl::StrCat(kPrefix, "ix:", index), "0", "-1"}).elements) {
      out.push_back(r.str);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Ids pages through ScanArea `page` at a time and returns the ids in order.
  std::vector<std::string> Ids(const std::string& geo_index, const GeoArea& area, int page,
                               const std::string& order = AllIndex()) {
    std::vector<std::string> ids;
    std::optional<IndexPosition> after;
    for (int round = 0; round < 100; ++round) {
      absl::StatusOr<std::vector<IndexedRecord>> got =
          store_->ScanArea(geo_index, area, order, INT64_MIN, INT64_MAX, after, page);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok() || got->empty()) break;
      for (const IndexedRecord& r : *got) {
        if (Contains(area, r.record.complaint().location())) ids.push_back(r.position.id);
      }
      after = got->back().position;
    }
    return ids;
  }

  std::unique_ptr<RedisComplaintStore> store_;
};

TEST_F(RedisGeoTest, EveryCommitKeepsTheGeoIndexesOfTheCaseScope) {
  MustCommit(Write(Case("A", kT0, kMonas, "dki", v1::STATE_RECEIVED)));
  MustCommit(Write(Case("NOPOINT", kT0 + 1, std::nullopt, "dki", v1::STATE_VERIFIED)));
  EXPECT_THAT(GeoMembers(GeoAllIndex()), ElementsAre("A"));
  EXPECT_THAT(GeoMembers(GeoAgencyIndex("dki")), ElementsAre("A"));
  EXPECT_THAT(GeoMembers(GeoPublicIndex()), IsEmpty());  // not verified yet

  // Verified: publicly listed, so in the public geo index too.
  v1::ComplaintRecord before = Case("A", kT0, kMonas, "dki", v1::STATE_RECEIVED);
  v1::ComplaintRecord verified = before;
  verified.mutable_complaint()->set_state(v1::STATE_VERIFIED);
  verified.mutable_complaint()->set_revision(2);
  verified.set_last_sequence(2);
  MustCommit(Write(verified, before));
  EXPECT_THAT(GeoMembers(GeoPublicIndex()), ElementsAre("A"));

  // Forwarded to another agency and made SECRET: leaves dki's and the public geo index.
  v1::ComplaintRecord moved = verified;
  moved.mutable_complaint()->set_agency_id("bogor");
  moved.mutable_complaint()->set_confidentiality(v1::CONFIDENTIALITY_SECRET);
  moved.mutable_complaint()->set_revision(3);
  moved.set_last_sequence(3);
  MustCommit(Write(moved, verified));
  EXPECT_THAT(GeoMembers(GeoAgencyIndex("dki")), IsEmpty());
  EXPECT_THAT(GeoMembers(GeoAgencyIndex("bogor")), ElementsAre("A"));
  EXPECT_THAT(GeoMembers(GeoPublicIndex()), IsEmpty());
  EXPECT_THAT(GeoMembers(GeoAllIndex()), ElementsAre("A"));

  // The point is stored as given (GEOPOS, within geohash precision).
  RedisReply pos = Raw({"GEOPOS", absl::StrCat(kPrefix, "ix:", GeoAllIndex()), "A"});
  ASSERT_EQ(pos.elements.size(), 1u);
  ASSERT_EQ(pos.elements[0].elements.size(), 2u);
  EXPECT_NEAR(std::stod(pos.elements[0].elements[0].str), kMonas.lon, 1e-5);
  EXPECT_NEAR(std::stod(pos.elements[0].elements[1].str), kMonas.lat, 1e-5);
}

TEST_F(RedisGeoTest, RadiusAndBoxFindTheCasesOfTheScopeInFilingOrderWithPaging) {
  // Twelve cases at Monas (dki), a neighbour 220 m away, Kota Tua, and Bogor (other agency).
  std::vector<std::string> monas;
  for (int i = 0; i < 12; ++i) {
    const std::string id = absl::StrCat("M", 10 + i);
    // Pairs share a filing millisecond: the page boundary must split runs of equal scores.
    MustCommit(Write(Case(id, kT0 + 1000 * (i / 2), kMonas, "dki", v1::STATE_RECEIVED)));
    monas.push_back(id);
  }
  MustCommit(Write(Case("NEAR", kT0 + 100000, kNearMonas, "dki", v1::STATE_RECEIVED)));
  MustCommit(Write(Case("KOTATUA", kT0 + 200000, kKotaTua, "dki", v1::STATE_RECEIVED)));
  MustCommit(Write(Case("BOGOR", kT0 + 300000, kBogor, "bogor", v1::STATE_RECEIVED)));

  std::vector<std::string> within_300 = monas;
  within_300.push_back("NEAR");
  for (int page : {1, 5, 50}) {
    SCOPED_TRACE(page);
    EXPECT_THAT(Ids(GeoAgencyIndex("dki"), Circle(kMonas, 300), page),
                ElementsAreArray(within_300));
  }
  // 100 m: not the neighbour.
  EXPECT_THAT(Ids(GeoAgencyIndex("dki"), Circle(kMonas, 100), 4), ElementsAreArray(monas));
  // 50 km around Monas: Bogor too, but only in the global index (dki's holds its own cases).
  EXPECT_THAT(Ids(GeoAgencyIndex("dki"), Circle(kMonas, 50000), 7),
              ::testing::Not(::testing::Contains("BOGOR")));
  EXPECT_THAT(Ids(GeoAllIndex(), Circle(kMonas, 50000), 7), ::testing::Contains("BOGOR"));
  EXPECT_THAT(Ids(GeoAgencyIndex("bogor"), Circle(kMonas, 50000), 7), ElementsAre("BOGOR"));

  // A box around central Jakarta: Monas, the neighbour and Kota Tua; not Bogor.
  std::vector<std::string> central = within_300;
  central.push_back("KOTATUA");
  EXPECT_THAT(Ids(GeoAllIndex(), Box(-6.2, 106.8, -6.1, 106.9), 3), ElementsAreArray(central));
  // A box whose edge runs between Monas and the neighbour (lat -6.176): the search shape is
  // wider, the exact test keeps only the Monas side.
  EXPECT_THAT(Ids(GeoAllIndex(), Box(-6.176, 106.82, -6.17, 106.83), 5), ElementsAreArray(monas));
  // Only the public geo index for the public: nothing is listed yet.
  EXPECT_THAT(Ids(GeoPublicIndex(), Box(-7, 106, -6, 107), 5), IsEmpty());
}

TEST_F(RedisGeoTest, FilingWindowAndUpdateOrderApply) {
  MustCommit(Write(Case("OLD", kT0, kMonas, "dki", v1::STATE_RECEIVED)));
  MustCommit(Write(Case("NEW", kT0 + 10000, kMonas, "dki", v1::STATE_RECEIVED)));
  absl::StatusOr<std::vector<IndexedRecord>> got = store_->ScanArea(
      GeoAllIndex(), Circle(kMonas, 10), AllIndex(), kT0 + 1, INT64_MAX, std::nullopt, 10);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].record.complaint().id(), "NEW");
  EXPECT_EQ((*got)[0].position.file_time_ms, kT0 + 10000);
  // Ordered by the updated index when asked.
  EXPECT_THAT(Ids(GeoAllIndex(), Circle(kMonas, 10), 1, UpdatedIndex()), ElementsAre("OLD", "NEW"));
}

TEST_F(RedisGeoTest, BackfillEntersCasesOfEarlierVersionsOnce) {
  MustCommit(Write(Case("A", kT0, kMonas, "dki", v1::STATE_VERIFIED)));
  MustCommit(Write(Case("B", kT0 + 1, kBogor, "bogor", v1::STATE_RECEIVED)));
  MustCommit(Write(Case("C", kT0 + 2, std::nullopt, "dki", v1::STATE_VERIFIED)));
  // As an earlier version left them: no geo index.
  for (const std::string& index :
       {GeoAllIndex(), GeoAgencyIndex("dki"), GeoAgencyIndex("bogor"), GeoPublicIndex()}) {
    Raw({"DEL", absl::StrCat(kPrefix, "ix:", index)});
  }
  EXPECT_THAT(Ids(GeoAllIndex(), Circle(kMonas, 50000), 10), IsEmpty());

  absl::StatusOr<int64_t> entered = store_->BackfillGeoIndex();
  ASSERT_TRUE(entered.ok()) << entered.status();
  EXPECT_EQ(*entered, 2);  // C has no point
  EXPECT_THAT(GeoMembers(GeoAllIndex()), ElementsAre("A", "B"));
  EXPECT_THAT(GeoMembers(GeoAgencyIndex("dki")), ElementsAre("A"));
  EXPECT_THAT(GeoMembers(GeoAgencyIndex("bogor")), ElementsAre("B"));
  EXPECT_THAT(GeoMembers(GeoPublicIndex()), ElementsAre("A"));
  EXPECT_THAT(Ids(GeoAllIndex(), Circle(kMonas, 50000), 1), ElementsAre("A", "B"));
  // Once: the marker spares later starts the SCAN.
  EXPECT_EQ(Raw({"EXISTS", absl::StrCat(kPrefix, "migrated:geo-index")}).integer, 1);
  Raw({"DEL", absl::StrCat(kPrefix, "ix:", GeoAllIndex())});
  entered = store_->BackfillGeoIndex();
  ASSERT_TRUE(entered.ok()) << entered.status();
  EXPECT_EQ(*entered, 0);
  // The updated index's backfill is the same mechanism with its own marker.
  absl::StatusOr<int64_t> updated = store_->BackfillUpdatedIndex();
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(*updated, 3);
}

TEST_F(RedisGeoTest, AnAreaHoldingMoreCasesThanTheBoundIsRefused) {
  for (int i = 0; i < 4; ++i) {
    MustCommit(Write(Case(absl::StrCat("M", i), kT0 + i, kMonas, "dki", v1::STATE_RECEIVED)));
  }
  MustCommit(Write(Case("BOGOR", kT0 + 9, kBogor, "dki", v1::STATE_RECEIVED)));
  RedisComplaintStore bounded(pool_.get(), RedisComplaintStore::Options{.area_max_cases = 3});
  absl::StatusOr<std::vector<IndexedRecord>> got = bounded.ScanArea(
      GeoAllIndex(), Circle(kMonas, 100), AllIndex(), INT64_MIN, INT64_MAX, std::nullopt, 2);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
  EXPECT_THAT(std::string(got.status().message()), ::testing::HasSubstr("more than 3"));
  got = bounded.ScanArea(GeoAllIndex(), Circle(kBogor, 100), AllIndex(), INT64_MIN, INT64_MAX,
                         std::nullopt, 2);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
}

TEST_F(RedisGeoTest, AreaScanOfManyCasesIsBounded) {
  // 3,000 located cases of one agency within 2 km of Monas: one page of 50 in a 1 km circle.
  constexpr int kCases = 3000;
  for (int i = 0; i < kCases; ++i) {
    const double dlat = ((i * 37) % 200 - 100) * 0.00018;  // up to ~2 km
    const double dlon = ((i * 53) % 200 - 100) * 0.00018;
    MustCommit(Write(Case(absl::StrCat("X", 100000 + i), kT0 + i,
                          Point{kMonas.lat + dlat, kMonas.lon + dlon}, "dki", v1::STATE_RECEIVED)));
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<IndexedRecord>> got =
      store_->ScanArea(GeoAgencyIndex("dki"), Circle(kMonas, 1000), AllIndex(), INT64_MIN,
                       INT64_MAX, std::nullopt, 50);
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 50u);
  std::cout << "[ figures ] one page of 50 in a 1 km circle holding part of " << kCases
            << " cases: " << absl::FormatDuration(took) << "\n";
  EXPECT_LT(took, absl::Seconds(2));
}

}  // namespace
}  // namespace simpul::complaints
