#pragma once

#include <string_view>

// Every PromQL expression the monitoring API evaluates, in one place; docs/dashboard-api.md
// lists the same table for the Grafana dashboards, so that both show the same numbers.
// Placeholders (fmt syntax; doubled braces are literal):
//   {w}   the window: dashboard.window for the dashboard and /metrics, hours=N for /performance
//   {r}   dashboard.rate_window (CPU)
//   {by}  "" overall, " by (endpoint, method)" or " by (operation, table)" per endpoint
//   {le}  "le", or "endpoint, method, le" / "operation, table, le" per endpoint
//   {q}   the quantile: 0.5, 0.95, 0.99
// Counters go through increase()/rate(), so they survive restarts and extrapolate to the
// window's edges exactly as Prometheus does; counts are rounded to whole numbers for display.
namespace mingus::collector::api::queries {

// API requests (mingus_api_*: endpoint, method, status; from the agents' `api` events).
inline constexpr std::string_view kApiRequests =
    "sum{by} (increase(mingus_api_requests_total[{w}]))";
inline constexpr std::string_view kApiErrors =
    "sum{by} (increase(mingus_api_requests_total{{status=~\"5..\"}}[{w}]))";
inline constexpr std::string_view kApiDurationSum =
    "sum{by} (increase(mingus_api_request_duration_seconds_sum[{w}]))";
inline constexpr std::string_view kApiDurationCount =
    "sum{by} (increase(mingus_api_request_duration_seconds_count[{w}]))";
inline constexpr std::string_view kApiQuantile =
    "histogram_quantile({q}, sum by ({le}) "
    "(increase(mingus_api_request_duration_seconds_bucket[{w}])))";
inline constexpr std::string_view kApiRate = "sum(rate(mingus_api_requests_total[{w}]))";

// Database queries (mingus_db_*: operation, table; from the agents' `db` events).
inline constexpr std::string_view kDbCount =
    "sum{by} (increase(mingus_db_query_duration_seconds_count[{w}]))";
inline constexpr std::string_view kDbDurationSum =
    "sum{by} (increase(mingus_db_query_duration_seconds_sum[{w}]))";
inline constexpr std::string_view kDbQuantile =
    "histogram_quantile({q}, sum by ({le}) "
    "(increase(mingus_db_query_duration_seconds_bucket[{w}])))";
// Slow queries = kDbCount - the bucket whose bound is the threshold (le="1" for 1s).
inline constexpr std::string_view kDbBuckets =
    "sum by (le) (increase(mingus_db_query_duration_seconds_bucket[{w}]))";
inline constexpr std::string_view kDbRate =
    "sum(rate(mingus_db_query_duration_seconds_count[{w}]))";
// The costliest query fingerprints each agent tracks.
inline constexpr std::string_view kDbFingerprintSeconds =
    "sum by (fingerprint) (increase(mingus_db_fingerprint_seconds_total[{w}]))";
inline constexpr std::string_view kDbFingerprintCalls =
    "sum by (fingerprint) (increase(mingus_db_fingerprint_calls_total[{w}]))";
inline constexpr std::string_view kDbFingerprintRows =
    "sum by (fingerprint) (increase(mingus_db_fingerprint_rows_total[{w}]))";

// Hosts (node_exporter's names), one series per instance; the overall figure is the max.
inline constexpr std::string_view kCpuPercent =
    "100 * (1 - sum by (instance) (rate(node_cpu_seconds_total{{mode=\"idle\"}}[{r}])) / "
    "sum by (instance) (rate(node_cpu_seconds_total[{r}])))";
inline constexpr std::string_view kMemoryPercent =
    "100 * (1 - max by (instance) (node_memory_MemAvailable_bytes) / "
    "max by (instance) (node_memory_MemTotal_bytes))";
// The fullest real file system of each host (memory-backed and image file systems left out).
inline constexpr std::string_view kDiskPercent =
    "100 * max by (instance) (1 - node_filesystem_avail_bytes{{fstype!~\"{fs}\"}} / "
    "(node_filesystem_size_bytes{{fstype!~\"{fs}\"}} > 0))";
inline constexpr std::string_view kExcludedFsTypes =
    "tmpfs|ramfs|devtmpfs|squashfs|overlay|iso9660";
inline constexpr std::string_view kUp = "max by (instance) (up)";

// The charts of /performance (range queries; {w} is max(step, rate_window) there).
inline constexpr std::string_view kApiRateSeries = "sum(rate(mingus_api_requests_total[{w}]))";
inline constexpr std::string_view kApiErrorRateSeries =
    "(sum(rate(mingus_api_requests_total{{status=~\"5..\"}}[{w}])) or vector(0)) / "
    "sum(rate(mingus_api_requests_total[{w}]))";
inline constexpr std::string_view kApiAvgSeries =
    "sum(rate(mingus_api_request_duration_seconds_sum[{w}])) / "
    "sum(rate(mingus_api_request_duration_seconds_count[{w}]))";
inline constexpr std::string_view kApiP95Series =
    "histogram_quantile(0.95, sum by (le) (rate(mingus_api_request_duration_seconds_bucket[{w}])))";
inline constexpr std::string_view kDbRateSeries =
    "sum(rate(mingus_db_query_duration_seconds_count[{w}]))";
inline constexpr std::string_view kDbAvgSeries =
    "sum(rate(mingus_db_query_duration_seconds_sum[{w}])) / "
    "sum(rate(mingus_db_query_duration_seconds_count[{w}]))";
inline constexpr std::string_view kDbP95Series =
    "histogram_quantile(0.95, sum by (le) (rate(mingus_db_query_duration_seconds_bucket[{w}])))";

}  // namespace mingus::collector::api::queries
