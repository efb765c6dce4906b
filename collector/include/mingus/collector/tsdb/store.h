#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "mingus/collector/tsdb/head.h"
#include "mingus/common/status.h"

namespace mingus::sqlite {
class Database;
class Statement;
}

namespace mingus::collector::tsdb {

struct FlushStats {
  size_t series = 0;       // series with something written
  size_t chunks = 0;       // closed chunks, each written once
  size_t open_chunks = 0;  // open chunks, written at every flush
  size_t bytes = 0;
};

struct LoadStats {
  size_t series = 0;
  size_t chunks = 0;
  size_t corrupt_chunks = 0;  // refused by the head: reported, left in the file
  std::string moved_aside;    // a corrupt database file renamed at open
};

// The head's chunks in SQLite (performance_metrics.db, WAL): a `series` table of label sets,
// a `chunks` table of encoded chunks keyed by series and start time, and `open_chunks`, the
// open chunks of the last flush packed into a few large rows. Each flush writes, in one
// transaction, the chunks closed since the last flush and a new copy of every open chunk,
// so a crash loses at most what came after the last flush. At load the open chunks of the
// last run become ordinary chunks. Not thread-safe: one flusher at a time.
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
  struct SeriesStatements {
    sqlite::Statement& insert;  // INSERT OR IGNORE of the labels
    sqlite::Statement& select;  // the id of labels stored already
  };
  // The series' row id, stored on first sight.
  StatusOr<int64_t> SeriesId(SeriesRef ref, const Labels& labels, SeriesStatements& statements);
  Status MoveOpenChunksToChunks();

  std::unique_ptr<sqlite::Database> db_;
  boost::unordered_flat_map<SeriesRef, int64_t> ids_;  // head series -> series.id
  boost::unordered_flat_set<int64_t> open_ids_;        // series.id of the open chunks last flushed
  std::vector<int64_t> no_longer_open_;  // in open_ids_ once, not since: DeleteBefore looks at them
};

}  // namespace mingus::collector::tsdb
