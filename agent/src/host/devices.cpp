// The netdev and diskstats collectors: per-device counters with a device exclusion pattern.
#include <array>

#include <fmt/format.h>

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

class NetdevCollector final : public HostCollector {
 public:
  NetdevCollector(const HostContext& context, std::regex device_exclude)
      : context_(context), device_exclude_(std::move(device_exclude)) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    const auto content = ReadFile(context_.paths.Proc("net/dev"));
    if (!content.ok()) return content.status();
    const auto devices = ParseNetDev(*content);
    if (!devices.ok()) return devices.status();
    const size_t first = out.size();
    for (const auto column : kNetDevColumns) {
      AddFamily(out, fmt::format("node_network_{}_total", column),
                fmt::format("Network device statistic {}.", column), MetricType::Counter);
    }
    for (const auto& device : *devices) {
      if (device_exclude_.Matches(device.name)) continue;
      for (size_t i = 0; i < kNetDevColumns.size(); ++i) {
        AddSample(out[first + i], static_cast<double>(device.counters[i]), {{"device", device.name}});
      }
    }
    return OkStatus();
  }

 private:
  HostContext context_;
  NameFilter device_exclude_;
};

struct DiskField {
  std::string_view name;
  std::string_view help;
  MetricType type;
  double scale;
};
// In /proc/diskstats order; sectors are always 512 bytes there, times are milliseconds.
constexpr std::array<DiskField, 17> kDiskFields = {{
    {"reads_completed_total", "The total number of reads completed successfully.", MetricType::Counter, 1},
    {"reads_merged_total", "The total number of reads merged.", MetricType::Counter, 1},
    {"read_bytes_total", "The total number of bytes read successfully.", MetricType::Counter, 512},
    {"read_time_seconds_total", "The total number of seconds spent by all reads.", MetricType::Counter, 0.001},
    {"writes_completed_total", "The total number of writes completed successfully.", MetricType::Counter, 1},
    {"writes_merged_total", "The number of writes merged.", MetricType::Counter, 1},
    {"written_bytes_total", "The total number of bytes written successfully.", MetricType::Counter, 512},
    {"write_time_seconds_total", "This is the total number of seconds spent by all writes.", MetricType::Counter, 0.001},
    {"io_now", "The number of I/Os currently in progress.", MetricType::Gauge, 1},
    {"io_time_seconds_total", "Total seconds spent doing I/Os.", MetricType::Counter, 0.001},
    {"io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", MetricType::Counter, 0.001},
    {"discards_completed_total", "The total number of discards completed successfully.", MetricType::Counter, 1},
    {"discards_merged_total", "The total number of discards merged.", MetricType::Counter, 1},
    {"discarded_sectors_total", "The total number of sectors discarded successfully.", MetricType::Counter, 1},
    {"discard_time_seconds_total", "This is the total number of seconds spent by all discards.", MetricType::Counter, 0.001},
    {"flush_requests_total", "The total number of flush requests completed successfully", MetricType::Counter, 1},
    {"flush_requests_time_seconds_total", "This is the total number of seconds spent by all flush requests.", MetricType::Counter, 0.001},
}};

class DiskstatsCollector final : public HostCollector {
 public:
  DiskstatsCollector(const HostContext& context, std::regex device_exclude)
      : context_(context), device_exclude_(std::move(device_exclude)) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    const auto content = ReadFile(context_.paths.Proc("diskstats"));
    if (!content.ok()) return content.status();
    const auto disks = ParseDiskstats(*content);
    if (!disks.ok()) return disks.status();
    std::vector<const DiskStats*> kept;
    size_t field_count = 0;
    for (const auto& disk : *disks) {
      if (device_exclude_.Matches(disk.name)) continue;
      kept.push_back(&disk);
      field_count = std::max(field_count, disk.field_count);
    }
    const size_t info = out.size();
    AddFamily(out, "node_disk_info", "Info of /sys/block/<block_device>.", MetricType::Gauge);
    const size_t first = out.size();
    for (size_t i = 0; i < field_count; ++i) {
      AddFamily(out, fmt::format("node_disk_{}", kDiskFields[i].name),
                std::string(kDiskFields[i].help), kDiskFields[i].type);
    }
    for (const DiskStats* disk : kept) {
      const std::string major = std::to_string(disk->major), minor = std::to_string(disk->minor);
      // udev's database is optional (absent in most containers): labels are then empty.
      const auto udev = ReadFile(context_.paths.Root(fmt::format("run/udev/data/b{}:{}", major, minor)));
      const UdevDiskProperties props = udev.ok() ? ParseUdevData(*udev) : UdevDiskProperties{};
      AddSample(out[info], 1,
                {{"device", disk->name}, {"major", major}, {"minor", minor}, {"path", props.path},
                 {"wwn", props.wwn}, {"model", props.model}, {"serial", props.serial},
                 {"revision", props.revision}});
      for (size_t i = 0; i < disk->field_count; ++i) {
        AddSample(out[first + i], static_cast<double>(disk->fields[i]) * kDiskFields[i].scale,
                  {{"device", disk->name}});
      }
    }
    return OkStatus();
  }

 private:
  HostContext context_;
  NameFilter device_exclude_;
};

}  // namespace

HostCollectorPtr MakeNetdevCollector(const HostContext& context, std::regex device_exclude) {
  return std::make_unique<NetdevCollector>(context, std::move(device_exclude));
}
HostCollectorPtr MakeDiskstatsCollector(const HostContext& context, std::regex device_exclude) {
  return std::make_unique<DiskstatsCollector>(context, std::move(device_exclude));
}

}  // namespace mingus::agent::host
