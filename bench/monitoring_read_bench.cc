// monitoring_read_bench: shows that a monitoring read costs the same for a region of 10,000
// units with a million survey responses as for one unit, because figures are read from
// aggregates kept up to date as data arrives (one bucket per scope and period), never by
// scanning raw records; and measures the ingest rate of survey responses.
//
// It starts its own redis-server on a free loopback port (AOF off), submits `--responses`
// survey responses spread over `--units` units of one province through the service's own
// path (MonitoringDesk::SubmitSurveyResponses as a channel, `--batch` responses per call from
// `--threads` submitters; consecutive responses belong to different units, the worst case for
// a batch), then `--grpc_responses` more over gRPC (MonitoringGrpcService on 127.0.0.1, an
// identity token per call, to units of another province so the read figures stay those of the
// first load). Each load prints a line
//   ingest <how>: <n> responses in <s> s: <rate> responses/s; CPU µs per response: <total>
//   (service <bench process>, redis <redis-server>)
// and the growth of Redis's used_memory per response,
//   memory <how>: <bytes> bytes of Redis per response (used_memory)
// (the bench process holds the service and, over gRPC, its client too). With `--batch_units=k`
// each batch holds the responses of only k units (a kiosk's batch: k = 1);
// `--unit_batch_responses=n` adds a third load, in process, of n responses in batches of one
// unit each (to units of a third province), printed as "ingest in process, one unit per
// batch". Then it times
// MonitoringDesk::GetFigures for one unit, for the units' agency and for the province
// (`--reads` calls each, interleaved: one of each per round) and prints the figures. Not run by
// CI; nothing is asserted.
//
//   build/bench/monitoring_read_bench [--units=10000] [--responses=1000000] [--reads=2000]
//                                     [--threads=2] [--batch=1000] [--grpc_responses=100000]
//                                     [--batch_units=0] [--unit_batch_responses=0]
#include <grpcpp/grpcpp.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/calendar.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/redis.h"
#include "services/monitoring/aggregates.h"
#include "services/monitoring/grpc_service.h"
#include "services/monitoring/monitoring.h"
#include "services/monitoring/redis_store.h"
#include "services/monitoring/watch.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "tests/testing/fake_router.h"
#include "tests/testing/identities.h"
#include "tests/testing/identity_tokens.h"
#include "tests/testing/redis_server.h"

namespace {

using namespace simpul;
using namespace simpul::monitoring;

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

UnitInfo UnitOf(int64_t i, int province = 32) {
  // 10 regencies of the province, units spread over them; agency = the regency government.
  const int regency = static_cast<int>(i % 10) + 1;
  const std::string tag = province == 32 ? "" : absl::StrCat(province, "-");
  return UnitInfo{absl::StrFormat("bench-unit-%s%05d", tag, i),
                  absl::StrFormat("bench-agency-%s%02d", tag, regency),
                  absl::StrFormat("%d.%02d", province, regency), common::v1::TIME_ZONE_WIB};
}

// Response i of a load: `unit`, a time in March 2026 (WIB), answers 1..4.
v1::SurveyResponse ResponseOf(int64_t i, int64_t unit, int province) {
  static const absl::Time kMonth =
      absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 0, 0), absl::FixedTimeZone(7 * 3600));
  v1::SurveyResponse r;
  r.set_idempotency_key(absl::StrFormat("bench-%d-%09d", province, i));
  r.set_unit_id(UnitOf(unit, province).unit_id);
  const absl::Time t = kMonth + absl::Minutes(i % (60 * 24 * 25));
  r.mutable_response_time()->set_seconds(absl::ToUnixSeconds(t));
  for (int e = 0; e < 9; ++e) r.add_answers(1 + static_cast<int>((i * 7 + e * 3) % 4));
  return r;
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// RedisUsedMemory is used_memory of INFO memory, in bytes (0 when unknown).
double RedisUsedMemory(RedisPool& pool) {
  auto reply = pool.Command({"INFO", "memory"});
  std::optional<std::string> text = reply.ok() ? ReplyString(*reply) : std::nullopt;
  const char* name = "used_memory:";
  const size_t at = text ? text->find(name) : std::string::npos;
  double v = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtod(text->substr(at + strlen(name), text->find('\r', at) - at - strlen(name)),
                        &v)) {
    return 0;
  }
  return v;
}

// RedisCpuSeconds is used_cpu_sys + used_cpu_user of INFO cpu (the whole redis-server).
double RedisCpuSeconds(RedisPool& pool) {
  auto reply = pool.Command({"INFO", "cpu"});
  std::optional<std::string> text = reply.ok() ? ReplyString(*reply) : std::nullopt;
  if (!text) return 0;
  double total = 0;
  for (const char* name : {"used_cpu_sys:", "used_cpu_user:"}) {
    const size_t at = text->find(name);
    double v = 0;
    if (at != std::string::npos &&
        absl::SimpleAtod(text->substr(at + strlen(name), text->find('\r', at) - at - strlen(name)),
                         &v)) {
      total += v;
    }
  }
  return total;
}

// PrintCommandStats prints Redis's INFO commandstats (commands run by scripts included) to
// stderr, and resets them.
void PrintCommandStats(RedisPool& pool, const char* how) {
  auto reply = pool.Command({"INFO", "commandstats"});
  std::optional<std::string> text = reply.ok() ? ReplyString(*reply) : std::nullopt;
  if (text) std::fprintf(stderr, "redis commandstats after ingest %s:\n%s\n", how, text->c_str());
  (void)pool.Command({"CONFIG", "RESETSTAT"});
}

// Load submits `responses` responses in batches of `batch` from `threads` threads, each batch
// through `submit` (false: failed), and prints the ingest line.
template <typename Submit>
bool Load(const char* how, int64_t responses, int64_t units, int province, int batch,
          int64_t batch_units, int threads, RedisPool& pool, Submit submit) {
  // Response i goes to unit i % units (each response of a batch to another unit), or with
  // `batch_units` > 0, batch b's responses go round its own `batch_units` units.
  auto unit_of = [&](int64_t i) {
    if (batch_units <= 0) return i % units;
    const int64_t b = i / batch;
    return (b * batch_units + (i - b * batch) % batch_units) % units;
  };
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  const double cpu0 = ProcessCpuSeconds();
  const double redis0 = RedisCpuSeconds(pool);
  const double memory0 = RedisUsedMemory(pool);
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&] {
      for (int64_t b = next++; b * batch < responses && !failed; b = next++) {
        v1::SubmitSurveyResponsesRequest req;
        for (int64_t i = b * batch; i < std::min(responses, (b + 1) * batch); ++i) {
          *req.add_responses() = ResponseOf(i, unit_of(i), province);
        }
        if (!submit(req)) failed = true;
      }
    });
  }
  for (auto& w : workers) w.join();
  if (failed) {
    // What held Redis: its slowest commands.
    auto slow = pool.Command({"SLOWLOG", "GET", "5"});
    if (slow.ok()) {
      for (const RedisReply& entry : slow->elements) {
        if (entry.elements.size() < 4) continue;
        std::string args;
        for (size_t i = 0; i < std::min<size_t>(entry.elements[3].elements.size(), 3); ++i) {
          absl::StrAppend(&args, " ", entry.elements[3].elements[i].str.substr(0, 40));
        }
        std::fprintf(stderr, "slowlog: %lld µs:%s\n",
                     static_cast<long long>(entry.elements[2].integer), args.c_str());
      }
    }
    return false;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu_us = (ProcessCpuSeconds() - cpu0) * 1e6 / responses;
  const double redis_us = (RedisCpuSeconds(pool) - redis0) * 1e6 / responses;
  std::printf(
      "ingest %s: %lld responses in %.1f s: %.0f responses/s; CPU µs per response: %.1f "
      "(service %.1f, redis %.1f); %lld units, batches of %d over %s, %d threads\n",
      how, static_cast<long long>(responses), seconds, responses / seconds, cpu_us + redis_us,
      cpu_us, redis_us, static_cast<long long>(units), batch,
      batch_units > 0 ? absl::StrCat(batch_units, " units").c_str() : "as many units", threads);
  std::printf("memory %s: %.0f bytes of Redis per response (used_memory)\n", how,
              (RedisUsedMemory(pool) - memory0) / responses);
  std::fflush(stdout);
  PrintCommandStats(pool, how);
  return true;
}

struct Timing {
  double mean_us = 0, p50_us = 0, p99_us = 0;
};

struct Read {
  v1::GetFiguresRequest req;
  std::vector<double> us;
  std::string ikm;
  int64_t respondents = 0;
};

// TimeReads times `reads` GetFigures calls of each request, interleaved (one of each per
// round), so that the VM's drifting speed weighs on every scope alike.
void TimeReads(MonitoringDesk& desk, std::vector<Read>& all, int reads) {
  for (int i = 0; i < reads; ++i) {
    for (Read& r : all) {
      absl::Time start = absl::Now();
      auto figures = desk.GetFigures(Identity::Public(), r.req);
      r.us.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
      if (!figures.ok()) {
        std::fprintf(stderr, "GetFigures: %s\n", figures.status().ToString().c_str());
        std::exit(1);
      }
      r.ikm = figures->figures().survey().ikm();
      r.respondents = figures->figures().survey().respondents();
    }
  }
}

Timing TimingOf(std::vector<double> us) {
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
  // Two submitters keep both cores busy with batches; more queue scripts of 100 responses
  // behind each other in Redis (on a shared, loaded machine past the 2 s command timeout).
  const int threads = static_cast<int>(Flag(argc, argv, "threads", 2));
  const int batch = static_cast<int>(Flag(argc, argv, "batch", 1000));
  const int64_t grpc_responses = Flag(argc, argv, "grpc_responses", 100000);
  const int64_t batch_units = Flag(argc, argv, "batch_units", 0);
  const int64_t unit_batch_responses = Flag(argc, argv, "unit_batch_responses", 0);

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
  testing::FakeRouter router;  // the bench's units; reads never consult it for larger scopes
  for (int province : {32, 33, 34}) {
    for (int64_t u = 0; u < units; ++u) {
      const UnitInfo unit = UnitOf(u, province);
      clients::registry::Route route;
      route.unit_id = unit.unit_id;
      route.agency_id = unit.agency_id;
      route.region_code = unit.region_code;
      route.time_zone = unit.time_zone;
      router.AddUnit(std::move(route));
    }
  }
  CalendarRegistry calendars("", std::make_shared<HolidayCalendar>());
  SystemClock clock;
  MonitoringDesk desk(store, router, calendars, clock, {});

  // Populate through the service's own path, as a survey channel does.
  const Identity channel = testing::ChannelCaller("bench-kiosk");
  auto submit_in_process = [&](const v1::SubmitSurveyResponsesRequest& req) {
    auto r = desk.SubmitSurveyResponses(channel, req);
    if (!r.ok() || r->applied() != req.responses_size()) {
      std::fprintf(stderr, "submit: %s\n",
                   r.ok() ? "not every response applied" : r.status().ToString().c_str());
      return false;
    }
    return true;
  };
  bool loaded = Load("in process", responses, units, 32, batch, batch_units, threads, pool,
                     submit_in_process);
  if (!loaded) return 1;
  if (unit_batch_responses > 0 && !Load("in process, one unit per batch", unit_batch_responses,
                                        units, 34, batch, 1, threads, pool, submit_in_process)) {
    return 1;
  }

  if (grpc_responses > 0) {
    // The same, over gRPC: the service's adapter on a loopback port, a channel's token.
    testing::TokenMinter minter;
    const IdentitySigner verifier = minter.Verifier("simpul-monitoring");
    Executor executor(threads, 1000);
    WatchHub hub(desk, absl::Seconds(1));
    MonitoringGrpcService service(desk, hub, executor, &verifier, clock);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.SetMaxReceiveMessageSize(64 << 20);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || port == 0) {
      std::fprintf(stderr, "gRPC server did not start\n");
      return 1;
    }
    const std::string token = minter.TokenFor(testing::ChannelCaller("bench-kiosk").principal,
                                              "simpul-monitoring", absl::Now() + absl::Minutes(50));
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    auto stub = v1::Monitoring::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args));
    loaded =
        Load("over gRPC", grpc_responses, units, 33, batch, batch_units, threads, pool,
             [&](const v1::SubmitSurveyResponsesRequest& req) {
               grpc::ClientContext ctx;
               ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
               ctx.AddMetadata(std::string(kIdentityMetadataKey), token);
               v1::SubmitSurveyResponsesResponse resp;
               grpc::Status s = stub->SubmitSurveyResponses(&ctx, req, &resp);
               if (!s.ok() || resp.applied() != req.responses_size()) {
                 std::fprintf(stderr, "SubmitSurveyResponses: %s\n",
                              s.ok() ? "not every response applied" : s.error_message().c_str());
                 return false;
               }
               return true;
             });
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    hub.Stop();
    executor.Shutdown();
    if (!loaded) return 1;
  }

  v1::GetFiguresRequest unit_req;
  unit_req.mutable_scope()->set_unit_id(UnitOf(0).unit_id);
  unit_req.mutable_period()->set_kind(v1::PERIOD_KIND_MONTH);
  unit_req.mutable_period()->set_year(2026);
  unit_req.mutable_period()->set_index(3);
  v1::GetFiguresRequest agency_req = unit_req;
  agency_req.mutable_scope()->set_agency_id(UnitOf(0).agency_id);
  v1::GetFiguresRequest region_req = unit_req;
  region_req.mutable_scope()->set_region_code_prefix("32");

  std::printf("| scope | units behind it | respondents | IKM | mean µs | p50 µs | p99 µs |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  // The region's year as well: 12 month buckets read and summed.
  v1::GetFiguresRequest region_year_req = region_req;
  region_year_req.mutable_period()->set_kind(v1::PERIOD_KIND_YEAR);
  region_year_req.mutable_period()->set_index(0);
  std::vector<Read> all = {{unit_req}, {agency_req}, {region_req}, {region_year_req}};
  TimeReads(desk, all, reads);
  const Timing unit_t = TimingOf(all[0].us);
  std::printf("| unit %s | 1 | %lld | %s | %.0f | %.0f | %.0f |\n", UnitOf(0).unit_id.c_str(),
              static_cast<long long>(all[0].respondents), all[0].ikm.c_str(), unit_t.mean_us,
              unit_t.p50_us, unit_t.p99_us);
  const Timing agency_t = TimingOf(all[1].us);
  std::printf("| agency %s | %lld | %lld | %s | %.0f | %.0f | %.0f |\n",
              UnitOf(0).agency_id.c_str(), static_cast<long long>(units / 10),
              static_cast<long long>(all[1].respondents), all[1].ikm.c_str(), agency_t.mean_us,
              agency_t.p50_us, agency_t.p99_us);
  const Timing region_t = TimingOf(all[2].us);
  std::printf("| region 32 | %lld | %lld | %s | %.0f | %.0f | %.0f |\n",
              static_cast<long long>(units), static_cast<long long>(all[2].respondents),
              all[2].ikm.c_str(), region_t.mean_us, region_t.p50_us, region_t.p99_us);
  const Timing year_t = TimingOf(all[3].us);
  std::printf("| region 32, year 2026 | %lld | %lld | %s | %.0f | %.0f | %.0f |\n",
              static_cast<long long>(units), static_cast<long long>(all[3].respondents),
              all[3].ikm.c_str(), year_t.mean_us, year_t.p50_us, year_t.p99_us);
  std::printf("region / unit mean read time: %.2f (target <= 1.2)\n",
              region_t.mean_us / unit_t.mean_us);
  return 0;
}
