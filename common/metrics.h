// Prometheus metrics: counters, gauges and histograms with labels, handles that write one
// series without locking, the text exposition format, and a gRPC server interceptor that
// counts every RPC by method and status code and records its latency.
#ifndef SIMPUL_COMMON_METRICS_H_
#define SIMPUL_COMMON_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace simpul {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

namespace metrics_internal {

// Series is one labelled series of a family, owned by its Metrics and written through the
// handles below with relaxed atomics only. A series is exported once it has been written at
// least once (an Increment by 0 counts), so resolving a handle ahead of time exports nothing.
struct Series {
  explicit Series(size_t bucket_count)
      : bucket_counts(bucket_count > 0 ? new std::atomic<uint64_t>[bucket_count] : nullptr) {
    for (size_t i = 0; i < bucket_count; ++i) bucket_counts[i].store(0, std::memory_order_relaxed);
  }
  void MarkWritten() {
    if (!written.load(std::memory_order_relaxed)) written.store(true, std::memory_order_release);
  }

  std::atomic<bool> written{false};
  std::atomic<double> value{0};  // counter or gauge
  // Histogram: observations per bucket bound (not cumulative), their count and sum.
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts;
  std::atomic<uint64_t> count{0};
  std::atomic<double> sum{0};
};

}  // namespace metrics_internal

// Counter is a handle on one series of a counter (or gauge) family, resolved once with
// Metrics::GetCounter. Increment is a relaxed atomic add: no lock, no lookup. A
// default-constructed handle, or one on a family of another type, does nothing. Handles are
// cheap to copy and valid as long as the Metrics they came from.
class Counter {
 public:
  Counter() = default;
  // Increment adds `by`; a negative `by` is ignored on a counter family.
  void Increment(double by = 1) const {
    if (series_ == nullptr || (monotonic_ && by < 0)) return;
    series_->value.fetch_add(by, std::memory_order_relaxed);
    series_->MarkWritten();
  }

 private:
  friend class Metrics;
  Counter(metrics_internal::Series* series, bool monotonic)
      : series_(series), monotonic_(monotonic) {}
  metrics_internal::Series* series_ = nullptr;
  bool monotonic_ = true;
};

// Gauge is a handle on one series of a gauge family (Metrics::GetGauge); Set is a relaxed
// atomic store. A default-constructed handle does nothing.
class Gauge {
 public:
  Gauge() = default;
  void Set(double value) const {
    if (series_ == nullptr) return;
    series_->value.store(value, std::memory_order_relaxed);
    series_->MarkWritten();
  }

 private:
  friend class Metrics;
  explicit Gauge(metrics_internal::Series* series) : series_(series) {}
  metrics_internal::Series* series_ = nullptr;
};

// Histogram is a handle on one series of a histogram family (Metrics::GetHistogram); Observe
// finds the bucket among the family's bounds and updates relaxed atomics. NaN is ignored. A
// default-constructed handle does nothing.
class Histogram {
 public:
  Histogram() = default;
  void Observe(double value) const;

 private:
  friend class Metrics;
  Histogram(metrics_internal::Series* series, const std::vector<double>* bounds)
      : series_(series), bounds_(bounds) {}
  metrics_internal::Series* series_ = nullptr;
  const std::vector<double>* bounds_ = nullptr;
};

// Metrics is a registry of metric families and their series. Resolving a series (GetCounter,
// GetGauge, GetHistogram, and the by-name Increment/Set/Observe) takes the registry's lock and
// looks the family and labels up; writing through a resolved handle does neither, so hot paths
// resolve their handles once and keep them.
//
// Series are bounded: a family holds at most max_series_per_family() label sets. A label set
// resolved beyond that goes to the family's one overflow series (every label value
// "_overflow") and is counted in simpul_metrics_series_dropped_total{metric="<family>"}, so
// labels fed from anything a caller controls can never grow the registry or /metrics
// without bound.
class Metrics {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // kDefaultMaxSeriesPerFamily is the default cap on the label sets of one family.
  static constexpr size_t kDefaultMaxSeriesPerFamily = 5000;
  // kOverflowLabelValue is every label value of a family's overflow series.
  static constexpr char kOverflowLabelValue[] = "_overflow";
  // kSeriesDroppedTotal names the counter of label sets sent to an overflow series.
  static constexpr char kSeriesDroppedTotal[] = "simpul_metrics_series_dropped_total";

  Metrics() = default;
  explicit Metrics(size_t max_series_per_family)
      : max_series_per_family_(max_series_per_family < 1 ? 1 : max_series_per_family) {}

  // max_series_per_family is the cap on the label sets of a family (the overflow series
  // included).
  size_t max_series_per_family() const { return max_series_per_family_; }

  // Describe declares a metric family once (name, type, help). Histograms use `buckets`
  // (upper bounds, ascending); the default suits latencies in seconds.
  void Describe(const std::string& name, Type type, const std::string& help,
                std::vector<double> buckets = {});

  // GetCounter resolves the series `labels` of the counter family `name` (declared as a
  // counter if undescribed). On a gauge family the handle adds to the gauge; on a histogram
  // family it does nothing.
  Counter GetCounter(const std::string& name, const MetricLabels& labels);
  // GetGauge resolves a gauge series (declared as a gauge if undescribed); a no-op handle if
  // the family has another type.
  Gauge GetGauge(const std::string& name, const MetricLabels& labels);
  // GetHistogram resolves a histogram series (declared with the default buckets if
  // undescribed); a no-op handle if the family has another type.
  Histogram GetHistogram(const std::string& name, const MetricLabels& labels);

  // Increment, Set and Observe resolve the series and write it in one call: for rare events.
  void Increment(const std::string& name, const MetricLabels& labels, double by = 1);
  void Set(const std::string& name, const MetricLabels& labels, double value);
  void Observe(const std::string& name, const MetricLabels& labels, double value);

  // Exposition renders every family in the Prometheus text format 0.0.4.
  std::string Exposition() const;

 private:
  struct Family {
    Type type;
    std::string help;
    std::vector<double> buckets;  // never changed once the family exists
    std::map<MetricLabels, metrics_internal::Series> series;  // nodes never move
    uint64_t dropped = 0;  // label sets resolved to the overflow series
  };
  // FamilyLocked finds `name` or creates it with `type_if_new` (and the default buckets for a
  // histogram).
  Family& FamilyLocked(const std::string& name, Type type_if_new)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // SeriesLocked finds or creates the series `labels` of `family`, or its overflow series when
  // the family is full.
  metrics_internal::Series& SeriesLocked(Family& family, const MetricLabels& labels)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_series_per_family_ = kDefaultMaxSeriesPerFamily;
  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
};

// kUnknownMethodLabel is the method label of every call of a method this process does not
// know (RpcMethodLabel).
inline constexpr char kUnknownMethodLabel[] = "unknown";

// IsKnownRpcMethod: `method` ("/package.Service/Method") is a method of a service in the
// protobuf descriptors linked into this process (the generated pool), or a method of
// grpc.health.v1.Health. Whatever path a client sends is only known when some proto of the
// process declares it.
bool IsKnownRpcMethod(std::string_view method);

// RpcMethodLabel is `method` when IsKnownRpcMethod, else kUnknownMethodLabel: the value of a
// method label, which a client can therefore not make up.
std::string_view RpcMethodLabel(std::string_view method);

// MakeRpcMetricsInterceptorFactory records simpul_grpc_server_handled_total{method,code} and
// simpul_grpc_server_handling_seconds{method} for every call of the server it is added to,
// every unknown method (RpcMethodLabel) under method="unknown". The series of a method are
// resolved to handles at its first call and reused by every later one.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(Metrics* metrics);

}  // namespace simpul

#endif  // SIMPUL_COMMON_METRICS_H_
