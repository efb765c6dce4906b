#include "mingus/common/clock.h"

#include <cstdlib>

namespace mingus {

ClockStepWatch::ClockStepWatch(const Clock& clock, std::chrono::milliseconds tolerance)
    : clock_(clock), tolerance_ms_(tolerance.count()), offset_ms_(OffsetMs()) {}

int64_t ClockStepWatch::OffsetMs() const {
  const auto steady =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.SteadyNow().time_since_epoch());
  return UnixMillis(clock_) - steady.count();
}

int64_t ClockStepWatch::TakeStepMs() {
  const int64_t offset = OffsetMs();
  const int64_t step = offset - offset_ms_;
  offset_ms_ = offset;
  return std::llabs(step) > tolerance_ms_ ? step : 0;
}

}  // namespace mingus
