// monitoring_read_bench: shows that a monitoring read costs the same for a region of 10,000
// units with a million survey responses as for one unit, because figures are read from
// aggregates kept up to date as data arrives (one bucket per scope and period), never by
// scanning raw records.
//
// It starts its own redis-server on a free loopback port (AOF off: only the read path is
// measured), applies `--responses` survey responses spread over `--units` units of one
// province through the same contribution path the service uses, then times
// MonitoringDesk::GetFigures for one unit, for the units' agency and for the province (`--reads`
// sequential calls each) and prints the figures. Not run by CI; nothing is asserted.
//
//   build/bench/monitoring_read_bench [--units=10000] [--responses=1000000] [--reads=2000]
//                                     [--threads=8]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/redis.h"
#include "services/monitoring/aggregates.h"
#include "services/monitoring/monitoring.h"
#include "services/monitoring/redis_store.h"
#include "tests/testing/redis_server.h"

namespace {

using namespace simpul;
using namespace simpul::monitoring;

// NoRouter: reads never consult the registry.
class NoRouter final : public clients::registry::Router {
 public:
  absl::StatusOr<clients::registry::Route> ResolveService(std::string_view) override {
    return absl::UnimplementedError("not in the benchmark");
  }
  absl::StatusOr<clients::registry::Route> ResolveUnit(std::string_view) override {
    return absl::UnimplementedError("not in the benchmark");
  }
  absl::StatusOr<bool> AgencyExists(std::string_view) override {
    return absl::UnimplementedError("not in the benchmark");
  }
};

int64_t Flag(int argc, char** argv, const std::string& name, int64_t fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    int64_t value = 0;
    if (arg.rfind(prefix, 0) == 0 && absl::SimpleAtoi(arg.substr(prefix.size()), &value)) {
      return value;
    }
  }
  return fallback;
}

UnitInfo UnitOf(int64_t i) {
  // 10 regencies of province 32, units spread over them; agency = the regency government.
  const int regency = static_cast<int>(i % 10) + 1;
  return UnitInfo{absl::StrFormat("bench-unit-%05d", i),
                  absl::StrFormat("bench-agency-%02d", regency),
                  absl::StrFormat("32.%02d", regency), common::v1::TIME_ZONE_WIB};
}

struct Timing {
  double mean_us = 0, p50_us = 0, p99_us = 0;
};

Timing TimeReads(MonitoringDesk& desk, const v1::GetFiguresRequest& req, int reads,
                 std::string* ikm, int64_t* respondents) {
  std::vector<double> us;
  us.reserve(reads);
  for (int i = 0; i < reads; ++i) {
    absl::Time start = absl::Now();
    auto figures = desk.GetFigures(Identity::Public(), req);
    us.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
    if (!figures.ok()) {
      std::fprintf(stderr, "GetFigures: %s\n", figures.status().ToString().c_str());
      std::exit(1);
    }
    *ikm = figures->figures().survey().ikm();
    *respondents = figures->figures().survey().respondents();
  }
  std::sort(us.begin(), us.end());
  Timing t;
  for (double v : us) t.mean_us += v / us.size();
  t.p50_us = us[us.size() / 2];
  t.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t units = Flag(argc, argv, "units", 10000);
  const int64_t responses = Flag(argc, argv, "responses", 1000000);
  const int reads = static_cast<int>(Flag(argc, argv, "reads", 2000));
  const int threads = static_cast<int>(Flag(argc, argv, "threads", 8));

  auto redis = testing::RedisServer::Start(/*append_only=*/false);
  if (!redis.ok()) {
    std::fprintf(stderr, "redis-server: %s\n", redis.status().ToString().c_str());
    return 1;
  }
  RedisOptions options;
  options.port = (*redis)->port();
  options.pool_size = threads + 2;
  RedisPool pool(options);
  RedisAggregateStore store(&pool, {});
  NoRouter router;
  CalendarRegistry calendars("", std::make_shared<HolidayCalendar>());
  SystemClock clock;
  MonitoringDesk desk(store, router, calendars, clock, {});

  // Populate through the service's own contribution path, responses in March 2026.
  const absl::Time month =
      absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 0, 0), absl::FixedTimeZone(7 * 3600));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  const absl::Time load_start = absl::Now();
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&] {
      for (int64_t i = next++; i < responses && !failed; i = next++) {
        const UnitInfo unit = UnitOf(i % units);
        v1::SurveyResponse r;
        r.set_idempotency_key(absl::StrFormat("bench-%09d", i));
        r.set_unit_id(unit.unit_id);
        const absl::Time t = month + absl::Minutes(i % (60 * 24 * 25));
        r.mutable_response_time()->set_seconds(absl::ToUnixSeconds(t));
        for (int e = 0; e < 9; ++e) r.add_answers(1 + static_cast<int>((i * 7 + e * 3) % 4));
        auto contribution = SurveyContribution(r, &unit, absl::Now());
        if (!contribution.ok() || !store.Apply(*contribution).ok()) {
          std::fprintf(stderr, "apply failed at response %lld\n", static_cast<long long>(i));
          failed = true;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  if (failed) return 1;
  const double load_s = absl::ToDoubleSeconds(absl::Now() - load_start);

  v1::GetFiguresRequest unit_req;
  unit_req.mutable_scope()->set_unit_id(UnitOf(0).unit_id);
  unit_req.mutable_period()->set_kind(v1::PERIOD_KIND_MONTH);
  unit_req.mutable_period()->set_year(2026);
  unit_req.mutable_period()->set_index(3);
  v1::GetFiguresRequest agency_req = unit_req;
  agency_req.mutable_scope()->set_agency_id(UnitOf(0).agency_id);
  v1::GetFiguresRequest region_req = unit_req;
  region_req.mutable_scope()->set_region_code_prefix("32");

  std::string ikm;
  int64_t respondents = 0;
  std::printf(
      "monitoring_read_bench: %lld responses over %lld units loaded in %.1f s (%.0f/s, "
      "%d threads)\n",
      static_cast<long long>(responses), static_cast<long long>(units), load_s, responses / load_s,
      threads);
  std::printf("| scope | units behind it | respondents | IKM | mean µs | p50 µs | p99 µs |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  Timing unit_t = TimeReads(desk, unit_req, reads, &ikm, &respondents);
  std::printf("| unit %s | 1 | %lld | %s | %.0f | %.0f | %.0f |\n", UnitOf(0).unit_id.c_str(),
              static_cast<long long>(respondents), ikm.c_str(), unit_t.mean_us, unit_t.p50_us,
              unit_t.p99_us);
  Timing agency_t = TimeReads(desk, agency_req, reads, &ikm, &respondents);
  std::printf("| agency %s | %lld | %lld | %s | %.0f | %.0f | %.0f |\n",
              UnitOf(0).agency_id.c_str(), static_cast<long long>(units / 10),
              static_cast<long long>(respondents), ikm.c_str(), agency_t.mean_us, agency_t.p50_us,
              agency_t.p99_us);
  Timing region_t = TimeReads(desk, region_req, reads, &ikm, &respondents);
  std::printf("| region 32 | %lld | %lld | %s | %.0f | %.0f | %.0f |\n",
              static_cast<long long>(units), static_cast<long long>(respondents), ikm.c_str(),
              region_t.mean_us, region_t.p50_us, region_t.p99_us);
  std::printf("region / unit mean read time: %.2f (target <= 1.2)\n",
              region_t.mean_us / unit_t.mean_us);
  return 0;
}
