#include "mingus/collector/scrape/scrape_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace mingus::collector::scrape {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Runs one scrape of `series` through the cache the way TargetScraper does: a series the
// cache does not know gets the next free ref. Returns the refs in sample order and fills
// `vanished` with the refs the commit reported.
class ScrapeCacheTest : public ::testing::Test {
 protected:
  std::vector<tsdb::SeriesRef> Scrape(const std::vector<std::string>& series,
                                      bool succeeded = true) {
    std::vector<tsdb::SeriesRef> refs;
    for (const auto& s : series) {
      if (auto* entry = cache_.Find(s)) {
        refs.push_back(entry->ref);
      } else {
        const tsdb::SeriesRef ref = RefOf(s);
        cache_.Add(s, {ref, false});
        refs.push_back(ref);
        ++added_;
      }
    }
    vanished_.clear();
    cache_.Commit(succeeded, [&](const ScrapeCache::Entry& e) { vanished_.push_back(e.ref); });
    return refs;
  }
  // The head's ref of a series: stable across scrapes, as Head::GetOrCreate is.
  tsdb::SeriesRef RefOf(const std::string& series) {
    return refs_.try_emplace(series, refs_.size() + 1).first->second;
  }

  ScrapeCache cache_;
  std::map<std::string, tsdb::SeriesRef> refs_;
  std::vector<tsdb::SeriesRef> vanished_;
  size_t added_ = 0;  // series the cache did not know
};

TEST_F(ScrapeCacheTest, ASteadyTargetIsKnownFromItsSecondScrape) {
  const std::vector<std::string> body = {"a", R"(b{k="1"})", R"(b{k="2"})"};
  EXPECT_THAT(Scrape(body), ElementsAre(1, 2, 3));
  EXPECT_EQ(added_, 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Scrape(body), ElementsAre(1, 2, 3));
    EXPECT_THAT(vanished_, IsEmpty());
  }
  EXPECT_EQ(added_, 3u);
  EXPECT_EQ(cache_.size(), 3u);
}

TEST_F(ScrapeCacheTest, ReorderedInsertedAndRemovedSeriesKeepTheirRefs) {
  Scrape({"a", "b", "c", "d"});
  // A new series in the middle, one gone, two swapped: each known series keeps its ref.
  EXPECT_THAT(Scrape({"a", "new", "c", "b"}), ElementsAre(1, 5, 3, 2));
  EXPECT_THAT(vanished_, ElementsAre(4));
  EXPECT_EQ(added_, 5u);
  // The cache now holds this scrape's series in this order.
  EXPECT_THAT(Scrape({"a", "new", "c", "b"}), ElementsAre(1, 5, 3, 2));
  EXPECT_THAT(vanished_, IsEmpty());
  EXPECT_EQ(added_, 5u);
  EXPECT_EQ(cache_.size(), 4u);
}

TEST_F(ScrapeCacheTest, AShorterScrapeReportsTheTail) {
  Scrape({"a", "b", "c"});
  EXPECT_THAT(Scrape({"a", "b"}), ElementsAre(1, 2));
  EXPECT_THAT(vanished_, ElementsAre(3));
  EXPECT_THAT(Scrape({"a", "b", "c"}), ElementsAre(1, 2, 3));
  EXPECT_EQ(added_, 4u);  // c came back as a series the cache had forgotten
}

TEST_F(ScrapeCacheTest, AFailedScrapeReportsEverySeriesAndEmptiesTheCache) {
  Scrape({"a", "b"});
  Scrape({"a", "c"}, /*succeeded=*/false);
  EXPECT_THAT(vanished_, UnorderedElementsAre(1, 2));
  EXPECT_EQ(cache_.size(), 0u);
  // The next scrape knows nothing: nothing of the failed one was kept.
  Scrape({"a", "c"});
  EXPECT_THAT(vanished_, IsEmpty());
  EXPECT_EQ(added_, 5u);  // a and b; c in the failed scrape; a and c again
}

TEST_F(ScrapeCacheTest, PrefixesOfAKeyAreOtherSeries) {
  Scrape({"ab", "a"});
  EXPECT_THAT(Scrape({"a", "ab", "abc"}), ElementsAre(2, 1, 3));
  EXPECT_THAT(vanished_, IsEmpty());
}

TEST_F(ScrapeCacheTest, ADuplicateSeriesGetsTheSameRef) {
  Scrape({"a", "b"});
  EXPECT_THAT(Scrape({"a", "a", "b"}), ElementsAre(1, 1, 2));
  EXPECT_THAT(vanished_, IsEmpty());
}

TEST_F(ScrapeCacheTest, AnEntryChangedDuringAScrapeIsKept) {
  Scrape({"a", "b"});
  cache_.Find("a")->explicit_timestamp = true;  // in place: the same order so far
  cache_.Find("x");                             // departs from the last scrape
  cache_.Add("x", {9, false});
  cache_.Find("b")->explicit_timestamp = true;  // a copy into the new order
  cache_.Commit(true, [](const ScrapeCache::Entry&) {});
  std::vector<std::pair<tsdb::SeriesRef, bool>> kept;
  cache_.ForgetAll(
      [&](const ScrapeCache::Entry& e) { kept.emplace_back(e.ref, e.explicit_timestamp); });
  EXPECT_THAT(kept,
              ElementsAre(std::pair{tsdb::SeriesRef{1}, true}, std::pair{tsdb::SeriesRef{9}, false},
                          std::pair{tsdb::SeriesRef{2}, true}));
  EXPECT_EQ(cache_.size(), 0u);
}

}  // namespace
}  // namespace mingus::collector::scrape
