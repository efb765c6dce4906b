#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mingus/collector/notify/alert.h"
#include "mingus/collector/notify/config.h"
#include "mingus/collector/notify/notification.h"
#include "mingus/collector/notify/notify_store.h"
#include "mingus/collector/notify/route.h"
#include "mingus/common/clock.h"

// Alertmanager's dispatcher inside the collector: alerts are routed through the route tree into
// aggregation groups; a group is flushed group_wait after it forms and every group_interval
// after; at a flush, silenced and inhibited alerts are left out, and each integration of the
// group's receiver is sent a notification when something changed since the last one it got, or
// when the repeat interval (a rule's `cooldown` annotation, else the route's) has passed.
// Accepted notifications go to the durable outbox; delivery is the Deliverer's job.
namespace mingus::collector::notify {

struct DispatcherOptions {
  std::string external_url;
  // How long an alert stays without an update before it counts as resolved, when the
  // evaluator gave it no end (Alertmanager's resolve_timeout); from the configuration.
  int64_t resolve_timeout_ms = 5 * 60'000;
  // How long delivery of a notification is retried.
  int64_t delivery_deadline_ms = 10 * 60'000;
};

// One integration of a receiver, as the dispatcher needs it.
struct IntegrationRef {
  std::string name;  // "webhook[0]"
  bool send_resolved = true;
  int64_t max_alerts = 0;
};
// The integrations of each receiver, in order (email, slack, webhook; each by index).
std::vector<IntegrationRef> IntegrationsOf(const Receiver& receiver);

class Dispatcher {
 public:
  // `store` keeps the outbox, the notification log and silences; the log and silences are read
  // from it now. `wake` is called after notifications were enqueued (the deliverer's cue).
  Dispatcher(const NotifyConfig& config, DispatcherOptions options, const Clock& clock,
             NotifyStore& store, std::function<void()> wake = nullptr);
  ~Dispatcher();

  // Replaces the configuration (at reload): groups are rebuilt on the next alerts, the log is
  // kept.
  void Apply(const NotifyConfig& config);

  // Alerts from the rule evaluator: new ones join (or form) their groups, known ones update.
  void Put(const std::vector<NotifyAlert>& alerts);
  // Flushes every group that is due; returns when it next should be called (ms since epoch).
  // The notifier thread calls this in a loop; tests call it with a fake clock.
  int64_t Flush();

  // Delivery gave up on a notification: forget what the log says was sent, so the group's
  // next flush tries again (Alertmanager logs only what was delivered).
  void ForgetLog(const std::string& log_key);

  // Silences (/api/monitoring/silences). Create returns the new silence's id.
  StatusOr<std::string> CreateSilence(Silence silence);
  Status ExpireSilence(const std::string& id);
  std::vector<Silence> Silences() const;

  // The alerts the dispatcher holds, with whether each is silenced or inhibited now.
  struct AlertStatus {
    NotifyAlert alert;
    std::vector<std::string> silenced_by;
    bool inhibited = false;
  };
  std::vector<AlertStatus> Alerts() const;
  size_t group_count() const;

 private:
  struct Group;
  // A flush's decision for one integration: the log entry, with the notification to send
  // unless there is nothing to say.
  struct Decided {
    std::string log_key;
    LogEntry entry;
    std::optional<OutboxEntry> outbox;
  };
  // How soon a flush comes back to decisions the store refused.
  static constexpr int64_t kStoreRetryMs = 1'000;
  void RouteAlertLocked(const NotifyAlert& alert, int64_t now);
  void FlushGroupLocked(Group& group, int64_t now);
  // Stores the decisions in order, up to the first the store refuses (a full disk): those stay
  // in memory for the next flush, so that an alert which fires and resolves while nothing can be
  // written is still notified once writes succeed. True when a notification was enqueued.
  bool StoreDecidedLocked();
  bool SilencedLocked(const Labels& labels, int64_t now, std::vector<std::string>* by) const;
  // After a step of the wall clock, moves what is timed relative to now (the ends of alerts
  // that only time out, the next flush of each group) by the step, so that a step resolves
  // nothing and neither hurries nor holds back a flush. Silences keep their times: they are
  // set by the clock.
  void FollowClockStepLocked(int64_t now);

  const Clock& clock_;
  ClockStepWatch clock_steps_;
  DispatcherOptions options_;
  NotifyStore& store_;
  std::function<void()> wake_;
  mutable std::mutex mutex_;
  NotifyConfig config_;
  std::unique_ptr<const Route> route_;
  Inhibitor inhibitor_;
  std::map<uint64_t, NotifyAlert> alerts_;                // by fingerprint
  std::map<std::string, std::unique_ptr<Group>> groups_;  // by group key + receiver
  std::map<std::string, LogEntry> log_;                   // what was decided, stored or not yet
  std::deque<Decided> unstored_;
  bool store_failing_ = false;
  std::vector<Silence> silences_;
};

}  // namespace mingus::collector::notify
