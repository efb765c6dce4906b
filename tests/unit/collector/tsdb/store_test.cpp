#include "mingus/collector/tsdb/store.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mingus/sqlite/database.h"
#include "temp_dir.h"

namespace mingus::collector::tsdb {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;

class ChunkStoreTest : public ::testing::Test {
 protected:
  std::string Path() const { return (dir_ / "performance_metrics.db").string(); }
  static Labels L(const std::string& name, const std::string& value) {
    return *MakeLabels({{"__name__", name}, {"v", value}});
  }
  static std::vector<Sample> All(const Head& head, const Labels& labels) {
    for (const auto ref :
         head.Select({*Matcher::Make(Matcher::Op::kEqual, "__name__", labels[0].second)})) {
      if (head.LabelsOf(ref) == labels) return head.Samples(ref, INT64_MIN, INT64_MAX);
    }
    return {};
  }
  mingus::testing::TempDir temp_{"mingus-store"};
  const std::filesystem::path& dir_ = temp_.path();
};

TEST_F(ChunkStoreTest, FlushedChunksComeBackAfterReopen) {
  const Labels a = L("a", "x\"y\\z\nw"), b = L("b", "1");
  Head head;
  const auto ra = head.GetOrCreate(a), rb = head.GetOrCreate(b);
  for (int64_t t = 1; t <= 300; ++t)
    head.Append(ra, t * 1000, static_cast<double>(t));  // 2 closed + open
  head.Append(rb, 5000, 1.5);
  {
    auto store = ChunkStore::Open(Path());
    ASSERT_TRUE(store.ok()) << store.message();
    auto flushed = (*store)->Flush(head);
    ASSERT_TRUE(flushed.ok()) << flushed.message();
    EXPECT_EQ(flushed->chunks, 2u);
    EXPECT_EQ(flushed->open_chunks, 2u);
    EXPECT_EQ(flushed->series, 2u);
    // What the collector reports as the store's size: the database and its write-ahead log.
    EXPECT_EQ((*store)->DiskBytes(), std::filesystem::file_size(Path()) +
                                         std::filesystem::file_size(Path() + "-wal"));
    EXPECT_GT(std::filesystem::file_size(Path() + "-wal"), 0u);
    // Closed chunks are written once; the open ones at every flush.
    flushed = (*store)->Flush(head);
    EXPECT_EQ(flushed->chunks, 0u);
    EXPECT_EQ(flushed->open_chunks, 2u);
    head.Append(ra, 301'000, 301);
    ASSERT_TRUE((*store)->Flush(head).ok());
    head.Append(ra, 302'000, 302);  // after the last flush: lost by a crash
  }
  Head restored;
  auto store = ChunkStore::Open(Path());
  ASSERT_TRUE(store.ok());
  const auto loaded = (*store)->Load(restored);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_EQ(loaded->series, 2u);
  EXPECT_EQ(loaded->chunks, 4u);  // the open chunks of the last run come back closed
  const auto samples = All(restored, a);
  ASSERT_EQ(samples.size(), 301u);
  EXPECT_EQ(samples.back(), (Sample{301'000, 301}));
  EXPECT_EQ(All(restored, b), (std::vector<Sample>{{5000, 1.5}}));
  // The restored series goes on where it stopped; older samples are refused.
  const auto ref = restored.GetOrCreate(a);
  EXPECT_FALSE(restored.Append(ref, 301'000, 0));
  EXPECT_TRUE(restored.Append(ref, 303'000, 303));
  // Nothing of the restored chunks is written again.
  const auto flushed = (*store)->Flush(restored);
  EXPECT_EQ(flushed->chunks, 0u);
  EXPECT_EQ(flushed->open_chunks, 1u);
  // A series stored by an earlier run keeps its row: the next run finds the new sample with
  // the series' other samples.
  store->reset();
  Head third;
  auto reopened = ChunkStore::Open(Path());
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Load(third)->series, 2u);
  EXPECT_EQ(All(third, a).size(), 302u);
  EXPECT_EQ(All(third, a).back(), (Sample{303'000, 303}));
  EXPECT_EQ(All(third, b), (std::vector<Sample>{{5000, 1.5}}));
}

TEST_F(ChunkStoreTest, RetentionKeepsSeriesWhoseOnlyDataIsAnOpenChunk) {
  Head head;
  const auto old_ref = head.GetOrCreate(L("old", "1"));
  for (int64_t t = 1; t <= 121; ++t) head.Append(old_ref, t, 1);  // [1,120] closed, 121 open
  head.Append(head.GetOrCreate(L("new", "1")), 5000, 2);
  auto store = ChunkStore::Open(Path());
  ASSERT_TRUE((*store)->Flush(head).ok());
  ASSERT_TRUE((*store)->DeleteBefore(1000).ok());  // [1,120] goes; both open chunks stay
  Head restored;
  const auto loaded = (*store)->Load(restored);
  EXPECT_EQ(loaded->series, 2u);
  EXPECT_EQ(All(restored, L("new", "1")), (std::vector<Sample>{{5000, 2}}));
  EXPECT_EQ(All(restored, L("old", "1")), (std::vector<Sample>{{121, 1}}));
}

TEST_F(ChunkStoreTest, RetentionDeletesOldChunks) {
  Head head;
  const auto ref = head.GetOrCreate(L("a", "1"));
  for (int64_t t = 1; t <= 240; ++t) head.Append(ref, t, 1);  // chunks [1,120], [121,240]
  auto store = ChunkStore::Open(Path());
  ASSERT_TRUE((*store)->Flush(head).ok());
  ASSERT_TRUE((*store)->DeleteBefore(121).ok());
  Head restored;
  EXPECT_EQ((*store)->Load(restored)->chunks, 1u);
  EXPECT_EQ(All(restored, L("a", "1")).front().timestamp_ms, 121);
  ASSERT_TRUE((*store)->DeleteBefore(1000).ok());
  Head empty;
  EXPECT_EQ((*store)->Load(empty)->series, 0u);
}

TEST_F(ChunkStoreTest, ASeriesThatLeftTheHeadWithOnlyAnOpenChunkIsForgotten) {
  Head head;
  head.Append(head.GetOrCreate(L("brief", "1")), 10, 1);
  head.Append(head.GetOrCreate(L("kept", "1")), 5000, 1);
  auto store = ChunkStore::Open(Path());
  ASSERT_TRUE((*store)->Flush(head).ok());  // both stored, with open chunks only
  ASSERT_TRUE((*store)->DeleteBefore(1000).ok());
  head.Truncate(1000);  // brief's only chunk was open: it leaves the head without being closed
  ASSERT_TRUE((*store)->Flush(head).ok());
  ASSERT_TRUE((*store)->DeleteBefore(1000).ok());
  auto db = sqlite::Database::Open(Path());
  ASSERT_TRUE(db.ok());
  auto labels = (*db)->Prepare("SELECT labels FROM series");
  std::vector<std::string> stored;
  while (labels->Step()) stored.emplace_back(labels->Text(0));
  EXPECT_EQ(stored.size(), 1u);
  EXPECT_THAT(stored, Each(HasSubstr("kept")));
}

TEST_F(ChunkStoreTest, ACorruptFileIsMovedAsideNotDropped) {
  std::ofstream(Path()) << std::string(8192, 'x');
  auto store = ChunkStore::Open(Path());
  ASSERT_TRUE(store.ok()) << store.message();
  Head head;
  const auto loaded = (*store)->Load(head);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(loaded->moved_aside, HasSubstr("performance_metrics.db.corrupt-"));
  EXPECT_TRUE(std::filesystem::exists(loaded->moved_aside));
  EXPECT_EQ(std::filesystem::file_size(loaded->moved_aside), 8192u);
}

TEST_F(ChunkStoreTest, ACorruptChunkIsCountedAndTheRestLoads) {
  Head head;
  const auto a = head.GetOrCreate(L("a", "1"));
  for (int64_t t = 1; t <= 121; ++t) head.Append(a, t * 1000, 1);  // one closed chunk, one open
  head.Append(head.GetOrCreate(L("b", "1")), 1000, 1);
  {
    auto store = ChunkStore::Open(Path());
    ASSERT_TRUE((*store)->Flush(head).ok());
  }
  {
    auto db = sqlite::Database::Open(Path());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE chunks SET data = x'0005ff'").ok());  // a's closed chunk
  }
  auto store = ChunkStore::Open(Path());
  Head restored;
  const auto loaded = (*store)->Load(restored);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->chunks, 2u);  // a's open chunk and b's
  EXPECT_EQ(loaded->corrupt_chunks, 1u);
}

}  // namespace
}  // namespace mingus::collector::tsdb
