#include "mingus/collector/api/prometheus_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_clock.h"

namespace mingus::collector::api {
namespace {

using ::testing::HasSubstr;

TEST(ParseTimeMs, TakesUnixSecondsAndRfc3339) {
  EXPECT_EQ(*ParseTimeMs("1700000000"), 1'700'000'000'000);
  EXPECT_EQ(*ParseTimeMs("1700000000.123"), 1'700'000'000'123);
  EXPECT_EQ(*ParseTimeMs("2023-11-14T22:13:20Z"), 1'700'000'000'000);
  EXPECT_EQ(*ParseTimeMs("2023-11-14T22:13:20.5Z"), 1'700'000'000'500);
  EXPECT_EQ(*ParseTimeMs("2023-11-15T00:13:20+02:00"), 1'700'000'000'000);
  EXPECT_THAT(ParseTimeMs("yesterday").message(),
              HasSubstr("cannot parse \"yesterday\" to a valid timestamp"));
  EXPECT_FALSE(ParseTimeMs("2023-11-14T22:13:20").ok());  // no zone
  // Beyond int64 milliseconds (llround has no answer there): refused, not the most negative time.
  EXPECT_THAT(ParseTimeMs("1e300").message(), HasSubstr("overflows int64"));
  EXPECT_THAT(ParseTimeMs("-9.3e15").message(), HasSubstr("overflows int64"));
  EXPECT_EQ(*ParseTimeMs("-9.1e15"), -9'100'000'000'000'000'000);
}

TEST(ParseDurationMs, TakesSecondsOrDurations) {
  EXPECT_EQ(*ParseDurationMs("15"), 15'000);
  EXPECT_EQ(*ParseDurationMs("0.5"), 500);
  EXPECT_EQ(*ParseDurationMs("1m30s"), 90'000);
  EXPECT_FALSE(ParseDurationMs("fast").ok());
}

TEST(FormatValue, WritesAsPrometheus) {
  using promql::FormatValue;
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e-7), "0.0000001");
  EXPECT_EQ(FormatValue(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
}

class PrometheusApiTest : public ::testing::Test {
 protected:
  PrometheusApiTest()
      : clock_(std::chrono::system_clock::time_point(std::chrono::seconds(1000))),
        engine_(head_),
        api_(head_, engine_, clock_, nullptr, &rules_, registry_) {
    api_.Register(router_);
    const auto up1 = head_.GetOrCreate(
        *tsdb::MakeLabels({{"__name__", "up"}, {"job", "a"}, {"instance", "h:1"}}));
    const auto up2 = head_.GetOrCreate(
        *tsdb::MakeLabels({{"__name__", "up"}, {"job", "b"}, {"instance", "h:2"}}));
    for (int64_t t = 0; t <= 1000; t += 10) {
      head_.Append(up1, t * 1000, 1);
      head_.Append(up2, t * 1000, t >= 500 ? 0 : 1);
    }
  }
  boost::json::value Get(const std::string& target, int expect_status = 200) {
    const http::Response response = router_.Route(http::Request::Make("GET", target));
    EXPECT_EQ(response.status, expect_status) << response.body;
    EXPECT_EQ(response.content_type, "application/json");
    return boost::json::parse(response.body);
  }

  mingus::testing::FakeClock clock_;
  prometheus::Registry registry_;
  tsdb::Head head_;
  promql::Engine engine_;
  rules::RuleManager rules_{head_, engine_, clock_, registry_};
  PrometheusApi api_;
  http::Router router_;
};

TEST_F(PrometheusApiTest, InstantQueryReturnsAVectorAtNowByDefault) {
  const auto body = Get("/api/v1/query?query=up%7Bjob%3D%22b%22%7D");
  EXPECT_EQ(body.at("status"), "success");
  EXPECT_EQ(body.at("data").at("resultType"), "vector");
  const auto& result = body.at("data").at("result").as_array();
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(result[0].at("metric").at("instance"), "h:2");
  EXPECT_EQ(result[0].at("value").as_array()[0].to_number<double>(), 1000);
  EXPECT_EQ(result[0].at("value").as_array()[1], "0");
  EXPECT_EQ(Get("/api/v1/query?query=1%2B1&time=5").at("data").at("result").as_array()[1], "2");
  EXPECT_EQ(Get("/api/v1/query?query=1%2B1&time=5").at("data").at("resultType"), "scalar");
}

TEST_F(PrometheusApiTest, RulesAndAlertsInPrometheusShape) {
  rules_.Apply(rules::ParseRuleFile(R"(groups:
- name: g
  interval: 30s
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: Down
    expr: up == 0
    for: 1m
    labels: {severity: critical}
    annotations: {summary: "{{ $labels.job }} down"}
  - alert: Never
    expr: up > 5
)",
                                    "r.yml"),
               {});
  EXPECT_EQ(Get("/api/v1/rules")
                .at("data")
                .at("groups")
                .as_array()[0]
                .at("rules")
                .as_array()[1]
                .at("health"),
            "unknown");
  rules_.EvaluateAllAt(1'000'000);
  const auto alerts = Get("/api/v1/alerts").at("data").at("alerts");
  EXPECT_EQ(alerts, boost::json::parse(R"([{"labels":{"alertname":"Down","instance":"h:2","job":"b",
    "severity":"critical"},"annotations":{"summary":"b down"},"state":"pending",
    "activeAt":"1970-01-01T00:16:40Z","value":"0e+00"}])"));

  const auto group = Get("/api/v1/rules").at("data").at("groups").as_array()[0].as_object();
  EXPECT_EQ(group.at("name"), "g");
  EXPECT_EQ(group.at("file"), "r.yml");
  EXPECT_EQ(group.at("interval").to_number<double>(), 30);
  EXPECT_EQ(group.at("lastEvaluation"), "1970-01-01T00:16:40Z");
  const auto& rules = group.at("rules").as_array();
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].at("type"), "recording");
  EXPECT_EQ(rules[0].at("query"), "sum by (job) (up)");
  EXPECT_FALSE(rules[0].as_object().contains("alerts"));
  EXPECT_EQ(rules[1].at("type"), "alerting");
  EXPECT_EQ(rules[1].at("state"), "pending");
  EXPECT_EQ(rules[1].at("duration").to_number<double>(), 60);
  EXPECT_EQ(rules[1].at("annotations").at("summary"), "{{ $labels.job }} down");
  EXPECT_EQ(rules[1].at("health"), "ok");
  EXPECT_EQ(rules[1].at("alerts").as_array().size(), 1u);
  EXPECT_EQ(rules[2].at("state"), "inactive");
  EXPECT_EQ(Get("/api/v1/rules?type=record")
                .at("data")
                .at("groups")
                .as_array()[0]
                .at("rules")
                .as_array()
                .size(),
            1u);
  EXPECT_EQ(Get("/api/v1/rules?type=bogus", 400).at("errorType"), "bad_data");
}

TEST_F(PrometheusApiTest, RangeQueryReturnsAMatrix) {
  const auto body = Get("/api/v1/query_range?query=up&start=480&end=520&step=20");
  const auto& result = body.at("data").at("result").as_array();
  ASSERT_EQ(result.size(), 2u);
  const auto& b = result[1].at("values").as_array();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].as_array()[1], "1");
  EXPECT_EQ(b[1].as_array()[1], "0");
  EXPECT_EQ(b[2].as_array()[0].to_number<double>(), 520);
}

TEST_F(PrometheusApiTest, FormPostsAsGrafanaSendsThem) {
  http::Request request = http::Request::Make("POST", "/api/v1/query");
  request.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
  request.body = "query=sum+by+%28job%29+%28up%29&time=1000";
  const http::Response response = router_.Route(request);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(boost::json::parse(response.body).at("data").at("result").as_array().size(), 2u);
}

TEST_F(PrometheusApiTest, BadRequestsGetPrometheusErrorShapes) {
  auto body = Get("/api/v1/query?query=up%7B", 400);
  EXPECT_EQ(body.at("status"), "error");
  EXPECT_EQ(body.at("errorType"), "bad_data");
  EXPECT_THAT(std::string(body.at("error").as_string()), HasSubstr("1:4: parse error"));
  EXPECT_THAT(std::string(Get("/api/v1/query", 400).at("error").as_string()),
              HasSubstr("invalid parameter \"query\""));
  EXPECT_THAT(std::string(Get("/api/v1/query?query=up&time=soon", 400).at("error").as_string()),
              HasSubstr("invalid parameter \"time\""));
  EXPECT_THAT(
      std::string(
          Get("/api/v1/query_range?query=up&start=10&end=0&step=1", 400).at("error").as_string()),
      HasSubstr("end timestamp must not be before start time"));
  EXPECT_THAT(std::string(Get("/api/v1/query_range?query=up&start=0&end=100000&step=1", 400)
                              .at("error")
                              .as_string()),
              HasSubstr("11,000 points"));
  EXPECT_THAT(
      std::string(
          Get("/api/v1/query_range?query=up&start=0&end=10&step=0", 400).at("error").as_string()),
      HasSubstr("zero or negative query resolution step"));
  EXPECT_THAT(std::string(Get("/api/v1/query_range?query=up%5B5m%5D&start=0&end=10&step=1", 400)
                              .at("error")
                              .as_string()),
              HasSubstr("invalid expression type \"range vector\""));
  EXPECT_THAT(std::string(Get("/api/v1/series?match[]=sum(up)", 400).at("error").as_string()),
              HasSubstr("not a series selector"));
  EXPECT_THAT(std::string(Get("/api/v1/label/a-b/values", 400).at("error").as_string()),
              HasSubstr("invalid label name"));
}

TEST_F(PrometheusApiTest, SeriesLabelsAndLabelValues) {
  auto series = Get("/api/v1/series?match[]=up%7Bjob%3D%22a%22%7D").at("data").as_array();
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].at("instance"), "h:1");
  EXPECT_EQ(Get("/api/v1/labels").at("data"),
            boost::json::parse(R"(["__name__","instance","job"])"));
  EXPECT_EQ(Get("/api/v1/label/job/values").at("data"), boost::json::parse(R"(["a","b"])"));
  EXPECT_EQ(Get("/api/v1/label/job/values?match[]=up%7Binstance%3D%22h%3A2%22%7D").at("data"),
            boost::json::parse(R"(["b"])"));
  EXPECT_EQ(Get("/api/v1/label/__name__/values").at("data"), boost::json::parse(R"(["up"])"));
}

}  // namespace
}  // namespace mingus::collector::api
