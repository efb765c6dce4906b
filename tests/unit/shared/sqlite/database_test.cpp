#include "mingus/sqlite/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.h"

namespace mingus::sqlite {
namespace {

using ::testing::HasSubstr;

// A database whose rows are readable but that fails quick_check: a NULL in a column that the
// schema, rewritten after the insert, declares NOT NULL.
void MakeDamaged(const std::string& path) {
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.message();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (NULL);").ok());
  const Status damaged = (*db)->Exec(
      "PRAGMA writable_schema = ON; "
      "UPDATE sqlite_schema SET sql = 'CREATE TABLE t (a INTEGER NOT NULL)' WHERE name = 't';");
  ASSERT_TRUE(damaged.ok()) << damaged.message();
}

int64_t Rows(Database& db) {
  auto count = db.Prepare("SELECT count(*) FROM t");
  return count.ok() && count->Step() ? count->Int(0) : -1;
}

TEST(SqliteDatabaseTest, QuickCheckMovesADamagedFileAsideAndStartsAfresh) {
  testing::TempDir dir("sqlite-database");
  const std::string path = (dir.path() / "store.db").string();
  ASSERT_NO_FATAL_FAILURE(MakeDamaged(path));
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.message();
  EXPECT_THAT((*db)->moved_aside(), HasSubstr("store.db.corrupt-"));
  EXPECT_TRUE(std::filesystem::exists((*db)->moved_aside()));
  EXPECT_FALSE((*db)->Prepare("SELECT count(*) FROM t").ok());  // a fresh, empty database
}

// A reader beside a writer that checks the file: the damage goes unseen and the file stays.
TEST(SqliteDatabaseTest, TrustedOpenSkipsQuickCheck) {
  testing::TempDir dir("sqlite-database");
  const std::string path = (dir.path() / "store.db").string();
  ASSERT_NO_FATAL_FAILURE(MakeDamaged(path));
  auto db = Database::Open(path, Database::Check::kTrusted);
  ASSERT_TRUE(db.ok()) << db.message();
  EXPECT_EQ((*db)->moved_aside(), "");
  EXPECT_EQ(Rows(**db), 1);
}

// A trusted open never moves the file: one that is not a database is an error, left in place.
TEST(SqliteDatabaseTest, TrustedOpenOfANonDatabaseFailsAndLeavesIt) {
  testing::TempDir dir("sqlite-database");
  const std::string path = (dir.path() / "store.db").string();
  std::ofstream(path) << std::string(8192, 'x');
  auto db = Database::Open(path, Database::Check::kTrusted);
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(db.message(), HasSubstr("not a database"));
  EXPECT_EQ(std::filesystem::file_size(path), 8192u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

}  // namespace
}  // namespace mingus::sqlite
