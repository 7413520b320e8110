// ChaosHarness injects the faults of the chaos runs (issue #14, point 4) into an HaCluster, one
// at a time, each followed by its recovery, and keeps a log of them (what, when, how long the
// recovery took) for the checks of tests/chaos/chaos_checks.h. One cycle is every fault once:
//   kill -9 + restart of each service replica and each gateway (on the same ports),
//   kill -9 of the Redis master: the sentinels promote a replica; the old master is restarted
//     and must be turned into a replica of the new one by the sentinels,
//   SIGSTOP for `pause` seconds, then SIGCONT: on odd cycles one service replica or gateway
//     (another one each time), on even cycles the Redis master (the sentinels fail over; the
//     old master must become a replica of the new one once it runs again),
//   kill -9 + restart of one sentinel (another one each cycle).
// Every wait is bounded; a recovery that does not happen in time is recorded as the fault's
// error and the cycle goes on.
#ifndef SIMPUL_TESTS_CHAOS_CHAOS_HARNESS_H_
#define SIMPUL_TESTS_CHAOS_CHAOS_HARNESS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/ha_cluster.h"

namespace simpul::testing {

// FaultKind is one kind of fault of a cycle.
enum class FaultKind {
  kKillService,
  kKillGateway,
  kKillRedisMaster,
  kPause,
  kPauseRedisMaster,
  kRestartSentinel
};
const char* FaultKindName(FaultKind kind);
// ParseFaultKinds reads a comma list of kill-service, kill-gateway, kill-redis-master, pause,
// pause-redis-master, restart-sentinel (tests/chaos/run --only).
absl::StatusOr<std::vector<FaultKind>> ParseFaultKinds(const std::string& text);

// Fault is one injected fault.
struct Fault {
  FaultKind kind;
  std::string target;  // the process: its log name ("complaints-2"), "redis:<port>", ...
  int cycle = 0;
  absl::Time at;         // when it was injected (the kill, the SIGSTOP)
  absl::Time recovered;  // when the target served again (restarted and SERVING, SIGCONT, new
                         // master named and answering ROLE master, sentinel answering)
  // kKillRedisMaster (and a SIGSTOP of the master that led to a failover): when the old
  // master was a replica of the new one again, in sync.
  absl::Time rejoined;
  absl::Status status;  // a recovery that failed or took too long
};

class ChaosHarness {
 public:
  struct Options {
    // down: how long a killed service or gateway stays down before its restart.
    absl::Duration down = absl::Milliseconds(500);
    // settle: quiet time after each recovery, before the next fault.
    absl::Duration settle = absl::Seconds(1);
    absl::Duration pause = absl::Seconds(3);  // SIGSTOP .. SIGCONT
    absl::Duration failover_timeout = absl::Seconds(20);
    absl::Duration rejoin_timeout = absl::Seconds(20);
    // only: inject only these kinds (empty: all), e.g. to reproduce one fault in a loop.
    std::vector<FaultKind> only;
  };
  ChaosHarness(HaCluster* ha, Options options) : ha_(ha), options_(options) {}

  // RunCycle injects every fault once (cycle numbers from 1), in the order above.
  void RunCycle(int cycle);
  const std::vector<Fault>& faults() const { return faults_; }

 private:
  Fault KillAndRestart(ServiceProcess* process, FaultKind kind, int cycle);
  Fault KillRedisMaster(int cycle);
  Fault Pause(ServiceProcess* process, int cycle);
  Fault PauseRedisMaster(int cycle);
  // MasterFault finds the master a fault of `fault->kind` hits, names it in fault->target
  // (`prefix` and its port) and sets fault->at to now; null, with fault->status, when the
  // sentinels name none.
  RedisServer* MasterFault(const std::string& prefix, Fault* fault);
  // WaitRejoined waits until the server on old_port is a connected replica of new_port and
  // the master has all its replicas online (else sets fault->status); sets fault->rejoined.
  void WaitRejoined(int old_port, int new_port, Fault* fault);
  Fault RestartSentinel(size_t index, int cycle);

  bool Enabled(FaultKind kind) const;

  HaCluster* ha_;
  Options options_;
  std::vector<Fault> faults_;
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_CHAOS_CHAOS_HARNESS_H_
