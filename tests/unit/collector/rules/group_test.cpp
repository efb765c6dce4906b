#include "mingus/collector/rules/group.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "mingus/collector/rules/alert_store.h"
#include "temp_dir.h"

namespace mingus::collector::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kMinute = 60'000;

// Rules evaluated by hand at chosen times over a head filled by the test.
class RuleGroupTest : public ::testing::Test {
 protected:
  RuleGroup Group(const std::string& rules_yaml, GroupOptions options = {}) {
    auto groups = ParseRuleFile("groups:\n- name: g\n  rules:\n" + rules_yaml, "test.yml");
    return RuleGroup(std::move(groups.at(0)), options);
  }
  void Set(const std::string& name, const std::string& job, int64_t t, double value) {
    const auto ref = head_.GetOrCreate(*tsdb::MakeLabels({{"__name__", name}, {"job", job}}));
    head_.Append(ref, t, value);
  }
  // The samples of every series named `name` at exactly t, in label order.
  std::vector<std::pair<tsdb::Labels, double>> At(const std::string& name, int64_t t) const {
    std::vector<std::pair<tsdb::Labels, double>> out;
    for (const auto ref :
         head_.Select({*tsdb::Matcher::Make(tsdb::Matcher::Op::kEqual, "__name__", name)})) {
      for (const auto& sample : head_.Samples(ref, t, t))
        out.emplace_back(head_.LabelsOf(ref), sample.value);
    }
    return out;
  }
  static tsdb::Labels L(std::vector<std::pair<std::string, std::string>> pairs) {
    return *tsdb::MakeLabels(std::move(pairs));
  }

  tsdb::Head head_;
  promql::Engine engine_{head_};
};

constexpr const char* kDownRule = R"(  - alert: Down
    expr: up == 0
    for: 5m
    labels: {severity: critical}
    annotations: {summary: "{{ $labels.job }} is down"}
)";

TEST_F(RuleGroupTest, AlertGoesPendingThenFiringThenResolved) {
  RuleGroup group = Group(kDownRule);
  for (int64_t t = 0; t <= 6 * kMinute; t += kMinute) Set("up", "api", t, t < 6 * kMinute ? 0 : 1);

  EXPECT_THAT(group.Eval(engine_, head_, 0).alerts_to_send, IsEmpty());  // pending is not sent
  auto alerts = group.AlertsOf("Down");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state, AlertState::kPending);
  EXPECT_EQ(alerts[0].labels, L({{"alertname", "Down"}, {"job", "api"}, {"severity", "critical"}}));
  EXPECT_EQ(alerts[0].annotations, L({{"summary", "api is down"}}));
  const tsdb::Labels pending = L({{"__name__", "ALERTS"},
                                  {"alertname", "Down"},
                                  {"alertstate", "pending"},
                                  {"job", "api"},
                                  {"severity", "critical"}});
  EXPECT_THAT(At("ALERTS", 0), ElementsAre(std::pair{pending, 1.0}));
  EXPECT_EQ(At("ALERTS_FOR_STATE", 0).at(0).second, 0);

  group.Eval(engine_, head_, 4 * kMinute);
  EXPECT_EQ(group.AlertsOf("Down")[0].state, AlertState::kPending);  // 4m < for 5m

  auto sent = group.Eval(engine_, head_, 5 * kMinute).alerts_to_send;
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].alert.state, AlertState::kFiring);
  EXPECT_EQ(sent[0].alert.active_at_ms, 0);
  EXPECT_EQ(sent[0].alert.fired_at_ms, 5 * kMinute);
  EXPECT_EQ(sent[0].expr, "up == 0");
  // The pending series went stale when the firing one appeared ("firing" sorts first).
  const auto at_five = At("ALERTS", 5 * kMinute);
  ASSERT_EQ(at_five.size(), 2u);
  EXPECT_EQ(at_five[0].first.at(2), (std::pair<std::string, std::string>{"alertstate", "firing"}));
  EXPECT_EQ(at_five[0].second, 1);
  EXPECT_TRUE(tsdb::IsStaleNaN(at_five[1].second));

  sent = group.Eval(engine_, head_, 6 * kMinute).alerts_to_send;
  ASSERT_EQ(sent.size(), 1u);  // the resolution is sent at once, not after the resend delay
  EXPECT_EQ(sent[0].alert.state, AlertState::kInactive);
  EXPECT_EQ(sent[0].alert.resolved_at_ms, 6 * kMinute);
  const auto at_six = At("ALERTS", 6 * kMinute);
  ASSERT_EQ(at_six.size(), 1u);
  EXPECT_TRUE(tsdb::IsStaleNaN(at_six[0].second));
}

TEST_F(RuleGroupTest, FiringAlertIsResentEveryResendDelayAndResolvedOnesKeptFifteenMinutes) {
  RuleGroup group = Group(R"(  - alert: Down
    expr: up == 0
)");
  for (int64_t t = 0; t <= 30 * kMinute; t += kMinute / 2)
    Set("up", "api", t, t < 3 * kMinute ? 0 : 1);
  EXPECT_EQ(group.Eval(engine_, head_, 0).alerts_to_send.size(), 1u);  // for 0: fires at once
  EXPECT_THAT(group.Eval(engine_, head_, kMinute / 2).alerts_to_send, IsEmpty());
  EXPECT_THAT(group.Eval(engine_, head_, kMinute).alerts_to_send,
              IsEmpty());  // exactly 1m: not yet
  EXPECT_EQ(group.Eval(engine_, head_, kMinute + kMinute / 2).alerts_to_send.size(), 1u);
  EXPECT_EQ(group.Eval(engine_, head_, 3 * kMinute).alerts_to_send.size(), 1u);  // resolved
  EXPECT_EQ(group.AlertsOf("Down").size(), 1u);
  group.Eval(engine_, head_, 18 * kMinute);  // exactly 15m after: kept
  EXPECT_EQ(group.AlertsOf("Down").size(), 1u);
  group.Eval(engine_, head_, 18 * kMinute + 1);
  EXPECT_THAT(group.AlertsOf("Down"), IsEmpty());
}

TEST_F(RuleGroupTest, PendingAlertThatClearsIsForgottenAndStartsAgain) {
  RuleGroup group = Group(kDownRule);
  Set("up", "api", 0, 0);
  Set("up", "api", kMinute, 1);
  Set("up", "api", 2 * kMinute, 0);
  group.Eval(engine_, head_, 0);
  group.Eval(engine_, head_, kMinute);
  EXPECT_THAT(group.AlertsOf("Down"), IsEmpty());
  group.Eval(engine_, head_, 2 * kMinute);
  EXPECT_EQ(group.AlertsOf("Down").at(0).active_at_ms, 2 * kMinute);
}

TEST_F(RuleGroupTest, RecordingRulesFeedLaterRulesAtTheSameTime) {
  RuleGroup group = Group(R"(  - record: job:up:sum
    expr: sum by (job) (up)
    labels: {source: rule}
  - alert: FewUp
    expr: job:up:sum < 2
)");
  Set("up", "api", 0, 1);
  const auto outcome = group.Eval(engine_, head_, 0);
  EXPECT_EQ(outcome.failed_rules, 0);
  EXPECT_THAT(At("job:up:sum", 0),
              ElementsAre(std::pair{
                  L({{"__name__", "job:up:sum"}, {"job", "api"}, {"source", "rule"}}), 1.0}));
  EXPECT_EQ(group.AlertsOf("FewUp").size(), 1u);
}

TEST_F(RuleGroupTest, SeriesARuleStopsProducingGetAStalenessMarker) {
  RuleGroup group = Group(R"(  - record: up:copy
    expr: up
)");
  Set("up", "api", 0, 1);
  Set("up", "web", 0, 1);
  Set("up", "api", 10 * kMinute, 1);  // web is gone past the 5m lookback
  group.Eval(engine_, head_, 0);
  group.Eval(engine_, head_, 10 * kMinute);
  const auto at = At("up:copy", 10 * kMinute);
  ASSERT_EQ(at.size(), 2u);
  EXPECT_EQ(at[0].second, 1);
  EXPECT_TRUE(tsdb::IsStaleNaN(at[1].second));
}

TEST_F(RuleGroupTest, FailedRuleReportsItsErrorAndTheOthersRun) {
  RuleGroup group = Group(R"(  - alert: Clash
    expr: up
    labels: {job: same}
  - record: fine
    expr: vector(1)
)");
  Set("up", "api", 0, 1);
  Set("up", "web", 0, 1);
  const auto outcome = group.Eval(engine_, head_, 0);
  EXPECT_EQ(outcome.failed_rules, 1);
  const GroupStatus status = group.Status();
  EXPECT_EQ(status.rules[0].health, "err");
  EXPECT_EQ(status.rules[0].last_error,
            "vector contains metrics with the same labelset after applying alert labels");
  EXPECT_EQ(status.rules[1].health, "ok");
  EXPECT_EQ(At("fine", 0).size(), 1u);
}

TEST_F(RuleGroupTest, LimitRefusesARuleWithTooManyAlerts) {
  auto groups = ParseRuleFile(R"(groups:
- name: g
  limit: 1
  rules:
  - alert: Any
    expr: up
)",
                              "test.yml");
  RuleGroup group(std::move(groups.at(0)), {});
  Set("up", "api", 0, 1);
  Set("up", "web", 0, 1);
  group.Eval(engine_, head_, 0);
  EXPECT_EQ(group.Status().rules[0].last_error, "exceeded limit of 1 with 2 alerts");
  EXPECT_THAT(group.AlertsOf("Any"), IsEmpty());
}

TEST_F(RuleGroupTest, RestoredAlertKeepsItsForClockAndFiringState) {
  RuleGroup group = Group(kDownRule);
  Alert pending;
  pending.labels = L({{"alertname", "Down"}, {"job", "api"}, {"severity", "critical"}});
  pending.state = AlertState::kPending;
  pending.active_at_ms = 10 * kMinute;
  Alert firing = pending;
  firing.labels = L({{"alertname", "Down"}, {"job", "web"}, {"severity", "critical"}});
  firing.state = AlertState::kFiring;
  firing.active_at_ms = 0;
  firing.fired_at_ms = 5 * kMinute;
  firing.last_sent_at_ms = 12 * kMinute;
  group.Restore({{"Down", pending}, {"Down", firing}});

  Set("up", "api", 13 * kMinute, 0);  // web has recovered
  group.Eval(engine_, head_, 13 * kMinute);
  auto alerts = group.AlertsOf("Down");
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].state, AlertState::kPending);  // 3m of its 5m
  EXPECT_EQ(alerts[0].active_at_ms, 10 * kMinute);
  EXPECT_EQ(alerts[1].state, AlertState::kInactive);
  EXPECT_EQ(alerts[1].resolved_at_ms, 13 * kMinute);

  Set("up", "api", 15 * kMinute, 0);
  group.Eval(engine_, head_, 15 * kMinute);
  EXPECT_EQ(group.AlertsOf("Down")[0].state, AlertState::kFiring);
  EXPECT_EQ(group.AlertsOf("Down")[0].fired_at_ms, 15 * kMinute);
}

TEST_F(RuleGroupTest, ReloadKeepsStateOfUnchangedRulesOnly) {
  RuleGroup old_group = Group(kDownRule);
  Set("up", "api", 0, 0);
  old_group.Eval(engine_, head_, 0);
  RuleGroup same = Group(kDownRule);
  same.CopyStateFrom(old_group);
  EXPECT_EQ(same.AlertsOf("Down").size(), 1u);
  RuleGroup changed = Group(R"(  - alert: Down
    expr: up == 0 or up == 2
)");
  changed.CopyStateFrom(old_group);
  EXPECT_THAT(changed.AlertsOf("Down"), IsEmpty());
}

TEST(AlertStoreTest, SavedAlertsComeBackAfterReopen) {
  mingus::testing::TempDir dir("mingus-alerts");
  const std::string path = (dir.path() / "alerts.db").string();
  Alert alert;
  alert.labels = *tsdb::MakeLabels({{"alertname", "Down"}, {"job", "a \"quoted\"\njob"}});
  alert.annotations = *tsdb::MakeLabels({{"summary", "it is down"}});
  alert.state = AlertState::kFiring;
  alert.value = 0.25;
  alert.active_at_ms = 1000;
  alert.fired_at_ms = 2000;
  alert.last_sent_at_ms = 3000;
  alert.valid_until_ms = 4000;
  {
    auto store = AlertStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    const std::multimap<std::string, Alert> alerts{{"Down", alert}};
    ASSERT_TRUE((*store)->Save("f.yml;g", 5000, &alerts).ok());
    ASSERT_TRUE((*store)->Save("f.yml;g", 6000, nullptr).ok());  // time only, alerts kept
    ASSERT_TRUE((*store)->Save("f.yml;other", 6000, &alerts).ok());
    ASSERT_TRUE((*store)->Forget("f.yml;other").ok());
  }
  auto store = AlertStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto saved = (*store)->Load();
  ASSERT_TRUE(saved.ok()) << saved.message();
  ASSERT_EQ(saved->size(), 1u);
  const auto& group = saved->at("f.yml;g");
  EXPECT_EQ(group.last_evaluation_ms, 6000);
  ASSERT_EQ(group.alerts_by_rule.count("Down"), 1u);
  const Alert& back = group.alerts_by_rule.find("Down")->second;
  EXPECT_EQ(back.labels, alert.labels);
  EXPECT_EQ(back.annotations, alert.annotations);
  EXPECT_EQ(back.state, AlertState::kFiring);
  EXPECT_EQ(back.value, 0.25);
  EXPECT_EQ(back.active_at_ms, 1000);
  EXPECT_EQ(back.fired_at_ms, 2000);
  EXPECT_EQ(back.last_sent_at_ms, 3000);
  EXPECT_EQ(back.valid_until_ms, 4000);
}

}  // namespace
}  // namespace mingus::collector::rules
