// The exposition parser on any scrape body: a result or a line-numbered error, and every
// delivered sample has a valid name and label names.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mingus/wire/exposition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mingus::wire;
  static ExpositionParser parser;
  ExpositionCallbacks callbacks;
  callbacks.sample = [](const ExpositionSample& sample) {
    if (!IsValidMetricName(sample.name)) __builtin_trap();
    for (const auto& label : sample.labels) {
      if (!IsValidLabelName(label.name)) __builtin_trap();
    }
  };
  (void)parser.Parse(std::string_view(reinterpret_cast<const char*>(data), size), callbacks);
  return 0;
}
