#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/common/status.h"
#include "mingus/sqlite/database.h"

// Slow-query digests: the app's `db` events grouped by the query's fingerprint, with the
// figures that say which queries cost the most, and N+1 findings (one fingerprint run many
// times within one request).
namespace mingus::collector::db {

// One `db` event as business_intelligence.db keeps it.
struct DbEvent {
  int64_t time_ms = 0;
  std::string query;
  double duration_ms = 0;
  std::optional<double> rows;
  std::string request_id;  // empty when the app sent none
};

struct DigestOptions {
  // A fingerprint is slow when the 95th percentile of its durations reaches this.
  double slow_ms = 100;
  // N+1: a fingerprint run at least this many times within one request.
  int64_t n_plus_one_min = 10;
};

struct Digest {
  std::string fingerprint;
  std::string operation;            // select, update, ... (the query's first word)
  std::vector<std::string> tables;  // the tables it names
  int64_t count = 0;
  int64_t slow_count = 0;  // runs at or above the slow threshold
  double total_ms = 0, average_ms = 0, p95_ms = 0, max_ms = 0;
  std::optional<double> rows_total, rows_average;  // over the runs that reported rows
  int64_t first_seen_ms = 0, last_seen_ms = 0;
  std::string sample;  // the slowest run's query, as the app sent it (literals and all)
  bool slow = false;
};

struct NPlusOne {
  std::string fingerprint;
  int64_t requests = 0;            // requests that ran it n_plus_one_min times or more
  int64_t max_runs = 0;            // in one request
  std::string example_request_id;  // the request with max_runs
  double example_total_ms = 0;     // the time those runs took together
};

// Not thread-safe; memory grows with the events added (a duration each, and one entry per
// request and fingerprint).
class DigestBuilder {
 public:
  explicit DigestBuilder(DigestOptions options) : options_(options) {}

  void Add(const DbEvent& event);
  // Slowest total first.
  std::vector<Digest> Digests() const;
  // Most runs in one request first.
  std::vector<NPlusOne> NPlusOnes() const;
  int64_t events() const { return events_; }

 private:
  struct Entry {
    Digest digest;
    std::vector<double> durations;
    int64_t runs_with_rows = 0;
  };
  struct RequestRuns {
    int64_t runs = 0;
    double total_ms = 0;
  };
  DigestOptions options_;
  std::map<std::string, Entry> entries_;                                    // by fingerprint
  std::map<std::pair<std::string, std::string>, RequestRuns> per_request_;  // fingerprint, id
  int64_t events_ = 0;
};

// Calls `event` with every `db` event of business_intelligence.db from `since_ms` on, oldest
// first, at most `limit` (the newest ones when there are more). Returns how many there were.
StatusOr<int64_t> ReadDbEvents(sqlite::Database& db, int64_t since_ms, int64_t limit,
                               const std::function<void(const DbEvent&)>& event);

}  // namespace mingus::collector::db
