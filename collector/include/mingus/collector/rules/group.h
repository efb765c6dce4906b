#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/promql/engine.h"
#include "mingus/collector/rules/rule_file.h"
#include "mingus/collector/tsdb/head.h"

// Rule evaluation with Prometheus' semantics (rules/alerting.go, rules/group.go of 2.42): each
// alert moves inactive -> pending -> firing and back, a resolved alert is kept 15 minutes so
// its resolution can be sent, ALERTS and ALERTS_FOR_STATE are written beside recorded series,
// and a series a rule stopped producing gets a staleness marker.
namespace mingus::collector::rules {

enum class AlertState { kInactive, kPending, kFiring };
std::string_view AlertStateName(AlertState state);  // "inactive", "pending", "firing"

// Alert times are Unix milliseconds; a time that has not happened yet is kNever.
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

struct Alert {
  tsdb::Labels labels;  // the sample's labels without __name__, the rule's labels, alertname
  tsdb::Labels annotations;
  AlertState state = AlertState::kPending;
  double value = 0;
  int64_t active_at_ms = 0;
  int64_t fired_at_ms = kNever;
  int64_t resolved_at_ms = kNever;  // kNever while active
  int64_t last_sent_at_ms = kNever;
  int64_t valid_until_ms = 0;
};

struct RuleStatus {
  RuleDefinition::Kind kind = RuleDefinition::Kind::kAlerting;
  std::string name;
  std::string query;
  std::chrono::milliseconds for_duration{0};
  tsdb::Labels labels;             // as written (templates unexpanded)
  tsdb::Labels annotations;        // as written
  std::string health = "unknown";  // unknown until evaluated, then ok or err
  std::string last_error;
  int64_t last_evaluation_ms = 0;
  double evaluation_seconds = 0;
  std::vector<Alert> alerts;  // pending, firing and recently resolved
};

struct GroupStatus {
  std::string file;
  std::string name;
  std::chrono::milliseconds interval{0};
  int64_t limit = 0;
  int64_t last_evaluation_ms = 0;
  double evaluation_seconds = 0;
  std::vector<RuleStatus> rules;
};

struct GroupOptions {
  std::chrono::milliseconds default_interval{15'000};  // global evaluation_interval
  tsdb::Labels external_labels;
  std::string external_url;
  // How often a still-firing alert is handed to the notifier again (Prometheus' resend delay).
  std::chrono::milliseconds resend_delay{60'000};
};

// An alert for the notifier, with its rule's expression (for the link back to it).
struct AlertToSend {
  Alert alert;
  std::string expr;
};

struct EvalOutcome {
  std::vector<AlertToSend>
      alerts_to_send;  // firing ones every resend delay, resolved ones once more
  int failed_rules = 0;
};

// One rule group. Thread-safe: Eval runs on the evaluator's thread while the API reads Status.
class RuleGroup {
 public:
  RuleGroup(GroupDefinition definition, const GroupOptions& options);

  // "FILE;NAME": identifies the group across reloads and restarts, as Prometheus' GroupKey.
  const std::string& key() const { return key_; }
  std::chrono::milliseconds interval() const { return interval_; }
  const GroupDefinition& definition() const { return definition_; }

  // Evaluates every rule at t in order (a rule sees what earlier rules of the group wrote at
  // t) and appends the results to `head`.
  EvalOutcome Eval(const promql::Engine& engine, tsdb::Head& head, int64_t t_ms);

  // The active alerts of one rule, and of all rules, for persistence and tests.
  std::vector<Alert> AlertsOf(std::string_view rule_name) const;
  // Carries alert state and staleness tracking over from the group this one replaces at a
  // reload: rules with the same name and expression keep their alerts.
  void CopyStateFrom(const RuleGroup& previous);
  // Restores alerts saved before a restart (keyed by rule name); called before the first Eval.
  void Restore(const std::multimap<std::string, Alert>& alerts_by_rule);
  // True (once) when alert state changed in a way worth persisting since the last call.
  bool TakeAlertsChanged();
  // Every rule's active alerts with the rule's name, for persistence.
  std::multimap<std::string, Alert> AllAlerts() const;

  GroupStatus Status() const;
  double evaluation_seconds() const;

 private:
  struct RuleState {
    RuleDefinition definition;
    std::map<tsdb::Labels, Alert> active;  // by alert labels
    std::set<tsdb::SeriesRef> written;     // series written at the last successful eval
    std::string last_error;
    bool evaluated = false;
    int64_t last_evaluation_ms = 0;
    double evaluation_seconds = 0;
  };
  struct OutputSample {
    tsdb::Labels labels;
    double value;
  };

  mingus::Status EvalRecording(const promql::Engine& engine, RuleState& rule, int64_t t_ms,
                               std::vector<OutputSample>& out) const;
  mingus::Status EvalAlerting(const promql::Engine& engine, RuleState& rule, int64_t t_ms,
                              std::vector<OutputSample>& out);
  void CollectAlertsToSend(RuleState& rule, int64_t t_ms, std::vector<AlertToSend>& out) const;

  GroupDefinition definition_;
  GroupOptions options_;
  std::string key_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::vector<RuleState> rules_;
  bool alerts_changed_ = false;
  int64_t last_evaluation_ms_ = 0;
  double evaluation_seconds_ = 0;
};

}  // namespace mingus::collector::rules
