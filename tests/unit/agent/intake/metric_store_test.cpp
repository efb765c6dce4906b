#include "mingus/agent/intake/metric_store.h"

#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "fake_clock.h"

namespace mingus::agent::intake {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using mingus::testing::FakeClock;

class MetricStoreTest : public ::testing::Test {
 protected:
  std::string Exposition() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, store_.Collect());
    return out.str();
  }
  int64_t Now() const { return UnixMillis(clock_); }

  FakeClock clock_;
  MetricStore store_{clock_, 3};
};

TEST_F(MetricStoreTest, CountersAndGauges) {
  StoreFamily* hits = store_.Family({.name = "hits_total", .help = "Hits.", .kind = MetricKind::kCounter});
  StoreFamily* temp = store_.Family({.name = "temp", .help = "Temperature.", .kind = MetricKind::kGauge});
  const Label a[] = {{"path", "/a"}};
  EXPECT_TRUE(store_.Add(hits, a, 1, Now()));
  EXPECT_TRUE(store_.Add(hits, a, 2.5, Now()));
  EXPECT_TRUE(store_.Set(temp, {}, 20, Now()));
  EXPECT_TRUE(store_.Add(temp, {}, -3, Now()));
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("# TYPE hits_total counter\nhits_total{path=\"/a\"} 3.5\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE temp gauge\ntemp 17\n"));
}

TEST_F(MetricStoreTest, HistogramsWithSampleRateWeights) {
  StoreFamily* latency = store_.Family({.name = "latency_seconds", .help = "L.",
                                        .kind = MetricKind::kHistogram, .buckets = {0.1, 1}});
  store_.Observe(latency, {}, 0.05, 1, Now());
  store_.Observe(latency, {}, 0.5, 2, Now());  // sampled at 0.5: counts twice
  store_.Observe(latency, {}, 5, 1, Now());
  const std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("latency_seconds_bucket{le=\"0.1\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("latency_seconds_bucket{le=\"1\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("latency_seconds_bucket{le=\"+Inf\"} 4\n"));
  EXPECT_THAT(out, HasSubstr("latency_seconds_count 4\n"));
  EXPECT_THAT(out, HasSubstr("latency_seconds_sum 6.05\n"));
}

TEST_F(MetricStoreTest, FractionalWeightsCarryOver) {
  StoreFamily* h = store_.Family({.name = "h", .help = "H.", .kind = MetricKind::kHistogram, .buckets = {1}});
  for (int i = 0; i < 3; ++i) store_.Observe(h, {}, 0.5, 1 / 0.3, Now());  // 3 lines at rate 0.3 = 10 events
  EXPECT_THAT(Exposition(), HasSubstr("h_count 10\n"));
}

TEST_F(MetricStoreTest, SummariesOverTheRecentWindow) {
  StoreFamily* s = store_.Family({.name = "s", .help = "S.", .kind = MetricKind::kSummary, .quantiles = {0.5, 0.99}});
  for (int i = 1; i <= 100; ++i) store_.Observe(s, {}, i, 1, Now());
  std::string out = Exposition();
  EXPECT_THAT(out, HasSubstr("s{quantile=\"0.5\"} 51\n"));
  EXPECT_THAT(out, HasSubstr("s{quantile=\"0.99\"} 100\n"));
  EXPECT_THAT(out, HasSubstr("s_count 100\n"));
  clock_.Advance(std::chrono::minutes(11));  // past the ten-minute window: no quantiles, counts stay
  out = Exposition();
  EXPECT_THAT(out, HasSubstr("s{quantile=\"0.5\"} Nan\n"));
  EXPECT_THAT(out, HasSubstr("s_count 100\n"));
}

TEST_F(MetricStoreTest, CardinalityCapRefusesAndCounts) {
  StoreFamily* f = store_.Family({.name = "f_total", .help = "F.", .kind = MetricKind::kCounter});
  for (const char* user : {"a", "b", "c", "d", "e"}) {
    const Label labels[] = {{"user", user}};
    store_.Add(f, labels, 1, Now());
  }
  const Label existing[] = {{"user", "a"}};
  EXPECT_TRUE(store_.Add(f, existing, 1, Now()));  // known series still update
  EXPECT_EQ(store_.DroppedSeries().at("f_total"), 2u);
  EXPECT_THAT(Exposition(), Not(HasSubstr("user=\"d\"")));
}

TEST_F(MetricStoreTest, IdleSeriesExpireAfterTheirTtl) {
  StoreFamily* f = store_.Family({.name = "g", .help = "G.", .kind = MetricKind::kGauge,
                                  .ttl = std::chrono::minutes(5)});
  const Label old_labels[] = {{"k", "old"}}, fresh_labels[] = {{"k", "fresh"}};
  store_.Set(f, old_labels, 1, Now());
  clock_.Advance(std::chrono::minutes(4));
  store_.Set(f, fresh_labels, 2, Now());
  clock_.Advance(std::chrono::minutes(2));
  const std::string out = Exposition();
  EXPECT_THAT(out, Not(HasSubstr("k=\"old\"")));
  EXPECT_THAT(out, HasSubstr("g{k=\"fresh\"} 2\n"));
  // The expired series no longer counts against the cap.
  for (const char* k : {"x", "y"}) {
    const Label labels[] = {{"k", k}};
    EXPECT_TRUE(store_.Set(f, labels, 1, Now())) << k;
  }
}

TEST_F(MetricStoreTest, AReferenceUpdatesItsSeriesUntilTheSeriesIdlesOut) {
  StoreFamily* f = store_.Family({.name = "c_total", .help = "C.", .kind = MetricKind::kCounter,
                                  .ttl = std::chrono::minutes(5)});
  const Label labels[] = {{"k", "v"}}, other[] = {{"k", "w"}};
  const auto ref = store_.Resolve(f, labels, Now());
  ASSERT_TRUE(ref.has_value());
  EXPECT_TRUE(store_.Add(*ref, 2, Now()));
  EXPECT_TRUE(store_.Add(f, labels, 1, Now()));  // the same series by its labels
  EXPECT_THAT(Exposition(), HasSubstr("c_total{k=\"v\"} 3\n"));

  clock_.Advance(std::chrono::minutes(6));
  store_.Add(f, other, 1, Now());
  Exposition();  // removes the idle series
  EXPECT_FALSE(store_.Add(*ref, 5, Now()));  // stale: nothing written to freed memory
  const auto again = store_.Resolve(f, labels, Now());
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(store_.Add(*again, 5, Now()));
  EXPECT_THAT(Exposition(), HasSubstr("c_total{k=\"v\"} 5\n"));
}

TEST_F(MetricStoreTest, ResolveRespectsTheCap) {
  StoreFamily* f = store_.Family({.name = "f_total", .help = "", .kind = MetricKind::kCounter});
  for (const char* user : {"a", "b", "c"}) {
    const Label labels[] = {{"user", user}};
    EXPECT_TRUE(store_.Resolve(f, labels, Now()).has_value());
  }
  const Label refused[] = {{"user", "d"}};
  EXPECT_FALSE(store_.Resolve(f, refused, Now()).has_value());
  EXPECT_EQ(store_.DroppedSeries().at("f_total"), 1u);
}

TEST_F(MetricStoreTest, OneNameOneKind) {
  ASSERT_NE(store_.Family({.name = "m", .help = "", .kind = MetricKind::kCounter}), nullptr);
  EXPECT_EQ(store_.Family({.name = "m", .help = "", .kind = MetricKind::kGauge}), nullptr);
  EXPECT_NE(store_.Family({.name = "m", .help = "", .kind = MetricKind::kCounter}), nullptr);
}

TEST_F(MetricStoreTest, ConcurrentUpdatesAreAllCounted) {
  MetricStore store(clock_, 10'000);
  StoreFamily* f = store.Family({.name = "c_total", .help = "", .kind = MetricKind::kCounter});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        const std::string value = std::to_string(i % 10);
        const Label labels[] = {{"k", value}};
        store.Add(f, labels, 1, UnixMillis(clock_));
      }
    });
  }
  for (auto& t : threads) t.join();
  double total = 0;
  for (const auto& family : store.Collect()) {
    for (const auto& m : family.metric) total += m.counter.value;
  }
  EXPECT_EQ(total, 40'000);
}

}  // namespace
}  // namespace mingus::agent::intake
