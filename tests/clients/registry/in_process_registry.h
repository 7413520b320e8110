// InProcessRegistry: simpul-registry served in-process for client tests: the registry's
// store, domain logic, change-feed hub and gRPC adapter over a real Redis, assembled as
// services/registry/main.cc does, on a plain grpc::Server on 127.0.0.1. InProcessRegistryTest:
// the fixture base of those tests.
#ifndef SIMPUL_TESTS_CLIENTS_REGISTRY_IN_PROCESS_REGISTRY_H_
#define SIMPUL_TESTS_CLIENTS_REGISTRY_IN_PROCESS_REGISTRY_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/logging.h"
#include "common/redis.h"
#include "gtest/gtest.h"
#include "services/registry/feed.h"
#include "services/registry/grpc_service.h"
#include "services/registry/redis_store.h"
#include "services/registry/registry.h"
#include "simpul/common/v1/common.pb.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "tests/testing/local_identity.h"
#include "tests/testing/redis_server.h"

namespace simpul::testing {

// InProcessRegistry is simpul-registry without its process shell: the same parts, served by a
// plain grpc::Server on 127.0.0.1:<port>.
class InProcessRegistry {
 public:
  // `feed_max_len`: change events kept in the feed (older ones are trimmed).
  InProcessRegistry(int redis_port, const IdentitySigner* signer, int64_t feed_max_len = 1000000)
      : pool_(RedisOptions{.port = redis_port, .pool_size = 4}),
        store_(&pool_,
               ::simpul::registry::RedisRegistryStore::Options{.feed_max_len = feed_max_len}),
        domain_(store_, clock_, ::simpul::registry::RegistryOptions{}),
        hub_(store_),
        executor_(4, 1000),
        service_(domain_, store_, hub_, executor_, signer, clock_) {}

  ~InProcessRegistry() { Shutdown(); }

  // Start serves on `port` (0: any free port) and returns the port, or 0 on failure.
  int Start(int port) {
    int selected = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                             &selected);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) return 0;
    hub_.Start();
    return selected;
  }

  // Shutdown ends the watch streams (as the registry's drain does), stops the server and
  // drains the workers.
  void Shutdown() {
    if (server_ == nullptr) return;
    hub_.Stop();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    executor_.Shutdown();
    server_.reset();
  }

 private:
  RedisPool pool_;
  ::simpul::registry::RedisRegistryStore store_;
  SystemClock clock_;
  ::simpul::registry::StandardsRegistry domain_;
  ::simpul::registry::ChangeFeedHub hub_;
  Executor executor_;
  ::simpul::registry::RegistryGrpcService service_;
  std::unique_ptr<grpc::Server> server_;
};

// InProcessRegistryTest is the fixture base of the registry client's tests: a redis-server, an
// IdentitySigner, an InProcessRegistry on both with an admin stub, and the process's log lines
// (captured from SetUp to TearDown). A derived TearDown stops its client first, then calls
// InProcessRegistryTest::TearDown().
class InProcessRegistryTest : public ::testing::Test {
 protected:
  // `key` signs the identities; `admin_subject` is the platform admin of AdminCtx.
  InProcessRegistryTest(std::string key, std::string admin_subject)
      : key_(std::move(key)), admin_subject_(std::move(admin_subject)) {}

  void SetUp() override {
    SetLogSink([this](std::string_view line) {
      absl::MutexLock lock(&log_mu_);
      log_.emplace_back(line);
    });
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    // key_ names the test's keys only: each fixture makes a fresh key pair, trusted for
    // people and for the service role of the "watch-test" and "router-test" callers.
    signer_ = LocalIdentityKeys("simpul-registry", {"watch-test", "router-test"});
    ASSERT_NO_FATAL_FAILURE(StartRegistry(0));
    admin_ = AdminStub(port_);
  }

  void TearDown() override {
    registry_.reset();
    SetLogSink(nullptr);
  }

  // LogLines returns the log lines so far.
  std::vector<std::string> LogLines() {
    absl::MutexLock lock(&log_mu_);
    return log_;
  }

  // StartRegistry serves a new registry_ on `port` (0: any free port) into port_.
  void StartRegistry(int port) {
    registry_ = std::make_unique<InProcessRegistry>(redis_->port(), signer_.get());
    port_ = registry_->Start(port);
    ASSERT_NE(port_, 0) << "cannot listen on 127.0.0.1:" << port;
  }

  // AdminStub talks to the registry on `port`, reconnecting quickly after a restart.
  static std::unique_ptr<::simpul::registry::v1::Registry::Stub> AdminStub(int port) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
    return ::simpul::registry::v1::Registry::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials(), args));
  }

  // AdminCtx is a call of the platform admin (10 s deadline, waiting for the registry).
  std::unique_ptr<grpc::ClientContext> AdminCtx() {
    common::v1::Principal p;
    p.set_role(common::v1::ROLE_PLATFORM_ADMIN);
    p.set_subject(admin_subject_);
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx->set_wait_for_ready(true);
    ctx->AddMetadata(std::string(kIdentityMetadataKey), LocalToken(*signer_, p, "simpul-registry"));
    return ctx;
  }

  const std::string key_;
  const std::string admin_subject_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<IdentitySigner> signer_;
  std::unique_ptr<InProcessRegistry> registry_;
  int port_ = 0;
  std::unique_ptr<::simpul::registry::v1::Registry::Stub> admin_;
  absl::Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_CLIENTS_REGISTRY_IN_PROCESS_REGISTRY_H_
