#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/db/index_advisor.h"
#include "mingus/common/clock.h"
#include "mingus/common/status.h"
#include "mingus/sqlite/database.h"

// The application's own SQLite database, when the optimizer is given one: its schema for the
// suggestions, and a scratch copy on which each suggestion is checked (the plan before and after
// creating the index, and the sample query's run time). The database itself is only read, except
// by ApplyIndexes, which the operator asks for.
namespace mingus::collector::db {

struct Verification {
  bool verified = false;
  std::string reason;  // why it is not verified, or a caveat of the figures
  std::vector<std::string> plan_before, plan_after;  // EXPLAIN QUERY PLAN's lines
  // The sample's run time without and with it: the least CPU time of the runs (the time of the
  // thread that runs it, which other processes on a busy machine only ever add to).
  double ms_before = 0, ms_after = 0;
  int runs = 0;                        // timed runs each figure is the least of
  bool capped = false;                 // a run took longer than sample_timeout and was stopped
};

struct AppDatabaseOptions {
  std::chrono::milliseconds busy_timeout{1000};  // waiting for the application's locks
  std::string scratch_directory;                 // for the copy; the system's temp when empty
  int runs = 5;  // timed runs of the sample, before and after (after one untimed run)
  std::chrono::milliseconds max_timing{2000};    // fewer runs when they take longer than this
  // One run of a sample is stopped past this long (by the clock below), and the suggestion
  // reported as capped, not verified: a sample that scans a huge table must not hold the
  // report for minutes.
  std::chrono::milliseconds sample_timeout{5000};
  const Clock* clock = nullptr;  // the system's when null
};

// Reads the schema of an open database: tables, their columns, and indexes with their columns
// (an INTEGER PRIMARY KEY as the index "rowid").
StatusOr<Schema> ReadSchema(sqlite::Database& db);

// Not thread-safe: one caller at a time.
class AppDatabase {
 public:
  // Opens `path` read-only (never creating it), reads its schema and copies it for the checks.
  static StatusOr<std::unique_ptr<AppDatabase>> Open(const std::string& path,
                                                     const AppDatabaseOptions& options);
  ~AppDatabase();  // removes the copy
  AppDatabase(const AppDatabase&) = delete;
  AppDatabase& operator=(const AppDatabase&) = delete;

  const Schema& schema() const { return schema_; }
  const std::string& path() const { return path_; }

  // Verified when the sample's plan scans a table (or sorts in a temporary B-tree) without the
  // index, uses the index once it exists on the copy, and the sample runs faster with it (least
  // CPU time of the runs; runs again, in turns without and with the index, when the two are
  // close); the index is dropped again after, so that each suggestion is measured alone. Statements
  // that write run in a transaction that is rolled back. `with` (the other branches of an OR,
  // IndexSuggestion::with; the verified indexes of a join's other tables) exist before and after:
  // the plan and times without the index are with them.
  Verification Verify(const IndexSuggestion& suggestion, std::string_view sample,
                      const std::vector<IndexSuggestion>& with = {});

 private:
  AppDatabase(std::string path, std::string copy_directory, std::unique_ptr<sqlite::Database> copy,
              Schema schema, const AppDatabaseOptions& options);
  StatusOr<std::vector<std::string>> Plan(std::string_view sample);
  struct Timing {
    double least_ms = 0;  // CPU time
    int runs = 0;
    bool capped = false;  // a run was stopped at sample_timeout: least_ms is that
  };
  StatusOr<Timing> Time(std::string_view sample);

  std::string path_, copy_directory_;
  std::unique_ptr<sqlite::Database> copy_;
  Schema schema_;
  AppDatabaseOptions options_;
};

struct Applied {
  std::string statement;
  Status status;
};
// Creates the indexes on the database at `path` (which must exist), each in its own transaction;
// one that meets a lock for longer than busy_timeout fails with "database is locked" and the
// ones after it are still tried. Errors opening the file come back as the Status.
StatusOr<std::vector<Applied>> ApplyIndexes(const std::string& path,
                                            const std::vector<IndexSuggestion>& suggestions,
                                            std::chrono::milliseconds busy_timeout);

}  // namespace mingus::collector::db
