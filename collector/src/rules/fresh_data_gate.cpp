#include "mingus/collector/rules/fresh_data_gate.h"

#include <utility>

namespace mingus::collector::rules {

FreshDataGate::FreshDataGate(ScrapedSince scraped_since, LongestWait longest_ms)
    : scraped_since_(std::move(scraped_since)), longest_ms_(longest_ms) {}

void FreshDataGate::Close(int64_t now_ms) {
  closed_at_ms_ = now_ms;
  fresh_from_ms_ = kNotYet;
}

bool FreshDataGate::Admits(int64_t t_ms, int64_t now_ms) {
  if (closed_at_ms_ == kOpen) return true;
  if (fresh_from_ms_ == kNotYet && scraped_since_(closed_at_ms_)) fresh_from_ms_ = now_ms;
  // A turn due before the scrapes came in would be evaluated at a time that does not see them.
  if (t_ms < fresh_from_ms_ && now_ms < closed_at_ms_ + longest_ms_()) return false;
  closed_at_ms_ = kOpen;
  return true;
}

}  // namespace mingus::collector::rules
