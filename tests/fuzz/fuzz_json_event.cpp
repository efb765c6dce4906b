// The JSON event parser: any line is an event or a counted error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mingus/wire/json_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mingus::wire::JsonEventParser parser;
  mingus::wire::JsonEvent event;
  (void)parser.Parse(std::string_view(reinterpret_cast<const char*>(data), size), event);
  return 0;
}
