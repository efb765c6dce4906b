#include "mingus/collector/tsdb/store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "mingus/sqlite/database.h"

namespace mingus::collector::tsdb {

namespace {

constexpr std::string_view kSchema = R"(
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  labels TEXT NOT NULL UNIQUE  -- LabelsString form, parsed back at load
);
CREATE TABLE IF NOT EXISTS chunks (
  series_id INTEGER NOT NULL REFERENCES series(id),
  min_t INTEGER NOT NULL,
  max_t INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (series_id, min_t)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_max_t ON chunks(max_t);
)";

}  // namespace

ChunkStore::ChunkStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
ChunkStore::~ChunkStore() = default;

StatusOr<std::unique_ptr<ChunkStore>> ChunkStore::Open(const std::string& path) {
  auto db = sqlite::Database::Open(path);
  if (!db.ok()) return db.status();
  if (const Status status = (*db)->Exec(kSchema); !status.ok()) return status;
  return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(db).value()));
}

StatusOr<LoadStats> ChunkStore::Load(Head& head) {
  LoadStats stats;
  stats.moved_aside = db_->moved_aside();
  auto select = db_->Prepare(
      "SELECT s.id, s.labels, c.min_t, c.max_t, c.data FROM series s JOIN chunks c ON c.series_id "
      "= s.id "
      "ORDER BY s.id, c.min_t");
  if (!select.ok()) return select.status();
  int64_t last_id = -1;
  Labels labels;
  bool labels_ok = false;
  while (select->Step()) {
    const int64_t id = select->Int(0);
    if (id != last_id) {
      last_id = id;
      auto parsed = ParseLabelsString(select->Text(1));
      labels_ok = parsed.ok();
      if (!labels_ok) {
        spdlog::error("{}: series {} has unreadable labels '{}': {}", db_->path(), id,
                      select->Text(1), parsed.message());
      } else {
        labels = std::move(parsed).value();
        ++stats.series;
      }
    }
    const auto bytes = select->Blob(4);
    if (!labels_ok) {
      ++stats.corrupt_chunks;
      continue;
    }
    const Status restored =
        head.RestoreChunk(labels, {select->Int(2), select->Int(3), std::string(bytes)});
    if (!restored.ok()) {
      ++stats.corrupt_chunks;
      spdlog::error("{}: {}", db_->path(), restored.message());
      continue;
    }
    ++stats.chunks;
  }
  if (!select->status().ok()) return select->status();
  return stats;
}

StatusOr<int64_t> ChunkStore::SeriesId(SeriesRef ref, const Labels& labels) {
  if (const auto it = ids_.find(ref); it != ids_.end()) return it->second;
  const std::string key = LabelsString(labels);
  auto insert =
      db_->Prepare("INSERT INTO series(labels) VALUES (?1) ON CONFLICT(labels) DO NOTHING");
  if (!insert.ok()) return insert.status();
  if (const Status status = insert->Bind(1, key).Run(); !status.ok()) return status;
  auto select = db_->Prepare("SELECT id FROM series WHERE labels = ?1");
  if (!select.ok()) return select.status();
  select->Bind(1, key);
  if (!select->Step())
    return Status::Error(fmt::format("{}: series {} not stored", db_->path(), key));
  const int64_t id = select->Int(0);
  ids_.emplace(ref, id);
  return id;
}

StatusOr<FlushStats> ChunkStore::Flush(Head& head) {
  auto pending = head.UnflushedChunks();
  FlushStats stats;
  sqlite::Transaction transaction(*db_);
  if (!transaction.status().ok()) return transaction.status();
  auto upsert = db_->Prepare(
      "INSERT OR REPLACE INTO chunks(series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)");
  if (!upsert.ok()) return upsert.status();
  for (const auto& series : pending) {
    const auto id = SeriesId(series.ref, series.labels);
    if (!id.ok()) return id.status();
    for (const auto& chunk : series.chunks) {
      if (const Status status = upsert->Bind(1, *id)
                                    .Bind(2, chunk.min_t)
                                    .Bind(3, chunk.max_t)
                                    .BindBlob(4, chunk.bytes)
                                    .Run();
          !status.ok()) {
        return status;
      }
      ++stats.chunks;
      stats.bytes += chunk.bytes.size();
    }
    ++stats.series;
  }
  if (const Status status = transaction.Commit(); !status.ok()) return status;
  for (const auto& series : pending)
    head.MarkFlushed(series.ref, series.closed_through, series.open_through);
  return stats;
}

Status ChunkStore::DeleteBefore(int64_t min_t) {
  auto remove = db_->Prepare("DELETE FROM chunks WHERE max_t < ?1");
  if (!remove.ok()) return remove.status();
  if (const Status status = remove->Bind(1, min_t).Run(); !status.ok()) return status;
  // Forget the ids of series deleted below, so a series that comes back is stored anew.
  auto orphans =
      db_->Prepare("SELECT id FROM series WHERE id NOT IN (SELECT DISTINCT series_id FROM chunks)");
  if (!orphans.ok()) return orphans.status();
  std::unordered_map<int64_t, bool> gone;
  while (orphans->Step()) gone.emplace(orphans->Int(0), true);
  if (gone.empty()) return OkStatus();
  std::erase_if(ids_, [&](const auto& entry) { return gone.contains(entry.second); });
  return db_->Exec("DELETE FROM series WHERE id NOT IN (SELECT DISTINCT series_id FROM chunks)");
}

uint64_t ChunkStore::DiskBytes() const {
  uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code error;
    const auto size = std::filesystem::file_size(db_->path() + suffix, error);
    if (!error) total += size;
  }
  return total;
}

}  // namespace mingus::collector::tsdb
