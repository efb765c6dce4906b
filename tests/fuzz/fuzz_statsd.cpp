// The StatsD line parser on every line of arbitrary datagrams; a parsed line's views must lie
// inside the line.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mingus/common/text.h"
#include "mingus/wire/statsd.h"

namespace {
bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mingus::wire;
  const std::string_view datagram(reinterpret_cast<const char*>(data), size);
  mingus::text::ForEachLine(datagram, [](std::string_view line) {
    StatsdLine parsed;
    if (ParseStatsdLine(line, parsed)) return;
    if (!Inside(parsed.name, line) || !Inside(parsed.tags, line) || !Inside(parsed.set_member, line)) {
      __builtin_trap();
    }
    ForEachTag(parsed.tags, [&](std::string_view key, std::string_view value) {
      if (key.empty() || !Inside(key, line) || !Inside(value, line)) __builtin_trap();
    });
  });
  return 0;
}
