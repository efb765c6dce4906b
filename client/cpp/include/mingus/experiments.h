#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/client.h"

// Deterministic variant assignment (docs/experiments.md): the same user gets the same variant
// from every service, language and run, with no state kept anywhere.
namespace mingus::client {

struct Variant {
  std::string name;
  uint32_t weight = 1;  // positive; up to 10^6
};

// FNV-1a 64-bit over the experiment's bytes, one 0x00 byte, then the user id's bytes.
inline uint64_t ExperimentHash(std::string_view experiment, std::string_view user_id) {
  uint64_t hash = 0xcbf29ce484222325ull;
  const auto mix = [&hash](unsigned char byte) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  };
  for (const char c : experiment) mix(static_cast<unsigned char>(c));
  mix(0);
  for (const char c : user_id) mix(static_cast<unsigned char>(c));
  return hash;
}

// The variant `user_id` sees: the first i with bucket * total < (w_0 + ... + w_i) * 10000,
// where bucket = hash mod 10000. Empty when there are no variants or every weight is 0.
inline std::string_view AssignVariant(std::string_view experiment, std::string_view user_id,
                                      std::span<const Variant> variants) {
  uint64_t total = 0;
  for (const Variant& v : variants) total += v.weight;
  const uint64_t scaled_bucket = ExperimentHash(experiment, user_id) % 10000 * total;
  uint64_t cumulative = 0;
  for (const Variant& v : variants) {
    cumulative += v.weight;
    if (scaled_bucket < cumulative * 10000) return v.name;
  }
  return {};
}

// An experiment's variants and its events: Expose when the user is shown their variant,
// Convert when they convert. Thread-safe (it is immutable).
class Experiment {
 public:
  Experiment(Client& client, std::string name, std::vector<Variant> variants)
      : client_(client), name_(std::move(name)), variants_(std::move(variants)) {}

  std::string_view Assign(std::string_view user_id) const {
    return AssignVariant(name_, user_id, variants_);
  }
  // Sends the exposure event and returns the variant.
  std::string_view Expose(std::string_view user_id) const {
    const std::string_view variant = Assign(user_id);
    client_.TrackExposure(name_, variant, user_id);
    return variant;
  }
  void Convert(std::string_view user_id) const {
    client_.TrackConversion(name_, Assign(user_id), user_id);
  }

 private:
  Client& client_;
  const std::string name_;
  const std::vector<Variant> variants_;
};

}  // namespace mingus::client
