// Every /proc parser on arbitrary text: no crash, no sanitizer report, and never a value
// without a complete parse.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mingus/agent/host/procfs.h"
#include "mingus/metrics/process_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mingus;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)agent::host::ParseProcStat(text);
  (void)agent::host::ParseMeminfo(text);
  (void)agent::host::ParseLoadavg(text);
  (void)agent::host::ParseNetDev(text);
  (void)agent::host::ParseDiskstats(text);
  (void)agent::host::ParseMounts(text);
  (void)agent::host::ParseUdevData(text);
  (void)metrics::ParseProcessStat(text);
  (void)metrics::ParseProcessLimits(text);
  (void)metrics::ParseBootTime(text);
  return 0;
}
