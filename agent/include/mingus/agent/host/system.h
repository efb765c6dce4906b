#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mingus/common/status.h"

namespace mingus::agent::host {

// Where the host's files are: node_exporter's --path.procfs, --path.sysfs and --path.rootfs.
struct HostPaths {
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  std::string rootfs = "/";
  std::string Proc(std::string_view relative) const;
  std::string Sys(std::string_view relative) const;
  std::string Root(std::string_view relative) const;
};

struct FilesystemUsage {
  uint64_t block_size = 0, blocks = 0, blocks_free = 0, blocks_available = 0;
  uint64_t files = 0, files_free = 0;
};

struct UnameInfo {
  std::string sysname, nodename, release, version, machine, domainname;
};

struct TimeZoneInfo {
  std::string name;  // "UTC", "CET"
  int64_t offset_seconds = 0;
};

// The parts of the host read through system calls rather than files. Tests use a fake so that
// every collector's output is exact. Implementations are thread-safe.
class SystemCalls {
 public:
  virtual ~SystemCalls() = default;
  virtual StatusOr<FilesystemUsage> Statfs(const std::string& path) const = 0;
  virtual StatusOr<UnameInfo> Uname() const = 0;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  virtual TimeZoneInfo LocalTimeZone(std::chrono::system_clock::time_point at) const = 0;
};

std::unique_ptr<SystemCalls> MakeRealSystemCalls();

}  // namespace mingus::agent::host
