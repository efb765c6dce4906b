// The time and uname collectors.
#include <filesystem>

#include "mingus/agent/host/collectors.h"
#include "mingus/common/file.h"
#include "mingus/common/text.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::agent::host {

namespace {

using metrics::AddFamily;
using metrics::AddSample;
using prometheus::MetricType;

class TimeCollector final : public HostCollector {
 public:
  explicit TimeCollector(const HostContext& context) : context_(context) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    const auto now = context_.system->Now();
    const auto zone = context_.system->LocalTimeZone(now);
    const double seconds =
        std::chrono::duration<double>(now.time_since_epoch()).count();
    AddSample(AddFamily(out, "node_time_seconds", "System time in seconds since epoch (1970).",
                        MetricType::Gauge),
              seconds);
    AddSample(AddFamily(out, "node_time_zone_offset_seconds", "System time zone offset in seconds.",
                        MetricType::Gauge),
              static_cast<double>(zone.offset_seconds), {{"time_zone", zone.name}});
    AddClocksources(out);
    return OkStatus();
  }

 private:
  // /sys/devices/system/clocksource/clocksourceN/{available,current}_clocksource. Optional:
  // containers often hide it, and node_exporter then leaves these families out too.
  void AddClocksources(std::vector<prometheus::MetricFamily>& out) const {
    const std::string dir = context_.paths.Sys("devices/system/clocksource");
    std::error_code ec;
    std::vector<std::string> devices;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("clocksource", 0) == 0 && text::ParseUint64(name.substr(11))) {
        devices.push_back(name);
      }
    }
    if (devices.empty()) return;
    std::sort(devices.begin(), devices.end());
    const size_t first = out.size();
    AddFamily(out, "node_time_clocksource_available_info",
              "Available clocksources read from '/sys/devices/system/clocksource'.",
              MetricType::Gauge);
    AddFamily(out, "node_time_clocksource_current_info",
              "Current clocksource read from '/sys/devices/system/clocksource'.", MetricType::Gauge);
    std::vector<std::string_view> names;
    for (const auto& device : devices) {
      const std::string number = device.substr(11);
      const auto available = ReadFile(dir + "/" + device + "/available_clocksource");
      const auto current = ReadFile(dir + "/" + device + "/current_clocksource");
      if (available.ok()) {
        text::SplitFields(text::Trim(*available), names);
        for (const auto name : names) {
          AddSample(out[first], 1, {{"clocksource", name}, {"device", number}});
        }
      }
      if (current.ok()) {
        AddSample(out[first + 1], 1, {{"clocksource", text::Trim(*current)}, {"device", number}});
      }
    }
  }

  HostContext context_;
};

class UnameCollector final : public HostCollector {
 public:
  explicit UnameCollector(const HostContext& context) : context_(context) {}

  Status Collect(std::vector<prometheus::MetricFamily>& out) const override {
    const auto uname = context_.system->Uname();
    if (!uname.ok()) return uname.status();
    AddSample(AddFamily(out, "node_uname_info",
                        "Labeled system information as provided by the uname system call.",
                        MetricType::Gauge),
              1,
              {{"domainname", uname->domainname},
               {"machine", uname->machine},
               {"nodename", uname->nodename},
               {"release", uname->release},
               {"sysname", uname->sysname},
               {"version", uname->version}});
    return OkStatus();
  }

 private:
  HostContext context_;
};

}  // namespace

HostCollectorPtr MakeTimeCollector(const HostContext& context) {
  return std::make_unique<TimeCollector>(context);
}
HostCollectorPtr MakeUnameCollector(const HostContext& context) {
  return std::make_unique<UnameCollector>(context);
}

}  // namespace mingus::agent::host
