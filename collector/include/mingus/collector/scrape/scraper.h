#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "mingus/collector/scrape/scrape_cache.h"
#include "mingus/collector/scrape/target_client.h"
#include "mingus/collector/tsdb/head.h"
#include "mingus/common/clock.h"
#include "mingus/http/client.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::scrape {

using tsdb::IsStaleNaN;
using tsdb::StaleNaN;

struct Target {
  std::string address;  // host:port scraped
  std::string metrics_path = "/metrics";
  TargetClient client;  // scheme, TLS and credentials
  // job, instance and the target group's labels, attached to every series scraped.
  tsdb::Labels labels;
  bool honor_labels = false;
  std::chrono::milliseconds interval{60'000};
  std::chrono::milliseconds timeout{10'000};
  size_t sample_limit = 0;  // 0: no limit; beyond it the scrape fails as Prometheus'
  // A bigger body, or a sample with more labels or a longer label value, fails the scrape.
  size_t body_size_limit = 64 << 20;
  size_t label_limit = 64;
  size_t label_value_length_limit = 4096;

  std::string Url() const { return client.Url(address, metrics_path); }
  friend bool operator==(const Target&, const Target&) = default;
};

struct ScrapeReport {
  bool up = false;
  std::string error;  // why the scrape failed
  double duration_seconds = 0;
  size_t samples = 0;  // samples scraped (scrape_samples_scraped)
  size_t stale = 0;    // series that vanished and got a staleness marker
  size_t out_of_order = 0;
  int64_t timestamp_ms = 0;
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
  ScrapeReport Ingest(const StatusOr<std::string>& body, int64_t timestamp_ms,
                      double duration_seconds);
  // The target is gone: every series it had, and its report series, end at timestamp_ms.
  void MarkStale(int64_t timestamp_ms);
  const Target& target() const { return target_; }

 private:
  // The head series of a sample the cache did not know; 0 when a label limit refuses it.
  tsdb::SeriesRef Resolve(const wire::ExpositionSample& sample);
  void AppendReportSeries(const ScrapeReport& report, int64_t timestamp_ms);
  tsdb::SeriesRef ReportSeries(const char* name);

  Target target_;
  tsdb::Head& head_;
  const Clock& clock_;
  wire::ExpositionParser parser_;
  http::KeepAliveClient client_;
  ScrapeCache cache_;                               // the series of the last successful scrape
  ScrapeCache::Entry* known_ = nullptr;             // the cache's entry for the sample being parsed
  std::vector<tsdb::Head::PendingSample> pending_;  // the scrape being parsed
  std::string limit_error_;                         // a label cap the scrape broke
};

}  // namespace mingus::collector::scrape
