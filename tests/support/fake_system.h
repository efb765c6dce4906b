#pragma once

#include <map>
#include <string>

#include "mingus/agent/host/system.h"

namespace mingus::testing {

// Fixed answers for the system calls the host collectors make, so their output is exact.
class FakeSystemCalls : public agent::host::SystemCalls {
 public:
  std::map<std::string, agent::host::FilesystemUsage> statfs;  // by path; others fail
  agent::host::UnameInfo uname{"Linux", "fixture-host", "6.1.0-13-amd64",
                               "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)", "x86_64",
                               "(none)"};
  std::chrono::system_clock::time_point now{std::chrono::milliseconds(1'795'900'000'250)};
  agent::host::TimeZoneInfo zone{"CET", 3600};

  StatusOr<agent::host::FilesystemUsage> Statfs(const std::string& path) const override {
    const auto it = statfs.find(path);
    if (it == statfs.end()) return Status::Error("statfs " + path + ": no such file or directory");
    return it->second;
  }
  StatusOr<agent::host::UnameInfo> Uname() const override { return uname; }
  std::chrono::system_clock::time_point Now() const override { return now; }
  agent::host::TimeZoneInfo LocalTimeZone(std::chrono::system_clock::time_point) const override {
    return zone;
  }
};

}  // namespace mingus::testing
