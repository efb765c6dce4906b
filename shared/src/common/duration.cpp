#include "mingus/common/duration.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <limits>

namespace mingus {

namespace {
struct Unit {
  std::string_view suffix;
  int64_t millis;
};
// Largest first: the order a duration's parts must come in.
constexpr std::array<Unit, 7> kUnits = {{{"y", 365LL * 24 * 3600 * 1000},
                                         {"w", 7LL * 24 * 3600 * 1000},
                                         {"d", 24LL * 3600 * 1000},
                                         {"h", 3600LL * 1000},
                                         {"m", 60LL * 1000},
                                         {"s", 1000},
                                         {"ms", 1}}};
}  // namespace

StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return Status::Error(fmt::format("duration '{}': {}", text, why));
  };
  if (text.empty()) return fail("empty");
  if (text == "0") return std::chrono::milliseconds(0);
  int64_t total = 0;
  size_t next_unit = 0;  // index into kUnits: later parts must use smaller units
  std::string_view rest = text;
  while (!rest.empty()) {
    int64_t number = 0;
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      if (number > (std::numeric_limits<int64_t>::max() - 9) / 10) return fail("too large");
      number = number * 10 + (rest[digits] - '0');
      ++digits;
    }
    if (digits == 0) return fail("expected a number, e.g. 30s, 5m or 1h30m");
    rest.remove_prefix(digits);
    size_t unit = kUnits.size();
    for (size_t i = 0; i < kUnits.size(); ++i) {
      // "ms" must win over "m" followed by "s".
      const auto& suffix = kUnits[i].suffix;
      if (rest.substr(0, suffix.size()) == suffix && (suffix != "m" || rest.substr(0, 2) != "ms")) {
        unit = i;
        break;
      }
    }
    if (unit == kUnits.size()) return fail("unknown unit; use ms, s, m, h, d, w or y");
    if (unit < next_unit) return fail("units must go from largest to smallest");
    next_unit = unit + 1;
    if (number > (std::numeric_limits<int64_t>::max() - total) / kUnits[unit].millis) {
      return fail("too large");
    }
    total += number * kUnits[unit].millis;
    rest.remove_prefix(kUnits[unit].suffix.size());
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  const int64_t count = duration.count();
  if (count == 0) return "0s";
  std::string out = count < 0 ? "-" : "";
  // In unsigned arithmetic: the magnitude of the most negative count is not an int64.
  uint64_t ms = count < 0 ? 0 - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);
  for (const auto& unit : kUnits) {
    const auto millis = static_cast<uint64_t>(unit.millis);
    if (ms >= millis) {
      out += fmt::format("{}{}", ms / millis, unit.suffix);
      ms %= millis;
    }
  }
  return out;
}

std::string FormatRfc3339(int64_t unix_ms) {
  // Floor division, without unix_ms - 999, which overflows at the most negative time.
  const int64_t millis = (unix_ms % 1000 + 1000) % 1000;
  const int64_t seconds = unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0);
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", utc.tm_year + 1900,
                                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  if (millis != 0) {
    std::string fraction = fmt::format(".{:03}", millis);
    while (fraction.back() == '0') fraction.pop_back();
    out += fraction;
  }
  return out + "Z";
}

}  // namespace mingus
