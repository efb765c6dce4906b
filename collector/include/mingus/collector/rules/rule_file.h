#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mingus/collector/promql/ast.h"
#include "mingus/collector/rules/template.h"

// Prometheus rule files, read strictly: groups of alerting and recording rules. An unknown key,
// a bad expression or a template that does not parse is refused with the file, line and reason.
namespace mingus::collector::rules {

// A label or annotation whose value is a template, parsed once at load.
struct TemplatedPair {
  std::string name;
  std::string text;
  std::shared_ptr<const Template> value;
};

struct RuleDefinition {
  enum class Kind { kAlerting, kRecording };
  Kind kind = Kind::kAlerting;
  std::string name;  // the alert name, or the recorded metric name
  std::string expr_text;
  std::shared_ptr<const promql::Expr> expr;
  std::chrono::milliseconds for_duration{0};  // alerting only
  std::vector<TemplatedPair> labels;          // sorted by name
  std::vector<TemplatedPair> annotations;     // sorted by name; alerting only
  int line = 0;                               // where the rule starts, for messages
};

struct GroupDefinition {
  std::string file;
  std::string name;
  std::chrono::milliseconds interval{0};  // 0: the global evaluation_interval
  int64_t limit = 0;                      // 0: no limit on alerts or series per rule
  std::vector<RuleDefinition> rules;
};

// Reads one rule file; throws config::ConfigError ("FILE:LINE:COL: groups[0].rules[2].expr:
// REASON"). An empty file has no groups.
std::vector<GroupDefinition> LoadRuleFile(const std::string& path);
std::vector<GroupDefinition> ParseRuleFile(const std::string& yaml, const std::string& file_name);

// Expands the glob patterns (relative ones from base_directory) and reads every file, in
// pattern order and then name order; group names must be unique within a file.
std::vector<GroupDefinition> LoadRuleFiles(const std::vector<std::string>& patterns,
                                           const std::string& base_directory);

}  // namespace mingus::collector::rules
