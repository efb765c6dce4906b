#include "mingus/collector/events/ux_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "mingus/common/duration.h"
#include "mingus/config/yaml_reader.h"

namespace mingus::collector::events {

namespace {

using config::MapReader;

std::string StepLabel(const FunnelStep& step) {
  std::string label = step.page;
  if (!step.element.empty()) label += (label.empty() ? "" : " ") + step.element;
  if (!step.event_type.empty()) label += fmt::format(" ({})", step.event_type);
  return label;
}

FunnelConfig ReadFunnel(MapReader& reader, const YAML::Node& node, size_t index) {
  FunnelConfig funnel;
  reader.Read("name", funnel.name);
  if (funnel.name.empty())
    reader.Fail(node, "name", fmt::format("funnel {} has no name", index + 1));
  const std::string what = fmt::format("funnel '{}'", funnel.name);
  std::string within = "session";
  reader.Read("within", within);
  if (within != "session") {
    const auto duration = ParseDuration(within);
    if (!duration.ok() || duration->count() <= 0) {
      reader.Fail(
          reader.Node("within"), "within",
          fmt::format("{}: '{}' is neither session nor a duration above zero", what, within));
    }
    funnel.within = *duration;
  }
  reader.ForEachMap("steps", [&](MapReader& step_reader, const YAML::Node& step_node) {
    FunnelStep step;
    step_reader.Read("name", step.name);
    step_reader.Read("page", step.page);
    step_reader.Read("element", step.element);
    step_reader.Read("event_type", step.event_type);
    const std::string where = fmt::format("{} step {}", what, funnel.steps.size() + 1);
    if (step.page.empty() && step.element.empty()) {
      step_reader.Fail(step_node, "page", fmt::format("{}: needs a page or an element", where));
    }
    if (step.name.empty()) step.name = StepLabel(step);
    funnel.steps.push_back(std::move(step));
  });
  if (funnel.steps.size() < 2) {
    reader.Fail(
        node, "steps",
        fmt::format("{} has {} steps; a funnel needs two or more", what, funnel.steps.size()));
  }
  return funnel;
}

ExperimentConfig ReadExperiment(MapReader& reader, const YAML::Node& node, size_t index) {
  ExperimentConfig experiment;
  reader.Read("name", experiment.name);
  if (experiment.name.empty())
    reader.Fail(node, "name", fmt::format("experiment {} has no name", index + 1));
  const std::string what = fmt::format("experiment '{}'", experiment.name);
  const YAML::Node variants = reader.Node("variants");
  if (variants && !variants.IsNull()) {
    if (!variants.IsMap())
      reader.Fail(variants, "variants", fmt::format("{}: expected variant: weight pairs", what));
    MapReader weights = reader.Map("variants");
    for (const auto& entry : variants) {
      const std::string name = config::ScalarText(entry.first);
      if (name.empty()) reader.Fail(entry.first, "variants", what + ": a variant has no name");
      // Whole weights, as the SDKs' assignment takes them (docs/experiments.md).
      int64_t weight = 0;
      weights.Read(name, weight, 1, 1'000'000);
      experiment.variants.emplace_back(name, static_cast<double>(weight));
    }
    if (experiment.variants.size() < 2) {
      reader.Fail(variants, "variants", fmt::format("{}: plan two or more variants", what));
    }
  }
  reader.Read("control", experiment.control);
  if (!experiment.control.empty() && !experiment.variants.empty()) {
    const bool listed = std::any_of(experiment.variants.begin(), experiment.variants.end(),
                                    [&](const auto& v) { return v.first == experiment.control; });
    if (!listed) {
      reader.Fail(reader.Node("control"), "control",
                  fmt::format("{}: '{}' is not one of its variants", what, experiment.control));
    }
  }
  if (experiment.control.empty() && !experiment.variants.empty())
    experiment.control = experiment.variants.front().first;
  reader.Read("sample_size", experiment.sample_size, 1, int64_t{1} << 40);
  return experiment;
}

}  // namespace

void ReadUxConfig(MapReader& top, UxConfig& out) {
  {
    MapReader ux = top.Map("ux");
    ux.Read("session_timeout", out.session_timeout);
    ux.Read("rage_click_count", out.rage_click_count, 2, 100);
    ux.Read("rage_click_window", out.rage_click_window);
    ux.Read("dead_click_window", out.dead_click_window);
    ux.Read("default_sample_size", out.default_sample_size, 1, int64_t{1} << 40);
    for (const auto& [key, value] : {std::pair{"session_timeout", out.session_timeout},
                                     std::pair{"rage_click_window", out.rage_click_window},
                                     std::pair{"dead_click_window", out.dead_click_window}}) {
      ux.Check(key, value.count() > 0 ? OkStatus() : Status::Error("must be above zero"));
    }
    ux.Finish();
  }
  std::set<std::string> names;
  top.ForEachMap("funnels", [&](MapReader& reader, const YAML::Node& node) {
    FunnelConfig funnel = ReadFunnel(reader, node, out.funnels.size());
    if (!names.insert(funnel.name).second)
      reader.Fail(node, "name", fmt::format("funnel '{}' is defined twice", funnel.name));
    out.funnels.push_back(std::move(funnel));
  });
  names.clear();
  top.ForEachMap("experiments", [&](MapReader& reader, const YAML::Node& node) {
    ExperimentConfig experiment = ReadExperiment(reader, node, out.experiments.size());
    if (!names.insert(experiment.name).second) {
      reader.Fail(node, "name", fmt::format("experiment '{}' is defined twice", experiment.name));
    }
    out.experiments.push_back(std::move(experiment));
  });
}

}  // namespace mingus::collector::events
