#include "common/metrics.h"

#include <grpcpp/server_context.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/logging.h"
#include "common/tsan_annotations.h"
#include "google/protobuf/descriptor.h"

namespace simpul {
namespace {

constexpr char kHandledTotal[] = "simpul_grpc_server_handled_total";
constexpr char kHandlingSeconds[] = "simpul_grpc_server_handling_seconds";

std::vector<double> DefaultBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string_view TypeName(Metrics::Type type) {
  switch (type) {
    case Metrics::Type::kCounter:
      return "counter";
    case Metrics::Type::kGauge:
      return "gauge";
    case Metrics::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// FormatValue renders a sample value or bucket bound the way Prometheus parses it.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  double magnitude = std::fabs(v);
  auto format = (magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15))
                    ? std::chars_format::fixed
                    : std::chars_format::general;
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, format);
  return std::string(buf, end);
}

std::string EscapeLabelValue(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// LabelSet renders {a="x",b="y"} with an optional extra label appended (e.g. le); empty
// when there are no labels at all.
std::string LabelSet(const MetricLabels& labels, std::string_view extra_name = {},
                     std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out.push_back(',');
    first = false;
    absl::StrAppend(&out, name, "=\"", EscapeLabelValue(value), "\"");
  }
  if (!extra_name.empty()) {
    if (!first) out.push_back(',');
    absl::StrAppend(&out, AbslView(extra_name), "=\"", EscapeLabelValue(extra_value), "\"");
  }
  out.push_back('}');
  return out;
}

std::string_view CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

// kCodeCount is the number of gRPC status codes (OK = 0 ... UNAUTHENTICATED = 16).
constexpr int kCodeCount = 17;

// MethodSeries holds the resolved series of one method: handled_total per status code (index =
// code; codes outside 0..16 are counted as UNKNOWN, as CodeName names them) and the latency
// histogram.
struct MethodSeries {
  std::string method;
  Counter handled[kCodeCount];
  Histogram seconds;

  Counter Handled(grpc::StatusCode code) const {
    int index = static_cast<int>(code);
    if (index < 0 || index >= kCodeCount) index = static_cast<int>(grpc::StatusCode::UNKNOWN);
    return handled[index];
  }
};

// RpcMetricsInterceptor times one server call from its creation and records its outcome when
// the status is sent. A call cancelled before then (by the client, its deadline or a server
// shutdown) is recorded as CANCELLED whatever status the handler sets, and so is a call that
// ends without sending a status at all.
class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(grpc::experimental::ServerRpcInfo* info, const MethodSeries* series)
      : series_(series),
        context_(info->server_context()),
        start_(std::chrono::steady_clock::now()) {
    HandOffToGrpc(this);
  }

  // gRPC creates, calls and destroys an interceptor on its own threads, one step after another
  // (common/tsan_annotations.h declares that order to ThreadSanitizer).
  ~RpcMetricsInterceptor() override {
    ResumedFromGrpc(this);
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    ResumedFromGrpc(this);
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(context_ != nullptr && context_->IsCancelled()
                 ? grpc::StatusCode::CANCELLED
                 : methods->GetSendStatus().error_code());
    }
    HandOffToGrpc(this);
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    if (recorded_) return;
    recorded_ = true;
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    series_->Handled(code).Increment();
    series_->seconds.Observe(elapsed.count());
  }

  const MethodSeries* const series_;
  grpc::ServerContextBase* const context_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

// RpcMetricsInterceptorFactory resolves the series of each method once, at its first call, and
// publishes them in an immutable table that later calls read without a lock: the table is
// copied with the new method added and swapped in (old tables stay alive, as a reader may still
// hold one). Any method served counts, including those of a generic service (the gateway's
// proxy) as long as a linked-in descriptor declares it; every other path a client sends counts
// as method="unknown" (RpcMethodLabel) and takes the locked path per call. Past
// kMaxTableMethods distinct known methods the table stops growing (its copies would cost
// memory quadratic in the number of methods) and the further methods take the locked path.
class RpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {
    metrics_->Describe(kHandledTotal, Metrics::Type::kCounter,
                       "gRPC calls completed by the server, by method and status code.");
    metrics_->Describe(kHandlingSeconds, Metrics::Type::kHistogram,
                       "Time from the start of a gRPC call to its status, in seconds.");
    auto empty = std::make_unique<Table>();
    table_.store(empty.get(), std::memory_order_release);
    tables_.push_back(std::move(empty));
  }

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    std::string_view method = info->method() != nullptr ? info->method() : "unknown";
    const Table* table = table_.load(std::memory_order_acquire);
    if (auto it = table->find(method); it != table->end()) {
      return new RpcMetricsInterceptor(info, it->second);
    }
    return new RpcMetricsInterceptor(info, Resolve(method));
  }

 private:
  using Table = absl::flat_hash_map<std::string_view, const MethodSeries*>;
  static constexpr size_t kMaxTableMethods = 256;

  const MethodSeries* Resolve(std::string_view method) {
    const bool known = IsKnownRpcMethod(method);  // outside the lock: it may take the pool's
    absl::MutexLock lock(&mu_);
    if (!known) {
      if (unknown_ == nullptr) unknown_ = NewSeries(kUnknownMethodLabel);
      return unknown_.get();
    }
    const Table* table = table_.load(std::memory_order_relaxed);
    if (auto it = table->find(method); it != table->end()) return it->second;
    std::unique_ptr<MethodSeries>& series = methods_[std::string(method)];
    if (series != nullptr) return series.get();  // a method beyond the table's cap
    series = NewSeries(method);
    if (table->size() < kMaxTableMethods) {
      auto next = std::make_unique<Table>(*table);
      next->emplace(series->method, series.get());
      table_.store(next.get(), std::memory_order_release);
      tables_.push_back(std::move(next));
    }
    return series.get();
  }

  // NewSeries resolves the series of the method label `label`.
  std::unique_ptr<MethodSeries> NewSeries(std::string_view label) {
    auto series = std::make_unique<MethodSeries>();
    series->method = std::string(label);
    for (int code = 0; code < kCodeCount; ++code) {
      series->handled[code] = metrics_->GetCounter(
          kHandledTotal, {{"method", series->method},
                          {"code", std::string(CodeName(static_cast<grpc::StatusCode>(code)))}});
    }
    series->seconds = metrics_->GetHistogram(kHandlingSeconds, {{"method", series->method}});
    return series;
  }

  Metrics* const metrics_;
  std::atomic<const Table*> table_{nullptr};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<const Table>> tables_ ABSL_GUARDED_BY(mu_);
  // Every known method resolved so far, by name (the tables point into it).
  absl::flat_hash_map<std::string, std::unique_ptr<MethodSeries>> methods_ ABSL_GUARDED_BY(mu_);
  // The series of every unknown method (method="unknown").
  std::unique_ptr<MethodSeries> unknown_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

bool IsKnownRpcMethod(std::string_view method) {
  // "/package.Service/Method"; no proto declares a name this long.
  if (method.size() < 4 || method.size() > 512 || method.front() != '/') return false;
  const size_t slash = method.find('/', 1);
  if (slash == std::string_view::npos || slash + 1 == method.size() ||
      method.find('/', slash + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view service = method.substr(1, slash - 1);
  const std::string_view name = method.substr(slash + 1);
  if (service == "grpc.health.v1.Health") return name == "Check" || name == "Watch";
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
             absl::StrCat(AbslView(service), ".", AbslView(name))) != nullptr;
}

std::string_view RpcMethodLabel(std::string_view method) {
  return IsKnownRpcMethod(method) ? method : std::string_view(kUnknownMethodLabel);
}

void Histogram::Observe(double value) const {
  if (series_ == nullptr || std::isnan(value)) return;
  // Buckets are stored per bound (non-cumulative) and summed when rendered.
  auto bound = std::lower_bound(bounds_->begin(), bounds_->end(), value);
  if (bound != bounds_->end()) {
    series_->bucket_counts[bound - bounds_->begin()].fetch_add(1, std::memory_order_relaxed);
  }
  series_->sum.fetch_add(value, std::memory_order_relaxed);
  series_->count.fetch_add(1, std::memory_order_relaxed);
  series_->MarkWritten();
}

void Metrics::Describe(const std::string& name, Type type, const std::string& help,
                       std::vector<double> buckets) {
  if (type == Type::kHistogram) {
    if (buckets.empty()) buckets = DefaultBuckets();
    std::sort(buckets.begin(), buckets.end());
    buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
    while (!buckets.empty() && std::isinf(buckets.back())) buckets.pop_back();
  } else {
    buckets.clear();
  }
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = families_.try_emplace(name);
  Family& family = it->second;
  if (!inserted) {
    if (family.type != type) {
      Log(LogLevel::kError, "metric described twice with different types", {{"metric", name}});
    } else if (family.help.empty()) {
      family.help = help;
    }
    return;
  }
  family.type = type;
  family.help = help;
  family.buckets = std::move(buckets);
}

Metrics::Family& Metrics::FamilyLocked(const std::string& name, Type type_if_new) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type_if_new;
    if (type_if_new == Type::kHistogram) it->second.buckets = DefaultBuckets();
  }
  return it->second;
}

metrics_internal::Series& Metrics::SeriesLocked(Family& family, const MetricLabels& labels) {
  auto it = family.series.find(labels);
  if (it != family.series.end()) return it->second;
  if (family.series.size() + 1 < max_series_per_family_) {
    return family.series.try_emplace(labels, family.buckets.size()).first->second;
  }
  // Full (one place is kept for the overflow series): the overflow series of these labels.
  ++family.dropped;
  MetricLabels overflow = labels;
  for (auto& [name, value] : overflow) value = kOverflowLabelValue;
  return family.series.try_emplace(std::move(overflow), family.buckets.size()).first->second;
}

Counter Metrics::GetCounter(const std::string& name, const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  Family& family = FamilyLocked(name, Type::kCounter);
  if (family.type == Type::kHistogram) return Counter();
  return Counter(&SeriesLocked(family, labels), family.type == Type::kCounter);
}

Gauge Metrics::GetGauge(const std::string& name, const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  Family& family = FamilyLocked(name, Type::kGauge);
  if (family.type != Type::kGauge) return Gauge();
  return Gauge(&SeriesLocked(family, labels));
}

Histogram Metrics::GetHistogram(const std::string& name, const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  Family& family = FamilyLocked(name, Type::kHistogram);
  if (family.type != Type::kHistogram) return Histogram();
  return Histogram(&SeriesLocked(family, labels), &family.buckets);
}

void Metrics::Increment(const std::string& name, const MetricLabels& labels, double by) {
  GetCounter(name, labels).Increment(by);
}

void Metrics::Set(const std::string& name, const MetricLabels& labels, double value) {
  GetGauge(name, labels).Set(value);
}

void Metrics::Observe(const std::string& name, const MetricLabels& labels, double value) {
  if (std::isnan(value)) return;  // before resolving: a NaN declares no family
  GetHistogram(name, labels).Observe(value);
}

std::string Metrics::Exposition() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  std::string dropped;
  for (const auto& [name, family] : families_) {
    if (family.dropped > 0) {
      absl::StrAppend(&dropped, kSeriesDroppedTotal, LabelSet({{"metric", name}}), " ",
                      family.dropped, "\n");
    }
    if (!family.help.empty())
      absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(family.help), "\n");
    absl::StrAppend(&out, "# TYPE ", name, " ", AbslView(TypeName(family.type)), "\n");
    for (const auto& [labels, series] : family.series) {
      // Acquire: what the writer stored before marking the series written is visible.
      if (!series.written.load(std::memory_order_acquire)) continue;
      if (family.type != Type::kHistogram) {
        absl::StrAppend(&out, name, LabelSet(labels), " ",
                        FormatValue(series.value.load(std::memory_order_relaxed)), "\n");
        continue;
      }
      // Concurrent observations may land between these loads; the +Inf bucket and the count
      // never go below the last finite bucket, so the rendered histogram stays consistent.
      uint64_t count = series.count.load(std::memory_order_relaxed);
      double sum = series.sum.load(std::memory_order_relaxed);
      uint64_t cumulative = 0;
      for (size_t i = 0; i < family.buckets.size(); ++i) {
        cumulative += series.bucket_counts[i].load(std::memory_order_relaxed);
        absl::StrAppend(&out, name, "_bucket",
                        LabelSet(labels, "le", FormatValue(family.buckets[i])), " ", cumulative,
                        "\n");
      }
      count = std::max(count, cumulative);
      absl::StrAppend(&out, name, "_bucket", LabelSet(labels, "le", "+Inf"), " ", count, "\n");
      absl::StrAppend(&out, name, "_sum", LabelSet(labels), " ", FormatValue(sum), "\n");
      absl::StrAppend(&out, name, "_count", LabelSet(labels), " ", count, "\n");
    }
  }
  if (!dropped.empty()) {
    absl::StrAppend(&out, "# HELP ", kSeriesDroppedTotal,
                    " label sets sent to a family's overflow series (its series cap reached)\n",
                    "# TYPE ", kSeriesDroppedTotal, " counter\n", dropped);
  }
  return out;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(Metrics* metrics) {
  return std::make_unique<RpcMetricsInterceptorFactory>(metrics);
}

}  // namespace simpul
