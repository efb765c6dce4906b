#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

// Building blocks for collectors that read their values at scrape time (host and process
// metrics), where the registry's long-lived Counter/Gauge handles do not fit.
namespace mingus::metrics {

using LabelPairs = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Appends an empty family. The reference is invalidated by the next AddFamily on `out`.
prometheus::MetricFamily& AddFamily(std::vector<prometheus::MetricFamily>& out, std::string name,
                                    std::string help, prometheus::MetricType type);

// Adds one sample to a counter, gauge or untyped family.
void AddSample(prometheus::MetricFamily& family, double value, LabelPairs labels = {});

// Registers mingus_<daemon>_build_info{version,revision,compiler} = 1, as Prometheus' own.
void AddBuildInfo(prometheus::Registry& registry, const std::string& daemon);

// Registers an unlabelled gauge and returns its handle.
prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name, const std::string& help);

}  // namespace mingus::metrics
