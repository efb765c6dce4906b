#include "mingus/collector/report/report_command.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <sstream>

#include "fake_clock.h"
#include "mingus/collector/events/event_store.h"
#include "temp_dir.h"

namespace mingus::collector::report {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(JsonReportToMarkdown, ScalarsTablesAndSections) {
  const auto markdown = JsonReportToMarkdown("insights report", R"({
    "days": 2, "rate": 0.123456, "none": null, "note": "a|b\nc", "tags": ["x", "y"], "empty": [],
    "per_day": [{"date": "2026-01-01", "dau": 3, "d1": {"rate": 0.5, "users": 2}},
                {"date": "2026-01-02", "extra": [{"rating": 9, "count": 2}]}],
    "nps": {"score": -12.5, "kinds": [{"kind": "nps"}]}})");
  ASSERT_TRUE(markdown.ok()) << markdown.message();
  EXPECT_EQ(*markdown,
            "# insights report\n\n"
            "| figure | value |\n| --- | --- |\n"
            "| days | 2 |\n| rate | 0.1235 |\n| none | — |\n| note | a\\|b c |\n"
            "| tags | x; y |\n| empty | none |\n\n"
            "## per_day\n\n"
            "| date | dau | d1.rate | d1.users | extra |\n| --- | --- | --- | --- | --- |\n"
            "| 2026-01-01 | 3 | 0.5 | 2 |  |\n"
            "| 2026-01-02 |  |  |  | rating=9 count=2 |\n\n"
            "## nps\n\n"
            "| figure | value |\n| --- | --- |\n| score | -12.5 |\n\n"
            "### kinds\n\n| kind |\n| --- |\n| nps |\n\n");
}

TEST(JsonReportToMarkdown, RefusesWhatIsNotAJsonObject) {
  EXPECT_THAT(JsonReportToMarkdown("t", "[1]").message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(JsonReportToMarkdown("t", "{").message(), HasSubstr("not JSON"));
}

class ReportCommandTest : public ::testing::Test {
 protected:
  ReportCommandTest() : dir_("report-command") {}

  struct Result {
    int status;
    std::string out, err;
  };
  Result Run(std::vector<std::string> args) {
    std::ostringstream out, err;
    const int status = ReportCommand(args, clock_, out, err);
    return {status, out.str(), err.str()};
  }
  std::string StorageFlag() const { return "--storage.path=" + dir_.path().string(); }
  // A store as the collector makes it, with one user active today.
  void MakeStore() {
    auto store = events::EventStore::Open(
        (dir_.path() / std::string(events::kEventStoreFile)).string(), {}, clock_);
    ASSERT_TRUE(store.ok()) << store.message();
    const std::string line = fmt::format(
        R"({{"cursor":1,"received":{},"event":{{"type":"engagement","user_id":"u","action":"a"}}}})",
        UnixMillis(clock_));
    ASSERT_TRUE((*store)->Store("a:1", "s", {line}, 1, 0).ok());
  }

  testing::FakeClock clock_;
  testing::TempDir dir_;
};

TEST_F(ReportCommandTest, PrintsTheReportTheApiServes) {
  MakeStore();
  const Result json = Run({"insights", StorageFlag(), "--days", "7"});
  ASSERT_EQ(json.status, 0) << json.err;
  const auto document = boost::json::parse(json.out).as_object();
  EXPECT_EQ(document.at("days").as_int64(), 7);
  EXPECT_EQ(document.at("per_day").as_array().size(), 7u);
  EXPECT_EQ(document.at("registrations").as_int64(), 1);

  const Result markdown = Run({"insights", StorageFlag(), "--format=markdown"});
  ASSERT_EQ(markdown.status, 0) << markdown.err;
  EXPECT_THAT(markdown.out, StartsWith("# insights report\n\n| figure | value |\n"));
  EXPECT_THAT(markdown.out, HasSubstr("| days | 30 |"));
  EXPECT_THAT(markdown.out, HasSubstr("## per_day\n\n| date | registrations |"));
}

TEST_F(ReportCommandTest, RefusesBadUsageWithTheReason) {
  MakeStore();
  EXPECT_EQ(Run({}).status, 2);
  const Result unknown = Run({"sales"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown report 'sales'"));
  EXPECT_THAT(unknown.err, HasSubstr("report insights"));
  const Result format = Run({"insights", StorageFlag(), "--format=xml"});
  EXPECT_EQ(format.status, 2);
  EXPECT_THAT(format.err, HasSubstr("'xml' is neither json nor markdown"));
  for (const char* days : {"0", "-3", "x", "", "401"}) {
    const Result bad = Run({"insights", StorageFlag(), std::string("--days=") + days});
    EXPECT_EQ(bad.status, 2) << days;
    EXPECT_THAT(bad.err, HasSubstr("is not a whole number from 1 to 400")) << days;
  }
  const Result flag = Run({"insights", "--no-such-flag"});
  EXPECT_EQ(flag.status, 2);
  EXPECT_THAT(flag.err, HasSubstr("no-such-flag"));
  const Result config = Run({"insights", "--config.file=" + (dir_.path() / "none.yaml").string()});
  EXPECT_EQ(config.status, 2);
  EXPECT_THAT(config.err, HasSubstr("bad configuration"));
  const Result help = Run({"insights", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("--days"));
}

// A store that only an older collector has written lacks the UX tables: the report names the
// table and what to do, and leaves the store as it is (an older collector may still write it).
TEST_F(ReportCommandTest, AStoreWithoutTheUxTablesIsAnErrorThatSaysWhatToDo) {
  MakeStore();
  const std::string path = (dir_.path() / std::string(events::kEventStoreFile)).string();
  {
    auto db = sqlite::Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.message();
    ASSERT_TRUE((*db)->Exec("DROP TABLE ux_interactions; DROP TABLE ux_experiments").ok());
  }
  const Result ux = Run({"ux", StorageFlag(), "--days", "30"});
  EXPECT_EQ(ux.status, 1);
  EXPECT_THAT(ux.err, HasSubstr(path + " has no table ux_interactions"));
  EXPECT_THAT(ux.err, HasSubstr("start this version's collector on it once"));
  auto db = sqlite::Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.message();
  auto tables = (*db)->Prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'ux_interactions'");
  ASSERT_TRUE(tables.ok() && tables->Step());
  EXPECT_EQ(tables->Int(0), 0);
  EXPECT_EQ(Run({"insights", StorageFlag()}).status, 0);  // its tables are there
}

TEST_F(ReportCommandTest, AStoragePathWithoutAStoreIsAnErrorNotANewDatabase) {
  const Result result = Run({"insights", StorageFlag()});
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.err, HasSubstr("no event store at"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / std::string(events::kEventStoreFile)));
}

}  // namespace
}  // namespace mingus::collector::report
