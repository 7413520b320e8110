// WatchHub serves Monitoring.Watch: every `interval` it recomputes the figures of each watched
// bucket (scope and period) ONCE, however many streams watch it (one store read per bucket
// and round, not one per watcher), and pushes them to each watcher whose figures changed. Changes
// in between are coalesced, so a stream gets at most one update per interval (4 per second at 250
// ms), and a slow reader only ever has the newest figures waiting, never a backlog.
#ifndef SIMPUL_SERVICES_MONITORING_WATCH_H_
#define SIMPUL_SERVICES_MONITORING_WATCH_H_

#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/monitoring/monitoring.h"
#include "simpul/monitoring/v1/monitoring.pb.h"

namespace simpul::monitoring {

class FiguresWatcher;

class WatchHub {
 public:
  WatchHub(MonitoringDesk& desk, absl::Duration interval);
  // Stops; must outlive the gRPC server (streams are freed with the hub).
  ~WatchHub();

  void Start();
  // Stop ends every stream with UNAVAILABLE ("watch again") and joins the thread. Idempotent.
  void Stop();

  // Watch starts a stream for a request validated by MonitoringDesk::WatchBucket.
  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(const v1::WatchRequest& req,
                                                     std::string bucket);

  // Round offers every watcher its bucket's current figures, reading each bucket once (the
  // hub's thread runs it every interval; tests may call it without Start).
  void Round();
  // watchers counts the streams the hub holds (including ended ones not yet dropped).
  size_t watchers();

 private:
  void Loop();

  MonitoringDesk& desk_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<FiguresWatcher>> watchers_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_WATCH_H_
