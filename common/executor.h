// Executor is a fixed pool of worker threads with a bounded queue. gRPC callback handlers hand
// their blocking work (Redis calls) to it so that no callback thread ever waits on I/O.
#ifndef SIMPUL_COMMON_EXECUTOR_H_
#define SIMPUL_COMMON_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace simpul {

class Executor {
 public:
  Executor(int threads, size_t max_queue);
  ~Executor();  // runs what is queued, then joins
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Submit queues `task`; returns false (and drops it) when the queue is full or the
  // executor is shutting down, so that the caller can answer RESOURCE_EXHAUSTED.
  bool Submit(std::function<void()> task);
  // Shutdown stops accepting tasks, drains the queue and joins the workers.
  void Shutdown();

 private:
  void Run();
  const size_t max_queue_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace simpul

#endif  // SIMPUL_COMMON_EXECUTOR_H_
