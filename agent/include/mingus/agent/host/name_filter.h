#pragma once

#include <mutex>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mingus::agent::host {

// A device, mount point or file system type exclusion pattern. std::regex is slow and the
// same few names come back at every scrape, so answers are remembered (up to kMaxRemembered
// names, then the memory starts afresh). Thread-safe.
class NameFilter {
 public:
  explicit NameFilter(std::regex pattern) : pattern_(std::move(pattern)) {}
  bool Matches(std::string_view name) const;

 private:
  static constexpr size_t kMaxRemembered = 4096;
  std::regex pattern_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, bool> remembered_;
};

}  // namespace mingus::agent::host
