#include "services/monitoring/aggregates.h"

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_aggregate_store.h"

namespace simpul::monitoring {
namespace {

namespace cv1 = ::simpul::complaints::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

const absl::TimeZone kWib = absl::FixedTimeZone(7 * 3600);

absl::Time Wib(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), kWib);
}
absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
}
google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

const HolidayCalendar& Calendar() {
  static const HolidayCalendar* calendar = [] {
    absl::StatusOr<HolidayCalendar> c = HolidayCalendar::LoadFromDirectory(SIMPUL_HOLIDAYS_DIR);
    EXPECT_TRUE(c.ok()) << c.status();
    return new HolidayCalendar(c.ok() ? *c : HolidayCalendar());
  }();
  return *calendar;
}

UnitInfo Bogor() {
  return UnitInfo{"dpmptsp-bogor", "kota-bogor", "32.71", common::v1::TIME_ZONE_WIB};
}

// A store in memory with the AggregateStore::Apply semantics (dedup, every increment to every
// bucket), enough to sum contributions. Get reads as ReadBuckets does: a quarter, semester or
// year as the sum of its months.
struct FakeStore {
  std::map<std::string, Counters> buckets;
  std::set<std::string> applied;
  bool Apply(const Contribution& c) {
    if (!applied.insert(c.dedup_key).second) return false;
    for (const std::string& b : c.buckets) {
      for (const Increment& i : c.increments) buckets[b][i.field] += i.delta;
    }
    return true;
  }
  void ApplyAll(const std::vector<Contribution>& cs) {
    for (const Contribution& c : cs) Apply(c);
  }
  Counters Sum(const std::string& bucket) {
    const size_t bar = bucket.rfind('|');
    Counters sum;
    for (const std::string& month : MonthKeysOf(bucket.substr(bar + 1))) {
      for (const auto& [field, value] : buckets[BucketKey(bucket.substr(0, bar), month)]) {
        sum[field] += value;
      }
    }
    return sum;
  }
  int64_t Get(const std::string& bucket, const std::string& field) {
    const Counters c = Sum(bucket);
    auto it = c.find(field);
    return it == c.end() ? 0 : it->second;
  }
};

std::map<std::string, int64_t> AsMap(const std::vector<Increment>& incs) {
  std::map<std::string, int64_t> out;
  for (const Increment& i : incs) out[i.field] += i.delta;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scopes and periods.

TEST(ScopeTest, ScopeKeysOfAUnit) {
  EXPECT_THAT(ScopeKeys(Bogor()),
              ElementsAre("u:dpmptsp-bogor", "a:kota-bogor", "r:32", "r:32.71", "n"));
  EXPECT_THAT(
      ScopeKeys(UnitInfo{"desa-x", "kab-x", "33.73.04.1001", {}}),
      ElementsAre("u:desa-x", "a:kab-x", "r:33", "r:33.73", "r:33.73.04", "r:33.73.04.1001", "n"));
  EXPECT_THAT(ScopeKeys(UnitInfo{}), ElementsAre("n"));
  EXPECT_THAT(ScopeKeys(UnitInfo{"", "kab-x", "bad", {}}), ElementsAre("a:kab-x", "n"));
}

TEST(ScopeTest, ScopeKeyValidates) {
  v1::Scope s;
  s.set_region_code_prefix("32.71");
  EXPECT_EQ(*ScopeKey(s), "r:32.71");
  s.set_unit_id("dpmptsp-bogor");
  EXPECT_EQ(*ScopeKey(s), "u:dpmptsp-bogor");
  s.set_national(true);
  EXPECT_EQ(*ScopeKey(s), "n");

  auto bad = [](v1::Scope scope) { return ScopeKey(scope).status(); };
  v1::Scope agency;
  agency.set_agency_id("Kota Bogor");
  EXPECT_EQ(bad(agency).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad(agency).message(), HasSubstr("scope.agency_id"));
  v1::Scope region;
  region.set_region_code_prefix("32.7");
  EXPECT_THAT(bad(region).message(), HasSubstr("scope.region_code_prefix"));
  v1::Scope national;
  national.set_national(false);
  EXPECT_THAT(bad(national).message(), HasSubstr("scope.national"));
  EXPECT_THAT(bad(v1::Scope()).message(), HasSubstr("scope: required"));
  EXPECT_THAT(ScopeKey(v1::Scope(), "of").status().message(), HasSubstr("of: required"));
}

TEST(PeriodTest, PeriodKeysUseWibDates) {
  const auto wib = common::v1::TIME_ZONE_WIB;
  // 2026-03-31 23:30 WIB is 16:30 UTC: still March.
  EXPECT_EQ(Wib(2026, 3, 31, 23, 30), Utc(2026, 3, 31, 16, 30));
  EXPECT_THAT(PeriodKeys(Utc(2026, 3, 31, 16, 30), wib),
              ElementsAre("2026-M03", "2026-Q1", "2026-S1", "2026-Y"));
  // 2026-06-30 17:30 UTC is 2026-07-01 00:30 WIB: July, Q3, S2.
  EXPECT_THAT(PeriodKeys(Utc(2026, 6, 30, 17, 30), wib),
              ElementsAre("2026-M07", "2026-Q3", "2026-S2", "2026-Y"));
  EXPECT_THAT(PeriodKeys(Utc(2025, 12, 31, 17, 0), wib),
              ElementsAre("2026-M01", "2026-Q1", "2026-S1", "2026-Y"));
  EXPECT_THAT(PeriodKeys(Utc(2025, 12, 31, 16, 59), wib),
              ElementsAre("2025-M12", "2025-Q4", "2025-S2", "2025-Y"));
  // UNSPECIFIED reads as WIB.
  EXPECT_THAT(PeriodKeys(Utc(2025, 12, 31, 16, 59), common::v1::TIME_ZONE_UNSPECIFIED),
              ElementsAre("2025-M12", "2025-Q4", "2025-S2", "2025-Y"));
}

TEST(PeriodTest, PeriodKeysUseTheUnitsOwnZone) {
  const auto wib = common::v1::TIME_ZONE_WIB;
  const auto wita = common::v1::TIME_ZONE_WITA;
  const auto wit = common::v1::TIME_ZONE_WIT;
  // 2026-03-31T15:30Z: + 9 h = 2026-04-01 00:30 WIT (April, Q2); + 8 h = 23:30 WITA and
  // + 7 h = 22:30 WIB on March 31 (March, Q1).
  EXPECT_THAT(PeriodKeys(Utc(2026, 3, 31, 15, 30), wit),
              ElementsAre("2026-M04", "2026-Q2", "2026-S1", "2026-Y"));
  EXPECT_THAT(PeriodKeys(Utc(2026, 3, 31, 15, 30), wita),
              ElementsAre("2026-M03", "2026-Q1", "2026-S1", "2026-Y"));
  EXPECT_THAT(PeriodKeys(Utc(2026, 3, 31, 15, 30), wib),
              ElementsAre("2026-M03", "2026-Q1", "2026-S1", "2026-Y"));
  // 2026-06-30T16:00Z: + 8 h = 2026-07-01 00:00 WITA exactly, the first instant of July (Q3,
  // S2); one second earlier is 23:59:59 WITA on June 30; + 7 h = 23:00 WIB June 30.
  EXPECT_THAT(PeriodKeys(Utc(2026, 6, 30, 16, 0), wita),
              ElementsAre("2026-M07", "2026-Q3", "2026-S2", "2026-Y"));
  EXPECT_THAT(PeriodKeys(Utc(2026, 6, 30, 16, 0) - absl::Seconds(1), wita),
              ElementsAre("2026-M06", "2026-Q2", "2026-S1", "2026-Y"));
  EXPECT_THAT(PeriodKeys(Utc(2026, 6, 30, 16, 0), wib),
              ElementsAre("2026-M06", "2026-Q2", "2026-S1", "2026-Y"));
  // The year: 2025-12-31T15:00Z is 2026-01-01 00:00 WIT (the new year), 23:00 WITA and
  // 22:00 WIB on December 31 (the old one); 14:59Z is 23:59 WIT on December 31.
  EXPECT_THAT(PeriodKeys(Utc(2025, 12, 31, 15, 0), wit),
              ElementsAre("2026-M01", "2026-Q1", "2026-S1", "2026-Y"));
  EXPECT_THAT(PeriodKeys(Utc(2025, 12, 31, 14, 59), wit),
              ElementsAre("2025-M12", "2025-Q4", "2025-S2", "2025-Y"));
  EXPECT_THAT(PeriodKeys(Utc(2025, 12, 31, 15, 0), wita),
              ElementsAre("2025-M12", "2025-Q4", "2025-S2", "2025-Y"));
  // 2025-12-31T16:00Z is 2026-01-01 00:00 WITA.
  EXPECT_THAT(PeriodKeys(Utc(2025, 12, 31, 16, 0), wita),
              ElementsAre("2026-M01", "2026-Q1", "2026-S1", "2026-Y"));
  EXPECT_EQ(ZoneName(wit), "WIT");
  EXPECT_EQ(ZoneName(wita), "WITA");
  EXPECT_EQ(ZoneName(common::v1::TIME_ZONE_UNSPECIFIED), "WIB");
}

UnitInfo Jayapura() {  // a WIT unit
  return UnitInfo{"dpmptsp-jayapura", "kota-jayapura", "91.71", common::v1::TIME_ZONE_WIT};
}

TEST(PeriodTest, EveryScopeOfAnInputGetsTheUnitsLocalPeriods) {
  // 2026-03-31T15:30Z = 00:30 WIT on April 1: April for the unit, its agency, its regions and
  // the nation, none of them March.
  const std::vector<std::string> b = Buckets(Jayapura(), Utc(2026, 3, 31, 15, 30));
  EXPECT_EQ(b.size(), 5u);  // 5 scopes × the month
  for (const char* scope : {"u:dpmptsp-jayapura", "a:kota-jayapura", "r:91", "r:91.71", "n"}) {
    EXPECT_THAT(b, ::testing::Contains(absl::StrCat(scope, "|2026-M04")));
    EXPECT_THAT(b, ::testing::Not(::testing::Contains(absl::StrCat(scope, "|2026-M03"))));
  }
  // A WIB unit at the same instant, 22:30 WIB on March 31: March everywhere.
  const std::vector<std::string> w = Buckets(Bogor(), Utc(2026, 3, 31, 15, 30));
  for (const char* scope : {"u:dpmptsp-bogor", "a:kota-bogor", "r:32", "r:32.71", "n"}) {
    EXPECT_THAT(w, ::testing::Contains(absl::StrCat(scope, "|2026-M03")));
    EXPECT_THAT(w, ::testing::Not(::testing::Contains(absl::StrCat(scope, "|2026-M04"))));
  }
}

TEST(PeriodTest, BucketsAreEveryScopeInTheMonthOnly) {
  const std::vector<std::string> b = Buckets(Bogor(), Wib(2026, 5, 10, 12));
  EXPECT_THAT(b, ElementsAre("u:dpmptsp-bogor|2026-M05", "a:kota-bogor|2026-M05", "r:32|2026-M05",
                             "r:32.71|2026-M05", "n|2026-M05"));
}

TEST(PeriodTest, LongerPeriodsAreTheirMonths) {
  EXPECT_THAT(MonthKeysOf("2026-Q1"), ElementsAre("2026-M01", "2026-M02", "2026-M03"));
  EXPECT_THAT(MonthKeysOf("2026-Q4"), ElementsAre("2026-M10", "2026-M11", "2026-M12"));
  EXPECT_THAT(MonthKeysOf("2026-S2"),
              ElementsAre("2026-M07", "2026-M08", "2026-M09", "2026-M10", "2026-M11", "2026-M12"));
  const std::vector<std::string> year = MonthKeysOf("2031-Y");
  ASSERT_EQ(year.size(), 12u);
  EXPECT_EQ(year.front(), "2031-M01");
  EXPECT_EQ(year.back(), "2031-M12");
  // Months and anything that is not a period key read as themselves.
  for (const char* key : {"2026-M03", "std", "agencies", "2026-Q5", "2026-S0", "x-Y", "-Y", ""}) {
    EXPECT_THAT(MonthKeysOf(key), ElementsAre(key)) << key;
  }
  EXPECT_THAT(PeriodsOfMonth("2026-M05"), ElementsAre("2026-M05", "2026-Q2", "2026-S1", "2026-Y"));
  EXPECT_THAT(PeriodsOfMonth("2026-M12"), ElementsAre("2026-M12", "2026-Q4", "2026-S2", "2026-Y"));
  for (const char* key :
       {"2026-Q1", "2026-M13", "2026-M00", "2026-M1", "2026-M+1", "x-M01", "std"}) {
    EXPECT_THAT(PeriodsOfMonth(key), ElementsAre(key)) << key;
  }
  // Every period of an instant sums exactly the month it is stored in.
  for (const std::string& period :
       PeriodKeys(Wib(2026, 8, 31, 23, 59), common::v1::TIME_ZONE_WIB)) {
    EXPECT_THAT(MonthKeysOf(period), ::testing::Contains("2026-M08")) << period;
  }
}

TEST(PeriodTest, ReadBucketsSumsTheMonthsOfLongerPeriods) {
  ::simpul::testing::FakeAggregateStore store;
  auto apply = [&](std::string key, std::string bucket, int64_t n, int64_t sum) {
    ASSERT_TRUE(
        store.Apply(Contribution{std::move(key), {std::move(bucket)}, {{"s.n", n}, {"x", sum}}})
            .ok());
  };
  apply("a", "u:x|2026-M01", 1, 10);
  apply("b", "u:x|2026-M03", 2, 20);
  apply("c", "u:x|2026-M04", 4, 40);
  apply("d", "u:x|2026-M12", 8, 80);
  apply("e", "u:y|2026-M03", 16, 160);  // another scope: never summed into u:x
  apply("f", "u:x|2025-M12", 32, 320);  // another year
  // A quarter bucket as stored before month-only buckets: no longer read.
  apply("g", "u:x|2026-Q1", 1000, 1000);
  ASSERT_TRUE(store.Apply(Contribution{"h", {"directory|agencies"}, {{"kota-bogor", 1}}}).ok());

  absl::StatusOr<std::vector<Counters>> read =
      ReadBuckets(store, {"u:x|2026-Q1", "u:x|2026-M03", "u:x|2026-S1", "u:x|2026-S2", "u:x|2026-Y",
                          "u:x|2026-Q3", "u:y|2026-Y", "directory|agencies", "u:x|2025-Y"});
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 9u);
  const std::vector<Counters>& r = *read;
  EXPECT_EQ(r[0], (Counters{{"s.n", 3}, {"x", 30}}));    // Q1: January and March
  EXPECT_EQ(r[1], (Counters{{"s.n", 2}, {"x", 20}}));    // March alone
  EXPECT_EQ(r[2], (Counters{{"s.n", 7}, {"x", 70}}));    // S1: January, March, April
  EXPECT_EQ(r[3], (Counters{{"s.n", 8}, {"x", 80}}));    // S2: December
  EXPECT_EQ(r[4], (Counters{{"s.n", 15}, {"x", 150}}));  // the year
  EXPECT_TRUE(r[5].empty());                             // Q3: nothing
  EXPECT_EQ(r[6], (Counters{{"s.n", 16}, {"x", 160}}));
  EXPECT_EQ(r[7], (Counters{{"kota-bogor", 1}}));  // not a period: read as stored
  EXPECT_EQ(r[8], (Counters{{"s.n", 32}, {"x", 320}}));
  absl::StatusOr<std::vector<Counters>> none = ReadBuckets(store, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // The named counters only, summed the same way; a counter that sums to 0 is left out.
  ASSERT_TRUE(store.Apply(Contribution{"i", {"u:x|2026-M02"}, {{"x", -10}}}).ok());
  absl::StatusOr<std::vector<Counters>> some =
      ReadBucketFields(store, {"u:x|2026-Q1", "u:x|2026-Y", "u:x|2026-M02"}, {"x", "absent"});
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_THAT(*some, ElementsAre(Counters{{"x", 20}}, Counters{{"x", 140}}, Counters{{"x", -10}}));
  ASSERT_TRUE(store.Apply(Contribution{"j", {"u:x|2026-M03"}, {{"x", -20}}}).ok());
  some = ReadBucketFields(store, {"u:x|2026-Q1"}, {"x", "s.n"});
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_THAT(*some, ElementsAre(Counters{{"s.n", 3}}));  // x: 10 - 10 + 20 - 20
}

TEST(VoidTest, UnitPeriodsOfALedgerAreItsMonthsWithTheirLongerPeriods) {
  Ledger ledger;
  ledger.applied.push_back(
      Contribution{"survey:u1:k", {"u:u1|2026-M03", "a:x|2026-M03", "n|2026-M03"}, {{"s.n", 1}}});
  ledger.applied.push_back(Contribution{"other", {"u:u1|2026-M07", "u:u10|2026-M08"}, {}});
  EXPECT_THAT(UnitPeriodsOf(ledger, "u1"), ElementsAre("2026-M03", "2026-M07", "2026-Q1", "2026-Q3",
                                                       "2026-S1", "2026-S2", "2026-Y"));
  // A ledger written when every period had its own bucket lists them all already.
  Ledger legacy;
  legacy.applied.push_back(Contribution{
      "survey:u1:k", {"u:u1|2026-M03", "u:u1|2026-Q1", "u:u1|2026-S1", "u:u1|2026-Y"}, {}});
  EXPECT_THAT(UnitPeriodsOf(legacy, "u1"), ElementsAre("2026-M03", "2026-Q1", "2026-S1", "2026-Y"));
}

TEST(PeriodTest, ReadSurveyCountsSumsTheSurveyCountersOfTheMonths) {
  ::simpul::testing::FakeAggregateStore store;
  ASSERT_TRUE(store.Apply(Contribution{"a", {"u:x|2026-M01"}, {{"s.n", 1}, {"s.u9.n", 1}}}).ok());
  ASSERT_TRUE(
      store
          .Apply(Contribution{
              "b", {"u:x|2026-M02"}, {{"s.n", 2}, {"s.u1.sum", 8}, {"s.u1.n", 2}, {"d.done", 4}}})
          .ok());
  absl::StatusOr<std::vector<SurveyCounts>> read =
      ReadSurveyCounts(store, {"u:x|2026-Q1", "u:x|2026-M02", "u:x|2026-Q2"});
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  SurveyCounts q1{};
  q1[0] = 3;   // s.n
  q1[1] = 8;   // s.u1.sum
  q1[2] = 2;   // s.u1.n
  q1[18] = 1;  // s.u9.n
  EXPECT_EQ((*read)[0], q1);
  EXPECT_EQ((*read)[1][0], 2);
  EXPECT_EQ((*read)[2], SurveyCounts{});
  EXPECT_EQ(SurveyCounterFields().size(), static_cast<size_t>(kSurveyCounters));
  EXPECT_EQ(SurveyCounterFields()[18], "s.u9.n");
  // The IKM of the counts is the IKM of the counters they come from.
  const Counters counters = {{"s.n", 4},    {"s.u1.sum", 14}, {"s.u1.n", 4}, {"s.u2.sum", 11},
                             {"s.u2.n", 4}, {"s.u9.sum", 5},  {"s.u9.n", 2}, {"d.done", 9}};
  EXPECT_EQ(IkmValue(SurveyCountsOf(counters)), MetricValue(v1::METRIC_IKM, counters));
  EXPECT_TRUE(IkmValue(SurveyCountsOf(counters)).has_value());
  EXPECT_FALSE(IkmValue(SurveyCounts{}).has_value());
}

v1::Period P(v1::PeriodKind kind, int year, int index) {
  v1::Period p;
  p.set_kind(kind);
  p.set_year(year);
  p.set_index(index);
  return p;
}

TEST(PeriodTest, PeriodKeyValidates) {
  const absl::Time now = Utc(2026, 3, 31, 16, 30);  // 2026-03-31 23:30 WIB
  EXPECT_EQ(*PeriodKey(P(v1::PERIOD_KIND_MONTH, 2026, 3), now), "2026-M03");
  EXPECT_EQ(*PeriodKey(P(v1::PERIOD_KIND_QUARTER, 2025, 4), now), "2025-Q4");
  EXPECT_EQ(*PeriodKey(P(v1::PERIOD_KIND_SEMESTER, 2026, 1), now), "2026-S1");
  EXPECT_EQ(*PeriodKey(P(v1::PERIOD_KIND_YEAR, 2026, 0), now), "2026-Y");
  EXPECT_EQ(*PeriodKey(P(v1::PERIOD_KIND_YEAR, 2026, 1), now), "2026-Y");

  auto message = [&](v1::Period p) {
    absl::StatusOr<std::string> k = PeriodKey(p, now, "from");
    EXPECT_EQ(k.status().code(), absl::StatusCode::kInvalidArgument) << p.DebugString();
    return std::string(k.status().message());
  };
  EXPECT_THAT(message(P(v1::PERIOD_KIND_MONTH, 2026, 13)), HasSubstr("from.index"));
  EXPECT_THAT(message(P(v1::PERIOD_KIND_MONTH, 2026, 0)), HasSubstr("from.index"));
  EXPECT_THAT(message(P(v1::PERIOD_KIND_QUARTER, 2025, 5)), HasSubstr("from.index"));
  EXPECT_THAT(message(P(v1::PERIOD_KIND_SEMESTER, 2025, 3)), HasSubstr("from.index"));
  EXPECT_THAT(message(P(v1::PERIOD_KIND_YEAR, 2025, 2)), HasSubstr("from.index"));
  EXPECT_THAT(message(P(v1::PERIOD_KIND_MONTH, 1999, 1)), HasSubstr("from.year"));
  EXPECT_THAT(message(P(v1::PERIOD_KIND_UNSPECIFIED, 2026, 1)), HasSubstr("from.kind"));
  // The future: April starts after today (WIB); 16:30Z is already 01:30 on April 1 in WIT.
  EXPECT_THAT(message(P(v1::PERIOD_KIND_MONTH, 2026, 4)), HasSubstr("from: the period 2026-M04"));
  EXPECT_THAT(message(P(v1::PERIOD_KIND_QUARTER, 2026, 2)), HasSubstr("starts after today"));
  EXPECT_THAT(message(P(v1::PERIOD_KIND_YEAR, 2027, 0)), HasSubstr("starts after today"));
  // One hour later it is April 1 in WIB.
  EXPECT_EQ(*PeriodKey(P(v1::PERIOD_KIND_MONTH, 2026, 4), now + absl::Hours(1)), "2026-M04");
}

TEST(PeriodTest, PeriodKeyReadsTodayInTheGivenZone) {
  const v1::Period april = P(v1::PERIOD_KIND_MONTH, 2026, 4);
  // 2026-03-31T15:30Z: 00:30 WIT on April 1 (April has begun), 22:30 WIB on March 31 (not).
  const absl::Time now = Utc(2026, 3, 31, 15, 30);
  EXPECT_EQ(PeriodKey(april, now, "period", common::v1::TIME_ZONE_WIT).value_or("rejected"),
            "2026-M04");
  EXPECT_THAT(PeriodKey(april, now, "period", common::v1::TIME_ZONE_WIB).status().message(),
              HasSubstr("period: the period 2026-M04 starts after today (2026-03-31 WIB)"));
  // 30 minutes earlier it is 23:30 WIT on March 31: not yet in WIT either.
  EXPECT_THAT(PeriodKey(april, now - absl::Minutes(31), "period", common::v1::TIME_ZONE_WIT)
                  .status()
                  .message(),
              HasSubstr("starts after today (2026-03-31 WIT)"));
  // WITA: April begins at 2026-03-31T16:00Z.
  EXPECT_FALSE(
      PeriodKey(april, Utc(2026, 3, 31, 15, 59), "period", common::v1::TIME_ZONE_WITA).ok());
  EXPECT_TRUE(PeriodKey(april, Utc(2026, 3, 31, 16, 0), "period", common::v1::TIME_ZONE_WITA).ok());
}

TEST(PeriodTest, NextPeriod) {
  auto next = [](v1::Period p) {
    v1::Period n = NextPeriod(p);
    return std::make_pair(n.year(), n.index());
  };
  EXPECT_EQ(next(P(v1::PERIOD_KIND_MONTH, 2026, 3)), std::make_pair(2026, 4));
  EXPECT_EQ(next(P(v1::PERIOD_KIND_MONTH, 2026, 12)), std::make_pair(2027, 1));
  EXPECT_EQ(next(P(v1::PERIOD_KIND_QUARTER, 2026, 4)), std::make_pair(2027, 1));
  EXPECT_EQ(next(P(v1::PERIOD_KIND_SEMESTER, 2026, 1)), std::make_pair(2026, 2));
  EXPECT_EQ(next(P(v1::PERIOD_KIND_YEAR, 2026, 0)), std::make_pair(2027, 1));
  EXPECT_EQ(NextPeriod(P(v1::PERIOD_KIND_QUARTER, 2026, 4)).kind(), v1::PERIOD_KIND_QUARTER);
}

// ---------------------------------------------------------------------------------------------
// Survey.

v1::SurveyResponse Response(std::vector<int> answers, std::string key = "kiosk-0001",
                            absl::Time at = Wib(2026, 3, 10, 9)) {
  v1::SurveyResponse r;
  r.set_idempotency_key(key);
  r.set_unit_id("dpmptsp-bogor");
  *r.mutable_response_time() = Ts(at);
  for (int a : answers) r.add_answers(a);
  return r;
}

const absl::Time kNow = Wib(2026, 3, 31, 12);

TEST(SurveyTest, ContributionIncrements) {
  const UnitInfo unit = Bogor();
  absl::StatusOr<Contribution> c =
      SurveyContribution(Response({4, 3, 0, 2, 1, 4, 4, 3, 2}), &unit, kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->dedup_key, "survey:dpmptsp-bogor:kiosk-0001");
  EXPECT_EQ(c->buckets, Buckets(unit, Wib(2026, 3, 10, 9)));
  EXPECT_EQ(AsMap(c->increments), (std::map<std::string, int64_t>{{"s.n", 1},
                                                                  {"s.u1.sum", 4},
                                                                  {"s.u1.n", 1},
                                                                  {"s.u2.sum", 3},
                                                                  {"s.u2.n", 1},
                                                                  {"s.u4.sum", 2},
                                                                  {"s.u4.n", 1},
                                                                  {"s.u5.sum", 1},
                                                                  {"s.u5.n", 1},
                                                                  {"s.u6.sum", 4},
                                                                  {"s.u6.n", 1},
                                                                  {"s.u7.sum", 4},
                                                                  {"s.u7.n", 1},
                                                                  {"s.u8.sum", 3},
                                                                  {"s.u8.n", 1},
                                                                  {"s.u9.sum", 2},
                                                                  {"s.u9.n", 1}}));
}

TEST(SurveyTest, ValidationNamesFields) {
  const UnitInfo unit = Bogor();
  auto message = [&](const v1::SurveyResponse& r, const UnitInfo* u) {
    absl::StatusOr<Contribution> c = SurveyContribution(r, u, kNow);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(c.status().message());
  };
  const std::string out_of_range = message(Response({4, 5, 3, 3, -1, 3, 3, 3, 3}), &unit);
  EXPECT_THAT(out_of_range, HasSubstr("answers.u2: must be 1..4"));
  EXPECT_THAT(out_of_range, HasSubstr("answers.u5: must be 1..4"));
  EXPECT_THAT(message(Response({4, 4, 3, 3, 3, 3, 3, 3}), &unit),
              HasSubstr("answers: must have exactly 9 values (U1..U9), got 8"));
  EXPECT_THAT(message(Response({0, 0, 0, 0, 0, 0, 0, 0, 0}), &unit),
              HasSubstr("answers: at least one element"));
  EXPECT_THAT(message(Response({3, 3, 3, 3, 3, 3, 3, 3, 3}), nullptr),
              HasSubstr("unit_id: unknown unit \"dpmptsp-bogor\""));
  const UnitInfo other{"other-unit", "kota-bogor", "32.71", common::v1::TIME_ZONE_WIB};
  EXPECT_THAT(message(Response({3, 3, 3, 3, 3, 3, 3, 3, 3}), &other), HasSubstr("unit_id"));
  EXPECT_THAT(
      message(Response({3, 3, 3, 3, 3, 3, 3, 3, 3}, "kiosk-0001", kNow + absl::Hours(1)), &unit),
      HasSubstr("response_time: must not be in the future"));
  EXPECT_THAT(message(Response({3, 3, 3, 3, 3, 3, 3, 3, 3}, "short"), &unit),
              HasSubstr("idempotency_key"));
  EXPECT_THAT(message(Response({3, 3, 3, 3, 3, 3, 3, 3, 3}, "has space 123"), &unit),
              HasSubstr("idempotency_key"));
  v1::SurveyResponse no_time = Response({3, 3, 3, 3, 3, 3, 3, 3, 3});
  no_time.clear_response_time();
  no_time.clear_unit_id();
  const std::string both = message(no_time, &unit);
  EXPECT_THAT(both, HasSubstr("response_time: required"));
  EXPECT_THAT(both, HasSubstr("unit_id: required"));
  // Batch prefixes.
  FieldViolations v;
  SurveyResponseViolations(Response({9, 3, 3, 3, 3, 3, 3, 3, 3}), true, kNow, "responses[2].", v);
  EXPECT_THAT(v.ToStatus("batch").message(), HasSubstr("responses[2].answers.u1"));
}

TEST(SurveyTest, FiguresFromCountersEqualComputeIkm) {
  const UnitInfo unit = Bogor();
  const std::vector<std::vector<int>> answers = {
      {3, 3, 2, 4, 3, 3, 4, 3, 3},
      {4, 3, 3, 4, 3, 4, 4, 3, 0},
      {3, 2, 3, 4, 3, 3, 4, 2, 0},
      {4, 3, 2, 4, 4, 3, 4, 3, 2},
  };
  FakeStore store;
  SurveyTally tally;
  for (size_t i = 0; i < answers.size(); ++i) {
    absl::StatusOr<Contribution> c =
        SurveyContribution(Response(answers[i], absl::StrCat("kiosk-000", i)), &unit, kNow);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_TRUE(store.Apply(*c));
    EXPECT_FALSE(store.Apply(*c));  // a repeat changes nothing
    SurveyResponse r;
    for (int e = 0; e < kElementCount; ++e) r.answers[e] = answers[i][e];
    ASSERT_TRUE(tally.Add(r).ok());
  }
  const std::string bucket = "a:kota-bogor|2026-M03";
  absl::StatusOr<IkmResult> expected = ComputeIkm(tally);
  ASSERT_TRUE(expected.ok());

  absl::StatusOr<v1::SurveyFigures> f = SurveyFiguresFrom(store.buckets[bucket], 100);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->respondents(), 4);
  EXPECT_EQ(f->ikm(), expected->ikm_text);
  EXPECT_EQ(f->ikm(), "79.17");
  EXPECT_EQ(f->grade(), "B");
  EXPECT_EQ(f->grade_label(), expected->grade_label);
  ASSERT_EQ(f->elements_size(), 9);
  EXPECT_EQ(f->elements(8).element(), "U9");
  EXPECT_EQ(f->elements(8).respondents(), 2);
  EXPECT_EQ(f->elements(8).nrr(), "2.50");
  EXPECT_EQ(f->elements(0).ikm(), "87.50");
  EXPECT_THAT(f->unanswered_elements(), IsEmpty());
  EXPECT_EQ(f->population(), 100);
  EXPECT_EQ(f->minimum_sample(), 80);
  EXPECT_TRUE(f->under_sampled());

  // Population from d.done of the same bucket: three completed deliveries → minimum 3.
  for (int i = 0; i < 3; ++i) {
    v1::Delivery d;
    d.set_idempotency_key(absl::StrCat("delivery-000", i));
    d.set_application_id(absl::StrCat("app-", i));
    d.set_service_id("pbg-kota-bogor");
    *d.mutable_received_time() = Ts(Wib(2026, 3, 2, 9));
    *d.mutable_completed_time() = Ts(Wib(2026, 3, 3, 9));
    absl::StatusOr<Deadline> promised = PromisedTime(
        Calendar(), Wib(2026, 3, 2, 9), {5, PromiseUnit::kWorkingDay}, common::v1::TIME_ZONE_WIB);
    ASSERT_TRUE(promised.ok());
    store.ApplyAll(*DeliveryCompleted(d, unit, *promised, false, kNow));
  }
  const int64_t population = store.Get(bucket, "d.done");
  EXPECT_EQ(population, 3);
  f = SurveyFiguresFrom(store.buckets[bucket], population);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->minimum_sample(), 3);
  EXPECT_FALSE(f->under_sampled());

  // Empty bucket: no IKM, no grade; negative population rejected.
  f = SurveyFiguresFrom(Counters{}, 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->ikm(), "");
  EXPECT_EQ(f->grade(), "");
  EXPECT_FALSE(SurveyFiguresFrom(Counters{}, -1).ok());
  // Corrupt counters are refused.
  EXPECT_FALSE(SurveyFiguresFrom(Counters{{"s.n", 1}, {"s.u1.sum", 9}, {"s.u1.n", 1}}, 0).ok());
}

// ---------------------------------------------------------------------------------------------
// Delivery.

TEST(DeliveryTest, PromisedTimeForEachUnit) {
  const absl::Time t1 = Wib(2026, 3, 19, 10);  // Thursday, Nyepi
  absl::StatusOr<Deadline> d =
      PromisedTime(Calendar(), t1, {3, PromiseUnit::kWorkingDay}, common::v1::TIME_ZONE_WIB);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->time, Wib(2026, 3, 27, 23, 59, 59));
  d = PromisedTime(Calendar(), t1, {2, PromiseUnit::kHour}, common::v1::TIME_ZONE_WIB);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->time, Wib(2026, 3, 19, 12));
  d = PromisedTime(Calendar(), t1, {5, PromiseUnit::kCalendarDay}, common::v1::TIME_ZONE_WIB);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->time, Wib(2026, 3, 24, 23, 59, 59));
  d = PromisedTime(Calendar(), t1, {90, PromiseUnit::kMinute}, common::v1::TIME_ZONE_WIB);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->time, Wib(2026, 3, 19, 11, 30));
  EXPECT_EQ(d->day, absl::CivilDay(2026, 3, 19));
  // WITA: the local day ends an hour earlier in UTC.
  d = PromisedTime(Calendar(), t1, {5, PromiseUnit::kCalendarDay}, common::v1::TIME_ZONE_WITA);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->time, Wib(2026, 3, 24, 22, 59, 59));

  EXPECT_EQ(PromisedTime(Calendar(), t1, {0, PromiseUnit::kHour}, common::v1::TIME_ZONE_WIB)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      PromisedTime(Calendar(), t1, {1, static_cast<PromiseUnit>(9)}, common::v1::TIME_ZONE_WIB)
          .ok());
  EXPECT_FALSE(
      PromisedTime(Calendar(), t1, {1, PromiseUnit::kWorkingDay}, common::v1::TIME_ZONE_UNSPECIFIED)
          .ok());
}

v1::Delivery Delivery(absl::Time t1, std::optional<absl::Time> t2 = std::nullopt) {
  v1::Delivery d;
  d.set_idempotency_key("simbg-0001");
  d.set_application_id("PBG/2026/0001");
  d.set_service_id("pbg-kota-bogor");
  *d.mutable_received_time() = Ts(t1);
  if (t2) *d.mutable_completed_time() = Ts(*t2);
  return d;
}

TEST(DeliveryTest, ReceivedAndOverdue) {
  const absl::Time t1 = Wib(2026, 3, 19, 10);
  absl::StatusOr<Contribution> r = DeliveryReceived(Delivery(t1), Bogor(), kNow);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dedup_key, "delivery:dpmptsp-bogor:PBG/2026/0001:received");
  EXPECT_EQ(r->buckets, Buckets(Bogor(), t1));
  EXPECT_EQ(AsMap(r->increments), (std::map<std::string, int64_t>{{"d.recv", 1}, {"d.open", 1}}));
  absl::StatusOr<Contribution> o = DeliveryOverdue(Delivery(t1), Bogor());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->dedup_key, "delivery:dpmptsp-bogor:PBG/2026/0001:overdue");
  EXPECT_EQ(AsMap(o->increments),
            (std::map<std::string, int64_t>{{"d.open", -1}, {"d.overdue", 1}}));
  EXPECT_EQ(DeliveryOpenKey(Bogor(), "PBG/2026/0001"), "dpmptsp-bogor:PBG/2026/0001");
}

TEST(DeliveryTest, OnTimeVersusLate) {
  const absl::Time t1 = Wib(2026, 3, 19, 10);
  absl::StatusOr<Deadline> promised =
      PromisedTime(Calendar(), t1, {3, PromiseUnit::kWorkingDay}, common::v1::TIME_ZONE_WIB);
  ASSERT_TRUE(promised.ok());

  // On time: the last second of the promise (8 days 13:59:59 → 12360 minutes rounded up,
  // bucket 12 (<= 14400)).
  absl::StatusOr<std::vector<Contribution>> on_time = DeliveryCompleted(
      Delivery(t1, Wib(2026, 3, 27, 23, 59, 59)), Bogor(), *promised, false, kNow);
  ASSERT_TRUE(on_time.ok()) << on_time.status();
  ASSERT_EQ(on_time->size(), 1u);  // T1 and T2 share all buckets: merged
  EXPECT_EQ((*on_time)[0].dedup_key, "delivery:dpmptsp-bogor:PBG/2026/0001:completed");
  EXPECT_EQ(AsMap((*on_time)[0].increments),
            (std::map<std::string, int64_t>{
                {"d.done", 1}, {"d.ontime", 1}, {"d.h.12", 1}, {"d.open", -1}}));

  // Late: one second later, and it had gone overdue.
  absl::StatusOr<std::vector<Contribution>> late =
      DeliveryCompleted(Delivery(t1, Wib(2026, 3, 28)), Bogor(), *promised, true, kNow);
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ(AsMap((*late)[0].increments),
            (std::map<std::string, int64_t>{{"d.done", 1}, {"d.h.12", 1}, {"d.overdue", -1}}));

  // Received in March, completed in April: the close goes to March's buckets.
  const absl::Time march = Wib(2026, 3, 30, 10);
  absl::StatusOr<Deadline> p2 =
      PromisedTime(Calendar(), march, {2, PromiseUnit::kHour}, common::v1::TIME_ZONE_WIB);
  absl::StatusOr<std::vector<Contribution>> split =
      DeliveryCompleted(Delivery(march, Wib(2026, 4, 1, 10)), Bogor(), *p2, false, Wib(2026, 4, 2));
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->size(), 2u);
  EXPECT_EQ((*split)[0].buckets, Buckets(Bogor(), Wib(2026, 4, 1, 10)));
  EXPECT_EQ(AsMap((*split)[0].increments),
            (std::map<std::string, int64_t>{{"d.done", 1}, {"d.h.8", 1}}));  // 2880 min
  EXPECT_EQ((*split)[1].dedup_key, "delivery:dpmptsp-bogor:PBG/2026/0001:closed");
  EXPECT_EQ((*split)[1].buckets, Buckets(Bogor(), march));
  EXPECT_EQ(AsMap((*split)[1].increments), (std::map<std::string, int64_t>{{"d.open", -1}}));

  // Summed: March shows it received and no longer open; April shows it completed, late.
  FakeStore store;
  store.Apply(*DeliveryReceived(Delivery(march), Bogor(), Wib(2026, 4, 2)));
  store.ApplyAll(*split);
  EXPECT_EQ(store.Get("u:dpmptsp-bogor|2026-M03", "d.recv"), 1);
  EXPECT_EQ(store.Get("u:dpmptsp-bogor|2026-M03", "d.open"), 0);
  EXPECT_EQ(store.Get("u:dpmptsp-bogor|2026-Q1", "d.open"), 0);
  EXPECT_EQ(store.Get("u:dpmptsp-bogor|2026-Y", "d.open"), 0);
  EXPECT_EQ(store.Get("u:dpmptsp-bogor|2026-M04", "d.done"), 1);
  EXPECT_EQ(store.Get("u:dpmptsp-bogor|2026-M04", "d.ontime"), 0);
}

TEST(DeliveryTest, TheJudgingVersionIsCountedInTheUnitsBucketsOnly) {
  // Received Mon 30 Mar 08:00 WIB under a 2-hour promise (due 10:00), completed 09:00: on time,
  // 60 minutes (bucket 3, <= 60).
  const absl::Time t1 = Wib(2026, 3, 30, 8);
  absl::StatusOr<Deadline> promised =
      PromisedTime(Calendar(), t1, {2, PromiseUnit::kHour}, common::v1::TIME_ZONE_WIB);
  ASSERT_TRUE(promised.ok());
  absl::StatusOr<std::vector<Contribution>> done = DeliveryCompleted(
      Delivery(t1, Wib(2026, 3, 30, 9)), Bogor(), *promised, false, kNow, "pbg-bogor.v2");
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->size(), 2u);  // completed (merged with the close), judged
  EXPECT_EQ((*done)[0].dedup_key, "delivery:dpmptsp-bogor:PBG/2026/0001:completed");
  const Contribution& judged = (*done)[1];
  EXPECT_EQ(judged.dedup_key, "delivery:dpmptsp-bogor:PBG/2026/0001:judged");
  EXPECT_EQ(judged.buckets, (std::vector<std::string>{"u:dpmptsp-bogor|2026-M03"}));
  EXPECT_EQ(AsMap(judged.increments),
            (std::map<std::string, int64_t>{{"d.vd.pbg-bogor.v2", 1}, {"d.vo.pbg-bogor.v2", 1}}));
  // Late (after 10:00:00): judged, not on time.
  absl::StatusOr<std::vector<Contribution>> late = DeliveryCompleted(
      Delivery(t1, Wib(2026, 3, 30, 10, 0, 1)), Bogor(), *promised, false, kNow, "pbg-bogor.v2");
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(AsMap(late->back().increments),
            (std::map<std::string, int64_t>{{"d.vd.pbg-bogor.v2", 1}}));
}

TEST(DeliveryTest, NotApplicableDeliveriesCountForVolumeOnly) {
  // Received Mon 30 Mar 08:00, completed 09:00 (60 minutes), no promise in force.
  const v1::Delivery d = Delivery(Wib(2026, 3, 30, 8), Wib(2026, 3, 30, 9));
  absl::StatusOr<Contribution> receipt = DeliveryReceivedNotApplicable(d, Bogor(), kNow);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->dedup_key, "delivery:dpmptsp-bogor:PBG/2026/0001:received");
  EXPECT_EQ(receipt->buckets, Buckets(Bogor(), Wib(2026, 3, 30, 8)));
  EXPECT_EQ(AsMap(receipt->increments),
            (std::map<std::string, int64_t>{{"d.recv", 1}, {"d.na.recv", 1}}));
  absl::StatusOr<Contribution> done = DeliveryCompletedNotApplicable(d, Bogor(), kNow);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->dedup_key, "delivery:dpmptsp-bogor:PBG/2026/0001:completed");
  EXPECT_EQ(AsMap(done->increments),
            (std::map<std::string, int64_t>{{"d.done", 1}, {"d.na.done", 1}, {"d.h.3", 1}}));
  EXPECT_EQ(
      DeliveryCompletedNotApplicable(Delivery(Wib(2026, 3, 30, 8)), Bogor(), kNow).status().code(),
      absl::StatusCode::kInvalidArgument);  // completed_time required

  // Figures: 3 completed of which 1 not applicable, 1 on time: share 1 of 2 = 50.00%.
  const Counters c = {{"d.recv", 3},   {"d.na.recv", 1}, {"d.done", 3},    {"d.na.done", 1},
                      {"d.ontime", 1}, {"d.vd.x.v1", 2}, {"d.vo.x.v1", 1}, {"d.vd.x.v2", 0}};
  v1::DeliveryFigures f = DeliveryFiguresFrom(c);
  EXPECT_EQ(f.completed(), 3);
  EXPECT_EQ(f.completed_not_applicable(), 1);
  EXPECT_EQ(f.received_not_applicable(), 1);
  EXPECT_EQ(f.on_time_share(), "50.00");
  EXPECT_EQ(MetricValue(v1::METRIC_DELIVERY_ON_TIME_SHARE, c), 5000);
  ASSERT_EQ(f.judged_by_size(), 1);  // zero counts are left out
  EXPECT_EQ(f.judged_by(0).standard_version_id(), "x.v1");
  EXPECT_EQ(f.judged_by(0).completed(), 2);
  EXPECT_EQ(f.judged_by(0).completed_on_time(), 1);
  // Only not-applicable completions: no share.
  EXPECT_EQ(DeliveryFiguresFrom({{"d.done", 2}, {"d.na.done", 2}}).on_time_share(), "");
  EXPECT_EQ(MetricValue(v1::METRIC_DELIVERY_ON_TIME_SHARE, {{"d.done", 2}, {"d.na.done", 2}}),
            std::nullopt);
}

TEST(SurveyTest, ARegionAddsItsUnitsLocalPeriods) {
  // Two units of one agency and region in different zones (the rule does not depend on where
  // the zones run): a WIB unit and a WIT unit.
  const UnitInfo wib{"upt-wib", "kab-x", "91.71", common::v1::TIME_ZONE_WIB};
  const UnitInfo wit{"upt-wit", "kab-x", "91.71", common::v1::TIME_ZONE_WIT};
  auto response = [](const UnitInfo& unit, std::string key, absl::Time at) {
    v1::SurveyResponse r = Response({4, 4, 4, 4, 4, 4, 4, 4, 4}, std::move(key), at);
    r.set_unit_id(unit.unit_id);
    return r;
  };
  const absl::Time now = Utc(2026, 4, 2, 0, 0);
  FakeStore store;
  // 2026-03-31T15:30Z: 22:30 WIB on March 31 for upt-wib (March), 00:30 WIT on April 1 for
  // upt-wit (April). 2026-03-15T03:00Z: 12:00 WIT on March 15 (March).
  for (const auto& [unit, key, at] : {std::tuple{&wib, "wib-0001", Utc(2026, 3, 31, 15, 30)},
                                      std::tuple{&wit, "wit-0001", Utc(2026, 3, 31, 15, 30)},
                                      std::tuple{&wit, "wit-0002", Utc(2026, 3, 15, 3, 0)}}) {
    absl::StatusOr<Contribution> c = SurveyContribution(response(*unit, key, at), unit, now);
    ASSERT_TRUE(c.ok()) << c.status();
    store.Apply(*c);
  }
  // Units' local months: upt-wib March 1; upt-wit March 1, April 1.
  EXPECT_EQ(store.Get("u:upt-wib|2026-M03", "s.n"), 1);
  EXPECT_EQ(store.Get("u:upt-wib|2026-M04", "s.n"), 0);
  EXPECT_EQ(store.Get("u:upt-wit|2026-M03", "s.n"), 1);
  EXPECT_EQ(store.Get("u:upt-wit|2026-M04", "s.n"), 1);
  // Agency, regions and nation: March = 1 + 1 = 2, April = 0 + 1 = 1; Q1 = 2, Q2 = 1; S1 and
  // the year hold all 3.
  for (const char* scope : {"a:kab-x", "r:91", "r:91.71", "n"}) {
    const std::string s = scope;
    EXPECT_EQ(store.Get(s + "|2026-M03", "s.n"), 2) << s;
    EXPECT_EQ(store.Get(s + "|2026-M04", "s.n"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-Q1", "s.n"), 2) << s;
    EXPECT_EQ(store.Get(s + "|2026-Q2", "s.n"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-S1", "s.n"), 3) << s;
    EXPECT_EQ(store.Get(s + "|2026-Y", "s.n"), 3) << s;
  }
}

TEST(DeliveryTest, AWitaCompletionAtLocalMidnightIsJuly) {
  const UnitInfo unit{"dpmptsp-balikpapan", "kota-balikpapan", "64.71", common::v1::TIME_ZONE_WITA};
  // Received 2026-06-29T02:00Z = Mon 29 June 10:00 WITA (June, Q2, S1); completed
  // 2026-06-30T16:00:00Z = 1 July 00:00:00 WITA (July, Q3, S2); 38 h = 2280 minutes, bucket 8
  // (1440 < 2280 <= 2880). 3 calendar days: promised by 2 July 23:59:59 WITA, so on time.
  const absl::Time t1 = Utc(2026, 6, 29, 2, 0);
  const absl::Time t2 = Utc(2026, 6, 30, 16, 0);
  absl::StatusOr<Deadline> promised =
      PromisedTime(Calendar(), t1, {3, PromiseUnit::kCalendarDay}, common::v1::TIME_ZONE_WITA);
  ASSERT_TRUE(promised.ok()) << promised.status();
  const absl::Time now = Utc(2026, 7, 1, 0, 0);
  v1::Delivery d = Delivery(t1, t2);
  d.set_service_id("izin-balikpapan");
  absl::StatusOr<std::vector<Contribution>> done =
      DeliveryCompleted(d, unit, *promised, false, now);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->size(), 2u);  // July's buckets and June's differ
  EXPECT_THAT((*done)[0].buckets, ::testing::Contains("n|2026-M07"));
  EXPECT_THAT((*done)[0].buckets, ::testing::Contains("r:64|2026-M07"));
  EXPECT_THAT((*done)[0].buckets, ::testing::Contains("a:kota-balikpapan|2026-M07"));
  EXPECT_THAT((*done)[1].buckets, ::testing::Contains("n|2026-M06"));

  FakeStore store;
  store.Apply(*DeliveryReceived(d, unit, now));
  store.ApplyAll(*done);
  for (const char* scope : {"u:dpmptsp-balikpapan", "a:kota-balikpapan", "r:64", "r:64.71", "n"}) {
    const std::string s = scope;
    EXPECT_EQ(store.Get(s + "|2026-M06", "d.recv"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-M06", "d.open"), 0) << s;
    EXPECT_EQ(store.Get(s + "|2026-M06", "d.done"), 0) << s;  // 23:00 WIB would be June
    EXPECT_EQ(store.Get(s + "|2026-M07", "d.done"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-M07", "d.ontime"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-M07", "d.h.8"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-Q3", "d.done"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-S2", "d.done"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-S1", "d.done"), 0) << s;
    EXPECT_EQ(store.Get(s + "|2026-Y", "d.done"), 1) << s;
    EXPECT_EQ(store.Get(s + "|2026-Y", "d.open"), 0) << s;
  }
}

TEST(DeliveryTest, ValidationNamesFields) {
  const absl::Time t1 = Wib(2026, 3, 19, 10);
  Deadline promised;
  promised.time = Wib(2026, 3, 27, 23, 59, 59);
  auto message = [&](const v1::Delivery& d) {
    absl::StatusOr<std::vector<Contribution>> c =
        DeliveryCompleted(d, Bogor(), promised, false, kNow);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(c.status().message());
  };
  EXPECT_THAT(message(Delivery(t1, t1 - absl::Seconds(1))),
              HasSubstr("completed_time: must not be before received_time"));
  EXPECT_THAT(message(Delivery(t1, kNow + absl::Minutes(1))),
              HasSubstr("completed_time: must not be in the future"));
  EXPECT_THAT(message(Delivery(t1)), HasSubstr("completed_time: required"));
  v1::Delivery d = Delivery(t1, t1);
  d.set_application_id("");
  EXPECT_THAT(message(d), HasSubstr("application_id"));
  d.set_application_id(std::string(129, 'x'));
  EXPECT_THAT(message(d), HasSubstr("application_id"));
  d.set_application_id(std::string(128, 'x'));
  EXPECT_TRUE(DeliveryCompleted(d, Bogor(), promised, false, kNow).ok());

  absl::StatusOr<Contribution> future =
      DeliveryReceived(Delivery(kNow + absl::Hours(1)), Bogor(), kNow);
  EXPECT_THAT(future.status().message(), HasSubstr("received_time: must not be in the future"));
  v1::Delivery no_key = Delivery(t1);
  no_key.clear_idempotency_key();
  no_key.clear_service_id();
  const std::string m = std::string(DeliveryReceived(no_key, Bogor(), kNow).status().message());
  EXPECT_THAT(m, HasSubstr("idempotency_key"));
  EXPECT_THAT(m, HasSubstr("service_id: required"));
}

TEST(HistogramTest, BucketsAndQuantiles) {
  EXPECT_EQ(HistogramBucket(kDeliveryMinuteBounds, 0), 0);
  EXPECT_EQ(HistogramBucket(kDeliveryMinuteBounds, 5), 0);
  EXPECT_EQ(HistogramBucket(kDeliveryMinuteBounds, 6), 1);
  EXPECT_EQ(HistogramBucket(kDeliveryMinuteBounds, 60), 3);
  EXPECT_EQ(HistogramBucket(kDeliveryMinuteBounds, 259200), 19);
  EXPECT_EQ(HistogramBucket(kDeliveryMinuteBounds, 259201), 20);

  // 2 × ≤5 min, 3 × ≤60 min, 4 × ≤1 day, 1 overflow: 10 completions.
  Counters c{{"d.h.0", 2},    {"d.h.3", 3},   {"d.h.7", 4},  {"d.h.20", 1},   {"d.done", 10},
             {"d.ontime", 7}, {"d.recv", 12}, {"d.open", 1}, {"d.overdue", 1}};
  EXPECT_EQ(HistogramQuantile(c, "d.h.", kDeliveryMinuteBounds, 20), 5);     // rank 2
  EXPECT_EQ(HistogramQuantile(c, "d.h.", kDeliveryMinuteBounds, 30), 60);    // rank 3
  EXPECT_EQ(HistogramQuantile(c, "d.h.", kDeliveryMinuteBounds, 50), 60);    // rank 5
  EXPECT_EQ(HistogramQuantile(c, "d.h.", kDeliveryMinuteBounds, 51), 1440);  // rank 6
  EXPECT_EQ(HistogramQuantile(c, "d.h.", kDeliveryMinuteBounds, 90), 1440);  // rank 9
  EXPECT_EQ(HistogramQuantile(c, "d.h.", kDeliveryMinuteBounds, 100), 259200);
  EXPECT_EQ(HistogramQuantile(Counters{}, "d.h.", kDeliveryMinuteBounds, 50), 0);

  const v1::DeliveryFigures f = DeliveryFiguresFrom(c);
  EXPECT_EQ(f.received(), 12);
  EXPECT_EQ(f.completed(), 10);
  EXPECT_EQ(f.completed_on_time(), 7);
  EXPECT_EQ(f.on_time_share(), "70.00");
  EXPECT_EQ(f.median_minutes(), 60);
  EXPECT_EQ(f.p90_minutes(), 1440);
  EXPECT_EQ(f.open(), 1);
  EXPECT_EQ(f.open_overdue(), 1);
  EXPECT_EQ(DeliveryFiguresFrom(Counters{}).on_time_share(), "");
}

TEST(FiguresTest, SharesAndAveragesAreExact) {
  EXPECT_EQ(ShareHundredths(2, 3), 6667);  // 66.666… → 66.67
  EXPECT_EQ(ShareHundredths(1, 3), 3333);  // 33.333… → 33.33
  EXPECT_EQ(ShareHundredths(1, 8), 1250);
  EXPECT_EQ(ShareHundredths(1, 80000), 0);  // 0.00125 → 0.00
  EXPECT_EQ(ShareHundredths(1, 40000), 0);  // 0.0025 → 0.00
  EXPECT_EQ(ShareHundredths(1, 20000), 1);  // 0.005 → 0.01 (half up)
  EXPECT_EQ(ShareHundredths(3, 3), 10000);
  EXPECT_EQ(ShareHundredths(1, 0), std::nullopt);
  EXPECT_EQ(AverageHundredths(9, 2), 450);
  EXPECT_EQ(AverageHundredths(14, 3), 467);  // 4.666…
  EXPECT_EQ(AverageHundredths(1, 200), 1);   // 0.005 → 0.01
}

// ---------------------------------------------------------------------------------------------
// Complaints.

cv1::ComplaintEvent Event(int seq, std::string action, cv1::State from, cv1::State to,
                          absl::Time at) {
  cv1::ComplaintEvent e;
  e.set_event_id(absl::StrCat("ZV6J8-Q4RXT/", seq));
  e.set_payload_version(1);
  e.set_complaint_id("ZV6J8-Q4RXT");
  e.set_sequence(seq);
  e.set_action(action);
  *e.mutable_time() = Ts(at);
  e.set_from_state(from);
  e.set_to_state(to);
  e.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  e.set_channel(cv1::CHANNEL_SMS);
  e.set_agency_id("kota-bogor");
  e.set_unit_id("dpmptsp-bogor");
  *e.mutable_file_time() = Ts(Wib(2026, 3, 2, 9));  // Monday
  e.set_time_zone(common::v1::TIME_ZONE_WIB);
  return e;
}

void ApplyEvent(FakeStore& store, const cv1::ComplaintEvent& e, const UnitInfo& holder,
                const UnitInfo* previous = nullptr) {
  absl::StatusOr<std::vector<Contribution>> cs =
      ComplaintEventContributions(e, holder, previous, Calendar());
  ASSERT_TRUE(cs.ok()) << cs.status();
  store.ApplyAll(*cs);
}

TEST(ComplaintTest, FullLifecycle) {
  const UnitInfo unit = Bogor();
  std::vector<cv1::ComplaintEvent> events = {
      Event(1, "FileComplaint", cv1::STATE_UNSPECIFIED, cv1::STATE_RECEIVED, Wib(2026, 3, 2, 9)),
      Event(2, "VerifyComplaint", cv1::STATE_RECEIVED, cv1::STATE_VERIFIED, Wib(2026, 3, 2, 11)),
      Event(3, "DisposeComplaint", cv1::STATE_VERIFIED, cv1::STATE_DISPOSED, Wib(2026, 3, 3, 9)),
      Event(4, "StartWork", cv1::STATE_DISPOSED, cv1::STATE_IN_PROGRESS, Wib(2026, 3, 3, 10)),
      // First follow-up Thu 5 March: 3 working days after filing.
      Event(5, "PostFollowUp", cv1::STATE_IN_PROGRESS, cv1::STATE_RESPONDED, Wib(2026, 3, 5, 10)),
      // Completed late on Tue 10 March: 6 working days.
      Event(6, "CompleteComplaint", cv1::STATE_RESPONDED, cv1::STATE_COMPLETED,
            Wib(2026, 3, 10, 10)),
      Event(7, "RateComplaint", cv1::STATE_COMPLETED, cv1::STATE_COMPLETED, Wib(2026, 3, 11, 8)),
      Event(8, "ReopenComplaint", cv1::STATE_COMPLETED, cv1::STATE_IN_PROGRESS,
            Wib(2026, 3, 12, 8)),
      Event(9, "PostFollowUp", cv1::STATE_IN_PROGRESS, cv1::STATE_RESPONDED, Wib(2026, 3, 25, 8)),
      Event(10, "CompleteComplaint", cv1::STATE_RESPONDED, cv1::STATE_COMPLETED,
            Wib(2026, 3, 30, 8)),
  };
  events[5].set_deadline_missed(true);
  events[6].set_rating(4);

  FakeStore store;
  const std::string bucket = "a:kota-bogor|2026-M03";
  for (const cv1::ComplaintEvent& e : events) {
    ApplyEvent(store, e, unit);
    if (e.sequence() == 1) {
      EXPECT_EQ(store.Get(bucket, "c.open"), 1);
    }
    if (e.sequence() == 6) {
      EXPECT_EQ(store.Get(bucket, "c.open"), 0);
    }
    if (e.sequence() == 8) {
      EXPECT_EQ(store.Get(bucket, "c.open"), 1);
    }
  }
  // Redelivered events change nothing.
  for (const cv1::ComplaintEvent& e : events) ApplyEvent(store, e, unit);

  for (const std::string& b : Buckets(unit, Wib(2026, 3, 2, 9))) {
    const v1::ComplaintFigures f = ComplaintFiguresFrom(store.buckets[b]);
    EXPECT_EQ(f.received(), 1) << b;
    EXPECT_THAT(f.by_channel(), UnorderedElementsAre(Pair("SMS", 1))) << b;
    EXPECT_THAT(f.by_type(), UnorderedElementsAre(Pair("COMPLAINT", 1))) << b;
    EXPECT_EQ(f.resolved(), 1) << b;
    EXPECT_EQ(f.resolved_on_time(), 0) << b;
    EXPECT_EQ(f.resolved_on_time_share(), "0.00") << b;
    EXPECT_EQ(f.median_working_days_to_first_response(), 3) << b;
    EXPECT_EQ(f.median_working_days_to_completion(), 6) << b;
    EXPECT_EQ(f.escalations(), 0) << b;
    EXPECT_EQ(f.average_rating(), "4.00") << b;
    EXPECT_EQ(f.ratings(), 1) << b;
    EXPECT_EQ(f.open_backlog(), 0) << b;
  }
  EXPECT_EQ(store.Get(bucket, "c.reopened"), 1);
  EXPECT_EQ(store.Get(bucket, "c.fr.h.3"), 1);  // only the first follow-up counts
  int64_t first_responses = 0;
  for (const auto& [field, n] : store.buckets[bucket]) {
    if (absl::StartsWith(field, "c.fr.h.")) first_responses += n;
  }
  EXPECT_EQ(first_responses, 1);
  EXPECT_EQ(store.Get(bucket, "c.done.h.6"), 1);

  // Ranking values of that bucket.
  EXPECT_EQ(MetricValue(v1::METRIC_COMPLAINTS_RECEIVED, store.buckets[bucket]), 100);
  EXPECT_EQ(MetricValue(v1::METRIC_AVERAGE_RATING, store.buckets[bucket]), 400);
  EXPECT_EQ(MetricValue(v1::METRIC_COMPLAINTS_RESOLVED_ON_TIME_SHARE, store.buckets[bucket]), 0);
  EXPECT_EQ(MetricValue(v1::METRIC_IKM, store.buckets[bucket]), std::nullopt);
}

TEST(ComplaintTest, ArchiveEscalateAndOnTime) {
  const UnitInfo unit = Bogor();
  FakeStore store;
  ApplyEvent(
      store,
      Event(1, "FileComplaint", cv1::STATE_UNSPECIFIED, cv1::STATE_RECEIVED, Wib(2026, 3, 2, 9)),
      unit);
  ApplyEvent(store,
             Event(2, "Escalate", cv1::STATE_RECEIVED, cv1::STATE_ESCALATED, Wib(2026, 3, 6, 0)),
             unit);
  ApplyEvent(
      store,
      Event(3, "ArchiveComplaint", cv1::STATE_ESCALATED, cv1::STATE_ARCHIVED, Wib(2026, 3, 6, 9)),
      unit);
  const Counters c = store.Sum("u:dpmptsp-bogor|2026-Q1");
  EXPECT_EQ(c.at("c.esc"), 1);
  EXPECT_EQ(c.at("c.archived"), 1);
  EXPECT_EQ(c.at("c.open"), 0);
  EXPECT_EQ(ComplaintFiguresFrom(c).escalations(), 1);
  EXPECT_EQ(ComplaintFiguresFrom(c).resolved_on_time_share(), "");
  EXPECT_EQ(ComplaintFiguresFrom(c).average_rating(), "");

  // Filed in March, auto-completed on time in April: open returns to 0 on March, resolution
  // counted in April.
  FakeStore s2;
  cv1::ComplaintEvent file =
      Event(1, "FileComplaint", cv1::STATE_UNSPECIFIED, cv1::STATE_RECEIVED, Wib(2026, 3, 2, 9));
  ApplyEvent(s2, file, unit);
  cv1::ComplaintEvent done =
      Event(7, "AutoComplete", cv1::STATE_RESPONDED, cv1::STATE_COMPLETED, Wib(2026, 4, 6, 9));
  absl::StatusOr<std::vector<Contribution>> cs =
      ComplaintEventContributions(done, unit, nullptr, Calendar());
  ASSERT_TRUE(cs.ok());
  s2.ApplyAll(*cs);
  EXPECT_EQ(s2.Get("u:dpmptsp-bogor|2026-M03", "c.open"), 0);
  EXPECT_EQ(s2.Get("u:dpmptsp-bogor|2026-M04", "c.open"), 0);
  EXPECT_EQ(s2.Get("u:dpmptsp-bogor|2026-M04", "c.resolved"), 1);
  EXPECT_EQ(s2.Get("u:dpmptsp-bogor|2026-M04", "c.resolved_ontime"), 1);
  EXPECT_EQ(s2.Get("u:dpmptsp-bogor|2026-M03", "c.resolved"), 0);
  EXPECT_EQ(ComplaintFiguresFrom(s2.Sum("u:dpmptsp-bogor|2026-Q2")).resolved_on_time_share(),
            "100.00");
  // 2 March → 6 April: 16 working days in March after the 2nd (3–6, 9–13, 16–17, 25–27,
  // 30–31; 18–24 are holidays and leave) and 3 in April (1, 2, 6; 3 April is Good Friday)
  // = 19 → bucket 14 (<= 20).
  EXPECT_EQ(s2.Get("u:dpmptsp-bogor|2026-M04", "c.done.h.14"), 1);

  // Invalid events.
  cv1::ComplaintEvent bad = file;
  bad.clear_event_id();
  bad.clear_file_time();
  absl::StatusOr<std::vector<Contribution>> r =
      ComplaintEventContributions(bad, unit, nullptr, Calendar());
  EXPECT_THAT(r.status().message(), HasSubstr("event_id: required"));
  EXPECT_THAT(r.status().message(), HasSubstr("file_time: required"));
  cv1::ComplaintEvent rating =
      Event(4, "RateComplaint", cv1::STATE_COMPLETED, cv1::STATE_COMPLETED, Wib(2026, 3, 9));
  rating.set_rating(6);
  EXPECT_THAT(ComplaintEventContributions(rating, unit, nullptr, Calendar()).status().message(),
              HasSubstr("rating"));
  // An action that counts nothing.
  absl::StatusOr<std::vector<Contribution>> none = ComplaintEventContributions(
      Event(2, "VerifyComplaint", cv1::STATE_RECEIVED, cv1::STATE_VERIFIED, Wib(2026, 3, 2, 11)),
      unit, nullptr, Calendar());
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
}

TEST(ComplaintTest, ForwardingMovesTheOpenCount) {
  const UnitInfo from = Bogor();                                           // 32.71
  const UnitInfo to{"", "kab-bogor", "32.01", common::v1::TIME_ZONE_WIB};  // unit not yet set
  FakeStore store;
  ApplyEvent(
      store,
      Event(1, "FileComplaint", cv1::STATE_UNSPECIFIED, cv1::STATE_RECEIVED, Wib(2026, 3, 2, 9)),
      from);
  cv1::ComplaintEvent fwd =
      Event(2, "ForwardComplaint", cv1::STATE_RECEIVED, cv1::STATE_FORWARDED, Wib(2026, 4, 1, 9));
  fwd.set_agency_id("kab-bogor");
  fwd.clear_unit_id();
  fwd.set_previous_agency_id("kota-bogor");
  absl::StatusOr<std::vector<Contribution>> cs =
      ComplaintEventContributions(fwd, to, &from, Calendar());
  ASSERT_TRUE(cs.ok()) << cs.status();
  // Scopes both share (r:32, n) are untouched.
  for (const Contribution& c : *cs) {
    for (const std::string& b : c.buckets) {
      EXPECT_FALSE(absl::StartsWith(b, "n|") || absl::StartsWith(b, "r:32|")) << b;
    }
  }
  store.ApplyAll(*cs);
  store.ApplyAll(*cs);  // redelivery
  auto open = [&](const std::string& scope) { return store.Get(scope + "|2026-M03", "c.open"); };
  EXPECT_EQ(open("u:dpmptsp-bogor"), 0);
  EXPECT_EQ(open("a:kota-bogor"), 0);
  EXPECT_EQ(open("r:32.71"), 0);
  EXPECT_EQ(open("a:kab-bogor"), 1);
  EXPECT_EQ(open("r:32.01"), 1);
  EXPECT_EQ(open("r:32"), 1);
  EXPECT_EQ(open("n"), 1);
  EXPECT_EQ(store.Get("a:kab-bogor|2026-M04", "c.open"), 0);  // filing-time buckets only
  // Received stays with the agency it was filed with.
  EXPECT_EQ(store.Get("a:kota-bogor|2026-M03", "c.recv"), 1);

  // Routing an unrouted case: from the national-only holder to the agency.
  FakeStore s2;
  const UnitInfo unrouted;
  cv1::ComplaintEvent file =
      Event(1, "FileComplaint", cv1::STATE_UNSPECIFIED, cv1::STATE_RECEIVED, Wib(2026, 3, 2, 9));
  file.clear_agency_id();
  file.clear_unit_id();
  ApplyEvent(s2, file, unrouted);
  EXPECT_EQ(s2.Get("n|2026-M03", "c.open"), 1);
  ApplyEvent(
      s2, Event(2, "RouteComplaint", cv1::STATE_RECEIVED, cv1::STATE_RECEIVED, Wib(2026, 3, 3, 9)),
      from, &unrouted);
  EXPECT_EQ(s2.Get("n|2026-M03", "c.open"), 1);
  EXPECT_EQ(s2.Get("a:kota-bogor|2026-M03", "c.open"), 1);
  EXPECT_EQ(s2.Get("u:dpmptsp-bogor|2026-Y", "c.open"), 1);
}

TEST(ComplaintTest, ForwardingAcrossZonesMovesTheSharedScopesPeriod) {
  // Filed with the WIB unit at 2026-03-31T15:30Z = 22:30 WIB on March 31 (March); the WIT
  // unit's periods for the same filing time are April's (00:30 WIT on April 1).
  const UnitInfo bogor = Bogor();
  const UnitInfo jayapura = Jayapura();
  const absl::Time filed = Utc(2026, 3, 31, 15, 30);
  auto event = [&](int seq, std::string action, cv1::State from, cv1::State to, absl::Time at,
                   const UnitInfo& holder) {
    cv1::ComplaintEvent e = Event(seq, std::move(action), from, to, at);
    *e.mutable_file_time() = Ts(filed);
    e.set_agency_id(holder.agency_id);
    e.set_unit_id(holder.unit_id);
    e.set_time_zone(holder.time_zone);
    return e;
  };
  FakeStore store;
  ApplyEvent(store,
             event(1, "FileComplaint", cv1::STATE_UNSPECIFIED, cv1::STATE_RECEIVED, filed, bogor),
             bogor);
  EXPECT_EQ(store.Get("n|2026-M03", "c.open"), 1);
  cv1::ComplaintEvent fwd = event(2, "ForwardComplaint", cv1::STATE_RECEIVED, cv1::STATE_FORWARDED,
                                  Utc(2026, 4, 1, 2, 0), jayapura);
  fwd.set_previous_agency_id("kota-bogor");
  fwd.set_previous_unit_id("dpmptsp-bogor");
  absl::StatusOr<std::vector<Contribution>> moved =
      ComplaintEventContributions(fwd, jayapura, &bogor, Calendar());
  ASSERT_TRUE(moved.ok()) << moved.status();
  // "n" is shared, but its filing-time month differs (March for Bogor, April for Jayapura):
  // n|2026-M03 loses the case and n|2026-M04 gains it, so Q1 loses it and Q2 gains it, and
  // S1 and the year, which sum both months, keep it.
  std::map<std::string, int64_t> open_delta;
  for (const Contribution& c : *moved) {
    for (const std::string& b : c.buckets) {
      if (absl::StartsWith(b, "n|")) open_delta[b] += AsMap(c.increments)["c.open"];
    }
  }
  EXPECT_EQ(open_delta, (std::map<std::string, int64_t>{{"n|2026-M03", -1}, {"n|2026-M04", 1}}));
  store.ApplyAll(*moved);
  EXPECT_EQ(store.Get("n|2026-M03", "c.open"), 0);
  EXPECT_EQ(store.Get("n|2026-M04", "c.open"), 1);
  EXPECT_EQ(store.Get("n|2026-Q1", "c.open"), 0);
  EXPECT_EQ(store.Get("n|2026-Q2", "c.open"), 1);
  EXPECT_EQ(store.Get("n|2026-S1", "c.open"), 1);
  EXPECT_EQ(store.Get("n|2026-Y", "c.open"), 1);
  EXPECT_EQ(store.Get("u:dpmptsp-jayapura|2026-M04", "c.open"), 1);
  EXPECT_EQ(store.Get("u:dpmptsp-bogor|2026-M03", "c.open"), 0);
  // The WIT unit completes it: its close lands on its filing-time buckets (April), where the
  // move put the open count, so nothing stays open anywhere, and no count goes negative.
  ApplyEvent(store,
             event(3, "CompleteComplaint", cv1::STATE_FORWARDED, cv1::STATE_COMPLETED,
                   Utc(2026, 4, 2, 2, 0), jayapura),
             jayapura);
  for (const auto& [bucket, counters] : store.buckets) {
    auto it = counters.find("c.open");
    EXPECT_TRUE(it == counters.end() || it->second == 0) << bucket << " c.open " << it->second;
  }
  // Received stays where it was filed: the WIB unit's March, nationally too.
  EXPECT_EQ(store.Get("n|2026-M03", "c.recv"), 1);
  EXPECT_EQ(store.Get("u:dpmptsp-jayapura|2026-M04", "c.resolved"), 1);
  EXPECT_EQ(store.Get("n|2026-M04", "c.resolved"), 1);  // 2 April 11:00 WIT
}

// ---------------------------------------------------------------------------------------------
// Ranking.

TEST(RankTest, RankUpdatesForParents) {
  const std::vector<RankUpdate> updates =
      RankUpdatesFor(Bogor(), {"2026-M03", "2026-Q1"},
                     {{v1::METRIC_IKM, 7917}, {v1::METRIC_DELIVERY_ON_TIME_SHARE, 7000}});
  ASSERT_EQ(updates.size(), 4u);
  EXPECT_EQ(updates[0].unit_id, "dpmptsp-bogor");
  EXPECT_EQ(updates[0].value, 7917);
  EXPECT_THAT(updates[0].rankings, ElementsAre("a:kota-bogor|2026-M03|IKM", "r:32|2026-M03|IKM",
                                               "r:32.71|2026-M03|IKM", "n|2026-M03|IKM"));
  EXPECT_EQ(updates[3].value, 7000);
  EXPECT_THAT(updates[3].rankings, ::testing::Contains("r:32|2026-Q1|DELIVERY_ON_TIME_SHARE"));
  EXPECT_THAT(RankUpdatesFor(UnitInfo{"", "kota-bogor", "", {}}, {"2026-Y"}, {{v1::METRIC_IKM, 1}}),
              IsEmpty());

  // MetricValue of an IKM bucket equals the figure.
  Counters c;
  c["s.n"] = 2;
  for (int i = 1; i <= 9; ++i) {
    c[absl::StrCat("s.u", i, ".sum")] = 7;
    c[absl::StrCat("s.u", i, ".n")] = 2;
  }
  EXPECT_EQ(MetricValue(v1::METRIC_IKM, c), 8750);  // NRR 3.5 × 25
  EXPECT_EQ(MetricValue(v1::METRIC_DELIVERY_ON_TIME_SHARE, c), std::nullopt);
  EXPECT_EQ(MetricValue(v1::METRIC_UNSPECIFIED, c), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Sandbox (issue #15): a unit in sandbox counts in its own and its agency's scopes only, and is
// ranked nowhere.

TEST(SandboxTest, ScopesBucketsAndRankingsOfASandboxUnit) {
  UnitInfo sandbox = Bogor();
  sandbox.unit_id = "mpp-uji";
  sandbox.sandbox = true;
  EXPECT_THAT(ScopeKeys(sandbox), ElementsAre("u:mpp-uji", "a:kota-bogor"));
  // An agency-level holder of a sandbox agency: the agency only.
  EXPECT_THAT(ScopeKeys(UnitInfo{"", "kab-uji", "32.01", {}, /*sandbox=*/true}),
              ElementsAre("a:kab-uji"));

  // 2 scopes, against 5 for the same unit out of sandbox (each in the month only).
  const absl::Time t = Wib(2026, 3, 10, 9);
  EXPECT_THAT(Buckets(sandbox, t), ElementsAre("u:mpp-uji|2026-M03", "a:kota-bogor|2026-M03"));
  UnitInfo normal = sandbox;
  normal.sandbox = false;
  EXPECT_EQ(Buckets(normal, t).size(), 5u);

  EXPECT_THAT(RankUpdatesFor(sandbox, {"2026-M03", "2026-Y"}, {{v1::METRIC_IKM, 7917}}), IsEmpty());
  EXPECT_EQ(RankUpdatesFor(normal, {"2026-M03", "2026-Y"}, {{v1::METRIC_IKM, 7917}}).size(), 2u);

  // A response to each (all 4s at the sandbox unit, all 2s at the normal one, same agency and
  // region): the unit and agency count both, the region and the nation only the normal one.
  FakeStore store;
  v1::SurveyResponse to_sandbox = Response({4, 4, 4, 4, 4, 4, 4, 4, 4}, "kiosk-uji-0001", t);
  to_sandbox.set_unit_id("mpp-uji");
  absl::StatusOr<Contribution> c = SurveyContribution(to_sandbox, &sandbox, kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  store.Apply(*c);
  UnitInfo bogor = Bogor();
  c = SurveyContribution(Response({2, 2, 2, 2, 2, 2, 2, 2, 2}, "kiosk-0002", t), &bogor, kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  store.Apply(*c);
  EXPECT_EQ(store.Get("u:mpp-uji|2026-M03", "s.n"), 1);
  EXPECT_EQ(store.Get("u:mpp-uji|2026-M03", "s.u1.sum"), 4);
  EXPECT_EQ(store.Get("a:kota-bogor|2026-M03", "s.n"), 2);
  EXPECT_EQ(store.Get("a:kota-bogor|2026-M03", "s.u1.sum"), 4 + 2);
  for (const char* bucket : {"r:32|2026-M03", "r:32.71|2026-Y", "n|2026-Q1"}) {
    EXPECT_EQ(store.Get(bucket, "s.n"), 1) << bucket;
    EXPECT_EQ(store.Get(bucket, "s.u1.sum"), 2) << bucket;
  }
}

}  // namespace
}  // namespace simpul::monitoring
