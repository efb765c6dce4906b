#pragma once

#include <string>

#include "mingus/common/status.h"

namespace mingus {

// Reads a whole file (procfs and sysfs files report size 0, so this reads until EOF).
// Files larger than `max_bytes` are refused rather than truncated.
StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = 16 << 20);

// Joins a root such as "/proc" or a fixture tree with a relative path inside it.
std::string JoinPath(std::string_view root, std::string_view relative);

}  // namespace mingus
