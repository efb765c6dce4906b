#include "mingus/agent/host/name_filter.h"

namespace mingus::agent::host {

bool NameFilter::Matches(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const std::string key(name);
  if (const auto it = remembered_.find(key); it != remembered_.end()) return it->second;
  if (remembered_.size() >= kMaxRemembered) remembered_.clear();
  const bool matches = std::regex_search(key, pattern_);
  remembered_.emplace(key, matches);
  return matches;
}

}  // namespace mingus::agent::host
