#include "common/metrics.h"

#include <grpcpp/server_context.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/logging.h"

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

// RpcMetricsInterceptor times one server call from its creation and records its outcome when
// the status is sent. A call cancelled before then (by the client, its deadline or a server
// shutdown) is recorded as CANCELLED whatever status the handler sets, and so is a call that
// ends without sending a status at all.
class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(grpc::experimental::ServerRpcInfo* info, Metrics* metrics)
      : metrics_(metrics),
        context_(info->server_context()),
        method_(info->method() != nullptr ? info->method() : "unknown"),
        start_(std::chrono::steady_clock::now()) {}

  ~RpcMetricsInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(context_ != nullptr && context_->IsCancelled()
                 ? grpc::StatusCode::CANCELLED
                 : methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    if (recorded_) return;
    recorded_ = true;
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    metrics_->Increment(kHandledTotal,
                        {{"method", method_}, {"code", std::string(CodeName(code))}});
    metrics_->Observe(kHandlingSeconds, {{"method", method_}}, elapsed.count());
  }

  Metrics* const metrics_;
  grpc::ServerContextBase* const context_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class RpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {
    metrics_->Describe(kHandledTotal, Metrics::Type::kCounter,
                       "gRPC calls completed by the server, by method and status code.");
    metrics_->Describe(kHandlingSeconds, Metrics::Type::kHistogram,
                       "Time from the start of a gRPC call to its status, in seconds.");
  }

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(info, metrics_);
  }

 private:
  Metrics* const metrics_;
};

}  // namespace

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

void Metrics::Increment(const std::string& name, const MetricLabels& labels, double by) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) it->second.type = Type::kCounter;
  if (it->second.type == Type::kHistogram || (it->second.type == Type::kCounter && by < 0)) {
    return;
  }
  it->second.series[labels].value += by;
}

void Metrics::Set(const std::string& name, const MetricLabels& labels, double value) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) it->second.type = Type::kGauge;
  if (it->second.type != Type::kGauge) return;
  it->second.series[labels].value = value;
}

void Metrics::Observe(const std::string& name, const MetricLabels& labels, double value) {
  if (std::isnan(value)) return;
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = families_.try_emplace(name);
  Family& family = it->second;
  if (inserted) {
    family.type = Type::kHistogram;
    family.buckets = DefaultBuckets();
  }
  if (family.type != Type::kHistogram) return;
  Series& series = family.series[labels];
  if (series.bucket_counts.size() != family.buckets.size()) {
    series.bucket_counts.assign(family.buckets.size(), 0);
  }
  // Buckets are stored per bound (non-cumulative) and summed when rendered.
  auto bound = std::lower_bound(family.buckets.begin(), family.buckets.end(), value);
  if (bound != family.buckets.end()) ++series.bucket_counts[bound - family.buckets.begin()];
  ++series.count;
  series.sum += value;
}

std::string Metrics::Exposition() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) {
    if (!family.help.empty())
      absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(family.help), "\n");
    absl::StrAppend(&out, "# TYPE ", name, " ", AbslView(TypeName(family.type)), "\n");
    for (const auto& [labels, series] : family.series) {
      if (family.type != Type::kHistogram) {
        absl::StrAppend(&out, name, LabelSet(labels), " ", FormatValue(series.value), "\n");
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i < family.buckets.size(); ++i) {
        if (i < series.bucket_counts.size()) cumulative += series.bucket_counts[i];
        absl::StrAppend(&out, name, "_bucket",
                        LabelSet(labels, "le", FormatValue(family.buckets[i])), " ", cumulative,
                        "\n");
      }
      absl::StrAppend(&out, name, "_bucket", LabelSet(labels, "le", "+Inf"), " ", series.count,
                      "\n");
      absl::StrAppend(&out, name, "_sum", LabelSet(labels), " ", FormatValue(series.sum), "\n");
      absl::StrAppend(&out, name, "_count", LabelSet(labels), " ", series.count, "\n");
    }
  }
  return out;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(Metrics* metrics) {
  return std::make_unique<RpcMetricsInterceptorFactory>(metrics);
}

}  // namespace simpul
