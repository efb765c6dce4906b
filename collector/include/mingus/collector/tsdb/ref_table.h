#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mingus::collector::tsdb {

// Values by their ref, for refs handed out in increasing order (as Head does): a table of
// pages of kPageSize slots. A lookup is two loads with no hashing, refs written in the order
// they were made (as a scrape writes them) are visited in memory order, and a page goes when
// its last value does, so refs of series long gone cost nothing. Iterates in ref order.
template <typename T, typename Ref = uint64_t>
class RefTable {
 public:
  static constexpr size_t kPageBits = 10;
  static constexpr size_t kPageSize = size_t{1} << kPageBits;

 private:
  struct Page {
    std::array<std::unique_ptr<T>, kPageSize> slots;
    size_t live = 0;
  };

 public:

  T* Find(Ref ref) const {
    const size_t page = static_cast<size_t>(ref >> kPageBits);
    if (page >= pages_.size() || pages_[page] == nullptr) return nullptr;
    return pages_[page]->slots[ref & (kPageSize - 1)].get();
  }
  T& at(Ref ref) const {
    T* value = Find(ref);
    if (value == nullptr)
      throw std::out_of_range("RefTable: no value for ref " + std::to_string(ref));
    return *value;
  }
  void Insert(Ref ref, std::unique_ptr<T> value) {
    const size_t page = static_cast<size_t>(ref >> kPageBits);
    if (page >= pages_.size()) pages_.resize(page + 1);
    if (pages_[page] == nullptr) pages_[page] = std::make_unique<Page>();
    auto& slot = pages_[page]->slots[ref & (kPageSize - 1)];
    if (slot == nullptr) {
      ++pages_[page]->live;
      ++size_;
    }
    slot = std::move(value);
  }
  void Erase(Ref ref) {
    const size_t page = static_cast<size_t>(ref >> kPageBits);
    if (page >= pages_.size() || pages_[page] == nullptr) return;
    auto& slot = pages_[page]->slots[ref & (kPageSize - 1)];
    if (slot == nullptr) return;
    slot.reset();
    --size_;
    if (--pages_[page]->live == 0) pages_[page].reset();
  }
  size_t size() const { return size_; }

  // (ref, value) pairs in ref order. Erase() invalidates iterators.
  class Iterator {
   public:
    std::pair<Ref, T*> operator*() const {
      return {static_cast<Ref>(page_ << kPageBits | slot_), (*pages_)[page_]->slots[slot_].get()};
    }
    Iterator& operator++() {
      ++slot_;
      Settle();
      return *this;
    }
    bool operator==(const Iterator& other) const {
      return page_ == other.page_ && slot_ == other.slot_;
    }

   private:
    friend class RefTable;
    Iterator(const std::vector<std::unique_ptr<Page>>* pages, size_t page, size_t slot = 0)
        : pages_(pages), page_(page), slot_(slot) {
      Settle();
    }
    // Moves to the first value at or after (page_, slot_).
    void Settle() {
      for (; page_ < pages_->size(); ++page_, slot_ = 0) {
        const auto& page = (*pages_)[page_];
        if (page == nullptr) continue;
        for (; slot_ < kPageSize; ++slot_) {
          if (page->slots[slot_] != nullptr) return;
        }
      }
      slot_ = 0;
    }
    const std::vector<std::unique_ptr<Page>>* pages_;
    size_t page_, slot_ = 0;
  };
  Iterator begin() const { return Iterator(&pages_, 0); }
  Iterator end() const { return Iterator(&pages_, pages_.size()); }
  // The first value whose ref is `ref` or later.
  Iterator From(Ref ref) const {
    const size_t page = static_cast<size_t>(ref >> kPageBits);
    if (page >= pages_.size()) return end();
    return Iterator(&pages_, page, ref & (kPageSize - 1));
  }

 private:
  std::vector<std::unique_ptr<Page>> pages_;
  size_t size_ = 0;
};

}  // namespace mingus::collector::tsdb
