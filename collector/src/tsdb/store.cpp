#include "mingus/collector/tsdb/store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "mingus/common/varint.h"
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
-- The open chunks at the last flush, packed many to a row (see PackOpenChunk): rewriting one
-- row per series every flush cost more than everything else the collector does.
CREATE TABLE IF NOT EXISTS open_chunks (
  segment INTEGER PRIMARY KEY,
  data BLOB NOT NULL
);
)";

// Rows of open_chunks hold about this much.
constexpr size_t kSegmentBytes = 1 << 20;
constexpr size_t kFlushBatch = 4096;  // series copied out of the head at a time

// One open chunk in a segment: series id, min_t (zigzag), max_t - min_t, size, bytes.
void PackOpenChunk(std::string& segment, int64_t series_id, const Head::StoredChunk& chunk) {
  PutUvarint(segment, static_cast<uint64_t>(series_id));
  PutUvarint(segment, (static_cast<uint64_t>(chunk.min_t) << 1) ^ static_cast<uint64_t>(chunk.min_t >> 63));
  PutUvarint(segment, static_cast<uint64_t>(chunk.max_t - chunk.min_t));
  PutUvarint(segment, chunk.bytes.size());
  segment += chunk.bytes;
}

}  // namespace

ChunkStore::ChunkStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
ChunkStore::~ChunkStore() = default;

StatusOr<std::unique_ptr<ChunkStore>> ChunkStore::Open(const std::string& path) {
  auto db = sqlite::Database::Open(path);
  if (!db.ok()) return db.status();
  if (const Status status = (*db)->Exec(kSchema); !status.ok()) return status;
  return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(db).value()));
}

Status ChunkStore::MoveOpenChunksToChunks() {
  sqlite::Transaction transaction(*db_);
  if (!transaction.status().ok()) return transaction.status();
  auto segments = db_->Prepare("SELECT segment, data FROM open_chunks ORDER BY segment");
  auto insert = db_->Prepare(
      "INSERT OR REPLACE INTO chunks(series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)");
  if (!segments.ok()) return segments.status();
  if (!insert.ok()) return insert.status();
  while (segments->Step()) {
    std::string_view in = segments->Blob(1);
    while (!in.empty()) {
      uint64_t id = 0, zigzag_min_t = 0, span = 0, size = 0;
      if (!GetUvarint(in, id) || !GetUvarint(in, zigzag_min_t) || !GetUvarint(in, span) ||
          !GetUvarint(in, size) || size > in.size()) {
        spdlog::error("{}: open_chunks segment {} is truncated; the rest of it is skipped", db_->path(),
                      segments->Int(0));
        break;
      }
      const auto min_t = static_cast<int64_t>((zigzag_min_t >> 1) ^ (~(zigzag_min_t & 1) + 1));
      insert->Reset();
      insert->Bind(1, static_cast<int64_t>(id))
          .Bind(2, min_t)
          .Bind(3, min_t + static_cast<int64_t>(span))
          .BindBlob(4, in.substr(0, size));
      if (Status status = insert->Run(); !status.ok()) return status;
      in.remove_prefix(size);
    }
  }
  if (!segments->status().ok()) return segments->status();
  if (Status status = db_->Exec("DELETE FROM open_chunks"); !status.ok()) return status;
  return transaction.Commit();
}

StatusOr<LoadStats> ChunkStore::Load(Head& head) {
  LoadStats stats;
  stats.moved_aside = db_->moved_aside();
  // The open chunks of the last run are closed now: they become ordinary chunks.
  if (Status status = MoveOpenChunksToChunks(); !status.ok()) return status;
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

StatusOr<int64_t> ChunkStore::SeriesId(SeriesRef ref, const Labels& labels,
                                       SeriesStatements& statements) {
  if (const auto it = ids_.find(ref); it != ids_.end()) return it->second;
  const std::string text = LabelsString(labels);
  const auto failed = [&](const Status& status) {
    return Status::Error(fmt::format("{}: storing series {}: {}", db_->path(), text,
                                     status.ok() ? "no id returned" : status.message()));
  };
  statements.insert.Reset();
  statements.insert.Bind(1, text);
  if (Status status = statements.insert.Run(); !status.ok()) return failed(status);
  int64_t id = db_->LastInsertId();
  if (db_->Changes() == 0) {  // stored by an earlier run
    statements.select.Reset();
    statements.select.Bind(1, text);
    if (!statements.select.Step()) return failed(statements.select.status());
    id = statements.select.Int(0);
    statements.select.Reset();
  }
  ids_.emplace(ref, id);
  return id;
}

StatusOr<FlushStats> ChunkStore::Flush(Head& head) {
  FlushStats stats;
  sqlite::Transaction transaction(*db_);
  if (!transaction.status().ok()) return transaction.status();
  // Not an upsert with RETURNING, whose temporary table per row made storing a new series twice
  // as slow (the first flush stores all of them: 200 000 at the benchmark).
  auto insert_series = db_->Prepare("INSERT OR IGNORE INTO series(labels) VALUES (?1)");
  auto select_series = db_->Prepare("SELECT id FROM series WHERE labels = ?1");
  auto insert_chunk =
      db_->Prepare("INSERT OR REPLACE INTO chunks(series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)");
  auto insert_segment = db_->Prepare("INSERT INTO open_chunks(segment, data) VALUES (?1, ?2)");
  for (auto* statement : {&insert_series, &select_series, &insert_chunk, &insert_segment}) {
    if (!statement->ok()) return statement->status();
  }
  SeriesStatements series_statements{*insert_series, *select_series};
  if (Status status = db_->Exec("DELETE FROM open_chunks"); !status.ok()) return status;
  std::string segment;
  int64_t segment_number = 0;
  boost::unordered_flat_set<int64_t> open_ids;
  std::vector<std::pair<SeriesRef, int64_t>> flushed_through;  // to mark once committed
  const auto write_segment = [&]() -> Status {
    insert_segment->Reset();
    insert_segment->Bind(1, segment_number++).BindBlob(2, segment);
    stats.bytes += segment.size();
    segment.clear();
    return insert_segment->Run();
  };
  const auto unknown = [this](SeriesRef ref) { return !ids_.contains(ref); };
  for (SeriesRef from = 1; from != 0;) {
    for (const auto& series : head.ChunksToFlush(from, kFlushBatch, unknown, from)) {
      const auto id = SeriesId(series.ref, series.labels, series_statements);
      if (!id.ok()) return id.status();
      for (const auto& chunk : series.closed) {
        insert_chunk->Reset();
        insert_chunk->Bind(1, *id)
            .Bind(2, chunk.min_t)
            .Bind(3, chunk.max_t)
            .BindBlob(4, chunk.bytes);
        if (Status status = insert_chunk->Run(); !status.ok()) return status;
        ++stats.chunks;
        stats.bytes += chunk.bytes.size();
      }
      if (!series.closed.empty()) flushed_through.emplace_back(series.ref, series.closed_through);
      if (series.open) {
        PackOpenChunk(segment, *id, *series.open);
        open_ids.insert(*id);
        ++stats.open_chunks;
        if (segment.size() >= kSegmentBytes) {
          if (Status status = write_segment(); !status.ok()) return status;
        }
      }
      ++stats.series;
    }
  }
  if (!segment.empty()) {
    if (Status status = write_segment(); !status.ok()) return status;
  }
  if (const Status status = transaction.Commit(); !status.ok()) return status;
  for (const int64_t id : open_ids_) {
    if (!open_ids.contains(id)) no_longer_open_.push_back(id);
  }
  open_ids_ = std::move(open_ids);
  for (const auto& [ref, through] : flushed_through) head.MarkFlushed(ref, through);
  return stats;
}

Status ChunkStore::DeleteBefore(int64_t min_t) {
  // The series that may be left without data: those whose chunks go now (found in the max_t
  // index, which holds the series ids), and those whose open chunk was not flushed again. Only
  // these are looked up: finding series without chunks by a scan read every chunk's data, the
  // whole store, at every flush.
  // (Without DISTINCT: with it SQLite prefers to scan the table in series order.)
  auto expiring = db_->Prepare("SELECT series_id FROM chunks WHERE max_t < ?1");
  auto remove = db_->Prepare("DELETE FROM chunks WHERE max_t < ?1");
  auto has_chunks = db_->Prepare("SELECT 1 FROM chunks WHERE series_id = ?1 LIMIT 1");
  for (auto* statement : {&expiring, &remove, &has_chunks}) {
    if (!statement->ok()) return statement->status();
  }
  std::vector<int64_t> candidates = no_longer_open_;
  expiring->Bind(1, min_t);
  while (expiring->Step()) candidates.push_back(expiring->Int(0));
  if (!expiring->status().ok()) return expiring->status();
  if (const Status status = remove->Bind(1, min_t).Run(); !status.ok()) return status;
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::unordered_set<int64_t> gone;
  for (const int64_t id : candidates) {
    if (open_ids_.contains(id)) continue;
    has_chunks->Reset();
    has_chunks->Bind(1, id);
    const bool kept = has_chunks->Step();
    if (!has_chunks->status().ok()) return has_chunks->status();
    if (!kept) gone.insert(id);
  }
  no_longer_open_.clear();
  if (gone.empty()) return OkStatus();
  // Forget their ids, so a series that comes back is stored anew.
  boost::unordered::erase_if(ids_, [&](const auto& entry) { return gone.contains(entry.second); });
  sqlite::Transaction transaction(*db_);
  auto forget = db_->Prepare("DELETE FROM series WHERE id = ?1");
  if (!forget.ok()) return forget.status();
  for (const int64_t id : gone) {
    if (Status status = forget->Bind(1, id).Run(); !status.ok()) return status;
  }
  return transaction.Commit();
}

uint64_t ChunkStore::DiskBytes() const { return db_->DiskBytes(); }

}  // namespace mingus::collector::tsdb
