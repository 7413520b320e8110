// The checks of a chaos run: after the faults, through a gateway, everything the mixed load was
// acknowledged must be there exactly once (issue #14, point 4).
//
// Counting rule for calls that were not acknowledged: a call that failed for good, or was still
// retrying when the load stopped, may still have landed. `unacked_bound` (the load's final
// failures + shed + abandoned calls, of any kind) bounds how many such calls there can be, so
//   acked distinct filings <= cases listed in the load's agency <= acked + unacked_bound,
// and likewise for the surveys monitoring counts. Every listed case whose tracking code no
// acknowledged filing got is counted as "landed unacknowledged"; duplicates are the listed
// cases beyond that bound.
#ifndef SIMPUL_TESTS_CHAOS_CHAOS_CHECKS_H_
#define SIMPUL_TESTS_CHAOS_CHAOS_CHECKS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/testing/mixed_load.h"

namespace simpul::testing {

struct ChaosCheckResult {
  int64_t acked_filings = 0, acked_actions = 0, acked_surveys = 0, acked_reads = 0;
  int64_t unacked_bound = 0;
  // Every acknowledged filing: GetComplaint finds it, and the same request with its
  // idempotency key replays to the same tracking code, with the complainant's secret.
  int64_t lost_filings = 0;
  int64_t replay_mismatches = 0;
  // Every acknowledged action: the case's history has its entry (the action's method at the
  // acknowledged revision, to the acknowledged state).
  int64_t lost_changes = 0;
  // ListComplaints of the load's agency.
  int64_t listed_cases = 0;
  int64_t landed_unacked = 0;  // listed cases no acknowledged filing got
  int64_t duplicate_cases = 0;
  // Monitoring (GetFigures of the load's agency, this month in WIB), polled until it converges
  // (or converge_timeout): complaints received == listed cases (exactly: every case that
  // exists is counted once), and acked surveys <= respondents <= acked + unacked_bound.
  int64_t monitoring_received = -1;
  int64_t monitoring_respondents = -1;
  bool counters_converged = false;
  absl::Duration converge_time;       // from the first GetFigures to convergence (or giving up)
  std::vector<std::string> problems;  // the first 20, described
  void Problem(std::string what) {
    if (problems.size() < 20) problems.push_back(std::move(what));
  }
};

// CheckAcknowledged runs the checks through `gateway` (a channel to a gateway's gRPC front).
ChaosCheckResult CheckAcknowledged(const std::vector<Ack>& acks, int64_t unacked_bound,
                                   const LoadSetup& setup, std::shared_ptr<grpc::Channel> gateway,
                                   absl::Duration converge_timeout = absl::Seconds(30));

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_CHAOS_CHAOS_CHECKS_H_
