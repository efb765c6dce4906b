// The collector's YAML configuration loader and the file_sd target-file parser: any input either
// loads or is refused (ConfigError, or an error Status naming the file and line); any other
// exception or crash is a bug. The first byte picks which of the two reads the rest.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mingus/collector/config.h"
#include "mingus/collector/scrape/discovery.h"
#include "mingus/config/yaml_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    try {
      (void)mingus::collector::ParseCollectorConfig(text, "fuzz.yaml", {});
    } catch (const mingus::config::ConfigError&) {
    }
  } else {
    (void)mingus::collector::scrape::ParseFileSd(text, "fuzz.json");
  }
  return 0;
}
