#include "mingus/wire/exposition.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mingus::wire {
namespace {

using ::testing::HasSubstr;

struct Collected {
  std::string series;
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value;
  std::optional<int64_t> timestamp;
};

class ExpositionTest : public ::testing::Test {
 protected:
  Status Parse(std::string_view body) {
    samples_.clear();
    ExpositionCallbacks callbacks;
    callbacks.sample = [&](const ExpositionSample& s) {
      Collected c{std::string(s.series), std::string(s.name), {}, s.value, s.timestamp_ms};
      for (const auto& l : s.labels) c.labels.emplace_back(l.name, l.value);
      samples_.push_back(std::move(c));
    };
    callbacks.type = [&](std::string_view name, ExpositionType type) { types_[std::string(name)] = type; };
    callbacks.help = [&](std::string_view name, std::string_view help) { helps_[std::string(name)] = help; };
    return parser_.Parse(body, callbacks);
  }
  ExpositionParser parser_;
  std::vector<Collected> samples_;
  std::map<std::string, ExpositionType> types_;
  std::map<std::string, std::string> helps_;
};

TEST_F(ExpositionTest, ReadsTheFullFormat) {
  const Status status = Parse(R"(# HELP http_requests_total The total number of HTTP requests.\nSecond line.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# A normal comment.
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} NaN
rpc_duration_seconds_count 2693
empty_labels{} -1.5e-3
trailing_comma{a="b",} 1
)");
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(samples_.size(), 9u);
  EXPECT_EQ(samples_[0].name, "http_requests_total");
  // The series as written, without value or timestamp: the scrape cache's key.
  EXPECT_EQ(samples_[0].series, "http_requests_total{method=\"post\",code=\"200\"}");
  EXPECT_EQ(samples_[1].series, "http_requests_total{method=\"post\",code=\"400\"}");
  EXPECT_EQ(samples_[3].series, "metric_without_timestamp_and_labels");
  EXPECT_EQ(samples_[0].labels, (std::vector<std::pair<std::string, std::string>>{{"method", "post"}, {"code", "200"}}));
  EXPECT_EQ(samples_[0].value, 1027);
  EXPECT_EQ(samples_[0].timestamp, 1395066363000);
  EXPECT_EQ(samples_[2].labels[0].second, "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(samples_[2].labels[1].second, "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_EQ(samples_[2].value, 1.458255915e9);
  EXPECT_EQ(samples_[4].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(samples_[4].timestamp, -3982045);
  EXPECT_TRUE(std::isnan(samples_[5].value));
  EXPECT_EQ(samples_[7].value, -1.5e-3);
  EXPECT_EQ(types_.at("http_requests_total"), ExpositionType::kCounter);
  EXPECT_EQ(types_.at("rpc_duration_seconds"), ExpositionType::kSummary);
  EXPECT_EQ(helps_.at("http_requests_total"), "The total number of HTTP requests.\nSecond line.");
}

TEST_F(ExpositionTest, OpenMetricsEofAndExemplars) {
  ASSERT_TRUE(Parse("# TYPE a counter\na_total 3 # {trace_id=\"x\"} 1 1.5\n# EOF\n").ok());
  ASSERT_EQ(samples_.size(), 1u);
  EXPECT_EQ(samples_[0].value, 3);
}

TEST_F(ExpositionTest, MalformedLinesNameLineAndReason) {
  EXPECT_EQ(Parse("ok 1\n9bad 1\n").message(), "line 2: bad metric name in '9bad 1'");
  EXPECT_THAT(Parse("a{b=\"c\" 1\n").message(), HasSubstr("line 1: expected ',' or '}' after label b"));
  EXPECT_THAT(Parse("a{b=c} 1\n").message(), HasSubstr("value not quoted"));
  EXPECT_THAT(Parse("a{b=\"c} 1\n").message(), HasSubstr("unterminated value"));
  EXPECT_THAT(Parse("a{b=\"\\x\"} 1\n").message(), HasSubstr("bad escape"));
  EXPECT_THAT(Parse("a{b=\"1\",b=\"2\"} 1\n").message(), HasSubstr("duplicate label b"));
  EXPECT_THAT(Parse("a{1b=\"1\"} 1\n").message(), HasSubstr("bad label name"));
  EXPECT_THAT(Parse("a\n").message(), HasSubstr("a: missing value"));
  EXPECT_THAT(Parse("a one\n").message(), HasSubstr("bad value 'one'"));
  EXPECT_THAT(Parse("a 0x10\n").message(), HasSubstr("bad value"));
  EXPECT_THAT(Parse("a 1 later\n").message(), HasSubstr("bad timestamp 'later'"));
  EXPECT_THAT(Parse("a 1 2 3\n").message(), HasSubstr("unexpected '3'"));
  EXPECT_THAT(Parse("# TYPE a bogus\n").message(), HasSubstr("unknown type 'bogus'"));
  EXPECT_THAT(Parse("# TYPE a gauge\n# TYPE a counter\n").message(), HasSubstr("line 2: second # TYPE line for a"));
  EXPECT_THAT(Parse("# HELP 1a x\n").message(), HasSubstr("bad metric name '1a'"));
  // Samples before the bad line were delivered.
  EXPECT_FALSE(Parse("good 1\nbad{ 2\n").ok());
  EXPECT_EQ(samples_.size(), 1u);
}

TEST_F(ExpositionTest, ReadsNanAsPrometheusCppWritesIt) {
  // The collector scrapes itself: its mingus_bi_* ratios are NaN until there is data.
  ASSERT_TRUE(Parse("a NaN\nb nan\nc Nan\n").ok());
  ASSERT_EQ(samples_.size(), 3u);
  for (const auto& sample : samples_) EXPECT_TRUE(std::isnan(sample.value)) << sample.name;
  EXPECT_FALSE(Parse("d NAN1\n").ok());
}

TEST_F(ExpositionTest, AKnownSeriesSkipsItsLabelsAndItsChecks) {
  std::vector<std::string> asked;
  ExpositionCallbacks callbacks;
  callbacks.known = [&](std::string_view series) {
    asked.emplace_back(series);
    return series != "fresh";
  };
  std::vector<size_t> label_counts;
  std::vector<double> values;
  callbacks.sample = [&](const ExpositionSample& s) {
    label_counts.push_back(s.labels.size());
    values.push_back(s.value);
  };
  // The series ends at the brace that closes the labels, not at one quoted in a value; a
  // known series is not checked again (the 9 starting a name would be refused).
  ASSERT_TRUE(
      parser_.Parse("a{b=\"}\\\"{\",c=\"d\"} 1\nfresh 2\n9known 3 1700000000000\n", callbacks)
          .ok());
  EXPECT_THAT(asked, ::testing::ElementsAre(R"(a{b="}\"{",c="d"})", "fresh", "9known"));
  EXPECT_THAT(label_counts, ::testing::ElementsAre(0u, 0u, 0u));
  EXPECT_THAT(values, ::testing::ElementsAre(1, 2, 3));
  // The value is read and checked as ever, and unknown series as ever.
  EXPECT_THAT(parser_.Parse("a{b=\"}\\\"{\",c=\"d\"} one\n", callbacks).message(),
              HasSubstr("bad value 'one'"));
  callbacks.known = [](std::string_view) { return false; };
  EXPECT_THAT(parser_.Parse("9known 3\n", callbacks).message(), HasSubstr("bad metric name"));
  // Labels that never close are not a series to ask about: the full reading reports them.
  asked.clear();
  callbacks.known = [&](std::string_view series) {
    asked.emplace_back(series);
    return true;
  };
  EXPECT_THAT(parser_.Parse("a{b=\"c\" 1\n", callbacks).message(),
              HasSubstr("expected ',' or '}'"));
  EXPECT_THAT(asked, ::testing::IsEmpty());
}

}  // namespace
}  // namespace mingus::wire
