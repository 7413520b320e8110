// StandardsFeed keeps the StandardsBook (standards.h) in step with simpul-registry. On its own
// thread it watches the registry's change feed (WatchStandards) from the position the book has
// applied, applies each change and saves the position, so that a restart (of this service, of
// the registry or of Redis) resumes where it stopped and misses nothing.
//
// RESYNC. With no saved position (first start), or when the registry has trimmed its feed past
// the saved one (OUT_OF_RANGE), it opens a watch "from now", takes the cursor the watch starts
// after (initial metadata x-simpul-cursor), lists every unit (with its current maklumat) and
// every service (with all its versions) and puts them in the book as of that cursor, then
// applies the watch's events. Changes made during the listing are applied again by the watch;
// the book applies each record's changes in cursor order, so it converges on the registry.
//
// IDENTITY. The registry shows drafts and the full components of a standard only to its agency
// or a platform admin, and completeness needs both: the feed calls the registry with a token
// it signs for the principal {subject "service:simpul-monitoring", role PLATFORM_ADMIN}.
#ifndef SIMPUL_SERVICES_MONITORING_STANDARDS_FEED_H_
#define SIMPUL_SERVICES_MONITORING_STANDARDS_FEED_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/identity.h"
#include "services/monitoring/standards.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::monitoring {

class StandardsFeed {
 public:
  struct Options {
    absl::Duration call_timeout = absl::Seconds(10);  // each listing call of a resync
    absl::Duration reconnect_min = absl::Milliseconds(100);
    absl::Duration reconnect_max = absl::Seconds(5);
    int page_size = 200;
  };

  // `signer` and `book` must outlive the feed.
  StandardsFeed(std::shared_ptr<grpc::Channel> channel, const IdentitySigner* signer,
                StandardsBook& book, Options options);
  ~StandardsFeed();  // Stop()
  StandardsFeed(const StandardsFeed&) = delete;
  StandardsFeed& operator=(const StandardsFeed&) = delete;

  void Start();
  // Stop cancels the watch and joins the thread.
  void Stop();

  // Counters for tests and logs.
  int64_t applied_events() const { return applied_.load(); }
  int64_t resyncs() const { return resyncs_.load(); }

 private:
  void Run();
  // Session runs one watch from the saved position (or a resync) until the stream ends.
  grpc::Status Session(bool* healthy);
  absl::Status Resync(const std::string& cursor);
  void Authorize(grpc::ClientContext& ctx) const;
  bool SleepUnlessStopped(absl::Duration d);

  std::unique_ptr<registry::v1::Registry::Stub> stub_;
  const IdentitySigner* const signer_;
  StandardsBook& book_;
  const Options options_;
  bool force_resync_ = false;  // the saved position was trimmed from the feed (thread only)

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
  std::atomic<int64_t> applied_{0};
  std::atomic<int64_t> resyncs_{0};
};

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_STANDARDS_FEED_H_
