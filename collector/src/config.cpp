#include "mingus/collector/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <ostream>
#include <set>
#include <tuple>

#include "mingus/common/address.h"
#include "mingus/common/duration.h"
#include "mingus/common/file.h"
#include "mingus/common/text.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/net/connection.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector {

namespace {

using config::ConfigError;
using config::MapReader;

std::string Where(const MapReader& reader, const YAML::Node& node) {
  return fmt::format("{}:{}", reader.file(), node.Mark().line + 1);
}

// host:port, as Prometheus takes targets: no scheme, no path.
Status CheckTarget(std::string_view target) {
  if (target.find('/') != std::string_view::npos) {
    return Status::Error(
        fmt::format("target '{}' must be host:port, without a scheme or path", target));
  }
  const auto colon = target.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::Error(fmt::format("target '{}' is not host:port", target));
  }
  const auto port = text::ParseUint64(target.substr(colon + 1));
  if (!port || *port == 0 || *port > 65535) {
    return Status::Error(fmt::format("target '{}': bad port", target));
  }
  return OkStatus();
}

// A number (for thresholds), refused unless finite and within [min, max].
void ReadNumber(MapReader& reader, std::string_view key, double& out, double min, double max) {
  const YAML::Node node = reader.Node(key);
  if (!node || node.IsNull()) return;
  const auto value = node.IsScalar() ? text::ParseDouble(node.Scalar()) : std::nullopt;
  if (!value || !std::isfinite(*value)) {
    reader.Fail(node, key, fmt::format("'{}' is not a number", config::ScalarText(node)));
  }
  if (*value < min || *value > max) {
    reader.Fail(node, key, fmt::format("{} is out of range [{}, {}]", *value, min, max));
  }
  out = *value;
}

void ReadDashboard(MapReader& top, api::DashboardConfig& dashboard) {
  MapReader reader = top.Map("dashboard");
  reader.Read("window", dashboard.window);
  reader.Read("rate_window", dashboard.rate_window);
  reader.Read("cache_ttl", dashboard.cache_ttl);
  reader.Read("slow_query_threshold", dashboard.slow_query_threshold);
  reader.Read("max_hours", dashboard.max_hours, 1, 24 * 366);
  for (const auto& [key, value] :
       {std::pair{"window", dashboard.window}, std::pair{"rate_window", dashboard.rate_window},
        std::pair{"slow_query_threshold", dashboard.slow_query_threshold}}) {
    reader.Check(key, value.count() > 0 ? OkStatus() : Status::Error("must be above zero"));
  }
  reader.Check("cache_ttl", dashboard.cache_ttl.count() >= 0
                                ? OkStatus()
                                : Status::Error("must not be negative"));
  MapReader thresholds = reader.Map("thresholds");
  for (const auto& [key, field, max] :
       {std::tuple{"api_response_time", &dashboard.api_response_time, 1e9},
        std::tuple{"api_error_rate", &dashboard.api_error_rate, 1.0},
        std::tuple{"db_execution_time", &dashboard.db_execution_time, 1e9},
        std::tuple{"slow_queries", &dashboard.slow_queries, 1e18},
        std::tuple{"cpu_percent", &dashboard.cpu_percent, 100.0},
        std::tuple{"memory_percent", &dashboard.memory_percent, 100.0},
        std::tuple{"disk_percent", &dashboard.disk_percent, 100.0}}) {
    MapReader figure = thresholds.Map(key);
    ReadNumber(figure, "warning", field->warning, 0, max);
    ReadNumber(figure, "critical", field->critical, 0, max);
    figure.Check("critical", field->warning <= field->critical
                                 ? OkStatus()
                                 : Status::Error(fmt::format("{} is below warning {}",
                                                             field->critical, field->warning)));
    figure.Finish();
  }
  thresholds.Finish();
  reader.Finish();
}

// events: which scrape jobs' targets are agents to pull events from, and the store's limits.
// Read after scrape_configs, so that a job named here that is not a scrape job is refused at
// its line.
void ReadEvents(MapReader& top, const std::vector<ScrapeConfig>& scrape_configs,
                events::EventsConfig& events) {
  MapReader reader = top.Map("events");
  const YAML::Node jobs_node = reader.Node("jobs");
  if (jobs_node && !jobs_node.IsNull()) {
    events.jobs = reader.Strings("jobs");
    std::set<std::string> seen;
    for (const auto& job : events.jobs) {
      if (!seen.insert(job).second)
        reader.Fail(jobs_node, "jobs", fmt::format("job '{}' is listed twice", job));
      const bool known = std::any_of(scrape_configs.begin(), scrape_configs.end(),
                                     [&](const ScrapeConfig& s) { return s.job_name == job; });
      if (!known) {
        std::string names;
        for (const auto& scrape : scrape_configs)
          names += (names.empty() ? "" : ", ") + scrape.job_name;
        reader.Fail(jobs_node, "jobs",
                    fmt::format("'{}' is not a job_name of scrape_configs (they are: {})", job,
                                names.empty() ? "none" : names));
      }
    }
  } else {
    // The default: the shipped agent job, when it is configured.
    events.jobs.clear();
    for (const auto& scrape : scrape_configs) {
      if (scrape.job_name == "mingus-agent") events.jobs.push_back(scrape.job_name);
    }
  }
  const auto positive = [&](std::string_view key, std::chrono::milliseconds value) {
    reader.Check(key, value.count() > 0 ? OkStatus() : Status::Error("must be above zero"));
  };
  reader.Read("pull_interval", events.pull_interval);
  positive("pull_interval", events.pull_interval);
  const auto given = [&](std::string_view key) {
    const YAML::Node node = reader.Node(key);
    return node && !node.IsNull();
  };
  const bool timeout_given = given("pull_timeout");
  reader.Read("pull_timeout", events.pull_timeout);
  positive("pull_timeout", events.pull_timeout);
  if (events.pull_timeout > events.pull_interval) {
    // As scrape_timeout: a default above the interval is lowered, a value written is refused.
    if (timeout_given) {
      reader.Check("pull_timeout",
                   Status::Error(fmt::format("{} is greater than pull_interval {}",
                                             FormatDuration(events.pull_timeout),
                                             FormatDuration(events.pull_interval))));
    }
    events.pull_timeout = events.pull_interval;
  }
  reader.Read("batch_limit", events.batch_limit, 1, 10'000);
  reader.Read("concurrency", events.concurrency, 1, 256);
  // A default below the longer interval or retention it must cover, written in the file,
  // follows it up; a value written below it is refused.
  const auto at_least = [&](const char* key, std::chrono::milliseconds& value,
                            const char* floor_key, std::chrono::milliseconds floor) {
    reader.Read(key, value);
    if (!given(key)) value = std::max(value, floor);
    reader.Check(key, value >= floor ? OkStatus()
                                     : Status::Error(fmt::format("{} is less than {} {}",
                                                                 FormatDuration(value), floor_key,
                                                                 FormatDuration(floor))));
  };
  at_least("max_backoff", events.max_backoff, "pull_interval", events.pull_interval);
  reader.Read("retention", events.retention);
  positive("retention", events.retention);
  at_least("rollup_retention", events.rollup_retention, "retention", events.retention);
  reader.Read("max_future_skew", events.max_future_skew);
  reader.Check("max_future_skew", events.max_future_skew.count() >= 0
                                      ? OkStatus()
                                      : Status::Error("must not be negative"));
  reader.Read("distinct_cache", events.distinct_cache, 0, 100'000'000);
  reader.Finish();
}

// scheme, and prometheus/common's http_config keys as Prometheus' scrape_config has them
// (tls_config, basic_auth, authorization, bearer_token, bearer_token_file), read as notify.yaml's
// http_config is: how the scrapes and the event pulls of the job's targets are made.
void ReadTargetClient(MapReader& reader, scrape::TargetClient& client) {
  reader.Read("scheme", client.scheme);
  reader.Check("scheme",
               client.scheme == "http" || client.scheme == "https"
                   ? OkStatus()
                   : Status::Error(fmt::format("'{}' is neither http nor https", client.scheme)));
  notify::LoadContext context;
  context.read_file = [](const std::string& path) { return ReadFile(path, 1 << 20); };
  const std::string folder = std::filesystem::path(reader.file()).parent_path().string();
  context.base_directory = folder.empty() ? "." : folder;
  notify::HttpConfig http;
  notify::ReadHttpConfig(reader, context, http);
  client.tls = http.tls_config.Options();
  client.authorization = http.AuthorizationHeader();
}

// db_optimizer: the database optimizer's thresholds and the app's SQLite database.
void ReadDbOptimizer(MapReader& top, db::DbOptimizerConfig& optimizer) {
  MapReader reader = top.Map("db_optimizer");
  reader.Read("slow_threshold", optimizer.slow_threshold);
  reader.Check("slow_threshold", optimizer.slow_threshold.count() >= 0
                                     ? OkStatus()
                                     : Status::Error("must not be negative"));
  reader.Read("n_plus_one_threshold", optimizer.n_plus_one_threshold, 2, 1'000'000);
  reader.Read("window", optimizer.window);
  reader.Check("window", optimizer.window.count() > 0 ? OkStatus()
                                                      : Status::Error("must be above zero"));
  reader.Read("max_events", optimizer.max_events, 1, 100'000'000);
  reader.Read("mask_literals", optimizer.mask_literals);
  reader.Read("sqlite_path", optimizer.sqlite_path);
  reader.Read("max_verified", optimizer.max_verified, 0, 10'000);
  reader.Read("sample_timeout", optimizer.sample_timeout);
  reader.Check("sample_timeout", optimizer.sample_timeout.count() > 0
                                     ? OkStatus()
                                     : Status::Error("must be above zero"));
  reader.Read("large_result_rows", optimizer.large_result_rows, 1, int64_t{1} << 40);
  reader.Finish();
}

ScrapeConfig ReadScrapeConfig(MapReader& reader, const YAML::Node& node) {
  ScrapeConfig scrape;
  reader.Read("job_name", scrape.job_name);
  if (scrape.job_name.empty())
    reader.Fail(node, "job_name", "every scrape config needs a job_name");
  reader.Read("scrape_interval", scrape.scrape_interval);
  reader.Read("scrape_timeout", scrape.scrape_timeout);
  reader.Read("metrics_path", scrape.metrics_path);
  reader.Check("metrics_path", scrape.metrics_path.starts_with('/')
                                   ? OkStatus()
                                   : Status::Error("must start with /"));
  ReadTargetClient(reader, scrape.client);
  reader.Read("honor_labels", scrape.honor_labels);
  reader.Read("sample_limit", scrape.sample_limit, 0, int64_t{1} << 40);
  reader.Read("body_size_limit", scrape.body_size_limit, 1024, int64_t{1} << 34);
  reader.Read("label_limit", scrape.label_limit, 1, 10'000);
  reader.Read("label_value_length_limit", scrape.label_value_length_limit, 1, int64_t{1} << 24);
  reader.ForEachMap("static_configs", [&](MapReader& group_reader, const YAML::Node& group_node) {
    TargetGroup group;
    group.source = Where(group_reader, group_node);
    group.targets = group_reader.Strings("targets");
    for (const auto& target : group.targets) group_reader.Check("targets", CheckTarget(target));
    group.labels = group_reader.Labels("labels");
    scrape.static_configs.push_back(std::move(group));
  });
  reader.ForEachMap("file_sd_configs", [&](MapReader& sd_reader, const YAML::Node& sd_node) {
    FileSdConfig sd;
    sd.files = sd_reader.Strings("files");
    if (sd.files.empty())
      sd_reader.Fail(sd_node, "files", "file_sd_configs needs at least one file");
    sd_reader.Read("refresh_interval", sd.refresh_interval);
    scrape.file_sd_configs.push_back(std::move(sd));
  });
  return scrape;
}

void ReadFile(const YAML::Node& root, const std::string& file, CollectorConfig& config) {
  MapReader top(root, file);
  config::ReadWebSection(top, config.web);
  config::ReadLogSection(top, config.log);
  {
    MapReader global = top.Map("global");
    global.Read("scrape_interval", config.scrape_interval);
    global.Read("scrape_timeout", config.scrape_timeout);
    global.Read("evaluation_interval", config.evaluation_interval);
    config.external_labels = global.Labels("external_labels");
    int64_t concurrency = config.scrape_concurrency;
    global.Read("scrape_concurrency", concurrency, 1, 256);
    config.scrape_concurrency = static_cast<int>(concurrency);
    global.Finish();
  }
  {
    MapReader storage = top.Map("storage");
    storage.Read("path", config.storage_path);
    storage.Read("retention", config.retention);
    storage.Read("flush_interval", config.flush_interval);
    storage.Finish();
  }
  {
    MapReader query = top.Map("query");
    query.Read("lookback_delta", config.lookback_delta);
    query.Read("max_samples", config.query_max_samples, 1, int64_t{1} << 40);
    query.Finish();
  }
  ReadDashboard(top, config.dashboard);
  config.rule_files = top.Strings("rule_files");
  {
    MapReader alerting = top.Map("alerting");
    alerting.Read("notify_config_file", config.notify_config_file);
    alerting.Read("external_url", config.external_url);
    config.alertmanagers = alerting.Strings("alertmanagers");
    for (const auto& url : config.alertmanagers) {
      alerting.Check("alertmanagers",
                     url.starts_with("http://") || url.starts_with("https://")
                         ? OkStatus()
                         : Status::Error(fmt::format("'{}' is not an http(s) URL", url)));
    }
    alerting.Finish();
  }
  std::set<std::string> jobs;
  top.ForEachMap("scrape_configs", [&](MapReader& reader, const YAML::Node& node) {
    ScrapeConfig scrape = ReadScrapeConfig(reader, node);
    if (!jobs.insert(scrape.job_name).second) {
      reader.Fail(node, "job_name", fmt::format("job '{}' is configured twice", scrape.job_name));
    }
    config.scrape_configs.push_back(std::move(scrape));
  });
  ReadEvents(top, config.scrape_configs, config.events);
  ReadDbOptimizer(top, config.db_optimizer);
  events::ReadUxConfig(top, config.ux);
  top.Finish();
}

void Validate(CollectorConfig& config, const std::string& file) {
  const auto fail = [&](std::string_view what, std::string_view reason) {
    throw ConfigError(fmt::format("{}: {}: {}", file, what, reason));
  };
  config::ValidateDaemonConfig(config.web, config.log, file);
  // Anyone who reaches a collector may create silences and reload it (POST and DELETE
  // /api/monitoring/silences, POST /-/reload): beyond loopback, only with credentials.
  const auto listen = ParseHostPort(config.web.listen_address);
  if (listen.ok() && !net::IsLoopbackHost(listen->host) &&
      config.web.web_config.basic_auth_users.empty()) {
    fail("web.listen_address",
         fmt::format("{} is reachable beyond loopback, where the write endpoints (silences, "
                     "/-/reload) need basic auth: give basic_auth_users in a web config file "
                     "(--web.config.file, exporter-toolkit's format), or listen on 127.0.0.1",
                     config.web.listen_address));
  }
  using std::chrono::milliseconds;
  const auto positive = [&](std::string_view what, milliseconds value) {
    if (value <= milliseconds::zero()) fail(what, "must be above zero");
  };
  positive("global.scrape_interval", config.scrape_interval);
  positive("global.scrape_timeout", config.scrape_timeout);
  positive("global.evaluation_interval", config.evaluation_interval);
  positive("storage.retention", config.retention);
  positive("storage.flush_interval", config.flush_interval);
  positive("query.lookback_delta", config.lookback_delta);
  if (config.scrape_timeout > config.scrape_interval) {
    // As Prometheus, a global timeout above the interval is lowered rather than refused.
    config.scrape_timeout = config.scrape_interval;
  }
  for (auto& scrape : config.scrape_configs) {
    if (scrape.scrape_interval == milliseconds::zero())
      scrape.scrape_interval = config.scrape_interval;
    if (scrape.scrape_timeout == milliseconds::zero()) {
      scrape.scrape_timeout = std::min(config.scrape_timeout, scrape.scrape_interval);
    }
    const std::string job = fmt::format("scrape_configs job '{}'", scrape.job_name);
    if (scrape.scrape_timeout > scrape.scrape_interval) {
      fail(job, fmt::format("scrape_timeout {} is greater than scrape_interval {}",
                            FormatDuration(scrape.scrape_timeout),
                            FormatDuration(scrape.scrape_interval)));
    }
  }
}

CollectorConfig Build(const YAML::Node& root, const std::string& file_name,
                      const CollectorFlags& flags) {
  CollectorConfig config;
  config.web.listen_address = "127.0.0.1:9190";
  ReadFile(root, file_name, config);
  flags.ApplyDaemonFlags(config.web, config.storage_path, config.log);
  Validate(config, file_name);
  if (flags.config_file) {
    config.base_directory = std::filesystem::path(*flags.config_file).parent_path().string();
    if (config.base_directory.empty()) config.base_directory = ".";
  }
  config.rule_groups = rules::LoadRuleFiles(config.rule_files, config.base_directory);
  const bool named = !config.notify_config_file.empty();
  const std::filesystem::path notify_path = std::filesystem::path(config.base_directory) /
                                            (named ? config.notify_config_file : "notify.yaml");
  if (named || (flags.config_file && std::filesystem::exists(notify_path))) {
    config.notify_config_file = notify_path.string();
    config.notify =
        notify::LoadNotifyConfig(config.notify_config_file, config::ProcessEnvironment());
  }
  if (config.external_url.empty()) config.external_url = "http://" + config.web.listen_address;
  return config;
}

}  // namespace

void CollectorFlags::Register(config::FlagSet& flags) {
  RegisterDaemonFlags(flags, "Collector", "127.0.0.1:9190",
                      "Data directory: performance_metrics.db and the other stores.",
                      "data/collector");
}

CollectorConfig ParseCollectorConfig(const std::string& yaml, const std::string& file_name,
                                     const CollectorFlags& flags) {
  return Build(config::LoadString(yaml, file_name), file_name, flags);
}

CollectorConfig LoadCollectorConfig(const CollectorFlags& flags) {
  if (!flags.config_file) return ParseCollectorConfig("", "(defaults)", flags);
  return Build(config::LoadFile(*flags.config_file), *flags.config_file, flags);
}

std::variant<int, CollectorConfig> ParseSubcommand(std::string_view program, config::FlagSet& flags,
                                                   const CollectorFlags& daemon_flags,
                                                   const std::vector<std::string>& args,
                                                   std::ostream& out, std::ostream& err) {
  const std::string name(program);
  std::vector<const char*> argv = {name.c_str()};
  for (const auto& arg : args) argv.push_back(arg.c_str());
  const auto outcome = flags.Parse(static_cast<int>(argv.size()), argv.data(), nullptr);
  if (!outcome.ok()) {
    err << fmt::format("{}: {}; try --help\n", program, outcome.message());
    return config::kExitBadUsage;
  }
  if (*outcome != config::FlagSet::Outcome::kRun) {
    out << flags.Usage();
    return 0;
  }
  try {
    return LoadCollectorConfig(daemon_flags);
  } catch (const config::ConfigError& e) {
    err << fmt::format("{}: bad configuration: {}\n", program, e.what());
    return config::kExitBadUsage;
  }
}

}  // namespace mingus::collector
