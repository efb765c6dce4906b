#include "mingus/collector/tsdb/packed_labels.h"

#include <cstring>

#include "mingus/common/varint.h"

namespace mingus::collector::tsdb {

PackedLabels::PackedLabels(const Labels& labels) {
  std::string body;
  for (const auto& [name, value] : labels) {
    for (const std::string_view text : {std::string_view(name), std::string_view(value)}) {
      PutUvarint(body, text.size());
      body += text;
    }
  }
  std::string packed;
  packed.reserve(UvarintSize(body.size()) + body.size());
  PutUvarint(packed, body.size());
  packed += body;
  bytes_ = std::make_unique_for_overwrite<char[]>(packed.size());
  std::memcpy(bytes_.get(), packed.data(), packed.size());
}

// Only what the constructor wrote is read, so the lengths need no checks.
PackedLabels::Cursor::Cursor(const char* bytes) {
  if (bytes == nullptr) return;
  std::string_view size_prefix(bytes, UvarintSize(UINT64_MAX));  // ends at its last byte
  uint64_t body = 0;
  GetUvarint(size_prefix, body);
  at_ = size_prefix.data();
  end_ = at_ + body;
}

std::string_view PackedLabels::Cursor::Take() {
  std::string_view rest(at_, static_cast<size_t>(end_ - at_));
  uint64_t size = 0;
  GetUvarint(rest, size);
  at_ = rest.data() + size;
  return rest.substr(0, size);
}

bool PackedLabels::Cursor::Next(std::string_view& name, std::string_view& value) {
  if (at_ == end_) return false;
  name = Take();
  value = Take();
  return true;
}

Labels PackedLabels::Unpack() const {
  Labels labels;
  ForEach([&](std::string_view name, std::string_view value) { labels.emplace_back(name, value); });
  return labels;
}

std::string_view PackedLabels::Get(std::string_view wanted) const {
  Cursor cursor(bytes_.get());
  std::string_view name, value;
  while (cursor.Next(name, value)) {
    if (name == wanted) return value;
    if (name > wanted) break;
  }
  return {};
}

bool PackedLabels::operator==(const Labels& labels) const {
  Cursor cursor(bytes_.get());
  std::string_view name, value;
  for (const auto& [want_name, want_value] : labels) {
    if (!cursor.Next(name, value) || name != want_name || value != want_value) return false;
  }
  return !cursor.Next(name, value);
}

std::strong_ordering operator<=>(const PackedLabels& a, const PackedLabels& b) {
  PackedLabels::Cursor left(a.bytes_.get()), right(b.bytes_.get());
  std::string_view left_name, left_value, right_name, right_value;
  while (true) {
    const bool has_left = left.Next(left_name, left_value);
    const bool has_right = right.Next(right_name, right_value);
    if (!has_left || !has_right) return has_left <=> has_right;
    if (const auto order = left_name <=> right_name; order != 0) return order;
    if (const auto order = left_value <=> right_value; order != 0) return order;
  }
}

}  // namespace mingus::collector::tsdb
