#include "mingus/collector/db/query_tally.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace mingus::collector::db {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// family name -> fingerprint_id (or "" without labels) -> value
std::map<std::string, std::map<std::string, double>> Collect(const QueryTally& tally) {
  std::vector<prometheus::MetricFamily> families;
  tally.AppendFamilies(families);
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& family : families) {
    auto& values = out[family.name];
    for (const auto& metric : family.metric) {
      const std::string id = metric.label.empty() ? "" : metric.label.front().value;
      values[id] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                  : metric.gauge.value;
    }
  }
  return out;
}

TEST(QueryTally, CountsEachFingerprintAndExportsThoseWithTheMostTime) {
  QueryTally tally(/*exported=*/2, /*tracked=*/3);
  tally.Add("select * from a where id = ?", {3, 0.3});
  tally.Add("select * from b", {1, 5.0});
  tally.Add("select * from a where id = ?", {2, 0.2});
  tally.Add("select * from c", {10, 1.0});
  // Past `tracked` fingerprints, a new one is left out; the known ones still count.
  tally.Add("select * from d", {100, 100.0});
  tally.Add("select * from a where id = ?", {5, 1.5});
  const auto metrics = Collect(tally);
  EXPECT_THAT(metrics.at("mingus_collector_db_fingerprints"), ElementsAre(Pair("", 3)));
  const std::string a = FingerprintId("select * from a where id = ?");
  const std::string b = FingerprintId("select * from b");
  // a: 10 runs, 2 s; b: 1 run, 5 s; c (1 s) is not among the two.
  EXPECT_THAT(metrics.at("mingus_collector_db_queries_total"),
              testing::UnorderedElementsAre(Pair(a, 10), Pair(b, 1)));
  const auto& seconds = metrics.at("mingus_collector_db_query_seconds_total");
  ASSERT_EQ(seconds.size(), 2u);
  EXPECT_DOUBLE_EQ(seconds.at(a), 2.0);
  EXPECT_DOUBLE_EQ(seconds.at(b), 5.0);
}

TEST(QueryTally, TheIdIsSixteenHexDigitsAndStable) {
  const std::string id = FingerprintId("select ?");
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(FingerprintId("select ?"), id);
  EXPECT_NE(FingerprintId("select ?, ?"), id);
}

TEST(QueryTally, EmptyStillDeclaresTheFamilies) {
  const auto metrics = Collect(QueryTally());
  EXPECT_THAT(metrics.at("mingus_collector_db_fingerprints"), ElementsAre(Pair("", 0)));
  EXPECT_TRUE(metrics.at("mingus_collector_db_queries_total").empty());
}

}  // namespace
}  // namespace mingus::collector::db
