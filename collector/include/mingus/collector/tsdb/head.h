#pragma once

#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mingus/collector/tsdb/packed_labels.h"
#include "mingus/collector/tsdb/ref_table.h"
#include "mingus/collector/tsdb/xor_chunk.h"
#include "mingus/common/status.h"

namespace re2 {
class RE2;
}

// The in-memory part of the time-series store: series identified by their sorted label sets,
// an inverted index for label matchers, and per-series compressed chunks.
namespace mingus::collector::tsdb {

// Builds a Labels value, sorting it; refuses duplicate or empty names.
StatusOr<Labels> MakeLabels(std::vector<std::pair<std::string, std::string>> pairs);
std::string LabelsString(const Labels& labels);  // {__name__="up", job="x"}
// Reads LabelsString's output back.
StatusOr<Labels> ParseLabelsString(std::string_view text);

struct Matcher {
  enum class Op { kEqual, kNotEqual, kRegex, kNotRegex };
  Op op = Op::kEqual;
  std::string name;
  std::string value;
  // kRegex and kNotRegex: RE2 (the syntax and guarantees of Go's regexp, which Prometheus
  // uses: linear time on any input), matched against the whole value.
  std::shared_ptr<const re2::RE2> regex;

  static StatusOr<Matcher> Make(Op op, std::string name, std::string value);
  bool Matches(std::string_view label_value) const;  // an absent label has the value ""
};

using SeriesRef = uint64_t;

// A 64-bit hash of a label set (XXH3 over names and values).
uint64_t LabelsHash(const Labels& labels);

// Thread-safe: appends take the lock exclusively, queries share it.
class Head {
 public:
  static constexpr size_t kSamplesPerChunk = 120;

  // The hash that indexes series by their labels; tests inject a colliding one.
  using LabelsHasher = uint64_t (*)(const Labels&);
  explicit Head(LabelsHasher hasher = LabelsHash) : hasher_(hasher) {}

  // The series for these labels, created on first sight.
  SeriesRef GetOrCreate(const Labels& labels);
  // False when t is not after the series' last sample (out of order or a duplicate).
  bool Append(SeriesRef series, int64_t timestamp_ms, double value);
  struct PendingSample {
    SeriesRef series;
    int64_t timestamp_ms;
    double value;
  };
  // Appends a whole scrape under one lock; returns how many samples were refused.
  size_t AppendMany(std::span<const PendingSample> samples);

  // Series matching every matcher, in label order.
  std::vector<SeriesRef> Select(const std::vector<Matcher>& matchers) const;
  Labels LabelsOf(SeriesRef series) const;
  // Samples of [min_t, max_t], oldest first.
  std::vector<Sample> Samples(SeriesRef series, int64_t min_t, int64_t max_t) const;

  // Label names over all series, and the values of one name, sorted.
  std::vector<std::string> LabelNames() const;
  std::vector<std::string> LabelValues(const std::string& name) const;

  // Drops closed chunks wholly before `min_t` and series left empty.
  void Truncate(int64_t min_t);
  size_t series_count() const;
  size_t chunk_count() const;  // closed and open
  size_t chunk_bytes() const;  // closed chunks' encoded bytes
  size_t sample_count() const;
  uint64_t samples_appended() const { return samples_appended_.load(std::memory_order_relaxed); }

  // Persistence. A flush writes what ChunksToFlush() returns and then MarkFlushed() each
  // series; at start the stored chunks come back through RestoreChunk().
  struct StoredChunk {
    int64_t min_t = 0, max_t = 0;
    std::string bytes;
  };
  struct UnflushedSeries {
    SeriesRef ref = 0;
    Labels labels;                       // only when asked for
    std::vector<StoredChunk> closed;     // closed chunks not yet flushed
    std::optional<StoredChunk> open;     // the open chunk, whenever it has samples
    int64_t closed_through = INT64_MIN;  // max_t of the last of `closed`
  };
  // Up to `limit` series with closed chunks to flush or an open chunk, from ref `from` on, in
  // ref order, with the labels of those for which `wants_labels(ref)`. A flush copies them a
  // batch at a time, so that its copies stay small beside the head; `next` gets the ref to go
  // on from, 0 after the last series.
  std::vector<UnflushedSeries> ChunksToFlush(SeriesRef from, size_t limit,
                                             const std::function<bool(SeriesRef)>& wants_labels,
                                             SeriesRef& next) const;
  void MarkFlushed(SeriesRef ref, int64_t closed_through);
  // Adds a stored chunk to the series of `labels` (created if needed) as a closed, flushed
  // chunk. Refuses a chunk that does not decode or overlaps one the series has.
  Status RestoreChunk(const Labels& labels, StoredChunk chunk);

 private:
  struct Chunk {
    int64_t min_t, max_t;
    std::string bytes;
  };
  struct Series {
    PackedLabels labels;
    std::vector<Chunk> closed;
    XorChunkWriter head;
    int64_t head_min_t = 0, head_max_t = 0;
    int64_t closed_flushed_through = INT64_MIN;
  };
  SeriesRef GetOrCreateLocked(const Labels& labels, uint64_t hash);
  SeriesRef FindLocked(const Labels& labels, uint64_t hash) const;  // 0: none
  void ForgetLocked(SeriesRef ref, const Labels& labels);
  bool AppendLocked(SeriesRef series, int64_t timestamp_ms, double value);

  mutable std::shared_mutex mutex_;
  const LabelsHasher hasher_;
  // Series by the hash of their labels: 16 bytes a series where a map keyed by the labels'
  // text cost some 200. A label set whose hash is taken by another (possible, never seen)
  // is kept in `colliding_` by its text.
  boost::unordered_flat_map<uint64_t, SeriesRef> by_hash_;
  std::map<std::string, SeriesRef> colliding_;
  RefTable<Series, SeriesRef> series_;
  // label name -> value -> series, for the matchers
  std::map<std::string, std::map<std::string, std::vector<SeriesRef>>, std::less<>> postings_;
  SeriesRef next_ref_ = 1;
  std::atomic<uint64_t> samples_appended_{0};
};

}  // namespace mingus::collector::tsdb
