#include "mingus/collector/rules/manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "mingus/common/hyperloglog.h"

namespace mingus::collector::rules {

namespace {

// Saved alert state older than this is not restored: after a long outage a `for` clock
// starts again (Prometheus' rules.alert.for-outage-tolerance).
constexpr int64_t kOutageToleranceMs = 60 * 60 * 1000;

}  // namespace

RuleManager::RuleManager(tsdb::Head& head, const promql::Engine& engine, const Clock& clock,
                         prometheus::Registry& registry)
    : head_(head),
      engine_(engine),
      clock_(clock),
      clock_steps_(clock),
      evaluations_(prometheus::BuildCounter()
                       .Name("mingus_collector_rule_group_evaluations_total")
                       .Help("Evaluations of each rule group.")
                       .Register(registry)),
      failures_(prometheus::BuildCounter()
                    .Name("mingus_collector_rule_evaluation_failures_total")
                    .Help("Rule evaluations that failed, by rule group.")
                    .Register(registry)),
      last_duration_(prometheus::BuildGauge()
                         .Name("mingus_collector_rule_group_last_duration_seconds")
                         .Help("How long the last evaluation of each rule group took.")
                         .Register(registry)) {}

void RuleManager::UseStore(std::unique_ptr<AlertStore> store) {
  auto saved = store->Load();
  std::lock_guard lock(mutex_);
  if (saved.ok()) {
    saved_ = std::move(*saved);
  } else {
    spdlog::error("reading saved alert state: {}", saved.message());
  }
  store_ = std::move(store);
}

RuleManager::~RuleManager() { Stop(); }

int64_t RuleManager::FirstEvaluation(const RuleGroup& group) const {
  const int64_t interval = std::max<int64_t>(group.interval().count(), 1);
  const auto offset =
      static_cast<int64_t>(StableHash64(group.key()) % static_cast<uint64_t>(interval));
  const int64_t now = UnixMillis(clock_);
  const int64_t base = now - ((now - offset) % interval + interval) % interval;  // the last slot
  return base + interval;
}

void RuleManager::Apply(std::vector<GroupDefinition> definitions, const GroupOptions& options) {
  std::vector<Scheduled> next;
  std::set<std::string> keys;
  const int64_t now = UnixMillis(clock_);
  {
    std::lock_guard lock(mutex_);
    for (auto& definition : definitions) {
      auto group = std::make_shared<RuleGroup>(std::move(definition), options);
      keys.insert(group->key());
      const auto previous = std::find_if(groups_.begin(), groups_.end(), [&](const Scheduled& s) {
        return s.group->key() == group->key();
      });
      if (previous != groups_.end()) {
        group->CopyStateFrom(*previous->group);
      } else if (auto saved = saved_.find(group->key()); saved != saved_.end()) {
        if (now - saved->second.last_evaluation_ms <= kOutageToleranceMs) {
          group->Restore(saved->second.alerts_by_rule);
        } else {
          spdlog::info(
              "rule group {}: saved alert state is older than the outage tolerance; not restored",
              group->definition().name);
        }
        saved_.erase(saved);
      }
      const bool same_interval =
          previous != groups_.end() && previous->group->interval() == group->interval();
      next.push_back({group, same_interval ? previous->next_ms : FirstEvaluation(*group)});
    }
    for (const auto& old : groups_) {
      if (!keys.contains(old.group->key()) && store_) {
        if (Status status = store_->Forget(old.group->key()); !status.ok()) {
          spdlog::error("forgetting alert state of {}: {}", old.group->key(), status.message());
        }
      }
    }
    groups_ = std::move(next);
  }
  wake_.notify_all();
}

void RuleManager::SetAlertSink(AlertSink sink) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
}

void RuleManager::WaitForFreshData(FreshDataGate gate) {
  std::lock_guard lock(mutex_);
  fresh_data_ = std::move(gate);
}

void RuleManager::Start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  if (fresh_data_) fresh_data_->Close(UnixMillis(clock_));
  thread_ = std::thread([this] { Loop(); });
}

void RuleManager::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RuleManager::EvalGroup(RuleGroup& group, int64_t t_ms) {
  EvalOutcome outcome = group.Eval(engine_, head_, t_ms);
  const prometheus::Labels labels{{"rule_group", group.key()}};
  evaluations_.Add(labels).Increment();
  failures_.Add(labels).Increment(outcome.failed_rules);
  last_duration_.Add(labels).Set(group.evaluation_seconds());
  if (store_) {
    const bool changed = group.TakeAlertsChanged();
    const auto alerts = changed ? group.AllAlerts() : std::multimap<std::string, Alert>{};
    if (Status status = store_->Save(group.key(), t_ms, changed ? &alerts : nullptr);
        !status.ok()) {
      spdlog::error("saving alert state of {}: {}", group.key(), status.message());
    }
  }
  AlertSink sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
  }
  if (sink && !outcome.alerts_to_send.empty()) sink(group.key(), std::move(outcome.alerts_to_send));
}

void RuleManager::EvaluateAllAt(int64_t t_ms) {
  std::vector<std::shared_ptr<RuleGroup>> groups;
  {
    std::lock_guard lock(mutex_);
    for (const auto& scheduled : groups_) groups.push_back(scheduled.group);
  }
  for (const auto& group : groups) EvalGroup(*group, t_ms);
}

void RuleManager::FollowClockStepLocked(int64_t now) {
  const int64_t step = clock_steps_.TakeStepMs();
  if (step == 0) return;
  spdlog::warn("the wall clock stepped by {} ms: rule evaluations follow it{}", step,
               fresh_data_ ? " and wait for fresh scrapes" : "");
  for (auto& scheduled : groups_) scheduled.next_ms += step;
  if (fresh_data_) fresh_data_->Close(now);
}

void RuleManager::Loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const int64_t now = UnixMillis(clock_);
    FollowClockStepLocked(now);
    auto due = std::min_element(
        groups_.begin(), groups_.end(),
        [](const Scheduled& a, const Scheduled& b) { return a.next_ms < b.next_ms; });
    if (due == groups_.end() || due->next_ms > now) {
      const int64_t wait = due == groups_.end() ? 60'000 : due->next_ms - now;
      wake_.wait_for(lock, std::chrono::milliseconds(wait));
      continue;
    }
    const int64_t t_ms = due->next_ms;
    const int64_t interval = std::max<int64_t>(due->group->interval().count(), 1);
    // Keep the phase; turns missed while busy are skipped, as in Prometheus.
    due->next_ms += interval * ((now - t_ms) / interval + 1);
    if (fresh_data_ && !fresh_data_->Admits(t_ms, now)) continue;
    std::shared_ptr<RuleGroup> group = due->group;
    lock.unlock();
    EvalGroup(*group, t_ms);
    lock.lock();
  }
}

std::vector<GroupStatus> RuleManager::Groups() const {
  std::vector<std::shared_ptr<RuleGroup>> groups;
  {
    std::lock_guard lock(mutex_);
    for (const auto& scheduled : groups_) groups.push_back(scheduled.group);
  }
  std::vector<GroupStatus> out;
  out.reserve(groups.size());
  for (const auto& group : groups) out.push_back(group->Status());
  return out;
}

}  // namespace mingus::collector::rules
