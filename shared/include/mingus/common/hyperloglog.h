#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace mingus {

// A stable 64-bit hash (FNV-1a folded through MurmurHash3's finaliser): the same on every
// machine and release, so sketches made by different agents can be merged.
uint64_t StableHash64(std::string_view data);

// Counts distinct items in 16 KiB with a standard error of 0.8% (2^14 registers), so that raw
// user ids never need to be kept or become labels. Not thread-safe: callers lock.
class HyperLogLog {
 public:
  static constexpr int kPrecision = 14;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;

  void Add(std::string_view item) { AddHash(StableHash64(item)); }
  void AddHash(uint64_t hash);
  void Merge(const HyperLogLog& other);
  double Estimate() const;
  void Clear() { registers_.fill(0); }

 private:
  std::array<uint8_t, kRegisters> registers_{};
};

}  // namespace mingus
