#pragma once

#include <compare>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mingus::collector::tsdb {

using Labels = std::vector<std::pair<std::string, std::string>>;  // sorted by name, unique names

// A label set in one allocation: the byte size of what follows, then each name and value as
// its length and its bytes (lengths as unsigned LEB128). The head keeps one a series, where a
// Labels of five labels costs some 370 bytes in eleven allocations and this one about 100.
class PackedLabels {
 public:
  PackedLabels() = default;
  explicit PackedLabels(const Labels& labels);

  Labels Unpack() const;
  // Calls visit(name, value) for each label, in name order.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    Cursor cursor(bytes_.get());
    std::string_view name, value;
    while (cursor.Next(name, value)) visit(name, value);
  }
  std::string_view Get(std::string_view name) const;  // "" when absent, as in PromQL
  bool operator==(const Labels& labels) const;
  // The order of the Labels they hold.
  friend std::strong_ordering operator<=>(const PackedLabels& a, const PackedLabels& b);

 private:
  class Cursor {
   public:
    explicit Cursor(const char* bytes);
    bool Next(std::string_view& name, std::string_view& value);

   private:
    std::string_view Take();
    const char* at_ = nullptr;
    const char* end_ = nullptr;
  };

  std::unique_ptr<char[]> bytes_;
};

}  // namespace mingus::collector::tsdb
