#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mingus/collector/notify/route.h"
#include "mingus/common/status.h"
#include "mingus/sqlite/database.h"

// The notifier's durable state in alerts.db: the outbox of notifications accepted and not yet
// delivered, the notification log (what each receiver was last told about each group, so a
// restart sends nothing twice), and silences.
namespace mingus::collector::notify {

struct OutboxEntry {
  int64_t id = 0;  // assigned by Enqueue
  std::string receiver;
  std::string integration;  // "webhook[0]", "email[1]", ...
  std::string log_key;  // the notification log entry it updates: group key + receiver + integration
  std::string notification;  // Notification as JSON (notification.h)
  int64_t created_ms = 0;
  int64_t next_attempt_ms = 0;
  int64_t deadline_ms = 0;  // retries stop here
  int64_t attempts = 0;
  std::string last_error;
};

// Alertmanager's nflog entry: the alerts (by fingerprint) a receiver was last told were firing
// and resolved, and when.
struct LogEntry {
  std::vector<uint64_t> firing;  // sorted
  std::vector<uint64_t> resolved;
  int64_t timestamp_ms = 0;
};

struct Silence {
  std::string id;
  Matchers matchers;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string created_by;
  std::string comment;

  bool ActiveAt(int64_t now_ms) const { return starts_at_ms <= now_ms && now_ms < ends_at_ms; }
};

// Thread-safe: each call holds the store's lock.
class NotifyStore {
 public:
  static StatusOr<std::unique_ptr<NotifyStore>> Open(const std::string& path);

  // Adds a notification to the outbox and records `entry` in the log, in one transaction:
  // what was accepted is what the log says was sent.
  Status Enqueue(OutboxEntry& notification, const LogEntry& entry);
  StatusOr<std::vector<OutboxEntry>> Outbox();
  Status Delivered(int64_t id);
  Status Retry(int64_t id, int64_t attempts, int64_t next_attempt_ms, const std::string& error);
  // Gives up on a notification: it leaves the outbox and its log entry is forgotten, so that
  // the next flush of its group tries again.
  Status GiveUp(const OutboxEntry& notification);

  StatusOr<std::map<std::string, LogEntry>> Log();
  // Records a log entry without a notification (nothing to send, as when only resolved alerts
  // remain for an integration that does not send them).
  Status PutLog(const std::string& key, const LogEntry& entry);
  // Drops log entries older than min_ms (Alertmanager keeps them for its --data.retention).
  Status ForgetLogBefore(int64_t min_ms);

  Status SaveSilence(const Silence& silence);
  StatusOr<std::vector<Silence>> Silences();
  Status DeleteSilencesEndedBefore(int64_t min_ms);

  const std::string& moved_aside() const { return db_->moved_aside(); }

 private:
  explicit NotifyStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  Status PutLogLocked(const std::string& key, const LogEntry& entry);
  Status DeleteLocked(int64_t id);
  std::mutex mutex_;
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace mingus::collector::notify
