#pragma once

#include <atomic>

#include "mingus/common/clock.h"

namespace mingus::testing {

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)))
      : now_(start.time_since_epoch().count()) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::system_clock::duration(now_.load()));
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(
        std::chrono::system_clock::duration(now_.load() - stepped_.load()));
  }
  // Time passes.
  void Advance(std::chrono::system_clock::duration by) { now_ += by.count(); }
  // The wall clock is set (by NTP or an administrator); monotonic time stays.
  void StepWall(std::chrono::system_clock::duration by) {
    now_ += by.count();
    stepped_ += by.count();
  }

 private:
  std::atomic<std::chrono::system_clock::rep> now_;
  std::atomic<std::chrono::system_clock::rep> stepped_{0};
};

}  // namespace mingus::testing
