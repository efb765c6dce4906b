// The chunk decoder on arbitrary bytes (a damaged performance_metrics.db must not crash the
// collector), and encode→decode identity on samples drawn from the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "mingus/collector/tsdb/xor_chunk.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mingus::collector::tsdb;
  (void)DecodeAll(std::string_view(reinterpret_cast<const char*>(data), size));

  XorChunkWriter writer;
  std::vector<Sample> written;
  int64_t t = 0;
  for (size_t i = 0; i + 12 <= size; i += 12) {
    uint32_t step;
    uint64_t bits;
    std::memcpy(&step, data + i, 4);
    std::memcpy(&bits, data + i + 4, 8);
    t += 1 + (step % 100'000'000);
    double value;
    std::memcpy(&value, &bits, 8);
    if (writer.Append(t, value)) written.push_back({t, value});
  }
  const auto decoded = DecodeAll(writer.Bytes());
  if (decoded.size() != written.size()) __builtin_trap();
  for (size_t i = 0; i < decoded.size(); ++i) {
    if (decoded[i].timestamp_ms != written[i].timestamp_ms ||
        std::memcmp(&decoded[i].value, &written[i].value, 8) != 0) {
      __builtin_trap();
    }
  }
  return 0;
}
