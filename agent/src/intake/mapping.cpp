#include "mingus/agent/intake/mapping.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace mingus::agent::intake {

namespace {

using config::MapReader;

std::string GlobToRegex(std::string_view glob) {
  std::string out = "^";
  for (char c : glob) {
    if (c == '*') {
      out += "([^.]*)";
    } else if (std::string_view(".^$|()[]{}+?\\").find(c) != std::string_view::npos) {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out + "$";
}

// "$1", "${1}" and "$$" in a template, filled from the match.
std::string Expand(std::string_view tmpl,
                   const std::match_results<std::string_view::const_iterator>& m) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out.push_back(tmpl[i]);
      continue;
    }
    size_t j = i + 1;
    const bool braced = tmpl[j] == '{';
    if (braced) ++j;
    size_t k = j;
    while (k < tmpl.size() && std::isdigit(static_cast<unsigned char>(tmpl[k]))) ++k;
    if (k == j || (braced && (k >= tmpl.size() || tmpl[k] != '}'))) {
      out.push_back(tmpl[i]);
      continue;
    }
    const size_t group = static_cast<size_t>(std::stoul(std::string(tmpl.substr(j, k - j))));
    if (group < m.size()) out.append(m[group].first, m[group].second);
    i = braced ? k : k - 1;
  }
  return out;
}

std::vector<double> ReadNumbers(MapReader& reader, std::string_view key, const YAML::Node& node,
                                bool quantile_objects) {
  if (!node.IsSequence()) reader.Fail(node, key, "expected a list");
  std::vector<double> out;
  for (const auto& item : node) {
    const YAML::Node value = quantile_objects && item.IsMap() ? item["quantile"] : item;
    double number = 0;
    if (!value || !value.IsScalar() || !YAML::convert<double>::decode(value, number)) {
      reader.Fail(item, key, "expected numbers");
    }
    if (quantile_objects && !(number > 0 && number < 1))
      reader.Fail(item, key, "quantiles lie in (0, 1)");
    out.push_back(number);
  }
  if (!std::is_sorted(out.begin(), out.end())) reader.Fail(node, key, "must be in ascending order");
  return out;
}

MetricKind ReadObserverType(MapReader& reader, const std::string& text) {
  if (text == "histogram") return MetricKind::kHistogram;
  if (text == "summary") return MetricKind::kSummary;
  reader.Fail(reader.Node("observer_type"), "observer_type",
              fmt::format("'{}' is not histogram or summary", text));
}

// Reads the keys rules and defaults share: observer_type, histogram_options, summary_options, ttl.
void ReadObserverOptions(MapReader& reader, std::optional<MetricKind>& observer,
                         std::optional<std::vector<double>>& buckets,
                         std::optional<std::vector<double>>& quantiles,
                         std::optional<std::chrono::milliseconds>& ttl) {
  std::string observer_text;
  reader.Read("observer_type", observer_text);
  if (!observer_text.empty()) observer = ReadObserverType(reader, observer_text);
  MapReader histogram = reader.Map("histogram_options");
  if (const YAML::Node node = histogram.Node("buckets"); node && !node.IsNull()) {
    buckets = ReadNumbers(histogram, "buckets", node, false);
  }
  histogram.Finish();
  MapReader summary = reader.Map("summary_options");
  if (const YAML::Node node = summary.Node("quantiles"); node && !node.IsNull()) {
    quantiles = ReadNumbers(summary, "quantiles", node, true);
  }
  for (const char* ignored : {"max_age", "age_buckets", "buf_cap"}) summary.Node(ignored);
  summary.Finish();
  std::chrono::milliseconds ttl_value{-1};
  reader.Read("ttl", ttl_value);
  if (ttl_value.count() >= 0) ttl = ttl_value;
}

}  // namespace

std::string SanitizeMetricName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) out.push_back('_');
  for (char c : name) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' ? c : '_');
  }
  return out;
}

std::string SanitizeLabelName(std::string_view name) {
  std::string out = SanitizeMetricName(name);
  std::replace(out.begin(), out.end(), ':', '_');
  while (out.size() >= 2 && out[0] == '_' && out[1] == '_') out.erase(0, 1);
  return out;
}

MappingConfig ReadMappingConfig(MapReader& statsd) {
  MappingConfig config;
  {
    MapReader defaults = statsd.Map("defaults");
    std::optional<MetricKind> observer;
    std::optional<std::vector<double>> buckets, quantiles;
    std::optional<std::chrono::milliseconds> ttl;
    ReadObserverOptions(defaults, observer, buckets, quantiles, ttl);
    std::string match_type;
    defaults.Read("match_type", match_type);
    if (!match_type.empty() && match_type != "glob") {
      defaults.Fail(defaults.Node("match_type"), "match_type",
                    "only glob is supported as a default");
    }
    defaults.Node("glob_disable_ordering");  // rules always apply in file order
    defaults.Finish();
    if (observer) config.defaults.observer_type = *observer;
    if (buckets) config.defaults.buckets = *buckets;
    if (quantiles) config.defaults.quantiles = *quantiles;
    if (ttl) config.defaults.ttl = *ttl;
  }
  statsd.ForEachMap("mappings", [&](MapReader& reader, const YAML::Node& node) {
    MappingRule rule;
    reader.Read("match", rule.match);
    if (rule.match.empty()) reader.Fail(node, "match", "every rule needs a match");
    std::string match_type = "glob", action = "map", metric_type;
    reader.Read("match_type", match_type);
    reader.Read("action", action);
    reader.Read("match_metric_type", metric_type);
    reader.Read("name", rule.name);
    reader.Read("help", rule.help);
    try {
      if (match_type == "glob") {
        rule.pattern = std::regex(GlobToRegex(rule.match));
      } else if (match_type == "regex") {
        rule.pattern = std::regex("^(?:" + rule.match + ")$");
      } else {
        reader.Fail(reader.Node("match_type"), "match_type", "must be glob or regex");
      }
    } catch (const std::regex_error& e) {
      reader.Fail(reader.Node("match"), "match",
                  fmt::format("bad regular expression: {}", e.what()));
    }
    if (action == "drop") {
      rule.drop = true;
    } else if (action != "map") {
      reader.Fail(reader.Node("action"), "action", "must be map or drop");
    }
    if (metric_type == "counter")
      rule.match_metric_type = MatchMetricType::kCounter;
    else if (metric_type == "gauge")
      rule.match_metric_type = MatchMetricType::kGauge;
    else if (metric_type == "observer" || metric_type == "timer")
      rule.match_metric_type = MatchMetricType::kObserver;
    else if (!metric_type.empty()) {
      reader.Fail(reader.Node("match_metric_type"), "match_metric_type",
                  "must be counter, gauge or observer");
    }
    if (!rule.drop && rule.name.empty()) reader.Fail(node, "name", "a rule that maps needs a name");
    const YAML::Node labels = reader.Node("labels");
    if (labels && !labels.IsNull()) {
      if (!labels.IsMap())
        reader.Fail(labels, "labels", "expected a mapping of label names to templates");
      for (const auto& label : labels) {
        const std::string label_name = label.first.Scalar();
        if (label_name.empty() || SanitizeLabelName(label_name) != label_name) {
          reader.Fail(label.first, "labels",
                      fmt::format("'{}' is not a valid label name", label_name));
        }
        rule.labels.emplace_back(label_name, label.second.Scalar());
      }
      std::sort(rule.labels.begin(), rule.labels.end());
    }
    ReadObserverOptions(reader, rule.observer_type, rule.buckets, rule.quantiles, rule.ttl);
    reader.Node("timer_type");  // statsd_exporter's old name for observer_type
    config.rules.push_back(std::move(rule));
  });
  return config;
}

MappedMetric MapStatsdName(const MappingConfig& config, std::string_view name,
                           wire::StatsdType type) {
  using wire::StatsdType;
  const bool observer = type == StatsdType::kTimer || type == StatsdType::kHistogram ||
                        type == StatsdType::kDistribution;
  MappedMetric out;
  const MappingRule* rule = nullptr;
  std::match_results<std::string_view::const_iterator> match;
  for (const auto& candidate : config.rules) {
    const auto t = candidate.match_metric_type;
    if ((t == MatchMetricType::kCounter && type != StatsdType::kCounter) ||
        (t == MatchMetricType::kGauge && type != StatsdType::kGauge) ||
        (t == MatchMetricType::kObserver && !observer)) {
      continue;
    }
    if (std::regex_match(name.begin(), name.end(), match, candidate.pattern)) {
      rule = &candidate;
      break;
    }
  }
  if (rule != nullptr && rule->drop) {
    out.drop = true;
    return out;
  }
  out.name = SanitizeMetricName(rule != nullptr ? Expand(rule->name, match) : std::string(name));
  if (rule != nullptr) {
    for (const auto& [label, tmpl] : rule->labels)
      out.labels.emplace_back(label, Expand(tmpl, match));
  }
  FamilyOptions& family = out.family;
  family.help = rule != nullptr && !rule->help.empty()
                    ? rule->help
                    : fmt::format("StatsD metric {} (mingus-agent).", name);
  family.ttl = rule != nullptr && rule->ttl ? *rule->ttl : config.defaults.ttl;
  switch (type) {
    case StatsdType::kCounter:
      family.kind = MetricKind::kCounter;
      if (!out.name.ends_with("_total")) out.name += "_total";
      break;
    case StatsdType::kGauge:
    case StatsdType::kSet:
      family.kind = MetricKind::kGauge;
      break;
    case StatsdType::kTimer:
    case StatsdType::kHistogram:
    case StatsdType::kDistribution:
      family.kind = rule != nullptr && rule->observer_type ? *rule->observer_type
                                                           : config.defaults.observer_type;
      family.buckets = rule != nullptr && rule->buckets ? *rule->buckets : config.defaults.buckets;
      family.quantiles =
          rule != nullptr && rule->quantiles ? *rule->quantiles : config.defaults.quantiles;
      if (type == StatsdType::kTimer) out.scale = 0.001;
      break;
  }
  family.name = out.name;
  return out;
}

}  // namespace mingus::agent::intake
