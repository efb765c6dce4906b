#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "mingus/common/status.h"

namespace mingus {

// Prometheus' duration syntax: "15s", "1m30s", "500ms", "2h", "1d", "1w", "1y"; units descend.
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The shortest form ParseDuration reads back: "1m30s", "500ms", "0s".
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace mingus
