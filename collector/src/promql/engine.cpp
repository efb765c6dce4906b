// The PromQL engine with Prometheus 2.42's semantics (Debian 12's version, which
// tests/integration/promql_compliance_test.py compares against). Like Prometheus it evaluates
// the tree node by node over all steps at once: a selector reads each series' samples for
// the whole query window once and walks them step by step; functions, operators and
// aggregations then run per step on the vectors of their arguments (Prometheus' rangeEval).
//
// Windows, as in Prometheus 2.x (3.0 made both left-open): an instant selector takes the
// latest sample in [t - lookback, t] and none if that sample is a staleness marker; a range
// selector takes the samples in [t - range, t] without staleness markers.
#include "mingus/collector/promql/engine.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "detail/eval.h"

namespace mingus::collector::promql {

namespace {

using detail::Element;
using detail::Vector;
using tsdb::Labels;
using tsdb::Sample;

constexpr std::string_view kTooManySamples =
    "query processing would load too many samples into memory in query execution";

// An instant vector over the steps: each series has at most one point per step, in order.
using Matrix = std::vector<ResultSeries>;

// A node's value over all steps.
struct Value {
  ValueType type = ValueType::kScalar;
  std::vector<double> scalars;  // kScalar: one per step
  Matrix matrix;                // kInstantVector; kRangeVector: raw samples (instant queries)
  std::string string;           // kString
};

// One series of a selector with its samples over the whole query window.
struct LoadedSeries {
  Labels labels;
  std::vector<Sample> samples;
};

// t - duration, held at the ends of int64: offsets and ranges may be as long as the parser
// reads, far beyond any sample.
int64_t Before(int64_t t, int64_t duration) {
  int64_t out = 0;
  if (!__builtin_sub_overflow(t, duration, &out)) return out;
  return duration > 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
}

// start, start + step, ... <= end (end >= start, step > 0), without overflow.
size_t StepCount(int64_t start_ms, int64_t end_ms, int64_t step_ms) {
  return static_cast<size_t>((static_cast<uint64_t>(end_ms) - static_cast<uint64_t>(start_ms)) /
                             static_cast<uint64_t>(step_ms)) +
         1;
}

// Vectors per step for each argument of a rangeEval-style call.
using StepFunction =
    std::function<StatusOr<Vector>(int64_t time_ms, std::vector<detail::StepArg>& args)>;

class Evaluator {
 public:
  Evaluator(const tsdb::Head& head, const EngineOptions& options, int64_t start_ms, int64_t end_ms,
            int64_t step_ms)
      : head_(head),
        options_(options),
        start_ms_(start_ms),
        step_ms_(step_ms),
        steps_(StepCount(start_ms, end_ms, step_ms)) {}

  StatusOr<Value> Eval(const Expr& expr) {
    return std::visit([&](const auto& node) { return EvalNode(node, expr); }, expr.node);
  }

  size_t steps() const { return steps_; }
  // In unsigned arithmetic: the product may pass int64's range when the sum does not.
  int64_t StepTime(size_t step) const {
    return static_cast<int64_t>(static_cast<uint64_t>(start_ms_) +
                                step * static_cast<uint64_t>(step_ms_));
  }

 private:
  int64_t end_ms() const { return StepTime(steps_ - 1); }

  // Counts what the query holds (samples read and points computed) against max_samples.
  Status Hold(size_t samples) {
    held_samples_ += samples;
    if (held_samples_ > options_.max_samples) return Status::Error(std::string(kTooManySamples));
    return OkStatus();
  }

  // The samples of every series the selector matches in [first step - offset - before_ms,
  // last step - offset], read once for all steps.
  StatusOr<std::vector<LoadedSeries>> Load(const VectorSelector& selector, int64_t before_ms) {
    const int64_t min_t = Before(Before(start_ms_, selector.offset_ms), before_ms);
    const int64_t max_t = Before(end_ms(), selector.offset_ms);
    // In series creation order, as Prometheus' head returns them: sums add up in the same
    // order, and equal values rank the same in topk.
    std::vector<tsdb::SeriesRef> refs = head_.Select(selector.matchers);
    std::sort(refs.begin(), refs.end());
    std::vector<LoadedSeries> loaded;
    for (const auto ref : refs) {
      LoadedSeries series{head_.LabelsOf(ref), head_.Samples(ref, min_t, max_t)};
      if (Status held = Hold(series.samples.size()); !held.ok()) return held;
      if (!series.samples.empty()) loaded.push_back(std::move(series));
    }
    return loaded;
  }

  StatusOr<Value> EvalNode(const NumberLiteral& number, const Expr&) {
    return Value{ValueType::kScalar, std::vector<double>(steps_, number.value), {}, {}};
  }

  StatusOr<Value> EvalNode(const StringLiteral& string, const Expr&) {
    return Value{ValueType::kString, {}, {}, string.value};
  }

  StatusOr<Value> EvalNode(const Paren& paren, const Expr&) { return Eval(*paren.expr); }

  StatusOr<Value> EvalNode(const VectorSelector& selector, const Expr&) {
    return SelectInstant(selector, false);
  }

  // Each series' latest sample at each step; `timestamps` gives the sample's time in
  // seconds instead of its value (for timestamp()).
  StatusOr<Value> SelectInstant(const VectorSelector& selector, bool timestamps) {
    auto loaded = Load(selector, options_.lookback_delta_ms);
    if (!loaded.ok()) return loaded.status();
    Value out{ValueType::kInstantVector, {}, {}, {}};
    for (auto& series : *loaded) {
      ResultSeries result{std::move(series.labels), {}};
      size_t next = 0;  // the first sample after the current step
      for (size_t step = 0; step < steps_; ++step) {
        const int64_t at = Before(StepTime(step), selector.offset_ms);
        while (next < series.samples.size() && series.samples[next].timestamp_ms <= at) ++next;
        if (next == 0) continue;
        const Sample& sample = series.samples[next - 1];
        if (sample.timestamp_ms < Before(at, options_.lookback_delta_ms) ||
            tsdb::IsStaleNaN(sample.value)) {
          continue;
        }
        const double value =
            timestamps ? static_cast<double>(sample.timestamp_ms) / 1000 : sample.value;
        result.points.push_back({StepTime(step), value});
      }
      if (Status held = Hold(result.points.size()); !held.ok()) return held;
      if (!result.points.empty()) out.matrix.push_back(std::move(result));
    }
    return out;
  }

  // A range selector's samples, as windows step by step.
  class Windows {
   public:
    Windows(const std::vector<Sample>& samples, int64_t range_ms)
        : samples_(samples), range_ms_(range_ms) {}
    // [end - range, end]; `end` must not decrease between calls.
    std::span<const Sample> At(int64_t end) {
      while (last_ < samples_.size() && samples_[last_].timestamp_ms <= end) ++last_;
      while (first_ < last_ && samples_[first_].timestamp_ms < Before(end, range_ms_)) ++first_;
      return std::span<const Sample>(samples_).subspan(first_, last_ - first_);
    }

   private:
    const std::vector<Sample>& samples_;
    int64_t range_ms_;
    size_t first_ = 0, last_ = 0;
  };

  StatusOr<std::vector<LoadedSeries>> LoadRange(const MatrixSelector& matrix) {
    auto loaded = Load(matrix.vector, matrix.range_ms);
    if (!loaded.ok()) return loaded;
    for (auto& series : *loaded) {
      std::erase_if(series.samples, [](const Sample& s) { return tsdb::IsStaleNaN(s.value); });
    }
    return loaded;
  }

  // A range vector as a result: only an instant query has one (the API refuses it in a range
  // query), so there is one window per series.
  StatusOr<Value> EvalNode(const MatrixSelector& matrix, const Expr&) {
    auto loaded = LoadRange(matrix);
    if (!loaded.ok()) return loaded.status();
    Value out{ValueType::kRangeVector, {}, {}, {}};
    for (auto& series : *loaded) {
      const auto window =
          Windows(series.samples, matrix.range_ms).At(Before(start_ms_, matrix.vector.offset_ms));
      if (!window.empty())
        out.matrix.push_back({std::move(series.labels), {window.begin(), window.end()}});
    }
    return out;
  }

  StatusOr<Value> EvalNode(const Unary& unary, const Expr& expr) {
    auto operand = Eval(*unary.expr);
    if (!operand.ok() || unary.op != '-') return operand;
    if (expr.type == ValueType::kScalar) {
      for (double& value : operand->scalars) value = -value;
      return operand;
    }
    for (auto& series : operand->matrix) {
      detail::DropMetricName(series.labels);
      for (auto& point : series.points) point.value = -point.value;
    }
    if (Status unique = CheckUniqueSeries(operand->matrix); !unique.ok()) return unique;
    return operand;
  }

  // Unlike the per-step check, this one holds across all steps: Prometheus applies it to
  // unary minus and range functions, whose series keep their identity over the steps.
  static Status CheckUniqueSeries(const Matrix& matrix) {
    std::unordered_set<std::string> seen;
    for (const auto& series : matrix) {
      if (!seen.insert(detail::LabelsKey(series.labels)).second) {
        return Status::Error(std::string(detail::kDuplicateLabelset));
      }
    }
    return OkStatus();
  }

  StatusOr<Value> EvalNode(const Binary& binary, const Expr& expr) {
    auto lhs = Eval(*binary.lhs);
    if (!lhs.ok()) return lhs;
    auto rhs = Eval(*binary.rhs);
    if (!rhs.ok()) return rhs;
    const bool lhs_scalar = lhs->type == ValueType::kScalar,
               rhs_scalar = rhs->type == ValueType::kScalar;
    if (lhs_scalar && rhs_scalar) {
      for (size_t step = 0; step < steps_; ++step) {
        lhs->scalars[step] =
            detail::ScalarBinary(binary.op, lhs->scalars[step], rhs->scalars[step]);
      }
      return lhs;
    }
    if (lhs_scalar || rhs_scalar) {
      return RangeEval(expr, {&*lhs, &*rhs},
                       [&](int64_t, std::vector<detail::StepArg>& args) -> StatusOr<Vector> {
                         detail::StepArg& vector = lhs_scalar ? args[1] : args[0];
                         const double scalar = lhs_scalar ? args[0].scalar : args[1].scalar;
                         return detail::VectorScalarBinary(binary, std::move(vector.vector), scalar,
                                                           lhs_scalar);
                       });
    }
    return RangeEval(expr, {&*lhs, &*rhs}, [&](int64_t, std::vector<detail::StepArg>& args) {
      return detail::VectorBinary(binary, std::move(args[0].vector), std::move(args[1].vector));
    });
  }

  StatusOr<Value> EvalNode(const Aggregation& aggregation, const Expr& expr) {
    std::string label;           // count_values' label
    std::optional<Value> param;  // topk's k, quantile's phi
    if (aggregation.param) {
      const Expr& param_expr = detail::UnwrapParens(*aggregation.param);
      if (const auto* literal = std::get_if<StringLiteral>(&param_expr.node)) {
        label = literal->value;
      } else {
        auto evaluated = Eval(param_expr);
        if (!evaluated.ok()) return evaluated;
        param = std::move(*evaluated);
      }
    }
    auto input = Eval(*aggregation.expr);
    if (!input.ok()) return input;
    std::vector<const Value*> args = {&*input};
    if (param) args.push_back(&*param);
    return RangeEval(expr, args, [&](int64_t, std::vector<detail::StepArg>& step_args) {
      const double scalar = param ? step_args[1].scalar : 0;
      return detail::Aggregate(aggregation, scalar, label, step_args[0].vector);
    });
  }

  StatusOr<Value> EvalNode(const Call& call, const Expr& expr) {
    const detail::FunctionImpl* function = detail::FindFunction(call.function);
    if (function == nullptr)
      return Status::Error(fmt::format("function {}() is not supported", call.function));
    if (function->range != nullptr) return EvalRangeFunction(call, *function);
    // timestamp() of a selector reports the samples' own times, not the steps'.
    if (call.function == "timestamp") {
      if (const auto* selector =
              std::get_if<VectorSelector>(&detail::UnwrapParens(*call.args[0]).node)) {
        auto times = SelectInstant(*selector, true);
        if (!times.ok()) return times;
        return RangeEval(expr, {&*times},
                         [](int64_t, std::vector<detail::StepArg>& args) -> StatusOr<Vector> {
                           for (auto& element : args[0].vector)
                             detail::DropMetricName(element.labels);
                           return std::move(args[0].vector);
                         });
      }
    }
    std::vector<Value> values;
    values.reserve(call.args.size());
    for (const auto& arg : call.args) {
      auto value = Eval(*arg);
      if (!value.ok()) return value;
      values.push_back(std::move(*value));
    }
    std::vector<const Value*> args;
    for (const auto& value : values) args.push_back(&value);
    return RangeEval(expr, args, [&](int64_t time_ms, std::vector<detail::StepArg>& step_args) {
      return function->instant(call, step_args, time_ms);
    });
  }

  // A function of a range vector: per series, per step, over that step's window.
  StatusOr<Value> EvalRangeFunction(const Call& call, const detail::FunctionImpl& function) {
    size_t matrix_index = 0;
    while (call.args[matrix_index]->type != ValueType::kRangeVector) ++matrix_index;
    const auto& matrix =
        std::get<MatrixSelector>(detail::UnwrapParens(*call.args[matrix_index]).node);
    // quantile_over_time's phi and predict_linear's seconds, per step.
    std::vector<double> scalar(steps_, 0);
    for (size_t i = 0; i < call.args.size(); ++i) {
      if (i == matrix_index) continue;
      auto value = Eval(*call.args[i]);
      if (!value.ok()) return value;
      scalar = std::move(value->scalars);
    }
    auto loaded = LoadRange(matrix);
    if (!loaded.ok()) return loaded.status();
    Value out{ValueType::kInstantVector, {}, {}, {}};
    for (auto& series : *loaded) {
      ResultSeries result{std::move(series.labels), {}};
      if (!function.keeps_metric_name) detail::DropMetricName(result.labels);
      Windows windows(series.samples, matrix.range_ms);
      for (size_t step = 0; step < steps_; ++step) {
        const int64_t end = Before(StepTime(step), matrix.vector.offset_ms);
        const auto samples = windows.At(end);
        if (samples.empty()) continue;
        const detail::RangeWindow window{
            samples,     Before(end, matrix.range_ms), end, matrix.range_ms, StepTime(step),
            scalar[step]};
        if (const auto value = function.range(window))
          result.points.push_back({StepTime(step), *value});
      }
      if (Status held = Hold(result.points.size()); !held.ok()) return held;
      if (!result.points.empty()) out.matrix.push_back(std::move(result));
    }
    if (call.function == "absent_over_time") return AbsentOverTime(call, std::move(out));
    if (Status unique = CheckUniqueSeries(out.matrix); !unique.ok()) return unique;
    return out;
  }

  // The steps at which no series had a sample in its window get a 1.
  Value AbsentOverTime(const Call& call, Value present) {
    std::vector<bool> seen(steps_, false);
    for (const auto& series : present.matrix) {
      for (const auto& point : series.points)
        seen[static_cast<size_t>((point.timestamp_ms - start_ms_) / step_ms_)] = true;
    }
    ResultSeries absent{detail::AbsentLabels(*call.args[0]), {}};
    for (size_t step = 0; step < steps_; ++step) {
      if (!seen[step]) absent.points.push_back({StepTime(step), 1});
    }
    Value out{ValueType::kInstantVector, {}, {}, {}};
    if (!absent.points.empty()) out.matrix.push_back(std::move(absent));
    return out;
  }

  // Prometheus' rangeEval: the arguments' vectors (or scalars) at each step go to `function`;
  // its outputs are gathered into series by label set.
  StatusOr<Value> RangeEval(const Expr& expr, const std::vector<const Value*>& args,
                            const StepFunction& function) {
    std::vector<std::vector<size_t>> cursors(args.size());  // per argument, per series
    for (size_t i = 0; i < args.size(); ++i) cursors[i].assign(args[i]->matrix.size(), 0);
    std::vector<detail::StepArg> step_args(args.size());
    Matrix out;
    std::unordered_map<std::string, size_t> series_index;
    for (size_t step = 0; step < steps_; ++step) {
      const int64_t time_ms = StepTime(step);
      for (size_t i = 0; i < args.size(); ++i) {
        step_args[i].vector.clear();
        if (args[i]->type == ValueType::kScalar) {
          step_args[i].scalar = args[i]->scalars[step];
          continue;
        }
        const Matrix& matrix = args[i]->matrix;
        for (size_t s = 0; s < matrix.size(); ++s) {
          size_t& cursor = cursors[i][s];
          if (cursor < matrix[s].points.size() &&
              matrix[s].points[cursor].timestamp_ms == time_ms) {
            step_args[i].vector.push_back({matrix[s].labels, matrix[s].points[cursor].value});
            ++cursor;
          }
        }
      }
      auto result = function(time_ms, step_args);
      if (!result.ok()) return result.status();
      if (Status unique = detail::CheckUniqueLabelsets(*result); !unique.ok()) return unique;
      if (Status held = Hold(result->size()); !held.ok()) return held;
      for (auto& element : *result) {
        const auto [it, is_new] =
            series_index.try_emplace(detail::LabelsKey(element.labels), out.size());
        if (is_new) out.push_back({std::move(element.labels), {}});
        out[it->second].points.push_back({time_ms, element.value});
      }
    }
    if (expr.type != ValueType::kScalar) return Value{expr.type, {}, std::move(out), {}};
    // A scalar-valued function (scalar(), time()) gives one unlabelled element per step.
    std::vector<double> scalars(steps_, std::nan(""));
    if (!out.empty()) {
      for (const auto& point : out.front().points) {
        scalars[static_cast<size_t>((point.timestamp_ms - start_ms_) / step_ms_)] = point.value;
      }
    }
    return Value{ValueType::kScalar, std::move(scalars), {}, {}};
  }

  const tsdb::Head& head_;
  const EngineOptions& options_;
  const int64_t start_ms_, step_ms_;
  const size_t steps_;
  size_t held_samples_ = 0;
};

}  // namespace

namespace {

// Go's strconv.FormatFloat(v, 'f' or 'e', -1, 64): the shortest digits that read back exactly,
// and Prometheus' NaN, +Inf, -Inf. Fixed notation of denormals needs about 330 characters.
std::string FormatShortest(double value, std::chars_format format) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[512];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, format);
  return std::string(buffer, result.ptr);
}

}  // namespace

std::string FormatValue(double value) { return FormatShortest(value, std::chars_format::fixed); }
std::string FormatScientific(double value) { return FormatShortest(value, std::chars_format::scientific); }

Engine::Engine(const tsdb::Head& head, EngineOptions options) : head_(head), options_(options) {}

StatusOr<QueryResult> Engine::Instant(const Expr& expr, int64_t time_ms) const {
  Evaluator evaluator(head_, options_, time_ms, time_ms, 1);
  auto value = evaluator.Eval(expr);
  if (!value.ok()) return value.status();
  QueryResult result;
  result.type = expr.type;
  switch (value->type) {
    case ValueType::kScalar:
      result.scalar = value->scalars.front();
      result.scalar_timestamp_ms = time_ms;
      break;
    case ValueType::kString:
      result.string = std::move(value->string);
      result.scalar_timestamp_ms = time_ms;
      break;
    case ValueType::kRangeVector:
      result.is_matrix = true;
      result.series = std::move(value->matrix);
      break;
    case ValueType::kInstantVector:
      result.series = std::move(value->matrix);
      break;
  }
  return result;
}

StatusOr<QueryResult> Engine::Range(const Expr& expr, int64_t start_ms, int64_t end_ms,
                                    int64_t step_ms) const {
  if (step_ms <= 0) {
    return Status::Error(
        "zero or negative query resolution step widths are not accepted. Try a positive integer");
  }
  if (end_ms < start_ms) return Status::Error("end timestamp must not be before start time");
  // Every step holds at least one value of every node: refuse before allocating them.
  if (StepCount(start_ms, end_ms, step_ms) > options_.max_samples) {
    return Status::Error(std::string(kTooManySamples));
  }
  if (expr.type != ValueType::kScalar && expr.type != ValueType::kInstantVector) {
    return Status::Error(fmt::format(
        "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
        ValueTypeName(expr.type)));
  }
  Evaluator evaluator(head_, options_, start_ms, end_ms, step_ms);
  auto value = evaluator.Eval(expr);
  if (!value.ok()) return value.status();
  QueryResult result;
  result.type = expr.type;
  result.is_matrix = true;
  if (value->type == ValueType::kScalar) {
    ResultSeries series;
    for (size_t step = 0; step < evaluator.steps(); ++step) {
      series.points.push_back({evaluator.StepTime(step), value->scalars[step]});
    }
    result.series.push_back(std::move(series));
    return result;
  }
  result.series = std::move(value->matrix);
  std::sort(result.series.begin(), result.series.end(),
            [](const ResultSeries& a, const ResultSeries& b) { return a.labels < b.labels; });
  return result;
}

}  // namespace mingus::collector::promql
