#include "mingus/score_optimizer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sdk_fakes.h"

namespace mingus::client {
namespace {

using std::chrono::seconds;

class ScoreOptimizerTest : public ::testing::Test {
 protected:
  ScoreOptimizerOptions Options(bool cache = true, size_t workers = 4) {
    return {.cache_enabled = cache,
            .cache_ttl = seconds(30),
            .cache_max_size = 100,
            .parallel_enabled = true,
            .max_workers = workers};
  }
  testing::FakeClock clock_;
  testing::RecordingSender* sender_ = new testing::RecordingSender;
  Client client_{
      {.address = "unused", .background_flush = false}, std::unique_ptr<Sender>(sender_), clock_};
};

double Sum(const std::vector<double>& values) {
  double sum = 0;
  for (const double v : values) sum += v;
  return sum;
}

TEST_F(ScoreOptimizerTest, ScoresAreMemoisedByInputUntilTheirTtl) {
  ScoreOptimizer<double> optimizer(client_, Options(), clock_);
  int calls = 0;
  const auto score = [&](const std::vector<double>& v) {
    ++calls;
    return Sum(v);
  };
  EXPECT_EQ(optimizer.Calculate("credit", std::vector<double>{1, 2}, score), 3);
  EXPECT_EQ(optimizer.Calculate("credit", std::vector<double>{1, 2}, score), 3);
  EXPECT_EQ(optimizer.Calculate("credit", std::vector<double>{2, 1}, score), 3);
  EXPECT_EQ(optimizer.Calculate("risk", std::vector<double>{1, 2}, score), 3);
  EXPECT_EQ(calls, 3) << "same name and input once; another input or name computes";
  clock_.Advance(seconds(30));
  optimizer.Calculate("credit", std::vector<double>{1, 2}, score);
  EXPECT_EQ(calls, 4) << "expired";
}

TEST_F(ScoreOptimizerTest, EachCalculationIsAScoreEvent) {
  ScoreOptimizer<double> optimizer(client_, Options(), clock_);
  const auto slow = [&](const std::string& input) {
    clock_.Advance(std::chrono::milliseconds(25));
    return static_cast<double>(input.size());
  };
  optimizer.Calculate("credit", std::string("abcd"), slow);
  optimizer.Calculate("credit", std::string("abcd"), slow);
  client_.Flush();
  std::vector<std::string> scores;
  for (const auto& line : sender_->Lines()) {
    if (line.find(R"("type":"score")") != std::string::npos) scores.push_back(line);
  }
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0],
            R"({"type":"score","name":"credit","duration_ms":25,"cached":false,"input_size":4})");
  EXPECT_EQ(scores[1],
            R"({"type":"score","name":"credit","duration_ms":0,"cached":true,"input_size":4})");
}

TEST_F(ScoreOptimizerTest, CacheDisabledComputesEveryTime) {
  ScoreOptimizer<double> optimizer(client_, Options(/*cache=*/false), clock_);
  int calls = 0;
  for (int i = 0; i < 3; ++i) optimizer.Calculate("s", 7, [&](int x) { return ++calls + x; });
  EXPECT_EQ(calls, 3);
}

TEST_F(ScoreOptimizerTest, ParallelBatchKeepsOrderAndReportsEachError) {
  ScoreOptimizer<double> optimizer(client_, Options(/*cache=*/false, /*workers=*/4), clock_);
  std::vector<int> inputs(200);
  for (int i = 0; i < 200; ++i) inputs[i] = i;
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::atomic<int> running{0};
  std::atomic<int> overlapped{0};
  const auto results = optimizer.ParallelBatch("square", inputs, [&](int x) {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    if (running.fetch_add(1) > 0) overlapped.fetch_add(1);
    // Let the other workers catch up so that items really run side by side.
    for (int spin = 0; spin < 1000 && overlapped.load() == 0; ++spin) std::this_thread::yield();
    running.fetch_sub(1);
    if (x % 50 == 7) throw std::invalid_argument("bad input " + std::to_string(x));
    if (x == 99) throw 42;
    return static_cast<double>(x) * x;
  });
  ASSERT_EQ(results.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    if (i % 50 == 7) {
      EXPECT_FALSE(results[i].value);
      EXPECT_EQ(results[i].error, "bad input " + std::to_string(i));
    } else if (i == 99) {
      EXPECT_EQ(results[i].error, "unknown exception");
    } else {
      EXPECT_EQ(results[i].value, static_cast<double>(i) * i) << i;
      EXPECT_EQ(results[i].error, "");
    }
  }
  EXPECT_GT(threads.size(), 1u);
  EXPECT_LE(threads.size(), 4u);
  EXPECT_GT(overlapped.load(), 0);
}

TEST_F(ScoreOptimizerTest, ParallelismOffOrOneWorkerRunsInTheCaller) {
  auto options = Options(false, 4);
  options.parallel_enabled = false;
  ScoreOptimizer<double> serial(client_, options, clock_);
  ScoreOptimizer<double> parallel(client_, Options(false, 4), clock_);
  const std::vector<int> inputs = {1, 2, 3, 4, 5, 6};
  for (auto* optimizer : {&serial, &parallel}) {
    const size_t workers = optimizer == &serial ? 0 : 1;
    std::set<std::thread::id> threads;
    const auto results = optimizer->ParallelBatch(
        "id", inputs,
        [&](int x) {
          threads.insert(std::this_thread::get_id());
          return static_cast<double>(x);
        },
        workers);
    EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
    EXPECT_EQ(results[5].value, 6);
  }
}

TEST(ScoreOptimizerOptionsTest, TheSeedsEnvironmentVariables) {
  std::map<std::string, std::string> env = {{"CACHE_ENABLED", " False "},
                                            {"CACHE_TTL", "1.5"},
                                            {"CACHE_MAX_SIZE", "250"},
                                            {"PARALLEL_PROCESSING_ENABLED", "0"},
                                            {"MAX_WORKERS", "3"}};
  const auto lookup = [&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto options = ScoreOptimizerOptions::FromEnvironment(lookup);
  EXPECT_FALSE(options.cache_enabled);
  EXPECT_EQ(options.cache_ttl, std::chrono::milliseconds(1500));
  EXPECT_EQ(options.cache_max_size, 250u);
  EXPECT_FALSE(options.parallel_enabled);
  EXPECT_EQ(options.max_workers, 3u);

  // Values that do not parse leave the defaults.
  env = {{"CACHE_ENABLED", "maybe"},
         {"CACHE_TTL", "-1"},
         {"CACHE_MAX_SIZE", "lots"},
         {"MAX_WORKERS", "0"}};
  options = ScoreOptimizerOptions::FromEnvironment(lookup);
  const ScoreOptimizerOptions defaults;
  EXPECT_TRUE(options.cache_enabled);
  EXPECT_EQ(options.cache_ttl, defaults.cache_ttl);
  EXPECT_EQ(options.cache_max_size, defaults.cache_max_size);
  EXPECT_EQ(options.max_workers, defaults.max_workers);
}

}  // namespace
}  // namespace mingus::client
