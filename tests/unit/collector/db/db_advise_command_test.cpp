#include "mingus/collector/db/db_advise_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fake_clock.h"
#include "mingus/sqlite/database.h"
#include "temp_dir.h"

namespace mingus::collector::db {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class DbAdviseCommandTest : public ::testing::Test {
 protected:
  DbAdviseCommandTest() : dir_("db-advise") {
    std::ofstream(queries()) << "SELECT * FROM orders WHERE user_id = 7;\n"
                                "SELECT * FROM orders WHERE status = 'x' ORDER BY total;\n";
  }
  std::string queries() const { return (dir_.path() / "queries.sql").string(); }
  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return DbAdviseCommand(args, out_, err_, clock_);
  }

  testing::FakeClock clock_;
  testing::TempDir dir_;
  std::ostringstream out_, err_;
};

TEST_F(DbAdviseCommandTest, BadUsageExitsTwoWithTheReason) {
  EXPECT_EQ(Run({"--nonsense"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("nonsense"));
  EXPECT_EQ(Run({"--queries", queries(), "--collector.url", "http://127.0.0.1:1"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("give one of"));
  EXPECT_EQ(Run({"--queries", queries(), "--apply"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--apply needs the app's database"));
  EXPECT_EQ(Run({"--queries", queries(), "--format", "yaml"}), 2);
  EXPECT_EQ(Run({"--queries", queries(), "extra"}), 2);
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("--sqlite"));
}

TEST_F(DbAdviseCommandTest, WithoutADatabaseTheSuggestionsAreCommentedOut) {
  EXPECT_EQ(Run({"--queries", queries()}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("-- not verified: no database to verify it on\n-- CREATE INDEX "
                                    "IF NOT EXISTS mingus_orders_user_id ON orders (user_id);"));
  EXPECT_THAT(out_.str(), HasSubstr("mingus_orders_status_total ON orders (status, total)"));
  // The file's queries were never run: no runs of 0 ms, no times at all.
  EXPECT_THAT(out_.str(), HasSubstr("(1 in " + queries() + ", not timed)"));
  EXPECT_THAT(out_.str(), Not(HasSubstr(" ms in all")));
  EXPECT_EQ(Run({"--queries", queries(), "--format", "json"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\"queries_file\":\"" + queries() + "\""));
  EXPECT_THAT(out_.str(), HasSubstr("\"count\":1,\"slow_count\":null,\"total_ms\":null"));
}

TEST_F(DbAdviseCommandTest, VerifiedSuggestionsArePrintedAsStatements) {
  const std::string app = (dir_.path() / "app.db").string();
  {
    auto db = sqlite::Database::Open(app);
    ASSERT_TRUE(db.ok()) << db.message();
    ASSERT_TRUE((*db)
                    ->Exec(R"(
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, status TEXT, total REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO orders (user_id, status, total) SELECT i % 97, 'paid', i FROM n;)")
                    .ok());
  }
  EXPECT_EQ(Run({"--queries", queries(), "--sqlite", app}), 0) << err_.str();
  EXPECT_THAT(out_.str(),
              HasSubstr("\nCREATE INDEX IF NOT EXISTS mingus_orders_user_id ON orders (user_id);"));
  EXPECT_THAT(out_.str(), HasSubstr("-- verified: plan before: SCAN orders"));
  EXPECT_EQ(Run({"--queries", queries(), "--sqlite", app, "--format", "json"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("\"verified\":true"));
}

TEST_F(DbAdviseCommandTest, AMissingDatabaseOrStoreIsReported) {
  const std::string missing = (dir_.path() / "missing.db").string();
  EXPECT_EQ(Run({"--queries", queries(), "--sqlite", missing, "--apply"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr(missing + ": no such file"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("CREATE INDEX")));
  EXPECT_FALSE(std::filesystem::exists(missing));
  EXPECT_EQ(Run({"--storage.path", (dir_.path() / "nowhere").string()}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no event store"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "nowhere"));
  EXPECT_EQ(Run({"--queries", (dir_.path() / "none.sql").string()}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("cannot read"));
}

}  // namespace
}  // namespace mingus::collector::db
