#include "mingus/collector/events/insights.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <map>

#include "mingus/collector/events/event_store.h"
#include "mingus/common/text.h"

namespace mingus::collector::events {

namespace {

namespace json = boost::json;

constexpr int64_t kDayMs = 86'400'000;

}  // namespace

StatusOr<std::unique_ptr<Insights>> Insights::Open(const std::string& path, const Clock& clock,
                                                   int64_t max_days) {
  auto db = sqlite::Database::Open(path);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Insights>(new Insights(std::move(db).value(), clock, max_days));
}

StatusOr<InsightsReport> Insights::Compute(int64_t days) {
  std::lock_guard lock(mutex_);
  InsightsReport report;
  report.days = days;
  const int64_t now_ms = UnixMillis(clock_);
  for (int64_t i = days - 1; i >= 0; --i) report.per_day.push_back({DayOf(now_ms - i * kDayMs)});
  report.from = report.per_day.front().date;
  report.to = report.per_day.back().date;

  // Per-day counts first (one grouped query each), then the rolling windows day by day.
  const auto per_day = [&](const char* sql, int64_t DayFigures::*field) -> Status {
    auto statement = db_->Prepare(sql);
    if (!statement.ok()) return statement.status();
    statement->Bind(1, report.from).Bind(2, report.to);
    std::map<std::string, int64_t, std::less<>> counts;
    while (statement->Step()) counts[std::string(statement->Text(0))] = statement->Int(1);
    if (!statement->status().ok()) return statement->status();
    for (auto& day : report.per_day) {
      const auto found = counts.find(day.date);
      day.*field = found != counts.end() ? found->second : 0;
    }
    return OkStatus();
  };
  if (Status status =
          per_day("SELECT first_day, count(*) FROM users WHERE first_day BETWEEN ?1 AND ?2 "
                  "GROUP BY first_day",
                  &DayFigures::registrations);
      !status.ok())
    return status;
  if (Status status =
          per_day("SELECT day, count(*) FROM daily_users WHERE day BETWEEN ?1 AND ?2 GROUP BY day",
                  &DayFigures::dau);
      !status.ok())
    return status;
  auto window = db_->Prepare(
      "SELECT count(DISTINCT user_id) FROM daily_users "
      "WHERE day BETWEEN date(?1, ?2) AND ?1");
  if (!window.ok()) return window.status();
  int64_t dau_sum = 0;
  for (auto& day : report.per_day) {
    for (const auto& [offset, field] :
         {std::pair{"-6 days", &DayFigures::wau}, std::pair{"-29 days", &DayFigures::mau}}) {
      window->Bind(1, day.date).Bind(2, offset);
      if (!window->Step()) {
        return window->status().ok() ? Status::Error("count(DISTINCT) returned no row")
                                     : window->status();
      }
      day.*field = window->Int(0);
      window->Reset();
    }
    day.stickiness = day.mau > 0 ? static_cast<double>(day.dau) / static_cast<double>(day.mau) : 0;
    report.registrations += day.registrations;
    dau_sum += day.dau;
  }
  report.average_dau = static_cast<double>(dau_sum) / static_cast<double>(days);
  report.wau = report.per_day.back().wau;
  report.mau = report.per_day.back().mau;
  report.stickiness = report.mau > 0 ? report.average_dau / static_cast<double>(report.mau) : 0;
  return report;
}

http::Response Insights::Serve(const http::Request& request) {
  int64_t days = 30;
  if (const auto text = request.QueryParam("days")) {
    const auto value = text::ParseInt64(*text);
    if (!value || *value < 1 || *value > max_days_) {
      return http::Response::JsonError(
          400, fmt::format("days: '{}' is not a whole number from 1 to {}", *text, max_days_));
    }
    days = *value;
  }
  const auto report = Compute(days);
  if (!report.ok()) return http::Response::JsonError(500, report.message());
  json::array per_day;
  for (const auto& day : report->per_day) {
    per_day.push_back(json::object{{"date", day.date},
                                   {"registrations", day.registrations},
                                   {"dau", day.dau},
                                   {"wau", day.wau},
                                   {"mau", day.mau},
                                   {"stickiness", day.stickiness}});
  }
  const json::object document{
      {"days", report->days},
      {"from", report->from},
      {"to", report->to},
      {"registrations", report->registrations},
      {"active_users", json::object{{"average_dau", report->average_dau},
                                    {"wau", report->wau},
                                    {"mau", report->mau},
                                    {"stickiness", report->stickiness}}},
      {"per_day", std::move(per_day)},
  };
  http::Response response = http::Response::Json(200, json::serialize(document));
  response.compressible = true;
  return response;
}

}  // namespace mingus::collector::events
