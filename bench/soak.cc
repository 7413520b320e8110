// simpul-soak: the soak of issue #14 (point 6), run by bench/soak, never by CI. It starts the
// whole system as deploy/run does (Redis with AOF and one ACL user per process, internal mutual
// TLS, simpul-registry, simpul-complaints, simpul-monitoring and simpul-gateway: a
// ServiceCluster), seeds it, measures its capacity under the mixed load (tests/testing/
// mixed_load.h: the highest rate of a ramp with < 1% errors and p99 under 200 ms), then runs
// the mixed load at half of it for --minutes with open watch streams. Each minute it samples
// every process's RSS (/proc/<pid>/status VmRSS) and open descriptors (/proc/<pid>/fd),
// Redis's used_memory, and the load's calls, errors and p50/p99, and prints one table row.
// At the end it prints a verdict (errors; RSS growth of each process from minute 5 to the end;
// p99 of the last third against the first) and exits 1 if a target is missed.
// For the capacity plan (bench/capacity) it takes the mix of the load (--mix), the size of the
// seeded registry (--services) and extra gateway flags (--gateway-flag), and after the soak
// prints each process's CPU per acknowledged call and the Redis memory the soak added per key
// family ("cpu ..." and "memory ..." lines).
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis.h"
#include "tests/testing/mixed_load.h"
#include "tests/testing/service_cluster.h"

namespace simpul::testing {
namespace {

constexpr char kUsage[] = R"(usage: simpul-soak [--minutes N] [--rate R] [--capacity-probe]
                   [--watch-streams W] [--probe-seconds S] [--p99-limit-ms L]
                   [--mix filings=F,actions=A,surveys=S,reads=R,writes=W] [--services N]
                   [--gateway-flag FLAG]...

Starts Redis (AOF, ACL users), the three services and the gateway (internal mutual TLS) on
127.0.0.1, seeds them, and:
  --capacity-probe   only measures the capacity (a ramp of the mixed load, S seconds a step:
                     the highest rate with < 1% errors and shed calls and p99 under L ms)
  (default)          measures the capacity, then runs the mixed load at half of it (or at R
                     calls/s with --rate, without the probe) for N minutes (default 30) with W
                     watch streams (default 8), printing one row a minute and a verdict.
--mix sets the shares of the load's kinds (default filings=0.3,actions=0.3,surveys=0.2,
reads=0.18,writes=0.02; a kind left out gets 0); --services seeds N units and services
(default 2; reads rotate over them); --gateway-flag passes a flag to simpul-gateway (e.g.
--read_cache=false). After the soak: CPU per acknowledged call of each process and the Redis
memory the soak added per key family.
Targets: 0 errors (failed, wrong or shed calls), RSS growth of every process under 5% from
minute 5 (or a third of the run if shorter) to the end (Redis: beyond what its used_memory grew,
the data the load added), p99 of the last third of the minutes under 1.5 x the first third.
Exit status 0 when every target is met, 1 otherwise, 2 on a setup failure.
)";

std::atomic<bool> interrupted{false};

void OnSignal(int) { interrupted = true; }

struct Flags {
  int minutes = 30;
  double rate = 0;  // 0: probe
  bool probe_only = false;
  int watch_streams = 8;
  int probe_seconds = 15;
  double p99_limit_ms = 200;
  // Shares of the load's kinds (MixedLoadOptions).
  double filings = 0.3, actions = 0.3, surveys = 0.2, reads = 0.18, writes = 0.02;
  int services = 2;
  std::vector<std::string> gateway_flags;
};

// ParseMix reads "filings=0.3,actions=0.3,..." into `f` (kinds left out get 0).
bool ParseMix(const std::string& text, Flags* f) {
  f->filings = f->actions = f->surveys = f->reads = f->writes = 0;
  double sum = 0;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, '=');
    double v;
    if (!absl::SimpleAtod(kv.second, &v) || v < 0) return false;
    if (kv.first == "filings") {
      f->filings = v;
    } else if (kv.first == "actions") {
      f->actions = v;
    } else if (kv.first == "surveys") {
      f->surveys = v;
    } else if (kv.first == "reads") {
      f->reads = v;
    } else if (kv.first == "writes") {
      f->writes = v;
    } else {
      return false;
    }
    sum += v;
  }
  return sum > 0;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg != "--capacity-probe" && arg != "--help" && i + 1 < argc) {
      value = argv[++i];
    }
    bool ok = true;
    if (arg == "--minutes") {
      ok = absl::SimpleAtoi(value, &f->minutes) && f->minutes >= 1;
    } else if (arg == "--rate") {
      ok = absl::SimpleAtod(value, &f->rate) && f->rate > 0;
    } else if (arg == "--capacity-probe") {
      f->probe_only = true;
    } else if (arg == "--watch-streams") {
      ok = absl::SimpleAtoi(value, &f->watch_streams) && f->watch_streams >= 0;
    } else if (arg == "--probe-seconds") {
      ok = absl::SimpleAtoi(value, &f->probe_seconds) && f->probe_seconds >= 3;
    } else if (arg == "--p99-limit-ms") {
      ok = absl::SimpleAtod(value, &f->p99_limit_ms) && f->p99_limit_ms > 0;
    } else if (arg == "--mix") {
      ok = ParseMix(value, f);
    } else if (arg == "--services") {
      ok = absl::SimpleAtoi(value, &f->services) && f->services >= 1 && f->services <= 5000;
    } else if (arg == "--gateway-flag") {
      ok = absl::StartsWith(value, "--");
      f->gateway_flags.push_back(value);
    } else {
      std::cerr << (arg == "--help" ? "" : "simpul-soak: unknown flag " + arg + "\n") << kUsage;
      return false;
    }
    if (!ok) {
      std::cerr << "simpul-soak: bad value \"" << value << "\" for " << arg << "\n" << kUsage;
      return false;
    }
  }
  return true;
}

// ProcessSample is one process's memory and descriptors.
struct ProcessSample {
  int64_t rss_kb = -1;
  int fds = -1;
};

ProcessSample Sample(pid_t pid) {
  ProcessSample s;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() >= 2) (void)absl::SimpleAtoi(parts[1], &s.rss_kb);
    }
  }
  if (DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str())) {
    s.fds = 0;
    while (dirent* e = readdir(dir)) s.fds += e->d_name[0] != '.';
    closedir(dir);
  }
  return s;
}

// CpuSeconds is the user + system CPU time a process has used (/proc/<pid>/stat), -1 if unknown.
double CpuSeconds(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; the fields after it start past its ')'.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields =
      absl::StrSplit(absl::string_view(text).substr(close + 2), ' ', absl::SkipEmpty());
  long long utime, stime;  // fields 14 and 15 of the file, 12 and 13 after the ')'
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

// KeyFamily is a key's family: its prefix up to and including the hash tag ("simpul:cmp:{c}"),
// or its first two ':'-separated parts.
std::string KeyFamily(const std::string& key) {
  if (size_t close = key.find('}'); close != std::string::npos) return key.substr(0, close + 1);
  const size_t first = key.find(':');
  if (first == std::string::npos) return key;
  return key.substr(0, key.find(':', first + 1));
}

// FamilyMemory is what the keys of one family hold: MEMORY USAGE summed over its keys without
// and with an expiry, and the longest remaining time to live among the latter.
struct FamilyMemory {
  int64_t lasting = 0;
  int64_t expiring = 0;
  int64_t max_ttl_ms = 0;
};

// MemoryByFamily is FamilyMemory for every family (SCAN, MEMORY USAGE and PTTL of each key).
std::map<std::string, FamilyMemory> MemoryByFamily(RedisPool& pool) {
  std::map<std::string, FamilyMemory> out;
  std::string cursor = "0";
  do {
    absl::StatusOr<RedisReply> page = pool.Command({"SCAN", cursor, "COUNT", "1000"});
    if (!page.ok() || page->elements.size() != 2) return out;
    cursor = page->elements[0].str;
    std::vector<std::vector<std::string>> commands;
    for (const RedisReply& key : page->elements[1].elements) {
      commands.push_back({"MEMORY", "USAGE", key.str});
      commands.push_back({"PTTL", key.str});
    }
    if (commands.empty()) continue;
    absl::StatusOr<std::vector<RedisReply>> sizes = pool.Pipeline(commands);
    if (!sizes.ok()) return out;
    for (size_t i = 0; i + 1 < sizes->size(); i += 2) {
      FamilyMemory& f = out[KeyFamily(commands[i][2])];
      const long long ttl_ms = (*sizes)[i + 1].integer;
      if (ttl_ms >= 0) {
        f.expiring += (*sizes)[i].integer;
        f.max_ttl_ms = std::max<int64_t>(f.max_ttl_ms, ttl_ms);
      } else {
        f.lasting += (*sizes)[i].integer;
      }
    }
  } while (cursor != "0");
  return out;
}

// RedisUsedMemory is INFO memory's used_memory (bytes), -1 if unknown.
int64_t RedisUsedMemory(RedisPool& pool) {
  absl::StatusOr<RedisReply> info = pool.Command({"INFO", "memory"});
  if (!info.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    if (absl::ConsumePrefix(&line, "used_memory:")) {
      int64_t v;
      if (absl::SimpleAtoi(line, &v)) return v;
    }
  }
  return -1;
}

struct Minute {
  WindowStats load;
  std::vector<ProcessSample> processes;
  int64_t redis_used = -1;
  int64_t load_rss_kb = -1;
};

class Soak {
 public:
  explicit Soak(Flags flags) : flags_(flags) {}

  int Run() {
    if (absl::Status s = StartSystem(); !s.ok()) {
      std::cerr << "simpul-soak: setup failed: " << s << "\n";
      return 2;
    }
    double rate = flags_.rate;
    if (rate == 0 || flags_.probe_only) {
      const double capacity = ProbeCapacity();
      std::printf("capacity: %.0f calls/s (highest step with < 1%% errors and p99 < %.0f ms)\n",
                  capacity, flags_.p99_limit_ms);
      std::fflush(stdout);
      if (flags_.probe_only) return 0;
      if (capacity <= 0) {
        std::cerr << "simpul-soak: no step of the ramp met the targets\n";
        return 1;
      }
      rate = capacity / 2;
    }
    return SoakAt(rate);
  }

 private:
  absl::Status StartSystem() {
    absl::StatusOr<std::unique_ptr<ServiceCluster>> cluster = ServiceCluster::Create(
        {.redis_append_only = true, .redis_acl = true, .internal_tls = true});
    if (!cluster.ok()) return cluster.status();
    cluster_ = *std::move(cluster);
    for (Binary b : {Binary::kRegistry, Binary::kComplaints, Binary::kMonitoring}) {
      if (auto p = cluster_->Start(b); !p.ok()) return p.status();
    }
    std::vector<std::string> gateway_flags = LoadGatewayFlags();
    gateway_flags.insert(gateway_flags.end(), flags_.gateway_flags.begin(),
                         flags_.gateway_flags.end());
    if (auto p = cluster_->Start(Binary::kGateway, {.flags = gateway_flags}); !p.ok()) {
      return p.status();
    }
    absl::StatusOr<LoadSetup> setup = PrepareLoad(*cluster_, "soak", flags_.services);
    if (!setup.ok()) return setup.status();
    setup_ = *std::move(setup);
    RedisOptions redis = cluster_->redis().PoolOptions();
    redis.pool_size = 1;
    redis_ = std::make_unique<RedisPool>(redis);
    std::printf(
        "system: redis pid %d, registry %d, complaints %d, monitoring %d, gateway %d "
        "(%s), directory %s\n",
        cluster_->redis().pid(), cluster_->registry().pid(), cluster_->complaints().pid(),
        cluster_->monitoring().pid(), cluster_->gateway().pid(),
        cluster_->gateway().address().c_str(), cluster_->dir().c_str());
    return absl::OkStatus();
  }

  MixedLoadOptions LoadOptions(double rate) const {
    MixedLoadOptions o;
    o.gateways = {cluster_->gateway().address()};
    o.callers = setup_.callers;
    o.seed = setup_.seed;
    o.calls_per_second = rate;
    o.max_in_flight = 256;
    o.keep_acks = false;
    // By default 2% registry writes (UpdateService) so that the watch streams carry events.
    o.filings = flags_.filings;
    o.actions = flags_.actions;
    o.surveys = flags_.surveys;
    o.reads = flags_.reads;
    o.registry_writes = flags_.writes;
    return o;
  }

  // ProbeCapacity runs the ramp and returns the highest rate that met the targets (0: none).
  double ProbeCapacity() {
    const std::vector<double> steps = {25, 50, 75, 100, 125, 150, 200, 250, 300, 400, 600, 800};
    double capacity = 0;
    {  // Warm-up, not measured: connections, TLS sessions, caches, first keys.
      MixedLoadOptions o = LoadOptions(10);
      o.watch_streams = 0;
      absl::StatusOr<std::unique_ptr<MixedLoad>> warm = MixedLoad::Start(o);
      if (warm.ok()) {
        absl::SleepFor(absl::Seconds(5));
        (*warm)->Stop();
      }
    }
    std::printf("%8s %8s %8s %8s %9s %9s  %s\n", "rate/s", "calls", "errors", "shed", "p50 ms",
                "p99 ms", "verdict");
    for (double rate : steps) {
      if (interrupted) break;
      MixedLoadOptions o = LoadOptions(rate);
      o.watch_streams = 0;
      o.window = absl::Seconds(flags_.probe_seconds);
      absl::StatusOr<std::unique_ptr<MixedLoad>> load = MixedLoad::Start(o);
      if (!load.ok()) {
        std::cerr << load.status() << "\n";
        return capacity;
      }
      absl::SleepFor(absl::Seconds(flags_.probe_seconds));
      (*load)->Stop();
      const WindowStats all = (*load)->Overall();
      const LoadTotals totals = (*load)->Totals();
      const int64_t bad = all.errors + all.shed;
      const bool ok = totals.due > 0 && bad * 100 < totals.due && all.p99_ms < flags_.p99_limit_ms;
      std::printf("%8.0f %8lld %8lld %8lld %9.1f %9.1f  %s\n", rate,
                  static_cast<long long>(all.calls), static_cast<long long>(all.errors),
                  static_cast<long long>(all.shed), all.p50_ms, all.p99_ms, ok ? "ok" : "over");
      std::fflush(stdout);
      if (!ok) break;
      capacity = rate;
      absl::SleepFor(absl::Seconds(3));  // let the event consumers catch up
    }
    return capacity;
  }

  std::vector<std::pair<std::string, pid_t>> Processes() {
    return {{"redis", cluster_->redis().pid()},
            {"registry", cluster_->registry().pid()},
            {"complaints", cluster_->complaints().pid()},
            {"monitoring", cluster_->monitoring().pid()},
            {"gateway", cluster_->gateway().pid()}};
  }

  int SoakAt(double rate) {
    const auto processes = Processes();
    std::printf("\nsoak: %.1f calls/s for %d minutes, %d watch streams\n", rate, flags_.minutes,
                flags_.watch_streams);
    std::printf("%4s %7s %6s %5s %8s %8s", "min", "calls", "errors", "shed", "p50 ms", "p99 ms");
    for (const auto& [name, pid] : processes) {
      std::printf(" %10s", absl::StrCat(name.substr(0, 6), " MB/fd").c_str());
    }
    std::printf(" %9s %8s\n", "redis data", "load MB");
    MixedLoadOptions o = LoadOptions(rate);
    o.watch_streams = flags_.watch_streams;
    o.window = absl::Minutes(1);
    absl::StatusOr<std::unique_ptr<MixedLoad>> load = MixedLoad::Start(o);
    if (!load.ok()) {
      std::cerr << load.status() << "\n";
      return 2;
    }
    const absl::Time start = absl::Now();
    const std::map<std::string, FamilyMemory> memory_before = MemoryByFamily(*redis_);
    std::vector<double> cpu_before;
    for (const auto& [name, pid] : processes) cpu_before.push_back(CpuSeconds(pid));
    std::vector<Minute> minutes;
    for (int m = 1; m <= flags_.minutes && !interrupted; ++m) {
      // Sample just after the end of minute m (the load's window m-1 has closed).
      const absl::Time at = start + absl::Minutes(m) + absl::Milliseconds(200);
      while (absl::Now() < at && !interrupted) absl::SleepFor(absl::Milliseconds(200));
      if (interrupted) break;
      Minute row;
      const std::vector<WindowStats> windows = (*load)->Windows();
      if (static_cast<int>(windows.size()) >= m) row.load = windows[m - 1];
      for (const auto& [name, pid] : processes) row.processes.push_back(Sample(pid));
      row.redis_used = RedisUsedMemory(*redis_);
      row.load_rss_kb = Sample(getpid()).rss_kb;
      PrintRow(m, row);
      minutes.push_back(std::move(row));
    }
    (*load)->Stop();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const LoadTotals totals = (*load)->Totals();
    PrintCosts(processes, cpu_before, seconds, totals, memory_before);
    return Verdict(processes, minutes, **load);
  }

  // PrintCosts prints each process's CPU per acknowledged call and share of one core over the
  // soak, and the Redis memory the soak added by key family, with the items it holds.
  void PrintCosts(const std::vector<std::pair<std::string, pid_t>>& processes,
                  const std::vector<double>& cpu_before, double seconds, const LoadTotals& totals,
                  const std::map<std::string, FamilyMemory>& memory_before) {
    const int64_t calls = totals.acked_total();
    std::printf("\ncosts over %.0f s, %lld acknowledged calls (%.1f/s):\n", seconds,
                static_cast<long long>(calls), calls / seconds);
    double all = 0;
    for (size_t i = 0; i < processes.size(); ++i) {
      const double used = CpuSeconds(processes[i].second) - cpu_before[i];
      all += used;
      std::printf("cpu %-10s %8.1f us/call %6.1f%% of a core\n", processes[i].first.c_str(),
                  calls > 0 ? 1e6 * used / calls : 0.0, 100 * used / seconds);
    }
    std::printf("cpu %-10s %8.1f us/call %6.1f%% of a core\n", "all",
                calls > 0 ? 1e6 * all / calls : 0.0, 100 * all / seconds);
    // Per family: bytes now, bytes the soak added to keys without an expiry and to keys with
    // one, and the longest time to live left among the latter.
    const std::map<std::string, FamilyMemory> after = MemoryByFamily(*redis_);
    for (const auto& [family, now] : after) {
      const auto it = memory_before.find(family);
      const FamilyMemory before = it == memory_before.end() ? FamilyMemory{} : it->second;
      std::printf("memory %-22s %12lld bytes %+12lld lasting %+12lld expiring ttl %lld s\n",
                  family.c_str(), static_cast<long long>(now.lasting + now.expiring),
                  static_cast<long long>(now.lasting - before.lasting),
                  static_cast<long long>(now.expiring - before.expiring),
                  static_cast<long long>(now.max_ttl_ms / 1000));
    }
    std::printf("acked filings %lld actions %lld surveys %lld reads %lld writes %lld\n",
                static_cast<long long>(totals.acked[0]), static_cast<long long>(totals.acked[1]),
                static_cast<long long>(totals.acked[2]), static_cast<long long>(totals.acked[3]),
                static_cast<long long>(totals.acked[4]));
    std::fflush(stdout);
  }

  static void PrintRow(int m, const Minute& row) {
    std::printf("%4d %7lld %6lld %5lld %8.1f %8.1f", m, static_cast<long long>(row.load.calls),
                static_cast<long long>(row.load.errors), static_cast<long long>(row.load.shed),
                row.load.p50_ms, row.load.p99_ms);
    for (const ProcessSample& p : row.processes) {
      std::printf(" %10s", absl::StrFormat("%.1f/%d", p.rss_kb / 1024.0, p.fds).c_str());
    }
    std::printf(" %9.1f %8.1f\n", row.redis_used / 1048576.0, row.load_rss_kb / 1024.0);
    std::fflush(stdout);
  }

  int Verdict(const std::vector<std::pair<std::string, pid_t>>& processes,
              const std::vector<Minute>& minutes, const MixedLoad& load) {
    bool ok = true;
    const LoadErrors errors = load.Errors();
    const LoadTotals totals = load.Totals();
    std::printf("\nverdict after %zu minutes:\n", minutes.size());
    std::printf(
        "  calls acknowledged %lld (filings %lld, actions %lld, surveys %lld, reads %lld,"
        " registry writes %lld), watch events %lld, watch opens %lld, cases open %lld\n",
        static_cast<long long>(totals.acked_total()), static_cast<long long>(totals.acked[0]),
        static_cast<long long>(totals.acked[1]), static_cast<long long>(totals.acked[2]),
        static_cast<long long>(totals.acked[3]), static_cast<long long>(totals.acked[4]),
        static_cast<long long>(totals.watch_events), static_cast<long long>(totals.watch_opens),
        static_cast<long long>(totals.cases_open));
    const int64_t bad = errors.total() + errors.shed;
    std::printf(
        "  errors: %lld (failed %lld, retries exhausted %lld, wrong data %lld, shed %lld)"
        " %s\n",
        static_cast<long long>(bad), static_cast<long long>(errors.non_retryable),
        static_cast<long long>(errors.exhausted), static_cast<long long>(errors.wrong_data),
        static_cast<long long>(errors.shed), bad == 0 ? "OK" : "MISSED (target 0)");
    for (const auto& [code, n] : errors.attempt_errors) {
      std::printf("  failed attempts with code %d: %lld (last: %s)\n", static_cast<int>(code),
                  static_cast<long long>(n), errors.last_attempt_error.at(code).c_str());
    }
    for (const std::string& s : errors.samples) std::printf("  %s\n", s.c_str());
    ok &= bad == 0;
    if (minutes.size() < 2) {
      std::printf("  too short for the RSS and p99 targets\n");
      return ok ? 0 : 1;
    }
    // Baseline: minute 5, or a third of a shorter run (at least minute 1).
    const size_t base = std::min<size_t>(5, std::max<size_t>(1, minutes.size() / 3)) - 1;
    const Minute& first = minutes[base];
    const Minute& last = minutes.back();
    const int64_t data_growth =
        first.redis_used >= 0 && last.redis_used >= 0 ? last.redis_used - first.redis_used : 0;
    std::printf("  RSS growth from minute %zu to minute %zu (target < 5%%):\n", base + 1,
                minutes.size());
    for (size_t i = 0; i < processes.size(); ++i) {
      const double before = first.processes[i].rss_kb * 1024.0;
      const double after = last.processes[i].rss_kb * 1024.0;
      double growth = before > 0 ? 100.0 * (after - before) / before : 0;
      std::string note;
      if (processes[i].first == "redis") {
        // Redis grows by the data the load writes; what is beyond it would be a leak.
        const double beyond = before > 0 ? 100.0 * (after - before - data_growth) / before : 0;
        note = absl::StrFormat(" (used_memory grew %.1f MB; beyond the data: %+.1f%%)",
                               data_growth / 1048576.0, beyond);
        growth = beyond;
      }
      const bool met = growth < 5.0;
      ok &= met;
      std::printf("    %-10s %8.1f MB -> %8.1f MB  %+6.1f%%%s  fds %d -> %d  %s\n",
                  processes[i].first.c_str(), before / 1048576.0, after / 1048576.0,
                  before > 0 ? 100.0 * (after - before) / before : 0.0, note.c_str(),
                  first.processes[i].fds, last.processes[i].fds, met ? "OK" : "MISSED");
    }
    // p99: mean of the last third of the minutes against the first third.
    const size_t third = std::max<size_t>(1, minutes.size() / 3);
    double early = 0, late = 0;
    for (size_t i = 0; i < third; ++i) {
      early += minutes[i].load.p99_ms;
      late += minutes[minutes.size() - third + i].load.p99_ms;
    }
    early /= third;
    late /= third;
    const bool flat = late < 1.5 * early;
    ok &= flat;
    std::printf("  p99: first third %.1f ms, last third %.1f ms (x%.2f; target < x1.5) %s\n", early,
                late, early > 0 ? late / early : 0.0, flat ? "OK" : "MISSED");
    std::printf("  %s\n", ok ? "ALL TARGETS MET" : "SOME TARGETS MISSED");
    return ok ? 0 : 1;
  }

  const Flags flags_;
  std::unique_ptr<ServiceCluster> cluster_;
  LoadSetup setup_;
  std::unique_ptr<RedisPool> redis_;
};

}  // namespace
}  // namespace simpul::testing

int main(int argc, char** argv) {
  simpul::testing::Flags flags;
  if (!simpul::testing::ParseFlags(argc, argv, &flags)) return 2;
  signal(SIGINT, simpul::testing::OnSignal);
  signal(SIGTERM, simpul::testing::OnSignal);
  signal(SIGPIPE, SIG_IGN);
  simpul::testing::Soak soak(flags);
  return soak.Run();
}
