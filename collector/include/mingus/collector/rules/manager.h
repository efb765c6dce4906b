#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mingus/collector/promql/engine.h"
#include "mingus/collector/rules/alert_store.h"
#include "mingus/collector/rules/fresh_data_gate.h"
#include "mingus/collector/rules/group.h"
#include "mingus/common/clock.h"

namespace mingus::collector::rules {

// Runs the rule groups on their intervals, each at a fixed phase within its interval derived
// from a hash of its key (as Prometheus), one group at a time on one thread; keeps alert state
// in alerts.db and hands alerts to the notifier.
class RuleManager {
 public:
  // Alerts to deliver now, from one evaluation of one group.
  using AlertSink =
      std::function<void(const std::string& group_key, std::vector<AlertToSend> alerts)>;

  RuleManager(tsdb::Head& head, const promql::Engine& engine, const Clock& clock,
              prometheus::Registry& registry);
  ~RuleManager();

  // Keeps alert state in `store` from now on, and restores what it holds into groups applied
  // after this call. Without a store nothing is persisted.
  void UseStore(std::unique_ptr<AlertStore> store);

  // Replaces the groups. A group with the same file and name keeps the alert state of its
  // unchanged rules; a group seen for the first time since start gets the state saved in
  // alerts.db, unless the collector was down longer than the outage tolerance.
  void Apply(std::vector<GroupDefinition> definitions, const GroupOptions& options);
  void SetAlertSink(AlertSink sink);
  // From Start() on, and after each step of the wall clock, evaluations wait for fresh
  // scrapes (see FreshDataGate). Without this they never wait.
  void WaitForFreshData(FreshDataGate gate);
  void Start();
  void Stop();

  std::vector<GroupStatus> Groups() const;

  // Evaluates every group at t now, outside the schedule (tests).
  void EvaluateAllAt(int64_t t_ms);

 private:
  struct Scheduled {
    std::shared_ptr<RuleGroup> group;
    int64_t next_ms = 0;
  };
  void Loop();
  // Moves the schedule with a step of the wall clock, so that a step back does not stop the
  // rules for its length, and closes the gate.
  void FollowClockStepLocked(int64_t now);
  void EvalGroup(RuleGroup& group, int64_t t_ms);
  int64_t FirstEvaluation(const RuleGroup& group) const;

  tsdb::Head& head_;
  const promql::Engine& engine_;
  const Clock& clock_;
  ClockStepWatch clock_steps_;
  std::optional<FreshDataGate> fresh_data_;
  std::unique_ptr<AlertStore> store_;
  std::map<std::string, AlertStore::SavedGroup> saved_;  // consumed as groups first appear
  prometheus::Family<prometheus::Counter>& evaluations_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Gauge>& last_duration_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Scheduled> groups_;
  AlertSink sink_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mingus::collector::rules
