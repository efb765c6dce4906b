#include "mingus/collector/scrape/scraper.h"

#include <fmt/format.h>

#include <algorithm>

#include "mingus/http/client.h"

namespace mingus::collector::scrape {

TargetScraper::TargetScraper(Target target, tsdb::Head& head, const Clock& clock)
    : target_(std::move(target)), head_(head), clock_(clock) {}

ScrapeReport TargetScraper::ScrapeOnce() {
  const int64_t timestamp_ms = UnixMillis(clock_);
  const auto start = std::chrono::steady_clock::now();
  http::ClientOptions options;
  options.timeout = target_.timeout;
  options.max_body_bytes = target_.body_size_limit;
  options.headers.emplace_back(
      "X-Prometheus-Scrape-Timeout-Seconds",
      fmt::format("{}", std::chrono::duration<double>(target_.timeout).count()));
  options.headers.emplace_back("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1");
  target_.client.ApplyTo(options);
  const auto response = client_.Get(target_.Url(), options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!response.ok()) return Ingest(response.status(), timestamp_ms, seconds);
  if (response->status != 200) {
    return Ingest(Status::Error(fmt::format("server returned HTTP status {}", response->status)),
                  timestamp_ms, seconds);
  }
  return Ingest(std::move(response->body), timestamp_ms, seconds);
}

ScrapeReport TargetScraper::Ingest(const StatusOr<std::string>& body, int64_t timestamp_ms,
                                   double duration_seconds) {
  ScrapeReport report;
  report.duration_seconds = duration_seconds;
  report.timestamp_ms = timestamp_ms;
  if (body.ok()) {
    // Parse everything first: a malformed body fails the whole scrape, as in Prometheus.
    pending_.clear();
    limit_error_.clear();
    wire::ExpositionCallbacks callbacks;
    // The parser asks before reading a series' labels, which a cached series needs not.
    callbacks.known = [this](std::string_view series) {
      known_ = cache_.Find(series);
      return known_ != nullptr;
    };
    callbacks.sample = [&](const wire::ExpositionSample& sample) {
      const bool explicit_timestamp = sample.timestamp_ms.has_value();
      tsdb::SeriesRef ref = 0;
      if (known_ != nullptr) {
        known_->explicit_timestamp = explicit_timestamp;
        ref = known_->ref;
      } else if (ref = Resolve(sample); ref != 0) {
        cache_.Add(sample.series, {ref, explicit_timestamp});
      }
      // 0: the series was refused (by a label limit, which fails the scrape, or for a label
      // name that adding the target's labels doubled); the sample is dropped.
      if (ref != 0)
        pending_.push_back({ref, sample.timestamp_ms.value_or(timestamp_ms), sample.value});
    };
    const Status parsed = parser_.Parse(*body, callbacks);
    if (!parsed.ok()) {
      report.error = parsed.message();
    } else if (!limit_error_.empty()) {
      report.error = limit_error_;
    } else if (target_.sample_limit > 0 && pending_.size() > target_.sample_limit) {
      report.error = fmt::format("sample limit exceeded: {} samples, limit {}", pending_.size(),
                                 target_.sample_limit);
    } else {
      report.up = true;
      report.samples = pending_.size();
      report.out_of_order = head_.AppendMany(pending_);
    }
  } else {
    report.error = body.message();
  }
  // Series of the last scrape missing from this one (all of them when it failed) end here.
  cache_.Commit(report.up, [&](const ScrapeCache::Entry& series) {
    if (!series.explicit_timestamp && head_.Append(series.ref, timestamp_ms, StaleNaN()))
      ++report.stale;
  });
  AppendReportSeries(report, timestamp_ms);
  return report;
}

tsdb::SeriesRef TargetScraper::Resolve(const wire::ExpositionSample& sample) {
  // A cached series passed these checks when it was first seen, with the same bytes.
  if (sample.labels.size() > target_.label_limit && limit_error_.empty()) {
    limit_error_ = fmt::format("label_limit exceeded: {} has {} labels, limit {}", sample.name,
                               sample.labels.size(), target_.label_limit);
  }
  for (const auto& label : sample.labels) {
    if (label.value.size() > target_.label_value_length_limit && limit_error_.empty()) {
      limit_error_ = fmt::format(
          "label_value_length_limit exceeded: {} label {} is {} bytes, limit {}", sample.name,
          label.name, label.value.size(), target_.label_value_length_limit);
    }
  }
  if (!limit_error_.empty()) return 0;
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(sample.labels.size() + target_.labels.size() + 1);
  pairs.emplace_back("__name__", std::string(sample.name));
  const auto target_has = [&](std::string_view name) {
    return std::any_of(target_.labels.begin(), target_.labels.end(),
                       [&](const auto& l) { return l.first == name; });
  };
  for (const auto& label : sample.labels) {
    // Without honor_labels a scraped label that a target label also names yields to it and is
    // kept as exported_NAME; with it, the scraped one wins.
    if (!target_.honor_labels && target_has(label.name)) {
      pairs.emplace_back("exported_" + std::string(label.name), std::string(label.value));
    } else {
      pairs.emplace_back(std::string(label.name), std::string(label.value));
    }
  }
  for (const auto& label : target_.labels) {
    const bool scraped = std::any_of(pairs.begin(), pairs.end(),
                                     [&](const auto& p) { return p.first == label.first; });
    if (!scraped) pairs.push_back(label);
  }
  auto labels = tsdb::MakeLabels(std::move(pairs));
  if (!labels.ok()) return 0;
  return head_.GetOrCreate(*labels);
}

void TargetScraper::MarkStale(int64_t timestamp_ms) {
  cache_.ForgetAll([&](const ScrapeCache::Entry& series) {
    if (!series.explicit_timestamp) head_.Append(series.ref, timestamp_ms, StaleNaN());
  });
  for (const char* name : {"up", "scrape_duration_seconds", "scrape_samples_scraped"}) {
    head_.Append(ReportSeries(name), timestamp_ms, StaleNaN());
  }
}

tsdb::SeriesRef TargetScraper::ReportSeries(const char* name) {
  tsdb::Labels labels = target_.labels;
  labels.emplace_back("__name__", name);
  std::sort(labels.begin(), labels.end());
  return head_.GetOrCreate(labels);
}

void TargetScraper::AppendReportSeries(const ScrapeReport& report, int64_t timestamp_ms) {
  head_.Append(ReportSeries("up"), timestamp_ms, report.up ? 1 : 0);
  head_.Append(ReportSeries("scrape_duration_seconds"), timestamp_ms, report.duration_seconds);
  head_.Append(ReportSeries("scrape_samples_scraped"), timestamp_ms,
               static_cast<double>(report.samples));
}

}  // namespace mingus::collector::scrape
