#pragma once

#include <chrono>
#include <cstdint>
#include <string>

// collector.yaml's `db_optimizer:` section: how the app's `db` events become slow-query
// digests, N+1 findings, index suggestions and rewrite hints (GET /api/monitoring/db/report,
// mingus-collector db-advise).
namespace mingus::collector::db {

struct DbOptimizerConfig {
  // A fingerprint is slow (and gets index suggestions) when its p95 reaches this.
  std::chrono::milliseconds slow_threshold{100};
  // N+1: one fingerprint run this many times or more within one request (its request_id).
  int64_t n_plus_one_threshold = 10;
  // The report covers the db events of this long before now, at most max_events of them.
  std::chrono::milliseconds window{24ll * 3600 * 1000};
  int64_t max_events = 1'000'000;
  // Sample queries are shown with their literals replaced by '?' unless this is false.
  bool mask_literals = true;
  // The application's SQLite database (read only): its schema for the suggestions, and a copy
  // on which each one is verified. Empty: suggestions from the queries alone, unverified.
  std::string sqlite_path;
  // Suggestions verified per report (each times its sample query before and after).
  int64_t max_verified = 20;
  // One run of a sample query during verification is stopped past this long, and the
  // suggestion reported as capped rather than verified.
  std::chrono::milliseconds sample_timeout{5000};
  // Rewrite hints: missing LIMIT from this many rows per run on average.
  int64_t large_result_rows = 1000;
};

}  // namespace mingus::collector::db
