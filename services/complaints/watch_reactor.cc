// WatchComplaintEvents streams (watch_reactor.h), modelled on the registry's WatchStandards.
#include "services/complaints/watch_reactor.h"

#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"
#include "common/tsan_annotations.h"
#include "common/unary_call.h"

namespace simpul::complaints {
namespace {

class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchComplaintEventsResponse> {
 public:
  WatchReactor(grpc::CallbackServerContext* ctx, FeedDeps deps, Identity caller,
               v1::WatchComplaintEventsRequest request)
      : ctx_(ctx), deps_(deps), caller_(std::move(caller)), request_(std::move(request)) {}

  // Begin starts the stream; `self` keeps the reactor alive until OnDone and every queued
  // task have finished with it.
  void Begin(std::shared_ptr<WatchReactor> self) {
    {
      absl::MutexLock lock(&mu_);
      self_ = self;
    }
    Schedule([this] { ResolveCursorAndPump(); });
  }

  void OnWriteDone(bool ok) override {
    const GrpcCallback callback(this);
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok || cancelled_) {
      // A cancel that came while this write was in flight (OnCancel left it) finishes here.
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by the client"));
      return;
    }
    if (!pending_.empty()) {
      WriteNextLocked();
    } else if (!finished_) {
      ScheduleLocked([this] { Pump(); });
    }
  }

  void OnCancel() override {
    const GrpcCallback callback(this);
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
    }
  }

  void OnDone() override {
    ResumedFromGrpc(this);
    std::shared_ptr<WatchReactor> self;
    absl::MutexLock lock(&mu_);
    self.swap(self_);  // released after the lock; queued tasks may still hold a reference
  }

 private:
  void Schedule(std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    ScheduleLocked(std::move(fn));
  }

  void ScheduleLocked(std::function<void()> fn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || self_ == nullptr) return;
    std::shared_ptr<WatchReactor> keep = self_;
    if (!deps_.executor->Submit([keep, fn = std::move(fn)] { fn(); })) {
      FinishLocked(OverloadedStatus());
    }
  }

  void ResolveCursorAndPump() {
    std::string cursor = request_.cursor();
    if (cursor.empty() || cursor == "$") {
      auto latest = deps_.events->LatestEventCursor();
      if (!latest.ok()) {
        Fail(latest.status());
        return;
      }
      cursor = *latest;
    } else if (caller_.is_public()) {
      // Anonymous callers replay at most the last hour (as the registry's WatchStandards): an
      // older cursor, or "0", starts an hour ago; a system that needs more has a key.
      cursor = PublicReplayStart(cursor, absl::Now());
    }
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      cursor_ = cursor;
      // Tell the watcher where its watch starts: from then on it misses nothing, even before
      // the first event arrives.
      ctx_->AddInitialMetadata(std::string(kEventCursorMetadataKey), cursor);
      HandOffToGrpc(this);
      StartSendInitialMetadata();
    }
    Pump();
  }

  void Pump() {
    std::string cursor;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      cursor = cursor_;
    }
    if (deps_.hub->stopped()) {
      Fail(absl::UnavailableError(
          "the complaint service is shutting down; reconnect and resume from your last cursor"));
      return;
    }
    const uint64_t generation = deps_.hub->generation();
    auto events = deps_.events->ReadEvents(cursor, kFeedBatch, absl::ZeroDuration());
    if (!events.ok()) {
      Fail(events.status());
      return;
    }
    AudienceLookup lookup =
        [store = deps_.store](
            const std::string& id) -> absl::StatusOr<std::optional<v1::EventAudience>> {
      if (store == nullptr) return std::optional<v1::EventAudience>();
      auto record = store->Get(id);
      if (!record.ok()) return record.status();
      if (!record->has_value()) return std::optional<v1::EventAudience>();
      v1::EventAudience audience;
      audience.set_channel_name((*record)->complaint().channel_name());
      audience.set_publicly_listed(IsPubliclyListed((*record)->complaint()));
      return std::optional<v1::EventAudience>(std::move(audience));
    };
    // Decide outside the lock (an old event may need a read of its case).
    std::vector<v1::WatchComplaintEventsResponse> shown;
    for (const FeedEvent& event : *events) {
      auto view = EventForWatcher(caller_, request_, event, lookup);
      if (!view.ok()) {
        Fail(view.status());
        return;
      }
      if (*view) shown.push_back(**std::move(view));
    }
    std::shared_ptr<WatchReactor> wait_keep;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (!events->empty()) cursor_ = events->back().cursor;
      for (auto& response : shown) pending_.push_back(std::move(response));
      if (!pending_.empty()) {
        if (!writing_) WriteNextLocked();
      } else if (!events->empty()) {
        ScheduleLocked([this] { Pump(); });  // all filtered out: keep reading
      } else {
        wait_keep = self_;
      }
    }
    // Outside the lock: WaitAsync may call back at once on this thread.
    if (wait_keep != nullptr) {
      deps_.hub->WaitAsync(
          generation, [wait_keep] { wait_keep->Schedule([r = wait_keep.get()] { r->Pump(); }); });
    }
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || cancelled_) return;
    current_ = std::move(pending_.front());
    pending_.pop_front();
    writing_ = true;
    HandOffToGrpc(this);
    StartWrite(&current_);
  }

  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    FinishLocked(ToGrpcStatus(status));
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    pending_.clear();
    HandOffToGrpc(this);
    Finish(status);
  }

  grpc::CallbackServerContext* const ctx_;
  const FeedDeps deps_;
  const Identity caller_;
  const v1::WatchComplaintEventsRequest request_;

  absl::Mutex mu_;
  std::shared_ptr<WatchReactor> self_ ABSL_GUARDED_BY(mu_);
  std::string cursor_ ABSL_GUARDED_BY(mu_);
  // At most one batch (kFeedBatch) of events: the next batch is read only once these were
  // written, so a slow client holds no more than this in memory.
  std::deque<v1::WatchComplaintEventsResponse> pending_ ABSL_GUARDED_BY(mu_);
  v1::WatchComplaintEventsResponse current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// FailedStream answers a stream that cannot start.
class FailedStream final : public grpc::ServerWriteReactor<v1::WatchComplaintEventsResponse> {
 public:
  explicit FailedStream(const grpc::Status& status) {
    HandOffToGrpc(this);
    Finish(status);
  }
  void OnDone() override {
    ResumedFromGrpc(this);
    delete this;
  }
};

}  // namespace

grpc::ServerWriteReactor<v1::WatchComplaintEventsResponse>* StartWatch(
    grpc::CallbackServerContext* ctx, const FeedDeps& deps, absl::StatusOr<Identity> caller,
    const v1::WatchComplaintEventsRequest& req) {
  if (!caller.ok()) return new FailedStream(ToGrpcStatus(caller.status()));
  if (deps.events == nullptr || deps.hub == nullptr || deps.executor == nullptr) {
    return new FailedStream(
        grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "this server has no complaint event feed"));
  }
  absl::Status valid = ValidateWatchRequest(*caller, req);
  if (!valid.ok()) return new FailedStream(ToGrpcStatus(valid));
  auto reactor = std::make_shared<WatchReactor>(ctx, deps, *std::move(caller), req);
  reactor->Begin(reactor);
  return reactor.get();
}

}  // namespace simpul::complaints
