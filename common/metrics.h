// Prometheus metrics: counters, gauges and histograms with labels, the text exposition
// format, and a gRPC server interceptor that counts every RPC by method and status code and
// records its latency.
#ifndef SIMPUL_COMMON_METRICS_H_
#define SIMPUL_COMMON_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace simpul {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Describe declares a metric family once (name, type, help). Histograms use `buckets`
  // (upper bounds, ascending); the default suits latencies in seconds.
  void Describe(const std::string& name, Type type, const std::string& help,
                std::vector<double> buckets = {});
  void Increment(const std::string& name, const MetricLabels& labels, double by = 1);
  void Set(const std::string& name, const MetricLabels& labels, double value);
  void Observe(const std::string& name, const MetricLabels& labels, double value);

  // Exposition renders every family in the Prometheus text format 0.0.4.
  std::string Exposition() const;

 private:
  struct Series {
    double value = 0;                     // counter or gauge
    std::vector<uint64_t> bucket_counts;  // histogram, cumulative at render time
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> buckets;
    std::map<MetricLabels, Series> series;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
};

// MakeRpcMetricsInterceptorFactory records simpul_grpc_server_handled_total{method,code} and
// simpul_grpc_server_handling_seconds{method} for every call of the server it is added to.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(Metrics* metrics);

}  // namespace simpul

#endif  // SIMPUL_COMMON_METRICS_H_
