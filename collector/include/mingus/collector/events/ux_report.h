#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/collector/events/ab_test.h"
#include "mingus/collector/events/ux_config.h"
#include "mingus/common/clock.h"
#include "mingus/common/status.h"
#include "mingus/http/server.h"
#include "mingus/sqlite/database.h"

// The UX report over business_intelligence.db (GET /api/monitoring/ux?days=N&page=P and
// `mingus-collector report ux`): clicks per element, dwell time and bounce rate per page, rage
// and dead clicks, the configured funnels, A/B experiments with their statistics, and
// recommendations with the figures behind them. docs/ux.md defines every figure.
namespace mingus::collector::events {

struct PageFigures {
  std::string page;
  int64_t views = 0;     // visits: runs of a session's interactions on the page
  int64_t sessions = 0;  // sessions with a visit
  int64_t entries = 0;   // sessions whose first visit it is
  int64_t bounces = 0;   // of those, sessions with no other visit
  double bounce_rate = 0;
  int64_t clicks = 0;
  int64_t dwell_measured = 0;  // visits followed by another visit (the last one has no end)
  double dwell_mean_seconds = 0, dwell_median_seconds = 0;
};

struct ElementFigures {
  std::string page, element;
  int64_t clicks = 0;
  double share = 0;      // of the page's clicks
  int64_t sessions = 0;  // sessions that clicked it
  int64_t rage_clicks = 0, rage_sessions = 0;
  int64_t dead_clicks = 0;
  double dead_click_rate = 0;  // dead_clicks / clicks
};

struct FunnelStepFigures {
  std::string name;
  int64_t reached = 0;  // sessions (or users) that did this step after the ones before
  double conversion_from_previous = 0, conversion_from_entry = 0;
  int64_t drop_off = 0;  // reached the previous step, not this one
  double drop_off_rate = 0;
  std::optional<double> median_seconds_from_previous;
};

struct FunnelFigures {
  std::string name;
  std::string within;  // "session", or the window as a duration
  int64_t entries = 0;
  double conversion = 0;  // reached the last step / entries
  std::vector<FunnelStepFigures> steps;
};

struct VariantFigures {
  std::string name;
  double planned_share = 0;
  int64_t exposures = 0, conversions = 0;  // users
  double conversion_rate = 0;
  bool control = false;
  std::optional<Comparison> vs_control;
  bool significant = false;  // p_value below the (Bonferroni-corrected) level
};

struct ExperimentFigures {
  std::string name, control;
  // no_exposures, one_variant, collecting, sample_ratio_mismatch, no_significant_difference,
  // winner
  std::string status;
  std::string winner;  // set with status winner
  int64_t planned_sample_size = 0;
  bool sample_size_reached = false;
  std::optional<ChiSquareTest> sample_ratio;
  bool sample_ratio_mismatch = false;
  int64_t users_in_several_variants = 0;  // counted in the variant of their first exposure
  int64_t unattributed_conversions = 0;   // converted users never exposed before converting
  std::vector<VariantFigures> variants;
};

struct Recommendation {
  std::string rule;     // docs/ux.md lists the rules
  std::string subject;  // the page, element, funnel step or experiment
  std::string message;
  std::vector<std::pair<std::string, double>> evidence;  // the figures that triggered it
};

struct UxReport {
  int64_t days = 0;
  std::string from, to;  // first and last day, inclusive (UTC)
  std::string page;      // the page the page-level lists are limited to; "" for all
  int64_t interactions = 0, clicks = 0, sessions = 0, users = 0;
  std::vector<PageFigures> pages;        // by views, most first
  std::vector<ElementFigures> elements;  // by clicks, most first
  std::vector<FunnelFigures> funnels;
  std::vector<ExperimentFigures> experiments;
  std::vector<Recommendation> recommendations;
};

// One stored interaction event, as the accumulator reads it.
struct Interaction {
  int64_t time_ms = 0;
  int64_t sequence = 0;  // the order stored (rowid): breaks ties in time
  std::string_view user_id, session_id, event_type, element_id, page_url;
};
struct ExperimentEvent {
  int64_t time_ms = 0;
  int64_t sequence = 0;  // as Interaction's
  std::string_view experiment, variant, user_id;
  bool conversion = false;  // else an exposure
};

// Computes the report from the events, fed in any order (the store's is time): Finish groups
// them by user and session, and by experiment and user. Not thread-safe.
class UxAccumulator {
 public:
  UxAccumulator(const UxConfig& config, std::string page);
  ~UxAccumulator();
  void Add(const Interaction& event);
  void Add(const ExperimentEvent& event);
  // The page and element lists are cut to `limit` entries each.
  UxReport Finish(int64_t limit);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The rules of docs/ux.md over a report's figures.
std::vector<Recommendation> Recommend(const UxReport& report);

// The report as the endpoint serves it.
std::string UxReportJson(const UxReport& report);

// Reads on a connection of its own, beside the EventStore's writes (WAL). Thread-safe.
class UxReports {
 public:
  static StatusOr<std::unique_ptr<UxReports>> Open(const std::string& path, const Clock& clock,
                                                   int64_t max_days, UxConfig config);

  // At reload: the funnels, experiments and windows of the next reports.
  void Apply(UxConfig config);
  // The `days` days ending today (the clock's UTC day); `page` limits the page-level lists.
  StatusOr<UxReport> Compute(int64_t days, const std::string& page = "", int64_t limit = 100);
  // GET /api/monitoring/ux?days=N&page=P&limit=L (days 30, 1 to max_days; limit 100, 1 to
  // 10000): the report as JSON; a bad parameter is a 400 naming it.
  http::Response Serve(const http::Request& request);
  // The key figures of the last kMetricsDays for Grafana (docs/metrics.md): funnels,
  // experiments, and the most viewed pages' and most clicked elements' rates; the report is
  // recomputed at most once a minute.
  void AppendFamilies(std::vector<prometheus::MetricFamily>& out);
  static constexpr int64_t kMetricsDays = 7;
  static constexpr int64_t kMetricsPages = 20;  // and elements: bounded label sets

 private:
  UxReports(std::unique_ptr<sqlite::Database> db, const Clock& clock, int64_t max_days,
            UxConfig config)
      : db_(std::move(db)), clock_(clock), max_days_(max_days), config_(std::move(config)) {}

  std::mutex mutex_;
  std::unique_ptr<sqlite::Database> db_;
  const Clock& clock_;
  const int64_t max_days_;
  UxConfig config_;
  std::mutex metrics_mutex_;  // one computation for concurrent scrapes
  std::optional<UxReport> metrics_report_;
  int64_t metrics_report_ms_ = 0;
  int64_t metrics_errors_ = 0;
};

}  // namespace mingus::collector::events
