#include "mingus/collector/tsdb/ref_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

namespace mingus::collector::tsdb {
namespace {

using Table = RefTable<int, uint64_t>;

std::vector<std::pair<uint64_t, int>> Contents(const Table& table) {
  std::vector<std::pair<uint64_t, int>> out;
  for (const auto& [ref, value] : table) out.emplace_back(ref, *value);
  return out;
}

TEST(RefTableTest, FindsInsertsAndErasesAcrossPages) {
  Table table;
  const uint64_t far = 5 * Table::kPageSize + 7;
  table.Insert(1, std::make_unique<int>(10));
  table.Insert(far, std::make_unique<int>(20));
  table.Insert(Table::kPageSize, std::make_unique<int>(30));
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(*table.Find(1), 10);
  EXPECT_EQ(table.at(far), 20);
  EXPECT_EQ(table.Find(2), nullptr);
  EXPECT_EQ(table.Find(far + Table::kPageSize), nullptr);           // past the last page
  EXPECT_THROW(table.at(3 * Table::kPageSize), std::out_of_range);  // a page never made
  EXPECT_THAT(Contents(table),
              ::testing::ElementsAre(std::pair<uint64_t, int>{1, 10},
                                     std::pair<uint64_t, int>{Table::kPageSize, 30},
                                     std::pair<uint64_t, int>{far, 20}));
  table.Insert(1, std::make_unique<int>(11));  // replaces
  EXPECT_EQ(table.size(), 3u);
  table.Erase(1);
  table.Erase(1);  // twice is harmless
  table.Erase(2 * Table::kPageSize);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.Find(1), nullptr);
  table.Erase(Table::kPageSize);
  table.Erase(far);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.begin() == table.end());
}

TEST(RefTableTest, AgreesWithAMapUnderRandomChurn) {
  Table table;
  std::map<uint64_t, int> reference;
  std::mt19937_64 random(42);
  uint64_t next_ref = 1;
  for (int step = 0; step < 20000; ++step) {
    if (random() % 3 != 0 || reference.empty()) {
      const int value = static_cast<int>(random() % 1000);
      table.Insert(next_ref, std::make_unique<int>(value));
      reference[next_ref++] = value;
    } else {
      // Erase a random live ref, so whole pages empty out and go.
      auto it = reference.lower_bound(random() % next_ref);
      if (it == reference.end()) it = reference.begin();
      table.Erase(it->first);
      reference.erase(it);
    }
  }
  EXPECT_EQ(table.size(), reference.size());
  std::vector<std::pair<uint64_t, int>> expected(reference.begin(), reference.end());
  EXPECT_EQ(Contents(table), expected);
  // From(ref) starts at the first live ref at or after it, wherever it falls.
  for (uint64_t from = 0; from <= next_ref + Table::kPageSize; from += 97) {
    const auto want = reference.lower_bound(from);
    const auto got = table.From(from);
    if (want == reference.end()) {
      EXPECT_TRUE(got == table.end()) << from;
    } else {
      ASSERT_FALSE(got == table.end()) << from;
      EXPECT_EQ((*got).first, want->first) << from;
    }
  }
}

}  // namespace
}  // namespace mingus::collector::tsdb
