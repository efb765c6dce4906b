#pragma once

#include <string_view>

#include <spdlog/common.h>

#include "mingus/common/status.h"

// One log setup for both daemons: stderr, UTC timestamps, logfmt (as Prometheus writes) or JSON.
namespace mingus::logging {

enum class Format { kLogfmt, kJson };

StatusOr<spdlog::level::level_enum> ParseLevel(std::string_view level);  // debug|info|warn|error
StatusOr<Format> ParseFormat(std::string_view format);                   // logfmt|json

// Replaces the default logger with a stderr logger named `program` in this format and level.
void Setup(std::string_view program, spdlog::level::level_enum level, Format format);

// Formats one record; exposed so tests can check the escaping without capturing stderr.
std::string FormatRecord(Format format, std::string_view timestamp, std::string_view level,
                         std::string_view message);

}  // namespace mingus::logging
