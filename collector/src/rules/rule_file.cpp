#include "mingus/collector/rules/rule_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "mingus/collector/promql/parser.h"
#include "mingus/common/file.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::rules {

namespace {

using config::MapReader;

// Labels or annotations: valid names, string values, each value parsed as a template.
std::vector<TemplatedPair> ReadTemplatedPairs(MapReader& reader, std::string_view key,
                                              const std::string& rule_name) {
  std::vector<TemplatedPair> out;
  for (auto& [name, text] : reader.Labels(key)) {
    // Prometheus names templates "__alert_NAME"; ours also say which field, for messages.
    auto parsed = Template::Parse(
        fmt::format("{} {} of {}", key == "labels" ? "label" : "annotation", name, rule_name),
        text);
    if (!parsed.ok()) reader.Fail(reader.Node(key)[name], key, parsed.message());
    out.push_back({name, text, std::make_shared<const Template>(std::move(*parsed))});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

RuleDefinition ReadRule(MapReader& reader, const YAML::Node& node) {
  RuleDefinition rule;
  rule.line = static_cast<int>(node.Mark().line) + 1;
  std::string alert, record;
  reader.Read("alert", alert);
  reader.Read("record", record);
  if (!alert.empty() && !record.empty())
    reader.Fail(node, "record", "only one of 'record' and 'alert' may be set");
  if (alert.empty() && record.empty())
    reader.Fail(node, "alert", "one of 'record' or 'alert' must be set");
  rule.kind = alert.empty() ? RuleDefinition::Kind::kRecording : RuleDefinition::Kind::kAlerting;
  rule.name = alert.empty() ? record : alert;
  const char* name_key = alert.empty() ? "record" : "alert";
  if (!wire::IsValidMetricName(rule.name)) {
    reader.Fail(reader.Node(name_key), name_key,
                fmt::format("'{}' is not a valid metric name", rule.name));
  }

  reader.Read("expr", rule.expr_text);
  if (rule.expr_text.empty()) reader.Fail(node, "expr", "every rule needs an expr");
  auto expr = promql::Parse(rule.expr_text);
  if (!expr.ok())
    reader.Fail(reader.Node("expr"), "expr",
                fmt::format("could not parse expression: {}", expr.message()));
  rule.expr = std::move(*expr);

  if (rule.kind == RuleDefinition::Kind::kRecording) {
    for (const char* alert_only : {"for", "annotations"}) {
      const YAML::Node value = reader.Node(alert_only);
      if (value && !value.IsNull())
        reader.Fail(value, alert_only, "is only valid in alerting rules");
    }
  } else {
    reader.Read("for", rule.for_duration);
    rule.annotations = ReadTemplatedPairs(reader, "annotations", rule.name);
  }
  rule.labels = ReadTemplatedPairs(reader, "labels", rule.name);
  if (rule.kind == RuleDefinition::Kind::kRecording) {
    for (const auto& label : rule.labels) {
      if (label.name == "__name__")
        reader.Fail(reader.Node("labels"), "labels", "a recording rule may not set __name__");
    }
  }
  return rule;
}

}  // namespace

std::vector<GroupDefinition> ParseRuleFile(const std::string& yaml, const std::string& file_name) {
  const YAML::Node root = config::LoadString(yaml, file_name);
  std::vector<GroupDefinition> groups;
  if (!root || root.IsNull()) return groups;
  MapReader top(root, file_name);
  std::set<std::string> names;
  top.ForEachMap("groups", [&](MapReader& reader, const YAML::Node& node) {
    GroupDefinition group;
    group.file = file_name;
    reader.Read("name", group.name);
    if (group.name.empty()) reader.Fail(node, "name", "every group needs a name");
    if (!names.insert(group.name).second) {
      reader.Fail(reader.Node("name"), "name",
                  fmt::format("group '{}' is repeated in the same file", group.name));
    }
    reader.Read("interval", group.interval);
    reader.Read("limit", group.limit, 0, int64_t{1} << 40);
    reader.ForEachMap("rules", [&](MapReader& rule_reader, const YAML::Node& rule_node) {
      group.rules.push_back(ReadRule(rule_reader, rule_node));
    });
    groups.push_back(std::move(group));
  });
  top.Finish();
  return groups;
}

std::vector<GroupDefinition> LoadRuleFile(const std::string& path) {
  auto content = ReadFile(path);
  if (!content.ok()) throw config::ConfigError(content.message());
  return ParseRuleFile(*content, path);
}

std::vector<GroupDefinition> LoadRuleFiles(const std::vector<std::string>& patterns,
                                           const std::string& base_directory) {
  std::vector<GroupDefinition> groups;
  std::set<std::string> seen;
  for (const auto& pattern : patterns) {
    for (const auto& file : GlobFiles(base_directory, pattern)) {
      if (!seen.insert(file).second) continue;
      for (auto& group : LoadRuleFile(file)) groups.push_back(std::move(group));
    }
  }
  return groups;
}

}  // namespace mingus::collector::rules
