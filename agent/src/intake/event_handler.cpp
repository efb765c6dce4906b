#include "mingus/agent/intake/event_handler.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "mingus/metrics/family_builder.h"
#include "mingus/sql/fingerprint.h"
#include "mingus/wire/endpoint.h"

namespace mingus::agent::intake {

namespace {

int64_t UtcDay(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count() / 24;
}

// The statement's verb and first table, from a fingerprint ("select ... from users where").
std::pair<std::string_view, std::string_view> OperationAndTable(std::string_view fingerprint) {
  const auto word_after = [&](std::string_view keyword) -> std::string_view {
    const auto at = fingerprint.find(keyword);
    if (at == std::string_view::npos) return {};
    std::string_view rest = fingerprint.substr(at + keyword.size());
    const auto end = rest.find_first_of(" (,;");
    std::string_view table = rest.substr(0, end);
    if (table.size() >= 2 && (table.front() == '`' || table.front() == '"') && table.back() == table.front())
      table = table.substr(1, table.size() - 2);
    return table.empty() || table == "?" ? std::string_view() : table;
  };
  const std::string_view verb = fingerprint.substr(0, fingerprint.find(' '));
  if (verb == "select") return {"select", word_after(" from ")};
  if (verb == "insert" || verb == "replace") return {verb, word_after(" into ")};
  if (verb == "update") return {"update", word_after("update ")};
  if (verb == "delete") return {"delete", word_after(" from ")};
  return {"other", {}};
}

}  // namespace

struct EventHandler::Families {
  explicit Families(MetricStore& store) {
    const auto make = [&](std::string name, std::string help, MetricKind kind,
                          std::vector<double> buckets = {}) {
      return store.Family({.name = std::move(name), .help = std::move(help), .kind = kind,
                           .buckets = std::move(buckets)});
    };
    const auto latency = DefaultLatencyBuckets();
    api_duration = make("mingus_api_request_duration_seconds", "API request latency.", MetricKind::kHistogram, latency);
    api_requests = make("mingus_api_requests_total", "API requests.", MetricKind::kCounter);
    api_errors = make("mingus_api_errors_total", "API requests answered with a 5xx status.", MetricKind::kCounter);
    db_duration = make("mingus_db_query_duration_seconds", "Database query time.", MetricKind::kHistogram, latency);
    db_rows = make("mingus_db_query_rows_total", "Rows returned or changed by database queries.", MetricKind::kCounter);
    score_duration = make("mingus_score_duration_seconds", "Score calculation time.", MetricKind::kHistogram, latency);
    score_calculations = make("mingus_score_calculations_total", "Score calculations, cached or computed.", MetricKind::kCounter);
    engagement = make("mingus_engagement_actions_total", "User engagement actions.", MetricKind::kCounter);
    engagement_time = make("mingus_engagement_usage_seconds_total", "Usage time reported with engagement actions.", MetricKind::kCounter);
    feature_usage = make("mingus_feature_usage_total", "Feature uses.", MetricKind::kCounter);
    feature_time = make("mingus_feature_usage_seconds_total", "Time spent in features.", MetricKind::kCounter);
    feedback = make("mingus_feedback_rating", "Feedback ratings.", MetricKind::kHistogram, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    user_metric = make("mingus_user_metric_value", "User metrics reported by the app.", MetricKind::kSummary);
    interactions = make("mingus_ux_interactions_total", "UI interactions.", MetricKind::kCounter);
    exposures = make("mingus_experiment_exposures_total", "Experiment exposures.", MetricKind::kCounter);
    conversions = make("mingus_experiment_conversions_total", "Experiment conversions.", MetricKind::kCounter);
    cache = make("mingus_cache_requests_total", "Cache lookups by result.", MetricKind::kCounter);
    source_cost = make("mingus_data_source_cost_total", "Cost of data source calls.", MetricKind::kCounter);
    source_value = make("mingus_data_source_value_total", "Value attributed to data source calls.", MetricKind::kCounter);
  }
  StoreFamily *api_duration, *api_requests, *api_errors, *db_duration, *db_rows, *score_duration,
      *score_calculations, *engagement, *engagement_time, *feature_usage, *feature_time, *feedback,
      *user_metric, *interactions, *exposures, *conversions, *cache, *source_cost, *source_value;
};

EventAggregates::EventAggregates(const Clock& clock, size_t max_features, size_t top_fingerprints)
    : clock_(clock), max_features_(max_features), top_fingerprints_(top_fingerprints) {}

void EventAggregates::RollDay() const {
  const int64_t today = UtcDay(clock_.Now());
  if (today == day_) return;
  day_ = today;
  users_.Clear();
  feature_users_.clear();
}

void EventAggregates::SeeUser(std::string_view user_id, std::string_view feature) {
  if (user_id.empty()) return;
  const uint64_t hash = StableHash64(user_id);
  std::lock_guard lock(mutex_);
  RollDay();
  users_.AddHash(hash);
  if (feature.empty()) return;
  auto it = feature_users_.find(feature);
  if (it == feature_users_.end()) {
    if (feature_users_.size() >= max_features_) return;
    it = feature_users_.emplace(std::string(feature), std::make_unique<HyperLogLog>()).first;
  }
  it->second->AddHash(hash);
}

void EventAggregates::SeeQuery(std::string_view fingerprint, double seconds, double rows) {
  std::lock_guard lock(mutex_);
  auto it = queries_.find(fingerprint);
  if (it == queries_.end()) {
    if (queries_.size() >= top_fingerprints_) {
      // Full: the newcomer takes the place of the cheapest fingerprint (space-saving style).
      const auto cheapest = std::min_element(queries_.begin(), queries_.end(), [](const auto& a, const auto& b) {
        return a.second.seconds < b.second.seconds;
      });
      queries_.erase(cheapest);
    }
    it = queries_.emplace(std::string(fingerprint), QueryStats{}).first;
  }
  it->second.calls += 1;
  it->second.seconds += seconds;
  it->second.rows += rows;
}

double EventAggregates::UsersToday() const {
  std::lock_guard lock(mutex_);
  RollDay();
  return users_.Estimate();
}

double EventAggregates::FeatureUsersToday(std::string_view feature) const {
  std::lock_guard lock(mutex_);
  RollDay();
  const auto it = feature_users_.find(feature);
  return it == feature_users_.end() ? 0 : it->second->Estimate();
}

void EventAggregates::AppendFamilies(std::vector<prometheus::MetricFamily>& out) const {
  using prometheus::MetricType;
  std::lock_guard lock(mutex_);
  RollDay();
  metrics::AddSample(metrics::AddFamily(out, "mingus_active_users", "Distinct users seen today (UTC), estimated.",
                                        MetricType::Gauge),
                     std::round(users_.Estimate()), {{"window", "day"}});
  auto& features = metrics::AddFamily(out, "mingus_feature_users",
                                      "Distinct users of each feature today (UTC), estimated.", MetricType::Gauge);
  for (const auto& [feature, hll] : feature_users_) {
    metrics::AddSample(features, std::round(hll->Estimate()), {{"feature", feature}});
  }
  const size_t first = out.size();
  metrics::AddFamily(out, "mingus_db_fingerprint_calls_total", "Calls of the costliest query fingerprints.",
                     MetricType::Counter);
  metrics::AddFamily(out, "mingus_db_fingerprint_seconds_total", "Time spent in the costliest query fingerprints.",
                     MetricType::Counter);
  metrics::AddFamily(out, "mingus_db_fingerprint_rows_total", "Rows of the costliest query fingerprints.",
                     MetricType::Counter);
  for (const auto& [fingerprint, stats] : queries_) {
    metrics::AddSample(out[first], stats.calls, {{"fingerprint", fingerprint}});
    metrics::AddSample(out[first + 1], stats.seconds, {{"fingerprint", fingerprint}});
    metrics::AddSample(out[first + 2], stats.rows, {{"fingerprint", fingerprint}});
  }
}

EventHandler::EventHandler(MetricStore& store, EventAggregates& aggregates)
    : store_(store), aggregates_(aggregates), families_(std::make_shared<Families>(store)) {}

void EventHandler::Handle(const wire::JsonEvent& e, int64_t now_ms) {
  using wire::EventType;
  const Families& f = *families_;
  aggregates_.SeeUser(e.user_id, e.type == EventType::kFeature ? e.feature : std::string_view());
  switch (e.type) {
    case EventType::kApi: {
      scratch_.clear();
      wire::NormalizeEndpoint(e.endpoint, scratch_);
      const fmt::format_int status(static_cast<int>(*e.status));
      status_.assign(status.data(), status.size());
      const Label labels[] = {{"endpoint", scratch_}, {"method", e.method}, {"status", status_}};
      store_.Observe(f.api_duration, labels, *e.duration_ms / 1000, 1, now_ms);
      store_.Add(f.api_requests, labels, 1, now_ms);
      if (*e.status >= 500) {
        const Label error_labels[] = {{"endpoint", scratch_}, {"method", e.method}};
        store_.Add(f.api_errors, error_labels, 1, now_ms);
      }
      break;
    }
    case EventType::kDb: {
      fingerprint_.clear();
      sql::AppendFingerprint(e.query, fingerprint_);
      const auto [operation, table] = OperationAndTable(fingerprint_);
      const Label labels[] = {{"operation", operation}, {"table", table}};
      store_.Observe(f.db_duration, labels, *e.duration_ms / 1000, 1, now_ms);
      if (e.rows) store_.Add(f.db_rows, labels, *e.rows, now_ms);
      aggregates_.SeeQuery(fingerprint_, *e.duration_ms / 1000, e.rows.value_or(0));
      break;
    }
    case EventType::kScore: {
      const Label labels[] = {{"score", e.name}};
      store_.Observe(f.score_duration, labels, *e.duration_ms / 1000, 1, now_ms);
      const Label cached[] = {{"cached", e.cached.value_or(false) ? "true" : "false"}, {"score", e.name}};
      store_.Add(f.score_calculations, cached, 1, now_ms);
      break;
    }
    case EventType::kEngagement: {
      const Label labels[] = {{"action", e.action}};
      store_.Add(f.engagement, labels, 1, now_ms);
      if (e.usage_time) store_.Add(f.engagement_time, labels, *e.usage_time, now_ms);
      break;
    }
    case EventType::kFeature: {
      const Label labels[] = {{"feature", e.feature}};
      store_.Add(f.feature_usage, labels, 1, now_ms);
      if (e.usage_time) store_.Add(f.feature_time, labels, *e.usage_time, now_ms);
      break;
    }
    case EventType::kFeedback: {
      const Label labels[] = {{"kind", e.kind}};
      store_.Observe(f.feedback, labels, *e.rating, 1, now_ms);
      break;
    }
    case EventType::kUserMetric: {
      const Label labels[] = {{"metric", e.metric}};
      store_.Observe(f.user_metric, labels, *e.value, 1, now_ms);
      break;
    }
    case EventType::kInteraction: {
      scratch_.clear();
      wire::NormalizeEndpoint(e.page_url, scratch_);
      const Label labels[] = {{"element", e.element_id}, {"event_type", e.event_type}, {"page", scratch_}};
      store_.Add(f.interactions, labels, 1, now_ms);
      break;
    }
    case EventType::kExperiment: {
      const Label labels[] = {{"experiment", e.experiment}, {"variant", e.variant}};
      store_.Add(e.event == "exposure" ? f.exposures : f.conversions, labels, 1, now_ms);
      break;
    }
    case EventType::kCache: {
      const Label labels[] = {{"cache", e.cache}, {"result", e.result}};
      store_.Add(f.cache, labels, 1, now_ms);
      break;
    }
    case EventType::kDataSource: {
      const Label labels[] = {{"source", e.source}};
      store_.Add(f.source_cost, labels, *e.cost, now_ms);
      store_.Add(f.source_value, labels, *e.value, now_ms);
      break;
    }
  }
}

}  // namespace mingus::agent::intake
