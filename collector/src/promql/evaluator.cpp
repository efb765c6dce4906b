// The PromQL engine: Prometheus 2.42's evaluation semantics (the version Debian 12 ships, which
// the differential test in tests/integration/promql_compliance_test.py compares against).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <re2/re2.h>

#include "mingus/collector/promql/engine.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::promql {

namespace {

using tsdb::Labels;
using tsdb::Sample;

constexpr std::string_view kMetricName = "__name__";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Evaluation errors unwind to Engine::Instant/Range, which turn them into a Status: the
// recursion is deep and every level would otherwise have to pass the error on by hand.
struct EvalError {
  std::string message;
};
[[noreturn]] void Fail(std::string message) { throw EvalError{std::move(message)}; }

struct Element {
  Labels labels;
  double value = 0;
  int64_t t = 0;  // the sample's own time for a plain selector's output (for timestamp())
};
using Vector = std::vector<Element>;

struct SeriesSamples {
  Labels labels;
  std::vector<Sample> samples;
};
using Matrix = std::vector<SeriesSamples>;

struct Value {
  ValueType type = ValueType::kScalar;
  double scalar = 0;
  std::string string;
  Vector vector;
  Matrix matrix;
};

const std::string* Get(const Labels& labels, std::string_view name) {
  const auto it = std::lower_bound(labels.begin(), labels.end(), name,
                                   [](const auto& label, std::string_view n) { return label.first < n; });
  return it != labels.end() && it->first == name ? &it->second : nullptr;
}

void Set(Labels& labels, std::string_view name, std::string value) {
  const auto it = std::lower_bound(labels.begin(), labels.end(), name,
                                   [](const auto& label, std::string_view n) { return label.first < n; });
  if (it != labels.end() && it->first == name) {
    if (value.empty()) {
      labels.erase(it);
    } else {
      it->second = std::move(value);
    }
  } else if (!value.empty()) {
    labels.emplace(it, std::string(name), std::move(value));
  }
}

void Drop(Labels& labels, std::string_view name) { Set(labels, name, ""); }

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The labels `names` keeps (on/by) or drops (ignoring/without, which also drop __name__).
Labels Signature(const Labels& labels, const std::vector<std::string>& names, bool keep) {
  Labels out;
  for (const auto& label : labels) {
    const bool listed = Contains(names, label.first);
    if (keep ? listed : (!listed && label.first != kMetricName)) out.push_back(label);
  }
  return out;
}

void CheckUniqueLabelsets(const Vector& vector) {
  std::set<const Labels*, bool (*)(const Labels*, const Labels*)> seen(
      [](const Labels* a, const Labels* b) { return *a < *b; });
  for (const auto& element : vector) {
    if (!seen.insert(&element.labels).second) Fail("vector cannot contain metrics with the same labelset");
  }
}

double Quantile(double q, std::vector<double> values) {
  if (values.empty() || std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const size_t lower = static_cast<size_t>(std::max(0.0, std::floor(rank)));
  const size_t upper = std::min(values.size() - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[lower] * (1 - weight) + values[upper] * weight;
}

struct Bucket {
  double upper_bound;
  double count;
};

// Prometheus' bucketQuantile.
double BucketQuantile(double q, std::vector<Bucket> buckets) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
  if (buckets.empty() || !std::isinf(buckets.back().upper_bound) || buckets.back().upper_bound < 0) return kNaN;
  // Coalesce buckets with the same bound, then force counts monotonic (scrapes can tear).
  std::vector<Bucket> merged;
  for (const auto& bucket : buckets) {
    if (!merged.empty() && merged.back().upper_bound == bucket.upper_bound) {
      merged.back().count += bucket.count;
    } else {
      merged.push_back(bucket);
    }
  }
  for (size_t i = 1; i < merged.size(); ++i) merged[i].count = std::max(merged[i].count, merged[i - 1].count);
  if (merged.size() < 2) return kNaN;
  const double observations = merged.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  size_t b = 0;
  while (b < merged.size() - 1 && merged[b].count < rank) ++b;
  if (b == merged.size() - 1) return merged[merged.size() - 2].upper_bound;
  if (b == 0 && merged[0].upper_bound <= 0) return merged[0].upper_bound;
  double bucket_start = 0, count = merged[b].count;
  const double bucket_end = merged[b].upper_bound;
  if (b > 0) {
    bucket_start = merged[b - 1].upper_bound;
    count -= merged[b - 1].count;
    rank -= merged[b - 1].count;
  }
  return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

// Least squares fit of the samples, x in seconds from intercept_time_ms.
std::pair<double, double> LinearRegression(const std::vector<Sample>& samples, int64_t intercept_time_ms) {
  double n = 0, sum_x = 0, sum_y = 0, sum_xy = 0, sum_x2 = 0;
  const double first = samples.front().value;
  bool constant = true;
  for (const auto& sample : samples) {
    constant = constant && sample.value == first;
    const double x = static_cast<double>(sample.timestamp_ms - intercept_time_ms) / 1e3;
    n += 1;
    sum_x += x;
    sum_y += sample.value;
    sum_xy += x * sample.value;
    sum_x2 += x * x;
  }
  if (constant) {
    if (std::isinf(first)) return {kNaN, kNaN};
    return {0, first};
  }
  const double cov_xy = sum_xy - sum_x * sum_y / n;
  const double var_x = sum_x2 - sum_x * sum_x / n;
  const double slope = cov_xy / var_x;
  return {slope, sum_y / n - slope * sum_x / n};
}

// rate, increase and delta: the change over the samples, extrapolated towards the window's
// edges (Prometheus' extrapolatedRate).
std::optional<double> ExtrapolatedRate(const std::vector<Sample>& samples, int64_t range_start, int64_t range_end,
                                       bool is_counter, bool is_rate) {
  if (samples.size() < 2) return std::nullopt;
  const Sample& first = samples.front();
  const Sample& last = samples.back();
  double result = last.value - first.value;
  if (is_counter) {
    double previous = 0;
    for (const auto& sample : samples) {
      if (sample.value < previous) result += previous;
      previous = sample.value;
    }
  }
  double to_start = static_cast<double>(first.timestamp_ms - range_start) / 1e3;
  const double to_end = static_cast<double>(range_end - last.timestamp_ms) / 1e3;
  const double sampled = static_cast<double>(last.timestamp_ms - first.timestamp_ms) / 1e3;
  const double average_gap = sampled / static_cast<double>(samples.size() - 1);
  if (is_counter && result > 0 && first.value >= 0) {
    // A counter does not go below zero: extrapolate at most to where it would have been zero.
    to_start = std::min(to_start, sampled * (first.value / result));
  }
  const double threshold = average_gap * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : average_gap / 2;
  interval += to_end < threshold ? to_end : average_gap / 2;
  result *= interval / sampled;
  if (is_rate) result /= static_cast<double>(range_end - range_start) / 1e3;
  return result;
}

double ArithmeticOp(const std::string& op, double a, double b) {
  if (op == "+") return a + b;
  if (op == "-") return a - b;
  if (op == "*") return a * b;
  if (op == "/") return a / b;
  if (op == "%") return std::fmod(a, b);
  if (op == "^") return std::pow(a, b);
  if (op == "atan2") return std::atan2(a, b);
  Fail("unknown operator " + op);
}

bool IsComparison(const std::string& op) {
  return op == "==" || op == "!=" || op == ">" || op == "<" || op == ">=" || op == "<=";
}

bool Compare(const std::string& op, double a, double b) {
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == ">") return a > b;
  if (op == "<") return a < b;
  if (op == ">=") return a >= b;
  return a <= b;
}

bool IsSetOp(const std::string& op) { return op == "and" || op == "or" || op == "unless"; }

// (value, keep) of one element pair, as Prometheus' vectorElemBinop.
std::pair<double, bool> ElementOp(const std::string& op, double lhs, double rhs) {
  if (IsComparison(op)) return {lhs, Compare(op, lhs, rhs)};
  return {ArithmeticOp(op, lhs, rhs), true};
}

const Expr& Unwrap(const Expr& expr) {
  const Expr* e = &expr;
  while (const auto* paren = std::get_if<Paren>(&e->node)) e = paren->expr.get();
  return *e;
}

// Labels for absent()/absent_over_time(): the selector's equality matchers, except a name
// matched twice.
Labels AbsentLabels(const Expr& arg) {
  const Expr& e = Unwrap(arg);
  const VectorSelector* selector = std::get_if<VectorSelector>(&e.node);
  if (const auto* matrix = std::get_if<MatrixSelector>(&e.node)) selector = &matrix->vector;
  Labels out;
  if (selector == nullptr) return out;
  std::set<std::string> repeated;
  for (const auto& m : selector->matchers) {
    if (m.name == kMetricName) continue;
    if (m.op == tsdb::Matcher::Op::kEqual && !repeated.contains(m.name)) {
      if (Get(out, m.name) != nullptr) {
        Drop(out, m.name);
        repeated.insert(m.name);
      } else {
        Set(out, m.name, m.value);
      }
    }
  }
  return out;
}

// Expands $1, ${1}, $name and ${name} in a label_replace replacement (Go's Regexp.Expand).
std::string ExpandReplacement(std::string_view replacement, const re2::RE2& regex, const std::vector<re2::StringPiece>& groups) {
  std::string out;
  for (size_t i = 0; i < replacement.size(); ++i) {
    if (replacement[i] != '$' || i + 1 >= replacement.size()) {
      out.push_back(replacement[i]);
      continue;
    }
    if (replacement[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    std::string name;
    size_t end = i + 1;
    if (replacement[end] == '{') {
      const auto close = replacement.find('}', end);
      if (close == std::string_view::npos) {
        out.push_back('$');
        continue;
      }
      name = std::string(replacement.substr(end + 1, close - end - 1));
      end = close + 1;
    } else {
      while (end < replacement.size() && (std::isalnum(static_cast<unsigned char>(replacement[end])) || replacement[end] == '_')) {
        name.push_back(replacement[end++]);
      }
    }
    if (name.empty()) {
      out.push_back('$');
      continue;
    }
    int index = -1;
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      index = std::atoi(name.c_str());
    } else if (const auto it = regex.NamedCapturingGroups().find(name); it != regex.NamedCapturingGroups().end()) {
      index = it->second;
    }
    if (index >= 0 && static_cast<size_t>(index) < groups.size()) out.append(groups[index].data(), groups[index].size());
    i = end - 1;
  }
  return out;
}

struct DateParts {
  int year, month, day_of_month, day_of_week, hour, minute, days_in_month;
};

DateParts DateOf(double seconds) {
  const auto t = static_cast<time_t>(std::floor(seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int year = tm.tm_year + 1900;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return {year, tm.tm_mon + 1, tm.tm_mday, tm.tm_wday, tm.tm_hour, tm.tm_min,
          kDays[tm.tm_mon] + (tm.tm_mon == 1 && leap ? 1 : 0)};
}

// topk/bottomk exactly as Prometheus picks them, ties included: a k-element heap (Go's
// container/heap) fed in input order, the smallest (largest for bottomk) at its root replaced
// by a strictly better element.
std::vector<const Element*> TopK(const std::vector<const Element*>& elements, double k_param, bool top) {
  const size_t k = k_param >= static_cast<double>(elements.size()) ? elements.size() : static_cast<size_t>(k_param);
  // Whether heap element a sorts before b (the root is the first): NaN first, then ascending
  // for topk, descending for bottomk.
  const auto less = [top](const Element* a, const Element* b) {
    if (std::isnan(a->value)) return true;
    return top ? a->value < b->value : a->value > b->value;
  };
  std::vector<const Element*> heap;
  const auto up = [&](size_t j) {
    while (j > 0) {
      const size_t parent = (j - 1) / 2;
      if (!less(heap[j], heap[parent])) break;
      std::swap(heap[parent], heap[j]);
      j = parent;
    }
  };
  const auto down = [&](size_t i) {
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= heap.size()) break;
      if (child + 1 < heap.size() && less(heap[child + 1], heap[child])) ++child;
      if (!less(heap[child], heap[i])) break;
      std::swap(heap[i], heap[child]);
      i = child;
    }
  };
  for (const Element* e : elements) {
    if (heap.size() < k) {
      heap.push_back(e);
      up(heap.size() - 1);
      continue;
    }
    const double root = heap[0]->value;
    const bool better = top ? root < e->value : root > e->value;
    if (better || (std::isnan(root) && !std::isnan(e->value))) {
      heap[0] = e;
      down(0);
    }
  }
  // Best first, as Prometheus returns an instant query's topk.
  std::stable_sort(heap.begin(), heap.end(), [&](const Element* a, const Element* b) { return less(b, a); });
  return heap;
}

class Evaluator {
 public:
  Evaluator(const tsdb::Head& head, const EngineOptions& options, int64_t start, int64_t end)
      : head_(head), options_(options), start_(start), end_(end) {}

  Value Eval(const Expr& expr, int64_t t) {
    return std::visit([&](const auto& node) { return EvalNode(node, expr, t); }, expr.node);
  }

 private:
  // Every series of a selector with its samples over the whole query window, fetched once.
  const Matrix& Load(const VectorSelector& selector, int64_t range_ms) {
    auto& cached = cache_[&selector];
    if (cached.loaded) return cached.series;
    cached.loaded = true;
    const int64_t from = start_ - selector.offset_ms - range_ms, to = end_ - selector.offset_ms;
    for (const auto ref : head_.Select(selector.matchers)) {
      SeriesSamples series{head_.LabelsOf(ref), head_.Samples(ref, from, to)};
      samples_ += series.samples.size();
      if (samples_ > options_.max_samples) {
        Fail("query processing would load too many samples into memory in query execution");
      }
      if (!series.samples.empty()) cached.series.push_back(std::move(series));
    }
    return cached.series;
  }

  Value EvalNode(const NumberLiteral& n, const Expr&, int64_t) { return {ValueType::kScalar, n.value}; }

  Value EvalNode(const StringLiteral& s, const Expr&, int64_t) {
    Value v{ValueType::kString};
    v.string = s.value;
    return v;
  }

  Value EvalNode(const Paren& p, const Expr&, int64_t t) { return Eval(*p.expr, t); }

  Value EvalNode(const VectorSelector& selector, const Expr&, int64_t t) {
    Value out{ValueType::kInstantVector};
    const int64_t at = t - selector.offset_ms;
    for (const auto& series : Load(selector, options_.lookback_delta_ms)) {
      // The latest sample in (at - lookback, at]; a staleness marker there means no value.
      const auto it = std::upper_bound(series.samples.begin(), series.samples.end(), at,
                                       [](int64_t time, const Sample& s) { return time < s.timestamp_ms; });
      if (it == series.samples.begin()) continue;
      const Sample& sample = *std::prev(it);
      if (sample.timestamp_ms <= at - options_.lookback_delta_ms || tsdb::IsStaleNaN(sample.value)) continue;
      out.vector.push_back({series.labels, sample.value, sample.timestamp_ms});
    }
    return out;
  }

  Value EvalNode(const MatrixSelector& m, const Expr&, int64_t t) {
    Value out{ValueType::kRangeVector};
    const int64_t to = t - m.vector.offset_ms, from = to - m.range_ms;
    for (const auto& series : Load(m.vector, m.range_ms)) {
      // Prometheus 2.x takes the closed interval [t - range, t].
      const auto first = std::lower_bound(series.samples.begin(), series.samples.end(), from,
                                          [](const Sample& s, int64_t time) { return s.timestamp_ms < time; });
      SeriesSamples window{series.labels, {}};
      for (auto it = first; it != series.samples.end() && it->timestamp_ms <= to; ++it) {
        if (!tsdb::IsStaleNaN(it->value)) window.samples.push_back(*it);
      }
      if (!window.samples.empty()) out.matrix.push_back(std::move(window));
    }
    return out;
  }

  Value EvalNode(const Unary& u, const Expr&, int64_t t) {
    Value v = Eval(*u.expr, t);
    if (u.op != '-') return v;
    if (v.type == ValueType::kScalar) {
      v.scalar = -v.scalar;
      return v;
    }
    for (auto& element : v.vector) {
      element.value = -element.value;
      Drop(element.labels, kMetricName);
      element.t = t;
    }
    CheckUniqueLabelsets(v.vector);
    return v;
  }

  Value EvalNode(const Call& call, const Expr&, int64_t t);
  Value EvalNode(const Aggregation& aggregation, const Expr&, int64_t t);
  Value EvalNode(const Binary& binary, const Expr&, int64_t t);

  Value VectorBinary(const Binary& binary, Vector lhs, Vector rhs, int64_t t);
  Value SetOperation(const Binary& binary, Vector lhs, Vector rhs);

  double ScalarArg(const Expr& expr, int64_t t) { return Eval(expr, t).scalar; }

  const tsdb::Head& head_;
  const EngineOptions& options_;
  const int64_t start_, end_;
  struct Loaded {
    bool loaded = false;
    Matrix series;
  };
  std::unordered_map<const VectorSelector*, Loaded> cache_;
  size_t samples_ = 0;
};

Value Evaluator::EvalNode(const Call& call, const Expr&, int64_t t) {
  const std::string& f = call.function;
  Value out{ValueType::kInstantVector};
  const auto args_or_time = [&]() -> Vector {
    if (!call.args.empty()) return Eval(*call.args[0], t).vector;
    return {Element{{}, static_cast<double>(t) / 1000, t}};
  };
  // Each element of the argument vector through fn, dropping the metric name.
  const auto map_values = [&](Vector vector, auto fn) {
    for (auto& element : vector) {
      element.value = fn(element.value);
      Drop(element.labels, kMetricName);
      element.t = t;
    }
    CheckUniqueLabelsets(vector);
    out.vector = std::move(vector);
    return out;
  };
  // Each series of the range argument through fn (nullopt: no output for it).
  const auto over_range = [&](auto fn, bool keep_name = false) {
    const Expr& range_arg = *call.args.back();
    Value range = Eval(range_arg, t);
    const auto* selector = std::get_if<MatrixSelector>(&Unwrap(range_arg).node);
    const int64_t range_end = t - (selector != nullptr ? selector->vector.offset_ms : 0);
    const int64_t range_start = range_end - (selector != nullptr ? selector->range_ms : 0);
    for (auto& series : range.matrix) {
      const std::optional<double> value = fn(series.samples, range_start, range_end);
      if (!value) continue;
      if (!keep_name) Drop(series.labels, kMetricName);
      out.vector.push_back({std::move(series.labels), *value, t});
    }
    CheckUniqueLabelsets(out.vector);
    return out;
  };
  using Samples = const std::vector<Sample>&;

  if (f == "time") return {ValueType::kScalar, static_cast<double>(t) / 1000};
  if (f == "vector") {
    out.vector.push_back({{}, ScalarArg(*call.args[0], t), t});
    return out;
  }
  if (f == "scalar") {
    const Vector v = Eval(*call.args[0], t).vector;
    return {ValueType::kScalar, v.size() == 1 ? v[0].value : kNaN};
  }
  if (f == "abs") return map_values(Eval(*call.args[0], t).vector, [](double v) { return std::fabs(v); });
  if (f == "ceil") return map_values(Eval(*call.args[0], t).vector, [](double v) { return std::ceil(v); });
  if (f == "floor") return map_values(Eval(*call.args[0], t).vector, [](double v) { return std::floor(v); });
  if (f == "exp") return map_values(Eval(*call.args[0], t).vector, [](double v) { return std::exp(v); });
  if (f == "sqrt") return map_values(Eval(*call.args[0], t).vector, [](double v) { return std::sqrt(v); });
  if (f == "ln") return map_values(Eval(*call.args[0], t).vector, [](double v) { return std::log(v); });
  if (f == "log2") return map_values(Eval(*call.args[0], t).vector, [](double v) { return std::log2(v); });
  if (f == "log10") return map_values(Eval(*call.args[0], t).vector, [](double v) { return std::log10(v); });
  if (f == "sgn") {
    return map_values(Eval(*call.args[0], t).vector, [](double v) { return v > 0 ? 1.0 : v < 0 ? -1.0 : v; });
  }
  if (f == "round") {
    const double to_nearest = call.args.size() > 1 ? ScalarArg(*call.args[1], t) : 1;
    const double inverse = 1 / to_nearest;
    return map_values(Eval(*call.args[0], t).vector,
                      [inverse](double v) { return std::floor(v * inverse + 0.5) / inverse; });
  }
  if (f == "clamp") {
    const double lo = ScalarArg(*call.args[1], t), hi = ScalarArg(*call.args[2], t);
    if (hi < lo) return out;
    return map_values(Eval(*call.args[0], t).vector, [lo, hi](double v) { return std::max(lo, std::min(hi, v)); });
  }
  if (f == "clamp_max") {
    const double hi = ScalarArg(*call.args[1], t);
    return map_values(Eval(*call.args[0], t).vector, [hi](double v) { return std::min(hi, v); });
  }
  if (f == "clamp_min") {
    const double lo = ScalarArg(*call.args[1], t);
    return map_values(Eval(*call.args[0], t).vector, [lo](double v) { return std::max(lo, v); });
  }
  if (f == "timestamp") {
    // A plain selector's samples keep their own time; anything else is stamped now.
    const bool raw = std::holds_alternative<VectorSelector>(Unwrap(*call.args[0]).node);
    Vector v = Eval(*call.args[0], t).vector;
    for (auto& element : v) {
      element.value = static_cast<double>(raw ? element.t : t) / 1000;
      Drop(element.labels, kMetricName);
      element.t = t;
    }
    CheckUniqueLabelsets(v);
    out.vector = std::move(v);
    return out;
  }
  const auto date_function = [&](int DateParts::*field) {
    return map_values(args_or_time(), [field](double v) { return std::isnan(v) ? v : static_cast<double>(DateOf(v).*field); });
  };
  if (f == "year") return date_function(&DateParts::year);
  if (f == "month") return date_function(&DateParts::month);
  if (f == "day_of_month") return date_function(&DateParts::day_of_month);
  if (f == "day_of_week") return date_function(&DateParts::day_of_week);
  if (f == "hour") return date_function(&DateParts::hour);
  if (f == "minute") return date_function(&DateParts::minute);
  if (f == "days_in_month") return date_function(&DateParts::days_in_month);
  if (f == "sort" || f == "sort_desc") {
    Vector v = Eval(*call.args[0], t).vector;
    const bool descending = f == "sort_desc";
    std::stable_sort(v.begin(), v.end(), [descending](const Element& a, const Element& b) {
      if (std::isnan(a.value)) return false;  // NaN last either way
      if (std::isnan(b.value)) return true;
      return descending ? a.value > b.value : a.value < b.value;
    });
    for (auto& element : v) element.t = t;
    out.vector = std::move(v);
    return out;
  }
  if (f == "absent") {
    if (Eval(*call.args[0], t).vector.empty()) out.vector.push_back({AbsentLabels(*call.args[0]), 1, t});
    return out;
  }
  if (f == "absent_over_time") {
    if (Eval(*call.args[0], t).matrix.empty()) out.vector.push_back({AbsentLabels(*call.args[0]), 1, t});
    return out;
  }
  if (f == "histogram_quantile") {
    const double q = ScalarArg(*call.args[0], t);
    std::map<Labels, std::vector<Bucket>> groups;
    for (const auto& element : Eval(*call.args[1], t).vector) {
      const std::string* le = Get(element.labels, "le");
      if (le == nullptr) continue;
      double bound = 0;
      if (*le == "+Inf" || *le == "Inf" || *le == "+inf" || *le == "inf") {
        bound = kInf;
      } else {
        const auto [end, error] = std::from_chars(le->data(), le->data() + le->size(), bound);
        if (error != std::errc() || end != le->data() + le->size()) continue;
      }
      Labels labels = element.labels;
      Drop(labels, "le");
      Drop(labels, kMetricName);
      groups[std::move(labels)].push_back({bound, element.value});
    }
    for (auto& [labels, buckets] : groups) out.vector.push_back({labels, BucketQuantile(q, std::move(buckets)), t});
    return out;
  }
  if (f == "label_replace") {
    Vector v = Eval(*call.args[0], t).vector;
    const std::string dst = Eval(*call.args[1], t).string, replacement = Eval(*call.args[2], t).string,
                      src = Eval(*call.args[3], t).string, pattern = Eval(*call.args[4], t).string;
    re2::RE2 regex("^(?:" + pattern + ")$");
    if (!regex.ok()) Fail(fmt::format("invalid regular expression in label_replace(): {}", pattern));
    if (!wire::IsValidLabelName(dst) && dst != kMetricName) Fail(fmt::format("invalid destination label name in label_replace(): {}", dst));
    std::vector<re2::StringPiece> groups(static_cast<size_t>(regex.NumberOfCapturingGroups()) + 1);
    for (auto& element : v) {
      const std::string* source = Get(element.labels, src);
      const std::string value = source != nullptr ? *source : "";
      if (regex.Match(value, 0, value.size(), re2::RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) {
        Set(element.labels, dst, ExpandReplacement(replacement, regex, groups));
      }
      element.t = t;
    }
    CheckUniqueLabelsets(v);
    out.vector = std::move(v);
    return out;
  }
  if (f == "label_join") {
    Vector v = Eval(*call.args[0], t).vector;
    const std::string dst = Eval(*call.args[1], t).string, separator = Eval(*call.args[2], t).string;
    if (!wire::IsValidLabelName(dst) && dst != kMetricName) Fail(fmt::format("invalid destination label name in label_join(): {}", dst));
    std::vector<std::string> sources;
    for (size_t i = 3; i < call.args.size(); ++i) sources.push_back(Eval(*call.args[i], t).string);
    for (auto& element : v) {
      std::string joined;
      for (size_t i = 0; i < sources.size(); ++i) {
        if (i > 0) joined += separator;
        if (const std::string* value = Get(element.labels, sources[i])) joined += *value;
      }
      Set(element.labels, dst, std::move(joined));
      element.t = t;
    }
    CheckUniqueLabelsets(v);
    out.vector = std::move(v);
    return out;
  }
  if (f == "rate" || f == "increase" || f == "delta") {
    const bool counter = f != "delta", rate = f == "rate";
    return over_range([&](Samples s, int64_t from, int64_t to) { return ExtrapolatedRate(s, from, to, counter, rate); });
  }
  if (f == "irate" || f == "idelta") {
    const bool is_rate = f == "irate";
    return over_range([&](Samples s, int64_t, int64_t) -> std::optional<double> {
      if (s.size() < 2) return std::nullopt;
      const Sample &last = s[s.size() - 1], &previous = s[s.size() - 2];
      double result = is_rate && last.value < previous.value ? last.value : last.value - previous.value;
      if (!is_rate) return result;
      const int64_t gap = last.timestamp_ms - previous.timestamp_ms;
      if (gap == 0) return std::nullopt;
      return result / (static_cast<double>(gap) / 1000);
    });
  }
  if (f == "deriv") {
    return over_range([](Samples s, int64_t, int64_t) -> std::optional<double> {
      if (s.size() < 2) return std::nullopt;
      return LinearRegression(s, s.front().timestamp_ms).first;
    });
  }
  if (f == "predict_linear") {
    const double seconds = ScalarArg(*call.args[1], t);
    const Expr& range_arg = *call.args[0];
    Value range = Eval(range_arg, t);
    for (auto& series : range.matrix) {
      if (series.samples.size() < 2) continue;
      const auto [slope, intercept] = LinearRegression(series.samples, t);
      Drop(series.labels, kMetricName);
      out.vector.push_back({std::move(series.labels), slope * seconds + intercept, t});
    }
    CheckUniqueLabelsets(out.vector);
    return out;
  }
  if (f == "changes" || f == "resets") {
    const bool resets = f == "resets";
    return over_range([resets](Samples s, int64_t, int64_t) -> std::optional<double> {
      double count = 0;
      for (size_t i = 1; i < s.size(); ++i) {
        const double previous = s[i - 1].value, current = s[i].value;
        if (resets) {
          count += current < previous ? 1 : 0;
        } else {
          count += current != previous && !(std::isnan(current) && std::isnan(previous)) ? 1 : 0;
        }
      }
      return count;
    });
  }
  if (f == "avg_over_time") {
    return over_range([](Samples s, int64_t, int64_t) -> std::optional<double> {
      double mean = 0, count = 0;
      for (const auto& sample : s) {
        count += 1;
        if (std::isinf(mean)) {
          if (std::isinf(sample.value) && (mean > 0) == (sample.value > 0)) continue;
          if (!std::isinf(sample.value) && !std::isnan(sample.value)) continue;
        }
        mean += sample.value / count - mean / count;
      }
      return mean;
    });
  }
  if (f == "sum_over_time") {
    return over_range([](Samples s, int64_t, int64_t) -> std::optional<double> {
      double sum = 0;
      for (const auto& sample : s) sum += sample.value;
      return sum;
    });
  }
  if (f == "count_over_time") {
    return over_range([](Samples s, int64_t, int64_t) -> std::optional<double> { return static_cast<double>(s.size()); });
  }
  if (f == "min_over_time" || f == "max_over_time") {
    const bool is_max = f == "max_over_time";
    return over_range([is_max](Samples s, int64_t, int64_t) -> std::optional<double> {
      double result = s.front().value;
      for (const auto& sample : s) {
        if ((is_max ? sample.value > result : sample.value < result) || std::isnan(result)) result = sample.value;
      }
      return result;
    });
  }
  if (f == "last_over_time") {
    return over_range([](Samples s, int64_t, int64_t) -> std::optional<double> { return s.back().value; }, true);
  }
  if (f == "present_over_time") {
    return over_range([](Samples, int64_t, int64_t) -> std::optional<double> { return 1; });
  }
  if (f == "stddev_over_time" || f == "stdvar_over_time") {
    const bool stddev = f == "stddev_over_time";
    return over_range([stddev](Samples s, int64_t, int64_t) -> std::optional<double> {
      double count = 0, mean = 0, aux = 0;
      for (const auto& sample : s) {
        count += 1;
        const double delta = sample.value - mean;
        mean += delta / count;
        aux += delta * (sample.value - mean);
      }
      return stddev ? std::sqrt(aux / count) : aux / count;
    });
  }
  if (f == "quantile_over_time") {
    const double q = ScalarArg(*call.args[0], t);
    return over_range([q](Samples s, int64_t, int64_t) -> std::optional<double> {
      std::vector<double> values;
      for (const auto& sample : s) values.push_back(sample.value);
      return Quantile(q, std::move(values));
    });
  }
  Fail(fmt::format("function {}() is not supported", f));
}

Value Evaluator::EvalNode(const Aggregation& a, const Expr&, int64_t t) {
  Value out{ValueType::kInstantVector};
  double param = 0;
  std::string label_param;
  if (a.param) {
    Value p = Eval(*a.param, t);
    param = p.scalar;
    label_param = p.string;
  }
  if (a.op == "count_values" && !wire::IsValidLabelName(label_param)) {
    Fail(fmt::format("invalid label name \"{}\"", label_param));
  }
  Vector input = Eval(*a.expr, t).vector;
  // Group elements by their grouping labels, keeping first-seen order for stable output.
  std::map<Labels, std::vector<const Element*>> groups;
  for (const auto& element : input) {
    Labels key = Signature(element.labels, a.grouping, !a.without);
    if (a.op == "count_values") Set(key, label_param, FormatValue(element.value));
    groups[std::move(key)].push_back(&element);
  }
  const auto emit = [&](const Labels& labels, double value) { out.vector.push_back({labels, value, t}); };
  for (const auto& [key, elements] : groups) {
    if (a.op == "sum") {
      double sum = 0;
      for (const auto* e : elements) sum += e->value;
      emit(key, sum);
    } else if (a.op == "avg") {
      double mean = 0, count = 0;
      for (const auto* e : elements) {
        count += 1;
        if (std::isinf(mean)) {
          if (std::isinf(e->value) && (mean > 0) == (e->value > 0)) continue;
          if (!std::isinf(e->value) && !std::isnan(e->value)) continue;
        }
        mean += e->value / count - mean / count;
      }
      emit(key, mean);
    } else if (a.op == "count" || a.op == "count_values") {
      emit(key, static_cast<double>(elements.size()));
    } else if (a.op == "group") {
      emit(key, 1);
    } else if (a.op == "min" || a.op == "max") {
      const bool is_max = a.op == "max";
      double result = elements.front()->value;
      for (const auto* e : elements) {
        if ((is_max ? e->value > result : e->value < result) || std::isnan(result)) result = e->value;
      }
      emit(key, result);
    } else if (a.op == "stddev" || a.op == "stdvar") {
      double count = 0, mean = 0, aux = 0;
      for (const auto* e : elements) {
        count += 1;
        const double delta = e->value - mean;
        mean += delta / count;
        aux += delta * (e->value - mean);
      }
      emit(key, a.op == "stddev" ? std::sqrt(aux / count) : aux / count);
    } else if (a.op == "quantile") {
      std::vector<double> values;
      for (const auto* e : elements) values.push_back(e->value);
      emit(key, Quantile(param, std::move(values)));
    } else if (a.op == "topk" || a.op == "bottomk") {
      if (!(param >= 1)) continue;
      for (const Element* e : TopK(elements, param, a.op == "topk")) out.vector.push_back({e->labels, e->value, t});
    } else {
      Fail(fmt::format("aggregation {} is not supported", a.op));
    }
  }
  return out;
}

Value Evaluator::EvalNode(const Binary& b, const Expr&, int64_t t) {
  Value lhs = Eval(*b.lhs, t);
  Value rhs = Eval(*b.rhs, t);
  const bool lhs_scalar = lhs.type == ValueType::kScalar, rhs_scalar = rhs.type == ValueType::kScalar;
  if (lhs_scalar && rhs_scalar) {
    const double value = IsComparison(b.op) ? (Compare(b.op, lhs.scalar, rhs.scalar) ? 1 : 0)
                                            : ArithmeticOp(b.op, lhs.scalar, rhs.scalar);
    return {ValueType::kScalar, value};
  }
  if (!lhs_scalar && !rhs_scalar) return VectorBinary(b, std::move(lhs.vector), std::move(rhs.vector), t);
  // A vector and a scalar.
  Value out{ValueType::kInstantVector};
  Vector& vector = lhs_scalar ? rhs.vector : lhs.vector;
  const double scalar = lhs_scalar ? lhs.scalar : rhs.scalar;
  for (auto& element : vector) {
    const double left = lhs_scalar ? scalar : element.value, right = lhs_scalar ? element.value : scalar;
    auto [value, keep] = ElementOp(b.op, left, right);
    if (IsComparison(b.op)) {
      // The filtered value is the vector's, whichever side it is on.
      value = element.value;
      if (b.return_bool) {
        value = keep ? 1 : 0;
        keep = true;
      }
    }
    if (!keep) continue;
    if (!IsComparison(b.op) || b.return_bool) Drop(element.labels, kMetricName);
    out.vector.push_back({std::move(element.labels), value, t});
  }
  CheckUniqueLabelsets(out.vector);
  return out;
}

Value Evaluator::SetOperation(const Binary& b, Vector lhs, Vector rhs) {
  Value out{ValueType::kInstantVector};
  const auto signature = [&](const Labels& labels) { return Signature(labels, b.matching.labels, b.matching.on); };
  if (b.op == "or") {
    std::set<Labels> left;
    for (auto& element : lhs) {
      left.insert(signature(element.labels));
      out.vector.push_back(std::move(element));
    }
    for (auto& element : rhs) {
      if (!left.contains(signature(element.labels))) out.vector.push_back(std::move(element));
    }
    return out;
  }
  std::set<Labels> right;
  for (const auto& element : rhs) right.insert(signature(element.labels));
  const bool want = b.op == "and";
  for (auto& element : lhs) {
    if (right.contains(signature(element.labels)) == want) out.vector.push_back(std::move(element));
  }
  return out;
}

Value Evaluator::VectorBinary(const Binary& b, Vector lhs, Vector rhs, int64_t t) {
  if (IsSetOp(b.op)) {
    Value out = SetOperation(b, std::move(lhs), std::move(rhs));
    for (auto& element : out.vector) element.t = t;
    return out;
  }
  using Card = VectorMatching::Card;
  const VectorMatching& matching = b.matching;
  const bool swapped = matching.card == Card::kOneToMany;
  Vector& many = swapped ? rhs : lhs;
  Vector& one = swapped ? lhs : rhs;
  const auto signature = [&](const Labels& labels) { return Signature(labels, matching.labels, matching.on); };
  std::map<Labels, const Element*> one_side;
  for (const auto& element : one) {
    auto [it, inserted] = one_side.emplace(signature(element.labels), &element);
    if (!inserted) {
      Fail(fmt::format("found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];"
                       "many-to-many matching not allowed: matching labels must be unique on one side",
                       tsdb::LabelsString(it->first), swapped ? "left" : "right", tsdb::LabelsString(it->second->labels),
                       tsdb::LabelsString(element.labels)));
    }
  }
  Value out{ValueType::kInstantVector};
  std::set<Labels> matched_signatures;  // one-to-one: each signature of the many side once
  std::set<Labels> results;             // many-to-one: each result labelset once
  const bool drop_name = !IsComparison(b.op) || b.return_bool;
  for (auto& element : many) {
    const Labels sig = signature(element.labels);
    const auto match = one_side.find(sig);
    if (match == one_side.end()) continue;
    double left = element.value, right = match->second->value;
    if (swapped) std::swap(left, right);
    auto [value, keep] = ElementOp(b.op, left, right);
    if (b.return_bool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    Labels labels = element.labels;
    if (drop_name) Drop(labels, kMetricName);
    if (matching.card == Card::kOneToOne) {
      if (!matched_signatures.insert(sig).second) {
        Fail("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
      }
      labels = matching.on ? Signature(labels, matching.labels, true) : [&] {
        Labels kept;
        for (const auto& label : labels) {
          if (!Contains(matching.labels, label.first)) kept.push_back(label);
        }
        return kept;
      }();
    }
    for (const auto& name : matching.include) {
      const std::string* value_from_one = Get(match->second->labels, name);
      Set(labels, name, value_from_one != nullptr ? *value_from_one : "");
    }
    if (matching.card != Card::kOneToOne && !results.insert(labels).second) {
      Fail("multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.vector.push_back({std::move(labels), value, t});
  }
  CheckUniqueLabelsets(out.vector);
  return out;
}

StatusOr<QueryResult> Run(const tsdb::Head& head, const EngineOptions& options, const Expr& expr, int64_t start,
                          int64_t end, int64_t step, bool range) {
  try {
    Evaluator evaluator(head, options, start, end);
    QueryResult result;
    result.type = expr.type;
    if (!range) {
      Value value = evaluator.Eval(expr, start);
      result.scalar = value.scalar;
      result.scalar_timestamp_ms = start;
      result.string = std::move(value.string);
      if (value.type == ValueType::kRangeVector) {
        result.is_matrix = true;
        for (auto& series : value.matrix) result.series.push_back({std::move(series.labels), std::move(series.samples)});
      } else {
        for (auto& element : value.vector) {
          result.series.push_back({std::move(element.labels), {{start, element.value}}});
        }
      }
      return result;
    }
    result.is_matrix = true;
    std::map<Labels, std::vector<Sample>> series;
    size_t points = 0;
    for (int64_t t = start; t <= end; t += step) {
      Value value = evaluator.Eval(expr, t);
      if (value.type == ValueType::kScalar) {
        series[{}].push_back({t, value.scalar});
        ++points;
        continue;
      }
      for (auto& element : value.vector) {
        series[std::move(element.labels)].push_back({t, element.value});
        ++points;
      }
      if (points > options.max_samples) {
        Fail("query processing would load too many samples into memory in query execution");
      }
    }
    for (auto& [labels, samples] : series) result.series.push_back({labels, std::move(samples)});
    return result;
  } catch (const EvalError& e) {
    return Status::Error(e.message);
  }
}

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[400];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  if (error != std::errc()) return fmt::format("{}", value);
  return std::string(buffer, end);
}

Engine::Engine(const tsdb::Head& head, EngineOptions options) : head_(head), options_(options) {}

StatusOr<QueryResult> Engine::Instant(const Expr& expr, int64_t time_ms) const {
  return Run(head_, options_, expr, time_ms, time_ms, 1, false);
}

StatusOr<QueryResult> Engine::Range(const Expr& expr, int64_t start_ms, int64_t end_ms, int64_t step_ms) const {
  if (step_ms <= 0) return Status::Error("zero or negative query resolution step widths are not accepted");
  return Run(head_, options_, expr, start_ms, end_ms, step_ms, true);
}

}  // namespace mingus::collector::promql
