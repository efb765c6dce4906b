#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mingus/collector/promql/ast.h"
#include "mingus/collector/tsdb/head.h"
#include "mingus/common/status.h"

// Evaluates parsed PromQL against the head with Prometheus' semantics: lookback delta and
// staleness markers for instant selectors, extrapolation in rate/increase/delta,
// histogram_quantile's linear interpolation, one-to-one and group_left/right vector matching.
namespace mingus::collector::promql {

// One series of a result: an instant query's vector has one point per series, a range
// query's matrix one per step where the series had a value.
struct ResultSeries {
  tsdb::Labels labels;
  std::vector<tsdb::Sample> points;
};

struct QueryResult {
  ValueType type = ValueType::kInstantVector;  // a range query's result is always a matrix
  bool is_matrix = false;                      // kRangeVector or a range query
  double scalar = 0;                           // type kScalar (instant query)
  int64_t scalar_timestamp_ms = 0;
  std::string string;                          // type kString (instant query)
  std::vector<ResultSeries> series;            // vectors and matrices
};

struct EngineOptions {
  int64_t lookback_delta_ms = 5 * 60 * 1000;
  // A query that reads and computes more samples than this in all fails (Prometheus'
  // query.max-samples, which bounds the peak instead, so this trips somewhat sooner).
  size_t max_samples = 50'000'000;
};

// How Prometheus writes a sample value (and count_values a label): the shortest decimal that
// reads back exactly, without an exponent; NaN, +Inf, -Inf.
std::string FormatValue(double value);
// Go's strconv.FormatFloat(v, 'e', -1, 64): "1e+00", "2.5e-03"; Prometheus writes an alert's
// value so.
std::string FormatScientific(double value);

// Thread-safe: holds only a reference to the head and options.
class Engine {
 public:
  Engine(const tsdb::Head& head, EngineOptions options = {});

  // The expression at one instant. Errors (for example "vector cannot contain metrics with
  // the same labelset", too many samples) come back as a Status with Prometheus' wording.
  StatusOr<QueryResult> Instant(const Expr& expr, int64_t time_ms) const;
  // The expression at start, start+step, ... <= end; always a matrix. A scalar expression
  // gives one series with no labels.
  StatusOr<QueryResult> Range(const Expr& expr, int64_t start_ms, int64_t end_ms, int64_t step_ms) const;

 private:
  const tsdb::Head& head_;
  EngineOptions options_;
};

}  // namespace mingus::collector::promql
