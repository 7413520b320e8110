// StandardsFeed: the registry change feed applied to the standards book.
#include "services/monitoring/standards_feed.h"

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/status.h"

namespace simpul::monitoring {
namespace {

namespace rv1 = ::simpul::registry::v1;

// FromGrpc is common's FromGrpcStatus with the failed call named.
absl::Status FromGrpc(const grpc::Status& s, std::string_view what) {
  const absl::Status status = FromGrpcStatus(s);
  return absl::Status(status.code(), absl::StrCat(AbslView(what), ": ", status.message()));
}

}  // namespace

StandardsFeed::StandardsFeed(std::shared_ptr<grpc::Channel> channel, const IdentitySigner* signer,
                             StandardsBook& book, Options options)
    : stub_(rv1::Registry::NewStub(std::move(channel))),
      signer_(signer),
      book_(book),
      options_(options) {}

StandardsFeed::~StandardsFeed() { Stop(); }

void StandardsFeed::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void StandardsFeed::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool StandardsFeed::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

void StandardsFeed::Authorize(grpc::ClientContext& ctx) const {
  if (signer_ == nullptr) return;
  common::v1::Principal principal;
  principal.set_subject("service:simpul-monitoring");
  principal.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  // Checked when a call starts; a watch may then run for longer.
  principal.mutable_expire_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  ctx.AddMetadata(std::string(kIdentityMetadataKey), signer_->Sign(principal));
}

void StandardsFeed::Run() {
  absl::Duration backoff = options_.reconnect_min;
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  while (true) {
    bool healthy = false;
    grpc::Status status = Session(&healthy);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) {
      Log(LogLevel::kWarn, "registry change feed trimmed past our position; resyncing",
          {{"error", status.error_message()}});
      force_resync_ = true;
      continue;
    }
    if (healthy) backoff = options_.reconnect_min;
    const absl::Duration wait = backoff * jitter(rng);
    Log(healthy ? LogLevel::kInfo : LogLevel::kWarn,
        "registry standards watch ended; resuming from the saved position",
        {{"code", static_cast<int>(status.error_code())},
         {"error", status.error_message()},
         {"retry_ms", absl::ToInt64Milliseconds(wait)}});
    if (!SleepUnlessStopped(wait)) return;
    backoff = std::min(backoff * 2, options_.reconnect_max);
  }
}

grpc::Status StandardsFeed::Session(bool* healthy) {
  absl::StatusOr<std::string> saved = book_.FeedCursor();
  if (!saved.ok()) return ToGrpcStatus(saved.status());
  const bool resync = saved->empty() || force_resync_;

  grpc::ClientContext ctx;
  Authorize(ctx);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
    active_ = &ctx;
  }
  rv1::WatchStandardsRequest req;
  req.set_cursor(resync ? "$" : *saved);
  for (rv1::EntityType type : {rv1::ENTITY_TYPE_SERVICE_UNIT, rv1::ENTITY_TYPE_SERVICE,
                               rv1::ENTITY_TYPE_STANDARD_VERSION, rv1::ENTITY_TYPE_MAKLUMAT}) {
    req.add_entity_types(type);
  }
  std::unique_ptr<grpc::ClientReader<rv1::WatchStandardsResponse>> reader =
      stub_->WatchStandards(&ctx, req);
  grpc::Status status;
  absl::Status failed;
  if (resync) {
    reader->WaitForInitialMetadata();
    const auto& initial = ctx.GetServerInitialMetadata();
    auto it = initial.find("x-simpul-cursor");
    if (it == initial.end()) {
      ctx.TryCancel();
      failed = absl::UnavailableError("the registry did not name the cursor of its watch");
    } else {
      const std::string cursor(it->second.data(), it->second.size());
      Log(LogLevel::kInfo, "resyncing standards from the registry", {{"cursor", cursor}});
      failed = Resync(cursor);
      if (failed.ok()) failed = book_.SaveFeedCursor(cursor);
      if (failed.ok()) {
        force_resync_ = false;
        ++resyncs_;
        *healthy = true;
        Log(LogLevel::kInfo, "standards resync done", {{"cursor", cursor}});
      } else {
        ctx.TryCancel();
      }
    }
  }
  rv1::WatchStandardsResponse resp;
  while (failed.ok() && reader->Read(&resp)) {
    // A change that cannot be applied (Redis down) ends the session; the saved position makes
    // the next session replay it.
    failed = book_.ApplyChange(resp.event());
    if (failed.ok()) failed = book_.SaveFeedCursor(resp.event().cursor());
    if (!failed.ok()) {
      ctx.TryCancel();
      break;
    }
    ++applied_;
    *healthy = true;
  }
  status = reader->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  if (!failed.ok()) return ToGrpcStatus(failed);
  return status;
}

absl::Status StandardsFeed::Resync(const std::string& cursor) {
  auto call = [&](grpc::ClientContext& ctx) {
    Authorize(ctx);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  };
  // Units first, so that services are placed in their units' current scopes.
  std::string token;
  do {
    rv1::ListServiceUnitsRequest req;
    req.mutable_page()->set_page_size(options_.page_size);
    req.mutable_page()->set_page_token(token);
    rv1::ListServiceUnitsResponse resp;
    grpc::ClientContext ctx;
    call(ctx);
    grpc::Status s = stub_->ListServiceUnits(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s, "ListServiceUnits");
    for (const rv1::ServiceUnit& unit : resp.units()) {
      std::optional<rv1::Maklumat> maklumat;
      if (!unit.current_maklumat_id().empty()) {
        rv1::GetMaklumatRequest mreq;
        mreq.set_id(unit.current_maklumat_id());
        rv1::GetMaklumatResponse mresp;
        grpc::ClientContext mctx;
        call(mctx);
        grpc::Status ms = stub_->GetMaklumat(&mctx, mreq, &mresp);
        if (!ms.ok()) return FromGrpc(ms, "GetMaklumat");
        maklumat = mresp.maklumat();
      }
      SIMPUL_RETURN_IF_ERROR(book_.PutUnit(cursor, unit, maklumat ? &*maklumat : nullptr));
    }
    token = resp.next_page_token();
  } while (!token.empty());

  do {
    rv1::ListServicesRequest req;
    req.mutable_page()->set_page_size(options_.page_size);
    req.mutable_page()->set_page_token(token);
    rv1::ListServicesResponse resp;
    grpc::ClientContext ctx;
    call(ctx);
    grpc::Status s = stub_->ListServices(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s, "ListServices");
    for (const rv1::Service& service : resp.services()) {
      std::vector<rv1::StandardVersion> versions;
      std::string vtoken;
      do {
        rv1::ListStandardVersionsRequest vreq;
        vreq.set_service_id(service.id());
        vreq.mutable_page()->set_page_size(options_.page_size);
        vreq.mutable_page()->set_page_token(vtoken);
        rv1::ListStandardVersionsResponse vresp;
        grpc::ClientContext vctx;
        call(vctx);
        grpc::Status vs = stub_->ListStandardVersions(&vctx, vreq, &vresp);
        if (!vs.ok()) return FromGrpc(vs, "ListStandardVersions");
        for (rv1::StandardVersion& v : *vresp.mutable_versions()) versions.push_back(std::move(v));
        vtoken = vresp.next_page_token();
      } while (!vtoken.empty());
      SIMPUL_RETURN_IF_ERROR(book_.PutService(cursor, service, versions));
    }
    token = resp.next_page_token();
  } while (!token.empty());
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
  }
  return absl::OkStatus();
}

}  // namespace simpul::monitoring
