#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Gorilla compression for one series' samples (Pelkonen et al., VLDB 2015), bit for bit the
// layout of Prometheus' XOR chunk: timestamps as delta-of-delta in 14, 17, 20 or 64 bits,
// values as the XOR with the previous value, reusing its leading/trailing-zero window. Regular
// scrapes take about 2 bytes a sample instead of 16 (tests/bench/xor_chunk_bench.cpp).
namespace mingus::collector::tsdb {

// Prometheus' staleness marker: a NaN with this exact bit pattern ends a series.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
inline bool IsStaleNaN(double value) { return std::bit_cast<uint64_t>(value) == kStaleNaNBits; }

struct Sample {
  int64_t timestamp_ms = 0;
  double value = 0;
  friend bool operator==(const Sample&, const Sample&) = default;
};

class XorChunkReader;

// Appends samples in time order. Not thread-safe.
class XorChunkWriter {
 public:
  // False (and nothing written) when t is not after the last timestamp.
  bool Append(int64_t timestamp_ms, double value);
  size_t samples() const { return count_; }
  // The encoded chunk: a 2-byte sample count, then the bit stream.
  std::string Bytes() const;
  // Reads the samples appended so far without copying them; valid until the next Append.
  XorChunkReader Reader() const;
  // Empties the chunk for the next one, keeping its buffer: a series' chunks are about the
  // same size, so the next one fills the same buffer without growing it again.
  void Clear();
  // Asks the CPU to fetch the byte the next Append writes: appending to many series one
  // sample each waits on memory, and fetches asked for ahead overlap.
  void Prefetch() const {
    if (!stream_.empty()) __builtin_prefetch(&stream_.back(), 1);
  }

 private:
  void WriteBits(uint64_t bits, int count);
  void WriteVarint(int64_t v);
  void WriteUvarint(uint64_t v);

  std::vector<uint8_t> stream_;
  int free_bits_ = 0;  // unused bits in the last byte
  uint16_t count_ = 0;
  int64_t last_t_ = 0;
  int64_t last_delta_ = 0;
  uint64_t last_value_bits_ = 0;
  int leading_ = 0xff, trailing_ = 0;
};

// Decodes a chunk written by XorChunkWriter. A truncated or corrupt chunk yields the samples
// before the damage and sets error(). Not thread-safe.
class XorChunkReader {
 public:
  explicit XorChunkReader(std::string_view bytes);
  bool Next(Sample& out);
  bool error() const { return error_; }

 private:
  friend class XorChunkWriter;
  XorChunkReader(uint16_t samples, std::string_view stream) : stream_(stream), total_(samples) {}
  bool ReadBits(int count, uint64_t& out);
  bool ReadBit(bool& out);
  bool ReadVarint(int64_t& out);
  bool ReadUvarint(uint64_t& out);

  std::string_view stream_;
  size_t bit_ = 0;
  uint16_t total_ = 0, read_ = 0;
  int64_t t_ = 0, delta_ = 0;
  uint64_t value_bits_ = 0;
  int leading_ = 0, trailing_ = 0;
  bool has_window_ = false;
  bool error_ = false;
};

std::vector<Sample> DecodeAll(std::string_view bytes);
// The sample count in a chunk's header, without decoding it.
size_t XorChunkSampleCount(std::string_view bytes);

}  // namespace mingus::collector::tsdb
