#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

// collector.yaml's `dashboard:` section: what the monitoring API (/api/monitoring/...) and its
// live stream compute over, and where a figure turns from good to warning to critical.
namespace mingus::collector::api {

// A figure is good below `warning`, warning from `warning` up to `critical`, critical from
// `critical` on; unknown when there is no data.
struct Thresholds {
  double warning = 0;
  double critical = 0;
};

struct DashboardConfig {
  // The dashboard's and /metrics' performance figures cover this much recent time.
  std::chrono::milliseconds window{60 * 60 * 1000};
  // CPU usage is a rate over this range (keep it at least four scrape intervals).
  std::chrono::milliseconds rate_window{5 * 60 * 1000};
  // A response is reused for the same path and query string this long (0: no cache).
  std::chrono::milliseconds cache_ttl{5'000};
  // A database query slower than this is slow: counted from the histogram bucket whose upper
  // bound is the smallest at or above it.
  std::chrono::milliseconds slow_query_threshold{1'000};
  // The largest hours= /api/monitoring/performance accepts.
  int64_t max_hours = 7 * 24;
  Thresholds api_response_time{0.5, 2};    // average seconds
  Thresholds api_error_rate{0.01, 0.05};   // fraction of requests answered 5xx
  Thresholds db_execution_time{0.1, 0.5};  // average seconds
  Thresholds slow_queries{10, 100};        // slow queries in the window
  Thresholds cpu_percent{70, 90};
  Thresholds memory_percent{80, 95};
  Thresholds disk_percent{80, 90};
};

// "good", "warning", "critical" for a value against its thresholds.
std::string_view StatusOf(double value, const Thresholds& thresholds);

}  // namespace mingus::collector::api
