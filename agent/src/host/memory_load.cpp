// The meminfo and loadavg collectors.
#include "mingus/agent/host/collectors.h"
#include "mingus/agent/host/procfs.h"
#include "mingus/common/file.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::agent::host {

namespace {

using metrics::AddFamily;
using metrics::AddSample;
using prometheus::MetricType;

class MeminfoCollector final : public HostCollector {
 public:
  explicit MeminfoCollector(const HostContext& context) : context_(context) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    const auto content = ReadFile(context_.paths.Proc("meminfo"));
    if (!content.ok()) return content.status();
    const auto fields = ParseMeminfo(*content);
    if (!fields.ok()) return fields.status();
    for (const auto& field : *fields) {
      AddSample(AddFamily(out, "node_memory_" + field.name,
                          "Memory information field " + field.name + ".", MetricType::Gauge),
                field.value);
    }
    return OkStatus();
  }

 private:
  HostContext context_;
};

class LoadavgCollector final : public HostCollector {
 public:
  explicit LoadavgCollector(const HostContext& context) : context_(context) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    const auto content = ReadFile(context_.paths.Proc("loadavg"));
    if (!content.ok()) return content.status();
    const auto load = ParseLoadavg(*content);
    if (!load.ok()) return load.status();
    AddSample(AddFamily(out, "node_load1", "1m load average.", MetricType::Gauge), load->load1);
    AddSample(AddFamily(out, "node_load5", "5m load average.", MetricType::Gauge), load->load5);
    AddSample(AddFamily(out, "node_load15", "15m load average.", MetricType::Gauge), load->load15);
    return OkStatus();
  }

 private:
  HostContext context_;
};

}  // namespace

HostCollectorPtr MakeMeminfoCollector(const HostContext& context) {
  return std::make_unique<MeminfoCollector>(context);
}
HostCollectorPtr MakeLoadavgCollector(const HostContext& context) {
  return std::make_unique<LoadavgCollector>(context);
}

}  // namespace mingus::agent::host
