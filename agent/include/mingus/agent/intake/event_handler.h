#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mingus/agent/intake/intake_stats.h"
#include "mingus/agent/intake/metric_store.h"
#include "mingus/common/clock.h"
#include "mingus/common/hyperloglog.h"
#include "mingus/wire/json_event.h"

namespace mingus::agent::intake {

// What the agent keeps across events beside plain series: distinct users per UTC day (overall
// and per feature) and the costliest query fingerprints. Thread-safe.
class EventAggregates {
 public:
  EventAggregates(const Clock& clock, size_t max_features, size_t top_fingerprints);

  void SeeUser(std::string_view user_id, std::string_view feature);  // feature may be empty
  void SeeQuery(std::string_view fingerprint, double seconds, double rows);
  void AppendFamilies(std::vector<prometheus::MetricFamily>& out) const;

  double UsersToday() const;
  double FeatureUsersToday(std::string_view feature) const;

 private:
  struct QueryStats {
    double calls = 0, seconds = 0, rows = 0;
  };
  void RollDay() const;  // holds mutex_

  const Clock& clock_;
  const size_t max_features_;
  const size_t top_fingerprints_;
  mutable std::mutex mutex_;
  mutable int64_t day_ = -1;
  mutable HyperLogLog users_;
  mutable std::map<std::string, std::unique_ptr<HyperLogLog>, std::less<>> feature_users_;
  std::map<std::string, QueryStats, std::less<>> queries_;
};

// Turns JSON events into the mingus_* metrics of DESIGN.md. One per receive thread; the store
// and aggregates it feeds are shared.
class EventHandler {
 public:
  EventHandler(MetricStore& store, EventAggregates& aggregates);
  void Handle(const wire::JsonEvent& event, int64_t now_ms);

 private:
  struct Families;
  MetricStore& store_;
  EventAggregates& aggregates_;
  std::shared_ptr<const Families> families_;
  std::string scratch_;      // normalised endpoint or page
  std::string fingerprint_;  // the db query's fingerprint
  std::string status_;
};

}  // namespace mingus::agent::intake
