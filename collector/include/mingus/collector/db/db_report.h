#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mingus/collector/db/app_database.h"
#include "mingus/collector/db/db_optimizer_config.h"
#include "mingus/collector/db/digests.h"
#include "mingus/collector/db/index_advisor.h"
#include "mingus/common/clock.h"
#include "mingus/common/status.h"
#include "mingus/http/message.h"
#include "mingus/sql/rewrite_hints.h"
#include "mingus/sqlite/database.h"

// The database optimizer's report: per fingerprint its digest, index suggestions (verified on
// a copy of the app's database when there is one) or why there are none, and rewrite hints;
// and the N+1 findings.
namespace mingus::collector::db {

struct SuggestionReport {
  IndexSuggestion index;
  std::optional<Verification> verification;  // none: no database, or past max_verified
};

struct FingerprintReport {
  Digest digest;
  std::vector<SuggestionReport> suggestions;  // slow fingerprints only
  std::string no_suggestion;                  // why there are none, for a slow fingerprint
  std::vector<sql::RewriteHint> hints;
};

struct DbReport {
  int64_t generated_ms = 0, since_ms = 0;
  int64_t events = 0;
  DigestOptions options;
  std::string sqlite_path;   // the app's database, when configured
  std::string sqlite_error;  // why it could not be used: missing, locked, not a database
  // The digests are of the queries in this file (db-advise --queries): each taken as slow, but
  // never run by the app, so they have no times, and their count is how often the file has them.
  std::string queries_file;
  std::vector<FingerprintReport> fingerprints;  // slowest total first
  std::vector<NPlusOne> n_plus_one;
};

// `app` may be null (no database, or it could not be opened). The digests slowest total first.
DbReport BuildDbReport(std::vector<Digest> digests, std::vector<NPlusOne> n_plus_one,
                       const DbOptimizerConfig& config, AppDatabase* app);

// The report as JSON; samples masked when config.mask_literals.
std::string DbReportJson(const DbReport& report, bool mask_literals);

// The verified suggestions' CREATE INDEX statements, each after comments that give its
// fingerprint, the plan change and the times; unverified ones commented out with the reason.
std::string DbReportSql(const DbReport& report, bool mask_literals);

// The digests and N+1 findings of a report as DbReportJson wrote them (a running collector's),
// for db-advise --collector.url.
StatusOr<std::pair<std::vector<Digest>, std::vector<NPlusOne>>> DigestsFromJson(
    std::string_view json);

// DigestOptions from the configuration.
DigestOptions DigestOptionsOf(const DbOptimizerConfig& config);
// How the app's database is checked, from the configuration; `clock` bounds the samples' runs.
AppDatabaseOptions AppDatabaseOptionsOf(const DbOptimizerConfig& config, const Clock& clock);

// The report over the db events of a business_intelligence.db (the collector's, or a copy).
StatusOr<DbReport> ComputeDbReport(sqlite::Database& events, const DbOptimizerConfig& config,
                                   const AppDatabaseOptions& app_options, int64_t now_ms);

// GET /api/monitoring/db/report. Reads on a connection of its own. Thread-safe.
class DbOptimizer {
 public:
  static StatusOr<std::unique_ptr<DbOptimizer>> Open(const std::string& store_path,
                                                     DbOptimizerConfig config, const Clock& clock);
  void SetConfig(const DbOptimizerConfig& config);
  http::Response Serve(const http::Request& request);

 private:
  DbOptimizer(std::unique_ptr<sqlite::Database> db, DbOptimizerConfig config, const Clock& clock)
      : db_(std::move(db)), config_(std::move(config)), clock_(clock) {}

  std::mutex mutex_;
  std::unique_ptr<sqlite::Database> db_;
  DbOptimizerConfig config_;
  const Clock& clock_;
};

}  // namespace mingus::collector::db
