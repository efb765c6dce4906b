#include "mingus/collector/db/db_report.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_clock.h"
#include "mingus/collector/events/event_store.h"
#include "temp_dir.h"

namespace mingus::collector::db {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class DbReportTest : public ::testing::Test {
 protected:
  DbReportTest() : dir_("db-report") {
    auto store = events::EventStore::Open(store_path(), {}, clock_);
    EXPECT_TRUE(store.ok()) << store.message();
    store_ = std::move(store).value();
    auto app = sqlite::Database::Open(app_path());
    EXPECT_TRUE(app.ok()) << app.message();
    EXPECT_TRUE((*app)
                    ->Exec(R"(
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, status TEXT, total REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO orders (user_id, status, total) SELECT i % 97, 'paid', i FROM n;)")
                    .ok());
  }
  std::string store_path() const { return (dir_.path() / "business_intelligence.db").string(); }
  std::string app_path() const { return (dir_.path() / "app.db").string(); }

  // Stores db events as an agent's pull would.
  void StoreDbEvents(const std::vector<std::string>& events) {
    std::vector<std::string> records;
    const int64_t now_ms = UnixMillis(clock_);
    for (const auto& event : events)
      records.push_back(
          fmt::format(R"({{"cursor":{},"received":{},"event":{}}})", ++cursor_, now_ms, event));
    std::vector<std::string_view> views(records.begin(), records.end());
    auto result = store_->Store("agent:9110", "spool", views, cursor_, 0);
    ASSERT_TRUE(result.ok()) << result.message();
    ASSERT_EQ(result->stored, events.size());
  }
  static std::string DbEvent(std::string_view query, double ms, int rows,
                             std::string_view request_id = "") {
    json::object event{{"type", "db"}, {"query", query}, {"duration_ms", ms}, {"rows", rows}};
    if (!request_id.empty()) event["request_id"] = request_id;
    return json::serialize(event);
  }
  json::object Report(const DbOptimizerConfig& config) {
    auto optimizer = DbOptimizer::Open(store_path(), config, clock_);
    EXPECT_TRUE(optimizer.ok()) << optimizer.message();
    const auto response =
        (*optimizer)->Serve(http::Request::Make("GET", "/api/monitoring/db/report"));
    EXPECT_EQ(response.status, 200) << response.body;
    return json::parse(response.body).as_object();
  }
  static const json::object& Fingerprint(const json::object& report, std::string_view fp) {
    for (const auto& entry : report.at("fingerprints").as_array())
      if (entry.at("fingerprint").as_string() == fp) return entry.as_object();
    ADD_FAILURE() << "no fingerprint " << fp << " in " << json::serialize(report);
    static const json::object kNone;
    return kNone;
  }

  testing::FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<events::EventStore> store_;
  uint64_t cursor_ = 0;
};

TEST_F(DbReportTest, DigestsSuggestionsVerificationHintsAndNPlusOne) {
  std::vector<std::string> events;
  for (int i = 0; i < 20; ++i)
    events.push_back(
        DbEvent(fmt::format("SELECT * FROM orders WHERE user_id = {} AND status = 'paid'", i),
                150 + i, 5000, "req-1"));
  events.push_back(DbEvent("SELECT id FROM orders WHERE id = 3", 0.2, 1));
  events.push_back(DbEvent("INSERT INTO orders (user_id) VALUES (1)", 300, 1));
  events.push_back(DbEvent("SELECT total FROM orders WHERE (user_id = 1", 500, 1));
  StoreDbEvents(events);

  DbOptimizerConfig config;
  config.sqlite_path = app_path();
  const auto report = Report(config);
  EXPECT_EQ(report.at("events").as_int64(), 23);
  EXPECT_EQ(report.at("sqlite").at("error").as_string(), "");

  const auto& slow = Fingerprint(report, "select * from orders where user_id = ? and status = ?");
  EXPECT_EQ(slow.at("count").as_int64(), 20);
  EXPECT_DOUBLE_EQ(slow.at("max_ms").to_number<double>(), 169);
  EXPECT_TRUE(slow.at("slow").as_bool());
  // Literals masked by default.
  EXPECT_EQ(slow.at("sample").as_string(), "SELECT * FROM orders WHERE user_id = ? AND status = ?");
  const auto& suggestions = slow.at("suggestions").as_array();
  ASSERT_THAT(suggestions, SizeIs(1));
  EXPECT_EQ(suggestions[0].at("statement").as_string(),
            "CREATE INDEX IF NOT EXISTS mingus_orders_user_id_status ON orders (user_id, status)");
  const auto& verification = suggestions[0].at("verification").as_object();
  EXPECT_TRUE(verification.at("verified").as_bool()) << verification.at("reason");
  EXPECT_EQ(verification.at("plan_before").as_array()[0].as_string(), "SCAN orders");
  EXPECT_THAT(std::string(verification.at("plan_after").as_array()[0].as_string()),
              HasSubstr("USING INDEX mingus_orders_user_id_status"));
  std::vector<std::string> hints;
  for (const auto& hint : slow.at("hints").as_array())
    hints.emplace_back(hint.at("id").as_string());
  // select-star, and missing-limit fed by the digest's 5000 rows a run.
  EXPECT_THAT(hints, ::testing::ElementsAre("select-star", "missing-limit"));

  // Fast ones get a digest and no suggestion; unreadable slow ones say why.
  const auto& fast = Fingerprint(report, "select id from orders where id = ?");
  EXPECT_FALSE(fast.at("slow").as_bool());
  EXPECT_THAT(fast.at("suggestions").as_array(), SizeIs(0));
  const auto& insert = Fingerprint(report, "insert into orders (user_id) values(?+)");
  EXPECT_THAT(std::string(insert.at("no_suggestion").as_string()),
              HasSubstr("insert: no SELECT, UPDATE or DELETE"));
  const auto& broken = Fingerprint(report, "select total from orders where (user_id = ?");
  EXPECT_THAT(std::string(broken.at("no_suggestion").as_string()),
              HasSubstr("unbalanced parentheses"));

  const auto& n_plus_one = report.at("n_plus_one").as_array();
  ASSERT_THAT(n_plus_one, SizeIs(1));
  EXPECT_EQ(n_plus_one[0].at("example_request_id").as_string(), "req-1");
  EXPECT_EQ(n_plus_one[0].at("max_runs").as_int64(), 20);
}

TEST_F(DbReportTest, ThresholdsLiteralsAndTheWindowAreConfigured) {
  StoreDbEvents({DbEvent("SELECT * FROM orders WHERE user_id = 7", 40, 1, "r")});
  clock_.Advance(std::chrono::hours(2));
  StoreDbEvents({DbEvent("SELECT * FROM orders WHERE status = 'x'", 40, 1, "r")});
  DbOptimizerConfig config;
  config.slow_threshold = std::chrono::milliseconds(30);
  config.mask_literals = false;
  config.window = std::chrono::hours(1);
  config.n_plus_one_threshold = 2;
  const auto report = Report(config);
  ASSERT_THAT(report.at("fingerprints").as_array(), SizeIs(1));  // the first is too old
  const auto& entry = Fingerprint(report, "select * from orders where status = ?");
  EXPECT_EQ(entry.at("sample").as_string(), "SELECT * FROM orders WHERE status = 'x'");
  EXPECT_TRUE(entry.at("slow").as_bool());
  // No database: suggested, not verified.
  const auto& suggestion = entry.at("suggestions").as_array().at(0);
  EXPECT_TRUE(suggestion.at("verification").is_null());
  EXPECT_TRUE(report.at("sqlite").is_null());
  EXPECT_THAT(report.at("n_plus_one").as_array(), SizeIs(0));
}

TEST_F(DbReportTest, AMissingAppDatabaseIsReportedAndTheDigestsStillServed) {
  StoreDbEvents({DbEvent("SELECT * FROM orders WHERE user_id = 7", 400, 1)});
  DbOptimizerConfig config;
  config.sqlite_path = (dir_.path() / "gone.db").string();
  const auto report = Report(config);
  EXPECT_THAT(std::string(report.at("sqlite").at("error").as_string()), HasSubstr("no such file"));
  EXPECT_THAT(report.at("fingerprints").as_array(), SizeIs(1));
  EXPECT_FALSE(std::filesystem::exists(config.sqlite_path));
}

TEST_F(DbReportTest, TheJsonReadsBackAsDigests) {
  StoreDbEvents({DbEvent("SELECT * FROM orders WHERE user_id = 7", 400, 3, "a"),
                 DbEvent("SELECT * FROM orders WHERE user_id = 8", 200, 5, "a")});
  DbOptimizerConfig config;
  config.n_plus_one_threshold = 2;
  const auto report = Report(config);
  const auto digests = DigestsFromJson(json::serialize(report));
  ASSERT_TRUE(digests.ok()) << digests.message();
  ASSERT_THAT(digests->first, SizeIs(1));
  EXPECT_EQ(digests->first[0].count, 2);
  EXPECT_DOUBLE_EQ(digests->first[0].total_ms, 600);
  EXPECT_DOUBLE_EQ(*digests->first[0].rows_average, 4);
  EXPECT_TRUE(digests->first[0].slow);
  ASSERT_THAT(digests->second, SizeIs(1));
  EXPECT_EQ(digests->second[0].max_runs, 2);
  EXPECT_FALSE(DigestsFromJson("{\"fingerprints\": 3}").ok());
  EXPECT_FALSE(DigestsFromJson("not json").ok());
}

}  // namespace
}  // namespace mingus::collector::db
