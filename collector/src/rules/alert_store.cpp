#include "mingus/collector/rules/alert_store.h"

#include <spdlog/spdlog.h>

namespace mingus::collector::rules {

namespace {

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS groups (
  group_key TEXT PRIMARY KEY,  -- FILE;NAME
  last_evaluation_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
  group_key TEXT NOT NULL,
  rule TEXT NOT NULL,
  labels TEXT NOT NULL,        -- LabelsString form
  annotations TEXT NOT NULL,   -- LabelsString form
  state INTEGER NOT NULL,      -- 0 inactive (resolved), 1 pending, 2 firing
  value REAL NOT NULL,
  active_at_ms INTEGER NOT NULL,
  fired_at_ms INTEGER NOT NULL,
  resolved_at_ms INTEGER NOT NULL,
  last_sent_at_ms INTEGER NOT NULL,
  valid_until_ms INTEGER NOT NULL,
  PRIMARY KEY (group_key, rule, labels)
) WITHOUT ROWID;
)";

}  // namespace

StatusOr<std::unique_ptr<AlertStore>> AlertStore::Open(const std::string& path) {
  auto db = sqlite::Database::Open(path);
  if (!db.ok()) return db.status();
  if (const Status status = (*db)->Exec(kSchema); !status.ok()) return status;
  return std::unique_ptr<AlertStore>(new AlertStore(std::move(db).value()));
}

StatusOr<std::map<std::string, AlertStore::SavedGroup>> AlertStore::Load() {
  std::map<std::string, SavedGroup> out;
  auto groups = db_->Prepare("SELECT group_key, last_evaluation_ms FROM groups");
  if (!groups.ok()) return groups.status();
  while (groups->Step()) out[std::string(groups->Text(0))].last_evaluation_ms = groups->Int(1);
  if (!groups->status().ok()) return groups->status();

  auto alerts = db_->Prepare(
      "SELECT group_key, rule, labels, annotations, state, value, active_at_ms, fired_at_ms, "
      "resolved_at_ms, last_sent_at_ms, valid_until_ms FROM alerts");
  if (!alerts.ok()) return alerts.status();
  while (alerts->Step()) {
    auto labels = tsdb::ParseLabelsString(alerts->Text(2));
    auto annotations = tsdb::ParseLabelsString(alerts->Text(3));
    const int64_t state = alerts->Int(4);
    if (!labels.ok() || !annotations.ok() || state < 0 || state > 2) {
      spdlog::error("{}: skipping an unreadable alert of rule {}: {}", db_->path(), alerts->Text(1),
                    alerts->Text(2));
      continue;
    }
    Alert alert;
    alert.labels = std::move(*labels);
    alert.annotations = std::move(*annotations);
    alert.state = static_cast<AlertState>(state);
    alert.value = alerts->Double(5);
    alert.active_at_ms = alerts->Int(6);
    alert.fired_at_ms = alerts->Int(7);
    alert.resolved_at_ms = alerts->Int(8);
    alert.last_sent_at_ms = alerts->Int(9);
    alert.valid_until_ms = alerts->Int(10);
    out[std::string(alerts->Text(0))].alerts_by_rule.emplace(std::string(alerts->Text(1)),
                                                             std::move(alert));
  }
  if (!alerts->status().ok()) return alerts->status();
  return out;
}

Status AlertStore::Save(const std::string& group_key, int64_t last_evaluation_ms,
                        const std::multimap<std::string, Alert>* alerts) {
  sqlite::Transaction transaction(*db_);
  if (!transaction.status().ok()) return transaction.status();
  auto upsert = db_->Prepare(
      "INSERT INTO groups(group_key, last_evaluation_ms) VALUES (?1, ?2) "
      "ON CONFLICT(group_key) DO UPDATE SET last_evaluation_ms = excluded.last_evaluation_ms");
  if (!upsert.ok()) return upsert.status();
  if (Status status = upsert->Bind(1, group_key).Bind(2, last_evaluation_ms).Run(); !status.ok())
    return status;
  if (alerts != nullptr) {
    auto clear = db_->Prepare("DELETE FROM alerts WHERE group_key = ?1");
    if (!clear.ok()) return clear.status();
    if (Status status = clear->Bind(1, group_key).Run(); !status.ok()) return status;
    auto insert =
        db_->Prepare("INSERT INTO alerts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!insert.ok()) return insert.status();
    for (const auto& [rule, alert] : *alerts) {
      insert->Reset();
      insert->Bind(1, group_key)
          .Bind(2, rule)
          .Bind(3, tsdb::LabelsString(alert.labels))
          .Bind(4, tsdb::LabelsString(alert.annotations))
          .Bind(5, static_cast<int64_t>(alert.state))
          .Bind(6, alert.value)
          .Bind(7, alert.active_at_ms)
          .Bind(8, alert.fired_at_ms)
          .Bind(9, alert.resolved_at_ms)
          .Bind(10, alert.last_sent_at_ms)
          .Bind(11, alert.valid_until_ms);
      if (Status status = insert->Run(); !status.ok()) return status;
    }
  }
  return transaction.Commit();
}

Status AlertStore::Forget(const std::string& group_key) {
  sqlite::Transaction transaction(*db_);
  if (!transaction.status().ok()) return transaction.status();
  for (const char* sql :
       {"DELETE FROM alerts WHERE group_key = ?1", "DELETE FROM groups WHERE group_key = ?1"}) {
    auto statement = db_->Prepare(sql);
    if (!statement.ok()) return statement.status();
    if (Status status = statement->Bind(1, group_key).Run(); !status.ok()) return status;
  }
  return transaction.Commit();
}

}  // namespace mingus::collector::rules
