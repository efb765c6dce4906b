#include "mingus/collector/notify/dispatcher.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/json.hpp>
#include <csignal>

#include "fake_clock.h"
#include "mingus/collector/notify/deliverer.h"
#include "temp_dir.h"

namespace mingus::collector::notify {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kConfig = R"(
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_by: [alertname, instance]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="high"']
    equal: [instance]
receivers:
  - name: team
    webhook_configs: [{url: "http://127.0.0.1:1/team"}]
  - name: pager
    webhook_configs: [{url: "http://127.0.0.1:1/pager", send_resolved: false}]
  - name: email-team
    webhook_configs: [{url: "http://127.0.0.1:1/email-team"}]
)";

// The dispatcher on a fake clock over a real alerts.db; what it decides shows in the outbox.
class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() { Open(); }
  void Open() {
    dispatcher_.reset();
    store_.reset();
    store_ = std::move(NotifyStore::Open((temp_.path() / "alerts.db").string()).value());
    LoadContext context;
    context.read_file = [](const std::string&) -> StatusOr<std::string> {
      return Status::Error("no files");
    };
    dispatcher_ =
        std::make_unique<Dispatcher>(ParseNotifyConfig(kConfig, "notify.yaml", context),
                                     DispatcherOptions{"http://collector:9190"}, clock_, *store_);
  }
  int64_t Now() const { return UnixMillis(clock_); }
  NotifyAlert Alert(const std::string& name, const std::string& instance,
                    const std::string& severity = "high", Labels annotations = {}) {
    NotifyAlert alert;
    alert.labels =
        *tsdb::MakeLabels({{"alertname", name}, {"instance", instance}, {"severity", severity}});
    alert.annotations = std::move(annotations);
    alert.starts_at_ms = Now();
    // Valid for ten minutes (Prometheus: four resend delays), so that alerts made before a
    // Step's advance are still firing after it.
    alert.ends_at_ms = Now() + 10 * 60'000;
    return alert;
  }
  NotifyAlert Resolved(NotifyAlert alert) {
    alert.ends_at_ms = Now();
    return alert;
  }
  // Puts the alerts again (as the evaluator does every minute), advances, flushes.
  void Step(std::chrono::system_clock::duration by, const std::vector<NotifyAlert>& alerts = {}) {
    clock_.Advance(by);
    if (!alerts.empty()) dispatcher_->Put(alerts);
    dispatcher_->Flush();
  }
  // The outbox since the last call: "receiver: status alertname/instance ...".
  std::vector<std::string> Sent() {
    std::vector<std::string> out;
    const auto outbox = store_->Outbox();
    for (const auto& entry : *outbox) {
      if (entry.id <= last_seen_) continue;
      last_seen_ = entry.id;
      const auto notification = NotificationFromJson(entry.notification);
      std::string line = entry.receiver + ":";
      for (const auto& alert : notification->alerts) {
        line += fmt::format(" {}{}/{}", alert.ResolvedAt(notification->at_ms) ? "-" : "+",
                            LabelValue(alert.labels, "alertname"),
                            LabelValue(alert.labels, "instance"));
      }
      out.push_back(line);
    }
    return out;
  }

  mingus::testing::TempDir temp_{"mingus-dispatcher"};
  mingus::testing::FakeClock clock_;
  std::unique_ptr<NotifyStore> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
  int64_t last_seen_ = 0;
};

TEST_F(DispatcherTest, GroupWaitsThenNotifiesAtGroupIntervalsOnlyWhenSomethingChanged) {
  const auto a = Alert("Slow", "a:1"), b = Alert("Slow", "b:1");
  Step(seconds(0), {a});
  EXPECT_THAT(Sent(), IsEmpty());  // group_wait
  Step(seconds(29), {a});
  EXPECT_THAT(Sent(), IsEmpty());
  Step(seconds(1));
  EXPECT_THAT(Sent(), ElementsAre("team: +Slow/a:1"));
  Step(seconds(60), {a, b});  // b joins; the group waits for its interval
  EXPECT_THAT(Sent(), IsEmpty());
  Step(seconds(240), {a, b});
  EXPECT_THAT(Sent(), ElementsAre("team: +Slow/a:1 +Slow/b:1"));
  for (int i = 0; i < 6; ++i) Step(minutes(1), {Alert("Slow", "a:1"), Alert("Slow", "b:1")});
  EXPECT_THAT(Sent(), IsEmpty());  // nothing new, repeat_interval 4h not reached
  EXPECT_EQ(dispatcher_->group_count(), 1u);
}

TEST_F(DispatcherTest, RepeatIntervalOrTheRulesCooldownResends) {
  const auto cooled = Alert("Disk", "a:1", "high", {{"cooldown", "10m"}});
  Step(seconds(0), {cooled});
  Step(seconds(30));
  EXPECT_THAT(Sent(), ElementsAre("team: +Disk/a:1"));
  // Flushes every group_interval (5m30s, 10m30s): not yet 10m since the notification.
  for (int i = 0; i < 14; ++i)
    Step(minutes(1), {Alert("Disk", "a:1", "high", {{"cooldown", "10m"}})});
  EXPECT_THAT(Sent(), IsEmpty());
  Step(minutes(1), {Alert("Disk", "a:1", "high", {{"cooldown", "10m"}})});  // 15m30s
  EXPECT_THAT(Sent(), ElementsAre("team: +Disk/a:1"));
}

TEST_F(DispatcherTest, ResolvedAlertsAreSentOnceWhereSendResolvedAsks) {
  Step(seconds(0), {Alert("Down", "a:1", "critical")});
  Step(seconds(30));
  EXPECT_THAT(Sent(), ElementsAre("pager: +Down/a:1"));
  Step(minutes(1), {Resolved(Alert("Down", "a:1", "critical"))});
  Step(minutes(5));
  // pager has send_resolved false: the log forgets the alert, nothing is sent.
  EXPECT_THAT(Sent(), IsEmpty());

  Step(seconds(0), {Alert("Slow", "a:1")});
  Step(seconds(30));
  EXPECT_THAT(Sent(), ElementsAre("team: +Slow/a:1"));
  Step(minutes(1), {Resolved(Alert("Slow", "a:1"))});
  Step(minutes(5));
  EXPECT_THAT(Sent(), ElementsAre("team: -Slow/a:1"));
  Step(minutes(1), {Resolved(Alert("Slow", "a:1"))});  // the evaluator resends resolved ones
  Step(minutes(5));
  EXPECT_THAT(Sent(), IsEmpty());
}

TEST_F(DispatcherTest, AStepOfTheWallClockNeitherResolvesNorDelays) {
  NotifyAlert slow = Alert("Slow", "a:1");
  slow.ends_at_ms = Now() + 60'000;  // valid for a minute, as one evaluated every 15s
  Step(seconds(0), {slow});
  Step(seconds(30));
  EXPECT_THAT(Sent(), ElementsAre("team: +Slow/a:1"));
  // Forward past the alert's end and the group's next flush: a flush before the evaluator's
  // next update would take the alert for resolved, and the update would fire it again.
  clock_.StepWall(seconds(300));
  Step(seconds(1));
  for (int i = 0; i < 24; ++i) Step(seconds(15), {Alert("Slow", "a:1")});
  EXPECT_THAT(Sent(), IsEmpty());
  Step(seconds(0), {Resolved(Alert("Slow", "a:1"))});
  Step(minutes(5));
  EXPECT_THAT(Sent(), ElementsAre("team: -Slow/a:1"));

  // Backwards: a new group still waits group_wait, not an hour and group_wait.
  Step(seconds(0), {Alert("Disk", "b:1")});
  clock_.StepWall(-std::chrono::hours(1));
  Step(seconds(30));
  EXPECT_THAT(Sent(), ElementsAre("team: +Disk/b:1"));
}

TEST_F(DispatcherTest, FiringCriticalAlertInhibitsHighOnTheSameInstance) {
  Step(seconds(0), {Alert("Down", "a:1", "critical"), Alert("Slow", "a:1", "high"),
                    Alert("Slow", "b:1", "high")});
  Step(seconds(30));
  EXPECT_THAT(Sent(), ElementsAre("pager: +Down/a:1", "team: +Slow/b:1"));
  const auto statuses = dispatcher_->Alerts();
  ASSERT_EQ(statuses.size(), 3u);
  EXPECT_EQ(
      std::count_if(statuses.begin(), statuses.end(), [](const auto& s) { return s.inhibited; }),
      1);
}

TEST_F(DispatcherTest, SilencesMuteUntilExpired) {
  Silence silence;
  silence.matchers = *ParseMatchers(R"(alertname="Slow")");
  silence.ends_at_ms = Now() + 3'600'000;
  silence.created_by = "ops";
  const auto id = dispatcher_->CreateSilence(silence);
  ASSERT_TRUE(id.ok()) << id.message();
  Step(seconds(0), {Alert("Slow", "a:1")});
  Step(seconds(30));
  EXPECT_THAT(Sent(), IsEmpty());
  EXPECT_THAT(dispatcher_->Alerts().at(0).silenced_by, ElementsAre(*id));
  ASSERT_TRUE(dispatcher_->ExpireSilence(*id).ok());
  EXPECT_FALSE(dispatcher_->ExpireSilence(*id).ok());  // already expired
  Step(minutes(5), {Alert("Slow", "a:1")});
  EXPECT_THAT(Sent(), ElementsAre("team: +Slow/a:1"));
  // Silences are kept in alerts.db.
  Open();
  ASSERT_EQ(dispatcher_->Silences().size(), 1u);
  EXPECT_EQ(dispatcher_->Silences()[0].created_by, "ops");

  silence.matchers = *ParseMatchers(R"(alertname=~".*")");
  EXPECT_FALSE(dispatcher_->CreateSilence(silence).ok());  // would match everything
}

TEST_F(DispatcherTest, ChannelsLabelNamesTheReceiverDirectly) {
  NotifyAlert alert = Alert("Slow", "a:1");
  alert.labels = *tsdb::MakeLabels(
      {{"alertname", "Slow"}, {"channels", "email-team, nobody"}, {"instance", "a:1"}});
  Step(seconds(0), {alert});
  Step(seconds(30));
  EXPECT_THAT(Sent(), ElementsAre("email-team: +Slow/a:1"));
}

TEST_F(DispatcherTest, NothingIsSentTwiceAcrossARestart) {
  Step(seconds(0), {Alert("Slow", "a:1")});
  Step(seconds(30));
  EXPECT_THAT(Sent(), ElementsAre("team: +Slow/a:1"));
  Open();  // a restart: groups start afresh, the log is read back
  Step(seconds(0), {Alert("Slow", "a:1")});
  Step(seconds(30));
  EXPECT_THAT(Sent(), IsEmpty());
  Step(seconds(0), {Alert("Slow", "a:1"), Alert("Slow", "c:1")});
  Step(minutes(5));
  EXPECT_THAT(Sent(), ElementsAre("team: +Slow/a:1 +Slow/c:1"));  // by instance
}

// Every write to a file fails while one of these lives (RLIMIT_FSIZE 0, SIGXFSZ ignored), as
// on a full disk; reads go on.
class WritesFail {
 public:
  WritesFail() {
    getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit none = saved_;
    none.rlim_cur = 0;
    setrlimit(RLIMIT_FSIZE, &none);
    handler_ = std::signal(SIGXFSZ, SIG_IGN);
  }
  ~WritesFail() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, handler_);
  }

 private:
  rlimit saved_{};
  void (*handler_)(int) = nullptr;
};

TEST_F(DispatcherTest, AnAlertThatFiresAndResolvesWhileTheStoreFailsIsNotifiedWhenItRecovers) {
  const auto a = Alert("Slow", "a:1");
  {
    WritesFail full;
    Step(seconds(0), {a});
    Step(seconds(30));  // due, but alerts.db takes no write
    Step(seconds(60), {Resolved(a)});
    Step(minutes(5));  // resolved, and its group gone
    EXPECT_EQ(dispatcher_->group_count(), 0u);
  }
  EXPECT_THAT(Sent(), IsEmpty());
  Step(seconds(1));
  EXPECT_THAT(Sent(), ElementsAre("team: +Slow/a:1", "team: -Slow/a:1"));
  Step(minutes(10));
  EXPECT_THAT(Sent(), IsEmpty());
}

// A sender that fails as told.
class ScriptedSender final : public Sender {
 public:
  SendResult Send(const std::string& integration, const Notification& notification) override {
    calls.push_back(notification.receiver + "/" + integration);
    if (results.empty()) return {true, false, ""};
    SendResult result = results.front();
    results.erase(results.begin());
    return result;
  }
  std::vector<SendResult> results;
  std::vector<std::string> calls;
};

TEST_F(DispatcherTest, DeliveryRetriesTemporaryFailuresAndGivesUpOnPermanentOnes) {
  ScriptedSender sender;
  prometheus::Registry registry;
  Deliverer deliverer(*store_, sender, clock_, registry, {1'000, 60'000},
                      [&](const std::string& key) { dispatcher_->ForgetLog(key); });
  sender.results = {{false, true, "connection refused"}, {false, true, "HTTP status 503"}};
  Step(seconds(0), {Alert("Slow", "a:1")});
  Step(seconds(30));
  deliverer.DeliverDueNow();
  // The queue gauge by receiver, as /metrics shows it; -1 when absent.
  const auto queued_for = [&registry](const std::string& receiver) {
    for (const auto& family : registry.Collect()) {
      if (family.name != "mingus_collector_notifications_queued") continue;
      for (const auto& metric : family.metric) {
        if (metric.label.size() == 1 && metric.label[0].value == receiver)
          return metric.gauge.value;
      }
    }
    return -1.0;
  };
  EXPECT_EQ(deliverer.queued(), 1u);
  EXPECT_EQ(queued_for("team"), 1);
  EXPECT_EQ(store_->Outbox()->at(0).attempts, 1);
  EXPECT_EQ(store_->Outbox()->at(0).last_error, "connection refused");
  clock_.Advance(std::chrono::milliseconds(700));  // the first retry waits 0.8 to 1.2 s
  deliverer.DeliverDueNow();
  EXPECT_EQ(sender.calls.size(), 1u);
  clock_.Advance(std::chrono::milliseconds(600));
  deliverer.DeliverDueNow();
  EXPECT_EQ(store_->Outbox()->at(0).attempts, 2);
  clock_.Advance(std::chrono::milliseconds(2500));  // the second waits 1.6 to 2.4 s
  deliverer.DeliverDueNow();
  EXPECT_EQ(deliverer.queued(), 0u);
  EXPECT_EQ(queued_for("team"), 0);  // emptied, still shown
  EXPECT_THAT(sender.calls, ElementsAre("team/webhook[0]", "team/webhook[0]", "team/webhook[0]"));

  // A permanent failure: given up, and the log forgets it so the next flush tries again.
  sender.results = {{false, false, "HTTP status 400: bad payload"}};
  Step(seconds(0), {Alert("Slow", "a:1"), Alert("Slow", "b:1")});
  Step(minutes(5));
  deliverer.DeliverDueNow();
  EXPECT_EQ(deliverer.queued(), 0u);
  EXPECT_EQ(sender.calls.size(), 4u);
  Step(minutes(5), {Alert("Slow", "a:1"), Alert("Slow", "b:1")});
  deliverer.DeliverDueNow();
  EXPECT_EQ(sender.calls.size(), 5u);
}

TEST(NotificationTest, WebhookPayloadHasAlertmanagersV4Fields) {
  Notification notification;
  notification.receiver = "team";
  notification.group_key = R"({}:{alertname="Slow"})";
  notification.group_labels = {{"alertname", "Slow"}};
  notification.at_ms = 1'800'000'060'000;
  notification.external_url = "http://collector:9190";
  NotifyAlert firing{{{"alertname", "Slow"}, {"instance", "a:1"}},
                     {{"summary", "slow"}},
                     1'800'000'000'000,
                     1'800'000'240'000,
                     "http://collector:9190/graph"};
  NotifyAlert resolved{{{"alertname", "Slow"}, {"instance", "b:1"}},
                       {{"summary", "slow"}},
                       1'800'000'000'000,
                       1'800'000'030'000,
                       ""};
  notification.alerts = {firing, resolved};
  const auto payload = boost::json::parse(WebhookPayload(notification));
  EXPECT_EQ(payload, boost::json::parse(R"({
    "version": "4", "groupKey": "{}:{alertname=\"Slow\"}", "truncatedAlerts": 0, "status": "firing",
    "receiver": "team", "groupLabels": {"alertname": "Slow"}, "commonLabels": {"alertname": "Slow"},
    "commonAnnotations": {"summary": "slow"}, "externalURL": "http://collector:9190",
    "alerts": [
      {"status": "firing", "labels": {"alertname": "Slow", "instance": "a:1"}, "annotations": {"summary": "slow"},
       "startsAt": "2027-01-15T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
       "generatorURL": "http://collector:9190/graph", "fingerprint": ")" +
                                        FingerprintString(Fingerprint(firing.labels)) + R"("},
      {"status": "resolved", "labels": {"alertname": "Slow", "instance": "b:1"}, "annotations": {"summary": "slow"},
       "startsAt": "2027-01-15T08:00:00Z", "endsAt": "2027-01-15T08:00:30Z", "generatorURL": "",
       "fingerprint": ")" + FingerprintString(Fingerprint(resolved.labels)) +
                                        R"("}]})"));
  EXPECT_EQ(DefaultSubject(notification), "[FIRING:1] Slow ");
  const auto back = NotificationFromJson(NotificationToJson(notification));
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(WebhookPayload(*back), WebhookPayload(notification));
}

TEST(NotificationTest, FingerprintIsAlertmanagers) {
  // An empty label set hashes to FNV-1a's offset basis, as model.LabelSet{}.Fingerprint().
  EXPECT_EQ(Fingerprint({}), 0xcbf29ce484222325ULL);
}

}  // namespace
}  // namespace mingus::collector::notify
