// simpul-echo-server: the ceiling of one gRPC hop on this machine (issue #18), for bench/run.
// It serves simpul.registry.v1.Registry/GetCurrentStandard and /SearchStandards through gRPC
// 1.51's callback API as raw unary methods: each call gets the same pre-serialized response,
// captured once at start from a real registry, without parsing the request, without Redis and
// without any Simpul logic (no interceptors, no metrics, no gate). Driven by simpul-loadgen with
// the same settings as the registry, its calls/s and CPU per call are what the registry's read
// path would cost if it did nothing but answer. Every other Registry method is UNIMPLEMENTED.
// With --api=cq it serves the same bytes through gRPC's async completion-queue API instead
// (AsyncGenericService, one completion queue and one polling thread of our own per core), to
// compare the two APIs' cost per call on this machine (issue #18 point 3). With
// --forward_to=HOST:PORT it is instead a bare proxy of the two methods (either API): each call
// goes on to that server as one unary call (grpc::GenericStub, on the same completion queue
// in the cq mode), with no metadata, gate or logging: the floor of a gRPC proxy's CPU per call.
//   simpul-echo-server --listen=127.0.0.1:7199 --capture_from=127.0.0.1:7101
//     --get_request_json='{"service_id":"akta-kelahiran-padang-pariaman"}'
//     --search_request_json='{"keyword":"akta","page":{"page_size":10}}'
// It stops on SIGTERM or SIGINT, and when the process that started it dies (PR_SET_PDEATHSIG),
// so a bench that is killed does not leave it behind. Never run by CI.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "simpul/registry/v1/registry.grpc.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace {

namespace registry = simpul::registry::v1;

constexpr char kUsage[] =
    R"(usage: simpul-echo-server --listen=127.0.0.1:PORT --capture_from=HOST:PORT [flags]

Answers Registry/GetCurrentStandard and Registry/SearchStandards with fixed bytes captured
once at start by calling those methods on the registry at --capture_from (plaintext, no
credentials: the anonymous public read). Prints one line, "simpul-echo-server: serving on
ADDR; GetCurrentStandard N bytes; SearchStandards M bytes", once it serves.

Flags:
  --listen=HOST:PORT           where to serve (plaintext; bench/run gives a loopback port)
  --capture_from=HOST:PORT     the registry the responses are captured from
  --get_request_json=JSON      the GetCurrentStandardRequest to capture the answer of
  --search_request_json=JSON   the SearchStandardsRequest to capture the answer of
                               (default: the empty request)
  --api=callback|cq            gRPC's callback API (default) or the async completion-queue
                               API with one polling thread per core
  --forward_to=HOST:PORT       forward the two methods there instead of answering them
Exit status: 0 stopped by a signal; 1 the capture or the server failed; 2 bad usage.
)";

struct Flags {
  std::string listen;
  std::string capture_from;
  std::string get_request_json;
  std::string search_request_json = "{}";
  bool cq = false;  // --api=cq
  std::string forward_to;
};

// ParseFlags fills *flags from --name=value arguments; it returns an error message, or an
// empty string when the flags are good.
std::string ParseFlags(int argc, char** argv, Flags* flags, bool* help) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return "";
    }
    const size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      return absl::StrCat("unexpected argument '", arg, "' (expected --name=value)");
    }
    const std::string name = arg.substr(2, eq - 2);
    const std::string value = arg.substr(eq + 1);
    if (name == "listen") {
      flags->listen = value;
    } else if (name == "capture_from") {
      flags->capture_from = value;
    } else if (name == "get_request_json") {
      flags->get_request_json = value;
    } else if (name == "search_request_json") {
      flags->search_request_json = value;
    } else if (name == "forward_to") {
      flags->forward_to = value;
    } else if (name == "api") {
      if (value != "callback" && value != "cq") return "--api must be callback or cq";
      flags->cq = value == "cq";
    } else {
      return absl::StrCat("unknown flag --", name);
    }
  }
  if (flags->listen.empty()) return "--listen is required";
  if (flags->capture_from.empty()) return "--capture_from is required";
  if (flags->get_request_json.empty()) return "--get_request_json is required";
  return "";
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Capture parses request_json as Request, calls the registry with it and returns the
// serialized response, or an error message in *error.
template <typename Request, typename Response, typename Call>
std::string Capture(const std::string& what, const std::string& request_json, Call call,
                    std::string* error) {
  Request request;
  if (auto status = google::protobuf::util::JsonStringToMessage(request_json, &request);
      !status.ok()) {
    *error = absl::StrCat(what, ": bad request JSON: ", status.ToString());
    return "";
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  Response response;
  const grpc::Status status = call(&context, request, &response);
  if (!status.ok()) {
    *error = absl::StrCat(what, " on the registry failed: ", status.error_code(), " ",
                          status.error_message());
    return "";
  }
  return response.SerializeAsString();
}

// EchoRegistry answers the two read methods with fixed bytes; the other methods keep the
// generated callback defaults (UNIMPLEMENTED).
class EchoRegistry final : public registry::Registry::WithRawCallbackMethod_GetCurrentStandard<
                               registry::Registry::WithRawCallbackMethod_SearchStandards<
                                   registry::Registry::CallbackService>> {
 public:
  // `forward` (may be null): the stub calls are forwarded through instead of answered.
  EchoRegistry(const std::string& get_response, const std::string& search_response,
               grpc::GenericStub* forward)
      : get_response_(ToByteBuffer(get_response)),
        search_response_(ToByteBuffer(search_response)),
        forward_(forward) {}

  grpc::ServerUnaryReactor* GetCurrentStandard(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) override {
    if (forward_ != nullptr) return Forward(context, kGetMethod, request, response);
    return Answer(context, get_response_, response);
  }

  grpc::ServerUnaryReactor* SearchStandards(grpc::CallbackServerContext* context,
                                            const grpc::ByteBuffer* request,
                                            grpc::ByteBuffer* response) override {
    if (forward_ != nullptr) return Forward(context, kSearchMethod, request, response);
    return Answer(context, search_response_, response);
  }

  static constexpr char kGetMethod[] = "/simpul.registry.v1.Registry/GetCurrentStandard";
  static constexpr char kSearchMethod[] = "/simpul.registry.v1.Registry/SearchStandards";

 private:
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context, const char* method,
                                    const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    auto* client = new grpc::ClientContext;
    client->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    forward_->UnaryCall(client, method, grpc::StubOptions(), request, response,
                        [reactor, client](grpc::Status status) {
                          delete client;
                          reactor->Finish(status);
                        });
    return reactor;
  }

  static grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer& fixed,
                                          grpc::ByteBuffer* response) {
    *response = fixed;  // shares the slices: no copy of the bytes
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  const grpc::ByteBuffer get_response_;
  const grpc::ByteBuffer search_response_;
  grpc::GenericStub* const forward_;
};

constexpr const char* kGetMethod = EchoRegistry::kGetMethod;
constexpr const char* kSearchMethod = EchoRegistry::kSearchMethod;

// AsyncEcho serves the same answers through the async completion-queue API: one completion
// queue per polling thread, each with a call object waiting for the next call. A call object
// moves through kWaiting (RequestCall posted) → kReading (the request) → kFinishing (answer
// and status sent), then waits for the next call again.
class AsyncEcho {
 public:
  AsyncEcho(const std::string& get_response, const std::string& search_response,
            grpc::GenericStub* forward)
      : get_response_(ToByteBuffer(get_response)),
        search_response_(ToByteBuffer(search_response)),
        forward_(forward) {}

  grpc::AsyncGenericService* service() { return &service_; }

  // Serve polls `cq` until it is shut down; `calls` call objects wait on it at once.
  void Serve(grpc::ServerCompletionQueue* cq, int calls) {
    std::vector<std::unique_ptr<EchoCall>> owned;
    for (int i = 0; i < calls; ++i) {
      owned.push_back(std::make_unique<EchoCall>(this, cq));
      owned.back()->Wait();
    }
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) static_cast<EchoCall*>(tag)->Proceed(ok);
  }

 private:
  struct EchoCall {
    EchoCall(AsyncEcho* echo, grpc::ServerCompletionQueue* cq) : echo(echo), cq(cq) {}

    void Wait() {
      ctx = std::make_unique<grpc::GenericServerContext>();
      stream = std::make_unique<grpc::GenericServerAsyncReaderWriter>(ctx.get());
      state = kWaiting;
      echo->service_.RequestCall(ctx.get(), stream.get(), cq, cq, this);
    }

    void Proceed(bool ok) {
      switch (state) {
        case kWaiting:
          if (!ok) return;  // shutting down
          state = kReading;
          stream->Read(&request, this);
          return;
        case kReading:
          state = kFinishing;
          if (ok && echo->forward_ != nullptr &&
              (ctx->method() == kGetMethod || ctx->method() == kSearchMethod)) {
            state = kForwarding;
            client = std::make_unique<grpc::ClientContext>();
            client->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
            forwarded = echo->forward_->PrepareUnaryCall(client.get(), ctx->method(), request, cq);
            forwarded->StartCall();
            forwarded->Finish(&response, &forwarded_status, this);
          } else if (!ok) {
            stream->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "no request"), this);
          } else if (ctx->method() == kGetMethod) {
            stream->WriteAndFinish(echo->get_response_, grpc::WriteOptions(), grpc::Status::OK,
                                   this);
          } else if (ctx->method() == kSearchMethod) {
            stream->WriteAndFinish(echo->search_response_, grpc::WriteOptions(), grpc::Status::OK,
                                   this);
          } else {
            stream->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such method"), this);
          }
          return;
        case kForwarding:
          state = kFinishing;
          if (forwarded_status.ok()) {
            stream->WriteAndFinish(response, grpc::WriteOptions(), grpc::Status::OK, this);
          } else {
            stream->Finish(forwarded_status, this);
          }
          return;
        case kFinishing:
          forwarded.reset();
          client.reset();
          Wait();
          return;
      }
    }

    enum State { kWaiting, kReading, kForwarding, kFinishing };
    AsyncEcho* const echo;
    grpc::ServerCompletionQueue* const cq;
    State state = kWaiting;
    std::unique_ptr<grpc::GenericServerContext> ctx;
    std::unique_ptr<grpc::GenericServerAsyncReaderWriter> stream;
    grpc::ByteBuffer request;
    // Forwarding: the call to the server behind, its answer and status.
    std::unique_ptr<grpc::ClientContext> client;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> forwarded;
    grpc::ByteBuffer response;
    grpc::Status forwarded_status;
  };

  grpc::AsyncGenericService service_;
  const grpc::ByteBuffer get_response_;
  const grpc::ByteBuffer search_response_;
  grpc::GenericStub* const forward_;
};

}  // namespace

int main(int argc, char** argv) {
  // Block the termination signals in every thread (gRPC's too) so that sigwait receives them,
  // and get SIGTERM when the bench that started this process dies.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0UL, 0UL, 0UL);
  if (getppid() != parent) return 0;  // the parent died before the line above

  Flags flags;
  bool help = false;
  if (const std::string error = ParseFlags(argc, argv, &flags, &help); !error.empty()) {
    std::cerr << "simpul-echo-server: " << error << "\n\n" << kUsage;
    return 2;
  }
  if (help) {
    std::cout << kUsage;
    return 0;
  }

  auto stub = registry::Registry::NewStub(
      grpc::CreateChannel(flags.capture_from, grpc::InsecureChannelCredentials()));
  std::string error;
  const std::string get_response =
      Capture<registry::GetCurrentStandardRequest, registry::GetCurrentStandardResponse>(
          "GetCurrentStandard", flags.get_request_json,
          [&](grpc::ClientContext* context, const auto& request, auto* response) {
            return stub->GetCurrentStandard(context, request, response);
          },
          &error);
  if (!error.empty()) {
    std::cerr << "simpul-echo-server: " << error << "\n";
    return 1;
  }
  const std::string search_response =
      Capture<registry::SearchStandardsRequest, registry::SearchStandardsResponse>(
          "SearchStandards", flags.search_request_json,
          [&](grpc::ClientContext* context, const auto& request, auto* response) {
            return stub->SearchStandards(context, request, response);
          },
          &error);
  if (!error.empty()) {
    std::cerr << "simpul-echo-server: " << error << "\n";
    return 1;
  }
  stub.reset();

  std::unique_ptr<grpc::GenericStub> forward;
  if (!flags.forward_to.empty()) {
    forward = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel(flags.forward_to, grpc::InsecureChannelCredentials()));
  }
  EchoRegistry service(get_response, search_response, forward.get());
  AsyncEcho async_echo(get_response, search_response, forward.get());
  const int threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(flags.listen, grpc::InsecureServerCredentials());
  if (flags.cq) {
    builder.RegisterAsyncGenericService(async_echo.service());
    for (int i = 0; i < threads; ++i) cqs.push_back(builder.AddCompletionQueue());
  } else {
    builder.RegisterService(&service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::cerr << "simpul-echo-server: cannot serve on " << flags.listen << "\n";
    return 1;
  }
  std::vector<std::thread> pollers;
  for (auto& cq : cqs) {
    pollers.emplace_back([&async_echo, cq = cq.get()] { async_echo.Serve(cq, 64); });
  }
  std::cerr << "simpul-echo-server: serving on " << flags.listen << " ("
            << (flags.cq ? absl::StrCat("completion queues, ", threads, " threads")
                         : "callback API")
            << (forward != nullptr ? absl::StrCat(", forwarding to ", flags.forward_to) : "")
            << "); GetCurrentStandard " << get_response.size() << " bytes; SearchStandards "
            << search_response.size() << " bytes" << std::endl;

  int signal = 0;
  while (sigwait(&signals, &signal) != 0) {
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  // The polling threads re-arm their calls as they complete, which a shut-down completion
  // queue would not take: a bench tool stops here without draining them.
  if (flags.cq) _exit(0);
  return 0;
}
