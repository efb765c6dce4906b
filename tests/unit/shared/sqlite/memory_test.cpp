#include "mingus/sqlite/memory.h"

#include <gtest/gtest.h>

#include "mingus/sqlite/database.h"
#include "temp_dir.h"

namespace mingus::sqlite {
namespace {

// The figure follows a connection's page cache: it grows with the pages the connection holds
// and is given back when the connection closes.
TEST(SqliteMemoryTest, CountsAConnectionsPageCacheUntilItCloses) {
  testing::TempDir dir("sqlite-memory");
  const uint64_t before = MemoryUsed();
  {
    auto db = Database::Open((dir.path() / "test.db").string());
    ASSERT_TRUE(db.ok()) << db.message();
    // 2 000 rows of 4 000 bytes, a page each: about 8 MB of pages, all within a 16 MiB cache.
    ASSERT_TRUE((*db)
                    ->Exec(R"(
PRAGMA cache_size = -16384;
CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO t (payload) SELECT zeroblob(4000) FROM n;)")
                    .ok());
    EXPECT_GT(MemoryUsed(), before + 6'000'000);
  }
  EXPECT_LT(MemoryUsed(), before + 1'000'000);
}

}  // namespace
}  // namespace mingus::sqlite
