#include "mingus/collector/db/digests.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace mingus::collector::db {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

TEST(Digests, FiguresPerFingerprintAgainstARecount) {
  // 200 runs of one shape with random values and times, and 3 of another.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> ms(1, 400);
  DigestBuilder builder({.slow_ms = 100, .n_plus_one_min = 10});
  std::vector<double> durations;
  double rows = 0;
  for (int i = 0; i < 200; ++i) {
    const double duration = ms(rng);
    durations.push_back(duration);
    rows += i % 7;
    builder.Add({1000 + i, fmt::format("SELECT * FROM orders WHERE user_id = {}", i), duration,
                 static_cast<double>(i % 7), ""});
  }
  for (int i = 0; i < 3; ++i)
    builder.Add({500 + i, fmt::format("UPDATE users SET seen = {} WHERE id = 1", i), 1.0,
                 std::nullopt, ""});
  const auto digests = builder.Digests();
  ASSERT_THAT(digests, SizeIs(2));
  const Digest& orders = digests[0];  // the larger total first
  EXPECT_EQ(orders.fingerprint, "select * from orders where user_id = ?");
  EXPECT_EQ(orders.operation, "select");
  EXPECT_THAT(orders.tables, ElementsAre("orders"));
  EXPECT_EQ(orders.count, 200);
  double total = 0;
  for (double d : durations) total += d;
  EXPECT_DOUBLE_EQ(orders.total_ms, total);
  EXPECT_DOUBLE_EQ(orders.average_ms, total / 200);
  std::sort(durations.begin(), durations.end());
  EXPECT_DOUBLE_EQ(orders.p95_ms, durations[189]);  // nearest rank: ceil(0.95 * 200) = 190th
  EXPECT_DOUBLE_EQ(orders.max_ms, durations.back());
  EXPECT_EQ(orders.slow_count,
            std::count_if(durations.begin(), durations.end(), [](double d) { return d >= 100; }));
  EXPECT_TRUE(orders.slow);
  EXPECT_DOUBLE_EQ(*orders.rows_total, rows);
  EXPECT_DOUBLE_EQ(*orders.rows_average, rows / 200);
  EXPECT_EQ(orders.first_seen_ms, 1000);
  EXPECT_EQ(orders.last_seen_ms, 1199);
  // The slowest run is the sample, with its literal.
  EXPECT_DOUBLE_EQ(orders.max_ms, *std::max_element(durations.begin(), durations.end()));
  EXPECT_TRUE(orders.sample.starts_with("SELECT * FROM orders WHERE user_id = "));

  const Digest& users = digests[1];
  EXPECT_EQ(users.operation, "update");
  EXPECT_FALSE(users.slow);
  EXPECT_FALSE(users.rows_total.has_value());
  EXPECT_EQ(users.sample, "UPDATE users SET seen = 0 WHERE id = 1");  // the first of equals
}

TEST(Digests, SlowIsThePercentileNotOneSpike) {
  DigestBuilder builder({.slow_ms = 100, .n_plus_one_min = 10});
  for (int i = 0; i < 99; ++i) builder.Add({i, "SELECT 1 FROM t WHERE a = 1", 2.0, 1.0, ""});
  builder.Add({100, "SELECT 1 FROM t WHERE a = 2", 5000.0, 1.0, ""});
  const auto digests = builder.Digests();
  ASSERT_THAT(digests, SizeIs(1));
  EXPECT_FALSE(digests[0].slow);
  EXPECT_EQ(digests[0].slow_count, 1);
  EXPECT_EQ(digests[0].sample, "SELECT 1 FROM t WHERE a = 2");
}

TEST(Digests, NPlusOneIsManyRunsOfOneFingerprintInOneRequest) {
  DigestBuilder builder({.slow_ms = 100, .n_plus_one_min = 10});
  // Request r1 loads 25 items one by one, r2 12, r3 only 9; r4 runs 30 different shapes.
  const auto item = [](int id) { return fmt::format("SELECT * FROM items WHERE id = {}", id); };
  for (int i = 0; i < 25; ++i) builder.Add({i, item(i), 2.0, 1.0, "r1"});
  for (int i = 0; i < 12; ++i) builder.Add({i, item(i), 1.0, 1.0, "r2"});
  for (int i = 0; i < 9; ++i) builder.Add({i, item(i), 1.0, 1.0, "r3"});
  for (int i = 0; i < 30; ++i)
    builder.Add({i, fmt::format("SELECT c{} FROM t WHERE id = 1", i), 1.0, 1.0, "r4"});
  // Without request ids nothing counts as one request.
  for (int i = 0; i < 50; ++i) builder.Add({i, "SELECT * FROM logs WHERE id = 1", 1.0, 1.0, ""});
  const auto findings = builder.NPlusOnes();
  ASSERT_THAT(findings, SizeIs(1));
  EXPECT_EQ(findings[0].fingerprint, "select * from items where id = ?");
  EXPECT_EQ(findings[0].requests, 2);
  EXPECT_EQ(findings[0].max_runs, 25);
  EXPECT_EQ(findings[0].example_request_id, "r1");
  EXPECT_DOUBLE_EQ(findings[0].example_total_ms, 50.0);
}

}  // namespace
}  // namespace mingus::collector::db
