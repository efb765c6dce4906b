#include "mingus/collector/db/query_tally.h"

#include <fmt/format.h>

#include <algorithm>

#include "mingus/common/hyperloglog.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::collector::db {

std::string FingerprintId(std::string_view fingerprint) {
  return fmt::format("{:016x}", StableHash64(fingerprint));
}

void QueryTally::Add(const std::string& fingerprint, const QueryRuns& runs) {
  std::lock_guard lock(mutex_);
  auto found = by_fingerprint_.find(fingerprint);
  if (found == by_fingerprint_.end()) {
    if (by_fingerprint_.size() >= tracked_) return;
    found = by_fingerprint_.emplace(fingerprint, QueryRuns{}).first;
  }
  found->second.runs += runs.runs;
  found->second.seconds += runs.seconds;
}

void QueryTally::AppendFamilies(std::vector<prometheus::MetricFamily>& out) const {
  using prometheus::MetricType;
  std::vector<std::pair<std::string, QueryRuns>> top;
  size_t counted = 0;
  {
    std::lock_guard lock(mutex_);
    counted = by_fingerprint_.size();
    top.assign(by_fingerprint_.begin(), by_fingerprint_.end());
  }
  const size_t shown = std::min(exported_, top.size());
  std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(shown), top.end(),
                    [](const auto& a, const auto& b) {
                      return a.second.seconds != b.second.seconds
                                 ? a.second.seconds > b.second.seconds
                                 : a.first < b.first;
                    });
  top.resize(shown);
  metrics::AddSample(metrics::AddFamily(out, "mingus_collector_db_fingerprints",
                                        "Query fingerprints whose db events are counted.",
                                        MetricType::Gauge),
                     static_cast<double>(counted));
  const size_t first = out.size();
  metrics::AddFamily(out, "mingus_collector_db_queries_total",
                     "Db events stored, for the fingerprints with the most time.",
                     MetricType::Counter);
  metrics::AddFamily(out, "mingus_collector_db_query_seconds_total",
                     "Query time of the db events stored, for the fingerprints with the most time.",
                     MetricType::Counter);
  for (const auto& [fingerprint, runs] : top) {
    const std::string id = FingerprintId(fingerprint);
    metrics::AddSample(out[first], static_cast<double>(runs.runs), {{"fingerprint_id", id}});
    metrics::AddSample(out[first + 1], runs.seconds, {{"fingerprint_id", id}});
  }
}

}  // namespace mingus::collector::db
