#include "mingus/collector/promql/engine.h"

#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mingus/collector/promql/parser.h"

// Expected values are worked out by hand from the samples each test loads (the comments show
// how), in the manner of Prometheus' promql/testdata/*.test files; they agree with what
// Prometheus 2.42's promtool gives for the same data.
namespace mingus::collector::promql {
namespace {

using ::testing::HasSubstr;
using Values = std::map<std::string, double>;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;

class EngineTest : public ::testing::Test {
 protected:
  // A series in the notation of Prometheus' test files, one value per `interval` from time 0:
  // "1 _ stale 0+10x3" is 1, nothing, a staleness marker, then 0 10 20 30.
  void Load(std::string_view series, std::string_view values, int64_t interval = kMinute) {
    const auto selector = Parse(series);
    ASSERT_TRUE(selector.ok()) << selector.message();
    std::vector<std::pair<std::string, std::string>> labels;
    for (const auto& matcher : std::get<VectorSelector>((*selector)->node).matchers) {
      labels.emplace_back(matcher.name, matcher.value);
    }
    const auto ref = head_.GetOrCreate(*tsdb::MakeLabels(std::move(labels)));
    std::istringstream in{std::string(values)};
    int64_t t = 0;
    for (std::string token; in >> token;) {
      if (token == "_") {
        t += interval;
      } else if (token.starts_with("_x")) {
        t += std::stoll(token.substr(2)) * interval;
      } else if (token == "stale") {
        ASSERT_TRUE(head_.Append(ref, t, tsdb::StaleNaN()));
        t += interval;
      } else if (const size_t x = token.find('x'); x != std::string::npos) {
        const size_t sign = token.find_first_of("+-", 1);
        const double start = std::stod(token.substr(0, sign));
        const double delta = std::stod(token.substr(sign, x - sign));
        for (int64_t i = 0; i <= std::stoll(token.substr(x + 1)); ++i, t += interval) {
          ASSERT_TRUE(head_.Append(ref, t, start + delta * static_cast<double>(i)));
        }
      } else {
        ASSERT_TRUE(head_.Append(ref, t, std::stod(token)));
        t += interval;
      }
    }
  }

  StatusOr<QueryResult> Query(const std::string& query, int64_t time_ms) {
    const auto expr = Parse(query);
    if (!expr.ok()) return expr.status();
    return Engine(head_, options_).Instant(**expr, time_ms);
  }

  // The one value of an instant query: a scalar or a vector of one element.
  double Value(const std::string& query, int64_t time_ms) {
    const auto result = Query(query, time_ms);
    EXPECT_TRUE(result.ok()) << query << ": " << result.message();
    if (!result.ok()) return -12345;
    if (result->type == ValueType::kScalar) return result->scalar;
    EXPECT_EQ(result->series.size(), 1u) << query;
    return result->series.empty() ? -12345 : result->series[0].points[0].value;
  }

  // {labels: value} of an instant query's vector.
  Values Vector(const std::string& query, int64_t time_ms) {
    const auto result = Query(query, time_ms);
    EXPECT_TRUE(result.ok()) << query << ": " << result.message();
    Values out;
    if (!result.ok()) return out;
    for (const auto& series : result->series) {
      EXPECT_EQ(series.points.size(), 1u);
      EXPECT_EQ(series.points[0].timestamp_ms, time_ms);
      EXPECT_TRUE(out.emplace(tsdb::LabelsString(series.labels), series.points[0].value).second);
    }
    return out;
  }

  // The labels of an instant query's vector, in the order the engine gives them.
  std::vector<std::string> Order(const std::string& query, int64_t time_ms) {
    const auto result = Query(query, time_ms);
    EXPECT_TRUE(result.ok()) << query << ": " << result.message();
    std::vector<std::string> out;
    if (result.ok()) {
      for (const auto& series : result->series) out.push_back(tsdb::LabelsString(series.labels));
    }
    return out;
  }

  std::string Error(const std::string& query, int64_t time_ms) {
    const auto result = Query(query, time_ms);
    return result.ok() ? "no error" : result.message();
  }

  StatusOr<QueryResult> Range(const std::string& query, int64_t start, int64_t end, int64_t step) {
    const auto expr = Parse(query);
    if (!expr.ok()) return expr.status();
    return Engine(head_, options_).Range(**expr, start, end, step);
  }

  tsdb::Head head_;
  EngineOptions options_;
};

TEST_F(EngineTest, InstantSelectorTakesTheLatestSampleOfTheLastFiveMinutes) {
  Load("g", "1 _x9 2 _ stale");  // 1 at 0, 2 at 10m, a staleness marker at 12m
  EXPECT_EQ(Value("g", 0), 1);
  EXPECT_EQ(Vector("g", 5 * kMinute),
            (Values{{"{__name__=\"g\"}", 1}}));  // [0, 5m]: 2.x includes 0
  EXPECT_TRUE(Vector("g", 5 * kMinute + 1).empty());
  EXPECT_EQ(Value("g", 11 * kMinute), 2);
  EXPECT_TRUE(Vector("g", 12 * kMinute).empty());     // the marker ends the series at once
  EXPECT_TRUE(Vector("g", 13 * kMinute).empty());     // and stays the latest sample
  EXPECT_EQ(Value("g offset 10m", 14 * kMinute), 1);  // looks at 4m
  EXPECT_EQ(Value("g offset -10m", 0), 2);            // looks at 10m
  options_.lookback_delta_ms = kMinute;
  EXPECT_TRUE(Vector("g", 2 * kMinute).empty());
}

TEST_F(EngineTest, RangeSelectorTakesTheClosedWindowWithoutStalenessMarkers) {
  Load("g", "1 _x9 2 _ stale");
  Load("c", "0+1x10");
  EXPECT_EQ(Value("count_over_time(g[20m])", 13 * kMinute), 2);  // 1 and 2, not the marker
  EXPECT_EQ(Value("count_over_time(c[5m])", 10 * kMinute), 6);   // 5m..10m, both ends
  // A range vector as the result of an instant query: the samples with their own times.
  const auto result = Query("c[2m] offset 1m", 10 * kMinute);
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_TRUE(result->is_matrix);
  ASSERT_EQ(result->series.size(), 1u);
  EXPECT_EQ(tsdb::LabelsString(result->series[0].labels), "{__name__=\"c\"}");
  EXPECT_EQ(result->series[0].points,
            (std::vector<tsdb::Sample>{{7 * kMinute, 7}, {8 * kMinute, 8}, {9 * kMinute, 9}}));
}

TEST_F(EngineTest, RateIncreaseAndDeltaExtrapolateToTheWindowEdges) {
  Load("c", "0+60x10");  // 1 per second
  // [5m] at 10m holds minutes 5..10: 300 over 300 s, no gap to either edge.
  EXPECT_DOUBLE_EQ(Value("rate(c[5m])", 10 * kMinute), 1);
  EXPECT_DOUBLE_EQ(Value("increase(c[5m])", 10 * kMinute), 300);
  // [7.5m, 10m] holds 8, 9, 10 (120 over 120 s). The gap to the start, 30 s, is under 1.1
  // average gaps (66 s): extrapolate over it, to 150 s.
  EXPECT_DOUBLE_EQ(Value("increase(c[150s])", 10 * kMinute), 150);
  // Samples at 2m, 3m, 4m in [0, 10m]: both gaps (120 s, 360 s) are too long, so each side
  // gets half an average gap (30 s): 30 * 180 / 120.
  Load("w", "_ _ 10 20 40");
  EXPECT_DOUBLE_EQ(Value("delta(w[10m])", 10 * kMinute), 45);
  // One sample makes no rate.
  EXPECT_TRUE(Vector("rate(c[30s])", 10 * kMinute).empty());
  EXPECT_EQ(Vector("rate(c[5m])", 10 * kMinute).begin()->first, "{}");
}

TEST_F(EngineTest, CounterResetsAddTheValueBeforeTheReset) {
  Load("r", "0 60 120 10 70");
  // 70 - 0, plus the 120 lost at the reset; the window [0, 4m] is fully covered.
  EXPECT_DOUBLE_EQ(Value("increase(r[4m])", 4 * kMinute), 190);
  EXPECT_DOUBLE_EQ(Value("rate(r[4m])", 4 * kMinute), 190.0 / 240);
  EXPECT_DOUBLE_EQ(Value("delta(r[4m])", 4 * kMinute), 70);         // a gauge: no reset handling
  EXPECT_DOUBLE_EQ(Value("irate(r[4m])", 4 * kMinute), 1);          // (70 - 10) / 60 s
  EXPECT_DOUBLE_EQ(Value("irate(r[4m])", 3 * kMinute), 10.0 / 60);  // the reset: 10 / 60 s
  EXPECT_DOUBLE_EQ(Value("idelta(r[4m])", 4 * kMinute), 60);
  EXPECT_DOUBLE_EQ(Value("idelta(r[4m])", 3 * kMinute), -110);
  EXPECT_DOUBLE_EQ(Value("resets(r[4m])", 4 * kMinute), 1);
  EXPECT_DOUBLE_EQ(Value("changes(r[4m])", 4 * kMinute), 4);
}

TEST_F(EngineTest, CounterExtrapolationStopsWhereTheCounterWouldBeZero) {
  // 5 at 1m, 15 at 2m in [0, 2m]: 10 per 60 s, so zero was 30 s before the first sample,
  // nearer than the window start (60 s): 10 * (60 + 30) / 60.
  Load("x", "_ 5 15");
  EXPECT_DOUBLE_EQ(Value("increase(x[2m])", 2 * kMinute), 15);
  EXPECT_DOUBLE_EQ(Value("delta(x[2m])", 2 * kMinute), 20);  // a gauge may go below zero
  // 50, 60: zero lies 300 s back, beyond the window start: the full 60 s.
  Load("y", "_ 50 60");
  EXPECT_DOUBLE_EQ(Value("increase(y[2m])", 2 * kMinute), 20);
}

TEST_F(EngineTest, OverTimeFunctions) {
  Load("g", "_ 4 8 6 2");
  const int64_t t = 4 * kMinute;
  EXPECT_DOUBLE_EQ(Value("avg_over_time(g[5m])", t), 5);
  EXPECT_DOUBLE_EQ(Value("sum_over_time(g[5m])", t), 20);
  EXPECT_DOUBLE_EQ(Value("min_over_time(g[5m])", t), 2);
  EXPECT_DOUBLE_EQ(Value("max_over_time(g[5m])", t), 8);
  EXPECT_DOUBLE_EQ(Value("count_over_time(g[5m])", t), 4);
  EXPECT_DOUBLE_EQ(Value("present_over_time(g[5m])", t), 1);
  EXPECT_DOUBLE_EQ(Value("stdvar_over_time(g[5m])", t), 5);  // deviations -1 3 1 -3: 20 / 4
  EXPECT_DOUBLE_EQ(Value("stddev_over_time(g[5m])", t), std::sqrt(5.0));
  // Sorted 2 4 6 8: rank 0.5 * 3 = 1.5, between 4 and 6.
  EXPECT_DOUBLE_EQ(Value("quantile_over_time(0.5, g[5m])", t), 5);
  EXPECT_DOUBLE_EQ(Value("quantile_over_time(0.9, g[5m])", t), 7.4);  // rank 2.7: 6 + 0.7 * 2
  EXPECT_EQ(Value("quantile_over_time(2, g[5m])", t), INFINITY);
  EXPECT_EQ(Value("quantile_over_time(-1, g[5m])", t), -INFINITY);
  // last_over_time keeps the name, the others drop it.
  EXPECT_EQ(Vector("last_over_time(g[5m])", t), (Values{{"{__name__=\"g\"}", 2}}));
  EXPECT_EQ(Vector("max_over_time(g[5m])", t), (Values{{"{}", 8}}));
  // NaN loses to any number in min and max; changes counts NaN to NaN as no change.
  Load("n", "NaN 1 NaN 3");
  EXPECT_DOUBLE_EQ(Value("max_over_time(n[5m])", 3 * kMinute), 3);
  EXPECT_DOUBLE_EQ(Value("min_over_time(n[5m])", 3 * kMinute), 1);
  Load("ch", "1 NaN NaN 2");
  EXPECT_DOUBLE_EQ(Value("changes(ch[5m])", 3 * kMinute), 2);
}

TEST_F(EngineTest, OverTimeSumsCompensateForRoundingAsPrometheusDoes) {
  // Plain addition would lose every 1 against 1e16; Kahan-Neumaier summation keeps them.
  Load("k", "1e16 1 1 1 1");
  EXPECT_EQ(Value("sum_over_time(k[10m])", 4 * kMinute), 1e16 + 4);
  Load("j", "1 1e100 1 -1e100");
  EXPECT_EQ(Value("sum_over_time(j[10m])", 3 * kMinute), 2);
  // The sum aggregation adds plainly, in series order.
  Load("p{i=\"1\"}", "1");
  Load("p{i=\"2\"}", "1e100");
  Load("p{i=\"3\"}", "1");
  Load("p{i=\"4\"}", "-1e100");
  EXPECT_EQ(Value("sum(p)", 0), 0);
}

TEST_F(EngineTest, AbsentOverTime) {
  Load("g", "_ 4 8 6 2");
  EXPECT_EQ(Vector("absent_over_time(nope{job=\"x\", a=~\"b\"}[5m])", 4 * kMinute),
            (Values{{"{job=\"x\"}", 1}}));
  EXPECT_TRUE(Vector("absent_over_time(g[5m])", 4 * kMinute).empty());
  EXPECT_EQ(Vector("absent_over_time(g[1m])", 10 * kMinute), (Values{{"{}", 1}}));
}

TEST_F(EngineTest, DerivAndPredictLinearFitLeastSquares) {
  Load("d", "0+60x10");  // slope 1 per second
  EXPECT_DOUBLE_EQ(Value("deriv(d[5m])", 10 * kMinute), 1);
  // The line through the window meets the evaluation time at 600; an hour on: 4200.
  EXPECT_DOUBLE_EQ(Value("predict_linear(d[5m], 3600)", 10 * kMinute), 4200);
  // At 10m30s the window [5.5m, 10.5m] holds 6m..10m; the line gives 630 then, 690 a minute on.
  EXPECT_DOUBLE_EQ(Value("predict_linear(d[5m], 60)", 10 * kMinute + 30 * kSecond), 690);
  Load("flat", "3 3 3");
  EXPECT_DOUBLE_EQ(Value("deriv(flat[5m])", 2 * kMinute), 0);
  EXPECT_DOUBLE_EQ(Value("predict_linear(flat[5m], 100)", 2 * kMinute), 3);
}

TEST_F(EngineTest, HistogramQuantileInterpolatesWithinTheBucket) {
  Load("h_bucket{job=\"a\", le=\"0.1\"}", "10");
  Load("h_bucket{job=\"a\", le=\"0.5\"}", "30");
  Load("h_bucket{job=\"a\", le=\"1\"}", "40");
  Load("h_bucket{job=\"a\", le=\"+Inf\"}", "40");
  // rank 0.5 * 40 = 20 lies in (0.1, 0.5], which holds 20 and starts at 10: 0.1 + 0.4 / 2.
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.5, h_bucket)", 0), 0.3);
  // rank 39.6 in (0.5, 1]: 0.5 + 0.5 * 9.6 / 10.
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.99, h_bucket)", 0), 0.98);
  // rank 4 in the first bucket, which starts at 0: 0.1 * 4 / 10.
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.1, h_bucket)", 0), 0.04);
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(1, h_bucket)", 0), 1);
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0, h_bucket)", 0), 0);
  EXPECT_EQ(Value("histogram_quantile(-0.5, h_bucket)", 0), -INFINITY);
  EXPECT_EQ(Value("histogram_quantile(1.5, h_bucket)", 0), INFINITY);
  EXPECT_TRUE(std::isnan(Value("histogram_quantile(NaN, h_bucket)", 0)));
  EXPECT_EQ(Order("histogram_quantile(0.5, h_bucket)", 0),
            std::vector<std::string>{"{job=\"a\"}"});  // no name, no le
}

TEST_F(EngineTest, HistogramQuantileEdgeCases) {
  // A rank in the +Inf bucket gives the highest finite bound.
  Load("inf_bucket{le=\"1\"}", "5");
  Load("inf_bucket{le=\"Inf\"}", "10");  // any spelling strconv.ParseFloat reads
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.9, inf_bucket)", 0), 1);
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.25, inf_bucket)", 0), 0.5);
  // A first bucket with a bound <= 0 is not interpolated from 0.
  Load("neg_bucket{le=\"-1\"}", "5");
  Load("neg_bucket{le=\"1\"}", "10");
  Load("neg_bucket{le=\"+Inf\"}", "10");
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.2, neg_bucket)", 0), -1);
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.75, neg_bucket)", 0), 0);  // -1 + 2 * 2.5 / 5
  // A torn scrape (5 below 10) is made monotonic: counts 10 10 40 40, rank 20 in (0.5, 1]
  // from 10: 0.5 + 0.5 * 10 / 30.
  Load("torn_bucket{le=\"0.1\"}", "10");
  Load("torn_bucket{le=\"0.5\"}", "5");
  Load("torn_bucket{le=\"1\"}", "40");
  Load("torn_bucket{le=\"+Inf\"}", "40");
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.5, torn_bucket)", 0), 0.5 + 0.5 / 3);
  // "1" and "1.0" are one bucket: 5 of 8 below 1, rank 4: 1 * 4 / 5.
  Load("dup_bucket{le=\"1\"}", "3");
  Load("dup_bucket{le=\"1.0\"}", "2");
  Load("dup_bucket{le=\"+Inf\"}", "8");
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.5, dup_bucket)", 0), 0.8);
  // No observations, no +Inf bucket: NaN. A series without a number in le is not a bucket.
  Load("empty_bucket{le=\"1\"}", "0");
  Load("empty_bucket{le=\"+Inf\"}", "0");
  EXPECT_TRUE(std::isnan(Value("histogram_quantile(0.5, empty_bucket)", 0)));
  Load("open_bucket{le=\"1\"}", "1");
  Load("open_bucket{le=\"x\"}", "2");
  EXPECT_TRUE(std::isnan(Value("histogram_quantile(0.5, open_bucket)", 0)));
  Load("open_bucket_sum", "2");
  EXPECT_TRUE(Vector("histogram_quantile(0.5, open_bucket_sum)", 0).empty());
  // Buckets group by every label but le, the name included, and the name is then dropped.
  EXPECT_EQ(Error("histogram_quantile(0.5, {__name__=~\"(inf|neg)_bucket\"})", 0),
            "vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, Aggregations) {
  Load("m{job=\"a\", i=\"1\"}", "1");
  Load("m{job=\"a\", i=\"2\"}", "3");
  Load("m{job=\"b\", i=\"1\"}", "8");
  EXPECT_EQ(Vector("sum by (job) (m)", 0), (Values{{"{job=\"a\"}", 4}, {"{job=\"b\"}", 8}}));
  EXPECT_EQ(Vector("sum without (i) (m)", 0), (Values{{"{job=\"a\"}", 4}, {"{job=\"b\"}", 8}}));
  EXPECT_EQ(Vector("sum by (__name__) (m)", 0), (Values{{"{__name__=\"m\"}", 12}}));
  EXPECT_EQ(Vector("sum by (nope) (m)", 0), (Values{{"{}", 12}}));
  EXPECT_DOUBLE_EQ(Value("avg(m)", 0), 4);
  EXPECT_DOUBLE_EQ(Value("min(m)", 0), 1);
  EXPECT_DOUBLE_EQ(Value("max(m)", 0), 8);
  EXPECT_DOUBLE_EQ(Value("count(m)", 0), 3);
  EXPECT_EQ(Vector("group by (job) (m)", 0), (Values{{"{job=\"a\"}", 1}, {"{job=\"b\"}", 1}}));
  EXPECT_DOUBLE_EQ(Value("stdvar(m)", 0), 26.0 / 3);  // mean 4: (9 + 1 + 16) / 3
  EXPECT_DOUBLE_EQ(Value("stddev(m)", 0), std::sqrt(26.0 / 3));
  EXPECT_DOUBLE_EQ(Value("quantile(0.5, m)", 0), 3);
  EXPECT_DOUBLE_EQ(Value("quantile(0.25, m)", 0), 2);  // rank 0.5 between 1 and 3
  EXPECT_EQ(Value("quantile(5, m)", 0), INFINITY);
  EXPECT_TRUE(Vector("sum(nope)", 0).empty());
  // count_values labels each group with the value, formatted like a sample value.
  Load("f", "0.5");
  EXPECT_EQ(Vector("count_values(\"v\", m or f)", 0),
            (Values{{"{v=\"0.5\"}", 1}, {"{v=\"1\"}", 1}, {"{v=\"3\"}", 1}, {"{v=\"8\"}", 1}}));
  EXPECT_EQ(Vector("count_values by (job) (\"job\", m)", 0),
            (Values{{"{job=\"1\"}", 1}, {"{job=\"3\"}", 1}, {"{job=\"8\"}", 1}}));
  EXPECT_EQ(
      Vector("count_values without (i) (\"v\", m)", 0),
      (Values{
          {"{job=\"a\", v=\"1\"}", 1}, {"{job=\"a\", v=\"3\"}", 1}, {"{job=\"b\", v=\"8\"}", 1}}));
  EXPECT_EQ(Error("count_values(\"1x\", m)", 0), "invalid label name \"1x\"");
}

TEST_F(EngineTest, AggregationsWithNaNAndInfinities) {
  Load("v{i=\"1\"}", "NaN");
  Load("v{i=\"2\"}", "3");
  Load("v{i=\"3\"}", "Inf");
  Load("w{i=\"1\"}", "Inf");
  Load("w{i=\"2\"}", "Inf");
  Load("w{i=\"3\"}", "2");
  EXPECT_DOUBLE_EQ(Value("min(v)", 0), 3);  // NaN loses to any number
  EXPECT_EQ(Value("max(v)", 0), INFINITY);
  EXPECT_TRUE(std::isnan(Value("sum(v)", 0)));
  EXPECT_EQ(Value("avg(w)", 0), INFINITY);  // an infinite mean stays infinite
  EXPECT_EQ(Vector("topk(1, v)", 0), (Values{{"{__name__=\"v\", i=\"3\"}", INFINITY}}));
  EXPECT_EQ(Vector("bottomk(1, v)", 0), (Values{{"{__name__=\"v\", i=\"2\"}", 3}}));
}

TEST_F(EngineTest, TopkAndBottomk) {
  Load("t{x=\"1\"}", "5");
  Load("t{x=\"2\"}", "9");
  Load("t{x=\"3\"}", "1");
  Load("t{x=\"4\"}", "7");
  Load("t{x=\"5\", g=\"b\"}", "2");
  EXPECT_EQ(Order("topk(3, t)", 0),
            (std::vector<std::string>{"{__name__=\"t\", x=\"2\"}", "{__name__=\"t\", x=\"4\"}",
                                      "{__name__=\"t\", x=\"1\"}"}));
  EXPECT_EQ(Order("bottomk(2, t)", 0),
            (std::vector<std::string>{"{__name__=\"t\", x=\"3\"}",
                                      "{__name__=\"t\", g=\"b\", x=\"5\"}"}));
  EXPECT_EQ(Vector("topk by (g) (1, t)", 0),
            (Values{{"{__name__=\"t\", x=\"2\"}", 9}, {"{__name__=\"t\", g=\"b\", x=\"5\"}", 2}}));
  EXPECT_EQ(Vector("topk(2.9, t)", 0).size(), 2u);  // k is truncated
  EXPECT_TRUE(Vector("topk(0, t)", 0).empty());
  EXPECT_EQ(Vector("topk(100, t)", 0).size(), 5u);
  EXPECT_EQ(Error("topk(NaN, t)", 0), "Scalar value NaN overflows int64");
  // Of equal values the first ones in series order stay (the heap keeps its first entries).
  Load("same{x=\"1\"}", "5");
  Load("same{x=\"2\"}", "5");
  Load("same{x=\"3\"}", "5");
  EXPECT_EQ(Vector("bottomk(2, same)", 0),
            (Values{{"{__name__=\"same\", x=\"1\"}", 5}, {"{__name__=\"same\", x=\"2\"}", 5}}));
}

TEST_F(EngineTest, ArithmeticAndComparisonsWithScalars) {
  Load("m{i=\"1\"}", "2");
  Load("m{i=\"2\"}", "5");
  EXPECT_EQ(Vector("m * 2", 0), (Values{{"{i=\"1\"}", 4}, {"{i=\"2\"}", 10}}));
  EXPECT_EQ(Vector("10 - m", 0), (Values{{"{i=\"1\"}", 8}, {"{i=\"2\"}", 5}}));
  EXPECT_EQ(Vector("m % 3", 0), (Values{{"{i=\"1\"}", 2}, {"{i=\"2\"}", 2}}));
  EXPECT_EQ(Vector("2 ^ m", 0), (Values{{"{i=\"1\"}", 4}, {"{i=\"2\"}", 32}}));
  // A comparison filters and keeps the name and the vector's value, whichever side it is on.
  EXPECT_EQ(Vector("m > 3", 0), (Values{{"{__name__=\"m\", i=\"2\"}", 5}}));
  EXPECT_EQ(Vector("3 < m", 0), (Values{{"{__name__=\"m\", i=\"2\"}", 5}}));
  EXPECT_EQ(Vector("m > bool 3", 0), (Values{{"{i=\"1\"}", 0}, {"{i=\"2\"}", 1}}));
  EXPECT_EQ(Vector("m == bool NaN", 0), (Values{{"{i=\"1\"}", 0}, {"{i=\"2\"}", 0}}));
  // atan2 is not among the operators that drop the name in Prometheus 2.x.
  EXPECT_EQ(Vector("m atan2 0", 0).count("{__name__=\"m\", i=\"1\"}"), 1u);
  EXPECT_EQ(Vector("-m", 0), (Values{{"{i=\"1\"}", -2}, {"{i=\"2\"}", -5}}));
  EXPECT_EQ(Vector("+m", 0).count("{__name__=\"m\", i=\"1\"}"), 1u);
  // Scalars alone: precedence, right-associative ^, and unary minus below ^.
  EXPECT_DOUBLE_EQ(Value("1 + 2 * 3 - 4 / 2 % 3 ^ 2", 0), 5);  // 1 + 6 - (2 % 9)
  EXPECT_DOUBLE_EQ(Value("2 ^ 3 ^ 2", 0), 512);
  EXPECT_DOUBLE_EQ(Value("-2 ^ 2", 0), -4);
  EXPECT_DOUBLE_EQ(Value("1 > bool 2", 0), 0);
  EXPECT_DOUBLE_EQ(Value("2 >= bool 2", 0), 1);
  EXPECT_TRUE(std::isnan(Value("10 % 0", 0)));
  EXPECT_EQ(Value("1 / 0", 0), INFINITY);
}

TEST_F(EngineTest, OneToOneAndGroupMatching) {
  Load("errors{job=\"a\", code=\"500\"}", "2");
  Load("errors{job=\"a\", code=\"503\"}", "6");
  Load("requests{job=\"a\"}", "8");
  Load("requests{job=\"b\"}", "4");
  Load("info{job=\"a\", version=\"1.2\"}", "1");
  Load("info{job=\"b\", version=\"2.0\", extra=\"x\"}", "1");
  // One-to-one on(job): the result has on()'s labels only.
  EXPECT_EQ(Vector("sum by (job) (errors) / on(job) requests", 0), (Values{{"{job=\"a\"}", 1}}));
  // ignoring(): all labels but those and the name must match; the result drops them.
  EXPECT_EQ(Vector("requests - ignoring(version, extra) info", 0),
            (Values{{"{job=\"a\"}", 7}, {"{job=\"b\"}", 3}}));
  // Without bool a comparison keeps the left side's value and labels.
  EXPECT_EQ(Vector("requests > ignoring(version, extra) info", 0),
            (Values{{"{__name__=\"requests\", job=\"a\"}", 8},
                    {"{__name__=\"requests\", job=\"b\"}", 4}}));
  EXPECT_EQ(Vector("requests < bool ignoring(version, extra) info", 0),
            (Values{{"{job=\"a\"}", 0}, {"{job=\"b\"}", 0}}));
  // Many-to-one: each error series against its job's requests, with the many side's labels.
  EXPECT_EQ(Vector("errors / on(job) group_left requests", 0),
            (Values{{"{code=\"500\", job=\"a\"}", 0.25}, {"{code=\"503\", job=\"a\"}", 0.75}}));
  // group_right: the right side is the many side; values keep their sides: 8 / 2, 8 / 6.
  EXPECT_EQ(Vector("requests / on(job) group_right errors", 0),
            (Values{{"{code=\"500\", job=\"a\"}", 4}, {"{code=\"503\", job=\"a\"}", 8.0 / 6}}));
  // group_left(version) copies the label from the one side.
  EXPECT_EQ(Vector("requests * on(job) group_left(version) info", 0),
            (Values{{"{job=\"a\", version=\"1.2\"}", 8}, {"{job=\"b\", version=\"2.0\"}", 4}}));
  EXPECT_EQ(Vector("errors > on(job) group_left requests", 0).size(), 0u);
  EXPECT_EQ(Vector("errors < on(job) group_left requests", 0)
                .count("{__name__=\"errors\", code=\"500\", job=\"a\"}"),
            1u);
}

TEST_F(EngineTest, MatchingErrorsUsePrometheusWording) {
  Load("errors{job=\"a\", code=\"500\"}", "2");
  Load("errors{job=\"a\", code=\"503\"}", "6");
  Load("errors2{job=\"a\", code=\"500\"}", "1");
  Load("requests{job=\"a\"}", "8");
  EXPECT_EQ(Error("errors / on(job) requests", 0),
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
  EXPECT_EQ(Error("requests / on(job) errors", 0),
            "found duplicate series for the match group {job=\"a\"} on the right hand-side of the "
            "operation: "
            "[{__name__=\"errors\", code=\"503\", job=\"a\"}, {__name__=\"errors\", code=\"500\", "
            "job=\"a\"}]"
            ";many-to-many matching not allowed: matching labels must be unique on one side");
  EXPECT_THAT(Error("errors / on(job) group_right requests", 0),
              HasSubstr("on the left hand-side"));
  // Without the names errors and errors2 give the same result labels.
  EXPECT_EQ(Error("{__name__=~\"errors2?\"} / on(job) group_left requests", 0),
            "multiple matches for labels: grouping labels must ensure unique matches");
}

TEST_F(EngineTest, SetOperators) {
  Load("errors{job=\"a\", code=\"500\"}", "2");
  Load("requests{job=\"a\"}", "8");
  Load("requests{job=\"b\"}", "4");
  EXPECT_EQ(Vector("requests and on(job) errors", 0),
            (Values{{"{__name__=\"requests\", job=\"a\"}", 8}}));
  EXPECT_EQ(Vector("requests unless on(job) errors", 0),
            (Values{{"{__name__=\"requests\", job=\"b\"}", 4}}));
  EXPECT_EQ(Vector("requests unless nope", 0).size(), 2u);
  EXPECT_TRUE(Vector("requests and nope", 0).empty());
  // or: all of the left, then the right's series whose match labels the left lacks.
  EXPECT_EQ(Vector("requests{job=\"a\"} or requests", 0),
            (Values{{"{__name__=\"requests\", job=\"a\"}", 8},
                    {"{__name__=\"requests\", job=\"b\"}", 4}}));
  EXPECT_EQ(Vector("errors or on(job) requests", 0),
            (Values{{"{__name__=\"errors\", code=\"500\", job=\"a\"}", 2},
                    {"{__name__=\"requests\", job=\"b\"}", 4}}));
  EXPECT_EQ(Vector("nope or requests", 0).size(), 2u);
  // Without on(), matching ignores only the name: errors has a code, so nothing matches.
  EXPECT_EQ(Vector("requests and errors", 0).size(), 0u);
}

TEST_F(EngineTest, MathFunctions) {
  Load("m{path=\"/api\"}", "-2.5");
  EXPECT_EQ(Vector("abs(m)", 0), (Values{{"{path=\"/api\"}", 2.5}}));  // functions drop the name
  EXPECT_DOUBLE_EQ(Value("ceil(m)", 0), -2);
  EXPECT_DOUBLE_EQ(Value("floor(m)", 0), -3);
  EXPECT_DOUBLE_EQ(Value("sgn(m)", 0), -1);
  EXPECT_DOUBLE_EQ(Value("exp(vector(0))", 0), 1);
  EXPECT_DOUBLE_EQ(Value("sqrt(vector(16))", 0), 4);
  EXPECT_TRUE(std::isnan(Value("sqrt(m)", 0)));
  EXPECT_DOUBLE_EQ(Value("ln(vector(1))", 0), 0);
  EXPECT_EQ(Value("ln(vector(0))", 0), -INFINITY);
  EXPECT_DOUBLE_EQ(Value("log2(vector(8))", 0), 3);
  EXPECT_DOUBLE_EQ(Value("log10(vector(1000))", 0), 3);
  // round: halves go up, to any multiple.
  EXPECT_DOUBLE_EQ(Value("round(m)", 0), -2);
  EXPECT_DOUBLE_EQ(Value("round(vector(2.5))", 0), 3);
  EXPECT_DOUBLE_EQ(Value("round(vector(7), 5)", 0), 5);
  EXPECT_DOUBLE_EQ(Value("round(vector(1.26), 0.1)", 0), 1.3);
  // clamp: NaN bounds make NaN (Go's math.Max/Min); a minimum above the maximum drops all.
  EXPECT_DOUBLE_EQ(Value("clamp(m, -1, 1)", 0), -1);
  EXPECT_DOUBLE_EQ(Value("clamp_min(m, 0)", 0), 0);
  EXPECT_DOUBLE_EQ(Value("clamp_max(m, -3)", 0), -3);
  EXPECT_TRUE(Vector("clamp(m, 2, 1)", 0).empty());
  EXPECT_TRUE(std::isnan(Value("clamp_min(m, NaN)", 0)));
}

TEST_F(EngineTest, LabelReplaceAndJoin) {
  Load("lr{src=\"source-value-10\", path=\"/api/users\"}", "1");
  const auto labels_of = [&](const std::string& query) {
    const auto result = Vector(query, 0);
    return result.empty() ? std::string("none") : result.begin()->first;
  };
  EXPECT_EQ(labels_of("label_replace(lr, \"dst\", \"value-$1\", \"src\", \"source-value-(.*)\")"),
            "{__name__=\"lr\", dst=\"value-10\", path=\"/api/users\", src=\"source-value-10\"}");
  // Anchored: a partial match is no match, and no match leaves the series alone.
  EXPECT_EQ(labels_of("label_replace(lr, \"dst\", \"x\", \"src\", \"value-(.*)\")"),
            "{__name__=\"lr\", path=\"/api/users\", src=\"source-value-10\"}");
  // Go's template rules: ${1}, $name, $$; $1x names group "1x" (empty); an empty result
  // deletes the label.
  EXPECT_EQ(labels_of("label_replace(lr, \"dst\", \"${1}x$$\", \"src\", \"(source).*\")"),
            "{__name__=\"lr\", dst=\"sourcex$\", path=\"/api/users\", src=\"source-value-10\"}");
  EXPECT_EQ(labels_of("label_replace(lr, \"dst\", \"$n-$1x\", \"src\", \"(?P<n>source).*\")"),
            "{__name__=\"lr\", dst=\"source-\", path=\"/api/users\", src=\"source-value-10\"}");
  EXPECT_EQ(labels_of("label_replace(lr, \"src\", \"\", \"src\", \".*\")"),
            "{__name__=\"lr\", path=\"/api/users\"}");
  EXPECT_EQ(labels_of("label_join(lr, \"j\", \"-\", \"src\", \"path\", \"nope\")"),
            "{__name__=\"lr\", j=\"source-value-10-/api/users-\", path=\"/api/users\", "
            "src=\"source-value-10\"}");
  EXPECT_EQ(labels_of("label_join(lr, \"path\", \",\")"),
            "{__name__=\"lr\", src=\"source-value-10\"}");
  EXPECT_EQ(Error("label_join(lr, \"j\", \"-\", \"1bad\")", 0),
            "invalid source label name in label_join(): 1bad");
  // Deleting the only distinguishing label leaves two equal label sets.
  Load("lr{src=\"other\", path=\"/api/users\"}", "2");
  EXPECT_EQ(Error("label_replace(lr, \"src\", \"\", \"\", \"\")", 0),
            "vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, DateFunctionsInUtc) {
  // 2024-02-29T10:30:00Z, a Thursday in a leap year.
  Load("when", "1709202600");
  EXPECT_DOUBLE_EQ(Value("year(when)", 0), 2024);
  EXPECT_DOUBLE_EQ(Value("month(when)", 0), 2);
  EXPECT_DOUBLE_EQ(Value("day_of_month(when)", 0), 29);
  EXPECT_DOUBLE_EQ(Value("day_of_week(when)", 0), 4);
  EXPECT_DOUBLE_EQ(Value("days_in_month(when)", 0), 29);
  EXPECT_DOUBLE_EQ(Value("hour(when)", 0), 10);
  EXPECT_DOUBLE_EQ(Value("minute(when)", 0), 30);
  EXPECT_EQ(Vector("hour(when)", 0), (Values{{"{}", 10}}));
  // Without an argument: the evaluation time, 1970-01-01T00:02:00Z.
  EXPECT_DOUBLE_EQ(Value("minute()", 2 * kMinute), 2);
  EXPECT_DOUBLE_EQ(Value("year()", 2 * kMinute), 1970);
  EXPECT_DOUBLE_EQ(Value("day_of_week()", 0), 4);  // a Thursday too
  // Before 1970, and NaN, which Go turns into the smallest int64.
  EXPECT_DOUBLE_EQ(Value("hour(vector(-1))", 0), 23);
  EXPECT_DOUBLE_EQ(Value("year(vector(-1))", 0), 1969);
  EXPECT_DOUBLE_EQ(Value("minute(vector(NaN))", 0), 30);
}

TEST_F(EngineTest, TimeTimestampScalarVectorSort) {
  Load("m{i=\"1\"}", "_ 3");
  Load("m{i=\"2\"}", "_ 1");
  Load("m{i=\"3\"}", "_ NaN");
  Load("m{i=\"4\"}", "_ 2");
  EXPECT_DOUBLE_EQ(Value("time()", 90 * kSecond), 90);
  EXPECT_EQ(Vector("vector(time())", 90 * kSecond), (Values{{"{}", 90}}));
  // timestamp() of a selector gives the sample's own time, even through an offset; of
  // anything else the evaluation time.
  EXPECT_DOUBLE_EQ(Value("timestamp(m{i=\"1\"})", 90 * kSecond), 60);
  EXPECT_DOUBLE_EQ(Value("timestamp(m{i=\"1\"} offset 10s)", 90 * kSecond), 60);
  EXPECT_DOUBLE_EQ(Value("timestamp(m{i=\"1\"} * 1)", 90 * kSecond), 90);
  EXPECT_DOUBLE_EQ(Value("timestamp(timestamp(m{i=\"1\"}))", 90 * kSecond), 90);
  EXPECT_DOUBLE_EQ(Value("scalar(m{i=\"1\"})", kMinute), 3);
  EXPECT_TRUE(std::isnan(Value("scalar(m)", kMinute)));  // not exactly one element
  EXPECT_TRUE(std::isnan(Value("scalar(nope)", kMinute)));
  // sort and sort_desc put NaN last; other results keep the series order.
  EXPECT_EQ(Order("sort(m)", kMinute),
            (std::vector<std::string>{"{__name__=\"m\", i=\"2\"}", "{__name__=\"m\", i=\"4\"}",
                                      "{__name__=\"m\", i=\"1\"}", "{__name__=\"m\", i=\"3\"}"}));
  EXPECT_EQ(Order("sort_desc(m)", kMinute),
            (std::vector<std::string>{"{__name__=\"m\", i=\"1\"}", "{__name__=\"m\", i=\"4\"}",
                                      "{__name__=\"m\", i=\"2\"}", "{__name__=\"m\", i=\"3\"}"}));
}

TEST_F(EngineTest, AbsentTakesLabelsFromEqualityMatchers) {
  Load("m", "1");
  EXPECT_TRUE(Vector("absent(m)", 0).empty());
  EXPECT_EQ(Vector("absent(nope)", 0), (Values{{"{}", 1}}));
  // Regex matchers and labels matched twice give no label.
  EXPECT_EQ(Vector("absent(nope{a=\"b\", c=~\"d\", e=\"f\", e=\"g\"})", 0),
            (Values{{"{a=\"b\"}", 1}}));
  EXPECT_EQ(Vector("absent(nope{a=\"b\", a!=\"c\"})", 0), (Values{{"{}", 1}}));
  EXPECT_EQ(Vector("absent((nope{a=\"b\"}))", 0), (Values{{"{a=\"b\"}", 1}}));
  EXPECT_EQ(Vector("absent(sum(nope{a=\"b\"}))", 0), (Values{{"{}", 1}}));
}

TEST_F(EngineTest, DuplicateLabelSetsAreErrors) {
  Load("p{y=\"1\"}", "1");
  Load("q{y=\"1\"}", "1");
  EXPECT_EQ(Error("abs({y=\"1\"})", 0), "vector cannot contain metrics with the same labelset");
  EXPECT_EQ(Error("-{y=\"1\"}", 0), "vector cannot contain metrics with the same labelset");
  EXPECT_EQ(Error("{y=\"1\"} * 2", 0), "vector cannot contain metrics with the same labelset");
  Load("a{x=\"1\"}", "1 1 1 stale");
  Load("b{x=\"1\"}", "_x4 1 1");
  // Within a range query: per step for instant functions, so a and b, never present at the
  // same step, merge into one series...
  const auto merged = Range("abs({x=\"1\"})", 0, 5 * kMinute, kMinute);
  ASSERT_TRUE(merged.ok()) << merged.message();
  ASSERT_EQ(merged->series.size(), 1u);
  EXPECT_EQ(merged->series[0].points.size(), 5u);  // a at 0..2m, nothing at 3m, b at 4m, 5m
  // ...but over the whole range for range functions, as Prometheus checks.
  EXPECT_EQ(Range("count_over_time({x=\"1\"}[30s])", 0, 5 * kMinute, kMinute).message(),
            "vector cannot contain metrics with the same labelset");
}

TEST_F(EngineTest, TooManySamplesFailsTheQuery) {
  Load("c", "0+1x100");
  options_.max_samples = 50;
  EXPECT_EQ(Error("sum_over_time(c[100m])", 100 * kMinute),
            "query processing would load too many samples into memory in query execution");
  EXPECT_EQ(Value("sum_over_time(c[40m])", 100 * kMinute), 3280);  // 60 + 61 + ... + 100
}

TEST_F(EngineTest, OffsetsAndRangesBeyondAnySampleFindNothing) {
  Load("g", "1 1 1");
  EXPECT_TRUE(Vector("g offset 250000000y", kMinute).empty());
  EXPECT_TRUE(Vector("g offset -250000000y", kMinute).empty());
  EXPECT_TRUE(Vector("count_over_time(g[250000000y] offset 250000000y)", kMinute).empty());
  // The window then ends that far ahead and starts at the evaluation time.
  EXPECT_EQ(Value("count_over_time(g[250000000y] offset -250000000y)", 0), 3);
  const auto extremes =
      Range("g", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
            std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(extremes.ok()) << extremes.message();
  EXPECT_TRUE(extremes->series.empty());
  EXPECT_EQ(Range("g", 0, 1'000'000'000, 1).message(),
            "query processing would load too many samples into memory in query execution");
}

TEST_F(EngineTest, RangeQueriesEvaluateEveryStep) {
  Load("c", "0+60x10");
  Load("g{i=\"2\"}", "5 _x6 6 stale");
  Load("g{i=\"1\"}", "_x3 7");
  const auto result = Range("rate(c[2m])", 5 * kMinute, 7 * kMinute, kMinute);
  ASSERT_TRUE(result.ok()) << result.message();
  ASSERT_TRUE(result->is_matrix);
  ASSERT_EQ(result->series.size(), 1u);
  EXPECT_EQ(result->series[0].points,
            (std::vector<tsdb::Sample>{{5 * kMinute, 1}, {6 * kMinute, 1}, {7 * kMinute, 1}}));
  // Steps from the start, the end included when it is on the grid; series sorted by labels,
  // each with the steps where it had a value.
  const auto gauge = Range("g", 0, 10 * kMinute, 3 * kMinute);
  ASSERT_TRUE(gauge.ok()) << gauge.message();
  ASSERT_EQ(gauge->series.size(), 2u);
  EXPECT_EQ(tsdb::LabelsString(gauge->series[0].labels), "{__name__=\"g\", i=\"1\"}");
  EXPECT_EQ(gauge->series[0].points,
            (std::vector<tsdb::Sample>{{3 * kMinute, 7}, {6 * kMinute, 7}}));
  // At 6m the 5 from 0 is out of the lookback; at 9m the marker hides the 6 from 7m.
  EXPECT_EQ(gauge->series[1].points, (std::vector<tsdb::Sample>{{0, 5}, {3 * kMinute, 5}}));
  // A scalar expression: one series without labels.
  const auto times = Range("time() * 2", 0, 2 * kMinute, kMinute);
  ASSERT_TRUE(times.ok()) << times.message();
  ASSERT_EQ(times->series.size(), 1u);
  EXPECT_TRUE(times->series[0].labels.empty());
  EXPECT_EQ(times->series[0].points,
            (std::vector<tsdb::Sample>{{0, 0}, {kMinute, 120}, {2 * kMinute, 240}}));
  // absent_over_time: 1 at the steps where no series had a sample in its window.
  const auto absent = Range("absent_over_time(g{i=\"1\"}[1m])", 0, 10 * kMinute, 3 * kMinute);
  ASSERT_TRUE(absent.ok()) << absent.message();
  ASSERT_EQ(absent->series.size(), 1u);
  EXPECT_EQ(absent->series[0].points,
            (std::vector<tsdb::Sample>{{0, 1}, {6 * kMinute, 1}, {9 * kMinute, 1}}));
  EXPECT_THAT(Range("c[5m]", 0, kMinute, kMinute).message(),
              HasSubstr("invalid expression type \"range vector\""));
  EXPECT_FALSE(Range("c", 0, kMinute, 0).ok());
}

TEST(EngineFormatValue, WritesTheShortestExactDecimalWithoutExponent) {
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(-0.5), "-0.5");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatValue(1e-7), "0.0000001");
  EXPECT_EQ(FormatValue(NAN), "NaN");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
}

}  // namespace
}  // namespace mingus::collector::promql
