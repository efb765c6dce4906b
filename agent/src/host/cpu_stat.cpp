// The cpu and stat collectors: both read /proc/stat, as in node_exporter.
#include <array>

#include "mingus/agent/host/collectors.h"
#include "mingus/agent/host/procfs.h"
#include "mingus/common/file.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::agent::host {

namespace {

using metrics::AddFamily;
using metrics::AddSample;
using prometheus::MetricType;

// USER_HZ is part of the kernel ABI: 100 wherever /proc/stat is written in ticks.
constexpr double kUserHz = 100;

StatusOr<ProcStat> ReadProcStat(const HostContext& context) {
  const auto content = ReadFile(context.paths.Proc("stat"));
  if (!content.ok()) return content.status();
  return ParseProcStat(*content);
}

class CpuCollector final : public HostCollector {
 public:
  explicit CpuCollector(const HostContext& context) : context_(context) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    const auto stat = ReadProcStat(context_);
    if (!stat.ok()) return stat.status();
    static constexpr std::array<std::string_view, 8> kModes = {
        "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};
    auto& seconds = AddFamily(out, "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
                              MetricType::Counter);
    seconds.metric.reserve(stat->cpus.size() * kModes.size());
    for (const auto& cpu : stat->cpus) {
      for (size_t mode = 0; mode < kModes.size(); ++mode) {
        AddSample(seconds, static_cast<double>(cpu.ticks[mode]) / kUserHz,
                  {{"cpu", cpu.cpu}, {"mode", kModes[mode]}});
      }
    }
    auto& guest = AddFamily(out, "node_cpu_guest_seconds_total",
                            "Seconds the CPUs spent in guests (VMs) for each mode.",
                            MetricType::Counter);
    for (const auto& cpu : stat->cpus) {
      AddSample(guest, static_cast<double>(cpu.ticks[8]) / kUserHz, {{"cpu", cpu.cpu}, {"mode", "user"}});
      AddSample(guest, static_cast<double>(cpu.ticks[9]) / kUserHz, {{"cpu", cpu.cpu}, {"mode", "nice"}});
    }
    return OkStatus();
  }

 private:
  HostContext context_;
};

class StatCollector final : public HostCollector {
 public:
  explicit StatCollector(const HostContext& context) : context_(context) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    const auto stat = ReadProcStat(context_);
    if (!stat.ok()) return stat.status();
    const auto add = [&](std::string name, std::string help, MetricType type, uint64_t value) {
      AddSample(AddFamily(out, std::move(name), std::move(help), type), static_cast<double>(value));
    };
    add("node_boot_time_seconds", "Node boot time, in unixtime.", MetricType::Gauge, stat->boot_time);
    add("node_context_switches_total", "Total number of context switches.", MetricType::Counter,
        stat->context_switches);
    add("node_forks_total", "Total number of forks.", MetricType::Counter, stat->forks);
    add("node_intr_total", "Total number of interrupts serviced.", MetricType::Counter,
        stat->interrupts);
    add("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
        MetricType::Gauge, stat->procs_blocked);
    add("node_procs_running", "Number of processes in runnable state.", MetricType::Gauge,
        stat->procs_running);
    return OkStatus();
  }

 private:
  HostContext context_;
};

}  // namespace

HostCollectorPtr MakeCpuCollector(const HostContext& context) {
  return std::make_unique<CpuCollector>(context);
}
HostCollectorPtr MakeStatCollector(const HostContext& context) {
  return std::make_unique<StatCollector>(context);
}

}  // namespace mingus::agent::host
