#include "mingus/cache_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sdk_fakes.h"

namespace mingus::client {
namespace {

using std::chrono::seconds;
using testing::FakeClock;

class CacheManagerTest : public ::testing::Test {
 protected:
  CacheManager<std::string> Make(size_t max_size, size_t shards = 1) {
    return CacheManager<std::string>(
        {.name = "profiles", .max_size = max_size, .default_ttl = seconds(60), .shards = shards},
        clock_, &client_);
  }
  FakeClock clock_;
  testing::RecordingSender* sender_ = new testing::RecordingSender;
  Client client_{{.address = "unused", .background_flush = false},
                 std::unique_ptr<Sender>(sender_)};
};

TEST_F(CacheManagerTest, EntriesExpireAfterTheirTtl) {
  auto cache = Make(10);
  cache.Set("default", "a");
  cache.Set("short", "b", seconds(5));
  clock_.Advance(seconds(4));
  EXPECT_EQ(cache.Get("short"), "b");
  clock_.Advance(seconds(1));
  EXPECT_EQ(cache.Get("short"), std::nullopt) << "expired at exactly its TTL";
  EXPECT_EQ(cache.Get("default"), "a");
  clock_.Advance(seconds(55));
  EXPECT_EQ(cache.Get("default"), std::nullopt);
  EXPECT_EQ(cache.Stats().size, 0u) << "expired entries are removed when met";
}

TEST_F(CacheManagerTest, TheLeastRecentlyUsedEntryIsEvicted) {
  auto cache = Make(3);
  cache.Set("a", "1");
  cache.Set("b", "2");
  cache.Set("c", "3");
  EXPECT_TRUE(cache.Get("a"));  // a is now the most recent; b the least
  cache.Set("d", "4");
  EXPECT_FALSE(cache.Get("b"));
  EXPECT_TRUE(cache.Get("a"));
  EXPECT_TRUE(cache.Get("c"));
  EXPECT_TRUE(cache.Get("d"));
  cache.Set("a", "updated");  // an update is no insertion: nothing evicted
  EXPECT_EQ(cache.Get("a"), "updated");
  const CacheStats stats = cache.Stats();
  EXPECT_EQ(stats.size, 3u);
  EXPECT_EQ(stats.evictions, 1u);
}

TEST_F(CacheManagerTest, MaxSizeHoldsAcrossShards) {
  auto cache = Make(100, 8);
  for (int i = 0; i < 1000; ++i) cache.Set("key" + std::to_string(i), "v");
  const CacheStats stats = cache.Stats();
  EXPECT_LE(stats.size, 100u);
  EXPECT_GE(stats.size, 90u);
  EXPECT_EQ(stats.evictions, 1000u - stats.size);
}

TEST_F(CacheManagerTest, InvalidateByKeyPrefixAndTag) {
  auto cache = Make(100, 4);
  cache.Set("user:1:profile", "p1", {}, {"user:1"});
  cache.Set("user:1:scores", "s1", {}, {"user:1", "scores"});
  cache.Set("user:2:profile", "p2", {}, {"user:2"});
  cache.Set("user:2:scores", "s2", {}, {"user:2", "scores"});
  cache.Set("config", "c");
  EXPECT_TRUE(cache.Invalidate("config"));
  EXPECT_FALSE(cache.Invalidate("config"));
  EXPECT_EQ(cache.InvalidateTag("scores"), 2u);
  EXPECT_TRUE(cache.Get("user:1:profile"));
  EXPECT_FALSE(cache.Get("user:1:scores"));
  EXPECT_EQ(cache.InvalidatePrefix("user:1:"), 1u);
  EXPECT_FALSE(cache.Get("user:1:profile"));
  EXPECT_EQ(cache.Get("user:2:profile"), "p2");
  EXPECT_EQ(cache.Stats().size, 1u);
}

TEST_F(CacheManagerTest, LookupsAndEvictionsAreSentAsCacheEvents) {
  auto cache = Make(1);
  EXPECT_FALSE(cache.Get("a"));
  cache.Set("a", "1");
  EXPECT_TRUE(cache.Get("a"));
  cache.Set("b", "2");
  client_.Flush();
  EXPECT_THAT(sender_->Lines(),
              ::testing::ElementsAre(R"({"type":"cache","cache":"profiles","result":"miss"})",
                                     R"({"type":"cache","cache":"profiles","result":"hit"})",
                                     R"({"type":"cache","cache":"profiles","result":"eviction"})"));
  const CacheStats stats = cache.Stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.evictions, 1u);
}

// Spins until the cache counted `hits`; gives up after a while so that a broken cache fails the
// test instead of hanging it.
void WaitForHits(CacheManager<std::string>& cache, uint64_t hits) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (cache.Stats().hits < hits && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
}

// Sixteen threads miss one key together; the value is computed once and all get it.
TEST_F(CacheManagerTest, ConcurrentMissesComputeOnce) {
  auto cache = Make(10, 4);
  constexpr int kThreads = 16;
  std::atomic<int> computed{0};
  std::latch start(kThreads);
  std::vector<std::string> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      results[t] = cache.GetOrCompute("hot", [&] {
        ++computed;
        // Nothing is stored yet, so each hit counted is a thread waiting for this computation:
        // hold it until all the others wait (or, if they never do, fail).
        WaitForHits(cache, kThreads - 1);
        return std::string("value");
      });
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(computed.load(), 1);
  for (const auto& result : results) EXPECT_EQ(result, "value");
  const CacheStats stats = cache.Stats();
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, kThreads - 1u);
}

TEST_F(CacheManagerTest, AFailedComputationReachesEveryWaiterAndStoresNothing) {
  auto cache = Make(10);
  std::latch computing(1);
  std::thread leader([&] {
    EXPECT_THROW(cache.GetOrCompute("k",
                                    [&]() -> std::string {
                                      computing.count_down();
                                      // The waiter's lookup counts as a hit once it waits.
                                      WaitForHits(cache, 1);
                                      throw std::runtime_error("backend down");
                                    }),
                 std::runtime_error);
  });
  computing.wait();
  std::thread waiter([&] {
    EXPECT_THROW(cache.GetOrCompute("k", [] { return std::string("unused"); }), std::runtime_error);
  });
  leader.join();
  waiter.join();
  EXPECT_EQ(cache.GetOrCompute("k", [] { return std::string("fresh"); }), "fresh");
}

TEST_F(CacheManagerTest, CachedFunctionKeysByArguments) {
  auto cache = Make(100, 4);
  int calls = 0;
  auto concat =
      CachedFunction(cache, "concat:", [&](const std::string& a, const std::string& b, int n) {
        ++calls;
        return a + "|" + b + "|" + std::to_string(n);
      });
  EXPECT_EQ(concat("ab", "c", 1), "ab|c|1");
  EXPECT_EQ(concat("a", "bc", 1), "a|bc|1");  // a different key, though the bytes join alike
  EXPECT_EQ(concat("ab", "c", 1), "ab|c|1");
  EXPECT_EQ(concat("ab", "c", 2), "ab|c|2");
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(cache.InvalidatePrefix("concat:"), 3u);
  EXPECT_EQ(concat("ab", "c", 1), "ab|c|1");
  EXPECT_EQ(calls, 4);
}

}  // namespace
}  // namespace mingus::client
