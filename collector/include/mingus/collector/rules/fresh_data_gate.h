#pragma once

#include <cstdint>
#include <functional>

namespace mingus::collector::rules {

// After the collector starts, and after a step of the wall clock, the newest samples in the head
// may be older than the rules expect: the last flush interval before a kill -9 is lost, and
// after a forward step every sample is dated before it. Rules evaluated on that would resolve
// alerts that the next scrape fires again. So the gate, once closed, admits evaluations only
// from the first turn after every target has been scraped since, or after the longest wait (a
// target that never answers must not stop the rules).
class FreshDataGate {
 public:
  // Whether every target has a scrape that started at or after `since_ms`.
  using ScrapedSince = std::function<bool(int64_t since_ms)>;
  // The longest a target's scrape may take to come in (its interval and timeout), asked at
  // each look: a reload may change it.
  using LongestWait = std::function<int64_t()>;
  FreshDataGate(ScrapedSince scraped_since, LongestWait longest_ms);

  void Close(int64_t now_ms);
  // Whether the evaluation due at `t_ms` may run, looked at `now_ms`.
  bool Admits(int64_t t_ms, int64_t now_ms);

 private:
  static constexpr int64_t kOpen = -1;
  static constexpr int64_t kNotYet = INT64_MAX;
  ScrapedSince scraped_since_;
  LongestWait longest_ms_;
  int64_t closed_at_ms_ = kOpen;
  int64_t fresh_from_ms_ = kNotYet;  // when every target had been scraped since closing
};

}  // namespace mingus::collector::rules
