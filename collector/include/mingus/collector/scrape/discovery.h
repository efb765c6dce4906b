#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/config.h"
#include "mingus/collector/scrape/scraper.h"
#include "mingus/common/status.h"

// Where targets come from: static_configs and file_sd_configs, in Prometheus' formats.
namespace mingus::collector::scrape {

// A file_sd file: a JSON or YAML list of {targets: [host:port...], labels: {name: value}}.
// Errors name the file, line and reason.
StatusOr<std::vector<TargetGroup>> ParseFileSd(std::string_view content,
                                               const std::string& file_name);

// The targets of one job: `job` and `instance` (the address, unless the group sets it) and the
// group's labels on each. A target listed twice with the same labels is scraped once.
std::vector<Target> BuildTargets(const ScrapeConfig& config,
                                 const std::vector<TargetGroup>& groups);

// The file_sd files of one scrape config, re-read when they change (size or modification
// time) or their refresh_interval passes. A file that fails to parse keeps the groups it had
// before and reports the error, as Prometheus does; a file that disappears loses its groups.
class FileDiscovery {
 public:
  FileDiscovery(std::vector<FileSdConfig> configs, std::string base_directory);

  // Re-reads what changed; true when the groups changed. Errors go to `errors`.
  bool Refresh(std::chrono::steady_clock::time_point now, std::vector<std::string>& errors);
  std::vector<TargetGroup> Groups() const;

 private:
  struct FileState {
    std::filesystem::file_time_type modified;
    uintmax_t size = 0;
    std::vector<TargetGroup> groups;
  };
  std::vector<std::string> MatchingFiles(const FileSdConfig& config) const;

  std::vector<FileSdConfig> configs_;
  std::string base_directory_;
  std::map<std::string, FileState> files_;
  std::vector<std::chrono::steady_clock::time_point> next_full_read_;  // per config
};

}  // namespace mingus::collector::scrape
