#include "mingus/collector/events/insights.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>

#include "fake_clock.h"
#include "mingus/collector/events/event_store.h"
#include "temp_dir.h"

namespace mingus::collector::events {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDayMs = 86'400'000;

class InsightsTest : public ::testing::Test {
 protected:
  InsightsTest() : dir_("insights") {
    auto store = EventStore::Open(path(), {}, clock_);
    EXPECT_TRUE(store.ok()) << store.message();
    store_ = std::move(store).value();
    auto insights = Insights::Open(path(), clock_, 400);
    EXPECT_TRUE(insights.ok()) << insights.message();
    insights_ = std::move(insights).value();
  }
  std::string path() const { return (dir_.path() / "business_intelligence.db").string(); }

  // Users come and go over 60 days: each has a first day, then is active on random later days
  // with a few events of random types; stored in shuffled batches, as pulls from two agents
  // whose clocks disagree would deliver them.
  void StoreActivity() {
    std::mt19937 rng(11);
    const int64_t now_ms = UnixMillis(clock_);
    std::vector<std::string> events;
    for (int user = 0; user < 120; ++user) {
      const int first = std::uniform_int_distribution<int>(0, 59)(rng);  // days ago
      const double chance = std::uniform_real_distribution<double>(0.05, 0.9)(rng);
      for (int ago = first; ago >= 0; --ago) {
        if (ago != first && std::uniform_real_distribution<double>(0, 1)(rng) > chance) continue;
        for (int n = std::uniform_int_distribution<int>(1, 3)(rng); n > 0; --n) {
          const int64_t ts_ms =
              now_ms - ago * kDayMs - std::uniform_int_distribution<int64_t>(0, kDayMs - 1)(rng);
          events.push_back(
              fmt::format(R"({{"type":"{}","user_id":"user{}","{}":"x","ts":{:.3f}}})",
                          n % 2 ? "engagement" : "feature", user, n % 2 ? "action" : "feature",
                          static_cast<double>(std::max(ts_ms, now_ms - 59 * kDayMs)) / 1000));
        }
      }
    }
    // Events without a user do not count as users.
    events.push_back(R"({"type":"cache","cache":"c","result":"hit"})");
    std::shuffle(events.begin(), events.end(), rng);
    uint64_t cursor = 0;
    for (size_t at = 0; at < events.size(); at += 97) {
      std::vector<std::string> lines;
      for (size_t i = at; i < std::min(events.size(), at + 97); ++i) {
        lines.push_back(fmt::format(R"({{"cursor":{},"received":{},"event":{}}})", ++cursor, now_ms,
                                    events[i]));
      }
      const auto stored =
          store_->Store(at % 2 ? "a:1" : "b:1", "spool",
                        std::vector<std::string_view>(lines.begin(), lines.end()), cursor, 0);
      ASSERT_TRUE(stored.ok()) << stored.message();
      ASSERT_EQ(stored->stored, lines.size());
    }
  }

  // One number from plain SQL over the raw events.
  int64_t Sql(const std::string& sql) {
    auto db = sqlite::Database::Open(path());
    EXPECT_TRUE(db.ok());
    auto statement = (*db)->Prepare(sql);
    EXPECT_TRUE(statement.ok()) << statement.message();
    EXPECT_TRUE(statement->Step()) << sql;
    return statement->Int(0);
  }

  testing::FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Insights> insights_;
};

TEST_F(InsightsTest, FiguresAgreeWithPlainSqlOverTheRawEvents) {
  StoreActivity();
  const auto report = insights_->Compute(30);
  ASSERT_TRUE(report.ok()) << report.message();
  ASSERT_EQ(report->per_day.size(), 30u);
  EXPECT_EQ(report->to, DayOf(UnixMillis(clock_)));
  EXPECT_EQ(report->from, DayOf(UnixMillis(clock_) - 29 * kDayMs));
  const std::string day = "date(time_ms / 1000, 'unixepoch')";
  int64_t registrations = 0, dau_sum = 0;
  for (const auto& figures : report->per_day) {
    const std::string& d = figures.date;
    SCOPED_TRACE(d);
    EXPECT_EQ(figures.registrations,
              Sql(fmt::format("SELECT count(*) FROM (SELECT user_id, min(time_ms) AS first "
                              "FROM events WHERE user_id IS NOT NULL GROUP BY user_id) "
                              "WHERE date(first / 1000, 'unixepoch') = '{}'",
                              d)));
    EXPECT_EQ(
        figures.dau,
        Sql(fmt::format("SELECT count(DISTINCT user_id) FROM events WHERE {} = '{}'", day, d)));
    EXPECT_EQ(figures.wau, Sql(fmt::format("SELECT count(DISTINCT user_id) FROM events WHERE {} "
                                           "BETWEEN date('{}', '-6 days') AND '{}'",
                                           day, d, d)));
    EXPECT_EQ(figures.mau, Sql(fmt::format("SELECT count(DISTINCT user_id) FROM events WHERE {} "
                                           "BETWEEN date('{}', '-29 days') AND '{}'",
                                           day, d, d)));
    EXPECT_DOUBLE_EQ(figures.stickiness, static_cast<double>(figures.dau) / figures.mau);
    registrations += figures.registrations;
    dau_sum += figures.dau;
  }
  EXPECT_GT(registrations, 30);  // the data set has something to count
  EXPECT_EQ(report->registrations, registrations);
  EXPECT_DOUBLE_EQ(report->average_dau, static_cast<double>(dau_sum) / 30);
  EXPECT_EQ(report->mau, report->per_day.back().mau);
  EXPECT_EQ(report->wau, report->per_day.back().wau);
  EXPECT_DOUBLE_EQ(report->stickiness, report->average_dau / report->mau);
}

TEST_F(InsightsTest, ServesJsonAndRefusesBadDays) {
  StoreActivity();
  const auto response = insights_->Serve(http::Request::Make("GET", "/api/monitoring/insights"));
  ASSERT_EQ(response.status, 200) << response.body;
  const auto document = boost::json::parse(response.body).as_object();
  EXPECT_EQ(document.at("days").as_int64(), 30);
  EXPECT_EQ(document.at("per_day").as_array().size(), 30u);
  const auto& last = document.at("per_day").as_array().back().as_object();
  const auto report = insights_->Compute(30);
  EXPECT_EQ(last.at("date").as_string(), report->to);
  EXPECT_EQ(last.at("mau").as_int64(), report->mau);
  EXPECT_EQ(document.at("active_users").as_object().at("mau").as_int64(), report->mau);
  EXPECT_EQ(document.at("registrations").as_int64(), report->registrations);
  const auto week = insights_->Serve(http::Request::Make("GET", "/api/monitoring/insights?days=7"));
  EXPECT_EQ(boost::json::parse(week.body).at("per_day").as_array().size(), 7u);
  for (const char* bad : {"0", "401", "x", "-1"}) {
    const auto refused = insights_->Serve(
        http::Request::Make("GET", fmt::format("/api/monitoring/insights?days={}", bad)));
    EXPECT_EQ(refused.status, 400) << bad;
    EXPECT_THAT(refused.body, HasSubstr("not a whole number from 1 to 400")) << bad;
  }
}

TEST_F(InsightsTest, AnEmptyStoreReportsZeros) {
  const auto report = insights_->Compute(7);
  ASSERT_TRUE(report.ok()) << report.message();
  EXPECT_EQ(report->registrations, 0);
  EXPECT_EQ(report->mau, 0);
  EXPECT_EQ(report->stickiness, 0);
  EXPECT_EQ(report->per_day.size(), 7u);
}

}  // namespace
}  // namespace mingus::collector::events
