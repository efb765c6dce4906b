#pragma once

#include <chrono>
#include <cstdint>

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

// Milliseconds since the Unix epoch, the timestamps of samples and alerts.
inline int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline int64_t UnixMillis(const Clock& clock) { return UnixMillis(clock.Now()); }

}  // namespace mingus
