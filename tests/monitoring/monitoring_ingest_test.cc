// Survey ingest through MonitoringDesk on a real Redis (RedisAggregateStore, batches applied
// with ApplyBatch): the figures of every scope and every period kind — months, and the quarters,
// semesters and year read as the sums of their months — equal the figures computed in the test
// from the raw responses, whatever the batching, repeats within and across batches, units in
// different time zones, a unit in sandbox, and data written earlier one response per script
// into every period's bucket (the layout before month-only buckets).
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/redis.h"
#include "gtest/gtest.h"
#include "services/monitoring/aggregates.h"
#include "services/monitoring/monitoring.h"
#include "services/monitoring/redis_store.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/identities.h"
#include "tests/testing/monitoring_fixtures.h"
#include "tests/testing/redis_fixture.h"

namespace simpul::monitoring {
namespace {

namespace st = ::simpul::testing;
using ::simpul::clients::registry::Route;
using ::simpul::testing::Describe;
using ::simpul::testing::Diff;
using ::simpul::testing::Response;

struct TestUnit {
  std::string id;
  std::string agency;
  std::string region;
  common::v1::TimeZone zone;
  int utc_offset_hours;
  bool sandbox;
};

const std::vector<TestUnit>& Units() {
  static const auto* units = new std::vector<TestUnit>{
      {"loket-bogor-1", "kota-bogor", "32.71", common::v1::TIME_ZONE_WIB, 7, false},
      {"loket-bogor-2", "kota-bogor", "32.71", common::v1::TIME_ZONE_WIB, 7, false},
      {"loket-bandung", "kota-bandung", "32.73", common::v1::TIME_ZONE_WIB, 7, false},
      {"loket-jayapura", "kota-jayapura", "91.71", common::v1::TIME_ZONE_WIT, 9, false},
      {"loket-coba", "kota-jayapura", "91.71", common::v1::TIME_ZONE_WIT, 9, true},
  };
  return *units;
}

// RawResponse is one response as the test keeps it: its unit, instant and answers.
struct RawResponse {
  const TestUnit* unit;
  absl::Time time;
  std::vector<int> answers;
  std::string key;
};

// Periods of a raw response in its unit's local calendar, computed here independently.
std::vector<v1::Period> PeriodsOf(const RawResponse& r) {
  const absl::CivilDay day =
      absl::ToCivilDay(r.time, absl::FixedTimeZone(r.unit->utc_offset_hours * 3600));
  const int y = static_cast<int>(day.year());
  const int m = day.month();
  return {st::Month(y, m), st::Quarter(y, (m - 1) / 3 + 1), st::Semester(y, (m - 1) / 6 + 1),
          st::Year(y)};
}

// Scopes a raw response counts in: its unit and agency, and (out of sandbox) every region
// prefix and the nation.
std::vector<std::string> ScopesOf(const RawResponse& r) {
  std::vector<std::string> scopes = {"unit:" + r.unit->id, "agency:" + r.unit->agency};
  if (!r.unit->sandbox) {
    scopes.push_back("region:" + r.unit->region.substr(0, 2));
    scopes.push_back("region:" + r.unit->region);
    scopes.push_back("national");
  }
  return scopes;
}

v1::Scope ScopeOf(const std::string& name) {
  const size_t colon = name.find(':');
  const std::string kind = name.substr(0, colon);
  if (kind == "unit") return st::UnitScope(name.substr(colon + 1));
  if (kind == "agency") return st::AgencyScope(name.substr(colon + 1));
  if (kind == "region") return st::RegionScope(name.substr(colon + 1));
  return st::National();
}

std::string PeriodName(const v1::Period& p) { return p.ShortDebugString(); }

class MonitoringIngestTest : public simpul::testing::RedisServerTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisServerTest::SetUp());
    RedisOptions redis = ServerOptions();
    redis.pool_size = 8;
    pool_ = std::make_unique<RedisPool>(redis);
    RedisAggregateStore::Options options;
    options.max_batch_script = 16;  // several scripts per batch
    store_ = std::make_unique<RedisAggregateStore>(pool_.get(), options);
    for (const TestUnit& u : Units()) {
      Route r;
      r.unit_id = u.id;
      r.agency_id = u.agency;
      r.region_code = u.region;
      r.time_zone = u.zone;
      r.sandbox = u.sandbox;
      router_.AddUnit(r);
    }
    desk_ =
        std::make_unique<MonitoringDesk>(*store_, router_, calendars_, clock_, MonitoringOptions{});
  }

  // Responses over 2026 from a fixed pseudo-random sequence, with instants close to the ends of
  // months (local midnight differs by zone) and skipped elements.
  std::vector<RawResponse> MakeResponses(int n) {
    std::vector<RawResponse> out;
    uint64_t x = 12345;
    auto next = [&x](uint64_t mod) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      return (x >> 33) % mod;
    };
    for (int i = 0; i < n; ++i) {
      const TestUnit* unit = &Units()[next(Units().size())];
      const int month = 1 + static_cast<int>(next(12));
      absl::Time t;
      if (next(4) == 0) {
        // The last day of a month, 15:00..17:59 UTC: the next month in WIT, not in WIB.
        const absl::CivilDay last = absl::CivilDay(2026, month + 1, 1) - 1;
        t = absl::FromCivil(
            absl::CivilSecond(last.year(), last.month(), last.day(), 15 + static_cast<int>(next(3)),
                              static_cast<int>(next(60)), 0),
            absl::UTCTimeZone());
      } else {
        t = absl::FromCivil(absl::CivilSecond(2026, month, 1 + static_cast<int>(next(28)),
                                              static_cast<int>(next(24)), 0, 0),
                            absl::UTCTimeZone());
      }
      std::vector<int> answers(9);
      for (int& a : answers) a = static_cast<int>(next(5));  // 0 = skipped
      if (answers[0] == 0) answers[0] = 1 + static_cast<int>(next(4));
      out.push_back(RawResponse{unit, t, answers, absl::StrCat("response-", i)});
    }
    return out;
  }

  static v1::SurveyResponse ToProto(const RawResponse& r) {
    return Response(r.key, r.unit->id, r.time, r.answers);
  }

  // Expected survey figures of every (scope, period), from the raw responses.
  std::map<std::pair<std::string, std::string>, Counters> Expected(
      const std::vector<RawResponse>& raw) {
    std::map<std::pair<std::string, std::string>, Counters> out;
    for (const RawResponse& r : raw) {
      for (const std::string& scope : ScopesOf(r)) {
        for (const v1::Period& p : PeriodsOf(r)) {
          Counters& c = out[{scope, PeriodName(p)}];
          c["s.n"] += 1;
          for (int i = 0; i < 9; ++i) {
            if (r.answers[i] == 0) continue;
            c[absl::StrCat("s.u", i + 1, ".sum")] += r.answers[i];
            c[absl::StrCat("s.u", i + 1, ".n")] += 1;
          }
        }
      }
    }
    return out;
  }

  void ExpectFiguresFromRaw(const std::vector<RawResponse>& raw) {
    const auto expected = Expected(raw);
    std::vector<std::string> scopes = {"national",     "region:32", "region:32.71",
                                       "region:32.73", "region:91", "region:91.71"};
    std::vector<std::string> agencies;
    for (const TestUnit& u : Units()) {
      scopes.push_back("unit:" + u.id);
      scopes.push_back("agency:" + u.agency);
    }
    std::vector<v1::Period> periods;
    for (int m = 1; m <= 12; ++m) periods.push_back(st::Month(2026, m));
    for (int q = 1; q <= 4; ++q) periods.push_back(st::Quarter(2026, q));
    for (int s = 1; s <= 2; ++s) periods.push_back(st::Semester(2026, s));
    periods.push_back(st::Year(2026));
    int with_data = 0;
    for (const std::string& scope_name : scopes) {
      const v1::Scope scope = ScopeOf(scope_name);
      for (const v1::Period& period : periods) {
        v1::GetFiguresRequest req;
        *req.mutable_scope() = scope;
        *req.mutable_period() = period;
        absl::StatusOr<v1::GetFiguresResponse> got = desk_->GetFigures(Identity::Public(), req);
        ASSERT_TRUE(got.ok()) << Describe(scope, period) << ": " << got.status();
        auto it = expected.find({scope_name, PeriodName(period)});
        const Counters counters = it == expected.end() ? Counters{} : it->second;
        with_data += it != expected.end();
        absl::StatusOr<v1::SurveyFigures> want = SurveyFiguresFrom(counters, 0);
        ASSERT_TRUE(want.ok()) << want.status();
        EXPECT_EQ(Diff(*want, got->figures().survey()), "") << Describe(scope, period);
      }
    }
    // Every scope has data in some period (the sequence is not degenerate).
    EXPECT_GT(with_data, static_cast<int>(scopes.size()) * 5);
  }

  // The IKM ranking of every agency and period holds each unit's figure computed from raw.
  void ExpectRankingsFromRaw(const std::vector<RawResponse>& raw) {
    const auto expected = Expected(raw);
    for (const char* agency : {"kota-bogor", "kota-jayapura"}) {
      for (const v1::Period& period :
           {st::Month(2026, 3), st::Quarter(2026, 2), st::Semester(2026, 2), st::Year(2026)}) {
        absl::StatusOr<v1::RankUnitsResponse> ranked = desk_->RankUnits(
            Identity::Public(), st::IkmRankRequest(st::AgencyScope(agency), period, 10));
        ASSERT_TRUE(ranked.ok()) << ranked.status();
        std::map<std::string, std::string> got;
        for (const auto& u : ranked->units()) got[u.unit_id()] = u.value();
        std::map<std::string, std::string> want;
        for (const TestUnit& u : Units()) {
          if (u.agency != agency || u.sandbox) continue;  // a unit in sandbox is never ranked
          auto it = expected.find({"unit:" + u.id, PeriodName(period)});
          if (it == expected.end()) continue;
          std::optional<int64_t> ikm = MetricValue(v1::METRIC_IKM, it->second);
          ASSERT_TRUE(ikm.has_value());
          want[u.id] = Decimal2{*ikm}.ToString();
        }
        EXPECT_EQ(got, want) << agency << " " << PeriodName(period);
      }
    }
  }

  v1::SubmitSurveyResponsesResponse MustSubmit(const std::vector<v1::SurveyResponse>& batch) {
    v1::SubmitSurveyResponsesRequest req;
    for (const auto& r : batch) *req.add_responses() = r;
    req.set_batch_id(absl::StrCat("batch-", ++batches_));
    absl::StatusOr<v1::SubmitSurveyResponsesResponse> resp =
        desk_->SubmitSurveyResponses(simpul::testing::ChannelCaller("skm-kiosk"), req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : v1::SubmitSurveyResponsesResponse{};
  }

  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<RedisAggregateStore> store_;
  simpul::testing::FakeRouter router_;
  CalendarRegistry calendars_{"", std::make_shared<HolidayCalendar>()};
  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2027, 1, 20, 0, 0, 0), absl::UTCTimeZone())};
  std::unique_ptr<MonitoringDesk> desk_;
  int batches_ = 0;
};

TEST_F(MonitoringIngestTest, FiguresOfEveryPeriodKindEqualTheFiguresOfTheRawResponses) {
  const std::vector<RawResponse> raw = MakeResponses(700);
  // Batches of 1..90 responses; each batch repeats two responses of the previous batch and one
  // of its own.
  size_t i = 0;
  int applied = 0;
  int repeated = 0;
  std::vector<v1::SurveyResponse> previous;
  for (size_t size = 1; i < raw.size(); size = size % 90 + 7) {
    std::vector<v1::SurveyResponse> batch;
    for (size_t j = i; j < std::min(raw.size(), i + size); ++j) batch.push_back(ToProto(raw[j]));
    const int fresh = static_cast<int>(batch.size());
    for (size_t k = 0; k < std::min<size_t>(2, previous.size()); ++k) batch.push_back(previous[k]);
    batch.push_back(batch.front());
    const int repeats = static_cast<int>(batch.size()) - fresh;
    v1::SubmitSurveyResponsesResponse resp = MustSubmit(batch);
    EXPECT_EQ(resp.applied(), fresh);
    EXPECT_EQ(resp.repeated(), repeats);
    applied += resp.applied();
    repeated += resp.repeated();
    previous = {batch.begin(), batch.begin() + fresh};
    i += fresh;
  }
  EXPECT_EQ(applied, static_cast<int>(raw.size()));
  EXPECT_GT(repeated, 0);
  ExpectFiguresFromRaw(raw);
  ExpectRankingsFromRaw(raw);

  // The whole load again, in one batch (several scripts), changes nothing.
  std::vector<v1::SurveyResponse> all;
  for (const RawResponse& r : raw) all.push_back(ToProto(r));
  v1::SubmitSurveyResponsesResponse again = MustSubmit(all);
  EXPECT_EQ(again.applied(), 0);
  EXPECT_EQ(again.repeated(), static_cast<int>(raw.size()));
  ExpectFiguresFromRaw(raw);
}

TEST_F(MonitoringIngestTest, DataWrittenInTheOldLayoutStaysReadableAndAddsUp) {
  // The first half as the store held it before batches and month-only buckets: one Apply (one
  // script) per response, with the same keys and ledgers, into every scope × month, quarter,
  // semester and year bucket.
  const std::vector<RawResponse> raw = MakeResponses(300);
  const absl::Time now = clock_.Now();
  for (size_t i = 0; i < raw.size() / 2; ++i) {
    const TestUnit& u = *raw[i].unit;
    const UnitInfo info{u.id, u.agency, u.region, u.zone, u.sandbox};
    absl::StatusOr<Contribution> c = SurveyContribution(ToProto(raw[i]), &info, now);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(c->buckets.size(), ScopeKeys(info).size());  // months only now
    c->buckets.clear();
    for (const std::string& scope : ScopeKeys(info)) {
      for (const std::string& period : PeriodKeys(raw[i].time, u.zone)) {
        c->buckets.push_back(BucketKey(scope, period));
      }
    }
    c->ledger.key = c->dedup_key;
    absl::StatusOr<bool> applied = store_->Apply(*c);
    ASSERT_TRUE(applied.ok()) << applied.status();
    ASSERT_TRUE(*applied);
  }
  // Then everything through the desk: the first half are repeats.
  std::vector<v1::SurveyResponse> all;
  for (const RawResponse& r : raw) all.push_back(ToProto(r));
  v1::SubmitSurveyResponsesResponse resp = MustSubmit(all);
  EXPECT_EQ(resp.applied(), static_cast<int>(raw.size() - raw.size() / 2));
  EXPECT_EQ(resp.repeated(), static_cast<int>(raw.size() / 2));
  ExpectFiguresFromRaw(raw);
  // The new half wrote month buckets only.
  absl::StatusOr<RedisReply> quarters =
      pool_->Command({"KEYS", absl::StrCat(store_->KeyPrefix(), "b:*|2026-Q*")});
  ASSERT_TRUE(quarters.ok()) << quarters.status();
  absl::StatusOr<RedisReply> months =
      pool_->Command({"KEYS", absl::StrCat(store_->KeyPrefix(), "b:*|2026-M*")});
  ASSERT_TRUE(months.ok()) << months.status();
  EXPECT_GT(months->elements.size(), quarters->elements.size());
}

TEST_F(MonitoringIngestTest, OnlyMonthBucketsAreWritten) {
  const std::vector<RawResponse> raw = MakeResponses(120);
  std::vector<v1::SurveyResponse> all;
  for (const RawResponse& r : raw) all.push_back(ToProto(r));
  EXPECT_EQ(MustSubmit(all).applied(), static_cast<int>(raw.size()));
  absl::StatusOr<RedisReply> buckets =
      pool_->Command({"KEYS", absl::StrCat(store_->KeyPrefix(), "b:*")});
  ASSERT_TRUE(buckets.ok()) << buckets.status();
  ASSERT_FALSE(buckets->elements.empty());
  for (const RedisReply& key : buckets->elements) {
    const std::string period = key.str.substr(key.str.rfind('|') + 1);
    if (period == "agencies") continue;  // the directory of agencies with data
    EXPECT_TRUE(period.size() == 8 && period.substr(4, 2) == "-M") << key.str;  // 2026-M03
  }
  ExpectFiguresFromRaw(raw);
  ExpectRankingsFromRaw(raw);
}

}  // namespace
}  // namespace simpul::monitoring
