#include "mingus/common/hyperloglog.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

namespace mingus {
namespace {

double RelativeError(double estimate, double truth) { return std::abs(estimate - truth) / truth; }

TEST(HyperLogLog, WithinTwoPercentAtOneHundredThousandUsers) {
  HyperLogLog hll;
  for (int i = 0; i < 100'000; ++i) hll.Add("user-" + std::to_string(i));
  EXPECT_LT(RelativeError(hll.Estimate(), 100'000), 0.02) << hll.Estimate();
  // Repeats change nothing.
  const double before = hll.Estimate();
  for (int i = 0; i < 100'000; ++i) hll.Add("user-" + std::to_string(i));
  EXPECT_EQ(hll.Estimate(), before);
}

TEST(HyperLogLog, ExactEnoughAtSmallCounts) {
  HyperLogLog hll;
  EXPECT_EQ(hll.Estimate(), 0);
  for (int i = 0; i < 100; ++i) hll.Add(std::to_string(i));
  EXPECT_NEAR(hll.Estimate(), 100, 2);
}

TEST(HyperLogLog, MergeEqualsTheUnion) {
  HyperLogLog a, b, both;
  for (int i = 0; i < 30'000; ++i) {
    a.Add("u" + std::to_string(i));
    both.Add("u" + std::to_string(i));
  }
  for (int i = 20'000; i < 50'000; ++i) {
    b.Add("u" + std::to_string(i));
    both.Add("u" + std::to_string(i));
  }
  a.Merge(b);
  EXPECT_EQ(a.Estimate(), both.Estimate());
  EXPECT_LT(RelativeError(a.Estimate(), 50'000), 0.02);
}

TEST(StableHash64, IsStableAcrossBuilds) {
  // Pinned values (computed independently in Python): sketches from agents of different
  // releases must stay mergeable.
  EXPECT_EQ(StableHash64(""), 0xefd01f60ba992926ULL);
  EXPECT_EQ(StableHash64("user-42"), 0xa39532c7ab051e8dULL);
  EXPECT_NE(StableHash64("user-42"), StableHash64("user-43"));
}

}  // namespace
}  // namespace mingus
