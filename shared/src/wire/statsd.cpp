#include "mingus/wire/statsd.h"

#include <cmath>
#include <cstring>

#include "mingus/common/text.h"
#include "mingus/common/utf8.h"

namespace mingus::wire {

std::string_view ReasonName(StatsdError error) {
  switch (error) {
    case StatsdError::kEmptyLine: return "empty_line";
    case StatsdError::kNotUtf8: return "not_utf8";
    case StatsdError::kMissingValue: return "missing_value";
    case StatsdError::kMissingType: return "missing_type";
    case StatsdError::kUnknownType: return "unknown_type";
    case StatsdError::kBadValue: return "bad_value";
    case StatsdError::kNotFinite: return "not_finite";
    case StatsdError::kNegativeCounter: return "negative_counter";
    case StatsdError::kNegativeTimer: return "negative_timer";
    case StatsdError::kBadSampleRate: return "bad_sample_rate";
    case StatsdError::kOversizedTag: return "oversized_tag";
    case StatsdError::kUnknownSection: return "unknown_section";
    case StatsdError::kEmptyName: return "empty_name";
  }
  return "unknown";
}

namespace {

std::optional<StatsdType> ParseType(std::string_view type) {
  if (type == "c") return StatsdType::kCounter;
  if (type == "g") return StatsdType::kGauge;
  if (type == "ms") return StatsdType::kTimer;
  if (type == "h") return StatsdType::kHistogram;
  if (type == "d") return StatsdType::kDistribution;
  if (type == "s") return StatsdType::kSet;
  return std::nullopt;
}

bool HasOversizedTag(std::string_view tags) {
  while (!tags.empty()) {
    const auto comma = tags.find(',');
    if (tags.substr(0, comma).size() > kMaxTagBytes) return true;
    if (comma == std::string_view::npos) break;
    tags.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<StatsdError> ParseStatsdLine(std::string_view line, StatsdLine& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return StatsdError::kEmptyLine;
  if (!utf8::IsValidUtf8(line)) return StatsdError::kNotUtf8;
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return StatsdError::kMissingValue;
  if (colon == 0) return StatsdError::kEmptyName;
  out = StatsdLine{};
  out.name = line.substr(0, colon);
  std::string_view rest = line.substr(colon + 1);
  const auto bar = rest.find('|');
  if (bar == std::string_view::npos) return rest.empty() ? StatsdError::kMissingValue : StatsdError::kMissingType;
  const std::string_view value = rest.substr(0, bar);
  if (value.empty()) return StatsdError::kMissingValue;
  rest.remove_prefix(bar + 1);
  const auto next_bar = rest.find('|');
  const auto type = ParseType(rest.substr(0, next_bar));
  if (!type) return rest.substr(0, next_bar).empty() ? StatsdError::kMissingType : StatsdError::kUnknownType;
  out.type = *type;
  rest = next_bar == std::string_view::npos ? std::string_view() : rest.substr(next_bar + 1);

  // Optional sections, each once, in any order.
  while (!rest.empty()) {
    const auto end = rest.find('|');
    const std::string_view section = rest.substr(0, end);
    if (!section.empty() && section[0] == '@') {
      const auto rate = text::ParseDouble(section.substr(1));
      if (!rate || !(*rate > 0 && *rate <= 1)) return StatsdError::kBadSampleRate;
      out.sample_rate = *rate;
    } else if (!section.empty() && section[0] == '#') {
      out.tags = section.substr(1);
      if (HasOversizedTag(out.tags)) return StatsdError::kOversizedTag;
    } else if (section.substr(0, 2) == "c:" || (!section.empty() && section[0] == 'T')) {
      // DogStatsD container id and client timestamp: accepted, not used.
    } else {
      return StatsdError::kUnknownSection;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }

  if (out.type == StatsdType::kSet) {
    out.set_member = value;
    return std::nullopt;
  }
  std::string_view number = value;
  if (out.type == StatsdType::kGauge && (number[0] == '+' || number[0] == '-')) {
    out.gauge_delta = true;
  }
  if (number[0] == '+') number.remove_prefix(1);
  const auto parsed = text::ParseDouble(number);
  if (!parsed) return StatsdError::kBadValue;
  if (!std::isfinite(*parsed)) return StatsdError::kNotFinite;
  out.value = *parsed;
  if (out.type == StatsdType::kCounter && out.value < 0) return StatsdError::kNegativeCounter;
  if (out.type == StatsdType::kTimer && out.value < 0) return StatsdError::kNegativeTimer;
  return std::nullopt;
}

}  // namespace mingus::wire
