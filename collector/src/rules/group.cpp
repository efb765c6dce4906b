#include "mingus/collector/rules/group.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "mingus/collector/promql/parser.h"
#include "mingus/collector/tsdb/xor_chunk.h"

namespace mingus::collector::rules {

namespace {

// How long a resolved alert stays in the active set, so that its resolution is sent again
// if a notification is lost (Prometheus' resolvedRetention).
constexpr int64_t kResolvedRetentionMs = 15 * 60 * 1000;

// An instant query's result as a vector; a scalar becomes one sample without labels.
StatusOr<std::vector<TemplateSample>> InstantVector(const promql::Engine& engine,
                                                    const promql::Expr& expr, int64_t t_ms) {
  auto result = engine.Instant(expr, t_ms);
  if (!result.ok()) return result.status();
  std::vector<TemplateSample> out;
  if (result->type == promql::ValueType::kScalar) {
    out.push_back({{}, result->scalar});
    return out;
  }
  if (result->type != promql::ValueType::kInstantVector) {
    return mingus::Status::Error("rule result is not a vector or scalar");
  }
  out.reserve(result->series.size());
  for (auto& series : result->series) {
    if (series.points.empty()) continue;
    out.push_back({std::move(series.labels), series.points.back().value});
  }
  return out;
}

void SetLabel(tsdb::Labels& labels, std::string_view name, std::string value) {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const auto& label, std::string_view n) { return label.first < n; });
  if (it != labels.end() && it->first == name) {
    if (value.empty()) {
      labels.erase(it);
    } else {
      it->second = std::move(value);
    }
  } else if (!value.empty()) {
    labels.emplace(it, std::string(name), std::move(value));
  }
}

tsdb::Labels RawPairs(const std::vector<TemplatedPair>& pairs) {
  tsdb::Labels out;
  for (const auto& pair : pairs) out.emplace_back(pair.name, pair.text);
  return out;
}

}  // namespace

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "inactive";
}

RuleGroup::RuleGroup(GroupDefinition definition, const GroupOptions& options)
    : definition_(std::move(definition)),
      options_(options),
      key_(definition_.file + ";" + definition_.name),
      interval_(definition_.interval.count() > 0 ? definition_.interval
                                                 : options.default_interval) {
  for (const auto& rule : definition_.rules)
    rules_.push_back(RuleState{rule, {}, {}, {}, false, 0, 0});
}

mingus::Status RuleGroup::EvalRecording(const promql::Engine& engine, RuleState& rule, int64_t t_ms,
                                        std::vector<OutputSample>& out) const {
  auto vector = InstantVector(engine, *rule.definition.expr, t_ms);
  if (!vector.ok()) return vector.status();
  std::set<tsdb::Labels> seen;
  for (auto& sample : *vector) {
    SetLabel(sample.labels, "__name__", rule.definition.name);
    for (const auto& label : rule.definition.labels)
      SetLabel(sample.labels, label.name, label.text);
    if (!seen.insert(sample.labels).second) {
      return mingus::Status::Error(
          "vector contains metrics with the same labelset after applying rule labels");
    }
    out.push_back({std::move(sample.labels), sample.value});
  }
  if (definition_.limit > 0 && static_cast<int64_t>(out.size()) > definition_.limit) {
    const size_t count = out.size();
    out.clear();
    return mingus::Status::Error(
        fmt::format("exceeded limit of {} with {} series", definition_.limit, count));
  }
  return OkStatus();
}

mingus::Status RuleGroup::EvalAlerting(const promql::Engine& engine, RuleState& rule, int64_t t_ms,
                                       std::vector<OutputSample>& out) {
  const RuleDefinition& definition = rule.definition;
  auto vector = InstantVector(engine, *definition.expr, t_ms);
  if (!vector.ok()) return vector.status();

  TemplateData data{nullptr, &options_.external_labels, options_.external_url, 0, nullptr};
  data.query = [&engine, t_ms](std::string_view query) -> StatusOr<std::vector<TemplateSample>> {
    auto expr = promql::Parse(query);
    if (!expr.ok()) return expr.status();
    return InstantVector(engine, **expr, t_ms);
  };
  // A template that fails at run time gives an explanatory value, not a failed rule, as in
  // Prometheus.
  const auto expand = [&](const TemplatedPair& pair) {
    auto text = pair.value->Execute(data);
    if (text.ok()) return std::move(*text);
    spdlog::warn("rule {}: expanding {}: {}", definition.name, pair.name, text.message());
    return fmt::format("<error expanding template: {}>", text.message());
  };

  std::map<tsdb::Labels, Alert> current;
  for (auto& sample : *vector) {
    data.labels = &sample.labels;
    data.value = sample.value;
    Alert alert;
    alert.labels = sample.labels;
    SetLabel(alert.labels, "__name__", "");
    for (const auto& label : definition.labels) SetLabel(alert.labels, label.name, expand(label));
    SetLabel(alert.labels, "alertname", definition.name);
    for (const auto& annotation : definition.annotations) {
      alert.annotations.emplace_back(annotation.name, expand(annotation));
    }
    alert.value = sample.value;
    alert.active_at_ms = t_ms;
    tsdb::Labels key = alert.labels;
    if (!current.emplace(std::move(key), std::move(alert)).second) {
      return mingus::Status::Error(
          "vector contains metrics with the same labelset after applying alert labels");
    }
  }

  for (auto& [labels, alert] : current) {
    auto it = rule.active.find(labels);
    if (it != rule.active.end() && it->second.state != AlertState::kInactive) {
      it->second.value = alert.value;
      it->second.annotations = std::move(alert.annotations);
      continue;
    }
    rule.active.insert_or_assign(labels, std::move(alert));
    alerts_changed_ = true;
  }

  size_t active = 0;
  for (auto it = rule.active.begin(); it != rule.active.end();) {
    Alert& alert = it->second;
    if (!current.contains(it->first)) {
      if (alert.state == AlertState::kPending ||
          (alert.resolved_at_ms != kNever && t_ms - alert.resolved_at_ms > kResolvedRetentionMs)) {
        it = rule.active.erase(it);
        alerts_changed_ = true;
        continue;
      }
      if (alert.state != AlertState::kInactive) {
        alert.state = AlertState::kInactive;
        alert.resolved_at_ms = t_ms;
        alerts_changed_ = true;
      }
      ++it;
      continue;
    }
    ++active;
    if (alert.state == AlertState::kPending &&
        t_ms - alert.active_at_ms >= definition.for_duration.count()) {
      alert.state = AlertState::kFiring;
      alert.fired_at_ms = t_ms;
      alerts_changed_ = true;
    }
    tsdb::Labels series = alert.labels;
    SetLabel(series, "alertstate", std::string(AlertStateName(alert.state)));
    SetLabel(series, "__name__", "ALERTS");
    out.push_back({std::move(series), 1});
    series = alert.labels;
    SetLabel(series, "__name__", "ALERTS_FOR_STATE");
    out.push_back({std::move(series), static_cast<double>(alert.active_at_ms / 1000)});
    ++it;
  }
  if (definition_.limit > 0 && static_cast<int64_t>(active) > definition_.limit) {
    rule.active.clear();
    out.clear();
    alerts_changed_ = true;
    return mingus::Status::Error(
        fmt::format("exceeded limit of {} with {} alerts", definition_.limit, active));
  }
  return OkStatus();
}

void RuleGroup::CollectAlertsToSend(RuleState& rule, int64_t t_ms,
                                    std::vector<AlertToSend>& out) const {
  const int64_t resend = options_.resend_delay.count();
  for (auto& [labels, alert] : rule.active) {
    if (alert.state == AlertState::kPending) continue;
    const bool resolved_since_sent = alert.resolved_at_ms > alert.last_sent_at_ms;
    const bool resend_due =
        alert.last_sent_at_ms == kNever || alert.last_sent_at_ms + resend < t_ms;
    if (!resolved_since_sent && !resend_due) continue;
    alert.last_sent_at_ms = t_ms;
    // Valid for four evaluations or resends, so that two lost ones do not resolve it.
    alert.valid_until_ms = t_ms + 4 * std::max(resend, interval_.count());
    out.push_back({alert, rule.definition.expr_text});
  }
}

EvalOutcome RuleGroup::Eval(const promql::Engine& engine, tsdb::Head& head, int64_t t_ms) {
  std::lock_guard lock(mutex_);
  const auto group_start = std::chrono::steady_clock::now();
  EvalOutcome outcome;
  std::vector<OutputSample> samples;
  for (RuleState& rule : rules_) {
    const auto start = std::chrono::steady_clock::now();
    samples.clear();
    const bool alerting = rule.definition.kind == RuleDefinition::Kind::kAlerting;
    const mingus::Status status = alerting ? EvalAlerting(engine, rule, t_ms, samples)
                                           : EvalRecording(engine, rule, t_ms, samples);
    rule.evaluated = true;
    rule.last_evaluation_ms = t_ms;
    if (!status.ok()) {
      if (rule.last_error != status.message()) {
        spdlog::warn("rule group {}: evaluating {} failed: {}", definition_.name,
                     rule.definition.name, status.message());
      }
      rule.last_error = status.message();
      ++outcome.failed_rules;
    } else {
      rule.last_error.clear();
      if (alerting) CollectAlertsToSend(rule, t_ms, outcome.alerts_to_send);
      std::set<tsdb::SeriesRef> written;
      for (const auto& sample : samples) {
        const tsdb::SeriesRef ref = head.GetOrCreate(sample.labels);
        head.Append(ref, t_ms, sample.value);
        written.insert(ref);
      }
      for (const tsdb::SeriesRef ref : rule.written) {
        if (!written.contains(ref)) head.Append(ref, t_ms, tsdb::StaleNaN());
      }
      rule.written = std::move(written);
    }
    rule.evaluation_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  last_evaluation_ms_ = t_ms;
  evaluation_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - group_start).count();
  return outcome;
}

std::vector<Alert> RuleGroup::AlertsOf(std::string_view rule_name) const {
  std::lock_guard lock(mutex_);
  std::vector<Alert> out;
  for (const auto& rule : rules_) {
    if (rule.definition.name != rule_name) continue;
    for (const auto& [labels, alert] : rule.active) out.push_back(alert);
  }
  return out;
}

std::multimap<std::string, Alert> RuleGroup::AllAlerts() const {
  std::lock_guard lock(mutex_);
  std::multimap<std::string, Alert> out;
  for (const auto& rule : rules_) {
    for (const auto& [labels, alert] : rule.active) out.emplace(rule.definition.name, alert);
  }
  return out;
}

void RuleGroup::CopyStateFrom(const RuleGroup& previous) {
  std::scoped_lock lock(mutex_, previous.mutex_);
  for (RuleState& rule : rules_) {
    for (const RuleState& old : previous.rules_) {
      if (old.definition.name == rule.definition.name &&
          old.definition.expr_text == rule.definition.expr_text &&
          old.definition.kind == rule.definition.kind) {
        rule.active = old.active;
        rule.written = old.written;
        break;
      }
    }
  }
  last_evaluation_ms_ = previous.last_evaluation_ms_;
}

void RuleGroup::Restore(const std::multimap<std::string, Alert>& alerts_by_rule) {
  std::lock_guard lock(mutex_);
  for (RuleState& rule : rules_) {
    if (rule.definition.kind != RuleDefinition::Kind::kAlerting) continue;
    auto [begin, end] = alerts_by_rule.equal_range(rule.definition.name);
    for (auto it = begin; it != end; ++it) rule.active.emplace(it->second.labels, it->second);
  }
}

bool RuleGroup::TakeAlertsChanged() {
  std::lock_guard lock(mutex_);
  return std::exchange(alerts_changed_, false);
}

double RuleGroup::evaluation_seconds() const {
  std::lock_guard lock(mutex_);
  return evaluation_seconds_;
}

GroupStatus RuleGroup::Status() const {
  std::lock_guard lock(mutex_);
  GroupStatus out{definition_.file,    definition_.name,    interval_, definition_.limit,
                  last_evaluation_ms_, evaluation_seconds_, {}};
  for (const RuleState& rule : rules_) {
    RuleStatus status;
    status.kind = rule.definition.kind;
    status.name = rule.definition.name;
    status.query = rule.definition.expr_text;
    status.for_duration = rule.definition.for_duration;
    status.labels = RawPairs(rule.definition.labels);
    status.annotations = RawPairs(rule.definition.annotations);
    status.health = !rule.evaluated ? "unknown" : rule.last_error.empty() ? "ok" : "err";
    status.last_error = rule.last_error;
    status.last_evaluation_ms = rule.last_evaluation_ms;
    status.evaluation_seconds = rule.evaluation_seconds;
    for (const auto& [labels, alert] : rule.active) status.alerts.push_back(alert);
    out.rules.push_back(std::move(status));
  }
  return out;
}

}  // namespace mingus::collector::rules
