#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mingus/common/status.h"

namespace mingus {

// Reads a whole file (procfs and sysfs files report size 0, so this reads until EOF).
// Files larger than `max_bytes` are refused rather than truncated.
StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = 16 << 20);

// Joins a root such as "/proc" or a fixture tree with a relative path inside it.
std::string JoinPath(std::string_view root, std::string_view relative);

// The regular files matching a glob pattern ("rules/*.yml"), sorted; a relative pattern is taken
// from base_directory. No match is an empty list, not an error, as in Prometheus.
std::vector<std::string> GlobFiles(std::string_view base_directory, std::string_view pattern);

}  // namespace mingus
