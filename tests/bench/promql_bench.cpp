// PromQL evaluation over a head shaped like tests/bench/rules_vs_prometheus.py's: 100 targets of
// 1 000 series (synthetic_targets.py's counters, gauges and histogram buckets, in 10 shards),
// in 10 clusters, 30 minutes of samples at 10 s. Each benchmark is one of rule_corpus.py's rule
// forms, evaluated as an instant query at the end, the way a rule group runs it.
#include <benchmark/benchmark.h>

#include <string>

#include "mingus/collector/promql/engine.h"
#include "mingus/collector/promql/parser.h"

namespace {

using mingus::collector::promql::Engine;
using mingus::collector::promql::ExprPtr;
using mingus::collector::tsdb::Head;
using mingus::collector::tsdb::Labels;

constexpr int kTargets = 100, kSeriesPerTarget = 1000, kShards = 10, kClusters = 10;
constexpr int64_t kStepMs = 10'000, kSamples = 180, kEndMs = kSamples * kStepMs;
constexpr const char* kBuckets[] = {"0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf"};

const Head& SyntheticHead() {
  static const Head* head = [] {
    auto* h = new Head();
    std::vector<Head::PendingSample> samples;
    for (int target = 0; target < kTargets; ++target) {
      const std::string instance = "127.0.0.1:" + std::to_string(20000 + target);
      const std::string cluster = "c" + std::to_string(target % kClusters);
      std::vector<mingus::collector::tsdb::SeriesRef> refs;
      for (int n = 0; n < kSeriesPerTarget; ++n) {
        const int shard = n / (kSeriesPerTarget / kShards), i = n % (kSeriesPerTarget / kShards);
        std::vector<std::pair<std::string, std::string>> pairs = {{"cluster", cluster},
                                                                  {"instance", instance},
                                                                  {"job", "synthetic"},
                                                                  {"shard", std::to_string(shard)}};
        if (i % 3 == 0) {
          pairs.insert(pairs.end(), {{"__name__", "synthetic_requests_total"},
                                     {"path", "/p" + std::to_string(i)}});
        } else if (i % 3 == 1) {
          pairs.insert(pairs.end(),
                       {{"__name__", "synthetic_gauge"}, {"item", "i" + std::to_string(i)}});
        } else {
          pairs.insert(pairs.end(), {{"__name__", "synthetic_latency_seconds_bucket"},
                                     {"le", kBuckets[i % std::size(kBuckets)]},
                                     {"n", std::to_string(i)}});
        }
        refs.push_back(h->GetOrCreate(*mingus::collector::tsdb::MakeLabels(std::move(pairs))));
      }
      for (int64_t s = 0; s < kSamples; ++s) {
        samples.clear();
        for (size_t n = 0; n < refs.size(); ++n) {
          const double value = n % 3 == 1 ? static_cast<double>((n * 7 + s * 13) % 100)
                                          : static_cast<double>(s * (n % 50 + 1));
          samples.push_back({refs[n], s * kStepMs + static_cast<int64_t>(target) * 37, value});
        }
        h->AppendMany(samples);
      }
    }
    return h;
  }();
  return *head;
}

void Evaluate(benchmark::State& state, const char* query) {
  const Head& head = SyntheticHead();
  const Engine engine(head);
  auto parsed = mingus::collector::promql::Parse(query);
  const ExprPtr expr = std::move(parsed).value();
  size_t series = 0;
  for (auto _ : state) {
    auto result = engine.Instant(*expr, kEndMs);
    if (!result.ok()) {
      state.SkipWithError(result.status().message().c_str());
      return;
    }
    series = result->series.size();
    benchmark::DoNotOptimize(result);
  }
  state.counters["result_series"] = static_cast<double>(series);
}

// The forms of tests/bench/rule_corpus.py, one rule of each.
BENCHMARK_CAPTURE(
    Evaluate, sum_by_rate,
    R"(sum by (job, cluster, shard) (rate(synthetic_requests_total{cluster="c3",shard="2"}[5m])))");
BENCHMARK_CAPTURE(
    Evaluate, sum_by_rate_path,
    R"(sum by (instance, path) (rate(synthetic_requests_total{cluster="c3",path="/p21"}[5m])))");
BENCHMARK_CAPTURE(
    Evaluate, histogram_quantile,
    R"(histogram_quantile(0.9, sum by (le, instance) (rate(synthetic_latency_seconds_bucket{cluster="c3",shard="2"}[5m]))))");
BENCHMARK_CAPTURE(
    Evaluate, ratio_regex,
    R"(sum by (instance) (rate(synthetic_requests_total{cluster="c3",shard="2",path=~"/p[0-4].*"}[5m])) / sum by (instance) (rate(synthetic_requests_total{cluster="c3",shard="2"}[5m])))");
BENCHMARK_CAPTURE(
    Evaluate, avg_over_time_by,
    R"(avg by (instance) (avg_over_time(synthetic_gauge{cluster="c3",shard="2"}[5m])))");
BENCHMARK_CAPTURE(Evaluate, max_by_gauge,
                  R"(max by (cluster, shard) (synthetic_gauge{cluster="c3",shard="2"}))");
BENCHMARK_CAPTURE(Evaluate, avg_over_time_item_alert,
                  R"(avg_over_time(synthetic_gauge{cluster="c3",shard="2",item="i7"}[5m]) > 60)");
BENCHMARK_CAPTURE(
    Evaluate, predict_linear_alert,
    R"(max by (instance) (predict_linear(synthetic_gauge{cluster="c3",shard="2"}[5m], 3600)) > 1000)");
BENCHMARK_CAPTURE(Evaluate, absent_alert,
                  R"(absent(synthetic_requests_total{cluster="c3",shard="2",path="/absent"}))");

}  // namespace

BENCHMARK_MAIN();
