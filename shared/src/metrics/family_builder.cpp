#include "mingus/metrics/family_builder.h"

#include "mingus/version.h"

namespace mingus::metrics {

prometheus::MetricFamily& AddFamily(std::vector<prometheus::MetricFamily>& out, std::string name,
                                    std::string help, prometheus::MetricType type) {
  auto& family = out.emplace_back();
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(prometheus::MetricFamily& family, double value, LabelPairs labels) {
  auto& metric = family.metric.emplace_back();
  metric.label.reserve(labels.size());
  for (const auto& [name, label_value] : labels) {
    metric.label.push_back({std::string(name), std::string(label_value)});
  }
  switch (family.type) {
    case prometheus::MetricType::Counter:
      metric.counter.value = value;
      break;
    case prometheus::MetricType::Gauge:
      metric.gauge.value = value;
      break;
    default:
      metric.untyped.value = value;
      break;
  }
}

prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

void AddBuildInfo(prometheus::Registry& registry, const std::string& daemon) {
  prometheus::BuildGauge()
      .Name("mingus_" + daemon + "_build_info")
      .Help("A metric with a constant '1' value labeled by version and revision of the " + daemon + ".")
      .Register(registry)
      .Add({{"version", kVersion}, {"revision", kRevision}, {"compiler", __VERSION__}})
      .Set(1);
}

}  // namespace mingus::metrics
