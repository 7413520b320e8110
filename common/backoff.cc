// Backoff: jittered exponential waits.
#include "common/backoff.h"

#include <algorithm>

namespace simpul {

Backoff::Backoff(Options options) : Backoff(options, std::random_device{}()) {}

Backoff::Backoff(Options options, uint64_t seed)
    : options_(options), current_(options.initial), rng_(seed) {}

absl::Duration Backoff::Next() {
  absl::Duration wait = current_;
  if (options_.jitter > 0) {
    std::uniform_real_distribution<double> jitter(1.0 - options_.jitter, 1.0 + options_.jitter);
    wait = wait * jitter(rng_);
  }
  current_ = std::min(current_ * options_.factor, options_.max);
  return wait;
}

}  // namespace simpul
