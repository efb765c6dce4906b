#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "mingus/collector/rules/group.h"
#include "mingus/common/status.h"
#include "mingus/sqlite/database.h"

namespace mingus::collector::rules {

// Alert state in alerts.db (SQLite, WAL), so that a restart neither restarts a `for` clock nor
// announces a firing alert as new.
class AlertStore {
 public:
  struct SavedGroup {
    int64_t last_evaluation_ms = 0;
    std::multimap<std::string, Alert> alerts_by_rule;
  };

  static StatusOr<std::unique_ptr<AlertStore>> Open(const std::string& path);

  // Every group's saved state, by group key. Rows that cannot be read are logged and skipped.
  StatusOr<std::map<std::string, SavedGroup>> Load();
  // Records that the group was evaluated at t and, when `alerts` is given, replaces its alerts.
  Status Save(const std::string& group_key, int64_t last_evaluation_ms,
              const std::multimap<std::string, Alert>* alerts);
  // Forgets groups that are no longer configured.
  Status Forget(const std::string& group_key);

  const std::string& moved_aside() const { return db_->moved_aside(); }

 private:
  explicit AlertStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace mingus::collector::rules
