#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "mingus/agent/host/system.h"
#include "mingus/common/status.h"

namespace mingus::agent::host {

// One group of node_exporter-compatible families, read afresh at every scrape.
// Thread-safe: concurrent scrapes may call Collect at the same time.
class HostCollector {
 public:
  virtual ~HostCollector() = default;
  // Appends this collector's families to `out`. On error nothing is appended.
  virtual Status Collect(std::vector<prometheus::MetricFamily>& out) const = 0;
};
using HostCollectorPtr = std::unique_ptr<HostCollector>;

struct HostContext {
  HostPaths paths;
  const SystemCalls* system = nullptr;  // outlives the collectors
};

// node_exporter 1.5's defaults as Debian ships them.
inline constexpr std::string_view kDefaultMountPointsExclude =
    "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
inline constexpr std::string_view kDefaultFsTypesExclude =
    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"
    "iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|"
    "sysfs|tracefs)$";
inline constexpr std::string_view kDefaultNetdevDeviceExclude = "^lo$";
inline constexpr std::string_view kDefaultDiskstatsDeviceExclude =
    "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$";

HostCollectorPtr MakeCpuCollector(const HostContext& context);
HostCollectorPtr MakeStatCollector(const HostContext& context);
HostCollectorPtr MakeMeminfoCollector(const HostContext& context);
HostCollectorPtr MakeLoadavgCollector(const HostContext& context);
HostCollectorPtr MakeNetdevCollector(const HostContext& context, std::regex device_exclude);
HostCollectorPtr MakeDiskstatsCollector(const HostContext& context, std::regex device_exclude);
HostCollectorPtr MakeFilesystemCollector(const HostContext& context, std::regex mount_points_exclude,
                                         std::regex fs_types_exclude);
HostCollectorPtr MakeTimeCollector(const HostContext& context);
HostCollectorPtr MakeUnameCollector(const HostContext& context);

}  // namespace mingus::agent::host
