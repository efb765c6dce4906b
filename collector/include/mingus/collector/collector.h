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

#include "mingus/collector/api/prometheus_api.h"
#include "mingus/collector/config.h"
#include "mingus/collector/promql/engine.h"
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
  // Applies a new configuration: scrape targets, log level. Addresses, storage and query
  // settings need a restart; a change to them is logged and otherwise ignored.
  void Reload(CollectorConfig config);
  void RecordFailedReload();

  const http::Router& router() const { return *router_; }
  tsdb::Head& head() { return head_; }

 private:
  http::Response ServeMetrics(const http::Request& request);
  void FlushLoop();
  void FlushOnce();

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
  api::PrometheusApi api_;
  std::shared_ptr<http::Router> router_;
  std::unique_ptr<http::Server> server_;
  std::thread flusher_;
  std::mutex flusher_mutex_;
  std::condition_variable flusher_wake_;
  bool stopping_ = false;
  std::mutex store_mutex_;  // one flush or retention pass at a time
};

}  // namespace mingus::collector
