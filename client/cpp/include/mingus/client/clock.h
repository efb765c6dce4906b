#pragma once

#include <chrono>

namespace mingus::client {

// Monotonic time, injected so that timers and cache TTLs can be tested with a fake clock.
// Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
};

inline const Clock& DefaultClock() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace mingus::client
