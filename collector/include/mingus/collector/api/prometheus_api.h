#pragma once

#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mingus/collector/promql/engine.h"
#include "mingus/collector/rules/manager.h"
#include "mingus/collector/scrape/manager.h"
#include "mingus/collector/tsdb/head.h"
#include "mingus/common/clock.h"
#include "mingus/common/status.h"
#include "mingus/http/message.h"

// Prometheus' HTTP API (/api/v1/...), the parts Grafana's Prometheus data source and our own
// dashboard use, with Prometheus' JSON shapes and error shapes.
namespace mingus::collector::api {

// Prometheus' time parameter: RFC 3339 ("2026-11-29T10:00:00.5Z") or Unix seconds ("1.7e9").
StatusOr<int64_t> ParseTimeMs(std::string_view text);
// A step or timeout: seconds as a number ("15", "0.5") or a duration ("15s", "1m").
StatusOr<int64_t> ParseDurationMs(std::string_view text);

class PrometheusApi {
 public:
  // `targets` and `rules` may be null (no targets, no rules and alerts).
  PrometheusApi(const tsdb::Head& head, const promql::Engine& engine, const Clock& clock,
                const scrape::ScrapeManager* targets, const rules::RuleManager* rules,
                prometheus::Registry& registry);
  void Register(http::Router& router);

  http::Response Query(const http::Request& request) const;
  http::Response QueryRange(const http::Request& request) const;
  http::Response Series(const http::Request& request) const;
  http::Response Labels(const http::Request& request) const;
  http::Response LabelValues(const http::Request& request) const;
  http::Response Targets(const http::Request& request) const;
  // type=alert or type=record keeps one kind.
  http::Response Rules(const http::Request& request) const;
  http::Response Alerts(const http::Request& request) const;

 private:
  const tsdb::Head& head_;
  const promql::Engine& engine_;
  const Clock& clock_;
  const scrape::ScrapeManager* targets_;
  const rules::RuleManager* rules_;
  prometheus::Family<prometheus::Histogram>& query_duration_;
};

}  // namespace mingus::collector::api
