#include "mingus/collector/events/insights.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <tuple>

#include "mingus/collector/events/event_store.h"
#include "mingus/common/text.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::collector::events {

namespace {

namespace json = boost::json;

constexpr int64_t kDayMs = 86'400'000;

// The report's days, as rollup days (YYYY-MM-DD) and as event times [start_ms, end_ms).
struct Period {
  int64_t days = 0;
  int64_t start_ms = 0, end_ms = 0, previous_start_ms = 0;
  std::string from, to, previous_from, previous_to;
};

Period PeriodOf(int64_t now_ms, int64_t days) {
  Period period;
  period.days = days;
  period.end_ms = (now_ms / kDayMs + 1) * kDayMs;
  period.start_ms = period.end_ms - days * kDayMs;
  period.previous_start_ms = period.start_ms - days * kDayMs;
  period.from = DayOf(period.start_ms);
  period.to = DayOf(period.end_ms - 1);
  period.previous_from = DayOf(period.previous_start_ms);
  period.previous_to = DayOf(period.start_ms - 1);
  return period;
}

using Row = std::function<void(const sqlite::Statement&)>;

// Runs `sql` with `params` bound to ?1, ?2, ... and hands each row to `row`.
template <typename... Params>
Status ForEachRow(sqlite::Database& db, std::string_view sql, const Row& row,
                  const Params&... params) {
  auto statement = db.Prepare(sql);
  if (!statement.ok()) return statement.status();
  [[maybe_unused]] int index = 0;
  (statement->Bind(++index, params), ...);
  while (statement->Step()) row(*statement);
  return statement->status();
}

std::optional<double> Ratio(double numerator, double denominator) {
  if (denominator == 0) return std::nullopt;
  return numerator / denominator;
}

std::optional<double> Change(double now, double before) {
  if (before == 0) return std::nullopt;
  return (now - before) / before;
}

// The rows of daily_distinct for `type` and `key`'s idents on the days from..to, in order of
// day: each ident seen on `day` whose previous day seen was `previous` ('' for none). A count
// distinct over a run of days counts the rows of its days whose previous day is before its
// first: each ident once, on its first day in the run.
constexpr std::string_view kDistinctDays =
    "SELECT day, previous, idents FROM daily_distinct WHERE type = ?1 AND key = ?2 AND "
    "ident = ?3 AND day BETWEEN ?4 AND ?5";

// Registrations, DAU, WAU, MAU and stickiness per day and over the period, from 29 days before
// it. A user seen on day e whose previous day was p counts in the 7-day window ending on day k
// when e <= k < e + 7 and p < k - 6: added to per-day difference arrays over that range of k,
// so the cost grows with the rows of daily_distinct (days times distinct gaps), not with users.
Status AddActiveUsers(sqlite::Database& db, const Period& period, InsightsReport& report) {
  constexpr int64_t kWeek = 7, kMonth = 30;
  const int64_t first_ms = period.start_ms - (kMonth - 1) * kDayMs;
  std::vector<std::string> dates;  // from the first day read to `to`
  for (int64_t ms = first_ms; ms < period.end_ms; ms += kDayMs) dates.push_back(DayOf(ms));
  const int64_t in_period = kMonth - 1;  // the index of `from`
  const size_t count = dates.size();
  std::vector<int64_t> dau(count, 0), week(count + kMonth, 0), month(count + kMonth, 0);
  // A day's index in dates; a day before them (or none) is far enough back for every window.
  const auto index = [&](std::string_view date) -> int64_t {
    const auto at = std::lower_bound(dates.begin(), dates.end(), date);
    return at != dates.end() && *at == date ? at - dates.begin() : -kMonth;
  };
  if (Status status = ForEachRow(
          db, kDistinctDays,
          [&](const sqlite::Statement& row) {
            const int64_t at = index(row.Text(0)), previous = index(row.Text(1));
            const int64_t users = row.Int(2);
            if (at < 0) return;  // cannot happen: the rows are of these days
            dau[static_cast<size_t>(at)] += users;
            for (const auto& [window, days] :
                 {std::pair{&week, kWeek}, std::pair{&month, kMonth}}) {
              const int64_t from = std::max(at, previous + days), to = at + days;
              if (from < to) {
                (*window)[static_cast<size_t>(from)] += users;
                (*window)[static_cast<size_t>(to)] -= users;
              }
            }
            if (at >= in_period && previous < in_period) report.active_users += users;
          },
          std::string_view(""), std::string_view(""), std::string_view("user"), dates.front(),
          dates.back());
      !status.ok())
    return status;
  int64_t weekly = 0, monthly = 0, dau_sum = 0;
  for (size_t i = 0; i < count; ++i) {
    weekly += week[i];
    monthly += month[i];
    if (i < static_cast<size_t>(in_period)) continue;
    report.per_day.push_back(
        {dates[i], 0, dau[i], weekly, monthly,
         Ratio(static_cast<double>(dau[i]), static_cast<double>(monthly)).value_or(0)});
    dau_sum += dau[i];
  }
  std::map<std::string, int64_t, std::less<>> registrations;
  if (Status status = ForEachRow(
          db,
          "SELECT first_day, count(*) FROM users WHERE first_day BETWEEN ?1 AND ?2 "
          "GROUP BY first_day",
          [&](const sqlite::Statement& row) {
            registrations[std::string(row.Text(0))] = row.Int(1);
          },
          period.from, period.to);
      !status.ok())
    return status;
  for (auto& day : report.per_day) {
    const auto found = registrations.find(day.date);
    day.registrations = found != registrations.end() ? found->second : 0;
    report.registrations += day.registrations;
  }
  report.average_dau = static_cast<double>(dau_sum) / static_cast<double>(period.days);
  report.wau = report.per_day.back().wau;
  report.mau = report.per_day.back().mau;
  report.stickiness = Ratio(report.average_dau, static_cast<double>(report.mau)).value_or(0);
  return OkStatus();
}

// Cohorts by registration week, every week the period touches (weeks without registrations
// too), from users and daily_users.
Status AddCohorts(sqlite::Database& db, const Period& period, InsightsReport& report) {
  // 1970-01-01 was a Thursday: days since the epoch + 3, mod 7, is 0 on Mondays.
  const int64_t first_day = period.start_ms / kDayMs;
  for (int64_t monday = first_day - (first_day + 3) % 7; monday * kDayMs < period.end_ms;
       monday += 7) {
    report.cohorts.push_back({DayOf(monday * kDayMs)});
  }
  std::string retained;
  for (const int n : kRetentionDays) {
    retained += fmt::format(
        ", sum(date(first_day, '+{0} days') <= ?2), sum(EXISTS (SELECT 1 FROM daily_users d "
        "WHERE d.day = date(u.first_day, '+{0} days') AND d.user_id = u.user_id))",
        n);
  }
  return ForEachRow(
      db,
      fmt::format("SELECT date(first_day, 'weekday 0', '-6 days') AS week, count(*){} "
                  "FROM users u WHERE first_day BETWEEN ?1 AND ?2 GROUP BY week",
                  retained),
      [&](const sqlite::Statement& row) {
        const auto cohort = std::find_if(report.cohorts.begin(), report.cohorts.end(),
                                         [&](const Cohort& c) { return c.week == row.Text(0); });
        if (cohort == report.cohorts.end()) return;  // cannot happen: weeks cover the period
        cohort->users = row.Int(1);
        for (size_t i = 0; i < kRetentionDays.size(); ++i) {
          Retention& retention = cohort->retention[i];
          retention.eligible = row.Int(2 + 2 * static_cast<int>(i));
          retention.retained = row.Int(3 + 2 * static_cast<int>(i));
          retention.rate = Ratio(static_cast<double>(retention.retained),
                                 static_cast<double>(retention.eligible));
        }
      },
      period.from, period.to);
}

// Distinct users and sessions of `type` by key over the days from..to (see kDistinctDays).
struct Distinct {
  int64_t users = 0, sessions = 0;
};
Status AddDistinct(sqlite::Database& db, std::string_view type, std::string_view from,
                   std::string_view to, std::map<std::string, Distinct, std::less<>>& out) {
  return ForEachRow(
      db,
      "SELECT key, ident, sum(idents) FROM daily_distinct WHERE type = ?1 AND "
      "day BETWEEN ?2 AND ?3 AND previous < ?2 GROUP BY key, ident",
      [&](const sqlite::Statement& row) {
        Distinct& distinct = out[std::string(row.Text(0))];
        (row.Text(1) == "user" ? distinct.users : distinct.sessions) = row.Int(2);
      },
      type, from, to);
}

// Events and usage time of `type` by key over the days from..to, from daily_rollups: each row
// key, events, total usage time and the events that carry one.
constexpr std::string_view kUsage =
    "SELECT key, sum(events), total(value_sum), sum(value_count) FROM daily_rollups "
    "WHERE type = ?1 AND day BETWEEN ?2 AND ?3 GROUP BY key";

Status AddEngagement(sqlite::Database& db, const Period& period, InsightsReport& report) {
  std::map<std::string, Distinct, std::less<>> distinct;
  if (Status status = AddDistinct(db, "engagement", period.from, period.to, distinct); !status.ok())
    return status;
  if (Status status = ForEachRow(
          db, kUsage,
          [&](const sqlite::Statement& row) {
            const Distinct& of = distinct[std::string(row.Text(0))];
            const double usage_time = row.Double(2);
            const auto with_usage = static_cast<double>(row.Int(3));
            report.engagement.push_back({std::string(row.Text(0)), row.Int(1), of.users,
                                         of.sessions, usage_time, Ratio(usage_time, with_usage)});
          },
          std::string_view("engagement"), period.from, period.to);
      !status.ok())
    return status;
  std::sort(report.engagement.begin(), report.engagement.end(),
            [](const ActionEngagement& a, const ActionEngagement& b) {
              return std::pair(-a.events, std::string_view(a.action)) <
                     std::pair(-b.events, std::string_view(b.action));
            });
  return OkStatus();
}

Status AddFeatures(sqlite::Database& db, const Period& period, InsightsReport& report) {
  std::map<std::string, FeatureUsage, std::less<>> features;
  std::map<std::string, Distinct, std::less<>> now, before;
  for (const auto& [from, to, distinct] :
       {std::tuple{&period.from, &period.to, &now},
        std::tuple{&period.previous_from, &period.previous_to, &before}}) {
    if (Status status = AddDistinct(db, "feature", *from, *to, *distinct); !status.ok())
      return status;
  }
  if (Status status = ForEachRow(
          db, kUsage,
          [&](const sqlite::Statement& row) {
            FeatureUsage& usage = features[std::string(row.Text(0))];
            usage.events = row.Int(1);
            usage.usage_time = row.Double(2);
          },
          std::string_view("feature"), period.from, period.to);
      !status.ok())
    return status;
  if (Status status = ForEachRow(
          db, kUsage,
          [&](const sqlite::Statement& row) {
            features[std::string(row.Text(0))].previous_usage_time = row.Double(2);
          },
          std::string_view("feature"), period.previous_from, period.previous_to);
      !status.ok())
    return status;
  for (auto& [name, usage] : features) {
    usage.feature = name;
    if (const auto found = now.find(name); found != now.end()) {
      usage.users = found->second.users;
      usage.sessions = found->second.sessions;
    }
    if (const auto found = before.find(name); found != before.end())
      usage.previous_users = found->second.users;
    usage.adoption =
        Ratio(static_cast<double>(usage.users), static_cast<double>(report.active_users))
            .value_or(0);
    usage.users_change =
        Change(static_cast<double>(usage.users), static_cast<double>(usage.previous_users));
    usage.usage_time_change = Change(usage.usage_time, usage.previous_usage_time);
    report.features.push_back(std::move(usage));
  }
  std::stable_sort(report.features.begin(), report.features.end(),
                   [](const FeatureUsage& a, const FeatureUsage& b) { return a.users > b.users; });
  return OkStatus();
}

// CSAT and NPS from (kind, rating, count) rows.
void AddRating(std::string_view kind, double rating, int64_t count, Csat& csat, Nps& nps) {
  if (kind == "csat") {
    csat.responses += count;
    if (rating >= 4) csat.satisfied += count;
  } else if (kind == "nps") {
    nps.responses += count;
    (rating >= 9 ? nps.promoters : rating >= 7 ? nps.passives : nps.detractors) += count;
  }
}
void Score(Csat& csat, Nps& nps) {
  csat.score =
      Ratio(100.0 * static_cast<double>(csat.satisfied), static_cast<double>(csat.responses));
  nps.score = Ratio(100.0 * static_cast<double>(nps.promoters - nps.detractors),
                    static_cast<double>(nps.responses));
}

constexpr std::string_view kRatings =
    "SELECT kind, rating, sum(responses) FROM daily_feedback WHERE day BETWEEN ?1 AND ?2 "
    "GROUP BY kind, rating ORDER BY kind, rating";

Status AddSatisfaction(sqlite::Database& db, const Period& period, InsightsReport& report) {
  Satisfaction& satisfaction = report.satisfaction;
  std::vector<double> rating_sums;
  if (Status status = ForEachRow(
          db, kRatings,
          [&](const sqlite::Statement& row) {
            const std::string_view kind = row.Text(0);
            const double rating = row.Double(1);
            const int64_t count = row.Int(2);
            if (satisfaction.kinds.empty() || satisfaction.kinds.back().kind != kind) {
              satisfaction.kinds.push_back({std::string(kind)});
              rating_sums.push_back(0);
            }
            KindSatisfaction& of_kind = satisfaction.kinds.back();
            of_kind.responses += count;
            of_kind.distribution.push_back({rating, count});
            rating_sums.back() += rating * static_cast<double>(count);
            satisfaction.responses += count;
            AddRating(kind, rating, count, satisfaction.csat, satisfaction.nps);
          },
          period.from, period.to);
      !status.ok())
    return status;
  for (size_t i = 0; i < satisfaction.kinds.size(); ++i) {
    satisfaction.kinds[i].average_rating =
        rating_sums[i] / static_cast<double>(satisfaction.kinds[i].responses);
  }
  Score(satisfaction.csat, satisfaction.nps);

  int64_t score_sum = 0;
  if (Status status = ForEachRow(
          db,
          "SELECT sentiment, sum(comments) FROM daily_feedback WHERE day BETWEEN ?1 AND ?2 "
          "GROUP BY sentiment",
          [&](const sqlite::Statement& row) {
            const int64_t score = row.Int(0), comments = row.Int(1);
            satisfaction.comments += comments;
            score_sum += score * comments;
            (score > 0   ? satisfaction.positive
             : score < 0 ? satisfaction.negative
                         : satisfaction.neutral) += comments;
          },
          period.from, period.to);
      !status.ok())
    return status;
  satisfaction.average_sentiment =
      Ratio(static_cast<double>(score_sum), static_cast<double>(satisfaction.comments));
  return ForEachRow(
      db,
      "SELECT time_ms, kind, rating, comment, score FROM negative_comments "
      "WHERE time_ms >= ?1 AND time_ms < ?2 ORDER BY score, time_ms DESC LIMIT ?3",
      [&](const sqlite::Statement& row) {
        satisfaction.most_negative.push_back({DayOf(row.Int(0)), std::string(row.Text(1)),
                                              std::string(row.Text(3)), row.Double(2),
                                              static_cast<int>(row.Int(4))});
      },
      period.start_ms, period.end_ms, static_cast<int64_t>(kMostNegativeComments));
}

Status AddScoreAccuracy(sqlite::Database& db, const Period& period, InsightsReport& report) {
  return ForEachRow(
      db,
      "SELECT name, sum(events), total(error_sum) / sum(events), "
      "1.0 * sum(accurate) / sum(events) FROM daily_accuracy WHERE day BETWEEN ?1 AND ?2 "
      "GROUP BY name ORDER BY name",
      [&](const sqlite::Statement& row) {
        report.score_accuracy.push_back(
            {std::string(row.Text(0)), row.Int(1), row.Double(2), row.Double(3)});
      },
      period.from, period.to);
}

Status AddRoi(sqlite::Database& db, const Period& period, InsightsReport& report) {
  return ForEachRow(
      db,
      "SELECT key, sum(events), total(cost_sum), total(value_sum) FROM daily_rollups "
      "WHERE type = 'data_source' AND day BETWEEN ?1 AND ?2 GROUP BY key ORDER BY key",
      [&](const sqlite::Statement& row) {
        const double cost = row.Double(2), value = row.Double(3);
        report.roi.push_back(
            {std::string(row.Text(0)), row.Int(1), cost, value, Ratio(value, cost)});
      },
      period.from, period.to);
}

// Each day's events (all types), DAU and registrations from the rollups, from kAnomalyWindow days
// before the period; a day is held against the days before it.
Status AddAnomalies(sqlite::Database& db, const Period& period, InsightsReport& report) {
  const std::string window_from = DayOf(period.start_ms - kAnomalyWindow * kDayMs);
  std::string first_data;  // the store's first day with events: no data before is not zeros
  if (Status status = ForEachRow(db, "SELECT min(day) FROM daily_rollups",
                                 [&](const sqlite::Statement& row) {
                                   if (!row.IsNull(0)) first_data = std::string(row.Text(0));
                                 });
      !status.ok())
    return status;
  if (first_data.empty()) return OkStatus();
  const int64_t first_ms = period.start_ms - kAnomalyWindow * kDayMs;
  const size_t days = static_cast<size_t>(period.days + kAnomalyWindow);
  for (const auto& [metric, sql] : {
           std::pair{"events",
                     "SELECT day, sum(events) FROM daily_rollups WHERE day BETWEEN ?1 AND ?2 "
                     "GROUP BY day"},
           std::pair{"dau",
                     "SELECT day, sum(idents) FROM daily_distinct WHERE type = '' AND key = '' "
                     "AND ident = 'user' AND day BETWEEN ?1 AND ?2 GROUP BY day"},
           std::pair{"registrations",
                     "SELECT first_day, count(*) FROM users WHERE first_day BETWEEN ?1 AND ?2 "
                     "GROUP BY first_day"},
       }) {
    std::map<std::string, double, std::less<>> by_day;
    if (Status status = ForEachRow(
            db, sql,
            [&](const sqlite::Statement& row) {
              by_day[std::string(row.Text(0))] = static_cast<double>(row.Int(1));
            },
            window_from, period.to);
        !status.ok())
      return status;
    std::vector<std::string> dates(days);
    std::vector<double> values(days, 0);
    for (size_t i = 0; i < days; ++i) {
      dates[i] = DayOf(first_ms + static_cast<int64_t>(i) * kDayMs);
      if (const auto found = by_day.find(dates[i]); found != by_day.end())
        values[i] = found->second;
    }
    for (size_t i = kAnomalyWindow; i < days; ++i) {
      std::vector<double> trailing;
      for (size_t j = i - kAnomalyWindow; j < i; ++j) {
        if (dates[j] >= first_data) trailing.push_back(values[j]);
      }
      if (trailing.size() < static_cast<size_t>(kAnomalyMinDays)) continue;
      double mean = 0;
      for (const double v : trailing) mean += v;
      mean /= static_cast<double>(trailing.size());
      double squares = 0;
      for (const double v : trailing) squares += (v - mean) * (v - mean);
      const double stddev = std::sqrt(squares / static_cast<double>(trailing.size() - 1));
      if (stddev == 0) continue;
      const double z = (values[i] - mean) / stddev;
      if (std::fabs(z) > kAnomalyZ)
        report.anomalies.push_back({dates[i], metric, values[i], mean, stddev, z});
    }
  }
  std::stable_sort(report.anomalies.begin(), report.anomalies.end(),
                   [](const Anomaly& a, const Anomaly& b) { return a.date < b.date; });
  return OkStatus();
}

json::value Optional(const std::optional<double>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::object CsatJson(const Csat& csat) {
  return {{"responses", csat.responses},
          {"satisfied", csat.satisfied},
          {"score", Optional(csat.score)}};
}

json::object NpsJson(const Nps& nps) {
  return {{"responses", nps.responses},
          {"promoters", nps.promoters},
          {"passives", nps.passives},
          {"detractors", nps.detractors},
          {"score", Optional(nps.score)}};
}

json::object ReportJson(const InsightsReport& report) {
  json::array per_day, cohorts, engagement, features, kinds, most_negative, accuracy, roi,
      anomalies;
  for (const auto& day : report.per_day) {
    per_day.push_back(json::object{{"date", day.date},
                                   {"registrations", day.registrations},
                                   {"dau", day.dau},
                                   {"wau", day.wau},
                                   {"mau", day.mau},
                                   {"stickiness", day.stickiness}});
  }
  for (const auto& cohort : report.cohorts) {
    json::object row{{"week", cohort.week}, {"users", cohort.users}};
    for (size_t i = 0; i < kRetentionDays.size(); ++i) {
      const Retention& retention = cohort.retention[i];
      row[fmt::format("day_{}", kRetentionDays[i])] =
          json::object{{"eligible", retention.eligible},
                       {"retained", retention.retained},
                       {"rate", Optional(retention.rate)}};
    }
    cohorts.push_back(std::move(row));
  }
  for (const auto& action : report.engagement) {
    engagement.push_back(json::object{{"action", action.action},
                                      {"events", action.events},
                                      {"users", action.users},
                                      {"sessions", action.sessions},
                                      {"usage_time", action.usage_time},
                                      {"average_usage_time", Optional(action.average_usage_time)}});
  }
  for (const auto& feature : report.features) {
    features.push_back(json::object{{"feature", feature.feature},
                                    {"events", feature.events},
                                    {"users", feature.users},
                                    {"sessions", feature.sessions},
                                    {"usage_time", feature.usage_time},
                                    {"adoption", feature.adoption},
                                    {"previous_users", feature.previous_users},
                                    {"previous_usage_time", feature.previous_usage_time},
                                    {"users_change", Optional(feature.users_change)},
                                    {"usage_time_change", Optional(feature.usage_time_change)}});
  }
  const Satisfaction& satisfaction = report.satisfaction;
  for (const auto& kind : satisfaction.kinds) {
    json::array distribution;
    for (const auto& [rating, count] : kind.distribution) {
      distribution.push_back(json::object{{"rating", rating}, {"count", count}});
    }
    kinds.push_back(json::object{{"kind", kind.kind},
                                 {"responses", kind.responses},
                                 {"average_rating", kind.average_rating},
                                 {"distribution", std::move(distribution)}});
  }
  for (const auto& comment : satisfaction.most_negative) {
    most_negative.push_back(json::object{{"date", comment.date},
                                         {"kind", comment.kind},
                                         {"rating", comment.rating},
                                         {"score", comment.score},
                                         {"comment", comment.comment}});
  }
  for (const auto& score : report.score_accuracy) {
    accuracy.push_back(json::object{{"name", score.name},
                                    {"events", score.events},
                                    {"mae", score.mae},
                                    {"accuracy", score.accuracy}});
  }
  for (const auto& source : report.roi) {
    roi.push_back(json::object{{"source", source.source},
                               {"events", source.events},
                               {"cost", source.cost},
                               {"value", source.value},
                               {"value_per_cost", Optional(source.value_per_cost)}});
  }
  for (const auto& anomaly : report.anomalies) {
    anomalies.push_back(json::object{{"date", anomaly.date},
                                     {"metric", anomaly.metric},
                                     {"value", anomaly.value},
                                     {"mean", anomaly.mean},
                                     {"stddev", anomaly.stddev},
                                     {"z", anomaly.z}});
  }
  return {
      {"days", report.days},
      {"from", report.from},
      {"to", report.to},
      {"previous_from", report.previous_from},
      {"previous_to", report.previous_to},
      {"registrations", report.registrations},
      {"active_users", json::object{{"average_dau", report.average_dau},
                                    {"wau", report.wau},
                                    {"mau", report.mau},
                                    {"stickiness", report.stickiness},
                                    {"in_period", report.active_users}}},
      {"per_day", std::move(per_day)},
      {"retention", std::move(cohorts)},
      {"engagement", std::move(engagement)},
      {"features", std::move(features)},
      {"satisfaction",
       json::object{
           {"responses", satisfaction.responses},
           {"csat", CsatJson(satisfaction.csat)},
           {"nps", NpsJson(satisfaction.nps)},
           {"sentiment", json::object{{"comments", satisfaction.comments},
                                      {"positive", satisfaction.positive},
                                      {"neutral", satisfaction.neutral},
                                      {"negative", satisfaction.negative},
                                      {"average_score", Optional(satisfaction.average_sentiment)}}},
           {"kinds", std::move(kinds)},
           {"most_negative", std::move(most_negative)}}},
      {"score_accuracy", std::move(accuracy)},
      {"roi", std::move(roi)},
      {"anomalies", std::move(anomalies)},
  };
}

}  // namespace

StatusOr<std::unique_ptr<Insights>> Insights::Open(const std::string& path, const Clock& clock,
                                                   int64_t max_days) {
  // The store's writer, EventStore, checks the file at its open: not read whole again here.
  auto db = sqlite::Database::Open(path, sqlite::Database::Check::kTrusted);
  if (!db.ok()) return db.status();
  if (Status status =
          RequireTables(**db, {"users", "daily_users", "daily_rollups", "daily_distinct",
                               "daily_feedback", "daily_accuracy", "negative_comments"});
      !status.ok())
    return status;
  return std::unique_ptr<Insights>(new Insights(std::move(db).value(), clock, max_days));
}

StatusOr<InsightsReport> Insights::Compute(int64_t days) {
  std::lock_guard lock(mutex_);
  const Period period = PeriodOf(UnixMillis(clock_), days);
  InsightsReport report;
  report.days = days;
  report.from = period.from;
  report.to = period.to;
  report.previous_from = period.previous_from;
  report.previous_to = period.previous_to;
  // Active users first: feature adoption divides by them.
  for (const auto part : {AddActiveUsers, AddCohorts, AddEngagement, AddFeatures, AddSatisfaction,
                          AddScoreAccuracy, AddRoi, AddAnomalies}) {
    if (Status status = part(*db_, period, report); !status.ok()) return status;
  }
  return report;
}

StatusOr<KeyFigures> Insights::ComputeKeyFigures() {
  std::lock_guard lock(mutex_);
  const int64_t now_ms = UnixMillis(clock_);
  InsightsReport today;
  if (Status status = AddActiveUsers(*db_, PeriodOf(now_ms, 1), today); !status.ok()) return status;
  const DayFigures& day = today.per_day.back();
  KeyFigures figures{day.dau, day.wau, day.mau, day.stickiness, day.registrations};
  const Period month = PeriodOf(now_ms, 30);
  if (Status status = ForEachRow(
          *db_, kRatings,
          [&](const sqlite::Statement& row) {
            AddRating(row.Text(0), row.Double(1), row.Int(2), figures.csat, figures.nps);
          },
          month.from, month.to);
      !status.ok())
    return status;
  Score(figures.csat, figures.nps);
  return figures;
}

void Insights::AppendFamilies(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  // Each computation reads 30 days of daily_users: not more often than every 10 s while pulls
  // keep committing, and once a minute without them, for the turn of the day.
  constexpr int64_t kChangedRefreshMs = 10'000, kRefreshMs = 60'000;
  std::lock_guard figures_lock(figures_mutex_);
  const int64_t now_ms = UnixMillis(clock_);
  int64_t version = -1;
  {
    std::lock_guard lock(mutex_);
    if (auto pragma = db_->Prepare("PRAGMA data_version"); pragma.ok() && pragma->Step()) {
      version = pragma->Int(0);
    }
  }
  const int64_t age_ms = now_ms - figures_ms_;
  if (!figures_ || (version != figures_version_ && age_ms >= kChangedRefreshMs) ||
      age_ms >= kRefreshMs) {
    auto figures = ComputeKeyFigures();
    if (figures.ok()) {
      figures_ = *figures;
      figures_version_ = version;
      figures_ms_ = now_ms;
    } else {
      ++figures_errors_;
      if (figures.message() != last_error_) {
        spdlog::warn("insights key figures for /metrics: {}", figures.message());
        last_error_ = figures.message();
      }
    }
  }
  metrics::AddSample(
      metrics::AddFamily(out, "mingus_collector_insights_errors_total",
                         "Failures to compute the insights key figures (mingus_bi_*).",
                         MetricType::Counter),
      static_cast<double>(figures_errors_));
  if (!figures_) return;
  const KeyFigures& f = *figures_;
  auto& active = metrics::AddFamily(
      out, "mingus_bi_active_users",
      "Users with an event today (window 1d) and in the 7 and 30 days ending today (UTC).",
      MetricType::Gauge);
  metrics::AddSample(active, static_cast<double>(f.dau), {{"window", "1d"}});
  metrics::AddSample(active, static_cast<double>(f.wau), {{"window", "7d"}});
  metrics::AddSample(active, static_cast<double>(f.mau), {{"window", "30d"}});
  metrics::AddSample(
      metrics::AddFamily(out, "mingus_bi_stickiness_ratio",
                         "Today's active users over the 30 days' (DAU / MAU).", MetricType::Gauge),
      f.stickiness);
  metrics::AddSample(
      metrics::AddFamily(out, "mingus_bi_registrations_today",
                         "Users whose first event was today (UTC).", MetricType::Gauge),
      static_cast<double>(f.registrations));
  auto& responses =
      metrics::AddFamily(out, "mingus_bi_feedback_responses",
                         "CSAT and NPS ratings in the last 30 days, by kind.", MetricType::Gauge);
  metrics::AddSample(responses, static_cast<double>(f.csat.responses), {{"kind", "csat"}});
  metrics::AddSample(responses, static_cast<double>(f.nps.responses), {{"kind", "nps"}});
  // NaN without ratings: a score of 0 would be a real one.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  metrics::AddSample(
      metrics::AddFamily(out, "mingus_bi_csat_ratio",
                         "Share of CSAT ratings of 4 or 5 in the last 30 days (NaN without any).",
                         MetricType::Gauge),
      f.csat.score ? *f.csat.score / 100 : nan);
  metrics::AddSample(
      metrics::AddFamily(out, "mingus_bi_net_promoter_score",
                         "NPS of the last 30 days, -100 to 100: percent promoters (9-10) minus "
                         "percent detractors (0-6) (NaN without any).",
                         MetricType::Gauge),
      f.nps.score.value_or(nan));
}

http::Response Insights::Serve(const http::Request& request) {
  // No default: a report names the period it covers.
  const auto text = request.QueryParam("days");
  if (!text) {
    return http::Response::JsonError(
        400, fmt::format("days: missing; give the days to cover, from 1 to {}", max_days_));
  }
  const auto days = text::ParseInt64(*text);
  if (!days || *days < 1 || *days > max_days_) {
    return http::Response::JsonError(
        400, fmt::format("days: '{}' is not a whole number from 1 to {}", *text, max_days_));
  }
  const auto report = Compute(*days);
  if (!report.ok()) return http::Response::JsonError(500, report.message());
  http::Response response = http::Response::Json(200, json::serialize(ReportJson(*report)));
  response.compressible = true;
  return response;
}

}  // namespace mingus::collector::events
