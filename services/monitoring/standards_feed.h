// StandardsFeed keeps the StandardsBook (standards.h) in step with simpul-registry. It
// subscribes to a RegistryWatch (clients/registry/watch.h: its own, or the one the service
// shares with its router) that resumes from the position the book has applied; it applies each
// change and saves the position, so that a restart (of this service, of the registry or of
// Redis) resumes where it stopped and misses nothing. A change it cannot apply ends the stream,
// which resumes (after backoff) from the saved position.
//
// RESYNC. With no saved position (first start), or when the registry has trimmed its feed past
// the saved one (OUT_OF_RANGE), it opens a watch "from now", takes the cursor the watch starts
// after (initial metadata x-simpul-cursor), lists every unit (with its current maklumat) and
// every service (with all its versions) and puts them in the book as of that cursor, then
// applies the watch's events. Changes made during the listing are applied again by the watch;
// the book applies each record's changes in cursor order, so it converges on the registry.
//
// IDENTITY. The registry shows drafts and the full components of a standard only to its agency
// or a platform admin (and to the read-only service role), and completeness needs both: the
// feed (and its watch: see Identity) calls the registry as {subject
// "service:simpul-monitoring", role SERVICE}, which may read and watch the registry only.
#ifndef SIMPUL_SERVICES_MONITORING_STANDARDS_FEED_H_
#define SIMPUL_SERVICES_MONITORING_STANDARDS_FEED_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/internal_identity.h"
#include "clients/registry/watch.h"
#include "common/identity.h"
#include "services/monitoring/standards.h"
#include "simpul/registry/v1/registry.grpc.pb.h"

namespace simpul::monitoring {

class StandardsFeed final : private clients::registry::WatchSubscriber {
 public:
  struct Options {
    absl::Duration call_timeout = absl::Seconds(10);  // each listing call of a resync
    // Backoff of its own watch (unused with a shared one).
    absl::Duration reconnect_min = absl::Milliseconds(100);
    absl::Duration reconnect_max = absl::Seconds(5);
    int page_size = 200;
  };

  // StandardsFeed with a watch of its own. `signer` (may be null: public calls) and `book` must
  // outlive the feed.
  StandardsFeed(std::shared_ptr<grpc::Channel> channel, const IdentitySigner* signer,
                StandardsBook& book, Options options);
  // StandardsFeed on `watch`, shared with other subscribers: it subscribes first (the others
  // learn of a start once its resync is done) and makes the watch resume from the book's
  // position. `watch` must not be started yet and must be opened with Identity(signer); its
  // owner starts and stops it, and it must outlive the feed.
  StandardsFeed(std::shared_ptr<grpc::Channel> channel, const IdentitySigner* signer,
                StandardsBook& book, clients::registry::RegistryWatch& watch, Options options);
  ~StandardsFeed() override;  // Stop()
  StandardsFeed(const StandardsFeed&) = delete;
  StandardsFeed& operator=(const StandardsFeed&) = delete;

  // Identity is who the feed calls the registry as: "service:simpul-monitoring", ROLE_SERVICE,
  // signed with the monitoring service's own key (identity_private_key_file).
  static clients::InternalIdentity Identity(const IdentitySigner* signer);
  // EntityTypes are the change events the book applies.
  static std::vector<registry::v1::EntityType> EntityTypes();

  // Start starts its own watch (nothing with a shared one).
  void Start();
  // Stop ends its own watch and joins its thread, or leaves the shared one. Idempotent.
  void Stop();

  // Counters for tests and logs.
  int64_t applied_events() const { return applied_.load(); }
  int64_t resyncs() const { return resyncs_.load(); }

 private:
  // WatchSubscriber, called on the watch's thread.
  absl::Status OnStarted(const clients::registry::WatchStart& start) override;
  absl::Status OnEvent(const registry::v1::ChangeEvent& event) override;
  void OnResyncNeeded() override;
  // ResumeCursor is where the watch resumes: the book's position, or now for a resync.
  absl::StatusOr<std::string> ResumeCursor();
  void Subscribe();

  absl::Status Resync(const std::string& cursor);
  bool Stopping();

  std::unique_ptr<registry::v1::Registry::Stub> stub_;
  const clients::InternalIdentity identity_;
  StandardsBook& book_;
  const Options options_;
  const std::unique_ptr<clients::registry::RegistryWatch> own_watch_;  // null when shared
  clients::registry::RegistryWatch& watch_;
  // The saved position was trimmed from the feed (the watch's thread only).
  bool force_resync_ = false;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> applied_{0};
  std::atomic<int64_t> resyncs_{0};
};

}  // namespace simpul::monitoring

#endif  // SIMPUL_SERVICES_MONITORING_STANDARDS_FEED_H_
