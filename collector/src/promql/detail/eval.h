#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/promql/ast.h"
#include "mingus/common/status.h"

// The engine's per-step building blocks, shared by engine.cpp (the tree walk over all steps),
// operators.cpp, aggregations.cpp and functions.cpp. Each works on one step's vectors, as
// Prometheus' rangeEval callbacks do.
namespace mingus::collector::promql::detail {

using tsdb::Labels;
using tsdb::Sample;

inline constexpr std::string_view kMetricName = "__name__";

// One series' value at one step.
struct Element {
  Labels labels;
  double value = 0;
};
using Vector = std::vector<Element>;

// ---- labels ----
const std::string* FindLabel(const Labels& labels, std::string_view name);
// Sets a label; an empty value removes it, as Prometheus' labels.Builder does.
void SetLabel(Labels& labels, std::string_view name, std::string value);
void DropMetricName(Labels& labels);
// The labels a grouping keeps: with `keep` (on / by) those named, otherwise (ignoring /
// without) all but those named and __name__.
Labels GroupLabels(const Labels& labels, const std::vector<std::string>& names, bool keep);
// A cheap map key for a label set.
std::string LabelsKey(const Labels& labels);
// Prometheus checks this after every step of a function, operator or aggregation.
Status CheckUniqueLabelsets(const Vector& vector);
inline constexpr std::string_view kDuplicateLabelset =
    "vector cannot contain metrics with the same labelset";

// ---- operators (operators.cpp) ----
bool IsComparison(std::string_view op);
// Both operands scalars; comparisons (always with bool) give 0 or 1.
double ScalarBinary(std::string_view op, double lhs, double rhs);
// A vector and a scalar; `scalar_on_left` tells which side the scalar was written on.
Vector VectorScalarBinary(const Binary& binary, Vector vector, double scalar, bool scalar_on_left);
// Two vectors: arithmetic and comparisons with their matching, and the set operators.
StatusOr<Vector> VectorBinary(const Binary& binary, Vector lhs, Vector rhs);

// ---- aggregations (aggregations.cpp) ----
// `param` is topk/bottomk's k and quantile's phi; `label` count_values' label name.
StatusOr<Vector> Aggregate(const Aggregation& aggregation, double param, const std::string& label,
                           const Vector& input);
// Prometheus' quantile over plain values (quantile and quantile_over_time): NaN for none,
// -Inf below 0, +Inf above 1, linear interpolation between the closest ranks.
double Quantile(double q, std::vector<double> values);

// ---- functions (functions.cpp) ----
// One argument of a function at one step; strings are read from the call's literals.
struct StepArg {
  Vector vector;
  double scalar = 0;
};

// A function over instant vectors and scalars at one step. A scalar-valued function returns
// one element without labels.
using InstantFunction = StatusOr<Vector> (*)(const Call& call, std::vector<StepArg>& args,
                                             int64_t time_ms);

// One series' samples of a range selector at one step, none of them stale markers.
struct RangeWindow {
  std::span<const Sample> samples;  // never empty
  int64_t range_start_ms = 0;       // time - offset - range
  int64_t range_end_ms = 0;         // time - offset
  int64_t range_ms = 0;
  int64_t time_ms = 0;  // the evaluation time
  double scalar = 0;    // quantile_over_time's phi, predict_linear's seconds
};
// No value drops the series at that step.
using RangeFunction = std::optional<double> (*)(const RangeWindow& window);

struct FunctionImpl {
  InstantFunction instant = nullptr;  // set for functions of instant vectors and scalars
  RangeFunction range = nullptr;      // set for functions of a range vector
  bool keeps_metric_name = false;     // last_over_time acts like an offset
};
// Every function the parser accepts has one.
const FunctionImpl* FindFunction(std::string_view name);

// absent() and absent_over_time(): the labels of the argument's equality matchers, except
// a name matched more than once or also by another matcher.
Labels AbsentLabels(const Expr& arg);

const Expr& UnwrapParens(const Expr& expr);

}  // namespace mingus::collector::promql::detail
