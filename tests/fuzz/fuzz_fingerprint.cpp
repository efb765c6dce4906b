// SQL fingerprinting: no crash on any input, and a fingerprint is its own fingerprint (so the
// collector may fingerprint again what agents already did). The rewrite hints read the same
// input and its fingerprint without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mingus/sql/fingerprint.h"
#include "mingus/sql/rewrite_hints.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string query(reinterpret_cast<const char*>(data), size);
  const std::string fingerprint = mingus::sql::Fingerprint(query);
  if (mingus::sql::Fingerprint(fingerprint) != fingerprint) __builtin_trap();
  mingus::sql::HintContext context;
  context.rows = 1e6;
  context.deep_offset = 1;
  mingus::sql::RewriteHints(query, context);
  mingus::sql::RewriteHints(fingerprint, context);
  return 0;
}
