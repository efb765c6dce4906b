#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "mingus/common/status.h"

struct sqlite3;
struct sqlite3_stmt;

// A thin RAII layer over SQLite for the collector's stores (performance_metrics.db,
// business_intelligence.db, alerts.db): WAL mode, prepared statements, transactions, and
// corrupt files moved aside rather than silently dropped.
namespace mingus::sqlite {

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  // Binds are 1-based, as in SQLite; each returns *this for chaining.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, std::string_view bytes);
  // Runs to the next row: true with a row, false when done; an error is kept in status().
  bool Step();
  // Runs a statement that returns no rows; the error names the statement.
  Status Run();
  // Clears bindings and rewinds, so the statement can run again.
  void Reset();

  int64_t Int(int column) const;
  double Double(int column) const;
  std::string_view Text(int column) const;
  std::string_view Blob(int column) const;
  bool IsNull(int column) const;
  int ColumnCount() const;

  const Status& status() const { return status_; }

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* statement);
  void Fail(int code);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
  Status status_;
};

class Database {
 public:
  // Opens (creating if needed) a database in WAL mode with synchronous=NORMAL: a committed
  // transaction survives a crash of the process. With kQuickCheck, a file that is not a
  // database or fails SQLite's quick_check is renamed to PATH.corrupt-UNIXTIME (and reported
  // in moved_aside()) and a fresh one is created in its place. kTrusted is for a reader of a
  // store whose writer opens it with kQuickCheck: quick_check reads the whole file (seconds for
  // gigabytes), and a reader must not move the writer's file away; an unusable file is an error.
  enum class Check { kQuickCheck, kTrusted };
  static StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                  Check check = Check::kQuickCheck);
  // Opens someone else's database (an application's) as it is: never created, its journal
  // mode left alone, nothing checked or moved. A statement that meets a lock waits up to
  // `busy_timeout`, then fails with "database is locked".
  enum class Access { kReadOnly, kReadWrite };
  static StatusOr<std::unique_ptr<Database>> OpenExisting(const std::string& path, Access access,
                                                          std::chrono::milliseconds busy_timeout);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  StatusOr<Statement> Prepare(std::string_view sql);
  int64_t LastInsertId() const;
  // Rows the last INSERT, UPDATE or DELETE changed (0 for an INSERT that DO NOTHING skipped).
  int64_t Changes() const;

  // Where a corrupt file was moved at open; empty when none was.
  const std::string& moved_aside() const { return moved_aside_; }
  const std::string& path() const { return path_; }
  // Bytes on disk: the database file and its write-ahead log.
  uint64_t DiskBytes() const;
  // Copies the whole database into a new file at `path` (SQLite's online backup), consistent
  // as of one read transaction.
  Status CopyTo(const std::string& path) const;
  // Until cleared (an empty function), every `instructions` virtual machine instructions of a
  // running statement ask `stop`; true interrupts the statement, which fails with
  // "interrupted". Bounds how long someone else's query may run.
  void SetProgressHandler(int instructions, std::function<bool()> stop);

 private:
  Database(sqlite3* db, std::string path);

  sqlite3* db_;
  std::string path_;
  std::string moved_aside_;
  std::unique_ptr<std::function<bool()>> stop_;  // where SQLite's handler finds it
};

// BEGIN on construction; ROLLBACK at destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  const Status& status() const { return begin_; }
  Status Commit();

 private:
  Database& db_;
  Status begin_;
  bool done_ = false;
};

}  // namespace mingus::sqlite
