#include <dirent.h>
#include <unistd.h>

#include "mingus/common/file.h"
#include "mingus/metrics/family_builder.h"
#include "mingus/metrics/process_metrics.h"

namespace mingus::metrics {

namespace {

StatusOr<size_t> CountOpenFds(const std::string& fd_dir) {
  DIR* dir = ::opendir(fd_dir.c_str());
  if (dir == nullptr) return Status::Error(fd_dir + ": cannot list");
  size_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

}  // namespace

ProcessCollector::ProcessCollector(std::string procfs, std::string pid)
    : procfs_(std::move(procfs)), pid_(std::move(pid)) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const auto stat_text = ReadFile(JoinPath(procfs_, pid_ + "/stat"));
  const auto limits_text = ReadFile(JoinPath(procfs_, pid_ + "/limits"));
  const auto system_stat = ReadFile(JoinPath(procfs_, "stat"));
  if (!stat_text.ok() || !limits_text.ok() || !system_stat.ok()) return out;
  const auto stat = ParseProcessStat(*stat_text);
  const auto limits = ParseProcessLimits(*limits_text);
  const auto boot_time = ParseBootTime(*system_stat);
  const auto open_fds = CountOpenFds(JoinPath(procfs_, pid_ + "/fd"));
  if (!stat.ok() || !limits.ok() || !boot_time.ok()) return out;

  // USER_HZ is part of the kernel ABI: 100 on every architecture Linux exposes it for.
  constexpr double kUserHz = 100;
  static const double page_size = static_cast<double>(::sysconf(_SC_PAGESIZE));
  AddSample(AddFamily(out, "process_cpu_seconds_total",
                      "Total user and system CPU time spent in seconds.", MetricType::Counter),
            static_cast<double>(stat->utime_ticks + stat->stime_ticks) / kUserHz);
  AddSample(AddFamily(out, "process_max_fds", "Maximum number of open file descriptors.",
                      MetricType::Gauge),
            static_cast<double>(limits->max_open_files));
  if (open_fds.ok()) {
    AddSample(AddFamily(out, "process_open_fds", "Number of open file descriptors.",
                        MetricType::Gauge),
              static_cast<double>(*open_fds));
  }
  AddSample(AddFamily(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                      MetricType::Gauge),
            static_cast<double>(stat->resident_pages) * page_size);
  AddSample(AddFamily(out, "process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.", MetricType::Gauge),
            static_cast<double>(*boot_time) + static_cast<double>(stat->start_ticks) / kUserHz);
  AddSample(AddFamily(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                      MetricType::Gauge),
            static_cast<double>(stat->virtual_bytes));
  AddSample(AddFamily(out, "process_virtual_memory_max_bytes",
                      "Maximum amount of virtual memory available in bytes.", MetricType::Gauge),
            static_cast<double>(limits->max_address_space));
  return out;
}

}  // namespace mingus::metrics
