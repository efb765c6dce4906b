#include "mingus/agent/host/host_metrics.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "mingus/metrics/family_builder.h"

namespace mingus::agent::host {

namespace {

HostCollectorPtr MakeCollector(const std::string& name, const HostContext& context,
                               const HostCollectorsConfig& config) {
  if (name == "cpu") return MakeCpuCollector(context);
  if (name == "diskstats") {
    return MakeDiskstatsCollector(context, std::regex(config.diskstats_device_exclude));
  }
  if (name == "filesystem") {
    return MakeFilesystemCollector(context, std::regex(config.filesystem_mount_points_exclude),
                                   std::regex(config.filesystem_fs_types_exclude));
  }
  if (name == "loadavg") return MakeLoadavgCollector(context);
  if (name == "meminfo") return MakeMeminfoCollector(context);
  if (name == "netdev") return MakeNetdevCollector(context, std::regex(config.netdev_device_exclude));
  if (name == "stat") return MakeStatCollector(context);
  if (name == "time") return MakeTimeCollector(context);
  if (name == "uname") return MakeUnameCollector(context);
  throw std::invalid_argument("unknown host collector " + name);
}

}  // namespace

HostMetrics::HostMetrics(const HostContext& context, const HostCollectorsConfig& config,
                         prometheus::Family<prometheus::Counter>& errors) {
  for (const auto& name : kHostCollectorNames) {
    const auto enabled = config.enabled.find(name);
    if (enabled == config.enabled.end() || !enabled->second) continue;
    auto entry = std::make_unique<Entry>();
    entry->name = name;
    entry->collector = MakeCollector(name, context, config);
    entry->errors = &errors.Add({{"collector", name}});
    entries_.push_back(std::move(entry));
  }
}

std::vector<prometheus::MetricFamily> HostMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  out.reserve(128);
  std::vector<prometheus::MetricFamily> self;
  metrics::AddFamily(self, "mingus_agent_scrape_collector_duration_seconds",
                     "Duration of a host collector's scrape.", MetricType::Gauge);
  metrics::AddFamily(self, "mingus_agent_scrape_collector_success",
                     "Whether a host collector succeeded.", MetricType::Gauge);
  auto& duration = self[0];  // references taken once both exist: AddFamily may reallocate
  auto& success = self[1];
  for (const auto& entry : entries_) {
    const auto start = std::chrono::steady_clock::now();
    const size_t before = out.size();
    const Status status = entry->collector->Collect(out);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (status.ok()) {
      if (entry->failing.exchange(false)) {
        spdlog::info("collector {} recovered", entry->name);
      }
    } else {
      out.resize(before);  // all or nothing
      entry->errors->Increment();
      if (!entry->failing.exchange(true)) {
        spdlog::warn("collector {} failed, its metrics are left out until it recovers: {}",
                     entry->name, status.message());
      }
    }
    metrics::AddSample(duration, took.count(), {{"collector", entry->name}});
    metrics::AddSample(success, status.ok() ? 1 : 0, {{"collector", entry->name}});
  }
  std::move(self.begin(), self.end(), std::back_inserter(out));
  return out;
}

}  // namespace mingus::agent::host
