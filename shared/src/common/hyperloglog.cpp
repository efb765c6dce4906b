#include "mingus/common/hyperloglog.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace mingus {

uint64_t StableHash64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

HyperLogLog::HyperLogLog(int precision)
    : precision_(std::clamp(precision, 4, 16)), registers_(size_t{1} << precision_, 0) {}

void HyperLogLog::AddHash(uint64_t hash) {
  const size_t index = hash >> (64 - precision_);
  const uint64_t rest = (hash << precision_) | (uint64_t{1} << (precision_ - 1));
  const auto rank = static_cast<uint8_t>(std::countl_zero(rest) + 1);
  registers_[index] = std::max(registers_[index], rank);
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  for (size_t i = 0; i < registers_.size() && i < other.registers_.size(); ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

double HyperLogLog::Estimate() const {
  const double m = static_cast<double>(registers_.size());
  const double alpha = 0.7213 / (1 + 1.079 / m);
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  const double raw = alpha * m * m / sum;
  // Small cardinalities: linear counting on the empty registers is far more exact.
  if (raw <= 2.5 * m && zeros > 0) return m * std::log(m / static_cast<double>(zeros));
  return raw;
}

}  // namespace mingus
