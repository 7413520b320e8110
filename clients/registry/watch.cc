// RegistryWatch: the shared, reconnecting WatchStandards stream.
#include "clients/registry/watch.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/time/clock.h"
#include "clients/registry/metadata.h"
#include "common/grpc_status.h"
#include "common/logging.h"

namespace simpul::clients::registry {
namespace {

namespace rv1 = ::simpul::registry::v1;

rv1::EntityType TypeOf(const rv1::ChangedObject& object) {
  switch (object.object_case()) {
    case rv1::ChangedObject::kAgency:
      return rv1::ENTITY_TYPE_AGENCY;
    case rv1::ChangedObject::kUnit:
      return rv1::ENTITY_TYPE_SERVICE_UNIT;
    case rv1::ChangedObject::kService:
      return rv1::ENTITY_TYPE_SERVICE;
    case rv1::ChangedObject::kStandardVersion:
      return rv1::ENTITY_TYPE_STANDARD_VERSION;
    case rv1::ChangedObject::kMaklumat:
      return rv1::ENTITY_TYPE_MAKLUMAT;
    default:
      return rv1::ENTITY_TYPE_UNSPECIFIED;
  }
}

// Wants: the event holds an object of one of `types` (empty: any).
bool Wants(const std::vector<rv1::EntityType>& types, const rv1::ChangeEvent& event) {
  if (types.empty()) return true;
  for (const rv1::ChangedObject& object : event.objects()) {
    if (std::find(types.begin(), types.end(), TypeOf(object)) != types.end()) return true;
  }
  return false;
}

}  // namespace

RegistryWatch::RegistryWatch(std::shared_ptr<grpc::Channel> registry, Options options)
    : channel_(std::move(registry)),
      options_(std::move(options)),
      stub_(rv1::Registry::NewStub(channel_)),
      cursor_(options_.start_cursor == "$" ? "" : options_.start_cursor) {}

RegistryWatch::~RegistryWatch() { Stop(); }

absl::Status RegistryWatch::Subscribe(WatchSubscriber* subscriber,
                                      std::vector<rv1::EntityType> types, bool first) {
  absl::MutexLock lock(&mu_);
  if (started_) {
    return absl::FailedPreconditionError("subscribe to the registry watch before it starts");
  }
  Subscription subscription{subscriber, std::move(types)};
  if (first) {
    subscriptions_.insert(subscriptions_.begin(), std::move(subscription));
  } else {
    subscriptions_.push_back(std::move(subscription));
  }
  return absl::OkStatus();
}

void RegistryWatch::Unsubscribe(WatchSubscriber* subscriber) {
  absl::MutexLock deliver(&deliver_mu_);
  absl::MutexLock lock(&mu_);
  std::erase_if(subscriptions_,
                [subscriber](const Subscription& s) { return s.subscriber == subscriber; });
}

void RegistryWatch::SetCursorSource(std::function<absl::StatusOr<std::string>()> source) {
  absl::MutexLock lock(&mu_);
  if (!started_) cursor_source_ = std::move(source);
}

void RegistryWatch::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void RegistryWatch::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  absl::MutexLock join_lock(&join_mu_);
  if (thread_.joinable()) thread_.join();
}

std::string RegistryWatch::cursor() const {
  absl::MutexLock lock(&mu_);
  return cursor_;
}

bool RegistryWatch::Stopping() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

bool RegistryWatch::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

absl::Status RegistryWatch::Deliver(const std::function<absl::Status(const Subscription&)>& fn) {
  absl::MutexLock deliver(&deliver_mu_);
  std::vector<Subscription> subscriptions;
  {
    absl::MutexLock lock(&mu_);
    subscriptions = subscriptions_;
  }
  for (const Subscription& subscription : subscriptions) {
    if (absl::Status status = fn(subscription); !status.ok()) return status;
  }
  return absl::OkStatus();
}

rv1::WatchStandardsRequest RegistryWatch::Request(const std::string& cursor) {
  rv1::WatchStandardsRequest req;
  req.set_cursor(cursor);
  std::set<rv1::EntityType> types;
  absl::MutexLock lock(&mu_);
  for (const Subscription& subscription : subscriptions_) {
    if (subscription.types.empty()) return req;  // one wants all
    types.insert(subscription.types.begin(), subscription.types.end());
  }
  for (rv1::EntityType type : types) req.add_entity_types(type);
  return req;
}

void RegistryWatch::Run() {
  Backoff backoff(options_.backoff);
  while (!Stopping()) {
    // The channel may sit in its own (long) reconnect backoff: this loop's backoff rules.
    grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
    std::string from;
    grpc::Status status;
    if (cursor_source_) {
      absl::StatusOr<std::string> source = cursor_source_();
      if (source.ok()) {
        from = *source == "$" ? "" : *std::move(source);
      } else {
        status = ToGrpcStatus(source.status());
      }
    } else {
      from = cursor();
    }
    bool healthy = false;
    bool rejected = false;
    if (status.ok()) {
      status = WaitForReady()
                   ? WatchOnce(from, &healthy, &rejected)
                   : grpc::Status(grpc::StatusCode::UNAVAILABLE, "registry not reachable");
    }
    (void)Deliver([&status](const Subscription& s) {
      s.subscriber->OnEnded(status);
      return absl::OkStatus();
    });
    if (Stopping()) return;
    if (healthy) backoff.Reset();
    if (!rejected && !from.empty() &&
        (status.error_code() == grpc::StatusCode::OUT_OF_RANGE ||
         status.error_code() == grpc::StatusCode::INVALID_ARGUMENT)) {
      // The feed no longer holds the cursor: events are lost; watch from now.
      Log(LogLevel::kWarn, "registry change feed cursor expired; watching from now",
          {{"cursor", from}, {"code", static_cast<int>(status.error_code())}});
      {
        absl::MutexLock lock(&mu_);
        cursor_.clear();
      }
      (void)Deliver([](const Subscription& s) {
        s.subscriber->OnResyncNeeded();
        return absl::OkStatus();
      });
      continue;
    }
    const absl::Duration wait = backoff.Next();
    Log(healthy ? LogLevel::kWarn : LogLevel::kDebug,
        "registry watch ended; resuming from the last cursor",
        {{"code", static_cast<int>(status.error_code())},
         {"error", status.error_message()},
         {"retry_ms", absl::ToInt64Milliseconds(wait)}});
    if (!SleepUnlessStopped(wait)) return;
  }
}

bool RegistryWatch::WaitForReady() {
  const absl::Time deadline = absl::Now() + options_.connect_timeout;
  grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (Stopping()) return false;
    const absl::Time now = absl::Now();
    if (now >= deadline) return false;
    // Short slices keep Stop() prompt.
    channel_->WaitForStateChange(
        state, absl::ToChronoTime(std::min(deadline, now + absl::Milliseconds(100))));
    state = channel_->GetState(/*try_to_connect=*/true);
  }
  return true;
}

grpc::Status RegistryWatch::WatchOnce(const std::string& from, bool* healthy, bool* rejected) {
  grpc::ClientContext ctx;
  if (options_.identity) options_.identity->Attach(ctx);
  const rv1::WatchStandardsRequest req = Request(from);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
    active_ = &ctx;
  }
  std::unique_ptr<grpc::ClientReader<rv1::WatchStandardsResponse>> reader =
      stub_->WatchStandards(&ctx, req);
  const absl::Time start = absl::Now();
  // The registry names the cursor the watch starts after in the initial metadata, before any
  // event: from then on nothing is missed.
  reader->WaitForInitialMetadata();
  WatchStart started{.cursor = from, .resumed = !from.empty()};
  const auto& initial = ctx.GetServerInitialMetadata();
  if (auto it = initial.find(std::string(kWatchCursorMetadataKey)); it != initial.end()) {
    started.cursor.assign(it->second.data(), it->second.size());
    started.confirmed = true;
  }
  Log(LogLevel::kInfo, "registry watch started",
      {{"cursor", from.empty() ? std::string("now") : from}, {"starts_after", started.cursor}});
  absl::Status failed =
      Deliver([&started](const Subscription& s) { return s.subscriber->OnStarted(started); });
  if (failed.ok()) {
    absl::MutexLock lock(&mu_);
    if (cursor_.empty()) cursor_ = started.cursor;
  }
  rv1::WatchStandardsResponse resp;
  bool got_event = false;
  while (failed.ok() && reader->Read(&resp)) {
    const rv1::ChangeEvent& event = resp.event();
    failed = Deliver([&event](const Subscription& s) {
      return Wants(s.types, event) ? s.subscriber->OnEvent(event) : absl::OkStatus();
    });
    if (!failed.ok()) break;
    got_event = true;
    if (!event.cursor().empty()) {
      absl::MutexLock lock(&mu_);
      cursor_ = event.cursor();
    }
  }
  if (!failed.ok()) ctx.TryCancel();
  grpc::Status status = reader->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  // A stream that delivered or lasted resets the backoff; one refused at once does not.
  *healthy = got_event || absl::Now() - start >= options_.healthy_after;
  *rejected = !failed.ok();
  if (!failed.ok()) return ToGrpcStatus(failed);
  return status;
}

}  // namespace simpul::clients::registry
