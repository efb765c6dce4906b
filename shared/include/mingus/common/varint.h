#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mingus {

// Unsigned LEB128 (as protobuf and Go's encoding/binary write it): 7 bits a byte, low first.
inline size_t UvarintSize(uint64_t value) {
  size_t size = 1;
  for (; value >= 0x80; value >>= 7) ++size;
  return size;
}

inline void PutUvarint(std::string& out, uint64_t value) {
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<char>(value | 0x80));
  out.push_back(static_cast<char>(value));
}

// Takes one value off the front of `in`; false when `in` ends inside it or it overflows.
inline bool GetUvarint(std::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace mingus
