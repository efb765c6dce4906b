#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "mingus/collector/api/dashboard_config.h"
#include "mingus/collector/db/db_optimizer_config.h"
#include "mingus/collector/events/events_config.h"
#include "mingus/collector/events/ux_config.h"
#include "mingus/collector/notify/config.h"
#include "mingus/collector/rules/rule_file.h"
#include "mingus/collector/scrape/target_client.h"
#include "mingus/config/daemon.h"
#include "mingus/config/flags.h"
#include "mingus/http/server.h"

namespace mingus::collector {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// Prometheus' static_configs entry, and the shape of one group in a file_sd file.
struct TargetGroup {
  std::vector<std::string> targets;  // host:port
  LabelPairs labels;
  std::string source;  // where it came from, for messages: "collector.yaml:12" or a file name
};

struct FileSdConfig {
  std::vector<std::string> files;  // glob patterns, relative to the configuration file's folder
  std::chrono::milliseconds refresh_interval{5 * 60 * 1000};
};

struct ScrapeConfig {
  std::string job_name;
  std::chrono::milliseconds scrape_interval{0};  // 0 until defaults from global are applied
  std::chrono::milliseconds scrape_timeout{0};
  std::string metrics_path = "/metrics";
  // scheme, tls_config, basic_auth, authorization, bearer_token(_file); credential files are
  // read at load (and at reload).
  scrape::TargetClient client;
  bool honor_labels = false;
  int64_t sample_limit = 0;
  // Caps against a runaway target (Prometheus has the same keys, unlimited by default).
  int64_t body_size_limit = 64ll << 20;
  int64_t label_limit = 64;
  int64_t label_value_length_limit = 4096;
  std::vector<TargetGroup> static_configs;
  std::vector<FileSdConfig> file_sd_configs;
};

struct CollectorConfig {
  http::ServerOptions web;
  config::LogConfig log;
  // global
  std::chrono::milliseconds scrape_interval{15'000};
  std::chrono::milliseconds scrape_timeout{10'000};
  std::chrono::milliseconds evaluation_interval{15'000};
  LabelPairs external_labels;
  std::vector<ScrapeConfig> scrape_configs;
  int scrape_concurrency = 8;
  // Prometheus rule files (globs, relative to the configuration file's folder), read and
  // checked with the configuration so that a bad rule refuses it.
  std::vector<std::string> rule_files;
  std::vector<rules::GroupDefinition> rule_groups;
  // alerting: notify.yaml (Alertmanager's format) beside this file unless named; without the
  // file (and unless named) alerts are evaluated and shown but not sent.
  std::string notify_config_file;
  std::string external_url;                // links back to the collector in notifications
  std::vector<std::string> alertmanagers;  // external Alertmanagers to forward alerts to
  std::optional<notify::NotifyConfig> notify;
  // storage
  std::string storage_path = "data/collector";
  std::chrono::milliseconds retention{15ll * 24 * 3600 * 1000};
  std::chrono::milliseconds flush_interval{60'000};
  // query
  std::chrono::milliseconds lookback_delta{5 * 60 * 1000};
  int64_t query_max_samples = 50'000'000;
  // dashboard: the monitoring API's windows, cache and status thresholds
  api::DashboardConfig dashboard;
  // events: analytics events pulled from the agents' spools into business_intelligence.db
  events::EventsConfig events;
  // ux, funnels, experiments: what the UX report counts (docs/ux.md)
  events::UxConfig ux;
  // db_optimizer: slow-query digests and index suggestions from the app's db events
  db::DbOptimizerConfig db_optimizer;
  // The configuration file's folder: relative file_sd paths are resolved from it.
  std::string base_directory = ".";
};

struct CollectorFlags : config::DaemonFlags {
  void Register(config::FlagSet& flags);
};

// Reads the file (no file: defaults), applies the flags, validates (unknown keys, bad
// durations, scrape_timeout above scrape_interval, duplicate job names, bad targets, events
// jobs that are not scrape jobs), reads
// the rule files, and throws config::ConfigError naming the file, line and key.
CollectorConfig LoadCollectorConfig(const CollectorFlags& flags);
CollectorConfig ParseCollectorConfig(const std::string& yaml, const std::string& file_name,
                                     const CollectorFlags& flags);

// The command line of a subcommand that reads the collector's configuration (db-advise,
// report): `args` parsed by `flags` (which has daemon_flags registered), --help answered, the
// configuration loaded. An exit code when the subcommand is done: 0 with the usage on `out`,
// config::kExitBadUsage with the reason, `program` first, on `err` (a bad flag, an argument
// that is no flag, a bad configuration). Otherwise the configuration.
std::variant<int, CollectorConfig> ParseSubcommand(std::string_view program, config::FlagSet& flags,
                                                   const CollectorFlags& daemon_flags,
                                                   const std::vector<std::string>& args,
                                                   std::ostream& out, std::ostream& err);

}  // namespace mingus::collector
