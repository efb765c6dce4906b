#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mingus/collector/notify/alert.h"

namespace mingus::collector::notify {

// Forwards alerts to external Alertmanagers as Prometheus does (POST /api/v2/alerts, batches of
// up to 64, a bounded queue whose overflow is dropped and counted), for teams that keep their
// Alertmanager. Best effort, like Prometheus' notifier: the rule evaluator sends firing alerts
// again every minute.
class AlertmanagerForwarder {
 public:
  // `urls`: each Alertmanager's base URL, "http://127.0.0.1:9093".
  AlertmanagerForwarder(std::vector<std::string> urls, prometheus::Registry& registry);
  ~AlertmanagerForwarder();
  void Send(const std::vector<NotifyAlert>& alerts);

 private:
  void Loop();

  std::vector<std::string> urls_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Counter& dropped_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<NotifyAlert> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// Alertmanager's v2 postable alerts: [{"labels", "annotations", "startsAt", "endsAt",
// "generatorURL"}].
std::string PostableAlerts(const std::vector<NotifyAlert>& alerts);

}  // namespace mingus::collector::notify
