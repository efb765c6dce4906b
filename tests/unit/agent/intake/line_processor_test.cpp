#include "mingus/agent/intake/line_processor.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "fake_clock.h"

namespace mingus::agent::intake {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using mingus::testing::FakeClock;

class RecordingSink : public EventSink {
 public:
  void Append(std::string_view line, int64_t) override { lines.emplace_back(line); }
  std::vector<std::string> lines;
};

class LineProcessorTest : public ::testing::Test {
 protected:
  std::string Exposition() {
    auto families = store_.Collect();
    aggregates_.AppendFamilies(families);
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
  }

  FakeClock clock_;
  MetricStore store_{clock_, 1000};
  EventAggregates aggregates_{clock_, 100, 3};
  IntakeStats stats_;
  MappingConfig mapping_;
  RecordingSink sink_;
  LineProcessor processor_{mapping_, store_, aggregates_, stats_, &sink_};
};

TEST_F(LineProcessorTest, MixedDatagramBadLinesCostNothingElse) {
  processor_.ProcessDatagram(
      "hits:1|c\n"
      "\n"
      "broken\n"
      R"({"type":"api","endpoint":"/users/42","method":"GET","status":503,"duration_ms":120})" "\n"
      R"({"type":"api","endpoint":"/users/7",)" "\n"
      "hits:2|c\n");
  EXPECT_EQ(stats_.datagrams(), 1u);
  EXPECT_EQ(stats_.statsd_lines(), 4u);
  EXPECT_EQ(stats_.json_lines(), 2u);
  EXPECT_EQ(stats_.Errors("empty_line"), 1u);
  EXPECT_EQ(stats_.Errors("missing_value"), 1u);
  EXPECT_EQ(stats_.Errors("json_syntax"), 1u);
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("hits_total 3\n"));
  EXPECT_THAT(out, HasSubstr("mingus_api_requests_total{endpoint=\"/users/:id\",method=\"GET\",status=\"503\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_api_errors_total{endpoint=\"/users/:id\",method=\"GET\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_api_request_duration_seconds_bucket{endpoint=\"/users/:id\",method=\"GET\","
                             "status=\"503\",le=\"0.25\"} 1\n"));
  ASSERT_EQ(sink_.lines.size(), 1u);  // only the valid event is spooled
}

TEST_F(LineProcessorTest, TruncatedDatagramDropsOnlyTheCutLine) {
  processor_.ProcessDatagram("a:1|c\nb:1|c\nc:1", /*truncated=*/true);
  EXPECT_EQ(stats_.Errors("truncated_datagram"), 1u);
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("a_total 1\n"));
  EXPECT_THAT(out, HasSubstr("b_total 1\n"));
  EXPECT_THAT(out, Not(HasSubstr("c_total")));
}

// PostgreSQL and SQLite ORMs quote every name ("users"."id"): the fingerprint keeps the names,
// the table label goes without its quotes, as a MySQL `users` does.
TEST_F(LineProcessorTest, QuotedTableNamesLabelWithoutQuotes) {
  processor_.ProcessLine(R"({"type":"db","query":"SELECT \"users\".* FROM \"users\" WHERE \"users\".\"id\" = $1 LIMIT $2","duration_ms":5,"rows":1})");
  processor_.ProcessLine(R"({"type":"db","query":"SELECT `orders`.* FROM `orders` WHERE `orders`.`id` = 3","duration_ms":5,"rows":1})");
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("mingus_db_query_duration_seconds_count{operation=\"select\",table=\"users\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_db_query_duration_seconds_count{operation=\"select\",table=\"orders\"} 1\n"));
  EXPECT_THAT(out, HasSubstr(R"(fingerprint="select \"users\".* from \"users\" where \"users\".\"id\" = $? limit $?")"));
}

TEST_F(LineProcessorTest, EveryEventTypeFeedsItsMetric) {
  for (const char* line : {
           R"({"type":"db","query":"SELECT * FROM users WHERE id = 5","duration_ms":250,"rows":1})",
           R"({"type":"db","query":"select * from users where id = 9","duration_ms":50,"rows":1})",
           R"({"type":"score","name":"risk","duration_ms":40,"cached":true})",
           R"({"type":"engagement","user_id":"u1","action":"login","usage_time":30})",
           R"({"type":"feature","user_id":"u1","feature":"budget","usage_time":12})",
           R"({"type":"feature","user_id":"u2","feature":"budget"})",
           R"({"type":"feedback","user_id":"u2","kind":"nps","rating":9})",
           R"({"type":"user_metric","user_id":"u2","metric":"savings","value":120})",
           R"({"type":"interaction","user_id":"u3","event_type":"click","element_id":"buy","page_url":"/cart/77?x"})",
           R"({"type":"experiment","experiment":"cta","variant":"B","user_id":"u3","event":"exposure"})",
           R"({"type":"experiment","experiment":"cta","variant":"B","user_id":"u3","event":"conversion"})",
           R"({"type":"cache","cache":"scores","result":"hit"})",
           R"({"type":"data_source","source":"plaid","cost":0.5,"value":2})",
       }) {
    processor_.ProcessLine(line);
  }
  EXPECT_EQ(stats_.json_lines(), 13u);
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("mingus_db_query_duration_seconds_count{operation=\"select\",table=\"users\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("mingus_db_fingerprint_calls_total{fingerprint=\"select * from users where id = ?\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("mingus_db_fingerprint_seconds_total{fingerprint=\"select * from users where id = ?\"} 0.3\n"));
  EXPECT_THAT(out, HasSubstr("mingus_score_calculations_total{cached=\"true\",score=\"risk\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_engagement_usage_seconds_total{action=\"login\"} 30\n"));
  EXPECT_THAT(out, HasSubstr("mingus_feature_usage_total{feature=\"budget\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("mingus_feature_users{feature=\"budget\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("mingus_active_users{window=\"day\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("mingus_feedback_rating_bucket{kind=\"nps\",le=\"9\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_user_metric_value_sum{metric=\"savings\"} 120\n"));
  EXPECT_THAT(out, HasSubstr("mingus_ux_interactions_total{element=\"buy\",event_type=\"click\",page=\"/cart/:id\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_experiment_exposures_total{experiment=\"cta\",variant=\"B\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_experiment_conversions_total{experiment=\"cta\",variant=\"B\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_cache_requests_total{cache=\"scores\",result=\"hit\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("mingus_data_source_value_total{source=\"plaid\"} 2\n"));
  EXPECT_THAT(out, Not(HasSubstr("u1")));  // user ids never become labels
}

TEST_F(LineProcessorTest, DistinctUsersResetAtUtcMidnight) {
  processor_.ProcessLine(R"({"type":"engagement","user_id":"u1","action":"a"})");
  EXPECT_EQ(std::round(aggregates_.UsersToday()), 1);
  clock_.Advance(std::chrono::hours(24));
  EXPECT_EQ(aggregates_.UsersToday(), 0);
}

TEST_F(LineProcessorTest, OnlyTheCostliestFingerprintsAreKept) {
  for (int table = 0; table < 5; ++table) {
    processor_.ProcessLine(R"({"type":"db","query":"SELECT 1 FROM t)" + std::to_string(table) +
                           R"(","duration_ms":)" + std::to_string(100 * (table + 1)) + "}");
  }
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("from t4"));
  EXPECT_THAT(out, HasSubstr("from t3"));
  EXPECT_THAT(out, Not(HasSubstr("from t0\"")));
}

}  // namespace
}  // namespace mingus::agent::intake
