#include "mingus/collector/tsdb/head.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace mingus::collector::tsdb {
namespace {

using ::testing::ElementsAre;
using Op = Matcher::Op;

Labels L(std::vector<std::pair<std::string, std::string>> pairs) {
  return *MakeLabels(std::move(pairs));
}
Matcher M(Op op, std::string name, std::string value) {
  return *Matcher::Make(op, std::move(name), std::move(value));
}

class HeadTest : public ::testing::Test {
 protected:
  HeadTest() {
    up_a_ = head_.GetOrCreate(L({{"__name__", "up"}, {"job", "agent"}, {"instance", "a:9110"}}));
    up_b_ = head_.GetOrCreate(L({{"__name__", "up"}, {"job", "agent"}, {"instance", "b:9110"}}));
    cpu_ = head_.GetOrCreate(
        L({{"__name__", "node_cpu_seconds_total"}, {"job", "agent"}, {"mode", "idle"}}));
    other_ = head_.GetOrCreate(L({{"__name__", "up"}, {"job", "prometheus"}}));
  }
  Head head_;
  SeriesRef up_a_, up_b_, cpu_, other_;
};

TEST_F(HeadTest, LabelsAreSortedAndIdentifySeries) {
  EXPECT_EQ(head_.GetOrCreate(L({{"job", "agent"}, {"instance", "a:9110"}, {"__name__", "up"}})),
            up_a_);
  EXPECT_EQ(LabelsString(head_.LabelsOf(up_a_)),
            R"({__name__="up", instance="a:9110", job="agent"})");
  EXPECT_EQ(head_.series_count(), 4u);
  EXPECT_FALSE(MakeLabels({{"a", "1"}, {"a", "2"}}).ok());
  EXPECT_EQ(L({{"a", ""}, {"b", "x"}}).size(), 1u);  // empty values are no label
}

TEST_F(HeadTest, MatchersFollowPromQL) {
  EXPECT_THAT(head_.Select({M(Op::kEqual, "__name__", "up")}), ElementsAre(up_a_, up_b_, other_));
  EXPECT_THAT(
      head_.Select({M(Op::kEqual, "__name__", "up"), M(Op::kNotEqual, "job", "prometheus")}),
      ElementsAre(up_a_, up_b_));
  EXPECT_THAT(head_.Select({M(Op::kRegex, "instance", "a.*|b:9110")}), ElementsAre(up_a_, up_b_));
  EXPECT_THAT(head_.Select({M(Op::kRegex, "instance", "a")}), ElementsAre());  // anchored
  EXPECT_THAT(head_.Select({M(Op::kNotRegex, "job", "age.t"), M(Op::kEqual, "__name__", "up")}),
              ElementsAre(other_));
  // A matcher that accepts "" also accepts series without the label.
  EXPECT_THAT(head_.Select({M(Op::kEqual, "__name__", "up"), M(Op::kEqual, "instance", "")}),
              ElementsAre(other_));
  EXPECT_THAT(head_.Select({M(Op::kEqual, "mode", "nope")}), ElementsAre());
  EXPECT_FALSE(Matcher::Make(Op::kRegex, "a", "(").ok());
}

TEST_F(HeadTest, MatchersNeedingTheirLabelIntersectPostings) {
  // instance!="" and instance=~".+" keep only series with the label.
  EXPECT_THAT(head_.Select({M(Op::kNotEqual, "instance", "")}), ElementsAre(up_a_, up_b_));
  EXPECT_THAT(head_.Select({M(Op::kEqual, "job", "agent"), M(Op::kRegex, "instance", ".+")}),
              ElementsAre(up_a_, up_b_));
  // A label no series has: matchers accepting "" select everything the others do.
  EXPECT_THAT(head_.Select({M(Op::kEqual, "__name__", "up"), M(Op::kNotEqual, "zone", "x")}),
              ElementsAre(up_a_, up_b_, other_));
  EXPECT_THAT(head_.Select({M(Op::kEqual, "__name__", "up"), M(Op::kRegex, "zone", "x")}),
              ElementsAre());
  EXPECT_THAT(head_.Select({M(Op::kEqual, "job", "agent"), M(Op::kEqual, "__name__", "up"),
                            M(Op::kEqual, "instance", "b:9110")}),
              ElementsAre(up_b_));
}

// Every label set hashing alike: the series must stay apart, be found again, and survive the
// removal of the one that held the hash's slot.
TEST(HeadIndexTest, SeriesWhoseLabelsHashAlikeStayApart) {
  Head head([](const Labels&) -> uint64_t { return 7; });
  const Labels a = L({{"__name__", "m"}, {"k", "a"}}), b = L({{"__name__", "m"}, {"k", "b"}}),
               c = L({{"__name__", "m"}, {"k", "c"}});
  const SeriesRef ra = head.GetOrCreate(a), rb = head.GetOrCreate(b), rc = head.GetOrCreate(c);
  EXPECT_NE(ra, rb);
  EXPECT_NE(rb, rc);
  EXPECT_EQ(head.GetOrCreate(a), ra);
  EXPECT_EQ(head.GetOrCreate(b), rb);
  EXPECT_EQ(head.GetOrCreate(c), rc);
  // a, which took the slot, has only old samples; b and c have recent ones.
  ASSERT_TRUE(head.Append(ra, 1'000, 1));
  ASSERT_TRUE(head.Append(rb, 900'000, 2));
  ASSERT_TRUE(head.Append(rc, 900'000, 3));
  head.Truncate(500'000);
  EXPECT_EQ(head.series_count(), 2u);
  EXPECT_EQ(head.GetOrCreate(b), rb);
  EXPECT_EQ(head.GetOrCreate(c), rc);
  const SeriesRef ra2 = head.GetOrCreate(a);  // a new series now
  EXPECT_NE(ra2, ra);
  EXPECT_EQ(head.GetOrCreate(a), ra2);
  EXPECT_EQ(head.series_count(), 3u);
}

// Select against a check of every matcher on every series, over random matchers: the postings
// shortcuts (intersections, unions of regex values, per-candidate checks) change nothing.
TEST(HeadSelectTest, AgreesWithCheckingEverySeries) {
  Head head;
  std::vector<std::pair<SeriesRef, Labels>> all;
  for (int i = 0; i < 600; ++i) {
    std::vector<std::pair<std::string, std::string>> pairs = {
        {"__name__", i % 3 == 0 ? "a" : "b"},
        {"shard", std::to_string(i % 7)},
        {"path", "/p" + std::to_string(i % 50)}};
    if (i % 4 != 0) pairs.emplace_back("zone", i % 2 == 0 ? "eu" : "us");
    const Labels labels = L(pairs);
    const SeriesRef ref = head.GetOrCreate(labels);
    if (ref == all.size() + 1) all.emplace_back(ref, labels);  // else seen already
  }
  ASSERT_GT(all.size(), 500u);
  std::sort(all.begin(), all.end(),
            [](const auto& x, const auto& y) { return x.second < y.second; });
  const std::vector<Matcher> pool = {
      M(Op::kEqual, "__name__", "a"),  M(Op::kEqual, "shard", "3"),
      M(Op::kEqual, "path", "/p7"),    M(Op::kNotEqual, "zone", "eu"),
      M(Op::kNotEqual, "zone", ""),    M(Op::kEqual, "zone", ""),
      M(Op::kRegex, "path", "/p1.*"),  M(Op::kRegex, "zone", ".*"),
      M(Op::kRegex, "shard", "[0-2]"), M(Op::kNotRegex, "path", "/p[0-4]"),
      M(Op::kNotRegex, "zone", ""),    M(Op::kEqual, "absent", ""),
      M(Op::kRegex, "zone", "us|"),    M(Op::kNotEqual, "shard", "1")};
  uint32_t seed = 12345;
  const auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 16) % 32768; };
  for (int round = 0; round < 400; ++round) {
    std::vector<Matcher> matchers;
    const size_t count = 1 + next() % 4;
    for (size_t k = 0; k < count; ++k) matchers.push_back(pool[next() % pool.size()]);
    std::vector<SeriesRef> expected;
    for (const auto& [ref, series_labels] : all) {
      const Labels& labels = series_labels;  // clang 14's lambdas cannot capture a binding
      const bool matches = std::all_of(matchers.begin(), matchers.end(), [&](const Matcher& m) {
        for (const auto& [name, value] : labels) {
          if (name == m.name) return m.Matches(value);
        }
        return m.Matches("");
      });
      if (matches) expected.push_back(ref);
    }
    ASSERT_EQ(head.Select(matchers), expected) << "round " << round;
  }
}

TEST_F(HeadTest, AppendsAcrossChunksAndReadsRanges) {
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(head_.Append(cpu_, i * 15'000, i * 0.5));
  EXPECT_FALSE(head_.Append(cpu_, 299 * 15'000, 1));  // duplicate timestamp
  EXPECT_FALSE(head_.Append(cpu_, 10, 1));            // out of order
  EXPECT_GT(head_.chunk_bytes(), 0u);                 // two chunks closed
  const auto all = head_.Samples(cpu_, 0, 1'000'000'000);
  ASSERT_EQ(all.size(), 300u);
  EXPECT_EQ(all[299], (Sample{299 * 15'000, 149.5}));
  const auto window = head_.Samples(cpu_, 1'785'000, 1'815'000);  // samples 119..121, across a cut
  EXPECT_THAT(window,
              ElementsAre(Sample{1'785'000, 59.5}, Sample{1'800'000, 60}, Sample{1'815'000, 60.5}));
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
      const SeriesRef ref =
          head_.GetOrCreate(L({{"__name__", "load"}, {"worker", std::to_string(t)}}));
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
