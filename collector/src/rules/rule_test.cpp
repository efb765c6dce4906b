#include "mingus/collector/rules/rule_test.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "mingus/collector/promql/engine.h"
#include "mingus/collector/promql/parser.h"
#include "mingus/collector/rules/group.h"
#include "mingus/common/duration.h"
#include "mingus/common/file.h"
#include "mingus/common/text.h"
#include "mingus/config/yaml_reader.h"

namespace mingus::collector::rules {

namespace {

using config::ConfigError;
using config::MapReader;

// Go's strconv.ParseFloat as PromQL uses it: a leading sign, Inf and NaN in any case.
std::optional<double> ParseNumber(std::string_view text) {
  if (text.starts_with('+')) text.remove_prefix(1);
  if (text.starts_with('+') || text.starts_with("-+") || text.starts_with("--"))
    return std::nullopt;
  return text::ParseDouble(text);
}

struct ExpectedAlert {
  tsdb::Labels labels;
  tsdb::Labels annotations;
  auto operator<=>(const ExpectedAlert&) const = default;
};

struct AlertTest {
  std::chrono::milliseconds eval_time{0};
  std::string alertname;
  std::vector<ExpectedAlert> expected;
};

struct ExpectedSample {
  std::string labels_text;
  tsdb::Labels labels;
  double value = 0;
};

struct ExprTest {
  std::string expr;
  std::chrono::milliseconds eval_time{0};
  std::vector<ExpectedSample> expected;
};

struct InputSeries {
  tsdb::Labels labels;
  std::vector<std::optional<double>> values;
};

struct TestGroup {
  std::string name;
  std::chrono::milliseconds interval{0};
  std::vector<InputSeries> input;
  std::vector<AlertTest> alert_tests;
  std::vector<ExprTest> expr_tests;
  tsdb::Labels external_labels;
  std::string external_url;
};

struct TestFile {
  std::vector<std::string> rule_files;
  std::chrono::milliseconds evaluation_interval{60'000};
  std::vector<std::string> group_eval_order;
  std::vector<TestGroup> tests;
};

// A series written as in PromQL: 'up{job="api"}', '{__name__="up"}', '{}'; equality only.
StatusOr<tsdb::Labels> ParseSeriesDescriptor(std::string_view text) {
  if (text::Trim(text) == "{}") return tsdb::Labels{};  // a scalar's sample in exp_samples
  auto expr = promql::Parse(text);
  if (!expr.ok()) return expr.status();
  const auto* selector = std::get_if<promql::VectorSelector>(&(*expr)->node);
  if (selector == nullptr || selector->offset_ms != 0) {
    return Status::Error(
        fmt::format("'{}' is not a series: expected name{{label=\"value\", ...}}", text));
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& matcher : selector->matchers) {
    if (matcher.op != tsdb::Matcher::Op::kEqual) {
      return Status::Error(fmt::format("'{}': a series takes only = matchers", text));
    }
    pairs.emplace_back(matcher.name, matcher.value);
  }
  return tsdb::MakeLabels(std::move(pairs));
}

tsdb::Labels SortedPairs(std::vector<std::pair<std::string, std::string>> pairs) {
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

TestFile ReadTestFile(const std::string& path) {
  const YAML::Node root = config::LoadFile(path);
  MapReader top(root, path);
  TestFile file;
  file.rule_files = top.Strings("rule_files");
  top.Read("evaluation_interval", file.evaluation_interval);
  file.group_eval_order = top.Strings("group_eval_order");
  top.ForEachMap("tests", [&](MapReader& reader, const YAML::Node&) {
    TestGroup group;
    reader.Read("name", group.name);
    reader.Read("interval", group.interval);
    if (group.interval.count() == 0) group.interval = file.evaluation_interval;
    group.external_labels = SortedPairs(reader.Labels("external_labels"));
    reader.Read("external_url", group.external_url);
    reader.ForEachMap("input_series", [&](MapReader& series_reader, const YAML::Node& node) {
      std::string series, values;
      series_reader.Read("series", series);
      series_reader.Read("values", values);
      auto labels = ParseSeriesDescriptor(series);
      if (!labels.ok()) series_reader.Fail(node, "series", labels.message());
      auto parsed = ParseSeriesValues(values);
      if (!parsed.ok())
        series_reader.Fail(series_reader.Node("values"), "values", parsed.message());
      group.input.push_back({std::move(*labels), std::move(*parsed)});
    });
    reader.ForEachMap("alert_rule_test", [&](MapReader& alert_reader, const YAML::Node& node) {
      AlertTest test;
      alert_reader.Read("eval_time", test.eval_time);
      alert_reader.Read("alertname", test.alertname);
      if (test.alertname.empty())
        alert_reader.Fail(node, "alertname", "every alert_rule_test needs an alertname");
      alert_reader.ForEachMap("exp_alerts", [&](MapReader& exp_reader, const YAML::Node&) {
        ExpectedAlert expected;
        // promtool adds alertname, which Prometheus adds during evaluation.
        auto labels = exp_reader.Labels("exp_labels");
        std::erase_if(labels, [](const auto& label) { return label.first == "alertname"; });
        labels.emplace_back("alertname", test.alertname);
        expected.labels = SortedPairs(std::move(labels));
        expected.annotations = SortedPairs(exp_reader.Labels("exp_annotations"));
        test.expected.push_back(std::move(expected));
      });
      group.alert_tests.push_back(std::move(test));
    });
    reader.ForEachMap("promql_expr_test", [&](MapReader& expr_reader, const YAML::Node& node) {
      ExprTest test;
      expr_reader.Read("expr", test.expr);
      if (test.expr.empty()) expr_reader.Fail(node, "expr", "every promql_expr_test needs an expr");
      expr_reader.Read("eval_time", test.eval_time);
      expr_reader.ForEachMap(
          "exp_samples", [&](MapReader& sample_reader, const YAML::Node& sample_node) {
            ExpectedSample sample;
            sample_reader.Read("labels", sample.labels_text);
            std::string value;
            sample_reader.Read("value", value);
            const auto number = ParseNumber(value);
            if (!number)
              sample_reader.Fail(sample_node, "value", fmt::format("'{}' is not a number", value));
            sample.value = *number;
            if (!sample.labels_text.empty()) {
              auto labels = ParseSeriesDescriptor(sample.labels_text);
              if (!labels.ok()) sample_reader.Fail(sample_node, "labels", labels.message());
              sample.labels = std::move(*labels);
            }
            test.expected.push_back(std::move(sample));
          });
      group.expr_tests.push_back(std::move(test));
    });
    file.tests.push_back(std::move(group));
  });
  top.Finish();
  const std::string base = std::filesystem::path(path).parent_path().string();
  std::vector<std::string> rule_files;
  for (const auto& pattern : file.rule_files) {
    for (auto& match : GlobFiles(base.empty() ? "." : base, pattern))
      rule_files.push_back(std::move(match));
  }
  file.rule_files = std::move(rule_files);
  return file;
}

std::string Indent(std::string_view text, std::string_view indent) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    out.push_back(text[i]);
    if (text[i] == '\n' && i + 1 < text.size()) out.append(indent);
  }
  return out;
}

// promtool's rendering of a list of alerts.
std::string AlertsString(const std::vector<ExpectedAlert>& alerts) {
  if (alerts.empty()) return "[]";
  std::string out = "[";
  for (size_t i = 0; i < alerts.size(); ++i) {
    out += fmt::format(
        "{}\n{}:{}", i == 0 ? "" : ",", i,
        Indent(fmt::format("\nLabels:{}\nAnnotations:{}", tsdb::LabelsString(alerts[i].labels),
                           tsdb::LabelsString(alerts[i].annotations)),
               "  "));
  }
  return out + "\n]";
}

std::string SamplesString(const std::vector<std::pair<tsdb::Labels, double>>& samples) {
  if (samples.empty()) return "nil";
  std::string out;
  for (const auto& [labels, value] : samples) {
    if (!out.empty()) out += ", ";
    // promtool writes strconv.FormatFloat(v, 'E', -1, 64).
    std::string number = promql::FormatScientific(value);
    if (std::isfinite(value)) std::replace(number.begin(), number.end(), 'e', 'E');
    out += fmt::format("{} {}", tsdb::LabelsString(labels), number);
  }
  return out;
}

bool SameValue(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// One `tests` entry: a fresh store with the input series, the rules evaluated from time 0 every
// evaluation_interval up to the last eval_time, alerts compared at their times and expressions
// afterwards.
std::vector<std::string> RunTestGroup(const TestFile& file, const TestGroup& test) {
  std::vector<std::string> errors;
  tsdb::Head head;
  for (const auto& series : test.input) {
    const tsdb::SeriesRef ref = head.GetOrCreate(series.labels);
    for (size_t i = 0; i < series.values.size(); ++i) {
      if (series.values[i])
        head.Append(ref, static_cast<int64_t>(i) * test.interval.count(), *series.values[i]);
    }
  }
  const promql::Engine engine(head);

  GroupOptions options;
  options.default_interval = file.evaluation_interval;
  options.external_labels = test.external_labels;
  options.external_url = test.external_url;
  std::vector<std::unique_ptr<RuleGroup>> groups;
  for (const auto& rule_file : file.rule_files) {
    try {
      for (auto& definition : LoadRuleFile(rule_file)) {
        groups.push_back(std::make_unique<RuleGroup>(std::move(definition), options));
      }
    } catch (const ConfigError& e) {
      return {e.what()};
    }
  }
  const auto rank = [&](const RuleGroup& group) {
    const auto& order = file.group_eval_order;
    return std::find(order.begin(), order.end(), group.definition().name) - order.begin();
  };
  std::stable_sort(groups.begin(), groups.end(),
                   [&](const auto& a, const auto& b) { return rank(*a) < rank(*b); });

  std::map<int64_t, std::vector<const AlertTest*>> alert_tests;  // by eval time
  int64_t max_eval = 0;
  for (const auto& alert_test : test.alert_tests) {
    alert_tests[alert_test.eval_time.count()].push_back(&alert_test);
    max_eval = std::max<int64_t>(max_eval, alert_test.eval_time.count());
  }
  for (const auto& expr_test : test.expr_tests)
    max_eval = std::max<int64_t>(max_eval, expr_test.eval_time.count());

  const std::string name_line = test.name.empty() ? "" : fmt::format("    name: {},\n", test.name);
  const int64_t step = file.evaluation_interval.count();
  auto next_alert_test = alert_tests.begin();
  for (int64_t t = 0; t <= max_eval; t += step) {
    std::vector<std::string> eval_errors;
    for (auto& group : groups) {
      group->Eval(engine, head, t);
      for (const auto& rule : group->Status().rules) {
        if (!rule.last_error.empty()) {
          eval_errors.push_back(fmt::format("    rule: {}, time: {}, err: {}", rule.name,
                                            FormatDuration(std::chrono::milliseconds(t)),
                                            rule.last_error));
        }
      }
    }
    if (!eval_errors.empty()) {
      errors.insert(errors.end(), eval_errors.begin(), eval_errors.end());
      return errors;
    }
    // An eval_time between two evaluations is checked against the earlier one.
    for (; next_alert_test != alert_tests.end() && next_alert_test->first < t + step;
         ++next_alert_test) {
      for (const AlertTest* alert_test : next_alert_test->second) {
        std::vector<ExpectedAlert> got;
        for (const auto& group : groups) {
          for (const auto& alert : group->AlertsOf(alert_test->alertname)) {
            if (alert.state == AlertState::kFiring)
              got.push_back({alert.labels, alert.annotations});
          }
        }
        std::vector<ExpectedAlert> expected = alert_test->expected;
        std::sort(got.begin(), got.end());
        std::sort(expected.begin(), expected.end());
        if (got != expected) {
          errors.push_back(
              fmt::format("{}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                          name_line, alert_test->alertname, FormatDuration(alert_test->eval_time),
                          Indent(AlertsString(expected), "            "),
                          Indent(AlertsString(got), "            ")));
        }
      }
    }
  }

  for (const auto& expr_test : test.expr_tests) {
    const std::string where = fmt::format("    expr: \"{}\", time: {}", expr_test.expr,
                                          FormatDuration(expr_test.eval_time));
    auto expr = promql::Parse(expr_test.expr);
    if (!expr.ok()) {
      errors.push_back(fmt::format("{}, err: {}", where, expr.message()));
      continue;
    }
    auto result = engine.Instant(**expr, expr_test.eval_time.count());
    if (!result.ok()) {
      errors.push_back(fmt::format("{}, err: {}", where, result.message()));
      continue;
    }
    std::vector<std::pair<tsdb::Labels, double>> got, expected;
    if (result->type == promql::ValueType::kScalar) {
      got.emplace_back(tsdb::Labels{}, result->scalar);
    } else if (result->type == promql::ValueType::kInstantVector) {
      for (const auto& series : result->series) {
        if (!series.points.empty()) got.emplace_back(series.labels, series.points.back().value);
      }
    } else {
      errors.push_back(fmt::format("{}, err: rule result is not a vector or scalar", where));
      continue;
    }
    for (const auto& sample : expr_test.expected)
      expected.emplace_back(sample.labels, sample.value);
    const auto by_labels = [](const auto& a, const auto& b) { return a.first < b.first; };
    std::sort(got.begin(), got.end(), by_labels);
    std::sort(expected.begin(), expected.end(), by_labels);
    const bool same =
        got.size() == expected.size() &&
        std::equal(got.begin(), got.end(), expected.begin(), [](const auto& a, const auto& b) {
          return a.first == b.first && SameValue(a.second, b.second);
        });
    if (!same) {
      errors.push_back(fmt::format("{},\n        exp: {}\n        got: {}", where,
                                   SamplesString(expected), SamplesString(got)));
    }
  }
  return errors;
}

}  // namespace

StatusOr<std::vector<std::optional<double>>> ParseSeriesValues(std::string_view text) {
  std::vector<std::optional<double>> out;
  std::vector<std::string_view> tokens;
  text::SplitFields(text, tokens);
  for (const std::string_view token : tokens) {
    const auto bad = [&](std::string_view why) {
      return Status::Error(fmt::format("bad series value '{}': {}", token, why));
    };
    if (token == "_") {
      out.emplace_back();
      continue;
    }
    if (token == "stale") {
      out.emplace_back(tsdb::StaleNaN());
      continue;
    }
    const size_t times = token.rfind('x');
    if (times == std::string_view::npos) {
      const auto value = ParseNumber(token);
      if (!value) return bad("not a number");
      out.emplace_back(*value);
      continue;
    }
    const auto count = text::ParseUint64(token.substr(times + 1));
    if (!count || *count > 1'000'000) return bad("expected a repetition count after 'x'");
    const std::string_view start_and_step = token.substr(0, times);
    if (start_and_step == "_") {
      out.insert(out.end(), *count, std::nullopt);  // "_xN" is N omitted samples, "1xN" N+1 values
      continue;
    }
    // The step's sign: the first + or - after the start, not an exponent's.
    size_t sign = std::string_view::npos;
    for (size_t i = 1; i < start_and_step.size(); ++i) {
      const char c = start_and_step[i];
      if ((c == '+' || c == '-') && start_and_step[i - 1] != 'e' && start_and_step[i - 1] != 'E') {
        sign = i;
        break;
      }
    }
    const auto start = ParseNumber(start_and_step.substr(0, sign));
    const auto increment = sign == std::string_view::npos
                               ? std::optional<double>(0)
                               : ParseNumber(start_and_step.substr(sign));
    if (!start || !increment) return bad("expected START+STEPxCOUNT");
    double value = *start;
    for (uint64_t i = 0; i <= *count; ++i) {
      out.emplace_back(value);
      value += *increment;  // by repeated addition, as promtool, so that rounding agrees
    }
  }
  return out;
}

int CheckRuleFiles(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  int status = 0;
  for (const auto& file : files) {
    out << "Checking " << file << "\n";
    try {
      size_t rules = 0;
      for (const auto& group : LoadRuleFile(file)) rules += group.rules.size();
      out << "  SUCCESS: " << rules << " rules found\n";
    } catch (const ConfigError& e) {
      err << "  FAILED:\n" << e.what() << "\n";
      status = 1;
    }
    out << "\n";
  }
  return status;
}

int TestRuleFiles(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  int status = 0;
  for (const auto& path : files) {
    out << "Unit Testing:  " << path << "\n";
    std::vector<std::string> errors;
    try {
      const TestFile file = ReadTestFile(path);
      for (const auto& test : file.tests) {
        auto group_errors = RunTestGroup(file, test);
        errors.insert(errors.end(), group_errors.begin(), group_errors.end());
      }
    } catch (const ConfigError& e) {
      errors.push_back(e.what());
    }
    if (errors.empty()) {
      out << "  SUCCESS\n";
    } else {
      err << "  FAILED:\n";
      for (const auto& error : errors) err << error << "\n\n";
      status = 1;
    }
    out << "\n";
  }
  return status;
}

}  // namespace mingus::collector::rules
