#include "mingus/collector/api/monitoring_api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>

#include "mingus/collector/api/prometheus_api.h"
#include "mingus/collector/notify/route.h"
#include "mingus/collector/promql/parser.h"
#include "mingus/common/duration.h"
#include "mingus/common/text.h"
#include "monitoring_queries.h"

namespace mingus::collector::api {

std::string_view StatusOf(double value, const Thresholds& thresholds) {
  if (value >= thresholds.critical) return "critical";
  if (value >= thresholds.warning) return "warning";
  return "good";
}

namespace {

namespace json = boost::json;

constexpr std::string_view kUnknown = "unknown";
constexpr size_t kMaxCacheEntries = 256;
constexpr int kChartPoints = 60;
constexpr size_t kSlowestQueries = 10;

int Rank(std::string_view status) {
  if (status == "critical") return 3;
  if (status == "warning") return 2;
  if (status == "good") return 1;
  return 0;
}

// The worst of several statuses; unknown ones count only when all are unknown.
std::string_view Worst(std::initializer_list<std::string_view> statuses) {
  std::string_view worst = kUnknown;
  for (const auto status : statuses) {
    if (Rank(status) > Rank(worst)) worst = status;
  }
  return worst;
}

// Shortest round-trip numbers (as Prometheus writes sample values) rather than Boost.JSON's
// exponent form, so that `curl` output reads naturally; NaN and infinities become null.
void WriteJson(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      out += fmt::format("{}", value.get_int64());
      return;
    case json::kind::uint64:
      out += fmt::format("{}", value.get_uint64());
      return;
    case json::kind::double_: {
      const double d = value.get_double();
      out += std::isfinite(d) ? promql::FormatValue(d == 0 ? 0.0 : d) : "null";
      return;
    }
    case json::kind::string:
      out += json::serialize(value.get_string());
      return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : value.get_array()) {
        if (!std::exchange(first, false)) out.push_back(',');
        WriteJson(out, item);
      }
      out.push_back(']');
      return;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : value.get_object()) {
        if (!std::exchange(first, false)) out.push_back(',');
        out += json::serialize(json::string_view(key));
        out.push_back(':');
        WriteJson(out, item);
      }
      out.push_back('}');
      return;
    }
  }
}

http::Response JsonResponse(const json::object& document) {
  std::string body;
  body.reserve(1024);
  WriteJson(body, document);
  http::Response response = http::Response::Json(200, std::move(body));
  response.compressible = true;
  return response;
}

int64_t Count(double value) { return static_cast<int64_t>(std::llround(std::max(0.0, value))); }

json::value OptionalTime(int64_t unix_ms) {
  return unix_ms == rules::kNever ? json::value(nullptr) : json::value(FormatRfc3339(unix_ms));
}

std::string_view LabelValue(const tsdb::Labels& labels, std::string_view name) {
  for (const auto& [key, value] : labels) {
    if (key == name) return value;
  }
  return {};
}

// The placeholders of monitoring_queries.h.
struct QueryParams {
  std::string w, r, by, le = "le", q, fs = std::string(queries::kExcludedFsTypes);
};

std::string Expand(std::string_view pattern, const QueryParams& p) {
  return fmt::format(fmt::runtime(pattern), fmt::arg("w", p.w), fmt::arg("r", p.r),
                     fmt::arg("by", p.by), fmt::arg("le", p.le), fmt::arg("q", p.q),
                     fmt::arg("fs", p.fs));
}

// Runs the expressions at one instant. A failing query (too many samples, say) counts as no
// data: logged at warn the first time and counted in a self-metric.
class Evaluator {
 public:
  Evaluator(const promql::Engine& engine, int64_t t_ms, prometheus::Counter& failures)
      : engine_(engine), t_ms_(t_ms), failures_(failures) {}

  int64_t t_ms() const { return t_ms_; }

  std::vector<promql::ResultSeries> Vector(std::string_view pattern, const QueryParams& params) {
    const std::string query = Expand(pattern, params);
    auto expr = promql::Parse(query);
    if (!expr.ok()) return Fail(query, expr.message());
    auto result = engine_.Instant(**expr, t_ms_);
    if (!result.ok()) return Fail(query, result.message());
    return std::move(result->series);
  }

  // The value of a one-series result; nullopt when empty or not a finite number.
  std::optional<double> One(std::string_view pattern, const QueryParams& params) {
    const auto series = Vector(pattern, params);
    if (series.empty() || series.front().points.empty()) return std::nullopt;
    const double value = series.front().points.front().value;
    return std::isfinite(value) ? std::optional(value) : std::nullopt;
  }

  // One column per step of a range query (null where the expression had no value).
  json::array Column(std::string_view pattern, const QueryParams& params, int64_t start_ms,
                     int64_t step_ms, size_t points) {
    json::array column(points, nullptr);
    const std::string query = Expand(pattern, params);
    auto expr = promql::Parse(query);
    if (!expr.ok()) return (Fail(query, expr.message()), column);
    auto result = engine_.Range(**expr, start_ms,
                                start_ms + step_ms * (static_cast<int64_t>(points) - 1), step_ms);
    if (!result.ok()) return (Fail(query, result.message()), column);
    if (result->series.size() != 1) return column;
    for (const auto& point : result->series.front().points) {
      const auto index = static_cast<size_t>((point.timestamp_ms - start_ms) / step_ms);
      if (index < points && std::isfinite(point.value)) column[index] = point.value;
    }
    return column;
  }

 private:
  std::vector<promql::ResultSeries> Fail(const std::string& query, std::string_view error) {
    failures_.Increment();
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      spdlog::warn(
          "monitoring API: query {} failed: {} (counted in "
          "mingus_collector_dashboard_query_failures_total; logged once)",
          query, error);
    } else {
      spdlog::debug("monitoring API: query {} failed: {}", query, error);
    }
    return {};
  }

  const promql::Engine& engine_;
  int64_t t_ms_;
  prometheus::Counter& failures_;
};

// ---------------------------------------------------------------------------- API figures

struct ApiFigures {
  double requests = 0, errors = 0, duration_sum = 0, duration_count = 0;
  double p50 = 0, p95 = 0, p99 = 0;

  double Average() const { return duration_count > 0 ? duration_sum / duration_count : 0; }
  double ErrorRate() const { return requests > 0 ? errors / requests : 0; }
  std::string_view Status(const DashboardConfig& config) const {
    if (Count(requests) == 0) return kUnknown;
    return Worst({StatusOf(Average(), config.api_response_time),
                  StatusOf(ErrorRate(), config.api_error_rate)});
  }
};

struct DbFigures {
  double queries = 0, duration_sum = 0, slow = 0;
  double p50 = 0, p95 = 0, p99 = 0;

  double Average() const { return queries > 0 ? duration_sum / queries : 0; }
  std::string_view Status(const DashboardConfig& config) const {
    if (Count(queries) == 0) return kUnknown;
    return Worst({StatusOf(Average(), config.db_execution_time),
                  StatusOf(static_cast<double>(Count(slow)), config.slow_queries)});
  }
};

QueryParams Window(std::chrono::milliseconds window, const DashboardConfig& config) {
  QueryParams params;
  params.w = FormatDuration(window);
  params.r = FormatDuration(config.rate_window);
  return params;
}

ApiFigures ComputeApi(Evaluator& eval, QueryParams params, bool quantiles) {
  ApiFigures api;
  api.requests = eval.One(queries::kApiRequests, params).value_or(0);
  api.errors = eval.One(queries::kApiErrors, params).value_or(0);
  api.duration_sum = eval.One(queries::kApiDurationSum, params).value_or(0);
  api.duration_count = eval.One(queries::kApiDurationCount, params).value_or(0);
  for (auto [q, field] :
       {std::pair{"0.5", &api.p50}, std::pair{"0.95", &api.p95}, std::pair{"0.99", &api.p99}}) {
    if (!quantiles && std::string_view(q) != "0.95") continue;
    params.q = q;
    *field = eval.One(queries::kApiQuantile, params).value_or(0);
  }
  return api;
}

// The bucket of the threshold: the smallest upper bound at or above it.
double SlowQueries(Evaluator& eval, const QueryParams& params, double count,
                   double threshold_seconds) {
  double best_le = INFINITY, below = count;
  bool found = false;
  for (const auto& series : eval.Vector(queries::kDbBuckets, params)) {
    const auto le = text::ParseDouble(LabelValue(series.labels, "le"));
    if (!le || *le < threshold_seconds || series.points.empty()) continue;
    if (!found || *le < best_le) {
      best_le = *le;
      below = series.points.front().value;
      found = true;
    }
  }
  return found && std::isfinite(below) ? std::max(0.0, count - below) : 0;
}

DbFigures ComputeDb(Evaluator& eval, QueryParams params, bool quantiles,
                    const DashboardConfig& config) {
  DbFigures db;
  db.queries = eval.One(queries::kDbCount, params).value_or(0);
  db.duration_sum = eval.One(queries::kDbDurationSum, params).value_or(0);
  db.slow = SlowQueries(eval, params, db.queries,
                        static_cast<double>(config.slow_query_threshold.count()) / 1000);
  for (auto [q, field] :
       {std::pair{"0.5", &db.p50}, std::pair{"0.95", &db.p95}, std::pair{"0.99", &db.p99}}) {
    if (!quantiles && std::string_view(q) != "0.95") continue;
    params.q = q;
    *field = eval.One(queries::kDbQuantile, params).value_or(0);
  }
  return db;
}

// ---------------------------------------------------------------------------- hosts

struct Figure {
  std::optional<double> value;
  std::string_view Status(const Thresholds& thresholds) const {
    return value ? StatusOf(*value, thresholds) : kUnknown;
  }
  json::object Json(const Thresholds& thresholds) const {
    return {{"usage_percent", value.value_or(0)}, {"status", Status(thresholds)}};
  }
};

struct HostFigures {
  Figure cpu, memory, disk;
  std::optional<bool> up;
  std::string_view Status(const DashboardConfig& config) const {
    return Worst({cpu.Status(config.cpu_percent), memory.Status(config.memory_percent),
                  disk.Status(config.disk_percent)});
  }
};

struct Hosts {
  std::map<std::string, HostFigures, std::less<>> by_instance;
  HostFigures overall;  // the max of each figure over the hosts
};

Hosts ComputeHosts(Evaluator& eval, const DashboardConfig& config) {
  Hosts hosts;
  const QueryParams params = Window(config.window, config);
  for (auto [pattern, field] : {std::pair{queries::kCpuPercent, &HostFigures::cpu},
                                std::pair{queries::kMemoryPercent, &HostFigures::memory},
                                std::pair{queries::kDiskPercent, &HostFigures::disk}}) {
    for (const auto& series : eval.Vector(pattern, params)) {
      if (series.points.empty() || !std::isfinite(series.points.front().value)) continue;
      const double value = series.points.front().value;
      auto& figure = hosts.by_instance[std::string(LabelValue(series.labels, "instance"))].*field;
      figure.value = value;
      auto& overall = hosts.overall.*field;
      overall.value = std::max(overall.value.value_or(-INFINITY), value);
    }
  }
  for (const auto& series : eval.Vector(queries::kUp, params)) {
    const auto host = hosts.by_instance.find(LabelValue(series.labels, "instance"));
    if (host != hosts.by_instance.end() && !series.points.empty()) {
      host->second.up = series.points.front().value == 1;
    }
  }
  return hosts;
}

json::object SystemHealthJson(const HostFigures& figures, const DashboardConfig& config) {
  return {{"cpu", figures.cpu.Json(config.cpu_percent)},
          {"memory", figures.memory.Json(config.memory_percent)},
          {"disk", figures.disk.Json(config.disk_percent)}};
}

// ---------------------------------------------------------------------------- alerts

int SeverityRank(std::string_view severity) {
  if (severity == "critical") return 0;
  if (severity == "high") return 1;
  if (severity == "medium") return 2;
  if (severity == "low") return 3;
  return 4;
}

// Severities that do not make the alert status a warning.
bool Informational(std::string_view severity) {
  return severity == "low" || severity == "info" || severity == "none";
}

struct AlertItem {
  rules::Alert alert;
  std::string severity;
};

struct AlertFigures {
  bool evaluated = false;  // some rule group ran at least once
  int64_t critical = 0, high = 0, medium = 0, low = 0, other = 0, pending = 0;
  std::vector<AlertItem> active;  // firing and pending
  std::vector<AlertItem> recent;  // resolved, still held by the rule manager
  int64_t Firing() const { return critical + high + medium + low + other; }
  std::string_view Status() const {
    if (!evaluated) return kUnknown;
    if (critical > 0) return "critical";
    if (high + medium + other > 0) return "warning";
    return "good";
  }
};

AlertFigures ComputeAlerts(const rules::RuleManager* rules) {
  AlertFigures figures;
  if (rules == nullptr) return figures;
  for (auto& group : rules->Groups()) {
    if (group.last_evaluation_ms != 0) figures.evaluated = true;
    for (auto& rule : group.rules) {
      for (auto& alert : rule.alerts) {
        AlertItem item{std::move(alert), {}};
        item.severity = std::string(LabelValue(item.alert.labels, "severity"));
        if (item.alert.state == rules::AlertState::kFiring) {
          if (item.severity == "critical") {
            ++figures.critical;
          } else if (item.severity == "high") {
            ++figures.high;
          } else if (item.severity == "medium") {
            ++figures.medium;
          } else if (Informational(item.severity)) {
            ++figures.low;
          } else {
            ++figures.other;
          }
          figures.active.push_back(std::move(item));
        } else if (item.alert.state == rules::AlertState::kPending) {
          ++figures.pending;
          figures.active.push_back(std::move(item));
        } else if (item.alert.resolved_at_ms != rules::kNever) {
          figures.recent.push_back(std::move(item));
        }
      }
    }
  }
  std::sort(figures.active.begin(), figures.active.end(), [](const auto& a, const auto& b) {
    return std::tuple(SeverityRank(a.severity), a.alert.state != rules::AlertState::kFiring,
                      a.alert.active_at_ms, a.alert.labels) <
           std::tuple(SeverityRank(b.severity), b.alert.state != rules::AlertState::kFiring,
                      b.alert.active_at_ms, b.alert.labels);
  });
  std::sort(figures.recent.begin(), figures.recent.end(), [](const auto& a, const auto& b) {
    return std::tuple(-a.alert.resolved_at_ms, a.alert.labels) <
           std::tuple(-b.alert.resolved_at_ms, b.alert.labels);
  });
  return figures;
}

json::object AlertsSummaryJson(const AlertFigures& alerts) {
  return {{"active_alerts", alerts.Firing()},
          {"critical_alerts", alerts.critical},
          {"high_alerts", alerts.high},
          {"medium_alerts", alerts.medium},
          {"status", alerts.Status()}};
}

json::object AlertJson(const AlertItem& item, const std::vector<notify::Silence>& silences,
                       int64_t t_ms) {
  json::object labels, annotations;
  for (const auto& [name, value] : item.alert.labels) labels[name] = value;
  for (const auto& [name, value] : item.alert.annotations) annotations[name] = value;
  json::array silenced_by;
  for (const auto& silence : silences) {
    if (silence.ActiveAt(t_ms) && notify::MatchesAll(silence.matchers, item.alert.labels)) {
      silenced_by.push_back(json::value(silence.id));
    }
  }
  const bool resolved = item.alert.state == rules::AlertState::kInactive;
  return {
      {"alertname", LabelValue(item.alert.labels, "alertname")},
      {"severity", item.severity},
      {"state", resolved ? std::string_view("resolved") : rules::AlertStateName(item.alert.state)},
      {"summary", LabelValue(item.alert.annotations, "summary")},
      {"value", item.alert.value},
      {"active_at", FormatRfc3339(item.alert.active_at_ms)},
      {"fired_at", OptionalTime(item.alert.fired_at_ms)},
      {"resolved_at", OptionalTime(item.alert.resolved_at_ms)},
      {"silenced", !silenced_by.empty()},
      {"silenced_by", std::move(silenced_by)},
      {"labels", std::move(labels)},
      {"annotations", std::move(annotations)}};
}

// ---------------------------------------------------------------------------- documents

// The figures over dashboard.window that the dashboard and /metrics documents both show.
struct KeyFigures {
  QueryParams params;
  ApiFigures api;
  DbFigures db;
  AlertFigures alerts;
  Hosts hosts;
};

KeyFigures ComputeKeyFigures(Evaluator& eval, const rules::RuleManager* rules,
                             const DashboardConfig& config) {
  QueryParams params = Window(config.window, config);
  ApiFigures api = ComputeApi(eval, params, false);
  DbFigures db = ComputeDb(eval, params, false, config);
  return {std::move(params), std::move(api), std::move(db), ComputeAlerts(rules),
          ComputeHosts(eval, config)};
}

json::object DashboardDocument(Evaluator& eval, const rules::RuleManager* rules,
                               const DashboardConfig& config) {
  const auto [params, api, db, alerts, hosts] = ComputeKeyFigures(eval, rules, config);
  json::object system = SystemHealthJson(hosts.overall, config);
  const auto status = [&](std::string_view key) {
    return std::string_view(system.at(key).at("status").as_string());
  };
  const std::string_view overall = Worst({api.Status(config), db.Status(config), alerts.Status(),
                                          status("cpu"), status("memory"), status("disk")});
  return {{"timestamp", FormatRfc3339(eval.t_ms())},
          {"performance",
           json::object{{"api_performance", json::object{{"avg_response_time", api.Average()},
                                                         {"total_requests", Count(api.requests)},
                                                         {"error_rate", api.ErrorRate()},
                                                         {"status", api.Status(config)}}},
                        {"database_performance", json::object{{"avg_execution_time", db.Average()},
                                                              {"total_queries", Count(db.queries)},
                                                              {"slow_queries", Count(db.slow)},
                                                              {"status", db.Status(config)}}}}},
          {"alerts", AlertsSummaryJson(alerts)},
          {"system_health", std::move(system)},
          {"overall_status", overall}};
}

json::object MetricsDocument(Evaluator& eval, const rules::RuleManager* rules,
                             const DashboardConfig& config) {
  const auto [params, api, db, alerts, hosts] = ComputeKeyFigures(eval, rules, config);
  int64_t up = 0;
  for (const auto& [instance, host] : hosts.by_instance) up += host.up.value_or(false) ? 1 : 0;
  return {
      {"timestamp", FormatRfc3339(eval.t_ms())},
      {"window_seconds", static_cast<double>(config.window.count()) / 1000},
      {"api", json::object{{"requests_per_second", eval.One(queries::kApiRate, params).value_or(0)},
                           {"total_requests", Count(api.requests)},
                           {"avg_response_time", api.Average()},
                           {"p95_response_time", api.p95},
                           {"error_rate", api.ErrorRate()}}},
      {"database",
       json::object{{"queries_per_second", eval.One(queries::kDbRate, params).value_or(0)},
                    {"total_queries", Count(db.queries)},
                    {"avg_execution_time", db.Average()},
                    {"p95_execution_time", db.p95},
                    {"slow_queries", Count(db.slow)}}},
      {"system", json::object{{"hosts", static_cast<int64_t>(hosts.by_instance.size())},
                              {"hosts_up", up},
                              {"cpu_usage_percent", hosts.overall.cpu.value.value_or(0)},
                              {"memory_usage_percent", hosts.overall.memory.value.value_or(0)},
                              {"disk_usage_percent", hosts.overall.disk.value.value_or(0)}}},
      {"alerts", json::object{{"firing", alerts.Firing()}, {"pending", alerts.pending}}}};
}

json::object AlertsDocument(int64_t t_ms, const rules::RuleManager* rules,
                            const std::vector<notify::Silence>& silences) {
  const AlertFigures alerts = ComputeAlerts(rules);
  json::object out{{"timestamp", FormatRfc3339(t_ms)}};
  for (auto& [key, value] : AlertsSummaryJson(alerts)) out[key] = value;
  out["low_alerts"] = alerts.low;
  out["other_alerts"] = alerts.other;
  out["pending_alerts"] = alerts.pending;
  json::array active, recent;
  for (const auto& item : alerts.active) active.push_back(AlertJson(item, silences, t_ms));
  for (const auto& item : alerts.recent) recent.push_back(AlertJson(item, silences, t_ms));
  out["alerts"] = std::move(active);
  out["recent_alerts"] = std::move(recent);
  return out;
}

using EndpointKey = std::pair<std::string, std::string>;

// Fills one field of each endpoint's figures from a per-endpoint vector.
template <typename Figures>
void ByEndpoint(Evaluator& eval, std::string_view pattern, const QueryParams& params,
                std::string_view first, std::string_view second,
                std::map<EndpointKey, Figures>& out, double Figures::*field) {
  for (const auto& series : eval.Vector(pattern, params)) {
    if (series.points.empty()) continue;
    const double value = series.points.front().value;
    if (!std::isfinite(value)) continue;
    out[{std::string(LabelValue(series.labels, first)),
         std::string(LabelValue(series.labels, second))}].*
        field = value;
  }
}

json::object PerformanceDocument(Evaluator& eval, std::chrono::milliseconds window, double hours,
                                 const DashboardConfig& config) {
  QueryParams params = Window(window, config);
  const ApiFigures api = ComputeApi(eval, params, true);
  const DbFigures db = ComputeDb(eval, params, true, config);

  // Per endpoint and per operation.
  std::map<EndpointKey, ApiFigures> endpoints;
  QueryParams by = params;
  by.by = " by (endpoint, method)";
  by.le = "endpoint, method, le";
  ByEndpoint(eval, queries::kApiRequests, by, "endpoint", "method", endpoints,
             &ApiFigures::requests);
  ByEndpoint(eval, queries::kApiErrors, by, "endpoint", "method", endpoints, &ApiFigures::errors);
  ByEndpoint(eval, queries::kApiDurationSum, by, "endpoint", "method", endpoints,
             &ApiFigures::duration_sum);
  ByEndpoint(eval, queries::kApiDurationCount, by, "endpoint", "method", endpoints,
             &ApiFigures::duration_count);
  std::map<EndpointKey, DbFigures> operations;
  QueryParams by_op = params;
  by_op.by = " by (operation, table)";
  by_op.le = "operation, table, le";
  ByEndpoint(eval, queries::kDbCount, by_op, "operation", "table", operations, &DbFigures::queries);
  ByEndpoint(eval, queries::kDbDurationSum, by_op, "operation", "table", operations,
             &DbFigures::duration_sum);
  for (auto [q, api_field, db_field] : {std::tuple{"0.5", &ApiFigures::p50, &DbFigures::p50},
                                        std::tuple{"0.95", &ApiFigures::p95, &DbFigures::p95},
                                        std::tuple{"0.99", &ApiFigures::p99, &DbFigures::p99}}) {
    by.q = by_op.q = q;
    ByEndpoint(eval, queries::kApiQuantile, by, "endpoint", "method", endpoints, api_field);
    ByEndpoint(eval, queries::kDbQuantile, by_op, "operation", "table", operations, db_field);
  }

  json::array endpoint_list;
  std::vector<std::pair<EndpointKey, ApiFigures>> sorted_endpoints(endpoints.begin(),
                                                                   endpoints.end());
  // Slowest first (by p95, then average), as the dashboard lists them.
  std::stable_sort(sorted_endpoints.begin(), sorted_endpoints.end(),
                   [](const auto& a, const auto& b) {
                     return std::pair(a.second.p95, a.second.Average()) >
                            std::pair(b.second.p95, b.second.Average());
                   });
  for (const auto& [key, figures] : sorted_endpoints) {
    endpoint_list.push_back(json::object{{"endpoint", key.first},
                                         {"method", key.second},
                                         {"requests", Count(figures.requests)},
                                         {"avg_response_time", figures.Average()},
                                         {"p50_response_time", figures.p50},
                                         {"p95_response_time", figures.p95},
                                         {"p99_response_time", figures.p99},
                                         {"error_rate", figures.ErrorRate()},
                                         {"status", figures.Status(config)}});
  }
  std::vector<std::pair<EndpointKey, DbFigures>> sorted_operations(operations.begin(),
                                                                   operations.end());
  std::stable_sort(sorted_operations.begin(), sorted_operations.end(),
                   [](const auto& a, const auto& b) {
                     return std::pair(a.second.p95, a.second.Average()) >
                            std::pair(b.second.p95, b.second.Average());
                   });
  json::array operation_list;
  for (const auto& [key, figures] : sorted_operations) {
    operation_list.push_back(json::object{{"operation", key.first},
                                          {"table", key.second},
                                          {"queries", Count(figures.queries)},
                                          {"avg_execution_time", figures.Average()},
                                          {"p50_execution_time", figures.p50},
                                          {"p95_execution_time", figures.p95},
                                          {"p99_execution_time", figures.p99}});
  }

  // The slowest query fingerprints by average time.
  struct Fingerprint {
    double seconds = 0, calls = 0, rows = 0;
  };
  std::map<std::string, Fingerprint> fingerprints;
  for (auto [pattern, field] : {std::pair{queries::kDbFingerprintSeconds, &Fingerprint::seconds},
                                std::pair{queries::kDbFingerprintCalls, &Fingerprint::calls},
                                std::pair{queries::kDbFingerprintRows, &Fingerprint::rows}}) {
    for (const auto& series : eval.Vector(pattern, params)) {
      if (series.points.empty() || !std::isfinite(series.points.front().value)) continue;
      fingerprints[std::string(LabelValue(series.labels, "fingerprint"))].*field =
          series.points.front().value;
    }
  }
  std::vector<std::pair<std::string, Fingerprint>> slowest;
  for (auto& [fingerprint, figures] : fingerprints) {
    if (Count(figures.calls) > 0) slowest.emplace_back(fingerprint, figures);
  }
  std::stable_sort(slowest.begin(), slowest.end(), [](const auto& a, const auto& b) {
    return a.second.seconds / a.second.calls > b.second.seconds / b.second.calls;
  });
  if (slowest.size() > kSlowestQueries) slowest.resize(kSlowestQueries);
  const double threshold = static_cast<double>(config.slow_query_threshold.count()) / 1000;
  json::array slowest_list;
  for (const auto& [fingerprint, figures] : slowest) {
    const double average = figures.seconds / figures.calls;
    slowest_list.push_back(json::object{{"fingerprint", fingerprint},
                                        {"calls", Count(figures.calls)},
                                        {"total_time", figures.seconds},
                                        {"avg_execution_time", average},
                                        {"rows", Count(figures.rows)},
                                        {"slow", average > threshold}});
  }

  // Chart columns: kChartPoints + 1 steps from t - window to t.
  const int64_t step_ms =
      std::max<int64_t>(1000, (window.count() / kChartPoints + 999) / 1000 * 1000);
  const int64_t start_ms = eval.t_ms() - step_ms * kChartPoints;
  const size_t points = kChartPoints + 1;
  QueryParams chart;
  chart.w = FormatDuration(std::max(std::chrono::milliseconds(step_ms), config.rate_window));
  json::array timestamps;
  for (size_t i = 0; i < points; ++i) {
    timestamps.push_back(static_cast<double>(start_ms + step_ms * static_cast<int64_t>(i)) / 1000);
  }
  json::object series{{"step_seconds", static_cast<double>(step_ms) / 1000},
                      {"range", chart.w},
                      {"timestamps", std::move(timestamps)}};
  for (auto [name, pattern] : {std::pair{"api_requests_per_second", queries::kApiRateSeries},
                               std::pair{"api_avg_response_time", queries::kApiAvgSeries},
                               std::pair{"api_p95_response_time", queries::kApiP95Series},
                               std::pair{"api_error_rate", queries::kApiErrorRateSeries},
                               std::pair{"db_queries_per_second", queries::kDbRateSeries},
                               std::pair{"db_avg_execution_time", queries::kDbAvgSeries},
                               std::pair{"db_p95_execution_time", queries::kDbP95Series}}) {
    series[name] = eval.Column(pattern, chart, start_ms, step_ms, points);
  }

  return {
      {"timestamp", FormatRfc3339(eval.t_ms())},
      {"hours", hours},
      {"window_seconds", static_cast<double>(window.count()) / 1000},
      {"api", json::object{{"total_requests", Count(api.requests)},
                           {"requests_per_second", eval.One(queries::kApiRate, params).value_or(0)},
                           {"avg_response_time", api.Average()},
                           {"p50_response_time", api.p50},
                           {"p95_response_time", api.p95},
                           {"p99_response_time", api.p99},
                           {"error_rate", api.ErrorRate()},
                           {"status", api.Status(config)},
                           {"endpoints", std::move(endpoint_list)}}},
      {"database",
       json::object{{"total_queries", Count(db.queries)},
                    {"queries_per_second", eval.One(queries::kDbRate, params).value_or(0)},
                    {"avg_execution_time", db.Average()},
                    {"p50_execution_time", db.p50},
                    {"p95_execution_time", db.p95},
                    {"p99_execution_time", db.p99},
                    {"slow_queries", Count(db.slow)},
                    {"slow_query_threshold", threshold},
                    {"status", db.Status(config)},
                    {"operations", std::move(operation_list)},
                    {"slowest_queries", std::move(slowest_list)}}},
      {"timeseries", std::move(series)}};
}

json::object SystemHealthDocument(Evaluator& eval, const DashboardConfig& config) {
  const Hosts hosts = ComputeHosts(eval, config);
  json::array list;
  int64_t up = 0;
  for (const auto& [instance, figures] : hosts.by_instance) {
    up += figures.up.value_or(false) ? 1 : 0;
    json::object host{{"instance", instance},
                      {"up", figures.up ? json::value(*figures.up) : json::value(nullptr)},
                      {"status", figures.Status(config)}};
    for (auto& [key, value] : SystemHealthJson(figures, config)) host[key] = value;
    list.push_back(std::move(host));
  }
  json::object overall{{"status", hosts.overall.Status(config)},
                       {"hosts", static_cast<int64_t>(hosts.by_instance.size())},
                       {"hosts_up", up}};
  for (auto& [key, value] : SystemHealthJson(hosts.overall, config)) overall[key] = value;
  return {{"timestamp", FormatRfc3339(eval.t_ms())},
          {"overall", std::move(overall)},
          {"hosts", std::move(list)}};
}

}  // namespace

MonitoringApi::MonitoringApi(const promql::Engine& engine, const Clock& clock,
                             const rules::RuleManager* rules, DashboardConfig config,
                             prometheus::Registry& registry)
    : engine_(engine),
      clock_(clock),
      rules_(rules),
      cache_requests_(prometheus::BuildCounter()
                          .Name("mingus_collector_dashboard_cache_requests_total")
                          .Help("Monitoring API requests, by whether the response cache had them "
                                "(result hit or miss).")
                          .Register(registry)),
      query_failures_(prometheus::BuildCounter()
                          .Name("mingus_collector_dashboard_query_failures_total")
                          .Help("Monitoring API queries that failed (their figure shows no data).")
                          .Register(registry)
                          .Add({})),
      config_(config) {
  cache_requests_.Add({{"result", "hit"}});
  cache_requests_.Add({{"result", "miss"}});
}

void MonitoringApi::Register(http::Router& router) {
  router.Handle("GET", "/api/monitoring/dashboard",
                [this](const http::Request& r) { return Dashboard(r); });
  router.Handle("GET", "/api/monitoring/metrics",
                [this](const http::Request& r) { return Metrics(r); });
  router.Handle("GET", "/api/monitoring/alerts",
                [this](const http::Request& r) { return Alerts(r); });
  router.Handle("GET", "/api/monitoring/performance",
                [this](const http::Request& r) { return Performance(r); });
  router.Handle("GET", "/api/monitoring/system-health",
                [this](const http::Request& r) { return SystemHealth(r); });
}

void MonitoringApi::Apply(const DashboardConfig& config) {
  std::lock_guard lock(mutex_);
  config_ = config;
  cache_.clear();
}

void MonitoringApi::SetSilenceSource(std::function<std::vector<notify::Silence>()> source) {
  std::lock_guard lock(mutex_);
  silences_ = std::move(source);
  cache_.clear();
}

DashboardConfig MonitoringApi::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

http::Response MonitoringApi::Serve(const http::Request& request, const Compute& compute) {
  const std::string key = request.path + "?" + request.query;
  const int64_t now = UnixMillis(clock_);
  DashboardConfig config;
  {
    std::lock_guard lock(mutex_);
    config = config_;
    if (config.cache_ttl.count() > 0) {
      const auto entry = cache_.find(key);
      if (entry != cache_.end() && now >= entry->second.created_ms &&
          now - entry->second.created_ms < config.cache_ttl.count()) {
        cache_requests_.Add({{"result", "hit"}}).Increment();
        return entry->second.response;
      }
    }
  }
  cache_requests_.Add({{"result", "miss"}}).Increment();
  int64_t t_ms = now;
  if (const auto time = request.Param("time"); time && !time->empty()) {
    const auto parsed = ParseTimeMs(*time);
    if (!parsed.ok()) {
      return http::Response::JsonError(400, fmt::format("invalid time: {}", parsed.message()));
    }
    t_ms = *parsed;
  }
  http::Response response = compute(request, t_ms, config);
  if (response.status == 200 && config.cache_ttl.count() > 0) {
    std::lock_guard lock(mutex_);
    if (cache_.size() >= kMaxCacheEntries) {
      std::erase_if(cache_, [&](const auto& entry) {
        return now - entry.second.created_ms >= config.cache_ttl.count();
      });
      if (cache_.size() >= kMaxCacheEntries) {
        cache_.erase(
            std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
              return a.second.created_ms < b.second.created_ms;
            }));
      }
    }
    cache_[key] = CacheEntry{now, response};
  }
  return response;
}

http::Response MonitoringApi::Dashboard(const http::Request& request) {
  return Serve(request, [this](const http::Request&, int64_t t_ms, const DashboardConfig& config) {
    Evaluator eval(engine_, t_ms, query_failures_);
    return JsonResponse(DashboardDocument(eval, rules_, config));
  });
}

std::string MonitoringApi::DashboardJson() {
  return Dashboard(http::Request::Make("GET", "/api/monitoring/dashboard")).body;
}

http::Response MonitoringApi::Metrics(const http::Request& request) {
  return Serve(request, [this](const http::Request&, int64_t t_ms, const DashboardConfig& config) {
    Evaluator eval(engine_, t_ms, query_failures_);
    return JsonResponse(MetricsDocument(eval, rules_, config));
  });
}

http::Response MonitoringApi::Alerts(const http::Request& request) {
  return Serve(request, [this](const http::Request&, int64_t t_ms, const DashboardConfig&) {
    std::function<std::vector<notify::Silence>()> source;
    {
      std::lock_guard lock(mutex_);
      source = silences_;
    }
    return JsonResponse(
        AlertsDocument(t_ms, rules_, source ? source() : std::vector<notify::Silence>{}));
  });
}

http::Response MonitoringApi::Performance(const http::Request& request) {
  return Serve(
      request, [this](const http::Request& r, int64_t t_ms, const DashboardConfig& config) {
        double hours = std::min<double>(24, static_cast<double>(config.max_hours));
        if (const auto text = r.Param("hours")) {
          const auto value = text::ParseDouble(*text);
          const double max = static_cast<double>(config.max_hours);
          if (!value || !std::isfinite(*value) || *value * 3600 < 1 || *value > max) {
            return http::Response::JsonError(
                400, fmt::format("invalid hours '{}': must be a number of hours from 1 second "
                                 "(0.0003) up to {} (dashboard.max_hours)",
                                 *text, config.max_hours));
          }
          hours = *value;
        }
        const std::chrono::milliseconds window(std::llround(hours * 3'600'000));
        Evaluator eval(engine_, t_ms, query_failures_);
        return JsonResponse(PerformanceDocument(eval, window, hours, config));
      });
}

http::Response MonitoringApi::SystemHealth(const http::Request& request) {
  return Serve(request, [this](const http::Request&, int64_t t_ms, const DashboardConfig& config) {
    Evaluator eval(engine_, t_ms, query_failures_);
    return JsonResponse(SystemHealthDocument(eval, config));
  });
}

}  // namespace mingus::collector::api
