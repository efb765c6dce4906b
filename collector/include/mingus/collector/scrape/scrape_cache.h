#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/tsdb/head.h"
#include "mingus/common/fast_hash.h"

namespace mingus::collector::scrape {

// The series of a target's last scrape, keyed by their name and labels as written (as
// Prometheus' scrape cache is), so that a steady target costs no key building, label checks,
// sorting or head lookup per sample.
//
// The keys sit back to back in one buffer, in the order the target wrote them, and each sample
// is first compared with the key that followed the last one matched: targets write their series
// in the same order scrape after scrape, so the compares stream through memory in order, where
// a hash probe per sample missed the cache twice (the slot, then the key's own allocation). A
// sample out of that order takes one hash probe. The buffer is rebuilt only when a scrape
// departs from the last one's series or their order.
class ScrapeCache {
 public:
  struct Entry {
    tsdb::SeriesRef ref = 0;
    // As in Prometheus, a series exposed with its own timestamps gets no staleness marker.
    bool explicit_timestamp = false;
  };

  // The entry of the next sample's series (its bytes as written) when the last scrape had it;
  // null for a series to Add(). Valid until the next call.
  Entry* Find(std::string_view series);
  // A series Find() did not know, with its head series.
  void Add(std::string_view series, Entry entry);

  // Ends a scrape. After a successful one, `vanished` gets each series of the last scrape
  // that this one lacked, and the cache holds this scrape's series; after a failed one, it
  // gets every series of the last scrape, and the cache is emptied.
  template <typename Vanished>
  void Commit(bool succeeded, Vanished&& vanished) {
    if (!succeeded) {
      for (const Slot& slot : slots_) vanished(slot.entry);
      Clear();
      return;
    }
    if (!diverged_ && position_ == slots_.size()) {  // the same series in the same order
      Restart();
      return;
    }
    if (!diverged_) Diverge();
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (!matched_[i]) vanished(slots_[i].entry);
    }
    keys_.swap(next_keys_);
    slots_.swap(next_slots_);
    Reindex();
    Restart();
  }
  // Every series of the last scrape, for a target that is gone; the cache is emptied.
  template <typename Each>
  void ForgetAll(Each&& each) {
    for (const Slot& slot : slots_) each(slot.entry);
    Clear();
  }

  size_t size() const { return slots_.size(); }

 private:
  struct Slot {
    uint32_t offset, length;  // the key in keys_
    Entry entry;
  };
  std::string_view Key(const Slot& slot) const {
    return std::string_view(keys_).substr(slot.offset, slot.length);
  }
  // This scrape departs from the last one at position_: its series so far are copied out,
  // and from here on each is appended to next_keys_ and next_slots_.
  void Diverge();
  Entry* Append(std::string_view series, Entry entry);
  void Reindex();
  void Restart();
  void Clear();

  // The last scrape's series, and where each of their keys starts in keys_.
  std::string keys_;
  std::vector<Slot> slots_;
  boost::unordered_flat_map<std::string_view, uint32_t, FastHash> index_;
  std::vector<uint8_t> matched_;  // per slot: this scrape had it

  // The scrape in progress.
  size_t position_ = 0;   // samples so far
  size_t next_slot_ = 0;  // the slot after the last one matched: the likely next series
  bool diverged_ = false;
  std::string next_keys_;
  std::vector<Slot> next_slots_;
};

}  // namespace mingus::collector::scrape
