#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

// Building blocks for collectors that read their values at scrape time (host and process
// metrics), where the registry's long-lived Counter/Gauge handles do not fit.
namespace mingus::metrics {

using LabelPairs = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Appends an empty family. The reference is invalidated by the next AddFamily on `out`.
prometheus::MetricFamily& AddFamily(std::vector<prometheus::MetricFamily>& out, std::string name,
                                    std::string help, prometheus::MetricType type);

// Adds one sample to a counter, gauge or untyped family.
void AddSample(prometheus::MetricFamily& family, double value, LabelPairs labels = {});

}  // namespace mingus::metrics
