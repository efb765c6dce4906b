#include "mingus/collector/notify/notify_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "mingus/common/text.h"

namespace mingus::collector::notify {

namespace {

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY,
  receiver TEXT NOT NULL,
  integration TEXT NOT NULL,
  log_key TEXT NOT NULL,
  notification TEXT NOT NULL,  -- JSON
  created_ms INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  deadline_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notification_log (
  log_key TEXT PRIMARY KEY,  -- group key, receiver, integration
  firing TEXT NOT NULL,      -- fingerprints, hex, space-separated
  resolved TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS silences (
  id TEXT PRIMARY KEY,
  matchers TEXT NOT NULL,  -- {name="value", ...} in Alertmanager's matcher syntax
  starts_at_ms INTEGER NOT NULL,
  ends_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  comment TEXT NOT NULL
);
)";

std::string JoinFingerprints(const std::vector<uint64_t>& fingerprints) {
  std::string out;
  for (const uint64_t fingerprint : fingerprints) {
    if (!out.empty()) out.push_back(' ');
    out += fmt::format("{:016x}", fingerprint);
  }
  return out;
}

std::vector<uint64_t> SplitFingerprints(std::string_view text) {
  std::vector<uint64_t> out;
  std::vector<std::string_view> fields;
  text::SplitFields(text, fields);
  for (const auto field : fields) {
    uint64_t value = 0;
    if (std::from_chars(field.data(), field.data() + field.size(), value, 16).ec == std::errc()) {
      out.push_back(value);
    }
  }
  return out;
}

// Runs a statement with bound values; returns its status.
template <typename... Values>
Status Run(sqlite::Database& db, std::string_view sql, const Values&... values) {
  auto statement = db.Prepare(sql);
  if (!statement.ok()) return statement.status();
  int index = 0;
  (statement->Bind(++index, values), ...);
  return statement->Run();
}

}  // namespace

StatusOr<std::unique_ptr<NotifyStore>> NotifyStore::Open(const std::string& path) {
  auto db = sqlite::Database::Open(path);
  if (!db.ok()) return db.status();
  if (const Status status = (*db)->Exec(kSchema); !status.ok()) return status;
  return std::unique_ptr<NotifyStore>(new NotifyStore(std::move(db).value()));
}

Status NotifyStore::PutLog(const std::string& key, const LogEntry& entry) {
  std::lock_guard lock(mutex_);
  return PutLogLocked(key, entry);
}

Status NotifyStore::PutLogLocked(const std::string& key, const LogEntry& entry) {
  return Run(*db_,
             "INSERT OR REPLACE INTO notification_log(log_key, firing, resolved, timestamp_ms) "
             "VALUES (?1, ?2, ?3, ?4)",
             std::string_view(key), std::string_view(JoinFingerprints(entry.firing)),
             std::string_view(JoinFingerprints(entry.resolved)), entry.timestamp_ms);
}

Status NotifyStore::Enqueue(OutboxEntry& notification, const LogEntry& entry) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(*db_);
  if (!transaction.status().ok()) return transaction.status();
  if (Status status =
          Run(*db_,
              "INSERT INTO outbox(receiver, integration, log_key, notification, created_ms, "
              "next_attempt_ms, deadline_ms, attempts, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
              "?7, ?8, ?9)",
              std::string_view(notification.receiver), std::string_view(notification.integration),
              std::string_view(notification.log_key), std::string_view(notification.notification),
              notification.created_ms, notification.next_attempt_ms, notification.deadline_ms,
              notification.attempts, std::string_view(notification.last_error));
      !status.ok()) {
    return status;
  }
  notification.id = db_->LastInsertId();
  if (Status status = PutLogLocked(notification.log_key, entry); !status.ok()) return status;
  return transaction.Commit();
}

StatusOr<std::vector<OutboxEntry>> NotifyStore::Outbox() {
  std::lock_guard lock(mutex_);
  auto select = db_->Prepare(
      "SELECT id, receiver, integration, log_key, notification, created_ms, next_attempt_ms, "
      "deadline_ms, "
      "attempts, last_error FROM outbox ORDER BY id");
  if (!select.ok()) return select.status();
  std::vector<OutboxEntry> out;
  while (select->Step()) {
    out.push_back({select->Int(0), std::string(select->Text(1)), std::string(select->Text(2)),
                   std::string(select->Text(3)), std::string(select->Text(4)), select->Int(5),
                   select->Int(6), select->Int(7), select->Int(8), std::string(select->Text(9))});
  }
  if (!select->status().ok()) return select->status();
  return out;
}

Status NotifyStore::DeleteLocked(int64_t id) {
  return Run(*db_, "DELETE FROM outbox WHERE id = ?1", id);
}

Status NotifyStore::Delivered(int64_t id) {
  std::lock_guard lock(mutex_);
  return DeleteLocked(id);
}

Status NotifyStore::Retry(int64_t id, int64_t attempts, int64_t next_attempt_ms,
                          const std::string& error) {
  std::lock_guard lock(mutex_);
  return Run(*db_,
             "UPDATE outbox SET attempts = ?2, next_attempt_ms = ?3, last_error = ?4 WHERE id = ?1",
             id, attempts, next_attempt_ms, std::string_view(error));
}

Status NotifyStore::GiveUp(const OutboxEntry& notification) {
  std::lock_guard lock(mutex_);
  sqlite::Transaction transaction(*db_);
  if (!transaction.status().ok()) return transaction.status();
  if (Status status = DeleteLocked(notification.id); !status.ok()) return status;
  if (Status status = Run(*db_, "DELETE FROM notification_log WHERE log_key = ?1",
                          std::string_view(notification.log_key));
      !status.ok()) {
    return status;
  }
  return transaction.Commit();
}

StatusOr<std::map<std::string, LogEntry>> NotifyStore::Log() {
  std::lock_guard lock(mutex_);
  auto select =
      db_->Prepare("SELECT log_key, firing, resolved, timestamp_ms FROM notification_log");
  if (!select.ok()) return select.status();
  std::map<std::string, LogEntry> out;
  while (select->Step()) {
    out[std::string(select->Text(0))] = LogEntry{
        SplitFingerprints(select->Text(1)), SplitFingerprints(select->Text(2)), select->Int(3)};
  }
  if (!select->status().ok()) return select->status();
  return out;
}

Status NotifyStore::ForgetLogBefore(int64_t min_ms) {
  std::lock_guard lock(mutex_);
  return Run(*db_, "DELETE FROM notification_log WHERE timestamp_ms < ?1", min_ms);
}

Status NotifyStore::SaveSilence(const Silence& silence) {
  std::lock_guard lock(mutex_);
  return Run(*db_,
             "INSERT OR REPLACE INTO silences(id, matchers, starts_at_ms, ends_at_ms, "
             "updated_at_ms, created_by, "
             "comment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
             std::string_view(silence.id), std::string_view(MatchersString(silence.matchers)),
             silence.starts_at_ms, silence.ends_at_ms, silence.updated_at_ms,
             std::string_view(silence.created_by), std::string_view(silence.comment));
}

StatusOr<std::vector<Silence>> NotifyStore::Silences() {
  std::lock_guard lock(mutex_);
  auto select = db_->Prepare(
      "SELECT id, matchers, starts_at_ms, ends_at_ms, updated_at_ms, created_by, comment FROM "
      "silences "
      "ORDER BY starts_at_ms, id");
  if (!select.ok()) return select.status();
  std::vector<Silence> out;
  while (select->Step()) {
    auto matchers = ParseMatchers(select->Text(1));
    if (!matchers.ok()) {
      spdlog::error("{}: silence {} has unreadable matchers '{}': {}", db_->path(), select->Text(0),
                    select->Text(1), matchers.message());
      continue;
    }
    out.push_back({std::string(select->Text(0)), std::move(*matchers), select->Int(2),
                   select->Int(3), select->Int(4), std::string(select->Text(5)),
                   std::string(select->Text(6))});
  }
  if (!select->status().ok()) return select->status();
  return out;
}

Status NotifyStore::DeleteSilencesEndedBefore(int64_t min_ms) {
  std::lock_guard lock(mutex_);
  return Run(*db_, "DELETE FROM silences WHERE ends_at_ms < ?1", min_ms);
}

}  // namespace mingus::collector::notify
