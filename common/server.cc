#include "common/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "common/admin_http.h"
#include "common/logging.h"

namespace simpul {
namespace {

// InFlightCounter counts a call from its start until gRPC destroys the interceptor, which it
// does when the call is completely done.
class InFlightCounter final : public grpc::experimental::Interceptor {
 public:
  explicit InFlightCounter(std::atomic<int64_t>* count) : count_(count) { ++*count_; }
  ~InFlightCounter() override { --*count_; }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  std::atomic<int64_t>* count_;
};

class InFlightCounterFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InFlightCounterFactory(std::atomic<int64_t>* count) : count_(count) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new InFlightCounter(count_);
  }

 private:
  std::atomic<int64_t>* count_;
};

}  // namespace

namespace {

constexpr int kMaxReceiveMessageBytes = 4 * 1024 * 1024;

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

ServiceHost::ServiceHost(ServiceHostOptions options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::AddService(grpc::Service* service) { services_.push_back(service); }

void ServiceHost::AddGenericService(grpc::CallbackGenericService* service) {
  generic_service_ = service;
}

void ServiceHost::SetReadinessCheck(std::function<absl::Status()> check) {
  readiness_check_ = std::move(check);
}

int ServiceHost::admin_port() const { return admin_ != nullptr ? admin_->port() : 0; }

std::shared_ptr<grpc::Channel> ServiceHost::InProcessChannel() {
  if (server_ == nullptr) return nullptr;
  return server_->InProcessChannel(grpc::ChannelArguments());
}

absl::Status ServiceHost::Start() {
  if (server_ != nullptr) return absl::FailedPreconditionError("ServiceHost already started");
  // Both are process-wide switches that the ServerBuilder reads when it is constructed.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      options_.listen_address,
      options_.credentials != nullptr ? options_.credentials : grpc::InsecureServerCredentials(),
      &port_);
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  // Let clients keep long-lived streams (change-feed watches) alive with keepalive pings every
  // 20 s or more, so a silently dropped connection is noticed; faster pings are refused.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  if (generic_service_ != nullptr) builder.RegisterCallbackGenericService(generic_service_);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<InFlightCounterFactory>(&in_flight_));
  if (metrics_ != nullptr) creators.push_back(MakeRpcMetricsInterceptorFactory(metrics_));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on \"", options_.listen_address, "\""));
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus("", false);
  if (!options_.service_name.empty()) health->SetServingStatus(options_.service_name, false);

  if (!options_.admin_address.empty()) {
    admin_ = std::make_unique<AdminHttpServer>(metrics_, [this] {
      absl::MutexLock lock(&mu_);
      return ready_;
    });
    absl::Status status = admin_->Start(options_.admin_address);
    if (!status.ok()) {
      admin_.reset();
      server_->Shutdown();
      server_.reset();
      return status;
    }
  }
  Log(LogLevel::kInfo, "gRPC server listening",
      {{"address", options_.listen_address}, {"port", port_}});
  readiness_thread_ = std::thread([this] { ReadinessLoop(); });
  return absl::OkStatus();
}

void ServiceHost::ReadinessLoop() {
  do {
    absl::Status status = readiness_check_ ? readiness_check_() : absl::OkStatus();
    absl::MutexLock lock(&mu_);
    if (shut_down_ || status.ok() == ready_) continue;
    ready_ = status.ok();
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    health->SetServingStatus("", ready_);
    if (!options_.service_name.empty()) health->SetServingStatus(options_.service_name, ready_);
    if (ready_) {
      Log(LogLevel::kInfo, "ready: serving");
    } else {
      Log(LogLevel::kWarn, "not ready: not serving", {{"reason", status.ToString()}});
    }
  } while (!stop_.WaitForNotificationWithTimeout(options_.readiness_interval));
}

void ServiceHost::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    ready_ = false;
  }
  if (server_ != nullptr) {
    Log(LogLevel::kInfo, "shutting down: draining in-flight calls",
        {{"drain_timeout", absl::FormatDuration(options_.drain_timeout)}});
    // Reports NOT_SERVING for every service and freezes it there.
    server_->GetHealthCheckService()->Shutdown();
    if (options_.on_drain) options_.on_drain();
    // gRPC's own drain also waits for clients to close idle connections, which can take the
    // whole timeout: wait for the calls ourselves, then shut down at once.
    absl::Time deadline = absl::Now() + options_.drain_timeout;
    while (in_flight_.load() > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
  }
  stop_.Notify();
  if (readiness_thread_.joinable()) readiness_thread_.join();
  if (admin_ != nullptr) admin_->Stop();
  if (server_ != nullptr) Log(LogLevel::kInfo, "shut down");
}

void ServiceHost::WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  Log(LogLevel::kInfo, "termination signal received", {{"signal", signal}});
  Shutdown();
}

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace simpul
