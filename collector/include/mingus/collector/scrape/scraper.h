#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "mingus/collector/tsdb/head.h"
#include "mingus/common/clock.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::scrape {

// Prometheus' staleness marker: a NaN with this exact bit pattern ends a series.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
double StaleNaN();
bool IsStaleNaN(double value);

struct Target {
  std::string job;
  std::string address;  // host:port, the instance label
  std::string metrics_path = "/metrics";
  tsdb::Labels labels;  // from static_configs / file_sd, beside job and instance
  bool honor_labels = false;
  std::chrono::milliseconds timeout{10'000};
  size_t sample_limit = 0;  // 0: no limit; beyond it the scrape fails as Prometheus'
};

struct ScrapeReport {
  bool up = false;
  std::string error;  // why the scrape failed
  double duration_seconds = 0;
  size_t samples = 0;     // samples scraped (scrape_samples_scraped)
  size_t stale = 0;       // series that vanished and got a staleness marker
  size_t out_of_order = 0;
};

// Scrapes one target, appends its samples to the head with the target's labels, writes
// up / scrape_duration_seconds / scrape_samples_scraped, and staleness markers for series the
// previous scrape had and this one lacks. Keeps that series set between calls; one per target,
// not thread-safe.
class TargetScraper {
 public:
  TargetScraper(Target target, tsdb::Head& head, const Clock& clock);
  ScrapeReport ScrapeOnce();
  // The same, on a body already fetched (tests, and scrapes that failed before parsing).
  ScrapeReport Ingest(const StatusOr<std::string>& body, int64_t timestamp_ms, double duration_seconds);
  const Target& target() const { return target_; }

 private:
  void AppendReportSeries(const ScrapeReport& report, int64_t timestamp_ms);

  Target target_;
  tsdb::Head& head_;
  const Clock& clock_;
  wire::ExpositionParser parser_;
  std::set<tsdb::SeriesRef> last_series_;
};

}  // namespace mingus::collector::scrape
