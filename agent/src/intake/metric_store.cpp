#include "mingus/agent/intake/metric_store.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>

#include "mingus/common/fast_hash.h"
#include "mingus/common/hyperloglog.h"

namespace mingus::agent::intake {

namespace {

constexpr size_t kStripes = 16;
// Summaries keep the most recent observations of the last ten minutes, at most this many.
constexpr size_t kSummaryWindow = 1024;
constexpr int64_t kSummaryMaxAgeMs = 10 * 60 * 1000;

// The series key inside a family: name\x1fvalue\x1e per label. Built in a per-thread buffer
// that keeps its capacity, so looking up an existing series allocates nothing.
std::string_view SeriesKey(std::span<const Label> labels) {
  thread_local std::string buffer;
  buffer.clear();
  for (const Label& label : labels) {
    buffer.append(label.name);
    buffer.push_back('\x1f');
    buffer.append(label.value);
    buffer.push_back('\x1e');
  }
  return buffer;
}

struct Series {
  std::vector<prometheus::ClientMetric::Label> labels;
  double value = 0;               // counter, gauge
  std::vector<uint64_t> buckets;  // histogram: count per bucket, the last one is +Inf
  double bucket_weight_rest = 0;  // fractional weights from sample rates, carried
  double sum = 0;
  double count = 0;
  std::vector<std::pair<double, int64_t>> window;  // summary: (value, time ms), a ring
  size_t window_next = 0;
  std::unique_ptr<HyperLogLog> members;  // sets
  int64_t last_update_ms = 0;
};

}  // namespace

class StoreFamily {
 public:
  StoreFamily(FamilyOptions options, size_t max_series)
      : options(std::move(options)), max_series(max_series) {}

  const FamilyOptions options;
  const size_t max_series;
  std::atomic<size_t> series_count{0};
  std::atomic<uint64_t> dropped{0};

  struct Stripe {
    std::mutex mutex;
    std::unordered_map<std::string, Series, FastHash, std::equal_to<>> series;
    uint64_t removals = 0;  // a SeriesRef resolved before a removal is stale
  };
  std::array<Stripe, kStripes> stripes;

  // Runs `update` on the series under its stripe's lock, creating it if the cap allows.
  template <typename Update>
  bool WithSeries(std::span<const Label> labels, int64_t now_ms, Update&& update) {
    const std::string_view key = SeriesKey(labels);
    Stripe& stripe = StripeOf(key);
    std::lock_guard lock(stripe.mutex);
    Series* series = FindOrCreate(stripe, key, labels);
    if (series == nullptr) return false;
    series->last_update_ms = now_ms;
    update(*series);
    return true;
  }

  std::optional<SeriesRef> Resolve(std::span<const Label> labels, int64_t now_ms) {
    const std::string_view key = SeriesKey(labels);
    Stripe& stripe = StripeOf(key);
    std::lock_guard lock(stripe.mutex);
    Series* series = FindOrCreate(stripe, key, labels);
    if (series == nullptr) return std::nullopt;
    series->last_update_ms = now_ms;
    return SeriesRef{this, series, static_cast<uint32_t>(&stripe - stripes.data()),
                     stripe.removals};
  }

  // Runs `update` on a resolved series unless it has been removed since.
  template <typename Update>
  bool WithRef(const SeriesRef& ref, int64_t now_ms, Update&& update) {
    Stripe& stripe = stripes[ref.stripe];
    std::lock_guard lock(stripe.mutex);
    if (stripe.removals != ref.generation) return false;
    auto& series = *static_cast<Series*>(ref.series);
    series.last_update_ms = now_ms;
    update(series);
    return true;
  }

 private:
  Stripe& StripeOf(std::string_view key) { return stripes[FastHash()(key) % kStripes]; }

  // Under the stripe's lock; null when the cap refuses a new series.
  Series* FindOrCreate(Stripe& stripe, std::string_view key, std::span<const Label> labels) {
    auto it = stripe.series.find(key);
    if (it == stripe.series.end()) {
      if (series_count.fetch_add(1, std::memory_order_relaxed) >= max_series) {
        series_count.fetch_sub(1, std::memory_order_relaxed);
        dropped.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      }
      it = stripe.series.emplace(std::string(key), NewSeries(labels)).first;
    }
    return &it->second;
  }

  Series NewSeries(std::span<const Label> labels) const {
    Series series;
    series.labels.reserve(labels.size());
    for (const Label& label : labels) {
      series.labels.push_back({std::string(label.name), std::string(label.value)});
    }
    if (options.kind == MetricKind::kHistogram)
      series.buckets.assign(options.buckets.size() + 1, 0);
    if (options.kind == MetricKind::kSummary) series.window.reserve(64);
    return series;
  }
};

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> DefaultQuantiles() { return {0.5, 0.9, 0.99}; }

MetricStore::MetricStore(const Clock& clock, size_t max_series_per_family)
    : clock_(clock), max_series_(max_series_per_family) {}

MetricStore::~MetricStore() = default;

StoreFamily* MetricStore::Family(const FamilyOptions& options) {
  std::lock_guard lock(families_mutex_);
  auto it = families_.find(options.name);
  if (it == families_.end()) {
    FamilyOptions normalized = options;
    std::sort(normalized.buckets.begin(), normalized.buckets.end());
    normalized.buckets.erase(std::unique(normalized.buckets.begin(), normalized.buckets.end()),
                             normalized.buckets.end());
    if (normalized.kind == MetricKind::kSummary && normalized.quantiles.empty()) {
      normalized.quantiles = DefaultQuantiles();
    }
    it = families_
             .emplace(options.name,
                      std::make_unique<StoreFamily>(std::move(normalized), max_series_))
             .first;
  }
  return it->second->options.kind == options.kind ? it->second.get() : nullptr;
}

namespace {

auto Increase(double delta) {
  return [delta](Series& s) { s.value += delta; };
}

auto Assign(double value) {
  return [value](Series& s) { s.value = value; };
}

auto Record(const FamilyOptions& options, double value, double weight, int64_t now_ms) {
  return [&options, value, weight, now_ms](Series& s) {
    if (options.kind == MetricKind::kHistogram) {
      // Bucket counts stay whole numbers: the fractional part of weights from sample rates
      // (1/0.3 = 3.33) carries over to the next observation, and count and sum follow the
      // buckets so that count equals the +Inf bucket.
      s.bucket_weight_rest += weight;
      const double whole = std::floor(s.bucket_weight_rest + 1e-9);
      s.bucket_weight_rest -= whole;
      const auto bucket = std::lower_bound(options.buckets.begin(), options.buckets.end(), value);
      s.buckets[static_cast<size_t>(bucket - options.buckets.begin())] +=
          static_cast<uint64_t>(whole);
      s.count += whole;
      s.sum += value * whole;
      return;
    }
    s.count += weight;
    s.sum += value * weight;
    if (s.window.size() < kSummaryWindow) {
      s.window.emplace_back(value, now_ms);
    } else {
      s.window[s.window_next] = {value, now_ms};
      s.window_next = (s.window_next + 1) % kSummaryWindow;
    }
  };
}

auto Count(std::string_view member) {
  return [member](Series& s) {
    if (!s.members) s.members = std::make_unique<HyperLogLog>(10);
    s.members->Add(member);
    s.value = std::round(s.members->Estimate());
  };
}

}  // namespace

bool MetricStore::Add(StoreFamily* family, std::span<const Label> labels, double delta,
                      int64_t now_ms) {
  return family->WithSeries(labels, now_ms, Increase(delta));
}

bool MetricStore::Set(StoreFamily* family, std::span<const Label> labels, double value,
                      int64_t now_ms) {
  return family->WithSeries(labels, now_ms, Assign(value));
}

bool MetricStore::Observe(StoreFamily* family, std::span<const Label> labels, double value,
                          double weight, int64_t now_ms) {
  return family->WithSeries(labels, now_ms, Record(family->options, value, weight, now_ms));
}

bool MetricStore::AddMember(StoreFamily* family, std::span<const Label> labels,
                            std::string_view member, int64_t now_ms) {
  return family->WithSeries(labels, now_ms, Count(member));
}

std::optional<SeriesRef> MetricStore::Resolve(StoreFamily* family, std::span<const Label> labels,
                                              int64_t now_ms) {
  return family->Resolve(labels, now_ms);
}

bool MetricStore::Add(const SeriesRef& series, double delta, int64_t now_ms) {
  return series.family->WithRef(series, now_ms, Increase(delta));
}

bool MetricStore::Set(const SeriesRef& series, double value, int64_t now_ms) {
  return series.family->WithRef(series, now_ms, Assign(value));
}

bool MetricStore::Observe(const SeriesRef& series, double value, double weight, int64_t now_ms) {
  return series.family->WithRef(series, now_ms,
                                Record(series.family->options, value, weight, now_ms));
}

bool MetricStore::AddMember(const SeriesRef& series, std::string_view member, int64_t now_ms) {
  return series.family->WithRef(series, now_ms, Count(member));
}

std::vector<prometheus::MetricFamily> MetricStore::Collect() {
  std::vector<StoreFamily*> families;
  {
    std::lock_guard lock(families_mutex_);
    for (auto& [name, family] : families_) families.push_back(family.get());
  }
  const int64_t now = UnixMillis(clock_);
  std::vector<prometheus::MetricFamily> out;
  out.reserve(families.size());
  std::vector<double> recent;
  for (StoreFamily* family : families) {
    const FamilyOptions& options = family->options;
    prometheus::MetricFamily exposed;
    exposed.name = options.name;
    exposed.help = options.help;
    switch (options.kind) {
      case MetricKind::kCounter:
        exposed.type = prometheus::MetricType::Counter;
        break;
      case MetricKind::kGauge:
        exposed.type = prometheus::MetricType::Gauge;
        break;
      case MetricKind::kHistogram:
        exposed.type = prometheus::MetricType::Histogram;
        break;
      case MetricKind::kSummary:
        exposed.type = prometheus::MetricType::Summary;
        break;
    }
    const int64_t ttl = options.ttl.count();
    for (auto& stripe : family->stripes) {
      std::lock_guard lock(stripe.mutex);
      for (auto it = stripe.series.begin(); it != stripe.series.end();) {
        Series& s = it->second;
        if (ttl > 0 && now - s.last_update_ms > ttl) {
          it = stripe.series.erase(it);
          ++stripe.removals;
          family->series_count.fetch_sub(1, std::memory_order_relaxed);
          continue;
        }
        auto& metric = exposed.metric.emplace_back();
        metric.label = s.labels;
        switch (options.kind) {
          case MetricKind::kCounter:
            metric.counter.value = s.value;
            break;
          case MetricKind::kGauge:
            metric.gauge.value = s.value;
            break;
          case MetricKind::kHistogram: {
            metric.histogram.sample_count = static_cast<uint64_t>(std::llround(s.count));
            metric.histogram.sample_sum = s.sum;
            uint64_t cumulative = 0;
            for (size_t i = 0; i < s.buckets.size(); ++i) {
              cumulative += s.buckets[i];
              const double bound = i < options.buckets.size()
                                       ? options.buckets[i]
                                       : std::numeric_limits<double>::infinity();
              metric.histogram.bucket.push_back({cumulative, bound});
            }
            break;
          }
          case MetricKind::kSummary: {
            metric.summary.sample_count = static_cast<uint64_t>(std::llround(s.count));
            metric.summary.sample_sum = s.sum;
            recent.clear();
            for (const auto& [value, at] : s.window) {
              if (now - at <= kSummaryMaxAgeMs) recent.push_back(value);
            }
            std::sort(recent.begin(), recent.end());
            for (double q : options.quantiles) {
              const double v =
                  recent.empty()
                      ? std::numeric_limits<double>::quiet_NaN()
                      : recent[std::min(
                            recent.size() - 1,
                            static_cast<size_t>(q * static_cast<double>(recent.size())))];
              metric.summary.quantile.push_back({q, v});
            }
            break;
          }
        }
        ++it;
      }
    }
    if (!exposed.metric.empty()) out.push_back(std::move(exposed));
  }
  return out;
}

std::map<std::string, uint64_t> MetricStore::DroppedSeries() const {
  std::map<std::string, uint64_t> out;
  std::lock_guard lock(families_mutex_);
  for (const auto& [name, family] : families_) {
    if (const uint64_t n = family->dropped.load(std::memory_order_relaxed)) out[name] = n;
  }
  return out;
}

}  // namespace mingus::agent::intake
