#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mingus/collector/events/event_store.h"
#include "mingus/common/clock.h"
#include "mingus/common/status.h"
#include "mingus/http/server.h"
#include "mingus/sqlite/database.h"

// The insights report over business_intelligence.db (GET /api/monitoring/insights?days=N and
// `mingus-collector report insights`). docs/insights.md defines every figure. Every figure
// comes from the daily rollups (distinct users and sessions too, see daily_distinct in
// docs/events.md) and the most negative comments from negative_comments, so the report reads
// rows per day and key, not per event.
namespace mingus::collector::events {

struct DayFigures {
  std::string date;           // YYYY-MM-DD, UTC
  int64_t registrations = 0;  // users whose first event was on this day
  int64_t dau = 0;            // users with an event on this day
  int64_t wau = 0;            // ... in the 7 days ending on it
  int64_t mau = 0;            // ... in the 30 days ending on it
  double stickiness = 0;      // dau / mau (0 without active users)
};

// Day-N retention of a cohort: of its users whose day N after registration is not after today
// (eligible), those active on exactly that day.
struct Retention {
  int64_t eligible = 0, retained = 0;
  std::optional<double> rate;  // retained / eligible; none without eligible users
};
inline constexpr std::array<int, 3> kRetentionDays = {1, 7, 30};
// Users who registered in the period, by the week (Monday to Sunday) of their registration.
struct Cohort {
  std::string week;  // its Monday
  int64_t users = 0;
  std::array<Retention, kRetentionDays.size()> retention;
};

// Engagement events of the period by action.
struct ActionEngagement {
  std::string action;
  int64_t events = 0, users = 0, sessions = 0;  // sessions: distinct session_id
  double usage_time = 0;                        // sum
  std::optional<double> average_usage_time;     // over the events that carry one
};

// Feature events by feature, against the period of the same length before it.
struct FeatureUsage {
  std::string feature;
  int64_t events = 0, users = 0, sessions = 0;
  double usage_time = 0;
  double adoption = 0;  // users / active users of the period
  int64_t previous_users = 0;
  double previous_usage_time = 0;
  std::optional<double> users_change, usage_time_change;  // (now - before) / before
};

struct RatingCount {
  double rating = 0;
  int64_t count = 0;
};
struct KindSatisfaction {
  std::string kind;
  int64_t responses = 0;
  double average_rating = 0;
  std::vector<RatingCount> distribution;  // by rating, ascending
};
struct Csat {  // kind "csat", 1 to 5: satisfied is 4 or 5
  int64_t responses = 0, satisfied = 0;
  std::optional<double> score;  // 100 * satisfied / responses
};
struct Nps {  // kind "nps", 0 to 10: promoters 9-10, passives 7-8, detractors 0-6
  int64_t responses = 0, promoters = 0, passives = 0, detractors = 0;
  std::optional<double> score;  // 100 * (promoters - detractors) / responses
};
struct NegativeComment {
  std::string date, kind, comment;
  double rating = 0;
  int score = 0;
};
inline constexpr size_t kMostNegativeComments = 5;
struct Satisfaction {
  int64_t responses = 0;
  std::vector<KindSatisfaction> kinds;
  Csat csat;
  Nps nps;
  int64_t comments = 0, positive = 0, neutral = 0, negative = 0;  // by SentimentScore's sign
  std::optional<double> average_sentiment;
  std::vector<NegativeComment> most_negative;  // lowest scores below 0, newest first on ties
};

// Score events that carry both `predicted` and `actual`, by score name.
struct ScoreAccuracy {
  std::string name;
  int64_t events = 0;
  double mae = 0;       // mean |predicted - actual|
  double accuracy = 0;  // share with |predicted - actual| <= kAccurateWithin * |actual|
};

struct SourceRoi {
  std::string source;
  int64_t events = 0;
  double cost = 0, value = 0;
  std::optional<double> value_per_cost;  // none at zero cost
};

// A day of the period whose figure is more than kAnomalyZ standard deviations from the mean of
// the kAnomalyWindow days before it (days before the store's first data left out; at least
// kAnomalyMinDays of them, with a standard deviation above 0).
struct Anomaly {
  std::string date, metric;  // metric: events, dau or registrations
  double value = 0, mean = 0, stddev = 0, z = 0;
};
inline constexpr int kAnomalyWindow = 14;
inline constexpr int kAnomalyMinDays = 7;
inline constexpr double kAnomalyZ = 3;

struct InsightsReport {
  int64_t days = 0;
  std::string from, to;                    // the first and last day, inclusive; `to` is today
  std::string previous_from, previous_to;  // the period before, as long
  std::vector<DayFigures> per_day;
  int64_t registrations = 0;  // in the period
  double average_dau = 0;
  int64_t wau = 0, mau = 0;  // on the last day
  double stickiness = 0;     // average_dau / mau
  int64_t active_users = 0;  // with an event in the period
  std::vector<Cohort> cohorts;
  std::vector<ActionEngagement> engagement;
  std::vector<FeatureUsage> features;
  Satisfaction satisfaction;
  std::vector<ScoreAccuracy> score_accuracy;
  std::vector<SourceRoi> roi;
  std::vector<Anomaly> anomalies;
};

// The figures exported as gauges (mingus_bi_*): today's active users and the satisfaction of
// the last 30 days.
struct KeyFigures {
  int64_t dau = 0, wau = 0, mau = 0;
  double stickiness = 0;
  int64_t registrations = 0;  // today
  Csat csat;
  Nps nps;
};

// Reads on a connection of its own, beside the EventStore's writes (WAL). Thread-safe.
class Insights {
 public:
  static StatusOr<std::unique_ptr<Insights>> Open(const std::string& path, const Clock& clock,
                                                  int64_t max_days);

  // The `days` days ending today (the clock's UTC day).
  StatusOr<InsightsReport> Compute(int64_t days);
  StatusOr<KeyFigures> ComputeKeyFigures();
  // GET /api/monitoring/insights?days=N (1 to max_days; required): the report as JSON.
  http::Response Serve(const http::Request& request);
  // The key figures as mingus_bi_* gauges, recomputed when the store has changed (another
  // connection committed) and 10 s have passed, or a minute has (the day may have turned).
  void AppendFamilies(std::vector<prometheus::MetricFamily>& out);

 private:
  Insights(std::unique_ptr<sqlite::Database> db, const Clock& clock, int64_t max_days)
      : db_(std::move(db)), clock_(clock), max_days_(max_days) {}

  std::mutex mutex_;  // db_
  std::unique_ptr<sqlite::Database> db_;
  const Clock& clock_;
  const int64_t max_days_;

  std::mutex figures_mutex_;  // the key figures for /metrics, held while they are recomputed
  std::optional<KeyFigures> figures_;
  int64_t figures_version_ = -1;  // PRAGMA data_version they were computed at
  int64_t figures_ms_ = 0;
  uint64_t figures_errors_ = 0;
  std::string last_error_;
};

}  // namespace mingus::collector::events
