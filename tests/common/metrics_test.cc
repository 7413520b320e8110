#include "common/metrics.h"

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

}  // namespace
}  // namespace simpul
