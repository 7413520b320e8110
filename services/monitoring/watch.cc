#include "services/monitoring/watch.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/grpc_status.h"
#include "common/tsan_annotations.h"
#include "google/protobuf/util/message_differencer.h"

namespace simpul::monitoring {

// FiguresWatcher is one Watch stream. The hub offers it the current figures; it writes them
// when they differ from what it last sent, keeping at most one unsent update.
class FiguresWatcher final : public grpc::ServerWriteReactor<v1::WatchResponse> {
 public:
  FiguresWatcher(v1::WatchRequest request, std::string bucket)
      : request_(std::move(request)), bucket_(std::move(bucket)) {}

  const v1::WatchRequest& request() const { return request_; }
  const std::string& bucket() const { return bucket_; }

  // done: gRPC has called OnDone and will never call this reactor again, so the hub may drop
  // it. (Finished is not enough: after Finish, gRPC still calls OnDone, possibly much later.)
  bool done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }

  // Offer sends `figures` unless they equal the last figures sent (computed_time aside).
  void Offer(v1::Figures figures) {
    absl::MutexLock lock(&mu_);
    v1::Figures compared = figures;
    compared.clear_computed_time();
    // Compared as messages: map fields (counts by channel) serialize in no fixed order.
    if (finished_ ||
        (last_ && google::protobuf::util::MessageDifferencer::Equals(*last_, compared))) {
      return;
    }
    last_ = std::move(compared);
    v1::WatchResponse response;
    *response.mutable_figures() = std::move(figures);
    pending_ = std::move(response);
    if (!writing_) WriteLocked();
  }

  void Fail(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    const GrpcCallback callback(this);
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok || cancelled_) {
      // A cancel that came while a write was in flight finishes here (OnCancel left it).
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client"));
    } else if (pending_) {
      WriteLocked();
    }
  }

  void OnCancel() override {
    const GrpcCallback callback(this);
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void OnDone() override {
    ResumedFromGrpc(this);
    absl::MutexLock lock(&mu_);
    done_ = true;  // the hub drops its reference on its next round
  }

 private:
  void WriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || cancelled_ || !pending_) return;
    current_ = std::move(*pending_);
    pending_.reset();
    writing_ = true;
    HandOffToGrpc(this);
    StartWrite(&current_);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    pending_.reset();
    HandOffToGrpc(this);
    Finish(status);
  }

  const v1::WatchRequest request_;
  const std::string bucket_;
  absl::Mutex mu_;
  std::optional<v1::Figures> last_ ABSL_GUARDED_BY(mu_);
  std::optional<v1::WatchResponse> pending_ ABSL_GUARDED_BY(mu_);
  v1::WatchResponse current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

WatchHub::WatchHub(MonitoringDesk& desk, absl::Duration interval)
    : desk_(desk), interval_(interval) {}

WatchHub::~WatchHub() { Stop(); }

void WatchHub::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void WatchHub::Stop() {
  std::vector<std::shared_ptr<FiguresWatcher>> watchers;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    watchers = watchers_;  // watchers_ keeps them alive until the hub goes (after the server)
  }
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
  for (auto& w : watchers) {
    w->Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                         "the monitoring service is shutting down; watch again"));
  }
}

grpc::ServerWriteReactor<v1::WatchResponse>* WatchHub::Watch(const v1::WatchRequest& req,
                                                             std::string bucket) {
  auto watcher = std::make_shared<FiguresWatcher>(req, std::move(bucket));
  absl::MutexLock lock(&mu_);
  watchers_.push_back(watcher);  // keeps it alive until gRPC is done with it (OnDone)
  if (stopped_) {
    watcher->Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "the monitoring service is shutting down; watch again"));
  }
  return watcher.get();
}

size_t WatchHub::watchers() {
  absl::MutexLock lock(&mu_);
  return watchers_.size();
}

void WatchHub::Round() {
  // The watchers by bucket: each bucket's figures are computed (read from the store) once a
  // round, however many streams watch it.
  std::map<std::string, std::vector<std::shared_ptr<FiguresWatcher>>> by_bucket;
  {
    absl::MutexLock lock(&mu_);
    // Streams gRPC is done with are dropped here, never while they may still be called.
    std::erase_if(watchers_, [](const std::shared_ptr<FiguresWatcher>& w) { return w->done(); });
    for (const auto& w : watchers_) by_bucket[w->bucket()].push_back(w);
  }
  for (auto& [bucket, watchers] : by_bucket) {
    const v1::WatchRequest& first = watchers.front()->request();
    absl::StatusOr<v1::Figures> figures = desk_.FiguresOf(first.scope(), first.period(), bucket);
    for (auto& w : watchers) {
      if (figures.ok()) {
        v1::Figures own = *figures;
        // The same bucket: each stream gets the figures under the scope and period it asked for.
        *own.mutable_scope() = w->request().scope();
        *own.mutable_period() = w->request().period();
        w->Offer(std::move(own));
      } else if (figures.status().code() != absl::StatusCode::kUnavailable) {
        w->Fail(ToGrpcStatus(figures.status()));
      }  // Redis briefly away: try again next round
    }
  }
}

void WatchHub::Loop() {
  do {
    Round();
  } while (!stop_.WaitForNotificationWithTimeout(interval_));
}

}  // namespace simpul::monitoring
