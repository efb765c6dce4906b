#include "mingus/sqlite/database.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "mingus/sqlite/memory.h"

namespace mingus::sqlite {

namespace {

Status Error(sqlite3* db, std::string_view what) {
  return Status::Error(
      fmt::format("{}: {}", what, db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

// Opens and, with kQuickCheck, checks; an error means the file could not be used as it is.
StatusOr<sqlite3*> OpenChecked(const std::string& path, Database::Check check) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status status = Error(db, fmt::format("sqlite {}: open", path));
    sqlite3_close(db);
    return status;
  }
  sqlite3_busy_timeout(db, 5000);
  std::string verdict;
  const auto collect = [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) += values[0] != nullptr ? values[0] : "";
    return 0;
  };
  char* message = nullptr;
  const bool quick_check = check == Database::Check::kQuickCheck;
  const std::string sql = fmt::format("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;{}",
                                      quick_check ? " PRAGMA quick_check;" : "");
  if (sqlite3_exec(db, sql.c_str(), collect, &verdict, &message) != SQLITE_OK) {
    Status status =
        Status::Error(fmt::format("sqlite {}: {}", path, message != nullptr ? message : "?"));
    sqlite3_free(message);
    sqlite3_close(db);
    return status;
  }
  // journal_mode answers "wal", quick_check "ok".
  if (verdict != (quick_check ? "walok" : "wal")) {
    sqlite3_close(db);
    return Status::Error(fmt::format("sqlite {}: quick_check: {}", path, verdict));
  }
  return db;
}

}  // namespace

Statement::Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      statement_(std::exchange(other.statement_, nullptr)),
      status_(std::move(other.status_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(statement_);
    db_ = other.db_;
    statement_ = std::exchange(other.statement_, nullptr);
    status_ = std::move(other.status_);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(statement_); }

void Statement::Fail(int code) {
  if (code == SQLITE_OK || !status_.ok()) return;
  status_ = Status::Error(
      fmt::format("sqlite: {} (in '{}')", sqlite3_errmsg(db_), sqlite3_sql(statement_)));
}

Statement& Statement::Bind(int index, int64_t value) {
  Fail(sqlite3_bind_int64(statement_, index, value));
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  Fail(sqlite3_bind_double(statement_, index, value));
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  Fail(sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                           SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  // A zero-length blob must not bind as NULL, so never pass a null pointer.
  static const char kEmpty = 0;
  Fail(sqlite3_bind_blob64(statement_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                           SQLITE_TRANSIENT));
  return *this;
}

bool Statement::Step() {
  if (!status_.ok()) return false;
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code != SQLITE_DONE) Fail(code);
  return false;
}

Status Statement::Run() {
  while (Step()) {
  }
  Status status = status_;
  Reset();
  return status;
}

void Statement::Reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  status_ = OkStatus();
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(statement_, column); }
double Statement::Double(int column) const { return sqlite3_column_double(statement_, column); }

std::string_view Statement::Text(int column) const {
  const auto* text = sqlite3_column_text(statement_, column);
  return {reinterpret_cast<const char*>(text),
          static_cast<size_t>(sqlite3_column_bytes(statement_, column))};
}

std::string_view Statement::Blob(int column) const {
  const void* blob = sqlite3_column_blob(statement_, column);
  return {static_cast<const char*>(blob),
          static_cast<size_t>(sqlite3_column_bytes(statement_, column))};
}

int Statement::ColumnCount() const { return sqlite3_column_count(statement_); }

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

Database::Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

Database::~Database() { sqlite3_close_v2(db_); }

StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path, Check check) {
  auto db = OpenChecked(path, check);
  std::string moved_aside;
  if (!db.ok()) {
    if (check == Check::kTrusted) return db.status();
    std::error_code error;
    if (!std::filesystem::exists(path, error)) return db.status();  // not corruption: a bad path
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    moved_aside = fmt::format("{}.corrupt-{}", path, now);
    std::filesystem::rename(path, moved_aside, error);
    if (error) {
      return Status::Error(fmt::format("{}; moving it aside to {} failed: {}", db.message(),
                                       moved_aside, error.message()));
    }
    for (const char* suffix : {"-wal", "-shm"}) {
      std::filesystem::rename(path + suffix, moved_aside + suffix, error);
    }
    db = OpenChecked(path, check);
    if (!db.ok()) return db.status();
  }
  auto database = std::unique_ptr<Database>(new Database(*db, path));
  database->moved_aside_ = std::move(moved_aside);
  return database;
}

StatusOr<std::unique_ptr<Database>> Database::OpenExisting(const std::string& path, Access access,
                                                           std::chrono::milliseconds busy_timeout) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return Status::Error(fmt::format("sqlite {}: no such file", path));
  }
  sqlite3* db = nullptr;
  const int flags = (access == Access::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                    SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status status = Error(db, fmt::format("sqlite {}: open", path));
    sqlite3_close(db);
    return status;
  }
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  auto database = std::unique_ptr<Database>(new Database(db, path));
  // Opening reads nothing: read the schema now, so that a file that is not a database (or is
  // locked) is reported here rather than by the first statement.
  if (Status status = database->Exec("SELECT count(*) FROM sqlite_schema"); !status.ok())
    return status;
  return database;
}

Status Database::CopyTo(const std::string& path) const {
  sqlite3* copy = nullptr;
  if (sqlite3_open_v2(path.c_str(), &copy, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Status status = Error(copy, fmt::format("sqlite {}: open", path));
    sqlite3_close(copy);
    return status;
  }
  sqlite3_backup* backup = sqlite3_backup_init(copy, "main", db_, "main");
  if (backup == nullptr) {
    Status status = Error(copy, fmt::format("sqlite {}: copy to {}", path_, path));
    sqlite3_close(copy);
    return status;
  }
  const int step = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  Status status = step == SQLITE_DONE
                      ? OkStatus()
                      : Status::Error(fmt::format("sqlite {}: copy to {}: {}", path_, path,
                                                  sqlite3_errstr(step)));
  sqlite3_close(copy);
  return status;
}

void Database::SetProgressHandler(int instructions, std::function<bool()> stop) {
  if (!stop) {
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    stop_.reset();
    return;
  }
  stop_ = std::make_unique<std::function<bool()>>(std::move(stop));
  sqlite3_progress_handler(
      db_, instructions,
      [](void* stop) { return (*static_cast<std::function<bool()>*>(stop))() ? 1 : 0; },
      stop_.get());
}

Status Database::Exec(std::string_view sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    Status status =
        Status::Error(fmt::format("sqlite {}: {}", path_, message != nullptr ? message : "?"));
    sqlite3_free(message);
    return status;
  }
  return OkStatus();
}

StatusOr<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
      SQLITE_OK) {
    return Error(db_, fmt::format("sqlite {}: prepare '{}'", path_, sql));
  }
  return Statement(db_, statement);
}

int64_t Database::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }

int64_t Database::Changes() const { return sqlite3_changes64(db_); }

uint64_t Database::DiskBytes() const {
  uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code error;
    const auto size = std::filesystem::file_size(path_ + suffix, error);
    if (!error) total += size;
  }
  return total;
}

uint64_t MemoryUsed() { return static_cast<uint64_t>(sqlite3_memory_used()); }

Transaction::Transaction(Database& db) : db_(db), begin_(db.Exec("BEGIN")) {}

Transaction::~Transaction() {
  if (begin_.ok() && !done_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!begin_.ok()) return begin_;
  Status status = db_.Exec("COMMIT");
  done_ = status.ok();
  return status;
}

}  // namespace mingus::sqlite
