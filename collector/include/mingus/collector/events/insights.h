#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mingus/common/clock.h"
#include "mingus/common/status.h"
#include "mingus/http/server.h"
#include "mingus/sqlite/database.h"

// The insights report over business_intelligence.db (GET /api/monitoring/insights?days=N):
// registrations per day, daily, weekly and monthly active users and stickiness. Computed from
// the rollups (users, daily_users), so its cost depends on users per day, not on events.
namespace mingus::collector::events {

struct DayFigures {
  std::string date;           // YYYY-MM-DD, UTC
  int64_t registrations = 0;  // users whose first event was on this day
  int64_t dau = 0;            // users with an event on this day
  int64_t wau = 0;            // ... in the 7 days ending on it
  int64_t mau = 0;            // ... in the 30 days ending on it
  double stickiness = 0;      // dau / mau (0 without active users)
};

struct InsightsReport {
  int64_t days = 0;
  std::string from, to;  // the first and last day, inclusive; `to` is today
  std::vector<DayFigures> per_day;
  int64_t registrations = 0;  // in the period
  double average_dau = 0;
  int64_t wau = 0, mau = 0;  // on the last day
  double stickiness = 0;     // average_dau / mau
};

// Reads on a connection of its own, beside the EventStore's writes (WAL). Thread-safe.
class Insights {
 public:
  static StatusOr<std::unique_ptr<Insights>> Open(const std::string& path, const Clock& clock,
                                                  int64_t max_days);

  // The `days` days ending today (the clock's UTC day).
  StatusOr<InsightsReport> Compute(int64_t days);
  // GET /api/monitoring/insights?days=N (default 30, 1 to max_days): the report as JSON.
  http::Response Serve(const http::Request& request);

 private:
  Insights(std::unique_ptr<sqlite::Database> db, const Clock& clock, int64_t max_days)
      : db_(std::move(db)), clock_(clock), max_days_(max_days) {}

  std::mutex mutex_;
  std::unique_ptr<sqlite::Database> db_;
  const Clock& clock_;
  const int64_t max_days_;
};

}  // namespace mingus::collector::events
