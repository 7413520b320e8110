// simpul-loadgen: the load generator of issue #6. It calls one unary gRPC method of any Simpul
// service, named in full, with raw request bytes through grpc::GenericStub's callback API, over
// N separate connections, and prints the throughput, the latency percentiles and the errors by
// status code of the calls it made after a warm-up:
//   simpul-loadgen --target=127.0.0.1:7101 --method=/simpul.registry.v1.Registry/GetAgency
//     --request_json='{"id":"kota-bogor"}' --connections=2 --inflight=16 --duration=10
// Closed loop (the default) keeps M calls in flight on every connection. Open loop (--rate=R)
// sends R calls/s in all on a fixed schedule and measures each call from its intended send time,
// so a server that falls behind cannot slow the sender down and hide its queueing (no
// "coordinated omission"). Benchmarks are never run by CI: this tool only prints figures.
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/json.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "simpul/complaints/v1/complaints.pb.h"
#include "simpul/monitoring/v1/monitoring.pb.h"
#include "simpul/registry/v1/registry.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr char kUsage[] =
    R"(usage: simpul-loadgen --target=HOST:PORT --method=/PACKAGE.SERVICE/METHOD [flags]

Calls one unary method, then prints, of the calls intended to start in the measured window
(after the warm-up): how many completed, whatever their status; their throughput (calls /
duration, or calls / time to the last completion if the server took longer); the latency
percentiles of the successful ones in microseconds, from the intended send time; and the errors
by gRPC status code. Open loop also prints the send lag: how late the tool itself sent calls
(its sleeps overshoot; that lateness is part of the latencies).

Flags (a value may also follow its flag as the next argument: --duration 5):
  --target=HOST:PORT        the server (plaintext)
  --method=NAME             full method name, e.g. /simpul.registry.v1.Registry/GetAgency
  --request_json=JSON       the request in the canonical JSON mapping of the method's input type
                            (simpul.registry.v1, simpul.complaints.v1, simpul.monitoring.v1).
                            Default: the empty request, which also works for methods outside
                            these packages (e.g. /grpc.health.v1.Health/Check)
  --metadata='KEY: VALUE'   sent with every call; repeatable
  --connections=N           separate channels, each with its own TCP connection (default 1)
  --inflight=M              closed loop: calls kept in flight per connection (default 1).
                            open loop: at most M x N calls outstanding (default M = 1000); a
                            send that finds the limit reached waits, and the wait counts in its
                            latency
  --rate=R                  open loop at R calls/s over all connections; 0: closed loop
                            (default 0)
  --warmup=SECONDS          calls before the measured window, not counted (default 1)
  --duration=SECONDS        length of the measured window (default 10)
  --deadline_ms=MS          deadline of every call (default 1000). Late open-loop sends are
                            made up to this long after the window closes, and calls in flight
                            are then waited for this long plus 1 s at most
  --unique_field=NAME       a string field of the request set to a unique value per call,
                            "<prefix>-<run id>-<counter>" (e.g. idempotency_key)
  --unique_prefix=TEXT      the prefix of those values (default loadgen)
  --json_out=FILE           also write the results as a JSON object to FILE
  --label=TEXT              names the run in the summary and the JSON

Open-loop sends not made by a deadline after the window closed (the outstanding limit was
reached or the tool fell behind) are not calls: they are counted as errors under NOT_SENT.
Exit status: 0 run done (whatever the calls returned); 1 setup failed or calls were still
outstanding at the end; 2 bad usage.
)";

// ---------------------------------------------------------------------------------------------
// Flags

struct Flags {
  std::string target;
  std::string method;  // "/package.Service/Method"
  std::string request_json;
  std::vector<std::pair<std::string, std::string>> metadata;
  int connections = 1;
  std::optional<int> inflight;  // unset: 1 in closed loop, 1000 in open loop
  double rate = 0;              // calls/s over all connections; 0 means closed loop
  double warmup_s = 1;
  double duration_s = 10;
  int deadline_ms = 1000;
  std::string unique_field;
  std::string unique_prefix = "loadgen";
  std::string json_out;
  std::string label;

  bool open_loop() const { return rate > 0; }
  int inflight_or_default() const { return inflight.value_or(open_loop() ? 1000 : 1); }
};

// ParseMetadata reads "key: value" into a lower-case key and a trimmed value.
bool ParseMetadata(const std::string& text, std::pair<std::string, std::string>* out) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return false;
  std::string key(absl::StripAsciiWhitespace(absl::string_view(text).substr(0, colon)));
  absl::AsciiStrToLower(&key);
  if (key.empty()) return false;
  for (char c : key) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!allowed) return false;
  }
  *out = {key, std::string(absl::StripAsciiWhitespace(absl::string_view(text).substr(colon + 1)))};
  return true;
}

// ParseFlags fills *flags from argv (hand-parsed like the project's other tools, because
// --metadata repeats). It returns an error message, or an empty string when the flags are good.
std::string ParseFlags(int argc, char** argv, Flags* flags, bool* help) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return "";
    }
    if (arg.rfind("--", 0) != 0) return absl::StrCat("unexpected argument '", arg, "'");
    std::string name = arg.substr(2);
    std::string value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::StrCat("--", name, " needs a value");
    }
    const std::string bad = absl::StrCat("--", name, ": bad value '", value, "'");
    if (name == "target") {
      flags->target = value;
    } else if (name == "method") {
      flags->method = value;
    } else if (name == "request_json") {
      flags->request_json = value;
    } else if (name == "metadata") {
      std::pair<std::string, std::string> entry;
      if (!ParseMetadata(value, &entry)) return absl::StrCat(bad, " (expected 'key: value')");
      flags->metadata.push_back(std::move(entry));
    } else if (name == "connections") {
      if (!absl::SimpleAtoi(value, &flags->connections) || flags->connections < 1 ||
          flags->connections > 1000) {
        return absl::StrCat(bad, " (expected 1..1000)");
      }
    } else if (name == "inflight") {
      int inflight = 0;
      if (!absl::SimpleAtoi(value, &inflight) || inflight < 1 || inflight > 100000) {
        return absl::StrCat(bad, " (expected 1..100000)");
      }
      flags->inflight = inflight;
    } else if (name == "rate") {
      if (!absl::SimpleAtod(value, &flags->rate) || !(flags->rate >= 0) || flags->rate > 1e7) {
        return absl::StrCat(bad, " (expected 0..1e7 calls/s)");
      }
    } else if (name == "warmup") {
      if (!absl::SimpleAtod(value, &flags->warmup_s) || !(flags->warmup_s >= 0) ||
          flags->warmup_s > 3600) {
        return absl::StrCat(bad, " (expected 0..3600 seconds)");
      }
    } else if (name == "duration") {
      if (!absl::SimpleAtod(value, &flags->duration_s) || !(flags->duration_s > 0) ||
          flags->duration_s > 86400) {
        return absl::StrCat(bad, " (expected more than 0, at most 86400 seconds)");
      }
    } else if (name == "deadline_ms") {
      if (!absl::SimpleAtoi(value, &flags->deadline_ms) || flags->deadline_ms < 1 ||
          flags->deadline_ms > 3600000) {
        return absl::StrCat(bad, " (expected 1..3600000)");
      }
    } else if (name == "unique_field") {
      flags->unique_field = value;
    } else if (name == "unique_prefix") {
      flags->unique_prefix = value;
    } else if (name == "json_out") {
      flags->json_out = value;
    } else if (name == "label") {
      flags->label = value;
    } else {
      return absl::StrCat("unknown flag --", name);
    }
  }
  if (flags->target.empty()) return "--target is required";
  if (flags->method.empty()) return "--method is required";
  return "";
}

// ---------------------------------------------------------------------------------------------
// Latency histogram

// Histogram counts values (latencies in nanoseconds) in log-linear buckets, like HdrHistogram:
// every value below 256 has a bucket of its own; above, each range [2^e, 2^(e+1)) is split into
// 128 equal buckets, so a bucket is at most 1/128 (0.8%) of the values in it wide. Quantiles are
// reported as the top of their bucket (never above the largest value recorded), within 0.8% of
// the exact figure. Not thread-safe: each connection keeps one under its mutex, and the
// connections' histograms are merged at the end.
class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr int kSubBuckets = 1 << kSubBits;  // 128 buckets per power of two
  static constexpr int kMaxExponent = 42;            // values up to 2^43 ns (2.4 hours)
  static constexpr uint64_t kLimit = uint64_t{1} << (kMaxExponent + 1);
  static constexpr int kBuckets = (kMaxExponent - kSubBits + 2) * kSubBuckets;

  Histogram() : counts_(kBuckets, 0) {}

  void Record(uint64_t value) {
    ++counts_[BucketOf(value)];
    ++count_;
    max_ = std::max(max_, value);
  }

  void Merge(const Histogram& other) {
    for (int b = 0; b < kBuckets; ++b) counts_[b] += other.counts_[b];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }

  // ValueAtQuantile is the smallest value (to bucket precision) that at least a fraction `q` of
  // the recorded values do not exceed; 0 for an empty histogram.
  uint64_t ValueAtQuantile(double q) const {
    if (count_ == 0) return 0;
    const uint64_t rank =
        std::clamp<uint64_t>(static_cast<uint64_t>(std::ceil(q * count_)), 1, count_);
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= rank) return std::min(BucketTop(b), max_);
    }
    return max_;
  }

 private:
  static int BucketOf(uint64_t value) {
    value = std::min(value, kLimit - 1);
    if (value < 2 * kSubBuckets) return static_cast<int>(value);
    // 2^e <= value < 2^(e+1) with e >= 8: keep the 8 leading bits (128..255).
    const int shift = static_cast<int>(std::bit_width(value)) - 1 - kSubBits;
    return shift * kSubBuckets + static_cast<int>(value >> shift);
  }

  // BucketTop is the largest value that falls in `bucket` (the inverse of BucketOf).
  static uint64_t BucketTop(int bucket) {
    if (bucket < 2 * kSubBuckets) return static_cast<uint64_t>(bucket);
    const int shift = bucket / kSubBuckets - 1;
    const uint64_t low = static_cast<uint64_t>(bucket - shift * kSubBuckets) << shift;
    return low + (uint64_t{1} << shift) - 1;
  }

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Requests

// StatusCodeName is the canonical name of a gRPC status code, e.g. "NOT_FOUND".
std::string StatusCodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  if (index >= 0 && index < static_cast<int>(std::size(kNames))) return kNames[index];
  return absl::StrCat("CODE_", index);
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// LinkedProtoFiles names one message of each generated file whose services the tool knows.
// Referencing them makes the linker keep those files (static libraries drop unreferenced
// objects), and their static initialisers register them in the generated descriptor pool.
std::vector<std::string> LinkedProtoFiles() {
  return {simpul::registry::v1::GetAgencyRequest::descriptor()->file()->name(),
          simpul::complaints::v1::FileComplaintRequest::descriptor()->file()->name(),
          simpul::monitoring::v1::GetFiguresRequest::descriptor()->file()->name()};
}

// RequestMaker makes each call's request bytes: the one serialised request every time, or with
// a unique field, a copy of the parsed request with that field set to
// "<prefix>-<run id>-<counter>", serialised anew. Next is called on gRPC threads concurrently: it
// only reads the parsed request, and the counter is atomic.
class RequestMaker {
 public:
  // Init parses flags.request_json as the input type of flags.method. It returns an error
  // message, or an empty string when done.
  std::string Init(const Flags& flags) {
    // "/a.b.Service/Method" -> "a.b.Service.Method".
    const size_t slash = flags.method.rfind('/');
    if (flags.method.size() < 4 || flags.method[0] != '/' || slash == 0 ||
        slash + 1 == flags.method.size()) {
      return absl::StrCat("--method '", flags.method,
                          "' is not a full method name like /package.Service/Method");
    }
    std::string full_name = flags.method.substr(1);
    full_name[slash - 1] = '.';
    LinkedProtoFiles();
    const google::protobuf::MethodDescriptor* method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name);
    if (method == nullptr) {
      // Unknown to this tool: the empty request is still valid for any method.
      if (!flags.request_json.empty() || !flags.unique_field.empty()) {
        return absl::StrCat("method ", full_name,
                            " is not in the linked protos, so --request_json and "
                            "--unique_field cannot be used with it");
      }
      fixed_ = ToByteBuffer("");
      return "";
    }
    if (method->client_streaming() || method->server_streaming()) {
      return absl::StrCat("method ", full_name, " streams; only unary methods can be called");
    }
    const Descriptor* input = method->input_type();
    parsed_.reset(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(input)->New());
    if (!flags.request_json.empty()) {
      const auto parsed =
          google::protobuf::util::JsonStringToMessage(flags.request_json, parsed_.get());
      if (!parsed.ok()) {
        return absl::StrCat("--request_json is not a valid ", input->full_name(), ": ",
                            parsed.ToString());
      }
    }
    if (!flags.unique_field.empty()) {
      unique_field_ = input->FindFieldByName(flags.unique_field);
      if (unique_field_ == nullptr || unique_field_->is_repeated() ||
          unique_field_->type() != FieldDescriptor::TYPE_STRING) {
        return absl::StrCat("--unique_field: ", input->full_name(),
                            " has no singular string field '", flags.unique_field, "'");
      }
      std::random_device random;
      unique_base_ =
          absl::StrCat(flags.unique_prefix, "-", absl::Hex(random(), absl::kZeroPad8), "-");
    }
    fixed_ = ToByteBuffer(parsed_->SerializeAsString());
    return "";
  }

  grpc::ByteBuffer Next() {
    if (unique_field_ == nullptr) return fixed_;  // shares the slice, copies nothing
    std::unique_ptr<Message> request(parsed_->New());
    request->CopyFrom(*parsed_);
    request->GetReflection()->SetString(request.get(), unique_field_,
                                        absl::StrCat(unique_base_, counter_.fetch_add(1)));
    return ToByteBuffer(request->SerializeAsString());
  }

 private:
  std::unique_ptr<Message> parsed_;  // null for a method outside the linked protos
  grpc::ByteBuffer fixed_;
  const FieldDescriptor* unique_field_ = nullptr;
  std::string unique_base_;  // "<prefix>-<run id>-"
  std::atomic<uint64_t> counter_{0};
};

// ---------------------------------------------------------------------------------------------
// The run

// CallStats adds up the measured calls: latencies of the successful ones, errors by code.
struct CallStats {
  Histogram latency_ns;
  uint64_t ok = 0;
  std::map<std::string, uint64_t> errors;             // by status code name
  std::map<std::string, std::string> first_messages;  // the first error message of each code
  Clock::time_point last_done;                        // when the last one completed

  void Merge(const CallStats& other) {
    latency_ns.Merge(other.latency_ns);
    ok += other.ok;
    last_done = std::max(last_done, other.last_done);
    for (const auto& [code, count] : other.errors) errors[code] += count;
    for (const auto& [code, message] : other.first_messages) first_messages.emplace(code, message);
  }
  uint64_t calls() const {
    uint64_t total = ok;
    for (const auto& [code, count] : errors) total += count;
    return total;
  }
};

// Connection is one channel with its own TCP connection, and the stats of its calls. Completion
// callbacks of one connection can run on several gRPC threads at once, hence the mutex.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  std::mutex mu;
  CallStats stats;  // guarded by mu
};

// Call is one call in flight, from StartCall to its completion callback, which deletes it.
struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  Clock::time_point intended_start;
};

class LoadRun {
 public:
  LoadRun(const Flags& flags, RequestMaker& requests,
          std::vector<std::unique_ptr<Connection>>& connections)
      : flags_(flags), requests_(requests), connections_(connections) {}

  // Run makes the calls of the warm-up and the measured window, then waits for the calls in
  // flight (their deadline plus a second at most). False if some are still outstanding then.
  bool Run() {
    const Clock::time_point start = Clock::now();
    measure_start_ = start + Seconds(flags_.warmup_s);
    measure_end_ = measure_start_ + Seconds(flags_.duration_s);
    if (flags_.open_loop()) {
      RunOpenLoop(start);
    } else {
      // Each completion starts the next call on its connection until the window closes.
      for (auto& connection : connections_) {
        for (int i = 0; i < flags_.inflight_or_default(); ++i) StartCall(*connection, Clock::now());
      }
      std::this_thread::sleep_until(measure_end_);
    }
    const Clock::time_point give_up =
        Clock::now() + std::chrono::milliseconds(flags_.deadline_ms) + std::chrono::seconds(1);
    std::unique_lock<std::mutex> lock(done_mu_);
    return done_cv_.wait_until(lock, give_up, [this] { return outstanding_.load() == 0; });
  }

  // Stats merges the stats of the connections (of the calls completed so far).
  CallStats Stats() {
    CallStats total;
    for (auto& connection : connections_) {
      std::lock_guard<std::mutex> lock(connection->mu);
      total.Merge(connection->stats);
    }
    return total;
  }

  int64_t outstanding() const { return outstanding_.load(); }
  // Open loop: the measured sends that were not made, and how late the others went out.
  uint64_t not_sent() const { return not_sent_; }
  Clock::time_point measure_start() const { return measure_start_; }
  const Histogram& send_lag_ns() const { return send_lag_ns_; }

 private:
  static Clock::duration Seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }

  bool Measured(Clock::time_point intended_start) const {
    return intended_start >= measure_start_ && intended_start < measure_end_;
  }

  // RunOpenLoop sends call k at start + k / rate, round-robin over the connections. A send that
  // is late (the sender fell behind, or the outstanding limit was reached) goes out at once and
  // still counts from its intended time. Warm-up sends still due when the window opens are
  // dropped (they would not count). Measured sends still due a deadline after the window closed
  // are not made (the run must end) but are counted as NOT_SENT errors.
  void RunOpenLoop(Clock::time_point start) {
    const double interval_ns = 1e9 / flags_.rate;
    auto intended_of = [&](uint64_t k) {
      return start +
             std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(k) * interval_ns));
    };
    const int64_t limit = static_cast<int64_t>(flags_.inflight_or_default()) * connections_.size();
    const Clock::time_point stop_sending =
        measure_end_ + std::chrono::milliseconds(flags_.deadline_ms);
    for (uint64_t k = 0; intended_of(k) < measure_end_; ++k) {
      std::this_thread::sleep_until(intended_of(k));
      while (outstanding_.load() >= limit && Clock::now() < stop_sending) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      const Clock::time_point now = Clock::now();
      if (now >= stop_sending) {
        for (; intended_of(k) < measure_end_; ++k) {
          if (Measured(intended_of(k))) ++not_sent_;
        }
        return;
      }
      if (now >= measure_start_) {
        while (intended_of(k) < measure_start_) ++k;  // drop the warm-up backlog
      }
      if (Measured(intended_of(k))) {
        send_lag_ns_.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - intended_of(k)).count()));
      }
      StartCall(*connections_[k % connections_.size()], intended_of(k));
    }
  }

  void StartCall(Connection& connection, Clock::time_point intended_start) {
    auto* call = new Call;  // deleted by OnDone
    call->intended_start = intended_start;
    call->request = requests_.Next();
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(flags_.deadline_ms));
    for (const auto& [key, value] : flags_.metadata) call->context.AddMetadata(key, value);
    outstanding_.fetch_add(1);
    connection.stub->UnaryCall(
        &call->context, flags_.method, grpc::StubOptions(), &call->request, &call->response,
        [this, &connection, call](grpc::Status status) { OnDone(connection, call, status); });
  }

  // OnDone runs on a gRPC thread when a call completes.
  void OnDone(Connection& connection, Call* call, const grpc::Status& status) {
    const Clock::time_point done = Clock::now();
    if (Measured(call->intended_start)) {
      std::lock_guard<std::mutex> lock(connection.mu);
      CallStats& stats = connection.stats;
      stats.last_done = std::max(stats.last_done, done);
      if (status.ok()) {
        ++stats.ok;
        stats.latency_ns.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(done - call->intended_start)
                .count()));
      } else {
        const std::string code = StatusCodeName(status.error_code());
        ++stats.errors[code];
        stats.first_messages.emplace(code, status.error_message());
      }
    }
    // Closed loop: the next call starts before this one is uncounted, so outstanding_ only
    // reaches 0 at the end.
    if (!flags_.open_loop() && done < measure_end_) StartCall(connection, Clock::now());
    delete call;
    if (outstanding_.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(done_mu_);
      done_cv_.notify_all();
    }
  }

  const Flags& flags_;
  RequestMaker& requests_;
  std::vector<std::unique_ptr<Connection>>& connections_;
  Clock::time_point measure_start_;  // set before the first call starts, then only read
  Clock::time_point measure_end_;
  std::atomic<int64_t> outstanding_{0};
  // Open loop only; written by the sending (main) thread.
  uint64_t not_sent_ = 0;
  Histogram send_lag_ns_;
  std::mutex done_mu_;
  std::condition_variable done_cv_;  // notified when outstanding_ drops to 0
};

// ---------------------------------------------------------------------------------------------
// Report

// Report is what a run prints; latencies in microseconds.
struct Report {
  uint64_t calls = 0;
  uint64_t ok = 0;
  double throughput = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  std::map<std::string, uint64_t> errors;
  double send_lag_p50_us = 0, send_lag_p99_us = 0;  // open loop
};

// MakeReport sums up the measured calls: `calls` are those made and completed, whatever their
// status; latencies are those of the successful ones. The throughput divides the calls by the
// window's duration, or by the time from the window's start to the last completion if that is
// longer (an overloaded server still finishing the window's calls after it closed). Sends of the
// open loop that were not made appear only among the errors, as NOT_SENT.
Report MakeReport(const Flags& flags, const CallStats& stats, Clock::time_point measure_start,
                  uint64_t not_sent, const Histogram& send_lag_ns) {
  const Histogram& h = stats.latency_ns;
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  const double span_s = std::max(
      flags.duration_s, std::chrono::duration<double>(stats.last_done - measure_start).count());
  Report report{.calls = stats.calls(),
                .ok = stats.ok,
                .throughput = static_cast<double>(stats.calls()) / span_s,
                .p50_us = us(h.ValueAtQuantile(0.50)),
                .p90_us = us(h.ValueAtQuantile(0.90)),
                .p99_us = us(h.ValueAtQuantile(0.99)),
                .p999_us = us(h.ValueAtQuantile(0.999)),
                .max_us = us(h.max()),
                .errors = stats.errors,
                .send_lag_p50_us = us(send_lag_ns.ValueAtQuantile(0.50)),
                .send_lag_p99_us = us(send_lag_ns.ValueAtQuantile(0.99))};
  if (not_sent > 0) report.errors["NOT_SENT"] = not_sent;
  return report;
}

std::string SummaryLine(const Flags& flags, const Report& r) {
  std::string mode =
      flags.open_loop()
          ? absl::StrFormat("open loop %g/s, %d conns (<= %d outstanding each)", flags.rate,
                            flags.connections, flags.inflight_or_default())
          : absl::StrFormat("closed loop, %d conns x %d inflight", flags.connections,
                            flags.inflight_or_default());
  std::string errors;
  for (const auto& [code, count] : r.errors) absl::StrAppend(&errors, " ", code, "=", count);
  const std::string send_lag =
      flags.open_loop()
          ? absl::StrFormat("; send lag us p50 %.1f p99 %.1f", r.send_lag_p50_us, r.send_lag_p99_us)
          : "";
  return absl::StrFormat(
      "%s%s @ %s, %s, %gs: %d calls (%d ok), %.1f calls/s; latency us p50 %.1f p90 %.1f "
      "p99 %.1f p99.9 %.1f max %.1f; errors:%s%s",
      flags.label.empty() ? "" : absl::StrCat("[", flags.label, "] "), flags.method, flags.target,
      mode, flags.duration_s, r.calls, r.ok, r.throughput, r.p50_us, r.p90_us, r.p99_us, r.p999_us,
      r.max_us, errors.empty() ? " none" : errors, send_lag);
}

std::string ReportJson(const Flags& flags, const Report& r) {
  std::string errors;
  for (const auto& [code, count] : r.errors) {
    absl::StrAppend(&errors, errors.empty() ? "" : ",", simpul::JsonEscape(code), ":", count);
  }
  return absl::StrFormat(
      "{\"label\":%s,\"method\":%s,\"target\":%s,\"mode\":\"%s\",\"connections\":%d,"
      "\"inflight\":%d,\"rate\":%g,\"duration_s\":%g,\"calls\":%d,\"ok\":%d,\"throughput\":%.1f,"
      "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
      "\"errors\":{%s},\"send_lag_p50_us\":%.1f,\"send_lag_p99_us\":%.1f}\n",
      simpul::JsonEscape(flags.label), simpul::JsonEscape(flags.method),
      simpul::JsonEscape(flags.target), flags.open_loop() ? "open" : "closed", flags.connections,
      flags.inflight_or_default(), flags.rate, flags.duration_s, r.calls, r.ok, r.throughput,
      r.p50_us, r.p90_us, r.p99_us, r.p999_us, r.max_us, errors, r.send_lag_p50_us,
      r.send_lag_p99_us);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  bool help = false;
  if (std::string error = ParseFlags(argc, argv, &flags, &help); !error.empty()) {
    std::cerr << "simpul-loadgen: " << error << "\nRun with --help for the flags.\n";
    return 2;
  }
  if (help) {
    std::cout << kUsage;
    return 0;
  }
  RequestMaker requests;
  if (std::string error = requests.Init(flags); !error.empty()) {
    std::cerr << "simpul-loadgen: " << error << "\n";
    return 2;
  }

  // Separate channels: a local subchannel pool and a distinct argument each, so that no two
  // share a subchannel (and so a TCP connection).
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < flags.connections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("simpul.loadgen.connection", i);
    args.SetMaxReceiveMessageSize(-1);
    auto connection = std::make_unique<Connection>();
    connection->channel =
        grpc::CreateCustomChannel(flags.target, grpc::InsecureChannelCredentials(), args);
    if (!connection->channel->WaitForConnected(std::chrono::system_clock::now() +
                                               std::chrono::seconds(5))) {
      std::cerr << "simpul-loadgen: cannot connect to " << flags.target << " within 5 s\n";
      return 1;
    }
    connection->stub = std::make_unique<grpc::GenericStub>(connection->channel);
    connections.push_back(std::move(connection));
  }

  // Timer slack 1 ns instead of Linux's default 50 us: the open loop's sleeps end closer to the
  // intended send times (a late send adds its lateness to its latency).
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  LoadRun run(flags, requests, connections);
  const bool finished = run.Run();
  const CallStats stats = run.Stats();
  const Report report =
      MakeReport(flags, stats, run.measure_start(), run.not_sent(), run.send_lag_ns());
  std::cout << SummaryLine(flags, report) << std::endl;
  for (const auto& [code, message] : stats.first_messages) {
    std::cerr << "  first " << code << ": " << message << "\n";
  }
  int exit_code = 0;
  if (!flags.json_out.empty()) {
    std::ofstream out(flags.json_out);
    out << ReportJson(flags, report);
    if (!out.flush()) {
      std::cerr << "simpul-loadgen: cannot write " << flags.json_out << "\n";
      exit_code = 1;
    }
  }
  if (!finished) {
    // Their callbacks still refer to the run and the connections: leave without destroying them.
    std::cerr << "simpul-loadgen: " << run.outstanding()
              << " calls still outstanding after their deadline; not counted\n";
    std::_Exit(1);
  }
  return exit_code;
}
