#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mingus/collector/api/monitoring_api.h"
#include "mingus/collector/api/monitoring_stream.h"
#include "mingus/collector/api/prometheus_api.h"
#include "mingus/collector/config.h"
#include "mingus/collector/db/db_report.h"
#include "mingus/collector/events/event_puller.h"
#include "mingus/collector/events/event_store.h"
#include "mingus/collector/events/insights.h"
#include "mingus/collector/events/ux_report.h"
#include "mingus/collector/notify/deliverer.h"
#include "mingus/collector/notify/dispatcher.h"
#include "mingus/collector/notify/forwarder.h"
#include "mingus/collector/notify/integrations.h"
#include "mingus/collector/notify/notify_store.h"
#include "mingus/collector/promql/engine.h"
#include "mingus/collector/rules/manager.h"
#include "mingus/collector/scrape/manager.h"
#include "mingus/collector/tsdb/head.h"
#include "mingus/collector/tsdb/store.h"
#include "mingus/common/clock.h"
#include "mingus/http/server.h"
#include "mingus/metrics/process_metrics.h"

namespace mingus::collector {

// The collector process minus main(): the store, scraping, the query API and its own metrics.
class Collector {
 public:
  Collector(CollectorConfig config, const Clock& clock);
  ~Collector();

  // Opens (and loads) the store, starts scraping and serving; returns the bound address.
  StatusOr<std::string> Start();
  // Stops scraping and serving, then flushes the store a last time.
  void Stop();
  // Applies a new configuration: scrape targets, rules, log level. Addresses, storage and query
  // settings need a restart; a change to them is logged and otherwise ignored.
  void Reload(CollectorConfig config);
  void RecordFailedReload();

  const http::Router& router() const { return *router_; }
  tsdb::Head& head() { return head_; }
  notify::Dispatcher* dispatcher() { return dispatcher_.get(); }
  rules::RuleManager& rules() { return rules_; }

 private:
  http::Response ServeMetrics(const http::Request& request);
  void FlushLoop();
  void FlushOnce();
  rules::GroupOptions RuleOptions() const;
  Status StartNotifier();
  Status StartEvents();
  void StopNotifier();
  void NotifyLoop();
  // The rule evaluator's alerts, as Prometheus' notifier sends them: with the external labels
  // and a link back to the rule's expression.
  void SendAlerts(std::vector<rules::AlertToSend> alerts);

  CollectorConfig config_;
  const Clock& clock_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge& reload_success_;
  prometheus::Gauge& reload_timestamp_;
  prometheus::Family<prometheus::Counter>& scrapes_;
  prometheus::Histogram& scrape_duration_;
  prometheus::Counter& flushes_failed_;
  prometheus::Histogram& flush_duration_;
  prometheus::Counter& corrupt_chunks_;
  metrics::ProcessCollector process_;
  tsdb::Head head_;
  std::unique_ptr<tsdb::ChunkStore> store_;
  promql::Engine engine_;
  scrape::ScrapeManager scrapes_manager_;
  rules::RuleManager rules_;
  api::PrometheusApi api_;
  api::MonitoringApi monitoring_;
  api::DashboardStream stream_;  // /api/monitoring/stream
  std::shared_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
  std::thread flusher_;
  std::mutex flusher_mutex_;
  std::condition_variable flusher_wake_;
  bool stopping_ = false;
  std::mutex store_mutex_;  // one flush or retention pass at a time
  // Notifications (absent without notify.yaml).
  std::unique_ptr<notify::NotifyStore> notify_store_;
  std::unique_ptr<notify::ConfiguredSender> sender_;
  std::unique_ptr<notify::Dispatcher> dispatcher_;
  std::unique_ptr<notify::Deliverer> deliverer_;
  std::unique_ptr<notify::AlertmanagerForwarder> forwarder_;
  std::thread notifier_;
  std::mutex notifier_mutex_;  // also guards alert_labels_ and external_url_ below
  std::condition_variable notifier_wake_;
  bool notifier_stopping_ = false, notifier_woken_ = false;
  tsdb::Labels alert_labels_;  // external labels, sorted
  std::string external_url_;
  // Analytics events pulled from the agents into business_intelligence.db.
  std::unique_ptr<events::EventStore> event_store_;
  std::unique_ptr<events::EventPuller> event_puller_;
  std::unique_ptr<events::Insights> insights_;  // GET /api/monitoring/insights
  std::unique_ptr<db::DbOptimizer> db_optimizer_;  // GET /api/monitoring/db/report
  std::unique_ptr<events::UxReports> ux_;       // GET /api/monitoring/ux
};

}  // namespace mingus::collector
