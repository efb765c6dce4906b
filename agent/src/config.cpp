#include "mingus/agent/config.h"

#include <cstdlib>
#include <regex>

#include <fmt/format.h>

#include "mingus/agent/host/collectors.h"
#include "mingus/common/address.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/logging/logging.h"

namespace mingus::agent {

namespace {

using config::ConfigError;
using config::MapReader;

AgentConfig Defaults() {
  AgentConfig config;
  config.web.listen_address = "127.0.0.1:9110";
  for (const auto& name : kHostCollectorNames) config.collectors.enabled[name] = true;
  config.collectors.filesystem_mount_points_exclude = host::kDefaultMountPointsExclude;
  config.collectors.filesystem_fs_types_exclude = host::kDefaultFsTypesExclude;
  config.collectors.netdev_device_exclude = host::kDefaultNetdevDeviceExclude;
  config.collectors.diskstats_device_exclude = host::kDefaultDiskstatsDeviceExclude;
  return config;
}

Status CheckPattern(const std::string& pattern) {
  try {
    std::regex compiled(pattern);
  } catch (const std::regex_error& e) {
    return Status::Error(fmt::format("bad regular expression '{}': {}", pattern, e.what()));
  }
  return OkStatus();
}

void ReadSize(MapReader& reader, std::string_view key, size_t& out, int64_t min, int64_t max) {
  int64_t value = static_cast<int64_t>(out);
  reader.Read(key, value, min, max);
  out = static_cast<size_t>(value);
}

void ReadFile(const YAML::Node& root, const std::string& file, AgentConfig& config) {
  MapReader top(root, file);
  {
    MapReader web = top.Map("web");
    web.Read("listen_address", config.web.listen_address);
    web.Check("listen_address", ParseHostPort(config.web.listen_address).status());
    ReadSize(web, "max_connections", config.web.max_connections, 1, 100'000);
    ReadSize(web, "max_header_bytes", config.web.max_header_bytes, 1024, 1 << 20);
    web.Read("read_timeout", config.web.read_timeout);
    web.Read("write_timeout", config.web.write_timeout);
    int64_t threads = config.web.threads;
    web.Read("threads", threads, 1, 64);
    config.web.threads = static_cast<int>(threads);
    web.Finish();
  }
  {
    MapReader log = top.Map("log");
    log.Read("level", config.log_level);
    log.Check("level", logging::ParseLevel(config.log_level).status());
    log.Read("format", config.log_format);
    log.Check("format", logging::ParseFormat(config.log_format).status());
    log.Finish();
  }
  {
    MapReader paths = top.Map("paths");
    paths.Read("procfs", config.paths.procfs);
    paths.Read("sysfs", config.paths.sysfs);
    paths.Read("rootfs", config.paths.rootfs);
    paths.Finish();
  }
  {
    MapReader storage = top.Map("storage");
    storage.Read("path", config.storage_path);
    storage.Read("spool_max_bytes", config.spool_max_bytes, 1 << 20, int64_t{1} << 40);
    storage.Read("spool_segment_bytes", config.spool_segment_bytes, 4 << 10, int64_t{1} << 30);
    storage.Finish();
  }
  {
    MapReader statsd = top.Map("statsd");
    statsd.Read("listen_udp", config.statsd.listen_udp);
    if (!config.statsd.listen_udp.empty()) {
      statsd.Check("listen_udp", ParseHostPort(config.statsd.listen_udp).status());
    }
    int64_t threads = config.statsd.receive_threads;
    statsd.Read("receive_threads", threads, 1, 64);
    config.statsd.receive_threads = static_cast<int>(threads);
    statsd.Read("receive_buffer_bytes", config.statsd.receive_buffer_bytes, 64 << 10, 1 << 30);
    statsd.Read("max_series_per_metric", config.statsd.max_series_per_metric, 1, 10'000'000);
    config.statsd.mapping = intake::ReadMappingConfig(statsd);
    statsd.Finish();
  }
  {
    MapReader collectors = top.Map("collectors");
    for (const auto& name : kHostCollectorNames) {
      MapReader collector = collectors.Map(name);
      collector.Read("enabled", config.collectors.enabled[name]);
      const auto read_pattern = [&](std::string_view key, std::string& pattern) {
        collector.Read(key, pattern);
        collector.Check(key, CheckPattern(pattern));
      };
      if (name == "filesystem") {
        read_pattern("mount_points_exclude", config.collectors.filesystem_mount_points_exclude);
        read_pattern("fs_types_exclude", config.collectors.filesystem_fs_types_exclude);
      } else if (name == "netdev") {
        read_pattern("device_exclude", config.collectors.netdev_device_exclude);
      } else if (name == "diskstats") {
        read_pattern("device_exclude", config.collectors.diskstats_device_exclude);
      }
      collector.Finish();
    }
    collectors.Finish();
  }
  top.Finish();
}

void ApplyFlags(const AgentFlags& flags, AgentConfig& config) {
  const auto apply = [](const std::optional<std::string>& flag, std::string& field) {
    if (flag) field = *flag;
  };
  apply(flags.listen_address, config.web.listen_address);
  apply(flags.procfs, config.paths.procfs);
  apply(flags.sysfs, config.paths.sysfs);
  apply(flags.rootfs, config.paths.rootfs);
  apply(flags.storage_path, config.storage_path);
  apply(flags.log_level, config.log_level);
  apply(flags.log_format, config.log_format);
  apply(flags.statsd_listen_udp, config.statsd.listen_udp);
  apply(flags.mount_points_exclude, config.collectors.filesystem_mount_points_exclude);
  apply(flags.fs_types_exclude, config.collectors.filesystem_fs_types_exclude);
  apply(flags.netdev_device_exclude, config.collectors.netdev_device_exclude);
  apply(flags.diskstats_device_exclude, config.collectors.diskstats_device_exclude);
  for (const auto& [name, enabled] : flags.collectors) {
    if (enabled) config.collectors.enabled[name] = *enabled;
  }
}

std::optional<bool> EnvironmentFlag(const Environment& environment, std::string_view name) {
  const auto value = environment(name);
  if (!value) return std::nullopt;
  std::string lower;
  for (char c : *value) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  throw ConfigError(fmt::format("environment variable {}='{}': expected true or false", name, *value));
}

void Validate(const AgentConfig& config, const std::string& file) {
  const auto fail = [&](std::string_view what, std::string_view reason) {
    throw ConfigError(fmt::format("{}: {}: {}", file, what, reason));
  };
  if (const auto address = ParseHostPort(config.web.listen_address); !address.ok()) {
    fail("web.listen_address", address.message());
  }
  if (!config.statsd.listen_udp.empty()) {
    if (const auto address = ParseHostPort(config.statsd.listen_udp); !address.ok()) {
      fail("statsd.listen_udp", address.message());
    }
  }
  if (const auto level = logging::ParseLevel(config.log_level); !level.ok()) {
    fail("log.level", level.message());
  }
  if (const auto format = logging::ParseFormat(config.log_format); !format.ok()) {
    fail("log.format", format.message());
  }
  const std::pair<std::string_view, const std::string*> patterns[] = {
      {"collectors.filesystem.mount_points_exclude",
       &config.collectors.filesystem_mount_points_exclude},
      {"collectors.filesystem.fs_types_exclude", &config.collectors.filesystem_fs_types_exclude},
      {"collectors.netdev.device_exclude", &config.collectors.netdev_device_exclude},
      {"collectors.diskstats.device_exclude", &config.collectors.diskstats_device_exclude}};
  for (const auto& [what, pattern] : patterns) {
    if (const Status status = CheckPattern(*pattern); !status.ok()) fail(what, status.message());
  }
}

AgentConfig Build(const YAML::Node& root, const std::string& file_name, const AgentFlags& flags,
                  const Environment& environment) {
  AgentConfig config = Defaults();
  ReadFile(root, file_name, config);
  ApplyFlags(flags, config);
  if (EnvironmentFlag(environment, "MONITORING_ENABLED") == false) {
    for (auto& [name, enabled] : config.collectors.enabled) enabled = false;
  }
  Validate(config, file_name);
  return config;
}

}  // namespace

void AgentFlags::Register(config::FlagSet& flags) {
  flags.String("config.file", "Agent configuration file (without one, built-in defaults).",
               &config_file);
  flags.String("web.listen-address", "Address to serve /metrics and the API on.", &listen_address,
               "127.0.0.1:9110");
  flags.String("path.procfs", "procfs mountpoint.", &procfs, "/proc");
  flags.String("path.sysfs", "sysfs mountpoint.", &sysfs, "/sys");
  flags.String("path.rootfs", "rootfs mountpoint.", &rootfs, "/");
  flags.String("statsd.listen-udp",
               "Address for StatsD lines and JSON events over UDP; empty turns the intake off.",
               &statsd_listen_udp, "127.0.0.1:8125");
  flags.String("storage.path", "Directory for the event spool.", &storage_path, "data/agent");
  flags.String("log.level", "Only log messages of this level or above: debug, info, warn, error.",
               &log_level, "info");
  flags.String("log.format", "Log format: logfmt or json.", &log_format, "logfmt");
  flags.String("collector.filesystem.mount-points-exclude",
               "Regexp of mount points to exclude for the filesystem collector.",
               &mount_points_exclude);
  flags.String("collector.filesystem.fs-types-exclude",
               "Regexp of filesystem types to exclude for the filesystem collector.",
               &fs_types_exclude);
  flags.String("collector.netdev.device-exclude", "Regexp of net devices to exclude.",
               &netdev_device_exclude, "^lo$");
  flags.String("collector.diskstats.device-exclude", "Regexp of diskstats devices to exclude.",
               &diskstats_device_exclude);
  for (const auto& name : kHostCollectorNames) {
    flags.Bool("collector." + name, fmt::format("Enable the {} collector.", name), &collectors[name],
               "enabled");
  }
}

Environment ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

AgentConfig ParseAgentConfig(const std::string& yaml, const std::string& file_name,
                             const AgentFlags& flags, const Environment& environment) {
  return Build(config::LoadString(yaml, file_name), file_name, flags, environment);
}

AgentConfig LoadAgentConfig(const AgentFlags& flags, const Environment& environment) {
  if (!flags.config_file) return ParseAgentConfig("", "(defaults)", flags, environment);
  return Build(config::LoadFile(*flags.config_file), *flags.config_file, flags, environment);
}

}  // namespace mingus::agent
