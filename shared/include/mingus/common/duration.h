#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "mingus/common/status.h"

namespace mingus {

// Prometheus' duration syntax: "15s", "1m30s", "500ms", "2h", "1d", "1w", "1y"; units descend.
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The shortest form ParseDuration reads back: "1m30s", "500ms", "0s".
std::string FormatDuration(std::chrono::milliseconds duration);

// A Unix time in milliseconds as RFC 3339 in UTC, as Go marshals a time.Time in JSON:
// "2026-11-29T10:00:00Z", "2026-11-29T10:00:00.25Z".
std::string FormatRfc3339(int64_t unix_ms);

}  // namespace mingus
