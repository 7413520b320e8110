#include "services/registry/grpc_service.h"

#include <chrono>
#include <deque>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/byte_buffer.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/tsan_annotations.h"
#include "common/unary_call.h"

namespace simpul::registry {
namespace {

// CursorLess orders two feed positions "<ms>-<seq>" (unparsable ones first).
bool CursorLess(std::string_view a, std::string_view b) {
  auto parse = [](std::string_view c) {
    std::pair<uint64_t, uint64_t> id{0, 0};
    const size_t dash = c.find('-');
    (void)absl::SimpleAtoi(AbslView(c.substr(0, dash)), &id.first);
    if (dash != std::string_view::npos)
      (void)absl::SimpleAtoi(AbslView(c.substr(dash + 1)), &id.second);
    return id;
  };
  return parse(a) < parse(b);
}

// WatchReactor streams change events to one watcher: it reads the feed from its cursor on the
// executor, writes the events the caller may see one at a time, and when it has caught up it
// waits on the hub until something new arrives.
class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchStandardsResponse> {
 public:
  WatchReactor(grpc::CallbackServerContext* ctx, StandardsRegistry& registry, RegistryStore& store,
               ChangeFeedHub& hub, Executor& executor, Identity caller,
               v1::WatchStandardsRequest request)
      : ctx_(ctx),
        registry_(registry),
        store_(store),
        hub_(hub),
        executor_(executor),
        caller_(std::move(caller)),
        request_(std::move(request)) {}

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
    if (!executor_.Submit([keep, fn = std::move(fn)] { fn(); })) {
      FinishLocked(OverloadedStatus());
    }
  }

  void ResolveCursorAndPump() {
    // The public replay bound (it may read the feed: here, on the executor).
    absl::StatusOr<std::string> start = registry_.ReplayFrom(caller_, request_);
    if (!start.ok()) {
      Fail(start.status());
      return;
    }
    start_ = *std::move(start);
    clamped_ = request_.cursor() == "0" && start_ != "0";
    std::string cursor = start_;
    if (cursor.empty() || cursor == "$" || clamped_) {
      auto latest = store_.LatestCursor();
      if (!latest.ok()) {
        Fail(latest.status());
        return;
      }
      // An anonymous caller's "0" starts at the replay window's start, or at the newest
      // event when nothing is newer than that (StandardsRegistry::ReplayFrom).
      if (!clamped_ || CursorLess(*latest, cursor)) cursor = *latest;
    }
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      cursor_ = cursor;
      // Tell the watcher where its watch starts: from then on it misses nothing, even before
      // the first event arrives.
      ctx_->AddInitialMetadata(std::string(kWatchCursorMetadataKey), cursor);
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
    if (hub_.stopped()) {
      Fail(absl::UnavailableError(
          "the registry is shutting down; reconnect and resume from your last cursor"));
      return;
    }
    uint64_t generation = hub_.generation();
    auto events = store_.ReadChanges(cursor, 100, absl::ZeroDuration());
    if (!events.ok()) {
      if (events.status().code() == absl::StatusCode::kOutOfRange && clamped_ && cursor == start_) {
        // The feed was trimmed past the window's start: everything it retains is in the
        // window, so the replay starts from its oldest event.
        {
          absl::MutexLock lock(&mu_);
          if (cursor_ == cursor) cursor_ = "0";
        }
        Schedule([this] { Pump(); });
        return;
      }
      Fail(events.status());
      return;
    }
    std::shared_ptr<WatchReactor> wait_keep;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      for (const auto& event : *events) {
        cursor_ = event.cursor();
        if (auto shown = registry_.ViewForWatch(caller_, request_, event)) {
          v1::WatchStandardsResponse response;
          *response.mutable_event() = *std::move(shown);
          pending_.push_back(std::move(response));
        }
      }
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
      hub_.WaitAsync(generation,
                     [wait_keep] { wait_keep->Schedule([r = wait_keep.get()] { r->Pump(); }); });
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
  StandardsRegistry& registry_;
  RegistryStore& store_;
  ChangeFeedHub& hub_;
  Executor& executor_;
  const Identity caller_;
  const v1::WatchStandardsRequest request_;
  // Set once by ResolveCursorAndPump, before any Pump.
  std::string start_;     // the cursor after the replay bound (ReplayFrom)
  bool clamped_ = false;  // an anonymous "0" moved to the replay window's start

  absl::Mutex mu_;
  std::shared_ptr<WatchReactor> self_ ABSL_GUARDED_BY(mu_);
  std::string cursor_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::WatchStandardsResponse> pending_ ABSL_GUARDED_BY(mu_);
  v1::WatchStandardsResponse current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// FailedStream answers a stream that cannot start.
class FailedStream final : public grpc::ServerWriteReactor<v1::WatchStandardsResponse> {
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

RegistryGrpcService::RegistryGrpcService(StandardsRegistry& registry, RegistryStore& store,
                                         ChangeFeedHub& hub, Executor& executor,
                                         const IdentitySigner* signer, const Clock& clock)
    : registry_(registry),
      store_(store),
      hub_(hub),
      executor_(executor),
      signer_(signer),
      clock_(clock) {}

absl::StatusOr<Identity> RegistryGrpcService::Authenticate(grpc::CallbackServerContext* ctx) const {
  return AuthenticateCall(ctx, signer_, clock_);
}

template <typename Req, typename Resp>
grpc::ServerUnaryReactor* RegistryGrpcService::Unary(
    grpc::CallbackServerContext* ctx, const Req* req, Resp* resp,
    absl::StatusOr<Resp> (StandardsRegistry::*method)(const Identity&, const Req&)) {
  return RunUnary(ctx, req, resp, executor_, signer_, clock_, registry_, method);
}

template <typename Req, typename Resp>
grpc::ServerUnaryReactor* RegistryGrpcService::RawSnapshotOrUnary(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
    std::optional<absl::StatusOr<std::string>> (StandardsRegistry::*fast)(const Identity&,
                                                                          const Req&) const,
    absl::StatusOr<Resp> (StandardsRegistry::*method)(const Identity&, const Req&)) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto req = std::make_shared<Req>();
  grpc::ByteBuffer copy(*request);  // Deserialize consumes its buffer; this shares the slices
  if (grpc::Status parsed = grpc::SerializationTraits<Req>::Deserialize(&copy, req.get());
      !parsed.ok()) {
    HandOffToGrpc(reactor);
    reactor->Finish(parsed);
    return reactor;
  }
  absl::StatusOr<Identity> caller = Authenticate(ctx);
  if (!caller.ok()) {
    HandOffToGrpc(reactor);
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  if (std::optional<absl::StatusOr<std::string>> answer = (registry_.*fast)(*caller, *req)) {
    if (answer->ok()) *response = ByteBufferOf(**std::move(answer));
    HandOffToGrpc(reactor);
    reactor->Finish(ToGrpcStatus(answer->status()));
    return reactor;
  }
  // The snapshot cannot answer: the store's path on the executor, as RunUnary does.
  bool queued =
      executor_.Submit([this, ctx, req, response, reactor, method, caller = *std::move(caller)] {
        if (FinishIfUnwanted(ctx, reactor)) return;
        absl::StatusOr<Resp> result = (registry_.*method)(caller, *req);
        grpc::Status status = ToGrpcStatus(result.status());
        if (result.ok()) {
          bool own_buffer = false;
          status = grpc::SerializationTraits<Resp>::Serialize(*result, response, &own_buffer);
        } else {
          LogIfServerFailure(result.status(), Req::descriptor()->name(), *ctx);
        }
        HandOffToGrpc(reactor);
        reactor->Finish(status);
      });
  HandOffToGrpc(reactor);
  if (!queued) reactor->Finish(OverloadedStatus());
  return reactor;
}

grpc::ServerUnaryReactor* RegistryGrpcService::GetCurrentStandard(grpc::CallbackServerContext* ctx,
                                                                  const grpc::ByteBuffer* request,
                                                                  grpc::ByteBuffer* response) {
  return RawSnapshotOrUnary<v1::GetCurrentStandardRequest, v1::GetCurrentStandardResponse>(
      ctx, request, response, &StandardsRegistry::GetCurrentStandardBytes,
      &StandardsRegistry::GetCurrentStandard);
}

grpc::ServerUnaryReactor* RegistryGrpcService::SearchStandards(grpc::CallbackServerContext* ctx,
                                                               const grpc::ByteBuffer* request,
                                                               grpc::ByteBuffer* response) {
  return RawSnapshotOrUnary<v1::SearchStandardsRequest, v1::SearchStandardsResponse>(
      ctx, request, response, &StandardsRegistry::SearchStandardsBytes,
      &StandardsRegistry::SearchStandards);
}

grpc::ServerWriteReactor<v1::WatchStandardsResponse>* RegistryGrpcService::WatchStandards(
    grpc::CallbackServerContext* ctx, const v1::WatchStandardsRequest* req) {
  auto caller = Authenticate(ctx);
  if (!caller.ok()) return new FailedStream(ToGrpcStatus(caller.status()));
  absl::Status valid = registry_.ValidateWatch(*req);
  if (!valid.ok()) return new FailedStream(ToGrpcStatus(valid));
  auto reactor = std::make_shared<WatchReactor>(ctx, registry_, store_, hub_, executor_,
                                                *std::move(caller), *req);
  reactor->Begin(reactor);
  return reactor.get();
}

}  // namespace simpul::registry
