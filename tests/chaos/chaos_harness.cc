#include "tests/chaos/chaos_harness.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/testing/redis_sentinel_set.h"

namespace simpul::testing {
namespace {

std::string NameOf(const ServiceProcess& process) {
  return std::filesystem::path(process.log_path()).stem().string();
}

// WaitUntil polls `done` every 50 ms until it is true or `timeout` passed.
template <typename F>
bool WaitUntil(absl::Duration timeout, F done) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kKillService:
      return "kill -9 service replica";
    case FaultKind::kKillGateway:
      return "kill -9 gateway";
    case FaultKind::kKillRedisMaster:
      return "kill -9 Redis master";
    case FaultKind::kPause:
      return "SIGSTOP service/gateway";
    case FaultKind::kPauseRedisMaster:
      return "SIGSTOP Redis master";
    case FaultKind::kRestartSentinel:
      return "restart sentinel";
  }
  return "?";
}

absl::StatusOr<std::vector<FaultKind>> ParseFaultKinds(const std::string& text) {
  static const std::pair<const char*, FaultKind> kNames[] = {
      {"kill-service", FaultKind::kKillService},
      {"kill-gateway", FaultKind::kKillGateway},
      {"kill-redis-master", FaultKind::kKillRedisMaster},
      {"pause", FaultKind::kPause},
      {"pause-redis-master", FaultKind::kPauseRedisMaster},
      {"restart-sentinel", FaultKind::kRestartSentinel}};
  std::vector<FaultKind> kinds;
  for (absl::string_view name : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    bool known = false;
    for (const auto& [n, kind] : kNames) {
      if (name == n) {
        kinds.push_back(kind);
        known = true;
      }
    }
    if (!known)
      return absl::InvalidArgumentError(absl::StrCat("unknown fault kind \"", name, "\""));
  }
  return kinds;
}

bool ChaosHarness::Enabled(FaultKind kind) const {
  return options_.only.empty() ||
         std::find(options_.only.begin(), options_.only.end(), kind) != options_.only.end();
}

void ChaosHarness::RunCycle(int cycle) {
  std::vector<ServiceProcess*> paused_candidates;
  for (Binary binary :
       {Binary::kRegistry, Binary::kComplaints, Binary::kMonitoring, Binary::kGateway}) {
    const FaultKind kind =
        binary == Binary::kGateway ? FaultKind::kKillGateway : FaultKind::kKillService;
    for (ServiceProcess* process : ha_->Instances(binary)) {
      if (Enabled(kind)) faults_.push_back(KillAndRestart(process, kind, cycle));
      paused_candidates.push_back(process);
    }
  }
  if (Enabled(FaultKind::kKillRedisMaster)) faults_.push_back(KillRedisMaster(cycle));
  // Another process each cycle, complaints first (the one most calls go through).
  std::rotate(paused_candidates.begin(),
              paused_candidates.begin() + ha_->Instances(Binary::kRegistry).size(),
              paused_candidates.end());
  // SIGSTOP: the Redis master on even cycles, a service replica or gateway on odd ones.
  // (With --only, a chosen one every cycle.)
  const bool only_one = Enabled(FaultKind::kPause) != Enabled(FaultKind::kPauseRedisMaster);
  if ((only_one || cycle % 2 == 0) && Enabled(FaultKind::kPauseRedisMaster)) {
    faults_.push_back(PauseRedisMaster(cycle));
  } else if ((only_one || cycle % 2 == 1) && Enabled(FaultKind::kPause)) {
    faults_.push_back(Pause(paused_candidates[(cycle / 2) % paused_candidates.size()], cycle));
  }
  const size_t sentinels = ha_->redis().sentinels().size();
  if (Enabled(FaultKind::kRestartSentinel)) {
    faults_.push_back(RestartSentinel((cycle - 1) % sentinels, cycle));
  }
}

Fault ChaosHarness::KillAndRestart(ServiceProcess* process, FaultKind kind, int cycle) {
  Fault fault{.kind = kind, .target = NameOf(*process), .cycle = cycle};
  fault.at = absl::Now();
  fault.status = process->Kill();
  absl::SleepFor(options_.down);
  if (fault.status.ok()) fault.status = process->Restart();
  fault.recovered = absl::Now();
  absl::SleepFor(options_.settle);
  return fault;
}

RedisServer* ChaosHarness::MasterFault(const std::string& prefix, Fault* fault) {
  absl::StatusOr<RedisServer*> master = ha_->redis().Master();
  if (!master.ok()) {
    fault->status = master.status();
    return nullptr;
  }
  fault->target = absl::StrCat(prefix, (*master)->port());
  fault->at = absl::Now();
  return *master;
}

Fault ChaosHarness::KillRedisMaster(int cycle) {
  RedisSentinelSet& redis = ha_->redis();
  Fault fault{.kind = FaultKind::kKillRedisMaster, .cycle = cycle};
  RedisServer* old = MasterFault("redis:", &fault);
  if (old == nullptr) return fault;
  const int old_port = old->port();
  old->Kill();
  absl::StatusOr<RedisServer*> promoted =
      redis.WaitForNewMaster(old_port, options_.failover_timeout);
  fault.recovered = absl::Now();
  if (!promoted.ok()) {
    fault.status = promoted.status();
  }
  // The old master comes back (as a master, from its AOF): the sentinels must turn it into a
  // replica of the promoted one, in sync.
  if (absl::Status restarted = old->Restart(); !restarted.ok() && fault.status.ok()) {
    fault.status = restarted;
  }
  if (fault.status.ok()) WaitRejoined(old_port, (*promoted)->port(), &fault);
  absl::SleepFor(options_.settle);
  return fault;
}

void ChaosHarness::WaitRejoined(int old_port, int new_port, Fault* fault) {
  RedisSentinelSet& redis = ha_->redis();
  std::string last;
  const bool rejoined = WaitUntil(options_.rejoin_timeout, [&] {
    absl::StatusOr<RedisReply> role = redis.ServerCommand(old_port, {"ROLE"});
    if (!role.ok() || role->elements.size() < 4) {
      last = role.ok() ? "no ROLE array" : std::string(role.status().message());
      return false;
    }
    last = absl::StrCat(role->elements[0].str, " of ", role->elements[2].integer, " (",
                        role->elements[3].str, ")");
    // The master the sentinels name now: a second failover may have followed the first (the
    // promoted replica stalled during the old master's resync), which Sentinel may do.
    absl::StatusOr<int> current = redis.MasterPort();
    const int master_port = current.ok() ? *current : new_port;
    if (master_port != new_port) absl::StrAppend(&last, "; the sentinels name ", master_port);
    return role->elements[0].str == "slave" && role->elements[2].integer == master_port &&
           role->elements[3].str == "connected";
  });
  if (!rejoined) {
    fault->status = absl::DeadlineExceededError(absl::StrCat(
        "the old master ", old_port, " is not a connected replica of the master (", new_port,
        " after the failover) within ", absl::FormatDuration(options_.rejoin_timeout), ": ", last));
  } else if (absl::Status replicas = redis.WaitForReplicas(
                 static_cast<int>(redis.servers().size()) - 1, options_.rejoin_timeout);
             !replicas.ok()) {
    fault->status = replicas;
  }
  fault->rejoined = absl::Now();
}

Fault ChaosHarness::PauseRedisMaster(int cycle) {
  RedisSentinelSet& redis = ha_->redis();
  Fault fault{.kind = FaultKind::kPauseRedisMaster, .cycle = cycle};
  RedisServer* old = MasterFault("redis-master:", &fault);
  if (old == nullptr) return fault;
  const int old_port = old->port();
  old->Pause();
  absl::SleepFor(options_.pause);
  old->Resume();
  // Frozen longer than down_after: the sentinels fail over, and demote the old master once it
  // answers again (it may still take writes from clients that did not move yet: WAIT then
  // finds no replica, so none of them is acknowledged).
  absl::StatusOr<RedisServer*> promoted = redis.WaitForNewMaster(old_port, absl::Seconds(5));
  fault.recovered = absl::Now();
  if (promoted.ok()) {
    WaitRejoined(old_port, (*promoted)->port(), &fault);
  } else {
    // No failover (the sentinels may still have been electing): the old master goes on.
    absl::StatusOr<int> port = redis.MasterPort();
    if (!port.ok()) {
      fault.status = port.status();
    } else if (*port == old_port) {
      fault.target += " (no failover)";
    } else {
      fault.status = promoted.status();
    }
  }
  absl::SleepFor(options_.settle);
  return fault;
}

Fault ChaosHarness::Pause(ServiceProcess* process, int cycle) {
  Fault fault{.kind = FaultKind::kPause, .target = NameOf(*process), .cycle = cycle};
  fault.at = absl::Now();
  fault.status = process->Pause();
  absl::SleepFor(options_.pause);
  if (absl::Status resumed = process->Resume(); !resumed.ok() && fault.status.ok()) {
    fault.status = resumed;
  }
  if (fault.status.ok() && !process->WaitForHealth(kServing, absl::Seconds(10))) {
    fault.status = absl::DeadlineExceededError(fault.target + ": not SERVING 10 s after SIGCONT");
  }
  fault.recovered = absl::Now();
  absl::SleepFor(options_.settle);
  return fault;
}

Fault ChaosHarness::RestartSentinel(size_t index, int cycle) {
  RedisServer& sentinel = *ha_->redis().sentinels()[index];
  Fault fault{.kind = FaultKind::kRestartSentinel,
              .target = absl::StrCat("sentinel:", sentinel.port()),
              .cycle = cycle};
  fault.at = absl::Now();
  fault.status = sentinel.Restart();  // SIGKILL, then the same port and config file
  if (fault.status.ok()) {
    std::string last;
    const bool sees = WaitUntil(absl::Seconds(15), [&] {
      absl::StatusOr<RedisReply> master = ha_->redis().SentinelCommand(
          index, {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", ha_->redis().options().master_name});
      last = master.ok() ? "no address" : std::string(master.status().message());
      return master.ok() && master->elements.size() == 2;
    });
    if (!sees) {
      fault.status =
          absl::DeadlineExceededError(absl::StrCat(fault.target, " names no master: ", last));
    }
  }
  fault.recovered = absl::Now();
  absl::SleepFor(options_.settle);
  return fault;
}

}  // namespace simpul::testing
