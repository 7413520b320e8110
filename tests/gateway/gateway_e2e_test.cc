// End-to-end tests of simpul-gateway: the real simpul-gateway binary in front of the real
// simpul-registry, simpul-complaints and simpul-monitoring binaries and a real redis-server
// (AOF), gRPC over loopback on free ports. API keys are issued with ApiKeyStore straight into
// the gateway's Redis, as simpul-apikey would. Covers the policy matrix (every RPC of every
// proxied service and of GatewayAdmin, read from the descriptors, for every role and both
// agencies, against deploy/policy.json), ownership enforced by the services behind the
// gateway, forged identities (also as a capturing backend sees them), anonymous access, a rate
// limit shared by two replicas, the audit trail (scopes, simpul-audit verify, tampering, two
// replicas appending at once), request ids and deadlines, streaming and cancelled streams, a
// killed backend, and API key management through GatewayAdmin.
#include <fcntl.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/byte_buffer.h"
#include "common/grpc_status.h"
#include "common/identity.h"
#include "common/messages.h"
#include "common/redis.h"
#include "common/status.h"
#include "gateway/api_keys.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "simpul/calendar/v1/calendar.grpc.pb.h"
#include "simpul/complaints/v1/complaints.grpc.pb.h"
#include "simpul/complaints/v1/webhooks.grpc.pb.h"
#include "simpul/gateway/v1/gateway.grpc.pb.h"
#include "simpul/monitoring/v1/monitoring.grpc.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/gateway/open311_xml.h"
#include "tests/testing/grpc_calls.h"
#include "tests/testing/http_client.h"
#include "tests/testing/registry_fixtures.h"
#include "tests/testing/registry_seed.h"
#include "tests/testing/service_cluster.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/webhook_receiver.h"

namespace simpul::gateway {
namespace {

namespace cv1 = ::simpul::complaints::v1;
namespace calv1 = ::simpul::calendar::v1;
namespace mv1 = ::simpul::monitoring::v1;
namespace rv1 = ::simpul::registry::v1;
namespace gv1 = ::simpul::gateway::v1;
using ::grpc::StatusCode;
using ::simpul::gateway::testing::XmlElement;
using ::simpul::testing::Binary;
using ::simpul::testing::CompleteComponents;
using ::simpul::testing::FormEncode;
using ::simpul::testing::HttpDo;
using ::simpul::testing::HttpResponse;
using ::simpul::testing::IsOk;
using ::simpul::testing::MakeAgency;
using ::simpul::testing::PollUntil;
using ::simpul::testing::RedisServer;
using ::simpul::testing::ServiceCluster;
using ::simpul::testing::ServiceProcess;
using ::simpul::testing::TokenMinter;
using ::simpul::testing::UnaryMethod;
using ::testing::HasSubstr;
using ::testing::Not;

// XmlOf parses an Open311 XML answer with expat; a body that is not well-formed fails the test.
XmlElement XmlOf(const HttpResponse& r) {
  XmlElement root;
  std::string error;
  EXPECT_TRUE(::simpul::gateway::testing::ParseXml(r.body, &root, &error)) << error << "\n"
                                                                           << r.body;
  return root;
}

constexpr char kA[] = "kab-padang-pariaman";  // agency A
constexpr char kB[] = "kota-bogor";           // agency B
constexpr char kAUnit[] = "disdukcapil-pp";
constexpr char kBUnit[] = "dpmptsp-bogor";
constexpr char kAService[] = "akta-kelahiran";
constexpr char kBService[] = "pbg-bogor";
// Generous limits for the shared gateway: every public call of a test comes from 127.0.0.1,
// one bucket.
constexpr char kLooseLimits[] =
    "public=2000/s burst 4000; agency_admin=2000/s burst 4000; agency_operator=2000/s burst "
    "4000; channel=2000/s burst 4000; dashboard=2000/s burst 4000; platform_admin=2000/s burst "
    "4000";

// Caller is one identity calling through the gateway: an API key, or nobody (public).
struct Caller {
  std::string tag;
  std::string role;  // policy role name
  std::string agency;
  std::string token;    // empty: public
  std::string subject;  // "key:<id>", or "public"
  std::string key_id;

  // key is the caller for the harness's calls: its API key as a bearer token.
  simpul::testing::Caller key() const { return {tag, token, /*api_key=*/true}; }
};

std::multimap<std::string, std::string> CopyMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
  std::multimap<std::string, std::string> out;
  for (const auto& [k, v] : md)
    out.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  return out;
}

std::string Get(const std::multimap<std::string, std::string>& md, const std::string& key) {
  auto it = md.find(key);
  return it == md.end() ? "" : it->second;
}

// RawCall is one call by full method name with raw request bytes (any method, unary or
// streaming), through the callback API; it records metadata, messages and the status.
class RawCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RawCall(grpc::GenericStub* stub, const std::string& method, const std::string& request,
          const std::vector<std::pair<std::string, std::string>>& metadata,
          absl::Duration timeout) {
    for (const auto& [k, v] : metadata) ctx_.AddMetadata(k, v);
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    grpc::Slice slice(request);
    request_ = grpc::ByteBuffer(&slice, 1);
    stub->PrepareBidiStreamingCall(&ctx_, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  ~RawCall() override {
    ctx_.TryCancel();
    absl::MutexLock lock(&mu_);
    while (!done_) cv_.Wait(&mu_);
  }

  void OnReadInitialMetadataDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (ok) initial_ = CopyMetadata(ctx_.GetServerInitialMetadata());
    metadata_done_ = true;
    cv_.SignalAll();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      absl::MutexLock lock(&mu_);
      messages_.push_back(BufferBytes(response_));
      cv_.SignalAll();
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    trailing_ = CopyMetadata(ctx_.GetServerTrailingMetadata());
    done_ = true;
    cv_.SignalAll();
  }

  // WaitDone waits for the end of the call.
  bool WaitDone(absl::Duration timeout) {
    return WaitFor([this] { return done_; }, timeout);
  }
  // WaitStarted waits until the call ended or a stream is evidently open at the service (its
  // initial metadata carries `marker`, or a message arrived).
  bool WaitStarted(const std::string& marker, absl::Duration timeout) {
    return WaitFor([&] { return done_ || !messages_.empty() || initial_.count(marker) > 0; },
                   timeout);
  }
  bool done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  grpc::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  std::multimap<std::string, std::string> initial() {
    absl::MutexLock lock(&mu_);
    return initial_;
  }
  std::multimap<std::string, std::string> trailing() {
    absl::MutexLock lock(&mu_);
    return trailing_;
  }
  std::vector<std::string> messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  bool WaitFor(const std::function<bool()>& ready, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::MutexLock lock(&mu_);
    while (!ready()) {
      if (cv_.WaitWithDeadline(&mu_, deadline)) return ready();
    }
    return true;
  }

  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  absl::Mutex mu_;
  absl::CondVar cv_;
  bool metadata_done_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::multimap<std::string, std::string> initial_ ABSL_GUARDED_BY(mu_);
  std::multimap<std::string, std::string> trailing_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> messages_ ABSL_GUARDED_BY(mu_);
};

// ExpectedPolicy reads deploy/policy.json independently of the gateway's own parser: a role
// may call a method when some rule names both ("Service/Method" or "Service/Prefix*").
class ExpectedPolicy {
 public:
  bool Load(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    google::protobuf::util::JsonParseOptions options;
    return in && google::protobuf::util::JsonStringToMessage(text.str(), &file_, options).ok();
  }
  // Allows: `method` is "package.Service/Method".
  bool Allows(const std::string& role, const std::string& method) const {
    for (const gv1::PolicyRule& rule : file_.rules()) {
      if (std::find(rule.roles().begin(), rule.roles().end(), role) == rule.roles().end()) continue;
      for (const std::string& pattern : rule.methods()) {
        if (!pattern.empty() && pattern.back() == '*') {
          if (absl::StartsWith(method, pattern.substr(0, pattern.size() - 1))) return true;
        } else if (pattern == method) {
          return true;
        }
      }
    }
    return false;
  }

 private:
  gv1::PolicyFile file_;
};

// CapturingBackend stands in for simpul-registry behind a second gateway: it reports SERVING
// for the registry's health name, records the metadata of every call and answers each with an
// empty message (a default response) and an echo of the request id in its initial metadata.
class CapturingBackend final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back(CopyMetadata(ctx->client_metadata()));
      deadlines_.push_back(absl::FromChrono(ctx->deadline()));
    }
    return new Reactor(ctx);
  }
  std::vector<std::multimap<std::string, std::string>> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::vector<absl::Time> deadlines() {
    absl::MutexLock lock(&mu_);
    return deadlines_;
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(grpc::GenericCallbackServerContext* ctx) {
      const auto& md = ctx->client_metadata();
      auto it = md.find("x-request-id");
      ctx->AddInitialMetadata(
          "x-backend-saw-request-id",
          it == md.end() ? "" : std::string(it->second.data(), it->second.size()));
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status::OK);
        return;
      }
      grpc::Slice empty{std::string()};
      response_ = grpc::ByteBuffer(&empty, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  absl::Mutex mu_;
  std::vector<std::multimap<std::string, std::string>> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> deadlines_ ABSL_GUARDED_BY(mu_);
};

// RunCommand runs argv to completion (at most `timeout`) and returns its exit code (-1 when it
// did not exit normally in time) and its combined output.
std::pair<int, std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout) {
  int fds[2];
  if (pipe(fds) != 0) return {-1, "pipe failed"};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  std::string out;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  bool exited = false;
  while (absl::Now() < deadline) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, n);
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, n);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  close(fds[0]);
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return {-1, out + "\n(timed out)"};
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// NeedsCredentials and MayNotCall are the refusals the gateway itself writes
// (gateway/proxy.cc); IsGatewayRefusal recognizes either.
// The public and channels read them in Bahasa Indonesia, everyone else in English
// (common/messages.h).
std::string NeedsCredentials(const std::string& full_method) {
  return absl::StrCat(full_method, " memerlukan kredensial");
}
std::string MayNotCall(const std::string& role, const std::string& full_method) {
  if (role == "channel")
    return absl::StrCat("peran ", role, " tidak boleh memanggil ", full_method);
  return absl::StrCat("the role ", role, " may not call ", full_method);
}
bool IsGatewayRefusal(const grpc::Status& s) {
  return absl::StrContains(s.error_message(), " may not call /") ||
         absl::StrContains(s.error_message(), " tidak boleh memanggil /") ||
         absl::StrContains(s.error_message(), " needs credentials: send an API key") ||
         absl::StrContains(s.error_message(), " memerlukan kredensial: kirim kunci API");
}

// ---------------------------------------------------------------------------------------------
// Environment: Redis, the three services seeded with two agencies, and a gateway.

class Environment {
 public:
  ~Environment() { Stop(); }

  void Stop() {
    keys_.reset();
    pool_.reset();
    cluster_.reset();
  }

  void Start() {
    auto cluster = ServiceCluster::Create();
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    RedisOptions options;
    options.port = redis().port();
    pool_ = std::make_unique<RedisPool>(options);
    auto keys =
        ApiKeyStore::Create(pool_.get(), ApiKeyStore::Options{.cache_ttl = absl::ZeroDuration()});
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
    public_ = {"public", "public", "", "", "public", ""};
    ASSERT_NO_FATAL_FAILURE(Issue("a_admin", "agency_admin", kA, &a_admin_));
    ASSERT_NO_FATAL_FAILURE(Issue("a_op", "agency_operator", kA, &a_op_));
    ASSERT_NO_FATAL_FAILURE(Issue("b_admin", "agency_admin", kB, &b_admin_));
    ASSERT_NO_FATAL_FAILURE(Issue("b_op", "agency_operator", kB, &b_op_));
    ASSERT_NO_FATAL_FAILURE(Issue("channel", "channel", "", &web_channel_));
    ASSERT_NO_FATAL_FAILURE(Issue("dashboard", "dashboard", "", &dashboard_));
    ASSERT_NO_FATAL_FAILURE(Issue("root", "platform_admin", "", &root_));

    const std::vector<std::string> flags = {"--drain_timeout=1s", "--log_level=info"};
    ASSERT_THAT(cluster_->Start(Binary::kRegistry, {.flags = flags}), IsOk());
    std::vector<std::string> complaints_flags = {
        "--registry_timeout=2s", "--scan_interval=1s",
        absl::StrCat("--objects_dir=", ::testing::TempDir(), "gateway_e2e_objects_", getpid())};
    // Webhooks to the tests' local receivers, with the 24 h retry window shortened.
    complaints_flags.insert(
        complaints_flags.end(),
        {"--webhook_allow_http=true", "--webhook_allow_cidrs=127.0.0.1/32",
         "--webhook_request_timeout=1s", "--webhook_retry_initial=50ms",
         "--webhook_retry_max=200ms", "--webhook_retry_window=3s", "--webhook_poll_interval=50ms"});
    complaints_flags.insert(complaints_flags.end(), flags.begin(), flags.end());
    ASSERT_THAT(cluster_->Start(Binary::kComplaints, {.flags = complaints_flags}), IsOk());
    std::vector<std::string> monitoring_flags = {"--sweep_interval=1s"};
    monitoring_flags.insert(monitoring_flags.end(), flags.begin(), flags.end());
    ASSERT_THAT(cluster_->Start(Binary::kMonitoring, {.flags = monitoring_flags}), IsOk());

    gateway_ =
        StartGateway("gateway", redis().port(),
                     {std::string("--rate_limits=") + kLooseLimits, "--api_key_cache_ttl=200ms"});
    ASSERT_NE(gateway_, nullptr);
    rest_port_ = gateway_->rest_port();
    ASSERT_NE(rest_port_, 0) << gateway_->Log();
    channel_ = gateway_->channel();
    registry_stub_ = rv1::Registry::NewStub(channel_);
    complaints_stub_ = cv1::Complaints::NewStub(channel_);
    monitoring_stub_ = mv1::Monitoring::NewStub(channel_);
    admin_stub_ = gv1::GatewayAdmin::NewStub(channel_);
    generic_ = std::make_unique<grpc::GenericStub>(channel_);
    ASSERT_NO_FATAL_FAILURE(Seed());
  }

  // ---- processes ---------------------------------------------------------------------

  ServiceCluster& cluster() { return *cluster_; }
  RedisServer& redis() { return cluster_->redis(); }
  const TokenMinter& tokens() const { return cluster_->tokens(); }

  // StartGateway runs a simpul-gateway on free ports with its Redis on `redis_port`, in front
  // of the three services unless `extra` names other addresses (a flag of `extra` replaces
  // the default one); nullptr (and a failure) when it does not serve.
  ServiceProcess* StartGateway(const std::string& name, int redis_port,
                               std::vector<std::string> extra) {
    std::vector<std::string> flags = {"--drain_timeout=1s", "--log_level=info"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto gateway =
        cluster_->Start(Binary::kGateway, {.name = name, .flags = flags, .redis_port = redis_port});
    if (!gateway.ok()) {
      ADD_FAILURE() << name << " did not start: " << gateway.status();
      return nullptr;
    }
    return *gateway;
  }

  // ---- keys and calls ----------------------------------------------------------------

  void Issue(const std::string& tag, const std::string& role, const std::string& agency,
             Caller* out, ApiKeyStore* store = nullptr) {
    common::v1::Principal p;
    static const std::map<std::string, common::v1::Role> kRoles = {
        {"agency_admin", common::v1::ROLE_AGENCY_ADMIN},
        {"agency_operator", common::v1::ROLE_AGENCY_OPERATOR},
        {"channel", common::v1::ROLE_CHANNEL},
        {"dashboard", common::v1::ROLE_DASHBOARD},
        {"platform_admin", common::v1::ROLE_PLATFORM_ADMIN}};
    p.set_role(kRoles.at(role));
    p.set_agency_id(agency);
    if (role == "channel") {
      p.set_channel("web-portal");
      p.set_scope_all_agencies(true);
    }
    auto issued = (store ? store : keys_.get())->Issue(p, "gateway e2e " + tag, "test:gateway-e2e");
    ASSERT_TRUE(issued.ok()) << issued.status();
    *out = {
        tag, role, agency, issued->token, absl::StrCat("key:", issued->key.id()), issued->key.id()};
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const Caller& who,
                                                  absl::Duration timeout = absl::Seconds(10)) {
    return simpul::testing::CallContext(who.key(), timeout);
  }

  template <typename Stub, typename Req, typename Resp>
  static grpc::Status Call(Stub* stub, UnaryMethod<Stub, Req, Resp> method, const Caller& who,
                           const Req& req, Resp* resp) {
    return simpul::testing::CallAs(stub, method, who.key(), req, resp);
  }

  template <typename Stub, typename Req, typename Resp>
  static Resp Must(Stub* stub, UnaryMethod<Stub, Req, Resp> method, const Caller& who,
                   const Req& req) {
    return simpul::testing::MustCall(stub, method, who.key(), req);
  }

  // ---- seeding through the gateway ---------------------------------------------------

  rv1::StandardVersion DraftInConsultation(const Caller& op, const std::string& service) {
    return simpul::testing::RegistrySeeder(registry_stub_.get())
        .DraftInConsultation(op.key(), service, CompleteComponents());
  }

  void Seed() {
    simpul::testing::RegistrySeeder seed(registry_stub_.get());
    seed.CreateAgency(root_.key(), kA, rv1::AGENCY_KIND_REGENCY, "13.05");
    seed.CreateAgency(root_.key(), kB, rv1::AGENCY_KIND_CITY, "32.71");
    for (auto [who, id, agency, service] : {std::tuple{&a_admin_, kAUnit, kA, kAService},
                                            std::tuple{&b_admin_, kBUnit, kB, kBService}}) {
      seed.CreateUnit(who->key(), id, agency, "Dinas Pelayanan Terpadu");
      seed.CreateService(who->key(), service, id, "Layanan Dasar");
    }
    seed.AdoptStandard(a_op_.key(), a_admin_.key(), kAService, CompleteComponents());
    seed.AdoptStandard(b_op_.key(), b_admin_.key(), kBService, CompleteComponents());
    ASSERT_FALSE(::testing::Test::HasFailure());
  }

  // ---- state -------------------------------------------------------------------------

  std::unique_ptr<ServiceCluster> cluster_;
  ServiceProcess* gateway_ = nullptr;
  int rest_port_ = 0;  // the gateway's REST and Open311 front
  std::unique_ptr<RedisPool> pool_;
  std::unique_ptr<ApiKeyStore> keys_;
  Caller public_, a_admin_, a_op_, b_admin_, b_op_, web_channel_, dashboard_, root_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rv1::Registry::Stub> registry_stub_;
  std::unique_ptr<cv1::Complaints::Stub> complaints_stub_;
  std::unique_ptr<mv1::Monitoring::Stub> monitoring_stub_;
  std::unique_ptr<gv1::GatewayAdmin::Stub> admin_stub_;
  std::unique_ptr<grpc::GenericStub> generic_;
};

// One environment per test (ctest runs each test in its own process anyway, and several
// tests stop or replace processes).
class GatewayE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = std::make_unique<Environment>();
    ASSERT_NO_FATAL_FAILURE(env_->Start());
  }
  void TearDown() override { env_.reset(); }

  Environment& env() { return *env_; }
  rv1::Registry::Stub* registry() { return env_->registry_stub_.get(); }
  cv1::Complaints::Stub* complaints() { return env_->complaints_stub_.get(); }
  mv1::Monitoring::Stub* monitoring() { return env_->monitoring_stub_.get(); }
  gv1::GatewayAdmin::Stub* admin() { return env_->admin_stub_.get(); }

  template <typename Stub, typename Req, typename Resp>
  grpc::Status Call(Stub* stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Caller& who, const Req& req, Resp* resp) {
    return Environment::Call(stub, method, who, req, resp);
  }
  template <typename Stub, typename Req, typename Resp>
  Resp Must(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
            const Caller& who, const Req& req) {
    return Environment::Must(stub, method, who, req);
  }
  // Code makes a call and returns its status (the response is dropped).
  template <typename Stub, typename Req, typename Resp>
  grpc::Status Code(Stub* stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Caller& who, const Req& req) {
    Resp resp;
    return Call(stub, method, who, req, &resp);
  }

  cv1::FileComplaintResponse FilePublic(const std::string& key, const std::string& service) {
    cv1::FileComplaintRequest req;
    req.set_idempotency_key(key);
    req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
    req.set_channel(cv1::CHANNEL_WEB);
    req.set_service_id(service);
    req.set_title("Pelayanan lambat");
    req.set_description("Berkas saya belum selesai melewati waktu yang dijanjikan");
    auto resp = Must(complaints(), &cv1::Complaints::Stub::FileComplaint, env_->public_, req);
    EXPECT_FALSE(resp.tracking_code().empty());
    EXPECT_FALSE(resp.secret().empty());
    return resp;
  }

  rv1::UpdateServiceUnitRequest UnitUpdate(const std::string& id, const std::string& agency,
                                           const std::string& name) {
    rv1::UpdateServiceUnitRequest req;
    req.mutable_unit()->set_id(id);
    req.mutable_unit()->set_agency_id(agency);
    req.mutable_unit()->set_name(name);
    req.mutable_unit()->set_time_zone(common::v1::TIME_ZONE_WIB);
    // The unit's current revision (units are public).
    rv1::GetServiceUnitRequest get;
    get.set_id(id);
    req.set_expected_revision(
        Must(registry(), &rv1::Registry::Stub::GetServiceUnit, env_->public_, get)
            .unit()
            .revision());
    return req;
  }

  std::vector<gv1::AuditRecord> AuditRecords(const Caller& who, const std::string& agency,
                                             grpc::Status* status = nullptr) {
    std::vector<gv1::AuditRecord> out;
    gv1::ListAuditRecordsRequest req;
    req.set_agency_id(agency);
    req.mutable_page()->set_page_size(500);
    for (;;) {
      gv1::ListAuditRecordsResponse resp;
      grpc::Status s = Call(admin(), &gv1::GatewayAdmin::Stub::ListAuditRecords, who, req, &resp);
      if (status != nullptr) *status = s;
      if (!s.ok()) {
        if (status == nullptr) ADD_FAILURE() << s.error_code() << " " << s.error_message();
        return out;
      }
      for (const auto& r : resp.records()) out.push_back(r);
      if (resp.next_page_token().empty()) return out;
      req.mutable_page()->set_page_token(resp.next_page_token());
    }
  }

  std::unique_ptr<Environment> env_;
};

std::vector<const google::protobuf::ServiceDescriptor*> ProxiedServices() {
  std::vector<const google::protobuf::ServiceDescriptor*> out;
  for (const google::protobuf::FileDescriptor* file :
       {rv1::Agency::descriptor()->file(), cv1::Complaint::descriptor()->file(),
        mv1::Figures::descriptor()->file(), gv1::AuditRecord::descriptor()->file(),
        calv1::GetDeadlineRequest::descriptor()->file(), cv1::Webhook::descriptor()->file()}) {
    for (int i = 0; i < file->service_count(); ++i) out.push_back(file->service(i));
  }
  return out;
}

bool IsReadName(const std::string& name) {
  for (const char* p : {"Get", "List", "Search", "Watch", "Track", "Rank"}) {
    if (absl::StartsWith(name, p)) return true;
  }
  return false;
}

// MatrixRequest is the request of one matrix call: empty, except that a read names agency A's
// objects (agency_id, unit_id, service_id at the top level) so that an agency's own and the
// other agency's members differ at the service.
std::string MatrixRequest(const google::protobuf::MethodDescriptor* method) {
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type());
  std::unique_ptr<google::protobuf::Message> msg(prototype->New());
  if (IsReadName(method->name())) {
    for (auto [field, value] : {std::pair{"agency_id", kA}, std::pair{"unit_id", kAUnit},
                                std::pair{"service_id", kAService}}) {
      const auto* f = method->input_type()->FindFieldByName(field);
      if (f != nullptr && f->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
          !f->is_repeated()) {
        msg->GetReflection()->SetString(msg.get(), f, value);
      }
    }
  }
  return msg->SerializeAsString();
}

// ---------------------------------------------------------------------------------------------
// 1. The policy matrix and ownership.

TEST_F(GatewayE2ETest, EveryMethodForEveryRoleMatchesThePolicyFile) {
  ExpectedPolicy policy;
  ASSERT_TRUE(policy.Load(SIMPUL_POLICY_FILE));
  Environment& e = env();
  const std::vector<const Caller*> callers = {&e.public_,    &e.a_admin_, &e.a_op_,
                                              &e.b_admin_,   &e.b_op_,    &e.web_channel_,
                                              &e.dashboard_, &e.root_};
  int allowed = 0, refused = 0, methods = 0;
  for (const auto* service : ProxiedServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* m = service->method(i);
      ++methods;
      const std::string name = absl::StrCat(service->full_name(), "/", m->name());
      const std::string full = "/" + name;
      bool anyone = false;
      for (const char* role : {"public", "agency_admin", "agency_operator", "channel", "dashboard",
                               "platform_admin"}) {
        anyone = anyone || policy.Allows(role, name);
      }
      EXPECT_TRUE(anyone) << name << " is named by no rule of the policy: nobody can call it";
      const std::string request = MatrixRequest(m);
      // All callers of one method at once.
      std::vector<std::unique_ptr<RawCall>> calls;
      for (const Caller* who : callers) {
        std::vector<std::pair<std::string, std::string>> md;
        if (!who->token.empty()) md.emplace_back("authorization", "Bearer " + who->token);
        calls.push_back(
            std::make_unique<RawCall>(e.generic_.get(), full, request, md, absl::Seconds(15)));
      }
      for (size_t c = 0; c < callers.size(); ++c) {
        const Caller& who = *callers[c];
        RawCall& call = *calls[c];
        const std::string where = absl::StrCat(full, " as ", who.tag);
        const bool allows = policy.Allows(who.role, name);
        if (m->server_streaming()) {
          ASSERT_TRUE(call.WaitStarted("x-simpul-cursor", absl::Seconds(10)))
              << where << ": neither ended nor opened a stream";
        } else {
          ASSERT_TRUE(call.WaitDone(absl::Seconds(10))) << where << ": no answer";
        }
        if (!call.done()) {  // a stream open at the service
          EXPECT_TRUE(allows) << where << ": a stream opened although the policy denies it";
          EXPECT_TRUE(m->server_streaming()) << where;
          ++allowed;
          continue;
        }
        const grpc::Status s = call.status();
        const std::string got = absl::StrCat(s.error_code(), " \"", s.error_message(), "\"");
        if (allows) {
          ++allowed;
          EXPECT_FALSE(IsGatewayRefusal(s)) << where << ": refused by the gateway: " << got;
          EXPECT_NE(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << where << ": " << got;
          EXPECT_NE(s.error_code(), StatusCode::UNIMPLEMENTED) << where << ": " << got;
        } else if (who.role == "public") {
          ++refused;
          EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << where << ": " << got;
          EXPECT_THAT(s.error_message(), HasSubstr(NeedsCredentials(full))) << where;
        } else {
          ++refused;
          EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << where << ": " << got;
          EXPECT_THAT(s.error_message(), HasSubstr(MayNotCall(who.role, full))) << where;
        }
      }
    }
  }
  // Registry, Complaints, Monitoring and GatewayAdmin: 61 RPCs as of this writing.
  EXPECT_GE(methods, 60);
  // Methods nobody serves: the gateway answers UNIMPLEMENTED itself, or the backend does.
  {
    RawCall call(e.generic_.get(), "/simpul.nothing.v1.Nothing/Do", "",
                 {{"authorization", "Bearer " + e.root_.token}}, absl::Seconds(10));
    ASSERT_TRUE(call.WaitDone(absl::Seconds(10)));
    EXPECT_EQ(call.status().error_code(), StatusCode::UNIMPLEMENTED);
    EXPECT_THAT(call.status().error_message(), HasSubstr("no service behind this gateway"));
  }
  {
    RawCall call(e.generic_.get(), "/simpul.registry.v1.Registry/GetNothing", "", {},
                 absl::Seconds(10));  // "Get*" is public: the registry itself says no
    ASSERT_TRUE(call.WaitDone(absl::Seconds(10)));
    EXPECT_EQ(call.status().error_code(), StatusCode::UNIMPLEMENTED);
  }
  std::cout << "matrix: " << methods << " methods x " << callers.size() << " callers: " << allowed
            << " reached the service, " << refused << " refused by the gateway\n";
}

TEST_F(GatewayE2ETest, AgencyACanNeverReadOrEditAgencyBsObjects) {
  Environment& e = env();
  using CS = cv1::Complaints::Stub;
  using RS = rv1::Registry::Stub;
  using MS = mv1::Monitoring::Stub;
  // A denial that must come from the service (the policy lets the role call the method).
  auto expect_service_denial = [](const grpc::Status& s, const std::string& what) {
    EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << what << ": " << s.error_message();
    EXPECT_FALSE(IsGatewayRefusal(s)) << what << ": " << s.error_message();
  };

  // Complaints of A (and one of B) filed by the public, worked by A to IN_PROGRESS.
  const auto a_case = FilePublic("gw-e2e-own-a-1", kAService);
  const auto b_case = FilePublic("gw-e2e-own-b-1", kBService);
  {
    cv1::VerifyComplaintRequest verify;
    verify.set_id(a_case.tracking_code());
    verify.set_note("Berkas lengkap");
    expect_service_denial(Code(complaints(), &CS::VerifyComplaint, e.b_op_, verify),
                          "B verifies A's case");
    Must(complaints(), &CS::VerifyComplaint, e.a_op_, verify);
    cv1::DisposeComplaintRequest dispose;
    dispose.set_id(a_case.tracking_code());
    dispose.set_note("Ke bidang pelayanan");
    Must(complaints(), &CS::DisposeComplaint, e.a_op_, dispose);
    cv1::StartWorkRequest start;
    start.set_id(a_case.tracking_code());
    Must(complaints(), &CS::StartWork, e.a_op_, start);
  }
  cv1::GetComplaintRequest get_a;
  get_a.set_id(a_case.tracking_code());
  cv1::GetComplaintRequest get_b;
  get_b.set_id(b_case.tracking_code());
  cv1::ListComplaintsRequest list_a;
  list_a.set_agency_id(kA);
  cv1::PostFollowUpRequest follow_up;
  follow_up.set_id(a_case.tracking_code());
  follow_up.set_message("Berkas sudah dapat diambil di loket 3");
  for (const Caller* other : {&e.b_admin_, &e.b_op_}) {
    expect_service_denial(Code(complaints(), &CS::GetComplaint, *other, get_a),
                          other->tag + " GetComplaint of A");
    expect_service_denial(Code(complaints(), &CS::ListComplaints, *other, list_a),
                          other->tag + " ListComplaints of A");
    expect_service_denial(Code(complaints(), &CS::PostFollowUp, *other, follow_up),
                          other->tag + " PostFollowUp on A's case");
  }
  for (const Caller* own : {&e.a_admin_, &e.a_op_}) {
    EXPECT_EQ(Must(complaints(), &CS::GetComplaint, *own, get_a).complaint().agency_id(), kA);
    auto listed = Must(complaints(), &CS::ListComplaints, *own, list_a);
    ASSERT_EQ(listed.complaints_size(), 1) << own->tag;
    EXPECT_EQ(listed.complaints(0).id(), a_case.tracking_code());
    EXPECT_EQ(Must(complaints(), &CS::PostFollowUp, *own, follow_up).complaint().state(),
              cv1::STATE_RESPONDED);
    // ... and the other way round: A never reads B's case.
    expect_service_denial(Code(complaints(), &CS::GetComplaint, *own, get_b),
                          own->tag + " GetComplaint of B");
  }

  // Registry: B cannot update A's unit nor draft or adopt A's standards.
  expect_service_denial(Code(registry(), &RS::UpdateServiceUnit, e.b_admin_,
                             UnitUpdate(kAUnit, kA, "Diubah oleh Bogor")),
                        "B admin updates A's unit");
  Must(registry(), &RS::UpdateServiceUnit, e.a_admin_, UnitUpdate(kAUnit, kA, "Disdukcapil PP"));
  rv1::CreateStandardVersionRequest create;
  create.set_service_id(kAService);
  *create.mutable_components() = CompleteComponents();
  for (const Caller* other : {&e.b_admin_, &e.b_op_}) {
    expect_service_denial(Code(registry(), &RS::CreateStandardVersion, *other, create),
                          other->tag + " drafts a standard of A");
  }
  for (const Caller* own : {&e.a_admin_, &e.a_op_}) {
    EXPECT_EQ(Must(registry(), &RS::CreateStandardVersion, *own, create).version().state(),
              rv1::STANDARD_STATE_DRAFT)
        << own->tag;
  }
  const rv1::StandardVersion draft = e.DraftInConsultation(e.a_op_, kAService);
  {  // The registry does not even admit that another agency's unadopted draft exists.
    grpc::Status s = Code(registry(), &RS::AdoptStandardVersion, e.b_admin_,
                          simpul::testing::AdoptRequest(draft));
    EXPECT_THAT(s.error_code(),
                ::testing::AnyOf(StatusCode::PERMISSION_DENIED, StatusCode::NOT_FOUND))
        << s.error_message();
    EXPECT_FALSE(IsGatewayRefusal(s)) << s.error_message();
    rv1::GetStandardVersionRequest get;
    get.set_id(draft.id());
    s = Code(registry(), &RS::GetStandardVersion, e.b_op_, get);
    EXPECT_FALSE(s.ok()) << "agency B read agency A's draft";
    EXPECT_FALSE(IsGatewayRefusal(s)) << s.error_message();
  }
  EXPECT_EQ(
      Must(registry(), &RS::AdoptStandardVersion, e.a_admin_, simpul::testing::AdoptRequest(draft))
          .version()
          .state(),
      rv1::STANDARD_STATE_ADOPTED);

  // Monitoring: deliveries of A's service come from A only.
  auto deliveries = [](const std::string& key) {
    mv1::RecordDeliveriesRequest req;
    auto* d = req.add_deliveries();
    d->set_idempotency_key(key);
    d->set_application_id("app-" + key);
    d->set_service_id(kAService);
    const absl::Time now = absl::Now();
    d->mutable_received_time()->set_seconds(absl::ToUnixSeconds(now - absl::Hours(2)));
    d->mutable_completed_time()->set_seconds(absl::ToUnixSeconds(now - absl::Hours(1)));
    return req;
  };
  // The monitoring service learns A's service from the registry's feed: wait for it.
  grpc::Status first;
  ASSERT_TRUE(PollUntil(
      [&] {
        first =
            Code(monitoring(), &MS::RecordDeliveries, e.a_admin_, deliveries("delivery-a-admin"));
        return first.ok();
      },
      absl::Seconds(15), absl::Milliseconds(100)))
      << first.error_code() << " " << first.error_message();
  Must(monitoring(), &MS::RecordDeliveries, e.a_op_, deliveries("delivery-a-op"));
  for (const Caller* other : {&e.b_admin_, &e.b_op_}) {
    expect_service_denial(
        Code(monitoring(), &MS::RecordDeliveries, *other, deliveries("delivery-" + other->tag)),
        other->tag + " records deliveries of A's service");
  }

  // Voids: A's deliveries are voided by A only; the call is in A's void log and audited.
  mv1::VoidInputsRequest void_req;
  void_req.set_reason("recorded twice by the import job");
  void_req.mutable_deliveries()->set_service_id(kAService);
  void_req.mutable_deliveries()->add_application_ids("app-delivery-a-op");
  for (const Caller* other : {&e.b_admin_, &e.b_op_}) {
    expect_service_denial(Code(monitoring(), &MS::VoidInputs, *other, void_req),
                          other->tag + " voids A's delivery");
  }
  EXPECT_EQ(Must(monitoring(), &MS::VoidInputs, e.a_op_, void_req).voided(), 1);
  mv1::ListVoidsRequest log_req;
  log_req.set_agency_id(kA);
  const auto log = Must(monitoring(), &MS::ListVoids, e.a_admin_, log_req);
  ASSERT_EQ(log.voids_size(), 1);
  EXPECT_EQ(log.voids(0).reason(), "recorded twice by the import job");
  EXPECT_EQ(log.voids(0).subject(), e.a_op_.subject);
  expect_service_denial(Code(monitoring(), &MS::ListVoids, e.b_admin_, log_req),
                        "b_admin reads A's void log");
  EXPECT_TRUE(PollUntil(
      [&] {
        for (const auto& r : AuditRecords(e.root_, kA)) {
          if (r.method() == "/simpul.monitoring.v1.Monitoring/VoidInputs" && r.outcome() == "OK" &&
              r.subject() == e.a_op_.subject && r.resource() == kAService) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(10)))
      << "the void is not in A's audit trail";
}

// ---------------------------------------------------------------------------------------------
// 2. Identity cannot be forged.

TEST_F(GatewayE2ETest, CallerSentIdentityIsIgnored) {
  Environment& e = env();
  common::v1::Principal root;
  root.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  root.set_subject("forger");
  // Validly signed with the gateway's key: the registry would accept it if it reached it.
  const std::string forged =
      e.tokens().TokenFor(root, "simpul-registry", absl::Now() + absl::Minutes(5));
  ASSERT_TRUE(e.tokens().Verifier("simpul-registry").Verify(forged, absl::Now()).ok());

  rv1::CreateAgencyRequest create;
  *create.mutable_agency() = MakeAgency("kab-palsu", rv1::AGENCY_KIND_REGENCY, "13.06");
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("x-simpul-identity", forged);
    rv1::CreateAgencyResponse resp;
    grpc::Status s = registry()->CreateAgency(&ctx, create, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_THAT(s.error_message(),
                HasSubstr(NeedsCredentials("/simpul.registry.v1.Registry/CreateAgency")));
  }
  {  // An operator with a forged admin identity stays an operator.
    auto ctx = Environment::Ctx(e.a_op_);
    ctx->AddMetadata("x-simpul-identity", forged);
    rv1::CreateAgencyResponse resp;
    grpc::Status s = registry()->CreateAgency(ctx.get(), create, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("the role agency_operator may not call"));
  }
  {  // A read the policy lets through reaches the service as public: no drafts.
    const rv1::StandardVersion draft = e.DraftInConsultation(e.a_op_, kAService);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("x-simpul-identity", forged);
    rv1::GetStandardVersionRequest req;
    req.set_id(draft.id());
    rv1::GetStandardVersionResponse resp;
    grpc::Status s = registry()->GetStandardVersion(&ctx, req, &resp);
    EXPECT_FALSE(s.ok()) << "a public caller read agency A's unadopted standard";
    EXPECT_FALSE(IsGatewayRefusal(s)) << s.error_message();
    // The same read as agency A works.
    Must(registry(), &rv1::Registry::Stub::GetStandardVersion, e.a_op_, req);
  }
  {  // The agency's list of cases is not opened by a forged coordinator token either.
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("x-simpul-identity", forged);
    cv1::ListComplaintsRequest req;
    req.set_unrouted(true);
    cv1::ListComplaintsResponse resp;
    grpc::Status s = complaints()->ListComplaints(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << s.error_message();
  }
}

// What a backend receives: the gateway's own identity token (never the caller's), no caller
// credentials, and the request id. A capturing backend stands in for the registry behind a
// second gateway.
TEST_F(GatewayE2ETest, BackendsGetTheGatewaysIdentityAndTheRequestId) {
  Environment& e = env();
  CapturingBackend backend;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int backend_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &backend_port);
  builder.RegisterCallbackGenericService(&backend);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  server->GetHealthCheckService()->SetServingStatus("simpul.registry.v1.Registry", true);
  // Without the read cache: its watch of the change feed would be one more call here.
  ServiceProcess* gateway = e.StartGateway(
      "gateway-capture", e.redis().port(),
      {absl::StrCat("--registry_addr=127.0.0.1:", backend_port), "--read_cache=false"});
  ASSERT_NE(gateway, nullptr);
  auto stub = rv1::Registry::NewStub(gateway->channel());

  common::v1::Principal root;
  root.set_role(common::v1::ROLE_PLATFORM_ADMIN);
  root.set_subject("forger");
  const std::string forged =
      e.tokens().TokenFor(root, "simpul-registry", absl::Now() + absl::Minutes(5));

  rv1::GetAgencyRequest req;
  req.set_id(kA);
  rv1::GetAgencyResponse resp;
  const absl::Time caller_deadline = absl::Now() + absl::Seconds(7);
  {  // public, with a forged identity and a request id
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(caller_deadline));
    ctx.AddMetadata("x-simpul-identity", forged);
    ctx.AddMetadata("x-request-id", "e2e-capture-0001");
    ctx.AddMetadata("x-custom-header", "passes");
    grpc::Status s = stub->GetAgency(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message() << gateway->Log();
    EXPECT_EQ(Get(CopyMetadata(ctx.GetServerInitialMetadata()), "x-request-id"),
              "e2e-capture-0001");
    EXPECT_EQ(Get(CopyMetadata(ctx.GetServerInitialMetadata()), "x-backend-saw-request-id"),
              "e2e-capture-0001");
  }
  std::string generated;
  {  // an operator's key, with a forged identity, and no request id
    auto ctx = Environment::Ctx(e.a_op_);
    ctx->AddMetadata("x-simpul-identity", forged);
    grpc::Status s = stub->GetAgency(ctx.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    generated = Get(CopyMetadata(ctx->GetServerInitialMetadata()), "x-request-id");
    EXPECT_EQ(generated.size(), 32u) << generated;
  }
  const auto calls = backend.calls();
  ASSERT_EQ(calls.size(), 2u);
  // The caller's deadline reached the backend.
  const absl::Time backend_deadline = backend.deadlines()[0];
  EXPECT_LE(backend_deadline, caller_deadline + absl::Milliseconds(100));
  EXPECT_GE(backend_deadline, caller_deadline - absl::Seconds(2));
  // The public call: no identity at all, the caller's request id, other headers kept.
  EXPECT_EQ(calls[0].count("x-simpul-identity"), 0u) << "the forged identity reached the backend";
  EXPECT_EQ(Get(calls[0], "x-request-id"), "e2e-capture-0001");
  EXPECT_EQ(calls[0].count("x-request-id"), 1u);
  EXPECT_EQ(Get(calls[0], "x-custom-header"), "passes");
  // The operator's call: exactly one identity, minted by the gateway for the key.
  ASSERT_EQ(calls[1].count("x-simpul-identity"), 1u);
  auto principal = e.tokens()
                       .Verifier("simpul-registry")
                       .Verify(Get(calls[1], "x-simpul-identity"), absl::Now());
  ASSERT_TRUE(principal.ok()) << principal.status();
  EXPECT_EQ(principal->audience(), "simpul-registry");
  const absl::Duration ttl =
      absl::FromUnixSeconds(principal->expire_time().seconds()) - absl::Now();
  EXPECT_GT(ttl, absl::Minutes(3)) << "minted for the gateway's identity_ttl (5 minutes)";
  EXPECT_LE(ttl, absl::Minutes(5));
  EXPECT_EQ(principal->role(), common::v1::ROLE_AGENCY_OPERATOR);
  EXPECT_EQ(principal->agency_id(), kA);
  EXPECT_EQ(principal->subject(), e.a_op_.subject);
  EXPECT_EQ(calls[1].count("authorization"), 0u) << "the caller's API key reached the backend";
  EXPECT_EQ(Get(calls[1], "x-request-id"), generated);
  EXPECT_THAT(gateway->Kill(), IsOk());
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
}

// ---------------------------------------------------------------------------------------------
// 3. Anonymous callers.

TEST_F(GatewayE2ETest, AnonymousCallersReadStandardsFileAndTrackOnly) {
  Environment& e = env();
  const Caller& anon = e.public_;
  using RS = rv1::Registry::Stub;
  using CS = cv1::Complaints::Stub;
  rv1::GetCurrentStandardRequest current;
  current.set_service_id(kAService);
  EXPECT_EQ(Must(registry(), &RS::GetCurrentStandard, anon, current).version().state(),
            rv1::STANDARD_STATE_ADOPTED);
  rv1::SearchStandardsRequest search;
  search.set_agency_id(kA);
  EXPECT_GE(Must(registry(), &RS::SearchStandards, anon, search).versions_size(), 1);
  mv1::GetFiguresRequest figures;
  figures.mutable_scope()->set_agency_id(kA);
  figures.mutable_period()->set_kind(mv1::PERIOD_KIND_YEAR);
  figures.mutable_period()->set_year(2026);
  figures.mutable_period()->set_index(1);
  Must(monitoring(), &mv1::Monitoring::Stub::GetFigures, anon, figures);

  const auto filed = FilePublic("gw-e2e-anon-1", kAService);
  cv1::TrackComplaintRequest track;
  track.set_tracking_code(filed.tracking_code());
  track.set_secret(filed.secret());
  EXPECT_EQ(Must(complaints(), &CS::TrackComplaint, anon, track).complaint().id(),
            filed.tracking_code());
  cv1::ReplyToComplaintRequest reply;
  reply.set_tracking_code(filed.tracking_code());
  reply.set_secret(filed.secret());
  reply.set_message("Nomor berkas saya 123");
  EXPECT_NE(Code(complaints(), &CS::ReplyToComplaint, anon, reply).error_code(),
            StatusCode::UNAUTHENTICATED);
  track.set_secret("wrong-secret-wrong-secret");
  EXPECT_EQ(Code(complaints(), &CS::TrackComplaint, anon, track).error_code(),
            StatusCode::NOT_FOUND);

  // Nothing else: writes and case reads need credentials, refused by the gateway.
  auto expect_needs_credentials = [](const grpc::Status& s, const std::string& method) {
    EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << method << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(NeedsCredentials(method)));
  };
  rv1::CreateAgencyRequest agency;
  *agency.mutable_agency() = MakeAgency("kab-anon", rv1::AGENCY_KIND_REGENCY, "13.07");
  expect_needs_credentials(Code(registry(), &RS::CreateAgency, anon, agency),
                           "/simpul.registry.v1.Registry/CreateAgency");
  expect_needs_credentials(
      Code(registry(), &RS::UpdateServiceUnit, anon, UnitUpdate(kAUnit, kA, "Anonim")),
      "/simpul.registry.v1.Registry/UpdateServiceUnit");
  rv1::CreateStandardVersionRequest create;
  create.set_service_id(kAService);
  expect_needs_credentials(Code(registry(), &RS::CreateStandardVersion, anon, create),
                           "/simpul.registry.v1.Registry/CreateStandardVersion");
  // A case read by code (Open311's GET requests/{id}): the public sees publicly listed cases
  // in their public view; of this one, not verified yet, only that it exists and its state.
  cv1::GetComplaintRequest get;
  get.set_id(filed.tracking_code());
  cv1::GetComplaintResponse minimal;
  ASSERT_TRUE(Call(complaints(), &CS::GetComplaint, anon, get, &minimal).ok());
  EXPECT_TRUE(minimal.public_complaint().unlisted());
  EXPECT_EQ(minimal.public_complaint().description(), "");
  cv1::VerifyComplaintRequest verify;
  verify.set_id(filed.tracking_code());
  expect_needs_credentials(Code(complaints(), &CS::VerifyComplaint, anon, verify),
                           "/simpul.complaints.v1.Complaints/VerifyComplaint");
  mv1::SubmitSurveyResponsesRequest survey;
  expect_needs_credentials(
      Code(monitoring(), &mv1::Monitoring::Stub::SubmitSurveyResponses, anon, survey),
      "/simpul.monitoring.v1.Monitoring/SubmitSurveyResponses");
  gv1::IssueApiKeyRequest issue;
  issue.mutable_principal()->set_role(common::v1::ROLE_PLATFORM_ADMIN);
  issue.set_label("anonymous wish");
  expect_needs_credentials(Code(admin(), &gv1::GatewayAdmin::Stub::IssueApiKey, anon, issue),
                           "/simpul.gateway.v1.GatewayAdmin/IssueApiKey");
  // A bad key is not anonymous: UNAUTHENTICATED for the key, not for the method.
  Caller bad = anon;
  bad.token = "k0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  grpc::Status s = Code(registry(), &RS::GetCurrentStandard, bad, current);
  EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("kunci API tidak valid"));  // an unknown caller
}

// ---------------------------------------------------------------------------------------------
// 4. Rate limits, shared by two replicas.

TEST_F(GatewayE2ETest, RateLimitIsSharedByReplicasAndSaysWhenToRetry) {
  Environment& e = env();
  // A Redis of their own, so that the main gateway's public budget is not touched.
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  RedisOptions options;
  options.port = (*redis)->port();
  RedisPool pool(options);
  auto store = ApiKeyStore::Create(&pool, ApiKeyStore::Options{});
  ASSERT_TRUE(store.ok());
  Caller admin;
  ASSERT_NO_FATAL_FAILURE(e.Issue("a_admin2", "agency_admin", kA, &admin, store->get()));

  const std::string limits = "--rate_limits=public=2/m burst 3";
  ServiceProcess* g1 = e.StartGateway("gateway-rl-1", (*redis)->port(), {limits});
  ServiceProcess* g2 = e.StartGateway("gateway-rl-2", (*redis)->port(), {limits});
  ASSERT_NE(g1, nullptr);
  ASSERT_NE(g2, nullptr);
  auto s1 = rv1::Registry::NewStub(g1->channel());
  auto s2 = rv1::Registry::NewStub(g2->channel());
  rv1::GetAgencyRequest req;
  req.set_id(kA);
  auto call = [&](rv1::Registry::Stub* stub, const Caller& who,
                  std::multimap<std::string, std::string>* trailing = nullptr) {
    auto ctx = Environment::Ctx(who);
    rv1::GetAgencyResponse resp;
    grpc::Status s = stub->GetAgency(ctx.get(), req, &resp);
    if (trailing != nullptr) *trailing = CopyMetadata(ctx->GetServerTrailingMetadata());
    return s;
  };
  // Burst 3 across both replicas: two here, one there.
  EXPECT_TRUE(call(s1.get(), e.public_).ok());
  EXPECT_TRUE(call(s1.get(), e.public_).ok());
  EXPECT_TRUE(call(s2.get(), e.public_).ok());
  for (auto* stub : {s2.get(), s1.get()}) {
    std::multimap<std::string, std::string> trailing;
    grpc::Status s = call(stub, e.public_, &trailing);
    EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    const std::string retry = Get(trailing, "retry-after");
    int seconds = 0;
    EXPECT_TRUE(absl::SimpleAtoi(retry, &seconds)) << "retry-after \"" << retry << "\"";
    EXPECT_GE(seconds, 1);
    EXPECT_LE(seconds, 30);  // one call per 30 s
  }
  // Another principal has its own budget.
  EXPECT_TRUE(call(s1.get(), admin).ok());
  EXPECT_TRUE(call(s2.get(), admin).ok());
}

// ---------------------------------------------------------------------------------------------
// 5. Audit.

TEST_F(GatewayE2ETest, AuditTrailListsMutatingAndRefusedCallsAndDetectsTampering) {
  Environment& e = env();
  // A refused call of each kind and one more write, with known request ids.
  auto with_id = [](const Caller& who, const std::string& id) {
    auto ctx = Environment::Ctx(who);
    ctx->AddMetadata("x-request-id", id);
    return ctx;
  };
  {
    auto ctx = with_id(e.b_op_, "e2e-audit-denied");
    rv1::UpdateServiceUnitResponse resp;
    EXPECT_EQ(registry()
                  ->UpdateServiceUnit(ctx.get(), UnitUpdate(kBUnit, kB, "Nama"), &resp)
                  .error_code(),
              StatusCode::PERMISSION_DENIED);
  }
  {
    auto ctx = with_id(e.public_, "e2e-audit-public");
    rv1::CreateAgencyRequest req;
    *req.mutable_agency() = MakeAgency("kab-audit", rv1::AGENCY_KIND_REGENCY, "13.08");
    rv1::CreateAgencyResponse resp;
    EXPECT_EQ(registry()->CreateAgency(ctx.get(), req, &resp).error_code(),
              StatusCode::UNAUTHENTICATED);
  }
  {
    auto ctx = with_id(e.a_admin_, "e2e-audit-write");
    rv1::UpdateServiceUnitResponse resp;
    grpc::Status s =
        registry()->UpdateServiceUnit(ctx.get(), UnitUpdate(kAUnit, kA, "Disdukcapil"), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  {  // a read is not audited
    auto ctx = with_id(e.a_admin_, "e2e-audit-read");
    rv1::GetAgencyRequest req;
    req.set_id(kA);
    rv1::GetAgencyResponse resp;
    EXPECT_TRUE(registry()->GetAgency(ctx.get(), req, &resp).ok());
  }
  // Appends run after the calls end: wait for them.
  auto find = [](const std::vector<gv1::AuditRecord>& records, const std::string& request_id) {
    const gv1::AuditRecord* found = nullptr;
    for (const auto& r : records) {
      if (r.request_id() == request_id) found = &r;
    }
    return found;
  };
  std::vector<gv1::AuditRecord> all;
  ASSERT_TRUE(PollUntil(
      [&] {
        all = AuditRecords(e.root_, "");
        return find(all, "e2e-audit-denied") && find(all, "e2e-audit-public") &&
               find(all, "e2e-audit-write");
      },
      absl::Seconds(10)));
  EXPECT_EQ(find(all, "e2e-audit-read"), nullptr);
  const gv1::AuditRecord* denied = find(all, "e2e-audit-denied");
  EXPECT_EQ(denied->outcome(), "PERMISSION_DENIED");
  EXPECT_EQ(denied->method(), "/simpul.registry.v1.Registry/UpdateServiceUnit");
  EXPECT_EQ(denied->subject(), e.b_op_.subject);
  EXPECT_EQ(denied->agency_id(), kB);
  EXPECT_EQ(denied->resource(), kBUnit);
  const gv1::AuditRecord* anon = find(all, "e2e-audit-public");
  EXPECT_EQ(anon->outcome(), "UNAUTHENTICATED");
  EXPECT_EQ(anon->subject(), "public");
  EXPECT_EQ(anon->resource(), "kab-audit");
  const gv1::AuditRecord* write = find(all, "e2e-audit-write");
  EXPECT_EQ(write->outcome(), "OK");
  EXPECT_EQ(write->subject(), e.a_admin_.subject);
  EXPECT_EQ(write->resource(), kAUnit);
  // The seeding's writes are there too (every agency, the platform's).
  std::set<std::string> agencies;
  for (const auto& r : all) agencies.insert(r.agency_id());
  EXPECT_TRUE(agencies.count(kA) && agencies.count(kB) && agencies.count(""));

  // An agency admin sees its own agency's records only, and may not ask for another's.
  const auto own = AuditRecords(e.a_admin_, "");
  EXPECT_NE(find(own, "e2e-audit-write"), nullptr);
  EXPECT_EQ(find(own, "e2e-audit-denied"), nullptr);
  for (const auto& r : own) EXPECT_EQ(r.agency_id(), kA) << r.ShortDebugString();
  grpc::Status other;
  AuditRecords(e.a_admin_, kB, &other);
  EXPECT_EQ(other.error_code(), StatusCode::PERMISSION_DENIED) << other.error_message();
  EXPECT_FALSE(IsGatewayRefusal(other)) << other.error_message();
  // Operators do not read the audit trail (the policy).
  AuditRecords(e.a_op_, "", &other);
  EXPECT_EQ(other.error_code(), StatusCode::PERMISSION_DENIED);

  // The operator's refused listing is audited too; once it is listed no append is in flight
  // (the calls above are all answered), so the chain can be verified and rewritten safely.
  ASSERT_TRUE(PollUntil(
      [&] {
        for (const auto& r : AuditRecords(e.root_, kA)) {
          if (r.subject() == e.a_op_.subject && r.outcome() == "PERMISSION_DENIED" &&
              r.method() == "/simpul.gateway.v1.GatewayAdmin/ListAuditRecords") {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(10)));
  // ... and nothing else is on its way: the log's length holds still.
  const std::string log_key = "simpul:gw:{a}:log";
  auto length = [&] {
    auto reply = e.pool_->Command({"XLEN", log_key});
    return reply.ok() ? reply->integer : -1;
  };
  ASSERT_TRUE(PollUntil(
      [&] {
        const long long before = length();
        absl::SleepFor(absl::Milliseconds(300));
        return before > 0 && length() == before;
      },
      absl::Seconds(10)));
  // The chain verifies.
  const std::string redis_flag = absl::StrCat("127.0.0.1:", e.redis().port());
  auto verify = [&] {
    return RunCommand({SIMPUL_AUDIT_BIN, "--redis", redis_flag, "verify"}, absl::Seconds(20));
  };
  auto [ok_code, ok_out] = verify();
  EXPECT_EQ(ok_code, 0) << ok_out;
  EXPECT_THAT(ok_out, HasSubstr("ok"));

  // Tamper: rewrite the stream with one record's outcome changed (its hash kept).
  auto entries = e.pool_->Command({"XRANGE", log_key, "-", "+"});
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_GE(entries->elements.size(), 3u);
  const size_t victim = entries->elements.size() / 2;
  std::string original;
  std::string victim_id;
  int64_t victim_sequence = 0;
  auto rewrite = [&](bool tampered) {
    ASSERT_TRUE(e.pool_->Command({"DEL", log_key}).ok());
    for (size_t i = 0; i < entries->elements.size(); ++i) {
      const RedisReply& entry = entries->elements[i];
      ASSERT_EQ(entry.elements.size(), 2u);
      const std::string& id = entry.elements[0].str;
      ASSERT_EQ(entry.elements[1].elements.size(), 2u);  // r <record>
      std::string bytes = entry.elements[1].elements[1].str;
      if (i == victim && tampered) {
        gv1::AuditRecord record;
        ASSERT_TRUE(record.ParseFromString(bytes));
        original = bytes;
        victim_id = id;
        victim_sequence = record.sequence();
        record.set_outcome(record.outcome() == "OK" ? "PERMISSION_DENIED" : "OK");
        bytes = record.SerializeAsString();
      }
      auto added = e.pool_->Command({"XADD", log_key, id, "r", bytes});
      ASSERT_TRUE(added.ok() && !added->is_error()) << id;
    }
  };
  ASSERT_NO_FATAL_FAILURE(rewrite(/*tampered=*/true));
  auto [bad_code, bad_out] = verify();
  EXPECT_EQ(bad_code, 1) << bad_out;
  EXPECT_THAT(bad_out, HasSubstr(absl::StrCat("altered at record ", victim_sequence))) << bad_out;
  // Put it back: the chain verifies again.
  ASSERT_NO_FATAL_FAILURE(rewrite(/*tampered=*/false));
  auto [again_code, again_out] = verify();
  EXPECT_EQ(again_code, 0) << again_out;
}

// Two replicas append to one chain at once; it stays linear and verifies.
TEST_F(GatewayE2ETest, ReplicasAppendingAtOnceKeepOneVerifiableChain) {
  Environment& e = env();
  ServiceProcess* replica = e.StartGateway("gateway-replica", e.redis().port(),
                                           {std::string("--rate_limits=") + kLooseLimits});
  ASSERT_NE(replica, nullptr);
  auto stub2 = rv1::Registry::NewStub(replica->channel());
  constexpr int kPerReplica = 25;
  std::vector<std::thread> threads;
  for (int i = 0; i < 2 * kPerReplica; ++i) {
    threads.emplace_back([&, i] {
      rv1::Registry::Stub* stub = i % 2 == 0 ? registry() : stub2.get();
      // Alternately a write refused by the gateway (public) and one of agency A's admin that
      // the service refuses (B's unit): both audited.
      const Caller& who = i % 4 < 2 ? e.public_ : e.a_admin_;
      auto ctx = Environment::Ctx(who);
      ctx->AddMetadata("x-request-id", absl::StrCat("concurrent-", i));
      rv1::CreateServiceRequest req;
      req.mutable_service()->set_id(absl::StrCat("svc-", i));
      req.mutable_service()->set_unit_id(kBUnit);
      req.mutable_service()->set_name("Layanan");
      rv1::CreateServiceResponse resp;
      grpc::Status s = stub->CreateService(ctx.get(), req, &resp);
      EXPECT_FALSE(s.ok()) << i;
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> seen;
  ASSERT_TRUE(PollUntil(
      [&] {
        seen.clear();
        for (const auto& r : AuditRecords(e.root_, "")) {
          if (absl::StartsWith(r.request_id(), "concurrent-")) seen.insert(r.request_id());
        }
        return seen.size() == 2 * kPerReplica;
      },
      absl::Seconds(15), absl::Milliseconds(100)))
      << seen.size() << " of " << 2 * kPerReplica << " records";
  auto [code, out] = RunCommand(
      {SIMPUL_AUDIT_BIN, "--redis", absl::StrCat("127.0.0.1:", e.redis().port()), "verify"},
      absl::Seconds(20));
  EXPECT_EQ(code, 0) << out;
}

// A read refused by the service (agency B asking for agency A's case) is a refused call too.
TEST_F(GatewayE2ETest, ReadsRefusedByTheServiceAreAudited) {
  Environment& e = env();
  const auto filed = FilePublic("gw-e2e-audit-read-1", kAService);
  cv1::GetComplaintRequest get;
  get.set_id(filed.tracking_code());
  {
    auto ctx = Environment::Ctx(e.b_op_);
    ctx->AddMetadata("x-request-id", "snooping-read");
    cv1::GetComplaintResponse resp;
    EXPECT_EQ(complaints()->GetComplaint(ctx.get(), get, &resp).error_code(),
              StatusCode::PERMISSION_DENIED);
  }
  {
    auto ctx = Environment::Ctx(e.b_admin_);
    ctx->AddMetadata("x-request-id", "snooping-audit");
    gv1::ListAuditRecordsRequest req;
    req.set_agency_id(kA);
    gv1::ListAuditRecordsResponse resp;
    EXPECT_EQ(admin()->ListAuditRecords(ctx.get(), req, &resp).error_code(),
              StatusCode::PERMISSION_DENIED);
  }
  std::set<std::string> outcomes;
  EXPECT_TRUE(PollUntil(
      [&] {
        outcomes.clear();
        for (const auto& r : AuditRecords(e.root_, kB)) {
          if (r.request_id() == "snooping-read" || r.request_id() == "snooping-audit") {
            outcomes.insert(r.request_id() + " " + r.outcome());
          }
        }
        return outcomes.size() == 2;
      },
      absl::Seconds(5)))
      << ::testing::PrintToString(outcomes);
}

// ---------------------------------------------------------------------------------------------
// 6. Request ids.

TEST_F(GatewayE2ETest, RequestIdsComeBackAndAreGeneratedWhenMissing) {
  Environment& e = env();
  rv1::GetAgencyRequest req;
  req.set_id(kA);
  auto call = [&](const Caller& who, const std::string& id) {
    auto ctx = Environment::Ctx(who);
    if (!id.empty()) ctx->AddMetadata("x-request-id", id);
    rv1::GetAgencyResponse resp;
    grpc::Status s = registry()->GetAgency(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return Get(CopyMetadata(ctx->GetServerInitialMetadata()), "x-request-id");
  };
  EXPECT_EQ(call(e.public_, "client-chosen-id-42"), "client-chosen-id-42");
  EXPECT_EQ(call(e.a_admin_, "a:b.c_d-e"), "a:b.c_d-e");
  const std::string g1 = call(e.public_, "");
  const std::string g2 = call(e.public_, "");
  EXPECT_EQ(g1.size(), 32u) << g1;
  EXPECT_NE(g1, g2);
  // A malformed id is replaced.
  const std::string replaced = call(e.public_, "has spaces and ;");
  EXPECT_EQ(replaced.size(), 32u) << replaced;
  EXPECT_EQ(call(e.public_, std::string(129, 'x')).size(), 32u);

  // Refused calls carry it too (in the initial or the trailing metadata).
  {
    auto ctx = Environment::Ctx(e.public_);
    ctx->AddMetadata("x-request-id", "refused-call-id");
    rv1::CreateAgencyRequest create;
    rv1::CreateAgencyResponse resp;
    EXPECT_EQ(registry()->CreateAgency(ctx.get(), create, &resp).error_code(),
              StatusCode::UNAUTHENTICATED);
    const auto initial = CopyMetadata(ctx->GetServerInitialMetadata());
    const auto trailing = CopyMetadata(ctx->GetServerTrailingMetadata());
    EXPECT_EQ(Get(initial, "x-request-id") + Get(trailing, "x-request-id"), "refused-call-id");
  }
  // A write's id reaches the audit record (the id the service was called with: see
  // BackendsGetTheGatewaysIdentityAndTheRequestId for the backend side).
  {
    auto ctx = Environment::Ctx(e.a_admin_);
    ctx->AddMetadata("x-request-id", "write-call-id-7");
    rv1::UpdateServiceUnitResponse resp;
    EXPECT_TRUE(registry()
                    ->UpdateServiceUnit(ctx.get(), UnitUpdate(kAUnit, kA, "Disdukcapil"), &resp)
                    .ok());
  }
  EXPECT_TRUE(PollUntil(
      [&] {
        for (const auto& r : AuditRecords(e.root_, kA)) {
          if (r.request_id() == "write-call-id-7" && r.outcome() == "OK") return true;
        }
        return false;
      },
      absl::Seconds(10)));
}

// ---------------------------------------------------------------------------------------------
// 7. Streaming.

TEST_F(GatewayE2ETest, WatchStreamsPassThroughTheGateway) {
  Environment& e = env();
  // Two watchers of agency A: the public, and A's operator (who may see who made a change).
  struct Watcher {
    const Caller* who;
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<rv1::WatchStandardsResponse>> reader;
  };
  Watcher watchers[2];
  watchers[0].who = &e.public_;
  watchers[1].who = &e.a_op_;
  rv1::WatchStandardsRequest req;
  req.set_agency_id(kA);
  for (Watcher& w : watchers) {
    w.ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    if (!w.who->token.empty()) w.ctx.AddMetadata("authorization", "Bearer " + w.who->token);
    w.reader = registry()->WatchStandards(&w.ctx, req);
    // The cursor arrives before any event, through the gateway.
    w.reader->WaitForInitialMetadata();
    const auto initial = CopyMetadata(w.ctx.GetServerInitialMetadata());
    EXPECT_FALSE(Get(initial, "x-simpul-cursor").empty()) << w.who->tag;
    EXPECT_EQ(Get(initial, "x-request-id").size(), 32u) << w.who->tag;
  }
  // A change through the gateway.
  Must(registry(), &rv1::Registry::Stub::UpdateServiceUnit, e.a_admin_,
       UnitUpdate(kAUnit, kA, "Disdukcapil Padang Pariaman"));
  for (Watcher& w : watchers) {
    rv1::WatchStandardsResponse event;
    ASSERT_TRUE(w.reader->Read(&event)) << w.who->tag;
    EXPECT_EQ(event.event().action(), "UpdateServiceUnit");
    // The actor is the identity the gateway minted for A's admin key, shown to A only.
    EXPECT_EQ(event.event().actor(), w.who == &e.a_op_ ? e.a_admin_.subject : "") << w.who->tag;
    ASSERT_EQ(event.event().objects_size(), 1);
    EXPECT_EQ(event.event().objects(0).unit().name(), "Disdukcapil Padang Pariaman");
    w.ctx.TryCancel();
    while (w.reader->Read(&event)) {
    }
    EXPECT_EQ(w.reader->Finish().error_code(), StatusCode::CANCELLED);
  }

  // Monitoring.Watch: the first message is the current figures.
  grpc::ClientContext mctx;
  mctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  mv1::WatchRequest watch;
  watch.mutable_scope()->set_agency_id(kA);
  watch.mutable_period()->set_kind(mv1::PERIOD_KIND_YEAR);
  watch.mutable_period()->set_year(2026);
  watch.mutable_period()->set_index(1);
  mctx.AddMetadata("authorization", "Bearer " + e.dashboard_.token);
  auto figures = monitoring()->Watch(&mctx, watch);
  mv1::WatchResponse first;
  ASSERT_TRUE(figures->Read(&first));
  EXPECT_EQ(first.figures().scope().agency_id(), kA);
  EXPECT_TRUE(first.figures().has_computed_time());
  mctx.TryCancel();
  while (figures->Read(&first)) {
  }
  figures->Finish();
}

// Streams opened and abandoned at every stage, next to unary calls, leave the gateway serving.
TEST_F(GatewayE2ETest, StreamsCancelledAtEveryStageLeaveTheGatewayServing) {
  Environment& e = env();
  rv1::WatchStandardsRequest watch;
  watch.set_agency_id(kA);
  const std::string watch_bytes = watch.SerializeAsString();
  rv1::GetAgencyRequest get;
  get.set_id(kA);
  const std::string get_bytes = get.SerializeAsString();
  const std::string watch_method = "/simpul.registry.v1.Registry/WatchStandards";
  const std::string get_method = "/simpul.registry.v1.Registry/GetAgency";
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<RawCall>> calls;
    for (int i = 0; i < 40; ++i) {
      std::vector<std::pair<std::string, std::string>> md;
      if (i % 2 == 1) md.emplace_back("authorization", "Bearer " + e.a_op_.token);
      const bool stream = i % 3 != 0;
      calls.push_back(std::make_unique<RawCall>(
          e.generic_.get(), stream ? watch_method : get_method, stream ? watch_bytes : get_bytes,
          md, absl::Milliseconds(stream ? 100 + 15 * i : 5000)));
      // Some are abandoned at once (destroyed: cancelled), before the gate has even run.
      if (i % 5 == 4) calls.pop_back();
    }
    // A change while the streams are open: they get an event, some as they are cancelled.
    Must(registry(), &rv1::Registry::Stub::UpdateServiceUnit, e.a_admin_,
         UnitUpdate(kAUnit, kA, absl::StrCat("Disdukcapil putaran ", round)));
    for (size_t i = 0; i < calls.size(); i += 4) calls[i].reset();  // cancelled mid-stream
    for (auto& call : calls) {
      if (call != nullptr) {
        EXPECT_TRUE(call->WaitDone(absl::Seconds(15)));
      }
    }
  }
  EXPECT_TRUE(e.gateway_->running()) << e.gateway_->Log();
  rv1::GetAgencyResponse resp;
  EXPECT_TRUE(Call(registry(), &rv1::Registry::Stub::GetAgency, e.public_, get, &resp).ok());
  EXPECT_THAT(e.gateway_->Log(), Not(HasSubstr("\"level\":\"error\""))) << e.gateway_->Log();
}

// ---------------------------------------------------------------------------------------------
// 8. A killed backend.

TEST_F(GatewayE2ETest, KilledBackendIsUnavailableAndRecoveredWithoutRestartingTheGateway) {
  Environment& e = env();
  rv1::GetAgencyRequest get;
  get.set_id(kA);
  auto get_agency = [&] {
    auto ctx = Environment::Ctx(e.public_, absl::Seconds(10));
    rv1::GetAgencyResponse resp;
    return registry()->GetAgency(ctx.get(), get, &resp);
  };
  ASSERT_TRUE(get_agency().ok());
  // A watch open across the kill.
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  auto reader = registry()->WatchStandards(&ctx, rv1::WatchStandardsRequest());
  reader->WaitForInitialMetadata();
  ASSERT_FALSE(Get(CopyMetadata(ctx.GetServerInitialMetadata()), "x-simpul-cursor").empty());

  ASSERT_TRUE(e.cluster().registry().Stop(SIGKILL, absl::Seconds(5)).has_value());
  const absl::Time killed = absl::Now();
  rv1::WatchStandardsResponse event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), StatusCode::UNAVAILABLE);
  // The gateway's read cache goes off as soon as its own watch of the feed breaks (at the
  // same moment as the one above, give or take a thread switch).
  EXPECT_TRUE(PollUntil([&] { return get_agency().error_code() == StatusCode::UNAVAILABLE; },
                        absl::Seconds(2), absl::Milliseconds(20)));
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    grpc::Status s = get_agency();
    EXPECT_EQ(s.error_code(), StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "UNAVAILABLE should come quickly";
  }
  EXPECT_LT(absl::Now() - killed, absl::Seconds(6));

  ASSERT_THAT(e.cluster().registry().Restart(), IsOk());
  const absl::Time restarted = absl::Now();
  ASSERT_TRUE(
      PollUntil([&] { return get_agency().ok(); }, absl::Seconds(10), absl::Milliseconds(100)))
      << "the gateway did not recover";
  EXPECT_LT(absl::Now() - restarted, absl::Seconds(5));
  // The watch can be opened again.
  grpc::ClientContext again;
  again.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto reopened = registry()->WatchStandards(&again, rv1::WatchStandardsRequest());
  reopened->WaitForInitialMetadata();
  EXPECT_FALSE(Get(CopyMetadata(again.GetServerInitialMetadata()), "x-simpul-cursor").empty());
  again.TryCancel();
  while (reopened->Read(&event)) {
  }
  reopened->Finish();
}

// ---------------------------------------------------------------------------------------------
// 9. GatewayAdmin.

TEST_F(GatewayE2ETest, KeysIssuedUsedAndRevokedThroughGatewayAdmin) {
  Environment& e = env();
  using GS = gv1::GatewayAdmin::Stub;
  gv1::IssueApiKeyRequest issue;
  issue.mutable_principal()->set_role(common::v1::ROLE_DASHBOARD);
  issue.set_label("Dasbor KemenPANRB");
  auto issued = Must(admin(), &GS::IssueApiKey, e.root_, issue);
  ASSERT_FALSE(issued.token().empty());
  EXPECT_EQ(issued.key().created_by(), e.root_.subject);
  Caller dash = {"new_dashboard",  "dashboard", "", issued.token(), "key:" + issued.key().id(),
                 issued.key().id()};
  // Used: as x-api-key this time.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("x-api-key", dash.token);
    rv1::GetAgencyRequest req;
    req.set_id(kA);
    rv1::GetAgencyResponse resp;
    EXPECT_TRUE(registry()->GetAgency(&ctx, req, &resp).ok());
  }
  rv1::CreateAgencyRequest create;
  *create.mutable_agency() = MakeAgency("kab-dash", rv1::AGENCY_KIND_REGENCY, "13.09");
  grpc::Status s = Code(registry(), &rv1::Registry::Stub::CreateAgency, dash, create);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("the role dashboard may not call"));
  gv1::ListApiKeysRequest list;
  list.mutable_page()->set_page_size(500);
  bool listed = false;
  const gv1::ListApiKeysResponse all_keys = Must(admin(), &GS::ListApiKeys, e.root_, list);
  for (const auto& k : all_keys.keys()) {
    listed = listed || k.id() == dash.key_id;
  }
  EXPECT_TRUE(listed);

  // Revoked through the API: refused at once by this gateway.
  gv1::RevokeApiKeyRequest revoke;
  revoke.set_id(dash.key_id);
  EXPECT_EQ(Must(admin(), &GS::RevokeApiKey, e.root_, revoke).key().revoked_by(), e.root_.subject);
  mv1::GetFiguresRequest figures;
  figures.mutable_scope()->set_agency_id(kA);
  figures.mutable_period()->set_kind(mv1::PERIOD_KIND_YEAR);
  figures.mutable_period()->set_year(2026);
  figures.mutable_period()->set_index(1);
  absl::SleepFor(absl::Milliseconds(300));  // past --api_key_cache_ttl=200ms in any case
  s = Code(monitoring(), &mv1::Monitoring::Stub::GetFigures, dash, figures);
  EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED);
  // Who calls with a revoked key is not known: the default text is Bahasa Indonesia.
  EXPECT_THAT(s.error_message(), HasSubstr("telah dicabut"));

  // Revoked behind the gateway's back (simpul-apikey, another process): refused once the
  // gateway's cache entry expires (200 ms).
  Must(monitoring(), &mv1::Monitoring::Stub::GetFigures, e.web_channel_, figures);
  ASSERT_TRUE(e.keys_->Revoke(e.web_channel_.key_id, "cli:operator").ok());
  const absl::Time revoked = absl::Now();
  ASSERT_TRUE(PollUntil(
      [&] {
        return Code(monitoring(), &mv1::Monitoring::Stub::GetFigures, e.web_channel_, figures)
                   .error_code() == StatusCode::UNAUTHENTICATED;
      },
      absl::Seconds(5), absl::Milliseconds(20)));
  EXPECT_LT(absl::Now() - revoked, absl::Seconds(2));

  // An agency admin issues its own agency's staff keys only.
  gv1::IssueApiKeyRequest own;
  own.mutable_principal()->set_role(common::v1::ROLE_AGENCY_OPERATOR);
  own.mutable_principal()->set_agency_id(kA);
  own.set_label("Loket 2");
  auto op_key = Must(admin(), &GS::IssueApiKey, e.a_admin_, own);
  EXPECT_EQ(op_key.key().principal().agency_id(), kA);
  Caller op2 = {"a_op2",        "agency_operator",          kA,
                op_key.token(), "key:" + op_key.key().id(), op_key.key().id()};
  cv1::ListComplaintsRequest inbox;
  inbox.set_agency_id(kA);
  Must(complaints(), &cv1::Complaints::Stub::ListComplaints, op2, inbox);
  gv1::IssueApiKeyRequest foreign = own;
  foreign.mutable_principal()->set_agency_id(kB);
  s = Code(admin(), &GS::IssueApiKey, e.a_admin_, foreign);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();
  gv1::IssueApiKeyRequest platform;
  platform.mutable_principal()->set_role(common::v1::ROLE_PLATFORM_ADMIN);
  platform.set_label("escalation");
  s = Code(admin(), &GS::IssueApiKey, e.a_admin_, platform);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();
  // ... and revokes its own agency's keys, not another's.
  revoke.set_id(e.b_op_.key_id);
  s = Code(admin(), &GS::RevokeApiKey, e.a_admin_, revoke);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();
  revoke.set_id(op2.key_id);
  Must(admin(), &GS::RevokeApiKey, e.a_admin_, revoke);
  // Its listing holds its agency's keys only.
  const gv1::ListApiKeysResponse own_keys = Must(admin(), &GS::ListApiKeys, e.a_admin_, list);
  EXPECT_GE(own_keys.keys_size(), 2);
  for (const auto& k : own_keys.keys()) {
    EXPECT_EQ(k.principal().agency_id(), kA) << k.ShortDebugString();
  }
}

// An unknown method of the gateway's own service, called by a role the policy lets call
// GatewayAdmin/*.
TEST_F(GatewayE2ETest, UnknownGatewayAdminMethodIsUnimplemented) {
  Environment& e = env();
  RawCall call(e.generic_.get(), "/simpul.gateway.v1.GatewayAdmin/NoSuchMethod", "",
               {{"authorization", "Bearer " + e.root_.token}}, absl::Seconds(5));
  ASSERT_TRUE(call.WaitDone(absl::Seconds(5)));
  EXPECT_EQ(call.status().error_code(), StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(e.gateway_->running());
}

// ---------------------------------------------------------------------------------------------
// 10. The REST/JSON front of the binary: the same services behind the same gate.

TEST_F(GatewayE2ETest, RestFrontServesTheServicesBehindTheSameGate) {
  Environment& e = env();
  const int port = e.rest_port_;
  auto bearer = [](const Caller& who) {
    return std::map<std::string, std::string>{{"authorization", "Bearer " + who.token}};
  };
  // A public read, with the caller's request id back.
  HttpResponse standard = HttpDo(port, "GET", absl::StrCat("/v1/services/", kAService, "/standard"),
                                 "", {{"x-request-id", "rest-read-1"}});
  ASSERT_EQ(standard.status, 200) << standard.body;
  EXPECT_EQ(standard.Str("version.service_id"), kAService) << standard.body;
  EXPECT_EQ(standard.Header("x-request-id"), "rest-read-1");

  // A filing by a channel key over REST, then the agency's inbox; the other agency and the
  // anonymous caller are refused, as over gRPC.
  HttpResponse filed = HttpDo(
      port, "POST", "/v1/complaints",
      absl::StrCat(R"({"idempotency_key": "rest-e2e-0001", "report_type": "REPORT_TYPE_COMPLAINT",
                 "channel": "CHANNEL_WEB", "service_id": ")",
                   kAService, R"(", "description": "Loket tutup sebelum jam layanan berakhir"})"),
      {{"authorization", "Bearer " + e.web_channel_.token}, {"x-request-id", "rest-file-1"}});
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string code = filed.Str("tracking_code");
  ASSERT_FALSE(code.empty()) << filed.body;
  HttpResponse inbox =
      HttpDo(port, "GET", "/v1/complaints?states=STATE_RECEIVED", "", bearer(e.a_op_));
  ASSERT_EQ(inbox.status, 200) << inbox.body;
  EXPECT_THAT(inbox.body, HasSubstr(code));
  HttpResponse other =
      HttpDo(port, "GET", absl::StrCat("/v1/complaints/", code), "", bearer(e.b_op_));
  EXPECT_EQ(other.status, 403) << other.body;
  HttpResponse history = HttpDo(port, "GET", absl::StrCat("/v1/complaints/", code, "/history"));
  EXPECT_EQ(history.status, 401) << history.body;
  EXPECT_EQ(history.Str("status"), "UNAUTHENTICATED");
  HttpResponse bad_key = HttpDo(port, "GET", "/v1/agencies", "",
                                {{"authorization", "Bearer k0123456789abcdef.AAAAAAAAAAAAAAAA"}});
  EXPECT_EQ(bad_key.status, 401) << bad_key.body;
  // The service's field violations come back by name.
  HttpResponse invalid = HttpDo(port, "POST", "/v1/complaints", R"({"channel": "CHANNEL_WEB"})");
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  EXPECT_THAT(invalid.ViolationFields(), ::testing::Contains("description"));

  // Deliveries over REST get one answer each (issue #15). Received Mon 2 March 2026 08:00 WIB;
  // A's standard (1 working day, effective 1 February) promises by the end of the next working
  // day, Tue 3 March 23:59:59 WIB = 16:59:59Z; completed Tue 3 March 10:00 WIB: on time.
  HttpResponse recorded = HttpDo(
      port, "POST", "/v1/deliveries",
      absl::StrCat(R"({"deliveries": [{"idempotency_key": "rest-dlv-0001", "application_id":)"
                   R"( "REST-1", "service_id": ")",
                   kAService,
                   R"(", "received_time": "2026-03-02T01:00:00Z",)"
                   R"( "completed_time": "2026-03-03T03:00:00Z"}]})"),
      bearer(e.a_op_));
  ASSERT_EQ(recorded.status, 200) << recorded.body;
  ASSERT_EQ(recorded.json.fields().count("results"), 1u) << recorded.body;
  const auto& results = recorded.json.fields().at("results").list_value();
  ASSERT_EQ(results.values_size(), 1) << recorded.body;
  const auto& answer = results.values(0).struct_value().fields();
  auto text = [&answer](const std::string& field) {
    auto it = answer.find(field);
    return it == answer.end() ? std::string() : it->second.string_value();
  };
  EXPECT_EQ(text("application_id"), "REST-1") << recorded.body;
  EXPECT_EQ(text("timeliness"), "TIMELINESS_ON_TIME") << recorded.body;
  EXPECT_EQ(text("deadline"), "2026-03-03T16:59:59Z") << recorded.body;
  // v1, or a later version adopted by another test of this environment (also 1 working day).
  EXPECT_THAT(text("standard_version_id"), HasSubstr("akta-kelahiran.v")) << recorded.body;

  // GatewayAdmin over REST (served in process, gated by itself).
  HttpResponse keys = HttpDo(port, "GET", "/v1/apiKeys", "", bearer(e.root_));
  ASSERT_EQ(keys.status, 200) << keys.body;
  EXPECT_THAT(keys.body, HasSubstr(e.a_op_.key_id));
  EXPECT_THAT(keys.body, Not(HasSubstr(e.a_op_.token)));
  EXPECT_EQ(HttpDo(port, "GET", "/v1/apiKeys").status, 401);
  EXPECT_EQ(HttpDo(port, "GET", "/v1/apiKeys", "", bearer(e.a_op_)).status, 403);

  // The REST filing and the refused read are in the audit trail, with their request ids.
  std::set<std::string> seen;
  EXPECT_TRUE(PollUntil(
      [&] {
        seen.clear();
        for (const auto& r : AuditRecords(e.root_, "")) {
          if (r.request_id() == "rest-file-1") {
            seen.insert(absl::StrCat(r.method(), " ", r.outcome(), " ", r.resource()));
          }
        }
        return !seen.empty();
      },
      absl::Seconds(5)));
  EXPECT_THAT(seen, ::testing::ElementsAre(absl::StrCat(
                        "/simpul.complaints.v1.Complaints/FileComplaint OK ", kAService)));

  // A stream over NDJSON: the registry's change feed from the start.
  simpul::testing::HttpConn conn(port);
  HttpResponse watch = conn.Do("GET", "/v1/standards:watch?cursor=0", "", {{"grpc-timeout", "2S"}});
  EXPECT_EQ(watch.status, 200) << watch.body;
  EXPECT_EQ(watch.Header("content-type"), "application/x-ndjson");
  EXPECT_THAT(watch.body, HasSubstr(kAService));
  EXPECT_THAT(watch.body, HasSubstr("DEADLINE_EXCEEDED"));  // the stream's end, as an item
}

// The complaint event feed over REST (issue #16): NDJSON and SSE through the gateway's
// policy, each caller in its view.
TEST_F(GatewayE2ETest, ComplaintEventFeedOverRestNdjsonAndServerSentEvents) {
  Environment& e = env();
  const int port = e.rest_port_;
  HttpResponse filed = HttpDo(
      port, "POST", "/v1/complaints",
      absl::StrCat(R"({"idempotency_key": "rest-feed-0001", "report_type": "REPORT_TYPE_COMPLAINT",
                 "channel": "CHANNEL_WEB", "service_id": ")",
                   kAService,
                   R"(", "description": "Loket pelayanan feed tidak buka",
                 "complainant": {"name": "Dewi Umpan", "phone": "+62 812 3333 4444"}})"),
      {{"authorization", "Bearer " + e.web_channel_.token}});
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string code = filed.Str("tracking_code");
  ASSERT_FALSE(code.empty()) << filed.body;

  // Watch: every retained event as the caller may see it, until the gateway's deadline ends
  // the stream (its end is a final item).
  auto watch = [&](const Caller& who, const std::string& accept) {
    std::map<std::string, std::string> headers = {{"grpc-timeout", "2S"}};
    if (!who.token.empty()) headers["authorization"] = "Bearer " + who.token;
    if (!accept.empty()) headers["accept"] = accept;
    simpul::testing::HttpConn conn(port);
    return conn.Do("GET", "/v1/complaintEvents:watch?cursor=0", "", headers);
  };
  // The channel that filed it: the public event over NDJSON, one JSON object a line.
  HttpResponse channel = watch(e.web_channel_, "");
  ASSERT_EQ(channel.status, 200) << channel.body;
  EXPECT_EQ(channel.Header("content-type"), "application/x-ndjson");
  EXPECT_FALSE(channel.Header("x-simpul-cursor").empty());
  int lines_with_code = 0;
  for (absl::string_view line : absl::StrSplit(channel.body, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct item;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &item).ok()) << line;
    if (!absl::StrContains(line, code)) continue;
    ++lines_with_code;
    EXPECT_TRUE(item.fields().count("public_event")) << line;
    EXPECT_FALSE(item.fields().count("event")) << line;
    EXPECT_TRUE(item.fields().count("cursor")) << line;
  }
  EXPECT_EQ(lines_with_code, 1) << channel.body;  // its filing
  EXPECT_THAT(channel.body, Not(HasSubstr("Dewi Umpan")));
  EXPECT_THAT(channel.body, Not(HasSubstr("3333 4444")));
  EXPECT_THAT(channel.body, Not(HasSubstr("region_code")));

  // The handling agency: the full event; the other agency and the public: nothing of it (a
  // SECRET case, not verified).
  HttpResponse a = watch(e.a_op_, "");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_THAT(a.body, HasSubstr(absl::StrCat("\"complaint_id\":\"", code, "\"")));
  EXPECT_THAT(a.body, HasSubstr("\"event\":"));
  HttpResponse b = watch(e.b_op_, "");
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_THAT(b.body, Not(HasSubstr(code)));
  HttpResponse anyone = watch(e.public_, "");
  ASSERT_EQ(anyone.status, 200) << anyone.body;
  EXPECT_THAT(anyone.body, Not(HasSubstr(code)));

  // Server-sent events: one "data:" item per event.
  HttpResponse sse = watch(e.web_channel_, "text/event-stream");
  ASSERT_EQ(sse.status, 200) << sse.body;
  EXPECT_EQ(sse.Header("content-type"), "text/event-stream");
  EXPECT_THAT(sse.body, HasSubstr("data: {\"cursor\":"));
  EXPECT_THAT(sse.body, HasSubstr(code));

  // A malformed cursor is an HTTP error before any event.
  HttpResponse bad = HttpDo(port, "GET", "/v1/complaintEvents:watch?cursor=garbage", "",
                            {{"authorization", "Bearer " + e.a_op_.token}});
  EXPECT_EQ(bad.status, 400) << bad.body;
}

// ---------------------------------------------------------------------------------------------
// 11. Open311 GeoReport v2: an unmodified client lists services, files and follows a report.

// The Calendar API (served by simpul-registry) is a public read through the gateway, over
// gRPC and REST, answered from deploy/holidays/2026.json (worked cases in the comments).
TEST_F(GatewayE2ETest, CalendarApiIsAPublicReadOverGrpcAndRest) {
  Environment& e = env();
  auto stub = calv1::Calendar::NewStub(e.channel_);
  // gRPC, no key. Thu 2026-03-19 10:00 WIB (03:00Z, Nyepi) + 3 working days: 20 CB, 21–22
  // weekend, 23–24 CB, Wed 25, Thu 26, Fri 27 → 2026-03-27T23:59:59+07:00 = 16:59:59Z.
  calv1::GetDeadlineRequest deadline;
  deadline.mutable_start_time()->set_seconds(1773889200);  // 2026-03-19T03:00:00Z
  deadline.set_amount(3);
  deadline.set_unit(calv1::DEADLINE_UNIT_WORKING_DAY);
  deadline.set_zone(common::v1::TIME_ZONE_WIB);
  calv1::GetDeadlineResponse d =
      Must(stub.get(), &calv1::Calendar::Stub::GetDeadline, e.public_, deadline);
  EXPECT_EQ(d.deadline_local_time(), "2026-03-27T23:59:59+07:00");
  EXPECT_EQ(d.deadline_time().seconds(), 1774630799);  // 1773889200 + 8 days 13:59:59
  EXPECT_EQ(d.decrees_size(), 1);
  // Mon 2026-03-23 is Cuti Bersama Idul Fitri.
  calv1::GetWorkingDayRequest day;
  day.set_date("2026-03-23");
  day.set_zone(common::v1::TIME_ZONE_WITA);
  calv1::GetWorkingDayResponse leave =
      Must(stub.get(), &calv1::Calendar::Stub::GetWorkingDay, e.a_op_, day);
  EXPECT_FALSE(leave.working_day());
  EXPECT_EQ(leave.holiday().name(), "Cuti Bersama Idul Fitri");
  calv1::ListHolidayYearsResponse years = Must(stub.get(), &calv1::Calendar::Stub::ListHolidayYears,
                                               e.public_, calv1::ListHolidayYearsRequest());
  ASSERT_EQ(years.years_size(), 1);
  EXPECT_EQ(years.years(0).day_count(), 25);
  // A bad request comes back with its fields named, from the registry through the gateway.
  calv1::GetDeadlineResponse ignored;
  calv1::GetDeadlineRequest bad = deadline;
  bad.set_amount(-2);
  bad.set_zone(common::v1::TIME_ZONE_UNSPECIFIED);
  grpc::Status refused =
      Call(stub.get(), &calv1::Calendar::Stub::GetDeadline, e.public_, bad, &ignored);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT) << refused.error_message();
  std::vector<std::string> fields;
  const common::v1::BadRequest violations = BadRequestOf(FromGrpcStatus(refused));
  for (const auto& v : violations.field_violations()) {
    fields.push_back(v.field());
  }
  EXPECT_THAT(fields, ::testing::ElementsAre("zone", "amount"));

  // REST, no key. The same deadline, the start given with its offset (%2B is '+').
  const int port = e.rest_port_;
  HttpResponse rest = HttpDo(port, "GET",
                             "/v1/calendar/deadline?start_time=2026-03-19T10:00:00%2B07:00&amount=3"
                             "&unit=DEADLINE_UNIT_WORKING_DAY&zone=TIME_ZONE_WIB");
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(rest.Str("deadline_local_time"), "2026-03-27T23:59:59+07:00") << rest.body;
  EXPECT_EQ(rest.Str("deadline_time"), "2026-03-27T16:59:59Z") << rest.body;
  EXPECT_EQ(rest.Str("deadline_date"), "2026-03-27");
  // 2026-03-27T15:30:00Z is Fri 22:30 WIB but Sat 28 00:30 WIT: not a working day in WIT.
  HttpResponse saturday =
      HttpDo(port, "GET", "/v1/calendar/working-day?time=2026-03-27T15:30:00Z&zone=TIME_ZONE_WIT");
  ASSERT_EQ(saturday.status, 200) << saturday.body;
  EXPECT_EQ(saturday.Str("weekday"), "Saturday") << saturday.body;
  EXPECT_EQ(saturday.Str("weekend"), "true") << saturday.body;
  EXPECT_EQ(saturday.Str("date"), "2026-03-28") << saturday.body;
  // Nyepi week, counted: after Tue 17 March up to Tue 31 March → 25, 26, 27, 30, 31 = 5.
  HttpResponse count = HttpDo(port, "GET",
                              "/v1/calendar/working-day-count?from_time=2026-03-17T02:00:00Z"
                              "&to_time=2026-03-31T02:00:00Z&zone=TIME_ZONE_WIB");
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(count.Str("working_days"), "5") << count.body;
  HttpResponse list = HttpDo(port, "GET", "/v1/calendar/years?year=2026");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_THAT(list.body, HasSubstr("Hari Suci Nyepi (Tahun Baru Saka 1948)"));
  EXPECT_EQ(HttpDo(port, "GET", "/v1/calendar/years?year=2031").status, 404);
  // Bad input: 400 naming each field.
  HttpResponse bad_date =
      HttpDo(port, "GET", "/v1/calendar/working-day?date=2026-02-30&zone=TIME_ZONE_WIB");
  EXPECT_EQ(bad_date.status, 400) << bad_date.body;
  EXPECT_THAT(bad_date.ViolationFields(), ::testing::ElementsAre("date"));
  HttpResponse bad_deadline =
      HttpDo(port, "GET", "/v1/calendar/deadline?amount=-1&unit=DEADLINE_UNIT_HOUR");
  EXPECT_EQ(bad_deadline.status, 400) << bad_deadline.body;
  EXPECT_THAT(bad_deadline.ViolationFields(),
              ::testing::ElementsAre("start_time", "zone", "amount"));
}

TEST_F(GatewayE2ETest, Open311ClientFilesAndFollowsAComplaint) {
  Environment& e = env();
  const int port = e.rest_port_;
  const std::map<std::string, std::string> form = {
      {"content-type", "application/x-www-form-urlencoded"}};

  // The discovery document names this API at the configured URL, never at the Host the
  // request names.
  const std::map<std::string, std::string> evil_host = {{"host", "evil.example\"><x>"}};
  HttpResponse discovery = HttpDo(port, "GET", "/open311/discovery.json", "", evil_host);
  ASSERT_EQ(discovery.status, 200) << discovery.body;
  EXPECT_THAT(discovery.body, HasSubstr(R"("url":"https://127.0.0.1:8100/open311/v2")"));
  EXPECT_THAT(discovery.body, HasSubstr("http://wiki.open311.org/GeoReport_v2"));
  EXPECT_THAT(discovery.body, Not(HasSubstr("evil")));
  {
    HttpResponse xml = HttpDo(port, "GET", "/open311/discovery.xml", "", evil_host);
    ASSERT_EQ(xml.status, 200) << xml.body;
    const XmlElement doc = XmlOf(xml);
    EXPECT_EQ(doc.name, "discovery");
    ASSERT_NE(doc.Child("endpoints"), nullptr) << xml.body;
    ASSERT_NE(doc.Child("endpoints")->Child("endpoint"), nullptr) << xml.body;
    EXPECT_EQ(doc.Child("endpoints")->Child("endpoint")->ChildText("url"),
              "https://127.0.0.1:8100/open311/v2");
    EXPECT_THAT(xml.body, Not(HasSubstr("evil")));
  }

  // Discovery of services: both adopted services, with their codes, in JSON and XML.
  HttpResponse services = HttpDo(port, "GET", "/open311/v2/services.json");
  ASSERT_EQ(services.status, 200) << services.body;
  std::set<std::string> codes;
  for (int i = 0; i < services.Items(); ++i) codes.insert(services.ItemStr(i, "service_code"));
  EXPECT_EQ(codes, (std::set<std::string>{kAService, kBService}));
  {
    HttpResponse xml = HttpDo(port, "GET", "/open311/v2/services.xml");
    ASSERT_EQ(xml.status, 200) << xml.body;
    std::set<std::string> xml_codes;
    for (const XmlElement& s : XmlOf(xml).children) xml_codes.insert(s.ChildText("service_code"));
    EXPECT_EQ(xml_codes, codes);
    HttpResponse definition_xml =
        HttpDo(port, "GET", absl::StrCat("/open311/v2/services/", kAService, ".xml"));
    ASSERT_EQ(definition_xml.status, 200) << definition_xml.body;
    EXPECT_EQ(XmlOf(definition_xml).ChildText("service_code"), kAService);
  }
  HttpResponse definition =
      HttpDo(port, "GET", absl::StrCat("/open311/v2/services/", kAService, ".json"));
  ASSERT_EQ(definition.status, 200) << definition.body;
  EXPECT_EQ(definition.Str("service_code"), kAService);
  HttpResponse unknown = HttpDo(port, "GET", "/open311/v2/services/tidak-ada.json");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(unknown.ItemStr(0, "code"), "404") << unknown.body;

  // Filing: form-encoded, with the channel's api_key; a retry of the same report is the same
  // request.
  const std::vector<std::pair<std::string, std::string>> report = {
      {"api_key", e.web_channel_.token},
      {"service_code", kAService},
      {"description", "Antrean perekaman tidak bergerak sejak pagi & loket tutup."},
      {"lat", "-0.6213"},
      {"long", "100.1204"},
      {"address_string", "Jl. Raya Pariaman No. 1"}};
  HttpResponse filed = HttpDo(port, "POST", "/open311/v2/requests.json", FormEncode(report), form);
  ASSERT_EQ(filed.status, 200) << filed.body;
  ASSERT_EQ(filed.Items(), 1) << filed.body;
  const std::string id = filed.ItemStr(0, "service_request_id");
  ASSERT_FALSE(id.empty()) << filed.body;
  EXPECT_THAT(filed.ItemStr(0, "service_notice"),
              HasSubstr(absl::StrCat("Kode pelacakan ", id)));  // Bahasa Indonesia by default
  HttpResponse again = HttpDo(port, "POST", "/open311/v2/requests.json", FormEncode(report), form);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.ItemStr(0, "service_request_id"), id);
  HttpResponse again_xml =
      HttpDo(port, "POST", "/open311/v2/requests.xml", FormEncode(report), form);
  ASSERT_EQ(again_xml.status, 200) << again_xml.body;
  {
    const XmlElement doc = XmlOf(again_xml);
    EXPECT_EQ(doc.name, "service_requests");
    ASSERT_EQ(doc.children.size(), 1u) << again_xml.body;
    EXPECT_EQ(doc.children[0].ChildText("service_request_id"), id);
    EXPECT_THAT(doc.children[0].ChildText("service_notice"), HasSubstr(id));
  }

  // The case is in the complaint service, filed through the key's channel.
  cv1::GetComplaintRequest get;
  get.set_id(id);
  const cv1::Complaint stored =
      Must(complaints(), &cv1::Complaints::Stub::GetComplaint, e.a_op_, get).complaint();
  EXPECT_EQ(stored.channel(), cv1::CHANNEL_PARTNER_SYSTEM);
  EXPECT_EQ(stored.channel_name(), "web-portal");
  EXPECT_EQ(stored.service_id(), kAService);
  EXPECT_EQ(stored.confidentiality(), cv1::CONFIDENTIALITY_ANONYMOUS);
  EXPECT_NEAR(stored.location().latitude(), -0.6213, 1e-9);

  // Following it: the channel sees it at once; the public once it is verified, and before
  // that only its status (open, awaiting verification), in JSON and in XML.
  const std::string one = absl::StrCat("/open311/v2/requests/", id, ".json");
  const std::string one_xml = absl::StrCat("/open311/v2/requests/", id, ".xml");
  HttpResponse hidden = HttpDo(port, "GET", one);
  ASSERT_EQ(hidden.status, 200) << hidden.body;
  ASSERT_EQ(hidden.Items(), 1) << hidden.body;
  EXPECT_EQ(hidden.ItemStr(0, "service_request_id"), id);
  EXPECT_EQ(hidden.ItemStr(0, "status"), "open");
  EXPECT_EQ(hidden.ItemStr(0, "status_notes"), "Diterima; menunggu verifikasi.");  // default id
  EXPECT_EQ(hidden.ItemStr(0, "service_code"), "");
  EXPECT_EQ(hidden.ItemStr(0, "requested_datetime"), "");
  for (const char* detail : {"Antrean", "Pariaman", "0.62", kA}) {
    EXPECT_THAT(hidden.body, Not(HasSubstr(detail))) << hidden.body;
  }
  HttpResponse hidden_xml = HttpDo(port, "GET", one_xml);
  ASSERT_EQ(hidden_xml.status, 200) << hidden_xml.body;
  EXPECT_EQ(hidden_xml.Header("content-type"), "text/xml; charset=utf-8");
  {
    const XmlElement doc = XmlOf(hidden_xml);
    EXPECT_EQ(doc.name, "service_requests");
    ASSERT_EQ(doc.children.size(), 1u) << hidden_xml.body;
    EXPECT_EQ(doc.children[0].ChildText("service_request_id"), id);
    EXPECT_EQ(doc.children[0].ChildText("status"), "open");
    EXPECT_EQ(doc.children[0].ChildText("description"), "");
  }
  HttpResponse mine = HttpDo(port, "GET", absl::StrCat(one, "?api_key=", e.web_channel_.token));
  ASSERT_EQ(mine.status, 200) << mine.body;
  ASSERT_EQ(mine.Items(), 1);
  EXPECT_EQ(mine.Header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(mine.ItemStr(0, "status"), "open");
  EXPECT_THAT(mine.ItemStr(0, "status_notes"), HasSubstr("Diterima"));
  EXPECT_EQ(mine.ItemStr(0, "service_code"), kAService);
  EXPECT_FALSE(mine.ItemStr(0, "requested_datetime").empty()) << mine.body;
  EXPECT_FALSE(mine.ItemStr(0, "expected_datetime").empty()) << mine.body;  // verify_by
  {
    HttpResponse mine_xml =
        HttpDo(port, "GET", absl::StrCat(one_xml, "?api_key=", e.web_channel_.token));
    ASSERT_EQ(mine_xml.status, 200) << mine_xml.body;
    const XmlElement doc = XmlOf(mine_xml);
    ASSERT_EQ(doc.children.size(), 1u) << mine_xml.body;
    const XmlElement& r = doc.children[0];
    EXPECT_EQ(r.ChildText("service_code"), kAService);
    // The text as filed, its '&' escaped in the XML and read back by the parser.
    EXPECT_EQ(r.ChildText("description"),
              "Antrean perekaman tidak bergerak sejak pagi & loket tutup.");
    EXPECT_THAT(mine_xml.body, HasSubstr("pagi &amp; loket"));
    EXPECT_EQ(r.ChildText("expected_datetime"), mine.ItemStr(0, "expected_datetime"));
    EXPECT_EQ(r.ChildText("requested_datetime"), mine.ItemStr(0, "requested_datetime"));
  }

  cv1::VerifyComplaintRequest verify;
  verify.set_id(id);
  verify.set_note("Laporan jelas");
  Must(complaints(), &cv1::Complaints::Stub::VerifyComplaint, e.a_op_, verify);
  HttpResponse visible = HttpDo(port, "GET", one);
  ASSERT_EQ(visible.status, 200) << visible.body;
  EXPECT_EQ(visible.ItemStr(0, "status"), "open");
  EXPECT_EQ(visible.ItemStr(0, "agency_responsible"), kA);
  // An ANONYMOUS case: the public sees no street address and coordinates rounded to ~1 km.
  EXPECT_EQ(visible.ItemStr(0, "address"), "");
  EXPECT_THAT(visible.body, Not(HasSubstr("Raya Pariaman"))) << visible.body;
  EXPECT_THAT(visible.body, Not(HasSubstr("0.6213"))) << visible.body;
  EXPECT_THAT(visible.body, HasSubstr("-0.62")) << visible.body;
  HttpResponse by_id =
      HttpDo(port, "GET",
             absl::StrCat("/open311/v2/requests.json?service_request_id=", id, ",7KQ2M-XW9DT"));
  ASSERT_EQ(by_id.status, 200) << by_id.body;
  ASSERT_EQ(by_id.Items(), 1) << by_id.body;
  EXPECT_EQ(by_id.ItemStr(0, "service_request_id"), id);
  auto listed = [&](const std::string& query) {
    HttpResponse list = HttpDo(port, "GET", "/open311/v2/requests.json" + query);
    EXPECT_EQ(list.status, 200) << query << ": " << list.body;
    std::set<std::string> ids;
    for (int i = 0; i < list.Items(); ++i) ids.insert(list.ItemStr(i, "service_request_id"));
    return ids;
  };
  EXPECT_TRUE(listed("").count(id));
  EXPECT_TRUE(listed(absl::StrCat("?service_code=", kAService, "&status=open")).count(id));
  EXPECT_FALSE(listed(absl::StrCat("?service_code=", kBService)).count(id));
  EXPECT_FALSE(listed("?status=closed").count(id));
  EXPECT_FALSE(listed("?end_date=2020-01-01T00:00:00Z").count(id));
  EXPECT_TRUE(
      listed("?start_date=2026-01-01T00:00:00Z&end_date=2099-01-01T00:00:00%2B07:00").count(id));
  EXPECT_TRUE(listed(absl::StrCat("?jurisdiction_id=", kA)).count(id));
  EXPECT_TRUE(
      listed(absl::StrCat("?service_code=", kBService, ",", kAService, "&status=open,closed"))
          .count(id));
  // The same lists in XML.
  auto listed_xml = [&](const std::string& query) {
    HttpResponse list = HttpDo(port, "GET", "/open311/v2/requests.xml" + query);
    EXPECT_EQ(list.status, 200) << query << ": " << list.body;
    EXPECT_EQ(list.Header("content-type"), "text/xml; charset=utf-8");
    std::set<std::string> ids;
    const XmlElement doc = XmlOf(list);
    EXPECT_EQ(doc.name, "service_requests") << list.body;
    for (const XmlElement& r : doc.children) ids.insert(r.ChildText("service_request_id"));
    return ids;
  };
  EXPECT_TRUE(listed_xml(absl::StrCat("?service_code=", kAService, "&status=open")).count(id));
  EXPECT_FALSE(listed_xml("?status=closed").count(id));
  EXPECT_FALSE(listed_xml("?end_date=2020-01-01T00:00:00Z").count(id));
  EXPECT_TRUE(listed_xml("?start_date=2026-01-01T00:00:00Z&end_date=2099-01-01T00:00:00%2B07:00")
                  .count(id));

  // The unit follows it up; the updates feed says so. The handling agency reads every change
  // of status; the channel and the public its current status; nobody an internal note.
  cv1::DisposeComplaintRequest dispose;
  dispose.set_id(id);
  dispose.set_note("Catatan internal: ke bidang pelayanan");
  Must(complaints(), &cv1::Complaints::Stub::DisposeComplaint, e.a_op_, dispose);
  cv1::StartWorkRequest start;
  start.set_id(id);
  Must(complaints(), &cv1::Complaints::Stub::StartWork, e.a_op_, start);
  cv1::PostFollowUpRequest follow_up;
  follow_up.set_id(id);
  follow_up.set_message("Loket perekaman kini buka sampai pukul 16.00");
  Must(complaints(), &cv1::Complaints::Stub::PostFollowUp, e.a_op_, follow_up);
  const std::string updates = absl::StrCat("/open311/v2/requests/", id, "/updates");
  HttpResponse agency_updates =
      HttpDo(port, "GET", absl::StrCat(updates, ".json?lang=en&api_key=", e.a_op_.token));
  ASSERT_EQ(agency_updates.status, 200) << agency_updates.body;
  std::vector<std::string> statuses;
  for (int i = 0; i < agency_updates.Items(); ++i) {
    EXPECT_EQ(agency_updates.ItemStr(i, "service_request_id"), id);
    statuses.push_back(agency_updates.ItemStr(i, "description"));
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(HasSubstr("Received"), HasSubstr("Verified"),
                                               HasSubstr("Routed"), HasSubstr("working on it"),
                                               HasSubstr("responded")))
      << agency_updates.body;
  EXPECT_THAT(agency_updates.body, Not(HasSubstr("Catatan internal")));
  EXPECT_THAT(agency_updates.body, Not(HasSubstr("16.00")));
  {
    HttpResponse xml =
        HttpDo(port, "GET", absl::StrCat(updates, ".xml?lang=en&api_key=", e.a_op_.token));
    ASSERT_EQ(xml.status, 200) << xml.body;
    const XmlElement doc = XmlOf(xml);
    EXPECT_EQ(doc.name, "service_request_updates");
    ASSERT_EQ(doc.children.size(), statuses.size()) << xml.body;
    EXPECT_EQ(doc.children.back().name, "request_update");
    EXPECT_EQ(doc.children.back().ChildText("description"), statuses.back());
    EXPECT_EQ(doc.children.back().ChildText("update_id"),
              agency_updates.ItemStr(agency_updates.Items() - 1, "update_id"));
  }
  for (const std::string& key : {std::string(""), e.web_channel_.token}) {
    HttpResponse current =
        HttpDo(port, "GET", absl::StrCat(updates, ".json", key.empty() ? "" : "?api_key=", key));
    ASSERT_EQ(current.status, 200) << current.body;
    ASSERT_EQ(current.Items(), 1) << current.body;
    EXPECT_EQ(current.ItemStr(0, "update_id"), absl::StrCat(id, "/current"));
    EXPECT_EQ(current.ItemStr(0, "status"), "open");
    EXPECT_THAT(current.ItemStr(0, "description"), HasSubstr("Unit telah menanggapi"));
  }
  auto feed = [&](const std::string& path) {
    HttpResponse r = HttpDo(port, "GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    std::set<std::string> ids;
    if (absl::StrContains(path, ".xml")) {
      for (const XmlElement& u : XmlOf(r).children) ids.insert(u.ChildText("service_request_id"));
    } else {
      for (int i = 0; i < r.Items(); ++i) ids.insert(r.ItemStr(i, "service_request_id"));
    }
    return ids;
  };
  EXPECT_TRUE(feed("/open311/v2/servicerequestupdates.json").count(id));
  EXPECT_TRUE(
      feed("/open311/v2/servicerequestupdates.xml?start_date=2026-01-01T00:00:00Z").count(id));
  EXPECT_FALSE(
      feed("/open311/v2/servicerequestupdates.json?start_date=2099-01-01T00:00:00Z").count(id));
  EXPECT_FALSE(feed("/open311/v2/servicerequestupdates.xml?start_date=2019-01-01T00:00:00Z"
                    "&end_date=2020-01-01T00:00:00Z")
                   .count(id));

  // A second report, closed without action: "closed" with the reason, to its channel.
  std::vector<std::pair<std::string, std::string>> second = report;
  second[2].second = "Laporan kedua yang ternyata bukan urusan layanan publik.";
  HttpResponse filed2 = HttpDo(port, "POST", "/open311/v2/requests.json", FormEncode(second), form);
  ASSERT_EQ(filed2.status, 200) << filed2.body;
  const std::string id2 = filed2.ItemStr(0, "service_request_id");
  cv1::ArchiveComplaintRequest archive;
  archive.set_id(id2);
  archive.set_reason(cv1::ARCHIVE_REASON_OUT_OF_SCOPE);
  archive.set_note("Bukan urusan pelayanan publik");
  Must(complaints(), &cv1::Complaints::Stub::ArchiveComplaint, e.a_op_, archive);
  HttpResponse closed =
      HttpDo(port, "GET",
             absl::StrCat("/open311/v2/requests/", id2, ".json?api_key=", e.web_channel_.token));
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(closed.ItemStr(0, "status"), "closed");
  EXPECT_EQ(closed.ItemStr(0, "status_notes"),
            "Ditutup tanpa tindak lanjut (di luar lingkup pelayanan publik).");
}

TEST_F(GatewayE2ETest, Open311ErrorsAreArraysWithTheRightHttpStatus) {
  Environment& e = env();
  const int port = e.rest_port_;
  const std::map<std::string, std::string> form = {
      {"content-type", "application/x-www-form-urlencoded"}};
  // In English (Accept-Language); the Indonesian default is checked at the end.
  auto HttpDoEn = [](int port, const std::string& method, const std::string& target,
                     const std::string& body = "",
                     std::map<std::string, std::string> headers = {}) {
    headers.emplace("accept-language", "en");
    return HttpDo(port, method, target, body, std::move(headers));
  };
  auto expect_error = [](const HttpResponse& r, int status, const std::string& says,
                         const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    ASSERT_GE(r.Items(), 1) << what << ": " << r.body;
    EXPECT_EQ(r.ItemStr(0, "code"), absl::StrCat(status)) << what;
    std::string all;
    for (int i = 0; i < r.Items(); ++i) all += r.ItemStr(i, "description") + "\n";
    EXPECT_THAT(all, HasSubstr(says)) << what;
  };
  const std::string valid_key = e.web_channel_.token;
  expect_error(
      HttpDoEn(port, "POST", "/open311/v2/requests.json",
               FormEncode({{"service_code", kAService}, {"description", "Tanpa kunci API"}}), form),
      400, "api_key", "no api_key");
  expect_error(HttpDoEn(port, "POST", "/open311/v2/requests.json",
                        FormEncode({{"api_key", "k0123456789abcdef.AAAAAAAAAAAAAAAAAAAA"},
                                    {"service_code", kAService},
                                    {"description", "Kunci API palsu"}}),
                        form),
               401, "API key", "a bad api_key");
  // A dashboard key may not file (the policy).
  expect_error(HttpDoEn(port, "POST", "/open311/v2/requests.json",
                        FormEncode({{"api_key", e.dashboard_.token},
                                    {"service_code", kAService},
                                    {"description", "Dasbor tidak boleh melapor"}}),
                        form),
               403, MayNotCall("dashboard", "/simpul.complaints.v1.Complaints/FileComplaint"),
               "a dashboard key");
  // Missing fields are named the Open311 way.
  expect_error(
      HttpDoEn(port, "POST", "/open311/v2/requests.json",
               FormEncode({{"api_key", valid_key}, {"lat", "200"}, {"long", "100"}}), form),
      400, "service_code", "missing fields");
  expect_error(
      HttpDoEn(port, "POST", "/open311/v2/requests.json",
               FormEncode({{"api_key", valid_key}, {"lat", "200"}, {"long", "100"}}), form),
      400, "lat", "latitude out of range");
  expect_error(HttpDoEn(port, "POST", "/open311/v2/requests.json",
                        FormEncode({{"api_key", valid_key},
                                    {"service_code", "layanan-tidak-ada"},
                                    {"description", "Layanan yang tidak terdaftar"}}),
                        form),
               400, "service_code", "an unknown service");
  expect_error(HttpDoEn(port, "POST", "/open311/v2/requests.json",
                        FormEncode({{"api_key", valid_key},
                                    {"service_code", kAService},
                                    {"description", "Saluran tidak dikenal"},
                                    {"attribute[channel]", "merpati"}}),
                        form),
               400, "attribute[channel]", "an unknown channel");
  expect_error(HttpDoEn(port, "POST", "/open311/v2/requests.json",
                        absl::StrCat(R"({"api_key": ")", valid_key, R"("})")),
               415, "form-encoded", "a JSON body");
  expect_error(HttpDoEn(port, "GET", "/open311/v2/nothing.json"), 404, "no such resource",
               "an unknown resource");
  expect_error(HttpDoEn(port, "GET", "/open311/v2/services.csv"), 404, "no such resource",
               "an unknown format");
  expect_error(HttpDoEn(port, "GET", "/open311/v3/services.json"), 404, "no such resource",
               "an unknown version");
  HttpResponse wrong_method = HttpDoEn(port, "DELETE", "/open311/v2/requests.json");
  expect_error(wrong_method, 405, "does not take DELETE", "DELETE");
  EXPECT_EQ(wrong_method.Header("allow"), "GET, POST");
  expect_error(HttpDoEn(port, "GET", "/open311/v2/requests.json?start_date=kemarin"), 400,
               "start_date", "a bad date");
  expect_error(HttpDoEn(port, "GET", "/open311/v2/requests.json?status=pending"), 400, "status",
               "a bad status");
  expect_error(HttpDoEn(port, "GET", "/open311/v2/requests.json?end_date=2026-11-05"), 400,
               "end_date", "a date without a time");
  expect_error(HttpDoEn(port, "GET",
                        "/open311/v2/requests.json?start_date=2026-02-01T00:00:00Z"
                        "&end_date=2026-01-01T00:00:00Z"),
               400, "start_date: must not be after end_date", "an empty period");
  expect_error(HttpDoEn(port, "GET", "/open311/v2/requests.json?status=open,pending"), 400,
               "status", "a bad status in a list");
  // An id that names no request, unknown or malformed: 404 with an Open311 error, in the
  // requested format.
  for (const char* unknown : {"7KQ2M-XW9DT", "bukan-kode", "%3Cscript%3E"}) {
    expect_error(HttpDoEn(port, "GET", absl::StrCat("/open311/v2/requests/", unknown, ".json")),
                 404, "service_request_id: no request", unknown);
    expect_error(
        HttpDoEn(port, "GET", absl::StrCat("/open311/v2/requests/", unknown, "/updates.json")), 404,
        "service_request_id: no request", unknown);
    HttpResponse xml =
        HttpDoEn(port, "GET", absl::StrCat("/open311/v2/requests/", unknown, ".xml"));
    EXPECT_EQ(xml.status, 404) << xml.body;
    EXPECT_EQ(xml.Header("content-type"), "text/xml; charset=utf-8");
    const XmlElement doc = XmlOf(xml);
    EXPECT_EQ(doc.name, "errors") << xml.body;
    ASSERT_EQ(doc.children.size(), 1u) << xml.body;
    EXPECT_EQ(doc.children[0].name, "error");
    EXPECT_EQ(doc.children[0].ChildText("code"), "404");
    EXPECT_THAT(doc.children[0].ChildText("description"),
                HasSubstr("service_request_id: no request"));
  }
  {
    // Other errors in XML too: a bad parameter, an unknown route.
    HttpResponse bad = HttpDoEn(port, "GET", "/open311/v2/requests.xml?status=pending");
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_THAT(XmlOf(bad).children.at(0).ChildText("description"), HasSubstr("status"));
    HttpResponse route = HttpDoEn(port, "GET", "/open311/v2/nothing.xml");
    EXPECT_EQ(route.status, 404) << route.body;
    EXPECT_EQ(XmlOf(route).name, "errors");
  }
  // Nothing was filed by any of them.
  cv1::ListComplaintsRequest inbox;
  inbox.set_agency_id(kA);
  EXPECT_EQ(
      Must(complaints(), &cv1::Complaints::Stub::ListComplaints, e.a_op_, inbox).complaints_size(),
      0);
  cv1::ListComplaintsRequest unrouted;
  unrouted.set_unrouted(true);
  EXPECT_EQ(Must(complaints(), &cv1::Complaints::Stub::ListComplaints, e.root_, unrouted)
                .complaints_size(),
            0);
  // By default Bahasa Indonesia: each description is the catalogue's translation of the
  // English one.
  for (const char* target :
       {"/open311/v2/nothing.json", "/open311/v2/services.csv",
        "/open311/v2/requests.json?start_date=kemarin", "/open311/v2/requests/7KQ2M-XW9DT.json",
        "/open311/v2/requests.json?status=pending"}) {
    const HttpResponse en = HttpDoEn(port, "GET", target);
    const HttpResponse id = HttpDo(port, "GET", target);
    EXPECT_EQ(id.status, en.status) << target;
    ASSERT_EQ(id.Items(), 1) << id.body;
    ASSERT_EQ(en.Items(), 1) << en.body;
    const std::string english = en.ItemStr(0, "description");
    const size_t colon = english.find(": ");
    const std::optional<std::string> whole = Translate(english, Lang::kIndonesian);
    const std::optional<std::string> after_field =
        colon == std::string::npos ? std::nullopt
                                   : Translate(english.substr(colon + 2), Lang::kIndonesian);
    ASSERT_TRUE(whole || after_field) << english;
    EXPECT_EQ(id.ItemStr(0, "description"),
              whole ? *whole : absl::StrCat(english.substr(0, colon), ": ", *after_field))
        << target;
  }
  EXPECT_EQ(HttpDo(port, "GET", "/open311/v2/services.json?lang=xx").status, 400);
}

// ---------------------------------------------------------------------------------------------
// 12. The read cache: repeated registry reads are answered by the gateway, and every change
// (through this gateway, or straight at the registry) is visible to the next read.

TEST_F(GatewayE2ETest, CachedRegistryReadsFollowEveryChange) {
  Environment& e = env();
  rv1::GetServiceRequest get;
  get.set_id(kAService);
  auto name_via_gateway = [&](const Caller& who) {
    return Must(registry(), &rv1::Registry::Stub::GetService, who, get).service().name();
  };
  auto update = [&](rv1::Registry::Stub* stub, const Caller& who, const std::string& name) {
    rv1::UpdateServiceRequest req;
    rv1::Service current =
        Must(registry(), &rv1::Registry::Stub::GetService, e.a_admin_, get).service();
    *req.mutable_service() = current;
    req.mutable_service()->set_name(name);
    req.set_expected_revision(current.revision());
    Must(stub, &rv1::Registry::Stub::UpdateService, who, req);
  };
  const std::string original = name_via_gateway(e.public_);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(name_via_gateway(e.public_), original);  // cached

  // A write through the gateway: the writer (and everyone) reads it at once.
  update(registry(), e.a_admin_, "Layanan Dasar (diperbarui lewat gateway)");
  EXPECT_EQ(name_via_gateway(e.a_admin_), "Layanan Dasar (diperbarui lewat gateway)");
  EXPECT_EQ(name_via_gateway(e.public_), "Layanan Dasar (diperbarui lewat gateway)");
  HttpResponse rest = HttpDo(e.rest_port_, "GET", absl::StrCat("/v1/services/", kAService));
  EXPECT_EQ(rest.Str("service.name"), "Layanan Dasar (diperbarui lewat gateway)") << rest.body;

  // A write straight at the registry (another gateway, an operator's tool): the change feed
  // drops the cached answer within moments.
  auto direct = rv1::Registry::NewStub(e.cluster().registry().channel());
  common::v1::Principal admin;
  admin.set_subject("test:direct");
  admin.set_role(common::v1::ROLE_AGENCY_ADMIN);
  admin.set_agency_id(kA);
  rv1::UpdateServiceRequest req;
  rv1::Service current =
      Must(registry(), &rv1::Registry::Stub::GetService, e.a_admin_, get).service();
  *req.mutable_service() = current;
  req.mutable_service()->set_name("Layanan Dasar (diperbarui langsung)");
  req.set_expected_revision(current.revision());
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ctx.AddMetadata("x-simpul-identity",
                  e.tokens().TokenFor(admin, "simpul-registry", absl::Now() + absl::Minutes(5)));
  rv1::UpdateServiceResponse updated;
  ASSERT_TRUE(direct->UpdateService(&ctx, req, &updated).ok());
  const absl::Time changed = absl::Now();
  EXPECT_TRUE(PollUntil(
      [&] {
        return name_via_gateway(e.public_) == "Layanan Dasar (diperbarui langsung)" &&
               HttpDo(e.rest_port_, "GET", absl::StrCat("/v1/services/", kAService))
                       .Str("service.name") == "Layanan Dasar (diperbarui langsung)";
      },
      absl::Seconds(2), absl::Milliseconds(5)));
  EXPECT_LT(absl::Now() - changed, absl::Milliseconds(500)) << "the feed should drop it at once";
}

// Service definitions with attributes (issue #16): an integrator sets a service's intake
// questions over REST, a channel reads them as an Open311 service definition (JSON and XML)
// and files through Open311 with attribute[...] answers; a missing required answer is an
// Open311 400 naming it. The agency reads the answers on the case; the public never does.
TEST_F(GatewayE2ETest, Open311ServiceDefinitionWithAttributesFiledAndReadByTheAgency) {
  Environment& e = env();
  const int port = e.rest_port_;
  auto bearer = [](const Caller& who) {
    return std::map<std::string, std::string>{{"authorization", "Bearer " + who.token}};
  };
  const std::string service_path = absl::StrCat("/v1/services/", kAService);
  auto put_attributes = [&](const std::string& attributes_json) {
    HttpResponse current = HttpDo(port, "GET", service_path);
    EXPECT_EQ(current.status, 200) << current.body;
    return HttpDo(
        port, "PUT", service_path,
        absl::StrCat(R"({"service": {"id": ")", kAService, R"(", "name": ")",
                     current.Str("service.name"), R"(", "description": ")",
                     current.Str("service.description"), R"(")", attributes_json,
                     R"(}, "expected_revision": ")", current.Str("service.revision"), R"("})"),
        bearer(e.a_admin_));
  };
  // The integrator (the agency's admin) sets the questions; a bad one is named by its path.
  HttpResponse bad = put_attributes(
      R"(, "attributes": [{"code": "no spaces", "variable": true, "datatype": "ATTRIBUTE_DATATYPE_STRING", "description": "x"}])");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(bad.ViolationFields(), ::testing::ElementsAre("service.attributes[0].code"));
  HttpResponse set = put_attributes(
      R"(, "attributes": [)"
      R"({"code": "application_number", "variable": true, "required": true, "order": 1,)"
      R"( "datatype": "ATTRIBUTE_DATATYPE_STRING", "max_length": 40,)"
      R"( "description": "Nomor permohonan akta", "datatype_description": "mis. 1305-AK-0001"},)"
      R"({"code": "submitted_via", "variable": true, "required": true, "order": 2,)"
      R"( "datatype": "ATTRIBUTE_DATATYPE_SINGLE_VALUE_LIST", "description": "Diajukan melalui",)"
      R"( "values": [{"key": "loket", "name": "Loket"}, {"key": "online", "name": "Daring"}]}])");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_THAT(set.body, HasSubstr("application_number"));

  // The channel reads the service definition in both formats, and the list marks it.
  HttpResponse definition =
      HttpDo(port, "GET", absl::StrCat("/open311/v2/services/", kAService, ".json"));
  ASSERT_EQ(definition.status, 200) << definition.body;
  EXPECT_THAT(definition.body,
              HasSubstr(R"({"variable":true,"code":"application_number","datatype":"string",)"
                        R"("required":true,"datatype_description":"mis. 1305-AK-0001","order":1,)"
                        R"("description":"Nomor permohonan akta"})"));
  EXPECT_THAT(definition.body,
              HasSubstr(R"("datatype":"singlevaluelist","required":true,"datatype_description":"",)"
                        R"("order":2,"description":"Diajukan melalui","values":[{"key":"loket",)"
                        R"("name":"Loket"},{"key":"online","name":"Daring"}]})"));
  {
    HttpResponse xml =
        HttpDo(port, "GET", absl::StrCat("/open311/v2/services/", kAService, ".xml"));
    ASSERT_EQ(xml.status, 200) << xml.body;
    const XmlElement doc = XmlOf(xml);
    ASSERT_NE(doc.Child("attributes"), nullptr) << xml.body;
    ASSERT_EQ(doc.Child("attributes")->children.size(), 2u) << xml.body;
    const XmlElement& second = doc.Child("attributes")->children[1];
    EXPECT_EQ(second.ChildText("code"), "submitted_via");
    EXPECT_EQ(second.ChildText("datatype"), "singlevaluelist");
    ASSERT_NE(second.Child("values"), nullptr) << xml.body;
    EXPECT_EQ(second.Child("values")->children.size(), 2u);
  }
  HttpResponse services = HttpDo(port, "GET", "/open311/v2/services.json");
  ASSERT_EQ(services.status, 200) << services.body;
  for (int i = 0; i < services.Items(); ++i) {
    EXPECT_EQ(services.ItemStr(i, "metadata"),
              services.ItemStr(i, "service_code") == kAService ? "true" : "false")
        << services.body;
  }

  // Filing without the required application number: an Open311 400 naming it (once the
  // complaint service's route cache has seen the change on the registry's feed).
  const std::map<std::string, std::string> form = {
      {"content-type", "application/x-www-form-urlencoded"}};
  std::vector<std::pair<std::string, std::string>> report = {
      {"api_key", e.web_channel_.token},
      {"service_code", kAService},
      {"description", "Akta kelahiran belum terbit setelah dua bulan menunggu."},
      {"attribute[submitted_via]", "loket"}};
  HttpResponse missing;
  ASSERT_TRUE(PollUntil(
      [&] {
        missing = HttpDo(port, "POST", "/open311/v2/requests.json", FormEncode(report), form);
        return missing.status == 400;
      },
      absl::Seconds(5)))
      << missing.status << " " << missing.body;
  ASSERT_EQ(missing.Items(), 1) << missing.body;
  EXPECT_EQ(missing.ItemStr(0, "code"), "400");
  EXPECT_THAT(missing.ItemStr(0, "description"),
              HasSubstr("attribute[application_number]: wajib diisi"));  // Indonesian
  report.push_back({"attribute[application_number]", "1305-AK-PLANTED-77"});
  report.push_back({"attribute[submitted_via]", "pos"});  // repeated: the first value counts
  HttpResponse bad_key = HttpDo(
      port, "POST", "/open311/v2/requests.xml",
      FormEncode({report[0], report[1], report[2], report[4], {"attribute[submitted_via]", "pos"}}),
      form);
  EXPECT_EQ(bad_key.status, 400) << bad_key.body;
  EXPECT_EQ(XmlOf(bad_key).name, "errors");
  EXPECT_THAT(bad_key.body, HasSubstr("attribute[submitted_via]"));
  HttpResponse filed = HttpDo(port, "POST", "/open311/v2/requests.json", FormEncode(report), form);
  ASSERT_EQ(filed.status, 200) << filed.body;
  const std::string id = filed.ItemStr(0, "service_request_id");
  ASSERT_FALSE(id.empty()) << filed.body;
  EXPECT_THAT(filed.body, Not(HasSubstr("PLANTED")));

  // The agency reads the answers on the case; the public and the channel do not.
  HttpResponse agency =
      HttpDo(port, "GET", absl::StrCat("/v1/complaints/", id), "", bearer(e.a_op_));
  ASSERT_EQ(agency.status, 200) << agency.body;
  EXPECT_THAT(agency.body, HasSubstr("1305-AK-PLANTED-77"));
  EXPECT_THAT(agency.body, HasSubstr("submitted_via"));
  for (const std::string& read :
       {absl::StrCat("/open311/v2/requests/", id, ".json"),
        absl::StrCat("/open311/v2/requests/", id, ".xml"),
        absl::StrCat("/open311/v2/requests/", id, ".json?api_key=", e.web_channel_.token)}) {
    HttpResponse shown = HttpDo(port, "GET", read);
    EXPECT_EQ(shown.status, 200) << read << " " << shown.body;
    EXPECT_THAT(shown.body, Not(HasSubstr("PLANTED"))) << read;
  }
  HttpResponse public_read = HttpDo(port, "GET", absl::StrCat("/v1/complaints/", id));
  EXPECT_THAT(public_read.body, Not(HasSubstr("PLANTED")));

  // Cleanup: the questions are removed again, so other tests file to the service as before.
  HttpResponse current = HttpDo(port, "GET", service_path);
  HttpResponse cleared =
      HttpDo(port, "PUT", service_path,
             absl::StrCat(R"({"service": {"id": ")", kAService, R"(", "name": ")",
                          current.Str("service.name"), R"(", "description": ")",
                          current.Str("service.description"), R"("}, "expected_revision": ")",
                          current.Str("service.revision"), R"(", "clear_attributes": true})"),
             bearer(e.a_admin_));
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_THAT(cleared.body, Not(HasSubstr("application_number")));
}

// ---------------------------------------------------------------------------------------------
// 12. Signed webhooks (issue #16 point 2): a channel registers a webhook through REST, files
// cases, an officer works them; a real local receiver that answers 500, times out, closes
// early and then recovers gets every event of the channel's feed, in order per case, each
// signature valid; a dead receiver delays nothing and ends in the dead-letter list; a re-drive
// delivers its letters.

// SignatureValid checks a Simpul-Signature header the way docs/complaints.md tells receivers
// to: HMAC-SHA256 over "<t>.<body>", constant-time compare, t within 5 minutes.
bool SignatureValid(const std::string& header, const std::string& secret, const std::string& body) {
  int64_t t = 0;
  std::vector<std::string> sigs;
  for (absl::string_view part : absl::StrSplit(header, ',')) {
    if (absl::ConsumePrefix(&part, "t=")) {
      if (!absl::SimpleAtoi(part, &t)) return false;
    } else if (absl::ConsumePrefix(&part, "v1=")) {
      sigs.emplace_back(part);
    }
  }
  if (std::abs(absl::ToUnixSeconds(absl::Now()) - t) > 300) return false;
  const std::string message = absl::StrCat(t, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) absl::StrAppend(&hex, absl::Hex(mac[i], absl::kZeroPad2));
  for (const std::string& sig : sigs) {
    if (sig.size() == hex.size() && CRYPTO_memcmp(sig.data(), hex.data(), hex.size()) == 0) {
      return true;
    }
  }
  return false;
}

TEST_F(GatewayE2ETest, SignedWebhooksDeliverEveryEventInOrderThroughAFlakyReceiver) {
  using Receiver = simpul::testing::WebhookReceiver;
  using Behaviour = Receiver::Behaviour;
  Environment& e = env();
  const int port = e.rest_port_;
  auto flaky = Receiver::Start();
  auto dead = Receiver::Start();
  ASSERT_THAT(flaky.status(), IsOk());
  ASSERT_THAT(dead.status(), IsOk());
  (*flaky)->SetSleep(absl::Seconds(2));  // past the service's 1 s webhook_request_timeout
  (*flaky)->Script(
      {Behaviour::kError500, Behaviour::kSleep, Behaviour::kCloseEarly, Behaviour::kError500});
  (*dead)->SetDefault(Behaviour::kSleep);
  (*dead)->SetSleep(absl::Seconds(3));
  const std::map<std::string, std::string> channel = {
      {"authorization", "Bearer " + e.web_channel_.token}};

  // No SSRF through Simpul: private, link-local and loopback targets outside the allow-list
  // (127.0.0.1/32 in this cluster) are refused with the field named, nothing stored.
  for (const char* url : {"https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data",
                          "http://127.0.0.2:8080/hook", "http://[::1]:8080/hook",
                          "https://192.168.1.10/hook", "ftp://example.org/"}) {
    HttpResponse refused =
        HttpDo(port, "POST", "/v1/webhooks", absl::StrCat(R"({"url": ")", url, R"("})"), channel);
    EXPECT_EQ(refused.status, 400) << url << ": " << refused.body;
    EXPECT_THAT(refused.body, HasSubstr("url")) << url;
  }
  // Operators do not manage webhooks (the policy), the public even less.
  EXPECT_EQ(HttpDo(port, "POST", "/v1/webhooks", R"({"url": "http://127.0.0.1:9/x"})",
                   {{"authorization", "Bearer " + e.a_op_.token}})
                .status,
            403);
  EXPECT_EQ(HttpDo(port, "POST", "/v1/webhooks", R"({"url": "http://127.0.0.1:9/x"})").status, 401);

  HttpResponse created = HttpDo(port, "POST", "/v1/webhooks",
                                absl::StrCat(R"({"url": ")", (*flaky)->url(), R"("})"), channel);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Str("webhook.id");
  const std::string secret = created.Str("secret");
  ASSERT_FALSE(id.empty()) << created.body;
  ASSERT_FALSE(secret.empty()) << created.body;
  HttpResponse dead_created = HttpDo(
      port, "POST", "/v1/webhooks",
      absl::StrCat(R"({"url": ")", (*dead)->url(), R"(", "event_kinds": ["FileComplaint"]})"),
      channel);
  ASSERT_EQ(dead_created.status, 201) << dead_created.body;
  const std::string dead_id = dead_created.Str("webhook.id");
  // The secret is shown once: a read does not carry it.
  HttpResponse read = HttpDo(port, "GET", "/v1/webhooks/" + id, "", channel);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_THAT(read.body, Not(HasSubstr(secret)));
  EXPECT_EQ(HttpDo(port, "GET", "/v1/webhooks/" + id, "",
                   {{"authorization", "Bearer " + e.b_admin_.token}})
                .status,
            404);

  // The channel files two cases through Open311, one answered in JSON, one in XML.
  std::vector<std::string> codes;
  for (const char* format : {"json", "xml"}) {
    HttpResponse filed =
        HttpDo(port, "POST", absl::StrCat("/open311/v2/requests.", format),
               FormEncode({{"api_key", e.web_channel_.token},
                           {"service_code", kAService},
                           {"description", absl::StrCat("Loket kait web tutup (", format, ")")},
                           {"first_name", "Sari"},
                           {"last_name", "Kait"},
                           {"phone", "+62 812 5555 6666"},
                           {"attribute[idempotency_key]", absl::StrCat("webhook-e2e-", format)}}),
               {{"content-type", "application/x-www-form-urlencoded"}});
    ASSERT_EQ(filed.status, 200) << filed.body;
    codes.push_back(std::string(format) == "json"
                        ? filed.ItemStr(0, "service_request_id")
                        : XmlOf(filed).children.at(0).ChildText("service_request_id"));
    ASSERT_FALSE(codes.back().empty()) << filed.body;
  }
  // The filings arrive at the flaky receiver once it has failed four times.
  ASSERT_TRUE((*flaky)->WaitFor([&](const auto&) { return (*flaky)->accepted().size() >= 2; },
                                absl::Seconds(20)));

  // The officer works both cases to completion. Each event reaches the healthy receiver
  // quickly although the dead receiver holds a sender for a second per attempt meanwhile.
  absl::Duration worst;
  const size_t dead_attempts_before = (*dead)->requests().size();
  auto acted = [&](auto method, auto req) {
    const size_t before = (*flaky)->accepted().size();
    Must(complaints(), method, e.a_op_, req);
    const absl::Time done = absl::Now();
    ASSERT_TRUE((*flaky)->WaitFor([&](const auto&) { return (*flaky)->accepted().size() > before; },
                                  absl::Seconds(10)));
    worst = std::max(worst, (*flaky)->accepted().back().received - done);
  };
  for (const std::string& code : codes) {
    cv1::VerifyComplaintRequest verify;
    verify.set_id(code);
    verify.set_note("Laporan jelas");
    ASSERT_NO_FATAL_FAILURE(acted(&cv1::Complaints::Stub::VerifyComplaint, verify));
    cv1::DisposeComplaintRequest dispose;
    dispose.set_id(code);
    dispose.set_note("Catatan internal: ke loket");
    ASSERT_NO_FATAL_FAILURE(acted(&cv1::Complaints::Stub::DisposeComplaint, dispose));
    cv1::StartWorkRequest start;
    start.set_id(code);
    ASSERT_NO_FATAL_FAILURE(acted(&cv1::Complaints::Stub::StartWork, start));
    cv1::PostFollowUpRequest follow_up;
    follow_up.set_id(code);
    follow_up.set_message("Loket dibuka kembali besok");
    ASSERT_NO_FATAL_FAILURE(acted(&cv1::Complaints::Stub::PostFollowUp, follow_up));
    cv1::CompleteComplaintRequest complete;
    complete.set_id(code);
    complete.set_note("Loket dibuka kembali");
    ASSERT_NO_FATAL_FAILURE(acted(&cv1::Complaints::Stub::CompleteComplaint, complete));
  }
  std::cout << "webhook: healthy receiver worst latency " << worst << " while the dead one made "
            << (*dead)->requests().size() << " attempts so far\n";
  EXPECT_LT(worst, absl::Milliseconds(700));
  // The dead receiver was being tried (each attempt holds a sender for the 1 s timeout) and
  // has taken nothing.
  EXPECT_GE(dead_attempts_before, 1u);
  EXPECT_TRUE((*dead)->accepted().empty());

  // Every event of the channel's feed for these cases arrived (at least once), in order per
  // case, each with a valid signature, in the channel's view.
  HttpResponse feed = [&] {
    std::map<std::string, std::string> headers = channel;
    headers["grpc-timeout"] = "2S";
    simpul::testing::HttpConn conn(port);
    return conn.Do("GET", "/v1/complaintEvents:watch?cursor=0", "", headers);
  }();
  ASSERT_EQ(feed.status, 200) << feed.body;
  std::vector<std::string> want;  // delivery ids: "<webhook id>:<cursor>"
  for (absl::string_view line : absl::StrSplit(feed.body, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct item;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &item).ok());
    if (!item.fields().count("public_event")) continue;
    const std::string case_id =
        item.fields().at("public_event").struct_value().fields().at("complaint_id").string_value();
    if (std::find(codes.begin(), codes.end(), case_id) == codes.end()) continue;
    want.push_back(absl::StrCat(id, ":", item.fields().at("cursor").string_value()));
  }
  // Per case: filed, verified, disposed, started, followed up, completed.
  EXPECT_EQ(want.size(), 12u);
  std::vector<std::string> got;
  std::map<std::string, int> last_sequence;
  for (const Receiver::Request& r : (*flaky)->accepted()) {
    EXPECT_TRUE(SignatureValid(r.headers.at("simpul-signature"), secret, r.body)) << r.body;
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_THAT(r.body, Not(HasSubstr("Sari Kait")));
    EXPECT_THAT(r.body, Not(HasSubstr("Catatan internal")));
    EXPECT_THAT(r.body, Not(HasSubstr("Loket dibuka kembali")));
    google::protobuf::Struct body;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &body).ok()) << r.body;
    const std::string delivery = body.fields().at("delivery_id").string_value();
    EXPECT_EQ(delivery, r.headers.at("simpul-delivery"));
    // A channel's webhook says what the state means in Bahasa Indonesia.
    EXPECT_EQ(body.fields().at("lang").string_value(), "id");
    EXPECT_FALSE(body.fields().at("status_note").string_value().empty()) << r.body;
    if (std::find(got.begin(), got.end(), delivery) != got.end()) continue;  // a redelivery
    got.push_back(delivery);
    const auto& event = body.fields().at("public_event").struct_value().fields();
    const std::string case_id = event.at("complaint_id").string_value();
    const int sequence = static_cast<int>(event.at("sequence").number_value());
    EXPECT_GT(sequence, last_sequence[case_id]) << "out of order for " << case_id;
    last_sequence[case_id] = sequence;
    EXPECT_EQ(r.headers.at("simpul-event"), event.at("action").string_value());
  }
  EXPECT_EQ(got, want);
  EXPECT_GE((*flaky)->requests().size(), want.size() + 4);  // the four scripted failures

  // The dead receiver's two filings end as dead letters after the (shortened) window.
  auto dead_letters = [&] {
    HttpResponse log = HttpDo(port, "GET", "/v1/webhooks/" + dead_id + "/deliveries", "", channel);
    EXPECT_EQ(log.status, 200) << log.body;
    std::vector<std::string> ids;
    const auto& fields = log.json.fields();
    if (!fields.count("deliveries")) return ids;
    for (const auto& d : fields.at("deliveries").list_value().values()) {
      const auto& f = d.struct_value().fields();
      if (f.at("state").string_value() == "DELIVERY_STATE_DEAD") {
        ids.push_back(f.at("delivery_id").string_value());
      }
    }
    return ids;
  };
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (dead_letters().size() < 2 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(200));
  ASSERT_EQ(dead_letters().size(), 2u);
  // It recovers; the re-drive delivers both, in their order.
  (*dead)->SetDefault(Behaviour::kOk);
  HttpResponse redriven =
      HttpDo(port, "POST", "/v1/webhooks/" + dead_id + "/deliveries:redrive", "{}", channel);
  ASSERT_EQ(redriven.status, 200) << redriven.body;
  EXPECT_EQ(redriven.Str("redriven"), "2");
  ASSERT_TRUE((*dead)->WaitFor([&](const auto&) { return (*dead)->accepted().size() >= 2; },
                               absl::Seconds(10)));
  const std::vector<Receiver::Request> recovered = (*dead)->accepted();
  for (size_t i = 0; i < recovered.size(); ++i) {
    EXPECT_TRUE(SignatureValid(recovered[i].headers.at("simpul-signature"),
                               dead_created.Str("secret"), recovered[i].body));
    EXPECT_THAT(recovered[i].body, HasSubstr(codes[std::min<size_t>(i, 1)]));
  }
  EXPECT_TRUE(dead_letters().empty());
  // Clean up: the webhooks of this test stop here.
  EXPECT_EQ(HttpDo(port, "DELETE", "/v1/webhooks/" + id, "", channel).status, 200);
  EXPECT_EQ(HttpDo(port, "DELETE", "/v1/webhooks/" + dead_id, "", channel).status, 200);
}

// Where (issue #16 point 5): cases filed at known points of Jakarta and Bogor are listed by
// radius and box in each caller's scope, over gRPC, REST and Open311; a filing next to a
// listed case of the same service is told of it (never of a SECRET or unverified one), and the
// officer sees every candidate of its agency and archives the new case as a duplicate.
TEST_F(GatewayE2ETest, WhereListsByRadiusAndBoxAndSuggestsPossibleDuplicates) {
  Environment& e = env();
  const int port = e.rest_port_;
  struct Point {
    double lat, lon;
  };
  const Point kKebunRaya{-6.597600, 106.799600};     // Bogor
  const Point kKebunRaya200{-6.597600, 106.801400};  // ~200 m east
  const Point kKebunRaya150{-6.596250, 106.799600};  // ~150 m north
  const Point kKebunRaya50{-6.597600, 106.800050};   // ~50 m east
  const Point kMonas{-6.175392, 106.827153};         // Jakarta, ~47 km north
  int n = 0;
  auto file = [&](const std::string& service, Point p, cv1::Confidentiality conf) {
    cv1::FileComplaintRequest req;
    req.set_idempotency_key(absl::StrCat("geo-e2e-filing-", ++n));
    req.set_report_type(cv1::REPORT_TYPE_COMPLAINT);
    req.set_channel(cv1::CHANNEL_WEB);
    req.set_service_id(service);
    req.set_description("Trotoar rusak dan berlubang di depan kantor pelayanan");
    req.mutable_location()->set_latitude(p.lat);
    req.mutable_location()->set_longitude(p.lon);
    req.mutable_complainant()->set_name("Rina Wulandari");
    req.set_confidentiality(conf);
    return Must(complaints(), &cv1::Complaints::Stub::FileComplaint, e.web_channel_, req);
  };
  auto verify = [&](const Caller& who, const std::string& id) {
    cv1::VerifyComplaintRequest req;
    req.set_id(id);
    req.set_note("Lokasi jelas");
    Must(complaints(), &cv1::Complaints::Stub::VerifyComplaint, who, req);
  };
  const std::string b1 = file(kBService, kKebunRaya, cv1::CONFIDENTIALITY_PUBLIC).tracking_code();
  const std::string b2 =
      file(kBService, kKebunRaya200, cv1::CONFIDENTIALITY_SECRET).tracking_code();
  const std::string b3 = file(kBService, kMonas, cv1::CONFIDENTIALITY_PUBLIC).tracking_code();
  const std::string b4 =
      file(kBService, kKebunRaya150, cv1::CONFIDENTIALITY_PUBLIC).tracking_code();  // unverified
  const std::string a1 = file(kAService, kMonas, cv1::CONFIDENTIALITY_PUBLIC).tracking_code();
  verify(e.b_op_, b1);
  verify(e.b_op_, b2);
  verify(e.a_op_, a1);

  auto ids_of = [](const cv1::ListComplaintsResponse& resp) {
    std::set<std::string> ids;
    for (const auto& c : resp.complaints()) ids.insert(c.id());
    for (const auto& c : resp.public_complaints()) ids.insert(c.id());
    return ids;
  };
  auto near = [](Point p, double radius) {
    cv1::ListComplaintsRequest req;
    req.mutable_near()->set_latitude(p.lat);
    req.mutable_near()->set_longitude(p.lon);
    req.mutable_near()->set_radius_meters(radius);
    return req;
  };
  auto box = [](double min_lat, double min_lon, double max_lat, double max_lon) {
    cv1::ListComplaintsRequest req;
    req.mutable_within_box()->set_min_latitude(min_lat);
    req.mutable_within_box()->set_min_longitude(min_lon);
    req.mutable_within_box()->set_max_latitude(max_lat);
    req.mutable_within_box()->set_max_longitude(max_lon);
    return req;
  };
  auto list = [&](const Caller& who, cv1::ListComplaintsRequest req) {
    std::set<std::string> ids;
    req.mutable_page()->set_page_size(1);  // through the page tokens
    for (int round = 0; round < 20; ++round) {
      auto resp = Must(complaints(), &cv1::Complaints::Stub::ListComplaints, who, req);
      for (const std::string& id : ids_of(resp)) ids.insert(id);
      if (resp.next_page_token().empty()) break;
      req.mutable_page()->set_page_token(resp.next_page_token());
    }
    return ids;
  };
  using Ids = std::set<std::string>;
  // Agency B: its own cases within 1 km of Kebun Raya; within 50 km of Monas all four of its
  // cases (never agency A's); a box around central Jakarta holds its Jakarta case only.
  EXPECT_EQ(list(e.b_op_, near(kKebunRaya, 1000)), (Ids{b1, b2, b4}));
  EXPECT_EQ(list(e.b_op_, near(kMonas, 50000)), (Ids{b1, b2, b3, b4}));
  EXPECT_EQ(list(e.b_op_, box(-6.3, 106.7, -6.1, 106.9)), (Ids{b3}));
  EXPECT_EQ(list(e.a_op_, box(-6.3, 106.7, -6.1, 106.9)), (Ids{a1}));
  // The public: listed cases only (b2 is SECRET, b3 and b4 unverified).
  EXPECT_EQ(list(e.public_, box(-6.7, 106.7, -6.1, 106.9)), (Ids{b1, a1}));
  // A bad area is refused naming the field.
  cv1::ListComplaintsResponse refused;
  grpc::Status bad = Call(complaints(), &cv1::Complaints::Stub::ListComplaints, e.b_op_,
                          near(kMonas, 60000), &refused);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("near.radius_meters"));

  // REST: the area as query parameters of GET /v1/complaints.
  const std::map<std::string, std::string> b_bearer = {
      {"authorization", "Bearer " + e.b_op_.token}};
  HttpResponse rest = HttpDo(port, "GET",
                             "/v1/complaints?near.latitude=-6.5976&near.longitude=106.7996&"
                             "near.radius_meters=1000",
                             "", b_bearer);
  ASSERT_EQ(rest.status, 200) << rest.body;
  for (const std::string& id : {b1, b2, b4}) EXPECT_THAT(rest.body, HasSubstr(id));
  EXPECT_THAT(rest.body, Not(HasSubstr(b3)));
  HttpResponse rest_box = HttpDo(port, "GET",
                                 "/v1/complaints?within_box.min_latitude=-6.3&within_box.min_"
                                 "longitude=106.7&within_box.max_latitude=-6.1&within_box.max_"
                                 "longitude=106.9",
                                 "", b_bearer);
  ASSERT_EQ(rest_box.status, 200) << rest_box.body;
  EXPECT_THAT(rest_box.body, HasSubstr(b3));
  EXPECT_THAT(rest_box.body, Not(HasSubstr(b1)));
  HttpResponse rest_bad = HttpDo(
      port, "GET", "/v1/complaints?near.latitude=-6.5&near.longitude=106.7&near.radius_meters=0",
      "", b_bearer);
  EXPECT_EQ(rest_bad.status, 400) << rest_bad.body;
  EXPECT_THAT(rest_bad.body, HasSubstr("near.radius_meters"));

  // A second filing 50 m from b1, same service: the channel is told of b1 only.
  const cv1::FileComplaintResponse second =
      file(kBService, kKebunRaya50, cv1::CONFIDENTIALITY_PUBLIC);
  std::vector<std::string> suggested;
  for (const auto& d : second.possible_duplicates()) suggested.push_back(d.id());
  EXPECT_THAT(suggested, ::testing::ElementsAre(b1));
  EXPECT_THAT(second.DebugString(), Not(HasSubstr(b2)));
  EXPECT_THAT(second.DebugString(), Not(HasSubstr(b4)));
  // The officer sees every candidate of its agency, nearest first, and archives the new case
  // as a duplicate of b1.
  cv1::GetComplaintRequest get;
  get.set_id(second.tracking_code());
  const cv1::Complaint seen =
      Must(complaints(), &cv1::Complaints::Stub::GetComplaint, e.b_op_, get).complaint();
  EXPECT_THAT(std::vector<std::string>(seen.possible_duplicate_ids().begin(),
                                       seen.possible_duplicate_ids().end()),
              ::testing::ElementsAre(b1, b2, b4));
  cv1::ArchiveComplaintRequest archive;
  archive.set_id(second.tracking_code());
  archive.set_reason(cv1::ARCHIVE_REASON_DUPLICATE);
  archive.set_duplicate_of(seen.possible_duplicate_ids(0));
  archive.set_note("Sudah dilaporkan");
  const cv1::Complaint archived =
      Must(complaints(), &cv1::Complaints::Stub::ArchiveComplaint, e.b_op_, archive).complaint();
  EXPECT_EQ(archived.state(), cv1::STATE_ARCHIVED);
  EXPECT_EQ(archived.duplicate_of(), b1);

  // Open311: lat/long/radius and bbox, public view; bad values are 400 naming the parameter.
  auto open311 = [&](const std::string& query) {
    HttpResponse r = HttpDo(port, "GET", "/open311/v2/requests.json" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::set<std::string> ids;
    for (int i = 0; i < r.Items(); ++i) ids.insert(r.ItemStr(i, "service_request_id"));
    return ids;
  };
  EXPECT_EQ(open311("?lat=-6.5976&long=106.7996&radius=1000"), (Ids{b1}));
  EXPECT_EQ(open311("?lat=-6.1754&long=106.8272&radius=500"), (Ids{a1}));
  EXPECT_EQ(open311("?bbox=106.7,-6.7,106.9,-6.1"), (Ids{b1, a1}));
  for (const auto& [query, param] : std::vector<std::pair<std::string, std::string>>{
           {"?lat=-6.5976&long=106.7996&radius=0", "radius"},
           {"?lat=abc&long=106.7996", "lat"},
           {"?lat=-6.5976", "long"},
           {"?radius=100", "radius"},
           {"?bbox=106.7,-6.7,106.9", "bbox"},
           {"?bbox=106.9,-6.7,106.7,-6.1", "bbox"}}) {
    HttpResponse r = HttpDo(port, "GET", "/open311/v2/requests.json" + query);
    EXPECT_EQ(r.status, 400) << query << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr(param)) << query;
  }
}

// Attachments (issue #16 point 4) over REST through the gateway: a channel uploads a photo and
// a document to the case it filed, a disguised HTML file is refused, the agency reads both and
// redacts one, the complainant sees the other with the tracking code and secret, another
// agency and the public get 404; once published, Open311's media_url serves the image.
TEST_F(GatewayE2ETest, AttachmentsUploadedReadRedactedAndServedAsOpen311Media) {
  Environment& e = env();
  const int port = e.rest_port_;
  auto bearer = [](const Caller& who) {
    return std::map<std::string, std::string>{{"authorization", "Bearer " + who.token}};
  };
  const std::string jpeg = std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01", 12) + "pixels";
  const std::string pdf = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
  const std::string html = "<!DOCTYPE html><html><script>alert(document.cookie)</script>";

  HttpResponse filed = HttpDo(
      port, "POST", "/v1/complaints",
      absl::StrCat(R"({"idempotency_key": "attach-e2e-0001", "report_type": "REPORT_TYPE_COMPLAINT",
                 "channel": "CHANNEL_WEB", "confidentiality": "CONFIDENTIALITY_PUBLIC",
                 "complainant": {"name": "Budi Santoso"}, "service_id": ")",
                   kAService, R"(", "description": "Jalan berlubang di depan kantor layanan"})"),
      bearer(e.web_channel_));
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string code = filed.Str("tracking_code");
  const std::string secret = filed.Str("secret");
  ASSERT_FALSE(code.empty());
  ASSERT_FALSE(secret.empty());
  const std::string base = absl::StrCat("/v1/complaints/", code, "/attachments");
  auto upload = [&](const std::string& bytes, const std::string& name, const std::string& type) {
    return HttpDo(
        port, "POST", base,
        absl::StrCat(R"({"content": ")", absl::Base64Escape(bytes), R"(", "file_name": ")", name,
                     R"(", "media_type": ")", type, R"("})"),
        bearer(e.web_channel_));
  };
  HttpResponse photo = upload(jpeg, "jalan.jpg", "image/jpeg");
  ASSERT_EQ(photo.status, 200) << photo.body;
  const std::string photo_id = photo.Str("attachment.id");
  EXPECT_EQ(photo.Str("attachment.media_type"), "image/jpeg");
  EXPECT_EQ(photo.Str("attachment.size_bytes"), absl::StrCat(jpeg.size()));
  // Declared as a JPEG photo, but the content is a PDF: stored as what it is.
  HttpResponse doc = upload(pdf, "surat.jpg", "image/jpeg");
  ASSERT_EQ(doc.status, 200) << doc.body;
  const std::string doc_id = doc.Str("attachment.id");
  EXPECT_EQ(doc.Str("attachment.media_type"), "application/pdf");
  // HTML (or an executable) named .jpg is refused, naming the field and what it is.
  HttpResponse disguised = upload(html, "foto.jpg", "image/jpeg");
  EXPECT_EQ(disguised.status, 400) << disguised.body;
  EXPECT_THAT(disguised.ViolationFields(), ::testing::ElementsAre("content"));
  EXPECT_THAT(disguised.body, HasSubstr("HTML"));
  HttpResponse exe = upload(std::string("MZ\x90\x00", 4) + "program", "foto.jpg", "image/jpeg");
  EXPECT_EQ(exe.status, 400) << exe.body;

  // The handling agency reads both, bytes intact.
  auto get = [&](const std::string& id, const std::map<std::string, std::string>& headers,
                 const std::string& body = "{}") {
    return HttpDo(port, "POST", absl::StrCat(base, "/", id, ":get"), body, headers);
  };
  for (const auto& [id, bytes] : {std::pair{photo_id, jpeg}, std::pair{doc_id, pdf}}) {
    HttpResponse read = get(id, bearer(e.a_op_));
    ASSERT_EQ(read.status, 200) << read.body;
    std::string decoded;
    ASSERT_TRUE(absl::Base64Unescape(read.Str("content"), &decoded)) << read.body;
    EXPECT_EQ(decoded, bytes);
  }
  // It redacts the document: gone for everyone, the record stays.
  HttpResponse redacted = HttpDo(port, "POST", absl::StrCat(base, "/", doc_id, ":redact"),
                                 R"({"reason": "memuat NIK warga lain"})", bearer(e.a_admin_));
  ASSERT_EQ(redacted.status, 200) << redacted.body;
  EXPECT_EQ(redacted.Str("attachment.redacted"), "true") << redacted.body;
  EXPECT_EQ(get(doc_id, bearer(e.a_op_)).status, 404);

  // The complainant, with tracking code and secret, sees the remaining photo.
  const std::string with_secret = absl::StrCat(R"({"secret": ")", secret, R"("})");
  HttpResponse listed = HttpDo(port, "POST", absl::StrCat(base, ":list"), with_secret, {});
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_THAT(listed.body, HasSubstr(photo_id));
  EXPECT_THAT(listed.body, Not(HasSubstr("NIK warga")));  // the reason stays with the agency
  HttpResponse tracked =
      HttpDo(port, "POST", absl::StrCat("/v1/complaints/", code, ":track"), with_secret, {});
  ASSERT_EQ(tracked.status, 200) << tracked.body;
  EXPECT_THAT(tracked.body, HasSubstr("RedactAttachment"));
  EXPECT_THAT(tracked.body, Not(HasSubstr("NIK warga")));
  HttpResponse mine = get(photo_id, {}, with_secret);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(get(doc_id, {}, with_secret).status, 404);
  // Another agency and the public learn nothing.
  EXPECT_EQ(get(photo_id, bearer(e.b_op_)).status, 404);
  EXPECT_EQ(get(photo_id, {}).status, 404);
  EXPECT_EQ(HttpDo(port, "POST", absl::StrCat(base, ":list"), "{}", bearer(e.b_admin_)).status,
            404);
  EXPECT_EQ(HttpDo(port, "POST", absl::StrCat(base, "/", photo_id, ":redact"), R"({"reason": "x"})",
                   bearer(e.b_admin_))
                .status,
            403);

  // Open311: no media_url and no media while unpublished; the agency verifies the case and
  // publishes the photo, then media_url serves its bytes with the sniffed type.
  const std::string media_path = absl::StrCat("/open311/v2/media/", code, "/", photo_id);
  EXPECT_EQ(HttpDo(port, "GET", media_path).status, 404);
  cv1::VerifyComplaintRequest verify;
  verify.set_id(code);
  Must(complaints(), &cv1::Complaints::Stub::VerifyComplaint, e.a_admin_, verify);
  HttpResponse before = HttpDo(port, "GET", absl::StrCat("/open311/v2/requests/", code, ".json"));
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.ItemStr(0, "media_url"), "") << before.body;
  HttpResponse published = HttpDo(port, "POST", absl::StrCat(base, "/", photo_id, ":publish"),
                                  R"({"published": true})", bearer(e.a_op_));
  ASSERT_EQ(published.status, 200) << published.body;
  HttpResponse after = HttpDo(port, "GET", absl::StrCat("/open311/v2/requests/", code, ".json"));
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.ItemStr(0, "media_url"), absl::StrCat("https://127.0.0.1:8100", media_path))
      << after.body;
  HttpResponse media = HttpDo(port, "GET", media_path);
  ASSERT_EQ(media.status, 200) << media.body;
  EXPECT_EQ(media.body, jpeg);
  EXPECT_EQ(media.Header("content-type"), "image/jpeg");
  EXPECT_EQ(media.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(HttpDo(port, "GET", absl::StrCat("/open311/v2/media/", code, "/", doc_id)).status, 404);
  EXPECT_EQ(HttpDo(port, "GET", "/open311/v2/media/..%2F..%2Fetc/passwd").status, 404);
  // The channel that filed it sees the document is redacted; the public list shows the photo.
  HttpResponse channel_list =
      HttpDo(port, "POST", absl::StrCat(base, ":list"), "{}", bearer(e.web_channel_));
  ASSERT_EQ(channel_list.status, 200) << channel_list.body;
  EXPECT_THAT(channel_list.body, HasSubstr(doc_id));
  HttpResponse public_list = HttpDo(port, "POST", absl::StrCat(base, ":list"), "{}", {});
  ASSERT_EQ(public_list.status, 200) << public_list.body;
  EXPECT_THAT(public_list.body, HasSubstr(photo_id));
  EXPECT_THAT(public_list.body, Not(HasSubstr(doc_id)));

  // Over gRPC through the gateway, a photo of the default limit (3 MiB) goes up and comes back
  // whole; one byte more is refused by the service, naming the field.
  cv1::UploadAttachmentRequest large;
  large.set_id(code);
  large.set_content(jpeg + std::string((3 << 20) - jpeg.size(), '\x5A'));
  cv1::UploadAttachmentResponse stored;
  ASSERT_TRUE(
      Call(complaints(), &cv1::Complaints::Stub::UploadAttachment, e.web_channel_, large, &stored)
          .ok());
  cv1::GetAttachmentRequest read_large;
  read_large.set_id(code);
  read_large.set_attachment_id(stored.attachment().id());
  EXPECT_EQ(Must(complaints(), &cv1::Complaints::Stub::GetAttachment, e.a_op_, read_large)
                .content()
                .size(),
            size_t{3 << 20});
  large.mutable_content()->push_back('Z');
  grpc::Status too_large =
      Code(complaints(), &cv1::Complaints::Stub::UploadAttachment, e.web_channel_, large);
  EXPECT_EQ(too_large.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << too_large.error_message();
  EXPECT_THAT(too_large.error_message(), HasSubstr("content"));
}

}  // namespace
}  // namespace simpul::gateway
