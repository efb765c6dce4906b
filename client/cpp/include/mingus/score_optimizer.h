#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "mingus/cache_manager.h"
#include "mingus/client.h"

namespace mingus::client {

// The seed's settings (DESIGN.md, "Configuration"), read as the Python SDK reads them.
struct ScoreOptimizerOptions {
  bool cache_enabled = true;
  std::chrono::milliseconds cache_ttl = std::chrono::minutes(5);
  size_t cache_max_size = 1000;
  bool parallel_enabled = true;
  size_t max_workers = std::min<size_t>(8, std::thread::hardware_concurrency() + 2);

  // CACHE_ENABLED, CACHE_TTL (seconds), CACHE_MAX_SIZE, PARALLEL_PROCESSING_ENABLED and
  // MAX_WORKERS override the defaults; a value that does not parse leaves the default.
  // `getenv` is injected for tests.
  static ScoreOptimizerOptions FromEnvironment(
      const std::function<const char*(const char*)>& getenv = [](const char* name) {
        return std::getenv(name);
      }) {
    ScoreOptimizerOptions options;
    const auto text = [&](const char* name) -> std::optional<std::string> {
      const char* value = getenv(name);
      if (value == nullptr) return std::nullopt;
      std::string s(value);
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
      std::ranges::transform(s, s.begin(), [](unsigned char c) { return std::tolower(c); });
      return s;
    };
    const auto flag = [&](const char* name, bool& out) {
      const auto value = text(name);
      if (!value) return;
      if (*value == "1" || *value == "true" || *value == "yes" || *value == "on") out = true;
      if (*value == "0" || *value == "false" || *value == "no" || *value == "off") out = false;
    };
    const auto number = [&](const char* name, auto& out, double minimum) {
      const auto value = text(name);
      double parsed;
      if (!value || value->empty()) return false;
      const auto [end, error] =
          std::from_chars(value->data(), value->data() + value->size(), parsed);
      if (error != std::errc() || end != value->data() + value->size() || !(parsed >= minimum)) {
        return false;
      }
      out = static_cast<std::remove_reference_t<decltype(out)>>(parsed);
      return true;
    };
    flag("CACHE_ENABLED", options.cache_enabled);
    if (double seconds; number("CACHE_TTL", seconds, 0)) {
      options.cache_ttl = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    }
    number("CACHE_MAX_SIZE", options.cache_max_size, 0);
    flag("PARALLEL_PROCESSING_ENABLED", options.parallel_enabled);
    number("MAX_WORKERS", options.max_workers, 1);
    return options;
  }
};

// One result of ParallelBatch: the score, or what the calculation threw.
template <typename Score>
struct BatchItem {
  std::optional<Score> value;
  std::string error;
};

namespace detail {

// A 64-bit FNV-1a of an input's contents: strings by their bytes, numbers by their value,
// ranges element by element (each closed by its length so that {"ab"} and {"a","b"} differ),
// anything else by std::hash.
class InputHasher {
 public:
  template <typename T>
  void Add(const T& value) {
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      const std::string_view text = value;
      Bytes(text.data(), text.size());
      Add(text.size());
    } else if constexpr (std::is_arithmetic_v<T>) {
      Bytes(&value, sizeof value);
    } else if constexpr (std::ranges::input_range<T>) {
      size_t count = 0;
      for (const auto& element : value) {
        Add(element);
        ++count;
      }
      Add(count);
    } else {
      Add(std::hash<T>{}(value));
    }
  }
  uint64_t hash() const { return hash_; }

 private:
  void Bytes(const void* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      hash_ ^= static_cast<const unsigned char*>(data)[i];
      hash_ *= 0x100000001b3ull;
    }
  }
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

// A fixed set of threads running submitted tasks in order.
class ThreadPool {
 public:
  explicit ThreadPool(size_t threads) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers_) worker.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size(); }
  void Submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  void Work() {
    std::unique_lock lock(mutex_);
    while (true) {
      ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace detail

// Score calculations memoised by a hash of their input for the cache TTL (the seed's
// optimize_score_calculation) and run in parallel in batches (parallel_score_calculation),
// each timed as a `score` event. Thread-safe.
template <typename Score = double>
class ScoreOptimizer {
 public:
  explicit ScoreOptimizer(Client& client,
                          ScoreOptimizerOptions options = ScoreOptimizerOptions::FromEnvironment(),
                          const Clock& clock = DefaultClock())
      : client_(client),
        options_(options),
        cache_({.name = "scores",
                .max_size = options.cache_max_size,
                .default_ttl = options.cache_ttl},
               clock, &client),
        // The caller of ParallelBatch is one of the workers.
        pool_(options.parallel_enabled ? std::max<size_t>(options.max_workers, 1) - 1 : 0) {}

  const ScoreOptimizerOptions& options() const { return options_; }

  // fn(input), or its result from the last max-age calculation of the same name and input.
  // Exceptions from fn reach the caller (nothing is cached then).
  template <typename Input, typename Fn>
  Score Calculate(std::string_view name, const Input& input, Fn&& fn) {
    std::optional<double> input_size;
    if constexpr (std::ranges::sized_range<Input>) {
      input_size = static_cast<double>(std::ranges::size(input));
    }
    ScoreTimer timer(client_, name, input_size);
    if (!options_.cache_enabled) return fn(input);
    detail::InputHasher hasher;
    hasher.Add(input);
    std::string key(name);
    key += '\0';
    char hex[16];
    const auto end = std::to_chars(hex, hex + sizeof hex, hasher.hash(), 16).ptr;
    key.append(hex, end);
    bool computed = false;
    Score score = cache_.GetOrCompute(key, [&] {
      computed = true;
      return fn(input);
    });
    timer.SetCached(!computed);
    return score;
  }

  // Calculate for every input on up to max_workers threads (0: the configured number; 1 or
  // parallel processing off: in the calling thread). Results are in the inputs' order; an
  // exception fails only its own item. fn runs on several threads at once and must not call
  // ParallelBatch of this optimizer.
  template <std::ranges::random_access_range Inputs, typename Fn>
  std::vector<BatchItem<Score>> ParallelBatch(std::string_view name, const Inputs& inputs, Fn&& fn,
                                              size_t max_workers = 0) {
    const size_t count = std::ranges::size(inputs);
    std::vector<BatchItem<Score>> results(count);
    std::atomic<size_t> next{0};
    const auto run = [&] {
      for (size_t i; (i = next.fetch_add(1)) < count;) {
        try {
          const auto offset = static_cast<std::ranges::range_difference_t<const Inputs>>(i);
          results[i].value.emplace(Calculate(name, std::ranges::begin(inputs)[offset], fn));
        } catch (const std::exception& e) {
          results[i].error = e.what();
        } catch (...) {
          results[i].error = "unknown exception";
        }
      }
    };
    const size_t workers = std::min({max_workers == 0 ? options_.max_workers : max_workers,
                                     pool_.size() + 1, std::max<size_t>(count, 1)});
    std::latch helpers_done(static_cast<std::ptrdiff_t>(workers - 1));
    for (size_t i = 1; i < workers; ++i) {
      pool_.Submit([&] {
        run();
        helpers_done.count_down();
      });
    }
    run();
    helpers_done.wait();
    return results;
  }

  CacheStats CacheStatistics() { return cache_.Stats(); }

 private:
  Client& client_;
  const ScoreOptimizerOptions options_;
  CacheManager<Score> cache_;
  detail::ThreadPool pool_;
};

}  // namespace mingus::client
