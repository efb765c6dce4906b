#include "mingus/collector/scrape/scraper.h"

#include <bit>

#include <fmt/format.h>

#include "mingus/http/client.h"

namespace mingus::collector::scrape {

double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
bool IsStaleNaN(double value) { return std::bit_cast<uint64_t>(value) == kStaleNaNBits; }

TargetScraper::TargetScraper(Target target, tsdb::Head& head, const Clock& clock)
    : target_(std::move(target)), head_(head), clock_(clock) {}

ScrapeReport TargetScraper::ScrapeOnce() {
  const int64_t timestamp_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
  const auto start = std::chrono::steady_clock::now();
  http::ClientOptions options;
  options.timeout = target_.timeout;
  options.headers.emplace_back("X-Prometheus-Scrape-Timeout-Seconds",
                               fmt::format("{}", std::chrono::duration<double>(target_.timeout).count()));
  const auto response = http::HttpGet(fmt::format("http://{}{}", target_.address, target_.metrics_path), options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!response.ok()) return Ingest(response.status(), timestamp_ms, seconds);
  if (response->status != 200) {
    return Ingest(Status::Error(fmt::format("server returned HTTP status {}", response->status)), timestamp_ms,
                  seconds);
  }
  return Ingest(std::move(response->body), timestamp_ms, seconds);
}

ScrapeReport TargetScraper::Ingest(const StatusOr<std::string>& body, int64_t timestamp_ms, double duration_seconds) {
  ScrapeReport report;
  report.duration_seconds = duration_seconds;
  std::set<tsdb::SeriesRef> seen;
  if (body.ok()) {
    // Parse everything first: a malformed body fails the whole scrape, as in Prometheus.
    struct Pending {
      tsdb::Labels labels;
      double value;
      int64_t t;
    };
    std::vector<Pending> pending;
    wire::ExpositionCallbacks callbacks;
    callbacks.sample = [&](const wire::ExpositionSample& sample) {
      std::vector<std::pair<std::string, std::string>> pairs;
      pairs.reserve(sample.labels.size() + target_.labels.size() + 3);
      pairs.emplace_back("__name__", std::string(sample.name));
      for (const auto& label : sample.labels) {
        // Without honor_labels a scraped job or instance label yields to the target's and is
        // kept as exported_job / exported_instance.
        const bool clash = !target_.honor_labels && (label.name == "job" || label.name == "instance");
        pairs.emplace_back(clash ? "exported_" + std::string(label.name) : std::string(label.name),
                           std::string(label.value));
      }
      const auto has = [&](std::string_view name) {
        return std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == name; });
      };
      if (!has("job")) pairs.emplace_back("job", target_.job);
      if (!has("instance")) pairs.emplace_back("instance", target_.address);
      for (const auto& [name, value] : target_.labels) {
        if (!has(name)) pairs.emplace_back(name, value);
      }
      auto labels = tsdb::MakeLabels(std::move(pairs));
      if (labels.ok()) pending.push_back({std::move(labels).value(), sample.value, sample.timestamp_ms.value_or(timestamp_ms)});
    };
    const Status parsed = parser_.Parse(*body, callbacks);
    if (!parsed.ok()) {
      report.error = parsed.message();
    } else if (target_.sample_limit > 0 && pending.size() > target_.sample_limit) {
      report.error = fmt::format("sample limit exceeded: {} samples, limit {}", pending.size(), target_.sample_limit);
    } else {
      report.up = true;
      report.samples = pending.size();
      for (const auto& sample : pending) {
        const tsdb::SeriesRef ref = head_.GetOrCreate(sample.labels);
        seen.insert(ref);
        if (!head_.Append(ref, sample.t, sample.value)) ++report.out_of_order;
      }
    }
  } else {
    report.error = body.message();
  }
  // Series of the last scrape missing from this one (all of them when it failed) end here.
  for (const tsdb::SeriesRef ref : last_series_) {
    if (!seen.contains(ref) && head_.Append(ref, timestamp_ms, StaleNaN())) ++report.stale;
  }
  last_series_ = std::move(seen);
  AppendReportSeries(report, timestamp_ms);
  return report;
}

void TargetScraper::AppendReportSeries(const ScrapeReport& report, int64_t timestamp_ms) {
  const auto append = [&](std::string name, double value) {
    std::vector<std::pair<std::string, std::string>> pairs = {
        {"__name__", std::move(name)}, {"job", target_.job}, {"instance", target_.address}};
    for (const auto& label : target_.labels) pairs.push_back(label);
    const auto labels = tsdb::MakeLabels(std::move(pairs));
    if (labels.ok()) head_.Append(head_.GetOrCreate(*labels), timestamp_ms, value);
  };
  append("up", report.up ? 1 : 0);
  append("scrape_duration_seconds", report.duration_seconds);
  append("scrape_samples_scraped", static_cast<double>(report.samples));
}

}  // namespace mingus::collector::scrape
