#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "mingus/common/clock.h"

// The application metrics the agent aggregates from StatsD lines and JSON events.
namespace mingus::agent::intake {

enum class MetricKind : uint8_t { kCounter, kGauge, kHistogram, kSummary };

struct Label {
  std::string_view name, value;
};

struct FamilyOptions {
  std::string name;
  std::string help;
  MetricKind kind = MetricKind::kCounter;
  std::vector<double> buckets;          // histograms: ascending upper bounds, +Inf implied
  std::vector<double> quantiles;        // summaries
  std::chrono::milliseconds ttl{0};     // a series idle this long disappears; 0 keeps it
};

// Default buckets for latencies in seconds: 1 ms to 10 s.
std::vector<double> DefaultLatencyBuckets();
std::vector<double> DefaultQuantiles();  // 0.5, 0.9, 0.99

class StoreFamily;

// A series found once and then updated without looking its labels up again. It goes stale
// when the series is removed (idle past its family's TTL): an update through a stale reference
// does nothing and returns false, and the caller resolves the series again.
struct SeriesRef {
  StoreFamily* family = nullptr;
  void* series = nullptr;
  uint32_t stripe = 0;
  uint64_t generation = 0;  // the stripe's removal count when resolved
};

// Series live in per-family stripes, each with its own lock, so that receive threads rarely meet;
// an update to an existing series allocates nothing. Each family holds at most
// `max_series_per_family` series; updates that would create more are refused and counted.
// Updates take the time of the update (UnixMillis) from the caller, who reads the clock once
// per datagram rather than per line. Thread-safe.
class MetricStore {
 public:
  MetricStore(const Clock& clock, size_t max_series_per_family);
  ~MetricStore();

  // Finds or creates the family. A family keeps the kind (and buckets) it was created with:
  // asking for it under another kind returns nullptr. Takes a lock: resolve once, keep the pointer.
  StoreFamily* Family(const FamilyOptions& options);

  // `labels` must be sorted by name without duplicates. False when refused by the cap.
  bool Add(StoreFamily* family, std::span<const Label> labels, double delta, int64_t now_ms);  // counter or gauge
  bool Set(StoreFamily* family, std::span<const Label> labels, double value, int64_t now_ms);  // gauge
  // Histogram or summary; weight 1/rate for sampled lines.
  bool Observe(StoreFamily* family, std::span<const Label> labels, double value, double weight,
               int64_t now_ms);
  // A StatsD set: the gauge counts distinct members (HyperLogLog, 3% error in 1 KiB a series).
  bool AddMember(StoreFamily* family, std::span<const Label> labels, std::string_view member,
                 int64_t now_ms);

  // The same updates through a reference from Resolve; false when the reference is stale.
  // Resolve returns nullopt when the cap refuses a new series (counted).
  std::optional<SeriesRef> Resolve(StoreFamily* family, std::span<const Label> labels, int64_t now_ms);
  bool Add(const SeriesRef& series, double delta, int64_t now_ms);
  bool Set(const SeriesRef& series, double value, int64_t now_ms);
  bool Observe(const SeriesRef& series, double value, double weight, int64_t now_ms);
  bool AddMember(const SeriesRef& series, std::string_view member, int64_t now_ms);

  int64_t NowMillis() const { return UnixMillis(clock_); }

// The families in exposition form. Series idle past their family's TTL are removed here.
  std::vector<prometheus::MetricFamily> Collect();

  // Series refused by the cap, per family name.
  std::map<std::string, uint64_t> DroppedSeries() const;

 private:
  const Clock& clock_;
  const size_t max_series_;
  mutable std::mutex families_mutex_;
  std::map<std::string, std::unique_ptr<StoreFamily>, std::less<>> families_;
};

}  // namespace mingus::agent::intake
