// ChangeFeedHub tails the registry's change feed on one thread and wakes the WatchStandards
// streams waiting for news, so that an idle watcher costs no Redis call. Each watcher reads
// the feed itself from its own cursor; the hub only says "something new arrived".
#ifndef SIMPUL_SERVICES_REGISTRY_FEED_H_
#define SIMPUL_SERVICES_REGISTRY_FEED_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/registry/store.h"

namespace simpul::registry {

class ChangeFeedHub {
 public:
  explicit ChangeFeedHub(RegistryStore& store, absl::Duration poll_block = absl::Milliseconds(500));
  ~ChangeFeedHub();  // stops and joins the tail thread

  void Start();
  // Stop wakes every waiter without waiting for the tail thread, which ends within one poll;
  // stopped() is true afterwards.
  void Stop();
  bool stopped();

  // generation counts the batches of new events seen so far. Read it before reading the feed,
  // then pass it to WaitAsync so that no event that arrives in between is missed.
  uint64_t generation();
  // WaitAsync calls `wake` once (on the hub's thread, or at once on the caller's thread) when
  // the generation has moved past `seen_generation` or the hub stops.
  void WaitAsync(uint64_t seen_generation, std::function<void()> wake);

 private:
  void Run();
  RegistryStore& store_;
  const absl::Duration poll_block_;
  absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> waiters_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace simpul::registry

#endif  // SIMPUL_SERVICES_REGISTRY_FEED_H_
