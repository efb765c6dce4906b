#include "mingus/collector/events/insights.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
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
  const auto response =
      insights_->Serve(http::Request::Make("GET", "/api/monitoring/insights?days=30"));
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
  const auto missing = insights_->Serve(http::Request::Make("GET", "/api/monitoring/insights"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_THAT(missing.body, HasSubstr("days: missing"));
}

TEST_F(InsightsTest, AnEmptyStoreReportsZerosAndNoRatesRatherThanDividingByZero) {
  const auto report = insights_->Compute(7);
  ASSERT_TRUE(report.ok()) << report.message();
  EXPECT_EQ(report->registrations, 0);
  EXPECT_EQ(report->mau, 0);
  EXPECT_EQ(report->stickiness, 0);
  EXPECT_EQ(report->per_day.size(), 7u);
  EXPECT_EQ(report->active_users, 0);
  // 2027-01-09 to 2027-01-15 touch the weeks of Monday the 4th and the 11th: no users in either.
  ASSERT_EQ(report->cohorts.size(), 2u);
  EXPECT_EQ(report->cohorts[0].week, "2027-01-04");
  EXPECT_EQ(report->cohorts[1].week, "2027-01-11");
  for (const auto& cohort : report->cohorts) {
    EXPECT_EQ(cohort.users, 0);
    for (const auto& retention : cohort.retention) EXPECT_FALSE(retention.rate.has_value());
  }
  EXPECT_TRUE(report->engagement.empty());
  EXPECT_TRUE(report->features.empty());
  EXPECT_EQ(report->satisfaction.responses, 0);
  EXPECT_FALSE(report->satisfaction.csat.score.has_value());
  EXPECT_FALSE(report->satisfaction.nps.score.has_value());
  EXPECT_FALSE(report->satisfaction.average_sentiment.has_value());
  EXPECT_TRUE(report->score_accuracy.empty());
  EXPECT_TRUE(report->roi.empty());
  EXPECT_TRUE(report->anomalies.empty());
  const auto response =
      insights_->Serve(http::Request::Make("GET", "/api/monitoring/insights?days=7"));
  ASSERT_EQ(response.status, 200);
  const auto document = boost::json::parse(response.body).as_object();
  EXPECT_TRUE(document.at("satisfaction").at("nps").at("score").is_null());
  EXPECT_TRUE(document.at("retention").as_array()[0].at("day_1").at("rate").is_null());
}

// A small data set whose every figure is worked out by hand in the comments.
class InsightsKnownAnswersTest : public InsightsTest {
 protected:
  // Stores events (JSON objects without ts) at `days_ago` whole days before now.
  void At(int days_ago, std::vector<std::string> events) {
    std::vector<std::string> lines;
    const double ts = static_cast<double>(UnixMillis(clock_) - days_ago * kDayMs) / 1000;
    for (auto& event : events) {
      event.insert(event.size() - 1, fmt::format(R"(,"ts":{:.3f})", ts));
      lines.push_back(fmt::format(R"({{"cursor":{},"received":0,"event":{}}})", ++cursor_, event));
    }
    const auto stored = store_->Store(
        "a:1", "spool", std::vector<std::string_view>(lines.begin(), lines.end()), cursor_, 0);
    ASSERT_TRUE(stored.ok()) << stored.message();
    ASSERT_EQ(stored->stored, lines.size());
  }
  uint64_t cursor_ = 0;
};

TEST_F(InsightsKnownAnswersTest, Satisfaction) {
  // NPS: promoters 10 9 9, passive 7, detractor 3: 100 * (3 - 1) / 5 = 40.
  // CSAT: 5 and 4 satisfied of 5 4 2 1 1: 40.
  for (const char* rating : {"10", "9", "9", "7", "3"}) {
    At(1, {fmt::format(R"({{"type":"feedback","user_id":"u","kind":"nps","rating":{}}})", rating)});
  }
  At(0,
     {R"({"type":"feedback","user_id":"u","kind":"csat","rating":5,"comment":"Great app, love it"})",
      R"({"type":"feedback","user_id":"u","kind":"csat","rating":4,"comment":"meh"})",
      R"({"type":"feedback","user_id":"u","kind":"csat","rating":2,"comment":"not good, SLOW"})",
      R"({"type":"feedback","user_id":"u","kind":"csat","rating":1,"comment":"never slow"})",
      R"({"type":"feedback","user_id":"u","kind":"csat","rating":1,"comment":""})"});
  // Older than the period: not counted.
  At(9, {R"({"type":"feedback","user_id":"u","kind":"nps","rating":0,"comment":"awful"})"});
  const auto report = insights_->Compute(7);
  ASSERT_TRUE(report.ok()) << report.message();
  const Satisfaction& s = report->satisfaction;
  EXPECT_EQ(s.responses, 10);
  EXPECT_EQ(s.nps.responses, 5);
  EXPECT_EQ(s.nps.promoters, 3);
  EXPECT_EQ(s.nps.passives, 1);
  EXPECT_EQ(s.nps.detractors, 1);
  EXPECT_DOUBLE_EQ(*s.nps.score, 40);
  EXPECT_EQ(s.csat.responses, 5);
  EXPECT_EQ(s.csat.satisfied, 2);
  EXPECT_DOUBLE_EQ(*s.csat.score, 40);
  ASSERT_EQ(s.kinds.size(), 2u);
  EXPECT_EQ(s.kinds[0].kind, "csat");
  EXPECT_DOUBLE_EQ(s.kinds[0].average_rating, 13.0 / 5);
  ASSERT_EQ(s.kinds[0].distribution.size(), 4u);
  EXPECT_EQ(s.kinds[0].distribution[0].rating, 1);
  EXPECT_EQ(s.kinds[0].distribution[0].count, 2);
  EXPECT_EQ(s.kinds[1].kind, "nps");
  EXPECT_DOUBLE_EQ(s.kinds[1].average_rating, 38.0 / 5);
  // Sentiment: +2, 0, -2 ("not good" and "slow"), +1 ("never slow"); the empty one is no comment.
  EXPECT_EQ(s.comments, 4);
  EXPECT_EQ(s.positive, 2);
  EXPECT_EQ(s.neutral, 1);
  EXPECT_EQ(s.negative, 1);
  EXPECT_DOUBLE_EQ(*s.average_sentiment, 0.25);
  ASSERT_EQ(s.most_negative.size(), 1u);
  EXPECT_EQ(s.most_negative[0].comment, "not good, SLOW");
  EXPECT_EQ(s.most_negative[0].score, -2);
  EXPECT_EQ(s.most_negative[0].rating, 2);
  EXPECT_EQ(s.most_negative[0].date, report->to);
}

TEST_F(InsightsKnownAnswersTest, ScoreAccuracyAndRoi) {
  // |105-100| = 5 is within 10 of 100; |80-100| = 20 is not; 0 for 0 is exact: MAE 25/3,
  // accuracy 2/3. A score without `actual` is left out.
  At(2, {R"({"type":"score","name":"credit","duration_ms":1,"predicted":105,"actual":100})",
         R"({"type":"score","name":"credit","duration_ms":1,"predicted":80,"actual":100})",
         R"({"type":"score","name":"credit","duration_ms":1,"predicted":0,"actual":0})",
         R"({"type":"score","name":"credit","duration_ms":1,"predicted":3})",
         R"({"type":"score","name":"risk","duration_ms":1,"predicted":0.5,"actual":0})"});
  At(1, {R"({"type":"data_source","source":"plaid","cost":1.5,"value":4})",
         R"({"type":"data_source","source":"plaid","cost":0.5,"value":1})",
         R"({"type":"data_source","source":"free","cost":0,"value":3})"});
  const auto report = insights_->Compute(7);
  ASSERT_TRUE(report.ok()) << report.message();
  ASSERT_EQ(report->score_accuracy.size(), 2u);
  EXPECT_EQ(report->score_accuracy[0].name, "credit");
  EXPECT_EQ(report->score_accuracy[0].events, 3);
  EXPECT_DOUBLE_EQ(report->score_accuracy[0].mae, 25.0 / 3);
  EXPECT_DOUBLE_EQ(report->score_accuracy[0].accuracy, 2.0 / 3);
  EXPECT_DOUBLE_EQ(report->score_accuracy[1].accuracy, 0);  // 0.5 for 0: not exact
  ASSERT_EQ(report->roi.size(), 2u);
  EXPECT_EQ(report->roi[0].source, "free");
  EXPECT_FALSE(report->roi[0].value_per_cost.has_value());  // nothing spent
  EXPECT_EQ(report->roi[1].source, "plaid");
  EXPECT_EQ(report->roi[1].events, 2);
  EXPECT_DOUBLE_EQ(report->roi[1].cost, 2);
  EXPECT_DOUBLE_EQ(report->roi[1].value, 5);
  EXPECT_DOUBLE_EQ(*report->roi[1].value_per_cost, 2.5);
}

TEST_F(InsightsKnownAnswersTest, FeaturesAgainstThePreviousPeriodAndEngagement) {
  // Previous 7 days: budget by u1 (10 s); goals by u1. This period: budget by u1 and u2
  // (sessions s1, s2, s2), goals by nobody; u3 is active but uses no feature.
  At(10, {R"({"type":"feature","user_id":"u1","feature":"budget","usage_time":10})",
          R"({"type":"feature","user_id":"u1","feature":"goals"})"});
  At(3, {R"({"type":"feature","user_id":"u1","feature":"budget","session_id":"s1","usage_time":5})",
         R"({"type":"feature","user_id":"u2","feature":"budget","session_id":"s2","usage_time":7})",
         R"({"type":"feature","user_id":"u2","feature":"budget","session_id":"s2"})",
         R"({"type":"engagement","user_id":"u3","action":"login","usage_time":4})",
         R"({"type":"engagement","user_id":"u3","action":"login"})",
         R"({"type":"engagement","user_id":"u1","action":"view","session_id":"s1"})"});
  const auto report = insights_->Compute(7);
  ASSERT_TRUE(report.ok()) << report.message();
  EXPECT_EQ(report->active_users, 3);
  ASSERT_EQ(report->features.size(), 2u);
  const FeatureUsage& budget = report->features[0];
  EXPECT_EQ(budget.feature, "budget");
  EXPECT_EQ(budget.events, 3);
  EXPECT_EQ(budget.users, 2);
  EXPECT_EQ(budget.sessions, 2);
  EXPECT_DOUBLE_EQ(budget.usage_time, 12);
  EXPECT_DOUBLE_EQ(budget.adoption, 2.0 / 3);
  EXPECT_EQ(budget.previous_users, 1);
  EXPECT_DOUBLE_EQ(*budget.users_change, 1);
  EXPECT_DOUBLE_EQ(*budget.usage_time_change, 0.2);
  const FeatureUsage& goals = report->features[1];
  EXPECT_EQ(goals.users, 0);
  EXPECT_EQ(goals.previous_users, 1);
  EXPECT_DOUBLE_EQ(*goals.users_change, -1);
  EXPECT_FALSE(goals.usage_time_change.has_value());  // no usage time before either
  ASSERT_EQ(report->engagement.size(), 2u);
  EXPECT_EQ(report->engagement[0].action, "login");
  EXPECT_EQ(report->engagement[0].events, 2);
  EXPECT_EQ(report->engagement[0].users, 1);
  EXPECT_EQ(report->engagement[0].sessions, 0);
  EXPECT_DOUBLE_EQ(*report->engagement[0].average_usage_time, 4);
  EXPECT_FALSE(report->engagement[1].average_usage_time.has_value());
}

TEST_F(InsightsKnownAnswersTest, RetentionCohortsByRegistrationWeek) {
  // Today is Friday 2027-01-15. u1 registers on Monday the 4th (11 days ago) and comes back on
  // day 1 and day 7; u2 on Sunday the 10th, back on day 2 only; u3 registers today: day 1 is
  // not here yet, so u3 is not eligible for any rate.
  At(11, {R"({"type":"engagement","user_id":"u1","action":"a"})"});
  At(10, {R"({"type":"engagement","user_id":"u1","action":"a"})"});
  At(5, {R"({"type":"engagement","user_id":"u2","action":"a"})"});
  At(4, {R"({"type":"engagement","user_id":"u1","action":"a"})"});
  At(3, {R"({"type":"engagement","user_id":"u2","action":"a"})"});
  At(0, {R"({"type":"engagement","user_id":"u3","action":"a"})"});
  const auto report = insights_->Compute(14);
  ASSERT_TRUE(report.ok()) << report.message();
  ASSERT_EQ(report->cohorts.size(), 3u);  // the weeks of Dec 28 (empty), Jan 4 and Jan 11
  EXPECT_EQ(report->cohorts[0].week, "2026-12-28");
  EXPECT_EQ(report->cohorts[0].users, 0);
  const Cohort& week = report->cohorts[1];
  EXPECT_EQ(week.week, "2027-01-04");
  EXPECT_EQ(week.users, 2);
  EXPECT_EQ(week.retention[0].eligible, 2);  // day 1
  EXPECT_EQ(week.retention[0].retained, 1);
  EXPECT_DOUBLE_EQ(*week.retention[0].rate, 0.5);
  // Day 7: u1's is the 11th, u2's the 17th, still ahead.
  EXPECT_EQ(week.retention[1].eligible, 1);
  EXPECT_EQ(week.retention[1].retained, 1);
  EXPECT_EQ(week.retention[2].eligible, 0);  // day 30
  EXPECT_FALSE(week.retention[2].rate.has_value());
  const Cohort& this_week = report->cohorts[2];
  EXPECT_EQ(this_week.users, 1);
  EXPECT_EQ(this_week.retention[0].eligible, 0);
  EXPECT_FALSE(this_week.retention[0].rate.has_value());
}

TEST_F(InsightsKnownAnswersTest, ADayFarOutsideTheTrailingTwoWeeksIsFlagged) {
  // 10 and 12 events on alternate days for 20 days (mean 11, sample stddev 1.04 over 14 days),
  // then a day with no events (z about -10.6) and today 40 (z above 3 against a window holding
  // the empty day too).
  for (int ago = 21; ago >= 2; --ago) {
    std::vector<std::string> events(ago % 2 ? 10 : 12,
                                    R"({"type":"cache","cache":"c","result":"hit"})");
    At(ago, events);
  }
  At(0, std::vector<std::string>(40, R"({"type":"cache","cache":"c","result":"hit"})"));
  const auto report = insights_->Compute(7);
  ASSERT_TRUE(report.ok()) << report.message();
  ASSERT_EQ(report->anomalies.size(), 2u);
  EXPECT_EQ(report->anomalies[0].metric, "events");
  EXPECT_EQ(report->anomalies[0].date, DayOf(UnixMillis(clock_) - kDayMs));
  EXPECT_EQ(report->anomalies[0].value, 0);
  EXPECT_DOUBLE_EQ(report->anomalies[0].mean, 11);
  EXPECT_LT(report->anomalies[0].z, -3);
  EXPECT_EQ(report->anomalies[1].date, report->to);
  EXPECT_EQ(report->anomalies[1].value, 40);
  EXPECT_GT(report->anomalies[1].z, 3);
  // No users: DAU and registrations stay 0 throughout, a standard deviation of 0, not flagged.
}

TEST_F(InsightsKnownAnswersTest, KeyFiguresForTheGauges) {
  At(40, {R"({"type":"feedback","user_id":"old","kind":"nps","rating":0})"});
  At(3, {R"({"type":"feedback","user_id":"u1","kind":"nps","rating":10})",
         R"({"type":"feedback","user_id":"u2","kind":"csat","rating":3})"});
  At(0, {R"({"type":"engagement","user_id":"u1","action":"a"})"});
  const auto figures = insights_->ComputeKeyFigures();
  ASSERT_TRUE(figures.ok()) << figures.message();
  EXPECT_EQ(figures->dau, 1);
  EXPECT_EQ(figures->wau, 2);
  EXPECT_EQ(figures->mau, 2);  // "old" was 40 days ago
  EXPECT_DOUBLE_EQ(figures->stickiness, 0.5);
  EXPECT_EQ(figures->registrations, 0);
  EXPECT_DOUBLE_EQ(*figures->nps.score, 100);
  EXPECT_DOUBLE_EQ(*figures->csat.score, 0);
}

// The value of family `name`'s sample with the label (if given), or nullopt.
std::optional<double> Sample(const std::vector<prometheus::MetricFamily>& families,
                             const std::string& name, const std::string& label = "") {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      if (label.empty() || (!metric.label.empty() && metric.label[0].value == label)) {
        return family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                              : metric.gauge.value;
      }
    }
  }
  return std::nullopt;
}

TEST_F(InsightsKnownAnswersTest, KeyFiguresOnMetricsFollowTheStore) {
  std::vector<prometheus::MetricFamily> before;
  insights_->AppendFamilies(before);
  EXPECT_EQ(Sample(before, "mingus_bi_active_users", "1d"), 0);
  EXPECT_TRUE(std::isnan(*Sample(before, "mingus_bi_net_promoter_score")));  // no ratings yet
  EXPECT_TRUE(std::isnan(*Sample(before, "mingus_bi_csat_ratio")));
  EXPECT_EQ(Sample(before, "mingus_collector_insights_errors_total"), 0);

  // Another connection commits: a scrape within 10 s still has the figures computed before,
  // the next one after that sees it, without waiting for the minute.
  At(0, {R"({"type":"feedback","user_id":"u1","kind":"nps","rating":3})",
         R"({"type":"feedback","user_id":"u2","kind":"csat","rating":4})"});
  clock_.Advance(std::chrono::seconds(9));
  std::vector<prometheus::MetricFamily> soon;
  insights_->AppendFamilies(soon);
  EXPECT_EQ(Sample(soon, "mingus_bi_active_users", "1d"), 0);
  clock_.Advance(std::chrono::seconds(1));
  std::vector<prometheus::MetricFamily> after;
  insights_->AppendFamilies(after);
  EXPECT_EQ(Sample(after, "mingus_bi_active_users", "1d"), 2);
  EXPECT_EQ(Sample(after, "mingus_bi_active_users", "30d"), 2);
  EXPECT_EQ(Sample(after, "mingus_bi_registrations_today"), 2);
  EXPECT_EQ(Sample(after, "mingus_bi_stickiness_ratio"), 1);
  EXPECT_EQ(Sample(after, "mingus_bi_net_promoter_score"), -100);
  EXPECT_EQ(Sample(after, "mingus_bi_csat_ratio"), 1);
  EXPECT_EQ(Sample(after, "mingus_bi_feedback_responses", "nps"), 1);

  // A day later the same data is yesterday's: today's users are gone once the minute is up.
  clock_.Advance(std::chrono::hours(24));
  std::vector<prometheus::MetricFamily> tomorrow;
  insights_->AppendFamilies(tomorrow);
  EXPECT_EQ(Sample(tomorrow, "mingus_bi_active_users", "1d"), 0);
  EXPECT_EQ(Sample(tomorrow, "mingus_bi_active_users", "7d"), 2);
}

}  // namespace
}  // namespace mingus::collector::events
