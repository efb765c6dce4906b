#pragma once

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "mingus/client.h"

namespace mingus::client {

struct CacheOptions {
  std::string name = "default";  // the `cache` label of its events
  size_t max_size = 1000;        // entries, over all shards
  std::chrono::milliseconds default_ttl = std::chrono::minutes(5);
  size_t shards = 16;  // independent locks; the LRU order is kept per shard
};

struct CacheStats {
  uint64_t hits = 0, misses = 0, evictions = 0;
  size_t size = 0;
};

// An in-process LRU cache of V by string key, split into shards each with its own lock, LRU
// list and share of max_size. Entries expire after their TTL (by the injected clock) and may
// carry tags to invalidate them by. Every lookup is sent as a `cache` event (result hit or
// miss), every eviction as result eviction, when a client is given. Thread-safe.
//
// Lookups touch one shard's hash map; invalidation by prefix or tag scans every entry, since
// it is rare and an index for it would cost every Set.
template <typename V>
class CacheManager {
 public:
  using Duration = std::chrono::steady_clock::duration;

  explicit CacheManager(CacheOptions options, const Clock& clock = DefaultClock(),
                        Client* client = nullptr)
      : options_(std::move(options)),
        clock_(clock),
        client_(client),
        shards_(std::clamp<size_t>(options_.shards, 1, std::max<size_t>(options_.max_size, 1))) {
    // Shard i holds max_size / shards entries, the first max_size % shards one more.
    for (size_t i = 0; i < shards_.size(); ++i) {
      shards_[i].capacity =
          options_.max_size / shards_.size() + (i < options_.max_size % shards_.size());
    }
    // Formatted once: a hit costs no formatting.
    for (const auto& [line, result] :
         {std::pair{&hit_line_, "hit"}, {&miss_line_, "miss"}, {&eviction_line_, "eviction"}}) {
      wire::JsonLine event(*line, "cache");
      event.Text("cache", options_.name).Text("result", result);
      event.Finish();
    }
  }
  CacheManager(const CacheManager&) = delete;
  CacheManager& operator=(const CacheManager&) = delete;

  std::optional<V> Get(std::string_view key) {
    Shard& shard = ShardFor(key);
    std::optional<V> value;
    {
      std::lock_guard lock(shard.mutex);
      if (Entry* entry = FindLocked(shard, key)) value = entry->value;
    }
    Report(value ? hits_ : misses_, value ? hit_line_ : miss_line_);
    return value;
  }

  void Set(std::string_view key, V value, std::optional<Duration> ttl = {},
           std::vector<std::string> tags = {}) {
    Shard& shard = ShardFor(key);
    size_t evicted;
    {
      std::lock_guard lock(shard.mutex);
      evicted = InsertLocked(shard, key, std::move(value), ttl, std::move(tags));
    }
    ReportEvictions(evicted);
  }

  bool Invalidate(std::string_view key) {
    Shard& shard = ShardFor(key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.index.find(key);
    if (it == shard.index.end()) return false;
    shard.lru.erase(it->second);
    shard.index.erase(it);
    return true;
  }
  size_t InvalidatePrefix(std::string_view prefix) {
    return EraseIf([&](const Entry& e) { return std::string_view(e.key).starts_with(prefix); });
  }
  size_t InvalidateTag(std::string_view tag) {
    return EraseIf([&](const Entry& e) {
      return std::find(e.tags.begin(), e.tags.end(), tag) != e.tags.end();
    });
  }

  // The cached value, or compute()'s result, stored. Concurrent misses on one key compute once:
  // the others wait for that result (and count as hits). An exception from compute() reaches
  // every caller waiting for it and nothing is stored.
  template <typename Compute>
  V GetOrCompute(std::string_view key, Compute&& compute, std::optional<Duration> ttl = {},
                 std::vector<std::string> tags = {}) {
    Shard& shard = ShardFor(key);
    std::optional<V> hit;
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(shard.mutex);
      if (Entry* entry = FindLocked(shard, key)) {
        hit.emplace(entry->value);
      } else {
        auto it = shard.flights.find(key);
        if (it == shard.flights.end()) {
          it = shard.flights.emplace(std::string(key), std::make_shared<Flight>()).first;
          leader = true;
        }
        flight = it->second;
      }
    }
    if (hit) {
      Report(hits_, hit_line_);
      return std::move(*hit);
    }
    if (!leader) {
      Report(hits_, hit_line_);
      std::unique_lock wait(flight->mutex);
      flight->done_cv.wait(wait, [&] { return flight->done; });
      if (flight->error) std::rethrow_exception(flight->error);
      return *flight->value;
    }
    Report(misses_, miss_line_);
    std::optional<V> value;
    std::exception_ptr error;
    try {
      value.emplace(compute());
    } catch (...) {
      error = std::current_exception();
    }
    size_t evicted = 0;
    {
      std::lock_guard lock(shard.mutex);
      if (value) evicted = InsertLocked(shard, key, *value, ttl, std::move(tags));
      shard.flights.erase(shard.flights.find(key));
    }
    {
      std::lock_guard lock(flight->mutex);
      flight->value = value;
      flight->error = error;
      flight->done = true;
    }
    flight->done_cv.notify_all();
    ReportEvictions(evicted);
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }

  CacheStats Stats() {
    CacheStats stats{.hits = hits_.load(std::memory_order_relaxed),
                     .misses = misses_.load(std::memory_order_relaxed),
                     .evictions = evictions_.load(std::memory_order_relaxed)};
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      stats.size += shard.lru.size();
    }
    return stats;
  }

 private:
  struct Entry {
    std::string key;
    V value;
    std::chrono::steady_clock::time_point expires;
    std::vector<std::string> tags;
  };
  struct Flight {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::optional<V> value;
    std::exception_ptr error;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename T>
  using Map = std::unordered_map<std::string, T, Hash, std::equal_to<>>;
  struct Shard {
    std::mutex mutex;
    std::list<Entry> lru;  // most recently used first
    Map<typename std::list<Entry>::iterator> index;
    Map<std::shared_ptr<Flight>> flights;  // keys being computed by GetOrCompute
    size_t capacity = 0;
  };

  Shard& ShardFor(std::string_view key) { return shards_[Hash{}(key) % shards_.size()]; }

  // The live entry, moved to the front; an expired one is removed.
  Entry* FindLocked(Shard& shard, std::string_view key) {
    const auto it = shard.index.find(key);
    if (it == shard.index.end()) return nullptr;
    if (clock_.Now() >= it->second->expires) {
      shard.lru.erase(it->second);
      shard.index.erase(it);
      return nullptr;
    }
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return &*it->second;
  }

  // Returns how many entries were evicted to make room.
  size_t InsertLocked(Shard& shard, std::string_view key, V value, std::optional<Duration> ttl,
                      std::vector<std::string> tags) {
    const auto expires = clock_.Now() + ttl.value_or(options_.default_ttl);
    if (const auto it = shard.index.find(key); it != shard.index.end()) {
      it->second->value = std::move(value);
      it->second->expires = expires;
      it->second->tags = std::move(tags);
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return 0;
    }
    shard.lru.push_front(Entry{std::string(key), std::move(value), expires, std::move(tags)});
    shard.index.emplace(shard.lru.front().key, shard.lru.begin());
    size_t evicted = 0;
    while (shard.lru.size() > shard.capacity) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
      ++evicted;
    }
    return evicted;
  }

  template <typename Pred>
  size_t EraseIf(Pred&& pred) {
    size_t erased = 0;
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      for (auto it = shard.lru.begin(); it != shard.lru.end();) {
        if (!pred(*it)) {
          ++it;
          continue;
        }
        shard.index.erase(it->key);
        it = shard.lru.erase(it);
        ++erased;
      }
    }
    return erased;
  }

  void Report(std::atomic<uint64_t>& counter, const std::string& line) {
    counter.fetch_add(1, std::memory_order_relaxed);
    if (client_ != nullptr) client_->SendLine(line);
  }
  void ReportEvictions(size_t evicted) {
    for (size_t i = 0; i < evicted; ++i) Report(evictions_, eviction_line_);
  }

  const CacheOptions options_;
  const Clock& clock_;
  Client* const client_;
  std::vector<Shard> shards_;
  std::string hit_line_, miss_line_, eviction_line_;
  std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0};
};

namespace detail {

// Arguments into a cache key that no two different argument lists share: strings with their
// length in front, numbers in decimal, each closed by a separator.
template <typename T>
void AppendKeyPart(std::string& key, const T& arg) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    const std::string_view text = arg;
    AppendKeyPart(key, text.size());
    key.append(text);
  } else if constexpr (std::is_arithmetic_v<T>) {
    char buffer[32];
    key.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, arg).ptr);
    key += ';';
  } else {
    static_assert(std::is_arithmetic_v<T>, "cache keys are made of strings and numbers");
  }
}

}  // namespace detail

// `fn` with its results cached in `cache` by its arguments (strings and numbers), under keys
// beginning with `prefix`, so that cache.InvalidatePrefix(prefix) forgets them all: the seed's
// cache_api_response(ttl) and cache_database_query(ttl). The cache must outlive the result.
template <typename V, typename Fn>
auto CachedFunction(CacheManager<V>& cache, std::string prefix, Fn fn,
                    std::optional<typename CacheManager<V>::Duration> ttl = {}) {
  return [&cache, prefix = std::move(prefix), fn = std::move(fn), ttl](const auto&... args) -> V {
    std::string key = prefix;
    (detail::AppendKeyPart(key, args), ...);
    return cache.GetOrCompute(
        key, [&] { return fn(args...); }, ttl);
  };
}

}  // namespace mingus::client
