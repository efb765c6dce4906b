#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

// The StatsD / DogStatsD line format: name:value|type[|@rate][|#k:v,k2:v2][|c:container][|T<ts>]
// Parsing allocates nothing: every view points into the line.
namespace mingus::wire {

enum class StatsdType : uint8_t { kCounter, kGauge, kTimer, kHistogram, kDistribution, kSet };

struct StatsdLine {
  std::string_view name;
  StatsdType type = StatsdType::kCounter;
  double value = 0;             // parsed for every type but sets
  std::string_view set_member;  // the raw value of a set
  bool gauge_delta = false;     // a gauge value with a leading sign adds to the gauge
  double sample_rate = 1;       // in (0, 1]
  std::string_view tags;        // "k:v,k2:v2" without the '#'; see ForEachTag
};

// Why a line was refused; the name is the `reason` label of mingus_agent_parse_errors_total.
enum class StatsdError : uint8_t {
  kEmptyLine,
  kNotUtf8,
  kMissingValue,     // no ':' after the name, or nothing after it
  kMissingType,      // no '|type'
  kUnknownType,
  kBadValue,         // not a number
  kNotFinite,        // NaN or Inf
  kNegativeCounter,
  kNegativeTimer,
  kBadSampleRate,
  kOversizedTag,
  kUnknownSection,   // a '|' section that is none of @rate, #tags, c:container, T<timestamp>
  kEmptyName,
};
std::string_view ReasonName(StatsdError error);

inline constexpr size_t kMaxTagBytes = 256;

// Parses one line (without its '\n'). On success `out` is filled; its views stay valid while
// `line` does.
std::optional<StatsdError> ParseStatsdLine(std::string_view line, StatsdLine& out);

// Calls fn(key, value) for each well-formed tag; returns how many were malformed (no ':' or an
// empty key) and skipped.
template <typename Fn>
size_t ForEachTag(std::string_view tags, Fn&& fn) {
  size_t malformed = 0;
  while (!tags.empty()) {
    const auto comma = tags.find(',');
    const std::string_view tag = tags.substr(0, comma);
    const auto colon = tag.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      if (!tag.empty()) ++malformed;
    } else {
      fn(tag.substr(0, colon), tag.substr(colon + 1));
    }
    if (comma == std::string_view::npos) break;
    tags.remove_prefix(comma + 1);
  }
  return malformed;
}

}  // namespace mingus::wire
