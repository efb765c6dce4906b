#include "mingus/collector/scrape/scraper.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_clock.h"
#include "fixtures.h"
#include "mingus/http/server.h"

namespace mingus::collector::scrape {
namespace {

using ::testing::HasSubstr;
using mingus::testing::FakeClock;
using tsdb::Matcher;

class ScraperTest : public ::testing::Test {
 protected:
  static Target MakeTarget(const std::string& address = "10.0.0.1:9110") {
    Target target;
    target.address = address;
    target.labels = *tsdb::MakeLabels({{"job", "agent"}, {"instance", address}, {"team", "web"}});
    return target;
  }
  std::vector<tsdb::Sample> Series(const std::string& name, std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<Matcher> matchers = {*Matcher::Make(Matcher::Op::kEqual, "__name__", name)};
    for (auto& [k, v] : extra) matchers.push_back(*Matcher::Make(Matcher::Op::kEqual, k, v));
    const auto refs = head_.Select(matchers);
    if (refs.size() != 1) return {};
    return head_.Samples(refs[0], 0, INT64_MAX);
  }

  FakeClock clock_;
  tsdb::Head head_;
};

TEST_F(ScraperTest, SamplesGetTargetLabelsAndReportSeries) {
  TargetScraper scraper(MakeTarget(), head_, clock_);
  const auto report = scraper.Ingest(std::string("# TYPE a counter\na_total{code=\"200\"} 5\nb 1.5 1700000000000\n"),
                                     1'800'000'000'000, 0.25);
  EXPECT_TRUE(report.up);
  EXPECT_EQ(report.samples, 2u);
  const auto refs = head_.Select({*Matcher::Make(Matcher::Op::kEqual, "__name__", "a_total")});
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(tsdb::LabelsString(head_.LabelsOf(refs[0])),
            R"({__name__="a_total", code="200", instance="10.0.0.1:9110", job="agent", team="web"})");
  EXPECT_EQ(Series("b")[0], (tsdb::Sample{1'700'000'000'000, 1.5}));  // explicit timestamp kept
  EXPECT_EQ(Series("up")[0].value, 1);
  EXPECT_EQ(Series("scrape_duration_seconds")[0].value, 0.25);
  EXPECT_EQ(Series("scrape_samples_scraped")[0].value, 2);
}

TEST_F(ScraperTest, VanishedSeriesAndFailedScrapesGetStalenessMarkers) {
  TargetScraper scraper(MakeTarget(), head_, clock_);
  scraper.Ingest(std::string("x{k=\"1\"} 1\nx{k=\"2\"} 2\n"), 1000, 0.1);
  auto report = scraper.Ingest(std::string("x{k=\"1\"} 3\n"), 2000, 0.1);
  EXPECT_EQ(report.stale, 1u);
  const auto gone = Series("x", {{"k", "2"}});
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_TRUE(IsStaleNaN(gone[1].value));
  EXPECT_EQ(gone[1].timestamp_ms, 2000);
  report = scraper.Ingest(std::string("x{k=\"1\"} 4\nbroken{ 1\n"), 3000, 0.1);  // malformed: whole scrape fails
  EXPECT_FALSE(report.up);
  EXPECT_THAT(report.error, HasSubstr("line 2:"));
  EXPECT_EQ(report.stale, 1u);
  EXPECT_TRUE(IsStaleNaN(Series("x", {{"k", "1"}}).back().value));
  EXPECT_EQ(Series("up").back().value, 0);
  EXPECT_EQ(Series("scrape_samples_scraped").back().value, 0);
}

TEST_F(ScraperTest, SeriesWithTheirOwnTimestampsGetNoStalenessMarkers) {
  TargetScraper scraper(MakeTarget(), head_, clock_);
  scraper.Ingest(std::string("x 1 500\ny 1\n"), 1000, 0.1);
  EXPECT_EQ(scraper.Ingest(std::string(""), 2000, 0.1).stale, 1u);
  EXPECT_EQ(Series("x").size(), 1u);
  EXPECT_TRUE(IsStaleNaN(Series("y").back().value));
}

TEST_F(ScraperTest, RemovedTargetEndsEverySeries) {
  TargetScraper scraper(MakeTarget(), head_, clock_);
  scraper.Ingest(std::string("x 1\n"), 1000, 0.1);
  scraper.MarkStale(2000);
  EXPECT_TRUE(IsStaleNaN(Series("x").back().value));
  EXPECT_TRUE(IsStaleNaN(Series("up").back().value));
  EXPECT_EQ(Series("up").back().timestamp_ms, 2000);
}

TEST_F(ScraperTest, CachedSeriesStillGetNewSamples) {
  TargetScraper scraper(MakeTarget(), head_, clock_);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(scraper.Ingest(std::string("x{b=\"2\",a=\"1\"} ") + std::to_string(i) + "\n", i * 1000, 0).up);
  }
  EXPECT_EQ(Series("x", {{"a", "1"}, {"b", "2"}}),
            (std::vector<tsdb::Sample>{{1000, 1}, {2000, 2}, {3000, 3}}));
}

TEST_F(ScraperTest, SeriesMovingInTheExpositionKeepTheirOwnSamples) {
  TargetScraper scraper(MakeTarget(), head_, clock_);
  ASSERT_TRUE(scraper.Ingest(std::string("a 1\nb 2\nc 3\n"), 1000, 0).up);
  ASSERT_TRUE(scraper.Ingest(std::string("b 20\na 10\nd 40\nc 30\n"), 2000, 0).up);  // swapped, inserted
  ASSERT_FALSE(scraper.Ingest(std::string("a 0\nbroken{\n"), 3000, 0).up);
  ASSERT_TRUE(scraper.Ingest(std::string("c 300\nd 400\na 100\nb 200\n"), 4000, 0).up);
  EXPECT_EQ(Series("a").back(), (tsdb::Sample{4000, 100}));
  EXPECT_EQ(Series("b")[1], (tsdb::Sample{2000, 20}));
  EXPECT_EQ(Series("b").back(), (tsdb::Sample{4000, 200}));
  EXPECT_EQ(Series("c")[1], (tsdb::Sample{2000, 30}));
  EXPECT_EQ(Series("d").front(), (tsdb::Sample{2000, 40}));
  EXPECT_EQ(Series("d").back(), (tsdb::Sample{4000, 400}));
}

TEST_F(ScraperTest, HonorLabelsAndSampleLimit) {
  Target target = MakeTarget();
  TargetScraper renaming(target, head_, clock_);
  renaming.Ingest(std::string("m{job=\"app\",instance=\"x\",team=\"db\"} 1\n"), 1000, 0);
  EXPECT_EQ(Series("m", {{"exported_job", "app"}, {"job", "agent"}, {"exported_instance", "x"}, {"exported_team", "db"}})
                .size(),
            1u);
  target = MakeTarget("10.0.0.2:9110");
  target.honor_labels = true;
  TargetScraper honoring(target, head_, clock_);
  honoring.Ingest(std::string("n{job=\"app\"} 1\n"), 1000, 0);
  EXPECT_EQ(Series("n", {{"job", "app"}, {"instance", "10.0.0.2:9110"}}).size(), 1u);
  target = MakeTarget("10.0.0.3:9110");
  target.sample_limit = 1;
  TargetScraper limited(target, head_, clock_);
  EXPECT_THAT(limited.Ingest(std::string("o 1\np 2\n"), 1000, 0).error, HasSubstr("sample limit exceeded"));
  target = MakeTarget("10.0.0.4:9110");
  target.label_limit = 1;
  target.label_value_length_limit = 3;
  TargetScraper capped(target, head_, clock_);
  EXPECT_THAT(capped.Ingest(std::string("q{a=\"1\",b=\"2\"} 1\n"), 1000, 0).error,
              HasSubstr("label_limit exceeded: q has 2 labels, limit 1"));
  EXPECT_THAT(capped.Ingest(std::string("r{a=\"long\"} 1\n"), 2000, 0).error,
              HasSubstr("label_value_length_limit exceeded: r label a is 4 bytes, limit 3"));
  EXPECT_TRUE(capped.Ingest(std::string("s{a=\"ok\"} 1\n"), 3000, 0).up);
}

TEST_F(ScraperTest, ScrapesARealServer) {
  auto router = std::make_shared<http::Router>();
  router->Handle("GET", "/metrics", [](const http::Request&) {
    http::Response response = http::Response::Text(200, "# TYPE hits counter\nhits_total 42\n");
    response.compressible = true;
    return response;
  });
  http::Server server({.listen_address = "127.0.0.1:0"}, router);
  TargetScraper scraper(MakeTarget(*server.Start()), head_, clock_);
  const auto report = scraper.ScrapeOnce();
  EXPECT_TRUE(report.up) << report.error;
  EXPECT_EQ(Series("hits_total")[0], (tsdb::Sample{1'800'000'000'000, 42}));
  server.Stop();
  const auto down = scraper.ScrapeOnce();
  EXPECT_FALSE(down.up);
  EXPECT_THAT(down.error, HasSubstr("connect"));
}

TEST_F(ScraperTest, ScrapesOverTlsWithTheJobsCredentials) {
  auto router = std::make_shared<http::Router>();
  router->Handle("GET", "/metrics",
                 [](const http::Request&) { return http::Response::Text(200, "hits_total 7\n"); });
  http::ServerOptions options{.listen_address = "127.0.0.1:0"};
  options.web_config.tls.cert_file = testing::FixturePath("web/server.pem");
  options.web_config.tls.key_file = testing::FixturePath("web/server-key.pem");
  // bcrypt (cost 4) of "secret"
  options.web_config.basic_auth_users = {
      {"alice", "$2b$04$ta3t.KsqHRFmqfCOvfqIrusVmlp9C6k3bn7s40xkhL5x0xHG94BAO"}};
  http::Server server(options, router);
  Target target = MakeTarget(*server.Start());
  target.client.scheme = "https";
  target.client.tls.ca_file = testing::FixturePath("web/ca.pem");
  TargetScraper anonymous(target, head_, clock_);
  const auto refused = anonymous.ScrapeOnce();
  EXPECT_FALSE(refused.up);
  EXPECT_THAT(refused.error, HasSubstr("HTTP status 401"));
  target.client.authorization = http::BasicAuthorization("alice", "secret");
  TargetScraper scraper(target, head_, clock_);
  const auto report = scraper.ScrapeOnce();
  EXPECT_TRUE(report.up) << report.error;
  const auto hits = Series("hits_total");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].value, 7);
  EXPECT_EQ(server.auth_failures(), 1u);
}

}  // namespace
}  // namespace mingus::collector::scrape
