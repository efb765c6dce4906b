#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "mingus/collector/tsdb/head.h"
#include "mingus/common/status.h"

namespace mingus::sqlite {
class Database;
}

namespace mingus::collector::tsdb {

struct FlushStats {
  size_t series = 0;  // series with something written
  size_t chunks = 0;
  size_t bytes = 0;
};

struct LoadStats {
  size_t series = 0;
  size_t chunks = 0;
  size_t corrupt_chunks = 0;  // refused by the head: reported, left in the file
  std::string moved_aside;    // a corrupt database file renamed at open
};

// The head's chunks in SQLite (performance_metrics.db, WAL): a `series` table of label sets
// and a `chunks` table of encoded chunks keyed by series and start time. Each flush writes,
// in one transaction, the chunks closed since the last flush and each open chunk that grew
// (replacing its previous copy), so a crash loses at most what came after the last flush.
// Not thread-safe: one flusher at a time.
class ChunkStore {
 public:
  static StatusOr<std::unique_ptr<ChunkStore>> Open(const std::string& path);
  ~ChunkStore();

  // Puts every stored chunk back into the head (at start, before scraping).
  StatusOr<LoadStats> Load(Head& head);
  StatusOr<FlushStats> Flush(Head& head);
  // Deletes chunks that end before min_t, and series left without chunks.
  Status DeleteBefore(int64_t min_t);
  // Bytes of the database file and its WAL.
  uint64_t DiskBytes() const;

 private:
  explicit ChunkStore(std::unique_ptr<sqlite::Database> db);
  StatusOr<int64_t> SeriesId(SeriesRef ref, const Labels& labels);

  std::unique_ptr<sqlite::Database> db_;
  std::unordered_map<SeriesRef, int64_t> ids_;  // head series -> series.id
};

}  // namespace mingus::collector::tsdb
