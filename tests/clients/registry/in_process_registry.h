// InProcessRegistry: simpul-registry served in-process for client tests: the registry's
// store, domain logic, change-feed hub and gRPC adapter over a real Redis, assembled as
// services/registry/main.cc does, on a plain grpc::Server on 127.0.0.1.
#ifndef SIMPUL_TESTS_CLIENTS_REGISTRY_IN_PROCESS_REGISTRY_H_
#define SIMPUL_TESTS_CLIENTS_REGISTRY_IN_PROCESS_REGISTRY_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/identity.h"
#include "common/redis.h"
#include "services/registry/feed.h"
#include "services/registry/grpc_service.h"
#include "services/registry/redis_store.h"
#include "services/registry/registry.h"

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

}  // namespace simpul::testing

#endif  // SIMPUL_TESTS_CLIENTS_REGISTRY_IN_PROCESS_REGISTRY_H_
