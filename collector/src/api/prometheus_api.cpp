#include "mingus/collector/api/prometheus_api.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <set>

#include "mingus/collector/promql/parser.h"
#include "mingus/common/duration.h"
#include "mingus/version.h"

namespace mingus::collector::api {

namespace {

// Prometheus refuses range queries with more points than this per series.
constexpr int64_t kMaxPointsPerSeries = 11'000;

http::Response ApiError(int status, std::string_view type, std::string_view message) {
  http::Response response = http::Response::Json(
      status, boost::json::serialize(boost::json::object{
                  {"status", "error"}, {"errorType", type}, {"error", message}}));
  return response;
}

http::Response BadData(std::string_view message) { return ApiError(400, "bad_data", message); }

http::Response Success(std::string data_json) {
  http::Response response =
      http::Response::Json(200, R"({"status":"success","data":)" + data_json + "}");
  response.compressible = true;
  return response;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += boost::json::serialize(boost::json::string_view(text.data(), text.size()));
}

void AppendLabels(std::string& out, const tsdb::Labels& labels) {
  out.push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(out, labels[i].first);
    out.push_back(':');
    AppendJsonString(out, labels[i].second);
  }
  out.push_back('}');
}

// [1700000000.123,"42"]
void AppendPoint(std::string& out, int64_t timestamp_ms, std::string_view value) {
  out.push_back('[');
  // Seconds with up to three decimals, as Prometheus writes timestamps.
  std::string seconds = fmt::format("{:.3f}", static_cast<double>(timestamp_ms) / 1000);
  while (seconds.back() == '0') seconds.pop_back();
  if (seconds.back() == '.') seconds.pop_back();
  out += seconds;
  out += ",";
  AppendJsonString(out, value);
  out.push_back(']');
}

std::string ResultJson(const promql::QueryResult& result, int64_t time_ms) {
  std::string out;
  if (result.is_matrix) {
    out = R"({"resultType":"matrix","result":[)";
    for (size_t i = 0; i < result.series.size(); ++i) {
      if (i > 0) out.push_back(',');
      out += R"({"metric":)";
      AppendLabels(out, result.series[i].labels);
      out += R"(,"values":[)";
      const auto& points = result.series[i].points;
      for (size_t j = 0; j < points.size(); ++j) {
        if (j > 0) out.push_back(',');
        AppendPoint(out, points[j].timestamp_ms, promql::FormatValue(points[j].value));
      }
      out += "]}";
    }
    return out + "]}";
  }
  switch (result.type) {
    case promql::ValueType::kScalar:
      out = R"({"resultType":"scalar","result":)";
      AppendPoint(out, time_ms, promql::FormatValue(result.scalar));
      return out + "}";
    case promql::ValueType::kString:
      out = R"({"resultType":"string","result":)";
      AppendPoint(out, time_ms, result.string);
      return out + "}";
    default:
      break;
  }
  out = R"({"resultType":"vector","result":[)";
  for (size_t i = 0; i < result.series.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += R"({"metric":)";
    AppendLabels(out, result.series[i].labels);
    out += R"(,"value":)";
    const auto& point = result.series[i].points.at(0);
    AppendPoint(out, point.timestamp_ms, promql::FormatValue(point.value));
    out += "}";
  }
  return out + "]}";
}

// A parameter that must be there.
StatusOr<std::string> Required(const http::Request& request, std::string_view key) {
  auto value = request.Param(key);
  if (!value || value->empty())
    return Status::Error(fmt::format("invalid parameter \"{}\": missing", key));
  return std::move(*value);
}

StatusOr<int64_t> TimeParam(const http::Request& request, std::string_view key, int64_t fallback) {
  const auto text = request.Param(key);
  if (!text || text->empty()) return fallback;
  auto parsed = ParseTimeMs(*text);
  if (!parsed.ok())
    return Status::Error(fmt::format("invalid parameter \"{}\": {}", key, parsed.message()));
  return parsed;
}

// match[] selectors: each must be a plain series selector.
StatusOr<std::vector<std::vector<tsdb::Matcher>>> MatcherSets(const http::Request& request) {
  std::vector<std::vector<tsdb::Matcher>> sets;
  for (const auto& selector : request.Params("match[]")) {
    auto expr = promql::Parse(selector);
    if (!expr.ok())
      return Status::Error(fmt::format("invalid parameter \"match[]\": {}", expr.message()));
    const auto* vector = std::get_if<promql::VectorSelector>(&(*expr)->node);
    if (vector == nullptr) {
      return Status::Error(
          fmt::format("invalid parameter \"match[]\": '{}' is not a series selector", selector));
    }
    sets.push_back(vector->matchers);
  }
  return sets;
}

std::set<tsdb::SeriesRef> SelectAll(const tsdb::Head& head,
                                    const std::vector<std::vector<tsdb::Matcher>>& sets) {
  std::set<tsdb::SeriesRef> refs;
  for (const auto& matchers : sets) {
    for (const auto ref : head.Select(matchers)) refs.insert(ref);
  }
  return refs;
}

std::string StringListJson(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(out, values[i]);
  }
  return out + "]";
}

}  // namespace

StatusOr<int64_t> ParseTimeMs(std::string_view text) {
  double seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error == std::errc() && end == text.data() + text.size() && std::isfinite(seconds)) {
    // As ParseDurationMs: milliseconds beyond int64 have no llround.
    if (seconds * 1000 > 9.2e18 || seconds * 1000 < -9.2e18) {
      return Status::Error(
          fmt::format("cannot parse \"{}\" to a valid timestamp. It overflows int64", text));
    }
    return static_cast<int64_t>(std::llround(seconds * 1000));
  }
  // RFC 3339: 2026-11-29T10:00:00[.fraction](Z|+hh:mm|-hh:mm)
  std::tm tm{};
  int consumed = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) == 6 &&
      consumed == 19) {
    std::string_view rest = text.substr(19);
    int64_t millis = 0;
    if (!rest.empty() && rest.front() == '.') {
      rest.remove_prefix(1);
      int digits = 0;
      while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
        if (digits++ < 3) millis = millis * 10 + (rest.front() - '0');
        rest.remove_prefix(1);
      }
      if (digits == 0)
        return Status::Error(fmt::format("cannot parse \"{}\" to a valid timestamp", text));
      for (; digits < 3; ++digits) millis *= 10;
    }
    int64_t offset_minutes = 0;
    bool zoned = false;
    if (rest == "Z" || rest == "z") {
      rest = {};
      zoned = true;
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
      const int hours = (rest[1] - '0') * 10 + (rest[2] - '0'),
                minutes = (rest[4] - '0') * 10 + (rest[5] - '0');
      offset_minutes = (rest[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
      rest = {};
      zoned = true;
    }
    if (zoned) {
      tm.tm_year -= 1900;
      tm.tm_mon -= 1;
      const int64_t epoch = timegm(&tm);
      return (epoch - offset_minutes * 60) * 1000 + millis;
    }
  }
  return Status::Error(fmt::format("cannot parse \"{}\" to a valid timestamp", text));
}

StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  double seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error == std::errc() && end == text.data() + text.size()) {
    if (!std::isfinite(seconds) || seconds * 1000 > 9.2e18 || seconds * 1000 < -9.2e18) {
      return Status::Error(
          fmt::format("cannot parse \"{}\" to a valid duration. It overflows int64", text));
    }
    return static_cast<int64_t>(std::llround(seconds * 1000));
  }
  const auto duration = ParseDuration(text);
  if (!duration.ok())
    return Status::Error(fmt::format("cannot parse \"{}\" to a valid duration", text));
  return duration->count();
}

PrometheusApi::PrometheusApi(const tsdb::Head& head, const promql::Engine& engine,
                             const Clock& clock, const scrape::ScrapeManager* targets,
                             const rules::RuleManager* rules, prometheus::Registry& registry)
    : head_(head),
      engine_(engine),
      clock_(clock),
      targets_(targets),
      rules_(rules),
      query_duration_(prometheus::BuildHistogram()
                          .Name("mingus_collector_query_duration_seconds")
                          .Help("Time to answer API queries, by endpoint.")
                          .Register(registry)) {}

void PrometheusApi::Register(http::Router& router) {
  // The query endpoints, each timed into mingus_collector_query_duration_seconds{endpoint}.
  const auto timed = [this](const char* endpoint,
                            http::Response (PrometheusApi::*serve)(const http::Request&) const) {
    prometheus::Histogram& histogram = query_duration_.Add(
        {{"endpoint", endpoint}}, prometheus::Histogram::BucketBoundaries{0.001, 0.01, 0.1, 1, 10});
    return [this, &histogram, serve](const http::Request& request) {
      const auto start = std::chrono::steady_clock::now();
      http::Response response = (this->*serve)(request);
      histogram.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      return response;
    };
  };
  for (const char* method : {"GET", "POST"}) {
    router.Handle(method, "/api/v1/query", timed("query", &PrometheusApi::Query));
    router.Handle(method, "/api/v1/query_range", timed("query_range", &PrometheusApi::QueryRange));
    router.Handle(method, "/api/v1/series", [this](const http::Request& r) { return Series(r); });
    router.Handle(method, "/api/v1/labels", [this](const http::Request& r) { return Labels(r); });
  }
  router.HandlePrefix("GET", "/api/v1/label/",
                      [this](const http::Request& r) { return LabelValues(r); });
  router.Handle("GET", "/api/v1/targets", [this](const http::Request& r) { return Targets(r); });
  router.Handle("GET", "/api/v1/rules", [this](const http::Request& r) { return Rules(r); });
  router.Handle("GET", "/api/v1/alerts", [this](const http::Request& r) { return Alerts(r); });
  router.Handle("GET", "/api/v1/status/buildinfo", [](const http::Request&) {
    return Success(boost::json::serialize(boost::json::object{
        {"version", kVersion}, {"revision", kRevision}, {"branch", ""}, {"goVersion", ""}}));
  });
  // Grafana asks for metric metadata and exemplars; we keep neither.
  router.Handle("GET", "/api/v1/metadata", [](const http::Request&) { return Success("{}"); });
  for (const char* method : {"GET", "POST"}) {
    router.Handle(method, "/api/v1/query_exemplars",
                  [](const http::Request&) { return Success("[]"); });
  }
}

http::Response PrometheusApi::Query(const http::Request& request) const {
  const auto query = Required(request, "query");
  if (!query.ok()) return BadData(query.message());
  const auto time = TimeParam(request, "time", UnixMillis(clock_));
  if (!time.ok()) return BadData(time.message());
  const auto expr = promql::Parse(*query);
  if (!expr.ok()) return BadData(expr.message());
  const auto result = engine_.Instant(**expr, *time);
  if (!result.ok()) return ApiError(422, "execution", result.message());
  return Success(ResultJson(*result, *time));
}

http::Response PrometheusApi::QueryRange(const http::Request& request) const {
  const auto query = Required(request, "query");
  if (!query.ok()) return BadData(query.message());
  for (const char* key : {"start", "end", "step"}) {
    if (const auto missing = Required(request, key); !missing.ok())
      return BadData(missing.message());
  }
  const auto start = TimeParam(request, "start", 0);
  if (!start.ok()) return BadData(start.message());
  const auto end = TimeParam(request, "end", 0);
  if (!end.ok()) return BadData(end.message());
  if (*end < *start)
    return BadData("invalid parameter \"end\": end timestamp must not be before start time");
  const auto step = ParseDurationMs(*request.Param("step"));
  if (!step.ok()) return BadData(fmt::format("invalid parameter \"step\": {}", step.message()));
  if (*step <= 0) {
    return BadData(
        "invalid parameter \"step\": zero or negative query resolution step widths are not "
        "accepted. "
        "Try a positive integer");
  }
  if ((*end - *start) / *step > kMaxPointsPerSeries) {
    return BadData(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
        "resolution (?step=XX)");
  }
  const auto expr = promql::Parse(*query);
  if (!expr.ok()) return BadData(expr.message());
  if ((*expr)->type != promql::ValueType::kScalar &&
      (*expr)->type != promql::ValueType::kInstantVector) {
    return BadData(fmt::format(
        "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
        promql::ValueTypeName((*expr)->type)));
  }
  const auto result = engine_.Range(**expr, *start, *end, *step);
  if (!result.ok()) return ApiError(422, "execution", result.message());
  return Success(ResultJson(*result, *start));
}

http::Response PrometheusApi::Series(const http::Request& request) const {
  const auto sets = MatcherSets(request);
  if (!sets.ok()) return BadData(sets.message());
  if (sets->empty()) return BadData("no match[] parameter provided");
  std::string out = "[";
  bool first = true;
  for (const auto ref : SelectAll(head_, *sets)) {
    if (!first) out.push_back(',');
    first = false;
    AppendLabels(out, head_.LabelsOf(ref));
  }
  return Success(out + "]");
}

http::Response PrometheusApi::Labels(const http::Request& request) const {
  const auto sets = MatcherSets(request);
  if (!sets.ok()) return BadData(sets.message());
  if (sets->empty()) return Success(StringListJson(head_.LabelNames()));
  std::set<std::string> names;
  for (const auto ref : SelectAll(head_, *sets)) {
    for (const auto& [name, value] : head_.LabelsOf(ref)) names.insert(name);
  }
  return Success(StringListJson({names.begin(), names.end()}));
}

http::Response PrometheusApi::LabelValues(const http::Request& request) const {
  constexpr std::string_view kPrefix = "/api/v1/label/", kSuffix = "/values";
  std::string_view path = request.path;
  if (!path.ends_with(kSuffix)) return ApiError(404, "not_found", "no such path: " + request.path);
  const std::string name(
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
  if (name != "__name__" && !wire::IsValidLabelName(name)) {
    return BadData(fmt::format("invalid label name: \"{}\"", name));
  }
  const auto sets = MatcherSets(request);
  if (!sets.ok()) return BadData(sets.message());
  if (sets->empty()) return Success(StringListJson(head_.LabelValues(name)));
  std::set<std::string> values;
  for (const auto ref : SelectAll(head_, *sets)) {
    for (const auto& [label, value] : head_.LabelsOf(ref)) {
      if (label == name) values.insert(value);
    }
  }
  return Success(StringListJson({values.begin(), values.end()}));
}

http::Response PrometheusApi::Targets(const http::Request&) const {
  boost::json::array active;
  if (targets_ != nullptr) {
    for (const auto& status : targets_->Targets()) {
      boost::json::object labels;
      for (const auto& [name, value] : status.target.labels) labels[name] = value;
      const bool scraped = status.last.timestamp_ms != 0;
      active.push_back(
          boost::json::object{{"labels", std::move(labels)},
                              {"scrapePool", status.job},
                              {"scrapeUrl", status.target.Url()},
                              {"health", !scraped         ? "unknown"
                                         : status.last.up ? "up"
                                                          : "down"},
                              {"lastError", status.last.error},
                              {"lastScrapeDuration", status.last.duration_seconds},
                              {"lastScrapeTimestampMs", status.last.timestamp_ms},
                              {"scrapeInterval", FormatDuration(status.target.interval)},
                              {"scrapeTimeout", FormatDuration(status.target.timeout)}});
    }
  }
  return Success(boost::json::serialize(boost::json::object{
      {"activeTargets", std::move(active)}, {"droppedTargets", boost::json::array{}}}));
}

namespace {

boost::json::object LabelsObject(const tsdb::Labels& labels) {
  boost::json::object out;
  for (const auto& [name, value] : labels) out[name] = value;
  return out;
}

// Go's zero time for "never", as Prometheus shows a rule not yet evaluated.
std::string EvaluationTime(int64_t unix_ms) {
  return unix_ms == 0 ? "0001-01-01T00:00:00Z" : FormatRfc3339(unix_ms);
}

boost::json::object AlertJson(const rules::Alert& alert) {
  return {{"labels", LabelsObject(alert.labels)},
          {"annotations", LabelsObject(alert.annotations)},
          {"state", rules::AlertStateName(alert.state)},
          {"activeAt", FormatRfc3339(alert.active_at_ms)},
          {"value", promql::FormatScientific(alert.value)}};
}

}  // namespace

http::Response PrometheusApi::Rules(const http::Request& request) const {
  const std::string type = request.Param("type").value_or("");
  if (!type.empty() && type != "alert" && type != "record") {
    return BadData(fmt::format("invalid type '{}': must be alert or record", type));
  }
  boost::json::array groups;
  for (const auto& group :
       rules_ != nullptr ? rules_->Groups() : std::vector<rules::GroupStatus>{}) {
    boost::json::array rules;
    for (const auto& rule : group.rules) {
      const bool alerting = rule.kind == rules::RuleDefinition::Kind::kAlerting;
      if ((type == "alert" && !alerting) || (type == "record" && alerting)) continue;
      boost::json::object json{{"name", rule.name},
                               {"query", rule.query},
                               {"labels", LabelsObject(rule.labels)},
                               {"health", rule.health},
                               {"evaluationTime", rule.evaluation_seconds},
                               {"lastEvaluation", EvaluationTime(rule.last_evaluation_ms)},
                               {"type", alerting ? "alerting" : "recording"}};
      if (!rule.last_error.empty()) json["lastError"] = rule.last_error;
      if (alerting) {
        // A rule's state is its most advanced alert's.
        rules::AlertState state = rules::AlertState::kInactive;
        boost::json::array alerts;
        for (const auto& alert : rule.alerts) {
          if (alert.state == rules::AlertState::kInactive) continue;
          state = std::max(state, alert.state);
          alerts.push_back(AlertJson(alert));
        }
        json["state"] = rules::AlertStateName(state);
        json["duration"] = static_cast<double>(rule.for_duration.count()) / 1000;
        json["annotations"] = LabelsObject(rule.annotations);
        json["alerts"] = std::move(alerts);
      }
      rules.push_back(std::move(json));
    }
    groups.push_back(
        boost::json::object{{"name", group.name},
                            {"file", group.file},
                            {"rules", std::move(rules)},
                            {"interval", static_cast<double>(group.interval.count()) / 1000},
                            {"limit", group.limit},
                            {"evaluationTime", group.evaluation_seconds},
                            {"lastEvaluation", EvaluationTime(group.last_evaluation_ms)}});
  }
  return Success(boost::json::serialize(boost::json::object{{"groups", std::move(groups)}}));
}

http::Response PrometheusApi::Alerts(const http::Request&) const {
  boost::json::array alerts;
  if (rules_ != nullptr) {
    for (const auto& group : rules_->Groups()) {
      for (const auto& rule : group.rules) {
        for (const auto& alert : rule.alerts) {
          if (alert.state != rules::AlertState::kInactive) alerts.push_back(AlertJson(alert));
        }
      }
    }
  }
  return Success(boost::json::serialize(boost::json::object{{"alerts", std::move(alerts)}}));
}

}  // namespace mingus::collector::api
