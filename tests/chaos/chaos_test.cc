// The chaos run (issue #14, point 4): see tests/chaos/chaos_harness.h.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "tests/chaos/chaos_harness.h"
#include "tests/testing/ha_cluster.h"
#include "tests/testing/status_matchers.h"

namespace simpul::testing {
namespace {

// Cycles: SIMPUL_CHAOS_CYCLES (tests/chaos/run --cycles N), 2 in the suite.
int Cycles() {
  const char* env = std::getenv("SIMPUL_CHAOS_CYCLES");
  int cycles = 2;
  if (env != nullptr && absl::SimpleAtoi(env, &cycles) && cycles > 0) return cycles;
  return 2;
}

TEST(ChaosTest, FaultsUnderMixedLoad) {
  const absl::Time start = absl::Now();
  auto ha = HaCluster::Start({.flags = {"--drain_timeout=1s"}});
  ASSERT_THAT(ha, IsOk());
  std::printf("HA cluster up in %s\n", absl::FormatDuration(absl::Now() - start).c_str());
  ChaosHarness chaos(ha->get(), {});
  for (int cycle = 1; cycle <= Cycles(); ++cycle) chaos.RunCycle(cycle);
  for (const Fault& f : chaos.faults()) {
    std::printf("cycle %d %-26s %-16s recovered in %s%s %s\n", f.cycle, FaultKindName(f.kind),
                f.target.c_str(), absl::FormatDuration(f.recovered - f.at).c_str(),
                f.rejoined != absl::Time()
                    ? (" rejoined in " + absl::FormatDuration(f.rejoined - f.at)).c_str()
                    : "",
                f.status.ok() ? "" : f.status.ToString().c_str());
    EXPECT_THAT(f.status, IsOk()) << f.target;
  }
  std::printf("total %s\n", absl::FormatDuration(absl::Now() - start).c_str());
}

}  // namespace
}  // namespace simpul::testing
