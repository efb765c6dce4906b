#include "mingus/collector/tsdb/head.h"

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mingus::collector::tsdb {
namespace {

using ::testing::ElementsAre;
using Op = Matcher::Op;

Labels L(std::vector<std::pair<std::string, std::string>> pairs) { return *MakeLabels(std::move(pairs)); }
Matcher M(Op op, std::string name, std::string value) { return *Matcher::Make(op, std::move(name), std::move(value)); }

class HeadTest : public ::testing::Test {
 protected:
  HeadTest() {
    up_a_ = head_.GetOrCreate(L({{"__name__", "up"}, {"job", "agent"}, {"instance", "a:9110"}}));
    up_b_ = head_.GetOrCreate(L({{"__name__", "up"}, {"job", "agent"}, {"instance", "b:9110"}}));
    cpu_ = head_.GetOrCreate(L({{"__name__", "node_cpu_seconds_total"}, {"job", "agent"}, {"mode", "idle"}}));
    other_ = head_.GetOrCreate(L({{"__name__", "up"}, {"job", "prometheus"}}));
  }
  Head head_;
  SeriesRef up_a_, up_b_, cpu_, other_;
};

TEST_F(HeadTest, LabelsAreSortedAndIdentifySeries) {
  EXPECT_EQ(head_.GetOrCreate(L({{"job", "agent"}, {"instance", "a:9110"}, {"__name__", "up"}})), up_a_);
  EXPECT_EQ(LabelsString(head_.LabelsOf(up_a_)), R"({__name__="up", instance="a:9110", job="agent"})");
  EXPECT_EQ(head_.series_count(), 4u);
  EXPECT_FALSE(MakeLabels({{"a", "1"}, {"a", "2"}}).ok());
  EXPECT_EQ(L({{"a", ""}, {"b", "x"}}).size(), 1u);  // empty values are no label
}

TEST_F(HeadTest, MatchersFollowPromQL) {
  EXPECT_THAT(head_.Select({M(Op::kEqual, "__name__", "up")}), ElementsAre(up_a_, up_b_, other_));
  EXPECT_THAT(head_.Select({M(Op::kEqual, "__name__", "up"), M(Op::kNotEqual, "job", "prometheus")}),
              ElementsAre(up_a_, up_b_));
  EXPECT_THAT(head_.Select({M(Op::kRegex, "instance", "a.*|b:9110")}), ElementsAre(up_a_, up_b_));
  EXPECT_THAT(head_.Select({M(Op::kRegex, "instance", "a")}), ElementsAre());  // anchored
  EXPECT_THAT(head_.Select({M(Op::kNotRegex, "job", "age.t"), M(Op::kEqual, "__name__", "up")}), ElementsAre(other_));
  // A matcher that accepts "" also accepts series without the label.
  EXPECT_THAT(head_.Select({M(Op::kEqual, "__name__", "up"), M(Op::kEqual, "instance", "")}), ElementsAre(other_));
  EXPECT_THAT(head_.Select({M(Op::kEqual, "mode", "nope")}), ElementsAre());
  EXPECT_FALSE(Matcher::Make(Op::kRegex, "a", "(").ok());
}

TEST_F(HeadTest, AppendsAcrossChunksAndReadsRanges) {
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(head_.Append(cpu_, i * 15'000, i * 0.5));
  EXPECT_FALSE(head_.Append(cpu_, 299 * 15'000, 1));  // duplicate timestamp
  EXPECT_FALSE(head_.Append(cpu_, 10, 1));            // out of order
  EXPECT_GT(head_.chunk_bytes(), 0u);                  // two chunks closed
  const auto all = head_.Samples(cpu_, 0, 1'000'000'000);
  ASSERT_EQ(all.size(), 300u);
  EXPECT_EQ(all[299], (Sample{299 * 15'000, 149.5}));
  const auto window = head_.Samples(cpu_, 1'785'000, 1'815'000);  // samples 119..121, across a cut
  EXPECT_THAT(window, ElementsAre(Sample{1'785'000, 59.5}, Sample{1'800'000, 60}, Sample{1'815'000, 60.5}));
}

TEST_F(HeadTest, TruncateDropsOldChunksAndEmptySeries) {
  for (int i = 0; i < 300; ++i) head_.Append(cpu_, i * 1000, i);
  head_.Append(up_a_, 5, 1);
  head_.Truncate(200'000);
  const auto left = head_.Samples(cpu_, 0, 1'000'000);
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.front().timestamp_ms, 120'000);  // the chunk holding 200 s is kept whole
  EXPECT_THAT(head_.Select({M(Op::kEqual, "instance", "a:9110")}), ElementsAre());
  EXPECT_EQ(head_.series_count(), 1u);  // up_b_ and other_ never had samples
}

TEST_F(HeadTest, ConcurrentAppendsAndQueries) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const SeriesRef ref = head_.GetOrCreate(L({{"__name__", "load"}, {"worker", std::to_string(t)}}));
      for (int i = 0; i < 1000; ++i) {
        head_.Append(ref, i, i);
        if (i % 100 == 0) (void)head_.Select({M(Op::kEqual, "__name__", "load")});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const SeriesRef ref : head_.Select({M(Op::kEqual, "__name__", "load")})) {
    EXPECT_EQ(head_.Samples(ref, 0, 1000).size(), 1000u);
  }
}

}  // namespace
}  // namespace mingus::collector::tsdb
