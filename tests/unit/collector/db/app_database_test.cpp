#include "mingus/collector/db/app_database.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "mingus/common/clock.h"
#include "temp_dir.h"

namespace mingus::collector::db {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::chrono::milliseconds kShortWait{50};

class AppDatabaseTest : public ::testing::Test {
 protected:
  AppDatabaseTest() : dir_("app-database") {
    auto db = sqlite::Database::Open(path());
    EXPECT_TRUE(db.ok()) << db.message();
    // A rollback journal, as many apps have: a writer's lock then keeps readers out too.
    EXPECT_TRUE((*db)->Exec("PRAGMA journal_mode=DELETE").ok());
    EXPECT_TRUE((*db)
                    ->Exec(R"(
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, country TEXT);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, status TEXT, total REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO orders (user_id, status, total) SELECT i % 997, 'paid', i * 0.5 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 997)
INSERT INTO users (id, email, country) SELECT i, 'u' || i || '@x', 'c' || (i % 30) FROM n;)")
                    .ok());
  }
  std::string path() const { return (dir_.path() / "app.db").string(); }
  AppDatabaseOptions Options() const {
    return {.busy_timeout = kShortWait, .scratch_directory = dir_.path().string(), .runs = 3};
  }
  int64_t IndexCount() {
    auto db =
        sqlite::Database::OpenExisting(path(), sqlite::Database::Access::kReadOnly, kShortWait);
    auto count = (*db)->Prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'index'");
    EXPECT_TRUE(count->Step());
    return count->Int(0);
  }
  IndexSuggestion Suggestion(std::string_view query) {
    const auto advice = AdviseIndexes(ReadQueryShape(query), {});
    EXPECT_FALSE(advice.suggestions.empty()) << advice.reason;
    return advice.suggestions.front();
  }

  testing::TempDir dir_;
};

TEST_F(AppDatabaseTest, ReadsTablesColumnsIndexesAndTheRowid) {
  auto app = AppDatabase::Open(path(), Options());
  ASSERT_TRUE(app.ok()) << app.message();
  const Schema& schema = (*app)->schema();
  EXPECT_THAT(schema.columns.at("users"), ElementsAre("id", "email", "country"));
  EXPECT_THAT(schema.columns.at("orders"), ElementsAre("id", "user_id", "status", "total"));
  ASSERT_EQ(schema.indexes.at("users").size(), 2u);
  EXPECT_EQ(schema.indexes.at("users")[0].name, "rowid");
  EXPECT_THAT(schema.indexes.at("users")[1].columns, ElementsAre("email"));
}

TEST_F(AppDatabaseTest, VerifiesOnACopyAndLeavesTheDatabaseAlone) {
  const int64_t indexes_before = IndexCount();
  const auto before_bytes = std::filesystem::file_size(path());
  {
    auto app = AppDatabase::Open(path(), Options());
    ASSERT_TRUE(app.ok()) << app.message();
    const std::string query = "SELECT total FROM orders WHERE user_id = 42 ORDER BY total";
    const auto verification = (*app)->Verify(Suggestion(query), query);
    EXPECT_TRUE(verification.verified) << verification.reason;
    EXPECT_THAT(verification.plan_before, Contains("SCAN orders"));
    EXPECT_THAT(verification.plan_after,
                ElementsAre("SEARCH orders USING COVERING INDEX mingus_orders_user_id_total "
                            "(user_id=?)"));
    EXPECT_EQ(verification.runs, 3);
    EXPECT_GT(verification.ms_before, verification.ms_after);
    EXPECT_THAT(verification.reason, IsEmpty());
    // Measured alone: the index is gone from the copy again, so the next check starts afresh.
    const auto again = (*app)->Verify(Suggestion(query), query);
    EXPECT_THAT(again.plan_before, Contains("SCAN orders"));
  }
  EXPECT_EQ(IndexCount(), indexes_before);
  EXPECT_EQ(std::filesystem::file_size(path()), before_bytes);
  // The copy went with the AppDatabase: only the app's file is left in the directory.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(AppDatabaseTest, NotVerifiedSaysWhy) {
  auto app = AppDatabase::Open(path(), Options());
  ASSERT_TRUE(app.ok()) << app.message();
  // The plan already searches by the rowid.
  auto result = (*app)->Verify(Suggestion("SELECT * FROM orders WHERE id = 5"),
                               "SELECT * FROM orders WHERE id = 5");
  EXPECT_FALSE(result.verified);
  EXPECT_THAT(result.reason, HasSubstr("scans no table without an index"));
  // SQLite cannot run it.
  result = (*app)->Verify(Suggestion("SELECT * FROM nowhere WHERE a = 1"),
                          "SELECT * FROM nowhere WHERE a = 1");
  EXPECT_FALSE(result.verified);
  EXPECT_THAT(result.reason, HasSubstr("no such table: nowhere"));
  // An expression on the column keeps the planner off the index.
  IndexSuggestion unused = Suggestion("SELECT * FROM orders WHERE status = 'paid'");
  result = (*app)->Verify(unused, "SELECT * FROM orders WHERE status || '' = 'paid'");
  EXPECT_FALSE(result.verified);
  EXPECT_THAT(result.reason, HasSubstr("the planner does not use it"));
}

TEST_F(AppDatabaseTest, AnOrAcrossColumnsIsMeasuredWithAnIndexPerBranch) {
  auto app = AppDatabase::Open(path(), Options());
  ASSERT_TRUE(app.ok()) << app.message();
  const std::string query = "SELECT id FROM orders WHERE user_id = 42 OR total = 7.5";
  const auto advice = AdviseIndexes(ReadQueryShape(query), {});
  ASSERT_EQ(advice.suggestions.size(), 2u);
  const auto& by_user = advice.suggestions[0];
  const auto& by_total = advice.suggestions[1];
  // Alone, an index for one branch leaves the other to a full scan: the planner scans.
  auto alone = (*app)->Verify(by_user, query);
  EXPECT_FALSE(alone.verified);
  EXPECT_THAT(alone.reason, HasSubstr("the planner does not use it"));
  // Beside the other branch's, SQLite reads each branch by its index (MULTI-INDEX OR).
  const auto together = (*app)->Verify(by_user, query, {by_total});
  EXPECT_TRUE(together.verified) << together.reason;
  EXPECT_THAT(together.plan_after, Contains("MULTI-INDEX OR"));
  EXPECT_THAT(together.reason, HasSubstr("measured beside mingus_orders_total"));
  // Both were dropped again.
  alone = (*app)->Verify(by_total, query);
  EXPECT_THAT(alone.plan_before, Contains("SCAN orders"));
  EXPECT_FALSE(alone.verified);
}

// A clock that moves a second each time it is read: every run of a sample outlasts any
// sample_timeout under a second at the first look.
class TickingClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    now_ += std::chrono::seconds(1);
    return now_;
  }

 private:
  mutable std::chrono::system_clock::time_point now_{std::chrono::seconds(1'800'000'000)};
};

TEST_F(AppDatabaseTest, ASampleRunningPastTheTimeoutIsCappedNotVerified) {
  const TickingClock clock;
  AppDatabaseOptions options = Options();
  options.sample_timeout = std::chrono::milliseconds(1500);
  options.clock = &clock;
  auto app = AppDatabase::Open(path(), options);
  ASSERT_TRUE(app.ok()) << app.message();
  const std::string query = "SELECT total FROM orders WHERE user_id = 42";
  const auto result = (*app)->Verify(Suggestion(query), query);
  EXPECT_FALSE(result.verified);
  EXPECT_TRUE(result.capped);
  EXPECT_EQ(result.runs, 1);
  EXPECT_THAT(result.reason, HasSubstr("capped: a run of the sample without the index took "
                                       "longer than sample_timeout (1500 ms)"));
  // With room for the clock's few hundred looks (a second each), the same runs are measured.
  options.sample_timeout = std::chrono::hours(1);
  auto roomy = AppDatabase::Open(path(), options);
  ASSERT_TRUE(roomy.ok()) << roomy.message();
  const auto measured = (*roomy)->Verify(Suggestion(query), query);
  EXPECT_TRUE(measured.verified) << measured.reason;
  EXPECT_FALSE(measured.capped);
}

TEST_F(AppDatabaseTest, PlaceholdersRunWithNullsAndSaySo) {
  auto app = AppDatabase::Open(path(), Options());
  ASSERT_TRUE(app.ok()) << app.message();
  const std::string query = "SELECT * FROM orders WHERE user_id = ?";
  const auto result = (*app)->Verify(Suggestion(query), query);
  EXPECT_TRUE(result.verified) << result.reason;
  EXPECT_THAT(result.reason, HasSubstr("placeholders"));
}

TEST_F(AppDatabaseTest, WritingSamplesAreRolledBack) {
  auto app = AppDatabase::Open(path(), Options());
  ASSERT_TRUE(app.ok()) << app.message();
  const std::string query = "DELETE FROM orders WHERE user_id = 7";
  const auto result = (*app)->Verify(Suggestion(query), query);
  EXPECT_TRUE(result.verified) << result.reason;
  const std::string count = "SELECT count(*) FROM orders WHERE user_id = 7";
  const auto again = (*app)->Verify(Suggestion(count), count);
  EXPECT_TRUE(again.verified) << again.reason;
  // Still there in the copy: a second verification of the delete plans the same scan.
  EXPECT_THAT((*app)->Verify(Suggestion(query), query).plan_before, Contains("SCAN orders"));
}

TEST_F(AppDatabaseTest, AMissingDatabaseIsReportedAndNotCreated) {
  const std::string missing = (dir_.path() / "nope" / "app.db").string();
  auto app = AppDatabase::Open(missing, Options());
  ASSERT_FALSE(app.ok());
  EXPECT_THAT(app.message(), HasSubstr("no such file"));
  const auto applied =
      ApplyIndexes(missing, {Suggestion("SELECT * FROM t WHERE a = 1")}, kShortWait);
  ASSERT_FALSE(applied.ok());
  EXPECT_THAT(applied.message(), HasSubstr("no such file"));
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST_F(AppDatabaseTest, ALockedDatabaseIsReportedAndNotModified) {
  const int64_t indexes_before = IndexCount();
  auto writer =
      sqlite::Database::OpenExisting(path(), sqlite::Database::Access::kReadWrite, kShortWait);
  ASSERT_TRUE(writer.ok()) << writer.message();
  ASSERT_TRUE((*writer)->Exec("BEGIN IMMEDIATE; UPDATE orders SET total = 0 WHERE id = 1").ok());
  // A pending write: reading goes on, creating an index waits and gives up.
  const auto applied =
      ApplyIndexes(path(), {Suggestion("SELECT * FROM orders WHERE status = ?")}, kShortWait);
  ASSERT_TRUE(applied.ok()) << applied.message();
  ASSERT_EQ(applied->size(), 1u);
  EXPECT_THAT((*applied)[0].status.message(), HasSubstr("database is locked"));
  // An exclusive lock keeps even the read for the copy out.
  ASSERT_TRUE((*writer)->Exec("COMMIT; BEGIN EXCLUSIVE").ok());
  auto app = AppDatabase::Open(path(), Options());
  ASSERT_FALSE(app.ok());
  EXPECT_THAT(app.message(), HasSubstr("database is locked"));
  ASSERT_TRUE((*writer)->Exec("ROLLBACK").ok());
  EXPECT_EQ(IndexCount(), indexes_before);
}

TEST_F(AppDatabaseTest, ApplyCreatesEachIndexInItsOwnTransaction) {
  auto bad = Suggestion("SELECT * FROM orders WHERE status = ?");
  bad.statement = "CREATE INDEX broken ON nowhere (a)";
  const auto applied =
      ApplyIndexes(path(), {bad, Suggestion("SELECT * FROM orders WHERE user_id = ?")}, kShortWait);
  ASSERT_TRUE(applied.ok()) << applied.message();
  ASSERT_EQ(applied->size(), 2u);
  EXPECT_THAT((*applied)[0].status.message(), HasSubstr("no such table"));
  EXPECT_TRUE((*applied)[1].status.ok()) << (*applied)[1].status.message();
  auto app = AppDatabase::Open(path(), Options());
  ASSERT_TRUE(app.ok()) << app.message();
  EXPECT_THAT((*app)->schema().indexes.at("orders"),
              Contains(::testing::Field(&ExistingIndex::name, "mingus_orders_user_id")));
}

}  // namespace
}  // namespace mingus::collector::db
