#include "mingus/collector/scrape/scrape_cache.h"

namespace mingus::collector::scrape {

ScrapeCache::Entry* ScrapeCache::Find(std::string_view series) {
  size_t slot = next_slot_;
  if (slot >= slots_.size() || Key(slots_[slot]) != series) {
    const auto found = index_.find(series);
    if (found == index_.end()) {
      if (!diverged_) Diverge();
      ++position_;
      return nullptr;
    }
    slot = found->second;
  }
  matched_[slot] = 1;
  next_slot_ = slot + 1;
  if (!diverged_ && slot == position_) {
    ++position_;
    return &slots_[slot].entry;
  }
  if (!diverged_) Diverge();
  ++position_;
  return Append(series, slots_[slot].entry);
}

void ScrapeCache::Add(std::string_view series, Entry entry) {
  // Find() has diverged already: a series it did not know departs from the last scrape.
  Append(series, entry);
}

void ScrapeCache::Diverge() {
  diverged_ = true;
  next_slots_.assign(slots_.begin(), slots_.begin() + static_cast<ptrdiff_t>(position_));
  const size_t prefix = position_ < slots_.size() ? slots_[position_].offset : keys_.size();
  next_keys_.assign(keys_, 0, prefix);
}

ScrapeCache::Entry* ScrapeCache::Append(std::string_view series, Entry entry) {
  next_slots_.push_back(
      {static_cast<uint32_t>(next_keys_.size()), static_cast<uint32_t>(series.size()), entry});
  next_keys_.append(series);
  return &next_slots_.back().entry;
}

void ScrapeCache::Reindex() {
  index_.clear();
  index_.reserve(slots_.size());
  for (uint32_t i = 0; i < slots_.size(); ++i) index_.emplace(Key(slots_[i]), i);
}

void ScrapeCache::Restart() {
  matched_.assign(slots_.size(), 0);
  position_ = 0;
  next_slot_ = 0;
  diverged_ = false;
  next_keys_.clear();
  next_slots_.clear();
}

void ScrapeCache::Clear() {
  keys_.clear();
  slots_.clear();
  index_.clear();
  Restart();
}

}  // namespace mingus::collector::scrape
