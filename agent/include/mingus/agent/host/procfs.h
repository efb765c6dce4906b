#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/common/status.h"

// Pure parsers for the /proc and /sys files the host collectors read. Each takes the whole file
// as text and either returns every value or an error naming the line and reason, never a
// partial result: a family is exposed complete or not at all.
namespace mingus::agent::host {

// /proc/stat. CPU times are in USER_HZ ticks, as the kernel writes them.
struct CpuTicks {
  std::string cpu;  // "0", "1", ... (the aggregate "cpu" line is not kept)
  // user nice system idle iowait irq softirq steal guest guest_nice; absent ones stay 0.
  std::array<uint64_t, 10> ticks{};
};
struct ProcStat {
  std::vector<CpuTicks> cpus;
  uint64_t boot_time = 0;
  uint64_t context_switches = 0;
  uint64_t interrupts = 0;
  uint64_t forks = 0;
  uint64_t procs_running = 0;
  uint64_t procs_blocked = 0;
};
StatusOr<ProcStat> ParseProcStat(std::string_view text);

// /proc/meminfo. `name` is node_exporter's: "Active(anon)" becomes "Active_anon", and fields
// given in kB get "_bytes" appended and are converted to bytes.
struct MeminfoField {
  std::string name;
  double value = 0;
};
StatusOr<std::vector<MeminfoField>> ParseMeminfo(std::string_view text);

// /proc/loadavg.
struct LoadAverage {
  double load1 = 0, load5 = 0, load15 = 0;
};
StatusOr<LoadAverage> ParseLoadavg(std::string_view text);

// /proc/net/dev, in the file's column order.
inline constexpr std::array<std::string_view, 16> kNetDevColumns = {
    "receive_bytes",      "receive_packets",   "receive_errs",       "receive_drop",
    "receive_fifo",       "receive_frame",     "receive_compressed", "receive_multicast",
    "transmit_bytes",     "transmit_packets",  "transmit_errs",      "transmit_drop",
    "transmit_fifo",      "transmit_colls",    "transmit_carrier",   "transmit_compressed"};
struct NetDevice {
  std::string name;
  std::array<uint64_t, kNetDevColumns.size()> counters{};
};
StatusOr<std::vector<NetDevice>> ParseNetDev(std::string_view text);

// /proc/diskstats. Kernels write 11, 15 (discards, 4.18+) or 17 (flushes, 5.5+) counters.
struct DiskStats {
  uint32_t major = 0, minor = 0;
  std::string name;
  size_t field_count = 0;  // how many of `fields` the kernel wrote
  std::array<uint64_t, 17> fields{};
};
StatusOr<std::vector<DiskStats>> ParseDiskstats(std::string_view text);

// /proc/<pid>/mounts, with the kernel's octal escapes (\040 for a space) decoded.
struct Mount {
  std::string device, mount_point, fs_type;
  bool read_only = false;
};
StatusOr<std::vector<Mount>> ParseMounts(std::string_view text);

// /run/udev/data/b<major>:<minor>: the "E:KEY=VALUE" properties node_disk_info labels use.
struct UdevDiskProperties {
  std::string path, wwn, model, serial, revision;
};
UdevDiskProperties ParseUdevData(std::string_view text);

}  // namespace mingus::agent::host
