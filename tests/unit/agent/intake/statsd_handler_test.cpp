#include "mingus/agent/intake/statsd_handler.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "fake_clock.h"
#include "mingus/config/yaml_reader.h"

namespace mingus::agent::intake {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using mingus::testing::FakeClock;

MappingConfig Mapping(const std::string& yaml) {
  config::MapReader statsd(config::LoadString(yaml, "agent.yaml")["statsd"], "agent.yaml", "statsd");
  MappingConfig mapping = ReadMappingConfig(statsd);
  statsd.Finish();
  return mapping;
}

class StatsdHandlerTest : public ::testing::Test {
 protected:
  void Use(const std::string& yaml) {
    mapping_ = Mapping(yaml);
    handler_ = std::make_unique<StatsdHandler>(mapping_, store_, stats_);
  }
  void Send(std::string_view text) {
    wire::StatsdLine line;
    const auto error = wire::ParseStatsdLine(text, line);
    ASSERT_FALSE(error) << text;
    handler_->Handle(line, UnixMillis(clock_));
  }
  std::string Exposition() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, store_.Collect());
    return out.str();
  }

  FakeClock clock_;
  MetricStore store_{clock_, 100};
  IntakeStats stats_;
  MappingConfig mapping_;
  std::unique_ptr<StatsdHandler> handler_ = std::make_unique<StatsdHandler>(mapping_, store_, stats_);
};

TEST_F(StatsdHandlerTest, UnmappedNamesAreSanitisedCountersGetTotal) {
  Send("api.requests:1|c");
  Send("api.requests:1|c|@0.1");  // sampled: counts ten
  Send("queue-depth:7|g");
  Send("queue-depth:-2|g");
  Send("9lives:1|g");
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("# TYPE api_requests_total counter\napi_requests_total 11\n"));
  EXPECT_THAT(out, HasSubstr("queue_depth 5\n"));
  EXPECT_THAT(out, HasSubstr("_9lives 1\n"));
}

TEST_F(StatsdHandlerTest, TimersBecomeHistogramsInSeconds) {
  Send("db.query:250|ms|#table:users");
  Send("db.query:2|ms|#table:users");
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("# TYPE db_query histogram\n"));
  EXPECT_THAT(out, HasSubstr("db_query_bucket{table=\"users\",le=\"0.0025\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("db_query_bucket{table=\"users\",le=\"0.25\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("db_query_sum{table=\"users\"} 0.252\n"));
}

TEST_F(StatsdHandlerTest, TagsBecomeSortedSanitisedLabels) {
  Send("hits:1|c|#zone:eu,http.method:GET,__secret:x,le:1,bad,9th:y");
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("hits_total{_9th=\"y\",_secret=\"x\",http_method=\"GET\",zone=\"eu\"} 1\n"));
  EXPECT_EQ(stats_.Errors("malformed_tag"), 1u);
}

TEST_F(StatsdHandlerTest, GlobRegexDropAndObserverOptions) {
  Use(R"(
statsd:
  defaults:
    ttl: 10m
  mappings:
    - match: "api.*.*.latency"
      name: "api_request_duration_seconds"
      help: "API latency."
      labels: {endpoint: "$1", method: "${2}", source: "statsd"}
      histogram_options: {buckets: [0.1, 1]}
    - match: "score\\.(\\w+)\\.time"
      match_type: regex
      name: "score_${1}_seconds"
      observer_type: summary
      summary_options: {quantiles: [{quantile: 0.5, error: 0.05}]}
    - match: "debug.*"
      action: drop
    - match: "jobs.*"
      match_metric_type: gauge
      name: "job_state"
      labels: {job: "$1"}
)");
  Send("api.users.GET.latency:120|ms|#method:POST");  // the rule's label wins over the tag
  Send("score.risk.time:40|ms");
  Send("debug.anything:1|c");
  Send("jobs.nightly:3|g");
  Send("jobs.nightly:1|c");  // the rule is for gauges: this counter stays unmapped
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("# HELP api_request_duration_seconds API latency.\n"));
  EXPECT_THAT(out, HasSubstr("api_request_duration_seconds_bucket{endpoint=\"users\",method=\"GET\","
                             "source=\"statsd\",le=\"1\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE score_risk_seconds summary\n"));
  EXPECT_THAT(out, HasSubstr("score_risk_seconds{quantile=\"0.5\"} 0.04\n"));
  EXPECT_THAT(out, Not(HasSubstr("debug")));
  EXPECT_THAT(out, HasSubstr("job_state{job=\"nightly\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("jobs_nightly_total 1\n"));
  clock_.Advance(std::chrono::minutes(11));  // the default TTL removes idle series
  EXPECT_EQ(Exposition(), "");
}

TEST_F(StatsdHandlerTest, RepeatedLinesAreEachCountedAndEachChecked) {
  // A known series takes a shortcut; what it skips must not change what is counted.
  for (int i = 0; i < 3; ++i) {
    Send("hits:1|c|#zone:eu");
    Send("hits:1|c|#zone:eu,bad");  // a malformed tag is counted on every line
    Send("hits:2|c|#zone:eu|@0.5");
    Send("temp:+2|g");
    Send("temp:-1|g");
  }
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("hits_total{zone=\"eu\"} 18\n"));
  EXPECT_THAT(out, HasSubstr("temp 3\n"));
  EXPECT_EQ(stats_.Errors("malformed_tag"), 3u);
}

TEST_F(StatsdHandlerTest, ASeriesRemovedForIdlingComesBackFromZero) {
  Use("statsd:\n  defaults:\n    ttl: 1m\n");
  Send("hits:5|c|#zone:eu");
  clock_.Advance(std::chrono::minutes(2));
  EXPECT_EQ(Exposition(), "");  // removed for idling: the handler's shortcut is now stale
  Send("hits:1|c|#zone:eu");
  Send("hits:1|c|#zone:eu");
  EXPECT_THAT(Exposition(), HasSubstr("hits_total{zone=\"eu\"} 2\n"));
}

TEST_F(StatsdHandlerTest, OneNameTwoTypesIsAConflict) {
  Send("thing:1|g");
  Send("thing:1|ms");  // "thing" is already a gauge
  EXPECT_EQ(stats_.Errors("type_conflict"), 1u);
}

TEST_F(StatsdHandlerTest, SetsCountDistinctMembers) {
  for (const char* user : {"ada", "bob", "ada", "cy"}) Send(std::string("users:") + user + "|s");
  EXPECT_THAT(Exposition(), HasSubstr("users 3\n"));
}

TEST(MappingConfig, BadRulesAreRefusedWithFileLineAndKey) {
  const auto error_of = [](const std::string& yaml) -> std::string {
    try {
      Mapping(yaml);
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(error_of("statsd:\n  mappings:\n    - name: x\n"), HasSubstr("agent.yaml:3:7: statsd.mappings[0].match"));
  EXPECT_THAT(error_of("statsd:\n  mappings:\n    - match: a.*\n"), HasSubstr("a rule that maps needs a name"));
  EXPECT_THAT(error_of("statsd:\n  mappings:\n    - {match: a, name: b, observer_type: gauge}\n"),
              HasSubstr("'gauge' is not histogram or summary"));
  EXPECT_THAT(error_of("statsd:\n  mappings:\n    - {match: '(', match_type: regex, name: b}\n"),
              HasSubstr("bad regular expression"));
  EXPECT_THAT(error_of("statsd:\n  mappings:\n    - {match: a, name: b, labels: {bad-name: x}}\n"),
              HasSubstr("'bad-name' is not a valid label name"));
  EXPECT_THAT(error_of("statsd:\n  mappings:\n    - {match: a, name: b, histogram_options: {buckets: [2, 1]}}\n"),
              HasSubstr("ascending"));
  EXPECT_THAT(error_of("statsd:\n  mappings:\n    - {match: a, name: b, colour: red}\n"),
              HasSubstr("statsd.mappings[0].colour: unknown key"));
}

}  // namespace
}  // namespace mingus::agent::intake
