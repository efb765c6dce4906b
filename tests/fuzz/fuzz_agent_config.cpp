// The agent's YAML configuration loader: any input either loads or is refused with a
// ConfigError; any other exception or crash is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mingus/agent/config.h"
#include "mingus/config/yaml_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  const mingus::agent::Environment no_environment = [](std::string_view) {
    return std::optional<std::string>();
  };
  try {
    (void)mingus::agent::ParseAgentConfig(yaml, "fuzz.yaml", {}, no_environment);
  } catch (const mingus::config::ConfigError&) {
  }
  return 0;
}
