// Prometheus rule files and promtool's series notation: any input either loads or is refused
// (ConfigError naming the file and line, or an error Status); any other exception or crash is a
// bug. The first byte picks which of the two reads the rest.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mingus/collector/rules/rule_file.h"
#include "mingus/collector/rules/rule_test.h"
#include "mingus/config/yaml_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    try {
      (void)mingus::collector::rules::ParseRuleFile(text, "fuzz.yml");
    } catch (const mingus::config::ConfigError&) {
    }
  } else {
    (void)mingus::collector::rules::ParseSeriesValues(text);
  }
  return 0;
}
