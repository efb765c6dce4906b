#include "mingus/collector/tsdb/packed_labels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "mingus/collector/tsdb/head.h"  // LabelsString

namespace mingus::collector::tsdb {
namespace {

TEST(PackedLabelsTest, UnpacksWhatItPacked) {
  const Labels labels = {{"__name__", "http_requests_total"},
                         {"instance", "127.0.0.1:9110"},
                         {"path", std::string(300, 'p')},  // a length of two LEB128 bytes
                         {"quote", std::string("a\0\"\n\xff", 5)}};
  EXPECT_EQ(PackedLabels(labels).Unpack(), labels);
  EXPECT_EQ(PackedLabels(Labels{}).Unpack(), Labels{});
  EXPECT_EQ(PackedLabels().Unpack(), Labels{});
}

TEST(PackedLabelsTest, GetsAValueByNameAndEmptyWhenAbsent) {
  const PackedLabels packed(Labels{{"b", "2"}, {"d", "4"}});
  EXPECT_EQ(packed.Get("b"), "2");
  EXPECT_EQ(packed.Get("d"), "4");
  EXPECT_EQ(packed.Get("a"), "");  // before the first
  EXPECT_EQ(packed.Get("c"), "");  // between two
  EXPECT_EQ(packed.Get("e"), "");  // after the last
  EXPECT_EQ(PackedLabels().Get("b"), "");
}

TEST(PackedLabelsTest, EqualsExactlyTheLabelsItHolds) {
  const Labels labels = {{"job", "agent"}, {"mode", "idle"}};
  const PackedLabels packed(labels);
  EXPECT_TRUE(packed == labels);
  EXPECT_FALSE(packed == (Labels{{"job", "agent"}}));                                // shorter
  EXPECT_FALSE(packed == (Labels{{"job", "agent"}, {"mode", "idle"}, {"x", "1"}}));  // longer
  EXPECT_FALSE(packed == (Labels{{"job", "agent"}, {"mode", "idl"}}));
  // The boundaries count: "ab"="c" is not "a"="bc".
  EXPECT_FALSE(PackedLabels(Labels{{"ab", "c"}}) == (Labels{{"a", "bc"}}));
}

TEST(PackedLabelsTest, OrdersAsTheLabelsTheyHold) {
  std::mt19937 random(7);
  const std::vector<std::string> words = {"", "a", "ab", "b", "\xff", "a\xff", "zz"};
  std::vector<Labels> sets;
  for (int i = 0; i < 300; ++i) {
    Labels labels;
    const int size = static_cast<int>(random() % 4);
    for (int j = 0; j < size; ++j) {
      labels.emplace_back(std::string(1, static_cast<char>('a' + j + random() % 2)),
                          words[random() % words.size()]);
    }
    sets.push_back(labels);
  }
  for (const auto& a : sets) {
    for (const auto& b : sets) {
      EXPECT_TRUE((PackedLabels(a) <=> PackedLabels(b)) == (a <=> b))
          << LabelsString(a) << " vs " << LabelsString(b);
    }
  }
}

}  // namespace
}  // namespace mingus::collector::tsdb
