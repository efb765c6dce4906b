#pragma once

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/agent/intake/metric_store.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/wire/statsd.h"

// StatsD name mapping in the manner of statsd_exporter's mapping file: rules that match a
// dotted name (glob or regex), give the metric its Prometheus name and labels from the
// captures, choose histogram or summary for timers, set buckets, quantiles and a TTL, or drop.
namespace mingus::agent::intake {

enum class MatchMetricType { kAny, kCounter, kGauge, kObserver };

struct MappingDefaults {
  MetricKind observer_type = MetricKind::kHistogram;
  std::vector<double> buckets = DefaultLatencyBuckets();
  std::vector<double> quantiles = DefaultQuantiles();
  std::chrono::milliseconds ttl{0};
};

struct MappingRule {
  std::string match;             // as written, for messages
  std::regex pattern;            // anchored; a glob's '*' is ([^.]*)
  MatchMetricType match_metric_type = MatchMetricType::kAny;
  bool drop = false;
  std::string name;              // template with $1 or ${1}
  std::vector<std::pair<std::string, std::string>> labels;  // name -> value template
  std::string help;
  std::optional<MetricKind> observer_type;
  std::optional<std::vector<double>> buckets;
  std::optional<std::vector<double>> quantiles;
  std::optional<std::chrono::milliseconds> ttl;
};

struct MappingConfig {
  MappingDefaults defaults;
  std::vector<MappingRule> rules;
};

// Reads the `defaults` and `mappings` keys of the statsd section (statsd_exporter's keys:
// match, match_type, match_metric_type, name, labels, help, action, observer_type,
// histogram_options.buckets, summary_options.quantiles, ttl); the caller reads the section's
// other keys and calls Finish. Throws config::ConfigError naming file, line and key.
MappingConfig ReadMappingConfig(config::MapReader& statsd);

// What a StatsD name becomes.
struct MappedMetric {
  bool drop = false;
  std::string name;                                          // a valid Prometheus name
  std::vector<std::pair<std::string, std::string>> labels;   // from the rule, sorted by name
  FamilyOptions family;                                      // kind, help, buckets, TTL
  double scale = 1;                                          // timers: milliseconds to seconds
};

// Maps names by the first rule that matches; unmatched names are sanitised. Counters get a
// "_total" suffix; timer values are converted from milliseconds to seconds. Thread-safe.
MappedMetric MapStatsdName(const MappingConfig& config, std::string_view name, wire::StatsdType type);

// Replaces every character outside [a-zA-Z0-9_:] with '_' and prefixes '_' to a leading digit.
std::string SanitizeMetricName(std::string_view name);
// The same for label names, which may not contain ':' nor start with "__".
std::string SanitizeLabelName(std::string_view name);

}  // namespace mingus::agent::intake
