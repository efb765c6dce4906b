#include "mingus/collector/api/monitoring_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <thread>

#include "fake_clock.h"
#include "mingus/collector/api/monitoring_stream.h"
#include "mingus/collector/config.h"
#include "mingus/config/yaml_reader.h"

// Every field of every /api/monitoring document, from a head filled with known samples at
// fake-clock times. The samples lie every 15 s from exactly one window before now to now, so
// that increase() over the window has nothing to extrapolate and equals last - first, and
// rate() over 5 m equals the slope: the expected values are the traffic's own numbers.
namespace mingus::collector::api {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

constexpr int64_t kStep = 15'000;
constexpr int64_t kHour = 3'600'000;
constexpr int kSteps = static_cast<int>(kHour / kStep);  // 240 steps, 241 samples

// histogram_quantile as Prometheus 2.42 computes it, over (upper bound, cumulative count).
double Quantile(double q, const std::vector<std::pair<double, double>>& buckets) {
  const double rank = q * buckets.back().second;
  size_t b = 0;
  while (b < buckets.size() - 1 && buckets[b].second < rank) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].first;
  if (b == 0 && buckets[0].first <= 0) return buckets[0].first;
  double start = 0, count = buckets[b].second, r = rank;
  if (b > 0) {
    start = buckets[b - 1].first;
    count -= buckets[b - 1].second;
    r -= buckets[b - 1].second;
  }
  return start + (buckets[b].first - start) * (r / count);
}

class MonitoringApiTest : public ::testing::Test {
 protected:
  MonitoringApiTest() : api_(engine_, clock_, &rules_, Config(), registry_) {
    api_.Register(router_);
  }

  static DashboardConfig Config() {
    DashboardConfig config;
    config.cache_ttl = std::chrono::milliseconds(0);
    return config;
  }

  int64_t Now() const { return UnixMillis(clock_); }

  tsdb::SeriesRef Ref(std::vector<std::pair<std::string, std::string>> labels) {
    return head_.GetOrCreate(*tsdb::MakeLabels(std::move(labels)));
  }
  // A counter rising evenly from `first` (one hour ago) to `last` (now).
  void Counter(std::vector<std::pair<std::string, std::string>> labels, double first, double last) {
    const auto ref = Ref(std::move(labels));
    for (int k = 0; k <= kSteps; ++k) {
      head_.Append(ref, Now() - kHour + k * kStep, first + (last - first) * k / kSteps);
    }
  }
  // A value moving by `per_second` from `base` (one hour ago).
  void Moving(std::vector<std::pair<std::string, std::string>> labels, double base,
              double per_second) {
    const auto ref = Ref(std::move(labels));
    for (int k = 0; k <= kSteps; ++k) {
      head_.Append(ref, Now() - kHour + k * kStep, base + per_second * (k * kStep / 1000));
    }
  }
  void Gauge(std::vector<std::pair<std::string, std::string>> labels, double value) {
    Moving(std::move(labels), value, 0);
  }

  // A histogram of one label set: cumulative counts per bound (last: +Inf) and the sum, each
  // rising from 0 to the given value over the hour.
  void Histogram(const std::string& name, std::vector<std::pair<std::string, std::string>> labels,
                 const std::vector<std::pair<std::string, double>>& buckets, double sum) {
    for (const auto& [le, count] : buckets) {
      auto bucket = labels;
      bucket.emplace_back("__name__", name + "_bucket");
      bucket.emplace_back("le", le);
      Counter(bucket, 0, count);
    }
    auto count_labels = labels;
    count_labels.emplace_back("__name__", name + "_count");
    Counter(count_labels, 0, buckets.back().second);
    labels.emplace_back("__name__", name + "_sum");
    Counter(labels, 0, sum);
  }

  // The traffic of the tests below: two API endpoints over two hosts, two query kinds, three
  // hosts' CPU, memory and disks, and rules with alerts of every severity.
  void FillTraffic() {
    const auto api = [](std::string endpoint, std::string method, std::string status,
                        std::string instance) {
      return std::vector<std::pair<std::string, std::string>>{
          {"__name__", "mingus_api_requests_total"},
          {"endpoint", endpoint},
          {"method", method},
          {"status", status},
          {"instance", instance},
          {"job", "app"}};
    };
    Counter(api("/users/:id", "GET", "200", "a:9110"), 0, 600);
    Counter(api("/users/:id", "GET", "200", "b:9110"), 100, 400);
    Counter(api("/users/:id", "GET", "500", "a:9110"), 0, 30);
    Counter(api("/login", "POST", "200", "a:9110"), 50, 110);
    Counter(api("/login", "POST", "503", "b:9110"), 0, 10);
    Histogram("mingus_api_request_duration_seconds",
              {{"endpoint", "/users/:id"}, {"method", "GET"}, {"instance", "a:9110"}},
              {{"0.1", 500}, {"0.5", 800}, {"1", 900}, {"2", 930}, {"+Inf", 930}}, 372);
    Histogram("mingus_api_request_duration_seconds",
              {{"endpoint", "/login"}, {"method", "POST"}, {"instance", "b:9110"}},
              {{"0.1", 0}, {"0.5", 10}, {"1", 40}, {"2", 70}, {"+Inf", 70}}, 63);
    Histogram("mingus_db_query_duration_seconds",
              {{"operation", "select"}, {"table", "users"}, {"instance", "a:9110"}},
              {{"0.1", 2000}, {"0.5", 2900}, {"1", 2990}, {"2", 3000}, {"+Inf", 3000}}, 240);
    Histogram("mingus_db_query_duration_seconds",
              {{"operation", "insert"}, {"table", "orders"}, {"instance", "b:9110"}},
              {{"0.1", 0}, {"0.5", 0}, {"1", 0}, {"2", 0}, {"+Inf", 5}}, 50);
    const auto fingerprint = [](std::string name, std::string fingerprint) {
      return std::vector<std::pair<std::string, std::string>>{
          {"__name__", name}, {"fingerprint", fingerprint}, {"instance", "a:9110"}};
    };
    const std::string select = "select * from users where id = ?";
    const std::string insert = "insert into orders values(?)";
    Counter(fingerprint("mingus_db_fingerprint_calls_total", select), 0, 3000);
    Counter(fingerprint("mingus_db_fingerprint_seconds_total", select), 0, 240);
    Counter(fingerprint("mingus_db_fingerprint_rows_total", select), 0, 3000);
    Counter(fingerprint("mingus_db_fingerprint_calls_total", insert), 0, 5);
    Counter(fingerprint("mingus_db_fingerprint_seconds_total", insert), 0, 50);
    Counter(fingerprint("mingus_db_fingerprint_rows_total", insert), 0, 5);

    // Hosts: a at 50% CPU, b at 87.5%; c has memory only.
    const auto cpu = [](std::string instance, std::string cpu, std::string mode) {
      return std::vector<std::pair<std::string, std::string>>{
          {"__name__", "node_cpu_seconds_total"},
          {"cpu", cpu},
          {"mode", mode},
          {"instance", instance},
          {"job", "node"}};
    };
    for (const std::string c : {"0", "1"}) {
      Moving(cpu("a:9110", c, "idle"), 1000, 0.5);
      Moving(cpu("a:9110", c, "user"), 500, 0.25);
      Moving(cpu("a:9110", c, "system"), 200, 0.25);
      Moving(cpu("b:9110", c, "idle"), 1000, 0.125);
      Moving(cpu("b:9110", c, "user"), 500, 0.75);
      Moving(cpu("b:9110", c, "system"), 200, 0.125);
    }
    const auto node = [](std::string name, std::string instance) {
      return std::vector<std::pair<std::string, std::string>>{
          {"__name__", name}, {"instance", instance}, {"job", "node"}};
    };
    for (const auto& [instance, available] :
         {std::pair{"a:9110", 256.0}, std::pair{"b:9110", 64.0}, std::pair{"c:9110", 32.0}}) {
      Gauge(node("node_memory_MemTotal_bytes", instance), 1024);
      Gauge(node("node_memory_MemAvailable_bytes", instance), available);
    }
    const auto fs = [](std::string name, std::string instance, std::string mountpoint,
                       std::string fstype) {
      return std::vector<std::pair<std::string, std::string>>{
          {"__name__", name},         {"instance", instance}, {"job", "node"},
          {"mountpoint", mountpoint}, {"fstype", fstype},     {"device", "/dev/x"}};
    };
    for (const auto& [instance, mountpoint, fstype, size, available] :
         {std::tuple{"a:9110", "/", "ext4", 1000.0, 500.0},
          std::tuple{"a:9110", "/data", "xfs", 1024.0, 128.0},
          std::tuple{"a:9110", "/run", "tmpfs", 100.0, 0.0},  // left out: memory-backed
          std::tuple{"b:9110", "/", "ext4", 1024.0, 768.0},
          std::tuple{"b:9110", "/boot", "ext4", 0.0, 0.0}}) {  // left out: no size
      Gauge(fs("node_filesystem_size_bytes", instance, mountpoint, fstype), size);
      Gauge(fs("node_filesystem_avail_bytes", instance, mountpoint, fstype), available);
    }
    Gauge({{"__name__", "up"}, {"instance", "a:9110"}, {"job", "node"}}, 1);
    Gauge({{"__name__", "up"}, {"instance", "b:9110"}, {"job", "node"}}, 0);

    // Alerts: one firing per severity (and one without), one pending, one resolved.
    rules_.Apply(rules::ParseRuleFile(R"(groups:
- name: dashboard
  rules:
  - alert: Crit
    expr: vector(1)
    labels: {severity: critical}
    annotations: {summary: "it is critical"}
  - alert: High
    expr: vector(2)
    labels: {severity: high}
  - alert: Medium
    expr: vector(3)
    labels: {severity: medium}
  - alert: Low
    expr: vector(4)
    labels: {severity: low}
  - alert: NoSeverity
    expr: vector(5)
  - alert: Slowly
    expr: vector(6)
    for: 10m
    labels: {severity: high}
  - alert: Flapped
    expr: flag > 0
    labels: {severity: critical}
)",
                                      "dashboard.yml"),
                 {});
    const auto flag = Ref({{"__name__", "flag"}});
    head_.Append(flag, Now() - 60'000, 1);
    rules_.EvaluateAllAt(Now() - 60'000);
    head_.Append(flag, Now() - 30'000, 0);
    rules_.EvaluateAllAt(Now() - 30'000);
  }

  json::value Get(const std::string& target, int expect_status = 200) {
    const http::Response response = router_.Route(http::Request::Make("GET", target));
    EXPECT_EQ(response.status, expect_status) << target << ": " << response.body;
    EXPECT_EQ(response.content_type, "application/json");
    return json::parse(response.body);
  }

  static double D(const json::value& value) { return value.to_number<double>(); }
  static int64_t I(const json::value& value) {
    EXPECT_TRUE(value.is_int64()) << json::serialize(value);
    return value.is_int64() ? value.as_int64() : -1;
  }
  static std::string S(const json::value& value) { return std::string(value.as_string()); }
  static std::vector<std::string> Keys(const json::value& value) {
    std::vector<std::string> keys;
    for (const auto& [key, unused] : value.as_object()) keys.emplace_back(key);
    return keys;
  }

  mingus::testing::FakeClock clock_;
  prometheus::Registry registry_;
  tsdb::Head head_;
  promql::Engine engine_{head_};
  rules::RuleManager rules_{head_, engine_, clock_, registry_};
  MonitoringApi api_;
  http::Router router_;
};

// The expected figures of FillTraffic, written as the arithmetic PromQL does.
constexpr double kRequests = 600 + 300 + 30 + 60 + 10;  // 1000
constexpr double kErrors = 30 + 10;
constexpr double kApiSum = 372 + 63;
constexpr double kDbQueries = 3000 + 5;
constexpr double kDbSum = 240 + 50;
const std::vector<std::pair<double, double>> kApiBuckets = {
    {0.1, 500}, {0.5, 810}, {1, 940}, {2, 1000}, {INFINITY, 1000}};
const std::vector<std::pair<double, double>> kDbBuckets = {
    {0.1, 2000}, {0.5, 2900}, {1, 2990}, {2, 3000}, {INFINITY, 3005}};
const double kCpuA = 100 * (1 - 1.0 / 2.0), kCpuB = 100 * (1 - 0.25 / 2.0);
const double kMemA = 100 * (1 - 256.0 / 1024), kMemB = 100 * (1 - 64.0 / 1024),
             kMemC = 100 * (1 - 32.0 / 1024);
const double kDiskA = 100 * (1 - 128.0 / 1024), kDiskB = 100 * (1 - 768.0 / 1024);

TEST(StatusOf, GoodBelowWarningWarningFromItCriticalFromCritical) {
  const Thresholds thresholds{10, 20};
  EXPECT_EQ(StatusOf(9.99, thresholds), "good");
  EXPECT_EQ(StatusOf(10, thresholds), "warning");
  EXPECT_EQ(StatusOf(19.99, thresholds), "warning");
  EXPECT_EQ(StatusOf(20, thresholds), "critical");
}

TEST(Quantile, MatchesPrometheusOnBucketEdges) {
  EXPECT_DOUBLE_EQ(Quantile(0.5, {{1, 10}, {INFINITY, 10}}), 0.5);
  EXPECT_DOUBLE_EQ(Quantile(0.99, {{1, 0}, {2, 0}, {INFINITY, 5}}), 2);
}

TEST_F(MonitoringApiTest, DashboardHasEveryFieldFromTheTraffic) {
  FillTraffic();
  const auto doc = Get("/api/monitoring/dashboard");
  EXPECT_THAT(Keys(doc), ::testing::ElementsAre("timestamp", "performance", "alerts",
                                                "system_health", "overall_status"));
  EXPECT_EQ(S(doc.at("timestamp")), "2027-01-15T08:00:00Z");

  const auto& api = doc.at("performance").at("api_performance");
  EXPECT_THAT(Keys(api), ::testing::ElementsAre("avg_response_time", "total_requests", "error_rate",
                                                "status"));
  EXPECT_DOUBLE_EQ(D(api.at("avg_response_time")), kApiSum / kRequests);
  EXPECT_EQ(I(api.at("total_requests")), 1000);
  EXPECT_DOUBLE_EQ(D(api.at("error_rate")), kErrors / kRequests);  // 0.04
  EXPECT_EQ(S(api.at("status")), "warning");                       // error rate >= 0.01

  const auto& db = doc.at("performance").at("database_performance");
  EXPECT_THAT(Keys(db), ::testing::ElementsAre("avg_execution_time", "total_queries",
                                               "slow_queries", "status"));
  EXPECT_DOUBLE_EQ(D(db.at("avg_execution_time")), kDbSum / kDbQueries);
  EXPECT_EQ(I(db.at("total_queries")), 3005);
  EXPECT_EQ(I(db.at("slow_queries")), 3005 - 2990);  // above the 1 s bucket
  EXPECT_EQ(S(db.at("status")), "warning");          // 15 slow >= 10

  const auto& alerts = doc.at("alerts");
  EXPECT_THAT(Keys(alerts), ::testing::ElementsAre("active_alerts", "critical_alerts",
                                                   "high_alerts", "medium_alerts", "status"));
  EXPECT_EQ(I(alerts.at("active_alerts")), 5);  // Crit, High, Medium, Low, NoSeverity
  EXPECT_EQ(I(alerts.at("critical_alerts")), 1);
  EXPECT_EQ(I(alerts.at("high_alerts")), 1);
  EXPECT_EQ(I(alerts.at("medium_alerts")), 1);
  EXPECT_EQ(S(alerts.at("status")), "critical");

  const auto& system = doc.at("system_health");
  EXPECT_THAT(Keys(system), ::testing::ElementsAre("cpu", "memory", "disk"));
  EXPECT_DOUBLE_EQ(D(system.at("cpu").at("usage_percent")), kCpuB);  // the busiest host
  EXPECT_EQ(S(system.at("cpu").at("status")), "warning");
  EXPECT_DOUBLE_EQ(D(system.at("memory").at("usage_percent")), kMemC);
  EXPECT_EQ(S(system.at("memory").at("status")), "critical");
  EXPECT_DOUBLE_EQ(D(system.at("disk").at("usage_percent")), kDiskA);
  EXPECT_EQ(S(system.at("disk").at("status")), "warning");
  EXPECT_EQ(S(doc.at("overall_status")), "critical");
}

TEST_F(MonitoringApiTest, MetricsHasEveryKeyFigure) {
  FillTraffic();
  const auto doc = Get("/api/monitoring/metrics");
  EXPECT_THAT(Keys(doc), ::testing::ElementsAre("timestamp", "window_seconds", "api", "database",
                                                "system", "alerts"));
  EXPECT_EQ(S(doc.at("timestamp")), "2027-01-15T08:00:00Z");
  EXPECT_EQ(D(doc.at("window_seconds")), 3600);
  const auto& api = doc.at("api");
  EXPECT_THAT(Keys(api),
              ::testing::ElementsAre("requests_per_second", "total_requests", "avg_response_time",
                                     "p95_response_time", "error_rate"));
  EXPECT_DOUBLE_EQ(D(api.at("requests_per_second")), kRequests / 3600);
  EXPECT_EQ(I(api.at("total_requests")), 1000);
  EXPECT_DOUBLE_EQ(D(api.at("avg_response_time")), kApiSum / kRequests);
  EXPECT_DOUBLE_EQ(D(api.at("p95_response_time")), Quantile(0.95, kApiBuckets));
  EXPECT_DOUBLE_EQ(D(api.at("error_rate")), kErrors / kRequests);
  const auto& db = doc.at("database");
  EXPECT_THAT(Keys(db),
              ::testing::ElementsAre("queries_per_second", "total_queries", "avg_execution_time",
                                     "p95_execution_time", "slow_queries"));
  EXPECT_DOUBLE_EQ(D(db.at("queries_per_second")), kDbQueries / 3600);
  EXPECT_EQ(I(db.at("total_queries")), 3005);
  EXPECT_DOUBLE_EQ(D(db.at("avg_execution_time")), kDbSum / kDbQueries);
  EXPECT_DOUBLE_EQ(D(db.at("p95_execution_time")), Quantile(0.95, kDbBuckets));
  EXPECT_EQ(I(db.at("slow_queries")), 15);
  const auto& system = doc.at("system");
  EXPECT_THAT(Keys(system), ::testing::ElementsAre("hosts", "hosts_up", "cpu_usage_percent",
                                                   "memory_usage_percent", "disk_usage_percent"));
  EXPECT_EQ(I(system.at("hosts")), 3);
  EXPECT_EQ(I(system.at("hosts_up")), 1);
  EXPECT_DOUBLE_EQ(D(system.at("cpu_usage_percent")), kCpuB);
  EXPECT_DOUBLE_EQ(D(system.at("memory_usage_percent")), kMemC);
  EXPECT_DOUBLE_EQ(D(system.at("disk_usage_percent")), kDiskA);
  EXPECT_EQ(I(doc.at("alerts").at("firing")), 5);
  EXPECT_EQ(I(doc.at("alerts").at("pending")), 1);
}

TEST_F(MonitoringApiTest, AlertsListsActiveBySeverityAndRecentlyResolved) {
  FillTraffic();
  const auto doc = Get("/api/monitoring/alerts");
  EXPECT_THAT(Keys(doc),
              ::testing::ElementsAre("timestamp", "active_alerts", "critical_alerts", "high_alerts",
                                     "medium_alerts", "status", "low_alerts", "other_alerts",
                                     "pending_alerts", "alerts", "recent_alerts"));
  EXPECT_EQ(I(doc.at("active_alerts")), 5);
  EXPECT_EQ(I(doc.at("critical_alerts")), 1);
  EXPECT_EQ(I(doc.at("high_alerts")), 1);
  EXPECT_EQ(I(doc.at("medium_alerts")), 1);
  EXPECT_EQ(I(doc.at("low_alerts")), 1);
  EXPECT_EQ(I(doc.at("other_alerts")), 1);
  EXPECT_EQ(I(doc.at("pending_alerts")), 1);
  EXPECT_EQ(S(doc.at("status")), "critical");

  std::vector<std::string> names, states;
  for (const auto& alert : doc.at("alerts").as_array()) {
    names.push_back(S(alert.at("alertname")));
    states.push_back(S(alert.at("state")));
  }
  EXPECT_THAT(names,
              ::testing::ElementsAre("Crit", "High", "Slowly", "Medium", "Low", "NoSeverity"));
  EXPECT_THAT(states,
              ::testing::ElementsAre("firing", "firing", "pending", "firing", "firing", "firing"));
  const auto& crit = doc.at("alerts").at(0);
  EXPECT_THAT(Keys(crit),
              ::testing::ElementsAre("alertname", "severity", "state", "summary", "value",
                                     "active_at", "fired_at", "resolved_at", "silenced",
                                     "silenced_by", "labels", "annotations"));
  EXPECT_EQ(S(crit.at("severity")), "critical");
  EXPECT_EQ(S(crit.at("summary")), "it is critical");
  EXPECT_EQ(D(crit.at("value")), 1);
  EXPECT_EQ(S(crit.at("active_at")), "2027-01-15T07:59:00Z");  // the first evaluation
  EXPECT_EQ(S(crit.at("fired_at")), "2027-01-15T07:59:00Z");
  EXPECT_TRUE(crit.at("resolved_at").is_null());
  EXPECT_FALSE(crit.at("silenced").as_bool());
  EXPECT_EQ(json::serialize(crit.at("labels")), R"({"alertname":"Crit","severity":"critical"})");
  EXPECT_EQ(json::serialize(crit.at("annotations")), R"({"summary":"it is critical"})");
  EXPECT_TRUE(doc.at("alerts").at(2).at("fired_at").is_null());  // Slowly is pending

  ASSERT_EQ(doc.at("recent_alerts").as_array().size(), 1u);
  const auto& flapped = doc.at("recent_alerts").at(0);
  EXPECT_EQ(S(flapped.at("alertname")), "Flapped");
  EXPECT_EQ(S(flapped.at("state")), "resolved");
  EXPECT_EQ(S(flapped.at("active_at")), "2027-01-15T07:59:00Z");
  EXPECT_EQ(S(flapped.at("resolved_at")), "2027-01-15T07:59:30Z");
}

TEST_F(MonitoringApiTest, AlertsAreMarkedSilencedByMatchingActiveSilences) {
  FillTraffic();
  notify::Silence silence;
  silence.id = "s1";
  silence.matchers.push_back(
      *notify::Matcher::Make(notify::Matcher::Type::kEqual, "alertname", "High"));
  silence.starts_at_ms = Now() - 1000;
  silence.ends_at_ms = Now() + 60'000;
  notify::Silence expired = silence;
  expired.id = "s0";
  expired.matchers[0].value = "Crit";
  expired.ends_at_ms = Now() - 1;
  api_.SetSilenceSource([&] { return std::vector<notify::Silence>{silence, expired}; });
  const auto doc = Get("/api/monitoring/alerts");
  EXPECT_FALSE(doc.at("alerts").at(0).at("silenced").as_bool());  // Crit: its silence expired
  EXPECT_TRUE(doc.at("alerts").at(1).at("silenced").as_bool());   // High
  EXPECT_EQ(json::serialize(doc.at("alerts").at(1).at("silenced_by")), R"(["s1"])");
}

TEST_F(MonitoringApiTest, PerformanceSummarisesOverallPerEndpointAndPerQuery) {
  FillTraffic();
  const auto doc = Get("/api/monitoring/performance?hours=1");
  EXPECT_THAT(Keys(doc), ::testing::ElementsAre("timestamp", "hours", "window_seconds", "api",
                                                "database", "timeseries"));
  EXPECT_EQ(D(doc.at("hours")), 1);
  EXPECT_EQ(D(doc.at("window_seconds")), 3600);

  const auto& api = doc.at("api");
  EXPECT_THAT(Keys(api),
              ::testing::ElementsAre("total_requests", "requests_per_second", "avg_response_time",
                                     "p50_response_time", "p95_response_time", "p99_response_time",
                                     "error_rate", "status", "endpoints"));
  EXPECT_EQ(I(api.at("total_requests")), 1000);
  EXPECT_DOUBLE_EQ(D(api.at("requests_per_second")), kRequests / 3600);
  EXPECT_DOUBLE_EQ(D(api.at("avg_response_time")), kApiSum / kRequests);
  EXPECT_DOUBLE_EQ(D(api.at("p50_response_time")), Quantile(0.5, kApiBuckets));
  EXPECT_DOUBLE_EQ(D(api.at("p95_response_time")), Quantile(0.95, kApiBuckets));
  EXPECT_DOUBLE_EQ(D(api.at("p99_response_time")), Quantile(0.99, kApiBuckets));
  EXPECT_DOUBLE_EQ(D(api.at("error_rate")), kErrors / kRequests);
  EXPECT_EQ(S(api.at("status")), "warning");

  const auto& endpoints = api.at("endpoints").as_array();
  ASSERT_EQ(endpoints.size(), 2u);
  // Slowest first: /login's p95 is above /users/:id's.
  const auto& login = endpoints[0];
  EXPECT_THAT(Keys(login),
              ::testing::ElementsAre("endpoint", "method", "requests", "avg_response_time",
                                     "p50_response_time", "p95_response_time", "p99_response_time",
                                     "error_rate", "status"));
  const std::vector<std::pair<double, double>> login_buckets = {
      {0.1, 0}, {0.5, 10}, {1, 40}, {2, 70}, {INFINITY, 70}};
  EXPECT_EQ(S(login.at("endpoint")), "/login");
  EXPECT_EQ(S(login.at("method")), "POST");
  EXPECT_EQ(I(login.at("requests")), 70);
  EXPECT_DOUBLE_EQ(D(login.at("avg_response_time")), 63.0 / 70);
  EXPECT_DOUBLE_EQ(D(login.at("p50_response_time")), Quantile(0.5, login_buckets));
  EXPECT_DOUBLE_EQ(D(login.at("p95_response_time")), Quantile(0.95, login_buckets));
  EXPECT_DOUBLE_EQ(D(login.at("p99_response_time")), Quantile(0.99, login_buckets));
  EXPECT_DOUBLE_EQ(D(login.at("error_rate")), 10.0 / 70);
  EXPECT_EQ(S(login.at("status")), "critical");  // 14% errors
  const auto& users = endpoints[1];
  const std::vector<std::pair<double, double>> users_buckets = {
      {0.1, 500}, {0.5, 800}, {1, 900}, {2, 930}, {INFINITY, 930}};
  EXPECT_EQ(S(users.at("endpoint")), "/users/:id");
  EXPECT_EQ(S(users.at("method")), "GET");
  EXPECT_EQ(I(users.at("requests")), 930);
  EXPECT_DOUBLE_EQ(D(users.at("avg_response_time")), 372.0 / 930);
  EXPECT_DOUBLE_EQ(D(users.at("p50_response_time")), Quantile(0.5, users_buckets));
  EXPECT_DOUBLE_EQ(D(users.at("p95_response_time")), Quantile(0.95, users_buckets));
  EXPECT_DOUBLE_EQ(D(users.at("p99_response_time")), Quantile(0.99, users_buckets));
  EXPECT_DOUBLE_EQ(D(users.at("error_rate")), 30.0 / 930);
  EXPECT_EQ(S(users.at("status")), "warning");

  const auto& db = doc.at("database");
  EXPECT_THAT(Keys(db),
              ::testing::ElementsAre("total_queries", "queries_per_second", "avg_execution_time",
                                     "p50_execution_time", "p95_execution_time",
                                     "p99_execution_time", "slow_queries", "slow_query_threshold",
                                     "status", "operations", "slowest_queries"));
  EXPECT_EQ(I(db.at("total_queries")), 3005);
  EXPECT_DOUBLE_EQ(D(db.at("queries_per_second")), kDbQueries / 3600);
  EXPECT_DOUBLE_EQ(D(db.at("avg_execution_time")), kDbSum / kDbQueries);
  EXPECT_DOUBLE_EQ(D(db.at("p50_execution_time")), Quantile(0.5, kDbBuckets));
  EXPECT_DOUBLE_EQ(D(db.at("p95_execution_time")), Quantile(0.95, kDbBuckets));
  EXPECT_DOUBLE_EQ(D(db.at("p99_execution_time")), Quantile(0.99, kDbBuckets));
  EXPECT_EQ(I(db.at("slow_queries")), 15);
  EXPECT_EQ(D(db.at("slow_query_threshold")), 1);
  EXPECT_EQ(S(db.at("status")), "warning");
  const auto& operations = db.at("operations").as_array();
  ASSERT_EQ(operations.size(), 2u);
  EXPECT_EQ(json::serialize(operations[0]),
            R"({"operation":"insert","table":"orders","queries":5,"avg_execution_time":10,)"
            R"("p50_execution_time":2,"p95_execution_time":2,"p99_execution_time":2})");
  const std::vector<std::pair<double, double>> select_buckets = {
      {0.1, 2000}, {0.5, 2900}, {1, 2990}, {2, 3000}, {INFINITY, 3000}};
  const auto& select = operations[1];
  EXPECT_EQ(S(select.at("operation")), "select");
  EXPECT_EQ(S(select.at("table")), "users");
  EXPECT_EQ(I(select.at("queries")), 3000);
  EXPECT_DOUBLE_EQ(D(select.at("avg_execution_time")), 240.0 / 3000);
  EXPECT_DOUBLE_EQ(D(select.at("p50_execution_time")), Quantile(0.5, select_buckets));
  EXPECT_DOUBLE_EQ(D(select.at("p95_execution_time")), Quantile(0.95, select_buckets));
  EXPECT_DOUBLE_EQ(D(select.at("p99_execution_time")), Quantile(0.99, select_buckets));
  const auto& slowest = db.at("slowest_queries").as_array();
  ASSERT_EQ(slowest.size(), 2u);
  EXPECT_EQ(S(slowest[0].at("fingerprint")), "insert into orders values(?)");
  EXPECT_EQ(I(slowest[0].at("calls")), 5);
  EXPECT_DOUBLE_EQ(D(slowest[0].at("total_time")), 50);
  EXPECT_DOUBLE_EQ(D(slowest[0].at("avg_execution_time")), 10);
  EXPECT_EQ(I(slowest[0].at("rows")), 5);
  EXPECT_TRUE(slowest[0].at("slow").as_bool());
  EXPECT_EQ(S(slowest[1].at("fingerprint")), "select * from users where id = ?");
  EXPECT_EQ(I(slowest[1].at("calls")), 3000);
  EXPECT_DOUBLE_EQ(D(slowest[1].at("avg_execution_time")), 240.0 / 3000);
  EXPECT_FALSE(slowest[1].at("slow").as_bool());

  // Chart columns: 61 points a minute apart, rates over 5 m (the rate window).
  const auto& series = doc.at("timeseries");
  EXPECT_THAT(Keys(series),
              ::testing::ElementsAre(
                  "step_seconds", "range", "timestamps", "api_requests_per_second",
                  "api_avg_response_time", "api_p95_response_time", "api_error_rate",
                  "db_queries_per_second", "db_avg_execution_time", "db_p95_execution_time"));
  EXPECT_EQ(D(series.at("step_seconds")), 60);
  EXPECT_EQ(S(series.at("range")), "5m");
  const auto& timestamps = series.at("timestamps").as_array();
  ASSERT_EQ(timestamps.size(), 61u);
  EXPECT_EQ(D(timestamps[0]), static_cast<double>(Now() - kHour) / 1000);
  EXPECT_EQ(D(timestamps[60]), static_cast<double>(Now()) / 1000);
  for (const char* column : {"api_requests_per_second", "api_avg_response_time",
                             "api_p95_response_time", "api_error_rate", "db_queries_per_second",
                             "db_avg_execution_time", "db_p95_execution_time"}) {
    const auto& values = series.at(column).as_array();
    ASSERT_EQ(values.size(), 61u) << column;
    EXPECT_TRUE(values[0].is_null()) << column;  // one sample in the range: no rate yet
  }
  // The counters rise evenly, so the last 5 minutes' rates are the hour's.
  EXPECT_NEAR(D(series.at("api_requests_per_second").at(60)), kRequests / 3600, 1e-12);
  EXPECT_NEAR(D(series.at("api_avg_response_time").at(60)), kApiSum / kRequests, 1e-12);
  EXPECT_NEAR(D(series.at("api_p95_response_time").at(60)), Quantile(0.95, kApiBuckets), 1e-12);
  EXPECT_NEAR(D(series.at("api_error_rate").at(60)), kErrors / kRequests, 1e-12);
  EXPECT_NEAR(D(series.at("db_queries_per_second").at(60)), kDbQueries / 3600, 1e-12);
  EXPECT_NEAR(D(series.at("db_avg_execution_time").at(60)), kDbSum / kDbQueries, 1e-12);
  EXPECT_NEAR(D(series.at("db_p95_execution_time").at(60)), Quantile(0.95, kDbBuckets), 1e-12);
}

TEST_F(MonitoringApiTest, PerformanceDefaultsToADayAndAWindowOfHalfAnHourSeesHalfTheTraffic) {
  FillTraffic();
  const auto day = Get("/api/monitoring/performance");
  EXPECT_EQ(D(day.at("hours")), 24);
  EXPECT_EQ(D(day.at("window_seconds")), 86400);
  EXPECT_EQ(D(day.at("timeseries").at("step_seconds")), 1440);
  EXPECT_EQ(S(day.at("timeseries").at("range")), "24m");
  // Over a day the hour of data extrapolates by half a scrape interval at its start only
  // where the counter does not reach zero sooner (those starting at 0 do not extrapolate).
  const auto half = Get("/api/monitoring/performance?hours=0.5");
  EXPECT_EQ(D(half.at("window_seconds")), 1800);
  EXPECT_EQ(I(half.at("api").at("total_requests")), 500);
  EXPECT_EQ(I(half.at("database").at("total_queries")), 1503);  // 1502.5 rounds up
}

TEST_F(MonitoringApiTest, SlowQueryThresholdPicksTheBucketAtOrAboveIt) {
  FillTraffic();
  DashboardConfig config = Config();
  config.slow_query_threshold = std::chrono::milliseconds(300);
  api_.Apply(config);
  const auto doc = Get("/api/monitoring/performance?hours=1");
  EXPECT_EQ(I(doc.at("database").at("slow_queries")), 3005 - 2900);  // the 0.5 s bucket
  EXPECT_EQ(D(doc.at("database").at("slow_query_threshold")), 0.3);
  config.slow_query_threshold = std::chrono::milliseconds(20'000);  // above every finite bound
  api_.Apply(config);
  EXPECT_EQ(I(Get("/api/monitoring/performance?hours=1").at("database").at("slow_queries")), 0);
}

TEST_F(MonitoringApiTest, SystemHealthHasEveryHostAndTheOverallMax) {
  FillTraffic();
  const auto doc = Get("/api/monitoring/system-health");
  EXPECT_THAT(Keys(doc), ::testing::ElementsAre("timestamp", "overall", "hosts"));
  const auto& overall = doc.at("overall");
  EXPECT_THAT(Keys(overall),
              ::testing::ElementsAre("status", "hosts", "hosts_up", "cpu", "memory", "disk"));
  EXPECT_EQ(S(overall.at("status")), "critical");
  EXPECT_EQ(I(overall.at("hosts")), 3);
  EXPECT_EQ(I(overall.at("hosts_up")), 1);
  EXPECT_DOUBLE_EQ(D(overall.at("cpu").at("usage_percent")), kCpuB);
  EXPECT_DOUBLE_EQ(D(overall.at("memory").at("usage_percent")), kMemC);
  EXPECT_DOUBLE_EQ(D(overall.at("disk").at("usage_percent")), kDiskA);

  const auto& hosts = doc.at("hosts").as_array();
  ASSERT_EQ(hosts.size(), 3u);
  const auto check = [&](const json::value& host, std::string instance, json::value up,
                         std::string status, std::optional<double> cpu, std::string cpu_status,
                         double memory, std::string memory_status, std::optional<double> disk,
                         std::string disk_status) {
    SCOPED_TRACE(instance);
    EXPECT_THAT(Keys(host),
                ::testing::ElementsAre("instance", "up", "status", "cpu", "memory", "disk"));
    EXPECT_EQ(S(host.at("instance")), instance);
    EXPECT_EQ(host.at("up"), up);
    EXPECT_EQ(S(host.at("status")), status);
    EXPECT_DOUBLE_EQ(D(host.at("cpu").at("usage_percent")), cpu.value_or(0));
    EXPECT_EQ(S(host.at("cpu").at("status")), cpu_status);
    EXPECT_DOUBLE_EQ(D(host.at("memory").at("usage_percent")), memory);
    EXPECT_EQ(S(host.at("memory").at("status")), memory_status);
    EXPECT_DOUBLE_EQ(D(host.at("disk").at("usage_percent")), disk.value_or(0));
    EXPECT_EQ(S(host.at("disk").at("status")), disk_status);
  };
  check(hosts[0], "a:9110", true, "warning", kCpuA, "good", kMemA, "good", kDiskA, "warning");
  check(hosts[1], "b:9110", false, "warning", kCpuB, "warning", kMemB, "warning", kDiskB, "good");
  check(hosts[2], "c:9110", nullptr, "critical", std::nullopt, "unknown", kMemC, "critical",
        std::nullopt, "unknown");
}

TEST_F(MonitoringApiTest, EmptyStoreGivesWellFormedDocumentsWithZerosAndUnknown) {
  const auto dashboard = Get("/api/monitoring/dashboard");
  EXPECT_EQ(json::serialize(dashboard),
            R"({"timestamp":"2027-01-15T08:00:00Z","performance":{"api_performance":)"
            R"({"avg_response_time":0,"total_requests":0,"error_rate":0,"status":"unknown"},)"
            R"("database_performance":{"avg_execution_time":0,"total_queries":0,)"
            R"("slow_queries":0,"status":"unknown"}},"alerts":{"active_alerts":0,)"
            R"("critical_alerts":0,"high_alerts":0,"medium_alerts":0,"status":"unknown"},)"
            R"("system_health":{"cpu":{"usage_percent":0,"status":"unknown"},)"
            R"("memory":{"usage_percent":0,"status":"unknown"},)"
            R"("disk":{"usage_percent":0,"status":"unknown"}},"overall_status":"unknown"})");
  const auto metrics = Get("/api/monitoring/metrics");
  EXPECT_EQ(I(metrics.at("api").at("total_requests")), 0);
  EXPECT_EQ(D(metrics.at("api").at("requests_per_second")), 0);
  EXPECT_EQ(I(metrics.at("system").at("hosts")), 0);
  EXPECT_EQ(I(metrics.at("alerts").at("firing")), 0);
  const auto alerts = Get("/api/monitoring/alerts");
  EXPECT_EQ(S(alerts.at("status")), "unknown");
  EXPECT_TRUE(alerts.at("alerts").as_array().empty());
  EXPECT_TRUE(alerts.at("recent_alerts").as_array().empty());
  const auto performance = Get("/api/monitoring/performance?hours=2");
  EXPECT_EQ(I(performance.at("api").at("total_requests")), 0);
  EXPECT_EQ(S(performance.at("api").at("status")), "unknown");
  EXPECT_TRUE(performance.at("api").at("endpoints").as_array().empty());
  EXPECT_EQ(I(performance.at("database").at("slow_queries")), 0);
  EXPECT_TRUE(performance.at("database").at("slowest_queries").as_array().empty());
  EXPECT_TRUE(performance.at("timeseries").at("api_requests_per_second").at(60).is_null());
  const auto health = Get("/api/monitoring/system-health");
  EXPECT_EQ(S(health.at("overall").at("status")), "unknown");
  EXPECT_EQ(I(health.at("overall").at("hosts")), 0);
  EXPECT_TRUE(health.at("hosts").as_array().empty());
}

TEST_F(MonitoringApiTest, RulesThatRanWithoutAlertsAreGood) {
  rules_.Apply(rules::ParseRuleFile("groups:\n- name: g\n  rules:\n  - alert: Never\n"
                                    "    expr: vector(1) > 2\n",
                                    "g.yml"),
               {});
  rules_.EvaluateAllAt(Now());
  EXPECT_EQ(S(Get("/api/monitoring/dashboard").at("alerts").at("status")), "good");
  EXPECT_EQ(S(Get("/api/monitoring/dashboard").at("overall_status")), "good");
}

TEST_F(MonitoringApiTest, BadParametersGet400WithAReason) {
  for (const char* hours : {"abc", "0", "-1", "169", "1e9", "nan", "inf", "0.0001", ""}) {
    const auto body = Get(std::string("/api/monitoring/performance?hours=") + hours, 400);
    EXPECT_EQ(S(body.at("status")), "error");
    EXPECT_THAT(S(body.at("error")), HasSubstr("invalid hours")) << hours;
  }
  EXPECT_EQ(D(Get("/api/monitoring/performance?hours=168").at("hours")), 168);
  const auto body = Get("/api/monitoring/dashboard?time=yesterday", 400);
  EXPECT_THAT(S(body.at("error")), HasSubstr("invalid time"));
}

TEST_F(MonitoringApiTest, TimeParameterEvaluatesAtThatInstant) {
  FillTraffic();
  // Half an hour ago, the last hour held half the traffic (extrapolated to the window's start
  // by no more than the counters allow).
  const auto doc =
      Get("/api/monitoring/dashboard?time=" + std::to_string((Now() - kHour / 2) / 1000));
  EXPECT_EQ(S(doc.at("timestamp")), "2027-01-15T07:30:00Z");
  EXPECT_EQ(I(doc.at("performance").at("database_performance").at("total_queries")), 1503);
}

TEST_F(MonitoringApiTest, ResponsesAreCachedPerQueryForTheTtl) {
  DashboardConfig config = Config();
  config.cache_ttl = std::chrono::seconds(5);
  api_.Apply(config);
  const auto before = Get("/api/monitoring/dashboard");
  EXPECT_EQ(I(before.at("performance").at("api_performance").at("total_requests")), 0);
  FillTraffic();
  clock_.Advance(std::chrono::seconds(4));
  EXPECT_EQ(Get("/api/monitoring/dashboard"), before);  // still cached
  // Another query string is another entry.
  EXPECT_GT(I(Get("/api/monitoring/dashboard?x=1")
                  .at("performance")
                  .at("api_performance")
                  .at("total_requests")),
            0);
  clock_.Advance(std::chrono::seconds(1));
  const auto after = Get("/api/monitoring/dashboard");
  EXPECT_NE(after, before);
  EXPECT_GT(I(after.at("performance").at("api_performance").at("total_requests")), 0);
  EXPECT_EQ(api_.DashboardJson(),
            router_.Route(http::Request::Make("GET", "/api/monitoring/dashboard")).body);
}

TEST_F(MonitoringApiTest, NumbersAreWrittenInShortestForm) {
  FillTraffic();
  const std::string body =
      router_.Route(http::Request::Make("GET", "/api/monitoring/dashboard")).body;
  EXPECT_THAT(body, HasSubstr(R"("total_requests":1000,)"));
  EXPECT_THAT(body, HasSubstr(R"("error_rate":0.04,)"));
  EXPECT_THAT(body, HasSubstr(R"({"usage_percent":87.5,"status":"warning"})"));
  EXPECT_EQ(body.find('E'), std::string::npos) << body;
  EXPECT_EQ(body.find('\n'), std::string::npos);
}

class FakeWriter final : public http::StreamWriter {
 public:
  bool Write(std::string data) override {
    if (!open_) return false;
    written.push_back(std::move(data));
    return true;
  }
  bool open() const override { return open_; }
  void Close() { open_ = false; }
  std::vector<std::string> written;

 private:
  bool open_ = true;
};

TEST_F(MonitoringApiTest, StreamSendsTheDashboardOnConnectAndAtEveryPublish) {
  DashboardStream stream(api_, {});
  stream.Register(router_);
  const http::Response response =
      router_.Route(http::Request::Make("GET", "/api/monitoring/stream"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/event-stream");
  EXPECT_THAT(response.headers, ::testing::Contains(std::pair<std::string, std::string>(
                                    "Cache-Control", "no-cache")));
  const std::string empty = api_.DashboardJson();
  EXPECT_EQ(response.body, "event: dashboard\ndata: " + empty + "\n\n");
  ASSERT_TRUE(response.on_stream);
  auto first = std::make_shared<FakeWriter>(), second = std::make_shared<FakeWriter>();
  response.on_stream(first);
  response.on_stream(second);
  EXPECT_EQ(stream.subscribers(), 2u);

  FillTraffic();
  stream.Publish();
  const std::string filled = api_.DashboardJson();
  EXPECT_NE(filled, empty);
  EXPECT_THAT(first->written, ::testing::ElementsAre(DashboardStream::Event(filled)));
  EXPECT_EQ(first->written, second->written);
  EXPECT_EQ(filled.find('\n'), std::string::npos);  // one data line

  second->Close();  // the client went away
  stream.Heartbeat();
  EXPECT_THAT(first->written.back(), ": keep-alive\n\n");
  EXPECT_EQ(stream.subscribers(), 1u);
  EXPECT_EQ(second->written.size(), 1u);
}

TEST_F(MonitoringApiTest, StreamPublishesEveryIntervalOnItsThread) {
  DashboardStream stream(api_, {.interval = std::chrono::milliseconds(20)});
  auto writer = std::make_shared<FakeWriter>();
  stream.Open(http::Request::Make("GET", "/api/monitoring/stream")).on_stream(writer);
  stream.Start();
  // The writer is written from the stream's thread: read only after Stop().
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stream.Stop();
  EXPECT_GE(writer->written.size(), 3u);
  for (const auto& event : writer->written)
    EXPECT_THAT(event, ::testing::StartsWith("event: dashboard\ndata: {"));
  EXPECT_EQ(stream.subscribers(), 0u);  // Stop lets go of the clients (the server ends them)
}

TEST(DashboardConfig, ReadsTheSectionAndRefusesUnknownKeysAndBadThresholds) {
  const auto parse = [](const std::string& yaml) {
    return ParseCollectorConfig(yaml, "collector.yaml", {});
  };
  const auto defaults = parse("").dashboard;
  EXPECT_EQ(defaults.window, std::chrono::hours(1));
  EXPECT_EQ(defaults.cache_ttl, std::chrono::seconds(5));
  EXPECT_EQ(defaults.cpu_percent.warning, 70);
  const auto config = parse(R"(
dashboard:
  window: 30m
  rate_window: 2m
  cache_ttl: 0s
  slow_query_threshold: 250ms
  max_hours: 48
  thresholds:
    api_error_rate: {warning: 0.02, critical: 0.1}
    disk_percent: {critical: 99}
)")
                          .dashboard;
  EXPECT_EQ(config.window, std::chrono::minutes(30));
  EXPECT_EQ(config.rate_window, std::chrono::minutes(2));
  EXPECT_EQ(config.cache_ttl, std::chrono::seconds(0));
  EXPECT_EQ(config.slow_query_threshold, std::chrono::milliseconds(250));
  EXPECT_EQ(config.max_hours, 48);
  EXPECT_EQ(config.api_error_rate.warning, 0.02);
  EXPECT_EQ(config.api_error_rate.critical, 0.1);
  EXPECT_EQ(config.disk_percent.warning, 80);
  EXPECT_EQ(config.disk_percent.critical, 99);
  const auto refused = [&](const std::string& yaml, const std::string& reason) {
    try {
      parse(yaml);
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const config::ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr(reason)) << yaml;
    }
  };
  refused("dashboard: {colour: red}", "dashboard.colour: unknown key");
  refused("dashboard: {thresholds: {cpu: {warning: 1}}}", "dashboard.thresholds.cpu: unknown key");
  refused("dashboard: {thresholds: {cpu_percent: {warn: 1}}}", "unknown key");
  refused("dashboard: {thresholds: {cpu_percent: {warning: high}}}", "'high' is not a number");
  refused("dashboard: {thresholds: {cpu_percent: {warning: 101}}}", "out of range");
  refused("dashboard: {thresholds: {cpu_percent: {warning: 95}}}", "is below warning 95");
  refused("dashboard: {window: 0s}", "dashboard.window: must be above zero");
  refused("dashboard: {cache_ttl: soon}", "dashboard.cache_ttl");
  refused("dashboard: {max_hours: 0}", "out of range");
}

}  // namespace
}  // namespace mingus::collector::api
