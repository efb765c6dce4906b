#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/agent/host/system.h"
#include "mingus/agent/intake/mapping.h"
#include "mingus/config/daemon.h"
#include "mingus/config/flags.h"
#include "mingus/http/server.h"

namespace mingus::agent {

// Names of the host collectors, in the order their families appear on /metrics.
inline const std::vector<std::string> kHostCollectorNames = {
    "cpu", "diskstats", "filesystem", "loadavg", "meminfo", "netdev", "stat", "time", "uname"};

struct HostCollectorsConfig {
  std::map<std::string, bool> enabled;  // every name of kHostCollectorNames
  std::string filesystem_mount_points_exclude;
  std::string filesystem_fs_types_exclude;
  std::string netdev_device_exclude;
  std::string diskstats_device_exclude;
};

// The application intake: StatsD lines and JSON events over UDP.
struct StatsdConfig {
  std::string listen_udp = "127.0.0.1:8125";  // empty: no UDP intake
  int receive_threads = 2;
  int64_t receive_buffer_bytes = 8 << 20;
  int64_t max_series_per_metric = 10'000;
  intake::MappingConfig mapping;
};

struct AgentConfig {
  http::ServerOptions web;
  config::LogConfig log;
  host::HostPaths paths;
  std::string storage_path = "data/agent";
  int64_t spool_max_bytes = 256ll << 20;
  int64_t spool_segment_bytes = 4ll << 20;
  HostCollectorsConfig collectors;
  StatsdConfig statsd;
};

// Flags as given on the command line; unset ones leave the file's value.
struct AgentFlags : config::DaemonFlags {
  std::optional<std::string> procfs, sysfs, rootfs, statsd_listen_udp, mount_points_exclude, fs_types_exclude, netdev_device_exclude,
      diskstats_device_exclude;
  std::map<std::string, std::optional<bool>> collectors;

  // Registers every flag of mingus-agent on `flags`, bound to this object's fields.
  void Register(config::FlagSet& flags);
};

using config::Environment;

// Reads the file (no file: defaults), applies the flags over it and then the environment
// (MONITORING_ENABLED=false switches every host collector off), and validates the result.
// Throws config::ConfigError naming the file, line, key and reason.
AgentConfig LoadAgentConfig(const AgentFlags& flags, const Environment& environment);
AgentConfig ParseAgentConfig(const std::string& yaml, const std::string& file_name,
                             const AgentFlags& flags, const Environment& environment);

}  // namespace mingus::agent
