#include "common/metrics.h"

#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace simpul {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, CounterExposition) {
  Metrics m;
  m.Describe("simpul_requests_total", Metrics::Type::kCounter, "Requests handled.");
  m.Increment("simpul_requests_total", {{"method", "Get"}, {"code", "OK"}});
  m.Increment("simpul_requests_total", {{"method", "Get"}, {"code", "OK"}}, 2);
  m.Increment("simpul_requests_total", {{"method", "List"}, {"code", "NOT_FOUND"}});
  EXPECT_EQ(m.Exposition(),
            "# HELP simpul_requests_total Requests handled.\n"
            "# TYPE simpul_requests_total counter\n"
            "simpul_requests_total{method=\"Get\",code=\"OK\"} 3\n"
            "simpul_requests_total{method=\"List\",code=\"NOT_FOUND\"} 1\n");
}

TEST(MetricsTest, CounterIgnoresNegativeIncrements) {
  Metrics m;
  m.Describe("c_total", Metrics::Type::kCounter, "c");
  m.Increment("c_total", {}, 5);
  m.Increment("c_total", {}, -1);
  EXPECT_THAT(m.Exposition(), HasSubstr("\nc_total 5\n"));
}

TEST(MetricsTest, GaugeExposition) {
  Metrics m;
  m.Describe("simpul_queue_depth", Metrics::Type::kGauge, "Queued tasks.");
  m.Set("simpul_queue_depth", {}, 7);
  m.Set("simpul_queue_depth", {}, 2.5);
  m.Increment("simpul_queue_depth", {}, -1);
  EXPECT_EQ(m.Exposition(),
            "# HELP simpul_queue_depth Queued tasks.\n"
            "# TYPE simpul_queue_depth gauge\n"
            "simpul_queue_depth 1.5\n");
}

TEST(MetricsTest, HistogramHasCumulativeBucketsInfSumAndCount) {
  Metrics m;
  m.Describe("simpul_latency_seconds", Metrics::Type::kHistogram, "Latency.", {0.1, 1, 0.5});
  for (double v : {0.05, 0.1, 0.3, 0.7, 3.0}) {
    m.Observe("simpul_latency_seconds", {{"method", "Get"}}, v);
  }
  EXPECT_EQ(m.Exposition(),
            "# HELP simpul_latency_seconds Latency.\n"
            "# TYPE simpul_latency_seconds histogram\n"
            "simpul_latency_seconds_bucket{method=\"Get\",le=\"0.1\"} 2\n"
            "simpul_latency_seconds_bucket{method=\"Get\",le=\"0.5\"} 3\n"
            "simpul_latency_seconds_bucket{method=\"Get\",le=\"1\"} 4\n"
            "simpul_latency_seconds_bucket{method=\"Get\",le=\"+Inf\"} 5\n"
            "simpul_latency_seconds_sum{method=\"Get\"} 4.15\n"
            "simpul_latency_seconds_count{method=\"Get\"} 5\n");
}

TEST(MetricsTest, HistogramDefaultBucketsSuitSeconds) {
  Metrics m;
  m.Describe("h_seconds", Metrics::Type::kHistogram, "h");
  m.Observe("h_seconds", {}, 0.0003);
  std::string text = m.Exposition();
  for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                         "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    EXPECT_THAT(text, HasSubstr(std::string("h_seconds_bucket{le=\"") + le + "\"} 1\n")) << le;
  }
  EXPECT_THAT(text, HasSubstr("h_seconds_sum 0.0003\n"));
  EXPECT_THAT(text, HasSubstr("h_seconds_count 1\n"));
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Metrics m;
  m.Describe("e_total", Metrics::Type::kCounter, "Help with \\ and\nnewline.");
  m.Increment("e_total", {{"path", "a\"b\\c\nd"}});
  EXPECT_EQ(m.Exposition(),
            "# HELP e_total Help with \\\\ and\\nnewline.\n"
            "# TYPE e_total counter\n"
            "e_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, FamiliesAreSortedAndDescribedOnlyOnce) {
  Metrics m;
  m.Describe("b_total", Metrics::Type::kCounter, "b");
  m.Describe("a_total", Metrics::Type::kCounter, "a");
  m.Describe("a_total", Metrics::Type::kGauge, "ignored");
  m.Increment("a_total", {});
  std::string text = m.Exposition();
  EXPECT_LT(text.find("a_total"), text.find("b_total"));
  EXPECT_THAT(text, HasSubstr("# TYPE a_total counter\n"));
  EXPECT_THAT(text, Not(HasSubstr("ignored")));
  // A family without samples still announces its type.
  EXPECT_THAT(text, HasSubstr("# TYPE b_total counter\n"));
}

TEST(MetricsTest, UndescribedMetricsGetTheTypeOfTheirFirstUse) {
  Metrics m;
  m.Increment("auto_total", {});
  m.Set("auto_gauge", {}, 4);
  m.Observe("auto_seconds", {}, 0.2);
  m.Set("auto_total", {}, 100);  // wrong type: ignored
  std::string text = m.Exposition();
  EXPECT_THAT(text, HasSubstr("# TYPE auto_total counter\nauto_total 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE auto_gauge gauge\nauto_gauge 4\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE auto_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("auto_seconds_bucket{le=\"0.25\"} 1\n"));
}

TEST(MetricsTest, ConcurrentIncrementsAreCounted) {
  Metrics m;
  m.Describe("n_total", Metrics::Type::kCounter, "n");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 1000; ++i) m.Increment("n_total", {{"k", "v"}});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(m.Exposition(), HasSubstr("n_total{k=\"v\"} 4000\n"));
}

TEST(MetricsTest, CounterHandleReachesTheExposition) {
  Metrics m;
  m.Describe("h_total", Metrics::Type::kCounter, "Handled.");
  Counter ok = m.GetCounter("h_total", {{"code", "OK"}});
  Counter failed = m.GetCounter("h_total", {{"code", "FAILED"}});
  ok.Increment();
  ok.Increment(2);
  // The by-name call and the handle write one and the same series.
  m.Increment("h_total", {{"code", "OK"}});
  failed.Increment(0);
  EXPECT_EQ(m.Exposition(),
            "# HELP h_total Handled.\n"
            "# TYPE h_total counter\n"
            "h_total{code=\"FAILED\"} 0\n"
            "h_total{code=\"OK\"} 4\n");
}

TEST(MetricsTest, AResolvedSeriesIsExportedOnlyOnceWritten) {
  Metrics m;
  Counter c = m.GetCounter("r_total", {{"k", "v"}});
  Gauge g = m.GetGauge("r_gauge", {});
  Histogram h = m.GetHistogram("r_seconds", {});
  EXPECT_EQ(m.Exposition(),
            "# TYPE r_gauge gauge\n"
            "# TYPE r_seconds histogram\n"
            "# TYPE r_total counter\n");
  c.Increment(-1);  // ignored on a counter: still not written
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(m.Exposition(), Not(HasSubstr("r_total{")));
  EXPECT_THAT(m.Exposition(), Not(HasSubstr("r_seconds_count")));
  c.Increment();
  g.Set(0);
  EXPECT_THAT(m.Exposition(), HasSubstr("r_total{k=\"v\"} 1\n"));
  EXPECT_THAT(m.Exposition(), HasSubstr("# TYPE r_gauge gauge\nr_gauge 0\n"));
}

TEST(MetricsTest, GaugeAndHistogramHandlesReachTheExposition) {
  Metrics m;
  m.Describe("q_depth", Metrics::Type::kGauge, "Depth.");
  m.Describe("l_seconds", Metrics::Type::kHistogram, "Latency.", {0.1, 1});
  Gauge depth = m.GetGauge("q_depth", {{"q", "a"}});
  Histogram latency = m.GetHistogram("l_seconds", {{"m", "Get"}});
  depth.Set(3);
  depth.Set(2.5);
  for (double v : {0.05, 0.5, 0.7, 2.0}) latency.Observe(v);
  m.Observe("l_seconds", {{"m", "Get"}}, 0.1);
  EXPECT_EQ(m.Exposition(),
            "# HELP l_seconds Latency.\n"
            "# TYPE l_seconds histogram\n"
            "l_seconds_bucket{m=\"Get\",le=\"0.1\"} 2\n"
            "l_seconds_bucket{m=\"Get\",le=\"1\"} 4\n"
            "l_seconds_bucket{m=\"Get\",le=\"+Inf\"} 5\n"
            "l_seconds_sum{m=\"Get\"} 3.35\n"
            "l_seconds_count{m=\"Get\"} 5\n"
            "# HELP q_depth Depth.\n"
            "# TYPE q_depth gauge\n"
            "q_depth{q=\"a\"} 2.5\n");
}

TEST(MetricsTest, HandlesOnAFamilyOfAnotherTypeDoNothing) {
  Metrics m;
  m.Describe("x_seconds", Metrics::Type::kHistogram, "x");
  m.Describe("x_gauge", Metrics::Type::kGauge, "g");
  m.GetCounter("x_seconds", {}).Increment();
  m.GetGauge("x_seconds", {}).Set(1);
  m.GetHistogram("x_gauge", {}).Observe(1);
  Counter().Increment();  // a default handle is a no-op
  Gauge().Set(1);
  Histogram().Observe(1);
  EXPECT_EQ(m.Exposition(),
            "# HELP x_gauge g\n"
            "# TYPE x_gauge gauge\n"
            "# HELP x_seconds x\n"
            "# TYPE x_seconds histogram\n");
  // A counter handle on a gauge adds to it, negative amounts included (as Increment does).
  Counter on_gauge = m.GetCounter("x_gauge", {});
  on_gauge.Increment(5);
  on_gauge.Increment(-2);
  EXPECT_THAT(m.Exposition(), HasSubstr("\nx_gauge 3\n"));
}

TEST(MetricsTest, ConcurrentHandleWritesAreNotLost) {
  Metrics m;
  m.Describe("c_total", Metrics::Type::kCounter, "c");
  m.Describe("c_seconds", Metrics::Type::kHistogram, "s", {1, 2});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      // Each thread resolves its own handles (resolution races with the writes of the others).
      Counter c = m.GetCounter("c_total", {{"k", "v"}});
      Histogram h = m.GetHistogram("c_seconds", {});
      for (int i = 0; i < kPerThread; ++i) {
        c.Increment();
        h.Observe(i % 2 == 0 ? 0.5 : 1.5);
      }
      // Exposition may run while others write.
      if (t == 0) {
        EXPECT_THAT(m.Exposition(), HasSubstr("c_total{k=\"v\"} "));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string text = m.Exposition();
  constexpr int kTotal = kThreads * kPerThread;
  EXPECT_THAT(text, HasSubstr("c_total{k=\"v\"} " + std::to_string(kTotal) + "\n"));
  EXPECT_THAT(text, HasSubstr("c_seconds_bucket{le=\"1\"} " + std::to_string(kTotal / 2) + "\n"));
  EXPECT_THAT(text, HasSubstr("c_seconds_bucket{le=\"2\"} " + std::to_string(kTotal) + "\n"));
  EXPECT_THAT(text, HasSubstr("c_seconds_bucket{le=\"+Inf\"} " + std::to_string(kTotal) + "\n"));
  EXPECT_THAT(text, HasSubstr("c_seconds_sum " + std::to_string(kTotal) + "\n"));
  EXPECT_THAT(text, HasSubstr("c_seconds_count " + std::to_string(kTotal) + "\n"));
}

TEST(MetricsTest, ValueFormatting) {
  Metrics m;
  m.Set("g", {{"v", "big"}}, 1e20);
  m.Set("g", {{"v", "small"}}, 1e-9);
  m.Set("g", {{"v", "int"}}, 12345678);
  m.Set("g", {{"v", "neg"}}, -0.25);
  std::string text = m.Exposition();
  EXPECT_THAT(text, HasSubstr("g{v=\"big\"} 1e+20\n"));
  EXPECT_THAT(text, HasSubstr("g{v=\"small\"} 1e-09\n"));
  EXPECT_THAT(text, HasSubstr("g{v=\"int\"} 12345678\n"));
  EXPECT_THAT(text, HasSubstr("g{v=\"neg\"} -0.25\n"));
}

TEST(MetricsTest, SeriesBeyondTheCapGoToOneOverflowSeries) {
  Metrics metrics(/*max_series_per_family=*/4);
  for (int i = 0; i < 1000; ++i) {
    metrics.Increment("calls_total", {{"method", "m" + std::to_string(i)}, {"code", "OK"}});
  }
  const std::string text = metrics.Exposition();
  // Three label sets of their own, the fourth place is the overflow series.
  EXPECT_THAT(text, HasSubstr("calls_total{method=\"m0\",code=\"OK\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("calls_total{method=\"m2\",code=\"OK\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("m3")));
  EXPECT_THAT(text, HasSubstr("calls_total{method=\"_overflow\",code=\"_overflow\"} 997\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE simpul_metrics_series_dropped_total counter\n"));
  EXPECT_THAT(text, HasSubstr("simpul_metrics_series_dropped_total{metric=\"calls_total\"} 997\n"));
  EXPECT_LT(text.size(), 1000u);
  // Existing series keep counting; other families have their own cap.
  metrics.Increment("calls_total", {{"method", "m1"}, {"code", "OK"}});
  metrics.Set("other", {{"k", "v"}}, 5);
  EXPECT_THAT(metrics.Exposition(), HasSubstr("calls_total{method=\"m1\",code=\"OK\"} 2\n"));
  EXPECT_THAT(metrics.Exposition(), HasSubstr("other{k=\"v\"} 5\n"));
}

TEST(MetricsTest, HandlesBeyondTheCapWriteTheOverflowSeries) {
  Metrics metrics(/*max_series_per_family=*/2);
  Counter a = metrics.GetCounter("c", {{"k", "a"}});
  Counter b = metrics.GetCounter("c", {{"k", "b"}});
  Histogram h = metrics.GetHistogram("h", {{"k", "a"}});
  Histogram h2 = metrics.GetHistogram("h", {{"k", "b"}});
  a.Increment();
  b.Increment(2);
  h2.Observe(0.001);
  const std::string text = metrics.Exposition();
  EXPECT_THAT(text, HasSubstr("c{k=\"a\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("c{k=\"_overflow\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("h_count{k=\"_overflow\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("simpul_metrics_series_dropped_total{metric=\"c\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("simpul_metrics_series_dropped_total{metric=\"h\"} 1\n"));
}

TEST(MetricsTest, NoDroppedCounterWhileUnderTheCap) {
  Metrics metrics;
  EXPECT_EQ(metrics.max_series_per_family(), Metrics::kDefaultMaxSeriesPerFamily);
  for (int i = 0; i < 100; ++i) metrics.Increment("c", {{"k", std::to_string(i)}});
  EXPECT_THAT(metrics.Exposition(), Not(HasSubstr("dropped")));
}

TEST(MetricsTest, UnknownRpcMethodsShareOneLabel) {
  EXPECT_EQ(RpcMethodLabel("/grpc.health.v1.Health/Check"), "/grpc.health.v1.Health/Check");
  EXPECT_TRUE(IsKnownRpcMethod("/grpc.health.v1.Health/Watch"));
  for (std::string_view made_up :
       {"/grpc.health.v1.Health/Nope", "/no.such.Service/Method", "/x", "", "no-slash", "/a/b/c",
        "/grpc.health.v1.Health/", "//Check"}) {
    EXPECT_EQ(RpcMethodLabel(made_up), kUnknownMethodLabel) << made_up;
  }
  EXPECT_EQ(RpcMethodLabel(std::string(100000, 'a')), kUnknownMethodLabel);
}

}  // namespace
}  // namespace simpul
