#include "tests/testing/mixed_load.h"

#include <grpc/grpc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <type_traits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/redis.h"
#include "gateway/api_keys.h"
#include "google/protobuf/util/time_util.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/registry_seed.h"

namespace simpul::testing {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace mv1 = ::simpul::monitoring::v1;

constexpr int kMaxSamples = 20;

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

std::string Describe(const grpc::Status& s) {
  return absl::StrCat("code ", static_cast<int>(s.error_code()), ": ", s.error_message());
}

// Seed calls: one unary call as `who` that must succeed; the status names the call.
template <typename Req, typename Resp>
absl::Status SeedCall(registry::v1::Registry::Stub* stub,
                      grpc::Status (registry::v1::Registry::Stub::*method)(grpc::ClientContext*,
                                                                           const Req&, Resp*),
                      const Caller& who, const Req& req, Resp* resp) {
  grpc::Status s;
  // The gateway may still be connecting to its backends: retry UNAVAILABLE for a few seconds.
  for (int attempt = 0; attempt < 40; ++attempt) {
    auto ctx = CallContext(who, absl::Seconds(10));
    resp->Clear();
    s = (stub->*method)(ctx.get(), req, resp);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(Req::descriptor()->name(), ": ", s.error_message()));
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return ts;
}

// CursorAfter: a WatchStandards cursor "<ms>-<seq>" comes after `previous` (false when either
// cannot be parsed).
bool CursorAfter(const std::string& cursor, const std::string& previous) {
  auto parse = [](const std::string& c, std::pair<uint64_t, uint64_t>* out) {
    std::vector<std::string> parts = absl::StrSplit(c, '-');
    return parts.size() == 2 && absl::SimpleAtoi(parts[0], &out->first) &&
           absl::SimpleAtoi(parts[1], &out->second);
  };
  std::pair<uint64_t, uint64_t> a, b;
  return parse(cursor, &a) && parse(previous, &b) && a > b;
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p * sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// ActionCall is one lifecycle action as MixedLoad::Act sends it: the request names the case
// (`code` at `revision`; `fill` sets the rest), `rpc` sends it, and the call yields the
// complaint of the response.
using Action =
    std::function<grpc::Status(cv1::Complaints::Stub&, grpc::ClientContext*, cv1::Complaint*)>;
template <typename Request, typename Response>
Action ActionCall(const std::string& code, int64_t revision,
                  grpc::Status (cv1::Complaints::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                             Response*),
                  std::function<void(std::type_identity_t<Request>&)> fill = nullptr) {
  return [code, revision, rpc, fill](cv1::Complaints::Stub& stub, grpc::ClientContext* ctx,
                                     cv1::Complaint* out) {
    Request req;
    req.set_id(code);
    req.set_expected_revision(revision);
    if (fill) fill(req);
    Response resp;
    grpc::Status s = (stub.*rpc)(ctx, req, &resp);
    *out = resp.complaint();
    return s;
  };
}

}  // namespace

const char* AckKindName(Ack::Kind kind) {
  switch (kind) {
    case Ack::kFiling:
      return "filing";
    case Ack::kAction:
      return "action";
    case Ack::kSurvey:
      return "survey";
    case Ack::kRead:
      return "read";
    case Ack::kRegistryWrite:
      return "registry write";
  }
  return "?";
}

absl::StatusOr<LoadSeed> SeedForLoad(registry::v1::Registry::Stub* registry, const Caller& root,
                                     const std::string& prefix, int services) {
  using Stub = registry::v1::Registry::Stub;
  LoadSeed seed;
  seed.agency_id = absl::StrCat(prefix, "-agency");
  {
    registry::v1::CreateAgencyRequest req;
    *req.mutable_agency() = MakeAgency(seed.agency_id, registry::v1::AGENCY_KIND_REGENCY, "32.01");
    registry::v1::CreateAgencyResponse resp;
    if (absl::Status s = SeedCall(registry, &Stub::CreateAgency, root, req, &resp); !s.ok()) {
      return s;
    }
  }
  for (int i = 0; i < services; ++i) {
    const std::string unit = absl::StrCat(prefix, "-unit-", i);
    const std::string service = absl::StrCat(prefix, "-service-", i);
    registry::v1::CreateServiceUnitRequest unit_req;
    *unit_req.mutable_unit() = MakeWibUnit(unit, seed.agency_id, "Dinas Pelayanan Terpadu");
    registry::v1::CreateServiceUnitResponse unit_resp;
    if (absl::Status s = SeedCall(registry, &Stub::CreateServiceUnit, root, unit_req, &unit_resp);
        !s.ok()) {
      return s;
    }
    registry::v1::CreateServiceRequest service_req;
    service_req.mutable_service()->set_id(service);
    service_req.mutable_service()->set_unit_id(unit);
    service_req.mutable_service()->set_name("Layanan Akta Kelahiran");
    registry::v1::CreateServiceResponse service_resp;
    if (absl::Status s = SeedCall(registry, &Stub::CreateService, root, service_req, &service_resp);
        !s.ok()) {
      return s;
    }
    registry::v1::CreateStandardVersionRequest create;
    create.set_service_id(service);
    *create.mutable_components() = CompleteComponents();
    registry::v1::CreateStandardVersionResponse created;
    if (absl::Status s = SeedCall(registry, &Stub::CreateStandardVersion, root, create, &created);
        !s.ok()) {
      return s;
    }
    registry::v1::StartPublicConsultationRequest start;
    start.set_id(created.version().id());
    start.set_expected_revision(created.version().revision());
    registry::v1::StartPublicConsultationResponse started;
    if (absl::Status s = SeedCall(registry, &Stub::StartPublicConsultation, root, start, &started);
        !s.ok()) {
      return s;
    }
    registry::v1::RecordConsultationRequest consult;
    consult.set_id(created.version().id());
    consult.set_expected_revision(started.version().revision());
    *consult.mutable_consultation()->mutable_date() = MakeDate(2026, 1, 10);
    consult.mutable_consultation()->set_participant_count(30);
    consult.mutable_consultation()->set_summary("Forum konsultasi publik di kantor camat");
    registry::v1::RecordConsultationResponse consulted;
    if (absl::Status s = SeedCall(registry, &Stub::RecordConsultation, root, consult, &consulted);
        !s.ok()) {
      return s;
    }
    registry::v1::AdoptStandardVersionResponse adopted;
    if (absl::Status s = SeedCall(registry, &Stub::AdoptStandardVersion, root,
                                  AdoptRequest(consulted.version()), &adopted);
        !s.ok()) {
      return s;
    }
    seed.unit_ids.push_back(unit);
    seed.service_ids.push_back(service);
  }
  return seed;
}

absl::StatusOr<LoadCallers> IssueLoadCallers(gateway::ApiKeyStore& keys, const LoadSeed& seed) {
  auto issue = [&](const common::v1::Principal& p, const std::string& tag,
                   Caller* out) -> absl::Status {
    absl::StatusOr<gateway::IssuedApiKey> issued =
        keys.Issue(p, absl::StrCat("mixed load ", tag), "test:mixed-load");
    if (!issued.ok()) return issued.status();
    *out = Caller{tag, issued->token, /*api_key=*/true};
    return absl::OkStatus();
  };
  LoadCallers callers;
  common::v1::Principal channel;
  channel.set_role(common::v1::ROLE_CHANNEL);
  channel.set_channel("sms-1708");
  channel.add_scope_agency_ids(seed.agency_id);
  if (absl::Status s = issue(channel, "load-channel", &callers.channel); !s.ok()) return s;
  common::v1::Principal officer;
  officer.set_role(common::v1::ROLE_AGENCY_ADMIN);
  officer.set_agency_id(seed.agency_id);
  if (absl::Status s = issue(officer, "load-officer", &callers.officer); !s.ok()) return s;
  if (absl::Status s = issue(officer, "load-surveys", &callers.surveys); !s.ok()) return s;
  return callers;
}

absl::StatusOr<LoadSetup> PrepareLoad(ServiceCluster& cluster, const std::string& prefix,
                                      int services) {
  RedisOptions redis = cluster.redis().PoolOptions();
  redis.command_timeout = absl::Seconds(10);
  redis.pool_size = 1;
  RedisPool pool(redis);
  absl::StatusOr<std::unique_ptr<gateway::ApiKeyStore>> keys = gateway::ApiKeyStore::Create(
      &pool, gateway::ApiKeyStore::Options{.cache_ttl = absl::ZeroDuration()});
  if (!keys.ok()) return keys.status();
  LoadSetup setup;
  common::v1::Principal root;
  root.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  absl::StatusOr<gateway::IssuedApiKey> issued =
      (*keys)->Issue(root, "mixed load root", "test:mixed-load");
  if (!issued.ok()) return issued.status();
  setup.root = Caller{"load-root", issued->token, /*api_key=*/true};
  auto stub = registry::v1::Registry::NewStub(cluster.gateway().channel());
  absl::StatusOr<LoadSeed> seed = SeedForLoad(stub.get(), setup.root, prefix, services);
  if (!seed.ok()) return seed.status();
  setup.seed = *std::move(seed);
  absl::StatusOr<LoadCallers> callers = IssueLoadCallers(**keys, setup.seed);
  if (!callers.ok()) return callers.status();
  setup.callers = *std::move(callers);
  return setup;
}

std::vector<std::string> LoadGatewayFlags() {
  return {
      "--rate_limits=public=100000/s; channel=100000/s; agency_admin=100000/s; "
      "agency_operator=100000/s; dashboard=100000/s; platform_admin=100000/s"};
}

// --- MixedLoad ---

absl::StatusOr<std::unique_ptr<MixedLoad>> MixedLoad::Start(MixedLoadOptions options) {
  auto invalid = [](const std::string& field, const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("MixedLoadOptions.", field, ": ", why));
  };
  if (options.gateways.empty()) return invalid("gateways", "at least one address is needed");
  if (!(options.calls_per_second > 0)) return invalid("calls_per_second", "must be > 0");
  for (double share : {options.filings, options.actions, options.surveys, options.reads,
                       options.registry_writes}) {
    if (!(share >= 0)) return invalid("filings/actions/surveys/reads", "shares must be >= 0");
  }
  if (options.filings + options.actions + options.surveys + options.reads +
          options.registry_writes <=
      0) {
    return invalid("filings/actions/surveys/reads", "at least one share must be > 0");
  }
  if (options.seed.service_ids.empty() ||
      options.seed.service_ids.size() != options.seed.unit_ids.size()) {
    return invalid("seed", "needs service ids, one per unit id");
  }
  if (options.watch_streams < 0) return invalid("watch_streams", "must be >= 0");
  if (options.max_attempts < 1) return invalid("max_attempts", "must be >= 1");
  if (options.max_in_flight < 1) return invalid("max_in_flight", "must be >= 1");
  if (options.window <= absl::ZeroDuration()) return invalid("window", "must be > 0");
  if (options.call_deadline <= absl::ZeroDuration()) {
    return invalid("call_deadline", "must be > 0");
  }
  std::unique_ptr<MixedLoad> load(new MixedLoad(std::move(options)));
  const MixedLoadOptions& o = load->options_;
  for (const std::string& address : o.gateways) {
    grpc::ChannelArguments args;
    // Reconnect quickly to a gateway that comes back (chaos restarts them on the same port).
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    Channel c;
    c.channel = grpc::CreateCustomChannel(
        address, o.credentials ? o.credentials : grpc::InsecureChannelCredentials(), args);
    c.complaints = cv1::Complaints::NewStub(c.channel);
    c.monitoring = mv1::Monitoring::NewStub(c.channel);
    c.registry = registry::v1::Registry::NewStub(c.channel);
    load->channels_.push_back(std::move(c));
  }
  load->start_ = absl::Now();
  for (int i = 0; i < o.max_in_flight; ++i)
    load->workers_.emplace_back([l = load.get()] { l->Work(); });
  for (int i = 0; i < o.watch_streams; ++i) {
    load->watchers_.emplace_back([l = load.get(), i] { l->Watch(i); });
  }
  load->scheduler_ = std::thread([l = load.get()] { l->Schedule(); });
  return load;
}

MixedLoad::MixedLoad(MixedLoadOptions options)
    : options_(std::move(options)),
      run_id_(absl::StrCat(absl::ToUnixMillis(absl::Now()) % 100000000, "-",
                           std::random_device()() % 100000)) {}

MixedLoad::~MixedLoad() { Stop(); }

void MixedLoad::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    for (grpc::ClientContext* ctx : watch_contexts_) ctx->TryCancel();
  }
  if (scheduler_.joinable()) scheduler_.join();
  for (std::thread& t : workers_) t.join();
  for (std::thread& t : watchers_) t.join();
}

MixedLoad::Channel& MixedLoad::NextChannel() {
  return channels_[next_channel_.fetch_add(1) % channels_.size()];
}

std::unique_ptr<grpc::ClientContext> MixedLoad::Context(const Caller& who) const {
  return CallContext(who, options_.call_deadline);
}

int64_t MixedLoad::WindowIndex(absl::Time t) const {
  return static_cast<int64_t>(std::floor(absl::FDivDuration(t - start_, options_.window)));
}

void MixedLoad::Schedule() {
  const Ack::Kind kinds[5] = {Ack::kFiling, Ack::kAction, Ack::kSurvey, Ack::kRead,
                              Ack::kRegistryWrite};
  const double shares[5] = {options_.filings, options_.actions, options_.surveys, options_.reads,
                            options_.registry_writes};
  const double total = shares[0] + shares[1] + shares[2] + shares[3] + shares[4];
  double credit[5] = {0, 0, 0, 0, 0};
  const absl::Duration interval = absl::Seconds(1) / options_.calls_per_second;
  for (int64_t n = 0; !stopping_; ++n) {
    const absl::Time due = start_ + n * interval;
    const absl::Duration wait = due - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(std::min(wait, absl::Milliseconds(100)));
    if (absl::Now() < due) {
      --n;  // not yet due (woke early to check stopping_)
      continue;
    }
    if (stopping_) break;
    // Smooth weighted round robin: every kind gains its share, the richest is picked.
    int pick = 0;
    for (int k = 0; k < 5; ++k) {
      credit[k] += shares[k];
      if (credit[k] > credit[pick]) pick = k;
    }
    credit[pick] -= total;
    absl::MutexLock lock(&mu_);
    ++totals_.due;
    if (in_flight_ + static_cast<int>(queue_.size()) >= options_.max_in_flight) {
      ++errors_.shed;
      ++windows_[WindowIndex(due)].shed;
      continue;
    }
    queue_.push_back(Job{kinds[pick], due});
  }
}

void MixedLoad::Work() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_.load();
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping
      job = queue_.front();
      queue_.pop_front();
      ++in_flight_;
    }
    Run(job);
    --in_flight_;
  }
}

void MixedLoad::RecordAttemptError(const grpc::Status& status) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  ++errors_.attempt_errors[status.error_code()];
  errors_.last_attempt_error[status.error_code()] = absl::StrCat(
      absl::FormatTime("%H:%M:%E3S ", now, absl::UTCTimeZone()), status.error_message());
  ++windows_[WindowIndex(now)].attempt_errors[status.error_code()];
}

grpc::Status MixedLoad::WithRetries(
    const Caller& who, const std::function<grpc::Status(Channel&, grpc::ClientContext*)>& call,
    int* attempts, bool* ambiguous, bool* abandoned) {
  const absl::Time first = absl::Now();
  absl::Duration backoff = absl::Milliseconds(50);
  *attempts = 0;
  *ambiguous = false;
  *abandoned = false;
  while (true) {
    ++*attempts;
    std::unique_ptr<grpc::ClientContext> ctx = Context(who);
    // A retry waits (within its deadline) for the channel to connect instead of failing at
    // once: a call waiting on the channel also drives its connection attempt, which otherwise
    // only gRPC's backup poller (every 5 s) would.
    if (*attempts > 1) ctx->set_wait_for_ready(true);
    grpc::Status s = call(NextChannel(), ctx.get());
    if (s.ok()) return s;
    RecordAttemptError(s);
    if (!Retryable(s.error_code())) return s;
    *ambiguous = true;
    if (*attempts >= options_.max_attempts || absl::Now() - first >= options_.retry_budget) {
      return s;
    }
    if (stopping_) {
      *abandoned = true;
      return s;
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

MixedLoad::Outcome MixedLoad::File(const Job& job, Ack* ack) {
  const size_t i = next_key_.load() % options_.seed.service_ids.size();
  cv1::FileComplaintRequest req;
  req.set_idempotency_key(absl::StrCat("ml-", run_id_, "-f", next_key_.fetch_add(1)));
  req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
  req.set_channel(cv1::CHANNEL_SMS);
  req.set_service_id(options_.seed.service_ids[i]);
  req.set_description("Akta kelahiran anak kami belum terbit setelah tiga minggu menunggu.");
  cv1::FileComplaintResponse resp;
  int attempts;
  bool ambiguous, abandoned;
  grpc::Status s = WithRetries(
      options_.callers.channel,
      [&](Channel& c, grpc::ClientContext* ctx) {
        resp.Clear();
        return c.complaints->FileComplaint(ctx, req, &resp);
      },
      &attempts, &ambiguous, &abandoned);
  ack->kind = Ack::kFiling;
  ack->key = req.idempotency_key();
  ack->attempts = attempts;
  Outcome out;
  if (abandoned) return {Outcome::kAbandoned};
  if (!s.ok()) {
    out.exhausted = Retryable(s.error_code());
    out.what = absl::StrCat("FileComplaint ", req.idempotency_key(), ": ", Describe(s));
    return out;
  }
  // A unique key is replayed only after an earlier attempt of this call committed.
  if (resp.tracking_code().empty() || resp.complaint().service_id() != req.service_id() ||
      resp.complaint().state() != cv1::STATE_RECEIVED || (resp.replayed() && attempts == 1)) {
    return {Outcome::kWrongData, false,
            absl::StrCat("FileComplaint ", req.idempotency_key(), " answered ",
                         resp.ShortDebugString())};
  }
  ack->tracking_code = resp.tracking_code();
  ack->state_after = cv1::State_Name(resp.complaint().state());
  ack->revision_after = 1;
  {
    absl::MutexLock lock(&mu_);
    cases_.push_back(Case{resp.tracking_code(), cv1::STATE_RECEIVED, 1});
  }
  return {Outcome::kAcked};
}

MixedLoad::Outcome MixedLoad::Act(const Job& job, Ack* ack, bool* no_case) {
  Case c;
  {
    absl::MutexLock lock(&mu_);
    if (cases_.empty()) {
      *no_case = true;
      return {};
    }
    c = cases_.front();
    cases_.pop_front();
    ++cases_busy_;
  }
  *no_case = false;
  const Caller& officer = options_.callers.officer;
  std::string method;
  cv1::State target;
  Action call;
  switch (c.state) {
    case cv1::STATE_RECEIVED:
      method = "VerifyComplaint";
      target = cv1::STATE_VERIFIED;
      call = ActionCall(c.code, c.revision, &cv1::Complaints::Stub::VerifyComplaint,
                        [](cv1::VerifyComplaintRequest& req) { req.set_note("Berkas lengkap"); });
      break;
    case cv1::STATE_VERIFIED:
      method = "DisposeComplaint";
      target = cv1::STATE_DISPOSED;
      call = ActionCall(c.code, c.revision, &cv1::Complaints::Stub::DisposeComplaint);
      break;
    case cv1::STATE_DISPOSED:
      method = "StartWork";
      target = cv1::STATE_IN_PROGRESS;
      call = ActionCall(c.code, c.revision, &cv1::Complaints::Stub::StartWork);
      break;
    case cv1::STATE_IN_PROGRESS:
      method = "PostFollowUp";
      target = cv1::STATE_RESPONDED;
      call = ActionCall(c.code, c.revision, &cv1::Complaints::Stub::PostFollowUp,
                        [](cv1::PostFollowUpRequest& req) {
                          req.set_message("Akta sudah dicetak dan dapat diambil di loket 3.");
                        });
      break;
    default:  // RESPONDED
      method = "CompleteComplaint";
      target = cv1::STATE_COMPLETED;
      call = ActionCall(c.code, c.revision, &cv1::Complaints::Stub::CompleteComplaint);
      break;
  }
  cv1::Complaint after;
  int attempts;
  bool ambiguous, abandoned;
  grpc::Status s = WithRetries(
      officer,
      [&](Channel& ch, grpc::ClientContext* ctx) { return call(*ch.complaints, ctx, &after); },
      &attempts, &ambiguous, &abandoned);
  ack->kind = Ack::kAction;
  ack->key = absl::StrCat(c.code, "/", method);
  ack->tracking_code = c.code;
  ack->attempts = attempts;
  Outcome out;
  if (!s.ok() && ambiguous && !abandoned &&
      (s.error_code() == grpc::StatusCode::ABORTED ||
       s.error_code() == grpc::StatusCode::FAILED_PRECONDITION)) {
    // An earlier attempt may have committed: read the case.
    cv1::GetComplaintRequest get;
    get.set_id(c.code);
    cv1::GetComplaintResponse got;
    int read_attempts;
    bool read_ambiguous, read_abandoned;
    grpc::Status r = WithRetries(
        officer,
        [&](Channel& ch, grpc::ClientContext* ctx) {
          got.Clear();
          return ch.complaints->GetComplaint(ctx, get, &got);
        },
        &read_attempts, &read_ambiguous, &read_abandoned);
    if (r.ok() && got.complaint().state() == target &&
        got.complaint().revision() == c.revision + 1) {
      ack->confirmed_by_read = true;
      after = got.complaint();
      s = grpc::Status::OK;
    }
  }
  auto give_back = [&](bool keep) {
    absl::MutexLock lock(&mu_);
    --cases_busy_;
    if (keep) cases_.push_front(c);
  };
  if (abandoned) {
    give_back(false);
    return {Outcome::kAbandoned};
  }
  if (!s.ok()) {
    give_back(false);  // its state is unknown: no further action on it
    out.exhausted = Retryable(s.error_code());
    out.what = absl::StrCat(method, " ", c.code, " at revision ", c.revision, ": ", Describe(s));
    return out;
  }
  if (after.id() != c.code || after.state() != target || after.revision() != c.revision + 1) {
    give_back(false);
    return {Outcome::kWrongData, false,
            absl::StrCat(method, " ", c.code, " at revision ", c.revision, " answered case ",
                         after.id(), " ", cv1::State_Name(after.state()), " revision ",
                         after.revision())};
  }
  ack->state_after = cv1::State_Name(after.state());
  ack->revision_after = after.revision();
  c.state = target;
  c.revision = after.revision();
  give_back(target != cv1::STATE_COMPLETED);
  return {Outcome::kAcked};
}

MixedLoad::Outcome MixedLoad::Survey(const Job& job, Ack* ack) {
  const uint64_t n = next_key_.fetch_add(1);
  const size_t i = n % options_.seed.unit_ids.size();
  mv1::SubmitSurveyResponsesRequest req;
  mv1::SurveyResponse* r = req.add_responses();
  r->set_idempotency_key(absl::StrCat("ml-", run_id_, "-s", n));
  r->set_unit_id(options_.seed.unit_ids[i]);
  r->set_service_id(options_.seed.service_ids[i]);
  *r->mutable_response_time() = ToProto(job.due - absl::Seconds(1));
  for (int u = 0; u < 9; ++u) r->add_answers(1 + static_cast<int>((n + u) % 4));
  mv1::SubmitSurveyResponsesResponse resp;
  int attempts;
  bool ambiguous, abandoned;
  grpc::Status s = WithRetries(
      options_.callers.surveys,
      [&](Channel& c, grpc::ClientContext* ctx) {
        resp.Clear();
        return c.monitoring->SubmitSurveyResponses(ctx, req, &resp);
      },
      &attempts, &ambiguous, &abandoned);
  ack->kind = Ack::kSurvey;
  ack->key = r->idempotency_key();
  ack->attempts = attempts;
  if (abandoned) return {Outcome::kAbandoned};
  if (!s.ok()) {
    return {Outcome::kFailed, Retryable(s.error_code()),
            absl::StrCat("SubmitSurveyResponses ", r->idempotency_key(), ": ", Describe(s))};
  }
  // A first attempt applies it; a retry after an attempt that committed finds it repeated.
  if (resp.applied() + resp.repeated() != 1 || (resp.repeated() == 1 && attempts == 1)) {
    return {Outcome::kWrongData, false,
            absl::StrCat("SubmitSurveyResponses ", r->idempotency_key(), " answered ",
                         resp.ShortDebugString())};
  }
  ack->state_after = resp.applied() == 1 ? "applied" : "repeated";
  return {Outcome::kAcked};
}

MixedLoad::Outcome MixedLoad::Read(const Job& job, Ack* ack) {
  const uint64_t n = next_key_.fetch_add(1);
  const std::string& service = options_.seed.service_ids[n % options_.seed.service_ids.size()];
  registry::v1::GetCurrentStandardRequest req;
  req.set_service_id(service);
  registry::v1::GetCurrentStandardResponse resp;
  int attempts;
  bool ambiguous, abandoned;
  grpc::Status s = WithRetries(
      options_.callers.reader,
      [&](Channel& c, grpc::ClientContext* ctx) {
        resp.Clear();
        return c.registry->GetCurrentStandard(ctx, req, &resp);
      },
      &attempts, &ambiguous, &abandoned);
  ack->kind = Ack::kRead;
  ack->key = service;
  ack->attempts = attempts;
  if (abandoned) return {Outcome::kAbandoned};
  if (!s.ok()) {
    return {Outcome::kFailed, Retryable(s.error_code()),
            absl::StrCat("GetCurrentStandard ", service, ": ", Describe(s))};
  }
  if (resp.version().service_id() != service ||
      resp.version().state() != registry::v1::STANDARD_STATE_ADOPTED) {
    return {Outcome::kWrongData, false,
            absl::StrCat("GetCurrentStandard ", service, " answered version ", resp.version().id(),
                         " of ", resp.version().service_id(), " in state ",
                         registry::v1::StandardState_Name(resp.version().state()))};
  }
  ack->state_after = registry::v1::StandardState_Name(resp.version().state());
  ack->revision_after = resp.version().revision();
  return {Outcome::kAcked};
}

MixedLoad::Outcome MixedLoad::WriteRegistry(const Job& job, Ack* ack, bool* busy) {
  registry::v1::Service current;
  {
    absl::MutexLock lock(&mu_);
    *busy = registry_write_busy_;
    if (*busy) return {};
    registry_write_busy_ = true;
    current = edited_service_;
  }
  const std::string& service = options_.seed.service_ids[0];
  const Caller& officer = options_.callers.officer;
  int attempts = 0, read_attempts;
  bool ambiguous = false, abandoned = false, read_ambiguous;
  // get reads the service (its name, which UpdateService replaces too, and its revision).
  auto get = [&](registry::v1::Service* out) {
    registry::v1::GetServiceRequest req;
    req.set_id(service);
    registry::v1::GetServiceResponse resp;
    grpc::Status s = WithRetries(
        officer,
        [&](Channel& c, grpc::ClientContext* ctx) {
          resp.Clear();
          return c.registry->GetService(ctx, req, &resp);
        },
        &read_attempts, &read_ambiguous, &abandoned);
    *out = resp.service();
    return s;
  };
  // The service as this load last wrote it; read once first (and again after a failure).
  grpc::Status s;
  if (current.revision() == 0) s = get(&current);
  const int64_t revision = current.revision();
  registry::v1::UpdateServiceRequest req;
  req.set_expected_revision(revision);
  *req.mutable_service() = current;
  req.mutable_service()->set_description(
      absl::StrCat("Diubah oleh beban campuran ", run_id_, " nomor ", next_key_.fetch_add(1)));
  registry::v1::UpdateServiceResponse resp;
  if (s.ok() && !abandoned) {
    s = WithRetries(
        officer,
        [&](Channel& c, grpc::ClientContext* ctx) {
          resp.Clear();
          return c.registry->UpdateService(ctx, req, &resp);
        },
        &attempts, &ambiguous, &abandoned);
    if (!s.ok() && ambiguous && !abandoned && s.error_code() == grpc::StatusCode::ABORTED) {
      // An earlier attempt may have committed: read the service.
      registry::v1::Service now;
      if (get(&now).ok() && now.description() == req.service().description() &&
          now.revision() == revision + 1) {
        *resp.mutable_service() = now;
        s = grpc::Status::OK;
      }
    }
  }
  ack->kind = Ack::kRegistryWrite;
  ack->key = absl::StrCat(service, "/", req.service().description());
  ack->attempts = attempts;
  {
    absl::MutexLock lock(&mu_);
    registry_write_busy_ = false;
    if (s.ok()) {
      edited_service_ = resp.service();
    } else {
      edited_service_.Clear();  // read it again
    }
  }
  if (abandoned) return {Outcome::kAbandoned};
  if (!s.ok()) {
    return {Outcome::kFailed, Retryable(s.error_code()),
            absl::StrCat("UpdateService ", service, " at revision ", revision, ": ", Describe(s))};
  }
  if (resp.service().id() != service || resp.service().revision() != revision + 1 ||
      resp.service().description() != req.service().description()) {
    return {Outcome::kWrongData, false,
            absl::StrCat("UpdateService ", service, " at revision ", revision, " answered ",
                         resp.service().ShortDebugString())};
  }
  ack->revision_after = resp.service().revision();
  return {Outcome::kAcked};
}

void MixedLoad::Run(const Job& job) {
  Ack ack;
  Outcome outcome;
  switch (job.kind) {
    case Ack::kFiling:
      outcome = File(job, &ack);
      break;
    case Ack::kAction: {
      bool no_case = false;
      outcome = Act(job, &ack, &no_case);
      if (no_case) outcome = Read(job, &ack);
      break;
    }
    case Ack::kSurvey:
      outcome = Survey(job, &ack);
      break;
    case Ack::kRead:
      outcome = Read(job, &ack);
      break;
    case Ack::kRegistryWrite: {
      bool busy = false;
      outcome = WriteRegistry(job, &ack, &busy);
      if (busy) outcome = Read(job, &ack);
      break;
    }
  }
  ack.sent = job.due;
  ack.acked = absl::Now();
  Record(job, outcome, std::move(ack));
}

void MixedLoad::Record(const Job& job, const Outcome& outcome, Ack ack) {
  absl::MutexLock lock(&mu_);
  if (outcome.result == Outcome::kAbandoned) {
    ++totals_.abandoned;
    return;
  }
  Window& w = windows_[WindowIndex(ack.acked)];
  ++w.calls;
  switch (outcome.result) {
    case Outcome::kAcked:
      ++totals_.acked[ack.kind];
      w.latencies_ms.push_back(absl::ToDoubleMilliseconds(ack.acked - ack.sent));
      if (options_.keep_acks) acks_.push_back(std::move(ack));
      return;
    case Outcome::kFailed:
      ++(outcome.exhausted ? errors_.exhausted : errors_.non_retryable);
      break;
    case Outcome::kWrongData:
      ++errors_.wrong_data;
      break;
    case Outcome::kAbandoned:
      break;
  }
  ++w.errors;
  if (errors_.samples.size() < kMaxSamples) {
    errors_.samples.push_back(absl::StrCat(
        absl::FormatTime("%H:%M:%E3S ", ack.acked, absl::UTCTimeZone()),
        outcome.result == Outcome::kWrongData ? "wrong data: " : "failed: ", outcome.what));
  }
}

void MixedLoad::Watch(int stream) {
  std::string cursor;  // empty: from now
  absl::Duration backoff = absl::Milliseconds(100);
  for (bool reopen = false; !stopping_; reopen = true) {
    grpc::ClientContext ctx;
    // A reopened stream waits for the channel to connect (and so drives the connection).
    ctx.set_wait_for_ready(reopen);
    const Caller& reader = options_.callers.reader;
    if (!reader.token.empty()) {
      if (reader.api_key) {
        ctx.AddMetadata("authorization", absl::StrCat("Bearer ", reader.token));
      } else {
        ctx.AddMetadata("x-simpul-identity", reader.token);
      }
    }
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      watch_contexts_.push_back(&ctx);
      ++totals_.watch_opens;
    }
    registry::v1::WatchStandardsRequest req;
    req.set_cursor(cursor);
    auto reader_stream = NextChannel().registry->WatchStandards(&ctx, req);
    if (cursor.empty()) {
      // A watch from now starts after the cursor in its initial metadata: keep it, so a stream
      // dropped before its first event resumes from there and misses no change made meanwhile.
      reader_stream->WaitForInitialMetadata();
      const auto& metadata = ctx.GetServerInitialMetadata();
      if (auto it = metadata.find("x-simpul-cursor"); it != metadata.end()) {
        cursor.assign(it->second.data(), it->second.size());
      }
    }
    registry::v1::WatchStandardsResponse event;
    while (reader_stream->Read(&event)) {
      backoff = absl::Milliseconds(100);
      const std::string& next = event.event().cursor();
      absl::MutexLock lock(&mu_);
      ++totals_.watch_events;
      if (!cursor.empty() && !CursorAfter(next, cursor)) {
        ++errors_.wrong_data;
        ++windows_[WindowIndex(absl::Now())].errors;
        if (errors_.samples.size() < kMaxSamples) {
          errors_.samples.push_back(absl::StrCat("wrong data: watch stream ", stream, " event ",
                                                 next, " after ", cursor));
        }
      }
      cursor = next;
    }
    grpc::Status s = reader_stream->Finish();
    {
      absl::MutexLock lock(&mu_);
      watch_contexts_.erase(std::find(watch_contexts_.begin(), watch_contexts_.end(), &ctx));
    }
    if (stopping_) return;
    if (!s.ok()) RecordAttemptError(s);
    if (s.error_code() == grpc::StatusCode::OUT_OF_RANGE) cursor.clear();
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

std::vector<Ack> MixedLoad::Acks() const {
  absl::MutexLock lock(&mu_);
  return acks_;
}

LoadErrors MixedLoad::Errors() const {
  absl::MutexLock lock(&mu_);
  return errors_;
}

LoadTotals MixedLoad::Totals() const {
  absl::MutexLock lock(&mu_);
  LoadTotals t = totals_;
  t.cases_open = static_cast<int64_t>(cases_.size()) + cases_busy_;
  return t;
}

std::vector<WindowStats> MixedLoad::Windows() const {
  absl::MutexLock lock(&mu_);
  std::vector<WindowStats> out;
  const int64_t current = WindowIndex(absl::Now());
  for (int64_t i = 0; i < current; ++i) {
    WindowStats s;
    s.start = start_ + i * options_.window;
    auto it = windows_.find(i);
    if (it != windows_.end()) {
      const Window& w = it->second;
      s.calls = w.calls;
      s.errors = w.errors;
      s.shed = w.shed;
      s.attempt_errors = w.attempt_errors;
      std::vector<double> sorted = w.latencies_ms;
      std::sort(sorted.begin(), sorted.end());
      s.p50_ms = Percentile(sorted, 0.50);
      s.p99_ms = Percentile(sorted, 0.99);
      s.max_ms = sorted.empty() ? 0 : sorted.back();
    }
    out.push_back(std::move(s));
  }
  return out;
}

WindowStats MixedLoad::Overall() const {
  absl::MutexLock lock(&mu_);
  WindowStats s;
  s.start = start_;
  std::vector<double> sorted;
  for (const auto& [index, w] : windows_) {
    s.calls += w.calls;
    s.errors += w.errors;
    s.shed += w.shed;
    for (const auto& [code, n] : w.attempt_errors) s.attempt_errors[code] += n;
    sorted.insert(sorted.end(), w.latencies_ms.begin(), w.latencies_ms.end());
  }
  std::sort(sorted.begin(), sorted.end());
  s.p50_ms = Percentile(sorted, 0.50);
  s.p99_ms = Percentile(sorted, 0.99);
  s.max_ms = sorted.empty() ? 0 : sorted.back();
  return s;
}

std::optional<absl::Time> MixedLoad::FirstWriteAckAfter(absl::Time t) const {
  absl::MutexLock lock(&mu_);
  std::optional<absl::Time> first;
  for (const Ack& a : acks_) {
    if (a.kind == Ack::kRead || a.sent <= t) continue;
    if (!first || a.acked < *first) first = a.acked;
  }
  return first;
}

}  // namespace simpul::testing
