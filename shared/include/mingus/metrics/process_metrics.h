#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>

#include "mingus/common/status.h"

namespace mingus::metrics {

// /proc/<pid>/stat fields the process_* metrics use, in ticks and pages as the kernel writes.
struct ProcessStat {
  uint64_t utime_ticks = 0, stime_ticks = 0, start_ticks = 0;
  uint64_t virtual_bytes = 0, resident_pages = 0;
};
StatusOr<ProcessStat> ParseProcessStat(std::string_view text);

// /proc/<pid>/limits soft limits; "unlimited" becomes UINT64_MAX, as Go's client reports it.
struct ProcessLimits {
  uint64_t max_open_files = 0;
  uint64_t max_address_space = 0;
};
StatusOr<ProcessLimits> ParseProcessLimits(std::string_view text);

// The "btime" line of /proc/stat: boot time in unix seconds.
StatusOr<uint64_t> ParseBootTime(std::string_view proc_stat);

// The standard process_* metrics of the Prometheus client libraries, for our own process,
// read from `procfs` (normally /proc). Thread-safe: each Collect reads the files afresh.
class ProcessCollector : public prometheus::Collectable {
 public:
  explicit ProcessCollector(std::string procfs, std::string pid = "self");
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string procfs_;
  std::string pid_;
};

}  // namespace mingus::metrics
