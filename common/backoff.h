// Backoff: the one exponential backoff of the tree, for every retry and reconnect loop.
#ifndef SIMPUL_COMMON_BACKOFF_H_
#define SIMPUL_COMMON_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace simpul {

// Backoff yields the waits of a retry loop: `initial`, then each wait `factor` times the
// previous one, capped at `max`, each multiplied by a random factor in [1 - jitter, 1 + jitter]
// (so a jittered wait may exceed `max` by up to `jitter`). Reset() starts over from `initial`.
// Not thread-safe: one per loop.
class Backoff {
 public:
  struct Options {
    absl::Duration initial = absl::Milliseconds(100);
    absl::Duration max = absl::Seconds(5);
    double factor = 2.0;
    double jitter = 0.0;  // 0.2: each wait is 80%..120% of the unjittered one
  };

  // `seed` fixes the jitter's random sequence (tests); by default it is random.
  explicit Backoff(Options options);
  Backoff(Options options, uint64_t seed);

  // Next returns the wait before the next attempt and moves on to the one after it.
  absl::Duration Next();
  // Reset makes the next wait `initial` again (after a success).
  void Reset() { current_ = options_.initial; }
  // current is the unjittered wait that Next returns next.
  absl::Duration current() const { return current_; }

 private:
  Options options_;
  absl::Duration current_;
  std::mt19937_64 rng_;
};

}  // namespace simpul

#endif  // SIMPUL_COMMON_BACKOFF_H_
