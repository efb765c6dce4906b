// SQL fingerprinting: no crash on any input, and a fingerprint is its own fingerprint (so the
// collector may fingerprint again what agents already did).
#include <cstddef>
#include <cstdint>
#include <string>

#include "mingus/sql/fingerprint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string query(reinterpret_cast<const char*>(data), size);
  const std::string fingerprint = mingus::sql::Fingerprint(query);
  if (mingus::sql::Fingerprint(fingerprint) != fingerprint) __builtin_trap();
  return 0;
}
