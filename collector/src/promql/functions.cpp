// PromQL's functions at one step, as Prometheus 2.42 computes them (the Debian 12 version the
// compliance test compares against). Where Go's library differs from C++'s (math.Max/Min with
// NaN, float-to-int conversion, time.Time for any int64, Log2/Log10) we follow Go.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numbers>
#include <unordered_map>

#include <fmt/format.h>
#include <re2/re2.h>

#include "detail/eval.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::promql::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- Go semantics ----

// math.Max and math.Min: an infinity in the right direction wins over NaN, NaN over numbers.
double GoMax(double x, double y) {
  if (x == INFINITY || y == INFINITY) return INFINITY;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  if (x == 0 && x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}
double GoMin(double x, double y) {
  if (x == -INFINITY || y == -INFINITY) return -INFINITY;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  if (x == 0 && x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

// int64(f) on amd64: truncation, and the smallest int64 for NaN and out-of-range values.
int64_t GoInt64(double value) {
  if (!(value > -0x1p63 && value < 0x1p63)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(value);
}

double GoLog2(double x) {
  int exponent = 0;
  const double fraction = std::frexp(x, &exponent);
  if (fraction == 0.5) return exponent - 1;  // exact for powers of two
  return std::log(fraction) * (1 / std::numbers::ln2) + exponent;
}
double GoLog10(double x) { return std::log(x) * (1 / std::numbers::ln10); }

// strconv.ParseFloat for an `le` label: decimal or hex floats, inf/infinity/nan in any case
// with an optional sign; nothing else around them.
std::optional<double> GoParseFloat(std::string_view text) {
  std::string_view body = text;
  bool negative = false;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  std::string lower(body);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf" || lower == "infinity") return negative ? -INFINITY : INFINITY;
  if (lower == "nan") return kNaN;
  if (body.empty() ||
      !(std::isdigit(static_cast<unsigned char>(body.front())) || body.front() == '.')) {
    return std::nullopt;
  }
  double value = 0;
  auto format = std::chars_format::general;
  if (lower.starts_with("0x")) {
    body.remove_prefix(2);
    format = std::chars_format::hex;
  }
  const auto [end, error] = std::from_chars(body.data(), body.data() + body.size(), value, format);
  if (error != std::errc() || end != body.data() + body.size()) return std::nullopt;
  return negative ? -value : value;
}

// time.Unix(seconds, 0).UTC() broken down, by Go's own algorithm (days from year
// -292277022399), so that every int64 (even the one NaN becomes) gives what Prometheus shows.
struct GoDate {
  int64_t year;
  int month;    // 1-12
  int day;      // 1-31
  int weekday;  // 0 is Sunday
  int hour, minute;
  int days_in_month;
};

bool GoIsLeap(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

GoDate GoDateOf(int64_t unix_seconds) {
  constexpr uint64_t kDay = 86400;
  constexpr uint64_t kDaysPer400Years = 365 * 400 + 97, kDaysPer100Years = 365 * 100 + 24,
                     kDaysPer4Years = 365 * 4 + 1;
  constexpr int64_t kAbsoluteZeroYear = -292277022399;
  constexpr uint64_t kUnixToAbsolute = 9223372028715321600ULL;  // seconds, Go's constants
  const uint64_t abs = static_cast<uint64_t>(unix_seconds) + kUnixToAbsolute;  // wraps like Go
  GoDate date{};
  date.hour = static_cast<int>((abs % kDay) / 3600);
  date.minute = static_cast<int>((abs % 3600) / 60);
  date.weekday = static_cast<int>(((abs + kDay) % (7 * kDay)) / kDay);  // day zero is a Monday

  uint64_t days = abs / kDay;
  uint64_t n = days / kDaysPer400Years;
  uint64_t years = 400 * n;
  days -= kDaysPer400Years * n;
  n = days / kDaysPer100Years;
  n -= n >> 2;
  years += 100 * n;
  days -= kDaysPer100Years * n;
  n = days / kDaysPer4Years;
  years += 4 * n;
  days -= kDaysPer4Years * n;
  n = days / 365;
  n -= n >> 2;
  years += n;
  days -= 365 * n;
  date.year = static_cast<int64_t>(years) + kAbsoluteZeroYear;

  static constexpr int kDaysBefore[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
  int day = static_cast<int>(days);
  const bool leap = GoIsLeap(date.year);
  if (leap && day == 31 + 29 - 1) {
    date.month = 2;
    date.day = 29;
  } else {
    if (leap && day > 31 + 29 - 1) --day;
    int month = day / 31;
    if (day >= kDaysBefore[month + 1]) ++month;
    date.month = month + 1;
    date.day = day - kDaysBefore[month] + 1;
  }
  date.days_in_month =
      kDaysBefore[date.month] - kDaysBefore[date.month - 1] + (date.month == 2 && leap ? 1 : 0);
  return date;
}

// Go's Regexp.Expand: $1, ${1}, $name, ${name}; $$ is a dollar; a name runs as long as it can.
std::string ExpandTemplate(std::string_view replacement, const re2::RE2& regex,
                           const std::vector<re2::StringPiece>& groups) {
  const auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
  };
  std::string out;
  size_t i = 0;
  while (i < replacement.size()) {
    const size_t dollar = replacement.find('$', i);
    out.append(replacement.substr(i, dollar - i));
    if (dollar == std::string_view::npos) break;
    std::string_view rest = replacement.substr(dollar + 1);
    if (!rest.empty() && rest.front() == '$') {
      out.push_back('$');
      i = dollar + 2;
      continue;
    }
    const bool brace = !rest.empty() && rest.front() == '{';
    const size_t name_start = brace ? 1 : 0;
    size_t name_end = name_start;
    while (name_end < rest.size() && name_char(rest[name_end])) ++name_end;
    const bool closed = !brace || (name_end < rest.size() && rest[name_end] == '}');
    if (name_end == name_start || !closed) {  // malformed: the dollar is literal
      out.push_back('$');
      i = dollar + 1;
      continue;
    }
    const std::string name(rest.substr(name_start, name_end - name_start));
    i = dollar + 1 + name_end + (brace ? 1 : 0);
    int index = -1;
    const bool numeric =
        std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric && (name.size() == 1 || name.front() != '0') && name.size() <= 8) {
      index = std::stoi(name);
    } else if (const auto named = regex.NamedCapturingGroups().find(name);
               named != regex.NamedCapturingGroups().end()) {
      index = named->second;
    }
    if (index >= 0 && static_cast<size_t>(index) < groups.size() &&
        groups[index].data() != nullptr) {
      out.append(groups[index].data(), groups[index].size());
    }
  }
  return out;
}

const std::string& StringArg(const Call& call, size_t index) {
  return std::get<StringLiteral>(UnwrapParens(*call.args[index]).node).value;
}

// ---- instant-vector functions ----

template <double (*F)(double)>
StatusOr<Vector> Math(const Call&, std::vector<StepArg>& args, int64_t) {
  Vector out = std::move(args[0].vector);
  for (auto& element : out) {
    DropMetricName(element.labels);
    element.value = F(element.value);
  }
  return out;
}

double Abs(double v) { return std::fabs(v); }
double Ceil(double v) { return std::ceil(v); }
double Floor(double v) { return std::floor(v); }
double Exp(double v) { return std::exp(v); }
double Sqrt(double v) { return std::sqrt(v); }
double Ln(double v) { return std::log(v); }
double Sgn(double v) { return v < 0 ? -1 : v > 0 ? 1 : v; }

StatusOr<Vector> Round(const Call&, std::vector<StepArg>& args, int64_t) {
  const double to_nearest = args.size() > 1 ? args[1].scalar : 1;
  // Prometheus divides by the inverse: it rounds 0.1-multiples more accurately.
  const double inverse = 1.0 / to_nearest;
  Vector out = std::move(args[0].vector);
  for (auto& element : out) {
    DropMetricName(element.labels);
    element.value = std::floor(element.value * inverse + 0.5) / inverse;
  }
  return out;
}

StatusOr<Vector> Clamp(const Call& call, std::vector<StepArg>& args, int64_t) {
  const bool has_min = call.function != "clamp_max", has_max = call.function != "clamp_min";
  const double min = has_min ? args[1].scalar : -INFINITY;
  const double max = has_max ? args[call.function == "clamp" ? 2 : 1].scalar : INFINITY;
  if (max < min) return Vector{};
  Vector out = std::move(args[0].vector);
  for (auto& element : out) {
    DropMetricName(element.labels);
    if (has_max) element.value = GoMin(max, element.value);
    if (has_min) element.value = GoMax(min, element.value);
  }
  return out;
}

template <double (*Part)(const GoDate&)>
StatusOr<Vector> DatePart(const Call&, std::vector<StepArg>& args, int64_t time_ms) {
  if (args.empty()) return Vector{{{}, Part(GoDateOf(time_ms / 1000))}};
  Vector out = std::move(args[0].vector);
  for (auto& element : out) {
    DropMetricName(element.labels);
    element.value = Part(GoDateOf(GoInt64(element.value)));
  }
  return out;
}

double DayOfMonth(const GoDate& d) { return d.day; }
double DayOfWeek(const GoDate& d) { return d.weekday; }
double DaysInMonth(const GoDate& d) { return d.days_in_month; }
double Hour(const GoDate& d) { return d.hour; }
double Minute(const GoDate& d) { return d.minute; }
double Month(const GoDate& d) { return d.month; }
double Year(const GoDate& d) { return static_cast<double>(d.year); }

struct Bucket {
  double upper_bound;
  double count;
};

// Prometheus' bucketQuantile for classic histograms.
double BucketQuantile(double q, std::vector<Bucket> buckets) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(buckets.begin(), buckets.end(),
            [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
  if (buckets.back().upper_bound != INFINITY) return kNaN;
  // Buckets with the same bound (from series differing only in le's spelling) add up.
  std::vector<Bucket> merged;
  for (const auto& bucket : buckets) {
    if (!merged.empty() && merged.back().upper_bound == bucket.upper_bound) {
      merged.back().count += bucket.count;
    } else {
      merged.push_back(bucket);
    }
  }
  // Scrapes are not atomic: force counts to be monotonic.
  double max = -INFINITY;
  for (auto& bucket : merged) {
    if (bucket.count > max) {
      max = bucket.count;
    } else if (bucket.count < max) {
      bucket.count = max;
    }
  }
  if (merged.size() < 2) return kNaN;
  const double observations = merged.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  size_t b = 0;
  while (b < merged.size() - 1 && !(merged[b].count >= rank)) ++b;
  if (b == merged.size() - 1) return merged[b - 1].upper_bound;
  if (b == 0 && merged[0].upper_bound <= 0) return merged[0].upper_bound;
  double bucket_start = 0;
  double count = merged[b].count;
  if (b > 0) {
    bucket_start = merged[b - 1].upper_bound;
    count -= merged[b - 1].count;
    rank -= merged[b - 1].count;
  }
  return bucket_start + (merged[b].upper_bound - bucket_start) * (rank / count);
}

StatusOr<Vector> HistogramQuantile(const Call&, std::vector<StepArg>& args, int64_t) {
  const double q = args[0].scalar;
  struct Histogram {
    Labels labels;
    std::vector<Bucket> buckets;
  };
  std::vector<Histogram> histograms;
  std::unordered_map<std::string, size_t> index;
  for (auto& element : args[1].vector) {
    const std::string* le = FindLabel(element.labels, "le");
    const auto upper_bound = le != nullptr ? GoParseFloat(*le) : std::nullopt;
    if (!upper_bound) continue;  // not a bucket
    SetLabel(element.labels, "le", "");
    // Buckets belong together by all other labels, the metric name included.
    const auto [it, is_new] = index.try_emplace(LabelsKey(element.labels), histograms.size());
    if (is_new) {
      DropMetricName(element.labels);
      histograms.push_back({std::move(element.labels), {}});
    }
    histograms[it->second].buckets.push_back({*upper_bound, element.value});
  }
  Vector out;
  for (auto& histogram : histograms) {
    out.push_back({std::move(histogram.labels), BucketQuantile(q, std::move(histogram.buckets))});
  }
  return out;
}

// label_replace runs at every step of a range query: compile its pattern once. Bounded,
// since queries come and go.
const re2::RE2& CompiledLabelReplaceRegex(const std::string& pattern) {
  thread_local std::unordered_map<std::string, std::unique_ptr<re2::RE2>> cache;
  auto& regex = cache[pattern];
  if (regex == nullptr) {
    if (cache.size() > 64) {
      cache.clear();
      return CompiledLabelReplaceRegex(pattern);
    }
    re2::RE2::Options options;
    options.set_log_errors(false);
    regex = std::make_unique<re2::RE2>("^(?:" + pattern + ")$", options);
  }
  return *regex;
}

StatusOr<Vector> LabelReplace(const Call& call, std::vector<StepArg>& args, int64_t) {
  const std::string& destination = StringArg(call, 1);
  const std::string& replacement = StringArg(call, 2);
  const std::string& source = StringArg(call, 3);
  const std::string& pattern = StringArg(call, 4);
  const re2::RE2& regex = CompiledLabelReplaceRegex(pattern);
  if (!regex.ok()) {
    return Status::Error(fmt::format("invalid regular expression in label_replace(): {}", pattern));
  }
  if (!wire::IsValidLabelName(destination)) {
    return Status::Error(
        fmt::format("invalid destination label name in label_replace(): {}", destination));
  }
  std::vector<re2::StringPiece> groups(static_cast<size_t>(regex.NumberOfCapturingGroups()) + 1);
  Vector out = std::move(args[0].vector);
  for (auto& element : out) {
    const std::string* found = FindLabel(element.labels, source);
    const std::string value = found != nullptr ? *found : "";
    if (!regex.Match(value, 0, value.size(), re2::RE2::UNANCHORED, groups.data(),
                     static_cast<int>(groups.size()))) {
      continue;
    }
    SetLabel(element.labels, destination, ExpandTemplate(replacement, regex, groups));
  }
  return out;
}

StatusOr<Vector> LabelJoin(const Call& call, std::vector<StepArg>& args, int64_t) {
  const std::string& destination = StringArg(call, 1);
  const std::string& separator = StringArg(call, 2);
  std::vector<std::string> sources;
  for (size_t i = 3; i < call.args.size(); ++i) {
    sources.push_back(StringArg(call, i));
    if (!wire::IsValidLabelName(sources.back())) {
      return Status::Error(
          fmt::format("invalid source label name in label_join(): {}", sources.back()));
    }
  }
  if (!wire::IsValidLabelName(destination)) {
    return Status::Error(
        fmt::format("invalid destination label name in label_join(): {}", destination));
  }
  Vector out = std::move(args[0].vector);
  for (auto& element : out) {
    std::string joined;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (i > 0) joined += separator;
      if (const std::string* value = FindLabel(element.labels, sources[i])) joined += *value;
    }
    SetLabel(element.labels, destination, std::move(joined));
  }
  return out;
}

StatusOr<Vector> Scalar(const Call&, std::vector<StepArg>& args, int64_t) {
  const Vector& vector = args[0].vector;
  return Vector{{{}, vector.size() == 1 ? vector.front().value : kNaN}};
}

StatusOr<Vector> Time(const Call&, std::vector<StepArg>&, int64_t time_ms) {
  return Vector{{{}, static_cast<double>(time_ms) / 1000}};
}

StatusOr<Vector> MakeVector(const Call&, std::vector<StepArg>& args, int64_t) {
  return Vector{{{}, args[0].scalar}};
}

// timestamp() of anything but a plain selector: the evaluation time (the engine handles
// selectors, whose samples keep their own times).
StatusOr<Vector> Timestamp(const Call&, std::vector<StepArg>& args, int64_t time_ms) {
  Vector out = std::move(args[0].vector);
  for (auto& element : out) {
    DropMetricName(element.labels);
    element.value = static_cast<double>(time_ms) / 1000;
  }
  return out;
}

StatusOr<Vector> Sort(const Call& call, std::vector<StepArg>& args, int64_t) {
  const bool descending = call.function == "sort_desc";
  Vector out = std::move(args[0].vector);
  std::stable_sort(out.begin(), out.end(), [descending](const Element& a, const Element& b) {
    if (std::isnan(a.value) || std::isnan(b.value))
      return !std::isnan(a.value) && std::isnan(b.value);
    return descending ? a.value > b.value : a.value < b.value;
  });
  return out;
}

StatusOr<Vector> Absent(const Call& call, std::vector<StepArg>& args, int64_t) {
  if (!args[0].vector.empty()) return Vector{};
  return Vector{{AbsentLabels(*call.args[0]), 1}};
}

// ---- range-vector functions ----

// Go's time.Duration.Seconds() of a millisecond count.
double DurationSeconds(int64_t ms) {
  return static_cast<double>(ms / 1000) + static_cast<double>(ms % 1000 * 1000000) / 1e9;
}

// Prometheus' extrapolatedRate: the change over the window, extrapolated to the window's
// edges when the first and last samples are close enough to them, and never to a negative
// counter value.
std::optional<double> ExtrapolatedRate(const RangeWindow& window, bool is_counter, bool is_rate) {
  const auto& samples = window.samples;
  if (samples.size() < 2) return std::nullopt;
  const Sample& first = samples.front();
  const Sample& last = samples.back();
  double result = last.value - first.value;
  if (is_counter) {
    double previous = first.value;
    for (const auto& sample : samples.subspan(1)) {
      if (sample.value < previous) result += previous;  // a reset: count what was lost
      previous = sample.value;
    }
  }
  double to_start = static_cast<double>(first.timestamp_ms - window.range_start_ms) / 1000;
  const double to_end = static_cast<double>(window.range_end_ms - last.timestamp_ms) / 1000;
  const double sampled = static_cast<double>(last.timestamp_ms - first.timestamp_ms) / 1000;
  const double average_gap = sampled / static_cast<double>(samples.size() - 1);
  if (is_counter && result > 0 && first.value >= 0) {
    to_start = std::min(to_start, sampled * (first.value / result));
  }
  const double threshold = average_gap * 1.1;
  double extrapolated = sampled;
  extrapolated += to_start < threshold ? to_start : average_gap / 2;
  extrapolated += to_end < threshold ? to_end : average_gap / 2;
  double factor = extrapolated / sampled;
  if (is_rate) factor /= DurationSeconds(window.range_ms);
  return result * factor;
}

std::optional<double> Rate(const RangeWindow& w) { return ExtrapolatedRate(w, true, true); }
std::optional<double> Increase(const RangeWindow& w) { return ExtrapolatedRate(w, true, false); }
std::optional<double> Delta(const RangeWindow& w) { return ExtrapolatedRate(w, false, false); }

std::optional<double> InstantValue(const RangeWindow& window, bool is_rate) {
  const auto& samples = window.samples;
  if (samples.size() < 2) return std::nullopt;
  const Sample& last = samples.back();
  const Sample& previous = samples[samples.size() - 2];
  double result = is_rate && last.value < previous.value ? last.value : last.value - previous.value;
  const int64_t interval_ms = last.timestamp_ms - previous.timestamp_ms;
  if (interval_ms == 0) return std::nullopt;
  if (is_rate) result /= static_cast<double>(interval_ms) / 1000;
  return result;
}

std::optional<double> Irate(const RangeWindow& w) { return InstantValue(w, true); }
std::optional<double> Idelta(const RangeWindow& w) { return InstantValue(w, false); }

// Neumaier's variant of Kahan summation, which Prometheus 2.42 uses in *_over_time and in
// the regression of deriv/predict_linear.
struct KahanSum {
  double sum = 0, compensation = 0;
  void Add(double value) {
    const double t = sum + value;
    compensation += std::fabs(sum) >= std::fabs(value) ? (sum - t) + value : (value - t) + sum;
    sum = t;
  }
  double Total() const { return sum + compensation; }
};

struct Line {
  double slope, intercept;
};

// Least squares over the window, x in seconds from `intercept_time_ms`.
Line LinearRegression(std::span<const Sample> samples, int64_t intercept_time_ms) {
  double n = 0;
  KahanSum x_sum, y_sum, xy_sum, x2_sum;
  bool constant = true;
  for (const auto& sample : samples) {
    constant = constant && sample.value == samples.front().value;
    n += 1;
    const double x = static_cast<double>(sample.timestamp_ms - intercept_time_ms) / 1e3;
    x_sum.Add(x);
    y_sum.Add(sample.value);
    xy_sum.Add(x * sample.value);
    x2_sum.Add(x * x);
  }
  if (constant) {
    if (std::isinf(samples.front().value)) return {kNaN, kNaN};
    return {0, samples.front().value};
  }
  const double sum_x = x_sum.Total(), sum_y = y_sum.Total();
  const double covariance = xy_sum.Total() - sum_x * sum_y / n;
  const double variance = x2_sum.Total() - sum_x * sum_x / n;
  const double slope = covariance / variance;
  return {slope, sum_y / n - slope * sum_x / n};
}

std::optional<double> Deriv(const RangeWindow& window) {
  if (window.samples.size() < 2) return std::nullopt;
  // Times relative to the first sample keep x small (prometheus/prometheus#2674).
  return LinearRegression(window.samples, window.samples.front().timestamp_ms).slope;
}

std::optional<double> PredictLinear(const RangeWindow& window) {
  if (window.samples.size() < 2) return std::nullopt;
  const Line line = LinearRegression(window.samples, window.time_ms);
  return line.slope * window.scalar + line.intercept;
}

std::optional<double> Changes(const RangeWindow& window) {
  double changes = 0;
  for (size_t i = 1; i < window.samples.size(); ++i) {
    const double previous = window.samples[i - 1].value, current = window.samples[i].value;
    if (current != previous && !(std::isnan(current) && std::isnan(previous))) changes += 1;
  }
  return changes;
}

std::optional<double> Resets(const RangeWindow& window) {
  double resets = 0;
  for (size_t i = 1; i < window.samples.size(); ++i) {
    if (window.samples[i].value < window.samples[i - 1].value) resets += 1;
  }
  return resets;
}

std::optional<double> AvgOverTime(const RangeWindow& window) {
  double count = 0;
  KahanSum mean;
  for (const auto& sample : window.samples) {
    count += 1;
    const double v = sample.value;
    if (std::isinf(mean.sum) &&
        ((std::isinf(v) && (mean.sum > 0) == (v > 0)) || (!std::isinf(v) && !std::isnan(v)))) {
      continue;  // the incremental formula would turn an infinite mean into NaN
    }
    mean.Add(v / count - mean.sum / count);
  }
  return std::isinf(mean.sum) ? mean.sum : mean.Total();
}

std::optional<double> SumOverTime(const RangeWindow& window) {
  KahanSum sum;
  for (const auto& sample : window.samples) sum.Add(sample.value);
  return std::isinf(sum.sum) ? sum.sum : sum.Total();
}

std::optional<double> CountOverTime(const RangeWindow& window) {
  return static_cast<double>(window.samples.size());
}

template <bool kMax>
std::optional<double> ExtremeOverTime(const RangeWindow& window) {
  double result = window.samples.front().value;
  for (const auto& sample : window.samples) {
    if ((kMax ? sample.value > result : sample.value < result) || std::isnan(result)) {
      result = sample.value;
    }
  }
  return result;
}

std::optional<double> LastOverTime(const RangeWindow& window) {
  return window.samples.back().value;
}

// present_over_time, and absent_over_time before the engine inverts it over the steps.
std::optional<double> One(const RangeWindow&) { return 1; }

double VarianceOverTime(const RangeWindow& window) {
  double count = 0;
  KahanSum mean, aux;
  for (const auto& sample : window.samples) {
    count += 1;
    const double delta = sample.value - mean.Total();
    mean.Add(delta / count);
    aux.Add(delta * (sample.value - mean.Total()));
  }
  return aux.Total() / count;
}

std::optional<double> StdvarOverTime(const RangeWindow& window) { return VarianceOverTime(window); }
std::optional<double> StddevOverTime(const RangeWindow& window) {
  return std::sqrt(VarianceOverTime(window));
}

std::optional<double> QuantileOverTime(const RangeWindow& window) {
  std::vector<double> values;
  values.reserve(window.samples.size());
  for (const auto& sample : window.samples) values.push_back(sample.value);
  return Quantile(window.scalar, std::move(values));
}

}  // namespace

const Expr& UnwrapParens(const Expr& expr) {
  const Expr* e = &expr;
  while (const auto* paren = std::get_if<Paren>(&e->node)) e = paren->expr.get();
  return *e;
}

Labels AbsentLabels(const Expr& arg) {
  const Expr& e = UnwrapParens(arg);
  const VectorSelector* selector = std::get_if<VectorSelector>(&e.node);
  if (const auto* matrix = std::get_if<MatrixSelector>(&e.node)) selector = &matrix->vector;
  Labels labels;
  if (selector == nullptr) return labels;
  std::vector<std::string> ambiguous;
  for (const auto& matcher : selector->matchers) {
    if (matcher.name == kMetricName) continue;
    if (matcher.op == tsdb::Matcher::Op::kEqual && FindLabel(labels, matcher.name) == nullptr) {
      SetLabel(labels, matcher.name, matcher.value);
    } else {
      ambiguous.push_back(matcher.name);
    }
  }
  for (const auto& name : ambiguous) SetLabel(labels, name, "");
  return labels;
}

const FunctionImpl* FindFunction(std::string_view name) {
  static const std::map<std::string, FunctionImpl, std::less<>> kFunctions = {
      {"abs", {Math<Abs>}},
      {"absent", {Absent}},
      {"absent_over_time", {nullptr, One}},
      {"avg_over_time", {nullptr, AvgOverTime}},
      {"ceil", {Math<Ceil>}},
      {"changes", {nullptr, Changes}},
      {"clamp", {Clamp}},
      {"clamp_max", {Clamp}},
      {"clamp_min", {Clamp}},
      {"count_over_time", {nullptr, CountOverTime}},
      {"day_of_month", {DatePart<DayOfMonth>}},
      {"day_of_week", {DatePart<DayOfWeek>}},
      {"days_in_month", {DatePart<DaysInMonth>}},
      {"delta", {nullptr, Delta}},
      {"deriv", {nullptr, Deriv}},
      {"exp", {Math<Exp>}},
      {"floor", {Math<Floor>}},
      {"histogram_quantile", {HistogramQuantile}},
      {"hour", {DatePart<Hour>}},
      {"idelta", {nullptr, Idelta}},
      {"increase", {nullptr, Increase}},
      {"irate", {nullptr, Irate}},
      {"label_join", {LabelJoin}},
      {"label_replace", {LabelReplace}},
      {"last_over_time", {nullptr, LastOverTime, true}},
      {"ln", {Math<Ln>}},
      {"log10", {Math<GoLog10>}},
      {"log2", {Math<GoLog2>}},
      {"max_over_time", {nullptr, ExtremeOverTime<true>}},
      {"min_over_time", {nullptr, ExtremeOverTime<false>}},
      {"minute", {DatePart<Minute>}},
      {"month", {DatePart<Month>}},
      {"predict_linear", {nullptr, PredictLinear}},
      {"present_over_time", {nullptr, One}},
      {"quantile_over_time", {nullptr, QuantileOverTime}},
      {"rate", {nullptr, Rate}},
      {"resets", {nullptr, Resets}},
      {"round", {Round}},
      {"scalar", {Scalar}},
      {"sgn", {Math<Sgn>}},
      {"sort", {Sort}},
      {"sort_desc", {Sort}},
      {"sqrt", {Math<Sqrt>}},
      {"stddev_over_time", {nullptr, StddevOverTime}},
      {"stdvar_over_time", {nullptr, StdvarOverTime}},
      {"sum_over_time", {nullptr, SumOverTime}},
      {"time", {Time}},
      {"timestamp", {Timestamp}},
      {"vector", {MakeVector}},
      {"year", {DatePart<Year>}},
  };
  const auto it = kFunctions.find(name);
  return it != kFunctions.end() ? &it->second : nullptr;
}

}  // namespace mingus::collector::promql::detail
