#include "mingus/agent/host/system.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "mingus/common/file.h"

namespace mingus::agent::host {

std::string HostPaths::Proc(std::string_view relative) const { return JoinPath(procfs, relative); }
std::string HostPaths::Sys(std::string_view relative) const { return JoinPath(sysfs, relative); }
std::string HostPaths::Root(std::string_view relative) const { return JoinPath(rootfs, relative); }

namespace {

class RealSystemCalls final : public SystemCalls {
 public:
  StatusOr<FilesystemUsage> Statfs(const std::string& path) const override {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) {
      return Status::Error(fmt::format("statfs {}: {}", path, std::strerror(errno)));
    }
    // f_frsize is the unit of the block counts (Go's Statfs_t.Bsize holds the same value).
    return FilesystemUsage{st.f_frsize, st.f_blocks, st.f_bfree, st.f_bavail, st.f_files, st.f_ffree};
  }

  StatusOr<UnameInfo> Uname() const override {
    struct utsname u {};
    if (::uname(&u) != 0) return Status::Error(fmt::format("uname: {}", std::strerror(errno)));
    return UnameInfo{u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname};
  }

  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }

  TimeZoneInfo LocalTimeZone(std::chrono::system_clock::time_point at) const override {
    const std::time_t t = std::chrono::system_clock::to_time_t(at);
    std::tm local{};
    localtime_r(&t, &local);
    return TimeZoneInfo{local.tm_zone != nullptr ? local.tm_zone : "", local.tm_gmtoff};
  }
};

}  // namespace

std::unique_ptr<SystemCalls> MakeRealSystemCalls() { return std::make_unique<RealSystemCalls>(); }

}  // namespace mingus::agent::host
