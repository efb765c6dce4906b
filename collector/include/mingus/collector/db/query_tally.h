#pragma once

#include <prometheus/metric_family.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// The db events the collector stored, per query fingerprint, as counters for /metrics: runs
// and seconds since the collector started. The digests' figures over time, for Prometheus and
// Grafana; GET /api/monitoring/db/report has the rest of each digest under the same id.
namespace mingus::collector::db {

// A fingerprint's label value: 16 hex digits of its StableHash64 (a fingerprint's text is no
// label: it can run to kilobytes).
std::string FingerprintId(std::string_view fingerprint);

struct QueryRuns {
  uint64_t runs = 0;
  double seconds = 0;  // of the runs that reported a duration
};

// Thread-safe.
class QueryTally {
 public:
  // Exports the `exported` fingerprints with the most seconds; counts at most `tracked`
  // fingerprints (queries of a fingerprint first seen past that are left out), so that neither
  // the series nor the memory grow with the app's queries.
  explicit QueryTally(size_t exported = 20, size_t tracked = 10'000)
      : exported_(exported), tracked_(tracked) {}

  void Add(const std::string& fingerprint, const QueryRuns& runs);
  // mingus_collector_db_queries_total and mingus_collector_db_query_seconds_total
  // {fingerprint_id}, and mingus_collector_db_fingerprints (the fingerprints counted).
  void AppendFamilies(std::vector<prometheus::MetricFamily>& out) const;

 private:
  const size_t exported_, tracked_;
  mutable std::mutex mutex_;
  std::map<std::string, QueryRuns, std::less<>> by_fingerprint_;
};

}  // namespace mingus::collector::db
