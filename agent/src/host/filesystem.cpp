#include <set>
#include <tuple>

#include "mingus/agent/host/collectors.h"
#include "mingus/agent/host/name_filter.h"
#include "mingus/agent/host/procfs.h"
#include "mingus/common/file.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::agent::host {

namespace {

using metrics::AddFamily;
using metrics::AddSample;
using prometheus::MetricType;

class FilesystemCollector final : public HostCollector {
 public:
  FilesystemCollector(const HostContext& context, std::regex mount_points_exclude,
                      std::regex fs_types_exclude)
      : context_(context),
        mount_points_exclude_(std::move(mount_points_exclude)),
        fs_types_exclude_(std::move(fs_types_exclude)) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    // PID 1's table is the host's even when we run in another mount namespace; with hidepid
    // it is unreadable and the own table has to do (as in node_exporter).
    auto content = ReadFile(context_.paths.Proc("1/mounts"));
    if (!content.ok()) content = ReadFile(context_.paths.Proc("self/mounts"));
    if (!content.ok()) return content.status();
    const auto mounts = ParseMounts(*content);
    if (!mounts.ok()) return mounts.status();

    const size_t first = out.size();
    AddFamily(out, "node_filesystem_device_error",
              "Whether an error occurred while getting statistics for the given device.",
              MetricType::Gauge);
    AddFamily(out, "node_filesystem_readonly", "Filesystem read-only status.", MetricType::Gauge);
    AddFamily(out, "node_filesystem_size_bytes", "Filesystem size in bytes.", MetricType::Gauge);
    AddFamily(out, "node_filesystem_free_bytes", "Filesystem free space in bytes.", MetricType::Gauge);
    AddFamily(out, "node_filesystem_avail_bytes",
              "Filesystem space available to non-root users in bytes.", MetricType::Gauge);
    AddFamily(out, "node_filesystem_files", "Filesystem total file nodes.", MetricType::Gauge);
    AddFamily(out, "node_filesystem_files_free", "Filesystem total free file nodes.",
              MetricType::Gauge);
    auto family = [&](size_t i) -> prometheus::MetricFamily& { return out[first + i]; };

    std::set<std::tuple<std::string_view, std::string_view, std::string_view>> seen;
    for (const auto& mount : *mounts) {
      const std::string mount_point = StripRootfs(mount.mount_point);
      if (mount_points_exclude_.Matches(mount_point) || fs_types_exclude_.Matches(mount.fs_type)) {
        continue;
      }
      // A file system mounted twice at one place (bind mounts, container runtimes) is one.
      if (!seen.emplace(mount.device, mount.mount_point, mount.fs_type).second) continue;
      const metrics::LabelPairs labels = {
          {"device", mount.device}, {"fstype", mount.fs_type}, {"mountpoint", mount_point}};
      const auto usage = context_.system->Statfs(context_.paths.Root(mount_point));
      AddSample(family(0), usage.ok() ? 0 : 1, labels);
      AddSample(family(1), mount.read_only ? 1 : 0, labels);
      if (!usage.ok()) continue;
      const auto bytes = [&](uint64_t blocks) {
        return static_cast<double>(blocks) * static_cast<double>(usage->block_size);
      };
      AddSample(family(2), bytes(usage->blocks), labels);
      AddSample(family(3), bytes(usage->blocks_free), labels);
      AddSample(family(4), bytes(usage->blocks_available), labels);
      AddSample(family(5), static_cast<double>(usage->files), labels);
      AddSample(family(6), static_cast<double>(usage->files_free), labels);
    }
    return OkStatus();
  }

 private:
  // With --path.rootfs=/host, a mount listed as /host/data is reported as /data.
  std::string StripRootfs(const std::string& mount_point) const {
    const std::string& root = context_.paths.rootfs;
    if (root.empty() || root == "/" || mount_point.compare(0, root.size(), root) != 0) {
      return mount_point;
    }
    const std::string rest = mount_point.substr(root.size());
    if (rest.empty()) return "/";
    return rest.front() == '/' ? rest : mount_point;
  }

  HostContext context_;
  NameFilter mount_points_exclude_;
  NameFilter fs_types_exclude_;
};

}  // namespace

HostCollectorPtr MakeFilesystemCollector(const HostContext& context, std::regex mount_points_exclude,
                                         std::regex fs_types_exclude) {
  return std::make_unique<FilesystemCollector>(context, std::move(mount_points_exclude),
                                               std::move(fs_types_exclude));
}

}  // namespace mingus::agent::host
