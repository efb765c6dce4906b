// The PromQL parser on any query text: a tree or a positioned error, and a tree's formatted
// form parses again to the same form.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mingus/collector/promql/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mingus::collector::promql;
  const auto expr = Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!expr.ok()) return 0;
  const std::string formatted = Format(**expr);
  const auto again = Parse(formatted);
  if (!again.ok() || Format(**again) != formatted) __builtin_trap();
  return 0;
}
