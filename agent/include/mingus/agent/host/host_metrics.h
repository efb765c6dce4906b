#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>

#include "mingus/agent/config.h"
#include "mingus/agent/host/collectors.h"

namespace mingus::agent::host {

// Runs the enabled host collectors at scrape time. A collector that fails contributes no
// families, increments mingus_agent_collector_errors_total{collector} and logs once per run
// of failures; the others are unaffected. Thread-safe.
class HostMetrics : public prometheus::Collectable {
 public:
  HostMetrics(const HostContext& context, const HostCollectorsConfig& config,
              prometheus::Family<prometheus::Counter>& errors);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Entry {
    std::string name;
    HostCollectorPtr collector;
    prometheus::Counter* errors;
    mutable std::atomic<bool> failing{false};
  };
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace mingus::agent::host
