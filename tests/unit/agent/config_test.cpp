#include "mingus/agent/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mingus/config/yaml_reader.h"

namespace mingus::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Environment NoEnvironment() {
  return [](std::string_view) { return std::optional<std::string>(); };
}

Environment EnvironmentOf(std::map<std::string, std::string, std::less<>> values) {
  return [values](std::string_view name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::string ErrorOf(const std::string& yaml, const AgentFlags& flags = {},
                    const Environment& environment = NoEnvironment()) {
  try {
    ParseAgentConfig(yaml, "agent.yaml", flags, environment);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(AgentConfig, DefaultsAreSecureAndComplete) {
  const AgentConfig config = ParseAgentConfig("", "agent.yaml", {}, NoEnvironment());
  EXPECT_EQ(config.web.listen_address, "127.0.0.1:9110");
  EXPECT_EQ(config.paths.procfs, "/proc");
  EXPECT_EQ(config.collectors.enabled.size(), kHostCollectorNames.size());
  for (const auto& [name, enabled] : config.collectors.enabled) EXPECT_TRUE(enabled) << name;
  EXPECT_EQ(config.collectors.netdev_device_exclude, "^lo$");
}

TEST(AgentConfig, FileThenFlagsThenEnvironment) {
  const std::string yaml = R"(
web:
  listen_address: 127.0.0.1:9200
  read_timeout: 5s
log: {level: debug, format: json}
paths: {procfs: /host/proc}
collectors:
  cpu: {enabled: false}
  netdev: {device_exclude: "^(lo|veth.*)$"}
)";
  AgentConfig config = ParseAgentConfig(yaml, "agent.yaml", {}, NoEnvironment());
  EXPECT_EQ(config.web.listen_address, "127.0.0.1:9200");
  EXPECT_EQ(config.web.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.log.level, "debug");
  EXPECT_EQ(config.log.format, "json");
  EXPECT_EQ(config.paths.procfs, "/host/proc");
  EXPECT_FALSE(config.collectors.enabled.at("cpu"));
  EXPECT_EQ(config.collectors.netdev_device_exclude, "^(lo|veth.*)$");

  AgentFlags flags;
  flags.listen_address = "127.0.0.1:9300";
  flags.collectors["cpu"] = true;
  flags.collectors["uname"] = false;
  config = ParseAgentConfig(yaml, "agent.yaml", flags, NoEnvironment());
  EXPECT_EQ(config.web.listen_address, "127.0.0.1:9300");
  EXPECT_TRUE(config.collectors.enabled.at("cpu"));
  EXPECT_FALSE(config.collectors.enabled.at("uname"));

  config = ParseAgentConfig(yaml, "agent.yaml", flags, EnvironmentOf({{"MONITORING_ENABLED", "false"}}));
  for (const auto& [name, enabled] : config.collectors.enabled) EXPECT_FALSE(enabled) << name;
}

TEST(AgentConfig, BadFilesNameFileLineAndReason) {
  EXPECT_EQ(ErrorOf("web:\n  listen_adress: 1.2.3.4:5\n"), "agent.yaml:2:3: web.listen_adress: unknown key");
  EXPECT_EQ(ErrorOf("colectors: {}\n"), "agent.yaml:1:1: colectors: unknown key");
  EXPECT_EQ(ErrorOf("collectors:\n  cpu: {enabled: yes please}\n"),
            "agent.yaml:2:18: collectors.cpu.enabled: 'yes please' is not a boolean (true or false)");
  EXPECT_THAT(ErrorOf("web:\n  max_connections: many\n"),
              HasSubstr("agent.yaml:2:20: web.max_connections: 'many' is not a whole number"));
  EXPECT_THAT(ErrorOf("web:\n  listen_address: 127.0.0.1\n"),
              HasSubstr("agent.yaml:2:19: web.listen_address: address '127.0.0.1': missing ':port'"));
  EXPECT_THAT(ErrorOf("web:\n  listen_address: myhost:80\n"), HasSubstr("IP address or localhost"));
  EXPECT_THAT(ErrorOf("log: {level: loud}\n"), HasSubstr("agent.yaml:1:14: log.level: log level 'loud'"));
  EXPECT_THAT(ErrorOf("collectors:\n  netdev: {device_exclude: \"(\"}\n"),
              HasSubstr("agent.yaml:2:28: collectors.netdev.device_exclude: bad regular expression"));
  EXPECT_THAT(ErrorOf("web: [1, 2]\n"), HasSubstr("agent.yaml:1:6: web: expected a mapping"));
  EXPECT_THAT(ErrorOf("web:\n  read_timeout: soon\n"), HasSubstr("agent.yaml:2:17: web.read_timeout: duration 'soon'"));
  EXPECT_THAT(ErrorOf("web: {listen_address: \"127.0.0.1:1\"\n"), StartsWith("agent.yaml:2:1: yaml: "));
  EXPECT_THAT(ErrorOf("statsd:\n  listen_udp: 8125\n"), HasSubstr("agent.yaml:2:15: statsd.listen_udp: address '8125'"));
  EXPECT_THAT(ErrorOf("statsd:\n  mappings:\n    - {match: a.*, name: b, labels: {x: $1}, colour: red}\n"),
              HasSubstr("agent.yaml:3:46: statsd.mappings[0].colour: unknown key"));
}

TEST(AgentConfig, BadFlagsAndEnvironmentAreRefusedToo) {
  AgentFlags flags;
  flags.listen_address = "nowhere";
  EXPECT_THAT(ErrorOf("", flags), HasSubstr("web.listen_address: address 'nowhere'"));
  // The file's patterns are checked as they are read, the flags' afterwards; a pattern both
  // give is compiled once per load, and each names where it came from.
  flags = {};
  flags.diskstats_device_exclude = "[";
  EXPECT_THAT(
      ErrorOf("", flags),
      StartsWith("agent.yaml: collectors.diskstats.device_exclude: bad regular expression '['"));
  EXPECT_THAT(
      ErrorOf("collectors:\n  netdev: {device_exclude: \"[\"}\n", flags),
      StartsWith("agent.yaml:2:28: collectors.netdev.device_exclude: bad regular expression '['"));
  flags.diskstats_device_exclude = "^lo$";
  EXPECT_EQ(ErrorOf("", flags), "no error");
  EXPECT_EQ(ErrorOf("", {}, EnvironmentOf({{"MONITORING_ENABLED", "perhaps"}})),
            "environment variable MONITORING_ENABLED='perhaps': expected true or false");
}

TEST(AgentConfig, MissingFileIsAnError) {
  AgentFlags flags;
  flags.config_file = "/nonexistent/agent.yaml";
  try {
    LoadAgentConfig(flags, NoEnvironment());
    FAIL() << "loaded a missing file";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/agent.yaml: cannot open file"));
  }
}

TEST(AgentConfig, ShippedConfigLoadsAndMatchesTheDefaults) {
  AgentFlags flags;
  flags.config_file = MINGUS_SOURCE_DIR "/configs/agent.yaml";
  const AgentConfig shipped = LoadAgentConfig(flags, NoEnvironment());
  const AgentConfig defaults = ParseAgentConfig("", "defaults", {}, NoEnvironment());
  EXPECT_EQ(shipped.web.listen_address, defaults.web.listen_address);
  EXPECT_EQ(shipped.web.max_connections, defaults.web.max_connections);
  EXPECT_EQ(shipped.web.max_header_bytes, defaults.web.max_header_bytes);
  EXPECT_EQ(shipped.web.read_timeout, defaults.web.read_timeout);
  EXPECT_EQ(shipped.web.write_timeout, defaults.web.write_timeout);
  EXPECT_EQ(shipped.web.threads, defaults.web.threads);
  EXPECT_EQ(shipped.log.level, defaults.log.level);
  EXPECT_EQ(shipped.paths.rootfs, defaults.paths.rootfs);
  EXPECT_EQ(shipped.storage_path, defaults.storage_path);
  EXPECT_EQ(shipped.spool_max_bytes, defaults.spool_max_bytes);
  EXPECT_EQ(shipped.spool_segment_bytes, defaults.spool_segment_bytes);
  EXPECT_EQ(shipped.collectors.enabled, defaults.collectors.enabled);
  EXPECT_EQ(shipped.collectors.filesystem_mount_points_exclude,
            defaults.collectors.filesystem_mount_points_exclude);
  EXPECT_EQ(shipped.collectors.filesystem_fs_types_exclude,
            defaults.collectors.filesystem_fs_types_exclude);
  EXPECT_EQ(shipped.collectors.diskstats_device_exclude, defaults.collectors.diskstats_device_exclude);
  EXPECT_EQ(shipped.statsd.listen_udp, defaults.statsd.listen_udp);
  EXPECT_EQ(shipped.statsd.receive_threads, defaults.statsd.receive_threads);
  EXPECT_EQ(shipped.statsd.receive_buffer_bytes, defaults.statsd.receive_buffer_bytes);
  EXPECT_EQ(shipped.statsd.max_series_per_metric, defaults.statsd.max_series_per_metric);
  EXPECT_EQ(shipped.statsd.mapping.defaults.buckets, defaults.statsd.mapping.defaults.buckets);
  EXPECT_EQ(shipped.statsd.mapping.defaults.quantiles, defaults.statsd.mapping.defaults.quantiles);
  EXPECT_EQ(shipped.statsd.mapping.defaults.observer_type, defaults.statsd.mapping.defaults.observer_type);
  EXPECT_EQ(shipped.statsd.mapping.defaults.ttl, defaults.statsd.mapping.defaults.ttl);
}

}  // namespace
}  // namespace mingus::agent
