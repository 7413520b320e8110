// StandardsFeed: the registry change feed applied to the standards book.
#include "services/monitoring/standards_feed.h"

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
    : stub_(rv1::Registry::NewStub(channel)),
      identity_(Identity(signer)),
      book_(book),
      options_(options),
      own_watch_(std::make_unique<clients::registry::RegistryWatch>(
          channel,
          clients::registry::RegistryWatch::Options{.identity = identity_,
                                                    .healthy_after = options.call_timeout,
                                                    .backoff = {.initial = options.reconnect_min,
                                                                .max = options.reconnect_max,
                                                                .jitter = 0.2}})),
      watch_(*own_watch_) {
  Subscribe();
}

StandardsFeed::StandardsFeed(std::shared_ptr<grpc::Channel> channel, const IdentitySigner* signer,
                             StandardsBook& book, clients::registry::RegistryWatch& watch,
                             Options options)
    : stub_(rv1::Registry::NewStub(std::move(channel))),
      identity_(Identity(signer)),
      book_(book),
      options_(options),
      watch_(watch) {
  Subscribe();
}

StandardsFeed::~StandardsFeed() { Stop(); }

clients::InternalIdentity StandardsFeed::Identity(const IdentitySigner* signer) {
  return clients::InternalIdentity(signer, "simpul-monitoring", "simpul-registry");
}

std::vector<rv1::EntityType> StandardsFeed::EntityTypes() {
  return {rv1::ENTITY_TYPE_AGENCY, rv1::ENTITY_TYPE_SERVICE_UNIT, rv1::ENTITY_TYPE_SERVICE,
          rv1::ENTITY_TYPE_STANDARD_VERSION, rv1::ENTITY_TYPE_MAKLUMAT};
}

void StandardsFeed::Subscribe() {
  if (absl::Status subscribed = watch_.Subscribe(this, EntityTypes(), /*first=*/true);
      !subscribed.ok()) {
    Log(LogLevel::kError, "standards feed not watching the registry",
        {{"error", subscribed.ToString()}});
    return;
  }
  watch_.SetCursorSource([this] { return ResumeCursor(); });
}

void StandardsFeed::Start() {
  if (own_watch_ != nullptr) own_watch_->Start();
}

void StandardsFeed::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (own_watch_ != nullptr) {
    own_watch_->Stop();
  } else {
    watch_.Unsubscribe(this);
  }
}

bool StandardsFeed::Stopping() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

absl::StatusOr<std::string> StandardsFeed::ResumeCursor() {
  if (force_resync_) return std::string();  // from now
  return book_.FeedCursor();                // empty: never synced, from now
}

void StandardsFeed::OnResyncNeeded() {
  Log(LogLevel::kWarn, "registry change feed trimmed past our position; resyncing");
  force_resync_ = true;
}

absl::Status StandardsFeed::OnStarted(const clients::registry::WatchStart& start) {
  if (start.resumed) return absl::OkStatus();  // the registry replays what we missed
  // From now: list everything as of the cursor the watch starts after, then apply its events.
  if (!start.confirmed) {
    return absl::UnavailableError("the registry did not name the cursor of its watch");
  }
  Log(LogLevel::kInfo, "resyncing standards from the registry", {{"cursor", start.cursor}});
  absl::Status failed = Resync(start.cursor);
  if (failed.ok()) failed = book_.SaveFeedCursor(start.cursor);
  if (!failed.ok()) return failed;
  force_resync_ = false;
  ++resyncs_;
  Log(LogLevel::kInfo, "standards resync done", {{"cursor", start.cursor}});
  return absl::OkStatus();
}

absl::Status StandardsFeed::OnEvent(const rv1::ChangeEvent& event) {
  // A change that cannot be applied (Redis down) ends the stream; the saved position makes
  // the next one replay it.
  SIMPUL_RETURN_IF_ERROR(book_.ApplyChange(event));
  SIMPUL_RETURN_IF_ERROR(book_.SaveFeedCursor(event.cursor()));
  ++applied_;
  return absl::OkStatus();
}

absl::Status StandardsFeed::Resync(const std::string& cursor) {
  auto call = [&](grpc::ClientContext& ctx) {
    identity_.Attach(ctx);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  };
  // Agencies first (their sandbox flag places their units), then units, so that services are
  // placed in their units' current scopes.
  std::string token;
  do {
    rv1::ListAgenciesRequest req;
    req.mutable_page()->set_page_size(options_.page_size);
    req.mutable_page()->set_page_token(token);
    rv1::ListAgenciesResponse resp;
    grpc::ClientContext ctx;
    call(ctx);
    grpc::Status s = stub_->ListAgencies(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s, "ListAgencies");
    for (const rv1::Agency& agency : resp.agencies()) {
      SIMPUL_RETURN_IF_ERROR(book_.PutAgency(cursor, agency));
    }
    token = resp.next_page_token();
  } while (!token.empty());

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
  if (Stopping()) return absl::CancelledError("stopping");
  return absl::OkStatus();
}

}  // namespace simpul::monitoring
