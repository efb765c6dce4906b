#include "mingus/agent/config.h"

#include <fmt/format.h>

#include <map>
#include <regex>

#include "mingus/agent/host/collectors.h"
#include "mingus/common/address.h"
#include "mingus/config/yaml_reader.h"

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

// The exclusion patterns' checks of one load. Compiling a std::regex costs more than the rest of
// the load, so each pattern is compiled once: the file's read check and Validate (which sees the
// flags too) share the answers, and the defaults, which most loads and reloads keep, are
// compiled once per process.
class PatternChecks {
 public:
  const Status& Check(const std::string& pattern) {
    const auto [it, inserted] = checked_.try_emplace(pattern);
    if (inserted) it->second = CheckPattern(pattern);
    return it->second;
  }

 private:
  static const std::map<std::string, Status>& Defaults() {
    static const std::map<std::string, Status> defaults = [] {
      std::map<std::string, Status> checked;
      for (const std::string_view pattern :
           {host::kDefaultMountPointsExclude, host::kDefaultFsTypesExclude,
            host::kDefaultNetdevDeviceExclude, host::kDefaultDiskstatsDeviceExclude}) {
        checked.emplace(pattern, CheckPattern(std::string(pattern)));
      }
      return checked;
    }();
    return defaults;
  }

  std::map<std::string, Status> checked_ = Defaults();
};

void ReadFile(const YAML::Node& root, const std::string& file, PatternChecks& checks,
              AgentConfig& config) {
  MapReader top(root, file);
  config::ReadWebSection(top, config.web);
  config::ReadLogSection(top, config.log);
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
        collector.Check(key, checks.Check(pattern));
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
  flags.ApplyDaemonFlags(config.web, config.storage_path, config.log);
  apply(flags.procfs, config.paths.procfs);
  apply(flags.sysfs, config.paths.sysfs);
  apply(flags.rootfs, config.paths.rootfs);
  apply(flags.statsd_listen_udp, config.statsd.listen_udp);
  apply(flags.mount_points_exclude, config.collectors.filesystem_mount_points_exclude);
  apply(flags.fs_types_exclude, config.collectors.filesystem_fs_types_exclude);
  apply(flags.netdev_device_exclude, config.collectors.netdev_device_exclude);
  apply(flags.diskstats_device_exclude, config.collectors.diskstats_device_exclude);
  for (const auto& [name, enabled] : flags.collectors) {
    if (enabled) config.collectors.enabled[name] = *enabled;
  }
}

void Validate(const AgentConfig& config, const std::string& file, PatternChecks& checks) {
  const auto fail = [&](std::string_view what, std::string_view reason) {
    throw ConfigError(fmt::format("{}: {}: {}", file, what, reason));
  };
  config::ValidateDaemonConfig(config.web, config.log, file);
  if (!config.statsd.listen_udp.empty()) {
    if (const auto address = ParseHostPort(config.statsd.listen_udp); !address.ok()) {
      fail("statsd.listen_udp", address.message());
    }
  }
  const std::pair<std::string_view, const std::string*> patterns[] = {
      {"collectors.filesystem.mount_points_exclude",
       &config.collectors.filesystem_mount_points_exclude},
      {"collectors.filesystem.fs_types_exclude", &config.collectors.filesystem_fs_types_exclude},
      {"collectors.netdev.device_exclude", &config.collectors.netdev_device_exclude},
      {"collectors.diskstats.device_exclude", &config.collectors.diskstats_device_exclude}};
  for (const auto& [what, pattern] : patterns) {
    if (const Status& status = checks.Check(*pattern); !status.ok()) fail(what, status.message());
  }
}

AgentConfig Build(const YAML::Node& root, const std::string& file_name, const AgentFlags& flags,
                  const Environment& environment) {
  AgentConfig config = Defaults();
  PatternChecks checks;
  ReadFile(root, file_name, checks, config);
  ApplyFlags(flags, config);
  if (config::EnvironmentFlag(environment, "MONITORING_ENABLED") == false) {
    for (auto& [name, enabled] : config.collectors.enabled) enabled = false;
  }
  Validate(config, file_name, checks);
  return config;
}

}  // namespace

void AgentFlags::Register(config::FlagSet& flags) {
  RegisterDaemonFlags(flags, "Agent", "127.0.0.1:9110", "Directory for the event spool.", "data/agent");
  flags.String("path.procfs", "procfs mountpoint.", &procfs, "/proc");
  flags.String("path.sysfs", "sysfs mountpoint.", &sysfs, "/sys");
  flags.String("path.rootfs", "rootfs mountpoint.", &rootfs, "/");
  flags.String("statsd.listen-udp",
               "Address for StatsD lines and JSON events over UDP; empty turns the intake off.",
               &statsd_listen_udp, "127.0.0.1:8125");
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

AgentConfig ParseAgentConfig(const std::string& yaml, const std::string& file_name,
                             const AgentFlags& flags, const Environment& environment) {
  return Build(config::LoadString(yaml, file_name), file_name, flags, environment);
}

AgentConfig LoadAgentConfig(const AgentFlags& flags, const Environment& environment) {
  if (!flags.config_file) return ParseAgentConfig("", "(defaults)", flags, environment);
  return Build(config::LoadFile(*flags.config_file), *flags.config_file, flags, environment);
}

}  // namespace mingus::agent
