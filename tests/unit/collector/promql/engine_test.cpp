#include "mingus/collector/promql/engine.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mingus/collector/promql/parser.h"

namespace mingus::collector::promql {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000;

// Expected values below are worked out by hand from the samples each test loads.
class EngineTest : public ::testing::Test {
 protected:
  // name{labels} with value v at each (minute, v).
  void Load(std::vector<std::pair<std::string, std::string>> labels, std::vector<std::pair<double, double>> points) {
    const auto ref = head_.GetOrCreate(*tsdb::MakeLabels(std::move(labels)));
    for (const auto& [minute, value] : points) {
      ASSERT_TRUE(head_.Append(ref, static_cast<int64_t>(minute * kMinute), value));
    }
  }
  // Counter: 0, 10, 20, ... one sample a minute for `minutes` minutes (from minute 0).
  void LoadLinear(std::vector<std::pair<std::string, std::string>> labels, int minutes, double per_minute) {
    std::vector<std::pair<double, double>> points;
    for (int m = 0; m <= minutes; ++m) points.emplace_back(m, m * per_minute);
    Load(std::move(labels), points);
  }
  StatusOr<QueryResult> Query(const std::string& query, double minute) {
    auto expr = Parse(query);
    if (!expr.ok()) return expr.status();
    return Engine(head_).Instant(**expr, static_cast<int64_t>(minute * kMinute));
  }
  // The single value of an instant query (scalar, or a one-element vector).
  double Value(const std::string& query, double minute) {
    const auto result = Query(query, minute);
    EXPECT_TRUE(result.ok()) << query << ": " << result.message();
    if (!result.ok()) return -12345;
    if (result->type == ValueType::kScalar) return result->scalar;
    EXPECT_EQ(result->series.size(), 1u) << query;
    return result->series.empty() ? -12345 : result->series[0].points[0].value;
  }
  // {labels string: value} of an instant query.
  std::map<std::string, double> Vector(const std::string& query, double minute) {
    const auto result = Query(query, minute);
    EXPECT_TRUE(result.ok()) << query << ": " << result.message();
    std::map<std::string, double> out;
    if (!result.ok()) return out;
    for (const auto& series : result->series) out[tsdb::LabelsString(series.labels)] = series.points[0].value;
    return out;
  }
  std::string Error(const std::string& query, double minute) {
    const auto result = Query(query, minute);
    return result.ok() ? "no error" : result.message();
  }

  tsdb::Head head_;
};

TEST_F(EngineTest, InstantSelectorsLookBackFiveMinutesAndStopAtStalenessMarkers) {
  Load({{"__name__", "g"}}, {{0, 1}, {10, 2}, {12, tsdb::StaleNaN()}});
  EXPECT_EQ(Value("g", 0), 1);
  EXPECT_EQ(Value("g", 4.9), 1);
  EXPECT_TRUE(Vector("g", 5).empty());     // (5m - 5m, 5m]: the sample at 0 is out
  EXPECT_EQ(Value("g", 11), 2);
  EXPECT_TRUE(Vector("g", 12).empty());    // the marker ends the series at once
  EXPECT_EQ(Value("g offset 10m", 14), 1);  // looks at minute 4
}

TEST_F(EngineTest, RateExtrapolatesAndHandlesCounterResets) {
  LoadLinear({{"__name__", "c"}}, 10, 60);  // 1 per second
  // [5m] at minute 10 holds 6 samples (minutes 5..10, closed interval): 300 over 300 s.
  EXPECT_DOUBLE_EQ(Value("rate(c[5m])", 10), 1);
  EXPECT_DOUBLE_EQ(Value("increase(c[5m])", 10), 300);
  // Window (7.5m, 10m]: samples at 8, 9, 10 (120 over 120 s); the gaps to the edges (30 s,
  // 0 s) are under 1.1 average gaps, so it extrapolates to 150 s: 150.
  EXPECT_DOUBLE_EQ(Value("increase(c[150s])", 10), 150);
  // A reset: 0,60,120,10,70 -> increase 120 + 10 + 60 = 190 over 4 minutes, window 4m.
  Load({{"__name__", "r"}}, {{0, 0}, {1, 60}, {2, 120}, {3, 10}, {4, 70}});
  EXPECT_DOUBLE_EQ(Value("increase(r[4m])", 4), 190);
  // delta does not correct resets: 70 - 0.
  EXPECT_DOUBLE_EQ(Value("delta(r[4m])", 4), 70);
  EXPECT_DOUBLE_EQ(Value("irate(r[4m])", 4), 1);   // (70 - 10) / 60 s
  EXPECT_DOUBLE_EQ(Value("idelta(r[4m])", 4), 60);
  EXPECT_DOUBLE_EQ(Value("resets(r[4m])", 4), 1);
  EXPECT_DOUBLE_EQ(Value("changes(r[4m])", 4), 4);
  // One sample is not enough for a rate.
  EXPECT_TRUE(Vector("rate(r[30s])", 4).empty());
}

TEST_F(EngineTest, CounterExtrapolationStopsAtZero) {
  // 10, 20 at minutes 1 and 2, window [0, 2m]: to zero would be 60 s back, but the gap to the
  // window start is 60 s: both 60 s; under 1.1 gaps, so extrapolate to 120 s: 10 * 2 = 20.
  Load({{"__name__", "z"}}, {{1, 10}, {2, 20}});
  EXPECT_DOUBLE_EQ(Value("increase(z[2m])", 2), 20);
  // 50, 60: zero would be 300 s back, the start is 60 s back: extrapolate 60 s: 20.
  Load({{"__name__", "y"}}, {{1, 50}, {2, 60}});
  EXPECT_DOUBLE_EQ(Value("increase(y[2m])", 2), 20);
}

TEST_F(EngineTest, OverTimeFunctions) {
  Load({{"__name__", "g"}}, {{1, 4}, {2, 8}, {3, 6}, {4, 2}});
  EXPECT_DOUBLE_EQ(Value("avg_over_time(g[5m])", 4), 5);
  EXPECT_DOUBLE_EQ(Value("sum_over_time(g[5m])", 4), 20);
  EXPECT_DOUBLE_EQ(Value("min_over_time(g[5m])", 4), 2);
  EXPECT_DOUBLE_EQ(Value("max_over_time(g[5m])", 4), 8);
  EXPECT_DOUBLE_EQ(Value("count_over_time(g[5m])", 4), 4);
  EXPECT_DOUBLE_EQ(Value("last_over_time(g[5m])", 4), 2);
  EXPECT_DOUBLE_EQ(Value("present_over_time(g[5m])", 4), 1);
  EXPECT_DOUBLE_EQ(Value("stdvar_over_time(g[5m])", 4), 5);  // deviations -1 3 1 -3: 20 / 4
  EXPECT_DOUBLE_EQ(Value("stddev_over_time(g[5m])", 4), std::sqrt(5.0));
  // Sorted 2 4 6 8: rank 0.5 * 3 = 1.5 -> 4 + (6 - 4) * 0.5.
  EXPECT_DOUBLE_EQ(Value("quantile_over_time(0.5, g[5m])", 4), 5);
  EXPECT_EQ(Value("quantile_over_time(2, g[5m])", 4), INFINITY);
  EXPECT_DOUBLE_EQ(Value("absent_over_time(nope{job=\"x\"}[5m])", 4), 1);
  EXPECT_EQ(Vector("absent_over_time(nope{job=\"x\"}[5m])", 4).begin()->first, "{job=\"x\"}");
  EXPECT_TRUE(Vector("absent_over_time(g[5m])", 4).empty());
}

TEST_F(EngineTest, DerivAndPredictLinear) {
  LoadLinear({{"__name__", "d"}}, 10, 60);  // slope 1 per second
  EXPECT_DOUBLE_EQ(Value("deriv(d[5m])", 10), 1);
  // At minute 10 the fit gives 600; an hour on: 600 + 3600.
  EXPECT_DOUBLE_EQ(Value("predict_linear(d[5m], 3600)", 10), 4200);
  Load({{"__name__", "flat"}}, {{8, 3}, {9, 3}, {10, 3}});
  EXPECT_DOUBLE_EQ(Value("deriv(flat[5m])", 10), 0);
}

TEST_F(EngineTest, HistogramQuantileInterpolatesWithinTheBucket) {
  for (const auto& [le, count] : std::vector<std::pair<std::string, double>>{
           {"0.1", 10}, {"0.5", 30}, {"1", 40}, {"+Inf", 40}}) {
    Load({{"__name__", "h_bucket"}, {"le", le}, {"job", "a"}}, {{1, count}});
  }
  // rank 0.5 * 40 = 20 falls in (0.1, 0.5] holding 20: 0.1 + 0.4 * (10 / 20).
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.5, h_bucket)", 1), 0.3);
  // rank 39.6 in (0.5, 1]: 0.5 + 0.5 * (9.6 / 10).
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.99, h_bucket)", 1), 0.98);
  // rank 4 in the first bucket, from 0: 0.1 * 4 / 10.
  EXPECT_DOUBLE_EQ(Value("histogram_quantile(0.1, h_bucket)", 1), 0.04);
  EXPECT_EQ(Vector("histogram_quantile(0.5, h_bucket)", 1).begin()->first, "{job=\"a\"}");
  // Without a +Inf bucket: NaN.
  Load({{"__name__", "broken_bucket"}, {"le", "1"}}, {{1, 5}});
  EXPECT_TRUE(std::isnan(Value("histogram_quantile(0.5, broken_bucket)", 1)));
}

TEST_F(EngineTest, AggregationsWithByAndWithout) {
  Load({{"__name__", "m"}, {"job", "a"}, {"i", "1"}}, {{1, 1}});
  Load({{"__name__", "m"}, {"job", "a"}, {"i", "2"}}, {{1, 3}});
  Load({{"__name__", "m"}, {"job", "b"}, {"i", "1"}}, {{1, 8}});
  EXPECT_EQ(Vector("sum by (job) (m)", 1), (std::map<std::string, double>{{"{job=\"a\"}", 4}, {"{job=\"b\"}", 8}}));
  EXPECT_EQ(Vector("sum without (i) (m)", 1), (std::map<std::string, double>{{"{job=\"a\"}", 4}, {"{job=\"b\"}", 8}}));
  EXPECT_DOUBLE_EQ(Value("avg(m)", 1), 4);
  EXPECT_DOUBLE_EQ(Value("min(m)", 1), 1);
  EXPECT_DOUBLE_EQ(Value("max(m)", 1), 8);
  EXPECT_DOUBLE_EQ(Value("count(m)", 1), 3);
  EXPECT_DOUBLE_EQ(Value("group(m)", 1), 1);
  EXPECT_DOUBLE_EQ(Value("stdvar(m)", 1), 26.0 / 3);  // mean 4: (9 + 1 + 16) / 3
  EXPECT_DOUBLE_EQ(Value("quantile(0.5, m)", 1), 3);
  EXPECT_EQ(Vector("topk(1, m)", 1), (std::map<std::string, double>{{"{__name__=\"m\", i=\"1\", job=\"b\"}", 8}}));
  EXPECT_EQ(Vector("bottomk(1, m)", 1), (std::map<std::string, double>{{"{__name__=\"m\", i=\"1\", job=\"a\"}", 1}}));
  EXPECT_EQ(Vector("topk by (job) (1, m)", 1).size(), 2u);
  EXPECT_EQ(Vector("count_values(\"v\", m)", 1),
            (std::map<std::string, double>{{"{v=\"1\"}", 1}, {"{v=\"3\"}", 1}, {"{v=\"8\"}", 1}}));
}

TEST_F(EngineTest, ArithmeticComparisonAndBool) {
  Load({{"__name__", "m"}, {"i", "1"}}, {{1, 2}});
  Load({{"__name__", "m"}, {"i", "2"}}, {{1, 5}});
  EXPECT_EQ(Vector("m * 2", 1), (std::map<std::string, double>{{"{i=\"1\"}", 4}, {"{i=\"2\"}", 10}}));
  EXPECT_EQ(Vector("10 - m", 1), (std::map<std::string, double>{{"{i=\"1\"}", 8}, {"{i=\"2\"}", 5}}));
  // A filter keeps the name and the vector's value, whichever side the scalar is on.
  EXPECT_EQ(Vector("m > 3", 1), (std::map<std::string, double>{{"{__name__=\"m\", i=\"2\"}", 5}}));
  EXPECT_EQ(Vector("3 < m", 1), (std::map<std::string, double>{{"{__name__=\"m\", i=\"2\"}", 5}}));
  EXPECT_EQ(Vector("m > bool 3", 1), (std::map<std::string, double>{{"{i=\"1\"}", 0}, {"{i=\"2\"}", 1}}));
  EXPECT_DOUBLE_EQ(Value("2 ^ 3 % 5", 1), 3);
  EXPECT_DOUBLE_EQ(Value("1 > bool 2", 1), 0);
  EXPECT_EQ(Vector("-m", 1), (std::map<std::string, double>{{"{i=\"1\"}", -2}, {"{i=\"2\"}", -5}}));
}

TEST_F(EngineTest, VectorMatching) {
  Load({{"__name__", "errors"}, {"job", "a"}, {"code", "500"}}, {{1, 2}});
  Load({{"__name__", "errors"}, {"job", "a"}, {"code", "503"}}, {{1, 6}});
  Load({{"__name__", "requests"}, {"job", "a"}}, {{1, 8}});
  Load({{"__name__", "requests"}, {"job", "b"}}, {{1, 4}});
  Load({{"__name__", "info"}, {"job", "a"}, {"version", "1.2"}}, {{1, 1}});
  // One-to-one on(job): the labels of on() only.
  EXPECT_EQ(Vector("sum by (job) (errors) / on(job) requests", 1), (std::map<std::string, double>{{"{job=\"a\"}", 1}}));
  // Many-to-one: each error series against its job's requests, keeping the many side's labels.
  EXPECT_EQ(Vector("errors / on(job) group_left requests", 1),
            (std::map<std::string, double>{{"{code=\"500\", job=\"a\"}", 0.25}, {"{code=\"503\", job=\"a\"}", 0.75}}));
  // group_left(version) copies the label from the one side.
  EXPECT_EQ(Vector("requests * on(job) group_left(version) info", 1),
            (std::map<std::string, double>{{"{job=\"a\", version=\"1.2\"}", 8}}));
  EXPECT_THAT(Error("errors / on(job) requests", 1), HasSubstr("multiple matches for labels"));
  EXPECT_THAT(Error("requests / on(job) errors", 1), HasSubstr("many-to-many matching not allowed"));
  // Set operators keep the left side's series as they are.
  EXPECT_EQ(Vector("requests and on(job) errors", 1), (std::map<std::string, double>{{"{__name__=\"requests\", job=\"a\"}", 8}}));
  EXPECT_EQ(Vector("requests unless on(job) errors", 1), (std::map<std::string, double>{{"{__name__=\"requests\", job=\"b\"}", 4}}));
  EXPECT_EQ(Vector("requests{job=\"a\"} or requests", 1).size(), 2u);
}

TEST_F(EngineTest, FunctionsOnValuesAndLabels) {
  Load({{"__name__", "m"}, {"path", "/api/users"}}, {{1, -2.5}});
  EXPECT_DOUBLE_EQ(Value("abs(m)", 1), 2.5);
  EXPECT_DOUBLE_EQ(Value("ceil(m)", 1), -2);
  EXPECT_DOUBLE_EQ(Value("floor(m)", 1), -3);
  EXPECT_DOUBLE_EQ(Value("round(m)", 1), -2);  // halves round up
  EXPECT_DOUBLE_EQ(Value("round(m, 2)", 1), -2);
  EXPECT_DOUBLE_EQ(Value("clamp(m, -1, 1)", 1), -1);
  EXPECT_DOUBLE_EQ(Value("clamp_min(m, 0)", 1), 0);
  EXPECT_DOUBLE_EQ(Value("clamp_max(m, -3)", 1), -3);
  EXPECT_DOUBLE_EQ(Value("sgn(m)", 1), -1);
  EXPECT_DOUBLE_EQ(Value("exp(abs(m) - 2.5)", 1), 1);
  EXPECT_DOUBLE_EQ(Value("sqrt(abs(m) * 10 - 9)", 1), 4);
  EXPECT_DOUBLE_EQ(Value("ln(exp(abs(m)))", 1), 2.5);
  EXPECT_DOUBLE_EQ(Value("log2(abs(m) * 0 + 8)", 1), 3);
  EXPECT_DOUBLE_EQ(Value("log10(abs(m) * 0 + 1000)", 1), 3);
  EXPECT_DOUBLE_EQ(Value("scalar(m)", 1), -2.5);
  EXPECT_DOUBLE_EQ(Value("time()", 1), 60);
  EXPECT_DOUBLE_EQ(Value("vector(7)", 1), 7);
  EXPECT_DOUBLE_EQ(Value("timestamp(m)", 1.5), 60);  // the sample's own time
  EXPECT_DOUBLE_EQ(Value("absent(nope)", 1), 1);
  EXPECT_TRUE(Vector("absent(m)", 1).empty());
  EXPECT_EQ(Vector("label_replace(m, \"section\", \"$1\", \"path\", \"/api/(.*)\")", 1).begin()->first,
            "{__name__=\"m\", path=\"/api/users\", section=\"users\"}");
  EXPECT_EQ(Vector("label_join(m, \"both\", \"-\", \"__name__\", \"path\")", 1).begin()->first,
            "{__name__=\"m\", both=\"m-/api/users\", path=\"/api/users\"}");
  // 2026-11-29T10:30:00Z is a Sunday.
  Load({{"__name__", "when"}}, {{1, 1795948200}});
  EXPECT_DOUBLE_EQ(Value("year(when)", 1), 2026);
  EXPECT_DOUBLE_EQ(Value("month(when)", 1), 11);
  EXPECT_DOUBLE_EQ(Value("day_of_month(when)", 1), 29);
  EXPECT_DOUBLE_EQ(Value("day_of_week(when)", 1), 0);
  EXPECT_DOUBLE_EQ(Value("hour(when)", 1), 10);
  EXPECT_DOUBLE_EQ(Value("minute(when)", 1), 30);
  EXPECT_DOUBLE_EQ(Value("days_in_month(when)", 1), 30);
}

TEST_F(EngineTest, ErrorsAndLimits) {
  Load({{"__name__", "a"}, {"x", "1"}}, {{1, 1}});
  Load({{"__name__", "b"}, {"x", "1"}}, {{1, 1}});
  EXPECT_THAT(Error("abs({x=\"1\"})", 1), HasSubstr("vector cannot contain metrics with the same labelset"));
  auto expr = Parse("a");
  EngineOptions tight;
  tight.max_samples = 0;
  EXPECT_THAT(Engine(head_, tight).Instant(**expr, kMinute).message(), HasSubstr("too many samples"));
}

TEST_F(EngineTest, RangeQueriesStepThroughTime) {
  LoadLinear({{"__name__", "c"}}, 10, 60);
  auto expr = Parse("rate(c[2m])");
  const auto result = Engine(head_).Range(**expr, 5 * kMinute, 7 * kMinute, kMinute);
  ASSERT_TRUE(result.ok()) << result.message();
  ASSERT_TRUE(result->is_matrix);
  ASSERT_EQ(result->series.size(), 1u);
  EXPECT_EQ(result->series[0].points,
            (std::vector<tsdb::Sample>{{5 * kMinute, 1}, {6 * kMinute, 1}, {7 * kMinute, 1}}));
  auto scalar = Parse("time()");
  const auto times = Engine(head_).Range(**scalar, 0, 2 * kMinute, kMinute);
  ASSERT_EQ(times->series.size(), 1u);
  EXPECT_TRUE(times->series[0].labels.empty());
  EXPECT_EQ(times->series[0].points[2].value, 120);
}

}  // namespace
}  // namespace mingus::collector::promql
