#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mingus/collector/api/dashboard_config.h"
#include "mingus/collector/notify/notify_store.h"
#include "mingus/collector/promql/engine.h"
#include "mingus/collector/rules/manager.h"
#include "mingus/collector/tsdb/head.h"
#include "mingus/common/clock.h"
#include "mingus/http/message.h"

// The monitoring API: /api/monitoring/{dashboard,metrics,alerts,performance,system-health}, in
// the JSON shapes of docs/dashboard-api.md. Every figure but the alerts is PromQL on the
// collector's own engine over the agents' metric names (the expressions are in
// monitoring_queries.h), so the numbers agree with Grafana and /api/v1/query; alerts come from
// the rule manager. Responses are cached per path and query string for dashboard.cache_ttl.
namespace mingus::collector::api {

class MonitoringApi {
 public:
  // `rules` may be null (no alerts: the alert figures are unknown).
  MonitoringApi(const promql::Engine& engine, const Clock& clock, const rules::RuleManager* rules,
                DashboardConfig config, prometheus::Registry& registry);

  void Register(http::Router& router);
  // A new configuration (at reload); empties the cache. Thread-safe.
  void Apply(const DashboardConfig& config);
  // Where active silences come from, to mark silenced alerts (optional; without it none is).
  void SetSilenceSource(std::function<std::vector<notify::Silence>()> source);

  // Each endpoint; every one takes an optional time= (RFC 3339 or Unix seconds, as
  // /api/v1/query) to evaluate at instead of now. Thread-safe; served from the cache when fresh.
  http::Response Dashboard(const http::Request& request);
  http::Response Metrics(const http::Request& request);
  http::Response Alerts(const http::Request& request);
  // hours=N (default 24, a positive number up to dashboard.max_hours).
  http::Response Performance(const http::Request& request);
  http::Response SystemHealth(const http::Request& request);

  // The dashboard document now, as one line of JSON (the stream's event data); cached as
  // GET /api/monitoring/dashboard is.
  std::string DashboardJson();

  DashboardConfig config() const;

 private:
  using Compute = std::function<http::Response(const http::Request&, int64_t t_ms,
                                               const DashboardConfig& config)>;
  http::Response Serve(const http::Request& request, const Compute& compute);

  const promql::Engine& engine_;
  const Clock& clock_;
  const rules::RuleManager* rules_;
  prometheus::Family<prometheus::Counter>& cache_requests_;
  prometheus::Counter& query_failures_;
  mutable std::mutex mutex_;  // guards everything below
  DashboardConfig config_;
  std::function<std::vector<notify::Silence>()> silences_;
  struct CacheEntry {
    int64_t created_ms = 0;
    http::Response response;
  };
  std::map<std::string, CacheEntry, std::less<>> cache_;
};

}  // namespace mingus::collector::api
