#pragma once

#include <chrono>

namespace mingus {

// Wall-clock time, injected wherever behaviour depends on it so that tests can use a fake.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace mingus
