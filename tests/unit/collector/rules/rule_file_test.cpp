#include "mingus/collector/rules/rule_file.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "mingus/collector/rules/rule_test.h"
#include "mingus/collector/tsdb/xor_chunk.h"
#include "mingus/config/yaml_reader.h"
#include "temp_dir.h"

namespace mingus::collector::rules {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseRuleFile(yaml, "rules.yml");
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(RuleFileTest, ReadsGroupsAndRules) {
  const auto groups = ParseRuleFile(R"(groups:
- name: api
  interval: 30s
  limit: 10
  rules:
  - record: job:requests:rate5m
    expr: sum by (job) (rate(requests_total[5m]))
  - alert: HighErrors
    expr: job:requests:rate5m > 1
    for: 10m
    labels: {severity: high, category: performance}
    annotations:
      summary: "{{ $labels.job }} errors"
)",
                                    "rules.yml");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].file, "rules.yml");
  EXPECT_EQ(groups[0].interval, std::chrono::seconds(30));
  EXPECT_EQ(groups[0].limit, 10);
  ASSERT_EQ(groups[0].rules.size(), 2u);
  const RuleDefinition& record = groups[0].rules[0];
  EXPECT_EQ(record.kind, RuleDefinition::Kind::kRecording);
  EXPECT_EQ(record.name, "job:requests:rate5m");
  EXPECT_EQ(record.line, 6);
  const RuleDefinition& alert = groups[0].rules[1];
  EXPECT_EQ(alert.kind, RuleDefinition::Kind::kAlerting);
  EXPECT_EQ(alert.for_duration, std::chrono::minutes(10));
  ASSERT_EQ(alert.labels.size(), 2u);
  EXPECT_EQ(alert.labels[0].name, "category");  // sorted
  EXPECT_EQ(alert.annotations.at(0).text, "{{ $labels.job }} errors");
}

TEST(RuleFileTest, EmptyFileHasNoGroups) {
  EXPECT_TRUE(ParseRuleFile("", "empty.yml").empty());
  EXPECT_TRUE(ParseRuleFile("groups: []", "empty.yml").empty());
}

TEST(RuleFileTest, RefusesBadRulesNamingFileLineAndReason) {
  EXPECT_EQ(
      ErrorOf("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    severity: high\n"),
      "rules.yml:6:5: groups[0].rules[0].severity: unknown key");
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n"),
              HasSubstr("rules.yml:5:11: groups[0].rules[0].expr: could not parse expression: "));
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n  rules:\n  - alert: A\n    record: b\n    expr: up\n"),
              HasSubstr("only one of 'record' and 'alert' may be set"));
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n  rules:\n  - expr: up\n"),
              HasSubstr("one of 'record' or 'alert' must be set"));
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n  rules:\n  - alert: A\n"),
              HasSubstr("every rule needs an expr"));
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n  rules:\n  - record: r\n    expr: up\n    for: 5m\n"),
              HasSubstr("rules.yml:6:10: groups[0].rules[0].for: is only valid in alerting rules"));
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n  rules:\n  - record: 'not valid'\n    expr: up\n"),
              HasSubstr("'not valid' is not a valid metric name"));
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n- name: g\n"),
              HasSubstr("group 'g' is repeated in the same file"));
  EXPECT_THAT(ErrorOf("groups:\n- rules: []\n"), HasSubstr("every group needs a name"));
  EXPECT_THAT(
      ErrorOf("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels: {0bad: x}\n"),
      HasSubstr("invalid label name '0bad'"));
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: soon\n"),
              HasSubstr("groups[0].rules[0].for:"));
  EXPECT_THAT(ErrorOf("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n"
                      "    annotations: {summary: '{{ $labels.job '}\n"),
              HasSubstr("rules.yml:6:28: groups[0].rules[0].annotations: template: "));
  EXPECT_THAT(ErrorOf("groups: [\n"), HasSubstr("rules.yml:2:1: yaml: "));
}

TEST(SeriesValuesTest, ExpandsPromtoolNotation) {
  const auto values = [](std::string_view text) {
    auto parsed = ParseSeriesValues(text);
    EXPECT_TRUE(parsed.ok()) << parsed.message();
    std::vector<std::string> out;
    for (const auto& value : *parsed) {
      out.push_back(!value ? "_" : tsdb::IsStaleNaN(*value) ? "stale" : fmt::format("{}", *value));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(values("1+2x3"), (V{"1", "3", "5", "7"}));
  EXPECT_EQ(values("5x2"), (V{"5", "5", "5"}));
  EXPECT_EQ(values("-1-1x2 _ stale"), (V{"-1", "-2", "-3", "_", "stale"}));
  EXPECT_EQ(values("_x3 4"), (V{"_", "_", "_", "4"}));
  EXPECT_EQ(values("1e3+1e-1x1"), (V{"1000", "1000.1"}));
  EXPECT_EQ(values("+Inf -Inf NaN"), (V{"inf", "-inf", "nan"}));
  EXPECT_EQ(values("0.1+0.1x2").back(),
            fmt::format("{}", 0.1 + 0.1 + 0.1));  // added, not multiplied
  for (const char* bad : {"1+x3", "abc", "1+2xq", "1x", "1++2x3"}) {
    EXPECT_FALSE(ParseSeriesValues(bad).ok()) << bad;
  }
}

// check-rules and test-rules on files, as promtool runs them.
class RuleToolsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = (temp_.path() / name).string();
    std::ofstream(path) << content;
    return path;
  }
  mingus::testing::TempDir temp_{"mingus-rule-tools"};
};

constexpr const char* kRules = R"(groups:
- name: g
  rules:
  - alert: Down
    expr: up == 0
    for: 2m
    labels: {severity: critical}
  - record: job:up:sum
    expr: sum by (job) (up)
)";

TEST_F(RuleToolsTest, CheckRulesCountsRulesAndReportsErrors) {
  const std::string good = Write("good.yml", kRules);
  const std::string bad =
      Write("bad.yml", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n");
  std::ostringstream out, err;
  EXPECT_EQ(CheckRuleFiles({good}, out, err), 0);
  EXPECT_EQ(out.str(), "Checking " + good + "\n  SUCCESS: 2 rules found\n\n");
  EXPECT_EQ(CheckRuleFiles({good, bad}, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("  FAILED:\n" + bad + ":5:11: groups[0].rules[0].expr"));
}

TEST_F(RuleToolsTest, TestRulesPassesAndFailsWithADiff) {
  Write("rules.yml", kRules);
  const std::string passing = Write("pass.test.yml", R"(rule_files: [rules.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'up{job="api"}'
    values: '1 0x5'
  alert_rule_test:
  - eval_time: 2m
    alertname: Down
  - eval_time: 3m30s
    alertname: Down
    exp_alerts:
    - exp_labels: {job: api, severity: critical}
  promql_expr_test:
  - expr: job:up:sum
    eval_time: 4m
    exp_samples:
    - labels: 'job:up:sum{job="api"}'
      value: 0
)");
  std::ostringstream out, err;
  EXPECT_EQ(TestRuleFiles({passing}, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "Unit Testing:  " + passing + "\n  SUCCESS\n\n");

  const std::string failing = Write("fail.test.yml", R"(rule_files: [rules.yml]
tests:
- name: wrong
  input_series:
  - series: 'up{job="api"}'
    values: '0x5'
  alert_rule_test:
  - eval_time: 1m
    alertname: Down
    exp_alerts:
    - exp_labels: {job: api, severity: critical}
  promql_expr_test:
  - expr: up
    eval_time: 1m
    exp_samples:
    - labels: 'up{job="api"}'
      value: 1
)");
  std::ostringstream out2, err2;
  EXPECT_EQ(TestRuleFiles({failing}, out2, err2), 1);
  EXPECT_THAT(err2.str(),
              HasSubstr("  FAILED:\n    name: wrong,\n    alertname: Down, time: 1m, \n"
                        "        exp:[\n            0:\n              Labels:{alertname=\"Down\", "
                        "job=\"api\", severity=\"critical\"}\n              Annotations:{}\n"
                        "            ], \n        got:[]"));
  EXPECT_THAT(
      err2.str(),
      HasSubstr("    expr: \"up\", time: 1m,\n        exp: {__name__=\"up\", job=\"api\"} 1E+00\n"
                "        got: {__name__=\"up\", job=\"api\"} 0E+00"));
}

}  // namespace
}  // namespace mingus::collector::rules
