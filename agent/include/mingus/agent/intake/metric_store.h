#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
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

// Series live in per-family stripes, each with its own lock, so that receive threads rarely meet;
// an update to an existing series allocates nothing. Each family holds at most
// `max_series_per_family` series; updates that would create more are refused and counted.
// Thread-safe.
class MetricStore {
 public:
  MetricStore(const Clock& clock, size_t max_series_per_family);
  ~MetricStore();

  // Finds or creates the family. A family keeps the kind (and buckets) it was created with:
  // asking for it under another kind returns nullptr. Takes a lock: resolve once, keep the pointer.
  StoreFamily* Family(const FamilyOptions& options);

  // `labels` must be sorted by name without duplicates. False when refused by the cap.
  bool Add(StoreFamily* family, std::span<const Label> labels, double delta);  // counter or gauge
  bool Set(StoreFamily* family, std::span<const Label> labels, double value);  // gauge
  bool Observe(StoreFamily* family, std::span<const Label> labels, double value,
               double weight = 1);  // histogram or summary; weight 1/rate for sampled lines
  // A StatsD set: the gauge counts distinct members (HyperLogLog, 3% error in 1 KiB a series).
  bool AddMember(StoreFamily* family, std::span<const Label> labels, std::string_view member);

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
