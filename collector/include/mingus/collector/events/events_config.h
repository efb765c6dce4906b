#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

// collector.yaml's `events:` section: which agents the collector pulls analytics events from
// (the targets of some scrape_configs jobs), how often and how much, and how long the events
// and their daily rollups are kept in business_intelligence.db.
namespace mingus::collector::events {

struct EventsConfig {
  // scrape_configs jobs whose targets are agents with an event spool. Absent from the file:
  // the job "mingus-agent", when there is one; an empty list turns pulling off.
  std::vector<std::string> jobs = {"mingus-agent"};
  // How often each agent is asked for events after the last one stored; an agent that had
  // more than batch_limit waiting is asked again at once.
  std::chrono::milliseconds pull_interval{15'000};
  // One pull (request and response) takes at most this long; at most pull_interval.
  std::chrono::milliseconds pull_timeout{10'000};
  // Events asked for in one pull and stored in one transaction (the agent serves 1 to 10 000).
  int64_t batch_limit = 5'000;
  // Pulls running at the same time (worker threads): a slow agent holds one of them only.
  int64_t concurrency = 4;
  // After a failed pull the agent is asked again after pull_interval, twice as long after each
  // further failure, and never later than this.
  std::chrono::milliseconds max_backoff{5 * 60'000};
  // Events (and events set aside) are deleted this long after their event time. An event that
  // arrives older than this is set aside (reason too_old).
  std::chrono::milliseconds retention{90ll * 86'400'000};
  // The daily rollups (per day, type and key; active users per day) are kept this long, so
  // that long ranges stay answerable after the raw events are gone. At least `retention`.
  std::chrono::milliseconds rollup_retention{400ll * 86'400'000};
  // An event whose `ts` is further ahead of the collector's clock than this is set aside
  // (reason future_timestamp).
  std::chrono::milliseconds max_future_skew{60 * 60'000};
  // Users and sessions whose days seen are kept in memory (a hundred bytes or so each; those
  // not in memory are read from distinct_days, a random page read each): 0 keeps none.
  int64_t distinct_cache = 500'000;
};

// The longest report (days=N) the rollups answer: rollup_retention in whole days, at least 1.
inline int64_t MaxReportDays(const EventsConfig& config) {
  return std::max<int64_t>(1, config.rollup_retention / std::chrono::days(1));
}

}  // namespace mingus::collector::events
