#pragma once

#include <chrono>
#include <cstdint>

namespace mingus {

// Wall-clock time, injected wherever behaviour depends on it so that tests can use a fake.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, which a step of the wall clock (by an administrator or NTP) leaves
  // alone. A clock that is never stepped may leave it to follow Now().
  virtual std::chrono::steady_clock::time_point SteadyNow() const {
    return std::chrono::steady_clock::time_point(Now().time_since_epoch());
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
};

// Milliseconds since the Unix epoch, the timestamps of samples and alerts.
inline int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline int64_t UnixMillis(const Clock& clock) { return UnixMillis(clock.Now()); }

// Notices steps of the wall clock: the distance between wall and monotonic time changing by
// more than a tolerance between two looks. Slewing (NTP's gradual correction) stays under it.
class ClockStepWatch {
 public:
  explicit ClockStepWatch(const Clock& clock,
                          std::chrono::milliseconds tolerance = std::chrono::seconds(1));
  // How far the wall clock stepped since the last call (negative: backwards), or 0.
  int64_t TakeStepMs();

 private:
  int64_t OffsetMs() const;

  const Clock& clock_;
  int64_t tolerance_ms_;
  int64_t offset_ms_;
};

}  // namespace mingus
